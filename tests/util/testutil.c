/* tests/util/testutil.c — implementation of the shared test helpers (testutil.h). */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "wire/ethernet.h"
#include "wire/udp.h"

const struct pn_mac T_MAC_A = {{0x02, 0, 0, 0, 0, 0x01}};
const struct pn_mac T_MAC_B = {{0x02, 0, 0, 0, 0, 0x02}};
const struct pn_mac T_MAC_BCAST = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

void t_config(struct pn_stack_config *cfg, uint32_t addr, const struct pn_mac *mac)
{
    pn_stack_config_init(cfg);
    cfg->addr = addr;
    cfg->mac = *mac;
    cfg->prefix_len = 24;
    for (int i = 0; i < 16; i++)
        cfg->secret[i] = (uint8_t)(i * 7 + 1);
}

/* ---- inject link ---- */

struct t_link {
    struct pn_link link; /* first */
    struct pn_pbuf_pool *pool;
    struct pn_pbuf_queue in;  /* to the stack */
    struct pn_pbuf_queue out; /* from the stack */
};

static int tl_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                 uint64_t now)
{
    struct t_link *t = (struct t_link *)l;
    int n = 0;
    while (n < max && t->in.head)
        out[n++] = pn_pbuf_queue_pop(&t->in);
    return n;
}

static int tl_tx(struct pn_link *l, struct pn_pbuf **frames, int n, uint64_t now)
{
    struct t_link *t = (struct t_link *)l;
    for (int i = 0; i < n; i++) {
        assert_true(frames[i]->len <= l->caps.max_frame);
        pn_pbuf_queue_push(&t->out, frames[i]);
    }
    return n;
}

static uint64_t tl_deadline(struct pn_link *l)
{
    return ((struct t_link *)l)->in.head ? 0 : PN_TIME_NEVER;
}

static const struct pn_link_ops tl_ops = {
    .name = "test", .rx_burst = tl_rx, .tx_burst = tl_tx, .next_deadline = tl_deadline};

struct t_link *t_link_new(uint32_t mtu)
{
    struct t_link *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->link.ops = &tl_ops;
    t->link.caps.mtu = mtu ? mtu : 1500;
    t->link.caps.max_frame = t->link.caps.mtu + 14;
    t->pool = pn_pbuf_pool_new(NULL);
    assert_non_null(t->pool);
    pn_pbuf_queue_init(&t->in);
    pn_pbuf_queue_init(&t->out);
    return t;
}

struct pn_link *t_link_base(struct t_link *l)
{
    return &l->link;
}

void t_link_free(struct t_link *t)
{
    pn_pbuf_queue_purge(&t->in);
    pn_pbuf_queue_purge(&t->out);
    assert_int_equal(pn_pbuf_pool_free(t->pool), 0);
    free(t);
}

void t_link_inject(struct t_link *t, const void *frame, size_t len)
{
    struct pn_pbuf *p = pn_pbuf_alloc(t->pool, 0, (uint32_t)len);
    assert_non_null(p);
    memcpy(p->data, frame, len);
    pn_pbuf_queue_push(&t->in, p);
}

unsigned t_link_sent(const struct t_link *t)
{
    return t->out.count;
}

size_t t_link_pop(struct t_link *t, void *buf, size_t cap)
{
    struct pn_pbuf *p = pn_pbuf_queue_pop(&t->out);
    if (!p)
        return 0;
    assert_true(p->len <= cap);
    size_t n = p->len;
    memcpy(buf, p->data, n);
    pn_pbuf_free(p);
    return n;
}

void t_link_clear(struct t_link *t)
{
    pn_pbuf_queue_purge(&t->out);
}

/* ---- one stack ---- */

void t_one_init(struct t_one *o, const struct pn_stack_config *cfg)
{
    struct pn_stack_config c;
    if (cfg)
        c = *cfg;
    else
        t_config(&c, T_ADDR_A, &T_MAC_A);
    o->link = t_link_new(0);
    o->now = PN_SEC(1);
    assert_int_equal(pn_stack_new(&c, t_link_base(o->link), o->now, &o->s), 0);
    t_link_clear(o->link);
}

void t_one_fini(struct t_one *o)
{
    pn_stack_free(o->s);
    t_link_free(o->link);
}

void t_one_advance(struct t_one *o, uint64_t dt)
{
    uint64_t end = o->now + dt;
    for (int guard = 0; guard < 10000000; guard++) {
        pn_stack_poll(o->s, o->now);
        uint64_t next = pn_stack_next_deadline(o->s);
        if (next <= o->now)
            next = o->now + 1; /* a deadline in the past means "poll again now" */
        if (next > end)
            break;
        o->now = next;
    }
    o->now = end;
    pn_stack_poll(o->s, o->now);
}

void t_one_input(struct t_one *o, const void *frame, size_t len)
{
    t_link_inject(o->link, frame, len);
    pn_stack_poll(o->s, o->now);
}

/* ---- pair ---- */

void t_pair_init(struct t_pair *p, uint32_t mtu, const struct pn_stack_config *cfg_a,
                 const struct pn_stack_config *cfg_b)
{
    struct pn_stack_config a, b;
    if (cfg_a)
        a = *cfg_a;
    else
        t_config(&a, T_ADDR_A, &T_MAC_A);
    if (cfg_b)
        b = *cfg_b;
    else
        t_config(&b, T_ADDR_B, &T_MAC_B);
    a.addr = T_ADDR_A;
    a.mac = T_MAC_A;
    b.addr = T_ADDR_B;
    b.mac = T_MAC_B;
    assert_int_equal(pn_link_loop_pair(mtu, 0, &p->la, &p->lb), 0);
    p->now = PN_SEC(1);
    assert_int_equal(pn_stack_new(&a, p->la, p->now, &p->a), 0);
    assert_int_equal(pn_stack_new(&b, p->lb, p->now, &p->b), 0);
}

void t_pair_fini(struct t_pair *p)
{
    pn_stack_free(p->a);
    pn_stack_free(p->b);
    pn_link_destroy(p->la);
    pn_link_destroy(p->lb);
}

static uint64_t pair_deadline(struct t_pair *p)
{
    uint64_t x = pn_stack_next_deadline(p->a), y = pn_stack_next_deadline(p->b);
    return x < y ? x : y;
}

int t_pair_run_until(struct t_pair *p, int (*cond)(void *arg), void *arg, uint64_t max_dt)
{
    uint64_t end = p->now + max_dt;
    for (long guard = 0; guard < 100000000L; guard++) {
        pn_stack_poll(p->a, p->now);
        pn_stack_poll(p->b, p->now);
        if (cond && cond(arg))
            return 1;
        uint64_t next = pair_deadline(p);
        if (next <= p->now) {
            continue; /* frames in flight: poll again at the same time */
        }
        if (next > end)
            break;
        p->now = next;
    }
    p->now = end;
    pn_stack_poll(p->a, p->now);
    pn_stack_poll(p->b, p->now);
    return cond ? cond(arg) : 0;
}

void t_pair_run(struct t_pair *p, uint64_t dt)
{
    t_pair_run_until(p, NULL, NULL, dt);
}

/* ---- frames ---- */

size_t t_frame_ipv4(void *buf, const struct pn_mac *dst, const struct pn_mac *src,
                    const struct pn_ipv4_repr *ip, const void *l4, size_t l4len)
{
    uint8_t *b = buf;
    struct pn_eth_repr e = {.dst = *dst, .src = *src, .ethertype = PN_ETHERTYPE_IPV4};
    pn_eth_emit(&e, b);
    struct pn_ipv4_repr r = *ip;
    r.payload_len = (uint16_t)l4len;
    pn_ipv4_emit(&r, b + PN_ETH_HDR_LEN);
    memcpy(b + PN_ETH_HDR_LEN + PN_IPV4_HDR_LEN, l4, l4len);
    return PN_ETH_HDR_LEN + PN_IPV4_HDR_LEN + l4len;
}

size_t t_frame_udp(void *buf, const struct pn_mac *dst, const struct pn_mac *src, uint32_t saddr,
                   uint32_t daddr, uint16_t sport, uint16_t dport, const void *payload,
                   size_t len)
{
    uint8_t l4[2048];
    assert_true(len + PN_UDP_HDR_LEN <= sizeof(l4));
    memcpy(l4 + PN_UDP_HDR_LEN, payload, len);
    struct pn_udp_repr u = {.src_port = sport, .dst_port = dport, .payload_len = len};
    pn_udp_emit(&u, l4, saddr, daddr);
    struct pn_ipv4_repr ip = {.src = saddr, .dst = daddr, .proto = PN_IP_PROTO_UDP, .ttl = 64};
    return t_frame_ipv4(buf, dst, src, &ip, l4, len + PN_UDP_HDR_LEN);
}

uint64_t t_stat(const struct pn_stack *s, const char *name)
{
    for (unsigned i = 0; i < pn_stats_count; i++)
        if (strcmp(pn_stats_names[i], name) == 0)
            return pn_stats_get(pn_stack_stats(s), i);
    fail_msg("unknown counter %s", name);
    return 0;
}
