/* core/random.h — SipHash-2-4 (Aumasson & Bernstein) as the keyed hash for ISNs (RFC 6528),
 * hash tables and ephemeral ports (RFC 6056), and a PRNG built on it (SipHash of a
 * counter under the stack's secret key). No syscalls: the key comes from the caller. */
#ifndef PN_CORE_RANDOM_H
#define PN_CORE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of len bytes at data under a 16-byte key. */
uint64_t pn_siphash(const uint8_t key[16], const void *data, size_t len);

struct pn_rng {
    uint8_t key[16];
    uint64_t counter;
};
void pn_rng_init(struct pn_rng *r, const uint8_t key[16], uint64_t domain);
uint64_t pn_rng_u64(struct pn_rng *r);
/* Uniform in [0, bound) (bound > 0), without modulo bias. */
uint32_t pn_rng_below(struct pn_rng *r, uint32_t bound);

#endif
