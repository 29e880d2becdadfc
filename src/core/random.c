/* core/random.c — SipHash-2-4 (from the paper "SipHash: a fast short-input PRF",
 * Aumasson & Bernstein 2012) and a counter-mode PRNG on top of it. */
#include <string.h>
#include "core/random.h"

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#define SIPROUND                                                                                    \
    do {                                                                                            \
        v0 += v1;                                                                                   \
        v1 = rotl(v1, 13);                                                                          \
        v1 ^= v0;                                                                                   \
        v0 = rotl(v0, 32);                                                                          \
        v2 += v3;                                                                                   \
        v3 = rotl(v3, 16);                                                                          \
        v3 ^= v2;                                                                                   \
        v0 += v3;                                                                                   \
        v3 = rotl(v3, 21);                                                                          \
        v3 ^= v0;                                                                                   \
        v2 += v1;                                                                                   \
        v1 = rotl(v1, 17);                                                                          \
        v1 ^= v2;                                                                                   \
        v2 = rotl(v2, 32);                                                                          \
    } while (0)

uint64_t pn_siphash(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ull ^ k0;
    uint64_t v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0;
    uint64_t v3 = 0x7465646279746573ull ^ k1;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(in + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)in[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

void pn_rng_init(struct pn_rng *r, const uint8_t key[16], uint64_t domain)
{
    memcpy(r->key, key, 16);
    /* Different domains (e.g. two stacks given the same secret) yield different streams. */
    r->counter = domain << 40;
}

uint64_t pn_rng_u64(struct pn_rng *r)
{
    uint64_t c = r->counter++;
    return pn_siphash(r->key, &c, sizeof(c));
}

uint32_t pn_rng_below(struct pn_rng *r, uint32_t bound)
{
    /* Lemire's multiply-shift with rejection of the biased low range. */
    uint64_t m = (uint64_t)(uint32_t)pn_rng_u64(r) * bound;
    uint32_t low = (uint32_t)m;
    if (low < bound) {
        uint32_t thresh = (uint32_t)-bound % bound;
        while (low < thresh) {
            m = (uint64_t)(uint32_t)pn_rng_u64(r) * bound;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}
