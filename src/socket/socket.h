/* socket/socket.h — what every socket type shares: the handle, readiness bookkeeping and
 * callbacks, common options, and the per-type operations table the public calls dispatch
 * through. Call chain: pn_sendto (socket/api.c) -> sk->ops->sendto (udp/ping/tcp). */
#ifndef PN_SOCKET_SOCKET_H
#define PN_SOCKET_SOCKET_H

#include <stdbool.h>
#include <stdint.h>
#include "plebnet/socket.h"

struct pn_socket_ops {
    int (*bind)(struct pn_socket *sk, const struct pn_endpoint *local);
    int (*connect)(struct pn_socket *sk, const struct pn_endpoint *remote);
    int (*listen)(struct pn_socket *sk, int backlog);                      /* optional */
    int (*accept)(struct pn_socket *sk, struct pn_socket **out);           /* optional */
    long (*sendto)(struct pn_socket *sk, const void *buf, size_t len, int flags,
                   const struct pn_endpoint *dst);
    long (*recvfrom)(struct pn_socket *sk, void *buf, size_t len, int flags,
                     struct pn_endpoint *src);
    int (*shutdown)(struct pn_socket *sk, int how);
    /* Releases type state; the handle itself is freed by the caller unless it returns 1
     * (the type keeps the memory alive, e.g. a TCP connection finishing its close). */
    int (*close)(struct pn_socket *sk);
    int (*setsockopt)(struct pn_socket *sk, enum pn_sockopt opt, const void *val, size_t len);
    int (*getsockopt)(struct pn_socket *sk, enum pn_sockopt opt, void *val, size_t *len);
};

struct pn_socket {
    const struct pn_socket_ops *ops;
    struct pn_stack *stack;
    enum pn_sock_type type;
    unsigned events;             /* current readiness, PN_EV_* */
    pn_socket_cb cb;
    void *cb_arg;
    int so_error;                /* pending PN_E* error, 0 if none */
    struct pn_endpoint local;    /* addr 0 = any */
    struct pn_endpoint remote;   /* valid when connected */
    bool bound, connected;
    bool rd_shut, wr_shut;
    /* common options */
    bool opt_broadcast, opt_reuseaddr, opt_dontfrag;
    uint8_t ttl;                 /* 0 = stack default */
    uint8_t tos;
    uint32_t rcvbuf, sndbuf;
    struct pn_socket *port_next; /* port-table chain */
    struct pn_socket **port_pprev; /* TCP: the link pointing at us, for O(1) unlinking */
    struct pn_socket *all_next, *all_prev; /* every socket of the stack */
};

/* Initialises the common part and links sk into the stack's socket list. */
void pn_socket_init_common(struct pn_socket *sk, struct pn_stack *s, enum pn_sock_type type,
                           const struct pn_socket_ops *ops);
/* Unlinks sk from the stack's socket list. */
void pn_socket_unlink(struct pn_socket *sk);
/* Sets `bits` in the readiness mask; calls the callback with those that were newly set. */
void pn_socket_raise(struct pn_socket *sk, unsigned bits);
/* Clears `bits` from the readiness mask. */
void pn_socket_lower(struct pn_socket *sk, unsigned bits);
/* Records a pending error and raises PN_EV_ERR. */
void pn_socket_set_error(struct pn_socket *sk, int err);
/* Takes (and clears) the pending error. */
int pn_socket_take_error(struct pn_socket *sk);
/* Options every type understands (buffers, TTL, TOS, broadcast, reuseaddr, error, type).
 * Returns PN_ENOPROTOOPT for others so the type can handle them. */
int pn_socket_common_setsockopt(struct pn_socket *sk, enum pn_sockopt opt, const void *val,
                                size_t len);
int pn_socket_common_getsockopt(struct pn_socket *sk, enum pn_sockopt opt, void *val,
                                size_t *len);

/* Constructors per type (udp/udp.c; tcp/ later). Each returns 0 or PN_ENOMEM. */
int pn_udp_socket_new(struct pn_stack *s, enum pn_sock_type type, struct pn_socket **out);

#endif
