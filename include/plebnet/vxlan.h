/* plebnet/vxlan.h — the vxlan link: the stack's Ethernet frames carried in VXLAN (RFC 7348)
 * over one ordinary, non-blocking kernel UDP socket, so it needs no privileges and can join
 * a Linux `vxlan` device's segment. A forwarding table like Linux's maps MACs to remote
 * endpoints (static entries, learning, aging); broadcast and unknown unicast go to every
 * endpoint of the flood list. Call chain: pn_stack_poll -> vxlan rx_burst -> recvmmsg;
 * stack flush -> vxlan tx_burst -> fdb lookup -> sendmmsg (UDP_SEGMENT batches). */
#ifndef PLEBNET_VXLAN_H
#define PLEBNET_VXLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "plebnet/addr.h"
#include "plebnet/link.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PN_VXLAN_PORT 4789u        /* IANA-assigned VXLAN UDP port (RFC 7348 §5) */
#define PN_VXLAN_OVERHEAD 50u      /* outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 */
#define PN_VXLAN_VNI_MAX 0xffffffu /* the VNI is 24 bits */
#define PN_VXLAN_MAX_REMOTES 16    /* size of the flood list */

/* Flags for pn_vxlan_config.flags. */
#define PN_VXLAN_NO_GSO 0x1u   /* never use UDP_SEGMENT, even if the kernel has it */
#define PN_VXLAN_NO_GRO 0x2u   /* never enable UDP_GRO */
#define PN_VXLAN_NO_LEARN 0x4u /* do not learn source MAC -> sender endpoint */

struct pn_vxlan_config {
    struct pn_endpoint local; /* bound endpoint: addr 0 = any; port 0 = an ephemeral port.
                                 Default 0.0.0.0:4789 */
    uint32_t vni;             /* 0..PN_VXLAN_VNI_MAX, default 1 */
    uint32_t underlay_mtu;    /* MTU of the path the UDP datagrams take, default 1500;
                                 the link MTU is this minus PN_VXLAN_OVERHEAD */
    struct pn_endpoint remotes[PN_VXLAN_MAX_REMOTES]; /* initial flood list (port 0 = 4789) */
    int n_remotes;
    uint32_t fdb_max;    /* forwarding table entries, default 1024 */
    uint32_t fdb_age_ms; /* a learned entry not refreshed for this long expires,
                            default 300000 (Linux's vxlan default ageing) */
    uint32_t flags;      /* PN_VXLAN_* */
};

/* vxlan-specific counters (the generic ones are in pn_link.counters; every dropped
 * datagram counts in counters.rx_dropped and in exactly one of the rx_* below). */
struct pn_vxlan_counters {
    uint64_t rx_short;       /* shorter than VXLAN header + Ethernet header */
    uint64_t rx_bad_flags;   /* I flag clear, or a reserved bit/field set */
    uint64_t rx_wrong_vni;   /* valid header, VNI not ours */
    uint64_t rx_oversize;    /* larger than the link's largest frame (truncated) */
    uint64_t rx_no_buffer;   /* the stack's buffer pool was exhausted */
    uint64_t rx_gro_batches; /* receives that carried several coalesced datagrams */
    uint64_t tx_flooded;     /* frames sent to the flood list (broadcast, unknown unicast) */
    uint64_t tx_no_remote;   /* frames dropped: flood needed but the flood list is empty */
    uint64_t tx_gso_batches; /* sends that carried several frames with UDP_SEGMENT */
    uint64_t tx_errors;      /* datagrams the kernel refused (counted in tx_dropped too) */
    uint64_t fdb_learned;    /* new entries learned */
    uint64_t fdb_moved;      /* learned MAC seen from another endpoint */
    uint64_t fdb_aged;       /* entries expired */
    uint64_t fdb_full;       /* not learned: table full of live entries */
};

/* What the link runs with (after probing the kernel). */
struct pn_vxlan_info {
    struct pn_endpoint local; /* the bound endpoint (the real port if ephemeral) */
    uint32_t vni;
    bool gso; /* UDP_SEGMENT in use */
    bool gro; /* UDP_GRO in use */
    int n_remotes;
    uint32_t fdb_entries;
};

struct pn_vxlan_fdb_entry {
    struct pn_mac mac;
    struct pn_endpoint dst;
    bool is_static;
    uint64_t updated; /* link time of the last frame seen from mac (learned entries) */
};

/* Fills cfg with the defaults above (no remotes). */
void pn_vxlan_config_init(struct pn_vxlan_config *cfg);

/* Opens the UDP socket, binds it to cfg->local and probes UDP_SEGMENT/UDP_GRO. Returns 0
 * and an owned *out (destroy with pn_link_destroy), PN_EINVAL (bad VNI, MTU, remote),
 * PN_EADDRINUSE, PN_EADDRNOTAVAIL, PN_EIO (another socket error) or PN_ENOMEM; err (if
 * given) gets a one-line reason naming the failing part. */
int pn_link_vxlan_new(const struct pn_vxlan_config *cfg, struct pn_link **out, char *err,
                      size_t errlen);

/* The calls below take the vxlan link itself (not a wrapper around it). */
/* Appends an endpoint to the flood list (like `bridge fdb append 00:00:00:00:00:00 dst`).
 * Returns 0, PN_EINVAL (port 0 is taken as 4789; addr 0 is invalid), PN_ENOMEM (full).
 * Adding an endpoint already in the list is a no-op. */
int pn_vxlan_remote_add(struct pn_link *l, const struct pn_endpoint *ep);
/* Adds or replaces a static entry (never ages, never overwritten by learning). Returns 0,
 * PN_EINVAL (multicast MAC) or PN_ENOMEM (table full). */
int pn_vxlan_fdb_add(struct pn_link *l, const struct pn_mac *mac, const struct pn_endpoint *dst);
/* Removes an entry; returns 0 or PN_EINVAL if absent. */
int pn_vxlan_fdb_del(struct pn_link *l, const struct pn_mac *mac);
/* Looks up a live entry at time now (an expired one is removed); 0 or PN_EINVAL if none. */
int pn_vxlan_fdb_lookup(struct pn_link *l, const struct pn_mac *mac, uint64_t now,
                        struct pn_vxlan_fdb_entry *out);
/* Calls fn for every entry; stops early if fn returns non-zero. */
void pn_vxlan_fdb_foreach(struct pn_link *l,
                          int (*fn)(const struct pn_vxlan_fdb_entry *e, void *arg), void *arg);
void pn_vxlan_get_info(struct pn_link *l, struct pn_vxlan_info *out);
void pn_vxlan_get_counters(struct pn_link *l, struct pn_vxlan_counters *out);
/* true if l is a vxlan link. */
bool pn_link_is_vxlan(const struct pn_link *l);

#ifdef __cplusplus
}
#endif
#endif
