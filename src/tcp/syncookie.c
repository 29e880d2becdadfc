/* tcp/syncookie.c — SYN cookies (RFC 4987 §3.6): when a listener's SYN queue is full, the
 * SYN,ACK's ISN encodes a coarse time, an MSS index and a keyed hash of the connection, so
 * the final ACK can rebuild the connection without stored state. With timestamps, window
 * scale and SACK-permitted ride in the low bits of our TSval (echoed back in TSecr).
 * Layout: | t: 5 bits | mss index: 3 bits | SipHash(secret, tuple, peer ISN, t): 24 bits |.
 * Call chain: tcp/input.c listen_input -> pn_syncookie_make / pn_syncookie_check. */
#include "core/stack.h"
#include "tcp/tcp.h"

#define COOKIE_PERIOD_NS PN_SEC(64) /* t advances every 64 s; a cookie lives 64..128 s */

/* Common MSS values (Ethernet, PPPoE, tunnels, jumbo), ascending. */
static const uint16_t mss_table[8] = {536, 1220, 1360, 1400, 1440, 1460, 4312, 8960};

static uint32_t cookie_hash(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                            uint16_t rport, uint32_t peer_seq, uint32_t t)
{
    uint32_t k[5] = {laddr, raddr, (uint32_t)lport << 16 | rport, peer_seq, t};
    uint8_t key[16];
    for (int i = 0; i < 16; i++)
        key[i] = s->cfg.secret[i] ^ 0x5c; /* a key distinct from the ISN and table keys */
    return (uint32_t)pn_siphash(key, k, sizeof(k)) & 0xffffffu;
}

uint32_t pn_syncookie_make(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                           uint16_t rport, uint32_t peer_seq, uint16_t *mss_inout)
{
    uint32_t idx = 0;
    for (uint32_t i = 0; i < 8; i++)
        if (mss_table[i] <= *mss_inout)
            idx = i;
    *mss_inout = mss_table[idx];
    uint32_t t = (uint32_t)(s->now / COOKIE_PERIOD_NS) & 31u;
    return t << 27 | idx << 24 | cookie_hash(s, laddr, lport, raddr, rport, peer_seq, t);
}

uint16_t pn_syncookie_check(struct pn_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                            uint16_t rport, uint32_t peer_seq, uint32_t cookie)
{
    uint32_t now_t = (uint32_t)(s->now / COOKIE_PERIOD_NS);
    uint32_t t = cookie >> 27;
    /* Valid for the current and the previous period only. */
    if (t != (now_t & 31u) && t != ((now_t - 1) & 31u))
        return 0;
    if ((cookie & 0xffffffu) != cookie_hash(s, laddr, lport, raddr, rport, peer_seq, t))
        return 0;
    return mss_table[(cookie >> 24) & 7u];
}

uint32_t pn_syncookie_tsval(uint32_t ts_now, int wscale, bool sack_ok)
{
    uint32_t ws = wscale < 0 ? 0xfu : (uint32_t)wscale & 0xfu;
    uint32_t v = (ts_now & ~0x1fu) | ws << 1 | (sack_ok ? 1u : 0u);
    /* Never ahead of the clock (as Linux's cookie_init_timestamp): the peer keeps this as
     * TS.Recent, and later segments stamped with the real clock would fail PAWS (RFC 7323
     * §5.3) for up to 31 ms. */
    if ((int32_t)(v - ts_now) > 0)
        v -= 0x20u;
    return v;
}

void pn_syncookie_ts_decode(uint32_t tsecr, int *wscale, bool *sack_ok)
{
    uint32_t ws = (tsecr >> 1) & 0xfu;
    *wscale = ws == 0xfu ? -1 : (int)ws;
    *sack_ok = tsecr & 1u;
}
