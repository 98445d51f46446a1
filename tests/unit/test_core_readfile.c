/* test_core_readfile.c - cl_read_file: the size limit to the byte, missing files, read
 * errors, and pipes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void tmp_path(char *out, size_t n, const char *name)
{
    const char *dir = getenv("CL_TMPDIR");
    snprintf(out, n, "%s/readfile_%d_%s", dir ? dir : "/tmp", (int)getpid(), name);
}

static void write_bytes(const char *path, char c, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc(c, f);
    assert_int_equal(fclose(f), 0);
}

/* A file of exactly max bytes is read whole (past the first 64 KiB chunk); one more byte
 * is refused. */
static void test_limit_to_the_byte(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "limit");
    size_t max = 200000, len = 0;
    char *buf = NULL;
    write_bytes(path, 'x', max);
    assert_int_equal(cl_read_file(path, max, &buf, &len), CL_OK);
    assert_int_equal(len, max);
    assert_int_equal(buf[max - 1], 'x');
    assert_int_equal(buf[max], '\0');
    free(buf);
    buf = NULL;
    write_bytes(path, 'x', max + 1);
    assert_int_equal(cl_read_file(path, max, &buf, &len), CL_ERR_TOO_LARGE);
    assert_null(buf);
    assert_int_equal(cl_read_file(path, max + 1, &buf, &len), CL_OK);
    assert_int_equal(len, max + 1);
    free(buf);
    unlink(path);
}

static void test_empty_and_missing(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "empty");
    char *buf = NULL;
    size_t len = 1;
    write_bytes(path, 'x', 0);
    assert_int_equal(cl_read_file(path, 0, &buf, &len), CL_OK);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
    unlink(path);
    buf = NULL;
    assert_int_equal(cl_read_file(path, 10, &buf, &len), CL_ERR_NOT_FOUND);
    assert_null(buf);
}

/* A directory opens (fopen succeeds on Linux) but cannot be read: an I/O error, not an
 * empty file. */
static void test_read_error(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "dir");
    assert_int_equal(mkdir(path, 0700), 0);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(cl_read_file(path, 100, &buf, &len), CL_ERR_IO);
    assert_int_equal(errno, EISDIR);
    assert_null(buf);
    rmdir(path);
}

/* A pipe has no size to ask for: it is read to its end. */
static void test_pipe(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = fopen(path, "wb");
        fputs("through a pipe", f);
        fclose(f);
        _exit(0);
    }
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(cl_read_file(path, 100, &buf, &len), CL_OK);
    assert_string_equal(buf, "through a pipe");
    free(buf);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_to_the_byte),
        cmocka_unit_test(test_empty_and_missing),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
