/* tests/preload/probe_core.c — checks the preload shim's core (socket life cycle, connect,
 * accept, readiness through the kernel's poll/select/epoll, blocking and its interruption,
 * dup/fcntl/ioctl, fork) against Linux's own answers. Run by
 * tests/integration/preload_core.sh twice: on kernel sockets, then under the shim.
 * Prints "ok NAME", "FAIL NAME: why", "val NAME=V" (must equal the kernel run's) and
 * "info NAME=V" (for the record), then "done".
 * Usage: probe_core PEER_IP kernel|shim   (the peer runs the script's peer.py) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define CMD_PORT 7100 /* peer: one command line per connection */
#define REFUSED_PORT 7109
#define UDP_PORT 7103    /* peer: UDP echo */
#define LISTEN_PORT 7200 /* ours: the peer connects back here on CONNECT */

static const char *peer_ip;
static bool shim_mode;
static int failures;

static void ok(const char *name)
{
    printf("ok %s\n", name);
}

static void fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s: ", name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    failures++;
}

static void val(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("val %s=", name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static const char *ename(int e)
{
    switch (e) {
    case 0:
        return "0";
    case EAGAIN:
        return "EAGAIN";
    case EINPROGRESS:
        return "EINPROGRESS";
    case EALREADY:
        return "EALREADY";
    case EISCONN:
        return "EISCONN";
    case EINVAL:
        return "EINVAL";
    case EOPNOTSUPP:
        return "EOPNOTSUPP";
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case ECONNRESET:
        return "ECONNRESET";
    case ECONNABORTED:
        return "ECONNABORTED";
    case EPROTONOSUPPORT:
        return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT:
        return "ESOCKTNOSUPPORT";
    case EAFNOSUPPORT:
        return "EAFNOSUPPORT";
    case EINTR:
        return "EINTR";
    case EBADF:
        return "EBADF";
    case ENOTTY:
        return "ENOTTY";
    case ENOTCONN:
        return "ENOTCONN";
    case EPIPE:
        return "EPIPE";
    case ENETDOWN:
        return "ENETDOWN";
    case EPERM:
        return "EPERM";
    default:
        return strerror(e);
    }
}

/* -1 -> errno name, else the number. */
static const char *res(long r)
{
    static char buf[8][64];
    static int i;
    char *b = buf[i++ % 8];
    if (r < 0)
        snprintf(b, 64, "-1 %s", ename(errno));
    else
        snprintf(b, 64, "%ld", r);
    return b;
}

static const char *pollbits(short r)
{
    static char buf[4][64];
    static int i;
    char *b = buf[i++ % 4];
    snprintf(b, 64, "%s%s%s%s%s", r & POLLIN ? "IN|" : "", r & POLLOUT ? "OUT|" : "",
             r & POLLRDHUP ? "RDHUP|" : "", r & POLLHUP ? "HUP|" : "", r & POLLERR ? "ERR|" : "");
    if (!*b)
        strcpy(b, "0");
    return b;
}

static struct sockaddr_in addr_of(const char *ip, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static short poll1(int fd, short events, int ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, ms);
    return r > 0 ? p.revents : 0;
}

/* A blocking connection to the peer's command port, with `cmd` sent. -1 on failure. */
static int peer_cmd(const char *cmd)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = addr_of(peer_ip, CMD_PORT);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t n = strlen(cmd);
    if (write(fd, cmd, n) != (ssize_t)n || write(fd, "\n", 1) != 1) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads exactly n bytes (blocking fd), 5 s bound via poll. */
static bool read_n(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (!(poll1(fd, POLLIN, 5000) & (POLLIN | POLLHUP | POLLERR)))
            return false;
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static bool echo_ok(int fd, const char *msg)
{
    char buf[256];
    size_t n = strlen(msg);
    if (write(fd, msg, n) != (ssize_t)n)
        return false;
    return read_n(fd, buf, n) && memcmp(buf, msg, n) == 0;
}

static void t_connect(void)
{
    /* non-blocking connect: EINPROGRESS, POLLOUT, SO_ERROR 0, then 0 and EISCONN */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = addr_of(peer_ip, CMD_PORT);
    int r = connect(fd, (struct sockaddr *)&a, sizeof(a));
    val("nb_connect", "%s", res(r));
    short rev = poll1(fd, POLLOUT, 5000);
    val("nb_connect_poll", "%s", pollbits(rev));
    int e = -1;
    socklen_t el = sizeof(e);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
    val("nb_connect_so_error", "%s", ename(e));
    r = connect(fd, (struct sockaddr *)&a, sizeof(a));
    val("nb_connect_again", "%s", res(r));
    r = connect(fd, (struct sockaddr *)&a, sizeof(a));
    val("nb_connect_again2", "%s", res(r));
    r = listen(fd, 1);
    val("listen_connected", "%s", res(r));
    r = bind(fd, (struct sockaddr *)&a, sizeof(a));
    val("bind_connected", "%s", res(r));
    close(fd);

    /* refused, blocking */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in ra = addr_of(peer_ip, REFUSED_PORT);
    r = connect(fd, (struct sockaddr *)&ra, sizeof(ra));
    val("refused_blocking", "%s", res(r));
    e = -1;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
    val("refused_blocking_so_error", "%s", ename(e));
    close(fd);

    /* refused, non-blocking: POLLOUT|POLLERR|POLLHUP (+IN|RDHUP), then SO_ERROR once */
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    r = connect(fd, (struct sockaddr *)&ra, sizeof(ra));
    val("refused_nb", "%s", res(r));
    rev = poll1(fd, POLLIN | POLLOUT | POLLRDHUP, 5000);
    val("refused_nb_poll", "%s", pollbits(rev));
    e = -1;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
    val("refused_nb_so_error", "%s", ename(e));
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
    val("refused_nb_so_error2", "%s", ename(e));
    rev = poll1(fd, POLLIN | POLLOUT | POLLRDHUP, 0);
    val("refused_nb_poll_after", "%s", pollbits(rev));
    r = connect(fd, (struct sockaddr *)&ra, sizeof(ra));
    val("refused_nb_connect_again", "%s", res(r));
    close(fd);
}

static void t_misuse(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = addr_of("0.0.0.0", 0);
    val("bind_any", "%s", res(bind(l, (struct sockaddr *)&any, sizeof(any))));
    val("bind_twice", "%s", res(bind(l, (struct sockaddr *)&any, sizeof(any))));
    val("bind_short", "%s", res(bind(socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&any, 4)));
    struct sockaddr_in six = any;
    six.sin_family = AF_INET6;
    val("bind_inet6_family", "%s",
        res(bind(socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&six, sizeof(six))));
    val("listen", "%s", res(listen(l, 4)));
    val("listen_again", "%s", res(listen(l, 8)));
    val("poll_listening", "%s", pollbits(poll1(l, POLLIN | POLLOUT | POLLRDHUP, 0)));
    struct sockaddr_in pa = addr_of(peer_ip, CMD_PORT);
    val("connect_listener", "%s", res(connect(l, (struct sockaddr *)&pa, sizeof(pa))));
    int n = 0;
    val("fionread_listener", "%s", res(ioctl(l, FIONREAD, &n)));
    val("accept4_badflags", "%s", res(accept4(l, NULL, NULL, 0x1234)));
    close(l);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    val("poll_fresh_udp", "%s", pollbits(poll1(u, POLLIN | POLLOUT | POLLRDHUP, 0)));
    val("listen_udp", "%s", res(listen(u, 1)));
    val("accept_udp", "%s", res(accept(u, NULL, NULL)));
    val("ioctl_unknown", "%s", res(ioctl(u, 0x1234, &n)));
    close(u);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    val("accept_fresh_tcp", "%s", res(accept(t, NULL, NULL)));
    struct sockaddr_in six2 = pa;
    six2.sin_family = AF_INET6;
    val("connect_inet6_family", "%s", res(connect(t, (struct sockaddr *)&six2, sizeof(six2))));
    val("connect_short", "%s", res(connect(t, (struct sockaddr *)&pa, 8)));
    /* Linux: OUT|HUP; the shim shows OUT only (preload/mirror.c explains why) */
    short fresh = poll1(t, POLLIN | POLLOUT | POLLRDHUP, 0);
    val("poll_fresh_tcp", "%s", pollbits((short)(fresh & ~POLLHUP)));
    printf("info poll_fresh_tcp=%s\n", pollbits(fresh));
    close(t);
    int r = socket(AF_INET, SOCK_SEQPACKET, 0);
    val("socket_seqpacket", "%s", res(r));
    r = socket(AF_INET, SOCK_STREAM, IPPROTO_UDP);
    val("socket_stream_udp", "%s", res(r));
    r = socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP);
    val("socket_dgram_tcp", "%s", res(r));
    r = socket(AF_INET, SOCK_STREAM | 0x40000000, 0);
    val("socket_badflag", "%s", res(r));
    r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    val("socket_raw_icmp", "%s", res(r));
    if (r >= 0)
        close(r);
    int sv[2];
    r = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    val("socketpair_unix", "%s", res(r));
    if (r == 0) {
        close(sv[0]);
        close(sv[1]);
    }
    val("socketpair_inet", "%s", res(socketpair(AF_INET, SOCK_STREAM, 0, sv)));
}

static void t_select_poll(void)
{
    int fd = peer_cmd("ECHO");
    if (fd < 0) {
        fail("select", "no ECHO connection");
        return;
    }
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(fd, &r);
    FD_SET(fd, &w);
    struct timeval tv = {0, 0};
    int n = select(fd + 1, &r, &w, NULL, &tv);
    val("select_idle", "n=%d r=%d w=%d", n, FD_ISSET(fd, &r), FD_ISSET(fd, &w));
    if (write(fd, "x", 1) != 1)
        fail("select", "write");
    FD_ZERO(&r);
    FD_SET(fd, &r);
    tv = (struct timeval){5, 0};
    n = select(fd + 1, &r, NULL, NULL, &tv);
    val("select_data", "n=%d r=%d", n, FD_ISSET(fd, &r));
    char c;
    val("select_read", "%s", res(read(fd, &c, 1)));
    val("poll_connected_idle", "%s", pollbits(poll1(fd, POLLIN | POLLOUT | POLLRDHUP, 0)));
    fd_set r2;
    FD_ZERO(&r2);
    FD_SET(fd, &r2);
    tv = (struct timeval){0, 200000};
    n = select(fd + 1, &r2, NULL, NULL, &tv);
    val("select_drained", "n=%d", n);
    /* FIONREAD: queued bytes */
    if (write(fd, "1234567", 7) != 7)
        fail("fionread", "write");
    poll1(fd, POLLIN, 5000);
    usleep(200000);
    int q = -1;
    val("fionread_tcp", "%s q=%d", res(ioctl(fd, FIONREAD, &q)), q);
    char buf[16];
    read_n(fd, buf, 7);
    q = -1;
    val("fionread_tcp_empty", "%s q=%d", res(ioctl(fd, FIONREAD, &q)), q);
    close(fd);
}

static void t_epoll(void)
{
    int fd = peer_cmd("ECHO");
    if (fd < 0) {
        fail("epoll", "no ECHO connection");
        return;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    val("epoll_lt_idle", "%d", epoll_wait(ep, out, 4, 100));
    if (write(fd, "0123456789", 10) != 10)
        fail("epoll", "write");
    int n = epoll_wait(ep, out, 4, 5000);
    usleep(200000);
    val("epoll_lt_1", "%d %x", n, n > 0 ? out[0].events : 0);
    n = epoll_wait(ep, out, 4, 100);
    val("epoll_lt_2", "%d %x", n, n > 0 ? out[0].events : 0);
    char buf[64];
    read_n(fd, buf, 10);
    val("epoll_lt_drained", "%d", epoll_wait(ep, out, 4, 100));

    /* edge-triggered: one event per arrival; none after a partial read alone */
    ev.events = EPOLLIN | EPOLLET;
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    if (write(fd, "abcdefghij", 10) != 10)
        fail("epoll", "write");
    n = epoll_wait(ep, out, 4, 5000);
    usleep(200000);
    epoll_wait(ep, out, 4, 0); /* a second segment's event, if the echo came in two */
    val("epoll_et_1", "%d %x", n, n > 0 ? out[0].events : 0);
    val("epoll_et_partial_read", "%s", res(read(fd, buf, 5)));
    val("epoll_et_no_new_data", "%d", epoll_wait(ep, out, 4, 200));
    if (write(fd, "XYZ", 3) != 3)
        fail("epoll", "write");
    n = epoll_wait(ep, out, 4, 5000);
    val("epoll_et_new_data", "%d %x", n, n > 0 ? out[0].events : 0);
    usleep(200000);
    read_n(fd, buf, 8);

    /* EPOLLONESHOT: one event, then nothing until re-armed */
    ev.events = EPOLLIN | EPOLLONESHOT;
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    if (write(fd, "1", 1) != 1)
        fail("epoll", "write");
    n = epoll_wait(ep, out, 4, 5000);
    val("epoll_oneshot_1", "%d", n);
    if (write(fd, "2", 1) != 1)
        fail("epoll", "write");
    usleep(200000);
    val("epoll_oneshot_disarmed", "%d", epoll_wait(ep, out, 4, 100));
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    val("epoll_oneshot_rearmed", "%d", epoll_wait(ep, out, 4, 5000));
    read_n(fd, buf, 2);

    /* a pipe and the socket in one set */
    int p[2];
    if (pipe(p) < 0)
        fail("epoll_mixed", "pipe");
    ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 2};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 1};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    if (write(p[1], "p", 1) != 1)
        fail("epoll_mixed", "write pipe");
    n = epoll_wait(ep, out, 4, 5000);
    val("epoll_mixed_pipe", "%d %llu", n, n > 0 ? (unsigned long long)out[0].data.u64 : 0ull);
    read(p[0], buf, 1);
    if (write(fd, "s", 1) != 1)
        fail("epoll_mixed", "write");
    n = epoll_wait(ep, out, 4, 5000);
    val("epoll_mixed_sock", "%d %llu", n, n > 0 ? (unsigned long long)out[0].data.u64 : 0ull);
    read_n(fd, buf, 1);
    close(p[0]);
    close(p[1]);

    /* EPOLLRDHUP after the peer's shutdown (ECHO shuts down on our EOF) */
    ev = (struct epoll_event){.events = EPOLLIN | EPOLLRDHUP, .data.u64 = 1};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    shutdown(fd, SHUT_WR);
    n = epoll_wait(ep, out, 4, 5000);
    usleep(100000);
    val("epoll_rdhup", "%d %s", n,
        n > 0 ? pollbits((short)(out[0].events & (EPOLLIN | EPOLLRDHUP))) : "-");
    val("poll_both_shut", "%s", pollbits(poll1(fd, POLLIN | POLLOUT | POLLRDHUP, 0)));
    val("read_eof", "%s", res(read(fd, buf, 1)));
    close(ep);
    close(fd);
}

/* The peer resets a connection (SO_LINGER 0): POLLERR etc., then ECONNRESET once. */
static void t_reset(void)
{
    int fd = peer_cmd("RESET");
    if (fd < 0) {
        fail("reset", "no connection");
        return;
    }
    short rev = poll1(fd, POLLERR, 5000);
    usleep(100000);
    rev = poll1(fd, POLLIN | POLLOUT | POLLRDHUP, 0);
    val("reset_poll", "%s", pollbits(rev));
    char c;
    val("reset_read", "%s", res(read(fd, &c, 1)));
    val("reset_poll_after", "%s", pollbits(poll1(fd, POLLIN | POLLOUT | POLLRDHUP, 0)));
    close(fd);
}

static volatile sig_atomic_t got_alarm;
static void on_alarm(int sig)
{
    (void)sig;
    got_alarm = 1;
}

static void t_blocking(void)
{
    /* accept and recv woken by the peer's connection and data */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in la = addr_of("0.0.0.0", LISTEN_PORT);
    if (bind(l, (struct sockaddr *)&la, sizeof(la)) < 0 || listen(l, 4) < 0) {
        fail("blocking_accept", "bind/listen: %s", strerror(errno));
        return;
    }
    int ctl = peer_cmd("CONNECT 7200");
    struct sockaddr_in pa;
    socklen_t pl = sizeof(pa);
    int c = accept(l, (struct sockaddr *)&pa, &pl);
    val("blocking_accept", "%s len=%d fam=%d", c >= 0 ? "fd" : res(c), (int)pl, pa.sin_family);
    char buf[16] = {0};
    ssize_t r = c >= 0 ? read(c, buf, sizeof(buf) - 1) : -1;
    val("blocking_read_woken", "%s %s", res(r), buf);
    struct sockaddr_in tiny;
    socklen_t tl = 4;
    int c2 = -1;
    if (ctl >= 0 && write(ctl, "AGAIN\n", 6) == 6)
        c2 = accept4(l, (struct sockaddr *)&tiny, &tl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    val("accept4_truncated", "%s len=%d", c2 >= 0 ? "fd" : res(c2), (int)tl);
    if (c2 >= 0) {
        val("accept4_flags", "nonblock=%d cloexec=%d", !!(fcntl(c2, F_GETFL) & O_NONBLOCK),
            !!(fcntl(c2, F_GETFD) & FD_CLOEXEC));
        close(c2);
    }
    close(ctl);
    if (c >= 0)
        close(c);
    int nl = fcntl(l, F_GETFL);
    fcntl(l, F_SETFL, nl | O_NONBLOCK);
    val("accept_nonblock_empty", "%s", res(accept(l, NULL, NULL)));
    close(l);

    /* SO_RCVTIMEO */
    int h = peer_cmd("HOLD");
    struct timeval tv = {0, 200000};
    setsockopt(h, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    val("rcvtimeo", "%s", res(read(h, buf, 1)));
    tv = (struct timeval){0, 0};
    setsockopt(h, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

    /* a signal handler without SA_RESTART interrupts a blocking read */
    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    r = read(h, buf, 1);
    val("eintr", "%s handler=%d", res(r), (int)got_alarm);

    /* O_NONBLOCK round trip (fcntl and FIONBIO) */
    int fl = fcntl(h, F_GETFL);
    val("fcntl_getfl", "nonblock=%d rdwr=%d", !!(fl & O_NONBLOCK), (fl & O_ACCMODE) == O_RDWR);
    fcntl(h, F_SETFL, fl | O_NONBLOCK);
    val("fcntl_setfl", "nonblock=%d", !!(fcntl(h, F_GETFL) & O_NONBLOCK));
    val("read_nonblock", "%s", res(read(h, buf, 1)));
    fcntl(h, F_SETFL, fl);
    int zero = 0, on = 1;
    ioctl(h, FIONBIO, &on);
    val("fionbio_on", "nonblock=%d read=%s", !!(fcntl(h, F_GETFL) & O_NONBLOCK),
        res(read(h, buf, 1)));
    ioctl(h, FIONBIO, &zero);
    val("fionbio_off", "nonblock=%d", !!(fcntl(h, F_GETFL) & O_NONBLOCK));
    struct stat st;
    fstat(h, &st);
    val("fstat_sock", "%d", S_ISSOCK(st.st_mode));
    close(h);
}

static void t_udp(void)
{
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = addr_of(peer_ip, UDP_PORT);
    val("udp_connect", "%s", res(connect(u, (struct sockaddr *)&a, sizeof(a))));
    if (write(u, "hello", 5) != 5 || write(u, "123456789", 9) != 9)
        fail("udp", "write");
    poll1(u, POLLIN, 5000);
    usleep(200000);
    int q = -1;
    val("fionread_udp", "%s q=%d", res(ioctl(u, FIONREAD, &q)), q);
    char buf[32];
    read(u, buf, sizeof(buf));
    read(u, buf, sizeof(buf));
    q = -1;
    val("fionread_udp_empty", "%s q=%d", res(ioctl(u, FIONREAD, &q)), q);
    struct sockaddr un = {.sa_family = AF_UNSPEC};
    val("udp_connect_unspec", "%s", res(connect(u, &un, sizeof(un))));
    val("udp_write_unconnected", "%s", res(write(u, "x", 1)));
    close(u);
}

static void t_dup(void)
{
    int fd = peer_cmd("ECHO");
    int d = dup(fd);
    close(fd);
    val("dup_close_original", "%d", echo_ok(d, "dup"));
    int d2 = fcntl(d, F_DUPFD_CLOEXEC, 100);
    val("f_dupfd", "%d %d", d2 >= 100, echo_ok(d2, "dupfd"));
    int p[2];
    if (pipe(p) < 0)
        fail("dup2", "pipe");
    /* dup2 over one copy: that number is now the pipe, the other copy still works */
    val("dup2_over", "%s", res(dup2(p[0], d) == d ? 0 : -1));
    struct stat st;
    fstat(d, &st);
    val("dup2_over_type", "fifo=%d", S_ISFIFO(st.st_mode));
    val("dup2_other_copy", "%d", echo_ok(d2, "still"));
    /* dup3 the socket onto the pipe's number */
    val("dup3_onto", "%s", res(dup3(d2, p[1], O_CLOEXEC) == p[1] ? 0 : -1));
    val("dup3_works", "%d", echo_ok(p[1], "dup3"));
    val("dup3_same", "%s", res(dup3(d2, d2, 0)));
    close(d);
    close(d2);
    close(p[0]);
    val("dup3_last_copy", "%d", echo_ok(p[1], "last"));
    close(p[1]);
}

static void t_fork(void)
{
    int fd = peer_cmd("ECHO");
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int st = -1;
    waitpid(pid, &st, 0);
    val("fork_parent_keeps", "%d", echo_ok(fd, "afterfork"));

    /* a child that uses the inherited socket: kernel -> works, shim -> EBADF */
    int hold = peer_cmd("HOLD");
    pid = fork();
    if (pid == 0) {
        ssize_t w = write(hold, "x", 1);
        int e = errno;
        int s = socket(AF_INET, SOCK_STREAM, 0);
        int e2 = errno;
        _exit((w == 1 ? 1 : e == EBADF ? 2 : 3) * 10 + (s >= 0 ? 1 : e2 == ENETDOWN ? 2 : 3));
    }
    waitpid(pid, &st, 0);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    int want = shim_mode ? 22 : 11;
    if (code == want)
        ok("fork_child_inherited");
    else
        fail("fork_child_inherited", "child code %d, want %d (write, socket)", code, want);
    close(hold);

    /* a child that execs works */
    pid = fork();
    if (pid == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    val("fork_exec", "%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    val("fork_parent_after_exec", "%d", echo_ok(fd, "again"));
    close(fd);
}

/* close_range(2) above the app's own fds (as daemons do before serving) must leave the
 * app's socket working (under the shim: the mirror ends and the link survive it). */
static void t_close_range(void)
{
    int fd = peer_cmd("ECHO");
    int extra = peer_cmd("ECHO"); /* closed by the range, a plebnet socket under the shim */
    int lo = fd > extra ? fd : extra;
    val("close_range", "%s", res(close_range((unsigned)lo + 1, ~0u, 0)));
    val("close_range_keeps", "%d", echo_ok(fd, "range"));
    val("close_range_own", "%s", res(close_range((unsigned)extra, (unsigned)extra, 0)));
    val("close_range_closed", "%s", res(fcntl(extra, F_GETFD)));
    val("close_range_after", "%d", echo_ok(fd, "after"));
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "kernel") && strcmp(argv[2], "shim"))) {
        fprintf(stderr, "usage: probe_core PEER_IP kernel|shim\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    peer_ip = argv[1];
    shim_mode = strcmp(argv[2], "shim") == 0;
    signal(SIGPIPE, SIG_IGN);
    t_connect();
    t_misuse();
    t_select_poll();
    t_epoll();
    t_reset();
    t_blocking();
    t_udp();
    t_dup();
    t_fork();
    t_close_range();
    printf("done\n");
    return failures ? 1 : 0;
}
