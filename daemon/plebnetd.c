/* plebnetd.c — entry point of the plebnet lease broker: parses options and the
 * configuration, then runs the privileged parent (which forks the engine).
 * Call chain: main -> pnd_config_load -> [--check-config: exit] -> pnd_parent_main. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pnd.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: plebnetd [--foreground] [--check-config] [-c FILE]\n"
               "  -c, --config FILE   configuration file (default " PND_CONF_PATH ")\n"
               "  -n, --check-config  validate the configuration and exit\n"
               "  -f, --foreground    stay in the foreground and log to stderr\n"
               "  -h, --help          show this help\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'n'},
        {"foreground", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = PND_CONF_PATH;
    bool check = false, fg = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:nfh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'n':
            check = true;
            break;
        case 'f':
            fg = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    static struct pnd_config cfg;
    char err[512];
    if (pnd_config_load(path, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "plebnetd: %s\n", err);
        return 1;
    }
    if (check) {
        printf("plebnetd: %s: configuration OK (%d uplink(s), %d pool(s), %d rule(s))\n", path,
               cfg.nuplinks, cfg.npools, cfg.nrules);
        return 0;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "plebnetd: must be started as root\n");
        return 1;
    }
    if (!fg && daemon(0, 0) < 0) {
        perror("plebnetd: daemon");
        return 1;
    }
    pnd_log_init("plebnetd", fg);
    return pnd_parent_main(&cfg, fg);
}
