/* engine.c — the unprivileged half of plebnetd: accepts clients, identifies them with
 * SO_PEERCRED, checks every request byte, applies the policy and asks the parent for leases.
 * Call chain: pnd_parent_main -> fork -> pnd_engine_main -> drop_privileges -> engine_loop ->
 * conn_read -> conn_request -> parent CREATE; parent RESULT -> handle_result -> reply. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "pnd.h"

#define MAX_SKIP 8 /* host addresses the parent refused for one automatic request */

enum conn_state { C_FREE, C_READING, C_PENDING, C_LEASED, C_LISTING };

struct conn {
    enum conn_state state;
    int fd;
    struct pnd_peer peer;
    uint8_t buf[128];
    size_t off;
    uint64_t deadline;
    int lease; /* index into leases, or -1 */
    struct pn_broker_request req;
    uint32_t skip[MAX_SKIP];
    int nskip;
    uint16_t gen;       /* bumped per accepted client: tells stale list answers apart */
    uint32_t list_left; /* C_LISTING: records still to forward */
};

struct engine {
    const struct pnd_config *cfg;
    int lfd, parent;
    struct conn *conns;
    struct pnd_lease *leases; /* same size as conns; ip == 0 marks a free slot */
    size_t n;
    uint32_t next_id;
    struct pollfd *pfd;
    uint64_t log_window;
    unsigned log_count, log_dropped;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Rejections are logged, but at most 20 lines a second so a flood cannot fill the log. */
static bool log_allowed(struct engine *E)
{
    uint64_t now = now_ms();
    if (now - E->log_window >= 1000) {
        if (E->log_dropped)
            pnd_log_info("%u rejected requests not logged", E->log_dropped);
        E->log_window = now;
        E->log_count = E->log_dropped = 0;
    }
    if (E->log_count++ < 20)
        return true;
    E->log_dropped++;
    return false;
}

/* ---- privilege drop: chroot, user, no_new_privs, seccomp ---- */

static void install_seccomp(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        pnd_fatalx("%s: seccomp_init failed", __func__);
    static const int allow[] = {
        SCMP_SYS(read),         SCMP_SYS(write),      SCMP_SYS(writev),
        SCMP_SYS(recvfrom),     SCMP_SYS(recvmsg),    SCMP_SYS(sendto),
        SCMP_SYS(sendmsg),      SCMP_SYS(poll),       SCMP_SYS(ppoll),
        SCMP_SYS(accept4),      SCMP_SYS(close),      SCMP_SYS(getsockopt),
        SCMP_SYS(shutdown),     SCMP_SYS(fcntl),      SCMP_SYS(clock_gettime),
        SCMP_SYS(gettimeofday), SCMP_SYS(getpid),     SCMP_SYS(brk),
        SCMP_SYS(mmap),         SCMP_SYS(munmap),     SCMP_SYS(mremap),
        SCMP_SYS(madvise),      SCMP_SYS(exit),       SCMP_SYS(exit_group),
        SCMP_SYS(rt_sigreturn), SCMP_SYS(newfstatat), SCMP_SYS(fstat),
        SCMP_SYS(connect),      SCMP_SYS(getrandom),  SCMP_SYS(rt_sigprocmask),
    };
    for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
        if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0) < 0)
            pnd_fatalx("%s: seccomp_rule_add %d failed", __func__, allow[i]);
    /* syslog(3) may try to reconnect; let it fail instead of killing us. */
    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0);
    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
    if (seccomp_load(ctx) < 0)
        pnd_fatalx("%s: seccomp_load failed", __func__);
    seccomp_release(ctx);
}

static void drop_privileges(const struct pnd_config *cfg, uid_t uid, gid_t gid)
{
    if (chroot(cfg->chroot_dir) < 0 || chdir("/") < 0)
        pnd_fatal("%s: chroot %s", __func__, cfg->chroot_dir);
    if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        pnd_fatal("%s: cannot drop to uid %u", __func__, (unsigned)uid);
    if (setuid(0) == 0)
        pnd_fatalx("%s: could regain root after dropping it", __func__);
    /* The parent-death signal is cleared by the credential change: set it again. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
        prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0)
        pnd_fatal("%s: prctl", __func__);
    install_seccomp();
}

/* ---- replies ---- */

static int send_reply(int fd, uint16_t status, const struct pnd_lease *l,
                      const struct pnd_config *cfg, uint32_t ifindex, int pkt)
{
    struct pn_broker_reply r = {
        .magic = PN_BROKER_MAGIC, .version = PN_BROKER_VERSION, .status = status};
    if (l && status == PN_BROKER_OK) {
        const struct pnd_pool *pl = &cfg->pools[l->pool];
        r.lease_id = l->id;
        r.ifindex = ifindex;
        uint32_t ip = l->ip, gw = pl->gateway;
        for (int i = 0; i < 4; i++) {
            r.ip[i] = (uint8_t)(ip >> (24 - 8 * i));
            r.gateway[i] = (uint8_t)(gw >> (24 - 8 * i));
        }
        memcpy(r.mac, l->mac, 6);
        r.prefix = pl->prefix;
        r.mtu = pl->mtu;
        memcpy(r.uplink, pl->uplink, sizeof(r.uplink));
    }
    return pnd_imsg_send(fd, &r, sizeof(r), pkt);
}

static void lease_free(struct engine *E, int li)
{
    memset(&E->leases[li], 0, sizeof(E->leases[li]));
    E->leases[li].conn = -1;
}

static void send_destroy(struct engine *E, uint32_t id)
{
    struct pnd_imsg_destroy d = {.hdr = {PND_IMSG_DESTROY, sizeof(d)}, .lease_id = id};
    int e = pnd_imsg_send(E->parent, &d, sizeof(d), -1);
    if (e < 0)
        pnd_fatalx("%s: parent: %s", __func__, strerror(-e));
}

/* Closes a connection. A built lease is torn down; a lease still being built is orphaned
 * and torn down when the parent's result arrives. */
static void conn_close(struct engine *E, struct conn *c)
{
    if (c->lease >= 0) {
        struct pnd_lease *l = &E->leases[c->lease];
        if (l->active) {
            send_destroy(E, l->id);
            lease_free(E, c->lease);
        } else {
            l->conn = -1;
        }
    }
    /* Drain what the client sent: closing a Unix socket with unread data resets the
     * connection, and the client could lose our reply. */
    uint8_t junk[512];
    for (int i = 0; i < 8 && recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
        ;
    close(c->fd);
    uint16_t gen = c->gen;
    memset(c, 0, sizeof(*c));
    c->gen = gen;
    c->fd = -1;
    c->lease = -1;
    c->state = C_FREE;
}

static void conn_reject(struct engine *E, struct conn *c, int status, const char *why)
{
    if (log_allowed(E))
        pnd_log_info("uid %u pid %u: %s (%s)", c->peer.uid, c->peer.pid,
                     pn_broker_status_str((unsigned)status), why);
    send_reply(c->fd, (uint16_t)status, NULL, E->cfg, 0, -1);
    conn_close(E, c);
}

/* ---- requests ---- */

static int lease_slot(struct engine *E)
{
    for (size_t i = 0; i < E->n; i++)
        if (E->leases[i].ip == 0)
            return (int)i;
    return -1;
}

static uint32_t new_lease_id(struct engine *E)
{
    for (;;) {
        uint32_t id = E->next_id++;
        bool used = id == 0;
        for (size_t i = 0; i < E->n && !used; i++)
            used = E->leases[i].ip && E->leases[i].id == id;
        if (!used)
            return id;
    }
}

/* Applies the policy to c->req and asks the parent to build the lease. */
static void conn_decide(struct engine *E, struct conn *c)
{
    struct pnd_decision d;
    int st = pnd_policy_decide(E->cfg, &c->peer, &c->req, E->leases, E->n, c->skip, c->nskip, &d);
    if (st != PN_BROKER_OK) {
        char why[64];
        snprintf(why, sizeof(why), "asked for %u.%u.%u.%u", c->req.ip[0], c->req.ip[1],
                 c->req.ip[2], c->req.ip[3]);
        conn_reject(E, c, st, why);
        return;
    }
    int li = lease_slot(E);
    if (li < 0) {
        conn_reject(E, c, PN_BROKER_BUSY, "lease table full");
        return;
    }
    struct pnd_lease *l = &E->leases[li];
    const struct pnd_pool *pl = &E->cfg->pools[d.pool];
    l->id = new_lease_id(E);
    l->uid = c->peer.uid;
    l->ip = d.ip;
    memcpy(l->mac, d.mac, 6);
    l->pool = d.pool;
    l->conn = (int)(c - E->conns);
    l->active = false;
    c->lease = li;
    c->state = C_PENDING;
    struct pnd_imsg_create m = {.hdr = {PND_IMSG_CREATE, sizeof(m)},
                                .lease_id = l->id,
                                .uid = c->peer.uid,
                                .pid = c->peer.pid,
                                .ip = d.ip,
                                .gateway = pl->gateway,
                                .prefix = pl->prefix,
                                .mtu = pl->mtu};
    memcpy(m.mac, d.mac, 6);
    memcpy(m.uplink, pl->uplink, sizeof(m.uplink));
    int e = pnd_imsg_send(E->parent, &m, sizeof(m), -1);
    if (e < 0)
        pnd_fatalx("%s: parent: %s", __func__, strerror(-e));
}

static uint32_t conn_cookie(const struct engine *E, const struct conn *c)
{
    return (uint32_t)c->gen << 16 | (uint32_t)(c - E->conns);
}

static struct conn *cookie_conn(struct engine *E, uint32_t cookie)
{
    size_t i = cookie & 0xffff;
    if (i >= E->n || E->conns[i].state != C_LISTING || E->conns[i].gen != cookie >> 16)
        return NULL; /* the client left; drop the stale answer */
    return &E->conns[i];
}

/* PN_BROKER_LIST: root only; the parent reports the leases and their counters. */
static void conn_list(struct engine *E, struct conn *c)
{
    if (c->peer.uid != 0) {
        conn_reject(E, c, PN_BROKER_DENIED, "listing leases is for root only");
        return;
    }
    struct pnd_imsg_list m = {.hdr = {PND_IMSG_LIST, sizeof(m)}, .cookie = conn_cookie(E, c)};
    int e = pnd_imsg_send(E->parent, &m, sizeof(m), -1);
    if (e < 0)
        pnd_fatalx("%s: parent: %s", __func__, strerror(-e));
    c->state = C_LISTING;
}

static void handle_count(struct engine *E, const void *buf, size_t len)
{
    struct pnd_imsg_count m;
    if (len != sizeof(m))
        pnd_fatalx("%s: bad message length %zu", __func__, len);
    memcpy(&m, buf, sizeof(m));
    struct conn *c = cookie_conn(E, m.cookie);
    if (!c)
        return;
    struct pn_broker_reply r = {.magic = PN_BROKER_MAGIC,
                                .version = PN_BROKER_VERSION,
                                .status = PN_BROKER_OK,
                                .lease_id = m.count};
    c->list_left = m.count;
    if (pnd_imsg_send(c->fd, &r, sizeof(r), -1) < 0 || m.count == 0)
        conn_close(E, c);
}

static void handle_info(struct engine *E, const void *buf, size_t len)
{
    struct pnd_imsg_info m;
    if (len != sizeof(m))
        pnd_fatalx("%s: bad message length %zu", __func__, len);
    memcpy(&m, buf, sizeof(m));
    struct conn *c = cookie_conn(E, m.cookie);
    if (!c || c->list_left == 0)
        return;
    if (pnd_imsg_send(c->fd, &m.info, sizeof(m.info), -1) < 0 || --c->list_left == 0)
        conn_close(E, c);
}

static void conn_read(struct engine *E, struct conn *c, short revents)
{
    if (c->state != C_READING) {
        /* After the request, the client only keeps the connection open: any byte is a
         * protocol violation, EOF or an error ends the lease. */
        uint8_t b[64];
        ssize_t n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n > 0 && log_allowed(E))
            pnd_log_info("uid %u pid %u: data after the request, closing", c->peer.uid,
                         c->peer.pid);
        conn_close(E, c);
        return;
    }
    ssize_t n = recv(c->fd, c->buf + c->off, sizeof(c->buf) - c->off, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        conn_close(E, c);
        return;
    }
    const char *why;
    if (n == 0) {
        /* The client half-closed (or vanished) before sending a whole request. */
        if (c->off == 0 || (revents & POLLERR)) {
            conn_close(E, c);
            return;
        }
        /* Whole requests are handled as soon as they arrive, so this one is short. */
        int st = pnd_request_check(c->buf, c->off, &c->req, &why);
        conn_reject(E, c, st, why);
        return;
    }
    c->off += (size_t)n;
    if (c->off < 8)
        return;
    int st = pnd_request_check(c->buf, c->off, &c->req, &why);
    if (st == PN_BROKER_BAD_REQUEST && c->off < sizeof(c->req) && !strcmp(why, "truncated request"))
        return; /* wait for the rest (or the timeout) */
    if (st != PN_BROKER_OK) {
        conn_reject(E, c, st, why);
        return;
    }
    if (c->req.type == PN_BROKER_LIST) {
        conn_list(E, c);
        return;
    }
    conn_decide(E, c);
}

static void handle_result(struct engine *E, const void *buf, size_t len, int pkt)
{
    struct pnd_imsg_result r;
    if (len != sizeof(r))
        pnd_fatalx("%s: bad message length %zu", __func__, len);
    memcpy(&r, buf, sizeof(r));
    if ((r.status == PN_BROKER_OK) != (pkt >= 0))
        pnd_fatalx("%s: status %u with%s descriptor", __func__, r.status, pkt >= 0 ? "" : "out");
    int li = -1;
    for (size_t i = 0; i < E->n; i++)
        if (E->leases[i].ip && E->leases[i].id == r.lease_id && !E->leases[i].active)
            li = (int)i;
    if (li < 0)
        pnd_fatalx("%s: result for unknown lease %08x", __func__, r.lease_id);
    struct pnd_lease *l = &E->leases[li];
    if (l->conn < 0) {
        /* The client left while the lease was being built. */
        if (pkt >= 0) {
            close(pkt);
            send_destroy(E, l->id);
        }
        lease_free(E, li);
        return;
    }
    struct conn *c = &E->conns[l->conn];
    if (r.status != PN_BROKER_OK) {
        uint32_t ip = l->ip;
        lease_free(E, li);
        c->lease = -1;
        /* An address the parent found on the host: skip it and try the next free one. */
        bool any = !c->req.ip[0] && !c->req.ip[1] && !c->req.ip[2] && !c->req.ip[3];
        if (r.status == PN_BROKER_ADDR_IN_USE && any && c->nskip < MAX_SKIP) {
            c->skip[c->nskip++] = ip;
            conn_decide(E, c);
            return;
        }
        conn_reject(E, c, (int)r.status, "refused by the parent");
        return;
    }
    l->active = true;
    int e = send_reply(c->fd, PN_BROKER_OK, l, E->cfg, r.ifindex, pkt);
    close(pkt);
    if (e < 0) {
        conn_close(E, c);
        return;
    }
    c->state = C_LEASED;
}

static void accept_clients(struct engine *E)
{
    for (int k = 0; k < 64; k++) {
        int fd = accept4(E->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct conn *c = NULL;
        for (size_t i = 0; i < E->n && !c; i++)
            if (E->conns[i].state == C_FREE)
                c = &E->conns[i];
        if (!c) {
            struct pn_broker_reply r = {
                .magic = PN_BROKER_MAGIC, .version = PN_BROKER_VERSION, .status = PN_BROKER_BUSY};
            send(fd, &r, sizeof(r), MSG_DONTWAIT | MSG_NOSIGNAL);
            close(fd);
            continue;
        }
        struct ucred cred;
        socklen_t cl = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cl != sizeof(cred)) {
            pnd_log_warn("%s: SO_PEERCRED", __func__);
            close(fd);
            continue;
        }
        uint16_t gen = (uint16_t)(c->gen + 1);
        memset(c, 0, sizeof(*c));
        c->gen = gen;
        c->fd = fd;
        c->lease = -1;
        c->state = C_READING;
        c->peer.uid = cred.uid;
        c->peer.gid = cred.gid;
        c->peer.pid = (uint32_t)cred.pid;
        gid_t groups[PND_MAX_PEER_GROUPS];
        socklen_t gl = sizeof(groups);
        /* Supplementary groups; if there are too many we use none (fail closed). */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) == 0) {
            c->peer.ngroups = (int)(gl / sizeof(gid_t));
            for (int i = 0; i < c->peer.ngroups; i++)
                c->peer.groups[i] = groups[i];
        }
        c->deadline = now_ms() + E->cfg->request_timeout_ms;
    }
}

static void engine_loop(struct engine *E)
{
    for (;;) {
        uint64_t now = now_ms(), next = UINT64_MAX;
        E->pfd[0] = (struct pollfd){.fd = E->parent, .events = POLLIN};
        E->pfd[1] = (struct pollfd){.fd = E->lfd, .events = POLLIN};
        for (size_t i = 0; i < E->n; i++) {
            struct conn *c = &E->conns[i];
            E->pfd[2 + i] =
                (struct pollfd){.fd = c->state == C_FREE ? -1 : c->fd, .events = POLLIN};
            if (c->state == C_READING) {
                if (c->deadline <= now) {
                    conn_reject(E, c, PN_BROKER_BAD_REQUEST, "request timed out");
                    E->pfd[2 + i].fd = -1;
                } else if (c->deadline < next) {
                    next = c->deadline;
                }
            }
        }
        int timeout = next == UINT64_MAX ? -1 : (int)(next - now);
        if (poll(E->pfd, 2 + E->n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            pnd_fatal("%s: poll", __func__);
        }
        if (E->pfd[0].revents) {
            union {
                struct pnd_imsg_hdr hdr;
                struct pnd_imsg_result r;
                struct pnd_imsg_info i;
                char raw[256];
            } m;
            int fd;
            ssize_t n = pnd_imsg_recv(E->parent, &m, sizeof(m), &fd);
            if (n == 0)
                exit(0); /* the parent is gone (it tears the leases down itself) */
            if (n < 0)
                pnd_fatalx("%s: parent: %s", __func__, strerror((int)-n));
            if ((size_t)n < sizeof(m.hdr) || m.hdr.len != (size_t)n)
                pnd_fatalx("%s: malformed message from the parent", __func__);
            if (fd >= 0 && m.hdr.type != PND_IMSG_RESULT)
                pnd_fatalx("%s: descriptor with message type %u", __func__, m.hdr.type);
            switch (m.hdr.type) {
            case PND_IMSG_RESULT:
                handle_result(E, &m, (size_t)n, fd);
                break;
            case PND_IMSG_COUNT:
                handle_count(E, &m, (size_t)n);
                break;
            case PND_IMSG_INFO:
                handle_info(E, &m, (size_t)n);
                break;
            default:
                pnd_fatalx("%s: unexpected message type %u", __func__, m.hdr.type);
            }
        }
        for (size_t i = 0; i < E->n; i++)
            if (E->pfd[2 + i].fd >= 0 && E->pfd[2 + i].revents && E->conns[i].state != C_FREE)
                conn_read(E, &E->conns[i], E->pfd[2 + i].revents);
        if (E->pfd[1].revents)
            accept_clients(E);
    }
}

void pnd_engine_main(const struct pnd_config *cfg, int listen_fd, int parent_fd, uid_t uid,
                     gid_t gid, bool foreground)
{
    struct engine E = {.cfg = cfg, .lfd = listen_fd, .parent = parent_fd};
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);
    /* Keep only stdio, the listening socket and the parent channel: no BPF, netlink or
     * namespace descriptors of the parent. */
    closelog();
    for (int fd = 3; fd < 65536; fd++)
        if (fd != listen_fd && fd != parent_fd)
            close(fd);
    pnd_log_init("plebnetd", foreground);
    E.n = cfg->max_connections;
    E.conns = calloc(E.n, sizeof(*E.conns));
    E.leases = calloc(E.n, sizeof(*E.leases));
    E.pfd = calloc(E.n + 2, sizeof(*E.pfd));
    if (!E.conns || !E.leases || !E.pfd)
        pnd_fatal("%s: calloc", __func__);
    for (size_t i = 0; i < E.n; i++) {
        E.conns[i].fd = -1;
        E.conns[i].lease = -1;
        E.leases[i].conn = -1;
    }
    if (getrandom(&E.next_id, sizeof(E.next_id), 0) != sizeof(E.next_id))
        E.next_id = (uint32_t)time(NULL);
    drop_privileges(cfg, uid, gid);
    engine_loop(&E);
    exit(0);
}
