/* fuzz/fuzz_ethernet.c — libFuzzer target for pn_eth_parse: a frame that parses re-emits
 * to the same 14 bytes and re-parses to the same repr. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ethernet.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pn_eth_repr r, back;
    if (pn_eth_parse(data, size, &r) != PN_WIRE_OK)
        return 0;
    uint8_t out[PN_ETH_HDR_LEN];
    pn_eth_emit(&r, out);
    CHECK(memcmp(out, data, PN_ETH_HDR_LEN) == 0);
    CHECK(pn_eth_parse(out, sizeof out, &back) == PN_WIRE_OK);
    CHECK(memcmp(back.dst.b, r.dst.b, 6) == 0);
    CHECK(memcmp(back.src.b, r.src.b, 6) == 0);
    CHECK(back.ethertype == r.ethertype && r.ethertype >= 0x0600);
    return 0;
}
