/* preload/sockcalls.c — the interposed socket(2), socketpair(2), bind(2), listen(2),
 * accept(2)/accept4(2) and connect(2): IPv4 TCP/UDP/ICMP-echo sockets are created on the
 * plebnet stack; everything else goes to the kernel. errno values follow Linux's (each
 * checked against a kernel socket in tests/preload/probe_core.c where it matters).
 * Call chain: app -> socket -> pl_init -> pn_socket -> pl_sock_create;
 * app -> bind/listen/accept/connect -> pl_acquire -> pn_* [-> pl_wait] -> pl_release. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include "shim.h"

static int type_flags(int type)
{
    return type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
}

PL_EXPORT int socket(int domain, int type, int protocol)
{
    pl_real_init();
    if (domain != AF_INET || pl_internal()) {
        int fd = pl_real.socket(domain, type, protocol);
        /* The link's own sockets (opened under the lock) move out of the app's range. */
        if (fd >= 0 && pl_opening_link())
            fd = pl_fd_relocate(fd);
        return fd;
    }
    /* socket(2) / Linux's __sock_create and inet_create, in their order: unknown flag
     * bits EINVAL; a type with no IPv4 protocol ESOCKTNOSUPPORT; a protocol the type
     * does not carry EPROTONOSUPPORT; raw sockets EPERM for an unprivileged process
     * (what plebnet always is: it has no raw sockets). */
    if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))
        return pl_fail(EINVAL);
    int base = type & 0xf;
    enum pn_sock_type pt;
    int proto;
    switch (base) {
    case SOCK_STREAM:
        if (protocol != 0 && protocol != IPPROTO_TCP)
            return pl_fail(EPROTONOSUPPORT);
        pt = PN_SOCK_STREAM;
        proto = IPPROTO_TCP;
        break;
    case SOCK_DGRAM:
        if (protocol == 0 || protocol == IPPROTO_UDP) {
            pt = PN_SOCK_DGRAM;
            proto = IPPROTO_UDP;
        } else if (protocol == IPPROTO_ICMP) {
            pt = PN_SOCK_PING;
            proto = IPPROTO_ICMP;
        } else {
            return pl_fail(EPROTONOSUPPORT);
        }
        break;
    case SOCK_RAW:
        if (protocol == 0)
            return pl_fail(EPROTONOSUPPORT);
        pl_unsupported("SOCK_RAW sockets (use SOCK_DGRAM/IPPROTO_ICMP for ping): EPERM");
        return pl_fail(EPERM);
    default:
        pl_unsupported("AF_INET socket types other than SOCK_STREAM, SOCK_DGRAM: "
                       "ESOCKTNOSUPPORT");
        return pl_fail(ESOCKTNOSUPPORT);
    }
    int r = pl_init();
    if (r < 0)
        return pl_fail(-r);
    pl_lock();
    struct pn_socket *pn;
    r = pn_socket(pl_stack, pt, &pn);
    if (r < 0) {
        pl_release(NULL);
        return pl_fail(pl_errno(r) == EINVAL ? ESOCKTNOSUPPORT : pl_errno(r));
    }
    struct pl_sock *s;
    int fd = pl_sock_create(pn, base, proto, type_flags(type), &s);
    if (fd < 0) {
        pn_close(pn);
        pl_release(NULL);
        return pl_fail(-fd);
    }
    pl_release(s);
    return fd;
}

/* socketpair(2) has no AF_INET form (Linux: EOPNOTSUPP); the kernel answers for all. */
PL_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
    pl_real_init();
    return pl_real.socketpair(domain, type, protocol, sv);
}

PL_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.bind(fd, addr, len);
    if (a < 0)
        return -1;
    struct pn_endpoint ep;
    int r = pl_sockaddr_to_ep(addr, len, false, &ep);
    /* inet_bind: "accept AF_UNSPEC (mapped to AF_INET) only if s_addr is INADDR_ANY". */
    if (r == -EAFNOSUPPORT && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, addr, sizeof(sin));
        if (sin.sin_family == AF_UNSPEC && sin.sin_addr.s_addr == htonl(INADDR_ANY)) {
            ep = (struct pn_endpoint){0, ntohs(sin.sin_port)};
            r = 0;
        }
    }
    if (r == 0) {
        r = pn_bind(s->pn, &ep);
        r = r < 0 ? -pl_errno(r) : 0;
    }
    pl_release(s);
    return r < 0 ? pl_fail(-r) : 0;
}

PL_EXPORT int listen(int fd, int backlog)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.listen(fd, backlog);
    if (a < 0)
        return -1;
    int err = 0;
    if (s->type != SOCK_STREAM) {
        err = EOPNOTSUPP; /* inet_dgram_ops: sock_no_listen */
    } else if (s->listening) {
        err = 0; /* Linux allows listen() again (it only changes the backlog) */
    } else if (s->sstate != PL_SS_UNCONNECTED) {
        err = EINVAL; /* inet_listen: "sock->state != SS_UNCONNECTED" */
    } else {
        /* listen(2): a backlog above somaxconn is silently truncated; pn clamps too. */
        int r = pn_listen(s->pn, backlog < 1 ? 1 : backlog);
        if (r < 0)
            err = pl_errno(r);
        else
            s->listening = true;
    }
    pl_release(s);
    return err ? pl_fail(err) : 0;
}

static int do_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags, bool four)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return four ? pl_real.accept4(fd, addr, len, flags) : pl_real.accept(fd, addr, len);
    if (a < 0)
        return -1;
    int err = 0, nfd = -1;
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        err = EINVAL;
    else if (s->type != SOCK_STREAM)
        err = EOPNOTSUPP;
    else if (!s->listening)
        err = EINVAL; /* inet_accept: the listener is not in TCP_LISTEN */
    else if (addr && (!len || (int)*len < 0))
        err = len ? EINVAL : EFAULT;
    /* Linux's accept honours SO_RCVTIMEO (inet_csk_accept: sock_rcvtimeo). */
    uint64_t deadline = pl_deadline(s->rcvtimeo_ns);
    while (!err) {
        struct pn_socket *child;
        struct pn_endpoint peer;
        int r = pn_accept(s->pn, &child, &peer);
        if (r == 0) {
            struct pl_sock *cs;
            nfd = pl_sock_create(child, SOCK_STREAM, IPPROTO_TCP, flags, &cs);
            if (nfd < 0) {
                err = -nfd;
                pn_close(child); /* the connection is lost: the peer sees a reset */
                break;
            }
            cs->sstate = PL_SS_CONNECTED;
            if (addr)
                pl_ep_to_sockaddr(&peer, addr, len);
            break;
        }
        if (r != PN_EAGAIN) {
            err = pl_errno(r);
            break;
        }
        if (s->nonblock) {
            err = EAGAIN;
            break;
        }
        int w = pl_wait(s, PN_EV_IN, deadline);
        if (w < 0)
            err = -w;
    }
    pl_release(s);
    return err ? pl_fail(err) : nfd;
}

PL_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return do_accept(fd, addr, len, 0, false);
}

PL_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return do_accept(fd, addr, len, flags, true);
}

static enum pn_tcp_state tcp_state(struct pl_sock *s)
{
    struct pn_tcp_info ti;
    if (pn_tcp_get_info(s->pn, &ti) < 0)
        return PN_TCP_CLOSED;
    return ti.state;
}

/* The end of a connection attempt that is no longer in SYN-SENT/SYN-RECEIVED, as
 * Linux's __inet_stream_connect: established -> 0 (SS_CONNECTED); closed -> the pending
 * error, taken (sock_error), or ECONNABORTED if it was already read, and SS_UNCONNECTED. */
static int connect_outcome(struct pl_sock *s)
{
    if (tcp_state(s) != PN_TCP_CLOSED) {
        s->sstate = PL_SS_CONNECTED;
        return 0;
    }
    int e = 0;
    size_t elen = sizeof(e);
    pn_getsockopt(s->pn, PN_SO_ERROR, &e, &elen);
    s->sstate = PL_SS_UNCONNECTED;
    pl_mirror_error_taken(s);
    return e ? pl_errno(e) : ECONNABORTED;
}

static int tcp_connect(struct pl_sock *s, const struct sockaddr *addr, socklen_t len)
{
    struct pn_endpoint ep;
    int r = pl_sockaddr_to_ep(addr, len, true, &ep);
    if (r < 0)
        return -r;
    if (addr && len >= (socklen_t)sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
        pl_unsupported("connect(AF_UNSPEC) on a TCP socket (disconnect)");
        return EOPNOTSUPP;
    }
    if (s->listening)
        return EISCONN; /* SS_UNCONNECTED but not TCP_CLOSE */
    switch (s->sstate) {
    case PL_SS_CONNECTED:
        return EISCONN;
    case PL_SS_CONNECTING: {
        enum pn_tcp_state st = tcp_state(s);
        if (st != PN_TCP_SYN_SENT && st != PN_TCP_SYN_RECEIVED)
            return connect_outcome(s);
        if (s->nonblock)
            return EALREADY;
        break; /* a blocking connect waits for the attempt in progress */
    }
    default:
        if (s->err_done) {
            pl_unsupported("connect() again on a TCP socket whose earlier attempt failed "
                           "(open a new socket)");
            return EOPNOTSUPP;
        }
        r = pn_connect(s->pn, &ep);
        if (r == 0) {
            s->sstate = PL_SS_CONNECTED;
            return 0;
        }
        if (r != PN_EINPROGRESS)
            return pl_errno(r);
        s->sstate = PL_SS_CONNECTING;
        if (s->nonblock)
            return EINPROGRESS;
    }
    /* Blocking: wait for the handshake's end; SO_SNDTIMEO bounds it and then connect
     * returns EINPROGRESS (inet_stream_connect), a signal handler EINTR. */
    uint64_t deadline = pl_deadline(s->sndtimeo_ns);
    for (;;) {
        enum pn_tcp_state st = tcp_state(s);
        if (st != PN_TCP_SYN_SENT && st != PN_TCP_SYN_RECEIVED)
            return connect_outcome(s);
        int w = pl_wait(s, PN_EV_OUT, deadline);
        if (w == -EAGAIN)
            return EINPROGRESS;
        if (w < 0)
            return -w;
    }
}

static int dgram_connect(struct pl_sock *s, const struct sockaddr *addr, socklen_t len)
{
    struct pn_endpoint ep;
    /* connect(2): "connectionless sockets may dissolve the association by connecting to
     * an address with the sa_family member of sockaddr set to AF_UNSPEC". */
    int r = pl_sockaddr_to_ep(addr, len, true, &ep);
    if (r < 0)
        return -r;
    r = pn_connect(s->pn, &ep);
    if (r < 0)
        return pl_errno(r);
    s->sstate = ep.addr || ep.port ? PL_SS_CONNECTED : PL_SS_UNCONNECTED;
    return 0;
}

PL_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.connect(fd, addr, len);
    if (a < 0)
        return -1;
    int err = s->type == SOCK_STREAM ? tcp_connect(s, addr, len) : dgram_connect(s, addr, len);
    pl_release(s);
    return err ? pl_fail(err) : 0;
}
