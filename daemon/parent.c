/* parent.c — the privileged half of plebnetd: sets up (socket, BPF, leftovers), forks the
 * engine, drops to CAP_NET_ADMIN/NET_RAW/SYS_ADMIN, then only builds and tears down leases
 * on the engine's fixed-size requests. Call chain: main -> pnd_parent_main -> parent_loop ->
 * handle_create (lease_build) / handle_destroy (lease_teardown). */
#include <arpa/inet.h>
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>

#define PND_OPER_UP 6 /* IF_OPER_UP (RFC 2863), from linux/if.h which clashes with net/if.h */
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nl.h"
#include "pnd.h"
#include "pnd_filter.skel.h"

/* Value of the pnd_leases BPF map; must match struct lease in bpf/pnd_filter.bpf.c. */
struct bpf_lease {
    uint8_t mac[6];
    uint8_t pad[2];
    uint32_t ip; /* network order */
    uint32_t pad2;
    uint64_t in_pass, in_drop, out_pass, out_drop;
};

struct plea {
    bool used;
    uint32_t id;
    int ifindex; /* host-side end */
    char dev[PND_IFNAMSIZ];
    uint32_t ip, uid, pid;
    uint8_t mac[6];
    char uplink[PND_IFNAMSIZ];
};

struct parent {
    const struct pnd_config *cfg;
    int engine; /* socketpair end */
    pid_t engine_pid;
    int home_ns; /* our own network namespace, to return to after building a lease */
    struct pnd_nl nl;
    struct pnd_filter *bpf;
    int map_fd, prog_in, prog_out;
    struct plea *leases;
    size_t nleases;
};

/* ---- small helpers ---- */

static int write_file(const char *path, const char *val)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, val, strlen(val));
    int e = n < 0 ? -errno : 0;
    close(fd);
    return e;
}

static bool is_host_address(uint32_t ip)
{
    struct ifaddrs *ifa, *i;
    bool found = false;
    if (getifaddrs(&ifa) < 0)
        return true; /* fail closed */
    for (i = ifa; i; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
            ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr) == ip)
            found = true;
    freeifaddrs(ifa);
    return found;
}

static bool is_lease_dev(const char *name)
{
    size_t pl = strlen(PND_DEV_PREFIX);
    if (strlen(name) != pl + 8 || strncmp(name, PND_DEV_PREFIX, pl))
        return false;
    for (size_t i = pl; i < pl + 8; i++)
        if (!strchr("0123456789abcdef", name[i]))
            return false;
    return true;
}

static void collect_leftover(const struct pnd_nl_link *l, void *arg)
{
    int *list = arg;
    if (is_lease_dev(l->name) && list[0] < 1023)
        list[1 + list[0]++] = l->ifindex;
}

/* Deletes every host-side lease device left by a previous run (their peers, filters and fdb
 * entries go with them, so old descriptors die). */
static void cleanup_leftovers(struct parent *P)
{
    static int list[1024];
    for (int round = 0; round < 64; round++) {
        list[0] = 0;
        int e = pnd_nl_link_dump(&P->nl, collect_leftover, list);
        if (e < 0)
            pnd_fatalx("%s: link dump: %s", __func__, strerror(-e));
        if (list[0] == 0)
            return;
        for (int i = 0; i < list[0]; i++) {
            e = pnd_nl_link_del(&P->nl, list[1 + i]);
            if (e < 0 && e != -ENODEV)
                pnd_log_warnx("%s: delete ifindex %d: %s", __func__, list[1 + i], strerror(-e));
            else
                pnd_log_info("removed leftover lease device (ifindex %d)", list[1 + i]);
        }
    }
}

/* ---- the per-lease classic BPF receive filter ---- */

enum { F_ACCEPT = 20, F_DROP = 21, F_LEN = 22 };

/* Accepts only frames to the lease: IPv4 with destination MAC and IP = lease; ARP to the
 * lease MAC; broadcast ARP whose target IP is the lease IP. Never the holder's own frames. */
static void rx_filter_build(struct sock_filter f[F_LEN], const uint8_t mac[6], uint32_t ip)
{
    uint32_t hi = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
    uint32_t lo = (uint32_t)mac[4] << 8 | mac[5];
#define J(pc, k, t, fl)                                                                            \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, (uint8_t)((t) - (pc)-1), (uint8_t)((fl) - (pc)-1))
    struct sock_filter prog[F_LEN] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
        /* 1 */ J(1, PACKET_OUTGOING, F_DROP, 2),
        /* 2 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
        /* 3 */ J(3, ETH_P_IP, 4, 10),
        /* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
        /* 5 */ J(5, hi, 6, F_DROP),
        /* 6 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),
        /* 7 */ J(7, lo, 8, F_DROP),
        /* 8 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 30),
        /* 9 */ J(9, ip, F_ACCEPT, F_DROP),
        /* 10 */ J(10, ETH_P_ARP, 11, F_DROP),
        /* 11 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
        /* 12 */ J(12, hi, 13, 15),
        /* 13 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),
        /* 14 */ J(14, lo, F_ACCEPT, F_DROP),
        /* 15 */ J(15, 0xffffffffu, 16, F_DROP),
        /* 16 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),
        /* 17 */ J(17, 0xffff, 18, F_DROP),
        /* 18 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 38),
        /* 19 */ J(19, ip, F_ACCEPT, F_DROP),
        /* 20 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
        /* 21 */ BPF_STMT(BPF_RET | BPF_K, 0),
    };
#undef J
    memcpy(f, prog, sizeof(prog));
}

/* ---- building and tearing down a lease ---- */

static struct plea *lease_find(struct parent *P, uint32_t id)
{
    for (size_t i = 0; i < P->nleases; i++)
        if (P->leases[i].used && P->leases[i].id == id)
            return &P->leases[i];
    return NULL;
}

static struct plea *lease_slot(struct parent *P)
{
    for (size_t i = 0; i < P->nleases; i++)
        if (!P->leases[i].used)
            return &P->leases[i];
    return NULL;
}

/* Creates the lease's namespace and, inside it, the packet socket and a netlink socket.
 * Always returns to the home namespace (fatal if it cannot: we would build the next lease
 * in the wrong place). */
static int lease_netns(struct parent *P, int *nsfd, int *pkt, struct pnd_nl *inner)
{
    int e = 0;
    *nsfd = *pkt = -1;
    inner->fd = -1;
    if (unshare(CLONE_NEWNET) < 0)
        return -errno;
    /* No IPv6 in the lease namespace: its kernel must not send DAD or router solicitations. */
    write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
    write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    *nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (*nsfd < 0)
        e = -errno;
    if (!e) {
        /* Protocol 0: nothing is queued before the filter is attached and the socket bound. */
        *pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (*pkt < 0)
            e = -errno;
    }
    if (!e)
        e = pnd_nl_open(inner);
    if (setns(P->home_ns, CLONE_NEWNET) < 0)
        pnd_fatal("%s: setns back to the home namespace", __func__);
    if (e) {
        if (*nsfd >= 0)
            close(*nsfd);
        if (*pkt >= 0)
            close(*pkt);
        pnd_nl_close(inner);
        *nsfd = *pkt = -1;
    }
    return e;
}

static int tc_attach(struct parent *P, int ifindex)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
    int e = bpf_tc_hook_create(&hook);
    if (e < 0 && e != -EEXIST)
        return e;
    hook.attach_point = BPF_TC_INGRESS;
    LIBBPF_OPTS(bpf_tc_opts, in, .prog_fd = P->prog_in, .handle = 1, .priority = 1);
    if ((e = bpf_tc_attach(&hook, &in)) < 0)
        return e;
    hook.attach_point = BPF_TC_EGRESS;
    LIBBPF_OPTS(bpf_tc_opts, out, .prog_fd = P->prog_out, .handle = 1, .priority = 1);
    return bpf_tc_attach(&hook, &out);
}

/* Carrier changes reach the qdiscs and the bridge port state asynchronously (linkwatch);
 * frames sent before that are dropped. Wait (at most 1 s) until both ends are up and the
 * port forwards, so the client's first frames get through. */
static void wait_forwarding(struct parent *P, const struct plea *L, struct pnd_nl *inner)
{
    struct pnd_nl_link h, i;
    for (int n = 0; n < 500; n++) {
        if (pnd_nl_link_get(&P->nl, L->dev, &h) == 0 &&
            pnd_nl_link_get(inner, PND_INNER_NAME, &i) == 0 && h.operstate == PND_OPER_UP &&
            i.operstate == PND_OPER_UP && h.brport_state == BR_STATE_FORWARDING)
            return;
        usleep(2000);
    }
    pnd_log_warnx("lease %08x: %s not forwarding after 1 s", L->id, L->dev);
}

/* Builds everything for one lease. On success *pkt_out is the bound, filtered, locked packet
 * socket and *inner_ifindex its device's index. Returns a PN_BROKER_* status. */
static int lease_build(struct parent *P, const struct pnd_imsg_create *m, struct plea *L,
                       int *pkt_out, uint32_t *inner_ifindex)
{
    const char *what = "";
    int e = 0, nsfd = -1, pkt = -1, uplink;
    struct pnd_nl inner = {.fd = -1};
    struct pnd_nl_link link;
    bool veth = false, mapped = false;
    char path[128];

    memset(L, 0, sizeof(*L));
    L->id = m->lease_id;
    L->ip = m->ip;
    L->uid = m->uid;
    L->pid = m->pid;
    memcpy(L->mac, m->mac, 6);
    memcpy(L->uplink, m->uplink, sizeof(L->uplink));
    snprintf(L->dev, sizeof(L->dev), PND_DEV_PREFIX "%08x", m->lease_id);

    if (is_host_address(m->ip)) {
        pnd_log_info("lease %08x: uid %u: %s is a host address", m->lease_id, m->uid,
                     pnd_ip_str(m->ip));
        return PN_BROKER_ADDR_IN_USE;
    }
    e = pnd_nl_link_get(&P->nl, m->uplink, &link);
    if (e < 0 || strcmp(link.kind, "bridge")) {
        pnd_log_warnx("lease %08x: uplink %s: %s", m->lease_id, m->uplink,
                      e < 0 ? strerror(-e) : "not a bridge");
        return PN_BROKER_INTERNAL;
    }
    uplink = link.ifindex;

    if ((e = lease_netns(P, &nsfd, &pkt, &inner)) < 0) {
        what = "create namespace";
        goto fail;
    }
    what = "create veth";
    if ((e = pnd_nl_veth_create(&P->nl, L->dev, PND_INNER_NAME, m->mac, m->mtu, nsfd)) < 0)
        goto fail;
    veth = true;
    close(nsfd);
    nsfd = -1;
    what = "look up host device";
    if ((e = pnd_nl_link_get(&P->nl, L->dev, &link)) < 0)
        goto fail;
    L->ifindex = link.ifindex;
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", L->dev);
    write_file(path, "1");

    /* Filters first, then the bridge, then up: no frame ever crosses unfiltered. */
    struct bpf_lease v = {.ip = htonl(m->ip)};
    memcpy(v.mac, m->mac, 6);
    uint32_t key = (uint32_t)L->ifindex;
    what = "map update";
    if (bpf_map_update_elem(P->map_fd, &key, &v, BPF_NOEXIST) < 0) {
        e = -errno;
        goto fail;
    }
    mapped = true;
    what = "attach tc filters";
    if ((e = tc_attach(P, L->ifindex)) < 0)
        goto fail;
    what = "join uplink";
    if ((e = pnd_nl_set_master(&P->nl, L->ifindex, uplink)) < 0)
        goto fail;
    what = "bridge port flags";
    if ((e = pnd_nl_brport_lock(&P->nl, L->ifindex)) < 0)
        goto fail;
    what = "static fdb entry";
    if ((e = pnd_nl_fdb_add(&P->nl, L->ifindex, m->mac)) < 0)
        goto fail;
    what = "host device up";
    if ((e = pnd_nl_link_up(&P->nl, L->ifindex, NULL)) < 0)
        goto fail;
    what = "inner device up";
    if ((e = pnd_nl_link_up(&inner, 0, PND_INNER_NAME)) < 0)
        goto fail;
    what = "look up inner device";
    if ((e = pnd_nl_link_get(&inner, PND_INNER_NAME, &link)) < 0)
        goto fail;
    wait_forwarding(P, L, &inner);
    pnd_nl_close(&inner);

    struct sock_filter f[F_LEN];
    rx_filter_build(f, m->mac, m->ip);
    struct sock_fprog fp = {.len = F_LEN, .filter = f};
    int one = 1;
    what = "attach receive filter";
    if (setsockopt(pkt, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0)
        goto fail_errno;
    what = "lock receive filter";
    if (setsockopt(pkt, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)) < 0)
        goto fail_errno;
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = link.ifindex};
    what = "bind packet socket";
    if (bind(pkt, (struct sockaddr *)&sll, sizeof(sll)) < 0)
        goto fail_errno;
    *pkt_out = pkt;
    *inner_ifindex = (uint32_t)link.ifindex;
    L->used = true;
    return PN_BROKER_OK;

fail_errno:
    e = -errno;
fail:
    pnd_log_warnx("lease %08x: %s: %s", m->lease_id, what, strerror(-e));
    if (veth && L->ifindex)
        pnd_nl_link_del(&P->nl, L->ifindex);
    else if (veth && pnd_nl_link_get(&P->nl, L->dev, &link) == 0)
        pnd_nl_link_del(&P->nl, link.ifindex);
    if (mapped) {
        uint32_t k = (uint32_t)L->ifindex;
        bpf_map_delete_elem(P->map_fd, &k);
    }
    if (nsfd >= 0)
        close(nsfd);
    if (pkt >= 0)
        close(pkt);
    pnd_nl_close(&inner);
    return PN_BROKER_INTERNAL;
}

static void lease_teardown(struct parent *P, struct plea *L, const char *why)
{
    struct bpf_lease v = {0};
    uint32_t key = (uint32_t)L->ifindex;
    bpf_map_lookup_elem(P->map_fd, &key, &v);
    /* Deleting the host end deletes its peer: the holder's descriptor dies (ENXIO). */
    int e = pnd_nl_link_del(&P->nl, L->ifindex);
    if (e < 0 && e != -ENODEV)
        pnd_log_warnx("lease %08x: delete %s: %s", L->id, L->dev, strerror(-e));
    bpf_map_delete_elem(P->map_fd, &key);
    pnd_log_info("lease %08x released (%s): uid %u ip %s mac %s dev %s; from holder %llu "
                 "passed %llu dropped; to holder %llu passed %llu dropped",
                 L->id, why, L->uid, pnd_ip_str(L->ip), pnd_mac_str(L->mac), L->dev,
                 (unsigned long long)v.in_pass, (unsigned long long)v.in_drop,
                 (unsigned long long)v.out_pass, (unsigned long long)v.out_drop);
    L->used = false;
}

/* ---- engine message handlers: each checks the exact length first ---- */

static void send_result(struct parent *P, uint32_t id, uint32_t status, uint32_t ifindex, int fd)
{
    struct pnd_imsg_result r = {
        .hdr = {PND_IMSG_RESULT, sizeof(r)}, .lease_id = id, .status = status, .ifindex = ifindex};
    int e = pnd_imsg_send(P->engine, &r, sizeof(r), fd);
    if (e < 0)
        pnd_log_warnx("%s: %s", __func__, strerror(-e));
}

static void handle_create(struct parent *P, const void *buf, size_t len)
{
    struct pnd_imsg_create m;
    if (len != sizeof(m))
        pnd_fatalx("%s: bad message length %zu", __func__, len);
    memcpy(&m, buf, sizeof(m));
    /* The engine is less trusted than we are: re-check what we act on. */
    bool uplink_ok = false;
    for (int i = 0; i < P->cfg->nuplinks; i++)
        if (!strncmp(P->cfg->uplinks[i], m.uplink, PND_IFNAMSIZ))
            uplink_ok = true;
    if (!uplink_ok || memchr(m.uplink, 0, sizeof(m.uplink)) == NULL || m.ip == 0 || m.prefix < 1 ||
        m.prefix > 32 || m.mtu < 576 || m.mtu > 9000 || (m.mac[0] & 1) || m.lease_id == 0 ||
        !(m.mac[0] | m.mac[1] | m.mac[2] | m.mac[3] | m.mac[4] | m.mac[5]) ||
        lease_find(P, m.lease_id)) {
        pnd_log_warnx("%s: engine sent an invalid lease %08x", __func__, m.lease_id);
        send_result(P, m.lease_id, PN_BROKER_INTERNAL, 0, -1);
        return;
    }
    for (size_t i = 0; i < P->nleases; i++)
        if (P->leases[i].used && P->leases[i].ip == m.ip) {
            send_result(P, m.lease_id, PN_BROKER_ADDR_IN_USE, 0, -1);
            return;
        }
    struct plea *L = lease_slot(P);
    if (!L) {
        send_result(P, m.lease_id, PN_BROKER_BUSY, 0, -1);
        return;
    }
    int pkt = -1;
    uint32_t ifindex = 0;
    int st = lease_build(P, &m, L, &pkt, &ifindex);
    if (st == PN_BROKER_OK)
        pnd_log_info("lease %08x granted: uid %u pid %u ip %s/%u mac %s uplink %s dev %s",
                     m.lease_id, m.uid, m.pid, pnd_ip_str(m.ip), m.prefix, pnd_mac_str(m.mac),
                     m.uplink, L->dev);
    send_result(P, m.lease_id, (uint32_t)st, ifindex, pkt);
    if (pkt >= 0)
        close(pkt);
}

static void handle_destroy(struct parent *P, const void *buf, size_t len)
{
    struct pnd_imsg_destroy m;
    if (len != sizeof(m))
        pnd_fatalx("%s: bad message length %zu", __func__, len);
    memcpy(&m, buf, sizeof(m));
    struct plea *L = lease_find(P, m.lease_id);
    if (!L) {
        pnd_log_warnx("%s: unknown lease %08x", __func__, m.lease_id);
        return;
    }
    lease_teardown(P, L, "client closed");
}

static void handle_list(struct parent *P, const void *buf, size_t len)
{
    struct pnd_imsg_list m;
    if (len != sizeof(m))
        pnd_fatalx("%s: bad message length %zu", __func__, len);
    memcpy(&m, buf, sizeof(m));
    struct pnd_imsg_count c = {.hdr = {PND_IMSG_COUNT, sizeof(c)}, .cookie = m.cookie};
    for (size_t i = 0; i < P->nleases; i++)
        c.count += P->leases[i].used;
    if (pnd_imsg_send(P->engine, &c, sizeof(c), -1) < 0)
        return;
    for (size_t i = 0; i < P->nleases; i++) {
        const struct plea *L = &P->leases[i];
        if (!L->used)
            continue;
        struct pnd_imsg_info r = {.hdr = {PND_IMSG_INFO, sizeof(r)}, .cookie = m.cookie};
        struct pn_broker_lease_info *o = &r.info;
        struct bpf_lease v = {0};
        uint32_t key = (uint32_t)L->ifindex;
        bpf_map_lookup_elem(P->map_fd, &key, &v);
        o->magic = PN_BROKER_MAGIC;
        o->version = PN_BROKER_VERSION;
        o->lease_id = L->id;
        o->uid = L->uid;
        o->pid = L->pid;
        o->ifindex = (uint32_t)L->ifindex;
        uint32_t nip = htonl(L->ip);
        memcpy(o->ip, &nip, 4);
        memcpy(o->mac, L->mac, 6);
        memcpy(o->dev, L->dev, sizeof(o->dev));
        memcpy(o->uplink, L->uplink, sizeof(o->uplink));
        o->from_holder_passed = v.in_pass;
        o->from_holder_dropped = v.in_drop;
        o->to_holder_passed = v.out_pass;
        o->to_holder_dropped = v.out_drop;
        if (pnd_imsg_send(P->engine, &r, sizeof(r), -1) < 0)
            return;
    }
}

static void teardown_all(struct parent *P, const char *why)
{
    for (size_t i = 0; i < P->nleases; i++)
        if (P->leases[i].used)
            lease_teardown(P, &P->leases[i], why);
}

/* ---- setup ---- */

static int libbpf_log(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
    if (lvl == LIBBPF_DEBUG)
        return 0;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = 0;
    pnd_log_warnx("libbpf: %s", line);
    return 0;
}

static int listen_socket(const struct pnd_config *cfg)
{
    char dir[sizeof(cfg->socket_path)];
    snprintf(dir, sizeof(dir), "%s", cfg->socket_path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            pnd_fatal("%s: mkdir %s", __func__, dir);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        pnd_fatal("%s: socket", __func__);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", cfg->socket_path);
    struct stat st;
    if (lstat(cfg->socket_path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            pnd_fatalx("%s: %s exists and is not a socket", __func__, cfg->socket_path);
        unlink(cfg->socket_path);
    }
    mode_t old = umask(0111);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
        pnd_fatal("%s: bind %s", __func__, cfg->socket_path);
    umask(old);
    if (chmod(cfg->socket_path, 0666) < 0)
        pnd_fatal("%s: chmod %s", __func__, cfg->socket_path);
    if (listen(fd, 512) < 0)
        pnd_fatal("%s: listen", __func__);
    return fd;
}

static void drop_caps(void)
{
    capng_clear(CAPNG_SELECT_BOTH);
    /* NET_ADMIN: links, tc, fdb; NET_RAW: packet sockets; SYS_ADMIN: unshare/setns. */
    if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN, CAP_NET_RAW,
                      CAP_SYS_ADMIN, -1) < 0)
        pnd_fatalx("%s: capng_updatev failed", __func__);
    if (capng_apply(CAPNG_SELECT_BOTH) < 0)
        pnd_fatalx("%s: capng_apply failed", __func__);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        pnd_fatal("%s: no_new_privs", __func__);
}

int pnd_parent_main(const struct pnd_config *cfg, bool foreground)
{
    struct parent P = {.cfg = cfg, .engine = -1};
    struct passwd *pw = getpwnam(cfg->user);
    if (!pw)
        pnd_fatalx("unknown user '%s' for the engine", cfg->user);
    if (pw->pw_uid == 0)
        pnd_fatalx("the engine's user '%s' must not be root", cfg->user);
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;

    P.home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (P.home_ns < 0)
        pnd_fatal("%s: open /proc/self/ns/net", __func__);
    int e = pnd_nl_open(&P.nl);
    if (e < 0)
        pnd_fatalx("%s: netlink: %s", __func__, strerror(-e));
    cleanup_leftovers(&P);

    libbpf_set_print(libbpf_log);
    P.bpf = pnd_filter__open_and_load();
    if (!P.bpf)
        pnd_fatal("%s: loading the tc filters", __func__);
    P.map_fd = bpf_map__fd(P.bpf->maps.pnd_leases);
    P.prog_in = bpf_program__fd(P.bpf->progs.pnd_ingress);
    P.prog_out = bpf_program__fd(P.bpf->progs.pnd_egress);
    P.nleases = cfg->max_connections;
    P.leases = calloc(P.nleases, sizeof(*P.leases));
    if (!P.leases)
        pnd_fatal("%s: calloc", __func__);

    if (mkdir(cfg->chroot_dir, 0755) < 0 && errno != EEXIST)
        pnd_fatal("%s: mkdir %s", __func__, cfg->chroot_dir);
    int lfd = listen_socket(cfg);
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        pnd_fatal("%s: socketpair", __func__);

    /* Block the signals we handle before forking, so the engine starts with them blocked
     * too and resets them itself. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    pid_t pid = fork();
    if (pid < 0)
        pnd_fatal("%s: fork", __func__);
    if (pid == 0) {
        close(sp[0]);
        pnd_engine_main(cfg, lfd, sp[1], uid, gid, foreground);
    }
    close(sp[1]);
    close(lfd);
    P.engine = sp[0];
    P.engine_pid = pid;
    drop_caps();
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        pnd_fatal("%s: signalfd", __func__);
    struct bpf_map_info mi;
    uint32_t mil = sizeof(mi);
    memset(&mi, 0, sizeof(mi));
    bpf_obj_get_info_by_fd(P.map_fd, &mi, &mil);
    pnd_log_info("started: socket %s, engine pid %d as %s, %d uplink(s), %d pool(s), "
                 "lease map id %u",
                 cfg->socket_path, (int)pid, cfg->user, cfg->nuplinks, cfg->npools, mi.id);

    int status = 0;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = P.engine, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            pnd_fatal("%s: poll", __func__);
        }
        if (pfd[1].revents) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGCHLD) {
                    pnd_log_warnx("engine exited");
                    status = 1;
                    break;
                }
                if (si.ssi_signo != SIGHUP) {
                    pnd_log_info("terminating on signal %u", si.ssi_signo);
                    break;
                }
            }
        }
        if (pfd[0].revents) {
            union {
                struct pnd_imsg_hdr hdr;
                struct pnd_imsg_create c;
                struct pnd_imsg_destroy d;
                char raw[256];
            } m;
            int fd;
            ssize_t n = pnd_imsg_recv(P.engine, &m, sizeof(m), &fd);
            if (fd >= 0)
                pnd_fatalx("%s: the engine passed a descriptor", __func__);
            if (n == 0) {
                pnd_log_warnx("engine closed its channel");
                status = 1;
                break;
            }
            if (n < 0)
                pnd_fatalx("%s: recv from engine: %s", __func__, strerror((int)-n));
            if ((size_t)n < sizeof(m.hdr) || m.hdr.len != (size_t)n)
                pnd_fatalx("%s: malformed message (%zd bytes)", __func__, n);
            switch (m.hdr.type) {
            case PND_IMSG_CREATE:
                handle_create(&P, &m, (size_t)n);
                break;
            case PND_IMSG_DESTROY:
                handle_destroy(&P, &m, (size_t)n);
                break;
            case PND_IMSG_LIST:
                handle_list(&P, &m, (size_t)n);
                break;
            default:
                pnd_fatalx("%s: unknown message type %u", __func__, m.hdr.type);
            }
        }
    }
    teardown_all(&P, status ? "engine gone" : "daemon stopping");
    close(P.engine);
    waitpid(P.engine_pid, NULL, 0);
    unlink(cfg->socket_path);
    pnd_filter__destroy(P.bpf);
    return status;
}
