/* preload/dns.c — name resolution through the plebnet stack: the shim's getaddrinfo,
 * getnameinfo and gethostby{name,name2,addr}[_r]. glibc's own resolver reaches its sockets
 * through hidden internal aliases that LD_PRELOAD cannot interpose, so it would query DNS
 * through the KERNEL; these replacements answer from /etc/hosts and then ask the servers of
 * resolv.conf over the shim's own (plebnet) UDP sockets, falling back to TCP when a reply is
 * truncated. Numeric addresses never touch the network. IPv4 only: AF_UNSPEC yields IPv4
 * results, AF_INET6 is handed to glibc with AI_NUMERICHOST (numeric addresses only).
 * Call chain: app -> getaddrinfo (here) -> hosts_* | dns_lookup -> socket/bind/connect/send/
 * recvfrom (the shim's exported, interposed calls, made outside the stack lock exactly as
 * an application makes them) -> dns_wire.c codec; freeaddrinfo and gai_strerror stay
 * glibc's (the nodes are allocated the way glibc allocates them). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "dns_wire.h"
#include "shim.h"

/* ---- limits (glibc's resolv.h values: MAXNS, MAXDNSRCH, RES_MAXNDOTS, ...) ---- */
#define RES_MAX_NS 3
#define RES_MAX_SEARCH 6
#define RES_MAX_NDOTS 15
#define RES_MAX_TIMEOUT 30
#define RES_MAX_ATTEMPTS 5
#define HOST_MAX_ADDRS DNS_MAX_ANSWERS
#define HOST_MAX_ALIASES 8
#define HOST_NAME_BUF 256 /* a host name in text: 253 characters + NUL, with room */

/* ---- results ---- */

/* The outcome of a lookup, in the terms glibc's NSS hosts modules use. */
enum lookup {
    LK_OK,       /* addresses (or a name) found */
    LK_NOTFOUND, /* NXDOMAIN / not in hosts: HOST_NOT_FOUND, EAI_NONAME */
    LK_NODATA,   /* the name exists without an A record: NO_DATA, EAI_NODATA */
    LK_AGAIN,    /* no server answered, or no stack: TRY_AGAIN, EAI_AGAIN */
    LK_SERVFAIL, /* servers answered SERVFAIL: h_errno TRY_AGAIN, but EAI_NONAME (below) */
    LK_NOMEM,    /* EAI_MEMORY / NETDB_INTERNAL+ENOMEM */
};

/* What a forward lookup found. */
struct host_result {
    char name[HOST_NAME_BUF]; /* canonical name */
    unsigned n_aliases;
    char aliases[HOST_MAX_ALIASES][HOST_NAME_BUF];
    unsigned n_addrs;
    uint32_t addrs[HOST_MAX_ADDRS]; /* network byte order */
};

/* ---- resolver configuration (resolv.conf(5)) ---- */

struct res_conf {
    struct sockaddr_in ns[RES_MAX_NS];
    unsigned n_ns;
    char search[RES_MAX_SEARCH][HOST_NAME_BUF];
    unsigned n_search;
    unsigned ndots, timeout_s, attempts;
};

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Copies the next whitespace-separated word of *p into out (truncating at cap - 1);
 * returns false at the end of the line. */
static bool next_word(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    while (*s && is_space((unsigned char)*s))
        s++;
    if (!*s || *s == '#' || *s == ';') {
        *p = s;
        return false;
    }
    size_t n = 0;
    while (*s && !is_space((unsigned char)*s)) {
        if (n + 1 < cap)
            out[n++] = *s;
        s++;
    }
    out[n] = '\0';
    *p = s;
    return true;
}

/* resolv.conf(5) "options" words: ndots:n (max 15), timeout:n (max 30), attempts:n (max 5);
 * the others change nothing a plebnet stub does and are ignored. */
static void conf_options(struct res_conf *rc, const char *p)
{
    char w[64];
    while (next_word(&p, w, sizeof(w))) {
        unsigned long v;
        char *end;
        if (strncmp(w, "ndots:", 6) == 0) {
            v = strtoul(w + 6, &end, 10);
            rc->ndots = v > RES_MAX_NDOTS ? RES_MAX_NDOTS : (unsigned)v;
        } else if (strncmp(w, "timeout:", 8) == 0) {
            v = strtoul(w + 8, &end, 10);
            rc->timeout_s = v > RES_MAX_TIMEOUT ? RES_MAX_TIMEOUT : v < 1 ? 1 : (unsigned)v;
        } else if (strncmp(w, "attempts:", 9) == 0) {
            v = strtoul(w + 9, &end, 10);
            rc->attempts = v > RES_MAX_ATTEMPTS ? RES_MAX_ATTEMPTS : v < 1 ? 1 : (unsigned)v;
        }
    }
}

static void conf_search(struct res_conf *rc, const char *p)
{
    char w[HOST_NAME_BUF];
    rc->n_search = 0;
    while (rc->n_search < RES_MAX_SEARCH && next_word(&p, w, sizeof(w)))
        snprintf(rc->search[rc->n_search++], HOST_NAME_BUF, "%s", w);
}

/* Reads the resolver configuration as glibc's res_init does: PLEBNET_RESOLV_CONF (else
 * /etc/resolv.conf), then the LOCALDOMAIN and RES_OPTIONS environment variables. Defaults:
 * the server 127.0.0.1, ndots 1, timeout 5 s, 2 attempts, the search domain taken from the
 * host name. Read on every lookup, so edits take effect at once (and no state is shared
 * between threads). */
static void conf_load(struct res_conf *rc)
{
    memset(rc, 0, sizeof(*rc));
    rc->ndots = 1;
    rc->timeout_s = 5;
    rc->attempts = 2;
    bool have_search = false;
    const char *path = getenv("PLEBNET_RESOLV_CONF");
    FILE *f = fopen(path && *path ? path : "/etc/resolv.conf", "re");
    if (f) {
        char line[1024];
        while (fgets(line, sizeof(line), f)) {
            const char *p = line;
            char key[32], val[HOST_NAME_BUF];
            if (!next_word(&p, key, sizeof(key)))
                continue;
            if (strcmp(key, "nameserver") == 0 && next_word(&p, val, sizeof(val))) {
                struct in_addr a;
                /* IPv6 servers are skipped: the stack has no IPv6 to reach them with. */
                if (rc->n_ns < RES_MAX_NS && inet_pton(AF_INET, val, &a) == 1) {
                    struct sockaddr_in *sin = &rc->ns[rc->n_ns++];
                    sin->sin_family = AF_INET;
                    sin->sin_port = htons(DNS_PORT);
                    sin->sin_addr = a;
                }
            } else if (strcmp(key, "domain") == 0 && next_word(&p, val, sizeof(val))) {
                /* "domain" and "search" override each other; the last one wins. */
                snprintf(rc->search[0], HOST_NAME_BUF, "%s", val);
                rc->n_search = 1;
                have_search = true;
            } else if (strcmp(key, "search") == 0) {
                conf_search(rc, p);
                have_search = true;
            } else if (strcmp(key, "options") == 0) {
                conf_options(rc, p);
            }
        }
        fclose(f);
    }
    const char *ld = getenv("LOCALDOMAIN");
    if (ld) {
        conf_search(rc, ld);
        have_search = true;
    }
    const char *ro = getenv("RES_OPTIONS");
    if (ro)
        conf_options(rc, ro);
    if (!have_search) {
        char host[HOST_NAME_BUF];
        if (gethostname(host, sizeof(host)) == 0) {
            host[sizeof(host) - 1] = '\0';
            const char *dot = strchr(host, '.');
            if (dot && dot[1]) {
                snprintf(rc->search[0], HOST_NAME_BUF, "%s", dot + 1);
                rc->n_search = 1;
            }
        }
    }
    if (rc->n_ns == 0) {
        rc->ns[0].sin_family = AF_INET;
        rc->ns[0].sin_port = htons(DNS_PORT);
        rc->ns[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc->n_ns = 1;
    }
}

/* ---- numeric addresses ---- */

/* The inet_aton(3) forms (a.b.c.d, a.b.c, a.b, a; decimal, octal, hex parts) with nothing
 * after them, which is what glibc's getaddrinfo accepts (__inet_aton_exact): inet_aton
 * itself stops at the first white space, so a string with any is refused here. */
static bool numeric_v4(const char *s, uint32_t *addr)
{
    struct in_addr a;
    if (s == NULL || *s == '\0')
        return false;
    for (const char *p = s; *p; p++)
        if (is_space((unsigned char)*p))
            return false;
    if (inet_aton(s, &a) == 0)
        return false;
    *addr = a.s_addr;
    return true;
}

/* An IPv6 literal, with an optional %scope (getaddrinfo's form). */
static bool numeric_v6(const char *s)
{
    char buf[INET6_ADDRSTRLEN + 1];
    struct in6_addr a;
    const char *pct = strchr(s, '%');
    size_t n = pct ? (size_t)(pct - s) : strlen(s);
    if (n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, &a) == 1;
}

/* ---- /etc/hosts (hosts(5)) ---- */

static FILE *hosts_open(void)
{
    const char *path = getenv("PLEBNET_HOSTS");
    return fopen(path && *path ? path : "/etc/hosts", "re");
}

/* Splits a hosts line into its address and names (comments stripped). Returns the number
 * of names (0 for a blank or malformed line). */
static unsigned hosts_split(char *line, uint32_t *addr, char **names, unsigned max)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *save = NULL;
    char *tok = strtok_r(line, " \t\r\n\v\f", &save);
    if (!tok || !numeric_v4(tok, addr))
        return 0; /* IPv6 lines are for the kernel's AF_INET6, which plebnet lacks */
    unsigned n = 0;
    while (n < max && (tok = strtok_r(NULL, " \t\r\n\v\f", &save)))
        names[n++] = tok;
    return n;
}

/* Forward lookup as glibc's nss_files does for AF_INET with "multi on" (the default since
 * glibc 2.26): every line naming `name` (canonical name or alias, case-insensitive)
 * contributes its address; the first such line gives the canonical name and aliases. */
static enum lookup hosts_by_name(const char *name, struct host_result *r)
{
    FILE *f = hosts_open();
    if (!f)
        return LK_NOTFOUND;
    char line[1024];
    bool found = false;
    while (fgets(line, sizeof(line), f)) {
        uint32_t addr;
        char *names[1 + HOST_MAX_ALIASES * 4];
        unsigned n = hosts_split(line, &addr, names, sizeof(names) / sizeof(names[0]));
        bool match = false;
        for (unsigned i = 0; i < n && !match; i++)
            match = strcasecmp(names[i], name) == 0;
        if (!match)
            continue;
        if (!found) {
            found = true;
            snprintf(r->name, sizeof(r->name), "%s", names[0]);
            r->n_aliases = 0;
            for (unsigned i = 1; i < n && r->n_aliases < HOST_MAX_ALIASES; i++)
                snprintf(r->aliases[r->n_aliases++], HOST_NAME_BUF, "%s", names[i]);
            r->n_addrs = 0;
        }
        bool dup = false;
        for (unsigned i = 0; i < r->n_addrs; i++)
            dup = dup || r->addrs[i] == addr;
        if (!dup && r->n_addrs < HOST_MAX_ADDRS)
            r->addrs[r->n_addrs++] = addr;
    }
    fclose(f);
    return found ? LK_OK : LK_NOTFOUND;
}

/* Reverse lookup: the first line with this address. */
static enum lookup hosts_by_addr(uint32_t addr, struct host_result *r)
{
    FILE *f = hosts_open();
    if (!f)
        return LK_NOTFOUND;
    char line[1024];
    enum lookup res = LK_NOTFOUND;
    while (res != LK_OK && fgets(line, sizeof(line), f)) {
        uint32_t a;
        char *names[1 + HOST_MAX_ALIASES];
        unsigned n = hosts_split(line, &a, names, sizeof(names) / sizeof(names[0]));
        if (n == 0 || a != addr)
            continue;
        snprintf(r->name, sizeof(r->name), "%s", names[0]);
        r->n_aliases = 0;
        for (unsigned i = 1; i < n && r->n_aliases < HOST_MAX_ALIASES; i++)
            snprintf(r->aliases[r->n_aliases++], HOST_NAME_BUF, "%s", names[i]);
        r->n_addrs = 1;
        r->addrs[0] = addr;
        res = LK_OK;
    }
    fclose(f);
    return res;
}

/* ---- DNS transport: the shim's own sockets, called as an application would ---- */

/* Scratch space for one lookup (kept off the caller's stack: threads such as curl's
 * resolver may have small ones). */
struct dns_scratch {
    struct dns_msg msg;
    struct dns_chain chain;
    uint8_t buf[2 + DNS_TCP_MAX];
};

/* How one exchange with one server ended. */
enum xchg {
    XC_REPLY,   /* a matching reply is in msg */
    XC_NEXT,    /* no usable reply from this server (timeout, refused, unreachable) */
    XC_NOSTACK, /* the socket was not a plebnet one: never query through the kernel */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits for `events` on fd until deadline (mono_ms scale). Returns >0 ready, 0 timed out,
 * -1 on an error other than EINTR (EINTR just waits again). */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            return 0;
        uint64_t left = deadline - now;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0)
            return 1;
        if (n == 0)
            continue; /* re-check the deadline (poll rounds down) */
        if (errno != EINTR)
            return -1;
    }
}

/* RFC 5452 §9.2: the query ID is random (16 bits from getrandom(2)). */
static uint16_t random_id(void)
{
    uint16_t id;
    if (getrandom(&id, sizeof(id), GRND_NONBLOCK) == (ssize_t)sizeof(id))
        return id;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint16_t)(ts.tv_nsec ^ (ts.tv_nsec >> 16) ^ (uintptr_t)&ts);
}

/* Opens a plebnet socket of `type`; -2 if socket() did not give a plebnet socket (the
 * query must then not be sent at all), -1 on another error. */
static int dns_socket(int type)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (pl_fd_peek(fd) == NULL) {
        close(fd);
        pl_log("resolver: socket() did not give a plebnet socket; not sending a DNS query "
               "through the kernel");
        return -2;
    }
    return fd;
}

static bool same_server(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
    return a->sin_family == AF_INET && a->sin_addr.s_addr == b->sin_addr.s_addr &&
           a->sin_port == b->sin_port;
}

/* One query over UDP to one server (RFC 1035 §4.2.1). A random source port (bind to port
 * 0: the stack picks it per RFC 6056) and ID; replies from another address, with another ID
 * or another question, and malformed ones, are ignored while the wait goes on (RFC 5452
 * §9.1), so a forged packet cannot end the exchange early. */
static enum xchg udp_exchange(const struct sockaddr_in *ns, const struct dns_name *q,
                              uint16_t qtype, uint64_t deadline, struct dns_scratch *sc)
{
    int fd = dns_socket(SOCK_DGRAM);
    if (fd == -2)
        return XC_NOSTACK;
    if (fd < 0)
        return XC_NEXT;
    enum xchg res = XC_NEXT;
    struct sockaddr_in any = {.sin_family = AF_INET};
    uint16_t id = random_id();
    uint8_t query[DNS_HDR_LEN + DNS_NAME_WIRE_MAX + 4];
    int qlen = dns_build_query(query, sizeof(query), id, q, qtype);
    if (qlen < 0 || bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0 ||
        connect(fd, (const struct sockaddr *)ns, sizeof(*ns)) < 0 ||
        send(fd, query, (size_t)qlen, MSG_NOSIGNAL) != qlen)
        goto out;
    for (;;) {
        int w = wait_fd(fd, POLLIN, deadline);
        if (w <= 0)
            goto out;
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, sc->buf, DNS_TCP_MAX, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                continue;
            goto out; /* ECONNREFUSED (ICMP port unreachable), ENETUNREACH, ... */
        }
        if (fl < sizeof(from) || !same_server(&from, ns))
            continue;
        if (dns_parse(sc->buf, (size_t)n, &sc->msg) < 0 ||
            !dns_reply_matches(&sc->msg, id, q, qtype))
            continue;
        res = XC_REPLY;
        goto out;
    }
out:
    close(fd);
    return res;
}

/* Sends or receives exactly len bytes on a non-blocking TCP socket before deadline. */
static bool tcp_io(int fd, uint8_t *p, size_t len, bool sending, uint64_t deadline)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = sending ? send(fd, p + done, len - done, MSG_NOSIGNAL)
                            : recv(fd, p + done, len - done, 0);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n == 0)
            return false; /* the server closed early */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return false;
        if (wait_fd(fd, sending ? POLLOUT : POLLIN, deadline) <= 0)
            return false;
    }
    return true;
}

/* The same query over TCP after a truncated UDP reply (RFC 7766 §5; RFC 1035 §4.2.2: each
 * message is preceded by a two-octet length). */
static enum xchg tcp_exchange(const struct sockaddr_in *ns, const struct dns_name *q,
                              uint16_t qtype, uint64_t deadline, struct dns_scratch *sc)
{
    int fd = dns_socket(SOCK_STREAM | SOCK_NONBLOCK);
    if (fd == -2)
        return XC_NOSTACK;
    if (fd < 0)
        return XC_NEXT;
    enum xchg res = XC_NEXT;
    uint16_t id = random_id();
    uint8_t query[2 + DNS_HDR_LEN + DNS_NAME_WIRE_MAX + 4];
    int qlen = dns_build_query(query + 2, sizeof(query) - 2, id, q, qtype);
    if (qlen < 0)
        goto out;
    query[0] = (uint8_t)(qlen >> 8);
    query[1] = (uint8_t)qlen;
    if (connect(fd, (const struct sockaddr *)ns, sizeof(*ns)) < 0) {
        if (errno != EINPROGRESS)
            goto out;
        if (wait_fd(fd, POLLOUT, deadline) <= 0)
            goto out;
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0)
            goto out;
    }
    if (!tcp_io(fd, query, (size_t)qlen + 2, true, deadline))
        goto out;
    uint8_t lenb[2];
    if (!tcp_io(fd, lenb, 2, false, deadline))
        goto out;
    size_t mlen = ((size_t)lenb[0] << 8) | lenb[1];
    if (mlen < DNS_HDR_LEN || !tcp_io(fd, sc->buf, mlen, false, deadline))
        goto out;
    if (dns_parse(sc->buf, mlen, &sc->msg) < 0 || !dns_reply_matches(&sc->msg, id, q, qtype))
        goto out;
    res = XC_REPLY;
out:
    close(fd);
    return res;
}

/* The outcome of asking the configured servers about one name. */
enum ask {
    ASK_ANSWER,   /* sc->msg holds a NOERROR or NXDOMAIN reply */
    ASK_SERVFAIL, /* servers answered, but only with SERVFAIL/REFUSED/... */
    ASK_NOREPLY,  /* no server answered within timeout * attempts */
    ASK_NOSTACK,  /* no plebnet socket could be had */
};

/* Asks the servers in order, `attempts` rounds, each server `timeout` seconds per round
 * (RFC 1035 §7.2, resolv.conf(5)); a SERVFAIL or other error rcode moves on to the next
 * server, a truncated reply is retried over TCP with the same server. The total time is
 * bounded by attempts * servers * timeout (plus the TCP retry's own timeout). */
static enum ask dns_ask(const struct res_conf *rc, const struct dns_name *q, uint16_t qtype,
                        struct dns_scratch *sc)
{
    bool answered = false;
    for (unsigned attempt = 0; attempt < rc->attempts; attempt++) {
        for (unsigned i = 0; i < rc->n_ns; i++) {
            uint64_t deadline = mono_ms() + rc->timeout_s * 1000ull;
            enum xchg x = udp_exchange(&rc->ns[i], q, qtype, deadline, sc);
            if (x == XC_NOSTACK)
                return ASK_NOSTACK;
            if (x == XC_REPLY && (sc->msg.flags & DNS_FLAG_TC)) {
                x = tcp_exchange(&rc->ns[i], q, qtype, mono_ms() + rc->timeout_s * 1000ull, sc);
                if (x == XC_NOSTACK)
                    return ASK_NOSTACK;
                /* A TCP reply that is still truncated carries nothing usable. */
                if (x == XC_REPLY && (sc->msg.flags & DNS_FLAG_TC))
                    x = XC_NEXT;
            }
            if (x != XC_REPLY)
                continue;
            answered = true;
            unsigned rcode = DNS_RCODE(sc->msg.flags);
            if (rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN)
                return ASK_ANSWER;
            /* SERVFAIL, FORMERR, NOTIMP, REFUSED: this server cannot help; try the next. */
        }
    }
    return answered ? ASK_SERVFAIL : ASK_NOREPLY;
}

/* Logs (once per process) that DNS is unavailable because the stack did not start. */
static bool stack_ready(void)
{
    static atomic_bool logged;
    int e = pl_init();
    if (e == 0)
        return true;
    if (!atomic_exchange(&logged, true))
        pl_log("resolver: no plebnet stack (%s): DNS names fail with EAI_AGAIN, only "
               "/etc/hosts and numeric addresses resolve",
               strerror(-e));
    return false;
}

/* Looks `name` up by DNS with the search list (res_search semantics, resolv.conf(5)): a
 * name ending in a dot is queried as is; otherwise one with at least `ndots` dots is tried
 * as is first, then with each search domain appended, and one with fewer dots is tried as
 * is last. NXDOMAIN and NODATA go on to the next candidate; no reply at all stops the
 * search with TRY_AGAIN. qtype A fills r->addrs; PTR fills r->name. */
static enum lookup dns_lookup(const char *name, uint16_t qtype, struct host_result *r)
{
    struct dns_name base;
    bool absolute;
    if (dns_name_from_text(name, &base, &absolute) < 0 || base.len <= 1)
        return LK_NOTFOUND; /* not a valid domain name: nothing to ask */
    if (!stack_ready())
        return LK_AGAIN;
    struct res_conf rc;
    conf_load(&rc);
    struct dns_scratch *sc = malloc(sizeof(*sc));
    if (!sc)
        return LK_NOMEM;

    struct dns_name cand[RES_MAX_SEARCH + 1];
    unsigned n = 0;
    bool as_is_first = absolute || dns_name_labels(&base) - 1 >= rc.ndots;
    if (as_is_first)
        cand[n++] = base;
    for (unsigned i = 0; !absolute && i < rc.n_search; i++) {
        struct dns_name dom;
        if (dns_name_from_text(rc.search[i], &dom, NULL) == 0 && dom.len > 1 &&
            dns_name_concat(&base, &dom, &cand[n]) == 0)
            n++;
    }
    if (!as_is_first)
        cand[n++] = base;

    bool nodata = false, servfail = false;
    enum lookup res = LK_NOTFOUND, first = LK_NOTFOUND;
    for (unsigned i = 0; i < n; i++) {
        enum ask a = dns_ask(&rc, &cand[i], qtype, sc);
        if (a == ASK_NOSTACK || a == ASK_NOREPLY) {
            res = LK_AGAIN;
            goto out;
        }
        if (a == ASK_SERVFAIL) {
            servfail = true;
            first = i == 0 ? LK_SERVFAIL : first;
            continue;
        }
        if (DNS_RCODE(sc->msg.flags) == DNS_RCODE_NXDOMAIN)
            continue;
        if (dns_answer_chain(&sc->msg, &cand[i], qtype, &sc->chain) == 0) {
            nodata = true;
            first = i == 0 ? LK_NODATA : first;
            continue;
        }
        struct dns_chain *c = &sc->chain;
        if (qtype == DNS_TYPE_A) {
            if (dns_name_to_text(&c->canon, r->name, sizeof(r->name)) < 0)
                snprintf(r->name, sizeof(r->name), "%s", name);
            r->n_aliases = 0;
            for (unsigned k = 0; k < c->n_aliases && k < HOST_MAX_ALIASES; k++)
                if (dns_name_to_text(&c->aliases[k], r->aliases[r->n_aliases], HOST_NAME_BUF) >= 0)
                    r->n_aliases++;
            r->n_addrs = 0;
            for (unsigned k = 0; k < c->n_addrs && k < HOST_MAX_ADDRS; k++)
                r->addrs[r->n_addrs++] = c->addrs[k];
        } else {
            /* glibc's res_hnok: a PTR target that is not a host name is not returned. */
            if (!dns_name_is_host(&c->target) ||
                dns_name_to_text(&c->target, r->name, sizeof(r->name)) < 0) {
                nodata = true;
                continue;
            }
            r->n_aliases = 0;
            r->n_addrs = 0;
        }
        res = LK_OK;
        goto out;
    }
    /* glibc's res_search: the error of the as-is query when it went first, else NODATA if
     * any candidate had it, else SERVFAIL's TRY_AGAIN, else HOST_NOT_FOUND. */
    if (as_is_first)
        res = first;
    else
        res = nodata ? LK_NODATA : servfail ? LK_SERVFAIL : LK_NOTFOUND;
out:
    free(sc);
    return res;
}

/* Forward lookup of a non-numeric name: /etc/hosts, then DNS (nsswitch "files dns"). */
static enum lookup lookup_name(const char *name, struct host_result *r)
{
    enum lookup lk = hosts_by_name(name, r);
    if (lk == LK_OK)
        return lk;
    return dns_lookup(name, DNS_TYPE_A, r);
}

/* Reverse lookup of an IPv4 address: /etc/hosts, then a PTR query for
 * d.c.b.a.in-addr.arpa (RFC 1035 §3.5). */
static enum lookup lookup_addr(uint32_t addr, struct host_result *r)
{
    enum lookup lk = hosts_by_addr(addr, r);
    if (lk == LK_OK)
        return lk;
    const uint8_t *b = (const uint8_t *)&addr;
    char q[32];
    snprintf(q, sizeof(q), "%u.%u.%u.%u.in-addr.arpa.", b[3], b[2], b[1], b[0]);
    lk = dns_lookup(q, DNS_TYPE_PTR, r);
    if (lk == LK_OK) {
        r->n_addrs = 1;
        r->addrs[0] = addr;
    }
    return lk;
}

/* ---- getaddrinfo (RFC 3493 §6.1, getaddrinfo(3)) ---- */

/* glibc's table of socket types and protocols (sysdeps/posix/getaddrinfo.c,
 * gaih_inet_typeproto): with neither ai_socktype nor ai_protocol given, one result per
 * `deflt` entry; SOCK_RAW takes any protocol and no service. */
struct typeproto {
    int socktype, protocol;
    bool any_protocol, no_service, deflt;
    const char *name;
};
static const struct typeproto typeprotos[] = {
    {SOCK_STREAM, IPPROTO_TCP, false, false, true, "tcp"},
    {SOCK_DGRAM, IPPROTO_UDP, false, false, true, "udp"},
    {SOCK_DCCP, IPPROTO_DCCP, false, false, false, "dccp"},
    {SOCK_DGRAM, IPPROTO_UDPLITE, false, false, false, "udplite"},
    {SOCK_STREAM, IPPROTO_SCTP, false, false, false, "sctp"},
    {SOCK_SEQPACKET, IPPROTO_SCTP, false, false, false, "sctp"},
    {SOCK_RAW, 0, true, true, true, "raw"},
};
#define N_TYPEPROTOS (sizeof(typeprotos) / sizeof(typeprotos[0]))

struct servtuple {
    int socktype, protocol;
    uint16_t port; /* network order */
};

static int service_port(const char *name, const char *proto, uint16_t *port)
{
    struct servent se, *res = NULL;
    char buf[1024];
    if (getservbyname_r(name, proto, &se, buf, sizeof(buf), &res) != 0 || res == NULL)
        return -1;
    *port = (uint16_t)res->s_port;
    return 0;
}

/* The (socktype, protocol, port) triples the request asks for, as glibc's gaih_inet makes
 * them. Returns the count, or a negative EAI_* code. */
static int make_servtuples(const struct addrinfo *req, const char *service, struct servtuple *st)
{
    /* glibc's getaddrinfo reads the service before it looks at the socket type, so
     * AI_NUMERICSERV with a name is EAI_NONAME whatever the hints say. */
    int num = -1;
    bool have_service = service != NULL && service[0] != '\0';
    if (have_service) {
        char *end;
        unsigned long v = strtoul(service, &end, 10);
        if (*end != '\0') {
            if (req->ai_flags & AI_NUMERICSERV)
                return EAI_NONAME;
        } else {
            num = (int)v;
        }
    }
    const struct typeproto *tp = NULL;
    if (req->ai_socktype || req->ai_protocol) {
        for (size_t i = 0; i < N_TYPEPROTOS && !tp; i++) {
            const struct typeproto *t = &typeprotos[i];
            if ((req->ai_socktype == 0 || req->ai_socktype == t->socktype) &&
                (req->ai_protocol == 0 || t->any_protocol || req->ai_protocol == t->protocol))
                tp = t;
        }
        if (!tp)
            return req->ai_socktype ? EAI_SOCKTYPE : EAI_SERVICE;
    }
    if (have_service && tp && tp->no_service)
        return EAI_SERVICE;
    int n = 0;
    if (have_service && num < 0) {
        /* A service name: looked up per protocol in services(5). */
        if (tp) {
            uint16_t port;
            if (service_port(service, tp->name, &port) < 0)
                return EAI_SERVICE;
            st[n++] = (struct servtuple){tp->socktype,
                                         tp->any_protocol ? req->ai_protocol : tp->protocol, port};
            return n;
        }
        for (size_t i = 0; i < N_TYPEPROTOS; i++) {
            const struct typeproto *t = &typeprotos[i];
            uint16_t port;
            if (t->no_service || service_port(service, t->name, &port) < 0)
                continue;
            st[n++] = (struct servtuple){t->socktype, t->protocol, port};
        }
        return n ? n : EAI_SERVICE;
    }
    uint16_t port = htons((uint16_t)(num < 0 ? 0 : num));
    if (tp) {
        st[n++] = (struct servtuple){tp->socktype,
                                     tp->any_protocol ? req->ai_protocol : tp->protocol, port};
        return n;
    }
    for (size_t i = 0; i < N_TYPEPROTOS; i++)
        if (typeprotos[i].deflt)
            st[n++] = (struct servtuple){typeprotos[i].socktype, typeprotos[i].protocol, port};
    return n;
}

/* Builds the result list. Each node is ONE malloc holding the struct addrinfo followed by
 * its sockaddr_in, and ai_canonname (first node only) is a separate malloc: exactly glibc's
 * layout, so glibc's freeaddrinfo (free(ai_canonname); free(ai) per node) frees it. */
static int make_list(const struct addrinfo *req, const uint32_t *addrs, unsigned n_addrs,
                     const struct servtuple *st, int n_st, const char *canon, struct addrinfo **res)
{
    struct addrinfo *head = NULL, **tail = &head;
    for (unsigned a = 0; a < n_addrs; a++) {
        for (int s = 0; s < n_st; s++) {
            struct addrinfo *ai = malloc(sizeof(*ai) + sizeof(struct sockaddr_in));
            if (!ai)
                goto nomem;
            struct sockaddr_in *sin = (struct sockaddr_in *)(void *)(ai + 1);
            memset(sin, 0, sizeof(*sin));
            sin->sin_family = AF_INET;
            sin->sin_port = st[s].port;
            sin->sin_addr.s_addr = addrs[a];
            ai->ai_flags = req->ai_flags;
            ai->ai_family = AF_INET;
            ai->ai_socktype = st[s].socktype;
            ai->ai_protocol = st[s].protocol;
            ai->ai_addrlen = sizeof(*sin);
            ai->ai_addr = (struct sockaddr *)sin;
            ai->ai_canonname = NULL;
            ai->ai_next = NULL;
            *tail = ai;
            tail = &ai->ai_next;
        }
    }
    if (head && canon && (req->ai_flags & AI_CANONNAME)) {
        head->ai_canonname = strdup(canon);
        if (!head->ai_canonname)
            goto nomem;
    }
    *res = head;
    return 0;
nomem:
    pl_real.freeaddrinfo(head);
    return EAI_MEMORY;
}

/* Flags glibc 2.36 accepts (others: EAI_BADFLAGS). */
#define GAI_KNOWN_FLAGS                                                                            \
    (AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_ADDRCONFIG | AI_V4MAPPED | AI_NUMERICSERV |   \
     AI_ALL | AI_IDN | AI_CANONIDN)

PL_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                          struct addrinfo **res)
{
    pl_real_init();
    if (pl_internal())
        return pl_real.getaddrinfo(node, service, hints, res);
    /* glibc's default hints (AI_DEFAULT = AI_V4MAPPED | AI_ADDRCONFIG). */
    struct addrinfo req = {.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG, .ai_family = AF_UNSPEC};
    if (hints)
        req = (struct addrinfo){.ai_flags = hints->ai_flags,
                                .ai_family = hints->ai_family,
                                .ai_socktype = hints->ai_socktype,
                                .ai_protocol = hints->ai_protocol};
    /* glibc: "*" means no name; both absent is EAI_NONAME; checks in glibc's order. */
    if (node && node[0] == '*' && node[1] == '\0')
        node = NULL;
    if (node == NULL && service == NULL)
        return EAI_NONAME;
    if (req.ai_flags & ~GAI_KNOWN_FLAGS)
        return EAI_BADFLAGS;
    if ((req.ai_flags & AI_CANONNAME) && node == NULL)
        return EAI_BADFLAGS;

    if (req.ai_family == AF_INET6 || (req.ai_family == AF_UNSPEC && node && numeric_v6(node))) {
        /* No IPv6 in the stack: IPv6 requests go to glibc, restricted to numeric hosts so
         * that glibc never looks a name up (its queries would bypass plebnet). */
        req.ai_flags |= AI_NUMERICHOST;
        return pl_real.getaddrinfo(node, service, &req, res);
    }
    if (req.ai_family != AF_UNSPEC && req.ai_family != AF_INET)
        return EAI_FAMILY;

    struct servtuple st[N_TYPEPROTOS];
    int n_st = make_servtuples(&req, service, st);
    if (n_st < 0)
        return n_st;

    if (node == NULL) {
        /* RFC 3493 §6.1: the wildcard address for AI_PASSIVE, else the loopback address. */
        uint32_t a = htonl((req.ai_flags & AI_PASSIVE) ? INADDR_ANY : INADDR_LOOPBACK);
        return make_list(&req, &a, 1, st, n_st, NULL, res);
    }
    uint32_t a;
    if (numeric_v4(node, &a))
        return make_list(&req, &a, 1, st, n_st, node, res);
    if (numeric_v6(node)) {
        /* glibc: an IPv6 literal asked for as AF_INET is only usable if v4-mapped. */
        struct in6_addr a6;
        if (strchr(node, '%') == NULL && inet_pton(AF_INET6, node, &a6) == 1 &&
            IN6_IS_ADDR_V4MAPPED(&a6)) {
            memcpy(&a, &a6.s6_addr[12], 4);
            return make_list(&req, &a, 1, st, n_st, node, res);
        }
        return EAI_ADDRFAMILY;
    }
    if (req.ai_flags & AI_NUMERICHOST)
        return EAI_NONAME;

    struct host_result *hr = malloc(sizeof(*hr));
    if (!hr)
        return EAI_MEMORY;
    int rc;
    switch (lookup_name(node, hr)) {
    case LK_OK:
        rc = make_list(&req, hr->addrs, hr->n_addrs, st, n_st, hr->name, res);
        break;
    case LK_NODATA:
        rc = EAI_NODATA; /* glibc: "the name is known" but has no address */
        break;
    case LK_AGAIN:
        rc = EAI_AGAIN;
        break;
    case LK_SERVFAIL:
        /* What glibc 2.36 returns when the servers only say SERVFAIL depends on its code
         * path: AF_UNSPEC (nss_dns gethostbyname4_r) gives EAI_AGAIN, AF_INET
         * (gethostbyname3_r: NSS_STATUS_NOTFOUND with h_errno TRY_AGAIN) gives
         * EAI_NONAME. Kept, so that programs see what they would see without the shim. */
        rc = req.ai_family == AF_UNSPEC ? EAI_AGAIN : EAI_NONAME;
        break;
    case LK_NOMEM:
        rc = EAI_MEMORY;
        break;
    default:
        rc = EAI_NONAME;
        break;
    }
    free(hr);
    return rc;
}

/* ---- getnameinfo (RFC 3493 §6.2, getnameinfo(3)) ---- */

#define NI_KNOWN_FLAGS                                                                             \
    (NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM | NI_IDN)

static int copy_out(char *dst, socklen_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return EAI_OVERFLOW;
    memcpy(dst, src, n + 1);
    return 0;
}

PL_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
                          char *serv, socklen_t servlen, int flags)
{
    pl_real_init();
    if (pl_internal() || sa == NULL || salen < sizeof(sa_family_t) || sa->sa_family != AF_INET) {
        if (!pl_internal() && sa && salen >= sizeof(sa_family_t) && sa->sa_family == AF_INET6 &&
            host && hostlen) {
            /* IPv6 reverse lookups would go through the kernel: numeric only. */
            if (flags & NI_NAMEREQD)
                return EAI_NONAME;
            flags |= NI_NUMERICHOST;
        }
        return pl_real.getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
    }
    if (flags & ~NI_KNOWN_FLAGS)
        return EAI_BADFLAGS;
    if (salen < sizeof(struct sockaddr_in))
        return EAI_FAMILY;
    if ((host == NULL || hostlen == 0) && (serv == NULL || servlen == 0))
        return EAI_NONAME;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
    if (host && hostlen) {
        char num[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sin->sin_addr, num, sizeof(num));
        int rc = 0;
        if (flags & NI_NUMERICHOST) {
            rc = copy_out(host, hostlen, num);
        } else {
            struct host_result *hr = malloc(sizeof(*hr));
            if (!hr)
                return EAI_MEMORY;
            enum lookup lk = lookup_addr(sin->sin_addr.s_addr, hr);
            if (lk == LK_OK) {
                if (flags & NI_NOFQDN) {
                    /* glibc strips the local domain; here: the first search domain. */
                    struct res_conf rconf;
                    conf_load(&rconf);
                    char *dot = strchr(hr->name, '.');
                    if (dot && rconf.n_search && strcasecmp(dot + 1, rconf.search[0]) == 0)
                        *dot = '\0';
                }
                rc = copy_out(host, hostlen, hr->name);
            } else if (lk == LK_AGAIN || lk == LK_SERVFAIL || lk == LK_NOMEM) {
                /* glibc (gni_host_inet_name): TRY_AGAIN is EAI_AGAIN even without
                 * NI_NAMEREQD, rather than a silent numeric answer. */
                rc = lk == LK_NOMEM ? EAI_MEMORY : EAI_AGAIN;
            } else if (flags & NI_NAMEREQD) {
                rc = EAI_NONAME;
            } else {
                rc = copy_out(host, hostlen, num);
            }
            free(hr);
        }
        if (rc)
            return rc;
    }
    if (serv && servlen) {
        char buf[32];
        struct servent se, *sr = NULL;
        char sbuf[1024];
        if (!(flags & NI_NUMERICSERV) &&
            getservbyport_r(sin->sin_port, (flags & NI_DGRAM) ? "udp" : "tcp", &se, sbuf,
                            sizeof(sbuf), &sr) == 0 &&
            sr)
            return copy_out(serv, servlen, sr->s_name);
        snprintf(buf, sizeof(buf), "%u", ntohs(sin->sin_port));
        return copy_out(serv, servlen, buf);
    }
    return 0;
}

/* ---- gethostbyname family (gethostbyname(3)) ---- */

/* Lays r out as a hostent inside buf: pointer arrays first (aligned), then the addresses,
 * then the strings. Returns 0 or ERANGE. */
static int fill_hostent(const struct host_result *r, struct hostent *he, char *buf, size_t len)
{
    uintptr_t base = (uintptr_t)buf;
    size_t pad = (alignof(char *) - base % alignof(char *)) % alignof(char *);
    size_t need = pad + (r->n_aliases + 1 + r->n_addrs + 1) * sizeof(char *) + r->n_addrs * 4 +
                  strlen(r->name) + 1;
    for (unsigned i = 0; i < r->n_aliases; i++)
        need += strlen(r->aliases[i]) + 1;
    if (need > len)
        return ERANGE;
    char **aliases = (char **)(void *)(buf + pad);
    char **addrs = aliases + r->n_aliases + 1;
    char *p = (char *)(addrs + r->n_addrs + 1);
    for (unsigned i = 0; i < r->n_addrs; i++) {
        memcpy(p, &r->addrs[i], 4);
        addrs[i] = p;
        p += 4;
    }
    addrs[r->n_addrs] = NULL;
    size_t l = strlen(r->name) + 1;
    memcpy(p, r->name, l);
    he->h_name = p;
    p += l;
    for (unsigned i = 0; i < r->n_aliases; i++) {
        l = strlen(r->aliases[i]) + 1;
        memcpy(p, r->aliases[i], l);
        aliases[i] = p;
        p += l;
    }
    aliases[r->n_aliases] = NULL;
    he->h_aliases = aliases;
    he->h_addrtype = AF_INET;
    he->h_length = 4;
    he->h_addr_list = addrs;
    return 0;
}

/* h_errno value for a failed lookup. */
static int lookup_herrno(enum lookup lk)
{
    switch (lk) {
    case LK_NODATA:
        return NO_DATA;
    case LK_AGAIN:
    case LK_SERVFAIL:
        return TRY_AGAIN;
    case LK_NOMEM:
        return NETDB_INTERNAL;
    default:
        return HOST_NOT_FOUND;
    }
}

/* The _r calling convention of glibc (nss/getXXbyYY_r.c): 0 with *result set on success,
 * 0 with *result NULL when not found, EAGAIN for TRY_AGAIN, ERANGE when buf is too small
 * (h_errno NETDB_INTERNAL, so the caller grows the buffer). */
static int finish_r(enum lookup lk, const struct host_result *r, struct hostent *ret, char *buf,
                    size_t buflen, struct hostent **result, int *h_errnop)
{
    /* glibc sets the thread's h_errno as well as *h_errnop (Python reads h_errno). */
    *result = NULL;
    if (lk == LK_OK) {
        if (fill_hostent(r, ret, buf, buflen) != 0) {
            *h_errnop = h_errno = NETDB_INTERNAL;
            errno = ERANGE;
            return ERANGE;
        }
        *result = ret;
        *h_errnop = 0;
        return 0;
    }
    *h_errnop = h_errno = lookup_herrno(lk);
    if (lk == LK_NOMEM) {
        errno = ENOMEM;
        return ENOMEM;
    }
    return lk == LK_AGAIN ? EAGAIN : 0;
}

/* Forward lookup behind every gethostbyname variant (AF_INET). glibc's digits-and-dots
 * shortcut (__nss_hostname_digits_dots): a name made only of digits and dots, starting
 * with a digit and not ending with a dot, is an address for inet_aton (itself as h_name)
 * or else not found, never looked up; hex forms such as 0x0a000001 are names there. */
static enum lookup byname4(const char *name, struct host_result *r)
{
    uint32_t a;
    if (name == NULL)
        return LK_NOTFOUND;
    size_t len = strlen(name);
    if (len > 0 && name[0] >= '0' && name[0] <= '9' && name[len - 1] != '.' &&
        strspn(name, "0123456789.") == len) {
        if (!numeric_v4(name, &a))
            return LK_NOTFOUND;
        snprintf(r->name, sizeof(r->name), "%s", name);
        r->n_aliases = 0;
        r->n_addrs = 1;
        r->addrs[0] = a;
        return LK_OK;
    }
    return lookup_name(name, r);
}

PL_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
                               size_t buflen, struct hostent **result, int *h_errnop)
{
    pl_real_init();
    if (pl_internal() || (af == AF_INET6 && name && numeric_v6(name)))
        return pl_real.gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
    if (af != AF_INET) {
        /* Names have no IPv6 addresses here (the stack has no IPv6). */
        *result = NULL;
        *h_errnop = af == AF_INET6 ? HOST_NOT_FOUND : NETDB_INTERNAL;
        if (af != AF_INET6) {
            errno = EAFNOSUPPORT;
            return EAFNOSUPPORT;
        }
        return 0;
    }
    struct host_result *r = malloc(sizeof(*r));
    if (!r)
        return finish_r(LK_NOMEM, NULL, ret, buf, buflen, result, h_errnop);
    int rc = finish_r(byname4(name, r), r, ret, buf, buflen, result, h_errnop);
    free(r);
    return rc;
}

PL_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
                              struct hostent **result, int *h_errnop)
{
    pl_real_init();
    if (pl_internal())
        return pl_real.gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
    return gethostbyname2_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

PL_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
                              char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
    pl_real_init();
    if (pl_internal())
        return pl_real.gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
    *result = NULL;
    if (type != AF_INET || len != 4 || addr == NULL) {
        /* IPv6 PTR lookups would go through the kernel's sockets: refused, not leaked. */
        *h_errnop = type == AF_INET6 ? HOST_NOT_FOUND : NETDB_INTERNAL;
        if (type != AF_INET6) {
            errno = EINVAL;
            return EINVAL;
        }
        return 0;
    }
    struct host_result *r = malloc(sizeof(*r));
    if (!r)
        return finish_r(LK_NOMEM, NULL, ret, buf, buflen, result, h_errnop);
    uint32_t a;
    memcpy(&a, addr, 4);
    int rc = finish_r(lookup_addr(a, r), r, ret, buf, buflen, result, h_errnop);
    free(r);
    return rc;
}

/* The non-reentrant forms share one buffer per thread (glibc's is per process). */
static __thread struct {
    struct hostent he;
    char buf[HOST_MAX_ADDRS * (sizeof(char *) + 4) + (HOST_MAX_ALIASES + 2) * sizeof(char *) +
             (HOST_MAX_ALIASES + 1) * HOST_NAME_BUF + 16];
} tls_host;

static struct hostent *nonreentrant(int rc, struct hostent *res, int herr)
{
    h_errno = herr;
    if (rc != 0 && rc != EAGAIN)
        errno = rc;
    return res;
}

PL_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
    pl_real_init();
    if (pl_internal())
        return pl_real.gethostbyname2(name, af);
    struct hostent *res;
    int herr;
    int rc =
        gethostbyname2_r(name, af, &tls_host.he, tls_host.buf, sizeof(tls_host.buf), &res, &herr);
    return nonreentrant(rc, res, herr);
}

PL_EXPORT struct hostent *gethostbyname(const char *name)
{
    pl_real_init();
    if (pl_internal())
        return pl_real.gethostbyname(name);
    return gethostbyname2(name, AF_INET);
}

PL_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
    pl_real_init();
    if (pl_internal())
        return pl_real.gethostbyaddr(addr, len, type);
    struct hostent *res;
    int herr;
    int rc = gethostbyaddr_r(addr, len, type, &tls_host.he, tls_host.buf, sizeof(tls_host.buf),
                             &res, &herr);
    return nonreentrant(rc, res, herr);
}
