/* wire/ipv4.h — IPv4 header codec (RFC 791): validates version, IHL, total length,
 * checksum, fragment fields and option TLV lengths; options are skipped, never acted on. */
#ifndef PN_WIRE_IPV4_H
#define PN_WIRE_IPV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wire/wire.h"

#define PN_IPV4_HDR_LEN 20u
#define PN_IPV4_MAX_HDR_LEN 60u
#define PN_IPV4_MAX_LEN 65535u
#define PN_IP_PROTO_ICMP 1u
#define PN_IP_PROTO_TCP 6u
#define PN_IP_PROTO_UDP 17u

struct pn_ipv4_repr {
    uint32_t src, dst;    /* host order */
    uint8_t proto;
    uint8_t ttl;
    uint8_t tos;          /* DSCP << 2 | ECN */
    uint16_t id;
    bool df, mf;          /* don't fragment, more fragments */
    uint16_t frag_off;    /* fragment offset in BYTES (field * 8) */
    uint16_t hdr_len;     /* parse: IHL * 4; emit: ignored (always 20, no options) */
    uint16_t payload_len; /* total length - header length */
};

/* Parses the header at buf (len = bytes available, which may include link padding).
 * Checks, in order: len >= 20 (TRUNCATED); version 4 (BAD_VERSION); IHL >= 5 and
 * IHL*4 <= len (BAD_HDR_LEN); total length >= IHL*4 and <= len (BAD_LENGTH); header
 * checksum if verify_csum (BAD_CHECKSUM); option TLVs well-formed: EOL ends, NOP is one
 * byte, every other option has length >= 2 that fits (BAD_OPTION); frag_off + payload
 * <= 65535 (BAD_FRAG); reserved flag bit clear (BAD_FIELD). Trailing bytes beyond the
 * total length are padding: the caller trims them. */
int pn_ipv4_parse(const uint8_t *buf, size_t len, struct pn_ipv4_repr *out, bool verify_csum);
/* Writes a 20-byte header (no options) for r at buf, total length = 20 + r->payload_len,
 * with a correct header checksum. */
void pn_ipv4_emit(const struct pn_ipv4_repr *r, uint8_t *buf);

#endif
