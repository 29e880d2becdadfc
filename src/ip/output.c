/* ip/output.c — IPv4 output (RFC 791, RFC 1122 §3.3.1): source check, routing over one
 * interface and a default gateway, header, fragmentation (RFC 791 §3.2), next-hop hand-off,
 * and the local path for datagrams to our own addresses (interface address, 127/8).
 * Call chain: udp/icmp/tcp -> pn_ipv4_output -> pn_arp_output -> pn_eth_output;
 *             pn_ipv4_output -> local_output -> s->local_q (drained by pn_stack_poll). */
#include <string.h>
#include "core/stack.h"
#include "eth/eth.h"
#include "ip/ip.h"
#include "wire/ipv4.h"

/* Frees pkt, counts why, returns err. */
static int fail(struct pn_pbuf *pkt, uint64_t *counter, int err)
{
    (*counter)++;
    pn_pbuf_free(pkt);
    return err;
}

/* RFC 1122 §3.3.1.1 (local/remote decision) and §3.3.1.2 (gateway selection): on-link
 * destinations and broadcasts go straight to themselves, everything else to the gateway.
 * Returns 0 and the next hop, or PN_ENETUNREACH. */
static int route(const struct pn_stack *s, const struct pn_ip_out *o, uint32_t *next_hop)
{
    uint32_t dst = o->dst;
    /* 0.0.0.0 and loopback are never valid destinations on the wire (§3.2.1.3); our own
     * addresses take the local path before routing, so reaching here with one is a bug. */
    if (dst == 0 || pn_ipv4_is_local(s, dst))
        return PN_ENETUNREACH;
    if (pn_ipv4_is_broadcast(s, dst) || (dst >> 28) == 0xe ||
        (dst & s->iface.mask) == (s->iface.addr & s->iface.mask)) {
        *next_hop = dst;
        return 0;
    }
    if (o->dontroute || s->iface.gateway == 0)
        return PN_ENETUNREACH;
    *next_hop = s->iface.gateway;
    return 0;
}

/* Sends the fragments of a datagram too large for the MTU (RFC 791 §3.2 "Fragmentation"):
 * every fragment carries a copy of the header, a multiple of 8 data octets except the
 * last, its offset in 8-octet units and MF on all but the last. All fragments are built
 * before any is sent, so an allocation failure sends nothing. Consumes pkt. */
static int fragment(struct pn_stack *s, struct pn_pbuf *pkt, struct pn_ipv4_repr *h,
                    uint32_t next_hop)
{
    uint32_t mtu = s->iface.mtu;
    uint32_t per = (mtu - PN_IPV4_HDR_LEN) & ~7u; /* data octets per fragment */
    uint32_t total = pkt->len;
    struct pn_pbuf_queue q;
    pn_pbuf_queue_init(&q);
    for (uint32_t off = 0; off < total; off += per) {
        uint32_t n = total - off < per ? total - off : per;
        struct pn_pbuf *f = pn_stack_alloc(s, n); /* counts pbuf_alloc_failed */
        if (!f) {
            pn_pbuf_queue_purge(&q);
            pn_pbuf_free(pkt);
            return PN_ENOBUFS;
        }
        memcpy(f->data, pkt->data + off, n);
        struct pn_ipv4_repr fh = *h;
        fh.frag_off = (uint16_t)off;
        fh.mf = off + n < total;
        fh.payload_len = (uint16_t)n;
        pn_ipv4_emit(&fh, pn_pbuf_push(f, PN_IPV4_HDR_LEN));
        /* Tells ARP's pending queue that this continues the previous packet's datagram
         * (see pn_arp_output); the queue push below does not touch user. */
        f->user = off > 0;
        pn_pbuf_queue_push(&q, f);
    }
    pn_pbuf_free(pkt);
    PN_STAT_INC(s, ip_tx);
    int ret = 0;
    struct pn_pbuf *f;
    while ((f = pn_pbuf_queue_pop(&q)) != NULL) {
        PN_STAT_INC(s, ip_tx_fragments);
        /* Every fragment goes through ARP (which counts its own drops); the first error
         * is reported. */
        int err = pn_arp_output(s, f, next_hop);
        if (err && !ret)
            ret = err;
    }
    return ret;
}

/* RFC 1112 §6.1: multicast defaults to TTL 1 (stay on the link); unicast and broadcast use
 * the configured default (RFC 1122 §3.2.1.7). */
static uint8_t default_ttl(const struct pn_stack *s, uint32_t dst)
{
    if ((dst >> 28) == 0xe)
        return 1;
    return s->cfg.ttl ? s->cfg.ttl : 64;
}

/* Returns pkt itself when its bytes may be written and it has room for our header, else an
 * owned private copy (pkt freed), or NULL (pkt freed, counted as pbuf_alloc_failed). */
static struct pn_pbuf *writable(struct pn_stack *s, struct pn_pbuf *pkt)
{
    if (pkt->refcnt == 1 && pn_pbuf_headroom(pkt) >= PN_IPV4_HDR_LEN)
        return pkt;
    struct pn_pbuf *c = pn_stack_alloc(s, pkt->len); /* counts pbuf_alloc_failed */
    if (c)
        memcpy(c->data, pkt->data, pkt->len);
    pn_pbuf_free(pkt);
    return c;
}

/* The local path (Linux's lo): RFC 1122 §3.2.1.3 (g) says loopback datagrams must not
 * appear outside the host, and a datagram to our own interface address has no reason to:
 * neither touches ARP or the link. The datagram is queued whole (no fragmentation: it is
 * already in one buffer, and nothing on the way has a smaller MTU) and handed to
 * pn_ipv4_local_input by pn_stack_poll, which keeps output free of re-entrant input (TCP
 * output -> IP -> TCP input of the same connection). The queue is bounded by
 * cfg.local_queue_len; beyond it datagrams are dropped like a full device queue, and the
 * transports recover as from any loss. Consumes pkt. */
static int local_output(struct pn_stack *s, struct pn_pbuf *pkt, struct pn_ipv4_repr *h)
{
    if (s->local_q.count >= s->cfg.local_queue_len)
        return fail(pkt, &s->stats.ip_local_dropped, PN_ENOBUFS);
    /* Clones of TCP's send queue have refcnt 1 and may use their headroom (tcp/output.c
     * wrote its header there); the receiver keeps them as the loop link's receiver does. */
    pkt = writable(s, pkt);
    if (!pkt)
        return PN_ENOBUFS;
    pn_ipv4_emit(h, pn_pbuf_push(pkt, PN_IPV4_HDR_LEN));
    pkt->l3_off = (uint16_t)pn_pbuf_headroom(pkt);
    pkt->user = 0;
    pkt->gso_size = 0; /* one datagram: the receiver takes it whole (as a coalesced one) */
    /* The checksums are trusted, not verified: every transport and pn_ipv4_emit computed
     * them over these very bytes a moment ago, and the bytes never leave this process's
     * memory (the loop link makes the same argument). The sums stay correct on the packet,
     * so a capture of it would still verify. */
    pkt->flags = PN_PBUF_F_CSUM_OK;
    pkt->time = s->now;
    PN_STAT_INC(s, ip_tx);
    PN_STAT_INC(s, ip_local_tx);
    pn_pbuf_queue_push(&s->local_q, pkt);
    return 0;
}

int pn_ipv4_output(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_ip_out *o)
{
    uint32_t src = o->src ? o->src : pn_ipv4_source(s, 0, o->dst);
    /* RFC 1122 §3.3.1.3 / §3.2.1.3: a datagram's source must be one of our addresses: the
     * interface address or (for datagrams that stay inside the host) one in 127/8. */
    if (!pn_ipv4_is_local(s, src))
        return fail(pkt, &s->stats.ip_tx_bad_src, PN_EADDRNOTAVAIL);
    bool local = pn_ipv4_is_local(s, o->dst);
    /* RFC 1122 §3.2.1.3 (g): a loopback source "MUST NOT appear outside a host"; Linux
     * refuses such a route with EINVAL too. */
    if (!local && pn_ipv4_is_loopback(src))
        return fail(pkt, &s->stats.ip_tx_bad_src, PN_EINVAL);
    if (local) {
        if ((uint64_t)pkt->len + PN_IPV4_HDR_LEN > PN_IPV4_MAX_LEN)
            return fail(pkt, &s->stats.ip_tx_too_big, PN_EMSGSIZE);
        struct pn_ipv4_repr lh = {
            .src = src,
            .dst = o->dst,
            .proto = o->proto,
            .ttl = o->ttl ? o->ttl : default_ttl(s, o->dst),
            .tos = o->tos,
            .id = s->ip_id++,
            .df = o->df,
            .payload_len = (uint16_t)pkt->len,
        };
        return local_output(s, pkt, &lh);
    }
    uint32_t next_hop = 0;
    if (route(s, o, &next_hop) != 0)
        return fail(pkt, &s->stats.ip_tx_no_route, PN_ENETUNREACH);
    /* RFC 791 §3.1: the total length field is 16 bits. */
    if ((uint64_t)pkt->len + PN_IPV4_HDR_LEN > PN_IPV4_MAX_LEN)
        return fail(pkt, &s->stats.ip_tx_too_big, PN_EMSGSIZE);
    /* A large TCP segment (gso_size set) on a link that takes large frames is not
     * fragmented: the link (or a receiver that accepts coalesced segments) handles it. */
    bool too_big = pkt->len + PN_IPV4_HDR_LEN > s->iface.mtu &&
                   !(pkt->gso_size && s->link->caps.large_tx);
    /* RFC 791 §3.2: a datagram marked don't-fragment that exceeds the MTU is not sent. */
    if (too_big && o->df)
        return fail(pkt, &s->stats.ip_tx_too_big, PN_EMSGSIZE);

    struct pn_ipv4_repr h = {
        .src = src,
        .dst = o->dst,
        .proto = o->proto,
        .ttl = o->ttl ? o->ttl : default_ttl(s, o->dst),
        .tos = o->tos,
        /* RFC 6864 §4.1: unique per (src, dst, proto) for fragmentable datagrams; atomic
         * (DF) datagrams may carry any value. One counter for all is simple and correct. */
        .id = s->ip_id++,
        .df = o->df,
        .mf = false,
        .frag_off = 0,
        .payload_len = (uint16_t)pkt->len,
    };
    if (too_big)
        return fragment(s, pkt, &h, next_hop);

    /* The caller leaves room for our header; a shared or cramped buffer is copied. */
    pkt = writable(s, pkt);
    if (!pkt)
        return PN_ENOBUFS;
    pn_ipv4_emit(&h, pn_pbuf_push(pkt, PN_IPV4_HDR_LEN));
    pkt->user = 0; /* a datagram of its own for ARP's queue (the transport's scratch ends) */
    PN_STAT_INC(s, ip_tx);
    return pn_arp_output(s, pkt, next_hop);
}
