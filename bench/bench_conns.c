/* bench/bench_conns.c — a million concurrent established TCP connections in one process:
 * stack A (10.0.0.1) connects to stack B (10.0.0.2) listening on `ports` ports, over the
 * loop link, in batches; reports the time to open them, peak and current RSS, bytes per
 * connection (both ends live in this process, so the delta is over 2 * count), heap bytes
 * per connection (mallinfo2), the sizes the library asked malloc for while opening (a
 * --wrap=malloc/calloc/realloc histogram, see CMakeLists.txt), a check that every
 * connection on both sides is ESTABLISHED, then the time to close them in batches.
 * Call chain: bench_conns -> open_batch -> pn_connect / pn_stack_poll / pn_accept;
 * __wrap_malloc & co. count requests while `track` is set. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "bench.h"
#include "plebnet/plebnet.h"

/* ---- allocation histogram (exact request sizes) ---- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);

#define HSLOTS 64
static struct {
    size_t size;
    uint64_t count;
} hist[HSLOTS];
static bool track;
static uint64_t hist_other;

static void note(size_t n)
{
    if (!track)
        return;
    for (int i = 0; i < HSLOTS; i++) {
        if (hist[i].size == n || hist[i].count == 0) {
            hist[i].size = n;
            hist[i].count++;
            return;
        }
    }
    hist_other++;
}

void *__wrap_malloc(size_t n)
{
    note(n);
    return __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    note(k * n);
    return __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    note(n);
    return __real_realloc(p, n);
}

/* ---- memory figures ---- */
static uint64_t rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t rss_peak(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_maxrss * 1024;
}

static uint64_t heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

#define A_ADDR PN_IP4(10, 0, 0, 1)
#define B_ADDR PN_IP4(10, 0, 0, 2)
#define BASE_PORT 10000

struct world {
    struct pn_link *la, *lb;
    struct pn_stack *a, *b;
    struct pn_socket **ls; /* listeners on B */
    unsigned nls;
};

static int world_init(struct world *w, unsigned ports)
{
    memset(w, 0, sizeof(*w));
    if (pn_link_loop_pair(1500, 65536, &w->la, &w->lb) < 0)
        return -1;
    struct pn_stack_config c;
    pn_stack_config_init(&c);
    for (int i = 0; i < 16; i++)
        c.secret[i] = (uint8_t)(i * 37 + 11);
    c.tcp_max_syn_backlog = 65535; /* a batch of SYNs to one port arrives at once */
    c.addr = A_ADDR;
    c.mac = (struct pn_mac){{0x02, 0, 0, 0, 0, 1}};
    if (pn_stack_new(&c, w->la, bench_now_ns(), &w->a) < 0)
        return -1;
    c.addr = B_ADDR;
    c.mac = (struct pn_mac){{0x02, 0, 0, 0, 0, 2}};
    if (pn_stack_new(&c, w->lb, bench_now_ns(), &w->b) < 0)
        return -1;
    struct pn_mac ma = {{0x02, 0, 0, 0, 0, 1}}, mb = {{0x02, 0, 0, 0, 0, 2}};
    pn_stack_arp_add_static(w->a, B_ADDR, &mb);
    pn_stack_arp_add_static(w->b, A_ADDR, &ma);
    w->ls = calloc(ports, sizeof(*w->ls));
    if (!w->ls)
        return -1;
    for (unsigned i = 0; i < ports; i++) {
        struct pn_endpoint e = {B_ADDR, (uint16_t)(BASE_PORT + i)};
        if (pn_socket(w->b, PN_SOCK_STREAM, &w->ls[i]) < 0 || pn_bind(w->ls[i], &e) < 0 ||
            pn_listen(w->ls[i], 65535) < 0)
            return -1;
        w->nls++;
    }
    return 0;
}

/* Polls both stacks once; returns the frames they received. */
static int poll2(struct world *w)
{
    uint64_t t = bench_now_ns();
    int n = pn_stack_poll(w->a, t);
    int m = pn_stack_poll(w->b, t);
    return (n > 0 ? n : 0) + (m > 0 ? m : 0);
}

/* Polls until a round moves no frame: nothing is left queued on the loop link. */
static void drain(struct world *w)
{
    while (poll2(w) > 0)
        ;
}

/* Opens connections [from, to): client i goes to port BASE_PORT + i / per_port, so the
 * connections to one destination are made one after another. Returns 0 or -1. */
static int open_batch(struct world *w, struct pn_socket **ca, struct pn_socket **cb,
                      uint64_t *accepted, uint64_t from, uint64_t to, uint64_t per_port)
{
    for (uint64_t i = from; i < to; i++) {
        struct pn_endpoint e = {B_ADDR, (uint16_t)(BASE_PORT + i / per_port)};
        if (pn_socket(w->a, PN_SOCK_STREAM, &ca[i]) < 0)
            return -1;
        int r = pn_connect(ca[i], &e);
        if (r < 0 && r != PN_EINPROGRESS) {
            fprintf(stderr, "conns: connect %llu: %s\n", (unsigned long long)i, pn_strerror(r));
            return -1;
        }
    }
    uint64_t t0 = bench_now_ns();
    unsigned first = (unsigned)(from / per_port), last = (unsigned)((to - 1) / per_port);
    while (*accepted < to) {
        poll2(w);
        for (unsigned p = first; p <= last && p < w->nls; p++)
            while (*accepted < to && pn_accept(w->ls[p], &cb[*accepted], NULL) == 0)
                (*accepted)++;
        if (bench_now_ns() - t0 > 60000000000ull) {
            fprintf(stderr, "conns: batch [%llu, %llu) stuck at %llu accepted\n",
                    (unsigned long long)from, (unsigned long long)to,
                    (unsigned long long)*accepted);
            return -1;
        }
    }
    drain(w); /* the last ACKs of the handshakes */
    return 0;
}

static uint64_t count_established(struct pn_socket **s, uint64_t n)
{
    uint64_t ok = 0;
    for (uint64_t i = 0; i < n; i++) {
        struct pn_tcp_info ti;
        if (s[i] && pn_tcp_get_info(s[i], &ti) == 0 && ti.state == PN_TCP_ESTABLISHED)
            ok++;
    }
    return ok;
}

static int cmp_hist(const void *x, const void *y)
{
    const __typeof__(hist[0]) *a = x, *b = y;
    uint64_t ba = a->size * a->count, bb = b->size * b->count;
    return ba < bb ? 1 : ba > bb ? -1 : 0;
}

static void print_hist(const char *phase, double n2)
{
    qsort(hist, HSLOTS, sizeof(hist[0]), cmp_hist);
    printf("  malloc requests while %s (size x count = bytes, per connection end):\n", phase);
    for (int i = 0; i < 6 && hist[i].count; i++)
        printf("    %7zu B x %9llu = %8.1f MiB  (%.2f per connection end)\n", hist[i].size,
               (unsigned long long)hist[i].count, (double)(hist[i].size * hist[i].count) / 1048576,
               (double)hist[i].count / n2);
    if (hist_other)
        printf("    (%llu requests of other sizes)\n", (unsigned long long)hist_other);
    memset(hist, 0, sizeof(hist));
    hist_other = 0;
}

int bench_conns(uint64_t count, unsigned ports, unsigned batch)
{
    if (count == 0)
        return 0;
    uint64_t per_port = (count + ports - 1) / ports;
    printf("\n%llu concurrent connections, two stacks on the loop link, B listening on %u "
           "ports (%llu each), opened in batches of %u\n",
           (unsigned long long)count, ports, (unsigned long long)per_port, batch);
    if (per_port > 16384) {
        printf("  too few ports: %llu connections per port exceed the 16384 ephemeral ports\n",
               (unsigned long long)per_port);
        return -1;
    }
    struct world w;
    struct pn_socket **ca = calloc(count, sizeof(*ca)), **cb = calloc(count, sizeof(*cb));
    if (!ca || !cb || world_init(&w, ports) < 0) {
        printf("  setup failed\n");
        return -1;
    }
    memset(ca, 0, count * sizeof(*ca)); /* touch: the handle arrays are not per-connection cost */
    memset(cb, 0, count * sizeof(*cb));
    poll2(&w);
    uint64_t rss0 = rss_now(), heap0 = heap_used(), accepted = 0;
    memset(hist, 0, sizeof(hist));
    hist_other = 0;
    track = true;
    uint64_t t0 = bench_now_ns();
    int err = 0;
    for (uint64_t i = 0; i < count && !err; i += batch)
        err = open_batch(&w, ca, cb, &accepted, i, i + batch < count ? i + batch : count, per_port);
    uint64_t t_open = bench_now_ns() - t0;
    track = false;
    uint64_t rss1 = rss_now(), heap1 = heap_used(), peak = rss_peak();
    uint64_t est_a = count_established(ca, count), est_b = count_established(cb, accepted);
    double n2 = 2.0 * (double)count;
    printf("  opened %llu in %.2f s: %.0f connections/s (%s)\n", (unsigned long long)accepted,
           (double)t_open / 1e9, (double)accepted * 1e9 / (double)t_open,
           err ? "FAILED part way" : "all");
    printf("  ESTABLISHED: %llu of %llu clients, %llu of %llu accepted\n",
           (unsigned long long)est_a, (unsigned long long)count, (unsigned long long)est_b,
           (unsigned long long)accepted);
    printf("  RSS %.1f MiB before, %.1f MiB after, peak %.1f MiB (getrusage)\n",
           (double)rss0 / 1048576, (double)rss1 / 1048576, (double)peak / 1048576);
    printf("  per connection (each end counted once, 2 x %llu): %.0f bytes RSS, %.0f bytes "
           "heap in use (mallinfo2); target <= 1024\n",
           (unsigned long long)count, (double)(rss1 - rss0) / n2, (double)(heap1 - heap0) / n2);
    print_hist("opening", n2);
    /* Close in batches: clients first (they end in TIME-WAIT), then the servers. */
    track = true;
    t0 = bench_now_ns();
    for (uint64_t i = 0; i < count; i += batch) {
        uint64_t e = i + batch < count ? i + batch : count;
        for (uint64_t j = i; j < e; j++)
            if (ca[j])
                pn_close(ca[j]);
        drain(&w);
        for (uint64_t j = i; j < e && j < accepted; j++)
            pn_close(cb[j]);
        drain(&w);
    }
    uint64_t t_close = bench_now_ns() - t0;
    track = false;
    printf("  closed in %.2f s (clients left in TIME-WAIT); RSS then %.1f MiB, heap %.1f MiB\n",
           (double)t_close / 1e9, (double)rss_now() / 1048576, (double)heap_used() / 1048576);
    print_hist("closing", n2);
    t0 = bench_now_ns();
    for (unsigned i = 0; i < w.nls; i++)
        pn_close(w.ls[i]);
    pn_stack_free(w.a);
    pn_stack_free(w.b);
    pn_link_destroy(w.la);
    pn_link_destroy(w.lb);
    printf("  stacks freed in %.2f s\n", (double)(bench_now_ns() - t0) / 1e9);
    free(w.ls);
    free(ca);
    free(cb);
    fflush(stdout);
    return err ? -1 : 0;
}
