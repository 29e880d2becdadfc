/* fuzz/fuzz_arp.c — libFuzzer target for pn_arp_parse: a packet that parses re-emits to the
 * same 28 bytes and re-parses to the same repr. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/arp.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pn_arp_repr r, back;
    if (pn_arp_parse(data, size, &r) != PN_WIRE_OK)
        return 0;
    uint8_t out[PN_ARP_LEN];
    pn_arp_emit(&r, out);
    CHECK(memcmp(out, data, PN_ARP_LEN) == 0); /* every field is fixed or kept */
    CHECK(pn_arp_parse(out, sizeof out, &back) == PN_WIRE_OK);
    CHECK(back.op == r.op && back.spa == r.spa && back.tpa == r.tpa);
    CHECK(memcmp(back.sha.b, r.sha.b, 6) == 0 && memcmp(back.tha.b, r.tha.b, 6) == 0);
    return 0;
}
