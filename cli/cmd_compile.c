/*
 * cmd_compile.c - `corral compile`: builds a native artifact of a module for
 * this machine with the AOT tier (wapc/aot: wasm2c, then the system C
 * compiler into a shared object), recording the module's hash, the engine
 * ABI, the compiler and the target. Without -o the artifact goes to the
 * host's own cache directory, where `corral up` finds it.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#if __has_include("corral_aot.h")
#include "corral_aot.h"
#include "corral_claims.h"
#define CORRAL_COMPILE_HAVE_AOT 1
#endif

static void compile_usage(FILE *out) {
    fprintf(out, "usage: corral compile [options] <module.wasm>\n\n"
                 "Compiles a module ahead of time into a native artifact for this machine\n"
                 "(wasm2c from wabt, then the C compiler at -O2 into a shared object). The\n"
                 "artifact records the module's hash, the engine ABI, the compiler and the\n"
                 "target; hosts use it only for that exact module and ABI.\n\n"
                 "options:\n"
                 "  -o, --output PATH  write the artifact here (default: the host's cache,\n"
                 "                     $CORRAL_AOT_CACHE or ~/.cache/corral/aot)\n"
                 "  --cc CC            C compiler (default: $CC, else cc)\n"
                 "  --march ARCH       -march for the C compiler (default: native)\n"
                 "  --keep             keep the work directory (generated C) and print it\n"
                 "  --info PATH        print an artifact's header instead of compiling\n"
                 "  -h, --help         print this help\n\n"
                 "exit codes: 0 compiled, 1 compile failed (unsupported module, compiler\n"
                 "error), 2 usage error, 3 missing or malformed file, 4 internal error or\n"
                 "missing tool (wasm2c, cc)\n");
}

int corral_cli_compile(int argc, char **argv) {
#ifndef CORRAL_COMPILE_HAVE_AOT
    (void)argc;
    (void)argv;
    corral_cli_error("compile: this build has no AOT tier");
    return CORRAL_EXIT_INTERNAL;
#else
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"cc", required_argument, 0, 'c'},
        {"march", required_argument, 0, 'm'},  {"keep", no_argument, 0, 'k'},
        {"info", required_argument, 0, 'i'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *out = NULL, *info_path = NULL;
    corral_aot_opts_t o;
    memset(&o, 0, sizeof o);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'c': o.cc = optarg; break;
        case 'm': o.march = optarg; break;
        case 'k': o.keep_temp = 1; break;
        case 'i': info_path = optarg; break;
        case 'h': compile_usage(stdout); return CORRAL_EXIT_OK;
        default: compile_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    corral_err_t err;
    corral_err_clear(&err);
    corral_aot_info_t info;
    if (info_path) {
        corral_status_t st = corral_aot_info_read(info_path, &info, &err);
        if (st != CORRAL_OK) {
            corral_cli_error("compile: %s", corral_err_msg(&err));
            return CORRAL_EXIT_INPUT;
        }
        printf("module-sha256 %s\nabi %u (this host: %u)\ncompiler %s\ntarget %s\nelf-bytes %llu\n",
               info.module_hash, info.abi, corral_aot_abi(), info.compiler, info.target,
               (unsigned long long)info.elf_bytes);
        return CORRAL_EXIT_OK;
    }
    if (optind != argc - 1) {
        compile_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    const char *in = argv[optind];
    corral_buf_t wasm = {0};
    corral_status_t st = corral_file_read(in, (size_t)1 << 30, &wasm, &err);
    if (st != CORRAL_OK) {
        corral_cli_error("compile: %s", corral_err_msg(&err));
        return CORRAL_EXIT_INPUT;
    }
    char cache_path[4096];
    if (!out) {
        char hash[65];
        st = corral_claims_module_hash(wasm.data, wasm.len, hash, &err);
        if (st == CORRAL_OK) st = corral_aot_cache_path(hash, cache_path, sizeof cache_path, &err);
        if (st != CORRAL_OK) {
            corral_buf_free(&wasm);
            corral_cli_error("compile: %s", corral_err_msg(&err));
            return corral_cli_exit_for(st);
        }
        out = cache_path;
    }
    uint64_t t0 = corral_now_ns();
    st = corral_aot_compile(wasm.data, wasm.len, out, &o, &info, &err);
    corral_buf_free(&wasm);
    if (st != CORRAL_OK) {
        corral_cli_error("compile: %s: %s", in, corral_err_msg(&err));
        if (st == CORRAL_ERR_NOT_FOUND) return CORRAL_EXIT_INTERNAL;
        if (st == CORRAL_ERR_MALFORMED || st == CORRAL_ERR_INVALID) return CORRAL_EXIT_INPUT;
        return st == CORRAL_ERR_NOMEM ? CORRAL_EXIT_INTERNAL : CORRAL_EXIT_FAIL;
    }
    printf("%s: compiled in %.2f s\n  module-sha256 %s\n  abi %u\n  compiler %s\n  target %s\n  %llu bytes of "
           "native code\n",
           out, (double)(corral_now_ns() - t0) / 1e9, info.module_hash, info.abi, info.compiler, info.target,
           (unsigned long long)info.elf_bytes);
    return CORRAL_EXIT_OK;
#endif
}
