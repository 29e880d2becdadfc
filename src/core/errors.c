/* core/errors.c — names and messages for the PN_E* codes (include/plebnet/errors.h). */
#include "plebnet/errors.h"

struct err_desc {
    const char *name;
    const char *msg;
};

/* Indexed by -code. */
static const struct err_desc errs[] = {
    [0] = {"PN_OK", "success"},
    [-PN_EINVAL] = {"PN_EINVAL", "invalid argument"},
    [-PN_EAGAIN] = {"PN_EAGAIN", "operation would block"},
    [-PN_ENOMEM] = {"PN_ENOMEM", "out of memory"},
    [-PN_ENOBUFS] = {"PN_ENOBUFS", "no buffer space available"},
    [-PN_EADDRINUSE] = {"PN_EADDRINUSE", "address already in use"},
    [-PN_EADDRNOTAVAIL] = {"PN_EADDRNOTAVAIL", "address not available"},
    [-PN_EAFNOSUPPORT] = {"PN_EAFNOSUPPORT", "address family not supported"},
    [-PN_EISCONN] = {"PN_EISCONN", "socket is already connected"},
    [-PN_ENOTCONN] = {"PN_ENOTCONN", "socket is not connected"},
    [-PN_EDESTADDRREQ] = {"PN_EDESTADDRREQ", "destination address required"},
    [-PN_EMSGSIZE] = {"PN_EMSGSIZE", "message too long"},
    [-PN_ECONNREFUSED] = {"PN_ECONNREFUSED", "connection refused"},
    [-PN_ECONNRESET] = {"PN_ECONNRESET", "connection reset by peer"},
    [-PN_ECONNABORTED] = {"PN_ECONNABORTED", "connection aborted"},
    [-PN_ETIMEDOUT] = {"PN_ETIMEDOUT", "connection timed out"},
    [-PN_EHOSTUNREACH] = {"PN_EHOSTUNREACH", "no route to host"},
    [-PN_ENETUNREACH] = {"PN_ENETUNREACH", "network is unreachable"},
    [-PN_EPIPE] = {"PN_EPIPE", "broken pipe"},
    [-PN_EALREADY] = {"PN_EALREADY", "operation already in progress"},
    [-PN_EINPROGRESS] = {"PN_EINPROGRESS", "operation now in progress"},
    [-PN_ENOTSUP] = {"PN_ENOTSUP", "operation not supported"},
    [-PN_ENOPROTOOPT] = {"PN_ENOPROTOOPT", "protocol not available"},
    [-PN_EBADF] = {"PN_EBADF", "bad socket"},
    [-PN_EACCES] = {"PN_EACCES", "permission denied"},
    [-PN_EPROTO] = {"PN_EPROTO", "protocol error"},
    [-PN_EIO] = {"PN_EIO", "input/output error"},
};

static const struct err_desc *lookup(int err)
{
    if (err > 0 || err < PN_ERR_MIN_)
        return 0;
    return &errs[-err];
}

const char *pn_strerror(int err)
{
    const struct err_desc *d = lookup(err);
    return d ? d->msg : "unknown error";
}

const char *pn_errname(int err)
{
    const struct err_desc *d = lookup(err);
    return d ? d->name : "PN_E?";
}
