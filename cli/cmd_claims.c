/*
 * cmd_claims.c - `corral claims sign|inspect|verify`: put a signed claims
 * token into an actor module, show one, and check one the way the host does.
 * All the work is in the claims module (corral_claims.h); this file parses
 * arguments, reads and writes files and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "corral_claims.h"

static void claims_usage(FILE *out) {
    fprintf(out,
            "usage: corral claims sign <module.wasm> --issuer <seed or file> --name <name>\n"
            "                          -o <out.wasm> [options]\n"
            "       corral claims inspect <module.wasm> [--json]\n"
            "       corral claims verify <module.wasm> [--issuer <account key>]...\n"
            "                            [--revoked <jti or module key>]... [--skew <seconds>]\n\n"
            "sign     embeds a signed claims token (a custom section) in an actor module,\n"
            "         replacing any token it already has. Options:\n"
            "  -i, --issuer KEY          account seed (SA...) or a file holding it (required)\n"
            "  -u, --subject KEY         the actor's module seed (SM...) or file; without it a new\n"
            "                            module key is made and its seed written to <out>.nk (0600)\n"
            "  -n, --name NAME           the actor's name (required)\n"
            "  -c, --cap ID              a capability contract id the actor may use (repeatable),\n"
            "                            e.g. wasmcloud:httpserver, wasmcloud:keyvalue\n"
            "  -t, --tag TAG             a tag (repeatable)\n"
            "  -r, --rev N               revision (integer, default 0)\n"
            "  -v, --ver V               version string\n"
            "  -a, --call-alias A        a name other actors may call this one by\n"
            "  -x, --expires-in-days D   token expires D days from now (default: never)\n"
            "  -b, --not-before-days D   token is valid only D days from now\n"
            "      --section NAME        jwt (default) or wasmcloud_jwt\n"
            "  -o, --output FILE         where to write the signed module (required; the input\n"
            "                            is never overwritten implicitly)\n"
            "inspect  shows the claims of a module, whether its hash matches, and whether it\n"
            "         verifies; --json prints one object {header, claims, module_hash,\n"
            "         hash_matches, valid, error}.\n"
            "verify   checks a module as a host does: token, header, issuer signature, subject,\n"
            "         hash, expiry, allowed issuers (--issuer, repeatable) and revocations\n"
            "         (--revoked, repeatable). Prints nothing to stderr when it verifies.\n\n"
            "exit codes: 0 success (inspect/verify: the module verifies),\n"
            "            1 the module does not verify (reason on stderr),\n"
            "            2 usage error, 3 missing or unreadable file, not a wasm module, malformed\n"
            "            section, or a bad or wrong-type key, 4 internal error\n");
}

static int fail(corral_status_t st, const corral_err_t *err) {
    corral_cli_error("%s", corral_err_msg(err));
    return corral_cli_exit_for(st);
}

static int parse_int(const char *s, const char *what, long long min, long long max, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        corral_cli_error("%s must be an integer from %lld to %lld, not '%s'", what, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* A growable list of borrowed argv strings. */
typedef struct {
    const char **v;
    size_t n;
} strlist_t;

static int strlist_add(strlist_t *l, const char *s) {
    const char **nv = corral_realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv) return -1;
    nv[l->n++] = s;
    l->v = nv;
    return 0;
}

/* A seed given on the command line is erased from argv once read, so it does
 * not linger in the process's memory (or its /proc cmdline). */
static void wipe_seed_arg(char *arg) {
    if (arg[0] == 'S' && !strchr(arg, '/') && !strchr(arg, '.'))
        corral_nkey_wipe_text(arg, strlen(arg));
}

static int claims_sign(int argc, char **argv) {
    enum { OPT_SECTION = 1000 };
    static const struct option opts[] = {
        {"issuer", required_argument, NULL, 'i'},   {"subject", required_argument, NULL, 'u'},
        {"name", required_argument, NULL, 'n'},     {"cap", required_argument, NULL, 'c'},
        {"tag", required_argument, NULL, 't'},      {"rev", required_argument, NULL, 'r'},
        {"ver", required_argument, NULL, 'v'},      {"call-alias", required_argument, NULL, 'a'},
        {"expires-in-days", required_argument, NULL, 'x'},
        {"not-before-days", required_argument, NULL, 'b'},
        {"section", required_argument, NULL, OPT_SECTION},
        {"output", required_argument, NULL, 'o'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    char *issuer_arg = NULL, *subject_arg = NULL; /* writable: seeds are wiped */
    const char *out_path = NULL;
    strlist_t caps = {0}, tags = {0};
    corral_claims_sign_opts_t so = {0};
    int64_t exp_days = -1, nbf_days = -1;
    corral_nkey_t issuer = {0}, subject = {0};
    corral_buf_t in = CORRAL_BUF_INIT, out = CORRAL_BUF_INIT;
    char *nk_path = NULL;
    corral_err_t err;
    corral_status_t st;
    int rc = CORRAL_EXIT_USAGE, c, made_subject = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:u:n:c:t:r:v:a:x:b:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': issuer_arg = optarg; break;
        case 'u': subject_arg = optarg; break;
        case 'n': so.name = optarg; break;
        case 'c':
        case 't':
            if (strlist_add(c == 'c' ? &caps : &tags, optarg) != 0) {
                rc = CORRAL_EXIT_INTERNAL;
                goto done;
            }
            break;
        case 'r':
            if (parse_int(optarg, "--rev", 0, INT32_MAX, &so.rev)) goto done;
            break;
        case 'v': so.ver = optarg; break;
        case 'a': so.call_alias = optarg; break;
        case 'x':
            if (parse_int(optarg, "--expires-in-days", 0, 36500, &exp_days)) goto done;
            break;
        case 'b':
            if (parse_int(optarg, "--not-before-days", 0, 36500, &nbf_days)) goto done;
            break;
        case OPT_SECTION:
            if (strcmp(optarg, "jwt") == 0)
                so.section = CORRAL_CLAIMS_SECTION_JWT;
            else if (strcmp(optarg, "wasmcloud_jwt") == 0)
                so.section = CORRAL_CLAIMS_SECTION_WASMCLOUD_JWT;
            else {
                corral_cli_error("--section must be jwt or wasmcloud_jwt, not '%s'", optarg);
                goto done;
            }
            break;
        case 'o': out_path = optarg; break;
        case 'h':
            claims_usage(stdout);
            rc = CORRAL_EXIT_OK;
            goto done;
        default:
            claims_usage(stderr);
            goto done;
        }
    }
    if (argc - optind != 1) {
        corral_cli_error("claims sign needs exactly one module (see 'corral claims --help')");
        goto done;
    }
    const char *in_path = argv[optind];
    if (!issuer_arg) {
        corral_cli_error("claims sign needs --issuer <account seed or file>");
        goto done;
    }
    if (!so.name || !*so.name) {
        corral_cli_error("claims sign needs --name <actor name>");
        goto done;
    }
    if (!out_path) {
        corral_cli_error("claims sign will not overwrite %s: give the output with -o <out.wasm>",
                         in_path);
        goto done;
    }
    st = corral_nkey_load(issuer_arg, CORRAL_NKEY_ACCOUNT, &issuer, &err);
    wipe_seed_arg(issuer_arg);
    if (st != CORRAL_OK) {
        corral_err_wrap(&err, "--issuer");
        rc = fail(st, &err);
        goto done;
    }
    if (subject_arg) {
        st = corral_nkey_load(subject_arg, CORRAL_NKEY_MODULE, &subject, &err);
        wipe_seed_arg(subject_arg);
        if (st != CORRAL_OK) {
            corral_err_wrap(&err, "--subject");
            rc = fail(st, &err);
            goto done;
        }
    } else {
        size_t n = strlen(out_path) + 4;
        if (!(nk_path = corral_malloc(n))) {
            rc = CORRAL_EXIT_INTERNAL;
            goto done;
        }
        snprintf(nk_path, n, "%s.nk", out_path);
        struct stat sb;
        if (stat(nk_path, &sb) == 0) {
            corral_cli_error("%s already exists: pass --subject %s to keep the actor's identity, or "
                             "remove it to make a new one",
                             nk_path, nk_path);
            goto done;
        }
        if ((st = corral_nkey_generate(CORRAL_NKEY_MODULE, &subject, &err)) != CORRAL_OK) {
            rc = fail(st, &err);
            goto done;
        }
        made_subject = 1;
    }
    if ((st = corral_file_read(in_path, 0, &in, &err)) != CORRAL_OK) {
        rc = fail(st, &err);
        goto done;
    }
    int64_t now = corral_unix_time();
    so.iat = now;
    if (exp_days >= 0) so.exp = now + exp_days * 86400;
    if (nbf_days > 0) so.nbf = now + nbf_days * 86400;
    so.caps = caps.v;
    so.ncaps = caps.n;
    so.tags = tags.v;
    so.ntags = tags.n;
    if ((st = corral_claims_sign_module(in.data, in.len, &so, &issuer, &subject, &out, NULL, &err)) !=
        CORRAL_OK) {
        corral_err_wrap(&err, "%s", in_path);
        rc = fail(st, &err);
        goto done;
    }
    if (made_subject) {
        char seed[CORRAL_NKEY_SEED_LEN + 2];
        corral_nkey_seed_str(&subject, seed, NULL);
        seed[CORRAL_NKEY_SEED_LEN] = '\n';
        st = corral_file_write(nk_path, seed, CORRAL_NKEY_SEED_LEN + 1, 0600, &err);
        corral_nkey_wipe_text(seed, sizeof seed);
        if (st != CORRAL_OK) {
            rc = fail(st, &err);
            goto done;
        }
    }
    if ((st = corral_file_write(out_path, out.data, out.len, 0644, &err)) != CORRAL_OK) {
        rc = fail(st, &err);
        goto done;
    }
    char iss[CORRAL_NKEY_PUBLIC_LEN + 1], sub[CORRAL_NKEY_PUBLIC_LEN + 1];
    corral_nkey_public_str(&issuer, iss);
    corral_nkey_public_str(&subject, sub);
    printf("signed %s -> %s\n  actor:  %s (%s)\n  issuer: %s\n", in_path, out_path, sub, so.name,
           iss);
    if (made_subject) printf("  module seed written to %s (keep it to re-sign this actor)\n", nk_path);
    rc = CORRAL_EXIT_OK;
done:
    corral_nkey_wipe(&issuer);
    corral_nkey_wipe(&subject);
    corral_free(caps.v);
    corral_free(tags.v);
    corral_free(nk_path);
    corral_buf_free(&in);
    corral_buf_free(&out);
    return rc;
}

static void print_time(const char *label, int has, int64_t t, const char *none) {
    char buf[64];
    if (!has) {
        printf("%-14s%s\n", label, none);
        return;
    }
    struct tm tm;
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm))
        printf("%-14s%s (%lld)\n", label, buf, (long long)t);
    else
        printf("%-14s%lld\n", label, (long long)t);
}

static void print_list(const char *label, char **v, size_t n) {
    printf("%-14s", label);
    if (n == 0) printf("(none)");
    for (size_t i = 0; i < n; i++) printf("%s%s", i ? ", " : "", v[i]);
    printf("\n");
}

static int claims_inspect(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int json = 0, c, rc;
    corral_buf_t in = CORRAL_BUF_INIT;
    corral_claims_t *cl = NULL;
    corral_err_t err, verr;
    corral_status_t st, vst;
    char hash[65] = "";
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'h') {
            claims_usage(stdout);
            return CORRAL_EXIT_OK;
        } else {
            claims_usage(stderr);
            return CORRAL_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        corral_cli_error("claims inspect needs exactly one module (see 'corral claims --help')");
        return CORRAL_EXIT_USAGE;
    }
    const char *path = argv[optind];
    if ((st = corral_file_read(path, 0, &in, &err)) != CORRAL_OK) {
        corral_buf_free(&in);
        return fail(st, &err);
    }
    st = corral_claims_read_module(in.data, in.len, &cl, &err);
    if (st == CORRAL_OK) corral_claims_module_hash(in.data, in.len, hash, NULL);
    vst = st == CORRAL_OK ? corral_claims_verify_module(in.data, in.len, NULL, NULL, &verr) : st;
    if (st != CORRAL_OK) verr = err;
    int hash_ok = cl && cl->hash && strcmp(cl->hash, hash) == 0;
    rc = vst == CORRAL_OK ? CORRAL_EXIT_OK : corral_cli_exit_for(vst);
    if (json) {
        json_t *o = json_object();
        json_t *h = cl ? json_loads(cl->header_json, 0, NULL) : NULL;
        json_t *j = cl ? json_loads(cl->claims_json, 0, NULL) : NULL;
        json_object_set_new(o, "module", json_string(path));
        json_object_set_new(o, "header", h ? h : json_null());
        json_object_set_new(o, "claims", j ? j : json_null());
        json_object_set_new(o, "module_hash", hash[0] ? json_string(hash) : json_null());
        json_object_set_new(o, "hash_matches", json_boolean(hash_ok));
        json_object_set_new(o, "valid", json_boolean(vst == CORRAL_OK));
        json_object_set_new(o, "error", vst == CORRAL_OK ? json_null() : json_string(corral_err_msg(&verr)));
        json_object_set_new(o, "error_code",
                            vst == CORRAL_OK ? json_null() : json_string(corral_status_name(vst)));
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        json_decref(o);
        if (!s) {
            rc = CORRAL_EXIT_INTERNAL;
        } else {
            printf("%s\n", s);
            free(s);
        }
        if (st != CORRAL_OK) corral_cli_error("%s: %s", path, corral_err_msg(&err));
    } else if (st != CORRAL_OK) {
        corral_cli_error("%s: %s", path, corral_err_msg(&err));
    } else {
        printf("%-14s%s\n", "module:", path);
        printf("%-14s%s\n", "issuer:", cl->iss ? cl->iss : "(none)");
        printf("%-14s%s\n", "subject:", cl->sub ? cl->sub : "(none)");
        printf("%-14s%s\n", "name:", cl->name ? cl->name : "(none)");
        printf("%-14s%s (%s)\n", "hash:", cl->hash ? cl->hash : "(none)",
               hash_ok ? "matches the module" : "DOES NOT match the module");
        if (!hash_ok) printf("%-14s%s\n", "module hash:", hash);
        print_list("capabilities:", cl->caps, cl->ncaps);
        print_list("tags:", cl->tags, cl->ntags);
        printf("%-14s%lld\n", "revision:", (long long)cl->rev);
        printf("%-14s%s\n", "version:", cl->ver ? cl->ver : "(none)");
        printf("%-14s%s\n", "call alias:", cl->call_alias ? cl->call_alias : "(none)");
        printf("%-14s%s\n", "token id:", cl->jti ? cl->jti : "(none)");
        print_time("issued:", 1, cl->iat, "");
        print_time("expires:", cl->has_exp, cl->exp, "never");
        print_time("not before:", cl->has_nbf, cl->nbf, "(none)");
        if (vst == CORRAL_OK)
            printf("%-14svalid\n", "verdict:");
        else
            printf("%-14sINVALID (%s): %s\n", "verdict:", corral_status_name(vst),
                   corral_err_msg(&verr));
    }
    corral_claims_free(cl);
    corral_buf_free(&in);
    return rc;
}

static int claims_verify(int argc, char **argv) {
    static const struct option opts[] = {{"issuer", required_argument, NULL, 'i'},
                                         {"revoked", required_argument, NULL, 'R'},
                                         {"skew", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    strlist_t issuers = {0}, revoked = {0};
    corral_claims_verify_opts_t vo = {0};
    corral_buf_t in = CORRAL_BUF_INIT;
    corral_claims_t *cl = NULL;
    corral_err_t err;
    corral_status_t st;
    int rc = CORRAL_EXIT_USAGE, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:R:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if ((st = corral_nkey_from_public(optarg, CORRAL_NKEY_ACCOUNT, NULL, &err)) != CORRAL_OK) {
                corral_err_wrap(&err, "--issuer '%s'", optarg);
                rc = fail(st, &err);
                goto done;
            }
            if (strlist_add(&issuers, optarg)) {
                rc = CORRAL_EXIT_INTERNAL;
                goto done;
            }
            break;
        case 'R':
            if (strlist_add(&revoked, optarg)) {
                rc = CORRAL_EXIT_INTERNAL;
                goto done;
            }
            break;
        case 's':
            if (parse_int(optarg, "--skew", 0, 86400 * 365, &vo.clock_skew)) goto done;
            break;
        case 'h':
            claims_usage(stdout);
            rc = CORRAL_EXIT_OK;
            goto done;
        default:
            claims_usage(stderr);
            goto done;
        }
    }
    if (argc - optind != 1) {
        corral_cli_error("claims verify needs exactly one module (see 'corral claims --help')");
        goto done;
    }
    const char *path = argv[optind];
    if ((st = corral_file_read(path, 0, &in, &err)) != CORRAL_OK) {
        rc = fail(st, &err);
        goto done;
    }
    vo.allowed_issuers = issuers.v;
    vo.n_allowed_issuers = issuers.n;
    vo.revoked = revoked.v;
    vo.n_revoked = revoked.n;
    if ((st = corral_claims_verify_module(in.data, in.len, &vo, &cl, &err)) != CORRAL_OK) {
        corral_err_wrap(&err, "%s", path);
        rc = fail(st, &err);
        goto done;
    }
    printf("%s: valid (actor %s \"%s\", issuer %s)\n", path, cl->sub, cl->name ? cl->name : "",
           cl->iss);
    rc = CORRAL_EXIT_OK;
done:
    corral_claims_free(cl);
    corral_free(issuers.v);
    corral_free(revoked.v);
    corral_buf_free(&in);
    return rc;
}

int corral_cli_claims(int argc, char **argv) {
    if (argc < 2) {
        claims_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        claims_usage(stdout);
        return CORRAL_EXIT_OK;
    }
    if (strcmp(argv[1], "sign") == 0) return claims_sign(argc - 1, argv + 1);
    if (strcmp(argv[1], "inspect") == 0) return claims_inspect(argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0) return claims_verify(argc - 1, argv + 1);
    corral_cli_error("unknown claims command '%s' (expected sign, inspect or verify)", argv[1]);
    return CORRAL_EXIT_USAGE;
}
