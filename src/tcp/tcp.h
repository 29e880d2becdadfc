/* tcp/tcp.h — the TCP layer's internal state and entry points (RFC 9293). One struct
 * pn_tcb per connection (embedding its socket handle), a keyed 4-tuple hash table, a
 * listener table, and the input / output / timer / congestion-control pieces.
 * Call chain: pn_ipv4_input -> pn_tcp_input (input.c) -> state machine -> pn_tcp_output
 * (output.c) -> pn_ipv4_output; timers (timers.c) -> output; socket.c <- public API. */
#ifndef PN_TCP_TCP_H
#define PN_TCP_TCP_H

#include <stdbool.h>
#include <stdint.h>
#include "plebnet/pbuf.h"
#include "plebnet/socket.h"
#include "core/timer.h"
#include "socket/socket.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "tcp/cc/cc.h"
#include "tcp/sack.h"

struct pn_stack;

/* Sequence-number comparisons modulo 2^32 (RFC 9293 §3.4). */
static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

#define PN_TCP_DEFAULT_MSS 536u   /* RFC 9293 §3.7.1: assumed when no MSS option arrives */
#define PN_TCP_MAX_WSCALE 14u     /* RFC 7323 §2.3 */
#define PN_TCP_OOO_MAX_SEGS 512u  /* out-of-order queue bound, in segments */

enum {
    TF_ACK_NOW = 1u << 0,     /* send an ACK at the next output */
    TF_DELACK = 1u << 1,      /* an ACK is owed; the delayed-ACK timer runs */
    TF_FIN_QUEUED = 1u << 2,  /* the application shut down writing: FIN after the data */
    TF_FIN_SENT = 1u << 3,    /* our FIN has been sent (its sequence number is fin_seq) */
    TF_FIN_RCVD = 1u << 4,    /* the peer's FIN has been processed */
    TF_NODELAY = 1u << 5,
    TF_KEEPALIVE = 1u << 6,
    TF_PASSIVE = 1u << 7,     /* created by a listener */
    TF_ORPHAN = 1u << 8,      /* the application closed its handle; free when CLOSED */
    TF_RD_SHUT = 1u << 9,     /* shutdown(SHUT_RD): further data is discarded */
    TF_IN_RECOVERY = 1u << 10, /* NewReno fast recovery (RFC 6582) */
    TF_RTT_TIMING = 1u << 11, /* rtt_seq is being timed (no timestamps) */
    TF_LINGER = 1u << 12,
    TF_WND_UPDATE = 1u << 13, /* a window update is worth sending */
    TF_RST_ON_CLOSE = 1u << 14,
    TF_APP_CLOSED = 1u << 15,  /* the application called close: data now gets a RST */
    TF_SYNCOOKIE_TS = 1u << 16, /* a stateless SYN,ACK: encode options in the timestamp */
    TF_CORK = 1u << 17,        /* hold partial segments (PN_MSG_MORE) */
    TF_BOUND_EXPLICIT = 1u << 18, /* the application bound the port: not shareable */
    TF_RCVBUF_LOCK = 1u << 19, /* SO_RCVBUF set by the application: no auto-tuning */
    TF_SNDBUF_LOCK = 1u << 20, /* SO_SNDBUF likewise */
};

struct pn_tcb {
    struct pn_socket sk;          /* must be first: local/remote endpoints, events, errors */
    enum pn_tcp_state state;
    uint32_t flags;               /* TF_* */
    struct pn_tcb *hnext;         /* 4-tuple hash chain (or listener chain) */
    uint32_t hash;
    bool hash_linked;             /* in the 4-tuple table */
    bool tw_counted;              /* counted in the stack's TIME-WAIT total */

    /* listener side */
    struct pn_tcb *parent;        /* listener of an embryonic/unaccepted connection */
    struct pn_tcb *aq_next;       /* accept queue link (on the listener's queue) */
    struct pn_tcb *aq_head, *aq_tail; /* listener: established, not yet accepted */
    uint32_t aq_len, backlog, syn_len; /* listener: accept queue, bound, embryonic count */

    /* send sequence space (RFC 9293 §3.3.1) */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
    uint32_t snd_wnd;             /* scaled */
    uint32_t max_snd_wnd;         /* largest window the peer offered (SWS, RFC 5961 §5) */
    uint32_t fin_seq;
    /* receive sequence space */
    uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge we advertised */
    uint8_t snd_wscale, rcv_wscale;
    bool ws_ok, ts_ok, sack_ok;
    uint16_t mss;                 /* effective send MSS (payload bytes, options excluded) */
    uint16_t peer_mss, adv_mss;
    uint16_t user_mss;            /* PN_TCP_MAXSEG, 0 = none */
    uint16_t gso;                 /* output: gso_size for the segment being built */
    /* timestamps (RFC 7323) */
    uint32_t ts_recent, ts_offset;
    uint32_t ts_at_rto;           /* our TSval when the last retransmission timeout fired */
    bool ts_rto_valid;
    uint64_t ts_recent_time;
    uint32_t last_ack_sent;

    /* send queue (sndq.c): the bytes from snd_una on, in pbufs of up to one segment each,
     * sq.bytes of them; sq_hint is a pbuf of it whose first byte is sq_hint_off past
     * snd_una (where the last lookup ended), or NULL */
    struct pn_pbuf_queue sq;
    struct pn_pbuf *sq_hint;
    uint32_t sq_hint_off;
    uint32_t sndbuf_limit;
    /* receive side: in-order data (pbufs, data = payload) and the out-of-order queue
     * (sorted by sequence; pbuf->user = sequence number of data[0]) */
    struct pn_pbuf_queue rq;
    uint32_t rq_off;              /* bytes of rq.head already read */
    struct pn_pbuf_queue ooo;
    bool ooo_fin;                 /* a FIN was seen beyond a hole */
    uint32_t ooo_fin_seq;
    uint32_t rcvbuf_limit;
    /* receive-buffer auto-tuning (dynamic right-sizing) */
    uint32_t rcv_rtt_us;          /* receiver's RTT estimate from echoed timestamps */
    uint64_t drs_time;            /* start of the current measurement interval */
    uint64_t drs_copied;          /* bytes the application read in it */
    uint32_t segs_since_ack;      /* full-sized segments received since our last ACK */
    uint32_t quickacks;           /* data segments still to be ACKed at once */

    /* RTT estimation (RFC 6298), microseconds */
    uint32_t srtt_us, rttvar_us, rto_us;
    uint32_t rtt_seq;
    uint64_t rtt_start;
    uint8_t backoff;              /* consecutive RTOs */
    uint8_t dupacks;
    uint32_t recover;             /* RecoveryPoint: highest sequence sent when recovery began */
    /* SACK (RFC 2018/6675) and PRR (RFC 6937) */
    struct pn_sack_board sb;      /* sender: what the peer holds above snd_una */
    uint32_t high_rxt;            /* RFC 6675 HighRxt */
    uint32_t prr_delivered, prr_out, recover_fs;
    uint32_t rxt_una_mark;        /* SND.MAX when SND.UNA was last retransmitted */
    bool rxt_una_valid;
    /* spurious retransmission undo (RFC 3522 detection, RFC 4015 response) */
    uint32_t undo_cwnd, undo_ssthresh; /* before the reduction */
    uint32_t undo_tsval;          /* our TSval on the first retransmission of the episode */
    uint32_t undo_seq;            /* SND.UNA when the episode began */
    bool undo_armed, undo_after_rto;
    uint32_t sack_last;           /* receiver: start of the latest out-of-order segment */
    uint32_t dsack_left, dsack_right;
    bool dsack_pending;           /* report [dsack_left, dsack_right) in the next ACK */
    uint32_t dsacks_seen;

    /* congestion control */
    uint32_t cwnd, ssthresh;
    const struct pn_cc_ops *cc;
    union pn_cc_state cc_state;

    /* timers */
    struct pn_timer rexmt_timer;  /* retransmission, persist, or SYN retries */
    struct pn_timer delack_timer;
    struct pn_timer keep_timer;   /* keepalive, or TIME-WAIT / FIN-WAIT-2 expiry */
    bool persist;                 /* rexmt_timer is running as the persist timer */
    bool tlp_armed;               /* rexmt_timer is running as the loss-probe timer (PTO) */
    bool tlp_out, tlp_retrans;    /* a probe is outstanding; it was a retransmission */
    uint32_t tlp_high_seq;        /* SND.MAX when the probe went out */
    uint32_t tlp_dsacks;          /* dsacks_seen when the probe went out */
    uint64_t last_rx;             /* time of the last segment received (keepalive) */
    uint64_t rexmt_since;         /* when the oldest unacked data was first sent (user timeout) */
    uint64_t persist_since;       /* when the current persist episode began (user timeout) */
    uint8_t keep_probes;

    /* options */
    uint32_t keep_idle_s, keep_intvl_s, keep_cnt;
    uint32_t user_timeout_ms;
    int linger_s;

    int soft_error;               /* last ICMP error, reported if the connection times out */
    /* info */
    uint64_t total_retrans, bytes_acked, bytes_received, segs_in, segs_out;
};

/* ---- tables and lifecycle (tcp/table.c) ---- */
struct pn_tcp_table {
    struct pn_tcb **buckets;      /* connections by 4-tuple */
    uint32_t nbuckets, count;
    struct pn_tcb **lbuckets;     /* listeners by local port */
    uint32_t nlbuckets;
    uint32_t ports_nbuckets;      /* bound ports (ports[]) */
    uint32_t ports_count;
    uint16_t *xports;             /* explicit binds (and listeners) per port; NULL until one */
    struct pn_tcb **ports;        /* every bound, non-listening socket by local port */
    struct pn_tcb *last;          /* one-entry lookup cache (cleared when it leaves) */
    uint64_t chack_tokens;        /* challenge ACK bucket, scaled by 1000 */
    uint64_t cookie_sent_at;      /* time of the last SYN cookie sent (0 = never) */
    uint32_t timewait;            /* connections in TIME-WAIT */
    uint64_t chack_last;
};
int pn_tcp_init(struct pn_stack *s);
void pn_tcp_fini(struct pn_stack *s);
struct pn_tcb *pn_tcp_lookup(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                             uint16_t rport);
struct pn_tcb *pn_tcp_lookup_listener(struct pn_stack *s, uint32_t laddr, uint16_t lport);
void pn_tcp_hash_insert(struct pn_stack *s, struct pn_tcb *t);
void pn_tcp_hash_remove(struct pn_stack *s, struct pn_tcb *t);
void pn_tcp_listen_insert(struct pn_stack *s, struct pn_tcb *t);
void pn_tcp_listen_remove(struct pn_stack *s, struct pn_tcb *t);
/* Is local port `port` in use by any TCP socket (bound, listening or connected)? */
bool pn_tcp_port_in_use(struct pn_stack *s, uint16_t port);
void pn_tcp_port_insert(struct pn_stack *s, struct pn_tcb *t);
void pn_tcp_port_remove(struct pn_stack *s, struct pn_tcb *t);
/* RFC 6056 §3.3.3 (Algorithm 3): an ephemeral port for a connection to (raddr, rport), or 0. */
uint16_t pn_tcp_ephemeral_port(struct pn_stack *s, uint32_t laddr, uint32_t raddr,
                               uint16_t rport);
/* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey). */
uint32_t pn_tcp_isn(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                    uint16_t rport);
/* RFC 7323 §5.4 / RFC 6191: the timestamp clock offset, a keyed hash of the 4-tuple. */
uint32_t pn_tcp_ts_offset(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                          uint16_t rport);
/* A new, unattached TCB with defaults from the stack (CLOSED). NULL on allocation failure. */
struct pn_tcb *pn_tcb_new(struct pn_stack *s);
/* Moves t to CLOSED: cancels timers, unhashes, frees buffers; reports err (0 = none) to the
 * application; frees t if the application had already closed it. */
void pn_tcp_close_tcb(struct pn_stack *s, struct pn_tcb *t, int err);
void pn_tcp_set_state(struct pn_tcb *t, enum pn_tcp_state st);
/* RFC 5961 §7: may a challenge ACK be sent now? (per-stack token bucket) */
bool pn_tcp_challenge_allowed(struct pn_stack *s);

/* ---- input (tcp/input.c) ---- */
/* Consumes pkt (data = TCP header; ip parsed). */
void pn_tcp_input(struct pn_stack *s, struct pn_pbuf *pkt, const struct pn_ipv4_repr *ip);
/* An ICMP error about a segment we sent (RFC 1122 §4.2.3.9, RFC 5927). */
void pn_tcp_icmp_error(struct pn_stack *s, const struct pn_ipv4_repr *inner, const uint8_t *l4,
                       size_t l4len, uint8_t type, uint8_t code);

/* The MSS we announce: the interface MTU less 40, or PN_TCP_MAXSEG if smaller (RFC 9293
 * §3.7.1; socket.c). */
uint16_t pn_tcp_adv_mss(const struct pn_stack *s, const struct pn_tcb *t);
/* The effective send MSS from the peer's MSS, our MTU and options (input.c). */
void pn_tcp_set_mss(struct pn_stack *s, struct pn_tcb *t);
/* Window scale to request so that rcvbuf fits in the 16-bit field (RFC 7323 §2.3). */
uint8_t pn_tcp_pick_wscale(uint32_t rcvbuf);
/* The scale for a new connection: room for the largest buffer auto-tuning may reach. */
uint8_t pn_tcp_conn_wscale(const struct pn_stack *s, const struct pn_tcb *t);
/* Auto-tuning (socket.c): the application read n bytes / cwnd may have grown. */
void pn_tcp_autotune_read(struct pn_stack *s, struct pn_tcb *t, uint32_t n);
void pn_tcp_autotune_send(struct pn_stack *s, struct pn_tcb *t);
/* Adds an embryonic child to its listener (socket.c). */
void pn_tcp_child_add(struct pn_tcb *listener, struct pn_tcb *child);

/* ---- loss recovery (tcp/recovery.c) ---- */
/* Enters fast retransmit/recovery (RFC 6675 with SACK, else RFC 6582). */
/* `delivered` is the DeliveredData of the ACK that triggers it (RFC 6937 §3). */
void pn_tcp_recovery_enter(struct pn_stack *s, struct pn_tcb *t, uint32_t delivered);
/* An ACK arrived during recovery (SND.UNA already advanced by `acked`). */
void pn_tcp_recovery_ack(struct pn_stack *s, struct pn_tcb *t, uint32_t acked,
                         uint32_t newly_sacked);
/* Before a loss response: remember what to restore if it proves spurious. */
void pn_tcp_undo_prepare(struct pn_stack *s, struct pn_tcb *t, bool rto);
/* On an ACK that advanced SND.UNA: Eifel detection (RFC 3522 §3.2) and undo. */
void pn_tcp_undo_check(struct pn_stack *s, struct pn_tcb *t, const struct pn_tcp_repr *r);
/* RFC 3042: one new segment for each of the first two duplicate ACKs. */
void pn_tcp_limited_transmit(struct pn_stack *s, struct pn_tcb *t);
/* Bytes in flight for the congestion window check: RFC 6675 pipe in SACK recovery. */
uint32_t pn_tcp_pipe(const struct pn_tcb *t);

/* ---- output (tcp/output.c) ---- */
/* Retransmits [seq, seq+len) from the send buffer (and the FIN if it ends there); returns
 * the sequence space sent (recovery.c). */
uint32_t pn_tcp_send_range(struct pn_stack *s, struct pn_tcb *t, uint32_t seq, uint32_t len);
/* Retransmits the first unacknowledged segment (fast retransmit, partial ACK, RTO). */
void pn_tcp_retransmit_first(struct pn_stack *s, struct pn_tcb *t);
/* Sends whatever the state allows: data, FIN, SYN, ACKs, window updates. */
void pn_tcp_output(struct pn_stack *s, struct pn_tcb *t);
/* Sends one segment with the given flags at sequence seq carrying len bytes from the send
 * buffer at offset `off` from snd_una. Returns 0 or a PN_E* code. */
int pn_tcp_send_segment(struct pn_stack *s, struct pn_tcb *t, uint32_t seq, uint8_t flags,
                        uint32_t off, uint32_t len);
/* A pure ACK now. */
void pn_tcp_send_ack(struct pn_stack *s, struct pn_tcb *t);
/* A RST (or RST+ACK) in reply to a segment, with no TCB (RFC 9293 §3.10.7.1). */
void pn_tcp_send_reset(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                       uint16_t rport, uint32_t seq, uint32_t ack, bool with_ack);
/* The window to advertise now (unscaled bytes), applying receiver SWS avoidance. */
uint32_t pn_tcp_rcv_window(struct pn_tcb *t);
/* Our timestamp clock (ms) for this connection. */
uint32_t pn_tcp_ts_now(const struct pn_stack *s, const struct pn_tcb *t);
/* Space in the receive buffer (bytes). */
uint32_t pn_tcp_rcv_space(const struct pn_tcb *t);

/* ---- timers (tcp/timers.c) ---- */
void pn_tcp_timers_init(struct pn_tcb *t);
void pn_tcp_timers_cancel(struct pn_stack *s, struct pn_tcb *t);
/* (Re)starts the retransmission timer for the current RTO (with backoff). */
void pn_tcp_rexmt_arm(struct pn_stack *s, struct pn_tcb *t);
void pn_tcp_rexmt_stop(struct pn_stack *s, struct pn_tcb *t);
void pn_tcp_persist_arm(struct pn_stack *s, struct pn_tcb *t);
/* With data in flight: the tail loss probe timer if RFC 8985 §7.2 allows, else the RTO. */
void pn_tcp_rexmt_or_probe_arm(struct pn_stack *s, struct pn_tcb *t);
/* An ACK arrived: settle an outstanding probe (RFC 8985 §7.4). */
void pn_tcp_tlp_ack(struct pn_stack *s, struct pn_tcb *t, uint32_t ack);
void pn_tcp_delack_arm(struct pn_stack *s, struct pn_tcb *t);
void pn_tcp_keepalive_reset(struct pn_stack *s, struct pn_tcb *t);
void pn_tcp_timewait_arm(struct pn_stack *s, struct pn_tcb *t);
/* An orphaned FIN-WAIT-2 connection is given up after this long (Linux: tcp_fin_timeout). */
void pn_tcp_finwait2_arm(struct pn_stack *s, struct pn_tcb *t);
/* RFC 6298 §2: a new RTT sample (microseconds). */
void pn_tcp_rtt_sample(struct pn_tcb *t, uint32_t rtt_us, const struct pn_stack *s);

/* ---- send queue (tcp/sndq.c) ---- */
/* The largest segment output builds (one MSS, or many on a link taking large frames). */
uint32_t pn_tcp_max_seg(const struct pn_stack *s, const struct pn_tcb *t);
/* Copies up to n bytes from buf to the queue's tail, summing them in the same pass; returns
 * how many were queued (fewer only when no pbuf could be allocated). */
uint32_t pn_tcp_sq_append(struct pn_stack *s, struct pn_tcb *t, const uint8_t *buf, uint32_t n);
/* Bytes from `off` (past snd_una) to the end of the queued pbuf holding it (0: none). */
uint32_t pn_tcp_sq_run(struct pn_tcb *t, uint32_t off);
/* Drops the first n bytes (acknowledged). */
void pn_tcp_sq_drop(struct pn_tcb *t, uint32_t n);
/* Frees the whole queue. */
void pn_tcp_sq_purge(struct pn_tcb *t);
/* Returns an owned pbuf whose data is hlen bytes of room for the TCP header followed by the
 * queued bytes [off, off+len), with *psum their ones'-complement sum; NULL when out of
 * buffers or the range lies outside the queue. A clone of a queued pbuf when possible. */
struct pn_pbuf *pn_tcp_sq_segment(struct pn_stack *s, struct pn_tcb *t, uint32_t off, uint32_t len,
                                  uint32_t hlen, uint32_t *psum);

/* ---- socket glue (tcp/socket.c) ---- */
int pn_tcp_socket_new(struct pn_stack *s, struct pn_socket **out);
/* Readiness recomputed from the state and buffers; raises the changes. */
void pn_tcp_update_events(struct pn_tcb *t);
/* A connection on a listener's queue completed its handshake. */
void pn_tcp_accept_ready(struct pn_tcb *listener, struct pn_tcb *child);

/* ---- SYN cookies (tcp/syncookie.c), RFC 4987 §3.6 ---- */
/* The cookie ISN for a SYN, encoding the MSS index; with timestamps the returned tsval low
 * bits carry wscale and SACK-permitted. */
uint32_t pn_syncookie_make(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                           uint16_t rport, uint32_t peer_seq, uint16_t *mss_inout);
/* Checks ack-1 as a cookie; returns the MSS it encodes, or 0 if invalid or expired. */
uint16_t pn_syncookie_check(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                            uint16_t rport, uint32_t peer_seq, uint32_t cookie);
/* Timestamp value carrying (wscale, sack_ok) in its low 5 bits, and its decoder. */
uint32_t pn_syncookie_tsval(uint32_t ts_now, int wscale, bool sack_ok);
void pn_syncookie_ts_decode(uint32_t tsecr, int *wscale, bool *sack_ok);

#endif
