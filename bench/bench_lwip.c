/* bench/bench_lwip.c — the lwIP column of the bulk row: Debian's liblwip (2.1.3, built for
 * the Hurd: NO_SYS 0, malloc-backed pools, TCP_WND = TCP_SND_BUF = 65535, MSS 1460, no
 * timestamps) driven with the raw TCP API from this one thread, never starting its tcpip
 * thread. lwIP keeps one global stack per process, so the two endpoints are two netifs of
 * that one stack (10.0.0.1 and 10.0.0.2, each TCP pcb pinned to its netif with
 * tcp_bind_netif so nothing takes lwIP's local loopback shortcut): every segment leaves as
 * an Ethernet frame through netif->linkoutput into our in-memory link (one copy into a new
 * pbuf, as a NIC would DMA it) and enters the other netif through ethernet_input.
 * Call chain: bench_lwip_bulk -> tcp_write/tcp_output -> etharp_output -> link_out (queue)
 * -> deliver -> ethernet_input -> tcp_input -> on_recv. */
#define _GNU_SOURCE
#include "bench.h"

#ifndef PN_BENCH_HAVE_LWIP
struct fig bench_lwip_bulk(uint64_t bytes, double seconds, uint64_t *frames)
{
    (void)bytes;
    (void)seconds;
    if (frames)
        *frames = 0;
    struct fig f = {.ok = false, .why = "lwIP not built"};
    return f;
}
#else
#include <string.h>
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#define RING 8192u

/* One direction of the link: frames queued by one netif for the other. */
struct ring {
    struct pbuf *q[RING];
    uint32_t head, tail;
    uint64_t frames, dropped;
};

static struct netif nif[2];
static struct ring rings[2]; /* rings[i]: frames for nif[i] */
static bool inited;
/* Set while tearing a connection down: frames are dropped. A segment reaching a netif with
 * no pcb for it is answered with a RST routed by destination alone (ip4_route), which picks
 * the destination's own netif and so lwIP's loopback path, and that needs the tcpip thread
 * we do not run. Dropping the frames of the teardown avoids it. */
static bool discard;

static err_t link_out(struct netif *n, struct pbuf *p)
{
    int peer = n == &nif[0] ? 1 : 0;
    struct ring *r = &rings[peer];
    if (discard)
        return ERR_OK;
    if (r->tail - r->head >= RING) {
        r->dropped++;
        return ERR_OK; /* a full queue drops, like a NIC ring */
    }
    struct pbuf *c = pbuf_alloc(PBUF_RAW, p->tot_len, PBUF_RAM);
    if (!c)
        return ERR_MEM;
    pbuf_copy(c, p);
    r->q[r->tail++ % RING] = c;
    r->frames++;
    return ERR_OK;
}

static err_t nif_init(struct netif *n)
{
    int i = n == &nif[0] ? 0 : 1;
    n->name[0] = 'b';
    n->name[1] = (char)('0' + i);
    n->mtu = 1500;
    n->hwaddr_len = 6;
    static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}};
    memcpy(n->hwaddr, mac[i], 6);
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    n->output = etharp_output;
    n->linkoutput = link_out;
    return ERR_OK;
}

/* Hands every queued frame to its netif; returns how many. */
static unsigned deliver(void)
{
    unsigned n = 0;
    for (int i = 0; i < 2; i++) {
        struct ring *r = &rings[i];
        while (r->head != r->tail) {
            struct pbuf *p = r->q[r->head++ % RING];
            if (nif[i].input(p, &nif[i]) != ERR_OK)
                pbuf_free(p);
            n++;
        }
    }
    return n;
}

struct conn {
    struct tcp_pcb *cli, *srv;
    bool connected;
    uint64_t got;
};
static struct conn C;

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    (void)err;
    if (!p)
        return ERR_OK;
    C.got += p->tot_len;
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    C.srv = pcb;
    tcp_recv(pcb, on_recv);
    return ERR_OK;
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    (void)pcb;
    C.connected = err == ERR_OK;
    return ERR_OK;
}

struct fig bench_lwip_bulk(uint64_t bytes, double seconds, uint64_t *frames)
{
    struct fig f = {.ok = false, .why = "lwIP setup failed"};
    if (!inited) {
        lwip_init();
        ip4_addr_t a, b, mask, gw;
        IP4_ADDR(&a, 10, 0, 0, 1);
        IP4_ADDR(&b, 10, 0, 0, 2);
        IP4_ADDR(&mask, 255, 255, 255, 0);
        IP4_ADDR(&gw, 0, 0, 0, 0);
        if (!netif_add(&nif[0], &a, &mask, &gw, NULL, nif_init, ethernet_input) ||
            !netif_add(&nif[1], &b, &mask, &gw, NULL, nif_init, ethernet_input))
            return f;
        for (int i = 0; i < 2; i++) {
            netif_set_up(&nif[i]);
            netif_set_link_up(&nif[i]);
        }
        inited = true;
    }
    memset(&C, 0, sizeof(C));
    static uint16_t port = 5000;
    port++; /* a fresh port per run: the last run's pcbs may linger in TIME-WAIT */
    struct tcp_pcb *l = tcp_new();
    if (!l)
        return f;
    tcp_bind_netif(l, &nif[1]);
    if (tcp_bind(l, netif_ip_addr4(&nif[1]), port) != ERR_OK)
        return f;
    l = tcp_listen(l);
    if (!l)
        return f;
    tcp_bind_netif(l, &nif[1]); /* lwIP 2.1's tcp_listen does not carry it over */
    tcp_accept(l, on_accept);
    C.cli = tcp_new();
    tcp_bind_netif(C.cli, &nif[0]);
    tcp_nagle_disable(C.cli);
    if (tcp_connect(C.cli, netif_ip_addr4(&nif[1]), port, on_connected) != ERR_OK)
        return f;
    uint64_t t0 = bench_now_ns();
    while (!(C.connected && C.srv)) {
        deliver();
        sys_check_timeouts();
        if (bench_now_ns() - t0 > 3000000000ull) /* ARP, then the handshake */
            return f;
    }
    uint64_t frames0 = rings[0].frames + rings[1].frames;
    static uint8_t buf[65535];
    memset(buf, 0x5a, sizeof(buf));
    uint64_t sent = 0, limit = (uint64_t)(seconds * 1e9), t = bench_now_ns();
    t0 = t;
    unsigned rounds = 0;
    while (C.got < bytes && t - t0 < limit) {
        while (sent < bytes) {
            uint32_t room = tcp_sndbuf(C.cli);
            if (room == 0 || tcp_sndqueuelen(C.cli) >= TCP_SND_QUEUELEN - 1)
                break;
            uint64_t left = bytes - sent;
            uint16_t n = (uint16_t)(left < room ? left : room);
            if (tcp_write(C.cli, buf, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
                break;
            sent += n;
        }
        tcp_output(C.cli);
        while (deliver())
            ;
        if ((++rounds & 63) == 0) {
            sys_check_timeouts(); /* lwIP reads its own clock (sys_now) */
            t = bench_now_ns();
        }
    }
    f = (struct fig){.ok = true, .done = C.got};
    uint64_t ns = bench_now_ns() - t0;
    f.value = (double)C.got * 8 / (double)ns;
    if (frames)
        *frames = rings[0].frames + rings[1].frames - frames0;
    discard = true;
    for (int i = 0; i < 2; i++)
        while (rings[i].head != rings[i].tail)
            pbuf_free(rings[i].q[rings[i].head++ % RING]);
    tcp_recv(C.srv, NULL);
    tcp_abort(C.cli);
    tcp_abort(C.srv);
    tcp_close(l);
    discard = false;
    return f;
}
#endif
