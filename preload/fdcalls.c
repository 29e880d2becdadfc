/* preload/fdcalls.c — the interposed descriptor calls on plebnet sockets: close(2),
 * dup(2)/dup2(2)/dup3(2), fcntl(2) (+ fcntl64) and ioctl(2). The kernel fd (end A of
 * the mirror's socketpair) is operated on for real and the fd table follows: every fd
 * number that refers to a plebnet socket is mapped to it, the socket closes with its last.
 * The shim's own fds (mirror ends, link sockets, the wake eventfd) cannot be closed or
 * replaced by the app: EBADF, as if they were not open; close_range(2) and closefrom(3)
 * close everything in their range except those.
 * Call chain: app -> close/dup/dup2/dup3/fcntl/ioctl -> pl_acquire | pl_lock -> pl_fd_map/unmap ->
 * real call on A -> pl_release. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include "shim.h"

static int refuse_internal(const char *call)
{
    (void)call;
    pl_unsupported("closing or replacing one of the shim's own descriptors (the app "
                   "gets EBADF, as for an fd that is not open)");
    return pl_fail(EBADF);
}

PL_EXPORT int close(int fd)
{
    if (__builtin_expect(!pl_real.close, 0))
        pl_real_init();
    if (pl_internal())
        return pl_real.close(fd);
    if (pl_fd_is_internal(fd))
        return refuse_internal("close");
    if (pl_fd_peek(fd)) {
        pl_lock();
        pl_fd_unmap(fd); /* in a forked child this only drops the mapping */
        if (pl_forked_child)
            pl_unlock();
        else
            pl_release(NULL);
    }
    return pl_real.close(fd);
}

/* close_range without the shim's internal fds: the kernel call on each stretch between
 * them, after dropping the plebnet sockets in the range from the table. */
static int close_range_kernel(unsigned first, unsigned last, int flags)
{
    return (int)syscall(SYS_close_range, first, last, flags);
}

static int close_range_except_internal(unsigned first, unsigned last, int flags)
{
    if (pl_internal() || (flags & CLOSE_RANGE_CLOEXEC))
        return close_range_kernel(first, last, flags); /* internal fds are CLOEXEC already */
    if (first > last)
        return pl_fail(EINVAL);
    /* Every plebnet or internal fd is below the scan limit; beyond it the kernel alone. */
    unsigned lim = (unsigned)pl_fd_scan_limit();
    unsigned stop = last < lim ? last + 1 : lim;
    pl_lock();
    for (unsigned fd = first; fd < stop; fd++)
        if (pl_fd_peek((int)fd))
            pl_fd_unmap((int)fd);
    if (pl_forked_child)
        pl_unlock();
    else
        pl_release(NULL);
    unsigned from = first;
    for (unsigned fd = first; fd < stop; fd++) {
        if (!pl_fd_is_internal((int)fd))
            continue;
        if (fd > from && close_range_kernel(from, fd - 1, flags) < 0)
            return -1;
        from = fd + 1;
    }
    if (from <= last && from >= first && close_range_kernel(from, last, flags) < 0)
        return -1;
    return 0;
}

PL_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    pl_real_init();
    return close_range_except_internal(first, last, flags);
}

PL_EXPORT void closefrom(int lowfd)
{
    pl_real_init();
    if (lowfd < 0)
        lowfd = 0;
    close_range_except_internal((unsigned)lowfd, ~0u, 0);
}

PL_EXPORT int dup(int fd)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.dup(fd);
    if (a < 0)
        return -1;
    int nfd = pl_real.dup(fd);
    if (nfd >= 0)
        pl_fd_map(nfd, s);
    pl_release(s);
    return nfd;
}

/* dup2/dup3: the kernel replaces newfd atomically; the table then drops newfd's old
 * socket (closing it if that was its last fd) and maps newfd to oldfd's, all under the
 * lock so no other thread sees the numbers half-updated. */
static int do_dup3(int oldfd, int newfd, int flags, bool three)
{
    pl_real_init();
    if (pl_internal())
        return three ? pl_real.dup3(oldfd, newfd, flags) : pl_real.dup2(oldfd, newfd);
    if (pl_fd_is_internal(newfd) && oldfd != newfd)
        return refuse_internal("dup2");
    if (!pl_fd_peek(oldfd) && !pl_fd_peek(newfd))
        return three ? pl_real.dup3(oldfd, newfd, flags) : pl_real.dup2(oldfd, newfd);
    if (pl_forked_child && pl_fd_peek(oldfd)) {
        struct pl_sock *s;
        return pl_acquire(oldfd, &s); /* logs once, EBADF */
    }
    pl_lock();
    int r = three ? pl_real.dup3(oldfd, newfd, flags) : pl_real.dup2(oldfd, newfd);
    if (r >= 0 && oldfd != newfd) {
        pl_fd_unmap(newfd);
        struct pl_sock *s = pl_fd_peek(oldfd);
        if (s)
            pl_fd_map(newfd, s);
    }
    if (pl_forked_child)
        pl_unlock();
    else
        pl_release(NULL);
    return r;
}

PL_EXPORT int dup2(int oldfd, int newfd)
{
    return do_dup3(oldfd, newfd, 0, false);
}

PL_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    return do_dup3(oldfd, newfd, flags, true);
}

/* fcntl(2) on a plebnet socket runs on A for real (so F_GETFL/F_GETFD, locks, owners
 * behave as the kernel's); the table follows F_SETFL's O_NONBLOCK and F_DUPFD*'s new fd. */
static int do_fcntl(int (*fn)(int, int, ...), int fd, int cmd, void *arg)
{
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return fn(fd, cmd, arg);
    if (a < 0)
        return -1;
    int r;
    switch (cmd) {
    case F_SETFL:
        r = fn(fd, cmd, arg);
        if (r == 0)
            s->nonblock = ((int)(intptr_t)arg & O_NONBLOCK) != 0;
        break;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        r = fn(fd, cmd, arg);
        if (r >= 0)
            pl_fd_map(r, s);
        break;
    default:
        r = fn(fd, cmd, arg);
        break;
    }
    pl_release(s);
    return r;
}

PL_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *); /* as glibc: the third argument is int or pointer */
    va_end(ap);
    pl_real_init();
    return do_fcntl(pl_real.fcntl, fd, cmd, arg);
}

PL_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    pl_real_init();
    return do_fcntl(pl_real.fcntl64, fd, cmd, arg);
}

static int put_int(void *arg, int v)
{
    if (!arg)
        return EFAULT;
    memcpy(arg, &v, sizeof(v));
    return 0;
}

PL_EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    struct pl_sock *s;
    int a = pl_acquire(fd, &s);
    if (a == 0)
        return pl_real.ioctl(fd, req, arg);
    if (a < 0)
        return -1;
    int err = 0, r = 0;
    switch (req) {
    case FIONBIO: {
        int v;
        if (!arg) {
            err = EFAULT;
            break;
        }
        memcpy(&v, arg, sizeof(v));
        r = pl_real.ioctl(fd, FIONBIO, arg);
        if (r == 0)
            s->nonblock = v != 0;
        else
            err = errno;
        break;
    }
    case FIONREAD: { /* == SIOCINQ: tcp(7) "the amount of queued unread data", udp(7)
                      * "the size of the next pending datagram" */
        long n = pn_socket_nread(s->pn);
        err = n < 0 ? pl_errno((int)n) : put_int(arg, n > INT32_MAX ? INT32_MAX : (int)n);
        break;
    }
    case FIOCLEX:
    case FIONCLEX:
    case FIOASYNC:
    case FIOSETOWN:
    case SIOCSPGRP:
    case FIOGETOWN:
    case SIOCGPGRP:
        /* descriptor-level requests: the kernel fd carries them */
        r = pl_real.ioctl(fd, req, arg);
        if (r < 0)
            err = errno;
        break;
    case SIOCOUTQ:
        pl_unsupported("ioctl SIOCOUTQ/TIOCOUTQ on a plebnet socket: ENOTTY");
        err = ENOTTY;
        break;
    case SIOCATMARK:
        pl_unsupported("ioctl SIOCATMARK (urgent data) on a plebnet socket: ENOTTY");
        err = ENOTTY;
        break;
    default:
        /* Interface requests (SIOCGIF*) would describe the kernel's interfaces, not the
         * stack's; anything else is unknown to sockets too (Linux: ENOTTY). */
        if (req >= 0x8910 && req <= 0x89ff)
            pl_unsupported("ioctl SIOC* interface requests on a plebnet socket: ENOTTY");
        else
            pl_unsupported("ioctl request unknown to the shim on a plebnet socket: ENOTTY");
        err = ENOTTY;
        break;
    }
    pl_release(s);
    return err ? pl_fail(err) : r;
}
