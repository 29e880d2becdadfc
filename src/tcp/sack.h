/* tcp/sack.h — selective acknowledgments: the receiver's SACK blocks (RFC 2018 §3-4,
 * D-SACK per RFC 2883) and the sender's scoreboard with the RFC 6675 loss-recovery
 * primitives (IsLost, SetPipe, NextSeg). The scoreboard is an array of disjoint, sorted
 * ranges allocated on first use and grown as holes appear (up to PN_SACK_MAX_RANGES), so an
 * idle connection carries none of it; it is freed when recovery forgets it.
 * Call chain: tcp/input.c process_ack -> pn_sack_update -> recovery (tcp/recovery.c);
 * tcp/output.c pn_tcp_send_segment -> pn_sack_rx_blocks. */
#ifndef PN_TCP_SACK_H
#define PN_TCP_SACK_H

#include <stdbool.h>
#include <stdint.h>
#include "wire/tcp.h"

#define PN_SACK_MAX_RANGES 1024u /* a window of ~1000 holes; beyond, forget the highest */
#define PN_SACK_DUPTHRESH 3u /* RFC 6675 §2 DupThresh */

struct pn_sack_range {
    uint32_t left, right; /* [left, right) */
};

/* Sender side: what the peer told us it holds above SND.UNA. */
struct pn_sack_board {
    struct pn_sack_range *r; /* NULL until the first block arrives */
    uint16_t n, cap;
    uint32_t bytes;      /* total SACKed bytes on the board */
    uint32_t high_sacked; /* right edge of the highest range (valid when n > 0) */
};

struct pn_tcb;

/* Records the SACK blocks of an arriving ACK (after SND.UNA moved to `una`). Invalid blocks
 * (outside [una, snd_max], empty, or inverted) are ignored; a first block below the ACK or
 * inside the second is a D-SACK (RFC 2883 §4) and sets *dsack. Returns the number of bytes
 * newly SACKed. */
uint32_t pn_sack_update(struct pn_sack_board *b, const struct pn_tcp_repr *r, uint32_t una,
                        uint32_t snd_max, bool *dsack);
/* Forgets everything below una (SND.UNA advanced). */
void pn_sack_advance(struct pn_sack_board *b, uint32_t una);
/* Forgets everything and frees the ranges (the board must be zeroed or cleared before). */
void pn_sack_clear(struct pn_sack_board *b);
/* Is seq SACKed? */
bool pn_sack_is_sacked(const struct pn_sack_board *b, uint32_t seq);
/* RFC 6675 §4 IsLost(SeqNum): DupThresh discontiguous SACKed ranges above it, or more than
 * (DupThresh - 1) * SMSS bytes SACKed above it. */
bool pn_sack_is_lost(const struct pn_sack_board *b, uint32_t seq, uint32_t mss);
/* RFC 6675 §4 SetPipe: bytes believed in flight between una and snd_max, counting each
 * unSACKed byte once unless it is lost, and once more if it was retransmitted (below
 * high_rxt). */
uint32_t pn_sack_pipe(const struct pn_sack_board *b, uint32_t una, uint32_t snd_max,
                      uint32_t high_rxt, uint32_t mss);
/* RFC 6675 §4 NextSeg rule (1): the first lost, unSACKed range at or above max(high_rxt,
 * una); returns true and its start/length (at most mss, not crossing a SACKed range). */
bool pn_sack_next_lost(const struct pn_sack_board *b, uint32_t una, uint32_t high_rxt,
                       uint32_t mss, uint32_t *seq, uint32_t *len);

/* Receiver side (RFC 2018 §4): up to max blocks describing the out-of-order queue, the
 * block holding the most recently received segment first, preceded by a pending D-SACK. */
unsigned pn_sack_rx_blocks(struct pn_tcb *t, struct pn_tcp_sack_block *out, unsigned max);

#endif
