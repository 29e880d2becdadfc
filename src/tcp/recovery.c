/* tcp/recovery.c — loss recovery after duplicate ACKs: with SACK, the conservative
 * RFC 6675 algorithm (IsLost/SetPipe/NextSeg over the scoreboard) paced by Proportional
 * Rate Reduction (RFC 6937, PRR-SSRB); without SACK, NewReno (RFC 6582). Limited transmit
 * (RFC 3042) for the first two duplicate ACKs.
 * Call chain: tcp/input.c process_ack -> pn_tcp_recovery_* -> pn_tcp_send_segment /
 * pn_tcp_output. */
#include "core/stack.h"
#include "core/util.h"
#include "tcp/tcp.h"

/* Retransmits [seq, seq+len) from the send buffer (with the FIN if it ends there). */
uint32_t pn_tcp_send_range(struct pn_stack *s, struct pn_tcb *t, uint32_t seq, uint32_t len)
{
    uint32_t off = seq - t->snd_una;
    if (off > t->sq.bytes)
        return 0;
    if (len > t->sq.bytes - off)
        len = t->sq.bytes - off;
    uint8_t flags = PN_TCP_ACK;
    if (len && off + len == t->sq.bytes)
        flags |= PN_TCP_PSH; /* as the original carried it: the end of what was written */
    bool fin = (t->flags & TF_FIN_SENT) && seq + len == t->fin_seq;
    if (fin)
        flags |= PN_TCP_FIN;
    if (len == 0 && !fin)
        return 0;
    t->flags &= ~TF_RTT_TIMING; /* Karn */
    s->stats.tcp_retransmits++;
    t->total_retrans++;
    if (seq == t->snd_una) {
        t->rxt_una_mark = t->snd_max; /* see lost_retransmission() */
        t->rxt_una_valid = true;
    }
    pn_tcp_send_segment(s, t, seq, flags, off, len);
    return len + (fin ? 1u : 0u);
}

/* RFC 6675 repairs a lost retransmission only by timeout. Without reordering, SACKs for
 * data first sent after SND.UNA was retransmitted, while SND.UNA itself is still missing,
 * show that retransmission was lost too (the same inference Linux made before RACK):
 * resend it now instead of waiting a whole RTO. */
static void lost_retransmission(struct pn_stack *s, struct pn_tcb *t)
{
    if (!t->rxt_una_valid || !t->sb.n || !seq_gt(t->sb.high_sacked, t->rxt_una_mark))
        return;
    s->stats.tcp_lost_retransmits++;
    uint32_t len = PN_MIN((uint32_t)t->mss, t->sq.bytes);
    if (t->sb.n && seq_lt(t->sb.r[0].left, t->snd_una + len))
        len = t->sb.r[0].left - t->snd_una; /* up to the first SACKed range */
    t->prr_out += pn_tcp_send_range(s, t, t->snd_una, len);
    if (seq_lt(t->high_rxt, t->snd_una + len))
        t->high_rxt = t->snd_una + len;
    pn_tcp_rexmt_arm(s, t);
}

/* RFC 6675 §4 NextSeg rule (3), for when no segment is provably lost and there is no new
 * data: an unSACKed segment above HighRxt and below the highest SACKed byte. */
static void next_seg_rule_3(struct pn_stack *s, struct pn_tcb *t, uint32_t budget)
{
    uint32_t cur = seq_gt(t->high_rxt, t->snd_una) ? t->high_rxt : t->snd_una;
    for (unsigned i = 0; i < t->sb.n; i++) {
        if (seq_le(t->sb.r[i].right, cur))
            continue;
        if (seq_le(t->sb.r[i].left, cur)) {
            cur = t->sb.r[i].right;
            continue;
        }
        /* rule (3): [cur, left) is unSACKed and below SACKed data */
        uint32_t len = PN_MIN(PN_MIN(t->sb.r[i].left - cur, (uint32_t)t->mss), budget);
        uint32_t sent = pn_tcp_send_range(s, t, cur, len);
        t->high_rxt = cur + len;
        t->prr_out += sent;
        return;
    }
    /* Rule (4), the "rescue" retransmission of the highest unSACKed segment, is left out:
     * in tests it fired while the tail was merely still in flight, resending it for
     * nothing; a lost tail is left to the tail loss probe and the RTO. */
}

/* RFC 6937 §3 and RFC 6675 §5 (C)/(D): decide how much may be sent for this ACK and send
 * lost segments first, then new data. `delivered` is DeliveredData of this ACK. */
static void sack_send(struct pn_stack *s, struct pn_tcb *t, uint32_t delivered)
{
    uint32_t pipe = pn_sack_pipe(&t->sb, t->snd_una, t->snd_max, t->high_rxt, t->mss);
    int64_t sndcnt;
    if (pipe > t->ssthresh) {
        /* Proportional: sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out */
        uint64_t fs = t->recover_fs ? t->recover_fs : 1;
        sndcnt = (int64_t)(((uint64_t)t->prr_delivered * t->ssthresh + fs - 1) / fs) -
                 (int64_t)t->prr_out;
    } else {
        /* Slow-start reduction bound (PRR-SSRB): limit = MAX(prr_delivered - prr_out,
         * DeliveredData) + MSS; sndcnt = MIN(ssthresh - pipe, limit). */
        int64_t lim = (int64_t)t->prr_delivered - (int64_t)t->prr_out;
        if (lim < (int64_t)delivered)
            lim = delivered;
        lim += t->mss;
        sndcnt = (int64_t)t->ssthresh - (int64_t)pipe;
        if (sndcnt > lim)
            sndcnt = lim;
    }
    if (sndcnt < 0)
        sndcnt = 0;
    uint32_t seq, len;
    while (sndcnt > 0 && pn_sack_next_lost(&t->sb, t->snd_una, t->high_rxt, t->mss, &seq, &len)) {
        uint32_t sent = pn_tcp_send_range(s, t, seq, len);
        if (!sent)
            break;
        t->high_rxt = seq + len;
        t->prr_out += sent;
        sndcnt -= sent;
        pipe += sent;
    }
    /* NextSeg rule (2): new data, through the normal output path with the window set so
     * that exactly sndcnt more bytes may go. */
    t->cwnd = pipe + (uint32_t)(sndcnt > 0 ? sndcnt : 0);
    uint32_t before = t->snd_max;
    pn_tcp_output(s, t);
    t->prr_out += t->snd_max - before;
    if (seq_gt(t->snd_max, before))
        t->cwnd = PN_MAX(t->cwnd, pipe + (t->snd_max - before));
    else if (sndcnt > 0)
        next_seg_rule_3(s, t, (uint32_t)sndcnt);
    if (t->cwnd < t->mss)
        t->cwnd = t->mss;
}

void pn_tcp_undo_prepare(struct pn_stack *s, struct pn_tcb *t, bool rto)
{
    /* Eifel needs timestamps: the echo tells which transmission the ACK is for. */
    t->undo_armed = t->ts_ok;
    t->undo_after_rto = rto;
    t->undo_cwnd = t->cwnd;
    t->undo_ssthresh = t->ssthresh;
    t->undo_seq = t->snd_una;
    t->undo_tsval = pn_tcp_ts_now(s, t);
}

void pn_tcp_undo_check(struct pn_stack *s, struct pn_tcb *t, const struct pn_tcp_repr *r)
{
    if (!t->undo_armed || !seq_gt(t->snd_una, t->undo_seq))
        return;
    /* Only the first ACK covering the retransmitted segment decides (RFC 3522 §3.2). */
    t->undo_armed = false;
    if (!r->has_ts || r->ts_ecr == 0 || !seq_lt(r->ts_ecr, t->undo_tsval))
        return; /* it echoes the retransmission (or nothing): the loss was real */
    /* The ACK echoes a TSval older than our first retransmission: the original arrived,
     * the retransmission was spurious. RFC 4015 §3: restore the congestion state... */
    s->stats.tcp_spurious_undo++;
    if (t->cwnd < t->undo_cwnd)
        t->cwnd = t->undo_cwnd;
    if (t->ssthresh < t->undo_ssthresh)
        t->ssthresh = t->undo_ssthresh;
    t->flags &= ~TF_IN_RECOVERY;
    t->dupacks = 0;
    if (t->undo_after_rto) {
        /* ... and after a spurious timeout resume with new data instead of resending what
         * the receiver already holds (go-back-N would repeat the whole window). */
        if (seq_lt(t->snd_nxt, t->snd_max))
            t->snd_nxt = t->snd_max;
        t->backoff = 0;
    }
}

void pn_tcp_recovery_enter(struct pn_stack *s, struct pn_tcb *t, uint32_t delivered)
{
    pn_tcp_undo_prepare(s, t, false);
    t->cc->on_congestion(t, PN_CC_EV_FAST_RETRANSMIT, s->now);
    t->recover = t->snd_max;
    t->flags |= TF_IN_RECOVERY;
    s->stats.tcp_fast_retransmit++;
    if (!t->sack_ok) {
        /* RFC 6582 §3.2 step 2 / RFC 5681 §3.2: retransmit, inflate by the three dupacks. */
        t->cwnd = t->ssthresh + 3u * t->mss;
        pn_tcp_retransmit_first(s, t);
        return;
    }
    /* RFC 6937 §3: initialise PRR, crediting the ACK that starts recovery with what it
     * delivered; RFC 6675 §5 (C): retransmit the first lost segment (up to the first
     * SACKed range). */
    t->prr_delivered = delivered;
    t->prr_out = 0;
    t->recover_fs = t->snd_max - t->snd_una;
    t->high_rxt = t->snd_una;
    uint32_t len = PN_MIN((uint32_t)t->mss, t->sq.bytes);
    if (t->sb.n && seq_lt(t->sb.r[0].left, t->snd_una + len))
        len = t->sb.r[0].left - t->snd_una;
    uint32_t sent = pn_tcp_send_range(s, t, t->snd_una, len);
    t->high_rxt = t->snd_una + len;
    t->prr_out += sent;
    pn_tcp_rexmt_arm(s, t);
    sack_send(s, t, delivered);
}

void pn_tcp_recovery_ack(struct pn_stack *s, struct pn_tcb *t, uint32_t acked,
                         uint32_t newly_sacked)
{
    if (seq_ge(t->snd_una, t->recover)) {
        /* RFC 6675 §5 (A) / RFC 6582 step 3: recovery ends with the RecoveryPoint ACKed.
         * RFC 6937 §3.1: cwnd = ssthresh; NewReno: min(ssthresh, FlightSize + SMSS). */
        if (t->sack_ok)
            t->cwnd = t->ssthresh;
        else
            t->cwnd = PN_MIN(t->ssthresh, pn_cc_flight(t) + t->mss);
        t->flags &= ~TF_IN_RECOVERY;
        t->dupacks = 0;
        if (t->cc->on_recovery_end)
            t->cc->on_recovery_end(t, s->now);
        return;
    }
    if (t->sack_ok) {
        if (seq_lt(t->high_rxt, t->snd_una))
            t->high_rxt = t->snd_una;
        if (acked)
            t->rxt_una_valid = false; /* a new SND.UNA: not retransmitted yet */
        lost_retransmission(s, t);
        t->prr_delivered += acked + newly_sacked;
        sack_send(s, t, acked + newly_sacked);
        return;
    }
    if (acked) {
        /* RFC 6582 §3.2 step 4: partial ACK: retransmit the next hole, deflate by the
         * amount acked, add back one SMSS if at least one was acked. */
        pn_tcp_retransmit_first(s, t);
        t->cwnd = t->cwnd > acked ? t->cwnd - acked : t->mss;
        if (acked >= t->mss)
            t->cwnd += t->mss;
    } else {
        t->cwnd += t->mss; /* RFC 5681 §3.2 step 4: inflate on each further dupack */
    }
}

void pn_tcp_limited_transmit(struct pn_stack *s, struct pn_tcb *t)
{
    /* RFC 3042 §2: on the first two duplicate ACKs send one new segment each, if the
     * receive window allows and FlightSize stays within cwnd + 2*SMSS. */
    uint32_t saved = t->cwnd;
    uint32_t allow = pn_cc_flight(t) + t->mss;
    if (allow <= saved + 2u * t->mss && allow > saved)
        t->cwnd = allow;
    pn_tcp_output(s, t);
    t->cwnd = saved;
}

uint32_t pn_tcp_pipe(const struct pn_tcb *t)
{
    if ((t->flags & TF_IN_RECOVERY) && t->sack_ok)
        return pn_sack_pipe(&t->sb, t->snd_una, t->snd_max, t->high_rxt, t->mss);
    return t->snd_nxt - t->snd_una;
}
