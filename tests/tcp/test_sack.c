/* tests/tcp/test_sack.c — the SACK scoreboard (RFC 2018, RFC 2883, RFC 6675 §4): merging,
 * holes, IsLost, pipe, NextSeg, advancing past SND.UNA, D-SACK detection, bounds and
 * reneging safety (clear after a timeout). */
#include <string.h>
#include "testutil.h"
#include "tcp/sack.h"

#define MSS 1000u
#define UNA 100000u

static void add(struct pn_sack_board *b, uint32_t ack, uint32_t l, uint32_t r, uint32_t max)
{
    struct pn_tcp_repr rep;
    memset(&rep, 0, sizeof(rep));
    rep.ack = ack;
    rep.sack_count = 1;
    rep.sack[0].left = l;
    rep.sack[0].right = r;
    bool dsack;
    pn_sack_update(b, &rep, ack, max, &dsack);
    assert_false(dsack);
}

static void test_merge_and_order(void **state)
{
    struct pn_sack_board b = {0};
    uint32_t max = UNA + 100 * MSS;
    add(&b, UNA, UNA + 5 * MSS, UNA + 6 * MSS, max);
    add(&b, UNA, UNA + 2 * MSS, UNA + 3 * MSS, max);
    add(&b, UNA, UNA + 3 * MSS, UNA + 4 * MSS, max); /* adjacent: merges with [2,3) */
    assert_int_equal(b.n, 2);
    assert_int_equal(b.r[0].left, UNA + 2 * MSS);
    assert_int_equal(b.r[0].right, UNA + 4 * MSS);
    assert_int_equal(b.bytes, 3 * MSS);
    add(&b, UNA, UNA + 1 * MSS, UNA + 7 * MSS, max); /* covers both */
    assert_int_equal(b.n, 1);
    assert_int_equal(b.bytes, 6 * MSS);
    assert_true(pn_sack_is_sacked(&b, UNA + MSS));
    assert_false(pn_sack_is_sacked(&b, UNA));
    assert_false(pn_sack_is_sacked(&b, UNA + 7 * MSS));
    pn_sack_clear(&b);
}

static void test_invalid_blocks_ignored(void **state)
{
    struct pn_sack_board b = {0};
    struct pn_tcp_repr rep;
    memset(&rep, 0, sizeof(rep));
    rep.ack = UNA;
    rep.sack_count = 3;
    rep.sack[0] = (struct pn_tcp_sack_block){UNA + 5 * MSS, UNA + 5 * MSS}; /* empty */
    rep.sack[1] = (struct pn_tcp_sack_block){UNA + 5 * MSS, UNA + 2 * MSS}; /* inverted */
    rep.sack[2] = (struct pn_tcp_sack_block){UNA + 2 * MSS, UNA + 200 * MSS}; /* unsent */
    bool dsack;
    assert_int_equal(pn_sack_update(&b, &rep, UNA, UNA + 10 * MSS, &dsack), 0);
    assert_int_equal(b.n, 0);
    pn_sack_clear(&b);
}

static void test_dsack(void **state)
{
    struct pn_sack_board b = {0};
    struct pn_tcp_repr rep;
    memset(&rep, 0, sizeof(rep));
    bool dsack;
    /* RFC 2883 §4 example: first block below the cumulative ACK. */
    rep.ack = UNA;
    rep.sack_count = 1;
    rep.sack[0] = (struct pn_tcp_sack_block){UNA - MSS, UNA};
    assert_int_equal(pn_sack_update(&b, &rep, UNA, UNA + 10 * MSS, &dsack), 0);
    assert_true(dsack);
    assert_int_equal(b.n, 0);
    /* First block inside the second: a duplicate of out-of-order data. */
    rep.sack_count = 2;
    rep.sack[0] = (struct pn_tcp_sack_block){UNA + 3 * MSS, UNA + 4 * MSS};
    rep.sack[1] = (struct pn_tcp_sack_block){UNA + 2 * MSS, UNA + 5 * MSS};
    assert_int_equal(pn_sack_update(&b, &rep, UNA, UNA + 10 * MSS, &dsack), 3 * MSS);
    assert_true(dsack);
    pn_sack_clear(&b);
}

static void test_is_lost_and_pipe(void **state)
{
    struct pn_sack_board b = {0};
    uint32_t max = UNA + 10 * MSS;
    /* Segment 0 lost, 1 and 2 SACKed: 2 segments above, not yet DupThresh. */
    add(&b, UNA, UNA + MSS, UNA + 3 * MSS, max);
    assert_false(pn_sack_is_lost(&b, UNA, MSS));
    /* A third segment SACKed: more than (DupThresh-1)*SMSS above -> lost. */
    add(&b, UNA, UNA + 3 * MSS, UNA + 4 * MSS, max);
    assert_true(pn_sack_is_lost(&b, UNA, MSS));
    /* Three discontiguous ranges of 1 byte each also make it lost. */
    struct pn_sack_board c = {0};
    add(&c, UNA, UNA + 2 * MSS, UNA + 2 * MSS + 1, max);
    add(&c, UNA, UNA + 4 * MSS, UNA + 4 * MSS + 1, max);
    assert_false(pn_sack_is_lost(&c, UNA, MSS));
    add(&c, UNA, UNA + 6 * MSS, UNA + 6 * MSS + 1, max);
    assert_true(pn_sack_is_lost(&c, UNA, MSS));
    /* pipe: 10 segments sent, seg 0 lost (not counted), 1..3 SACKed, 4..9 in flight. */
    assert_int_equal(pn_sack_pipe(&b, UNA, max, UNA, MSS), 6 * MSS);
    /* After retransmitting segment 0 (HighRxt past it), it counts again. */
    assert_int_equal(pn_sack_pipe(&b, UNA, max, UNA + MSS, MSS), 7 * MSS);
    pn_sack_clear(&b);
    pn_sack_clear(&c);
}

static void test_next_lost(void **state)
{
    struct pn_sack_board b = {0};
    uint32_t max = UNA + 20 * MSS;
    /* Holes at 0 and at 5..6; SACKed 1..4 and 7..12. */
    add(&b, UNA, UNA + MSS, UNA + 5 * MSS, max);
    add(&b, UNA, UNA + 7 * MSS, UNA + 13 * MSS, max);
    uint32_t seq, len;
    assert_true(pn_sack_next_lost(&b, UNA, UNA, MSS, &seq, &len));
    assert_int_equal(seq, UNA);
    assert_int_equal(len, MSS);
    /* After retransmitting hole 0, the next is 5 (two segments long: one MSS at a time). */
    assert_true(pn_sack_next_lost(&b, UNA, UNA + MSS, MSS, &seq, &len));
    assert_int_equal(seq, UNA + 5 * MSS);
    assert_int_equal(len, MSS);
    assert_true(pn_sack_next_lost(&b, UNA, UNA + 6 * MSS, MSS, &seq, &len));
    assert_int_equal(seq, UNA + 6 * MSS);
    assert_false(pn_sack_next_lost(&b, UNA, UNA + 7 * MSS, MSS, &seq, &len));
    /* The tail above the highest SACK is never "lost" by SACK evidence. */
    assert_false(pn_sack_is_lost(&b, UNA + 13 * MSS, MSS));
    pn_sack_clear(&b);
}

static void test_advance_and_clear(void **state)
{
    struct pn_sack_board b = {0};
    uint32_t max = UNA + 20 * MSS;
    add(&b, UNA, UNA + MSS, UNA + 3 * MSS, max);
    add(&b, UNA, UNA + 5 * MSS, UNA + 6 * MSS, max);
    pn_sack_advance(&b, UNA + 2 * MSS); /* cumulative ACK inside the first range */
    assert_int_equal(b.n, 2);
    assert_int_equal(b.r[0].left, UNA + 2 * MSS);
    assert_int_equal(b.bytes, 2 * MSS);
    pn_sack_advance(&b, UNA + 6 * MSS);
    assert_int_equal(b.n, 0);
    assert_int_equal(b.bytes, 0);
    /* Reneging safety: after an RTO the sender discards the board (RFC 2018 §8). */
    add(&b, UNA, UNA + 8 * MSS, UNA + 9 * MSS, max);
    pn_sack_clear(&b);
    assert_false(pn_sack_is_sacked(&b, UNA + 8 * MSS));
    pn_sack_clear(&b);
}

static void test_bounded(void **state)
{
    struct pn_sack_board b = {0};
    uint32_t max = UNA + 3000 * MSS;
    for (uint32_t i = 0; i < 40; i++)
        add(&b, UNA, UNA + (2 * i + 1) * MSS, UNA + (2 * i + 2) * MSS, max);
    assert_int_equal(b.n, 40); /* grows with the holes (allocated on demand) */
    for (uint32_t i = 40; i < 1100; i++)
        add(&b, UNA, UNA + (2 * i + 1) * MSS, UNA + (2 * i + 2) * MSS, max);
    assert_int_equal(b.n, PN_SACK_MAX_RANGES); /* bounded */
    /* The lowest ranges (nearest SND.UNA, the ones recovery needs) are kept. */
    assert_int_equal(b.r[0].left, UNA + MSS);
    for (unsigned i = 1; i < b.n; i++)
        assert_true(b.r[i - 1].right < b.r[i].left);
    pn_sack_clear(&b);
}

static void test_wraparound(void **state)
{
    struct pn_sack_board b = {0};
    uint32_t una = 0xffffff00u, max = una + 10 * MSS;
    add(&b, una, una + MSS, una + 4 * MSS, max); /* crosses 2^32 */
    assert_int_equal(b.bytes, 3 * MSS);
    assert_true(pn_sack_is_lost(&b, una, MSS));
    uint32_t seq, len;
    assert_true(pn_sack_next_lost(&b, una, una, MSS, &seq, &len));
    assert_int_equal(seq, una);
    pn_sack_clear(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_and_order), cmocka_unit_test(test_invalid_blocks_ignored),
        cmocka_unit_test(test_dsack),           cmocka_unit_test(test_is_lost_and_pipe),
        cmocka_unit_test(test_next_lost),       cmocka_unit_test(test_advance_and_clear),
        cmocka_unit_test(test_bounded),         cmocka_unit_test(test_wraparound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
