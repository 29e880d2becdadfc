/* plebnet/stats.h — per-stack counters. Every dropped packet increments exactly one
 * counter naming why; nothing is printed per packet. The list is an X-macro so the struct,
 * the names and the dump stay in one place. */
#ifndef PLEBNET_STATS_H
#define PLEBNET_STATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PN_STATS_FIELDS(X)                                                                          \
    /* link glue */                                                                                 \
    X(link_rx_frames)                                                                               \
    X(link_tx_frames)                                                                               \
    X(link_tx_errors)           /* frames the link refused */                                      \
    X(pbuf_alloc_failed)        /* buffer pool exhausted when building a packet */                 \
    /* Ethernet */                                                                                  \
    X(eth_rx_truncated)         /* shorter than the 14-byte header */                               \
    X(eth_rx_not_for_us)        /* unicast to another MAC */                                        \
    X(eth_rx_bad_src)           /* source MAC is multicast/broadcast */                             \
    X(eth_rx_vlan)              /* 802.1Q/802.1ad tagged: not supported */                         \
    X(eth_rx_unknown_type)      /* EtherType other than IPv4/ARP (IPv6 included, for now) */      \
    X(eth_rx_oversize)          /* longer than the link MTU allows */                               \
    /* ARP */                                                                                       \
    X(arp_rx)                                                                                       \
    X(arp_rx_malformed)         /* bad htype/ptype/hlen/plen/op or truncated */                     \
    X(arp_rx_not_for_us)        /* request/reply for an address that is not ours */                \
    X(arp_rx_bad_sender)        /* sender is our own, broadcast, multicast or zero MAC/IP */        \
    X(arp_rx_conflict)          /* someone else claims our IP address */                           \
    X(arp_tx_request)                                                                               \
    X(arp_tx_reply)                                                                                 \
    X(arp_tx_gratuitous)                                                                            \
    X(arp_queue_dropped)        /* too many packets waiting for one resolution */                   \
    X(arp_resolve_failed)       /* retries exhausted: queued packets dropped */                     \
    X(arp_cache_full)           /* no free entry and none evictable */                             \
    /* IPv4 */                                                                                      \
    X(ip_rx)                                                                                        \
    X(ip_rx_truncated)                                                                              \
    X(ip_rx_bad_version)                                                                            \
    X(ip_rx_bad_hdr_len)                                                                            \
    X(ip_rx_bad_total_len)                                                                          \
    X(ip_rx_bad_checksum)                                                                           \
    X(ip_rx_bad_options)                                                                            \
    X(ip_rx_bad_frag)           /* offset + length beyond 65535, or MF with odd length */          \
    X(ip_rx_bad_src)            /* martian source: broadcast, multicast, loopback, ours */          \
    X(ip_rx_bad_dst)            /* loopback (127/8) destination from the link */                   \
    X(ip_rx_not_for_us)         /* no forwarding */                                                 \
    X(ip_rx_unknown_proto)                                                                          \
    X(ip_tx)                                                                                        \
    X(ip_tx_no_route)                                                                               \
    X(ip_tx_bad_src)            /* source is not our address */                                     \
    X(ip_tx_too_big)            /* DF set and larger than the MTU */                                \
    X(ip_tx_fragments)                                                                              \
    X(ip_local_tx)              /* datagrams queued for local delivery (own address, 127/8) */     \
    X(ip_local_rx)              /* datagrams taken off the local queue into IPv4 input */          \
    X(ip_local_dropped)         /* local queue full (local_queue_len): datagram dropped */         \
    X(ip_frag_rx)                                                                                   \
    X(ip_reass_ok)                                                                                  \
    X(ip_reass_timeout)                                                                             \
    X(ip_reass_overlap)         /* conflicting overlap: whole datagram dropped */                   \
    X(ip_reass_duplicate)       /* fragment entirely already held: dropped */                       \
    X(ip_reass_mem_dropped)     /* memory bound reached: oldest datagram evicted */                 \
    X(ip_reass_too_big)         /* reassembled length would exceed 65535 */                         \
    /* ICMP */                                                                                      \
    X(icmp_rx)                                                                                      \
    X(icmp_rx_malformed)                                                                            \
    X(icmp_rx_bad_checksum)                                                                         \
    X(icmp_rx_echo_request)                                                                         \
    X(icmp_rx_echo_reply)                                                                           \
    X(icmp_rx_unreach)                                                                              \
    X(icmp_rx_time_exceeded)                                                                        \
    X(icmp_rx_other)                                                                                \
    X(icmp_rx_bcast_ignored)    /* echo/errors to broadcast ignored (RFC 1122 3.2.2.6) */        \
    X(icmp_tx_echo_reply)                                                                           \
    X(icmp_tx_echo_request)                                                                         \
    X(icmp_tx_unreach)                                                                              \
    X(icmp_tx_time_exceeded)                                                                        \
    X(icmp_tx_rate_limited)                                                                         \
    /* UDP */                                                                                       \
    X(udp_rx)                                                                                       \
    X(udp_rx_malformed)                                                                             \
    X(udp_rx_bad_checksum)                                                                          \
    X(udp_rx_no_port)                                                                               \
    X(udp_rx_queue_full)                                                                            \
    X(udp_tx)                                                                                       \
    /* TCP (filled by the TCP layer) */                                                             \
    X(tcp_rx)                                                                                       \
    X(tcp_rx_malformed)                                                                             \
    X(tcp_rx_bad_checksum)                                                                          \
    X(tcp_rx_no_socket)         /* answered with RST (RFC 9293 §3.10.7.1) */                        \
    X(tcp_rx_bad_flags)         /* e.g. SYN+FIN, SYN+RST, or no ACK in a synchronized state */      \
    X(tcp_rx_out_of_window)     /* unacceptable sequence number: ACKed and dropped */              \
    X(tcp_rx_paws_rejected)     /* RFC 7323 §5: old timestamp */                                    \
    X(tcp_rx_ack_invalid)       /* RFC 5961 §5: ACK outside the acceptable range */                \
    X(tcp_rx_ooo)               /* segments queued out of order */                                  \
    X(tcp_rx_ooo_dropped)       /* out-of-order queue at its bound */                               \
    X(tcp_rx_after_close)       /* data after the application closed: RST */                       \
    X(tcp_rx_rst)                                                                                   \
    X(tcp_tx)                                                                                       \
    X(tcp_tx_rst)                                                                                   \
    X(tcp_tx_bytes)             /* payload bytes in segments sent, retransmissions included */     \
    X(tcp_tx_bytes_touched)     /* payload bytes copied or summed on the send path (issue #4) */   \
    X(tcp_challenge_ack)        /* RFC 5961 */                                                      \
    X(tcp_challenge_ack_limited)                                                                    \
    X(tcp_retransmits)          /* segments retransmitted */                                        \
    X(tcp_rto)                  /* retransmission timeouts */                                       \
    X(tcp_fast_retransmit)                                                                          \
    X(tcp_spurious_undo)        /* RFC 3522/4015: a retransmission proved needless, undone */     \
    X(tcp_tlp_probes)           /* RFC 8985 §7: tail loss probes sent */                           \
    X(tcp_lost_retransmits)     /* a retransmission proven lost by later SACKs, resent */          \
    X(tcp_tlp_recoveries)       /* ... whose retransmission repaired a loss */                    \
    X(tcp_active_opens)                                                                             \
    X(tcp_passive_opens)                                                                            \
    X(tcp_listen_overflow)      /* accept queue full: handshake dropped */                          \
    X(tcp_syncookies_sent)                                                                          \
    X(tcp_syncookies_ok)                                                                            \
    X(tcp_syncookies_failed)                                                                        \
    X(tcp_timeouts)             /* connections aborted by retransmission/user/keepalive timeout */  \
    X(tcp_timewait_overflow)    /* TIME-WAIT skipped: tcp_max_timewait connections already in it */\
    X(tcp_keepalive_probes)                                                                         \
    X(tcp_persist_probes)                                                                           \
    X(tcp_conn_reset)           /* connections reset by the peer */

struct pn_stats {
#define PN_STATS_X_(name) uint64_t name;
    PN_STATS_FIELDS(PN_STATS_X_)
#undef PN_STATS_X_
};

/* Number of counters and their names, in struct order. */
extern const unsigned pn_stats_count;
extern const char *const pn_stats_names[];
/* Value of counter i (0 <= i < pn_stats_count). */
uint64_t pn_stats_get(const struct pn_stats *s, unsigned i);

#ifdef __cplusplus
}
#endif
#endif
