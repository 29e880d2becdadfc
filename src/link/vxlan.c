/* link/vxlan.c — the vxlan link (include/plebnet/vxlan.h): Ethernet frames in VXLAN over a
 * non-blocking kernel UDP socket, with a Linux-like forwarding table and batched I/O.
 * Call chain: pn_stack_poll -> vxlan_rx -> recvmmsg -> decap -> learn -> stack;
 *             pn_stack_flush -> vxlan_tx -> fdb lookup / flood -> sendmmsg (+UDP_SEGMENT). */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "plebnet/errors.h"
#include "plebnet/vxlan.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define VXLAN_HDR_LEN 8u
/* RFC 7348 §5: flags byte "RRRRIRRR": the I flag (0x08) says the VNI is valid. */
#define VXLAN_FLAG_I 0x08u
#define ETH_HDR 14u
#define UDP_MAX_PAYLOAD 65507u

#define RX_SLOTS_PLAIN 64 /* datagrams per recvmmsg without GRO */
#define RX_SLOTS_GRO 16   /* coalesced receives per recvmmsg with GRO (64 KiB each) */
#define TX_CHUNK 64       /* frames handled per round of tx_burst */
#define TX_MSGS 128       /* datagrams (or GSO batches) per sendmmsg */
#define GSO_MAX_SEGS 64   /* UDP_MAX_SEGMENTS on older kernels */
#define GSO_MAX_BYTES 65000u

union ctlbuf {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
};

struct fdb_slot {
    struct pn_vxlan_fdb_entry e;
    int32_t next; /* chain in a bucket, or the free list */
    bool used;
};

struct tx_meta {
    struct pn_endpoint dst;
    uint32_t seg;   /* payload bytes of every segment but the last */
    uint32_t bytes; /* payload bytes in the batch */
    int nseg;
    bool tail; /* a shorter last segment was added: the batch is closed */
    int first_iov;
};

struct vxlan {
    struct pn_link link; /* must be first */
    int fd;
    uint32_t vni;
    uint8_t hdr[VXLAN_HDR_LEN]; /* the header every frame is sent with */
    struct pn_endpoint local;
    struct pn_endpoint remotes[PN_VXLAN_MAX_REMOTES];
    int n_remotes;
    bool gso, gro, learn;
    uint64_t age_ns;
    struct pn_vxlan_counters vc;
    /* forwarding table: chained hash over a fixed array of slots */
    struct fdb_slot *slots;
    int32_t *buckets;
    uint32_t cap, nbuckets, count;
    int32_t free_head;
    /* receive: nslots buffers of slot_size bytes, and what is left of the last recvmmsg */
    uint8_t *rxbuf;
    uint32_t slot_size;
    int nslots;
    struct mmsghdr *rmsg;
    struct iovec *riov;
    struct sockaddr_in *rname;
    union ctlbuf *rctl;
    int rx_k, rx_i;  /* messages received, message being split */
    uint32_t rx_off; /* offset in message rx_i */
    /* transmit */
    struct mmsghdr tmsg[TX_MSGS];
    struct tx_meta tmeta[TX_MSGS];
    struct sockaddr_in tname[TX_MSGS];
    union ctlbuf tctl[TX_MSGS];
    struct iovec tiov[2 * TX_MSGS * 2]; /* (header, frame) pairs */
    uint8_t tiov_frame[2 * TX_MSGS];    /* frame index (in the chunk) of each pair */
    int nmsg, niov;
    bool sent[TX_CHUNK];
};

static struct vxlan *V(struct pn_link *l)
{
    return (struct vxlan *)l;
}

/* ---- forwarding table ---- */

static uint32_t mac_hash(const struct pn_mac *m)
{
    /* The table is bounded (fdb_max) so a crafted collision chain costs at most O(fdb_max). */
    uint64_t x = 0;
    memcpy(&x, m->b, 6);
    x *= 0x9e3779b97f4a7c15ull;
    return (uint32_t)(x >> 32);
}

static struct fdb_slot *fdb_find(struct vxlan *v, const struct pn_mac *mac, int32_t **link_out)
{
    int32_t *lp = &v->buckets[mac_hash(mac) & (v->nbuckets - 1)];
    while (*lp >= 0) {
        struct fdb_slot *s = &v->slots[*lp];
        if (pn_mac_equal(&s->e.mac, mac)) {
            if (link_out)
                *link_out = lp;
            return s;
        }
        lp = &s->next;
    }
    return NULL;
}

static void fdb_remove(struct vxlan *v, int32_t *lp)
{
    int32_t i = *lp;
    struct fdb_slot *s = &v->slots[i];
    *lp = s->next;
    s->used = false;
    s->next = v->free_head;
    v->free_head = i;
    v->count--;
}

static bool fdb_expired(const struct vxlan *v, const struct fdb_slot *s, uint64_t now)
{
    return !s->e.is_static && now >= s->e.updated && now - s->e.updated >= v->age_ns;
}

/* Removes every expired learned entry. O(capacity): run only when the table is full. */
static void fdb_sweep(struct vxlan *v, uint64_t now)
{
    for (uint32_t b = 0; b < v->nbuckets; b++) {
        int32_t *lp = &v->buckets[b];
        while (*lp >= 0) {
            if (fdb_expired(v, &v->slots[*lp], now)) {
                fdb_remove(v, lp);
                v->vc.fdb_aged++;
            } else {
                lp = &v->slots[*lp].next;
            }
        }
    }
}

static struct fdb_slot *fdb_insert(struct vxlan *v, const struct pn_mac *mac, uint64_t now)
{
    if (v->count == v->cap)
        fdb_sweep(v, now);
    if (v->free_head < 0)
        return NULL;
    int32_t i = v->free_head;
    struct fdb_slot *s = &v->slots[i];
    v->free_head = s->next;
    memset(&s->e, 0, sizeof(s->e));
    s->e.mac = *mac;
    s->used = true;
    int32_t *bp = &v->buckets[mac_hash(mac) & (v->nbuckets - 1)];
    s->next = *bp;
    *bp = i;
    v->count++;
    return s;
}

/* A live entry for mac, or NULL; an expired one is removed on the way (lazy aging). */
static struct fdb_slot *fdb_get(struct vxlan *v, const struct pn_mac *mac, uint64_t now)
{
    int32_t *lp;
    struct fdb_slot *s = fdb_find(v, mac, &lp);
    if (s && fdb_expired(v, s, now)) {
        fdb_remove(v, lp);
        v->vc.fdb_aged++;
        return NULL;
    }
    return s;
}

static bool ep_equal(const struct pn_endpoint *a, const struct pn_endpoint *b)
{
    return a->addr == b->addr && a->port == b->port;
}

/* RFC 7348 §4.1: the VTEP learns inner source MAC -> outer source IP. Linux learns only the
 * IP and sends to its own destination port, since a kernel VTEP sends from a per-flow hashed
 * source port. So: a sender matching a flood-list endpoint exactly (a plebnet peer, which
 * sends from its bound port) is learned as that endpoint; one matching a flood-list IP is
 * learned as that endpoint (its configured port); any other as (IP, 4789). */
static struct pn_endpoint learn_endpoint(const struct vxlan *v, const struct pn_endpoint *from)
{
    for (int i = 0; i < v->n_remotes; i++)
        if (ep_equal(&v->remotes[i], from))
            return *from;
    for (int i = 0; i < v->n_remotes; i++)
        if (v->remotes[i].addr == from->addr)
            return v->remotes[i];
    return (struct pn_endpoint){from->addr, PN_VXLAN_PORT};
}

static void fdb_learn(struct vxlan *v, const struct pn_mac *mac, const struct pn_endpoint *from,
                      uint64_t now)
{
    struct fdb_slot *s = fdb_get(v, mac, now);
    struct pn_endpoint ep = learn_endpoint(v, from);
    if (s) {
        if (s->e.is_static)
            return;
        if (!ep_equal(&s->e.dst, &ep)) {
            v->vc.fdb_moved++;
            s->e.dst = ep;
        }
        s->e.updated = now;
        return;
    }
    s = fdb_insert(v, mac, now);
    if (!s) {
        v->vc.fdb_full++;
        return;
    }
    s->e.dst = ep;
    s->e.updated = now;
    v->vc.fdb_learned++;
}

/* ---- receive ---- */

static struct sockaddr_in to_sin(const struct pn_endpoint *ep)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(ep->addr);
    sin.sin_port = htons(ep->port);
    return sin;
}

static void rx_drop(struct vxlan *v, uint64_t *why)
{
    (*why)++;
    v->link.counters.rx_dropped++;
}

/* Checks one VXLAN datagram (borrowed) and returns its inner frame in an owned pbuf, or NULL
 * (dropped and counted). */
static struct pn_pbuf *decap(struct vxlan *v, struct pn_pbuf_pool *pool, const uint8_t *d,
                             uint32_t len, const struct pn_endpoint *from, uint64_t now)
{
    if (len < VXLAN_HDR_LEN + ETH_HDR) {
        rx_drop(v, &v->vc.rx_short);
        return NULL;
    }
    /* RFC 7348 §5: I flag set; the reserved bits "MUST be set to zero on transmission and
     * ignored on receipt". Like Linux (vxlan_rcv) we diverge and drop datagrams with any
     * reserved bit set: they are extensions (GBP, GPE) we do not speak. */
    if (d[0] != VXLAN_FLAG_I || d[1] || d[2] || d[3] || d[7]) {
        rx_drop(v, &v->vc.rx_bad_flags);
        return NULL;
    }
    uint32_t vni = (uint32_t)d[4] << 16 | (uint32_t)d[5] << 8 | d[6];
    if (vni != v->vni) {
        rx_drop(v, &v->vc.rx_wrong_vni);
        return NULL;
    }
    uint32_t flen = len - VXLAN_HDR_LEN;
    if (flen > v->link.caps.max_frame) {
        rx_drop(v, &v->vc.rx_oversize);
        return NULL;
    }
    struct pn_pbuf *p = pn_pbuf_alloc(pool, PN_PBUF_HEADROOM, flen);
    if (!p) {
        rx_drop(v, &v->vc.rx_no_buffer);
        return NULL;
    }
    memcpy(p->data, d + VXLAN_HDR_LEN, flen);
    struct pn_mac src;
    memcpy(src.b, p->data + 6, 6);
    /* Never learn a group (invalid as a source) or all-zero MAC. */
    static const struct pn_mac zero;
    if (v->learn && !pn_mac_is_multicast(&src) && !pn_mac_equal(&src, &zero))
        fdb_learn(v, &src, from, now);
    v->link.counters.rx_frames++;
    v->link.counters.rx_bytes += flen;
    return p;
}

static int rx_fill(struct vxlan *v)
{
    for (int i = 0; i < v->nslots; i++) {
        struct msghdr *h = &v->rmsg[i].msg_hdr;
        h->msg_name = &v->rname[i];
        h->msg_namelen = sizeof(v->rname[i]);
        h->msg_iov = &v->riov[i];
        h->msg_iovlen = 1;
        h->msg_control = v->gro ? v->rctl[i].buf : NULL;
        h->msg_controllen = v->gro ? sizeof(v->rctl[i].buf) : 0;
        h->msg_flags = 0;
        v->rmsg[i].msg_len = 0;
    }
    int r;
    do
        r = recvmmsg(v->fd, v->rmsg, (unsigned)v->nslots, MSG_DONTWAIT, NULL);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED) ? 0 : PN_EIO;
    return r;
}

/* Segment size of message i: UDP_GRO's cmsg, or the whole datagram. */
static uint32_t rx_seg_size(struct vxlan *v, int i)
{
    struct msghdr *h = &v->rmsg[i].msg_hdr;
    uint32_t len = v->rmsg[i].msg_len;
    if (!v->gro)
        return len;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int seg;
            memcpy(&seg, CMSG_DATA(c), sizeof(seg));
            if (seg > 0 && (uint32_t)seg < len)
                return (uint32_t)seg;
        }
    }
    return len;
}

static int vxlan_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                    uint64_t now)
{
    struct vxlan *v = V(l);
    int n = 0, calls = 0;
    while (n < max) {
        if (v->rx_i >= v->rx_k) {
            if (calls++ == 2) /* bounded syscalls per burst */
                break;
            int r = rx_fill(v);
            if (r < 0)
                return n ? n : r;
            v->rx_k = r;
            v->rx_i = 0;
            v->rx_off = 0;
            if (r == 0)
                break;
        }
        int i = v->rx_i;
        struct mmsghdr *m = &v->rmsg[i];
        uint32_t len = m->msg_len;
        uint32_t seg = rx_seg_size(v, i);
        if (v->rx_off == 0 && seg < len)
            v->vc.rx_gro_batches++;
        if (m->msg_hdr.msg_flags & MSG_TRUNC) {
            rx_drop(v, &v->vc.rx_oversize);
            v->rx_i++;
            v->rx_off = 0;
            continue;
        }
        struct pn_endpoint from = {ntohl(v->rname[i].sin_addr.s_addr), ntohs(v->rname[i].sin_port)};
        const uint8_t *base = v->rxbuf + (size_t)i * v->slot_size;
        while (n < max && v->rx_off < len) {
            uint32_t sl = len - v->rx_off < seg ? len - v->rx_off : seg;
            struct pn_pbuf *p = decap(v, pool, base + v->rx_off, sl, &from, now);
            if (p)
                out[n++] = p;
            v->rx_off += sl;
        }
        if (v->rx_off >= len) {
            v->rx_i++;
            v->rx_off = 0;
        }
    }
    return n;
}

/* ---- transmit ---- */

static void tx_reset(struct vxlan *v)
{
    v->nmsg = 0;
    v->niov = 0;
}

/* Sends one (header, frame) pair on its own; used after a GSO batch was refused. */
static bool tx_single(struct vxlan *v, struct sockaddr_in *to, struct iovec *pair)
{
    struct msghdr h = {
        .msg_name = to, .msg_namelen = sizeof(*to), .msg_iov = pair, .msg_iovlen = 2};
    ssize_t r;
    do
        r = sendmsg(v->fd, &h, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    return r >= 0;
}

static void tx_msg_done(struct vxlan *v, int m)
{
    struct tx_meta *t = &v->tmeta[m];
    v->link.counters.tx_frames += (uint64_t)t->nseg;
    v->link.counters.tx_bytes += t->bytes - (uint64_t)t->nseg * VXLAN_HDR_LEN;
    if (t->nseg > 1)
        v->vc.tx_gso_batches++;
    for (int k = 0; k < t->nseg; k++)
        v->sent[v->tiov_frame[t->first_iov / 2 + k]] = true;
}

static void tx_send(struct vxlan *v)
{
    for (int m = 0; m < v->nmsg; m++) {
        struct msghdr *h = &v->tmsg[m].msg_hdr;
        struct tx_meta *t = &v->tmeta[m];
        memset(h, 0, sizeof(*h));
        v->tname[m] = to_sin(&t->dst);
        h->msg_name = &v->tname[m];
        h->msg_namelen = sizeof(v->tname[m]);
        h->msg_iov = &v->tiov[t->first_iov];
        h->msg_iovlen = (size_t)t->nseg * 2;
        if (t->nseg > 1) {
            /* UDP GSO (Linux 4.18): the kernel cuts the payload into t->seg-byte datagrams,
             * each one VXLAN header + one frame, since every pair but the last has that size. */
            h->msg_control = v->tctl[m].buf;
            h->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
            struct cmsghdr *c = CMSG_FIRSTHDR(h);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t gs = (uint16_t)t->seg;
            memcpy(CMSG_DATA(c), &gs, sizeof(gs));
        }
    }
    int i = 0;
    while (i < v->nmsg) {
        int r = sendmmsg(v->fd, &v->tmsg[i], (unsigned)(v->nmsg - i), MSG_DONTWAIT);
        if (r > 0) {
            for (int k = 0; k < r; k++)
                tx_msg_done(v, i + k);
            i += r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        int e = r < 0 ? errno : EIO;
        struct tx_meta *t = &v->tmeta[i];
        if (t->nseg > 1 && (e == EIO || e == EINVAL || e == EOPNOTSUPP || e == ENOPROTOOPT)) {
            /* The path refused segmentation (e.g. an underlay MTU smaller than configured,
             * or no checksum offload): stop using GSO and send this batch one by one. */
            v->gso = false;
            for (int k = 0; k < t->nseg; k++) {
                struct iovec *pair = &v->tiov[t->first_iov + 2 * k];
                if (tx_single(v, &v->tname[i], pair)) {
                    v->link.counters.tx_frames++;
                    v->link.counters.tx_bytes += pair[1].iov_len;
                    v->sent[v->tiov_frame[t->first_iov / 2 + k]] = true;
                } else {
                    v->vc.tx_errors++;
                }
            }
            i++;
            continue;
        }
        if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
            /* The socket buffer is full: like a full NIC queue, the rest is dropped. */
            v->vc.tx_errors += (uint64_t)(v->nmsg - i);
            break;
        }
        v->vc.tx_errors++; /* this datagram only (e.g. EHOSTUNREACH) */
        i++;
    }
    tx_reset(v);
}

/* Queues frame `fi` (borrowed) for endpoint dst, joining the previous batch when UDP GSO
 * allows it. */
static void tx_queue(struct vxlan *v, int fi, struct pn_pbuf *p, const struct pn_endpoint *dst)
{
    uint32_t plen = VXLAN_HDR_LEN + p->len;
    if (v->nmsg > 0 && v->gso) {
        struct tx_meta *t = &v->tmeta[v->nmsg - 1];
        if (!t->tail && ep_equal(&t->dst, dst) && plen <= t->seg && t->nseg < GSO_MAX_SEGS &&
            t->bytes + plen <= GSO_MAX_BYTES &&
            v->niov + 2 <= (int)(sizeof(v->tiov) / sizeof(v->tiov[0]))) {
            v->tiov[v->niov++] = (struct iovec){v->hdr, VXLAN_HDR_LEN};
            v->tiov[v->niov++] = (struct iovec){p->data, p->len};
            v->tiov_frame[(v->niov - 2) / 2] = (uint8_t)fi;
            t->nseg++;
            t->bytes += plen;
            if (plen < t->seg)
                t->tail = true;
            return;
        }
    }
    if (v->nmsg == TX_MSGS || v->niov + 2 > (int)(sizeof(v->tiov) / sizeof(v->tiov[0])))
        tx_send(v);
    struct tx_meta *t = &v->tmeta[v->nmsg++];
    *t = (struct tx_meta){.dst = *dst, .seg = plen, .bytes = plen, .nseg = 1, .first_iov = v->niov};
    v->tiov[v->niov++] = (struct iovec){v->hdr, VXLAN_HDR_LEN};
    v->tiov[v->niov++] = (struct iovec){p->data, p->len};
    v->tiov_frame[(v->niov - 2) / 2] = (uint8_t)fi;
}

static int vxlan_tx(struct pn_link *l, struct pn_pbuf **frames, int n, uint64_t now)
{
    struct vxlan *v = V(l);
    int accepted = 0;
    for (int base = 0; base < n; base += TX_CHUNK) {
        int cn = n - base < TX_CHUNK ? n - base : TX_CHUNK;
        memset(v->sent, 0, sizeof(v->sent));
        tx_reset(v);
        for (int i = 0; i < cn; i++) {
            struct pn_pbuf *p = frames[base + i];
            if (p->len < ETH_HDR || p->len > l->caps.max_frame)
                continue;
            struct pn_mac dst;
            memcpy(dst.b, p->data, 6);
            struct fdb_slot *s = pn_mac_is_multicast(&dst) ? NULL : fdb_get(v, &dst, now);
            if (s) {
                tx_queue(v, i, p, &s->e.dst);
                continue;
            }
            /* Broadcast, multicast and unknown unicast go to every flood-list endpoint
             * (RFC 7348 §4.2 without an underlay multicast group: head-end replication). */
            if (v->n_remotes == 0) {
                v->vc.tx_no_remote++;
                continue;
            }
            v->vc.tx_flooded++;
            for (int r = 0; r < v->n_remotes; r++)
                tx_queue(v, i, p, &v->remotes[r]);
        }
        tx_send(v);
        for (int i = 0; i < cn; i++) {
            if (v->sent[i])
                accepted++;
            else
                l->counters.tx_dropped++;
            pn_pbuf_free(frames[base + i]);
        }
    }
    return accepted;
}

/* ---- setup ---- */

static int vxlan_fd(struct pn_link *l)
{
    return V(l)->fd;
}

static uint64_t vxlan_next_deadline(struct pn_link *l)
{
    /* Datagrams already received but not yet handed over: due now. */
    return V(l)->rx_i < V(l)->rx_k ? 0 : PN_TIME_NEVER;
}

static void vxlan_destroy(struct pn_link *l)
{
    struct vxlan *v = V(l);
    if (v->fd >= 0)
        close(v->fd);
    free(v->slots);
    free(v->buckets);
    free(v->rxbuf);
    free(v->rmsg);
    free(v->riov);
    free(v->rname);
    free(v->rctl);
    free(v);
}

static const struct pn_link_ops vxlan_ops = {
    .name = "vxlan",
    .rx_burst = vxlan_rx,
    .tx_burst = vxlan_tx,
    .fd = vxlan_fd,
    .next_deadline = vxlan_next_deadline,
    .destroy = vxlan_destroy,
};

bool pn_link_is_vxlan(const struct pn_link *l)
{
    return l && l->ops == &vxlan_ops;
}

void pn_vxlan_config_init(struct pn_vxlan_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->local.port = PN_VXLAN_PORT;
    cfg->vni = 1;
    cfg->underlay_mtu = 1500;
    cfg->fdb_max = 1024;
    cfg->fdb_age_ms = 300000;
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

static int remote_check(const struct pn_endpoint *ep)
{
    /* An underlay multicast group would need IGMP membership: not supported. */
    if (ep->addr == 0 || ep->addr == PN_IP4_BROADCAST || (ep->addr >> 28) == 0xe)
        return PN_EINVAL;
    return 0;
}

int pn_vxlan_remote_add(struct pn_link *l, const struct pn_endpoint *ep)
{
    struct vxlan *v = V(l);
    struct pn_endpoint e = {ep->addr, ep->port ? ep->port : (uint16_t)PN_VXLAN_PORT};
    if (remote_check(&e) < 0)
        return PN_EINVAL;
    for (int i = 0; i < v->n_remotes; i++)
        if (ep_equal(&v->remotes[i], &e))
            return 0;
    if (v->n_remotes == PN_VXLAN_MAX_REMOTES)
        return PN_ENOMEM;
    v->remotes[v->n_remotes++] = e;
    return 0;
}

int pn_link_vxlan_new(const struct pn_vxlan_config *cfg, struct pn_link **out, char *err,
                      size_t errlen)
{
    char ip[PN_IP4_STRLEN];
    if (cfg->vni > PN_VXLAN_VNI_MAX)
        return errf(err, errlen, PN_EINVAL, "vni %u is larger than 24 bits (max %u)", cfg->vni,
                    PN_VXLAN_VNI_MAX);
    uint32_t umtu = cfg->underlay_mtu ? cfg->underlay_mtu : 1500;
    /* The stack needs an IPv4 MTU of at least 576 (RFC 791/1122). */
    if (umtu < 576 + PN_VXLAN_OVERHEAD || umtu > 65535)
        return errf(err, errlen, PN_EINVAL, "underlay mtu %u is outside %u..65535", umtu,
                    576 + PN_VXLAN_OVERHEAD);
    if (cfg->n_remotes < 0 || cfg->n_remotes > PN_VXLAN_MAX_REMOTES)
        return errf(err, errlen, PN_EINVAL, "too many remotes (max %d)", PN_VXLAN_MAX_REMOTES);
    uint32_t fdb_max = cfg->fdb_max ? cfg->fdb_max : 1024;
    if (fdb_max > (1u << 20))
        return errf(err, errlen, PN_EINVAL, "fdb_max %u is too large", fdb_max);
    struct vxlan *v = calloc(1, sizeof(*v));
    if (!v)
        return errf(err, errlen, PN_ENOMEM, "out of memory");
    v->fd = -1;
    v->link.ops = &vxlan_ops;
    v->link.caps.mtu = umtu - PN_VXLAN_OVERHEAD;
    v->link.caps.max_frame = v->link.caps.mtu + ETH_HDR;
    v->vni = cfg->vni;
    /* RFC 7348 §5: flags 0x08, 24 reserved bits, VNI, 8 reserved bits; reserved = 0. */
    v->hdr[0] = VXLAN_FLAG_I;
    v->hdr[4] = (uint8_t)(cfg->vni >> 16);
    v->hdr[5] = (uint8_t)(cfg->vni >> 8);
    v->hdr[6] = (uint8_t)cfg->vni;
    v->learn = !(cfg->flags & PN_VXLAN_NO_LEARN);
    v->age_ns = (uint64_t)(cfg->fdb_age_ms ? cfg->fdb_age_ms : 300000) * 1000000ull;
    int rc;
    for (int i = 0; i < cfg->n_remotes; i++) {
        if (pn_vxlan_remote_add(&v->link, &cfg->remotes[i]) < 0) {
            rc = errf(err, errlen, PN_EINVAL, "remote %s is not a unicast address",
                      pn_ip4_format(cfg->remotes[i].addr, ip));
            goto fail;
        }
    }
    v->cap = fdb_max;
    v->nbuckets = 1;
    while (v->nbuckets < fdb_max)
        v->nbuckets <<= 1;
    v->slots = calloc(v->cap, sizeof(*v->slots));
    v->buckets = malloc(v->nbuckets * sizeof(*v->buckets));
    if (!v->slots || !v->buckets) {
        rc = errf(err, errlen, PN_ENOMEM, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < v->nbuckets; i++)
        v->buckets[i] = -1;
    for (uint32_t i = 0; i < v->cap; i++)
        v->slots[i].next = i + 1 < v->cap ? (int32_t)(i + 1) : -1;
    v->free_head = 0;

    v->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (v->fd < 0) {
        rc = errf(err, errlen, PN_EIO, "udp socket: %s", strerror(errno));
        goto fail;
    }
    /* Room for bursts; the kernel caps these at net.core.[rw]mem_max without privileges. */
    int bufsz = 4 << 20;
    setsockopt(v->fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
    setsockopt(v->fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
    struct sockaddr_in sin = to_sin(&cfg->local);
    if (bind(v->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        int e = errno;
        rc = errf(err, errlen,
                  e == EADDRINUSE      ? PN_EADDRINUSE
                  : e == EADDRNOTAVAIL ? PN_EADDRNOTAVAIL
                  : e == EACCES        ? PN_EACCES
                                       : PN_EIO,
                  "local %s:%u: bind: %s", pn_ip4_format(cfg->local.addr, ip), cfg->local.port,
                  strerror(e));
        goto fail;
    }
    socklen_t sl = sizeof(sin);
    getsockname(v->fd, (struct sockaddr *)&sin, &sl);
    v->local.addr = ntohl(sin.sin_addr.s_addr);
    v->local.port = ntohs(sin.sin_port);
    /* Probe: a kernel without UDP GSO (< 4.18) / GRO (< 5.0) answers ENOPROTOOPT. */
    int zero = 0, one = 1;
    v->gso = !(cfg->flags & PN_VXLAN_NO_GSO) &&
             setsockopt(v->fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
    v->gro = !(cfg->flags & PN_VXLAN_NO_GRO) &&
             setsockopt(v->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;

    v->nslots = v->gro ? RX_SLOTS_GRO : RX_SLOTS_PLAIN;
    /* With GRO one receive may hold up to 64 KiB of coalesced datagrams. One byte more than
     * the largest valid datagram so an oversize one is seen (MSG_TRUNC) rather than cut. */
    v->slot_size = v->gro ? UDP_MAX_PAYLOAD + 1 : VXLAN_HDR_LEN + v->link.caps.max_frame + 1;
    v->rxbuf = malloc((size_t)v->nslots * v->slot_size);
    v->rmsg = calloc((size_t)v->nslots, sizeof(*v->rmsg));
    v->riov = calloc((size_t)v->nslots, sizeof(*v->riov));
    v->rname = calloc((size_t)v->nslots, sizeof(*v->rname));
    v->rctl = calloc((size_t)v->nslots, sizeof(*v->rctl));
    if (!v->rxbuf || !v->rmsg || !v->riov || !v->rname || !v->rctl) {
        rc = errf(err, errlen, PN_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < v->nslots; i++)
        v->riov[i] = (struct iovec){v->rxbuf + (size_t)i * v->slot_size, v->slot_size};
    *out = &v->link;
    return 0;
fail:
    vxlan_destroy(&v->link);
    return rc;
}

int pn_vxlan_fdb_add(struct pn_link *l, const struct pn_mac *mac, const struct pn_endpoint *dst)
{
    struct vxlan *v = V(l);
    struct pn_endpoint e = {dst->addr, dst->port ? dst->port : (uint16_t)PN_VXLAN_PORT};
    if (pn_mac_is_multicast(mac) || remote_check(&e) < 0)
        return PN_EINVAL;
    struct fdb_slot *s = fdb_find(v, mac, NULL);
    if (!s)
        s = fdb_insert(v, mac, 0);
    if (!s)
        return PN_ENOMEM;
    s->e.dst = e;
    s->e.is_static = true;
    s->e.updated = 0;
    return 0;
}

int pn_vxlan_fdb_del(struct pn_link *l, const struct pn_mac *mac)
{
    struct vxlan *v = V(l);
    int32_t *lp;
    if (!fdb_find(v, mac, &lp))
        return PN_EINVAL;
    fdb_remove(v, lp);
    return 0;
}

int pn_vxlan_fdb_lookup(struct pn_link *l, const struct pn_mac *mac, uint64_t now,
                        struct pn_vxlan_fdb_entry *out)
{
    struct fdb_slot *s = fdb_get(V(l), mac, now);
    if (!s)
        return PN_EINVAL;
    if (out)
        *out = s->e;
    return 0;
}

void pn_vxlan_fdb_foreach(struct pn_link *l,
                          int (*fn)(const struct pn_vxlan_fdb_entry *e, void *arg), void *arg)
{
    struct vxlan *v = V(l);
    for (uint32_t i = 0; i < v->cap; i++)
        if (v->slots[i].used && fn(&v->slots[i].e, arg))
            return;
}

void pn_vxlan_get_info(struct pn_link *l, struct pn_vxlan_info *out)
{
    struct vxlan *v = V(l);
    out->local = v->local;
    out->vni = v->vni;
    out->gso = v->gso;
    out->gro = v->gro;
    out->n_remotes = v->n_remotes;
    out->fdb_entries = v->count;
}

void pn_vxlan_get_counters(struct pn_link *l, struct pn_vxlan_counters *out)
{
    *out = V(l)->vc;
}
