/* SPDX-License-Identifier: Apache-2.0 */
/* Recordings of upstream feeds (docs/ARCHITECTURE.md, "Record and replay"):
 * every message a vendor sent, with the time it arrived, in zstd-compressed
 * files that `tickerd replay` serves again in the vendor's dialect.
 *
 * A file is one or more zstd frames; decompressed, it is
 *
 *   "TDREC1\r\n"  u32 LE n  n bytes of JSON header
 *   then records: u32 LE len  i64 LE receive time (ns, UTC)  u8 flags  len bytes
 *
 * The JSON header is {"vendor":"alpaca","url":"wss://...","path":"/v2/iex",
 * "start_ns":N,"writer":"tickerd run 0.1.0"}. flags bit 0: a binary message.
 * The writer flushes the compressor every flush interval (a zstd block
 * boundary is a record boundary), so a process that dies leaves a file whose
 * last block or record is torn: the reader stops there and says so. */
#ifndef TD_RECORD_RECORD_H
#define TD_RECORD_RECORD_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#define TD_REC_MAGIC       "TDREC1\r\n"
#define TD_REC_MAGIC_LEN   8
#define TD_REC_HEADER_MAX  4096
#define TD_REC_REC_HDR     13
#define TD_REC_MAX_FRAME   ((size_t)64 << 20)
#define TD_REC_SUFFIX      ".tdrec.zst"
#define TD_REC_FLAG_BINARY 1u

/* ---- writing ------------------------------------------------------------- */

typedef struct td_recdir_s td_recdir_t;
typedef struct td_rec_s td_rec_t;

typedef struct td_recdir_cfg_s {
    const char *dir; /* created if missing */
    double max_gb;   /* the directory's *.tdrec.zst files, at most (oldest deleted); 0: no bound */
    uint32_t flush_ms;  /* compressor flush period (0: 200) */
    int level;          /* zstd level (0: 3) */
    int workers;        /* zstd compression threads (0: on the caller's thread; falls back to 0
                         * if libzstd was built without threads) */
    const char *writer; /* "tickerd run 0.1.0", in each file's header */
} td_recdir_cfg_t;

typedef struct td_rec_stats_s {
    uint64_t frames, bytes_in; /* records written, their payload bytes */
    uint64_t bytes_out;        /* compressed bytes written to files */
    uint64_t files, deleted;   /* files opened; files deleted for max_gb */
    uint64_t errors;           /* write errors (each loses the file's rest) */
} td_rec_stats_t;

/* loop NULL: no flush timer (td_recdir_flush by hand; tests). NULL with a
 * message in err if the directory is unusable. */
td_recdir_t *td_recdir_new(uv_loop_t *loop, const td_recdir_cfg_t *cfg, char *err, size_t errlen);
/* A writer for one upstream stream; `vendor` "alpaca" or "polygon", `url`
 * the stream's URL (its path goes into the header and the file name). The
 * first file is opened with the first frame. Owned by d. */
td_rec_t *td_recdir_stream(td_recdir_t *d, const char *vendor, const char *url);
/* One complete upstream message received at `ns` (wall clock). Rotates the
 * file at each UTC hour and past a share of max_gb. */
void td_rec_frame(td_rec_t *r, const void *p, size_t n, int64_t ns, unsigned flags);
/* Flushes every writer's compressor to its file (the timer does this). */
void td_recdir_flush(td_recdir_t *d);
void td_recdir_stats(const td_recdir_t *d, td_rec_stats_t *out);
/* Ends every file (complete zstd frames), closes the timer; d is freed once
 * the loop has closed the timer (at once without a loop). */
void td_recdir_close(td_recdir_t *d);

/* ---- reading ------------------------------------------------------------- */

typedef struct td_rec_info_s {
    char vendor[32], url[1024], path[256];
    int64_t start_ns;
} td_rec_info_t;

/* td_rec_reader_next: TD_REC_FRAME, TD_REC_END, or an error (core/err.h):
 * TD_ETORN (the file ends inside a block or a record: a torn tail) or
 * TD_ECORRUPT (not decodable: corrupt, or not a recording). */
enum {
    TD_REC_FRAME = 1, /* *rec is set */
    TD_REC_END = 0,   /* the file ended cleanly */
};

typedef struct td_rec_frame_s {
    const char *data; /* valid until the next call */
    size_t len;
    int64_t ns;
    unsigned flags;
} td_rec_frame_t;

typedef struct td_rec_reader_s td_rec_reader_t;

/* Opens `file` and reads its header. NULL with a message in err. */
td_rec_reader_t *td_rec_reader_open(const char *file, char *err, size_t errlen);
/* The same from an open stream (taken over: closed by _free). */
td_rec_reader_t *td_rec_reader_fopen(FILE *fp, const char *name, char *err, size_t errlen);
const td_rec_info_t *td_rec_reader_info(const td_rec_reader_t *r);
int td_rec_reader_next(td_rec_reader_t *r, td_rec_frame_t *rec);
/* After TD_ETORN or TD_ECORRUPT: what and where, in words. */
const char *td_rec_reader_error(const td_rec_reader_t *r);
uint64_t td_rec_reader_count(const td_rec_reader_t *r); /* records read */
void td_rec_reader_free(td_rec_reader_t *r);

/* The path of a ws:// or wss:// URL ("/" if none), into out. */
void td_rec_url_path(const char *url, char *out, size_t cap);

#endif
