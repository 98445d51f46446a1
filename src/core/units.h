/* units.h - parsing of human-friendly sizes ("10MiB") and durations ("15m"). */
#ifndef CL_UNITS_H
#define CL_UNITS_H

#include <stdint.h>

/* Parses a byte size: digits with an optional suffix K, KB, KiB, M, MB, MiB, G, GB,
 * GiB, T, TB, TiB (case-insensitive, all binary: 1K = 1024). Returns 0 or -1. */
int cl_parse_size(const char *s, uint64_t *out);

/* Parses a duration: digits with a suffix ms, s, m, h, d (plain digits = seconds).
 * Returns 0 and milliseconds, or -1. */
int cl_parse_duration_ms(const char *s, int64_t *out);

/* Formats a duration in ms with the largest unit that divides it exactly ("7d", "10m",
 * "90s", "1500ms") into out. */
void cl_format_duration(int64_t ms, char *out, unsigned out_len);

/* Formats a byte size compactly ("10MiB", "256KiB", "1000") into out. */
void cl_format_size(uint64_t n, char *out, unsigned out_len);

#endif
