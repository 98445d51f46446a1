/* readfile.h - reading a whole file under a size limit (configuration, certificates, saved
 * state, test and benchmark data). */
#ifndef CL_READFILE_H
#define CL_READFILE_H

#include <stddef.h>

/* Reads the whole file at path into *out (heap, NUL-terminated; *len excludes the NUL;
 * caller frees *out) when it holds at most max bytes (max < SIZE_MAX). Reads to the end
 * rather than by the file's size, so pipes and /dev/stdin work. Returns CL_OK;
 * CL_ERR_NOT_FOUND when path does not exist; CL_ERR_TOO_LARGE when the file holds more
 * than max bytes; CL_ERR_IO when it cannot be opened or read (errno says why, e.g.
 * EISDIR). *out is set only on CL_OK. */
int cl_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
