/*
 * http_entry.c - the shared-object entry point of the httpserver provider:
 * compiled only into corral_provider_http_module, so a host can load the
 * provider with corral_provider_load() as well as register it built in.
 */
#include "corral_provider_http.h"

const corral_provider_t *corral_provider_entry(void);

const corral_provider_t *corral_provider_entry(void) {
    return corral_provider_http();
}
