/* core/stats.c — the names of the per-stack counters, generated from the X-macro. */
#include "plebnet/stats.h"

#define PN_STATS_NAME_(name) #name,
const char *const pn_stats_names[] = {PN_STATS_FIELDS(PN_STATS_NAME_)};
#undef PN_STATS_NAME_
const unsigned pn_stats_count = sizeof(pn_stats_names) / sizeof(pn_stats_names[0]);

uint64_t pn_stats_get(const struct pn_stats *s, unsigned i)
{
    /* The struct is PN_STATS_FIELDS in order, all uint64_t: index it as an array. */
    const uint64_t *v = (const uint64_t *)(const void *)s;
    return i < pn_stats_count ? v[i] : 0;
}
