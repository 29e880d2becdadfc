/* tests/core/test_timer.c — the timer wheel: exact firing times (never early, at most one
 * tick late), cancel, re-arm from a callback, long idle gaps, and the next-deadline query. */
#include <stdlib.h>
#include "testutil.h"
#include "core/timer.h"
#include "core/util.h"

struct rec {
    struct pn_timer t;
    uint64_t fired_at;
    int fired;
    uint64_t rearm_delta;
};

static void on_fire(struct pn_timer *t, void *ctx, uint64_t now)
{
    struct rec *r = pn_container_of(t, struct rec, t);
    r->fired++;
    r->fired_at = now;
    if (r->rearm_delta)
        pn_timer_arm(ctx, t, now + r->rearm_delta);
}

/* Steps like an application: jump to the next deadline, run, repeat, until `end`. */
static void drive(struct pn_timers *w, uint64_t *now, uint64_t end)
{
    for (;;) {
        uint64_t next = pn_timers_next(w);
        if (next > end)
            break;
        if (next > *now)
            *now = next;
        pn_timers_run(w, *now, w);
    }
    *now = end;
    pn_timers_run(w, *now, w);
}

static void test_exact_times(void **state)
{
    struct pn_timers w;
    uint64_t now = PN_SEC(5);
    pn_timers_init(&w, now);
    /* Deltas across every level boundary of the wheel. */
    static const uint64_t deltas_ms[] = {0, 1, 2, 63, 64, 65, 200, 4095, 4096, 4097, 30000,
                                         262143, 262144, 7200000, 86400000};
    enum { N = sizeof(deltas_ms) / sizeof(deltas_ms[0]) };
    struct rec r[N];
    for (int i = 0; i < N; i++) {
        pn_timer_init(&r[i].t, on_fire);
        r[i].fired = 0;
        r[i].rearm_delta = 0;
        pn_timer_arm(&w, &r[i].t, now + PN_MS(deltas_ms[i]));
    }
    assert_int_equal(w.armed, N);
    drive(&w, &now, PN_SEC(5) + PN_MS(86400001));
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].fired, 1);
        assert_int_equal(r[i].fired_at, PN_SEC(5) + PN_MS(deltas_ms[i]));
    }
    assert_int_equal(w.armed, 0);
    assert_int_equal(pn_timers_next(&w), UINT64_MAX);
}

static void test_rounding_never_early(void **state)
{
    struct pn_timers w;
    uint64_t now = 0;
    pn_timers_init(&w, now);
    struct rec r = {.fired = 0};
    pn_timer_init(&r.t, on_fire);
    pn_timer_arm(&w, &r.t, 1500000); /* 1.5 ms */
    pn_timers_run(&w, 1499999, &w);
    assert_int_equal(r.fired, 0);
    assert_int_equal(pn_timers_next(&w), 2000000); /* rounded up to the 2 ms tick */
    pn_timers_run(&w, 2000000, &w);
    assert_int_equal(r.fired, 1);
}

static void test_cancel_and_rearm(void **state)
{
    struct pn_timers w;
    uint64_t now = 0;
    pn_timers_init(&w, now);
    struct rec a = {.fired = 0}, b = {.fired = 0};
    pn_timer_init(&a.t, on_fire);
    pn_timer_init(&b.t, on_fire);
    pn_timer_arm(&w, &a.t, PN_MS(100));
    pn_timer_arm(&w, &b.t, PN_MS(100));
    pn_timer_cancel(&w, &a.t);
    pn_timer_cancel(&w, &a.t); /* harmless twice */
    assert_false(pn_timer_armed(&a.t));
    pn_timer_arm(&w, &b.t, PN_MS(5000)); /* re-arm moves it */
    drive(&w, &now, PN_MS(4999));
    assert_int_equal(a.fired, 0);
    assert_int_equal(b.fired, 0);
    drive(&w, &now, PN_MS(5000));
    assert_int_equal(b.fired, 1);
    /* periodic: re-armed from its own callback */
    b.rearm_delta = PN_MS(250);
    pn_timer_arm(&w, &b.t, now + PN_MS(250));
    drive(&w, &now, now + PN_MS(1000));
    assert_int_equal(b.fired, 1 + 4);
    assert_int_equal(b.fired_at, PN_MS(6000));
}

static void test_big_jump_and_many(void **state)
{
    struct pn_timers w;
    uint64_t now = PN_MS(123);
    pn_timers_init(&w, now);
    enum { N = 5000 };
    struct rec *r = calloc(N, sizeof(*r));
    assert_non_null(r);
    srand(7);
    for (int i = 0; i < N; i++) {
        pn_timer_init(&r[i].t, on_fire);
        pn_timer_arm(&w, &r[i].t, now + PN_MS((uint64_t)(rand() % 3600000)));
    }
    /* One poll far in the future fires everything, each exactly once. */
    unsigned fired = pn_timers_run(&w, now + PN_SEC(4000), &w);
    assert_int_equal(fired, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(r[i].fired, 1);
    free(r);
}

/* Timers cancelled by an earlier callback in the same slot must not fire. */
static struct rec *victim;
static void cancel_other(struct pn_timer *t, void *ctx, uint64_t now)
{
    pn_timer_cancel(ctx, &victim->t);
}

static void test_cancel_from_callback(void **state)
{
    struct pn_timers w;
    pn_timers_init(&w, 0);
    struct rec killer = {.fired = 0}, v = {.fired = 0};
    victim = &v;
    pn_timer_init(&killer.t, cancel_other);
    pn_timer_init(&v.t, on_fire);
    pn_timer_arm(&w, &v.t, PN_MS(10));
    pn_timer_arm(&w, &killer.t, PN_MS(10)); /* inserted at the head: runs first */
    pn_timers_run(&w, PN_MS(10), &w);
    assert_int_equal(v.fired, 0);
    assert_int_equal(w.armed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_times),
        cmocka_unit_test(test_rounding_never_early),
        cmocka_unit_test(test_cancel_and_rearm),
        cmocka_unit_test(test_big_jump_and_many),
        cmocka_unit_test(test_cancel_from_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
