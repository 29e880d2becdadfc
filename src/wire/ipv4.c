/* wire/ipv4.c — IPv4 header codec (RFC 791 §3.1): validates and parses a header, emits a
 * 20-byte one. Called by src/ip/ (pn_ipv4_input, output and fragmentation). */
#include "wire/ipv4.h"

#include "wire/bytes.h"
#include "wire/checksum.h"

/* RFC 791 §3.1 "Flags": bit 0 reserved (must be zero), bit 1 DF, bit 2 MF, then the
 * 13-bit fragment offset in units of 8 octets. */
#define IPV4_FLAG_RESERVED 0x8000u
#define IPV4_FLAG_DF 0x4000u
#define IPV4_FLAG_MF 0x2000u
#define IPV4_FRAG_MASK 0x1fffu
/* RFC 791 §3.1 "Options": the two single-octet options. */
#define IPV4_OPT_EOL 0u
#define IPV4_OPT_NOP 1u

/* RFC 791 §3.1 "Options": walks the option TLVs in opt[0..len). Case 1 is a single
 * octet (EOL, NOP); case 2 is type, length (counting type and length octets), data. */
static int ipv4_check_options(const uint8_t *opt, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t type = opt[i];
        /* End of Option List: whatever follows is padding. */
        if (type == IPV4_OPT_EOL)
            break;
        /* No Operation: one octet, used to align the next option. */
        if (type == IPV4_OPT_NOP) {
            i++;
            continue;
        }
        /* Every other option has a length octet; it must be inside the header. */
        if (len - i < 2)
            return PN_WIRE_BAD_OPTION;
        uint8_t olen = opt[i + 1];
        /* The length counts the type and length octets, so < 2 is impossible (and 0
         * would loop forever); it must not run past the header. */
        if (olen < 2 || olen > len - i)
            return PN_WIRE_BAD_OPTION;
        i += olen;
    }
    return PN_WIRE_OK;
}

int pn_ipv4_parse(const uint8_t *buf, size_t len, struct pn_ipv4_repr *out, bool verify_csum)
{
    /* The fixed header must be there before any field can be read. */
    if (len < PN_IPV4_HDR_LEN)
        return PN_WIRE_TRUNCATED;
    /* RFC 791 §3.1 "Version": this parser reads only the IPv4 layout. */
    if ((buf[0] >> 4) != 4)
        return PN_WIRE_BAD_VERSION;
    /* RFC 791 §3.1 "IHL": the minimum value for a correct header is 5 (20 octets); the
     * header with its options must be inside the buffer. */
    size_t hdr_len = (size_t)(buf[0] & 0x0fu) * 4;
    if (hdr_len < PN_IPV4_HDR_LEN || hdr_len > len)
        return PN_WIRE_BAD_HDR_LEN;
    /* RFC 791 §3.1 "Total Length" includes the header, so it cannot be smaller than it;
     * it cannot be larger than what arrived (the rest would be missing). A smaller value
     * than len is legal: the link padded the frame. */
    uint16_t total = pn_get_be16(buf + 2);
    if (total < hdr_len || total > len)
        return PN_WIRE_BAD_LENGTH;
    /* RFC 791 §3.1 "Header Checksum": the one's complement sum over the header alone,
     * checksum field included, must be zero (RFC 1071). */
    if (verify_csum && pn_csum_finish(pn_csum_add(0, buf, hdr_len)) != 0)
        return PN_WIRE_BAD_CHECKSUM;
    /* Options are skipped, never acted on, but a malformed list means a broken or
     * hostile sender. */
    int err = ipv4_check_options(buf + PN_IPV4_HDR_LEN, hdr_len - PN_IPV4_HDR_LEN);
    if (err != PN_WIRE_OK)
        return err;
    uint16_t frag = pn_get_be16(buf + 6);
    uint16_t payload_len = (uint16_t)(total - hdr_len);
    uint32_t frag_off = (uint32_t)(frag & IPV4_FRAG_MASK) * 8;
    /* RFC 791 §3.2 (fragmentation): a fragment's data must end within a 65535-octet
     * datagram, or reassembly would overflow (the "ping of death"). */
    if (frag_off + payload_len > PN_IPV4_MAX_LEN)
        return PN_WIRE_BAD_FRAG;
    /* RFC 791 §3.1 "Flags": bit 0 is reserved and must be zero. */
    if (frag & IPV4_FLAG_RESERVED)
        return PN_WIRE_BAD_FIELD;

    out->tos = buf[1];
    out->id = pn_get_be16(buf + 4);
    out->df = (frag & IPV4_FLAG_DF) != 0;
    out->mf = (frag & IPV4_FLAG_MF) != 0;
    out->frag_off = (uint16_t)frag_off;
    out->ttl = buf[8];
    out->proto = buf[9];
    out->src = pn_get_be32(buf + 12);
    out->dst = pn_get_be32(buf + 16);
    out->hdr_len = (uint16_t)hdr_len;
    out->payload_len = payload_len;
    return PN_WIRE_OK;
}

void pn_ipv4_emit(const struct pn_ipv4_repr *r, uint8_t *buf)
{
    uint16_t frag = (uint16_t)((r->frag_off / 8) & IPV4_FRAG_MASK);
    if (r->df)
        frag |= IPV4_FLAG_DF;
    if (r->mf)
        frag |= IPV4_FLAG_MF;
    buf[0] = 0x45; /* version 4, IHL 5: we never send options */
    buf[1] = r->tos;
    pn_put_be16(buf + 2, (uint16_t)(PN_IPV4_HDR_LEN + r->payload_len));
    pn_put_be16(buf + 4, r->id);
    pn_put_be16(buf + 6, frag);
    buf[8] = r->ttl;
    buf[9] = r->proto;
    pn_put_be16(buf + 10, 0);
    pn_put_be32(buf + 12, r->src);
    pn_put_be32(buf + 16, r->dst);
    /* RFC 791 §3.1: the checksum is computed with the checksum field zero. */
    pn_put_be16(buf + 10, pn_csum_finish(pn_csum_add(0, buf, PN_IPV4_HDR_LEN)));
}
