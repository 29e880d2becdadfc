/* pnd_echo.c — end-to-end check of the broker link: leases from plebnetd with
 * pn_link_broker_open, runs a libplebnet stack on the lease for a while (it answers ARP and
 * ICMP echo), then prints the lease and the stack's echo counter; or lists leases with
 * pn_broker_list. Used by test_plebnetd.sh. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "plebnet/broker.h"
#include "plebnet/plebnet.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--list")) {
        /* The library's root-only lease list (pn_broker_list). */
        struct pn_broker_lease_info li[16];
        char e[256];
        int n = pn_broker_list(argv[2], li, 16, e, sizeof(e));
        if (n < 0) {
            printf("error %d %s\n", n, e);
            return 1;
        }
        printf("count %d\n", n);
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: pnd_echo SOCKET MS [READY_FILE] | pnd_echo --list SOCKET\n");
        return 2;
    }
    struct pn_broker_reply r;
    struct pn_link *link;
    char err[256];
    int rc = pn_link_broker_open(argv[1], NULL, &r, &link, err, sizeof(err));
    if (rc) {
        printf("error %d %s\n", rc, err);
        return 1;
    }
    struct pn_stack_config cfg;
    pn_stack_config_init(&cfg);
    memcpy(cfg.mac.b, r.mac, 6);
    cfg.addr = (uint32_t)r.ip[0] << 24 | (uint32_t)r.ip[1] << 16 | (uint32_t)r.ip[2] << 8 | r.ip[3];
    cfg.prefix_len = r.prefix;
    if (getrandom(cfg.secret, sizeof(cfg.secret), 0) < 0)
        return 1;
    struct pn_stack *s;
    uint64_t t = now_ns();
    if ((rc = pn_stack_new(&cfg, link, t, &s)) != 0) {
        printf("error stack %d\n", rc);
        return 1;
    }
    printf("lease ip %u.%u.%u.%u\n", r.ip[0], r.ip[1], r.ip[2], r.ip[3]);
    fflush(stdout);
    if (argc > 3) {
        FILE *f = fopen(argv[3], "w");
        if (f)
            fclose(f);
    }
    uint64_t end = t + (uint64_t)atoi(argv[2]) * 1000000ull;
    while ((t = now_ns()) < end) {
        if (pn_stack_poll(s, t) < 0) {
            printf("error link\n");
            break;
        }
        uint64_t dl = pn_stack_next_deadline(s);
        int ms = dl == PN_TIME_NEVER || dl <= t ? 10 : (int)((dl - t) / 1000000 + 1);
        if (ms > 10)
            ms = 10;
        struct pollfd p = {.fd = pn_stack_fd(s), .events = POLLIN};
        poll(&p, 1, ms);
    }
    printf("echo_requests %llu\n", (unsigned long long)pn_stack_stats(s)->icmp_rx_echo_request);
    pn_stack_free(s);
    pn_link_destroy(link);
    return 0;
}
