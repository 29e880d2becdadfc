/* nl.h — minimal rtnetlink requests used by the privileged parent (see nl.c).
 * Every call returns 0 or a negative errno from the kernel. */
#ifndef PND_NL_H
#define PND_NL_H

#include <stdint.h>

struct pnd_nl {
    int fd;
    uint32_t seq;
};

struct pnd_nl_link {
    int ifindex;
    unsigned flags;
    char name[16];
    char kind[16];
    int operstate;    /* IF_OPER_*, -1 if absent */
    int brport_state; /* BR_STATE_* when enslaved to a bridge, -1 otherwise */
};

typedef void (*pnd_nl_link_cb)(const struct pnd_nl_link *l, void *arg);

/* Opens a route netlink socket in the caller's current network namespace. */
int pnd_nl_open(struct pnd_nl *nl);
void pnd_nl_close(struct pnd_nl *nl);
/* Creates veth host<->peer; the peer gets peer_mac, lands in peer_netns_fd; both down. */
int pnd_nl_veth_create(struct pnd_nl *nl, const char *host, const char *peer,
                       const uint8_t peer_mac[6], unsigned mtu, int peer_netns_fd);
/* Sets a link up, by index (or by name when ifindex is 0). */
int pnd_nl_link_up(struct pnd_nl *nl, int ifindex, const char *name);
int pnd_nl_set_master(struct pnd_nl *nl, int ifindex, int master);
/* Bridge port: learning off, unknown-unicast flooding off. */
int pnd_nl_brport_lock(struct pnd_nl *nl, int ifindex);
/* Static (not local) bridge fdb entry: frames to mac go to this port only. */
int pnd_nl_fdb_add(struct pnd_nl *nl, int ifindex, const uint8_t mac[6]);
int pnd_nl_link_del(struct pnd_nl *nl, int ifindex);
int pnd_nl_link_get(struct pnd_nl *nl, const char *name, struct pnd_nl_link *out);
int pnd_nl_link_dump(struct pnd_nl *nl, pnd_nl_link_cb cb, void *arg);

#endif
