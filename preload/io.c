/* preload/io.c — the shim's data path on plebnet sockets: send, sendto, sendmsg, sendmmsg,
 * write, writev, recv, recvfrom, recvmsg, recvmmsg, read, readv, the _FORTIFY_SOURCE
 * variants (__read_chk, __recv_chk, __recvfrom_chk) and sendfile, with Linux's rules for
 * blocking, partial counts, signals (EINTR, SIGPIPE) and errno values.
 * Call chain: app -> send()/recv()/... here -> pl_acquire -> send_iov/recv_iov ->
 * pn_sendto/pn_recvfrom (pl_wait while they would block) -> pl_release -> io_finish. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>
#include "shim.h"

/* glibc's _FORTIFY_SOURCE entry points (not declared without -D_FORTIFY_SOURCE). */
PL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
PL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
PL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                                 struct sockaddr *addr, socklen_t *addrlen);
extern void __chk_fail(void) __attribute__((noreturn));

/* Linux caps one read/write at MAX_RW_COUNT (INT_MAX rounded down to a page) and silently
 * transfers no more (fs/read_write.c rw_verify_area); sockets follow the same rule. */
#define IO_MAX_RW ((size_t)(INT_MAX & ~4095))
/* UIO_MAXIOV: the most iovecs (readv: EINVAL) and messages (sendmmsg/recvmmsg: clamped) a
 * call takes; a msghdr with more iovecs fails with EMSGSIZE (net/socket.c). */
#define IO_MAXIOV 1024
/* The largest datagram payload (IPv4: 65535 - 20 - 8). */
#define IO_DGRAM_MAX 65507u
/* sendfile reads the file in chunks of this size. */
#define IO_FILE_CHUNK (64u * 1024u)

/* ---- helpers ---- */

/* Checks an iovec array and sums it, capped at IO_MAX_RW. Returns 0 or -errno: EINVAL for
 * a negative count or a total beyond SSIZE_MAX (readv(2)), EFAULT for a NULL base unless
 * allow_null (a TCP receive with MSG_TRUNC copies nothing). */
static int iov_sum(const struct iovec *iov, int cnt, size_t *total, bool allow_null)
{
    size_t t = 0;
    if (cnt < 0)
        return -EINVAL;
    if (cnt > 0 && !iov)
        return -EFAULT;
    for (int i = 0; i < cnt; i++) {
        if (iov[i].iov_len > (size_t)SSIZE_MAX - t)
            return -EINVAL;
        if (iov[i].iov_len && !iov[i].iov_base && !allow_null)
            return -EFAULT;
        t += iov[i].iov_len;
    }
    *total = t > IO_MAX_RW ? IO_MAX_RW : t;
    return 0;
}

/* Copies up to n bytes of buf into the iovecs. */
static void iov_scatter(const struct iovec *iov, int cnt, const uint8_t *buf, size_t n)
{
    for (int i = 0; i < cnt && n; i++) {
        size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
        memcpy(iov[i].iov_base, buf, k);
        buf += k;
        n -= k;
    }
}

/* Copies the first n bytes of the iovecs into buf. */
static void iov_gather(const struct iovec *iov, int cnt, uint8_t *buf, size_t n)
{
    for (int i = 0; i < cnt && n; i++) {
        size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
        memcpy(buf, iov[i].iov_base, k);
        buf += k;
        n -= k;
    }
}

/* The socket is gone under us (another thread closed it while we slept). */
static bool sock_dead(const struct pl_sock *s)
{
    return s->closed || !s->pn;
}

/* Returns a result built as "count or -errno" to the application: sets errno and raises
 * SIGPIPE for EPIPE when asked. Called after pl_release, so that a SIGPIPE handler may use
 * sockets. send(2): "EPIPE ... In this case, the process will also receive a SIGPIPE
 * unless MSG_NOSIGNAL is set." Linux sends it to the calling thread (tgkill, as raise). */
static ssize_t io_finish(ssize_t r, bool sigpipe)
{
    if (r >= 0)
        return r;
    if (r == -EPIPE && sigpipe)
        raise(SIGPIPE);
    errno = (int)-r;
    return -1;
}

/* ---- sending ---- */

/* Send flags this file implements; anything else Linux accepts is ignored, as Linux
 * ignores flags a protocol has no use for (MSG_EOR on TCP, MSG_CONFIRM is only a hint). */
#define SEND_UNSUPPORTED (MSG_OOB | MSG_FASTOPEN | MSG_ZEROCOPY)

/* TCP: moves the whole iovec into the send buffer unless the socket is non-blocking, the
 * send timeout passes or a signal arrives; then the partial count, or -EAGAIN/-EINTR if
 * nothing went (tcp(7), socket(7) SO_SNDTIMEO). Each chunk but the last goes with
 * PN_MSG_MORE so a gathered write does not leave as several small segments. */
static ssize_t tcp_send(struct pl_sock *s, const struct iovec *iov, int cnt, size_t total,
                        int flags)
{
    bool nowait = s->nonblock || (flags & MSG_DONTWAIT);
    bool more = (flags & MSG_MORE) || s->cork;
    int pnflags = (flags & MSG_DONTROUTE) ? PN_MSG_DONTROUTE : 0;
    uint64_t deadline = 0;
    bool have_deadline = false;
    size_t done = 0, off = 0;
    int i = 0, err = 0;
    if (total == 0)
        return 0;
    while (done < total && i < cnt) {
        if (sock_dead(s)) {
            err = EBADF;
            break;
        }
        if (off == iov[i].iov_len) {
            i++;
            off = 0;
            continue;
        }
        size_t chunk = iov[i].iov_len - off;
        if (chunk > total - done)
            chunk = total - done; /* the IO_MAX_RW cap */
        bool last = done + chunk == total;
        long r = pn_send(s->pn, (const uint8_t *)iov[i].iov_base + off, chunk,
                         pnflags | ((more || !last) ? PN_MSG_MORE : 0));
        if (r > 0) {
            done += (size_t)r;
            off += (size_t)r;
            continue;
        }
        if (r != PN_EAGAIN && r != 0) {
            /* tcp_sendmsg -> sk_stream_wait_connect: a socket that is neither connected
             * nor connecting gets EPIPE on Linux (not ENOTCONN). */
            err = r == PN_ENOTCONN ? EPIPE : pl_errno((int)r);
            break;
        }
        if (nowait) {
            err = EAGAIN;
            break;
        }
        if (!have_deadline) {
            deadline = pl_deadline(s->sndtimeo_ns);
            have_deadline = true;
        }
        int w = pl_wait(s, PN_EV_OUT, deadline);
        if (w < 0) {
            err = -w;
            break;
        }
    }
    /* Linux returns what was queued and reports a later error on the next call. */
    return done ? (ssize_t)done : -err;
}

/* UDP/ping: one datagram made of the whole iovec (all or nothing, udp(7)). */
static ssize_t dgram_send(struct pl_sock *s, const struct iovec *iov, int cnt, size_t total,
                          int flags, const struct pn_endpoint *dst)
{
    bool nowait = s->nonblock || (flags & MSG_DONTWAIT);
    int pnflags = (flags & MSG_DONTROUTE) ? PN_MSG_DONTROUTE : 0;
    uint8_t small[2048];
    uint8_t *heap = NULL;
    const void *buf = NULL;
    ssize_t ret;
    if (cnt == 1) {
        buf = iov[0].iov_base;
    } else if (total <= sizeof(small)) {
        iov_gather(iov, cnt, small, total);
        buf = small;
    } else if (total > IO_DGRAM_MAX) {
        return -EMSGSIZE;
    } else {
        heap = malloc(total);
        if (!heap)
            return -ENOBUFS;
        iov_gather(iov, cnt, heap, total);
        buf = heap;
    }
    for (;;) {
        long r = pn_sendto(s->pn, buf, total, pnflags, dst);
        if (r >= 0) {
            ret = r;
            break;
        }
        if (r != PN_EAGAIN || nowait) {
            ret = -pl_errno((int)r);
            break;
        }
        int w = pl_wait(s, PN_EV_OUT, pl_deadline(s->sndtimeo_ns));
        if (w < 0 || sock_dead(s)) {
            ret = w < 0 ? w : -EBADF;
            break;
        }
    }
    free(heap);
    return ret;
}

/* The common send path (lock held): flags check, destination, then per protocol.
 * sendto(2): on a connection-mode socket dest_addr is ignored (Linux ignores it for TCP). */
static ssize_t send_iov(struct pl_sock *s, const struct iovec *iov, int cnt, int flags,
                        const struct sockaddr *name, socklen_t namelen)
{
    size_t total;
    int e = iov_sum(iov, cnt, &total, false);
    if (e < 0)
        return e;
    if (flags & SEND_UNSUPPORTED) {
        pl_unsupported(flags & MSG_OOB        ? "send flag MSG_OOB (urgent data)"
                       : flags & MSG_FASTOPEN ? "send flag MSG_FASTOPEN"
                                              : "send flag MSG_ZEROCOPY");
        return -EOPNOTSUPP;
    }
    if (s->type == SOCK_STREAM)
        return tcp_send(s, iov, cnt, total, flags);
    struct pn_endpoint ep;
    if (name) {
        e = pl_sockaddr_to_ep(name, namelen, false, &ep);
        if (e < 0)
            return e;
    }
    return dgram_send(s, iov, cnt, total, flags, name ? &ep : NULL);
}

/* sendmsg's body (lock held). Control messages: the shim produces and consumes none;
 * a message carrying one fails with EINVAL rather than having it silently ignored. */
static ssize_t sendmsg_locked(struct pl_sock *s, const struct msghdr *m, int flags)
{
    if (!m)
        return -EFAULT;
    if (m->msg_iovlen > IO_MAXIOV)
        return -EMSGSIZE;
    if (m->msg_controllen && m->msg_control && CMSG_FIRSTHDR(m)) {
        pl_unsupported("sendmsg control messages (cmsg)");
        return -EINVAL;
    }
    const struct sockaddr *name = m->msg_namelen ? m->msg_name : NULL;
    return send_iov(s, m->msg_iov, (int)m->msg_iovlen, flags, name, m->msg_namelen);
}

/* ---- receiving ---- */

/* Flags handled here (MSG_CMSG_CLOEXEC, MSG_NOSIGNAL are accepted and have no effect). */

/* TCP: waits until at least one byte (MSG_WAITALL: all of them; SO_RCVLOWAT: that many)
 * arrived, end of stream, an error, the receive timeout or a signal (tcp(7), recv(2)).
 * MSG_PEEK leaves the data queued (and waits for one byte only). MSG_TRUNC discards the
 * bytes instead of copying them (tcp(7): "MSG_TRUNC ... the received data is discarded").
 * MSG_OOB: plebnet does not surface urgent data, so Linux's answer without urgent data,
 * EINVAL (tcp_recv_urg). */
static ssize_t tcp_recv(struct pl_sock *s, const struct iovec *iov, int cnt, size_t total,
                        int flags)
{
    bool nowait = s->nonblock || (flags & MSG_DONTWAIT);
    bool peek = flags & MSG_PEEK, discard = flags & MSG_TRUNC;
    uint64_t deadline = 0;
    bool have_deadline = false;
    size_t target = 1, done = 0, off = 0;
    uint8_t scratch[4096];
    uint8_t *pbuf = NULL;
    int i = 0;
    ssize_t ret;
    if (flags & MSG_OOB)
        return -EINVAL;
    if (total == 0)
        return 0;
    if (!peek) {
        if (flags & MSG_WAITALL)
            target = total;
        else if (s->rcvlowat > 1)
            target = (size_t)s->rcvlowat < total ? (size_t)s->rcvlowat : total;
    }
    if (peek && cnt > 1 && !discard) {
        pbuf = malloc(total);
        if (!pbuf)
            return -ENOMEM;
    }
    for (;;) {
        if (sock_dead(s)) {
            ret = done ? (ssize_t)done : -EBADF;
            break;
        }
        /* Data already copied: an error waiting behind it is for the next call. */
        if (done && (pn_socket_events(s->pn) & PN_EV_ERR)) {
            ret = (ssize_t)done;
            break;
        }
        long r;
        if (discard) {
            size_t want = total - done < sizeof(scratch) ? total - done : sizeof(scratch);
            r = pn_recv(s->pn, scratch, want, peek ? PN_MSG_PEEK : 0);
        } else if (peek) {
            r = pbuf ? pn_recv(s->pn, pbuf, total, PN_MSG_PEEK)
                     : pn_recv(s->pn, iov[0].iov_base, total, PN_MSG_PEEK);
            if (r > 0 && pbuf)
                iov_scatter(iov, cnt, pbuf, (size_t)r);
        } else {
            while (off == iov[i].iov_len) {
                i++;
                off = 0;
            }
            size_t chunk = iov[i].iov_len - off;
            if (chunk > total - done)
                chunk = total - done;
            r = pn_recv(s->pn, (uint8_t *)iov[i].iov_base + off, chunk, 0);
        }
        if (r > 0) {
            done += (size_t)r;
            off += (size_t)r;
            if (peek || done >= target) {
                ret = (ssize_t)done;
                break;
            }
            continue;
        }
        if (r == 0) { /* end of stream (or our SHUT_RD) */
            ret = (ssize_t)done;
            break;
        }
        if (r != PN_EAGAIN) {
            ret = done ? (ssize_t)done : -pl_errno((int)r);
            break;
        }
        if (nowait) {
            ret = done ? (ssize_t)done : -EAGAIN;
            break;
        }
        if (!have_deadline) {
            deadline = pl_deadline(s->rcvtimeo_ns);
            have_deadline = true;
        }
        int w = pl_wait(s, PN_EV_IN, deadline);
        if (w < 0) {
            ret = done ? (ssize_t)done : w;
            break;
        }
    }
    free(pbuf);
    return ret;
}

/* UDP/ping: one datagram per call, truncated to the buffer (the rest is lost); MSG_TRUNC in
 * *msg_flags when it was, and its real length returned with the MSG_TRUNC flag (udp(7)). */
static ssize_t dgram_recv(struct pl_sock *s, const struct iovec *iov, int cnt, size_t total,
                          int flags, struct pn_endpoint *src, int *msg_flags)
{
    bool nowait = s->nonblock || (flags & MSG_DONTWAIT);
    int pnflags = PN_MSG_TRUNC | ((flags & MSG_PEEK) ? PN_MSG_PEEK : 0);
    uint64_t deadline = 0;
    bool have_deadline = false;
    uint8_t *tmp = NULL, *buf;
    size_t len = total;
    ssize_t ret;
    if (flags & MSG_OOB) {
        pl_unsupported("recv flag MSG_OOB on a datagram socket");
        return -EOPNOTSUPP;
    }
    if (cnt <= 1) {
        buf = cnt ? iov[0].iov_base : NULL;
        if (!buf && len)
            return -EFAULT; /* a datagram is always copied, MSG_TRUNC or not */
    } else {
        if (len > IO_DGRAM_MAX)
            len = IO_DGRAM_MAX;
        tmp = malloc(len ? len : 1);
        if (!tmp)
            return -ENOMEM;
        buf = tmp;
    }
    for (;;) {
        if (sock_dead(s)) {
            ret = -EBADF;
            break;
        }
        long r = pn_recvfrom(s->pn, buf, len, pnflags, src);
        if (r >= 0) {
            size_t n = (size_t)r < len ? (size_t)r : len;
            if (tmp)
                iov_scatter(iov, cnt, tmp, n);
            if ((size_t)r > len)
                *msg_flags |= MSG_TRUNC;
            ret = (flags & MSG_TRUNC) ? r : (ssize_t)n;
            break;
        }
        if (r != PN_EAGAIN || nowait) {
            ret = -pl_errno((int)r);
            break;
        }
        if (!have_deadline) {
            deadline = pl_deadline(s->rcvtimeo_ns);
            have_deadline = true;
        }
        int w = pl_wait(s, PN_EV_IN, deadline);
        if (w < 0) {
            ret = w;
            break;
        }
    }
    free(tmp);
    return ret;
}

/* The common receive path (lock held). name/namelen as recvfrom's (either may be NULL);
 * *msg_flags collects MSG_TRUNC. A TCP socket reports no source address (namelen 0), as
 * Linux's tcp_recvmsg leaves msg_namelen at 0. */
static ssize_t recv_iov(struct pl_sock *s, const struct iovec *iov, int cnt, int flags,
                        struct sockaddr *name, socklen_t *namelen, int *msg_flags)
{
    size_t total;
    int e = iov_sum(iov, cnt, &total, s->type == SOCK_STREAM && (flags & MSG_TRUNC));
    if (e < 0)
        return e;
    if (flags & MSG_ERRQUEUE)
        return -EAGAIN; /* ip(7) IP_RECVERR: the error queue is always empty here */
    if (name && !namelen)
        return -EFAULT;
    if (namelen && (int)*namelen < 0)
        return -EINVAL;
    ssize_t r;
    if (s->type == SOCK_STREAM) {
        r = tcp_recv(s, iov, cnt, total, flags);
        if (r >= 0 && namelen)
            *namelen = 0;
        return r;
    }
    struct pn_endpoint src = {0, 0};
    r = dgram_recv(s, iov, cnt, total, flags, &src, msg_flags);
    if (r >= 0 && name)
        pl_ep_to_sockaddr(&src, name, namelen);
    return r;
}

/* recvmsg's body (lock held): no control messages are ever produced (msg_controllen 0). */
static ssize_t recvmsg_locked(struct pl_sock *s, struct msghdr *m, int flags)
{
    if (!m)
        return -EFAULT;
    if (m->msg_iovlen > IO_MAXIOV)
        return -EMSGSIZE;
    int mf = 0;
    socklen_t nl = m->msg_name ? m->msg_namelen : 0;
    ssize_t r = recv_iov(s, m->msg_iov, (int)m->msg_iovlen, flags,
                         m->msg_name ? (struct sockaddr *)m->msg_name : NULL,
                         m->msg_name ? &nl : NULL, &mf);
    if (r < 0)
        return r;
    m->msg_namelen = m->msg_name ? nl : 0;
    m->msg_controllen = 0;
    m->msg_flags = mf;
    return r;
}

/* ---- the interposed calls ---- */

PL_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.send(fd, buf, len, flags);
    if (a < 0)
        return -1;
    struct iovec v = {(void *)buf, len};
    ssize_t r = buf || !len ? send_iov(s, &v, 1, flags, NULL, 0) : -EFAULT;
    pl_release(s);
    return io_finish(r, !(flags & MSG_NOSIGNAL));
}

PL_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
                         const struct sockaddr *addr, socklen_t addrlen)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.sendto(fd, buf, len, flags, addr, addrlen);
    if (a < 0)
        return -1;
    struct iovec v = {(void *)buf, len};
    ssize_t r = buf || !len ? send_iov(s, &v, 1, flags, addr, addrlen) : -EFAULT;
    pl_release(s);
    return io_finish(r, !(flags & MSG_NOSIGNAL));
}

PL_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.sendmsg(fd, msg, flags);
    if (a < 0)
        return -1;
    ssize_t r = sendmsg_locked(s, msg, flags);
    pl_release(s);
    return io_finish(r, !(flags & MSG_NOSIGNAL));
}

/* sendmmsg(2): "returns the number of messages sent from msgvec; if this is less than
 * vlen, the caller can retry ... An error is returned only if no datagrams could be sent." */
PL_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.sendmmsg(fd, vec, vlen, flags);
    if (a < 0)
        return -1;
    if (vlen > IO_MAXIOV)
        vlen = IO_MAXIOV;
    ssize_t r = 0;
    unsigned n = 0;
    if (vlen && !vec)
        r = -EFAULT;
    for (; r >= 0 && n < vlen; n++) {
        r = sendmsg_locked(s, &vec[n].msg_hdr, flags);
        if (r < 0)
            break;
        vec[n].msg_len = (unsigned)r;
    }
    pl_release(s);
    if (n > 0)
        return (int)n;
    return (int)io_finish(r < 0 ? r : 0, !(flags & MSG_NOSIGNAL));
}

PL_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.write(fd, buf, len);
    if (a < 0)
        return -1;
    struct iovec v = {(void *)buf, len};
    ssize_t r = buf || !len ? send_iov(s, &v, 1, 0, NULL, 0) : -EFAULT;
    pl_release(s);
    return io_finish(r, true);
}

PL_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.writev(fd, iov, cnt);
    if (a < 0)
        return -1;
    ssize_t r = cnt > IO_MAXIOV ? -EINVAL : send_iov(s, iov, cnt, 0, NULL, 0);
    pl_release(s);
    return io_finish(r, true);
}

PL_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.recv(fd, buf, len, flags);
    if (a < 0)
        return -1;
    int mf = 0;
    struct iovec v = {buf, len};
    /* tcp(7) MSG_TRUNC discards without copying: a NULL buffer is fine then. */
    ssize_t r =
        buf || !len || (flags & MSG_TRUNC) ? recv_iov(s, &v, 1, flags, NULL, NULL, &mf) : -EFAULT;
    pl_release(s);
    return io_finish(r, false);
}

PL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                           socklen_t *addrlen)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.recvfrom(fd, buf, len, flags, addr, addrlen);
    if (a < 0)
        return -1;
    int mf = 0;
    struct iovec v = {buf, len};
    /* recvfrom(2): addrlen is ignored when addr is NULL. */
    ssize_t r = buf || !len || (flags & MSG_TRUNC)
                    ? recv_iov(s, &v, 1, flags, addr, addr ? addrlen : NULL, &mf)
                    : -EFAULT;
    pl_release(s);
    return io_finish(r, false);
}

PL_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.recvmsg(fd, msg, flags);
    if (a < 0)
        return -1;
    ssize_t r = recvmsg_locked(s, msg, flags);
    pl_release(s);
    return io_finish(r, false);
}

/* recvmmsg(2) as Linux implements it: MSG_WAITFORONE turns on MSG_DONTWAIT after the first
 * message; the timeout is checked after each received message only (the BUGS section:
 * it does not bound the wait for one), and is updated with the time left. An error after
 * at least one message ends the batch; a pending socket error is left for the next call. */
PL_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags,
                       struct timespec *timeout)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.recvmmsg(fd, vec, vlen, flags, timeout);
    if (a < 0)
        return -1;
    uint64_t end = 0;
    ssize_t r = 0;
    unsigned n = 0;
    if (vlen > IO_MAXIOV)
        vlen = IO_MAXIOV;
    if (vlen && !vec)
        r = -EFAULT;
    if (timeout) {
        if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000L)
            r = -EINVAL;
        else
            end = pl_now() + (uint64_t)timeout->tv_sec * 1000000000u + (uint64_t)timeout->tv_nsec;
    }
    while (r >= 0 && n < vlen) {
        if (n && !sock_dead(s) && (pn_socket_events(s->pn) & PN_EV_ERR))
            break;
        r = recvmsg_locked(s, &vec[n].msg_hdr, flags);
        if (r < 0)
            break;
        vec[n].msg_len = (unsigned)r;
        n++;
        if (flags & MSG_WAITFORONE)
            flags |= MSG_DONTWAIT;
        if (timeout && pl_now() >= end)
            break;
    }
    if (timeout && r != -EINVAL) {
        uint64_t now = pl_now(), left = now < end ? end - now : 0;
        timeout->tv_sec = (time_t)(left / 1000000000u);
        timeout->tv_nsec = (long)(left % 1000000000u);
    }
    pl_release(s);
    if (n > 0)
        return (int)n;
    return (int)io_finish(r < 0 ? r : 0, false);
}

PL_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.read(fd, buf, len);
    if (a < 0)
        return -1;
    int mf = 0;
    struct iovec v = {buf, len};
    ssize_t r = buf || !len ? recv_iov(s, &v, 1, 0, NULL, NULL, &mf) : -EFAULT;
    pl_release(s);
    return io_finish(r, false);
}

PL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.readv(fd, iov, cnt);
    if (a < 0)
        return -1;
    int mf = 0;
    ssize_t r = cnt > IO_MAXIOV ? -EINVAL : recv_iov(s, iov, cnt, 0, NULL, NULL, &mf);
    pl_release(s);
    return io_finish(r, false);
}

/* The _FORTIFY_SOURCE variants: like glibc's (debug/read_chk.c, recv_chk.c), a request
 * larger than the destination object is a buffer overflow and aborts via __chk_fail. */
PL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen)
{
    if (nbytes > buflen)
        __chk_fail();
    return read(fd, buf, nbytes);
}

PL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    if (len > buflen)
        __chk_fail();
    return recv(fd, buf, len, flags);
}

PL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                                 struct sockaddr *addr, socklen_t *addrlen)
{
    if (len > buflen)
        __chk_fail();
    return recvfrom(fd, buf, len, flags, addr, addrlen);
}

/* ---- sendfile ---- */

/* sendfile(2) from a file to a plebnet stream socket (lock held): reads the file with
 * pread from *offset (updated) or from the file position (moved past what was sent, only
 * that: bytes read but not sent are not consumed), chunk by chunk, sending each like
 * send(2) with MSG_MORE between chunks as Linux's splice does. Returns the count (short
 * at end of file, or when a non-blocking socket fills) or -errno. */
static ssize_t sendfile_locked(struct pl_sock *s, int in_fd, long long *offset, size_t count)
{
    long long pos;
    if (pl_fd_peek(in_fd))
        return -EINVAL; /* in_fd "cannot be a socket" */
    if (s->type != SOCK_STREAM) {
        pl_unsupported("sendfile to a datagram socket");
        return -EINVAL;
    }
    if (offset) {
        if (*offset < 0)
            return -EINVAL;
        pos = *offset;
    } else {
        off_t p = lseek(in_fd, 0, SEEK_CUR);
        if (p < 0) {
            if (errno != ESPIPE)
                return -errno;
            pl_unsupported("sendfile from a non-seekable file (pipe, socket)");
            return -EINVAL;
        }
        pos = p;
    }
    if (count > IO_MAX_RW)
        count = IO_MAX_RW;
    if (count == 0)
        return 0;
    uint8_t *buf = malloc(IO_FILE_CHUNK);
    if (!buf)
        return -ENOMEM;
    size_t done = 0;
    int err = 0;
    while (done < count) {
        size_t want = count - done < IO_FILE_CHUNK ? count - done : IO_FILE_CHUNK;
        ssize_t n = pread(in_fd, buf, want, (off_t)(pos + (long long)done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            break;
        }
        if (n == 0)
            break; /* end of file */
        struct iovec v = {buf, (size_t)n};
        bool more = done + (size_t)n < count;
        ssize_t w = tcp_send(s, &v, 1, (size_t)n, more ? MSG_MORE : 0);
        if (w < 0) {
            err = (int)-w;
            break;
        }
        done += (size_t)w;
        if ((size_t)w < (size_t)n)
            break; /* non-blocking socket full, timeout or signal after a partial send */
    }
    free(buf);
    if (offset)
        *offset = pos + (long long)done;
    else if (done)
        lseek(in_fd, (off_t)(pos + (long long)done), SEEK_SET);
    return done ? (ssize_t)done : -err;
}

PL_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    struct pl_sock *s;
    int a = pl_acquire(out_fd, &s);
    if (a == 0)
        return pl_real.sendfile(out_fd, in_fd, offset, count);
    if (a < 0)
        return -1;
    long long off = offset ? (long long)*offset : 0;
    ssize_t r = sendfile_locked(s, in_fd, offset ? &off : NULL, count);
    if (offset)
        *offset = (off_t)off;
    pl_release(s);
    return io_finish(r, true);
}

PL_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
    struct pl_sock *s;
    int a = pl_acquire(out_fd, &s);
    if (a == 0)
        return pl_real.sendfile64(out_fd, in_fd, offset, count);
    if (a < 0)
        return -1;
    long long off = offset ? (long long)*offset : 0;
    ssize_t r = sendfile_locked(s, in_fd, offset ? &off : NULL, count);
    if (offset)
        *offset = (off64_t)off;
    pl_release(s);
    return io_finish(r, true);
}
