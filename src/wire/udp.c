/* wire/udp.c — UDP header codec (RFC 768) with the IPv4 pseudo-header checksum. Called by
 * src/udp/ for every datagram in and out. */
#include "wire/udp.h"

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"

int pn_udp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
                 struct pn_udp_repr *out, bool verify_csum)
{
    /* RFC 768: source port, destination port, length and checksum: 8 octets. */
    if (len < PN_UDP_HDR_LEN)
        return PN_WIRE_TRUNCATED;
    /* RFC 768 "Length" counts the header, so the minimum is 8; the datagram it
     * describes must have arrived whole. A smaller value than the IP payload is
     * tolerated (RFC 1122 §4.1.3.4 leaves it open); the extra bytes are ignored. */
    uint16_t ulen = pn_get_be16(buf + 4);
    if (ulen < PN_UDP_HDR_LEN || ulen > len)
        return PN_WIRE_BAD_LENGTH;
    uint16_t csum = pn_get_be16(buf + 6);
    /* RFC 768: an all-zero checksum field means the sender computed none (IPv4 only);
     * otherwise the pseudo-header + datagram sum must be zero. The pseudo-header uses
     * the UDP length field, and the sum covers exactly that many octets. */
    if (verify_csum && csum != 0) {
        uint32_t sum = pn_csum_pseudo_ipv4(src, dst, PN_IP_PROTO_UDP, ulen);
        if (pn_csum_finish(pn_csum_add(sum, buf, ulen)) != 0)
            return PN_WIRE_BAD_CHECKSUM;
    }
    out->src_port = pn_get_be16(buf);
    out->dst_port = pn_get_be16(buf + 2);
    out->payload = buf + PN_UDP_HDR_LEN;
    out->payload_len = (size_t)ulen - PN_UDP_HDR_LEN;
    out->has_checksum = csum != 0;
    return PN_WIRE_OK;
}

void pn_udp_emit(const struct pn_udp_repr *r, uint8_t *buf, uint32_t src, uint32_t dst)
{
    uint16_t ulen = (uint16_t)(PN_UDP_HDR_LEN + r->payload_len);
    pn_put_be16(buf, r->src_port);
    pn_put_be16(buf + 2, r->dst_port);
    pn_put_be16(buf + 4, ulen);
    pn_put_be16(buf + 6, 0);
    uint32_t sum = pn_csum_pseudo_ipv4(src, dst, PN_IP_PROTO_UDP, ulen);
    uint16_t csum = pn_csum_finish(pn_csum_add(sum, buf, ulen));
    /* RFC 768: "If the computed checksum is zero, it is transmitted as all ones", since
     * zero on the wire means "no checksum". */
    pn_put_be16(buf + 6, csum == 0 ? 0xffffu : csum);
}
