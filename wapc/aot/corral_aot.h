/*
 * corral_aot.h - the ahead-of-time tier beside the interpreter (wapc/vm).
 *
 * A module is compiled for this machine: wabt's wasm2c translates it to C,
 * Corral adds its runtime (aot_rt.c: traps, memory with the page cap, call
 * depth and fuel counting) and glue (one trampoline per export, one thunk
 * per import), and the system C compiler builds a shared object. The
 * artifact is that shared object behind a small text header:
 *
 *   CORRAL-AOT 1\n
 *   module-sha256 <uppercase hex, corral_claims_module_hash>\n
 *   abi <CORRAL_AOT_ABI>\n
 *   compiler <cc --version first line>\n
 *   target <cc -dumpmachine> -march=<flag>\n
 *   elf-bytes <n>\n
 *   [signer <operator or account public key, 56 characters>\n
 *    signature <128 lowercase hex: ed25519 over the file without this line>\n]
 *   \n
 *   <n bytes of ELF>
 *
 * A signed artifact (corral_aot_sign) ends its header with the signer and
 * signature lines, in that order; the signature covers every other byte of
 * the file (all header lines including `signer`, the blank line and the
 * ELF), so changing any byte breaks it.
 *
 * Loading reads and checks the header first (signature and signer when the
 * caller's trust rules ask for one, ABI, hash) and only then maps the ELF
 * (through a memfd, never a temporary path) with dlopen: a file that fails
 * a check is never executed. Every check runs on the one copy of the bytes
 * that is then mapped, so the file cannot change in between.
 *
 * Errors: every function returns a corral_status_t and fills err.
 * CORRAL_ERR_NOT_FOUND: no wasm2c / C compiler; CORRAL_ERR_UNSUPPORTED
 * (via CORRAL_ERR_VM_UNSUPPORTED): a module feature this tier does not
 * handle (imported memories, tables or globals; multi-value or reference
 * types at the export/import boundary); CORRAL_ERR_IO / CORRAL_ERR_INVALID
 * for unreadable or mismatched artifacts.
 */
#ifndef CORRAL_AOT_H
#define CORRAL_AOT_H

#include <stddef.h>
#include <stdint.h>

#include "corral_base.h"
#include "corral_vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an artifact says about itself (its header). */
typedef struct corral_aot_info {
    char module_hash[65]; /* uppercase hex SHA-256 of the module (claims hash) */
    uint32_t abi;         /* CORRAL_AOT_ABI it was built against */
    char compiler[128];   /* first line of `cc --version` */
    char target[128];     /* `cc -dumpmachine` and the -march used */
    uint64_t elf_bytes;
    char signer[57];      /* public key of the signer, "" when unsigned */
    uint32_t vector_loops; /* corral_aot_compile only (not recorded in the artifact): loops
                              the C compiler vectorised, whose fuel check comes when
                              each ends (docs/engine.md) */
} corral_aot_info_t;

/* Compile options; NULL or zeroed fields mean the defaults. */
typedef struct corral_aot_opts {
    const char *cc;       /* C compiler (default: $CC, else "cc") */
    const char *wasm2c;   /* default: $CORRAL_WASM2C, else "wasm2c" */
    const char *march;    /* default "native": the artifact is for this machine */
    int keep_temp;        /* keep the work directory (its path is logged) */
    int quiet;            /* no progress lines */
} corral_aot_opts_t;

/* The ABI version this Corral loads. */
uint32_t corral_aot_abi(void);

/* Compiles `len` bytes of a module into an artifact at out_path (written
 * to a temporary name beside it, mode 0600, then renamed). The module is
 * validated by the interpreter's loader first, so a module the engine
 * refuses is refused here with the same error. info (optional) receives the
 * header written. Blocking: runs wasm2c and the C compiler as child
 * processes (seconds for a large module). Thread-safe. */
corral_status_t corral_aot_compile(const uint8_t *wasm, size_t len, const char *out_path,
                                   const corral_aot_opts_t *opts, corral_aot_info_t *info,
                                   corral_err_t *err);

/* Reads an artifact's header only. */
corral_status_t corral_aot_info_read(const char *path, corral_aot_info_t *out, corral_err_t *err);

/* The host's artifact cache: $CORRAL_AOT_CACHE, else $XDG_CACHE_HOME/corral/aot,
 * else $HOME/.cache/corral/aot. Created owner-only (0700) if missing. A
 * directory not owned by this user or accessible to group/others is refused
 * (CORRAL_ERR_IO, "... not trusted"), so only this user can have put
 * artifacts there.
 * Writes the path into buf (size n). */
corral_status_t corral_aot_cache_dir(char *buf, size_t n, corral_err_t *err);

/* The cache path of a module's artifact: <cache>/<hash>-abi<N>.caot. */
corral_status_t corral_aot_cache_path(const char *module_hash, char *buf, size_t n,
                                      corral_err_t *err);

/* ---- signatures and trust ------------------------------------------------------------ */

/* Signs the artifact at path in place with an operator (SO...) or account
 * (SA...) seed, given as seed text or a seed file (corral_nkey_load): any
 * previous signer/signature lines are replaced, the file is rewritten
 * through a temporary name beside it (mode 0600) and renamed. The key is
 * wiped before return. info (optional) receives the header, signer set.
 * Errors: those of corral_nkey_load, CORRAL_ERR_KEY_TYPE for a seed of any
 * other type, CORRAL_ERR_INVALID for a file that is no artifact,
 * CORRAL_ERR_IO. Thread-safe (two signers of the same file race: last
 * rename wins, each file complete). */
corral_status_t corral_aot_sign(const char *path, const char *seed_or_path, corral_aot_info_t *info,
                                corral_err_t *err);

/* Who a host accepts artifacts from outside its own cache. */
typedef struct corral_aot_trust {
    int require_signed;            /* refuse an artifact that is not signed by one of signers */
    const char *const *signers;    /* allowed public keys (O... or A...), may be NULL */
    size_t nsigners;
    int from_cache; /* without require_signed: path is in the caller's own cache, a
                       directory only this user can write (corral_aot_cache_dir). Then
                       only the header is read, and the ELF is mapped from <path>.so,
                       which the first load writes beside the artifact (checked: private,
                       its size, newer than the artifact, and the module hash inside) */
} corral_aot_trust_t;

/* Checks an artifact's signature without loading it (for `corral compile
 * --info`). trust NULL: only that a signature is present and verifies by
 * the signer it names. info (optional) receives the header. Errors as for
 * corral_aot_module_load_trusted's signature checks, plus
 * CORRAL_ERR_NO_TOKEN for an unsigned artifact. */
corral_status_t corral_aot_verify(const char *path, const corral_aot_trust_t *trust, corral_aot_info_t *info,
                                  corral_err_t *err);

/* A loaded artifact: immutable, shareable between threads, instantiated any
 * number of times. */
typedef struct corral_aot_module corral_aot_module_t;
typedef struct corral_aot_instance corral_aot_instance_t;

/* Loads an artifact. expect_hash (optional): the module hash the caller has
 * verified; a different recorded hash is CORRAL_ERR_INVALID. The ABI must
 * equal corral_aot_abi(). Thread-safe. */
corral_status_t corral_aot_module_load(const char *path, const char *expect_hash,
                                       corral_aot_module_t **out, corral_err_t *err);

/* The same under trust rules (NULL = as corral_aot_module_load: no
 * signature needed). With trust->require_signed the checks run, in this
 * order, before any byte is mapped, each with its own error:
 *   not signed                  CORRAL_ERR_NO_TOKEN  "... is not signed ..."
 *   signer not in signers       CORRAL_ERR_ISSUER_NOT_ALLOWED
 *                               "... signed by O..., not an allowed artifact signer"
 *   signature does not verify   CORRAL_ERR_TOKEN_SIGNATURE
 *                               "... signature by O... does not verify ..."
 * then ABI and hash as corral_aot_module_load (CORRAL_ERR_INVALID). */
corral_status_t corral_aot_module_load_trusted(const char *path, const char *expect_hash,
                                               const corral_aot_trust_t *trust, corral_aot_module_t **out,
                                               corral_err_t *err);

/* Drops the caller's reference; the code stays mapped while instances live. */
void corral_aot_module_free(corral_aot_module_t *m);

/* Import and export descriptions (as corral_vm's, without types). */
uint32_t corral_aot_module_import_count(const corral_aot_module_t *m);
uint32_t corral_aot_module_export_count(const corral_aot_module_t *m);
/* Looks up a function export; returns its index or -1. *sig receives its
 * "PARAMS:RESULTS" signature. */
int32_t corral_aot_module_func(const corral_aot_module_t *m, const char *name, size_t name_len,
                               const char **sig);

/* One resolved import: a host function in corral_vm's convention. `caller`
 * is what host functions receive as their instance (the corral_vm instance
 * wrapping this one when run behind corral_vm.h). */
typedef struct corral_aot_hostfn {
    corral_vm_host_fn_t fn;
    void *user;
} corral_aot_hostfn_t;

/* Instantiates: `imports` has one entry per import, in import order (the
 * array is copied); runs the start function under limits (NULL: defaults
 * as corral_vm). Errors as corral_vm_instance_new. */
corral_status_t corral_aot_instance_new(corral_aot_module_t *m, const corral_aot_hostfn_t *imports,
                                        uint32_t nimports, const corral_vm_limits_t *limits,
                                        corral_vm_instance_t *caller, corral_aot_instance_t **out,
                                        corral_err_t *err);
void corral_aot_instance_free(corral_aot_instance_t *inst);
void corral_aot_instance_set_limits(corral_aot_instance_t *inst, const corral_vm_limits_t *limits);
void corral_aot_instance_set_caller(corral_aot_instance_t *inst, corral_vm_instance_t *caller);

/* Calls function export idx with args/results as corral_vm_call (slot
 * convention, counts must match the signature). A trap returns its
 * CORRAL_ERR_TRAP_* code with the interpreter's text in err. One call at a
 * time per instance. */
corral_status_t corral_aot_call(corral_aot_instance_t *inst, int32_t idx, const uint64_t *args,
                                uint32_t nargs, uint64_t *results, uint32_t nresults,
                                corral_err_t *err);

/* Safe from any thread: the running call traps "interrupted" at its next
 * function entry or jump back to a loop start (within a few thousand; a
 * loop the compiler vectorised, at most 2^20 iterations, first runs to its
 * end). */
void corral_aot_instance_interrupt(corral_aot_instance_t *inst);

/* Memory 0: as corral_vm_memory_slice / corral_vm_memory_size. */
uint8_t *corral_aot_memory_slice(corral_aot_instance_t *inst, uint32_t offset, uint32_t len);
uint64_t corral_aot_memory_size(const corral_aot_instance_t *inst);

/* ---- behind corral_vm.h ------------------------------------------------------------ */

/* Makes a corral_vm module whose instances run the artifact's native code:
 * every corral_vm_* call (instance_new, instance_export, call, memory_slice,
 * trap, interrupt, set_limits, instance_free) works on it as on an
 * interpreter module, with the same errors and trap codes. `bytes` is the
 * module (decoded by the interpreter's loader for its descriptions); the
 * artifact must record its hash (corral_claims_module_hash) and this ABI,
 * else CORRAL_ERR_INVALID. Limits: only function imports, and they must be
 * host functions (corral_vm_imports_add_func), else CORRAL_ERR_UNLINKABLE at
 * instantiation; exports other than functions are not reachable through
 * corral_vm_instance_export (NOT_FOUND), memory 0 is through
 * corral_vm_memory_slice. Thread-safe. */
corral_status_t corral_aot_vm_module_new(const uint8_t *bytes, size_t len, const char *artifact,
                                         corral_vm_module_t **out, corral_err_t *err);

/* The same with the artifact loaded under trust rules
 * (corral_aot_module_load_trusted; NULL = none), and the module's hash when
 * the caller has it already (corral_claims_module_hash of bytes, 64
 * uppercase hex digits; NULL: computed here). The artifact is checked
 * before the module is decoded, and then only decoded: its function bodies
 * are not validated again (the artifact's compile did, on these bytes), so
 * a hash that is not these bytes' own lets through a module nobody
 * validated. */
corral_status_t corral_aot_vm_module_new_trusted(const uint8_t *bytes, size_t len, const char *hash,
                                                 const char *artifact, const corral_aot_trust_t *trust,
                                                 corral_vm_module_t **out, corral_err_t *err);

#ifdef __cplusplus
}
#endif

#endif
