/*
 * cmd_spectest.c - `corral spectest`: runs WebAssembly core spec test
 * scripts against Corral's engine (wapc/vm). A .wast file is converted with
 * wabt's wast2json into a temporary folder first (with the documented fixes of
 * shared/wasm-testsuite/README.md for the files wast2json 1.0.32 cannot read);
 * a .json file (wast2json output) is run as it is.
 *
 * The runner only talks to the engine through corral_vm.h. It provides the
 * `spectest` host module (one shared instance per script, like the reference
 * interpreter) and treats every engine error as a test result, never as a
 * reason to stop: an engine that fails everything still yields a full report.
 *
 * What counts as a pass (documented here because the spec allows leeway):
 *   assert_trap / assert_exhaustion / action traps: the engine's trap status
 *     must be the kind the spec text names. Texts are matched by prefix in
 *     either direction ("unreachable" vs "unreachable executed"), and these
 *     kinds are treated as equivalent because the spec's own wording for them
 *     changed between versions: "undefined element" == "out of bounds table
 *     access" (an index outside the table), and "uninitialized element" ==
 *     "null reference" (a null entry). A text the runner does not know
 *     accepts any CORRAL_ERR_TRAP_* status.
 *   assert_invalid: module_new must fail with CORRAL_ERR_INVALID; any other
 *     failure (MALFORMED included) is a failure and is printed.
 *   assert_malformed (binary): module_new must fail with MALFORMED, INVALID
 *     or VM_UNSUPPORTED (a decoder may find the fault while validating, or
 *     see an unknown prefix byte as an unsupported feature). Text modules are
 *     skipped: the engine reads binaries only.
 *   assert_unlinkable: instance_new must fail with CORRAL_ERR_UNLINKABLE.
 *   assert_uninstantiable: instance_new must fail with UNINSTANTIABLE or a trap.
 *   v128 values and unknown command types are skipped.
 * externref N is passed to the engine as the word N + 1 (null is 0).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#if __has_include("corral_vm.h")
#define CORRAL_SPECTEST_HAVE_VM 1
#include <ftw.h>
#include <jansson.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corral_vm.h"
#if __has_include("corral_aot.h")
#include "corral_aot.h"
#define CORRAL_SPECTEST_HAVE_AOT 1
#endif
#endif

static void spectest_usage(FILE *out) {
    fprintf(out, "usage: corral spectest [--verbose] <file.wast | file.json>...\n\n"
                 "Runs WebAssembly core spec test scripts against Corral's engine.\n"
                 "A .wast file is converted with wast2json (wabt) into a temporary folder;\n"
                 "a .json file is wast2json output and is run as it is.\n\n"
                 "options:\n"
                 "  -v, --verbose   print every command and its result\n"
                 "  --engine aot    run modules on the AOT tier (wasm2c + cc; slow: about a\n"
                 "                  second per module). Modules it cannot take (imports other\n"
                 "                  than spectest functions, exports other than functions)\n"
                 "                  run on the interpreter; the summary counts both\n"
                 "  -h, --help      print this help\n\n"
                 "Prints '<file>: N passed, M failed, K skipped' per file, the failing commands\n"
                 "with their .wast line numbers, and finally 'N passed, M failed'.\n"
                 "exit codes: 0 all passed, 1 a test failed, 2 usage error, 3 a file is missing\n"
                 "or cannot be converted, 4 internal error\n");
}

#ifndef CORRAL_SPECTEST_HAVE_VM

int corral_cli_spectest(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        spectest_usage(stdout);
        return CORRAL_EXIT_OK;
    }
    corral_cli_error("spectest: this corral was built without the WebAssembly engine");
    return CORRAL_EXIT_INTERNAL;
}

#else

/* ---- state of one script run ----------------------------------------------- */

#define MAX_VALUES 64 /* no spec test passes or returns more values than this */

typedef struct named_inst {
    char *name; /* "$M1", or NULL for an unnamed module */
    corral_vm_instance_t *inst;
    corral_vm_module_t *mod;
} named_inst_t;

typedef struct script {
    const char *label; /* file name shown in messages */
    const char *dir;   /* folder the JSON's filenames are relative to */
    int verbose;
    corral_vm_imports_t *imports; /* spectest + every registered module */
    named_inst_t *insts;          /* every instance made, freed at the end */
    size_t ninsts, capinsts;
    corral_vm_instance_t *current; /* the most recent module command's instance */
    long passed, failed, skipped;
    int has_register; /* the script has a register command (--engine aot) */
} script_t;

typedef enum { R_PASS, R_FAIL, R_SKIP } result_t;

static void report(script_t *s, int line, const char *type, result_t r, const char *fmt, ...)
    CORRAL_PRINTF(5, 6);

static void report(script_t *s, int line, const char *type, result_t r, const char *fmt, ...) {
    if (r == R_PASS)
        s->passed++;
    else if (r == R_FAIL)
        s->failed++;
    else
        s->skipped++;
    if (r != R_FAIL && !s->verbose) return;
    static const char *const names[] = {"ok", "FAIL", "skip"};
    printf("  %s:%d: %s: %s", s->label, line, type, names[r]);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", stdout);
        vprintf(fmt, ap);
        va_end(ap);
    }
    fputc('\n', stdout);
}

/* ---- the spectest host module ------------------------------------------------ */

static corral_status_t host_print(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    const script_t *s = user;
    if (s->verbose) printf("    spectest.print()\n");
    return CORRAL_OK;
}

static corral_status_t host_print_i32(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    const script_t *s = user;
    if (s->verbose) printf("    spectest.print_i32(%" PRId32 ")\n", (int32_t)(uint32_t)sp[0]);
    return CORRAL_OK;
}

static corral_status_t host_print_i64(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    const script_t *s = user;
    if (s->verbose) printf("    spectest.print_i64(%" PRId64 ")\n", (int64_t)sp[0]);
    return CORRAL_OK;
}

static float f32_of(uint64_t bits) {
    uint32_t b = (uint32_t)bits;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static double f64_of(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static corral_status_t host_print_f32(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    const script_t *s = user;
    if (s->verbose) printf("    spectest.print_f32(%g)\n", (double)f32_of(sp[0]));
    return CORRAL_OK;
}

static corral_status_t host_print_f64(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    const script_t *s = user;
    if (s->verbose) printf("    spectest.print_f64(%g)\n", f64_of(sp[0]));
    return CORRAL_OK;
}

static corral_status_t host_print_i32_f32(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    const script_t *s = user;
    if (s->verbose)
        printf("    spectest.print_i32_f32(%" PRId32 ", %g)\n", (int32_t)(uint32_t)sp[0],
               (double)f32_of(sp[1]));
    return CORRAL_OK;
}

static corral_status_t host_print_f64_f64(corral_vm_instance_t *caller, uint64_t *sp, void *user) {
    const script_t *s = user;
    if (s->verbose) printf("    spectest.print_f64_f64(%g, %g)\n", f64_of(sp[0]), f64_of(sp[1]));
    return CORRAL_OK;
}

/* Adds an embedder-made extern to the set and drops our own reference. */
static corral_status_t add_made_extern(corral_vm_imports_t *imp, const char *name,
                                       corral_status_t made, corral_vm_extern_t ext,
                                       corral_err_t *err) {
    if (made != CORRAL_OK) return corral_err_wrap(err, "spectest.%s", name);
    corral_status_t st = corral_vm_imports_add_extern(imp, "spectest", name, ext, err);
    corral_vm_extern_release(ext);
    return st;
}

static corral_status_t spectest_module_add(script_t *s, corral_err_t *err) {
    static const struct {
        const char *name, *sig;
        corral_vm_host_fn_t fn;
    } funcs[] = {
        {"print", ":", host_print},
        {"print_i32", "i:", host_print_i32},
        {"print_i64", "I:", host_print_i64},
        {"print_f32", "f:", host_print_f32},
        {"print_f64", "F:", host_print_f64},
        {"print_i32_f32", "if:", host_print_i32_f32},
        {"print_f64_f64", "FF:", host_print_f64_f64},
    };
    corral_status_t st;
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        st = corral_vm_imports_add_func(s->imports, "spectest", funcs[i].name, funcs[i].sig,
                                        funcs[i].fn, s, err);
        if (st != CORRAL_OK) return st;
    }
    static const struct {
        const char *name;
        corral_vm_valtype_t type;
        uint64_t value;
    } globals[] = {
        {"global_i32", CORRAL_VM_I32, 666},
        {"global_i64", CORRAL_VM_I64, 666},
        {"global_f32", CORRAL_VM_F32, 0x4426A666u},
        {"global_f64", CORRAL_VM_F64, 0x4084D4CCCCCCCCCDull},
    };
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++) {
        corral_vm_extern_t g = {0};
        st = corral_vm_global_new(globals[i].type, 0, globals[i].value, &g, err);
        st = add_made_extern(s->imports, globals[i].name, st, g, err);
        if (st != CORRAL_OK) return st;
    }
    corral_vm_extern_t t = {0}, m = {0};
    st = corral_vm_table_new(CORRAL_VM_FUNCREF, 10, 20, 1, &t, err);
    st = add_made_extern(s->imports, "table", st, t, err);
    if (st != CORRAL_OK) return st;
    st = corral_vm_memory_new(1, 2, 1, &m, err);
    return add_made_extern(s->imports, "memory", st, m, err);
}

/* ---- values ------------------------------------------------------------------------ */

typedef enum { NAN_NONE, NAN_CANONICAL, NAN_ARITHMETIC } nan_kind_t;

typedef struct value {
    int type; /* corral_vm_valtype_t */
    int has_value;
    nan_kind_t nan;
    uint64_t bits;
} value_t;

static int parse_type(const char *t, int *out) {
    static const struct {
        const char *name;
        int type;
    } types[] = {{"i32", CORRAL_VM_I32},
                 {"i64", CORRAL_VM_I64},
                 {"f32", CORRAL_VM_F32},
                 {"f64", CORRAL_VM_F64},
                 {"v128", CORRAL_VM_V128},
                 {"funcref", CORRAL_VM_FUNCREF},
                 {"externref", CORRAL_VM_EXTERNREF}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(t, types[i].name) == 0) {
            *out = types[i].type;
            return 1;
        }
    }
    return 0;
}

static const char *type_name(int t) {
    switch (t) {
    case CORRAL_VM_I32:
        return "i32";
    case CORRAL_VM_I64:
        return "i64";
    case CORRAL_VM_F32:
        return "f32";
    case CORRAL_VM_F64:
        return "f64";
    case CORRAL_VM_V128:
        return "v128";
    case CORRAL_VM_FUNCREF:
        return "funcref";
    case CORRAL_VM_EXTERNREF:
        return "externref";
    default:
        return "?";
    }
}

/* Parses one JSON value. Returns 0 with a reason in why for malformed
 * values, -1 for values the runner skips (v128). */
static int parse_value(json_t *j, value_t *v, const char **why) {
    memset(v, 0, sizeof *v);
    const char *t = json_string_value(json_object_get(j, "type"));
    if (!t || !parse_type(t, &v->type)) {
        *why = "value with an unknown type";
        return 0;
    }
    if (v->type == CORRAL_VM_V128) return -1;
    json_t *jv = json_object_get(j, "value");
    if (!jv) return 1; /* type only */
    const char *s = json_string_value(jv);
    if (!s) {
        *why = "value is not a string";
        return 0;
    }
    v->has_value = 1;
    if (strcmp(s, "nan:canonical") == 0)
        v->nan = NAN_CANONICAL;
    else if (strcmp(s, "nan:arithmetic") == 0)
        v->nan = NAN_ARITHMETIC;
    else if (strcmp(s, "null") == 0)
        v->bits = 0;
    else {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(s, &end, 10);
        if (errno || end == s || *end) {
            *why = "value is not a decimal number";
            return 0;
        }
        v->bits = n;
        if (v->type == CORRAL_VM_EXTERNREF) v->bits = n + 1; /* nonzero host word */
        if (v->type == CORRAL_VM_I32 || v->type == CORRAL_VM_F32) v->bits &= 0xffffffffu;
    }
    return 1;
}

/* Checks a result against an expected value. */
static int value_matches(const value_t *want, uint64_t got) {
    switch (want->type) {
    case CORRAL_VM_I32:
        return (uint32_t)got == (uint32_t)want->bits;
    case CORRAL_VM_F32: {
        uint32_t b = (uint32_t)got;
        if (want->nan == NAN_CANONICAL) return (b & 0x7fffffffu) == 0x7fc00000u;
        if (want->nan == NAN_ARITHMETIC) return (b & 0x7fc00000u) == 0x7fc00000u;
        return b == (uint32_t)want->bits;
    }
    case CORRAL_VM_F64:
        if (want->nan == NAN_CANONICAL)
            return (got & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
        if (want->nan == NAN_ARITHMETIC)
            return (got & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
        return got == want->bits;
    case CORRAL_VM_FUNCREF:
    case CORRAL_VM_EXTERNREF:
        if (!want->has_value) return got != 0; /* "(ref.func)": any non-null */
        return got == want->bits;
    default:
        return got == want->bits;
    }
}

static void value_format(int type, uint64_t bits, char *out, size_t n) {
    switch (type) {
    case CORRAL_VM_I32:
        snprintf(out, n, "i32:%" PRIu32 " (0x%08" PRIx32 ")", (uint32_t)bits, (uint32_t)bits);
        break;
    case CORRAL_VM_F32:
        snprintf(out, n, "f32:%.9g (0x%08" PRIx32 ")", (double)f32_of(bits), (uint32_t)bits);
        break;
    case CORRAL_VM_F64:
        snprintf(out, n, "f64:%.17g (0x%016" PRIx64 ")", f64_of(bits), bits);
        break;
    case CORRAL_VM_EXTERNREF:
        if (bits)
            snprintf(out, n, "externref:%" PRIu64, bits - 1);
        else
            snprintf(out, n, "externref:null");
        break;
    case CORRAL_VM_FUNCREF:
        if (bits)
            snprintf(out, n, "funcref:0x%" PRIx64, bits);
        else
            snprintf(out, n, "funcref:null");
        break;
    default:
        snprintf(out, n, "%s:%" PRIu64, type_name(type), bits);
    }
}

static void want_format(const value_t *v, char *out, size_t n) {
    if (v->nan == NAN_CANONICAL)
        snprintf(out, n, "%s:nan:canonical", type_name(v->type));
    else if (v->nan == NAN_ARITHMETIC)
        snprintf(out, n, "%s:nan:arithmetic", type_name(v->type));
    else if (!v->has_value)
        snprintf(out, n, "%s:(any non-null)", type_name(v->type));
    else
        value_format(v->type, v->bits, out, n);
}

/* ---- trap kinds --------------------------------------------------------------------- */

static int is_trap(corral_status_t st) {
    return st >= CORRAL_ERR_TRAP_UNREACHABLE && st <= CORRAL_ERR_TRAP_EXIT;
}

/* Groups of statuses the runner treats as the same kind (see the file comment). */
static int trap_group(corral_status_t st) {
    switch (st) {
    case CORRAL_ERR_TRAP_UNDEFINED_ELEMENT:
    case CORRAL_ERR_TRAP_TABLE_OOB:
        return 1;
    case CORRAL_ERR_TRAP_UNINITIALIZED_ELEMENT:
    case CORRAL_ERR_TRAP_NULL_REFERENCE:
        return 2;
    default:
        return 100 + (int)st;
    }
}

static int prefix_either(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    return strncmp(a, b, la < lb ? la : lb) == 0 && la && lb;
}

/* Does a trap with status st satisfy the spec text? */
static int trap_matches(const char *text, corral_status_t st) {
    if (!is_trap(st)) return 0;
    corral_status_t named = CORRAL_OK;
    for (int c = CORRAL_ERR_TRAP_UNREACHABLE; c <= CORRAL_ERR_TRAP_EXIT; c++) {
        if (prefix_either(text, corral_status_str((corral_status_t)c))) {
            named = (corral_status_t)c;
            break;
        }
    }
    if (named == CORRAL_OK) return 1; /* a text we do not know: any trap */
    return trap_group(named) == trap_group(st);
}

/* ---- running commands --------------------------------------------------------------- */

static char *path_join(const char *dir, const char *file) {
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = corral_malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

#ifdef CORRAL_SPECTEST_HAVE_AOT
/* --engine aot: modules compiled to native code, and how many were not. */
static int spectest_aot;
static long aot_native, aot_interp;

/* A module the AOT tier runs the way the script expects: it imports only
 * spectest functions (host functions) and exports only functions. */
static int aot_eligible(const corral_vm_module_t *m) {
    for (uint32_t i = 0; i < corral_vm_module_import_count(m); i++) {
        corral_vm_import_desc_t d;
        if (corral_vm_module_import(m, i, &d) != CORRAL_OK || d.kind != CORRAL_VM_EXTERN_FUNC ||
            d.module_len != 8 || memcmp(d.module, "spectest", 8) != 0)
            return 0;
    }
    for (uint32_t i = 0; i < corral_vm_module_export_count(m); i++) {
        corral_vm_export_desc_t d;
        if (corral_vm_module_export(m, i, &d) != CORRAL_OK || d.kind != CORRAL_VM_EXTERN_FUNC) return 0;
    }
    return 1;
}

/* Replaces *m (an interpreter module of bytes) with an AOT one when it can. */
static void aot_swap(script_t *s, const uint8_t *bytes, size_t len, corral_vm_module_t **m) {
    corral_err_t err;
    corral_err_clear(&err);
    /* A registered module's functions may be imported by interpreter
     * modules, which cannot call native code: scripts that register
     * anything stay on the interpreter. */
    if (s->has_register || !aot_eligible(*m)) {
        aot_interp++;
        return;
    }
    char dir[] = "/tmp/corral-spectest-aot-XXXXXX", path[64];
    if (!mkdtemp(dir)) {
        aot_interp++;
        return;
    }
    snprintf(path, sizeof path, "%s/m.caot", dir);
    corral_vm_module_t *am = NULL;
    corral_status_t st = corral_aot_compile(bytes, len, path, NULL, NULL, &err);
    if (st == CORRAL_OK) st = corral_aot_vm_module_new(bytes, len, path, &am, &err);
    unlink(path);
    rmdir(dir);
    if (st != CORRAL_OK) {
        if (s->verbose) printf("  aot: %s: staying on the interpreter\n", corral_err_msg(&err));
        aot_interp++;
        return;
    }
    corral_vm_module_free(*m);
    *m = am;
    aot_native++;
}
#endif

/* Loads the command's "filename" as a module. */
static corral_status_t load_module(script_t *s, json_t *cmd, corral_vm_module_t **out,
                                   corral_err_t *err) {
    *out = NULL;
    const char *f = json_string_value(json_object_get(cmd, "filename"));
    if (!f) return corral_err_set(err, CORRAL_ERR_PARSE, "command has no filename");
    char *path = path_join(s->dir, f);
    if (!path) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    corral_buf_t b = CORRAL_BUF_INIT;
    corral_status_t st = corral_file_read(path, 0, &b, err);
    corral_free(path);
    if (st != CORRAL_OK) return st;
    st = corral_vm_module_new(b.data ? b.data : (const uint8_t *)"", b.len, out, err);
#ifdef CORRAL_SPECTEST_HAVE_AOT
    if (st == CORRAL_OK && spectest_aot) aot_swap(s, b.data, b.len, out);
#endif
    corral_buf_free(&b);
    if (st != CORRAL_OK) *out = NULL;
    return st;
}

static corral_status_t keep_instance(script_t *s, const char *name, corral_vm_module_t *mod,
                                     corral_vm_instance_t *inst, corral_err_t *err) {
    if (s->ninsts == s->capinsts) {
        size_t cap = s->capinsts ? s->capinsts * 2 : 16;
        named_inst_t *n = corral_realloc(s->insts, cap * sizeof *n);
        if (!n) return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
        s->insts = n;
        s->capinsts = cap;
    }
    named_inst_t *e = &s->insts[s->ninsts];
    e->name = NULL;
    if (name && !(e->name = corral_strdup(name)))
        return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    e->mod = mod;
    e->inst = inst;
    s->ninsts++;
    return CORRAL_OK;
}

static corral_vm_instance_t *find_instance(script_t *s, const char *name) {
    if (!name) return s->current;
    for (size_t i = s->ninsts; i-- > 0;) {
        if (s->insts[i].name && strcmp(s->insts[i].name, name) == 0) return s->insts[i].inst;
    }
    return NULL;
}

static const corral_vm_limits_t *run_limits(void) {
    /* A deadline keeps a broken engine from hanging the run; no spec test
     * comes near it. */
    static const corral_vm_limits_t limits = {0, 0, 0, 20ull * 1000 * 1000 * 1000};
    return &limits;
}

static void cmd_module(script_t *s, json_t *cmd, int line) {
    corral_err_t err;
    corral_err_clear(&err);
    corral_vm_module_t *mod = NULL;
    corral_vm_instance_t *inst = NULL;
    const char *name = json_string_value(json_object_get(cmd, "name"));
    s->current = NULL; /* a failed module leaves no current module */
    corral_status_t st = load_module(s, cmd, &mod, &err);
    if (st != CORRAL_OK) {
        report(s, line, "module", R_FAIL, "load: %s: %s", corral_status_name(st),
               corral_err_msg(&err));
        return;
    }
    st = corral_vm_instance_new(mod, s->imports, run_limits(), NULL, &inst, &err);
    if (st != CORRAL_OK) {
        report(s, line, "module", R_FAIL, "instantiate: %s: %s", corral_status_name(st),
               corral_err_msg(&err));
        corral_vm_module_free(mod);
        return;
    }
    st = keep_instance(s, name, mod, inst, &err);
    if (st != CORRAL_OK) {
        corral_vm_instance_free(inst);
        corral_vm_module_free(mod);
        report(s, line, "module", R_FAIL, "%s", corral_err_msg(&err));
        return;
    }
    s->current = inst;
    report(s, line, "module", R_PASS, "%s", name ? name : "");
}

static void cmd_register(script_t *s, json_t *cmd, int line) {
    const char *as = json_string_value(json_object_get(cmd, "as"));
    const char *name = json_string_value(json_object_get(cmd, "name"));
    corral_vm_instance_t *inst = find_instance(s, name);
    if (!as) {
        report(s, line, "register", R_FAIL, "no 'as' field");
        return;
    }
    if (!inst) {
        report(s, line, "register", R_FAIL, "no module %s", name ? name : "(current)");
        return;
    }
    const corral_vm_module_t *mod = corral_vm_instance_module(inst);
    uint32_t n = corral_vm_module_export_count(mod);
    for (uint32_t i = 0; i < n; i++) {
        corral_vm_export_desc_t d;
        corral_err_t err;
        corral_err_clear(&err);
        corral_vm_extern_t ext;
        if (corral_vm_module_export(mod, i, &d) != CORRAL_OK) continue;
        if (memchr(d.name, 0, d.name_len)) continue; /* the imports API takes C strings */
        char *nm = corral_strndup(d.name, d.name_len);
        if (!nm) {
            report(s, line, "register", R_FAIL, "out of memory");
            return;
        }
        corral_status_t st = corral_vm_instance_export_n(inst, d.name, d.name_len, &ext);
        if (st == CORRAL_OK) st = corral_vm_imports_add_extern(s->imports, as, nm, ext, &err);
        if (st != CORRAL_OK) {
            report(s, line, "register", R_FAIL, "export '%s': %s: %s", nm, corral_status_name(st),
                   corral_err_msg(&err));
            corral_free(nm);
            return;
        }
        corral_free(nm);
    }
    report(s, line, "register", R_PASS, "%s", as);
}

/* Runs an action. Returns the call's status (or CORRAL_ERR_PARSE/NOT_FOUND
 * for problems before the call, with the reason in err); fills results and
 * their types. Returns -1 through *skip for v128 actions. */
static corral_status_t run_action(script_t *s, json_t *act, uint64_t *results, uint8_t *rtypes,
                                  uint32_t *nresults, int *skip, corral_err_t *err) {
    *nresults = 0;
    *skip = 0;
    const char *type = json_string_value(json_object_get(act, "type"));
    json_t *jfield = json_object_get(act, "field");
    const char *field = json_string_value(jfield);
    size_t field_len = json_string_length(jfield);
    const char *mname = json_string_value(json_object_get(act, "module"));
    if (!type || !field) return corral_err_set(err, CORRAL_ERR_PARSE, "action lacks type or field");
    corral_vm_instance_t *inst = find_instance(s, mname);
    if (!inst)
        return corral_err_set(err, CORRAL_ERR_NOT_FOUND, "no module %s",
                              mname ? mname : "(current)");
    corral_vm_extern_t ext;
    corral_status_t st = corral_vm_instance_export_n(inst, field, field_len, &ext);
    if (st != CORRAL_OK)
        return corral_err_set(err, CORRAL_ERR_NOT_FOUND, "no such export: %s",
                              corral_status_name(st));
    if (strcmp(type, "get") == 0) {
        if (ext.kind != CORRAL_VM_EXTERN_GLOBAL)
            return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "export '%s' is not a global",
                                  field);
        results[0] = corral_vm_global_get(ext);
        rtypes[0] = 0; /* unknown: the API does not tell a global's type */
        *nresults = 1;
        return CORRAL_OK;
    }
    if (strcmp(type, "invoke") != 0)
        return corral_err_set(err, CORRAL_ERR_PARSE, "unknown action type '%s'", type);
    if (ext.kind != CORRAL_VM_EXTERN_FUNC)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG, "export '%s' is not a function", field);
    json_t *jargs = json_object_get(act, "args");
    size_t nargs = json_array_size(jargs);
    if (nargs > MAX_VALUES) return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "too many arguments");
    uint64_t args[MAX_VALUES];
    for (size_t i = 0; i < nargs; i++) {
        value_t v;
        const char *why = NULL;
        int r = parse_value(json_array_get(jargs, i), &v, &why);
        if (r < 0) {
            *skip = 1;
            return CORRAL_ERR_UNSUPPORTED;
        }
        if (r == 0) return corral_err_set(err, CORRAL_ERR_PARSE, "argument %zu: %s", i, why);
        args[i] = v.bits;
    }
    corral_vm_functype_t ft = corral_vm_func_type(ext);
    if (ft.nparams != nargs)
        return corral_err_set(err, CORRAL_ERR_INVALID_ARG,
                              "'%s' takes %u arguments, script gives %zu", field, ft.nparams,
                              nargs);
    if (ft.nresults > MAX_VALUES)
        return corral_err_set(err, CORRAL_ERR_TOO_LARGE, "too many results");
    for (uint32_t i = 0; i < ft.nresults; i++) {
        if (ft.results[i] == CORRAL_VM_V128) {
            *skip = 1;
            return CORRAL_ERR_UNSUPPORTED;
        }
        rtypes[i] = ft.results[i];
        results[i] = 0;
    }
    st = corral_vm_call(inst, ext, args, (uint32_t)nargs, results, ft.nresults, err);
    if (st == CORRAL_OK) *nresults = ft.nresults;
    return st;
}

/* Export names may hold any bytes (names.wast); messages show them escaped. */
static void printable(json_t *j, char *out, size_t n) {
    const char *p = json_string_value(j);
    size_t len = json_string_length(j), o = 0;
    if (!p) p = "?", len = 1;
    for (size_t i = 0; i < len && o + 5 < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch < 0x20 || ch == 0x7f || ch == '\\')
            o += (size_t)snprintf(out + o, n - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
}

static void cmd_action(script_t *s, json_t *cmd, int line, const char *ctype) {
    corral_err_t err;
    corral_err_clear(&err);
    uint64_t results[MAX_VALUES];
    uint8_t rtypes[MAX_VALUES];
    uint32_t nres;
    int skip;
    json_t *act = json_object_get(cmd, "action");
    char field[160];
    printable(json_object_get(act, "field"), field, sizeof field);
    corral_status_t st = run_action(s, act, results, rtypes, &nres, &skip, &err);
    if (skip) {
        report(s, line, ctype, R_SKIP, "'%s': v128", field);
        return;
    }
    int is_ret = strcmp(ctype, "assert_return") == 0;
    if (strcmp(ctype, "assert_trap") == 0 || strcmp(ctype, "assert_exhaustion") == 0) {
        const char *text = json_string_value(json_object_get(cmd, "text"));
        if (!text) text = "";
        if (st == CORRAL_OK)
            report(s, line, ctype, R_FAIL, "'%s': returned, expected trap \"%s\"", field, text);
        else if (trap_matches(text, st))
            report(s, line, ctype, R_PASS, "'%s': %s", field, corral_err_msg(&err));
        else
            report(s, line, ctype, R_FAIL, "'%s': expected \"%s\", got %s: %s", field, text,
                   corral_status_name(st), corral_err_msg(&err));
        return;
    }
    if (st != CORRAL_OK) {
        report(s, line, ctype, R_FAIL, "'%s': %s: %s", field, corral_status_name(st),
               corral_err_msg(&err));
        return;
    }
    if (!is_ret) {
        report(s, line, ctype, R_PASS, "'%s'", field);
        return;
    }
    json_t *jexp = json_object_get(cmd, "expected");
    size_t nexp = json_array_size(jexp);
    if (nexp != nres) {
        report(s, line, ctype, R_FAIL, "'%s': %u results, expected %zu", field, nres, nexp);
        return;
    }
    for (size_t i = 0; i < nexp; i++) {
        value_t want;
        const char *why = NULL;
        int r = parse_value(json_array_get(jexp, i), &want, &why);
        if (r < 0) {
            report(s, line, ctype, R_SKIP, "'%s': v128", field);
            return;
        }
        if (r == 0) {
            report(s, line, ctype, R_FAIL, "'%s': expected value %zu: %s", field, i, why);
            return;
        }
        if (rtypes[i] && rtypes[i] != want.type) {
            report(s, line, ctype, R_FAIL, "'%s': result %zu is %s, expected %s", field, i,
                   type_name(rtypes[i]), type_name(want.type));
            return;
        }
        if (!value_matches(&want, results[i])) {
            char g[96], w[96];
            value_format(want.type, results[i], g, sizeof g);
            want_format(&want, w, sizeof w);
            report(s, line, ctype, R_FAIL, "'%s': result %zu is %s, expected %s", field, i, g, w);
            return;
        }
    }
    report(s, line, ctype, R_PASS, "'%s'", field);
}

/* assert_invalid / assert_malformed / assert_unlinkable / assert_uninstantiable */
static void cmd_assert_module(script_t *s, json_t *cmd, int line, const char *ctype) {
    const char *mtype = json_string_value(json_object_get(cmd, "module_type"));
    const char *text = json_string_value(json_object_get(cmd, "text"));
    if (!text) text = "";
    if (mtype && strcmp(mtype, "binary") != 0) {
        report(s, line, ctype, R_SKIP, "%s module (the engine reads binaries only)", mtype);
        return;
    }
    corral_err_t err;
    corral_err_clear(&err);
    corral_vm_module_t *mod = NULL;
    corral_status_t st = load_module(s, cmd, &mod, &err);
    int invalid = strcmp(ctype, "assert_invalid") == 0;
    int malformed = strcmp(ctype, "assert_malformed") == 0;
    if (invalid || malformed) {
        corral_vm_module_free(mod);
        if (st == CORRAL_OK) {
            report(s, line, ctype, R_FAIL, "module loaded, expected \"%s\"", text);
        } else if (invalid ? st == CORRAL_ERR_INVALID
                           : (st == CORRAL_ERR_MALFORMED || st == CORRAL_ERR_INVALID ||
                              st == CORRAL_ERR_VM_UNSUPPORTED)) {
            report(s, line, ctype, R_PASS, "\"%s\": %s", text, corral_err_msg(&err));
        } else {
            report(s, line, ctype, R_FAIL, "expected \"%s\", got %s: %s", text,
                   corral_status_name(st), corral_err_msg(&err));
        }
        return;
    }
    if (st != CORRAL_OK) {
        report(s, line, ctype, R_FAIL, "load: %s: %s", corral_status_name(st),
               corral_err_msg(&err));
        return;
    }
    corral_vm_instance_t *inst = NULL;
    st = corral_vm_instance_new(mod, s->imports, run_limits(), NULL, &inst, &err);
    if (st == CORRAL_OK) {
        /* Keep it: a module that should not instantiate but did may still be
         * referenced by the engine's linked state; freeing in order is safe. */
        if (keep_instance(s, NULL, mod, inst, &err) != CORRAL_OK) {
            corral_vm_instance_free(inst);
            corral_vm_module_free(mod);
        }
        report(s, line, ctype, R_FAIL, "module instantiated, expected \"%s\"", text);
        return;
    }
    corral_vm_module_free(mod);
    int ok = strcmp(ctype, "assert_unlinkable") == 0
                 ? st == CORRAL_ERR_UNLINKABLE
                 : (st == CORRAL_ERR_UNINSTANTIABLE || is_trap(st));
    if (ok)
        report(s, line, ctype, R_PASS, "\"%s\": %s", text, corral_err_msg(&err));
    else
        report(s, line, ctype, R_FAIL, "expected \"%s\", got %s: %s", text, corral_status_name(st),
               corral_err_msg(&err));
}

static void script_deinit(script_t *s) {
    /* Import set first (it holds externs of instances), then instances, then
     * their modules. */
    corral_vm_imports_free(s->imports);
    s->imports = NULL;
    for (size_t i = s->ninsts; i-- > 0;)
        corral_vm_instance_free(s->insts[i].inst);
    for (size_t i = 0; i < s->ninsts; i++) {
        corral_vm_module_free(s->insts[i].mod);
        corral_free(s->insts[i].name);
    }
    corral_free(s->insts);
    s->insts = NULL;
    s->ninsts = s->capinsts = 0;
}

/* Runs one wast2json file. Returns CORRAL_OK when it could be run at all
 * (the counters then say how it went). */
static corral_status_t run_json(const char *json_path, const char *label, int verbose, long *passed,
                                long *failed, long *skipped) {
    script_t s;
    memset(&s, 0, sizeof s);
    s.label = label;
    s.verbose = verbose;
    json_error_t jerr;
    json_t *root = json_load_file(json_path, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        corral_cli_error("%s: %s (line %d)", json_path, jerr.text, jerr.line);
        return CORRAL_ERR_PARSE;
    }
    json_t *cmds = json_object_get(root, "commands");
    if (!json_is_array(cmds)) {
        corral_cli_error("%s: no \"commands\" array", json_path);
        json_decref(root);
        return CORRAL_ERR_PARSE;
    }
    char *dir = corral_strdup(json_path);
    if (!dir) {
        json_decref(root);
        return CORRAL_ERR_NOMEM;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    s.dir = dir;
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        const char *t = json_string_value(json_object_get(json_array_get(cmds, i), "type"));
        if (t && strcmp(t, "register") == 0) s.has_register = 1;
    }

    corral_err_t err;
    corral_err_clear(&err);
    corral_status_t st = CORRAL_OK;
    s.imports = corral_vm_imports_new();
    if (!s.imports)
        st = corral_err_set(&err, CORRAL_ERR_NOMEM, "imports_new failed");
    else
        st = spectest_module_add(&s, &err);
    if (st != CORRAL_OK) {
        /* Keep going: modules that import nothing can still be tested. */
        printf("  %s: spectest host module: %s: %s\n", label, corral_status_name(st),
               corral_err_msg(&err));
    }

    size_t n = json_array_size(cmds);
    for (size_t i = 0; i < n; i++) {
        json_t *cmd = json_array_get(cmds, i);
        const char *type = json_string_value(json_object_get(cmd, "type"));
        int line = (int)json_integer_value(json_object_get(cmd, "line"));
        if (!type) {
            report(&s, line, "?", R_FAIL, "command without a type");
            continue;
        }
        if (strcmp(type, "module") == 0)
            cmd_module(&s, cmd, line);
        else if (strcmp(type, "register") == 0)
            cmd_register(&s, cmd, line);
        else if (strcmp(type, "action") == 0 || strcmp(type, "assert_return") == 0 ||
                 strcmp(type, "assert_trap") == 0 || strcmp(type, "assert_exhaustion") == 0)
            cmd_action(&s, cmd, line, type);
        else if (strcmp(type, "assert_invalid") == 0 || strcmp(type, "assert_malformed") == 0 ||
                 strcmp(type, "assert_unlinkable") == 0 ||
                 strcmp(type, "assert_uninstantiable") == 0)
            cmd_assert_module(&s, cmd, line, type);
        else
            report(&s, line, type, R_SKIP, "unknown command type");
        fflush(stdout);
    }
    script_deinit(&s);
    corral_free(dir);
    json_decref(root);
    printf("%s: %ld passed, %ld failed, %ld skipped\n", label, s.passed, s.failed, s.skipped);
    *passed += s.passed;
    *failed += s.failed;
    *skipped += s.skipped;
    return CORRAL_OK;
}

/* ---- .wast conversion ------------------------------------------------------------------ */

/* Runs argv (searched in PATH) with stdout sent to out_path when given.
 * Returns the exit status, or -1 when it could not run. */
static int run_program(char *const argv[], const char *out_path, const char *err_path) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (out_path) {
            FILE *f = freopen(out_path, "w", stdout);
            if (!f) _exit(127);
        }
        if (err_path) {
            FILE *f = freopen(err_path, "w", stderr);
            if (!f) _exit(127);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The README's workarounds for the files wast2json 1.0.32 cannot convert. */
static const struct {
    const char *file;
    int extended; /* sed -E */
    const char *script;
} wast_fixes[] = {
    {"comments.wast", 0, "/^;; Newline recognition/,$d"},
    {"if.wast", 0,
     "s/(if (i32.const 1) (i32.eqz) (then) (else))/(if (i32.eqz (i32.const 1)) (then) (else))/"},
#define TABLE_FIX_                                                                                 \
    "s/\\((table\\.(get|set|fill|grow|size))( +\\(|\\))/(\\1 0\\3/g; s/(table\\.size)\\)/\\1 0)/g"
    {"table_fill.wast", 1, TABLE_FIX_},
    {"table_get.wast", 1, TABLE_FIX_},
    {"table_grow.wast", 1, TABLE_FIX_},
    {"table_set.wast", 1, TABLE_FIX_},
    {"table_size.wast", 1, TABLE_FIX_},
#undef TABLE_FIX_
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Converts a .wast into a temp folder and runs it. */
static int run_wast(const char *wast, int verbose, long *passed, long *failed, long *skipped) {
    int rc = CORRAL_EXIT_OK;
    const char *base = strrchr(wast, '/');
    base = base ? base + 1 : wast;
    if (access(wast, R_OK) != 0) {
        corral_cli_error("%s: %s", wast, strerror(errno));
        return CORRAL_EXIT_INPUT;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/corral-spectest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        corral_cli_error("mkdtemp %s: %s", dir, strerror(errno));
        return CORRAL_EXIT_INTERNAL;
    }
    char src[4096 + 512], json[4096 + 512];
    snprintf(src, sizeof src, "%s", wast);
    for (size_t i = 0; i < sizeof wast_fixes / sizeof wast_fixes[0]; i++) {
        if (strcmp(base, wast_fixes[i].file) != 0) continue;
        snprintf(src, sizeof src, "%s/%s", dir, base);
        char *argv_e[] = {"sed", "-E", (char *)wast_fixes[i].script, (char *)wast, NULL};
        char *argv_b[] = {"sed", (char *)wast_fixes[i].script, (char *)wast, NULL};
        if (run_program(wast_fixes[i].extended ? argv_e : argv_b, src, NULL) != 0) {
            corral_cli_error("%s: sed fix failed", wast);
            rc = CORRAL_EXIT_INTERNAL;
            goto fail;
        }
        if (verbose) printf("  %s: applied the README's wast2json workaround\n", base);
        break;
    }
    /* Name the JSON after the .wast so messages and file names match. */
    char stem[256];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot) *dot = '\0';
    snprintf(json, sizeof json, "%s/%s.json", dir, stem);
    /* wast2json reports text modules it rejects (those are assert_malformed
     * tests) on stderr; show its output only when the conversion fails. */
    char errf[4096 + 64];
    snprintf(errf, sizeof errf, "%s/wast2json.err", dir);
    char *argv_w[] = {"wast2json", src, "-o", json, NULL};
    int w = run_program(argv_w, NULL, errf);
    if (w != 0) {
        corral_buf_t eb = CORRAL_BUF_INIT;
        if (corral_file_read(errf, 1 << 20, &eb, NULL) == CORRAL_OK && eb.len)
            fwrite(eb.data, 1, eb.len, stderr);
        corral_buf_free(&eb);
        corral_cli_error("%s: wast2json %s (exit %d)", wast,
                         w == 127 || w < 0 ? "could not run" : "failed", w);
        rc = CORRAL_EXIT_INPUT;
        goto fail;
    }
    if (run_json(json, wast, verbose, passed, failed, skipped) != CORRAL_OK) rc = CORRAL_EXIT_INPUT;
fail:
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int corral_cli_spectest(int argc, char **argv) {
    static const struct option opts[] = {
        {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
        {"engine", required_argument, NULL, 'e'}, {NULL, 0, NULL, 0}};
    int verbose = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'v':
            verbose = 1;
            break;
        case 'h':
            spectest_usage(stdout);
            return CORRAL_EXIT_OK;
        case 'e':
#ifdef CORRAL_SPECTEST_HAVE_AOT
            if (strcmp(optarg, "aot") == 0) {
                spectest_aot = 1;
                break;
            }
#endif
            if (strcmp(optarg, "interp") == 0) break;
            corral_cli_error("spectest: --engine must be interp%s, not '%s'",
#ifdef CORRAL_SPECTEST_HAVE_AOT
                             " or aot",
#else
                             "",
#endif
                             optarg);
            return CORRAL_EXIT_USAGE;
        default:
            spectest_usage(stderr);
            return CORRAL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        spectest_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    long passed = 0, failed = 0, skipped = 0;
    int rc = CORRAL_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        int r;
        if (ends_with(argv[i], ".wast"))
            r = run_wast(argv[i], verbose, &passed, &failed, &skipped);
        else if (ends_with(argv[i], ".json"))
            r = run_json(argv[i], argv[i], verbose, &passed, &failed, &skipped) == CORRAL_OK
                    ? CORRAL_EXIT_OK
                    : CORRAL_EXIT_INPUT;
        else {
            corral_cli_error("%s: expected a .wast or .json file", argv[i]);
            r = CORRAL_EXIT_USAGE;
        }
        if (r != CORRAL_EXIT_OK && rc == CORRAL_EXIT_OK) rc = r;
    }
    printf("%ld passed, %ld failed\n", passed, failed);
#ifdef CORRAL_SPECTEST_HAVE_AOT
    if (spectest_aot)
        printf("aot: %ld modules ran on native code, %ld on the interpreter (not eligible)\n", aot_native,
               aot_interp);
#endif
    if (rc != CORRAL_EXIT_OK) return rc;
    return failed ? CORRAL_EXIT_FAIL : CORRAL_EXIT_OK;
}

#endif
