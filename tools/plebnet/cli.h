/* tools/plebnet/cli.h — what the plebnet subcommands share: the subcommand table, strict
 * argument parsing with one-line errors, the real clock, and stack event-loop helpers. */
#ifndef PLEBNET_CLI_H
#define PLEBNET_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "plebnet/plebnet.h"

/* Exit codes: 0 success, 1 the operation failed, 2 bad usage. */
#define EXIT_USAGE 2

struct pn_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
};

/* Prints "plebnet: <cmd>: <message>" and a hint to stderr, returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "plebnet: <cmd>: <message>" to stderr, returns 1. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsing: the whole string, within [min, max]. Return 0 or -1. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds with an optional fraction ("0.2", "1", "1.5") into ns, within [min_ns, max_ns]. */
int cli_parse_seconds(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *out_ns);
/* A byte count with an optional K/M/G suffix (powers of 1024 with "KiB"-style 'i', else 1000). */
int cli_parse_bytes(const char *s, uint64_t max, uint64_t *out);

/* Monotonic clock in ns; and the wall clock minus the monotonic clock (for pcap). */
uint64_t cli_now(void);
uint64_t cli_epoch_offset(void);
/* Fills n bytes from getrandom(). */
void cli_random(void *buf, size_t n);
/* A random locally administered unicast MAC (RFC 7042 §2.1: U/L bit set, I/G clear). */
void cli_random_mac(struct pn_mac *mac);

/* Drives stacks on the real clock until done(arg) returns true or timeout_ns passes.
 * Sleeps on the links' fds / the next deadline instead of spinning. Returns true if done. */
bool cli_run_stacks(struct pn_stack **stacks, int n, bool (*done)(void *arg), void *arg,
                    uint64_t timeout_ns);

int cmd_demo(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_nc(int argc, char **argv);
/* `plebnet run ... -- CMD`: CMD with libplebnet-preload.so preloaded (cmd_run.c). */
int cmd_run(int argc, char **argv);
/* plebnetd clients (cmd_lease.c, cmd_leases.c) */
int pn_cmd_lease(int argc, char **argv);
int pn_cmd_leases(int argc, char **argv);

/* Prints the stack's non-zero counters, the link's, and (inner = the driver's own link, may
 * be NULL) a vxlan link's own counters and offloads, as `-v` shows them at exit. */
void cli_print_stats(FILE *f, const struct pn_stack *s, struct pn_link *inner);

#endif
