/* pndt.c — test helper for the plebnetd integration tests: a lease client (also the attacker
 * and the victim), a sniffer, a frame injector and request flooders. Driven by
 * tests/daemon/test_plebnetd.sh; prints "key value" lines the script asserts on. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "plebnet/broker.h"

#define MAX_TAGS 128

static struct {
    char tag[24];
    unsigned count;
} tags[MAX_TAGS];
static int ntags;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "pndt: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int parse_mac(const char *s, uint8_t m[6])
{
    unsigned v[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        m[i] = (uint8_t)v[i];
    return 0;
}

static uint32_t parse_ip(const char *s)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) {
        fprintf(stderr, "pndt: bad IPv4 address %s\n", s);
        exit(2);
    }
    return a.s_addr; /* network order */
}

/* Counts a frame under the tag that follows "PNDT:" in it, if any. */
static void count_frame(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 5 < n; i++) {
        if (memcmp(p + i, "PNDT:", 5))
            continue;
        char t[24] = {0};
        for (size_t k = 0; k < sizeof(t) - 1 && i + 5 + k < n; k++) {
            char c = (char)p[i + 5 + k];
            if (c <= ' ' || c > '~')
                break;
            t[k] = c;
        }
        for (int j = 0; j < ntags; j++)
            if (!strcmp(tags[j].tag, t)) {
                tags[j].count++;
                return;
            }
        if (ntags < MAX_TAGS) {
            snprintf(tags[ntags].tag, sizeof(tags[ntags].tag), "%s", t);
            tags[ntags++].count = 1;
        }
        return;
    }
}

static void print_counts(const char *prefix)
{
    for (int j = 0; j < ntags; j++)
        printf("%s %s %u\n", prefix, tags[j].tag, tags[j].count);
    fflush(stdout);
}

/* Reads frames from fd for ms milliseconds, counting tags. */
static void count_for(int fd, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    uint8_t buf[70000];
    for (;;) {
        uint64_t now = now_ms();
        if (now >= end)
            return;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(end - now)) <= 0)
            continue;
        struct sockaddr_ll from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        /* Only what arrives counts, not what this host sends (e.g. ICMP errors quoting a
         * tagged frame). */
        if (n > 0 && from.sll_pkttype != PACKET_OUTGOING)
            count_frame(buf, (size_t)n);
    }
}

/* ---- frame building ---- */

struct fr {
    uint8_t b[9000];
    size_t n;
};

static uint16_t csum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return htons((uint16_t)~s);
}

static void eth(struct fr *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    memcpy(f->b, dst, 6);
    memcpy(f->b + 6, src, 6);
    f->b[12] = (uint8_t)(type >> 8);
    f->b[13] = (uint8_t)type;
    f->n = 14;
}

static void put16(struct fr *f, uint16_t v)
{
    f->b[f->n++] = (uint8_t)(v >> 8);
    f->b[f->n++] = (uint8_t)v;
}

static void put(struct fr *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void marker(struct fr *f, const char *tag)
{
    char m[40];
    int n = snprintf(m, sizeof(m), "PNDT:%s ", tag);
    put(f, m, (size_t)n);
    while (f->n < 60)
        f->b[f->n++] = 0;
}

/* IPv4/UDP (or TCP when tcp_len > 0) with the marker in the payload. */
static void ipv4(struct fr *f, uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport,
                 const char *tag, size_t tcp_len)
{
    size_t ip0 = f->n;
    uint8_t h[20] = {0x45, 0};
    h[8] = 64;
    h[9] = tcp_len ? 6 : 17;
    memcpy(h + 12, &sip, 4);
    memcpy(h + 16, &dip, 4);
    put(f, h, 20);
    size_t l4 = f->n;
    if (tcp_len) {
        uint8_t t[20] = {0};
        t[0] = (uint8_t)(sport >> 8), t[1] = (uint8_t)sport;
        t[2] = (uint8_t)(dport >> 8), t[3] = (uint8_t)dport;
        t[12] = 0x50;
        t[13] = 0x18;
        t[14] = 0xff;
        put(f, t, 20);
        char m[40];
        int n = snprintf(m, sizeof(m), "PNDT:%s ", tag);
        put(f, m, (size_t)n);
        while (f->n < l4 + 20 + tcp_len)
            f->b[f->n++] = 'x';
    } else {
        put16(f, sport);
        put16(f, dport);
        put16(f, 0);
        put16(f, 0);
        char m[40];
        int n = snprintf(m, sizeof(m), "PNDT:%s ", tag);
        put(f, m, (size_t)n);
        for (int i = 0; i < 16; i++)
            f->b[f->n++] = 0;
        uint16_t ul = htons((uint16_t)(f->n - l4));
        memcpy(f->b + l4 + 4, &ul, 2);
    }
    uint16_t tl = htons((uint16_t)(f->n - ip0));
    memcpy(f->b + ip0 + 2, &tl, 2);
    uint16_t c = csum(f->b + ip0, 20);
    memcpy(f->b + ip0 + 10, &c, 2);
}

static void arp(struct fr *f, uint16_t op, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
                uint32_t tpa, uint16_t htype, const char *tag)
{
    put16(f, htype);
    put16(f, 0x0800);
    f->b[f->n++] = 6;
    f->b[f->n++] = 4;
    put16(f, op);
    put(f, sha, 6);
    put(f, &spa, 4);
    put(f, tha, 6);
    put(f, &tpa, 4);
    marker(f, tag);
}

/* ---- the lease client ---- */

struct lease {
    int ctl, pkt;
    struct pn_broker_reply r;
};

static int request_lease(const char *sock, const char *ip, const char *mac, const char *uplink,
                         struct lease *L)
{
    L->ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
    if (connect(L->ctl, (struct sockaddr *)&sun, sizeof(sun)) < 0)
        die("connect");
    struct pn_broker_request q = {
        .magic = PN_BROKER_MAGIC, .version = PN_BROKER_VERSION, .type = PN_BROKER_LEASE};
    if (ip) {
        uint32_t a = parse_ip(ip);
        memcpy(q.ip, &a, 4);
    }
    if (mac && parse_mac(mac, q.mac)) {
        fprintf(stderr, "pndt: bad MAC %s\n", mac);
        exit(2);
    }
    if (uplink)
        snprintf(q.uplink, sizeof(q.uplink), "%s", uplink);
    if (send(L->ctl, &q, sizeof(q), MSG_NOSIGNAL) != sizeof(q))
        die("send request");
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } c;
    struct iovec iov = {.iov_base = &L->r, .iov_len = sizeof(L->r)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b)};
    ssize_t n = recvmsg(L->ctl, &mh, MSG_CMSG_CLOEXEC);
    if (n != sizeof(L->r)) {
        printf("status closed\n");
        return -1;
    }
    L->pkt = -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (cm && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&L->pkt, CMSG_DATA(cm), sizeof(int));
    printf("status %u %s\n", L->r.status, pn_broker_status_str(L->r.status));
    if (L->r.status != PN_BROKER_OK)
        return -1;
    if (L->pkt < 0) {
        printf("status no-descriptor\n");
        return -1;
    }
    printf("lease %08x ip %u.%u.%u.%u/%u gw %u.%u.%u.%u mac %02x:%02x:%02x:%02x:%02x:%02x "
           "mtu %u ifindex %u uplink %s\n",
           L->r.lease_id, L->r.ip[0], L->r.ip[1], L->r.ip[2], L->r.ip[3], L->r.prefix,
           L->r.gateway[0], L->r.gateway[1], L->r.gateway[2], L->r.gateway[3], L->r.mac[0],
           L->r.mac[1], L->r.mac[2], L->r.mac[3], L->r.mac[4], L->r.mac[5], L->r.mtu, L->r.ifindex,
           L->r.uplink);
    fflush(stdout);
    return 0;
}

static int sockopt_attack(int fd, const char *name, int level, int opt, const void *v,
                          socklen_t len)
{
    int r = setsockopt(fd, level, opt, v, len);
    printf("sockopt %s %s\n", name, r == 0 ? "ALLOWED" : strerror(errno));
    return r;
}

struct ctx {
    uint8_t mac[6], peer_mac[6], victim_mac[6], bcast[6], foreign_mac[6];
    uint32_t ip, peer_ip, victim_ip, foreign_ip;
};

/* Sends every attack frame (and the positive controls) once, with `sfx` appended to tags.
 * send_fn sends one frame. */
static void attack_frames(const struct ctx *x, const char *sfx,
                          void (*send_fn)(void *arg, const struct fr *f), void *arg)
{
    struct fr f;
    char t[24];
#define TAG(s) (snprintf(t, sizeof(t), "%s%s", s, sfx), t)
    eth(&f, x->peer_mac, x->mac, 0x0800);
    ipv4(&f, x->ip, x->peer_ip, 4000, 4001, TAG("ok_ip"), 0);
    send_fn(arg, &f);
    eth(&f, x->bcast, x->mac, 0x0806);
    arp(&f, 1, x->mac, x->ip, (uint8_t[6]){0}, x->peer_ip, 1, TAG("ok_arp"));
    send_fn(arg, &f);
    eth(&f, x->victim_mac, x->mac, 0x0800);
    ipv4(&f, x->ip, x->victim_ip, 4000, 4001, TAG("ok_ipv"), 0);
    send_fn(arg, &f);
    /* Spoofed source MAC (to everyone, and straight to the victim). */
    eth(&f, x->bcast, x->foreign_mac, 0x0800);
    ipv4(&f, x->ip, x->peer_ip, 4000, 4001, TAG("sp_smac"), 0);
    send_fn(arg, &f);
    eth(&f, x->victim_mac, x->foreign_mac, 0x0800);
    ipv4(&f, x->ip, x->victim_ip, 4000, 4001, TAG("sp_smacv"), 0);
    send_fn(arg, &f);
    eth(&f, x->bcast, x->mac, 0x0800);
    ipv4(&f, x->foreign_ip, x->peer_ip, 4000, 4001, TAG("sp_sip"), 0);
    send_fn(arg, &f);
    eth(&f, x->peer_mac, x->mac, 0x0800);
    ipv4(&f, x->victim_ip, x->peer_ip, 4000, 4001, TAG("sp_sipv"), 0);
    send_fn(arg, &f);
    eth(&f, x->bcast, x->mac, 0x0806);
    arp(&f, 1, x->mac, x->foreign_ip, (uint8_t[6]){0}, x->peer_ip, 1, TAG("arp_sip"));
    send_fn(arg, &f);
    eth(&f, x->bcast, x->mac, 0x0806);
    arp(&f, 1, x->foreign_mac, x->ip, (uint8_t[6]){0}, x->peer_ip, 1, TAG("arp_sha"));
    send_fn(arg, &f);
    eth(&f, x->bcast, x->mac, 0x0806);
    arp(&f, 1, x->mac, x->foreign_ip, x->bcast, x->foreign_ip, 1, TAG("garp"));
    send_fn(arg, &f);
    eth(&f, x->peer_mac, x->mac, 0x0806);
    arp(&f, 2, x->mac, x->victim_ip, x->peer_mac, x->peer_ip, 1, TAG("arp_rep"));
    send_fn(arg, &f);
    eth(&f, x->bcast, x->mac, 0x0806);
    arp(&f, 1, x->mac, x->ip, (uint8_t[6]){0}, x->peer_ip, 6, TAG("arp_htype"));
    send_fn(arg, &f);
    eth(&f, x->bcast, x->mac, 0x86dd);
    marker(&f, TAG("ipv6"));
    send_fn(arg, &f);
    eth(&f, x->bcast, x->mac, 0x88b5);
    marker(&f, TAG("etype"));
    send_fn(arg, &f);
    eth(&f, x->peer_mac, x->mac, 0x8100);
    put16(&f, 5);
    put16(&f, 0x0800);
    ipv4(&f, x->ip, x->peer_ip, 4000, 4001, TAG("vlan"), 0);
    send_fn(arg, &f);
    eth(&f, x->peer_mac, x->mac, 0x88a8);
    put16(&f, 7);
    put16(&f, 0x8100);
    put16(&f, 5);
    put16(&f, 0x0800);
    ipv4(&f, x->ip, x->peer_ip, 4000, 4001, TAG("qinq"), 0);
    send_fn(arg, &f);
    eth(&f, x->bcast, x->mac, 0x0800);
    ipv4(&f, x->ip, 0xffffffffu, 67, 68, TAG("dhcp"), 0);
    send_fn(arg, &f);
#undef TAG
}

struct plain_arg {
    int fd;
    size_t vnet; /* bytes of zeroed virtio_net_hdr to prepend */
    int ifindex; /* sendto() target, 0 = send() */
};

static void send_plain(void *a, const struct fr *f)
{
    struct plain_arg *p = a;
    uint8_t buf[9100] = {0};
    memcpy(buf + p->vnet, f->b, f->n);
    if (p->ifindex) {
        struct sockaddr_ll sll = {
            .sll_family = AF_PACKET, .sll_ifindex = p->ifindex, .sll_halen = 6};
        sendto(p->fd, buf, p->vnet + f->n, 0, (struct sockaddr *)&sll, sizeof(sll));
    } else {
        send(p->fd, buf, p->vnet + f->n, 0);
    }
}

struct ring_arg {
    int fd;
    uint8_t *ring;
    unsigned frames, next, frame_size;
};

static void send_ring(void *a, const struct fr *f)
{
    struct ring_arg *r = a;
    struct tpacket2_hdr *h = (void *)(r->ring + (size_t)r->next * r->frame_size);
    for (int i = 0; i < 100 && h->tp_status != TP_STATUS_AVAILABLE; i++)
        usleep(1000);
    uint8_t *data = (uint8_t *)h + TPACKET_ALIGN(sizeof(struct tpacket2_hdr));
    memcpy(data, f->b, f->n);
    h->tp_len = (uint32_t)f->n;
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    r->next = (r->next + 1) % r->frames;
    send(r->fd, NULL, 0, 0);
}

/* A large TSO-style TCP frame through vnet_hdr: spoofed source IP, and a legit control. */
static void send_gso(int fd, const struct ctx *x, uint32_t sip, const char *tag)
{
    struct fr f;
    eth(&f, x->peer_mac, x->mac, 0x0800);
    ipv4(&f, sip, x->peer_ip, 4000, 4001, tag, 4000);
    struct virtio_net_hdr v = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                               .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                               .hdr_len = 14 + 20 + 20,
                               .gso_size = 1400,
                               .csum_start = 14 + 20,
                               .csum_offset = 16};
    uint8_t buf[9200];
    memcpy(buf, &v, sizeof(v));
    memcpy(buf + sizeof(v), f.b, f.n);
    if (send(fd, buf, sizeof(v) + f.n, 0) < 0)
        printf("gso_send %s %s\n", tag, strerror(errno));
}

static void attack(struct lease *L, struct ctx *x)
{
    int fd = L->pkt;
    memcpy(x->mac, L->r.mac, 6);
    memcpy(&x->ip, L->r.ip, 4);
    struct plain_arg pa = {.fd = fd};
    attack_frames(x, "", send_plain, &pa);

    /* The filter cannot be removed, replaced or unlocked. */
    struct sock_filter acc[] = {BPF_STMT(BPF_RET | BPF_K, 0xffff)};
    struct sock_fprog fp = {.len = 1, .filter = acc};
    int zero = 0, one = 1;
    sockopt_attack(fd, "SO_DETACH_FILTER", SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof(zero));
    sockopt_attack(fd, "SO_ATTACH_FILTER", SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
    sockopt_attack(fd, "SO_LOCK_FILTER=0", SOL_SOCKET, SO_LOCK_FILTER, &zero, sizeof(zero));

    /* PACKET_QDISC_BYPASS: straight to the driver, but the host-side tc still runs. */
    if (sockopt_attack(fd, "PACKET_QDISC_BYPASS", SOL_PACKET, PACKET_QDISC_BYPASS, &one,
                       sizeof(one)) == 0)
        attack_frames(x, "_qb", send_plain, &pa);

    /* sendto() with every other ifindex: only lo and the lease device exist here. */
    for (int i = 1; i <= 64; i++) {
        if ((unsigned)i == L->r.ifindex)
            continue;
        struct plain_arg s = {.fd = fd, .ifindex = i};
        attack_frames(x, "_st", send_plain, &s);
    }

    /* vnet_hdr: plain frames with a zero header, then large GSO frames. */
    if (sockopt_attack(fd, "PACKET_VNET_HDR", SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ==
        0) {
        struct plain_arg v = {.fd = fd, .vnet = sizeof(struct virtio_net_hdr)};
        attack_frames(x, "_vn", send_plain, &v);
        send_gso(fd, x, x->foreign_ip, "gso_sip");
        send_gso(fd, x, x->ip, "gso_ok");
        setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &zero, sizeof(zero));
    }

    /* TX ring (TPACKET_V2): frames whose payload is not in the linear area. */
    int ver = TPACKET_V2;
    struct tpacket_req req = {
        .tp_block_size = 4096, .tp_block_nr = 16, .tp_frame_size = 2048, .tp_frame_nr = 32};
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) == 0 &&
        setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) == 0) {
        struct ring_arg r = {.fd = fd, .frames = req.tp_frame_nr, .frame_size = req.tp_frame_size};
        r.ring = mmap(NULL, (size_t)req.tp_block_size * req.tp_block_nr, PROT_READ | PROT_WRITE,
                      MAP_SHARED, fd, 0);
        if (r.ring != MAP_FAILED) {
            attack_frames(x, "_tx", send_ring, &r);
            printf("txring ok\n");
        }
    } else {
        printf("txring %s\n", strerror(errno));
    }

    /* Rebinding to another device (lo) is allowed, but leads nowhere. */
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = 1};
    int rb = bind(fd, (struct sockaddr *)&sll, sizeof(sll));
    printf("rebind lo %s\n", rb == 0 ? "ALLOWED" : strerror(errno));
    if (rb == 0)
        attack_frames(x, "_rb", send_plain, &pa);
    fflush(stdout);
}

static int cmd_lease(int argc, char **argv)
{
    const char *sock = argv[2], *ip = NULL, *mac = NULL, *uplink = NULL, *ready = NULL;
    unsigned hold = 0;
    bool do_attack = false, promisc = false, count = false, probe_dead = false;
    struct ctx x = {.bcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                    .foreign_mac = {0x02, 0x66, 0x66, 0x66, 0x66, 0x66}};
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--ip"))
            ip = v, i++;
        else if (!strcmp(a, "--mac"))
            mac = v, i++;
        else if (!strcmp(a, "--uplink"))
            uplink = v, i++;
        else if (!strcmp(a, "--hold"))
            hold = (unsigned)atoi(v), i++;
        else if (!strcmp(a, "--ready"))
            ready = v, i++;
        else if (!strcmp(a, "--promisc"))
            promisc = true;
        else if (!strcmp(a, "--count"))
            count = true;
        else if (!strcmp(a, "--probe-dead"))
            probe_dead = true;
        else if (!strcmp(a, "--attack") && i + 5 < argc) {
            /* --attack PEER_MAC PEER_IP VICTIM_MAC VICTIM_IP FOREIGN_IP */
            do_attack = true;
            parse_mac(argv[i + 1], x.peer_mac);
            x.peer_ip = parse_ip(argv[i + 2]);
            parse_mac(argv[i + 3], x.victim_mac);
            x.victim_ip = parse_ip(argv[i + 4]);
            x.foreign_ip = parse_ip(argv[i + 5]);
            i += 5;
        } else {
            fprintf(stderr, "pndt lease: unknown option %s\n", a);
            return 2;
        }
    }
    struct lease L;
    if (request_lease(sock, ip, mac, uplink, &L) < 0)
        return 1;
    if (promisc) {
        struct packet_mreq mr = {.mr_ifindex = (int)L.r.ifindex, .mr_type = PACKET_MR_PROMISC};
        int r = setsockopt(L.pkt, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
        printf("promisc %s\n", r == 0 ? "on" : strerror(errno));
    }
    if (ready) {
        int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
            close(fd);
    }
    fflush(stdout);
    if (do_attack)
        attack(&L, &x);
    if (probe_dead) {
        /* Send a legit frame every 20 ms until the descriptor dies (or hold ends). */
        uint64_t end = now_ms() + hold;
        struct fr f;
        uint8_t b[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        eth(&f, b, L.r.mac, 0x0806);
        uint32_t me;
        memcpy(&me, L.r.ip, 4);
        arp(&f, 1, L.r.mac, me, (uint8_t[6]){0}, me, 1, "probe");
        while (now_ms() < end) {
            if (send(L.pkt, f.b, f.n, 0) < 0) {
                printf("dead %s\n", strerror(errno));
                return 0;
            }
            usleep(20000);
        }
        printf("alive\n");
        return 1;
    }
    if (count)
        count_for(L.pkt, hold);
    else if (hold)
        usleep(hold * 1000u);
    print_counts("rx");
    return 0;
}

/* pndt sniff IFACE MS: counts tagged frames arriving on IFACE (promiscuous). */
static int cmd_sniff(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0)
        die("socket");
    int idx = (int)if_nametoindex(argv[2]);
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = idx};
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
        die("bind");
    struct packet_mreq mr = {.mr_ifindex = idx, .mr_type = PACKET_MR_PROMISC};
    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
    if (argc > 4) {
        int f = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (f >= 0)
            close(f);
    }
    count_for(fd, (unsigned)atoi(argv[3]));
    print_counts("rx");
    return 0;
}

/* pndt send IFACE SRC_MAC SRC_IP  DST_MAC KIND TAG TARGET_IP: frames from the LAN side. */
static int cmd_send(int argc, char **argv)
{
    if (argc < 9)
        return 2;
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[2])};
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
        die("bind");
    uint8_t src[6], dst[6], zero[6] = {0};
    parse_mac(argv[3], src);
    uint32_t sip = parse_ip(argv[4]);
    parse_mac(argv[5], dst);
    const char *kind = argv[6], *tag = argv[7];
    uint32_t tip = parse_ip(argv[8]);
    struct fr f;
    if (!strcmp(kind, "ip")) {
        eth(&f, dst, src, 0x0800);
        ipv4(&f, sip, tip, 5000, 5001, tag, 0);
    } else if (!strcmp(kind, "arp")) {
        eth(&f, dst, src, 0x0806);
        arp(&f, 1, src, sip, zero, tip, 1, tag);
    } else if (!strcmp(kind, "ipv6")) {
        eth(&f, dst, src, 0x86dd);
        marker(&f, tag);
    } else if (!strcmp(kind, "vlan")) {
        eth(&f, dst, src, 0x8100);
        put16(&f, 5);
        put16(&f, 0x0800);
        ipv4(&f, sip, tip, 5000, 5001, tag, 0);
    } else {
        return 2;
    }
    for (int i = 0; i < 3; i++)
        if (send(fd, f.b, f.n, 0) < 0)
            die("send");
    return 0;
}

/* pndt garbage SOCK N SEED: N connections, each sending a malformed request (random,
 * truncated, oversized, bad magic/version/type/flags/reserved/uplink). Counts replies. */
static int cmd_garbage(int argc, char **argv)
{
    if (argc < 5)
        return 2;
    int n = atoi(argv[3]);
    srand((unsigned)atoi(argv[4]));
    unsigned st[PN_BROKER_STATUS_MAX + 2] = {0}, closed = 0;
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[2]);
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
            die("connect");
        uint8_t buf[200];
        size_t len = sizeof(struct pn_broker_request);
        struct pn_broker_request q = {
            .magic = PN_BROKER_MAGIC, .version = PN_BROKER_VERSION, .type = PN_BROKER_LEASE};
        memcpy(buf, &q, sizeof(q));
        for (size_t k = sizeof(q); k < sizeof(buf); k++)
            buf[k] = (uint8_t)rand();
        switch (i % 8) {
        case 0: /* fully random */
            for (size_t k = 0; k < sizeof(buf); k++)
                buf[k] = (uint8_t)rand();
            len = (size_t)rand() % sizeof(buf) + 1;
            break;
        case 1: /* truncated */
            len = 1 + (size_t)rand() % (sizeof(q) - 1);
            break;
        case 2: /* oversized */
            len = sizeof(q) + 1 + (size_t)rand() % (sizeof(buf) - sizeof(q) - 1);
            break;
        case 3: /* one random byte flipped in the header or reserved fields */
            buf[(size_t)rand() % 12] ^= (uint8_t)(1 + rand() % 255);
            break;
        case 4:
            buf[4] = 2; /* version 2 */
            break;
        case 5:
            buf[40 + (size_t)rand() % 24] = (uint8_t)(1 + rand() % 255); /* reserved2 */
            break;
        case 6: /* uplink without NUL / with garbage after NUL */
            memset(buf + 24, 'A', 16);
            break;
        case 7:
            buf[22] = 1; /* reserved */
            break;
        }
        if (len)
            send(fd, buf, len, MSG_NOSIGNAL);
        shutdown(fd, SHUT_WR);
        struct pn_broker_reply r;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t got = poll(&p, 1, 5000) == 1 ? recv(fd, &r, sizeof(r), 0) : -1;
        if (got == sizeof(r) && r.status <= PN_BROKER_STATUS_MAX)
            st[r.status]++;
        else {
            closed++;
            if (getenv("PNDT_DEBUG"))
                fprintf(stderr, "no reply: case %d len %zu got %zd errno %d\n", i % 8, len, got,
                        errno);
        }
        close(fd);
    }
    for (unsigned s = 0; s <= PN_BROKER_STATUS_MAX; s++)
        if (st[s])
            printf("reply %s %u\n", s == 0 ? "OK" : pn_broker_status_str(s), st[s]);
    printf("closed %u\n", closed);
    return 0;
}

/* pndt list SOCK: the root-only lease list; prints "count N" and one "entry" line per lease. */
static int cmd_list(int argc, char **argv)
{
    (void)argc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[2]);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
        die("connect");
    struct pn_broker_request q = {
        .magic = PN_BROKER_MAGIC, .version = PN_BROKER_VERSION, .type = PN_BROKER_LIST};
    send(fd, &q, sizeof(q), MSG_NOSIGNAL);
    struct pn_broker_reply r;
    if (recv(fd, &r, sizeof(r), MSG_WAITALL) != sizeof(r)) {
        printf("status closed\n");
        return 1;
    }
    printf("status %u %s\n", r.status, pn_broker_status_str(r.status));
    if (r.status != PN_BROKER_OK)
        return 1;
    printf("count %u\n", r.lease_id);
    for (uint32_t i = 0; i < r.lease_id; i++) {
        struct pn_broker_lease_info l;
        if (recv(fd, &l, sizeof(l), MSG_WAITALL) != sizeof(l)) {
            printf("truncated\n");
            return 1;
        }
        printf("entry %08x uid %u ip %u.%u.%u.%u dev %.16s from_pass %llu from_drop %llu "
               "to_pass %llu to_drop %llu\n",
               l.lease_id, l.uid, l.ip[0], l.ip[1], l.ip[2], l.ip[3], l.dev,
               (unsigned long long)l.from_holder_passed, (unsigned long long)l.from_holder_dropped,
               (unsigned long long)l.to_holder_passed, (unsigned long long)l.to_holder_dropped);
    }
    return 0;
}

/* pndt cycles SOCK N: N lease/release cycles in one process; prints how many succeeded. */
static int cmd_cycles(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int n = atoi(argv[3]), okc = 0;
    int devnull = open("/dev/null", O_WRONLY);
    int saved = dup(1);
    uint64_t t0 = now_ms(), req_ms = 0;
    for (int i = 0; i < n; i++) {
        struct lease L;
        fflush(stdout);
        dup2(devnull, 1); /* request_lease prints each lease */
        uint64_t t1 = now_ms();
        int r = request_lease(argv[2], NULL, NULL, NULL, &L);
        req_ms += now_ms() - t1;
        fflush(stdout);
        dup2(saved, 1);
        if (r == 0) {
            okc++;
            close(L.pkt);
        }
        close(L.ctl);
    }
    printf("cycles %d ok %d ms %llu request_avg_ms %.1f\n", n, okc,
           (unsigned long long)(now_ms() - t0), n ? (double)req_ms / n : 0.0);
    return 0;
}

/* pndt flood SOCK N: N simultaneous connections sending nothing; counts BUSY replies. */
static int cmd_flood(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int n = atoi(argv[3]);
    int *fds = calloc((size_t)n, sizeof(int));
    unsigned ok = 0, busy = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[2]);
        if (fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&sun, sizeof(sun)) == 0)
            ok++;
    }
    /* Connections past the daemon's limit are answered "busy" at once; the others wait for
     * their request (and time out). Give the busy replies up to 2 s to arrive. */
    unsigned other = 0;
    uint64_t end = now_ms() + 2000;
    for (int i = 0; i < n; i++) {
        struct pn_broker_reply r;
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        uint64_t now = now_ms();
        if (fds[i] >= 0 && poll(&p, 1, now < end ? (int)(end - now) : 0) == 1) {
            if (recv(fds[i], &r, sizeof(r), MSG_DONTWAIT) == sizeof(r) &&
                r.status == PN_BROKER_BUSY)
                busy++;
            else
                other++;
        }
        if (fds[i] >= 0)
            close(fds[i]);
    }
    printf("connected %u busy %u other %u\n", ok, busy, other);
    free(fds);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && !strcmp(argv[1], "lease"))
        return cmd_lease(argc, argv);
    if (argc >= 3 && !strcmp(argv[1], "sniff"))
        return cmd_sniff(argc, argv);
    if (argc >= 3 && !strcmp(argv[1], "send"))
        return cmd_send(argc, argv);
    if (argc >= 3 && !strcmp(argv[1], "garbage"))
        return cmd_garbage(argc, argv);
    if (argc >= 3 && !strcmp(argv[1], "list"))
        return cmd_list(argc, argv);
    if (argc >= 3 && !strcmp(argv[1], "cycles"))
        return cmd_cycles(argc, argv);
    if (argc >= 3 && !strcmp(argv[1], "flood"))
        return cmd_flood(argc, argv);
    fprintf(stderr, "usage: pndt lease|sniff|send|garbage|flood ...\n");
    return 2;
}
