/* policy.c — never trusts a client byte: checks raw requests (pnd_request_check) and decides
 * which address and MAC a peer gets (pnd_policy_decide). Pure functions, unit-tested.
 * Call chain: engine conn_read -> pnd_request_check -> pnd_policy_decide -> parent CREATE. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "pnd.h"

const char *pnd_ip_str(uint32_t ip)
{
    static char bufs[4][16];
    static unsigned slot;
    char *b = bufs[slot++ % 4];
    snprintf(b, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    return b;
}

const char *pnd_mac_str(const uint8_t m[6])
{
    static char bufs[4][18];
    static unsigned slot;
    char *b = bufs[slot++ % 4];
    snprintf(b, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return b;
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

int pnd_request_check(const void *buf, size_t len, struct pn_broker_request *out, const char **why)
{
    struct pn_broker_request r;
    /* The first 8 bytes (magic, version, type) are enough to tell a foreign protocol or a
     * newer client apart from a damaged request. */
    if (len < 8) {
        *why = "truncated request";
        return PN_BROKER_BAD_REQUEST;
    }
    uint32_t magic;
    uint16_t version;
    memcpy(&magic, buf, 4);
    memcpy(&version, (const uint8_t *)buf + 4, 2);
    if (magic != PN_BROKER_MAGIC) {
        *why = "bad magic";
        return PN_BROKER_BAD_REQUEST;
    }
    if (version != PN_BROKER_VERSION) {
        *why = "unsupported version";
        return PN_BROKER_BAD_VERSION;
    }
    if (len != sizeof(r)) {
        *why = len < sizeof(r) ? "truncated request" : "oversized request";
        return PN_BROKER_BAD_REQUEST;
    }
    memcpy(&r, buf, sizeof(r));
    if (r.type != PN_BROKER_LEASE && r.type != PN_BROKER_LIST) {
        *why = "unknown request type";
        return PN_BROKER_BAD_REQUEST;
    }
    if (r.flags != 0) {
        *why = "unknown flags";
        return PN_BROKER_BAD_REQUEST;
    }
    if (!all_zero(r.reserved, sizeof(r.reserved)) || !all_zero(r.reserved2, sizeof(r.reserved2))) {
        *why = "reserved bytes not zero";
        return PN_BROKER_BAD_REQUEST;
    }
    /* Uplink: a NUL-terminated interface name, zero-padded, printable, no '/' or ':'. */
    size_t n = strnlen(r.uplink, sizeof(r.uplink));
    if (n == sizeof(r.uplink) || !all_zero(r.uplink + n, sizeof(r.uplink) - n)) {
        *why = "uplink name not NUL-padded";
        return PN_BROKER_BAD_REQUEST;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)r.uplink[i];
        if (c <= ' ' || c >= 0x7f || c == '/' || c == ':') {
            *why = "invalid character in uplink name";
            return PN_BROKER_BAD_REQUEST;
        }
    }
    *out = r;
    *why = "ok";
    return PN_BROKER_OK;
}

static bool rule_matches(const struct pnd_rule *r, const struct pnd_peer *peer)
{
    switch (r->kind) {
    case PND_RULE_ANY:
        return true;
    case PND_RULE_UID:
        return r->id == peer->uid;
    case PND_RULE_GID:
        if (r->id == peer->gid)
            return true;
        for (int i = 0; i < peer->ngroups; i++)
            if (peer->groups[i] == r->id)
                return true;
        return false;
    }
    return false;
}

static bool pool_has(const struct pnd_pool *pl, uint32_t ip)
{
    for (int i = 0; i < pl->nranges; i++)
        if (ip >= pl->ranges[i].first && ip <= pl->ranges[i].last)
            return true;
    return false;
}

/* Addresses of the pool a host may never hold: the gateway, and for /30 and wider the
 * network and broadcast addresses. */
static bool reserved_in_pool(const struct pnd_pool *pl, uint32_t ip)
{
    if (pl->gateway && ip == pl->gateway)
        return true;
    if (pl->prefix <= 30) {
        uint32_t mask = ~0u << (32 - pl->prefix);
        if ((ip & ~mask) == 0 || (ip & ~mask) == ~mask)
            return true;
    }
    return ip == 0;
}

static bool ip_taken(uint32_t ip, const struct pnd_lease *l, size_t n, const uint32_t *skip,
                     int nskip)
{
    for (size_t i = 0; i < n; i++)
        if (l[i].ip == ip)
            return true;
    for (int i = 0; i < nskip; i++)
        if (skip[i] == ip)
            return true;
    return false;
}

static bool mac_taken(const uint8_t mac[6], const struct pnd_lease *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (l[i].ip && !memcmp(l[i].mac, mac, 6))
            return true;
    return false;
}

static bool mac_in_prefix(const uint8_t mac[6], const uint8_t pfx[6], unsigned len)
{
    for (unsigned bit = 0; bit < len; bit++) {
        uint8_t m = 0x80 >> (bit % 8);
        if ((mac[bit / 8] & m) != (pfx[bit / 8] & m))
            return false;
    }
    return true;
}

/* Daemon-assigned MAC: the pool's MAC prefix (at most /16), then the IPv4 address. */
static void mac_assign(const struct pnd_pool *pl, uint32_t ip, uint8_t mac[6])
{
    if (pl->mac_prefix_len <= 16) {
        mac[0] = pl->mac_prefix[0];
        mac[1] = pl->mac_prefix[1];
    } else {
        mac[0] = 0x02;
        mac[1] = 0x50;
    }
    mac[0] = (uint8_t)((mac[0] | 0x02) & ~0x01); /* locally administered, unicast */
    mac[2] = (uint8_t)(ip >> 24);
    mac[3] = (uint8_t)(ip >> 16);
    mac[4] = (uint8_t)(ip >> 8);
    mac[5] = (uint8_t)ip;
}

/* Picks the MAC for `ip` in pool `pl`: the requested one if the pool allows it, else an
 * assigned one. Returns OK, MAC_DENIED or MAC_IN_USE. */
static int pick_mac(const struct pnd_pool *pl, uint32_t ip, const uint8_t want[6],
                    const struct pnd_lease *l, size_t n, uint8_t out[6])
{
    if (!all_zero(want, 6)) {
        if (pl->mac_mode != PND_MAC_CLIENT || (want[0] & 1) ||
            !mac_in_prefix(want, pl->mac_prefix, pl->mac_prefix_len))
            return PN_BROKER_MAC_DENIED;
        memcpy(out, want, 6);
    } else {
        mac_assign(pl, ip, out);
    }
    return mac_taken(out, l, n) ? PN_BROKER_MAC_IN_USE : PN_BROKER_OK;
}

int pnd_policy_decide(const struct pnd_config *cfg, const struct pnd_peer *peer,
                      const struct pn_broker_request *req, const struct pnd_lease *leases,
                      size_t nleases, const uint32_t *skip, int nskip, struct pnd_decision *d)
{
    bool allowed[PND_MAX_POOLS] = {false};
    bool any = false;
    for (int i = 0; i < cfg->nrules; i++)
        if (rule_matches(&cfg->rules[i], peer))
            allowed[cfg->rules[i].pool] = true;
    for (int i = 0; i < cfg->npools; i++) {
        if (allowed[i] && req->uplink[0] &&
            strncmp(cfg->pools[i].uplink, req->uplink, PND_IFNAMSIZ))
            allowed[i] = false;
        any |= allowed[i];
    }
    if (!any)
        return PN_BROKER_DENIED;

    unsigned mine = 0;
    for (size_t i = 0; i < nleases; i++)
        if (leases[i].ip && leases[i].uid == peer->uid)
            mine++;
    if (mine >= cfg->max_leases_per_user)
        return PN_BROKER_LIMIT;

    uint32_t want_ip = ntohl(*(const uint32_t *)(const void *)req->ip);
    if (want_ip) {
        for (int i = 0; i < cfg->npools; i++) {
            const struct pnd_pool *pl = &cfg->pools[i];
            if (!allowed[i] || !pool_has(pl, want_ip))
                continue;
            if (reserved_in_pool(pl, want_ip) || ip_taken(want_ip, leases, nleases, skip, nskip))
                return PN_BROKER_ADDR_IN_USE;
            int st = pick_mac(pl, want_ip, req->mac, leases, nleases, d->mac);
            if (st != PN_BROKER_OK)
                return st;
            d->pool = i;
            d->ip = want_ip;
            return PN_BROKER_OK;
        }
        return PN_BROKER_DENIED;
    }

    /* Any address: the first free one in the allowed pools, in config order. At most
     * nleases + nskip addresses can be taken, so that many + 1 usable candidates per pool
     * are enough to find a free one if there is any. */
    int mac_status = PN_BROKER_OK;
    for (int i = 0; i < cfg->npools; i++) {
        const struct pnd_pool *pl = &cfg->pools[i];
        if (!allowed[i])
            continue;
        size_t tried = 0, budget = nleases + (size_t)nskip + 1;
        for (int r = 0; r < pl->nranges && tried < budget; r++) {
            for (uint64_t a = pl->ranges[r].first; a <= pl->ranges[r].last && tried < budget; a++) {
                uint32_t ip = (uint32_t)a;
                if (reserved_in_pool(pl, ip))
                    continue;
                tried++;
                if (ip_taken(ip, leases, nleases, skip, nskip))
                    continue;
                int st = pick_mac(pl, ip, req->mac, leases, nleases, d->mac);
                if (st == PN_BROKER_MAC_DENIED) {
                    mac_status = st;
                    break;
                }
                if (st != PN_BROKER_OK) {
                    mac_status = st;
                    continue;
                }
                d->pool = i;
                d->ip = ip;
                return PN_BROKER_OK;
            }
        }
    }
    return mac_status != PN_BROKER_OK ? mac_status : PN_BROKER_POOL_EXHAUSTED;
}
