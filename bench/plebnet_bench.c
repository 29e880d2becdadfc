/* bench/plebnet_bench.c — plebnet-bench: throughput and transaction rate of two plebnet
 * stacks in one process over the loop link, side by side with the Linux kernel over
 * 127.0.0.1 measured in the same run, with the ratio. Prints figures; never asserts on time.
 * Call chain: main -> {tcp_bulk, tcp_rr, udp_bulk} x {plebnet (pn_stack_poll on a real
 * clock, one thread), kernel (sockets, one thread per side for TCP)}. */
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
#include "plebnet/plebnet.h"

struct opts {
    uint64_t bytes;  /* per bulk run */
    double seconds;  /* time cap per run */
    uint64_t rr;     /* transactions per request/response run */
    uint32_t dgram;  /* UDP payload size */
    unsigned repeat; /* runs per figure; the median is printed */
    bool tcp, udp;
    bool pn, kernel; /* which sides to run (--side), for profiling one alone */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A figure: value in its unit, or na (with a reason). */
struct fig {
    bool ok;
    double value;
    uint64_t done; /* bytes or transactions actually completed */
    const char *why;
};

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
    printf("%-28s %-30s %-22s %s\n", name, a, b, r);
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

static int pair_init(struct pair *p, uint32_t mtu)
{
    memset(p, 0, sizeof(*p));
    if (pn_link_loop_pair(mtu, 0, &p->la, &p->lb) < 0)
        return -1;
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

static struct fig pn_tcp_bulk(const struct opts *o, uint32_t mtu)
{
    struct pair p;
    if (pair_init(&p, mtu) < 0)
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
            "usage: %s [--bytes N] [--seconds S] [--rr N] [--dgram BYTES] [--repeat N]\n"
            "          [--only tcp|udp] [--side plebnet|kernel]\n"
            "  bulk runs move --bytes (default 1 GiB) or stop after --seconds (default 3);\n"
            "  request/response runs do --rr transactions (default 100000) within --seconds;\n"
            "  each figure is the median of --repeat runs (default 3).\n",
            argv0);
}

int main(int argc, char **argv)
{
    struct opts o = {.bytes = 1ull << 30,
                     .seconds = 3,
                     .rr = 100000,
                     .dgram = 1472,
                     .repeat = 3,
                     .tcp = true,
                     .pn = true,
                     .kernel = true,
                     .udp = true};
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
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    if (o.dgram < 1 || o.dgram > 1472 || o.seconds <= 0 || o.repeat < 1 || o.repeat > 64) {
        fprintf(stderr, "%s: --dgram must be 1..1472, --seconds > 0, --repeat 1..64\n", argv[0]);
        return 2;
    }
    printf("plebnet-bench %s: bulk %llu bytes or %.1f s per run, rr %llu transactions, "
           "median of %u runs\n",
           pn_version(), (unsigned long long)o.bytes, o.seconds, (unsigned long long)o.rr,
           o.repeat);
    printf(
        "plebnet: two stacks, one thread, loop link; kernel: 127.0.0.1, TCP a thread per side\n\n");
    printf("%-28s %-30s %-22s %s\n", "test", "plebnet", "kernel", "ratio");
    enum { BULK1460, BULK64K, RR, UDP, NTEST };
    static const char *names[NTEST] = {"tcp bulk, MSS 1460", "tcp bulk, MTU 65000",
                                       "tcp rr, 1 byte", "udp datagrams"};
    static const char *units[NTEST] = {"Gbit/s", "Gbit/s", "k trans/s", "Gbit/s"};
    struct fig pn[NTEST][64], k[NTEST][64];
    bool have = o.tcp && pn_tcp_works();
    struct fig none = na("TCP not available"), skipped = na("(not run)");
    /* Runs interleave plebnet and kernel so load from elsewhere hits both alike. */
    for (unsigned r = 0; r < o.repeat; r++) {
        if (o.tcp) {
#ifdef PN_BENCH_HAVE_TCP
            pn[BULK1460][r] = !o.pn ? skipped : have ? pn_tcp_bulk(&o, 1500) : none;
            k[BULK1460][r] = o.kernel ? k_tcp_bulk(&o, 1460) : skipped;
            pn[BULK64K][r] = !o.pn ? skipped : have ? pn_tcp_bulk(&o, PN_LOOP_MAX_MTU) : none;
            k[BULK64K][r] = o.kernel ? k_tcp_bulk(&o, 0) : skipped;
            pn[RR][r] = !o.pn ? skipped : have ? pn_tcp_rr(&o) : none;
            k[RR][r] = o.kernel ? k_tcp_rr(&o) : skipped;
#else
            (void)have;
            pn[BULK1460][r] = pn[BULK64K][r] = pn[RR][r] = none;
            k[BULK1460][r] = o.kernel ? k_tcp_bulk(&o, 1460) : skipped;
            k[BULK64K][r] = o.kernel ? k_tcp_bulk(&o, 0) : skipped;
            k[RR][r] = o.kernel ? k_tcp_rr(&o) : skipped;
#endif
        }
        if (o.udp) {
            pn[UDP][r] = o.pn ? pn_udp_bulk(&o) : skipped;
            k[UDP][r] = o.kernel ? k_udp_bulk(&o) : skipped;
        }
    }
    for (int t = 0; t < NTEST; t++) {
        if ((t == UDP && !o.udp) || (t != UDP && !o.tcp))
            continue;
        char name[64];
        if (t == UDP)
            snprintf(name, sizeof(name), "udp %u-byte datagrams", o.dgram);
        else
            snprintf(name, sizeof(name), "%s", names[t]);
        row(name, units[t], median(pn[t], o.repeat), median(k[t], o.repeat));
    }
    return 0;
}
