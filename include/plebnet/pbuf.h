/* plebnet/pbuf.h — the one packet buffer type: refcounted, pooled, with headroom reserved
 * at allocation so lower layers prepend headers without copying.
 *
 * Ownership words used on every function in plebnet:
 *   "consumes"      the callee takes over the caller's reference (caller must not touch it);
 *   "borrows"       the callee uses it only during the call; the caller still owns it;
 *   "returns owned" the caller receives a reference and must eventually consume it
 *                   (pn_pbuf_free, or pass it to a consuming function).
 * A buffer whose refcnt is > 1 is shared and must not be written.
 * Pools are not thread-safe: a pool and every buffer from it belong to one thread. */
#ifndef PLEBNET_PBUF_H
#define PLEBNET_PBUF_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pn_pbuf_pool;

struct pn_pbuf {
    uint8_t *data;              /* first valid byte */
    uint32_t len;               /* number of valid bytes at data */
    uint32_t size;              /* bytes of storage starting at head */
    uint8_t *head;              /* start of storage */
    struct pn_pbuf *next;       /* queue link, free for use by the current owner */
    struct pn_pbuf_pool *pool;  /* where the storage returns */
    uint32_t refcnt;
    uint32_t flags;             /* PN_PBUF_F_* */
    uint64_t time;              /* rx: arrival time (ns); tx: owner's scratch */
    uint32_t user;              /* scratch for the current owner (e.g. a queue's byte offset) */
    uint16_t l3_off;            /* rx: offset of the network header from head, set by eth */
    uint16_t gso_size;          /* tx: segment size when a link splits a large frame; 0 = none */
    struct pn_pbuf *owner;      /* a clone: the buffer whose storage this one views (it holds
                                 * a reference on it); NULL when the storage is its own */
    uint8_t pool_class;         /* the pool's private bookkeeping */
    uint8_t pool_held;
};

#define PN_PBUF_F_BCAST 0x1u     /* rx: frame was link-layer broadcast */
#define PN_PBUF_F_MCAST 0x2u     /* rx: frame was link-layer multicast */
#define PN_PBUF_F_CSUM_OK 0x4u   /* rx: link verified L3/L4 checksums */

/* Headroom that covers Ethernet + IPv4 + TCP with all options + a tunnel header. */
#define PN_PBUF_HEADROOM 128u
/* Storage of a small buffer: one 1500-MTU frame plus headroom. */
#define PN_PBUF_SMALL_SIZE 2048u
/* Storage of a large buffer: a 64 KiB datagram or segment plus headroom. */
#define PN_PBUF_LARGE_SIZE (65536u + 256u)

struct pn_pbuf_pool_config {
    uint32_t max_small; /* most small buffers alive at once (0 = default 65536) */
    uint32_t max_large; /* most large buffers alive at once (0 = default 1024) */
};

/* Returns an owned pool, or NULL on allocation failure. cfg may be NULL for defaults. */
struct pn_pbuf_pool *pn_pbuf_pool_new(const struct pn_pbuf_pool_config *cfg);
/* Frees the pool's cached storage. Every buffer must have been freed first; buffers still
 * out are reported by the return value (number leaked) and the pool is kept alive until
 * they return. */
uint32_t pn_pbuf_pool_free(struct pn_pbuf_pool *pool);
/* Buffers currently allocated from the pool (not yet freed). */
uint32_t pn_pbuf_pool_in_use(const struct pn_pbuf_pool *pool);

/* Returns an owned buffer with `headroom` bytes before data and len = `len` bytes of
 * uninitialised data, or NULL when headroom + len exceeds PN_PBUF_LARGE_SIZE or the pool's
 * limit is reached. The fast path takes a cached buffer and does not call malloc. */
struct pn_pbuf *pn_pbuf_alloc(struct pn_pbuf_pool *pool, uint32_t headroom, uint32_t len);
/* The same for storage whose amount its owner bounds by other means (a TCP send queue, by
 * SO_SNDBUF): not counted against the pool's max_small/max_large, so many connections with
 * queued data cannot starve packets of buffers. */
struct pn_pbuf *pn_pbuf_alloc_held(struct pn_pbuf_pool *pool, uint32_t headroom, uint32_t len);
/* Consumes one reference; the storage returns to its pool when the last one goes. NULL ok. */
void pn_pbuf_free(struct pn_pbuf *p);
/* Borrows p; returns an owned additional reference to the same buffer. */
struct pn_pbuf *pn_pbuf_ref(struct pn_pbuf *p);
/* Borrows p; returns an owned clone viewing p's first len bytes (len <= p->len) without
 * copying them, or NULL when len is too large or the pool's limit is reached. The clone has
 * its own data/len/next/flags (like Linux's skb_clone) and keeps p's storage alive.
 * Its bytes are shared: they must not be written (pn_pbuf_shared says so). Its headroom is
 * p's headroom: the clone may push headers there only when no other clone of p is alive,
 * i.e. p->refcnt was 1 before the call; it has no tailroom. */
struct pn_pbuf *pn_pbuf_clone(struct pn_pbuf *p, uint32_t len);
/* Frees a singly linked chain (via ->next); consumes every buffer in it. */
void pn_pbuf_free_chain(struct pn_pbuf *p);

static inline uint32_t pn_pbuf_headroom(const struct pn_pbuf *p)
{
    return (uint32_t)(p->data - p->head);
}
static inline uint32_t pn_pbuf_tailroom(const struct pn_pbuf *p)
{
    return p->size - pn_pbuf_headroom(p) - p->len;
}
/* True when p's data bytes may be seen by someone else and must not be written in place:
 * another reference exists, or p is a clone viewing another buffer's storage. */
static inline int pn_pbuf_shared(const struct pn_pbuf *p)
{
    return p->refcnt > 1 || p->owner != NULL;
}
/* Prepends n bytes (a header) and returns the new data pointer, or NULL (nothing changed)
 * if there is not enough headroom. Borrows p. */
static inline uint8_t *pn_pbuf_push(struct pn_pbuf *p, uint32_t n)
{
    if (pn_pbuf_headroom(p) < n)
        return NULL;
    p->data -= n;
    p->len += n;
    return p->data;
}
/* Strips n bytes from the front and returns the new data pointer, or NULL if len < n. */
static inline uint8_t *pn_pbuf_pull(struct pn_pbuf *p, uint32_t n)
{
    if (p->len < n)
        return NULL;
    p->data += n;
    p->len -= n;
    return p->data;
}
/* Appends n bytes at the tail; returns a pointer to them or NULL without enough tailroom. */
static inline uint8_t *pn_pbuf_put(struct pn_pbuf *p, uint32_t n)
{
    if (pn_pbuf_tailroom(p) < n)
        return NULL;
    uint8_t *t = p->data + p->len;
    p->len += n;
    return t;
}
/* Shortens the data to len bytes (no-op if already shorter). */
static inline void pn_pbuf_trim(struct pn_pbuf *p, uint32_t len)
{
    if (len < p->len)
        p->len = len;
}

/* A FIFO of buffers linked through ->next; O(1) push and pop. */
struct pn_pbuf_queue {
    struct pn_pbuf *head, *tail;
    uint32_t count;
    uint32_t bytes;
};
static inline void pn_pbuf_queue_init(struct pn_pbuf_queue *q)
{
    q->head = q->tail = NULL;
    q->count = q->bytes = 0;
}
/* Consumes p into the queue. */
static inline void pn_pbuf_queue_push(struct pn_pbuf_queue *q, struct pn_pbuf *p)
{
    p->next = NULL;
    if (q->tail)
        q->tail->next = p;
    else
        q->head = p;
    q->tail = p;
    q->count++;
    q->bytes += p->len;
}
/* Returns the owned head buffer or NULL when empty. */
static inline struct pn_pbuf *pn_pbuf_queue_pop(struct pn_pbuf_queue *q)
{
    struct pn_pbuf *p = q->head;
    if (!p)
        return NULL;
    q->head = p->next;
    if (!q->head)
        q->tail = NULL;
    p->next = NULL;
    q->count--;
    q->bytes -= p->len;
    return p;
}
/* Frees every queued buffer. */
static inline void pn_pbuf_queue_purge(struct pn_pbuf_queue *q)
{
    pn_pbuf_free_chain(q->head);
    pn_pbuf_queue_init(q);
}

#ifdef __cplusplus
}
#endif
#endif
