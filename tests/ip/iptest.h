/* tests/ip/iptest.h — small helpers shared by the IPv4/ICMP/reassembly tests: crafted
 * frames built with the wire codecs, and a stack A that already knows B's MAC. */
#ifndef PN_TESTS_IP_IPTEST_H
#define PN_TESTS_IP_IPTEST_H

#include <string.h>
#include "testutil.h"
#include "core/stack.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

#define FRAME_MAX 70000

/* Stack A on an inject link, with a static ARP entry for B so output needs no ARP. */
static inline void ip_one_init(struct t_one *o, const struct pn_stack_config *cfg)
{
    t_one_init(o, cfg);
    assert_int_equal(pn_stack_arp_add_static(o->s, T_ADDR_B, &T_MAC_B), 0);
}

/* Writes an ICMP message (8-byte header + data) at b; returns its length. */
static inline size_t icmp_msg(uint8_t *b, uint8_t type, uint8_t code, uint16_t id, uint16_t seq,
                              uint32_t rest, const void *data, size_t len)
{
    struct pn_icmp_repr r = {.type = type,
                             .code = code,
                             .id = id,
                             .seq = seq,
                             .rest = rest,
                             .data = data,
                             .data_len = len};
    return pn_icmp_emit(&r, b);
}

/* An echo request from B to dst, in a frame to our MAC. */
static inline size_t echo_frame(uint8_t *f, uint32_t dst, uint16_t id, uint16_t seq,
                                const void *data, size_t len)
{
    static uint8_t l4[FRAME_MAX];
    size_t n = icmp_msg(l4, PN_ICMP_ECHO_REQUEST, 0, id, seq, 0, data, len);
    struct pn_ipv4_repr ip = {
        .src = T_ADDR_B, .dst = dst, .proto = PN_IP_PROTO_ICMP, .ttl = 64, .id = 0x4242};
    return t_frame_ipv4(f, &T_MAC_A, &T_MAC_B, &ip, l4, n);
}

/* Pops one frame; returns its length (0 if none). */
static inline size_t pop(struct t_one *o, uint8_t *buf)
{
    return t_link_pop(o->link, buf, FRAME_MAX);
}

#endif
