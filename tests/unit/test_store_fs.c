/* test_store_fs.c - unit tests of the local-directory store: atomic puts, listing, moves, keys. */
#include "common.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base_dir[512]; /* per-run directory, removed at the end */
static char root[600];     /* per-test store root */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Opens a store at a fresh, not yet existing root named after the test. */
static void open_fresh(struct cl_store *s, const char *name)
{
    char err[256];
    snprintf(root, sizeof root, "%s/%s/nested/root", base_dir, name);
    assert_int_equal(cl_store_open(s, root, err, sizeof err), CL_OK);
}

static void put_str(struct cl_store *s, const char *key, const char *data)
{
    assert_int_equal(cl_store_put(s, key, data, strlen(data)), CL_OK);
}

static void assert_get(struct cl_store *s, const char *key, const char *want)
{
    struct cl_buf b;
    cl_buf_init(&b, 1 << 20);
    assert_int_equal(cl_store_get(s, key, &b), CL_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data ? b.data : "", want, b.len);
    cl_buf_free(&b);
}

static int get_rc(struct cl_store *s, const char *key)
{
    struct cl_buf b;
    cl_buf_init(&b, 1 << 20);
    int rc = cl_store_get(s, key, &b);
    cl_buf_free(&b);
    return rc;
}

/* Writes the names in root/rel (sorted, '|'-joined) into out. */
static void dir_names(const char *rel, char *out, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    assert_true(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
            snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "|" : "",
                     names[i]->d_name);
        free(names[i]);
    }
    free(names);
}

static void test_open(void **state)
{
    struct cl_store s;
    char err[256], url[700];
    open_fresh(&s, "open");
    cl_store_close(&s);
    snprintf(url, sizeof url, "file:%s/", root); /* existing, trailing slash */
    assert_int_equal(cl_store_open(&s, url, err, sizeof err), CL_OK);
    put_str(&s, "a", "x");
    cl_store_close(&s);

    snprintf(url, sizeof url, "%s/a", root); /* a regular file */
    assert_int_not_equal(cl_store_open(&s, url, err, sizeof err), CL_OK);
    assert_non_null(strstr(err, "not a directory"));
    snprintf(url, sizeof url, "%s/a/sub", root);
    assert_int_not_equal(cl_store_open(&s, url, err, sizeof err), CL_OK);
    assert_int_equal(cl_store_open(&s, "", err, sizeof err), CL_ERR_INVAL);
}

static void test_round_trip_and_overwrite(void **state)
{
    struct cl_store s;
    open_fresh(&s, "roundtrip");
    const char *key = "service=api/dt=2026-11-25/hour=15/obj.ndjson.gz";
    put_str(&s, key, "first version, long");
    assert_get(&s, key, "first version, long");
    put_str(&s, key, "second");
    assert_get(&s, key, "second");
    put_str(&s, "empty", "");
    assert_get(&s, "empty", "");

    /* get appends and respects out->max, leaving the buffer unchanged when too large */
    struct cl_buf b;
    cl_buf_init(&b, 8);
    cl_buf_append_str(&b, "ab");
    assert_int_equal(cl_store_get(&s, key, &b), CL_OK);
    assert_string_equal(b.data, "absecond");
    cl_buf_reset(&b);
    cl_buf_append_str(&b, "abc");
    assert_int_equal(cl_store_get(&s, key, &b), CL_ERR_TOO_LARGE);
    assert_string_equal(b.data, "abc");
    cl_buf_free(&b);

    assert_int_equal(get_rc(&s, "service=api/missing"), CL_ERR_NOT_FOUND);
    assert_int_equal(get_rc(&s, "nodir/missing"), CL_ERR_NOT_FOUND);
    assert_int_equal(get_rc(&s, "empty/below-a-file"), CL_ERR_NOT_FOUND);
    assert_int_equal(get_rc(&s, "service=api"), CL_ERR_NOT_FOUND); /* a directory */
    cl_store_close(&s);
}

static void test_atomicity(void **state)
{
    struct cl_store s;
    char names[1024];
    open_fresh(&s, "atomic");
    put_str(&s, "p/dt=1/a.gz", "A");
    put_str(&s, "p/dt=1/a.gz", "AA");
    put_str(&s, "p/dt=1/b.gz", "B");
    dir_names("p/dt=1", names, sizeof names);
    assert_string_equal(names, "a.gz|b.gz"); /* no temp files left */

    /* parent path is a regular file: mkdir/open fail, nothing is created */
    put_str(&s, "blocker", "keep");
    assert_int_equal(cl_store_put(&s, "blocker/x.gz", "data", 4), CL_ERR_IO);
    assert_get(&s, "blocker", "keep");

    /* target name is a directory: the temp file is written, rename fails, temp removed */
    put_str(&s, "d/x/y", "y");
    assert_int_equal(cl_store_put(&s, "d/x", "data", 4), CL_ERR_IO);
    dir_names("d", names, sizeof names);
    assert_string_equal(names, "x");
    dir_names("", names, sizeof names);
    assert_string_equal(names, "blocker|d|p");
    cl_store_close(&s);
}

struct listing {
    char keys[64][128];
    uint64_t sizes[64];
    int n;
    int stop_after; /* 0: never stop */
};

static int collect(void *arg, const char *key, uint64_t size)
{
    struct listing *l = arg;
    assert_true(l->n < 64);
    snprintf(l->keys[l->n], sizeof l->keys[0], "%s", key);
    l->sizes[l->n++] = size;
    return l->stop_after && l->n == l->stop_after ? 42 : 0;
}

/* Lists prefix and compares with the '|'-joined expected keys. */
static void assert_list(struct cl_store *s, const char *prefix, const char *want)
{
    struct listing l = {0};
    assert_int_equal(cl_store_list(s, prefix, collect, &l), CL_OK);
    char got[4096] = "";
    for (int i = 0; i < l.n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "|" : "", l.keys[i]);
    assert_string_equal(got, want);
}

static void test_list(void **state)
{
    struct cl_store s;
    open_fresh(&s, "list");
    /* inserted out of order; "a-c" < "a/b" in byte order although "a" < "a-c" */
    const char *keys[] = {
        "service=b/dt=2026-11-25/hour=01/z.ndjson.gz",
        "service=a/dt=2026-11-25/hour=03/x.ndjson.gz",
        "service=a/dt=2026-11-25/hour=03/w.ndjson.gz",
        "service=a/dt=2026-11-25/hour=10/a.ndjson.gz",
        "service=a/dt=2026-11-24/hour=23/a.ndjson.gz",
        "service=ab/dt=2026-11-25/hour=00/a.ndjson.gz",
        "a/b",
        "a-c",
    };
    for (size_t i = 0; i < CL_ARRAY_LEN(keys); i++)
        put_str(&s, keys[i], keys[i]);
    /* a stray temp file from a crashed put is never listed */
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s/service=a/dt=2026-11-25/hour=03/.x.ndjson.gz.tmp.0123", root);
    int fd = open(tmp, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);

    assert_list(&s, "",
                "a-c|a/b|service=a/dt=2026-11-24/hour=23/a.ndjson.gz|"
                "service=a/dt=2026-11-25/hour=03/w.ndjson.gz|"
                "service=a/dt=2026-11-25/hour=03/x.ndjson.gz|"
                "service=a/dt=2026-11-25/hour=10/a.ndjson.gz|"
                "service=ab/dt=2026-11-25/hour=00/a.ndjson.gz|"
                "service=b/dt=2026-11-25/hour=01/z.ndjson.gz");
    assert_list(&s, "service=a/dt=2026-11-25/",
                "service=a/dt=2026-11-25/hour=03/w.ndjson.gz|"
                "service=a/dt=2026-11-25/hour=03/x.ndjson.gz|"
                "service=a/dt=2026-11-25/hour=10/a.ndjson.gz");
    assert_list(&s, "service=a/dt=2026-11-25/hour=03/x",
                "service=a/dt=2026-11-25/hour=03/x.ndjson.gz");
    assert_list(&s, "service=a",
                "service=a/dt=2026-11-24/hour=23/a.ndjson.gz|"
                "service=a/dt=2026-11-25/hour=03/w.ndjson.gz|"
                "service=a/dt=2026-11-25/hour=03/x.ndjson.gz|"
                "service=a/dt=2026-11-25/hour=10/a.ndjson.gz|"
                "service=ab/dt=2026-11-25/hour=00/a.ndjson.gz");
    assert_list(&s, "a", "a-c|a/b");
    assert_list(&s, "a/b/", "");
    assert_list(&s, "nothing/", "");

    struct listing l = {.stop_after = 2};
    assert_int_equal(cl_store_list(&s, "", collect, &l), 42);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.sizes[1], strlen("a/b"));
    cl_store_close(&s);
}

/* A tree too deep to walk in a partition the prefix excludes: listing the whole store
 * fails, listing the prefix succeeds only if that partition is never opened. */
static void test_list_prunes(void **state)
{
    struct cl_store s;
    open_fresh(&s, "prune");
    put_str(&s, "service=a/dt=2026-11-25/hour=03/x.ndjson.gz", "x");
    char path[2048];
    int n = snprintf(path, sizeof path, "%s/service=b", root);
    assert_int_equal(mkdir(path, 0755), 0);
    for (int i = 0; i < 40; i++) {
        n += snprintf(path + n, sizeof path - (size_t)n, "/d");
        assert_int_equal(mkdir(path, 0755), 0);
    }
    struct listing l = {0};
    assert_int_equal(cl_store_list(&s, "", collect, &l), CL_ERR_IO);
    assert_list(&s, "service=a/dt=2026-11-25/", "service=a/dt=2026-11-25/hour=03/x.ndjson.gz");
    cl_store_close(&s);
}

static void test_delete(void **state)
{
    struct cl_store s;
    char names[256];
    open_fresh(&s, "delete");
    put_str(&s, "p/dt=1/a.gz", "A");
    assert_int_equal(cl_store_delete(&s, "p/dt=1/a.gz"), CL_OK);
    assert_int_equal(get_rc(&s, "p/dt=1/a.gz"), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_store_delete(&s, "p/dt=1/a.gz"), CL_OK);
    assert_int_equal(cl_store_delete(&s, "never/existed"), CL_OK);
    dir_names("p", names, sizeof names);
    assert_string_equal(names, "dt=1"); /* partition directories are kept */
    cl_store_close(&s);
}

static void test_move(void **state)
{
    struct cl_store s;
    char names[256];
    open_fresh(&s, "move");
    put_str(&s, "_staging/obj.gz", "payload");
    assert_int_equal(cl_store_move(&s, "_staging/obj.gz", "service=a/dt=2026-11-25/obj.gz"), CL_OK);
    assert_get(&s, "service=a/dt=2026-11-25/obj.gz", "payload");
    assert_int_equal(get_rc(&s, "_staging/obj.gz"), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_store_move(&s, "_staging/obj.gz", "x/y.gz"), CL_ERR_NOT_FOUND);
    assert_int_equal(cl_store_move(&s, "service=a", "x/y.gz"), CL_ERR_NOT_FOUND); /* a dir */
    dir_names("", names, sizeof names);
    assert_string_equal(names, "_staging|service=a"); /* no directories for a failed move */

    put_str(&s, "same/a", "1");
    put_str(&s, "same/b", "2");
    assert_int_equal(cl_store_move(&s, "same/a", "same/b"), CL_OK); /* replaces */
    assert_get(&s, "same/b", "1");
    assert_list(&s, "same/", "same/b");
    cl_store_close(&s);
}

/* Batches: every object put, each move with its own result (a missing source fails
 * alone), the others in place. */
static void test_put_and_move_many(void **state)
{
    struct cl_store s;
    open_fresh(&s, "many");
    const char *staged[3] = {"_staging/a.gz", "_staging/b.gz", "_staging/c.gz"};
    const void *data[3] = {"A", "BB", "CCC"};
    const size_t lens[3] = {1, 2, 3};
    assert_int_equal(cl_store_put_many(&s, staged, data, lens, 3), CL_OK);
    assert_get(&s, "_staging/b.gz", "BB");
    const char *from[3] = {"_staging/a.gz", "_staging/gone.gz", "_staging/c.gz"};
    const char *to[3] = {"service=a/h=1/a.gz", "service=b/h=1/b.gz", "service=a/h=2/c.gz"};
    int results[3] = {-1, -1, -1};
    assert_int_equal(cl_store_move_many(&s, from, to, 3, results), CL_ERR_NOT_FOUND);
    assert_int_equal(results[0], CL_OK);
    assert_int_equal(results[1], CL_ERR_NOT_FOUND);
    assert_int_equal(results[2], CL_OK);
    assert_get(&s, "service=a/h=1/a.gz", "A");
    assert_get(&s, "service=a/h=2/c.gz", "CCC");
    assert_list(&s, "_staging/", "_staging/b.gz");
    const char *bad[1] = {"../escape"};
    assert_int_equal(cl_store_put_many(&s, bad, data, lens, 1), CL_ERR_INVAL);
    cl_store_close(&s);
}

static void test_invalid_keys(void **state)
{
    struct cl_store s;
    open_fresh(&s, "keys");
    const char *bad[] = {"",      "/abs", "..", "a/../b", "a/..",    ".",
                         "a/./b", "a//b", "a/", "a\nb",   ".hidden", "a/.x.tmp.1"};
    struct cl_buf b;
    cl_buf_init(&b, 1024);
    for (size_t i = 0; i < CL_ARRAY_LEN(bad); i++) {
        assert_int_equal(cl_store_put(&s, bad[i], "x", 1), CL_ERR_INVAL);
        assert_int_equal(cl_store_get(&s, bad[i], &b), CL_ERR_INVAL);
        assert_int_equal(cl_store_delete(&s, bad[i]), CL_ERR_INVAL);
        assert_int_equal(cl_store_move(&s, bad[i], "ok"), CL_ERR_INVAL);
        assert_int_equal(cl_store_move(&s, "ok", bad[i]), CL_ERR_INVAL);
    }
    cl_buf_free(&b);
    char deep[256] = "";
    for (int i = 0; i < 33; i++)
        strcat(deep, i ? "/d" : "d");
    assert_int_equal(cl_store_put(&s, deep, "x", 1), CL_ERR_INVAL);
    assert_list(&s, "", "");
    cl_store_close(&s);
}

struct putter {
    struct cl_store *s;
    int id;
    int failures;
};

enum { PUT_THREADS = 4, PUTS_PER_THREAD = 50 };

static void *putter_main(void *p)
{
    struct putter *a = p;
    for (int i = 0; i < PUTS_PER_THREAD; i++) {
        char key[128];
        snprintf(key, sizeof key, "service=c/dt=2026-11-25/hour=07/t%d-%03d.gz", a->id, i);
        if (cl_store_put(a->s, key, key, strlen(key)) != CL_OK)
            a->failures++;
    }
    return NULL;
}

static int count_keys(void *arg, const char *key, uint64_t size)
{
    (*(int *)arg)++;
    return 0;
}

static void test_concurrent_puts(void **state)
{
    struct cl_store s;
    open_fresh(&s, "concurrent");
    pthread_t th[PUT_THREADS];
    struct putter args[PUT_THREADS];
    for (int t = 0; t < PUT_THREADS; t++) {
        args[t] = (struct putter){&s, t, 0};
        assert_int_equal(pthread_create(&th[t], NULL, putter_main, &args[t]), 0);
    }
    for (int t = 0; t < PUT_THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(args[t].failures, 0);
    }
    int n = 0;
    assert_int_equal(cl_store_list(&s, "service=c/", count_keys, &n), CL_OK);
    assert_int_equal(n, PUT_THREADS * PUTS_PER_THREAD);
    char key[128];
    snprintf(key, sizeof key, "service=c/dt=2026-11-25/hour=07/t%d-%03d.gz", 3, 49);
    assert_get(&s, key, key);
    cl_store_close(&s);
}

static int setup_dir(void **state)
{
    const char *tmp = getenv("CL_TMPDIR");
    snprintf(base_dir, sizeof base_dir, "%s/test_store_fs.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(base_dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    rm_tree(base_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open),         cmocka_unit_test(test_round_trip_and_overwrite),
        cmocka_unit_test(test_atomicity),    cmocka_unit_test(test_list),
        cmocka_unit_test(test_list_prunes),  cmocka_unit_test(test_delete),
        cmocka_unit_test(test_move),         cmocka_unit_test(test_put_and_move_many),
        cmocka_unit_test(test_invalid_keys), cmocka_unit_test(test_concurrent_puts),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
