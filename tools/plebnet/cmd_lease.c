/* cmd_lease.c — `plebnet lease`: asks plebnetd for a lease, prints it, and holds it (the
 * control connection stays open) until interrupted. Call chain: main dispatcher ->
 * pn_cmd_lease -> pn_link_broker_open -> pause until SIGINT/SIGTERM -> pn_link_destroy. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "plebnet/broker.h"
#include "plebnet/plebnet.h"

int pn_cmd_lease(int argc, char **argv);

static volatile sig_atomic_t lease_stop;

static void on_signal(int sig)
{
    (void)sig;
    lease_stop = 1;
}

static void lease_help(FILE *f)
{
    fprintf(f, "usage: plebnet lease [--ip A.B.C.D] [--mac XX:XX:XX:XX:XX:XX] [--uplink IF]\n"
               "                     [--socket PATH]\n"
               "Asks plebnetd for a lease, prints it, and holds it until interrupted.\n"
               "  --ip       wanted IPv4 address (default: any the policy allows)\n"
               "  --mac      wanted MAC (default: the daemon assigns one)\n"
               "  --uplink   wanted uplink interface (default: any allowed)\n"
               "  --socket   plebnetd socket (default " PN_BROKER_SOCKET ")\n");
}

int pn_cmd_lease(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ip", required_argument, 0, 'i'},     {"mac", required_argument, 0, 'm'},
        {"uplink", required_argument, 0, 'u'}, {"socket", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    struct pn_broker_request want;
    memset(&want, 0, sizeof(want));
    const char *sock = PN_BROKER_SOCKET;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': {
            uint32_t a;
            if (pn_ip4_parse(optarg, &a) != 0)
                return cli_usage_error("lease", "--ip: '%s' is not an IPv4 address", optarg);
            want.ip[0] = (uint8_t)(a >> 24), want.ip[1] = (uint8_t)(a >> 16);
            want.ip[2] = (uint8_t)(a >> 8), want.ip[3] = (uint8_t)a;
            break;
        }
        case 'm': {
            struct pn_mac m;
            if (pn_mac_parse(optarg, &m) != 0)
                return cli_usage_error("lease", "--mac: '%s' is not a MAC address", optarg);
            memcpy(want.mac, m.b, 6);
            break;
        }
        case 'u':
            if (strlen(optarg) == 0 || strlen(optarg) >= sizeof(want.uplink))
                return cli_usage_error("lease", "--uplink: '%s' is not an interface name", optarg);
            strcpy(want.uplink, optarg);
            break;
        case 's':
            sock = optarg;
            break;
        case 'h':
            lease_help(stdout);
            return 0;
        case ':':
            return cli_usage_error("lease", "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("lease", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("lease", "unexpected argument '%s'", argv[optind]);

    struct pn_broker_reply r;
    struct pn_link *link = NULL;
    char err[256];
    int rc = pn_link_broker_open(sock, &want, &r, &link, err, sizeof(err));
    if (rc != 0)
        return cli_fail("lease", "%s", err);
    printf("lease %08x: ip %u.%u.%u.%u/%u gateway %u.%u.%u.%u mac "
           "%02x:%02x:%02x:%02x:%02x:%02x mtu %u uplink %s\n",
           r.lease_id, r.ip[0], r.ip[1], r.ip[2], r.ip[3], r.prefix, r.gateway[0], r.gateway[1],
           r.gateway[2], r.gateway[3], r.mac[0], r.mac[1], r.mac[2], r.mac[3], r.mac[4], r.mac[5],
           r.mtu, r.uplink);
    printf("holding the lease; interrupt (Ctrl-C) to release it\n");
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    while (!lease_stop)
        pause();
    pn_link_destroy(link);
    printf("lease %08x released\n", r.lease_id);
    return 0;
}
