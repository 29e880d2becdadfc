/* fuzz/fuzz_tcp.c — libFuzzer target for pn_tcp_parse: a segment that parses re-emits in
 * both option layouts to segments that verify and parse back to the same repr (the Linux
 * layout may drop SACK blocks from the end, the compact layout never has to). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/tcp.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define SRC 0x0ac80001u /* 10.200.0.1 */
#define DST 0x0ac80002u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct pn_tcp_repr *a, const struct pn_tcp_repr *b, bool all_sack)
{
    CHECK(a->src_port == b->src_port && a->dst_port == b->dst_port);
    CHECK(a->seq == b->seq && a->ack == b->ack && a->flags == b->flags);
    CHECK(a->window == b->window && a->urgent == b->urgent);
    CHECK(a->has_mss == b->has_mss && a->mss == b->mss);
    CHECK(a->has_wscale == b->has_wscale && a->wscale == b->wscale);
    CHECK(a->sack_permitted == b->sack_permitted);
    CHECK(a->has_ts == b->has_ts && a->ts_val == b->ts_val && a->ts_ecr == b->ts_ecr);
    if (all_sack)
        CHECK(a->sack_count == b->sack_count);
    else
        CHECK(b->sack_count <= a->sack_count);
    for (size_t i = 0; i < b->sack_count; i++)
        CHECK(a->sack[i].left == b->sack[i].left && a->sack[i].right == b->sack[i].right);
    CHECK(a->payload_len == b->payload_len);
    CHECK(memcmp(a->payload, b->payload, a->payload_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pn_tcp_repr r, back;
    if (pn_tcp_parse(data, size, SRC, DST, &r, false) != PN_WIRE_OK)
        return 0;
    CHECK(r.hdr_len >= PN_TCP_HDR_LEN && r.hdr_len <= PN_TCP_MAX_HDR_LEN);
    CHECK(r.payload == data + r.hdr_len && r.hdr_len + r.payload_len == size);
    CHECK(r.sack_count <= PN_TCP_MAX_SACK);
    for (int lay = 0; lay < 2; lay++) {
        enum pn_tcp_opt_layout layout = lay ? PN_TCP_OPTS_COMPACT : PN_TCP_OPTS_LINUX;
        size_t olen = pn_tcp_options_len(&r, layout);
        CHECK(olen % 4 == 0 && olen <= 40);
        size_t len = PN_TCP_HDR_LEN + olen + r.payload_len;
        uint8_t *out = malloc(len);
        CHECK(out != NULL);
        memcpy(out + PN_TCP_HDR_LEN + olen, r.payload, r.payload_len);
        CHECK(pn_tcp_emit(&r, layout, out, SRC, DST, r.payload_len) == PN_TCP_HDR_LEN + olen);
        CHECK(pn_tcp_parse(out, len, SRC, DST, &back, true) == PN_WIRE_OK);
        CHECK(back.hdr_len == PN_TCP_HDR_LEN + olen);
        check_same(&r, &back, layout == PN_TCP_OPTS_COMPACT);
        free(out);
    }
    return 0;
}
