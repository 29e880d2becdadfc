/* tests/tcp/test_tcp_behaviour.c — two-stack TCP behaviour on the virtual clock: simultaneous
 * open and close, SYN cookies under a full SYN queue (and SYN retransmission without them),
 * zero window and persist probes, keepalive, RTO and SYN backoff into a black hole, user
 * timeout, TIME-WAIT rules (2*MSL, REUSEADDR, RFC 6191 reopen), half-close, abortive close
 * and RST, and thousands of concurrent connections. Every timing check is exact: the clock
 * is virtual and the loop link has no delay.
 * Topology: stack A -> recorder (logs A's TCP segments with their send time) -> fault
 * wrapper (blackhole switch) -> loop link <- stack B. Both stacks get static ARP entries so
 * that no ARP traffic hides or delays TCP segments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/stack.h"
#include "tcp/tcp.h"

/* ---- a recording link wrapper ---- */

struct seg_ev {
    uint64_t t;
    uint8_t flags;
    uint32_t seq, ack, len;
    uint16_t sport, dport, win;
};

#define REC_MAX 8192
struct rec_link {
    struct pn_link link; /* first */
    struct pn_link *inner;
    struct seg_ev ev[REC_MAX];
    unsigned n;
};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static int rec_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                  uint64_t now)
{
    struct rec_link *r = (struct rec_link *)l;
    return r->inner->ops->rx_burst(r->inner, pool, out, max, now);
}

static int rec_tx(struct pn_link *l, struct pn_pbuf **frames, int n, uint64_t now)
{
    struct rec_link *r = (struct rec_link *)l;
    for (int i = 0; i < n; i++) {
        const uint8_t *f = frames[i]->data;
        uint32_t len = frames[i]->len;
        if (len < 14 + 20 || rd16(f + 12) != 0x0800 || f[14 + 9] != 6)
            continue;
        const uint8_t *ip = f + 14;
        uint32_t ihl = (ip[0] & 15u) * 4u, tot = rd16(ip + 2);
        const uint8_t *th = ip + ihl;
        uint32_t thl = (th[12] >> 4) * 4u;
        if (r->n < REC_MAX)
            r->ev[r->n++] = (struct seg_ev){.t = now,
                                            .flags = th[13],
                                            .seq = rd32(th + 4),
                                            .ack = rd32(th + 8),
                                            .len = tot - ihl - thl,
                                            .sport = rd16(th),
                                            .dport = rd16(th + 2),
                                            .win = rd16(th + 14)};
    }
    return r->inner->ops->tx_burst(r->inner, frames, n, now);
}

static int rec_fd(struct pn_link *l)
{
    return pn_link_fd(((struct rec_link *)l)->inner);
}

static uint64_t rec_deadline(struct pn_link *l)
{
    return pn_link_next_deadline(((struct rec_link *)l)->inner);
}

static void rec_destroy(struct pn_link *l)
{
    pn_link_destroy(((struct rec_link *)l)->inner);
    free(l);
}

static const struct pn_link_ops rec_ops = {.name = "rec",
                                           .rx_burst = rec_rx,
                                           .tx_burst = rec_tx,
                                           .fd = rec_fd,
                                           .next_deadline = rec_deadline,
                                           .destroy = rec_destroy};

/* ---- the pair: A -> rec -> fault -> loop <- B ---- */

struct bp {
    struct t_pair p; /* p.la is the recorder (destroying it destroys fault and loop end) */
    struct pn_link *fault;
    struct rec_link *rec;
};

static void cfg_defaults(struct pn_stack_config *a, struct pn_stack_config *b)
{
    t_config(a, T_ADDR_A, &T_MAC_A);
    t_config(b, T_ADDR_B, &T_MAC_B);
}

static void bp_init(struct bp *b, const struct pn_stack_config *ca,
                    const struct pn_stack_config *cb)
{
    struct pn_stack_config a, c;
    cfg_defaults(&a, &c);
    if (ca)
        a = *ca;
    if (cb)
        c = *cb;
    a.addr = T_ADDR_A;
    a.mac = T_MAC_A;
    c.addr = T_ADDR_B;
    c.mac = T_MAC_B;
    struct pn_link *la, *lb;
    assert_int_equal(pn_link_loop_pair(0, 0, &la, &lb), 0);
    assert_int_equal(pn_link_fault_wrap(la, NULL, 1, &b->fault), 0);
    b->rec = calloc(1, sizeof(*b->rec));
    assert_non_null(b->rec);
    b->rec->link.ops = &rec_ops;
    b->rec->link.caps = b->fault->caps;
    b->rec->inner = b->fault;
    b->p.la = &b->rec->link;
    b->p.lb = lb;
    b->p.now = PN_SEC(1);
    assert_int_equal(pn_stack_new(&a, b->p.la, b->p.now, &b->p.a), 0);
    assert_int_equal(pn_stack_new(&c, b->p.lb, b->p.now, &b->p.b), 0);
    assert_int_equal(pn_stack_arp_add_static(b->p.a, T_ADDR_B, &T_MAC_B), 0);
    assert_int_equal(pn_stack_arp_add_static(b->p.b, T_ADDR_A, &T_MAC_A), 0);
    t_pair_run(&b->p, PN_MS(10)); /* gratuitous ARPs */
    b->rec->n = 0;
}

static void bp_fini(struct bp *b)
{
    t_pair_fini(&b->p);
}

static void blackhole(struct bp *b, bool on)
{
    assert_int_equal(pn_link_fault_blackhole(b->fault, on, on), 0);
}

/* Sends a crafted segment from A's address to B, below stack A (it never sees it). */
static void inject_to_b(struct bp *b, struct pn_pbuf_pool *pool, const struct pn_tcp_repr *r)
{
    uint8_t l4[128], frame[256];
    size_t hl = PN_TCP_HDR_LEN + pn_tcp_options_len(r, PN_TCP_OPTS_COMPACT);
    assert_int_equal(pn_tcp_emit(r, PN_TCP_OPTS_COMPACT, l4, T_ADDR_A, T_ADDR_B, 0), hl);
    struct pn_ipv4_repr ip = {
        .src = T_ADDR_A, .dst = T_ADDR_B, .proto = PN_IP_PROTO_TCP, .ttl = 64};
    size_t n = t_frame_ipv4(frame, &T_MAC_B, &T_MAC_A, &ip, l4, hl);
    struct pn_pbuf *pkt = pn_pbuf_alloc(pool, 0, (uint32_t)n);
    assert_non_null(pkt);
    memcpy(pkt->data, frame, n);
    assert_int_equal(b->fault->ops->tx_burst(b->fault, &pkt, 1, b->p.now), 1);
}

/* Segments A sent from index `from` on with the given flag set and (if len_min) payload. */
static unsigned rec_find(const struct bp *b, unsigned from, uint8_t flag, uint32_t len_min,
                         uint64_t *times, unsigned max)
{
    unsigned k = 0;
    for (unsigned i = from; i < b->rec->n; i++) {
        const struct seg_ev *e = &b->rec->ev[i];
        if ((e->flags & flag) == flag && e->len >= len_min) {
            if (k < max)
                times[k] = e->t;
            k++;
        }
    }
    return k;
}

/* ---- socket helpers ---- */

static enum pn_tcp_state st(const struct pn_socket *sk)
{
    struct pn_tcp_info ti;
    assert_int_equal(pn_tcp_get_info(sk, &ti), 0);
    return ti.state;
}

static int is_established(void *arg)
{
    return st(arg) == PN_TCP_ESTABLISHED;
}

static int is_closed(void *arg)
{
    return st(arg) == PN_TCP_CLOSED;
}

static int is_time_wait(void *arg)
{
    return st(arg) == PN_TCP_TIME_WAIT;
}

static int has_in(void *arg)
{
    return (pn_socket_events(arg) & PN_EV_IN) != 0;
}

static int has_err(void *arg)
{
    return (pn_socket_events(arg) & PN_EV_ERR) != 0;
}

static int sock_error(struct pn_socket *sk)
{
    int err = 0;
    size_t len = sizeof(err);
    assert_int_equal(pn_getsockopt(sk, PN_SO_ERROR, &err, &len), 0);
    return err;
}

static void setint(struct pn_socket *sk, enum pn_sockopt opt, int v)
{
    assert_int_equal(pn_setsockopt(sk, opt, &v, sizeof(v)), 0);
}

static struct pn_socket *listener(struct pn_stack *s, uint16_t port, int backlog)
{
    struct pn_socket *l;
    assert_int_equal(pn_socket(s, PN_SOCK_STREAM, &l), 0);
    assert_int_equal(pn_bind(l, &(struct pn_endpoint){0, port}), 0);
    assert_int_equal(pn_listen(l, backlog), 0);
    return l;
}

/* A (from cport, 0 = ephemeral) -> B:port; returns the client and the accepted socket. */
static void bp_connect(struct bp *b, struct pn_socket *lst, uint16_t cport, uint16_t port,
                       struct pn_socket **cli, struct pn_socket **srv)
{
    assert_int_equal(pn_socket(b->p.a, PN_SOCK_STREAM, cli), 0);
    if (cport)
        assert_int_equal(pn_bind(*cli, &(struct pn_endpoint){0, cport}), 0);
    assert_int_equal(pn_connect(*cli, &(struct pn_endpoint){T_ADDR_B, port}), PN_EINPROGRESS);
    assert_true(t_pair_run_until(&b->p, is_established, *cli, PN_SEC(5)));
    assert_true(t_pair_run_until(&b->p, has_in, lst, PN_SEC(5)));
    assert_int_equal(pn_accept(lst, srv, NULL), 0);
}

static uint8_t pat(uint64_t i, uint32_t seed)
{
    return (uint8_t)((i * 2654435761u + seed) >> 13);
}

/* Sends as much of [*sent, total) of pattern `seed` as the socket takes. */
static void push(struct pn_socket *sk, uint64_t *sent, uint64_t total, uint32_t seed)
{
    uint8_t buf[8192];
    while (*sent < total) {
        size_t n = (size_t)(total - *sent < sizeof(buf) ? total - *sent : sizeof(buf));
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(*sent + i, seed);
        long r = pn_send(sk, buf, n, 0);
        if (r <= 0)
            return;
        *sent += (uint64_t)r;
    }
}

/* Reads everything available, checking it against pattern `seed`; returns false on a
 * mismatch. *eof is set at end of stream. */
static bool pull(struct pn_socket *sk, uint64_t *got, uint32_t seed, bool *eof)
{
    uint8_t buf[8192];
    for (;;) {
        long r = pn_recv(sk, buf, sizeof(buf), 0);
        if (r == 0 && eof)
            *eof = true;
        if (r <= 0)
            return true;
        for (long i = 0; i < r; i++)
            if (buf[i] != pat(*got + (uint64_t)i, seed))
                return false;
        *got += (uint64_t)r;
    }
}

/* A one-way transfer driven from t_pair_run_until. */
struct xfer {
    struct pn_socket *tx, *rx;
    uint64_t total, sent, got;
    uint32_t seed;
    bool bad, reading, eof;
};

static int xfer_step(void *arg)
{
    struct xfer *x = arg;
    push(x->tx, &x->sent, x->total, x->seed);
    if (x->reading && !pull(x->rx, &x->got, x->seed, &x->eof))
        x->bad = true;
    return x->got == x->total;
}

/* ---- simultaneous open ---- */

/* RFC 9293 §3.5 (figure 8): both ends send SYN at once; each goes SYN-SENT -> SYN-RECEIVED
 * on the other's SYN, answers SYN,ACK, and reaches ESTABLISHED on the peer's SYN,ACK. */
static void test_simultaneous_open(void **state)
{
    struct bp b;
    bp_init(&b, NULL, NULL);
    struct pn_socket *x, *y;
    assert_int_equal(pn_socket(b.p.a, PN_SOCK_STREAM, &x), 0);
    assert_int_equal(pn_socket(b.p.b, PN_SOCK_STREAM, &y), 0);
    assert_int_equal(pn_bind(x, &(struct pn_endpoint){0, 1111}), 0);
    assert_int_equal(pn_bind(y, &(struct pn_endpoint){0, 2222}), 0);
    uint64_t t0 = b.p.now;
    assert_int_equal(pn_connect(x, &(struct pn_endpoint){T_ADDR_B, 2222}), PN_EINPROGRESS);
    assert_int_equal(pn_connect(y, &(struct pn_endpoint){T_ADDR_A, 1111}), PN_EINPROGRESS);
    assert_int_equal(st(x), PN_TCP_SYN_SENT);
    assert_int_equal(st(y), PN_TCP_SYN_SENT);
    /* Neither side has polled: each SYN waits on the link. The first poll of A sees B's
     * SYN while A is in SYN-SENT. */
    pn_stack_poll(b.p.a, b.p.now);
    assert_int_equal(st(x), PN_TCP_SYN_RECEIVED);
    assert_true(t_pair_run_until(&b.p, is_established, x, PN_SEC(1)));
    assert_true(t_pair_run_until(&b.p, is_established, y, PN_SEC(1)));
    /* No retransmission was needed: it completed at the same virtual instant. */
    assert_int_equal(b.p.now, t0);
    assert_true(pn_socket_events(x) & PN_EV_OUT);
    assert_true(pn_socket_events(y) & PN_EV_OUT);
    /* A sent exactly one SYN and one SYN,ACK. */
    uint64_t tt[4];
    assert_int_equal(rec_find(&b, 0, PN_TCP_SYN, 0, tt, 4), 2);
    assert_int_equal(rec_find(&b, 0, PN_TCP_SYN | PN_TCP_ACK, 0, tt, 4), 1);
    assert_int_equal(t_stat(b.p.a, "tcp_active_opens"), 1);
    assert_int_equal(t_stat(b.p.b, "tcp_active_opens"), 1);
    assert_int_equal(t_stat(b.p.a, "tcp_passive_opens"), 0);
    /* No timeout; the SYN,ACK re-sends sequence number ISS, so each side counts it as one
     * retransmitted segment. */
    assert_int_equal(t_stat(b.p.a, "tcp_rto") + t_stat(b.p.b, "tcp_rto"), 0);
    assert_int_equal(t_stat(b.p.a, "tcp_retransmits"), 1);
    assert_int_equal(t_stat(b.p.b, "tcp_retransmits"), 1);
    struct pn_endpoint ep;
    assert_int_equal(pn_getpeername(x, &ep), 0);
    assert_int_equal(ep.port, 2222);
    /* Data both ways. */
    struct xfer f1 = {.tx = x, .rx = y, .total = 100000, .seed = 7, .reading = true};
    assert_true(t_pair_run_until(&b.p, xfer_step, &f1, PN_SEC(10)));
    struct xfer f2 = {.tx = y, .rx = x, .total = 100000, .seed = 8, .reading = true};
    assert_true(t_pair_run_until(&b.p, xfer_step, &f2, PN_SEC(10)));
    assert_false(f1.bad || f2.bad);
    pn_close(x);
    pn_close(y);
    bp_fini(&b);
}

/* ---- simultaneous close ---- */

struct close_obs {
    enum pn_tcp_state at_fin; /* state when the peer's FIN was processed */
    bool seen;
};

static void close_cb(struct pn_socket *sk, unsigned ev, void *arg)
{
    struct close_obs *o = arg;
    if ((ev & PN_EV_RDHUP) && !o->seen) {
        o->seen = true;
        o->at_fin = st(sk);
    }
}

static int both_time_wait(void *arg)
{
    struct pn_socket **s = arg;
    return st(s[0]) == PN_TCP_TIME_WAIT && st(s[1]) == PN_TCP_TIME_WAIT;
}

static int both_closed(void *arg)
{
    struct pn_socket **s = arg;
    return st(s[0]) == PN_TCP_CLOSED && st(s[1]) == PN_TCP_CLOSED;
}

/* RFC 9293 §3.6 (figure 13): both FINs cross; each end goes FIN-WAIT-1 -> CLOSING on the
 * peer's FIN, then TIME-WAIT when its own FIN is acknowledged, and leaves TIME-WAIT after
 * exactly 2*MSL (§3.4.2). */
static void test_simultaneous_close(void **state)
{
    struct pn_stack_config ca, cb;
    cfg_defaults(&ca, &cb);
    ca.tcp_msl_ms = cb.tcp_msl_ms = 1500;
    struct bp b;
    bp_init(&b, &ca, &cb);
    struct pn_socket *lst = listener(b.p.b, 80, 4), *x, *y;
    bp_connect(&b, lst, 0, 80, &x, &y);
    struct close_obs ox = {0}, oy = {0};
    pn_socket_set_callback(x, close_cb, &ox);
    pn_socket_set_callback(y, close_cb, &oy);
    uint64_t t0 = b.p.now;
    assert_int_equal(pn_shutdown(x, PN_SHUT_WR), 0);
    assert_int_equal(pn_shutdown(y, PN_SHUT_WR), 0);
    assert_int_equal(st(x), PN_TCP_FIN_WAIT_1);
    assert_int_equal(st(y), PN_TCP_FIN_WAIT_1);
    struct pn_socket *both[2] = {x, y};
    assert_true(t_pair_run_until(&b.p, both_time_wait, both, PN_SEC(1)));
    assert_int_equal(b.p.now, t0);
    assert_true(ox.seen && oy.seen);
    assert_int_equal(ox.at_fin, PN_TCP_CLOSING);
    assert_int_equal(oy.at_fin, PN_TCP_CLOSING);
    /* Both read end of stream. */
    char c;
    assert_int_equal(pn_recv(x, &c, 1, 0), 0);
    assert_int_equal(pn_recv(y, &c, 1, 0), 0);
    /* TIME-WAIT on both for exactly 2*MSL. */
    t_pair_run(&b.p, PN_MS(2 * 1500) - PN_MS(1));
    assert_int_equal(st(x), PN_TCP_TIME_WAIT);
    assert_int_equal(st(y), PN_TCP_TIME_WAIT);
    assert_true(t_pair_run_until(&b.p, both_closed, both, PN_SEC(1)));
    assert_int_equal(b.p.now, t0 + PN_MS(3000));
    assert_int_equal(t_stat(b.p.a, "tcp_tx_rst") + t_stat(b.p.b, "tcp_tx_rst"), 0);
    pn_close(x);
    pn_close(y);
    pn_close(lst);
    bp_fini(&b);
}

/* ---- backlog overflow: SYN cookies, and SYN retransmission without them ---- */

struct acceptor {
    struct pn_socket *lst;
    struct pn_socket *srv[64];
    unsigned n;
};

/* An event-driven server: accepts as soon as a connection is ready. */
static void accept_cb(struct pn_socket *sk, unsigned ev, void *arg)
{
    struct acceptor *ac = arg;
    struct pn_socket *c;
    while (ac->n < 64 && pn_accept(sk, &c, NULL) == 0)
        ac->srv[ac->n++] = c;
}

static int accepted_n(void *arg)
{
    struct acceptor *ac = arg;
    return ac->n == 12;
}

/* Each client sends 3000 bytes of a pattern seeded by its local port; the server checks it
 * and sends 100 bytes back. */
static void check_conns(struct bp *b, struct pn_socket **cli, unsigned n, struct acceptor *ac)
{
    assert_int_equal(ac->n, n);
    for (unsigned i = 0; i < n; i++) {
        struct pn_endpoint ep;
        assert_int_equal(pn_getsockname(cli[i], &ep), 0);
        uint64_t sent = 0;
        push(cli[i], &sent, 3000, ep.port);
        assert_int_equal(sent, 3000);
    }
    t_pair_run(&b->p, PN_MS(100));
    for (unsigned i = 0; i < n; i++) {
        struct pn_endpoint ep;
        assert_int_equal(pn_getpeername(ac->srv[i], &ep), 0);
        uint64_t got = 0;
        assert_true(pull(ac->srv[i], &got, ep.port, NULL));
        assert_int_equal(got, 3000);
        uint64_t sent = 0;
        push(ac->srv[i], &sent, 100, ep.port + 1u);
    }
    t_pair_run(&b->p, PN_MS(100));
    for (unsigned i = 0; i < n; i++) {
        struct pn_endpoint ep;
        assert_int_equal(pn_getsockname(cli[i], &ep), 0);
        uint64_t got = 0;
        assert_true(pull(cli[i], &got, ep.port + 1u, NULL));
        assert_int_equal(got, 100);
    }
    /* Both ends agree on each other's windows (RFC 7323 §2.3: the shift each announced in
     * its SYN is the one it applies), cookie or not. */
    t_pair_run(&b->p, PN_MS(100));
    for (unsigned i = 0; i < n; i++) {
        struct pn_endpoint ep, pp;
        assert_int_equal(pn_getsockname(cli[i], &ep), 0);
        unsigned j = 0;
        while (j < n && (pn_getpeername(ac->srv[j], &pp), pp.port != ep.port))
            j++;
        assert_true(j < n);
        struct pn_tcp_info ci, si;
        pn_tcp_get_info(cli[i], &ci);
        pn_tcp_get_info(ac->srv[j], &si);
        /* equal but for the bits the receiver's shift truncates */
        assert_true(ci.snd_wnd <= si.rcv_wnd && si.rcv_wnd - ci.snd_wnd < (1u << si.rcv_wscale));
        assert_true(si.snd_wnd <= ci.rcv_wnd && ci.rcv_wnd - si.snd_wnd < (1u << ci.rcv_wscale));
        assert_int_equal(ci.snd_wscale, si.rcv_wscale);
        assert_int_equal(si.snd_wscale, ci.rcv_wscale);
    }
}

static int count_established(struct pn_socket **cli, unsigned n)
{
    int k = 0;
    for (unsigned i = 0; i < n; i++)
        k += st(cli[i]) == PN_TCP_ESTABLISHED;
    return k;
}

/* RFC 4987 §3.6: when the SYN queue is full the listener answers with a SYN cookie and
 * keeps no state; the final ACK rebuilds the connection. Without cookies (RFC 9293
 * §3.10.7.2 leaves the choice open; Linux drops) the extra SYNs are dropped and the clients'
 * SYN retransmissions (RFC 6298 (5.5) backoff: 1 s, 2 s, 4 s, ...) get in later. */
static void test_backlog_syncookies(void **state)
{
    struct pn_stack_config ca, cb;
    cfg_defaults(&ca, &cb);
    cb.tcp_max_syn_backlog = 2; /* SYN queue: min(2, max(backlog, 8)) = 2 */
    struct bp b;
    bp_init(&b, &ca, &cb);
    struct acceptor ac = {.lst = listener(b.p.b, 80, 4)};
    pn_socket_set_callback(ac.lst, accept_cb, &ac);
    setint(ac.lst, PN_TCP_KEEPIDLE, 33); /* options every child inherits */
    setint(ac.lst, PN_TCP_USER_TIMEOUT, 4444);
    struct pn_socket *cli[12];
    /* Start on a multiple of 32 ms of the timestamp clock: the cookie's TSval carries
     * options in its low 5 bits, which must not push it ahead of the clock (else PAWS,
     * RFC 7323 §5.3, drops the server's next segments). */
    t_pair_run(&b.p, PN_MS(32) - b.p.now % PN_MS(32));
    uint64_t t0 = b.p.now;
    for (int i = 0; i < 12; i++) {
        assert_int_equal(pn_socket(b.p.a, PN_SOCK_STREAM, &cli[i]), 0);
        assert_int_equal(pn_connect(cli[i], &(struct pn_endpoint){T_ADDR_B, 80}), PN_EINPROGRESS);
    }
    assert_true(t_pair_run_until(&b.p, accepted_n, &ac, PN_SEC(1)));
    assert_int_equal(b.p.now, t0); /* every handshake completed at once */
    assert_int_equal(count_established(cli, 12), 12);
    assert_int_equal(t_stat(b.p.b, "tcp_syncookies_sent"), 10);
    assert_int_equal(t_stat(b.p.b, "tcp_syncookies_ok"), 10);
    assert_int_equal(t_stat(b.p.b, "tcp_syncookies_failed"), 0);
    assert_int_equal(t_stat(b.p.b, "tcp_listen_overflow"), 0);
    assert_int_equal(t_stat(b.p.b, "tcp_passive_opens"), 12);
    /* Cookie connections negotiated timestamps and window scaling through the TSval. */
    struct pn_tcp_info ti;
    pn_tcp_get_info(ac.srv[11], &ti);
    assert_true(ti.ts_ok && ti.ws_ok);
    for (unsigned i = 0; i < 12; i++) {
        int v = 0;
        size_t len = sizeof(v);
        assert_int_equal(pn_getsockopt(ac.srv[i], PN_TCP_KEEPIDLE, &v, &len), 0);
        assert_int_equal(v, 33);
        assert_int_equal(pn_getsockopt(ac.srv[i], PN_TCP_USER_TIMEOUT, &v, &len), 0);
        assert_int_equal(v, 4444);
    }
    check_conns(&b, cli, 12, &ac);
    assert_int_equal(t_stat(b.p.a, "tcp_retransmits"), 0);
    assert_int_equal(t_stat(b.p.b, "tcp_retransmits"), 0);
    assert_int_equal(t_stat(b.p.a, "tcp_rx_paws_rejected"), 0);
    for (unsigned i = 0; i < 12; i++) {
        pn_close(cli[i]);
        pn_close(ac.srv[i]);
    }
    pn_close(ac.lst);
    bp_fini(&b);

    /* Without cookies: 2 complete at once, the rest retry at t0+1 s, +3 s, +7 s, +15 s,
     * two at a time (each round's two SYN-RECEIVED children fill the SYN queue). */
    cb.tcp_syncookies = false;
    bp_init(&b, &ca, &cb);
    ac = (struct acceptor){.lst = listener(b.p.b, 80, 4)};
    pn_socket_set_callback(ac.lst, accept_cb, &ac);
    t0 = b.p.now;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(pn_socket(b.p.a, PN_SOCK_STREAM, &cli[i]), 0);
        assert_int_equal(pn_connect(cli[i], &(struct pn_endpoint){T_ADDR_B, 80}), PN_EINPROGRESS);
    }
    static const uint64_t round_ms[5] = {0, 1000, 3000, 7000, 15000};
    for (int r = 0; r < 5; r++) {
        t_pair_run(&b.p, t0 + PN_MS(round_ms[r]) - b.p.now);
        assert_int_equal(count_established(cli, 10), 2 * (r + 1));
        assert_int_equal(ac.n, 2u * (unsigned)(r + 1));
        if (r < 4) {
            t_pair_run(&b.p, PN_MS(round_ms[r + 1] - round_ms[r]) - PN_MS(1));
            assert_int_equal(count_established(cli, 10), 2 * (r + 1));
        }
    }
    assert_int_equal(t_stat(b.p.b, "tcp_syncookies_sent"), 0);
    assert_int_equal(t_stat(b.p.b, "tcp_listen_overflow"), 8 + 6 + 4 + 2);
    assert_int_equal(t_stat(b.p.a, "tcp_rto"), 8 + 6 + 4 + 2);
    check_conns(&b, cli, 10, &ac);
    for (unsigned i = 0; i < 10; i++) {
        pn_close(cli[i]);
        pn_close(ac.srv[i]);
    }
    pn_close(ac.lst);
    bp_fini(&b);
}

/* ---- zero window and persist ---- */

/* RFC 9293 §3.8.6.1 and RFC 1122 §4.2.2.17: a sender facing a zero window probes it with
 * exponentially backed-off intervals (RFC 6298 (5.5), capped at the maximum RTO) and never
 * gives up while the probes are answered; a window update resumes the transfer. */
static void test_zero_window_persist(void **state)
{
    struct pn_stack_config ca, cb;
    cfg_defaults(&ca, &cb);
    ca.tcp_rto_min_ms = 200;
    ca.tcp_rto_max_ms = 2000;
    struct bp b;
    bp_init(&b, &ca, &cb);
    struct pn_socket *lst;
    assert_int_equal(pn_socket(b.p.b, PN_SOCK_STREAM, &lst), 0);
    setint(lst, PN_SO_RCVBUF, 4096);
    assert_int_equal(pn_bind(lst, &(struct pn_endpoint){0, 80}), 0);
    assert_int_equal(pn_listen(lst, 4), 0);
    struct pn_socket *x, *y;
    assert_int_equal(pn_socket(b.p.a, PN_SOCK_STREAM, &x), 0);
    setint(x, PN_TCP_MAXSEG, 1024 + 12); /* 1024-byte segments: 4 fill the window exactly */
    assert_int_equal(pn_connect(x, &(struct pn_endpoint){T_ADDR_B, 80}), PN_EINPROGRESS);
    assert_true(t_pair_run_until(&b.p, is_established, x, PN_SEC(5)));
    assert_true(t_pair_run_until(&b.p, has_in, lst, PN_SEC(5)));
    assert_int_equal(pn_accept(lst, &y, NULL), 0);
    struct pn_tcp_info ti;
    pn_tcp_get_info(x, &ti);
    assert_int_equal(ti.snd_mss, 1024);
    assert_int_equal(ti.snd_wnd, 4096);

    struct xfer f = {.tx = x, .rx = y, .total = 50000, .seed = 3};
    uint64_t tz = b.p.now;
    xfer_step(&f);
    t_pair_run(&b.p, PN_MS(1)); /* the data and the ACKs closing the window */
    pn_tcp_get_info(x, &ti);
    assert_int_equal(ti.snd_wnd, 0);
    assert_int_equal(ti.unacked, 0);
    pn_tcp_get_info(y, &ti);
    assert_int_equal(ti.rcv_wnd, 0);
    assert_int_equal(ti.bytes_received, 4096);
    unsigned mark = b.rec->n;
    /* Probes at +200, +600, +1400, +3000, then every 2000 (the cap): 7 by +10 s. */
    t_pair_run(&b.p, tz + PN_MS(10000) - b.p.now);
    static const uint64_t want[] = {200, 600, 1400, 3000, 5000, 7000, 9000};
    uint64_t tt[16];
    unsigned k = rec_find(&b, mark, PN_TCP_ACK, 0, tt, 16);
    assert_int_equal(k, 7);
    for (unsigned i = 0; i < 7; i++)
        assert_int_equal(tt[i], tz + PN_MS(want[i]));
    for (unsigned i = mark; i < b.rec->n; i++) {
        assert_int_equal(b.rec->ev[i].len, 0); /* probes carry no data here */
    }
    assert_int_equal(t_stat(b.p.a, "tcp_persist_probes"), 7);
    assert_int_equal(t_stat(b.p.a, "tcp_rto"), 0);
    assert_int_equal(t_stat(b.p.a, "tcp_timeouts"), 0);
    assert_int_equal(st(x), PN_TCP_ESTABLISHED);
    /* The receiver reads: the window reopens and the transfer completes byte-exact. */
    f.reading = true;
    assert_true(t_pair_run_until(&b.p, xfer_step, &f, PN_SEC(30)));
    assert_false(f.bad);
    assert_int_equal(f.got, 50000);
    assert_int_equal(t_stat(b.p.a, "tcp_persist_probes"), 7);
    pn_close(x);
    pn_close(y);
    pn_close(lst);
    bp_fini(&b);
}

/* RFC 5482 §2 and RFC 9293 §3.8.3/§3.10.8: the user timeout also bounds how long data may
 * wait behind a closed window, even while the peer answers every probe (RFC 1122
 * §4.2.2.17 keeps such a connection open only without a user timeout; Linux likewise). */
static void test_zero_window_user_timeout(void **state)
{
    struct pn_stack_config ca, cb;
    cfg_defaults(&ca, &cb);
    ca.tcp_rto_min_ms = 200;
    ca.tcp_rto_max_ms = 2000;
    struct bp b;
    bp_init(&b, &ca, &cb);
    struct pn_socket *lst;
    assert_int_equal(pn_socket(b.p.b, PN_SOCK_STREAM, &lst), 0);
    setint(lst, PN_SO_RCVBUF, 4096);
    assert_int_equal(pn_bind(lst, &(struct pn_endpoint){0, 80}), 0);
    assert_int_equal(pn_listen(lst, 4), 0);
    struct pn_socket *x, *y;
    assert_int_equal(pn_socket(b.p.a, PN_SOCK_STREAM, &x), 0);
    setint(x, PN_TCP_MAXSEG, 1024 + 12);
    setint(x, PN_TCP_USER_TIMEOUT, 2500);
    assert_int_equal(pn_connect(x, &(struct pn_endpoint){T_ADDR_B, 80}), PN_EINPROGRESS);
    assert_true(t_pair_run_until(&b.p, is_established, x, PN_SEC(5)));
    assert_true(t_pair_run_until(&b.p, has_in, lst, PN_SEC(5)));
    assert_int_equal(pn_accept(lst, &y, NULL), 0);
    struct xfer f = {.tx = x, .rx = y, .total = 50000, .seed = 3};
    uint64_t tz = b.p.now;
    xfer_step(&f);
    unsigned mark = b.rec->n;
    assert_true(t_pair_run_until(&b.p, has_err, x, PN_SEC(60)));
    assert_int_equal(b.p.now, tz + PN_MS(2500));
    assert_int_equal(sock_error(x), PN_ETIMEDOUT);
    assert_int_equal(t_stat(b.p.a, "tcp_persist_probes"), 3); /* +200, +600, +1400 */
    assert_int_equal(t_stat(b.p.a, "tcp_timeouts"), 1);
    assert_true(b.rec->n > mark);
    pn_close(x);
    pn_close(y);
    pn_close(lst);
    bp_fini(&b);
}

/* RFC 1122 §4.2.2.17 and §4.2.3.4, RFC 9293 §3.8.6.1 and §3.8.6.2.1: a window smaller
 * than a segment that sender SWS avoidance will not fill is as stuck as a zero window: if
 * the receiver's window update is lost, only the sender's persist (override) timer can
 * recover, so it must run whenever data waits with nothing in flight. */
static void test_small_window_lost_update(void **state)
{
    struct bp b;
    bp_init(&b, NULL, NULL);
    struct pn_socket *lst;
    assert_int_equal(pn_socket(b.p.b, PN_SOCK_STREAM, &lst), 0);
    setint(lst, PN_SO_RCVBUF, 4096);
    assert_int_equal(pn_bind(lst, &(struct pn_endpoint){0, 80}), 0);
    assert_int_equal(pn_listen(lst, 4), 0);
    struct pn_socket *x, *y;
    bp_connect(&b, lst, 0, 80, &x, &y);
    struct xfer f = {.tx = x, .rx = y, .total = 50000, .seed = 6};
    xfer_step(&f);
    t_pair_run(&b.p, PN_MS(1));
    uint64_t tz = b.p.now - PN_MS(1);
    struct pn_tcp_info ti;
    pn_tcp_get_info(x, &ti);
    assert_int_equal(ti.snd_mss, 1448);
    assert_int_equal(ti.snd_wnd, 4096 - 2 * 1448); /* 1200: less than a segment */
    assert_int_equal(ti.unacked, 0);
    /* The receiver drains its buffer; its window update is lost. */
    assert_int_equal(pn_link_fault_blackhole(b.fault, false, true), 0);
    f.reading = true;
    xfer_step(&f);
    assert_int_equal(f.got, 2 * 1448);
    t_pair_run(&b.p, PN_MS(1));
    blackhole(&b, false);
    unsigned mark = b.rec->n;
    assert_true(t_pair_run_until(&b.p, xfer_step, &f, PN_SEC(30)));
    assert_false(f.bad);
    /* The persist timer (one RTO = 1 s after the stall) probed and the ACK reopened it. */
    assert_true(b.rec->n > mark + 1);
    assert_int_equal(b.rec->ev[mark].t, tz + PN_SEC(1));
    assert_int_equal(b.rec->ev[mark].len, 0);
    assert_int_equal(b.rec->ev[mark + 1].t, tz + PN_SEC(1));
    assert_int_equal(b.rec->ev[mark + 1].len, 1448);
    assert_int_equal(t_stat(b.p.a, "tcp_persist_probes"), 1);
    pn_close(x);
    pn_close(y);
    pn_close(lst);
    bp_fini(&b);
}

/* ---- keepalive ---- */

static void keepalive_opts(struct pn_socket *sk)
{
    setint(sk, PN_TCP_KEEPIDLE, 10);
    setint(sk, PN_TCP_KEEPINTVL, 2);
    setint(sk, PN_TCP_KEEPCNT, 3);
    setint(sk, PN_SO_KEEPALIVE, 1);
}

/* RFC 1122 §4.2.3.6: after KEEPIDLE of silence a probe (SEG.SEQ = SND.NXT-1, no data) goes
 * out every KEEPINTVL; after KEEPCNT unanswered probes the connection is dead: exactly
 * idle + cnt*intvl after the last segment received. */
static void test_keepalive_dead_peer(void **state)
{
    struct bp b;
    bp_init(&b, NULL, NULL);
    struct pn_socket *lst = listener(b.p.b, 80, 4), *x, *y;
    bp_connect(&b, lst, 0, 80, &x, &y);
    keepalive_opts(x);
    uint64_t t0 = b.p.now;
    blackhole(&b, true);
    unsigned mark = b.rec->n;
    assert_true(t_pair_run_until(&b.p, has_err, x, PN_SEC(60)));
    assert_int_equal(b.p.now, t0 + PN_SEC(10 + 3 * 2));
    assert_int_equal(sock_error(x), PN_ETIMEDOUT);
    assert_int_equal(st(x), PN_TCP_CLOSED);
    struct pn_tcp_info ti;
    pn_tcp_get_info(y, &ti);
    uint64_t tt[8];
    assert_int_equal(rec_find(&b, mark, PN_TCP_ACK, 0, tt, 8), 3);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(tt[i], t0 + PN_SEC(10 + 2 * i));
    assert_int_equal(b.rec->ev[mark].len, 0);
    assert_int_equal(t_stat(b.p.a, "tcp_keepalive_probes"), 3);
    assert_int_equal(t_stat(b.p.a, "tcp_timeouts"), 1);
    char c;
    assert_int_equal(pn_recv(x, &c, 1, 0), 0); /* closed: end of stream after the error */
    pn_close(x);
    pn_close(y);
    pn_close(lst);
    bp_fini(&b);
}

/* RFC 1122 §4.2.3.6: an answered probe proves the peer alive; the idle timer restarts and
 * the connection is never dropped. */
static void test_keepalive_live_peer(void **state)
{
    struct bp b;
    bp_init(&b, NULL, NULL);
    struct pn_socket *lst = listener(b.p.b, 80, 4), *x, *y;
    bp_connect(&b, lst, 0, 80, &x, &y);
    keepalive_opts(x);
    uint64_t t0 = b.p.now;
    unsigned mark = b.rec->n;
    t_pair_run(&b.p, PN_SEC(100));
    assert_int_equal(st(x), PN_TCP_ESTABLISHED);
    assert_int_equal(pn_socket_events(x) & PN_EV_ERR, 0);
    uint64_t tt[16];
    assert_int_equal(rec_find(&b, mark, PN_TCP_ACK, 0, tt, 16), 10);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(tt[i], t0 + PN_SEC(10 * (i + 1)));
    assert_int_equal(t_stat(b.p.a, "tcp_keepalive_probes"), 10);
    assert_int_equal(t_stat(b.p.a, "tcp_timeouts"), 0);
    /* Still usable. */
    struct xfer f = {.tx = x, .rx = y, .total = 10000, .seed = 5, .reading = true};
    assert_true(t_pair_run_until(&b.p, xfer_step, &f, PN_SEC(5)));
    assert_false(f.bad);
    pn_close(x);
    pn_close(y);
    pn_close(lst);
    bp_fini(&b);
}

/* ---- RTO backoff ---- */

/* RFC 6298 (5.4)-(5.6) and RFC 9293 §3.8.3 (R2): every RTO retransmits the oldest segment
 * and doubles the timer, bounded by the maximum (RFC 6298 (2.5)); after tcp_retries
 * retransmissions the connection is aborted with PN_ETIMEDOUT. */
static void test_rto_backoff_blackhole(void **state)
{
    struct pn_stack_config ca, cb;
    cfg_defaults(&ca, &cb);
    ca.tcp_rto_min_ms = 200;
    ca.tcp_rto_max_ms = 1000;
    ca.tcp_retries = 6;
    struct bp b;
    bp_init(&b, &ca, &cb);
    struct pn_socket *lst = listener(b.p.b, 80, 4), *x, *y;
    bp_connect(&b, lst, 0, 80, &x, &y);
    struct pn_tcp_info ti;
    pn_tcp_get_info(x, &ti);
    assert_int_equal(ti.rto_us, 200000); /* zero RTT: the minimum */
    blackhole(&b, true);
    uint64_t t0 = b.p.now;
    unsigned mark = b.rec->n;
    uint64_t sent = 0;
    push(x, &sent, 1000, 1);
    assert_int_equal(sent, 1000);
    assert_true(t_pair_run_until(&b.p, has_err, x, PN_SEC(60)));
    /* 200, 400, 800, then the 1000 ms cap: fires at +200, +600, +1400, +2400, +3400, +4400;
     * the 7th timeout at +5400 gives up. */
    assert_int_equal(b.p.now, t0 + PN_MS(5400));
    assert_int_equal(sock_error(x), PN_ETIMEDOUT);
    static const uint64_t want[] = {0, 200, 600, 1400, 2400, 3400, 4400};
    uint64_t tt[16];
    assert_int_equal(rec_find(&b, mark, PN_TCP_ACK, 1000, tt, 16), 7);
    for (unsigned i = 0; i < 7; i++)
        assert_int_equal(tt[i], t0 + PN_MS(want[i]));
    assert_int_equal(b.rec->n - mark, 7); /* nothing else was sent */
    assert_int_equal(t_stat(b.p.a, "tcp_retransmits"), 6);
    assert_int_equal(t_stat(b.p.a, "tcp_rto"), 7);
    assert_int_equal(t_stat(b.p.a, "tcp_timeouts"), 1);
    assert_int_equal(pn_send(x, "z", 1, 0), PN_EPIPE);
    pn_close(x);
    pn_close(y);
    pn_close(lst);
    bp_fini(&b);
}

/* RFC 6298 (5.5) applied to the SYN (RFC 9293 §3.8.3, RFC 1122 §4.2.3.5 R2 for SYN): the
 * initial RTO of 1 s doubles per retry; after tcp_syn_retries the connect fails. */
static void test_syn_retries_blackhole(void **state)
{
    struct pn_stack_config ca, cb;
    cfg_defaults(&ca, &cb);
    ca.tcp_syn_retries = 3;
    struct bp b;
    bp_init(&b, &ca, &cb);
    struct pn_socket *lst = listener(b.p.b, 80, 4), *x;
    blackhole(&b, true);
    assert_int_equal(pn_socket(b.p.a, PN_SOCK_STREAM, &x), 0);
    uint64_t t0 = b.p.now;
    assert_int_equal(pn_connect(x, &(struct pn_endpoint){T_ADDR_B, 80}), PN_EINPROGRESS);
    assert_true(t_pair_run_until(&b.p, has_err, x, PN_SEC(120)));
    assert_int_equal(b.p.now, t0 + PN_SEC(1 + 2 + 4 + 8));
    assert_int_equal(sock_error(x), PN_ETIMEDOUT);
    uint64_t tt[8];
    assert_int_equal(rec_find(&b, 0, PN_TCP_SYN, 0, tt, 8), 4);
    static const uint64_t want[] = {0, 1, 3, 7};
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(tt[i], t0 + PN_SEC(want[i]));
    assert_int_equal(t_stat(b.p.a, "tcp_timeouts"), 1);
    assert_int_equal(t_stat(b.p.b, "tcp_passive_opens"), 0);
    pn_close(x);
    pn_close(lst);
    bp_fini(&b);
}

/* RFC 9293 §3.8.3 and RFC 5482 §2: the user timeout bounds how long data may stay
 * unacknowledged; the connection is aborted when it expires, well before tcp_retries. */
static void test_user_timeout(void **state)
{
    struct pn_stack_config ca, cb;
    cfg_defaults(&ca, &cb);
    ca.tcp_rto_min_ms = 200;
    struct bp b;
    bp_init(&b, &ca, &cb);
    struct pn_socket *lst = listener(b.p.b, 80, 4), *x, *y;
    bp_connect(&b, lst, 0, 80, &x, &y);
    setint(x, PN_TCP_USER_TIMEOUT, 1000);
    blackhole(&b, true);
    uint64_t t0 = b.p.now;
    unsigned mark = b.rec->n;
    uint64_t sent = 0;
    push(x, &sent, 500, 1);
    assert_true(t_pair_run_until(&b.p, has_err, x, PN_SEC(60)));
    /* Retransmissions at +200 and +600; the next RTO (+1400) lies beyond the user timeout,
     * so the abort happens when it expires, at +1000. */
    assert_int_equal(b.p.now, t0 + PN_MS(1000));
    assert_int_equal(sock_error(x), PN_ETIMEDOUT);
    uint64_t tt[8];
    assert_int_equal(rec_find(&b, mark, PN_TCP_ACK, 500, tt, 8), 3);
    assert_int_equal(tt[1], t0 + PN_MS(200));
    assert_int_equal(tt[2], t0 + PN_MS(600));
    assert_int_equal(t_stat(b.p.a, "tcp_timeouts"), 1);
    pn_close(x);
    pn_close(y);
    pn_close(lst);
    bp_fini(&b);
}

/* ---- TIME-WAIT ---- */

/* RFC 9293 §3.4.2 / §3.6: the active closer holds the 4-tuple in TIME-WAIT for exactly
 * 2*MSL. While it does, a bind to its port fails without SO_REUSEADDR and succeeds with it;
 * a connect of that socket to the same peer is refused (PN_EADDRINUSE: this stack does not
 * reuse a TIME-WAIT 4-tuple for an active open, like Linux without tcp_tw_reuse), while a
 * connect to another peer port works. After 2*MSL the same 4-tuple connects again. */
static void test_time_wait_reuse(void **state)
{
    struct pn_stack_config ca, cb;
    cfg_defaults(&ca, &cb);
    ca.tcp_msl_ms = cb.tcp_msl_ms = 2000;
    struct bp b;
    bp_init(&b, &ca, &cb);
    struct pn_socket *lst = listener(b.p.b, 80, 4), *lst2 = listener(b.p.b, 81, 4), *x, *y;
    bp_connect(&b, lst, 40000, 80, &x, &y);
    /* A closes first (active close), B follows. */
    assert_int_equal(pn_shutdown(x, PN_SHUT_WR), 0);
    t_pair_run(&b.p, PN_MS(1));
    assert_int_equal(st(x), PN_TCP_FIN_WAIT_2);
    assert_int_equal(st(y), PN_TCP_CLOSE_WAIT);
    pn_close(y);
    uint64_t tw = b.p.now;
    assert_true(t_pair_run_until(&b.p, is_time_wait, x, PN_SEC(1)));
    assert_int_equal(b.p.now, tw);
    pn_close(x); /* the TIME-WAIT connection lives on without its handle */

    struct pn_socket *z;
    assert_int_equal(pn_socket(b.p.a, PN_SOCK_STREAM, &z), 0);
    assert_int_equal(pn_bind(z, &(struct pn_endpoint){0, 40000}), PN_EADDRINUSE);
    setint(z, PN_SO_REUSEADDR, 1);
    assert_int_equal(pn_bind(z, &(struct pn_endpoint){0, 40000}), 0);
    assert_int_equal(pn_connect(z, &(struct pn_endpoint){T_ADDR_B, 80}), PN_EADDRINUSE);
    /* Another peer port is a different 4-tuple: allowed, from the same socket. */
    assert_int_equal(pn_connect(z, &(struct pn_endpoint){T_ADDR_B, 81}), PN_EINPROGRESS);
    assert_true(t_pair_run_until(&b.p, is_established, z, PN_SEC(1)));
    assert_int_equal(b.p.now, tw);
    struct pn_socket *y1;
    assert_true(t_pair_run_until(&b.p, has_in, lst2, PN_SEC(1)));
    assert_int_equal(pn_accept(lst2, &y1, NULL), 0);
    /* A live socket on the port now: REUSEADDR does not let a third one bind beside it
     * (BSD semantics; Linux would allow two non-listening REUSEADDR sockets). */
    struct pn_socket *z3;
    assert_int_equal(pn_socket(b.p.a, PN_SOCK_STREAM, &z3), 0);
    setint(z3, PN_SO_REUSEADDR, 1);
    assert_int_equal(pn_bind(z3, &(struct pn_endpoint){0, 40000}), PN_EADDRINUSE);
    struct pn_linger lg = {1, 0};
    assert_int_equal(pn_setsockopt(z, PN_SO_LINGER, &lg, sizeof(lg)), 0);
    pn_close(z); /* RST: no second TIME-WAIT on the port */
    t_pair_run(&b.p, PN_MS(1));
    assert_int_equal(st(y1), PN_TCP_CLOSED);
    pn_close(y1);
    assert_int_equal(pn_bind(z3, &(struct pn_endpoint){0, 40000}), 0);

    /* TIME-WAIT lasts exactly 2*MSL = 4 s. */
    t_pair_run(&b.p, tw + PN_MS(4000) - PN_MS(1) - b.p.now);
    assert_non_null(pn_tcp_lookup(b.p.a, T_ADDR_A, 40000, T_ADDR_B, 80));
    assert_int_equal(pn_connect(z3, &(struct pn_endpoint){T_ADDR_B, 80}), PN_EADDRINUSE);
    t_pair_run(&b.p, PN_MS(1));
    assert_int_equal(b.p.now, tw + PN_MS(4000));
    assert_null(pn_tcp_lookup(b.p.a, T_ADDR_A, 40000, T_ADDR_B, 80));
    assert_int_equal(pn_connect(z3, &(struct pn_endpoint){T_ADDR_B, 80}), PN_EINPROGRESS);
    assert_true(t_pair_run_until(&b.p, is_established, z3, PN_SEC(1)));
    struct pn_socket *y2;
    assert_true(t_pair_run_until(&b.p, has_in, lst, PN_SEC(1)));
    assert_int_equal(pn_accept(lst, &y2, NULL), 0);
    struct xfer f = {.tx = z3, .rx = y2, .total = 5000, .seed = 9, .reading = true};
    assert_true(t_pair_run_until(&b.p, xfer_step, &f, PN_SEC(5)));
    assert_false(f.bad);
    pn_close(z3);
    pn_close(y2);
    pn_close(lst);
    pn_close(lst2);
    bp_fini(&b);
}

/* RFC 6191 §2 (and RFC 9293 §3.6.1): a server in TIME-WAIT accepts a new SYN for the same
 * 4-tuple when it is clearly from a new incarnation: when both incarnations use timestamps,
 * by a TSval greater than the last one seen (whatever its sequence number); otherwise by a
 * sequence number above the old RCV.NXT. Anything else is not honoured: TIME-WAIT stays and
 * the SYN gets an ACK (here by PAWS, RFC 7323 §5.3, or as an unacceptable segment, RFC 9293
 * §3.10.7.4 "first"). The old connection
 * moves 1 MB, more than the ISN clock (250,000 per second, RFC 6528) advances in the 1 s
 * before the reconnect, so only the timestamp can tell the incarnations apart. */
static void test_time_wait_rfc6191_reopen(void **state)
{
    struct bp b;
    bp_init(&b, NULL, NULL);
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    assert_non_null(pool);
    struct pn_socket *lst = listener(b.p.b, 80, 4), *x, *y;
    bp_connect(&b, lst, 40001, 80, &x, &y);
    struct xfer f = {.tx = x, .rx = y, .total = 1u << 20, .seed = 4, .reading = true};
    assert_true(t_pair_run_until(&b.p, xfer_step, &f, PN_SEC(5)));
    assert_false(f.bad);
    /* The server closes first: it is B that holds TIME-WAIT. */
    pn_close(y);
    t_pair_run(&b.p, PN_MS(1));
    assert_int_equal(st(x), PN_TCP_CLOSE_WAIT);
    pn_close(x);
    t_pair_run(&b.p, PN_MS(1));
    struct pn_tcb *tw = pn_tcp_lookup(b.p.b, T_ADDR_B, 80, T_ADDR_A, 40001);
    assert_non_null(tw);
    assert_int_equal(tw->state, PN_TCP_TIME_WAIT);
    assert_true(tw->ts_ok);
    uint32_t old_rcv_nxt = tw->rcv_nxt, old_ts = tw->ts_recent;
    t_pair_run(&b.p, PN_SEC(1));

    /* Not newer: a higher sequence number but an older timestamp. Dropped, TIME-WAIT kept,
     * answered with an ACK. (Stack A must not hear that ACK: it has no such connection and
     * would answer with a RST, which ends TIME-WAIT as RFC 9293 §3.10.7.4 prescribes.) */
    assert_int_equal(pn_link_fault_blackhole(b.fault, false, true), 0);
    uint64_t paws = t_stat(b.p.b, "tcp_rx_paws_rejected"), tx = t_stat(b.p.b, "tcp_tx");
    struct pn_tcp_repr r = {.src_port = 40001,
                            .dst_port = 80,
                            .seq = old_rcv_nxt + 100000,
                            .flags = PN_TCP_SYN,
                            .window = 65535,
                            .has_mss = true,
                            .mss = 1460,
                            .has_ts = true,
                            .ts_val = old_ts - 1};
    inject_to_b(&b, pool, &r);
    t_pair_run(&b.p, PN_MS(1));
    tw = pn_tcp_lookup(b.p.b, T_ADDR_B, 80, T_ADDR_A, 40001);
    assert_non_null(tw);
    assert_int_equal(tw->state, PN_TCP_TIME_WAIT);
    assert_int_equal(t_stat(b.p.b, "tcp_passive_opens"), 1);
    assert_int_equal(t_stat(b.p.b, "tcp_rx_paws_rejected"), paws + 1); /* RFC 7323 §5.3 */
    assert_int_equal(t_stat(b.p.b, "tcp_tx"), tx + 1);
    /* Not newer either: no timestamp, and a sequence number below the old RCV.NXT. */
    r.has_ts = false;
    r.seq = old_rcv_nxt - 1;
    inject_to_b(&b, pool, &r);
    t_pair_run(&b.p, PN_MS(1));
    assert_non_null(pn_tcp_lookup(b.p.b, T_ADDR_B, 80, T_ADDR_A, 40001));
    assert_int_equal(t_stat(b.p.b, "tcp_passive_opens"), 1);
    assert_int_equal(t_stat(b.p.b, "tcp_tx"), tx + 2);

    blackhole(&b, false);
    /* A real reconnect from the same port: its timestamp clock continues the old one. */
    struct pn_socket *z, *y2;
    uint64_t t1 = b.p.now;
    unsigned mark = b.rec->n;
    bp_connect(&b, lst, 40001, 80, &z, &y2);
    assert_int_equal(b.p.now, t1); /* honoured at once: no SYN retransmission */
    uint64_t tt[4];
    assert_int_equal(rec_find(&b, mark, PN_TCP_SYN, 0, tt, 4), 1);
    assert_true(seq_lt(b.rec->ev[mark].seq, old_rcv_nxt)); /* the ISN alone would not do */
    assert_int_equal(t_stat(b.p.b, "tcp_passive_opens"), 2);
    assert_int_equal(t_stat(b.p.a, "tcp_retransmits"), 0);
    struct xfer f2 = {.tx = z, .rx = y2, .total = 3000, .seed = 5, .reading = true};
    assert_true(t_pair_run_until(&b.p, xfer_step, &f2, PN_SEC(5)));
    assert_false(f2.bad);
    pn_close(z);
    pn_close(y2);
    pn_close(lst);
    bp_fini(&b);
    assert_int_equal(pn_pbuf_pool_free(pool), 0);
}

/* ---- half-close, abortive close, RST ---- */

/* RFC 9293 §3.6 and RFC 1122 §4.2.2.13: after A shuts down writing, B can keep sending and
 * A receives every byte; A sees end of stream only after B closes too. */
static void test_half_close(void **state)
{
    struct bp b;
    bp_init(&b, NULL, NULL);
    struct pn_socket *lst = listener(b.p.b, 80, 4), *x, *y;
    bp_connect(&b, lst, 0, 80, &x, &y);
    assert_int_equal(pn_shutdown(x, PN_SHUT_WR), 0);
    t_pair_run(&b.p, PN_MS(1));
    assert_int_equal(st(x), PN_TCP_FIN_WAIT_2);
    assert_int_equal(st(y), PN_TCP_CLOSE_WAIT);
    char c;
    assert_int_equal(pn_recv(y, &c, 1, 0), 0);
    assert_int_equal(pn_send(x, "a", 1, 0), PN_EPIPE);
    struct xfer f = {.tx = y, .rx = x, .total = 1u << 20, .seed = 11, .reading = true};
    assert_true(t_pair_run_until(&b.p, xfer_step, &f, PN_SEC(30)));
    assert_false(f.bad);
    assert_false(f.eof);
    assert_int_equal(st(x), PN_TCP_FIN_WAIT_2);
    assert_int_equal(pn_recv(x, &c, 1, 0), PN_EAGAIN);
    assert_int_equal(pn_shutdown(y, PN_SHUT_WR), 0);
    assert_true(t_pair_run_until(&b.p, is_closed, y, PN_SEC(1)));
    assert_int_equal(pn_recv(x, &c, 1, 0), 0);
    assert_int_equal(st(x), PN_TCP_TIME_WAIT);
    assert_int_equal(t_stat(b.p.a, "tcp_tx_rst") + t_stat(b.p.b, "tcp_tx_rst"), 0);
    pn_close(x);
    pn_close(y);
    pn_close(lst);
    bp_fini(&b);
}

/* RFC 9293 §3.10.4 (ABORT: <SEQ=SND.NXT><CTL=RST>) and §3.10.7.4 "second": SO_LINGER 0
 * makes close send one RST at once, no FIN, discarding unacknowledged data and skipping
 * TIME-WAIT. Here 1000 bytes were lost on the way, so the RST's SEQ lies 1000 past the
 * peer's RCV.NXT: in the window but not exact, the peer answers with a challenge ACK (RFC
 * 5961 §3.2), which A (no connection any more) answers with a RST at exactly RCV.NXT; that
 * one resets the peer, whose recv fails with PN_ECONNRESET, all at the same instant. */
static void test_linger_zero_rst(void **state)
{
    struct bp b;
    bp_init(&b, NULL, NULL);
    struct pn_socket *lst = listener(b.p.b, 80, 4), *x, *y;
    bp_connect(&b, lst, 40002, 80, &x, &y);
    struct pn_linger lg = {1, 0};
    assert_int_equal(pn_setsockopt(x, PN_SO_LINGER, &lg, sizeof(lg)), 0);
    blackhole(&b, true);
    uint64_t sent = 0;
    push(x, &sent, 1000, 2);
    blackhole(&b, false);
    uint64_t t0 = b.p.now;
    unsigned mark = b.rec->n;
    pn_close(x);
    assert_int_equal(b.rec->n - mark, 1);
    assert_int_equal(b.rec->ev[mark].flags & (PN_TCP_RST | PN_TCP_FIN | PN_TCP_SYN), PN_TCP_RST);
    assert_int_equal(b.rec->ev[mark].len, 0);
    uint32_t rst_seq = b.rec->ev[mark].seq;
    assert_true(t_pair_run_until(&b.p, has_err, y, PN_SEC(1)));
    assert_int_equal(b.p.now, t0);
    assert_int_equal(b.rec->n - mark, 2);
    assert_int_equal(b.rec->ev[mark + 1].flags & PN_TCP_RST, PN_TCP_RST);
    assert_int_equal(b.rec->ev[mark + 1].seq, rst_seq - 1000);
    assert_int_equal(t_stat(b.p.b, "tcp_challenge_ack"), 1);
    assert_int_equal(t_stat(b.p.a, "tcp_rx_no_socket"), 1);
    char c;
    assert_int_equal(pn_recv(y, &c, 1, 0), PN_ECONNRESET);
    assert_int_equal(st(y), PN_TCP_CLOSED);
    assert_int_equal(t_stat(b.p.b, "tcp_conn_reset"), 1);
    /* No TIME-WAIT: the port is free at once. */
    assert_null(pn_tcp_lookup(b.p.a, T_ADDR_A, 40002, T_ADDR_B, 80));
    struct pn_socket *z;
    assert_int_equal(pn_socket(b.p.a, PN_SOCK_STREAM, &z), 0);
    assert_int_equal(pn_bind(z, &(struct pn_endpoint){0, 40002}), 0);
    pn_close(z);
    pn_close(y);
    pn_close(lst);
    bp_fini(&b);
}

/* RFC 9293 §3.10.7.4 "second" and RFC 2525 §2.17: a peer closing with unread data resets
 * the connection; recv, then send, report PN_ECONNRESET / the closed connection. */
static void test_peer_rst(void **state)
{
    struct bp b;
    bp_init(&b, NULL, NULL);
    struct pn_socket *lst = listener(b.p.b, 80, 4), *x, *y;
    bp_connect(&b, lst, 0, 80, &x, &y);
    assert_int_equal(pn_send(x, "hello", 5, 0), 5);
    t_pair_run(&b.p, PN_MS(100));
    assert_true(pn_socket_events(y) & PN_EV_IN);
    pn_close(y); /* 5 unread bytes: abortive */
    assert_true(t_pair_run_until(&b.p, has_err, x, PN_SEC(1)));
    char c;
    assert_int_equal(pn_recv(x, &c, 1, 0), PN_ECONNRESET);
    assert_int_equal(st(x), PN_TCP_CLOSED);
    assert_int_equal(pn_send(x, "a", 1, 0), PN_EPIPE);
    assert_int_equal(t_stat(b.p.a, "tcp_conn_reset"), 1);
    assert_int_equal(t_stat(b.p.b, "tcp_tx_rst"), 1);
    pn_close(x);
    pn_close(lst);
    bp_fini(&b);
}

/* ---- many connections ---- */

#define MANY 2500

struct many {
    struct pn_socket *lst;
    struct pn_socket *cli[MANY], *srv[MANY];
    unsigned nsrv;
};

static void many_accept_cb(struct pn_socket *sk, unsigned ev, void *arg)
{
    struct many *m = arg;
    struct pn_socket *c;
    while (m->nsrv < MANY && pn_accept(sk, &c, NULL) == 0)
        m->srv[m->nsrv++] = c;
}

static int many_all_accepted(void *arg)
{
    return ((struct many *)arg)->nsrv == MANY;
}

/* RFC 6056 §3.3.3 ephemeral ports and the 4-tuple demultiplexing of RFC 9293 §3.4: 2,500
 * concurrent connections between the two stacks (enough to grow the 1024-bucket tables),
 * each with its own port and its own message delivered intact. */
static void test_many_connections(void **state)
{
    struct pn_stack_config ca, cb;
    cfg_defaults(&ca, &cb);
    ca.tcp_sndbuf = cb.tcp_sndbuf = 8192;
    ca.tcp_rcvbuf = cb.tcp_rcvbuf = 8192;
    cb.tcp_max_syn_backlog = 4096;
    struct bp b;
    bp_init(&b, &ca, &cb);
    struct many *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->lst = listener(b.p.b, 80, 4096);
    pn_socket_set_callback(m->lst, many_accept_cb, m);
    for (unsigned i = 0; i < MANY; i++) {
        assert_int_equal(pn_socket(b.p.a, PN_SOCK_STREAM, &m->cli[i]), 0);
        assert_int_equal(pn_connect(m->cli[i], &(struct pn_endpoint){T_ADDR_B, 80}),
                         PN_EINPROGRESS);
        if (i % 256 == 255)
            t_pair_run(&b.p, 0); /* keep the loop queue short */
    }
    assert_true(t_pair_run_until(&b.p, many_all_accepted, m, PN_SEC(5)));
    assert_int_equal(t_stat(b.p.b, "tcp_syncookies_sent"), 0);
    assert_int_equal(t_stat(b.p.a, "tcp_retransmits"), 0);
    assert_true(b.p.a->tcp.nbuckets >= 2048);
    assert_true(b.p.b->tcp.nbuckets >= 2048);
    /* Distinct ephemeral ports in the RFC 6335 range. */
    static uint8_t used[65536];
    memset(used, 0, sizeof(used));
    for (unsigned i = 0; i < MANY; i++) {
        struct pn_endpoint ep;
        assert_int_equal(pn_getsockname(m->cli[i], &ep), 0);
        assert_true(ep.port >= 49152);
        assert_int_equal(used[ep.port], 0);
        used[ep.port] = 1;
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "hello from %u", (unsigned)ep.port);
        assert_int_equal(pn_send(m->cli[i], msg, (size_t)n, 0), n);
    }
    t_pair_run(&b.p, PN_MS(100));
    for (unsigned i = 0; i < MANY; i++) {
        struct pn_endpoint ep;
        assert_int_equal(pn_getpeername(m->srv[i], &ep), 0);
        char msg[32], want[32];
        int n = snprintf(want, sizeof(want), "hello from %u", (unsigned)ep.port);
        assert_int_equal(pn_recv(m->srv[i], msg, sizeof(msg), 0), n);
        assert_memory_equal(msg, want, (size_t)n);
        assert_int_equal(pn_send(m->srv[i], msg, (size_t)n, 0), n);
    }
    t_pair_run(&b.p, PN_MS(100));
    for (unsigned i = 0; i < MANY; i++) {
        struct pn_endpoint ep;
        assert_int_equal(pn_getsockname(m->cli[i], &ep), 0);
        char msg[32], want[32];
        int n = snprintf(want, sizeof(want), "hello from %u", (unsigned)ep.port);
        assert_int_equal(pn_recv(m->cli[i], msg, sizeof(msg), 0), n);
        assert_memory_equal(msg, want, (size_t)n);
    }
    assert_int_equal(t_stat(b.p.a, "pbuf_alloc_failed") + t_stat(b.p.b, "pbuf_alloc_failed"), 0);
    /* Close them all gracefully; the lookups after rehashing must still find every one. */
    for (unsigned i = 0; i < MANY; i++)
        pn_close(m->cli[i]);
    t_pair_run(&b.p, PN_MS(10));
    for (unsigned i = 0; i < MANY; i++) {
        assert_int_equal(st(m->srv[i]), PN_TCP_CLOSE_WAIT);
        pn_close(m->srv[i]);
    }
    t_pair_run(&b.p, PN_MS(10));
    assert_int_equal(b.p.b->tcp.count, 0);
    assert_int_equal(b.p.a->tcp.count, MANY); /* all in TIME-WAIT */
    assert_int_equal(t_stat(b.p.a, "tcp_tx_rst") + t_stat(b.p.b, "tcp_tx_rst"), 0);
    pn_close(m->lst);
    free(m);
    bp_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simultaneous_open),
        cmocka_unit_test(test_simultaneous_close),
        cmocka_unit_test(test_backlog_syncookies),
        cmocka_unit_test(test_zero_window_persist),
        cmocka_unit_test(test_small_window_lost_update),
        cmocka_unit_test(test_zero_window_user_timeout),
        cmocka_unit_test(test_keepalive_dead_peer),
        cmocka_unit_test(test_keepalive_live_peer),
        cmocka_unit_test(test_rto_backoff_blackhole),
        cmocka_unit_test(test_syn_retries_blackhole),
        cmocka_unit_test(test_user_timeout),
        cmocka_unit_test(test_time_wait_reuse),
        cmocka_unit_test(test_time_wait_rfc6191_reopen),
        cmocka_unit_test(test_half_close),
        cmocka_unit_test(test_linger_zero_rst),
        cmocka_unit_test(test_peer_rst),
        cmocka_unit_test(test_many_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
