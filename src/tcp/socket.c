/* tcp/socket.c — stream sockets: the socket operations (bind, listen, accept, connect, send,
 * recv, shutdown, close, options) on top of the TCB, readiness, and tcp_info.
 * Call chain: public API (socket/api.c) -> tcp_* ops here -> pn_tcp_output. */
#include <stdlib.h>
#include <string.h>
#include "core/stack.h"
#include "core/util.h"
#include "tcp/tcp.h"

static struct pn_tcb *tcb(struct pn_socket *sk)
{
    return (struct pn_tcb *)sk;
}

const char *pn_tcp_state_name(enum pn_tcp_state st)
{
    static const char *const names[] = {"CLOSED",      "LISTEN",     "SYN-SENT",   "SYN-RECEIVED",
                                        "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                                        "CLOSING",     "LAST-ACK",   "TIME-WAIT"};
    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

static uint32_t sbuf_free(const struct pn_tcb *t)
{
    return t->sndbuf_limit > t->sq.bytes ? t->sndbuf_limit - t->sq.bytes : 0;
}

void pn_tcp_update_events(struct pn_tcb *t)
{
    unsigned ev = 0;
    struct pn_socket *sk = &t->sk;
    switch (t->state) {
    case PN_TCP_LISTEN:
        if (t->aq_len)
            ev |= PN_EV_IN;
        break;
    case PN_TCP_ESTABLISHED:
    case PN_TCP_CLOSE_WAIT:
        if (!(t->flags & TF_FIN_QUEUED) && sbuf_free(t) >= PN_MIN(t->sndbuf_limit / 4, 65536u))
            ev |= PN_EV_OUT;
        break;
    default:
        break;
    }
    if (t->rq.bytes > t->rq_off || (t->flags & TF_FIN_RCVD))
        ev |= PN_EV_IN;
    if (t->flags & TF_FIN_RCVD)
        ev |= PN_EV_RDHUP;
    if (sk->so_error)
        ev |= PN_EV_ERR;
    if (t->state == PN_TCP_CLOSED && sk->connected)
        ev |= PN_EV_HUP | PN_EV_IN | PN_EV_OUT;
    if ((t->flags & TF_FIN_RCVD) && (t->flags & TF_FIN_QUEUED))
        ev |= PN_EV_HUP;
    unsigned fresh = ev & ~sk->events;
    sk->events = ev;
    if (fresh && sk->cb)
        sk->cb(sk, fresh, sk->cb_arg);
}

void pn_tcp_child_add(struct pn_tcb *l, struct pn_tcb *c)
{
    c->parent = l;
    c->aq_next = NULL;
    if (l->aq_tail)
        l->aq_tail->aq_next = c;
    else
        l->aq_head = c;
    l->aq_tail = c;
    l->syn_len++;
}

/* A child finished its handshake: it becomes acceptable. */
void pn_tcp_accept_ready(struct pn_tcb *l, struct pn_tcb *c)
{
    if (c->aq_next || l->aq_tail == c || l->aq_head == c) {
        /* already listed as embryonic: it stays in place, only the counts change */
        if (l->syn_len)
            l->syn_len--;
    } else {
        c->parent = l;
        if (l->aq_tail)
            l->aq_tail->aq_next = c;
        else
            l->aq_head = c;
        l->aq_tail = c;
    }
    l->aq_len++;
    pn_tcp_update_events(l);
}

static struct pn_stack *stk(struct pn_socket *sk)
{
    return sk->stack;
}

static int tcp_bind(struct pn_socket *sk, const struct pn_endpoint *local)
{
    struct pn_tcb *t = tcb(sk);
    struct pn_stack *s = stk(sk);
    if (sk->bound || t->state != PN_TCP_CLOSED)
        return PN_EINVAL;
    /* Our addresses: the interface's and 127/8 (RFC 1122 §3.2.1.3 (g)). */
    if (local->addr != PN_IP4_ANY && !pn_ipv4_is_local(s, local->addr))
        return PN_EADDRNOTAVAIL;
    uint16_t port = local->port;
    if (port == 0) {
        port = pn_tcp_ephemeral_port(s, local->addr ? local->addr : s->iface.addr, 0, 0);
        if (!port)
            return PN_EADDRNOTAVAIL;
    } else if (pn_tcp_port_in_use(s, port) || pn_tcp_lookup_listener(s, 0, port)) {
        /* SO_REUSEADDR lets a new socket bind while the old connection lingers in
         * TIME-WAIT, never beside a listener or a live socket. */
        bool ok = sk->opt_reuseaddr && !pn_tcp_lookup_listener(s, s->iface.addr, port);
        for (struct pn_socket *o = (struct pn_socket *)s->tcp.ports[(port * 2654435761u) >> 16 &
                                                                    (s->tcp.ports_nbuckets - 1)];
             ok && o; o = o->port_next)
            if (o->local.port == port && ((struct pn_tcb *)o)->state != PN_TCP_TIME_WAIT)
                ok = false;
        if (!ok)
            return PN_EADDRINUSE;
    }
    sk->local.addr = local->addr;
    sk->local.port = port;
    t->flags |= TF_BOUND_EXPLICIT;
    pn_tcp_port_insert(s, t);
    return 0;
}

static int tcp_listen(struct pn_socket *sk, int backlog)
{
    struct pn_tcb *t = tcb(sk);
    struct pn_stack *s = stk(sk);
    if (t->state == PN_TCP_LISTEN) {
        t->backlog = (uint32_t)PN_MAX(1, PN_MIN(backlog, 65535));
        return 0;
    }
    if (t->state != PN_TCP_CLOSED || sk->connected)
        return PN_EINVAL;
    if (!sk->bound) {
        int err = tcp_bind(sk, &(struct pn_endpoint){0, 0});
        if (err)
            return err;
    }
    t->backlog = (uint32_t)PN_MAX(1, PN_MIN(backlog, 65535));
    pn_tcp_set_state(t, PN_TCP_LISTEN);
    pn_tcp_listen_insert(s, t);
    return 0;
}

static void init_handle(struct pn_stack *s, struct pn_tcb *t);
static const struct pn_socket_ops tcp_ops;

static int tcp_accept(struct pn_socket *sk, struct pn_socket **out)
{
    struct pn_tcb *l = tcb(sk);
    if (l->state != PN_TCP_LISTEN)
        return PN_EINVAL;
    struct pn_tcb **pp = &l->aq_head, *c = NULL, *prev = NULL;
    for (; *pp; prev = *pp, pp = &(*pp)->aq_next)
        if ((*pp)->state != PN_TCP_SYN_RECEIVED) {
            c = *pp;
            break;
        }
    if (!c)
        return PN_EAGAIN;
    *pp = c->aq_next;
    if (l->aq_tail == c)
        l->aq_tail = prev;
    c->aq_next = NULL;
    c->parent = NULL;
    l->aq_len--;
    init_handle(stk(sk), c);
    if (!l->aq_len)
        pn_socket_lower(sk, PN_EV_IN);
    pn_tcp_update_events(c);
    *out = &c->sk;
    return 0;
}

static int tcp_connect(struct pn_socket *sk, const struct pn_endpoint *remote)
{
    struct pn_tcb *t = tcb(sk);
    struct pn_stack *s = stk(sk);
    switch (t->state) {
    case PN_TCP_CLOSED:
        if (sk->connected)
            return sk->so_error ? pn_socket_take_error(sk) : PN_EISCONN;
        break;
    case PN_TCP_SYN_SENT:
    case PN_TCP_SYN_RECEIVED:
        return PN_EALREADY;
    case PN_TCP_LISTEN:
        return PN_EINVAL;
    default:
        return PN_EISCONN;
    }
    if (remote->addr == 0 || remote->port == 0 || (remote->addr >> 28) >= 14 ||
        pn_ipv4_is_broadcast(s, remote->addr))
        return PN_EINVAL;
    bool local = pn_ipv4_is_local(s, remote->addr); /* delivered inside the stack */
    if ((remote->addr & s->iface.mask) != (s->iface.addr & s->iface.mask) && !local &&
        !s->iface.gateway)
        return PN_ENETUNREACH;
    /* The bound address, else 127.0.0.1 towards 127/8, else the interface address. A
     * loopback source cannot reach another host (RFC 1122 §3.2.1.3 (g); Linux: EINVAL). */
    uint32_t laddr = pn_ipv4_source(s, sk->bound ? sk->local.addr : 0, remote->addr);
    if (pn_ipv4_is_loopback(laddr) && !local)
        return PN_EINVAL;
    if (sk->bound) {
        if (pn_tcp_lookup(s, laddr, sk->local.port, remote->addr, remote->port))
            return PN_EADDRINUSE;
    } else {
        uint16_t port = pn_tcp_ephemeral_port(s, laddr, remote->addr, remote->port);
        if (!port)
            return PN_EADDRNOTAVAIL;
        sk->local.port = port;
        pn_tcp_port_insert(s, t);
    }
    sk->local.addr = laddr;
    sk->remote = *remote;
    sk->connected = true;
    t->rcv_wscale = pn_tcp_conn_wscale(s, t);
    t->adv_mss = pn_tcp_adv_mss(s, t);
    t->iss = pn_tcp_isn(s, laddr, sk->local.port, remote->addr, remote->port);
    t->snd_una = t->snd_nxt = t->snd_max = t->iss;
    t->ts_offset = pn_tcp_ts_offset(s, laddr, sk->local.port, remote->addr, remote->port);
    t->backoff = 0;
    pn_tcp_set_state(t, PN_TCP_SYN_SENT);
    pn_tcp_hash_insert(s, t);
    t->hash_linked = true;
    s->stats.tcp_active_opens++;
    pn_tcp_output(s, t);
    pn_tcp_update_events(t);
    return PN_EINPROGRESS;
}

static long tcp_sendto(struct pn_socket *sk, const void *buf, size_t len, int flags,
                       const struct pn_endpoint *dst)
{
    struct pn_tcb *t = tcb(sk);
    struct pn_stack *s = stk(sk);
    if (sk->so_error)
        return pn_socket_take_error(sk);
    if (dst && sk->connected && (dst->addr != sk->remote.addr || dst->port != sk->remote.port))
        return PN_EISCONN;
    switch (t->state) {
    case PN_TCP_ESTABLISHED:
    case PN_TCP_CLOSE_WAIT:
        break;
    case PN_TCP_SYN_SENT:
    case PN_TCP_SYN_RECEIVED:
        return PN_EAGAIN; /* not yet connected: wait for PN_EV_OUT */
    case PN_TCP_CLOSED:
    case PN_TCP_LISTEN:
        return sk->connected ? PN_EPIPE : PN_ENOTCONN;
    default:
        return PN_EPIPE;
    }
    if (t->flags & TF_FIN_QUEUED)
        return PN_EPIPE;
    /* The send queue (sndq.c) takes pbufs as data queues up to SO_SNDBUF, copying and
     * checksumming each byte once; they are freed as they are acknowledged, so an idle
     * connection holds no send memory. */
    uint32_t n = (uint32_t)PN_MIN((size_t)sbuf_free(t), len);
    if (len == 0)
        return 0; /* nothing to queue: readiness is unchanged */
    if (n == 0) {
        pn_socket_lower(sk, PN_EV_OUT);
        return PN_EAGAIN;
    }
    /* RFC 5681 §4.1: after an idle period longer than an RTO, restart from the IW. */
    bool idle = t->snd_una == t->snd_max && t->sq.bytes == 0;
    n = pn_tcp_sq_append(s, t, (const uint8_t *)buf, n);
    if (n == 0)
        return PN_ENOBUFS; /* the stack's buffer pool is exhausted */
    if (idle && t->cc->after_idle && s->now - t->last_rx > (uint64_t)t->rto_us * 1000u)
        t->cc->after_idle(t, s->now);
    if (flags & PN_MSG_MORE)
        t->flags |= TF_CORK;
    pn_tcp_output(s, t);
    t->flags &= ~TF_CORK;
    pn_tcp_update_events(t);
    return (long)n;
}

static long tcp_recvfrom(struct pn_socket *sk, void *buf, size_t len, int flags,
                         struct pn_endpoint *src)
{
    struct pn_tcb *t = tcb(sk);
    struct pn_stack *s = stk(sk);
    if (t->state == PN_TCP_LISTEN)
        return PN_ENOTCONN;
    size_t copied = 0;
    struct pn_pbuf *p = t->rq.head;
    uint32_t off = t->rq_off;
    uint32_t before = pn_tcp_rcv_space(t);
    while (p && copied < len) {
        uint32_t n = (uint32_t)PN_MIN(len - copied, (size_t)(p->len - off));
        memcpy((uint8_t *)buf + copied, p->data + off, n);
        copied += n;
        off += n;
        if (off == p->len) {
            struct pn_pbuf *next = p->next;
            if (!(flags & PN_MSG_PEEK)) {
                pn_pbuf_free(pn_pbuf_queue_pop(&t->rq));
            }
            p = next;
            off = 0;
        }
    }
    if (!(flags & PN_MSG_PEEK))
        t->rq_off = t->rq.head ? off : 0;
    if (src && sk->connected)
        *src = sk->remote;
    if (copied == 0 && len > 0) {
        if (t->flags & TF_FIN_RCVD)
            return 0; /* end of stream */
        if (sk->so_error)
            return pn_socket_take_error(sk);
        if (t->state == PN_TCP_CLOSED)
            return sk->connected ? 0 : PN_ENOTCONN;
        if (t->flags & TF_RD_SHUT)
            return 0;
        return PN_EAGAIN;
    }
    if (copied && !(flags & PN_MSG_PEEK))
        pn_tcp_autotune_read(s, t, (uint32_t)copied);
    if (copied && !(flags & PN_MSG_PEEK)) {
        /* Reading may open the window enough for an update (RFC 9293 §3.8.6.2.2). */
        /* Only when the advertised window has shrunk to half the buffer or less and the
         * update at least doubles it (as Linux does): otherwise the next ACK carries it,
         * and reads do not turn every segment into an extra ACK. */
        uint32_t after = pn_tcp_rcv_space(t);
        uint32_t adv = t->rcv_adv - t->rcv_nxt;
        if (after > before && adv <= t->rcvbuf_limit / 2 && after >= 2 * adv &&
            after - adv >= PN_MIN(t->rcvbuf_limit / 2, 2u * t->adv_mss)) {
            t->flags |= TF_WND_UPDATE;
            pn_tcp_output(s, t);
        }
        pn_tcp_update_events(t);
    }
    return (long)copied;
}

/* Queues our FIN (RFC 9293 §3.10.4 CLOSE in ESTABLISHED / CLOSE-WAIT). */
static void queue_fin(struct pn_stack *s, struct pn_tcb *t)
{
    if (t->flags & TF_FIN_QUEUED)
        return;
    t->flags |= TF_FIN_QUEUED;
    if (t->state == PN_TCP_ESTABLISHED || t->state == PN_TCP_SYN_RECEIVED)
        pn_tcp_set_state(t, PN_TCP_FIN_WAIT_1);
    else if (t->state == PN_TCP_CLOSE_WAIT)
        pn_tcp_set_state(t, PN_TCP_LAST_ACK);
    pn_tcp_output(s, t);
}

static int tcp_shutdown(struct pn_socket *sk, int how)
{
    struct pn_tcb *t = tcb(sk);
    struct pn_stack *s = stk(sk);
    if (t->state == PN_TCP_CLOSED || t->state == PN_TCP_LISTEN)
        return PN_ENOTCONN;
    if (how != PN_SHUT_WR) {
        t->flags |= TF_RD_SHUT;
        sk->rd_shut = true;
        pn_pbuf_queue_purge(&t->rq);
        t->rq_off = 0;
    }
    if (how != PN_SHUT_RD) {
        sk->wr_shut = true;
        if (t->state == PN_TCP_SYN_SENT)
            pn_tcp_close_tcb(s, t, 0);
        else
            queue_fin(s, t);
    }
    pn_tcp_update_events(t);
    return 0;
}

static void abort_conn(struct pn_stack *s, struct pn_tcb *t)
{
    /* RFC 9293 §3.10.4 ABORT: <SEQ=SND.NXT><CTL=RST>. Sent as a full segment of the
     * connection: with the ACK (as Linux does) and, per RFC 7323 §3.2, the timestamp
     * option, so the peer's PAWS check cannot discard it. */
    if (t->state == PN_TCP_SYN_RECEIVED)
        pn_tcp_send_segment(s, t, t->snd_max, PN_TCP_RST, 0, 0);
    else if (t->state != PN_TCP_CLOSED && t->state != PN_TCP_LISTEN &&
             t->state != PN_TCP_SYN_SENT && t->state != PN_TCP_TIME_WAIT)
        pn_tcp_send_segment(s, t, t->snd_max, PN_TCP_RST | PN_TCP_ACK, 0, 0);
}

static int tcp_close(struct pn_socket *sk)
{
    struct pn_tcb *t = tcb(sk);
    struct pn_stack *s = stk(sk);
    t->flags |= TF_APP_CLOSED;
    if (t->state == PN_TCP_LISTEN) {
        /* Children nobody accepted are reset (RFC 9293 §3.10.4: ABORT semantics). */
        while (t->aq_head) {
            struct pn_tcb *c = t->aq_head;
            abort_conn(s, c);
            c->flags |= TF_ORPHAN;
            pn_tcp_close_tcb(s, c, 0);
        }
        pn_tcp_close_tcb(s, t, 0);
        return 0;
    }
    bool unread = t->rq.bytes > t->rq_off;
    bool abortive = s->freeing || unread || (t->linger_s == 0) ||
                    t->state == PN_TCP_SYN_SENT || t->state == PN_TCP_CLOSED;
    if (abortive) {
        /* RFC 9293 §3.10.4 (and RFC 2525 §2.17): closing with unread data, or SO_LINGER 0,
         * aborts with a RST so the peer knows data was lost. */
        if (!s->freeing && t->state != PN_TCP_CLOSED)
            abort_conn(s, t);
        pn_tcp_close_tcb(s, t, 0);
        /* Not an orphan, so close_tcb kept the unread data; the caller frees the handle. */
        pn_pbuf_queue_purge(&t->rq);
        return 0;
    }
    switch (t->state) {
    case PN_TCP_ESTABLISHED:
    case PN_TCP_SYN_RECEIVED:
    case PN_TCP_CLOSE_WAIT:
        queue_fin(s, t);
        break;
    case PN_TCP_FIN_WAIT_2:
        pn_tcp_finwait2_arm(s, t);
        break;
    default:
        break;
    }
    t->flags |= TF_ORPHAN;
    sk->cb = NULL;
    return 1; /* the connection lives on to finish its close; freed when CLOSED */
}

static int get_int(const void *v, size_t len, int *out)
{
    if (!v || len != sizeof(int))
        return PN_EINVAL;
    memcpy(out, v, sizeof(int));
    return 0;
}

static int put_int(void *v, size_t *len, int x)
{
    if (!v || !len || *len < sizeof(int))
        return PN_EINVAL;
    memcpy(v, &x, sizeof(int));
    *len = sizeof(int);
    return 0;
}

static int tcp_setsockopt(struct pn_socket *sk, enum pn_sockopt opt, const void *val, size_t len)
{
    struct pn_tcb *t = tcb(sk);
    struct pn_stack *s = stk(sk);
    int v = 0;
    if (opt == PN_TCP_CONGESTION) {
        char name[16];
        if (!val || len == 0 || len >= sizeof(name))
            return PN_EINVAL;
        memcpy(name, val, len);
        name[len] = 0;
        const struct pn_cc_ops *cc = pn_cc_find(name);
        if (!cc)
            return PN_EINVAL;
        if (cc != t->cc) {
            t->cc = cc;
            if (t->mss)
                cc->init(t);
        }
        return 0;
    }
    if (opt == PN_SO_LINGER) {
        struct pn_linger l;
        if (!val || len != sizeof(l))
            return PN_EINVAL;
        memcpy(&l, val, sizeof(l));
        t->linger_s = l.onoff ? PN_MAX(0, l.seconds) : -1;
        return 0;
    }
    switch (opt) {
    case PN_TCP_NODELAY:
    case PN_SO_KEEPALIVE:
    case PN_TCP_KEEPIDLE:
    case PN_TCP_KEEPINTVL:
    case PN_TCP_KEEPCNT:
    case PN_TCP_USER_TIMEOUT:
    case PN_TCP_MAXSEG:
    case PN_SO_RCVBUF:
    case PN_SO_SNDBUF:
        if (get_int(val, len, &v) < 0)
            return PN_EINVAL;
        break;
    default:
        return PN_ENOPROTOOPT; /* common options are handled by socket/api.c */
    }
    switch (opt) {
    case PN_TCP_NODELAY:
        t->flags = v ? t->flags | TF_NODELAY : t->flags & ~TF_NODELAY;
        /* Turning Nagle off pushes what it held back (as Linux's tcp_push_pending_frames);
         * only in states that send data, or a SYN-SENT socket would resend its SYN. */
        if (v && (t->state == PN_TCP_ESTABLISHED || t->state == PN_TCP_CLOSE_WAIT))
            pn_tcp_output(s, t);
        return 0;
    case PN_SO_KEEPALIVE:
        t->flags = v ? t->flags | TF_KEEPALIVE : t->flags & ~TF_KEEPALIVE;
        if (t->state == PN_TCP_ESTABLISHED || t->state == PN_TCP_CLOSE_WAIT)
            pn_tcp_keepalive_reset(s, t);
        return 0;
    case PN_TCP_KEEPIDLE:
    case PN_TCP_KEEPINTVL:
        if (v < 1 || v > 32767)
            return PN_EINVAL;
        if (opt == PN_TCP_KEEPIDLE)
            t->keep_idle_s = (uint32_t)v;
        else
            t->keep_intvl_s = (uint32_t)v;
        if ((t->flags & TF_KEEPALIVE) && t->state == PN_TCP_ESTABLISHED)
            pn_tcp_keepalive_reset(s, t);
        return 0;
    case PN_TCP_KEEPCNT:
        if (v < 1 || v > 127)
            return PN_EINVAL;
        t->keep_cnt = (uint32_t)v;
        return 0;
    case PN_TCP_USER_TIMEOUT:
        if (v < 0)
            return PN_EINVAL;
        t->user_timeout_ms = (uint32_t)v;
        return 0;
    case PN_TCP_MAXSEG:
        if (v != 0 && (v < 88 || v > 65495))
            return PN_EINVAL;
        t->user_mss = (uint16_t)v;
        return 0;
    case PN_SO_RCVBUF:
    case PN_SO_SNDBUF: {
        if (v < 0)
            return PN_EINVAL;
        uint32_t b = (uint32_t)PN_MAX(v, 4096);
        if (b > (64u << 20))
            b = 64u << 20;
        if (opt == PN_SO_RCVBUF) {
            t->rcvbuf_limit = b;
            t->flags |= TF_RCVBUF_LOCK;
            sk->rcvbuf = b;
        } else {
            if (b < t->sq.bytes)
                return PN_EINVAL; /* cannot shrink below what is queued */
            t->sndbuf_limit = b;
            t->flags |= TF_SNDBUF_LOCK;
            sk->sndbuf = b;
        }
        return 0;
    }
    default:
        return PN_ENOPROTOOPT;
    }
}

static int tcp_getsockopt(struct pn_socket *sk, enum pn_sockopt opt, void *val, size_t *len)
{
    struct pn_tcb *t = tcb(sk);
    switch (opt) {
    case PN_TCP_NODELAY:
        return put_int(val, len, !!(t->flags & TF_NODELAY));
    case PN_SO_KEEPALIVE:
        return put_int(val, len, !!(t->flags & TF_KEEPALIVE));
    case PN_TCP_KEEPIDLE:
        return put_int(val, len, (int)t->keep_idle_s);
    case PN_TCP_KEEPINTVL:
        return put_int(val, len, (int)t->keep_intvl_s);
    case PN_TCP_KEEPCNT:
        return put_int(val, len, (int)t->keep_cnt);
    case PN_TCP_USER_TIMEOUT:
        return put_int(val, len, (int)t->user_timeout_ms);
    case PN_TCP_MAXSEG:
        return put_int(val, len, t->mss ? t->mss : (t->user_mss ? t->user_mss : PN_TCP_DEFAULT_MSS));
    case PN_SO_RCVBUF:
        return put_int(val, len, (int)t->rcvbuf_limit);
    case PN_SO_SNDBUF:
        return put_int(val, len, (int)t->sndbuf_limit);
    case PN_SO_LINGER: {
        struct pn_linger l = {t->linger_s >= 0, t->linger_s >= 0 ? t->linger_s : 0};
        if (!val || !len || *len < sizeof(l))
            return PN_EINVAL;
        memcpy(val, &l, sizeof(l));
        *len = sizeof(l);
        return 0;
    }
    case PN_TCP_CONGESTION: {
        size_t n = strlen(t->cc->name) + 1;
        if (!val || !len || *len < n)
            return PN_EINVAL;
        memcpy(val, t->cc->name, n);
        *len = n;
        return 0;
    }
    default:
        return PN_ENOPROTOOPT;
    }
}

static const struct pn_socket_ops tcp_ops = {
    .bind = tcp_bind,
    .connect = tcp_connect,
    .listen = tcp_listen,
    .accept = tcp_accept,
    .sendto = tcp_sendto,
    .recvfrom = tcp_recvfrom,
    .shutdown = tcp_shutdown,
    .close = tcp_close,
    .setsockopt = tcp_setsockopt,
    .getsockopt = tcp_getsockopt,
};

/* Gives a TCB its socket handle (new sockets, and children at accept). */
static void init_handle(struct pn_stack *s, struct pn_tcb *t)
{
    pn_socket_init_common(&t->sk, s, PN_SOCK_STREAM, &tcp_ops);
    t->sk.rcvbuf = t->rcvbuf_limit;
    t->sk.sndbuf = t->sndbuf_limit;
    t->flags &= ~TF_ORPHAN;
}

int pn_tcp_socket_new(struct pn_stack *s, struct pn_socket **out)
{
    struct pn_tcb *t = pn_tcb_new(s);
    if (!t)
        return PN_ENOMEM;
    init_handle(s, t);
    *out = &t->sk;
    return 0;
}

int pn_tcp_get_info(const struct pn_socket *sk, struct pn_tcp_info *out)
{
    if (!sk || !out)
        return PN_EINVAL;
    if (sk->type != PN_SOCK_STREAM)
        return PN_ENOTSUP;
    const struct pn_tcb *t = (const struct pn_tcb *)sk;
    memset(out, 0, sizeof(*out));
    out->state = t->state;
    out->rtt_us = t->srtt_us;
    out->rttvar_us = t->rttvar_us;
    out->rto_us = t->rto_us;
    out->snd_mss = t->mss;
    out->rcv_mss = t->adv_mss;
    out->cwnd = t->cwnd;
    out->ssthresh = t->ssthresh;
    out->snd_wnd = t->snd_wnd;
    out->rcv_wnd = t->rcv_adv - t->rcv_nxt;
    out->snd_wscale = t->snd_wscale;
    out->rcv_wscale = t->rcv_wscale;
    out->ts_ok = t->ts_ok;
    out->sack_ok = t->sack_ok;
    out->ws_ok = t->ws_ok;
    out->retransmits = t->backoff;
    out->total_retrans = t->total_retrans;
    out->bytes_acked = t->bytes_acked;
    out->bytes_received = t->bytes_received;
    out->segs_out = t->segs_out;
    out->segs_in = t->segs_in;
    out->unacked = t->snd_max - t->snd_una;
    strncpy(out->cc, t->cc->name, sizeof(out->cc) - 1);
    return 0;
}

/* ---- buffer auto-tuning ---- */

uint8_t pn_tcp_conn_wscale(const struct pn_stack *s, const struct pn_tcb *t)
{
    uint32_t b = t->rcvbuf_limit;
    if (s->cfg.tcp_autotune && !(t->flags & TF_RCVBUF_LOCK) && s->cfg.tcp_rcvbuf_max > b)
        b = s->cfg.tcp_rcvbuf_max;
    return pn_tcp_pick_wscale(b);
}

void pn_tcp_autotune_read(struct pn_stack *s, struct pn_tcb *t, uint32_t n)
{
    /* Dynamic right-sizing (as in Linux's tcp_rcv_space_adjust, after Fisk & Feng): once
     * per receiver RTT, see how much the application drained; a window of twice that keeps
     * the sender from being limited by us. It only grows, bounded by tcp_rcvbuf_max. */
    if (!s->cfg.tcp_autotune || (t->flags & TF_RCVBUF_LOCK))
        return;
    t->drs_copied += n;
    uint64_t rtt = t->rcv_rtt_us ? t->rcv_rtt_us : t->srtt_us;
    if (rtt == 0)
        return;
    if (t->drs_time == 0) {
        t->drs_time = s->now;
        t->drs_copied = n;
        return;
    }
    if (s->now - t->drs_time < rtt * 1000u)
        return;
    uint64_t want = 2 * t->drs_copied + 16u * t->adv_mss;
    if (want > s->cfg.tcp_rcvbuf_max)
        want = s->cfg.tcp_rcvbuf_max;
    if (want > t->rcvbuf_limit) {
        t->rcvbuf_limit = (uint32_t)want;
        t->sk.rcvbuf = t->rcvbuf_limit;
    }
    t->drs_time = s->now;
    t->drs_copied = 0;
}

void pn_tcp_autotune_send(struct pn_stack *s, struct pn_tcb *t)
{
    /* The send buffer must hold what is in flight plus the next window: 2 * cwnd, as
     * Linux's tcp_sndbuf_expand does; bounded by tcp_sndbuf_max. */
    if (!s->cfg.tcp_autotune || (t->flags & TF_SNDBUF_LOCK))
        return;
    uint64_t want = 2ull * t->cwnd;
    if (want > s->cfg.tcp_sndbuf_max)
        want = s->cfg.tcp_sndbuf_max;
    if (want > t->sndbuf_limit) {
        t->sndbuf_limit = (uint32_t)want;
        t->sk.sndbuf = t->sndbuf_limit;
    }
}

uint16_t pn_tcp_adv_mss(const struct pn_stack *s, const struct pn_tcb *t)
{
    uint32_t mss = s->iface.mtu - 40u;
    if (t->user_mss && t->user_mss < mss)
        mss = t->user_mss;
    return (uint16_t)mss;
}
