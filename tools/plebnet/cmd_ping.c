/* tools/plebnet/cmd_ping.c — `plebnet ping ADDR`: ICMP echo (RFC 792) from a userspace stack
 * on any link, with ping(8)'s options, reply lines and summary.
 * Call chain: cmd_ping -> linkspec_* -> linkstack_open -> loop { pn_sendto (ping socket) ->
 * linkstack_wait -> pn_recv } -> summary. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "linkspec.h"

#define ICMP_HDR 8
#define MAX_DATA (65507 - ICMP_HDR) /* largest echo payload in one IPv4 datagram */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void ping_help(void)
{
    printf("usage: plebnet ping [options] [link options] ADDR\n\n"
           "Sends ICMP echo requests to ADDR from a userspace stack on the given link and\n"
           "prints one line per reply and a summary, like ping(8). Exit status: 0 if any reply\n"
           "came back, 1 if none, 2 on bad usage.\n\n"
           "options:\n"
           "  -c, --count N       stop after N requests (default: until interrupted)\n"
           "  -i, --interval SEC  time between requests (0..3600, default 1)\n"
           "  -W, --timeout SEC   after the last request, wait this long for replies "
           "(default 2)\n"
           "  -s, --size N        data bytes per request (0..%d, default 56)\n"
           "  -q, --quiet         print only the summary\n"
           "  -v, --verbose       print the stack's counters at exit\n"
           "  -h, --help          show this help\n\n%s",
           MAX_DATA, linkspec_help);
}

struct ping {
    uint64_t *sent_at; /* by sequence number (0 = not sent) */
    uint8_t *seen;     /* by sequence number: a reply arrived */
    long transmitted, received, dups, errors;
    double min, max, sum, sq;
};

static void record(struct ping *p, double ms)
{
    if (p->received == 0 || ms < p->min)
        p->min = ms;
    if (ms > p->max)
        p->max = ms;
    p->sum += ms;
    p->sq += ms * ms;
    p->received++;
}

/* Reads every queued reply (and pending error) from the ping socket. */
static void drain(struct ping *p, struct pn_socket *sk, uint8_t *buf, size_t cap, bool quiet,
                  const char *ip)
{
    for (;;) {
        struct pn_endpoint from;
        long n = pn_recvfrom(sk, buf, cap, 0, &from);
        if (n == PN_EAGAIN)
            return;
        if (n < 0) {
            p->errors++;
            if (!quiet)
                printf("From %s: %s\n", ip, pn_strerror((int)n));
            continue;
        }
        if (n < ICMP_HDR || buf[0] != 0 /* echo reply */)
            continue;
        uint16_t seq = (uint16_t)(buf[6] << 8 | buf[7]);
        if (!p->sent_at[seq])
            continue;
        double ms = (double)(cli_now() - p->sent_at[seq]) / 1e6;
        bool dup = p->seen[seq];
        char fip[PN_IP4_STRLEN];
        if (dup)
            p->dups++;
        else
            record(p, ms);
        p->seen[seq] = 1;
        /* A ping socket hands over the ICMP header and data only: no TTL to show. */
        if (!quiet)
            printf("%ld bytes from %s: icmp_seq=%u time=%.3f ms%s\n", n,
                   pn_ip4_format(from.addr, fip), seq, ms, dup ? " (DUP!)" : "");
    }
}

int cmd_ping(int argc, char **argv)
{
    static const struct option opts[] = {{"count", required_argument, 0, 'c'},
                                         {"interval", required_argument, 0, 'i'},
                                         {"timeout", required_argument, 0, 'W'},
                                         {"size", required_argument, 0, 's'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"help", no_argument, 0, 'h'},
                                         LINKSPEC_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    struct linkspec ls;
    linkspec_init(&ls);
    uint64_t count = 0, interval = PN_SEC(1), timeout = PN_SEC(2), size = 56;
    bool quiet = false, verbose = false;
    char err[512];
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:c:i:W:s:qvh", opts, NULL)) != -1) {
        int r = linkspec_option(&ls, c, optarg, err, sizeof(err));
        if (r < 0)
            return cli_usage_error("ping", "%s", err);
        if (r > 0)
            continue;
        switch (c) {
        case 'c':
            if (cli_parse_u64(optarg, 1, 1000000, &count) < 0)
                return cli_usage_error("ping", "-c: '%s' is not a count from 1 to 1000000", optarg);
            break;
        case 'i':
            if (cli_parse_seconds(optarg, 0, PN_SEC(3600), &interval) < 0)
                return cli_usage_error("ping", "-i: '%s' is not a time from 0 to 3600 s", optarg);
            break;
        case 'W':
            if (cli_parse_seconds(optarg, 0, PN_SEC(3600), &timeout) < 0)
                return cli_usage_error("ping", "-W: '%s' is not a time from 0 to 3600 s", optarg);
            break;
        case 's':
            if (cli_parse_u64(optarg, 0, MAX_DATA, &size) < 0)
                return cli_usage_error("ping", "-s: '%s' is not a size from 0 to %d", optarg,
                                       MAX_DATA);
            break;
        case 'q':
            quiet = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            ping_help();
            return 0;
        case ':':
            return cli_usage_error("ping", "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("ping", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("ping", "no destination address given");
    if (optind + 1 < argc)
        return cli_usage_error("ping", "unexpected argument '%s'", argv[optind + 1]);
    const char *target = argv[optind];
    uint32_t dst;
    if (pn_ip4_parse(target, &dst) < 0)
        return cli_usage_error("ping", "'%s' is not an IPv4 address A.B.C.D", target);
    if (linkspec_finish(&ls, err, sizeof(err)) < 0)
        return cli_usage_error("ping", "%s", err);

    struct linkstack st;
    int rc = linkstack_open(&ls, &st, err, sizeof(err));
    if (rc < 0)
        return rc == PN_ENOTSUP ? cli_usage_error("ping", "%s", err) : cli_fail("ping", "%s", err);
    struct pn_socket *sk;
    if ((rc = pn_socket(st.stack, PN_SOCK_PING, &sk)) < 0) {
        linkstack_close(&st);
        return cli_fail("ping", "cannot open a ping socket: %s", pn_strerror(rc));
    }
    struct ping p;
    memset(&p, 0, sizeof(p));
    p.sent_at = calloc(65536, sizeof(*p.sent_at));
    p.seen = calloc(65536, 1);
    size_t cap = ICMP_HDR + (size_t)size + 64;
    uint8_t *req = calloc(1, ICMP_HDR + (size_t)size), *buf = malloc(cap);
    if (!p.sent_at || !p.seen || !req || !buf) {
        linkstack_close(&st);
        return cli_fail("ping", "out of memory");
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char ip[PN_IP4_STRLEN], src[PN_IP4_STRLEN];
    struct pn_iface_info ifi;
    pn_stack_iface(st.stack, &ifi);
    pn_ip4_format(dst, ip);
    printf("PING %s (%s) from %s %s: %u(%u) bytes of data.\n", ip, ip, pn_ip4_format(ifi.addr, src),
           linkspec_kind_name(ls.kind), (unsigned)size, (unsigned)size + 28);
    fflush(stdout);
    req[0] = 8; /* echo request; the stack fills in the identifier and the checksum */
    for (uint64_t i = 0; i < size; i++)
        req[ICMP_HDR + i] = (uint8_t)(0x10 + i);
    struct pn_endpoint to = {dst, 0};
    uint64_t start = cli_now(), next_send = start, last_send = start;
    uint16_t seq = 0;
    int link_err = 0;
    while (!stop_flag) {
        uint64_t now = cli_now();
        bool all_sent = count && (uint64_t)p.transmitted >= count;
        if (!all_sent && now >= next_send) {
            seq++;
            req[6] = (uint8_t)(seq >> 8);
            req[7] = (uint8_t)seq;
            p.sent_at[seq] = now ? now : 1;
            p.seen[seq] = 0;
            long r = pn_sendto(sk, req, ICMP_HDR + (size_t)size, 0, &to);
            p.transmitted++;
            last_send = now;
            if (r < 0) {
                p.errors++;
                if (!quiet)
                    printf("ping: sendto %s: %s\n", ip, pn_strerror((int)r));
            }
            next_send = next_send + interval > now ? next_send + interval : now + interval;
            all_sent = count && (uint64_t)p.transmitted >= count;
        }
        if (all_sent && (p.received >= (long)count || now >= last_send + timeout))
            break;
        uint64_t until = all_sent ? last_send + timeout : next_send;
        int r = linkstack_wait(&st, until, NULL, 0);
        if (r < 0) {
            link_err = r;
            break;
        }
        drain(&p, sk, buf, cap, quiet, ip);
        fflush(stdout);
    }
    uint64_t elapsed = cli_now() - start;
    printf("\n--- %s ping statistics ---\n", ip);
    printf("%ld packets transmitted, %ld received", p.transmitted, p.received);
    if (p.dups)
        printf(", +%ld duplicates", p.dups);
    if (p.errors)
        printf(", +%ld errors", p.errors);
    printf(", %ld%% packet loss, time %llums\n",
           p.transmitted ? (p.transmitted - p.received) * 100 / p.transmitted : 0,
           (unsigned long long)(elapsed / 1000000));
    if (p.received) {
        double avg = p.sum / (double)p.received;
        double var = p.sq / (double)p.received - avg * avg;
        printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", p.min, avg, p.max,
               var > 0 ? sqrt(var) : 0.0);
    }
    fflush(stdout);
    if (link_err)
        cli_fail("ping", "link failed: %s", pn_strerror(link_err));
    if (verbose)
        cli_print_stats(stderr, st.stack, st.inner);
    pn_close(sk);
    linkstack_close(&st);
    free(p.sent_at);
    free(p.seen);
    free(req);
    free(buf);
    return p.received ? 0 : 1;
}
