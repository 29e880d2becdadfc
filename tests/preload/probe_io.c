/* tests/preload/probe_io.c — checks the data path and socket options of IPv4 TCP/UDP sockets
 * against a peer (tests/integration/preload_io.sh starts it at SERVER): bulk blocking send,
 * non-blocking partial send, recv flags, EOF, EPIPE/SIGPIPE, scatter/gather, UDP, sendfile,
 * and the socket options. Run once on the kernel's sockets and once under
 * libplebnet-preload.so; prints one line per check:
 *   ok NAME | FAIL NAME: why      (a check of documented Linux behaviour)
 *   val NAME=VALUE                (must be the same in both runs: the script diffs them)
 *   info NAME=VALUE               (printed, not compared: e.g. the default congestion control)
 * Usage: probe_io SERVER_IP   (the peer's command port is 7000, its UDP echo port 7003).
 * Peer commands (one line on a fresh TCP connection): ECHO (echo until EOF, then close),
 * HOLD (read nothing, keep the connection), DRIP ("hello", 0.3 s, "world", 0.3 s, "!",
 * close), RESET (close with a RST). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

static struct sockaddr_in server;
static volatile sig_atomic_t sigpipes;

static void ok(const char *name)
{
    printf("ok %s\n", name);
}

static void failf(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(const char *name, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

#define CHECK(name, cond, ...)                                                                     \
    do {                                                                                           \
        if (cond)                                                                                  \
            ok(name);                                                                              \
        else                                                                                       \
            failf(name, __VA_ARGS__);                                                              \
    } while (0)

static const char *en(int e)
{
    const char *n = e ? strerrorname_np(e) : "0";
    return n ? n : "?";
}

/* "val NAME=<return value or errno name>" for a call's result (errno read after the call). */
static void val_print(const char *name, long rc, int err)
{
    if (rc < 0)
        printf("val %s=-1 %s\n", name, en(err));
    else
        printf("val %s=%ld\n", name, rc);
}
#define val_rc(name, call)                                                                         \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long rc_ = (long)(call);                                                                   \
        val_print(name, rc_, errno);                                                               \
    } while (0)

static uint8_t pat(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

static void set_timeo(int fd, int opt, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* A TCP connection to the peer running `cmd`; a 10 s receive timeout so that a broken
 * implementation fails a check instead of hanging. */
static int peer(const char *cmd)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&server, sizeof(server)) < 0) {
        close(fd);
        return -1;
    }
    set_timeo(fd, SO_RCVTIMEO, 10000);
    size_t n = strlen(cmd);
    if (send(fd, cmd, n, MSG_NOSIGNAL) != (ssize_t)n || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- bulk echo: a reader thread checks the pattern while the main thread sends ---- */

struct reader {
    int fd;
    const uint8_t *expect; /* NULL: the pattern */
    uint64_t want, got;
    bool bad;
    uint64_t bad_at;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    static __thread uint8_t buf[65536];
    for (;;) {
        ssize_t n = recv(r->fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            uint64_t at = r->got + (uint64_t)i;
            uint8_t e = r->expect ? (at < r->want ? r->expect[at] : 0) : pat(at);
            if (!r->bad && buf[i] != e) {
                r->bad = true;
                r->bad_at = at;
            }
        }
        r->got += (uint64_t)n;
    }
    return NULL;
}

static void test_bulk(void)
{
    const size_t total = 8u << 20;
    int fd = peer("ECHO");
    if (fd < 0) {
        failf("tcp_bulk_8MB", "connect: %s", en(errno));
        return;
    }
    uint8_t *buf = malloc(total);
    for (size_t i = 0; i < total; i++)
        buf[i] = pat(i);
    struct reader r = {.fd = fd, .want = total};
    pthread_t th;
    pthread_create(&th, NULL, reader_main, &r);
    ssize_t n = send(fd, buf, total, 0);
    CHECK("tcp_bulk_send_all", n == (ssize_t)total, "send returned %zd (%s)", n, en(errno));
    shutdown(fd, SHUT_WR);
    pthread_join(th, NULL);
    CHECK("tcp_bulk_echo_exact", r.got == total && !r.bad,
          "got %llu of %zu bytes, first difference at %llu", (unsigned long long)r.got, total,
          r.bad ? (unsigned long long)r.bad_at : 0ull);
    close(fd);
    free(buf);
}

/* ---- non-blocking partial send, EAGAIN, MSG_DONTWAIT, SO_SNDTIMEO, SO_RCVTIMEO ---- */

static void test_full(void)
{
    int fd = peer("HOLD");
    if (fd < 0) {
        failf("tcp_nonblock", "connect: %s", en(errno));
        return;
    }
    static uint8_t chunk[65536];
    /* MSG_DONTWAIT on a blocking socket until the buffers are full. */
    long total = 0, partial = 0;
    ssize_t n = 0;
    int err = 0;
    for (int i = 0; i < 2000; i++) {
        n = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
        if (n < 0) {
            err = errno;
            break;
        }
        total += n;
        if (n < (ssize_t)sizeof(chunk))
            partial++;
    }
    CHECK("tcp_dontwait_fills_then_eagain", n < 0 && err == EAGAIN && total > 0,
          "after %ld bytes: n=%zd %s", total, n, en(err));
    printf("info tcp_bytes_until_full=%ld partial_sends=%ld\n", total, partial);
    /* Keep filling until the path is stalled: the peer's receive window too, not only our
     * send buffer: a round that moves no byte after a 300 ms pause. Bounded rounds. */
    for (int round = 0; round < 200; round++) {
        long moved = 0;
        ssize_t m;
        while ((m = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT)) > 0)
            moved += m;
        if (round > 0 && moved == 0)
            break;
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, 300);
    }
    /* O_NONBLOCK: EAGAIN straight away on the full socket. */
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    n = send(fd, chunk, sizeof(chunk), 0);
    err = errno;
    CHECK("tcp_nonblock_eagain", n < 0 && err == EAGAIN, "n=%zd %s", n, en(err));
    char c;
    n = recv(fd, &c, 1, 0);
    err = errno;
    CHECK("tcp_nonblock_recv_eagain", n < 0 && err == EAGAIN, "n=%zd %s", n, en(err));
    fcntl(fd, F_SETFL, fl);
    n = recv(fd, &c, 1, MSG_DONTWAIT);
    err = errno;
    CHECK("tcp_recv_dontwait_eagain", n < 0 && err == EAGAIN, "n=%zd %s", n, en(err));
    /* SO_SNDTIMEO on the full blocking socket: EAGAIN (or a partial count). */
    set_timeo(fd, SO_SNDTIMEO, 300);
    n = send(fd, chunk, sizeof(chunk), 0);
    err = errno;
    CHECK("tcp_sndtimeo", (n < 0 && err == EAGAIN) || (n > 0 && n < (ssize_t)sizeof(chunk)),
          "n=%zd %s", n, en(err));
    /* SO_RCVTIMEO: nothing comes. */
    set_timeo(fd, SO_RCVTIMEO, 300);
    n = recv(fd, &c, 1, 0);
    err = errno;
    CHECK("tcp_rcvtimeo_eagain", n < 0 && err == EAGAIN, "n=%zd %s", n, en(err));
    /* A signal handler installed without SA_RESTART interrupts a blocking recv (EINTR);
     * the 10 s receive timeout only bounds a broken run. */
    set_timeo(fd, SO_RCVTIMEO, 10000);
    struct sigaction sa = {.sa_handler = on_alarm}, old;
    sigaction(SIGALRM, &sa, &old);
    alarms = 0;
    struct itimerval it = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    n = recv(fd, &c, 1, 0);
    err = errno;
    CHECK("tcp_recv_eintr", n < 0 && err == EINTR && alarms == 1, "n=%zd %s, %d SIGALRM", n,
          en(err), (int)alarms);
    sigaction(SIGALRM, &old, NULL);
    close(fd);
}

/* ---- MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, EOF ---- */

static void test_drip(void)
{
    int fd = peer("DRIP");
    if (fd < 0) {
        failf("tcp_drip", "connect: %s", en(errno));
        return;
    }
    char b[32] = {0};
    ssize_t n = recv(fd, b, 5, MSG_PEEK | MSG_WAITALL);
    /* Linux's MSG_PEEK | MSG_WAITALL waits for all 5: "hello" arrives in one segment. */
    CHECK("tcp_peek", n == 5 && memcmp(b, "hello", 5) == 0, "n=%zd '%.5s' %s", n, b, en(errno));
    memset(b, 0, sizeof(b));
    n = recv(fd, b, 3, MSG_PEEK);
    CHECK("tcp_peek_again", n == 3 && memcmp(b, "hel", 3) == 0, "n=%zd", n);
    memset(b, 0, sizeof(b));
    n = recv(fd, b, 10, MSG_WAITALL);
    CHECK("tcp_waitall", n == 10 && memcmp(b, "helloworld", 10) == 0, "n=%zd '%.10s' %s", n, b,
          en(errno));
    n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
    int err = errno;
    CHECK("tcp_dontwait_empty", n < 0 && err == EAGAIN, "n=%zd %s", n, en(err));
    n = recv(fd, b, sizeof(b), 0);
    CHECK("tcp_last_byte", n == 1 && b[0] == '!', "n=%zd %s", n, en(errno));
    n = recv(fd, b, sizeof(b), 0);
    CHECK("tcp_eof", n == 0, "n=%zd %s", n, en(errno));
    n = recv(fd, b, sizeof(b), MSG_WAITALL);
    CHECK("tcp_eof_again", n == 0, "n=%zd %s", n, en(errno));
    n = read(fd, b, sizeof(b));
    CHECK("tcp_eof_read", n == 0, "n=%zd %s", n, en(errno));
    close(fd);
}

/* ---- reset peer: ECONNRESET, then EPIPE with SIGPIPE (none with MSG_NOSIGNAL) ---- */

static void test_reset(void)
{
    int fd = peer("RESET");
    if (fd < 0) {
        failf("tcp_reset", "connect: %s", en(errno));
        return;
    }
    char b[16];
    ssize_t n = recv(fd, b, sizeof(b), 0);
    int err = errno;
    CHECK("tcp_reset_recv", n < 0 && err == ECONNRESET, "n=%zd %s", n, en(err));
    int so = -1;
    socklen_t sl = sizeof(so);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
    CHECK("tcp_reset_so_error_taken", so == 0, "SO_ERROR=%s", en(so));
    sigpipes = 0;
    n = send(fd, "x", 1, 0);
    err = errno;
    CHECK("tcp_reset_send_epipe", n < 0 && err == EPIPE, "n=%zd %s", n, en(err));
    CHECK("tcp_reset_sigpipe", sigpipes == 1, "%d SIGPIPE", (int)sigpipes);
    sigpipes = 0;
    n = send(fd, "x", 1, MSG_NOSIGNAL);
    err = errno;
    CHECK("tcp_reset_nosignal", n < 0 && err == EPIPE && sigpipes == 0, "n=%zd %s, %d SIGPIPE", n,
          en(err), (int)sigpipes);
    n = write(fd, "x", 1);
    err = errno;
    CHECK("tcp_reset_write_sigpipe", n < 0 && err == EPIPE && sigpipes == 1, "n=%zd %s, %d SIGPIPE",
          n, en(err), (int)sigpipes);
    n = recv(fd, b, sizeof(b), 0);
    val_rc("tcp_reset_recv_after", n);
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    val_rc("tcp_reset_getpeername", getpeername(fd, (struct sockaddr *)&a, &al));
    close(fd);
}

/* ---- scatter/gather ---- */

static void test_iov(void)
{
    int fd = peer("ECHO");
    if (fd < 0) {
        failf("tcp_iov", "connect: %s", en(errno));
        return;
    }
    struct iovec w[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    ssize_t n = writev(fd, w, 3);
    CHECK("tcp_writev", n == 8, "n=%zd %s", n, en(errno));
    char m1[2], m2[4], m3[2];
    struct iovec m[4] = {{"ij", 2}, {"klmn", 4}, {"o", 1}, {"p", 1}};
    struct msghdr mh = {.msg_iov = m, .msg_iovlen = 4};
    n = sendmsg(fd, &mh, 0);
    CHECK("tcp_sendmsg", n == 8, "n=%zd %s", n, en(errno));
    char r1[3], r2[4], r3[9];
    struct iovec r[3] = {{r1, 3}, {r2, 4}, {r3, 9}};
    struct sockaddr_in from;
    struct msghdr rh = {
        .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = r, .msg_iovlen = 3};
    n = recvmsg(fd, &rh, MSG_WAITALL);
    CHECK("tcp_recvmsg_waitall",
          n == 16 && memcmp(r1, "abc", 3) == 0 && memcmp(r2, "defg", 4) == 0 &&
              memcmp(r3, "hijklmnop", 9) == 0,
          "n=%zd %s", n, en(errno));
    printf("val tcp_recvmsg_namelen=%u flags=%d\n", (unsigned)rh.msg_namelen, rh.msg_flags);
    /* readv of a second round */
    writev(fd, w, 3);
    struct iovec rv[2] = {{m1, 2}, {m2, 4}};
    /* one call: at least one byte, at most the 6 the two iovecs hold */
    n = readv(fd, rv, 2);
    size_t got = n > 0 ? (size_t)n : 0;
    CHECK("tcp_readv", got >= 1 && got <= 6 && m1[0] == 'a' && (got < 3 || m2[0] == 'c'),
          "got %zu %s", got, en(errno));
    /* drain the rest, then recvfrom's address length on TCP */
    char rest[16];
    n = recv(fd, rest, 8 - got, MSG_WAITALL);
    CHECK("tcp_readv_rest", n == (ssize_t)(8 - got), "n=%zd", n);
    send(fd, "q", 1, 0);
    socklen_t fl = sizeof(from);
    n = recvfrom(fd, m3, 1, 0, (struct sockaddr *)&from, &fl);
    CHECK("tcp_recvfrom", n == 1 && m3[0] == 'q', "n=%zd %s", n, en(errno));
    printf("val tcp_recvfrom_addrlen=%u\n", (unsigned)fl);
    /* MSG_TRUNC on TCP discards */
    send(fd, "0123456789", 10, 0);
    n = recv(fd, NULL, 4, MSG_TRUNC | MSG_WAITALL);
    CHECK("tcp_trunc_discards", n == 4, "n=%zd %s", n, en(errno));
    n = recv(fd, rest, 6, MSG_WAITALL);
    CHECK("tcp_trunc_rest", n == 6 && memcmp(rest, "456789", 6) == 0, "n=%zd", n);
    /* shutdown(SHUT_WR) then send: EPIPE */
    shutdown(fd, SHUT_WR);
    n = send(fd, "z", 1, MSG_NOSIGNAL);
    int err = errno;
    CHECK("tcp_send_after_shutdown_epipe", n < 0 && err == EPIPE, "n=%zd %s", n, en(err));
    n = recv(fd, rest, sizeof(rest), 0);
    CHECK("tcp_eof_after_shutdown", n == 0, "n=%zd %s", n, en(errno));
    close(fd);
}

/* ---- calls on an unconnected TCP socket ---- */

static void test_unconnected(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char b[4];
    val_rc("tcp_unconn_send", send(fd, "x", 1, MSG_NOSIGNAL));
    val_rc("tcp_unconn_recv", recv(fd, b, 1, 0));
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    val_rc("tcp_unconn_getpeername", getpeername(fd, (struct sockaddr *)&a, &al));
    al = sizeof(a);
    int r = getsockname(fd, (struct sockaddr *)&a, &al);
    printf("val tcp_unconn_getsockname=%d %s:%u len=%u\n", r, inet_ntoa(a.sin_addr),
           ntohs(a.sin_port), (unsigned)al);
    val_rc("tcp_unconn_shutdown", shutdown(fd, SHUT_RDWR));
    val_rc("tcp_shutdown_bad_how", shutdown(fd, 7));
    close(fd);
}

/* ---- sendfile ---- */

static void test_sendfile(void)
{
    const size_t size = 3u << 20, mb = 1u << 20;
    char path[] = "/tmp/probe_io_XXXXXX";
    int f = mkstemp(path);
    if (f < 0) {
        failf("sendfile", "mkstemp: %s", en(errno));
        return;
    }
    unlink(path);
    uint8_t *data = malloc(size + mb);
    for (size_t i = 0; i < size; i++)
        data[i] = pat(i * 3 + 1);
    if (write(f, data, size) != (ssize_t)size) {
        failf("sendfile", "write: %s", en(errno));
        close(f);
        free(data);
        return;
    }
    memcpy(data + size, data + mb, mb); /* the stream: the file, then its second MiB */
    lseek(f, 0, SEEK_SET);
    int fd = peer("ECHO");
    if (fd < 0) {
        failf("sendfile", "connect: %s", en(errno));
        close(f);
        free(data);
        return;
    }
    struct reader r = {.fd = fd, .expect = data, .want = size + mb};
    pthread_t th;
    pthread_create(&th, NULL, reader_main, &r);
    size_t sent = 0;
    ssize_t n = 0;
    for (int i = 0; i < 100 && sent < size; i++) {
        n = sendfile(fd, f, NULL, size - sent);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    CHECK("sendfile_no_offset", sent == size, "sent %zu (%zd %s)", sent, n, en(errno));
    off_t pos = lseek(f, 0, SEEK_CUR);
    CHECK("sendfile_moves_file_position", pos == (off_t)size, "position %lld", (long long)pos);
    off_t off = (off_t)mb;
    n = sendfile(fd, f, &off, mb);
    CHECK("sendfile_offset", n == (ssize_t)mb && off == (off_t)(2 * mb), "n=%zd off=%lld %s", n,
          (long long)off, en(errno));
    pos = lseek(f, 0, SEEK_CUR);
    CHECK("sendfile_offset_keeps_position", pos == (off_t)size, "position %lld", (long long)pos);
    off = (off_t)size;
    n = sendfile(fd, f, &off, 100);
    CHECK("sendfile_at_eof", n == 0, "n=%zd %s", n, en(errno));
    shutdown(fd, SHUT_WR);
    pthread_join(th, NULL);
    CHECK("sendfile_stream_exact", r.got == size + mb && !r.bad,
          "got %llu of %zu, first difference at %llu", (unsigned long long)r.got, size + mb,
          (unsigned long long)r.bad_at);
    close(fd);
    close(f);
    free(data);
}

/* ---- UDP ---- */

static void test_udp(void)
{
    struct sockaddr_in echo = server;
    echo.sin_port = htons(7003);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    set_timeo(u, SO_RCVTIMEO, 5000);
    char b[256];
    ssize_t n = send(u, "x", 1, 0);
    int err = errno;
    CHECK("udp_edestaddrreq", n < 0 && err == EDESTADDRREQ, "n=%zd %s", n, en(err));
    n = sendto(u, "ping", 4, 0, (struct sockaddr *)&echo, sizeof(echo));
    CHECK("udp_sendto", n == 4, "n=%zd %s", n, en(errno));
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    memset(&from, 0, sizeof(from));
    n = recvfrom(u, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
    CHECK("udp_recvfrom",
          n == 4 && memcmp(b, "ping", 4) == 0 && fl == sizeof(from) && from.sin_family == AF_INET &&
              from.sin_port == echo.sin_port && from.sin_addr.s_addr == echo.sin_addr.s_addr,
          "n=%zd len=%u port=%u %s", n, (unsigned)fl, ntohs(from.sin_port), en(errno));
    /* MSG_TRUNC: the real length; recvmsg's msg_flags */
    static char big[100];
    memset(big, 'b', sizeof(big));
    sendto(u, big, 100, 0, (struct sockaddr *)&echo, sizeof(echo));
    n = recv(u, b, 10, MSG_PEEK);
    CHECK("udp_peek", n == 10, "n=%zd %s", n, en(errno));
    n = recv(u, b, 10, MSG_TRUNC);
    CHECK("udp_msg_trunc_len", n == 100, "n=%zd %s", n, en(errno));
    sendto(u, big, 100, 0, (struct sockaddr *)&echo, sizeof(echo));
    struct iovec iv[2] = {{b, 6}, {b + 6, 4}};
    struct msghdr mh = {
        .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = iv, .msg_iovlen = 2};
    n = recvmsg(u, &mh, 0);
    CHECK("udp_recvmsg_trunc_flag",
          n == 10 && (mh.msg_flags & MSG_TRUNC) && mh.msg_namelen == sizeof(from),
          "n=%zd flags=%#x %s", n, mh.msg_flags, en(errno));
    /* POSIX address truncation */
    sendto(u, "t", 1, 0, (struct sockaddr *)&echo, sizeof(echo));
    uint8_t tiny[4] = {0xee, 0xee, 0xee, 0xee};
    fl = 2;
    n = recvfrom(u, b, sizeof(b), 0, (struct sockaddr *)tiny, &fl);
    CHECK("udp_addr_truncated", n == 1 && fl == sizeof(struct sockaddr_in) && tiny[2] == 0xee,
          "n=%zd len=%u", n, (unsigned)fl);
    /* sendmmsg / recvmmsg */
    struct mmsghdr mm[3];
    struct iovec mv[3];
    char txt[3][8] = {"one", "two", "three"};
    memset(mm, 0, sizeof(mm));
    for (int i = 0; i < 3; i++) {
        mv[i] = (struct iovec){txt[i], strlen(txt[i])};
        mm[i].msg_hdr.msg_iov = &mv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &echo;
        mm[i].msg_hdr.msg_namelen = sizeof(echo);
    }
    int k = sendmmsg(u, mm, 3, 0);
    CHECK("udp_sendmmsg", k == 3 && mm[2].msg_len == 5, "k=%d %s", k, en(errno));
    char rb[3][16];
    struct iovec rv[3];
    int got = 0;
    for (int tries = 0; tries < 10 && got < 3; tries++) {
        struct mmsghdr rm[3];
        memset(rm, 0, sizeof(rm));
        for (int i = 0; i < 3; i++) {
            rv[i] = (struct iovec){rb[i], sizeof(rb[i])};
            rm[i].msg_hdr.msg_iov = &rv[i];
            rm[i].msg_hdr.msg_iovlen = 1;
        }
        k = recvmmsg(u, rm, (unsigned)(3 - got), MSG_WAITFORONE, NULL);
        if (k <= 0)
            break;
        for (int i = 0; i < k; i++)
            if (rm[i].msg_len != strlen(txt[got + i]) ||
                memcmp(rb[i], txt[got + i], rm[i].msg_len) != 0)
                got = -100;
        got += k;
    }
    CHECK("udp_recvmmsg_waitforone", got == 3, "got %d %s", got, en(errno));
    struct timespec ts = {0, 1000000};
    struct mmsghdr one = {.msg_hdr = {.msg_iov = rv, .msg_iovlen = 1}};
    k = recvmmsg(u, &one, 1, MSG_DONTWAIT, &ts);
    err = errno;
    CHECK("udp_recvmmsg_empty_eagain", k < 0 && err == EAGAIN, "k=%d %s", k, en(err));
    /* EMSGSIZE */
    static char huge[70000];
    n = sendto(u, huge, sizeof(huge), 0, (struct sockaddr *)&echo, sizeof(echo));
    err = errno;
    CHECK("udp_emsgsize", n < 0 && err == EMSGSIZE, "n=%zd %s", n, en(err));
    close(u);

    /* connected: writev/readv, sendto with an address, ICMP port unreachable */
    u = socket(AF_INET, SOCK_DGRAM, 0);
    set_timeo(u, SO_RCVTIMEO, 5000);
    connect(u, (struct sockaddr *)&echo, sizeof(echo));
    struct iovec w[3] = {{"ab", 2}, {"cd", 2}, {"e", 1}};
    n = writev(u, w, 3);
    CHECK("udp_writev", n == 5, "n=%zd %s", n, en(errno));
    char r1[3], r2[8];
    struct iovec rr[2] = {{r1, 3}, {r2, 8}};
    n = readv(u, rr, 2);
    CHECK("udp_readv", n == 5 && memcmp(r1, "abc", 3) == 0 && memcmp(r2, "de", 2) == 0, "n=%zd %s",
          n, en(errno));
    n = sendto(u, "s", 1, 0, (struct sockaddr *)&echo, sizeof(echo));
    CHECK("udp_connected_sendto_addr", n == 1, "n=%zd %s", n, en(errno));
    n = recv(u, b, sizeof(b), 0);
    CHECK("udp_connected_recv", n == 1 && b[0] == 's', "n=%zd %s", n, en(errno));
    close(u);

    struct sockaddr_in closed = server;
    closed.sin_port = htons(7009);
    u = socket(AF_INET, SOCK_DGRAM, 0);
    set_timeo(u, SO_RCVTIMEO, 3000);
    connect(u, (struct sockaddr *)&closed, sizeof(closed));
    n = send(u, "?", 1, 0);
    CHECK("udp_send_to_closed_port", n == 1, "n=%zd %s", n, en(errno));
    n = recv(u, b, sizeof(b), 0);
    err = errno;
    CHECK("udp_econnrefused", n < 0 && err == ECONNREFUSED, "n=%zd %s", n, en(err));
    n = recv(u, b, sizeof(b), MSG_DONTWAIT);
    err = errno;
    CHECK("udp_econnrefused_once", n < 0 && err == EAGAIN, "n=%zd %s", n, en(err));
    val_rc("udp_shutdown_bad_how", shutdown(u, 3));
    close(u);
    u = socket(AF_INET, SOCK_DGRAM, 0);
    val_rc("udp_unconn_shutdown", shutdown(u, SHUT_RDWR));
    close(u);
}

/* ---- socket options ---- */

static int geti(int fd, int level, int name, int *v)
{
    socklen_t l = sizeof(*v);
    *v = -12345;
    return getsockopt(fd, level, name, v, &l);
}

/* set (if set_to != NO_SET) then get; prints "val name=set-result get-result". */
#define NO_SET (-999999)
static void opt_rt(int fd, const char *name, int level, int opt, int set_to)
{
    char sres[64] = "-";
    if (set_to != NO_SET) {
        int r = setsockopt(fd, level, opt, &set_to, sizeof(set_to));
        snprintf(sres, sizeof(sres), "%s", r < 0 ? en(errno) : "0");
    }
    int v;
    int r = geti(fd, level, opt, &v);
    if (r < 0)
        printf("val %s=set:%s get:%s\n", name, sres, en(errno));
    else
        printf("val %s=set:%s get:%d\n", name, sres, v);
}

static void test_opts_common(int fd, const char *p)
{
    char n[64];
#define OPT(suffix, level, opt, v)                                                                 \
    do {                                                                                           \
        snprintf(n, sizeof(n), "%s_%s", p, suffix);                                                \
        opt_rt(fd, n, level, opt, v);                                                              \
    } while (0)
    OPT("so_type", SOL_SOCKET, SO_TYPE, NO_SET);
    OPT("so_type_set", SOL_SOCKET, SO_TYPE, 1);
    OPT("so_protocol", SOL_SOCKET, SO_PROTOCOL, NO_SET);
    OPT("so_domain", SOL_SOCKET, SO_DOMAIN, NO_SET);
    OPT("so_acceptconn", SOL_SOCKET, SO_ACCEPTCONN, NO_SET);
    OPT("so_error", SOL_SOCKET, SO_ERROR, NO_SET);
    OPT("so_reuseaddr", SOL_SOCKET, SO_REUSEADDR, 1);
    OPT("so_reuseport", SOL_SOCKET, SO_REUSEPORT, 1);
    OPT("so_keepalive", SOL_SOCKET, SO_KEEPALIVE, 1);
    OPT("so_keepalive_off", SOL_SOCKET, SO_KEEPALIVE, 0);
    OPT("so_rcvbuf", SOL_SOCKET, SO_RCVBUF, 32768);
    OPT("so_sndbuf", SOL_SOCKET, SO_SNDBUF, 32768);
    /* Linux's floor is 2304/4608 bytes; plebnet's TCP needs 4096: printed, not compared */
    for (int i = 0; i < 2; i++) {
        int one = 1, v = 0;
        socklen_t vl = sizeof(v);
        int sr = setsockopt(fd, SOL_SOCKET, i ? SO_SNDBUF : SO_RCVBUF, &one, sizeof(one));
        getsockopt(fd, SOL_SOCKET, i ? SO_SNDBUF : SO_RCVBUF, &v, &vl);
        printf("info %s_%s_tiny=set:%d get:%d\n", p, i ? "so_sndbuf" : "so_rcvbuf", sr, v);
    }
    OPT("so_broadcast", SOL_SOCKET, SO_BROADCAST, 1);
    OPT("so_rcvlowat_default", SOL_SOCKET, SO_RCVLOWAT, NO_SET);
    OPT("so_rcvlowat", SOL_SOCKET, SO_RCVLOWAT, 10);
    OPT("so_rcvlowat_zero", SOL_SOCKET, SO_RCVLOWAT, 0);
    OPT("so_sndlowat", SOL_SOCKET, SO_SNDLOWAT, 10);
    OPT("so_oobinline", SOL_SOCKET, SO_OOBINLINE, 1);
    OPT("so_priority", SOL_SOCKET, SO_PRIORITY, 3);
    OPT("so_priority_bad", SOL_SOCKET, SO_PRIORITY, 9);
    OPT("so_unknown", SOL_SOCKET, 9999, 1);
    OPT("ip_ttl_default", IPPROTO_IP, IP_TTL, NO_SET);
    OPT("ip_ttl", IPPROTO_IP, IP_TTL, 10);
    OPT("ip_ttl_reset", IPPROTO_IP, IP_TTL, -1);
    OPT("ip_ttl_zero", IPPROTO_IP, IP_TTL, 0);
    OPT("ip_tos", IPPROTO_IP, IP_TOS, 0x13);
    OPT("ip_mtu_discover_default", IPPROTO_IP, IP_MTU_DISCOVER, NO_SET);
    OPT("ip_mtu_discover", IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    OPT("ip_mtu_discover_bad", IPPROTO_IP, IP_MTU_DISCOVER, 9);
    OPT("ip_recverr", IPPROTO_IP, IP_RECVERR, 1);
    OPT("ip_pktinfo", IPPROTO_IP, IP_PKTINFO, 1);
    OPT("tcp_nodelay", IPPROTO_TCP, TCP_NODELAY, 1);
    OPT("ipv6_level", IPPROTO_IPV6, 26 /* IPV6_V6ONLY */, 1);
#undef OPT
    /* SO_LINGER */
    struct linger l = {1, 5};
    int r = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    memset(&l, 0, sizeof(l));
    socklen_t ll = sizeof(l);
    int g = getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &ll);
    printf("val %s_so_linger=%d %d {%d,%d} len=%u\n", p, r, g, l.l_onoff, l.l_linger, (unsigned)ll);
    /* SO_RCVTIMEO / SO_SNDTIMEO round trip and EDOM */
    struct timeval tv = {1, 500000}, tg = {0, 0};
    r = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    socklen_t tl = sizeof(tg);
    g = getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tg, &tl);
    printf("val %s_so_rcvtimeo=%d %d {%ld,%ld}\n", p, r, g, (long)tg.tv_sec, (long)tg.tv_usec);
    tv = (struct timeval){0, 2000000};
    r = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    printf("val %s_so_sndtimeo_bad_usec=%d %s\n", p, r, r < 0 ? en(errno) : "0");
    tv = (struct timeval){0, 0};
    r = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    printf("val %s_so_rcvtimeo_clear=%d\n", p, r);
    /* short option length: EINVAL on set; truncated copy on get */
    int one = 1;
    r = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 2);
    printf("val %s_set_short_optlen=%d %s\n", p, r, r < 0 ? en(errno) : "0");
    unsigned char c[4] = {0xaa, 0xaa, 0xaa, 0xaa};
    socklen_t cl = 1;
    r = getsockopt(fd, SOL_SOCKET, SO_TYPE, c, &cl);
    printf("val %s_get_short_optlen=%d len=%u byte0=%u byte1=%u\n", p, r, (unsigned)cl, c[0], c[1]);
    cl = 1;
    r = getsockopt(fd, IPPROTO_IP, IP_TTL, c, &cl);
    printf("val %s_ip_get_char=%d len=%u byte0=%u\n", p, r, (unsigned)cl, c[0]);
}

static void test_opts(void)
{
    int t = socket(AF_INET, SOCK_STREAM, 0);
    int v;
    geti(t, IPPROTO_TCP, TCP_KEEPIDLE, &v);
    printf("val tcp_keepidle_default=%d\n", v);
    geti(t, IPPROTO_TCP, TCP_KEEPINTVL, &v);
    printf("val tcp_keepintvl_default=%d\n", v);
    geti(t, IPPROTO_TCP, TCP_KEEPCNT, &v);
    printf("val tcp_keepcnt_default=%d\n", v);
    geti(t, IPPROTO_TCP, TCP_MAXSEG, &v);
    printf("val tcp_maxseg_unconnected=%d\n", v);
    test_opts_common(t, "tcp");
    opt_rt(t, "tcp_nodelay_off", IPPROTO_TCP, TCP_NODELAY, 0);
    opt_rt(t, "tcp_maxseg", IPPROTO_TCP, TCP_MAXSEG, 1000);
    opt_rt(t, "tcp_maxseg_bad", IPPROTO_TCP, TCP_MAXSEG, 40000);
    opt_rt(t, "tcp_keepidle", IPPROTO_TCP, TCP_KEEPIDLE, 30);
    opt_rt(t, "tcp_keepidle_bad", IPPROTO_TCP, TCP_KEEPIDLE, 0);
    opt_rt(t, "tcp_keepintvl", IPPROTO_TCP, TCP_KEEPINTVL, 5);
    opt_rt(t, "tcp_keepcnt", IPPROTO_TCP, TCP_KEEPCNT, 4);
    opt_rt(t, "tcp_keepcnt_bad", IPPROTO_TCP, TCP_KEEPCNT, 200);
    opt_rt(t, "tcp_user_timeout", IPPROTO_TCP, TCP_USER_TIMEOUT, 10000);
    opt_rt(t, "tcp_user_timeout_bad", IPPROTO_TCP, TCP_USER_TIMEOUT, -1);
    opt_rt(t, "tcp_quickack_default", IPPROTO_TCP, TCP_QUICKACK, NO_SET);
    opt_rt(t, "tcp_quickack", IPPROTO_TCP, TCP_QUICKACK, 0);
    opt_rt(t, "tcp_cork", IPPROTO_TCP, TCP_CORK, 1);
    opt_rt(t, "tcp_cork_off", IPPROTO_TCP, TCP_CORK, 0);
    opt_rt(t, "tcp_defer_accept", IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
    opt_rt(t, "tcp_defer_accept_30", IPPROTO_TCP, TCP_DEFER_ACCEPT, 30);
    opt_rt(t, "tcp_notsent_lowat", IPPROTO_TCP, TCP_NOTSENT_LOWAT, 16384);
    opt_rt(t, "tcp_unknown", IPPROTO_TCP, 9999, 1);
    opt_rt(t, "tcp_info_set", IPPROTO_TCP, TCP_INFO, 1);
    /* TCP_CONGESTION */
    char cc[16] = {0};
    socklen_t cl = sizeof(cc);
    getsockopt(t, IPPROTO_TCP, TCP_CONGESTION, cc, &cl);
    printf("info tcp_congestion_default=%s\n", cc);
    int r = setsockopt(t, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
    memset(cc, 0, sizeof(cc));
    cl = sizeof(cc);
    getsockopt(t, IPPROTO_TCP, TCP_CONGESTION, cc, &cl);
    printf("val tcp_congestion_reno=%d %s len=%u\n", r, cc, (unsigned)cl);
    r = setsockopt(t, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5);
    memset(cc, 0, sizeof(cc));
    cl = sizeof(cc);
    getsockopt(t, IPPROTO_TCP, TCP_CONGESTION, cc, &cl);
    /* cubic may be outside net.ipv4.tcp_allowed_congestion_control for an unprivileged
     * user on the kernel side: printed, not compared */
    printf("info tcp_congestion_cubic=%d %s\n", r, cc);
    r = setsockopt(t, IPPROTO_TCP, TCP_CONGESTION, "nosuchcc", 8);
    printf("val tcp_congestion_unknown=%d %s\n", r, r < 0 ? en(errno) : "0");
    r = setsockopt(t, IPPROTO_TCP, TCP_FASTOPEN, &(int){5}, sizeof(int));
    printf("info tcp_fastopen=%d %s\n", r, r < 0 ? en(errno) : "0");
    /* TCP_INFO on an unconnected socket */
    struct tcp_info ti;
    socklen_t tl = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    r = getsockopt(t, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    printf("val tcp_info_closed=%d state=%u\n", r, ti.tcpi_state);
    close(t);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    test_opts_common(u, "udp");
    opt_rt(u, "udp_so_no_check", SOL_SOCKET, SO_NO_CHECK, 1);
    opt_rt(u, "udp_tcp_level", IPPROTO_TCP, TCP_NODELAY, 1);
    socklen_t il = sizeof(ti);
    r = getsockopt(u, IPPROTO_TCP, TCP_INFO, &ti, &il);
    printf("val udp_tcp_info=%d %s\n", r, r < 0 ? en(errno) : "0");
    close(u);

    /* a listener: SO_ACCEPTCONN, TCP_INFO state */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = {.sin_family = AF_INET};
    bind(ls, (struct sockaddr *)&any, sizeof(any));
    listen(ls, 4);
    geti(ls, SOL_SOCKET, SO_ACCEPTCONN, &v);
    printf("val listener_so_acceptconn=%d\n", v);
    tl = sizeof(ti);
    getsockopt(ls, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    printf("val listener_tcp_info_state=%u\n", ti.tcpi_state);
    val_rc("listener_shutdown_wr", shutdown(ls, SHUT_WR));
    close(ls);

    /* connected: TCP_INFO, names, TCP_MAXSEG, TOS with ECN bits */
    int c = peer("ECHO");
    if (c < 0) {
        failf("tcp_info_connected", "connect: %s", en(errno));
        return;
    }
    char b[4];
    send(c, "abc", 3, 0);
    recv(c, b, 3, MSG_WAITALL);
    tl = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    r = getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    CHECK("tcp_info_established",
          r == 0 && ti.tcpi_state == 1 && ti.tcpi_rtt > 0 && ti.tcpi_snd_cwnd > 0 &&
              ti.tcpi_snd_mss > 0,
          "r=%d state=%u rtt=%u cwnd=%u mss=%u", r, ti.tcpi_state, ti.tcpi_rtt, ti.tcpi_snd_cwnd,
          ti.tcpi_snd_mss);
    printf("info tcp_info rtt=%uus rttvar=%u cwnd=%u mss=%u pmtu=%u options=%#x len=%u\n",
           ti.tcpi_rtt, ti.tcpi_rttvar, ti.tcpi_snd_cwnd, ti.tcpi_snd_mss, ti.tcpi_pmtu,
           ti.tcpi_options, (unsigned)tl);
    tl = 8;
    r = getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    printf("val tcp_info_short=%d len=%u state=%u\n", r, (unsigned)tl, ti.tcpi_state);
    geti(c, IPPROTO_TCP, TCP_MAXSEG, &v);
    printf("info tcp_maxseg_connected=%d\n", v);
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    r = getpeername(c, (struct sockaddr *)&a, &al);
    CHECK("tcp_getpeername",
          r == 0 && al == sizeof(a) && a.sin_port == server.sin_port &&
              a.sin_addr.s_addr == server.sin_addr.s_addr,
          "r=%d len=%u %s", r, (unsigned)al, en(errno));
    al = sizeof(a);
    r = getsockname(c, (struct sockaddr *)&a, &al);
    CHECK("tcp_getsockname",
          r == 0 && a.sin_family == AF_INET && a.sin_port != 0 && a.sin_addr.s_addr != 0, "r=%d %s",
          r, en(errno));
    opt_rt(c, "tcp_connected_ip_tos", IPPROTO_IP, IP_TOS, 0x13);
    opt_rt(c, "tcp_connected_so_error", SOL_SOCKET, SO_ERROR, NO_SET);
    close(c);
}

int main(int argc, char **argv)
{
    if (argc != 2 || inet_pton(AF_INET, argv[1], &server.sin_addr) != 1) {
        fprintf(stderr, "usage: probe_io SERVER_IPV4\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    server.sin_family = AF_INET;
    server.sin_port = htons(7000);
    struct sigaction sa = {.sa_handler = on_sigpipe};
    sigaction(SIGPIPE, &sa, NULL);
    test_opts();
    test_unconnected();
    test_drip();
    test_iov();
    test_reset();
    test_udp();
    test_full();
    test_bulk();
    test_sendfile();
    printf("done\n");
    return 0;
}
