/* ip/icmp.c — ICMPv4 (RFC 792, RFC 1122 §3.2.2): echo replies, errors about our datagrams
 * passed to the transport, rate-limited error generation, echo requests for ping sockets.
 * Call chain: pn_ipv4_input -> pn_icmp_input -> {pn_ipv4_output, pn_udp_icmp_error,
 * pn_tcp_icmp_error, pn_ping_input}; ip/udp/reassembly -> pn_icmp_send_error -> ipv4 out. */
#include <string.h>
#include "core/stack.h"
#include "ip/ip.h"
#include "udp/udp.h"
#include "wire/bytes.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

/* RFC 1812 §4.3.2.3 (and RFC 1122 §3.2.2): an error quotes as much of the offending
 * datagram as fits in a 576-byte IP datagram. */
#define ICMP_ERR_MAX_IP_LEN 576u
/* The bucket counts in thousandths of a token, so a rate in tokens/s refills exactly
 * `rate` units per millisecond. */
#define TOKEN 1000u

void pn_icmp_init(struct pn_stack *s)
{
    s->icmp.tokens_ms = (uint64_t)s->cfg.icmp_burst * TOKEN;
    s->icmp.last = s->now;
}

/* RFC 1812 §4.3.2.8 suggests a token bucket for ICMP error generation (Linux does the same
 * with icmp_ratelimit/icmp_msgs_burst). Returns true if one token was taken. */
static bool icmp_take_token(struct pn_stack *s)
{
    uint64_t cap = (uint64_t)s->cfg.icmp_burst * TOKEN;
    if (s->now > s->icmp.last) {
        uint64_t ms = (s->now - s->icmp.last) / PN_MS(1);
        /* Whole milliseconds only; the remainder stays for the next refill. */
        s->icmp.last += ms * PN_MS(1);
        uint64_t rate = s->cfg.icmp_rate_per_sec;
        /* Saturating: a long idle period (or a huge rate) simply fills the bucket. */
        uint64_t add = rate && ms > cap / rate ? cap : ms * rate;
        s->icmp.tokens_ms = add >= cap - s->icmp.tokens_ms ? cap : s->icmp.tokens_ms + add;
    }
    if (s->icmp.tokens_ms < TOKEN)
        return false;
    s->icmp.tokens_ms -= TOKEN;
    return true;
}

/* RFC 792: types 3, 4, 5, 11 and 12 are errors; unknown types above 18 are treated as
 * errors too (as Linux does), so we never answer something we do not understand. */
static bool icmp_type_is_error(uint8_t type)
{
    return type == PN_ICMP_DEST_UNREACH || type == 4 || type == 5 ||
           type == PN_ICMP_TIME_EXCEEDED || type == PN_ICMP_PARAM_PROBLEM || type > 18;
}

/* RFC 1122 §3.2.1.3: an address that names one host (not zero, loopback, broadcast,
 * multicast or class E). */
static bool single_host(const struct pn_stack *s, uint32_t a)
{
    return a != 0 && (a >> 24) != 127 && (a >> 28) < 0xe && !pn_ipv4_is_broadcast(s, a);
}

void pn_icmp_send_error(struct pn_stack *s, const struct pn_pbuf *orig, uint8_t type, uint8_t code,
                        uint32_t rest)
{
    struct pn_ipv4_repr ip;
    if (pn_ipv4_parse(orig->data, orig->len, &ip, false) != PN_WIRE_OK)
        return;
    /* RFC 1122 §3.2.2: an ICMP error message MUST NOT be sent as the result of receiving
     * a datagram destined to an IP broadcast or multicast address, sent as a link-layer
     * broadcast, a non-initial fragment, or whose source does not define a single host. */
    /* A datagram of our own, being delivered over the local path: its error goes back the
     * same way (a loopback source is fine inside the host), so a UDP send to a closed port
     * on 127.0.0.1 is refused as on Linux's lo. */
    bool own = s->local_input && pn_ipv4_is_local(s, ip.src);
    if ((!own &&
         (!single_host(s, ip.dst) || !single_host(s, ip.src) || pn_ipv4_is_local(s, ip.src))) ||
        (orig->flags & (PN_PBUF_F_BCAST | PN_PBUF_F_MCAST)) || ip.frag_off != 0)
        return;
    /* ... nor about an ICMP error message (its type byte is the first of the payload). */
    if (ip.proto == PN_IP_PROTO_ICMP) {
        struct pn_icmp_repr inner;
        if (pn_icmp_parse(orig->data + ip.hdr_len, ip.payload_len, &inner, false) != PN_WIRE_OK ||
            icmp_type_is_error(inner.type))
            return;
    }
    if (!icmp_take_token(s)) {
        PN_STAT_INC(s, icmp_tx_rate_limited);
        return;
    }
    uint32_t quote = (uint32_t)ip.hdr_len + ip.payload_len;
    if (quote > ICMP_ERR_MAX_IP_LEN - PN_IPV4_HDR_LEN - PN_ICMP_HDR_LEN)
        quote = ICMP_ERR_MAX_IP_LEN - PN_IPV4_HDR_LEN - PN_ICMP_HDR_LEN;
    struct pn_pbuf *p = pn_stack_alloc(s, PN_ICMP_HDR_LEN + quote); /* counts failure */
    if (!p)
        return;
    memcpy(p->data + PN_ICMP_HDR_LEN, orig->data, quote);
    struct pn_icmp_repr r = {.type = type,
                             .code = code,
                             .rest = rest,
                             .data = p->data + PN_ICMP_HDR_LEN,
                             .data_len = quote};
    pn_icmp_emit(&r, p->data);
    if (type == PN_ICMP_DEST_UNREACH)
        PN_STAT_INC(s, icmp_tx_unreach);
    else if (type == PN_ICMP_TIME_EXCEEDED)
        PN_STAT_INC(s, icmp_tx_time_exceeded);
    /* RFC 1349 §5.1: errors are sent with TOS 0. Source: the address the datagram was
     * sent to when it is one of ours (checked above: not a broadcast; RFC 1122 §3.2.2). */
    struct pn_ip_out o = {
        .src = pn_ipv4_is_local(s, ip.dst) ? ip.dst : 0, .dst = ip.src, .proto = PN_IP_PROTO_ICMP};
    (void)pn_ipv4_output(s, p, &o); /* drops are counted below us */
}

int pn_icmp_send_echo(struct pn_stack *s, uint32_t dst, uint16_t id, uint16_t seq,
                      const uint8_t *data, size_t len, uint8_t ttl, uint8_t tos)
{
    if (len > PN_IPV4_MAX_LEN - PN_IPV4_HDR_LEN - PN_ICMP_HDR_LEN)
        return PN_EMSGSIZE;
    struct pn_pbuf *p = pn_stack_alloc(s, (uint32_t)(PN_ICMP_HDR_LEN + len));
    if (!p)
        return PN_ENOBUFS;
    if (len)
        memcpy(p->data + PN_ICMP_HDR_LEN, data, len);
    struct pn_icmp_repr r = {.type = PN_ICMP_ECHO_REQUEST,
                             .id = id,
                             .seq = seq,
                             .data = p->data + PN_ICMP_HDR_LEN,
                             .data_len = len};
    pn_icmp_emit(&r, p->data);
    struct pn_ip_out o = {.dst = dst, .proto = PN_IP_PROTO_ICMP, .ttl = ttl, .tos = tos};
    int err = pn_ipv4_output(s, p, &o);
    if (err == 0)
        PN_STAT_INC(s, icmp_tx_echo_request);
    return err;
}

/* RFC 792 echo: the reply carries the request's identifier, sequence number and data;
 * RFC 1122 §3.2.2.6: its source is the address the request was sent to. Consumes pkt. */
static void icmp_echo_reply(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_ipv4_repr *ip,
                            const struct pn_icmp_repr *req)
{
    /* Reuse the request's buffer in place when we hold the only reference. */
    if (pn_pbuf_shared(pkt)) {
        struct pn_pbuf *c = pn_stack_alloc(s, pkt->len); /* counts pbuf_alloc_failed */
        if (!c) {
            pn_pbuf_free(pkt);
            return;
        }
        memcpy(c->data, pkt->data, pkt->len);
        pn_pbuf_free(pkt);
        pkt = c;
    }
    struct pn_icmp_repr r = {.type = PN_ICMP_ECHO_REPLY,
                             .code = 0,
                             .id = req->id,
                             .seq = req->seq,
                             .data = pkt->data + PN_ICMP_HDR_LEN,
                             .data_len = req->data_len};
    pn_icmp_emit(&r, pkt->data);
    pkt->flags = 0;
    /* The TOS of the request is mirrored, as Linux does. */
    struct pn_ip_out o = {
        .src = ip->dst, .dst = ip->src, .proto = PN_IP_PROTO_ICMP, .tos = ip->tos};
    PN_STAT_INC(s, icmp_tx_echo_reply);
    (void)pn_ipv4_output(s, pkt, &o); /* drops are counted below us */
}

/* An error about a datagram we sent: data = the quoted IP header + at least 8 octets of
 * its payload (RFC 792). Hands it to the transport that sent it. Borrows the repr. */
static void icmp_error_input(struct pn_stack *s, const struct pn_icmp_repr *m)
{
    /* The quoted header's total length describes the whole original datagram, of which
     * only a prefix is quoted, so the codec's "total length <= buffer" check cannot hold.
     * We parse a copy of the quoted header whose total-length field says "what we have". */
    uint8_t hdr[PN_IPV4_MAX_HDR_LEN];
    size_t n = m->data_len < sizeof(hdr) ? m->data_len : sizeof(hdr);
    struct pn_ipv4_repr inner;
    memcpy(hdr, m->data, n);
    if (n >= PN_IPV4_HDR_LEN)
        pn_put_be16(hdr + 2, (uint16_t)n);
    if (pn_ipv4_parse(hdr, n, &inner, false) != PN_WIRE_OK ||
        m->data_len < (size_t)inner.hdr_len + 8u || !pn_ipv4_is_local(s, inner.src)) {
        /* RFC 792: the quote holds the header and the first 64 bits of data; without them
         * (or if the datagram was not ours) nothing can be attributed. */
        PN_STAT_INC(s, icmp_rx_malformed);
        return;
    }
    const uint8_t *l4 = m->data + inner.hdr_len;
    size_t l4len = m->data_len - inner.hdr_len;
    switch (inner.proto) {
    case PN_IP_PROTO_UDP:
        /* RFC 1122 §4.1.3.3: UDP MUST pass ICMP errors up to the application. */
        pn_udp_icmp_error(s, &inner, l4, l4len, m->type, m->code);
        break;
    case PN_IP_PROTO_TCP:
        /* RFC 1122 §4.2.3.9: TCP MUST act on ICMP errors (RFC 5927 checks in tcp/input.c). */
        pn_tcp_icmp_error(s, &inner, l4, l4len, m->type, m->code);
        break;
    default:
        break;
    }
}

void pn_icmp_input(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_ipv4_repr *ip)
{
    struct pn_icmp_repr m;
    PN_STAT_INC(s, icmp_rx);
    int err = pn_icmp_parse(pkt->data, pkt->len, &m, !(pkt->flags & PN_PBUF_F_CSUM_OK));
    if (err == PN_WIRE_BAD_CHECKSUM) {
        PN_STAT_INC(s, icmp_rx_bad_checksum);
        goto out;
    }
    if (err != PN_WIRE_OK) {
        PN_STAT_INC(s, icmp_rx_malformed);
        goto out;
    }
    /* RFC 1122 §3.2.2.6: an echo request to a broadcast MAY be silently discarded (we
     * do, like Linux's icmp_echo_ignore_broadcasts, against smurf amplification); errors
     * sent to a broadcast cannot be about a datagram of ours. */
    if (pn_ipv4_is_broadcast(s, ip->dst) || (pkt->flags & (PN_PBUF_F_BCAST | PN_PBUF_F_MCAST))) {
        PN_STAT_INC(s, icmp_rx_bcast_ignored);
        goto out;
    }
    switch (m.type) {
    case PN_ICMP_ECHO_REQUEST:
        PN_STAT_INC(s, icmp_rx_echo_request);
        icmp_echo_reply(s, pkt, ip, &m);
        return;
    case PN_ICMP_ECHO_REPLY:
        PN_STAT_INC(s, icmp_rx_echo_reply);
        pn_ping_input(s, pkt, ip, &m);
        return;
    case PN_ICMP_DEST_UNREACH:
        PN_STAT_INC(s, icmp_rx_unreach);
        icmp_error_input(s, &m);
        break;
    case PN_ICMP_TIME_EXCEEDED:
        PN_STAT_INC(s, icmp_rx_time_exceeded);
        icmp_error_input(s, &m);
        break;
    case PN_ICMP_PARAM_PROBLEM:
        PN_STAT_INC(s, icmp_rx_other);
        icmp_error_input(s, &m);
        break;
    default:
        /* RFC 1122 §3.2.2: an ICMP message of unknown type MUST be silently discarded. */
        PN_STAT_INC(s, icmp_rx_other);
        break;
    }
out:
    pn_pbuf_free(pkt);
}
