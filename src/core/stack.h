/* core/stack.h — the definition of struct pn_stack, the one context that holds all state of
 * a stack instance (no globals), and the helpers every layer uses: counters, transmit
 * queue, local-delivery queue, time. Call chain: pn_stack_poll (core/stack.c) -> link rx ->
 * layers -> pn_stack_tx -> link tx; -> local queue -> pn_ipv4_local_input; -> pn_timers_run
 * -> layer timers. */
#ifndef PN_CORE_STACK_H
#define PN_CORE_STACK_H

#include <stdbool.h>
#include <stdint.h>
#include "plebnet/plebnet.h"
#include "core/random.h"
#include "core/timer.h"
#include "eth/eth.h"
#include "ip/ip.h"
#include "udp/udp.h"
#include "tcp/tcp.h"

#define PN_TXQ_MAX 64 /* frames batched before a tx_burst */

struct pn_iface {
    struct pn_mac mac;
    uint32_t addr;
    uint8_t prefix_len;
    uint32_t mask;
    uint32_t bcast;     /* directed broadcast address of the subnet */
    uint32_t gateway;
    uint32_t mtu;       /* L3 MTU in effect */
};

struct pn_stack {
    struct pn_stack_config cfg;
    struct pn_link *link;
    struct pn_pbuf_pool *pool;
    uint64_t now;
    struct pn_timers timers;
    struct pn_iface iface;
    struct pn_stats stats;
    struct pn_rng rng;
    uint16_t ip_id;              /* next IPv4 identification (RFC 6864: only for fragmentable) */
    struct pn_arp_cache arp;
    struct pn_reass reass;
    struct pn_timer reass_timer;
    struct pn_icmp_state icmp;
    struct pn_port_table udp_ports;
    struct pn_port_table ping_ports;
    struct pn_tcp_table tcp;
    uint32_t tcp_next_ephemeral;
    struct pn_socket *sockets;   /* every open socket (for pn_stack_free) */
    struct pn_pbuf_queue local_q; /* datagrams to our own addresses (ip/output.c), drained
                                   * into pn_ipv4_local_input by pn_stack_poll */
    struct pn_pbuf *txq[PN_TXQ_MAX];
    int txq_len;
    bool in_poll;
    bool local_input;            /* pn_ipv4_local_input is delivering one of our datagrams */
    bool freeing;                /* pn_stack_free: sockets close without sending */
};

#define PN_STAT_INC(s, name) ((s)->stats.name++)
#define PN_STAT_ADD(s, name, n) ((s)->stats.name += (n))

/* Consumes frame (data = Ethernet header) into the transmit batch; flushes when full. */
void pn_stack_tx(struct pn_stack *s, struct pn_pbuf *frame);
/* Hands the batch to the link. Called at the end of every poll and API call. */
void pn_stack_flush(struct pn_stack *s);
/* Returns an owned buffer with room for the Ethernet/IP/transport headers before `len`
 * payload bytes (large buffer if needed), or NULL counted as pbuf_alloc_failed. */
struct pn_pbuf *pn_stack_alloc(struct pn_stack *s, uint32_t len);

#endif
