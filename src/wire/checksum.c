/* wire/checksum.c — the Internet checksum (RFC 1071) summed 64 bits at a time, its
 * incremental update (RFC 1624 eqn. 3) and the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1).
 * Called by every codec in src/wire/ and by the layers that rewrite headers in place. */
#include "wire/checksum.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define PN_CSUM_BIG_ENDIAN 1
#else
#define PN_CSUM_BIG_ENDIAN 0
#endif

/* One's complement addition of two 64-bit values: the carry out of bit 63 is added back in
 * (end-around carry). A non-zero sum never becomes 0, which keeps "+0" and "-0" apart the
 * way a plain 16-bit RFC 1071 loop does. */
static inline uint64_t add1c64(uint64_t a, uint64_t b)
{
    a += b;
    return a + (a < b);
}

/* Folds a 64-bit one's complement sum to 16 bits. Each step maps a non-zero value to a
 * non-zero value, so the result is 0 only for all-zero data. */
static inline uint32_t fold64(uint64_t v)
{
    v = (v & 0xffffffffu) + (v >> 32); /* <= 2^33 */
    v = (v & 0xffffffffu) + (v >> 32); /* <= 2^32 */
    v = (v & 0xffffu) + (v >> 16);     /* <= 2^17 */
    v = (v & 0xffffu) + (v >> 16);     /* <= 2^16 */
    return (uint32_t)v;
}

/* RFC 1071 §2(B) byte order independence and §2(C) parallel summation: adding native
 * 64-bit words gives the same one's complement sum modulo 2^16 - 1 as adding 16-bit
 * big-endian words (2^16 == 1 modulo 2^16 - 1), except that on a little-endian machine
 * the folded result has its two bytes swapped. So: sum native words, fold, swap once. */
uint32_t pn_csum_add(uint32_t sum, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    /* Two independent accumulators with their carry counts: no carry dependency chain
     * between consecutive adds, so the loop runs at load speed. Each counted carry is
     * worth 2^64, which is 1 modulo 2^16 - 1. */
    uint64_t s0 = 0, s1 = 0, c0 = 0, c1 = 0;

    while (len >= 32) {
        uint64_t w0, w1, w2, w3;
        memcpy(&w0, p, 8);
        memcpy(&w1, p + 8, 8);
        memcpy(&w2, p + 16, 8);
        memcpy(&w3, p + 24, 8);
        s0 += w0;
        c0 += s0 < w0;
        s1 += w1;
        c1 += s1 < w1;
        s0 += w2;
        c0 += s0 < w2;
        s1 += w3;
        c1 += s1 < w3;
        p += 32;
        len -= 32;
    }
    uint64_t acc = add1c64(add1c64(s0, s1), c0 + c1);

    /* The tail, largest piece first. Every piece starts at an even offset from buf, so
     * 16-bit word boundaries are preserved whatever the piece size. */
    if (len & 16) {
        uint64_t w0, w1;
        memcpy(&w0, p, 8);
        memcpy(&w1, p + 8, 8);
        acc = add1c64(acc, w0);
        acc = add1c64(acc, w1);
        p += 16;
    }
    if (len & 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        acc = add1c64(acc, w);
        p += 8;
    }
    if (len & 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        acc = add1c64(acc, w);
        p += 4;
    }
    if (len & 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        acc = add1c64(acc, w);
        p += 2;
    }
    if (len & 1) {
        /* RFC 1071 §4.1: an odd last byte is the high byte of a word padded with zero. In
         * native little-endian order that high byte is the low half of the word. */
        acc = add1c64(acc, PN_CSUM_BIG_ENDIAN ? (uint64_t)p[0] << 8 : p[0]);
    }

    uint32_t folded = fold64(acc);
#if !PN_CSUM_BIG_ENDIAN
    folded = ((folded & 0xffu) << 8) | (folded >> 8);
#endif
    /* Keep the returned accumulator in 32 bits with an end-around carry, so long chains
     * of calls cannot overflow it. */
    uint64_t total = (uint64_t)sum + folded;
    return (uint32_t)((total & 0xffffffffu) + (total >> 32));
}

uint32_t pn_csum_copy(uint32_t sum, void *dst, const void *src, size_t len)
{
    uint8_t *d = dst;
    const uint8_t *p = src;
    uint64_t s0 = 0, s1 = 0, c0 = 0, c1 = 0;
    size_t done = 0;
    /* The same two-accumulator scheme as pn_csum_add, storing each word as it is summed. */
    while (len - done >= 32) {
        uint64_t w0, w1, w2, w3;
        memcpy(&w0, p, 8);
        memcpy(&w1, p + 8, 8);
        memcpy(&w2, p + 16, 8);
        memcpy(&w3, p + 24, 8);
        memcpy(d, &w0, 8);
        memcpy(d + 8, &w1, 8);
        memcpy(d + 16, &w2, 8);
        memcpy(d + 24, &w3, 8);
        s0 += w0;
        c0 += s0 < w0;
        s1 += w1;
        c1 += s1 < w1;
        s0 += w2;
        c0 += s0 < w2;
        s1 += w3;
        c1 += s1 < w3;
        p += 32;
        d += 32;
        done += 32;
    }
    uint64_t acc = add1c64(add1c64(s0, s1), c0 + c1);
    uint32_t folded = fold64(acc);
#if !PN_CSUM_BIG_ENDIAN
    folded = ((folded & 0xffu) << 8) | (folded >> 8);
#endif
    uint64_t total = (uint64_t)sum + folded;
    sum = (uint32_t)((total & 0xffffffffu) + (total >> 32));
    /* The tail (< 32 bytes) starts at an even offset: copy it and sum it the plain way. */
    if (done < len) {
        memcpy(d, p, len - done);
        sum = pn_csum_add(sum, d, len - done);
    }
    return sum;
}

/* RFC 1071 §4.1: fold the carries back into 16 bits and take the one's complement. */
uint16_t pn_csum_finish(uint32_t sum)
{
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

/* RFC 768 / RFC 9293 §3.1: the 96-bit pseudo-header is source address, destination
 * address, a zero byte, the protocol and the transport length. */
uint32_t pn_csum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    return (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) + proto + len;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). Unlike eqn. 2 it never yields 0x0000 where a
 * full recomputation gives 0xffff, except for all-zero data, which no real header is. */
uint16_t pn_csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word)
{
    uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~old_word + new_word;
    return pn_csum_finish(s);
}

/* RFC 1624 eqn. 3 applied to both 16-bit halves of a 32-bit value at once. */
uint16_t pn_csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val)
{
    uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t) ~(old_val >> 16) + (uint16_t)~old_val +
                 (new_val >> 16) + (new_val & 0xffffu);
    return pn_csum_finish(s);
}
