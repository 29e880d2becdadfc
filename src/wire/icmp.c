/* wire/icmp.c — ICMPv4 message codec (RFC 792): the 8-byte header and the checksum over
 * the whole message. Called by src/ip/ (echo replies, errors in and out). */
#include "wire/icmp.h"

#include <string.h>

#include "wire/bytes.h"
#include "wire/checksum.h"

/* RFC 792: echo and echo reply carry an identifier and a sequence number in the second
 * header word; every other type has its own meaning for it (kept raw in `rest`). */
static bool icmp_is_echo(uint8_t type)
{
    return type == PN_ICMP_ECHO_REQUEST || type == PN_ICMP_ECHO_REPLY;
}

int pn_icmp_parse(const uint8_t *buf, size_t len, struct pn_icmp_repr *out, bool verify_csum)
{
    /* RFC 792: every message has type, code, checksum and the 4-byte second word. */
    if (len < PN_ICMP_HDR_LEN)
        return PN_WIRE_TRUNCATED;
    /* RFC 792: the checksum covers the whole ICMP message, starting with the type; over
     * a message that includes it, the sum must be zero. */
    if (verify_csum && pn_csum_finish(pn_csum_add(0, buf, len)) != 0)
        return PN_WIRE_BAD_CHECKSUM;
    out->type = buf[0];
    out->code = buf[1];
    out->rest = pn_get_be32(buf + 4);
    if (icmp_is_echo(out->type)) {
        out->id = (uint16_t)(out->rest >> 16);
        out->seq = (uint16_t)out->rest;
    } else {
        out->id = 0;
        out->seq = 0;
    }
    out->data = buf + PN_ICMP_HDR_LEN;
    out->data_len = len - PN_ICMP_HDR_LEN;
    return PN_WIRE_OK;
}

size_t pn_icmp_emit(const struct pn_icmp_repr *r, uint8_t *buf)
{
    uint32_t rest = icmp_is_echo(r->type) ? (uint32_t)r->id << 16 | r->seq : r->rest;
    /* The data first: it may overlap the header area only if the caller lied, but
     * memmove keeps an in-place or overlapping copy well-defined. */
    if (r->data_len > 0 && r->data != NULL && r->data != buf + PN_ICMP_HDR_LEN)
        memmove(buf + PN_ICMP_HDR_LEN, r->data, r->data_len);
    buf[0] = r->type;
    buf[1] = r->code;
    pn_put_be16(buf + 2, 0);
    pn_put_be32(buf + 4, rest);
    size_t len = PN_ICMP_HDR_LEN + r->data_len;
    /* RFC 792: computed over the message with the checksum field zero. */
    pn_put_be16(buf + 2, pn_csum_finish(pn_csum_add(0, buf, len)));
    return len;
}
