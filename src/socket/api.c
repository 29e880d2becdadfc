/* socket/api.c — the public socket calls (include/plebnet/socket.h): argument checks,
 * dispatch to the socket type's ops, and the readiness/option machinery all types share.
 * Every call ends by flushing the stack's transmit batch, so a send leaves at once.
 * Call chain: app -> pn_sendto -> sk->ops->sendto -> transport -> pn_stack_flush. */
#include <stdlib.h>
#include <string.h>
#include "core/stack.h"
#include "socket/socket.h"
#include "tcp/tcp.h"

void pn_socket_init_common(struct pn_socket *sk, struct pn_stack *s, enum pn_sock_type type,
                           const struct pn_socket_ops *ops)
{
    sk->ops = ops;
    sk->stack = s;
    sk->type = type;
    sk->rcvbuf = s->cfg.udp_rcvbuf;
    sk->sndbuf = s->cfg.udp_sndbuf;
    sk->all_prev = NULL;
    sk->all_next = s->sockets;
    if (s->sockets)
        s->sockets->all_prev = sk;
    s->sockets = sk;
}

void pn_socket_unlink(struct pn_socket *sk)
{
    struct pn_stack *s = sk->stack;
    if (sk->all_prev)
        sk->all_prev->all_next = sk->all_next;
    else if (s->sockets == sk)
        s->sockets = sk->all_next;
    if (sk->all_next)
        sk->all_next->all_prev = sk->all_prev;
    sk->all_next = sk->all_prev = NULL;
}

void pn_socket_raise(struct pn_socket *sk, unsigned bits)
{
    unsigned fresh = bits & ~sk->events;
    sk->events |= bits;
    /* Data arriving on an already readable socket is news too: report IN again. */
    if (sk->cb && (fresh || (bits & PN_EV_IN)))
        sk->cb(sk, fresh | (bits & PN_EV_IN), sk->cb_arg);
}

void pn_socket_lower(struct pn_socket *sk, unsigned bits)
{
    sk->events &= ~bits;
}

void pn_socket_set_error(struct pn_socket *sk, int err)
{
    sk->so_error = err;
    pn_socket_raise(sk, PN_EV_ERR);
}

int pn_socket_take_error(struct pn_socket *sk)
{
    int e = sk->so_error;
    sk->so_error = 0;
    pn_socket_lower(sk, PN_EV_ERR);
    return e;
}

static int get_int(const void *val, size_t len, int *out)
{
    if (!val || len != sizeof(int))
        return PN_EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static int put_int(void *val, size_t *len, int v)
{
    if (!val || !len || *len < sizeof(int))
        return PN_EINVAL;
    memcpy(val, &v, sizeof(int));
    *len = sizeof(int);
    return 0;
}

/* Buffer sizes are clamped like Linux's: at least a few packets, at most 64 MiB. */
#define BUF_MIN 2048
#define BUF_MAX (64 << 20)

int pn_socket_common_setsockopt(struct pn_socket *sk, enum pn_sockopt opt, const void *val,
                                size_t len)
{
    int v;
    if (get_int(val, len, &v) < 0)
        return opt == PN_SO_LINGER || opt == PN_TCP_CONGESTION ? PN_ENOPROTOOPT : PN_EINVAL;
    switch (opt) {
    case PN_SO_RCVBUF:
    case PN_SO_SNDBUF:
        if (v < 0)
            return PN_EINVAL;
        v = v < BUF_MIN ? BUF_MIN : v > BUF_MAX ? BUF_MAX : v;
        if (opt == PN_SO_RCVBUF)
            sk->rcvbuf = (uint32_t)v;
        else
            sk->sndbuf = (uint32_t)v;
        return 0;
    case PN_SO_BROADCAST:
        sk->opt_broadcast = v != 0;
        return 0;
    case PN_SO_REUSEADDR:
        sk->opt_reuseaddr = v != 0;
        return 0;
    case PN_IP_TTL:
        if (v < 1 || v > 255)
            return PN_EINVAL;
        sk->ttl = (uint8_t)v;
        return 0;
    case PN_IP_TOS:
        if (v < 0 || v > 255)
            return PN_EINVAL;
        sk->tos = (uint8_t)v;
        return 0;
    case PN_IP_DONTFRAG:
        sk->opt_dontfrag = v != 0;
        return 0;
    case PN_SO_ERROR:
    case PN_SO_TYPE:
        return PN_EINVAL; /* read-only */
    default:
        return PN_ENOPROTOOPT;
    }
}

int pn_socket_common_getsockopt(struct pn_socket *sk, enum pn_sockopt opt, void *val,
                                size_t *len)
{
    switch (opt) {
    case PN_SO_RCVBUF:
        return put_int(val, len, (int)sk->rcvbuf);
    case PN_SO_SNDBUF:
        return put_int(val, len, (int)sk->sndbuf);
    case PN_SO_BROADCAST:
        return put_int(val, len, sk->opt_broadcast);
    case PN_SO_REUSEADDR:
        return put_int(val, len, sk->opt_reuseaddr);
    case PN_SO_ERROR:
        if (!val || !len || *len < sizeof(int))
            return PN_EINVAL;
        return put_int(val, len, pn_socket_take_error(sk));
    case PN_SO_TYPE:
        return put_int(val, len, (int)sk->type);
    case PN_IP_TTL:
        return put_int(val, len, sk->ttl ? sk->ttl : sk->stack->cfg.ttl);
    case PN_IP_TOS:
        return put_int(val, len, sk->tos);
    case PN_IP_DONTFRAG:
        return put_int(val, len, sk->opt_dontfrag);
    default:
        return PN_ENOPROTOOPT;
    }
}

/* ---- public calls ---- */

int pn_socket(struct pn_stack *s, enum pn_sock_type type, struct pn_socket **out)
{
    if (!s || !out)
        return PN_EINVAL;
    switch (type) {
    case PN_SOCK_DGRAM:
    case PN_SOCK_PING:
        return pn_udp_socket_new(s, type, out);
    case PN_SOCK_STREAM:
        return pn_tcp_socket_new(s, out);
    default:
        return PN_EINVAL;
    }
}

int pn_bind(struct pn_socket *sk, const struct pn_endpoint *local)
{
    if (!sk || !local)
        return PN_EINVAL;
    return sk->ops->bind(sk, local);
}

int pn_connect(struct pn_socket *sk, const struct pn_endpoint *remote)
{
    if (!sk || !remote)
        return PN_EINVAL;
    int r = sk->ops->connect(sk, remote);
    pn_stack_flush(sk->stack);
    return r;
}

int pn_listen(struct pn_socket *sk, int backlog)
{
    if (!sk)
        return PN_EINVAL;
    if (!sk->ops->listen)
        return PN_ENOTSUP;
    return sk->ops->listen(sk, backlog);
}

int pn_accept(struct pn_socket *sk, struct pn_socket **out, struct pn_endpoint *peer)
{
    if (!sk || !out)
        return PN_EINVAL;
    if (!sk->ops->accept)
        return PN_ENOTSUP;
    int r = sk->ops->accept(sk, out);
    if (r == 0 && peer)
        *peer = (*out)->remote;
    pn_stack_flush(sk->stack);
    return r;
}

long pn_sendto(struct pn_socket *sk, const void *buf, size_t len, int flags,
               const struct pn_endpoint *dst)
{
    if (!sk || (!buf && len))
        return PN_EINVAL;
    long r = sk->ops->sendto(sk, buf, len, flags, dst);
    pn_stack_flush(sk->stack);
    return r;
}

long pn_send(struct pn_socket *sk, const void *buf, size_t len, int flags)
{
    return pn_sendto(sk, buf, len, flags, NULL);
}

long pn_recvfrom(struct pn_socket *sk, void *buf, size_t len, int flags, struct pn_endpoint *src)
{
    if (!sk || (!buf && len))
        return PN_EINVAL;
    long r = sk->ops->recvfrom(sk, buf, len, flags, src);
    pn_stack_flush(sk->stack); /* a read may open the window and send an update */
    return r;
}

long pn_recv(struct pn_socket *sk, void *buf, size_t len, int flags)
{
    return pn_recvfrom(sk, buf, len, flags, NULL);
}

int pn_shutdown(struct pn_socket *sk, int how)
{
    if (!sk || how < PN_SHUT_RD || how > PN_SHUT_RDWR)
        return PN_EINVAL;
    int r = sk->ops->shutdown(sk, how);
    pn_stack_flush(sk->stack);
    return r;
}

int pn_close(struct pn_socket *sk)
{
    if (!sk)
        return PN_EINVAL;
    struct pn_stack *s = sk->stack;
    pn_socket_unlink(sk);
    if (sk->ops->close(sk) == 0)
        free(sk);
    pn_stack_flush(s);
    return 0;
}

int pn_getsockname(const struct pn_socket *sk, struct pn_endpoint *out)
{
    if (!sk || !out)
        return PN_EINVAL;
    *out = sk->local;
    return 0;
}

int pn_getpeername(const struct pn_socket *sk, struct pn_endpoint *out)
{
    if (!sk || !out)
        return PN_EINVAL;
    if (!sk->connected)
        return PN_ENOTCONN;
    *out = sk->remote;
    return 0;
}

int pn_setsockopt(struct pn_socket *sk, enum pn_sockopt opt, const void *val, size_t len)
{
    if (!sk)
        return PN_EINVAL;
    if (sk->ops->setsockopt) {
        int r = sk->ops->setsockopt(sk, opt, val, len);
        if (r != PN_ENOPROTOOPT)
            return r;
    }
    return pn_socket_common_setsockopt(sk, opt, val, len);
}

int pn_getsockopt(struct pn_socket *sk, enum pn_sockopt opt, void *val, size_t *len)
{
    if (!sk)
        return PN_EINVAL;
    if (sk->ops->getsockopt) {
        int r = sk->ops->getsockopt(sk, opt, val, len);
        if (r != PN_ENOPROTOOPT)
            return r;
    }
    return pn_socket_common_getsockopt(sk, opt, val, len);
}

long pn_socket_nread(struct pn_socket *sk)
{
    if (!sk)
        return PN_EINVAL;
    if (sk->type == PN_SOCK_STREAM) {
        const struct pn_tcb *t = (const struct pn_tcb *)sk;
        if (t->state == PN_TCP_LISTEN)
            return PN_EINVAL; /* Linux: tcp_ioctl SIOCINQ on a listener is EINVAL */
        return (long)(t->rq.bytes - (t->rq.head ? t->rq_off : 0));
    }
    /* Datagram: the next datagram's full length (udp_ioctl: first_packet_length), found
     * with a zero-length peek; a pending error must stay pending for the next recv. */
    if (!(sk->events & PN_EV_IN))
        return 0;
    int saved_err = sk->so_error;
    long n = sk->ops->recvfrom(sk, NULL, 0, PN_MSG_PEEK | PN_MSG_TRUNC, NULL);
    if (sk->so_error != saved_err) {
        sk->so_error = saved_err;
        if (saved_err)
            sk->events |= PN_EV_ERR;
    }
    return n > 0 ? n : 0;
}

unsigned pn_socket_events(const struct pn_socket *sk)
{
    return sk ? sk->events : 0;
}

void pn_socket_set_callback(struct pn_socket *sk, pn_socket_cb cb, void *arg)
{
    sk->cb = cb;
    sk->cb_arg = arg;
}

enum pn_sock_type pn_socket_type(const struct pn_socket *sk)
{
    return sk->type;
}

struct pn_stack *pn_socket_stack(const struct pn_socket *sk)
{
    return sk->stack;
}
