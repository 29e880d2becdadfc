/* core/addr.c — IPv4 and MAC address parsing and formatting (include/plebnet/addr.h).
 * Parsers are strict: the whole string must be consumed and every part in range. */
#include <stdio.h>
#include <string.h>
#include "plebnet/addr.h"
#include "plebnet/errors.h"

/* Parses 1..max_digits decimal digits at *s into *out (<= max). */
static int parse_dec(const char **s, unsigned max, unsigned *out)
{
    const char *p = *s;
    unsigned v = 0;
    int n = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned)(*p - '0');
        if (++n > 3 || v > max)
            return PN_EINVAL;
        p++;
    }
    if (n == 0)
        return PN_EINVAL;
    *s = p;
    *out = v;
    return 0;
}

static int parse_ip4_prefix(const char *s, uint32_t *out, const char **end)
{
    uint32_t a = 0;
    for (int i = 0; i < 4; i++) {
        unsigned part;
        if (parse_dec(&s, 255, &part) < 0)
            return PN_EINVAL;
        a = a << 8 | part;
        if (i < 3 && *s++ != '.')
            return PN_EINVAL;
    }
    *out = a;
    *end = s;
    return 0;
}

int pn_ip4_parse(const char *s, uint32_t *out)
{
    const char *end;
    uint32_t a;
    if (!s || parse_ip4_prefix(s, &a, &end) < 0 || *end != '\0')
        return PN_EINVAL;
    *out = a;
    return 0;
}

int pn_ip4_prefix_parse(const char *s, uint32_t *addr, uint8_t *prefix_len)
{
    const char *end;
    uint32_t a;
    unsigned len;
    if (!s || parse_ip4_prefix(s, &a, &end) < 0 || *end++ != '/')
        return PN_EINVAL;
    if (parse_dec(&end, 32, &len) < 0 || *end != '\0')
        return PN_EINVAL;
    *addr = a;
    *prefix_len = (uint8_t)len;
    return 0;
}

char *pn_ip4_format(uint32_t a, char *buf)
{
    snprintf(buf, PN_IP4_STRLEN, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    return buf;
}

uint32_t pn_ip4_mask(uint8_t prefix_len)
{
    if (prefix_len == 0)
        return 0;
    if (prefix_len >= 32)
        return 0xffffffffu;
    return 0xffffffffu << (32 - prefix_len);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int pn_mac_parse(const char *s, struct pn_mac *out)
{
    struct pn_mac m;
    if (!s || strlen(s) != 17)
        return PN_EINVAL;
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
        if (hi < 0 || lo < 0)
            return PN_EINVAL;
        if (i < 5 && s[i * 3 + 2] != ':' && s[i * 3 + 2] != '-')
            return PN_EINVAL;
        m.b[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = m;
    return 0;
}

char *pn_mac_format(const struct pn_mac *m, char *buf)
{
    snprintf(buf, PN_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", m->b[0], m->b[1], m->b[2],
             m->b[3], m->b[4], m->b[5]);
    return buf;
}

bool pn_mac_is_broadcast(const struct pn_mac *m)
{
    static const uint8_t ff[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    return memcmp(m->b, ff, 6) == 0;
}

bool pn_mac_is_multicast(const struct pn_mac *m)
{
    return (m->b[0] & 1) != 0;
}

bool pn_mac_equal(const struct pn_mac *a, const struct pn_mac *b)
{
    return memcmp(a->b, b->b, 6) == 0;
}
