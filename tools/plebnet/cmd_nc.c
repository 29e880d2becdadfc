/* tools/plebnet/cmd_nc.c — `plebnet nc [-l] [-u] ADDR PORT`: netcat over a userspace stack.
 * stdin -> socket -> peer, peer -> socket -> stdout. UDP (-u): one datagram per read of
 * stdin; with -l the first sender becomes the peer. TCP: connect (or listen and accept
 * one), half-close (shutdown write) on EOF of stdin, exit when both FINs are through.
 * Call chain: cmd_nc -> linkspec_* -> linkstack_open -> nc_loop { linkstack_wait ->
 * stdin_to_net / net_to_stdout } -> cli_print_stats (-v). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "linkspec.h"

#define BUF_SIZE 65536

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void nc_help(void)
{
    printf("usage: plebnet nc [options] [link options] ADDR PORT\n"
           "       plebnet nc -l [options] [link options] [ADDR] PORT\n\n"
           "Like netcat, over a userspace stack on the given link: copies stdin to the peer\n"
           "and what the peer sends to stdout. TCP by default (half-closes on end of input\n"
           "and exits when the connection has ended both ways; a listener serves one\n"
           "connection); UDP with -u (one datagram per read of stdin; a listener answers\n"
           "the first sender).\n\n"
           "options:\n"
           "  -l, --listen        wait for a peer on PORT instead of contacting ADDR\n"
           "  -u, --udp           UDP instead of TCP\n"
           "  -p, --source-port N local port of a client (default: ephemeral)\n"
           "  -q, --quit SEC      after end of input, quit after SEC (default: never, UDP)\n"
           "  -w, --idle SEC      quit when nothing was sent or received for SEC\n"
           "  -v, --verbose       print the stack's counters at exit (to stderr)\n"
           "  -h, --help          show this help\n\n"
           "On a terminal, progress (bytes, rate) is shown on stderr; piped, nc is quiet.\n\n%s",
           linkspec_help);
}

struct nc {
    struct linkstack st;
    struct pn_socket *sk;  /* the data socket (NULL until a TCP listener accepted) */
    struct pn_socket *lsk; /* TCP listener */
    bool udp, listen, peer_known, stdin_open, wr_shut, peer_closed;
    uint8_t *buf; /* stdin data not yet accepted by the socket */
    size_t pend_off, pend_len;
    size_t dgram_max; /* UDP: bytes per datagram (one read of stdin) */
    uint64_t quit_ns; /* after EOF; PN_TIME_NEVER = never */
    uint64_t idle_ns;
    uint64_t eof_at, last_io;
    uint64_t sent, received;
    bool progress;
    uint64_t progress_at, start;
    int err; /* a fatal socket error (PN_E*), 0 if none */
};

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void show_progress(struct nc *c, bool final)
{
    uint64_t now = cli_now();
    if (!c->progress || (!final && now - c->progress_at < PN_MS(500)))
        return;
    c->progress_at = now;
    double secs = (double)(now - c->start) / 1e9;
    double rate = secs > 0 ? (double)(c->sent + c->received) * 8 / secs / 1e6 : 0;
    fprintf(stderr, "\r  sent %.1f MB, received %.1f MB, %.1f Mbit/s   %s", (double)c->sent / 1e6,
            (double)c->received / 1e6, rate, final ? "\n" : "");
}

/* Moves stdin data into the socket; returns false on a fatal socket error. */
static bool stdin_to_net(struct nc *c, bool readable)
{
    if (c->pend_len == 0 && readable && c->stdin_open) {
        ssize_t r;
        do
            r = read(STDIN_FILENO, c->buf, c->udp ? c->dgram_max : BUF_SIZE);
        while (r < 0 && errno == EINTR);
        if (r <= 0) {
            c->stdin_open = false;
            c->eof_at = cli_now();
        } else {
            c->pend_off = 0;
            c->pend_len = (size_t)r;
        }
    }
    while (c->pend_len) {
        long n = pn_send(c->sk, c->buf + c->pend_off, c->pend_len, 0);
        if (n == PN_EAGAIN || n == PN_ENOBUFS)
            return true; /* retried after the next turn of the loop */
        if (n < 0) {
            c->err = (int)n;
            return false;
        }
        c->sent += (uint64_t)n;
        c->last_io = cli_now();
        c->pend_off += (size_t)n;
        c->pend_len -= (size_t)n;
    }
    /* TCP: everything read from stdin is queued; on EOF, half-close (RFC 9293 §3.6 CLOSE:
     * our FIN after the data), and keep receiving until the peer closes. */
    if (!c->udp && !c->stdin_open && !c->wr_shut) {
        pn_shutdown(c->sk, PN_SHUT_WR);
        c->wr_shut = true;
    }
    return true;
}

/* Copies what the socket received to stdout; returns false on a fatal error. */
static bool net_to_stdout(struct nc *c, uint8_t *rbuf)
{
    for (;;) {
        struct pn_endpoint from;
        long n = pn_recvfrom(c->sk, rbuf, BUF_SIZE, 0, &from);
        if (n == PN_EAGAIN)
            return true;
        if (n < 0) {
            c->err = (int)n;
            return false;
        }
        if (n == 0 && !c->udp) {
            c->peer_closed = true; /* the peer's FIN: it sends no more */
            return true;
        }
        if (c->udp && c->listen && !c->peer_known) {
            /* Like nc -u -l: answer the first sender, and only listen to it from now on. */
            int e = pn_connect(c->sk, &from);
            if (e < 0) {
                c->err = e;
                return false;
            }
            c->peer_known = true;
        }
        c->received += (uint64_t)n;
        c->last_io = cli_now();
        if (!write_all(STDOUT_FILENO, rbuf, (size_t)n)) {
            c->err = PN_EPIPE;
            return false;
        }
    }
}

/* TCP client: the connection starts here; nc_loop reads stdin once it is established
 * (PN_EV_OUT). A listener binds and listens here; nc_loop accepts one connection. */
static int open_tcp(struct nc *c, const struct pn_endpoint *ep, uint16_t sport)
{
    int e = pn_socket(c->st.stack, PN_SOCK_STREAM, &c->sk);
    if (e < 0)
        return e;
    if (c->listen) {
        if ((e = pn_bind(c->sk, ep)) < 0 || (e = pn_listen(c->sk, 1)) < 0)
            return e;
        c->lsk = c->sk;
        c->sk = NULL;
        return 0;
    }
    if (sport && (e = pn_bind(c->sk, &(struct pn_endpoint){0, sport})) < 0)
        return e;
    e = pn_connect(c->sk, ep);
    if (e < 0 && e != PN_EINPROGRESS)
        return e;
    c->peer_known = true;
    return 0;
}

/* Listener: takes the first established connection (nc serves one) and stops listening. */
static bool tcp_accept(struct nc *c)
{
    struct pn_endpoint peer;
    int e = pn_accept(c->lsk, &c->sk, &peer);
    if (e == PN_EAGAIN)
        return true;
    if (e < 0) {
        c->err = e;
        return false;
    }
    pn_close(c->lsk);
    c->lsk = NULL;
    c->peer_known = true;
    c->last_io = cli_now();
    return true;
}

static int nc_loop(struct nc *c)
{
    uint8_t *rbuf = malloc(BUF_SIZE);
    if (!rbuf)
        return PN_ENOMEM;
    c->start = c->last_io = cli_now();
    for (;;) {
        if (stop_flag)
            break;
        /* TCP: the connection has ended when both sides are done: the peer's FIN came (it
         * sends no more) and ours went after the end of stdin. Either may come first. */
        if (!c->udp && c->peer_closed && c->wr_shut)
            break;
        uint64_t now = cli_now();
        uint64_t until = PN_TIME_NEVER;
        if (c->idle_ns != PN_TIME_NEVER) {
            if (now - c->last_io >= c->idle_ns)
                break;
            until = c->last_io + c->idle_ns;
        }
        if (!c->stdin_open && c->pend_len == 0 && c->quit_ns != PN_TIME_NEVER) {
            if (now - c->eof_at >= c->quit_ns)
                break;
            if (c->eof_at + c->quit_ns < until)
                until = c->eof_at + c->quit_ns;
        }
        if (c->progress && until > now + PN_MS(500))
            until = now + PN_MS(500);
        /* Read stdin only when there is a peer and the socket took the previous chunk. */
        unsigned ev = c->sk ? pn_socket_events(c->sk) : 0;
        bool want_in = c->stdin_open && c->peer_known && c->pend_len == 0 && (ev & PN_EV_OUT);
        struct pollfd in = {.fd = STDIN_FILENO, .events = POLLIN};
        /* UDP: the stack was out of buffers (e.g. waiting for ARP): retry soon. A TCP send
         * buffer drains on ACKs, which wake us through the link's fd anyway. */
        if (c->pend_len && c->udp)
            until = now + PN_MS(1);
        int r = linkstack_wait(&c->st, until, &in, want_in ? 1 : 0);
        if (r < 0) {
            free(rbuf);
            return r;
        }
        if (c->lsk && !tcp_accept(c))
            break;
        if (!c->sk)
            continue;
        if (!net_to_stdout(c, rbuf))
            break;
        if (c->peer_known && !stdin_to_net(c, want_in && in.revents != 0))
            break;
        show_progress(c, false);
    }
    /* TCP, both FINs exchanged: our data and FIN may still wait for their ACK in the send
     * buffer. Stay until they are acknowledged (TIME-WAIT or CLOSED), bounded: the peer may
     * have vanished. An interrupted or idle nc leaves at once. */
    if (!c->udp && c->sk && c->err == 0 && c->peer_closed && c->wr_shut) {
        uint64_t end = cli_now() + PN_SEC(10);
        struct pn_tcp_info ti;
        while (!stop_flag && cli_now() < end && pn_tcp_get_info(c->sk, &ti) == 0 &&
               ti.state != PN_TCP_CLOSED && ti.state != PN_TCP_TIME_WAIT)
            if (linkstack_wait(&c->st, end, NULL, 0) < 0)
                break;
    }
    /* TCP that stopped (idle timeout) before any connection existed failed: say so and exit
     * non-zero, rather than look like an empty but successful transfer. */
    if (!c->udp && c->err == 0 && !stop_flag) {
        struct pn_tcp_info ti;
        if (c->lsk && !c->sk)
            c->err = PN_ETIMEDOUT; /* listener: nobody connected */
        else if (c->sk && pn_tcp_get_info(c->sk, &ti) == 0 && ti.state == PN_TCP_SYN_SENT)
            c->err = PN_ETIMEDOUT; /* client: the handshake never completed */
    }
    show_progress(c, true);
    free(rbuf);
    return c->err;
}

static int open_udp(struct nc *c, const struct pn_endpoint *ep, uint16_t sport)
{
    int e = pn_socket(c->st.stack, PN_SOCK_DGRAM, &c->sk);
    if (e < 0)
        return e;
    if (c->listen)
        return pn_bind(c->sk, ep);
    if (sport && (e = pn_bind(c->sk, &(struct pn_endpoint){0, sport})) < 0)
        return e;
    if ((e = pn_connect(c->sk, ep)) < 0)
        return e;
    c->peer_known = true;
    return 0;
}

int cmd_nc(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", no_argument, 0, 'l'},
                                         {"udp", no_argument, 0, 'u'},
                                         {"source-port", required_argument, 0, 'p'},
                                         {"quit", required_argument, 0, 'q'},
                                         {"idle", required_argument, 0, 'w'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"help", no_argument, 0, 'h'},
                                         LINKSPEC_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    struct linkspec ls;
    linkspec_init(&ls);
    struct nc c;
    memset(&c, 0, sizeof(c));
    c.quit_ns = c.idle_ns = PN_TIME_NEVER;
    uint64_t sport = 0;
    bool verbose = false;
    char err[512];
    int o;
    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "+:lup:q:w:vh", opts, NULL)) != -1) {
        int r = linkspec_option(&ls, o, optarg, err, sizeof(err));
        if (r < 0)
            return cli_usage_error("nc", "%s", err);
        if (r > 0)
            continue;
        switch (o) {
        case 'l':
            c.listen = true;
            break;
        case 'u':
            c.udp = true;
            break;
        case 'p':
            if (cli_parse_u64(optarg, 1, 65535, &sport) < 0)
                return cli_usage_error("nc", "-p: '%s' is not a port from 1 to 65535", optarg);
            break;
        case 'q':
            if (cli_parse_seconds(optarg, 0, PN_SEC(86400), &c.quit_ns) < 0)
                return cli_usage_error("nc", "-q: '%s' is not a time in seconds", optarg);
            break;
        case 'w':
            if (cli_parse_seconds(optarg, PN_MS(1), PN_SEC(86400), &c.idle_ns) < 0)
                return cli_usage_error("nc", "-w: '%s' is not a time in seconds", optarg);
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            nc_help();
            return 0;
        case ':':
            return cli_usage_error("nc", "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("nc", "unknown option '%s'", argv[optind - 1]);
        }
    }
    int nargs = argc - optind;
    struct pn_endpoint ep = {0, 0};
    const char *addr_s = NULL, *port_s = NULL;
    if (c.listen && nargs == 1) {
        port_s = argv[optind];
    } else if (nargs == 2) {
        addr_s = argv[optind];
        port_s = argv[optind + 1];
    } else if (nargs > 2) {
        return cli_usage_error("nc", "unexpected argument '%s'", argv[optind + 2]);
    } else {
        return cli_usage_error("nc", c.listen ? "no port given" : "want ADDR and PORT");
    }
    uint64_t port;
    if (addr_s && pn_ip4_parse(addr_s, &ep.addr) < 0)
        return cli_usage_error("nc", "'%s' is not an IPv4 address A.B.C.D", addr_s);
    if (cli_parse_u64(port_s, 1, 65535, &port) < 0)
        return cli_usage_error("nc", "'%s' is not a port from 1 to 65535", port_s);
    ep.port = (uint16_t)port;
    if (c.listen && sport)
        return cli_usage_error("nc", "-p is for clients; a listener uses PORT");
    if (linkspec_finish(&ls, err, sizeof(err)) < 0)
        return cli_usage_error("nc", "%s", err);

    int rc = linkstack_open(&ls, &c.st, err, sizeof(err));
    if (rc < 0)
        return rc == PN_ENOTSUP ? cli_usage_error("nc", "%s", err) : cli_fail("nc", "%s", err);
    struct pn_iface_info ifi;
    pn_stack_iface(c.st.stack, &ifi);
    c.dgram_max = ifi.mtu - 28; /* one unfragmented datagram (IPv4 20 + UDP 8) */
    c.stdin_open = true;
    c.buf = malloc(BUF_SIZE);
    if (!c.buf) {
        linkstack_close(&c.st);
        return cli_fail("nc", "out of memory");
    }
    rc = c.udp ? open_udp(&c, &ep, (uint16_t)sport) : open_tcp(&c, &ep, (uint16_t)sport);
    if (rc < 0) {
        if (c.sk)
            pn_close(c.sk);
        if (c.lsk)
            pn_close(c.lsk);
        linkstack_close(&c.st);
        free(c.buf);
        if (!c.udp && rc == PN_ENOTSUP)
            return cli_fail("nc", "TCP not available in this build (use -u for UDP)");
        return cli_fail("nc", "%s %s:%s: %s", c.listen ? "listen on" : "connect to",
                        addr_s ? addr_s : "0.0.0.0", port_s, pn_strerror(rc));
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    c.progress = isatty(STDERR_FILENO);
    rc = nc_loop(&c);
    if (verbose)
        cli_print_stats(stderr, c.st.stack, c.st.inner);
    if (c.lsk)
        pn_close(c.lsk);
    if (c.sk)
        pn_close(c.sk);
    linkstack_close(&c.st);
    free(c.buf);
    if (rc < 0 && rc != PN_EPIPE)
        return cli_fail("nc", "%s %s:%s: %s", c.listen ? "connection on" : "connection to",
                        addr_s ? addr_s : "0.0.0.0", port_s, pn_strerror(rc));
    return 0;
}
