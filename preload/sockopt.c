/* preload/sockopt.c — socket options and the socket's names on plebnet sockets:
 * getsockopt/setsockopt (SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP), getsockname, getpeername and
 * shutdown, with Linux's value rules (buffer doubling, truncation of what getsockopt copies,
 * EINVAL/EDOM/ENOPROTOOPT/ENOENT where Linux returns them).
 * Call chain: app -> setsockopt()/getsockopt()/... here -> pl_acquire -> pn_setsockopt /
 * pn_getsockopt / pn_tcp_get_info / pn_shutdown, or the pl_sock's stored options ->
 * pl_release. Options the stack has no notion of are stored in struct pl_sock so that get
 * returns what set stored; each such place says what the option does (or does not do). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/tcp.h>
#include "shim.h"

/* Bits of pl_sock.opt_set: options whose Linux default is not zero, once set. */
#define PL_OPT_QUICKACK 0x1u
#define PL_OPT_MTU_DISCOVER 0x2u

/* Linux's minimum buffer sizes (include/net/sock.h: SOCK_MIN_RCVBUF = 2048 + the aligned
 * size of struct sk_buff on x86-64, SOCK_MIN_SNDBUF twice that). */
#define LX_MIN_RCVBUF 2304
#define LX_MIN_SNDBUF 4608
/* include/net/tcp.h: MAX_TCP_WINDOW bounds TCP_MAXSEG; TCP_TIMEOUT_INIT and TCP_RTO_MAX in
 * seconds, for TCP_DEFER_ACCEPT's conversion to SYN-ACK retransmissions and back. */
#define LX_MAX_TCP_WINDOW 32767
#define LX_TIMEOUT_INIT_S 1
#define LX_RTO_MAX_S 120
/* include/net/tcp.h TCP_INFINITE_SSTHRESH: what tcp_info reports for "no ssthresh yet". */
#define LX_INFINITE_SSTHRESH 0x7fffffffu
/* include/net/tcp.h TCP_CA_NAME_MAX: the size of a congestion control name, NUL included. */
#define LX_CA_NAME_MAX 16

/* ---- diagnostics ---- */

static const char *level_name(int level)
{
    switch (level) {
    case SOL_SOCKET:
        return "SOL_SOCKET";
    case IPPROTO_IP:
        return "IPPROTO_IP";
    case IPPROTO_TCP:
        return "IPPROTO_TCP";
    case IPPROTO_UDP:
        return "IPPROTO_UDP";
    case IPPROTO_IPV6:
        return "IPPROTO_IPV6";
    default:
        return NULL;
    }
}

static const char *opt_name(int level, int name)
{
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_BINDTODEVICE:
            return "SO_BINDTODEVICE";
        case SO_TIMESTAMP:
            return "SO_TIMESTAMP";
        case SO_TIMESTAMPNS:
            return "SO_TIMESTAMPNS";
        case SO_TIMESTAMPING:
            return "SO_TIMESTAMPING";
        case SO_MARK:
            return "SO_MARK";
        case SO_PEEK_OFF:
            return "SO_PEEK_OFF";
        case SO_ZEROCOPY:
            return "SO_ZEROCOPY";
        case SO_INCOMING_CPU:
            return "SO_INCOMING_CPU";
        case SO_BUSY_POLL:
            return "SO_BUSY_POLL";
        case SO_MAX_PACING_RATE:
            return "SO_MAX_PACING_RATE";
        case SO_ATTACH_FILTER:
            return "SO_ATTACH_FILTER";
        case SO_RCVBUFFORCE:
            return "SO_RCVBUFFORCE";
        case SO_SNDBUFFORCE:
            return "SO_SNDBUFFORCE";
        case SO_PEERCRED:
            return "SO_PEERCRED";
        case SO_DEBUG:
            return "SO_DEBUG";
        case SO_DONTROUTE:
            return "SO_DONTROUTE";
        case SO_PASSCRED:
            return "SO_PASSCRED";
        case SO_COOKIE:
            return "SO_COOKIE";
        default:
            return NULL;
        }
    }
    if (level == IPPROTO_TCP) {
        switch (name) {
        case TCP_FASTOPEN:
            return "TCP_FASTOPEN";
        case TCP_FASTOPEN_CONNECT:
            return "TCP_FASTOPEN_CONNECT";
        case TCP_SYNCNT:
            return "TCP_SYNCNT";
        case TCP_LINGER2:
            return "TCP_LINGER2";
        case TCP_WINDOW_CLAMP:
            return "TCP_WINDOW_CLAMP";
        case TCP_MD5SIG:
            return "TCP_MD5SIG";
        case TCP_ULP:
            return "TCP_ULP";
        case TCP_THIN_LINEAR_TIMEOUTS:
            return "TCP_THIN_LINEAR_TIMEOUTS";
        case TCP_REPAIR:
            return "TCP_REPAIR";
        case TCP_CC_INFO:
            return "TCP_CC_INFO";
        default:
            return NULL;
        }
    }
    if (level == IPPROTO_IP) {
        switch (name) {
        case IP_MTU:
            return "IP_MTU";
        case IP_BIND_ADDRESS_NO_PORT:
            return "IP_BIND_ADDRESS_NO_PORT";
        case IP_FREEBIND:
            return "IP_FREEBIND";
        case IP_TRANSPARENT:
            return "IP_TRANSPARENT";
        case IP_RECVTOS:
            return "IP_RECVTOS";
        case IP_RECVTTL:
            return "IP_RECVTTL";
        case IP_MULTICAST_IF:
            return "IP_MULTICAST_IF";
        case IP_MULTICAST_TTL:
            return "IP_MULTICAST_TTL";
        case IP_MULTICAST_LOOP:
            return "IP_MULTICAST_LOOP";
        case IP_ADD_MEMBERSHIP:
            return "IP_ADD_MEMBERSHIP";
        case IP_DROP_MEMBERSHIP:
            return "IP_DROP_MEMBERSHIP";
        case IP_HDRINCL:
            return "IP_HDRINCL";
        default:
            return NULL;
        }
    }
    return NULL;
}

/* Logs "unsupported: setsockopt(LEVEL, NAME)" once per (get/set, level, name) and returns
 * -ENOPROTOOPT (what Linux answers for an option it does not know; on get, a level other
 * than SOL_SOCKET/IPPROTO_IP/IPPROTO_TCP is EOPNOTSUPP instead, which the caller maps).
 * The seen-table is only touched with the stack lock held. */
static int unsupported_opt(bool set, int level, int name)
{
    static struct {
        bool set;
        int level, name;
    } seen[64];
    static int nseen;
    for (int i = 0; i < nseen; i++)
        if (seen[i].set == set && seen[i].level == level && seen[i].name == name)
            return -ENOPROTOOPT;
    if (nseen < (int)(sizeof(seen) / sizeof(seen[0])))
        seen[nseen++] = (typeof(seen[0])){set, level, name};
    char lv[16], nm[16];
    const char *l = level_name(level), *n = opt_name(level, name);
    if (!l) {
        snprintf(lv, sizeof(lv), "%d", level);
        l = lv;
    }
    if (!n) {
        snprintf(nm, sizeof(nm), "%d", name);
        n = nm;
    }
    pl_log("unsupported: %s(%s, %s)", set ? "setsockopt" : "getsockopt", l, n);
    return -ENOPROTOOPT;
}

/* ---- value helpers ---- */

/* An int option value: Linux requires optlen >= sizeof(int) (sock_setsockopt,
 * do_tcp_setsockopt) and reads the first int of a longer buffer. */
static int opt_int(const void *val, socklen_t len, int *out)
{
    if (len < sizeof(int))
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

/* IPPROTO_IP options take an int or, with optlen 1..3, one unsigned char (ip_setsockopt). */
static int opt_ip_int(const void *val, socklen_t len, int *out)
{
    if (len >= sizeof(int)) {
        memcpy(out, val, sizeof(int));
        return 0;
    }
    if (len >= 1) {
        *out = *(const unsigned char *)val;
        return 0;
    }
    return -EINVAL;
}

/* getsockopt copies min(*len, size of the value) bytes and sets *len to that count, as
 * Linux does for every option handled here (no EINVAL for a short buffer). */
static int put_bytes(void *val, socklen_t *len, const void *v, size_t n)
{
    size_t k = *len < n ? *len : n;
    memcpy(val, v, k);
    *len = (socklen_t)k;
    return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
    return put_bytes(val, len, &v, sizeof(v));
}

/* IPPROTO_IP get: a buffer shorter than an int gets one byte when the value fits
 * (do_ip_getsockopt). */
static int put_ip_int(void *val, socklen_t *len, int v)
{
    if (*len > 0 && *len < sizeof(int) && v >= 0 && v <= 255) {
        unsigned char c = (unsigned char)v;
        return put_bytes(val, len, &c, 1);
    }
    return put_int(val, len, v);
}

static int pn_set_int(struct pl_sock *s, enum pn_sockopt o, int v)
{
    int r = pn_setsockopt(s->pn, o, &v, sizeof(v));
    return r < 0 ? -pl_errno(r) : 0;
}

static int pn_get_int(struct pl_sock *s, enum pn_sockopt o, int *v)
{
    size_t l = sizeof(*v);
    int r = pn_getsockopt(s->pn, o, v, &l);
    return r < 0 ? -pl_errno(r) : 0;
}

/* net.core.rmem_max / wmem_max: Linux caps SO_RCVBUF/SO_SNDBUF requests at them. Read
 * once (lock held); 212992 (the kernel's default) if /proc is unreadable. */
static int sysctl_max(bool rcv)
{
    static int cached[2];
    int *c = &cached[rcv];
    if (*c)
        return *c;
    *c = 212992;
    int fd = open(rcv ? "/proc/sys/net/core/rmem_max" : "/proc/sys/net/core/wmem_max",
                  O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char b[32];
        ssize_t n = pl_real.read(fd, b, sizeof(b) - 1);
        if (n > 0) {
            b[n] = 0;
            long v = strtol(b, NULL, 10);
            if (v > 0 && v < INT_MAX)
                *c = (int)v;
        }
        pl_real.close(fd);
    }
    return *c;
}

/* TCP_DEFER_ACCEPT is kept by Linux as a count of SYN-ACK retransmissions; get returns the
 * seconds that count stands for (net/ipv4/tcp.c secs_to_retrans / retrans_to_secs), so
 * setting 5 reads back 7. Done the same way here so programs see Linux's values. */
static int secs_to_retrans(int seconds)
{
    int res = 0, timeout = LX_TIMEOUT_INIT_S, period = timeout;
    if (seconds > 0) {
        res = 1;
        while (seconds > period && res < 255) {
            res++;
            timeout <<= 1;
            if (timeout > LX_RTO_MAX_S)
                timeout = LX_RTO_MAX_S;
            period += timeout;
        }
    }
    return res;
}

static int retrans_to_secs(int retrans)
{
    int period = 0, timeout = LX_TIMEOUT_INIT_S;
    if (retrans > 0) {
        period = timeout;
        while (--retrans) {
            timeout <<= 1;
            if (timeout > LX_RTO_MAX_S)
                timeout = LX_RTO_MAX_S;
            period += timeout;
        }
    }
    return period;
}

/* socket(7) SO_RCVTIMEO/SO_SNDTIMEO: a struct timeval; tv_usec outside [0, 1e6) is EDOM
 * (sock_set_timeout); {0, 0} means "never time out"; a negative tv_sec is taken as the
 * shortest timeout (Linux stores 0 jiffies: the call fails at once with EAGAIN). */
static int set_timeo(uint64_t *ns, const void *val, socklen_t len)
{
    struct timeval tv;
    if (len < sizeof(tv))
        return -EINVAL;
    memcpy(&tv, val, sizeof(tv));
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
        return -EDOM;
    if (tv.tv_sec < 0)
        *ns = 1;
    else if (tv.tv_sec == 0 && tv.tv_usec == 0)
        *ns = 0;
    else if (tv.tv_sec > 1000000000L)
        *ns = 0; /* beyond 30 years: Linux's MAX_SCHEDULE_TIMEOUT, forever */
    else
        *ns = (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
    return 0;
}

static int get_timeo(uint64_t ns, void *val, socklen_t *len)
{
    struct timeval tv = {(time_t)(ns / 1000000000u), (suseconds_t)(ns % 1000000000u / 1000u)};
    return put_bytes(val, len, &tv, sizeof(tv));
}

/* TCP_CORK off pushes what the cork held (tcp(7): "When this option is cleared, any queued
 * partial frames are sent"). The stack's TCP_NODELAY set to 1 runs its output path, which
 * is how it is asked to push; the previous setting is put back. */
static void cork_push(struct pl_sock *s)
{
    int nd = 0;
    struct pn_tcp_info ti;
    /* Only with data that can move: in SYN-SENT the output path would resend the SYN. */
    if (pn_tcp_get_info(s->pn, &ti) < 0 ||
        (ti.state != PN_TCP_ESTABLISHED && ti.state != PN_TCP_CLOSE_WAIT))
        return;
    if (pn_get_int(s, PN_TCP_NODELAY, &nd) < 0)
        return;
    pn_set_int(s, PN_TCP_NODELAY, 1);
    if (!nd)
        pn_set_int(s, PN_TCP_NODELAY, 0);
}

/* Linux's TCP state numbers (include/net/tcp_states.h), as tcp_info reports them. */
static uint8_t linux_tcp_state(enum pn_tcp_state st)
{
    switch (st) {
    case PN_TCP_ESTABLISHED:
        return 1;
    case PN_TCP_SYN_SENT:
        return 2;
    case PN_TCP_SYN_RECEIVED:
        return 3;
    case PN_TCP_FIN_WAIT_1:
        return 4;
    case PN_TCP_FIN_WAIT_2:
        return 5;
    case PN_TCP_TIME_WAIT:
        return 6;
    case PN_TCP_CLOSED:
        return 7;
    case PN_TCP_CLOSE_WAIT:
        return 8;
    case PN_TCP_LAST_ACK:
        return 9;
    case PN_TCP_LISTEN:
        return 10;
    case PN_TCP_CLOSING:
        return 11;
    }
    return 7;
}

static uint32_t u32_of(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* TCP_INFO: Linux's struct tcp_info (linux/tcp.h) from the stack's snapshot. Segment
 * counts (cwnd, ssthresh, unacked) are bytes / MSS rounded up, as Linux counts packets;
 * pmtu is derived from the MSS and the header sizes. Fields the stack does not track
 * (ato, sacked, lost, pacing, delivery rate, busy times) are 0. */
static void fill_tcp_info(const struct pn_tcp_info *pi, struct tcp_info *ti)
{
    uint32_t mss = pi->snd_mss ? pi->snd_mss : 536u;
    memset(ti, 0, sizeof(*ti));
    ti->tcpi_state = linux_tcp_state(pi->state);
    ti->tcpi_ca_state = pi->retransmits ? 4 /* TCP_CA_Loss */ : 0 /* TCP_CA_Open */;
    ti->tcpi_retransmits = (uint8_t)(pi->retransmits > 255 ? 255 : pi->retransmits);
    ti->tcpi_backoff = ti->tcpi_retransmits;
    ti->tcpi_options = (pi->ts_ok ? TCPI_OPT_TIMESTAMPS : 0) | (pi->sack_ok ? TCPI_OPT_SACK : 0) |
                       (pi->ws_ok ? TCPI_OPT_WSCALE : 0);
    if (pi->ws_ok) {
        ti->tcpi_snd_wscale = pi->snd_wscale & 0xf;
        ti->tcpi_rcv_wscale = pi->rcv_wscale & 0xf;
    }
    ti->tcpi_rto = pi->rto_us;
    ti->tcpi_snd_mss = pi->snd_mss;
    ti->tcpi_rcv_mss = pi->rcv_mss;
    ti->tcpi_unacked = (pi->unacked + mss - 1) / mss;
    ti->tcpi_pmtu = pi->snd_mss ? pi->snd_mss + 40u + (pi->ts_ok ? 12u : 0u) : 0;
    ti->tcpi_rcv_ssthresh = pi->rcv_wnd;
    ti->tcpi_rtt = pi->rtt_us;
    ti->tcpi_rttvar = pi->rttvar_us;
    ti->tcpi_snd_ssthresh =
        pi->ssthresh >= LX_INFINITE_SSTHRESH / 2 ? LX_INFINITE_SSTHRESH : pi->ssthresh / mss;
    ti->tcpi_snd_cwnd = (pi->cwnd + mss - 1) / mss;
    ti->tcpi_advmss = pi->rcv_mss;
    ti->tcpi_reordering = 3; /* RFC 5681 dupthresh, Linux's initial tcp_reordering */
    ti->tcpi_rcv_space = pi->rcv_wnd;
    ti->tcpi_total_retrans = u32_of(pi->total_retrans);
    ti->tcpi_bytes_acked = pi->bytes_acked;
    ti->tcpi_bytes_received = pi->bytes_received;
    ti->tcpi_segs_out = u32_of(pi->segs_out);
    ti->tcpi_segs_in = u32_of(pi->segs_in);
    ti->tcpi_snd_wnd = pi->snd_wnd;
}

/* ---- SOL_SOCKET ---- */

static int sol_set(struct pl_sock *s, int name, const void *val, socklen_t len)
{
    bool stream = s->type == SOCK_STREAM;
    int v = 0, e;
    switch (name) {
    case SO_RCVTIMEO_OLD:
    case SO_RCVTIMEO_NEW:
        return set_timeo(&s->rcvtimeo_ns, val, len);
    case SO_SNDTIMEO_OLD:
    case SO_SNDTIMEO_NEW:
        return set_timeo(&s->sndtimeo_ns, val, len);
    case SO_LINGER: {
        /* socket(7) SO_LINGER: a struct linger; TCP's lives in the stack (close sends a
         * RST with l_linger 0); on a datagram socket Linux keeps it without effect. */
        struct linger l;
        if (len < sizeof(l))
            return -EINVAL;
        memcpy(&l, val, sizeof(l));
        if (!stream) {
            s->linger_onoff = l.l_onoff != 0;
            if (l.l_onoff)
                s->linger_s = l.l_linger < 0 ? 0 : l.l_linger;
            return 0;
        }
        struct pn_linger pl = {l.l_onoff != 0, l.l_linger < 0 ? 0 : l.l_linger};
        int r = pn_setsockopt(s->pn, PN_SO_LINGER, &pl, sizeof(pl));
        return r < 0 ? -pl_errno(r) : 0;
    }
    default:
        break;
    }
    switch (name) { /* the int-valued options */
    case SO_REUSEADDR:
    case SO_REUSEPORT:
    case SO_KEEPALIVE:
    case SO_RCVBUF:
    case SO_SNDBUF:
    case SO_BROADCAST:
    case SO_RCVLOWAT:
    case SO_SNDLOWAT:
    case SO_OOBINLINE:
    case SO_PRIORITY:
    case SO_NO_CHECK:
        if ((e = opt_int(val, len, &v)) < 0)
            return e;
        break;
    case SO_TYPE:
    case SO_PROTOCOL:
    case SO_DOMAIN:
    case SO_ERROR:
    case SO_ACCEPTCONN:
        return -ENOPROTOOPT; /* read-only: Linux's sock_setsockopt has no case for them */
    default:
        return unsupported_opt(true, SOL_SOCKET, name);
    }
    switch (name) {
    case SO_REUSEADDR:
        return pn_set_int(s, PN_SO_REUSEADDR, v != 0);
    case SO_REUSEPORT:
        /* Stored and read back. The stack has no SO_REUSEPORT groups: a second socket
         * binding the same port still gets EADDRINUSE (a process has one stack, so there
         * is no other process to balance with); said once in the log. */
        s->reuseport = v != 0;
        if (v)
            pl_unsupported("SO_REUSEPORT port sharing (stored; a second bind to the port "
                           "still fails with EADDRINUSE)");
        return 0;
    case SO_KEEPALIVE:
        if (!stream) {
            s->keepalive = v != 0; /* Linux keeps the flag on UDP; it does nothing */
            return 0;
        }
        return pn_set_int(s, PN_SO_KEEPALIVE, v != 0);
    case SO_RCVBUF:
    case SO_SNDBUF: {
        /* socket(7): "The kernel doubles this value (to allow space for bookkeeping
         * overhead) ... and this doubled value is returned by getsockopt". The request is
         * first capped at net.core.rmem_max/wmem_max (taken as unsigned, so a negative
         * value means the cap), then doubled, then raised to Linux's minimum. The stack
         * gets the doubled size as its buffer. */
        bool rcv = name == SO_RCVBUF;
        unsigned u = (unsigned)v, cap = (unsigned)sysctl_max(rcv);
        if (u > cap)
            u = cap;
        if (u > INT_MAX / 2)
            u = INT_MAX / 2;
        int b = (int)u * 2, min = rcv ? LX_MIN_RCVBUF : LX_MIN_SNDBUF;
        return pn_set_int(s, rcv ? PN_SO_RCVBUF : PN_SO_SNDBUF, b < min ? min : b);
    }
    case SO_BROADCAST:
        return pn_set_int(s, PN_SO_BROADCAST, v != 0);
    case SO_RCVLOWAT:
        /* socket(7); Linux: a negative value means INT_MAX, 0 means 1. Honoured by TCP
         * recv (io.c waits for that many bytes); poll readiness still fires at one byte. */
        s->rcvlowat = v < 0 ? INT_MAX : v == 0 ? 1 : v;
        return 0;
    case SO_SNDLOWAT:
        /* socket(7): "SO_SNDLOWAT is not changeable on Linux (setsockopt(2) fails with
         * the error ENOPROTOOPT)". */
        return -ENOPROTOOPT;
    case SO_OOBINLINE:
        s->oobinline = v != 0; /* stored: plebnet delivers no urgent data at all */
        return 0;
    case SO_PRIORITY:
        /* socket(7): 0..6 for anyone, others need CAP_NET_ADMIN. Stored: the link has a
         * single queue, so the priority orders nothing. */
        if (v < 0 || v > 6)
            return -EPERM;
        s->priority = v;
        return 0;
    case SO_NO_CHECK:
        s->no_check = v != 0; /* stored: plebnet always sends UDP checksums (allowed) */
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

static int sol_get(struct pl_sock *s, int name, void *val, socklen_t *len)
{
    bool stream = s->type == SOCK_STREAM;
    int v = 0, e;
    switch (name) {
    case SO_TYPE:
        return put_int(val, len, s->type);
    case SO_PROTOCOL:
        return put_int(val, len, s->protocol);
    case SO_DOMAIN:
        return put_int(val, len, AF_INET);
    case SO_ACCEPTCONN:
        return put_int(val, len, s->listening);
    case SO_ERROR:
        /* socket(7) SO_ERROR: "Get and clear the pending socket error"; the mirror's
         * kernel-side error (POLLERR on the app's fd) is cleared with it. */
        if ((e = pn_get_int(s, PN_SO_ERROR, &v)) < 0)
            return e;
        pl_mirror_error_taken(s);
        return put_int(val, len, v ? pl_errno(v) : 0);
    case SO_REUSEADDR:
        if ((e = pn_get_int(s, PN_SO_REUSEADDR, &v)) < 0)
            return e;
        return put_int(val, len, v);
    case SO_REUSEPORT:
        return put_int(val, len, s->reuseport);
    case SO_KEEPALIVE:
        if (!stream)
            return put_int(val, len, s->keepalive);
        if ((e = pn_get_int(s, PN_SO_KEEPALIVE, &v)) < 0)
            return e;
        return put_int(val, len, v);
    case SO_LINGER: {
        struct linger l = {s->linger_onoff, s->linger_s};
        if (stream) {
            struct pn_linger pl;
            size_t n = sizeof(pl);
            int r = pn_getsockopt(s->pn, PN_SO_LINGER, &pl, &n);
            if (r < 0)
                return -pl_errno(r);
            l.l_onoff = pl.onoff;
            l.l_linger = pl.seconds;
        }
        return put_bytes(val, len, &l, sizeof(l));
    }
    case SO_RCVBUF:
    case SO_SNDBUF:
        if ((e = pn_get_int(s, name == SO_RCVBUF ? PN_SO_RCVBUF : PN_SO_SNDBUF, &v)) < 0)
            return e;
        return put_int(val, len, v);
    case SO_RCVTIMEO_OLD:
    case SO_RCVTIMEO_NEW:
        return get_timeo(s->rcvtimeo_ns, val, len);
    case SO_SNDTIMEO_OLD:
    case SO_SNDTIMEO_NEW:
        return get_timeo(s->sndtimeo_ns, val, len);
    case SO_BROADCAST:
        if ((e = pn_get_int(s, PN_SO_BROADCAST, &v)) < 0)
            return e;
        return put_int(val, len, v);
    case SO_RCVLOWAT:
        return put_int(val, len, s->rcvlowat > 0 ? s->rcvlowat : 1);
    case SO_SNDLOWAT:
        return put_int(val, len, 1);
    case SO_OOBINLINE:
        return put_int(val, len, s->oobinline);
    case SO_PRIORITY:
        return put_int(val, len, s->priority);
    case SO_NO_CHECK:
        return put_int(val, len, s->no_check);
    default:
        return unsupported_opt(false, SOL_SOCKET, name);
    }
}

/* ---- IPPROTO_TCP ---- */

static int tcp_set(struct pl_sock *s, int name, const void *val, socklen_t len)
{
    int v = 0, e;
    if (name == TCP_CONGESTION) {
        /* tcp(7) TCP_CONGESTION: a name of at most TCP_CA_NAME_MAX - 1 bytes; an unknown
         * one is ENOENT (tcp_set_congestion_control). "reno" is Linux's name for the
         * stack's "newreno"; the stack's own names are accepted too. */
        char name_buf[LX_CA_NAME_MAX];
        size_t n = len < LX_CA_NAME_MAX - 1 ? len : LX_CA_NAME_MAX - 1;
        memcpy(name_buf, val, n);
        name_buf[n] = 0;
        const char *cc = strcmp(name_buf, "reno") == 0 ? "newreno" : name_buf;
        int r = pn_setsockopt(s->pn, PN_TCP_CONGESTION, cc, strlen(cc));
        return r == PN_EINVAL ? -ENOENT : r < 0 ? -pl_errno(r) : 0;
    }
    switch (name) {
    case TCP_NODELAY:
    case TCP_MAXSEG:
    case TCP_KEEPIDLE:
    case TCP_KEEPINTVL:
    case TCP_KEEPCNT:
    case TCP_USER_TIMEOUT:
    case TCP_QUICKACK:
    case TCP_CORK:
    case TCP_DEFER_ACCEPT:
    case TCP_NOTSENT_LOWAT:
        if ((e = opt_int(val, len, &v)) < 0)
            return e;
        break;
    case TCP_INFO:
        return -ENOPROTOOPT; /* read-only */
    default:
        return unsupported_opt(true, IPPROTO_TCP, name);
    }
    switch (name) {
    case TCP_NODELAY:
        return pn_set_int(s, PN_TCP_NODELAY, v != 0);
    case TCP_MAXSEG:
        /* tcp(7); Linux: 0 or TCP_MIN_MSS (88) .. MAX_TCP_WINDOW, else EINVAL. */
        if (v > LX_MAX_TCP_WINDOW)
            return -EINVAL;
        return pn_set_int(s, PN_TCP_MAXSEG, v);
    case TCP_KEEPIDLE:
        return pn_set_int(s, PN_TCP_KEEPIDLE, v);
    case TCP_KEEPINTVL:
        return pn_set_int(s, PN_TCP_KEEPINTVL, v);
    case TCP_KEEPCNT:
        return pn_set_int(s, PN_TCP_KEEPCNT, v);
    case TCP_USER_TIMEOUT:
        return pn_set_int(s, PN_TCP_USER_TIMEOUT, v);
    case TCP_QUICKACK:
        /* tcp(7): a hint about the delayed-ACK mode, "not permanent". Stored and read
         * back; the stack's delayed-ACK policy is its own. */
        s->quickack = v != 0;
        s->opt_set |= PL_OPT_QUICKACK;
        return 0;
    case TCP_CORK: {
        bool was = s->cork;
        s->cork = v != 0; /* io.c sends with PN_MSG_MORE while corked */
        if (was && !s->cork)
            cork_push(s);
        return 0;
    }
    case TCP_DEFER_ACCEPT:
        /* tcp(7). Stored (as Linux does, in retransmissions) and read back; the stack
         * hands connections to accept() at the end of the handshake, as with 0. */
        s->defer_accept = v < 0 ? 0 : secs_to_retrans(v);
        return 0;
    case TCP_NOTSENT_LOWAT:
        /* tcp(7)/Documentation: stored and read back; writability is not limited by it. */
        s->notsent_lowat = v;
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

static int tcp_get(struct pl_sock *s, int name, void *val, socklen_t *len)
{
    int v = 0, e;
    enum pn_sockopt o;
    switch (name) {
    case TCP_INFO: {
        struct pn_tcp_info pi;
        struct tcp_info ti;
        int r = pn_tcp_get_info(s->pn, &pi);
        if (r < 0)
            return -pl_errno(r);
        fill_tcp_info(&pi, &ti);
        return put_bytes(val, len, &ti, sizeof(ti));
    }
    case TCP_CONGESTION: {
        char name_buf[LX_CA_NAME_MAX] = {0};
        size_t n = sizeof(name_buf) - 1;
        int r = pn_getsockopt(s->pn, PN_TCP_CONGESTION, name_buf, &n);
        if (r < 0)
            return -pl_errno(r);
        if (strcmp(name_buf, "newreno") == 0)
            strcpy(name_buf, "reno");
        return put_bytes(val, len, name_buf, sizeof(name_buf));
    }
    case TCP_MAXSEG: {
        /* Linux: the user's MSS while closed or listening, else the current one; 536
         * (TCP_MSS_DEFAULT) before anything is known. The stack answers the same way. */
        if ((e = pn_get_int(s, PN_TCP_MAXSEG, &v)) < 0)
            return e;
        return put_int(val, len, v);
    }
    case TCP_QUICKACK:
        return put_int(val, len, (s->opt_set & PL_OPT_QUICKACK) ? s->quickack : 1);
    case TCP_CORK:
        return put_int(val, len, s->cork);
    case TCP_DEFER_ACCEPT:
        return put_int(val, len, retrans_to_secs(s->defer_accept));
    case TCP_NOTSENT_LOWAT:
        return put_int(val, len, s->notsent_lowat);
    case TCP_NODELAY:
        o = PN_TCP_NODELAY;
        break;
    case TCP_KEEPIDLE:
        o = PN_TCP_KEEPIDLE;
        break;
    case TCP_KEEPINTVL:
        o = PN_TCP_KEEPINTVL;
        break;
    case TCP_KEEPCNT:
        o = PN_TCP_KEEPCNT;
        break;
    case TCP_USER_TIMEOUT:
        o = PN_TCP_USER_TIMEOUT;
        break;
    default:
        return unsupported_opt(false, IPPROTO_TCP, name);
    }
    if ((e = pn_get_int(s, o, &v)) < 0)
        return e;
    return put_int(val, len, v);
}

/* ---- IPPROTO_IP ---- */

static int ip_set(struct pl_sock *s, int name, const void *val, socklen_t len)
{
    int v = 0, e;
    switch (name) {
    case IP_TTL:
    case IP_TOS:
    case IP_MTU_DISCOVER:
    case IP_RECVERR:
    case IP_PKTINFO:
        if ((e = opt_ip_int(val, len, &v)) < 0)
            return e;
        break;
    case IP_OPTIONS:
        /* ip(7) IP_OPTIONS: clearing them (an empty buffer) is what programs do. */
        if (len == 0)
            return 0;
        return unsupported_opt(true, IPPROTO_IP, name);
    default:
        return unsupported_opt(true, IPPROTO_IP, name);
    }
    switch (name) {
    case IP_TTL:
        /* ip(7) IP_TTL: 1..255, or -1 for the default (64, the stack's default TTL). */
        if (v == -1)
            v = 64;
        if (v < 1 || v > 255)
            return -EINVAL;
        return pn_set_int(s, PN_IP_TTL, v);
    case IP_TOS:
        /* ip(7) IP_TOS; on a stream socket Linux keeps the ECN bits to itself (RFC 3168
         * §6.1.1: TCP sets ECT), so only the DSCP part is taken (ip_setsockopt). */
        if (s->type == SOCK_STREAM) {
            int cur = 0;
            pn_get_int(s, PN_IP_TOS, &cur);
            v = (v & ~3) | (cur & 3);
        }
        return pn_set_int(s, PN_IP_TOS, v & 0xff);
    case IP_MTU_DISCOVER:
        /* ip(7) IP_MTU_DISCOVER: IP_PMTUDISC_DONT..IP_PMTUDISC_OMIT (0..5). DO and PROBE
         * set DF and make a datagram too large for the link fail with EMSGSIZE, which is
         * the stack's IP_DONTFRAG; the others send without DF. */
        if (v < IP_PMTUDISC_DONT || v > IP_PMTUDISC_OMIT)
            return -EINVAL;
        e = pn_set_int(s, PN_IP_DONTFRAG, v == IP_PMTUDISC_DO || v == IP_PMTUDISC_PROBE);
        if (e < 0)
            return e;
        s->ip_mtu_discover = v;
        s->opt_set |= PL_OPT_MTU_DISCOVER;
        return 0;
    case IP_RECVERR:
        /* Accepted and stored, but no extended errors are ever queued (MSG_ERRQUEUE reads
         * find the queue empty); errors still arrive as errno and SO_ERROR. */
        s->ip_recverr = v != 0;
        if (v)
            pl_unsupported("IP_RECVERR (accepted; no error-queue messages are produced)");
        return 0;
    case IP_PKTINFO:
        /* Accepted and stored, but recvmsg produces no IP_PKTINFO control messages. */
        s->ip_pktinfo = v != 0;
        if (v)
            pl_unsupported("IP_PKTINFO (accepted; recvmsg produces no control messages)");
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

static int ip_get(struct pl_sock *s, int name, void *val, socklen_t *len)
{
    int v = 0, e;
    switch (name) {
    case IP_TTL:
        if ((e = pn_get_int(s, PN_IP_TTL, &v)) < 0)
            return e;
        return put_ip_int(val, len, v);
    case IP_TOS:
        if ((e = pn_get_int(s, PN_IP_TOS, &v)) < 0)
            return e;
        return put_ip_int(val, len, v);
    case IP_MTU_DISCOVER:
        /* Linux's default is IP_PMTUDISC_WANT (net.ipv4.ip_no_pmtu_disc = 0). */
        return put_ip_int(
            val, len, (s->opt_set & PL_OPT_MTU_DISCOVER) ? s->ip_mtu_discover : IP_PMTUDISC_WANT);
    case IP_RECVERR:
        return put_ip_int(val, len, s->ip_recverr);
    case IP_PKTINFO:
        return put_ip_int(val, len, s->ip_pktinfo);
    case IP_OPTIONS:
        *len = 0; /* no IP options are ever set */
        return 0;
    default:
        return unsupported_opt(false, IPPROTO_IP, name);
    }
}

/* ---- the interposed calls ---- */

PL_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.setsockopt(fd, level, name, val, len);
    if (a < 0)
        return -1;
    int r;
    if (!val && len)
        r = -EFAULT;
    else if ((int)len < 0)
        r = -EINVAL;
    else if (level == SOL_SOCKET)
        r = sol_set(s, name, val, len);
    else if (level == IPPROTO_TCP && s->type == SOCK_STREAM)
        r = tcp_set(s, name, val, len);
    else if (level == IPPROTO_TCP)
        r = -ENOPROTOOPT; /* Linux: TCP options on a UDP socket reach ip_setsockopt */
    else if (level == IPPROTO_IP)
        r = ip_set(s, name, val, len);
    else
        r = unsupported_opt(true, level, name);
    pl_release(s);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

PL_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.getsockopt(fd, level, name, val, len);
    if (a < 0)
        return -1;
    int r;
    if (!len)
        r = -EFAULT;
    else if ((int)*len < 0)
        r = -EINVAL;
    else if (!val && *len)
        r = -EFAULT;
    else if (level == SOL_SOCKET)
        r = sol_get(s, name, val, len);
    else if (level == IPPROTO_TCP && s->type == SOCK_STREAM)
        r = tcp_get(s, name, val, len);
    else if (level == IPPROTO_IP)
        r = ip_get(s, name, val, len);
    else if (level == IPPROTO_TCP)
        r = -EOPNOTSUPP; /* Linux's ip_getsockopt: "level != SOL_IP" is EOPNOTSUPP on get */
    else {
        unsupported_opt(false, level, name);
        r = -EOPNOTSUPP;
    }
    pl_release(s);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

PL_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.getsockname(fd, addr, len);
    if (a < 0)
        return -1;
    struct pn_endpoint ep = {0, 0};
    int r = 0;
    if (!len || (!addr && *len))
        r = -EFAULT;
    else if ((int)*len < 0)
        r = -EINVAL;
    else if ((r = pn_getsockname(s->pn, &ep)) < 0)
        r = -pl_errno(r);
    else
        pl_ep_to_sockaddr(&ep, addr, len);
    pl_release(s);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

/* getpeername(2): ENOTCONN unless connected. Linux's inet_getname also says ENOTCONN for a
 * TCP socket still in SYN-SENT or already CLOSED (reset), where the stack still knows the
 * peer. */
PL_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.getpeername(fd, addr, len);
    if (a < 0)
        return -1;
    struct pn_endpoint ep = {0, 0};
    struct pn_tcp_info ti;
    int r = 0;
    if (!len || (!addr && *len))
        r = -EFAULT;
    else if ((int)*len < 0)
        r = -EINVAL;
    else if (s->type == SOCK_STREAM && pn_tcp_get_info(s->pn, &ti) == 0 &&
             (ti.state == PN_TCP_SYN_SENT || ti.state == PN_TCP_CLOSED))
        r = -ENOTCONN;
    else if ((r = pn_getpeername(s->pn, &ep)) < 0)
        r = -pl_errno(r);
    else
        pl_ep_to_sockaddr(&ep, addr, len);
    pl_release(s);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

/* shutdown(2): EINVAL for a bad `how`, ENOTCONN on an unconnected socket (Linux's
 * inet_shutdown). A listening socket: SHUT_WR does nothing (Linux); SHUT_RD/SHUT_RDWR,
 * which on Linux stops the listener and wakes accept(), is not supported here. */
PL_EXPORT int shutdown(int fd, int how)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.shutdown(fd, how);
    if (a < 0)
        return -1;
    int r = 0;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) {
        r = -EINVAL;
    } else if (s->listening) {
        if (how != SHUT_WR) {
            pl_unsupported("shutdown(SHUT_RD/SHUT_RDWR) of a listening socket");
            r = -EOPNOTSUPP;
        }
    } else {
        int pnhow = how == SHUT_RD ? PN_SHUT_RD : how == SHUT_WR ? PN_SHUT_WR : PN_SHUT_RDWR;
        r = pn_shutdown(s->pn, pnhow);
        r = r < 0 ? -pl_errno(r) : 0;
    }
    pl_release(s);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}
