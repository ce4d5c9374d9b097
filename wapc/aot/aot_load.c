/*
 * aot_load.c - loading and running AOT artifacts (corral_aot.h): header
 * checks, mapping the ELF through a memfd with dlopen, instances, calls,
 * the limit slow path (fuel, deadline, interrupt: the interpreter's rules)
 * and import dispatch to corral_vm host functions.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aot_abi.h"
#include "aot_int.h"
#include "corral_aot.h"
#include "vm_int.h" /* vm_trap_msg / vm_trap_text: one trap text per thread for both tiers */

#define AOT_CHECK_EVERY 4096

struct corral_aot_module {
    atomic_long refs;
    void *dl;
    int fd; /* the memfd (-1 when mapped from <artifact>.so) stays open while loaded */
    const corral_aot_desc_t *desc;
    corral_aot_info_t info;
};

struct corral_aot_instance {
    corral_aot_module_t *mod;
    corral_aot_rt_t *rt; /* desc->inst_size bytes, 16-aligned */
    corral_vm_instance_t *caller;
    corral_aot_hostfn_t *imports;
    corral_vm_limits_t limits;
    atomic_int interrupt;
    atomic_int *ext_interrupt; /* the corral_vm instance's flag, when behind corral_vm.h */
    int running;
    uint64_t deadline, start_ns, fuel_left;
    int has_fuel;
    corral_status_t host_status; /* what the failing import returned */
};

static void copy_str(char *dst, size_t n, const char *src)
{
    size_t l = strlen(src);
    if (l >= n) l = n - 1;
    memcpy(dst, src, l);
    dst[l] = 0;
}

/* ---- header ---------------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

corral_status_t aot_parse_header(const uint8_t *p, size_t n, aot_hdr_t *h, corral_err_t *err)
{
    memset(h, 0, sizeof *h);
    corral_aot_info_t *out = &h->info;
    size_t limit = n < 4096 ? n : 4096;
    const char *s = (const char *)p;
    if (limit < 13 || memcmp(s, "CORRAL-AOT 1\n", 13) != 0)
        return corral_err_set(err, CORRAL_ERR_INVALID, "not a Corral AOT artifact (no CORRAL-AOT 1 header)");
    size_t i = 13;
    int have = 0, nsigner = 0, nsig = 0;
    size_t signer_end = 0;
    while (i < limit) {
        const char *line = s + i;
        const char *nl = memchr(line, '\n', limit - i);
        if (!nl) break;
        size_t ll = (size_t)(nl - line), line_off = i;
        i += ll + 1;
        if (ll == 0) {
            if (have != 0x1f) break;
            if (out->elf_bytes != n - i)
                return corral_err_set(err, CORRAL_ERR_INVALID, "AOT artifact is truncated (%zu of %llu ELF bytes)", n - i,
                                      (unsigned long long)out->elf_bytes);
            h->elf_off = i;
            if (nsigner != nsig)
                return corral_err_set(err, CORRAL_ERR_INVALID, "AOT artifact header has a %s line without a %s line",
                                      nsigner ? "signer" : "signature", nsigner ? "signature" : "signer");
            if (nsig) {
                /* signer, signature, blank line: nothing unsigned in between */
                if (signer_end != h->sig_off || h->sig_end != line_off)
                    return corral_err_set(err, CORRAL_ERR_INVALID,
                                          "AOT artifact header: 'signer' and 'signature' must be its last two lines");
                h->has_sig = 1;
            }
            return CORRAL_OK;
        }
        char val[256];
        const char *sp = memchr(line, ' ', ll);
        if (!sp) continue;
        size_t kl = (size_t)(sp - line), vl = ll - kl - 1;
        if (vl >= sizeof val) vl = sizeof val - 1;
        memcpy(val, sp + 1, vl);
        val[vl] = 0;
        if (kl == 13 && memcmp(line, "module-sha256", 13) == 0 && vl == 64 &&
            strspn(val, "0123456789ABCDEF") == 64) {
            memcpy(out->module_hash, val, 65);
            have |= 1;
        } else if (kl == 3 && memcmp(line, "abi", 3) == 0) {
            out->abi = (uint32_t)strtoul(val, NULL, 10);
            have |= 2;
        } else if (kl == 8 && memcmp(line, "compiler", 8) == 0) {
            copy_str(out->compiler, sizeof out->compiler, val);
            have |= 4;
        } else if (kl == 6 && memcmp(line, "target", 6) == 0) {
            copy_str(out->target, sizeof out->target, val);
            have |= 8;
        } else if (kl == 9 && memcmp(line, "elf-bytes", 9) == 0) {
            out->elf_bytes = strtoull(val, NULL, 10);
            have |= 16;
        } else if (kl == 6 && memcmp(line, "signer", 6) == 0) {
            if (nsigner++ || vl != 56 || strspn(val, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != 56)
                return corral_err_set(err, CORRAL_ERR_INVALID, "AOT artifact header: %s",
                                      nsigner > 1 ? "two signer lines" : "the signer is not a 56-character key");
            memcpy(out->signer, val, 57);
            h->signer_off = line_off;
            signer_end = i;
        } else if (kl == 9 && memcmp(line, "signature", 9) == 0) {
            if (nsig++ || vl != 128)
                return corral_err_set(err, CORRAL_ERR_INVALID, "AOT artifact header: %s",
                                      nsig > 1 ? "two signature lines" : "the signature is not 128 hex digits");
            for (size_t k = 0; k < 64; k++) {
                int hi = hexval(val[2 * k]), lo = hexval(val[2 * k + 1]);
                if (hi < 0 || lo < 0)
                    return corral_err_set(err, CORRAL_ERR_INVALID,
                                          "AOT artifact header: the signature is not lowercase hex");
                h->sig[k] = (uint8_t)(hi << 4 | lo);
            }
            h->sig_off = line_off;
            h->sig_end = i;
        }
    }
    return corral_err_set(err, CORRAL_ERR_INVALID, "AOT artifact header is incomplete");
}

corral_status_t corral_aot_info_read(const char *path, corral_aot_info_t *out, corral_err_t *err)
{
    corral_buf_t b = {0};
    corral_status_t st = corral_file_read(path, (size_t)1 << 31, &b, err);
    if (st != CORRAL_OK) return st;
    aot_hdr_t h;
    st = aot_parse_header(b.data, b.len, &h, err);
    if (st == CORRAL_OK) *out = h.info;
    else memset(out, 0, sizeof *out);
    corral_buf_free(&b);
    return st;
}

/* ---- modules --------------------------------------------------------------------------- */

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

corral_status_t corral_aot_module_load(const char *path, const char *expect_hash, corral_aot_module_t **out,
                                       corral_err_t *err)
{
    return corral_aot_module_load_trusted(path, expect_hash, NULL, out, err);
}

/* Whether path is a regular file owned by this user, in a directory owned
 * by this user, neither writable by group or others: only this user can
 * have put it there or change it (the host's cache is such a place). */
static int private_file(const char *path, struct stat *st)
{
    char dir[4096];
    struct stat ds;
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 1;
    if (dl >= sizeof dir) return 0;
    if (!slash) memcpy(dir, ".", 2);
    else if (dl == 0) memcpy(dir, "/", 2);
    else {
        memcpy(dir, path, dl);
        dir[dl] = 0;
    }
    uid_t me = geteuid();
    return lstat(path, st) == 0 && S_ISREG(st->st_mode) && st->st_uid == me && !(st->st_mode & 022) &&
           stat(dir, &ds) == 0 && S_ISDIR(ds.st_mode) && ds.st_uid == me && !(ds.st_mode & 022);
}

/* The shared object beside a private artifact (<path>.so), usable when it
 * is private too, holds exactly the artifact's ELF bytes and was written
 * after the artifact (an artifact replaced since has a newer time). */
static int sidecar_ok(const char *so, const struct stat *art, uint64_t elf_bytes)
{
    struct stat st;
    if (lstat(so, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) ||
        (uint64_t)st.st_size != elf_bytes)
        return 0;
    return st.st_mtim.tv_sec > art->st_mtim.tv_sec ||
           (st.st_mtim.tv_sec == art->st_mtim.tv_sec && st.st_mtim.tv_nsec >= art->st_mtim.tv_nsec);
}

/* Writes <path>.so from the artifact's bytes (temporary name, then rename:
 * a concurrent loader sees the old file or the whole new one). */
static int sidecar_write(const char *so, const uint8_t *elf, size_t n)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lx", so, (long)getpid(), (unsigned long)(uintptr_t)&tmp);
    corral_err_t e;
    if (corral_file_write(tmp, elf, n, 0600, &e) != CORRAL_OK) return 0;
    if (rename(tmp, so) != 0) {
        unlink(tmp);
        return 0;
    }
    return 1;
}

static corral_status_t check_info(const char *path, const corral_aot_info_t *info, const char *expect_hash,
                                  corral_err_t *err)
{
    if (info->abi != CORRAL_AOT_ABI)
        return corral_err_set(err, CORRAL_ERR_INVALID, "AOT artifact %s was built for ABI %u, this host runs ABI %u",
                              path, info->abi, (unsigned)CORRAL_AOT_ABI);
    if (expect_hash && strcmp(expect_hash, info->module_hash) != 0)
        return corral_err_set(err, CORRAL_ERR_INVALID, "AOT artifact %s is for module %.12s..., not %.12s...", path,
                              info->module_hash, expect_hash);
    return CORRAL_OK;
}

corral_status_t corral_aot_module_load_trusted(const char *path, const char *expect_hash,
                                               const corral_aot_trust_t *trust, corral_aot_module_t **out,
                                               corral_err_t *err)
{
    *out = NULL;
    corral_buf_t b = {0};
    corral_aot_module_t *m = NULL;
    corral_status_t st;
    aot_hdr_t hdr;
    struct stat ast;
    char so[4200] = "";
    const char *dlpath;
    char fdpath[64];
    int reused, retried = 0;
again:
    dlpath = NULL;
    reused = 0;

    /* An artifact in the caller's own cache (private to this user, so
     * nobody else can change it between check and use): the header alone is
     * read and checked, and the ELF is mapped from <path>.so, which the
     * first load writes; no copy, and the kernel shares its pages between
     * processes. Anywhere else the whole file is read once, every check runs
     * on those bytes, and exactly those bytes are mapped (from a memfd): a
     * file changed afterwards has no effect. */
    if (trust && trust->from_cache && !trust->require_signed && private_file(path, &ast) &&
        (size_t)snprintf(so, sizeof so, "%s.so", path) < sizeof so) {
        uint8_t head[4096];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t got = fd >= 0 ? pread(fd, head, sizeof head, 0) : -1;
        if (fd >= 0) close(fd);
        if (got < 0) return corral_err_set(err, CORRAL_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        /* the header is bounded to the first 4 KiB; the size says the rest */
        if ((size_t)got < sizeof head && (off_t)got != ast.st_size)
            return corral_err_set(err, CORRAL_ERR_IO, "cannot read %s: it changed while read", path);
        if ((st = aot_parse_header(head, (size_t)ast.st_size, &hdr, err)) != CORRAL_OK) return st;
        if ((st = check_info(path, &hdr.info, expect_hash, err)) != CORRAL_OK) return st;
        if (!retried && sidecar_ok(so, &ast, hdr.info.elf_bytes)) dlpath = so, reused = 1;
    }
    if (!dlpath) {
        if ((st = corral_file_read(path, (size_t)1 << 31, &b, err)) != CORRAL_OK) return st;
        if ((st = aot_parse_header(b.data, b.len, &hdr, err)) != CORRAL_OK) goto fail;
        /* the signature first: a changed byte anywhere (the ABI or hash
         * lines included) is reported as what it is */
        if (trust && trust->require_signed &&
            (st = aot_check_trust(path, b.data, b.len, &hdr, trust, err)) != CORRAL_OK)
            goto fail;
        if ((st = check_info(path, &hdr.info, expect_hash, err)) != CORRAL_OK) goto fail;
        if (so[0] && sidecar_write(so, b.data + hdr.elf_off, hdr.info.elf_bytes)) dlpath = so;
    }
    m = corral_calloc(1, sizeof *m);
    if (!m) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
        goto fail;
    }
    m->fd = -1;
    m->info = hdr.info;
    atomic_init(&m->refs, 1);
    if (!dlpath) {
        m->fd = memfd_create("corral-aot", MFD_CLOEXEC);
        if (m->fd < 0) {
            st = corral_err_set(err, CORRAL_ERR_IO, "memfd_create: %s", strerror(errno));
            goto fail;
        }
        for (size_t w = 0; w < hdr.info.elf_bytes;) {
            ssize_t r = write(m->fd, b.data + hdr.elf_off + w, hdr.info.elf_bytes - w);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                st = corral_err_set(err, CORRAL_ERR_IO, "writing the artifact to memory: %s", strerror(errno));
                goto fail;
            }
            w += (size_t)r;
        }
        snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", m->fd);
        dlpath = fdpath;
    }
    corral_buf_free(&b);
    /* one lock for dlopen, the checks and init_module: the same file loaded
     * twice is one object (the loader shares it), initialised once */
    pthread_mutex_lock(&load_lock);
    m->dl = dlopen(dlpath, RTLD_NOW | RTLD_LOCAL);
    const char *dle = m->dl ? NULL : dlerror();
    if (m->dl) {
        m->desc = dlsym(m->dl, "corral_aot_desc");
        if (!m->desc || m->desc->abi != CORRAL_AOT_ABI || m->desc->rt_size != CORRAL_AOT_RT_SIZE ||
            !m->desc->module_hash || strcmp(m->desc->module_hash, hdr.info.module_hash) != 0)
            m->desc = NULL;
        else
            m->desc->init_module();
    }
    pthread_mutex_unlock(&load_lock);
    if ((!m->dl || !m->desc) && reused) {
        /* a damaged copy: written again from the artifact, once */
        unlink(so);
        if (m->dl) dlclose(m->dl);
        corral_free(m);
        m = NULL;
        retried = 1;
        goto again;
    }
    if (!m->dl || !m->desc) {
        if (dlpath == so) unlink(so);
        st = m->dl ? corral_err_set(err, CORRAL_ERR_INVALID, "AOT artifact %s has no usable corral_aot_desc", path)
                   : corral_err_set(err, CORRAL_ERR_INVALID, "cannot load AOT artifact %s: %s", path,
                                    dle ? dle : "dlopen failed");
        goto fail;
    }
    *out = m;
    return CORRAL_OK;
fail:
    corral_buf_free(&b);
    if (m) {
        if (m->dl) dlclose(m->dl);
        if (m->fd >= 0) close(m->fd);
        corral_free(m);
    }
    return st;
}

static void module_release(corral_aot_module_t *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1) return;
    pthread_mutex_lock(&load_lock);
    dlclose(m->dl);
    pthread_mutex_unlock(&load_lock);
    if (m->fd >= 0) close(m->fd);
    corral_free(m);
}

void corral_aot_module_free(corral_aot_module_t *m) { module_release(m); }

uint32_t corral_aot_module_import_count(const corral_aot_module_t *m) { return m->desc->nimports; }
uint32_t corral_aot_module_export_count(const corral_aot_module_t *m) { return m->desc->nexports; }

int32_t corral_aot_module_func(const corral_aot_module_t *m, const char *name, size_t name_len, const char **sig)
{
    for (uint32_t i = 0; i < m->desc->nexports; i++) {
        const corral_aot_export_t *e = &m->desc->exports[i];
        if (e->kind == CORRAL_VM_EXTERN_FUNC && e->name_len == name_len && memcmp(e->name, name, name_len) == 0) {
            if (sig) *sig = e->sig;
            return (int32_t)i;
        }
    }
    return -1;
}

/* ---- limits and imports ------------------------------------------------------------------ */

static int aot_slow(corral_aot_rt_t *rt)
{
    corral_aot_instance_t *inst = rt->host;
    if (atomic_load_explicit(&inst->interrupt, memory_order_relaxed) ||
        (inst->ext_interrupt && atomic_load_explicit(inst->ext_interrupt, memory_order_relaxed)))
        return CORRAL_AOT_TRAP_INTERRUPTED;
    if (inst->deadline && corral_now_ns() >= inst->deadline) return CORRAL_AOT_TRAP_DEADLINE;
    /* units spent beyond the countdown: 1 at a check, more when unchecked
     * loops (aot_rt.h CORRAL_LOOP_COUNT) were charged in one go */
    uint64_t owed = rt->countdown < 0 ? (uint64_t)(-(rt->countdown + 1)) + 1 : 1;
    uint64_t n = AOT_CHECK_EVERY - 1 + owed;
    if (inst->has_fuel) {
        if (inst->fuel_left < owed) {
            inst->fuel_left = 0;
            return CORRAL_AOT_TRAP_FUEL;
        }
        if (n > inst->fuel_left) n = inst->fuel_left;
        inst->fuel_left -= n;
    }
    rt->countdown = (int64_t)(n - owed);
    return 0;
}

static int aot_import(corral_aot_rt_t *rt, uint32_t idx, uint64_t *sp)
{
    corral_aot_instance_t *inst = rt->host;
    const corral_aot_hostfn_t *h = &inst->imports[idx];
    corral_status_t st = h->fn(inst->caller, sp, h->user);
    if (st == CORRAL_OK) return 0;
    inst->host_status = st;
    return CORRAL_AOT_TRAP_HOST;
}

/* The lowest address this thread's stack may reach, plus a margin for
 * host functions the guest calls; cached per thread. */
static __thread uintptr_t stack_floor;

#ifdef __GLIBC__
extern void *__libc_stack_end; /* glibc: the top of the main thread's stack */
#endif

static uintptr_t thread_stack_limit(void)
{
    if (stack_floor) return stack_floor;
    void *lo = NULL;
    size_t sz = 0;
#ifdef __GLIBC__
    if (getpid() == (pid_t)syscall(SYS_gettid)) {
        /* the main thread: pthread_getattr_np would parse /proc/self/maps
         * (tens of microseconds on the first native call of a process);
         * its stack ends the stack size limit below the top */
        struct rlimit rl;
        uintptr_t top = ((uintptr_t)__libc_stack_end + 4095) & ~(uintptr_t)4095;
        if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < top &&
            rl.rlim_cur <= ((rlim_t)1 << 32)) {
            lo = (void *)(top - (uintptr_t)rl.rlim_cur);
            sz = (size_t)rl.rlim_cur;
        }
    } else
#endif
    {
        pthread_attr_t a;
        if (pthread_getattr_np(pthread_self(), &a) == 0) {
            pthread_attr_getstack(&a, &lo, &sz);
            pthread_attr_destroy(&a);
        }
    }
    uintptr_t margin = 256u * 1024u;
    if (!lo || sz < 2 * margin) {
        /* unknown: allow 1 MiB below the current frame */
        uintptr_t here = (uintptr_t)__builtin_frame_address(0);
        stack_floor = here > (1u << 20) ? here - (1u << 20) : 1;
    } else {
        stack_floor = (uintptr_t)lo + margin;
    }
    return stack_floor;
}

static void limits_fill(corral_vm_limits_t *l, const corral_vm_limits_t *in)
{
    if (in) *l = *in;
    else memset(l, 0, sizeof *l);
    if (!l->max_pages || l->max_pages > 65536u) l->max_pages = 65536u;
    if (!l->max_call_depth) l->max_call_depth = 10000;
}

static void exec_start(corral_aot_instance_t *inst)
{
    corral_aot_rt_t *rt = inst->rt;
    atomic_store_explicit(&inst->interrupt, 0, memory_order_relaxed);
    rt->max_depth = inst->limits.max_call_depth;
    rt->max_pages = inst->limits.max_pages;
    rt->stack_limit = thread_stack_limit();
    inst->deadline = 0;
    inst->has_fuel = 0;
    uint64_t n = AOT_CHECK_EVERY;
    if (inst->limits.deadline_ns) {
        inst->start_ns = corral_now_ns();
        inst->deadline = inst->start_ns + inst->limits.deadline_ns;
    }
    if (inst->limits.fuel) {
        inst->has_fuel = 1;
        inst->fuel_left = inst->limits.fuel;
        if (n > inst->fuel_left) n = inst->fuel_left;
        inst->fuel_left -= n;
    }
    rt->countdown = (int64_t)n;
}

static corral_status_t trap_status(corral_aot_instance_t *inst, int code, corral_err_t *err)
{
    corral_status_t st;
    switch (code) {
    case CORRAL_AOT_TRAP_UNREACHABLE: st = CORRAL_ERR_TRAP_UNREACHABLE; break;
    case CORRAL_AOT_TRAP_MEMORY_OOB: st = CORRAL_ERR_TRAP_MEMORY_OOB; break;
    case CORRAL_AOT_TRAP_TABLE_OOB: st = CORRAL_ERR_TRAP_TABLE_OOB; break;
    case CORRAL_AOT_TRAP_DIV_ZERO: st = CORRAL_ERR_TRAP_DIV_ZERO; break;
    case CORRAL_AOT_TRAP_INT_OVERFLOW: st = CORRAL_ERR_TRAP_INT_OVERFLOW; break;
    case CORRAL_AOT_TRAP_INVALID_CONVERSION: st = CORRAL_ERR_TRAP_INVALID_CONVERSION; break;
    case CORRAL_AOT_TRAP_UNDEFINED_ELEMENT: st = CORRAL_ERR_TRAP_UNDEFINED_ELEMENT; break;
    case CORRAL_AOT_TRAP_UNINITIALIZED_ELEMENT: st = CORRAL_ERR_TRAP_UNINITIALIZED_ELEMENT; break;
    case CORRAL_AOT_TRAP_INDIRECT_MISMATCH: st = CORRAL_ERR_TRAP_INDIRECT_MISMATCH; break;
    case CORRAL_AOT_TRAP_STACK_EXHAUSTED: st = CORRAL_ERR_TRAP_STACK_EXHAUSTED; break;
    case CORRAL_AOT_TRAP_FUEL: st = CORRAL_ERR_TRAP_FUEL_EXHAUSTED; break;
    case CORRAL_AOT_TRAP_DEADLINE:
        return corral_err_set(err, CORRAL_ERR_TRAP_DEADLINE, "deadline exceeded after %llu ms",
                              (unsigned long long)((inst->deadline - inst->start_ns) / 1000000u));
    case CORRAL_AOT_TRAP_INTERRUPTED: st = CORRAL_ERR_TRAP_INTERRUPTED; break;
    case CORRAL_AOT_TRAP_HOST: {
        st = inst->host_status;
        const char *t = vm_trap_text();
        if (t[0]) return corral_err_set(err, st, "%s", t);
        return corral_err_set(err, st, NULL);
    }
    case CORRAL_AOT_TRAP_NOMEM: return corral_err_set(err, CORRAL_ERR_NOMEM, "AOT: cannot allocate memory or table");
    case CORRAL_AOT_TRAP_LIMIT:
        return corral_err_set(err, CORRAL_ERR_UNINSTANTIABLE, "initial memory is above the limit of %u pages",
                              inst->limits.max_pages);
    default: st = CORRAL_ERR_INTERNAL; break;
    }
    return corral_err_set(err, st, NULL);
}

/* ---- instances ----------------------------------------------------------------------------- */

corral_status_t corral_aot_instance_new(corral_aot_module_t *m, const corral_aot_hostfn_t *imports, uint32_t nimports,
                                        const corral_vm_limits_t *limits, corral_vm_instance_t *caller,
                                        corral_aot_instance_t **out, corral_err_t *err)
{
    *out = NULL;
    const corral_aot_desc_t *d = m->desc;
    if (nimports != d->nimports)
        return corral_err_set(err, CORRAL_ERR_UNLINKABLE, "AOT module has %u imports, %u given", d->nimports, nimports);
    corral_aot_instance_t *inst = corral_calloc(1, sizeof *inst);
    if (!inst) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    inst->rt = corral_calloc(1, d->inst_size);
    inst->imports = corral_calloc(nimports ? nimports : 1, sizeof *inst->imports);
    if (!inst->rt || !inst->imports) {
        corral_free(inst->rt);
        corral_free(inst->imports);
        corral_free(inst);
        return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    }
    if (nimports) memcpy(inst->imports, imports, nimports * sizeof *imports);
    atomic_fetch_add(&m->refs, 1);
    inst->mod = m;
    inst->caller = caller;
    atomic_init(&inst->interrupt, 0);
    limits_fill(&inst->limits, limits);
    inst->rt->host = inst;
    inst->rt->slow = aot_slow;
    inst->rt->import = aot_import;
    inst->rt->thread_slot = aot_thread_slot;
    exec_start(inst);
    vm_trap_clear();
    inst->running = 1;
    int code = d->instantiate(inst->rt);
    inst->running = 0;
    if (code) {
        corral_status_t st = trap_status(inst, code, err);
        corral_aot_instance_free(inst);
        return st;
    }
    *out = inst;
    return CORRAL_OK;
}

void corral_aot_instance_free(corral_aot_instance_t *inst)
{
    if (!inst) return;
    inst->mod->desc->free_instance(inst->rt);
    corral_free(inst->rt);
    corral_free(inst->imports);
    module_release(inst->mod);
    corral_free(inst);
}

void corral_aot_instance_set_limits(corral_aot_instance_t *inst, const corral_vm_limits_t *limits)
{
    limits_fill(&inst->limits, limits);
}

void corral_aot_instance_set_caller(corral_aot_instance_t *inst, corral_vm_instance_t *caller)
{
    inst->caller = caller;
}

void aot_instance_link_interrupt(corral_aot_instance_t *inst, atomic_int *flag) { inst->ext_interrupt = flag; }

static uint64_t norm(char t, uint64_t v) { return t == 'i' || t == 'f' ? (uint32_t)v : v; }

corral_status_t corral_aot_call(corral_aot_instance_t *inst, int32_t idx, const uint64_t *args, uint32_t nargs,
                                uint64_t *results, uint32_t nresults, corral_err_t *err)
{
    const corral_aot_desc_t *d = inst->mod->desc;
    if (idx < 0 || (uint32_t)idx >= d->nexports || !d->exports[idx].fn)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "not a function");
    const char *sig = d->exports[idx].sig;
    const char *colon = strchr(sig, ':');
    uint32_t np = (uint32_t)(colon - sig), nr = (uint32_t)strlen(colon + 1);
    if (nargs != np || nresults != nr)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "function takes %u arguments and returns %u results", np, nr);
    if (inst->running) return corral_err_set(err, CORRAL_ERR_STATE, "a call is already running in this instance");
    uint64_t small[16];
    uint32_t n = np > nr ? np : nr;
    uint64_t *sp = n <= 16 ? small : corral_malloc((size_t)n * 8);
    if (!sp) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    for (uint32_t i = 0; i < np; i++) sp[i] = norm(sig[i], args[i]);
    exec_start(inst);
    vm_trap_clear();
    inst->running = 1;
    int code = d->call(inst->rt, (uint32_t)idx, sp);
    inst->running = 0;
    corral_status_t st = CORRAL_OK;
    if (code) st = trap_status(inst, code, err);
    else
        for (uint32_t i = 0; i < nr; i++) results[i] = sp[i];
    if (sp != small) corral_free(sp);
    return st;
}

void corral_aot_instance_interrupt(corral_aot_instance_t *inst)
{
    if (inst) atomic_store_explicit(&inst->interrupt, 1, memory_order_relaxed);
}

uint8_t *corral_aot_memory_slice(corral_aot_instance_t *inst, uint32_t offset, uint32_t len)
{
    if (!inst || !inst->rt->mem_data) return NULL;
    if ((uint64_t)offset + len > inst->rt->mem_size) return NULL;
    return inst->rt->mem_data + offset;
}

uint64_t corral_aot_memory_size(const corral_aot_instance_t *inst)
{
    return inst && inst->rt->mem_data ? inst->rt->mem_size : 0;
}
