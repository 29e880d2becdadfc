/* core/stack.c — stack instances: creation from a config, the poll loop (link rx -> layers,
 * local delivery, timers, batched link tx) and the deadline query behind the event API.
 * Call chain: app -> pn_stack_poll -> link rx_burst -> pn_eth_input ...;
 *             pn_stack_poll -> local_drain -> pn_ipv4_local_input ...;
 *             pn_timers_run -> layer timers; pn_stack_flush -> link tx_burst. */
#include <stdlib.h>
#include <string.h>
#include "core/stack.h"
#include "socket/socket.h"

#define RX_BURST 64
/* Local datagrams delivered per pn_stack_poll, like the link's 4 bursts: a TCP transfer to
 * ourselves makes each delivery queue the next segment or ACK, so an unbounded drain could
 * keep one poll busy for the whole transfer and starve the link and the timers. */
#define LOCAL_BUDGET (4 * RX_BURST)

const char *pn_version(void)
{
    return PLEBNET_VERSION_STRING;
}

void pn_stack_config_init(struct pn_stack_config *c)
{
    memset(c, 0, sizeof(*c));
    c->prefix_len = 24;
    c->ttl = 64;
    c->reass_timeout_ms = 30000;
    c->reass_max_bytes = 4u << 20;
    c->reass_max_datagrams = 64;
    c->local_queue_len = 1024; /* Linux's netdev_max_backlog for lo is 1000 */
    c->arp_cache_size = 256;
    c->arp_queue_len = 16;
    c->arp_retries = 3;
    c->arp_retry_ms = 1000;
    c->arp_reachable_ms = 30000;
    c->arp_stale_ms = 600000;
    c->arp_announce = true;
    c->icmp_rate_per_sec = 100;
    c->icmp_burst = 50;
    c->udp_rcvbuf = 212992;
    c->udp_sndbuf = 65507;
    c->tcp_sndbuf = 262144;
    c->tcp_rcvbuf = 262144;
    c->tcp_rcvbuf_max = 6u << 20;
    c->tcp_sndbuf_max = 4u << 20;
    c->tcp_autotune = true;
    c->tcp_msl_ms = 30000;
    c->tcp_rto_initial_ms = 1000;
    c->tcp_rto_min_ms = 1000;
    c->tcp_rto_max_ms = 120000;
    c->tcp_delack_ms = 40;
    c->tcp_syn_retries = 6;
    c->tcp_retries = 15;
    c->tcp_initial_window = 0;
    c->tcp_max_syn_backlog = 128;
    c->tcp_max_timewait = 262144;
    c->tcp_challenge_ack_per_sec = 1000;
    c->tcp_syncookies = true;
}

static int check_config(const struct pn_stack_config *c, const struct pn_link *link)
{
    if (!link || !link->ops || !link->ops->rx_burst || !link->ops->tx_burst)
        return PN_EINVAL;
    if (pn_mac_is_multicast(&c->mac))
        return PN_EINVAL;
    static const struct pn_mac zero_mac;
    if (pn_mac_equal(&c->mac, &zero_mac))
        return PN_EINVAL;
    if (c->addr == 0 || c->prefix_len > 32 || c->prefix_len == 0)
        return PN_EINVAL;
    uint32_t mask = pn_ip4_mask(c->prefix_len);
    /* The address must be a host address of its subnet (RFC 1122 §3.2.1.3): not the network
     * or broadcast address, except in /31 and /32 (RFC 3021). */
    if (c->prefix_len < 31 && ((c->addr & ~mask) == 0 || (c->addr & ~mask) == ~mask))
        return PN_EINVAL;
    if ((c->addr >> 24) == 127 || (c->addr >> 28) >= 14)
        return PN_EINVAL; /* loopback, multicast, reserved */
    if (c->gateway && (c->gateway & mask) != (c->addr & mask))
        return PN_EINVAL; /* the gateway must be on-link */
    uint32_t mtu = c->mtu ? c->mtu : link->caps.mtu;
    if (link->caps.mtu && mtu > link->caps.mtu)
        mtu = link->caps.mtu;
    if (mtu < 576) /* RFC 791: every host must accept 576-byte datagrams */
        return PN_EINVAL;
    if (c->arp_cache_size == 0 || c->reass_max_datagrams == 0 || c->ttl == 0)
        return PN_EINVAL;
    if (c->tcp_rto_min_ms == 0 || c->tcp_rto_min_ms > c->tcp_rto_max_ms ||
        c->tcp_rto_initial_ms == 0 || c->tcp_sndbuf < 2048 || c->tcp_rcvbuf < 2048 ||
        c->tcp_msl_ms == 0 || c->tcp_delack_ms >= 500)
        return PN_EINVAL;
    return 0;
}

int pn_stack_new(const struct pn_stack_config *cfg, struct pn_link *link, uint64_t now,
                 struct pn_stack **out)
{
    int err = check_config(cfg, link);
    if (err)
        return err;
    struct pn_stack *s = calloc(1, sizeof(*s));
    if (!s)
        return PN_ENOMEM;
    s->cfg = *cfg;
    if (!s->cfg.local_queue_len) /* configs not made by pn_stack_config_init */
        s->cfg.local_queue_len = 1024;
    s->link = link;
    s->now = now;
    struct pn_pbuf_pool_config pc = {.max_small = cfg->pool_max_small,
                                     .max_large = cfg->pool_max_large};
    s->pool = pn_pbuf_pool_new(&pc);
    if (!s->pool) {
        free(s);
        return PN_ENOMEM;
    }
    pn_timers_init(&s->timers, now);
    pn_pbuf_queue_init(&s->local_q);
    s->iface.mac = cfg->mac;
    s->iface.addr = cfg->addr;
    s->iface.prefix_len = cfg->prefix_len;
    s->iface.mask = pn_ip4_mask(cfg->prefix_len);
    s->iface.bcast = (cfg->addr & s->iface.mask) | ~s->iface.mask;
    s->iface.gateway = cfg->gateway;
    s->iface.mtu = cfg->mtu ? cfg->mtu : link->caps.mtu;
    if (link->caps.mtu && s->iface.mtu > link->caps.mtu)
        s->iface.mtu = link->caps.mtu;
    /* Distinct PRNG streams for distinct addresses sharing a secret. */
    pn_rng_init(&s->rng, cfg->secret, cfg->addr);
    s->ip_id = (uint16_t)pn_rng_u64(&s->rng);

    if ((err = pn_arp_init(s)) < 0 || (err = pn_udp_init(s)) < 0 || (err = pn_tcp_init(s)) < 0) {
        pn_stack_free(s);
        return err;
    }
    pn_reass_init(s);
    pn_icmp_init(s);
    if (cfg->arp_announce)
        pn_arp_announce(s);
    pn_stack_flush(s);
    *out = s;
    return 0;
}

void pn_stack_free(struct pn_stack *s)
{
    if (!s)
        return;
    s->freeing = true;
    while (s->sockets) /* pn_close unlinks the socket from the list */
        pn_close(s->sockets);
    pn_tcp_fini(s);
    pn_udp_fini(s);
    pn_reass_fini(s);
    pn_arp_fini(s);
    pn_pbuf_queue_purge(&s->local_q);
    for (int i = 0; i < s->txq_len; i++)
        pn_pbuf_free(s->txq[i]);
    s->txq_len = 0;
    pn_pbuf_pool_free(s->pool);
    free(s);
}

void pn_stack_flush(struct pn_stack *s)
{
    if (s->txq_len == 0)
        return;
    int n = s->txq_len;
    s->txq_len = 0;
    s->stats.link_tx_frames += (uint64_t)n;
    int sent = s->link->ops->tx_burst(s->link, s->txq, n, s->now);
    if (sent < n)
        s->stats.link_tx_errors += (uint64_t)(n - (sent < 0 ? 0 : sent));
}

void pn_stack_tx(struct pn_stack *s, struct pn_pbuf *frame)
{
    /* Every frame the stack emits carries correct checksums: say so, so that links which
     * cannot corrupt data in transit (the in-memory loop link) can spare the receiver the
     * verification. Links that really move bytes ignore the mark. */
    frame->flags = PN_PBUF_F_CSUM_OK;
    if (s->txq_len == PN_TXQ_MAX)
        pn_stack_flush(s);
    s->txq[s->txq_len++] = frame;
}

struct pn_pbuf *pn_stack_alloc(struct pn_stack *s, uint32_t len)
{
    struct pn_pbuf *p = pn_pbuf_alloc(s->pool, PN_PBUF_HEADROOM, len);
    if (!p)
        s->stats.pbuf_alloc_failed++;
    return p;
}

/* Feeds up to *budget queued local datagrams to IPv4 input (ip/output.c queued them).
 * Datagrams that this queues in turn (replies, ACKs) are taken in the same loop while the
 * budget lasts; the rest wait for the next poll (pn_stack_next_deadline says "now"). */
static void local_drain(struct pn_stack *s, int *budget)
{
    struct pn_pbuf *p;
    while (*budget > 0 && (p = pn_pbuf_queue_pop(&s->local_q)) != NULL) {
        (*budget)--;
        p->time = s->now;
        pn_ipv4_local_input(s, p);
    }
}

int pn_stack_poll(struct pn_stack *s, uint64_t now)
{
    if (now > s->now)
        s->now = now;
    s->in_poll = true;
    struct pn_pbuf *burst[RX_BURST];
    int total = 0, n, budget = LOCAL_BUDGET;
    /* What API calls since the last poll sent to ourselves goes first, in order. */
    local_drain(s, &budget);
    /* Bounded so a flood cannot starve timers: at most 4 bursts per poll. */
    for (int round = 0; round < 4; round++) {
        n = s->link->ops->rx_burst(s->link, s->pool, burst, RX_BURST, s->now);
        if (n < 0) {
            s->in_poll = false;
            pn_stack_flush(s);
            return n;
        }
        for (int i = 0; i < n; i++) {
            burst[i]->time = s->now;
            pn_eth_input(s, burst[i]);
        }
        total += n;
        s->stats.link_rx_frames += (uint64_t)n;
        if (n < RX_BURST)
            break;
    }
    local_drain(s, &budget);
    pn_timers_run(&s->timers, s->now, s);
    local_drain(s, &budget); /* retransmissions, delayed ACKs, ... to ourselves */
    s->in_poll = false;
    pn_stack_flush(s);
    return total;
}

uint64_t pn_stack_next_deadline(const struct pn_stack *s)
{
    uint64_t t = pn_timers_next(&s->timers);
    uint64_t l = pn_link_next_deadline(s->link);
    if (l < t)
        t = l;
    if (s->txq_len || s->local_q.count)
        t = s->now;
    return t;
}

int pn_stack_fd(const struct pn_stack *s)
{
    return pn_link_fd(s->link);
}

uint64_t pn_stack_now(const struct pn_stack *s)
{
    return s->now;
}

const struct pn_stats *pn_stack_stats(const struct pn_stack *s)
{
    return &s->stats;
}

struct pn_link *pn_stack_link(const struct pn_stack *s)
{
    return s->link;
}

void pn_stack_iface(const struct pn_stack *s, struct pn_iface_info *out)
{
    out->mac = s->iface.mac;
    out->addr = s->iface.addr;
    out->gateway = s->iface.gateway;
    out->prefix_len = s->iface.prefix_len;
    out->mtu = s->iface.mtu;
}
