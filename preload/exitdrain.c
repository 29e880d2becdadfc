/* preload/exitdrain.c — process exit under the shim: close every plebnet socket the program
 * still holds, as the kernel does for a dying process, and keep the stack thread driving
 * until the closed connections have delivered their data and had their FIN acknowledged.
 * Call chain: exit() -> atexit/__cxa_atexit handlers -> _dl_fini -> exit_drain (this
 * library's destructor) -> pl_lock_timed -> pl_fd_close_all -> pn_close, pl_stack_turn
 * (core.c) -> pn_stack_poll, which sends the FINs and RSTs; then it sleeps on
 * an eventfd that stack_thread (core.c) -> pl_exit_turn writes once pn_stack_tcp_unfinished
 * and the ARP queues are empty or the link is dead.
 *
 * Why a destructor: _dl_fini is the first exit handler registered (by __libc_start_main),
 * so it runs last, after every atexit handler and the program's own destructors, which may
 * still write to their sockets; the shim was initialised before the program, so it is
 * finalised after it. exit() and a return from main get here; _exit(), _Exit(), abort()
 * and death by a signal do not (the data still queued in the stack is lost then).
 *
 * What Linux does (tcp(7), socket(7) SO_LINGER): a process's exit closes its descriptors;
 * close() returns at once and the kernel finishes sending the data and the FIN handshake on
 * the orphaned connection (RFC 9293 §3.10.4 CLOSE: "queued SENDs ... will be transmitted");
 * SO_LINGER {1, 0} aborts with a RST instead (pn_close does both; it also resets when
 * received data was left unread, RFC 2525 §2.17, as Linux does). The orphan then waits in
 * FIN-WAIT-2/TIME-WAIT; we do not: once our FIN is acknowledged the peer has everything.
 *
 * Bound: PLEBNET_EXIT_LINGER seconds (decimal, 0 = do not wait), default 30 s: a healthy
 * path drains even the largest send buffer (tcp_sndbuf_max, 4 MiB) in that time down to about
 * 1.1 Mbit/s, and it spans 7 back-to-back retransmission timeouts from the 200 ms floor
 * (0.2 * (2^7 - 1) = 25.4 s, RFC 6298 §5.5 backoff), while a dead peer holds the program's
 * exit for half a minute, not for the kernel's minutes of orphan retries. The wait ends early
 * once the link has failed: nothing can be delivered any more.
 *
 * Deadlocks avoided: an exit() while this thread holds the stack lock (exit from a signal
 * handler that interrupted a shim call) skips the drain, since the stack is mid-update; a
 * lock held by another thread is waited for at most 1 s; a forked child (whose stack thread
 * stayed in the parent) never waits for the parent's connections; the wait itself holds no
 * lock, so the stack thread and the program's other threads keep running. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "shim.h"

#define EXIT_LINGER_DEFAULT_S 30.0
#define EXIT_LINGER_MAX_S 86400.0
#define EXIT_LOCK_WAIT_NS PN_SEC(1) /* the lock is never held across a blocking call */
#define EXIT_POLL_NS PN_MS(10)      /* re-check period without an eventfd (EMFILE) */

static bool draining;    /* lock: the exiting thread waits for done_fd */
static int done_fd = -1; /* eventfd the stack thread writes once the drain is complete */
static atomic_bool exit_started;

static int arp_queued_cb(const struct pn_arp_entry_info *e, void *arg)
{
    *(uint32_t *)arg += e->queued;
    return 0;
}

/* Connections still owing data or a FIN ack, plus packets held for ARP resolution (a UDP
 * datagram sent just before exit, a SYN). Lock held. */
static uint32_t exit_pending(void)
{
    uint32_t n = pn_stack_tcp_unfinished(pl_stack);
    pn_stack_arp_foreach(pl_stack, arp_queued_cb, &n);
    return n;
}

void pl_exit_turn(void)
{
    if (!draining)
        return;
    if (pl_link_dead() || exit_pending() == 0) {
        uint64_t one = 1;
        ssize_t w = pl_real.write(done_fd, &one, sizeof(one));
        (void)w; /* a full counter (EAGAIN) has woken the waiter already */
        draining = false;
    }
}

/* PLEBNET_EXIT_LINGER in nanoseconds; a bad value is logged once and the default used. */
static uint64_t exit_limit_ns(void)
{
    const char *v = getenv("PLEBNET_EXIT_LINGER");
    double s = EXIT_LINGER_DEFAULT_S;
    if (v && *v) {
        char *end;
        errno = 0;
        double x = strtod(v, &end);
        if (errno || *end || end == v || !isfinite(x) || x < 0 || x > EXIT_LINGER_MAX_S)
            pl_log("PLEBNET_EXIT_LINGER=%s is not a number of seconds in 0..%.0f: using %.0f", v,
                   EXIT_LINGER_MAX_S, EXIT_LINGER_DEFAULT_S);
        else
            s = x;
    }
    return (uint64_t)(s * 1e9);
}

__attribute__((destructor)) static void exit_drain(void)
{
    if (pl_fd_scan_limit() == 0 || pl_forked_child) /* no socket ever, or the parent's stack */
        return;
    if (atomic_exchange(&exit_started, true))
        return;
    if (pl_internal()) {
        pl_log("exit() inside a shim call (from a signal handler?): plebnet connections are "
               "not drained, data still queued is lost");
        return;
    }
    uint64_t limit = exit_limit_ns();
    uint64_t start = pl_now();
    if (pl_lock_timed(limit < EXIT_LOCK_WAIT_NS ? limit : EXIT_LOCK_WAIT_NS) < 0) {
        pl_log("exit: another thread holds the stack lock: plebnet connections are not "
               "drained, data still queued is lost");
        return;
    }
    if (!pl_stack) {
        pl_unlock();
        return;
    }
    pl_refuse_new_sockets();
    pl_fd_close_all();
    pl_stack_turn(); /* the FINs and RSTs leave now, not when the stack thread next wakes */
    uint32_t pending = exit_pending();
    bool dead = pl_link_dead();
    if (pending == 0 || dead || limit == 0) {
        pl_stack_kick();
        pl_unlock();
        if (pending && dead)
            pl_log("exit: the link is down: %u connection(s) with data or a FIN not yet "
                   "acknowledged are dropped",
                   pending);
        return;
    }
    if (done_fd < 0)
        done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); /* -1: poll every 10 ms instead */
    draining = done_fd >= 0;
    pl_stack_kick();
    pl_unlock();

    uint64_t deadline = start + limit;
    for (;;) {
        uint64_t now = pl_now();
        if (now >= deadline)
            break;
        uint64_t w = deadline - now;
        if (done_fd < 0 && w > EXIT_POLL_NS)
            w = EXIT_POLL_NS;
        struct timespec ts = {(time_t)(w / 1000000000ull), (long)(w % 1000000000ull)};
        struct pollfd p = {.fd = done_fd, .events = POLLIN};
        int r = pl_real.ppoll(&p, done_fd >= 0 ? 1 : 0, &ts, NULL);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0 || done_fd < 0) {
            if (r > 0) {
                uint64_t v;
                ssize_t n = pl_real.read(done_fd, &v, sizeof(v));
                (void)n;
            }
            if (pl_lock_timed(EXIT_LOCK_WAIT_NS) < 0)
                return;
            pending = exit_pending();
            dead = pl_link_dead();
            draining = done_fd >= 0 && pending && !dead; /* not done after all: re-arm */
            pl_unlock();
            if (pending == 0 || dead)
                break;
        }
    }
    if (pl_lock_timed(EXIT_LOCK_WAIT_NS) < 0)
        return;
    draining = false;
    pending = exit_pending();
    dead = pl_link_dead();
    pl_unlock();
    if (pending && dead)
        pl_log("exit: the link is down: %u connection(s) with data or a FIN not yet "
               "acknowledged are dropped",
               pending);
    else if (pending)
        pl_log("exit: %u connection(s) still had data or a FIN unacknowledged after %.1f s "
               "(PLEBNET_EXIT_LINGER): the peer sees them cut off",
               pending, (double)limit / 1e9);
}
