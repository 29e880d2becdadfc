/* tcp/sack.c — SACK scoreboard and block generation (see tcp/sack.h): RFC 2018, RFC 2883,
 * RFC 6675 §4. */
#include <stdlib.h>
#include <string.h>
#include "tcp/sack.h"
#include "tcp/tcp.h"

void pn_sack_clear(struct pn_sack_board *b)
{
    free(b->r);
    b->r = NULL;
    b->cap = 0;
    b->n = 0;
    b->bytes = 0;
    b->high_sacked = 0;
}

static void recount(struct pn_sack_board *b)
{
    b->bytes = 0;
    for (unsigned i = 0; i < b->n; i++)
        b->bytes += b->r[i].right - b->r[i].left;
    if (b->n)
        b->high_sacked = b->r[b->n - 1].right;
}

/* Inserts [l, r) keeping ranges sorted and disjoint (adjacent ones merge). When the board is
 * full the highest range is dropped: forgetting SACK information is always safe, it only
 * costs a needless retransmission (RFC 2018 §8). Returns the bytes newly covered. */
static uint32_t insert(struct pn_sack_board *b, uint32_t l, uint32_t r)
{
    uint32_t before = b->bytes;
    unsigned i = 0;
    while (i < b->n && seq_lt(b->r[i].right, l))
        i++;
    /* merge every range that touches [l, r) */
    unsigned j = i;
    while (j < b->n && seq_le(b->r[j].left, r)) {
        if (seq_lt(b->r[j].left, l))
            l = b->r[j].left;
        if (seq_gt(b->r[j].right, r))
            r = b->r[j].right;
        j++;
    }
    unsigned removed = j - i;
    if (removed == 0 && b->n == b->cap && b->cap < PN_SACK_MAX_RANGES) {
        unsigned ncap = b->cap ? b->cap * 2u : 8u;
        struct pn_sack_range *nr = realloc(b->r, ncap * sizeof(*nr));
        if (nr) { /* without memory, fall through: the bound below keeps it safe */
            b->r = nr;
            b->cap = (uint16_t)ncap;
        }
    }
    if (removed == 0 && b->n == b->cap) {
        if (i == b->n)
            return 0; /* above everything and no room: drop the new one */
        b->n--;       /* drop the highest */
    }
    if (removed != 1) {
        memmove(&b->r[i + 1], &b->r[j], (b->n - j) * sizeof(b->r[0]));
        b->n = (uint16_t)(b->n - removed + 1);
    }
    b->r[i].left = l;
    b->r[i].right = r;
    recount(b);
    return b->bytes > before ? b->bytes - before : 0;
}

void pn_sack_advance(struct pn_sack_board *b, uint32_t una)
{
    unsigned k = 0;
    for (unsigned i = 0; i < b->n; i++) {
        if (seq_le(b->r[i].right, una))
            continue;
        b->r[k] = b->r[i];
        if (seq_lt(b->r[k].left, una))
            b->r[k].left = una;
        k++;
    }
    b->n = (uint16_t)k;
    if (k == 0) {
        pn_sack_clear(b); /* nothing left to remember: give the memory back */
        return;
    }
    recount(b);
}

uint32_t pn_sack_update(struct pn_sack_board *b, const struct pn_tcp_repr *r, uint32_t una,
                        uint32_t snd_max, bool *dsack)
{
    uint32_t added = 0;
    *dsack = false;
    for (unsigned i = 0; i < r->sack_count; i++) {
        uint32_t l = r->sack[i].left, rt = r->sack[i].right;
        if (!seq_lt(l, rt))
            continue; /* empty or inverted: not a block */
        /* RFC 2883 §4: a first block below the cumulative ACK, or contained in the second
         * block, reports a duplicate. */
        if (i == 0 && (seq_le(rt, r->ack) ||
                       (r->sack_count > 1 && seq_ge(l, r->sack[1].left) &&
                        seq_le(rt, r->sack[1].right)))) {
            *dsack = true;
            continue;
        }
        /* RFC 2018 §3: blocks describe data above the ACK and below what we sent. */
        if (seq_lt(l, una))
            l = una;
        if (seq_gt(rt, snd_max))
            continue; /* SACKs data never sent: bogus */
        if (!seq_lt(l, rt))
            continue;
        added += insert(b, l, rt);
    }
    return added;
}

bool pn_sack_is_sacked(const struct pn_sack_board *b, uint32_t seq)
{
    for (unsigned i = 0; i < b->n; i++)
        if (seq_le(b->r[i].left, seq) && seq_lt(seq, b->r[i].right))
            return true;
    return false;
}

bool pn_sack_is_lost(const struct pn_sack_board *b, uint32_t seq, uint32_t mss)
{
    uint32_t above = 0;
    unsigned ranges = 0;
    for (unsigned i = b->n; i-- > 0;) {
        if (seq_le(b->r[i].right, seq))
            break;
        uint32_t l = seq_gt(b->r[i].left, seq) ? b->r[i].left : seq + 1;
        above += b->r[i].right - l;
        ranges++;
        if (ranges >= PN_SACK_DUPTHRESH || above > (PN_SACK_DUPTHRESH - 1) * mss)
            return true;
    }
    return false;
}

uint32_t pn_sack_pipe(const struct pn_sack_board *b, uint32_t una, uint32_t snd_max,
                      uint32_t high_rxt, uint32_t mss)
{
    uint32_t pipe = 0;
    uint32_t cur = una;
    /* Walk the holes: below the first range, between ranges, and above the last. A hole has
     * the same amount of SACKed data above every byte of it, so it is lost as a whole. */
    for (unsigned i = 0; i <= b->n; i++) {
        uint32_t hole_end = i < b->n ? b->r[i].left : snd_max;
        if (seq_lt(cur, hole_end)) {
            uint32_t len = hole_end - cur;
            if (!pn_sack_is_lost(b, cur, mss))
                pipe += len; /* (a) not lost: still in the network */
            if (seq_lt(cur, high_rxt)) /* (b) retransmitted: that copy is in flight */
                pipe += (seq_lt(high_rxt, hole_end) ? high_rxt : hole_end) - cur;
        }
        if (i < b->n && seq_gt(b->r[i].right, cur))
            cur = b->r[i].right;
    }
    return pipe;
}

bool pn_sack_next_lost(const struct pn_sack_board *b, uint32_t una, uint32_t high_rxt,
                       uint32_t mss, uint32_t *seq, uint32_t *len)
{
    uint32_t cur = seq_gt(high_rxt, una) ? high_rxt : una;
    for (unsigned i = 0; i < b->n; i++) {
        if (seq_le(b->r[i].right, cur))
            continue;
        if (seq_le(b->r[i].left, cur)) { /* cur is SACKed: skip past this range */
            cur = b->r[i].right;
            continue;
        }
        /* [cur, r[i].left) is an unSACKed hole */
        if (!pn_sack_is_lost(b, cur, mss))
            return false; /* holes further up have even less SACKed above them */
        uint32_t n = b->r[i].left - cur;
        *seq = cur;
        *len = n < mss ? n : mss;
        return true;
    }
    return false;
}

unsigned pn_sack_rx_blocks(struct pn_tcb *t, struct pn_tcp_sack_block *out, unsigned max)
{
    unsigned n = 0;
    if (max == 0)
        return 0;
    if (t->dsack_pending) {
        out[n].left = t->dsack_left;
        out[n].right = t->dsack_right;
        n++;
        t->dsack_pending = false;
    }
    /* Build the ranges of the out-of-order queue (segments are disjoint and sorted). */
    struct pn_tcp_sack_block ranges[PN_TCP_OOO_MAX_SEGS < 64 ? PN_TCP_OOO_MAX_SEGS : 64];
    unsigned nr = 0;
    for (struct pn_pbuf *p = t->ooo.head; p; p = p->next) {
        uint32_t l = p->user, r = p->user + p->len;
        if (nr && ranges[nr - 1].right == l)
            ranges[nr - 1].right = r;
        else if (nr < sizeof(ranges) / sizeof(ranges[0]))
            ranges[nr++] = (struct pn_tcp_sack_block){l, r};
    }
    /* RFC 2018 §4: the first block holds the most recently received segment. */
    int first = -1;
    for (unsigned i = 0; i < nr; i++)
        if (seq_le(ranges[i].left, t->sack_last) && seq_lt(t->sack_last, ranges[i].right))
            first = (int)i;
    if (first >= 0 && n < max)
        out[n++] = ranges[first];
    /* Then the others, highest first (closest to what is arriving now). */
    for (unsigned i = nr; i-- > 0 && n < max;)
        if ((int)i != first)
            out[n++] = ranges[i];
    return n;
}
