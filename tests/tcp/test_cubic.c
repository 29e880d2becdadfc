/* tests/tcp/test_cubic.c — CUBIC (RFC 9438) and HyStart++ (RFC 9406) driven by hand: a TCB
 * with only mss/cwnd/srtt/snd_una/snd_max set goes through the module's hooks on a fake clock
 * (a cwnd-limited sender: one ACK per MSS, the window refilled after every ACK). Checks the
 * window curve against the RFC formulas at fixed times, the Reno-friendly region, fast
 * convergence, the reduction, the RTO rule, HyStart++'s CSS entry/exit, and the registry. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "tcp/tcp.h"

#define MSS 1000u
#define SEG(x) ((double)(x) / MSS)
#define NS_PER_S 1e9

/* Reference values in floating point (the library itself is integer-only). */
static double cbrt_d(double x)
{
    double y = x > 1 ? x / 3 : 1;
    for (int i = 0; i < 200; i++)
        y -= (y * y * y - x) / (3 * y * y);
    return y;
}

/* RFC 9438 eqn. 1 with C = 0.4, in segments. */
static double w_cubic_ref(double t, double k, double w_max)
{
    return 0.4 * (t - k) * (t - k) * (t - k) + w_max;
}

static struct pn_tcb *tcb_new(const struct pn_cc_ops *cc, uint32_t cwnd_segs, uint32_t srtt_us)
{
    struct pn_tcb *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->mss = MSS;
    t->cc = cc;
    cc->init(t);
    t->cwnd = cwnd_segs * MSS;
    t->srtt_us = srtt_us;
    t->snd_una = 1000;
    t->snd_max = t->snd_una + t->cwnd;
    return t;
}

/* One ACK of one MSS (with an RTT sample if rtt_us > 0); the sender then fills cwnd. */
static void ack1(struct pn_tcb *t, uint64_t now, uint32_t rtt_us)
{
    if (rtt_us && t->cc->on_rtt_sample)
        t->cc->on_rtt_sample(t, rtt_us, now);
    t->snd_una += MSS;
    t->cc->on_ack(t, MSS, now);
    t->snd_max = t->snd_una + t->cwnd;
}

/* A fast retransmit as the core does it, then recovery ending with cwnd = ssthresh. */
static void loss(struct pn_tcb *t, uint64_t now)
{
    t->cc->on_congestion(t, PN_CC_EV_FAST_RETRANSMIT, now);
    t->cwnd = t->ssthresh;
    t->snd_max = t->snd_una + t->cwnd;
}

/* Runs ACKs spread evenly over RTTs of rtt_ns each (one ACK per segment of the window at
 * the start of each RTT) until `until` ns after *now's start; returns the cwnd seen by the
 * first ACK at or after each of the n sample times (offsets from start, ns). */
static void run(struct pn_tcb *t, uint64_t *now, uint64_t rtt_ns, uint64_t until,
                const uint64_t *at, double *out, int n)
{
    uint64_t start = *now;
    int next = 0;
    while (*now - start < until) {
        uint32_t acks = t->cwnd / MSS ? t->cwnd / MSS : 1;
        for (uint32_t i = 0; i < acks && *now - start < until; i++) {
            ack1(t, *now, 0);
            while (next < n && *now - start >= at[next])
                out[next++] = SEG(t->cwnd);
            *now += rtt_ns / acks;
        }
    }
    while (next < n)
        out[next++] = SEG(t->cwnd);
}

/* §4.6 reduction and §4.2 curve after a loss at W_max = 100 segments: K from eqn. 2 and
 * cwnd within one segment of W_cubic(t) at t = 0, K/2, K, 1.5K and 2K. RTT 250 ms keeps the
 * Reno-friendly estimate (+0.53 segment per RTT) well below the curve until 2K. */
static void test_curve_after_loss(void **state)
{
    struct pn_tcb *t = tcb_new(&pn_cc_cubic, 100, 250000);
    t->ssthresh = 50 * MSS; /* congestion avoidance */
    uint64_t now = 1000 * (uint64_t)NS_PER_S;
    loss(t, now);
    /* §4.6: ssthresh = flight_size * 0.7 = 70 segments; cwnd = ssthresh; W_max = 100. */
    assert_int_equal(t->ssthresh, 70 * MSS);
    assert_int_equal(t->cwnd, 70 * MSS);
    assert_int_equal(t->cc_state.cubic.w_max, 100 * MSS);
    assert_int_equal(t->cc_state.cubic.cwnd_prior, 100 * MSS);

    now += 250000000; /* recovery took one RTT; the epoch starts at the next ACK */
    double k = cbrt_d((100.0 - 70.0) / 0.4); /* eqn. 2: K = cbrt(W_max (1 - beta) / C) */
    assert_true(k > 4.21 && k < 4.22);
    uint64_t kns = (uint64_t)(k * NS_PER_S);
    uint64_t at[] = {0, kns / 2, kns, kns + kns / 2, 2 * kns};
    double got[5];
    run(t, &now, 250000000, 2 * kns + 1, at, got, 5);
    double k_impl = t->cc_state.cubic.k / 1024.0;
    assert_true(k_impl > k - 0.002 && k_impl < k + 0.002);
    for (int i = 0; i < 5; i++) {
        double want = w_cubic_ref((double)at[i] / NS_PER_S, k, 100);
        print_message("t=%.3f s: cwnd %.2f, W_cubic %.2f segments\n", (double)at[i] / NS_PER_S,
                      got[i], want);
        assert_true(got[i] > want - 1.0 && got[i] < want + 1.0);
    }
    /* Concave below W_max (§4.4), convex above it (§4.5): growth slows toward K then speeds up. */
    assert_true(got[1] - got[0] > got[2] - got[1]);
    assert_true(got[4] - got[3] > got[3] - got[2]);
    free(t);
}

/* §4.3: at a small RTT and window Reno's estimate W_est (eqn. 4, alpha = 3(1-b)/(1+b) until
 * W_est reaches cwnd_prior, then 1) dominates the cubic curve, and cwnd follows W_est. */
static void test_reno_friendly(void **state)
{
    struct pn_tcb *t = tcb_new(&pn_cc_cubic, 20, 1000);
    t->ssthresh = 10 * MSS;
    uint64_t now = 1000 * (uint64_t)NS_PER_S;
    loss(t, now);
    assert_int_equal(t->cwnd, 14 * MSS);
    /* 50 RTTs of 1 ms. W_est: +alpha per RTT up to 20 segments (~11.3 RTTs), then +1. */
    uint64_t at[] = {50 * 1000000ull};
    double got[1];
    run(t, &now, 1000000, 50 * 1000000ull, at, got, 1);
    double alpha = 3 * (1 - 0.7) / (1 + 0.7);
    double rtts_alpha = (20 - 14) / alpha;
    double reno = 20 + (50 - rtts_alpha);
    double cub = w_cubic_ref(0.05, cbrt_d(6 / 0.4), 20);
    print_message("after 50 ms: cwnd %.2f, Reno estimate %.2f, W_cubic %.2f segments\n", got[0],
                  reno, cub);
    assert_true(got[0] > reno - 2 && got[0] < reno + 1);
    assert_true(got[0] > cub + 30);
    /* In the Reno-friendly region cwnd is W_est itself. */
    assert_int_equal(t->cwnd, (uint32_t)(t->cc_state.cubic.w_est >> 10));
    free(t);
}

/* §4.7: a loss below the previous W_max lowers W_max to cwnd * (1 + beta) / 2; a loss at or
 * above it sets W_max = cwnd. K follows eqn. 2 from the new W_max. */
static void test_fast_convergence(void **state)
{
    struct pn_tcb *t = tcb_new(&pn_cc_cubic, 100, 100000);
    t->ssthresh = 50 * MSS;
    uint64_t now = 1000 * (uint64_t)NS_PER_S;
    loss(t, now);
    assert_int_equal(t->cc_state.cubic.w_max, 100 * MSS);
    /* grow back to 90 segments only, then lose again */
    t->cwnd = 90 * MSS;
    t->snd_max = t->snd_una + t->cwnd;
    now += 1000000000;
    loss(t, now);
    assert_int_equal(t->cc_state.cubic.w_max, 90 * MSS * 17 / 20); /* 76.5 segments */
    assert_int_equal(t->ssthresh, 63 * MSS);
    assert_int_equal(t->cwnd, 63 * MSS);
    ack1(t, now, 0); /* starts the epoch */
    double k = cbrt_d((76.5 - 63) / 0.4);
    double k_impl = t->cc_state.cubic.k / 1024.0;
    assert_true(k_impl > k - 0.002 && k_impl < k + 0.002);
    /* a loss above W_max: no further reduction of W_max */
    t->cwnd = 80 * MSS;
    t->snd_max = t->snd_una + t->cwnd;
    loss(t, now);
    assert_int_equal(t->cc_state.cubic.w_max, 80 * MSS);
    assert_int_equal(t->ssthresh, 56 * MSS);
    free(t);
}

/* §4.6: ssthresh uses flight_size, never below 2 SMSS. */
static void test_reduction_floor(void **state)
{
    struct pn_tcb *t = tcb_new(&pn_cc_cubic, 2, 100000);
    t->ssthresh = 2 * MSS;
    t->cc->on_congestion(t, PN_CC_EV_FAST_RETRANSMIT, 0);
    assert_int_equal(t->ssthresh, 2 * MSS);
    t->cwnd = 40 * MSS;
    t->snd_max = t->snd_una + 30 * MSS; /* application-limited: 30 in flight */
    t->cc->on_congestion(t, PN_CC_EV_FAST_RETRANSMIT, 0);
    assert_int_equal(t->ssthresh, 21 * MSS);
    assert_int_equal(t->cc_state.cubic.w_max, 40 * MSS);
    free(t);
}

/* §4.8: an RTO sets ssthresh with beta, cwnd = 1 SMSS; the first congestion avoidance stage
 * then has K = 0 and W_max = the cwnd at its start, so W(t) = cwnd_epoch + C t^3. */
static void test_rto(void **state)
{
    struct pn_tcb *t = tcb_new(&pn_cc_cubic, 100, 500000);
    t->ssthresh = 50 * MSS;
    uint64_t now = 1000 * (uint64_t)NS_PER_S;
    t->cc->on_congestion(t, PN_CC_EV_RTO, now);
    assert_int_equal(t->ssthresh, 70 * MSS);
    assert_int_equal(t->cwnd, MSS);
    /* slow start (not HyStart++: ssthresh is known) back to 70 segments */
    int acks = 0;
    while (t->cwnd < t->ssthresh) {
        ack1(t, now, 0);
        now += 1000000;
        acks++;
    }
    assert_true(acks <= 70);
    uint32_t cwnd_epoch = t->cwnd;
    ack1(t, now, 0); /* first ACK in congestion avoidance: the epoch starts */
    assert_int_equal(t->cc_state.cubic.k, 0);
    assert_int_equal(t->cc_state.cubic.w_max, cwnd_epoch);
    /* RTT 500 ms: W_est reaches only ~73 segments by t = 3 s, W_cubic(3 s) ~ 81 */
    uint64_t at[] = {3000000000ull};
    double got[1];
    run(t, &now, 500000000, 3000000001ull, at, got, 1);
    double want = w_cubic_ref(3.0, 0, SEG(cwnd_epoch));
    print_message("3 s after an RTO: cwnd %.2f, W_cubic %.2f segments\n", got[0], want);
    assert_true(got[0] > want - 1.0 && got[0] < want + 1.0);
    free(t);
}

/* §4.2: target is at most 1.5 * cwnd, so one ACK of one MSS adds at most MSS / 2. */
static void test_target_cap(void **state)
{
    struct pn_tcb *t = tcb_new(&pn_cc_cubic, 10, 10000000); /* RTT 10 s: W(t + RTT) huge */
    t->cc->on_congestion(t, PN_CC_EV_RTO, 0);
    t->cwnd = t->ssthresh = 10 * MSS;
    t->snd_max = t->snd_una + t->cwnd;
    ack1(t, 0, 0); /* starts the epoch: K = 0, W_max = cwnd; W_est (+0.1 segment) leads */
    uint32_t c = t->cwnd;
    ack1(t, 1000000000, 0); /* 1 s later W_cubic(t) > W_est and W_cubic(t + 10 s) >> 1.5 cwnd */
    assert_int_equal(t->cwnd, c + MSS / 2);
    free(t);
}

/* §5.8: no growth while application-limited (less than half of cwnd in flight). */
static void test_app_limited(void **state)
{
    struct pn_tcb *t = tcb_new(&pn_cc_cubic, 40, 100000);
    t->snd_max = t->snd_una + 10 * MSS;
    t->snd_una += MSS;
    t->cc->on_ack(t, MSS, 0);
    assert_int_equal(t->cwnd, 40 * MSS);
    free(t);
}

/* ---- HyStart++ ---- */

/* One HyStart++ round as RFC 9406 §4.2 counts it: the first ACK reaches the previous round's
 * windowEnd, the rest acknowledge data sent before it. Every ACK carries an RTT sample.
 * Returns the number of ACKs. */
static int hs_round(struct pn_tcb *t, uint64_t *now, uint32_t rtt_us, int max_samples)
{
    uint32_t end = t->snd_max;
    int n = 0;
    do {
        ack1(t, *now, n < max_samples ? rtt_us : 0);
        *now += 1000000;
        n++;
    } while (t->snd_una + MSS < end);
    return n;
}

static bool in_css(const struct pn_tcb *t)
{
    return pn_hystart_in_css(&t->cc_state.cubic.hs);
}

/* §4.2: the round's minimum RTT rising by RttThresh (here 100 ms / 8 = 12.5 ms) after
 * N_RTT_SAMPLE samples enters CSS: growth per ACK becomes 1/CSS_GROWTH_DIVISOR, ssthresh is
 * untouched; after CSS_ROUNDS rounds (the partial first one included) ssthresh = cwnd and
 * congestion avoidance begins with K = 0, W_max = cwnd (RFC 9438 §4.10). */
static void test_hystart_css_and_exit(void **state)
{
    struct pn_tcb *t = tcb_new(&pn_cc_cubic, 10, 100000);
    uint64_t now = 1000 * (uint64_t)NS_PER_S;
    assert_int_equal(t->ssthresh, UINT32_MAX);
    int n = hs_round(t, &now, 100000, 1000);
    assert_int_equal(n, 9);
    assert_false(in_css(t));
    assert_int_equal(t->cwnd, 19 * MSS); /* standard slow start: one MSS per MSS acked */
    /* round 2: RTT 112 ms < 100 + 12.5: no exit */
    hs_round(t, &now, 112000, 1000);
    assert_false(in_css(t));
    /* round 3 against round 2's 112 ms: 125 ms >= 112 + 14 is false; 127 ms is true. The
     * exit happens at the 8th sample. */
    uint32_t end = t->snd_max;
    for (int i = 0; i < 7; i++) {
        ack1(t, now, 127000);
        assert_false(in_css(t));
    }
    ack1(t, now, 127000);
    assert_true(in_css(t));
    assert_int_equal(t->ssthresh, UINT32_MAX); /* CSS is still slow start */
    uint32_t c0 = t->cwnd;
    for (int i = 0; i < 4; i++)
        ack1(t, now, 127000);
    assert_int_equal(t->cwnd, c0 + MSS); /* 4 ACKs of one MSS: one MSS in CSS */
    while (t->snd_una + MSS < end)
        ack1(t, now, 127000);
    /* rounds 4..7 in CSS; CSS ends at the first ACK of round 8 (5 rounds incl. round 3) */
    for (int r = 4; r <= 7; r++) {
        hs_round(t, &now, 127000, 1000);
        assert_true(in_css(t));
        assert_int_equal(t->ssthresh, UINT32_MAX);
    }
    ack1(t, now, 127000);
    assert_false(in_css(t));
    assert_int_equal(t->ssthresh, t->cwnd);
    assert_int_equal(t->cc_state.cubic.cwnd_prior, t->cwnd);
    /* now congestion avoidance: the epoch starts with K = 0 and W_max = cwnd */
    uint32_t c1 = t->cwnd;
    ack1(t, now, 127000);
    assert_int_equal(t->cc_state.cubic.k, 0);
    assert_int_equal(t->cc_state.cubic.w_max, c1);
    assert_true(t->cwnd < c1 + MSS / 4);
    free(t);
}

/* §4.2: in CSS, a round whose minimum RTT falls below cssBaselineMinRtt resumes slow start. */
static void test_hystart_spurious_css(void **state)
{
    struct pn_tcb *t = tcb_new(&pn_cc_cubic, 10, 100000);
    uint64_t now = 0;
    hs_round(t, &now, 100000, 1000);
    hs_round(t, &now, 120000, 1000);
    assert_true(in_css(t));
    hs_round(t, &now, 99000, 1000); /* next round: min RTT 99 ms < baseline 120 ms */
    assert_false(in_css(t));
    assert_int_equal(t->ssthresh, UINT32_MAX);
    uint32_t c0 = t->cwnd;
    ack1(t, now, 99000);
    assert_int_equal(t->cwnd, c0 + MSS); /* full slow-start growth again */
    free(t);
}

/* §4.3 RttThresh = max(4 ms, min(lastRoundMinRTT / 8, 16 ms)), and N_RTT_SAMPLE = 8. */
static void hs_threshold_case(uint32_t base_us, uint32_t rise_us, int samples, bool exits)
{
    struct pn_tcb *t = tcb_new(&pn_cc_cubic, 10, base_us);
    uint64_t now = 0;
    hs_round(t, &now, base_us, 1000);
    hs_round(t, &now, base_us + rise_us, samples);
    assert_int_equal(in_css(t), exits);
    free(t);
}

static void test_hystart_thresholds(void **state)
{
    hs_threshold_case(10000, 3900, 1000, false); /* 10 ms / 8 < 4 ms: threshold 4 ms */
    hs_threshold_case(10000, 4000, 1000, true);
    hs_threshold_case(400000, 15900, 1000, false); /* 400 ms / 8 > 16 ms: threshold 16 ms */
    hs_threshold_case(400000, 16000, 1000, true);
    hs_threshold_case(100000, 50000, 7, false); /* only 7 samples in the round */
    hs_threshold_case(100000, 50000, 8, true);
}

/* A loss in slow start or CSS ends HyStart++ (§4.2) and CUBIC reduces as usual. */
static void test_hystart_loss(void **state)
{
    struct pn_tcb *t = tcb_new(&pn_cc_cubic, 10, 100000);
    uint64_t now = 0;
    hs_round(t, &now, 100000, 1000);
    hs_round(t, &now, 120000, 1000);
    assert_true(in_css(t));
    uint32_t flight = pn_cc_flight(t);
    t->cc->on_congestion(t, PN_CC_EV_FAST_RETRANSMIT, now);
    assert_false(in_css(t));
    assert_int_equal(t->ssthresh, flight * 7 / 10);
    /* After an RTO later, slow start is the RFC 5681 one (no HyStart++, L = 2). */
    t->cc->on_congestion(t, PN_CC_EV_RTO, now);
    assert_int_equal(t->cwnd, MSS);
    t->snd_una += 4 * MSS;
    t->cc->on_ack(t, 4 * MSS, now);
    assert_int_equal(t->cwnd, 3 * MSS);
    free(t);
}

/* ---- registry ---- */
static void test_registry(void **state)
{
    assert_ptr_equal(pn_cc_find("cubic"), &pn_cc_cubic);
    assert_ptr_equal(pn_cc_find("newreno"), &pn_cc_newreno);
    assert_null(pn_cc_find("reno"));
    assert_null(pn_cc_find(""));
    assert_null(pn_cc_find(NULL));
    assert_ptr_equal(pn_cc_default(), &pn_cc_cubic);
    assert_string_equal(pn_cc_default()->name, "cubic");
}

/* Through the socket API: new sockets use CUBIC, PN_TCP_CONGESTION selects NewReno. */
static void test_sockopt(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    struct pn_socket *sk;
    assert_int_equal(pn_socket(o.s, PN_SOCK_STREAM, &sk), 0);
    char name[16];
    size_t len = sizeof(name);
    assert_int_equal(pn_getsockopt(sk, PN_TCP_CONGESTION, name, &len), 0);
    assert_string_equal(name, "cubic");
    assert_int_equal(pn_setsockopt(sk, PN_TCP_CONGESTION, "newreno", 7), 0);
    len = sizeof(name);
    assert_int_equal(pn_getsockopt(sk, PN_TCP_CONGESTION, name, &len), 0);
    assert_string_equal(name, "newreno");
    assert_int_equal(pn_setsockopt(sk, PN_TCP_CONGESTION, "bogus", 5), PN_EINVAL);
    pn_close(sk);
    t_one_fini(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curve_after_loss),
        cmocka_unit_test(test_reno_friendly),
        cmocka_unit_test(test_fast_convergence),
        cmocka_unit_test(test_reduction_floor),
        cmocka_unit_test(test_rto),
        cmocka_unit_test(test_target_cap),
        cmocka_unit_test(test_app_limited),
        cmocka_unit_test(test_hystart_css_and_exit),
        cmocka_unit_test(test_hystart_spurious_css),
        cmocka_unit_test(test_hystart_thresholds),
        cmocka_unit_test(test_hystart_loss),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_sockopt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
