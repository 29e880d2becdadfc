/* fuzz/fuzz_udp.c — libFuzzer target for pn_udp_parse: a datagram that parses re-emits to
 * one with a valid checksum that parses to the same repr; when the input's checksum was
 * present and valid, the re-emitted bytes are identical. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/udp.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define SRC 0x0ac80001u /* 10.200.0.1 */
#define DST 0x0ac80002u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pn_udp_repr r, back;
    if (pn_udp_parse(data, size, SRC, DST, &r, false) != PN_WIRE_OK)
        return 0;
    bool verified = r.has_checksum && pn_udp_parse(data, size, SRC, DST, &back, true) == 0;
    CHECK(r.payload == data + PN_UDP_HDR_LEN && PN_UDP_HDR_LEN + r.payload_len <= size);
    size_t len = PN_UDP_HDR_LEN + r.payload_len;
    uint8_t *out = malloc(len);
    CHECK(out != NULL);
    memcpy(out + PN_UDP_HDR_LEN, r.payload, r.payload_len);
    pn_udp_emit(&r, out, SRC, DST);
    CHECK(pn_udp_parse(out, len, SRC, DST, &back, true) == PN_WIRE_OK);
    CHECK(back.src_port == r.src_port && back.dst_port == r.dst_port);
    CHECK(back.payload_len == r.payload_len && back.has_checksum);
    CHECK(memcmp(back.payload, r.payload, r.payload_len) == 0);
    if (verified)
        CHECK(memcmp(out, data, len) == 0);
    free(out);
    return 0;
}
