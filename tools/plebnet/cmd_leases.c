/* cmd_leases.c — `plebnet leases` (root): lists plebnetd's active leases with the per-lease
 * filter counters. Call chain: main dispatcher -> pn_cmd_leases -> pn_broker_list -> print. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "plebnet/broker.h"

int pn_cmd_leases(int argc, char **argv);

int pn_cmd_leases(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *sock = PN_BROKER_SOCKET;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            sock = optarg;
            break;
        case 'h':
            printf("usage: plebnet leases [--socket PATH]\n"
                   "Lists plebnetd's active leases and their filter counters (root only).\n");
            return 0;
        case ':':
            return cli_usage_error("leases", "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("leases", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("leases", "unexpected argument '%s'", argv[optind]);
    enum { MAX = 4096 };
    struct pn_broker_lease_info *li = calloc(MAX, sizeof(*li));
    if (!li)
        return cli_fail("leases", "out of memory");
    char err[256];
    int n = pn_broker_list(sock, li, MAX, err, sizeof(err));
    if (n < 0) {
        free(li);
        return cli_fail("leases", "%s", err);
    }
    printf("%-8s %-6s %-7s %-15s %-17s %-11s %-8s %12s %12s %12s %12s\n", "LEASE", "UID", "PID",
           "IP", "MAC", "DEV", "UPLINK", "FROM_PASS", "FROM_DROP", "TO_PASS", "TO_DROP");
    for (int i = 0; i < n && i < MAX; i++) {
        const struct pn_broker_lease_info *l = &li[i];
        char ip[16], mac[18];
        snprintf(ip, sizeof(ip), "%u.%u.%u.%u", l->ip[0], l->ip[1], l->ip[2], l->ip[3]);
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0], l->mac[1], l->mac[2],
                 l->mac[3], l->mac[4], l->mac[5]);
        printf("%08x %-6u %-7u %-15s %-17s %-11.16s %-8.16s %12llu %12llu %12llu %12llu\n",
               l->lease_id, l->uid, l->pid, ip, mac, l->dev, l->uplink,
               (unsigned long long)l->from_holder_passed,
               (unsigned long long)l->from_holder_dropped, (unsigned long long)l->to_holder_passed,
               (unsigned long long)l->to_holder_dropped);
    }
    free(li);
    return 0;
}
