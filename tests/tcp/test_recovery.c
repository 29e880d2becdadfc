/* tests/tcp/test_recovery.c — loss recovery under scripted loss (RFC 6675 with PRR, RFC 3042,
 * RFC 6298): a test link drops chosen data segments of A's transfer by their position in the
 * stream, and records every data segment A sends, so each test checks exactly which
 * segments were retransmitted and how (fast retransmit vs timeout). */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

#define SEG 1448u /* payload per segment with timestamps at MTU 1500 */
#define MAXLOG 4096

/* A wrapper over one loop end that drops selected frames and logs data segments. */
struct droplink {
    struct pn_link link; /* first */
    struct pn_link *inner;
    uint32_t isn;        /* of the data direction, learned from the SYN */
    bool have_isn;
    int drop_data[16][2]; /* {segment index, transmissions of it to drop (1 = first only)} */
    int ndrop;
    int drop_acks_every;  /* drop every Nth pure ACK (0 = none) */
    int hold_idx;         /* delay this segment's first transmission (-1 = none) ... */
    int hold_after;       /* ... until this many later data segments have gone */
    struct pn_pbuf *held;
    int held_count;
    int acks_seen;
    uint32_t log[MAXLOG]; /* segment index of every data transmission, in order */
    int nlog;
    int sent_count[MAXLOG];
};

static bool frame_tcp(const struct pn_pbuf *p, struct pn_tcp_repr *r)
{
    struct pn_eth_repr e;
    struct pn_ipv4_repr ip;
    if (pn_eth_parse(p->data, p->len, &e) || e.ethertype != PN_ETHERTYPE_IPV4)
        return false;
    if (pn_ipv4_parse(p->data + 14, p->len - 14, &ip, false) || ip.proto != PN_IP_PROTO_TCP)
        return false;
    return pn_tcp_parse(p->data + 14 + ip.hdr_len, ip.payload_len, ip.src, ip.dst, r, false) ==
           0;
}

static int dl_tx(struct pn_link *l, struct pn_pbuf **f, int n, uint64_t now)
{
    struct droplink *d = (struct droplink *)l;
    struct pn_pbuf *keep[64];
    int k = 0;
    for (int i = 0; i < n; i++) {
        struct pn_tcp_repr r;
        bool drop = false;
        if (frame_tcp(f[i], &r)) {
            if (r.flags & PN_TCP_SYN) {
                d->isn = r.seq;
                d->have_isn = true;
            } else if (r.payload_len && d->have_isn) {
                uint32_t idx = (r.seq - d->isn - 1) / SEG;
                if (d->nlog < MAXLOG)
                    d->log[d->nlog++] = idx;
                int nth = idx < MAXLOG ? ++d->sent_count[idx] : 0;
                for (int j = 0; j < d->ndrop; j++)
                    if (d->drop_data[j][0] == (int)idx && nth <= d->drop_data[j][1])
                        drop = true;
                if (d->held && ++d->held_count == d->hold_after) {
                    keep[k++] = d->held; /* release the held segment: now reordered */
                    d->held = NULL;
                }
                if ((int)idx == d->hold_idx && nth == 1) {
                    d->held = f[i];
                    d->held_count = 0;
                    continue;
                }
            } else if (r.payload_len == 0 && !(r.flags & (PN_TCP_FIN | PN_TCP_RST)) &&
                       d->drop_acks_every && ++d->acks_seen % d->drop_acks_every == 0) {
                drop = true;
            }
        }
        if (drop)
            pn_pbuf_free(f[i]);
        else
            keep[k++] = f[i];
    }
    if (k)
        d->inner->ops->tx_burst(d->inner, keep, k, now);
    return n;
}

static int dl_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                 uint64_t now)
{
    struct droplink *d = (struct droplink *)l;
    return d->inner->ops->rx_burst(d->inner, pool, out, max, now);
}

static uint64_t dl_deadline(struct pn_link *l)
{
    return pn_link_next_deadline(((struct droplink *)l)->inner);
}

static const struct pn_link_ops dl_ops = {
    .name = "drop", .rx_burst = dl_rx, .tx_burst = dl_tx, .next_deadline = dl_deadline};

struct rig {
    struct pn_link *la, *lb;
    struct droplink da, db; /* A's and B's transmit filters */
    struct pn_stack *a, *b;
    struct pn_socket *cli, *srv, *lst;
    uint64_t now;
    uint64_t sent, recvd, total;
};

/* delay_ms > 0 puts a fault wrapper with that one-way delay (each direction) under A. */
static void rig_init_delay(struct rig *g, unsigned delay_ms)
{
    memset(g, 0, sizeof(*g));
    assert_int_equal(pn_link_loop_pair(1500, 0, &g->la, &g->lb), 0);
    if (delay_ms) {
        struct pn_fault_config fc;
        memset(&fc, 0, sizeof(fc));
        fc.tx.delay_ns = fc.rx.delay_ns = PN_MS(delay_ms);
        struct pn_link *w;
        assert_int_equal(pn_link_fault_wrap(g->la, &fc, 1, &w), 0);
        g->la = w;
    }
    g->da.link.ops = g->db.link.ops = &dl_ops;
    g->da.link.caps = g->la->caps;
    g->db.link.caps = g->lb->caps;
    g->da.inner = g->la;
    g->da.hold_idx = g->db.hold_idx = -1;
    g->db.inner = g->lb;
    struct pn_stack_config ca, cb;
    t_config(&ca, T_ADDR_A, &T_MAC_A);
    t_config(&cb, T_ADDR_B, &T_MAC_B);
    ca.tcp_initial_window = 10; /* a window large enough to show the algorithm */
    g->now = PN_SEC(1);
    assert_int_equal(pn_stack_new(&ca, &g->da.link, g->now, &g->a), 0);
    assert_int_equal(pn_stack_new(&cb, &g->db.link, g->now, &g->b), 0);
}

static void rig_init(struct rig *g)
{
    rig_init_delay(g, 0);
}

static void rig_fini(struct rig *g)
{
    if (g->cli)
        pn_close(g->cli);
    if (g->srv)
        pn_close(g->srv);
    if (g->lst)
        pn_close(g->lst);
    pn_stack_free(g->a);
    pn_stack_free(g->b);
    pn_link_destroy(g->la);
    pn_link_destroy(g->lb);
}

static void rig_step(struct rig *g)
{
    static uint8_t buf[65536];
    if (!g->srv && g->lst)
        pn_accept(g->lst, &g->srv, NULL);
    while (g->sent < g->total) {
        size_t n = g->total - g->sent < sizeof(buf) ? (size_t)(g->total - g->sent) : sizeof(buf);
        memset(buf, (int)(g->sent & 0xff), n);
        long r = pn_send(g->cli, buf, n, 0);
        if (r <= 0)
            break;
        g->sent += (uint64_t)r;
    }
    long r;
    while (g->srv && (r = pn_recv(g->srv, buf, sizeof(buf), 0)) > 0)
        g->recvd += (uint64_t)r;
}

/* Connects, then sends `segs` full segments from A and runs until B has them all. */
static void rig_transfer(struct rig *g, unsigned segs)
{
    assert_int_equal(pn_socket(g->b, PN_SOCK_STREAM, &g->lst), 0);
    assert_int_equal(pn_bind(g->lst, &(struct pn_endpoint){0, 80}), 0);
    assert_int_equal(pn_listen(g->lst, 4), 0);
    assert_int_equal(pn_socket(g->a, PN_SOCK_STREAM, &g->cli), 0);
    int big = 1 << 20;
    pn_setsockopt(g->cli, PN_SO_SNDBUF, &big, sizeof(big));
    assert_int_equal(pn_connect(g->cli, &(struct pn_endpoint){T_ADDR_B, 80}), PN_EINPROGRESS);
    g->total = (uint64_t)segs * SEG;
    for (long guard = 0; guard < 10000000 && g->recvd < g->total; guard++) {
        pn_stack_poll(g->a, g->now);
        pn_stack_poll(g->b, g->now);
        rig_step(g);
        uint64_t x = pn_stack_next_deadline(g->a), y = pn_stack_next_deadline(g->b);
        uint64_t next = x < y ? x : y;
        if (next > g->now && next != PN_TIME_NEVER)
            g->now = next;
        assert_true(g->now < PN_SEC(600));
    }
    assert_int_equal(g->recvd, g->total);
    /* Let the last ACKs reach A so its counters are final. */
    uint64_t end = g->now + PN_SEC(1);
    while (g->now < end) {
        pn_stack_poll(g->a, g->now);
        pn_stack_poll(g->b, g->now);
        uint64_t x = pn_stack_next_deadline(g->a), y = pn_stack_next_deadline(g->b);
        uint64_t next = x < y ? x : y;
        g->now = next > g->now && next < end ? next : (next <= g->now ? g->now : end);
        if (next <= g->now && next != PN_TIME_NEVER)
            continue;
    }
}

static int times_sent(const struct rig *g, uint32_t idx)
{
    return g->da.sent_count[idx];
}

static void expect_only_retransmitted(const struct rig *g, unsigned segs, const int *which, int n)
{
    for (uint32_t i = 0; i < segs; i++) {
        int want = 1;
        for (int j = 0; j < n; j++)
            if (which[j] == (int)i)
                want = 2;
        if (times_sent(g, i) != want)
            fail_msg("segment %u sent %d times, want %d", i, times_sent(g, i), want);
    }
}

static void test_single_loss(void **state)
{
    struct rig g;
    rig_init(&g);
    g.da.drop_data[0][0] = 30;
    g.da.drop_data[0][1] = 1;
    g.da.ndrop = 1;
    rig_transfer(&g, 100);
    int which[] = {30};
    expect_only_retransmitted(&g, 100, which, 1);
    assert_int_equal(t_stat(g.a, "tcp_fast_retransmit"), 1);
    assert_int_equal(t_stat(g.a, "tcp_rto"), 0);
    assert_int_equal(t_stat(g.a, "tcp_retransmits"), 1);
    rig_fini(&g);
}

static void test_burst_loss_one_recovery(void **state)
{
    struct rig g;
    rig_init(&g);
    int which[] = {40, 41, 42, 43, 44};
    for (int i = 0; i < 5; i++) {
        g.da.drop_data[i][0] = which[i];
        g.da.drop_data[i][1] = 1;
    }
    g.da.ndrop = 5;
    rig_transfer(&g, 120);
    /* With SACK every hole is known in the first RTT of recovery: each lost segment is
     * resent exactly once, in a single recovery episode, without a timeout. */
    expect_only_retransmitted(&g, 120, which, 5);
    assert_int_equal(t_stat(g.a, "tcp_fast_retransmit"), 1);
    assert_int_equal(t_stat(g.a, "tcp_rto"), 0);
    rig_fini(&g);
}

static void test_scattered_losses(void **state)
{
    struct rig g;
    rig_init(&g);
    int which[] = {25, 27, 29, 31};
    for (int i = 0; i < 4; i++) {
        g.da.drop_data[i][0] = which[i];
        g.da.drop_data[i][1] = 1;
    }
    g.da.ndrop = 4;
    rig_transfer(&g, 100);
    expect_only_retransmitted(&g, 100, which, 4);
    assert_int_equal(t_stat(g.a, "tcp_rto"), 0);
    rig_fini(&g);
}

static void test_lost_retransmission(void **state)
{
    struct rig g;
    rig_init(&g);
    g.da.drop_data[0][0] = 30;
    g.da.drop_data[0][1] = 2; /* the original and the fast retransmission */
    g.da.ndrop = 1;
    rig_transfer(&g, 100);
    /* RFC 6675 alone repairs a lost retransmission only by timeout. SACKs for data sent
     * after the retransmission show it was lost: it is resent at once, with no RTO. */
    assert_int_equal(times_sent(&g, 30), 3);
    assert_int_equal(t_stat(g.a, "tcp_lost_retransmits"), 1);
    assert_int_equal(t_stat(g.a, "tcp_rto"), 0);
    rig_fini(&g);
}

static void test_ack_loss_needs_no_retransmission(void **state)
{
    struct rig g;
    rig_init(&g);
    g.db.drop_acks_every = 2; /* half of B's ACKs vanish */
    rig_transfer(&g, 100);
    /* Cumulative ACKs cover for the lost ones: nothing is resent by loss recovery. Only if
     * the very last ACK is lost does the tail loss probe resend the last segment once. */
    for (uint32_t i = 0; i < 99; i++)
        assert_int_equal(times_sent(&g, i), 1);
    assert_true(times_sent(&g, 99) <= 2);
    assert_int_equal(t_stat(g.a, "tcp_retransmits"), (uint64_t)times_sent(&g, 99) - 1);
    assert_int_equal(t_stat(g.a, "tcp_rto"), 0);
    assert_int_equal(t_stat(g.a, "tcp_fast_retransmit"), 0);
    rig_fini(&g);
}

static void test_reordering_undone(void **state)
{
    struct rig g;
    rig_init_delay(&g, 5); /* timestamps need distinct milliseconds to tell copies apart */
    /* Segment 30 arrives after 4 later ones: SACK marks it lost and it is resent, but the
     * original arrives first; the ACK covering it echoes the original's timestamp, which
     * is older than the retransmission's (RFC 3522 §3.2): the reduction is undone
     * (RFC 4015). */
    g.da.hold_idx = 30;
    g.da.hold_after = 4;
    rig_transfer(&g, 100);
    assert_int_equal(times_sent(&g, 30), 2);
    assert_int_equal(t_stat(g.a, "tcp_fast_retransmit"), 1);
    assert_int_equal(t_stat(g.a, "tcp_spurious_undo"), 1);
    struct pn_tcp_info ti;
    pn_tcp_get_info(g.cli, &ti);
    assert_true(ti.ssthresh > 64u * 1024u); /* not left at half the window */
    rig_fini(&g);
}

static void test_tail_loss_probe(void **state)
{
    struct rig g;
    rig_init_delay(&g, 5);
    /* The last segment of the transfer is lost: no later segment can produce duplicate
     * ACKs. The tail loss probe (RFC 8985 §7) resends it about two RTTs later instead of
     * waiting for the retransmission timeout (at least 1 s). */
    g.da.drop_data[0][0] = 59;
    g.da.drop_data[0][1] = 1;
    g.da.ndrop = 1;
    rig_transfer(&g, 60);
    int which[] = {59};
    expect_only_retransmitted(&g, 60, which, 1);
    assert_int_equal(t_stat(g.a, "tcp_rto"), 0);
    assert_true(t_stat(g.a, "tcp_tlp_probes") >= 1);
    assert_int_equal(t_stat(g.a, "tcp_tlp_recoveries"), 1);
    rig_fini(&g);
}

static void test_limited_transmit(void **state)
{
    struct rig g;
    rig_init(&g);
    /* Lose the 2nd segment of the initial window of 10: the duplicate ACKs for 3..10 clock
     * out new data (RFC 3042) rather than leaving the link idle. */
    g.da.drop_data[0][0] = 1;
    g.da.drop_data[0][1] = 1;
    g.da.ndrop = 1;
    rig_transfer(&g, 20);
    int which[] = {1};
    expect_only_retransmitted(&g, 20, which, 1);
    assert_int_equal(t_stat(g.a, "tcp_rto"), 0);
    rig_fini(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_loss),
        cmocka_unit_test(test_burst_loss_one_recovery),
        cmocka_unit_test(test_scattered_losses),
        cmocka_unit_test(test_lost_retransmission),
        cmocka_unit_test(test_ack_loss_needs_no_retransmission),
        cmocka_unit_test(test_limited_transmit),
        cmocka_unit_test(test_reordering_undone),
        cmocka_unit_test(test_tail_loss_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
