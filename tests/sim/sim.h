/* tests/sim/sim.h — deterministic simulation harness: two stacks on the loop link with a
 * fault wrapper on each direction, a virtual clock that jumps from deadline to deadline,
 * a seeded scenario generator, a byte pattern per seed with a checker, and transfers
 * (UDP with a small selective-repeat ARQ, TCP with every byte checked) driven to the end.
 * Call chain: sim_sweep main -> sim_scenario_gen -> sim_run -> sim_net_* + transfer steps
 *             -> pn_stack_poll (both stacks) -> fault links -> loop link. */
#ifndef PN_SIM_H
#define PN_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "plebnet/plebnet.h"

enum sim_proto { SIM_UDP = 1, SIM_TCP = 2 };

/* Everything a run depends on; derived from the seed alone by sim_scenario_gen. */
struct sim_scenario {
    uint64_t seed;
    enum sim_proto proto;
    uint64_t bytes_ab, bytes_ba; /* to transfer A -> B and B -> A (either may be 0) */
    uint32_t mtu;                /* loop link MTU */
    uint32_t udp_chunk;          /* UDP: payload bytes per datagram (> MTU fragments) */
    struct pn_fault_dir ab, ba;  /* impairments of each direction */
    /* An outage: from outage_start (virtual ns after the start) for outage_len, the
     * directions in outage_dirs (bit 0 = A->B, bit 1 = B->A) drop everything (the fault
     * wrapper's blackhole switch), e.g. to drive RTO backoff and recovery. */
    uint64_t outage_start, outage_len;
    unsigned outage_dirs;
    uint64_t time_limit; /* virtual ns before the run is declared stuck */
    const char *cc;      /* TCP congestion control: odd seeds NewReno, even seeds CUBIC */
};

/* Size profile of the generator. */
struct sim_profile {
    uint64_t small_max;  /* most seeds: 0..small_max bytes per direction */
    uint64_t medium_max; /* medium_pct % of seeds: up to this */
    uint64_t large_max;  /* large_pct % of seeds: up to this (the brief's 8 MB) */
    unsigned medium_pct, large_pct;
    double max_loss;    /* loss drawn in [0, max_loss] */
    uint64_t max_delay; /* one-way delay drawn in [0, max_delay] ns */
};
void sim_profile_default(struct sim_profile *p);

/* Fills sc from the seed (the same seed gives the same scenario on every machine). */
void sim_scenario_gen(uint64_t seed, enum sim_proto proto, const struct sim_profile *prof,
                      struct sim_scenario *sc);
/* One line describing the scenario. */
void sim_scenario_print(const struct sim_scenario *sc, FILE *f);

/* ---- the byte pattern and its checker ---- */
/* Writes the pattern bytes [off, off+len) of stream `dir` (0 = A->B, 1 = B->A). */
void sim_pattern(uint64_t seed, int dir, uint64_t off, void *buf, size_t len);
/* Returns the index of the first byte of buf differing from the pattern at off, or -1. */
long sim_pattern_check(uint64_t seed, int dir, uint64_t off, const void *buf, size_t len);

/* ---- the simulated network ---- */
struct sim_net {
    struct pn_link *la, *lb; /* the stacks' links (a pcap wrapper over fa/fb, or fa/fb) */
    struct pn_link *fa, *fb; /* fault wrappers: fa impairs A->B on tx, fb B->A */
    struct pn_stack *a, *b;
    uint64_t now, start;
    uint64_t steps;
};
/* Builds both stacks (A = 10.0.0.1, B = 10.0.0.2, secrets from the seed). pcap_prefix, if
 * non-NULL, also writes <prefix>-a.pcap and -b.pcap (frames as each stack sees them).
 * Returns 0 or a negative PN_E*. */
int sim_net_init(struct sim_net *n, const struct sim_scenario *sc, const char *pcap_prefix);
void sim_net_fini(struct sim_net *n);
/* Polls both stacks at n->now. */
void sim_net_poll(struct sim_net *n);
/* The earliest of both stacks' deadlines and app_deadline. */
uint64_t sim_net_deadline(const struct sim_net *n, uint64_t app_deadline);

/* ---- a run ---- */
struct sim_result {
    bool ok;
    char why[256];         /* the failure, when !ok */
    uint64_t virtual_ns;   /* virtual time the transfer took */
    uint64_t steps;        /* poll rounds */
    uint64_t delivered[2]; /* bytes verified per direction */
    struct pn_fault_counters ab, ba;
};
/* Runs the scenario to completion (or failure). verbose prints progress to stderr. */
void sim_run(const struct sim_scenario *sc, const char *pcap_prefix, bool verbose,
             struct sim_result *res);
/* Whether this build's stack can open PN_SOCK_STREAM sockets. */
bool sim_tcp_available(void);

#endif
