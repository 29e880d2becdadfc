/* fuzz/fuzz_stack.c — libFuzzer target for a whole stack: two stacks over the loop link with
 * a real TCP connection, a UDP socket, a ping socket and a listener; the input is a script
 * of raw frames, checksum-fixed mutations of frames the peer really sent (so mutations get
 * past validation into every TCP state), clock advances and application actions. Nothing
 * may crash, leak or trip a sanitizer, whatever arrives. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "plebnet/plebnet.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define A PN_IP4(10, 0, 0, 1)
#define B PN_IP4(10, 0, 0, 2)
#define NTPL 8

static const struct pn_mac MAC_A = {{2, 0, 0, 0, 0, 1}}, MAC_B = {{2, 0, 0, 0, 0, 2}};

/* A wrapper over B's end that keeps copies of the last frames B sent (the templates). */
struct tap {
    struct pn_link link;
    struct pn_link *inner;
    uint8_t tpl[NTPL][1600];
    uint16_t tlen[NTPL];
    unsigned next;
};

static int tap_tx(struct pn_link *l, struct pn_pbuf **f, int n, uint64_t now)
{
    struct tap *t = (struct tap *)l;
    for (int i = 0; i < n; i++) {
        if (f[i]->len <= sizeof(t->tpl[0])) {
            memcpy(t->tpl[t->next % NTPL], f[i]->data, f[i]->len);
            t->tlen[t->next % NTPL] = (uint16_t)f[i]->len;
            t->next++;
        }
    }
    return t->inner->ops->tx_burst(t->inner, f, n, now);
}

static int tap_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                  uint64_t now)
{
    struct tap *t = (struct tap *)l;
    return t->inner->ops->rx_burst(t->inner, pool, out, max, now);
}

static uint64_t tap_deadline(struct pn_link *l)
{
    return pn_link_next_deadline(((struct tap *)l)->inner);
}

static const struct pn_link_ops tap_ops = {
    .name = "tap", .rx_burst = tap_rx, .tx_burst = tap_tx, .next_deadline = tap_deadline};

struct world {
    struct pn_link *la, *lb;
    struct tap tb;
    struct pn_stack *a, *b;
    struct pn_pbuf_pool *pool;
    struct pn_socket *lst, *srv, *cli, *udp, *ping;
    uint64_t now;
};

static void poll_all(struct world *w, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        pn_stack_poll(w->a, w->now);
        pn_stack_poll(w->b, w->now);
    }
}

/* Delivers a frame to A as if B had sent it (bypassing B's stack and the template tap). */
static void inject(struct world *w, const uint8_t *f, size_t len)
{
    if (len < 14 || len > 1514)
        return;
    struct pn_pbuf *p = pn_pbuf_alloc(w->pool, 0, (uint32_t)len);
    if (!p)
        return;
    memcpy(p->data, f, len);
    w->tb.inner->ops->tx_burst(w->tb.inner, &p, 1, w->now);
    poll_all(w, 2);
}

/* Recomputes the IPv4 header checksum and the TCP/UDP/ICMP checksum, if the frame has the
 * shape for it, so that a mutated frame reaches the layers above validation. */
static void fix_checksums(uint8_t *f, size_t len)
{
    if (len < 34 || pn_get_be16(f + 12) != PN_ETHERTYPE_IPV4)
        return;
    uint8_t *ip = f + 14;
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    size_t tot = pn_get_be16(ip + 2);
    if (ihl < 20 || 14 + ihl > len || tot < ihl || 14 + tot > len)
        return;
    pn_put_be16(ip + 10, 0);
    pn_put_be16(ip + 10, pn_csum_finish(pn_csum_add(0, ip, ihl)));
    uint8_t *l4 = ip + ihl;
    size_t l4len = tot - ihl;
    uint32_t src = pn_get_be32(ip + 12), dst = pn_get_be32(ip + 16);
    size_t off = ip[9] == 6 ? 16 : ip[9] == 17 ? 6 : ip[9] == 1 ? 2 : 0;
    if (!off || l4len < off + 2)
        return;
    pn_put_be16(l4 + off, 0);
    uint32_t sum = ip[9] == 1 ? 0 : pn_csum_pseudo_ipv4(src, dst, ip[9], (uint16_t)l4len);
    uint16_t c = pn_csum_finish(pn_csum_add(sum, l4, l4len));
    pn_put_be16(l4 + off, ip[9] == 17 && c == 0 ? 0xffff : c);
}

static int world_init(struct world *w)
{
    memset(w, 0, sizeof(*w));
    if (pn_link_loop_pair(1500, 0, &w->la, &w->lb) < 0)
        return -1;
    w->tb.link.ops = &tap_ops;
    w->tb.link.caps = w->lb->caps;
    w->tb.inner = w->lb;
    w->pool = pn_pbuf_pool_new(NULL);
    struct pn_stack_config ca, cb;
    pn_stack_config_init(&ca);
    pn_stack_config_init(&cb);
    ca.addr = A;
    ca.mac = MAC_A;
    cb.addr = B;
    cb.mac = MAC_B;
    for (int i = 0; i < 16; i++)
        ca.secret[i] = cb.secret[i] = (uint8_t)i;
    ca.tcp_max_syn_backlog = 4; /* reach the SYN-cookie path too */
    w->now = PN_SEC(10);
    if (pn_stack_new(&ca, w->la, w->now, &w->a) < 0 ||
        pn_stack_new(&cb, &w->tb.link, w->now, &w->b) < 0)
        return -1;
    pn_stack_arp_add_static(w->a, B, &MAC_B);
    pn_stack_arp_add_static(w->b, A, &MAC_A);
    pn_socket(w->a, PN_SOCK_STREAM, &w->lst);
    pn_bind(w->lst, &(struct pn_endpoint){0, 80});
    pn_listen(w->lst, 4);
    pn_socket(w->a, PN_SOCK_DGRAM, &w->udp);
    pn_bind(w->udp, &(struct pn_endpoint){0, 7});
    pn_socket(w->a, PN_SOCK_PING, &w->ping);
    pn_socket(w->b, PN_SOCK_STREAM, &w->cli);
    pn_connect(w->cli, &(struct pn_endpoint){A, 80});
    poll_all(w, 4);
    pn_accept(w->lst, &w->srv, NULL);
    pn_send(w->cli, "hello", 5, 0);
    if (w->srv)
        pn_send(w->srv, "world", 5, 0);
    poll_all(w, 4);
    return 0;
}

static void world_fini(struct world *w)
{
    pn_stack_free(w->a);
    pn_stack_free(w->b);
    pn_link_destroy(w->la);
    pn_link_destroy(w->lb);
    pn_pbuf_pool_free(w->pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct world w;
    if (world_init(&w) < 0) {
        world_fini(&w);
        return 0;
    }
    uint8_t frame[1600], buf[2048];
    size_t i = 0;
    while (i < size) {
        uint8_t op = data[i++];
        switch (op & 3) {
        case 0: { /* a raw frame from the input */
            size_t len = i < size ? (size_t)data[i++] * 6 : 0;
            if (len > size - i)
                len = size - i;
            memcpy(frame, data + i, len);
            i += len;
            inject(&w, frame, len);
            break;
        }
        case 1: { /* a real frame of B's, with byte edits, checksums fixed or not */
            if (w.tb.next == 0 || i + 1 > size)
                break;
            unsigned k = data[i++] % (w.tb.next < NTPL ? w.tb.next : NTPL);
            size_t len = w.tb.tlen[k];
            memcpy(frame, w.tb.tpl[k], len);
            unsigned edits = (op >> 2) & 7;
            for (unsigned e = 0; e < edits && i + 2 <= size; e++, i += 2)
                frame[data[i] % len] = data[i + 1];
            if (op & 0x20)
                fix_checksums(frame, len);
            if (op & 0x40 && i < size)
                len = len > data[i] ? len - data[i++] : len; /* truncate */
            inject(&w, frame, len);
            break;
        }
        case 2: /* let time pass: timers fire, retransmissions, TIME-WAIT */
            w.now += (uint64_t)(op >> 2) * PN_MS(37);
            poll_all(&w, 2);
            break;
        case 3: /* the applications act */
            switch ((op >> 2) & 7) {
            case 0:
                if (w.srv)
                    pn_send(w.srv, data, size < 1400 ? size : 1400, 0);
                break;
            case 1:
                if (w.srv)
                    pn_recv(w.srv, buf, sizeof(buf), 0);
                pn_recv(w.udp, buf, sizeof(buf), 0);
                pn_recv(w.ping, buf, sizeof(buf), 0);
                break;
            case 2:
                pn_send(w.cli, data, size < 3000 ? size : 3000, 0);
                pn_recv(w.cli, buf, sizeof(buf), 0);
                break;
            case 3:
                if (w.srv)
                    pn_shutdown(w.srv, (op >> 5) % 3);
                break;
            case 4:
                if (w.srv) {
                    pn_close(w.srv);
                    w.srv = NULL;
                }
                break;
            case 5: {
                struct pn_socket *c;
                if (pn_accept(w.lst, &c, NULL) == 0) {
                    if (w.srv)
                        pn_close(w.srv);
                    w.srv = c;
                }
                break;
            }
            case 6:
                pn_sendto(w.udp, "x", 1, 0, &(struct pn_endpoint){B, 9});
                break;
            default: {
                uint8_t req[16] = {8, 0, 0, 0, 0, 0, 0, 1};
                pn_sendto(w.ping, req, sizeof(req), 0, &(struct pn_endpoint){B, 0});
                break;
            }
            }
            poll_all(&w, 2);
            break;
        }
    }
    world_fini(&w);
    return 0;
}
