/* plebnet/stack.h — a stack instance: one interface (MAC, IPv4/prefix, gateway) over one
 * link, driven by the application with pn_stack_poll(stack, now). No globals: several stacks
 * can live in one process. The core never reads a clock: time is always an argument, in
 * nanoseconds on any monotonic scale the caller chooses (a virtual clock works). */
#ifndef PLEBNET_STACK_H
#define PLEBNET_STACK_H

#include <stdbool.h>
#include <stdint.h>
#include "plebnet/addr.h"
#include "plebnet/link.h"
#include "plebnet/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pn_stack;

#define PN_MS(x) ((uint64_t)(x) * 1000000ull)
#define PN_SEC(x) ((uint64_t)(x) * 1000000000ull)

struct pn_stack_config {
    /* interface */
    struct pn_mac mac;         /* must be unicast */
    uint32_t addr;             /* host order; required */
    uint8_t prefix_len;        /* 0..32; 24 by default */
    uint32_t gateway;          /* 0 = none: only on-link destinations are reachable */
    uint32_t mtu;              /* 0 = the link's MTU; otherwise min(this, link's) */
    /* 16 bytes of secret randomness for keyed hashes (ISNs, hash tables, ephemeral ports)
     * and the PRNG. The core cannot read /dev/urandom: the caller must fill it. */
    uint8_t secret[16];
    /* IPv4 */
    uint8_t ttl;                     /* default 64 */
    uint32_t reass_timeout_ms;       /* default 30000 (RFC 791 suggests 15 s; Linux uses 30 s) */
    uint32_t reass_max_bytes;        /* total fragment bytes held, default 4 MiB */
    uint32_t reass_max_datagrams;    /* datagrams in reassembly at once, default 64 */
    uint32_t local_queue_len;        /* datagrams to our own addresses (interface address,
                                      * 127/8) waiting for the next poll, default (and 0 =) 1024;
                                      * beyond, dropped and counted in ip_local_dropped */
    /* ARP */
    uint32_t arp_cache_size;         /* entries, default 256 */
    uint32_t arp_queue_len;          /* packets held per unresolved entry, default 16 */
    uint32_t arp_retries;            /* requests before giving up, default 3 */
    uint32_t arp_retry_ms;           /* between requests, default 1000 */
    uint32_t arp_reachable_ms;       /* an answer stays fresh this long, default 30000 */
    uint32_t arp_stale_ms;           /* a stale, unused entry is deleted after this, default 600000 */
    bool arp_announce;               /* send a gratuitous ARP when the stack comes up, default on */
    /* ICMP */
    uint32_t icmp_rate_per_sec;      /* ICMP error token rate, default 100 */
    uint32_t icmp_burst;             /* bucket depth, default 50 */
    /* UDP */
    uint32_t udp_rcvbuf;             /* default receive queue bound in bytes, default 212992 */
    uint32_t udp_sndbuf;             /* largest datagram accepted by send, default 65507 */
    /* TCP */
    uint32_t tcp_sndbuf;             /* default send buffer, default 262144 */
    uint32_t tcp_rcvbuf;             /* default receive buffer, default 262144 */
    uint32_t tcp_rcvbuf_max;         /* auto-tuning grows receive buffers up to this, 6 MiB */
    uint32_t tcp_sndbuf_max;         /* ... and send buffers up to this, default 4 MiB */
    bool tcp_autotune;               /* buffer auto-tuning (unless SO_*BUF set), default on */
    uint32_t tcp_msl_ms;             /* maximum segment lifetime; TIME-WAIT is 2*MSL, default 30000 */
    uint32_t tcp_rto_initial_ms;     /* RFC 6298 (2.1): 1000 */
    uint32_t tcp_rto_min_ms;         /* RFC 6298 (2.4): 1000 (Linux uses 200) */
    uint32_t tcp_rto_max_ms;         /* RFC 6298 (2.5): at least 60000; default 120000 */
    uint32_t tcp_delack_ms;          /* delayed ACK bound (RFC 9293 §3.8.6.3: < 500), default 40 */
    uint32_t tcp_quickack_segs;      /* ACK this many first data segments at once (Linux's
                                      * quickack mode: 16); default 0 = delay as RFC 5681 */
    uint32_t tcp_syn_retries;        /* SYN retransmissions before giving up, default 6 */
    uint32_t tcp_retries;            /* data retransmissions before giving up, default 15 */
    uint32_t tcp_initial_window;     /* segments; 0 = RFC 3390: min(4*MSS, max(2*MSS, 4380)) */
    uint32_t tcp_max_syn_backlog;    /* embryonic connections per listener, default 128 */
    uint32_t tcp_max_timewait;       /* connections kept in TIME-WAIT at once, default 262144;
                                      * beyond, a closing connection skips it (as Linux's
                                      * tcp_max_tw_buckets), counted in tcp_timewait_overflow */
    uint32_t tcp_challenge_ack_per_sec; /* RFC 5961 §7 rate limit, default 1000 */
    bool tcp_syncookies;             /* RFC 4987 when the SYN queue is full, default on */
    bool tcp_linux_options;          /* emit TCP options in Linux's order, default off */
    /* buffers */
    uint32_t pool_max_small;         /* 0 = default */
    uint32_t pool_max_large;         /* 0 = default */
};

/* Fills cfg with the defaults above (zero address, zero MAC, zero secret). */
void pn_stack_config_init(struct pn_stack_config *cfg);

/* Creates a stack on `link` (borrowed: it must outlive the stack) at time now. Brings the
 * interface up (sends a gratuitous ARP if configured). Returns 0 and an owned *out, or
 * PN_EINVAL (bad address/MAC/prefix, link MTU < 576) or PN_ENOMEM. */
int pn_stack_new(const struct pn_stack_config *cfg, struct pn_link *link, uint64_t now,
                 struct pn_stack **out);
/* Frees the stack and every socket still open in it (sockets become invalid). NULL ok. */
void pn_stack_free(struct pn_stack *stack);

/* Drives the stack: receives what the link has, delivers datagrams the stack sent to its
 * own addresses (up to a bound per call; the rest on the next), runs due timers,
 * transmits. Returns the number of frames received from the link (local datagrams are
 * not counted), or a negative PN_E* if the link failed. `now` must not go
 * backwards (earlier values are treated as the last one). */
int pn_stack_poll(struct pn_stack *stack, uint64_t now);
/* The earliest time pn_stack_poll must be called again even if the link fd stays quiet
 * (timers, the link's own deadline), or PN_TIME_NEVER. It is the stack's current time
 * (pn_stack_now) while frames wait to be transmitted or local datagrams to be delivered:
 * after any pn_* call, consult it before sleeping. */
uint64_t pn_stack_next_deadline(const struct pn_stack *stack);
/* The link's pollable fd (readable when frames wait), or -1: then poll by deadline. */
int pn_stack_fd(const struct pn_stack *stack);
/* The time given to the last poll (the stack's notion of now). */
uint64_t pn_stack_now(const struct pn_stack *stack);

/* TCP connections, with a handle or orphaned by pn_close, that still owe the peer data or
 * a FIN it has not acknowledged: states SYN-SENT, SYN-RECEIVED, ESTABLISHED, CLOSE-WAIT,
 * FIN-WAIT-1, CLOSING and LAST-ACK. FIN-WAIT-2, TIME-WAIT and listeners do not count. An
 * application that must not exit before its closed connections are through (the preload
 * shim at process exit) drives the stack until this reaches 0. O(connections). */
uint32_t pn_stack_tcp_unfinished(const struct pn_stack *stack);
const struct pn_stats *pn_stack_stats(const struct pn_stack *stack);
struct pn_link *pn_stack_link(const struct pn_stack *stack);

struct pn_iface_info {
    struct pn_mac mac;
    uint32_t addr, gateway;
    uint8_t prefix_len;
    uint32_t mtu;
};
void pn_stack_iface(const struct pn_stack *stack, struct pn_iface_info *out);

enum pn_arp_state { PN_ARP_INCOMPLETE, PN_ARP_REACHABLE, PN_ARP_STALE, PN_ARP_STATIC };
struct pn_arp_entry_info {
    uint32_t addr;
    struct pn_mac mac;        /* zero while incomplete */
    enum pn_arp_state state;
    uint64_t updated;         /* time of the last confirmation */
    uint32_t queued;          /* packets waiting for resolution */
};
/* Calls fn for every ARP cache entry; stops early if fn returns non-zero. */
void pn_stack_arp_foreach(const struct pn_stack *stack,
                          int (*fn)(const struct pn_arp_entry_info *e, void *arg), void *arg);
/* Adds a permanent entry. Returns 0, PN_EINVAL or PN_ENOMEM (cache full). */
int pn_stack_arp_add_static(struct pn_stack *stack, uint32_t addr, const struct pn_mac *mac);

#ifdef __cplusplus
}
#endif
#endif
