/* preload/dns_wire.h — the DNS message codec behind the preload shim's resolver: builds a
 * standard query and parses a reply (RFC 1035 §4) into a small fixed-size struct, with
 * bounds checks on every read, name compression that cannot loop (RFC 1035 §4.1.4) and
 * the length limits of RFC 1035 §2.3.4. Stateless and syscall-free, so the unit test and
 * the fuzzer use it alone. Call chain: dns.c (resolver) -> dns_build_query / dns_parse ->
 * dns_answer_chain; tests/preload/test_dns_wire.c and fuzz/fuzz_dns.c call it directly. */
#ifndef PL_DNS_WIRE_H
#define PL_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_PORT 53
#define DNS_HDR_LEN 12        /* RFC 1035 §4.1.1 */
#define DNS_UDP_MAX 512       /* RFC 1035 §4.2.1: UDP messages are at most 512 octets (no EDNS0) */
#define DNS_TCP_MAX 65535     /* RFC 1035 §4.2.2 / RFC 7766 §8: a 2-octet length prefix */
#define DNS_NAME_WIRE_MAX 255 /* RFC 1035 §2.3.4: a name is at most 255 octets on the wire */
#define DNS_LABEL_MAX 63      /* RFC 1035 §2.3.4: a label is at most 63 octets */
/* The longest text form dns_name_to_text can produce: every octet of the 254 label octets
 * escaped as \DDD, plus the dots and the NUL. */
#define DNS_NAME_TEXT_MAX 1024
#define DNS_MAX_ANSWERS 64 /* A/CNAME/PTR answer records kept per reply; more are counted */

/* RFC 1035 §3.2.2 TYPE and §3.2.4 CLASS values the resolver uses. */
enum {
    DNS_TYPE_A = 1,
    DNS_TYPE_CNAME = 5,
    DNS_TYPE_PTR = 12,
    DNS_TYPE_AAAA = 28, /* RFC 3596 */
    DNS_CLASS_IN = 1,
};

/* RFC 1035 §4.1.1 RCODE values. */
enum {
    DNS_RCODE_NOERROR = 0,
    DNS_RCODE_FORMERR = 1,
    DNS_RCODE_SERVFAIL = 2,
    DNS_RCODE_NXDOMAIN = 3,
    DNS_RCODE_NOTIMP = 4,
    DNS_RCODE_REFUSED = 5,
};

/* Header flag bits (RFC 1035 §4.1.1), in the 16-bit flags word. */
#define DNS_FLAG_QR 0x8000u
#define DNS_FLAG_AA 0x0400u
#define DNS_FLAG_TC 0x0200u
#define DNS_FLAG_RD 0x0100u
#define DNS_FLAG_RA 0x0080u
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xfu)
#define DNS_RCODE(flags) ((flags)&0xfu)

/* Errors (negative; 0 is success). */
enum {
    DNS_E_TRUNCATED = -1, /* the message ends inside a field, a record or a name */
    DNS_E_NAME = -2,      /* a name breaks a limit: label > 63, name > 255, bad label type */
    DNS_E_POINTER = -3,   /* a compression pointer that does not point strictly backwards */
    DNS_E_FORMAT = -4,    /* well-formed octets with wrong contents: rdlength, counts */
    DNS_E_SPACE = -5,     /* the caller's buffer is too small */
};
const char *dns_strerror(int err);

/* A domain name in uncompressed wire form: length-prefixed labels ending with the zero
 * root label; len counts every octet including that final zero (1 for the root). */
struct dns_name {
    uint8_t len;
    uint8_t wire[DNS_NAME_WIRE_MAX];
};

/* Text -> wire. Accepts "a.b.c", "a.b.c." (then *absolute = true) and "." (the root);
 * the escapes \X (X taken literally) and \DDD (decimal octet) of RFC 1035 §5.1. Rejects an
 * empty label ("a..b", ".a"), a label over 63 octets, a name over 255 octets. Returns 0 or
 * DNS_E_NAME. absolute may be NULL. */
int dns_name_from_text(const char *text, struct dns_name *out, bool *absolute);
/* Wire -> text without the trailing dot ("." for the root). '.' and '\' inside a label
 * become "\." and "\\", octets outside 0x21..0x7e become \DDD, so the result parses back
 * to the same name. Returns the text length, or DNS_E_SPACE if cap is too small. */
int dns_name_to_text(const struct dns_name *n, char *out, size_t cap);
/* RFC 4343 §3: names compare case-insensitively in ASCII only. */
bool dns_name_equal(const struct dns_name *a, const struct dns_name *b);
/* Number of labels (0 for the root). */
unsigned dns_name_labels(const struct dns_name *n);
/* True if every label holds only letters, digits, '-' and '_' (RFC 952 / RFC 1123 §2.1
 * host names, plus the '_' that glibc's res_hnok tolerates): what may be returned to an
 * application as a host name. */
bool dns_name_is_host(const struct dns_name *n);
/* Appends suffix to name (both uncompressed): "www" + "example.com". DNS_E_NAME if the
 * result would exceed 255 octets. */
int dns_name_concat(const struct dns_name *name, const struct dns_name *suffix,
                    struct dns_name *out);

/* Reads a possibly compressed name at *off in msg (RFC 1035 §4.1.4) and advances *off past
 * it (past the first pointer if one was followed). Every pointer must point strictly
 * before the octet where the name part holding it began, so pointer chains always end. */
int dns_read_name(const uint8_t *msg, size_t len, size_t *off, struct dns_name *out);

/* Writes a standard query (opcode 0, RD set: RFC 1035 §4.1.1) for (qname, qtype, IN) with
 * the given id. Returns the message length, or DNS_E_SPACE. */
int dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const struct dns_name *qname,
                    uint16_t qtype);

struct dns_rr {
    struct dns_name owner;
    uint16_t type;
    uint32_t ttl;
    uint32_t a;             /* DNS_TYPE_A: the address, network byte order */
    struct dns_name target; /* DNS_TYPE_CNAME and DNS_TYPE_PTR */
};

struct dns_msg {
    uint16_t id;
    uint16_t flags;
    uint16_t qdcount, ancount, nscount, arcount;
    bool has_question; /* qdcount >= 1: qname/qtype/qclass are the first question */
    struct dns_name qname;
    uint16_t qtype, qclass;
    unsigned n_answers;     /* answers kept: class IN, type A, CNAME or PTR */
    unsigned other_answers; /* answers skipped: other types/classes, or over the limit */
    struct dns_rr answers[DNS_MAX_ANSWERS];
};

/* Parses a whole reply: the header, every question, and every answer record (the
 * authority and additional sections are not used by a stub resolver and are not read).
 * An A record must be 4 octets (RFC 1035 §3.4.1); a CNAME/PTR name must fill its RDATA
 * exactly. When the TC bit is set (RFC 1035 §4.1.1), parsing stops after the question:
 * the answer section of a truncated message is not to be trusted, the caller retries over
 * TCP. Returns 0 or a DNS_E_* code. */
int dns_parse(const uint8_t *msg, size_t len, struct dns_msg *out);

/* The result of following a reply's answers for (qname, qtype). */
struct dns_chain {
    struct dns_name canon; /* qname as asked, or the last CNAME's target (glibc's h_name) */
    /* aliases are the CNAME owners as the answer spells them (glibc's getanswer). */
    unsigned n_aliases; /* CNAME owners followed, in order (qname first) */
    struct dns_name aliases[8];
    unsigned n_addrs; /* DNS_TYPE_A: the addresses, in answer order, duplicates removed */
    uint32_t addrs[DNS_MAX_ANSWERS];
    bool has_target; /* DNS_TYPE_PTR: the first PTR target */
    struct dns_name target;
};
/* Follows the CNAME chain from qname inside the answer section (RFC 1034 §3.6.2, §5.3.3),
 * at most DNS_MAX_ANSWERS links and never around a loop, then collects the qtype records
 * owned by the end of the chain. Returns the number of records found (0 = NODATA). */
int dns_answer_chain(const struct dns_msg *m, const struct dns_name *qname, uint16_t qtype,
                     struct dns_chain *out);

/* True if reply m answers the query (id, qname, qtype): QR set, opcode 0, the same ID and
 * exactly the question asked (RFC 5452 §4.2, §9.1). */
bool dns_reply_matches(const struct dns_msg *m, uint16_t id, const struct dns_name *qname,
                       uint16_t qtype);

#endif
