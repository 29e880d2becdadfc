/* core/pbuf.c — pooled, refcounted packet buffers (include/plebnet/pbuf.h). Two size
 * classes (one MTU frame, one 64 KiB segment) and a third of storage-less clones (a view of
 * another buffer, as TCP's send queue hands segments to the link); freed buffers go to a
 * per-class free list, so after warm-up allocation is a list pop, never a malloc.
 * Call chain: every layer -> pn_pbuf_alloc / pn_pbuf_clone / pn_pbuf_free. */
#include <stdlib.h>
#include "plebnet/pbuf.h"

enum { CLASS_SMALL, CLASS_LARGE, CLASS_CLONE, CLASS_COUNT };

struct pbuf_class {
    struct pn_pbuf *free;  /* cached buffers, linked through ->next */
    uint32_t size;         /* storage bytes per buffer */
    uint32_t allocated;    /* buffers that exist (free + in use) */
    uint32_t in_use;
    uint32_t held;         /* of in_use, from pn_pbuf_alloc_held (not capped by max) */
    uint32_t max;
};

struct pn_pbuf_pool {
    struct pbuf_class cls[CLASS_COUNT];
    int dying; /* pn_pbuf_pool_free was called with buffers still out */
};

struct pn_pbuf_pool *pn_pbuf_pool_new(const struct pn_pbuf_pool_config *cfg)
{
    struct pn_pbuf_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cls[CLASS_SMALL].size = PN_PBUF_SMALL_SIZE;
    p->cls[CLASS_SMALL].max = cfg && cfg->max_small ? cfg->max_small : 65536;
    p->cls[CLASS_LARGE].size = PN_PBUF_LARGE_SIZE;
    p->cls[CLASS_LARGE].max = cfg && cfg->max_large ? cfg->max_large : 1024;
    /* A clone pins the storage it views, so clones cannot outnumber that storage much;
     * the bound only stops a leak from growing without limit. */
    p->cls[CLASS_CLONE].size = 0;
    p->cls[CLASS_CLONE].max = p->cls[CLASS_SMALL].max + p->cls[CLASS_LARGE].max;
    return p;
}

static void release_cached(struct pn_pbuf_pool *pool)
{
    for (int c = 0; c < CLASS_COUNT; c++) {
        struct pn_pbuf *b = pool->cls[c].free;
        while (b) {
            struct pn_pbuf *n = b->next;
            free(b);
            pool->cls[c].allocated--;
            b = n;
        }
        pool->cls[c].free = NULL;
    }
}

uint32_t pn_pbuf_pool_free(struct pn_pbuf_pool *pool)
{
    if (!pool)
        return 0;
    release_cached(pool);
    uint32_t out = pn_pbuf_pool_in_use(pool);
    if (out == 0)
        free(pool);
    else
        pool->dying = 1; /* the last buffer to come back frees the pool */
    return out;
}

uint32_t pn_pbuf_pool_in_use(const struct pn_pbuf_pool *pool)
{
    return pool->cls[CLASS_SMALL].in_use + pool->cls[CLASS_LARGE].in_use +
           pool->cls[CLASS_CLONE].in_use;
}

static struct pn_pbuf *pbuf_alloc(struct pn_pbuf_pool *pool, uint32_t headroom, uint32_t len,
                                  int held)
{
    uint64_t need = (uint64_t)headroom + len;
    int c;
    if (need <= PN_PBUF_SMALL_SIZE)
        c = CLASS_SMALL;
    else if (need <= PN_PBUF_LARGE_SIZE)
        c = CLASS_LARGE;
    else
        return NULL;
    struct pbuf_class *k = &pool->cls[c];
    /* At most max packet buffers in use; held ones (bounded by their owner) do not count. */
    if (!held && k->in_use - k->held >= k->max)
        return NULL;
    struct pn_pbuf *b = k->free;
    if (b) {
        k->free = b->next;
    } else {
        b = malloc(sizeof(*b) + k->size);
        if (!b)
            return NULL;
        k->allocated++;
        b->head = (uint8_t *)(b + 1);
        b->size = k->size;
        b->pool = pool;
    }
    k->in_use++;
    k->held += held ? 1u : 0u;
    b->pool_class = (uint8_t)c;
    b->pool_held = (uint8_t)held;
    b->data = b->head + headroom;
    b->len = len;
    b->next = NULL;
    b->refcnt = 1;
    b->flags = 0;
    b->time = 0;
    b->user = 0;
    b->l3_off = 0;
    b->gso_size = 0;
    b->owner = NULL;
    return b;
}

struct pn_pbuf *pn_pbuf_alloc(struct pn_pbuf_pool *pool, uint32_t headroom, uint32_t len)
{
    return pbuf_alloc(pool, headroom, len, 0);
}

struct pn_pbuf *pn_pbuf_alloc_held(struct pn_pbuf_pool *pool, uint32_t headroom, uint32_t len)
{
    return pbuf_alloc(pool, headroom, len, 1);
}

struct pn_pbuf *pn_pbuf_clone(struct pn_pbuf *p, uint32_t len)
{
    if (len > p->len)
        return NULL;
    struct pn_pbuf *o = p->owner ? p->owner : p; /* a clone of a clone views the original */
    struct pn_pbuf_pool *pool = o->pool;
    struct pbuf_class *k = &pool->cls[CLASS_CLONE];
    struct pn_pbuf *c = k->free;
    if (c) {
        k->free = c->next;
    } else {
        if (k->allocated >= k->max)
            return NULL;
        c = malloc(sizeof(*c));
        if (!c)
            return NULL;
        k->allocated++;
        c->pool = pool;
    }
    k->in_use++;
    c->pool_class = CLASS_CLONE;
    c->pool_held = 0;
    c->head = p->head;
    c->data = p->data;
    c->len = len;
    c->size = (uint32_t)(p->data - p->head) + len; /* no tailroom: the rest is not ours */
    c->next = NULL;
    c->refcnt = 1;
    c->flags = 0;
    c->time = 0;
    c->user = 0;
    c->l3_off = 0;
    c->gso_size = 0;
    c->owner = pn_pbuf_ref(o);
    return c;
}

struct pn_pbuf *pn_pbuf_ref(struct pn_pbuf *p)
{
    p->refcnt++;
    return p;
}

void pn_pbuf_free(struct pn_pbuf *p)
{
    if (!p || --p->refcnt > 0)
        return;
    struct pn_pbuf_pool *pool = p->pool;
    struct pn_pbuf *owner = p->owner;
    struct pbuf_class *k = &pool->cls[p->pool_class];
    k->in_use--;
    k->held -= p->pool_held;
    if (pool->dying) {
        free(p);
        k->allocated--;
        if (owner)
            pn_pbuf_free(owner); /* still in use until here, so the pool is still alive */
        else if (pn_pbuf_pool_in_use(pool) == 0)
            free(pool);
        return;
    }
    p->next = k->free;
    k->free = p;
    pn_pbuf_free(owner); /* the clone's reference on the storage it viewed */
}

void pn_pbuf_free_chain(struct pn_pbuf *p)
{
    while (p) {
        struct pn_pbuf *n = p->next;
        pn_pbuf_free(p);
        p = n;
    }
}
