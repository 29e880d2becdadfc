/* link/fault.c — the fault wrapper link: impairs frames per direction (blackhole, loss,
 * corruption, duplication, rate limit, delay + jitter, reordering) on the caller's clock,
 * with a seeded PRNG per direction so a run replays from its seed.
 * Call chain: stack tx -> fault_tx -> ingest -> heap/held -> flush_tx -> inner tx_burst;
 *             stack rx -> fault_rx -> inner rx_burst -> ingest -> release -> stack. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "plebnet/errors.h"
#include "plebnet/fault.h"

/* A frame waiting for its due time; the heap orders by (due, seq) so equal times keep
 * arrival order. */
struct held {
    uint64_t due, seq;
    struct pn_pbuf *p;
};

/* A frame held back by the reorder stage: it leaves when `left` frames scheduled after it
 * have left (then deadline becomes 0) or at `deadline`, whichever comes first. */
struct rhold {
    uint64_t deadline;
    uint64_t after; /* only frames with seq >= after are "later" frames */
    uint32_t left;
    struct pn_pbuf *p;
};

struct fdir {
    struct pn_fault_dir cfg;
    bool active;     /* any impairment configured */
    uint64_t rng[4]; /* xoshiro256** state */
    struct pn_fault_counters c;
    struct held *heap;
    uint32_t heap_len, heap_cap;
    struct rhold *rh;
    uint32_t rh_len, rh_cap;
    uint64_t seq;
    /* rate limit (GCRA): theoretical arrival time, division remainder, and the ring of
     * departure times of frames still waiting for tokens */
    uint64_t tat, rate_rem;
    uint64_t *rq;
    uint32_t rq_head, rq_count, rq_cap;
};

struct fault_link {
    struct pn_link link; /* must be first */
    struct pn_link *inner;
    struct fdir tx, rx;
};

static const struct pn_link_ops fault_ops;

/* ---- PRNG: splitmix64 to seed, xoshiro256** to draw (Blackman & Vigna) ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

static void rng_seed(uint64_t s[4], uint64_t seed, uint64_t domain)
{
    uint64_t x = seed ^ (domain * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++)
        s[i] = splitmix64(&x);
}

/* Uniform in [0, bound) (bound > 0); Lemire's multiply, bias below 2^-64 * bound. */
static uint64_t rng_below(uint64_t s[4], uint64_t bound)
{
    return (uint64_t)(((unsigned __int128)rng_next(s) * bound) >> 64);
}

/* True with probability p. Draws nothing for p <= 0 or p >= 1, so those are exact. */
static bool chance(uint64_t s[4], double p)
{
    if (p <= 0.0)
        return false;
    if (p >= 1.0)
        return true;
    return (double)(rng_next(s) >> 11) * 0x1p-53 < p;
}

/* ---- containers ---- */

static bool heap_less(const struct held *a, const struct held *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static int heap_push(struct fdir *d, struct held h)
{
    if (d->heap_len == d->heap_cap) {
        uint32_t cap = d->heap_cap ? d->heap_cap * 2 : 256;
        struct held *n = realloc(d->heap, cap * sizeof(*n));
        if (!n)
            return PN_ENOMEM;
        d->heap = n;
        d->heap_cap = cap;
    }
    uint32_t i = d->heap_len++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!heap_less(&h, &d->heap[parent]))
            break;
        d->heap[i] = d->heap[parent];
        i = parent;
    }
    d->heap[i] = h;
    return 0;
}

static struct held heap_pop(struct fdir *d)
{
    struct held top = d->heap[0], last = d->heap[--d->heap_len];
    uint32_t i = 0, n = d->heap_len;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_less(&d->heap[c + 1], &d->heap[c]))
            c++;
        if (!heap_less(&d->heap[c], &last))
            break;
        d->heap[i] = d->heap[c];
        i = c;
    }
    if (n)
        d->heap[i] = last;
    return top;
}

static int rh_push(struct fdir *d, struct rhold r)
{
    if (d->rh_len == d->rh_cap) {
        uint32_t cap = d->rh_cap ? d->rh_cap * 2 : 16;
        struct rhold *n = realloc(d->rh, cap * sizeof(*n));
        if (!n)
            return PN_ENOMEM;
        d->rh = n;
        d->rh_cap = cap;
    }
    d->rh[d->rh_len++] = r;
    return 0;
}

/* Index of the held-back frame with the earliest deadline (ties: oldest), or -1. */
static int rh_first(const struct fdir *d)
{
    int best = -1;
    for (uint32_t i = 0; i < d->rh_len; i++)
        if (best < 0 || d->rh[i].deadline < d->rh[best].deadline)
            best = (int)i;
    return best;
}

static uint64_t dir_deadline(const struct fdir *d)
{
    uint64_t t = d->heap_len ? d->heap[0].due : PN_TIME_NEVER;
    int i = rh_first(d);
    if (i >= 0 && d->rh[i].deadline < t)
        t = d->rh[i].deadline;
    return t;
}

static bool dir_idle(const struct fdir *d)
{
    return !d->active && d->heap_len == 0 && d->rh_len == 0;
}

/* ---- stages ---- */

/* Borrows p; returns an owned, unshared copy (same headroom, flags) or NULL. */
static struct pn_pbuf *clone(const struct pn_pbuf *p)
{
    struct pn_pbuf *c = pn_pbuf_alloc(p->pool, pn_pbuf_headroom(p), p->len);
    if (!c)
        return NULL;
    memcpy(c->data, p->data, p->len);
    c->flags = p->flags;
    c->gso_size = p->gso_size;
    c->time = p->time;
    return c;
}

/* Consumes p; returns the owned, possibly replaced frame with one bit flipped. */
static struct pn_pbuf *corrupt(struct fdir *d, struct pn_pbuf *p)
{
    uint32_t from = d->cfg.corrupt_from;
    if (p->len <= from)
        return p;
    if (d->cfg.corrupt_ipv4_only && (p->len < 14 || p->data[12] != 0x08 || p->data[13] != 0x00))
        return p;
    if (pn_pbuf_shared(p)) { /* e.g. a clone of TCP's send queue: write a copy */
        struct pn_pbuf *c = clone(p);
        if (!c)
            return p;
        pn_pbuf_free(p);
        p = c;
    }
    uint32_t byte = from + (uint32_t)rng_below(d->rng, p->len - from);
    p->data[byte] ^= (uint8_t)(1u << rng_below(d->rng, 8));
    p->flags &= ~PN_PBUF_F_CSUM_OK; /* nobody has verified these bytes */
    d->c.corrupted++;
    return p;
}

/* Consumes p: rate limit, delay + jitter, reorder, then into the heap or the held list.
 * Returns 0, or -1 if the frame was dropped here (rate queue full or no memory). */
static int schedule(struct fdir *d, struct pn_pbuf *p, uint64_t now)
{
    const struct pn_fault_dir *cfg = &d->cfg;
    uint64_t t = now;
    if (cfg->rate) {
        while (d->rq_count && d->rq[d->rq_head] <= now) {
            d->rq_head = (d->rq_head + 1) % d->rq_cap;
            d->rq_count--;
        }
        if (d->rq_count == d->rq_cap) {
            d->c.rate_dropped++;
            pn_pbuf_free(p);
            return -1;
        }
        /* GCRA as a shaper: the frame may leave at TAT - tau (tau = the burst in ns),
         * then TAT advances by the frame's transmission time len / rate. */
        uint64_t tau = (uint64_t)((unsigned __int128)cfg->rate_burst * 1000000000u / cfg->rate);
        uint64_t dep = d->tat > tau ? d->tat - tau : 0;
        if (dep < now)
            dep = now;
        unsigned __int128 num = (unsigned __int128)p->len * 1000000000u + d->rate_rem;
        uint64_t cost = (uint64_t)(num / cfg->rate);
        d->rate_rem = (uint64_t)(num % cfg->rate);
        d->tat = (d->tat > dep ? d->tat : dep) + cost;
        d->rq[(d->rq_head + d->rq_count) % d->rq_cap] = dep;
        d->rq_count++;
        t = dep;
    }
    t += cfg->delay_ns;
    if (cfg->jitter_ns)
        t += rng_below(d->rng, cfg->jitter_ns + 1);
    if (t > now)
        d->c.delayed++;
    if (chance(d->rng, cfg->reorder)) {
        uint64_t hold = cfg->reorder_max_ns ? cfg->reorder_max_ns : 10000000u;
        struct rhold r = {.deadline = t + hold,
                          .after = d->seq,
                          .left = cfg->reorder_gap ? cfg->reorder_gap : 3,
                          .p = p};
        if (rh_push(d, r) < 0) {
            pn_pbuf_free(p);
            return -1;
        }
        d->c.reordered++;
    } else if (heap_push(d, (struct held){.due = t, .seq = d->seq++, .p = p}) < 0) {
        pn_pbuf_free(p);
        return -1;
    }
    d->c.in_flight++;
    return 0;
}

/* Consumes p into the pipeline. Returns 0 (accepted, maybe lost on the "wire") or -1
 * (dropped by a local queue). */
static int ingest(struct fdir *d, struct pn_pbuf *p, uint64_t now)
{
    const struct pn_fault_dir *cfg = &d->cfg;
    d->c.frames_in++;
    if (cfg->blackhole) {
        d->c.blackholed++;
        pn_pbuf_free(p);
        return 0;
    }
    if (chance(d->rng, cfg->loss)) {
        d->c.lost++;
        pn_pbuf_free(p);
        return 0;
    }
    if (chance(d->rng, cfg->corrupt))
        p = corrupt(d, p);
    if (chance(d->rng, cfg->duplicate)) {
        struct pn_pbuf *c = clone(p);
        if (c) {
            d->c.duplicated++;
            schedule(d, c, now);
        }
    }
    return schedule(d, p, now);
}

/* Moves up to max due frames (due <= now) into out[] in release order; returns how many. */
static int release(struct fdir *d, struct pn_pbuf **out, int max, uint64_t now)
{
    int n = 0;
    while (n < max) {
        int r = rh_first(d);
        uint64_t hd = d->heap_len ? d->heap[0].due : PN_TIME_NEVER;
        struct pn_pbuf *p;
        if (r >= 0 && d->rh[r].deadline <= now && d->rh[r].deadline <= hd) {
            p = d->rh[r].p;
            memmove(&d->rh[r], &d->rh[r + 1], (d->rh_len - (uint32_t)r - 1) * sizeof(*d->rh));
            d->rh_len--;
        } else if (hd <= now) {
            struct held h = heap_pop(d);
            p = h.p;
            /* One more later frame has left: held-back frames whose gap is used up go
             * next (deadline 0 sorts them first, in the order they were held). */
            for (uint32_t i = 0; i < d->rh_len; i++)
                if (h.seq >= d->rh[i].after && d->rh[i].left && --d->rh[i].left == 0)
                    d->rh[i].deadline = 0;
        } else {
            break;
        }
        d->c.in_flight--;
        d->c.frames_out++;
        d->c.bytes_out += p->len;
        out[n++] = p;
    }
    return n;
}

static void dir_purge(struct fdir *d)
{
    for (uint32_t i = 0; i < d->heap_len; i++)
        pn_pbuf_free(d->heap[i].p);
    for (uint32_t i = 0; i < d->rh_len; i++)
        pn_pbuf_free(d->rh[i].p);
    d->heap_len = d->rh_len = 0;
    d->c.in_flight = 0;
    free(d->heap);
    free(d->rh);
    free(d->rq);
}

static bool prob_ok(double p)
{
    return !isnan(p) && p >= 0.0 && p <= 1.0;
}

static bool dir_ok(const struct pn_fault_dir *c)
{
    return prob_ok(c->loss) && prob_ok(c->corrupt) && prob_ok(c->duplicate) && prob_ok(c->reorder);
}

/* Installs a direction's config; the rate ring is resized only when empty. */
static int dir_set(struct fdir *d, const struct pn_fault_dir *c)
{
    uint32_t q = c->rate_queue ? c->rate_queue : 128;
    if (c->rate && (!d->rq || (d->rq_cap != q && d->rq_count == 0))) {
        uint64_t *n = realloc(d->rq, q * sizeof(*n));
        if (!n)
            return PN_ENOMEM;
        d->rq = n;
        d->rq_cap = q;
        d->rq_head = 0;
    }
    d->cfg = *c;
    d->active = c->blackhole || c->loss > 0 || c->corrupt > 0 || c->duplicate > 0 || c->rate ||
                c->delay_ns || c->jitter_ns || c->reorder > 0;
    return 0;
}

/* ---- link ops ---- */

static void sync_counters(struct fault_link *w)
{
    w->link.counters = w->inner->counters;
    w->link.counters.tx_dropped += w->tx.c.rate_dropped;
    w->link.counters.rx_dropped += w->rx.c.rate_dropped;
}

/* Hands every due tx frame to the inner link. */
static void flush_tx(struct fault_link *w, uint64_t now)
{
    struct pn_pbuf *burst[64];
    int n;
    while ((n = release(&w->tx, burst, 64, now)) > 0)
        w->inner->ops->tx_burst(w->inner, burst, n, now);
}

static int fault_tx(struct pn_link *l, struct pn_pbuf **frames, int n, uint64_t now)
{
    struct fault_link *w = (struct fault_link *)l;
    int accepted;
    if (dir_idle(&w->tx)) {
        w->tx.c.frames_in += (uint64_t)n;
        w->tx.c.frames_out += (uint64_t)n;
        for (int i = 0; i < n; i++)
            w->tx.c.bytes_out += frames[i]->len;
        accepted = w->inner->ops->tx_burst(w->inner, frames, n, now);
    } else {
        accepted = 0;
        for (int i = 0; i < n; i++)
            accepted += ingest(&w->tx, frames[i], now) == 0;
        flush_tx(w, now);
    }
    sync_counters(w);
    return accepted;
}

static int fault_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                    uint64_t now)
{
    struct fault_link *w = (struct fault_link *)l;
    flush_tx(w, now);
    int n;
    if (dir_idle(&w->rx)) {
        n = w->inner->ops->rx_burst(w->inner, pool, out, max, now);
        if (n > 0) {
            w->rx.c.frames_in += (uint64_t)n;
            w->rx.c.frames_out += (uint64_t)n;
            for (int i = 0; i < n; i++)
                w->rx.c.bytes_out += out[i]->len;
        }
    } else {
        n = w->inner->ops->rx_burst(w->inner, pool, out, max, now);
        if (n < 0) {
            sync_counters(w);
            return n;
        }
        for (int i = 0; i < n; i++)
            ingest(&w->rx, out[i], now);
        n = release(&w->rx, out, max, now);
    }
    sync_counters(w);
    return n;
}

static int fault_fd(struct pn_link *l)
{
    return pn_link_fd(((struct fault_link *)l)->inner);
}

static uint64_t fault_next_deadline(struct pn_link *l)
{
    struct fault_link *w = (struct fault_link *)l;
    uint64_t t = pn_link_next_deadline(w->inner), x = dir_deadline(&w->tx),
             y = dir_deadline(&w->rx);
    if (x < t)
        t = x;
    if (y < t)
        t = y;
    return t;
}

static void fault_destroy(struct pn_link *l)
{
    struct fault_link *w = (struct fault_link *)l;
    dir_purge(&w->tx);
    dir_purge(&w->rx);
    pn_link_destroy(w->inner);
    free(w);
}

static const struct pn_link_ops fault_ops = {
    .name = "fault",
    .rx_burst = fault_rx,
    .tx_burst = fault_tx,
    .fd = fault_fd,
    .next_deadline = fault_next_deadline,
    .destroy = fault_destroy,
};

bool pn_link_is_fault(const struct pn_link *l)
{
    return l && l->ops == &fault_ops;
}

int pn_link_fault_configure(struct pn_link *l, const struct pn_fault_config *cfg)
{
    static const struct pn_fault_config none;
    if (!pn_link_is_fault(l))
        return PN_EINVAL;
    if (!cfg)
        cfg = &none;
    if (!dir_ok(&cfg->tx) || !dir_ok(&cfg->rx))
        return PN_EINVAL;
    struct fault_link *w = (struct fault_link *)l;
    int err = dir_set(&w->tx, &cfg->tx);
    if (err == 0)
        err = dir_set(&w->rx, &cfg->rx);
    return err;
}

int pn_link_fault_blackhole(struct pn_link *l, bool tx, bool rx)
{
    if (!pn_link_is_fault(l))
        return PN_EINVAL;
    struct fault_link *w = (struct fault_link *)l;
    struct pn_fault_dir t = w->tx.cfg, r = w->rx.cfg;
    t.blackhole = tx;
    r.blackhole = rx;
    dir_set(&w->tx, &t); /* cannot fail: the rate ring is unchanged */
    dir_set(&w->rx, &r);
    return 0;
}

int pn_link_fault_counters(const struct pn_link *l, struct pn_fault_counters *tx,
                           struct pn_fault_counters *rx)
{
    if (!pn_link_is_fault(l))
        return PN_EINVAL;
    const struct fault_link *w = (const struct fault_link *)l;
    if (tx)
        *tx = w->tx.c;
    if (rx)
        *rx = w->rx.c;
    return 0;
}

int pn_link_fault_wrap(struct pn_link *inner, const struct pn_fault_config *cfg, uint64_t seed,
                       struct pn_link **out)
{
    if (!inner || !out)
        return PN_EINVAL;
    if (cfg && (!dir_ok(&cfg->tx) || !dir_ok(&cfg->rx)))
        return PN_EINVAL;
    struct fault_link *w = calloc(1, sizeof(*w));
    if (!w)
        return PN_ENOMEM;
    w->link.ops = &fault_ops;
    w->link.caps = inner->caps;
    w->link.counters = inner->counters;
    rng_seed(w->tx.rng, seed, 1);
    rng_seed(w->rx.rng, seed, 2);
    int err = pn_link_fault_configure(&w->link, cfg);
    if (err < 0) {
        dir_purge(&w->tx);
        dir_purge(&w->rx);
        free(w);
        return err;
    }
    w->inner = inner;
    *out = &w->link;
    return 0;
}
