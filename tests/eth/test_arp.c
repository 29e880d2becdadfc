/* tests/eth/test_arp.c — the ARP layer (src/eth/arp.c): exact replies, RFC 826 learning
 * rules, conflicts, announcements, resolution retries/failure, queue bound, stale refresh by
 * unicast poll, eviction, static entries. Drives one stack through the inject link. */
#include <string.h>
#include "testutil.h"
#include "core/stack.h"
#include "core/util.h"
#include "wire/bytes.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"

#define ADDR_C PN_IP4(10, 0, 0, 3)
static const struct pn_mac MAC_C = {{0x02, 0, 0, 0, 0, 0x03}};
static const struct pn_mac MAC_ZERO = {{0}};

/* An Ethernet + ARP frame (42 bytes, unpadded). */
static size_t arp_frame(uint8_t *b, const struct pn_mac *edst, const struct pn_mac *esrc,
                        uint16_t op, const struct pn_mac *sha, uint32_t spa,
                        const struct pn_mac *tha, uint32_t tpa)
{
    struct pn_eth_repr e = {.dst = *edst, .src = *esrc, .ethertype = PN_ETHERTYPE_ARP};
    pn_eth_emit(&e, b);
    struct pn_arp_repr a = {.op = op, .sha = *sha, .spa = spa, .tha = *tha, .tpa = tpa};
    pn_arp_emit(&a, b + PN_ETH_HDR_LEN);
    return PN_ETH_HDR_LEN + PN_ARP_LEN;
}

/* The exact padded frame we expect on the wire for an ARP packet from stack A. */
static size_t expect_arp(uint8_t *b, const struct pn_mac *edst, uint16_t op,
                         const struct pn_mac *tha, uint32_t tpa)
{
    memset(b, 0, 60);
    arp_frame(b, edst, &T_MAC_A, op, &T_MAC_A, T_ADDR_A, tha, tpa);
    return 60;
}

static void pop_expect(struct t_one *o, const uint8_t *want, size_t len)
{
    uint8_t got[2048];
    size_t n = t_link_pop(o->link, got, sizeof(got));
    assert_int_equal(n, len);
    assert_memory_equal(got, want, len);
}

struct find {
    uint32_t addr;
    int found;
    struct pn_arp_entry_info info;
    int count;
};
static int find_cb(const struct pn_arp_entry_info *e, void *arg)
{
    struct find *f = arg;
    f->count++;
    if (e->addr == f->addr) {
        f->found = 1;
        f->info = *e;
    }
    return 0;
}
static struct find lookup(struct t_one *o, uint32_t addr)
{
    struct find f = {.addr = addr};
    pn_stack_arp_foreach(o->s, find_cb, &f);
    return f;
}

/* Sends an ICMP echo to dst through IP (and so through ARP), flushing like an API call. */
static int ping(struct t_one *o, uint32_t dst, uint16_t seq)
{
    uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int err = pn_icmp_send_echo(o->s, dst, 0x77, seq, data, sizeof(data), 0, 0);
    pn_stack_flush(o->s);
    return err;
}

/* Checks the popped frame is an IPv4 echo request to dst MAC with sequence seq. */
static void pop_echo(struct t_one *o, const struct pn_mac *dst, uint16_t seq)
{
    uint8_t got[2048];
    size_t n = t_link_pop(o->link, got, sizeof(got));
    assert_true(n >= 14 + 20 + 8);
    assert_memory_equal(got, dst->b, 6);
    assert_int_equal(pn_get_be16(got + 12), PN_ETHERTYPE_IPV4);
    struct pn_icmp_repr r;
    assert_int_equal(pn_icmp_parse(got + 34, 16, &r, true), 0);
    assert_int_equal(r.type, PN_ICMP_ECHO_REQUEST);
    assert_int_equal(r.seq, seq);
}

static void test_reply_exact(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    uint8_t f[64], want[64];
    size_t n = arp_frame(f, &T_MAC_BCAST, &T_MAC_B, PN_ARP_OP_REQUEST, &T_MAC_B, T_ADDR_B,
                         &MAC_ZERO, T_ADDR_A);
    t_one_input(&o, f, n);
    /* RFC 826: swap, our addresses in the sender fields, unicast to the requester;
     * 42 bytes padded with zeros to 60. */
    size_t wn = expect_arp(want, &T_MAC_B, PN_ARP_OP_REPLY, &T_MAC_B, T_ADDR_B);
    assert_int_equal(t_link_sent(o.link), 1);
    pop_expect(&o, want, wn);
    assert_int_equal(t_stat(o.s, "arp_tx_reply"), 1);
    /* We are the target: the sender is learned, REACHABLE. */
    struct find e = lookup(&o, T_ADDR_B);
    assert_true(e.found);
    assert_memory_equal(e.info.mac.b, T_MAC_B.b, 6);
    assert_int_equal(e.info.state, PN_ARP_REACHABLE);
    t_one_fini(&o);
}

static void test_not_for_us_not_learned(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    uint8_t f[64];
    size_t n = arp_frame(f, &T_MAC_BCAST, &T_MAC_B, PN_ARP_OP_REQUEST, &T_MAC_B, T_ADDR_B,
                         &MAC_ZERO, ADDR_C);
    t_one_input(&o, f, n);
    assert_int_equal(t_link_sent(o.link), 0);
    assert_int_equal(t_stat(o.s, "arp_rx_not_for_us"), 1);
    assert_false(lookup(&o, T_ADDR_B).found);
    t_one_fini(&o);
}

static void test_merge_updates_known_sender(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    uint8_t f[64];
    size_t n = arp_frame(f, &T_MAC_BCAST, &T_MAC_B, PN_ARP_OP_REQUEST, &T_MAC_B, T_ADDR_B,
                         &MAC_ZERO, T_ADDR_A);
    t_one_input(&o, f, n);
    t_link_clear(o.link);
    /* B moves to MAC_C and asks for someone else: RFC 826 merge updates the entry even
     * though we are not the target, and nothing is counted as a drop. */
    n = arp_frame(f, &T_MAC_BCAST, &MAC_C, PN_ARP_OP_REQUEST, &MAC_C, T_ADDR_B, &MAC_ZERO, ADDR_C);
    t_one_input(&o, f, n);
    assert_int_equal(t_link_sent(o.link), 0);
    assert_int_equal(t_stat(o.s, "arp_rx_not_for_us"), 0);
    struct find e = lookup(&o, T_ADDR_B);
    assert_true(e.found);
    assert_memory_equal(e.info.mac.b, MAC_C.b, 6);
    t_one_fini(&o);
}

static void test_bad_senders(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    static const struct pn_mac mcast = {{0x01, 0x00, 0x5e, 0, 0, 1}};
    struct {
        const struct pn_mac *sha;
        uint32_t spa;
    } cases[] = {
        {&T_MAC_A, T_ADDR_B},              /* our own MAC */
        {&T_MAC_BCAST, T_ADDR_B},          /* broadcast MAC */
        {&mcast, T_ADDR_B},                /* multicast MAC */
        {&MAC_ZERO, T_ADDR_B},             /* zero MAC */
        {&T_MAC_B, PN_IP4_BROADCAST},      /* limited broadcast */
        {&T_MAC_B, PN_IP4(10, 0, 0, 255)}, /* directed broadcast */
        {&T_MAC_B, PN_IP4(224, 0, 0, 1)},  /* multicast */
        {&T_MAC_B, PN_IP4(127, 0, 0, 1)},  /* loopback */
        {&T_MAC_B, 0},                     /* zero, not a probe for us: reply to B? no */
    };
    for (size_t i = 0; i < PN_ARRAY_LEN(cases); i++) {
        uint8_t f[64];
        /* Requests for our address: a good sender would be learned and answered. The
         * Ethernet source is always B's (the ARP fields are what is judged). */
        size_t n = arp_frame(f, &T_MAC_BCAST, &T_MAC_B, PN_ARP_OP_REQUEST, cases[i].sha,
                             cases[i].spa, &MAC_ZERO, cases[i].spa == 0 ? ADDR_C : T_ADDR_A);
        t_one_input(&o, f, n);
        assert_int_equal(t_stat(o.s, "arp_rx_bad_sender"), i + 1);
        assert_int_equal(t_link_sent(o.link), 0);
        assert_int_equal(lookup(&o, 0).count, 0);
    }
    t_one_fini(&o);
}

static void test_probe_for_our_address_answered(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    uint8_t f[64], want[64];
    /* RFC 5227 §2.1.1 probe: sender IP 0. We answer (unicast) so the prober backs off,
     * with target IP 0, and learn nothing. */
    size_t n =
        arp_frame(f, &T_MAC_BCAST, &T_MAC_B, PN_ARP_OP_REQUEST, &T_MAC_B, 0, &MAC_ZERO, T_ADDR_A);
    t_one_input(&o, f, n);
    size_t wn = expect_arp(want, &T_MAC_B, PN_ARP_OP_REPLY, &T_MAC_B, 0);
    pop_expect(&o, want, wn);
    assert_int_equal(lookup(&o, 0).count, 0);
    t_one_fini(&o);
}

static void test_conflict_defended_rate_limited(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    uint8_t f[64], want[64];
    /* B claims our address in a reply to C. */
    size_t n = arp_frame(f, &MAC_C, &T_MAC_B, PN_ARP_OP_REPLY, &T_MAC_B, T_ADDR_A, &MAC_C, ADDR_C);
    size_t wn = expect_arp(want, &T_MAC_BCAST, PN_ARP_OP_REQUEST, &MAC_ZERO, T_ADDR_A);
    /* (the frame is unicast to C: deliver it to us as broadcast instead) */
    memcpy(f, T_MAC_BCAST.b, 6);
    t_one_input(&o, f, n);
    assert_int_equal(t_stat(o.s, "arp_rx_conflict"), 1);
    /* RFC 5227 §2.4 (b): one announcement in defence. */
    assert_int_equal(t_link_sent(o.link), 1);
    pop_expect(&o, want, wn);
    assert_int_equal(lookup(&o, 0).count, 0); /* nothing changed */
    /* A second conflict within DEFEND_INTERVAL (10 s): counted, not answered. */
    t_one_advance(&o, PN_SEC(9));
    t_one_input(&o, f, n);
    assert_int_equal(t_stat(o.s, "arp_rx_conflict"), 2);
    assert_int_equal(t_link_sent(o.link), 0);
    /* 9.999 s after the last conflict: still quiet; 10 s after: defended again. */
    t_one_advance(&o, PN_SEC(10) - 1);
    t_one_input(&o, f, n);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_advance(&o, PN_SEC(10));
    t_one_input(&o, f, n);
    assert_int_equal(t_link_sent(o.link), 1);
    pop_expect(&o, want, wn);
    assert_int_equal(t_stat(o.s, "arp_tx_gratuitous"), 3); /* + the one at up */
    t_one_fini(&o);
}

static void test_gratuitous_at_up(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    struct t_link *l = t_link_new(0);
    struct pn_stack *s;
    assert_int_equal(pn_stack_new(&cfg, t_link_base(l), PN_SEC(1), &s), 0);
    /* RFC 5227 §2.3: a broadcast request with SPA = TPA = our address, THA zero. */
    uint8_t got[128], want[64];
    size_t wn = expect_arp(want, &T_MAC_BCAST, PN_ARP_OP_REQUEST, &MAC_ZERO, T_ADDR_A);
    assert_int_equal(t_link_sent(l), 1);
    assert_int_equal(t_link_pop(l, got, sizeof(got)), wn);
    assert_memory_equal(got, want, wn);
    pn_stack_free(s);
    /* ... and none when arp_announce is off. */
    cfg.arp_announce = false;
    assert_int_equal(pn_stack_new(&cfg, t_link_base(l), PN_SEC(1), &s), 0);
    assert_int_equal(t_link_sent(l), 0);
    pn_stack_free(s);
    t_link_free(l);
}

static void test_resolve_retries_then_fail(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL); /* arp_retries 3, arp_retry_ms 1000 */
    uint8_t want[64];
    size_t wn = expect_arp(want, &T_MAC_BCAST, PN_ARP_OP_REQUEST, &MAC_ZERO, T_ADDR_B);
    assert_int_equal(ping(&o, T_ADDR_B, 1), 0);
    assert_int_equal(ping(&o, T_ADDR_B, 2), 0);
    /* Request 1 at once, only one for two packets. */
    assert_int_equal(t_link_sent(o.link), 1);
    pop_expect(&o, want, wn);
    struct find e = lookup(&o, T_ADDR_B);
    assert_int_equal(e.info.state, PN_ARP_INCOMPLETE);
    assert_int_equal(e.info.queued, 2);
    /* Request 2 exactly one retry interval later, request 3 one more. */
    t_one_advance(&o, PN_MS(1000) - 1);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_advance(&o, 1);
    assert_int_equal(t_link_sent(o.link), 1);
    pop_expect(&o, want, wn);
    t_one_advance(&o, PN_MS(1000));
    assert_int_equal(t_link_sent(o.link), 1);
    pop_expect(&o, want, wn);
    assert_int_equal(t_stat(o.s, "arp_resolve_failed"), 0);
    /* After the third interval: give up, drop both queued packets, send nothing (no ICMP
     * to ourselves, no fourth request). */
    t_one_advance(&o, PN_MS(1000));
    assert_int_equal(t_link_sent(o.link), 0);
    assert_int_equal(t_stat(o.s, "arp_resolve_failed"), 2);
    assert_int_equal(t_stat(o.s, "arp_tx_request"), 3);
    assert_int_equal(lookup(&o, T_ADDR_B).info.queued, 0);
    /* Hold-down: sends fail at once for one retry interval. */
    assert_int_equal(ping(&o, T_ADDR_B, 3), PN_EHOSTUNREACH);
    assert_int_equal(t_stat(o.s, "arp_resolve_failed"), 3);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_advance(&o, PN_MS(1000));
    assert_false(lookup(&o, T_ADDR_B).found);
    /* Then a fresh resolution starts. */
    assert_int_equal(ping(&o, T_ADDR_B, 4), 0);
    assert_int_equal(t_link_sent(o.link), 1);
    pop_expect(&o, want, wn);
    t_one_fini(&o);
}

static void test_resolve_uses_configured_timing(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.arp_retries = 5;
    cfg.arp_retry_ms = 300;
    struct t_one o;
    t_one_init(&o, &cfg);
    assert_int_equal(ping(&o, T_ADDR_B, 1), 0);
    assert_int_equal(t_link_sent(o.link), 1);
    t_link_clear(o.link);
    for (int i = 2; i <= 5; i++) {
        t_one_advance(&o, PN_MS(300) - 1);
        assert_int_equal(t_link_sent(o.link), 0);
        t_one_advance(&o, 1);
        assert_int_equal(t_link_sent(o.link), 1); /* request i */
        t_link_clear(o.link);
    }
    t_one_advance(&o, PN_MS(300) - 1);
    assert_int_equal(t_stat(o.s, "arp_resolve_failed"), 0);
    t_one_advance(&o, 1);
    assert_int_equal(t_stat(o.s, "arp_resolve_failed"), 1);
    assert_int_equal(t_stat(o.s, "arp_tx_request"), 5);
    assert_int_equal(t_link_sent(o.link), 0);
    /* Hold-down of one retry interval. */
    assert_int_equal(ping(&o, T_ADDR_B, 2), PN_EHOSTUNREACH);
    t_one_advance(&o, PN_MS(300));
    assert_int_equal(ping(&o, T_ADDR_B, 3), 0);
    t_one_fini(&o);
}

static void test_queue_bound_drops_oldest(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.arp_queue_len = 4;
    struct t_one o;
    t_one_init(&o, &cfg);
    for (uint16_t seq = 1; seq <= 6; seq++)
        assert_int_equal(ping(&o, T_ADDR_B, seq), 0);
    assert_int_equal(t_stat(o.s, "arp_queue_dropped"), 2);
    assert_int_equal(lookup(&o, T_ADDR_B).info.queued, 4);
    t_link_clear(o.link);
    /* The reply releases the 4 newest, in order. */
    uint8_t f[64];
    size_t n =
        arp_frame(f, &T_MAC_A, &T_MAC_B, PN_ARP_OP_REPLY, &T_MAC_B, T_ADDR_B, &T_MAC_A, T_ADDR_A);
    t_one_input(&o, f, n);
    assert_int_equal(t_link_sent(o.link), 4);
    for (uint16_t seq = 3; seq <= 6; seq++)
        pop_echo(&o, &T_MAC_B, seq);
    struct find e = lookup(&o, T_ADDR_B);
    assert_int_equal(e.info.state, PN_ARP_REACHABLE);
    assert_int_equal(e.info.queued, 0);
    /* Now sends go straight out. */
    assert_int_equal(ping(&o, T_ADDR_B, 7), 0);
    pop_echo(&o, &T_MAC_B, 7);
    t_one_fini(&o);
}

/* Sends a datagram of len bytes (protocol 253) to B through IP, fragmented at MTU 1500. */
static int send_big(struct t_one *o, uint32_t len, uint8_t fill)
{
    struct pn_pbuf *p = pn_stack_alloc(o->s, len);
    memset(p->data, fill, len);
    struct pn_ip_out out = {.dst = T_ADDR_B, .proto = 253};
    int err = pn_ipv4_output(o->s, p, &out);
    pn_stack_flush(o->s);
    return err;
}

static void test_queue_counts_fragmented_datagram_once(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.arp_queue_len = 2;
    struct t_one o;
    t_one_init(&o, &cfg);
    /* 45 fragments of the largest datagram wait as one datagram, beside a second one. */
    assert_int_equal(send_big(&o, 65515, 0x11), 0);
    assert_int_equal(send_big(&o, 3000, 0x22), 0);
    assert_int_equal(lookup(&o, T_ADDR_B).info.queued, 48);
    assert_int_equal(t_stat(o.s, "arp_queue_dropped"), 0);
    /* A third datagram pushes out the whole (oldest) first one. */
    assert_int_equal(send_big(&o, 3000, 0x33), 0);
    assert_int_equal(t_stat(o.s, "arp_queue_dropped"), 45);
    assert_int_equal(lookup(&o, T_ADDR_B).info.queued, 6);
    t_link_clear(o.link);
    uint8_t f[64];
    size_t n =
        arp_frame(f, &T_MAC_A, &T_MAC_B, PN_ARP_OP_REPLY, &T_MAC_B, T_ADDR_B, &T_MAC_A, T_ADDR_A);
    t_one_input(&o, f, n);
    assert_int_equal(t_link_sent(o.link), 6);
    for (int k = 0; k < 6; k++) {
        uint8_t got[2048];
        size_t len = t_link_pop(o.link, got, sizeof(got));
        assert_true(len > 34);
        assert_int_equal(got[len - 1], k < 3 ? 0x22 : 0x33);
        assert_int_equal(pn_get_be16(got + 14 + 6) & 0x1fff, (k % 3) * 185); /* 8-byte units */
    }
    t_one_fini(&o);
}

/* Resolves B by a reply so the entry is REACHABLE at o->now. */
static void learn_b(struct t_one *o)
{
    uint8_t f[64];
    size_t n = arp_frame(f, &T_MAC_A, &T_MAC_B, PN_ARP_OP_REQUEST, &T_MAC_B, T_ADDR_B, &MAC_ZERO,
                         T_ADDR_A);
    t_one_input(o, f, n);
    t_link_clear(o->link);
}

static void test_stale_unicast_poll(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL); /* reachable 30 s */
    learn_b(&o);
    t_one_advance(&o, PN_MS(30000) - 1);
    assert_int_equal(lookup(&o, T_ADDR_B).info.state, PN_ARP_REACHABLE);
    t_one_advance(&o, 1);
    assert_int_equal(lookup(&o, T_ADDR_B).info.state, PN_ARP_STALE);
    assert_int_equal(t_link_sent(o.link), 0);
    /* First use of the stale entry: the packet goes out at once, with one unicast poll
     * (RFC 1122 §2.3.2.1 mechanism 2) to the cached MAC. */
    uint8_t want[64];
    size_t wn = expect_arp(want, &T_MAC_B, PN_ARP_OP_REQUEST, &MAC_ZERO, T_ADDR_B);
    assert_int_equal(ping(&o, T_ADDR_B, 1), 0);
    assert_int_equal(t_link_sent(o.link), 2);
    pop_expect(&o, want, wn);
    pop_echo(&o, &T_MAC_B, 1);
    /* A second use does not poll again. */
    assert_int_equal(ping(&o, T_ADDR_B, 2), 0);
    assert_int_equal(t_link_sent(o.link), 1);
    pop_echo(&o, &T_MAC_B, 2);
    /* Unanswered: polls 2 and 3 at 1 s intervals, then the entry is deleted. */
    t_one_advance(&o, PN_MS(1000));
    pop_expect(&o, want, wn);
    t_one_advance(&o, PN_MS(1000));
    pop_expect(&o, want, wn);
    assert_true(lookup(&o, T_ADDR_B).found);
    t_one_advance(&o, PN_MS(1000));
    assert_int_equal(t_link_sent(o.link), 0);
    assert_false(lookup(&o, T_ADDR_B).found);
    t_one_fini(&o);
}

static void test_stale_poll_answered(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    learn_b(&o);
    t_one_advance(&o, PN_MS(30000));
    assert_int_equal(ping(&o, T_ADDR_B, 1), 0);
    t_link_clear(o.link);
    uint8_t f[64];
    size_t n =
        arp_frame(f, &T_MAC_A, &T_MAC_B, PN_ARP_OP_REPLY, &T_MAC_B, T_ADDR_B, &T_MAC_A, T_ADDR_A);
    t_one_input(&o, f, n);
    struct find e = lookup(&o, T_ADDR_B);
    assert_int_equal(e.info.state, PN_ARP_REACHABLE);
    assert_int_equal(e.info.updated, o.now);
    t_one_advance(&o, PN_MS(5000)); /* no more polls */
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_fini(&o);
}

static void test_stale_unused_deleted(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.arp_stale_ms = 60000;
    struct t_one o;
    t_one_init(&o, &cfg);
    learn_b(&o);
    t_one_advance(&o, PN_MS(30000));
    assert_int_equal(lookup(&o, T_ADDR_B).info.state, PN_ARP_STALE);
    t_one_advance(&o, PN_MS(60000) - 1);
    assert_true(lookup(&o, T_ADDR_B).found);
    t_one_advance(&o, 1);
    assert_false(lookup(&o, T_ADDR_B).found);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_fini(&o);
}

static void test_eviction_lru(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.arp_cache_size = 4;
    struct t_one o;
    t_one_init(&o, &cfg);
    uint8_t f[64];
    for (int i = 0; i < 4; i++) {
        struct pn_mac m = {{0x02, 0, 0, 0, 1, (uint8_t)(10 + i)}};
        size_t n = arp_frame(f, &T_MAC_BCAST, &m, PN_ARP_OP_REQUEST, &m, PN_IP4(10, 0, 0, 10 + i),
                             &MAC_ZERO, T_ADDR_A);
        t_one_advance(&o, PN_MS(10));
        t_one_input(&o, f, n);
    }
    assert_int_equal(lookup(&o, 0).count, 4);
    /* Use .10 (the oldest): .11 becomes the least recently used. */
    t_one_advance(&o, PN_MS(10));
    assert_int_equal(ping(&o, PN_IP4(10, 0, 0, 10), 1), 0);
    t_link_clear(o.link);
    struct pn_mac m = {{0x02, 0, 0, 0, 1, 99}};
    size_t n = arp_frame(f, &T_MAC_BCAST, &m, PN_ARP_OP_REQUEST, &m, PN_IP4(10, 0, 0, 99),
                         &MAC_ZERO, T_ADDR_A);
    t_one_input(&o, f, n);
    assert_int_equal(lookup(&o, 0).count, 4);
    assert_true(lookup(&o, PN_IP4(10, 0, 0, 99)).found);
    assert_true(lookup(&o, PN_IP4(10, 0, 0, 10)).found);
    assert_false(lookup(&o, PN_IP4(10, 0, 0, 11)).found);
    assert_int_equal(t_stat(o.s, "arp_cache_full"), 0);
    t_one_fini(&o);
}

static void test_cache_full_of_incomplete(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.arp_cache_size = 2;
    struct t_one o;
    t_one_init(&o, &cfg);
    assert_int_equal(ping(&o, PN_IP4(10, 0, 0, 10), 1), 0);
    assert_int_equal(pn_stack_arp_add_static(o.s, PN_IP4(10, 0, 0, 11), &T_MAC_B), 0);
    /* Neither an incomplete nor a static entry may be evicted. */
    assert_int_equal(ping(&o, PN_IP4(10, 0, 0, 12), 1), PN_ENOMEM);
    assert_int_equal(t_stat(o.s, "arp_cache_full"), 1);
    assert_int_equal(pn_stack_arp_add_static(o.s, PN_IP4(10, 0, 0, 13), &T_MAC_B), PN_ENOMEM);
    t_one_fini(&o);
}

static void test_static_entry(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    assert_int_equal(pn_stack_arp_add_static(o.s, 0, &T_MAC_B), PN_EINVAL);
    assert_int_equal(pn_stack_arp_add_static(o.s, T_ADDR_B, &T_MAC_BCAST), PN_EINVAL);
    assert_int_equal(pn_stack_arp_add_static(o.s, T_ADDR_A, &T_MAC_B), PN_EINVAL);
    assert_int_equal(pn_stack_arp_add_static(o.s, T_ADDR_B, &T_MAC_B), 0);
    assert_int_equal(ping(&o, T_ADDR_B, 1), 0);
    assert_int_equal(t_link_sent(o.link), 1); /* no ARP request */
    pop_echo(&o, &T_MAC_B, 1);
    /* ARP cannot change a static entry, and it never expires. */
    uint8_t f[64];
    size_t n =
        arp_frame(f, &T_MAC_A, &MAC_C, PN_ARP_OP_REPLY, &MAC_C, T_ADDR_B, &T_MAC_A, T_ADDR_A);
    t_one_input(&o, f, n);
    t_one_advance(&o, PN_SEC(3600));
    struct find e = lookup(&o, T_ADDR_B);
    assert_int_equal(e.info.state, PN_ARP_STATIC);
    assert_memory_equal(e.info.mac.b, T_MAC_B.b, 6);
    t_one_fini(&o);
}

static void test_malformed(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    uint8_t f[64];
    size_t n = arp_frame(f, &T_MAC_BCAST, &T_MAC_B, PN_ARP_OP_REQUEST, &T_MAC_B, T_ADDR_B,
                         &MAC_ZERO, T_ADDR_A);
    f[14 + 7] = 3; /* op 3 */
    t_one_input(&o, f, n);
    t_one_input(&o, f, 14 + 20); /* truncated (the link did not pad it) */
    assert_int_equal(t_stat(o.s, "arp_rx_malformed"), 2);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_fini(&o);
}

static int a_got_reply(void *arg)
{
    return t_stat(((struct t_pair *)arg)->a, "icmp_rx_echo_reply") == 1;
}

static void test_two_stacks_resolve(void **state)
{
    /* End to end over the loop link: A resolves B, B learns A from the request (it is the
     * target), the echo and its reply go through. */
    struct t_pair p;
    t_pair_init(&p, 0, NULL, NULL);
    assert_int_equal(pn_icmp_send_echo(p.a, T_ADDR_B, 1, 1, (const uint8_t *)"hi", 2, 0, 0), 0);
    pn_stack_flush(p.a);
    assert_true(t_pair_run_until(&p, a_got_reply, &p, PN_SEC(1)));
    assert_int_equal(t_stat(p.a, "arp_tx_request"), 1);
    assert_int_equal(t_stat(p.b, "arp_tx_request"), 0); /* B learned A, asked nothing */
    assert_int_equal(t_stat(p.b, "icmp_tx_echo_reply"), 1);
    t_pair_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_exact),
        cmocka_unit_test(test_not_for_us_not_learned),
        cmocka_unit_test(test_merge_updates_known_sender),
        cmocka_unit_test(test_bad_senders),
        cmocka_unit_test(test_probe_for_our_address_answered),
        cmocka_unit_test(test_conflict_defended_rate_limited),
        cmocka_unit_test(test_gratuitous_at_up),
        cmocka_unit_test(test_resolve_retries_then_fail),
        cmocka_unit_test(test_resolve_uses_configured_timing),
        cmocka_unit_test(test_queue_bound_drops_oldest),
        cmocka_unit_test(test_queue_counts_fragmented_datagram_once),
        cmocka_unit_test(test_stale_unicast_poll),
        cmocka_unit_test(test_stale_poll_answered),
        cmocka_unit_test(test_stale_unused_deleted),
        cmocka_unit_test(test_eviction_lru),
        cmocka_unit_test(test_cache_full_of_incomplete),
        cmocka_unit_test(test_static_entry),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_two_stacks_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
