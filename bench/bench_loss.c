/* bench/bench_loss.c — bulk TCP under random loss in simulation: two stacks on the loop
 * link, each end wrapped in the fault link, on a virtual clock that jumps from deadline to
 * deadline (deterministic: the same seed gives the same figures on any machine and under
 * any load). A -> B: random loss p, a 1 Gbit/s token-bucket bottleneck with a queue of one
 * bandwidth-delay product, 5 ms one-way delay; B -> A (ACKs): 5 ms delay, no loss. RTT
 * 10 ms. The application always has data to send. Prints goodput (bytes B's application
 * read / virtual time) and retransmissions, NewReno vs CUBIC, with the Mathis et al.
 * estimate MSS/RTT * 1.22/sqrt(p) as a yardstick for Reno-style CC.
 * Call chain: bench_loss -> run -> pn_stack_poll (both) -> fault links -> loop link. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "bench.h"
#include "plebnet/fault.h"
#include "plebnet/plebnet.h"

#define RATE_BPS 1000000000ull /* bottleneck, bits per second */
#define OWD_NS 5000000ull      /* one-way delay */

struct loss_result {
    bool ok;
    double goodput_bps;
    uint64_t delivered, retrans_segs, lost_frames, queue_drops, data_frames, rtos;
    uint32_t mss;
};

static void run(const char *cc, double loss, double seconds, uint64_t seed, struct loss_result *r)
{
    memset(r, 0, sizeof(*r));
    struct pn_link *la, *lb, *fa, *fb;
    if (pn_link_loop_pair(1500, 0, &la, &lb) < 0)
        return;
    struct pn_fault_config ca, cbc;
    memset(&ca, 0, sizeof(ca));
    memset(&cbc, 0, sizeof(cbc));
    ca.tx.loss = loss;
    ca.tx.rate = RATE_BPS / 8;
    /* one BDP of queue: 1 Gbit/s * 10 ms = 1.25 MB = ~826 full frames */
    ca.tx.rate_queue = (uint32_t)(RATE_BPS / 8 * 2 * OWD_NS / 1000000000ull / 1514);
    ca.tx.delay_ns = OWD_NS;
    cbc.tx.delay_ns = OWD_NS;
    if (pn_link_fault_wrap(la, &ca, seed, &fa) < 0 ||
        pn_link_fault_wrap(lb, &cbc, seed + 1, &fb) < 0)
        return;
    struct pn_stack_config c;
    pn_stack_config_init(&c);
    for (int i = 0; i < 16; i++)
        c.secret[i] = (uint8_t)(seed * 13 + (uint64_t)i);
    uint64_t now = 1000000000ull;
    struct pn_stack *a, *b;
    c.addr = PN_IP4(10, 0, 0, 1);
    c.mac = (struct pn_mac){{0x02, 0, 0, 0, 0, 1}};
    if (pn_stack_new(&c, fa, now, &a) < 0)
        return;
    c.addr = PN_IP4(10, 0, 0, 2);
    c.mac = (struct pn_mac){{0x02, 0, 0, 0, 0, 2}};
    if (pn_stack_new(&c, fb, now, &b) < 0)
        return;
    struct pn_mac ma = {{0x02, 0, 0, 0, 0, 1}}, mb = {{0x02, 0, 0, 0, 0, 2}};
    pn_stack_arp_add_static(a, c.addr, &mb);
    pn_stack_arp_add_static(b, PN_IP4(10, 0, 0, 1), &ma);
    struct pn_socket *ls, *sa, *sb = NULL;
    struct pn_endpoint eb = {PN_IP4(10, 0, 0, 2), 80};
    pn_socket(b, PN_SOCK_STREAM, &ls);
    pn_bind(ls, &eb);
    pn_listen(ls, 4);
    pn_socket(a, PN_SOCK_STREAM, &sa);
    pn_setsockopt(sa, PN_TCP_CONGESTION, cc, strlen(cc));
    pn_connect(sa, &eb);
    static uint8_t buf[1 << 16];
    memset(buf, 0x5a, sizeof(buf));
    uint64_t start = 0, end = 0, got = 0;
    for (uint64_t steps = 0; steps < 400000000ull; steps++) {
        pn_stack_poll(a, now);
        pn_stack_poll(b, now);
        bool progress = false;
        if (!sb && pn_accept(ls, &sb, NULL) == 0) {
            start = now; /* the transfer's clock starts when the connection is up */
            end = start + (uint64_t)(seconds * 1e9);
            progress = true;
        }
        if (sb) {
            while (pn_send(sa, buf, sizeof(buf), 0) > 0)
                progress = true;
            long n;
            while ((n = pn_recv(sb, buf, sizeof(buf), 0)) > 0) {
                got += (uint64_t)n;
                progress = true;
            }
            if (now >= end)
                break;
        }
        if (progress)
            continue; /* poll again at the same instant: sends and reads produce output */
        uint64_t da = pn_stack_next_deadline(a), db = pn_stack_next_deadline(b);
        uint64_t next = da < db ? da : db;
        if (sb && end < next)
            next = end;
        if (next == PN_TIME_NEVER || next <= now)
            next = now + 1000; /* nothing scheduled: step a microsecond */
        now = next;
    }
    struct pn_tcp_info ti;
    pn_tcp_get_info(sa, &ti);
    struct pn_fault_counters tx;
    pn_link_fault_counters(fa, &tx, NULL);
    r->ok = sb && now >= end;
    r->delivered = got;
    r->goodput_bps = end > start ? (double)got * 8e9 / (double)(end - start) : 0;
    r->retrans_segs = ti.total_retrans;
    r->mss = ti.snd_mss;
    r->lost_frames = tx.lost;
    r->queue_drops = tx.rate_dropped;
    r->rtos = pn_stack_stats(a)->tcp_rto;
    r->data_frames = tx.frames_in;
    pn_close(sa);
    if (sb)
        pn_close(sb);
    pn_close(ls);
    pn_stack_free(a);
    pn_stack_free(b);
    pn_link_destroy(fa);
    pn_link_destroy(fb);
}

void bench_loss(double seconds)
{
    static const double losses[] = {0, 0.001, 0.01, 0.05};
    printf("\nbulk under random loss, simulated (virtual clock, %.0f s of virtual time per run): "
           "1 Gbit/s bottleneck,\nqueue 1 BDP, RTT 10 ms, loss on data frames A->B only, "
           "default stack settings (RTO min 1 s)\n",
           seconds);
    printf("%-6s %-8s %13s %8s %9s %7s %7s %5s %13s %6s\n", "loss", "cc", "goodput", "retrans",
           "~bytes", "lost", "q-drop", "RTOs", "Mathis est.", "wall");
    for (unsigned i = 0; i < sizeof(losses) / sizeof(losses[0]); i++) {
        for (int k = 0; k < 2; k++) {
            const char *cc = k ? "cubic" : "newreno";
            struct loss_result r;
            uint64_t t0 = bench_now_ns();
            run(cc, losses[i], seconds, 42 + i, &r);
            double wall = (double)(bench_now_ns() - t0) / 1e9;
            char mathis[32] = "-";
            if (losses[i] > 0 && r.mss)
                snprintf(mathis, sizeof(mathis), "%.0f Mbit/s",
                         r.mss * 8.0 / 0.010 * 1.22 / sqrt(losses[i]) / 1e6);
            char gp[32], rb[32];
            snprintf(gp, sizeof(gp), "%.1f Mbit/s", r.goodput_bps / 1e6);
            snprintf(rb, sizeof(rb), "%.1f MB", (double)r.retrans_segs * r.mss / 1e6);
            printf("%-6s %-8s %13s %8llu %9s %7llu %7llu %5llu %13s %5.1fs%s\n",
                   losses[i] == 0       ? "0"
                   : losses[i] == 0.001 ? "0.1 %"
                   : losses[i] == 0.01  ? "1 %"
                                        : "5 %",
                   cc, gp, (unsigned long long)r.retrans_segs, rb,
                   (unsigned long long)r.lost_frames, (unsigned long long)r.queue_drops,
                   (unsigned long long)r.rtos, mathis, wall, r.ok ? "" : "  (did not finish)");
            fflush(stdout);
        }
    }
    printf("(retrans = segments A retransmitted (pn_tcp_info.total_retrans), ~bytes = that x MSS;"
           "\n lost = frames the random loss dropped, q-drop = frames the full bottleneck queue "
           "dropped, RTOs = A's timeouts)\n");
}
