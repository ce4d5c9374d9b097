/*
 * cli_util.c - what every `corral` subcommand shares: the error line, the
 * status-to-exit-code map and the numeric option parser (cli.h). Apart from
 * main.c so tests that compile a subcommand file alone can link it too.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "cli.h"

void corral_cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("corral: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int corral_cli_exit_for(corral_status_t st) {
    switch (st) {
    case CORRAL_OK:
        return CORRAL_EXIT_OK;
    case CORRAL_ERR_INVALID_ARG:
        return CORRAL_EXIT_USAGE;
    case CORRAL_ERR_NOMEM:
    case CORRAL_ERR_INTERNAL:
        return CORRAL_EXIT_INTERNAL;
    case CORRAL_ERR_NOT_FOUND:
    case CORRAL_ERR_IO:
    case CORRAL_ERR_TOO_LARGE:
    case CORRAL_ERR_NOT_WASM:
    case CORRAL_ERR_SECTION_MALFORMED:
    case CORRAL_ERR_KEY_LENGTH:
    case CORRAL_ERR_KEY_ALPHABET:
    case CORRAL_ERR_KEY_CHECKSUM:
    case CORRAL_ERR_KEY_TYPE:
    case CORRAL_ERR_KEY_SEED:
    case CORRAL_ERR_MALFORMED:
        return CORRAL_EXIT_INPUT;
    default:
        return CORRAL_EXIT_FAIL;
    }
}

int corral_cli_parse_uint(const char *opt, const char *s, unsigned long long min,
                          unsigned long long max, unsigned long long *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = (s[0] >= '0' && s[0] <= '9') ? strtoull(s, &end, 10) : 0;
    if (!end || *end || errno || v < min || v > max) {
        corral_cli_error("%s needs a whole number from %llu to %llu, not '%s'", opt, min, max, s);
        return 0;
    }
    *out = v;
    return 1;
}
