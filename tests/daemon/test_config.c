/* test_config.c — unit tests of the plebnetd.conf parser (daemon/config.c): a full valid
 * file, defaults, and malformed files whose errors must name file:line and the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "pnd.h"

static struct pnd_config cfg;
static char err[512];

static const char *good = "# sample\n"
                          "socket /run/test/pnd.sock\n"
                          "user nobody\n"
                          "max-leases-per-user 3\n"
                          "max-connections 100\n"
                          "uplink br0\n"
                          "uplink br1\n"
                          "pool lab {\n"
                          "    uplink br0\n"
                          "    range 192.0.2.100-192.0.2.110  # comment\n"
                          "    range 192.0.2.128/28\n"
                          "    address 192.0.2.50\n"
                          "    prefix 24\n"
                          "    gateway 192.0.2.1\n"
                          "    mtu 1400\n"
                          "    mac client 02:50:00:00:00:00/16\n"
                          "}\n"
                          "pool guest{\n"
                          "    uplink br1\n"
                          "    address 198.51.100.7\n"
                          "    prefix 32\n"
                          "}\n"
                          "allow uid 1000 pool lab\n"
                          "allow gid 100 pool guest\n"
                          "allow user root pool lab\n"
                          "allow any pool guest\n";

static void test_good(void **state)
{
    (void)state;
    assert_int_equal(pnd_config_parse("t.conf", good, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.socket_path, "/run/test/pnd.sock");
    assert_int_equal(cfg.max_leases_per_user, 3);
    assert_int_equal(cfg.max_connections, 100);
    assert_int_equal(cfg.nuplinks, 2);
    assert_int_equal(cfg.npools, 2);
    const struct pnd_pool *p = &cfg.pools[0];
    assert_string_equal(p->name, "lab");
    assert_string_equal(p->uplink, "br0");
    assert_int_equal(p->nranges, 3);
    assert_int_equal(p->ranges[0].first, 0xc0000264);
    assert_int_equal(p->ranges[0].last, 0xc000026e);
    assert_int_equal(p->ranges[1].first, 0xc0000280);
    assert_int_equal(p->ranges[1].last, 0xc000028f);
    assert_int_equal(p->ranges[2].first, p->ranges[2].last);
    assert_int_equal(p->prefix, 24);
    assert_int_equal(p->gateway, 0xc0000201);
    assert_int_equal(p->mtu, 1400);
    assert_int_equal(p->mac_mode, PND_MAC_CLIENT);
    assert_int_equal(p->mac_prefix_len, 16);
    assert_int_equal(cfg.pools[1].mac_mode, PND_MAC_ASSIGN);
    assert_int_equal(cfg.pools[1].mtu, 1500);
    assert_int_equal(cfg.nrules, 4);
    assert_int_equal(cfg.rules[0].kind, PND_RULE_UID);
    assert_int_equal(cfg.rules[0].id, 1000);
    assert_int_equal(cfg.rules[1].kind, PND_RULE_GID);
    assert_int_equal(cfg.rules[1].pool, 1);
    assert_int_equal(cfg.rules[2].id, 0);
    assert_int_equal(cfg.rules[3].kind, PND_RULE_ANY);
}

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(pnd_config_parse("d.conf", "uplink br0\n", &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.socket_path, PN_BROKER_SOCKET);
    assert_string_equal(cfg.user, "nobody");
    assert_int_equal(cfg.max_leases_per_user, 4);
    assert_int_equal(cfg.npools, 0);
}

/* Each malformed config and the error it must produce (exact "file:line: message" start). */
static const struct {
    const char *text, *want;
} bad[] = {
    {"", "b.conf: no uplink declared"},
    {"uplink br0\nfrobnicate 1\n", "b.conf:2: unknown keyword 'frobnicate'"},
    {"uplink br0\nuplink br0\n", "b.conf:2: uplink 'br0' declared twice"},
    {"uplink bad/name\n", "b.conf:1: invalid interface name 'bad/name'"},
    {"uplink abcdefghijklmnopq\n", "b.conf:1: invalid interface name"},
    {"uplink pnd00000001\n", "b.conf:1: uplink 'pnd00000001' uses the daemon's reserved prefix"},
    {"uplink br0\nmax-leases-per-user 0\n", "b.conf:2: invalid max-leases-per-user '0'"},
    {"uplink br0\nmax-leases-per-user 12x\n", "b.conf:2: invalid max-leases-per-user '12x'"},
    {"uplink br0\nmax-connections -1\n", "b.conf:2: invalid max-connections '-1'"},
    {"uplink br0\nsocket relative/path\n", "b.conf:2: socket needs an absolute path"},
    {"uplink br0\nuser no-such-user-xyz\n", "b.conf:2: unknown user 'no-such-user-xyz'"},
    {"uplink br0\npool a {\n uplink br9\n}\n", "b.conf:3: uplink 'br9' is not declared"},
    {"uplink br0\npool a {\n uplink br0\n range 10.0.0.1\n}\n",
     "b.conf:4: invalid range '10.0.0.1'"},
    {"uplink br0\npool a {\n uplink br0\n range 10.0.0.9-10.0.0.1\n}\n",
     "b.conf:4: range '10.0.0.9-10.0.0.1' ends before it starts"},
    {"uplink br0\npool a {\n uplink br0\n range 10.0.0.1/24\n}\n",
     "b.conf:4: range '10.0.0.1/24' has host bits set"},
    {"uplink br0\npool a {\n uplink br0\n range 10.0.0.0/33\n}\n",
     "b.conf:4: invalid range '10.0.0.0/33'"},
    {"uplink br0\npool a {\n uplink br0\n address 10.0.0.256\n}\n",
     "b.conf:4: invalid IPv4 address '10.0.0.256'"},
    {"uplink br0\npool a {\n uplink br0\n address 10.0.0.5\n}\n",
     "b.conf:5: pool 'a' has no prefix length"},
    {"uplink br0\npool a {\n uplink br0\n prefix 24\n}\n", "b.conf:5: pool 'a' has no addresses"},
    {"uplink br0\npool a {\n address 10.0.0.5\n prefix 24\n}\n",
     "b.conf:5: pool 'a' has no uplink"},
    {"uplink br0\npool a {\n uplink br0\n address 10.0.0.5\n prefix 33\n}\n",
     "b.conf:5: invalid prefix length '33'"},
    {"uplink br0\npool a {\n uplink br0\n address 10.0.0.5\n address 10.0.1.5\n prefix 24\n}\n",
     "b.conf:7: pool 'a': addresses"},
    {"uplink br0\npool a {\n uplink br0\n address 10.0.0.5\n prefix 24\n gateway 10.0.1.1\n}\n",
     "b.conf:7: pool 'a': gateway 10.0.1.1 is outside 10.0.0.0/24"},
    {"uplink br0\npool a {\n uplink br0\n address 10.0.0.5\n prefix 24\n mtu 100000\n}\n",
     "b.conf:6: invalid mtu '100000'"},
    {"uplink br0\npool a {\n uplink br0\n mac client 01:00:00:00:00:00/8\n}\n",
     "b.conf:4: MAC prefix '01:00:00:00:00:00/8' is a multicast prefix"},
    {"uplink br0\npool a {\n uplink br0\n mac client 00:50:00:00:00:00/16\n}\n",
     "b.conf:4: MAC prefix '00:50:00:00:00:00/16' is not locally administered"},
    {"uplink br0\npool a {\n uplink br0\n mac client 02:50:00:00:00:01/16\n}\n",
     "b.conf:4: MAC prefix '02:50:00:00:00:01/16' has bits set past /16"},
    {"uplink br0\npool a {\n uplink br0\n mac client 02:5g:00:00:00:00/16\n}\n",
     "b.conf:4: invalid MAC prefix"},
    {"uplink br0\npool a {\n uplink br0\n mac sometimes\n}\n", "b.conf:4: usage: mac assign"},
    {"uplink br0\npool a {\n uplink br0\n address 10.0.0.5\n prefix 24\n mac assign "
     "02:50:00:00:00:00/24\n}\n",
     "b.conf:7: pool 'a': 'mac assign' prefix must be /16 or shorter"},
    {"uplink br0\npool a {\n uplink br0\n colour red\n}\n",
     "b.conf:4: unknown pool keyword 'colour'"},
    {"uplink br0\npool a {\n uplink br0\n address 10.0.0.5\n prefix 24\n",
     "b.conf:2: pool 'a' is not closed"},
    {"uplink br0\n}\n", "b.conf:2: '}' without a matching 'pool NAME {'"},
    {"uplink br0\npool a\n", "b.conf:2: usage: pool NAME {"},
    {"uplink br0\npool a {\n uplink br0\n address 10.0.0.5\n prefix 24\n}\npool a {\n",
     "b.conf:7: pool 'a' defined twice"},
    {"uplink br0\nallow uid 5 pool nope\n", "b.conf:2: unknown pool 'nope'"},
    {"uplink br0\nallow wizard 5 pool nope\n", "b.conf:2: allow: expected user, uid, group"},
    {"uplink br0\nallow uid x pool a\n", "b.conf:2: invalid uid 'x'"},
    {"uplink br0\nallow user no-such-user-xyz pool a\n", "b.conf:2: unknown user"},
    {"uplink br0\nallow group no-such-group-xyz pool a\n", "b.conf:2: unknown group"},
    {"uplink br0\nallow uid 5 pool\n", "b.conf:2: usage: allow"},
    {"uplink br0\nuplink\x01x\n", "b.conf:2: unexpected control character (0x01)"},
};

static void test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        int r = pnd_config_parse("b.conf", bad[i].text, &cfg, err, sizeof(err));
        if (r != -1 || strncmp(err, bad[i].want, strlen(bad[i].want)))
            fail_msg("case %zu: got %d '%s', want '%s'", i, r, err, bad[i].want);
    }
}

static void test_long_line(void **state)
{
    (void)state;
    char *t = malloc(5000);
    memset(t, 'a', 4999);
    t[4999] = 0;
    assert_int_equal(pnd_config_parse("l.conf", t, &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "l.conf:1: line too long (at most 1023 bytes)");
    free(t);
}

/* Random bytes never crash the parser and always either parse or name a line. */
static void test_random(void **state)
{
    (void)state;
    static const char *words[] = {
        "uplink",   "br0",         "pool",   "a",  "{",     "}",   "range", "address",
        "10.0.0.1", "10.0.0.0/24", "prefix", "24", "allow", "uid", "1",     "any",
        "mac",      "client",      "assign", "\n", "\n",    "#",   "mtu"};
    srand(1);
    for (int n = 0; n < 20000; n++) {
        char t[400] = "";
        int k = rand() % 30;
        for (int i = 0; i < k; i++) {
            strcat(t, words[rand() % (int)(sizeof(words) / sizeof(words[0]))]);
            strcat(t, rand() % 4 ? " " : "\n");
        }
        if (rand() % 3 == 0)
            t[rand() % 399] = (char)(rand() % 255 + 1);
        err[0] = 0;
        int r = pnd_config_parse("r.conf", t, &cfg, err, sizeof(err));
        if (r != 0)
            assert_true(!strncmp(err, "r.conf:", 7));
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    assert_int_equal(pnd_config_load("/nonexistent/plebnetd.conf", &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/plebnetd.conf: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),   cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bad),    cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_random), cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
