/* tcp/cc/cubic.c — CUBIC (RFC 9438), the default module: a cubic window curve around the
 * window of the last congestion event, a Reno-friendly floor, beta = 0.7, fast convergence,
 * HyStart++ (RFC 9406, hystart.c) for the first slow start. Integer arithmetic only.
 * Units: windows in bytes (segments = bytes / SMSS), `now` in ns, RTTs in us, and the curve's
 * time axis (t, K) in 1/1024 s. Call chain: tcp/input.c, tcp/timers.c -> pn_cc_cubic ops. */
#include "tcp/tcp.h"

/* RFC 9438 §4.6: beta_cubic = 0.7; §5.1: C = 0.4 (segments / s^3). */
#define BETA_NUM 7u
#define BETA_DEN 10u
#define C_NUM 2u
#define C_DEN 5u
/* §4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic) = 0.9 / 1.7 = 9 / 17. */
#define ALPHA_NUM 9u
#define ALPHA_DEN 17u
/* §4.7: fast convergence, W_max = cwnd * (1 + beta_cubic) / 2 = cwnd * 17 / 20. */
#define FC_NUM 17u
#define FC_DEN 20u

#define TSHIFT 10         /* curve time unit: 1/1024 s */
#define WEST_SHIFT 10     /* W_est fraction bits */
#define DMAX (1ull << 20) /* |t - K| is clamped to 1024 s: W_cubic is enormous by then */
#define CWND_MAX (UINT32_MAX / 2u)

enum {
    CF_EPOCH = 1u << 0, /* a congestion avoidance stage has begun: t_epoch, k, w_est valid */
};

#define CUBIC(t) (&(t)->cc_state.cubic)

/* Floor of the cube root of x (bitwise, Hacker's Delight 2nd ed. §11-2, widened to 64 bits). */
static uint32_t icbrt64(uint64_t x)
{
    uint64_t y = 0;
    for (int s = 63; s >= 0; s -= 3) {
        y <<= 1;
        uint64_t b = 3 * y * (y + 1) + 1;
        if ((x >> s) >= b) {
            x -= b << s;
            y++;
        }
    }
    return (uint32_t)y;
}

static uint64_t ns_to_units(uint64_t ns)
{
    if (ns > (UINT64_MAX >> TSHIFT))
        ns = UINT64_MAX >> TSHIFT;
    return (ns << TSHIFT) / 1000000000u;
}

/* RFC 9438 eqn. 2: K = cubic_root((W_max - cwnd_epoch) / C), in 1/1024 s. Both windows in
 * bytes; W_max > cwnd_epoch. */
static uint32_t cubic_k(uint32_t w_max, uint32_t cwnd_epoch, uint32_t mss)
{
    /* (W_max - cwnd_epoch) in segments with 20 fraction bits (< 2^46 since mss >= 64), over
     * C, then 10 more fraction bits: the cube root of a value with 30 fraction bits has 10. */
    uint64_t segs = ((uint64_t)(w_max - cwnd_epoch) << 20) / mss;
    return icbrt64((segs * C_DEN / C_NUM) << 10);
}

/* RFC 9438 eqn. 1: W_cubic(t) = C * (t - K)^3 + W_max, in bytes (t in 1/1024 s). */
static uint64_t w_cubic(const struct pn_tcb *t, uint64_t tu)
{
    const uint32_t mss = t->mss;
    uint64_t k = CUBIC(t)->k;
    uint64_t d = tu > k ? tu - k : k - tu;
    if (d > DMAX)
        d = DMAX;
    /* d^3 has 30 fraction bits (< 2^61); C * d^3 in segments with 20 fraction bits. */
    uint64_t segs = ((d * d * d) >> 10) * C_NUM / C_DEN;
    uint64_t delta =
        segs > (UINT64_MAX >> 1) / mss ? (uint64_t)UINT32_MAX << 2 : (segs * mss) >> 20;
    uint64_t w_max = CUBIC(t)->w_max;
    if (tu >= k)
        return w_max + delta;
    return delta < w_max ? w_max - delta : 0;
}

/* The start of a congestion avoidance stage (t_epoch, RFC 9438 §4.2). */
static void epoch_start(struct pn_tcb *t, uint64_t now)
{
    uint32_t cwnd = t->cwnd;
    CUBIC(t)->t_epoch = now;
    CUBIC(t)->flags |= CF_EPOCH;
    CUBIC(t)->inc_rem = 0;
    if (CUBIC(t)->w_max > cwnd) {
        CUBIC(t)->k = cubic_k(CUBIC(t)->w_max, cwnd, t->mss); /* eqn. 2 */
    } else {
        /* W_max undefined after an RTO (§4.8) or a HyStart++ exit (§4.10), or already passed
         * (cwnd_epoch >= W_max): K = 0 and W_max = cwnd_epoch, a convex start at cwnd. */
        CUBIC(t)->w_max = cwnd;
        CUBIC(t)->k = 0;
    }
    CUBIC(t)->w_est = (uint64_t)cwnd << WEST_SHIFT; /* §4.3: W_est = cwnd_epoch */
}

static void cubic_init(struct pn_tcb *t)
{
    t->ssthresh = UINT32_MAX; /* RFC 5681 §3.1: "arbitrarily high" */
    t->cc_state = (union pn_cc_state){0};
    pn_hystart_init(&CUBIC(t)->hs);
}

static void cubic_on_rtt_sample(struct pn_tcb *t, uint32_t rtt_us, uint64_t now)
{
    pn_hystart_rtt_sample(&CUBIC(t)->hs, rtt_us);
}

static void cubic_on_ack(struct pn_tcb *t, uint32_t acked, uint64_t now)
{
    if (acked == 0 || t->mss == 0)
        return;
    /* §5.8: CUBIC does not grow cwnd while the flow is application- (or receive-window-)
     * limited; here, when less than half of cwnd was in flight before this ACK. */
    if (((uint64_t)pn_cc_flight(t) + acked) * 2 < t->cwnd)
        return;
    if (t->cwnd < t->ssthresh) {
        /* §4.10: slow start, HyStart++ for the first one. Its exit (ssthresh = cwnd) leaves
         * W_max undefined: cwnd_prior = cwnd, and the first epoch starts with K = 0. */
        if (pn_hystart_on_ack(&CUBIC(t)->hs, t, acked)) {
            CUBIC(t)->cwnd_prior = t->cwnd;
            CUBIC(t)->w_max = 0;
            CUBIC(t)->flags &= (uint8_t)~CF_EPOCH;
        }
        if (t->cwnd > CWND_MAX)
            t->cwnd = CWND_MAX;
        return;
    }
    if (!(CUBIC(t)->flags & CF_EPOCH))
        epoch_start(t, now);
    const uint32_t cwnd = t->cwnd, mss = t->mss;

    /* §4.3 eqn. 4 with byte counting: W_est += alpha_cubic * segments_acked / cwnd, i.e.
     * alpha * acked * SMSS / cwnd bytes; alpha_cubic becomes 1 once W_est >= cwnd_prior. */
    uint64_t inc = (((uint64_t)acked * mss) << WEST_SHIFT) / cwnd;
    if (CUBIC(t)->w_est < ((uint64_t)CUBIC(t)->cwnd_prior << WEST_SHIFT))
        inc = inc * ALPHA_NUM / ALPHA_DEN;
    CUBIC(t)->w_est += inc;
    uint64_t w_est = CUBIC(t)->w_est >> WEST_SHIFT;

    /* §4.2: t = t_current - t_epoch. */
    uint64_t tu = ns_to_units(now - CUBIC(t)->t_epoch);
    uint64_t next = cwnd;
    if (w_cubic(t, tu) < w_est) {
        /* §4.3 Reno-friendly region: cwnd = W_est (never shrinking it). */
        if (w_est > next)
            next = w_est;
        CUBIC(t)->inc_rem = 0;
    } else {
        /* §4.2: target = W_cubic(t + RTT), RTT the smoothed RTT, bounded to
         * [cwnd, 1.5 * cwnd]; §4.4 (concave, cwnd < W_max) and §4.5 (convex, cwnd >= W_max)
         * alike: cwnd += (target - cwnd) / cwnd per ACK, in bytes (target - cwnd) * acked /
         * cwnd, keeping the remainder so small steps add up. */
        uint64_t rtt_u = ((uint64_t)t->srtt_us << TSHIFT) / 1000000u;
        uint64_t target = w_cubic(t, tu + rtt_u);
        if (target < cwnd)
            target = cwnd;
        else if (target > (uint64_t)cwnd + cwnd / 2)
            target = (uint64_t)cwnd + cwnd / 2;
        uint64_t num = (target - cwnd) * acked + CUBIC(t)->inc_rem;
        next += num / cwnd;
        CUBIC(t)->inc_rem = (uint32_t)(num % cwnd);
    }
    t->cwnd = next > CWND_MAX ? CWND_MAX : (uint32_t)next;
}

static void cubic_on_congestion(struct pn_tcb *t, enum pn_cc_event ev, uint64_t now)
{
    const uint32_t cwnd = t->cwnd, mss = t->mss;
    /* RFC 9406 §4.2: a loss during slow start or CSS ends HyStart++. */
    pn_hystart_stop(&CUBIC(t)->hs);
    if (ev == PN_CC_EV_RTO) {
        /* §4.8: the first congestion avoidance stage after a timeout uses K = 0 and
         * W_max = the cwnd at its start (left undefined here, set by epoch_start). */
        CUBIC(t)->w_max = 0;
    } else if (cwnd < CUBIC(t)->w_max) {
        /* §4.7 fast convergence: the saturation point fell, release bandwidth sooner. */
        CUBIC(t)->w_max = (uint32_t)((uint64_t)cwnd * FC_NUM / FC_DEN);
    } else {
        CUBIC(t)->w_max = cwnd; /* §4.6/§4.7: W_max = cwnd before the reduction */
    }
    /* §4.6: ssthresh = flight_size * beta_cubic, at least 2 SMSS; cwnd_prior = cwnd;
     * cwnd = max(ssthresh, 2 SMSS) on loss. For an RTO §4.8 follows RFC 5681: cwnd = LW = 1
     * SMSS. (The core then inflates cwnd for fast recovery, RFC 6582.) */
    uint64_t ss = (uint64_t)pn_cc_flight(t) * BETA_NUM / BETA_DEN;
    if (ss < 2u * mss)
        ss = 2u * mss;
    CUBIC(t)->cwnd_prior = cwnd;
    t->ssthresh = (uint32_t)ss;
    t->cwnd = ev == PN_CC_EV_RTO ? mss : (uint32_t)ss;
    CUBIC(t)->flags &= (uint8_t)~CF_EPOCH; /* a new stage begins with the next ACK in CA */
    CUBIC(t)->inc_rem = 0;
}

static void cubic_after_idle(struct pn_tcb *t, uint64_t now)
{
    /* RFC 5681 §4.1: restart from min(RW, cwnd), RW = the initial window. RFC 9438 §4.2 /
     * §5.8: t must not include the idle period, so the curve starts a new epoch. */
    uint32_t rw = pn_cc_initial_window(t->mss, 0);
    if (t->cwnd > rw)
        t->cwnd = rw;
    CUBIC(t)->flags &= (uint8_t)~CF_EPOCH;
}

const struct pn_cc_ops pn_cc_cubic = {
    .name = "cubic",
    .init = cubic_init,
    .on_ack = cubic_on_ack,
    .on_congestion = cubic_on_congestion,
    .after_idle = cubic_after_idle,
    .on_rtt_sample = cubic_on_rtt_sample,
};
