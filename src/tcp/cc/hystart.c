/* tcp/cc/hystart.c — HyStart++ (RFC 9406): leave the initial slow start when the round's
 * minimum RTT rises, through a few rounds of Conservative Slow Start (CSS) that undoes a
 * premature exit. Module-independent: a module embeds struct pn_hystart in its state.
 * Call chain: cc module on_rtt_sample -> pn_hystart_rtt_sample; on_ack -> pn_hystart_on_ack. */
#include "tcp/tcp.h"

/* RFC 9406 §4.3 constants (RTTs in microseconds). */
#define MIN_RTT_THRESH 4000u  /* 4 ms */
#define MAX_RTT_THRESH 16000u /* 16 ms */
#define MIN_RTT_DIVISOR 8u
#define N_RTT_SAMPLE 8u
#define CSS_GROWTH_DIVISOR 4u
#define CSS_ROUNDS 5u
#define L_NONPACED 8u /* L = 8 for a sender that does not pace (we do not) */
#define RTT_INF UINT32_MAX

enum {
    HS_OFF = 0,  /* not initialised (state still zeroed): ignore everything */
    HS_SS = 1,   /* standard slow start, watching for a delay increase */
    HS_CSS = 2,  /* conservative slow start */
    HS_DONE = 3, /* slow start ended by HyStart++ or by a loss: plain RFC 5681 from now on */
    HS_PHASE = 0x7f,
    HS_ROUND = 0x80, /* window_end is valid (a round has begun) */
};

void pn_hystart_init(struct pn_hystart *h)
{
    *h = (struct pn_hystart){
        .last_round_min_rtt = RTT_INF,
        .cur_round_min_rtt = RTT_INF,
        .css_baseline_min_rtt = RTT_INF,
        .phase = HS_SS,
    };
}

void pn_hystart_rtt_sample(struct pn_hystart *h, uint32_t rtt_us)
{
    uint8_t ph = h->phase & HS_PHASE;
    if (ph == HS_SS || ph == HS_CSS)
        h->curr_rtt = rtt_us ? rtt_us : 1; /* §4.2 currRTT, consumed by the next ACK */
}

void pn_hystart_stop(struct pn_hystart *h)
{
    if ((h->phase & HS_PHASE) != HS_OFF)
        h->phase = HS_DONE;
}

bool pn_hystart_in_css(const struct pn_hystart *h)
{
    return (h->phase & HS_PHASE) == HS_CSS;
}

static void enter_ca(struct pn_hystart *h, struct pn_tcb *t)
{
    /* §4.2: "If CSS_ROUNDS rounds are complete, enter congestion avoidance by setting the
     * ssthresh to the current cwnd." */
    t->ssthresh = t->cwnd;
    h->phase = HS_DONE;
}

bool pn_hystart_on_ack(struct pn_hystart *h, struct pn_tcb *t, uint32_t acked)
{
    uint8_t ph = h->phase & HS_PHASE;
    if ((ph != HS_SS && ph != HS_CSS) || t->ssthresh != UINT32_MAX) {
        /* §4.2: HyStart++ only for the initial slow start (ssthresh still arbitrarily high);
         * later slow starts exit at the ssthresh they found. RFC 5681 with RFC 3465 L = 2. */
        t->cwnd += acked < 2u * t->mss ? acked : 2u * t->mss;
        return false;
    }
    /* §4.2 rounds: a round ends when windowEnd is acknowledged; the next one ends at the
     * data sent so far (SND.MAX: the highest sequence sent, retransmissions aside). */
    if (!(h->phase & HS_ROUND) || seq_ge(t->snd_una, h->window_end)) {
        bool first = !(h->phase & HS_ROUND);
        h->window_end = t->snd_max;
        h->phase |= HS_ROUND;
        h->last_round_min_rtt = h->cur_round_min_rtt;
        h->cur_round_min_rtt = RTT_INF;
        h->samples = 0;
        if (!first && ph == HS_CSS) {
            /* "CSS lasts at most CSS_ROUNDS rounds", the partial round it began in included. */
            if (h->css_rounds >= CSS_ROUNDS) {
                enter_ca(h, t);
                return true;
            }
            h->css_rounds++;
        }
    }
    /* cwnd = cwnd + min(N, L * SMSS), divided by CSS_GROWTH_DIVISOR in CSS. */
    uint32_t n = acked < L_NONPACED * t->mss ? acked : L_NONPACED * t->mss;
    if (ph == HS_CSS) {
        n += h->css_frac;
        h->css_frac = (uint8_t)(n % CSS_GROWTH_DIVISOR);
        n /= CSS_GROWTH_DIVISOR;
    }
    t->cwnd += n;
    /* currentRoundMinRTT = min(currentRoundMinRTT, currRTT); rttSampleCount += 1 (only for
     * an ACK that produced a sample). */
    if (h->curr_rtt) {
        if (h->curr_rtt < h->cur_round_min_rtt)
            h->cur_round_min_rtt = h->curr_rtt;
        if (h->samples < UINT8_MAX)
            h->samples++;
        h->curr_rtt = 0;
    }
    if (h->samples < N_RTT_SAMPLE)
        return false;
    if (ph == HS_SS) {
        if (h->cur_round_min_rtt == RTT_INF || h->last_round_min_rtt == RTT_INF)
            return false;
        /* RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR,
         * MAX_RTT_THRESH)); exit to CSS if currentRoundMinRTT >= lastRoundMinRTT + RttThresh. */
        uint32_t thresh = h->last_round_min_rtt / MIN_RTT_DIVISOR;
        thresh = thresh < MAX_RTT_THRESH ? thresh : MAX_RTT_THRESH;
        thresh = thresh > MIN_RTT_THRESH ? thresh : MIN_RTT_THRESH;
        if ((uint64_t)h->cur_round_min_rtt >= (uint64_t)h->last_round_min_rtt + thresh) {
            h->css_baseline_min_rtt = h->cur_round_min_rtt;
            h->phase = HS_CSS | HS_ROUND;
            h->css_rounds = 1;
            h->css_frac = 0;
        }
    } else if (h->cur_round_min_rtt < h->css_baseline_min_rtt) {
        /* The RTT fell below the baseline: the exit was spurious, resume slow start. */
        h->css_baseline_min_rtt = RTT_INF;
        h->phase = HS_SS | HS_ROUND;
        h->css_rounds = 0;
    }
    return false;
}
