/* plebnet/broker.h — the plebnetd lease protocol: fixed-size, versioned request and reply
 * structs spoken over a Unix stream socket. Client: connect -> send request -> recvmsg reply
 * (+ SCM_RIGHTS packet descriptor) -> keep the connection open for as long as the lease lives.
 * Daemon: engine_read -> pnd_request_check -> policy -> parent builds the lease -> reply. */
#ifndef PLEBNET_BROKER_H
#define PLEBNET_BROKER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PN_BROKER_SOCKET "/run/plebnet/plebnetd.sock"
#define PN_BROKER_MAGIC 0x504e4252u /* "PNBR" */
#define PN_BROKER_VERSION 1u
#define PN_BROKER_IFNAMSIZ 16 /* same as the kernel's IFNAMSIZ */

/* Request types. Only one request is accepted per connection. */
enum pn_broker_type {
    PN_BROKER_LEASE = 1, /* ask for a lease; reply carries the descriptor on success */
    PN_BROKER_LIST = 2,  /* root only: list the active leases. The reply's lease_id holds the
                            count n; n struct pn_broker_lease_info records follow. */
};

/* Integers are in host byte order (the socket is local); addresses are network order bytes. */
struct pn_broker_request {
    uint32_t magic;      /* PN_BROKER_MAGIC */
    uint16_t version;    /* PN_BROKER_VERSION */
    uint16_t type;       /* enum pn_broker_type */
    uint32_t flags;      /* must be 0 */
    uint8_t ip[4];       /* wanted IPv4 address; 0.0.0.0 = any address the policy allows */
    uint8_t mac[6];      /* wanted MAC; all zero = the daemon assigns one */
    uint8_t reserved[2]; /* must be 0 */
    char uplink[PN_BROKER_IFNAMSIZ]; /* NUL-padded uplink name; empty = any allowed uplink */
    uint8_t reserved2[24];           /* must be 0 */
};

/* Reply statuses; pn_broker_status_str() names them. */
enum pn_broker_status {
    PN_BROKER_OK = 0,
    PN_BROKER_BAD_REQUEST = 1,    /* wrong length, magic, type, flags or reserved bytes */
    PN_BROKER_BAD_VERSION = 2,    /* version is not PN_BROKER_VERSION */
    PN_BROKER_DENIED = 3,         /* denied by policy (no rule, or address/uplink not allowed) */
    PN_BROKER_ADDR_IN_USE = 4,    /* leased to someone else, the gateway, or a host address */
    PN_BROKER_POOL_EXHAUSTED = 5, /* no free address in any allowed pool */
    PN_BROKER_LIMIT = 6,          /* per-user lease limit reached */
    PN_BROKER_MAC_DENIED = 7,     /* requested MAC not allowed by the MAC policy */
    PN_BROKER_MAC_IN_USE = 8,     /* requested MAC belongs to another lease */
    PN_BROKER_BUSY = 9,           /* too many connections; try again later */
    PN_BROKER_INTERNAL = 10,      /* the daemon failed to build the lease */
    PN_BROKER_STATUS_MAX = 10
};

struct pn_broker_reply {
    uint32_t magic;   /* PN_BROKER_MAGIC */
    uint16_t version; /* PN_BROKER_VERSION */
    uint16_t status;  /* enum pn_broker_status; the fields below are valid only if OK */
    uint32_t lease_id;
    uint32_t ifindex; /* index of the lease's device, inside the lease's own namespace */
    uint8_t ip[4];
    uint8_t gateway[4]; /* 0.0.0.0 = none */
    uint8_t mac[6];
    uint8_t prefix; /* prefix length of the leased network */
    uint8_t reserved;
    uint16_t mtu;
    uint8_t reserved2[2];
    char uplink[PN_BROKER_IFNAMSIZ];
    uint8_t reserved3[20];
};

/* One active lease, as PN_BROKER_LIST reports it (counters from the host-side filters). */
struct pn_broker_lease_info {
    uint32_t magic;   /* PN_BROKER_MAGIC */
    uint16_t version; /* PN_BROKER_VERSION */
    uint16_t reserved;
    uint32_t lease_id, uid, pid;
    uint32_t ifindex; /* host-side device */
    uint8_t ip[4];
    uint8_t mac[6];
    uint8_t reserved2[2];
    char dev[PN_BROKER_IFNAMSIZ]; /* host-side device name */
    char uplink[PN_BROKER_IFNAMSIZ];
    uint64_t from_holder_passed, from_holder_dropped;
    uint64_t to_holder_passed, to_holder_dropped;
};

_Static_assert(sizeof(struct pn_broker_request) == 64, "request is 64 bytes");
_Static_assert(sizeof(struct pn_broker_lease_info) == 104, "lease info is 104 bytes");
_Static_assert(sizeof(struct pn_broker_reply) == 72, "reply is 72 bytes");

/* ---- client side (libplebnet, src/link/broker.c) ---- */

struct pn_link;

/* Asks plebnetd at socket_path (NULL = PN_BROKER_SOCKET) for a lease. `want` may be NULL or
 * carry the wanted ip/mac/uplink (magic, version and type are filled in here). On success
 * *out is an owned link over the leased packet descriptor (its caps.mtu is the lease MTU), and
 * *lease (if not NULL) the daemon's reply: configure the stack's address, prefix, gateway and
 * MAC from it. The lease lives until the link is destroyed.
 * Returns 0; PN_EACCES if the daemon refused (*lease, if given, has the status; err names it);
 * PN_EIO if the daemon cannot be reached; PN_EPROTO on a malformed reply; PN_ENOMEM. */
int pn_link_broker_open(const char *socket_path, const struct pn_broker_request *want,
                        struct pn_broker_reply *lease, struct pn_link **out, char *err,
                        size_t errlen);

/* Asks plebnetd (root only) for its active leases: fills up to max records of out and returns
 * how many leases there are (may exceed max), or PN_EACCES (refused: not root), PN_EIO, or
 * PN_EPROTO; err gets a one-line reason. */
int pn_broker_list(const char *socket_path, struct pn_broker_lease_info *out, int max, char *err,
                   size_t errlen);

/* Human-readable name of a status ("denied by policy", ...); never NULL. */
static inline const char *pn_broker_status_str(unsigned status)
{
    static const char *const names[] = {
        "ok",
        "bad request",
        "unsupported protocol version",
        "denied by policy",
        "address in use",
        "pool exhausted",
        "lease limit reached",
        "MAC address not allowed",
        "MAC address in use",
        "daemon busy",
        "internal error",
    };
    return status <= PN_BROKER_STATUS_MAX ? names[status] : "unknown status";
}

#ifdef __cplusplus
}
#endif
#endif
