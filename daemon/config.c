/* config.c — parses plebnetd.conf(5) into struct pnd_config; every error names file:line and
 * what is wrong. Call chain: main -> pnd_config_load -> pnd_config_parse -> parse_line. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pnd.h"

#define MAX_WORDS 16
#define MAX_CONF_SIZE (1 << 20)

struct parser {
    const char *path;
    int line;
    struct pnd_config *cfg;
    struct pnd_pool *pool; /* the pool block being parsed, or NULL */
    char *err;
    size_t errlen;
};

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *p, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s:%d: %s", p->path, p->line, msg);
    return -1;
}

void pnd_config_defaults(struct pnd_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s", PN_BROKER_SOCKET);
    snprintf(cfg->chroot_dir, sizeof(cfg->chroot_dir), "/var/empty");
    snprintf(cfg->user, sizeof(cfg->user), "nobody");
    cfg->max_leases_per_user = 4;
    cfg->max_connections = 256;
    cfg->request_timeout_ms = 2000;
}

/* Unsigned decimal in [min, max]. */
static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Dotted-quad IPv4 into host order. inet_pton accepts exactly a.b.c.d. */
static int parse_ip(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
                                  &v[5], &tail) != 6)
        return -1;
    for (int i = 0; i < 6; i++) {
        if (!isxdigit((unsigned char)s[i * 3]) || !isxdigit((unsigned char)s[i * 3 + 1]))
            return -1;
        mac[i] = (uint8_t)v[i];
    }
    return 0;
}

/* Interface names: 1..15 chars, no '/', ':', whitespace, and not "." or "..". */
static bool valid_ifname(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= PND_IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isgraph((unsigned char)s[i]) || s[i] == '/' || s[i] == ':')
            return false;
    return true;
}

static bool uplink_declared(const struct pnd_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->nuplinks; i++)
        if (!strcmp(cfg->uplinks[i], name))
            return true;
    return false;
}

static int pool_index(const struct pnd_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->npools; i++)
        if (!strcmp(cfg->pools[i].name, name))
            return i;
    return -1;
}

static int add_range(struct parser *p, uint32_t first, uint32_t last)
{
    struct pnd_pool *pl = p->pool;
    if (pl->nranges >= PND_MAX_RANGES)
        return perr(p, "too many address ranges in pool '%s' (at most %d)", pl->name,
                    PND_MAX_RANGES);
    pl->ranges[pl->nranges].first = first;
    pl->ranges[pl->nranges].last = last;
    pl->nranges++;
    return 0;
}

/* "range A-B" or "range A/N" (a CIDR block). */
static int parse_range(struct parser *p, const char *s)
{
    char buf[64];
    if (strlen(s) >= sizeof(buf))
        return perr(p, "invalid range '%s'", s);
    strcpy(buf, s);
    char *dash = strchr(buf, '-'), *slash = strchr(buf, '/');
    uint32_t a, b;
    if (dash) {
        *dash = 0;
        if (parse_ip(buf, &a) || parse_ip(dash + 1, &b))
            return perr(p, "invalid range '%s' (expected A.B.C.D-E.F.G.H)", s);
        if (b < a)
            return perr(p, "range '%s' ends before it starts", s);
        return add_range(p, a, b);
    }
    if (slash) {
        unsigned long len;
        *slash = 0;
        if (parse_ip(buf, &a) || parse_uint(slash + 1, 0, 32, &len))
            return perr(p, "invalid range '%s' (expected A.B.C.D/N)", s);
        uint32_t mask = len ? ~0u << (32 - len) : 0;
        if (a & ~mask)
            return perr(p, "range '%s' has host bits set", s);
        return add_range(p, a, a | ~mask);
    }
    return perr(p, "invalid range '%s' (expected A-B or A/N)", s);
}

/* "PREFIX/LEN" MAC prefix, e.g. 02:50:00:00:00:00/16. */
static int parse_mac_prefix(struct parser *p, const char *s, uint8_t mac[6], uint8_t *len)
{
    char buf[32];
    const char *slash = strchr(s, '/');
    unsigned long l;
    if (!slash || (size_t)(slash - s) >= sizeof(buf))
        return perr(p, "invalid MAC prefix '%s' (expected xx:xx:xx:xx:xx:xx/LEN)", s);
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = 0;
    if (parse_mac(buf, mac) || parse_uint(slash + 1, 0, 48, &l))
        return perr(p, "invalid MAC prefix '%s' (expected xx:xx:xx:xx:xx:xx/LEN)", s);
    if (l < 8)
        return perr(p, "MAC prefix '%s' must fix at least the first byte (/8 or longer)", s);
    if (mac[0] & 1)
        return perr(p, "MAC prefix '%s' is a multicast prefix", s);
    if (!(mac[0] & 2))
        return perr(p, "MAC prefix '%s' is not locally administered (set bit 0x02)", s);
    for (unsigned bit = (unsigned)l; bit < 48; bit++)
        if (mac[bit / 8] & (0x80 >> (bit % 8)))
            return perr(p, "MAC prefix '%s' has bits set past /%lu", s, l);
    *len = (uint8_t)l;
    return 0;
}

static int finish_pool(struct parser *p)
{
    struct pnd_pool *pl = p->pool;
    if (!pl->uplink[0])
        return perr(p, "pool '%s' has no uplink", pl->name);
    if (pl->nranges == 0)
        return perr(p, "pool '%s' has no addresses (add 'range' or 'address')", pl->name);
    if (pl->prefix == 0)
        return perr(p, "pool '%s' has no prefix length ('prefix N')", pl->name);
    uint32_t mask = ~0u << (32 - pl->prefix);
    uint32_t net = pl->ranges[0].first & mask;
    for (int i = 0; i < pl->nranges; i++)
        if ((pl->ranges[i].first & mask) != net || (pl->ranges[i].last & mask) != net)
            return perr(p, "pool '%s': addresses %s-%s are not all in one /%u network", pl->name,
                        pnd_ip_str(pl->ranges[0].first), pnd_ip_str(pl->ranges[i].last),
                        pl->prefix);
    if (pl->gateway && (pl->gateway & mask) != net)
        return perr(p, "pool '%s': gateway %s is outside %s/%u", pl->name, pnd_ip_str(pl->gateway),
                    pnd_ip_str(net), pl->prefix);
    if (pl->mac_mode == PND_MAC_ASSIGN && pl->mac_prefix_len > 16)
        return perr(p, "pool '%s': 'mac assign' prefix must be /16 or shorter", pl->name);
    p->pool = NULL;
    return 0;
}

static int parse_pool_line(struct parser *p, char **w, int n)
{
    struct pnd_pool *pl = p->pool;
    unsigned long v;
    if (!strcmp(w[0], "}")) {
        if (n != 1)
            return perr(p, "unexpected '%s' after '}'", w[1]);
        return finish_pool(p);
    }
    if (!strcmp(w[0], "uplink")) {
        if (n != 2)
            return perr(p, "usage: uplink IFNAME");
        if (!valid_ifname(w[1]))
            return perr(p, "invalid interface name '%s'", w[1]);
        if (!uplink_declared(p->cfg, w[1]))
            return perr(p, "uplink '%s' is not declared (add 'uplink %s' at top level)", w[1],
                        w[1]);
        snprintf(pl->uplink, sizeof(pl->uplink), "%s", w[1]);
        return 0;
    }
    if (!strcmp(w[0], "range")) {
        if (n != 2)
            return perr(p, "usage: range A.B.C.D-E.F.G.H | A.B.C.D/N");
        return parse_range(p, w[1]);
    }
    if (!strcmp(w[0], "address")) {
        uint32_t a;
        if (n != 2)
            return perr(p, "usage: address A.B.C.D");
        if (parse_ip(w[1], &a))
            return perr(p, "invalid IPv4 address '%s'", w[1]);
        return add_range(p, a, a);
    }
    if (!strcmp(w[0], "prefix")) {
        if (n != 2 || parse_uint(w[1], 1, 32, &v))
            return perr(p, "invalid prefix length '%s' (expected 1..32)", n > 1 ? w[1] : "");
        pl->prefix = (uint8_t)v;
        return 0;
    }
    if (!strcmp(w[0], "gateway")) {
        if (n != 2 || parse_ip(w[1], &pl->gateway))
            return perr(p, "invalid gateway '%s'", n > 1 ? w[1] : "");
        return 0;
    }
    if (!strcmp(w[0], "mtu")) {
        if (n != 2 || parse_uint(w[1], 576, 9000, &v))
            return perr(p, "invalid mtu '%s' (expected 576..9000)", n > 1 ? w[1] : "");
        pl->mtu = (uint16_t)v;
        return 0;
    }
    if (!strcmp(w[0], "mac")) {
        if (n == 2 && !strcmp(w[1], "assign")) {
            pl->mac_mode = PND_MAC_ASSIGN;
            return 0;
        }
        if (n == 3 && (!strcmp(w[1], "assign") || !strcmp(w[1], "client"))) {
            pl->mac_mode = !strcmp(w[1], "assign") ? PND_MAC_ASSIGN : PND_MAC_CLIENT;
            return parse_mac_prefix(p, w[2], pl->mac_prefix, &pl->mac_prefix_len);
        }
        return perr(p, "usage: mac assign [PREFIX/LEN] | mac client PREFIX/LEN");
    }
    return perr(p, "unknown pool keyword '%s'", w[0]);
}

/* allow user NAME|uid N|group NAME|gid N|any pool NAME */
static int parse_allow(struct parser *p, char **w, int n)
{
    struct pnd_config *cfg = p->cfg;
    struct pnd_rule r = {.line = p->line};
    int i = 1;
    if (n < 2)
        return perr(p, "usage: allow user NAME|uid N|group NAME|gid N|any pool NAME");
    if (!strcmp(w[1], "any")) {
        r.kind = PND_RULE_ANY;
        i = 2;
    } else if (n >= 3) {
        unsigned long v;
        i = 3;
        if (!strcmp(w[1], "uid") || !strcmp(w[1], "gid")) {
            if (parse_uint(w[2], 0, UINT32_MAX - 1, &v))
                return perr(p, "invalid %s '%s'", w[1], w[2]);
            r.kind = w[1][0] == 'u' ? PND_RULE_UID : PND_RULE_GID;
            r.id = (uint32_t)v;
        } else if (!strcmp(w[1], "user")) {
            struct passwd *pw = getpwnam(w[2]);
            if (!pw)
                return perr(p, "unknown user '%s'", w[2]);
            r.kind = PND_RULE_UID;
            r.id = pw->pw_uid;
        } else if (!strcmp(w[1], "group")) {
            struct group *gr = getgrnam(w[2]);
            if (!gr)
                return perr(p, "unknown group '%s'", w[2]);
            r.kind = PND_RULE_GID;
            r.id = gr->gr_gid;
        } else {
            return perr(p, "allow: expected user, uid, group, gid or any, got '%s'", w[1]);
        }
    } else {
        return perr(p, "usage: allow user NAME|uid N|group NAME|gid N|any pool NAME");
    }
    if (n != i + 2 || strcmp(w[i], "pool"))
        return perr(p, "usage: allow user NAME|uid N|group NAME|gid N|any pool NAME");
    r.pool = pool_index(cfg, w[i + 1]);
    if (r.pool < 0)
        return perr(p, "unknown pool '%s' (define pools before the rules that use them)", w[i + 1]);
    if (cfg->nrules >= PND_MAX_RULES)
        return perr(p, "too many rules (at most %d)", PND_MAX_RULES);
    cfg->rules[cfg->nrules++] = r;
    return 0;
}

static int parse_top_line(struct parser *p, char **w, int n)
{
    struct pnd_config *cfg = p->cfg;
    unsigned long v;
    if (!strcmp(w[0], "socket")) {
        if (n != 2 || w[1][0] != '/' || strlen(w[1]) >= sizeof(cfg->socket_path))
            return perr(p, "socket needs an absolute path shorter than %zu bytes",
                        sizeof(cfg->socket_path));
        snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s", w[1]);
        return 0;
    }
    if (!strcmp(w[0], "chroot")) {
        if (n != 2 || w[1][0] != '/' || strlen(w[1]) >= sizeof(cfg->chroot_dir))
            return perr(p, "chroot needs an absolute path");
        snprintf(cfg->chroot_dir, sizeof(cfg->chroot_dir), "%s", w[1]);
        return 0;
    }
    if (!strcmp(w[0], "user")) {
        if (n != 2 || strlen(w[1]) >= sizeof(cfg->user))
            return perr(p, "usage: user NAME (the unprivileged engine's account)");
        if (!getpwnam(w[1]))
            return perr(p, "unknown user '%s'", w[1]);
        snprintf(cfg->user, sizeof(cfg->user), "%s", w[1]);
        return 0;
    }
    if (!strcmp(w[0], "max-leases-per-user")) {
        if (n != 2 || parse_uint(w[1], 1, 65536, &v))
            return perr(p, "invalid max-leases-per-user '%s' (expected 1..65536)",
                        n > 1 ? w[1] : "");
        cfg->max_leases_per_user = (unsigned)v;
        return 0;
    }
    if (!strcmp(w[0], "max-connections")) {
        if (n != 2 || parse_uint(w[1], 1, 65536, &v))
            return perr(p, "invalid max-connections '%s' (expected 1..65536)", n > 1 ? w[1] : "");
        cfg->max_connections = (unsigned)v;
        return 0;
    }
    if (!strcmp(w[0], "request-timeout")) {
        if (n != 2 || parse_uint(w[1], 10, 600000, &v))
            return perr(p, "invalid request-timeout '%s' (milliseconds, 10..600000)",
                        n > 1 ? w[1] : "");
        cfg->request_timeout_ms = (unsigned)v;
        return 0;
    }
    if (!strcmp(w[0], "uplink")) {
        if (n != 2)
            return perr(p, "usage: uplink IFNAME");
        if (!valid_ifname(w[1]))
            return perr(p, "invalid interface name '%s'", w[1]);
        if (!strncmp(w[1], PND_DEV_PREFIX, strlen(PND_DEV_PREFIX)))
            return perr(p, "uplink '%s' uses the daemon's reserved prefix '%s'", w[1],
                        PND_DEV_PREFIX);
        if (uplink_declared(cfg, w[1]))
            return perr(p, "uplink '%s' declared twice", w[1]);
        if (cfg->nuplinks >= PND_MAX_UPLINKS)
            return perr(p, "too many uplinks (at most %d)", PND_MAX_UPLINKS);
        snprintf(cfg->uplinks[cfg->nuplinks++], PND_IFNAMSIZ, "%s", w[1]);
        return 0;
    }
    if (!strcmp(w[0], "pool")) {
        if (n != 3 || strcmp(w[2], "{"))
            return perr(p, "usage: pool NAME {");
        if (strlen(w[1]) >= sizeof(cfg->pools[0].name) || !isalnum((unsigned char)w[1][0]))
            return perr(p, "invalid pool name '%s'", w[1]);
        if (pool_index(cfg, w[1]) >= 0)
            return perr(p, "pool '%s' defined twice", w[1]);
        if (cfg->npools >= PND_MAX_POOLS)
            return perr(p, "too many pools (at most %d)", PND_MAX_POOLS);
        struct pnd_pool *pl = &cfg->pools[cfg->npools++];
        memset(pl, 0, sizeof(*pl));
        snprintf(pl->name, sizeof(pl->name), "%s", w[1]);
        pl->mtu = 1500;
        pl->mac_mode = PND_MAC_ASSIGN;
        pl->mac_prefix[0] = 0x02;
        pl->mac_prefix[1] = 0x50;
        pl->mac_prefix_len = 16;
        pl->line = p->line;
        p->pool = pl;
        return 0;
    }
    if (!strcmp(w[0], "allow"))
        return parse_allow(p, w, n);
    if (!strcmp(w[0], "}"))
        return perr(p, "'}' without a matching 'pool NAME {'");
    return perr(p, "unknown keyword '%s'", w[0]);
}

/* Splits one line (comments stripped) into words; '{' and '}' are words of their own. */
static int split_words(struct parser *p, char *line, char **w)
{
    int n = 0;
    char *s = line;
    char *hash = strchr(line, '#');
    if (hash)
        *hash = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\r')
            *s++ = 0;
        if (!*s)
            break;
        if (n >= MAX_WORDS)
            return perr(p, "line has too many words");
        if (*s == '{' || *s == '}') {
            /* Give the brace its own NUL-terminated word by copying it to a static slot. */
            w[n++] = *s == '{' ? "{" : "}";
            *s++ = 0;
            continue;
        }
        if (!isprint((unsigned char)*s))
            return perr(p, "unexpected control character (0x%02x)", (unsigned char)*s);
        w[n++] = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '{' && *s != '}') {
            if (!isprint((unsigned char)*s))
                return perr(p, "unexpected control character (0x%02x)", (unsigned char)*s);
            s++;
        }
        if (*s == '{' || *s == '}') {
            /* Keep the brace for the next round; terminate this word with a copy. */
            char c = *s;
            *s = 0;
            if (n >= MAX_WORDS)
                return perr(p, "line has too many words");
            w[n++] = c == '{' ? "{" : "}";
            s++;
        }
    }
    return n;
}

int pnd_config_parse(const char *path, const char *text, struct pnd_config *cfg, char *err,
                     size_t errlen)
{
    struct parser p = {.path = path, .cfg = cfg, .err = err, .errlen = errlen};
    pnd_config_defaults(cfg);
    snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    const char *s = text;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        char line[1024];
        char *w[MAX_WORDS];
        p.line++;
        if (len >= sizeof(line))
            return perr(&p, "line too long (at most %zu bytes)", sizeof(line) - 1);
        memcpy(line, s, len);
        line[len] = 0;
        s += len + (nl ? 1 : 0);
        int n = split_words(&p, line, w);
        if (n < 0)
            return -1;
        if (n == 0)
            continue;
        if ((p.pool ? parse_pool_line(&p, w, n) : parse_top_line(&p, w, n)) < 0)
            return -1;
    }
    if (p.pool) {
        p.line = p.pool->line;
        return perr(&p, "pool '%s' is not closed with '}'", p.pool->name);
    }
    if (cfg->nuplinks == 0) {
        p.line = 0;
        snprintf(err, errlen, "%s: no uplink declared", path);
        return -1;
    }
    return 0;
}

int pnd_config_load(const char *path, struct pnd_config *cfg, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(MAX_CONF_SIZE + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    size_t n = fread(buf, 1, MAX_CONF_SIZE + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || n > MAX_CONF_SIZE) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path, rerr ? "read error" : "file larger than 1 MiB");
        return -1;
    }
    buf[n] = 0;
    if (memchr(buf, 0, n)) {
        free(buf);
        snprintf(err, errlen, "%s: contains a NUL byte", path);
        return -1;
    }
    int r = pnd_config_parse(path, buf, cfg, err, errlen);
    free(buf);
    return r;
}
