/* SPDX-License-Identifier: Apache-2.0 */
/* Frame codecs of the gateway. JSON is the vendor's default; MessagePack
 * (Content-Type: application/msgpack on the upgrade) plugs in as a second
 * entry of td__gw_codecs. */
#include "gateway/gw_int.h"
#include "proto/alpaca_msgpack.h"

static int json_element(td_buf_t *out, const char *json, size_t len)
{
    td_buf_append(out, json, len);
    return 0;
}

/* MessagePack: "T" first, timestamps as extensions (proto/alpaca_msgpack). */
static int mp_element(td_buf_t *out, const char *json, size_t len)
{
    return td_alpaca_msgpack_object(out, json, len);
}

static int mp_control(td_buf_t *out, const char *json, size_t len)
{
    return td_alpaca_msgpack_frame(out, json, len);
}

static void mp_open(td_buf_t *b, uint32_t n)
{
    td_msgpack_array_header(b, n);
}

const gw_codec_t td__gw_codecs[GW_CODECS] = {
    [GW_CODEC_JSON] = {"json",
                       0,
                       json_element,
                       json_element,
                       {td_outq_json_open, ',', ']'},
                       td_alpaca_client_parse},
    [GW_CODEC_MSGPACK] =
        {"msgpack", 1, mp_element, mp_control, {mp_open, 0, 0}, td_alpaca_client_parse_msgpack},
};
