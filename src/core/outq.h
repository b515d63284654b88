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

/* One message; immutable once made, shared by every queue that holds it. */
typedef struct td_outmsg_s {
    uint32_t refs;
    uint32_t key; /* conflation key; 0: never conflated */
    uint8_t kind; /* the owner's data kind (< TD_OUTQ_CONTROL), or TD_OUTQ_CONTROL */
    uint64_t id;  /* the owner's, e.g. for "same event" checks */
    size_t len;
    char data[]; /* len bytes, then a NUL */
} td_outmsg_t;

/* A message with one reference (the caller's). */
td_outmsg_t *td_outmsg_new(const void *data, size_t len, int kind, uint32_t key, uint64_t id);
void td_outmsg_unref(td_outmsg_t *m);

/* A message with one reference and len bytes of data left for the caller
 * to fill; while it has that one reference and is in no queue, the caller
 * may also grow it (td_outmsg_room) and set its len. */
td_outmsg_t *td_outmsg_alloc(size_t len, int kind, uint32_t key, uint64_t id);
/* Room for cap bytes of data in such a message (it may move); len kept. */
td_outmsg_t *td_outmsg_room(td_outmsg_t *m, size_t cap);

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

/* How a batch of data messages becomes one frame: open(b, n) (n elements;
 * NULL: nothing), the elements separated by sep, then close (0: no byte). */
typedef struct td_outq_framing_s {
    void (*open)(td_buf_t *b, uint32_t n);
    char sep, close;
} td_outq_framing_t;

void td_outq_json_open(td_buf_t *b, uint32_t n);   /* "[" */
extern const td_outq_framing_t td_outq_json_array; /* [a,b,c] */

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
