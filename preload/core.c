/* preload/core.c — the shim's one stack: created on the first AF_INET socket() from the
 * PLEBNET_* environment, driven by a thread of its own, and fork handling.
 * Call chain: socket() (sockcalls.c) -> pl_init -> linkspec_finish -> linkspec_open_ex ->
 * pn_stack_new -> stack_thread { real ppoll(link fd, wake eventfd) -> pl_stack_turn
 * { pn_stack_poll -> pl_flush_dirty } -> pl_exit_turn (exitdrain.c, while exiting) }.
 *
 * Behaviour (documented for docs/PRELOAD.md):
 *  - Nothing happens until a program creates its first AF_INET TCP/UDP/ICMP socket; a
 *    program that never does (ls, a shell) runs exactly as without the shim.
 *  - Configuration errors (PLEBNET_LINK unset, a bad PLEBNET_ADDR, a link that does not
 *    open) are logged once as one line and every socket(AF_INET, ...) then fails with
 *    ENETDOWN ("Network is down"): not EAFNOSUPPORT, which programs take as a cue to fall
 *    back to IPv6 and so to the kernel's network.
 *  - RLIMIT_NOFILE's soft limit is raised to the hard one (each socket uses two kernel fds);
 *    the shim's own fds (mirror ends, link sockets, the wake eventfd) are close-on-exec and
 *    moved to high numbers so the app's stay low (select(2) needs them < FD_SETSIZE).
 *  - fork(): the stack, its thread and its link stay in the parent, which keeps working.
 *    In the child, inherited plebnet sockets fail with EBADF after one log line; close()
 *    on them works (it only drops the mapping; the parent's connection is untouched);
 *    socket(AF_INET) fails with ENETDOWN after one log line (a second stack would need the
 *    same address). exec() in the child starts afresh: only kernel fds survive it (the app
 *    ends A are plain AF_UNIX sockets there), and the new program's first AF_INET socket
 *    creates a stack of its own from the environment.
 *  - exit(): exitdrain.c closes the app's sockets and keeps this thread driving until the
 *    connections are through (bounded by PLEBNET_EXIT_LINGER); pl_init then refuses. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "linkspec.h"
#include "shim.h"

struct pn_stack *pl_stack;
bool pl_forked_child;

static struct pn_link *pl_link;
static int wake_fd = -1;
static int init_err;      /* -errno once initialisation failed (logged then) */
static bool link_failed;  /* pn_stack_poll reported the link dead (logged once) */
static bool opening_link; /* the lock holder is opening the link */
static _Atomic uint64_t sleep_until = PL_NEVER; /* what the stack thread sleeps towards */
static bool exiting; /* the process is exiting (exitdrain.c): no new stack or socket */

/* True once pn_stack_poll reported the link dead (or there is no stack). Lock held. */
bool pl_link_dead(void)
{
    return link_failed || !pl_stack;
}

/* From now on pl_init fails with ENETDOWN: the process is exiting and its sockets are being
 * drained. Lock held. */
void pl_refuse_new_sockets(void)
{
    exiting = true;
}

uint64_t pl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool pl_opening_link(void)
{
    return opening_link && pl_internal();
}

void pl_stack_kick(void)
{
    if (!pl_stack || wake_fd < 0)
        return;
    uint64_t d = pn_stack_next_deadline(pl_stack);
    if (d < atomic_load(&sleep_until)) {
        atomic_store(&sleep_until, d);
        uint64_t one = 1;
        ssize_t w = pl_real.write(wake_fd, &one, sizeof(one));
        (void)w; /* a full counter (EAGAIN) already means "wake up" */
    }
}

/* One turn of the stack: receive, run timers, transmit (pn_stack_poll), note a dead link,
 * bring the mirrors the stack touched up to date. Lock held; also used by the exit drain
 * to put its FINs and RSTs on the wire at once. */
void pl_stack_turn(void)
{
    int r = pn_stack_poll(pl_stack, pl_now());
    if (r < 0 && !link_failed) {
        link_failed = true;
        pl_log("the link failed (%s): plebnet sockets will see no more traffic", pn_strerror(r));
    }
    pl_flush_dirty();
}

/* The driving loop: sleep in the kernel until a frame arrives, the next timer is due or
 * an app thread moved the deadline earlier (eventfd); then poll the stack and bring the
 * mirrors of the sockets it touched up to date. Never spins: without a link fd (or after
 * the link failed) it sleeps by deadline only. */
static void *stack_thread(void *arg)
{
    (void)arg;
    for (;;) {
        pl_lock();
        uint64_t d = pn_stack_next_deadline(pl_stack);
        atomic_store(&sleep_until, d);
        int lfd = link_failed ? -1 : pn_stack_fd(pl_stack);
        pl_unlock();
        struct pollfd pfd[2] = {{.fd = wake_fd, .events = POLLIN}, {.fd = lfd, .events = POLLIN}};
        struct timespec ts, *tsp = NULL;
        if (d != PN_TIME_NEVER) {
            uint64_t now = pl_now(), w = d > now ? d - now : 0;
            ts.tv_sec = (time_t)(w / 1000000000ull);
            ts.tv_nsec = (long)(w % 1000000000ull);
            tsp = &ts;
        }
        pl_real.ppoll(pfd, lfd >= 0 ? 2 : 1, tsp, NULL);
        if (pfd[0].revents & POLLIN) {
            uint64_t v;
            ssize_t r = pl_real.read(wake_fd, &v, sizeof(v));
            (void)r;
        }
        pl_lock();
        atomic_store(&sleep_until, 0); /* awake: no kicks needed until we sleep again */
        pl_stack_turn();
        pl_exit_turn();
        pl_unlock();
    }
    return NULL;
}

static void atfork_prepare(void)
{
    pl_lock();
}

static void atfork_parent(void)
{
    pl_unlock();
}

static void atfork_child(void)
{
    bool had_stack = pl_stack != NULL;
    pl_fd_atfork_child(); /* also resets the lock taken in prepare */
    if (had_stack) {
        pl_forked_child = true;
        wake_fd = -1;
    }
}

/* Marks every fd that appeared while the link was opened (a pcap file, a driver's extra
 * socket) as internal, so the app's close() cannot take it away. */
static void mark_new_fds(const uint8_t *before, int n)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd == self)
            continue;
        if (fd >= n || !before[fd])
            pl_fd_set_internal((int)fd, true);
    }
    closedir(d);
}

static void snapshot_fds(uint8_t *map, int n)
{
    memset(map, 0, (size_t)n);
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (!*end && end != e->d_name && fd >= 0 && fd < n)
            map[fd] = 1;
    }
    closedir(d);
}

/* Everything pl_init does under the lock; returns 0 or -errno (logged). */
static int init_locked(void)
{
    struct linkspec ls;
    char err[256];
    linkspec_init(&ls);
    const char *lenv = getenv("PLEBNET_LINK");
    if (!lenv || !*lenv) {
        pl_log("PLEBNET_LINK is not set, so AF_INET sockets have no network "
               "(run the program with `plebnet run [link options] -- CMD`, which sets it): "
               "socket() fails with ENETDOWN");
        return -ENETDOWN;
    }
    if (linkspec_finish(&ls, err, sizeof(err)) < 0) {
        pl_log("%s: socket() fails with ENETDOWN", err);
        return -ENETDOWN;
    }
    int r = pl_fd_table_init();
    if (r < 0) {
        pl_log("cannot map the fd table: %s", strerror(-r));
        return r;
    }
    enum { SNAP = 4096 };
    uint8_t *before = malloc(SNAP);
    if (before)
        snapshot_fds(before, SNAP);
    struct pn_stack_config cfg;
    pn_stack_config_init(&cfg);
    /* Linux's defaults where they differ from the RFCs' (tcp(7), ip-sysctl): RTO floor
     * 200 ms, quick ACKs at connection start, options in Linux's order. */
    cfg.tcp_rto_min_ms = 200;
    cfg.tcp_quickack_segs = 16;
    cfg.tcp_linux_options = true;
    struct pn_link *inner = NULL;
    opening_link = true;
    r = linkspec_open_ex(&ls, &pl_link, &inner, &cfg, err, sizeof(err));
    opening_link = false;
    if (r < 0) {
        free(before);
        pl_log("cannot open the link (PLEBNET_LINK=%s): %s: socket() fails with ENETDOWN", lenv,
               err);
        return -ENETDOWN;
    }
    r = pn_stack_new(&cfg, pl_link, pl_now(), &pl_stack);
    if (r < 0) {
        free(before);
        pn_link_destroy(pl_link);
        pl_link = NULL;
        pl_stack = NULL;
        pl_log("cannot create the stack: %s: socket() fails with ENETDOWN", pn_strerror(r));
        return -ENETDOWN;
    }
    if (before) {
        mark_new_fds(before, SNAP);
        free(before);
    }
    int lfd = pn_stack_fd(pl_stack);
    if (lfd >= 0)
        pl_fd_set_internal(lfd, true);
    wake_fd = pl_fd_relocate(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (wake_fd < 0) {
        pl_log("eventfd: %s", strerror(errno));
        goto fail_stack;
    }
    /* The stack thread takes no signals: they belong to the app's threads (and EINTR of
     * their blocking calls). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t th;
    r = pthread_create(&th, NULL, stack_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        pl_log("cannot start the stack thread: %s", strerror(r));
        goto fail_stack;
    }
    pthread_detach(th);
    static bool atfork_done;
    if (!atfork_done) {
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
        atfork_done = true;
    }
    return 0;
fail_stack:
    pn_stack_free(pl_stack);
    pn_link_destroy(pl_link);
    pl_stack = NULL;
    pl_link = NULL;
    return -ENETDOWN;
}

int pl_init(void)
{
    pl_real_init();
    pl_lock();
    int r = 0;
    if (exiting) {
        r = -ENETDOWN; /* another thread runs exit(): the drain closed every socket */
    } else if (pl_forked_child) {
        pl_unsupported("socket(AF_INET) in a child forked from a plebnet process (the "
                       "stack stays in the parent; exec first): ENETDOWN");
        r = -ENETDOWN;
    } else if (!pl_stack) {
        if (init_err == 0)
            init_err = init_locked();
        r = pl_stack ? 0 : init_err;
    }
    pl_unlock();
    return r;
}
