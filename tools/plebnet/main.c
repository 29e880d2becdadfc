/* tools/plebnet/main.c — the plebnet command: dispatches to a subcommand.
 * Call chain: main -> find subcommand -> cmd_*(argc, argv). */
#include <string.h>
#include "cli.h"

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct pn_cmd commands[] = {
    {"demo", "two stacks in one process: ARP, ping, UDP echo, a TCP transfer", cmd_demo},
    {"ping", "send ICMP echo requests from a userspace stack, like ping(8)", cmd_ping},
    {"nc", "netcat over a userspace stack: stdin -> UDP/TCP -> stdout", cmd_nc},
    {"run", "run an unmodified program with its IPv4 sockets on a userspace stack", cmd_run},
    {"lease", "ask plebnetd for an address lease and hold it until interrupted", pn_cmd_lease},
    {"leases", "list plebnetd's active leases with their counters (root)", pn_cmd_leases},
    {"version", "print the version", cmd_version},
    {"help", "show help for a subcommand", cmd_help},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: plebnet [--help] [--version] <command> [<args>]\n\n"
               "plebnet: a userspace TCP/IP stack for unprivileged processes.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'plebnet <command> --help' for a command's options.\n");
}

static const struct pn_cmd *find(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            printf("usage: plebnet version\n\nPrints the plebnet version.\n");
            return 0;
        }
        return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
    }
    printf("plebnet %s (libplebnet %s)\n", PLEBNET_VERSION_STRING, pn_version());
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    if (argc > 2)
        return cli_usage_error("help", "unexpected argument '%s'", argv[2]);
    const struct pn_cmd *c = find(argv[1]);
    if (!c)
        return cli_usage_error("help", "unknown command '%s'", argv[1]);
    char help[] = "--help";
    char *args[] = {argv[1], help, NULL};
    return c->run(2, args);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv + 1);
    if (argv[1][0] == '-')
        return cli_usage_error(NULL, "unknown option '%s'", argv[1]);
    const struct pn_cmd *c = find(argv[1]);
    if (!c)
        return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
    return c->run(argc - 1, argv + 1);
}
