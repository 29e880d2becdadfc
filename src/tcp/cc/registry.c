/* tcp/cc/registry.c — the congestion control modules by name, the default one, and helpers
 * every module shares. A new algorithm is one file plus one line in `modules` below.
 * Call chain: tcp/table.c (new TCB) -> pn_cc_default; tcp/socket.c (PN_TCP_CONGESTION) ->
 * pn_cc_find. */
#include <string.h>
#include "tcp/tcp.h"

static const struct pn_cc_ops *const modules[] = {
    &pn_cc_cubic, /* the default (issue 4: CUBIC as the default, RFC 9438 §1) */
    &pn_cc_newreno,
};

const struct pn_cc_ops *pn_cc_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
        if (strcmp(modules[i]->name, name) == 0)
            return modules[i];
    return NULL;
}

const struct pn_cc_ops *pn_cc_default(void)
{
    return modules[0];
}

uint32_t pn_cc_flight(const struct pn_tcb *t)
{
    return t->snd_max - t->snd_una;
}

uint32_t pn_cc_initial_window(uint32_t mss, uint32_t iw_segs)
{
    if (iw_segs)
        return iw_segs * mss;
    /* RFC 3390 §1: min(4*MSS, max(2*MSS, 4380 bytes)). */
    uint32_t w = 4380 > 2 * mss ? 4380 : 2 * mss;
    return w < 4 * mss ? w : 4 * mss;
}
