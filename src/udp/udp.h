/* udp/udp.h — the UDP layer (RFC 768, RFC 1122 §4.1): port table, datagram input and
 * output, ICMP error delivery to connected sockets, and the ping (ICMP echo) socket table
 * that shares its port-table machinery (the echo id plays the port).
 * Call chain: pn_ipv4_input -> pn_udp_input -> socket queue -> pn_recvfrom;
 * pn_sendto -> pn_udp_output -> pn_ipv4_output. */
#ifndef PN_UDP_UDP_H
#define PN_UDP_UDP_H

#include <stddef.h>
#include <stdint.h>
#include "plebnet/pbuf.h"
#include "wire/ipv4.h"
#include "wire/icmp.h"

struct pn_stack;
struct pn_socket;

/* A port table: one socket per local port (per protocol), hashed by port. */
struct pn_port_table {
    struct pn_socket **buckets;
    uint32_t nbuckets; /* power of two */
    uint32_t count;
    uint16_t next_hint; /* ephemeral search start */
};

int pn_udp_init(struct pn_stack *s);  /* PN_ENOMEM */
void pn_udp_fini(struct pn_stack *s);
/* Consumes pkt (data = UDP header; ip parsed). Delivers to the socket bound to the port
 * (and connected to the source, if connected), or sends ICMP port unreachable. */
void pn_udp_input(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_ipv4_repr *ip);
/* An ICMP error arrived about a datagram we sent: inner is its IP header, l4 its first
 * bytes (at least 8). Sets the error on a matching connected socket (RFC 1122 §4.1.3.3). */
void pn_udp_icmp_error(struct pn_stack *s, const struct pn_ipv4_repr *inner, const uint8_t *l4,
                       size_t l4len, uint8_t type, uint8_t code);
/* Echo reply for a ping socket: consumes pkt (data = ICMP header). */
void pn_ping_input(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_ipv4_repr *ip,
                   const struct pn_icmp_repr *icmp);
/* Maps an ICMP destination-unreachable/time-exceeded (type, code) to a PN_E* code. */
int pn_icmp_error_to_err(uint8_t type, uint8_t code);

#endif
