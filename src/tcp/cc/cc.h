/* tcp/cc/cc.h — congestion control as a small vtable of hooks (after FreeBSD's cc.h and
 * quicly's cc.h): the core calls one wrapper per event; a module changes only cwnd and
 * ssthresh. Per-connection state is a fixed-size union inside the TCB (no malloc).
 * Loss detection and recovery bookkeeping (dupacks, NewReno partial ACKs) stay in the core;
 * a module decides how the window grows and how much it shrinks.
 * Call chain: tcp/input.c (ACK processing) -> pn_cc_on_ack / pn_cc_on_congestion -> ops. */
#ifndef PN_TCP_CC_CC_H
#define PN_TCP_CC_CC_H

#include <stdint.h>

struct pn_tcb;

enum pn_cc_event {
    PN_CC_EV_FAST_RETRANSMIT, /* three duplicate ACKs (RFC 5681 §3.2) */
    PN_CC_EV_RTO,             /* retransmission timeout (RFC 5681 §3.1, eqn. 4) */
};

union pn_cc_state {
    struct {
        uint32_t bytes_acked; /* RFC 3465 byte counting in congestion avoidance */
    } newreno;
    uint64_t pad_[8];         /* room for CUBIC and friends */
};

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
};

extern const struct pn_cc_ops pn_cc_newreno;

/* The registry: look a module up by name (e.g. "newreno"); NULL if unknown. */
const struct pn_cc_ops *pn_cc_find(const char *name);
/* The default module for new connections. */
const struct pn_cc_ops *pn_cc_default(void);
/* The RFC 5681 §3.1 / RFC 3390 initial window for mss, or iw_segs * mss if iw_segs > 0. */
uint32_t pn_cc_initial_window(uint32_t mss, uint32_t iw_segs);
/* Bytes in flight, as RFC 5681 uses FlightSize. */
uint32_t pn_cc_flight(const struct pn_tcb *t);

#endif
