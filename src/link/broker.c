/* broker.c — the `broker` link: frames move over an AF_PACKET descriptor leased from plebnetd,
 * which only carries the leased MAC and IPv4 address. Call chain: pn_link_broker_open ->
 * connect/request/recvmsg(SCM_RIGHTS); pn_stack_poll -> broker_rx -> recv; tx -> send. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/if_packet.h>
#include "plebnet/broker.h"
#include "plebnet/errors.h"
#include "plebnet/link.h"

struct broker {
    struct pn_link link; /* first member */
    int ctl;             /* the control connection: the lease lives while it is open */
    int pkt;             /* the leased packet socket */
};

static int broker_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                     uint64_t now)
{
    struct broker *b = (struct broker *)l;
    int n = 0;
    while (n < max) {
        struct pn_pbuf *p = pn_pbuf_alloc(pool, PN_PBUF_HEADROOM, l->caps.max_frame);
        if (!p) {
            /* No buffer: leave the frame queued in the kernel for the next poll. */
            break;
        }
        /* PACKET_AUXDATA says whether the kernel vouches for the checksums: a frame from a
         * sender on this host leaves them to offload (CSUMNOTREADY: the field holds only the
         * pseudo-header sum), a verifying NIC marks them valid. Without this, local
         * senders' segments would all look corrupt. */
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
        } ctl;
        struct iovec iov = {.iov_base = p->data, .iov_len = l->caps.max_frame};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl.buf)};
        ssize_t len = recvmsg(b->pkt, &mh, MSG_DONTWAIT | MSG_TRUNC);
        if (len < 0) {
            int e = errno;
            pn_pbuf_free(p);
            if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
                break;
            /* ENETDOWN/ENXIO: the daemon ended the lease. */
            return n ? n : PN_EIO;
        }
        if ((size_t)len > l->caps.max_frame || len < 14) {
            pn_pbuf_free(p);
            l->counters.rx_dropped++;
            continue;
        }
        p->len = (uint32_t)len;
        p->time = now;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
                c->cmsg_len < CMSG_LEN(sizeof(struct tpacket_auxdata)))
                continue;
            struct tpacket_auxdata aux;
            memcpy(&aux, CMSG_DATA(c), sizeof(aux));
            if (aux.tp_status & (TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID))
                p->flags |= PN_PBUF_F_CSUM_OK;
        }
        l->counters.rx_frames++;
        l->counters.rx_bytes += (uint64_t)len;
        out[n++] = p;
    }
    return n;
}

static int broker_tx(struct pn_link *l, struct pn_pbuf **frames, int n, uint64_t now)
{
    struct broker *b = (struct broker *)l;
    int sent = 0;
    (void)now;
    for (int i = 0; i < n; i++) {
        struct pn_pbuf *p = frames[i];
        if (p->len > l->caps.max_frame || send(b->pkt, p->data, p->len, MSG_DONTWAIT) < 0) {
            l->counters.tx_dropped++;
        } else {
            l->counters.tx_frames++;
            l->counters.tx_bytes += p->len;
            sent++;
        }
        pn_pbuf_free(p);
    }
    return sent;
}

static int broker_fd(struct pn_link *l)
{
    return ((struct broker *)l)->pkt;
}

static void broker_destroy(struct pn_link *l)
{
    struct broker *b = (struct broker *)l;
    close(b->pkt);
    close(b->ctl); /* ends the lease */
    free(b);
}

static const struct pn_link_ops broker_ops = {
    .name = "broker",
    .rx_burst = broker_rx,
    .tx_burst = broker_tx,
    .fd = broker_fd,
    .destroy = broker_destroy,
};

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
    int one = 1;
    (void)setsockopt(pkt, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)); /* see broker_rx */
    b->link.ops = &broker_ops;
    b->link.caps.mtu = r.mtu;
    b->link.caps.max_frame = r.mtu + 14u;
    b->ctl = ctl;
    b->pkt = pkt;
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
