/*
 * fuzz_manifest_parse.c - libFuzzer target: the host manifest parser
 * (cli/manifest.c, library corral_manifest) on arbitrary bytes, with a fixed
 * fake environment for ${NAME}. Must never crash, hang or leak; every failure
 * must carry a message naming the file.
 * Seeds: tests/fuzz/seeds/manifest/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "manifest.h"

static const char *env(const char *name, void *user) {
    (void)user;
    return strcmp(name, "PORT") == 0 ? "8080" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    corral_manifest_t *m = NULL;
    corral_err_t err;
    long live = corral_alloc_live();
    corral_err_clear(&err);
    corral_status_t st = corral_manifest_parse("f.yaml", "/base", data, size, env, NULL, &m, &err);
    if (st != CORRAL_OK) {
        if (m) __builtin_trap();
        if (strncmp(err.msg, "f.yaml", 6) != 0) __builtin_trap();
    } else {
        for (size_t i = 0; i < m->n_actors; i++)
            if (!m->actors[i].path || m->actors[i].path[0] != '/') __builtin_trap();
        for (size_t i = 0; i < m->n_links; i++)
            if (!m->links[i].actor || !m->links[i].contract_id || !m->links[i].link_name)
                __builtin_trap();
        for (size_t i = 0; i < m->n_providers; i++)
            if (!m->providers[i].link_name || (!m->providers[i].kind == !m->providers[i].path))
                __builtin_trap();
        corral_manifest_free(m);
    }
    if (corral_alloc_live() != live) __builtin_trap();
    return 0;
}
