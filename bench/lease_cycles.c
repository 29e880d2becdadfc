/* bench/lease_cycles.c — `plebnet-lease-cycles SOCKET N [GAP_MS]`: N sequential lease+release
 * cycles against plebnetd in one process, so process startup is not measured. GAP_MS (default
 * 0) sleeps between a release and the next request, so that the daemon has finished tearing
 * the previous lease down and the figure is the grant alone. Each cycle is
 * pn_link_broker_open (connect, request, reply + SCM_RIGHTS descriptor: "request→descriptor")
 * then pn_link_destroy (closes the descriptor and the control connection: the daemon releases
 * the lease). Prints one line:
 *   cycles N ok K retries R median_us M p99_us P max_us X wall_ms W leases_per_s L
 * (wall_ms and leases_per_s include the gaps; use them with GAP_MS 0).
 * A refusal that only means "the previous release is not processed yet" (lease limit, pool
 * exhausted, address in use) is retried after 1 ms and counted in R; anything else ends the
 * run with exit status 1. Never asserts on time (bench/lease_bench.sh runs it). */
#include "plebnet/broker.h"
#include "plebnet/errors.h"
#include "plebnet/link.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: plebnet-lease-cycles SOCKET N [GAP_MS]\n");
        return 2;
    }
    const char *sock = argv[1];
    long n = strtol(argv[2], NULL, 10);
    if (n < 1 || n > 1000000) {
        fprintf(stderr, "plebnet-lease-cycles: N must be 1..1000000\n");
        return 2;
    }
    long gap_ms = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
    if (gap_ms < 0 || gap_ms > 10000) {
        fprintf(stderr, "plebnet-lease-cycles: GAP_MS must be 0..10000\n");
        return 2;
    }
    uint64_t *lat = calloc((size_t)n, sizeof(*lat));
    if (!lat)
        return 1;
    long ok = 0, retries = 0;
    int rc = 0;
    uint64_t t0 = now_ns();
    while (ok < n) {
        struct pn_broker_reply lease;
        struct pn_link *l = NULL;
        char err[160];
        uint64_t t1 = now_ns();
        int e = pn_link_broker_open(sock, NULL, &lease, &l, err, sizeof(err));
        uint64_t t2 = now_ns();
        if (e == 0) {
            lat[ok++] = t2 - t1;
            pn_link_destroy(l);
            if (gap_ms) {
                struct timespec g = {gap_ms / 1000, (gap_ms % 1000) * 1000000};
                nanosleep(&g, NULL);
            }
            continue;
        }
        if (e == PN_EACCES &&
            (lease.status == PN_BROKER_LIMIT || lease.status == PN_BROKER_POOL_EXHAUSTED ||
             lease.status == PN_BROKER_ADDR_IN_USE) &&
            retries < 100000) {
            retries++;
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
            continue;
        }
        fprintf(stderr, "plebnet-lease-cycles: cycle %ld: %s\n", ok, err);
        rc = 1;
        break;
    }
    uint64_t wall = now_ns() - t0;
    if (ok == 0) {
        free(lat);
        return 1;
    }
    qsort(lat, (size_t)ok, sizeof(*lat), cmp_u64);
    size_t p99 = (size_t)((ok * 99 + 99) / 100) - 1; /* nearest rank */
    printf("cycles %ld ok %ld retries %ld median_us %.1f p99_us %.1f max_us %.1f wall_ms %.1f "
           "leases_per_s %.0f\n",
           n, ok, retries, lat[ok / 2] / 1e3, lat[p99] / 1e3, lat[ok - 1] / 1e3, wall / 1e6,
           ok / (wall / 1e9));
    free(lat);
    return rc;
}
