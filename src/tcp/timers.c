/* tcp/timers.c — TCP's timers on the stack's timer wheel: retransmission (RFC 6298, with
 * exponential backoff and Karn's rule) doubling as the persist timer (RFC 9293 §3.8.6.1,
 * RFC 1122 §4.2.2.17), delayed ACK (RFC 9293 §3.8.6.3), keepalive (RFC 1122 §4.2.3.6),
 * user timeout (RFC 9293 §3.8.3), TIME-WAIT (2*MSL) and the orphaned FIN-WAIT-2 limit.
 * Call chain: pn_timers_run -> *_fire -> pn_tcp_output / pn_tcp_close_tcb. */
#include "core/stack.h"
#include "core/util.h"
#include "tcp/tcp.h"

#define FINWAIT2_TIMEOUT PN_SEC(60)

static void rexmt_fire(struct pn_timer *tm, void *ctx, uint64_t now);
static void delack_fire(struct pn_timer *tm, void *ctx, uint64_t now);
static void keep_fire(struct pn_timer *tm, void *ctx, uint64_t now);

void pn_tcp_timers_init(struct pn_tcb *t)
{
    pn_timer_init(&t->rexmt_timer, rexmt_fire);
    pn_timer_init(&t->delack_timer, delack_fire);
    pn_timer_init(&t->keep_timer, keep_fire);
}

void pn_tcp_timers_cancel(struct pn_stack *s, struct pn_tcb *t)
{
    pn_timer_cancel(&s->timers, &t->rexmt_timer);
    pn_timer_cancel(&s->timers, &t->delack_timer);
    pn_timer_cancel(&s->timers, &t->keep_timer);
    t->persist = false;
}

static uint64_t backed_off_rto(const struct pn_stack *s, const struct pn_tcb *t)
{
    uint64_t rto = (uint64_t)t->rto_us * 1000u;
    uint64_t max = PN_MS(s->cfg.tcp_rto_max_ms);
    for (unsigned i = 0; i < t->backoff && rto < max; i++)
        rto *= 2; /* RFC 6298 (5.5) */
    return rto < max ? rto : max;
}

void pn_tcp_rexmt_arm(struct pn_stack *s, struct pn_tcb *t)
{
    t->persist = false;
    t->tlp_armed = false;
    uint64_t when = s->now + backed_off_rto(s, t);
    /* RFC 9293 §3.10.8 / RFC 5482 §2: the connection is aborted when the user timeout
     * expires, not at the first RTO after it (as Linux does since 4.19). */
    if (t->user_timeout_ms && t->rexmt_since) {
        uint64_t ut = t->rexmt_since + PN_MS(t->user_timeout_ms);
        if (ut < when)
            when = ut > s->now ? ut : s->now;
    }
    pn_timer_arm(&s->timers, &t->rexmt_timer, when);
}

void pn_tcp_rexmt_stop(struct pn_stack *s, struct pn_tcb *t)
{
    pn_timer_cancel(&s->timers, &t->rexmt_timer);
    t->persist = false;
    t->tlp_armed = false;
}

#define TLP_WCDELACK_US 200000u /* RFC 8985 §7.2 WCDelAckT: worst-case delayed ACK */

void pn_tcp_rexmt_or_probe_arm(struct pn_stack *s, struct pn_tcb *t)
{
    /* RFC 8985 §7.2: schedule a probe timeout when the connection has SACK and an RTT,
     * is not recovering, has no probe outstanding and no timeout backoff. */
    bool ok = t->sack_ok && t->srtt_us && !(t->flags & TF_IN_RECOVERY) && !t->tlp_out &&
              t->backoff == 0 &&
              (t->state == PN_TCP_ESTABLISHED || t->state == PN_TCP_CLOSE_WAIT);
    if (!ok) {
        pn_tcp_rexmt_arm(s, t);
        return;
    }
    uint64_t pto = 2ull * t->srtt_us;
    if (t->snd_max - t->snd_una <= t->mss)
        pto += TLP_WCDELACK_US; /* one segment: its ACK may be delayed */
    uint64_t rto = backed_off_rto(s, t) / 1000u;
    if (pto >= rto) {
        pn_tcp_rexmt_arm(s, t);
        return;
    }
    t->persist = false;
    t->tlp_armed = true;
    pn_timer_arm(&s->timers, &t->rexmt_timer, s->now + pto * 1000u);
}

void pn_tcp_tlp_ack(struct pn_stack *s, struct pn_tcb *t, uint32_t ack)
{
    if (!t->tlp_out || seq_lt(ack, t->tlp_high_seq))
        return;
    t->tlp_out = false;
    /* RFC 8985 §7.4: a retransmitted probe that is acknowledged without a D-SACK repaired
     * a real loss: respond to the congestion as fast recovery would have. */
    if (t->tlp_retrans && t->dsacks_seen == t->tlp_dsacks) {
        s->stats.tcp_tlp_recoveries++;
        t->cc->on_congestion(t, PN_CC_EV_FAST_RETRANSMIT, s->now);
        t->cwnd = t->ssthresh;
    }
}

/* RFC 8985 §7.3: the probe: new data if the windows allow, else the last segment again. */
static void send_probe(struct pn_stack *s, struct pn_tcb *t)
{
    s->stats.tcp_tlp_probes++;
    t->tlp_dsacks = t->dsacks_seen;
    uint32_t before = t->snd_max;
    uint32_t unsent = t->sq.bytes > t->snd_nxt - t->snd_una ? t->sq.bytes - (t->snd_nxt - t->snd_una) : 0;
    if (unsent && t->snd_wnd > t->snd_nxt - t->snd_una) {
        uint32_t saved = t->cwnd;
        t->cwnd = (t->snd_nxt - t->snd_una) + t->mss; /* exactly one more segment */
        pn_tcp_output(s, t);
        t->cwnd = saved;
    }
    t->tlp_retrans = t->snd_max == before;
    if (t->tlp_retrans) {
        uint32_t data_end = t->snd_una + t->sq.bytes; /* the FIN, if any, follows */
        uint32_t len = PN_MIN((uint32_t)t->mss, t->sq.bytes);
        if (len || (t->flags & TF_FIN_SENT))
            pn_tcp_send_range(s, t, data_end - len, len);
    }
    t->tlp_out = true;
    t->tlp_high_seq = t->snd_max;
}

void pn_tcp_persist_arm(struct pn_stack *s, struct pn_tcb *t)
{
    if (!t->persist)
        t->persist_since = s->now; /* a new stall behind the peer's window */
    t->persist = true;
    uint64_t when = s->now + backed_off_rto(s, t);
    /* RFC 5482 §2 / RFC 9293 §3.8.3: the user timeout also bounds how long data waits
     * behind a closed window, answered probes or not (as Linux since 5.11). */
    if (t->user_timeout_ms) {
        uint64_t ut = t->persist_since + PN_MS(t->user_timeout_ms);
        if (ut < when)
            when = ut > s->now ? ut : s->now;
    }
    pn_timer_arm(&s->timers, &t->rexmt_timer, when);
}

void pn_tcp_delack_arm(struct pn_stack *s, struct pn_tcb *t)
{
    if (t->flags & TF_DELACK)
        return;
    t->flags |= TF_DELACK;
    pn_timer_arm(&s->timers, &t->delack_timer, s->now + PN_MS(s->cfg.tcp_delack_ms));
}

void pn_tcp_keepalive_reset(struct pn_stack *s, struct pn_tcb *t)
{
    t->keep_probes = 0;
    t->last_rx = s->now;
    if (t->flags & TF_KEEPALIVE)
        pn_timer_arm(&s->timers, &t->keep_timer, s->now + PN_SEC(t->keep_idle_s));
    else
        pn_timer_cancel(&s->timers, &t->keep_timer);
}

void pn_tcp_timewait_arm(struct pn_stack *s, struct pn_tcb *t)
{
    /* RFC 9293 §3.6: wait 2*MSL so old duplicates die and our last ACK can be repeated. */
    pn_tcp_rexmt_stop(s, t);
    pn_timer_cancel(&s->timers, &t->delack_timer);
    t->flags &= ~TF_DELACK;
    uint64_t wait = 2 * PN_MS(s->cfg.tcp_msl_ms);
    if (!t->tw_counted) {
        if (s->tcp.timewait >= s->cfg.tcp_max_timewait) {
            /* Memory bound: a busy server would otherwise hold 2 MSL worth of closed
             * connections. Leave TIME-WAIT at the next poll (via the timer, so no caller
             * is left holding a freed TCB). */
            s->stats.tcp_timewait_overflow++;
            wait = 0;
        } else {
            s->tcp.timewait++;
            t->tw_counted = true;
        }
    }
    pn_timer_arm(&s->timers, &t->keep_timer, s->now + wait);
}

void pn_tcp_finwait2_arm(struct pn_stack *s, struct pn_tcb *t)
{
    pn_timer_arm(&s->timers, &t->keep_timer, s->now + FINWAIT2_TIMEOUT);
}

void pn_tcp_rtt_sample(struct pn_tcb *t, uint32_t r, const struct pn_stack *s)
{
    if (r == 0)
        r = 1;
    if (t->srtt_us == 0) {
        t->srtt_us = r; /* (2.2) first measurement */
        t->rttvar_us = r / 2;
    } else {
        /* (2.3) beta = 1/4, alpha = 1/8 */
        uint32_t diff = t->srtt_us > r ? t->srtt_us - r : r - t->srtt_us;
        t->rttvar_us = (3u * t->rttvar_us + diff) / 4u;
        t->srtt_us = (7u * t->srtt_us + r) / 8u;
    }
    /* RTO = SRTT + max(G, K*RTTVAR), G = the 1 ms timer granularity, then (2.4)/(2.5). */
    uint64_t rto = (uint64_t)t->srtt_us + PN_MAX(1000u, 4u * t->rttvar_us);
    uint64_t lo = (uint64_t)s->cfg.tcp_rto_min_ms * 1000u, hi = (uint64_t)s->cfg.tcp_rto_max_ms * 1000u;
    t->rto_us = (uint32_t)(rto < lo ? lo : rto > hi ? hi : rto);
    if (t->cc->on_rtt_sample)
        t->cc->on_rtt_sample(t, r, s->now); /* e.g. HyStart++ (RFC 9406) */
}

static bool user_timed_out(const struct pn_stack *s, const struct pn_tcb *t)
{
    return t->user_timeout_ms && t->rexmt_since &&
           s->now - t->rexmt_since >= PN_MS(t->user_timeout_ms);
}

static void give_up(struct pn_stack *s, struct pn_tcb *t)
{
    s->stats.tcp_timeouts++;
    int err = t->soft_error ? t->soft_error : PN_ETIMEDOUT;
    pn_tcp_close_tcb(s, t, err);
}

static void rexmt_fire(struct pn_timer *tm, void *ctx, uint64_t now)
{
    struct pn_stack *s = ctx;
    struct pn_tcb *t = pn_container_of(tm, struct pn_tcb, rexmt_timer);
    if (t->persist) {
        /* Zero-window probe: a segment just below SND.UNA elicits an ACK carrying the
         * current window. Probing never gives up on its own (RFC 1122 §4.2.2.17), only by
         * the user timeout. */
        if (user_timed_out(s, t) ||
            (t->user_timeout_ms && s->now - t->persist_since >= PN_MS(t->user_timeout_ms))) {
            give_up(s, t);
            return;
        }
        s->stats.tcp_persist_probes++;
        pn_tcp_send_segment(s, t, t->snd_una - 1, PN_TCP_ACK, 0, 0);
        if (t->backoff < 16)
            t->backoff++;
        pn_tcp_persist_arm(s, t);
        pn_stack_flush(s);
        return;
    }
    if (t->tlp_armed) {
        t->tlp_armed = false;
        send_probe(s, t);
        pn_tcp_rexmt_arm(s, t); /* the RTO covers the probe too */
        pn_stack_flush(s);
        return;
    }
    s->stats.tcp_rto++;
    bool syn = t->state == PN_TCP_SYN_SENT || t->state == PN_TCP_SYN_RECEIVED;
    uint32_t limit = syn ? s->cfg.tcp_syn_retries : s->cfg.tcp_retries;
    if (t->backoff >= limit || user_timed_out(s, t)) {
        give_up(s, t);
        return;
    }
    if (!syn) {
        /* RFC 5681 §3.1 eqn. 4: ssthresh only on the first timeout of an episode. */
        if (t->backoff == 0) {
            pn_tcp_undo_prepare(s, t, true);
            t->cc->on_congestion(t, PN_CC_EV_RTO, now);
        }
        t->cwnd = t->mss;
        t->flags &= ~TF_IN_RECOVERY;
        t->dupacks = 0;
        t->recover = t->snd_max; /* RFC 6582 §4 */
        /* RFC 2018 §8 / RFC 6675 §5.1: after a timeout the receiver may have reneged, so
         * SACK information is discarded and everything from SND.UNA is resent. */
        pn_sack_clear(&t->sb);
        t->high_rxt = t->snd_una;
    }
    t->backoff++;
    t->flags &= ~TF_RTT_TIMING; /* Karn */
    t->ts_at_rto = pn_tcp_ts_now(s, t);
    t->ts_rto_valid = true;
    /* RFC 6298 (5.4)-(5.6): back off, then retransmit from the oldest unacknowledged byte
     * (go-back-N: later segments follow as the window allows). */
    t->snd_nxt = syn ? t->iss : t->snd_una;
    pn_tcp_rexmt_arm(s, t);
    pn_tcp_output(s, t);
    pn_stack_flush(s);
}

static void delack_fire(struct pn_timer *tm, void *ctx, uint64_t now)
{
    struct pn_stack *s = ctx;
    struct pn_tcb *t = pn_container_of(tm, struct pn_tcb, delack_timer);
    if (!(t->flags & TF_DELACK))
        return;
    t->flags |= TF_ACK_NOW;
    pn_tcp_output(s, t);
    pn_stack_flush(s);
}

static void keep_fire(struct pn_timer *tm, void *ctx, uint64_t now)
{
    struct pn_stack *s = ctx;
    struct pn_tcb *t = pn_container_of(tm, struct pn_tcb, keep_timer);
    switch (t->state) {
    case PN_TCP_TIME_WAIT:
        t->flags |= TF_ORPHAN * !!(t->flags & TF_APP_CLOSED);
        pn_tcp_close_tcb(s, t, 0);
        return;
    case PN_TCP_FIN_WAIT_2:
        if (t->flags & TF_ORPHAN) {
            pn_tcp_close_tcb(s, t, 0);
            return;
        }
        break;
    case PN_TCP_ESTABLISHED:
    case PN_TCP_CLOSE_WAIT:
        break;
    default:
        return;
    }
    if (!(t->flags & TF_KEEPALIVE))
        return;
    uint64_t idle = now - t->last_rx;
    if (idle < PN_SEC(t->keep_idle_s)) {
        pn_timer_arm(&s->timers, &t->keep_timer, t->last_rx + PN_SEC(t->keep_idle_s));
        return;
    }
    if (t->keep_probes >= t->keep_cnt) {
        give_up(s, t);
        return;
    }
    /* RFC 1122 §4.2.3.6: a probe with SEG.SEQ = SND.NXT-1 and no data. */
    t->keep_probes++;
    s->stats.tcp_keepalive_probes++;
    pn_tcp_send_segment(s, t, t->snd_una - 1, PN_TCP_ACK, 0, 0);
    pn_timer_arm(&s->timers, &t->keep_timer, now + PN_SEC(t->keep_intvl_s));
    pn_stack_flush(s);
}
