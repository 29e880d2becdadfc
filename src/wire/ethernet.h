/* wire/ethernet.h — Ethernet II frame header codec (IEEE 802.3 / RFC 894 framing). */
#ifndef PN_WIRE_ETHERNET_H
#define PN_WIRE_ETHERNET_H

#include <stddef.h>
#include <stdint.h>
#include "plebnet/addr.h"
#include "wire/wire.h"

#define PN_ETH_HDR_LEN 14u
#define PN_ETH_MIN_FRAME 60u /* without FCS: shorter frames are padded on output */
#define PN_ETHERTYPE_IPV4 0x0800u
#define PN_ETHERTYPE_ARP 0x0806u
#define PN_ETHERTYPE_VLAN 0x8100u  /* 802.1Q */
#define PN_ETHERTYPE_QINQ 0x88a8u  /* 802.1ad */
#define PN_ETHERTYPE_IPV6 0x86ddu

struct pn_eth_repr {
    struct pn_mac dst;
    struct pn_mac src;
    uint16_t ethertype; /* values < 0x0600 are 802.3 lengths; the parser rejects them */
};

/* Parses the header at buf. Returns PN_WIRE_OK, PN_WIRE_TRUNCATED (< 14 bytes) or
 * PN_WIRE_BAD_FIELD (EtherType < 0x0600: an 802.3 length, not Ethernet II). Borrows buf. */
int pn_eth_parse(const uint8_t *buf, size_t len, struct pn_eth_repr *out);
/* Writes the 14-byte header at buf (caller guarantees 14 bytes). */
void pn_eth_emit(const struct pn_eth_repr *r, uint8_t *buf);

#endif
