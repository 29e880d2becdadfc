/* wire/wire.h — the result codes shared by all stateless parsers in src/wire/. A parser
 * returns PN_WIRE_OK or one reason; the caller maps the reason to a pn_stats counter. */
#ifndef PN_WIRE_WIRE_H
#define PN_WIRE_WIRE_H

enum pn_wire_err {
    PN_WIRE_OK = 0,
    PN_WIRE_TRUNCATED = -1,    /* buffer shorter than the header (or a length field says) */
    PN_WIRE_BAD_VERSION = -2,  /* IP version field */
    PN_WIRE_BAD_HDR_LEN = -3,  /* IHL / data offset out of range */
    PN_WIRE_BAD_LENGTH = -4,   /* total/UDP length field inconsistent with the buffer */
    PN_WIRE_BAD_CHECKSUM = -5,
    PN_WIRE_BAD_OPTION = -6,   /* an option's length byte is malformed or overruns */
    PN_WIRE_BAD_FIELD = -7,    /* a fixed field has a value the protocol forbids */
    PN_WIRE_BAD_FRAG = -8,     /* fragment offset + length beyond 65535 */
};

#endif
