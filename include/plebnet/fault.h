/* plebnet/fault.h — the fault (impairment) link wrapper: loss, duplication, reordering,
 * delay + jitter, bit corruption, a rate limit and a blackhole switch, per direction, driven
 * by the caller's clock and a seeded PRNG so a run replays exactly from its seed.
 * Call chain: stack tx -> fault tx pipeline -> (held until due) -> inner tx_burst;
 *             inner rx_burst -> fault rx pipeline -> (held until due) -> stack. */
#ifndef PLEBNET_FAULT_H
#define PLEBNET_FAULT_H

#include <stdbool.h>
#include <stdint.h>
#include "plebnet/link.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The impairments of one direction. All zero = a plain pass-through (no copy, no delay).
 * Probabilities are in [0, 1] and drawn independently per frame. The stages run in this
 * order: blackhole, loss, corruption, duplication (the copy runs the stages after this
 * one on its own), rate limit, delay + jitter, reordering. */
struct pn_fault_dir {
    bool blackhole;          /* drop every frame (counted in `blackholed`) */
    double loss;             /* drop probability */
    double corrupt;          /* probability that one random bit of one random byte flips */
    uint32_t corrupt_from;   /* first byte offset eligible for corruption (14 = keep the
                              * Ethernet header intact, as a real NIC's FCS would) */
    bool corrupt_ipv4_only;  /* corrupt only IPv4 frames (ARP has no checksum to catch it) */
    double duplicate;        /* probability that a copy of the frame is sent too */
    uint64_t rate;           /* bytes per second through a token bucket (GCRA); 0 = unlimited */
    uint32_t rate_burst;     /* bucket depth in bytes: frames within it leave back to back;
                              * 0 = none: frames are spaced exactly len/rate apart */
    uint32_t rate_queue;     /* frames waiting for tokens at most (0 = 128); beyond: dropped */
    uint64_t delay_ns;       /* fixed one-way delay */
    uint64_t jitter_ns;      /* plus a uniform extra delay in [0, jitter_ns] (may reorder) */
    double reorder;          /* probability that a frame is held back ... */
    uint32_t reorder_gap;    /* ... until this many later frames have left (0 = 3) ... */
    uint64_t reorder_max_ns; /* ... or this long past its due time (0 = 10 ms), first wins */
};

struct pn_fault_config {
    struct pn_fault_dir tx; /* frames the wrapped stack sends */
    struct pn_fault_dir rx; /* frames the wrapped stack receives */
};

/* Per-direction counters. frames_in counts frames entering the direction, frames_out the
 * frames leaving it (duplicates included); frames still held are in_flight. */
struct pn_fault_counters {
    uint64_t frames_in, frames_out, bytes_out;
    uint64_t blackholed;   /* dropped by the blackhole switch */
    uint64_t lost;         /* dropped by random loss */
    uint64_t corrupted;    /* had one bit flipped */
    uint64_t duplicated;   /* extra copies made */
    uint64_t rate_dropped; /* dropped because the rate queue was full */
    uint64_t delayed;      /* held for a delay (delay, jitter or rate) */
    uint64_t reordered;    /* held back by the reorder stage */
    uint64_t in_flight;    /* currently held inside the wrapper */
};

/* Wraps `inner` in a fault link seeded with `seed`. cfg may be NULL (no impairment).
 * On success `inner` is consumed (destroying the wrapper destroys it) and *out is owned;
 * on error the caller still owns `inner`. The wrapper's caps are inner's; its counters
 * mirror inner's, plus rate-queue drops in tx_dropped. Returns 0, PN_EINVAL (NULL inner
 * or out, a probability outside [0, 1]) or PN_ENOMEM. */
int pn_link_fault_wrap(struct pn_link *inner, const struct pn_fault_config *cfg, uint64_t seed,
                       struct pn_link **out);
/* Replaces the impairments (frames already held keep their release times). Borrows both.
 * Returns 0 or PN_EINVAL (not a fault link, or a bad probability). */
int pn_link_fault_configure(struct pn_link *fault, const struct pn_fault_config *cfg);
/* Turns the blackhole switch of each direction on or off. Returns 0 or PN_EINVAL. */
int pn_link_fault_blackhole(struct pn_link *fault, bool tx, bool rx);
/* Copies the counters of each direction (either pointer may be NULL). Returns 0 or
 * PN_EINVAL (not a fault link). */
int pn_link_fault_counters(const struct pn_link *fault, struct pn_fault_counters *tx,
                           struct pn_fault_counters *rx);
/* Whether l is a fault wrapper. */
bool pn_link_is_fault(const struct pn_link *l);

#ifdef __cplusplus
}
#endif
#endif
