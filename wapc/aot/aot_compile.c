/*
 * aot_compile.c - the compile pipeline of the AOT tier (corral_aot.h):
 * validate with the interpreter's loader, wasm2c the module, patch the
 * generated C (Corral's prologue, loop back-edges, memory accesses and
 * call_indirect), write the glue (export trampolines, import thunks, the
 * corral_aot_desc symbol) and the runtime (aot_rt.c, embedded), build one
 * translation unit with the system C compiler into a shared object (after
 * a first compile that asks gcc's vectoriser which loops may go without a
 * fuel check, aot_loops.c), and wrap it in the artifact header. Also the
 * cache directory rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aot_abi.h"
#include "aot_int.h"
#include "corral_aot.h"
#include "corral_claims.h"

extern char **environ;

uint32_t corral_aot_abi(void) { return CORRAL_AOT_ABI; }

/* ---- child processes -------------------------------------------------------------------- */

/* Runs argv with stdout+stderr to logpath; returns the exit status, or -1
 * with errno when it cannot start (ENOENT: no such program). */
static int run(char *const argv[], const char *logpath)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        /* the exec failed in the child (posix_spawn does this under
         * valgrind, which cannot report it to the parent) */
        errno = ENOENT;
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* First line of a program's output (e.g. `cc --version`), "" on failure. */
static void first_line(char *const argv[], const char *dir, char *out, size_t n)
{
    char log[4096];
    snprintf(log, sizeof log, "%s/probe.txt", dir);
    unlink(log);
    out[0] = 0;
    if (run(argv, log) != 0) return;
    FILE *f = fopen(log, "r");
    if (!f) return;
    if (fgets(out, (int)n, f)) out[strcspn(out, "\r\n")] = 0;
    fclose(f);
    unlink(log);
}

/* The tail of a tool's log for an error message (last ~600 bytes). */
static void log_tail(const char *path, char *out, size_t n)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    long from = sz > 600 ? sz - 600 : 0;
    fseek(f, from, SEEK_SET);
    size_t r = fread(out, 1, n - 1, f);
    out[r] = 0;
    fclose(f);
    for (size_t i = 0; i < r; i++)
        if (out[i] == '\n' && i + 1 < r) out[i] = ' ';
    out[strcspn(out, "\n")] = 0;
}

/* ---- glue generation --------------------------------------------------------------------- */

/* wasm2c 1.0.32's name mangling: [A-Za-z0-9_] stays except 'Z'; every other
 * byte (and 'Z') becomes Z plus two uppercase hex digits. */
static corral_status_t mangle(corral_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Y') || (c >= '0' && c <= '9') || c == '_';
        corral_status_t st = keep ? corral_buf_append(b, &c, 1) : corral_buf_printf(b, "Z%02X", c);
        if (st != CORRAL_OK) return st;
    }
    return CORRAL_OK;
}

/* A C string literal of arbitrary bytes. */
static corral_status_t c_literal(corral_buf_t *b, const char *s, size_t n)
{
    corral_status_t st = corral_buf_append_str(b, "\"");
    for (size_t i = 0; i < n && st == CORRAL_OK; i++) st = corral_buf_printf(b, "\\%03o", (unsigned char)s[i]);
    if (st == CORRAL_OK) st = corral_buf_append_str(b, "\"");
    return st;
}

static const char *ctype(uint8_t t)
{
    switch (t) {
    case CORRAL_VM_I32: return "u32";
    case CORRAL_VM_I64: return "u64";
    case CORRAL_VM_F32: return "f32";
    case CORRAL_VM_F64: return "f64";
    default: return NULL;
    }
}

static char sigletter(uint8_t t)
{
    switch (t) {
    case CORRAL_VM_I32: return 'i';
    case CORRAL_VM_I64: return 'I';
    case CORRAL_VM_F32: return 'f';
    default: return 'F';
    }
}

static corral_status_t check_type(const corral_vm_functype_t *ft, const char *what, const char *name,
                                  size_t name_len, corral_err_t *err)
{
    if (ft->nresults > 1)
        return corral_err_set(err, CORRAL_ERR_VM_UNSUPPORTED, "AOT tier: %s %.*s returns %u values (multi-value)", what,
                              (int)name_len, name, ft->nresults);
    for (uint32_t i = 0; i < ft->nparams + ft->nresults; i++) {
        uint8_t t = i < ft->nparams ? ft->params[i] : ft->results[i - ft->nparams];
        if (!ctype(t))
            return corral_err_set(err, CORRAL_ERR_VM_UNSUPPORTED, "AOT tier: %s %.*s has a reference or vector type", what,
                                  (int)name_len, name);
    }
    return CORRAL_OK;
}

static corral_status_t sig_string(corral_buf_t *b, const corral_vm_functype_t *ft)
{
    corral_status_t st = corral_buf_append_str(b, "\"");
    for (uint32_t i = 0; i < ft->nparams && st == CORRAL_OK; i++) st = corral_buf_printf(b, "%c", sigletter(ft->params[i]));
    if (st == CORRAL_OK) st = corral_buf_append_str(b, ":");
    for (uint32_t i = 0; i < ft->nresults && st == CORRAL_OK; i++) st = corral_buf_printf(b, "%c", sigletter(ft->results[i]));
    if (st == CORRAL_OK) st = corral_buf_append_str(b, "\"");
    return st;
}

static const char *slot_in(uint8_t t)
{
    switch (t) {
    case CORRAL_VM_I32: return "(u32)sp[%u]";
    case CORRAL_VM_I64: return "(u64)sp[%u]";
    case CORRAL_VM_F32: return "corral_g_f32(sp[%u])";
    default: return "corral_g_f64(sp[%u])";
    }
}

static const char *slot_out(uint8_t t)
{
    switch (t) {
    case CORRAL_VM_I32: return "sp[%u] = (u32)%s;\n";
    case CORRAL_VM_I64: return "sp[%u] = (u64)%s;\n";
    case CORRAL_VM_F32: return "sp[%u] = corral_g_bits32(%s);\n";
    default: return "sp[%u] = corral_g_bits64(%s);\n";
    }
}

#define TRY(x)                                                                                 \
    do {                                                                                       \
        st = (x);                                                                              \
        if (st != CORRAL_OK) goto fail;                                                        \
    } while (0)

/* Writes the glue for module m (wasm2c name "m") after the generated code;
 * hdr is the generated header, used to check every name we expect exists. */
static corral_status_t gen_glue(const corral_vm_module_t *m, const char *hdr, const char *module_hash,
                                corral_buf_t *b, corral_err_t *err)
{
    corral_status_t st = CORRAL_OK;
    corral_buf_t name = {0};
    uint32_t ni = corral_vm_module_import_count(m), ne = corral_vm_module_export_count(m);
    TRY(corral_buf_append_str(b,
        "\n/* ---- glue written by corral_aot_compile ---- */\n"
        "static inline f32 corral_g_f32(uint64_t v) { uint32_t b = (uint32_t)v; f32 f; memcpy(&f, &b, 4); return f; }\n"
        "static inline f64 corral_g_f64(uint64_t v) { f64 f; memcpy(&f, &v, 8); return f; }\n"
        "static inline uint64_t corral_g_bits32(f32 f) { uint32_t b; memcpy(&b, &f, 4); return b; }\n"
        "static inline uint64_t corral_g_bits64(f64 f) { uint64_t b; memcpy(&b, &f, 8); return b; }\n"
        "#define CORRAL_G_W(rt) ((Z_m_instance_t *)((char *)(rt) + CORRAL_AOT_RT_SIZE))\n"));
    /* import thunks */
    int nmods = 0;
    const char *mods[256];
    size_t modlen[256];
    TRY(corral_buf_append_str(b, "static const corral_aot_import_t corral_g_imports[] = {\n"));
    for (uint32_t i = 0; i < ni; i++) {
        corral_vm_import_desc_t d;
        TRY(corral_vm_module_import(m, i, &d));
        if (d.kind != CORRAL_VM_EXTERN_FUNC) {
            st = corral_err_set(err, CORRAL_ERR_VM_UNSUPPORTED,
                                "AOT tier: import %.*s.%.*s is not a function (imported memories, tables and "
                                "globals run on the interpreter)",
                                (int)d.module_len, d.module, (int)d.name_len, d.name);
            goto fail;
        }
        TRY(check_type(&d.type, "import", d.name, d.name_len, err));
        int seen = 0;
        for (int k = 0; k < nmods; k++) seen |= modlen[k] == d.module_len && memcmp(mods[k], d.module, d.module_len) == 0;
        if (!seen) {
            if (nmods == 256) {
                st = corral_err_set(err, CORRAL_ERR_VM_UNSUPPORTED, "AOT tier: more than 256 import modules");
                goto fail;
            }
            mods[nmods] = d.module;
            modlen[nmods++] = d.module_len;
        }
        TRY(corral_buf_append_str(b, "  {"));
        TRY(c_literal(b, d.module, d.module_len));
        TRY(corral_buf_printf(b, ", %zu, ", d.module_len));
        TRY(c_literal(b, d.name, d.name_len));
        TRY(corral_buf_printf(b, ", %zu, ", d.name_len));
        TRY(sig_string(b, &d.type));
        TRY(corral_buf_append_str(b, "},\n"));
    }
    TRY(corral_buf_append_str(b, "  {0, 0, 0, 0, 0}};\n"));
    for (uint32_t i = 0; i < ni; i++) {
        corral_vm_import_desc_t d;
        TRY(corral_vm_module_import(m, i, &d));
        corral_buf_free(&name);
        TRY(corral_buf_append_str(&name, "Z_"));
        TRY(mangle(&name, d.module, d.module_len));
        TRY(corral_buf_append_str(&name, "Z_"));
        TRY(mangle(&name, d.name, d.name_len));
        TRY(corral_buf_append_str(&name, "("));
        if (!strstr(hdr, (const char *)name.data)) {
            st = corral_err_set(err, CORRAL_ERR_INTERNAL, "AOT tier: wasm2c did not declare import %.*s.%.*s as expected",
                                (int)d.module_len, d.module, (int)d.name_len, d.name);
            goto fail;
        }
        name.len--; /* drop "(" */
        const corral_vm_functype_t *ft = &d.type;
        uint32_t slots = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
        TRY(corral_buf_printf(b, "%s %.*s(struct Z_", ft->nresults ? ctype(ft->results[0]) : "void", (int)name.len,
                              (const char *)name.data));
        TRY(mangle(b, d.module, d.module_len));
        TRY(corral_buf_append_str(b, "_instance_t *c_"));
        for (uint32_t k = 0; k < ft->nparams; k++) TRY(corral_buf_printf(b, ", %s a%u", ctype(ft->params[k]), k));
        TRY(corral_buf_printf(b, ") {\n  uint64_t sp[%u];\n", slots ? slots : 1));
        for (uint32_t k = 0; k < ft->nparams; k++) {
            char v[16];
            snprintf(v, sizeof v, "a%u", k);
            TRY(corral_buf_printf(b, "  "));
            TRY(corral_buf_printf(b, slot_out(ft->params[k]), k, v));
        }
        TRY(corral_buf_printf(b, "  corral_rt_import((corral_aot_rt_t *)c_, %u, sp);\n", i));
        if (ft->nresults) {
            char in[32];
            snprintf(in, sizeof in, slot_in(ft->results[0]), 0u);
            TRY(corral_buf_printf(b, "  return %s;\n", in));
        }
        TRY(corral_buf_append_str(b, "}\n"));
    }
    /* export trampolines */
    for (uint32_t i = 0; i < ne; i++) {
        corral_vm_export_desc_t d;
        TRY(corral_vm_module_export(m, i, &d));
        if (d.kind != CORRAL_VM_EXTERN_FUNC) continue;
        TRY(check_type(&d.type, "export", d.name, d.name_len, err));
        corral_buf_free(&name);
        TRY(corral_buf_append_str(&name, "Z_mZ_"));
        TRY(mangle(&name, d.name, d.name_len));
        TRY(corral_buf_append_str(&name, "("));
        if (!strstr(hdr, (const char *)name.data)) {
            st = corral_err_set(err, CORRAL_ERR_INTERNAL, "AOT tier: wasm2c did not declare export %.*s as expected",
                                (int)d.name_len, d.name);
            goto fail;
        }
        name.len--;
        const corral_vm_functype_t *ft = &d.type;
        TRY(corral_buf_printf(b, "static void corral_x%u(void *w, uint64_t *sp) {\n  ", i));
        if (ft->nresults) TRY(corral_buf_printf(b, "%s r = ", ctype(ft->results[0])));
        TRY(corral_buf_printf(b, "%.*s((Z_m_instance_t *)w", (int)name.len, (const char *)name.data));
        for (uint32_t k = 0; k < ft->nparams; k++) {
            TRY(corral_buf_append_str(b, ", "));
            TRY(corral_buf_printf(b, slot_in(ft->params[k]), k));
        }
        TRY(corral_buf_append_str(b, ");\n"));
        if (ft->nresults) {
            TRY(corral_buf_append_str(b, "  "));
            TRY(corral_buf_printf(b, slot_out(ft->results[0]), 0u, "r"));
        } else {
            TRY(corral_buf_append_str(b, "  (void)sp;\n"));
        }
        TRY(corral_buf_append_str(b, "}\n"));
    }
    TRY(corral_buf_append_str(b, "static const corral_aot_export_t corral_g_exports[] = {\n"));
    for (uint32_t i = 0; i < ne; i++) {
        corral_vm_export_desc_t d;
        TRY(corral_vm_module_export(m, i, &d));
        TRY(corral_buf_append_str(b, "  {"));
        TRY(c_literal(b, d.name, d.name_len));
        TRY(corral_buf_printf(b, ", %zu, %d, ", d.name_len, (int)d.kind));
        if (d.kind == CORRAL_VM_EXTERN_FUNC) {
            TRY(sig_string(b, &d.type));
            TRY(corral_buf_printf(b, ", corral_x%u},\n", i));
        } else {
            TRY(corral_buf_append_str(b, "\"\", 0},\n"));
        }
    }
    TRY(corral_buf_append_str(b, "  {0, 0, 0, 0, 0}};\n"));
    TRY(corral_buf_append_str(b, "static void corral_g_init(void) { Z_m_init_module(); }\n"
                                 "static void corral_g_inst_body(corral_aot_rt_t *rt, uint32_t a, uint64_t *sp) {\n"
                                 "  (void)a; (void)sp;\n  Z_m_instantiate(CORRAL_G_W(rt)"));
    for (int k = 0; k < nmods; k++) TRY(corral_buf_append_str(b, ", (void *)rt"));
    TRY(corral_buf_printf(
        b,
        ");\n}\n"
        "static int corral_g_instantiate(corral_aot_rt_t *rt) { return corral_rt_enter(rt, corral_g_inst_body, 0, 0); }\n"
        "static void corral_g_call_body(corral_aot_rt_t *rt, uint32_t idx, uint64_t *sp) {\n"
        "  corral_g_exports[idx].fn(CORRAL_G_W(rt), sp);\n}\n"
        "static int corral_g_call(corral_aot_rt_t *rt, uint32_t idx, uint64_t *sp) {\n"
        "  return corral_rt_enter(rt, corral_g_call_body, idx, sp);\n}\n"
        "static void corral_g_free(corral_aot_rt_t *rt) { Z_m_free(CORRAL_G_W(rt)); }\n"
        "_Static_assert(sizeof(corral_aot_rt_t) <= CORRAL_AOT_RT_SIZE, \"rt size\");\n"
        "__attribute__((visibility(\"default\"))) const corral_aot_desc_t corral_aot_desc = {\n"
        "  CORRAL_AOT_ABI, CORRAL_AOT_RT_SIZE, CORRAL_AOT_RT_SIZE + sizeof(Z_m_instance_t), %u, %u,\n"
        "  corral_g_exports, corral_g_imports, corral_g_init, corral_g_instantiate, corral_g_call, corral_g_free,\n"
        "  \"%s\"};\n",
        ne, ni, module_hash));
fail:
    corral_buf_free(&name);
    return st;
}

/* Appends line with every "goto w2c_L<n>;" (a branch back to a loop start:
 * wasm2c names loop labels L, block labels B) turned into a braced fuel
 * check (or, unchecked, a count: aot_loops.c) plus the jump, valid wherever
 * the goto stood. */
static corral_status_t patch_back_edges(const char *line, size_t ll, int unchecked, corral_buf_t *out)
{
    corral_status_t st = CORRAL_OK;
    const char *end = line + ll, *p = line;
    while (st == CORRAL_OK) {
        const char *g = memmem(p, (size_t)(end - p), "goto w2c_L", 10);
        const char *q = g ? g + 10 : NULL;
        while (q && q < end && *q >= '0' && *q <= '9') q++;
        if (!g || q == g + 10 || q >= end || *q != ';') {
            if (g) { /* not a loop goto: copy through it and go on */
                st = corral_buf_append(out, p, (size_t)(g + 10 - p));
                p = g + 10;
                continue;
            }
            return corral_buf_append(out, p, (size_t)(end - p));
        }
        st = corral_buf_append(out, p, (size_t)(g - p));
        if (st == CORRAL_OK) st = corral_buf_append_str(out, unchecked ? "{CORRAL_LOOP_COUNT(); " : "{CORRAL_LOOP_BACK(); ");
        if (st == CORRAL_OK) st = corral_buf_append(out, g, (size_t)(q + 1 - g));
        if (st == CORRAL_OK) st = corral_buf_append_str(out, "}");
        p = q + 1;
    }
    return st;
}

/* How wasm2c's loads and stores name memory 0, "(&instance->w2c_x, (u64)",
 * or "" without a memory. */
static void memref_of(const char *src, size_t len, char memref[160])
{
    memref[0] = 0;
    const char *am = memmem(src, len, "wasm_rt_allocate_memory(&instance->", 35);
    if (am) {
        const char *e = am + 35;
        while (e < src + len && e - am < 120 && *e != ',') e++;
        snprintf(memref, 160, "(&instance->%.*s, (u64)", (int)(e - am - 35), am + 35);
    }
}

/* The identifier that ends at p (after line's start) contains "_load". */
static int after_load(const char *line, const char *p)
{
    const char *s = p;
    while (s > line && (s[-1] == '_' || (s[-1] >= 'a' && s[-1] <= 'z') || (s[-1] >= '0' && s[-1] <= '9'))) s--;
    return memmem(s, (size_t)(p - s), "_load", 5) != NULL;
}

/* Replaces wasm2c's own FUNC_PROLOGUE / FUNC_EPILOGUE / CALL_INDIRECT
 * definitions (ours in aot_rt.h take their place), puts a fuel check on
 * every jump back to a loop start, makes loads and stores go through the
 * function's local copy of memory 0 (corral_m_, declared by FUNC_PROLOGUE:
 * guest stores cannot alias a local, so its base stays in a register; the
 * memory never moves) and makes the table helpers' bounds traps table
 * traps (wasm2c raises the same OOB for tables and memories). With loops
 * (aot_loops.c), the back-edges it marks get CORRAL_LOOP_COUNT and loads on
 * its marked lines the barrier-free helpers; pass1 also blanks the lines
 * of functions without a candidate (line numbers stay, for the report). */
static corral_status_t patch_c(const char *src, size_t len, const aot_loops_t *loops, int pass1, corral_buf_t *out)
{
    corral_status_t st = CORRAL_OK;
    size_t i = 0, li = 0;
    int in_tables = 0; /* inside wasm2c's table helpers: their OOB is a table's */
    int nmem = 0;      /* load/store helper lines rewritten: must be 2 */
    int nb_defs = 0;   /* barrier-free twins of wasm2c's load helpers (CORRAL_NB_LOAD) */
    /* memory 0's field: loads and stores get the function's copy instead */
    char memref[160];
    memref_of(src, len, memref);
    size_t memref_len = strlen(memref);
    char memrepl[200] = "";
    if (memref_len) /* "(&instance->w2c_x, (u64)" -> "(CORRAL_MEMREF(&instance->w2c_x), (u64)" */
        snprintf(memrepl, sizeof memrepl, "(CORRAL_MEMREF(%.*s), (u64)", (int)(memref_len - 8), memref + 1);
    while (i < len && st == CORRAL_OK) {
        const char *line = src + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t ll = nl ? (size_t)(nl - line) + 1 : len - i;
        uint8_t lf = loops && li < loops->nlines ? loops->flags[li] : 0;
        li++;
        if (pass1 && loops && !(lf & AOT_LINE_KEEP)) {
            /* pass 1 compiles only the functions with a candidate loop;
             * the others become empty lines (line numbers stay) */
            if (nl) st = corral_buf_append_str(out, "\n");
            i += ll;
            continue;
        }
        const char *p = line;
        while (p < line + ll && (*p == ' ')) p++;
        size_t rest = (size_t)(line + ll - p);
        if (rest > 38 && memcmp(p, "static inline void funcref_table_init(", 38) == 0) in_tables = 1;
        if (rest >= 28 && memcmp(p, "DEFINE_TABLE_FILL(externref)", 28) == 0) in_tables = 0;
        const char *oob = in_tables ? memmem(line, ll, "TRAP(OOB)", 9) : NULL;
        const char *md = memmem(line, ll, "wasm_rt_memcpy(", 15) ? memmem(line, ll, "&mem->data[addr]", 16) : NULL;
        if (oob) {
            st = corral_buf_append(out, line, (size_t)(oob - line));
            if (st == CORRAL_OK) st = corral_buf_append_str(out, "corral_rt_trap(CORRAL_AOT_TRAP_TABLE_OOB)");
            if (st == CORRAL_OK) st = corral_buf_append(out, oob + 9, (size_t)(line + ll - oob - 9));
        } else if (md) {
            nmem++;
            st = corral_buf_append(out, line, (size_t)(md - line));
            if (st == CORRAL_OK) st = corral_buf_append_str(out, "&CORRAL_MEM_DATA(mem)[addr]");
            if (st == CORRAL_OK) st = corral_buf_append(out, md + 16, (size_t)(line + ll - md - 16));
        } else if (rest > 12 && memcmp(p, "DEFINE_LOAD(", 12) == 0 && memchr(p, ')', rest)) {
            /* each load helper wasm2c defines gets its barrier-free twin
             * (aot_rt.h), with the same arguments, on the same line so
             * that line numbers stay */
            const char *close = memchr(p, ')', rest);
            nb_defs++;
            st = corral_buf_append(out, p, (size_t)(close + 1 - p));
            if (st == CORRAL_OK) st = corral_buf_append_str(out, " CORRAL_NB_LOAD");
            if (st == CORRAL_OK) st = corral_buf_append(out, p + 11, (size_t)(close + 1 - (p + 11)));
            if (st == CORRAL_OK) st = corral_buf_append(out, close + 1, (size_t)(p + rest - close - 1));
        } else if (memmem(line, ll, "wasm_asm(\"\" ::\"r\"(result));", 27)) {
            /* the empty asm keeps a load whose value is unused (it must
             * still fault when out of bounds); "r" alone made gcc load
             * every f32/f64 a second time into an integer register */
            const char *r = memmem(line, ll, "::\"r\"", 5);
            st = corral_buf_append(out, line, (size_t)(r - line));
            if (st == CORRAL_OK) st = corral_buf_append_str(out, "::\"rx\"");
            if (st == CORRAL_OK) st = corral_buf_append(out, r + 5, (size_t)(line + ll - r - 5));
        } else if (rest > 22 && memcmp(p, "#define FUNC_PROLOGUE", 21) == 0) {
            st = corral_buf_append_str(out, "#define W2C_UNUSED_PROLOGUE");
            if (st == CORRAL_OK) st = corral_buf_append(out, p + 21, rest - 21);
        } else if (rest > 22 && memcmp(p, "#define FUNC_EPILOGUE", 21) == 0) {
            st = corral_buf_append_str(out, "#define W2C_UNUSED_EPILOGUE");
            if (st == CORRAL_OK) st = corral_buf_append(out, p + 21, rest - 21);
        } else if (rest > 22 && memcmp(p, "#define CALL_INDIRECT(", 22) == 0) {
            st = corral_buf_append_str(out, "#define W2C_UNUSED_CALL_INDIRECT(");
            if (st == CORRAL_OK) st = corral_buf_append(out, p + 22, rest - 22);
        } else if ((memref_len && memmem(line, ll, memref, memref_len)) || memmem(line, ll, "goto w2c_L", 10)) {
            /* loads and stores through the function's copy of memory 0
             * (corral_m_, FUNC_PROLOGUE), then the loop back-edges */
            corral_buf_t tmp = {0};
            const char *q = line;
            while (st == CORRAL_OK && memref_len) {
                const char *m = memmem(q, (size_t)(line + ll - q), memref, memref_len);
                if (!m) break;
                st = corral_buf_append(&tmp, q, (size_t)(m - q));
                /* in an unchecked loop: the load without the barrier */
                if (st == CORRAL_OK && (lf & AOT_LINE_NB) && after_load(line, m))
                    st = corral_buf_append_str(&tmp, "_nb");
                if (st == CORRAL_OK) st = corral_buf_append_str(&tmp, memrepl);
                q = m + memref_len;
            }
            if (st == CORRAL_OK) st = corral_buf_append(&tmp, q, (size_t)(line + ll - q));
            if (st == CORRAL_OK) st = patch_back_edges((const char *)tmp.data, tmp.len, (lf & AOT_LINE_EDGE) != 0, out);
            corral_buf_free(&tmp);
        } else {
            st = corral_buf_append(out, line, ll);
        }
        i += ll;
    }
    if (st == CORRAL_OK && (nmem != 2 || nb_defs == 0)) st = CORRAL_ERR_INTERNAL; /* not the wasm2c 1.0.32 we know */
    return st;
}

/* ---- the pipeline --------------------------------------------------------------------------- */

static corral_status_t write_file(const char *dir, const char *name, const void *p, size_t n, corral_err_t *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return corral_file_write(path, p, n, 0600, err);
}

static void rm_tree(const char *dir)
{
    static const char *names[] = {"module.wasm", "m.c", "m.h", "patched.c", "artifact.c", "aot_abi.h", "aot_rt.h",
                                  "aot_rt.c", "m.so", "wasm2c.log", "cc.log", "probe.txt", "vec.txt", "pass1.c"};
    char path[4096];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* The compiler and the flags both passes use.
 * -ffp-contract=off, -fsignaling-nans: wasm float semantics (no fusing
 * a*b+c into one rounding; no folding x*1, x-0, x/1 to x, since a
 * signalling NaN must come out quiet).
 * -mtune=generic: with gcc 12's -march=native tuning on this build machine
 * (rocketlake) float_exprs.wast's f64.simple_x4_sum came out wrong; generic
 * tuning keeps the native instruction set and passes.
 * max-inline-insns-auto=40 (-O2: 15): the entry check (aot_rt.h) makes
 * every small function look too big to inline; fib-like recursion runs
 * 1.5x native with it, 2.3x without.
 * -fvect-cost-model=cheap (-O2: very-cheap): lets the vectoriser version a
 * loop on a run-time overlap test, which every wasm loop that reads one
 * part of memory and writes another needs (all of memory is one array). */
#define CC_ARGV(cc, marchflag, incl)                                                                              \
    (char *)(cc), "-O2", (marchflag), "-mtune=generic", "-ffp-contract=off", "-fsignaling-nans",                  \
        "--param=max-inline-insns-auto=40", "-fvect-cost-model=cheap", "-fno-strict-aliasing", "-w", (incl)

corral_status_t corral_aot_compile(const uint8_t *wasm, size_t len, const char *out_path, const corral_aot_opts_t *opts,
                                   corral_aot_info_t *info_out, corral_err_t *err)
{
    corral_status_t st;
    corral_aot_opts_t o = {0};
    if (opts) o = *opts;
    const char *cc = o.cc ? o.cc : getenv("CC") && getenv("CC")[0] ? getenv("CC") : "cc";
    const char *w2c = o.wasm2c ? o.wasm2c : getenv("CORRAL_WASM2C") && getenv("CORRAL_WASM2C")[0] ? getenv("CORRAL_WASM2C") : "wasm2c";
    const char *march = o.march ? o.march : "native";
    corral_vm_module_t *m = NULL;
    corral_buf_t src = {0}, patched = {0}, hdr = {0}, unit = {0}, so = {0}, art = {0};
    aot_loops_t loops = {0};
    char dir[4096] = "", path[4096], log[4096], tail[640];
    corral_aot_info_t info;
    memset(&info, 0, sizeof info);

    st = corral_vm_module_new(wasm, len, &m, err);
    if (st != CORRAL_OK) goto fail;
    TRY(corral_claims_module_hash(wasm, len, info.module_hash, err));

    const char *tmp = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/corral-aot-XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        st = corral_err_set(err, CORRAL_ERR_IO, "cannot make a work directory in %s: %s", tmp, strerror(errno));
        dir[0] = 0;
        goto fail;
    }
    TRY(write_file(dir, "module.wasm", wasm, len, err));

    /* wasm2c */
    snprintf(path, sizeof path, "%s/m.c", dir);
    snprintf(log, sizeof log, "%s/wasm2c.log", dir);
    char wasmpath[4096];
    snprintf(wasmpath, sizeof wasmpath, "%s/module.wasm", dir);
    char *wargv[] = {(char *)w2c, wasmpath, "-n", "m", "-o", path, NULL};
    int rc = run(wargv, log);
    if (rc < 0) {
        st = corral_err_set(err, CORRAL_ERR_NOT_FOUND, "cannot run %s: %s (install wabt 1.0.32, or set CORRAL_WASM2C)", w2c,
                            strerror(errno));
        goto fail;
    }
    if (rc != 0) {
        log_tail(log, tail, sizeof tail);
        st = corral_err_set(err, CORRAL_ERR_VM_UNSUPPORTED, "wasm2c failed (exit %d): %s", rc, tail);
        goto fail;
    }
    TRY(corral_file_read(path, (size_t)1 << 30, &src, err));
    snprintf(path, sizeof path, "%s/m.h", dir);
    TRY(corral_file_read(path, (size_t)1 << 28, &hdr, err));
    TRY(corral_buf_append(&hdr, "", 1));

    /* patched C + runtime + glue, one translation unit */
    char memref[160];
    memref_of((const char *)src.data, src.len, memref);
    st = aot_loops_scan((const char *)src.data, src.len, memref[0] ? memref : NULL, &loops);
    if (st != CORRAL_OK) {
        corral_err_set(err, st, "AOT tier: cannot scan the generated C (%zu bytes)", src.len);
        goto fail;
    }
    TRY(write_file(dir, "aot_abi.h", corral_aot_src_abi_h, strlen(corral_aot_src_abi_h), err));
    TRY(write_file(dir, "aot_rt.h", corral_aot_src_rt_h, strlen(corral_aot_src_rt_h), err));
    TRY(write_file(dir, "aot_rt.c", corral_aot_src_rt_c, strlen(corral_aot_src_rt_c), err));
    TRY(corral_buf_append_str(&unit, "/* artifact.c: written by corral_aot_compile */\n"
                                     "#include \"aot_rt.h\"\n#include \"patched.c\"\n#include \"aot_rt.c\"\n"));
    TRY(gen_glue(m, (const char *)hdr.data, info.module_hash, &unit, err));
    TRY(write_file(dir, "artifact.c", unit.data, unit.len, err));

    char unitpath[4096], sopath[4096], incl[4200], marchflag[48], optinfo[4200];
    snprintf(unitpath, sizeof unitpath, "%s/artifact.c", dir);
    snprintf(sopath, sizeof sopath, "%s/m.so", dir);
    snprintf(incl, sizeof incl, "-I%s", dir);
    snprintf(marchflag, sizeof marchflag, "-march=%s", march);
    snprintf(optinfo, sizeof optinfo, "-fdump-tree-vect-details=%s/vec.txt", dir);
    snprintf(log, sizeof log, "%s/cc.log", dir);
    /* CORRAL_AOT_EXPLICIT_CHECKS=1: wasm2c's bounds check on every access
     * instead of guard pages (for memcheckers such as valgrind, which
     * report each trapped out-of-bounds access as an invalid read); no
     * loop is vectorised then, so pass 1 is skipped */
    const char *xc = getenv("CORRAL_AOT_EXPLICIT_CHECKS");
    int explicit_checks = xc && strcmp(xc, "1") == 0;

    /* pass 1 (aot_loops.c): the candidate loops unchecked, the compiler's
     * vectoriser report says which stay so; a failure here only means
     * every loop keeps its check */
    if (loops.ncandidates && !explicit_checks) {
        TRY(patch_c((const char *)src.data, src.len, &loops, 1, &patched));
        TRY(write_file(dir, "patched.c", patched.data, patched.len, err));
        if (o.keep_temp) TRY(write_file(dir, "pass1.c", patched.data, patched.len, err));
        char *argv1[] = {CC_ARGV(cc, marchflag, incl), "-S", "-o", "/dev/null", optinfo, unitpath, NULL};
        snprintf(path, sizeof path, "%s/vec.txt", dir);
        corral_buf_t rep = {0};
        if (run(argv1, log) == 0 && corral_file_read(path, (size_t)1 << 30, &rep, NULL) == CORRAL_OK)
            aot_loops_apply_report(&loops, (const char *)rep.data, rep.len);
        else
            aot_loops_apply_report(&loops, "", 0);
        corral_buf_free(&rep);
        patched.len = 0;
    } else {
        aot_loops_apply_report(&loops, "", 0);
    }
    info.vector_loops = (uint32_t)loops.ncandidates;
    st = patch_c((const char *)src.data, src.len, &loops, 0, &patched);
    if (st == CORRAL_ERR_INTERNAL)
        corral_err_set(err, st, "AOT tier: wasm2c's output has no load/store helpers where expected (wabt 1.0.32?)");
    if (st != CORRAL_OK) goto fail;
    TRY(write_file(dir, "patched.c", patched.data, patched.len, err));

    /* cc */
    /* -nostartfiles, -z noseparate-code: no C runtime start files (the
     * artifact has no constructors; its one destructor runs from
     * .fini_array) and two loadable segments instead of four: fewer
     * mappings for dlopen, whose cost is most of a warm start */
    char *cargv[] = {CC_ARGV(cc, marchflag, incl), "-fPIC", "-shared", "-nostartfiles", "-fvisibility=hidden",
                     "-Wl,-Bsymbolic", "-Wl,-z,now", "-Wl,-z,noseparate-code", "-o", sopath, unitpath, "-lm",
                     NULL, NULL};
    if (explicit_checks) cargv[sizeof cargv / sizeof cargv[0] - 2] = "-DCORRAL_AOT_EXPLICIT_CHECKS";
    rc = run(cargv, log);
    if (rc < 0) {
        st = corral_err_set(err, CORRAL_ERR_NOT_FOUND, "cannot run the C compiler '%s': %s (install gcc, or set CC)", cc,
                            strerror(errno));
        goto fail;
    }
    if (rc != 0) {
        log_tail(log, tail, sizeof tail);
        st = corral_err_set(err, CORRAL_ERR_INTERNAL, "C compiler '%s' failed (exit %d): %s", cc, rc, tail);
        goto fail;
    }
    TRY(corral_file_read(sopath, (size_t)1 << 31, &so, err));

    char *vargv[] = {(char *)cc, "--version", NULL};
    first_line(vargv, dir, info.compiler, sizeof info.compiler);
    char triple[64] = "";
    char *dargv[] = {(char *)cc, "-dumpmachine", NULL};
    first_line(dargv, dir, triple, sizeof triple);
    snprintf(info.target, sizeof info.target, "%s %s", triple[0] ? triple : "unknown", marchflag);
    info.abi = CORRAL_AOT_ABI;
    info.elf_bytes = so.len;

    TRY(corral_buf_printf(&art, "CORRAL-AOT 1\nmodule-sha256 %s\nabi %u\ncompiler %s\ntarget %s\nelf-bytes %llu\n\n",
                          info.module_hash, info.abi, info.compiler, info.target, (unsigned long long)so.len));
    TRY(corral_buf_append(&art, so.data, so.len));
    char tmpout[4200];
    snprintf(tmpout, sizeof tmpout, "%s.tmp.%ld", out_path, (long)getpid());
    TRY(corral_file_write(tmpout, art.data, art.len, 0600, err));
    if (rename(tmpout, out_path) != 0) {
        st = corral_err_set(err, CORRAL_ERR_IO, "cannot rename %s to %s: %s", tmpout, out_path, strerror(errno));
        unlink(tmpout);
        goto fail;
    }
    if (info_out) *info_out = info;
    st = CORRAL_OK;
fail:
    if (dir[0]) {
        if (o.keep_temp) corral_log(CORRAL_LOG_INFO, "aot", "work directory kept: %s", dir);
        else rm_tree(dir);
    }
    corral_vm_module_free(m);
    aot_loops_free(&loops);
    corral_buf_free(&src);
    corral_buf_free(&patched);
    corral_buf_free(&hdr);
    corral_buf_free(&unit);
    corral_buf_free(&so);
    corral_buf_free(&art);
    return st;
}

/* ---- cache directory ------------------------------------------------------------------------ */

static corral_status_t mkdir_owned(const char *p, corral_err_t *err)
{
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return corral_err_set(err, CORRAL_ERR_IO, "cannot create %s: %s", p, strerror(errno));
    return CORRAL_OK;
}

corral_status_t corral_aot_cache_dir(char *buf, size_t n, corral_err_t *err)
{
    const char *e = getenv("CORRAL_AOT_CACHE");
    char base[4096];
    if (e && e[0]) {
        snprintf(buf, n, "%s", e);
    } else {
        const char *x = getenv("XDG_CACHE_HOME");
        const char *h = getenv("HOME");
        if (x && x[0]) snprintf(base, sizeof base, "%s", x);
        else if (h && h[0]) snprintf(base, sizeof base, "%s/.cache", h);
        else return corral_err_set(err, CORRAL_ERR_NOT_FOUND, "no cache directory: set CORRAL_AOT_CACHE or HOME");
        corral_status_t st = mkdir_owned(base, err);
        if (st != CORRAL_OK) return st;
        snprintf(base + strlen(base), sizeof base - strlen(base), "/corral");
        st = mkdir_owned(base, err);
        if (st != CORRAL_OK) return st;
        snprintf(buf, n, "%s/aot", base);
    }
    corral_status_t st = mkdir_owned(buf, err);
    if (st != CORRAL_OK) return st;
    struct stat sb;
    if (lstat(buf, &sb) != 0) return corral_err_set(err, CORRAL_ERR_IO, "cannot stat %s: %s", buf, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return corral_err_set(err, CORRAL_ERR_IO, "AOT cache %s is not a directory", buf);
    if (sb.st_uid != geteuid())
        return corral_err_set(err, CORRAL_ERR_IO, "AOT cache %s is not owned by this user: not trusted", buf);
    if (sb.st_mode & 077)
        return corral_err_set(err, CORRAL_ERR_IO, "AOT cache %s is accessible by group or others (mode %o): not trusted",
                              buf, (unsigned)(sb.st_mode & 0777));
    return CORRAL_OK;
}

corral_status_t corral_aot_cache_path(const char *module_hash, char *buf, size_t n, corral_err_t *err)
{
    char dir[4096];
    corral_status_t st = corral_aot_cache_dir(dir, sizeof dir, err);
    if (st != CORRAL_OK) return st;
    snprintf(buf, n, "%s/%s-abi%u.caot", dir, module_hash, (unsigned)CORRAL_AOT_ABI);
    return CORRAL_OK;
}
