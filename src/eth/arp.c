/* eth/arp.c — the ARP cache and protocol (RFC 826 merge algorithm, RFC 1122 §2.3.2 cache
 * validation by unicast poll, RFC 5227 announcements and conflict defence).
 * Call chain: pn_eth_input -> pn_arp_input -> pn_eth_output (replies);
 * pn_ipv4_output -> pn_arp_output -> pn_eth_output; pn_timers_run -> arp_timer. */
#include <stdlib.h>
#include <string.h>
#include "core/stack.h"
#include "core/util.h"
#include "eth/eth.h"
#include "ip/ip.h"
#include "wire/arp.h"
#include "wire/ethernet.h"

/* RFC 5227 §1.1: the minimum interval between two defensive announcements. */
#define ARP_DEFEND_INTERVAL_NS PN_SEC(10)

/* Private state around the entry array: struct pn_arp_cache (eth/eth.h) points at e[], and
 * container_of recovers the rest. Allocated once in pn_arp_init: no malloc afterwards. */
struct arp_priv {
    struct pn_arp_entry *free_list; /* unused slots, linked through hnext */
    uint32_t hash_key;              /* from the stack secret: chains an attacker cannot aim */
    uint32_t hash_bits;
    bool conflict_seen;
    uint64_t last_conflict; /* RFC 5227 §2.4 (b): time of the last conflicting packet */
    struct pn_arp_entry e[];
};

static const struct pn_mac mac_zero;
static const struct pn_mac mac_bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

static struct arp_priv *arp_priv(const struct pn_stack *s)
{
    return pn_container_of(s->arp.entries, struct arp_priv, e);
}

static uint32_t arp_retries(const struct pn_stack *s)
{
    /* At least one request; at most 100 so the count fits the entry's uint8_t tries. */
    uint32_t r = s->cfg.arp_retries;
    return r == 0 ? 1 : r > 100 ? 100 : r;
}

static uint32_t arp_bucket(const struct pn_stack *s, uint32_t addr)
{
    const struct arp_priv *pv = arp_priv(s);
    /* Keyed multiplicative (Fibonacci) hashing: the top bits of (addr ^ key) * 2^32/phi. */
    uint32_t h = (addr ^ pv->hash_key) * 0x9e3779b1u;
    return pv->hash_bits ? h >> (32 - pv->hash_bits) : 0;
}

static struct pn_arp_entry *arp_lookup(const struct pn_stack *s, uint32_t addr)
{
    struct pn_arp_entry *e = s->arp.buckets[arp_bucket(s, addr)];
    while (e && e->addr != addr)
        e = e->hnext;
    return e;
}

/* Returns a slot to the free list; the caller has counted whatever was queued. */
static void arp_entry_free(struct pn_stack *s, struct pn_arp_entry *e)
{
    struct arp_priv *pv = arp_priv(s);
    struct pn_arp_entry **pp = &s->arp.buckets[arp_bucket(s, e->addr)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    pn_timer_cancel(&s->timers, &e->timer);
    pn_pbuf_queue_purge(&e->pending);
    e->addr = 0;
    e->mac = mac_zero;
    e->hnext = pv->free_list;
    pv->free_list = e;
    s->arp.used--;
}

/* Takes a free slot, or evicts the least recently used entry that is neither static nor
 * still resolving (those hold a queue or an administrator's wish). NULL if none. */
static struct pn_arp_entry *arp_entry_new(struct pn_stack *s, uint32_t addr,
                                          enum pn_arp_state state)
{
    struct arp_priv *pv = arp_priv(s);
    if (!pv->free_list) {
        struct pn_arp_entry *lru = NULL;
        for (uint32_t i = 0; i < s->cfg.arp_cache_size; i++) {
            struct pn_arp_entry *c = &s->arp.entries[i];
            if (c->addr == 0 || c->state == PN_ARP_STATIC || c->state == PN_ARP_INCOMPLETE)
                continue;
            if (!lru || c->used < lru->used)
                lru = c;
        }
        if (!lru)
            return NULL;
        arp_entry_free(s, lru);
    }
    struct pn_arp_entry *e = pv->free_list;
    pv->free_list = e->hnext;
    e->addr = addr;
    e->mac = mac_zero;
    e->state = state;
    e->tries = 0;
    e->updated = s->now;
    e->used = s->now;
    pn_pbuf_queue_init(&e->pending);
    uint32_t b = arp_bucket(s, addr);
    e->hnext = s->arp.buckets[b];
    s->arp.buckets[b] = e;
    s->arp.used++;
    return e;
}

/* Builds and sends one ARP packet. eth_dst is the frame's destination. */
static void arp_send(struct pn_stack *s, uint16_t op, const struct pn_mac *eth_dst,
                     const struct pn_mac *tha, uint32_t tpa)
{
    struct pn_pbuf *p = pn_stack_alloc(s, PN_ARP_LEN); /* counts pbuf_alloc_failed */
    if (!p)
        return;
    struct pn_arp_repr r = {
        .op = op, .sha = s->iface.mac, .spa = s->iface.addr, .tha = *tha, .tpa = tpa};
    pn_arp_emit(&r, p->data);
    pn_eth_output(s, p, eth_dst, PN_ETHERTYPE_ARP);
}

/* A request for addr: broadcast while resolving, unicast to the cached MAC when polling a
 * stale entry. The target hardware address is zero, as RFC 5227 §2.1.1 recommends. */
static void arp_request(struct pn_stack *s, const struct pn_mac *eth_dst, uint32_t addr)
{
    PN_STAT_INC(s, arp_tx_request);
    arp_send(s, PN_ARP_OP_REQUEST, eth_dst, &mac_zero, addr);
}

void pn_arp_announce(struct pn_stack *s)
{
    /* RFC 5227 §2.3: an ARP Announcement is a broadcast request whose sender and target
     * protocol addresses are both ours, so every cache holding us is updated. */
    PN_STAT_INC(s, arp_tx_gratuitous);
    arp_send(s, PN_ARP_OP_REQUEST, &mac_bcast, &mac_zero, s->iface.addr);
}

/* Sends everything queued on a just-resolved entry. */
static void arp_flush(struct pn_stack *s, struct pn_arp_entry *e)
{
    struct pn_pbuf *p;
    while ((p = pn_pbuf_queue_pop(&e->pending)) != NULL)
        pn_eth_output(s, p, &e->mac, PN_ETHERTYPE_IPV4);
    e->used = s->now;
}

/* The MAC of addr is confirmed (RFC 826 merge or creation): REACHABLE for arp_reachable_ms. */
static void arp_confirm(struct pn_stack *s, struct pn_arp_entry *e, const struct pn_mac *mac)
{
    e->mac = *mac;
    e->state = PN_ARP_REACHABLE;
    e->tries = 0;
    e->updated = s->now;
    pn_timer_arm(&s->timers, &e->timer, s->now + PN_MS(s->cfg.arp_reachable_ms));
    arp_flush(s, e);
}

/* One timer per entry. INCOMPLETE: retry, then fail and hold down for one retry interval.
 * REACHABLE: becomes STALE. STALE: deleted when unused for arp_stale_ms, or polled by
 * unicast after its first use (tries > 0) and deleted when the polls go unanswered. */
static void arp_timer(struct pn_timer *t, void *ctx, uint64_t now)
{
    struct pn_stack *s = ctx;
    struct pn_arp_entry *e = pn_container_of(t, struct pn_arp_entry, timer);
    uint32_t retries = arp_retries(s);
    uint64_t retry = PN_MS(s->cfg.arp_retry_ms);
    switch (e->state) {
    case PN_ARP_INCOMPLETE:
        if (e->tries > retries) {
            /* Hold-down over: the next send starts a fresh resolution. */
            arp_entry_free(s, e);
        } else if (e->tries < retries) {
            e->tries++;
            arp_request(s, &mac_bcast, e->addr);
            pn_timer_arm(&s->timers, t, now + retry);
        } else {
            /* RFC 1122 §2.3.2.2: give up; queued datagrams are discarded. The host
             * unreachable error would only go to ourselves, so nothing is sent. */
            PN_STAT_ADD(s, arp_resolve_failed, e->pending.count);
            pn_pbuf_queue_purge(&e->pending);
            e->tries = (uint8_t)(retries + 1); /* failing: sends get PN_EHOSTUNREACH */
            pn_timer_arm(&s->timers, t, now + retry);
        }
        break;
    case PN_ARP_REACHABLE:
        e->state = PN_ARP_STALE;
        e->tries = 0;
        pn_timer_arm(&s->timers, t, now + PN_MS(s->cfg.arp_stale_ms));
        break;
    case PN_ARP_STALE:
        if (e->tries == 0 || e->tries >= retries) {
            /* Unused for arp_stale_ms (RFC 1122 §2.3.2.1 mechanism 1, timeout), or N
             * successive unicast polls unanswered (mechanism 2). */
            arp_entry_free(s, e);
        } else {
            e->tries++;
            arp_request(s, &e->mac, e->addr);
            pn_timer_arm(&s->timers, t, now + retry);
        }
        break;
    case PN_ARP_STATIC:
        break;
    }
}

int pn_arp_init(struct pn_stack *s)
{
    uint32_t n = s->cfg.arp_cache_size;
    if (n == 0 || n > (1u << 24))
        return PN_EINVAL;
    uint32_t bits = 0;
    while ((1u << bits) < n)
        bits++;
    struct arp_priv *pv = calloc(1, sizeof(*pv) + (size_t)n * sizeof(struct pn_arp_entry));
    struct pn_arp_entry **buckets = calloc((size_t)1 << bits, sizeof(*buckets));
    if (!pv || !buckets) {
        free(pv);
        free(buckets);
        return PN_ENOMEM;
    }
    pv->hash_bits = bits;
    pv->hash_key = (uint32_t)pn_siphash(s->cfg.secret, "arp-hash", 8);
    for (uint32_t i = n; i-- > 0;) {
        pn_timer_init(&pv->e[i].timer, arp_timer);
        pv->e[i].hnext = pv->free_list;
        pv->free_list = &pv->e[i];
    }
    s->arp.entries = pv->e;
    s->arp.buckets = buckets;
    s->arp.nbuckets = 1u << bits;
    s->arp.used = 0;
    return 0;
}

void pn_arp_fini(struct pn_stack *s)
{
    if (!s->arp.entries)
        return;
    for (uint32_t i = 0; i < s->cfg.arp_cache_size; i++) {
        struct pn_arp_entry *e = &s->arp.entries[i];
        pn_timer_cancel(&s->timers, &e->timer);
        if (e->addr)
            pn_pbuf_queue_purge(&e->pending);
    }
    free(arp_priv(s));
    free(s->arp.buckets);
    s->arp.entries = NULL;
    s->arp.buckets = NULL;
    s->arp.used = 0;
}

/* An IPv4 address that can name a single host as an ARP sender: not zero, limited or
 * directed broadcast, multicast/reserved (224/3) or loopback (RFC 1122 §3.2.1.3). */
static bool arp_unicast_addr(const struct pn_stack *s, uint32_t a)
{
    return a != 0 && !pn_ipv4_is_broadcast(s, a) && (a >> 29) != 7 && (a >> 24) != 127;
}

void pn_arp_input(struct pn_stack *s, struct pn_pbuf *pkt)
{
    struct pn_arp_repr a;
    PN_STAT_INC(s, arp_rx);
    if (pn_arp_parse(pkt->data, pkt->len, &a) != PN_WIRE_OK) {
        PN_STAT_INC(s, arp_rx_malformed);
        goto out;
    }
    /* Our own MAC as sender is our own packet reflected back (or a spoof); a group or zero
     * MAC cannot be a sender. Learning either would blackhole traffic. */
    if (pn_mac_equal(&a.sha, &s->iface.mac) || pn_mac_is_multicast(&a.sha) ||
        pn_mac_equal(&a.sha, &mac_zero)) {
        PN_STAT_INC(s, arp_rx_bad_sender);
        goto out;
    }
    if (a.spa == 0) {
        /* RFC 5227 §2.1.1: an ARP Probe (sender IP zero) from a host checking whether an
         * address is free. If it is ours, answer so the prober backs off (what Linux
         * does); never learn from it. Probes for other addresses are none of our
         * business. */
        if (a.op == PN_ARP_OP_REQUEST && a.tpa == s->iface.addr) {
            PN_STAT_INC(s, arp_tx_reply);
            arp_send(s, PN_ARP_OP_REPLY, &a.sha, &a.sha, 0);
        } else {
            PN_STAT_INC(s, arp_rx_bad_sender);
        }
        goto out;
    }
    if (a.spa == s->iface.addr) {
        /* RFC 5227 §2.4: someone else claims our address. Change nothing; defend with
         * one announcement (option b) unless another conflict came within
         * DEFEND_INTERVAL, so two defending hosts cannot loop. */
        PN_STAT_INC(s, arp_rx_conflict);
        struct arp_priv *pv = arp_priv(s);
        if (!pv->conflict_seen || s->now - pv->last_conflict >= ARP_DEFEND_INTERVAL_NS)
            pn_arp_announce(s);
        pv->conflict_seen = true;
        pv->last_conflict = s->now;
        goto out;
    }
    if (!arp_unicast_addr(s, a.spa)) {
        PN_STAT_INC(s, arp_rx_bad_sender);
        goto out;
    }
    /* RFC 826 "Packet Reception": if the sender's address is already in the table,
     * update its hardware address (merge_flag), whoever the packet is for. Static
     * entries are the administrator's and are not changed. */
    bool merge = false;
    struct pn_arp_entry *e = arp_lookup(s, a.spa);
    if (e) {
        merge = true;
        if (e->state != PN_ARP_STATIC)
            arp_confirm(s, e, &a.sha);
    }
    /* RFC 826: "Am I the target protocol address?" If not, we are done. */
    if (a.tpa != s->iface.addr) {
        if (!merge)
            PN_STAT_INC(s, arp_rx_not_for_us);
        goto out;
    }
    /* RFC 826: if merge_flag is false, add the sender to the table. Only for on-link
     * senders: an off-link address is never a next hop, the entry would waste a slot. */
    if (!merge && (a.spa & s->iface.mask) == (s->iface.addr & s->iface.mask)) {
        e = arp_entry_new(s, a.spa, PN_ARP_REACHABLE);
        if (e)
            arp_confirm(s, e, &a.sha);
        else
            PN_STAT_INC(s, arp_cache_full); /* still answer below */
    }
    /* RFC 826: "Is the opcode ares_op$REQUEST? If so, swap the hardware and protocol
     * fields, putting the local addresses in the sender fields", reply to the requester. */
    if (a.op == PN_ARP_OP_REQUEST) {
        PN_STAT_INC(s, arp_tx_reply);
        arp_send(s, PN_ARP_OP_REPLY, &a.sha, &a.sha, a.spa);
    }
out:
    pn_pbuf_free(pkt);
}

/* Datagrams waiting in q: packets that do not continue the previous one's datagram. */
static uint32_t arp_queued_datagrams(const struct pn_pbuf_queue *q)
{
    uint32_t n = 0;
    for (const struct pn_pbuf *p = q->head; p; p = p->next)
        n += p->user == 0;
    return n;
}

/* Consumes pkt (data = IP header). Reads pkt->user: non-zero marks a fragment continuing the
 * previous packet's datagram (set by ip/output.c, the only caller); see the queue bound. */
int pn_arp_output(struct pn_stack *s, struct pn_pbuf *pkt, uint32_t next_hop)
{
    if (pn_ipv4_is_broadcast(s, next_hop))
        return pn_eth_output(s, pkt, &mac_bcast, PN_ETHERTYPE_IPV4);
    if ((next_hop >> 28) == 0xe) {
        /* RFC 1112 §6.4: 01:00:5e followed by the low 23 bits of the group address. */
        struct pn_mac m = {{0x01, 0x00, 0x5e, (uint8_t)((next_hop >> 16) & 0x7f),
                            (uint8_t)(next_hop >> 8), (uint8_t)next_hop}};
        return pn_eth_output(s, pkt, &m, PN_ETHERTYPE_IPV4);
    }
    struct pn_arp_entry *e = arp_lookup(s, next_hop);
    if (!e) {
        e = arp_entry_new(s, next_hop, PN_ARP_INCOMPLETE);
        if (!e) {
            PN_STAT_INC(s, arp_cache_full);
            pn_pbuf_free(pkt);
            return PN_ENOMEM;
        }
        e->tries = 1;
        arp_request(s, &mac_bcast, next_hop);
        pn_timer_arm(&s->timers, &e->timer, s->now + PN_MS(s->cfg.arp_retry_ms));
    }
    switch (e->state) {
    case PN_ARP_STALE:
        /* RFC 1122 §2.3.2.1, mechanism 2 (unicast poll), started on the first use of a
         * stale entry as Linux's NUD_PROBE does: the entry stays usable meanwhile. */
        if (e->tries == 0) {
            e->tries = 1;
            arp_request(s, &e->mac, e->addr);
            pn_timer_arm(&s->timers, &e->timer, s->now + PN_MS(s->cfg.arp_retry_ms));
        }
        /* fall through */
    case PN_ARP_REACHABLE:
    case PN_ARP_STATIC:
        e->used = s->now;
        return pn_eth_output(s, pkt, &e->mac, PN_ETHERTYPE_IPV4);
    case PN_ARP_INCOMPLETE:
        break;
    }
    if (e->tries > arp_retries(s)) {
        /* Failing: resolution just gave up; hold down for one retry interval rather than
         * flood the link with requests for a host that is not there. */
        PN_STAT_INC(s, arp_resolve_failed);
        pn_pbuf_free(pkt);
        return PN_EHOSTUNREACH;
    }
    if (s->cfg.arp_queue_len == 0) {
        PN_STAT_INC(s, arp_queue_dropped);
        pn_pbuf_free(pkt);
        return PN_ENOBUFS;
    }
    /* The bound counts datagrams, not packets: the fragments of one datagram (marked by
     * ip/output.c with user = 1 on all but the first, and handed over back to back) count
     * once, since losing any of them loses it all. A 64 KiB datagram to a host being
     * resolved must survive (Linux's queue is 212992 bytes for the same reason). */
    if (pkt->user == 0) {
        /* RFC 1122 §2.3.2.2: SHOULD save at least one (the latest) packet. When the
         * queue is full we drop the OLDEST datagram, like Linux: the newest data is the
         * most useful (it is what a retransmitting transport just sent). The new packet
         * is queued: return 0. */
        if (arp_queued_datagrams(&e->pending) >= s->cfg.arp_queue_len) {
            do {
                PN_STAT_INC(s, arp_queue_dropped);
                pn_pbuf_free(pn_pbuf_queue_pop(&e->pending));
            } while (e->pending.head && e->pending.head->user != 0);
        }
    }
    pn_pbuf_queue_push(&e->pending, pkt);
    return 0;
}

void pn_stack_arp_foreach(const struct pn_stack *s,
                          int (*fn)(const struct pn_arp_entry_info *e, void *arg), void *arg)
{
    if (!s->arp.entries)
        return;
    for (uint32_t i = 0; i < s->cfg.arp_cache_size; i++) {
        const struct pn_arp_entry *e = &s->arp.entries[i];
        if (e->addr == 0)
            continue;
        struct pn_arp_entry_info info = {.addr = e->addr,
                                         .mac = e->mac,
                                         .state = e->state,
                                         .updated = e->updated,
                                         .queued = e->pending.count};
        if (fn(&info, arg))
            return;
    }
}

int pn_stack_arp_add_static(struct pn_stack *s, uint32_t addr, const struct pn_mac *mac)
{
    if (!mac || !arp_unicast_addr(s, addr) || addr == s->iface.addr || pn_mac_is_multicast(mac) ||
        pn_mac_equal(mac, &mac_zero))
        return PN_EINVAL;
    struct pn_arp_entry *e = arp_lookup(s, addr);
    if (!e)
        e = arp_entry_new(s, addr, PN_ARP_STATIC);
    if (!e)
        return PN_ENOMEM;
    pn_timer_cancel(&s->timers, &e->timer);
    e->mac = *mac;
    e->state = PN_ARP_STATIC;
    e->tries = 0;
    e->updated = s->now;
    arp_flush(s, e);
    pn_stack_flush(s);
    return 0;
}
