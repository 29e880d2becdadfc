/* tools/plebnet/cmd_demo.c — `plebnet demo`: two stacks in one process joined by the loop
 * link, showing ARP resolution, pings with RTTs, a UDP echo exchange and the counters.
 * Needs no privileges and no configuration.
 * Call chain: cmd_demo -> demo_* phases -> cli_run_stacks -> pn_stack_poll. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

#define PING_DATA 56

struct demo {
    struct pn_link *la, *lb;
    struct pn_link *fault; /* inside la: impairs A's traffic during the TCP phase */
    uint64_t rng_seed;
    struct pn_stack *a, *b;
    struct pn_iface_info ia, ib;
    /* ping */
    struct pn_socket *ping;
    uint16_t want_seq;
    bool got_reply;
    /* udp echo */
    struct pn_socket *echo_srv, *udp;
    char reply[256];
    long reply_len;
    /* tcp bulk */
    struct pn_socket *lst, *cli, *srv;
    uint64_t total, sent, recvd;
    bool eof_b, eof_a, bad, shut_a;
    uint64_t t_start, t_last_progress;
    bool progress;
};

static void demo_help(void)
{
    printf("usage: plebnet demo [--count N] [--interval SEC] [--bytes N] [--loss PCT]\n"
           "                    [--pcap FILE] [-q]\n\n"
           "Runs two userspace stacks, A (10.0.0.1) and B (10.0.0.2), joined by an in-memory\n"
           "link in this process: A resolves B with ARP, pings it, exchanges UDP datagrams\n"
           "with an echo service on B, then opens a TCP connection, sends a bulk transfer\n"
           "that B verifies byte by byte, and closes it gracefully; then both stacks'\n"
           "counters are shown. Needs no privileges and no configuration.\n\n"
           "options:\n"
           "  -c, --count N       pings to send (1..1000, default 5)\n"
           "  -i, --interval SEC  time between pings (0..10, default 0.2)\n"
           "  -b, --bytes N       TCP transfer size, suffixes k/M/G (default 100M; 0 skips)\n"
           "  -l, --loss PCT      drop PCT %% of A's frames in each direction during the TCP\n"
           "                      transfer (0..50, default 0), through the fault wrapper\n"
           "  -w, --pcap FILE     write every frame to FILE (pcap, readable by tshark)\n"
           "  -q, --quiet         print only the summary lines\n"
           "  -h, --help          show this help\n");
}

static int print_arp(const struct pn_arp_entry_info *e, void *arg)
{
    static const char *const names[] = {"INCOMPLETE", "REACHABLE", "STALE", "STATIC"};
    char ip[PN_IP4_STRLEN], mac[PN_MAC_STRLEN];
    printf("    %-15s %s  %s\n", pn_ip4_format(e->addr, ip), pn_mac_format(&e->mac, mac),
           names[e->state]);
    (*(int *)arg)++;
    return 0;
}

static void show_arp(const char *who, const struct pn_stack *s)
{
    int n = 0;
    printf("  %s's ARP cache:\n", who);
    pn_stack_arp_foreach(s, print_arp, &n);
    if (n == 0)
        printf("    (empty)\n");
}

static bool ping_done(void *arg)
{
    return ((struct demo *)arg)->got_reply;
}

static void ping_ready(struct pn_socket *sk, unsigned ev, void *arg)
{
    struct demo *d = arg;
    uint8_t buf[PING_DATA + 8];
    long n;
    while ((n = pn_recv(sk, buf, sizeof(buf), 0)) >= 8) {
        uint16_t seq = (uint16_t)(buf[6] << 8 | buf[7]);
        if (buf[0] == 0 && seq == d->want_seq)
            d->got_reply = true;
    }
}

/* Sends `count` echo requests from A to B; returns the number answered. */
static int demo_ping(struct demo *d, int count, uint64_t interval, bool quiet)
{
    struct pn_stack *both[2] = {d->a, d->b};
    char ip[PN_IP4_STRLEN];
    double rtts[1000];
    int got = 0;
    if (pn_socket(d->a, PN_SOCK_PING, &d->ping) < 0)
        return 0;
    pn_socket_set_callback(d->ping, ping_ready, d);
    struct pn_endpoint dst = {d->ib.addr, 0};
    printf("\nPING %s from %s: %d data bytes\n", pn_ip4_format(d->ib.addr, ip),
           pn_ip4_format(d->ia.addr, (char[PN_IP4_STRLEN]){0}), PING_DATA);
    for (int seq = 1; seq <= count; seq++) {
        uint8_t req[8 + PING_DATA] = {8, 0};
        req[6] = (uint8_t)(seq >> 8);
        req[7] = (uint8_t)seq;
        for (int i = 0; i < PING_DATA; i++)
            req[8 + i] = (uint8_t)(0x10 + i);
        d->want_seq = (uint16_t)seq;
        d->got_reply = false;
        uint64_t t0 = cli_now();
        long r = pn_sendto(d->ping, req, sizeof(req), 0, &dst);
        if (r < 0) {
            printf("  send failed: %s\n", pn_strerror((int)r));
        } else if (cli_run_stacks(both, 2, ping_done, d, PN_SEC(2))) {
            double ms = (double)(cli_now() - t0) / 1e6;
            rtts[got++] = ms;
            if (!quiet)
                printf("%d bytes from %s: icmp_seq=%d time=%.3f ms\n", 8 + PING_DATA, ip, seq,
                       ms);
            if (seq == 1 && !quiet) {
                printf("  (the first request waited for ARP: A broadcast who-has %s, B "
                       "answered is-at)\n",
                       ip);
                show_arp("A", d->a);
            }
        } else {
            printf("Request timeout for icmp_seq %d\n", seq);
        }
        if (seq < count)
            cli_run_stacks(both, 2, NULL, NULL, interval);
    }
    double min = 1e18, max = 0, sum = 0, sq = 0;
    for (int i = 0; i < got; i++) {
        min = rtts[i] < min ? rtts[i] : min;
        max = rtts[i] > max ? rtts[i] : max;
        sum += rtts[i];
        sq += rtts[i] * rtts[i];
    }
    printf("--- %s ping statistics ---\n%d packets transmitted, %d received, %d%% packet loss\n",
           ip, count, got, count ? (count - got) * 100 / count : 0);
    if (got) {
        double avg = sum / got, var = sq / got - avg * avg;
        printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", min, avg, max,
               var > 0 ? sqrt(var) : 0.0);
    }
    pn_close(d->ping);
    return got;
}

/* B's echo service: every datagram goes back to its sender. */
static void echo_ready(struct pn_socket *sk, unsigned ev, void *arg)
{
    char buf[2048];
    struct pn_endpoint from;
    long n;
    while ((n = pn_recvfrom(sk, buf, sizeof(buf), 0, &from)) >= 0)
        pn_sendto(sk, buf, (size_t)n, 0, &from);
}

static void udp_ready(struct pn_socket *sk, unsigned ev, void *arg)
{
    struct demo *d = arg;
    long n = pn_recv(sk, d->reply, sizeof(d->reply) - 1, 0);
    if (n >= 0)
        d->reply_len = n;
}

static bool udp_done(void *arg)
{
    return ((struct demo *)arg)->reply_len >= 0;
}

/* Sends three datagrams from A to B's echo port; returns how many came back intact. */
static int demo_udp(struct demo *d, bool quiet)
{
    struct pn_stack *both[2] = {d->a, d->b};
    struct pn_endpoint srv = {d->ib.addr, 7}, local;
    char ip[PN_IP4_STRLEN];
    int ok = 0;
    if (pn_socket(d->b, PN_SOCK_DGRAM, &d->echo_srv) < 0 ||
        pn_bind(d->echo_srv, &(struct pn_endpoint){0, 7}) < 0 ||
        pn_socket(d->a, PN_SOCK_DGRAM, &d->udp) < 0 || pn_connect(d->udp, &srv) < 0)
        return 0;
    pn_socket_set_callback(d->echo_srv, echo_ready, NULL);
    pn_socket_set_callback(d->udp, udp_ready, d);
    pn_getsockname(d->udp, &local);
    printf("\nUDP echo: A %s:%u -> B %s:7 (B echoes every datagram back)\n",
           pn_ip4_format(d->ia.addr, (char[PN_IP4_STRLEN]){0}), local.port,
           pn_ip4_format(d->ib.addr, ip));
    for (int i = 1; i <= 3; i++) {
        char msg[64];
        int len = snprintf(msg, sizeof(msg), "hello from A, datagram %d of 3", i);
        d->reply_len = -1;
        uint64_t t0 = cli_now();
        long r = pn_send(d->udp, msg, (size_t)len, 0);
        bool back = r == len && cli_run_stacks(both, 2, udp_done, d, PN_SEC(2));
        if (back && d->reply_len == len && memcmp(d->reply, msg, (size_t)len) == 0) {
            ok++;
            d->reply[d->reply_len] = 0;
            if (!quiet)
                printf("  sent %2d bytes, echoed back in %.3f ms: \"%s\"\n", len,
                       (double)(cli_now() - t0) / 1e6, d->reply);
        } else {
            printf("  datagram %d: no echo (%s)\n", i, r < 0 ? pn_strerror((int)r) : "timeout");
        }
    }
    printf("UDP echo: %d/3 datagrams echoed intact\n", ok);
    pn_close(d->udp);
    pn_close(d->echo_srv);
    return ok;
}

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 11);
}

static void show_progress(struct demo *d, bool final)
{
    uint64_t now = cli_now();
    if (!d->progress || (!final && now - d->t_last_progress < PN_MS(200)))
        return;
    d->t_last_progress = now;
    double secs = (double)(now - d->t_start) / 1e9;
    fprintf(stderr, "\r  %8.1f MB of %.1f MB  %8.1f MB/s%s", (double)d->recvd / 1e6,
            (double)d->total / 1e6, secs > 0 ? (double)d->recvd / 1e6 / secs : 0.0,
            final ? "\n" : "");
}

/* Moves the bulk data along: A writes the pattern, B reads and verifies it, then the
 * close handshake runs in both directions. */
static bool tcp_pump(void *arg)
{
    struct demo *d = arg;
    static uint8_t buf[65536];
    if (!d->srv) {
        if (pn_accept(d->lst, &d->srv, NULL) < 0)
            return false;
    }
    while (d->sent < d->total) {
        size_t n = d->total - d->sent < sizeof(buf) ? (size_t)(d->total - d->sent) : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(d->sent + i);
        long r = pn_send(d->cli, buf, n, 0);
        if (r <= 0)
            break;
        d->sent += (uint64_t)r;
    }
    if (d->sent == d->total && !d->shut_a && pn_shutdown(d->cli, PN_SHUT_WR) == 0)
        d->shut_a = true;
    long r;
    while (!d->eof_b && (r = pn_recv(d->srv, buf, sizeof(buf), 0)) >= 0) {
        if (r == 0) {
            d->eof_b = true;
            pn_shutdown(d->srv, PN_SHUT_WR); /* B is done too: its FIN goes back */
            break;
        }
        for (long i = 0; i < r; i++)
            if (buf[i] != pattern(d->recvd + (uint64_t)i))
                d->bad = true;
        d->recvd += (uint64_t)r;
    }
    show_progress(d, false);
    if (!d->eof_a && pn_recv(d->cli, buf, sizeof(buf), 0) == 0)
        d->eof_a = true;
    return d->eof_a && d->eof_b;
}

static bool is_established(void *arg)
{
    struct pn_tcp_info ti;
    return pn_tcp_get_info(arg, &ti) == 0 && ti.state >= PN_TCP_ESTABLISHED;
}

/* Connects A to B:5001, sends `bytes`, verifies them on B and closes; returns success. */
static bool demo_tcp(struct demo *d, uint64_t bytes, double loss_pct, bool quiet)
{
    struct pn_stack *both[2] = {d->a, d->b};
    struct pn_endpoint srv = {d->ib.addr, 5001};
    if (pn_socket(d->b, PN_SOCK_STREAM, &d->lst) < 0 ||
        pn_bind(d->lst, &(struct pn_endpoint){0, 5001}) < 0 || pn_listen(d->lst, 8) < 0 ||
        pn_socket(d->a, PN_SOCK_STREAM, &d->cli) < 0)
        return false;
    if (loss_pct > 0) {
        struct pn_fault_config fc;
        memset(&fc, 0, sizeof(fc));
        fc.tx.loss = fc.rx.loss = loss_pct / 100.0;
        pn_link_fault_configure(d->fault, &fc);
    }
    printf("\nTCP: A connects to B:5001 and sends %.1f MB%s\n", (double)bytes / 1e6,
           loss_pct > 0 ? " through a lossy link" : "");
    if (loss_pct > 0)
        printf("  the fault wrapper drops %.1f%% of A's frames in each direction\n", loss_pct);
    uint64_t t0 = cli_now();
    int r = pn_connect(d->cli, &srv);
    if (r != PN_EINPROGRESS || !cli_run_stacks(both, 2, is_established, d->cli, PN_SEC(30))) {
        printf("  connect failed: %s\n", r == PN_EINPROGRESS ? "timeout" : pn_strerror(r));
        return false;
    }
    struct pn_tcp_info ti;
    pn_tcp_get_info(d->cli, &ti);
    if (!quiet)
        printf("  handshake done in %.3f ms: MSS %u, window scale %u/%u, timestamps %s, %s\n",
               (double)(cli_now() - t0) / 1e6, ti.snd_mss, ti.snd_wscale, ti.rcv_wscale,
               ti.ts_ok ? "on" : "off", ti.cc);
    d->total = bytes;
    d->t_start = d->t_last_progress = cli_now();
    d->progress = !quiet && isatty(STDERR_FILENO);
    /* Generous bound: even at 50 % loss a transfer makes progress. */
    bool done = cli_run_stacks(both, 2, tcp_pump, d, PN_SEC(600));
    double secs = (double)(cli_now() - d->t_start) / 1e9;
    show_progress(d, true);
    pn_tcp_get_info(d->cli, &ti);
    bool ok = done && !d->bad && d->recvd == bytes;
    printf("  %s: %" PRIu64 " of %" PRIu64 " bytes received%s in %.3f s, %.1f MB/s "
           "(%.2f Gbit/s)\n",
           ok ? "verified" : "FAILED", d->recvd, bytes, d->bad ? " with WRONG BYTES" : "", secs,
           secs > 0 ? (double)d->recvd / 1e6 / secs : 0.0,
           secs > 0 ? (double)d->recvd * 8 / 1e9 / secs : 0.0);
    if (!quiet)
        printf("  retransmitted segments: %" PRIu64 ", srtt %.3f ms, final cwnd %u bytes\n",
               ti.total_retrans, ti.rtt_us / 1000.0, ti.cwnd);
    if (ok && !quiet)
        printf("  graceful close: both FINs acknowledged; A is in %s, B is in %s\n",
               pn_tcp_state_name(ti.state),
               pn_tcp_state_name(d->srv && pn_tcp_get_info(d->srv, &ti) == 0 ? ti.state
                                                                             : PN_TCP_CLOSED));
    if (loss_pct > 0) {
        struct pn_fault_config none;
        memset(&none, 0, sizeof(none));
        pn_link_fault_configure(d->fault, &none);
    }
    pn_close(d->cli);
    if (d->srv)
        pn_close(d->srv);
    pn_close(d->lst);
    return ok;
}

static void show_counters(const struct demo *d)
{
    const struct pn_stats *sa = pn_stack_stats(d->a), *sb = pn_stack_stats(d->b);
    printf("\nCounters (non-zero):\n  %-26s %10s %10s\n", "counter", "A", "B");
    for (unsigned i = 0; i < pn_stats_count; i++) {
        uint64_t va = pn_stats_get(sa, i), vb = pn_stats_get(sb, i);
        if (va || vb)
            printf("  %-26s %10" PRIu64 " %10" PRIu64 "\n", pn_stats_names[i], va, vb);
    }
}

static int make_stack(struct pn_link *l, uint32_t addr, uint8_t last, struct pn_stack **out,
                      struct pn_iface_info *info)
{
    struct pn_stack_config cfg;
    pn_stack_config_init(&cfg);
    cfg.addr = addr;
    cfg.prefix_len = 24;
    /* Locally administered, unicast ("pn" in the middle), easy to spot in a capture. */
    cfg.mac = (struct pn_mac){{0x02, 0x70, 0x6e, 0x00, 0x00, last}};
    cli_random(cfg.secret, sizeof(cfg.secret));
    int err = pn_stack_new(&cfg, l, cli_now(), out);
    if (err == 0)
        pn_stack_iface(*out, info);
    return err;
}

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"count", required_argument, 0, 'c'}, {"interval", required_argument, 0, 'i'},
        {"bytes", required_argument, 0, 'b'}, {"loss", required_argument, 0, 'l'},
        {"pcap", required_argument, 0, 'w'},  {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    uint64_t count = 5, interval = PN_MS(200), bytes = 100000000ull;
    double loss = 0;
    const char *pcap = NULL;
    bool quiet = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:i:b:l:w:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (cli_parse_u64(optarg, 1, 1000, &count) < 0)
                return cli_usage_error("demo", "--count: '%s' is not a number from 1 to 1000",
                                       optarg);
            break;
        case 'i':
            if (cli_parse_seconds(optarg, 0, PN_SEC(10), &interval) < 0)
                return cli_usage_error("demo", "--interval: '%s' is not a time from 0 to 10 s",
                                       optarg);
            break;
        case 'b':
            if (cli_parse_bytes(optarg, 1ull << 40, &bytes) < 0)
                return cli_usage_error("demo", "--bytes: '%s' is not a size such as 100M or 1G",
                                       optarg);
            break;
        case 'l': {
            char *end;
            loss = strtod(optarg, &end);
            if (*optarg == 0 || *end || !(loss >= 0 && loss <= 50))
                return cli_usage_error("demo", "--loss: '%s' is not a percentage from 0 to 50",
                                       optarg);
            break;
        }
        case 'w':
            pcap = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            demo_help();
            return 0;
        case ':':
            return cli_usage_error("demo", "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("demo", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);

    struct demo d;
    memset(&d, 0, sizeof(d));
    int err = pn_link_loop_pair(1500, 0, &d.la, &d.lb);
    if (err < 0)
        return cli_fail("demo", "cannot create the loop link: %s", pn_strerror(err));
    struct pn_fault_config nofault;
    memset(&nofault, 0, sizeof(nofault));
    cli_random(&d.rng_seed, sizeof(d.rng_seed));
    if ((err = pn_link_fault_wrap(d.la, &nofault, d.rng_seed, &d.fault)) < 0) {
        pn_link_destroy(d.la);
        pn_link_destroy(d.lb);
        return cli_fail("demo", "cannot create the fault wrapper: %s", pn_strerror(err));
    }
    d.la = d.fault;
    if (pcap) {
        char ebuf[256] = "";
        struct pn_link *w;
        err = pn_link_pcap_wrap(d.la, pcap, cli_epoch_offset(), &w, ebuf, sizeof(ebuf));
        if (err < 0) {
            pn_link_destroy(d.la);
            pn_link_destroy(d.lb);
            return cli_fail("demo", "--pcap: cannot write '%s': %s", pcap,
                            ebuf[0] ? ebuf : pn_strerror(err));
        }
        d.la = w;
    }
    if ((err = make_stack(d.la, PN_IP4(10, 0, 0, 1), 1, &d.a, &d.ia)) < 0 ||
        (err = make_stack(d.lb, PN_IP4(10, 0, 0, 2), 2, &d.b, &d.ib)) < 0) {
        pn_stack_free(d.a);
        pn_link_destroy(d.la);
        pn_link_destroy(d.lb);
        return cli_fail("demo", "cannot create a stack: %s", pn_strerror(err));
    }
    char ip[PN_IP4_STRLEN], mac[PN_MAC_STRLEN];
    printf("plebnet demo: two userspace TCP/IP stacks joined by an in-memory link (loop, MTU "
           "%u)\n",
           d.ia.mtu);
    printf("  A  %s/%u  %s\n", pn_ip4_format(d.ia.addr, ip), d.ia.prefix_len,
           pn_mac_format(&d.ia.mac, mac));
    printf("  B  %s/%u  %s\n", pn_ip4_format(d.ib.addr, ip), d.ib.prefix_len,
           pn_mac_format(&d.ib.mac, mac));
    /* Let the gratuitous ARP announcements cross before we start. */
    struct pn_stack *both[2] = {d.a, d.b};
    cli_run_stacks(both, 2, NULL, NULL, PN_MS(1));
    if (!quiet) {
        printf("\nARP: both stacks announced themselves (gratuitous ARP) on coming up;\n"
               "announcements do not create cache entries (RFC 826: only the target learns).\n");
        show_arp("A", d.a);
    }

    int pings = demo_ping(&d, (int)count, interval, quiet);
    int udp = demo_udp(&d, quiet);
    bool tcp_ok = bytes == 0 || demo_tcp(&d, bytes, loss, quiet);
    /* Let the last ACKs and FINs settle so the counters are final. */
    cli_run_stacks(both, 2, NULL, NULL, PN_MS(5));
    show_counters(&d);

    pn_stack_free(d.a);
    pn_stack_free(d.b);
    pn_link_destroy(d.la); /* the pcap wrapper flushes and closes its file here */
    pn_link_destroy(d.lb);
    bool ok = pings == (int)count && udp == 3 && tcp_ok;
    printf("\ndemo %s: %d/%d pings answered, %d/3 UDP echoes, TCP transfer %s\n",
           ok ? "passed" : "FAILED", pings, (int)count, udp,
           bytes == 0 ? "skipped" : tcp_ok ? "verified" : "FAILED");
    return ok ? 0 : 1;
}
