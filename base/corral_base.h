/*
 * corral_base.h - the base every Corral module stands on: status codes, the
 * caller-owned error record, allocator hooks with fault injection, byte
 * buffers, file reading and logging.
 *
 * Depends on nothing but libc. Every function here is thread-safe unless its
 * comment says otherwise.
 */
#ifndef CORRAL_BASE_H
#define CORRAL_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "corral_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CORRAL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CORRAL_LIKELY(x)    __builtin_expect(!!(x), 1)
#define CORRAL_UNLIKELY(x)  __builtin_expect(!!(x), 0)
#else
#define CORRAL_PRINTF(f, a)
#define CORRAL_LIKELY(x)   (x)
#define CORRAL_UNLIKELY(x) (x)
#endif

/* ---- status codes ------------------------------------------------------ */

#define CORRAL_STATUS_ENUM_(name, msg) CORRAL_##name,
typedef enum corral_status { CORRAL_STATUS_LIST(CORRAL_STATUS_ENUM_) CORRAL_STATUS_COUNT_ } corral_status_t;
#undef CORRAL_STATUS_ENUM_

/* The fixed message of a status code; never NULL (unknown codes give
 * "unknown status"). The string is static. */
const char *corral_status_str(corral_status_t st);

/* The enum name without prefix ("ERR_NOMEM"), for logs and JSON. Static. */
const char *corral_status_name(corral_status_t st);

/* ---- error record -------------------------------------------------------- */

#define CORRAL_ERR_MSG_MAX 512

/* A caller-owned record that a failing function fills with its status and a
 * precise message ("actor M... may not use wasmcloud:keyvalue: ..."). Every
 * function that takes one accepts NULL, meaning "only the return code". The
 * record needs no cleanup; corral_err_clear() resets it. */
typedef struct corral_err {
    corral_status_t status;
    char msg[CORRAL_ERR_MSG_MAX];
} corral_err_t;

/* Resets err to CORRAL_OK with an empty message. err may be NULL. */
void corral_err_clear(corral_err_t *err);

/* Fills err (if not NULL) with st and a printf-formatted message, and returns
 * st so a caller can write `return corral_err_set(err, CORRAL_ERR_IO, ...)`.
 * A NULL fmt uses corral_status_str(st). */
corral_status_t corral_err_set(corral_err_t *err, corral_status_t st, const char *fmt, ...)
    CORRAL_PRINTF(3, 4);
corral_status_t corral_err_vset(corral_err_t *err, corral_status_t st, const char *fmt, va_list ap);

/* Prefixes the message already in err with "prefix: " (printf-formatted),
 * keeping the status. Used to add context while an error travels upward.
 * Returns err->status (CORRAL_OK if err is NULL). */
corral_status_t corral_err_wrap(corral_err_t *err, const char *fmt, ...) CORRAL_PRINTF(2, 3);

/* The message of err: its text, or the status text when the text is empty. */
const char *corral_err_msg(const corral_err_t *err);

/* ---- allocation ---------------------------------------------------------- */

/* All Corral code allocates through these. They count live allocations and
 * can be told to fail, so tests can prove that every allocation failure is
 * handled and nothing leaks. corral_free(NULL) is a no-op. Thread-safe. */
void *corral_malloc(size_t n);
void *corral_calloc(size_t count, size_t size);
void *corral_realloc(void *p, size_t n);
void corral_free(void *p);
char *corral_strdup(const char *s);
char *corral_strndup(const char *s, size_t n);

/* Number of blocks currently allocated through the hooks above. */
long corral_alloc_live(void);

/* Fault injection for tests: the n-th allocation from now (1 = the next one)
 * fails, and so does every one after it when `sticky` is set. n = 0 turns
 * injection off. Process-wide; meant for single-threaded tests. */
void corral_alloc_fail_after(long n, int sticky);

/* Number of allocations made since the process started (for tests that loop
 * over every allocation site). */
long corral_alloc_count(void);

/* ---- byte buffers --------------------------------------------------------- */

/* A growable byte buffer. The buffer owns `data`; corral_buf_free releases it
 * and leaves the buffer empty and reusable. Zero-initialise before first use
 * (CORRAL_BUF_INIT). Not thread-safe: one owner at a time. */
typedef struct corral_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} corral_buf_t;

#define CORRAL_BUF_INIT {NULL, 0, 0}

/* Ensures room for `extra` more bytes. CORRAL_ERR_NOMEM on failure (the
 * buffer is unchanged) or when len + extra overflows. */
corral_status_t corral_buf_reserve(corral_buf_t *b, size_t extra);
corral_status_t corral_buf_append(corral_buf_t *b, const void *p, size_t n);
corral_status_t corral_buf_append_str(corral_buf_t *b, const char *s);
corral_status_t corral_buf_printf(corral_buf_t *b, const char *fmt, ...) CORRAL_PRINTF(2, 3);
/* Appends a NUL without counting it in len, so data can be used as a C string. */
corral_status_t corral_buf_terminate(corral_buf_t *b);
void corral_buf_free(corral_buf_t *b);
/* Hands ownership of the bytes to the caller (free with corral_free) and
 * empties the buffer. Returns NULL for an empty, never-allocated buffer. */
uint8_t *corral_buf_take(corral_buf_t *b, size_t *len);

/* ---- files ----------------------------------------------------------------- */

/* Reads a whole file into out (appended; a NUL follows the data but is not
 * counted). Fails with CORRAL_ERR_NOT_FOUND / CORRAL_ERR_IO and a message
 * naming the path and the OS error, or CORRAL_ERR_TOO_LARGE above max_bytes
 * (0 = 1 GiB). */
corral_status_t corral_file_read(const char *path, size_t max_bytes, corral_buf_t *out,
                                 corral_err_t *err);

/* Writes data to path atomically (temp file + rename) with the given mode
 * (e.g. 0600 for seeds). */
corral_status_t corral_file_write(const char *path, const void *data, size_t len, unsigned mode,
                                  corral_err_t *err);

/* ---- logging ---------------------------------------------------------------- */

typedef enum corral_log_level {
    CORRAL_LOG_ERROR = 0,
    CORRAL_LOG_WARN,
    CORRAL_LOG_INFO,
    CORRAL_LOG_DEBUG,
    CORRAL_LOG_TRACE
} corral_log_level_t;

typedef enum corral_log_format { CORRAL_LOG_TEXT = 0, CORRAL_LOG_JSON } corral_log_format_t;

/* A log sink receives every line at or above the threshold. `component` is a
 * short module name ("host", "claims"), `msg` the formatted text. The sink
 * is called from whichever thread logs, so it must be thread-safe. */
typedef void (*corral_log_sink_t)(corral_log_level_t level, const char *component, const char *msg,
                                  void *user);

/* Process-wide settings; set them at start-up before threads log. The default
 * sink writes to stderr in the chosen format; a NULL sink restores it. */
void corral_log_set_level(corral_log_level_t level);
corral_log_level_t corral_log_get_level(void);
void corral_log_set_format(corral_log_format_t fmt);
void corral_log_set_sink(corral_log_sink_t sink, void *user);
/* Parses "error|warn|info|debug|trace". Returns CORRAL_ERR_INVALID_ARG otherwise. */
corral_status_t corral_log_level_parse(const char *s, corral_log_level_t *out);

void corral_log(corral_log_level_t level, const char *component, const char *fmt, ...)
    CORRAL_PRINTF(3, 4);

#define CORRAL_LOG_ERROR_(c, ...) corral_log(CORRAL_LOG_ERROR, c, __VA_ARGS__)
#define CORRAL_LOG_WARN_(c, ...)  corral_log(CORRAL_LOG_WARN, c, __VA_ARGS__)
#define CORRAL_LOG_INFO_(c, ...)  corral_log(CORRAL_LOG_INFO, c, __VA_ARGS__)
#define CORRAL_LOG_DEBUG_(c, ...)                                                                  \
    do {                                                                                           \
        if (corral_log_get_level() >= CORRAL_LOG_DEBUG) corral_log(CORRAL_LOG_DEBUG, c, __VA_ARGS__); \
    } while (0)

/* ---- small helpers ------------------------------------------------------------ */

/* Monotonic clock in nanoseconds. */
uint64_t corral_now_ns(void);
/* Wall clock, seconds since the epoch. */
int64_t corral_unix_time(void);

/* Checks that s[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). Returns 1 when valid. */
int corral_utf8_valid(const uint8_t *s, size_t len);

/* Standard base64 (RFC 4648 §4, with padding) for JSON output of byte blobs.
 * Appends to out. */
corral_status_t corral_base64_encode(const uint8_t *p, size_t n, corral_buf_t *out);

#ifdef __cplusplus
}
#endif

#endif
