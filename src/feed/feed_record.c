/* SPDX-License-Identifier: Apache-2.0 */
/* --record: the feed hands every complete upstream message to its writer
 * (feed.c, td__feed_message) before the dialect reads it. */
#include "feed/feed_int.h"
#include "record/record.h"

void td_feed_record(td_feed_t *f, td_recdir_t *d)
{
    f->rec = d ? td_recdir_stream(d, f->d->name, f->url) : NULL;
}
