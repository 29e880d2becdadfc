/* plebnet/socket.h — the socket API over a stack: datagram (UDP), ping (ICMP echo, like
 * Linux's SOCK_DGRAM/IPPROTO_ICMP sockets) and, with the TCP layer, stream sockets.
 * Every call is non-blocking; readiness is read with pn_socket_events() or pushed through
 * a callback. Calls never block and never read a clock: they run at pn_stack_now(). */
#ifndef PLEBNET_SOCKET_H
#define PLEBNET_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include "plebnet/addr.h"
#include "plebnet/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pn_socket;

enum pn_sock_type {
    PN_SOCK_DGRAM = 1,  /* UDP */
    PN_SOCK_STREAM = 2, /* TCP */
    PN_SOCK_PING = 3,   /* ICMP echo: send an echo request header + data, receive replies */
};

/* Readiness bits (pn_socket_events, callbacks). */
#define PN_EV_IN 0x01u    /* data (or a pending connection) can be read */
#define PN_EV_OUT 0x02u   /* send would make progress */
#define PN_EV_ERR 0x04u   /* a pending error: read it with PN_SO_ERROR */
#define PN_EV_HUP 0x08u   /* both directions closed */
#define PN_EV_RDHUP 0x10u /* the peer closed its sending side */

/* recv/send flags */
#define PN_MSG_PEEK 0x1     /* recv: leave the data queued */
#define PN_MSG_TRUNC 0x2    /* recv (datagram): return the real length even if larger than len */
#define PN_MSG_DONTROUTE 0x4 /* send: on-link destinations only */
#define PN_MSG_MORE 0x8     /* send (stream): more data follows, hold a partial segment */

/* Socket options (pn_setsockopt/pn_getsockopt); values are int unless stated. */
enum pn_sockopt {
    PN_SO_RCVBUF = 1,     /* receive queue bound, bytes */
    PN_SO_SNDBUF,         /* send buffer, bytes */
    PN_SO_BROADCAST,      /* allow sending to broadcast addresses */
    PN_SO_REUSEADDR,      /* allow bind over TIME-WAIT / lingering ports */
    PN_SO_ERROR,          /* get only: pending error (a PN_E* code, 0 if none), cleared */
    PN_SO_TYPE,           /* get only: enum pn_sock_type */
    PN_SO_KEEPALIVE,      /* TCP */
    PN_SO_LINGER,         /* struct pn_linger */
    PN_IP_TTL,            /* unicast TTL of sent packets, 1..255 */
    PN_IP_TOS,            /* DSCP/ECN byte of sent packets */
    PN_IP_DONTFRAG,       /* set DF on sent datagrams; too-large sends fail with PN_EMSGSIZE */
    PN_TCP_NODELAY,
    PN_TCP_MAXSEG,
    PN_TCP_KEEPIDLE,      /* seconds */
    PN_TCP_KEEPINTVL,     /* seconds */
    PN_TCP_KEEPCNT,
    PN_TCP_USER_TIMEOUT,  /* milliseconds */
    PN_TCP_CONGESTION,    /* string: name of the congestion control module */
};

struct pn_linger {
    int onoff;
    int seconds;
};

/* Called from inside pn_stack_poll (or an API call) when one of `events` has just become
 * true for the socket. It may call any socket function except pn_close on another socket
 * of the same stack... it may close its own socket. */
typedef void (*pn_socket_cb)(struct pn_socket *sk, unsigned events, void *arg);

/* Opens a socket. Returns 0 and an owned *out, PN_EINVAL (unknown type), PN_ENOTSUP (type
 * not built in) or PN_ENOMEM. */
int pn_socket(struct pn_stack *stack, enum pn_sock_type type, struct pn_socket **out);
/* Binds the local endpoint. addr must be 0 (any) or the stack's; port 0 picks an
 * ephemeral port. Returns 0, PN_EINVAL (already bound), PN_EADDRNOTAVAIL, PN_EADDRINUSE. */
int pn_bind(struct pn_socket *sk, const struct pn_endpoint *local);
/* Datagram/ping: sets the default peer and filters received packets to it (port 0 for
 * addr 0 dissolves the association). Stream: starts a connection, returns PN_EINPROGRESS.
 * Returns 0, PN_EINVAL, PN_EADDRNOTAVAIL, PN_ENETUNREACH, PN_EACCES (broadcast). */
int pn_connect(struct pn_socket *sk, const struct pn_endpoint *remote);
/* Stream: starts listening; backlog (1..65535, clamped) bounds the accept queue. An unbound
 * socket gets an ephemeral port, as in BSD. Returns 0, PN_EINVAL (connected or closing),
 * PN_ENOTSUP (not a stream socket). */
int pn_listen(struct pn_socket *sk, int backlog);
/* Stream: takes an established connection from the accept queue. Returns 0 and an owned
 * *out (peer in *peer if given), PN_EAGAIN (none yet), PN_EINVAL (not listening). */
int pn_accept(struct pn_socket *sk, struct pn_socket **out, struct pn_endpoint *peer);
/* Sends len bytes to dst (NULL: the connected peer). Datagram: all or nothing; returns
 * len, PN_EDESTADDRREQ, PN_EMSGSIZE, PN_EACCES, PN_ENETUNREACH, PN_ENOBUFS,
 * PN_ECONNREFUSED (a pending ICMP error on a connected socket). Stream: queues as much as
 * SO_SNDBUF has room for and returns that count, or PN_EAGAIN (full or not yet connected),
 * PN_EPIPE, PN_ENOTCONN, PN_ENOBUFS (no memory for a send buffer: nothing was queued), or a
 * pending error. */
long pn_sendto(struct pn_socket *sk, const void *buf, size_t len, int flags,
               const struct pn_endpoint *dst);
long pn_send(struct pn_socket *sk, const void *buf, size_t len, int flags);
/* Receives into buf. Datagram: one datagram per call, truncated to len (the rest is lost,
 * as with recvfrom); returns its length (its full length with PN_MSG_TRUNC), PN_EAGAIN if
 * none, or a pending error. src (optional) gets the sender. */
long pn_recvfrom(struct pn_socket *sk, void *buf, size_t len, int flags, struct pn_endpoint *src);
long pn_recv(struct pn_socket *sk, void *buf, size_t len, int flags);

#define PN_SHUT_RD 0
#define PN_SHUT_WR 1
#define PN_SHUT_RDWR 2
int pn_shutdown(struct pn_socket *sk, int how);
/* Closes and frees the socket handle (a stream connection may live on to finish its
 * close). Returns 0. The handle must not be used again. */
int pn_close(struct pn_socket *sk);

int pn_getsockname(const struct pn_socket *sk, struct pn_endpoint *out);
/* Returns 0 or PN_ENOTCONN. */
int pn_getpeername(const struct pn_socket *sk, struct pn_endpoint *out);
/* Returns 0, PN_ENOPROTOOPT (unknown to this socket type), PN_EINVAL (bad value or length). */
int pn_setsockopt(struct pn_socket *sk, enum pn_sockopt opt, const void *val, size_t len);
/* *len is the buffer size on entry, the value's size on return. */
int pn_getsockopt(struct pn_socket *sk, enum pn_sockopt opt, void *val, size_t *len);

/* TCP connection states (RFC 9293 §3.3.2). */
enum pn_tcp_state {
    PN_TCP_CLOSED, PN_TCP_LISTEN, PN_TCP_SYN_SENT, PN_TCP_SYN_RECEIVED, PN_TCP_ESTABLISHED,
    PN_TCP_FIN_WAIT_1, PN_TCP_FIN_WAIT_2, PN_TCP_CLOSE_WAIT, PN_TCP_CLOSING, PN_TCP_LAST_ACK,
    PN_TCP_TIME_WAIT
};
const char *pn_tcp_state_name(enum pn_tcp_state st);

/* A snapshot of a TCP connection, like Linux's struct tcp_info. Times in microseconds. */
struct pn_tcp_info {
    enum pn_tcp_state state;
    uint32_t rtt_us, rttvar_us, rto_us;
    uint32_t snd_mss, rcv_mss;
    uint32_t cwnd, ssthresh;          /* bytes */
    uint32_t snd_wnd, rcv_wnd;        /* bytes */
    uint8_t snd_wscale, rcv_wscale;
    bool ts_ok, sack_ok, ws_ok;
    uint32_t retransmits;             /* consecutive RTOs of the current episode */
    uint64_t total_retrans;           /* segments retransmitted */
    uint64_t bytes_acked, bytes_received;
    uint64_t segs_out, segs_in;
    uint32_t unacked;                 /* bytes in flight */
    char cc[16];                      /* congestion control name */
};
/* Returns 0, or PN_ENOTSUP for non-stream sockets. */
int pn_tcp_get_info(const struct pn_socket *sk, struct pn_tcp_info *out);

/* Bytes a recv would return now, as Linux's FIONREAD/SIOCINQ: stream sockets the queued
 * in-order bytes, datagram/ping sockets the length of the next datagram (0 if none).
 * Returns >= 0, or PN_EINVAL for a listening socket. */
long pn_socket_nread(struct pn_socket *sk);

/* Current readiness (PN_EV_* bits). */
unsigned pn_socket_events(const struct pn_socket *sk);
/* Installs (or with cb NULL removes) the readiness callback. */
void pn_socket_set_callback(struct pn_socket *sk, pn_socket_cb cb, void *arg);
enum pn_sock_type pn_socket_type(const struct pn_socket *sk);
struct pn_stack *pn_socket_stack(const struct pn_socket *sk);

#ifdef __cplusplus
}
#endif
#endif
