/* preload/fdtable.c — the stack lock, the table mapping app fd numbers to plebnet sockets,
 * the marks on the shim's own fds, and the socket life cycle (create on a socketpair, map
 * dups, close with the last fd, free once no thread waits on it).
 * Call chain: interposed call -> pl_acquire (lock) -> pn_* -> pl_release (mirror sync of s
 * and of the dirty list filled by sock_cb, stack-thread kick, unlock). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "shim.h"

#define TLS __thread __attribute__((tls_model("initial-exec")))

/* The table holds at most this many fds (8 MiB of address space, touched pages only). */
#define TAB_CAP (1 << 20)

static pthread_mutex_t stack_mu = PTHREAD_MUTEX_INITIALIZER;
static TLS int lock_depth; /* > 0 while this thread holds stack_mu */

/* Published once (release) after tab_size is set; read lock-free (acquire). */
static _Atomic(struct pl_sock *) *_Atomic tab;
static uint8_t *internal_tab; /* 1 = a shim-owned fd */
static int tab_size;
static int tab_hi = -1;      /* highest fd ever mapped (scan bound) */
static int internal_hi = -1; /* highest fd ever marked internal */
static int reloc_base;       /* F_DUPFD target for internal fds, 0 = do not move */
static struct pl_sock *dirty_head;

void pl_lock(void)
{
    if (lock_depth++ == 0)
        pthread_mutex_lock(&stack_mu);
}

void pl_unlock(void)
{
    if (--lock_depth == 0)
        pthread_mutex_unlock(&stack_mu);
}

/* pl_lock, but gives up after timeout_ns (0 = only if free now): 0 with the lock held, or
 * -ETIMEDOUT. The exiting thread must not hang on a lock another thread never gives back. */
int pl_lock_timed(uint64_t timeout_ns)
{
    if (lock_depth > 0) {
        lock_depth++;
        return 0;
    }
    int r;
    if (timeout_ns == 0) {
        r = pthread_mutex_trylock(&stack_mu);
    } else {
        struct timespec ts; /* pthread_mutex_timedlock(3) takes CLOCK_REALTIME */
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + timeout_ns % 1000000000ull;
        ts.tv_sec += (time_t)(timeout_ns / 1000000000ull + ns / 1000000000ull);
        ts.tv_nsec = (long)(ns % 1000000000ull);
        r = pthread_mutex_timedlock(&stack_mu, &ts);
    }
    if (r != 0)
        return -ETIMEDOUT;
    lock_depth = 1;
    return 0;
}

bool pl_internal(void)
{
    return lock_depth > 0;
}

struct pl_sock *pl_fd_peek(int fd)
{
    _Atomic(struct pl_sock *) *t = atomic_load_explicit(&tab, memory_order_acquire);
    if (!t || fd < 0 || fd >= tab_size)
        return NULL;
    return atomic_load_explicit(&t[fd], memory_order_acquire);
}

bool pl_fd_is_internal(int fd)
{
    if (!atomic_load_explicit(&tab, memory_order_acquire) || fd < 0 || fd >= tab_size)
        return false;
    return __atomic_load_n(&internal_tab[fd], __ATOMIC_RELAXED) != 0;
}

void pl_fd_set_internal(int fd, bool internal)
{
    if (!internal_tab || fd < 0 || fd >= tab_size)
        return;
    __atomic_store_n(&internal_tab[fd], internal ? 1 : 0, __ATOMIC_RELAXED);
    if (internal && fd > internal_hi)
        internal_hi = fd;
}

int pl_fd_scan_limit(void)
{
    if (!atomic_load_explicit(&tab, memory_order_acquire))
        return 0;
    return (tab_hi > internal_hi ? tab_hi : internal_hi) + 1;
}

int pl_fd_table_init(void)
{
    if (atomic_load(&tab))
        return 0;
    /* setrlimit(2): an unprivileged process may raise its soft limit up to the hard one;
     * each plebnet socket costs two kernel fds (A and B), so take all there is. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t hard = rl.rlim_max;
    int size = hard == RLIM_INFINITY || hard > TAB_CAP ? TAB_CAP : (int)hard;
    if (size < 64)
        size = 64;
    size_t bytes = (size_t)size * sizeof(struct pl_sock *) + (size_t)size;
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -ENOMEM;
    internal_tab = (uint8_t *)m + (size_t)size * sizeof(struct pl_sock *);
    tab_size = size;
    /* Internal fds go to the upper half of the soft limit (at most 65536, so the
     * kernel's own fd array stays small), far from the low numbers select() needs. */
    rlim_t cur = rl.rlim_cur == RLIM_INFINITY ? (rlim_t)size : rl.rlim_cur;
    reloc_base = cur >= 128 ? (int)(cur / 2 > 65536 ? 65536 : cur / 2) : 0;
    atomic_store_explicit(&tab, (_Atomic(struct pl_sock *) *)m, memory_order_release);
    return 0;
}

int pl_fd_relocate(int fd)
{
    if (fd < 0)
        return fd;
    int nfd = fd;
    if (reloc_base > 0 && fd < reloc_base) {
        int r = pl_real.fcntl(fd, F_DUPFD_CLOEXEC, reloc_base);
        if (r >= 0) {
            pl_real.close(fd);
            nfd = r;
        }
    }
    if (nfd == fd)
        pl_real.fcntl(fd, F_SETFD, FD_CLOEXEC);
    pl_fd_set_internal(nfd, true);
    return nfd;
}

/* pn socket callback, called with the lock held from pn_stack_poll or a pn_* call: queue
 * the socket for a mirror sync at the next pl_release / end of the stack thread's turn. */
static void sock_cb(struct pn_socket *sk, unsigned events, void *arg)
{
    (void)sk;
    struct pl_sock *s = arg;
    if (events & PN_EV_IN)
        s->in_news = true;
    if (!s->dirty) {
        s->dirty = true;
        s->dirty_next = dirty_head;
        dirty_head = s;
    }
}

void pl_flush_dirty(void)
{
    while (dirty_head) {
        struct pl_sock *s = dirty_head;
        dirty_head = s->dirty_next;
        s->dirty_next = NULL;
        s->dirty = false;
        if (!s->closed)
            pl_mirror_sync(s);
    }
}

static void dirty_remove(struct pl_sock *s)
{
    if (!s->dirty)
        return;
    for (struct pl_sock **pp = &dirty_head; *pp; pp = &(*pp)->dirty_next)
        if (*pp == s) {
            *pp = s->dirty_next;
            break;
        }
    s->dirty = false;
    s->dirty_next = NULL;
}

int pl_acquire(int fd, struct pl_sock **out)
{
    if (__builtin_expect(!pl_real.close, 0))
        pl_real_init();
    if (lock_depth > 0)
        return 0;
    if (!pl_fd_peek(fd))
        return 0;
    if (pl_forked_child) {
        pl_unsupported("using a plebnet socket inherited across fork() (the stack stays "
                       "in the parent): EBADF");
        errno = EBADF;
        return -1;
    }
    pl_lock();
    struct pl_sock *s = pl_fd_peek(fd); /* closed by another thread meanwhile? */
    if (!s) {
        pl_unlock();
        return 0;
    }
    *out = s;
    return 1;
}

void pl_release(struct pl_sock *s)
{
    int saved = errno;
    if (s && !s->closed) {
        s->token_fresh = true;
        pl_mirror_sync(s);
    } else if (s && s->waiters == 0) {
        free(s); /* closed by another thread while this one waited in pl_wait */
    }
    /* Poll the stack here too, not only in the stack thread: frames that arrived while
     * this thread worked (the next requests, ACKs) are handled now, in this thread,
     * instead of waking the stack thread and handing the lock back and forth. Measured
     * over vxlan (bench/preload_bench.sh, PEER_TXOFF=1): nginx under wrk 14.3k -> 19.6k
     * requests/s, iperf3 3.5 -> 4.5 Gbit/s sending, 1.6 -> 2.1 receiving. */
    if (pl_stack && !pl_link_dead())
        pl_stack_turn();
    pl_flush_dirty();
    pl_stack_kick();
    pl_unlock();
    errno = saved;
}

int pl_sock_create(struct pn_socket *pn, int type, int protocol, int flags, struct pl_sock **out)
{
    int sv[2];
    if (pl_real.socketpair(AF_UNIX, SOCK_STREAM | (flags & (SOCK_NONBLOCK | SOCK_CLOEXEC)), 0, sv) <
        0)
        return -errno;
    if (sv[0] >= tab_size) {
        pl_real.close(sv[0]);
        pl_real.close(sv[1]);
        return -EMFILE;
    }
    struct pl_sock *s = calloc(1, sizeof(*s));
    if (!s) {
        pl_real.close(sv[0]);
        pl_real.close(sv[1]);
        return -ENOMEM;
    }
    /* A's send buffer at its minimum (SOCK_MIN_SNDBUF, 4608 bytes): then a 512-byte
     * blocker queued in B makes A unwritable (unix_writable: wmem * 4 > sndbuf). */
    int zero = 0;
    pl_real.setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &zero, sizeof(zero));
    s->pn = pn;
    s->type = type;
    s->protocol = protocol;
    s->app_fd = sv[0];
    s->mirror_fd = pl_fd_relocate(sv[1]);
    s->refs = 1;
    s->nonblock = (flags & SOCK_NONBLOCK) != 0;
    s->token_fresh = true;
    pn_socket_set_callback(pn, sock_cb, s);
    if (sv[0] > tab_hi)
        tab_hi = sv[0];
    atomic_store_explicit(&tab[sv[0]], s, memory_order_release);
    pl_mirror_sync(s);
    *out = s;
    return sv[0];
}

void pl_fd_map(int fd, struct pl_sock *s)
{
    if (fd < 0 || fd >= tab_size) {
        pl_log("fd %d is beyond the shim's table (%d): the duplicate is not a plebnet socket", fd,
               tab_size);
        return;
    }
    struct pl_sock *old = atomic_load(&tab[fd]);
    if (old == s)
        return;
    if (old)
        pl_fd_unmap(fd);
    s->refs++;
    if (fd > tab_hi)
        tab_hi = fd;
    atomic_store_explicit(&tab[fd], s, memory_order_release);
}

/* The last app fd is gone: close the plebnet socket and the mirror's B end (which also
 * wakes any thread still polling A in pl_wait: A sees HUP). */
static void sock_close(struct pl_sock *s)
{
    if (s->pn && !pl_forked_child) {
        pn_socket_set_callback(s->pn, NULL, NULL);
        pn_close(s->pn);
    }
    s->pn = NULL;
    s->closed = true;
    if (s->mirror_fd >= 0) {
        pl_fd_set_internal(s->mirror_fd, false);
        pl_real.close(s->mirror_fd);
        s->mirror_fd = -1;
    }
    dirty_remove(s);
    if (s->waiters == 0)
        free(s);
}

void pl_fd_unmap(int fd)
{
    struct pl_sock *s = pl_fd_peek(fd);
    if (!s)
        return;
    atomic_store_explicit(&tab[fd], NULL, memory_order_release);
    if (--s->refs > 0) {
        if (s->app_fd == fd) /* pl_wait polls app_fd: point it at a remaining dup */
            for (int i = 0; i <= tab_hi; i++)
                if (atomic_load_explicit(&tab[i], memory_order_relaxed) == s) {
                    s->app_fd = i;
                    break;
                }
        return;
    }
    sock_close(s);
}

/* Process exit (exitdrain.c): unmaps every app fd, so each plebnet socket closes as with
 * its last close(2) (TCP: FIN after the queued data, or RST for SO_LINGER 0 or unread
 * data). The kernel fds (ends A) stay open; the kernel closes them at exit. Lock held.
 * Returns the number of sockets closed. */
int pl_fd_close_all(void)
{
    int n = 0;
    if (!atomic_load(&tab))
        return 0;
    for (int i = 0; i <= tab_hi; i++) {
        struct pl_sock *s = atomic_load_explicit(&tab[i], memory_order_relaxed);
        if (!s)
            continue;
        if (s->refs == 1)
            n++;
        pl_fd_unmap(i);
    }
    return n;
}

void pl_fd_atfork_child(void)
{
    pthread_mutex_init(&stack_mu, NULL);
    lock_depth = 0;
    dirty_head = NULL;
    if (!atomic_load(&tab))
        return;
    /* The mirror ends and the link belong to the parent's stack: close the child's
     * copies (the parent's stay open) so the numbers are free for the child. */
    for (int i = 0; i <= tab_hi; i++) {
        struct pl_sock *s = atomic_load_explicit(&tab[i], memory_order_relaxed);
        if (s && s->mirror_fd >= 0) {
            s->mirror_fd = -1; /* the child's copy of the struct */
            s->dirty = false;
        }
    }
    for (int i = 0; i <= internal_hi; i++)
        if (internal_tab[i]) {
            internal_tab[i] = 0;
            pl_real.close(i);
        }
}
