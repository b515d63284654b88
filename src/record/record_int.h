/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/record: the writers and the directory they share. */
#ifndef TD_RECORD_RECORD_INT_H
#define TD_RECORD_RECORD_INT_H

#include "core/log.h"
#include "record/record.h"

#include <zstd.h>

struct td_rec_s {
    td_rec_t *next;
    td_recdir_t *d;
    char *vendor, *url, *path, *slug;
    int fd;            /* the current file, or -1 */
    char *file;        /* its name */
    int64_t hour;      /* the UTC hour it was opened in */
    uint64_t file_out; /* compressed bytes written to it */
    int dirty;         /* input since the last flush */
    int64_t retry_ns;  /* after an error: no new file before this */
    ZSTD_CCtx *cc;
    td_ratelimit_t rl_err;
};

struct td_recdir_s {
    uv_loop_t *loop;
    uv_timer_t timer;
    char *dir, *writer;
    uint64_t max_bytes;    /* 0: unbounded */
    uint64_t rotate_bytes; /* a file past this is rotated (max_bytes / 8) */
    uint64_t since_prune;  /* compressed bytes written since the last prune */
    int level, workers;
    td_rec_t *recs;
    unsigned char *out; /* the compressor's output buffer */
    size_t out_cap;
    td_rec_stats_t st;
};

/* record_dir.c: deletes the oldest *.tdrec.zst files of d->dir (never one
 * a writer has open) until they fit in max_bytes. */
void td__recdir_prune(td_recdir_t *d);
/* Opens a new file of r named after ns (…_YYYYMMDDTHHMMSSZ[-N].tdrec.zst).
 * The fd, or -1 (logged). */
int td__rec_create(td_rec_t *r, int64_t ns);

#endif
