/* tcp/output.c — what TCP sends: segment construction (options, window, checksum via the
 * wire codec), the send loop with the congestion and flow windows, Nagle (RFC 896) and
 * sender silly-window avoidance (RFC 9293 §3.8.6.2.1), receiver window management with
 * SWS avoidance (§3.8.6.2.2), pure ACKs, and resets.
 * Call chain: input/timers/socket -> pn_tcp_output -> pn_tcp_send_segment -> pn_ipv4_output. */
#include <string.h>
#include "core/stack.h"
#include "core/util.h"
#include "tcp/tcp.h"
#include "wire/checksum.h"

uint32_t pn_tcp_ts_now(const struct pn_stack *s, const struct pn_tcb *t)
{
    /* RFC 7323 §5.4: a 1 ms clock with a random per-connection offset. */
    return (uint32_t)(s->now / 1000000ull) + t->ts_offset;
}

uint8_t pn_tcp_pick_wscale(uint32_t rcvbuf)
{
    uint8_t ws = 0;
    while (ws < PN_TCP_MAX_WSCALE && (65535u << ws) < rcvbuf)
        ws++;
    return ws;
}

uint32_t pn_tcp_rcv_space(const struct pn_tcb *t)
{
    uint32_t unread = t->rq.bytes - t->rq_off;
    return unread >= t->rcvbuf_limit ? 0 : t->rcvbuf_limit - unread;
}

uint32_t pn_tcp_rcv_window(struct pn_tcb *t)
{
    uint32_t space = pn_tcp_rcv_space(t);
    uint32_t maxwin = 65535u << t->rcv_wscale;
    if (space > maxwin)
        space = maxwin;
    uint32_t cur = seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    /* RFC 9293 §3.8.6.2.2: move the right edge only when the increase is worth it:
     * at least min(half the buffer, one MSS). Never move it left (§3.8.6). */
    uint32_t thresh = PN_MIN(t->rcvbuf_limit / 2, (uint32_t)t->adv_mss);
    if (space > cur && space - cur >= thresh) {
        uint32_t unit = 1u << t->rcv_wscale;
        t->rcv_adv = t->rcv_nxt + (space & ~(unit - 1));
    } else if (seq_lt(t->rcv_adv, t->rcv_nxt)) {
        t->rcv_adv = t->rcv_nxt;
    }
    return t->rcv_adv - t->rcv_nxt;
}

/* Builds and sends one segment. The payload comes from the send ring at `off` bytes past
 * snd_una. Borrows t. */
int pn_tcp_send_segment(struct pn_stack *s, struct pn_tcb *t, uint32_t seq, uint8_t flags,
                        uint32_t off, uint32_t len)
{
    struct pn_tcp_repr r;
    memset(&r, 0, sizeof(r));
    r.src_port = t->sk.local.port;
    r.dst_port = t->sk.remote.port;
    r.seq = seq;
    r.flags = flags;
    bool syn = flags & PN_TCP_SYN;
    if (flags & PN_TCP_ACK)
        r.ack = t->rcv_nxt;
    if (syn) {
        /* RFC 9293 §3.7.1: announce our MSS; RFC 7323/2018: offer the options (on a SYN,ACK
         * only those the peer offered). */
        bool active = !(flags & PN_TCP_ACK);
        r.has_mss = true;
        r.mss = t->adv_mss;
        if (active || t->ws_ok) {
            r.has_wscale = true;
            r.wscale = t->rcv_wscale;
        }
        r.sack_permitted = active || t->sack_ok; /* RFC 2018 §2 */
        if (active || t->ts_ok) {
            r.has_ts = true;
            r.ts_val = pn_tcp_ts_now(s, t);
            if (t->flags & TF_SYNCOOKIE_TS)
                /* RFC 4987 §3.6: the cookie must remember the PEER's shift (its SYN's
                 * option); ours is recomputed from the buffer size. */
                r.ts_val = pn_syncookie_tsval(r.ts_val, t->ws_ok ? t->snd_wscale : -1,
                                              t->sack_ok);
            r.ts_ecr = active ? 0 : t->ts_recent;
        }
        /* RFC 7323 §2.2: the window in a SYN is never scaled. */
        uint32_t w = pn_tcp_rcv_window(t);
        r.window = (uint16_t)PN_MIN(w, 65535u);
    } else {
        if (t->ts_ok) {
            r.has_ts = true;
            r.ts_val = pn_tcp_ts_now(s, t);
            r.ts_ecr = t->ts_recent;
        }
        if (!(flags & PN_TCP_RST) || (flags & PN_TCP_ACK)) {
            uint32_t w = pn_tcp_rcv_window(t) >> t->rcv_wscale;
            r.window = (uint16_t)PN_MIN(w, 65535u);
        }
        /* RFC 2018 §4: every ACK while data is held out of order carries SACK blocks. */
        if (t->sack_ok && (flags & PN_TCP_ACK) && !(flags & PN_TCP_RST) &&
            (t->ooo.head || t->dsack_pending))
            r.sack_count = (uint8_t)pn_sack_rx_blocks(t, r.sack, PN_TCP_MAX_SACK);
    }
    enum pn_tcp_opt_layout layout = s->cfg.tcp_linux_options ? PN_TCP_OPTS_LINUX
                                                              : PN_TCP_OPTS_COMPACT;
    uint32_t hlen = PN_TCP_HDR_LEN + (uint32_t)pn_tcp_options_len(&r, layout);
    /* The payload: a clone of the send queue's pbuf with its stored checksum when the
     * segment is one (nothing read again), else copied and summed in one pass (sndq.c). */
    uint32_t psum = 0;
    struct pn_pbuf *p =
        len ? pn_tcp_sq_segment(s, t, off, len, hlen, &psum) : pn_stack_alloc(s, hlen);
    if (!p)
        return PN_ENOBUFS;
    s->stats.tcp_tx_bytes += len;
    pn_tcp_emit_sum(&r, layout, p->data, t->sk.local.addr, t->sk.remote.addr, len, psum);
    p->gso_size = t->gso;
    struct pn_ip_out o = {.src = t->sk.local.addr, .dst = t->sk.remote.addr,
                          .proto = PN_IP_PROTO_TCP, .ttl = t->sk.ttl, .tos = t->sk.tos};
    if (flags & PN_TCP_ACK) {
        t->flags &= ~(TF_ACK_NOW | TF_DELACK | TF_WND_UPDATE);
        t->segs_since_ack = 0;
        t->last_ack_sent = t->rcv_nxt;
        pn_timer_cancel(&s->timers, &t->delack_timer);
    }
    s->stats.tcp_tx++;
    t->segs_out++;
    if (flags & PN_TCP_RST)
        s->stats.tcp_tx_rst++;
    return pn_ipv4_output(s, p, &o);
}

void pn_tcp_send_ack(struct pn_stack *s, struct pn_tcb *t)
{
    /* A pure ACK carries SND.MAX, not SND.NXT: after a go-back-N rewind SND.NXT lies below
     * what the peer already holds, and the peer would drop the ACK as out of window
     * (RFC 9293 §3.10.7.4 "first") without ever reading its acknowledgment. */
    pn_tcp_send_segment(s, t, t->snd_max, PN_TCP_ACK, 0, 0);
}

void pn_tcp_send_reset(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                       uint16_t rport, uint32_t seq, uint32_t ack, bool with_ack)
{
    struct pn_tcp_repr r;
    memset(&r, 0, sizeof(r));
    r.src_port = lport;
    r.dst_port = rport;
    r.seq = seq;
    r.ack = with_ack ? ack : 0;
    r.flags = PN_TCP_RST | (with_ack ? PN_TCP_ACK : 0);
    struct pn_pbuf *p = pn_stack_alloc(s, PN_TCP_HDR_LEN);
    if (!p)
        return;
    pn_tcp_emit(&r, PN_TCP_OPTS_COMPACT, p->data, laddr, raddr, 0);
    struct pn_ip_out o = {.src = laddr, .dst = raddr, .proto = PN_IP_PROTO_TCP};
    s->stats.tcp_tx++;
    s->stats.tcp_tx_rst++;
    pn_ipv4_output(s, p, &o);
}

void pn_tcp_retransmit_first(struct pn_stack *s, struct pn_tcb *t)
{
    uint32_t len = PN_MIN((uint32_t)t->mss, t->sq.bytes);
    uint8_t flags = PN_TCP_ACK;
    if ((t->flags & TF_FIN_SENT) && len == t->sq.bytes && t->snd_una + len == t->fin_seq)
        flags |= PN_TCP_FIN;
    if (len == 0 && !(flags & PN_TCP_FIN))
        return;
    if (len)
        flags |= PN_TCP_PSH * (len == t->sq.bytes);
    t->flags &= ~TF_RTT_TIMING; /* Karn: never time a retransmitted segment */
    s->stats.tcp_retransmits++;
    t->total_retrans++;
    pn_tcp_send_segment(s, t, t->snd_una, flags, 0, len);
    pn_tcp_rexmt_arm(s, t);
}

/* Sends SYN or SYN,ACK if owed (snd_nxt still at the ISS). */
static void output_syn(struct pn_stack *s, struct pn_tcb *t, uint8_t flags)
{
    if (t->snd_nxt != t->iss)
        return;
    if (seq_lt(t->snd_nxt, t->snd_max)) {
        s->stats.tcp_retransmits++;
        t->total_retrans++;
        t->flags &= ~TF_RTT_TIMING;
    } else {
        t->flags |= TF_RTT_TIMING;
        t->rtt_start = s->now;
        t->rtt_seq = t->iss;
    }
    pn_tcp_send_segment(s, t, t->iss, flags, 0, 0);
    t->snd_nxt = t->iss + 1;
    if (seq_gt(t->snd_nxt, t->snd_max))
        t->snd_max = t->snd_nxt;
    if (!pn_timer_armed(&t->rexmt_timer))
        pn_tcp_rexmt_arm(s, t);
}

void pn_tcp_output(struct pn_stack *s, struct pn_tcb *t)
{
    switch (t->state) {
    case PN_TCP_CLOSED:
    case PN_TCP_LISTEN:
        return;
    case PN_TCP_SYN_SENT:
        output_syn(s, t, PN_TCP_SYN);
        return;
    case PN_TCP_SYN_RECEIVED:
        output_syn(s, t, PN_TCP_SYN | PN_TCP_ACK);
        return;
    default:
        break;
    }
    bool sent_ack = false;
    for (;;) {
        uint32_t in_flight = t->snd_nxt - t->snd_una;
        uint32_t off = in_flight;
        uint32_t avail = off < t->sq.bytes ? t->sq.bytes - off : 0;
        /* The peer's window limits sequence space; cwnd limits what is in the network,
         * which during SACK recovery is the RFC 6675 pipe, not SND.NXT - SND.UNA. */
        uint32_t pipe = pn_tcp_pipe(t);
        uint32_t by_rwnd = t->snd_wnd > in_flight ? t->snd_wnd - in_flight : 0;
        uint32_t by_cwnd = t->cwnd > pipe ? t->cwnd - pipe : 0;
        uint32_t usable = PN_MIN(by_rwnd, by_cwnd);
        /* On a link that takes large frames, build segments of many MSS at once (the
         * link or the receiver splits or coalesces them: TSO/GRO-like); else one MSS. */
        uint32_t maxseg = t->mss;
        if (s->link->caps.large_tx && t->sq.bytes - off > t->mss)
            maxseg = (uint32_t)((65535u - 20u - 60u) / t->mss) * t->mss;
        uint32_t len = PN_MIN(PN_MIN(avail, maxseg), usable);
        bool pbuf_end = false;
        if (maxseg > t->mss && len) {
            /* Large segments follow the send queue's pbufs (of maxseg bytes), so that each
             * goes out as a clone without a copy (sndq.c): a segment never crosses the end
             * of its pbuf, and one that reaches it with more data queued behind goes as it
             * is, even short of a whole MSS (it is not a silly segment: the next one is
             * ready). As Linux's TSO deferral (tcp_tso_should_defer) does, with data in
             * flight and a window of two pbufs or more, a piece of a pbuf that the window
             * cuts short waits for the ACKs under way rather than leave the rest misaligned. */
            uint32_t run = pn_tcp_sq_run(t, off);
            if (len > run)
                len = run;
            pbuf_end = len == run && off + len < t->sq.bytes;
            if (len < run && in_flight && !seq_lt(t->snd_nxt, t->snd_max) &&
                PN_MIN(t->cwnd, t->snd_wnd) >= 2 * run)
                break;
        }
        if (len > t->mss && len % t->mss && !pbuf_end)
            len -= len % t->mss; /* whole MSS multiples: the tail goes as its own segment */
        /* The FIN goes with (or after) the last byte, once. */
        bool fin = (t->flags & TF_FIN_QUEUED) && off + len == t->sq.bytes &&
                   (!(t->flags & TF_FIN_SENT) || t->snd_nxt + len == t->fin_seq);
        if (len == 0 && !fin)
            break;
        if (fin && len < avail)
            fin = false;
        if (len < t->mss && !fin && !pbuf_end) {
            /* A partial segment: Nagle (RFC 896) and sender SWS avoidance (RFC 9293
             * §3.8.6.2.1) send it only if it is all we have and nothing is in flight (or
             * NODELAY), or it is at least half the largest window the peer offered. */
            bool all = off + len == t->sq.bytes;
            bool idle = t->snd_nxt == t->snd_una;
            bool nagle_ok = all && (idle || (t->flags & TF_NODELAY)) && !(t->flags & TF_CORK);
            bool half = t->max_snd_wnd && len >= t->max_snd_wnd / 2;
            bool retrans = seq_lt(t->snd_nxt, t->snd_max);
            if (!nagle_ok && !half && !retrans)
                break;
        }
        uint8_t flags = PN_TCP_ACK;
        if (len && off + len == t->sq.bytes)
            flags |= PN_TCP_PSH;
        if (fin)
            flags |= PN_TCP_FIN;
        bool retrans = seq_lt(t->snd_nxt, t->snd_max);
        if (retrans) {
            s->stats.tcp_retransmits++;
            t->total_retrans++;
            if ((t->flags & TF_RTT_TIMING) && seq_le(t->snd_nxt, t->rtt_seq))
                t->flags &= ~TF_RTT_TIMING; /* Karn's rule */
        } else if (!t->ts_ok && !(t->flags & TF_RTT_TIMING) && len) {
            t->flags |= TF_RTT_TIMING;
            t->rtt_seq = t->snd_nxt;
            t->rtt_start = s->now;
        }
        t->gso = len > t->mss ? t->mss : 0;
        int serr = pn_tcp_send_segment(s, t, t->snd_nxt, flags, off, len);
        t->gso = 0;
        if (serr == PN_ENOBUFS)
            break;
        sent_ack = true;
        t->snd_nxt += len + (fin ? 1u : 0u);
        if (fin) {
            t->flags |= TF_FIN_SENT;
            t->fin_seq = t->snd_nxt - 1;
        }
        if (seq_gt(t->snd_nxt, t->snd_max))
            t->snd_max = t->snd_nxt;
        if (!t->rexmt_since)
            t->rexmt_since = s->now;
        if (!pn_timer_armed(&t->rexmt_timer) || t->persist || t->tlp_armed) {
            t->persist = false;
            pn_tcp_rexmt_or_probe_arm(s, t); /* RFC 6298 (5.1), RFC 8985 §7.2 */
        }
    }
    /* Data waiting and nothing in flight: probe the window (RFC 9293 §3.8.6.1). Not only a
     * zero window: one too small for sender SWS avoidance to use is as stuck, and without
     * a timer a lost window update would stall the connection for good (RFC 1122
     * §4.2.3.4's override timeout; Linux's probe timer does the same). */
    if (t->sq.bytes > t->snd_nxt - t->snd_una && t->snd_una == t->snd_max &&
        !pn_timer_armed(&t->rexmt_timer))
        pn_tcp_persist_arm(s, t);
    if (!sent_ack && (t->flags & (TF_ACK_NOW | TF_WND_UPDATE)))
        pn_tcp_send_ack(s, t);
}
