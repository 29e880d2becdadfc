/* tests/tools/test_linkspec.c — the shared --link/--addr/--gw/--mac/--pcap syntax and the
 * PLEBNET_* environment: good and bad specifications (the error names the bad part), the
 * command line winning over the environment, and opening the links (vxlan on 127.0.0.1).
 * The CLI sources are not a library, so this test compiles them in. */
#define _GNU_SOURCE /* ppoll, in the included linkspec.c */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "../../tools/plebnet/cli.c"
#include "../../tools/plebnet/linkspec.c"

static void clear_env(void)
{
    for (int i = 0; i < 5; i++)
        unsetenv(env_names[i]);
}

static void test_vxlan_good(void **state)
{
    struct linkspec ls;
    char err[256];
    linkspec_init(&ls);
    assert_int_equal(linkspec_parse_link(&ls, "vxlan:192.0.2.1", err, sizeof(err)), 0);
    assert_int_equal(ls.kind, LINKSPEC_VXLAN);
    assert_int_equal(ls.vx.n_remotes, 1);
    assert_int_equal(ls.vx.remotes[0].addr, PN_IP4(192, 0, 2, 1));
    assert_int_equal(ls.vx.remotes[0].port, 4789);
    assert_int_equal(ls.vx.vni, 1);
    assert_int_equal(ls.vx.local.addr, 0);
    assert_int_equal(ls.vx.local.port, 4789);
    assert_int_equal(ls.vx.underlay_mtu, 1500);

    assert_int_equal(linkspec_parse_link(&ls,
                                         "vxlan:192.0.2.1:5000,192.0.2.2,remote=192.0.2.3:7,"
                                         "local=10.0.0.1:0,vni=16777215,mtu=9000",
                                         err, sizeof(err)),
                     0);
    assert_int_equal(ls.vx.n_remotes, 3);
    assert_int_equal(ls.vx.remotes[0].port, 5000);
    assert_int_equal(ls.vx.remotes[1].port, 4789);
    assert_int_equal(ls.vx.remotes[2].port, 7);
    assert_int_equal(ls.vx.local.addr, PN_IP4(10, 0, 0, 1));
    assert_int_equal(ls.vx.local.port, 0);
    assert_int_equal(ls.vx.vni, 0xffffff);
    assert_int_equal(ls.vx.underlay_mtu, 9000);
    /* local without a port keeps 4789; a new --link replaces the old one entirely. */
    assert_int_equal(linkspec_parse_link(&ls, "vxlan:192.0.2.9,local=127.0.0.1", err, sizeof(err)),
                     0);
    assert_int_equal(ls.vx.n_remotes, 1);
    assert_int_equal(ls.vx.local.port, 4789);
    assert_int_equal(ls.vx.vni, 1);
}

static void test_other_kinds(void **state)
{
    struct linkspec ls;
    char err[256];
    linkspec_init(&ls);
    assert_int_equal(linkspec_parse_link(&ls, "loop", err, sizeof(err)), 0);
    assert_int_equal(ls.kind, LINKSPEC_LOOP);
    assert_int_equal(linkspec_parse_link(&ls, "tap:tap0", err, sizeof(err)), 0);
    assert_int_equal(ls.kind, LINKSPEC_TAP);
    assert_string_equal(ls.ifname, "tap0");
    assert_int_equal(linkspec_parse_link(&ls, "broker", err, sizeof(err)), 0);
    assert_int_equal(ls.kind, LINKSPEC_BROKER);
    assert_string_equal(ls.broker, PN_BROKER_SOCKET);
    assert_int_equal(linkspec_parse_link(&ls, "broker:/tmp/b.sock", err, sizeof(err)), 0);
    assert_string_equal(ls.broker, "/tmp/b.sock");
}

/* Each bad spec fails, and the one-line error contains the given fragment. */
static void test_bad_links(void **state)
{
    static const char *const cases[][2] = {
        {"", "unknown link type ''"},
        {"ethernet:eth0", "unknown link type 'ethernet'"},
        {"vxlan", "no remote"},
        {"vxlan:", "no remote"},
        {"vxlan:1.2.3", "bad remote address '1.2.3'"},
        {"vxlan:1.2.3.256", "bad remote address '1.2.3.256'"},
        {"vxlan:0.0.0.0", "0.0.0.0"},
        {"vxlan:1.2.3.4:0", "bad remote port '0'"},
        {"vxlan:1.2.3.4:70000", "bad remote port '70000'"},
        {"vxlan:1.2.3.4:", "bad remote port ''"},
        {"vxlan:224.0.0.1", "not unicast"},
        {"vxlan:1.2.3.4,vni=16777216", "bad vni '16777216'"},
        {"vxlan:1.2.3.4,vni=x", "bad vni 'x'"},
        {"vxlan:1.2.3.4,vni=1,vni=2", "vni= given twice"},
        {"vxlan:1.2.3.4,mtu=100", "bad underlay mtu '100'"},
        {"vxlan:1.2.3.4,colour=red", "unknown parameter 'colour'"},
        {"vxlan:1.2.3.4,,vni=1", "empty item"},
        {"vxlan:1.2.3.4,", "empty item"},
        {"vxlan:local=1.2.3.4:5", "no remote"},
        {"vxlan:1.2.3.4,local=1.2.3:5", "bad local address '1.2.3'"},
        {"vxlan:1.2.3.4,local=1.2.3.4:x", "bad local port 'x'"},
        {"tap", "no interface name"},
        {"tap:", "no interface name"},
        {"tap:a/b", "bad interface name 'a/b'"},
        {"tap:0123456789abcdef", "bad interface name"},
        {"loop:x", "loop: takes no parameters"},
        {"broker:", "empty socket path"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct linkspec ls;
        char err[256] = "";
        linkspec_init(&ls);
        int r = linkspec_parse_link(&ls, cases[i][0], err, sizeof(err));
        if (r != -1 || !strstr(err, cases[i][1]) || strchr(err, '\n'))
            fail_msg("'%s': got %d '%s', want an error containing '%s'", cases[i][0], r, err,
                     cases[i][1]);
        assert_int_equal(ls.kind, LINKSPEC_NONE);
    }
}

static void test_iface_options(void **state)
{
    struct linkspec ls;
    char err[256];
    linkspec_init(&ls);
    assert_int_equal(linkspec_option(&ls, 'c', "x", err, sizeof(err)), 0); /* not ours */
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_ADDR, "10.77.0.2/16", err, sizeof(err)), 1);
    assert_int_equal(ls.addr, PN_IP4(10, 77, 0, 2));
    assert_int_equal(ls.prefix_len, 16);
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_ADDR, "10.77.0.3", err, sizeof(err)), 1);
    assert_int_equal(ls.prefix_len, 24);
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_GW, "10.77.0.1", err, sizeof(err)), 1);
    assert_int_equal(ls.gw, PN_IP4(10, 77, 0, 1));
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_MAC, "02:aa:bb:cc:dd:ee", err, sizeof(err)),
                     1);
    assert_int_equal(ls.mac.b[5], 0xee);
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_PCAP, "/tmp/x.pcap", err, sizeof(err)), 1);
    assert_string_equal(ls.pcap, "/tmp/x.pcap");

    static const struct {
        int opt;
        const char *arg, *want;
    } bad[] = {
        {LINKSPEC_OPT_ADDR, "10.0.0.1/33", "--addr: '10.0.0.1/33' is not A.B.C.D/NN"},
        {LINKSPEC_OPT_ADDR, "10.0.0", "--addr: '10.0.0' is not"},
        {LINKSPEC_OPT_ADDR, "10.0.0.0/24", "network or broadcast"},
        {LINKSPEC_OPT_ADDR, "10.0.0.255/24", "network or broadcast"},
        {LINKSPEC_OPT_ADDR, "127.0.0.5/8", "not a usable host address"},
        {LINKSPEC_OPT_ADDR, "224.1.1.1/24", "not a usable host address"},
        {LINKSPEC_OPT_GW, "10.0.0", "--gw: '10.0.0' is not A.B.C.D"},
        {LINKSPEC_OPT_GW, "0.0.0.0", "--gw: '0.0.0.0' is not a usable"},
        {LINKSPEC_OPT_MAC, "02:00:00:00:00", "--mac: '02:00:00:00:00' is not"},
        {LINKSPEC_OPT_MAC, "01:00:5e:00:00:01", "not a unicast MAC"},
        {LINKSPEC_OPT_MAC, "00:00:00:00:00:00", "not a unicast MAC"},
        {LINKSPEC_OPT_PCAP, "", "--pcap: empty file name"},
        {LINKSPEC_OPT_LINK, "vxlan:1.2.3.4,vni=-1",
         "--link 'vxlan:1.2.3.4,vni=-1': vxlan: bad vni"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char e[256] = "";
        int r = linkspec_option(&ls, bad[i].opt, bad[i].arg, e, sizeof(e));
        if (r != -1 || !strstr(e, bad[i].want))
            fail_msg("'%s': got %d '%s', want '%s'", bad[i].arg, r, e, bad[i].want);
    }
}

static void test_env_and_precedence(void **state)
{
    struct linkspec ls;
    char err[256];
    clear_env();
    /* Nothing given at all. */
    linkspec_init(&ls);
    assert_int_equal(linkspec_finish(&ls, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no link"));
    assert_non_null(strstr(err, "PLEBNET_LINK"));
    /* The environment alone. */
    setenv("PLEBNET_LINK", "vxlan:192.0.2.1,vni=42", 1);
    setenv("PLEBNET_ADDR", "10.1.1.1/16", 1);
    setenv("PLEBNET_GW", "10.1.0.1", 1);
    setenv("PLEBNET_MAC", "02:00:00:00:00:99", 1);
    setenv("PLEBNET_PCAP", "/tmp/env.pcap", 1);
    linkspec_init(&ls);
    assert_int_equal(linkspec_finish(&ls, err, sizeof(err)), 0);
    assert_int_equal(ls.kind, LINKSPEC_VXLAN);
    assert_int_equal(ls.vx.vni, 42);
    assert_int_equal(ls.addr, PN_IP4(10, 1, 1, 1));
    assert_int_equal(ls.prefix_len, 16);
    assert_int_equal(ls.gw, PN_IP4(10, 1, 0, 1));
    assert_int_equal(ls.mac.b[5], 0x99);
    assert_string_equal(ls.pcap, "/tmp/env.pcap");
    /* The command line wins, field by field. */
    linkspec_init(&ls);
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_LINK, "vxlan:192.0.2.7", err, sizeof(err)),
                     1);
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_ADDR, "10.2.2.2/24", err, sizeof(err)), 1);
    assert_int_equal(linkspec_finish(&ls, err, sizeof(err)), 0);
    assert_int_equal(ls.vx.remotes[0].addr, PN_IP4(192, 0, 2, 7));
    assert_int_equal(ls.vx.vni, 1);
    assert_int_equal(ls.addr, PN_IP4(10, 2, 2, 2));
    assert_int_equal(ls.gw, PN_IP4(10, 1, 0, 1)); /* not on the command line: from env */
    /* A bad variable is reported by name, unless the command line overrides it. */
    setenv("PLEBNET_LINK", "vxlan:1.2.3", 1);
    linkspec_init(&ls);
    assert_int_equal(linkspec_finish(&ls, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "PLEBNET_LINK 'vxlan:1.2.3': vxlan: bad remote address"));
    linkspec_init(&ls);
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_LINK, "vxlan:192.0.2.7", err, sizeof(err)),
                     1);
    assert_int_equal(linkspec_finish(&ls, err, sizeof(err)), 0);
    setenv("PLEBNET_ADDR", "nonsense", 1);
    linkspec_init(&ls);
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_LINK, "vxlan:192.0.2.7", err, sizeof(err)),
                     1);
    assert_int_equal(linkspec_finish(&ls, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "PLEBNET_ADDR: 'nonsense'"));
    /* Empty variables count as unset. */
    clear_env();
    setenv("PLEBNET_LINK", "", 1);
    linkspec_init(&ls);
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_LINK, "loop", err, sizeof(err)), 1);
    assert_int_equal(linkspec_finish(&ls, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no address"));
    clear_env();
}

static void test_open(void **state)
{
    struct linkspec ls;
    struct pn_stack_config cfg;
    struct pn_link *l, *inner;
    char err[256];
    clear_env();
    linkspec_init(&ls);
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_LINK,
                                     "vxlan:127.0.0.1:9,local=127.0.0.1:0,vni=5", err, sizeof(err)),
                     1);
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_ADDR, "10.3.0.2/24", err, sizeof(err)), 1);
    assert_int_equal(linkspec_finish(&ls, err, sizeof(err)), 0);
    pn_stack_config_init(&cfg);
    assert_int_equal(linkspec_open_ex(&ls, &l, &inner, &cfg, err, sizeof(err)), 0);
    assert_ptr_equal(l, inner);
    assert_true(pn_link_is_vxlan(l));
    assert_int_equal(l->caps.mtu, 1450);
    assert_int_equal(cfg.addr, PN_IP4(10, 3, 0, 2));
    assert_int_equal(cfg.prefix_len, 24);
    assert_int_equal(cfg.gateway, 0);
    /* RFC 7042 §2.1: locally administered (U/L set), unicast (I/G clear). */
    assert_int_equal(cfg.mac.b[0] & 3, 2);
    pn_link_destroy(l);
    /* The whole stack, wrapped in a pcap writer. */
    char path[] = "/tmp/pn_linkspec_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(linkspec_option(&ls, LINKSPEC_OPT_PCAP, path, err, sizeof(err)), 1);
    struct linkstack st;
    assert_int_equal(linkstack_open(&ls, &st, err, sizeof(err)), 0);
    assert_ptr_not_equal(st.link, st.inner);
    assert_true(pn_link_is_vxlan(st.inner));
    assert_int_equal(linkstack_wait(&st, cli_now() + PN_MS(5), NULL, 0), 0);
    linkstack_close(&st);
    unlink(path);
    /* Links that cannot be opened here say so. */
    static const char *const unsupported[][2] = {
        {"loop", "only 'plebnet demo'"},
        {"tap:tap0", "not supported yet"},
    };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(linkspec_parse_link(&ls, unsupported[i][0], err, sizeof(err)), 0);
        assert_int_equal(linkspec_open(&ls, &l, &cfg, err, sizeof(err)), PN_ENOTSUP);
        assert_non_null(strstr(err, unsupported[i][1]));
    }
    /* A broker link whose daemon is not there says so and names the socket. */
    assert_int_equal(linkspec_parse_link(&ls, "broker:/nonexistent/plebnetd.sock", err,
                                         sizeof(err)), 0);
    assert_int_equal(linkspec_open(&ls, &l, &cfg, err, sizeof(err)), PN_EIO);
    assert_non_null(strstr(err, "broker"));
    /* An unwritable pcap file, and a port already taken. */
    assert_int_equal(
        linkspec_parse_link(&ls, "vxlan:127.0.0.1:9,local=127.0.0.1:0", err, sizeof(err)), 0);
    assert_int_equal(
        linkspec_option(&ls, LINKSPEC_OPT_PCAP, "/nonexistent/x.pcap", err, sizeof(err)), 1);
    assert_true(linkspec_open(&ls, &l, &cfg, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "--pcap: cannot write '/nonexistent/x.pcap'"));
    ls.have_pcap = false;
    assert_int_equal(linkspec_open(&ls, &l, &cfg, err, sizeof(err)), 0);
    struct pn_vxlan_info info;
    pn_vxlan_get_info(l, &info);
    ls.vx.local = info.local;
    struct pn_link *l2;
    assert_int_equal(linkspec_open(&ls, &l2, &cfg, err, sizeof(err)), PN_EADDRINUSE);
    assert_non_null(strstr(err, "vxlan: local 127.0.0.1:"));
    pn_link_destroy(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vxlan_good),         cmocka_unit_test(test_other_kinds),
        cmocka_unit_test(test_bad_links),          cmocka_unit_test(test_iface_options),
        cmocka_unit_test(test_env_and_precedence), cmocka_unit_test(test_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
