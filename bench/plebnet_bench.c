/* bench/plebnet_bench.c — plebnet-bench: throughput, transaction and connection rate of
 * two plebnet stacks in one process over the loop link, side by side with the Linux kernel
 * over 127.0.0.1 and with lwIP, measured in the same run, with the ratio; then a million
 * connections (bench_conns.c) and bulk under simulated loss (bench_loss.c). Prints
 * figures; never asserts on time.
 * Call chain: main -> {tcp_bulk, tcp_rr, tcp_cps, udp_bulk} x {plebnet (pn_stack_poll on a
 * real clock, one thread), kernel (sockets), lwIP (bench_lwip.c)} -> bench_conns, bench_loss. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "plebnet/plebnet.h"

struct opts {
    uint64_t bytes;  /* per bulk run */
    double seconds;  /* time cap per run */
    uint64_t rr;     /* transactions per request/response run */
    uint32_t dgram;  /* UDP payload size */
    unsigned repeat; /* runs per figure; the median is printed */
    uint64_t cps;    /* connections per connection-rate run */
    uint64_t conns;  /* concurrent connections for the scale test (0 = skip) */
    unsigned conn_ports, conn_batch;
    double loss_seconds; /* virtual seconds per simulated loss run (0 = skip) */
    bool tcp, udp, scale, loss;
    bool pn, kernel; /* which sides to run (--side), for profiling one alone */
};

#define now_ns bench_now_ns

static void row(const char *name, const char *unit, struct fig pn, struct fig k)
{
    char a[48], b[48], r[24];
    if (pn.ok)
        snprintf(a, sizeof(a), "%.3f %s", pn.value, unit);
    else
        snprintf(a, sizeof(a), "%s", pn.why ? pn.why : "n/a");
    if (k.ok)
        snprintf(b, sizeof(b), "%.3f %s", k.value, unit);
    else
        snprintf(b, sizeof(b), "%s", k.why ? k.why : "n/a");
    if (pn.ok && k.ok && k.value > 0)
        snprintf(r, sizeof(r), "%.2fx", pn.value / k.value);
    else
        snprintf(r, sizeof(r), "-");
    printf("%-32s %-26s %-22s %s\n", name, a, b, r);
    fflush(stdout);
}

static struct fig gbps(uint64_t bytes, uint64_t ns)
{
    struct fig f = {.ok = ns > 0, .done = bytes};
    f.value = ns ? (double)bytes * 8 / (double)ns : 0; /* bits per ns = Gbit/s */
    return f;
}

static struct fig na(const char *why)
{
    struct fig f = {.ok = false, .why = why};
    return f;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of n figures (all must be ok, else the first failure is returned). */
static struct fig median(struct fig *f, unsigned n)
{
    double v[64];
    for (unsigned i = 0; i < n; i++) {
        if (!f[i].ok)
            return f[i];
        v[i] = f[i].value;
    }
    qsort(v, n, sizeof(v[0]), cmp_double);
    struct fig m = f[0];
    m.value = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return m;
}

/* ---------------- plebnet: two stacks on the loop link, one thread ---------------- */

struct pair {
    struct pn_link *la, *lb;
    struct pn_stack *a, *b;
};

#define ADDR_A PN_IP4(10, 0, 0, 1)
#define ADDR_B PN_IP4(10, 0, 0, 2)

/* large: the loop link carries TSO/GRO-like segments of up to 64 KiB. */
static int pair_init_large(struct pair *p, uint32_t mtu, bool large)
{
    memset(p, 0, sizeof(*p));
    if (pn_link_loop_pair(mtu, 0, &p->la, &p->lb) < 0)
        return -1;
    pn_link_loop_set_large(p->la, large);
    pn_link_loop_set_large(p->lb, large);
    struct pn_stack_config c;
    pn_stack_config_init(&c);
    c.prefix_len = 24;
    for (int i = 0; i < 16; i++)
        c.secret[i] = (uint8_t)(i * 31 + 7);
    c.addr = ADDR_A;
    c.mac = (struct pn_mac){{0x02, 0, 0, 0, 0, 1}};
    if (pn_stack_new(&c, p->la, now_ns(), &p->a) < 0)
        return -1;
    c.addr = ADDR_B;
    c.mac = (struct pn_mac){{0x02, 0, 0, 0, 0, 2}};
    if (pn_stack_new(&c, p->lb, now_ns(), &p->b) < 0)
        return -1;
    struct pn_mac ma = {{0x02, 0, 0, 0, 0, 1}}, mb = {{0x02, 0, 0, 0, 0, 2}};
    pn_stack_arp_add_static(p->a, ADDR_B, &mb);
    pn_stack_arp_add_static(p->b, ADDR_A, &ma);
    return 0;
}

static int pair_init(struct pair *p, uint32_t mtu)
{
    return pair_init_large(p, mtu, false);
}

/* Polls both stacks at the current time; returns it (one clock read per round). */
static uint64_t pair_poll(struct pair *p)
{
    uint64_t t = now_ns();
    pn_stack_poll(p->a, t);
    pn_stack_poll(p->b, t);
    return t;
}

static void pair_fini(struct pair *p)
{
    pn_stack_free(p->a);
    pn_stack_free(p->b);
    pn_link_destroy(p->la);
    pn_link_destroy(p->lb);
}

static struct fig pn_udp_bulk(const struct opts *o)
{
    struct pair p;
    if (pair_init(&p, 1500) < 0)
        return na("setup failed");
    struct pn_socket *sa, *sb;
    struct pn_endpoint ea = {ADDR_A, 5001}, eb = {ADDR_B, 5002};
    pn_socket(p.a, PN_SOCK_DGRAM, &sa);
    pn_socket(p.b, PN_SOCK_DGRAM, &sb);
    pn_bind(sa, &ea);
    pn_bind(sb, &eb);
    int big = 8 << 20;
    pn_setsockopt(sb, PN_SO_RCVBUF, &big, sizeof(big));
    static uint8_t buf[65536];
    memset(buf, 0xab, sizeof(buf));
    uint64_t got = 0, t0 = now_ns(), t = t0, limit = (uint64_t)(o->seconds * 1e9);
    while (got < o->bytes && t - t0 < limit) {
        for (int i = 0; i < 64; i++)
            if (pn_sendto(sa, buf, o->dgram, 0, &eb) < 0)
                break;
        t = pair_poll(&p);
        long n;
        while ((n = pn_recv(sb, buf, sizeof(buf), 0)) > 0)
            got += (uint64_t)n;
    }
    struct fig f = gbps(got, now_ns() - t0);
    pn_close(sa);
    pn_close(sb);
    pair_fini(&p);
    return f;
}

#ifdef PN_BENCH_HAVE_TCP
/* Connects A -> B:80 and returns both ends, or -1. */
static int pn_tcp_connect_pair(struct pair *p, struct pn_socket **ca, struct pn_socket **cb,
                               struct pn_socket **ls)
{
    struct pn_endpoint eb = {ADDR_B, 80};
    if (pn_socket(p->b, PN_SOCK_STREAM, ls) < 0)
        return -1;
    int one = 1, buf = 4 << 20;
    pn_setsockopt(*ls, PN_SO_RCVBUF, &buf, sizeof(buf));
    pn_setsockopt(*ls, PN_SO_SNDBUF, &buf, sizeof(buf));
    if (pn_bind(*ls, &eb) < 0 || pn_listen(*ls, 4) < 0)
        return -1;
    if (pn_socket(p->a, PN_SOCK_STREAM, ca) < 0)
        return -1;
    pn_setsockopt(*ca, PN_SO_RCVBUF, &buf, sizeof(buf));
    pn_setsockopt(*ca, PN_SO_SNDBUF, &buf, sizeof(buf));
    pn_setsockopt(*ca, PN_TCP_NODELAY, &one, sizeof(one));
    int e = pn_connect(*ca, &eb);
    if (e < 0 && e != PN_EINPROGRESS)
        return -1;
    uint64_t t0 = now_ns();
    while (pn_accept(*ls, cb, NULL) != 0) {
        if (now_ns() - t0 > 2000000000ull)
            return -1;
        pair_poll(p);
    }
    pn_setsockopt(*cb, PN_TCP_NODELAY, &one, sizeof(one));
    pn_setsockopt(*cb, PN_SO_RCVBUF, &buf, sizeof(buf));
    pn_setsockopt(*cb, PN_SO_SNDBUF, &buf, sizeof(buf));
    while (!(pn_socket_events(*ca) & PN_EV_OUT)) {
        if (now_ns() - t0 > 2000000000ull)
            return -1;
        pair_poll(p);
    }
    return 0;
}

static struct fig pn_tcp_bulk(const struct opts *o, uint32_t mtu, bool large)
{
    struct pair p;
    if (pair_init_large(&p, mtu, large) < 0)
        return na("setup failed");
    struct pn_socket *ca = NULL, *cb = NULL, *ls = NULL;
    struct fig f;
    if (pn_tcp_connect_pair(&p, &ca, &cb, &ls) < 0) {
        f = na("connect failed");
    } else {
        static uint8_t buf[1 << 18];
        memset(buf, 0x5a, sizeof(buf));
        uint64_t sent = 0, got = 0, t0 = now_ns(), t = t0;
        uint64_t limit = (uint64_t)(o->seconds * 1e9);
        while (got < o->bytes && t - t0 < limit) {
            while (sent < o->bytes) {
                uint64_t left = o->bytes - sent;
                long n = pn_send(ca, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf), 0);
                if (n <= 0)
                    break;
                sent += (uint64_t)n;
            }
            t = pair_poll(&p);
            long n;
            while ((n = pn_recv(cb, buf, sizeof(buf), 0)) > 0)
                got += (uint64_t)n;
        }
        f = gbps(got, now_ns() - t0);
    }
    if (ca)
        pn_close(ca);
    if (cb)
        pn_close(cb);
    if (ls)
        pn_close(ls);
    pair_fini(&p);
    return f;
}

static struct fig pn_tcp_rr(const struct opts *o)
{
    struct pair p;
    if (pair_init(&p, 1500) < 0)
        return na("setup failed");
    struct pn_socket *ca = NULL, *cb = NULL, *ls = NULL;
    struct fig f = {0};
    if (pn_tcp_connect_pair(&p, &ca, &cb, &ls) < 0) {
        f = na("connect failed");
    } else {
        uint8_t c = 'x';
        uint64_t done = 0, t0 = now_ns(), limit = (uint64_t)(o->seconds * 1e9);
        bool stuck = false;
        while (done < o->rr && !stuck) {
            if (pn_send(ca, &c, 1, 0) != 1)
                break;
            while (pn_recv(cb, &c, 1, 0) != 1 && !(stuck = now_ns() - t0 > limit))
                pair_poll(&p);
            if (pn_send(cb, &c, 1, 0) != 1)
                break;
            while (pn_recv(ca, &c, 1, 0) != 1 && !(stuck = now_ns() - t0 > limit))
                pair_poll(&p);
            if (!stuck)
                done++;
            if (now_ns() - t0 > limit)
                break;
        }
        uint64_t ns = now_ns() - t0;
        f.ok = ns > 0;
        f.done = done;
        f.value = (double)done * 1e9 / (double)ns / 1000.0; /* thousand per second */
    }
    if (ca)
        pn_close(ca);
    if (cb)
        pn_close(cb);
    if (ls)
        pn_close(ls);
    pair_fini(&p);
    return f;
}

/* Connections per second: one at a time, connect + accept + 1 byte each way + close (the
 * server closes first, as an HTTP/1.0 server would, so TIME-WAIT sits on B and the
 * client's ports are free again). Figures in thousands per second. */
static struct fig pn_tcp_cps(const struct opts *o)
{
    struct pair p;
    if (pair_init(&p, 1500) < 0)
        return na("setup failed");
    struct pn_socket *ls = NULL;
    struct pn_endpoint eb = {ADDR_B, 80};
    struct fig f = na("connect failed");
    if (pn_socket(p.b, PN_SOCK_STREAM, &ls) < 0 || pn_bind(ls, &eb) < 0 || pn_listen(ls, 128) < 0) {
        pair_fini(&p);
        return f;
    }
    uint64_t done = 0, t0 = now_ns(), t = t0, limit = (uint64_t)(o->seconds * 1e9);
    uint8_t c = 'x';
    while (done < o->cps && t - t0 < limit) {
        struct pn_socket *ca, *cb = NULL;
        if (pn_socket(p.a, PN_SOCK_STREAM, &ca) < 0)
            break;
        int e = pn_connect(ca, &eb);
        if (e < 0 && e != PN_EINPROGRESS) {
            pn_close(ca);
            break;
        }
        bool stuck = false;
        while (pn_accept(ls, &cb, NULL) != 0 && !(stuck = (t = pair_poll(&p)) - t0 > limit))
            ;
        if (!stuck && pn_send(ca, &c, 1, 0) == 1) {
            while (pn_recv(cb, &c, 1, 0) != 1 && !(stuck = (t = pair_poll(&p)) - t0 > limit))
                ;
            if (!stuck && pn_send(cb, &c, 1, 0) == 1)
                while (pn_recv(ca, &c, 1, 0) != 1 && !(stuck = (t = pair_poll(&p)) - t0 > limit))
                    ;
        }
        if (cb)
            pn_close(cb);
        while (!stuck && pn_recv(ca, &c, 1, 0) != 0 && !(stuck = (t = pair_poll(&p)) - t0 > limit))
            ;
        pn_close(ca);
        if (stuck)
            break;
        done++;
    }
    t = pair_poll(&p);
    f = (struct fig){
        .ok = true, .done = done, .value = (double)done * 1e9 / (double)(now_ns() - t0) / 1000.0};
    pn_close(ls);
    pair_fini(&p);
    return f;
}
#endif

static bool pn_tcp_works(void)
{
    struct pair p;
    if (pair_init(&p, 1500) < 0)
        return false;
    struct pn_socket *s;
    int e = pn_socket(p.a, PN_SOCK_STREAM, &s);
    if (e == 0)
        pn_close(s);
    pair_fini(&p);
#ifdef PN_BENCH_HAVE_TCP
    return e == 0;
#else
    return false;
#endif
}

/* ---------------- kernel: sockets over 127.0.0.1 ---------------- */

/* A connected pair of TCP sockets over loopback; mss 0 = the default. Returns 0 or -1. */
static int k_tcp_pair(int *a, int *b, int mss)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    if (ls < 0)
        return -1;
    if (mss)
        setsockopt(ls, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss));
    if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(ls, 1) < 0 ||
        getsockname(ls, (struct sockaddr *)&sin, &sl) < 0) {
        close(ls);
        return -1;
    }
    *a = socket(AF_INET, SOCK_STREAM, 0);
    if (mss)
        setsockopt(*a, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss));
    if (*a < 0 || connect(*a, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        close(ls);
        return -1;
    }
    *b = accept(ls, NULL, NULL);
    close(ls);
    if (*b < 0)
        return -1;
    setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

struct kjob {
    int fd;
    uint64_t bytes, done, limit_ns, t0;
    uint64_t rr;
};

static void *k_sender(void *arg)
{
    struct kjob *j = arg;
    static uint8_t buf[1 << 18];
    memset(buf, 0x5a, sizeof(buf));
    while (j->done < j->bytes && now_ns() - j->t0 < j->limit_ns) {
        uint64_t left = j->bytes - j->done;
        ssize_t n = send(j->fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf), 0);
        if (n <= 0)
            break;
        j->done += (uint64_t)n;
    }
    shutdown(j->fd, SHUT_WR);
    return NULL;
}

static void *k_receiver(void *arg)
{
    struct kjob *j = arg;
    static uint8_t buf[1 << 18];
    ssize_t n;
    while ((n = recv(j->fd, buf, sizeof(buf), 0)) > 0)
        j->done += (uint64_t)n;
    return NULL;
}

static struct fig k_tcp_bulk(const struct opts *o, int mss)
{
    int a, b;
    if (k_tcp_pair(&a, &b, mss) < 0)
        return na(strerror(errno));
    struct kjob s = {.fd = a, .bytes = o->bytes, .limit_ns = (uint64_t)(o->seconds * 1e9)},
                r = {.fd = b};
    pthread_t ts, tr;
    s.t0 = now_ns();
    pthread_create(&tr, NULL, k_receiver, &r);
    pthread_create(&ts, NULL, k_sender, &s);
    pthread_join(ts, NULL);
    pthread_join(tr, NULL);
    struct fig f = gbps(r.done, now_ns() - s.t0);
    close(a);
    close(b);
    return f;
}

static void *k_echo(void *arg)
{
    struct kjob *j = arg;
    uint8_t c;
    while (recv(j->fd, &c, 1, 0) == 1)
        if (send(j->fd, &c, 1, 0) != 1)
            break;
    return NULL;
}

static struct fig k_tcp_rr(const struct opts *o)
{
    int a, b;
    if (k_tcp_pair(&a, &b, 0) < 0)
        return na(strerror(errno));
    struct kjob e = {.fd = b};
    pthread_t te;
    pthread_create(&te, NULL, k_echo, &e);
    uint8_t c = 'x';
    uint64_t done = 0, t0 = now_ns(), limit = (uint64_t)(o->seconds * 1e9);
    while (done < o->rr && now_ns() - t0 < limit) {
        if (send(a, &c, 1, 0) != 1 || recv(a, &c, 1, 0) != 1)
            break;
        done++;
    }
    uint64_t ns = now_ns() - t0;
    shutdown(a, SHUT_WR);
    pthread_join(te, NULL);
    close(a);
    close(b);
    struct fig f = {.ok = true, .done = done, .value = (double)done * 1e9 / (double)ns / 1000.0};
    return f;
}

/* Connections per second over 127.0.0.1 in one thread with blocking sockets, the same shape
 * as the plebnet loop: on loopback connect() returns with the handshake done (the SYN,ACK
 * and ACK are processed inside the syscall), so accept() then returns at once. */
static struct fig k_tcp_cps(const struct opts *o)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(ls, 128) < 0 ||
        getsockname(ls, (struct sockaddr *)&sin, &sl) < 0) {
        if (ls >= 0)
            close(ls);
        return na(strerror(errno));
    }
    uint64_t done = 0, t0 = now_ns(), limit = (uint64_t)(o->seconds * 1e9);
    uint8_t c = 'x';
    while (done < o->cps && now_ns() - t0 < limit) {
        int a = socket(AF_INET, SOCK_STREAM, 0);
        if (a < 0 || connect(a, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
            if (a >= 0)
                close(a);
            break;
        }
        int b = accept(ls, NULL, NULL);
        bool ok = b >= 0 && send(a, &c, 1, 0) == 1 && recv(b, &c, 1, 0) == 1 &&
                  send(b, &c, 1, 0) == 1 && recv(a, &c, 1, 0) == 1;
        if (b >= 0)
            close(b);
        ok = ok && recv(a, &c, 1, 0) == 0;
        close(a);
        if (!ok)
            break;
        done++;
    }
    struct fig f = {
        .ok = true, .done = done, .value = (double)done * 1e9 / (double)(now_ns() - t0) / 1000.0};
    close(ls);
    return f;
}

/* UDP in one thread, like the plebnet loop: bursts of 64 datagrams sent, then received. */
static struct fig k_udp_bulk(const struct opts *o)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0), r = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    int big = 8 << 20;
    setsockopt(r, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (s < 0 || r < 0 || bind(r, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        getsockname(r, (struct sockaddr *)&sin, &sl) < 0 ||
        connect(s, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        close(s);
        close(r);
        return na(strerror(errno));
    }
    static uint8_t buf[65536];
    memset(buf, 0xab, sizeof(buf));
    uint64_t got = 0, t0 = now_ns(), limit = (uint64_t)(o->seconds * 1e9);
    while (got < o->bytes && now_ns() - t0 < limit) {
        for (int i = 0; i < 64; i++)
            if (send(s, buf, o->dgram, 0) < 0)
                break;
        ssize_t n;
        while ((n = recv(r, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
            got += (uint64_t)n;
    }
    struct fig f = gbps(got, now_ns() - t0);
    close(s);
    close(r);
    return f;
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--bytes N] [--seconds S] [--rr N] [--cps N] [--dgram BYTES] [--repeat N]\n"
            "          [--conns N] [--conn-ports N] [--conn-batch N] [--loss-seconds S]\n"
            "          [--only tcp|udp|scale|loss] [--side plebnet|kernel]\n"
            "  bulk runs move --bytes (default 1 GiB) or stop after --seconds (default 3);\n"
            "  request/response runs do --rr transactions (default 100000) within --seconds;\n"
            "  connection-rate runs open --cps connections (default 15000) within --seconds;\n"
            "  each figure is the median of --repeat runs (default 3).\n"
            "  --conns concurrent connections (default 1000000, 0 skips) to --conn-ports\n"
            "  listening ports (default 128), opened --conn-batch at a time (default 8192);\n"
            "  --loss-seconds of virtual time per simulated loss run (default 10, 0 skips).\n",
            argv0);
}

int main(int argc, char **argv)
{
    struct opts o = {.bytes = 1ull << 30,
                     .seconds = 3,
                     .rr = 100000,
                     .cps = 15000,
                     .conns = 1000000,
                     .conn_ports = 128,
                     .conn_batch = 8192,
                     .loss_seconds = 10,
                     .dgram = 1472,
                     .repeat = 3,
                     .tcp = true,
                     .pn = true,
                     .kernel = true,
                     .udp = true,
                     .scale = true,
                     .loss = true};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage(argv[0]);
            return 2;
        }
        i++;
        if (!strcmp(a, "--bytes"))
            o.bytes = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--seconds"))
            o.seconds = atof(v);
        else if (!strcmp(a, "--rr"))
            o.rr = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--cps"))
            o.cps = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--conns"))
            o.conns = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--conn-ports"))
            o.conn_ports = (unsigned)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--conn-batch"))
            o.conn_batch = (unsigned)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--loss-seconds"))
            o.loss_seconds = atof(v);
        else if (!strcmp(a, "--repeat"))
            o.repeat = (unsigned)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--dgram"))
            o.dgram = (uint32_t)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--side")) {
            o.pn = strcmp(v, "kernel") != 0;
            o.kernel = strcmp(v, "plebnet") != 0;
        } else if (!strcmp(a, "--only")) {
            o.tcp = !strcmp(v, "tcp");
            o.udp = !strcmp(v, "udp");
            o.scale = !strcmp(v, "scale");
            o.loss = !strcmp(v, "loss");
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    if (o.dgram < 1 || o.dgram > 1472 || o.seconds <= 0 || o.repeat < 1 || o.repeat > 64 ||
        o.conn_ports < 1 || o.conn_ports > 1000 || o.conn_batch < 1) {
        fprintf(stderr,
                "%s: --dgram must be 1..1472, --seconds > 0, --repeat 1..64, --conn-ports "
                "1..1000, --conn-batch >= 1\n",
                argv[0]);
        return 2;
    }
    printf("plebnet-bench %s: bulk %llu bytes or %.1f s per run, rr %llu transactions, "
           "%llu connections per rate run, median of %u runs\n",
           pn_version(), (unsigned long long)o.bytes, o.seconds, (unsigned long long)o.rr,
           (unsigned long long)o.cps, o.repeat);
    enum { BULK1460, BULKLARGE, BULK64K, RR, CPS, UDP, LWIP, NTEST };
    static const char *names[NTEST] = {"tcp bulk, MSS 1460",
                                       "tcp bulk, MSS 1460, large segs",
                                       "tcp bulk, MTU 65000",
                                       "tcp rr, 1 byte",
                                       "tcp connections/s",
                                       "udp datagrams",
                                       "lwIP"};
    static const char *units[NTEST] = {"Gbit/s",   "Gbit/s", "Gbit/s", "k trans/s",
                                       "k conn/s", "Gbit/s", "Gbit/s"};
    static struct fig pn[NTEST][64], k[NTEST][64];
    bool have = (o.tcp || o.scale) && pn_tcp_works();
    struct fig none = na("TCP not available"), skipped = na("(not run)");
    uint64_t lwip_frames = 0;
    if (o.tcp || o.udp) {
        printf("plebnet: two stacks, one thread, loop link; kernel: 127.0.0.1, TCP bulk and rr a "
               "thread per side,\nconnections/s one thread; lwIP: Debian liblwip, two netifs on "
               "an in-memory link, one thread\n\n");
        /* Runs interleave plebnet, kernel and lwIP so load from elsewhere hits all alike. */
        for (unsigned r = 0; r < o.repeat; r++) {
            if (o.tcp) {
#ifdef PN_BENCH_HAVE_TCP
                pn[BULK1460][r] = !o.pn ? skipped : have ? pn_tcp_bulk(&o, 1500, false) : none;
                k[BULK1460][r] = o.kernel ? k_tcp_bulk(&o, 1460) : skipped;
                pn[BULKLARGE][r] = !o.pn ? skipped : have ? pn_tcp_bulk(&o, 1500, true) : none;
                k[LWIP][r] = o.kernel ? bench_lwip_bulk(o.bytes, o.seconds, &lwip_frames) : skipped;
                pn[BULK64K][r] = !o.pn  ? skipped
                                 : have ? pn_tcp_bulk(&o, PN_LOOP_MAX_MTU, false)
                                        : none;
                k[BULK64K][r] = o.kernel ? k_tcp_bulk(&o, 0) : skipped;
                pn[RR][r] = !o.pn ? skipped : have ? pn_tcp_rr(&o) : none;
                k[RR][r] = o.kernel ? k_tcp_rr(&o) : skipped;
                pn[CPS][r] = !o.pn ? skipped : have ? pn_tcp_cps(&o) : none;
                k[CPS][r] = o.kernel ? k_tcp_cps(&o) : skipped;
#else
                (void)have;
                pn[BULK1460][r] = pn[BULKLARGE][r] = pn[BULK64K][r] = pn[RR][r] = pn[CPS][r] = none;
                k[BULK1460][r] = o.kernel ? k_tcp_bulk(&o, 1460) : skipped;
                k[LWIP][r] = o.kernel ? bench_lwip_bulk(o.bytes, o.seconds, &lwip_frames) : skipped;
                k[BULK64K][r] = o.kernel ? k_tcp_bulk(&o, 0) : skipped;
                k[RR][r] = o.kernel ? k_tcp_rr(&o) : skipped;
                k[CPS][r] = o.kernel ? k_tcp_cps(&o) : skipped;
#endif
                k[BULKLARGE][r] = k[BULK1460][r]; /* the kernel's MSS 1460 run uses GSO/GRO too */
            }
            if (o.udp) {
                pn[UDP][r] = o.pn ? pn_udp_bulk(&o) : skipped;
                k[UDP][r] = o.kernel ? k_udp_bulk(&o) : skipped;
            }
        }
        printf("%-32s %-26s %-22s %s\n", "test", "plebnet", "kernel", "ratio");
        for (int t = 0; t < LWIP; t++) {
            if ((t == UDP && !o.udp) || (t != UDP && !o.tcp))
                continue;
            char name[64];
            if (t == UDP)
                snprintf(name, sizeof(name), "udp %u-byte datagrams", o.dgram);
            else
                snprintf(name, sizeof(name), "%s", names[t]);
            row(name, units[t], median(pn[t], o.repeat), median(k[t], o.repeat));
        }
        if (o.tcp) {
            printf("\n%-32s %-26s %-22s %s\n", "test", "plebnet", "lwIP (MSS 1460)", "ratio");
            struct fig lw = median(k[LWIP], o.repeat);
            row("tcp bulk, MSS 1460", units[LWIP], median(pn[BULK1460], o.repeat), lw);
            row("tcp bulk, MSS 1460, large segs", units[LWIP], median(pn[BULKLARGE], o.repeat), lw);
            if (lw.ok)
                printf("(lwIP's last run carried %llu frames over the in-memory link)\n",
                       (unsigned long long)lwip_frames);
        }
    }
    if (o.scale && o.conns) {
        if (have)
            bench_conns(o.conns, o.conn_ports, o.conn_batch);
        else
            printf("\nconnections: TCP not available\n");
    }
    if (o.loss && o.loss_seconds > 0)
        bench_loss(o.loss_seconds);
    return 0;
}
