/* wire/arp.h — ARP for IPv4 over Ethernet (RFC 826) packet codec. */
#ifndef PN_WIRE_ARP_H
#define PN_WIRE_ARP_H

#include <stddef.h>
#include <stdint.h>
#include "plebnet/addr.h"
#include "wire/wire.h"

#define PN_ARP_LEN 28u
#define PN_ARP_OP_REQUEST 1u
#define PN_ARP_OP_REPLY 2u

struct pn_arp_repr {
    uint16_t op;       /* PN_ARP_OP_REQUEST or PN_ARP_OP_REPLY */
    struct pn_mac sha; /* sender hardware address */
    uint32_t spa;      /* sender protocol address, host order */
    struct pn_mac tha; /* target hardware address */
    uint32_t tpa;      /* target protocol address, host order */
};

/* Parses an ARP packet. Checks: len >= 28 (TRUNCATED); htype 1, ptype 0x0800, hlen 6,
 * plen 4 (BAD_FIELD: we only speak IPv4-over-Ethernet ARP); op 1 or 2 (BAD_FIELD).
 * Trailing bytes (Ethernet padding) are ignored. */
int pn_arp_parse(const uint8_t *buf, size_t len, struct pn_arp_repr *out);
/* Writes 28 bytes at buf. */
void pn_arp_emit(const struct pn_arp_repr *r, uint8_t *buf);

#endif
