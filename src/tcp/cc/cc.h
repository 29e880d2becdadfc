/* tcp/cc/cc.h — congestion control as a small vtable of hooks (after FreeBSD's cc.h and
 * quicly's cc.h): the core calls one wrapper per event; a module changes only cwnd and
 * ssthresh. Per-connection state is a fixed-size union inside the TCB (no malloc).
 * Loss detection and recovery bookkeeping (dupacks, NewReno partial ACKs) stay in the core;
 * a module decides how the window grows and how much it shrinks.
 * Modules: newreno.c, cubic.c (the default); hystart.c is HyStart++ for any module's slow
 * start; registry.c lists the modules (a new algorithm is one file plus one line there).
 * Call chain: tcp/input.c (ACK processing), tcp/timers.c (RTO, RTT samples) -> ops. */
#ifndef PN_TCP_CC_CC_H
#define PN_TCP_CC_CC_H

#include <stdbool.h>
#include <stdint.h>

struct pn_tcb;

enum pn_cc_event {
    PN_CC_EV_FAST_RETRANSMIT, /* three duplicate ACKs (RFC 5681 §3.2) */
    PN_CC_EV_RTO,             /* retransmission timeout (RFC 5681 §3.1, eqn. 4) */
};

/* HyStart++ (RFC 9406) state, embeddable in any module's state (hystart.c). RTTs in us. */
struct pn_hystart {
    uint32_t window_end;           /* a round ends when this is acknowledged (§4.2 windowEnd) */
    uint32_t last_round_min_rtt;   /* lastRoundMinRTT, UINT32_MAX = infinity */
    uint32_t cur_round_min_rtt;    /* currentRoundMinRTT */
    uint32_t css_baseline_min_rtt; /* cssBaselineMinRtt */
    uint32_t curr_rtt;             /* the sample of the ACK being processed, 0 = none */
    uint8_t samples;               /* rttSampleCount this round (saturating) */
    uint8_t css_rounds;            /* rounds begun in CSS, the partial first one included */
    uint8_t phase;                 /* PN_HYSTART_* (hystart.c) */
    uint8_t css_frac;              /* bytes of growth not yet added in CSS (< divisor) */
};

union pn_cc_state {
    struct {
        uint32_t bytes_acked; /* RFC 3465 byte counting in congestion avoidance */
    } newreno;
    struct {
        uint64_t t_epoch;    /* ns: start of the congestion avoidance stage (RFC 9438 §4.2) */
        uint64_t w_est;      /* W_est (§4.3) in bytes, fixed point with 10 fraction bits */
        uint32_t w_max;      /* W_max in bytes, 0 = undefined (§4.8, §4.10: set at epoch) */
        uint32_t cwnd_prior; /* cwnd when ssthresh was last set (§4.6, §4.3) */
        uint32_t k;          /* K (eqn. 2) in 1/1024 s */
        uint32_t inc_rem;    /* remainder of (target - cwnd) * acked / cwnd (§4.4) */
        struct pn_hystart hs;
        uint8_t flags; /* cubic.c CF_* */
    } cubic;
    uint64_t pad_[8]; /* the fixed size every module's state must fit in */
};
_Static_assert(sizeof(union pn_cc_state) == 64, "per-connection CC state is 64 bytes");

struct pn_cc_ops {
    const char *name;
    /* Set the initial cwnd/ssthresh (called once the MSS is known). */
    void (*init)(struct pn_tcb *t);
    /* `acked` new bytes were acknowledged outside recovery. */
    void (*on_ack)(struct pn_tcb *t, uint32_t acked, uint64_t now);
    /* Loss was detected: set ssthresh (and cwnd for an RTO). */
    void (*on_congestion)(struct pn_tcb *t, enum pn_cc_event ev, uint64_t now);
    /* Fast recovery ended with a full ACK (optional). */
    void (*on_recovery_end)(struct pn_tcb *t, uint64_t now);
    /* The connection was idle for more than an RTO (RFC 5681 §4.1) (optional). */
    void (*after_idle)(struct pn_tcb *t, uint64_t now);
    /* A new RTT sample (us) was taken from the ACK now being processed, before on_ack sees
     * that ACK; called in every state, also before init (optional). */
    void (*on_rtt_sample)(struct pn_tcb *t, uint32_t rtt_us, uint64_t now);
};

extern const struct pn_cc_ops pn_cc_newreno;
extern const struct pn_cc_ops pn_cc_cubic;

/* The registry: look a module up by name (e.g. "newreno"); NULL if unknown. */
const struct pn_cc_ops *pn_cc_find(const char *name);
/* The default module for new connections. */
const struct pn_cc_ops *pn_cc_default(void);
/* The RFC 5681 §3.1 / RFC 3390 initial window for mss, or iw_segs * mss if iw_segs > 0. */
uint32_t pn_cc_initial_window(uint32_t mss, uint32_t iw_segs);
/* Bytes in flight, as RFC 5681 uses FlightSize. */
uint32_t pn_cc_flight(const struct pn_tcb *t);

/* HyStart++ (RFC 9406, hystart.c) for the initial slow start (ssthresh still "arbitrarily
 * high"). Reset at init; feed each RTT sample; let it grow cwnd on each slow-start ACK. */
void pn_hystart_init(struct pn_hystart *h);
void pn_hystart_rtt_sample(struct pn_hystart *h, uint32_t rtt_us);
/* Grows t->cwnd for `acked` bytes in slow start. Returns true when HyStart++ ended slow start
 * (CSS_ROUNDS rounds of CSS completed): ssthresh has then been set to cwnd. */
bool pn_hystart_on_ack(struct pn_hystart *h, struct pn_tcb *t, uint32_t acked);
/* A loss ends HyStart++ for the connection (§4.2: enter congestion avoidance). */
void pn_hystart_stop(struct pn_hystart *h);
/* Is the connection in conservative slow start? */
bool pn_hystart_in_css(const struct pn_hystart *h);

#endif
