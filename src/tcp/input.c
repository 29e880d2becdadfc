/* tcp/input.c — TCP segment arrival: parse, demultiplex, and the RFC 9293 §3.10.7 "SEGMENT
 * ARRIVES" procedure as one explicit sequence of checks per state, with RFC 5961 (blind
 * RST/SYN/data attacks), RFC 7323 (PAWS, RTT from timestamps), RFC 6298 (RTT) and
 * RFC 5681/6582 (duplicate ACKs, NewReno fast recovery) folded in where the RFC places them.
 * Call chain: pn_ipv4_input -> pn_tcp_input -> {closed,listen,syn_sent,synchronized}_input
 * -> pn_tcp_output. */
#include <stdlib.h>
#include <string.h>
#include "core/stack.h"
#include "core/util.h"
#include "tcp/tcp.h"

/* One arriving segment, parsed once. */
struct seg {
    struct pn_tcp_repr r;
    uint32_t laddr, raddr;
    uint32_t len;      /* SEG.LEN: payload + SYN + FIN */
    uint32_t wnd;      /* window field, scaled later per connection */
    bool freed;        /* process_ack closed (and possibly freed) the TCB: LAST-ACK done */
};

/* RFC 9293 §3.10.7.1: a segment for a connection that does not exist. */
static void reply_reset(struct pn_stack *s, const struct seg *g)
{
    if (g->r.flags & PN_TCP_RST)
        return; /* never answer a RST */
    if (g->r.flags & PN_TCP_ACK)
        pn_tcp_send_reset(s, g->laddr, g->r.dst_port, g->raddr, g->r.src_port, g->r.ack, 0,
                          false);
    else
        pn_tcp_send_reset(s, g->laddr, g->r.dst_port, g->raddr, g->r.src_port, 0,
                          g->r.seq + g->len, true);
}

/* RFC 5961 §3.2/§4/§5: an ACK that tells a (possibly blind) sender our real state. */
static void challenge_ack(struct pn_stack *s, struct pn_tcb *t)
{
    if (pn_tcp_challenge_allowed(s))
        pn_tcp_send_ack(s, t);
}

/* Option negotiation from a SYN (RFC 9293 §3.7.1, RFC 7323 §2.2/§3.2, RFC 2018 §2). */
static void take_syn_options(struct pn_stack *s, struct pn_tcb *t, const struct pn_tcp_repr *r)
{
    t->peer_mss = r->has_mss && r->mss ? r->mss : PN_TCP_DEFAULT_MSS;
    t->ws_ok = r->has_wscale;
    t->snd_wscale = r->has_wscale ? (uint8_t)PN_MIN(r->wscale, PN_TCP_MAX_WSCALE) : 0;
    if (!t->ws_ok)
        t->rcv_wscale = 0;
    t->ts_ok = r->has_ts;
    if (t->ts_ok) {
        t->ts_recent = r->ts_val;
        t->ts_recent_time = s->now;
    }
    t->sack_ok = r->sack_permitted;
}

/* The effective send MSS (RFC 9293 §3.7.1 and RFC 6691): the peer's MSS, bounded by our
 * MTU, less the option bytes every data segment carries. */
void pn_tcp_set_mss(struct pn_stack *s, struct pn_tcb *t)
{
    uint32_t mss = PN_MIN((uint32_t)t->peer_mss, s->iface.mtu - 40u);
    if (t->user_mss && t->user_mss < mss)
        mss = t->user_mss;
    if (t->ts_ok)
        mss -= 12; /* NOP NOP TS: RFC 7323 §3.2 */
    if (mss < 64)
        mss = 64;
    t->mss = (uint16_t)mss;
}

/* Becomes ESTABLISHED: window, congestion state, readiness. */
static void established(struct pn_stack *s, struct pn_tcb *t, const struct seg *g)
{
    pn_tcp_set_state(t, PN_TCP_ESTABLISHED);
    /* RFC 7323 §2.2: the window of a SYN (SYN,ACK in SYN-SENT) is never scaled. */
    t->snd_wnd = (g->r.flags & PN_TCP_SYN) ? g->wnd : g->wnd << t->snd_wscale;
    t->max_snd_wnd = PN_MAX(t->max_snd_wnd, t->snd_wnd);
    t->snd_wl1 = g->r.seq;
    t->snd_wl2 = g->r.ack;
    pn_tcp_set_mss(s, t);
    t->cc->init(t);
    t->cwnd = pn_cc_initial_window(t->mss, s->cfg.tcp_initial_window);
    t->backoff = 0;
    t->recover = t->iss; /* RFC 6582 §3.2 step 1: "recover" starts at the ISS */
    t->quickacks = s->cfg.tcp_quickack_segs;
    t->high_rxt = t->snd_una;
    pn_tcp_keepalive_reset(s, t);
}

/* ---- the receive queue ---- */

static void rq_append(struct pn_tcb *t, struct pn_pbuf *p)
{
    struct pn_pbuf *tail = t->rq.tail;
    t->bytes_received += p->len;
    /* Coalesce small segments into the tail buffer so a stream of tiny segments cannot pin
     * a whole buffer per byte of window. */
    if (tail && !pn_pbuf_shared(tail) && p->len <= pn_pbuf_tailroom(tail) && p->len < 512) {
        memcpy(pn_pbuf_put(tail, p->len), p->data, p->len);
        t->rq.bytes += p->len;
        pn_pbuf_free(p);
        return;
    }
    /* A small segment whose bytes are shared (the loop link hands over a clone of the
     * sender's send queue) cannot take the next ones: keep a copy of it that can. */
    if (p->len < 512 && pn_pbuf_shared(p)) {
        struct pn_pbuf *c = pn_stack_alloc(t->sk.stack, p->len);
        if (c) {
            memcpy(c->data, p->data, p->len);
            pn_pbuf_free(p);
            p = c;
        }
    }
    pn_pbuf_queue_push(&t->rq, p);
}

/* Inserts an out-of-order segment (p->user = its sequence number), trimming overlaps with
 * its neighbours. Returns false if it was dropped. */
static bool ooo_insert(struct pn_stack *s, struct pn_tcb *t, struct pn_pbuf *p)
{
    uint32_t seq = p->user, end = seq + p->len;
    struct pn_pbuf *prev = NULL, *cur = t->ooo.head;
    while (cur && seq_le(cur->user, seq)) {
        prev = cur;
        cur = cur->next;
    }
    if (prev) {
        uint32_t pend = prev->user + prev->len;
        if (seq_ge(pend, end)) { /* entirely duplicate */
            pn_pbuf_free(p);
            return true;
        }
        if (seq_gt(pend, seq)) {
            pn_pbuf_pull(p, pend - seq);
            seq = pend;
            p->user = seq;
        }
    }
    /* Later segments the new one covers entirely are replaced; a partial overlap trims us. */
    while (cur && seq_ge(end, cur->user + cur->len)) {
        struct pn_pbuf *n = cur->next;
        t->ooo.count--;
        t->ooo.bytes -= cur->len;
        pn_pbuf_free(cur);
        cur = n;
    }
    if (cur && seq_gt(end, cur->user))
        pn_pbuf_trim(p, cur->user - seq);
    if (prev)
        prev->next = cur;
    else
        t->ooo.head = cur;
    if (!cur) {
        /* recompute the tail lazily: it is prev now (or p after linking) */
    }
    if (t->ooo.count >= PN_TCP_OOO_MAX_SEGS) {
        /* Relink what we detached and give up on this one. */
        s->stats.tcp_rx_ooo_dropped++;
        pn_pbuf_free(p);
        t->ooo.tail = NULL;
        for (struct pn_pbuf *x = t->ooo.head; x; x = x->next)
            t->ooo.tail = x;
        return false;
    }
    p->next = cur;
    if (prev)
        prev->next = p;
    else
        t->ooo.head = p;
    if (!cur)
        t->ooo.tail = p;
    t->ooo.count++;
    t->ooo.bytes += p->len;
    s->stats.tcp_rx_ooo++;
    return true;
}

/* Moves segments that became in-order from the out-of-order queue. */
static void ooo_drain(struct pn_tcb *t)
{
    struct pn_pbuf *p;
    while ((p = t->ooo.head) && seq_le(p->user, t->rcv_nxt)) {
        t->ooo.head = p->next;
        if (!t->ooo.head)
            t->ooo.tail = NULL;
        t->ooo.count--;
        t->ooo.bytes -= p->len;
        p->next = NULL;
        uint32_t end = p->user + p->len;
        if (seq_le(end, t->rcv_nxt)) {
            pn_pbuf_free(p);
            continue;
        }
        pn_pbuf_pull(p, t->rcv_nxt - p->user);
        t->rcv_nxt = end;
        rq_append(t, p);
    }
}

/* RFC 2883: remember a duplicate to report as the first SACK block of the next ACK. */
static void note_dsack(struct pn_tcb *t, uint32_t left, uint32_t right)
{
    if (!t->sack_ok || !seq_lt(left, right))
        return;
    t->dsack_left = left;
    t->dsack_right = right;
    t->dsack_pending = true;
    t->flags |= TF_ACK_NOW;
}

/* ---- states ---- */

/* A connection born on listener l (from a SYN, or from a SYN-cookie ACK): the 4-tuple of
 * the segment, and the options the application set on the listener. Not yet hashed. */
static struct pn_tcb *new_child(struct pn_stack *s, const struct pn_tcb *l, const struct seg *g)
{
    struct pn_tcb *t = pn_tcb_new(s);
    if (!t)
        return NULL;
    t->sk.stack = s;
    t->sk.type = PN_SOCK_STREAM;
    t->sk.local = (struct pn_endpoint){g->laddr, g->r.dst_port};
    t->sk.remote = (struct pn_endpoint){g->raddr, g->r.src_port};
    t->sk.connected = true;
    t->flags |= TF_PASSIVE | TF_ORPHAN |
                (l->flags & (TF_NODELAY | TF_KEEPALIVE | TF_RCVBUF_LOCK | TF_SNDBUF_LOCK));
    t->sndbuf_limit = l->sndbuf_limit;
    t->rcvbuf_limit = l->rcvbuf_limit;
    t->user_mss = l->user_mss;
    t->cc = l->cc;
    t->keep_idle_s = l->keep_idle_s;
    t->keep_intvl_s = l->keep_intvl_s;
    t->keep_cnt = l->keep_cnt;
    t->user_timeout_ms = l->user_timeout_ms;
    return t;
}

/* RFC 9293 §3.10.7.2: LISTEN. */
/* Returns a connection just rebuilt from a SYN cookie (the caller processes the rest of the
 * segment on it, e.g. data riding on the final ACK), else NULL. */
static struct pn_tcb *listen_input(struct pn_stack *s, struct pn_tcb *l, struct seg *g)
{
    const struct pn_tcp_repr *r = &g->r;
    if (r->flags & PN_TCP_RST)
        return NULL; /* "An incoming RST segment could not be valid ... should be ignored" */
    if (r->flags & PN_TCP_ACK) {
        /* Possibly the final ACK of a SYN-cookie handshake (RFC 4987 §3.6) — but only if
         * cookies went out recently: otherwise every stray ACK would be a free guess at the
         * 24-bit cookie hash for a blind attacker (Linux checks the same way). */
        bool cookies_recent = s->tcp.cookie_sent_at &&
                              s->now - s->tcp.cookie_sent_at < PN_SEC(128);
        if (s->cfg.tcp_syncookies && cookies_recent && !(r->flags & PN_TCP_SYN)) {
            uint16_t mss = pn_syncookie_check(s, g->laddr, r->dst_port, g->raddr, r->src_port,
                                              r->seq - 1, r->ack - 1);
            if (mss && l->aq_len < l->backlog) {
                struct pn_tcb *t = new_child(s, l, g);
                if (t) {
                    s->stats.tcp_syncookies_ok++;
                    t->iss = r->ack - 1;
                    t->irs = r->seq - 1;
                    t->snd_una = t->snd_nxt = t->snd_max = r->ack;
                    t->rcv_nxt = r->seq;
                    t->peer_mss = mss;
                    t->adv_mss = pn_tcp_adv_mss(s, t);
                    if (r->has_ts) {
                        int ws;
                        bool sack;
                        pn_syncookie_ts_decode(r->ts_ecr, &ws, &sack);
                        t->ts_ok = true;
                        t->ts_recent = r->ts_val;
                        t->ts_recent_time = s->now;
                        t->ts_offset = 0; /* the cookie SYN,ACK used the bare clock */
                        t->sack_ok = sack;
                        if (ws >= 0) {
                            t->ws_ok = true;
                            t->snd_wscale = (uint8_t)ws;
                            t->rcv_wscale = pn_tcp_conn_wscale(s, t);
                        }
                    }
                    /* RFC 9293 §3.10.7.4: the window our cookie SYN,ACK offered (unscaled,
                     * RFC 7323 §2.2) is open already; without it the first data segment
                     * would find a zero window and wait for a retransmission. */
                    t->rcv_adv = t->rcv_nxt + PN_MIN(pn_tcp_rcv_space(t), 65535u);
                    t->parent = l;
                    pn_tcp_hash_insert(s, t);
                    t->hash_linked = true;
                    s->stats.tcp_passive_opens++;
                    g->wnd = r->window;
                    established(s, t, g);
                    pn_tcp_accept_ready(l, t);
                    return t;
                }
            }
            if (mss) {
                /* A valid cookie but no room to accept: drop the ACK so the client
                 * retransmits it later, rather than reset a connection it believes
                 * open (as Linux does). */
                s->stats.tcp_listen_overflow++;
                return NULL;
            }
            s->stats.tcp_syncookies_failed++;
        }
        reply_reset(s, g); /* RFC 9293: <SEQ=SEG.ACK><CTL=RST> */
        return NULL;
    }
    if (!(r->flags & PN_TCP_SYN))
        return NULL; /* "Any other control or text-bearing segment ... drop it" */
    if (l->aq_len >= l->backlog) {
        /* Accept queue full: drop the SYN so the peer retries later (as Linux does). */
        s->stats.tcp_listen_overflow++;
        return NULL;
    }
    uint32_t syn_max = PN_MIN(s->cfg.tcp_max_syn_backlog, PN_MAX(l->backlog, 8u));
    if (l->syn_len >= syn_max) {
        if (!s->cfg.tcp_syncookies) {
            s->stats.tcp_listen_overflow++;
            return NULL;
        }
        /* RFC 4987 §3.6: answer statelessly; the state comes back encoded in the ACK. */
        struct pn_tcb tmp;
        memset(&tmp, 0, sizeof(tmp));
        tmp.sk.local = (struct pn_endpoint){g->laddr, r->dst_port};
        tmp.sk.remote = (struct pn_endpoint){g->raddr, r->src_port};
        tmp.sk.stack = s;
        tmp.state = PN_TCP_SYN_RECEIVED;
        tmp.rcvbuf_limit = l->rcvbuf_limit;
        take_syn_options(s, &tmp, r);
        if (!tmp.ts_ok) {
            /* Without timestamps the cookie cannot carry window scale or SACK-permitted:
             * do not offer them (RFC 7323 §2.2: scaling needs both sides; Linux does the
             * same). */
            tmp.ws_ok = false;
            tmp.snd_wscale = 0;
            tmp.sack_ok = false;
        }
        uint16_t mss = tmp.peer_mss;
        tmp.iss = pn_syncookie_make(s, g->laddr, r->dst_port, g->raddr, r->src_port, r->seq,
                                    &mss);
        tmp.peer_mss = mss;
        tmp.irs = r->seq;
        tmp.rcv_nxt = r->seq + 1;
        tmp.adv_mss = (uint16_t)(s->iface.mtu - 40);
        /* The shift the SYN,ACK announces must be the one the rebuilt connection uses
         * (RFC 7323 §2.3): computed the same way, from the same buffer and lock flag. */
        tmp.flags |= l->flags & (TF_RCVBUF_LOCK | TF_SNDBUF_LOCK);
        tmp.rcv_wscale = tmp.ws_ok ? pn_tcp_conn_wscale(s, &tmp) : 0;
        if (tmp.ts_ok)
            tmp.flags |= TF_SYNCOOKIE_TS;
        tmp.rcv_adv = tmp.rcv_nxt;
        pn_tcp_send_segment(s, &tmp, tmp.iss, PN_TCP_SYN | PN_TCP_ACK, 0, 0);
        s->stats.tcp_syncookies_sent++;
        s->tcp.cookie_sent_at = s->now ? s->now : 1;
        return NULL;
    }
    struct pn_tcb *t = new_child(s, l, g);
    if (!t)
        return NULL;
    t->rcv_wscale = pn_tcp_conn_wscale(s, t);
    take_syn_options(s, t, r);
    t->irs = r->seq;
    t->rcv_nxt = r->seq + 1;
    t->rcv_adv = t->rcv_nxt;
    t->iss = pn_tcp_isn(s, g->laddr, r->dst_port, g->raddr, r->src_port);
    t->snd_una = t->snd_nxt = t->snd_max = t->iss;
    t->snd_wnd = r->window; /* never scaled in a SYN (RFC 7323 §2.2) */
    t->adv_mss = pn_tcp_adv_mss(s, t);
    t->ts_offset = pn_tcp_ts_offset(s, g->laddr, r->dst_port, g->raddr, r->src_port);
    pn_tcp_set_state(t, PN_TCP_SYN_RECEIVED);
    pn_tcp_hash_insert(s, t);
    t->hash_linked = true;
    pn_tcp_child_add(l, t);
    s->stats.tcp_passive_opens++;
    /* Data carried on the SYN is not queued; the peer will retransmit it. */
    pn_tcp_output(s, t);
    return NULL;
}

/* RFC 9293 §3.10.7.3: SYN-SENT. */
static void syn_sent_input(struct pn_stack *s, struct pn_tcb *t, struct seg *g)
{
    const struct pn_tcp_repr *r = &g->r;
    bool ack = r->flags & PN_TCP_ACK;
    /* first: the ACK must acknowledge our SYN */
    if (ack && (seq_le(r->ack, t->iss) || seq_gt(r->ack, t->snd_max))) {
        if (!(r->flags & PN_TCP_RST))
            pn_tcp_send_reset(s, g->laddr, r->dst_port, g->raddr, r->src_port, r->ack, 0,
                              false);
        return;
    }
    /* second: RST, acceptable only with an acceptable ACK (RFC 5961 §3.2 leaves SYN-SENT
     * to the RFC 793 rule) */
    if (r->flags & PN_TCP_RST) {
        if (ack) {
            s->stats.tcp_rx_rst++;
            pn_tcp_close_tcb(s, t, PN_ECONNREFUSED);
        }
        return;
    }
    /* fourth: SYN */
    if (!(r->flags & PN_TCP_SYN))
        return;
    take_syn_options(s, t, r);
    t->irs = r->seq;
    t->rcv_nxt = r->seq + 1;
    t->rcv_adv = t->rcv_nxt;
    if (ack) {
        t->snd_una = r->ack;
        if (seq_gt(t->snd_nxt, t->snd_max))
            t->snd_max = t->snd_nxt;
    }
    if (seq_gt(t->snd_una, t->iss)) {
        /* Our SYN is acknowledged: ESTABLISHED. RTT of the handshake seeds RFC 6298. */
        if (t->backoff == 0 && (t->flags & TF_RTT_TIMING))
            pn_tcp_rtt_sample(t, (uint32_t)((s->now - t->rtt_start) / 1000), s);
        t->flags &= ~TF_RTT_TIMING;
        pn_tcp_rexmt_stop(s, t);
        established(s, t, g);
        t->flags |= TF_ACK_NOW;
        pn_tcp_output(s, t);
        pn_tcp_update_events(t);
        return;
    }
    /* Simultaneous open (RFC 9293 §3.5, figure 8): SYN-RECEIVED, send SYN,ACK. */
    pn_tcp_set_state(t, PN_TCP_SYN_RECEIVED);
    t->snd_wnd = r->window;
    t->snd_nxt = t->iss; /* resend our SYN, now with the ACK */
    pn_tcp_output(s, t);
}

/* Sequence acceptability, RFC 9293 §3.10.7.4 "first". */
static bool acceptable(const struct pn_tcb *t, uint32_t seq, uint32_t len)
{
    uint32_t wnd = t->rcv_adv - t->rcv_nxt;
    if (len == 0) {
        if (wnd == 0)
            return seq == t->rcv_nxt;
        return seq_le(t->rcv_nxt, seq) && seq_lt(seq, t->rcv_nxt + wnd);
    }
    if (wnd == 0)
        return false;
    uint32_t last = seq + len - 1;
    return (seq_le(t->rcv_nxt, seq) && seq_lt(seq, t->rcv_nxt + wnd)) ||
           (seq_le(t->rcv_nxt, last) && seq_lt(last, t->rcv_nxt + wnd));
}

/* Takes the SACK blocks of an ACK into the scoreboard; returns the bytes newly SACKed. */
static uint32_t sack_update(struct pn_stack *s, struct pn_tcb *t, const struct pn_tcp_repr *r)
{
    if (!t->sack_ok || r->sack_count == 0)
        return 0;
    bool dsack;
    uint32_t n = pn_sack_update(&t->sb, r, t->snd_una, t->snd_max, &dsack);
    if (dsack)
        t->dsacks_seen++;
    return n;
}

/* The ACK field of a segment in a synchronized state (RFC 9293 §3.10.7.4 "fifth").
 * Returns false if the segment must be dropped. */
static bool process_ack(struct pn_stack *s, struct pn_tcb *t, struct seg *g)
{
    const struct pn_tcp_repr *r = &g->r;
    uint32_t ack = r->ack;
    /* RFC 5961 §5.2: acceptable only within [SND.UNA - MAX.SND.WND, SND.NXT]. */
    if (seq_gt(ack, t->snd_max)) {
        s->stats.tcp_rx_ack_invalid++;
        t->flags |= TF_ACK_NOW; /* "send an ACK, drop the segment, and return" */
        return false;
    }
    if (seq_lt(ack, t->snd_una - t->max_snd_wnd)) {
        s->stats.tcp_rx_ack_invalid++;
        challenge_ack(s, t);
        return false;
    }
    uint32_t wnd = g->wnd << t->snd_wscale;
    if (seq_gt(ack, t->snd_una)) {
        uint32_t acked = ack - t->snd_una;
        /* Our FIN occupies one sequence number after the data. */
        uint32_t data_acked = acked;
        bool fin_acked = false;
        if ((t->flags & TF_FIN_SENT) && seq_gt(ack, t->fin_seq)) {
            fin_acked = true;
            data_acked--;
        }
        if (data_acked > t->sq.bytes)
            data_acked = t->sq.bytes;
        /* RTT: RFC 7323 §4.1 from the echoed timestamp, else the timed segment (Karn). */
        if (t->ts_ok && r->has_ts && r->ts_ecr) {
            /* Karn's rule for timestamps: an echo of a TSval sent before the last timeout
             * measures the outage, not the path (the receiver may still hold an old
             * TS.Recent); such samples would pin the RTO at its maximum. */
            uint32_t ms = pn_tcp_ts_now(s, t) - r->ts_ecr;
            if (ms < 600000u && !(t->ts_rto_valid && seq_lt(r->ts_ecr, t->ts_at_rto)))
                pn_tcp_rtt_sample(t, ms * 1000u + 500u, s);
        } else if ((t->flags & TF_RTT_TIMING) && seq_gt(ack, t->rtt_seq)) {
            pn_tcp_rtt_sample(t, (uint32_t)((s->now - t->rtt_start) / 1000), s);
            t->flags &= ~TF_RTT_TIMING;
        }
        pn_tcp_sq_drop(t, data_acked); /* drained: idle connections keep no send memory */
        t->snd_una = ack;
        if (seq_lt(t->snd_nxt, t->snd_una))
            t->snd_nxt = t->snd_una;
        t->bytes_acked += data_acked;
        t->backoff = 0;
        t->rexmt_since = t->snd_una == t->snd_max ? 0 : s->now;
        if (t->sack_ok)
            pn_sack_advance(&t->sb, t->snd_una);
        pn_tcp_undo_check(s, t, r);
        uint32_t newly = sack_update(s, t, r);
        if (t->flags & TF_IN_RECOVERY) {
            pn_tcp_recovery_ack(s, t, acked, newly);
        } else {
            t->dupacks = 0;
            t->cc->on_ack(t, acked, s->now);
            pn_tcp_autotune_send(s, t);
            /* RFC 6675 §5 (C): SACK may prove the new SND.UNA lost at once. */
            if (t->sack_ok && newly && t->snd_una != t->snd_max &&
                pn_sack_is_lost(&t->sb, t->snd_una, t->mss) && seq_ge(t->snd_una, t->recover))
                pn_tcp_recovery_enter(s, t, acked + newly);
        }
        pn_tcp_tlp_ack(s, t, ack);
        if (t->snd_una == t->snd_max)
            pn_tcp_rexmt_stop(s, t);
        else
            pn_tcp_rexmt_or_probe_arm(s, t); /* RFC 6298 (5.3), RFC 8985 §7.2 */
        if (fin_acked) {
            switch (t->state) {
            case PN_TCP_FIN_WAIT_1:
                pn_tcp_set_state(t, PN_TCP_FIN_WAIT_2);
                if (t->flags & TF_ORPHAN)
                    pn_tcp_finwait2_arm(s, t);
                break;
            case PN_TCP_CLOSING:
                pn_tcp_set_state(t, PN_TCP_TIME_WAIT);
                pn_tcp_timewait_arm(s, t);
                break;
            case PN_TCP_LAST_ACK:
                g->freed = true; /* an orphan is freed here: the caller must not touch t */
                pn_tcp_close_tcb(s, t, 0);
                return false;
            default:
                break;
            }
        }
    } else if (ack == t->snd_una && t->snd_una != t->snd_max && r->payload_len == 0 &&
               !(r->flags & (PN_TCP_SYN | PN_TCP_FIN)) && wnd == t->snd_wnd) {
        /* RFC 5681 §2: a duplicate ACK (RFC 6675 §2: with SACK, one that reports new
         * SACKed data). */
        uint32_t newly = sack_update(s, t, r);
        if (!t->sack_ok || newly)
            t->dupacks++;
        if (t->flags & TF_IN_RECOVERY) {
            pn_tcp_recovery_ack(s, t, 0, newly);
        } else if (seq_ge(t->snd_una, t->recover) &&
                   (t->dupacks >= PN_SACK_DUPTHRESH ||
                    (t->sack_ok && pn_sack_is_lost(&t->sb, t->snd_una, t->mss)))) {
            /* RFC 6582 §3.2 step 2 (not a leftover of an earlier episode: SND.UNA is past
             * the last RecoveryPoint) and RFC 6675 §5 (C). */
            pn_tcp_recovery_enter(s, t, newly);
        } else if (t->dupacks <= 2) {
            pn_tcp_limited_transmit(s, t);
        }
    } else if (t->sack_ok && r->sack_count) {
        sack_update(s, t, r); /* e.g. a window update carrying SACK blocks */
    }
    /* Window update, RFC 9293 §3.10.7.4: only from a newer segment (SND.WL1/WL2). */
    if (seq_lt(t->snd_wl1, r->seq) || (t->snd_wl1 == r->seq && seq_le(t->snd_wl2, ack))) {
        bool opened = t->snd_wnd == 0 && wnd > 0;
        t->snd_wnd = wnd;
        t->snd_wl1 = r->seq;
        t->snd_wl2 = ack;
        if (wnd > t->max_snd_wnd)
            t->max_snd_wnd = wnd;
        if (opened && t->persist) {
            pn_tcp_rexmt_stop(s, t);
            t->backoff = 0;
        }
    }
    return true;
}

/* The FIN, RFC 9293 §3.10.7.4 "eighth" (called when it is in order). */
static void process_fin(struct pn_stack *s, struct pn_tcb *t)
{
    t->rcv_nxt++;
    t->flags |= TF_FIN_RCVD | TF_ACK_NOW;
    t->ooo_fin = false;
    switch (t->state) {
    case PN_TCP_SYN_RECEIVED:
    case PN_TCP_ESTABLISHED:
        pn_tcp_set_state(t, PN_TCP_CLOSE_WAIT);
        break;
    case PN_TCP_FIN_WAIT_1:
        /* Our FIN not yet acknowledged (else we would be in FIN-WAIT-2): simultaneous close. */
        pn_tcp_set_state(t, PN_TCP_CLOSING);
        break;
    case PN_TCP_FIN_WAIT_2:
        pn_tcp_set_state(t, PN_TCP_TIME_WAIT);
        pn_tcp_timewait_arm(s, t);
        break;
    default:
        break;
    }
}

/* RFC 9293 §3.10.7.4: every state from SYN-RECEIVED on. */
static void synchronized_input(struct pn_stack *s, struct pn_tcb *t, struct seg *g,
                               struct pn_pbuf *pkt)
{
    struct pn_tcp_repr *r = &g->r;
    uint8_t fl = r->flags;

    /* RFC 7323 §5.3 R1: PAWS. */
    if (t->ts_ok && r->has_ts && !(fl & PN_TCP_RST) && seq_lt(r->ts_val, t->ts_recent)) {
        if (s->now - t->ts_recent_time > PN_SEC(24ull * 24 * 3600)) {
            t->ts_recent = r->ts_val; /* R1: older than 24 days: the clock wrapped */
        } else {
            s->stats.tcp_rx_paws_rejected++;
            t->flags |= TF_ACK_NOW;
            goto drop;
        }
    }
    /* In SYN-RECEIVED, a retransmitted SYN means our SYN,ACK was lost: send it again. */
    if (t->state == PN_TCP_SYN_RECEIVED && (fl & PN_TCP_SYN) && !(fl & PN_TCP_ACK) &&
        r->seq == t->irs) {
        t->snd_nxt = t->iss;
        pn_tcp_output(s, t);
        goto drop;
    }
    /* RFC 9293 §3.5 figure 8 (simultaneous open), line 6: in SYN-RECEIVED the peer's
     * SYN,ACK repeats its SYN (SEQ = IRS) and acknowledges ours. Its SYN was processed
     * already, so drop the SYN bit and take the rest, ACK and any data, which completes
     * the handshake; otherwise "first" finds SEQ < RCV.NXT and drops it, and neither end
     * (both now SYN-RECEIVED) ever sends the bare ACK that would complete it. */
    if (t->state == PN_TCP_SYN_RECEIVED && (fl & PN_TCP_SYN) && (fl & PN_TCP_ACK) &&
        r->seq == t->irs && seq_lt(t->snd_una, r->ack) && seq_le(r->ack, t->snd_max)) {
        r->seq++;
        r->flags &= (uint8_t)~PN_TCP_SYN;
        fl = r->flags;
        g->len--;
    }
    /* first: sequence number */
    if (!acceptable(t, r->seq, g->len)) {
        s->stats.tcp_rx_out_of_window++;
        if (r->payload_len && seq_le(r->seq + (uint32_t)r->payload_len, t->rcv_nxt))
            note_dsack(t, r->seq, r->seq + (uint32_t)r->payload_len); /* RFC 2883 §4.1 */
        if (!(fl & PN_TCP_RST))
            t->flags |= TF_ACK_NOW;
        /* RFC 9293 §3.10.7.4 "eighth", TIME-WAIT: a retransmission of the remote FIN ends
         * at RCV.NXT, so it fails this test; still "acknowledge it, and restart the 2 MSL
         * timeout". */
        if (t->state == PN_TCP_TIME_WAIT && (fl & PN_TCP_FIN) && !(fl & PN_TCP_RST) &&
            r->seq + g->len == t->rcv_nxt)
            pn_tcp_timewait_arm(s, t);
        goto drop;
    }
    /* second: RST (RFC 5961 §3.2: exact match resets, in-window gets a challenge ACK) */
    if (fl & PN_TCP_RST) {
        if (r->seq != t->rcv_nxt) {
            challenge_ack(s, t);
            goto drop;
        }
        s->stats.tcp_rx_rst++;
        switch (t->state) {
        case PN_TCP_SYN_RECEIVED:
            /* passive: back to LISTEN (the child disappears); active: refused */
            pn_tcp_close_tcb(s, t, (t->flags & TF_PASSIVE) ? 0 : PN_ECONNREFUSED);
            break;
        case PN_TCP_ESTABLISHED:
        case PN_TCP_FIN_WAIT_1:
        case PN_TCP_FIN_WAIT_2:
        case PN_TCP_CLOSE_WAIT:
            s->stats.tcp_conn_reset++;
            pn_tcp_close_tcb(s, t, PN_ECONNRESET);
            break;
        default: /* CLOSING, LAST-ACK, TIME-WAIT */
            pn_tcp_close_tcb(s, t, 0);
            break;
        }
        pn_pbuf_free(pkt);
        return;
    }
    /* fourth: SYN in a synchronized state (RFC 5961 §4.2: challenge ACK) */
    if (fl & PN_TCP_SYN) {
        challenge_ack(s, t);
        goto drop;
    }
    /* fifth: ACK */
    if (!(fl & PN_TCP_ACK)) {
        s->stats.tcp_rx_bad_flags++;
        goto drop;
    }
    if (t->state == PN_TCP_SYN_RECEIVED) {
        if (!(seq_lt(t->snd_una, r->ack) && seq_le(r->ack, t->snd_max))) {
            pn_tcp_send_reset(s, g->laddr, r->dst_port, g->raddr, r->src_port, r->ack, 0,
                              false);
            goto drop;
        }
        pn_tcp_rexmt_stop(s, t);
        if (t->backoff == 0 && !(t->ts_ok && r->has_ts))
            pn_tcp_rtt_sample(t, (uint32_t)((s->now - t->rtt_start) / 1000), s);
        t->snd_una = r->ack;
        established(s, t, g);
        if (t->parent)
            pn_tcp_accept_ready(t->parent, t);
        else
            pn_tcp_update_events(t); /* simultaneous open completes connect() */
    }
    /* RFC 7323 §4.3: TS.Recent from a segment that covers the left window edge — but not
     * from one whose ACK acknowledges unsent data: RFC 5961 §5.2 discards it, and a forged
     * segment must not poison TS.Recent and lock the real peer out through PAWS. */
    if (t->ts_ok && r->has_ts && seq_le(r->seq, t->last_ack_sent) &&
        seq_ge(r->ts_val, t->ts_recent) && !seq_gt(r->ack, t->snd_max)) {
        t->ts_recent = r->ts_val;
        t->ts_recent_time = s->now;
    }
    if (!process_ack(s, t, g)) {
        if (g->freed) { /* LAST-ACK completed (t may be freed): drop the segment only */
            pn_pbuf_free(pkt);
            return;
        }
        goto drop;
    }
    if (t->state == PN_TCP_TIME_WAIT && (fl & PN_TCP_FIN)) {
        /* A retransmitted FIN: acknowledge it and restart the 2 MSL wait. */
        t->flags |= TF_ACK_NOW;
        pn_tcp_timewait_arm(s, t);
        goto drop;
    }

    /* seventh: the segment text (urgent data, sixth, is delivered inline: no OOB). */
    uint32_t seq = r->seq;
    uint32_t len = (uint32_t)r->payload_len;
    bool fin = fl & PN_TCP_FIN;
    pn_pbuf_pull(pkt, r->hdr_len);
    pn_pbuf_trim(pkt, len);
    if (len && (t->state == PN_TCP_ESTABLISHED || t->state == PN_TCP_FIN_WAIT_1 ||
                t->state == PN_TCP_FIN_WAIT_2)) {
        if ((t->flags & TF_APP_CLOSED) && seq_gt(seq + len, t->rcv_nxt)) {
            /* The application will never read this: tell the peer (RFC 9293 §3.10.4
             * allows RST for data after close; Linux does this too). */
            s->stats.tcp_rx_after_close++;
            pn_tcp_send_reset(s, g->laddr, r->dst_port, g->raddr, r->src_port, t->snd_nxt,
                              0, false);
            pn_tcp_close_tcb(s, t, PN_ECONNRESET);
            pn_pbuf_free(pkt);
            return;
        }
        /* Trim what we already have and what lies beyond the window. */
        if (seq_lt(seq, t->rcv_nxt)) {
            uint32_t d = PN_MIN(t->rcv_nxt - seq, len);
            note_dsack(t, seq, seq + d); /* RFC 2883 §4: report the duplicate part */
            pn_pbuf_pull(pkt, d);
            seq += d;
            len -= d;
        }
        uint32_t right = t->rcv_adv;
        if (seq_gt(seq + len, right)) {
            uint32_t excess = seq + len - right;
            len = excess >= len ? 0 : len - excess;
            pn_pbuf_trim(pkt, len);
            fin = false; /* the FIN lies beyond the window too */
        }
        if (len) {
            t->segs_in++;
            /* Receiver RTT for auto-tuning: the echo of our timestamp on new data. */
            if (t->ts_ok && r->has_ts && r->ts_ecr) {
                uint32_t ms = pn_tcp_ts_now(s, t) - r->ts_ecr;
                if (ms < 60000u) {
                    uint32_t us = ms * 1000u + 500u;
                    t->rcv_rtt_us = t->rcv_rtt_us ? (7u * t->rcv_rtt_us + us) / 8u : us;
                }
            }
            if (seq == t->rcv_nxt && (t->flags & TF_RD_SHUT)) {
                t->rcv_nxt += len; /* shut for reading: acknowledge and discard */
                t->flags |= TF_ACK_NOW;
            } else if (seq == t->rcv_nxt) {
                bool had_holes = t->ooo.head != NULL;
                t->rcv_nxt += len;
                rq_append(t, pkt);
                pkt = NULL;
                if (had_holes) {
                    ooo_drain(t);
                    t->flags |= TF_ACK_NOW; /* RFC 5681 §4.2: ACK at once when a gap fills */
                }
                if (t->ooo_fin && t->ooo_fin_seq == t->rcv_nxt)
                    fin = true, seq = t->rcv_nxt, len = 0;
                /* RFC 9293 §3.8.6.3 / RFC 5681 §4.2: ACK at least every second full-sized
                 * segment, otherwise within the delayed-ACK bound. */
                /* A coalesced (GRO-like) segment counts as the segments it holds. */
                t->segs_since_ack += len > t->adv_mss ? len / t->adv_mss : 1u;
                if (t->quickacks) {
                    t->quickacks--; /* connection start: ACK at once (Linux quickack) */
                    t->flags |= TF_ACK_NOW;
                }
                if (t->segs_since_ack >= 2)
                    t->flags |= TF_ACK_NOW;
                else if (!(t->flags & TF_ACK_NOW))
                    pn_tcp_delack_arm(s, t);
                pn_socket_raise(&t->sk, PN_EV_IN);
            } else {
                pkt->user = seq;
                t->sack_last = seq;
                ooo_insert(s, t, pkt);
                pkt = NULL;
                if (fin) {
                    t->ooo_fin = true;
                    t->ooo_fin_seq = seq + len;
                    fin = false;
                }
                t->flags |= TF_ACK_NOW; /* RFC 5681 §4.2: immediate duplicate ACK */
            }
        }
    }
    /* eighth: FIN, processed only when everything before it has arrived */
    if (fin && t->state != PN_TCP_CLOSE_WAIT && t->state != PN_TCP_CLOSING &&
        t->state != PN_TCP_LAST_ACK) {
        if (seq + len == t->rcv_nxt || (len == 0 && seq == t->rcv_nxt)) {
            process_fin(s, t);
            pn_socket_raise(&t->sk, PN_EV_IN | PN_EV_RDHUP);
        } else if (seq_gt(seq + len, t->rcv_nxt)) {
            t->ooo_fin = true;
            t->ooo_fin_seq = seq + len;
            t->flags |= TF_ACK_NOW;
        }
    } else if (fin) {
        t->flags |= TF_ACK_NOW; /* a duplicate FIN: re-acknowledge */
    }
drop:
    pn_pbuf_free(pkt);
    if (t->state != PN_TCP_CLOSED) {
        pn_tcp_output(s, t);
        pn_tcp_update_events(t);
    }
}

void pn_tcp_input(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_ipv4_repr *ip)
{
    struct seg g;
    s->stats.tcp_rx++;
    int err = pn_tcp_parse(pkt->data, pkt->len, ip->src, ip->dst, &g.r,
                           !(pkt->flags & PN_PBUF_F_CSUM_OK));
    if (err == PN_WIRE_BAD_CHECKSUM) {
        s->stats.tcp_rx_bad_checksum++;
        pn_pbuf_free(pkt);
        return;
    }
    /* RFC 9293 §3.9.2.1 / RFC 1122 §4.2.3.10: never to or from a broadcast address; port 0
     * is not a valid endpoint. */
    if (err < 0 || g.r.src_port == 0 || g.r.dst_port == 0 || pn_ipv4_is_broadcast(s, ip->dst) ||
        (pkt->flags & (PN_PBUF_F_BCAST | PN_PBUF_F_MCAST))) {
        s->stats.tcp_rx_malformed++;
        pn_pbuf_free(pkt);
        return;
    }
    uint8_t fl = g.r.flags;
    /* Combinations no correct stack sends: SYN+FIN, SYN+RST (used for OS fingerprinting
     * and scanning); drop them without a reply. */
    if ((fl & PN_TCP_SYN) && (fl & (PN_TCP_FIN | PN_TCP_RST))) {
        s->stats.tcp_rx_bad_flags++;
        pn_pbuf_free(pkt);
        return;
    }
    g.laddr = ip->dst;
    g.raddr = ip->src;
    g.len = (uint32_t)g.r.payload_len + !!(fl & PN_TCP_SYN) + !!(fl & PN_TCP_FIN);
    g.wnd = g.r.window;
    g.freed = false;

    struct pn_tcb *t = pn_tcp_lookup(s, g.laddr, g.r.dst_port, g.raddr, g.r.src_port);
    if (t && t->state == PN_TCP_TIME_WAIT && (fl & PN_TCP_SYN) && !(fl & PN_TCP_ACK)) {
        /* RFC 9293 §3.6.1 / RFC 6191: a new SYN may reopen a TIME-WAIT connection if it is
         * clearly newer (higher sequence number, or a newer timestamp). */
        /* RFC 6191 §2: when both incarnations use timestamps the TSval alone decides
         * (a higher ISN with an older TSval is not honoured); else the ISN rule. */
        bool newer = (t->ts_ok && g.r.has_ts) ? seq_gt(g.r.ts_val, t->ts_recent)
                                              : seq_gt(g.r.seq, t->rcv_nxt);
        struct pn_tcb *l = pn_tcp_lookup_listener(s, g.laddr, g.r.dst_port);
        if (newer && l) {
            /* Free it only if nobody holds a handle (app closed, or never accepted); an
             * open handle just sees CLOSED (as keep_fire does at the end of TIME-WAIT). */
            t->flags |= TF_ORPHAN * !!(t->flags & TF_APP_CLOSED);
            pn_tcp_close_tcb(s, t, 0);
            t = NULL;
        }
    }
    if (t) {
        t->last_rx = s->now;
        t->keep_probes = 0;
        if (t->state == PN_TCP_SYN_SENT) {
            syn_sent_input(s, t, &g);
            pn_pbuf_free(pkt);
        } else {
            synchronized_input(s, t, &g, pkt);
        }
        return;
    }
    struct pn_tcb *l = pn_tcp_lookup_listener(s, g.laddr, g.r.dst_port);
    if (l) {
        struct pn_tcb *c = listen_input(s, l, &g);
        if (c && (g.r.payload_len || (fl & PN_TCP_FIN)))
            synchronized_input(s, c, &g, pkt); /* data on the cookie's final ACK */
        else
            pn_pbuf_free(pkt);
        return;
    }
    s->stats.tcp_rx_no_socket++;
    reply_reset(s, &g);
    pn_pbuf_free(pkt);
}

void pn_tcp_icmp_error(struct pn_stack *s, const struct pn_ipv4_repr *inner, const uint8_t *l4,
                       size_t l4len, uint8_t type, uint8_t code)
{
    if (l4len < 8)
        return;
    uint16_t sport = (uint16_t)(l4[0] << 8 | l4[1]), dport = (uint16_t)(l4[2] << 8 | l4[3]);
    uint32_t seq = (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 | (uint32_t)l4[6] << 8 | l4[7];
    struct pn_tcb *t = pn_tcp_lookup(s, inner->src, sport, inner->dst, dport);
    /* RFC 5927 §4.1: the quoted sequence number must be in flight, or it is forged. */
    if (!t || seq_lt(seq, t->snd_una) || seq_gt(seq, t->snd_max))
        return;
    int err = pn_icmp_error_to_err(type, code);
    if (err == PN_EMSGSIZE)
        return; /* path MTU discovery: not yet (we never set DF on TCP segments) */
    /* RFC 1122 §4.2.3.9: soft errors while connecting abort only a connection that cannot
     * work (port/protocol unreachable); otherwise remember them for a later timeout. */
    if (t->state == PN_TCP_SYN_SENT && err == PN_ECONNREFUSED) {
        pn_tcp_close_tcb(s, t, err);
        return;
    }
    t->soft_error = err;
}
