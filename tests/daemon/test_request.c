/* test_request.c — unit tests of the engine's request checks and policy (daemon/policy.c):
 * exact length/version/field checks, 100,000 random and mutated requests, and policy
 * decisions (denied, in use, exhausted, limit, MAC policy). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "pnd.h"

static struct pn_broker_request good_req(void)
{
    struct pn_broker_request r = {
        .magic = PN_BROKER_MAGIC, .version = PN_BROKER_VERSION, .type = PN_BROKER_LEASE};
    return r;
}

static int check(const void *buf, size_t len)
{
    struct pn_broker_request out;
    const char *why = NULL;
    int st = pnd_request_check(buf, len, &out, &why);
    assert_non_null(why);
    return st;
}

static void test_good(void **state)
{
    (void)state;
    struct pn_broker_request r = good_req(), out;
    const char *why;
    assert_int_equal(pnd_request_check(&r, sizeof(r), &out, &why), PN_BROKER_OK);
    strcpy(r.uplink, "br0");
    r.ip[0] = 10;
    r.mac[0] = 2;
    assert_int_equal(pnd_request_check(&r, sizeof(r), &out, &why), PN_BROKER_OK);
    assert_memory_equal(&r, &out, sizeof(r));
}

static void test_fields(void **state)
{
    (void)state;
    uint8_t buf[256];
    struct pn_broker_request r = good_req();
    /* Every length but the exact one is refused. */
    for (size_t len = 0; len < sizeof(buf); len++) {
        memset(buf, 0, sizeof(buf));
        memcpy(buf, &r, sizeof(r));
        int st = check(buf, len);
        if (len == sizeof(r))
            assert_int_equal(st, PN_BROKER_OK);
        else
            assert_int_equal(st, PN_BROKER_BAD_REQUEST);
    }
    struct pn_broker_request x;
    x = r, x.magic ^= 1;
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_REQUEST);
    x = r, x.version = 2;
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_VERSION);
    x = r, x.version = 0;
    assert_int_equal(check(&x, 8), PN_BROKER_BAD_VERSION); /* even when short */
    x = r, x.type = PN_BROKER_LIST;
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_OK);
    x = r, x.type = 3;
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_REQUEST);
    x = r, x.type = 0;
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_REQUEST);
    x = r, x.flags = 0x80000000u;
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_REQUEST);
    x = r, x.reserved[1] = 1;
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_REQUEST);
    for (size_t i = 0; i < sizeof(x.reserved2); i++) {
        x = r, x.reserved2[i] = 0x80;
        assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_REQUEST);
    }
    x = r, memset(x.uplink, 'a', sizeof(x.uplink)); /* no NUL */
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_REQUEST);
    x = r, strcpy(x.uplink, "br0"), x.uplink[10] = 'z'; /* garbage after the NUL */
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_REQUEST);
    x = r, strcpy(x.uplink, "../etc");
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_REQUEST);
    x = r, strcpy(x.uplink, "br 0");
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_REQUEST);
    x = r, strcpy(x.uplink, "br\x7f");
    assert_int_equal(check(&x, sizeof(x)), PN_BROKER_BAD_REQUEST);
}

/* 100,000 random, truncated and bit-flipped requests: none is accepted unless it is exactly
 * a valid request, and the check never reads past len (ASan run catches that). */
static void test_random(void **state)
{
    (void)state;
    srand(42);
    struct pn_broker_request r = good_req();
    for (int n = 0; n < 100000; n++) {
        size_t len = (size_t)rand() % 129;
        uint8_t *buf = malloc(len ? len : 1);
        if (n % 2) {
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)rand();
        } else {
            for (size_t i = 0; i < len; i++)
                buf[i] = i < sizeof(r) ? ((uint8_t *)&r)[i] : (uint8_t)rand();
            if (len)
                buf[(size_t)rand() % len] ^= (uint8_t)(1 + rand() % 255);
        }
        struct pn_broker_request out;
        const char *why;
        int st = pnd_request_check(buf, len, &out, &why);
        if (st == PN_BROKER_OK) {
            assert_int_equal(len, sizeof(r));
            assert_int_equal(out.magic, PN_BROKER_MAGIC);
            assert_int_equal(out.version, PN_BROKER_VERSION);
            assert_int_equal(out.flags, 0);
        } else {
            assert_true(st == PN_BROKER_BAD_REQUEST || st == PN_BROKER_BAD_VERSION);
        }
        free(buf);
    }
}

/* ---- policy ---- */

static struct pnd_config cfg;
static struct pnd_lease leases[8];

static const char *conf =
    "uplink br0\nuplink br1\n"
    "pool a {\n uplink br0\n range 10.0.0.0-10.0.0.3\n prefix 24\n gateway 10.0.0.1\n}\n"
    "pool b {\n uplink br1\n address 10.1.0.5\n prefix 24\n mac client 02:aa:00:00:00:00/16\n}\n"
    "max-leases-per-user 2\n"
    "allow uid 1000 pool a\n"
    "allow gid 50 pool b\n";

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (pnd_config_parse("p.conf", conf, &cfg, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    memset(leases, 0, sizeof(leases));
    return 0;
}

static struct pnd_peer peer(uint32_t uid, uint32_t gid)
{
    struct pnd_peer p = {.uid = uid, .gid = gid, .pid = 1};
    return p;
}

static int decide(struct pnd_peer *p, const char *ip, const char *uplink, const uint8_t *mac,
                  struct pnd_decision *d)
{
    struct pn_broker_request r = good_req();
    if (ip)
        inet_pton(AF_INET, ip, r.ip);
    if (uplink)
        strcpy(r.uplink, uplink);
    if (mac)
        memcpy(r.mac, mac, 6);
    return pnd_policy_decide(&cfg, p, &r, leases, 8, NULL, 0, d);
}

static void take(int slot, uint32_t uid, uint32_t ip, const uint8_t *mac)
{
    leases[slot].id = (uint32_t)slot + 1;
    leases[slot].uid = uid;
    leases[slot].ip = ip;
    memcpy(leases[slot].mac, mac, 6);
}

static void test_policy(void **state)
{
    (void)state;
    struct pnd_decision d;
    struct pnd_peer alice = peer(1000, 1000), bob = peer(2000, 2000), carol = peer(3000, 3000);
    carol.groups[0] = 50;
    carol.ngroups = 1;
    /* No rule: denied. */
    assert_int_equal(decide(&bob, NULL, NULL, NULL, &d), PN_BROKER_DENIED);
    /* Any address: the first usable one (.0 network and .1 gateway skipped). */
    assert_int_equal(decide(&alice, NULL, NULL, NULL, &d), PN_BROKER_OK);
    assert_int_equal(d.ip, 0x0a000002);
    assert_int_equal(d.pool, 0);
    const uint8_t m2[6] = {0x02, 0x50, 10, 0, 0, 2};
    assert_memory_equal(d.mac, m2, 6);
    /* Addresses outside the user's pools, the gateway, the network address. */
    assert_int_equal(decide(&alice, "10.1.0.5", NULL, NULL, &d), PN_BROKER_DENIED);
    assert_int_equal(decide(&alice, "192.168.1.1", NULL, NULL, &d), PN_BROKER_DENIED);
    assert_int_equal(decide(&alice, "10.0.0.1", NULL, NULL, &d), PN_BROKER_ADDR_IN_USE);
    assert_int_equal(decide(&alice, "10.0.0.0", NULL, NULL, &d), PN_BROKER_ADDR_IN_USE);
    /* Uplink filter. */
    assert_int_equal(decide(&alice, NULL, "br1", NULL, &d), PN_BROKER_DENIED);
    assert_int_equal(decide(&alice, NULL, "br0", NULL, &d), PN_BROKER_OK);
    /* MAC policy: pool a assigns, so a requested MAC is refused. */
    const uint8_t want[6] = {0x02, 0xaa, 0, 0, 0, 9};
    assert_int_equal(decide(&alice, NULL, NULL, want, &d), PN_BROKER_MAC_DENIED);
    /* Group rule (supplementary group) and client MAC within the prefix. */
    assert_int_equal(decide(&carol, "10.1.0.5", NULL, want, &d), PN_BROKER_OK);
    assert_memory_equal(d.mac, want, 6);
    const uint8_t outside[6] = {0x02, 0xab, 0, 0, 0, 9}, mcast[6] = {0x03, 0xaa, 0, 0, 0, 9};
    assert_int_equal(decide(&carol, "10.1.0.5", NULL, outside, &d), PN_BROKER_MAC_DENIED);
    assert_int_equal(decide(&carol, "10.1.0.5", NULL, mcast, &d), PN_BROKER_MAC_DENIED);
    /* In use: another user's address; the same address twice; a MAC in use. */
    take(0, 3000, 0x0a010005, want);
    assert_int_equal(decide(&carol, "10.1.0.5", NULL, want, &d), PN_BROKER_ADDR_IN_USE);
    assert_int_equal(decide(&carol, NULL, NULL, want, &d), PN_BROKER_POOL_EXHAUSTED);
    take(1, 1000, 0x0a000002, m2);
    assert_int_equal(decide(&alice, "10.0.0.2", NULL, NULL, &d), PN_BROKER_ADDR_IN_USE);
    assert_int_equal(decide(&alice, NULL, NULL, NULL, &d), PN_BROKER_OK);
    assert_int_equal(d.ip, 0x0a000003);
    /* .3 is the last usable one in a /24-limited range 10.0.0.0-3 -> exhausted after it. */
    const uint8_t m3[6] = {0x02, 0x50, 10, 0, 0, 3};
    take(2, 4000, 0x0a000003, m3);
    assert_int_equal(decide(&alice, NULL, NULL, NULL, &d), PN_BROKER_POOL_EXHAUSTED);
    /* Per-user limit: alice holds 1, give her a second -> limit. */
    take(3, 1000, 0x0b000001, (uint8_t[6]){2, 0, 0, 0, 0, 1});
    assert_int_equal(decide(&alice, NULL, NULL, NULL, &d), PN_BROKER_LIMIT);
}

static void test_skip(void **state)
{
    (void)state;
    struct pnd_decision d;
    struct pnd_peer alice = peer(1000, 1000);
    struct pn_broker_request r = good_req();
    uint32_t skip[1] = {0x0a000002};
    assert_int_equal(pnd_policy_decide(&cfg, &alice, &r, leases, 8, skip, 1, &d), PN_BROKER_OK);
    assert_int_equal(d.ip, 0x0a000003);
    inet_pton(AF_INET, "10.0.0.2", r.ip);
    assert_int_equal(pnd_policy_decide(&cfg, &alice, &r, leases, 8, skip, 1, &d),
                     PN_BROKER_ADDR_IN_USE);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(pn_broker_status_str(PN_BROKER_DENIED), "denied by policy");
    assert_string_equal(pn_broker_status_str(PN_BROKER_ADDR_IN_USE), "address in use");
    assert_string_equal(pn_broker_status_str(PN_BROKER_POOL_EXHAUSTED), "pool exhausted");
    assert_string_equal(pn_broker_status_str(PN_BROKER_BAD_REQUEST), "bad request");
    assert_string_equal(pn_broker_status_str(999), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_random),
        cmocka_unit_test_setup(test_policy, setup),
        cmocka_unit_test_setup(test_skip, setup),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
