/* tools/plebnet/cli.c — helpers shared by the subcommands (see cli.h). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "cli.h"

static void vmsg(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "plebnet: %s%s", cmd ? cmd : "", cmd ? ": " : "");
    vfprintf(stderr, fmt, ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(cmd, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, " (see 'plebnet %s --help')\n", cmd);
    else
        fprintf(stderr, " (see 'plebnet --help')\n");
    return EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(cmd, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_seconds(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *out_ns)
{
    if (!s || !*s)
        return -1;
    uint64_t whole = 0, frac = 0, scale = 1000000000ull;
    const char *p = s;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        whole = whole * 10 + (uint64_t)(*p++ - '0');
        if (++digits > 9)
            return -1;
    }
    if (*p == '.') {
        p++;
        int fd = 0;
        while (*p >= '0' && *p <= '9') {
            if (fd < 9) {
                scale /= 10;
                frac += (uint64_t)(*p - '0') * scale;
            }
            fd++;
            p++;
        }
        if (fd == 0 && digits == 0)
            return -1;
    } else if (digits == 0) {
        return -1;
    }
    if (*p)
        return -1;
    uint64_t ns = whole * 1000000000ull + frac;
    if (ns < min_ns || ns > max_ns)
        return -1;
    *out_ns = ns;
    return 0;
}

int cli_parse_bytes(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    uint64_t mult = 1;
    if (*end) {
        bool bin = end[1] == 'i';
        uint64_t k = bin ? 1024 : 1000;
        switch (*end) {
        case 'k': case 'K': mult = k; break;
        case 'M': mult = k * k; break;
        case 'G': mult = k * k * k; break;
        default: return -1;
        }
        end += bin ? 2 : 1;
        if (*end == 'B')
            end++;
        if (*end)
            return -1;
    }
    if (v > max / mult)
        return -1;
    *out = v * mult;
    return 0;
}

uint64_t cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t cli_epoch_offset(void)
{
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    uint64_t real = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
    return real - cli_now();
}

void cli_random(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            perror("plebnet: getrandom");
            exit(1);
        }
        p += r;
        n -= (size_t)r;
    }
}

void cli_random_mac(struct pn_mac *mac)
{
    cli_random(mac->b, 6);
    mac->b[0] = (uint8_t)((mac->b[0] & 0xfc) | 0x02);
}

bool cli_run_stacks(struct pn_stack **stacks, int n, bool (*done)(void *arg), void *arg,
                    uint64_t timeout_ns)
{
    uint64_t end = cli_now() + timeout_ns;
    struct pollfd pfd[8];
    for (;;) {
        uint64_t now = cli_now();
        for (int i = 0; i < n; i++)
            pn_stack_poll(stacks[i], now);
        if (done && done(arg))
            return true;
        now = cli_now();
        if (now >= end)
            return false;
        uint64_t next = end;
        int nfd = 0;
        for (int i = 0; i < n; i++) {
            uint64_t d = pn_stack_next_deadline(stacks[i]);
            if (d < next)
                next = d;
            int fd = pn_stack_fd(stacks[i]);
            if (fd >= 0 && nfd < 8)
                pfd[nfd++] = (struct pollfd){.fd = fd, .events = POLLIN};
        }
        if (next <= now)
            continue;
        uint64_t wait_ns = next - now;
        if (nfd > 0) {
            int ms = (int)((wait_ns + 999999) / 1000000);
            poll(pfd, (nfds_t)nfd, ms);
        } else {
            struct timespec ts = {(time_t)(wait_ns / 1000000000ull), (long)(wait_ns % 1000000000ull)};
            nanosleep(&ts, NULL);
        }
    }
}
