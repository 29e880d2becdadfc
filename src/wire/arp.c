/* wire/arp.c — ARP packet codec for IPv4 over Ethernet (RFC 826). Called by src/eth/
 * (pn_arp_input, requests, replies and announcements). */
#include "wire/arp.h"

#include <string.h>

#include "wire/bytes.h"

/* RFC 826 "Packet format" field values for IPv4 over Ethernet. */
#define ARP_HTYPE_ETHERNET 1u  /* ar$hrd: Ethernet (10Mb) */
#define ARP_PTYPE_IPV4 0x0800u /* ar$pro: an EtherType */
#define ARP_HLEN 6u
#define ARP_PLEN 4u

int pn_arp_parse(const uint8_t *buf, size_t len, struct pn_arp_repr *out)
{
    /* The fixed part plus 2 * (6 + 4) address bytes: anything shorter is cut off. */
    if (len < PN_ARP_LEN)
        return PN_WIRE_TRUNCATED;
    /* RFC 826: ar$hrd, ar$pro, ar$hln, ar$pln say how to read the addresses; we only
     * know Ethernet hardware and IPv4 protocol addresses, and the lengths must match
     * them or the address offsets below would be wrong. */
    if (pn_get_be16(buf) != ARP_HTYPE_ETHERNET || pn_get_be16(buf + 2) != ARP_PTYPE_IPV4 ||
        buf[4] != ARP_HLEN || buf[5] != ARP_PLEN)
        return PN_WIRE_BAD_FIELD;
    uint16_t op = pn_get_be16(buf + 6);
    /* RFC 826 ar$op: only REQUEST and REPLY exist for ARP proper (RARP etc. use other
     * EtherTypes or are not ours to answer). */
    if (op != PN_ARP_OP_REQUEST && op != PN_ARP_OP_REPLY)
        return PN_WIRE_BAD_FIELD;
    out->op = op;
    memcpy(out->sha.b, buf + 8, 6);
    out->spa = pn_get_be32(buf + 14);
    memcpy(out->tha.b, buf + 18, 6);
    out->tpa = pn_get_be32(buf + 24);
    /* Bytes past 28 are Ethernet minimum-frame padding: ignored. */
    return PN_WIRE_OK;
}

void pn_arp_emit(const struct pn_arp_repr *r, uint8_t *buf)
{
    pn_put_be16(buf, ARP_HTYPE_ETHERNET);
    pn_put_be16(buf + 2, ARP_PTYPE_IPV4);
    buf[4] = ARP_HLEN;
    buf[5] = ARP_PLEN;
    pn_put_be16(buf + 6, r->op);
    memcpy(buf + 8, r->sha.b, 6);
    pn_put_be32(buf + 14, r->spa);
    memcpy(buf + 18, r->tha.b, 6);
    pn_put_be32(buf + 24, r->tpa);
}
