/* preload/shim.h — what the LD_PRELOAD socket shim's files share: the real libc entry
 * points, the one stack and its lock, the fd table that maps kernel fd numbers to plebnet
 * sockets, the kernel "mirror" that makes each socket's readiness visible to the kernel's
 * own poll/select/epoll, blocking waits, and errno mapping.
 * Call chain: app -> interposed libc symbol (sockcalls.c, fdcalls.c, io.c, sockopt.c,
 * dns.c) -> pl_acquire -> pn_* (libplebnet, linked in statically) -> pl_release.
 *
 * The mirror. Every plebnet socket is a real AF_UNIX SOCK_STREAM socketpair: the app holds
 * end A (the fd number socket()/accept() return), the shim holds end B (moved to a high fd
 * number, close-on-exec). The shim makes A's kernel readiness equal the plebnet socket's:
 *   POLLIN       B writes a one-byte token into A's receive queue; the shim reads the
 *                tokens back out of A when the socket stops being readable. A new token
 *                is written on every data arrival after the app last read, so EPOLLET
 *                wakes as it would on a kernel socket.
 *   POLLOUT off  A writes a "blocker" into B's receive queue, which fills A's (tiny)
 *                send buffer; B reads it back when the socket becomes writable again.
 *   POLLRDHUP    shutdown(B, SHUT_WR) once the peer's FIN arrived (irreversible, as in TCP).
 *   POLLHUP      shutdown(B, SHUT_RDWR) once both directions are closed.
 *   POLLERR      close(B) with the blocker still queued in B: the kernel sets ECONNRESET on
 *                A (POLLERR|POLLHUP|POLLIN|POLLRDHUP|POLLOUT, exactly a reset TCP socket);
 *                reading SO_ERROR (getsockopt, interposed) clears it on A too.
 * So the application's poll, ppoll, select, pselect and epoll (level, edge, oneshot, mixed
 * with kernel fds) run in the kernel unmodified, and fstat() says S_ISSOCK.
 *
 * Locking: one mutex (the stack lock) guards the stack and every pl_sock. The stack
 * thread holds it while it polls the stack; an app thread holds it between pl_acquire and
 * pl_release. While a thread holds it, every interposed call that thread makes (e.g. the
 * link's own sendmmsg, socket() inside the vxlan driver) passes straight to the kernel. */
#ifndef PL_SHIM_H
#define PL_SHIM_H

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include "plebnet/plebnet.h"

#define PL_EXPORT __attribute__((visibility("default")))
#define PL_NEVER UINT64_MAX

/* ---- real libc entry points (real.c): resolved with dlsym(RTLD_NEXT) in a constructor,
 * and lazily if an interposed call runs before it (another library's constructor). ---- */
struct pl_real {
    int (*socket)(int, int, int);
    int (*socketpair)(int, int, int, int[2]);
    int (*bind)(int, const struct sockaddr *, socklen_t);
    int (*listen)(int, int);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    int (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*__read_chk)(int, void *, size_t, size_t);
    ssize_t (*__recv_chk)(int, void *, size_t, size_t, int);
    ssize_t (*__recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*sendfile)(int, int, off_t *, size_t);
    ssize_t (*sendfile64)(int, int, off64_t *, size_t);
    int (*close)(int);
    int (*shutdown)(int, int);
    int (*getsockopt)(int, int, int, void *, socklen_t *);
    int (*setsockopt)(int, int, int, const void *, socklen_t);
    int (*getsockname)(int, struct sockaddr *, socklen_t *);
    int (*getpeername)(int, struct sockaddr *, socklen_t *);
    int (*fcntl)(int, int, ...);
    int (*fcntl64)(int, int, ...);
    int (*ioctl)(int, unsigned long, ...);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*poll)(struct pollfd *, nfds_t, int);
    int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
    int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    void (*freeaddrinfo)(struct addrinfo *);
    int (*getnameinfo)(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t,
                       int);
    struct hostent *(*gethostbyname)(const char *);
    struct hostent *(*gethostbyname2)(const char *, int);
    int (*gethostbyname_r)(const char *, struct hostent *, char *, size_t, struct hostent **,
                           int *);
    int (*gethostbyname2_r)(const char *, int, struct hostent *, char *, size_t,
                            struct hostent **, int *);
    struct hostent *(*gethostbyaddr)(const void *, socklen_t, int);
    int (*gethostbyaddr_r)(const void *, socklen_t, int, struct hostent *, char *, size_t,
                           struct hostent **, int *);
};
extern struct pl_real pl_real;
/* Resolves every pointer (idempotent, thread-safe). Aborts with one line if libc lacks one
 * that is needed. */
void pl_real_init(void);

/* ---- the shim's own sockets ---- */
struct pl_sock {
    struct pn_socket *pn;      /* NULL once closed (or in a forked child) */
    int type;                  /* SOCK_STREAM or SOCK_DGRAM (kernel constants) */
    int protocol;              /* IPPROTO_TCP / IPPROTO_UDP / IPPROTO_ICMP */
    int mirror_fd;             /* end B of the socketpair (shim-owned, high, CLOEXEC) */
    int app_fd;                /* the first app fd (end A); dups may add more */
    int refs;                  /* app fds that map to this socket (dup, dup2, F_DUPFD...) */
    int waiters;               /* threads inside pl_wait: the memory outlives close */
    bool nonblock;             /* O_NONBLOCK of the open file description (shared by dups) */
    bool closed;               /* the app closed its last fd; pn is gone */
    bool listening;
    uint64_t rcvtimeo_ns;      /* SO_RCVTIMEO, 0 = forever */
    uint64_t sndtimeo_ns;      /* SO_SNDTIMEO, 0 = forever */
    /* options the stack has no notion of, kept so that get returns what set stored
     * (sockopt.c): SO_RCVLOWAT, SO_OOBINLINE, TCP_QUICKACK, TCP_DEFER_ACCEPT, ... */
    int rcvlowat, oobinline, quickack, defer_accept, cork, ip_recverr, ip_pktinfo;
    /* more of them (sockopt.c; zero-initialised = Linux's default): `opt_set` has a
     * PL_OPT_* bit for each option whose default is not zero once it was set */
    int reuseport, priority, no_check, notsent_lowat, ip_mtu_discover;
    int keepalive, linger_onoff, linger_s; /* datagram sockets only (TCP's live in pn) */
    unsigned opt_set;
    /* mirror state (mirror.c only) */
    unsigned mirror_events;    /* PN_EV_* bits currently visible on A */
    int tokens;                /* token bytes queued in A (POLLIN) */
    bool token_fresh;          /* the app read since the last token was written */
    int blocker;               /* bytes of blocker queued in B (POLLOUT off), 0 if none */
    bool rdhup_done, hup_done, err_done; /* irreversible mirror steps taken */
    struct pl_sock *dirty_next; /* on the dirty list (stack callback) */
    bool dirty;
    /* added by the core helper (fdtable.c, mirror.c, sockcalls.c) */
    bool in_news;              /* data arrived since the last mirror sync (stack callback) */
    bool err_cleared;          /* A's kernel error (set by close(B)) was read back */
    uint8_t sstate;            /* PL_SS_*: connect(2)'s view, as Linux's sock->state */
};
enum { PL_SS_UNCONNECTED = 0, PL_SS_CONNECTING, PL_SS_CONNECTED };

/* ---- lifecycle (core.c) ---- */
/* The one stack, created on first use from PLEBNET_LINK/ADDR/GW/MAC/PCAP (the same syntax as
 * `plebnet --link ...`), with its driving thread. NULL until pl_init succeeded. Use only
 * with the lock held. */
extern struct pn_stack *pl_stack;
/* Creates the stack and its thread if not done yet. Returns 0, or -errno after logging
 * one line saying why (bad PLEBNET_* variable, link failed to open). Thread-safe. */
int pl_init(void);
/* True in a child forked from a process whose stack lives in the parent: inherited
 * plebnet sockets are unusable there (pl_acquire logs once and fails with EBADF). */
extern bool pl_forked_child;
/* The stack clock (CLOCK_MONOTONIC in ns). */
uint64_t pl_now(void);

/* ---- the lock and the fd table (fdtable.c) ---- */
void pl_lock(void);
void pl_unlock(void);
/* True while the calling thread holds the lock or runs shim-internal code: interposed
 * calls made then must go straight to pl_real. */
bool pl_internal(void);
/* Lock-free lookup: the socket behind app fd, or NULL. Stable only under the lock. */
struct pl_sock *pl_fd_peek(int fd);
/* Takes the stack lock for an operation on fd. Returns
 *    1  fd is a live plebnet socket: *out is set and the lock is held;
 *    0  not a plebnet socket (or pl_internal()): pass the call to the kernel; no lock;
 *   -1  a plebnet socket that cannot be used here (forked child: logged once, errno =
 *       EBADF); no lock. */
int pl_acquire(int fd, struct pl_sock **out);
/* Ends an operation begun by pl_acquire (or any locked section): brings the mirrors of s
 * (may be NULL) and of every socket the stack marked dirty up to date, wakes the stack
 * thread if its next deadline moved earlier, and unlocks. Keeps errno. If s was closed by
 * another thread while this one slept in pl_wait (-EBADF), this frees it once the last
 * waiter is through, so always pass the s that pl_acquire gave. */
void pl_release(struct pl_sock *s);
/* Creates a plebnet socket of kernel type/protocol on a new socketpair; the lock must be
 * held. `flags` takes SOCK_NONBLOCK|SOCK_CLOEXEC. Returns the app fd (registered in the
 * table, *out set), or -errno. */
int pl_sock_create(struct pn_socket *pn, int type, int protocol, int flags,
                   struct pl_sock **out);
/* Drops app fd from the table; closes the plebnet socket when it was the last fd. Lock
 * held. Does not close the kernel fd itself. */
void pl_fd_unmap(int fd);
/* Maps another app fd (a dup) to s; lock held. */
void pl_fd_map(int fd, struct pl_sock *s);
/* Brings every socket the stack marked dirty up to date (lock held). */
void pl_flush_dirty(void);
/* Marks fd as (not) shim-internal. */
void pl_fd_set_internal(int fd, bool internal);
/* Moves a shim-internal fd to a high number with F_DUPFD_CLOEXEC (closing the old one),
 * marks it internal and returns the new number (the old one if it cannot move). */
int pl_fd_relocate(int fd);
/* One past the highest fd ever mapped or marked internal (0 before the table exists). */
int pl_fd_scan_limit(void);
/* Sets up the fd table once (sizes it by the hard RLIMIT_NOFILE). Lock held. 0 or -errno. */
int pl_fd_table_init(void);
/* fork child: forgets the lock's state and every internal fd (closing them). */
void pl_fd_atfork_child(void);
/* Wakes the stack thread if the stack's next deadline moved before what it sleeps
 * towards (core.c). Lock held. */
void pl_stack_kick(void);
/* True while this thread opens the link (core.c): its sockets are moved high. */
bool pl_opening_link(void);
/* True if fd is one of the shim's own (mirror ends, the link's, the wake eventfd): the
 * app's close/dup2 onto it must not take it away (fdcalls.c refuses with EBADF). */
bool pl_fd_is_internal(int fd);

/* ---- readiness and blocking (mirror.c) ---- */
/* Makes A's kernel readiness match pn_socket_events(s->pn); lock held. */
void pl_mirror_sync(struct pl_sock *s);
/* Called when the app reads SO_ERROR: clears the pending error on A too. Lock held. */
void pl_mirror_error_taken(struct pl_sock *s);
/* Sleeps until any of `pn_events` (PN_EV_*; ERR and HUP always wake) is set on s, the
 * deadline (pl_now() scale, PL_NEVER = none) passes, or a signal arrives. Entered and left
 * with the lock held; drops it while sleeping in the kernel's poll on A. Returns 0 (ready:
 * retry the operation), -EAGAIN (deadline passed: the caller returns EAGAIN/EWOULDBLOCK as
 * Linux does for SO_RCVTIMEO/SO_SNDTIMEO), -EINTR (a signal handler ran) or -EBADF (the
 * app closed the socket meanwhile; s->closed is set). */
int pl_wait(struct pl_sock *s, unsigned pn_events, uint64_t deadline);
/* now + timeo_ns, or PL_NEVER for 0. */
uint64_t pl_deadline(uint64_t timeo_ns);

/* ---- conversions and diagnostics (util.c) ---- */
/* A PN_E* code as a positive errno value. */
int pl_errno(int pn_err);
/* Sets errno to err and returns -1 (for `return pl_fail(EINVAL);`). */
int pl_fail(int err);
/* sockaddr_in -> endpoint. Returns 0, -EAFNOSUPPORT (not AF_INET; AF_UNSPEC gives
 * -EAFNOSUPPORT too unless allow_unspec, then *ep = {0, 0}) or -EINVAL (short length). */
int pl_sockaddr_to_ep(const struct sockaddr *sa, socklen_t len, bool allow_unspec,
                      struct pn_endpoint *ep);
/* endpoint -> sockaddr_in, truncated to *len as POSIX says; *len becomes the full size.
 * sa/len may be NULL (nothing written). */
void pl_ep_to_sockaddr(const struct pn_endpoint *ep, struct sockaddr *sa, socklen_t *len);
/* One line "plebnet-preload: <message>" on stderr, written with the real write(2). */
void pl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs "plebnet-preload: unsupported: <what>" once per distinct `what` (a static
 * string), for calls, flags and options the shim does not implement. */
void pl_unsupported(const char *what);

/* ---- process exit (exitdrain.c): closed connections finish before the process ends ---- */
/* pl_lock, but gives up after timeout_ns (0 = only if free now): 0 with the lock held, or
 * -ETIMEDOUT (fdtable.c). */
int pl_lock_timed(uint64_t timeout_ns);
/* Unmaps every app fd, closing each socket as its last close() would; lock held. Returns
 * the number of fds unmapped (fdtable.c). */
int pl_fd_close_all(void);
/* True once pn_stack_poll reported the link dead, or there is no stack; lock held (core.c). */
bool pl_link_dead(void);
/* From now on pl_init fails with ENETDOWN: no new stack while the process exits (core.c). */
void pl_refuse_new_sockets(void);
/* One turn of the stack thread's work (poll the stack, sync the mirrors); lock held. */
void pl_stack_turn(void);
/* Called by the stack thread at the end of each turn: wakes the exiting thread once every
 * closed connection is through (exitdrain.c); lock held. */
void pl_exit_turn(void);

#endif
