/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the recording reader (td_rec_reader_*) the way tickerd replay uses
 * it: open, then records until the end. An input whose first byte is odd is
 * the decompressed stream (compressed here first, so the header and record
 * parsing are reached); otherwise the bytes are the file itself (the zstd
 * framing, torn blocks). Checks: every record lies within the decompressed
 * bytes (length at most TD_REC_MAX_FRAME, data readable), TORN/BAD come
 * with a message, and the end is final. */
#include "record/record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define MAX_RECORDS 100000 /* a tiny zstd frame may expand to millions of empty records */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    void *owned = NULL;
    const void *file = data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        size_t cap = ZSTD_compressBound(len);
        owned = malloc(cap);
        len = ZSTD_compress(owned, cap, data + 1, size - 1, 1);
        if (ZSTD_isError(len)) abort();
        file = owned;
    }
    if (len == 0) {
        free(owned);
        return 0;
    }
    FILE *fp = fmemopen((void *)file, len, "rb");
    if (!fp) abort();
    char err[512];
    td_rec_reader_t *r = td_rec_reader_fopen(fp, "fuzz", err, sizeof err);
    if (!r) {
        if (!err[0]) abort();
        free(owned);
        return 0;
    }
    const td_rec_info_t *in = td_rec_reader_info(r);
    if (in->path[0] != '/' || !in->vendor[0]) abort();
    td_rec_frame_t f;
    int rc = TD_REC_FRAME;
    volatile unsigned sum = 0;
    for (int i = 0; i < MAX_RECORDS && (rc = td_rec_reader_next(r, &f)) == TD_REC_FRAME; i++) {
        if (f.len > TD_REC_MAX_FRAME || f.flags > TD_REC_FLAG_BINARY) abort();
        if (f.len) sum += (unsigned char)f.data[0] + (unsigned char)f.data[f.len - 1];
    }
    (void)sum;
    if (rc == TD_ETORN || rc == TD_ECORRUPT) {
        if (!td_rec_reader_error(r)[0]) abort();
        if (td_rec_reader_next(r, &f) == TD_REC_FRAME) abort();
    } else if (rc == TD_REC_END && td_rec_reader_next(r, &f) != TD_REC_END) {
        abort();
    }
    td_rec_reader_free(r);
    free(owned);
    return 0;
}
