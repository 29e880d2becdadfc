/* fuzz/fuzz_ipv4.c — libFuzzer target for pn_ipv4_parse: a header that parses re-emits
 * (without options) to a header that verifies and parses to the same repr; with no
 * options and a valid checksum the emitted header is byte-identical. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ipv4.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pn_ipv4_repr r, back;
    if (pn_ipv4_parse(data, size, &r, false) != PN_WIRE_OK)
        return 0;
    bool csum_ok = pn_ipv4_parse(data, size, &back, true) == PN_WIRE_OK;
    CHECK(r.hdr_len >= PN_IPV4_HDR_LEN && r.hdr_len + (size_t)r.payload_len <= size);

    size_t len = PN_IPV4_HDR_LEN + r.payload_len;
    uint8_t *out = malloc(len);
    CHECK(out != NULL);
    memcpy(out + PN_IPV4_HDR_LEN, data + r.hdr_len, r.payload_len);
    pn_ipv4_emit(&r, out);
    CHECK(pn_ipv4_parse(out, len, &back, true) == PN_WIRE_OK);
    CHECK(back.src == r.src && back.dst == r.dst && back.proto == r.proto);
    CHECK(back.ttl == r.ttl && back.tos == r.tos && back.id == r.id);
    CHECK(back.df == r.df && back.mf == r.mf && back.frag_off == r.frag_off);
    CHECK(back.hdr_len == PN_IPV4_HDR_LEN && back.payload_len == r.payload_len);
    if (r.hdr_len == PN_IPV4_HDR_LEN && csum_ok)
        CHECK(memcmp(out, data, PN_IPV4_HDR_LEN) == 0);
    free(out);
    return 0;
}
