/* eth/ethernet.c — Ethernet II framing (RFC 894): validates and filters received frames and
 * hands IPv4/ARP payloads up; prepends the header and pads frames on output.
 * Call chain: pn_stack_poll -> pn_eth_input -> {pn_arp_input, pn_ipv4_input};
 * pn_arp_output/ARP replies -> pn_eth_output -> pn_stack_tx. */
#include <string.h>
#include "core/stack.h"
#include "eth/eth.h"
#include "ip/ip.h"
#include "wire/ethernet.h"

/* Consumes frame (data = Ethernet header). */
void pn_eth_input(struct pn_stack *s, struct pn_pbuf *frame)
{
    struct pn_eth_repr eth;
    int err = pn_eth_parse(frame->data, frame->len, &eth);
    if (err == PN_WIRE_TRUNCATED) {
        PN_STAT_INC(s, eth_rx_truncated);
        pn_pbuf_free(frame);
        return;
    }
    if (err != PN_WIRE_OK) {
        /* An EtherType below 0x0600 is an IEEE 802.3 length (LLC/SNAP frames): not a
         * protocol we speak (RFC 894 hosts only use Ethernet II encapsulation). */
        PN_STAT_INC(s, eth_rx_unknown_type);
        pn_pbuf_free(frame);
        return;
    }
    /* A frame longer than the link's MTU plus header is a broken or hostile sender, unless
     * the link coalesces frames (GRO-like) and said so. A 4-byte VLAN tag is tolerated here
     * so that tagged frames are counted as such below. */
    if (s->link && s->link->caps.mtu && !s->link->caps.large_rx &&
        frame->len > s->link->caps.mtu + PN_ETH_HDR_LEN + 4u) {
        PN_STAT_INC(s, eth_rx_oversize);
        pn_pbuf_free(frame);
        return;
    }
    /* Destination filter: our unicast MAC or broadcast. We have joined no multicast group
     * yet, so every other group address is not for us either (counted as such). */
    if (pn_mac_is_broadcast(&eth.dst)) {
        frame->flags |= PN_PBUF_F_BCAST;
    } else if (pn_mac_is_multicast(&eth.dst)) {
        PN_STAT_INC(s, eth_rx_not_for_us);
        pn_pbuf_free(frame);
        return;
    } else if (!pn_mac_equal(&eth.dst, &s->iface.mac)) {
        PN_STAT_INC(s, eth_rx_not_for_us);
        pn_pbuf_free(frame);
        return;
    }
    /* IEEE 802.3 §3.2.3: the group bit is only meaningful in a destination; a source with
     * it set (multicast or broadcast) is invalid and must never be learned or answered. */
    if (pn_mac_is_multicast(&eth.src)) {
        PN_STAT_INC(s, eth_rx_bad_src);
        pn_pbuf_free(frame);
        return;
    }
    switch (eth.ethertype) {
    case PN_ETHERTYPE_IPV4:
    case PN_ETHERTYPE_ARP:
        break;
    case PN_ETHERTYPE_VLAN:
    case PN_ETHERTYPE_QINQ:
        /* 802.1Q/802.1ad tags (QinQ included): the interface is untagged. */
        PN_STAT_INC(s, eth_rx_vlan);
        pn_pbuf_free(frame);
        return;
    default:
        /* IPv6 (0x86dd) included, until there is an IPv6 layer. */
        PN_STAT_INC(s, eth_rx_unknown_type);
        pn_pbuf_free(frame);
        return;
    }
    pn_pbuf_pull(frame, PN_ETH_HDR_LEN); /* cannot fail: the parser saw 14 bytes */
    frame->l3_off = (uint16_t)pn_pbuf_headroom(frame);
    if (eth.ethertype == PN_ETHERTYPE_IPV4)
        pn_ipv4_input(s, frame);
    else
        pn_arp_input(s, frame);
}

/* Consumes pkt (data = the L3 packet). Copies it into a fresh buffer when it is shared
 * (must not be written) or lacks the head/tail room for the header and padding. */
int pn_eth_output(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_mac *dst,
                  uint16_t ethertype)
{
    uint32_t pad = pkt->len + PN_ETH_HDR_LEN < PN_ETH_MIN_FRAME
                       ? PN_ETH_MIN_FRAME - PN_ETH_HDR_LEN - pkt->len
                       : 0;
    if (pkt->refcnt > 1 || pn_pbuf_headroom(pkt) < PN_ETH_HDR_LEN || pn_pbuf_tailroom(pkt) < pad) {
        struct pn_pbuf *c = pn_stack_alloc(s, pkt->len); /* counts pbuf_alloc_failed */
        if (!c) {
            pn_pbuf_free(pkt);
            return PN_ENOBUFS;
        }
        memcpy(c->data, pkt->data, pkt->len);
        c->gso_size = pkt->gso_size;
        pn_pbuf_free(pkt);
        pkt = c;
    }
    /* IEEE 802.3 §4.2.3.3: frames shorter than the 64-byte minimum (60 without the FCS)
     * are padded; we pad with zeros so no stale memory leaks onto the wire. */
    if (pad) {
        uint8_t *t = pn_pbuf_put(pkt, pad);
        memset(t, 0, pad);
    }
    uint8_t *h = pn_pbuf_push(pkt, PN_ETH_HDR_LEN);
    struct pn_eth_repr eth = {.dst = *dst, .src = s->iface.mac, .ethertype = ethertype};
    pn_eth_emit(&eth, h);
    pn_stack_tx(s, pkt);
    return 0;
}
