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
    fprintf(out, "usage: corral compile [options] <module.wasm>\n"
                 "       corral compile --sign SEED <artifact>\n"
                 "       corral compile --info <artifact>\n\n"
                 "Compiles a module ahead of time into a native artifact for this machine\n"
                 "(wasm2c from wabt, then the C compiler at -O2 into a shared object). The\n"
                 "artifact records the module's hash, the engine ABI, the compiler and the\n"
                 "target; hosts use it only for that exact module and ABI, and only from\n"
                 "their own cache directory unless it is signed by a signer they allow.\n\n"
                 "options:\n"
                 "  -o, --output PATH  write the artifact here (default: the host's cache,\n"
                 "                     $CORRAL_AOT_CACHE or ~/.cache/corral/aot)\n"
                 "  --cc CC            C compiler (default: $CC, else cc)\n"
                 "  --march ARCH       -march for the C compiler (default: native)\n"
                 "  --keep             keep the work directory (generated C) and print it\n"
                 "  --sign SEED        sign the artifact with an operator (SO...) or account\n"
                 "                     (SA...) seed, given as text or as a seed file: ed25519\n"
                 "                     over every header field and every ELF byte. Given an\n"
                 "                     existing artifact instead of a module, signs it in\n"
                 "                     place (replacing an earlier signature). Hosts run it\n"
                 "                     from any path when started with --aot-signer <key>\n"
                 "  --info PATH        print an artifact's header, its signer and whether\n"
                 "                     the signature verifies, instead of compiling\n"
                 "  -h, --help         print this help\n\n"
                 "exit codes: 0 compiled (or signed; --info: header printed and any\n"
                 "signature verifies), 1 compile failed (unsupported module, compiler error)\n"
                 "or --info: the signature does not verify, 2 usage error, 3 missing or\n"
                 "malformed file, 4 internal error or missing tool (wasm2c, cc)\n");
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
        {"sign", required_argument, 0, 's'},   {0, 0, 0, 0}};
    const char *out = NULL, *info_path = NULL, *seed = NULL;
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
        case 's': seed = optarg; break;
        case 'h': compile_usage(stdout); return CORRAL_EXIT_OK;
        default: compile_usage(stderr); return CORRAL_EXIT_USAGE;
        }
    }
    corral_err_t err;
    corral_err_clear(&err);
    corral_aot_info_t info;
    if (info_path) {
        if (seed || optind != argc) {
            corral_cli_error("compile: --info takes only the artifact");
            return CORRAL_EXIT_USAGE;
        }
        corral_status_t st = corral_aot_info_read(info_path, &info, &err);
        if (st != CORRAL_OK) {
            corral_cli_error("compile: %s", corral_err_msg(&err));
            return CORRAL_EXIT_INPUT;
        }
        printf("module-sha256 %s\nabi %u (this host: %u)\ncompiler %s\ntarget %s\nelf-bytes %llu\n",
               info.module_hash, info.abi, corral_aot_abi(), info.compiler, info.target,
               (unsigned long long)info.elf_bytes);
        if (!info.signer[0]) {
            printf("signer none (unsigned: hosts use it only from their own cache)\n");
            return CORRAL_EXIT_OK;
        }
        printf("signer %s\n", info.signer);
        corral_err_clear(&err);
        if (corral_aot_verify(info_path, NULL, NULL, &err) != CORRAL_OK) {
            printf("signature does not verify: %s\n", corral_err_msg(&err));
            return CORRAL_EXIT_FAIL;
        }
        printf("signature verifies\n");
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
    if (wasm.len >= 13 && memcmp(wasm.data, "CORRAL-AOT 1\n", 13) == 0) {
        /* an artifact: sign it in place */
        corral_buf_free(&wasm);
        if (!seed || out || o.cc || o.march || o.keep_temp) {
            corral_cli_error("compile: %s is an artifact already: only --sign SEED applies to it", in);
            return CORRAL_EXIT_USAGE;
        }
        if ((st = corral_aot_sign(in, seed, &info, &err)) != CORRAL_OK) {
            corral_cli_error("compile: --sign: %s", corral_err_msg(&err));
            return st == CORRAL_ERR_NOMEM || st == CORRAL_ERR_IO ? CORRAL_EXIT_INTERNAL
                   : st == CORRAL_ERR_INVALID                  ? CORRAL_EXIT_INPUT
                                                               : CORRAL_EXIT_USAGE;
        }
        printf("%s: signed by %s\n", in, info.signer);
        return CORRAL_EXIT_OK;
    }
    if (seed) { /* a bad seed is refused before minutes of compiling */
        corral_nkey_t k;
        st = corral_nkey_load(seed, CORRAL_NKEY_ANY, &k, &err);
        int type_ok = st == CORRAL_OK && (k.type == CORRAL_NKEY_OPERATOR || k.type == CORRAL_NKEY_ACCOUNT);
        corral_nkey_wipe(&k);
        if (!type_ok) {
            corral_buf_free(&wasm);
            if (st == CORRAL_OK) corral_cli_error("compile: --sign wants an operator (SO...) or account (SA...) seed");
            else corral_cli_error("compile: --sign: %s", corral_err_msg(&err));
            return CORRAL_EXIT_USAGE;
        }
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
           "native code\n  %u vectorised loop%s (fuel checked when each ends)\n",
           out, (double)(corral_now_ns() - t0) / 1e9, info.module_hash, info.abi, info.compiler, info.target,
           (unsigned long long)info.elf_bytes, info.vector_loops, info.vector_loops == 1 ? "" : "s");
    if (seed) {
        if ((st = corral_aot_sign(out, seed, &info, &err)) != CORRAL_OK) {
            corral_cli_error("compile: --sign: %s (the artifact is written, unsigned)", corral_err_msg(&err));
            return st == CORRAL_ERR_NOMEM || st == CORRAL_ERR_IO ? CORRAL_EXIT_INTERNAL : CORRAL_EXIT_USAGE;
        }
        printf("  signer %s\n", info.signer);
    }
    return CORRAL_EXIT_OK;
#endif
}
