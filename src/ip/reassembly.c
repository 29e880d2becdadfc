/* ip/reassembly.c — IPv4 fragment reassembly (RFC 791 §3.2, RFC 815): out of order,
 * duplicates, conflicting overlaps (drop all, as RFC 5722 and Linux), timeout with ICMP
 * time exceeded (RFC 1122 §3.3.2) and a hard memory bound. Call chain: pn_ipv4_input ->
 * pn_reass_input; pn_timers_run -> reass_timer -> pn_icmp_send_error. */
#include <stdint.h>
#include <string.h>
#include "core/stack.h"
#include "ip/ip.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

/* One datagram being reassembled. Stored in a small buffer from the stack's pool (no malloc
 * on the data path; the pool bounds it), and its storage counts against reass_max_bytes.
 * The fragments are kept whole (data = their IP header), sorted by offset through ->next;
 * each one's ->user holds its offset (low 16 bits) and header length (high 16). */
struct pn_reass_dgram {
    struct pn_reass_dgram *next; /* list in arrival order of the first fragment */
    struct pn_pbuf *self;        /* the pool buffer holding this descriptor */
    struct pn_pbuf *frags;
    uint32_t src, dst; /* RFC 791 §3.2: the key is (source, destination, protocol, id) */
    uint16_t id;
    uint8_t proto;
    bool have_last; /* the fragment with MF = 0 arrived: total is known */
    uint32_t total; /* payload octets of the whole datagram, once have_last */
    uint32_t held;  /* storage bytes held: descriptor + every fragment's buffer */
    uint64_t first_time;
};

static uint32_t f_off(const struct pn_pbuf *f)
{
    return f->user & 0xffffu;
}
static uint32_t f_hlen(const struct pn_pbuf *f)
{
    return f->user >> 16;
}
static uint32_t f_end(const struct pn_pbuf *f)
{
    return f_off(f) + f->len - f_hlen(f);
}
static const uint8_t *f_data(const struct pn_pbuf *f)
{
    return f->data + f_hlen(f);
}

/* Unlinks d and frees it with every fragment it holds. The caller counts why. */
static void dgram_free(struct pn_stack *s, struct pn_reass_dgram *d)
{
    struct pn_reass_dgram **pp = &s->reass.list;
    while (*pp != d)
        pp = &(*pp)->next;
    *pp = d->next;
    s->reass.count--;
    s->reass.bytes -= d->held;
    pn_pbuf_free_chain(d->frags);
    pn_pbuf_free(d->self);
}

/* Evicts the oldest datagram other than keep, counted. False if there is none. */
static bool evict_oldest(struct pn_stack *s, const struct pn_reass_dgram *keep)
{
    struct pn_reass_dgram *d = s->reass.list;
    if (d == keep && d)
        d = d->next;
    if (!d)
        return false;
    PN_STAT_INC(s, ip_reass_mem_dropped);
    dgram_free(s, d);
    return true;
}

static struct pn_reass_dgram *dgram_new(struct pn_stack *s, const struct pn_ipv4_repr *ip)
{
    const uint32_t align = _Alignof(struct pn_reass_dgram);
    struct pn_pbuf *b = pn_pbuf_alloc(s->pool, 0, sizeof(struct pn_reass_dgram) + align);
    if (!b) {
        PN_STAT_INC(s, pbuf_alloc_failed);
        return NULL;
    }
    uintptr_t a = ((uintptr_t)b->data + align - 1) & ~(uintptr_t)(align - 1);
    struct pn_reass_dgram *d = (struct pn_reass_dgram *)a;
    memset(d, 0, sizeof(*d));
    d->self = b;
    d->src = ip->src;
    d->dst = ip->dst;
    d->id = ip->id;
    d->proto = ip->proto;
    d->first_time = s->now;
    d->held = b->size;
    s->reass.bytes += b->size;
    s->reass.count++;
    /* Append: the list stays in arrival order, so its head is always the first to time
     * out and the oldest to evict. */
    struct pn_reass_dgram **pp = &s->reass.list;
    while (*pp)
        pp = &(*pp)->next;
    *pp = d;
    if (!pn_timer_armed(&s->reass_timer))
        pn_timer_arm(&s->timers, &s->reass_timer, d->first_time + PN_MS(s->cfg.reass_timeout_ms));
    return d;
}

/* RFC 1122 §3.3.2: when the reassembly timer of a datagram expires its fragments are
 * discarded, and if fragment zero is held an ICMP Time Exceeded (code 1) is sent about it
 * (RFC 792). */
static void reass_timer(struct pn_timer *t, void *ctx, uint64_t now)
{
    struct pn_stack *s = ctx;
    uint64_t timeout = PN_MS(s->cfg.reass_timeout_ms);
    struct pn_reass_dgram *d;
    while ((d = s->reass.list) != NULL && d->first_time + timeout <= now) {
        PN_STAT_INC(s, ip_reass_timeout);
        if (d->frags && f_off(d->frags) == 0)
            pn_icmp_send_error(s, d->frags, PN_ICMP_TIME_EXCEEDED, PN_ICMP_EXC_FRAGTIME, 0);
        dgram_free(s, d);
    }
    if (s->reass.list)
        pn_timer_arm(&s->timers, t, s->reass.list->first_time + timeout);
}

void pn_reass_init(struct pn_stack *s)
{
    s->reass.list = NULL;
    s->reass.count = 0;
    s->reass.bytes = 0;
    pn_timer_init(&s->reass_timer, reass_timer);
}

void pn_reass_fini(struct pn_stack *s)
{
    pn_timer_cancel(&s->timers, &s->reass_timer);
    while (s->reass.list)
        dgram_free(s, s->reass.list);
}

/* Builds the complete datagram: a fresh 20-byte header from fragment zero's (options are
 * never acted on, so none are kept) and every fragment's data at its offset. Identical
 * overlaps were checked on arrival, so copying them twice is harmless. Frees d. */
static struct pn_pbuf *reass_complete(struct pn_stack *s, struct pn_reass_dgram *d)
{
    struct pn_pbuf *out = pn_stack_alloc(s, PN_IPV4_HDR_LEN + d->total); /* counted */
    if (!out) {
        dgram_free(s, d);
        return NULL;
    }
    struct pn_ipv4_repr h;
    struct pn_pbuf *first = d->frags;
    /* Cannot fail: it parsed on arrival, we only trimmed the padding. */
    (void)pn_ipv4_parse(first->data, first->len, &h, false);
    h.mf = false;
    h.frag_off = 0;
    h.payload_len = (uint16_t)d->total;
    pn_ipv4_emit(&h, out->data);
    for (struct pn_pbuf *f = d->frags; f; f = f->next)
        memcpy(out->data + PN_IPV4_HDR_LEN + f_off(f), f_data(f), f_end(f) - f_off(f));
    out->l3_off = (uint16_t)pn_pbuf_headroom(out);
    out->flags = first->flags & (PN_PBUF_F_BCAST | PN_PBUF_F_MCAST);
    out->time = s->now;
    PN_STAT_INC(s, ip_reass_ok);
    dgram_free(s, d);
    return out;
}

struct pn_pbuf *pn_reass_input(struct pn_stack *s, struct pn_pbuf *frag,
                               const struct pn_ipv4_repr *ip)
{
    uint32_t off = ip->frag_off, end = off + ip->payload_len;
    struct pn_reass_dgram *d = s->reass.list;
    while (d &&
           !(d->id == ip->id && d->src == ip->src && d->dst == ip->dst && d->proto == ip->proto))
        d = d->next;

    /* RFC 791 §3.1: the reassembled datagram (our 20-byte header + data) must fit the
     * 16-bit total length ("ping of death"). */
    if (end + PN_IPV4_HDR_LEN > PN_IPV4_MAX_LEN) {
        PN_STAT_INC(s, ip_reass_too_big);
        if (d)
            dgram_free(s, d);
        pn_pbuf_free(frag);
        return NULL;
    }
    if (!d) {
        if (s->reass.count >= s->cfg.reass_max_datagrams)
            evict_oldest(s, NULL);
        d = dgram_new(s, ip);
        if (!d) {
            pn_pbuf_free(frag);
            return NULL;
        }
    }

    /* Consistency with the end of the datagram: the last fragment fixes the total
     * length; a second, different last fragment or data beyond it means the fragments
     * are not from one datagram. Treated like a conflicting overlap. */
    bool conflict = false;
    uint32_t max_end = 0;
    for (struct pn_pbuf *f = d->frags; f; f = f->next)
        if (f_end(f) > max_end)
            max_end = f_end(f);
    if (!ip->mf)
        conflict = (d->have_last && end != d->total) || max_end > end;
    else
        conflict = d->have_last && end > d->total;

    /* Overlaps (RFC 815 §7 allows them; RFC 5722 and Linux since 4.19 drop the datagram
     * when overlapping bytes differ, since the receiver cannot know which is true). An
     * identical overlap is a retransmission and is accepted. Fragments are sorted by
     * offset, so coverage of [off, end) is found in the same walk. */
    uint32_t pos = off;
    const uint8_t *data = frag->data + ip->hdr_len;
    for (struct pn_pbuf *f = d->frags; f && !conflict; f = f->next) {
        uint32_t fo = f_off(f), fe = f_end(f);
        uint32_t lo = fo > off ? fo : off, hi = fe < end ? fe : end;
        if (lo < hi && memcmp(f_data(f) + (lo - fo), data + (lo - off), hi - lo) != 0)
            conflict = true;
        if (fo <= pos && fe > pos)
            pos = fe;
    }
    if (conflict) {
        PN_STAT_INC(s, ip_reass_overlap);
        dgram_free(s, d);
        pn_pbuf_free(frag);
        return NULL;
    }
    if (pos >= end) {
        /* Every byte is already held: a duplicate. */
        PN_STAT_INC(s, ip_reass_duplicate);
        pn_pbuf_free(frag);
        return NULL;
    }

    /* The memory bound counts buffer storage, not payload octets, so a flood of tiny
     * fragments cannot hold more than reass_max_bytes: older datagrams go first. */
    while ((uint64_t)s->reass.bytes + frag->size > s->cfg.reass_max_bytes && evict_oldest(s, d))
        ;
    if ((uint64_t)s->reass.bytes + frag->size > s->cfg.reass_max_bytes) {
        PN_STAT_INC(s, ip_reass_mem_dropped);
        dgram_free(s, d);
        pn_pbuf_free(frag);
        return NULL;
    }

    frag->user = off | (uint32_t)ip->hdr_len << 16;
    struct pn_pbuf **pp = &d->frags;
    while (*pp && f_off(*pp) <= off)
        pp = &(*pp)->next;
    frag->next = *pp;
    *pp = frag;
    d->held += frag->size;
    s->reass.bytes += frag->size;
    if (!ip->mf) {
        d->have_last = true;
        d->total = end;
    }

    /* RFC 815 §3: complete when no hole is left between 0 and the end. */
    if (!d->have_last)
        return NULL;
    uint32_t covered = 0;
    for (struct pn_pbuf *f = d->frags; f; f = f->next) {
        if (f_off(f) > covered)
            return NULL;
        if (f_end(f) > covered)
            covered = f_end(f);
    }
    return reass_complete(s, d);
}
