/* tools/plebnet/linkspec.c — parses the shared link/interface options and the PLEBNET_*
 * environment, and opens the link they describe (see linkspec.h).
 * Call chain: cmd_* -> linkspec_option / linkspec_finish -> linkspec_open -> pn_link_*_new. */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "linkspec.h"
#include "plebnet/broker.h"
#include <time.h>

const char linkspec_help[] =
    "link options (or the environment variable in brackets; the command line wins):\n"
    "  --link SPEC        [PLEBNET_LINK] how frames reach the world:\n"
    "                       vxlan:REMOTE_IP[:PORT][,REMOTE_IP[:PORT]...][,local=IP[:PORT]]\n"
    "                             [,vni=N][,mtu=UNDERLAY_MTU]   (port 4789, vni 1, mtu 1500)\n"
    "                       tap:IFNAME | broker[:SOCKET] | loop (demo only)\n"
    "  --addr A.B.C.D/NN  [PLEBNET_ADDR] this stack's address and prefix (/24 if omitted)\n"
    "  --gw A.B.C.D       [PLEBNET_GW] default gateway (none: on-link destinations only)\n"
    "  --mac XX:XX:..     [PLEBNET_MAC] interface MAC (default: random, locally administered)\n"
    "  --pcap FILE        [PLEBNET_PCAP] write every frame to FILE (pcap)\n";

static int seterr(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int seterr(char *err, size_t len, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void linkspec_init(struct linkspec *ls)
{
    memset(ls, 0, sizeof(*ls));
    pn_vxlan_config_init(&ls->vx);
    ls->prefix_len = 24;
}

const char *linkspec_kind_name(enum linkspec_kind k)
{
    switch (k) {
    case LINKSPEC_LOOP:
        return "loop";
    case LINKSPEC_VXLAN:
        return "vxlan";
    case LINKSPEC_TAP:
        return "tap";
    case LINKSPEC_BROKER:
        return "broker";
    default:
        return "none";
    }
}

/* "IP[:PORT]" with the port within [pmin, 65535]; a missing port leaves *port alone. */
static int parse_ep(const char *s, struct pn_endpoint *ep, uint16_t pmin, bool allow_any,
                    const char *what, char *err, size_t errlen)
{
    char ip[32];
    const char *colon = strchr(s, ':');
    size_t iplen = colon ? (size_t)(colon - s) : strlen(s);
    if (iplen == 0 || iplen >= sizeof(ip))
        goto bad_ip;
    memcpy(ip, s, iplen);
    ip[iplen] = 0;
    if (pn_ip4_parse(ip, &ep->addr) < 0)
        goto bad_ip;
    if (!allow_any && ep->addr == 0)
        return seterr(err, errlen, "vxlan: %s address '%s' is 0.0.0.0", what, ip);
    if (colon) {
        uint64_t p;
        if (cli_parse_u64(colon + 1, pmin, 65535, &p) < 0)
            return seterr(err, errlen, "vxlan: bad %s port '%s' (want %u..65535)", what, colon + 1,
                          pmin);
        ep->port = (uint16_t)p;
    }
    return 0;
bad_ip:
    return seterr(err, errlen, "vxlan: bad %s address '%.*s' (want A.B.C.D)", what,
                  (int)(iplen > 40 ? 40 : iplen), s);
}

static int parse_vxlan(struct linkspec *ls, const char *params, char *err, size_t errlen)
{
    struct pn_vxlan_config *vx = &ls->vx;
    bool have_vni = false, have_local = false, have_mtu = false;
    char buf[512];
    if (strlen(params) >= sizeof(buf))
        return seterr(err, errlen, "vxlan: specification too long");
    strcpy(buf, params);
    char *save = NULL;
    if (!*buf || *buf == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
        return seterr(err, errlen, "vxlan: empty item (want vxlan:REMOTE_IP[:PORT][,...])");
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq || strncmp(item, "remote=", 7) == 0) {
            const char *r = eq ? eq + 1 : item;
            if (vx->n_remotes == PN_VXLAN_MAX_REMOTES)
                return seterr(err, errlen, "vxlan: more than %d remotes", PN_VXLAN_MAX_REMOTES);
            struct pn_endpoint ep = {0, PN_VXLAN_PORT};
            if (parse_ep(r, &ep, 1, false, "remote", err, errlen) < 0)
                return -1;
            if (ep.addr == PN_IP4_BROADCAST || (ep.addr >> 28) == 0xe)
                return seterr(err, errlen,
                              "vxlan: remote '%s' is not unicast (multicast groups are not "
                              "supported)",
                              r);
            vx->remotes[vx->n_remotes++] = ep;
            continue;
        }
        *eq = 0;
        const char *key = item, *val = eq + 1;
        if (strcmp(key, "local") == 0) {
            if (have_local)
                return seterr(err, errlen, "vxlan: local= given twice");
            have_local = true;
            vx->local.port = PN_VXLAN_PORT;
            if (parse_ep(val, &vx->local, 0, true, "local", err, errlen) < 0)
                return -1;
        } else if (strcmp(key, "vni") == 0) {
            uint64_t n;
            if (have_vni)
                return seterr(err, errlen, "vxlan: vni= given twice");
            have_vni = true;
            if (cli_parse_u64(val, 0, PN_VXLAN_VNI_MAX, &n) < 0)
                return seterr(err, errlen, "vxlan: bad vni '%s' (want 0..%u)", val,
                              PN_VXLAN_VNI_MAX);
            vx->vni = (uint32_t)n;
        } else if (strcmp(key, "mtu") == 0) {
            uint64_t n;
            if (have_mtu)
                return seterr(err, errlen, "vxlan: mtu= given twice");
            have_mtu = true;
            if (cli_parse_u64(val, 576 + PN_VXLAN_OVERHEAD, 65535, &n) < 0)
                return seterr(err, errlen, "vxlan: bad underlay mtu '%s' (want %u..65535)", val,
                              576 + PN_VXLAN_OVERHEAD);
            vx->underlay_mtu = (uint32_t)n;
        } else {
            return seterr(err, errlen,
                          "vxlan: unknown parameter '%s' (want remote=, local=, vni=, mtu=)", key);
        }
    }
    if (vx->n_remotes == 0)
        return seterr(err, errlen, "vxlan: no remote endpoint (want vxlan:REMOTE_IP[:PORT])");
    return 0;
}

int linkspec_parse_link(struct linkspec *ls, const char *s, char *err, size_t errlen)
{
    /* A fresh parse replaces a previous --link entirely. */
    ls->kind = LINKSPEC_NONE;
    pn_vxlan_config_init(&ls->vx);
    ls->ifname[0] = ls->broker[0] = 0;
    const char *colon = strchr(s, ':');
    size_t klen = colon ? (size_t)(colon - s) : strlen(s);
    const char *params = colon ? colon + 1 : NULL;
    if (klen == 5 && strncmp(s, "vxlan", 5) == 0) {
        if (!params || !*params)
            return seterr(err, errlen, "vxlan: no remote endpoint (want vxlan:REMOTE_IP[:PORT])");
        if (parse_vxlan(ls, params, err, errlen) < 0)
            return -1;
        ls->kind = LINKSPEC_VXLAN;
    } else if (klen == 4 && strncmp(s, "loop", 4) == 0) {
        if (params)
            return seterr(err, errlen, "loop: takes no parameters");
        ls->kind = LINKSPEC_LOOP;
    } else if (klen == 3 && strncmp(s, "tap", 3) == 0) {
        if (!params || !*params)
            return seterr(err, errlen, "tap: no interface name (want tap:IFNAME)");
        if (strlen(params) >= sizeof(ls->ifname) || strpbrk(params, "/: \t,"))
            return seterr(err, errlen,
                          "tap: bad interface name '%s' (1..15 characters, no '/', ':', ',' or "
                          "spaces)",
                          params);
        strcpy(ls->ifname, params);
        ls->kind = LINKSPEC_TAP;
    } else if (klen == 6 && strncmp(s, "broker", 6) == 0) {
        const char *path = params ? params : PN_BROKER_SOCKET;
        if (!*path)
            return seterr(err, errlen, "broker: empty socket path (want broker[:SOCKET])");
        if (strlen(path) >= sizeof(ls->broker) || strlen(path) >= 108)
            return seterr(err, errlen, "broker: socket path too long");
        strcpy(ls->broker, path);
        ls->kind = LINKSPEC_BROKER;
    } else {
        return seterr(err, errlen, "unknown link type '%.*s' (want vxlan:, tap:, broker or loop)",
                      (int)(klen > 40 ? 40 : klen), s);
    }
    return 0;
}

static int parse_addr(struct linkspec *ls, const char *s, char *err, size_t errlen)
{
    uint32_t a;
    uint8_t plen = 24;
    if (strchr(s, '/') ? pn_ip4_prefix_parse(s, &a, &plen) < 0 : pn_ip4_parse(s, &a) < 0)
        return seterr(err, errlen, "'%s' is not A.B.C.D/NN", s);
    /* A host address: not 0/8 ("this network"), loopback, multicast/class E or broadcast. */
    if ((a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) >= 0xe)
        return seterr(err, errlen, "'%s' is not a usable host address", s);
    if (plen < 31 && plen > 0) {
        uint32_t host = a & ~pn_ip4_mask(plen);
        if (host == 0 || host == ~pn_ip4_mask(plen))
            return seterr(err, errlen, "'%s' is the network or broadcast address of its prefix", s);
    }
    ls->addr = a;
    ls->prefix_len = plen;
    ls->have_addr = true;
    return 0;
}

static int parse_gw(struct linkspec *ls, const char *s, char *err, size_t errlen)
{
    uint32_t a;
    if (pn_ip4_parse(s, &a) < 0)
        return seterr(err, errlen, "'%s' is not A.B.C.D", s);
    if (a == 0 || (a >> 28) >= 0xe || (a >> 24) == 127)
        return seterr(err, errlen, "'%s' is not a usable gateway address", s);
    ls->gw = a;
    ls->have_gw = true;
    return 0;
}

static int parse_mac(struct linkspec *ls, const char *s, char *err, size_t errlen)
{
    struct pn_mac m;
    static const struct pn_mac zero;
    if (pn_mac_parse(s, &m) < 0)
        return seterr(err, errlen, "'%s' is not XX:XX:XX:XX:XX:XX", s);
    if (pn_mac_is_multicast(&m) || pn_mac_equal(&m, &zero))
        return seterr(err, errlen, "'%s' is not a unicast MAC address", s);
    ls->mac = m;
    ls->have_mac = true;
    return 0;
}

static int parse_pcap(struct linkspec *ls, const char *s, char *err, size_t errlen)
{
    if (!*s)
        return seterr(err, errlen, "empty file name");
    if (strlen(s) >= sizeof(ls->pcap))
        return seterr(err, errlen, "file name too long");
    strcpy(ls->pcap, s);
    ls->have_pcap = true;
    return 0;
}

/* Parses one value; `who` names its source in the error ("--addr", "PLEBNET_ADDR"). */
static int parse_one(struct linkspec *ls, int opt, const char *arg, const char *who, char *err,
                     size_t errlen)
{
    char why[384];
    int r;
    switch (opt) {
    case LINKSPEC_OPT_LINK:
        r = linkspec_parse_link(ls, arg, why, sizeof(why));
        break;
    case LINKSPEC_OPT_ADDR:
        r = parse_addr(ls, arg, why, sizeof(why));
        break;
    case LINKSPEC_OPT_GW:
        r = parse_gw(ls, arg, why, sizeof(why));
        break;
    case LINKSPEC_OPT_MAC:
        r = parse_mac(ls, arg, why, sizeof(why));
        break;
    case LINKSPEC_OPT_PCAP:
        r = parse_pcap(ls, arg, why, sizeof(why));
        break;
    default:
        return 0;
    }
    if (r < 0) {
        if (opt == LINKSPEC_OPT_LINK)
            return seterr(err, errlen, "%s '%.200s': %s", who, arg, why);
        return seterr(err, errlen, "%s: %s", who, why);
    }
    return 1;
}

static const char *const opt_names[] = {"--link", "--addr", "--gw", "--mac", "--pcap"};
static const char *const env_names[] = {"PLEBNET_LINK", "PLEBNET_ADDR", "PLEBNET_GW", "PLEBNET_MAC",
                                        "PLEBNET_PCAP"};

int linkspec_option(struct linkspec *ls, int opt, const char *arg, char *err, size_t errlen)
{
    if (opt < LINKSPEC_OPT_LINK || opt > LINKSPEC_OPT_PCAP)
        return 0;
    return parse_one(ls, opt, arg, opt_names[opt - LINKSPEC_OPT_LINK], err, errlen);
}

int linkspec_finish(struct linkspec *ls, char *err, size_t errlen)
{
    bool have[] = {ls->kind != LINKSPEC_NONE, ls->have_addr, ls->have_gw, ls->have_mac,
                   ls->have_pcap};
    for (int i = 0; i < 5; i++) {
        if (have[i])
            continue;
        const char *v = getenv(env_names[i]);
        if (v && *v && parse_one(ls, LINKSPEC_OPT_LINK + i, v, env_names[i], err, errlen) < 0)
            return -1;
    }
    if (ls->kind == LINKSPEC_NONE)
        return seterr(err, errlen,
                      "no link: give --link SPEC or set PLEBNET_LINK (e.g. vxlan:192.0.2.1)");
    /* A broker lease brings its own address (--addr then asks for a particular one). */
    if (!ls->have_addr && ls->kind != LINKSPEC_BROKER)
        return seterr(err, errlen, "no address: give --addr A.B.C.D/NN or set PLEBNET_ADDR");
    return 0;
}

int linkspec_open(const struct linkspec *ls, struct pn_link **out, struct pn_stack_config *cfg,
                  char *err, size_t errlen)
{
    return linkspec_open_ex(ls, out, NULL, cfg, err, errlen);
}

int linkspec_open_ex(const struct linkspec *ls, struct pn_link **out, struct pn_link **inner,
                     struct pn_stack_config *cfg, char *err, size_t errlen)
{
    struct pn_link *l = NULL;
    char why[256] = "";
    int rc;
    struct pn_broker_reply lease;
    bool leased = false;
    switch (ls->kind) {
    case LINKSPEC_VXLAN:
        rc = pn_link_vxlan_new(&ls->vx, &l, why, sizeof(why));
        if (rc < 0) {
            seterr(err, errlen, "vxlan: %s", why);
            return rc;
        }
        break;
    case LINKSPEC_LOOP:
        seterr(err, errlen,
               "--link loop joins two stacks inside one process: only 'plebnet demo' can use it");
        return PN_ENOTSUP;
    case LINKSPEC_TAP:
        seterr(err, errlen, "--link tap:%s: tap links are not supported yet (use vxlan:...)",
               ls->ifname);
        return PN_ENOTSUP;
    case LINKSPEC_BROKER: {
        /* plebnetd leases the address and MAC; --addr and --mac ask for particular ones. */
        struct pn_broker_request want;
        memset(&want, 0, sizeof(want));
        if (ls->have_addr) {
            want.ip[0] = (uint8_t)(ls->addr >> 24);
            want.ip[1] = (uint8_t)(ls->addr >> 16);
            want.ip[2] = (uint8_t)(ls->addr >> 8);
            want.ip[3] = (uint8_t)ls->addr;
        }
        if (ls->have_mac)
            memcpy(want.mac, ls->mac.b, 6);
        rc = pn_link_broker_open(ls->broker[0] ? ls->broker : NULL, &want, &lease, &l, why,
                                 sizeof(why));
        if (rc < 0) {
            seterr(err, errlen, "broker: %s", why[0] ? why : pn_strerror(rc));
            return rc;
        }
        leased = true;
        break;
    }
    default:
        seterr(err, errlen, "no link given");
        return PN_EINVAL;
    }
    if (inner)
        *inner = l;
    if (ls->have_pcap) {
        struct pn_link *w;
        rc = pn_link_pcap_wrap(l, ls->pcap, cli_epoch_offset(), &w, why, sizeof(why));
        if (rc < 0) {
            pn_link_destroy(l);
            seterr(err, errlen, "--pcap: cannot write '%s': %s", ls->pcap,
                   why[0] ? why : pn_strerror(rc));
            return rc;
        }
        l = w;
    }
    if (leased) {
        /* The lease decides: the descriptor only carries this MAC and address. */
        memcpy(cfg->mac.b, lease.mac, 6);
        cfg->addr = (uint32_t)lease.ip[0] << 24 | (uint32_t)lease.ip[1] << 16 |
                    (uint32_t)lease.ip[2] << 8 | lease.ip[3];
        cfg->prefix_len = lease.prefix;
        cfg->gateway = (uint32_t)lease.gateway[0] << 24 | (uint32_t)lease.gateway[1] << 16 |
                       (uint32_t)lease.gateway[2] << 8 | lease.gateway[3];
        cfg->mtu = lease.mtu;
    } else {
        if (ls->have_mac)
            cfg->mac = ls->mac;
        else
            cli_random_mac(&cfg->mac);
        cfg->addr = ls->addr;
        cfg->prefix_len = ls->prefix_len;
        cfg->gateway = ls->have_gw ? ls->gw : 0;
    }
    cli_random(cfg->secret, sizeof(cfg->secret));
    *out = l;
    return 0;
}

int linkstack_open(const struct linkspec *ls, struct linkstack *st, char *err, size_t errlen)
{
    struct pn_stack_config cfg;
    memset(st, 0, sizeof(*st));
    pn_stack_config_init(&cfg);
    int rc = linkspec_open_ex(ls, &st->link, &st->inner, &cfg, err, errlen);
    if (rc < 0)
        return rc;
    rc = pn_stack_new(&cfg, st->link, cli_now(), &st->stack);
    if (rc < 0) {
        seterr(err, errlen, "cannot create the stack: %s", pn_strerror(rc));
        pn_link_destroy(st->link);
        memset(st, 0, sizeof(*st));
    }
    return rc;
}

void linkstack_close(struct linkstack *st)
{
    pn_stack_free(st->stack);
    pn_link_destroy(st->link); /* after the stack: a pcap wrapper flushes its file here */
    memset(st, 0, sizeof(*st));
}

int linkstack_wait(struct linkstack *st, uint64_t until, struct pollfd *extra, int nextra)
{
    struct pollfd pfd[1 + 8];
    if (nextra > 8)
        nextra = 8;
    int n = 0, lfd = pn_stack_fd(st->stack);
    if (lfd >= 0)
        pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
    for (int i = 0; i < nextra; i++) {
        extra[i].revents = 0;
        pfd[n++] = extra[i];
    }
    uint64_t now = cli_now(), d = pn_stack_next_deadline(st->stack);
    if (until < d)
        d = until;
    struct timespec ts = {0, 0}, *tsp = NULL;
    if (d != PN_TIME_NEVER) {
        uint64_t w = d > now ? d - now : 0;
        ts.tv_sec = (time_t)(w / 1000000000ull);
        ts.tv_nsec = (long)(w % 1000000000ull);
        tsp = &ts;
    }
    int r = ppoll(pfd, (nfds_t)n, tsp, NULL);
    int ready = 0;
    if (r > 0) {
        for (int i = 0; i < nextra; i++) {
            extra[i].revents = pfd[n - nextra + i].revents;
            if (extra[i].revents)
                ready++;
        }
    } else if (r < 0 && errno != EINTR) {
        return PN_EIO;
    }
    int pr = pn_stack_poll(st->stack, cli_now());
    return pr < 0 ? pr : ready;
}
