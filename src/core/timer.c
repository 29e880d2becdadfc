/* core/timer.c — hierarchical timer wheel (see core/timer.h). Level k holds timers whose
 * expiry shares all bits above 6(k+1) with the current tick, in slot (tick >> 6k) & 63;
 * so the next event is the first non-empty slot at the lowest level, found with one bit
 * scan per level, and an idle gap of any length is skipped in O(levels).
 * Call chain: pn_stack_poll -> pn_timers_run -> cascade/fire -> timer fn. */
#include <stddef.h>
#include "core/timer.h"

#define SLOT_MASK (PN_TIMER_SLOTS - 1u)
#define LVL_SHIFT(k) ((unsigned)(k)*PN_TIMER_SLOT_BITS)
/* Furthest expiry representable: everything beyond is clamped (≈ 795 days at 1 ms). */
#define MAX_DELTA ((1ull << LVL_SHIFT(PN_TIMER_LEVELS)) - 1)

void pn_timers_init(struct pn_timers *w, uint64_t now)
{
    for (int k = 0; k < PN_TIMER_LEVELS; k++) {
        w->bitmap[k] = 0;
        for (unsigned i = 0; i < PN_TIMER_SLOTS; i++)
            w->slots[k][i] = NULL;
    }
    w->cur = now / PN_TIMER_TICK_NS;
    w->armed = 0;
}

void pn_timer_init(struct pn_timer *t, pn_timer_fn fn)
{
    t->next = NULL;
    t->pprev = NULL;
    t->expires_tick = 0;
    t->fn = fn;
    t->level = t->slot = 0;
}

static void link_timer(struct pn_timers *w, struct pn_timer *t)
{
    uint64_t e = t->expires_tick;
    if (e < w->cur)
        e = w->cur;
    if (e - w->cur > MAX_DELTA)
        e = w->cur + MAX_DELTA;
    unsigned k = 0;
    while (k < PN_TIMER_LEVELS - 1 &&
           (e >> LVL_SHIFT(k + 1)) != (w->cur >> LVL_SHIFT(k + 1)))
        k++;
    unsigned slot = (unsigned)(e >> LVL_SHIFT(k)) & SLOT_MASK;
    struct pn_timer **head = &w->slots[k][slot];
    t->level = (uint8_t)k;
    t->slot = (uint8_t)slot;
    t->next = *head;
    if (*head)
        (*head)->pprev = &t->next;
    *head = t;
    t->pprev = head;
    w->bitmap[k] |= 1ull << slot;
}

static void unlink_timer(struct pn_timers *w, struct pn_timer *t)
{
    *t->pprev = t->next;
    if (t->next)
        t->next->pprev = t->pprev;
    if (!w->slots[t->level][t->slot])
        w->bitmap[t->level] &= ~(1ull << t->slot);
    t->next = NULL;
    t->pprev = NULL;
}

void pn_timer_arm(struct pn_timers *w, struct pn_timer *t, uint64_t expires)
{
    if (t->pprev)
        unlink_timer(w, t);
    else
        w->armed++;
    /* Round up: a timer never fires before its expiry. */
    t->expires_tick = expires / PN_TIMER_TICK_NS + (expires % PN_TIMER_TICK_NS != 0);
    link_timer(w, t);
}

void pn_timer_cancel(struct pn_timers *w, struct pn_timer *t)
{
    if (!t->pprev)
        return;
    unlink_timer(w, t);
    w->armed--;
}

/* First set bit at index >= from, or -1. */
static int first_from(uint64_t bits, unsigned from)
{
    if (from >= 64)
        return -1;
    bits &= ~0ull << from;
    return bits ? __builtin_ctzll(bits) : -1;
}

/* The tick of the next event (fire at level 0, cascade at level k), or UINT64_MAX. */
static uint64_t next_event_tick(const struct pn_timers *w)
{
    for (int k = 0; k < PN_TIMER_LEVELS; k++) {
        if (!w->bitmap[k])
            continue;
        unsigned cur_idx = (unsigned)(w->cur >> LVL_SHIFT(k)) & SLOT_MASK;
        /* Level 0 may hold the current tick itself; higher levels only later slots. */
        int idx = first_from(w->bitmap[k], k == 0 ? cur_idx : cur_idx + 1);
        if (idx < 0)
            continue; /* cannot happen by the invariant; be safe */
        uint64_t base = (w->cur >> LVL_SHIFT(k + 1)) << LVL_SHIFT(k + 1);
        return base | ((uint64_t)idx << LVL_SHIFT(k));
    }
    return UINT64_MAX;
}

uint64_t pn_timers_next(const struct pn_timers *w)
{
    uint64_t t = next_event_tick(w);
    return t == UINT64_MAX ? UINT64_MAX : t * PN_TIMER_TICK_NS;
}

static void cascade(struct pn_timers *w, unsigned k, unsigned slot)
{
    struct pn_timer *t = w->slots[k][slot];
    w->slots[k][slot] = NULL;
    w->bitmap[k] &= ~(1ull << slot);
    while (t) {
        struct pn_timer *n = t->next;
        t->pprev = NULL;
        link_timer(w, t);
        t = n;
    }
}

unsigned pn_timers_run(struct pn_timers *w, uint64_t now, void *ctx)
{
    uint64_t now_tick = now / PN_TIMER_TICK_NS;
    unsigned fired = 0;
    for (;;) {
        uint64_t t = next_event_tick(w);
        if (t == UINT64_MAX || t > now_tick)
            break;
        if (t != w->cur) {
            w->cur = t;
            /* Crossing into a new block at level k: move that block's timers down. */
            for (int k = PN_TIMER_LEVELS - 1; k >= 1; k--)
                if ((t & ((1ull << LVL_SHIFT(k)) - 1)) == 0)
                    cascade(w, (unsigned)k, (unsigned)(t >> LVL_SHIFT(k)) & SLOT_MASK);
        }
        unsigned slot = (unsigned)t & SLOT_MASK;
        /* Detach the whole slot first: callbacks may re-arm (even for this tick, which
         * then runs on the next loop iteration). */
        struct pn_timer *list = w->slots[0][slot];
        w->slots[0][slot] = NULL;
        w->bitmap[0] &= ~(1ull << slot);
        if (list)
            list->pprev = &list;
        while (list) {
            struct pn_timer *tm = list;
            list = tm->next;
            if (list)
                list->pprev = &list;
            tm->next = NULL;
            tm->pprev = NULL;
            w->armed--;
            tm->fn(tm, ctx, now);
            fired++;
        }
    }
    if (now_tick > w->cur)
        w->cur = now_tick;
    return fired;
}
