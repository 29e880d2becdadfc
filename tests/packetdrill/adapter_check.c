/* tests/packetdrill/adapter_check.c — loads libplebnet-packetdrill.so the way packetdrill
 * does (dlopen + packetdrill_interface_init), checks every function pointer is filled and
 * drives one listening socket through a handshake on the virtual clock. No packetdrill. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd_interface.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s (errno %d)\n", __FILE__, __LINE__, #c,        \
                    errno);                                                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static uint16_t csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* A bare SYN from 192.0.2.1:5000 to 192.168.0.1:8080. */
static size_t make_syn(uint8_t *b)
{
    memset(b, 0, 40);
    b[0] = 0x45;
    b[3] = 40;
    b[8] = 64;
    b[9] = 6;
    uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {192, 168, 0, 1};
    memcpy(b + 12, src, 4);
    memcpy(b + 16, dst, 4);
    uint16_t c = csum(b, 20, 0);
    b[10] = (uint8_t)(c >> 8);
    b[11] = (uint8_t)c;
    uint8_t *t = b + 20;
    t[0] = 5000 >> 8;
    t[1] = 5000 & 0xff;
    t[2] = 8080 >> 8;
    t[3] = 8080 & 0xff;
    t[7] = 1; /* seq 1 */
    t[12] = 5 << 4;
    t[13] = 0x02; /* SYN */
    t[14] = 0xff;
    t[15] = 0xff;
    uint8_t ph[12];
    memcpy(ph, src, 4);
    memcpy(ph + 4, dst, 4);
    ph[8] = 0;
    ph[9] = 6;
    ph[10] = 0;
    ph[11] = 20;
    uint32_t s = 0;
    for (int i = 0; i < 12; i += 2)
        s += (uint32_t)(ph[i] << 8 | ph[i + 1]);
    c = csum(t, 20, s);
    t[16] = (uint8_t)(c >> 8);
    t[17] = (uint8_t)c;
    return 40;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    packetdrill_interface_init_t init =
        (packetdrill_interface_init_t)dlsym(h, "packetdrill_interface_init");
    CHECK(init);
    struct packetdrill_interface ifc;
    init("linux", &ifc);
    CHECK(ifc.userdata);
    /* Every member after userdata is a function pointer: none may be NULL. */
    void (**fp)(void) = (void (**)(void))((char *)&ifc + sizeof(void *));
    size_t nfp = (sizeof(ifc) - sizeof(void *)) / sizeof(void (*)(void));
    CHECK(nfp == 32);
    for (size_t i = 0; i < nfp; i++)
        CHECK(fp[i] != NULL);
    void *u = ifc.userdata;

    struct timeval a, b;
    CHECK(ifc.gettimeofday(u, &a, NULL) == 0);
    CHECK(ifc.usleep(u, 250000) == 0);
    CHECK(ifc.gettimeofday(u, &b, NULL) == 0);
    long long d = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_usec - a.tv_usec);
    CHECK(d >= 250000 && d < 251000);

    int fd = ifc.socket(u, AF_INET, SOCK_STREAM, IPPROTO_TCP);
    CHECK(fd >= 0 && fcntl(fd, F_GETFD) >= 0); /* a real host descriptor */
    CHECK(ifc.socket(u, AF_INET6, SOCK_STREAM, 0) == -1 && errno == EAFNOSUPPORT);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(8080)};
    CHECK(ifc.bind(u, fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    CHECK(ifc.listen(u, fd, 1) == 0);
    CHECK(ifc.fcntl(u, fd, F_SETFL, O_NONBLOCK) == 0);
    CHECK(ifc.accept(u, fd, NULL, NULL) == -1 && errno == EAGAIN);
    CHECK(ifc.splice(u, fd, NULL, fd, NULL, 1, 0) == -1 && errno == ENOSYS);

    uint8_t pkt[1600];
    size_t n = make_syn(pkt);
    CHECK(ifc.netdev_send(u, pkt, n) == 0);
    size_t cnt = sizeof(pkt);
    long long t = 0;
    CHECK(ifc.netdev_receive(u, pkt, &cnt, &t) == 0);
    CHECK(cnt >= 40 && (pkt[0] >> 4) == 4 && pkt[9] == 6);
    CHECK((pkt[20 + 13] & 0x12) == 0x12); /* SYN-ACK */
    CHECK(t == (long long)b.tv_sec * 1000000LL + b.tv_usec || t > 0);

    int epfd = ifc.epoll_create(u, 1);
    CHECK(epfd >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    CHECK(ifc.epoll_ctl(u, epfd, EPOLL_CTL_ADD, fd, &ev) == 0);
    CHECK(ifc.epoll_wait(u, epfd, &ev, 1, 0) == 0);
    CHECK(ifc.close(u, epfd) == 0);
    CHECK(ifc.close(u, fd) == 0);
    CHECK(fcntl(fd, F_GETFD) == -1); /* the placeholder went with the socket */
    ifc.free(u);
    puts("packetdrill adapter: interface filled, socket/virtual clock/netdev work");
    return 0;
}
