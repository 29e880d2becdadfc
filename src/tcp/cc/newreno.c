/* tcp/cc/newreno.c — RFC 5681 slow start and congestion avoidance with appropriate byte
 * counting (RFC 3465), and the reduction used by NewReno fast recovery (RFC 6582; the
 * recovery itself is in tcp/input.c). Selected by name "newreno" (registry.c). */
#include "tcp/tcp.h"

static void nr_init(struct pn_tcb *t)
{
    t->ssthresh = UINT32_MAX; /* RFC 5681 §3.1: "arbitrarily high" */
    t->cc_state.newreno.bytes_acked = 0;
}

static void nr_on_ack(struct pn_tcb *t, uint32_t acked, uint64_t now)
{
    if (t->cwnd < t->ssthresh) {
        /* Slow start, RFC 3465 §2.2: grow by the bytes acked, at most L = 2*SMSS per ACK. */
        uint32_t inc = acked < 2u * t->mss ? acked : 2u * t->mss;
        t->cwnd += inc;
        return;
    }
    /* Congestion avoidance, RFC 3465 §2.1: one SMSS per cwnd of bytes acknowledged. */
    t->cc_state.newreno.bytes_acked += acked;
    if (t->cc_state.newreno.bytes_acked >= t->cwnd) {
        t->cc_state.newreno.bytes_acked -= t->cwnd;
        t->cwnd += t->mss;
    }
}

static void nr_on_congestion(struct pn_tcb *t, enum pn_cc_event ev, uint64_t now)
{
    /* RFC 5681 eqn. 4: ssthresh = max(FlightSize / 2, 2*SMSS). */
    uint32_t half = pn_cc_flight(t) / 2;
    t->ssthresh = half > 2u * t->mss ? half : 2u * t->mss;
    t->cc_state.newreno.bytes_acked = 0;
    if (ev == PN_CC_EV_RTO)
        t->cwnd = t->mss; /* RFC 5681 §3.1: the loss window is one segment */
}

static void nr_after_idle(struct pn_tcb *t, uint64_t now)
{
    /* RFC 5681 §4.1: restart from min(RW, cwnd) with RW = the initial window. */
    uint32_t rw = pn_cc_initial_window(t->mss, 0);
    if (t->cwnd > rw)
        t->cwnd = rw;
}

const struct pn_cc_ops pn_cc_newreno = {
    .name = "newreno",
    .init = nr_init,
    .on_ack = nr_on_ack,
    .on_congestion = nr_on_congestion,
    .after_idle = nr_after_idle,
};
