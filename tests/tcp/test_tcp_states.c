/* tests/tcp/test_tcp_states.c — per-state tests for the synchronized states (RFC 9293
 * §3.10.7.4): a scripted peer (tcptest.h) drives stack A into ESTABLISHED, FIN-WAIT-1,
 * FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK or TIME-WAIT, then injects RSTs in and out of
 * the window, SYNs, old duplicates, PAWS-failing segments and FINs, and checks A's exact
 * reply and resulting state. One table row per (state, check).
 * LISTEN/SYN-SENT/SYN-RECEIVED are in test_tcp_states_open.c; ESTABLISHED data, ACK and
 * window rules in test_tcp_states_data.c. */
#include <string.h>
#include "tcptest.h"

/* A's SND.MAX in each state: its FIN (if sent) is not yet acknowledged in FIN-WAIT-1,
 * CLOSING and LAST-ACK, so it lies one past what B acknowledges. */
static uint32_t a_nxt(const struct tp *p, enum pn_tcp_state st)
{
    bool fin_unacked = st == PN_TCP_FIN_WAIT_1 || st == PN_TCP_CLOSING || st == PN_TCP_LAST_ACK;
    return p->rcv_nxt + (fin_unacked ? 1u : 0u);
}

/* Drives A (active opener, so no listener exists) into state st. In FIN-WAIT-1, CLOSING and
 * LAST-ACK, B's rcv_nxt stays at A's FIN (B never acknowledges it). */
static struct pn_socket *goto_state(struct tp *p, enum pn_tcp_state st)
{
    struct pn_socket *c = tp_active_open(p);
    if (st == PN_TCP_ESTABLISHED)
        return c;
    if (st == PN_TCP_CLOSE_WAIT || st == PN_TCP_LAST_ACK) {
        tp_send(p, PN_TCP_FIN | PN_TCP_ACK, NULL, 0);
        tp_expect(p, PN_TCP_ACK, p->rcv_nxt, p->snd_nxt);
        tp_assert_state(c, PN_TCP_CLOSE_WAIT);
        if (st == PN_TCP_LAST_ACK) {
            assert_int_equal(pn_shutdown(c, PN_SHUT_WR), 0);
            tp_expect(p, PN_TCP_FIN | PN_TCP_ACK, p->rcv_nxt, p->snd_nxt);
            tp_assert_state(c, PN_TCP_LAST_ACK);
        }
        return c;
    }
    assert_int_equal(pn_shutdown(c, PN_SHUT_WR), 0);
    tp_expect(p, PN_TCP_FIN | PN_TCP_ACK, p->rcv_nxt, p->snd_nxt);
    tp_assert_state(c, PN_TCP_FIN_WAIT_1);
    if (st == PN_TCP_FIN_WAIT_1)
        return c;
    if (st == PN_TCP_CLOSING) {
        /* RFC 9293 §3.5 figure 13: simultaneous close. */
        tp_send(p, PN_TCP_FIN | PN_TCP_ACK, NULL, 0);
        tp_expect(p, PN_TCP_ACK, p->rcv_nxt + 1, p->snd_nxt);
        tp_assert_state(c, PN_TCP_CLOSING);
        return c;
    }
    p->rcv_nxt++; /* B acknowledges A's FIN */
    tp_send(p, PN_TCP_ACK, NULL, 0);
    tp_expect_none(p);
    tp_assert_state(c, PN_TCP_FIN_WAIT_2);
    if (st == PN_TCP_FIN_WAIT_2)
        return c;
    tp_send(p, PN_TCP_FIN | PN_TCP_ACK, NULL, 0);
    tp_expect(p, PN_TCP_ACK, p->rcv_nxt, p->snd_nxt);
    tp_assert_state(c, PN_TCP_TIME_WAIT);
    return c;
}

static enum pn_tcp_state st_of(void **state)
{
    return *(const enum pn_tcp_state *)*state;
}

/* RFC 5961 §3.2 / RFC 9293 §3.10.7.4 "second": a RST whose sequence number is exactly
 * RCV.NXT resets the connection. ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT report "connection
 * reset"; CLOSING, LAST-ACK, TIME-WAIT just enter CLOSED. */
static void test_rst_exact(void **state)
{
    enum pn_tcp_state st = st_of(state);
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, st);
    tp_send_at(&p, PN_TCP_RST, p.snd_nxt, 0, NULL, 0);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_CLOSED);
    bool reported = st == PN_TCP_ESTABLISHED || st == PN_TCP_FIN_WAIT_1 ||
                    st == PN_TCP_FIN_WAIT_2 || st == PN_TCP_CLOSE_WAIT;
    assert_int_equal(tp_so_error(c), reported ? PN_ECONNRESET : 0);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_rst"), 1);
    assert_int_equal(t_stat(p.o.s, "tcp_conn_reset"), reported ? 1 : 0);
    assert_int_equal(t_stat(p.o.s, "tcp_challenge_ack"), 0);
    /* The connection is gone: a further segment is answered as for CLOSED (§3.10.7.1). */
    tp_send_at(&p, PN_TCP_ACK, p.snd_nxt, p.rcv_nxt, NULL, 0);
    tp_expect(&p, PN_TCP_RST, p.rcv_nxt, 0);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 5961 §3.2: a RST in the window but not at RCV.NXT gets a challenge ACK
 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and changes nothing. */
static void test_rst_in_window(void **state)
{
    enum pn_tcp_state st = st_of(state);
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, st);
    tp_send_at(&p, PN_TCP_RST, p.snd_nxt + 1, 0, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, a_nxt(&p, st), p.snd_nxt);
    tp_expect_none(&p);
    tp_assert_state(c, st);
    assert_int_equal(tp_so_error(c), 0);
    tp_send_at(&p, PN_TCP_RST | PN_TCP_ACK, p.snd_nxt + 1000, p.rcv_nxt, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, a_nxt(&p, st), p.snd_nxt);
    tp_assert_state(c, st);
    assert_int_equal(t_stat(p.o.s, "tcp_challenge_ack"), 2);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_rst"), 0);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 5961 §3.2 / RFC 9293 §3.10.7.4 "first": a RST outside the window is dropped silently
 * (no ACK: never answer a RST), on either side of the window. */
static void test_rst_out_of_window(void **state)
{
    enum pn_tcp_state st = st_of(state);
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, st);
    tp_send_at(&p, PN_TCP_RST, p.snd_nxt + 300000, 0, NULL, 0); /* window is 262144 */
    tp_send_at(&p, PN_TCP_RST, p.snd_nxt - 1, 0, NULL, 0);
    tp_send_at(&p, PN_TCP_RST | PN_TCP_ACK, p.snd_nxt - 70000, p.rcv_nxt, NULL, 0);
    tp_expect_none(&p);
    tp_assert_state(c, st);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_out_of_window"), 3);
    assert_int_equal(t_stat(p.o.s, "tcp_challenge_ack"), 0);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_rst"), 0);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 5961 §4.2 (RFC 9293 §3.10.7.4 "fourth"): a SYN in a synchronized state gets a
 * challenge ACK and is dropped; the connection survives. */
static void test_syn_challenge(void **state)
{
    enum pn_tcp_state st = st_of(state);
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, st);
    tp_send_at(&p, PN_TCP_SYN, p.snd_nxt, 0, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, a_nxt(&p, st), p.snd_nxt);
    tp_send_at(&p, PN_TCP_SYN | PN_TCP_ACK, p.snd_nxt + 5, p.rcv_nxt, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, a_nxt(&p, st), p.snd_nxt);
    tp_expect_none(&p);
    tp_assert_state(c, st);
    assert_int_equal(t_stat(p.o.s, "tcp_challenge_ack"), 2);
    assert_int_equal(tp_so_error(c), 0);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.10.7.4 "first": a segment entirely below RCV.NXT (an old duplicate) is
 * answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and its text is not delivered. */
static void test_old_duplicate(void **state)
{
    enum pn_tcp_state st = st_of(state);
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, st);
    uint8_t data[50];
    memset(data, 'x', sizeof(data));
    tp_send_at(&p, PN_TCP_ACK | PN_TCP_PSH, p.snd_nxt - 100, p.rcv_nxt, data, sizeof(data));
    tp_expect(&p, PN_TCP_ACK, a_nxt(&p, st), p.snd_nxt);
    tp_expect_none(&p);
    tp_assert_state(c, st);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_out_of_window"), 1);
    assert_int_equal(tp_info(c).bytes_received, 0);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 7323 §5.3 R1 (PAWS): a segment whose TSval is older than TS.Recent is answered with
 * an ACK and dropped (text not delivered); counted in tcp_rx_paws_rejected. */
static void test_paws(void **state)
{
    enum pn_tcp_state st = st_of(state);
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, st);
    struct pn_tcp_repr r = tp_repr(&p, PN_TCP_ACK | PN_TCP_PSH);
    r.ts_val = TP_B_TS0 - 1;
    tp_inject(&p, &r, "0123456789", 10);
    struct tseg sg = tp_expect(&p, PN_TCP_ACK, a_nxt(&p, st), p.snd_nxt);
    assert_true(sg.r.has_ts);
    assert_int_equal(sg.r.ts_ecr, p.tsval - 2); /* TS.Recent unchanged: B's previous TSval */
    tp_expect_none(&p);
    tp_assert_state(c, st);
    assert_int_equal(t_stat(p.o.s, "tcp_rx_paws_rejected"), 1);
    assert_int_equal(tp_info(c).bytes_received, 0);
    /* RFC 7323 §5.3: a RST is exempt from PAWS; exact RCV.NXT still resets. */
    r = tp_repr(&p, PN_TCP_RST);
    r.ts_val = TP_B_TS0 - 1;
    tp_inject(&p, &r, NULL, 0);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_CLOSED);
    pn_close(c);
    tp_fini(&p);
}

static const enum pn_tcp_state SYNC_STATES[] = {
    PN_TCP_ESTABLISHED, PN_TCP_FIN_WAIT_1, PN_TCP_FIN_WAIT_2, PN_TCP_CLOSE_WAIT,
    PN_TCP_CLOSING,     PN_TCP_LAST_ACK,   PN_TCP_TIME_WAIT,
};

/* ---- FIN handling, RFC 9293 §3.10.7.4 "eighth" ---- */

/* ESTABLISHED + FIN -> CLOSE-WAIT, ACK of the FIN at once; the reader sees end of stream. */
static void test_fin_established(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, PN_TCP_ESTABLISHED);
    tp_send(&p, PN_TCP_FIN | PN_TCP_ACK | PN_TCP_PSH, "bye", 3);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    tp_assert_state(c, PN_TCP_CLOSE_WAIT);
    char buf[16];
    assert_int_equal(pn_recv(c, buf, sizeof(buf), 0), 3);
    assert_memory_equal(buf, "bye", 3);
    assert_int_equal(pn_recv(c, buf, sizeof(buf), 0), 0);
    /* CLOSE-WAIT: our close sends FIN -> LAST-ACK; its ACK -> CLOSED. */
    assert_int_equal(pn_shutdown(c, PN_SHUT_WR), 0);
    tp_expect(&p, PN_TCP_FIN | PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    tp_assert_state(c, PN_TCP_LAST_ACK);
    p.rcv_nxt++;
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_CLOSED);
    assert_int_equal(tp_so_error(c), 0);
    pn_close(c);
    tp_fini(&p);
}

/* FIN-WAIT-1 + FIN that does not acknowledge our FIN -> CLOSING (simultaneous close,
 * RFC 9293 §3.5 figure 13); then the ACK of our FIN -> TIME-WAIT. */
static void test_fin_finwait1(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, PN_TCP_FIN_WAIT_1);
    tp_send(&p, PN_TCP_FIN | PN_TCP_ACK, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt + 1, p.snd_nxt);
    tp_assert_state(c, PN_TCP_CLOSING);
    p.rcv_nxt++;
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_TIME_WAIT);
    pn_close(c);
    tp_fini(&p);
}

/* FIN-WAIT-1 + FIN that also acknowledges our FIN -> TIME-WAIT directly ("If our FIN has
 * been ACKed (perhaps in this segment), then enter TIME-WAIT"). */
static void test_fin_finwait1_with_ack(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, PN_TCP_FIN_WAIT_1);
    p.rcv_nxt++;
    tp_send(&p, PN_TCP_FIN | PN_TCP_ACK, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    tp_assert_state(c, PN_TCP_TIME_WAIT);
    pn_close(c);
    tp_fini(&p);
}

/* FIN-WAIT-1 and FIN-WAIT-2 still receive text (§3.10.7.4 "seventh"); FIN-WAIT-2 + FIN ->
 * TIME-WAIT with the FIN acknowledged. */
static void test_fin_finwait2(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, PN_TCP_FIN_WAIT_2);
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, "abc", 3);
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, "def", 3); /* second segment: ACK now */
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    tp_send(&p, PN_TCP_FIN | PN_TCP_ACK, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_TIME_WAIT);
    char buf[16];
    assert_int_equal(pn_recv(c, buf, sizeof(buf), 0), 6);
    assert_memory_equal(buf, "abcdef", 6);
    assert_int_equal(pn_recv(c, buf, sizeof(buf), 0), 0);
    pn_close(c);
    tp_fini(&p);
}

/* CLOSE-WAIT, CLOSING, LAST-ACK: a retransmitted FIN is re-acknowledged ("eighth": remain in
 * the state) and changes nothing. */
static void test_fin_retransmitted(void **state)
{
    enum pn_tcp_state st = st_of(state);
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, st);
    tp_send_at(&p, PN_TCP_FIN | PN_TCP_ACK, p.snd_nxt - 1, p.rcv_nxt, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, a_nxt(&p, st), p.snd_nxt);
    tp_expect_none(&p);
    tp_assert_state(c, st);
    if (st == PN_TCP_CLOSING || st == PN_TCP_LAST_ACK) {
        /* the ACK of our FIN: CLOSING -> TIME-WAIT, LAST-ACK -> CLOSED */
        p.rcv_nxt++;
        tp_send(&p, PN_TCP_ACK, NULL, 0);
        tp_expect_none(&p);
        tp_assert_state(c, st == PN_TCP_CLOSING ? PN_TCP_TIME_WAIT : PN_TCP_CLOSED);
    }
    pn_close(c);
    tp_fini(&p);
}

/* LAST-ACK after the application closed its handle (an orphan): the ACK of our FIN closes
 * and frees the connection ("fifth", LAST-ACK: "delete the TCB, enter the CLOSED state");
 * a later segment finds no connection and gets a RST (§3.10.7.1). */
static void test_lastack_orphan(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *c = goto_state(&p, PN_TCP_LAST_ACK);
    assert_int_equal(pn_close(c), 0);
    tp_expect_none(&p);
    p.rcv_nxt++;
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect_none(&p);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect(&p, PN_TCP_RST, p.rcv_nxt, 0);
    tp_fini(&p);
}

static struct pn_stack_config msl_config(void)
{
    struct pn_stack_config cfg;
    tp_config(&cfg);
    cfg.tcp_msl_ms = 1000;
    return cfg;
}

/* RFC 9293 §3.6 / §3.10.7.4: TIME-WAIT lasts exactly 2*MSL, then CLOSED. */
static void test_timewait_2msl(void **state)
{
    (void)state;
    struct pn_stack_config cfg = msl_config();
    struct tp p;
    tp_init(&p, &cfg);
    struct pn_socket *c = goto_state(&p, PN_TCP_TIME_WAIT);
    t_one_advance(&p.o, PN_MS(2000) - 1);
    tp_assert_state(c, PN_TCP_TIME_WAIT);
    t_one_advance(&p.o, 1);
    tp_assert_state(c, PN_TCP_CLOSED);
    tp_expect_none(&p);
    assert_int_equal(tp_so_error(c), 0);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.10.7.4 "eighth", TIME-WAIT: "The only thing that can arrive in this state is
 * a retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout." */
static void test_timewait_fin_restarts_2msl(void **state)
{
    (void)state;
    struct pn_stack_config cfg = msl_config();
    struct tp p;
    tp_init(&p, &cfg);
    struct pn_socket *c = goto_state(&p, PN_TCP_TIME_WAIT);
    t_one_advance(&p.o, PN_MS(1500));
    tp_send_at(&p, PN_TCP_FIN | PN_TCP_ACK, p.snd_nxt - 1, p.rcv_nxt, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    tp_expect_none(&p);
    t_one_advance(&p.o, PN_MS(2000) - 1);
    tp_assert_state(c, PN_TCP_TIME_WAIT);
    t_one_advance(&p.o, 1);
    tp_assert_state(c, PN_TCP_CLOSED);
    tp_expect_none(&p);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.10.7.4 "fifth", TIME-WAIT: "The only thing that can arrive in this state is
 * a retransmission of the remote FIN": a bare ACK changes nothing and gets no reply. */
static void test_timewait_ack_ignored(void **state)
{
    (void)state;
    struct pn_stack_config cfg = msl_config();
    struct tp p;
    tp_init(&p, &cfg);
    struct pn_socket *c = goto_state(&p, PN_TCP_TIME_WAIT);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_TIME_WAIT);
    pn_close(c);
    tp_fini(&p);
}

/* RFC 9293 §3.6.1 / RFC 6191: a clearly newer SYN (higher TSval and sequence number) for a
 * TIME-WAIT connection whose port has a listener starts a new incarnation: SYN,ACK. The old
 * connection's handle, still held by the application, must stay valid and read CLOSED. */
static void test_timewait_syn_reopens(void **state)
{
    (void)state;
    struct tp p;
    tp_init(&p, NULL);
    struct pn_socket *l = tp_listen(&p, 8);
    struct pn_socket *c = tp_passive_open(&p, l);
    assert_int_equal(pn_shutdown(c, PN_SHUT_WR), 0);
    tp_expect(&p, PN_TCP_FIN | PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    p.rcv_nxt++;
    tp_send(&p, PN_TCP_FIN | PN_TCP_ACK, NULL, 0);
    tp_expect(&p, PN_TCP_ACK, p.rcv_nxt, p.snd_nxt);
    tp_assert_state(c, PN_TCP_TIME_WAIT);
    p.snd_nxt += 100000;
    uint32_t new_iss = p.snd_nxt;
    tp_syn(&p);
    tp_expect_none(&p);
    tp_assert_state(c, PN_TCP_CLOSED);
    tp_send(&p, PN_TCP_ACK, NULL, 0);
    struct pn_socket *c2;
    assert_int_equal(pn_accept(l, &c2, NULL), 0);
    tp_assert_state(c2, PN_TCP_ESTABLISHED);
    tp_send(&p, PN_TCP_ACK | PN_TCP_PSH, "new", 3);
    char b[8];
    assert_int_equal(pn_recv(c2, b, sizeof(b), 0), 3);
    assert_int_equal(p.snd_nxt, new_iss + 1 + 3);
    pn_close(c);
    pn_close(c2);
    pn_close(l);
    tp_fini(&p);
}

#define ROW(i, name, fn)                                                                           \
    {                                                                                              \
        name "/" #fn, fn, NULL, NULL, (void *)&SYNC_STATES[i]                                      \
    }
#define ALL_STATES(fn)                                                                             \
    ROW(0, "ESTABLISHED", fn), ROW(1, "FIN-WAIT-1", fn), ROW(2, "FIN-WAIT-2", fn),                 \
        ROW(3, "CLOSE-WAIT", fn), ROW(4, "CLOSING", fn), ROW(5, "LAST-ACK", fn),                   \
        ROW(6, "TIME-WAIT", fn)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ALL_STATES(test_rst_exact),
        ALL_STATES(test_rst_in_window),
        ALL_STATES(test_rst_out_of_window),
        ALL_STATES(test_syn_challenge),
        ALL_STATES(test_old_duplicate),
        ALL_STATES(test_paws),
        cmocka_unit_test(test_fin_established),
        cmocka_unit_test(test_fin_finwait1),
        cmocka_unit_test(test_fin_finwait1_with_ack),
        cmocka_unit_test(test_fin_finwait2),
        ROW(3, "CLOSE-WAIT", test_fin_retransmitted),
        ROW(4, "CLOSING", test_fin_retransmitted),
        ROW(5, "LAST-ACK", test_fin_retransmitted),
        cmocka_unit_test(test_lastack_orphan),
        cmocka_unit_test(test_timewait_2msl),
        cmocka_unit_test(test_timewait_fin_restarts_2msl),
        cmocka_unit_test(test_timewait_ack_ignored),
        cmocka_unit_test(test_timewait_syn_reopens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
