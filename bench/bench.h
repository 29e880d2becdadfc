/* bench/bench.h — what the plebnet-bench sources share: the clock, a figure (value or
 * reason it is missing), and the sections that live in their own files (lwIP bulk, a
 * million connections, bulk under simulated loss). Call chain: plebnet_bench.c main ->
 * bench_lwip_bulk (bench_lwip.c), bench_conns (bench_conns.c), bench_loss (bench_loss.c). */
#ifndef PN_BENCH_H
#define PN_BENCH_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A figure: value in its unit, or !ok with a reason. */
struct fig {
    bool ok;
    double value;
    uint64_t done; /* bytes or transactions actually completed */
    const char *why;
};

/* lwIP (Debian liblwip) bulk TCP over an in-memory Ethernet link in this process, MSS
 * 1460: moves `bytes` or stops after `seconds`; Gbit/s. Without liblwip-dev at configure
 * time it returns !ok ("lwIP not built"). frames (optional) gets the frames the link
 * carried, to show the traffic really crossed it. */
struct fig bench_lwip_bulk(uint64_t bytes, double seconds, uint64_t *frames);

/* A million (count) concurrent connections between two stacks in one process; prints its
 * own block of figures. Returns 0, or -1 if it could not run. */
int bench_conns(uint64_t count, unsigned ports, unsigned batch);

/* Bulk A -> B in the simulator (virtual clock) for `seconds` of virtual time at each loss
 * rate, NewReno vs CUBIC; prints its own block. */
void bench_loss(double seconds);
#endif
