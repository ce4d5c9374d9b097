/*
 * cmd_wasm.c - `corral wasm`: runs and checks plain WebAssembly modules with
 * Corral's engine, outside any actor protocol. `run` calls one export with
 * arguments parsed by the export's parameter types and prints each result as
 * "Result: <value>" (like wasm3's command line); `validate` loads a module and
 * prints "ok" or the engine's first error (which names the byte offset).
 * Modules with imports cannot be run: this command provides no host functions.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#if __has_include("corral_vm.h")
#define CORRAL_WASM_HAVE_VM 1
#include "corral_vm.h"
#endif

static void wasm_usage(FILE *out) {
    fprintf(out, "usage: corral wasm run [options] <module.wasm> <export> [args...]\n"
                 "       corral wasm validate <module.wasm>\n\n"
                 "Runs or checks a plain WebAssembly module with Corral's engine.\n"
                 "'corral wasm run --help' and 'corral wasm validate --help' tell more.\n"
                 "exit codes: 0 success, 1 trap or invalid module, 2 usage error,\n"
                 "3 missing or malformed file, 4 internal error\n");
}

static void run_usage(FILE *out) {
    fprintf(out, "usage: corral wasm run [options] <module.wasm> <export> [args...]\n\n"
                 "Instantiates the module (it may not import anything) and calls the exported\n"
                 "function with the given arguments, parsed by its parameter types: i32/i64 as\n"
                 "decimal or 0x hex (negative allowed), f32/f64 as C float literals (nan, inf\n"
                 "allowed), references only as 'null'. Prints each result as 'Result: <value>'.\n"
                 "Options come before the module file.\n\n"
                 "options:\n"
                 "  --fuel N          fuel budget for the call (engine units; default unlimited)\n"
                 "  --deadline-ms N   wall-clock budget for the call in milliseconds\n"
                 "  --max-pages N     memory.grow fails (returns -1) beyond N 64 KiB pages\n"
                 "  -h, --help        print this help\n\n"
                 "exit codes: 0 the call returned, 1 it trapped (or the module is invalid or\n"
                 "unlinkable), 2 usage error (bad argument or unknown export), 3 missing or\n"
                 "malformed file, 4 internal error\n");
}

static void validate_usage(FILE *out) {
    fprintf(out, "usage: corral wasm validate <module.wasm>\n\n"
                 "Decodes and validates the module. Prints 'ok', or the first error with its\n"
                 "byte offset.\n\n"
                 "exit codes: 0 valid, 1 invalid, 2 usage error, 3 missing or malformed file,\n"
                 "4 internal error\n");
}

#ifndef CORRAL_WASM_HAVE_VM

int corral_cli_wasm(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        wasm_usage(stdout);
        return CORRAL_EXIT_OK;
    }
    if (argc >= 3 && strcmp(argv[2], "--help") == 0) {
        if (strcmp(argv[1], "run") == 0) run_usage(stdout);
        else validate_usage(stdout);
        return CORRAL_EXIT_OK;
    }
    corral_cli_error("wasm: this corral was built without the WebAssembly engine");
    return CORRAL_EXIT_INTERNAL;
}

#else

static int load(const char *path, corral_vm_module_t **out) {
    corral_err_t err;
    corral_err_clear(&err);
    corral_buf_t b = CORRAL_BUF_INIT;
    *out = NULL;
    corral_status_t st = corral_file_read(path, 0, &b, &err);
    if (st == CORRAL_OK)
        st = corral_vm_module_new(b.data ? b.data : (const uint8_t *)"", b.len, out, &err);
    corral_buf_free(&b);
    if (st != CORRAL_OK) {
        corral_cli_error("%s: %s", path, corral_err_msg(&err));
        return corral_cli_exit_for(st);
    }
    return CORRAL_EXIT_OK;
}

static int cmd_validate(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            validate_usage(stdout);
            return CORRAL_EXIT_OK;
        }
        validate_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    if (argc - optind != 1) {
        validate_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    corral_vm_module_t *m;
    int rc = load(argv[optind], &m);
    if (rc == CORRAL_EXIT_OK) printf("ok\n");
    corral_vm_module_free(m);
    return rc;
}

static int parse_u64(const char *s, uint64_t *out, uint64_t max) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-' || v > max) return 0;
    *out = v;
    return 1;
}

/* Parses an argument for a parameter of type t into its slot. */
static int parse_arg(const char *s, uint8_t t, uint64_t *slot) {
    char *end;
    errno = 0;
    switch (t) {
    case CORRAL_VM_I32:
    case CORRAL_VM_I64: {
        int wide = t == CORRAL_VM_I64;
        if (*s == '-') {
            long long v = strtoll(s, &end, 0);
            if (errno || end == s || *end || (!wide && v < INT32_MIN)) return 0;
            *slot = wide ? (uint64_t)v : (uint32_t)(int32_t)v;
            return 1;
        }
        return parse_u64(s, slot, wide ? UINT64_MAX : UINT32_MAX);
    }
    case CORRAL_VM_F32: {
        float f = strtof(s, &end);
        if (end == s || *end) return 0;
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        *slot = b;
        return 1;
    }
    case CORRAL_VM_F64: {
        double d = strtod(s, &end);
        if (end == s || *end) return 0;
        memcpy(slot, &d, sizeof d);
        return 1;
    }
    case CORRAL_VM_FUNCREF:
    case CORRAL_VM_EXTERNREF:
        *slot = 0;
        return strcmp(s, "null") == 0;
    default:
        return 0;
    }
}

static void print_result(uint8_t t, uint64_t v) {
    switch (t) {
    case CORRAL_VM_I32:
        printf("Result: %" PRId32 "\n", (int32_t)(uint32_t)v);
        break;
    case CORRAL_VM_I64:
        printf("Result: %" PRId64 "\n", (int64_t)v);
        break;
    case CORRAL_VM_F32: {
        uint32_t b = (uint32_t)v;
        float f;
        memcpy(&f, &b, sizeof f);
        printf("Result: %.9g\n", (double)f);
        break;
    }
    case CORRAL_VM_F64: {
        double d;
        memcpy(&d, &v, sizeof d);
        printf("Result: %.17g\n", d);
        break;
    }
    default:
        if (v)
            printf("Result: ref 0x%" PRIx64 "\n", v);
        else
            printf("Result: null\n");
    }
}

static int cmd_run(int argc, char **argv) {
    static const struct option opts[] = {{"fuel", required_argument, NULL, 'f'},
                                         {"deadline-ms", required_argument, NULL, 'd'},
                                         {"max-pages", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    corral_vm_limits_t limits;
    memset(&limits, 0, sizeof limits);
    uint64_t v;
    int c;
    optind = 1;
    /* '+': stop at the module file, so negative arguments are not options. */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (!parse_u64(optarg, &v, UINT64_MAX) || v == 0) goto bad_number;
            limits.fuel = v;
            break;
        case 'd':
            if (!parse_u64(optarg, &v, UINT64_MAX / 1000000) || v == 0) goto bad_number;
            limits.deadline_ns = v * 1000000;
            break;
        case 'p':
            if (!parse_u64(optarg, &v, 65536) || v == 0) goto bad_number;
            limits.max_pages = (uint32_t)v;
            break;
        case 'h':
            run_usage(stdout);
            return CORRAL_EXIT_OK;
        default:
            run_usage(stderr);
            return CORRAL_EXIT_USAGE;
        }
    }
    if (argc - optind < 2) {
        run_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    const char *path = argv[optind], *name = argv[optind + 1];
    char **args = argv + optind + 2;
    uint32_t nargs = (uint32_t)(argc - optind - 2);

    corral_vm_module_t *m = NULL;
    corral_vm_instance_t *inst = NULL;
    uint64_t *slots = NULL;
    corral_err_t err;
    corral_err_clear(&err);
    int rc = load(path, &m);
    if (rc != CORRAL_EXIT_OK) goto done;
    corral_status_t st = corral_vm_instance_new(m, NULL, &limits, NULL, &inst, &err);
    if (st != CORRAL_OK) {
        corral_cli_error("%s: %s", path, corral_err_msg(&err));
        rc = corral_cli_exit_for(st);
        goto done;
    }
    corral_vm_extern_t fn;
    if (corral_vm_instance_export(inst, name, &fn) != CORRAL_OK ||
        fn.kind != CORRAL_VM_EXTERN_FUNC) {
        corral_cli_error("%s: no exported function '%s'", path, name);
        rc = CORRAL_EXIT_USAGE;
        goto done;
    }
    corral_vm_functype_t ft = corral_vm_func_type(fn);
    if (ft.nparams != nargs) {
        corral_cli_error("'%s' takes %u arguments, %u given", name, ft.nparams, nargs);
        rc = CORRAL_EXIT_USAGE;
        goto done;
    }
    size_t nslots = (ft.nparams > ft.nresults ? ft.nparams : ft.nresults) + 1;
    slots = corral_calloc(nslots * 2, sizeof *slots);
    if (!slots) {
        corral_cli_error("out of memory");
        rc = CORRAL_EXIT_INTERNAL;
        goto done;
    }
    uint64_t *results = slots + nslots;
    for (uint32_t i = 0; i < nargs; i++) {
        if (!parse_arg(args[i], ft.params[i], &slots[i])) {
            corral_cli_error("argument %u '%s' is not a valid %s", i + 1, args[i],
                             ft.params[i] == CORRAL_VM_I32   ? "i32"
                             : ft.params[i] == CORRAL_VM_I64 ? "i64"
                             : ft.params[i] == CORRAL_VM_F32 ? "f32"
                             : ft.params[i] == CORRAL_VM_F64 ? "f64"
                                                             : "reference ('null')");
            rc = CORRAL_EXIT_USAGE;
            goto done;
        }
    }
    st = corral_vm_call(inst, fn, slots, nargs, results, ft.nresults, &err);
    if (st != CORRAL_OK) {
        corral_cli_error("%s: %s", name, corral_err_msg(&err));
        rc = corral_cli_exit_for(st);
        goto done;
    }
    for (uint32_t i = 0; i < ft.nresults; i++)
        print_result(ft.results[i], results[i]);
done:
    corral_free(slots);
    corral_vm_instance_free(inst);
    corral_vm_module_free(m);
    return rc;
bad_number:
    corral_cli_error("--%s needs a positive number, got '%s'",
                     opts[c == 'f'   ? 0
                          : c == 'd' ? 1
                                     : 2]
                         .name,
                     optarg);
    return CORRAL_EXIT_USAGE;
}

int corral_cli_wasm(int argc, char **argv) {
    if (argc < 2) {
        wasm_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        wasm_usage(stdout);
        return CORRAL_EXIT_OK;
    }
    if (strcmp(argv[1], "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "validate") == 0) return cmd_validate(argc - 1, argv + 1);
    corral_cli_error("wasm: unknown subcommand '%s' (run, validate)", argv[1]);
    return CORRAL_EXIT_USAGE;
}

#endif
