/* tests/core/test_pbuf.c — packet buffers: headroom, push/pull/put bounds, refcounts,
 * pooling (no new allocation after warm-up), limits, and queues. */
#include "testutil.h"

static void test_headroom_push_pull(void **state)
{
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_pbuf *p = pn_pbuf_alloc(pool, 64, 100);
    assert_non_null(p);
    assert_int_equal(pn_pbuf_headroom(p), 64);
    assert_int_equal(p->len, 100);
    assert_int_equal(pn_pbuf_tailroom(p), PN_PBUF_SMALL_SIZE - 164);
    assert_non_null(pn_pbuf_push(p, 64));
    assert_null(pn_pbuf_push(p, 1)); /* no headroom left: unchanged */
    assert_int_equal(p->len, 164);
    assert_non_null(pn_pbuf_pull(p, 164));
    assert_null(pn_pbuf_pull(p, 1));
    assert_non_null(pn_pbuf_put(p, pn_pbuf_tailroom(p)));
    assert_null(pn_pbuf_put(p, 1));
    pn_pbuf_free(p);
    assert_int_equal(pn_pbuf_pool_free(pool), 0);
}

static void test_classes_and_limits(void **state)
{
    struct pn_pbuf_pool_config cfg = {.max_small = 2, .max_large = 1};
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(&cfg);
    struct pn_pbuf *a = pn_pbuf_alloc(pool, 128, 1500);
    struct pn_pbuf *b = pn_pbuf_alloc(pool, 0, PN_PBUF_SMALL_SIZE);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(pn_pbuf_alloc(pool, 0, 10)); /* small limit */
    struct pn_pbuf *l = pn_pbuf_alloc(pool, 128, 65535);
    assert_non_null(l);
    assert_int_equal(l->size, PN_PBUF_LARGE_SIZE);
    assert_null(pn_pbuf_alloc(pool, 128, 70000)); /* larger than any class */
    assert_int_equal(pn_pbuf_pool_in_use(pool), 3);
    pn_pbuf_free(a);
    /* The freed buffer is reused: same storage, no new allocation needed. */
    struct pn_pbuf *c = pn_pbuf_alloc(pool, 0, 10);
    assert_ptr_equal(c, a);
    pn_pbuf_free(b);
    pn_pbuf_free(c);
    pn_pbuf_free(l);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    assert_int_equal(pn_pbuf_pool_free(pool), 0);
}

static void test_refcount(void **state)
{
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_pbuf *p = pn_pbuf_alloc(pool, 0, 10);
    assert_ptr_equal(pn_pbuf_ref(p), p);
    assert_int_equal(p->refcnt, 2);
    pn_pbuf_free(p);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 1);
    pn_pbuf_free(p);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    pn_pbuf_free(NULL);
    pn_pbuf_pool_free(pool);
}

static void test_pool_outlives_buffers(void **state)
{
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_pbuf *p = pn_pbuf_alloc(pool, 0, 10);
    assert_int_equal(pn_pbuf_pool_free(pool), 1); /* one still out: pool kept */
    pn_pbuf_free(p);                              /* frees the pool too (ASan checks) */
}

static void test_queue(void **state)
{
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_pbuf_queue q;
    pn_pbuf_queue_init(&q);
    assert_null(pn_pbuf_queue_pop(&q));
    struct pn_pbuf *x[3];
    for (int i = 0; i < 3; i++) {
        x[i] = pn_pbuf_alloc(pool, 0, (uint32_t)(10 * (i + 1)));
        pn_pbuf_queue_push(&q, x[i]);
    }
    assert_int_equal(q.count, 3);
    assert_int_equal(q.bytes, 60);
    assert_ptr_equal(pn_pbuf_queue_pop(&q), x[0]);
    assert_int_equal(q.bytes, 50);
    pn_pbuf_free(x[0]);
    pn_pbuf_queue_purge(&q);
    assert_int_equal(q.count, 0);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    pn_pbuf_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headroom_push_pull), cmocka_unit_test(test_classes_and_limits),
        cmocka_unit_test(test_refcount),           cmocka_unit_test(test_pool_outlives_buffers),
        cmocka_unit_test(test_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
