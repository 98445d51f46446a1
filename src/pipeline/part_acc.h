/* part_acc.h - the partition accumulator: the one place records wait, grouped by
 * partition ("service=S/dt=D/hour=HH"), until the engine commits a partition as one object.
 *
 * Each partition keeps its records in two forms: gzip members taken as they are from
 * messages packed by partition (gz; the flush appends them without recompressing) and
 * NDJSON lines of messages that mix partitions in one member (data; compressed at the
 * flush). Also the statistics the catalog wants (records, raw bytes, time span, level
 * counts), when its oldest record arrived, and its members: the messages with records
 * in it, each once. A member counts the partitions still holding
 * its records (pending), so the engine knows when a message is stored everywhere.
 */
#ifndef CL_PART_ACC_H
#define CL_PART_ACC_H

#include "buf.h"
#include "map_buf.h"
#include "message.h"
#include "object_index.h"
#include "part_map.h"
#include "partition.h"

#include <stddef.h>
#include <stdint.h>

/* Embedded first in the engine's held message. */
struct cl_acc_member {
    int pending;    /* partitions still holding its records */
    int batch_hits; /* scratch of one batch commit: its partitions in the batch so far */
};

struct cl_part {
    char key[CL_PARTITION_MAX];
    struct cl_line_head head; /* service, dt, hour of the partition */
    struct cl_map_buf data;   /* NDJSON lines, compressed at the flush */
    struct cl_map_buf gz;     /* gzip members, each a whole number of this part's lines */
    size_t raw_len;           /* NDJSON bytes of all its records (data and gz) */
    uint64_t records;
    int64_t min_ts, max_ts;
    uint64_t levels[CL_LEVEL_COUNT];
    int64_t first_ms;               /* when its oldest record was buffered */
    struct cl_acc_member **members; /* each once, in order of arrival */
    size_t n_members, cap_members;
    struct cl_obj_index index; /* gz's members, put first in the object by the seal */
    struct cl_obj_seg copied;  /* what data's lines hold, for the member the seal adds */
    int sealed;
    size_t reserved; /* its bytes in the shared budget's flushing while a flush has it due */
};

struct cl_part_acc {
    struct cl_part **parts; /* owned */
    size_t n, cap;
    size_t buffered;          /* raw bytes in all partitions */
    struct cl_part_map index; /* key -> struct cl_part * */
    struct cl_map_pool pool;  /* the partitions' released mappings (map_buf.h) */
    size_t pool_cap;          /* bound on pool_max; 0: every mapping is unmapped */
    size_t pool_max;          /* bound on the pool's slack now (cl_part_acc_pool_room) */
};

/* No pool: a partition's mappings are unmapped when it is removed. */
void cl_part_acc_init(struct cl_part_acc *a);
/* Keeps released mappings for the next partitions, with at most cap resident bytes
 * beyond what the partitions hold (the slack: the pool's idle mappings plus the pages of
 * lent ones not written again, map_buf.h), and at most the room given by
 * cl_part_acc_pool_room (none until then). So a's buffers hold at most buffered + that
 * room resident bytes (+ a partly written page per buffer). */
void cl_part_acc_set_pool(struct cl_part_acc *a, size_t cap);
/* The slack a may hold from now on (at most its cap): its slack over it is given back at
 * once (idle mappings unmapped, oldest first, then lent pages not written again). A
 * partition removed adds its bytes to the room until the next call. */
void cl_part_acc_pool_room(struct cl_part_acc *a, size_t room);
/* Resident bytes of a's buffers beyond what buffered counts. */
size_t cl_part_acc_slack(const struct cl_part_acc *a);
/* Frees every partition and the pool (members are borrowed and not freed). */
void cl_part_acc_free(struct cl_part_acc *a);

/* The partition of key, or NULL. */
struct cl_part *cl_part_acc_find(struct cl_part_acc *a, const char *key);
/* A new, empty partition for key and h (key must not exist yet). */
struct cl_part *cl_part_acc_add(struct cl_part_acc *a, const char *key,
                                const struct cl_line_head *h, int64_t now_ms);

/* Appends one line (without its '\n') of member m to pt. */
void cl_part_acc_append(struct cl_part_acc *a, struct cl_part *pt, const char *line, size_t len,
                        const struct cl_line_head *h, struct cl_acc_member *m);
/* Counts one line (len without its '\n') of member m whose bytes pt holds in a gzip
 * member (cl_part_acc_append_gz). */
void cl_part_acc_count(struct cl_part_acc *a, struct cl_part *pt, size_t len,
                       const struct cl_line_head *h, struct cl_acc_member *m);
/* Counts a gzip member's records of member m from its index entry (message.h) instead of
 * its lines; its bytes join pt with cl_part_acc_append_gz. */
void cl_part_acc_count_member(struct cl_part_acc *a, struct cl_part *pt,
                              const struct cl_msg_member *mb, struct cl_acc_member *m);
/* Appends a gzip member holding whole lines of pt, as it is. */
void cl_part_acc_append_gz(struct cl_part_acc *a, struct cl_part *pt, const void *gz, size_t len);

/* Compresses pt's copied lines (data) at level as one more gzip member after its
 * members (gz) and puts the object's member index (object_index.h) in front, so gz alone
 * is the object. Once sealed, a partition is not sealed again. Returns CL_OK or the
 * compressor's error. */
int cl_part_acc_seal(struct cl_part_acc *a, struct cl_part *pt, int level);

/* Index of pt in a (it must be there). */
size_t cl_part_acc_index(const struct cl_part_acc *a, const struct cl_part *pt);

/* Drops the partition at index; the following ones move down by one. */
void cl_part_acc_remove(struct cl_part_acc *a, size_t index);

/* Index of the partition holding the most memory (a must not be empty). */
size_t cl_part_acc_largest(const struct cl_part_acc *a);

/* Orders the partitions by key, so a batch commits in the same order every time. */
void cl_part_acc_sort(struct cl_part_acc *a);

#endif
