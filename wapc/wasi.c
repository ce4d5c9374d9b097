/*
 * wasi.c - the minimal WASI preview 1 an actor gets (docs/wapc.md): stdout
 * and stderr go to the actor's log, randomness comes from libsodium, clocks
 * and sleeps work, everything else returns ENOSYS. No files, no sockets:
 * capabilities come through waPC. Registered under `wasi_snapshot_preview1`
 * and `wasi_unstable`; a WASI function the host does not implement is bound
 * to an ENOSYS stub of exactly the type the module imports, so toolchains
 * that import more than they use still link.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "wapc_int.h"

enum {
    WASI_ESUCCESS = 0,
    WASI_EBADF = 8,
    WASI_EINVAL = 28,
    WASI_ENOSYS = 52,
    WASI_ESPIPE = 70
};

/* Passed as the host function's user pointer: which layout to use. */
static int unstable_flavour;
#define FLAVOUR_UNSTABLE ((void *)&unstable_flavour)

static corral_wapc_instance_t *inst_of(corral_vm_instance_t *caller) {
    return (corral_wapc_instance_t *)corral_vm_instance_user(caller);
}

static uint8_t *slice(corral_vm_instance_t *caller, const char *fn, uint32_t ptr, uint64_t len,
                      corral_status_t *st) {
    uint8_t *p = len > UINT32_MAX ? NULL : corral_vm_memory_slice(caller, ptr, (uint32_t)len);
    if (!p)
        *st = corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST,
                             "%s: (ptr 0x%" PRIx32 ", len %" PRIu64
                             ") is outside guest memory of %" PRIu64 " bytes",
                             fn, ptr, len, corral_vm_memory_size(caller));
    return p;
}

static void put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p) {
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static corral_status_t w_fd_write(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    corral_status_t st = CORRAL_OK;
    uint32_t fd = (uint32_t)sp[0], iovs = (uint32_t)sp[1], niovs = (uint32_t)sp[2];
    uint32_t nwritten_ptr = (uint32_t)sp[3];
    if (fd != 1 && fd != 2) {
        sp[0] = WASI_EBADF;
        return CORRAL_OK;
    }
    uint8_t *nw = slice(caller, "fd_write", nwritten_ptr, 4, &st);
    if (!nw) return st;
    const uint8_t *iov = slice(caller, "fd_write", iovs, (uint64_t)niovs * 8, &st);
    if (!iov) return st;
    /* Check every buffer before logging any, so a bad one logs nothing. */
    uint64_t total = 0;
    for (uint32_t i = 0; i < niovs; i++) {
        if (!slice(caller, "fd_write", get_u32(iov + 8 * i), get_u32(iov + 8 * i + 4), &st))
            return st;
        total += get_u32(iov + 8 * i + 4);
    }
    if (total > UINT32_MAX)
        return corral_vm_trap(caller, CORRAL_ERR_TRAP_HOST, "fd_write: more than 4 GiB at once");
    corral_wapc_instance_t *inst = inst_of(caller);
    for (uint32_t i = 0; i < niovs; i++) {
        uint32_t len = get_u32(iov + 8 * i + 4);
        const uint8_t *p = corral_vm_memory_slice(caller, get_u32(iov + 8 * i), len);
        wapc_log_bytes(inst, fd == 1 ? CORRAL_WAPC_LOG_STDOUT : CORRAL_WAPC_LOG_STDERR, p, len);
    }
    nw = corral_vm_memory_slice(caller, nwritten_ptr, 4);
    put_u32(nw, (uint32_t)total);
    sp[0] = WASI_ESUCCESS;
    return CORRAL_OK;
}

static corral_status_t w_fd_close(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    sp[0] = (uint32_t)sp[0] <= 2 ? WASI_ESUCCESS : WASI_EBADF;
    return CORRAL_OK;
}

static corral_status_t w_fd_seek(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    sp[0] = (uint32_t)sp[0] <= 2 ? WASI_ESPIPE : WASI_EBADF;
    return CORRAL_OK;
}

static corral_status_t w_fd_fdstat_get(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    corral_status_t st = CORRAL_OK;
    uint32_t fd = (uint32_t)sp[0];
    if (fd > 2) {
        sp[0] = WASI_EBADF;
        return CORRAL_OK;
    }
    uint8_t *p = slice(caller, "fd_fdstat_get", (uint32_t)sp[1], 24, &st);
    if (!p) return st;
    memset(p, 0, 24);
    p[0] = 2;                              /* filetype: character device (a tty-like stream) */
    put_u16(p + 2, fd == 0 ? 0 : 1);       /* fdflags: append for outputs */
    put_u64(p + 8, fd == 0 ? 1u << 1 : 1u << 6); /* rights: fd_read or fd_write */
    sp[0] = WASI_ESUCCESS;
    return CORRAL_OK;
}

static corral_status_t w_proc_exit(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    corral_wapc_instance_t *inst = inst_of(caller);
    inst->exited = 1;
    inst->exit_code = (uint32_t)sp[0];
    return corral_vm_trap(caller, CORRAL_ERR_TRAP_EXIT, "guest called proc_exit(%" PRIu32 ")",
                          inst->exit_code);
}

static corral_status_t w_random_get(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    corral_status_t st = CORRAL_OK;
    uint8_t *p = slice(caller, "random_get", (uint32_t)sp[0], (uint32_t)sp[1], &st);
    if (!p) return st;
    randombytes_buf(p, (uint32_t)sp[1]);
    sp[0] = WASI_ESUCCESS;
    return CORRAL_OK;
}

static int clock_read(uint32_t id, uint64_t *ns) {
    clockid_t c;
    switch (id) {
    case 0: c = CLOCK_REALTIME; break;
    case 1: c = CLOCK_MONOTONIC; break;
    case 2: c = CLOCK_PROCESS_CPUTIME_ID; break;
    case 3: c = CLOCK_THREAD_CPUTIME_ID; break;
    default: return 0;
    }
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0) return 0;
    *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 1;
}

static corral_status_t w_clock_time_get(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    corral_status_t st = CORRAL_OK;
    uint64_t now;
    if (!clock_read((uint32_t)sp[0], &now)) {
        sp[0] = WASI_EINVAL;
        return CORRAL_OK;
    }
    uint8_t *p = slice(caller, "clock_time_get", (uint32_t)sp[2], 8, &st);
    if (!p) return st;
    put_u64(p, now);
    sp[0] = WASI_ESUCCESS;
    return CORRAL_OK;
}

/* args and environ are empty: sizes are zero, the getters write nothing. */
static corral_status_t w_sizes_get(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    corral_status_t st = CORRAL_OK;
    uint8_t *a = slice(caller, "args/environ_sizes_get", (uint32_t)sp[0], 4, &st);
    if (!a) return st;
    uint8_t *b = slice(caller, "args/environ_sizes_get", (uint32_t)sp[1], 4, &st);
    if (!b) return st;
    put_u32(a, 0);
    put_u32(b, 0);
    sp[0] = WASI_ESUCCESS;
    return CORRAL_OK;
}

static corral_status_t w_empty_get(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    sp[0] = WASI_ESUCCESS;
    return CORRAL_OK;
}

static void sleep_ns(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Clock subscriptions only: sleeps until the earliest one, bounded by the
 * call's deadline; other subscriptions get an ENOSYS event at once. */
static corral_status_t w_poll_oneoff(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    corral_status_t st = CORRAL_OK;
    int unstable = user == FLAVOUR_UNSTABLE;
    uint32_t in = (uint32_t)sp[0], out = (uint32_t)sp[1], n = (uint32_t)sp[2];
    uint32_t nevents_ptr = (uint32_t)sp[3];
    uint32_t sub_size = unstable ? 56 : 48;
    if (n == 0) {
        sp[0] = WASI_EINVAL;
        return CORRAL_OK;
    }
    const uint8_t *subs = slice(caller, "poll_oneoff", in, (uint64_t)n * sub_size, &st);
    if (!subs) return st;
    if (!slice(caller, "poll_oneoff", out, (uint64_t)n * 32, &st)) return st;
    if (!slice(caller, "poll_oneoff", nevents_ptr, 4, &st)) return st;

    /* Earliest wake-up, in relative nanoseconds; UINT64_MAX = none. */
    uint64_t wait = UINT64_MAX;
    int any_other = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = subs + (size_t)i * sub_size;
        if (s[8] != 0) {
            any_other = 1;
            continue;
        }
        uint32_t id = get_u32(s + (unstable ? 24 : 16));
        uint64_t timeout = get_u64(s + (unstable ? 32 : 24));
        uint16_t flags = (uint16_t)(s[unstable ? 48 : 40] | s[unstable ? 49 : 41] << 8);
        uint64_t rel = timeout, now;
        if (flags & 1) {
            if (!clock_read(id, &now)) now = 0;
            rel = timeout > now ? timeout - now : 0;
        }
        if (rel < wait) wait = rel;
    }
    if (any_other) wait = 0;
    if (wait == UINT64_MAX) wait = 0;

    corral_wapc_instance_t *inst = inst_of(caller);
    uint64_t dl = inst->cfg.limits.deadline_ns;
    if (dl) {
        uint64_t elapsed = corral_now_ns() - inst->call_start_ns;
        uint64_t left = elapsed >= dl ? 0 : dl - elapsed;
        if (wait > left) {
            sleep_ns(left);
            return corral_vm_trap(caller, CORRAL_ERR_TRAP_DEADLINE,
                                  "deadline exceeded after %" PRIu64 " ms", dl / 1000000u);
        }
    }
    if (wait) sleep_ns(wait);

    /* Memory cannot have moved: no guest code ran since the checks. */
    uint8_t *ev = corral_vm_memory_slice(caller, out, n * 32);
    uint32_t nev = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = subs + (size_t)i * sub_size;
        int clock = s[8] == 0;
        if (clock && any_other) continue; /* non-clock events first and alone */
        if (clock) {
            uint64_t timeout = get_u64(s + (unstable ? 32 : 24));
            uint16_t flags = (uint16_t)(s[unstable ? 48 : 40] | s[unstable ? 49 : 41] << 8);
            uint32_t id = get_u32(s + (unstable ? 24 : 16));
            uint64_t now = 0;
            int due = (flags & 1) ? (clock_read(id, &now) && now >= timeout) : timeout <= wait;
            if (!due) continue;
        }
        uint8_t *e = ev + (size_t)nev * 32;
        memset(e, 0, 32);
        memmove(e, s, 8); /* userdata (the guest may overlap in and out) */
        put_u16(e + 8, clock ? WASI_ESUCCESS : WASI_ENOSYS);
        e[10] = s[8];
        nev++;
    }
    if (nev == 0) { /* the earliest clock fired by construction: report the first */
        memset(ev, 0, 32);
        memmove(ev, subs, 8);
        nev = 1;
    }
    put_u32(corral_vm_memory_slice(caller, nevents_ptr, 4), nev);
    sp[0] = WASI_ESUCCESS;
    return CORRAL_OK;
}

static corral_status_t w_enosys(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    /* user: number of results; the first (an errno by WASI's convention) gets ENOSYS. */
    if ((uintptr_t)user) sp[0] = WASI_ENOSYS;
    return CORRAL_OK;
}

typedef struct {
    const char *name;
    const char *sig;
    corral_vm_host_fn_t fn;
} wasi_fn_t;

static const wasi_fn_t wasi_fns[] = {
    {"fd_write", "iiii:i", w_fd_write},
    {"fd_close", "i:i", w_fd_close},
    {"fd_seek", "iIii:i", w_fd_seek},
    {"fd_fdstat_get", "ii:i", w_fd_fdstat_get},
    {"proc_exit", "i:", w_proc_exit},
    {"random_get", "ii:i", w_random_get},
    {"clock_time_get", "iIi:i", w_clock_time_get},
    {"args_get", "ii:i", w_empty_get},
    {"args_sizes_get", "ii:i", w_sizes_get},
    {"environ_get", "ii:i", w_empty_get},
    {"environ_sizes_get", "ii:i", w_sizes_get},
    {"poll_oneoff", "iiii:i", w_poll_oneoff},
};

#define NWASI_FNS (sizeof wasi_fns / sizeof wasi_fns[0])

static const char *const wasi_modules[2] = {"wasi_snapshot_preview1", "wasi_unstable"};

int wapc_is_wasi_module(const char *module, size_t len) {
    for (int i = 0; i < 2; i++)
        if (strlen(wasi_modules[i]) == len && memcmp(module, wasi_modules[i], len) == 0) return 1;
    return 0;
}

corral_status_t wapc_wasi_register(corral_vm_imports_t *imp, const corral_vm_module_t *m,
                                   corral_err_t *err) {
    corral_status_t st;
    for (int mi = 0; mi < 2; mi++) {
        for (size_t k = 0; k < NWASI_FNS; k++) {
            st = corral_vm_imports_add_func(imp, wasi_modules[mi], wasi_fns[k].name, wasi_fns[k].sig,
                                            wasi_fns[k].fn, mi ? FLAVOUR_UNSTABLE : NULL, err);
            if (st != CORRAL_OK) return st;
        }
    }
    uint32_t n = corral_vm_module_import_count(m);
    for (uint32_t i = 0; i < n; i++) {
        corral_vm_import_desc_t d;
        if (corral_vm_module_import(m, i, &d) != CORRAL_OK)
            return corral_err_set(err, CORRAL_ERR_INTERNAL, "cannot read import %" PRIu32, i);
        if (!wapc_is_wasi_module(d.module, d.module_len) || d.kind != CORRAL_VM_EXTERN_FUNC)
            continue;
        int nl = d.name_len > 200 ? 200 : (int)d.name_len;
        char sig[160];
        if (!wapc_sig_of(&d.type, sig, sizeof sig))
            return corral_err_set(err, CORRAL_ERR_UNLINKABLE,
                                  "%.*s.%.*s has a type the host cannot provide",
                                  (int)d.module_len, d.module, nl, d.name);
        size_t k;
        for (k = 0; k < NWASI_FNS; k++)
            if (strlen(wasi_fns[k].name) == d.name_len &&
                memcmp(wasi_fns[k].name, d.name, d.name_len) == 0)
                break;
        if (k < NWASI_FNS) {
            if (strcmp(sig, wasi_fns[k].sig) != 0)
                return corral_err_set(err, CORRAL_ERR_UNLINKABLE,
                                      "incompatible import type for %.*s.%s (expected %s, module "
                                      "wants %s)",
                                      (int)d.module_len, d.module, wasi_fns[k].name,
                                      wasi_fns[k].sig, sig);
            continue;
        }
        if (memchr(d.name, 0, d.name_len))
            return corral_err_set(err, CORRAL_ERR_UNLINKABLE,
                                  "WASI import name contains a NUL byte");
        char *mod = corral_strndup(d.module, d.module_len);
        char *name = corral_strndup(d.name, d.name_len);
        if (!mod || !name) {
            corral_free(mod);
            corral_free(name);
            return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
        }
        st = corral_vm_imports_add_func(imp, mod, name, sig, w_enosys,
                                        (void *)(uintptr_t)d.type.nresults, err);
        corral_free(mod);
        corral_free(name);
        if (st != CORRAL_OK) return st;
    }
    return CORRAL_OK;
}
