/* tools/plebnet/linkspec.h — the one link/interface syntax every subcommand and the
 * environment share: --link, --addr, --gw, --mac, --pcap and PLEBNET_LINK, PLEBNET_ADDR,
 * PLEBNET_GW, PLEBNET_MAC, PLEBNET_PCAP (the command line wins). Call chain: cmd_* getopt ->
 * linkspec_option -> linkspec_finish (environment) -> linkspec_open -> pn_link_*_new. */
#ifndef PLEBNET_LINKSPEC_H
#define PLEBNET_LINKSPEC_H

#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include "plebnet/plebnet.h"

enum linkspec_kind {
    LINKSPEC_NONE = 0, /* no --link given (yet) */
    LINKSPEC_LOOP,     /* in-memory pair: only `plebnet demo` can use it */
    LINKSPEC_VXLAN,    /* vxlan:REMOTE[:PORT][,REMOTE2...][,local=IP[:PORT]][,vni=N][,mtu=N] */
    LINKSPEC_TAP,      /* tap:IFNAME */
    LINKSPEC_BROKER,   /* broker[:SOCKET] */
};

#define LINKSPEC_PATH_MAX 256

struct linkspec {
    enum linkspec_kind kind;
    struct pn_vxlan_config vx;      /* LINKSPEC_VXLAN */
    char ifname[16];                /* LINKSPEC_TAP */
    char broker[LINKSPEC_PATH_MAX]; /* LINKSPEC_BROKER: socket path (default PN_BROKER_SOCKET) */
    bool have_addr, have_gw, have_mac, have_pcap;
    uint32_t addr; /* host order */
    uint8_t prefix_len;
    uint32_t gw;
    struct pn_mac mac;
    char pcap[LINKSPEC_PATH_MAX];
};

/* getopt_long values of the shared options; put LINKSPEC_LONG_OPTIONS in a command's table. */
enum {
    LINKSPEC_OPT_LINK = 0x1001,
    LINKSPEC_OPT_ADDR,
    LINKSPEC_OPT_GW,
    LINKSPEC_OPT_MAC,
    LINKSPEC_OPT_PCAP,
};
/* clang-format off */
#define LINKSPEC_LONG_OPTIONS                                                                      \
    {"link", required_argument, 0, LINKSPEC_OPT_LINK},                                             \
    {"addr", required_argument, 0, LINKSPEC_OPT_ADDR},                                             \
    {"gw", required_argument, 0, LINKSPEC_OPT_GW},                                                 \
    {"mac", required_argument, 0, LINKSPEC_OPT_MAC},                                               \
    {"pcap", required_argument, 0, LINKSPEC_OPT_PCAP}
/* clang-format on */

/* Help text lines for the shared options (for a command's --help). */
extern const char linkspec_help[];

void linkspec_init(struct linkspec *ls);

/* Parses the value of --link into ls (kind and link fields). Returns 0, or -1 with a
 * one-line reason naming the bad part in err ("vxlan: bad vni 'x' ..."). */
int linkspec_parse_link(struct linkspec *ls, const char *s, char *err, size_t errlen);

/* Handles one getopt_long result: returns 1 if opt was a linkspec option and its value was
 * good, 0 if opt is not a linkspec option, -1 on a bad value (err names the option). */
int linkspec_option(struct linkspec *ls, int opt, const char *arg, char *err, size_t errlen);

/* Fills what the command line left unset from PLEBNET_LINK, PLEBNET_ADDR, PLEBNET_GW,
 * PLEBNET_MAC, PLEBNET_PCAP, then checks that a link and an address are known. Returns 0, or
 * -1 with a reason in err (naming the variable when it came from the environment). */
int linkspec_finish(struct linkspec *ls, char *err, size_t errlen);

/* Opens the link (wrapped in a pcap writer when --pcap was given) and fills cfg's interface
 * fields: mac (random locally administered unless --mac), addr, prefix_len, gateway, secret
 * (from getrandom); call pn_stack_config_init(cfg) first, other fields are left alone.
 * Returns 0 and an owned *out (pn_link_destroy it after the stack is freed), or a negative
 * PN_E* with a one-line reason in err. *inner (optional) gets the driver's own link, under
 * any wrapper, for driver calls such as pn_vxlan_get_counters (borrowed from *out). */
int linkspec_open(const struct linkspec *ls, struct pn_link **out, struct pn_stack_config *cfg,
                  char *err, size_t errlen);
int linkspec_open_ex(const struct linkspec *ls, struct pn_link **out, struct pn_link **inner,
                     struct pn_stack_config *cfg, char *err, size_t errlen);

/* A stack on the link a linkspec describes: what ping, nc (and later run) drive. */
struct linkstack {
    struct pn_link *link;   /* owned: the link the stack uses (maybe a pcap wrapper) */
    struct pn_link *inner;  /* borrowed from link: the driver's own link */
    struct pn_stack *stack; /* owned */
};
/* pn_stack_config_init + linkspec_open_ex + pn_stack_new at cli_now(). Returns 0, or a
 * negative PN_E* with a one-line reason in err (nothing left open). */
int linkstack_open(const struct linkspec *ls, struct linkstack *st, char *err, size_t errlen);
void linkstack_close(struct linkstack *st);
/* One turn of a command's event loop: sleeps (ppoll, no spinning) until the link's fd is
 * readable, one of the extra fds (borrowed; revents are filled) is ready, the stack's next
 * deadline, or `until` (cli_now() time; PN_TIME_NEVER for none), then polls the stack at the
 * real clock. Returns the number of extra fds ready (>= 0), or a negative PN_E* if the link
 * failed. Interrupted by a signal it returns 0 after polling the stack. */
int linkstack_wait(struct linkstack *st, uint64_t until, struct pollfd *extra, int nextra);

/* "vxlan", "loop", ... */
const char *linkspec_kind_name(enum linkspec_kind k);

#endif
