/* tests/wire/test_checksum.c — the word-at-a-time Internet checksum against a bytewise
 * RFC 1071 reference (every length 0..2000 at every alignment 0..7), the RFC 1071 and
 * RFC 1624 worked examples, the pseudo-header, and incremental update vs recompute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wire/bytes.h"
#include "wire/checksum.h"

/* A fixed-seed xorshift64*: the random tests are the same on every run. */
static uint64_t rng_state;
static void rng_seed(uint64_t s)
{
    rng_state = s ? s : 1;
}
static uint32_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}
static void rng_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rng_next();
}

/* The obvious RFC 1071 §4.1 loop: big-endian 16-bit words, odd byte padded, folded. */
static uint16_t ref_csum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < len)
        sum += (uint32_t)p[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint16_t csum(const void *p, size_t len)
{
    return pn_csum_finish(pn_csum_add(0, p, len));
}

/* RFC 1071 §3 numerical example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
static void test_rfc1071_example(void **state)
{
    (void)state;
    static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(csum(b, sizeof b), (uint16_t)~0xddf2);
    assert_int_equal(ref_csum(b, sizeof b), (uint16_t)~0xddf2);
}

static void test_small_cases(void **state)
{
    (void)state;
    static const uint8_t one[] = {0xab};
    static const uint8_t three[] = {0x12, 0x34, 0x56};
    static const uint8_t zeros[64] = {0};
    uint8_t ones[64];
    memset(ones, 0xff, sizeof ones);
    assert_int_equal(csum(one, 0), 0xffff); /* empty sum is +0 */
    assert_int_equal(csum(one, 1), 0x54ff); /* ~0xab00 */
    assert_int_equal(csum(three, 3), (uint16_t) ~(0x1234 + 0x5600));
    /* All-zero data sums to +0 and all-ones to -0: the two must not be confused. */
    for (size_t n = 0; n <= sizeof zeros; n++) {
        assert_int_equal(csum(zeros, n), 0xffff);
        assert_int_equal(csum(ones, n), ref_csum(ones, n));
    }
    assert_int_equal(csum(ones, 64), 0x0000);
}

/* The word-at-a-time sum equals the bytewise one for random data of every length 0..2000
 * at every start alignment 0..7, and for worst-case carry data (all 0xff bytes). */
static void test_random_vs_reference(void **state)
{
    (void)state;
    enum { MAXLEN = 2000 };
    uint8_t *buf = malloc(MAXLEN + 8);
    assert_non_null(buf);
    rng_seed(0x1071);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            rng_fill(buf, MAXLEN + 8);
        else
            memset(buf, 0xff, MAXLEN + 8);
        for (size_t align = 0; align < 8; align++) {
            for (size_t len = 0; len <= MAXLEN; len++) {
                uint16_t want = ref_csum(buf + align, len);
                uint16_t got = csum(buf + align, len);
                if (want != got)
                    fail_msg("pass %d align %zu len %zu: got %04x want %04x", pass, align, len, got,
                             want);
            }
        }
    }
    free(buf);
}

/* Each length is also tested on its own exact-size heap copy, so ASan would see any read
 * past the end. */
static void test_exact_heap_buffers(void **state)
{
    (void)state;
    rng_seed(42);
    for (size_t len = 0; len <= 80; len++) {
        uint8_t *p = malloc(len ? len : 1);
        assert_non_null(p);
        rng_fill(p, len);
        assert_int_equal(csum(p, len), ref_csum(p, len));
        free(p);
    }
}

/* Chained calls with even split points give the same result as one call, and the
 * accumulator carries an initial sum. */
static void test_chained(void **state)
{
    (void)state;
    uint8_t buf[777];
    rng_seed(7);
    rng_fill(buf, sizeof buf);
    uint16_t whole = csum(buf, sizeof buf);
    for (size_t split = 0; split <= sizeof buf; split += 2) {
        uint32_t s = pn_csum_add(0, buf, split);
        s = pn_csum_add(s, buf + split, sizeof buf - split);
        assert_int_equal(pn_csum_finish(s), whole);
    }
    /* Three pieces, odd start addresses. */
    uint32_t s = pn_csum_add(0, buf + 1, 100);
    s = pn_csum_add(s, buf + 101, 302);
    s = pn_csum_add(s, buf + 403, 373);
    assert_int_equal(pn_csum_finish(s), ref_csum(buf + 1, 775));
    /* A large initial accumulator (near 2^32) still folds right. */
    uint32_t big = 0xfffffff0u;
    uint32_t folded = (big & 0xffff) + (big >> 16);
    folded = (folded & 0xffff) + (folded >> 16);
    uint8_t tmp[2 + sizeof buf];
    pn_put_be16(tmp, (uint16_t)folded);
    memcpy(tmp + 2, buf, sizeof buf);
    assert_int_equal(pn_csum_finish(pn_csum_add(big, buf, sizeof buf)), ref_csum(tmp, sizeof tmp));
}

/* Storing the checksum and summing again gives 0 (the verify rule every parser uses). */
static void test_verify_is_zero(void **state)
{
    (void)state;
    uint8_t buf[301];
    rng_seed(99);
    for (int i = 0; i < 200; i++) {
        size_t len = 2 + rng_next() % (sizeof buf - 2);
        size_t at = (rng_next() % (len / 2)) * 2;
        if (at + 2 > len)
            at = 0;
        rng_fill(buf, len);
        pn_put_be16(buf + at, 0);
        pn_put_be16(buf + at, csum(buf, len));
        assert_int_equal(csum(buf, len), 0);
    }
}

/* The pseudo-header accumulator equals summing the 12 pseudo-header bytes. */
static void test_pseudo_header(void **state)
{
    (void)state;
    rng_seed(768);
    for (int i = 0; i < 1000; i++) {
        uint32_t src = rng_next(), dst = rng_next();
        uint8_t proto = (uint8_t)rng_next();
        uint16_t len = (uint16_t)rng_next();
        uint8_t ph[12];
        pn_put_be32(ph, src);
        pn_put_be32(ph + 4, dst);
        ph[8] = 0;
        ph[9] = proto;
        pn_put_be16(ph + 10, len);
        assert_int_equal(pn_csum_finish(pn_csum_pseudo_ipv4(src, dst, proto, len)),
                         ref_csum(ph, sizeof ph));
    }
    /* 10.200.0.1 -> 10.200.0.2, UDP, length 23 */
    assert_int_equal(pn_csum_pseudo_ipv4(0x0ac80001, 0x0ac80002, 17, 23),
                     0x0ac8 + 0x0001 + 0x0ac8 + 0x0002 + 17 + 23);
}

/* RFC 1624 §4 example: HC 0xdd2f, m 0x5555 -> m' 0x3285 gives 0x0000 with eqn. 3 (eqn. 2
 * would give the wrong -0, 0xffff). */
static void test_rfc1624_example(void **state)
{
    (void)state;
    assert_int_equal(pn_csum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
    assert_int_equal(pn_csum_update16(0x1234, 0xabcd, 0xabcd), 0x1234); /* no change */
}

/* Incremental update of 16- and 32-bit fields equals a full recompute, on random headers
 * with a fixed seed. */
static void test_update_vs_recompute(void **state)
{
    (void)state;
    uint8_t buf[64];
    rng_seed(1624);
    for (int i = 0; i < 20000; i++) {
        size_t len = 20 + 2 * (rng_next() % 23); /* 20..64, even */
        rng_fill(buf, len);
        /* checksum field at offset 10, as in IPv4 */
        pn_put_be16(buf + 10, 0);
        uint16_t hc = csum(buf, len);
        pn_put_be16(buf + 10, hc);
        size_t off;
        do
            off = 2 * (rng_next() % (len / 2 - 1));
        while (off == 10 || off + 4 > len || off == 8);
        if (i & 1) {
            uint16_t old = pn_get_be16(buf + off);
            uint16_t nw = (i & 2) ? (uint16_t)rng_next() : (uint16_t)~old;
            pn_put_be16(buf + off, nw);
            hc = pn_csum_update16(hc, old, nw);
        } else {
            uint32_t old = pn_get_be32(buf + off);
            uint32_t nw = rng_next();
            pn_put_be32(buf + off, nw);
            hc = pn_csum_update32(hc, old, nw);
        }
        pn_put_be16(buf + 10, 0);
        assert_int_equal(hc, csum(buf, len));
        pn_put_be16(buf + 10, hc);
        assert_int_equal(csum(buf, len), 0);
    }
}

/* A change that makes the covered sum -0 (checksum 0x0000) is handled the same way by
 * update and recompute. */
static void test_update_to_zero_checksum(void **state)
{
    (void)state;
    uint8_t b[4] = {0x00, 0x01, 0, 0}; /* word0 = data, word1 = checksum */
    pn_put_be16(b + 2, csum(b, 4));
    assert_int_equal(pn_get_be16(b + 2), 0xfffe);
    uint16_t hc = pn_csum_update16(0xfffe, 0x0001, 0xffff);
    pn_put_be16(b, 0xffff);
    pn_put_be16(b + 2, 0);
    assert_int_equal(hc, csum(b, 4));
    assert_int_equal(hc, 0x0000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc1071_example),
        cmocka_unit_test(test_small_cases),
        cmocka_unit_test(test_random_vs_reference),
        cmocka_unit_test(test_exact_heap_buffers),
        cmocka_unit_test(test_chained),
        cmocka_unit_test(test_verify_is_zero),
        cmocka_unit_test(test_pseudo_header),
        cmocka_unit_test(test_rfc1624_example),
        cmocka_unit_test(test_update_vs_recompute),
        cmocka_unit_test(test_update_to_zero_checksum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
