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
 * I/O: PACKET_VNET_HDR (64 KiB TCP segments out, coalesced frames in) when the kernel allows
 * it; recvmsg, and one sendmmsg per burst. The environment variable
 * PLEBNET_BROKER_IO=plain|rxring|ring, optionally followed by ",novnet", picks another mode:
 * plain is the default, rxring a TPACKET_V3 RX ring, ring TPACKET_V3 RX and TX rings; a ring
 * that cannot be set up falls back to plain (counted). The default was chosen by measurement:
 * see docs/BENCHMARKS.md (lease section).
 * Returns 0; PN_EACCES if the daemon refused (*lease, if given, has the status; err names it);
 * PN_EIO if the daemon cannot be reached; PN_EPROTO on a malformed reply; PN_ENOMEM. */
int pn_link_broker_open(const char *socket_path, const struct pn_broker_request *want,
                        struct pn_broker_reply *lease, struct pn_link **out, char *err,
                        size_t errlen);

/* How the broker link moves frames (PLEBNET_BROKER_IO may lower it; see pn_link_broker_open).
 * Bits of pn_broker_link_stats.mode. */
#define PN_BROKER_IO_RING 0x1u   /* TPACKET_V3 RX ring mapped (else recvmsg) */
#define PN_BROKER_IO_VNET 0x2u   /* PACKET_VNET_HDR: 64 KiB TCP segments out, coalesced in */
#define PN_BROKER_IO_TXRING 0x4u /* TPACKET_V3 TX ring too (else one sendmmsg per burst) */

/* Counters of one broker link beyond the generic pn_link_counters. */
struct pn_broker_link_stats {
    uint32_t mode;           /* PN_BROKER_IO_* in use */
    int32_t ring_error;      /* errno of the failed ring setup step (0 = none) */
    uint64_t ring_fallbacks; /* ring setup failed: plain recvmsg/sendmmsg used instead */
    uint64_t rx_blocks;      /* RX ring blocks consumed and handed back */
    uint64_t rx_coalesced;   /* frames received larger than the MTU (kernel GSO/GRO) */
    uint64_t rx_vlan;        /* dropped: the kernel had stripped an 802.1Q tag */
    uint64_t rx_truncated;   /* dropped: frame longer than what was captured or than 64 KiB */
    uint64_t rx_bad_vnet;    /* dropped: unusable virtio_net_hdr */
    uint64_t rx_no_buffer;   /* frames left in the kernel because the pool was empty */
    uint64_t tx_large;       /* large TCP segments handed to the kernel with gso_size */
    uint64_t tx_bad_large;   /* dropped: a large frame that is not a plain IPv4 TCP segment */
    uint64_t tx_ring_full;   /* dropped: every TX ring slot still owned by the kernel */
    uint64_t tx_rejected;    /* frames the kernel refused (TP_STATUS_WRONG_FORMAT, send errors) */
    uint64_t tx_sends;       /* send()/sendmmsg() calls: one per burst */
};

/* Fills *out for a link made by pn_link_broker_open. Returns 0, or PN_EINVAL if l is not a
 * broker link. */
int pn_link_broker_stats(const struct pn_link *l, struct pn_broker_link_stats *out);

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
