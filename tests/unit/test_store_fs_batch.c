/* test_store_fs_batch.c - the local store's batches (put_many, move_many) with their
 * fsyncs issued together: every object of a batch lands whole under its key, over
 * several directories and more objects than sync threads; a batch that fails part way
 * leaves no temp file and no object of it; moves of a batch land and leave nothing
 * behind. */
#include "common.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_OBJS 20 /* more than the 7 sync threads plus the caller */

static char base_dir[512];
static char root[600];
static int tmp_files; /* counted by count_tmp */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int count_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    tmp_files += strstr(path + ftw->base, ".tmp.") != NULL;
    return 0;
}

/* Temp files anywhere under the root. */
static int count_tmp(void)
{
    tmp_files = 0;
    nftw(root, count_entry, 16, FTW_PHYS);
    return tmp_files;
}

static void open_fresh(struct cl_store *s, const char *name)
{
    char err[256];
    snprintf(root, sizeof root, "%s/%s", base_dir, name);
    assert_int_equal(cl_store_open(s, root, err, sizeof err), CL_OK);
}

/* Object i's key (four partition directories) and its content (sized by i). */
static void obj(int i, char *key, size_t klen, char **data, size_t *len)
{
    snprintf(key, klen, "service=s%d/dt=2026-12-07/hour=22/o%02d.ndjson.gz", i % 4, i);
    *len = 1000 + (size_t)i * 4099;
    *data = cl_malloc(*len);
    for (size_t k = 0; k < *len; k++)
        (*data)[k] = (char)(i * 31 + k);
}

static void assert_obj(struct cl_store *s, const char *key, const char *data, size_t len)
{
    struct cl_buf b;
    cl_buf_init(&b, 1 << 24);
    assert_int_equal(cl_store_get(s, key, &b), CL_OK);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, data, len);
    cl_buf_free(&b);
}

static void test_put_many_lands_whole(void **state)
{
    struct cl_store s;
    open_fresh(&s, "put");
    char keys[N_OBJS][96];
    const char *kp[N_OBJS];
    char *data[N_OBJS];
    const void *dp[N_OBJS];
    size_t lens[N_OBJS];
    for (int i = 0; i < N_OBJS; i++) {
        obj(i, keys[i], sizeof keys[i], &data[i], &lens[i]);
        kp[i] = keys[i];
        dp[i] = data[i];
    }
    assert_int_equal(cl_store_put_many(&s, kp, dp, lens, N_OBJS), CL_OK);
    for (int i = 0; i < N_OBJS; i++)
        assert_obj(&s, keys[i], data[i], lens[i]);
    assert_int_equal(count_tmp(), 0);

    /* moved as a batch into other directories: all there, the sources gone */
    char to[N_OBJS][96];
    const char *tp[N_OBJS];
    int results[N_OBJS];
    for (int i = 0; i < N_OBJS; i++) {
        snprintf(to[i], sizeof to[i], "moved/p%d/o%02d", i % 3, i);
        tp[i] = to[i];
    }
    assert_int_equal(cl_store_move_many(&s, kp, tp, N_OBJS, results), CL_OK);
    for (int i = 0; i < N_OBJS; i++) {
        assert_int_equal(results[i], CL_OK);
        assert_obj(&s, to[i], data[i], lens[i]);
        struct cl_buf b;
        cl_buf_init(&b, 1 << 24);
        assert_int_equal(cl_store_get(&s, keys[i], &b), CL_ERR_NOT_FOUND);
        cl_buf_free(&b);
        free(data[i]);
    }
    cl_store_close(&s);
}

/* Object 5's directory cannot be made (a file holds its name): the batch fails, and
 * neither a temp file nor any object of it is left, those before it included. */
static void test_put_many_fails_clean(void **state)
{
    struct cl_store s;
    open_fresh(&s, "fail");
    assert_int_equal(cl_store_put(&s, "blocker", "x", 1), CL_OK);
    char keys[N_OBJS][96];
    const char *kp[N_OBJS];
    char *data[N_OBJS];
    const void *dp[N_OBJS];
    size_t lens[N_OBJS];
    for (int i = 0; i < N_OBJS; i++) {
        obj(i, keys[i], sizeof keys[i], &data[i], &lens[i]);
        if (i == 5)
            snprintf(keys[i], sizeof keys[i], "blocker/o05");
        kp[i] = keys[i];
        dp[i] = data[i];
    }
    assert_int_not_equal(cl_store_put_many(&s, kp, dp, lens, N_OBJS), CL_OK);
    assert_int_equal(count_tmp(), 0);
    for (int i = 0; i < N_OBJS; i++) {
        struct cl_buf b;
        cl_buf_init(&b, 1 << 24);
        assert_int_not_equal(cl_store_get(&s, keys[i], &b), CL_OK);
        cl_buf_free(&b);
        free(data[i]);
    }
    cl_store_close(&s);
}

static int setup(void **state)
{
    const char *tmp = getenv("CL_TMPDIR");
    snprintf(base_dir, sizeof base_dir, "%s/test_store_fs_batch.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(base_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_many_lands_whole),
        cmocka_unit_test(test_put_many_fails_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
