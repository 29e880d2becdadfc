/* tests/tcp/test_tcp_states_data.c — ESTABLISHED-state rules for text, acknowledgments and
 * windows (RFC 9293 §3.10.7.4 "first", "fifth", "sixth", "seventh"; §3.8.6): the RFC 5961
 * challenge-ACK rate limit, trimming to the window, ACKs of unsent or very old data, the
 * SND.WL1/WL2 window-update rule, out-of-order data, delayed ACKs, zero windows, urgent
 * data, and RSTs when the application closes with data outstanding. A scripted peer
 * (tcptest.h) injects crafted segments into stack A and checks A's exact replies. */
#include <string.h>
#include "tcptest.h"

static void pattern(uint8_t *b, size_t n, uint32_t from)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)((from + i) * 131u >> 3);
}

/* ESTABLISHED by active open; B offers no SACK so ACKs carry no SACK blocks. */
static struct pn_socket *established(struct tp *p, const struct pn_stack_config *cfg, int rcvbuf)
{
    tp_init(p, cfg);
    p->syn_sack = false;
    if (!rcvbuf)
        return tp_active_open(p);
    struct pn_socket *c;
    assert_int_equal(pn_socket(p->o.s, PN_SOCK_STREAM, &c), 0);
    assert_int_equal(pn_setsockopt(c, PN_SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
    assert_int_equal(pn_bind(c, &(struct pn_endpoint){0, p->aport}), 0);
    assert_int_equal(pn_connect(c, &(struct pn_endpoint){T_ADDR_B, p->bport}), PN_EINPROGRESS);
    struct tseg sg;
    assert_true(tp_recv(p, &sg));
    assert_int_equal(sg.r.flags, PN_TCP_SYN);
    p->a_iss = sg.r.seq;
    p->rcv_nxt = sg.r.seq + 1;
    tp_send(p, PN_TCP_SYN | PN_TCP_ACK, NULL, 0);
    tp_expect(p, PN_TCP_ACK, p->rcv_nxt, p->snd_nxt);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    return c;
}

static unsigned drain(struct tp *p)
{
    unsigned n = 0;
    struct tseg sg;
    while (tp_recv(p, &sg)) {
        assert_int_equal(sg.r.flags, PN_TCP_ACK);
        n++;
    }
    return n;
}

/* RFC 5961 §7: challenge ACKs are limited to tcp_challenge_ack_per_sec, shared by every
 * trigger (in-window RST, SYN, ACK too old); a burst of one second's worth, refilled with
 * time, capped at one second's worth. */
static void test_challenge_ack_rate_limit(void **state)
{
    (void)state;
    struct pn_stack_config cfg;
    tp_config(&cfg);
    cfg.tcp_challenge_ack_per_sec = 10;
    struct tp p;
    struct pn_socket *c = established(&p, &cfg, 0);
    for (int i = 0; i < 12; i++)
        tp_send_at(&p, PN_TCP_RST, p.snd_nxt + 1 + (uint32_t)i, 0, NULL, 0);
    for (int i = 0; i < 3; i++)
        tp_send_at(&p, PN_TCP_SYN, p.snd_nxt, 0, NULL, 0);
    assert_int_equal(drain(&p), 10);
    assert_int_equal(t_stat(p.o.s, "tcp_challenge_ack"), 10);
    assert_int_equal(t_stat(p.o.s, "tcp_challenge_ack_limited"), 5);
    t_one_advance(&p.o, PN_MS(99));
    tp_send_at(&p, PN_TCP_RST, p.snd_nxt + 1, 0, NULL, 0);
    assert_int_equal(drain(&p), 0);
    t_one_advance(&p.o, PN_MS(1)); /* 100 ms: one token */
    for (int i = 0; i < 3; i++)
        tp_send_at(&p, PN_TCP_RST, p.snd_nxt + 1, 0, NULL, 0);
    assert_int_equal(drain(&p), 1);
    t_one_advance(&p.o, PN_SEC(5)); /* capped at 10 */
    for (int i = 0; i < 12; i++)
        tp_send_at(&p, PN_TCP_RST, p.snd_nxt + 1, 0, NULL, 0);
    assert_int_equal(drain(&p), 10);
    assert_int_equal(t_stat(p.o.s, "tcp_challenge_ack"), 21);
    assert_int_equal(t_stat(p.o.s, "tcp_challenge_ack_limited"), 5 + 1 + 2 + 2);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 5961 §7: the limit is a rate, whatever the arrival pattern: with triggers every 1.5 ms
 * for 1.5 s after the burst is spent, 10/s allows exactly 15 more. */
static void test_challenge_ack_rate_steady(void **state)
{
    (void)state;
    struct pn_stack_config cfg;
    tp_config(&cfg);
    cfg.tcp_challenge_ack_per_sec = 10;
    struct tp p;
    struct pn_socket *c = established(&p, &cfg, 0);
    for (int i = 0; i < 10; i++)
        tp_send_at(&p, PN_TCP_RST, p.snd_nxt + 1, 0, NULL, 0);
    assert_int_equal(drain(&p), 10);
    unsigned acks = 0;
    for (int i = 0; i < 1000; i++) {
        t_one_advance(&p.o, 1500000); /* 1.5 ms */
        tp_send_at(&p, PN_TCP_RST, p.snd_nxt + 1, 0, NULL, 0);
        acks += drain(&p);
    }
    assert_int_equal(acks, 15);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.10.7.4 "first"/"seventh": of a segment straddling the right window edge only
 * the part inside the window is accepted; a later segment beyond a zero window is refused
 * with an ACK. */
static void test_data_beyond_window_trimmed(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 4096);
    uint8_t d[4200], got[8192];
    pattern(d, sizeof(d), 0);
    uint32_t b0 = p.snd_nxt;
    tp_send(&p, PN_TCP_ACK, d, 1400);
    tp_expect_none(&p);
    tp_send(&p, PN_TCP_ACK, d + 1400, 1400);
    struct tseg a = tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 2800);
    assert_int_equal(a.r.window, 4096 - 2800);
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, d + 2800, 1400); /* 104 bytes past the edge */
    t_one_advance(&p.o, PN_MS(40));
    a = tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 4096);
    assert_int_equal(a.r.window, 0);
    tp_send_at(&p, PN_TCP_ACK, b0 + 4096, p.rcv_nxt, d + 4096, 104);
    a = tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 4096);
    assert_int_equal(a.r.window, 0);
    tp_expect_none(&p);
    assert_int_equal(pn_recv(c, got, sizeof(got), 0), 4096);
    assert_memory_equal(got, d, 4096);
    assert_int_equal(tp_info(c).bytes_received, 4096);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.8.6 / §3.10.7.4 "first": a full buffer advertises a zero window; then only a
 * zero-length segment at RCV.NXT is acceptable (data is refused with an ACK). Reading opens
 * the window at once (§3.8.6.2.2: the update is worth sending) and a segment at RCV.NXT is
 * accepted again. */
static void test_zero_window(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 4096);
    uint8_t d[4096], got[8192];
    pattern(d, sizeof(d), 7);
    uint32_t b0 = p.snd_nxt;
    tp_send(&p, PN_TCP_ACK, d, 1400);
    tp_send(&p, PN_TCP_ACK, d + 1400, 1400);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 2800);
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, d + 2800, 1296);
    t_one_advance(&p.o, PN_MS(40));
    struct tseg a = tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 4096);
    assert_int_equal(a.r.window, 0);
    /* a byte at RCV.NXT into the zero window: ACK, not accepted */
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt, p.rcv_nxt, "z", 1);
    a = tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 4096);
    assert_int_equal(a.r.window, 0);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_out_of_window"), 1);
    /* a Linux-style window probe (zero length, SEQ = RCV.NXT - 1) is not acceptable: ACK */
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt - 1, p.rcv_nxt, NULL, 0);
    a = tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 4096);
    assert_int_equal(a.r.window, 0);
    /* a zero-length segment at RCV.NXT is acceptable: no reply */
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect_none(&p);
    assert_int_equal(pn_recv(c, got, sizeof(got), 0), 4096);
    assert_memory_equal(got, d, 4096);
    a = tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 4096);
    assert_int_equal(a.r.window, 4096);
    tp_expect_none(&p);
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, "z", 1);
    assert_int_equal(pn_recv(c, got, sizeof(got), 0), 1);
    assert_int_equal(got[0], 'z');
    t_one_advance(&p.o, PN_MS(40));
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 4097);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.10.7.4 "fifth": "If the ACK acks something not yet sent (SEG.ACK > SND.NXT)
 * then send an ACK, drop the segment, and return" — its text is not delivered. */
static void test_ack_of_unsent_data(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 0);
    assert_int_equal(pn_send(c, "hello", 5, 0), 5);
    tp_expect(&p, PN_TCP_ACK | PN_TCP_PSH, p.rcv_nxt, p.snd_nxt);
    tp_send_at(&p, PN_TCP_ACK | PN_TCP_PSH, p.snd_nxt, p.rcv_nxt + 5 + 10, "xyz", 3);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt + 5, p.snd_nxt);
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_ack_invalid"), 1);
    struct pn_tcp_info ti = tp_info(c);
    assert_int_equal(ti.bytes_received, 0);
    assert_int_equal(ti.unacked, 5);
    assert_int_equal(ti.bytes_acked, 0);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 5961 §5.2: an ACK below SND.UNA - MAX.SND.WND is unacceptable: challenge ACK, drop
 * (text not delivered). An older ACK inside that range is a plain duplicate: ignored, and
 * the segment's text is accepted. */
static void test_ack_too_old(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 0); /* B's window: 65535, unscaled */
    uint32_t una = p.rcv_nxt;
    tp_send_at(&p, PN_TCP_ACK | PN_TCP_PSH, p.snd_nxt, una - 65536, "xyz", 3);
    tp_expect(&p, PN_TCP_ACK, una, p.snd_nxt);
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_ack_invalid"), 1);
    assert_int_equal(t_stat(p.o.s, "tcp_challenge_ack"), 1);
    assert_int_equal(tp_info(c).bytes_received, 0);
    tp_send_at(&p, PN_TCP_ACK | PN_TCP_PSH, p.snd_nxt, una - 65535, "xyz", 3);
    p.snd_nxt += 3;
    tp_expect_none(&p); /* delayed ACK */
    assert_int_equal(t_stat(p.o.s, "tcp_rx_ack_invalid"), 1);
    char b[8];
    assert_int_equal(pn_recv(c, b, sizeof(b), 0), 3);
    assert_memory_equal(b, "xyz", 3);
    t_one_advance(&p.o, PN_MS(40));
    tp_expect(&p, PN_TCP_ACK, una, p.snd_nxt);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.10.7.4 "fifth": the send window is updated only if SND.WL1 < SEG.SEQ, or
 * SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK: a segment older in sequence space (here: in
 * order, but behind an out-of-order segment already seen) must not move the window. */
static void test_window_update_wl1(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 0);
    uint32_t b0 = p.snd_nxt;
    uint8_t d[1000];
    pattern(d, sizeof(d), 3);
    assert_int_equal(tp_info(c).snd_wnd, 65535);
    p.wnd = 7000;
    tp_send_at(&p, PN_TCP_ACK, b0 + 900, p.rcv_nxt, d + 900, 100); /* out of order */
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0);
    assert_int_equal(tp_info(c).snd_wnd, 7000);
    p.wnd = 100;
    tp_send_at(&p, PN_TCP_ACK, b0, p.rcv_nxt, d, 100); /* older SEG.SEQ: no update */
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 100);
    assert_int_equal(tp_info(c).snd_wnd, 7000);
    p.wnd = 50;
    tp_send_at(&p, PN_TCP_ACK, b0 + 100, p.rcv_nxt, NULL, 0);
    assert_int_equal(tp_info(c).snd_wnd, 7000);
    p.wnd = 9000;
    tp_send_at(&p, PN_TCP_ACK, b0 + 900, p.rcv_nxt, NULL, 0); /* SND.WL1 = SEG.SEQ */
    assert_int_equal(tp_info(c).snd_wnd, 9000);
    p.wnd = 8000;
    tp_send_at(&p, PN_TCP_ACK, b0 + 100, p.rcv_nxt, d + 100, 800); /* fills the hole */
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 1000);
    assert_int_equal(tp_info(c).snd_wnd, 9000);
    p.wnd = 8000;
    tp_send_at(&p, PN_TCP_ACK, b0 + 1000, p.rcv_nxt, NULL, 0); /* newer: update */
    assert_int_equal(tp_info(c).snd_wnd, 8000);
    uint8_t got[1100];
    assert_int_equal(pn_recv(c, got, sizeof(got), 0), 1000);
    assert_memory_equal(got, d, 1000);
    pn_close(c);
    tp_fini(&p);
}

/* Same rule, SND.WL2: with the same SEG.SEQ, an ACK older than SND.WL2 (reordered) must not
 * move the window; an ACK at or past SND.WL2 does. */
static void test_window_update_wl2(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 0);
    int one = 1;
    assert_int_equal(pn_setsockopt(c, PN_TCP_NODELAY, &one, sizeof(one)), 0);
    uint32_t a0 = p.rcv_nxt;
    uint8_t d[1000];
    pattern(d, sizeof(d), 9);
    assert_int_equal(pn_send(c, d, sizeof(d), 0), 1000);
    tp_expect(&p, PN_TCP_ACK | PN_TCP_PSH, a0, p.snd_nxt);
    p.wnd = 3000;
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt, a0 + 1000, NULL, 0);
    struct pn_tcp_info ti = tp_info(c);
    assert_int_equal(ti.snd_wnd, 3000);
    assert_int_equal(ti.unacked, 0);
    p.wnd = 20000;
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt, a0 + 500, NULL, 0); /* older ACK, same SEQ */
    assert_int_equal(tp_info(c).snd_wnd, 3000);
    p.wnd = 4000;
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt, a0 + 1000, NULL, 0);
    assert_int_equal(tp_info(c).snd_wnd, 4000);
    tp_expect_none(&p);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.10.7.4 "seventh" with RFC 5681 §4.2 / RFC 9293 §3.8.6.3: an out-of-order
 * segment is queued and answered at once with a duplicate ACK; when a hole fills, the
 * cumulative ACK goes out at once, and the reader gets the bytes in order. */
static void test_out_of_order(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 0);
    uint32_t b0 = p.snd_nxt;
    uint8_t d[400], got[500];
    pattern(d, sizeof(d), 11);
    tp_send_at(&p, PN_TCP_ACK, b0 + 100, p.rcv_nxt, d + 100, 100);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0);
    tp_send_at(&p, PN_TCP_ACK, b0 + 300, p.rcv_nxt, d + 300, 100);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_ooo"), 2);
    assert_int_equal(pn_recv(c, got, sizeof(got), 0), PN_EAGAIN);
    tp_send_at(&p, PN_TCP_ACK, b0, p.rcv_nxt, d, 100);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 200);
    tp_send_at(&p, PN_TCP_ACK, b0 + 200, p.rcv_nxt, d + 200, 100);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 400);
    tp_expect_none(&p);
    assert_int_equal(pn_recv(c, got, sizeof(got), 0), 400);
    assert_memory_equal(got, d, 400);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: a lone in-order segment is acknowledged after the
 * delayed-ACK bound (tcp_delack_ms), not before. */
static void test_delayed_ack(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 0);
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, "0123456789", 10);
    tp_expect_none(&p);
    t_one_advance(&p.o, PN_MS(40) - 1);
    tp_expect_none(&p);
    t_one_advance(&p.o, 1);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    tp_expect_none(&p);
    t_one_advance(&p.o, PN_SEC(1));
    tp_expect_none(&p);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.8.6.3 / RFC 5681 §4.2: an ACK is sent for at least every second full-sized
 * segment, at once; an odd one waits for the delayed-ACK timer. */
static void test_ack_every_second_segment(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 0);
    uint32_t b0 = p.snd_nxt;
    uint8_t d[1448 * 3];
    pattern(d, sizeof(d), 5);
    tp_send(&p, PN_TCP_ACK, d, 1448);
    tp_expect_none(&p);
    tp_send(&p, PN_TCP_ACK, d + 1448, 1448);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 2896);
    tp_expect_none(&p);
    tp_send(&p, PN_TCP_ACK, d + 2896, 1448);
    tp_expect_none(&p);
    t_one_advance(&p.o, PN_MS(40));
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 3 * 1448);
    tp_expect_none(&p);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.8.5 / §3.10.7.4 "sixth" and RFC 6093: urgent data is delivered inline, in
 * sequence; odd urgent pointers (past the data, on a zero-length segment, without URG) are
 * harmless. */
static void test_urgent_inline(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 0);
    struct pn_tcp_repr r = tp_repr(&p, PN_TCP_ACK | PN_TCP_PSH | PN_TCP_URG);
    r.urgent = 3;
    tp_inject(&p, &r, "abcdef", 6);
    p.snd_nxt += 6;
    r = tp_repr(&p, PN_TCP_ACK | PN_TCP_URG);
    r.urgent = 0xffff;
    tp_inject(&p, &r, "gh", 2);
    p.snd_nxt += 2;
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, p.snd_nxt); /* second segment: ACK now */
    r = tp_repr(&p, PN_TCP_ACK | PN_TCP_URG);
    r.urgent = 10;
    tp_inject(&p, &r, NULL, 0);
    r = tp_repr(&p, PN_TCP_ACK);
    r.urgent = 1;
    tp_inject(&p, &r, "i", 1);
    p.snd_nxt += 1;
    char b[16];
    assert_int_equal(pn_recv(c, b, sizeof(b), 0), 9);
    assert_memory_equal(b, "abcdefghi", 9);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.10.4 (CLOSE with data not yet read) / RFC 2525 §2.17: closing with unread data
 * aborts: <SEQ=SND.NXT><CTL=RST,ACK>, and the connection is gone. */
static void test_close_with_unread_data(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 0);
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, "unread", 6);
    assert_int_equal(pn_close(c), 0);
    /* with the ACK and timestamps, as Linux sends it (RFC 7323 §3.2: TSopt SHOULD be on RST) */
    struct tseg rst = tp_expect(&p, PN_TCP_RST | PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    assert_true(rst.r.has_ts);
    tp_expect_none(&p);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect(&p, PN_TCP_RST, p.rcv_nxt, 0);
    t_one_advance(&p.o, PN_SEC(2));
    tp_expect_none(&p);
    tp_fini(&p);
}

/* RFC 9293 §3.10.4 / §3.10.7.4 "seventh": data arriving after the application closed (an
 * orphan in FIN-WAIT-1/2) can never be read: RST <SEQ=SND.NXT>, connection gone. */
static void test_data_after_close(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 0);
    assert_int_equal(pn_close(c), 0);
    tp_expect(&p, PN_TCP_FIN | PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    p.rcv_nxt++;
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, "late", 4);
    tp_expect(&p, PN_TCP_RST, p.rcv_nxt, 0);
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_after_close"), 1);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect(&p, PN_TCP_RST, p.rcv_nxt, 0);
    tp_fini(&p);
}

/* RFC 9293 §3.10.7.4 "eighth": a FIN is processed only once everything before it has
 * arrived: a FIN beyond a hole is held (duplicate ACK, still ESTABLISHED); when the hole
 * fills, data and FIN are acknowledged together and the state becomes CLOSE-WAIT. */
static void test_fin_out_of_order(void **state)
{
    (void)state;
    struct tp p;
    struct pn_socket *c = established(&p, NULL, 0);
    uint32_t b0 = p.snd_nxt;
    uint8_t d[200], got[300];
    pattern(d, sizeof(d), 13);
    tp_send_at(&p, PN_TCP_ACK | PN_TCP_FIN, b0 + 100, p.rcv_nxt, d + 100, 100);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    assert_false(pn_socket_events(c) & PN_EV_RDHUP);
    tp_send_at(&p, PN_TCP_ACK, b0, p.rcv_nxt, d, 100);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, b0 + 201);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_CLOSE_WAIT);
    assert_int_equal(pn_recv(c, got, sizeof(got), 0), 200);
    assert_memory_equal(got, d, 200);
    assert_int_equal(pn_recv(c, got, sizeof(got), 0), 0);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 5961 §5.2 with RFC 7323 §4.3: a segment acknowledging data never sent is discarded,
 * so its (forged, far-future) TSval must not become TS.Recent; otherwise PAWS would reject
 * every later segment of the real peer and lock it out. (Found by packetdrill's
 * ts_recent/invalid_ack.) */
static void test_invalid_ack_does_not_poison_ts_recent(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = tp_active_open(&p);
    uint32_t real_ts = p.tsval;
    p.tsval = real_ts + 1000000u; /* forged: far ahead */
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt, p.rcv_nxt + 100000u, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, p.snd_nxt); /* "send an ACK, drop" */
    p.tsval = real_ts + 1; /* the real peer goes on */
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, "abc", 3);
    char b[8];
    assert_int_equal(pn_recv(c, b, sizeof(b), 0), 3);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_paws_rejected"), 0);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.9.1: a retransmission carries PSH like the segment it repeats (the end of
 * what the application wrote). */
static void test_retransmission_keeps_psh(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = tp_active_open(&p);
    assert_int_equal(pn_send(c, "hello", 5, 0), 5);
    struct tseg first = tp_expect(&p, PN_TCP_ACK | PN_TCP_PSH, p.rcv_nxt, p.snd_nxt);
    assert_int_equal(first.r.payload_len, 5);
    /* No ACK: the tail loss probe resends it through the recovery path (pn_tcp_send_range),
     * then the RTO through the output loop; both copies must carry PSH. */
    t_one_advance(&p.o, PN_SEC(3));
    assert_true(t_stat(p.o.s, "tcp_tlp_probes") >= 1);
    assert_true(t_stat(p.o.s, "tcp_rto") >= 1);
    for (int i = 0; i < 2; i++) {
        struct tseg again = tp_expect(&p, PN_TCP_ACK | PN_TCP_PSH, p.rcv_nxt, p.snd_nxt);
        assert_int_equal(again.r.payload_len, 5);
    }
    pn_close(c);
    tp_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge_ack_rate_limit),
        cmocka_unit_test(test_invalid_ack_does_not_poison_ts_recent),
        cmocka_unit_test(test_retransmission_keeps_psh),
        cmocka_unit_test(test_challenge_ack_rate_steady),
        cmocka_unit_test(test_data_beyond_window_trimmed),
        cmocka_unit_test(test_zero_window),
        cmocka_unit_test(test_ack_of_unsent_data),
        cmocka_unit_test(test_ack_too_old),
        cmocka_unit_test(test_window_update_wl1),
        cmocka_unit_test(test_window_update_wl2),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_fin_out_of_order),
        cmocka_unit_test(test_delayed_ack),
        cmocka_unit_test(test_ack_every_second_segment),
        cmocka_unit_test(test_urgent_inline),
        cmocka_unit_test(test_close_with_unread_data),
        cmocka_unit_test(test_data_after_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
