/* pnd.h — plebnetd internals shared by its files: configuration, policy, the fixed-size
 * parent<->engine messages, logging. Call chain: main (plebnetd.c) -> pnd_parent_main ->
 * fork -> pnd_engine_main; the engine asks the parent for kernel work with pnd_imsg_*. */
#ifndef PND_H
#define PND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "plebnet/broker.h"

#define PND_CONF_PATH "/etc/plebnet/plebnetd.conf"
#define PND_IFNAMSIZ 16
#define PND_MAX_UPLINKS 16
#define PND_MAX_POOLS 64
#define PND_MAX_RANGES 32
#define PND_MAX_RULES 256
#define PND_MAX_PEER_GROUPS 256
#define PND_DEV_PREFIX "pnd"  /* host-side devices: "pnd" + 8 hex digits of the lease id */
#define PND_INNER_NAME "eth0" /* the lease's device, alone in its own namespace */

/* ---- configuration (config.c) ---- */

enum pnd_mac_mode {
    PND_MAC_ASSIGN = 0, /* the daemon assigns: prefix bits, then the low bits of the IPv4 address */
    PND_MAC_CLIENT = 1, /* the client may ask for a MAC inside the prefix */
};

struct pnd_range {
    uint32_t first, last; /* host byte order, inclusive */
};

struct pnd_pool {
    char name[32];
    char uplink[PND_IFNAMSIZ];
    struct pnd_range ranges[PND_MAX_RANGES];
    int nranges;
    uint32_t gateway; /* host order; 0 = none */
    uint8_t prefix;   /* 0 = not set (config error) */
    uint16_t mtu;
    enum pnd_mac_mode mac_mode;
    uint8_t mac_prefix[6];
    uint8_t mac_prefix_len;
    int line;
};

enum pnd_rule_kind { PND_RULE_UID, PND_RULE_GID, PND_RULE_ANY };

struct pnd_rule {
    enum pnd_rule_kind kind;
    uint32_t id;
    int pool; /* index into pools */
    int line;
};

struct pnd_config {
    char path[256];
    char socket_path[108];
    char chroot_dir[256];
    char user[32];
    unsigned max_leases_per_user;
    unsigned max_connections;
    unsigned request_timeout_ms;
    char uplinks[PND_MAX_UPLINKS][PND_IFNAMSIZ];
    int nuplinks;
    struct pnd_pool pools[PND_MAX_POOLS];
    int npools;
    struct pnd_rule rules[PND_MAX_RULES];
    int nrules;
};

/* Fills defaults, then parses `path`. Returns 0, or -1 with "path:line: what is wrong" in err. */
int pnd_config_load(const char *path, struct pnd_config *cfg, char *err, size_t errlen);
/* Same, from a string (path is only used in messages). */
int pnd_config_parse(const char *path, const char *text, struct pnd_config *cfg, char *err,
                     size_t errlen);
void pnd_config_defaults(struct pnd_config *cfg);

/* ---- request checks and policy (policy.c): pure functions, no syscalls ---- */

struct pnd_peer {
    uint32_t uid, gid, pid;
    uint32_t groups[PND_MAX_PEER_GROUPS];
    int ngroups;
};

/* One lease the engine knows (pending or active). ip == 0 marks a free slot. */
struct pnd_lease {
    uint32_t id;
    uint32_t uid;
    uint32_t ip; /* host order */
    uint8_t mac[6];
    int pool;
    int conn;    /* engine connection slot, -1 once the client is gone */
    bool active; /* false while the parent is still building it */
};

struct pnd_decision {
    int pool;
    uint32_t ip; /* host order */
    uint8_t mac[6];
};

/* Checks the raw bytes of a request: exact length, magic, version, type, flags, reserved
 * bytes, uplink name. Returns PN_BROKER_OK (and fills *out) or the status to reply with;
 * *why gets a short static reason for the log. */
int pnd_request_check(const void *buf, size_t len, struct pn_broker_request *out, const char **why);

/* Applies the policy to a checked request. `leases`/`nleases` is the engine's table;
 * `skip`/`nskip` lists addresses the parent refused for this request (host addresses).
 * Returns PN_BROKER_OK with *d filled, or the status to reply with. */
int pnd_policy_decide(const struct pnd_config *cfg, const struct pnd_peer *peer,
                      const struct pn_broker_request *req, const struct pnd_lease *leases,
                      size_t nleases, const uint32_t *skip, int nskip, struct pnd_decision *d);

/* ---- parent <-> engine messages: fixed size, over a SOCK_SEQPACKET socketpair ---- */

enum pnd_imsg_type {
    PND_IMSG_CREATE = 1,  /* engine -> parent: build this lease */
    PND_IMSG_RESULT = 2,  /* parent -> engine: status (+ packet socket via SCM_RIGHTS if OK) */
    PND_IMSG_DESTROY = 3, /* engine -> parent: the client is gone, tear the lease down */
    PND_IMSG_LIST = 4,    /* engine -> parent: report every lease (for a root client) */
    PND_IMSG_COUNT = 5,   /* parent -> engine: this many PND_IMSG_INFO follow */
    PND_IMSG_INFO = 6,    /* parent -> engine: one lease and its counters */
};

struct pnd_imsg_hdr {
    uint32_t type;
    uint32_t len; /* whole message, must equal sizeof the type's struct */
};

struct pnd_imsg_create {
    struct pnd_imsg_hdr hdr;
    uint32_t lease_id;
    uint32_t uid, pid;
    uint32_t ip, gateway; /* host order */
    uint8_t mac[6];
    uint8_t prefix;
    uint8_t pad;
    uint16_t mtu;
    uint16_t pad2;
    char uplink[PND_IFNAMSIZ];
};

struct pnd_imsg_result {
    struct pnd_imsg_hdr hdr;
    uint32_t lease_id;
    uint32_t status;  /* enum pn_broker_status */
    uint32_t ifindex; /* inner device index (in the lease namespace) */
};

struct pnd_imsg_destroy {
    struct pnd_imsg_hdr hdr;
    uint32_t lease_id;
};

struct pnd_imsg_list {
    struct pnd_imsg_hdr hdr;
    uint32_t cookie; /* engine connection slot, echoed back */
};

struct pnd_imsg_count {
    struct pnd_imsg_hdr hdr;
    uint32_t cookie;
    uint32_t count;
};

struct pnd_imsg_info {
    struct pnd_imsg_hdr hdr;
    uint32_t cookie;
    uint32_t pad;
    struct pn_broker_lease_info info;
};

/* Sends one message (and fd if >= 0). Returns 0 or -errno. */
int pnd_imsg_send(int sock, const void *msg, size_t len, int fd);
/* Receives one message into buf (cap bytes); *fd gets a passed descriptor or -1.
 * Returns its length, 0 on EOF, -errno on error. Truncated messages are reported as -EMSGSIZE. */
ssize_t pnd_imsg_recv(int sock, void *buf, size_t cap, int *fd);

/* ---- processes ---- */
int pnd_parent_main(const struct pnd_config *cfg, bool foreground);
void pnd_engine_main(const struct pnd_config *cfg, int listen_fd, int parent_fd, uid_t uid,
                     gid_t gid, bool foreground) __attribute__((noreturn));

/* ---- logging (log.c): stderr in the foreground, syslog otherwise ---- */
void pnd_log_init(const char *ident, bool foreground);
void pnd_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pnd_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pnd_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* + strerror */
void pnd_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pnd_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void pnd_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- helpers ---- */
/* "1.2.3.4" for a host-order address, in a static rotating buffer (4 slots). */
const char *pnd_ip_str(uint32_t ip);
/* "02:50:c0:00:02:64" in a static rotating buffer (4 slots). */
const char *pnd_mac_str(const uint8_t mac[6]);

#endif
