/* wire/tcp.h — TCP header and option codec (RFC 9293 §3.1, §3.2): MSS, window scale
 * (RFC 7323 §2), SACK-permitted and SACK blocks (RFC 2018), timestamps (RFC 7323 §3),
 * NOP/EOL; unknown options skipped by their length; malformed lengths rejected. */
#ifndef PN_WIRE_TCP_H
#define PN_WIRE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wire/wire.h"

#define PN_TCP_HDR_LEN 20u
#define PN_TCP_MAX_HDR_LEN 60u
#define PN_TCP_MAX_SACK 4u

#define PN_TCP_FIN 0x01u
#define PN_TCP_SYN 0x02u
#define PN_TCP_RST 0x04u
#define PN_TCP_PSH 0x08u
#define PN_TCP_ACK 0x10u
#define PN_TCP_URG 0x20u
#define PN_TCP_ECE 0x40u
#define PN_TCP_CWR 0x80u

#define PN_TCPOPT_EOL 0u
#define PN_TCPOPT_NOP 1u
#define PN_TCPOPT_MSS 2u       /* len 4 */
#define PN_TCPOPT_WSCALE 3u    /* len 3 */
#define PN_TCPOPT_SACK_PERM 4u /* len 2 */
#define PN_TCPOPT_SACK 5u      /* len 2 + 8n */
#define PN_TCPOPT_TIMESTAMP 8u /* len 10 */

struct pn_tcp_sack_block {
    uint32_t left, right; /* [left, right) in sequence space */
};

/* Which option order to emit. PN_TCP_OPTS_COMPACT packs for the fewest bytes in a
 * sane order; PN_TCP_OPTS_LINUX reproduces Linux's layout (MSS, SACK-perm+TS, NOP, WS in a
 * SYN; NOP,NOP,TS; NOP,NOP,SACK) so byte-exact tools such as packetdrill match.
 * COMPACT writes MSS, SACK-perm, TS, WS, SACK back to back without NOPs and pads with EOL
 * to a multiple of 4: never longer than LINUX for the same SACK blocks (4 bytes shorter
 * with TS + SACK), and with some option sets (e.g. MSS + TS) it fits one more block. */
enum pn_tcp_opt_layout { PN_TCP_OPTS_LINUX = 0, PN_TCP_OPTS_COMPACT = 1 };

struct pn_tcp_repr {
    uint16_t src_port, dst_port;
    uint32_t seq, ack;
    uint8_t flags;        /* PN_TCP_* bits (the NS bit is ignored) */
    uint16_t window;      /* raw field, unscaled */
    uint16_t urgent;
    uint8_t hdr_len;      /* parse: data offset * 4 */
    /* options: has_* say whether present */
    bool has_mss;
    uint16_t mss;
    bool has_wscale;
    uint8_t wscale;       /* parse: raw value (the caller clamps to 14, RFC 7323 §2.3) */
    bool sack_permitted;
    bool has_ts;
    uint32_t ts_val, ts_ecr;
    uint8_t sack_count;   /* 0..4 blocks */
    struct pn_tcp_sack_block sack[PN_TCP_MAX_SACK];
    const uint8_t *payload; /* parse: points into the parsed buffer */
    size_t payload_len;
};

/* Parses a segment of exactly len bytes (the IP payload). Checks len >= 20 (TRUNCATED);
 * data offset >= 5 and <= len (BAD_HDR_LEN); len <= 65535 (BAD_LENGTH: no IPv4 payload is
 * longer); checksum with the pseudo-header if verify_csum (BAD_CHECKSUM); options: EOL
 * ends the list, NOP is one byte, any other needs a length byte >= 2 that fits the option
 * space (BAD_OPTION); known options with a wrong length (MSS != 4, WS != 3, SACK-perm != 2,
 * TS != 10, SACK not 2+8n with n >= 1) are BAD_OPTION; more than 4 SACK blocks cannot fit
 * and are BAD_OPTION. Unknown kinds are skipped; a repeated option overwrites the earlier.
 * On error *out is left untouched. */
int pn_tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
                 struct pn_tcp_repr *out, bool verify_csum);
/* Bytes the options of r take when emitted in layout (a multiple of 4, at most 40). */
size_t pn_tcp_options_len(const struct pn_tcp_repr *r, enum pn_tcp_opt_layout layout);
/* Writes header + options for r at buf; the payload of payload_len bytes must ALREADY be in
 * place at buf + 20 + options_len. Fills the checksum. Returns the header length. SACK
 * blocks that do not fit beside the other options are dropped from the end. */
size_t pn_tcp_emit(const struct pn_tcp_repr *r, enum pn_tcp_opt_layout layout, uint8_t *buf,
                   uint32_t src, uint32_t dst, size_t payload_len);

/* The same as pn_tcp_emit for a payload whose checksum accumulator (pn_csum_add or
 * pn_csum_copy over exactly its payload_len bytes) the caller already has. */
size_t pn_tcp_emit_sum(const struct pn_tcp_repr *r, enum pn_tcp_opt_layout layout, uint8_t *buf,
                       uint32_t src, uint32_t dst, size_t payload_len, uint32_t payload_sum);

#endif
