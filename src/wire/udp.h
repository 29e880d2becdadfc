/* wire/udp.h — UDP header codec (RFC 768) with IPv4 pseudo-header checksums. */
#ifndef PN_WIRE_UDP_H
#define PN_WIRE_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wire/wire.h"

#define PN_UDP_HDR_LEN 8u

struct pn_udp_repr {
    uint16_t src_port, dst_port;
    const uint8_t *payload;   /* parse: points into the parsed buffer */
    size_t payload_len;
    bool has_checksum;        /* parse: the checksum field was non-zero */
};

/* Parses a datagram in buf (len = the IP payload length). Checks len >= 8 (TRUNCATED);
 * the length field >= 8 and <= len (BAD_LENGTH; a shorter length field than the IP
 * payload is allowed and the rest ignored); if verify_csum and the checksum field is
 * non-zero, the pseudo-header checksum over `length` bytes (BAD_CHECKSUM). A zero checksum
 * means "none" in IPv4 (RFC 768). Ports of 0 are accepted by the parser. */
int pn_udp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
                 struct pn_udp_repr *out, bool verify_csum);
/* Writes the 8-byte header at buf for a payload of r->payload_len bytes that is ALREADY in
 * place at buf + 8, and fills the checksum (a computed 0 is sent as 0xffff, RFC 768). */
void pn_udp_emit(const struct pn_udp_repr *r, uint8_t *buf, uint32_t src, uint32_t dst);

#endif
