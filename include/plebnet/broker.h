/* plebnet/broker.h — the plebnetd lease protocol: fixed-size, versioned request and reply
 * structs spoken over a Unix stream socket. Client: connect -> send request -> recvmsg reply
 * (+ SCM_RIGHTS packet descriptor) -> keep the connection open for as long as the lease lives.
 * Daemon: engine_read -> pnd_request_check -> policy -> parent builds the lease -> reply. */
#ifndef PLEBNET_BROKER_H
#define PLEBNET_BROKER_H

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
};

/* Integers are in host byte order (the socket is local); addresses are network order bytes. */
struct pn_broker_request {
    uint32_t magic;   /* PN_BROKER_MAGIC */
    uint16_t version; /* PN_BROKER_VERSION */
    uint16_t type;    /* enum pn_broker_type */
    uint32_t flags;   /* must be 0 */
    uint8_t ip[4];    /* wanted IPv4 address; 0.0.0.0 = any address the policy allows */
    uint8_t mac[6];   /* wanted MAC; all zero = the daemon assigns one */
    uint8_t reserved[2];               /* must be 0 */
    char uplink[PN_BROKER_IFNAMSIZ];   /* NUL-padded uplink name; empty = any allowed uplink */
    uint8_t reserved2[24];             /* must be 0 */
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
    uint8_t reserved3[16];
};

_Static_assert(sizeof(struct pn_broker_request) == 64, "request is 64 bytes");
_Static_assert(sizeof(struct pn_broker_reply) == 72, "reply is 72 bytes");

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
