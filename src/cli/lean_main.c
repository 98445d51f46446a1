/* lean_main.c - the `cloudlog` executable users run: `cloudlog query` over a local data
 * directory here, every other command (and a query of an S3 store) in the full binary,
 * which this process becomes with execv (same pid, arguments and environment).
 *
 * Why two executables (docs/performance.md "Process start"): the full binary links
 * libcurl, libmicrohttpd, GnuTLS, libsystemd, OpenSSL and their ~35 dependencies, and
 * Debian builds them with -z now, so the dynamic loader binds ~13,000 symbols across 52
 * libraries before main (~9 ms of CPU) — more than a 15-minute query's own work. This
 * front links only what a local query reads (SQLite, ISA-L, PCRE2; base64 is our own,
 * core/base64.c, so no OpenSSL);
 * a configuration file (--config, CLOUDLOG_CONFIG) is the full binary's too, as its keys
 * are checked against every command's options. Both are ordinary dynamically linked Debian
 * executables, so dpkg-shlibdeps still computes the package's dependencies; the full binary lives
 * in LIBEXECDIR/cloudlog/cloudlog (in a build tree: libexec/cloudlog/cloudlog beside this one), as
 * git keeps its commands in libexec. */
#include "cli_common.h"
#include "commands.h"
#include "config_file.h"
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels refuse it (EINVAL) */
#endif

static char **saved_argv;

/* Writes into out the full binary's path beside the executable at exe: first
 * DIR/libexec/cloudlog/cloudlog (a build tree), then DIR/../libexec/cloudlog/cloudlog (an
 * installation). Returns 0, or -1 when neither is executable. */
static int full_binary_beside(const char *exe, char *out, size_t len)
{
    const char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    int dir = (int)(slash - exe);
    static const char *const rel[] = {"/libexec/cloudlog/cloudlog",
                                      "/../libexec/cloudlog/cloudlog"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        int w = snprintf(out, len, "%.*s%s", dir, exe, rel[i]);
        if (w > 0 && (size_t)w < len && access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

/* The full binary's path for this executable (see full_binary_beside), found from
 * /proc/self/exe, else from argv[0]: started through the dynamic loader explicitly
 * (`ld.so cloudlog ...`), /proc/self/exe is the loader and argv[0] the program. */
static int full_binary_path(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        if (full_binary_beside(self, out, len) == 0)
            return 0;
    }
    if (saved_argv && saved_argv[0] && strchr(saved_argv[0], '/') && realpath(saved_argv[0], self))
        return full_binary_beside(self, out, len);
    return -1;
}

/* cli_common.h: cmd_query.c calls this for what this front does not
 * link. Does not return: exits 127 when the full binary cannot run. */
void cl_cli_lean_delegate(void)
{
    char path[PATH_MAX];
    if (full_binary_path(path, sizeof path) == 0) {
        fflush(NULL);
        execv(path, saved_argv);
    }
    fprintf(stderr,
            "cloudlog: cannot run the full cloudlog binary (libexec/cloudlog/cloudlog): %s\n",
            errno ? strerror(errno) : "not found");
    _exit(127);
}

/* Nonzero when a configuration file is named: CLOUDLOG_CONFIG or --config before "--". */
static int config_named(int argc, char **argv)
{
    const char *env = getenv("CLOUDLOG_CONFIG");
    if (env && *env)
        return 1;
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--config") == 0 || strncmp(argv[i], "--config=", 9) == 0)
            return 1;
    return 0;
}

/* config_file.c's, for cli_common.c: this front never has a configuration file (main
 * hands those runs to the full binary), so the arguments pass through unchanged. */
int cl_config_take(int argc, char **argv, char **out, const struct cl_conf **conf, char *err,
                   size_t err_len)
{
    (void)err, (void)err_len;
    memcpy(out, argv, (size_t)argc * sizeof *argv);
    *conf = NULL;
    return argc;
}

/* Heap made present at start for a query (heap_prepare): a 15-minute query's peak heap
 * is ~1.8 MiB (two objects' buffers, SQLite's page cache, the kept records). */
#define QUERY_HEAP_PREFAULT ((size_t)2 << 20)

/* Sets malloc up for one short query process and makes its first heap present at once.
 * A page touched for the first time costs a fault each: ~9 us on the paravirtualized
 * machines we measure on (docs/performance.md "Page faults of a short query"), ~300 of
 * them in a 15-minute query, where one MADV_POPULATE_WRITE makes 512 pages present for
 * ~0.3 ms. So: buffers up to 32 MiB (an object's, read whole) come from the heap instead
 * of a mapping each (fresh pages, and an munmap at free); the heap is not handed back
 * below 64 MiB; the scan threads share the main arena (a helper's arena would be a
 * fresh mapping again; the scan allocates per object, not per record, so they seldom
 * meet on its lock); and the heap's first 2 MiB are populated in one call. On a kernel
 * before 5.14 madvise refuses MADV_POPULATE_WRITE and the pages fault as before. */
static void heap_prepare(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_ARENA_MAX, 1);
    char *p = malloc(QUERY_HEAP_PREFAULT);
    if (!p)
        return;
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + pg - 1) & ~(pg - 1);
    uintptr_t hi = ((uintptr_t)p + QUERY_HEAP_PREFAULT) & ~(pg - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
    free(p); /* back to the top of the heap, which the query's allocations then take */
}

int main(int argc, char **argv)
{
    saved_argv = argv;
    if (argc >= 2 && strcmp(argv[1], "query") == 0 && !config_named(argc - 2, argv + 2)) {
        heap_prepare();
        return cl_cmd_query(argc - 2, argv + 2);
    }
    if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        cl_options_version(stdout);
        return 0;
    }
    cl_cli_lean_delegate();
    return 127;
}
