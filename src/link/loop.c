/* link/loop.c — the in-memory loop link: two ends, each frame sent on one is handed over
 * (no copy) to the other's receive ring. For two stacks driven by one thread. Frames keep
 * the sender's PN_PBUF_F_CSUM_OK mark, so the receiver skips checksum verification (as
 * Linux does on its loopback device); a fault wrapper that corrupts a frame clears it.
 * Call chain: stack A tx_burst -> peer ring -> stack B rx_burst. */
#include <stdlib.h>
#include "plebnet/errors.h"
#include "plebnet/link.h"

struct loop_end {
    struct pn_link link;      /* must be first */
    struct loop_end *peer;    /* NULL once the peer was destroyed */
    struct pn_pbuf **ring;    /* frames waiting for this end's rx_burst */
    uint32_t cap, head, count;
};

static int loop_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                   uint64_t now)
{
    struct loop_end *e = (struct loop_end *)l;
    int n = 0;
    while (n < max && e->count) {
        struct pn_pbuf *p = e->ring[e->head];
        e->head = (e->head + 1) % e->cap;
        e->count--;
        l->counters.rx_frames++;
        l->counters.rx_bytes += p->len;
        out[n++] = p;
    }
    return n;
}

static int loop_tx(struct pn_link *l, struct pn_pbuf **frames, int n, uint64_t now)
{
    struct loop_end *e = (struct loop_end *)l;
    struct loop_end *peer = e->peer;
    int sent = 0;
    for (int i = 0; i < n; i++) {
        struct pn_pbuf *p = frames[i];
        if (!peer || peer->count == peer->cap || p->len > l->caps.max_frame) {
            l->counters.tx_dropped++;
            pn_pbuf_free(p);
            continue;
        }
        /* Memory cannot corrupt a frame: the sender's "checksums correct" mark stays
         * valid; any other flag was the sender's business. */
        p->flags &= PN_PBUF_F_CSUM_OK;
        peer->ring[(peer->head + peer->count) % peer->cap] = p;
        peer->count++;
        l->counters.tx_frames++;
        l->counters.tx_bytes += p->len;
        sent++;
    }
    return sent;
}

static uint64_t loop_next_deadline(struct pn_link *l)
{
    /* Frames waiting mean "now": the caller clamps past deadlines to its current time. */
    return ((struct loop_end *)l)->count ? 0 : PN_TIME_NEVER;
}

static void loop_destroy(struct pn_link *l)
{
    struct loop_end *e = (struct loop_end *)l;
    while (e->count) {
        pn_pbuf_free(e->ring[e->head]);
        e->head = (e->head + 1) % e->cap;
        e->count--;
    }
    if (e->peer)
        e->peer->peer = NULL;
    free(e->ring);
    free(e);
}

static const struct pn_link_ops loop_ops = {
    .name = "loop",
    .rx_burst = loop_rx,
    .tx_burst = loop_tx,
    .next_deadline = loop_next_deadline,
    .destroy = loop_destroy,
};

static struct loop_end *loop_end_new(uint32_t mtu, uint32_t qlen)
{
    struct loop_end *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->ring = calloc(qlen, sizeof(*e->ring));
    if (!e->ring) {
        free(e);
        return NULL;
    }
    e->cap = qlen;
    e->link.ops = &loop_ops;
    e->link.caps.mtu = mtu;
    e->link.caps.max_frame = mtu + 14;
    return e;
}

void pn_link_loop_set_large(struct pn_link *l, bool on)
{
    l->caps.large_tx = l->caps.large_rx = on;
    l->caps.max_frame = on ? 65535u + 14u : l->caps.mtu + 14u;
}

int pn_link_loop_pair(uint32_t mtu, uint32_t queue_len, struct pn_link **a, struct pn_link **b)
{
    if (mtu == 0)
        mtu = 1500;
    if (queue_len == 0)
        queue_len = 4096;
    if (mtu < 68 || mtu > PN_LOOP_MAX_MTU || queue_len > (1u << 24))
        return PN_EINVAL;
    struct loop_end *x = loop_end_new(mtu, queue_len), *y = loop_end_new(mtu, queue_len);
    if (!x || !y) {
        if (x)
            loop_destroy(&x->link);
        if (y)
            loop_destroy(&y->link);
        return PN_ENOMEM;
    }
    x->peer = y;
    y->peer = x;
    *a = &x->link;
    *b = &y->link;
    return 0;
}
