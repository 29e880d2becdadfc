/* tests/tcp/test_tcp_sndq.c — the send queue (src/tcp/sndq.c, issue #4 "touch each payload
 * byte once on send"): on a loss-free transfer the send path copies and sums each payload
 * byte exactly once (tcp_tx_bytes_touched == tcp_tx_bytes == bytes written), at MSS 1460
 * and with large segments; whole-segment retransmissions reuse the queued bytes and their
 * stored sum; odd write sizes and partial segments still carry correct checksums. Every
 * frame crosses a link that makes the receiver verify checksums (the plain loop link lets
 * it skip them), so a wrong stored or derived sum is caught as tcp_rx_bad_checksum.
 * Call chain: test -> pn_send -> sndq.c / output.c -> verifying link -> loop link -> peer. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "plebnet/fault.h"
#include "core/stack.h"

/* ---- a link wrapper that withholds the "checksums correct" mark ---- */
struct vlink {
    struct pn_link link; /* must be first */
    struct pn_link *inner;
};

static int v_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                uint64_t now)
{
    struct vlink *v = (struct vlink *)l;
    return v->inner->ops->rx_burst(v->inner, pool, out, max, now);
}

static int v_tx(struct pn_link *l, struct pn_pbuf **frames, int n, uint64_t now)
{
    struct vlink *v = (struct vlink *)l;
    for (int i = 0; i < n; i++)
        frames[i]->flags &= ~PN_PBUF_F_CSUM_OK; /* the receiver must verify */
    return v->inner->ops->tx_burst(v->inner, frames, n, now);
}

static uint64_t v_deadline(struct pn_link *l)
{
    return pn_link_next_deadline(((struct vlink *)l)->inner);
}

static void v_destroy(struct pn_link *l)
{
    pn_link_destroy(((struct vlink *)l)->inner);
    free(l);
}

static const struct pn_link_ops v_ops = {
    .name = "verify",
    .rx_burst = v_rx,
    .tx_burst = v_tx,
    .next_deadline = v_deadline,
    .destroy = v_destroy,
};

static struct pn_link *vlink_wrap(struct pn_link *inner)
{
    struct vlink *v = calloc(1, sizeof(*v));
    assert_non_null(v);
    v->link.ops = &v_ops;
    v->link.caps = inner->caps;
    v->inner = inner;
    return &v->link;
}

/* ---- two stacks, A's frames optionally through a lossy fault wrapper ---- */
static void pair_up(struct t_pair *p, bool large, double loss)
{
    struct pn_stack_config a, b;
    t_config(&a, T_ADDR_A, &T_MAC_A);
    t_config(&b, T_ADDR_B, &T_MAC_B);
    struct pn_link *la, *lb;
    assert_int_equal(pn_link_loop_pair(1500, 0, &la, &lb), 0);
    pn_link_loop_set_large(la, large);
    pn_link_loop_set_large(lb, large);
    p->la = vlink_wrap(la);
    p->lb = vlink_wrap(lb);
    if (loss > 0) {
        struct pn_fault_config fc;
        memset(&fc, 0, sizeof(fc));
        fc.tx.loss = loss;
        struct pn_link *raw = p->la;
        assert_int_equal(pn_link_fault_wrap(raw, &fc, 7, &p->la), 0);
    }
    p->now = PN_SEC(1);
    assert_int_equal(pn_stack_new(&a, p->la, p->now, &p->a), 0);
    assert_int_equal(pn_stack_new(&b, p->lb, p->now, &p->b), 0);
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

static void connect_pair(struct t_pair *p, struct pn_socket **cli, struct pn_socket **srv,
                         struct pn_socket **lst)
{
    assert_int_equal(pn_socket(p->b, PN_SOCK_STREAM, lst), 0);
    assert_int_equal(pn_bind(*lst, &(struct pn_endpoint){0, 6000}), 0);
    assert_int_equal(pn_listen(*lst, 4), 0);
    assert_int_equal(pn_socket(p->a, PN_SOCK_STREAM, cli), 0);
    assert_int_equal(pn_connect(*cli, &(struct pn_endpoint){T_ADDR_B, 6000}), PN_EINPROGRESS);
    assert_true(t_pair_run_until(p, is_connected, *cli, PN_SEC(5)));
    assert_true(t_pair_run_until(p, listener_ready, *lst, PN_SEC(5)));
    assert_int_equal(pn_accept(*lst, srv, NULL), 0);
}

/* One-way transfer of `total` bytes in writes of `chunk` bytes (0: varying odd sizes). */
struct xfer {
    struct pn_socket *tx, *rx;
    uint64_t total, sent, recvd;
    uint32_t chunk, step;
    bool bad;
};

static uint8_t pat(uint64_t i)
{
    return (uint8_t)((i * 2654435761u + 17u) >> 11);
}

static int pump(void *arg)
{
    struct xfer *x = arg;
    static uint8_t buf[65536];
    while (x->sent < x->total) {
        /* Varying sizes: 1, 3, 5, ... 2999 bytes, so sums are built from odd pieces. */
        size_t want = x->chunk ? x->chunk : 1u + 2u * (x->step++ % 1500u);
        size_t n = (size_t)(x->total - x->sent < want ? x->total - x->sent : want);
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(x->sent + i);
        long r = pn_send(x->tx, buf, n, 0);
        if (r <= 0)
            break;
        x->sent += (uint64_t)r;
    }
    long r;
    while ((r = pn_recv(x->rx, buf, sizeof(buf), 0)) > 0) {
        for (long i = 0; i < r; i++)
            if (buf[i] != pat(x->recvd + (uint64_t)i))
                x->bad = true;
        x->recvd += (uint64_t)r;
    }
    return x->recvd == x->total;
}

/* Runs a transfer; returns A's (bytes sent, bytes touched) and the retransmissions. */
static void run(bool large, double loss, uint32_t chunk, bool nodelay, uint64_t total,
                uint64_t *tx_bytes, uint64_t *touched, uint64_t *retrans)
{
    struct t_pair p;
    pair_up(&p, large, loss);
    struct pn_socket *cli, *srv, *lst;
    connect_pair(&p, &cli, &srv, &lst);
    if (nodelay) {
        int one = 1;
        assert_int_equal(pn_setsockopt(cli, PN_TCP_NODELAY, &one, sizeof(one)), 0);
    }
    struct xfer x = {.tx = cli, .rx = srv, .total = total, .chunk = chunk};
    assert_true(t_pair_run_until(&p, pump, &x, PN_SEC(600)));
    t_pair_run(&p, PN_SEC(1)); /* the last ACKs */
    assert_false(x.bad);
    assert_int_equal(x.recvd, total);
    /* Every segment was verified by the receiver and none failed. */
    assert_int_equal(t_stat(p.b, "tcp_rx_bad_checksum"), 0);
    assert_true(t_stat(p.b, "tcp_rx") > 0);
    struct pn_tcp_info ti;
    pn_tcp_get_info(cli, &ti);
    assert_int_equal(ti.bytes_acked, total);
    *tx_bytes = t_stat(p.a, "tcp_tx_bytes");
    *touched = t_stat(p.a, "tcp_tx_bytes_touched");
    *retrans = ti.total_retrans;
    /* B sent no data, so its send path touched nothing. */
    assert_int_equal(t_stat(p.b, "tcp_tx_bytes"), 0);
    assert_int_equal(t_stat(p.b, "tcp_tx_bytes_touched"), 0);
    pn_close(cli);
    pn_close(srv);
    pn_close(lst);
    t_pair_run(&p, PN_SEC(61));
    t_pair_fini(&p);
}

/* Issue #4: a loss-free first transmission touches each byte once — pn_send's copy, with
 * the checksum folded in — and output sends the queued pbufs without reading them again.
 * The former ring copied every byte a second time (ring -> segment): touched == 2x. */
static void test_touch_once_mss(void **state)
{
    uint64_t total = 8ull << 20, tx, touched, retrans;
    run(false, 0, 65536, false, total, &tx, &touched, &retrans);
    assert_int_equal(retrans, 0);
    assert_int_equal(tx, total);
    assert_int_equal(touched, total);
}

/* With large segments the queue's pbufs hold ~64 KiB each. While slow start's window is
 * smaller than two of them, segments are pieces of a pbuf and the rest of it is copied
 * (or its sum read) when it goes; after that every segment is a whole pbuf. The extra is a
 * fixed startup cost (~390 KB here): bounded well below a second pass over the data. */
static void test_touch_once_large_segments(void **state)
{
    uint64_t total = 32ull << 20, tx, touched, retrans;
    run(true, 0, 65536, false, total, &tx, &touched, &retrans);
    assert_int_equal(retrans, 0);
    assert_int_equal(tx, total);
    assert_true(touched >= total);
    assert_true(touched - total < total / 32);
}

/* Writes of odd sizes: sums are combined from pieces at odd offsets (RFC 1071 §2(B) byte
 * swapping); with NODELAY partial segments go out and later writes start new pbufs. */
static void test_odd_writes_checksums(void **state)
{
    uint64_t tx, touched, retrans;
    run(false, 0, 0, true, 3u << 20, &tx, &touched, &retrans);
    assert_int_equal(retrans, 0);
    assert_int_equal(tx, 3u << 20);
    assert_int_equal(touched, 3u << 20);
    run(true, 0, 0, false, 3u << 20, &tx, &touched, &retrans);
    assert_int_equal(retrans, 0);
    assert_int_equal(tx, 3u << 20);
}

/* With loss, retransmissions go out too; a whole-segment retransmission is a clone of the
 * queued pbuf with its stored sum, so the send path touches fewer bytes than it sends (the
 * ring design touched every byte sent plus every byte written: always more). */
static void test_retransmissions_reuse_queue(void **state)
{
    uint64_t total = 4ull << 20, tx, touched, retrans;
    run(false, 0.02, 65536, false, total, &tx, &touched, &retrans);
    assert_true(retrans > 0);
    assert_true(tx > total);
    assert_true(touched >= total);
    assert_true(touched < tx);
}

/* Tiny segments cross the loop link as clones of the sender's queue; the receiver must
 * still coalesce them, or each byte of an unread stream would pin a whole buffer. */
static int sent_all(void *arg)
{
    struct xfer *x = arg;
    return x->sent == x->total;
}

static void test_tiny_segments_coalesced(void **state)
{
    struct t_pair p;
    pair_up(&p, false, 0);
    struct pn_socket *cli, *srv, *lst;
    connect_pair(&p, &cli, &srv, &lst);
    int one = 1;
    assert_int_equal(pn_setsockopt(cli, PN_TCP_NODELAY, &one, sizeof(one)), 0);
    unsigned n = 3000;
    struct xfer x = {.tx = cli, .total = n};
    for (unsigned i = 0; i < n; i++) {
        uint8_t b = pat(i);
        assert_int_equal(pn_send(cli, &b, 1, 0), 1);
        x.sent++;
        t_pair_run(&p, PN_MS(1));
    }
    assert_true(t_pair_run_until(&p, sent_all, &x, PN_SEC(5)));
    t_pair_run(&p, PN_SEC(1));
    struct pn_tcp_info ti;
    pn_tcp_get_info(cli, &ti);
    assert_int_equal(ti.bytes_acked, n);     /* all of it sits unread in B's receive queue */
    assert_true(t_stat(p.a, "tcp_tx") >= n); /* one segment per byte */
    uint32_t bufs = pn_pbuf_pool_in_use(p.a->pool) + pn_pbuf_pool_in_use(p.b->pool);
    assert_true(bufs < 16);
    uint8_t buf[4096];
    assert_int_equal(pn_recv(srv, buf, sizeof(buf), 0), n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(buf[i], pat(i));
    pn_close(cli);
    pn_close(srv);
    pn_close(lst);
    t_pair_run(&p, PN_SEC(61));
    t_pair_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_touch_once_mss),
        cmocka_unit_test(test_touch_once_large_segments),
        cmocka_unit_test(test_odd_writes_checksums),
        cmocka_unit_test(test_retransmissions_reuse_queue),
        cmocka_unit_test(test_tiny_segments_coalesced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
