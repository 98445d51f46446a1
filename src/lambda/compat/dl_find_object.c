/* dl_find_object.c - _dl_find_object for the static Lambda executables only
 * (CL_LAMBDA_ONLY).
 *
 * gcc 12's libgcc_eh.a (the unwinder that libstdc++.a, linked for libsnappy, needs) was
 * built against glibc 2.36 and looks up a program counter's object and .eh_frame_hdr with
 * _dl_find_object, which glibc has only since 2.35; Lambda's Amazon Linux 2023 has 2.34.
 * Defined in the executable itself, the reference resolves here: the same answer from
 * dl_iterate_phdr (glibc 2.2.5), which is how the unwinder found it before 2.35. (Unwinding
 * runs only if snappy's C++ throws, i.e. on an allocation failure: snappy_uncompress
 * itself allocates nothing.) Never built into the ordinary (dynamic) build.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* struct dl_find_object, dl_iterate_phdr */
#endif
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

struct lookup {
    uintptr_t pc;
    struct dl_find_object *out;
    int found;
};

/* dl_iterate_phdr's callback: 1 (stop) once the object whose PT_LOAD holds pc is found. */
static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct lookup *l = arg;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    const ElfW(Phdr) *eh = NULL;
    int inside = 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD) {
            lo = start < lo ? start : lo;
            hi = start + ph->p_memsz > hi ? start + ph->p_memsz : hi;
            inside |= l->pc >= start && l->pc < start + ph->p_memsz;
        } else if (ph->p_type == PT_GNU_EH_FRAME) {
            eh = ph;
        }
    }
    if (!inside)
        return 0;
    memset(l->out, 0, sizeof *l->out);
    l->out->dlfo_map_start = (void *)lo;
    l->out->dlfo_map_end = (void *)hi;
    l->out->dlfo_eh_frame = eh ? (void *)(info->dlpi_addr + eh->p_vaddr) : NULL;
    l->found = 1;
    return 1;
}

int _dl_find_object(void *pc, struct dl_find_object *result)
{
    struct lookup l = {(uintptr_t)pc, result, 0};
    dl_iterate_phdr(visit, &l);
    return l.found ? 0 : -1;
}
