/* preload/mirror.c — makes each plebnet socket's readiness visible on the kernel fd the
 * app holds (end A of a socketpair), so the app's own poll/select/epoll work unmodified,
 * and sleeps in the kernel on A when a blocking call must wait.
 * Call chain: pl_release / stack thread -> pl_flush_dirty -> pl_mirror_sync;
 * blocking calls -> pl_wait -> real ppoll(A) with the lock dropped.
 *
 * Kernel facts this relies on (each checked by experiment on Linux 6.x, AF_UNIX stream):
 *  - SO_SNDBUF 0 on A gives 4608 bytes; one 256..4096-byte message from A queued unread
 *    in B makes A report no POLLOUT (unix_writable: wmem_alloc * 4 > sndbuf); B reading it
 *    back gives POLLOUT again and an EPOLLOUT edge to EPOLLET watchers.
 *  - each byte B writes into A raises a new EPOLLET event (IN|OUT) even while A already
 *    holds unread bytes; taking one token out and writing one in does the same, so the
 *    token count stays at one.
 *  - shutdown(B, SHUT_WR): A shows IN|OUT|RDHUP; shutdown(B, SHUT_RDWR): IN|OUT|RDHUP|HUP,
 *    and A can then no longer send (EPIPE), so the blocker is drained first.
 *  - close(B) with bytes from A still unread in B: A shows IN|OUT|RDHUP|HUP|ERR with
 *    SO_ERROR ECONNRESET; reading SO_ERROR leaves IN|OUT|RDHUP|HUP. A Linux TCP socket
 *    after a refused or reset connection shows exactly these two sets.
 * Differences from a kernel TCP/UDP socket that the mirror cannot reproduce:
 *  - a fresh, never connected TCP socket shows POLLOUT only (Linux: POLLOUT|POLLHUP): HUP
 *    on A is irreversible and the socket may still connect or listen;
 *  - a UDP socket's pending ICMP error makes A readable (POLLIN), not POLLERR: ERR on A is
 *    only possible by closing B, which would end the mirror; recv then returns the error;
 *  - after a terminal error the mirror is fixed, so a TCP socket cannot connect again. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include "shim.h"

#define BLOCKER_LEN 512
#define SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)

static void drain_tokens(struct pl_sock *s)
{
    char buf[64];
    while (s->tokens > 0) {
        int n = s->tokens < (int)sizeof(buf) ? s->tokens : (int)sizeof(buf);
        ssize_t r = pl_real.recv(s->app_fd, buf, (size_t)n, MSG_DONTWAIT);
        if (r <= 0)
            break;
        s->tokens -= (int)r;
    }
    if (s->tokens < 0)
        s->tokens = 0;
}

static bool put_token(struct pl_sock *s)
{
    if (pl_real.send(s->mirror_fd, "t", 1, SEND_FLAGS) == 1) {
        s->tokens++;
        return true;
    }
    return false;
}

static void put_blocker(struct pl_sock *s)
{
    static const char blk[BLOCKER_LEN];
    ssize_t r = pl_real.send(s->app_fd, blk, sizeof(blk), SEND_FLAGS);
    if (r > 0)
        s->blocker += (int)r;
}

static void drain_blocker(struct pl_sock *s)
{
    char buf[BLOCKER_LEN];
    while (s->blocker > 0) {
        ssize_t r = pl_real.recv(s->mirror_fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r <= 0)
            break;
        s->blocker -= (int)r;
    }
    if (s->blocker < 0)
        s->blocker = 0;
}

/* A TCP socket in a terminal error: close B with a blocker queued so A gets ECONNRESET
 * (POLLERR|POLLHUP|POLLIN|POLLRDHUP|POLLOUT, as a reset or refused Linux TCP socket). If
 * B's receive side was already shut (HUP mirrored before the error), only HUP remains. */
static void mirror_terminal(struct pl_sock *s)
{
    if (s->blocker == 0 && !s->hup_done)
        put_blocker(s);
    pl_fd_set_internal(s->mirror_fd, false);
    pl_real.close(s->mirror_fd);
    s->mirror_fd = -1;
    s->err_done = s->rdhup_done = s->hup_done = true;
    s->tokens = 0;
    s->blocker = 0;
}

void pl_mirror_error_taken(struct pl_sock *s)
{
    if (!s->err_done || s->err_cleared)
        return;
    int e = 0;
    socklen_t len = sizeof(e);
    pl_real.getsockopt(s->app_fd, SOL_SOCKET, SO_ERROR, &e, &len);
    s->err_cleared = true;
}

void pl_mirror_sync(struct pl_sock *s)
{
    if (s->closed || !s->pn)
        return;
    unsigned ev = pn_socket_events(s->pn);
    bool tcp = s->type == SOCK_STREAM;
    if (s->err_done) {
        /* The error was taken by recv/connect/SO_ERROR: clear A's too (Linux's sk_err
         * is read once). */
        if (!(ev & PN_EV_ERR))
            pl_mirror_error_taken(s);
        s->mirror_events = ev;
        return;
    }
    if (s->mirror_fd < 0)
        return;
    if (tcp && (ev & PN_EV_ERR)) {
        mirror_terminal(s);
        s->mirror_events = ev;
        return;
    }
    /* First the irreversible steps, so that a thread woken by a token below already
     * sees RDHUP/HUP with it (the app's epoll may read A's state between two steps).
     * HUP: both directions closed (Linux reports POLLOUT then too: tcp_poll sets it
     * once SEND_SHUTDOWN is set), so the blocker goes first. */
    if ((ev & PN_EV_HUP) && !s->hup_done) {
        drain_blocker(s);
        pl_real.shutdown(s->mirror_fd, SHUT_RDWR);
        s->hup_done = s->rdhup_done = true;
    } else if ((ev & PN_EV_RDHUP) && !s->rdhup_done) {
        pl_real.shutdown(s->mirror_fd, SHUT_WR);
        s->rdhup_done = true;
    }
    /* POLLIN: a token while readable; a fresh token (one out, one in) on new data after
     * the app touched the socket, so EPOLLET reports every arrival it would report. */
    bool want_in = (ev & PN_EV_IN) || (!tcp && (ev & PN_EV_ERR));
    if (want_in && !s->rdhup_done) {
        if (s->tokens == 0) {
            put_token(s);
            s->token_fresh = false;
        } else if (s->in_news && s->token_fresh) {
            char c;
            if (pl_real.recv(s->app_fd, &c, 1, MSG_DONTWAIT) == 1)
                s->tokens--;
            put_token(s);
            s->token_fresh = false;
        }
    } else if (!want_in && s->tokens > 0) {
        drain_tokens(s);
    }
    s->in_news = false;
    /* A TCP socket that was never connected nor listened on: Linux's tcp_poll reports
     * POLLOUT for it (and POLLHUP, which the mirror cannot show, see above). */
    bool fresh_tcp = tcp && !s->listening && s->sstate == PL_SS_UNCONNECTED;
    if (fresh_tcp)
        ev |= PN_EV_OUT;
    if (!s->hup_done) {
        if (!(ev & PN_EV_OUT) && s->blocker == 0)
            put_blocker(s);
        else if ((ev & PN_EV_OUT) && s->blocker > 0)
            drain_blocker(s);
    }
    s->mirror_events = ev;
}

uint64_t pl_deadline(uint64_t timeo_ns)
{
    return timeo_ns ? pl_now() + timeo_ns : PL_NEVER;
}

int pl_wait(struct pl_sock *s, unsigned pn_events, uint64_t deadline)
{
    for (;;) {
        if (s->closed || !s->pn)
            return -EBADF;
        unsigned cur = pn_socket_events(s->pn);
        if (cur & (pn_events | PN_EV_ERR | PN_EV_HUP))
            return 0;
        /* A dead mirror cannot wake us; the socket's state is final anyway. */
        if (s->mirror_fd < 0)
            return 0;
        uint64_t now = pl_now();
        if (deadline != PL_NEVER && now >= deadline)
            return -EAGAIN;
        /* A must be current before we sleep on it. */
        pl_mirror_sync(s);
        pl_flush_dirty();
        pl_stack_kick();
        struct pollfd pfd = {.fd = s->app_fd, .events = 0};
        if (pn_events & PN_EV_IN)
            pfd.events |= POLLIN;
        if (pn_events & PN_EV_OUT)
            pfd.events |= POLLOUT;
        if (pn_events & PN_EV_RDHUP)
            pfd.events |= POLLRDHUP;
        struct timespec ts, *tsp = NULL;
        if (deadline != PL_NEVER) {
            uint64_t w = deadline - now;
            ts.tv_sec = (time_t)(w / 1000000000ull);
            ts.tv_nsec = (long)(w % 1000000000ull);
            tsp = &ts;
        }
        s->waiters++;
        pl_unlock();
        int r = pl_real.ppoll(&pfd, 1, tsp, NULL);
        int err = errno;
        pl_lock();
        s->waiters--;
        if (s->closed)
            return -EBADF; /* s stays allocated until the caller's pl_release(s) */
        /* ppoll(2): EINTR "a signal occurred before any requested event". */
        if (r < 0 && err == EINTR)
            return -EINTR;
        /* A's number was closed behind the shim's back (a raw syscall): never spin. */
        if (r > 0 && (pfd.revents & POLLNVAL))
            return -EBADF;
    }
}
