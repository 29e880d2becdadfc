/* plebnet/errors.h — the library's error codes: every call returns 0/positive on
 * success or a negative PN_E* code; only the preload shim maps them to errno. */
#ifndef PLEBNET_ERRORS_H
#define PLEBNET_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Negative return codes. The names follow POSIX errno so their meaning is familiar;
 * the values are plebnet's own and stable across releases. */
enum pn_err {
    PN_OK = 0,
    PN_EINVAL = -1,        /* an argument is out of range or the wrong kind */
    PN_EAGAIN = -2,        /* would block: retry when the socket is ready */
    PN_ENOMEM = -3,        /* allocation failed (memory or a configured limit) */
    PN_ENOBUFS = -4,       /* packet buffer pool or a queue is full */
    PN_EADDRINUSE = -5,    /* local address/port already bound */
    PN_EADDRNOTAVAIL = -6, /* address is not this stack's, or no ephemeral port left */
    PN_EAFNOSUPPORT = -7,  /* address family not supported */
    PN_EISCONN = -8,       /* socket already connected */
    PN_ENOTCONN = -9,      /* socket not connected */
    PN_EDESTADDRREQ = -10, /* no destination given and none connected */
    PN_EMSGSIZE = -11,     /* datagram larger than the protocol allows */
    PN_ECONNREFUSED = -12, /* peer refused (RST, or ICMP port unreachable) */
    PN_ECONNRESET = -13,   /* connection reset by peer */
    PN_ECONNABORTED = -14, /* connection aborted locally */
    PN_ETIMEDOUT = -15,    /* timed out (retransmission, user timeout, keepalive) */
    PN_EHOSTUNREACH = -16, /* no ARP answer, or ICMP host unreachable */
    PN_ENETUNREACH = -17,  /* no route (off-link with no gateway), or ICMP net unreachable */
    PN_EPIPE = -18,        /* write after shutdown or after the peer closed */
    PN_EALREADY = -19,     /* an operation is already in progress */
    PN_EINPROGRESS = -20,  /* non-blocking connect started */
    PN_ENOTSUP = -21,      /* operation not supported on this socket type */
    PN_ENOPROTOOPT = -22,  /* unknown socket option */
    PN_EBADF = -23,        /* socket closed or not valid */
    PN_EACCES = -24,       /* e.g. send to broadcast without the broadcast option */
    PN_EPROTO = -25,       /* protocol error (e.g. a malformed lease reply) */
    PN_EIO = -26,          /* the link failed */
    PN_ERR_MIN_ = -26
};

/* Returns a static, human-readable string for a PN_E* code (or "unknown error"). */
const char *pn_strerror(int err);

/* Returns the conventional name of a PN_E* code, e.g. "PN_EAGAIN". */
const char *pn_errname(int err);

#ifdef __cplusplus
}
#endif
#endif
