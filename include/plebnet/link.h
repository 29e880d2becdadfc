/* plebnet/link.h — the link vtable: how a stack's Ethernet frames reach the world, and the
 * constructors of the built-in links (loop, pcap wrapper). Links are the only part of
 * plebnet allowed to make syscalls. Call chain: pn_stack_poll -> ops->rx_burst -> eth input;
 * stack output -> ops->tx_burst. */
#ifndef PLEBNET_LINK_H
#define PLEBNET_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include "plebnet/pbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PN_TIME_NEVER UINT64_MAX

struct pn_link;

struct pn_link_caps {
    uint32_t mtu;        /* largest L3 packet the link carries (bytes after the Ethernet header) */
    uint32_t max_frame;  /* largest frame tx_burst accepts, Ethernet header included */
    bool large_tx;       /* accepts frames larger than mtu+14 with gso_size set (TSO-like) */
    bool large_rx;       /* may deliver coalesced frames larger than mtu+14 (GRO-like) */
};

struct pn_link_counters {
    uint64_t rx_frames, rx_bytes;
    uint64_t tx_frames, tx_bytes;
    uint64_t tx_dropped; /* queue full, too large, or the device failed */
    uint64_t rx_dropped; /* no buffer, or a malformed encapsulation */
};

struct pn_link_ops {
    const char *name;
    /* Receives up to max frames into out[]; each is returned owned, allocated from pool.
     * Returns the number received (0 if none) or a negative PN_E* on a fatal link error. */
    int (*rx_burst)(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                    uint64_t now);
    /* Consumes all n frames (data = Ethernet header). Frames the link cannot send are freed
     * and counted in tx_dropped. Returns the number accepted for transmission. */
    int (*tx_burst)(struct pn_link *l, struct pn_pbuf **frames, int n, uint64_t now);
    /* A descriptor that becomes readable when rx_burst has work, or -1 (optional). */
    int (*fd)(struct pn_link *l);
    /* Earliest time the link needs rx_burst called again without its fd becoming readable
     * (e.g. a delayed frame in a fault wrapper), or PN_TIME_NEVER (optional). */
    uint64_t (*next_deadline)(struct pn_link *l);
    /* Frees the link (optional). */
    void (*destroy)(struct pn_link *l);
};

/* Every link begins with this header; drivers embed it as their first member. */
struct pn_link {
    const struct pn_link_ops *ops;
    struct pn_link_caps caps;
    struct pn_link_counters counters;
};

/* Destroys any link (calls ops->destroy). NULL ok. */
void pn_link_destroy(struct pn_link *l);
int pn_link_fd(struct pn_link *l);
uint64_t pn_link_next_deadline(struct pn_link *l);

/* loop: an in-memory pair connecting two stacks in one process (one thread). A frame sent
 * on one end is handed over without copying and received on the other. mtu 0 = 1500;
 * the largest is PN_LOOP_MAX_MTU. queue_len 0 = 4096 frames per direction. Returns 0 or
 * PN_EINVAL / PN_ENOMEM; on success *a and *b are owned and must each be destroyed. */
#define PN_LOOP_MAX_MTU 65000u
int pn_link_loop_pair(uint32_t mtu, uint32_t queue_len, struct pn_link **a, struct pn_link **b);

/* Lets a loop end carry large frames (TSO/GRO-like): the stack on it then sends TCP
 * segments of up to 64 KiB with gso_size set, handed over whole, and accepts coalesced
 * segments. Call on both ends before creating the stacks. */
void pn_link_loop_set_large(struct pn_link *end, bool on);

/* pcap: wraps `inner` (consumed: destroying the wrapper destroys it) and writes every
 * frame it sends and receives to a pcap file (libpcap, LINKTYPE_ETHERNET). Timestamps are
 * the stack's time plus epoch_offset_ns (pass the wall-clock minus the stack clock so the
 * capture shows real dates; 0 for a virtual clock). Returns 0, PN_EIO (file could not be
 * opened: errbuf, if given, gets libpcap's message) or PN_ENOMEM. */
int pn_link_pcap_wrap(struct pn_link *inner, const char *path, uint64_t epoch_offset_ns,
                      struct pn_link **out, char *errbuf, size_t errbuf_len);

#ifdef __cplusplus
}
#endif
#endif
