/* preload/util.c — the shim's conversions and diagnostics: PN_E* -> errno, sockaddr_in <->
 * pn_endpoint (with POSIX truncation of returned addresses), one-line log messages on
 * stderr through the real write(2), and once-only "unsupported" notices.
 * Call chain: sockcalls.c / fdcalls.c / io.c / sockopt.c / dns.c -> pl_errno, pl_fail,
 * pl_sockaddr_to_ep, pl_ep_to_sockaddr, pl_log, pl_unsupported. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "shim.h"

int pl_errno(int pn_err)
{
    switch (pn_err) {
    case PN_OK:
        return 0;
    case PN_EINVAL:
        return EINVAL;
    case PN_EAGAIN:
        return EAGAIN;
    case PN_ENOMEM:
        return ENOMEM;
    case PN_ENOBUFS:
        return ENOBUFS;
    case PN_EADDRINUSE:
        return EADDRINUSE;
    case PN_EADDRNOTAVAIL:
        return EADDRNOTAVAIL;
    case PN_EAFNOSUPPORT:
        return EAFNOSUPPORT;
    case PN_EISCONN:
        return EISCONN;
    case PN_ENOTCONN:
        return ENOTCONN;
    case PN_EDESTADDRREQ:
        return EDESTADDRREQ;
    case PN_EMSGSIZE:
        return EMSGSIZE;
    case PN_ECONNREFUSED:
        return ECONNREFUSED;
    case PN_ECONNRESET:
        return ECONNRESET;
    case PN_ECONNABORTED:
        return ECONNABORTED;
    case PN_ETIMEDOUT:
        return ETIMEDOUT;
    case PN_EHOSTUNREACH:
        return EHOSTUNREACH;
    case PN_ENETUNREACH:
        return ENETUNREACH;
    case PN_EPIPE:
        return EPIPE;
    case PN_EALREADY:
        return EALREADY;
    case PN_EINPROGRESS:
        return EINPROGRESS;
    case PN_ENOTSUP:
        return EOPNOTSUPP;
    case PN_ENOPROTOOPT:
        return ENOPROTOOPT;
    case PN_EBADF:
        return EBADF;
    case PN_EACCES:
        return EACCES;
    case PN_EPROTO:
        return EPROTO;
    case PN_EIO:
        return EIO;
    default:
        return pn_err > 0 ? pn_err : EIO; /* an errno already, or unknown */
    }
}

int pl_fail(int err)
{
    errno = err;
    return -1;
}

/* The checks and their order follow Linux's inet_bind/tcp_v4_connect/udp connect: a
 * length shorter than sa_family is EINVAL, AF_UNSPEC is examined before the full length
 * (connect(2): "AF_UNSPEC ... dissolve the association"), then the length of a
 * sockaddr_in (EINVAL), then the family (EAFNOSUPPORT). */
int pl_sockaddr_to_ep(const struct sockaddr *sa, socklen_t len, bool allow_unspec,
                      struct pn_endpoint *ep)
{
    if (!sa)
        return -EFAULT;
    if (len < (socklen_t)sizeof(sa_family_t))
        return -EINVAL;
    sa_family_t fam;
    memcpy(&fam, sa, sizeof(fam));
    if (fam == AF_UNSPEC && allow_unspec) {
        *ep = (struct pn_endpoint){0, 0};
        return 0;
    }
    if (len < (socklen_t)sizeof(struct sockaddr_in))
        return -EINVAL;
    if (fam != AF_INET)
        return -EAFNOSUPPORT;
    struct sockaddr_in sin;
    memcpy(&sin, sa, sizeof(sin)); /* the caller's buffer may be unaligned */
    ep->addr = ntohl(sin.sin_addr.s_addr);
    ep->port = ntohs(sin.sin_port);
    return 0;
}

/* accept(2)/getsockname(2): "The returned address is truncated if the buffer provided is
 * too small; in this case, addrlen will return a value greater than was supplied". */
void pl_ep_to_sockaddr(const struct pn_endpoint *ep, struct sockaddr *sa, socklen_t *len)
{
    if (!sa || !len)
        return;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(ep->addr);
    sin.sin_port = htons(ep->port);
    size_t n = *len < sizeof(sin) ? (size_t)*len : sizeof(sin);
    memcpy(sa, &sin, n);
    *len = (socklen_t)sizeof(sin);
}

void pl_log(const char *fmt, ...)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "plebnet-preload: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(buf) - 2)
        len = sizeof(buf) - 2;
    buf[len++] = '\n';
    pl_real_init();
    int saved = errno; /* logging must not disturb the errno the caller is about to set */
    size_t off = 0;
    while (off < len) {
        ssize_t w = pl_real.write(2, buf + off, len - off);
        if (w <= 0 && errno != EINTR)
            break;
        if (w > 0)
            off += (size_t)w;
    }
    errno = saved;
}

/* Distinct `what` strings seen so far; a program touches few unsupported features, and
 * past the table's end every notice is still printed (only the de-duplication stops). */
#define UNSUP_MAX 64
static const char *unsup_seen[UNSUP_MAX];
static int unsup_count;
static pthread_mutex_t unsup_mu = PTHREAD_MUTEX_INITIALIZER;

void pl_unsupported(const char *what)
{
    bool fresh = true;
    pthread_mutex_lock(&unsup_mu);
    for (int i = 0; i < unsup_count; i++)
        if (unsup_seen[i] == what || strcmp(unsup_seen[i], what) == 0) {
            fresh = false;
            break;
        }
    if (fresh && unsup_count < UNSUP_MAX)
        unsup_seen[unsup_count++] = what;
    pthread_mutex_unlock(&unsup_mu);
    if (fresh)
        pl_log("unsupported: %s", what);
}
