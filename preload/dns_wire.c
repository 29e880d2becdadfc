/* preload/dns_wire.c — DNS message codec (RFC 1035 §4): query building, bounds-checked
 * reply parsing with loop-free name decompression, CNAME chain following. No syscalls, no
 * allocation. Call chain: dns.c -> dns_build_query / dns_parse / dns_answer_chain. */
#include "dns_wire.h"

#include <string.h>

const char *dns_strerror(int err)
{
    switch (err) {
    case 0:
        return "ok";
    case DNS_E_TRUNCATED:
        return "message truncated";
    case DNS_E_NAME:
        return "bad name";
    case DNS_E_POINTER:
        return "bad compression pointer";
    case DNS_E_FORMAT:
        return "malformed record";
    case DNS_E_SPACE:
        return "buffer too small";
    default:
        return "unknown error";
    }
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* ---- names ---- */

int dns_name_from_text(const char *text, struct dns_name *out, bool *absolute)
{
    if (absolute)
        *absolute = false;
    out->len = 0;
    if (text == NULL)
        return DNS_E_NAME;
    if (strcmp(text, ".") == 0) {
        out->wire[0] = 0;
        out->len = 1;
        if (absolute)
            *absolute = true;
        return 0;
    }
    size_t pos = 0;   /* next free octet in out->wire */
    size_t lenat = 0; /* where the current label's length octet lives */
    size_t label = 0;
    /* One octet for the current label's length, reserved up front. */
    out->wire[pos++] = 0;
    for (const char *p = text;; p++) {
        if (*p == '\0' || *p == '.') {
            if (label == 0) {
                /* An empty label is only allowed as the final (root) one after a dot. */
                if (*p == '\0' && pos > 1)
                    break;
                return DNS_E_NAME;
            }
            out->wire[lenat] = (uint8_t)label;
            if (*p == '\0') {
                /* RFC 1035 §2.3.4: 255 octets including the root label. */
                if (pos + 1 > DNS_NAME_WIRE_MAX)
                    return DNS_E_NAME;
                out->wire[pos++] = 0;
                out->len = (uint8_t)pos;
                return 0;
            }
            if (p[1] == '\0' && absolute)
                *absolute = true;
            if (pos + 1 > DNS_NAME_WIRE_MAX)
                return DNS_E_NAME;
            lenat = pos;
            out->wire[pos++] = 0;
            label = 0;
            continue;
        }
        unsigned c = (unsigned char)*p;
        if (c == '\\') {
            /* RFC 1035 §5.1: \X is X itself, \DDD is the octet with decimal value DDD. */
            if (p[1] >= '0' && p[1] <= '9') {
                if (!(p[2] >= '0' && p[2] <= '9' && p[3] >= '0' && p[3] <= '9'))
                    return DNS_E_NAME;
                c = (unsigned)((p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0'));
                if (c > 255)
                    return DNS_E_NAME;
                p += 3;
            } else if (p[1] == '\0') {
                return DNS_E_NAME;
            } else {
                c = (unsigned char)p[1];
                p++;
            }
        }
        if (label == DNS_LABEL_MAX || pos + 1 > DNS_NAME_WIRE_MAX)
            return DNS_E_NAME;
        out->wire[pos++] = (uint8_t)c;
        label++;
    }
    /* Trailing dot: the root label was already reserved at lenat (value 0). */
    out->len = (uint8_t)pos;
    if (absolute)
        *absolute = true;
    return 0;
}

int dns_name_to_text(const struct dns_name *n, char *out, size_t cap)
{
    size_t o = 0;
    size_t i = 0;
    if (cap == 0)
        return DNS_E_SPACE;
    if (n->len <= 1) {
        if (cap < 2)
            return DNS_E_SPACE;
        out[0] = '.';
        out[1] = '\0';
        return 1;
    }
    while (i < n->len && n->wire[i] != 0) {
        unsigned l = n->wire[i++];
        if (o > 0) {
            if (o + 1 >= cap)
                return DNS_E_SPACE;
            out[o++] = '.';
        }
        for (unsigned k = 0; k < l && i < n->len; k++, i++) {
            unsigned c = n->wire[i];
            if (c == '.' || c == '\\') {
                if (o + 2 >= cap)
                    return DNS_E_SPACE;
                out[o++] = '\\';
                out[o++] = (char)c;
            } else if (c < 0x21 || c > 0x7e) {
                if (o + 4 >= cap)
                    return DNS_E_SPACE;
                out[o++] = '\\';
                out[o++] = (char)('0' + c / 100);
                out[o++] = (char)('0' + c / 10 % 10);
                out[o++] = (char)('0' + c % 10);
            } else {
                if (o + 1 >= cap)
                    return DNS_E_SPACE;
                out[o++] = (char)c;
            }
        }
    }
    out[o] = '\0';
    return (int)o;
}

static uint8_t ascii_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

bool dns_name_equal(const struct dns_name *a, const struct dns_name *b)
{
    if (a->len != b->len)
        return false;
    /* Length octets are below 64 and never letters, so one loop compares both. */
    for (unsigned i = 0; i < a->len; i++)
        if (ascii_lower(a->wire[i]) != ascii_lower(b->wire[i]))
            return false;
    return true;
}

unsigned dns_name_labels(const struct dns_name *n)
{
    unsigned count = 0;
    for (unsigned i = 0; i < n->len && n->wire[i] != 0; i += n->wire[i] + 1u)
        count++;
    return count;
}

bool dns_name_is_host(const struct dns_name *n)
{
    for (unsigned i = 0; i < n->len && n->wire[i] != 0;) {
        unsigned l = n->wire[i++];
        for (unsigned k = 0; k < l && i < n->len; k++, i++) {
            uint8_t c = n->wire[i];
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
            if (!ok)
                return false;
        }
    }
    return true;
}

int dns_name_concat(const struct dns_name *name, const struct dns_name *suffix,
                    struct dns_name *out)
{
    if (name->len == 0 || suffix->len == 0)
        return DNS_E_NAME;
    /* Drop name's root octet, keep suffix's. */
    size_t total = (size_t)name->len - 1 + suffix->len;
    if (total > DNS_NAME_WIRE_MAX)
        return DNS_E_NAME;
    struct dns_name tmp;
    memcpy(tmp.wire, name->wire, (size_t)name->len - 1);
    memcpy(tmp.wire + name->len - 1, suffix->wire, suffix->len);
    tmp.len = (uint8_t)total;
    *out = tmp;
    return 0;
}

int dns_read_name(const uint8_t *msg, size_t len, size_t *off, struct dns_name *out)
{
    size_t pos = *off;
    size_t limit = pos; /* a pointer must target an octet before this one */
    size_t after = 0;   /* where the caller resumes: past the first pointer */
    bool jumped = false;
    size_t o = 0;
    out->len = 0;
    for (;;) {
        if (pos >= len)
            return DNS_E_TRUNCATED;
        uint8_t l = msg[pos];
        switch (l & 0xc0) {
        case 0x00:
            if (l == 0) {
                if (o + 1 > DNS_NAME_WIRE_MAX)
                    return DNS_E_NAME;
                out->wire[o++] = 0;
                out->len = (uint8_t)o;
                *off = jumped ? after : pos + 1;
                return 0;
            }
            if (pos + 1 + l > len)
                return DNS_E_TRUNCATED;
            /* RFC 1035 §2.3.4: the whole name, root label included, fits in 255 octets. */
            if (o + 1 + l + 1 > DNS_NAME_WIRE_MAX)
                return DNS_E_NAME;
            memcpy(out->wire + o, msg + pos, (size_t)l + 1);
            o += (size_t)l + 1;
            pos += (size_t)l + 1;
            break;
        case 0xc0: {
            /* RFC 1035 §4.1.4: a pointer is two octets, 11 + a 14-bit offset. */
            if (pos + 2 > len)
                return DNS_E_TRUNCATED;
            size_t target = ((size_t)(l & 0x3f) << 8) | msg[pos + 1];
            /* "a pointer to a prior occurance of the same name": requiring it to point
             * strictly before where this run of labels began makes every chain shrink,
             * so no loop (or self-pointer) can exist. */
            if (target >= limit)
                return DNS_E_POINTER;
            if (!jumped) {
                after = pos + 2;
                jumped = true;
            }
            limit = target;
            pos = target;
            break;
        }
        default:
            /* 01 and 10: the extended label types of RFC 6891 §5 / RFC 2673, not used. */
            return DNS_E_NAME;
        }
    }
}

/* ---- queries ---- */

int dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const struct dns_name *qname,
                    uint16_t qtype)
{
    if (qname->len == 0)
        return DNS_E_NAME;
    size_t need = DNS_HDR_LEN + qname->len + 4;
    if (cap < need)
        return DNS_E_SPACE;
    /* RFC 1035 §4.1.1: ID, flags (standard query, RD), QDCOUNT 1, other counts 0. */
    put16(buf, id);
    put16(buf + 2, DNS_FLAG_RD);
    put16(buf + 4, 1);
    put16(buf + 6, 0);
    put16(buf + 8, 0);
    put16(buf + 10, 0);
    /* RFC 1035 §4.1.2: QNAME, QTYPE, QCLASS. */
    memcpy(buf + DNS_HDR_LEN, qname->wire, qname->len);
    put16(buf + DNS_HDR_LEN + qname->len, qtype);
    put16(buf + DNS_HDR_LEN + qname->len + 2, DNS_CLASS_IN);
    return (int)need;
}

/* ---- replies ---- */

/* One resource record (RFC 1035 §4.1.3) at *off; keeps it in m if it is one of ours. */
static int parse_answer(const uint8_t *msg, size_t len, size_t *off, struct dns_msg *m)
{
    struct dns_rr rr;
    int rc = dns_read_name(msg, len, off, &rr.owner);
    if (rc < 0)
        return rc;
    if (*off + 10 > len)
        return DNS_E_TRUNCATED;
    const uint8_t *p = msg + *off;
    rr.type = get16(p);
    uint16_t rclass = get16(p + 2);
    rr.ttl = get32(p + 4);
    size_t rdlen = get16(p + 8);
    size_t rdata = *off + 10;
    if (rdata + rdlen > len)
        return DNS_E_TRUNCATED;
    *off = rdata + rdlen;
    rr.a = 0;
    rr.target.len = 0;
    bool keep = rclass == DNS_CLASS_IN;
    switch (keep ? rr.type : 0) {
    case DNS_TYPE_A:
        /* RFC 1035 §3.4.1: A RDATA is one 32-bit address. */
        if (rdlen != 4)
            return DNS_E_FORMAT;
        memcpy(&rr.a, msg + rdata, 4);
        break;
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR: {
        /* RFC 1035 §3.3.1/§3.3.12: RDATA is one domain name (may be compressed, pointers
         * reach anywhere before it); it must end exactly where RDATA ends. */
        size_t noff = rdata;
        rc = dns_read_name(msg, rdata + rdlen, &noff, &rr.target);
        if (rc < 0)
            return rc == DNS_E_TRUNCATED ? DNS_E_FORMAT : rc;
        if (noff != rdata + rdlen)
            return DNS_E_FORMAT;
        break;
    }
    default:
        keep = false;
        break;
    }
    if (keep && m->n_answers < DNS_MAX_ANSWERS)
        m->answers[m->n_answers++] = rr;
    else
        m->other_answers++;
    return 0;
}

int dns_parse(const uint8_t *msg, size_t len, struct dns_msg *m)
{
    m->n_answers = 0;
    m->other_answers = 0;
    m->has_question = false;
    m->qname.len = 0;
    m->qtype = m->qclass = 0;
    if (len < DNS_HDR_LEN)
        return DNS_E_TRUNCATED;
    m->id = get16(msg);
    m->flags = get16(msg + 2);
    m->qdcount = get16(msg + 4);
    m->ancount = get16(msg + 6);
    m->nscount = get16(msg + 8);
    m->arcount = get16(msg + 10);
    size_t off = DNS_HDR_LEN;
    for (unsigned i = 0; i < m->qdcount; i++) {
        struct dns_name qn;
        int rc = dns_read_name(msg, len, &off, &qn);
        if (rc < 0)
            return rc;
        if (off + 4 > len)
            return DNS_E_TRUNCATED;
        if (i == 0) {
            m->has_question = true;
            m->qname = qn;
            m->qtype = get16(msg + off);
            m->qclass = get16(msg + off + 2);
        }
        off += 4;
    }
    if (m->flags & DNS_FLAG_TC)
        return 0;
    for (unsigned i = 0; i < m->ancount; i++) {
        int rc = parse_answer(msg, len, &off, m);
        if (rc < 0)
            return rc;
    }
    return 0;
}

bool dns_reply_matches(const struct dns_msg *m, uint16_t id, const struct dns_name *qname,
                       uint16_t qtype)
{
    return (m->flags & DNS_FLAG_QR) && DNS_OPCODE(m->flags) == 0 && m->id == id &&
           m->qdcount == 1 && m->has_question && m->qtype == qtype && m->qclass == DNS_CLASS_IN &&
           dns_name_equal(&m->qname, qname);
}

int dns_answer_chain(const struct dns_msg *m, const struct dns_name *qname, uint16_t qtype,
                     struct dns_chain *out)
{
    out->canon = *qname;
    out->n_aliases = 0;
    out->n_addrs = 0;
    out->has_target = false;
    out->target.len = 0;
    /* Each hop consumes one distinct CNAME record (a used[] mark), so a loop a -> b -> a
     * ends after at most n_answers hops. */
    bool used[DNS_MAX_ANSWERS] = {false};
    for (unsigned hops = 0; hops < m->n_answers; hops++) {
        if (qtype == DNS_TYPE_CNAME)
            break;
        unsigned i;
        for (i = 0; i < m->n_answers; i++)
            if (!used[i] && m->answers[i].type == DNS_TYPE_CNAME &&
                dns_name_equal(&m->answers[i].owner, &out->canon))
                break;
        if (i == m->n_answers)
            break;
        used[i] = true;
        /* Names as the answer spells them (glibc's getanswer does the same). */
        if (out->n_aliases < sizeof(out->aliases) / sizeof(out->aliases[0]))
            out->aliases[out->n_aliases++] = m->answers[i].owner;
        out->canon = m->answers[i].target;
    }
    int found = 0;
    for (unsigned i = 0; i < m->n_answers; i++) {
        const struct dns_rr *rr = &m->answers[i];
        if (rr->type != qtype || !dns_name_equal(&rr->owner, &out->canon))
            continue;
        found++;
        if (qtype == DNS_TYPE_A) {
            bool dup = false;
            for (unsigned k = 0; k < out->n_addrs; k++)
                dup = dup || out->addrs[k] == rr->a;
            if (!dup)
                out->addrs[out->n_addrs++] = rr->a;
        } else if (!out->has_target) {
            out->has_target = true;
            out->target = rr->target;
        }
    }
    return found;
}
