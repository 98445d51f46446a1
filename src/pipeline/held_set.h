/* held_set.h - which processor of this process holds which message.
 *
 * A message whose visibility timeout ran out while a processor still buffered it can be
 * received again, by the same or another processor thread. Buffering it twice would
 * store its records twice, so every processor claims a message id here before taking
 * it, and lets go when the message is stored or released. Ids are the queue's own
 * strings (whatever their format). */
#ifndef CL_HELD_SET_H
#define CL_HELD_SET_H

struct cl_held_set;

/* Caller frees with cl_held_set_free. */
struct cl_held_set *cl_held_set_new(void);
void cl_held_set_free(struct cl_held_set *s);

/* Claims id for owner. Returns NULL if the claim succeeded, else the current owner
 * (which may be owner itself). */
const void *cl_held_set_claim(struct cl_held_set *s, const char *id, const void *owner);

/* Drops owner's claim on id (no-op if owner does not hold it). */
void cl_held_set_release(struct cl_held_set *s, const char *id, const void *owner);

#endif
