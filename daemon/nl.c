/* nl.c — the few rtnetlink requests the parent needs: create/delete veth pairs, set links up,
 * join a bridge with learning and flooding off, add a static fdb entry, list links.
 * Call chain: parent lease_create/lease_destroy/cleanup_leftovers -> pnd_nl_* -> nl_talk. */
#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "nl.h"
#include "pnd.h"

#ifndef AF_BRIDGE
#define AF_BRIDGE 7
#endif

struct nlreq {
    union {
        struct nlmsghdr n;
        char buf[1024];
    };
};

int pnd_nl_open(struct pnd_nl *nl)
{
    nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl->fd < 0)
        return -errno;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(nl->fd);
        nl->fd = -1;
        return -e;
    }
    int one = 1;
    setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    nl->seq = 1;
    return 0;
}

void pnd_nl_close(struct pnd_nl *nl)
{
    if (nl->fd >= 0)
        close(nl->fd);
    nl->fd = -1;
}

static void *msg_tail(struct nlmsghdr *n)
{
    return (char *)n + NLMSG_ALIGN(n->nlmsg_len);
}

static void msg_init(struct nlreq *r, uint16_t type, uint16_t flags, const void *hdr, size_t hdrlen)
{
    memset(r, 0, sizeof(*r));
    r->n.nlmsg_len = (uint32_t)NLMSG_LENGTH(hdrlen);
    r->n.nlmsg_type = type;
    r->n.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
    memcpy(NLMSG_DATA(&r->n), hdr, hdrlen);
}

/* Appends an attribute; the fixed buffer is sized for our requests, overflow is a bug. */
static struct rtattr *attr_put(struct nlreq *r, uint16_t type, const void *data, size_t len)
{
    size_t alen = RTA_LENGTH(len);
    if (NLMSG_ALIGN(r->n.nlmsg_len) + RTA_ALIGN(alen) > sizeof(r->buf))
        pnd_fatalx("%s: netlink request overflow", __func__);
    struct rtattr *a = msg_tail(&r->n);
    a->rta_type = type;
    a->rta_len = (unsigned short)alen;
    if (len)
        memcpy(RTA_DATA(a), data, len);
    r->n.nlmsg_len = (uint32_t)(NLMSG_ALIGN(r->n.nlmsg_len) + RTA_ALIGN(alen));
    return a;
}

static struct rtattr *nest_start(struct nlreq *r, uint16_t type)
{
    return attr_put(r, type, NULL, 0);
}

static void nest_end(struct nlreq *r, struct rtattr *a)
{
    a->rta_len = (unsigned short)((char *)msg_tail(&r->n) - (char *)a);
}

/* Sends one request and waits for its ACK. Returns 0 or -errno from the kernel. */
static int nl_talk(struct pnd_nl *nl, struct nlreq *r)
{
    r->n.nlmsg_seq = ++nl->seq;
    if (send(nl->fd, &r->n, r->n.nlmsg_len, 0) < 0)
        return -errno;
    char buf[8192];
    for (int tries = 0; tries < 64; tries++) {
        ssize_t len = recv(nl->fd, buf, sizeof(buf), 0);
        if (len < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != nl->seq)
                continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                return e->error;
            }
        }
    }
    return -EIO;
}

int pnd_nl_veth_create(struct pnd_nl *nl, const char *host, const char *peer,
                       const uint8_t peer_mac[6], unsigned mtu, int peer_netns_fd)
{
    struct nlreq r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    uint32_t m = mtu, nsfd = (uint32_t)peer_netns_fd;
    msg_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
    attr_put(&r, IFLA_IFNAME, host, strlen(host) + 1);
    attr_put(&r, IFLA_MTU, &m, 4);
    struct rtattr *li = nest_start(&r, IFLA_LINKINFO);
    attr_put(&r, IFLA_INFO_KIND, "veth", 4);
    struct rtattr *data = nest_start(&r, IFLA_INFO_DATA);
    struct rtattr *pe = attr_put(&r, VETH_INFO_PEER, &ifi, sizeof(ifi));
    attr_put(&r, IFLA_IFNAME, peer, strlen(peer) + 1);
    attr_put(&r, IFLA_ADDRESS, peer_mac, 6);
    attr_put(&r, IFLA_MTU, &m, 4);
    attr_put(&r, IFLA_NET_NS_FD, &nsfd, 4);
    nest_end(&r, pe);
    nest_end(&r, data);
    nest_end(&r, li);
    return nl_talk(nl, &r);
}

int pnd_nl_link_up(struct pnd_nl *nl, int ifindex, const char *name)
{
    struct nlreq r;
    struct ifinfomsg ifi = {
        .ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
    msg_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    if (name)
        attr_put(&r, IFLA_IFNAME, name, strlen(name) + 1);
    return nl_talk(nl, &r);
}

int pnd_nl_set_master(struct pnd_nl *nl, int ifindex, int master)
{
    struct nlreq r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
    uint32_t m = (uint32_t)master;
    msg_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
    attr_put(&r, IFLA_MASTER, &m, 4);
    return nl_talk(nl, &r);
}

int pnd_nl_brport_lock(struct pnd_nl *nl, int ifindex)
{
    struct nlreq r;
    struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = ifindex};
    uint8_t off = 0;
    msg_init(&r, RTM_SETLINK, 0, &ifi, sizeof(ifi));
    struct rtattr *pi = nest_start(&r, IFLA_PROTINFO | NLA_F_NESTED);
    attr_put(&r, IFLA_BRPORT_LEARNING, &off, 1);
    attr_put(&r, IFLA_BRPORT_UNICAST_FLOOD, &off, 1);
    nest_end(&r, pi);
    return nl_talk(nl, &r);
}

int pnd_nl_fdb_add(struct pnd_nl *nl, int ifindex, const uint8_t mac[6])
{
    struct nlreq r;
    /* NUD_NOARP = "static": forwarded to this port and never aged; NUD_PERMANENT would mean
     * "local", i.e. delivered to the bridge itself. */
    struct ndmsg nd = {.ndm_family = AF_BRIDGE,
                       .ndm_ifindex = ifindex,
                       .ndm_state = NUD_NOARP,
                       .ndm_flags = NTF_MASTER};
    msg_init(&r, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &nd, sizeof(nd));
    attr_put(&r, NDA_LLADDR, mac, 6);
    return nl_talk(nl, &r);
}

int pnd_nl_link_del(struct pnd_nl *nl, int ifindex)
{
    struct nlreq r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
    msg_init(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
    return nl_talk(nl, &r);
}

int pnd_nl_link_get(struct pnd_nl *nl, const char *name, struct pnd_nl_link *out)
{
    struct nlreq r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    msg_init(&r, RTM_GETLINK, 0, &ifi, sizeof(ifi));
    r.n.nlmsg_flags = NLM_F_REQUEST;
    attr_put(&r, IFLA_IFNAME, name, strlen(name) + 1);
    r.n.nlmsg_seq = ++nl->seq;
    if (send(nl->fd, &r.n, r.n.nlmsg_len, 0) < 0)
        return -errno;
    char buf[16384];
    ssize_t len = recv(nl->fd, buf, sizeof(buf), 0);
    if (len < 0)
        return -errno;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
         h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type == NLMSG_ERROR)
            return ((const struct nlmsgerr *)NLMSG_DATA(h))->error;
        if (h->nlmsg_type != RTM_NEWLINK)
            continue;
        const struct ifinfomsg *i = NLMSG_DATA(h);
        memset(out, 0, sizeof(*out));
        out->operstate = out->brport_state = -1;
        out->ifindex = i->ifi_index;
        out->flags = i->ifi_flags;
        int alen = (int)IFLA_PAYLOAD(h);
        for (const struct rtattr *a = IFLA_RTA(i); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
            if (a->rta_type == IFLA_IFNAME)
                snprintf(out->name, sizeof(out->name), "%.*s", (int)RTA_PAYLOAD(a),
                         (const char *)RTA_DATA(a));
            else if (a->rta_type == IFLA_OPERSTATE && RTA_PAYLOAD(a) >= 1)
                out->operstate = *(const uint8_t *)RTA_DATA(a);
            else if (a->rta_type == IFLA_LINKINFO) {
                int llen = (int)RTA_PAYLOAD(a);
                for (const struct rtattr *b = RTA_DATA(a); RTA_OK(b, llen); b = RTA_NEXT(b, llen)) {
                    if (b->rta_type == IFLA_INFO_KIND)
                        snprintf(out->kind, sizeof(out->kind), "%.*s", (int)RTA_PAYLOAD(b),
                                 (const char *)RTA_DATA(b));
                    if (b->rta_type != IFLA_INFO_SLAVE_DATA)
                        continue;
                    int slen = (int)RTA_PAYLOAD(b);
                    for (const struct rtattr *c = RTA_DATA(b); RTA_OK(c, slen);
                         c = RTA_NEXT(c, slen))
                        if (c->rta_type == IFLA_BRPORT_STATE && RTA_PAYLOAD(c) >= 1)
                            out->brport_state = *(const uint8_t *)RTA_DATA(c);
                }
            }
        }
        return 0;
    }
    return -ENODEV;
}

int pnd_nl_link_dump(struct pnd_nl *nl, pnd_nl_link_cb cb, void *arg)
{
    struct nlreq r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    msg_init(&r, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
    r.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    r.n.nlmsg_seq = ++nl->seq;
    if (send(nl->fd, &r.n, r.n.nlmsg_len, 0) < 0)
        return -errno;
    static char buf[65536];
    for (;;) {
        ssize_t len = recv(nl->fd, buf, sizeof(buf), 0);
        if (len < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR)
                return ((const struct nlmsgerr *)NLMSG_DATA(h))->error;
            if (h->nlmsg_type != RTM_NEWLINK)
                continue;
            const struct ifinfomsg *i = NLMSG_DATA(h);
            struct pnd_nl_link l = {.ifindex = i->ifi_index, .flags = i->ifi_flags};
            int alen = (int)IFLA_PAYLOAD(h);
            for (const struct rtattr *a = IFLA_RTA(i); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                if (a->rta_type == IFLA_IFNAME)
                    snprintf(l.name, sizeof(l.name), "%.*s", (int)RTA_PAYLOAD(a),
                             (const char *)RTA_DATA(a));
            cb(&l, arg);
        }
    }
}
