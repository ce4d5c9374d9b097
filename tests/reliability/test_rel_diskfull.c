/*
 * test_rel_diskfull.c - disk full under the SQLite keyvalue store (issue 7).
 * A 1 MiB tmpfs is mounted (root only: without permission to mount the test
 * exits 77, which ctest reports as skipped) and the keyvalue:sqlite
 * provider's database put on it. An actor (guests/rel_kvproxy.wat) writes
 * 64 KiB values through the host until the store refuses: the actor must get
 * a clear error (naming the full disk), every write it saw acknowledged must
 * still read back, the database must pass PRAGMA integrity_check, and after
 * the space returns (the tmpfs is remounted at 16 MiB) writes succeed again.
 * A real filesystem running out of space is the honest case here: tmpfs
 * returns ENOSPC exactly as a full disk does.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include "rel_util.h"

#define VAL (64 * 1024)

static void put_str(corral_buf_t *b, const char *s, size_t n) {
    uint8_t h[5];
    if (n < 32) {
        h[0] = (uint8_t)(0xa0 | n);
        corral_buf_append(b, h, 1);
    } else {
        h[0] = 0xdb;
        h[1] = (uint8_t)(n >> 24), h[2] = (uint8_t)(n >> 16), h[3] = (uint8_t)(n >> 8);
        h[4] = (uint8_t)n;
        corral_buf_append(b, h, 5);
    }
    corral_buf_append(b, s, n);
}

static corral_status_t kv_set(corral_host_t *h, const char *actor, int i, corral_err_t *err) {
    static char val[VAL];
    char key[32];
    snprintf(key, sizeof key, "k%05d", i);
    memset(val, 'a' + i % 26, sizeof val);
    corral_buf_t p = {0}, r = {0};
    corral_buf_append(&p, "\x83", 1);
    put_str(&p, "key", 3);
    put_str(&p, key, strlen(key));
    put_str(&p, "value", 5);
    put_str(&p, val, sizeof val);
    put_str(&p, "expires", 7);
    corral_buf_append(&p, "\x00", 1);
    corral_err_clear(err);
    corral_status_t st = corral_host_call(h, actor, "Set", p.data, p.len, &r, err);
    corral_buf_free(&p);
    corral_buf_free(&r);
    return st;
}

/* 1 when key i reads back with its full value. */
static int kv_check(corral_host_t *h, const char *actor, int i) {
    char key[32];
    snprintf(key, sizeof key, "k%05d", i);
    corral_buf_t p = {0}, r = {0};
    corral_buf_append(&p, "\x81", 1);
    put_str(&p, "key", 3);
    put_str(&p, key, strlen(key));
    corral_err_t err;
    int ok = corral_host_call(h, actor, "Get", p.data, p.len, &r, &err) == CORRAL_OK &&
             r.len > VAL;
    if (ok) { /* the response holds VAL bytes of 'a' + i % 26 in a row */
        size_t run = 0, best = 0;
        for (size_t j = 0; j < r.len; j++) {
            run = r.data[j] == 'a' + i % 26 ? run + 1 : 0;
            if (run > best) best = run;
        }
        ok = best >= VAL;
    }
    corral_buf_free(&p);
    corral_buf_free(&r);
    return ok;
}

static int integrity_ok(const char *db) {
    char cmd[512], out[64] = {0};
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'PRAGMA integrity_check;' 2>&1", db);
    FILE *f = popen(cmd, "r");
    if (!f) return 0;
    if (!fgets(out, sizeof out, f)) out[0] = 0;
    pclose(f);
    return strncmp(out, "ok", 2) == 0;
}

TEST(disk_full_sqlite) {
    char dir[64], mnt[128], db[192];
    REQUIRE(tmpdir(dir));
    snprintf(mnt, sizeof mnt, "%s/small", dir);
    snprintf(db, sizeof db, "%s/kv.db", mnt);
    REQUIRE(mkdir(mnt, 0700) == 0);
    REQUIRE(mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700") == 0);
    corral_host_t *h = start_host(dir, 0, NULL);
    if (!h) { /* never leave the mount behind */
        umount2(mnt, MNT_DETACH);
        rmtree(dir);
        REQUIRE(h);
    }
    corral_err_t err;
    char key[CORRAL_HOST_KEY_LEN];
    static const char *const caps[] = {"wasmcloud:keyvalue", NULL};
    CHECK_EQ_INT(start_signed(h, "rel_kvproxy", "kvproxy", caps, NULL, NULL, key, &err), CORRAL_OK);
    corral_host_provider_opts_t po = {0};
    po.kind = "keyvalue:sqlite";
    CHECK_EQ_INT(corral_host_provider_start(h, &po, NULL, &err), CORRAL_OK);
    corral_host_kv_t lv[] = {{"PATH", db}, {"SYNC", "full"}};
    CHECK_EQ_INT(corral_host_link_put(h, key, "wasmcloud:keyvalue", "default", lv, 2, &err),
                 CORRAL_OK);

    int acked = 0, fails = 0;
    char first_err[512] = "";
    corral_status_t first_st = CORRAL_OK;
    for (int i = 0; i < 64 && fails < 5; i++) {
        corral_status_t st = kv_set(h, key, i, &err);
        if (st == CORRAL_OK) {
            if (fails == 0) acked = i + 1;
        } else {
            if (!fails) {
                first_st = st;
                snprintf(first_err, sizeof first_err, "%s", corral_err_msg(&err));
            }
            fails++;
        }
    }
    fprintf(stderr, "  figure: %d writes of 64 KiB acknowledged before the 1 MiB disk filled; "
            "error %s \"%s\"\n", acked, corral_status_name(first_st), first_err);
    CHECK(acked > 0 && acked < 16);
    CHECK(fails > 0);
    CHECK_EQ_INT(first_st, CORRAL_ERR_GUEST);
    CHECK(strstr(first_err, "full") != NULL);
    /* the host and the store still serve reads; nothing acknowledged is lost */
    int lost = 0;
    for (int i = 0; i < acked; i++) lost += !kv_check(h, key, i);
    CHECK_EQ_INT(lost, 0);
    CHECK(integrity_ok(db));

    /* space returns */
    CHECK(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=16m,mode=0700") == 0);
    int after = 0;
    for (int i = acked; i < acked + 8; i++) after += kv_set(h, key, i, &err) == CORRAL_OK;
    fprintf(stderr, "  figure: after the space returned: %d/8 writes acknowledged (%s)\n", after,
            after == 8 ? "ok" : corral_err_msg(&err));
    CHECK_EQ_INT(after, 8);
    for (int i = 0; i < acked + 8; i++) lost += !kv_check(h, key, i);
    CHECK_EQ_INT(lost, 0);
    corral_host_free(h);
    CHECK(integrity_ok(db));
    umount2(mnt, MNT_DETACH);
    rmtree(dir);
}

int main(int argc, char **argv) {
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: mounting a small tmpfs needs root\n");
        return 77;
    }
    char probe[] = "/tmp/corral-rel-probe-XXXXXX";
    if (!mkdtemp(probe)) return 77;
    int can = mount("tmpfs", probe, "tmpfs", 0, "size=64k") == 0;
    if (can) umount2(probe, MNT_DETACH);
    rmdir(probe);
    if (!can) {
        fprintf(stderr, "skipped: this container may not mount tmpfs\n");
        return 77;
    }
    static const test_case_t cases[] = {TEST_ENTRY(disk_full_sqlite)};
    return test_run_(cases, 1, argc, argv);
}

int test_failures_;
