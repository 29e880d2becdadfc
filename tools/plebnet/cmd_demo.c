/* tools/plebnet/cmd_demo.c — `plebnet demo`: two stacks in one process joined by the loop
 * link, showing ARP resolution, pings with RTTs, a UDP echo exchange, a verified TCP bulk
 * transfer and the counters. Needs no privileges and no configuration. With --role a|b and
 * --link vxlan:... the same demo runs as two processes, one stack each, over a kernel UDP
 * socket: B serves (echo, TCP sink), A runs the phases against it.
 * Call chain: cmd_demo -> demo_* phases (A) / demo_serve (B) -> cli_run_stacks ->
 * pn_stack_poll. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "linkspec.h"

#define PING_DATA 56

/* Two-process mode, TCP phase: A sends an 8-byte big-endian length L, then L bytes of
 * pattern(), then FIN; B verifies them and, after A's FIN, answers with an 8-byte count of
 * the pattern bytes it received and one status byte (1 = all verified), then its FIN. So
 * both processes know whether the transfer was complete and intact. */
#define TCP_HDR 8
#define TCP_SUMMARY 9

struct demo {
    struct pn_link *la, *lb;
    struct pn_link *fault; /* inside la: impairs A's traffic during the TCP phase */
    struct pn_link *inner; /* two-process mode: the vxlan driver under any wrapper */
    uint64_t rng_seed;
    /* One process: both stacks. Two processes: only the role's own stack (a or b) is set;
     * role a knows B only by address (ib.addr). */
    struct pn_stack *a, *b;
    struct pn_stack *run[2]; /* the stacks this process polls */
    int nrun;
    struct pn_iface_info ia, ib;
    bool remote; /* two-process mode */
    uint64_t timeout_ns;
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
    /* two-process TCP phase (see TCP_HDR) */
    uint8_t hdr[TCP_HDR], summary[TCP_SUMMARY];
    unsigned hdr_done, sum_done; /* hdr bytes sent by A / got by B; summary got / sent */
    bool shut_b;
    uint64_t shut_at; /* B: when its FIN went */
    int sock_err;     /* a fatal socket error (PN_E*) during the transfer */
    /* role b's service counts */
    uint64_t echoed;
};

static void demo_help(void)
{
    printf("usage: plebnet demo [--count N] [--interval SEC] [--bytes N] [--loss PCT]\n"
           "                    [--pcap FILE] [-q]\n"
           "       plebnet demo --role b --link vxlan:... [--addr A.B.C.D/NN] [--timeout SEC]\n"
           "       plebnet demo --role a --link vxlan:... [--addr A.B.C.D/NN] [--peer A.B.C.D]\n"
           "                    [--count N] [--interval SEC] [--bytes N] [--timeout SEC]\n\n"
           "Runs two userspace stacks, A (10.0.0.1) and B (10.0.0.2), joined by an in-memory\n"
           "link in this process: A resolves B with ARP, pings it, exchanges UDP datagrams\n"
           "with an echo service on B, then opens a TCP connection, sends a bulk transfer\n"
           "that B verifies byte by byte, and closes it gracefully; then both stacks'\n"
           "counters are shown. Needs no privileges and no configuration.\n\n"
           "With --role and a vxlan link the demo runs as two processes, one stack each:\n"
           "start B first (it answers pings, echoes UDP on port 7 and verifies one TCP\n"
           "transfer on port 5001, then exits), then A (it runs the phases against B).\n"
           "Both exit 0 when the transfer was verified. Over loopback, for example:\n"
           "  plebnet demo --role b --link vxlan:127.0.0.1:4790,local=127.0.0.1:4789\n"
           "  plebnet demo --role a --link vxlan:127.0.0.1:4789,local=127.0.0.1:4790\n\n"
           "options:\n"
           "  -c, --count N       pings to send (1..1000, default 5)\n"
           "  -i, --interval SEC  time between pings (0..10, default 0.2)\n"
           "  -b, --bytes N       TCP transfer size, suffixes k/M/G (default 100M; 0 skips,\n"
           "                      or with --role a sends an empty transfer)\n"
           "  -l, --loss PCT      drop PCT %% of A's frames in each direction during the TCP\n"
           "                      transfer (0..50, default 0), through the fault wrapper\n"
           "  -w, --pcap FILE     write every frame to FILE (pcap, readable by tshark)\n"
           "  -r, --role a|b      run one half of the demo on --link (not loop)\n"
           "  -P, --peer A.B.C.D  role a: B's address (default 10.0.0.2)\n"
           "  -t, --timeout SEC   role b: give up when A has not finished within SEC; role a:\n"
           "                      bound on the TCP transfer (default 600)\n"
           "  -q, --quiet         print only the summary lines\n"
           "  -h, --help          show this help\n\n"
           "link options for --role (the environment is read too; see 'plebnet nc --help'):\n"
           "  --link SPEC, --addr A.B.C.D/NN (default 10.0.0.1/24 for a, 10.0.0.2/24 for b),\n"
           "  --gw A.B.C.D, --mac XX:.. (default 02:70:6e:00:00:01 for a, :02 for b)\n");
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
        } else if (cli_run_stacks(d->run, d->nrun, ping_done, d, PN_SEC(2))) {
            double ms = (double)(cli_now() - t0) / 1e6;
            rtts[got++] = ms;
            if (!quiet)
                printf("%d bytes from %s: icmp_seq=%d time=%.3f ms\n", 8 + PING_DATA, ip, seq, ms);
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
            cli_run_stacks(d->run, d->nrun, NULL, NULL, interval);
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
    struct demo *d = arg;
    char buf[2048];
    struct pn_endpoint from;
    long n;
    while ((n = pn_recvfrom(sk, buf, sizeof(buf), 0, &from)) >= 0)
        if (pn_sendto(sk, buf, (size_t)n, 0, &from) == n)
            d->echoed++;
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
    struct pn_endpoint srv = {d->ib.addr, 7}, local;
    char ip[PN_IP4_STRLEN];
    int ok = 0;
    /* Two processes: B's echo service runs in the other process (demo_serve). */
    if (d->b && (pn_socket(d->b, PN_SOCK_DGRAM, &d->echo_srv) < 0 ||
                 pn_bind(d->echo_srv, &(struct pn_endpoint){0, 7}) < 0))
        return 0;
    if (pn_socket(d->a, PN_SOCK_DGRAM, &d->udp) < 0 || pn_connect(d->udp, &srv) < 0)
        return 0;
    if (d->echo_srv)
        pn_socket_set_callback(d->echo_srv, echo_ready, d);
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
        bool back = r == len && cli_run_stacks(d->run, d->nrun, udp_done, d, PN_SEC(2));
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
    if (d->echo_srv)
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
    /* Role a sees only what it sent; B's summary tells what arrived. */
    uint64_t moved = d->remote && d->a ? d->sent : d->recvd;
    fprintf(stderr, "\r  %8.1f MB of %.1f MB  %8.1f MB/s%s", (double)moved / 1e6,
            (double)d->total / 1e6, secs > 0 ? (double)moved / 1e6 / secs : 0.0, final ? "\n" : "");
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

/* Role a's side of the two-process transfer: the length header, the pattern, our FIN,
 * then B's summary until B's FIN. Done at B's FIN or on a socket error. */
static bool tcp_pump_a(void *arg)
{
    struct demo *d = arg;
    static uint8_t buf[65536];
    long r;
    while (d->hdr_done < TCP_HDR &&
           (r = pn_send(d->cli, d->hdr + d->hdr_done, TCP_HDR - d->hdr_done, 0)) > 0)
        d->hdr_done += (unsigned)r;
    while (d->hdr_done == TCP_HDR && d->sent < d->total) {
        size_t n = d->total - d->sent < sizeof(buf) ? (size_t)(d->total - d->sent) : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(d->sent + i);
        r = pn_send(d->cli, buf, n, 0);
        if (r <= 0)
            break;
        d->sent += (uint64_t)r;
    }
    if (d->hdr_done == TCP_HDR && d->sent == d->total && !d->shut_a &&
        pn_shutdown(d->cli, PN_SHUT_WR) == 0)
        d->shut_a = true;
    while ((r = pn_recv(d->cli, buf, sizeof(buf), 0)) > 0) {
        for (long i = 0; i < r; i++) {
            if (d->sum_done < TCP_SUMMARY)
                d->summary[d->sum_done++] = buf[i];
            else
                d->bad = true; /* B sends nothing after its summary */
        }
    }
    if (r == 0)
        d->eof_a = true;
    else if (r != PN_EAGAIN)
        d->sock_err = (int)r;
    show_progress(d, false);
    return d->eof_a || d->sock_err;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static bool is_established(void *arg)
{
    struct pn_tcp_info ti;
    return pn_tcp_get_info(arg, &ti) == 0 && ti.state >= PN_TCP_ESTABLISHED;
}

/* Connects A to B:5001, sends `bytes`, verifies them on B and closes; returns success. */
static bool demo_tcp(struct demo *d, uint64_t bytes, double loss_pct, bool quiet)
{
    struct pn_endpoint srv = {d->ib.addr, 5001};
    if (d->b && (pn_socket(d->b, PN_SOCK_STREAM, &d->lst) < 0 ||
                 pn_bind(d->lst, &(struct pn_endpoint){0, 5001}) < 0 || pn_listen(d->lst, 8) < 0))
        return false;
    if (pn_socket(d->a, PN_SOCK_STREAM, &d->cli) < 0)
        return false;
    if (loss_pct > 0) {
        struct pn_fault_config fc;
        memset(&fc, 0, sizeof(fc));
        fc.tx.loss = fc.rx.loss = loss_pct / 100.0;
        pn_link_fault_configure(d->fault, &fc);
    }
    printf("\nTCP: A connects to B:5001 and sends %.1f MB%s\n", (double)bytes / 1e6,
           loss_pct > 0 ? " through a lossy link" : "");
    put_be64(d->hdr, bytes);
    if (loss_pct > 0)
        printf("  the fault wrapper drops %.1f%% of A's frames in each direction\n", loss_pct);
    uint64_t t0 = cli_now();
    int r = pn_connect(d->cli, &srv);
    if (r != PN_EINPROGRESS ||
        !cli_run_stacks(d->run, d->nrun, is_established, d->cli, PN_SEC(30))) {
        struct pn_tcp_info ci;
        bool refused =
            r == PN_EINPROGRESS && pn_tcp_get_info(d->cli, &ci) == 0 && ci.state == PN_TCP_CLOSED;
        printf("  connect failed: %s\n", r != PN_EINPROGRESS ? pn_strerror(r)
                                         : refused           ? "connection refused or reset"
                                                             : "timeout");
        pn_close(d->cli);
        if (d->lst)
            pn_close(d->lst);
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
    bool done = cli_run_stacks(d->run, d->nrun, d->b ? tcp_pump : tcp_pump_a, d, d->timeout_ns);
    double secs = (double)(cli_now() - d->t_start) / 1e9;
    show_progress(d, true);
    pn_tcp_get_info(d->cli, &ti);
    if (!d->b) {
        /* Two processes: what arrived is what B's summary says. */
        bool got = done && !d->sock_err && d->sum_done == TCP_SUMMARY;
        d->recvd = got ? get_be64(d->summary) : 0;
        if (!got || d->summary[8] != 1)
            d->bad = true;
        if (d->sock_err)
            printf("  connection failed: %s\n", pn_strerror(d->sock_err));
        else if (!got)
            printf("  %s\n", done ? "B closed without its summary" : "timeout");
        else if (d->summary[8] != 1)
            printf("  B reports a wrong byte or a short transfer\n");
    }
    bool ok = done && !d->bad && d->recvd == bytes;
    printf("  %s: %" PRIu64 " of %" PRIu64 " bytes received%s in %.3f s, %.1f MB/s "
           "(%.2f Gbit/s)\n",
           ok ? "verified" : "FAILED", d->recvd, bytes, d->bad ? " with WRONG BYTES" : "", secs,
           secs > 0 ? (double)d->recvd / 1e6 / secs : 0.0,
           secs > 0 ? (double)d->recvd * 8 / 1e9 / secs : 0.0);
    if (!quiet)
        printf("  retransmitted segments: %" PRIu64 ", srtt %.3f ms, final cwnd %u bytes\n",
               ti.total_retrans, ti.rtt_us / 1000.0, ti.cwnd);
    if (ok && !quiet && !d->b)
        printf("  graceful close: B's summary and FIN came after ours; A is in %s\n",
               pn_tcp_state_name(ti.state));
    else if (ok && !quiet)
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
    if (d->lst)
        pn_close(d->lst);
    return ok;
}

static void show_counters(const struct demo *d)
{
    if (!d->a || !d->b) {
        /* Two processes: this process's stack only (its link's counters with -v style). */
        const struct pn_stack *st = d->a ? d->a : d->b;
        printf("\n");
        cli_print_stats(stdout, st, d->inner);
        return;
    }
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

/* Role b's TCP sink: accepts one connection, reads A's length header, verifies the pattern,
 * and after A's FIN sends its summary and FIN. Done once the summary and FIN are out and
 * acknowledged (or on a socket error). */
static bool serve_pump(void *arg)
{
    struct demo *d = arg;
    static uint8_t buf[65536];
    if (!d->srv) {
        struct pn_endpoint peer;
        if (pn_accept(d->lst, &d->srv, &peer) < 0)
            return false;
        /* One transfer per run: stop listening, so a second client is refused. */
        pn_close(d->lst);
        d->lst = NULL;
        d->t_start = d->t_last_progress = cli_now();
        printf("\nTCP: connection from %s:%u\n", pn_ip4_format(peer.addr, (char[PN_IP4_STRLEN]){0}),
               peer.port);
        fflush(stdout);
    }
    long r;
    while (!d->eof_b && (r = pn_recv(d->srv, buf, sizeof(buf), 0)) != PN_EAGAIN) {
        if (r < 0) {
            d->sock_err = (int)r;
            return true;
        }
        if (r == 0) {
            d->eof_b = true;
            break;
        }
        long i = 0;
        while (i < r && d->hdr_done < TCP_HDR)
            d->hdr[d->hdr_done++] = buf[i++];
        if (d->hdr_done == TCP_HDR)
            d->total = get_be64(d->hdr);
        for (long j = i; j < r; j++)
            if (buf[j] != pattern(d->recvd + (uint64_t)(j - i)))
                d->bad = true;
        d->recvd += (uint64_t)(r - i);
    }
    show_progress(d, false);
    if (d->eof_b && d->sum_done < TCP_SUMMARY) {
        uint8_t sum[TCP_SUMMARY];
        put_be64(sum, d->recvd);
        sum[8] = d->hdr_done == TCP_HDR && !d->bad && d->recvd == d->total;
        while (d->sum_done < TCP_SUMMARY &&
               (r = pn_send(d->srv, sum + d->sum_done, TCP_SUMMARY - d->sum_done, 0)) > 0)
            d->sum_done += (unsigned)r;
    }
    if (d->sum_done == TCP_SUMMARY && !d->shut_b && pn_shutdown(d->srv, PN_SHUT_WR) == 0) {
        d->shut_b = true;
        d->shut_at = cli_now();
    }
    /* Wait for the ACK of our FIN, but not long: A may have left after sending it. */
    struct pn_tcp_info ti;
    return d->shut_b && ((pn_tcp_get_info(d->srv, &ti) == 0 &&
                          (ti.state == PN_TCP_CLOSED || ti.state == PN_TCP_TIME_WAIT)) ||
                         cli_now() - d->shut_at > PN_SEC(2));
}

/* Role b: answers pings (the stack does), echoes UDP on port 7 and verifies one TCP
 * transfer on port 5001; returns the exit status. */
static int demo_serve(struct demo *d, bool quiet)
{
    char ip[PN_IP4_STRLEN];
    if (pn_socket(d->b, PN_SOCK_DGRAM, &d->echo_srv) < 0 ||
        pn_bind(d->echo_srv, &(struct pn_endpoint){0, 7}) < 0 ||
        pn_socket(d->b, PN_SOCK_STREAM, &d->lst) < 0 ||
        pn_bind(d->lst, &(struct pn_endpoint){0, 5001}) < 0 || pn_listen(d->lst, 1) < 0)
        return cli_fail("demo", "cannot open B's services");
    pn_socket_set_callback(d->echo_srv, echo_ready, d);
    printf("B serves on %s: ICMP echo, UDP echo on port 7, TCP sink on port 5001; waiting for A "
           "(at most %.0f s)\n",
           pn_ip4_format(d->ib.addr, ip), (double)d->timeout_ns / 1e9);
    fflush(stdout);
    d->progress = !quiet && isatty(STDERR_FILENO);
    cli_run_stacks(d->run, d->nrun, serve_pump, d, d->timeout_ns);
    /* Done, or our summary and FIN were sent but their ACK did not come in time (A may
     * have left): either way the transfer itself is complete. */
    bool flushed = d->shut_b;
    show_progress(d, true);
    double secs = d->t_start ? (double)(cli_now() - d->t_start) / 1e9 : 0;
    uint64_t answered = pn_stack_stats(d->b)->icmp_tx_echo_reply;
    bool ok = flushed && !d->sock_err && !d->bad && d->hdr_done == TCP_HDR && d->recvd == d->total;
    if (d->sock_err)
        printf("  connection failed: %s\n", pn_strerror(d->sock_err));
    else if (!d->srv)
        printf("  no connection from A within %.0f s\n", (double)d->timeout_ns / 1e9);
    else
        printf("  %s: %" PRIu64 " of %" PRIu64 " bytes received%s in %.3f s, %.1f MB/s "
               "(%.2f Gbit/s)\n",
               ok ? "verified" : "FAILED", d->recvd, d->total, d->bad ? " with WRONG BYTES" : "",
               secs, secs > 0 ? (double)d->recvd / 1e6 / secs : 0.0,
               secs > 0 ? (double)d->recvd * 8 / 1e9 / secs : 0.0);
    if (d->srv)
        pn_close(d->srv);
    if (d->lst)
        pn_close(d->lst);
    pn_close(d->echo_srv);
    /* Let the last ACKs go out so the counters are final. */
    cli_run_stacks(d->run, d->nrun, NULL, NULL, PN_MS(5));
    if (!quiet)
        show_counters(d);
    printf("\ndemo role b %s: %" PRIu64 " pings answered, %" PRIu64 " UDP datagrams echoed, TCP "
           "transfer %s\n",
           ok ? "passed" : "FAILED", answered, d->echoed, ok ? "verified" : "FAILED");
    return ok ? 0 : 1;
}

static const struct pn_mac demo_mac_a = {{0x02, 0x70, 0x6e, 0x00, 0x00, 0x01}};
static const struct pn_mac demo_mac_b = {{0x02, 0x70, 0x6e, 0x00, 0x00, 0x02}};

/* Two-process mode: one stack on the link ls describes, as A or B. */
static int demo_role(struct linkspec *ls, char role, uint32_t peer, uint64_t count,
                     uint64_t interval, uint64_t bytes, double loss, uint64_t timeout_ns,
                     bool quiet)
{
    struct demo d;
    memset(&d, 0, sizeof(d));
    d.remote = true;
    d.timeout_ns = timeout_ns;
    char err[512];
    /* The pcap writer goes outside the fault wrapper, as in one-process mode. */
    struct linkspec raw = *ls;
    raw.have_pcap = false;
    struct pn_stack_config cfg;
    pn_stack_config_init(&cfg);
    int rc = linkspec_open_ex(&raw, &d.la, &d.inner, &cfg, err, sizeof(err));
    if (rc < 0)
        return rc == PN_ENOTSUP ? cli_usage_error("demo", "%s", err) : cli_fail("demo", "%s", err);
    if (!ls->have_mac)
        cfg.mac = role == 'a' ? demo_mac_a : demo_mac_b;
    if (loss > 0) {
        /* A impairs only its TCP phase (demo_tcp); B all along, as it cannot tell phases. */
        struct pn_fault_config fc;
        memset(&fc, 0, sizeof(fc));
        fc.tx.loss = fc.rx.loss = role == 'b' ? loss / 100.0 : 0;
        cli_random(&d.rng_seed, sizeof(d.rng_seed));
        if ((rc = pn_link_fault_wrap(d.la, &fc, d.rng_seed, &d.fault)) < 0) {
            pn_link_destroy(d.la);
            return cli_fail("demo", "cannot create the fault wrapper: %s", pn_strerror(rc));
        }
        d.la = d.fault;
    }
    if (ls->have_pcap) {
        char ebuf[256] = "";
        struct pn_link *w;
        rc = pn_link_pcap_wrap(d.la, ls->pcap, cli_epoch_offset(), &w, ebuf, sizeof(ebuf));
        if (rc < 0) {
            pn_link_destroy(d.la);
            return cli_fail("demo", "--pcap: cannot write '%s': %s", ls->pcap,
                            ebuf[0] ? ebuf : pn_strerror(rc));
        }
        d.la = w;
    }
    struct pn_stack **self = role == 'a' ? &d.a : &d.b;
    struct pn_iface_info *info = role == 'a' ? &d.ia : &d.ib;
    if ((rc = pn_stack_new(&cfg, d.la, cli_now(), self)) < 0) {
        pn_link_destroy(d.la);
        return cli_fail("demo", "cannot create the stack: %s", pn_strerror(rc));
    }
    pn_stack_iface(*self, info);
    d.run[0] = *self;
    d.nrun = 1;
    char ip[PN_IP4_STRLEN], mac[PN_MAC_STRLEN];
    printf("plebnet demo, role %c: one userspace TCP/IP stack on a %s link (MTU %u)\n", role,
           linkspec_kind_name(ls->kind), info->mtu);
    printf("  %c  %s/%u  %s\n", role == 'a' ? 'A' : 'B', pn_ip4_format(info->addr, ip),
           info->prefix_len, pn_mac_format(&info->mac, mac));
    int status;
    if (role == 'b') {
        status = demo_serve(&d, quiet);
    } else {
        d.ib.addr = peer;
        printf("  B  %s (in the other process)\n", pn_ip4_format(peer, ip));
        int pings = demo_ping(&d, (int)count, interval, quiet);
        int udp = demo_udp(&d, quiet);
        bool tcp_ok = demo_tcp(&d, bytes, loss, quiet);
        cli_run_stacks(d.run, d.nrun, NULL, NULL, PN_MS(5));
        if (!quiet)
            show_counters(&d);
        bool ok = pings == (int)count && udp == 3 && tcp_ok;
        printf("\ndemo role a %s: %d/%d pings answered, %d/3 UDP echoes, TCP transfer %s\n",
               ok ? "passed" : "FAILED", pings, (int)count, udp, tcp_ok ? "verified" : "FAILED");
        status = ok ? 0 : 1;
    }
    pn_stack_free(*self);
    pn_link_destroy(d.la); /* the pcap wrapper flushes and closes its file here */
    return status;
}

int cmd_demo(int argc, char **argv)
{
    /* The link options of linkspec.h, except that --pcap is the demo's own -w. */
    static const struct option opts[] = {{"count", required_argument, 0, 'c'},
                                         {"interval", required_argument, 0, 'i'},
                                         {"bytes", required_argument, 0, 'b'},
                                         {"loss", required_argument, 0, 'l'},
                                         {"pcap", required_argument, 0, 'w'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"role", required_argument, 0, 'r'},
                                         {"peer", required_argument, 0, 'P'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {"link", required_argument, 0, LINKSPEC_OPT_LINK},
                                         {"addr", required_argument, 0, LINKSPEC_OPT_ADDR},
                                         {"gw", required_argument, 0, LINKSPEC_OPT_GW},
                                         {"mac", required_argument, 0, LINKSPEC_OPT_MAC},
                                         {0, 0, 0, 0}};
    uint64_t count = 5, interval = PN_MS(200), bytes = 100000000ull, timeout_ns = PN_SEC(600);
    double loss = 0;
    const char *pcap = NULL;
    bool quiet = false;
    char role = 0;
    uint32_t peer = PN_IP4(10, 0, 0, 2);
    struct linkspec ls;
    linkspec_init(&ls);
    char why[512];
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:i:b:l:w:qr:P:t:h", opts, NULL)) != -1) {
        int r = linkspec_option(&ls, c, optarg, why, sizeof(why));
        if (r < 0)
            return cli_usage_error("demo", "%s", why);
        if (r > 0)
            continue;
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
            if (linkspec_option(&ls, LINKSPEC_OPT_PCAP, optarg, why, sizeof(why)) < 0)
                return cli_usage_error("demo", "%s", why);
            pcap = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'r':
            if (strcmp(optarg, "a") != 0 && strcmp(optarg, "b") != 0)
                return cli_usage_error("demo", "--role: '%s' is not a or b", optarg);
            role = optarg[0];
            break;
        case 'P':
            if (pn_ip4_parse(optarg, &peer) < 0 || peer == 0)
                return cli_usage_error("demo", "--peer: '%s' is not an IPv4 address A.B.C.D",
                                       optarg);
            break;
        case 't':
            if (cli_parse_seconds(optarg, PN_MS(100), PN_SEC(86400), &timeout_ns) < 0)
                return cli_usage_error("demo", "--timeout: '%s' is not a time in seconds", optarg);
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

    if (role) {
        /* Two processes: the environment fills what the command line left out, then the
         * role's fixed address when neither gave one. */
        if (!ls.have_addr && !(getenv("PLEBNET_ADDR") && *getenv("PLEBNET_ADDR"))) {
            ls.have_addr = true;
            ls.addr = role == 'a' ? PN_IP4(10, 0, 0, 1) : PN_IP4(10, 0, 0, 2);
            ls.prefix_len = 24;
        }
        if (ls.kind == LINKSPEC_NONE && !(getenv("PLEBNET_LINK") && *getenv("PLEBNET_LINK")))
            return cli_usage_error("demo",
                                   "--role %c needs a link: give --link vxlan:... or set "
                                   "PLEBNET_LINK",
                                   role);
        if (linkspec_finish(&ls, why, sizeof(why)) < 0)
            return cli_usage_error("demo", "%s", why);
        if (ls.kind == LINKSPEC_LOOP)
            return cli_usage_error("demo", "--role runs one half of the demo: it needs a link to "
                                           "the other process (vxlan:...), not loop");
        if (role == 'a' && peer == ls.addr)
            return cli_usage_error("demo", "--peer is this stack's own address");
        return demo_role(&ls, role, peer, count, interval, bytes, loss, timeout_ns, quiet);
    }
    if (ls.kind != LINKSPEC_NONE && ls.kind != LINKSPEC_LOOP)
        return cli_usage_error("demo",
                               "--link %s runs one half of the demo: give --role a or "
                               "--role b",
                               linkspec_kind_name(ls.kind));
    if (ls.have_addr || ls.have_gw || ls.have_mac)
        return cli_usage_error("demo", "--addr, --gw and --mac go with --role (the one-process "
                                       "demo uses 10.0.0.1 and 10.0.0.2)");

    struct demo d;
    memset(&d, 0, sizeof(d));
    d.timeout_ns = timeout_ns;
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
    d.run[0] = d.a;
    d.run[1] = d.b;
    d.nrun = 2;
    cli_run_stacks(d.run, d.nrun, NULL, NULL, PN_MS(1));
    if (!quiet) {
        printf("\nARP: both stacks announced themselves (gratuitous ARP) on coming up;\n"
               "announcements do not create cache entries (RFC 826: only the target learns).\n");
        show_arp("A", d.a);
    }

    int pings = demo_ping(&d, (int)count, interval, quiet);
    int udp = demo_udp(&d, quiet);
    bool tcp_ok = bytes == 0 || demo_tcp(&d, bytes, loss, quiet);
    /* Let the last ACKs and FINs settle so the counters are final. */
    cli_run_stacks(d.run, d.nrun, NULL, NULL, PN_MS(5));
    show_counters(&d);

    pn_stack_free(d.a);
    pn_stack_free(d.b);
    pn_link_destroy(d.la); /* the pcap wrapper flushes and closes its file here */
    pn_link_destroy(d.lb);
    bool ok = pings == (int)count && udp == 3 && tcp_ok;
    printf("\ndemo %s: %d/%d pings answered, %d/3 UDP echoes, TCP transfer %s\n",
           ok ? "passed" : "FAILED", pings, (int)count, udp,
           bytes == 0 ? "skipped"
           : tcp_ok   ? "verified"
                      : "FAILED");
    return ok ? 0 : 1;
}
