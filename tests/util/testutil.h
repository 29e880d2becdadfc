/* tests/util/testutil.h — shared test helpers: an "inject link" that lets a test push
 * crafted frames into one stack and collect exactly what it sends, a two-stack pair over
 * the loop link on a virtual clock, and frame builders on top of the wire codecs. */
#ifndef PN_TESTUTIL_H
#define PN_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "plebnet/plebnet.h"
#include "wire/ipv4.h"

/* Well-known test addresses: stack "A" is 10.0.0.1 / 02:00:00:00:00:01, "B" .2 / :02. */
#define T_ADDR_A PN_IP4(10, 0, 0, 1)
#define T_ADDR_B PN_IP4(10, 0, 0, 2)
extern const struct pn_mac T_MAC_A, T_MAC_B, T_MAC_BCAST;

/* A config with prefix /24, a fixed secret, and the given address and MAC. */
void t_config(struct pn_stack_config *cfg, uint32_t addr, const struct pn_mac *mac);

/* ---- inject link ---- */
struct t_link;
/* Creates an inject link with the given MTU (0 = 1500). Its pool is its own. */
struct t_link *t_link_new(uint32_t mtu);
struct pn_link *t_link_base(struct t_link *l);
void t_link_free(struct t_link *l);
/* Copies a frame into the queue the stack will receive on its next poll. */
void t_link_inject(struct t_link *l, const void *frame, size_t len);
/* Number of frames the stack sent that the test has not popped yet. */
unsigned t_link_sent(const struct t_link *l);
/* Pops the oldest sent frame into buf; returns its length, or 0 if none (len > cap fails
 * the test). */
size_t t_link_pop(struct t_link *l, void *buf, size_t cap);
/* Drops every sent frame. */
void t_link_clear(struct t_link *l);

/* A single stack on an inject link, at virtual time t_now. */
struct t_one {
    struct t_link *link;
    struct pn_stack *s;
    uint64_t now;
};
/* Creates stack A (T_ADDR_A/T_MAC_A) with cfg (NULL: t_config defaults) on a fresh inject
 * link at time 1 s, then clears the gratuitous ARP it sends. */
void t_one_init(struct t_one *o, const struct pn_stack_config *cfg);
void t_one_fini(struct t_one *o);
/* Advances virtual time by dt (ns), polling at every deadline on the way. */
void t_one_advance(struct t_one *o, uint64_t dt);
/* Injects a frame and polls once at the current time. */
void t_one_input(struct t_one *o, const void *frame, size_t len);

/* ---- two stacks over the loop link ---- */
struct t_pair {
    struct pn_link *la, *lb;
    struct pn_stack *a, *b;
    uint64_t now;
};
/* A = 10.0.0.1, B = 10.0.0.2 on a loop link with the given MTU (0 = 1500). cfg_a/cfg_b may
 * be NULL for defaults (their addr/MAC are overwritten). */
void t_pair_init(struct t_pair *p, uint32_t mtu, const struct pn_stack_config *cfg_a,
                 const struct pn_stack_config *cfg_b);
void t_pair_fini(struct t_pair *p);
/* Runs both stacks on the virtual clock for dt ns (jumping from deadline to deadline). */
void t_pair_run(struct t_pair *p, uint64_t dt);
/* Runs until cond(arg) is true or max_dt passes; returns whether cond became true. */
int t_pair_run_until(struct t_pair *p, int (*cond)(void *arg), void *arg, uint64_t max_dt);

/* ---- frame builders ---- */
/* Writes Ethernet + IPv4 (20-byte header from ip; payload_len taken from l4len) + l4 into
 * buf; returns the frame length (not padded). */
size_t t_frame_ipv4(void *buf, const struct pn_mac *dst, const struct pn_mac *src,
                    const struct pn_ipv4_repr *ip, const void *l4, size_t l4len);
/* A complete UDP datagram frame with a correct checksum. */
size_t t_frame_udp(void *buf, const struct pn_mac *dst, const struct pn_mac *src, uint32_t saddr,
                   uint32_t daddr, uint16_t sport, uint16_t dport, const void *payload,
                   size_t len);
/* A stats counter by name (fails the test if the name is unknown). */
uint64_t t_stat(const struct pn_stack *s, const char *name);

#endif
