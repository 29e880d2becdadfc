/* tests/tcp/tcptest.h — a scripted TCP peer "B" (10.0.0.2) for single-stack tests: it builds
 * segments with the wire codec (src/wire/tcp.h), injects them into stack A through the
 * inject link (testutil.h), parses exactly what A sends back, and tracks its own sequence
 * numbers and timestamps. Header-only (static inline): every test file is its own program.
 * Call chain: test -> tp_send -> pn_tcp_emit -> t_one_input -> stack A -> tp_recv. */
#ifndef PN_TESTS_TCPTEST_H
#define PN_TESTS_TCPTEST_H

#include <stdbool.h>
#include <string.h>
#include "testutil.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

#define TP_APORT 80u      /* A's port */
#define TP_BPORT 40000u   /* B's port */
#define TP_B_ISS 1000000u /* B's initial sequence number */
#define TP_B_TS0 5000u    /* B's first TSval */

/* The peer. Fields are public: tests move them to craft old, future or forged segments. */
struct tp {
    struct t_one o;
    uint16_t aport, bport;
    uint32_t snd_nxt;   /* B's next sequence number */
    uint32_t rcv_nxt;   /* what B acknowledges: A's next sequence number as B has seen it */
    uint32_t a_iss;     /* A's ISS as seen in its SYN / SYN,ACK */
    uint16_t wnd;       /* B's window field */
    bool ts;            /* B sends timestamps */
    uint32_t tsval;     /* B's next TSval (incremented per segment sent) */
    uint32_t ts_recent; /* A's last TSval, echoed in TSecr */
    /* what B offers in its SYN (or SYN,ACK) */
    uint16_t syn_mss; /* 0 = no MSS option */
    int syn_ws;       /* -1 = no window scale option */
    bool syn_sack;
};

/* One segment A sent, parsed (r.payload points into data). */
struct tseg {
    struct pn_tcp_repr r;
    uint8_t data[2048];
    size_t len;
};

/* t_config with receive-buffer auto-tuning off, so that A's buffer (262144 bytes), hence
 * its window scale (3) and advertised windows, are fixed numbers the tests can check. */
static inline void tp_config(struct pn_stack_config *cfg)
{
    t_config(cfg, T_ADDR_A, &T_MAC_A);
    cfg->tcp_autotune = false;
}

/* Stack A from cfg (NULL: tp_config defaults) with B's MAC known, and peer B's defaults. */
static inline void tp_init(struct tp *p, const struct pn_stack_config *cfg)
{
    struct pn_stack_config def;
    if (!cfg) {
        tp_config(&def);
        cfg = &def;
    }
    memset(p, 0, sizeof(*p));
    t_one_init(&p->o, cfg);
    assert_int_equal(pn_stack_arp_add_static(p->o.s, T_ADDR_B, &T_MAC_B), 0);
    p->aport = TP_APORT;
    p->bport = TP_BPORT;
    p->snd_nxt = TP_B_ISS;
    p->wnd = 65535;
    p->ts = true;
    p->tsval = TP_B_TS0;
    p->syn_mss = 1460;
    p->syn_ws = 0;
    p->syn_sack = true;
}

static inline void tp_fini(struct tp *p)
{
    t_one_fini(&p->o);
}

/* A repr from B with B's current seq/ack/window/timestamps; ACK set in flags fills ack. */
static inline struct pn_tcp_repr tp_repr(struct tp *p, uint8_t flags)
{
    struct pn_tcp_repr r;
    memset(&r, 0, sizeof(r));
    r.src_port = p->bport;
    r.dst_port = p->aport;
    r.seq = p->snd_nxt;
    r.ack = (flags & PN_TCP_ACK) ? p->rcv_nxt : 0;
    r.flags = flags;
    r.window = p->wnd;
    if (p->ts) {
        r.has_ts = true;
        r.ts_val = p->tsval;
        r.ts_ecr = (flags & PN_TCP_ACK) ? p->ts_recent : 0;
    }
    if (flags & PN_TCP_SYN) {
        r.has_mss = p->syn_mss != 0;
        r.mss = p->syn_mss;
        r.has_wscale = p->syn_ws >= 0;
        r.wscale = (uint8_t)(p->syn_ws >= 0 ? p->syn_ws : 0);
        r.sack_permitted = p->syn_sack;
    }
    return r;
}

/* Emits r (+ payload) from B to A as a frame and lets A process it at the current time. */
static inline void tp_inject(struct tp *p, const struct pn_tcp_repr *r, const void *data,
                             size_t len)
{
    uint8_t l4[2048], frame[2200];
    size_t hl = PN_TCP_HDR_LEN + pn_tcp_options_len(r, PN_TCP_OPTS_COMPACT);
    assert_true(hl + len <= sizeof(l4));
    if (len)
        memcpy(l4 + hl, data, len);
    pn_tcp_emit(r, PN_TCP_OPTS_COMPACT, l4, T_ADDR_B, T_ADDR_A, len);
    struct pn_ipv4_repr ip = {
        .src = T_ADDR_B, .dst = T_ADDR_A, .proto = PN_IP_PROTO_TCP, .ttl = 64};
    size_t n = t_frame_ipv4(frame, &T_MAC_A, &T_MAC_B, &ip, l4, hl + len);
    t_one_input(&p->o, frame, n);
    p->tsval++;
}

/* Sends a segment at B's SND.NXT and advances it by SEG.LEN. */
static inline void tp_send(struct tp *p, uint8_t flags, const void *data, size_t len)
{
    struct pn_tcp_repr r = tp_repr(p, flags);
    tp_inject(p, &r, data, len);
    p->snd_nxt += (uint32_t)len + !!(flags & PN_TCP_SYN) + !!(flags & PN_TCP_FIN);
}

/* Sends a segment with explicit seq and ack; B's SND.NXT is not moved. */
static inline void tp_send_at(struct tp *p, uint8_t flags, uint32_t seq, uint32_t ack,
                              const void *data, size_t len)
{
    struct pn_tcp_repr r = tp_repr(p, flags);
    r.seq = seq;
    r.ack = ack;
    tp_inject(p, &r, data, len);
}

/* Pops the next frame A sent: it must be a well-formed TCP segment from A to B with correct
 * IPv4 and TCP checksums (any ports). Returns false if A sent nothing. */
static inline bool tp_recv_any(struct tp *p, struct tseg *sg)
{
    uint8_t frame[2200];
    size_t n = t_link_pop(p->o.link, frame, sizeof(frame));
    if (n == 0)
        return false;
    struct pn_eth_repr e;
    assert_int_equal(pn_eth_parse(frame, n, &e), 0);
    assert_int_equal(e.ethertype, PN_ETHERTYPE_IPV4);
    assert_memory_equal(e.dst.b, T_MAC_B.b, 6);
    struct pn_ipv4_repr ip;
    assert_int_equal(pn_ipv4_parse(frame + PN_ETH_HDR_LEN, n - PN_ETH_HDR_LEN, &ip, true), 0);
    assert_int_equal(ip.proto, PN_IP_PROTO_TCP);
    assert_int_equal(ip.src, T_ADDR_A);
    assert_int_equal(ip.dst, T_ADDR_B);
    const uint8_t *l4 = frame + PN_ETH_HDR_LEN + ip.hdr_len;
    assert_true(ip.payload_len <= sizeof(sg->data));
    memcpy(sg->data, l4, ip.payload_len);
    assert_int_equal(pn_tcp_parse(sg->data, ip.payload_len, ip.src, ip.dst, &sg->r, true), 0);
    sg->len = sg->r.payload_len;
    if (sg->r.has_ts)
        p->ts_recent = sg->r.ts_val;
    return true;
}

/* As tp_recv_any, and the segment must be from A:aport to B:bport. */
static inline bool tp_recv(struct tp *p, struct tseg *sg)
{
    if (!tp_recv_any(p, sg))
        return false;
    assert_int_equal(sg->r.src_port, p->aport);
    assert_int_equal(sg->r.dst_port, p->bport);
    return true;
}

/* Pops the next segment and checks its flags exactly, its seq, and (with ACK) its ack. */
static inline struct tseg tp_expect(struct tp *p, uint8_t flags, uint32_t seq, uint32_t ack)
{
    struct tseg sg;
    if (!tp_recv(p, &sg))
        fail_msg("expected a segment with flags 0x%02x, A sent nothing", flags);
    if (sg.r.flags != flags)
        fail_msg("flags 0x%02x, expected 0x%02x (seq %u ack %u)", sg.r.flags, flags, sg.r.seq,
                 sg.r.ack);
    assert_int_equal(sg.r.seq, seq);
    if (flags & PN_TCP_ACK)
        assert_int_equal(sg.r.ack, ack);
    else
        assert_int_equal(sg.r.ack, 0);
    return sg;
}

/* A must not have sent anything. */
static inline void tp_expect_none(struct tp *p)
{
    struct tseg sg;
    if (tp_recv(p, &sg))
        fail_msg("unexpected segment flags 0x%02x seq %u ack %u len %zu", sg.r.flags, sg.r.seq,
                 sg.r.ack, sg.len);
}

static inline enum pn_tcp_state tp_state(const struct pn_socket *sk)
{
    struct pn_tcp_info ti;
    assert_int_equal(pn_tcp_get_info(sk, &ti), 0);
    return ti.state;
}

static inline struct pn_tcp_info tp_info(const struct pn_socket *sk)
{
    struct pn_tcp_info ti;
    assert_int_equal(pn_tcp_get_info(sk, &ti), 0);
    return ti;
}

#define tp_assert_state(sk, st)                                                                    \
    do {                                                                                           \
        enum pn_tcp_state st_ = tp_state(sk);                                                      \
        if (st_ != (st))                                                                           \
            fail_msg("state %s, expected %s", pn_tcp_state_name(st_), pn_tcp_state_name(st));      \
    } while (0)

static inline int tp_so_error(struct pn_socket *sk)
{
    int e = -1;
    size_t l = sizeof(e);
    assert_int_equal(pn_getsockopt(sk, PN_SO_ERROR, &e, &l), 0);
    return e;
}

/* A listener on A:aport. */
static inline struct pn_socket *tp_listen(struct tp *p, int backlog)
{
    struct pn_socket *l;
    assert_int_equal(pn_socket(p->o.s, PN_SOCK_STREAM, &l), 0);
    assert_int_equal(pn_bind(l, &(struct pn_endpoint){0, p->aport}), 0);
    assert_int_equal(pn_listen(l, backlog), 0);
    return l;
}

/* B's SYN to a listener; returns A's SYN,ACK (checked: flags, ack) and records A's ISS. */
static inline struct tseg tp_syn(struct tp *p)
{
    tp_send(p, PN_TCP_SYN, NULL, 0);
    struct tseg sg;
    assert_true(tp_recv(p, &sg));
    assert_int_equal(sg.r.flags, PN_TCP_SYN | PN_TCP_ACK);
    assert_int_equal(sg.r.ack, p->snd_nxt);
    p->a_iss = sg.r.seq;
    p->rcv_nxt = sg.r.seq + 1;
    return sg;
}

/* Passive open on listener l: SYN, SYN,ACK, ACK, accept. Returns the accepted socket. */
static inline struct pn_socket *tp_passive_open(struct tp *p, struct pn_socket *l)
{
    tp_syn(p);
    tp_send(p, PN_TCP_ACK, NULL, 0);
    tp_expect_none(p);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), 0);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    return c;
}

/* Active open from A:aport to B:bport: A's SYN, B's SYN,ACK, A's ACK. *syn gets A's SYN. */
static inline struct pn_socket *tp_active_open_syn(struct tp *p, struct tseg *syn)
{
    struct pn_socket *c;
    assert_int_equal(pn_socket(p->o.s, PN_SOCK_STREAM, &c), 0);
    assert_int_equal(pn_bind(c, &(struct pn_endpoint){0, p->aport}), 0);
    assert_int_equal(pn_connect(c, &(struct pn_endpoint){T_ADDR_B, p->bport}), PN_EINPROGRESS);
    struct tseg sg;
    assert_true(tp_recv(p, &sg));
    assert_int_equal(sg.r.flags, PN_TCP_SYN);
    p->a_iss = sg.r.seq;
    p->rcv_nxt = sg.r.seq + 1;
    if (syn)
        *syn = sg;
    tp_assert_state(c, PN_TCP_SYN_SENT);
    return c;
}

static inline struct pn_socket *tp_active_open(struct tp *p)
{
    struct pn_socket *c = tp_active_open_syn(p, NULL);
    tp_send(p, PN_TCP_SYN | PN_TCP_ACK, NULL, 0);
    tp_expect(p, PN_TCP_ACK, p->rcv_nxt, p->snd_nxt);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    return c;
}

#endif
