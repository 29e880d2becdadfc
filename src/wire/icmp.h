/* wire/icmp.h — ICMPv4 message codec (RFC 792; RFC 1191 next-hop MTU). */
#ifndef PN_WIRE_ICMP_H
#define PN_WIRE_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wire/wire.h"

#define PN_ICMP_HDR_LEN 8u
#define PN_ICMP_ECHO_REPLY 0u
#define PN_ICMP_DEST_UNREACH 3u
#define PN_ICMP_ECHO_REQUEST 8u
#define PN_ICMP_TIME_EXCEEDED 11u
#define PN_ICMP_PARAM_PROBLEM 12u
/* destination unreachable codes (RFC 792, RFC 1122 3.2.2.1) */
#define PN_ICMP_UNREACH_NET 0u
#define PN_ICMP_UNREACH_HOST 1u
#define PN_ICMP_UNREACH_PROTO 2u
#define PN_ICMP_UNREACH_PORT 3u
#define PN_ICMP_UNREACH_NEEDFRAG 4u
/* time exceeded codes */
#define PN_ICMP_EXC_TTL 0u
#define PN_ICMP_EXC_FRAGTIME 1u

struct pn_icmp_repr {
    uint8_t type, code;
    /* The 4 "rest of header" bytes: for echo, id (high 16) and seq (low 16); for
     * destination unreachable code 4, the next-hop MTU in the low 16; for parameter
     * problem, the pointer in the high 8. */
    uint16_t id, seq;     /* echo request/reply, from the rest field */
    uint32_t rest;        /* the raw rest field, host order */
    const uint8_t *data;  /* parse: points into the parsed buffer after the 8-byte header */
    size_t data_len;
};

/* Parses a message of exactly len bytes (the IP payload). Checks len >= 8 (TRUNCATED) and
 * the checksum over all len bytes if verify_csum (BAD_CHECKSUM). */
int pn_icmp_parse(const uint8_t *buf, size_t len, struct pn_icmp_repr *out, bool verify_csum);
/* Writes the 8-byte header at buf followed by r->data_len bytes of r->data (which may
 * already be in place at buf + 8: then it is not copied) and fills the checksum.
 * Returns 8 + data_len. Fills `rest` from id/seq for echo types, else writes r->rest. */
size_t pn_icmp_emit(const struct pn_icmp_repr *r, uint8_t *buf);

#endif
