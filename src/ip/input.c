/* ip/input.c — IPv4 input (RFC 791, RFC 1122 §3.2.1): validation, martian and destination
 * filtering (no forwarding), reassembly of fragments, dispatch by protocol; the stack's
 * own addresses (interface + 127/8) and source selection.
 * Call chain: pn_eth_input -> pn_ipv4_input, pn_stack_poll -> pn_ipv4_local_input ->
 * ipv4_input -> {pn_reass_input, pn_icmp_input, pn_udp_input, pn_tcp_input}; unknown
 * protocols -> pn_icmp_send_error. */
#include "core/stack.h"
#include "ip/ip.h"
#include "udp/udp.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

bool pn_ipv4_is_local(const struct pn_stack *s, uint32_t addr)
{
    /* RFC 1122 §3.2.1.3 (g): {127, <any>} is the internal host loopback address; all of
     * 127/8 is ours, as on Linux (lo holds 127.0.0.1/8). */
    return addr == s->iface.addr || pn_ipv4_is_loopback(addr);
}

uint32_t pn_ipv4_source(const struct pn_stack *s, uint32_t bound, uint32_t dst)
{
    if (bound)
        return bound;
    return pn_ipv4_is_loopback(dst) ? PN_IP4(127, 0, 0, 1) : s->iface.addr;
}

bool pn_ipv4_is_broadcast(const struct pn_stack *s, uint32_t addr)
{
    if (addr == PN_IP4_BROADCAST)
        return true;
    /* RFC 919/922 directed broadcast: host part all ones. A /31 (RFC 3021) or /32 has no
     * broadcast address: both /31 addresses are hosts. */
    return s->iface.prefix_len <= 30 && addr == s->iface.bcast;
}

/* RFC 1122 §3.2.1.3 and §3.2.1.8 (e): a source address that cannot name a single host, or
 * that is ours or loopback arriving from the wire, is a martian and must be discarded. */
static bool martian_src(const struct pn_stack *s, uint32_t src)
{
    if (pn_ipv4_is_broadcast(s, src))
        return true; /* limited or directed broadcast, §3.2.1.3 (c), (d) */
    if ((src >> 28) == 0xe)
        return true; /* class D (multicast) is never a source, §3.2.1.3 */
    if ((src >> 24) == 0)
        return true; /* {0, *}: only during bootstrap (DHCP), which we do not do, (a), (b) */
    if ((src >> 24) == 127)
        return true; /* loopback must not appear on the wire, (g) */
    if (pn_ipv4_is_local(s, src))
        return true; /* our own address from outside: spoofed or a loop */
    return false;
}

static void drop(struct pn_stack *s, struct pn_pbuf *pkt, uint64_t *counter)
{
    (*counter)++;
    pn_pbuf_free(pkt);
}

/* The counter naming why pn_ipv4_parse rejected a header (RFC 791 §3.1 fields). */
static uint64_t *parse_drop_counter(struct pn_stack *s, int err)
{
    switch (err) {
    case PN_WIRE_TRUNCATED:
        return &s->stats.ip_rx_truncated;
    case PN_WIRE_BAD_VERSION:
        return &s->stats.ip_rx_bad_version;
    case PN_WIRE_BAD_HDR_LEN:
        return &s->stats.ip_rx_bad_hdr_len;
    case PN_WIRE_BAD_LENGTH:
        return &s->stats.ip_rx_bad_total_len;
    case PN_WIRE_BAD_CHECKSUM:
        return &s->stats.ip_rx_bad_checksum;
    case PN_WIRE_BAD_OPTION:
        return &s->stats.ip_rx_bad_options;
    default: /* BAD_FRAG, and BAD_FIELD: the reserved bit of the flags/offset word */
        return &s->stats.ip_rx_bad_frag;
    }
}

/* Consumes pkt. `local`: it came from our own local queue (pn_ipv4_local_input), not the
 * link, so its source is one of our addresses by construction. */
static void ipv4_input(struct pn_stack *s, struct pn_pbuf *pkt, bool local)
{
    struct pn_ipv4_repr ip;
    PN_STAT_INC(s, ip_rx);
    int err = pn_ipv4_parse(pkt->data, pkt->len, &ip, !(pkt->flags & PN_PBUF_F_CSUM_OK));
    if (err != PN_WIRE_OK) {
        drop(s, pkt, parse_drop_counter(s, err));
        return;
    }
    /* RFC 791 §3.2 fragmentation: every fragment but the last carries a multiple of 8
     * octets, since offsets count 8-octet units. A shorter one cannot be placed. A
     * fragment with no data at all fills nothing and is dropped too. */
    if ((ip.mf && (ip.payload_len % 8) != 0) || ((ip.mf || ip.frag_off) && ip.payload_len == 0)) {
        drop(s, pkt, &s->stats.ip_rx_bad_frag);
        return;
    }
    /* The link may pad short frames (Ethernet: to 60 bytes); the total length says where
     * the datagram really ends (RFC 791 §3.1 "Total Length"). */
    pn_pbuf_trim(pkt, (uint32_t)ip.hdr_len + ip.payload_len);

    if (!local && martian_src(s, ip.src)) {
        drop(s, pkt, &s->stats.ip_rx_bad_src);
        return;
    }
    /* RFC 1122 §3.2.1.3 (g): a loopback address "MUST NOT appear outside a host"; RFC 1812
     * §5.3.7 calls it a martian. From the link it is dropped, never delivered as ours. */
    if (!local && pn_ipv4_is_loopback(ip.dst)) {
        drop(s, pkt, &s->stats.ip_rx_bad_dst);
        return;
    }
    /* RFC 1122 §3.3.4.2/§3.3.6: accept our address and the broadcast addresses. Anything
     * else would need forwarding, which a host does not do (§3.3.1.1); multicast needs
     * group membership, which we have not implemented. */
    bool bcast = pn_ipv4_is_broadcast(s, ip.dst);
    if (!bcast && !pn_ipv4_is_local(s, ip.dst)) {
        drop(s, pkt, &s->stats.ip_rx_not_for_us);
        return;
    }
    /* RFC 1122 §3.3.6: a datagram received via link-layer broadcast whose IP destination is
     * not a broadcast or multicast address SHOULD be silently discarded. */
    if (!bcast && (pkt->flags & (PN_PBUF_F_BCAST | PN_PBUF_F_MCAST))) {
        drop(s, pkt, &s->stats.ip_rx_not_for_us);
        return;
    }

    if (ip.mf || ip.frag_off != 0) {
        /* RFC 791 §3.2: reassemble before anything looks at the transport header. */
        PN_STAT_INC(s, ip_frag_rx);
        pkt = pn_reass_input(s, pkt, &ip);
        if (!pkt)
            return;
        /* The reassembled datagram has a fresh 20-byte header we wrote ourselves. */
        if (pn_ipv4_parse(pkt->data, pkt->len, &ip, false) != PN_WIRE_OK) {
            drop(s, pkt, &s->stats.ip_rx_bad_frag); /* cannot happen */
            return;
        }
    }

    switch (ip.proto) {
    case PN_IP_PROTO_ICMP:
        pn_pbuf_pull(pkt, ip.hdr_len);
        pn_icmp_input(s, pkt, &ip);
        return;
    case PN_IP_PROTO_UDP:
        pn_pbuf_pull(pkt, ip.hdr_len);
        pn_udp_input(s, pkt, &ip);
        return;
    case PN_IP_PROTO_TCP:
        pn_pbuf_pull(pkt, ip.hdr_len);
        pn_tcp_input(s, pkt, &ip);
        return;
    default:
        /* RFC 1122 §3.2.2.1: a host SHOULD generate protocol unreachable for a transport
         * it does not implement. pn_icmp_send_error drops it for broadcasts. */
        PN_STAT_INC(s, ip_rx_unknown_proto);
        pn_icmp_send_error(s, pkt, PN_ICMP_DEST_UNREACH, PN_ICMP_UNREACH_PROTO, 0);
        pn_pbuf_free(pkt);
        return;
    }
}

void pn_ipv4_input(struct pn_stack *s, struct pn_pbuf *pkt)
{
    ipv4_input(s, pkt, false);
}

void pn_ipv4_local_input(struct pn_stack *s, struct pn_pbuf *pkt)
{
    PN_STAT_INC(s, ip_local_rx);
    s->local_input = true; /* ICMP errors about it may go back to ourselves (ip/icmp.c) */
    ipv4_input(s, pkt, true);
    s->local_input = false;
}
