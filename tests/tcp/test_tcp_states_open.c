/* tests/tcp/test_tcp_states_open.c — per-state tests for the opening states (RFC 9293
 * §3.10.7.1-§3.10.7.4): CLOSED (no socket), LISTEN, SYN-SENT, SYN-RECEIVED, SYN cookies
 * (RFC 4987) and RFC 6528 initial sequence numbers. A scripted peer (tcptest.h) injects
 * crafted segments into stack A and checks A's exact replies and states. */
#include <string.h>
#include "tcptest.h"

/* ---- CLOSED ---- */

/* RFC 9293 §3.10.7.1: no connection. A segment without ACK gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
 * <CTL=RST,ACK>; one with ACK gets <SEQ=SEG.ACK><CTL=RST>; a RST is dropped. */
static void test_closed_port(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    tp_send(&p, PN_TCP_SYN, NULL, 0);
    tp_expect(&p, PN_TCP_RST | PN_TCP_ACK, 0, TP_B_ISS + 1);
    tp_send_at(&p, PN_TCP_ACK | PN_TCP_PSH, 777, 4242, "hello", 5);
    tp_expect(&p, PN_TCP_RST, 4242, 0);
    tp_send_at(&p, PN_TCP_FIN, 900, 0, "ab", 2);
    tp_expect(&p, PN_TCP_RST | PN_TCP_ACK, 0, 900 + 2 + 1);
    tp_send_at(&p, PN_TCP_RST, 1, 0, NULL, 0);
    tp_send_at(&p, PN_TCP_RST | PN_TCP_ACK, 1, 2, NULL, 0);
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_no_socket"), 5);
    tp_fini(&p);
}

/* ---- LISTEN, RFC 9293 §3.10.7.2 ---- */

/* "fourth, check for a SYN": SYN -> SYN,ACK <SEQ=ISS><ACK=RCV.NXT> with our MSS (RFC 9293
 * §3.7.1) and exactly the options the peer offered: window scale and timestamps (RFC 7323
 * §1.3, §2.2, §3.2: never offered in a SYN,ACK unless received in the SYN), SACK-permitted
 * (RFC 2018 §2). The SYN,ACK's window is never scaled (RFC 7323 §2.2). */
static void test_listen_syn_options(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    p.syn_mss = 1400;
    p.syn_ws = 7;
    struct tseg sg = tp_syn(&p);
    assert_int_equal(sg.r.ack, TP_B_ISS + 1);
    assert_true(sg.r.has_mss);
    assert_int_equal(sg.r.mss, 1460); /* MTU 1500 - 40 */
    assert_true(sg.r.has_wscale);
    assert_int_equal(sg.r.wscale, 3); /* 262144-byte buffer: 65535 << 3 >= 262144 */
    assert_true(sg.r.has_ts);
    assert_int_equal(sg.r.ts_ecr, TP_B_TS0);
    assert_true(sg.r.sack_permitted);
    assert_int_equal(sg.r.window, 65535);
    assert_int_equal(sg.len, 0);
    tp_expect_none(&p);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), PN_EAGAIN); /* SYN-RECEIVED: not acceptable */
    assert_int_equal(t_stat(p.o.s, "tcp_passive_opens"), 1);

    /* A SYN with no options: the SYN,ACK carries only MSS. */
    p.bport = TP_BPORT + 1;
    p.snd_nxt = 7000;
    p.syn_mss = 0;
    p.syn_ws = -1;
    p.syn_sack = false;
    p.ts = false;
    sg = tp_syn(&p);
    assert_int_equal(sg.r.ack, 7001);
    assert_true(sg.r.has_mss);
    assert_int_equal(sg.r.mss, 1460);
    assert_false(sg.r.has_wscale);
    assert_false(sg.r.has_ts);
    assert_false(sg.r.sack_permitted);
    assert_int_equal(sg.r.window, 65535);
    assert_int_equal(sg.r.hdr_len, 24);
    /* Its final ACK: no MSS option arrived, so the send MSS is the RFC 9293 §3.7.1 default. */
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    assert_int_equal(pn_accept(l, &c, NULL), 0);
    struct pn_tcp_info ti = tp_info(c);
    assert_int_equal(ti.state, PN_TCP_ESTABLISHED);
    assert_int_equal(ti.snd_mss, 536);
    assert_false(ti.ws_ok);
    assert_false(ti.ts_ok);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* tcp_linux_options: the SYN,ACK's options are laid out byte for byte as Linux does:
 * MSS, SACK-permitted + timestamps, NOP, window scale. */
static void test_listen_synack_linux_layout(void **state)
{
    (void)state;
    struct pn_stack_config cfg;
    tp_config(&cfg);
    cfg.tcp_linux_options = true;
    struct tp p;
    tp_init(&p, &cfg);
    struct pn_socket *l = tp_listen(&p, 8);
    p.syn_ws = 7;
    struct tseg sg = tp_syn(&p);
    assert_int_equal(sg.r.hdr_len, 40);
    const uint8_t *o = sg.data + 20;
    const uint8_t want[20] = {2, 4, 0x05, 0xb4, 4,    2,    8, 10, 0, 0,
                              0, 0, 0,    0,    0x13, 0x88, 1, 3,  3, 3};
    uint8_t got[20];
    memcpy(got, o, 20);
    memset(got + 8, 0, 4); /* TSval: A's clock */
    assert_memory_equal(got, want, 20);
    pn_close(l);
    tp_fini(&p);
}

/* "first, check for a RST": "An incoming RST segment could not be valid ... should be
 * ignored" — no reply, no state. */
static void test_listen_rst_ignored(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    tp_send_at(&p, PN_TCP_RST, 5, 0, NULL, 0);
    tp_send_at(&p, PN_TCP_RST | PN_TCP_ACK, 5, 6, NULL, 0);
    tp_expect_none(&p);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), PN_EAGAIN);
    assert_int_equal(t_stat(p.o.s, "tcp_passive_opens"), 0);
    assert_int_equal(t_stat(p.o.s, "tcp_tx"), 0);
    tp_assert_state(l, PN_TCP_LISTEN);
    pn_close(l);
    tp_fini(&p);
}

/* "second, check for an ACK": any acknowledgment is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
 * No SYN cookie went out recently, so the ACK is not even tried as one (a stray ACK must not
 * be a free guess at the cookie hash). */
static void test_listen_ack_gets_rst(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    tp_send_at(&p, PN_TCP_ACK, 1234, 0xdeadbeef, NULL, 0);
    tp_expect(&p, PN_TCP_RST, 0xdeadbeef, 0);
    tp_send_at(&p, PN_TCP_ACK | PN_TCP_PSH | PN_TCP_FIN, 1234, 99, "data", 4);
    tp_expect(&p, PN_TCP_RST, 99, 0);
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_syncookies_failed"), 0);
    assert_int_equal(t_stat(p.o.s, "tcp_passive_opens"), 0);
    tp_assert_state(l, PN_TCP_LISTEN);
    pn_close(l);
    tp_fini(&p);
}

/* SYN+FIN and SYN+RST are never sent by a correct stack (scans, fingerprinting): dropped
 * without reply and without state; a segment with none of SYN/ACK/RST is dropped
 * (§3.10.7.2 "fourth ... Any other control or text-bearing segment ... drop it"). */
static void test_listen_bad_flags_dropped(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    tp_send_at(&p, PN_TCP_SYN | PN_TCP_FIN, 100, 0, NULL, 0);
    tp_send_at(&p, PN_TCP_SYN | PN_TCP_RST, 100, 0, NULL, 0);
    tp_send_at(&p, PN_TCP_SYN | PN_TCP_FIN | PN_TCP_PSH | PN_TCP_URG, 100, 0, NULL, 0);
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_bad_flags"), 3);
    tp_send_at(&p, PN_TCP_FIN, 100, 0, NULL, 0);
    tp_send_at(&p, PN_TCP_PSH, 100, 0, "x", 1);
    tp_send_at(&p, 0, 100, 0, NULL, 0);
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_passive_opens"), 0);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), PN_EAGAIN);
    pn_close(l);
    tp_fini(&p);
}

/* ---- SYN-SENT, RFC 9293 §3.10.7.3 ---- */

/* OPEN (active): <SEQ=ISS><CTL=SYN> with MSS, window scale, timestamps (TSecr 0) and
 * SACK-permitted, unscaled window (RFC 9293 §3.10.1, RFC 7323 §2.2/§3.2, RFC 2018 §2);
 * retransmitted with the same ISS after the initial RTO (RFC 6298 (2.1): 1 s). */
static void test_synsent_syn(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct tseg syn;
    struct pn_socket *c = tp_active_open_syn(&p, &syn);
    assert_int_equal(syn.r.ack, 0);
    assert_true(syn.r.has_mss);
    assert_int_equal(syn.r.mss, 1460);
    assert_true(syn.r.has_wscale);
    assert_int_equal(syn.r.wscale, 3);
    assert_true(syn.r.has_ts);
    assert_int_equal(syn.r.ts_ecr, 0);
    assert_int_equal(syn.r.window, 65535);
    assert_int_equal(syn.len, 0);
    tp_expect_none(&p);
    t_one_advance(&p.o, PN_MS(1000) - 1);
    tp_expect_none(&p);
    t_one_advance(&p.o, 1);
    tp_expect(&p, PN_TCP_SYN, p.a_iss, 0);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_SYN_SENT);
    pn_close(c);
    tp_fini(&p);
}

/* "first, check the ACK bit": SEG.ACK =< ISS or SEG.ACK > SND.NXT: <SEQ=SEG.ACK><CTL=RST>,
 * drop; the connection stays in SYN-SENT and completes on a correct SYN,ACK. */
static void test_synsent_bad_ack(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = tp_active_open_syn(&p, NULL);
    tp_send_at(&p, PN_TCP_SYN | PN_TCP_ACK, p.snd_nxt, p.a_iss, NULL, 0);
    tp_expect(&p, PN_TCP_RST, p.a_iss, 0);
    tp_send_at(&p, PN_TCP_SYN | PN_TCP_ACK, p.snd_nxt, p.a_iss + 2, NULL, 0);
    tp_expect(&p, PN_TCP_RST, p.a_iss + 2, 0);
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt, p.a_iss - 1000, NULL, 0);
    tp_expect(&p, PN_TCP_RST, p.a_iss - 1000, 0);
    /* "If the RST bit is set [with an unacceptable ACK], discard the segment and return." */
    tp_send_at(&p, PN_TCP_RST | PN_TCP_ACK, p.snd_nxt, p.a_iss + 2, NULL, 0);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_SYN_SENT);
    tp_send(&p, PN_TCP_SYN | PN_TCP_ACK, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, p.a_iss + 1, TP_B_ISS + 1);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    pn_close(c);
    tp_fini(&p);
}

/* "second, check the RST bit": with an acceptable ACK, "connection reset" (refused),
 * CLOSED, no reply. */
static void test_synsent_rst_with_ack(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = tp_active_open_syn(&p, NULL);
    tp_send_at(&p, PN_TCP_RST | PN_TCP_ACK, 0, p.a_iss + 1, NULL, 0);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_CLOSED);
    assert_int_equal(tp_so_error(c), PN_ECONNREFUSED);
    assert_true(pn_socket_events(c) & PN_EV_HUP);
    t_one_advance(&p.o, PN_SEC(5));
    tp_expect_none(&p); /* the SYN is not retransmitted */
    pn_close(c);
    tp_fini(&p);
}

/* "second": "If the ACK bit is not set, ... the RST should be dropped and return." */
static void test_synsent_rst_without_ack(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = tp_active_open_syn(&p, NULL);
    tp_send_at(&p, PN_TCP_RST, 0, 0, NULL, 0);
    tp_send_at(&p, PN_TCP_RST, p.snd_nxt, 0, NULL, 0);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_SYN_SENT);
    assert_int_equal(tp_so_error(c), 0);
    pn_close(c);
    tp_fini(&p);
}

/* "fourth, check the SYN bit": a SYN,ACK acknowledging our SYN: ESTABLISHED and
 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the peer's options take effect (MSS RFC 9293 §3.7.1
 * and RFC 6691 less the 12 timestamp bytes; its window scale applies to later segments). */
static void test_synsent_synack(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    p.syn_mss = 1400;
    p.syn_ws = 7;
    struct pn_socket *c = tp_active_open_syn(&p, NULL);
    p.wnd = 1000; /* unscaled in the SYN,ACK */
    tp_send(&p, PN_TCP_SYN | PN_TCP_ACK, NULL, 0);
    struct tseg sg = tp_expect(&p, PN_TCP_ACK, p.a_iss + 1, TP_B_ISS + 1);
    assert_int_equal(sg.r.window, 262144 >> 3);
    assert_true(sg.r.has_ts);
    assert_int_equal(sg.r.ts_ecr, TP_B_TS0);
    tp_expect_none(&p);
    struct pn_tcp_info ti = tp_info(c);
    assert_int_equal(ti.state, PN_TCP_ESTABLISHED);
    assert_int_equal(ti.snd_mss, 1400 - 12);
    assert_int_equal(ti.snd_wscale, 7);
    assert_int_equal(ti.rcv_wscale, 3);
    assert_int_equal(ti.snd_wnd, 1000);
    assert_true(ti.ts_ok && ti.ws_ok);
    assert_true(pn_socket_events(c) & PN_EV_OUT);
    /* The next segment's window is scaled by 2^7. */
    p.wnd = 10;
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    assert_int_equal(tp_info(c).snd_wnd, 1280);
    pn_close(c);
    tp_fini(&p);
}

/* "fourth": a SYN without ACK: simultaneous open (RFC 9293 §3.5 figure 8): SYN-RECEIVED and
 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; the peer's ACK of our SYN completes it. */
static void test_synsent_simultaneous_open(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = tp_active_open_syn(&p, NULL);
    tp_send(&p, PN_TCP_SYN, NULL, 0);
    struct tseg sg = tp_expect(&p, PN_TCP_SYN | PN_TCP_ACK, p.a_iss, TP_B_ISS + 1);
    assert_true(sg.r.has_mss);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_SYN_RECEIVED);
    assert_false(pn_socket_events(c) & PN_EV_OUT);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    assert_true(pn_socket_events(c) & PN_EV_OUT);
    assert_int_equal(pn_send(c, "hi", 2, 0), 2);
    tp_expect(&p, PN_TCP_ACK | PN_TCP_PSH, p.a_iss + 1, p.snd_nxt);
    pn_close(c);
    tp_fini(&p);
}

/* "second", SYN-RECEIVED reached from SYN-SENT (simultaneous open): a RST at RCV.NXT means
 * "the connection was refused": CLOSED with PN_ECONNREFUSED, no reply. */
static void test_synrcvd_active_rst_refused(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = tp_active_open_syn(&p, NULL);
    tp_send(&p, PN_TCP_SYN, NULL, 0);
    tp_expect(&p, PN_TCP_SYN | PN_TCP_ACK, p.a_iss, TP_B_ISS + 1);
    tp_assert_state(c, PN_TCP_SYN_RECEIVED);
    tp_send_at(&p, PN_TCP_RST, p.snd_nxt, 0, NULL, 0);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_CLOSED);
    assert_int_equal(tp_so_error(c), PN_ECONNREFUSED);
    pn_close(c);
    tp_fini(&p);
}

/* With the stack's default configuration (receive-buffer auto-tuning on), whatever window
 * scale A offers in its SYN is the one it then applies: the window field of its ACK is its
 * receive window shifted right by exactly that (RFC 7323 §2.2, §2.3). */
static void test_synsent_default_config_wscale(void **state)
{
    (void)state;
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    struct tp p;
    tp_init(&p, &cfg);
    struct tseg syn;
    struct pn_socket *c = tp_active_open_syn(&p, &syn);
    assert_true(syn.r.has_wscale);
    tp_send(&p, PN_TCP_SYN | PN_TCP_ACK, NULL, 0);
    struct tseg a = tp_expect(&p, PN_TCP_ACK, p.a_iss + 1, TP_B_ISS + 1);
    struct pn_tcp_info ti = tp_info(c);
    assert_int_equal(ti.rcv_wscale, syn.r.wscale);
    assert_int_equal(a.r.window, ti.rcv_wnd >> ti.rcv_wscale);
    assert_true(a.r.window > 0);
    pn_close(c);
    tp_fini(&p);
}

/* ---- SYN-RECEIVED (passive), RFC 9293 §3.10.7.4 ---- */

/* "fifth": SND.UNA < SEG.ACK =< SND.NXT: ESTABLISHED; the connection becomes acceptable. */
static void test_synrcvd_final_ack(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    tp_syn(&p);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), PN_EAGAIN);
    assert_false(pn_socket_events(l) & PN_EV_IN);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect_none(&p);
    assert_true(pn_socket_events(l) & PN_EV_IN);
    struct pn_endpoint peer;
    assert_int_equal(pn_accept(l, &c, &peer), 0);
    assert_int_equal(peer.addr, T_ADDR_B);
    assert_int_equal(peer.port, TP_BPORT);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    tp_assert_state(l, PN_TCP_LISTEN);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* "fifth", SYN-RECEIVED: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>; the embryonic
 * connection survives and completes on the right ACK. */
static void test_synrcvd_bad_ack(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    tp_syn(&p);
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt, p.a_iss, NULL, 0);
    tp_expect(&p, PN_TCP_RST, p.a_iss, 0);
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt, p.a_iss + 5, NULL, 0);
    tp_expect(&p, PN_TCP_RST, p.a_iss + 5, 0);
    tp_expect_none(&p);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), PN_EAGAIN);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    assert_int_equal(pn_accept(l, &c, NULL), 0);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* "second", SYN-RECEIVED: a RST at RCV.NXT of a passively opened connection returns it to
 * LISTEN: the embryonic connection disappears, the listener keeps listening. */
static void test_synrcvd_rst(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    tp_syn(&p);
    tp_send_at(&p, PN_TCP_RST, p.snd_nxt, 0, NULL, 0);
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_rst"), 1);
    /* gone: its final ACK now reaches the listener, which resets it */
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect(&p, PN_TCP_RST, p.rcv_nxt, 0);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), PN_EAGAIN);
    t_one_advance(&p.o, PN_SEC(3));
    tp_expect_none(&p); /* no SYN,ACK retransmissions for a dead child */
    tp_assert_state(l, PN_TCP_LISTEN);
    /* and still listening */
    p.bport = TP_BPORT + 1;
    p.snd_nxt = 50;
    tp_syn(&p);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    assert_int_equal(pn_accept(l, &c, NULL), 0);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* RFC 5961 §3.2 applies to SYN-RECEIVED too: a RST in the window but not exact gets a
 * challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and the handshake still completes. */
static void test_synrcvd_rst_in_window(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    tp_syn(&p);
    tp_send_at(&p, PN_TCP_RST, p.snd_nxt + 10, 0, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, p.a_iss + 1, p.snd_nxt);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), 0);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* SYN-RECEIVED: the peer's retransmitted SYN means our SYN,ACK was lost: it is sent again,
 * same ISS (RFC 9293 §3.10.7.4 / RFC 5961 §4.2 allows a SYN,ACK retransmission), and the
 * SYN,ACK is also retransmitted by the timer after the initial RTO (RFC 6298 (2.1)). */
static void test_synrcvd_syn_retransmit(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    tp_syn(&p);
    tp_send_at(&p, PN_TCP_SYN, TP_B_ISS, 0, NULL, 0);
    struct tseg sg = tp_expect(&p, PN_TCP_SYN | PN_TCP_ACK, p.a_iss, TP_B_ISS + 1);
    assert_true(sg.r.has_mss);
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_retransmits"), 1);
    t_one_advance(&p.o, PN_MS(1000));
    tp_expect(&p, PN_TCP_SYN | PN_TCP_ACK, p.a_iss, TP_B_ISS + 1);
    tp_expect_none(&p);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), 0);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* SYN-RECEIVED: the final ACK carrying a FIN: ESTABLISHED, then the FIN -> CLOSE-WAIT
 * ("eighth": SYN-RECEIVED/ESTABLISHED enter CLOSE-WAIT), acknowledged at once. */
static void test_synrcvd_ack_with_fin(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    tp_syn(&p);
    tp_send(&p, PN_TCP_ACK | PN_TCP_FIN, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, p.a_iss + 1, TP_B_ISS + 2);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), 0);
    tp_assert_state(c, PN_TCP_CLOSE_WAIT);
    char b[4];
    assert_int_equal(pn_recv(c, b, sizeof(b), 0), 0);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* SYN-RECEIVED: after tcp_syn_retries unanswered SYN,ACKs (RFC 6298 backoff: 1 s, 2 s) the
 * embryonic connection is dropped (RFC 9293 §3.8.3 R2 for SYNs); the listener, with a
 * backlog of one, still completes the next handshake. */
static void test_synrcvd_timeout(void **state)
{
    (void)state;
    struct pn_stack_config cfg;
    tp_config(&cfg);
    cfg.tcp_syn_retries = 1;
    struct tp p;
    tp_init(&p, &cfg);
    struct pn_socket *l = tp_listen(&p, 1);
    tp_syn(&p);
    t_one_advance(&p.o, PN_MS(1000));
    tp_expect(&p, PN_TCP_SYN | PN_TCP_ACK, p.a_iss, TP_B_ISS + 1);
    t_one_advance(&p.o, PN_MS(2000));
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_timeouts"), 1);
    tp_send(&p, PN_TCP_ACK, NULL, 0); /* too late: the child is gone */
    tp_expect(&p, PN_TCP_RST, p.rcv_nxt, 0);
    p.bport = TP_BPORT + 1;
    p.snd_nxt = 50;
    tp_syn(&p);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), 0);
    tp_assert_state(c, PN_TCP_ESTABLISHED);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* RFC 9293 §3.10.4 CLOSE in LISTEN: connections nobody accepted are aborted, each with
 * <SEQ=SND.NXT><CTL=RST> (embryonic and established alike). */
static void test_listen_close_resets_children(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    tp_syn(&p);
    tp_send(&p, PN_TCP_ACK, NULL, 0); /* established, not accepted */
    uint32_t iss1 = p.a_iss;
    p.bport = TP_BPORT + 1;
    p.snd_nxt = 50;
    tp_syn(&p); /* embryonic */
    uint32_t iss2 = p.a_iss;
    pn_close(l);
    struct tseg a, b;
    assert_true(tp_recv_any(&p, &a));
    assert_true(tp_recv_any(&p, &b));
    tp_expect_none(&p);
    if (a.r.dst_port != TP_BPORT) {
        struct tseg x = a;
        a = b;
        b = x;
    }
    assert_int_equal(a.r.dst_port, TP_BPORT);
    assert_int_equal(a.r.flags, PN_TCP_RST | PN_TCP_ACK); /* established: with its ACK */
    assert_int_equal(a.r.seq, iss1 + 1);
    assert_int_equal(b.r.dst_port, TP_BPORT + 1);
    assert_int_equal(b.r.flags, PN_TCP_RST);
    assert_int_equal(b.r.seq, iss2 + 1);
    /* both gone: their segments now get RSTs from no socket */
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect(&p, PN_TCP_RST, p.rcv_nxt, 0);
    tp_fini(&p);
}

/* ---- SYN cookies, RFC 4987 §3.6 ---- */

static struct pn_stack_config cookie_config(void)
{
    struct pn_stack_config cfg;
    tp_config(&cfg);
    cfg.tcp_max_syn_backlog = 1;
    return cfg;
}

/* Fills the one-entry SYN queue with an embryonic connection from port bport+100. */
static void fill_syn_queue(struct tp *p)
{
    uint16_t port = p->bport;
    p->bport = (uint16_t)(port + 100);
    tp_syn(p);
    p->bport = port;
    p->snd_nxt = TP_B_ISS;
    assert_int_equal(t_stat(p->o.s, "tcp_passive_opens"), 1);
}

/* SYN queue full: the SYN,ACK is stateless; its ISS encodes the MSS (index 3: 1400) and,
 * with timestamps, the peer's window scale and SACK-permitted ride in TSval's low bits.
 * The correct final ACK rebuilds the connection with those parameters. */
static void test_syncookie_roundtrip(void **state)
{
    (void)state;
    struct pn_stack_config cfg = cookie_config();
    struct tp p;
    tp_init(&p, &cfg);
    struct pn_socket *l = tp_listen(&p, 8);
    fill_syn_queue(&p);
    p.syn_mss = 1400;
    p.syn_ws = 7;
    struct tseg sg = tp_syn(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_syncookies_sent"), 1);
    assert_int_equal(t_stat(p.o.s, "tcp_passive_opens"), 1); /* no state was created */
    assert_int_equal((sg.r.seq >> 24) & 7u, 3);              /* mss_table[3] = 1400 */
    assert_true(sg.r.has_mss);
    assert_int_equal(sg.r.mss, 1460);
    assert_true(sg.r.has_wscale);
    assert_int_equal(sg.r.wscale, 3);
    assert_true(sg.r.has_ts);
    assert_int_equal(sg.r.ts_ecr, p.tsval - 1);
    /* TSval's low 5 bits: the peer's window scale (7) << 1 | SACK-permitted */
    assert_int_equal(sg.r.ts_val & 0x1fu, 7u << 1 | 1u);
    tp_expect_none(&p);
    /* Same SYN again: the same stateless answer. */
    tp_send_at(&p, PN_TCP_SYN, TP_B_ISS, 0, NULL, 0);
    tp_expect(&p, PN_TCP_SYN | PN_TCP_ACK, sg.r.seq, TP_B_ISS + 1);
    assert_int_equal(t_stat(p.o.s, "tcp_passive_opens"), 1);
    p.ts_recent = sg.r.ts_val;
    p.wnd = 100;
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_syncookies_ok"), 1);
    struct pn_socket *c;
    struct pn_endpoint peer;
    assert_int_equal(pn_accept(l, &c, &peer), 0);
    assert_int_equal(peer.port, TP_BPORT);
    struct pn_tcp_info ti = tp_info(c);
    assert_int_equal(ti.state, PN_TCP_ESTABLISHED);
    assert_int_equal(ti.snd_mss, 1400 - 12);
    assert_true(ti.ts_ok);
    assert_true(ti.ws_ok);
    assert_int_equal(ti.snd_wscale, 7); /* the peer's shift, from its SYN */
    assert_int_equal(ti.rcv_wscale, 3); /* ours, as offered in the SYN,ACK */
    assert_int_equal(ti.snd_wnd, 100u << 7);
    /* It works: data in, ACKed with our scaled window. */
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, "abc", 3);
    t_one_advance(&p.o, PN_MS(40));
    struct tseg a = tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    assert_int_equal(a.r.window, (262144 - 3) >> 3);
    char b[8];
    assert_int_equal(pn_recv(c, b, sizeof(b), 0), 3);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* RFC 9293 §3.7.1: PN_TCP_MAXSEG set on a listener limits the MSS its connections
 * announce in the SYN,ACK (as it does for an active open). */
static void test_listen_maxseg_announced(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    int mss = 1000;
    assert_int_equal(pn_setsockopt(l, PN_TCP_MAXSEG, &mss, sizeof(mss)), 0);
    struct tseg sg = tp_syn(&p);
    assert_true(sg.r.has_mss);
    assert_int_equal(sg.r.mss, 1000);
    pn_close(l);
    tp_fini(&p);
}

/* RFC 4987 §3.6 / RFC 9293 §3.10.7.4: data riding on the final ACK of a SYN-cookie
 * handshake is kept and delivered at once, not dropped to wait for a retransmission. */
static void test_syncookie_data_on_final_ack(void **state)
{
    (void)state;
    struct pn_stack_config cfg = cookie_config();
    struct tp p;
    tp_init(&p, &cfg);
    struct pn_socket *l = tp_listen(&p, 8);
    fill_syn_queue(&p);
    struct tseg sg = tp_syn(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_syncookies_sent"), 1);
    p.ts_recent = sg.r.ts_val;
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, "hello", 5);
    assert_int_equal(t_stat(p.o.s, "tcp_syncookies_ok"), 1);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), 0);
    char b[8];
    assert_int_equal(pn_recv(c, b, sizeof(b), 0), 5);
    assert_memory_equal(b, "hello", 5);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* Without timestamps a cookie can carry only the MSS, so the SYN,ACK must not offer window
 * scaling (RFC 7323 §2.2: scaling would be in effect on the peer's side only) or SACK, as
 * Linux does; the connection then runs unscaled. */
static void test_syncookie_no_timestamps(void **state)
{
    (void)state;
    struct pn_stack_config cfg = cookie_config();
    struct tp p;
    tp_init(&p, &cfg);
    struct pn_socket *l = tp_listen(&p, 8);
    fill_syn_queue(&p);
    p.ts = false;
    p.syn_mss = 1460;
    p.syn_ws = 7;
    struct tseg sg = tp_syn(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_syncookies_sent"), 1);
    assert_true(sg.r.has_mss);
    assert_false(sg.r.has_ts);
    assert_false(sg.r.has_wscale);
    assert_false(sg.r.sack_permitted);
    assert_int_equal((sg.r.seq >> 24) & 7u, 5); /* mss_table[5] = 1460 */
    p.wnd = 1000;
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), 0);
    struct pn_tcp_info ti = tp_info(c);
    assert_int_equal(ti.snd_mss, 1460);
    assert_false(ti.ws_ok);
    assert_false(ti.ts_ok);
    assert_int_equal(ti.snd_wscale, 0);
    assert_int_equal(ti.rcv_wscale, 0);
    assert_int_equal(ti.snd_wnd, 1000);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* RFC 7323 §2.3 with RFC 4987: the shift a cookie SYN,ACK announces must be the one the
 * rebuilt connection applies, also with the default configuration (auto-tuning on) and a
 * listener whose SO_RCVBUF pins the buffer: A's ACK windows are then its receive window
 * shifted by exactly that. */
static void test_syncookie_wscale_consistent(void **state)
{
    (void)state;
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.tcp_max_syn_backlog = 1;
    struct tp p;
    tp_init(&p, &cfg);
    struct pn_socket *l;
    assert_int_equal(pn_socket(p.o.s, PN_SOCK_STREAM, &l), 0);
    int rb = 4096;
    assert_int_equal(pn_setsockopt(l, PN_SO_RCVBUF, &rb, sizeof(rb)), 0);
    assert_int_equal(pn_bind(l, &(struct pn_endpoint){0, p.aport}), 0);
    assert_int_equal(pn_listen(l, 8), 0);
    fill_syn_queue(&p);
    p.syn_ws = 7;
    struct tseg sg = tp_syn(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_syncookies_sent"), 1);
    assert_true(sg.r.has_wscale);
    p.ts_recent = sg.r.ts_val;
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), 0);
    struct pn_tcp_info ti = tp_info(c);
    assert_int_equal(ti.rcv_wscale, sg.r.wscale);
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, "abc", 3);
    t_one_advance(&p.o, PN_MS(40));
    struct tseg a = tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    ti = tp_info(c);
    assert_int_equal(a.r.window, ti.rcv_wnd >> ti.rcv_wscale);
    assert_true(ti.rcv_wnd <= 4096);
    pn_close(c);
    pn_close(l);
    tp_fini(&p);
}

/* A final ACK that does not match the cookie: <SEQ=SEG.ACK><CTL=RST>, nothing created. */
static void test_syncookie_bad_ack(void **state)
{
    (void)state;
    struct pn_stack_config cfg = cookie_config();
    struct tp p;
    tp_init(&p, &cfg);
    struct pn_socket *l = tp_listen(&p, 8);
    fill_syn_queue(&p);
    struct tseg sg = tp_syn(&p);
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt, sg.r.seq + 2, NULL, 0);
    tp_expect(&p, PN_TCP_RST, sg.r.seq + 2, 0);
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt + 1, sg.r.seq + 1, NULL, 0); /* wrong SEQ */
    tp_expect(&p, PN_TCP_RST, sg.r.seq + 1, 0);
    tp_expect_none(&p);
    assert_int_equal(t_stat(p.o.s, "tcp_syncookies_failed"), 2);
    assert_int_equal(t_stat(p.o.s, "tcp_syncookies_ok"), 0);
    struct pn_socket *c;
    assert_int_equal(pn_accept(l, &c, NULL), PN_EAGAIN);
    pn_close(l);
    tp_fini(&p);
}

/* ---- RFC 6528 initial sequence numbers ---- */

static uint32_t syn_isn(struct tp *p, uint16_t lport, uint16_t rport)
{
    struct pn_socket *c;
    assert_int_equal(pn_socket(p->o.s, PN_SOCK_STREAM, &c), 0);
    assert_int_equal(pn_bind(c, &(struct pn_endpoint){0, lport}), 0);
    assert_int_equal(pn_connect(c, &(struct pn_endpoint){T_ADDR_B, rport}), PN_EINPROGRESS);
    p->aport = lport;
    p->bport = rport;
    struct tseg sg;
    assert_true(tp_recv(p, &sg));
    assert_int_equal(sg.r.flags, PN_TCP_SYN);
    pn_close(c); /* SYN-SENT: no RST */
    tp_expect_none(p);
    return sg.r.seq;
}

/* RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a
 * 4-microsecond timer: different 4-tuples get unrelated ISNs at the same instant, one
 * 4-tuple's ISN advances with M (exactly 250000 per second), and another secret gives
 * another F. */
static void test_isn(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    uint32_t a = syn_isn(&p, 5000, 80);
    uint32_t b = syn_isn(&p, 5001, 80);
    uint32_t c = syn_isn(&p, 5000, 81);
    assert_int_not_equal(a, b);
    assert_int_not_equal(a, c);
    assert_int_not_equal(b, c);
    assert_int_not_equal(b - a, 1u); /* not a counter */
    t_one_advance(&p.o, PN_SEC(1));
    uint32_t a2 = syn_isn(&p, 5000, 80);
    assert_int_equal(a2 - a, 250000u);
    t_one_advance(&p.o, 4000); /* one tick of M */
    assert_int_equal(syn_isn(&p, 5000, 80) - a2, 1u);
    tp_fini(&p);

    struct pn_stack_config cfg;
    tp_config(&cfg);
    cfg.secret[0] ^= 1;
    tp_init(&p, &cfg);
    uint32_t other = syn_isn(&p, 5000, 80);
    assert_int_not_equal(other, a);
    tp_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_port),
        cmocka_unit_test(test_listen_syn_options),
        cmocka_unit_test(test_listen_synack_linux_layout),
        cmocka_unit_test(test_listen_rst_ignored),
        cmocka_unit_test(test_listen_ack_gets_rst),
        cmocka_unit_test(test_listen_bad_flags_dropped),
        cmocka_unit_test(test_synsent_syn),
        cmocka_unit_test(test_synsent_bad_ack),
        cmocka_unit_test(test_synsent_rst_with_ack),
        cmocka_unit_test(test_synsent_rst_without_ack),
        cmocka_unit_test(test_synsent_synack),
        cmocka_unit_test(test_synsent_simultaneous_open),
        cmocka_unit_test(test_synrcvd_active_rst_refused),
        cmocka_unit_test(test_synsent_default_config_wscale),
        cmocka_unit_test(test_synrcvd_final_ack),
        cmocka_unit_test(test_synrcvd_bad_ack),
        cmocka_unit_test(test_synrcvd_rst),
        cmocka_unit_test(test_synrcvd_rst_in_window),
        cmocka_unit_test(test_synrcvd_syn_retransmit),
        cmocka_unit_test(test_synrcvd_ack_with_fin),
        cmocka_unit_test(test_synrcvd_timeout),
        cmocka_unit_test(test_listen_close_resets_children),
        cmocka_unit_test(test_syncookie_roundtrip),
        cmocka_unit_test(test_syncookie_data_on_final_ack),
        cmocka_unit_test(test_listen_maxseg_announced),
        cmocka_unit_test(test_syncookie_no_timestamps),
        cmocka_unit_test(test_syncookie_wscale_consistent),
        cmocka_unit_test(test_syncookie_bad_ack),
        cmocka_unit_test(test_isn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
