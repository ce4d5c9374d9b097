/*
 * manifest.h - host manifests (docs/manifest.md): the YAML file `corral up`
 * applies. Parsed with libyaml into plain C structs the CLI then turns into
 * host calls (start actors, start providers, put links). The parser knows
 * nothing about the host; it only checks shape, substitutes ${NAME} from the
 * environment and resolves relative paths against the manifest's folder.
 *
 * Errors: every failure is CORRAL_ERR_PARSE (or NOT_FOUND / IO for an
 * unreadable file, NOMEM) with a message "<file>:<line>: <key path>: <what>",
 * e.g. "manifest.yaml:12: links[0]: missing 'contract_id'".
 *
 * Thread-safety: the functions keep no state; a manifest is a plain value
 * owned by whoever parsed it.
 */
#ifndef CORRAL_MANIFEST_H
#define CORRAL_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "corral_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest manifest file accepted. */
#define CORRAL_MANIFEST_MAX_BYTES (4u * 1024u * 1024u)

typedef struct corral_manifest_kv {
    char *key;
    char *value;
} corral_manifest_kv_t;

typedef struct corral_manifest_actor {
    char *path;             /* absolute when the manifest came from a file */
    uint32_t max_instances; /* 0 = host default */
    uint32_t deadline_ms;   /* 0 = host default */
    uint64_t fuel;          /* 0 = unlimited */
    uint32_t max_pages;     /* 0 = host default */
    int engine;             /* 0 = host default, 1 interp, 2 aot, 3 auto
                               (corral_host_engine_t's values) */
    char *artifact;         /* prebuilt AOT artifact (absolute), or NULL */
    uint32_t line;          /* where it was declared */
} corral_manifest_actor_t;

typedef struct corral_manifest_provider {
    char *kind;             /* built-in registry name, or NULL when path is set */
    char *path;             /* shared object (absolute), or NULL */
    char *link_name;        /* never NULL: "default" unless given */
    corral_manifest_kv_t *values;
    size_t n_values;
    uint32_t line;
} corral_manifest_provider_t;

typedef struct corral_manifest_link {
    char *actor;            /* module key or call alias */
    char *contract_id;
    char *link_name;        /* never NULL: "default" unless given */
    corral_manifest_kv_t *values;
    size_t n_values;
    uint32_t line;
} corral_manifest_link_t;

typedef struct corral_manifest {
    char *file;             /* the name used in messages */
    corral_manifest_kv_t *labels;
    size_t n_labels;
    corral_manifest_actor_t *actors;
    size_t n_actors;
    corral_manifest_provider_t *providers;
    size_t n_providers;
    corral_manifest_link_t *links;
    size_t n_links;
    char **aot_signers;     /* allowed AOT artifact signers (public keys, as written) */
    size_t n_aot_signers;
} corral_manifest_t;

/* Looks up an environment variable for ${NAME}; NULL when unset. */
typedef const char *(*corral_manifest_env_fn)(const char *name, void *user);

/* Parses manifest text. `file` names it in messages; `base_dir` (may be NULL:
 * paths kept as written) is where relative paths point from; `env` (NULL =
 * getenv) resolves ${NAME}. On success *out owns a new manifest (free with
 * corral_manifest_free); on failure *out is NULL and err says file, line and
 * key. Any bytes are accepted as input (it is fuzzed). */
corral_status_t corral_manifest_parse(const char *file, const char *base_dir, const uint8_t *text,
                                      size_t len, corral_manifest_env_fn env, void *env_user,
                                      corral_manifest_t **out, corral_err_t *err);

/* Reads and parses the file at path (relative paths in it resolve against
 * its folder, made absolute), with getenv for ${NAME}. */
corral_status_t corral_manifest_load(const char *path, corral_manifest_t **out, corral_err_t *err);

/* Frees a manifest. NULL is a no-op. */
void corral_manifest_free(corral_manifest_t *m);

#ifdef __cplusplus
}
#endif

#endif
