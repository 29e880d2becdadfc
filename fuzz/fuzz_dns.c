/* fuzz/fuzz_dns.c — libFuzzer target for the preload shim's DNS codec (preload/dns_wire.c):
 * any input either fails dns_parse cleanly or parses into names that are well formed
 * (labels <= 63, total <= 255, walk ends on the root label), print to text that parses
 * back to the same name, and re-encode into a query that parses to the same question;
 * the CNAME chain follower always ends. The input also drives dns_name_from_text. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A name's labels must walk exactly to its final zero octet. */
static void check_name(const struct dns_name *n)
{
    CHECK(n->len >= 1 && n->len <= DNS_NAME_WIRE_MAX);
    unsigned i = 0;
    while (n->wire[i] != 0) {
        CHECK(n->wire[i] <= DNS_LABEL_MAX);
        i += n->wire[i] + 1u;
        CHECK(i < n->len);
    }
    CHECK(i + 1 == n->len);
    /* text -> name round trip */
    char text[DNS_NAME_TEXT_MAX];
    int tl = dns_name_to_text(n, text, sizeof(text));
    CHECK(tl > 0 && (size_t)tl < sizeof(text));
    struct dns_name back;
    CHECK(dns_name_from_text(text, &back, NULL) == 0);
    CHECK(back.len == n->len && memcmp(back.wire, n->wire, n->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dns_msg m; /* ~34 KB: keep it off the fuzzer's stack */
    int rc = dns_parse(data, size, &m);
    CHECK(rc <= 0 && rc >= DNS_E_SPACE);
    if (rc == 0) {
        CHECK(m.n_answers <= DNS_MAX_ANSWERS);
        if (m.has_question) {
            check_name(&m.qname);
            uint8_t q[DNS_HDR_LEN + DNS_NAME_WIRE_MAX + 4];
            int ql = dns_build_query(q, sizeof(q), m.id, &m.qname, m.qtype);
            CHECK(ql > 0);
            static struct dns_msg mq;
            CHECK(dns_parse(q, (size_t)ql, &mq) == 0);
            CHECK(mq.has_question && dns_name_equal(&mq.qname, &m.qname));
            CHECK(mq.qtype == m.qtype && mq.id == m.id && mq.n_answers == 0);
        }
        for (unsigned i = 0; i < m.n_answers; i++) {
            check_name(&m.answers[i].owner);
            if (m.answers[i].type != DNS_TYPE_A)
                check_name(&m.answers[i].target);
        }
        if (m.has_question) {
            struct dns_chain c;
            int found = dns_answer_chain(&m, &m.qname, DNS_TYPE_A, &c);
            CHECK(found >= 0 && c.n_addrs <= (unsigned)found);
            check_name(&c.canon);
            found = dns_answer_chain(&m, &m.qname, DNS_TYPE_PTR, &c);
            CHECK(found >= 0 && (found == 0) == !c.has_target);
        }
    }
    /* The same bytes as a text name (up to the first NUL). */
    char text[600];
    size_t tl = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, tl);
    text[tl] = '\0';
    struct dns_name n;
    if (dns_name_from_text(text, &n, NULL) == 0)
        check_name(&n);
    return 0;
}
