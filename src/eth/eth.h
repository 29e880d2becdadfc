/* eth/eth.h — the Ethernet and ARP layer of a stack: frame input dispatch, frame output
 * (padding, header), and the ARP cache (RFC 826, RFC 1122 §2.3.2, RFC 5227 announcements).
 * Call chain: pn_stack_poll -> pn_eth_input -> {pn_arp_input, pn_ipv4_input};
 * pn_ipv4_output -> pn_arp_output -> pn_eth_output -> pn_stack_tx. */
#ifndef PN_ETH_ETH_H
#define PN_ETH_ETH_H

#include <stdbool.h>
#include <stdint.h>
#include "plebnet/addr.h"
#include "plebnet/pbuf.h"
#include "plebnet/stack.h"
#include "core/timer.h"

struct pn_stack;

/* One ARP cache entry. Lives in a fixed array allocated at stack creation. */
struct pn_arp_entry {
    uint32_t addr;             /* 0 = free slot */
    struct pn_mac mac;
    enum pn_arp_state state;
    uint8_t tries;             /* requests sent in the current resolution/refresh */
    uint64_t updated;          /* last confirmation (reply or request from it) */
    uint64_t used;             /* last time a packet was sent through it */
    struct pn_pbuf_queue pending; /* IP packets (data = IP header) waiting for the MAC */
    struct pn_timer timer;     /* retry while resolving; expiry/refresh otherwise */
    struct pn_arp_entry *hnext; /* hash chain */
};

struct pn_arp_cache {
    struct pn_arp_entry *entries; /* cfg.arp_cache_size entries */
    struct pn_arp_entry **buckets;
    uint32_t nbuckets;            /* power of two */
    uint32_t used;
};

/* Consumes frame (data = Ethernet header). Drops and counts anything malformed or not for
 * us; hands IPv4 and ARP payloads up. */
void pn_eth_input(struct pn_stack *s, struct pn_pbuf *frame);
/* Consumes pkt (data = the L3 packet), prepends the Ethernet header (dst, our MAC,
 * ethertype), pads to 60 bytes and queues it for the link. Returns 0 or PN_ENOBUFS (no
 * headroom/tailroom: the packet is dropped and counted). */
int pn_eth_output(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_mac *dst,
                  uint16_t ethertype);

int pn_arp_init(struct pn_stack *s);   /* PN_ENOMEM */
void pn_arp_fini(struct pn_stack *s);  /* frees entries and queued packets, cancels timers */
/* Consumes pkt (data = ARP packet). */
void pn_arp_input(struct pn_stack *s, struct pn_pbuf *pkt);
/* Consumes pkt (data = IP header) and sends it to the on-link next hop: at once if the MAC
 * is known, else queued (bounded) while a request goes out. Broadcast next hops go to
 * ff:ff:ff:ff:ff:ff. Returns 0, PN_ENOBUFS (queue full: dropped), PN_ENOMEM (cache full),
 * or PN_EHOSTUNREACH (entry is failing). */
int pn_arp_output(struct pn_stack *s, struct pn_pbuf *pkt, uint32_t next_hop);
/* Sends a gratuitous ARP announcement for our address (RFC 5227 §2.3). */
void pn_arp_announce(struct pn_stack *s);

#endif
