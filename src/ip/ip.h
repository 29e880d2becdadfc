/* ip/ip.h — the IPv4 layer of a stack (RFC 791, RFC 1122 §3): input validation and
 * dispatch, output with routing (one interface + default gateway) and fragmentation,
 * reassembly (RFC 791 §3.2, RFC 815) with a hard memory bound, and ICMP (RFC 792) echo,
 * errors and rate limiting. No forwarding.
 * Call chain: pn_eth_input -> pn_ipv4_input -> {pn_reass_input, pn_icmp_input,
 * pn_udp_input, pn_tcp_input}; transports -> pn_ipv4_output -> pn_arp_output. */
#ifndef PN_IP_IP_H
#define PN_IP_IP_H

#include <stdbool.h>
#include <stdint.h>
#include "plebnet/pbuf.h"
#include "core/timer.h"
#include "wire/ipv4.h"

struct pn_stack;

/* What a transport asks of pn_ipv4_output. */
struct pn_ip_out {
    uint32_t src;       /* 0 = the interface address */
    uint32_t dst;
    uint8_t proto;
    uint8_t ttl;        /* 0 = the stack default */
    uint8_t tos;
    bool df;            /* don't fragment: too large -> PN_EMSGSIZE */
    bool dontroute;     /* on-link only: off-link -> PN_ENETUNREACH */
};

/* Consumes pkt (data = IP header, pkt->l3_off set), received from the link. */
void pn_ipv4_input(struct pn_stack *s, struct pn_pbuf *pkt);
/* Consumes pkt (data = the transport header + payload, with at least 20 + 14 bytes of
 * headroom), prepends the IP header, fragments if larger than the MTU, resolves the next
 * hop and queues the frame(s). A datagram to one of our own addresses (pn_ipv4_is_local) is
 * queued for local delivery instead, whole (the local path has no MTU below 65535, like
 * Linux's lo), or dropped and counted in ip_local_dropped when that queue is full. A source
 * in 127/8 with a destination elsewhere is refused with PN_EINVAL (§3.2.1.3 (g)).
 * Returns 0, PN_ENETUNREACH (off-link and no gateway),
 * PN_EMSGSIZE (too large with df, or > 65535), PN_ENOBUFS, PN_EHOSTUNREACH (the next hop's
 * ARP entry is failing). On error the packet is freed and counted. */
int pn_ipv4_output(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_ip_out *o);
/* True if addr is one of the stack's own addresses: the interface address or any address
 * in 127.0.0.0/8 (RFC 1122 §3.2.1.3 (g): "internal host loopback address"). */
bool pn_ipv4_is_local(const struct pn_stack *s, uint32_t addr);
/* True if addr is in 127.0.0.0/8. */
static inline bool pn_ipv4_is_loopback(uint32_t addr)
{
    return (addr >> 24) == 127;
}
/* The source address for a datagram to dst from a socket bound to `bound` (0 = any):
 * the bound address if any, else 127.0.0.1 for a loopback destination, else the interface
 * address (RFC 1122 §3.3.4.3: the source is chosen from the addresses of the interface the
 * datagram leaves by; loopback traffic "leaves" by the internal loopback path). */
uint32_t pn_ipv4_source(const struct pn_stack *s, uint32_t bound, uint32_t dst);

/* --- local delivery (ip/output.c) --- */
/* Datagrams to one of our own addresses never reach the link: pn_ipv4_output queues them
 * on s->local_q and pn_stack_poll feeds them to pn_ipv4_input (never from inside output,
 * so a transport is not re-entered while it is sending). Consumes pkt (data = IP header). */
void pn_ipv4_local_input(struct pn_stack *s, struct pn_pbuf *pkt);
/* True if addr is 255.255.255.255 or the subnet's directed broadcast. */
bool pn_ipv4_is_broadcast(const struct pn_stack *s, uint32_t addr);

/* --- reassembly (ip/reassembly.c) --- */
struct pn_reass_dgram;
struct pn_reass {
    struct pn_reass_dgram *list;  /* in arrival order of first fragment (oldest first) */
    uint32_t count;               /* datagrams in progress */
    uint32_t bytes;               /* fragment payload bytes held */
};
void pn_reass_init(struct pn_stack *s);
void pn_reass_fini(struct pn_stack *s);
/* Consumes a fragment (data = IP header, repr parsed). Returns an owned, complete datagram
 * (data = a rewritten IP header with MF=0, offset 0, and the full payload; in a large
 * buffer if needed) when this fragment completes one, else NULL. */
struct pn_pbuf *pn_reass_input(struct pn_stack *s, struct pn_pbuf *frag,
                               const struct pn_ipv4_repr *ip);

/* --- ICMP (ip/icmp.c) --- */
struct pn_icmp_state {
    uint64_t tokens_ms;   /* token bucket scaled: 1 token = 1000 units */
    uint64_t last;        /* time of the last refill */
};
void pn_icmp_init(struct pn_stack *s);
/* Consumes pkt (data = ICMP message, ip parsed, ip_hdr points to the IP header in pkt). */
void pn_icmp_input(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_ipv4_repr *ip);
/* Borrows orig (data = the offending datagram's IP header). Sends an ICMP error about it,
 * unless RFC 1122 §3.2.2 forbids (orig is an ICMP error, a non-first fragment, or to/from
 * broadcast/multicast) or the rate limit says no (counted). Includes the IP header + as
 * much data as fits in 576 bytes (RFC 1812 §4.3.2.3). rest = the 4-byte field. */
void pn_icmp_send_error(struct pn_stack *s, const struct pn_pbuf *orig, uint8_t type,
                        uint8_t code, uint32_t rest);
/* Sends an echo request: data (len bytes) after the 8-byte header. Returns as
 * pn_ipv4_output. Used by ping sockets. */
int pn_icmp_send_echo(struct pn_stack *s, uint32_t dst, uint16_t id, uint16_t seq,
                      const uint8_t *data, size_t len, uint8_t ttl, uint8_t tos);

#endif
