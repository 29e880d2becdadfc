/* udp/udp.c — UDP (RFC 768, RFC 1122 §4.1) and ping sockets: port tables, datagram input
 * and output, ICMP error delivery. A ping socket is a datagram socket whose "port" is the
 * ICMP echo identifier, like Linux's SOCK_DGRAM/IPPROTO_ICMP sockets: the application
 * sends an 8-byte echo header + data and receives the replies' header + data.
 * Call chain: pn_ipv4_input -> pn_udp_input -> rx queue -> pn_recvfrom (udp_recvfrom);
 *             pn_sendto -> udp_sendto -> pn_ipv4_output. */
#include <stdlib.h>
#include <string.h>
#include "core/stack.h"
#include "core/util.h"
#include "socket/socket.h"
#include "wire/bytes.h"
#include "wire/icmp.h"
#include "wire/udp.h"

/* RFC 6335 §6: the dynamic/private range used for ephemeral ports. */
#define EPHEMERAL_LO 49152u
#define EPHEMERAL_HI 65535u
#define UDP_MAX_PAYLOAD (65535u - 20u - 8u)

struct udp_sock {
    struct pn_socket sk; /* must be first */
    struct pn_pbuf_queue rxq; /* data = payload; headers still in front of it */
    bool ping;
};

static struct pn_port_table *table_of(struct udp_sock *u)
{
    return u->ping ? &u->sk.stack->ping_ports : &u->sk.stack->udp_ports;
}

/* ---- port tables ---- */

static int table_init(struct pn_port_table *t, uint32_t nbuckets)
{
    t->buckets = calloc(nbuckets, sizeof(*t->buckets));
    if (!t->buckets)
        return PN_ENOMEM;
    t->nbuckets = nbuckets;
    t->count = 0;
    return 0;
}

static struct pn_socket **bucket(struct pn_port_table *t, uint16_t port)
{
    return &t->buckets[(port * 2654435761u) >> 16 & (t->nbuckets - 1)];
}

static struct pn_socket *table_lookup(struct pn_port_table *t, uint16_t port)
{
    for (struct pn_socket *sk = *bucket(t, port); sk; sk = sk->port_next)
        if (sk->local.port == port)
            return sk;
    return NULL;
}

static void table_insert(struct pn_port_table *t, struct pn_socket *sk)
{
    struct pn_socket **b = bucket(t, sk->local.port);
    sk->port_next = *b;
    *b = sk;
    t->count++;
}

static void table_remove(struct pn_port_table *t, struct pn_socket *sk)
{
    for (struct pn_socket **pp = bucket(t, sk->local.port); *pp; pp = &(*pp)->port_next) {
        if (*pp == sk) {
            *pp = sk->port_next;
            sk->port_next = NULL;
            t->count--;
            return;
        }
    }
}

/* RFC 6056 §3.3.1 (Algorithm 1, simple port randomization): a random starting point, then
 * a linear search for a free port. Returns the port or 0 if none is free. */
static uint16_t table_ephemeral(struct pn_stack *s, struct pn_port_table *t, uint32_t lo,
                                uint32_t hi)
{
    uint32_t n = hi - lo + 1;
    uint32_t start = pn_rng_below(&s->rng, n);
    for (uint32_t i = 0; i < n; i++) {
        uint16_t port = (uint16_t)(lo + (start + i) % n);
        if (!table_lookup(t, port))
            return port;
    }
    return 0;
}

int pn_udp_init(struct pn_stack *s)
{
    if (table_init(&s->udp_ports, 256) < 0)
        return PN_ENOMEM;
    if (table_init(&s->ping_ports, 16) < 0)
        return PN_ENOMEM;
    return 0;
}

void pn_udp_fini(struct pn_stack *s)
{
    free(s->udp_ports.buckets);
    free(s->ping_ports.buckets);
    s->udp_ports.buckets = s->ping_ports.buckets = NULL;
}

/* ---- socket ops ---- */

static int udp_bind(struct pn_socket *sk, const struct pn_endpoint *local)
{
    struct udp_sock *u = (struct udp_sock *)sk;
    struct pn_stack *s = sk->stack;
    if (sk->bound)
        return PN_EINVAL;
    /* Our addresses: the interface's and 127/8 (RFC 1122 §3.2.1.3 (g)). */
    if (local->addr != PN_IP4_ANY && !pn_ipv4_is_local(s, local->addr))
        return PN_EADDRNOTAVAIL;
    struct pn_port_table *t = table_of(u);
    uint16_t port = local->port;
    if (port == 0) {
        port = u->ping ? table_ephemeral(s, t, 1, 65535)
                       : table_ephemeral(s, t, EPHEMERAL_LO, EPHEMERAL_HI);
        if (port == 0)
            return PN_EADDRNOTAVAIL;
    } else if (table_lookup(t, port)) {
        return PN_EADDRINUSE;
    }
    sk->local.addr = local->addr;
    sk->local.port = port;
    sk->bound = true;
    table_insert(t, sk);
    return 0;
}

static int autobind(struct pn_socket *sk)
{
    if (sk->bound)
        return 0;
    struct pn_endpoint any = {PN_IP4_ANY, 0};
    return udp_bind(sk, &any);
}

static int check_dst(struct pn_socket *sk, const struct pn_endpoint *dst)
{
    struct pn_stack *s = sk->stack;
    if (dst->addr == PN_IP4_ANY || (dst->addr >> 28) == 14)
        return PN_EINVAL; /* no multicast support yet */
    if (!((struct udp_sock *)sk)->ping && dst->port == 0)
        return PN_EINVAL;
    if (pn_ipv4_is_broadcast(s, dst->addr) && !sk->opt_broadcast)
        return PN_EACCES;
    return 0;
}

static int udp_connect(struct pn_socket *sk, const struct pn_endpoint *remote)
{
    /* Connecting to the unspecified address dissolves the association (as in BSD). */
    if (remote->addr == PN_IP4_ANY && remote->port == 0) {
        sk->connected = false;
        return 0;
    }
    int err = check_dst(sk, remote);
    if (err)
        return err;
    struct pn_stack *s = sk->stack;
    if ((remote->addr & s->iface.mask) != (s->iface.addr & s->iface.mask) &&
        !pn_ipv4_is_broadcast(s, remote->addr) && !pn_ipv4_is_local(s, remote->addr) &&
        !s->iface.gateway)
        return PN_ENETUNREACH;
    if ((err = autobind(sk)) < 0)
        return err;
    sk->remote = *remote;
    sk->connected = true;
    return 0;
}

static long udp_sendto(struct pn_socket *sk, const void *buf, size_t len, int flags,
                       const struct pn_endpoint *dst)
{
    struct udp_sock *u = (struct udp_sock *)sk;
    struct pn_stack *s = sk->stack;
    int err;
    if (sk->so_error && sk->connected && !dst)
        return pn_socket_take_error(sk);
    if (sk->wr_shut)
        return PN_EPIPE;
    if (!dst) {
        if (!sk->connected)
            return PN_EDESTADDRREQ;
        dst = &sk->remote;
    } else if ((err = check_dst(sk, dst)) < 0) {
        return err;
    }
    if ((err = autobind(sk)) < 0)
        return err;
    if (u->ping) {
        /* The application supplies the echo header; we insist on an echo request and
         * own the identifier (it is the socket's "port"), as Linux does. */
        struct pn_icmp_repr req;
        if (len < PN_ICMP_HDR_LEN || len > UDP_MAX_PAYLOAD)
            return len < PN_ICMP_HDR_LEN ? PN_EINVAL : PN_EMSGSIZE;
        const uint8_t *b = buf;
        if (b[0] != PN_ICMP_ECHO_REQUEST || b[1] != 0)
            return PN_EINVAL;
        req.seq = pn_get_be16(b + 6);
        err = pn_icmp_send_echo(s, dst->addr, sk->local.port, req.seq, b + PN_ICMP_HDR_LEN,
                                len - PN_ICMP_HDR_LEN, sk->ttl, sk->tos);
        return err < 0 ? err : (long)len;
    }
    if (len > UDP_MAX_PAYLOAD || len > sk->sndbuf)
        return PN_EMSGSIZE;
    struct pn_pbuf *p = pn_stack_alloc(s, (uint32_t)(len + PN_UDP_HDR_LEN));
    if (!p)
        return PN_ENOBUFS;
    if (len)
        memcpy(p->data + PN_UDP_HDR_LEN, buf, len);
    struct pn_udp_repr r = {.src_port = sk->local.port, .dst_port = dst->port,
                            .payload_len = len};
    uint32_t src = pn_ipv4_source(s, sk->local.addr, dst->addr);
    pn_udp_emit(&r, p->data, src, dst->addr);
    struct pn_ip_out o = {.src = src, .dst = dst->addr, .proto = PN_IP_PROTO_UDP,
                          .ttl = sk->ttl, .tos = sk->tos, .df = sk->opt_dontfrag,
                          .dontroute = (flags & PN_MSG_DONTROUTE) != 0};
    err = pn_ipv4_output(s, p, &o);
    if (err < 0)
        return err;
    s->stats.udp_tx++;
    return (long)len;
}

/* The sender of a queued datagram, read from the headers still in front of its payload. */
static void datagram_source(const struct udp_sock *u, const struct pn_pbuf *p,
                            struct pn_endpoint *src)
{
    src->addr = pn_get_be32(p->head + p->l3_off + 12);
    src->port = u->ping ? 0 : pn_get_be16(p->data - PN_UDP_HDR_LEN);
}

static long udp_recvfrom(struct pn_socket *sk, void *buf, size_t len, int flags,
                         struct pn_endpoint *src)
{
    struct udp_sock *u = (struct udp_sock *)sk;
    struct pn_pbuf *p = u->rxq.head;
    if (!p) {
        if (sk->so_error)
            return pn_socket_take_error(sk);
        return sk->rd_shut ? 0 : PN_EAGAIN;
    }
    size_t n = PN_MIN(len, (size_t)p->len);
    if (n)
        memcpy(buf, p->data, n);
    if (src)
        datagram_source(u, p, src);
    long ret = (flags & PN_MSG_TRUNC) ? (long)p->len : (long)n;
    if (!(flags & PN_MSG_PEEK)) {
        pn_pbuf_free(pn_pbuf_queue_pop(&u->rxq));
        if (!u->rxq.head)
            pn_socket_lower(sk, PN_EV_IN);
    }
    return ret;
}

static int udp_shutdown(struct pn_socket *sk, int how)
{
    if (!sk->connected)
        return PN_ENOTCONN;
    if (how != PN_SHUT_WR)
        sk->rd_shut = true;
    if (how != PN_SHUT_RD)
        sk->wr_shut = true;
    if (sk->rd_shut)
        pn_socket_raise(sk, PN_EV_IN | PN_EV_RDHUP);
    return 0;
}

static int udp_close(struct pn_socket *sk)
{
    struct udp_sock *u = (struct udp_sock *)sk;
    if (sk->bound)
        table_remove(table_of(u), sk);
    pn_pbuf_queue_purge(&u->rxq);
    return 0;
}

static const struct pn_socket_ops udp_ops = {
    .bind = udp_bind,
    .connect = udp_connect,
    .sendto = udp_sendto,
    .recvfrom = udp_recvfrom,
    .shutdown = udp_shutdown,
    .close = udp_close,
};

int pn_udp_socket_new(struct pn_stack *s, enum pn_sock_type type, struct pn_socket **out)
{
    struct udp_sock *u = calloc(1, sizeof(*u));
    if (!u)
        return PN_ENOMEM;
    pn_socket_init_common(&u->sk, s, type, &udp_ops);
    pn_pbuf_queue_init(&u->rxq);
    u->ping = type == PN_SOCK_PING;
    u->sk.events = PN_EV_OUT;
    *out = &u->sk;
    return 0;
}

/* ---- input ---- */

/* Queues p (data = payload) on u, or drops it if the receive buffer is full. */
static void deliver(struct pn_stack *s, struct udp_sock *u, struct pn_pbuf *p)
{
    if (u->sk.rd_shut || u->rxq.bytes + p->len > u->sk.rcvbuf) {
        s->stats.udp_rx_queue_full++;
        pn_pbuf_free(p);
        return;
    }
    pn_pbuf_queue_push(&u->rxq, p);
    pn_socket_raise(&u->sk, PN_EV_IN);
}

static bool accepts_from(const struct pn_socket *sk, uint32_t addr, uint16_t port,
                         uint32_t dst)
{
    if (sk->local.addr != PN_IP4_ANY && sk->local.addr != dst)
        return false;
    if (sk->connected && (sk->remote.addr != addr || sk->remote.port != port))
        return false;
    return true;
}

void pn_udp_input(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_ipv4_repr *ip)
{
    struct pn_udp_repr r;
    s->stats.udp_rx++;
    int err = pn_udp_parse(pkt->data, pkt->len, ip->src, ip->dst, &r,
                           !(pkt->flags & PN_PBUF_F_CSUM_OK));
    if (err == PN_WIRE_BAD_CHECKSUM) {
        s->stats.udp_rx_bad_checksum++;
        pn_pbuf_free(pkt);
        return;
    }
    if (err < 0 || r.src_port == 0 || r.dst_port == 0) {
        s->stats.udp_rx_malformed++;
        pn_pbuf_free(pkt);
        return;
    }
    struct pn_socket *sk = table_lookup(&s->udp_ports, r.dst_port);
    if (!sk || !accepts_from(sk, ip->src, r.src_port, ip->dst)) {
        s->stats.udp_rx_no_port++;
        /* RFC 1122 §4.1.3.1: port unreachable, never for broadcasts (icmp.c checks). */
        pn_pbuf_push(pkt, (uint32_t)(pkt->data - (pkt->head + pkt->l3_off)));
        pn_icmp_send_error(s, pkt, PN_ICMP_DEST_UNREACH, PN_ICMP_UNREACH_PORT, 0);
        pn_pbuf_free(pkt);
        return;
    }
    /* Keep the headers in front of the payload: recvfrom reads the source from them. */
    pn_pbuf_pull(pkt, PN_UDP_HDR_LEN);
    pn_pbuf_trim(pkt, (uint32_t)r.payload_len);
    deliver(s, (struct udp_sock *)sk, pkt);
}

void pn_ping_input(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_ipv4_repr *ip,
                   const struct pn_icmp_repr *icmp)
{
    struct pn_socket *sk = table_lookup(&s->ping_ports, icmp->id);
    if (!sk || !accepts_from(sk, ip->src, 0, ip->dst) ||
        (sk->connected && sk->remote.addr != ip->src)) {
        pn_pbuf_free(pkt); /* nobody asked: ignore, as RFC 792 hosts do */
        return;
    }
    deliver(s, (struct udp_sock *)sk, pkt);
}

int pn_icmp_error_to_err(uint8_t type, uint8_t code)
{
    if (type == PN_ICMP_TIME_EXCEEDED)
        return PN_EHOSTUNREACH;
    if (type != PN_ICMP_DEST_UNREACH)
        return PN_EPROTO;
    switch (code) {
    case PN_ICMP_UNREACH_NET:
        return PN_ENETUNREACH;
    case PN_ICMP_UNREACH_PORT:
    case PN_ICMP_UNREACH_PROTO:
        return PN_ECONNREFUSED;
    case PN_ICMP_UNREACH_NEEDFRAG:
        return PN_EMSGSIZE;
    default:
        return PN_EHOSTUNREACH;
    }
}

void pn_udp_icmp_error(struct pn_stack *s, const struct pn_ipv4_repr *inner, const uint8_t *l4,
                       size_t l4len, uint8_t type, uint8_t code)
{
    if (l4len < 4)
        return;
    uint16_t sport = pn_get_be16(l4), dport = pn_get_be16(l4 + 2);
    struct pn_socket *sk = table_lookup(&s->udp_ports, sport);
    /* RFC 1122 §4.1.3.3 says UDP must pass ICMP errors up; like BSD and Linux we report them
     * only on connected sockets, where they can be attributed unambiguously. */
    if (!sk || !sk->connected || sk->remote.addr != inner->dst || sk->remote.port != dport)
        return;
    pn_socket_set_error(sk, pn_icmp_error_to_err(type, code));
}
