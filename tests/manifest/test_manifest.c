/*
 * test_manifest.c - tests of the host manifest parser (cli/manifest.h,
 * docs/manifest.md): the documented example, waSCC spellings, ${NAME} with
 * defaults and $${, relative paths, errors naming file, line and key, and
 * allocation failures at every site.
 */
#include <string.h>

#include "manifest.h"
#include "test.h"

static const char *fake_env(const char *name, void *user) {
    (void)user;
    if (strcmp(name, "PORT") == 0) return "8081";
    if (strcmp(name, "DIR") == 0) return "/opt/actors";
    if (strcmp(name, "EMPTY") == 0) return "";
    return NULL;
}

static corral_status_t parse(const char *text, corral_manifest_t **m, corral_err_t *err) {
    return corral_manifest_parse("m.yaml", "/base", (const uint8_t *)text, strlen(text), fake_env,
                                 NULL, m, err);
}

static const char doc_example[] =
    "labels:                 # optional, host labels (strings)\n"
    "  region: local\n"
    "actors:                 # a path, or a map with options\n"
    "  - path: kvcounter_s.wasm\n"
    "    max_instances: 4    # optional\n"
    "    deadline_ms: 2000   # optional, per call\n"
    "    fuel: 0             # optional, 0 = unlimited\n"
    "    max_pages: 256      # optional\n"
    "  - ${DIR}/other.wasm\n"
    "capabilities:\n"
    "  - kind: httpserver\n"
    "    link_name: default\n"
    "  - kind: keyvalue:sqlite\n"
    "    values: { SYNC: normal }\n"
    "  - path: libs/p.so\n"
    "    binding_name: second\n"
    "links:\n"
    "  - actor: kvcounter\n"
    "    contract_id: wasmcloud:httpserver\n"
    "    link_name: default\n"
    "    values: { PORT: \"${PORT}\", BIND: \"${BIND:-127.0.0.1}\", LIT: \"$${X}\" }\n"
    "  - actor: kvcounter\n"
    "    capability: wasmcloud:keyvalue\n";

TEST(doc_example) {
    corral_manifest_t *m = NULL;
    corral_err_t err;
    REQUIRE(parse(doc_example, &m, &err) == CORRAL_OK);
    CHECK_EQ_INT(m->n_labels, 1);
    CHECK_EQ_STR(m->labels[0].key, "region");
    CHECK_EQ_STR(m->labels[0].value, "local");
    REQUIRE(m->n_actors == 2);
    CHECK_EQ_STR(m->actors[0].path, "/base/kvcounter_s.wasm");
    CHECK_EQ_INT(m->actors[0].max_instances, 4);
    CHECK_EQ_INT(m->actors[0].deadline_ms, 2000);
    CHECK_EQ_INT(m->actors[0].fuel, 0);
    CHECK_EQ_INT(m->actors[0].max_pages, 256);
    CHECK_EQ_INT(m->actors[0].line, 4);
    CHECK_EQ_STR(m->actors[1].path, "/opt/actors/other.wasm");
    REQUIRE(m->n_providers == 3);
    CHECK_EQ_STR(m->providers[0].kind, "httpserver");
    CHECK_EQ_STR(m->providers[0].link_name, "default");
    CHECK_EQ_STR(m->providers[1].kind, "keyvalue:sqlite");
    CHECK_EQ_STR(m->providers[1].link_name, "default");
    REQUIRE(m->providers[1].n_values == 1);
    CHECK_EQ_STR(m->providers[1].values[0].key, "SYNC");
    CHECK_EQ_STR(m->providers[1].values[0].value, "normal");
    CHECK(m->providers[2].kind == NULL);
    CHECK_EQ_STR(m->providers[2].path, "/base/libs/p.so");
    CHECK_EQ_STR(m->providers[2].link_name, "second");
    REQUIRE(m->n_links == 2);
    CHECK_EQ_STR(m->links[0].actor, "kvcounter");
    CHECK_EQ_STR(m->links[0].contract_id, "wasmcloud:httpserver");
    REQUIRE(m->links[0].n_values == 3);
    CHECK_EQ_STR(m->links[0].values[0].value, "8081");
    CHECK_EQ_STR(m->links[0].values[1].value, "127.0.0.1");
    CHECK_EQ_STR(m->links[0].values[2].value, "${X}");
    CHECK_EQ_STR(m->links[1].contract_id, "wasmcloud:keyvalue");
    CHECK_EQ_STR(m->links[1].link_name, "default");
    CHECK_EQ_INT(m->links[1].n_values, 0);
    corral_manifest_free(m);
}

TEST(wascc_bindings_and_empty) {
    corral_manifest_t *m = NULL;
    corral_err_t err;
    REQUIRE(parse("bindings:\n  - actor: MABC\n    capability: wascc:keyvalue\n    binding_name: "
                  "x\n    values:\n",
                  &m, &err) == CORRAL_OK);
    REQUIRE(m->n_links == 1);
    CHECK_EQ_STR(m->links[0].link_name, "x");
    CHECK_EQ_STR(m->links[0].contract_id, "wascc:keyvalue");
    corral_manifest_free(m);
    /* An empty file is an empty manifest (a host with nothing in it). */
    REQUIRE(parse("", &m, &err) == CORRAL_OK);
    CHECK_EQ_INT(m->n_actors + m->n_providers + m->n_links, 0);
    corral_manifest_free(m);
    REQUIRE(parse("# only a comment\n", &m, &err) == CORRAL_OK);
    corral_manifest_free(m);
    /* Without base_dir, paths stay as written. */
    REQUIRE(corral_manifest_parse("m", NULL, (const uint8_t *)"actors: [a.wasm]", 16, fake_env, NULL,
                                  &m, &err) == CORRAL_OK);
    CHECK_EQ_STR(m->actors[0].path, "a.wasm");
    corral_manifest_free(m);
}

static void expect_error(const char *text, const char *msg) {
    corral_manifest_t *m = (corral_manifest_t *)1;
    corral_err_t err;
    corral_status_t st = parse(text, &m, &err);
    CHECK(st == CORRAL_ERR_PARSE);
    CHECK(m == NULL);
    CHECK_CONTAINS(err.msg, msg);
}

TEST(errors_name_file_line_key) {
    expect_error("links:\n  - actor: a\n    link_name: x\n", "m.yaml:2: links[0]: missing 'contract_id'");
    expect_error("actors:\n  - path: a.wasm\n  - max_instances: 2\n", "m.yaml:3: actors[1]: missing 'path'");
    expect_error("actors:\n  - path: a.wasm\n    max_instances: lots\n",
                 "m.yaml:3: actors[0].max_instances: 'lots' is not a whole number");
    expect_error("actors:\n  - path: a.wasm\n    max_instances: -1\n", "actors[0].max_instances");
    expect_error("actors:\n  - path: a.wasm\n    colour: red\n", "m.yaml:3: actors[0]: unknown key 'colour'");
    expect_error("actorz: []\n", "m.yaml:1: unknown key 'actorz'");
    expect_error("links:\n  - actor: a\n    contract_id: c\n    values: { P: \"${NOPE}\" }\n",
                 "m.yaml:4: links[0].values.P: environment variable NOPE is not set");
    expect_error("links:\n  - actor: a\n    contract_id: c\n    values: { P: \"${PORT\" }\n",
                 "links[0].values.P: unterminated '${PORT'");
    expect_error("links:\n  - actor: a\n    contract_id: c\n    values: { P: \"${1}\" }\n",
                 "must be followed by a variable name");
    expect_error("links:\n  - actor: a\n    contract_id: c\n    values: [1, 2]\n",
                 "m.yaml:4: links[0].values: must be a map of strings");
    expect_error("links:\n  - actor: a\n    contract_id: c\n    values: { P: [1] }\n",
                 "links[0].values.P: must be a string");
    expect_error("capabilities:\n  - link_name: x\n", "capabilities[0]: missing 'kind'");
    expect_error("capabilities:\n  - kind: a\n    path: b\n", "give 'kind' or 'path', not both");
    expect_error("capabilities:\n  - kind: a\n    link_name: x\n    binding_name: y\n",
                 "give 'link_name' or 'binding_name', not both");
    expect_error("links: []\nbindings: []\n", "give 'links' or 'bindings', not both");
    expect_error("actors: x\n", "m.yaml:1: actors: must be a list");
    expect_error("- a\n", "m.yaml:1: the manifest must be a map");
    expect_error("actors: [a\n", "m.yaml:");
    expect_error("actors: []\nactors: []\n", "key 'actors' appears twice");
    expect_error("labels: {a: 1, a: 2}\n", "key 'a' appears twice");
    expect_error("actors: []\n---\nlinks: []\n", "m.yaml:2: a manifest holds one YAML document");
    expect_error("actors:\n  - path: \"\"\n", "actors[0].path: path is empty");
    expect_error("actors:\n  - \"${EMPTY}\"\n", "actors[0]: path is empty");
    expect_error("actors:\n  - path: [x]\n", "actors[0].path: must be a string");
    expect_error("actors:\n  - path: a\n    max_pages: 70000\n", "actors[0].max_pages");
}

TEST(aliases_do_not_loop) {
    /* A self-referencing alias must not make the walk loop or blow up. */
    corral_manifest_t *m = NULL;
    corral_err_t err;
    corral_status_t st = parse("actors: &a [*a]\n", &m, &err);
    CHECK(st == CORRAL_ERR_PARSE);
    corral_manifest_free(m);
    st = parse("labels: &l {x: y}\nlinks:\n  - {actor: a, contract_id: c, values: *l}\n", &m, &err);
    CHECK(st == CORRAL_OK);
    if (st == CORRAL_OK) CHECK_EQ_STR(m->links[0].values[0].value, "y");
    corral_manifest_free(m);
}

TEST(alloc_failures) {
    /* Every allocation site fails once; each must give NOMEM and leak nothing. */
    for (long n = 1; n < 2000; n++) {
        corral_manifest_t *m = NULL;
        corral_err_t err;
        corral_alloc_fail_after(n, 1);
        corral_status_t st = parse(doc_example, &m, &err);
        corral_alloc_fail_after(0, 0);
        if (st == CORRAL_OK) {
            corral_manifest_free(m);
            break;
        }
        CHECK(st == CORRAL_ERR_NOMEM);
        CHECK(m == NULL);
    }
}

TEST_MAIN(TEST_ENTRY(doc_example), TEST_ENTRY(wascc_bindings_and_empty),
          TEST_ENTRY(errors_name_file_line_key), TEST_ENTRY(aliases_do_not_loop),
          TEST_ENTRY(alloc_failures))
