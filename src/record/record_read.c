/* SPDX-License-Identifier: Apache-2.0 */
/* Reads recordings (record.h): streaming zstd decompression, the header,
 * then one record per call. A torn tail (the writer died mid-block or
 * mid-record) ends the file with TD_ETORN; undecodable bytes with
 * TD_ECORRUPT. Every length is checked before it is used. */
#include "core/buf.h"
#include "core/mem.h"
#include "proto/json_scan.h"
#include "record/record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

struct td_rec_reader_s {
    FILE *fp;
    char *name;
    ZSTD_DCtx *dc;
    unsigned char *in;
    size_t in_cap;
    ZSTD_inBuffer zin;
    int eof;           /* fp has no more bytes */
    size_t frame_left; /* ZSTD's last hint: 0 at a frame boundary */
    td_buf_t dec;      /* decompressed bytes; [pos, len) unread */
    size_t pos;
    uint64_t consumed; /* decompressed bytes consumed before dec */
    uint64_t count;
    const char *zerr; /* zstd's last error (a static string) */
    td_rec_info_t info;
    char err[320];
};

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t get_i64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return (int64_t)v;
}

/* Decompresses until `need` bytes are available after pos. 1: available;
 * 0: the input ended first; -1: a zstd error (r->err). */
static int fill(td_rec_reader_t *r, size_t need)
{
    if (r->pos > 0 && r->pos >= r->dec.len / 2) {
        td_buf_consume(&r->dec, r->pos);
        r->consumed += r->pos;
        r->pos = 0;
    }
    while (r->dec.len - r->pos < need) {
        if (r->zin.pos == r->zin.size && !r->eof) {
            size_t got = fread(r->in, 1, r->in_cap, r->fp);
            if (got == 0) r->eof = 1;
            r->zin = (ZSTD_inBuffer){r->in, got, 0};
        }
        size_t room = ZSTD_DStreamOutSize();
        td_buf_reserve(&r->dec, room);
        ZSTD_outBuffer out = {r->dec.data + r->dec.len, room, 0};
        size_t in_before = r->zin.pos;
        size_t rc = ZSTD_decompressStream(r->dc, &out, &r->zin);
        if (ZSTD_isError(rc)) {
            r->zerr = ZSTD_getErrorName(rc);
            snprintf(r->err, sizeof r->err,
                     "%s: undecodable after %llu records (decompressed offset %llu): %s", r->name,
                     (unsigned long long)r->count, (unsigned long long)(r->consumed + r->dec.len),
                     ZSTD_getErrorName(rc));
            return -1;
        }
        if (out.pos || r->zin.pos != in_before) /* an idle call hints at a next frame */
            r->frame_left = rc;
        r->dec.len += out.pos;
        /* at the end of the input, the decoder may still hold output of what
         * it read (a full output buffer last time): drained above, until it
         * gives nothing more */
        if (out.pos == 0 && r->eof && r->zin.pos == r->zin.size) return 0;
    }
    return 1;
}

static int header_member(void *ud, const char *k, size_t n, int esc, const char *v, const char *ve)
{
    td_rec_info_t *in = ud;
    static const char *const names[] = {"vendor", "url", "path", "start_ns"};
    int i = td_json_name_index(k, n, esc, names, 4);
    if (i < 0) return 0;
    if (i == 3) {
        char num[24];
        size_t len = (size_t)(ve - v);
        if (len == 0 || len >= sizeof num) return -1;
        memcpy(num, v, len);
        num[len] = '\0';
        char *end;
        errno = 0;
        long long x = strtoll(num, &end, 10);
        if (*end || errno) return -1;
        in->start_ns = x;
        return 0;
    }
    if (ve - v < 2 || *v != '"') return -1;
    char *out = i == 0 ? in->vendor : i == 1 ? in->url : in->path;
    size_t cap = i == 0 ? sizeof in->vendor : i == 1 ? sizeof in->url : sizeof in->path;
    int len = td_json_unescape(v + 1, (size_t)(ve - v - 2), out, cap - 1);
    if (len < 0 || memchr(out, '\0', (size_t)len)) return -1;
    out[len] = '\0';
    return 0;
}

static int read_header(td_rec_reader_t *r)
{
    int rc = fill(r, TD_REC_MAGIC_LEN + 4);
    if (rc < 0 && r->dec.len == 0) /* not even the start decodes */
        snprintf(r->err, sizeof r->err, "%s: not a tickerd recording (not zstd: %s)", r->name,
                 r->zerr);
    if (rc < 0) return -1;
    const unsigned char *p = (const unsigned char *)r->dec.data;
    if (rc == 0 || memcmp(p, TD_REC_MAGIC, TD_REC_MAGIC_LEN) != 0) {
        snprintf(r->err, sizeof r->err, "%s: not a tickerd recording (no %s header)", r->name,
                 TD_REC_SUFFIX);
        return -1;
    }
    uint32_t n = get_u32(p + TD_REC_MAGIC_LEN);
    if (n > TD_REC_HEADER_MAX) {
        snprintf(r->err, sizeof r->err, "%s: header of %u bytes (at most %d)", r->name, n,
                 TD_REC_HEADER_MAX);
        return -1;
    }
    if ((rc = fill(r, TD_REC_MAGIC_LEN + 4 + n)) <= 0) {
        if (rc == 0) snprintf(r->err, sizeof r->err, "%s: torn inside its header", r->name);
        return -1;
    }
    const char *h = r->dec.data + TD_REC_MAGIC_LEN + 4;
    if (!td_json_valid(h, n, 1) || td_json_each_member(h, h + n, header_member, &r->info) != 0 ||
        !r->info.vendor[0] || r->info.path[0] != '/') {
        snprintf(r->err, sizeof r->err,
                 "%s: unusable header (a JSON object with vendor, url, path, start_ns)", r->name);
        return -1;
    }
    r->pos = TD_REC_MAGIC_LEN + 4 + n;
    return 0;
}

td_rec_reader_t *td_rec_reader_fopen(FILE *fp, const char *name, char *err, size_t errlen)
{
    td_rec_reader_t *r = td_xcalloc(1, sizeof *r);
    r->fp = fp;
    r->name = td_xstrdup(name);
    r->dc = ZSTD_createDCtx();
    r->in_cap = ZSTD_DStreamInSize();
    r->in = td_xmalloc(r->in_cap);
    if (!r->dc || read_header(r) != 0) {
        snprintf(err, errlen, "%s", r->dc ? r->err : "out of memory");
        td_rec_reader_free(r);
        return NULL;
    }
    return r;
}

td_rec_reader_t *td_rec_reader_open(const char *file, char *err, size_t errlen)
{
    FILE *fp = fopen(file, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return NULL;
    }
    return td_rec_reader_fopen(fp, file, err, errlen);
}

static int torn(td_rec_reader_t *r)
{
    char what[64] = "the zstd frame cut short";
    if (r->dec.len > r->pos)
        snprintf(what, sizeof what, "%zu bytes of an incomplete record", r->dec.len - r->pos);
    snprintf(r->err, sizeof r->err,
             "%s: torn tail after %llu records (decompressed offset %llu, then %s): the writer "
             "stopped mid-write; read up to the tear",
             r->name, (unsigned long long)r->count, (unsigned long long)(r->consumed + r->pos),
             what);
    return TD_ETORN;
}

int td_rec_reader_next(td_rec_reader_t *r, td_rec_frame_t *rec)
{
    if (r->err[0]) return TD_ECORRUPT;
    int rc = fill(r, TD_REC_REC_HDR);
    if (rc < 0) return TD_ECORRUPT;
    if (rc == 0) {
        if (r->dec.len == r->pos && r->frame_left == 0) return TD_REC_END;
        return torn(r);
    }
    const unsigned char *p = (const unsigned char *)r->dec.data + r->pos;
    uint32_t len = get_u32(p);
    int64_t ns = get_i64(p + 4);
    unsigned flags = p[12];
    if (len > TD_REC_MAX_FRAME || flags > TD_REC_FLAG_BINARY) {
        snprintf(r->err, sizeof r->err,
                 "%s: bad record after %llu records (decompressed offset %llu: length %u, "
                 "flags %u): corrupt",
                 r->name, (unsigned long long)r->count, (unsigned long long)(r->consumed + r->pos),
                 len, flags);
        return TD_ECORRUPT;
    }
    rc = fill(r, TD_REC_REC_HDR + (size_t)len);
    if (rc < 0) return TD_ECORRUPT;
    if (rc == 0) return torn(r);
    rec->data = r->dec.data + r->pos + TD_REC_REC_HDR;
    rec->len = len;
    rec->ns = ns;
    rec->flags = flags;
    r->pos += TD_REC_REC_HDR + (size_t)len;
    r->count++;
    return TD_REC_FRAME;
}

const td_rec_info_t *td_rec_reader_info(const td_rec_reader_t *r)
{
    return &r->info;
}

const char *td_rec_reader_error(const td_rec_reader_t *r)
{
    return r->err;
}

uint64_t td_rec_reader_count(const td_rec_reader_t *r)
{
    return r->count;
}

void td_rec_reader_free(td_rec_reader_t *r)
{
    if (!r) return;
    if (r->fp) fclose(r->fp);
    ZSTD_freeDCtx(r->dc);
    free(r->in);
    free(r->name);
    td_buf_free(&r->dec);
    free(r);
}

void td_rec_url_path(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    p = strchr(p, '/');
    snprintf(out, cap, "%s", p ? p : "/");
}
