/* tests/core/test_misc.c — SipHash-2-4 against the reference vectors, the PRNG's range,
 * address parsing/formatting (strictness), error names, and stack config validation. */
#include <string.h>
#include "testutil.h"
#include "core/random.h"

static void test_siphash_vectors(void **state)
{
    /* From the SipHash paper, Appendix A: key 00..0f, message 00..0e. */
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    assert_int_equal(pn_siphash(key, msg, 15), 0xa129ca6149be45e5ull);
    /* vectors.h of the reference implementation: empty message and 8 bytes. */
    assert_int_equal(pn_siphash(key, msg, 0), 0x726fdb47dd0e0e31ull);
    assert_int_equal(pn_siphash(key, msg, 8), 0x93f5f5799a932462ull);
}

static void test_rng_below(void **state)
{
    struct pn_rng r;
    uint8_t key[16] = {1};
    pn_rng_init(&r, key, 0);
    int seen[10] = {0};
    for (int i = 0; i < 10000; i++) {
        uint32_t v = pn_rng_below(&r, 10);
        assert_true(v < 10);
        seen[v]++;
    }
    for (int i = 0; i < 10; i++)
        assert_true(seen[i] > 800 && seen[i] < 1200);
    struct pn_rng r2;
    pn_rng_init(&r2, key, 1);
    assert_int_not_equal(pn_rng_u64(&r2), ({ pn_rng_init(&r, key, 0); pn_rng_u64(&r); }));
}

static void test_ip4_parse(void **state)
{
    uint32_t a;
    uint8_t len;
    assert_int_equal(pn_ip4_parse("10.0.0.1", &a), 0);
    assert_int_equal(a, PN_IP4(10, 0, 0, 1));
    assert_int_equal(pn_ip4_parse("255.255.255.255", &a), 0);
    const char *bad[] = {"", "10.0.0", "10.0.0.1.", "10.0.0.256", "1.2.3.4x", " 1.2.3.4",
                         "1..2.3", "-1.2.3.4", "1.2.3.0004", "a.b.c.d", "1.2.3.4/24"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(pn_ip4_parse(bad[i], &a), PN_EINVAL);
    assert_int_equal(pn_ip4_prefix_parse("192.168.1.7/24", &a, &len), 0);
    assert_int_equal(len, 24);
    assert_int_equal(pn_ip4_prefix_parse("192.168.1.7/33", &a, &len), PN_EINVAL);
    assert_int_equal(pn_ip4_prefix_parse("192.168.1.7", &a, &len), PN_EINVAL);
    char buf[PN_IP4_STRLEN];
    assert_string_equal(pn_ip4_format(PN_IP4(172, 16, 0, 254), buf), "172.16.0.254");
    assert_int_equal(pn_ip4_mask(0), 0);
    assert_int_equal(pn_ip4_mask(24), 0xffffff00u);
    assert_int_equal(pn_ip4_mask(32), 0xffffffffu);
}

static void test_mac_parse(void **state)
{
    struct pn_mac m;
    char buf[PN_MAC_STRLEN];
    assert_int_equal(pn_mac_parse("02:AB:cd:00:11:ff", &m), 0);
    assert_string_equal(pn_mac_format(&m, buf), "02:ab:cd:00:11:ff");
    assert_int_equal(pn_mac_parse("02-ab-cd-00-11-ff", &m), 0);
    assert_int_equal(pn_mac_parse("02:ab:cd:00:11", &m), PN_EINVAL);
    assert_int_equal(pn_mac_parse("02:ab:cd:00:11:fg", &m), PN_EINVAL);
    assert_int_equal(pn_mac_parse("02:ab:cd:00:11:ff:", &m), PN_EINVAL);
    assert_true(pn_mac_is_broadcast(&T_MAC_BCAST));
    assert_true(pn_mac_is_multicast(&T_MAC_BCAST));
    assert_false(pn_mac_is_multicast(&T_MAC_A));
}

static void test_errors(void **state)
{
    assert_string_equal(pn_errname(PN_EAGAIN), "PN_EAGAIN");
    assert_string_equal(pn_strerror(PN_ECONNREFUSED), "connection refused");
    assert_string_equal(pn_strerror(-1000), "unknown error");
    assert_string_equal(pn_strerror(5), "unknown error");
    for (int e = PN_ERR_MIN_; e <= 0; e++)
        assert_non_null(pn_errname(e));
}

static void test_config_validation(void **state)
{
    struct t_link *l = t_link_new(0);
    struct pn_stack_config c;
    struct pn_stack *s = NULL;
    t_config(&c, T_ADDR_A, &T_MAC_A);
    assert_int_equal(pn_stack_new(&c, t_link_base(l), 0, &s), 0);
    pn_stack_free(s);
    struct pn_stack_config bad;
    bad = c; bad.addr = 0;
    assert_int_equal(pn_stack_new(&bad, t_link_base(l), 0, &s), PN_EINVAL);
    bad = c; bad.addr = PN_IP4(10, 0, 0, 0); /* network address of its /24 */
    assert_int_equal(pn_stack_new(&bad, t_link_base(l), 0, &s), PN_EINVAL);
    bad = c; bad.addr = PN_IP4(10, 0, 0, 255); /* broadcast */
    assert_int_equal(pn_stack_new(&bad, t_link_base(l), 0, &s), PN_EINVAL);
    bad = c; bad.mac = T_MAC_BCAST;
    assert_int_equal(pn_stack_new(&bad, t_link_base(l), 0, &s), PN_EINVAL);
    bad = c; bad.gateway = PN_IP4(10, 0, 1, 1); /* not on-link */
    assert_int_equal(pn_stack_new(&bad, t_link_base(l), 0, &s), PN_EINVAL);
    bad = c; bad.mtu = 500; /* below 576 */
    assert_int_equal(pn_stack_new(&bad, t_link_base(l), 0, &s), PN_EINVAL);
    bad = c; bad.addr = PN_IP4(127, 0, 0, 1);
    assert_int_equal(pn_stack_new(&bad, t_link_base(l), 0, &s), PN_EINVAL);
    t_link_free(l);
}

static void test_stats_names(void **state)
{
    assert_int_equal(pn_stats_count, sizeof(struct pn_stats) / sizeof(uint64_t));
    assert_string_equal(pn_stats_names[0], "link_rx_frames");
    struct pn_stats st;
    memset(&st, 0, sizeof(st));
    st.udp_rx_no_port = 42;
    for (unsigned i = 0; i < pn_stats_count; i++)
        if (strcmp(pn_stats_names[i], "udp_rx_no_port") == 0)
            assert_int_equal(pn_stats_get(&st, i), 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vectors), cmocka_unit_test(test_rng_below),
        cmocka_unit_test(test_ip4_parse),       cmocka_unit_test(test_mac_parse),
        cmocka_unit_test(test_errors),          cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_stats_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
