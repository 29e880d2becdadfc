/* core/timer.h — a hierarchical timer wheel (Varghese & Lauck) driven by a time argument:
 * O(1) arm/cancel, lazy cascading, and an O(levels) query of the next deadline so the
 * application can sleep until then. Resolution is one tick = 1 ms; a timer never fires
 * early and at most one tick late. Call chain: pn_stack_poll -> pn_timers_run -> fn. */
#ifndef PN_CORE_TIMER_H
#define PN_CORE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define PN_TIMER_TICK_NS 1000000ull
#define PN_TIMER_LEVELS 6
#define PN_TIMER_SLOT_BITS 6
#define PN_TIMER_SLOTS (1u << PN_TIMER_SLOT_BITS)

struct pn_timer;
/* Called with the timer already disarmed; it may re-arm it. ctx is pn_timers_run's ctx. */
typedef void (*pn_timer_fn)(struct pn_timer *t, void *ctx, uint64_t now);

/* Embed in the owning object and recover it with container_of in the callback. */
struct pn_timer {
    struct pn_timer *next;
    struct pn_timer **pprev; /* NULL when not armed */
    uint64_t expires_tick;
    pn_timer_fn fn;
    uint8_t level, slot;
};

struct pn_timers {
    uint64_t cur; /* the earliest tick not yet fully processed */
    uint64_t bitmap[PN_TIMER_LEVELS];
    struct pn_timer *slots[PN_TIMER_LEVELS][PN_TIMER_SLOTS];
    uint32_t armed;
};

void pn_timers_init(struct pn_timers *w, uint64_t now);
/* Prepares a timer (not armed). */
void pn_timer_init(struct pn_timer *t, pn_timer_fn fn);
/* Arms (or re-arms) t to fire at the first pn_timers_run with now >= expires (ns). */
void pn_timer_arm(struct pn_timers *w, struct pn_timer *t, uint64_t expires);
/* Disarms t if armed; harmless otherwise. */
void pn_timer_cancel(struct pn_timers *w, struct pn_timer *t);
static inline bool pn_timer_armed(const struct pn_timer *t)
{
    return t->pprev != 0;
}
/* Fires every timer due at `now`, passing ctx. Returns the number fired. */
unsigned pn_timers_run(struct pn_timers *w, uint64_t now, void *ctx);
/* The time (ns) at which pn_timers_run next has work (a timer to fire or a slot to
 * cascade), or UINT64_MAX when nothing is armed. */
uint64_t pn_timers_next(const struct pn_timers *w);

#endif
