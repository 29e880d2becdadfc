/* tests/packetdrill/adapter.c — libplebnet-packetdrill.so: runs one plebnet stack under
 * packetdrill's shared-object mode (packetdrill --so_filename=... --so_flags=...).
 * Call chain: packetdrill -> packetdrill_interface_init -> ifc.{socket,...,netdev_send,
 * netdev_receive,usleep,gettimeofday} -> pn_* API / pn_stack_poll on a virtual clock.
 *
 * Threads: packetdrill calls in from its main thread and from one system-call thread
 * (for calls the script marks as blocking, "+0...0.2 accept(...)"). It decides that a
 * call "blocked" by reading the thread's state in /proc (S = sleeping), so a blocking
 * call here really sleeps on a condition variable until another thread's netdev_send,
 * usleep or gettimeofday moves the stack on. One mutex guards everything below.
 *
 * Clock: virtual, in nanoseconds. usleep(us) advances it by exactly us (stepping through
 * every timer due on the way, so segments carry the time they were really sent);
 * gettimeofday advances it by 1 us (packetdrill spins on it for the last microseconds
 * before an event). A thread blocked in here while nobody else has called in for 50 ms of
 * real time (the script ended, or a call the script did not mark blocking blocks) moves
 * the clock to the stack's next deadline itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "plebnet/errors.h"
#include "plebnet/link.h"
#include "plebnet/pbuf.h"
#include "plebnet/socket.h"
#include "plebnet/stack.h"

#include "pd_interface.h"

/* ---- state ---- */

#define PD_MAX_FD 1024
#define PD_EPOLL_MAX 64
#define PD_STALL_NS 50000000ull  /* real time without any other caller before a waiter drives */
#define PD_GIVEUP_NS PN_SEC(300) /* virtual time netdev_receive waits for a packet */

struct pd_pkt {
    struct pd_pkt *next;
    uint64_t time; /* virtual ns */
    size_t len;
    uint8_t data[];
};

struct pd_epitem {
    int fd;
    uint32_t events;
    epoll_data_t data;
    bool disabled;    /* EPOLLONESHOT fired */
    uint32_t seen;    /* EPOLLET: bits already reported and still set */
    uint64_t rx_seen; /* EPOLLET: bytes received by the last report */
};

enum pd_kind { PD_NONE, PD_SOCK, PD_EPOLL };

struct pd_fd {
    enum pd_kind kind;
    struct pn_socket *sk;
    bool nonblock;
    int type; /* SOCK_STREAM / SOCK_DGRAM */
    struct pd_epitem *ep;
    int nep;
};

struct pd_link {
    struct pn_link link; /* must be first */
    struct pd *pd;
};

struct pd {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* stack state changed (waiters re-check) */
    pthread_cond_t settled; /* a woken waiter left, or called gettimeofday */
    struct pd_link link;
    struct pn_stack *stack;
    uint64_t now;      /* virtual ns */
    uint64_t activity; /* bumped by every call that drives the stack */
    struct pd_waiter *waiters;
    int nready_pending;
    struct pd_pkt *in_head, **in_tail;   /* from packetdrill, for rx_burst */
    struct pd_pkt *out_head, **out_tail; /* from tx_burst, for netdev_receive */
    struct pd_fd fds[PD_MAX_FD];
    ino_t ino[PD_MAX_FD]; /* inode of each placeholder */
    struct pn_mac mac, peer_mac;
    uint32_t addr, peer;
    char cc[16];
    bool verbose;
};

/* Set on a thread that returned from a real wait until it next calls gettimeofday
 * (packetdrill reads the end time of a blocking call right after it returns). */
static _Thread_local bool tls_end_pending;

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void abs_real_in(struct timespec *ts, uint64_t ns)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ns += (uint64_t)ts->tv_nsec;
    ts->tv_sec += (time_t)(ns / 1000000000ull);
    ts->tv_nsec = (long)(ns % 1000000000ull);
}

/* PN_E* -> Linux errno (the adapter runs on Linux; <errno.h> gives Linux's values). */
static int pd_errno(long err)
{
    switch (err) {
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
    default:
        return EIO;
    }
}

static long fail(int e)
{
    errno = e;
    return -1;
}

static long fail_pn(long err)
{
    return fail(pd_errno(err));
}

/* ---- the link: packetdrill speaks IPv4 datagrams, the stack Ethernet frames ---- */

static int pd_link_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                      uint64_t now)
{
    struct pd *pd = ((struct pd_link *)l)->pd;
    int n = 0;
    while (n < max && pd->in_head) {
        struct pd_pkt *k = pd->in_head;
        struct pn_pbuf *p = pn_pbuf_alloc(pool, PN_PBUF_HEADROOM, (uint32_t)k->len + 14);
        if (!p)
            break;
        memcpy(p->data, pd->mac.b, 6);
        memcpy(p->data + 6, pd->peer_mac.b, 6);
        p->data[12] = 0x08;
        p->data[13] = 0x00;
        memcpy(p->data + 14, k->data, k->len);
        pd->in_head = k->next;
        if (!pd->in_head)
            pd->in_tail = &pd->in_head;
        free(k);
        l->counters.rx_frames++;
        out[n++] = p;
    }
    return n;
}

static int pd_link_tx(struct pn_link *l, struct pn_pbuf **frames, int n, uint64_t now)
{
    struct pd *pd = ((struct pd_link *)l)->pd;
    for (int i = 0; i < n; i++) {
        struct pn_pbuf *p = frames[i];
        /* Only IPv4 goes to packetdrill (the remote has a static ARP entry). */
        if (p->len > 14 && p->data[12] == 0x08 && p->data[13] == 0x00) {
            struct pd_pkt *k = malloc(sizeof(*k) + p->len - 14);
            if (k) {
                k->next = NULL;
                k->time = now;
                k->len = p->len - 14;
                memcpy(k->data, p->data + 14, k->len);
                *pd->out_tail = k;
                pd->out_tail = &k->next;
                l->counters.tx_frames++;
            }
        }
        pn_pbuf_free(p);
    }
    return n;
}

static uint64_t pd_link_deadline(struct pn_link *l)
{
    return ((struct pd_link *)l)->pd->in_head ? 0 : PN_TIME_NEVER;
}

static const struct pn_link_ops pd_link_ops = {
    .name = "packetdrill",
    .rx_burst = pd_link_rx,
    .tx_burst = pd_link_tx,
    .next_deadline = pd_link_deadline,
};

/* ---- clock ---- */

/* Runs the stack at pd->now and wakes waiters. */
static void pd_poll(struct pd *pd)
{
    pn_stack_poll(pd->stack, pd->now);
    pthread_cond_broadcast(&pd->cv);
}

/* A thread sleeping in pd_wait. */
struct pd_waiter {
    struct pd_waiter *next;
    bool (*ready)(struct pd *pd, void *arg);
    void *arg;
    uint64_t vdeadline;
};

/* True if some sleeping waiter can now return (its condition holds or its time is up). */
static bool pd_any_ready(struct pd *pd)
{
    for (struct pd_waiter *w = pd->waiters; w; w = w->next)
        if (pd->now >= w->vdeadline || w->ready(pd, w->arg))
            return true;
    return false;
}

static void pd_settle(struct pd *pd);

/* The earliest of the stack's next deadline and any waiter's timeout after now. */
static uint64_t pd_next_stop(struct pd *pd)
{
    uint64_t d = pn_stack_next_deadline(pd->stack);
    for (struct pd_waiter *w = pd->waiters; w; w = w->next)
        if (w->vdeadline > pd->now && w->vdeadline < d)
            d = w->vdeadline;
    return d;
}

/* Moves the clock to `to`, stopping at every timer due on the way. With `settle` (the
 * caller is not itself waiting), a call woken at a stop returns and reads its end time
 * before the clock moves on. */
static void pd_advance_to(struct pd *pd, uint64_t to, bool settle)
{
    for (int guard = 0; guard < 100000; guard++) {
        uint64_t d = pd_next_stop(pd);
        if (d > to)
            break;
        if (d > pd->now)
            pd->now = d;
        pd_poll(pd);
        if (settle && pd_any_ready(pd))
            pd_settle(pd);
        if (pd_next_stop(pd) <= pd->now)
            break; /* still "due now": the final poll below gets it */
    }
    if (to > pd->now)
        pd->now = to;
    pd_poll(pd);
}

static void pd_advance(struct pd *pd, uint64_t to)
{
    pd_advance_to(pd, to, true);
}

/* Called by a thread that drove the stack: lets woken waiters return and read their end
 * time before this thread moves the clock further (bounded by 100 ms of real time). */
static void pd_settle(struct pd *pd)
{
    if (tls_end_pending) {
        tls_end_pending = false;
        pd->nready_pending--;
    }
    uint64_t until = real_ns() + 100000000ull;
    while ((pd->nready_pending > 0 || pd_any_ready(pd)) && real_ns() < until) {
        struct timespec ts;
        abs_real_in(&ts, 1000000ull);
        pthread_cond_broadcast(&pd->cv);
        pthread_cond_timedwait(&pd->settled, &pd->mu, &ts);
    }
}

typedef bool (*pd_ready_fn)(struct pd *pd, void *arg);

/* "verbose" flag: one line per connection whenever a waiter wakes. */
static void pd_debug_state(struct pd *pd)
{
    for (int fd = 0; fd < PD_MAX_FD; fd++) {
        struct pn_tcp_info ti;
        if (pd->fds[fd].kind != PD_SOCK || pn_tcp_get_info(pd->fds[fd].sk, &ti) < 0)
            continue;
        fprintf(stderr,
                "plebnet-packetdrill: %.6f fd %d %s ev %#x rtt %u rttvar %u rto %u "
                "cwnd %u unacked %u snd_wnd %u acked %llu out %llu\n",
                (double)pd->now / 1e9, fd, pn_tcp_state_name(ti.state),
                pn_socket_events(pd->fds[fd].sk), ti.rtt_us, ti.rttvar_us, ti.rto_us, ti.cwnd,
                ti.unacked, ti.snd_wnd, (unsigned long long)ti.bytes_acked,
                (unsigned long long)ti.segs_out);
    }
}

static void pd_enter(struct pd *pd)
{
    pthread_mutex_lock(&pd->mu);
    pd->activity++;
}

static void pd_leave(struct pd *pd)
{
    pthread_mutex_unlock(&pd->mu);
}

/* Sleeps until ready() or the virtual clock reaches vdeadline (PN_TIME_NEVER: no limit).
 * Returns true if ready. Called with pd->mu held. */
static bool pd_wait(struct pd *pd, pd_ready_fn ready, void *arg, uint64_t vdeadline)
{
    bool slept = false, ok;
    struct pd_waiter me = {pd->waiters, ready, arg, vdeadline};
    pd->waiters = &me;
    uint64_t act = pd->activity, quiet_since = real_ns();
    for (;;) {
        if ((ok = ready(pd, arg)))
            break;
        if (pd->now >= vdeadline)
            break;
        slept = true;
        struct timespec ts;
        abs_real_in(&ts, PD_STALL_NS);
        pthread_cond_timedwait(&pd->cv, &pd->mu, &ts);
        if (pd->verbose)
            pd_debug_state(pd);
        if (pd->activity != act) {
            act = pd->activity;
            quiet_since = real_ns();
        } else if (real_ns() - quiet_since >= PD_STALL_NS && !ready(pd, arg)) {
            /* Nobody else drives the clock: move to the next timer ourselves. */
            uint64_t d = pn_stack_next_deadline(pd->stack);
            if (vdeadline < d)
                d = vdeadline;
            if (d != PN_TIME_NEVER)
                pd_advance_to(pd, d > pd->now ? d : pd->now, false);
            quiet_since = real_ns();
        }
    }
    struct pd_waiter **pp = &pd->waiters;
    while (*pp != &me)
        pp = &(*pp)->next;
    *pp = me.next;
    if (slept && !tls_end_pending) {
        tls_end_pending = true;
        pd->nready_pending++;
    }
    pthread_cond_broadcast(&pd->settled);
    return ok;
}

/* ---- fds ---- */

static struct pd_fd *pd_sock(struct pd *pd, int fd)
{
    if (fd < 0 || fd >= PD_MAX_FD || pd->fds[fd].kind != PD_SOCK)
        return NULL;
    return &pd->fds[fd];
}

/* A real host descriptor as the socket's number: packetdrill closes leftovers with libc
 * close(). A memfd has an inode of its own, so pd_free can tell whether the number still
 * names our placeholder or was closed by packetdrill and reused. */
static int pd_new_fd(struct pd *pd)
{
    int fd = memfd_create("plebnet-packetdrill", MFD_CLOEXEC);
    if (fd < 0)
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fd >= PD_MAX_FD) {
        close(fd);
        errno = EMFILE;
        return -1;
    }
    struct stat st;
    memset(&pd->fds[fd], 0, sizeof(pd->fds[fd]));
    pd->ino[fd] = fstat(fd, &st) == 0 ? st.st_ino : 0;
    return fd;
}

/* True if fd still is the placeholder pd_new_fd made. */
static bool pd_fd_ours(struct pd *pd, int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && pd->ino[fd] && st.st_ino == pd->ino[fd];
}

static unsigned pd_sock_events(struct pd_fd *f)
{
    return pn_socket_events(f->sk);
}

struct ev_arg {
    struct pd_fd *f;
    unsigned mask;
};

static bool ready_events(struct pd *pd, void *arg)
{
    struct ev_arg *a = arg;
    return (pd_sock_events(a->f) & a->mask) != 0;
}

static bool pd_block(struct pd *pd, struct pd_fd *f, unsigned mask)
{
    struct ev_arg a = {f, mask};
    return pd_wait(pd, ready_events, &a, PN_TIME_NEVER);
}

static int sa_to_ep(const struct sockaddr *sa, socklen_t len, struct pn_endpoint *ep)
{
    if (!sa || len < (socklen_t)sizeof(sa_family_t))
        return -EINVAL;
    if (sa->sa_family == AF_UNSPEC) {
        ep->addr = 0;
        ep->port = 0;
        return 0;
    }
    if (sa->sa_family != AF_INET)
        return -EAFNOSUPPORT;
    if (len < (socklen_t)sizeof(struct sockaddr_in))
        return -EINVAL;
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    ep->addr = ntohl(in->sin_addr.s_addr);
    ep->port = ntohs(in->sin_port);
    return 0;
}

static void ep_to_sa(const struct pn_endpoint *ep, struct sockaddr *sa, socklen_t *len)
{
    if (!sa || !len)
        return;
    struct sockaddr_in in = {
        .sin_family = AF_INET, .sin_port = htons(ep->port), .sin_addr.s_addr = htonl(ep->addr)};
    socklen_t n = *len < (socklen_t)sizeof(in) ? *len : (socklen_t)sizeof(in);
    memcpy(sa, &in, n);
    *len = sizeof(in);
}

/* ---- socket calls ---- */

static void pd_sock_defaults(struct pd *pd, struct pn_socket *sk)
{
    if (pd->cc[0])
        pn_setsockopt(sk, PN_TCP_CONGESTION, pd->cc, strlen(pd->cc));
}

static int pd_socket(void *u, int domain, int type, int protocol)
{
    struct pd *pd = u;
    int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (domain != AF_INET)
        return (int)fail(EAFNOSUPPORT);
    enum pn_sock_type t;
    if (base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP))
        t = PN_SOCK_STREAM;
    else if (base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP))
        t = PN_SOCK_DGRAM;
    else if (base == SOCK_STREAM || base == SOCK_DGRAM)
        return (int)fail(EPROTONOSUPPORT);
    else
        return (int)fail(ESOCKTNOSUPPORT);
    pd_enter(pd);
    struct pn_socket *sk;
    int err = pn_socket(pd->stack, t, &sk), fd = -1;
    if (err < 0) {
        errno = pd_errno(err);
    } else if ((fd = pd_new_fd(pd)) < 0) {
        pn_close(sk);
    } else {
        pd->fds[fd] = (struct pd_fd){
            .kind = PD_SOCK, .sk = sk, .nonblock = (type & SOCK_NONBLOCK) != 0, .type = base};
        if (t == PN_SOCK_STREAM)
            pd_sock_defaults(pd, sk);
    }
    pd_leave(pd);
    return fd;
}

static int pd_bind(void *u, int fd, const struct sockaddr *addr, socklen_t len)
{
    struct pd *pd = u;
    struct pn_endpoint ep;
    int e = sa_to_ep(addr, len, &ep), ret = 0;
    if (e < 0)
        return (int)fail(-e);
    pd_enter(pd);
    struct pd_fd *f = pd_sock(pd, fd);
    if (!f)
        ret = (int)fail(EBADF);
    else if ((e = pn_bind(f->sk, &ep)) < 0)
        ret = (int)fail_pn(e);
    pd_leave(pd);
    return ret;
}

static int pd_listen(void *u, int fd, int backlog)
{
    struct pd *pd = u;
    int ret = 0, e;
    pd_enter(pd);
    struct pd_fd *f = pd_sock(pd, fd);
    if (!f)
        ret = (int)fail(EBADF);
    else if (f->type != SOCK_STREAM)
        ret = (int)fail(EOPNOTSUPP);
    /* Linux clamps the backlog and accepts 0 (then one connection is queued). */
    else if ((e = pn_listen(f->sk, backlog < 1 ? 1 : backlog)) < 0)
        ret = (int)fail_pn(e);
    pd_poll(pd);
    pd_leave(pd);
    return ret;
}

static int pd_accept(void *u, int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    struct pd *pd = u;
    int ret;
    pd_enter(pd);
    for (;;) {
        struct pd_fd *f = pd_sock(pd, fd);
        if (!f) {
            ret = (int)fail(EBADF);
            break;
        }
        struct pn_socket *c;
        struct pn_endpoint peer;
        int e = pn_accept(f->sk, &c, &peer);
        if (e == PN_EAGAIN && !f->nonblock) {
            pd_block(pd, f, PN_EV_IN | PN_EV_ERR | PN_EV_HUP);
            continue;
        }
        if (e < 0) {
            ret = (int)fail_pn(e);
            break;
        }
        ret = pd_new_fd(pd);
        if (ret < 0) {
            pn_close(c);
            break;
        }
        pd->fds[ret] = (struct pd_fd){.kind = PD_SOCK, .sk = c, .type = SOCK_STREAM};
        ep_to_sa(&peer, addr, addrlen);
        break;
    }
    pd_leave(pd);
    return ret;
}

static int pd_so_error(struct pd_fd *f)
{
    int v = 0;
    size_t n = sizeof(v);
    if (pn_getsockopt(f->sk, PN_SO_ERROR, &v, &n) < 0)
        return 0;
    return v;
}

static int pd_connect(void *u, int fd, const struct sockaddr *addr, socklen_t len)
{
    struct pd *pd = u;
    struct pn_endpoint ep;
    int e = sa_to_ep(addr, len, &ep), ret = 0;
    if (e < 0)
        return (int)fail(-e);
    pd_enter(pd);
    struct pd_fd *f = pd_sock(pd, fd);
    if (!f) {
        ret = (int)fail(EBADF);
    } else if ((e = pn_connect(f->sk, &ep)) == PN_EINPROGRESS) {
        pd_poll(pd); /* the SYN leaves now */
        if (f->nonblock) {
            ret = (int)fail(EINPROGRESS);
        } else {
            pd_block(pd, f, PN_EV_OUT | PN_EV_ERR | PN_EV_HUP);
            int se = pd_so_error(f);
            if (se < 0)
                ret = (int)fail_pn(se);
        }
    } else if (e < 0) {
        ret = (int)fail_pn(e);
    } else {
        pd_poll(pd);
    }
    pd_leave(pd);
    return ret;
}

static bool pd_dontwait(struct pd_fd *f, int flags)
{
    return f->nonblock || (flags & MSG_DONTWAIT);
}

static ssize_t pd_do_recv(struct pd *pd, int fd, void *buf, size_t len, int flags,
                          struct sockaddr *src, socklen_t *srclen)
{
    if (!buf && len)
        return fail(EFAULT); /* Linux: copy_to_user faults */
    ssize_t ret;
    pd_enter(pd);
    for (;;) {
        struct pd_fd *f = pd_sock(pd, fd);
        if (!f) {
            ret = fail(EBADF);
            break;
        }
        int pf = 0;
        if (flags & MSG_PEEK)
            pf |= PN_MSG_PEEK;
        if (flags & MSG_TRUNC)
            pf |= PN_MSG_TRUNC;
        struct pn_endpoint from = {0, 0};
        long n = pn_recvfrom(f->sk, buf, len, pf, &from);
        if (n == PN_EAGAIN && !pd_dontwait(f, flags)) {
            pd_block(pd, f, PN_EV_IN | PN_EV_ERR | PN_EV_HUP | PN_EV_RDHUP);
            continue;
        }
        if (n < 0) {
            ret = fail_pn(n);
            break;
        }
        if (src)
            ep_to_sa(&from, src, srclen);
        ret = n;
        pd_poll(pd); /* a window update may be due */
        break;
    }
    pd_leave(pd);
    return ret;
}

static ssize_t pd_do_send(struct pd *pd, int fd, const void *buf, size_t len, int flags,
                          const struct sockaddr *dst, socklen_t dstlen)
{
    if (!buf && len)
        return fail(EFAULT); /* Linux: copy_from_user faults */
    struct pn_endpoint ep, *epp = NULL;
    if (dst) {
        int e = sa_to_ep(dst, dstlen, &ep);
        if (e < 0)
            return fail(-e);
        epp = &ep;
    }
    ssize_t ret;
    size_t done = 0;
    int pf = (flags & MSG_MORE) ? PN_MSG_MORE : 0;
    pd_enter(pd);
    for (;;) {
        struct pd_fd *f = pd_sock(pd, fd);
        if (!f) {
            ret = fail(EBADF);
            break;
        }
        long n = pn_sendto(f->sk, (const uint8_t *)buf + done, len - done, pf, epp);
        if (pd->verbose)
            fprintf(stderr, "plebnet-packetdrill: send %zu -> %ld (events %#x)\n", len - done, n,
                    pn_socket_events(f->sk));
        if (n >= 0)
            done += (size_t)n;
        if (n > 0)
            pd_poll(pd);
        /* A blocking stream send returns only when everything is queued (Linux). */
        if ((n >= 0 && done < len && f->type == SOCK_STREAM) || n == PN_EAGAIN) {
            if (pd_dontwait(f, flags)) {
                ret = done ? (ssize_t)done : fail(EAGAIN);
                break;
            }
            pd_block(pd, f, PN_EV_OUT | PN_EV_ERR | PN_EV_HUP);
            continue;
        }
        if (n < 0) {
            ret = done ? (ssize_t)done : fail_pn(n);
            break;
        }
        ret = (ssize_t)done;
        break;
    }
    pd_leave(pd);
    return ret;
}

/* Gathers/scatters through a temporary buffer. */
static size_t iov_total(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

static ssize_t pd_recvmsg(void *u, int fd, struct msghdr *msg, int flags)
{
    struct pd *pd = u;
    if (!msg || msg->msg_iovlen > 1024)
        return fail(EINVAL);
    size_t total = iov_total(msg->msg_iov, (int)msg->msg_iovlen);
    uint8_t *tmp = malloc(total ? total : 1);
    if (!tmp)
        return fail(ENOMEM);
    socklen_t nl = msg->msg_namelen;
    ssize_t n = pd_do_recv(pd, fd, tmp, total, flags, msg->msg_name, msg->msg_name ? &nl : NULL);
    if (n >= 0) {
        size_t off = 0, left = (size_t)n < total ? (size_t)n : total;
        for (size_t i = 0; i < msg->msg_iovlen && left; i++) {
            size_t c = msg->msg_iov[i].iov_len < left ? msg->msg_iov[i].iov_len : left;
            memcpy(msg->msg_iov[i].iov_base, tmp + off, c);
            off += c;
            left -= c;
        }
        if (msg->msg_name)
            msg->msg_namelen = nl;
        msg->msg_controllen = 0;
        msg->msg_flags = 0;
    }
    free(tmp);
    return n;
}

static ssize_t pd_sendmsg(void *u, int fd, const struct msghdr *msg, int flags)
{
    struct pd *pd = u;
    if (!msg || msg->msg_iovlen > 1024)
        return fail(EINVAL);
    size_t total = iov_total(msg->msg_iov, (int)msg->msg_iovlen), off = 0;
    uint8_t *tmp = malloc(total ? total : 1);
    if (!tmp)
        return fail(ENOMEM);
    for (size_t i = 0; i < msg->msg_iovlen; i++) {
        memcpy(tmp + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
        off += msg->msg_iov[i].iov_len;
    }
    ssize_t n = pd_do_send(pd, fd, tmp, total, flags, msg->msg_name, msg->msg_namelen);
    free(tmp);
    return n;
}

static bool pd_is_ours(struct pd *pd, int fd)
{
    pthread_mutex_lock(&pd->mu);
    bool r = fd >= 0 && fd < PD_MAX_FD && pd->fds[fd].kind != PD_NONE;
    pthread_mutex_unlock(&pd->mu);
    return r;
}

static ssize_t pd_read(void *u, int fd, void *buf, size_t n)
{
    if (!pd_is_ours(u, fd))
        return read(fd, buf, n); /* a pipe from pd_pipe */
    return pd_do_recv(u, fd, buf, n, 0, NULL, NULL);
}

static ssize_t pd_readv(void *u, int fd, const struct iovec *iov, int cnt)
{
    if (!pd_is_ours(u, fd))
        return readv(fd, iov, cnt);
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)(cnt < 0 ? 0 : cnt)};
    return pd_recvmsg(u, fd, &m, 0);
}

static ssize_t pd_recv(void *u, int fd, void *buf, size_t n, int flags)
{
    return pd_do_recv(u, fd, buf, n, flags, NULL, NULL);
}

static ssize_t pd_recvfrom(void *u, int fd, void *buf, size_t n, int flags, struct sockaddr *src,
                           socklen_t *srclen)
{
    return pd_do_recv(u, fd, buf, n, flags, src, srclen);
}

static ssize_t pd_write(void *u, int fd, const void *buf, size_t n)
{
    if (!pd_is_ours(u, fd))
        return write(fd, buf, n);
    return pd_do_send(u, fd, buf, n, 0, NULL, 0);
}

static ssize_t pd_writev(void *u, int fd, const struct iovec *iov, int cnt)
{
    if (!pd_is_ours(u, fd))
        return writev(fd, iov, cnt);
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)(cnt < 0 ? 0 : cnt)};
    return pd_sendmsg(u, fd, &m, 0);
}

static ssize_t pd_send(void *u, int fd, const void *buf, size_t n, int flags)
{
    return pd_do_send(u, fd, buf, n, flags, NULL, 0);
}

static ssize_t pd_sendto(void *u, int fd, const void *buf, size_t n, int flags,
                         const struct sockaddr *dst, socklen_t dstlen)
{
    return pd_do_send(u, fd, buf, n, flags, dst, dstlen);
}

static int pd_fcntl(void *u, int fd, int cmd, ...)
{
    struct pd *pd = u;
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    if (!pd_is_ours(pd, fd))
        return fcntl(fd, cmd, arg);
    int ret;
    pd_enter(pd);
    struct pd_fd *f = &pd->fds[fd];
    switch (cmd) {
    case F_GETFL:
        ret = O_RDWR | (f->nonblock ? O_NONBLOCK : 0);
        break;
    case F_SETFL:
        f->nonblock = (arg & O_NONBLOCK) != 0;
        ret = 0;
        break;
    case F_GETFD:
    case F_SETFD:
        ret = fcntl(fd, cmd, arg);
        break;
    default:
        ret = (int)fail(ENOSYS);
    }
    pd_leave(pd);
    return ret;
}

static int pd_ioctl(void *u, int fd, unsigned long req, ...)
{
    struct pd *pd = u;
    va_list ap;
    va_start(ap, req);
    int *argp = va_arg(ap, int *);
    va_end(ap);
    if (!pd_is_ours(pd, fd))
        return (int)fail(ENOSYS);
    int ret = 0;
    pd_enter(pd);
    struct pd_fd *f = pd_sock(pd, fd);
    if (!f) {
        ret = (int)fail(EBADF);
    } else if (req == FIONBIO) {
        f->nonblock = argp && *argp;
    } else if (req == FIONREAD) {
        /* Unread bytes: peek into a scratch buffer (the API has no direct query). */
        static const size_t cap = 1u << 20;
        void *tmp = malloc(cap);
        long n = tmp ? pn_recv(f->sk, tmp, cap, PN_MSG_PEEK) : PN_ENOMEM;
        free(tmp);
        if (n == PN_EAGAIN || n == PN_ENOTCONN)
            n = 0;
        if (n < 0)
            ret = (int)fail_pn(n);
        else if (argp)
            *argp = (int)n;
    } else {
        ret = (int)fail(ENOSYS);
    }
    pd_leave(pd);
    return ret;
}

static void pd_forget(struct pd *pd, int fd)
{
    struct pd_fd *f = &pd->fds[fd];
    if (f->kind == PD_SOCK)
        pn_close(f->sk);
    free(f->ep);
    memset(f, 0, sizeof(*f));
}

static int pd_close(void *u, int fd)
{
    struct pd *pd = u;
    if (!pd_is_ours(pd, fd))
        return close(fd);
    pd_enter(pd);
    if (pd->verbose)
        pd_debug_state(pd);
    pd_forget(pd, fd);
    pd_poll(pd); /* FIN or RST leaves now */
    pd_leave(pd);
    return close(fd);
}

static int pd_shutdown(void *u, int fd, int how)
{
    struct pd *pd = u;
    int ret = 0, e;
    pd_enter(pd);
    struct pd_fd *f = pd_sock(pd, fd);
    if (!f)
        ret = (int)fail(EBADF);
    else if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        ret = (int)fail(EINVAL);
    else if ((e = pn_shutdown(f->sk, how == SHUT_RD   ? PN_SHUT_RD
                                     : how == SHUT_WR ? PN_SHUT_WR
                                                      : PN_SHUT_RDWR)) < 0)
        ret = (int)fail_pn(e);
    pd_poll(pd);
    pd_leave(pd);
    return ret;
}

/* Linux (level, optname) -> plebnet option; -1 if unknown. */
static int pd_optmap(int level, int name)
{
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_RCVBUF:
            return PN_SO_RCVBUF;
        case SO_SNDBUF:
            return PN_SO_SNDBUF;
        case SO_BROADCAST:
            return PN_SO_BROADCAST;
        case SO_REUSEADDR:
            return PN_SO_REUSEADDR;
        case SO_ERROR:
            return PN_SO_ERROR;
        case SO_TYPE:
            return PN_SO_TYPE;
        case SO_KEEPALIVE:
            return PN_SO_KEEPALIVE;
        case SO_LINGER:
            return PN_SO_LINGER;
        }
    } else if (level == IPPROTO_IP) {
        switch (name) {
        case IP_TTL:
            return PN_IP_TTL;
        case IP_TOS:
            return PN_IP_TOS;
        case IP_MTU_DISCOVER:
            return PN_IP_DONTFRAG; /* value mapped in pd_setsockopt */
        }
    } else if (level == IPPROTO_TCP) {
        switch (name) {
        case TCP_NODELAY:
            return PN_TCP_NODELAY;
        case TCP_MAXSEG:
            return PN_TCP_MAXSEG;
        case TCP_KEEPIDLE:
            return PN_TCP_KEEPIDLE;
        case TCP_KEEPINTVL:
            return PN_TCP_KEEPINTVL;
        case TCP_KEEPCNT:
            return PN_TCP_KEEPCNT;
        case TCP_USER_TIMEOUT:
            return PN_TCP_USER_TIMEOUT;
        case TCP_CONGESTION:
            return PN_TCP_CONGESTION;
        }
    }
    return -1;
}

static int pd_getsockopt(void *u, int fd, int level, int name, void *val, socklen_t *len)
{
    struct pd *pd = u;
    int ret = 0;
    pd_enter(pd);
    struct pd_fd *f = pd_sock(pd, fd);
    int opt = pd_optmap(level, name);
    if (!f) {
        ret = (int)fail(EBADF);
    } else if (opt < 0) {
        ret = (int)fail(ENOPROTOOPT);
    } else if (!val || !len) {
        ret = (int)fail(EFAULT);
    } else if (opt == PN_SO_LINGER) {
        struct pn_linger pl;
        size_t n = sizeof(pl);
        int e = pn_getsockopt(f->sk, PN_SO_LINGER, &pl, &n);
        struct linger l = {.l_onoff = pl.onoff, .l_linger = pl.seconds};
        if (e < 0) {
            ret = (int)fail_pn(e);
        } else {
            socklen_t c = *len < (socklen_t)sizeof(l) ? *len : (socklen_t)sizeof(l);
            memcpy(val, &l, c);
            *len = c;
        }
    } else if (opt == PN_TCP_CONGESTION) {
        char name_buf[32] = {0};
        size_t n = sizeof(name_buf);
        int e = pn_getsockopt(f->sk, PN_TCP_CONGESTION, name_buf, &n);
        if (e < 0) {
            ret = (int)fail_pn(e);
        } else {
            socklen_t c = *len < 16 ? *len : 16;
            memcpy(val, name_buf, c);
            *len = c;
        }
    } else {
        int v = 0;
        size_t n = sizeof(v);
        int e = pn_getsockopt(f->sk, (enum pn_sockopt)opt, &v, &n);
        if (e < 0) {
            ret = (int)fail_pn(e);
        } else {
            if (opt == PN_SO_ERROR)
                v = v < 0 ? pd_errno(v) : v; /* Linux reports a positive errno */
            else if (opt == PN_SO_TYPE)
                v = v == PN_SOCK_STREAM ? SOCK_STREAM : SOCK_DGRAM;
            socklen_t c = *len < (socklen_t)sizeof(v) ? *len : (socklen_t)sizeof(v);
            memcpy(val, &v, c);
            *len = c;
        }
    }
    pd_leave(pd);
    return ret;
}

static int pd_setsockopt(void *u, int fd, int level, int name, const void *val, socklen_t len)
{
    struct pd *pd = u;
    int ret = 0, e;
    pd_enter(pd);
    struct pd_fd *f = pd_sock(pd, fd);
    int opt = pd_optmap(level, name);
    if (!f) {
        ret = (int)fail(EBADF);
    } else if (opt < 0 || opt == PN_SO_ERROR || opt == PN_SO_TYPE) {
        ret = (int)fail(ENOPROTOOPT);
    } else if (!val) {
        ret = (int)fail(EFAULT);
    } else if (opt == PN_SO_LINGER) {
        struct linger l;
        if (len < (socklen_t)sizeof(l)) {
            ret = (int)fail(EINVAL);
        } else {
            memcpy(&l, val, sizeof(l));
            struct pn_linger pl = {.onoff = l.l_onoff, .seconds = l.l_linger};
            if ((e = pn_setsockopt(f->sk, PN_SO_LINGER, &pl, sizeof(pl))) < 0)
                ret = (int)fail_pn(e);
        }
    } else if (opt == PN_TCP_CONGESTION) {
        char nm[17] = {0};
        memcpy(nm, val, len < 16 ? len : 16);
        if ((e = pn_setsockopt(f->sk, PN_TCP_CONGESTION, nm, strlen(nm))) < 0)
            ret = (int)fail_pn(e);
    } else if (len < (socklen_t)sizeof(int) && (level != IPPROTO_IP || len < 1)) {
        ret = (int)fail(EINVAL);
    } else if (len < (socklen_t)sizeof(int) && level == IPPROTO_IP && len >= 1) {
        /* ip(7) options also take a one-byte value (Linux ip_setsockopt). */
        int v = *(const unsigned char *)val;
        if (name == IP_MTU_DISCOVER)
            v = v != IP_PMTUDISC_DONT;
        if ((e = pn_setsockopt(f->sk, (enum pn_sockopt)opt, &v, sizeof(v))) < 0)
            ret = (int)fail_pn(e);
    } else {
        int v;
        memcpy(&v, val, sizeof(v));
        if (level == IPPROTO_IP && name == IP_MTU_DISCOVER) /* ip(7): DONT -> DF clear */
            v = v != IP_PMTUDISC_DONT;
        /* socket(7): Linux doubles SO_SNDBUF/SO_RCVBUF (room for bookkeeping) and
         * getsockopt returns the doubled value; scripts check for it. */
        if ((opt == PN_SO_SNDBUF || opt == PN_SO_RCVBUF) && v > 0 && v < (1 << 30))
            v *= 2;
        if ((e = pn_setsockopt(f->sk, (enum pn_sockopt)opt, &v, sizeof(v))) < 0)
            ret = (int)fail_pn(e);
    }
    pd_poll(pd);
    pd_leave(pd);
    return ret;
}

/* Linux poll bits for a socket's readiness (tcp_poll: EOF reads as readable). */
static short pd_pollbits(unsigned ev)
{
    short r = 0;
    if (ev & (PN_EV_IN | PN_EV_RDHUP | PN_EV_HUP))
        r |= POLLIN | POLLRDNORM;
    if (ev & PN_EV_OUT)
        r |= POLLOUT | POLLWRNORM;
    if (ev & PN_EV_ERR)
        r |= POLLERR;
    if (ev & PN_EV_HUP)
        r |= POLLHUP;
    if (ev & PN_EV_RDHUP)
        r |= POLLRDHUP;
    return r;
}

struct poll_arg {
    struct pollfd *fds;
    nfds_t n;
    int nready;
};

static bool ready_poll(struct pd *pd, void *arg)
{
    struct poll_arg *a = arg;
    a->nready = 0;
    for (nfds_t i = 0; i < a->n; i++) {
        struct pollfd *p = &a->fds[i];
        p->revents = 0;
        if (p->fd < 0)
            continue;
        struct pd_fd *f = pd_sock(pd, p->fd);
        if (!f) {
            p->revents = POLLNVAL;
        } else {
            short b = pd_pollbits(pd_sock_events(f));
            p->revents = (short)(b & (p->events | POLLERR | POLLHUP));
        }
        if (p->revents)
            a->nready++;
    }
    return a->nready > 0;
}

static uint64_t pd_timeout_deadline(struct pd *pd, int timeout_ms)
{
    return timeout_ms < 0 ? PN_TIME_NEVER : pd->now + PN_MS(timeout_ms);
}

static int pd_pollfn(void *u, struct pollfd *fds, nfds_t n, int timeout)
{
    struct pd *pd = u;
    pd_enter(pd);
    struct poll_arg a = {fds, n, 0};
    pd_wait(pd, ready_poll, &a, pd_timeout_deadline(pd, timeout));
    ready_poll(pd, &a);
    pd_leave(pd);
    return a.nready;
}

/* ---- epoll (level-triggered; EPOLLET reported like level; EPOLLONESHOT honoured) ---- */

static int pd_epoll_create(void *u, int size)
{
    struct pd *pd = u;
    if (size <= 0)
        return (int)fail(EINVAL);
    pd_enter(pd);
    int fd = pd_new_fd(pd);
    if (fd >= 0)
        pd->fds[fd].kind = PD_EPOLL;
    pd_leave(pd);
    return fd;
}

static int pd_epoll_ctl(void *u, int epfd, int op, int fd, struct epoll_event *ev)
{
    struct pd *pd = u;
    int ret = 0;
    pd_enter(pd);
    struct pd_fd *e = (epfd >= 0 && epfd < PD_MAX_FD) ? &pd->fds[epfd] : NULL;
    int i = 0;
    if (!e || e->kind != PD_EPOLL) {
        ret = (int)fail(EBADF);
        goto out;
    }
    if (fd == epfd) {
        ret = (int)fail(EINVAL);
        goto out;
    }
    if (!pd_sock(pd, fd)) {
        ret = (int)fail(pd_is_ours(pd, fd) || fcntl(fd, F_GETFD) >= 0 ? EPERM : EBADF);
        goto out;
    }
    for (i = 0; i < e->nep && e->ep[i].fd != fd; i++)
        ;
    switch (op) {
    case EPOLL_CTL_ADD:
        if (i < e->nep) {
            ret = (int)fail(EEXIST);
            break;
        }
        if (!ev) {
            ret = (int)fail(EFAULT);
            break;
        }
        if (!e->ep && !(e->ep = calloc(PD_EPOLL_MAX, sizeof(*e->ep)))) {
            ret = (int)fail(ENOMEM);
            break;
        }
        if (e->nep == PD_EPOLL_MAX) {
            ret = (int)fail(ENOSPC);
            break;
        }
        e->ep[e->nep++] = (struct pd_epitem){.fd = fd, .events = ev->events, .data = ev->data};
        break;
    case EPOLL_CTL_MOD:
        if (i == e->nep) {
            ret = (int)fail(ENOENT);
            break;
        }
        if (!ev) {
            ret = (int)fail(EFAULT);
            break;
        }
        e->ep[i] = (struct pd_epitem){.fd = fd, .events = ev->events, .data = ev->data};
        break;
    case EPOLL_CTL_DEL:
        if (i == e->nep) {
            ret = (int)fail(ENOENT);
            break;
        }
        e->ep[i] = e->ep[--e->nep];
        break;
    default:
        ret = (int)fail(EINVAL);
    }
out:
    pd_leave(pd);
    return ret;
}

struct epoll_arg {
    struct pd_fd *e;
    struct epoll_event *out;
    int max, n;
    bool commit; /* the final scan: remember what EPOLLET reported */
};

static bool ready_epoll(struct pd *pd, void *arg)
{
    struct epoll_arg *a = arg;
    a->n = 0;
    for (int i = 0; i < a->e->nep && a->n < a->max; i++) {
        struct pd_epitem *it = &a->e->ep[i];
        struct pd_fd *f = pd_sock(pd, it->fd);
        if (!f || it->disabled)
            continue;
        uint32_t b = (uint32_t)(unsigned short)pd_pollbits(pd_sock_events(f));
        uint32_t r = b & (it->events | EPOLLERR | EPOLLHUP);
        if (it->events & EPOLLET) {
            /* Edge-triggered: Linux reports on every wakeup. Approximated: a bit that
             * newly became set, or EPOLLIN again when more data arrived since. */
            struct pn_tcp_info ti;
            uint64_t rx = pn_tcp_get_info(f->sk, &ti) == 0 ? ti.bytes_received : 0;
            it->seen &= b;
            uint32_t fresh = r & ~it->seen;
            if ((r & EPOLLIN) && rx != it->rx_seen)
                fresh |= EPOLLIN;
            if (a->commit && fresh) {
                it->seen |= r;
                it->rx_seen = rx;
            }
            r = fresh ? r : 0;
        }
        if (r) {
            a->out[a->n++] = (struct epoll_event){.events = r, .data = it->data};
            if (a->commit && (it->events & EPOLLONESHOT))
                it->disabled = true; /* until EPOLL_CTL_MOD re-arms it */
        }
    }
    return a->n > 0;
}

static int pd_epoll_wait(void *u, int epfd, struct epoll_event *events, int max, int timeout)
{
    struct pd *pd = u;
    if (max <= 0)
        return (int)fail(EINVAL);
    int ret;
    pd_enter(pd);
    struct pd_fd *e = (epfd >= 0 && epfd < PD_MAX_FD) ? &pd->fds[epfd] : NULL;
    if (!e || e->kind != PD_EPOLL) {
        ret = (int)fail(e && e->kind == PD_SOCK ? EINVAL : EBADF);
    } else {
        struct epoll_arg a = {e, events, max, 0, false};
        pd_wait(pd, ready_epoll, &a, pd_timeout_deadline(pd, timeout));
        a.commit = true;
        ready_epoll(pd, &a);
        ret = a.n;
    }
    pd_leave(pd);
    return ret;
}

static int pd_pipe(void *u, int pipefd[2])
{
    return pipe(pipefd); /* host pipes; read/write/close on them go to libc */
}

static int pd_splice(void *u, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
                     unsigned int flags)
{
    return (int)fail(ENOSYS);
}

/* ---- packets and time ---- */

static int pd_netdev_send(void *u, const void *buf, size_t count)
{
    struct pd *pd = u;
    struct pd_pkt *k = malloc(sizeof(*k) + count);
    if (!k)
        return (int)fail(ENOMEM);
    k->next = NULL;
    k->len = count;
    memcpy(k->data, buf, count);
    pd_enter(pd);
    k->time = pd->now;
    *pd->in_tail = k;
    pd->in_tail = &k->next;
    pd_poll(pd);
    pd_settle(pd);
    pd_leave(pd);
    return 0;
}

static int pd_netdev_receive(void *u, void *buf, size_t *count, long long *time_usecs)
{
    struct pd *pd = u;
    size_t cap = *count;
    pd_enter(pd);
    if (!pd->out_head) {
        pd_poll(pd);
        pd_settle(pd); /* a woken call may be about to send */
    }
    if (!pd->out_head) {
        /* Nothing yet: the stack is late (or silent). Move to its next timer so a late
         * segment shows up with its real, late time. */
        static _Thread_local uint64_t empty_since;
        static _Thread_local uint64_t empty_act;
        if (empty_act + 1 != pd->activity)
            empty_since = pd->now;
        empty_act = pd->activity;
        uint64_t d = pn_stack_next_deadline(pd->stack);
        if (d == PN_TIME_NEVER || d < pd->now)
            d = pd->now + PN_MS(1);
        pd_advance(pd, d);
        if (!pd->out_head && pd->now - empty_since > PD_GIVEUP_NS) {
            fprintf(stderr,
                    "plebnet-packetdrill: the stack sent nothing for %llu s of "
                    "virtual time while a packet was expected\n",
                    (unsigned long long)(PD_GIVEUP_NS / PN_SEC(1)));
            exit(1);
        }
    }
    struct pd_pkt *k = pd->out_head;
    int ret = -1;
    *count = 0;
    if (k) {
        pd->out_head = k->next;
        if (!pd->out_head)
            pd->out_tail = &pd->out_head;
        size_t n = k->len < cap ? k->len : cap;
        memcpy(buf, k->data, n);
        *count = n;
        *time_usecs = (long long)(k->time / 1000);
        free(k);
        ret = 0;
    }
    pd_leave(pd);
    return ret;
}

static int pd_usleep(void *u, useconds_t usec)
{
    struct pd *pd = u;
    pd_enter(pd);
    pd_settle(pd);
    pd_advance(pd, pd->now + (uint64_t)usec * 1000);
    pd_settle(pd);
    pd_leave(pd);
    return 0;
}

static int pd_gettimeofday(void *u, struct timeval *tv, struct timezone *tz)
{
    struct pd *pd = u;
    pd_enter(pd);
    if (tls_end_pending) {
        /* The end time of a blocking call that just returned: read, do not advance. */
        tls_end_pending = false;
        pd->nready_pending--;
        pthread_cond_broadcast(&pd->settled);
    } else {
        pd->now += 1000;
        if (pn_stack_next_deadline(pd->stack) <= pd->now) {
            pd_poll(pd);
            pd_settle(pd);
        }
    }
    uint64_t us = pd->now / 1000;
    tv->tv_sec = (time_t)(us / 1000000);
    tv->tv_usec = (suseconds_t)(us % 1000000);
    pd_leave(pd);
    return 0;
}

static void pd_free(void *u)
{
    struct pd *pd = u;
    if (!pd)
        return;
    for (int fd = 0; fd < PD_MAX_FD; fd++) {
        if (pd->fds[fd].kind == PD_NONE)
            continue;
        bool ours = pd_fd_ours(pd, fd);
        pd_forget(pd, fd);
        if (ours)
            close(fd);
    }
    pn_stack_free(pd->stack);
    pn_link_destroy(&pd->link.link);
    for (struct pd_pkt *k = pd->in_head, *n; k; k = n) {
        n = k->next;
        free(k);
    }
    for (struct pd_pkt *k = pd->out_head, *n; k; k = n) {
        n = k->next;
        free(k);
    }
    pthread_mutex_destroy(&pd->mu);
    pthread_cond_destroy(&pd->cv);
    pthread_cond_destroy(&pd->settled);
    free(pd);
}

/* ---- --so_flags ----
 * Space- or comma-separated words. "linux" selects every Linux default below at once;
 * each can also be given alone:
 *   linux_options      TCP options in SYN/SYN-ACK in Linux's order (tcp_options_write)
 *   iw=N               initial window in segments (Linux: 10, RFC 6928)
 *   rto_min_ms=N       (Linux TCP_RTO_MIN: 200)       rto_initial_ms=N (RFC 6298 / Linux: 1000)
 *   delack_ms=N        (Linux TCP_DELACK_MIN: 40)     syn_retries=N (packetdrill sets 5)
 *   quickack=N         ACK the first N data segments at once (Linux's quickack mode: 16)
 *   rcvbuf=N rcvbuf_max=N sndbuf=N   (Linux with packetdrill's defaults.sh: 540000,
 *                      15 MiB -> window scale 8, 262144)
 *   cc=NAME            congestion control of every new TCP socket (Linux default: cubic)
 *   local_ip=A remote_ip=A mtu=N verbose
 * Without flags the stack keeps its own RFC defaults. RST on close with unread data
 * (RFC 9293 §3.10.4 / RFC 2525 §2.17) is plebnet's behaviour already, as on Linux. */
static void pd_linux(struct pn_stack_config *c, struct pd *pd)
{
    c->tcp_linux_options = true;
    c->tcp_initial_window = 10;
    c->tcp_rto_min_ms = 200;
    c->tcp_rto_initial_ms = 1000;
    c->tcp_delack_ms = 40;
    c->tcp_quickack_segs = 16;
    c->tcp_syn_retries = 5;
    c->tcp_rcvbuf = 540000;
    c->tcp_rcvbuf_max = 15u << 20;
    c->tcp_sndbuf = 262144;
    snprintf(pd->cc, sizeof(pd->cc), "cubic");
}

static void pd_parse_flags(const char *flags, struct pn_stack_config *c, struct pd *pd)
{
    if (!flags)
        return;
    char *dup = strdup(flags), *save = NULL;
    for (char *w = dup ? strtok_r(dup, " ,", &save) : NULL; w; w = strtok_r(NULL, " ,", &save)) {
        char *eq = strchr(w, '=');
        const char *v = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        unsigned long n = strtoul(v, NULL, 0);
        if (!strcmp(w, "linux"))
            pd_linux(c, pd);
        else if (!strcmp(w, "linux_options"))
            c->tcp_linux_options = true;
        else if (!strcmp(w, "iw"))
            c->tcp_initial_window = (uint32_t)n;
        else if (!strcmp(w, "rto_min_ms"))
            c->tcp_rto_min_ms = (uint32_t)n;
        else if (!strcmp(w, "rto_initial_ms"))
            c->tcp_rto_initial_ms = (uint32_t)n;
        else if (!strcmp(w, "delack_ms"))
            c->tcp_delack_ms = (uint32_t)n;
        else if (!strcmp(w, "quickack"))
            c->tcp_quickack_segs = (uint32_t)n;
        else if (!strcmp(w, "syn_retries"))
            c->tcp_syn_retries = (uint32_t)n;
        else if (!strcmp(w, "rcvbuf"))
            c->tcp_rcvbuf = (uint32_t)n;
        else if (!strcmp(w, "rcvbuf_max"))
            c->tcp_rcvbuf_max = (uint32_t)n;
        else if (!strcmp(w, "sndbuf"))
            c->tcp_sndbuf = (uint32_t)n;
        else if (!strcmp(w, "mtu"))
            c->mtu = (uint32_t)n;
        else if (!strcmp(w, "cc"))
            snprintf(pd->cc, sizeof(pd->cc), "%s", v);
        else if (!strcmp(w, "local_ip"))
            pn_ip4_parse(v, &pd->addr);
        else if (!strcmp(w, "remote_ip"))
            pn_ip4_parse(v, &pd->peer);
        else if (!strcmp(w, "verbose"))
            pd->verbose = true;
        else
            fprintf(stderr, "plebnet-packetdrill: unknown so_flag '%s' ignored\n", w);
    }
    free(dup);
}

static void pd_fill(struct packetdrill_interface *ifc)
{
    ifc->free = pd_free;
    ifc->socket = pd_socket;
    ifc->bind = pd_bind;
    ifc->listen = pd_listen;
    ifc->accept = pd_accept;
    ifc->connect = pd_connect;
    ifc->read = pd_read;
    ifc->readv = pd_readv;
    ifc->recv = pd_recv;
    ifc->recvfrom = pd_recvfrom;
    ifc->recvmsg = pd_recvmsg;
    ifc->write = pd_write;
    ifc->writev = pd_writev;
    ifc->send = pd_send;
    ifc->sendto = pd_sendto;
    ifc->sendmsg = pd_sendmsg;
    ifc->fcntl = pd_fcntl;
    ifc->ioctl = pd_ioctl;
    ifc->close = pd_close;
    ifc->shutdown = pd_shutdown;
    ifc->getsockopt = pd_getsockopt;
    ifc->setsockopt = pd_setsockopt;
    ifc->poll = pd_pollfn;
    ifc->netdev_send = pd_netdev_send;
    ifc->netdev_receive = pd_netdev_receive;
    ifc->usleep = pd_usleep;
    ifc->gettimeofday = pd_gettimeofday;
    ifc->epoll_create = pd_epoll_create;
    ifc->epoll_ctl = pd_epoll_ctl;
    ifc->epoll_wait = pd_epoll_wait;
    ifc->pipe = pd_pipe;
    ifc->splice = pd_splice;
}

__attribute__((visibility("default"))) void
packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc)
{
    memset(ifc, 0, sizeof(*ifc));
    pd_fill(ifc);
    struct pd *pd = calloc(1, sizeof(*pd));
    if (!pd) {
        fprintf(stderr, "plebnet-packetdrill: out of memory\n");
        exit(1);
    }
    pthread_mutex_init(&pd->mu, NULL);
    pthread_cond_init(&pd->cv, NULL);
    pthread_cond_init(&pd->settled, NULL);
    pd->in_tail = &pd->in_head;
    pd->out_tail = &pd->out_head;
    pd->now = PN_SEC(1);
    /* packetdrill's IPv4 defaults (config.c): remote 192.0.2.1; run.sh passes
     * --local_ip=192.168.0.1, the default here. */
    pd->addr = PN_IP4(192, 168, 0, 1);
    pd->peer = PN_IP4(192, 0, 2, 1);
    pd->mac = (struct pn_mac){{0x02, 0, 0, 0, 0, 0x01}};
    pd->peer_mac = (struct pn_mac){{0x02, 0, 0, 0, 0, 0x02}};

    struct pn_stack_config c;
    pn_stack_config_init(&c);
    pd_parse_flags(flags, &c, pd);
    c.mac = pd->mac;
    c.addr = pd->addr;
    /* A /16 with a gateway holding a static ARP entry: every remote (packetdrill's
     * 192.0.2.1 and any other) is reached without ARP traffic in the scripts. */
    c.prefix_len = 16;
    c.gateway = (pd->addr & 0xffff0000u) | ((pd->addr & 0xffffu) == 2 ? 3 : 2);
    c.arp_announce = false;
    memcpy(c.secret, "packetdrill-seed", 16); /* deterministic runs */

    pd->link.link.ops = &pd_link_ops;
    /* packetdrill injects segments larger than the MTU (scripts model GRO/LRO) and expects
     * Linux's TSO super-segments ("> P. 1:10001(10000)"): the link takes and gives large
     * frames, so plebnet builds multi-MSS segments the way Linux hands TSO skbs to tun. */
    pd->link.link.caps = (struct pn_link_caps){
        .mtu = 1500, .max_frame = 65535 + 14, .large_tx = true, .large_rx = true};
    pd->link.pd = pd;
    int err = pn_stack_new(&c, &pd->link.link, pd->now, &pd->stack);
    if (err == 0)
        err = pn_stack_arp_add_static(pd->stack, c.gateway, &pd->peer_mac);
    if (err == 0 && (pd->peer & 0xffff0000u) == (pd->addr & 0xffff0000u))
        err = pn_stack_arp_add_static(pd->stack, pd->peer, &pd->peer_mac);
    if (err < 0) {
        fprintf(stderr, "plebnet-packetdrill: stack setup failed: %s\n", pn_strerror(err));
        exit(1);
    }
    ifc->userdata = pd;
}
