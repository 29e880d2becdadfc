/* tcp/sndq.c — the send queue (issue #4 "touch each payload byte once on send"): the bytes
 * from SND.UNA on live in pbufs of up to one segment each. pn_send copies the application's
 * bytes straight into the tail pbuf's payload area with the Internet checksum folded into
 * that copy (RFC 1071 §4.1 style, a partial sum kept per pbuf), and output hands a whole
 * pbuf to IP as a clone (headers written into its headroom, the stored sum reused), so a
 * first transmission reads no payload byte again. Odd cases (a segment starting inside a
 * pbuf or spanning several, a pbuf still out at the link) copy, as before.
 * Call chain: socket.c tcp_sendto -> pn_tcp_sq_append; output.c pn_tcp_send_segment ->
 * pn_tcp_sq_segment; input.c ACK processing -> pn_tcp_sq_drop; table.c -> pn_tcp_sq_purge. */
#include <string.h>
#include "core/stack.h"
#include "core/util.h"
#include "tcp/tcp.h"
#include "wire/checksum.h"

/* pbuf->user of a queued pbuf: the 16-bit ones'-complement sum of its bytes (as a sequence
 * starting on a word boundary) when SUM_VALID is set. Trimming the front (a partial ACK)
 * clears it; it is recomputed when a whole pbuf is next sent. */
#define SUM_VALID 0x10000u
/* A queued pbuf keeps room in front for the largest TCP header plus what a fresh segment
 * buffer has below TCP (pn_stack_alloc), so a clone of it goes down the stack the same way. */
#define SQ_HEADROOM (PN_PBUF_HEADROOM + PN_TCP_MAX_HDR_LEN)

/* RFC 1071 §2(C): fold the 32-bit accumulator's carries back into 16 bits. */
static uint16_t fold(uint32_t a)
{
    a = (a & 0xffffu) + (a >> 16);
    a = (a & 0xffffu) + (a >> 16);
    return (uint16_t)a;
}

static uint16_t add16(uint16_t a, uint16_t b)
{
    return fold((uint32_t)a + b);
}

/* RFC 1071 §2(B): the sum is byte-order independent, so bytes summed as a sequence of their
 * own but sitting at an odd offset of the whole contribute their sum with the bytes swapped. */
static uint16_t swap16(uint16_t a)
{
    return (uint16_t)((a << 8) | (a >> 8));
}

uint32_t pn_tcp_max_seg(const struct pn_stack *s, const struct pn_tcb *t)
{
    uint32_t mss = t->mss ? t->mss : PN_TCP_DEFAULT_MSS;
    /* Large segments (TSO-like): whole MSS multiples within a 64 KiB IPv4 datagram with a
     * full TCP header. */
    if (s->link->caps.large_tx)
        return (uint32_t)((65535u - 20u - 60u) / mss) * mss;
    return mss;
}

/* Where byte `off` (from SND.UNA) lives: the pbuf holding it and that pbuf's first byte's
 * offset. Segments go out in order, so the search starts where the last one ended. */
static struct pn_pbuf *sq_find(struct pn_tcb *t, uint32_t off, uint32_t *qstart)
{
    struct pn_pbuf *q = t->sq.head;
    uint32_t start = 0;
    if (t->sq_hint && off >= t->sq_hint_off) {
        q = t->sq_hint;
        start = t->sq_hint_off;
    }
    while (q && off - start >= q->len) {
        start += q->len;
        q = q->next;
    }
    if (q) {
        t->sq_hint = q;
        t->sq_hint_off = start;
    }
    *qstart = start;
    return q;
}

uint32_t pn_tcp_sq_run(struct pn_tcb *t, uint32_t off)
{
    uint32_t qstart;
    struct pn_pbuf *q = sq_find(t, off, &qstart);
    return q ? qstart + q->len - off : 0;
}

uint32_t pn_tcp_sq_append(struct pn_stack *s, struct pn_tcb *t, const uint8_t *buf, uint32_t n)
{
    uint32_t cap = pn_tcp_max_seg(s, t), done = 0;
    while (done < n) {
        struct pn_pbuf *q = t->sq.tail;
        uint32_t room = 0;
        if (q) {
            /* Only a pbuf never sent (it starts at or past SND.MAX, so no clone of it is
             * out) grows: what went out stays as it went, as Linux's write queue does. */
            uint32_t qstart = t->sq.bytes - q->len;
            if (seq_ge(t->snd_una + qstart, t->snd_max) && !pn_pbuf_shared(q) &&
                (q->user & SUM_VALID) && q->len < cap)
                room = PN_MIN(cap - q->len, pn_pbuf_tailroom(q));
        }
        if (room == 0) {
            /* Bounded by SO_SNDBUF, as the old byte ring was: not by the packet pool. */
            q = pn_pbuf_alloc_held(s->pool, SQ_HEADROOM, cap);
            if (!q) {
                s->stats.pbuf_alloc_failed++;
                break;
            }
            q->len = 0;
            q->user = SUM_VALID; /* the sum of nothing: 0 */
            pn_pbuf_queue_push(&t->sq, q);
            room = PN_MIN(cap, pn_pbuf_tailroom(q));
        }
        uint32_t m = PN_MIN(room, n - done);
        uint16_t part = fold(pn_csum_copy(0, q->data + q->len, buf + done, m));
        if (q->len & 1)
            part = swap16(part);
        q->user = SUM_VALID | add16((uint16_t)q->user, part);
        q->len += m;
        t->sq.bytes += m;
        done += m;
    }
    s->stats.tcp_tx_bytes_touched += done;
    return done;
}

void pn_tcp_sq_drop(struct pn_tcb *t, uint32_t n)
{
    if (t->sq_hint) {
        if (t->sq_hint_off >= n)
            t->sq_hint_off -= n;
        else
            t->sq_hint = NULL; /* its front was cut or it is gone: search from the head */
    }
    while (n && t->sq.head) {
        struct pn_pbuf *q = t->sq.head;
        if (q->len <= n) {
            n -= q->len;
            pn_pbuf_free(pn_pbuf_queue_pop(&t->sq));
        } else {
            /* Only this pbuf's view moves: clones of it already out keep theirs. */
            q->data += n;
            q->len -= n;
            t->sq.bytes -= n;
            q->user = 0;
            n = 0;
        }
    }
}

void pn_tcp_sq_purge(struct pn_tcb *t)
{
    pn_pbuf_queue_purge(&t->sq);
    t->sq_hint = NULL;
    t->sq_hint_off = 0;
}

/* The sum of q's first len bytes (0 < len < q->len), reading whichever side is shorter:
 * with the whole pbuf's sum known, prefix = whole - suffix in ones'-complement arithmetic. */
static uint16_t prefix_sum(struct pn_stack *s, struct pn_pbuf *q, uint32_t len)
{
    uint32_t rest = q->len - len;
    if (!(q->user & SUM_VALID) || len <= rest) {
        s->stats.tcp_tx_bytes_touched += len;
        return fold(pn_csum_add(0, q->data, len));
    }
    s->stats.tcp_tx_bytes_touched += rest;
    uint16_t tail = fold(pn_csum_add(0, q->data + len, rest));
    if (len & 1)
        tail = swap16(tail);
    return add16((uint16_t)q->user, (uint16_t)~tail);
}

/* Copies [off, off+len) of the queue (which may span pbufs) into dst, summing in the same
 * pass; returns the 16-bit sum. */
static uint16_t gather(struct pn_stack *s, struct pn_tcb *t, uint8_t *dst, uint32_t off,
                       uint32_t len)
{
    uint32_t qstart;
    struct pn_pbuf *q = sq_find(t, off, &qstart);
    uint32_t in = off - qstart, done = 0;
    uint16_t sum = 0;
    while (q && done < len) {
        uint32_t m = PN_MIN(q->len - in, len - done);
        uint16_t part = fold(pn_csum_copy(0, dst + done, q->data + in, m));
        if (done & 1)
            part = swap16(part);
        sum = add16(sum, part);
        done += m;
        in = 0;
        q = q->next;
    }
    s->stats.tcp_tx_bytes_touched += done;
    return sum;
}

struct pn_pbuf *pn_tcp_sq_segment(struct pn_stack *s, struct pn_tcb *t, uint32_t off, uint32_t len,
                                  uint32_t hlen, uint32_t *psum)
{
    if (off > t->sq.bytes || len > t->sq.bytes - off)
        return NULL; /* the callers clamp to the queue; never read past it */
    uint32_t qstart;
    struct pn_pbuf *q = sq_find(t, off, &qstart);
    /* The fast path: the segment is a pbuf (or its front), and no earlier clone of it is
     * still out (refcnt 1), so its headroom is free for this segment's headers. */
    if (q && qstart == off && len <= q->len && q->refcnt == 1 &&
        pn_pbuf_headroom(q) >= hlen + PN_PBUF_HEADROOM) {
        uint16_t sum;
        if (len == q->len) {
            if (!(q->user & SUM_VALID)) {
                s->stats.tcp_tx_bytes_touched += q->len;
                q->user = SUM_VALID | fold(pn_csum_add(0, q->data, q->len));
            }
            sum = (uint16_t)q->user;
        } else {
            sum = prefix_sum(s, q, len);
        }
        struct pn_pbuf *c = pn_pbuf_clone(q, len);
        if (c) {
            pn_pbuf_push(c, hlen);
            *psum = sum;
            return c;
        }
    }
    struct pn_pbuf *p = pn_stack_alloc(s, hlen + len);
    if (!p)
        return NULL;
    *psum = gather(s, t, p->data + hlen, off, len);
    return p;
}
