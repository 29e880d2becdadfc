/* broker.c — the `broker` link: frames move over an AF_PACKET descriptor leased from plebnetd,
 * which only carries the leased MAC and IPv4 address. Call chain: pn_link_broker_open ->
 * connect/request/recvmsg(SCM_RIGHTS) -> io_setup (vnet_hdr; TPACKET_V3 rings if asked);
 * pn_stack_poll -> broker_rx -> ring_rx (blocks) | plain_rx (recvmsg);
 * pn_stack_flush -> broker_tx -> ring_tx (slots + one send) | plain_tx (sendmmsg).
 *
 * Kernel facts this rests on (net/packet/af_packet.c, Linux 6.x; packet(7)):
 * - ring, version, loss and vnet_hdr options need no capability, so the holder of a received
 *   descriptor may set them; PACKET_VNET_HDR, PACKET_VERSION and PACKET_LOSS return EBUSY once
 *   a ring exists, so they go first. The daemon's locked filter still runs on every received
 *   frame (tpacket_rcv calls run_filter like packet_rcv) and its tc filters see every sent one.
 * - PACKET_VERSION is per socket: a TPACKET_V3 RX ring means a V3 TX ring. V3 TX (since 4.11)
 *   is frame based like V2 (tp_next_offset must be 0), which is what we use.
 * - With vnet_hdr, tpacket_rcv writes a struct virtio_net_hdr just before each frame's MAC
 *   header (V3 too) and tpacket_snd reads one at the start of each TX frame. */
#define _GNU_SOURCE /* sendmmsg */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include "plebnet/broker.h"
#include "plebnet/errors.h"
#include "plebnet/link.h"

#define ETH_HDR 14u
#define VNET_LEN ((uint32_t)sizeof(struct virtio_net_hdr))
/* Largest frame either way: a 64 KiB IPv4 datagram (RFC 791 total length) + Ethernet. */
#define MAX_FRAME (65535u + ETH_HDR)
/* RX ring: 16 blocks of 256 KiB (a coalesced 64 KiB frame fits a block with room to spare).
 * A block is handed to us when full or after RX_TOV_MS, the smallest retire timeout. */
#define RX_BLOCK (256u * 1024u)
#define RX_BLOCKS 16u
#define RX_FRAME 2048u /* V3 ignores it, but tp_frame_nr must match block_size/frame_size */
#define RX_TOV_MS 1u
/* TX ring: with vnet_hdr a slot holds a 64 KiB segment: 15 slots of 69,904 bytes per 1 MiB
 * block (the frame data starts tp_hdrlen - sizeof(sockaddr_ll) = 48 bytes into a slot). */
#define TX_BLOCK_LARGE (1024u * 1024u)
#define TX_FRAME_LARGE 69904u
#define TX_BLOCKS_LARGE 5u
#define TX_BLOCK_SMALL (64u * 1024u)
#define TX_FRAME_SMALL 2048u
#define TX_BLOCKS_SMALL 4u
#define TX_DATA_OFF (TPACKET3_HDRLEN - sizeof(struct sockaddr_ll))
#define PLAIN_BATCH 64 /* messages per sendmmsg in plain mode */
#define HDR_COPY 160u  /* >= Ethernet + IPv4 (60) + TCP (60) headers */

struct broker {
    struct pn_link link;     /* first member */
    int ctl;                 /* the control connection: the lease lives while it is open */
    int pkt;                 /* the leased packet socket */
    int dead;                /* PN_EIO once the socket reported an error (lease gone) */
    bool vnet, ring, txring; /* ring: RX ring mapped; txring: TX ring too */
    struct pn_broker_link_stats st;
    /* rings: one mapping, RX blocks then TX slots */
    uint8_t *map;
    size_t map_len;
    uint8_t *rx, *tx;
    uint32_t rx_blk;  /* block being read */
    uint32_t rx_left; /* frames of that block not yet read (0 = block not opened) */
    uint8_t *rx_next; /* next frame header in the open block */
    uint32_t tx_frame, tx_nr, tx_head;
    /* plain mode */
    uint8_t *scratch; /* one received frame (MAX_FRAME) */
    struct mmsghdr msgs[PLAIN_BATCH];
    struct iovec iov[PLAIN_BATCH][3];
    struct virtio_net_hdr vh[PLAIN_BATCH];
    uint8_t hdrs[PLAIN_BATCH][HDR_COPY];
};

static const struct pn_link_ops broker_ops;

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- receive ---- */

/* Checks a received frame's metadata and copies it into an owned pbuf (NULL: dropped and
 * counted, or no buffer: *nobuf set). The copy is needed: ring memory must go back to the
 * kernel block by block, while the stack keeps buffers for as long as it likes (reassembly,
 * out-of-order queues), with headroom in front for replies. `status` is the TP_STATUS_* word
 * (tpacket3_hdr or PACKET_AUXDATA); vh the virtio_net_hdr or NULL. */
static struct pn_pbuf *rx_frame(struct broker *b, struct pn_pbuf_pool *pool, const uint8_t *d,
                                uint32_t caplen, uint32_t len, uint32_t status,
                                const struct virtio_net_hdr *vh, uint64_t now, bool *nobuf)
{
    struct pn_link *l = &b->link;
    /* The kernel strips an 802.1Q tag before packet sockets see the frame and reports it in
     * the status: the bytes then look untagged. We speak no VLANs: drop. */
    if (status & TP_STATUS_VLAN_VALID) {
        b->st.rx_vlan++;
        l->counters.rx_dropped++;
        return NULL;
    }
    if (caplen < len || len > MAX_FRAME) {
        b->st.rx_truncated++;
        l->counters.rx_dropped++;
        return NULL;
    }
    if (len < ETH_HDR) {
        l->counters.rx_dropped++;
        return NULL;
    }
    /* virtio 1.2 §5.1.6.4: NEEDS_CSUM means the checksum is partial (a sender on this host left
     * it to offload), DATA_VALID that it was verified; gso_type says the frame is several
     * segments coalesced (GSO from a local sender, GRO). Either way the kernel vouches for
     * the bytes, as TP_STATUS_CSUMNOTREADY / TP_STATUS_CSUM_VALID do without vnet_hdr. */
    bool csum_ok = status & (TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID);
    if (vh) {
        if (vh->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) {
            b->st.rx_bad_vnet++;
            l->counters.rx_dropped++;
            return NULL;
        }
        if (vh->flags)
            csum_ok = true;
    }
    struct pn_pbuf *p = pn_pbuf_alloc(pool, PN_PBUF_HEADROOM, len);
    if (!p) {
        *nobuf = true;
        b->st.rx_no_buffer++;
        return NULL;
    }
    memcpy(p->data, d, len);
    p->time = now;
    if (csum_ok)
        p->flags |= PN_PBUF_F_CSUM_OK;
    if (len > l->caps.mtu + ETH_HDR)
        b->st.rx_coalesced++;
    l->counters.rx_frames++;
    l->counters.rx_bytes += len;
    return p;
}

/* A pending socket error (the daemon deleted the lease's device: ENETDOWN/ENXIO) makes the
 * link dead. The ring path makes no syscall per frame, so ask when the ring is empty. */
static int check_dead(struct broker *b)
{
    struct pollfd pf = {.fd = b->pkt, .events = 0};
    if (poll(&pf, 1, 0) == 1 && (pf.revents & (POLLERR | POLLHUP | POLLNVAL))) {
        int e = 0;
        socklen_t el = sizeof(e);
        (void)getsockopt(b->pkt, SOL_SOCKET, SO_ERROR, &e, &el);
        b->dead = PN_EIO;
    }
    return b->dead;
}

static struct tpacket_block_desc *rx_block(struct broker *b, uint32_t i)
{
    return (struct tpacket_block_desc *)(void *)(b->rx + (size_t)i * RX_BLOCK);
}

static int ring_rx(struct broker *b, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                   uint64_t now)
{
    int n = 0;
    while (n < max) {
        struct tpacket_block_desc *bd = rx_block(b, b->rx_blk);
        if (!b->rx_left) {
            /* A block is ours once the kernel retired it (TP_STATUS_USER). */
            if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
                break;
            b->rx_left = bd->hdr.bh1.num_pkts;
            b->rx_next = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
            if (!b->rx_left)
                b->rx_left = UINT32_MAX; /* empty block: hand it back below */
        }
        bool nobuf = false;
        if (b->rx_left != UINT32_MAX) {
            uint8_t *end = (uint8_t *)bd + RX_BLOCK;
            struct tpacket3_hdr *h = (struct tpacket3_hdr *)(void *)b->rx_next;
            /* Bounds: the kernel wrote these, but a bad offset must not walk off the map. */
            if ((uint8_t *)h + sizeof(*h) > end || (uint8_t *)h + h->tp_mac > end ||
                (uint8_t *)h + h->tp_mac + h->tp_snaplen > end ||
                (b->vnet && h->tp_mac < sizeof(*h) + VNET_LEN)) {
                b->link.counters.rx_dropped++;
                b->rx_left = UINT32_MAX;
            } else {
                const uint8_t *d = (uint8_t *)h + h->tp_mac;
                struct virtio_net_hdr vh;
                if (b->vnet)
                    memcpy(&vh, d - VNET_LEN, sizeof(vh));
                struct pn_pbuf *p = rx_frame(b, pool, d, h->tp_snaplen, h->tp_len, h->tp_status,
                                             b->vnet ? &vh : NULL, now, &nobuf);
                if (nobuf)
                    break; /* the frame stays in the ring for the next poll */
                if (p)
                    out[n++] = p;
                if (--b->rx_left) {
                    if (!h->tp_next_offset)
                        b->rx_left = UINT32_MAX;
                    else
                        b->rx_next += h->tp_next_offset;
                }
            }
        }
        if (b->rx_left == 0 || b->rx_left == UINT32_MAX) {
            __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
            b->rx_left = 0;
            b->rx_blk = (b->rx_blk + 1) % RX_BLOCKS;
            b->st.rx_blocks++;
        }
    }
    if (n == 0 && check_dead(b))
        return b->dead;
    return n;
}

static int plain_rx(struct broker *b, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                    uint64_t now)
{
    int n = 0;
    while (n < max) {
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
        } ctl;
        struct virtio_net_hdr vh;
        struct iovec iov[2] = {{&vh, VNET_LEN}, {b->scratch, MAX_FRAME}};
        struct msghdr mh = {.msg_iov = b->vnet ? iov : iov + 1,
                            .msg_iovlen = b->vnet ? 2 : 1,
                            .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl.buf)};
        ssize_t got = recvmsg(b->pkt, &mh, MSG_DONTWAIT | MSG_TRUNC);
        if (got < 0) {
            int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
                break;
            /* ENETDOWN/ENXIO: the daemon ended the lease. */
            b->dead = PN_EIO;
            return n ? n : PN_EIO;
        }
        uint32_t len = (uint32_t)got, cap;
        if (b->vnet) {
            if (len < VNET_LEN) {
                b->st.rx_bad_vnet++;
                b->link.counters.rx_dropped++;
                continue;
            }
            len -= VNET_LEN;
        }
        cap = len > MAX_FRAME ? MAX_FRAME : len;
        /* PACKET_AUXDATA carries the same status word a ring frame has. */
        uint32_t status = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
                c->cmsg_len < CMSG_LEN(sizeof(struct tpacket_auxdata)))
                continue;
            struct tpacket_auxdata aux;
            memcpy(&aux, CMSG_DATA(c), sizeof(aux));
            status = aux.tp_status;
        }
        bool nobuf = false;
        struct pn_pbuf *p =
            rx_frame(b, pool, b->scratch, cap, len, status, b->vnet ? &vh : NULL, now, &nobuf);
        if (nobuf) {
            b->link.counters.rx_dropped++; /* already taken from the socket */
            break;
        }
        if (p)
            out[n++] = p;
    }
    return n;
}

static int broker_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                     uint64_t now)
{
    struct broker *b = (struct broker *)l;
    if (b->dead)
        return b->dead;
    return b->ring ? ring_rx(b, pool, out, max, now) : plain_rx(b, pool, out, max, now);
}

static uint64_t broker_next_deadline(struct pn_link *l)
{
    /* Frames left in a block we hold (the burst was full): come back at once. */
    return ((struct broker *)l)->rx_left ? 0 : PN_TIME_NEVER;
}

/* ---- transmit ---- */

/* Describes frame d (len bytes) for the kernel. An ordinary frame gets an all-zero header
 * (checksums complete). A large one must be one IPv4 TCP segment built with gso_size: the
 * header asks for TCPv4 segmentation (virtio 1.2 §5.1.6.2) and the TCP checksum field, in
 * `hdr` (a writable copy of the first hdr_len bytes), becomes the pseudo-header sum, which the
 * kernel completes per segment (RFC 9293 §3.1: pseudo-header = src, dst, zero, protocol, TCP
 * length). Returns the bytes of headers to take from `hdr` (0 = none), or -1 (drop). */
static int vnet_fill(struct broker *b, const struct pn_pbuf *p, struct virtio_net_hdr *vh,
                     uint8_t *hdr)
{
    memset(vh, 0, sizeof(*vh));
    const uint8_t *d = p->data;
    uint32_t len = p->len;
    if (len <= b->link.caps.mtu + ETH_HDR)
        return 0;
    if (!p->gso_size || len < ETH_HDR + 40u || rd16(d + 12) != 0x0800 || (d[14] >> 4) != 4)
        return -1;
    uint32_t ihl = (d[14] & 0xfu) * 4u;
    /* RFC 791: total length must cover exactly this datagram; no fragment (the kernel would
     * not segment one) and protocol TCP. */
    if (ihl < 20 || rd16(d + 16) != len - ETH_HDR || (rd16(d + 20) & 0x3fffu) || d[23] != 6 ||
        ETH_HDR + ihl + 20u > len)
        return -1;
    uint32_t thl = (uint32_t)(d[ETH_HDR + ihl + 12] >> 4) * 4u;
    uint32_t hl = ETH_HDR + ihl + thl;
    if (thl < 20 || hl > len || hl > HDR_COPY || len - hl <= p->gso_size)
        return -1;
    memcpy(hdr, d, hl);
    uint32_t tcp_len = len - ETH_HDR - ihl;
    uint32_t sum = rd16(d + 26) + rd16(d + 28) + rd16(d + 30) + rd16(d + 32) + 6u + tcp_len;
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    hdr[ETH_HDR + ihl + 16] = (uint8_t)(sum >> 8);
    hdr[ETH_HDR + ihl + 17] = (uint8_t)sum;
    vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    vh->hdr_len = (uint16_t)hl;
    vh->gso_size = p->gso_size;
    vh->csum_start = (uint16_t)(ETH_HDR + ihl);
    vh->csum_offset = 16; /* offsetof(struct tcphdr, check) */
    b->st.tx_large++;
    return (int)hl;
}

static struct tpacket3_hdr *tx_slot(struct broker *b, uint32_t i)
{
    /* Slots do not straddle blocks: block_size / frame_size slots per block. */
    uint32_t per = (b->vnet ? TX_BLOCK_LARGE : TX_BLOCK_SMALL) / b->tx_frame;
    uint32_t blk = b->vnet ? TX_BLOCK_LARGE : TX_BLOCK_SMALL;
    return (struct tpacket3_hdr *)(void *)(b->tx + (size_t)(i / per) * blk +
                                           (size_t)(i % per) * b->tx_frame);
}

/* Asks the kernel to send every slot marked TP_STATUS_SEND_REQUEST (tpacket_snd). */
static void tx_kick(struct broker *b)
{
    b->st.tx_sends++;
    if (send(b->pkt, NULL, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS &&
        errno != EINTR)
        b->dead = PN_EIO;
}

/* Takes the slot at tx_head if the kernel is done with it (returns NULL if it is not). A slot
 * the kernel refused (PACKET_LOSS: TP_STATUS_WRONG_FORMAT) is counted and reused. */
static struct tpacket3_hdr *tx_take(struct broker *b)
{
    struct tpacket3_hdr *h = tx_slot(b, b->tx_head);
    uint32_t s = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if (s == TP_STATUS_WRONG_FORMAT) {
        b->st.tx_rejected++;
        b->link.counters.tx_dropped++;
        s = TP_STATUS_AVAILABLE;
    }
    return s == TP_STATUS_AVAILABLE ? h : NULL;
}

static int ring_tx(struct broker *b, struct pn_pbuf **frames, int n)
{
    struct pn_link *l = &b->link;
    int sent = 0, queued = 0;
    for (int i = 0; i < n; i++) {
        struct pn_pbuf *p = frames[i];
        struct virtio_net_hdr vh;
        uint8_t hdr[HDR_COPY];
        int hl = 0;
        if (p->len > l->caps.max_frame || p->len < ETH_HDR ||
            (b->vnet && (hl = vnet_fill(b, p, &vh, hdr)) < 0)) {
            if (hl < 0)
                b->st.tx_bad_large++;
            l->counters.tx_dropped++;
            pn_pbuf_free(p);
            continue;
        }
        struct tpacket3_hdr *h = tx_take(b);
        if (!h && queued) {
            tx_kick(b); /* a full ring: send what is queued, then look again */
            queued = 0;
            h = tx_take(b);
        }
        if (!h) {
            b->st.tx_ring_full++;
            l->counters.tx_dropped++;
            pn_pbuf_free(p);
            continue;
        }
        uint8_t *dst = (uint8_t *)h + TX_DATA_OFF;
        uint32_t tot = p->len;
        if (b->vnet) {
            memcpy(dst, &vh, VNET_LEN);
            dst += VNET_LEN;
            tot += VNET_LEN;
        }
        memcpy(dst, p->data, p->len);
        if (hl > 0)
            memcpy(dst, hdr, (size_t)hl);
        h->tp_len = tot;
        h->tp_snaplen = tot;
        h->tp_next_offset = 0;
        __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
        b->tx_head = (b->tx_head + 1) % b->tx_nr;
        queued++;
        sent++;
        l->counters.tx_frames++;
        l->counters.tx_bytes += p->len;
        pn_pbuf_free(p);
    }
    if (queued)
        tx_kick(b); /* one send() for the burst */
    return sent;
}

static int plain_tx(struct broker *b, struct pn_pbuf **frames, int n)
{
    struct pn_link *l = &b->link;
    int sent = 0;
    for (int base = 0; base < n; base += PLAIN_BATCH) {
        int k = 0, idx[PLAIN_BATCH];
        int end = n - base < PLAIN_BATCH ? n : base + PLAIN_BATCH;
        for (int i = base; i < end; i++) {
            struct pn_pbuf *p = frames[i];
            int hl = 0;
            if (p->len > l->caps.max_frame || p->len < ETH_HDR ||
                (b->vnet && (hl = vnet_fill(b, p, &b->vh[k], b->hdrs[k])) < 0)) {
                if (hl < 0)
                    b->st.tx_bad_large++;
                l->counters.tx_dropped++;
                continue;
            }
            struct iovec *v = b->iov[k];
            int c = 0;
            if (b->vnet)
                v[c++] = (struct iovec){&b->vh[k], VNET_LEN};
            if (hl > 0)
                v[c++] = (struct iovec){b->hdrs[k], (size_t)hl};
            v[c++] = (struct iovec){p->data + hl, p->len - (uint32_t)hl};
            memset(&b->msgs[k], 0, sizeof(b->msgs[k]));
            b->msgs[k].msg_hdr.msg_iov = v;
            b->msgs[k].msg_hdr.msg_iovlen = (size_t)c;
            idx[k++] = i;
        }
        int done = 0;
        while (done < k) {
            b->st.tx_sends++;
            int r = sendmmsg(b->pkt, b->msgs + done, (unsigned)(k - done), MSG_DONTWAIT);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                /* This message failed (full queue, or the device is gone): skip it. */
                if (r < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EMSGSIZE &&
                    errno != EINVAL)
                    b->dead = PN_EIO;
                b->st.tx_rejected++;
                l->counters.tx_dropped++;
                done++;
                continue;
            }
            for (int j = done; j < done + r; j++) {
                l->counters.tx_frames++;
                l->counters.tx_bytes += frames[idx[j]]->len;
                sent++;
            }
            done += r;
        }
        for (int i = base; i < end; i++)
            pn_pbuf_free(frames[i]);
    }
    return sent;
}

static int broker_tx(struct pn_link *l, struct pn_pbuf **frames, int n, uint64_t now)
{
    struct broker *b = (struct broker *)l;
    (void)now;
    if (b->dead) {
        for (int i = 0; i < n; i++)
            pn_pbuf_free(frames[i]);
        l->counters.tx_dropped += (uint64_t)n;
        return 0;
    }
    return b->txring ? ring_tx(b, frames, n) : plain_tx(b, frames, n);
}

static int broker_fd(struct pn_link *l)
{
    return ((struct broker *)l)->pkt;
}

static void broker_destroy(struct pn_link *l)
{
    struct broker *b = (struct broker *)l;
    if (b->map)
        munmap(b->map, b->map_len);
    free(b->scratch);
    close(b->pkt);
    close(b->ctl); /* ends the lease */
    free(b);
}

static const struct pn_link_ops broker_ops = {
    .name = "broker",
    .rx_burst = broker_rx,
    .tx_burst = broker_tx,
    .fd = broker_fd,
    .next_deadline = broker_next_deadline,
    .destroy = broker_destroy,
};

int pn_link_broker_stats(const struct pn_link *l, struct pn_broker_link_stats *out)
{
    if (!l || l->ops != &broker_ops || !out)
        return PN_EINVAL;
    *out = ((const struct broker *)l)->st;
    return 0;
}

/* ---- setting the descriptor up ---- */

static int sockopt(int fd, int name, const void *v, socklen_t len)
{
    return setsockopt(fd, SOL_PACKET, name, v, len) < 0 ? errno : 0;
}

/* Maps the rings. vnet_hdr, version and loss first (EBUSY once a ring exists). Returns 0 or
 * the errno of the failing step, with the socket left without rings. */
static int ring_setup(struct broker *b, bool want_tx)
{
    int v3 = TPACKET_V3, one = 1, e;
    if ((e = sockopt(b->pkt, PACKET_VERSION, &v3, sizeof(v3))) != 0)
        return e;
    /* A malformed TX frame is marked TP_STATUS_WRONG_FORMAT and skipped, instead of stopping
     * the whole ring (packet(7), PACKET_LOSS). */
    if ((e = sockopt(b->pkt, PACKET_LOSS, &one, sizeof(one))) != 0)
        return e;
    struct tpacket_req3 rq = {.tp_block_size = RX_BLOCK,
                              .tp_block_nr = RX_BLOCKS,
                              .tp_frame_size = RX_FRAME,
                              .tp_frame_nr = RX_BLOCKS * (RX_BLOCK / RX_FRAME),
                              .tp_retire_blk_tov = RX_TOV_MS};
    if ((e = sockopt(b->pkt, PACKET_RX_RING, &rq, sizeof(rq))) != 0)
        return e;
    uint32_t tblk = b->vnet ? TX_BLOCK_LARGE : TX_BLOCK_SMALL;
    uint32_t tfr = b->vnet ? TX_FRAME_LARGE : TX_FRAME_SMALL;
    uint32_t tnb = want_tx ? (b->vnet ? TX_BLOCKS_LARGE : TX_BLOCKS_SMALL) : 0;
    /* V3 TX rejects a retire timeout, private area or feature word (must be 0). */
    struct tpacket_req3 tq = {.tp_block_size = tblk,
                              .tp_block_nr = tnb,
                              .tp_frame_size = tfr,
                              .tp_frame_nr = tnb * (tblk / tfr)};
    struct tpacket_req3 zero;
    memset(&zero, 0, sizeof(zero));
    if (want_tx && (e = sockopt(b->pkt, PACKET_TX_RING, &tq, sizeof(tq))) != 0) {
        (void)sockopt(b->pkt, PACKET_RX_RING, &zero, sizeof(zero));
        return e;
    }
    size_t rxl = (size_t)RX_BLOCK * RX_BLOCKS, txl = (size_t)tblk * tnb;
    void *m = mmap(NULL, rxl + txl, PROT_READ | PROT_WRITE, MAP_SHARED, b->pkt, 0);
    if (m == MAP_FAILED) {
        e = errno;
        if (want_tx)
            (void)sockopt(b->pkt, PACKET_TX_RING, &zero, sizeof(zero));
        (void)sockopt(b->pkt, PACKET_RX_RING, &zero, sizeof(zero));
        return e;
    }
    b->txring = want_tx;
    b->map = m;
    b->map_len = rxl + txl;
    b->rx = b->map;
    b->tx = b->map + rxl;
    b->tx_frame = tfr;
    b->tx_nr = tq.tp_frame_nr;
    return 0;
}

/* Chooses the I/O mode (see broker.h) and prepares the socket; 0 or PN_ENOMEM. */
static int io_setup(struct broker *b)
{
    const char *env = getenv("PLEBNET_BROKER_IO");
    /* Default, chosen by measurement (docs/BENCHMARKS.md, lease section): recvmsg + one
     * sendmmsg per burst, with vnet_hdr. Against it, on this kernel:
     * - the RX ring hands frames over a block at a time: a block that does not fill waits
     *   for the retire timer (>= 1 ms), which cost ping ~0.6 ms of RTT and a receiving
     *   stack 15-32 % of its throughput (its ACKs leave late); a bulk sender gained 4-45 %
     *   (its ACKs come batched), so PLEBNET_BROKER_IO=rxring is there for it;
     * - a TX ring copies each 64 KiB segment into a slot and was no faster than sendmmsg;
     * - each ring costs the lease open an RCU grace period (packet_set_ring ->
     *   synchronize_net), ~14 ms here, against ~2.5 ms for the whole grant without. */
    bool want_ring = env && (!strncmp(env, "ring", 4) || !strncmp(env, "rxring", 6));
    bool want_txring = env && !strncmp(env, "ring", 4);
    bool want_vnet = !(env && strstr(env, "novnet"));
    int one = 1;
    if (want_vnet && sockopt(b->pkt, PACKET_VNET_HDR, &one, sizeof(one)) == 0)
        b->vnet = true;
    if (want_ring) {
        int e = ring_setup(b, want_txring);
        if (e == 0) {
            b->ring = true;
        } else {
            b->st.ring_fallbacks++;
            b->st.ring_error = e;
        }
    }
    if (!b->ring) {
        /* Plain mode: PACKET_AUXDATA gives recvmsg the status word a ring frame carries. */
        (void)sockopt(b->pkt, PACKET_AUXDATA, &one, sizeof(one));
        b->scratch = malloc(MAX_FRAME);
        if (!b->scratch)
            return PN_ENOMEM;
    }
    b->st.mode = (b->ring ? PN_BROKER_IO_RING : 0) | (b->txring ? PN_BROKER_IO_TXRING : 0) |
                 (b->vnet ? PN_BROKER_IO_VNET : 0);
    /* Coalesced frames can arrive in any mode: a local Linux sender hands the veth 64 KiB
     * GSO frames and packet sockets see them whole. */
    b->link.caps.large_rx = true;
    b->link.caps.large_tx = b->vnet;
    b->link.caps.max_frame = b->vnet ? MAX_FRAME : b->link.caps.mtu + ETH_HDR;
    return 0;
}

static int errf(char *err, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int errf(char *err, size_t len, int code, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return code;
}

int pn_link_broker_open(const char *socket_path, const struct pn_broker_request *want,
                        struct pn_broker_reply *lease, struct pn_link **out, char *err,
                        size_t errlen)
{
    const char *path = socket_path ? socket_path : PN_BROKER_SOCKET;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path))
        return errf(err, errlen, PN_EINVAL, "broker socket path too long");
    strcpy(sun.sun_path, path);
    struct pn_broker_request q;
    memset(&q, 0, sizeof(q));
    if (want)
        q = *want;
    q.magic = PN_BROKER_MAGIC;
    q.version = PN_BROKER_VERSION;
    q.type = PN_BROKER_LEASE;

    int ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ctl < 0)
        return errf(err, errlen, PN_EIO, "socket: %s", strerror(errno));
    if (connect(ctl, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int e = errno;
        close(ctl);
        return errf(err, errlen, PN_EIO, "cannot reach plebnetd at %s: %s", path, strerror(e));
    }
    if (send(ctl, &q, sizeof(q), MSG_NOSIGNAL) != (ssize_t)sizeof(q)) {
        int e = errno;
        close(ctl);
        return errf(err, errlen, PN_EIO, "sending the request: %s", strerror(e));
    }
    struct pn_broker_reply r;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } c;
    struct iovec iov = {.iov_base = &r, .iov_len = sizeof(r)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof(c.buf)};
    ssize_t n;
    do
        n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    int pkt = -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
            cm->cmsg_len == CMSG_LEN(sizeof(int)) && pkt < 0)
            memcpy(&pkt, CMSG_DATA(cm), sizeof(int));
    int rc = 0;
    if (n != (ssize_t)sizeof(r) || r.magic != PN_BROKER_MAGIC || r.version != PN_BROKER_VERSION ||
        (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        rc = errf(err, errlen, PN_EPROTO, "malformed reply from plebnetd");
    else if (r.status != PN_BROKER_OK)
        rc = errf(err, errlen, PN_EACCES, "plebnetd refused the lease: %s",
                  pn_broker_status_str(r.status));
    else if (pkt < 0 || r.mtu < 68)
        rc = errf(err, errlen, PN_EPROTO, "malformed reply from plebnetd");
    if (lease && n == (ssize_t)sizeof(r))
        *lease = r;
    struct broker *b = rc ? NULL : calloc(1, sizeof(*b));
    if (!rc && !b)
        rc = errf(err, errlen, PN_ENOMEM, "out of memory");
    if (rc) {
        if (pkt >= 0)
            close(pkt);
        close(ctl);
        return rc;
    }
    b->link.ops = &broker_ops;
    b->link.caps.mtu = r.mtu;
    b->ctl = ctl;
    b->pkt = pkt;
    if (io_setup(b) < 0) {
        broker_destroy(&b->link);
        return errf(err, errlen, PN_ENOMEM, "out of memory");
    }
    *out = &b->link;
    return 0;
}

/* Reads exactly n bytes (the daemon writes whole records; a short read means it closed). */
static int read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, (char *)buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

int pn_broker_list(const char *socket_path, struct pn_broker_lease_info *out, int max, char *err,
                   size_t errlen)
{
    const char *path = socket_path ? socket_path : PN_BROKER_SOCKET;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path))
        return errf(err, errlen, PN_EINVAL, "broker socket path too long");
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errf(err, errlen, PN_EIO, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int e = errno;
        close(fd);
        return errf(err, errlen, PN_EIO, "cannot reach plebnetd at %s: %s", path, strerror(e));
    }
    struct pn_broker_request q;
    memset(&q, 0, sizeof(q));
    q.magic = PN_BROKER_MAGIC;
    q.version = PN_BROKER_VERSION;
    q.type = PN_BROKER_LIST;
    struct pn_broker_reply r;
    int rc;
    if (send(fd, &q, sizeof(q), MSG_NOSIGNAL) != (ssize_t)sizeof(q) ||
        read_full(fd, &r, sizeof(r)) < 0 || r.magic != PN_BROKER_MAGIC ||
        r.version != PN_BROKER_VERSION) {
        rc = errf(err, errlen, PN_EPROTO, "no valid reply from plebnetd");
    } else if (r.status != PN_BROKER_OK) {
        rc = errf(err, errlen, PN_EACCES, "plebnetd refused: %s", pn_broker_status_str(r.status));
    } else {
        rc = (int)(r.lease_id > 65536 ? 65536 : r.lease_id);
        for (int i = 0; i < rc; i++) {
            struct pn_broker_lease_info li;
            if (read_full(fd, &li, sizeof(li)) < 0 || li.magic != PN_BROKER_MAGIC) {
                rc = errf(err, errlen, PN_EPROTO, "truncated lease list from plebnetd");
                break;
            }
            if (i < max)
                out[i] = li;
        }
    }
    close(fd);
    return rc;
}
