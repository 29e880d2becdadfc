/* wire/checksum.h — the Internet checksum (RFC 1071), summed a machine word at a time,
 * incremental update (RFC 1624) and the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1).
 * Sums are kept in the numeric domain of big-endian 16-bit words: the value returned by
 * pn_csum_finish is stored with pn_put_be16 and checked equal to 0 by pn_csum_finish over a
 * region that already contains its checksum field. */
#ifndef PN_WIRE_CHECKSUM_H
#define PN_WIRE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds len bytes at buf (any alignment, any length; an odd last byte is padded with a zero
 * byte as RFC 1071 says) to the running 32-bit accumulator sum and returns the new
 * accumulator (not yet folded). Start with sum = 0. Chained calls must pass even lengths
 * except for the last. */
uint32_t pn_csum_add(uint32_t sum, const void *buf, size_t len);
/* Copies len bytes from src to dst (non-overlapping) and adds them to the accumulator in
 * the same pass, as pn_csum_add(sum, dst, len) would: one trip through memory instead of
 * two for data that is both copied and checksummed (TCP and UDP payloads on output). */
uint32_t pn_csum_copy(uint32_t sum, void *dst, const void *src, size_t len);
/* Folds the accumulator to 16 bits and returns its one's complement: the value to store in
 * a checksum field; 0 when verifying a region that includes a correct checksum. */
uint16_t pn_csum_finish(uint32_t sum);
/* Accumulator for the IPv4 pseudo-header: src, dst (host order), zero, protocol, length. */
uint32_t pn_csum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);
/* RFC 1624 eqn. 3: the new checksum field after a 16-bit word of the covered data changes
 * from old_word to new_word: HC' = ~(~HC + ~m + m'). */
uint16_t pn_csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word);
/* The same for an aligned 32-bit value (two words), e.g. an address. */
uint16_t pn_csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val);

#endif
