/*
 * test_project.c - unit tests of the actor project file (cli/project.c):
 * parsing, defaults, capability names, every error with its line, the rev
 * rewrite keeping the rest of the file, the home folder, and out-of-memory
 * at every allocation (no leak, a clean NOMEM).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "project.h"
#include "test.h"

/* The file's bytes come from cli/embed_sdk.cmake in the real binary; the
 * tests do not vendor anything. */
const corral_sdk_file_t corral_sdk_files[] = {{0, 0, 0}};

static char g_dir[256];

static void write_project(const char *text) {
    char path[320];
    snprintf(path, sizeof path, "%s/%s", g_dir, CORRAL_PROJECT_FILE);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
}

static char *read_project(void) {
    char path[320];
    snprintf(path, sizeof path, "%s/%s", g_dir, CORRAL_PROJECT_FILE);
    corral_buf_t b = CORRAL_BUF_INIT;
    if (corral_file_read(path, 0, &b, NULL) != CORRAL_OK) return NULL;
    return (char *)corral_buf_take(&b, NULL);
}

static void make_dir(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/corral-test-project.XXXXXX");
    REQUIRE(mkdtemp(g_dir) != NULL);
}

static void remove_dir(void) {
    char path[320];
    snprintf(path, sizeof path, "%s/%s", g_dir, CORRAL_PROJECT_FILE);
    unlink(path);
    rmdir(g_dir);
}

TEST(load_full) {
    make_dir();
    write_project("# a comment\n"
                  "name = kv-counter_2   # trailing comment\n"
                  "lang = c\n"
                  "caps = httpserver, wasmcloud:keyvalue,logging , numbergen, keyvalue\n"
                  "\n"
                  "  rev=41\n"
                  "ver = 1.2.3\n"
                  "call_alias = counter\n"
                  "sdk = vendor/sdk\n");
    corral_project_t *p = NULL;
    corral_err_t err;
    REQUIRE(corral_project_load(g_dir, &p, &err) == CORRAL_OK);
    CHECK_EQ_STR(p->name, "kv-counter_2");
    CHECK_EQ_INT(p->lang, CORRAL_LANG_C);
    REQUIRE(p->ncaps == 4); /* keyvalue twice: kept once */
    CHECK_EQ_STR(p->caps[0], "wasmcloud:httpserver");
    CHECK_EQ_STR(p->caps[1], "wasmcloud:keyvalue");
    CHECK_EQ_STR(p->caps[2], "wasmcloud:logging");
    CHECK_EQ_STR(p->caps[3], "wasmcloud:builtin:numbergen");
    CHECK(corral_project_has_cap(p, "wasmcloud:logging"));
    CHECK(!corral_project_has_cap(p, "wasmcloud:messaging"));
    CHECK_EQ_INT(p->rev, 41);
    CHECK_EQ_STR(p->ver, "1.2.3");
    CHECK_EQ_STR(p->call_alias, "counter");
    CHECK_EQ_STR(p->sdk, "vendor/sdk");
    corral_project_free(p);
    remove_dir();
}

TEST(defaults) {
    make_dir();
    write_project("name = hello\n");
    corral_project_t *p = NULL;
    REQUIRE(corral_project_load(g_dir, &p, NULL) == CORRAL_OK);
    CHECK_EQ_INT(p->lang, CORRAL_LANG_C);
    CHECK_EQ_INT(p->ncaps, 0);
    CHECK_EQ_INT(p->rev, 0);
    CHECK_EQ_STR(p->ver, "0.1.0");
    CHECK_EQ_STR(p->call_alias, "hello");
    CHECK_EQ_STR(p->sdk, "sdk");
    corral_project_free(p);
    write_project("name = hello\nlang = assemblyscript\ncall_alias = -\n");
    REQUIRE(corral_project_load(g_dir, &p, NULL) == CORRAL_OK);
    CHECK_EQ_INT(p->lang, CORRAL_LANG_AS);
    CHECK_EQ_STR(p->sdk, "assembly/wapc");
    CHECK(p->call_alias == NULL);
    CHECK_EQ_STR(corral_project_lang_name(p->lang), "assemblyscript");
    corral_project_free(p);
    remove_dir();
}

static void expect_error(const char *text, corral_status_t st, const char *needle) {
    write_project(text);
    corral_project_t *p = (corral_project_t *)1;
    corral_err_t err;
    corral_err_clear(&err);
    CHECK_EQ_INT(corral_project_load(g_dir, &p, &err), st);
    CHECK(p == NULL);
    CHECK_EQ_INT(err.status, st);
    CHECK_CONTAINS(err.msg, needle);
}

TEST(errors_name_the_line) {
    make_dir();
    expect_error("lang = c\n", CORRAL_ERR_PARSE, "missing 'name = <actor name>'");
    expect_error("name = ok\nname = Bad\n", CORRAL_ERR_PARSE,
                 "corral.project:2: actor name 'Bad' must start with a lower-case letter");
    expect_error("name = a/b\n", CORRAL_ERR_PARSE, "may hold only a-z, 0-9");
    expect_error("name = x\nlang = rust\n", CORRAL_ERR_PARSE,
                 ":2: lang must be c or assemblyscript, not 'rust'");
    expect_error("name = x\n\n\ncaps = httpserver, bogus\n", CORRAL_ERR_PARSE,
                 ":4: unknown capability 'bogus'");
    expect_error("name = x\nrev = -1\n", CORRAL_ERR_PARSE, ":2: rev must be a non-negative integer");
    expect_error("name = x\nrev = 12abc\n", CORRAL_ERR_PARSE, "not '12abc'");
    expect_error("name = x\nrev =\n", CORRAL_ERR_PARSE, "rev must be");
    expect_error("name = x\nrev = 99999999999999999999999\n", CORRAL_ERR_PARSE, "rev must be");
    expect_error("name = x\ncolour = red\n", CORRAL_ERR_PARSE, ":2: unknown key 'colour'");
    expect_error("name = x\njust text\n", CORRAL_ERR_PARSE, ":2: expected 'key = value'");
    char many[2048] = "name = x\ncaps = ";
    for (int i = 0; i < CORRAL_PROJECT_MAX_CAPS + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sa:c%d", i ? "," : "", i);
    strcat(many, "\n");
    expect_error(many, CORRAL_ERR_PARSE, "more than 16 capabilities");
    char longname[128] = "name = ";
    memset(longname + 7, 'a', 65);
    longname[72] = '\n';
    longname[73] = 0;
    expect_error(longname, CORRAL_ERR_PARSE, "1 to 64 characters");
    remove_dir();
    corral_project_t *p = NULL;
    corral_err_t err;
    CHECK_EQ_INT(corral_project_load(g_dir, &p, &err), CORRAL_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "no corral.project in ");
    CHECK_CONTAINS(err.msg, "corral new actor <name>");
    CHECK(p == NULL);
}

TEST(cap_names) {
    CHECK_EQ_STR(corral_project_cap_id("httpserver"), "wasmcloud:httpserver");
    CHECK_EQ_STR(corral_project_cap_id("keyvalue"), "wasmcloud:keyvalue");
    CHECK_EQ_STR(corral_project_cap_id("logging"), "wasmcloud:logging");
    CHECK_EQ_STR(corral_project_cap_id("numbergen"), "wasmcloud:builtin:numbergen");
    CHECK_EQ_STR(corral_project_cap_id("wasmcloud:messaging"), "wasmcloud:messaging");
    CHECK(corral_project_cap_id("messaging") == NULL);
    CHECK(corral_project_cap_id(":x") == NULL);
    CHECK(corral_project_cap_id("") == NULL);
    CHECK_EQ_INT(corral_project_check_name("a", NULL), CORRAL_OK);
    CHECK_EQ_INT(corral_project_check_name("", NULL), CORRAL_ERR_INVALID_ARG);
    CHECK_EQ_INT(corral_project_check_name("9lives", NULL), CORRAL_ERR_INVALID_ARG);
    CHECK_EQ_INT(corral_project_check_name("../etc", NULL), CORRAL_ERR_INVALID_ARG);
}

TEST(save_rev_keeps_the_rest) {
    make_dir();
    write_project("# top comment\nname = hello\n  rev = 7   # old\nver = 0.1.0\n# end");
    corral_project_t *p = NULL;
    REQUIRE(corral_project_load(g_dir, &p, NULL) == CORRAL_OK);
    CHECK_EQ_INT(p->rev, 7);
    REQUIRE(corral_project_save_rev(p, 8, NULL) == CORRAL_OK);
    CHECK_EQ_INT(p->rev, 8);
    char *text = read_project();
    REQUIRE(text != NULL);
    CHECK_EQ_STR(text, "# top comment\nname = hello\nrev = 8\nver = 0.1.0\n# end\n");
    corral_free(text);
    corral_project_free(p);
    /* no rev line yet: appended; a key merely starting with "rev" is not it */
    write_project("name = hello\nrevision_note = x\n");
    p = NULL;
    corral_err_t err;
    CHECK_EQ_INT(corral_project_load(g_dir, &p, &err), CORRAL_ERR_PARSE); /* unknown key */
    write_project("name = hello\n# rev = 3 in a comment stays\n");
    REQUIRE(corral_project_load(g_dir, &p, NULL) == CORRAL_OK);
    CHECK_EQ_INT(p->rev, 0);
    REQUIRE(corral_project_save_rev(p, 1, NULL) == CORRAL_OK);
    text = read_project();
    REQUIRE(text != NULL);
    CHECK_EQ_STR(text, "name = hello\n# rev = 3 in a comment stays\nrev = 1\n");
    corral_free(text);
    corral_project_free(p);
    REQUIRE(corral_project_load(g_dir, &p, NULL) == CORRAL_OK);
    CHECK_EQ_INT(p->rev, 1);
    corral_project_free(p);
    remove_dir();
}

TEST(home_and_mkdirs) {
    char out[512], old_home[512] = "", old_ch[512] = "";
    const char *h = getenv("HOME"), *ch = getenv("CORRAL_HOME");
    int had_home = h != NULL, had_ch = ch != NULL;
    if (h) snprintf(old_home, sizeof old_home, "%s", h);
    if (ch) snprintf(old_ch, sizeof old_ch, "%s", ch);
    setenv("CORRAL_HOME", "/x/y", 1);
    CHECK_EQ_INT(corral_project_home(out, sizeof out, NULL), CORRAL_OK);
    CHECK_EQ_STR(out, "/x/y");
    unsetenv("CORRAL_HOME");
    setenv("HOME", "/home/someone", 1);
    CHECK_EQ_INT(corral_project_home(out, sizeof out, NULL), CORRAL_OK);
    CHECK_EQ_STR(out, "/home/someone/.corral");
    CHECK_EQ_INT(corral_project_home(out, 8, NULL), CORRAL_ERR_TOO_LARGE);
    unsetenv("HOME");
    corral_err_t err;
    CHECK_EQ_INT(corral_project_home(out, sizeof out, &err), CORRAL_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "CORRAL_HOME");
    if (had_home) setenv("HOME", old_home, 1);
    if (had_ch) setenv("CORRAL_HOME", old_ch, 1);

    make_dir();
    char deep[400];
    snprintf(deep, sizeof deep, "%s/a/b/c", g_dir);
    CHECK_EQ_INT(corral_project_mkdirs(deep, 0700, NULL), CORRAL_OK);
    struct stat sb;
    REQUIRE(stat(deep, &sb) == 0);
    CHECK_EQ_INT(sb.st_mode & 0777, 0700);
    CHECK_EQ_INT(corral_project_mkdirs(deep, 0700, NULL), CORRAL_OK); /* exists: fine */
    char file[420];
    snprintf(file, sizeof file, "%s/f", deep);
    FILE *f = fopen(file, "w");
    REQUIRE(f != NULL);
    fclose(f);
    CHECK_EQ_INT(corral_project_mkdirs(file, 0700, &err), CORRAL_ERR_IO);
    CHECK_CONTAINS(err.msg, "is not a folder");
    unlink(file);
    for (int i = 0; i < 3; i++) {
        rmdir(deep);
        *strrchr(deep, '/') = 0;
    }
    remove_dir();
}

TEST(out_of_memory_everywhere) {
    make_dir();
    write_project("name = hello\ncaps = httpserver, keyvalue, logging\nrev = 3\nver = 2.0.0\n");
    int nomem = 0;
    for (long n = 1; n < 200; n++) {
        corral_project_t *p = NULL;
        corral_alloc_fail_after(n, 0);
        corral_status_t st = corral_project_load(g_dir, &p, NULL);
        if (st == CORRAL_OK) st = corral_project_save_rev(p, p->rev, NULL);
        corral_alloc_fail_after(0, 0);
        corral_project_free(p);
        if (st == CORRAL_OK) break;
        CHECK_EQ_INT(st, CORRAL_ERR_NOMEM);
        nomem++;
    }
    CHECK(nomem > 5);
    char *text = read_project();
    REQUIRE(text != NULL);
    CHECK_CONTAINS(text, "rev = 3\n");
    corral_free(text);
    remove_dir();
}

TEST_MAIN(TEST_ENTRY(load_full), TEST_ENTRY(defaults), TEST_ENTRY(errors_name_the_line),
          TEST_ENTRY(cap_names), TEST_ENTRY(save_rev_keeps_the_rest), TEST_ENTRY(home_and_mkdirs),
          TEST_ENTRY(out_of_memory_everywhere))
