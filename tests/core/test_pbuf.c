/* tests/core/test_pbuf.c — packet buffers: headroom, push/pull/put bounds, refcounts,
 * pooling (no new allocation after warm-up), limits, clones, held buffers, and queues. */
#include <string.h>
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

/* A clone views the original's first bytes without a copy, shares its headroom, has no
 * tailroom, reports itself shared, and keeps the storage alive after the original goes. */
static void test_clone(void **state)
{
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_pbuf *p = pn_pbuf_alloc(pool, 64, 100);
    for (int i = 0; i < 100; i++)
        p->data[i] = (uint8_t)i;
    assert_false(pn_pbuf_shared(p));
    assert_null(pn_pbuf_clone(p, 101)); /* longer than the buffer */
    struct pn_pbuf *c = pn_pbuf_clone(p, 60);
    assert_non_null(c);
    assert_ptr_equal(c->data, p->data);
    assert_int_equal(c->len, 60);
    assert_int_equal(pn_pbuf_headroom(c), 64);
    assert_int_equal(pn_pbuf_tailroom(c), 0);
    assert_null(pn_pbuf_put(c, 1)); /* the bytes after the view are not the clone's */
    assert_int_equal(p->refcnt, 2);
    assert_true(pn_pbuf_shared(p));
    assert_true(pn_pbuf_shared(c));
    assert_int_equal(pn_pbuf_pool_in_use(pool), 2);
    /* Headers go into the shared headroom; the original's view is untouched. */
    uint8_t *h = pn_pbuf_push(c, 20);
    assert_non_null(h);
    memset(h, 0xee, 20);
    assert_int_equal(p->len, 100);
    assert_int_equal(p->data[0], 0);
    /* A clone of the clone views the original's storage. */
    struct pn_pbuf *cc = pn_pbuf_clone(c, 10);
    assert_ptr_equal(cc->owner, p);
    assert_int_equal(p->refcnt, 3);
    pn_pbuf_free(p); /* the original goes first: the clones keep the storage */
    assert_int_equal(c->data[20 + 59], 59);
    pn_pbuf_free(cc);
    pn_pbuf_free(c);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    assert_int_equal(pn_pbuf_pool_free(pool), 0);
}

/* Held buffers (a TCP send queue's) do not count against the packet limit. */
static void test_held_not_capped(void **state)
{
    struct pn_pbuf_pool_config cfg = {.max_small = 1, .max_large = 1};
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(&cfg);
    struct pn_pbuf *h1 = pn_pbuf_alloc_held(pool, 0, 10);
    struct pn_pbuf *h2 = pn_pbuf_alloc_held(pool, 0, 10);
    assert_non_null(h1);
    assert_non_null(h2);
    struct pn_pbuf *a = pn_pbuf_alloc(pool, 0, 10); /* the one packet buffer still fits */
    assert_non_null(a);
    assert_null(pn_pbuf_alloc(pool, 0, 10));
    pn_pbuf_free(h1);
    assert_null(pn_pbuf_alloc(pool, 0, 10)); /* a freed held buffer does not raise the cap */
    pn_pbuf_free(a);
    struct pn_pbuf *b = pn_pbuf_alloc(pool, 0, 10);
    assert_non_null(b);
    pn_pbuf_free(b);
    pn_pbuf_free(h2);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    assert_int_equal(pn_pbuf_pool_free(pool), 0);
}

/* A clone alive when the pool is freed: its storage and then the pool go with it. */
static void test_clone_outlives_pool(void **state)
{
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_pbuf *p = pn_pbuf_alloc(pool, 0, 10);
    struct pn_pbuf *c = pn_pbuf_clone(p, 10);
    pn_pbuf_free(p);
    assert_int_equal(pn_pbuf_pool_free(pool), 2); /* the clone and the storage it views */
    pn_pbuf_free(c);                              /* frees both and the pool (ASan checks) */
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
        cmocka_unit_test(test_queue),              cmocka_unit_test(test_clone),
        cmocka_unit_test(test_held_not_capped),    cmocka_unit_test(test_clone_outlives_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
