/* tests/link/test_vxlan.c — the vxlan link over real UDP sockets on 127.0.0.1 only: RFC 7348
 * encapsulation byte by byte, decapsulation and the drop counters for malformed datagrams,
 * the forwarding table (flood, learning, aging, static entries, bound), UDP GSO/GRO batches,
 * and two stacks exchanging UDP over two vxlan links. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

#define LO PN_IP4(127, 0, 0, 1)

/* A plain kernel UDP socket on 127.0.0.1 standing in for a remote VTEP. */
struct raw {
    int fd;
    struct pn_endpoint ep;
};

static void raw_open_at(struct raw *r, uint32_t addr)
{
    r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(r->fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(addr)};
    assert_int_equal(bind(r->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t sl = sizeof(sin);
    getsockname(r->fd, (struct sockaddr *)&sin, &sl);
    r->ep = (struct pn_endpoint){addr, ntohs(sin.sin_port)};
}

static void raw_open(struct raw *r)
{
    raw_open_at(r, LO);
}

/* Receives one datagram within 1 s; returns its length or -1 if none came. */
static long raw_recv(struct raw *r, void *buf, size_t cap, int timeout_ms)
{
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return -1;
    return recv(r->fd, buf, cap, MSG_DONTWAIT);
}

static void raw_send(struct raw *r, const struct pn_endpoint *to, const void *buf, size_t len)
{
    struct sockaddr_in sin = {
        .sin_family = AF_INET, .sin_addr.s_addr = htonl(to->addr), .sin_port = htons(to->port)};
    assert_int_equal(sendto(r->fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)),
                     (ssize_t)len);
}

static struct pn_link *vx_new(uint32_t vni, const struct raw *remote, uint32_t flags)
{
    struct pn_vxlan_config c;
    pn_vxlan_config_init(&c);
    c.local = (struct pn_endpoint){LO, 0}; /* ephemeral: tests never take 4789 */
    c.vni = vni;
    c.flags = flags;
    if (remote)
        c.remotes[c.n_remotes++] = remote->ep;
    struct pn_link *l;
    char err[128];
    assert_int_equal(pn_link_vxlan_new(&c, &l, err, sizeof(err)), 0);
    return l;
}

static struct pn_endpoint vx_local(struct pn_link *l)
{
    struct pn_vxlan_info i;
    pn_vxlan_get_info(l, &i);
    return i.local;
}

static struct pn_pbuf *eth_frame(struct pn_pbuf_pool *pool, const struct pn_mac *dst,
                                 const struct pn_mac *src, uint32_t len, uint8_t fill)
{
    struct pn_pbuf *p = pn_pbuf_alloc(pool, PN_PBUF_HEADROOM, len);
    assert_non_null(p);
    memcpy(p->data, dst->b, 6);
    memcpy(p->data + 6, src->b, 6);
    p->data[12] = 0x08;
    p->data[13] = 0x00;
    memset(p->data + 14, fill, len - 14);
    return p;
}

static void send1(struct pn_link *l, struct pn_pbuf *p, uint64_t now)
{
    assert_int_equal(l->ops->tx_burst(l, &p, 1, now), 1);
}

/* Receives until `want` frames arrived (or 1 s passed) into out; returns how many. */
static int rx_wait(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int want,
                   uint64_t now)
{
    int n = 0;
    for (int tries = 0; tries < 100 && n < want; tries++) {
        n += l->ops->rx_burst(l, pool, out + n, want - n, now);
        if (n < want) {
            struct pollfd p = {.fd = pn_link_fd(l), .events = POLLIN};
            poll(&p, 1, 10);
        }
    }
    return n;
}

/* Reads what the socket still has (waiting up to 50 ms for the first) and discards it. */
static int raw_drain(struct raw *r)
{
    uint8_t b[2048];
    int n = 0;
    while (raw_recv(r, b, sizeof(b), n ? 0 : 50) >= 0)
        n++;
    return n;
}

static const struct pn_mac MAC_X = {{0x02, 0, 0, 0, 0, 0x0a}};

static void test_encap(void **state)
{
    struct raw r;
    raw_open(&r);
    struct pn_link *l = vx_new(0x123456, &r, 0);
    assert_true(pn_link_is_vxlan(l));
    assert_int_equal(l->caps.mtu, 1450); /* 1500 - 50 */
    assert_int_equal(l->caps.max_frame, 1464);
    assert_true(pn_link_fd(l) >= 0);
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    send1(l, eth_frame(pool, &T_MAC_BCAST, &T_MAC_A, 60, 0xab), 0);
    uint8_t b[2048];
    long n = raw_recv(&r, b, sizeof(b), 1000);
    assert_int_equal(n, 8 + 60);
    /* RFC 7348 §5: flags 0x08 (I), 24 reserved zero bits, VNI, 8 reserved zero bits. */
    static const uint8_t hdr[8] = {0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0};
    assert_memory_equal(b, hdr, 8);
    assert_memory_equal(b + 8, T_MAC_BCAST.b, 6);
    assert_memory_equal(b + 14, T_MAC_A.b, 6);
    assert_int_equal(b[8 + 59], 0xab);
    assert_int_equal(l->counters.tx_frames, 1);
    assert_int_equal(l->counters.tx_bytes, 60);
    /* Too large for the link: dropped and counted, nothing sent. */
    struct pn_pbuf *big = eth_frame(pool, &T_MAC_BCAST, &T_MAC_A, 1465, 0);
    assert_int_equal(l->ops->tx_burst(l, &big, 1, 0), 0);
    assert_int_equal(l->counters.tx_dropped, 1);
    assert_int_equal(raw_drain(&r), 0);
    pn_link_destroy(l);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    pn_pbuf_pool_free(pool);
    close(r.fd);
}

static void test_decap_and_drops(void **state)
{
    struct raw r;
    raw_open(&r);
    struct pn_link *l = vx_new(42, &r, 0);
    struct pn_endpoint to = vx_local(l);
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    uint8_t d[1600];
    memset(d, 0x5a, sizeof(d));
    static const uint8_t good[8] = {0x08, 0, 0, 0, 0, 0, 42, 0};
    memcpy(d, good, 8);
    memcpy(d + 8, T_MAC_A.b, 6);
    memcpy(d + 14, T_MAC_B.b, 6);
    /* Malformed ones first, then a good one: only the good one comes out. */
    raw_send(&r, &to, d, 10); /* short */
    d[0] = 0;                 /* I flag clear */
    raw_send(&r, &to, d, 100);
    d[0] = 0x0c; /* a reserved flag bit */
    raw_send(&r, &to, d, 100);
    d[0] = 0x08;
    d[7] = 1; /* reserved low byte */
    raw_send(&r, &to, d, 100);
    d[7] = 0;
    d[6] = 43; /* another VNI */
    raw_send(&r, &to, d, 100);
    d[6] = 42;
    raw_send(&r, &to, d, 8 + 1465); /* frame too large */
    raw_send(&r, &to, d, 8 + 1464); /* largest frame: fine */
    raw_send(&r, &to, d, 8 + 60);
    struct pn_pbuf *in[8];
    assert_int_equal(rx_wait(l, pool, in, 2, PN_SEC(1)), 2);
    assert_int_equal(in[0]->len, 1464);
    assert_int_equal(in[1]->len, 60);
    assert_memory_equal(in[1]->data, T_MAC_A.b, 6);
    assert_memory_equal(in[1]->data + 6, T_MAC_B.b, 6);
    assert_int_equal(in[1]->data[59], 0x5a);
    pn_pbuf_free(in[0]);
    pn_pbuf_free(in[1]);
    struct pn_vxlan_counters c;
    pn_vxlan_get_counters(l, &c);
    assert_int_equal(c.rx_short, 1);
    assert_int_equal(c.rx_bad_flags, 3);
    assert_int_equal(c.rx_wrong_vni, 1);
    assert_int_equal(c.rx_oversize, 1);
    assert_int_equal(l->counters.rx_dropped, 6);
    assert_int_equal(l->counters.rx_frames, 2);
    /* The sender's source MAC was learned, pointing at the sender. */
    struct pn_vxlan_fdb_entry e;
    assert_int_equal(pn_vxlan_fdb_lookup(l, &T_MAC_B, PN_SEC(1), &e), 0);
    assert_true(e.dst.addr == r.ep.addr && e.dst.port == r.ep.port);
    assert_false(e.is_static);
    assert_int_equal(c.fdb_learned, 1);
    pn_link_destroy(l);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    pn_pbuf_pool_free(pool);
    close(r.fd);
}

/* A and B are vxlan links; A's flood list holds B and a bystander socket R. */
static void test_fdb_flood_learn_age_static(void **state)
{
    struct raw r;
    raw_open(&r);
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_vxlan_config c;
    pn_vxlan_config_init(&c);
    c.local = (struct pn_endpoint){LO, 0};
    c.fdb_age_ms = 1000;
    char err[128];
    struct pn_link *a, *b;
    assert_int_equal(pn_link_vxlan_new(&c, &a, err, sizeof(err)), 0);
    assert_int_equal(pn_link_vxlan_new(&c, &b, err, sizeof(err)), 0);
    struct pn_endpoint ea = vx_local(a), eb = vx_local(b);
    assert_int_equal(pn_vxlan_remote_add(a, &eb), 0);
    assert_int_equal(pn_vxlan_remote_add(a, &r.ep), 0);
    assert_int_equal(pn_vxlan_remote_add(a, &r.ep), 0); /* duplicate: no-op */
    assert_int_equal(pn_vxlan_remote_add(b, &ea), 0);
    struct pn_vxlan_info info;
    pn_vxlan_get_info(a, &info);
    assert_int_equal(info.n_remotes, 2);
    struct pn_pbuf *in[4];
    struct pn_vxlan_counters ca, cb;
    uint64_t t = PN_SEC(10);

    /* Broadcast from A reaches both flood-list endpoints; B learns MAC_A -> A. */
    send1(a, eth_frame(pool, &T_MAC_BCAST, &T_MAC_A, 60, 1), t);
    assert_int_equal(rx_wait(b, pool, in, 1, t), 1);
    pn_pbuf_free(in[0]);
    assert_int_equal(raw_drain(&r), 1);
    pn_vxlan_get_counters(a, &ca);
    assert_int_equal(ca.tx_flooded, 1);
    struct pn_vxlan_fdb_entry e;
    assert_int_equal(pn_vxlan_fdb_lookup(b, &T_MAC_A, t, &e), 0);
    assert_true(e.dst.port == ea.port);

    /* Unknown unicast from A is flooded too. */
    send1(a, eth_frame(pool, &T_MAC_B, &T_MAC_A, 60, 2), t);
    assert_int_equal(rx_wait(b, pool, in, 1, t), 1);
    pn_pbuf_free(in[0]);
    assert_int_equal(raw_drain(&r), 1);

    /* B answers by unicast (learned: straight to A); A learns MAC_B -> B. */
    send1(b, eth_frame(pool, &T_MAC_A, &T_MAC_B, 60, 3), t);
    pn_vxlan_get_counters(b, &cb);
    assert_int_equal(cb.tx_flooded, 0);
    assert_int_equal(rx_wait(a, pool, in, 1, t), 1);
    pn_pbuf_free(in[0]);
    /* Now unicast from A to MAC_B goes only to B: the bystander sees nothing. */
    send1(a, eth_frame(pool, &T_MAC_B, &T_MAC_A, 60, 4), t + PN_MS(500));
    assert_int_equal(rx_wait(b, pool, in, 1, t), 1);
    pn_pbuf_free(in[0]);
    assert_int_equal(raw_drain(&r), 0);
    pn_vxlan_get_counters(a, &ca);
    assert_int_equal(ca.tx_flooded, 2);
    assert_int_equal(ca.fdb_learned, 1);

    /* Aging: 1 s after B was last heard, the entry is gone and A floods again. */
    send1(a, eth_frame(pool, &T_MAC_B, &T_MAC_A, 60, 5), t + PN_MS(1000));
    assert_int_equal(rx_wait(b, pool, in, 1, t), 1);
    pn_pbuf_free(in[0]);
    assert_int_equal(raw_drain(&r), 1);
    pn_vxlan_get_counters(a, &ca);
    assert_int_equal(ca.fdb_aged, 1);
    assert_int_equal(ca.tx_flooded, 3);

    /* A static entry sends MAC_X to R only, never ages, and learning cannot move it. */
    assert_int_equal(pn_vxlan_fdb_add(a, &MAC_X, &r.ep), 0);
    assert_int_equal(pn_vxlan_fdb_add(a, &T_MAC_BCAST, &r.ep), PN_EINVAL);
    send1(b, eth_frame(pool, &T_MAC_A, &MAC_X, 60, 6), t); /* B claims MAC_X */
    assert_int_equal(rx_wait(a, pool, in, 1, t), 1);
    pn_pbuf_free(in[0]);
    uint64_t later = t + PN_SEC(3600);
    assert_int_equal(pn_vxlan_fdb_lookup(a, &MAC_X, later, &e), 0);
    assert_true(e.is_static && e.dst.port == r.ep.port);
    send1(a, eth_frame(pool, &MAC_X, &T_MAC_A, 60, 7), later);
    assert_int_equal(raw_drain(&r), 1);
    assert_int_equal(rx_wait(b, pool, in, 1, later), 0);
    assert_int_equal(pn_vxlan_fdb_del(a, &MAC_X), 0);
    assert_int_equal(pn_vxlan_fdb_del(a, &MAC_X), PN_EINVAL);

    /* A sender whose IP is a flood-list endpoint's, from another port (a kernel VTEP uses
     * hashed source ports), is learned as that endpoint: MAC_A stays at A. */
    uint8_t d[8 + 60] = {0x08, 0, 0, 0, 0, 0, 1, 0};
    memcpy(d + 8, T_MAC_B.b, 6);
    memcpy(d + 14, T_MAC_A.b, 6);
    raw_send(&r, &eb, d, sizeof(d));
    assert_int_equal(rx_wait(b, pool, in, 1, t), 1);
    pn_pbuf_free(in[0]);
    assert_int_equal(pn_vxlan_fdb_lookup(b, &T_MAC_A, t, &e), 0);
    assert_true(e.dst.addr == ea.addr && e.dst.port == ea.port);
    /* MAC_A moves to an unknown VTEP at 127.0.0.2: learned as (127.0.0.2, 4789). */
    struct raw r2;
    raw_open_at(&r2, PN_IP4(127, 0, 0, 2));
    raw_send(&r2, &eb, d, sizeof(d));
    assert_int_equal(rx_wait(b, pool, in, 1, t), 1);
    pn_pbuf_free(in[0]);
    pn_vxlan_get_counters(b, &cb);
    assert_int_equal(cb.fdb_moved, 1);
    assert_int_equal(pn_vxlan_fdb_lookup(b, &T_MAC_A, t, &e), 0);
    assert_true(e.dst.addr == PN_IP4(127, 0, 0, 2) && e.dst.port == PN_VXLAN_PORT);
    close(r2.fd);

    pn_link_destroy(a);
    pn_link_destroy(b);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    pn_pbuf_pool_free(pool);
    close(r.fd);
}

/* The table is bounded: when full of live entries nothing more is learned; expired entries
 * make room again. */
static void test_fdb_bound(void **state)
{
    struct raw r;
    raw_open(&r);
    struct pn_vxlan_config c;
    pn_vxlan_config_init(&c);
    c.local = (struct pn_endpoint){LO, 0};
    c.fdb_max = 4;
    c.fdb_age_ms = 1000;
    c.remotes[c.n_remotes++] = r.ep;
    struct pn_link *l;
    assert_int_equal(pn_link_vxlan_new(&c, &l, NULL, 0), 0);
    struct pn_endpoint to = vx_local(l);
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    uint8_t d[8 + 60] = {0x08, 0, 0, 0, 0, 0, 1, 0};
    memcpy(d + 8, T_MAC_BCAST.b, 6);
    struct pn_pbuf *in[16];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 10; i++) {
            uint8_t src[6] = {0x02, 0, 0, 0, (uint8_t)round, (uint8_t)(i + 1)};
            memcpy(d + 14, src, 6);
            raw_send(&r, &to, d, sizeof(d));
        }
        uint64_t now = PN_SEC(1) + (uint64_t)round * PN_SEC(2);
        assert_int_equal(rx_wait(l, pool, in, 10, now), 10);
        for (int i = 0; i < 10; i++)
            pn_pbuf_free(in[i]);
        struct pn_vxlan_counters vc;
        pn_vxlan_get_counters(l, &vc);
        assert_int_equal(vc.fdb_learned, 4 * (round + 1));
        assert_int_equal(vc.fdb_full, 6 * (round + 1));
        assert_int_equal(vc.fdb_aged, 4 * round);
    }
    pn_link_destroy(l);
    pn_pbuf_pool_free(pool);
    close(r.fd);
}

/* Same-size frames to one endpoint leave in UDP_SEGMENT batches (when the kernel has GSO)
 * and arrive intact and in order, coalesced or not; and the same without GSO/GRO. */
static void run_batch(uint32_t flags, bool print)
{
    struct pn_link *a = vx_new(7, NULL, flags), *b = vx_new(7, NULL, flags);
    struct pn_endpoint ea = vx_local(a), eb = vx_local(b);
    assert_int_equal(pn_vxlan_fdb_add(a, &T_MAC_B, &eb), 0);
    assert_int_equal(pn_vxlan_remote_add(b, &ea), 0);
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    enum { N = 100 };
    struct pn_pbuf *f[N];
    for (int i = 0; i < N; i++)
        f[i] = eth_frame(pool, &T_MAC_B, &T_MAC_A, i == N - 1 ? 700 : 1464, (uint8_t)i);
    assert_int_equal(a->ops->tx_burst(a, f, N, 0), N);
    struct pn_pbuf *in[N];
    assert_int_equal(rx_wait(b, pool, in, N, 0), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(in[i]->len, i == N - 1 ? 700 : 1464);
        assert_int_equal(in[i]->data[14], (uint8_t)i);
        assert_int_equal(in[i]->data[in[i]->len - 1], (uint8_t)i);
        pn_pbuf_free(in[i]);
    }
    struct pn_vxlan_info ia, ib;
    struct pn_vxlan_counters ca, cb;
    pn_vxlan_get_info(a, &ia);
    pn_vxlan_get_info(b, &ib);
    pn_vxlan_get_counters(a, &ca);
    pn_vxlan_get_counters(b, &cb);
    if (print)
        printf("vxlan batching: gso=%d gro=%d, %d frames in %llu GSO sends, %llu GRO receives\n",
               ia.gso, ib.gro, N, (unsigned long long)ca.tx_gso_batches,
               (unsigned long long)cb.rx_gro_batches);
    if (flags & PN_VXLAN_NO_GSO) {
        assert_false(ia.gso);
        assert_int_equal(ca.tx_gso_batches, 0);
    } else if (ia.gso) {
        assert_true(ca.tx_gso_batches >= 2); /* 99 big frames, at most 64 per batch */
    }
    if (flags & PN_VXLAN_NO_GRO)
        assert_int_equal(cb.rx_gro_batches, 0);
    assert_int_equal(a->counters.tx_frames, N);
    assert_int_equal(b->counters.rx_frames, N);
    assert_int_equal(b->counters.rx_dropped, 0);
    pn_link_destroy(a);
    pn_link_destroy(b);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    pn_pbuf_pool_free(pool);
}

static void test_gso_gro(void **state)
{
    run_batch(0, true);
    run_batch(PN_VXLAN_NO_GSO | PN_VXLAN_NO_GRO, true);
    run_batch(PN_VXLAN_NO_GRO, false); /* GSO sender, plain receiver */
}

static uint64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct got {
    char buf[64];
    long len;
};

static void on_udp(struct pn_socket *sk, unsigned ev, void *arg)
{
    struct got *g = arg;
    long n = pn_recv(sk, g->buf, sizeof(g->buf), 0);
    if (n >= 0)
        g->len = n;
}

/* Two whole stacks on vxlan links: ARP, then a UDP datagram, over real sockets. */
static void test_two_stacks(void **state)
{
    struct pn_link *la = vx_new(9, NULL, 0), *lb = vx_new(9, NULL, 0);
    struct pn_endpoint ea = vx_local(la), eb = vx_local(lb);
    assert_int_equal(pn_vxlan_remote_add(la, &eb), 0);
    assert_int_equal(pn_vxlan_remote_add(lb, &ea), 0);
    struct pn_stack_config ca, cb;
    t_config(&ca, T_ADDR_A, &T_MAC_A);
    t_config(&cb, T_ADDR_B, &T_MAC_B);
    struct pn_stack *a, *b;
    uint64_t t0 = mono();
    assert_int_equal(pn_stack_new(&ca, la, t0, &a), 0);
    assert_int_equal(pn_stack_new(&cb, lb, t0, &b), 0);
    struct pn_iface_info ia;
    pn_stack_iface(a, &ia);
    assert_int_equal(ia.mtu, 1450);
    struct pn_socket *srv, *cli;
    assert_int_equal(pn_socket(b, PN_SOCK_DGRAM, &srv), 0);
    assert_int_equal(pn_bind(srv, &(struct pn_endpoint){0, 5555}), 0);
    struct got g = {.len = -1};
    pn_socket_set_callback(srv, on_udp, &g);
    assert_int_equal(pn_socket(a, PN_SOCK_DGRAM, &cli), 0);
    assert_int_equal(pn_sendto(cli, "over vxlan", 10, 0, &(struct pn_endpoint){T_ADDR_B, 5555}),
                     10);
    while (g.len < 0 && mono() - t0 < PN_SEC(3)) {
        struct pollfd p[2] = {{.fd = pn_stack_fd(a), .events = POLLIN},
                              {.fd = pn_stack_fd(b), .events = POLLIN}};
        poll(p, 2, 5);
        pn_stack_poll(a, mono());
        pn_stack_poll(b, mono());
    }
    assert_int_equal(g.len, 10);
    assert_memory_equal(g.buf, "over vxlan", 10);
    assert_int_equal(t_stat(a, "arp_tx_request"), 1);
    pn_close(cli);
    pn_close(srv);
    pn_stack_free(a);
    pn_stack_free(b);
    pn_link_destroy(la);
    pn_link_destroy(lb);
}

static void test_config_errors(void **state)
{
    struct pn_vxlan_config c;
    struct pn_link *l;
    char err[128];
    pn_vxlan_config_init(&c);
    assert_int_equal(c.local.port, 4789);
    assert_int_equal(c.vni, 1);
    c.local = (struct pn_endpoint){LO, 0};
    c.vni = 1u << 24;
    assert_int_equal(pn_link_vxlan_new(&c, &l, err, sizeof(err)), PN_EINVAL);
    assert_non_null(strstr(err, "vni"));
    c.vni = 1;
    c.underlay_mtu = 600;
    assert_int_equal(pn_link_vxlan_new(&c, &l, err, sizeof(err)), PN_EINVAL);
    c.underlay_mtu = 9000;
    c.remotes[c.n_remotes++] = (struct pn_endpoint){PN_IP4(239, 1, 1, 1), 0};
    assert_int_equal(pn_link_vxlan_new(&c, &l, err, sizeof(err)), PN_EINVAL);
    assert_non_null(strstr(err, "239.1.1.1"));
    c.n_remotes = 0;
    assert_int_equal(pn_link_vxlan_new(&c, &l, err, sizeof(err)), 0);
    assert_int_equal(l->caps.mtu, 8950);
    /* The same port again: in use, and the message names the endpoint. */
    struct pn_link *l2;
    c.local = vx_local(l);
    assert_int_equal(pn_link_vxlan_new(&c, &l2, err, sizeof(err)), PN_EADDRINUSE);
    assert_non_null(strstr(err, "127.0.0.1:"));
    pn_link_destroy(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encap),
        cmocka_unit_test(test_decap_and_drops),
        cmocka_unit_test(test_fdb_flood_learn_age_static),
        cmocka_unit_test(test_fdb_bound),
        cmocka_unit_test(test_gso_gro),
        cmocka_unit_test(test_two_stacks),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
