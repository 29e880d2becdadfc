/* tcp/table.c — TCP connection bookkeeping: the 4-tuple hash table (SipHash under the
 * stack's secret, so remote hosts cannot aim collisions), listeners and bound ports,
 * RFC 6528 initial sequence numbers, RFC 6056 ephemeral ports, TCB creation and teardown,
 * and the RFC 5961 §7 challenge-ACK rate limit.
 * Call chain: tcp/input.c, tcp/socket.c -> lookups and lifecycle here. */
#include <stdlib.h>
#include <string.h>
#include "core/stack.h"
#include "tcp/tcp.h"

#define EPHEMERAL_LO 49152u /* RFC 6335 §6 */
#define EPHEMERAL_HI 65535u

static uint32_t tuple_hash(const struct pn_stack *s, uint32_t laddr, uint16_t lport,
                           uint32_t raddr, uint16_t rport)
{
    uint32_t k[3] = {laddr, raddr, (uint32_t)lport << 16 | rport};
    return (uint32_t)pn_siphash(s->cfg.secret, k, sizeof(k));
}

int pn_tcp_init(struct pn_stack *s)
{
    struct pn_tcp_table *tt = &s->tcp;
    tt->nbuckets = 1024;
    tt->nlbuckets = 64;
    tt->ports_nbuckets = 256;
    tt->buckets = calloc(tt->nbuckets, sizeof(*tt->buckets));
    tt->lbuckets = calloc(tt->nlbuckets, sizeof(*tt->lbuckets));
    tt->ports = calloc(tt->ports_nbuckets, sizeof(*tt->ports));
    tt->chack_tokens = (uint64_t)s->cfg.tcp_challenge_ack_per_sec * 1000;
    tt->chack_last = s->now;
    if (!tt->buckets || !tt->lbuckets || !tt->ports)
        return PN_ENOMEM;
    return 0;
}

void pn_tcp_fini(struct pn_stack *s)
{
    /* Connections without a handle (orphans in FIN-WAIT/TIME-WAIT, embryonic children)
     * are still in the hash; free them. Handles were closed by pn_stack_free. */
    struct pn_tcp_table *tt = &s->tcp;
    for (uint32_t i = 0; tt->buckets && i < tt->nbuckets; i++) {
        while (tt->buckets[i]) {
            struct pn_tcb *t = tt->buckets[i];
            t->flags |= TF_ORPHAN;
            pn_tcp_close_tcb(s, t, 0);
        }
    }
    free(tt->buckets);
    free(tt->lbuckets);
    free(tt->ports);
    free(tt->xports);
    memset(tt, 0, sizeof(*tt));
}

uint32_t pn_stack_tcp_unfinished(const struct pn_stack *s)
{
    /* Every connection past LISTEN is in the 4-tuple hash until pn_tcp_close_tcb. */
    const struct pn_tcp_table *tt = &s->tcp;
    uint32_t n = 0;
    for (uint32_t i = 0; tt->buckets && i < tt->nbuckets; i++)
        for (const struct pn_tcb *t = tt->buckets[i]; t; t = t->hnext)
            if (t->state != PN_TCP_FIN_WAIT_2 && t->state != PN_TCP_TIME_WAIT &&
                t->state != PN_TCP_CLOSED && t->state != PN_TCP_LISTEN)
                n++;
    return n;
}

static void grow(struct pn_stack *s)
{
    struct pn_tcp_table *tt = &s->tcp;
    uint32_t n = tt->nbuckets * 2;
    struct pn_tcb **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return; /* keep the longer chains: still correct */
    for (uint32_t i = 0; i < tt->nbuckets; i++) {
        struct pn_tcb *t = tt->buckets[i];
        while (t) {
            struct pn_tcb *next = t->hnext;
            t->hnext = nb[t->hash & (n - 1)];
            nb[t->hash & (n - 1)] = t;
            t = next;
        }
    }
    free(tt->buckets);
    tt->buckets = nb;
    tt->nbuckets = n;
}

struct pn_tcb *pn_tcp_lookup(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                             uint16_t rport)
{
    /* Bulk flows send runs of segments for one connection: try the last hit first and
     * skip the keyed hash. */
    struct pn_tcb *c = s->tcp.last;
    if (c && c->sk.local.port == lport && c->sk.remote.port == rport &&
        c->sk.remote.addr == raddr && c->sk.local.addr == laddr)
        return c;
    uint32_t h = tuple_hash(s, laddr, lport, raddr, rport);
    for (struct pn_tcb *t = s->tcp.buckets[h & (s->tcp.nbuckets - 1)]; t; t = t->hnext)
        if (t->hash == h && t->sk.local.port == lport && t->sk.remote.port == rport &&
            t->sk.remote.addr == raddr && t->sk.local.addr == laddr) {
            s->tcp.last = t;
            return t;
        }
    return NULL;
}

void pn_tcp_hash_insert(struct pn_stack *s, struct pn_tcb *t)
{
    struct pn_tcp_table *tt = &s->tcp;
    if (tt->count >= tt->nbuckets * 2)
        grow(s);
    t->hash = tuple_hash(s, t->sk.local.addr, t->sk.local.port, t->sk.remote.addr,
                         t->sk.remote.port);
    struct pn_tcb **b = &tt->buckets[t->hash & (tt->nbuckets - 1)];
    t->hnext = *b;
    *b = t;
    tt->count++;
}

void pn_tcp_hash_remove(struct pn_stack *s, struct pn_tcb *t)
{
    struct pn_tcp_table *tt = &s->tcp;
    if (tt->last == t)
        tt->last = NULL;
    for (struct pn_tcb **pp = &tt->buckets[t->hash & (tt->nbuckets - 1)]; *pp;
         pp = &(*pp)->hnext) {
        if (*pp == t) {
            *pp = t->hnext;
            t->hnext = NULL;
            tt->count--;
            return;
        }
    }
}

static struct pn_tcb **lbucket(struct pn_stack *s, uint16_t port)
{
    return &s->tcp.lbuckets[(port * 2654435761u) >> 16 & (s->tcp.nlbuckets - 1)];
}

struct pn_tcb *pn_tcp_lookup_listener(struct pn_stack *s, uint32_t laddr, uint16_t lport)
{
    for (struct pn_tcb *t = *lbucket(s, lport); t; t = t->hnext)
        if (t->sk.local.port == lport && (t->sk.local.addr == 0 || t->sk.local.addr == laddr))
            return t;
    return NULL;
}

void pn_tcp_listen_insert(struct pn_stack *s, struct pn_tcb *t)
{
    struct pn_tcb **b = lbucket(s, t->sk.local.port);
    t->hnext = *b;
    *b = t;
}

void pn_tcp_listen_remove(struct pn_stack *s, struct pn_tcb *t)
{
    for (struct pn_tcb **pp = lbucket(s, t->sk.local.port); *pp; pp = &(*pp)->hnext) {
        if (*pp == t) {
            *pp = t->hnext;
            t->hnext = NULL;
            return;
        }
    }
}

/* Bound ports: a multimap chained through sk.port_next. */
static struct pn_socket **pbucket(struct pn_stack *s, uint16_t port)
{
    return (struct pn_socket **)&s->tcp.ports[(port * 2654435761u) >> 16 &
                                              (s->tcp.ports_nbuckets - 1)];
}

bool pn_tcp_port_in_use(struct pn_stack *s, uint16_t port)
{
    for (struct pn_socket *sk = *pbucket(s, port); sk; sk = sk->port_next)
        if (sk->local.port == port)
            return true;
    return false;
}

/* Taken for good: bound explicitly by the application (or listening). A port that only
 * carries connections that picked it as their ephemeral port can serve more of them, to
 * other destinations (RFC 6056 §2.1: only the 4-tuple must be unique). */
static bool port_reserved(struct pn_stack *s, uint16_t port)
{
    /* A count per port, not a walk of the port's chain: with a million connections a
     * popular ephemeral port carries dozens of sockets. */
    return s->tcp.xports && s->tcp.xports[port];
}

static void grow_ports(struct pn_stack *s)
{
    struct pn_tcp_table *tt = &s->tcp;
    uint32_t n = tt->ports_nbuckets * 4;
    struct pn_tcb **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (uint32_t i = 0; i < tt->ports_nbuckets; i++) {
        struct pn_socket *sk = (struct pn_socket *)tt->ports[i];
        while (sk) {
            struct pn_socket *next = sk->port_next;
            struct pn_socket **b =
                (struct pn_socket **)&nb[(sk->local.port * 2654435761u) >> 16 & (n - 1)];
            sk->port_next = *b;
            if (*b)
                (*b)->port_pprev = &sk->port_next;
            *b = sk;
            sk->port_pprev = b;
            sk = next;
        }
    }
    free(tt->ports);
    tt->ports = nb;
    tt->ports_nbuckets = n;
}

void pn_tcp_port_insert(struct pn_stack *s, struct pn_tcb *t)
{
    if (s->tcp.ports_count >= 2 * s->tcp.ports_nbuckets && s->tcp.ports_nbuckets < 65536)
        grow_ports(s);
    struct pn_socket **b = pbucket(s, t->sk.local.port);
    t->sk.port_next = *b;
    if (*b)
        (*b)->port_pprev = &t->sk.port_next;
    *b = &t->sk;
    t->sk.port_pprev = b;
    t->sk.bound = true;
    s->tcp.ports_count++;
    if (t->flags & TF_BOUND_EXPLICIT) {
        if (!s->tcp.xports)
            s->tcp.xports = calloc(65536, sizeof(*s->tcp.xports));
        if (s->tcp.xports)
            s->tcp.xports[t->sk.local.port]++;
    }
}

void pn_tcp_port_remove(struct pn_stack *s, struct pn_tcb *t)
{
    if (!t->sk.bound)
        return;
    if (t->sk.port_pprev) {
        *t->sk.port_pprev = t->sk.port_next;
        if (t->sk.port_next)
            t->sk.port_next->port_pprev = t->sk.port_pprev;
        t->sk.port_next = NULL;
        t->sk.port_pprev = NULL;
        s->tcp.ports_count--;
    }
    if ((t->flags & TF_BOUND_EXPLICIT) && s->tcp.xports && s->tcp.xports[t->sk.local.port])
        s->tcp.xports[t->sk.local.port]--;
    t->sk.bound = false;
}

uint16_t pn_tcp_ephemeral_port(struct pn_stack *s, uint32_t laddr, uint32_t raddr,
                               uint16_t rport)
{
    /* RFC 6056 §3.3.3: offset = F(local IP, remote IP, remote port, secret); a per-stack
     * counter walks from there, so consecutive connections to one peer use different
     * ports while the sequence stays unpredictable to others. */
    uint32_t k[3] = {laddr, raddr, rport};
    uint32_t offset = (uint32_t)pn_siphash(s->cfg.secret, k, sizeof(k));
    uint32_t n = EPHEMERAL_HI - EPHEMERAL_LO + 1;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t port = (uint16_t)(EPHEMERAL_LO + (offset + s->tcp_next_ephemeral + i) % n);
        /* For a connection (rport != 0) the port may be shared with other connections to
         * other peers; for an explicit bind to port 0 it must be entirely free. */
        bool taken = rport ? port_reserved(s, port) || pn_tcp_lookup_listener(s, laddr, port)
                           : pn_tcp_port_in_use(s, port);
        if (!taken && !pn_tcp_lookup(s, laddr, port, raddr, rport)) {
            s->tcp_next_ephemeral += i + 1;
            return port;
        }
    }
    return 0;
}

uint32_t pn_tcp_isn(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                    uint16_t rport)
{
    /* RFC 6528 §3: ISN = M + F(...), M a 4-microsecond timer, F a keyed hash (SipHash). */
    uint32_t k[3] = {laddr, raddr, (uint32_t)lport << 16 | rport};
    uint32_t f = (uint32_t)pn_siphash(s->cfg.secret, k, sizeof(k)) ^ 0x9e3779b9u;
    uint32_t m = (uint32_t)(s->now / 4000);
    return m + f;
}

uint32_t pn_tcp_ts_offset(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                          uint16_t rport)
{
    /* RFC 7323 §5.4 wants a random offset per connection so the clock leaks nothing; RFC
     * 6191 needs TSvals that keep increasing across incarnations of one 4-tuple. A keyed
     * hash of the 4-tuple (like the ISN's F, RFC 6528) gives both; a fresh random number
     * per connection made the TIME-WAIT reopen test a coin toss. */
    uint32_t k[4] = {laddr, raddr, (uint32_t)lport << 16 | rport, 0x7473u};
    return (uint32_t)(pn_siphash(s->cfg.secret, k, sizeof(k)) >> 32);
}

struct pn_tcb *pn_tcb_new(struct pn_stack *s)
{
    struct pn_tcb *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->state = PN_TCP_CLOSED;
    t->cc = pn_cc_default();
    t->sndbuf_limit = s->cfg.tcp_sndbuf;
    t->rcvbuf_limit = s->cfg.tcp_rcvbuf;
    t->rto_us = s->cfg.tcp_rto_initial_ms * 1000u;
    t->keep_idle_s = 7200; /* RFC 1122 §4.2.3.6: no less than two hours by default */
    t->keep_intvl_s = 75;
    t->keep_cnt = 9;
    t->linger_s = -1;
    pn_pbuf_queue_init(&t->rq);
    pn_pbuf_queue_init(&t->ooo);
    pn_tcp_timers_init(t);
    return t;
}

void pn_tcp_set_state(struct pn_tcb *t, enum pn_tcp_state st)
{
    t->state = st;
}

/* Removes a not-yet-accepted child from its listener's accept queue. */
static void unqueue_child(struct pn_tcb *t)
{
    struct pn_tcb *l = t->parent;
    if (!l)
        return;
    for (struct pn_tcb **pp = &l->aq_head; *pp; pp = &(*pp)->aq_next) {
        if (*pp == t) {
            *pp = t->aq_next;
            if (l->aq_tail == t) {
                l->aq_tail = NULL;
                for (struct pn_tcb *x = l->aq_head; x; x = x->aq_next)
                    l->aq_tail = x;
            }
            /* Embryonic children sit on the same list but count in syn_len (child_add),
             * not aq_len: a reset or timed-out SYN-RECEIVED child must not underflow it. */
            if (t->state == PN_TCP_SYN_RECEIVED) {
                if (l->syn_len)
                    l->syn_len--;
            } else {
                l->aq_len--;
            }
            t->aq_next = NULL;
            t->parent = NULL;
            return;
        }
    }
    if (t->state == PN_TCP_SYN_RECEIVED && l->syn_len)
        l->syn_len--;
    t->parent = NULL;
}

void pn_tcp_close_tcb(struct pn_stack *s, struct pn_tcb *t, int err)
{
    enum pn_tcp_state old = t->state;
    pn_tcp_timers_cancel(s, t);
    if (t->tw_counted) {
        s->tcp.timewait--;
        t->tw_counted = false;
    }
    pn_sack_clear(&t->sb);
    if (old != PN_TCP_CLOSED && old != PN_TCP_LISTEN && t->hash_linked)
        pn_tcp_hash_remove(s, t);
    t->hash_linked = false;
    if (old == PN_TCP_LISTEN)
        pn_tcp_listen_remove(s, t);
    if (t->parent)
        unqueue_child(t);
    pn_tcp_port_remove(s, t);
    t->state = PN_TCP_CLOSED;
    pn_tcp_sq_purge(t);
    pn_pbuf_queue_purge(&t->ooo);
    if (t->flags & TF_ORPHAN) {
        pn_pbuf_queue_purge(&t->rq);
        free(t);
        return;
    }
    if (err)
        pn_socket_set_error(&t->sk, err);
    pn_tcp_update_events(t);
}

bool pn_tcp_challenge_allowed(struct pn_stack *s)
{
    struct pn_tcp_table *tt = &s->tcp;
    uint64_t cap = (uint64_t)s->cfg.tcp_challenge_ack_per_sec * 1000;
    uint64_t dt_ms = (s->now - tt->chack_last) / 1000000ull;
    if (dt_ms) {
        tt->chack_tokens += dt_ms * s->cfg.tcp_challenge_ack_per_sec;
        if (tt->chack_tokens > cap)
            tt->chack_tokens = cap;
        /* RFC 5961 §7: a rate whatever the arrival pattern: keep the sub-millisecond
         * remainder, or frequent triggers would lose up to half of the refill. */
        tt->chack_last += dt_ms * 1000000ull;
    }
    if (tt->chack_tokens < 1000) {
        s->stats.tcp_challenge_ack_limited++;
        return false;
    }
    tt->chack_tokens -= 1000;
    s->stats.tcp_challenge_ack++;
    return true;
}
