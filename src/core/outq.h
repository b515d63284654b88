/* SPDX-License-Identifier: Apache-2.0 */
/* The outgoing-frame queue shared by the gateway, the simulator and the
 * feeds: refcounted immutable messages (an encoded event, one element of a
 * batch, or a whole control frame), a ring of references per connection with
 * its bytes counted, optional conflation by key (the newest value of a key
 * replaces an older unsent one in place), and the building of the next frame
 * (a control message alone; data messages batched into one frame of the
 * codec's open/sep/close, up to a byte cap and a count). No I/O. */
#ifndef TD_CORE_OUTQ_H
#define TD_CORE_OUTQ_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

#define TD_OUTQ_CONTROL 0xff /* td_outmsg_t.kind of a control frame */

typedef struct td_outpool_s td_outpool_t;

/* One message; immutable once made, shared by every queue that holds it. */
typedef struct td_outmsg_s {
    uint32_t refs;
    uint32_t key;       /* conflation key; 0: never conflated */
    uint8_t kind;       /* the owner's data kind (< TD_OUTQ_CONTROL), or TD_OUTQ_CONTROL */
    uint64_t id;        /* the owner's, e.g. for "same event" checks */
    td_outpool_t *pool; /* where it goes back when its last reference is dropped */
    size_t len;
    char data[]; /* len bytes, then a NUL */
} td_outmsg_t;

/* A message with one reference (the caller's). */
td_outmsg_t *td_outmsg_new(const void *data, size_t len, int kind, uint32_t key, uint64_t id);
void td_outmsg_unref(td_outmsg_t *m);

/* Recycled messages for an owner that makes one per event and drops it a
 * moment later (the allocator would otherwise see every event): messages
 * of at most TD_OUTPOOL_LEN bytes come from the pool and go back to it (up
 * to `keep` of them kept), longer ones are allocated as by td_outmsg_new.
 * One loop's: not thread safe. The owner releases its pool when done; it
 * is freed with the last message still out. */
#define TD_OUTPOOL_LEN 472 /* a pooled message is one allocation of about 512 bytes */
td_outpool_t *td_outpool_new(size_t keep);
/* As td_outmsg_new (p NULL: td_outmsg_new). */
td_outmsg_t *td_outpool_msg(td_outpool_t *p, const void *data, size_t len, int kind, uint32_t key,
                            uint64_t id);
void td_outpool_release(td_outpool_t *p);

/* Open-addressing map: conflation key → absolute queue position. */
typedef struct td_outq_index_s {
    uint32_t *keys; /* 0: empty */
    uint64_t *pos;
    uint32_t cap, n;
} td_outq_index_t;

/* A FIFO of message references (ring), bytes counted, with the index of
 * its conflatable entries. Positions are absolute (head grows forever).
 * Zeroed is empty, with no overhead per entry counted. */
typedef struct td_outq_s {
    td_outmsg_t **v;
    size_t cap, h, n; /* ring: n entries from v[h] */
    uint64_t head;    /* absolute position of v[h] */
    size_t bytes;     /* sum of len + overhead */
    size_t overhead;  /* bytes counted per entry besides the data */
    td_outq_index_t idx;
} td_outq_t;

/* An empty queue counting overhead bytes per entry. */
void td_outq_init(td_outq_t *q, size_t overhead);
/* Releases every reference; the queue is empty again (overhead kept). */
void td_outq_clear(td_outq_t *q);
/* Replaces the queued, unsent message with m's key by m (taking a
 * reference); returns 1, or 0 if there is none (m not queued). */
int td_outq_conflate(td_outq_t *q, td_outmsg_t *m);
void td_outq_push(td_outq_t *q, td_outmsg_t *m); /* takes a reference */
td_outmsg_t *td_outq_peek(const td_outq_t *q, size_t i);
/* Removes the head and returns it; the caller owns that reference. */
td_outmsg_t *td_outq_pop(td_outq_t *q);

/* How a batch of data messages becomes one frame: open(n) (n elements),
 * the elements separated by sep, then close. NULL members write nothing. */
typedef struct td_outq_framing_s {
    void (*open)(td_buf_t *b, uint32_t n);
    void (*sep)(td_buf_t *b);
    void (*close)(td_buf_t *b);
} td_outq_framing_t;

/* A JSON array: "[", ",", "]". */
void td_outq_json_open(td_buf_t *b, uint32_t n);
void td_outq_json_sep(td_buf_t *b);
void td_outq_json_close(td_buf_t *b);
extern const td_outq_framing_t td_outq_json_array;

/* Appends the next frame to f and pops what went into it: the head control
 * message alone (its bytes as they are), or the data messages up to the next
 * control one, at most max_n of them (0: no limit) and while their bytes
 * (plus one per element) stay within cap, but at least one. counts (NULL:
 * none) is incremented at [kind] for each data message. Returns the number
 * of data messages (0: a control frame, or the queue was empty). */
uint32_t td_outq_build(td_outq_t *q, td_buf_t *f, const td_outq_framing_t *fr, size_t cap,
                       uint32_t max_n, uint64_t *counts);

/* Interns (tag, bytes), e.g. (kind, symbol), as a small nonzero key for
 * conflation. Zeroed is empty. */
typedef struct td_outkeys_s {
    struct td_outkey_s *v;
    uint32_t cap, n;
} td_outkeys_t;
uint32_t td_outkeys_get(td_outkeys_t *k, unsigned tag, const char *s, size_t n);
void td_outkeys_free(td_outkeys_t *k);

#endif
