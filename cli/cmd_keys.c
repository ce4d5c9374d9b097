/*
 * cmd_keys.c - `corral keys`: make nkeys (account, module, server, cluster,
 * operator, user, service) and print the public key of a seed. All key work
 * is in the claims module (corral_claims.h); this file parses and prints.
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "corral_claims.h"

static void keys_usage(FILE *out) {
    fprintf(out,
            "usage: corral keys gen <account|module|server|cluster|operator|user|service> [--json]\n"
            "       corral keys get <seed or file>\n\n"
            "gen  makes a new key and prints its public key and its seed. The seed is the\n"
            "     private half: keep it secret (store it in a file with mode 0600).\n"
            "     --json prints {\"public_key\": \"...\", \"seed\": \"...\"}.\n"
            "get  prints the public key of a seed, given as text or as a file holding it.\n\n"
            "Key prefixes: account A (signs actors), module M (actors), server N (hosts),\n"
            "cluster C (lattice), operator O, user U, service V (providers); seeds start S.\n\n"
            "exit codes: 0 success, 2 usage error, 3 unreadable or malformed seed,\n"
            "            4 internal error\n");
}

static int keys_gen(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'h') {
            keys_usage(stdout);
            return CORRAL_EXIT_OK;
        } else {
            keys_usage(stderr);
            return CORRAL_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        corral_cli_error("keys gen needs exactly one key type (see 'corral keys --help')");
        return CORRAL_EXIT_USAGE;
    }
    corral_nkey_type_t type;
    corral_err_t err;
    if (corral_nkey_type_parse(argv[optind], &type, &err) != CORRAL_OK) {
        corral_cli_error("%s", corral_err_msg(&err));
        return CORRAL_EXIT_USAGE;
    }
    corral_nkey_t k;
    char pub[CORRAL_NKEY_PUBLIC_LEN + 1], seed[CORRAL_NKEY_SEED_LEN + 1];
    if (corral_nkey_generate(type, &k, &err) != CORRAL_OK ||
        corral_nkey_seed_str(&k, seed, &err) != CORRAL_OK) {
        corral_nkey_wipe(&k);
        corral_cli_error("%s", corral_err_msg(&err));
        return CORRAL_EXIT_INTERNAL;
    }
    corral_nkey_public_str(&k, pub);
    corral_nkey_wipe(&k);
    if (json)
        printf("{\"public_key\": \"%s\", \"seed\": \"%s\"}\n", pub, seed);
    else
        printf("Public Key: %s\nSeed: %s\n\nRemember that the seed is private: treat it as a "
               "secret.\n",
               pub, seed);
    corral_nkey_wipe_text(seed, sizeof seed);
    return fflush(stdout) == 0 ? CORRAL_EXIT_OK : CORRAL_EXIT_INTERNAL;
}

static int keys_get(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            keys_usage(stdout);
            return CORRAL_EXIT_OK;
        }
        keys_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    if (argc - optind != 1) {
        corral_cli_error("keys get needs exactly one seed or seed file (see 'corral keys --help')");
        return CORRAL_EXIT_USAGE;
    }
    corral_nkey_t k;
    corral_err_t err;
    corral_status_t st = corral_nkey_load(argv[optind], CORRAL_NKEY_ANY, &k, &err);
    /* Erase a seed given as text from argv now that it is read. */
    if (argv[optind][0] == 'S' && !strchr(argv[optind], '/') && !strchr(argv[optind], '.'))
        corral_nkey_wipe_text(argv[optind], strlen(argv[optind]));
    if (st != CORRAL_OK) {
        corral_cli_error("%s", corral_err_msg(&err));
        return corral_cli_exit_for(st);
    }
    char pub[CORRAL_NKEY_PUBLIC_LEN + 1];
    corral_nkey_public_str(&k, pub);
    corral_nkey_wipe(&k);
    printf("%s\n", pub);
    return CORRAL_EXIT_OK;
}

int corral_cli_keys(int argc, char **argv) {
    if (argc < 2) {
        keys_usage(stderr);
        return CORRAL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        keys_usage(stdout);
        return CORRAL_EXIT_OK;
    }
    if (strcmp(argv[1], "gen") == 0) return keys_gen(argc - 1, argv + 1);
    if (strcmp(argv[1], "get") == 0) return keys_get(argc - 1, argv + 1);
    corral_cli_error("unknown keys command '%s' (expected gen or get)", argv[1]);
    return CORRAL_EXIT_USAGE;
}
