/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: JSON → MessagePack transcoder (vendor objects and frames).
 * When it succeeds, msgpack-c must read the output back as exactly one map
 * (or array of maps) with "T", when present, as the first key; when it
 * fails, the buffer must be as it was. */
#include "proto/alpaca_msgpack.h"
#include "core/clock.h"

#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_key(const msgpack_object *o, const char *k)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(k) &&
           memcmp(o->via.str.ptr, k, o->via.str.size) == 0;
}

static void check_map(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_MAP) abort();
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR) abort();
        if (is_key(&kv->key, "T") && !is_key(&o->via.map.ptr[0].key, "T")) abort();
        int is_ts = is_key(&kv->key, "t") || is_key(&kv->key, "created_at") ||
                    is_key(&kv->key, "updated_at");
        int64_t ns;
        if (is_ts && kv->val.type == MSGPACK_OBJECT_STR &&
            td_rfc3339_parse(kv->val.via.str.ptr, kv->val.via.str.size, &ns) == 0)
            abort(); /* should have become a timestamp */
        if (kv->val.type == MSGPACK_OBJECT_EXT) {
            msgpack_timestamp ts;
            if (!msgpack_object_to_timestamp(&kv->val, &ts) || ts.tv_nsec >= 1000000000) abort();
            if (!is_ts) abort();
        }
    }
}

/* b[from..) must be one complete msgpack value: a map, or an array of maps. */
static void check_output(const td_buf_t *b, size_t from, int frame)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, b->data + from, b->len - from, &off) != MSGPACK_UNPACK_SUCCESS)
        abort();
    if (off != b->len - from || b->data[b->len] != '\0') abort();
    if (!frame) {
        check_map(&u.data);
    } else {
        if (u.data.type != MSGPACK_OBJECT_ARRAY) abort();
        for (uint32_t i = 0; i < u.data.via.array.size; i++)
            check_map(&u.data.via.array.ptr[i]);
    }
    msgpack_unpacked_destroy(&u);
}

static void run(const char *s, size_t size, int frame)
{
    td_buf_t b = TD_BUF_INIT;
    td_buf_appends(&b, "prefix");
    int rc = frame ? td_alpaca_msgpack_frame(&b, s, size) : td_alpaca_msgpack_object(&b, s, size);
    if (rc == 0) {
        check_output(&b, 6, frame);
        /* deterministic: a second run appends the same bytes */
        size_t n = b.len - 6;
        if ((frame ? td_alpaca_msgpack_frame(&b, s, size)
                   : td_alpaca_msgpack_object(&b, s, size)) ||
            b.len != 6 + 2 * n || memcmp(b.data + 6, b.data + 6 + n, n) != 0)
            abort();
    } else if (rc != -1 || b.len != 6 || memcmp(b.data, "prefix", 7) != 0) {
        abort();
    }
    td_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, so reads past the end are caught. */
    char *s = malloc(size ? size : 1);
    if (!s) return 0;
    if (size) memcpy(s, data, size);
    run(s, size, 0);
    run(s, size, 1);
    free(s);
    return 0;
}
