/* arc4random.c - arc4random_buf and arc4random for the static Lambda executables only
 * (CL_LAMBDA_ONLY).
 *
 * Lambda's Amazon Linux 2023 has glibc 2.34. Debian 12's libexpat.a (S3's XML) seeds its
 * hash salt with arc4random_buf, and gcc 12's libstdc++.a (linked for libsnappy, Loki's
 * protobuf push) has std::random_device call arc4random; glibc has both only since 2.36
 * (GLIBC_2.36), so linking them against glibc would make the bootstrap fail to start on
 * Lambda. Defined in the
 * executable itself, the archive's reference resolves here instead: getrandom(2) is in
 * glibc since 2.25. Never built into the ordinary (dynamic) build, where glibc's is used.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include <stdint.h>

void arc4random_buf(void *buf, size_t n);
uint32_t arc4random(void);

void arc4random_buf(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            abort(); /* as glibc's: arc4random_buf cannot report a failure */
        p += got;
        n -= (size_t)got;
    }
}

uint32_t arc4random(void)
{
    uint32_t v;
    arc4random_buf(&v, sizeof v);
    return v;
}
