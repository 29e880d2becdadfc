/* link/link.c — the generic link calls every driver shares (include/plebnet/link.h). */
#include "plebnet/link.h"

void pn_link_destroy(struct pn_link *l)
{
    if (l && l->ops->destroy)
        l->ops->destroy(l);
}

int pn_link_fd(struct pn_link *l)
{
    return l->ops->fd ? l->ops->fd(l) : -1;
}

uint64_t pn_link_next_deadline(struct pn_link *l)
{
    return l->ops->next_deadline ? l->ops->next_deadline(l) : PN_TIME_NEVER;
}
