/* wire/ethernet.c — Ethernet II header codec (RFC 894 framing; IEEE 802.3 length field
 * rejected). Called by src/eth/ for every frame in and out. */
#include "wire/ethernet.h"

#include <string.h>

#include "wire/bytes.h"

int pn_eth_parse(const uint8_t *buf, size_t len, struct pn_eth_repr *out)
{
    /* Destination, source and EtherType must all be present. */
    if (len < PN_ETH_HDR_LEN)
        return PN_WIRE_TRUNCATED;
    uint16_t type = pn_get_be16(buf + 12);
    /* IEEE 802.3 §3.2.6: values up to 1500 are a length (an 802.3/LLC frame), values
     * from 0x0600 an EtherType; the gap between them is undefined. We speak only
     * Ethernet II (RFC 894). */
    if (type < 0x0600u)
        return PN_WIRE_BAD_FIELD;
    memcpy(out->dst.b, buf, 6);
    memcpy(out->src.b, buf + 6, 6);
    out->ethertype = type;
    return PN_WIRE_OK;
}

void pn_eth_emit(const struct pn_eth_repr *r, uint8_t *buf)
{
    memcpy(buf, r->dst.b, 6);
    memcpy(buf + 6, r->src.b, 6);
    pn_put_be16(buf + 12, r->ethertype);
}
