/* plebnet/addr.h — IPv4 and MAC address values, parsing and formatting.
 * IPv4 addresses are uint32_t in HOST byte order everywhere in the public API. */
#ifndef PLEBNET_ADDR_H
#define PLEBNET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pn_mac {
    uint8_t b[6];
};

/* An IPv4 transport endpoint; addr and port in host byte order. */
struct pn_endpoint {
    uint32_t addr;
    uint16_t port;
};

#define PN_IP4(a, b, c, d)                                                                          \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define PN_IP4_ANY 0u
#define PN_IP4_BROADCAST 0xffffffffu

#define PN_IP4_STRLEN 16  /* "255.255.255.255" + NUL */
#define PN_MAC_STRLEN 18  /* "xx:xx:xx:xx:xx:xx" + NUL */

/* Parses dotted-quad "a.b.c.d" (exactly four decimal parts 0..255, no leading '+'/'-',
 * no trailing garbage). Returns 0 or PN_EINVAL. */
int pn_ip4_parse(const char *s, uint32_t *out);
/* Parses "a.b.c.d/len" (len 0..32). Returns 0 or PN_EINVAL. */
int pn_ip4_prefix_parse(const char *s, uint32_t *addr, uint8_t *prefix_len);
/* Writes "a.b.c.d" into buf (at least PN_IP4_STRLEN bytes); returns buf. */
char *pn_ip4_format(uint32_t addr, char *buf);
/* Netmask for a prefix length 0..32. */
uint32_t pn_ip4_mask(uint8_t prefix_len);

/* Parses "xx:xx:xx:xx:xx:xx" (hex, ':' or '-' separated). Returns 0 or PN_EINVAL. */
int pn_mac_parse(const char *s, struct pn_mac *out);
/* Writes "xx:xx:xx:xx:xx:xx" into buf (at least PN_MAC_STRLEN bytes); returns buf. */
char *pn_mac_format(const struct pn_mac *mac, char *buf);
bool pn_mac_is_broadcast(const struct pn_mac *mac);
bool pn_mac_is_multicast(const struct pn_mac *mac); /* group bit set (includes broadcast) */
bool pn_mac_equal(const struct pn_mac *a, const struct pn_mac *b);

#ifdef __cplusplus
}
#endif
#endif
