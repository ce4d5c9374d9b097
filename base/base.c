/*
 * base.c - status texts, error records, counted allocation with fault
 * injection, byte buffers, files, logging and small helpers shared by every
 * Corral module. See corral_base.h for the contract of each function.
 */

#include "corral_base.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- status ---------------------------------------------------------------- */

#define CORRAL_STATUS_MSG_(name, msg) msg,
static const char *const status_msgs[] = {CORRAL_STATUS_LIST(CORRAL_STATUS_MSG_)};
#undef CORRAL_STATUS_MSG_
#define CORRAL_STATUS_NAME_(name, msg) #name,
static const char *const status_names[] = {CORRAL_STATUS_LIST(CORRAL_STATUS_NAME_)};
#undef CORRAL_STATUS_NAME_

const char *corral_status_str(corral_status_t st) {
    if ((unsigned)st >= CORRAL_STATUS_COUNT_) return "unknown status";
    return status_msgs[st];
}

const char *corral_status_name(corral_status_t st) {
    if ((unsigned)st >= CORRAL_STATUS_COUNT_) return "UNKNOWN";
    return status_names[st];
}

/* ---- error record ---------------------------------------------------------- */

void corral_err_clear(corral_err_t *err) {
    if (!err) return;
    err->status = CORRAL_OK;
    err->msg[0] = '\0';
}

corral_status_t corral_err_vset(corral_err_t *err, corral_status_t st, const char *fmt,
                                va_list ap) {
    if (!err) return st;
    err->status = st;
    if (!fmt) {
        snprintf(err->msg, sizeof err->msg, "%s", corral_status_str(st));
    } else {
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return st;
}

corral_status_t corral_err_set(corral_err_t *err, corral_status_t st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    corral_err_vset(err, st, fmt, ap);
    va_end(ap);
    return st;
}

corral_status_t corral_err_wrap(corral_err_t *err, const char *fmt, ...) {
    if (!err) return CORRAL_OK;
    char prefix[CORRAL_ERR_MSG_MAX];
    char old[CORRAL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(old, sizeof old, "%s", corral_err_msg(err));
    /* Built by hand: the result is cut to fit, which is what we want. */
    size_t n = 0, cap = sizeof err->msg - 1;
    for (const char *parts[3] = {prefix, ": ", old}, **q = parts; q < parts + 3; q++) {
        size_t k = strlen(*q);
        if (k > cap - n) k = cap - n;
        memcpy(err->msg + n, *q, k);
        n += k;
    }
    err->msg[n] = '\0';
    return err->status;
}

const char *corral_err_msg(const corral_err_t *err) {
    if (!err) return "";
    if (err->msg[0]) return err->msg;
    return corral_status_str(err->status);
}

/* ---- allocation -------------------------------------------------------------- */

static atomic_long alloc_live;
static atomic_long alloc_count;
static atomic_long alloc_fail_at; /* absolute count at which to fail; 0 = off */
static atomic_int alloc_fail_sticky;

static int alloc_should_fail(void) {
    long n = atomic_fetch_add(&alloc_count, 1) + 1;
    long at = atomic_load(&alloc_fail_at);
    if (at == 0) return 0;
    if (n == at) return 1;
    return n > at && atomic_load(&alloc_fail_sticky);
}

void *corral_malloc(size_t n) {
    if (alloc_should_fail()) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) atomic_fetch_add(&alloc_live, 1);
    return p;
}

void *corral_calloc(size_t count, size_t size) {
    if (alloc_should_fail()) return NULL;
    if (count == 0 || size == 0) count = size = 1;
    void *p = calloc(count, size);
    if (p) atomic_fetch_add(&alloc_live, 1);
    return p;
}

void *corral_realloc(void *p, size_t n) {
    if (!p) return corral_malloc(n);
    if (alloc_should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

void corral_free(void *p) {
    if (!p) return;
    atomic_fetch_sub(&alloc_live, 1);
    free(p);
}

char *corral_strndup(const char *s, size_t n) {
    char *d = corral_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *corral_strdup(const char *s) {
    return corral_strndup(s, strlen(s));
}

long corral_alloc_live(void) {
    return atomic_load(&alloc_live);
}

long corral_alloc_count(void) {
    return atomic_load(&alloc_count);
}

void corral_alloc_fail_after(long n, int sticky) {
    atomic_store(&alloc_fail_sticky, sticky);
    atomic_store(&alloc_fail_at, n > 0 ? atomic_load(&alloc_count) + n : 0);
}

/* ---- byte buffers ------------------------------------------------------------ */

corral_status_t corral_buf_reserve(corral_buf_t *b, size_t extra) {
    if (extra > SIZE_MAX - b->len - 1) return CORRAL_ERR_NOMEM;
    size_t need = b->len + extra + 1; /* +1 keeps room for corral_buf_terminate */
    if (need <= b->cap) return CORRAL_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = corral_realloc(b->data, cap);
    if (!p) return CORRAL_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return CORRAL_OK;
}

corral_status_t corral_buf_append(corral_buf_t *b, const void *p, size_t n) {
    if (corral_buf_reserve(b, n) != CORRAL_OK) return CORRAL_ERR_NOMEM;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return CORRAL_OK;
}

corral_status_t corral_buf_append_str(corral_buf_t *b, const char *s) {
    return corral_buf_append(b, s, strlen(s));
}

corral_status_t corral_buf_printf(corral_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return CORRAL_ERR_INVALID_ARG;
    if (corral_buf_reserve(b, (size_t)n) != CORRAL_OK) return CORRAL_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return CORRAL_OK;
}

corral_status_t corral_buf_terminate(corral_buf_t *b) {
    if (corral_buf_reserve(b, 0) != CORRAL_OK) return CORRAL_ERR_NOMEM;
    b->data[b->len] = '\0';
    return CORRAL_OK;
}

void corral_buf_free(corral_buf_t *b) {
    if (!b) return;
    corral_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

uint8_t *corral_buf_take(corral_buf_t *b, size_t *len) {
    uint8_t *p = b->data;
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ---- files --------------------------------------------------------------------- */

corral_status_t corral_file_read(const char *path, size_t max_bytes, corral_buf_t *out,
                                 corral_err_t *err) {
    corral_status_t st = CORRAL_OK;
    if (max_bytes == 0) max_bytes = (size_t)1 << 30;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return corral_err_set(err, errno == ENOENT ? CORRAL_ERR_NOT_FOUND : CORRAL_ERR_IO,
                              "cannot open %s: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = corral_err_set(err, CORRAL_ERR_IO, "cannot read %s: it is a directory", path);
        goto fail;
    }
    size_t start = out->len;
    for (;;) {
        if (corral_buf_reserve(out, 65536) != CORRAL_OK) {
            st = corral_err_set(err, CORRAL_ERR_NOMEM, "out of memory reading %s", path);
            goto fail;
        }
        ssize_t n = read(fd, out->data + out->len, 65536);
        if (n < 0) {
            if (errno == EINTR) continue;
            st = corral_err_set(err, CORRAL_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0) break;
        out->len += (size_t)n;
        if (out->len - start > max_bytes) {
            st = corral_err_set(err, CORRAL_ERR_TOO_LARGE, "%s is larger than %zu bytes", path,
                                max_bytes);
            goto fail;
        }
    }
    out->data[out->len] = '\0';
fail:
    close(fd);
    return st;
}

corral_status_t corral_file_write(const char *path, const void *data, size_t len, unsigned mode,
                                  corral_err_t *err) {
    corral_status_t st = CORRAL_OK;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return corral_err_set(err, CORRAL_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            st = corral_err_set(err, CORRAL_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
            goto fail;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0) {
        st = corral_err_set(err, CORRAL_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        st = corral_err_set(err, CORRAL_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        st = corral_err_set(err, CORRAL_ERR_IO, "cannot rename %s to %s: %s", tmp, path,
                            strerror(errno));
        goto fail;
    }
    return CORRAL_OK;
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
    return st;
}

/* ---- logging ------------------------------------------------------------------- */

static _Atomic int log_level = CORRAL_LOG_INFO;
static _Atomic int log_format = CORRAL_LOG_TEXT;
static corral_log_sink_t log_sink;
static void *log_sink_user;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void corral_log_set_level(corral_log_level_t level) {
    atomic_store(&log_level, (int)level);
}

corral_log_level_t corral_log_get_level(void) {
    return (corral_log_level_t)atomic_load(&log_level);
}

void corral_log_set_format(corral_log_format_t fmt) {
    atomic_store(&log_format, (int)fmt);
}

void corral_log_set_sink(corral_log_sink_t sink, void *user) {
    pthread_mutex_lock(&log_lock);
    log_sink = sink;
    log_sink_user = user;
    pthread_mutex_unlock(&log_lock);
}

corral_status_t corral_log_level_parse(const char *s, corral_log_level_t *out) {
    for (int i = 0; i < 5; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (corral_log_level_t)i;
            return CORRAL_OK;
        }
    }
    return CORRAL_ERR_INVALID_ARG;
}

static void json_escape(corral_buf_t *b, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            corral_buf_printf(b, "\\%c", c);
        } else if (c < 0x20) {
            corral_buf_printf(b, "\\u%04x", c);
        } else {
            corral_buf_append(b, &c, 1);
        }
    }
}

static void default_sink(corral_log_level_t level, const char *component, const char *msg) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    corral_buf_t b = CORRAL_BUF_INIT;
    if (atomic_load(&log_format) == CORRAL_LOG_JSON) {
        corral_buf_printf(&b, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"component\":\"", when,
                          ts.tv_nsec / 1000000, level_names[level]);
        json_escape(&b, component);
        corral_buf_append_str(&b, "\",\"msg\":\"");
        json_escape(&b, msg);
        corral_buf_append_str(&b, "\"}\n");
    } else {
        corral_buf_printf(&b, "%s.%03ldZ %-5s %s: %s\n", when, ts.tv_nsec / 1000000,
                          level_names[level], component, msg);
    }
    if (b.data) {
        ssize_t r = write(STDERR_FILENO, b.data, b.len);
        (void)r;
    }
    corral_buf_free(&b);
}

void corral_log(corral_log_level_t level, const char *component, const char *fmt, ...) {
    if ((int)level > atomic_load(&log_level) || (unsigned)level > CORRAL_LOG_TRACE) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    corral_log_sink_t sink = log_sink;
    void *user = log_sink_user;
    pthread_mutex_unlock(&log_lock);
    if (sink) {
        sink(level, component, msg, user);
    } else {
        default_sink(level, component, msg);
    }
}

/* ---- small helpers --------------------------------------------------------------- */

uint64_t corral_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t corral_unix_time(void) {
    return (int64_t)time(NULL);
}

int corral_utf8_valid(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n) return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

corral_status_t corral_base64_encode(const uint8_t *p, size_t n, corral_buf_t *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n > (SIZE_MAX / 4) * 3 - 3) return CORRAL_ERR_NOMEM;
    if (corral_buf_reserve(out, (n + 2) / 3 * 4) != CORRAL_OK) return CORRAL_ERR_NOMEM;
    char *o = (char *)out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    out->len = (size_t)(o - (char *)out->data);
    out->data[out->len] = '\0';
    return CORRAL_OK;
}
