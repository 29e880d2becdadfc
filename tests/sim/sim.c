/* tests/sim/sim.c — the simulation harness (sim.h): scenario generator, byte pattern,
 * two faulty stacks on a virtual clock, and the UDP (selective-repeat ARQ) and TCP
 * transfers that check every byte. Call chain: sim_run -> sim_net_init -> loop {
 * sim_net_poll -> app step (udp_step | tcp_step) -> sim_net_deadline -> jump } . */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "sim.h"

#define SIM_ADDR_A PN_IP4(10, 0, 0, 1)
#define SIM_ADDR_B PN_IP4(10, 0, 0, 2)
static const struct pn_mac SIM_MAC_A = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct pn_mac SIM_MAC_B = {{0x02, 0, 0, 0, 0, 0x02}};

/* ---- small deterministic PRNG for the generator (splitmix64) ---- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t gen_next(uint64_t *s)
{
    return mix64(*s += 0x9e3779b97f4a7c15ull);
}

static uint64_t gen_below(uint64_t *s, uint64_t bound)
{
    return bound ? (uint64_t)(((unsigned __int128)gen_next(s) * bound) >> 64) : 0;
}

static double gen_unit(uint64_t *s)
{
    return (double)(gen_next(s) >> 11) * 0x1p-53;
}

static bool gen_pct(uint64_t *s, unsigned pct)
{
    return gen_below(s, 100) < pct;
}

/* ---- scenarios ---- */

void sim_profile_default(struct sim_profile *p)
{
    p->small_max = 256u << 10;
    p->medium_max = 1u << 20;
    p->large_max = 8u << 20;
    p->medium_pct = 12;
    p->large_pct = 3;
    p->max_loss = 0.20;
    p->max_delay = PN_MS(50);
}

static uint64_t gen_size(uint64_t *s, const struct sim_profile *p)
{
    uint64_t u = gen_below(s, 100);
    if (u < p->large_pct)
        return p->medium_max + gen_below(s, p->large_max - p->medium_max + 1);
    if (u < p->large_pct + p->medium_pct)
        return p->small_max + gen_below(s, p->medium_max - p->small_max + 1);
    return gen_below(s, p->small_max + 1);
}

static void gen_dir(uint64_t *s, const struct sim_profile *p, struct pn_fault_dir *d)
{
    memset(d, 0, sizeof(*d));
    if (gen_pct(s, 70))
        d->loss = gen_unit(s) * p->max_loss;
    if (gen_pct(s, 30)) {
        d->reorder = gen_unit(s) * 0.10;
        d->reorder_gap = 1 + (uint32_t)gen_below(s, 8);
        d->reorder_max_ns = PN_MS(1 + gen_below(s, 20));
    }
    if (gen_pct(s, 25))
        d->duplicate = gen_unit(s) * 0.05;
    if (gen_pct(s, 25)) {
        d->corrupt = gen_unit(s) * 0.05;
        d->corrupt_from = 14;        /* a real NIC's FCS guards the Ethernet header */
        d->corrupt_ipv4_only = true; /* ARP has no checksum to catch a flipped bit */
    }
    d->delay_ns = gen_below(s, p->max_delay + 1);
    if (gen_pct(s, 25))
        d->jitter_ns = gen_below(s, d->delay_ns / 4 + PN_MS(1) + 1);
    if (gen_pct(s, 15)) {
        d->rate = (1 + gen_below(s, 50)) * 1000000u;
        d->rate_queue = 32 + (uint32_t)gen_below(s, 225);
        d->rate_burst = (uint32_t)gen_below(s, 65536);
    }
}

void sim_scenario_gen(uint64_t seed, enum sim_proto proto, const struct sim_profile *prof,
                      struct sim_scenario *sc)
{
    struct sim_profile def;
    if (!prof) {
        sim_profile_default(&def);
        prof = &def;
    }
    uint64_t s = mix64(seed ^ 0x5eed5eed5eed5eedull);
    memset(sc, 0, sizeof(*sc));
    sc->seed = seed;
    sc->proto = proto;
    unsigned dir = (unsigned)gen_below(&s, 3); /* 0: A->B, 1: B->A, 2: both */
    uint64_t x = gen_size(&s, prof), y = gen_size(&s, prof);
    sc->bytes_ab = dir != 1 ? x : 0;
    sc->bytes_ba = dir != 0 ? y : 0;
    uint64_t m = gen_below(&s, 100);
    sc->mtu = m < 70 ? 1500 : m < 85 ? 9000 : 576 + (uint32_t)gen_below(&s, 925);
    sc->udp_chunk = gen_pct(&s, 80) ? 1 + (uint32_t)gen_below(&s, sc->mtu - 28)
                                    : 1 + (uint32_t)gen_below(&s, 8000);
    gen_dir(&s, prof, &sc->ab);
    gen_dir(&s, prof, &sc->ba);
    if (gen_pct(&s, 10)) {
        sc->outage_start = gen_below(&s, PN_MS(300)); /* most transfers are short */
        sc->outage_len = PN_MS(100) + gen_below(&s, PN_SEC(30));
        sc->outage_dirs = 1 + (unsigned)gen_below(&s, 3);
    }
    if (proto == SIM_UDP && sc->udp_chunk + 8 > sc->mtu - 20) {
        /* Fragmented: two one-bit flips in one datagram can cancel out in the 16-bit
         * ones'-complement checksum (RFC 1071), so corruption would be undetectable. */
        sc->ab.corrupt = sc->ba.corrupt = 0;
    }
    /* Stuck = slower than ~33 bytes/s of virtual time on top of an hour. Generous on
     * purpose: with ~20 % loss each way, RTOs backed off to 120 s, and RTT samples from
     * old echoed timestamps (RFC 7323 R2 drops an old duplicate before R3 updates
     * TS.Recent), a few seeds in a thousand crawl at 70-600 B/s yet deliver every byte.
     * A stall is caught sooner (no deadline left); an ACK war costs a poll per RTT. */
    sc->time_limit = PN_SEC(3600) + (sc->bytes_ab + sc->bytes_ba) * 30000000u;
    /* Both congestion control modules, by seed parity (keeps the generator's stream). */
    sc->cc = (seed & 1) ? "newreno" : "cubic";
}

static void print_dir(const struct pn_fault_dir *d, FILE *f)
{
    fprintf(f, "loss=%.3f reord=%.3f/%u dup=%.3f corrupt=%.3f delay=%.1fms jitter=%.1fms", d->loss,
            d->reorder, d->reorder_gap, d->duplicate, d->corrupt, d->delay_ns / 1e6,
            d->jitter_ns / 1e6);
    if (d->rate)
        fprintf(f, " rate=%.0fMB/s q=%u", d->rate / 1e6, d->rate_queue);
}

void sim_scenario_print(const struct sim_scenario *sc, FILE *f)
{
    fprintf(f, "seed=%llu %s a->b=%llu b->a=%llu mtu=%u", (unsigned long long)sc->seed,
            sc->proto == SIM_TCP ? "tcp" : "udp", (unsigned long long)sc->bytes_ab,
            (unsigned long long)sc->bytes_ba, sc->mtu);
    if (sc->proto == SIM_TCP)
        fprintf(f, " cc=%s", sc->cc);
    if (sc->proto == SIM_UDP)
        fprintf(f, " chunk=%u", sc->udp_chunk);
    if (sc->outage_len)
        fprintf(f, " outage=%s%s%s@%.3fs+%.3fs", sc->outage_dirs & 1 ? "a->b" : "",
                sc->outage_dirs == 3 ? "," : "", sc->outage_dirs & 2 ? "b->a" : "",
                sc->outage_start / 1e9, sc->outage_len / 1e9);
    fprintf(f, "\n  a->b: ");
    print_dir(&sc->ab, f);
    fprintf(f, "\n  b->a: ");
    print_dir(&sc->ba, f);
    fprintf(f, "\n");
}

/* ---- pattern: byte i of stream (seed, dir) is byte i%8 of mix64(key + i/8) ---- */

static uint64_t pattern_key(uint64_t seed, int dir)
{
    return mix64(seed * 2 + (uint64_t)dir + 0x1234567ull);
}

void sim_pattern(uint64_t seed, int dir, uint64_t off, void *buf, size_t len)
{
    uint8_t *b = buf;
    uint64_t key = pattern_key(seed, dir);
    size_t i = 0;
    while (i < len) {
        uint64_t pos = off + i, v = mix64(key + (pos >> 3) * 0x9e3779b97f4a7c15ull);
        for (unsigned k = (unsigned)(pos & 7); k < 8 && i < len; k++, i++)
            b[i] = (uint8_t)(v >> (8 * k));
    }
}

long sim_pattern_check(uint64_t seed, int dir, uint64_t off, const void *buf, size_t len)
{
    uint8_t tmp[4096];
    const uint8_t *b = buf;
    for (size_t done = 0; done < len;) {
        size_t n = len - done < sizeof(tmp) ? len - done : sizeof(tmp);
        sim_pattern(seed, dir, off + done, tmp, n);
        if (memcmp(tmp, b + done, n) != 0)
            for (size_t i = 0; i < n; i++)
                if (tmp[i] != b[done + i])
                    return (long)(done + i);
        done += n;
    }
    return -1;
}

/* ---- network ---- */

static void stack_config(struct pn_stack_config *c, uint64_t seed, uint32_t addr,
                         const struct pn_mac *mac)
{
    pn_stack_config_init(c);
    c->addr = addr;
    c->mac = *mac;
    c->prefix_len = 24;
    /* An outage of up to 30 s plus 20 % loss can eat the default 6 SYN retransmissions
     * (127 s): a failed connect is correct behaviour, but not what the sweep is after. */
    c->tcp_syn_retries = 10;
    uint64_t k0 = mix64(seed ^ addr), k1 = mix64(k0);
    memcpy(c->secret, &k0, 8);
    memcpy(c->secret + 8, &k1, 8);
}

int sim_net_init(struct sim_net *n, const struct sim_scenario *sc, const char *pcap_prefix)
{
    memset(n, 0, sizeof(*n));
    struct pn_link *a, *b;
    int err = pn_link_loop_pair(sc->mtu, 0, &a, &b);
    if (err < 0)
        return err;
    struct pn_fault_config fa = {.tx = sc->ab}, fb = {.tx = sc->ba};
    if ((err = pn_link_fault_wrap(a, &fa, mix64(sc->seed ^ 0xaaaa), &n->la)) < 0) {
        pn_link_destroy(a);
        pn_link_destroy(b);
        return err;
    }
    if ((err = pn_link_fault_wrap(b, &fb, mix64(sc->seed ^ 0xbbbb), &n->lb)) < 0) {
        pn_link_destroy(n->la);
        pn_link_destroy(b);
        return err;
    }
    n->fa = n->la;
    n->fb = n->lb;
    if (pcap_prefix) {
        char path[512];
        struct pn_link *w;
        snprintf(path, sizeof(path), "%s-a.pcap", pcap_prefix);
        if (pn_link_pcap_wrap(n->la, path, 0, &w, NULL, 0) == 0)
            n->la = w;
        snprintf(path, sizeof(path), "%s-b.pcap", pcap_prefix);
        if (pn_link_pcap_wrap(n->lb, path, 0, &w, NULL, 0) == 0)
            n->lb = w;
    }
    n->now = n->start = PN_SEC(1);
    struct pn_stack_config ca, cb;
    stack_config(&ca, sc->seed, SIM_ADDR_A, &SIM_MAC_A);
    stack_config(&cb, sc->seed, SIM_ADDR_B, &SIM_MAC_B);
    if ((err = pn_stack_new(&ca, n->la, n->now, &n->a)) < 0 ||
        (err = pn_stack_new(&cb, n->lb, n->now, &n->b)) < 0) {
        sim_net_fini(n);
        return err;
    }
    return 0;
}

void sim_net_fini(struct sim_net *n)
{
    pn_stack_free(n->a);
    pn_stack_free(n->b);
    pn_link_destroy(n->la);
    pn_link_destroy(n->lb);
    memset(n, 0, sizeof(*n));
}

void sim_net_poll(struct sim_net *n)
{
    pn_stack_poll(n->a, n->now);
    pn_stack_poll(n->b, n->now);
    n->steps++;
}

uint64_t sim_net_deadline(const struct sim_net *n, uint64_t app)
{
    uint64_t x = pn_stack_next_deadline(n->a), y = pn_stack_next_deadline(n->b);
    uint64_t t = x < y ? x : y;
    return app < t ? app : t;
}

/* ---- runs ---- */

struct run {
    const struct sim_scenario *sc;
    struct sim_net net;
    struct sim_result *res;
    bool verbose;
    uint8_t buf[65536];
};

static void fail(struct run *r, const char *fmt, ...)
{
    if (!r->res->ok)
        return; /* keep the first failure */
    r->res->ok = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->res->why, sizeof(r->res->why), fmt, ap);
    va_end(ap);
}

/* UDP: a selective-repeat ARQ per direction. Data: 'D', dir, seq; the receiver checks
 * length and pattern and answers 'K', dir, seq, cumulative. The sender keeps a window of
 * datagrams in flight and resends each after a fixed timeout. */
#define UDP_HDR 16
#define UDP_PORT_A 5001
#define UDP_PORT_B 5002

struct uflow {
    int dir;
    uint64_t bytes;
    uint32_t chunk, nchunks, window, base, nacked, cum;
    uint64_t rto;
    uint8_t *acked, *got;
    uint64_t *sent_at;
    struct pn_socket *tx, *rx; /* sender's and receiver's sockets */
    struct pn_endpoint to_rx, to_tx;
};

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint32_t chunk_len(const struct uflow *f, uint32_t seq)
{
    uint64_t off = (uint64_t)seq * f->chunk;
    return (uint32_t)(f->bytes - off < f->chunk ? f->bytes - off : f->chunk);
}

static uint64_t dir_delay(const struct pn_fault_dir *d)
{
    uint64_t t = d->delay_ns + d->jitter_ns + (d->reorder > 0 ? d->reorder_max_ns : 0);
    return t;
}

static void uflow_init(struct uflow *f, const struct sim_scenario *sc, int dir)
{
    memset(f, 0, sizeof(*f));
    f->dir = dir;
    f->bytes = dir == 0 ? sc->bytes_ab : sc->bytes_ba;
    f->chunk = sc->udp_chunk;
    f->nchunks = (uint32_t)((f->bytes + f->chunk - 1) / f->chunk);
    uint32_t w = (128u << 10) / (f->chunk + UDP_HDR);
    f->window = w < 4 ? 4 : w > 256 ? 256 : w;
    const struct pn_fault_dir *fwd = dir == 0 ? &sc->ab : &sc->ba,
                              *back = dir == 0 ? &sc->ba : &sc->ab;
    f->rto = 2 * (dir_delay(fwd) + dir_delay(back)) + PN_MS(20);
    uint64_t slowest =
        fwd->rate && (!back->rate || back->rate > fwd->rate) ? fwd->rate : back->rate;
    if (slowest) /* the whole window queued behind the rate limit */
        f->rto += (uint64_t)f->window * (f->chunk + 64) * 1000000000ull / slowest;
    f->acked = calloc(f->nchunks + 1, 1);
    f->got = calloc(f->nchunks + 1, 1);
    f->sent_at = malloc((f->nchunks + 1) * sizeof(*f->sent_at));
    for (uint32_t i = 0; i <= f->nchunks; i++)
        f->sent_at[i] = PN_TIME_NEVER;
}

static void uflow_free(struct uflow *f)
{
    free(f->acked);
    free(f->got);
    free(f->sent_at);
}

static bool uflow_done(const struct uflow *f)
{
    return f->nacked == f->nchunks && f->cum == f->nchunks;
}

/* Sends what the window allows; returns the flow's next retransmission time. */
static uint64_t uflow_send(struct run *r, struct uflow *f)
{
    uint64_t now = r->net.now, next = PN_TIME_NEVER;
    while (f->base < f->nchunks && f->acked[f->base])
        f->base++;
    uint32_t end = f->base + f->window < f->nchunks ? f->base + f->window : f->nchunks;
    for (uint32_t s = f->base; s < end; s++) {
        if (f->acked[s])
            continue;
        if (f->sent_at[s] != PN_TIME_NEVER && now < f->sent_at[s] + f->rto) {
            if (f->sent_at[s] + f->rto < next)
                next = f->sent_at[s] + f->rto;
            continue;
        }
        uint32_t len = chunk_len(f, s);
        r->buf[0] = 'D';
        r->buf[1] = (uint8_t)f->dir;
        put32(r->buf + 4, s);
        put32(r->buf + 8, len);
        sim_pattern(r->sc->seed, f->dir, (uint64_t)s * f->chunk, r->buf + UDP_HDR, len);
        long n = pn_sendto(f->tx, r->buf, UDP_HDR + len, 0, &f->to_rx);
        if (n == PN_ENOBUFS) { /* pool or queue full: try again shortly */
            next = now + PN_MS(1) < next ? now + PN_MS(1) : next;
            break;
        }
        if (n == PN_EHOSTUNREACH) { /* ARP gave up under loss: the next try asks again */
            f->sent_at[s] = now;
            next = now + f->rto < next ? now + f->rto : next;
            continue;
        }
        if (n != (long)(UDP_HDR + len)) {
            fail(r, "udp dir %d: sendto seq %u: %s", f->dir, s, pn_errname((int)n));
            return PN_TIME_NEVER;
        }
        f->sent_at[s] = now;
        if (now + f->rto < next)
            next = now + f->rto;
    }
    return next;
}

/* A datagram arrived on socket sk; flows[0..1] tell what it means. */
static void udp_input(struct run *r, struct uflow *flows, const uint8_t *p, long n, bool on_a)
{
    if (n < UDP_HDR) {
        fail(r, "udp: runt datagram of %ld bytes delivered", n);
        return;
    }
    int dir = p[1];
    if (dir > 1 || (p[0] != 'D' && p[0] != 'K')) {
        fail(r, "udp: datagram with a bad header delivered (type %u dir %u)", p[0], p[1]);
        return;
    }
    struct uflow *f = &flows[dir];
    uint32_t seq = get32(p + 4), v = get32(p + 8);
    if (p[0] == 'D') {
        /* data for dir 0 lands on B, for dir 1 on A */
        if ((dir == 0) == on_a || seq >= f->nchunks || v != chunk_len(f, seq) ||
            n != (long)(UDP_HDR + v)) {
            fail(r, "udp dir %d: bad data datagram seq %u len %u (size %ld)", dir, seq, v, n);
            return;
        }
        long bad = sim_pattern_check(r->sc->seed, dir, (uint64_t)seq * f->chunk, p + UDP_HDR, v);
        if (bad >= 0) {
            fail(r, "udp dir %d: corrupt byte delivered at stream offset %llu", dir,
                 (unsigned long long)((uint64_t)seq * f->chunk + (uint64_t)bad));
            return;
        }
        if (!f->got[seq]) {
            f->got[seq] = 1;
            r->res->delivered[dir] += v;
            while (f->cum < f->nchunks && f->got[f->cum])
                f->cum++;
        }
        uint8_t ack[UDP_HDR] = {'K', (uint8_t)dir};
        put32(ack + 4, seq);
        put32(ack + 8, f->cum);
        long k = pn_sendto(f->rx, ack, sizeof(ack), 0, &f->to_tx);
        if (k < 0 && k != PN_ENOBUFS && k != PN_EHOSTUNREACH)
            fail(r, "udp dir %d: ack sendto: %s", dir, pn_errname((int)k));
    } else {
        if ((dir == 0) != on_a || seq >= f->nchunks || v > f->nchunks) {
            fail(r, "udp dir %d: bad ack seq %u cum %u", dir, seq, v);
            return;
        }
        for (uint32_t s = f->base; s < v; s++)
            if (!f->acked[s]) {
                f->acked[s] = 1;
                f->nacked++;
            }
        if (!f->acked[seq]) {
            f->acked[seq] = 1;
            f->nacked++;
        }
    }
}

static void udp_drain(struct run *r, struct uflow *flows, struct pn_socket *sk, bool on_a)
{
    for (;;) {
        long n = pn_recvfrom(sk, r->buf, sizeof(r->buf), 0, NULL);
        if (n == PN_EAGAIN)
            return;
        if (n < 0) {
            /* An ICMP error queued on the socket (e.g. port unreachable) is not expected. */
            fail(r, "udp: recv: %s", pn_errname((int)n));
            return;
        }
        udp_input(r, flows, r->buf, n, on_a);
        if (!r->res->ok)
            return;
    }
}

static bool sim_loop(struct run *r, bool (*step)(struct run *, void *, uint64_t *), void *arg)
{
    struct sim_net *n = &r->net;
    uint64_t same_time = 0;
    const struct sim_scenario *sc = r->sc;
    uint64_t out_on = n->start + sc->outage_start, out_off = out_on + sc->outage_len;
    for (;;) {
        uint64_t app = PN_TIME_NEVER;
        if (sc->outage_len) { /* switch the blackholes at exactly the outage's edges */
            bool on = n->now >= out_on && n->now < out_off;
            pn_link_fault_blackhole(n->fa, on && (sc->outage_dirs & 1), false);
            pn_link_fault_blackhole(n->fb, on && (sc->outage_dirs & 2), false);
            app = n->now < out_on ? out_on : n->now < out_off ? out_off : PN_TIME_NEVER;
        }
        sim_net_poll(n);
        if (step(r, arg, &app))
            return true;
        if (!r->res->ok)
            return false;
        uint64_t next = sim_net_deadline(n, app);
        if (next <= n->now) {
            if (++same_time > 1000000) {
                fail(r, "livelock: a million polls without time advancing at t=%.6fs",
                     (n->now - n->start) / 1e9);
                return false;
            }
            continue;
        }
        same_time = 0;
        if (next == PN_TIME_NEVER) {
            fail(r, "stalled at t=%.6fs: nothing left to happen", (n->now - n->start) / 1e9);
            return false;
        }
        if (next - n->start > r->sc->time_limit) {
            fail(r, "not finished after %.0f s of virtual time", r->sc->time_limit / 1e9);
            return false;
        }
        n->now = next;
    }
}

struct udp_ctx {
    struct uflow f[2];
    struct pn_socket *sa, *sb;
};

static bool udp_step(struct run *r, void *arg, uint64_t *app)
{
    struct udp_ctx *u = arg;
    udp_drain(r, u->f, u->sa, true);
    udp_drain(r, u->f, u->sb, false);
    for (int d = 0; d < 2 && r->res->ok; d++) {
        uint64_t t = uflow_send(r, &u->f[d]);
        if (t < *app)
            *app = t;
    }
    return r->res->ok && uflow_done(&u->f[0]) && uflow_done(&u->f[1]);
}

static void run_udp(struct run *r)
{
    struct udp_ctx u;
    struct pn_endpoint ea = {SIM_ADDR_A, UDP_PORT_A}, eb = {SIM_ADDR_B, UDP_PORT_B};
    int err;
    if ((err = pn_socket(r->net.a, PN_SOCK_DGRAM, &u.sa)) < 0 ||
        (err = pn_socket(r->net.b, PN_SOCK_DGRAM, &u.sb)) < 0) {
        fail(r, "udp socket: %s", pn_errname(err));
        return;
    }
    int big = 4 << 20;
    pn_setsockopt(u.sa, PN_SO_RCVBUF, &big, sizeof(big));
    pn_setsockopt(u.sb, PN_SO_RCVBUF, &big, sizeof(big));
    pn_bind(u.sa, &ea);
    pn_bind(u.sb, &eb);
    for (int d = 0; d < 2; d++) {
        uflow_init(&u.f[d], r->sc, d);
        u.f[d].tx = d == 0 ? u.sa : u.sb;
        u.f[d].rx = d == 0 ? u.sb : u.sa;
        u.f[d].to_rx = d == 0 ? eb : ea;
        u.f[d].to_tx = d == 0 ? ea : eb;
    }
    sim_loop(r, udp_step, &u);
    for (int d = 0; d < 2; d++)
        uflow_free(&u.f[d]);
    pn_close(u.sa);
    pn_close(u.sb);
}

/* TCP: A connects to B:80; each side sends its stream, then shuts down writing, and reads
 * the other's stream to EOF, checking every byte against the pattern. */
struct tside {
    struct pn_socket *sk;
    int out_dir, in_dir;
    uint64_t to_send, sent, to_recv, recvd;
    bool est, shut, eof;
};

struct tcp_ctx {
    struct pn_socket *listener;
    struct tside s[2]; /* A, B */
};

static bool retry_err(long e)
{
    return e == PN_EAGAIN || e == PN_ENOTCONN || e == PN_EINPROGRESS || e == PN_EALREADY;
}

static void tside_step(struct run *r, struct tside *t)
{
    if (!t->sk)
        return;
    unsigned ev = pn_socket_events(t->sk);
    if (ev & PN_EV_ERR) {
        int e = 0;
        size_t l = sizeof(e);
        pn_getsockopt(t->sk, PN_SO_ERROR, &e, &l);
        fail(r, "tcp dir %d: socket error %s after %llu/%llu sent, %llu/%llu received", t->out_dir,
             pn_errname(e), (unsigned long long)t->sent, (unsigned long long)t->to_send,
             (unsigned long long)t->recvd, (unsigned long long)t->to_recv);
        return;
    }
    while (t->sent < t->to_send) {
        uint64_t left = t->to_send - t->sent;
        size_t len = left < sizeof(r->buf) ? (size_t)left : sizeof(r->buf);
        sim_pattern(r->sc->seed, t->out_dir, t->sent, r->buf, len);
        long n = pn_send(t->sk, r->buf, len, 0);
        if (n > 0) {
            t->sent += (uint64_t)n;
            continue;
        }
        if (n == 0 || retry_err(n))
            break;
        fail(r, "tcp dir %d: send: %s at %llu", t->out_dir, pn_errname((int)n),
             (unsigned long long)t->sent);
        return;
    }
    if (!t->est) {
        /* A FIN must wait for the handshake: CLOSE in SYN-SENT deletes the TCB (RFC 9293
         * §3.10.4), and Linux's shutdown(SHUT_WR) does the same. */
        struct pn_tcp_info info;
        t->est = pn_tcp_get_info(t->sk, &info) == 0 && info.state >= PN_TCP_ESTABLISHED;
    }
    if (t->est && t->sent == t->to_send && !t->shut) {
        int e = pn_shutdown(t->sk, PN_SHUT_WR);
        if (e == 0)
            t->shut = true;
        else if (!retry_err(e)) {
            fail(r, "tcp dir %d: shutdown: %s", t->out_dir, pn_errname(e));
            return;
        }
    }
    while (!t->eof) {
        long n = pn_recv(t->sk, r->buf, sizeof(r->buf), 0);
        if (n > 0) {
            if (t->recvd + (uint64_t)n > t->to_recv) {
                fail(r, "tcp dir %d: %llu bytes received, more than the %llu sent", t->in_dir,
                     (unsigned long long)(t->recvd + (uint64_t)n), (unsigned long long)t->to_recv);
                return;
            }
            long bad = sim_pattern_check(r->sc->seed, t->in_dir, t->recvd, r->buf, (size_t)n);
            if (bad >= 0) {
                fail(r, "tcp dir %d: wrong byte at stream offset %llu", t->in_dir,
                     (unsigned long long)(t->recvd + (uint64_t)bad));
                return;
            }
            t->recvd += (uint64_t)n;
            r->res->delivered[t->in_dir] = t->recvd;
            continue;
        }
        if (n == 0) {
            if (t->recvd != t->to_recv) {
                fail(r, "tcp dir %d: EOF after %llu of %llu bytes", t->in_dir,
                     (unsigned long long)t->recvd, (unsigned long long)t->to_recv);
                return;
            }
            t->eof = true;
            break;
        }
        if (retry_err(n))
            break;
        fail(r, "tcp dir %d: recv: %s at %llu", t->in_dir, pn_errname((int)n),
             (unsigned long long)t->recvd);
        return;
    }
}

#ifdef PN_SIM_HAVE_TCP
static bool tcp_step(struct run *r, void *arg, uint64_t *app)
{
    struct tcp_ctx *c = arg;
    if (!c->s[1].sk) {
        int e = pn_accept(c->listener, &c->s[1].sk, NULL);
        if (e < 0 && e != PN_EAGAIN) {
            fail(r, "tcp: accept: %s", pn_errname(e));
            return false;
        }
    }
    tside_step(r, &c->s[0]);
    tside_step(r, &c->s[1]);
    return r->res->ok && c->s[1].sk && c->s[0].shut && c->s[0].eof && c->s[1].shut && c->s[1].eof;
}

static void run_tcp(struct run *r)
{
    struct tcp_ctx c;
    memset(&c, 0, sizeof(c));
    struct pn_endpoint eb = {SIM_ADDR_B, 80};
    int err;
    if ((err = pn_socket(r->net.b, PN_SOCK_STREAM, &c.listener)) < 0 ||
        (err = pn_bind(c.listener, &eb)) < 0 || (err = pn_listen(c.listener, 8)) < 0 ||
        (err = pn_socket(r->net.a, PN_SOCK_STREAM, &c.s[0].sk)) < 0 ||
        (err = pn_setsockopt(c.listener, PN_TCP_CONGESTION, r->sc->cc, strlen(r->sc->cc))) < 0 ||
        (err = pn_setsockopt(c.s[0].sk, PN_TCP_CONGESTION, r->sc->cc, strlen(r->sc->cc))) < 0) {
        fail(r, "tcp setup: %s", pn_errname(err));
        return;
    }
    err = pn_connect(c.s[0].sk, &eb);
    if (err < 0 && err != PN_EINPROGRESS) {
        fail(r, "tcp connect: %s", pn_errname(err));
    } else {
        c.s[0].out_dir = 0;
        c.s[0].in_dir = 1;
        c.s[0].to_send = r->sc->bytes_ab;
        c.s[0].to_recv = r->sc->bytes_ba;
        c.s[1].out_dir = 1;
        c.s[1].in_dir = 0;
        c.s[1].to_send = r->sc->bytes_ba;
        c.s[1].to_recv = r->sc->bytes_ab;
        sim_loop(r, tcp_step, &c);
    }
    if (c.s[0].sk)
        pn_close(c.s[0].sk);
    if (c.s[1].sk)
        pn_close(c.s[1].sk);
    pn_close(c.listener);
}
#else
static void run_tcp(struct run *r)
{
    (void)tside_step;
    fail(r, "this build has no TCP stream calls (pn_listen/pn_accept)");
}
#endif

bool sim_tcp_available(void)
{
#ifndef PN_SIM_HAVE_TCP
    return false;
#endif
    struct sim_scenario sc;
    sim_scenario_gen(0, SIM_TCP, NULL, &sc);
    struct sim_net n;
    if (sim_net_init(&n, &sc, NULL) < 0)
        return false;
    struct pn_socket *s;
    int e = pn_socket(n.a, PN_SOCK_STREAM, &s);
    if (e == 0)
        pn_close(s);
    sim_net_fini(&n);
    return e == 0;
}

void sim_run(const struct sim_scenario *sc, const char *pcap_prefix, bool verbose,
             struct sim_result *res)
{
    memset(res, 0, sizeof(*res));
    res->ok = true;
    struct run *r = malloc(sizeof(*r));
    if (!r) {
        res->ok = false;
        snprintf(res->why, sizeof(res->why), "out of memory");
        return;
    }
    r->sc = sc;
    r->res = res;
    r->verbose = verbose;
    int err = sim_net_init(&r->net, sc, pcap_prefix);
    if (err < 0) {
        fail(r, "network setup: %s", pn_errname(err));
        free(r);
        return;
    }
    if (sc->proto == SIM_TCP)
        run_tcp(r);
    else
        run_udp(r);
    res->virtual_ns = r->net.now - r->net.start;
    res->steps = r->net.steps;
    pn_link_fault_counters(r->net.fa, &res->ab, NULL);
    pn_link_fault_counters(r->net.fb, &res->ba, NULL);
    if (res->ok && (res->delivered[0] != sc->bytes_ab || res->delivered[1] != sc->bytes_ba))
        fail(r, "finished with %llu/%llu and %llu/%llu bytes delivered",
             (unsigned long long)res->delivered[0], (unsigned long long)sc->bytes_ab,
             (unsigned long long)res->delivered[1], (unsigned long long)sc->bytes_ba);
    sim_net_fini(&r->net);
    free(r);
}
