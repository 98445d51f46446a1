/* process_int.h - state shared by the processor's files (not for other modules). */
#ifndef CL_PROCESS_INT_H
#define CL_PROCESS_INT_H

#include "part_map.h"
#include "partition.h"
#include "process.h"

#include <stddef.h>
#include <stdint.h>

/* A received message whose records sit in one or more partition buffers. */
struct held {
    int64_t id;
    char *receipt;
    uint32_t receive_count;
    int64_t sent_ms;          /* the message's send time, for EndToEndLatency */
    int pending;              /* partition buffers still holding its records */
    int64_t visible_until_ms; /* when its visibility timeout would expire */
    size_t slot;              /* index in cl_processor.held */
};

/* Records buffered for one partition. */
struct part {
    char key[CL_PARTITION_MAX];
    struct cl_line_head head; /* service, dt, hour of the partition */
    struct cl_buf data;       /* NDJSON lines */
    uint64_t records;
    int64_t min_ts, max_ts;
    uint64_t levels[CL_LEVEL_COUNT];
    int64_t first_ms;      /* when its oldest record was buffered */
    struct held **contrib; /* messages with records here, each once */
    size_t n_contrib, cap_contrib;
};

/* A committed object whose move into place failed: retried at run time. */
struct unpublished {
    int64_t object_id;
    char *staging;
    char *key;
};

struct cl_processor {
    struct cl_queue *q;
    struct cl_store *st;
    struct cl_process_opts o;
    struct held **held;
    size_t n_held, cap_held;
    struct part **parts;
    size_t n_parts, cap_parts;
    size_t buffered;       /* raw bytes in all partition buffers */
    struct cl_buf decoded; /* scratch: one decompressed message */
    struct cl_buf gz;      /* scratch: one compressed object */
    struct cl_process_counters c;
    unsigned rng;
    struct cl_held_set *held_set;
    int own_held_set;

    /* key -> struct part *, so routing a line is O(1) however many partitions are held */
    struct cl_part_map part_index;
    struct cl_breaker *breaker;
    int own_breaker;
    struct unpublished *unpub; /* publications to retry, oldest first */
    size_t n_unpub, cap_unpub;
    int64_t unpub_next_ms; /* when to retry them (cl_now_ms) */
};

/* process_flush.c */
int cl_proc_flush_part(struct cl_processor *p, size_t index);
void cl_proc_flush_due(struct cl_processor *p, int64_t now);
/* A systemic failure (store or queue): gives every held message back, uncounted unless
 * the breaker was on trial, and opens the breaker. */
void cl_proc_fail_all(struct cl_processor *p, const char *error);
/* Retries the publications that failed at run time, when due. */
void cl_proc_retry_publish(struct cl_processor *p, int64_t now);
void cl_proc_unpub_free(struct cl_processor *p);
void cl_proc_release(struct cl_processor *p, const char *receipt, uint32_t receive_count,
                     const char *error);
void cl_proc_held_remove(struct cl_processor *p, struct held *h);
void cl_proc_part_remove(struct cl_processor *p, size_t index);
void cl_proc_extend_visibility(struct cl_processor *p, int64_t now);

#endif
