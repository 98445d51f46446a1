/* cmd_anomalies.c - `cloudlog anomalies score`: the value detector on a timestamp,value CSV
 * (NAB's data format), printing NAB's detector output (evaluation entry point;
 * docs/analytics.md). */
#include "cli_common.h"
#include "commands.h"

#include "anomaly.h"
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD "cloudlog anomalies score"
#define MAX_LINE 4096

static const char score_summary[] =
    "Reads a CSV with a header line and rows 'timestamp,value' on stdin (timestamp as\n"
    "'YYYY-MM-DD HH:MM:SS' or RFC 3339, UTC, or Unix seconds) and prints\n"
    "'timestamp,value,anomaly_score' with a score in [0, 1] for each row, scored before\n"
    "the row is learned (streaming, one series, no training step).";

/* Parses a timestamp into Unix ms; returns 0 or -1 (also for fields out of their range,
 * years outside 1..9999 and numbers that are not finite or do not fit the ms). */
static int parse_ts(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0;
    double sec = 0;
    if (sscanf(s, "%d-%d-%d%*[ T]%d:%d:%lf", &y, &mo, &d, &h, &mi, &sec) >= 3) {
        if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
            mi < 0 || mi > 59 || !(sec >= 0 && sec < 61))
            return -1;
        struct tm tm = {0};
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        *ms = (int64_t)timegm(&tm) * 1000 + (int64_t)(sec * 1000);
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || fabs(v) > 9.2e12)
        return -1;
    *ms = (int64_t)(v * 1000);
    return 0;
}

/* Scores one "timestamp,value" row (newline stripped); returns 0, or -1 if malformed. */
static int score_row(struct cl_anomaly_series *s, char *line)
{
    char *comma = strchr(line, ',');
    if (!comma)
        return -1;
    *comma = '\0';
    char *end;
    double v = strtod(comma + 1, &end);
    int64_t ms;
    if (end == comma + 1 || !isfinite(v) || parse_ts(line, &ms) != 0)
        return -1;
    double score = cl_anomaly_score(s, ms, v, NULL);
    printf("%s,%s,%.6f\n", line, comma + 1, score);
    return 0;
}

static int score(void)
{
    static char line[MAX_LINE];
    struct cl_anomaly_series s;
    cl_anomaly_series_init(&s);
    size_t row = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (row++ == 0) {
            printf("timestamp,value,anomaly_score\n"); /* the input's header */
            continue;
        }
        if (line[0] && score_row(&s, line) != 0) {
            fprintf(stderr, "%s: line %zu: expected 'timestamp,value'\n", CMD, row);
            return 1;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout) || ferror(stdin)) {
        fprintf(stderr, "%s: I/O error\n", CMD);
        return 1;
    }
    return 0;
}

int cl_cmd_anomalies(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "score") != 0)
        return cl_cmd_anomalies_report(argc, argv); /* cmd_analytics.c */
    size_t n_pos;
    int rc = cl_cli_options(CMD, CMD " < series.csv", score_summary, NULL, 0, NULL, argc - 1,
                            argv + 1, NULL, 0, &n_pos);
    return rc < 0 ? score() : rc;
}
