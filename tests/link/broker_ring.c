/* broker_ring.c — the broker link's I/O modes (src/link/broker.c) against a real packet
 * socket, without plebnetd: a forked fake broker hands pn_link_broker_open a packet socket
 * bound to one end of a veth pair in a network namespace private to this test, and a peer
 * packet socket (with vnet_hdr) on the other end sends and checks frames.
 * Call chain: main -> unshare -> fake_broker (child) ; per mode: pn_link_broker_open ->
 * rx_burst / tx_burst <-> peer socket. Root only (exit 77 = skipped otherwise). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include "plebnet/broker.h"
#include "plebnet/errors.h"
#include "plebnet/link.h"
#include "plebnet/pbuf.h"

static int fails;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fails++;                                                                               \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

static const uint8_t MAC_A[6] = {0x02, 0x50, 0, 0, 0, 0x0a}; /* the "lease" end */
static const uint8_t MAC_B[6] = {0x02, 0x50, 0, 0, 0, 0x0b}; /* the peer */

static int packet_socket(const char *ifname, int vnet)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0)
        return -1;
    if (vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &vnet, sizeof(vnet)) < 0) {
        close(fd);
        return -1;
    }
    struct sockaddr_ll sll = {.sll_family = AF_PACKET,
                              .sll_protocol = htons(ETH_P_ALL),
                              .sll_ifindex = (int)if_nametoindex(ifname)};
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The fake plebnetd: answers each connection with an OK lease and a fresh packet socket on
 * veth end "pa", then holds the connection until the client closes it. */
static void fake_broker(int lfd)
{
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            _exit(0);
        struct pn_broker_request q;
        if (recv(c, &q, sizeof(q), MSG_WAITALL) != (ssize_t)sizeof(q))
            _exit(1);
        struct pn_broker_reply r;
        memset(&r, 0, sizeof(r));
        r.magic = PN_BROKER_MAGIC;
        r.version = PN_BROKER_VERSION;
        r.status = PN_BROKER_OK;
        r.lease_id = 1;
        memcpy(r.ip, (uint8_t[]){10, 88, 0, 2}, 4);
        memcpy(r.mac, MAC_A, 6);
        r.prefix = 24;
        r.mtu = 1500;
        int pkt = packet_socket("pa", 0);
        if (pkt < 0)
            _exit(1);
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int))];
        } cb;
        struct iovec iov = {&r, sizeof(r)};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cb.buf,
                            .msg_controllen = sizeof(cb.buf)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pkt, sizeof(int));
        if (sendmsg(c, &mh, 0) != (ssize_t)sizeof(r))
            _exit(1);
        close(pkt);
        char x;
        while (recv(c, &x, 1, 0) > 0)
            ;
        close(c);
    }
}

/* Writes an Ethernet + IPv4 + TCP frame of `len` bytes (protocol `proto`) from src to dst. */
static void build_frame(uint8_t *f, uint32_t len, const uint8_t *dst, const uint8_t *src,
                        uint8_t proto)
{
    memset(f, 0, len);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    f[14] = 0x45;
    uint16_t tot = (uint16_t)(len - 14);
    f[16] = (uint8_t)(tot >> 8);
    f[17] = (uint8_t)tot;
    f[20] = 0x40; /* DF */
    f[22] = 64;
    f[23] = proto;
    memcpy(f + 26, (uint8_t[]){10, 88, 0, 2}, 4);
    memcpy(f + 30, (uint8_t[]){10, 88, 0, 1}, 4);
    f[34] = 0x30; /* ports 12345 -> 80 */
    f[35] = 0x39;
    f[37] = 80;
    f[46] = 0x50; /* TCP data offset 5 words */
    f[47] = 0x18;
    for (uint32_t i = 54; i < len; i++)
        f[i] = (uint8_t)i;
}

/* Receives up to want frames from the link (the bounded wait is 2 s, not a timing check). */
static int link_recv(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int want)
{
    int got = 0;
    for (int i = 0; i < 200 && got < want; i++) {
        struct pollfd p = {.fd = pn_link_fd(l), .events = POLLIN};
        poll(&p, 1, 10);
        int n = l->ops->rx_burst(l, pool, out + got, want - got, 0);
        if (n < 0)
            return n;
        got += n;
    }
    return got;
}

/* Reads frames on the peer until one from MAC_A arrives; returns its length (vnet header
 * in *vh) or -1. */
static int peer_recv(int fd, struct virtio_net_hdr *vh, uint8_t *buf, size_t cap)
{
    for (int i = 0; i < 200; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) <= 0)
            continue;
        struct iovec iov[2] = {{vh, sizeof(*vh)}, {buf, cap}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
        if (n >= (ssize_t)(sizeof(*vh) + 14) && !memcmp(buf + 6, MAC_A, 6))
            return (int)(n - (ssize_t)sizeof(*vh));
    }
    return -1;
}

static void peer_send(int fd, const struct virtio_net_hdr *vh, const uint8_t *f, uint32_t len)
{
    struct iovec iov[2] = {{(void *)vh, sizeof(*vh)}, {(void *)f, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    if (sendmsg(fd, &mh, 0) < 0)
        printf("note: peer send of %u bytes: %s\n", len, strerror(errno));
}

static void test_mode(const char *sock, const char *mode, uint32_t want_mode, int peer)
{
    static uint8_t f[70000], got[70000];
    printf("-- mode %s\n", mode);
    setenv("PLEBNET_BROKER_IO", mode, 1);
    struct pn_link *l = NULL;
    struct pn_broker_reply r;
    char err[128];
    int rc = pn_link_broker_open(sock, NULL, &r, &l, err, sizeof(err));
    CHECK(rc == 0, "%s: open: %s", mode, err);
    if (rc)
        return;
    struct pn_broker_link_stats st;
    CHECK(pn_link_broker_stats(l, &st) == 0, "stats");
    CHECK(st.mode == want_mode, "%s: mode %#x, want %#x (ring error %d)", mode, st.mode, want_mode,
          st.ring_error);
    bool vnet = want_mode & PN_BROKER_IO_VNET;
    CHECK(l->caps.large_tx == vnet && l->caps.large_rx, "%s: caps", mode);
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_pbuf *in[8];
    struct virtio_net_hdr vh;

    /* 1. an ordinary frame, peer -> link */
    memset(&vh, 0, sizeof(vh));
    build_frame(f, 1000, MAC_A, MAC_B, 6);
    peer_send(peer, &vh, f, 1000);
    int n = link_recv(l, pool, in, 1);
    CHECK(n == 1 && in[0]->len == 1000 && !memcmp(in[0]->data, f, 1000), "%s: plain rx (%d)", mode,
          n);
    for (int i = 0; i < n; i++)
        pn_pbuf_free(in[i]);

    /* 2. a VLAN-tagged frame: the kernel strips the tag and says so; the link drops it. */
    uint8_t tagged[1004];
    build_frame(f, 1000, MAC_A, MAC_B, 6);
    memcpy(tagged, f, 12);
    tagged[12] = 0x81;
    tagged[13] = 0x00;
    tagged[14] = 0x00;
    tagged[15] = 0x07;
    memcpy(tagged + 16, f + 12, 1000 - 12);
    peer_send(peer, &vh, tagged, sizeof(tagged));
    /* and an ordinary frame after it, so we know when the tagged one was processed */
    peer_send(peer, &vh, f, 1000);
    n = link_recv(l, pool, in, 1);
    pn_link_broker_stats(l, &st);
    CHECK(n == 1 && in[0]->len == 1000 && st.rx_vlan == 1,
          "%s: VLAN frame: %d frames, rx_vlan %llu", mode, n, (unsigned long long)st.rx_vlan);
    for (int i = 0; i < n; i++)
        pn_pbuf_free(in[i]);

    /* 3. a coalesced TCP frame (the peer asks for GSO): arrives whole, checksum vouched for */
    build_frame(f, 20014, MAC_A, MAC_B, 6);
    memset(&vh, 0, sizeof(vh));
    vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    vh.gso_size = 1448;
    vh.hdr_len = 54;
    vh.csum_start = 34;
    vh.csum_offset = 16;
    peer_send(peer, &vh, f, 20014);
    n = link_recv(l, pool, in, 1);
    pn_link_broker_stats(l, &st);
    CHECK(n == 1 && in[0]->len == 20014 && (in[0]->flags & PN_PBUF_F_CSUM_OK) &&
              !memcmp(in[0]->data + 54, f + 54, 20014 - 54) && st.rx_coalesced == 1,
          "%s: coalesced rx: %d frames, len %u, rx_coalesced %llu", mode, n, n ? in[0]->len : 0,
          (unsigned long long)st.rx_coalesced);
    for (int i = 0; i < n; i++)
        pn_pbuf_free(in[i]);

    /* 4. a large TCP segment, link -> peer: one frame with gso_size, partial checksum */
    struct pn_pbuf *p = pn_pbuf_alloc(pool, PN_PBUF_HEADROOM, 30014);
    build_frame(p->data, 30014, MAC_B, MAC_A, 6);
    p->data[50] = 0xde; /* a full checksum, as the TCP layer writes it: must be replaced */
    p->data[51] = 0xad;
    p->gso_size = 1448;
    int sent = l->ops->tx_burst(l, &p, 1, 0);
    if (vnet) {
        CHECK(sent == 1, "%s: large tx accepted", mode);
        memset(&vh, 0, sizeof(vh));
        int len = peer_recv(peer, &vh, got, sizeof(got));
        /* RFC 9293 §3.1 pseudo-header: 10.88.0.2 + 10.88.0.1 + 6 + TCP length, folded. */
        uint32_t sum = 0x0a58 + 0x0002 + 0x0a58 + 0x0001 + 6 + (30014 - 34);
        while (sum >> 16)
            sum = (sum & 0xffff) + (sum >> 16);
        CHECK(len == 30014 && vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && vh.gso_size == 1448 &&
                  (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && vh.csum_start == 34 &&
                  vh.csum_offset == 16 && got[50] == (uint8_t)(sum >> 8) && got[51] == (uint8_t)sum,
              "%s: large tx on the wire: len %d gso %u/%u flags %u csum %u/%u field %02x%02x want "
              "%04x",
              mode, len, vh.gso_type, vh.gso_size, vh.flags, vh.csum_start, vh.csum_offset, got[50],
              got[51], sum);
        /* a large frame that is not TCP is refused, not sent */
        p = pn_pbuf_alloc(pool, PN_PBUF_HEADROOM, 30014);
        build_frame(p->data, 30014, MAC_B, MAC_A, 17);
        p->gso_size = 1448;
        sent = l->ops->tx_burst(l, &p, 1, 0);
        pn_link_broker_stats(l, &st);
        CHECK(sent == 0 && st.tx_bad_large == 1 && st.tx_large == 1,
              "%s: large UDP frame: sent %d, tx_bad_large %llu", mode, sent,
              (unsigned long long)st.tx_bad_large);
    } else {
        CHECK(sent == 0 && l->counters.tx_dropped == 1, "%s: large frame without vnet_hdr: sent %d",
              mode, sent);
    }

    /* 5. a burst of ordinary frames, link -> peer (one send/sendmmsg for all) */
    struct pn_pbuf *burst[32];
    for (int i = 0; i < 32; i++) {
        burst[i] = pn_pbuf_alloc(pool, PN_PBUF_HEADROOM, 600);
        build_frame(burst[i]->data, 600, MAC_B, MAC_A, 6);
        burst[i]->data[60] = (uint8_t)i;
    }
    uint64_t sends = st.tx_sends;
    sent = l->ops->tx_burst(l, burst, 32, 0);
    pn_link_broker_stats(l, &st);
    int seen = 0;
    for (int i = 0; i < 32; i++)
        if (peer_recv(peer, &vh, got, sizeof(got)) == 600 && got[60] == (uint8_t)i)
            seen++;
    CHECK(sent == 32 && seen == 32 && st.tx_sends - sends == 1,
          "%s: burst: sent %d, peer saw %d in order, %llu send calls", mode, sent, seen,
          (unsigned long long)(st.tx_sends - sends));

    pn_link_destroy(l);
    CHECK(pn_pbuf_pool_free(pool) == 0, "%s: buffers leaked", mode);
}

/* The lease ends: the device goes away and the link reports it (PN_EIO), in any mode. */
static void test_dead(const char *sock, const char *mode)
{
    setenv("PLEBNET_BROKER_IO", mode, 1);
    struct pn_link *l = NULL;
    char err[128];
    if (pn_link_broker_open(sock, NULL, NULL, &l, err, sizeof(err))) {
        CHECK(0, "dead %s: open: %s", mode, err);
        return;
    }
    if (system("ip link del pa") != 0)
        CHECK(0, "ip link del pa");
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_pbuf *in[4];
    int n = link_recv(l, pool, in, 4);
    CHECK(n == PN_EIO, "%s: a deleted device gives PN_EIO (got %d)", mode, n);
    for (int i = 0; i < n; i++)
        pn_pbuf_free(in[i]);
    pn_link_destroy(l);
    pn_pbuf_pool_free(pool);
}

static int veth_up(void)
{
    return system("ip link add pa address 02:50:00:00:00:0a type veth peer name pb address "
                  "02:50:00:00:00:0b && ip link set pa up && ip link set pb up && "
                  "sysctl -qw net.ipv6.conf.pa.disable_ipv6=1 net.ipv6.conf.pb.disable_ipv6=1");
}

int main(void)
{
    if (geteuid() != 0) {
        printf("SKIP: needs root (a private network namespace with a veth pair)\n");
        return 77;
    }
    /* Everything below happens in a namespace of our own, freed when we exit. */
    if (unshare(CLONE_NEWNET) < 0) {
        printf("SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
        return 77;
    }
    if (veth_up() != 0) {
        printf("FAIL: cannot create the veth pair (ip(8) missing?)\n");
        return 1;
    }
    char sock[108];
    snprintf(sock, sizeof(sock), "/tmp/pn_broker_ring.%d.sock", (int)getpid());
    unlink(sock);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    strcpy(sun.sun_path, sock);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 8) < 0) {
        printf("FAIL: fake broker socket: %s\n", strerror(errno));
        return 1;
    }
    pid_t srv = fork();
    if (srv == 0)
        fake_broker(lfd);
    close(lfd);
    int peer = packet_socket("pb", 1);
    CHECK(peer >= 0, "peer socket: %s", strerror(errno));
    if (peer >= 0) {
        test_mode(sock, "plain", PN_BROKER_IO_VNET, peer);
        test_mode(sock, "plain,novnet", 0, peer);
        test_mode(sock, "rxring", PN_BROKER_IO_RING | PN_BROKER_IO_VNET, peer);
        test_mode(sock, "ring", PN_BROKER_IO_RING | PN_BROKER_IO_TXRING | PN_BROKER_IO_VNET, peer);
        test_mode(sock, "ring,novnet", PN_BROKER_IO_RING | PN_BROKER_IO_TXRING, peer);
        close(peer);
    }
    const char *dead_modes[] = {"plain", "rxring"};
    for (int i = 0; i < 2; i++) {
        if (i && veth_up() != 0)
            CHECK(0, "veth re-create");
        test_dead(sock, dead_modes[i]);
    }
    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
    unlink(sock);
    printf("%s (%d failures)\n", fails ? "FAILED" : "all passed", fails);
    return fails ? 1 : 0;
}
