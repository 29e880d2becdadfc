/* tests/preload/test_dns_wire.c — the shim's DNS codec (preload/dns_wire.c, RFC 1035 §4):
 * text <-> wire names with escapes and the §2.3.4 limits, a golden query byte for byte,
 * golden replies with compression and a CNAME chain, and malformed replies (truncated at
 * every length, pointer loops and forward pointers, over-long names, wrong counts, bad
 * RDATA lengths) that must fail cleanly. Call chain: cmocka -> dns_* (pl_dnswire). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns_wire.h"

static struct dns_name name_of(const char *text)
{
    struct dns_name n;
    assert_int_equal(dns_name_from_text(text, &n, NULL), 0);
    return n;
}

static void assert_text(const struct dns_name *n, const char *want)
{
    char buf[DNS_NAME_TEXT_MAX];
    assert_true(dns_name_to_text(n, buf, sizeof(buf)) >= 0);
    assert_string_equal(buf, want);
}

/* A parsed reply lives on the heap: struct dns_msg is ~34 KB. */
static struct dns_msg *parse_ok(const uint8_t *msg, size_t len)
{
    struct dns_msg *m = malloc(sizeof(*m));
    assert_non_null(m);
    assert_int_equal(dns_parse(msg, len, m), 0);
    return m;
}

static int parse_err(const uint8_t *msg, size_t len)
{
    struct dns_msg *m = malloc(sizeof(*m));
    assert_non_null(m);
    /* A private copy of exactly len bytes, so ASan catches any read past the end. */
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, msg, len);
    int rc = dns_parse(copy, len, m);
    free(copy);
    free(m);
    return rc;
}

static void test_name_text(void **state)
{
    (void)state;
    struct dns_name n;
    bool abs;
    assert_int_equal(dns_name_from_text("www.Example.com", &n, &abs), 0);
    assert_false(abs);
    static const uint8_t want[] = {3,   'w', 'w', 'w', 7,   'E', 'x', 'a', 'm',
                                   'p', 'l', 'e', 3,   'c', 'o', 'm', 0};
    assert_int_equal(n.len, sizeof(want));
    assert_memory_equal(n.wire, want, sizeof(want));
    assert_int_equal(dns_name_labels(&n), 3);
    assert_true(dns_name_is_host(&n));
    assert_text(&n, "www.Example.com");

    struct dns_name m;
    assert_int_equal(dns_name_from_text("WWW.example.COM.", &m, &abs), 0);
    assert_true(abs);
    assert_true(dns_name_equal(&n, &m)); /* RFC 4343: ASCII case-insensitive */
    assert_int_equal(dns_name_from_text("www.example.org", &m, NULL), 0);
    assert_false(dns_name_equal(&n, &m));

    assert_int_equal(dns_name_from_text(".", &n, &abs), 0);
    assert_true(abs);
    assert_int_equal(n.len, 1);
    assert_int_equal(dns_name_labels(&n), 0);
    assert_text(&n, ".");

    /* Escapes (RFC 1035 §5.1) round-trip: a dot inside a label, a backslash, a space. */
    assert_int_equal(dns_name_from_text("a\\.b\\\\c\\032d.e", &n, NULL), 0);
    assert_int_equal(dns_name_labels(&n), 2);
    assert_int_equal(n.wire[0], 7);
    assert_memory_equal(n.wire + 1, "a.b\\c d", 7);
    assert_false(dns_name_is_host(&n));
    assert_text(&n, "a\\.b\\\\c\\032d.e");

    /* Malformed text. */
    const char *bad[] = {"", "..", ".a", "a..b", "a\\", "a\\25", "a\\256", "a\\2x5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dns_name_from_text(bad[i], &n, NULL), DNS_E_NAME);
    assert_int_equal(dns_name_from_text(NULL, &n, NULL), DNS_E_NAME);

    /* Text output into a buffer that is too small. */
    n = name_of("abc.def");
    char small[7];
    assert_int_equal(dns_name_to_text(&n, small, sizeof(small)), DNS_E_SPACE);
    char exact[8];
    assert_int_equal(dns_name_to_text(&n, exact, sizeof(exact)), 7);
}

static void test_name_limits(void **state)
{
    (void)state;
    char text[600];
    struct dns_name n;
    /* RFC 1035 §2.3.4: a label of 63 octets is fine, 64 is not. */
    memset(text, 'a', 63);
    text[63] = '\0';
    assert_int_equal(dns_name_from_text(text, &n, NULL), 0);
    memset(text, 'a', 64);
    text[64] = '\0';
    assert_int_equal(dns_name_from_text(text, &n, NULL), DNS_E_NAME);
    /* 255 octets on the wire: 3 labels of 63 + one of 61 = 4*64 - 2 + root = 255 total. */
    size_t o = 0;
    for (int l = 0; l < 4; l++) {
        int count = l < 3 ? 63 : 61;
        memset(text + o, 'b', (size_t)count);
        o += (size_t)count;
        text[o++] = '.';
    }
    text[o - 1] = '\0';
    assert_int_equal(dns_name_from_text(text, &n, NULL), 0);
    assert_int_equal(n.len, 255);
    /* The same with a trailing dot is still 255. */
    text[o - 1] = '.';
    text[o] = '\0';
    assert_int_equal(dns_name_from_text(text, &n, NULL), 0);
    assert_int_equal(n.len, 255);
    /* One more octet is too long. */
    text[o - 1] = 'b';
    text[o] = '\0';
    assert_int_equal(dns_name_from_text(text, &n, NULL), DNS_E_NAME);
    /* concat respects the limit as well. */
    struct dns_name a = name_of("www"), b = name_of("example.com"), c;
    assert_int_equal(dns_name_concat(&a, &b, &c), 0);
    assert_text(&c, "www.example.com");
    struct dns_name big;
    text[o - 1] = '\0'; /* back to the 255-octet name */
    assert_int_equal(dns_name_from_text(text, &big, NULL), 0);
    assert_int_equal(dns_name_concat(&a, &big, &c), DNS_E_NAME);
}

/* The query a stub resolver without EDNS0 sends for www.example.com A with ID 0x1234
 * (what glibc's res_mkquery writes): header with only RD set, one question (RFC 1035
 * §4.1.1, §4.1.2). */
static const uint8_t golden_query[] = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x03, 'w',  'w',  'w',  0x07, 'e',  'x',  'a',  'm',  'p',
    'l',  'e',  0x03, 'c',  'o',  'm',  0x00, 0x00, 0x01, 0x00, 0x01,
};

static void test_build_query(void **state)
{
    (void)state;
    uint8_t buf[DNS_UDP_MAX];
    struct dns_name q = name_of("www.example.com");
    int len = dns_build_query(buf, sizeof(buf), 0x1234, &q, DNS_TYPE_A);
    assert_int_equal(len, sizeof(golden_query));
    assert_memory_equal(buf, golden_query, sizeof(golden_query));
    assert_int_equal(dns_build_query(buf, sizeof(golden_query) - 1, 0x1234, &q, DNS_TYPE_A),
                     DNS_E_SPACE);
    /* Our own query parses as a message with that question and no answers. */
    struct dns_msg *m = parse_ok(buf, (size_t)len);
    assert_int_equal(m->id, 0x1234);
    assert_true(m->has_question);
    assert_true(dns_name_equal(&m->qname, &q));
    assert_int_equal(m->n_answers, 0);
    /* ...but it is not a reply (QR clear). */
    assert_false(dns_reply_matches(m, 0x1234, &q, DNS_TYPE_A));
    free(m);
}

/* A recursive server's reply to the golden query: www.example.com CNAME example.com,
 * example.com A 93.184.216.34 and A 93.184.216.35, an AAAA for example.com that a v4 stub
 * skips, all names compressed against the question (offset 12) and the CNAME target. */
static const uint8_t golden_reply[] = {
    0x12,
    0x34,
    0x81,
    0x80,
    0x00,
    0x01,
    0x00,
    0x04,
    0x00,
    0x00,
    0x00,
    0x00,
    /* question @12 */
    0x03,
    'w',
    'w',
    'w',
    0x07,
    'e',
    'x',
    'a',
    'm',
    'p',
    'l',
    'e',
    0x03,
    'c',
    'o',
    'm',
    0x00,
    0x00,
    0x01,
    0x00,
    0x01,
    /* @33: www.example.com (ptr 12) CNAME example.com (ptr 16) */
    0xc0,
    0x0c,
    0x00,
    0x05,
    0x00,
    0x01,
    0x00,
    0x00,
    0x0e,
    0x10,
    0x00,
    0x02,
    0xc0,
    0x10,
    /* example.com (ptr 16) A 93.184.216.34 */
    0xc0,
    0x10,
    0x00,
    0x01,
    0x00,
    0x01,
    0x00,
    0x00,
    0x0e,
    0x10,
    0x00,
    0x04,
    93,
    184,
    216,
    34,
    /* example.com AAAA 2606:2800:220:1:248:1893:25c8:1946 */
    0xc0,
    0x10,
    0x00,
    0x1c,
    0x00,
    0x01,
    0x00,
    0x00,
    0x0e,
    0x10,
    0x00,
    0x10,
    0x26,
    0x06,
    0x28,
    0x00,
    0x02,
    0x20,
    0x00,
    0x01,
    0x02,
    0x48,
    0x18,
    0x93,
    0x25,
    0xc8,
    0x19,
    0x46,
    /* example.com A 93.184.216.35 */
    0xc0,
    0x10,
    0x00,
    0x01,
    0x00,
    0x01,
    0x00,
    0x00,
    0x0e,
    0x10,
    0x00,
    0x04,
    93,
    184,
    216,
    35,
};

static void test_golden_reply(void **state)
{
    (void)state;
    struct dns_msg *m = parse_ok(golden_reply, sizeof(golden_reply));
    struct dns_name q = name_of("WWW.EXAMPLE.COM");
    assert_true(dns_reply_matches(m, 0x1234, &q, DNS_TYPE_A));
    assert_false(dns_reply_matches(m, 0x1235, &q, DNS_TYPE_A));
    assert_false(dns_reply_matches(m, 0x1234, &q, DNS_TYPE_PTR));
    struct dns_name other = name_of("www.example.net");
    assert_false(dns_reply_matches(m, 0x1234, &other, DNS_TYPE_A));
    assert_int_equal(DNS_RCODE(m->flags), DNS_RCODE_NOERROR);
    assert_false(m->flags & DNS_FLAG_TC);
    assert_int_equal(m->n_answers, 3);
    assert_int_equal(m->other_answers, 1);
    assert_int_equal(m->answers[0].type, DNS_TYPE_CNAME);
    assert_int_equal(m->answers[0].ttl, 3600);
    assert_text(&m->answers[0].target, "example.com");

    struct dns_chain c;
    assert_int_equal(dns_answer_chain(m, &q, DNS_TYPE_A, &c), 2);
    assert_text(&c.canon, "example.com");
    assert_int_equal(c.n_aliases, 1);
    assert_text(&c.aliases[0], "www.example.com"); /* spelt as in the answer */
    assert_int_equal(c.n_addrs, 2);
    const uint8_t a0[] = {93, 184, 216, 34}, a1[] = {93, 184, 216, 35};
    assert_memory_equal(&c.addrs[0], a0, 4);
    assert_memory_equal(&c.addrs[1], a1, 4);
    /* The same name without the CNAME's owner: NODATA for PTR. */
    assert_int_equal(dns_answer_chain(m, &q, DNS_TYPE_PTR, &c), 0);

    /* Every proper prefix is truncated somewhere and must fail cleanly (never read past
     * len: parse_err copies exactly len bytes for ASan). */
    for (size_t len = 0; len < sizeof(golden_reply); len++)
        assert_true(parse_err(golden_reply, len) < 0);
    free(m);
}

/* 1.2.0.192.in-addr.arpa PTR host.example (RFC 1035 §3.5), answer compressed. */
static const uint8_t golden_ptr[] = {
    0xbe, 0xef, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, '1',
    0x01, '2',  0x01, '0',  0x03, '1',  '9',  '2',  0x07, 'i',  'n',  '-',  'a',  'd',
    'd',  'r',  0x04, 'a',  'r',  'p',  'a',  0x00, 0x00, 0x0c, 0x00, 0x01, 0xc0, 0x0c,
    0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x0e, 0x04, 'h',  'o',  's',
    't',  0x07, 'e',  'x',  'a',  'm',  'p',  'l',  'e',  0x00,
};

static void test_golden_ptr(void **state)
{
    (void)state;
    struct dns_msg *m = parse_ok(golden_ptr, sizeof(golden_ptr));
    struct dns_name q = name_of("1.2.0.192.in-addr.arpa");
    assert_true(dns_reply_matches(m, 0xbeef, &q, DNS_TYPE_PTR));
    assert_true(m->flags & DNS_FLAG_AA);
    struct dns_chain c;
    assert_int_equal(dns_answer_chain(m, &q, DNS_TYPE_PTR, &c), 1);
    assert_true(c.has_target);
    assert_text(&c.target, "host.example");
    free(m);
}

static void test_rcode_and_tc(void **state)
{
    (void)state;
    uint8_t msg[sizeof(golden_query)];
    memcpy(msg, golden_query, sizeof(msg));
    /* NXDOMAIN: QR, RD, RA, rcode 3, no answers. */
    msg[2] = 0x81;
    msg[3] = 0x83;
    struct dns_msg *m = parse_ok(msg, sizeof(msg));
    assert_int_equal(DNS_RCODE(m->flags), DNS_RCODE_NXDOMAIN);
    free(m);
    /* TC set with a claimed answer count but no answers: the truncated part is not read
     * (RFC 1035 §4.1.1: retry over TCP), so this parses. */
    msg[2] = 0x83;
    msg[3] = 0x80;
    msg[7] = 9;
    m = parse_ok(msg, sizeof(msg));
    assert_true(m->flags & DNS_FLAG_TC);
    assert_int_equal(m->n_answers, 0);
    free(m);
    /* Without TC the same counts are a truncated message. */
    msg[2] = 0x81;
    assert_int_equal(parse_err(msg, sizeof(msg)), DNS_E_TRUNCATED);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t msg[sizeof(golden_reply) + 300];

    /* A pointer to itself (the first answer's owner at 33 -> 33). */
    memcpy(msg, golden_reply, sizeof(golden_reply));
    msg[33] = 0xc0;
    msg[34] = 33;
    assert_int_equal(parse_err(msg, sizeof(golden_reply)), DNS_E_POINTER);
    /* A forward pointer (33 -> 40). */
    msg[34] = 40;
    assert_int_equal(parse_err(msg, sizeof(golden_reply)), DNS_E_POINTER);
    /* Two names pointing at each other: the question's "example" label replaced by a
     * pointer to the answer, whose owner points back at the question. */
    memcpy(msg, golden_reply, sizeof(golden_reply));
    msg[16] = 0xc0;
    msg[17] = 33;
    assert_int_equal(parse_err(msg, sizeof(golden_reply)), DNS_E_POINTER);
    /* A pointer outside the message entirely. */
    memcpy(msg, golden_reply, sizeof(golden_reply));
    msg[33] = 0xff;
    msg[34] = 0xff;
    assert_int_equal(parse_err(msg, sizeof(golden_reply)), DNS_E_POINTER);
    /* The reserved label types 01 and 10 (RFC 1035 §4.1.4). */
    memcpy(msg, golden_reply, sizeof(golden_reply));
    msg[12] = 0x43;
    assert_int_equal(parse_err(msg, sizeof(golden_reply)), DNS_E_NAME);
    msg[12] = 0x83;
    assert_int_equal(parse_err(msg, sizeof(golden_reply)), DNS_E_NAME);
    /* A label length running past the end. */
    memcpy(msg, golden_reply, sizeof(golden_reply));
    msg[12] = 0x3f;
    assert_int_equal(parse_err(msg, 40), DNS_E_TRUNCATED);
    /* An A record with RDLENGTH 5 (RFC 1035 §3.4.1 says 4). */
    memcpy(msg, golden_reply, sizeof(golden_reply));
    msg[58] = 5;
    assert_true(parse_err(msg, sizeof(golden_reply)) < 0);
    /* RDLENGTH past the end of the message. */
    memcpy(msg, golden_reply, sizeof(golden_reply));
    msg[sizeof(golden_reply) - 5] = 0x40;
    assert_int_equal(parse_err(msg, sizeof(golden_reply)), DNS_E_TRUNCATED);
    /* A CNAME whose name ends before its RDATA does (RDLENGTH 3 for a 2-octet pointer),
     * and one whose name runs past it (RDLENGTH 1). */
    memcpy(msg, golden_reply, sizeof(golden_reply));
    msg[44] = 3;
    assert_true(parse_err(msg, sizeof(golden_reply)) < 0);
    msg[44] = 1;
    assert_int_equal(parse_err(msg, sizeof(golden_reply)), DNS_E_FORMAT);
    /* More questions or answers claimed than present. */
    memcpy(msg, golden_reply, sizeof(golden_reply));
    msg[5] = 2;
    assert_true(parse_err(msg, sizeof(golden_reply)) < 0);
    memcpy(msg, golden_reply, sizeof(golden_reply));
    msg[7] = 5;
    assert_int_equal(parse_err(msg, sizeof(golden_reply)), DNS_E_TRUNCATED);
    /* Fewer answers claimed than present is fine (trailing octets are ignored). */
    msg[7] = 1;
    struct dns_msg *m = parse_ok(msg, sizeof(golden_reply));
    assert_int_equal(m->n_answers, 1);
    free(m);

    /* A name longer than 255 octets built from five 63-octet labels in the question. */
    size_t o = DNS_HDR_LEN;
    memset(msg, 0, sizeof(msg));
    msg[5] = 1;
    for (int l = 0; l < 5; l++) {
        msg[o++] = 63;
        memset(msg + o, 'x', 63);
        o += 63;
    }
    msg[o++] = 0;
    o += 4;
    assert_int_equal(parse_err(msg, o), DNS_E_NAME);
    /* ...and the same length reached through compression: a 200-octet name, then a
     * 63-octet label + pointer to it (263 octets). */
    memset(msg, 0, sizeof(msg));
    msg[5] = 1;
    msg[7] = 1;
    o = DNS_HDR_LEN;
    for (int l = 0; l < 4; l++) {
        msg[o++] = 49;
        memset(msg + o, 'y', 49);
        o += 49;
    }
    msg[o++] = 0; /* 4*50 + 1 = 201 octets */
    msg[o + 1] = 1;
    msg[o + 3] = 1;
    o += 4;
    msg[o++] = 63;
    memset(msg + o, 'z', 63);
    o += 63;
    msg[o++] = 0xc0;
    msg[o++] = DNS_HDR_LEN;
    assert_int_equal(parse_err(msg, o + 10), DNS_E_NAME);
}

/* Answers in a loop (a CNAME b, b CNAME a) and a chain longer than the alias list: the
 * chain follower stops without looping and finds nothing. */
static void test_cname_loop(void **state)
{
    (void)state;
    struct dns_msg *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->flags = DNS_FLAG_QR;
    struct dns_name a = name_of("a.test"), b = name_of("b.test");
    m->answers[0] = (struct dns_rr){.owner = a, .type = DNS_TYPE_CNAME, .target = b};
    m->answers[1] = (struct dns_rr){.owner = b, .type = DNS_TYPE_CNAME, .target = a};
    m->n_answers = 2;
    struct dns_chain c;
    assert_int_equal(dns_answer_chain(m, &a, DNS_TYPE_A, &c), 0);
    assert_int_equal(c.n_aliases, 2);

    /* 20 links c0 -> c1 -> ... -> c20, then an A for c20. */
    char n1[16], n2[16];
    m->n_answers = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(n1, sizeof(n1), "c%d.test", i);
        snprintf(n2, sizeof(n2), "c%d.test", i + 1);
        m->answers[m->n_answers++] =
            (struct dns_rr){.owner = name_of(n1), .type = DNS_TYPE_CNAME, .target = name_of(n2)};
    }
    m->answers[m->n_answers++] =
        (struct dns_rr){.owner = name_of("c20.test"), .type = DNS_TYPE_A, .a = 0x0100000a};
    struct dns_name c0 = name_of("c0.test");
    assert_int_equal(dns_answer_chain(m, &c0, DNS_TYPE_A, &c), 1);
    assert_text(&c.canon, "c20.test");
    assert_int_equal(c.n_aliases, 8); /* the list is bounded; the chain is not cut */
    assert_int_equal(c.addrs[0], 0x0100000a);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_text),   cmocka_unit_test(test_name_limits),
        cmocka_unit_test(test_build_query), cmocka_unit_test(test_golden_reply),
        cmocka_unit_test(test_golden_ptr),  cmocka_unit_test(test_rcode_and_tc),
        cmocka_unit_test(test_malformed),   cmocka_unit_test(test_cname_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
