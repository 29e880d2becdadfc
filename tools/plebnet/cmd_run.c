/* tools/plebnet/cmd_run.c — `plebnet run [link options] [-v] [--] CMD ARGS...`: runs an
 * unmodified, dynamically linked program with libplebnet-preload.so in LD_PRELOAD, so that
 * its IPv4 TCP and UDP sockets live on a plebnet stack (docs/PRELOAD.md). This command opens
 * no link itself: it checks the link options, hands them to the shim as PLEBNET_LINK,
 * PLEBNET_ADDR, PLEBNET_GW, PLEBNET_MAC and PLEBNET_PCAP, and replaces itself with CMD.
 * Call chain: cmd_run -> linkspec_option / linkspec_finish (same syntax and errors as the
 * shim's own parse) -> find_shim -> setenv(PLEBNET_*) -> set_preload -> warn_unpreloadable
 * -> execvp(CMD); in CMD the shim's pl_init parses the same variables again with
 * linkspec_finish. */
#define _GNU_SOURCE /* realpath, pread, setenv */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "cli.h"
#include "linkspec.h"

#define SHIM_NAME "libplebnet-preload.so"

#ifndef PLEBNET_LIBDIR
#define PLEBNET_LIBDIR "/usr/local/lib"
#endif

static void run_help(void)
{
    printf("usage: plebnet run [link options] [-v] [--] CMD [ARGS...]\n\n"
           "Runs CMD (an unmodified, dynamically linked program) with the plebnet socket shim\n"
           "(" SHIM_NAME ") preloaded: its IPv4 TCP and UDP sockets use one userspace\n"
           "stack on the given link, inside CMD's own process. Files, pipes, AF_UNIX and\n"
           "AF_INET6 sockets stay with the kernel. Without '--', CMD is the first argument\n"
           "that is not an option. See docs/PRELOAD.md.\n\n"
           "options:\n"
           "  -v, --verbose       print the environment given to CMD (to stderr) before\n"
           "                      running it\n"
           "  -h, --help          show this help\n\n"
           "environment:\n"
           "  PLEBNET_PRELOAD     the shim to preload (default: " SHIM_NAME " next to\n"
           "                      the plebnet binary, else in " PLEBNET_LIBDIR ")\n"
           "  LD_PRELOAD          kept: the shim is put in front of what it lists\n\n"
           "Exit status: CMD's own; 2 for bad options; 1 if the shim is missing; 126 if CMD\n"
           "cannot be executed, 127 if it is not found (as in a shell).\n\n%s",
           linkspec_help);
}

/* A path the dynamic loader can take from LD_PRELOAD: ld.so(8) splits the list at spaces
 * and colons, so such a path could not be given to it. */
static bool preloadable(const char *path)
{
    return path[0] && !strpbrk(path, " :\t");
}

/* Where the shim is: $PLEBNET_PRELOAD, else next to /proc/self/exe (the build directory puts
 * plebnet and the shim side by side), else the installed library directory. Writes an
 * absolute path into out, or a one-line reason into err and returns -1. */
static int find_shim(char *out, size_t outlen, char *err, size_t errlen)
{
    const char *env = getenv("PLEBNET_PRELOAD");
    if (env && *env) {
        char abs[PATH_MAX];
        if (!realpath(env, abs)) {
            snprintf(err, errlen, "PLEBNET_PRELOAD: '%.200s': %s", env, strerror(errno));
            return -1;
        }
        if (access(abs, R_OK) < 0) {
            snprintf(err, errlen, "PLEBNET_PRELOAD: '%.200s': %s", env, strerror(errno));
            return -1;
        }
        if (strlen(abs) >= outlen || !preloadable(abs)) {
            snprintf(err, errlen,
                     "PLEBNET_PRELOAD: '%.200s': a path with spaces or colons cannot go into "
                     "LD_PRELOAD",
                     abs);
            return -1;
        }
        strcpy(out, abs);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            size_t dl = (size_t)(slash + 1 - self);
            if (dl + sizeof(SHIM_NAME) <= outlen) {
                memcpy(out, self, dl);
                memcpy(out + dl, SHIM_NAME, sizeof(SHIM_NAME));
                if (access(out, R_OK) == 0 && preloadable(out))
                    return 0;
            }
        }
    }
    snprintf(out, outlen, "%s/%s", PLEBNET_LIBDIR, SHIM_NAME);
    if (access(out, R_OK) == 0 && preloadable(out))
        return 0;
    snprintf(err, errlen,
             "cannot find " SHIM_NAME " (looked next to the plebnet binary and in " PLEBNET_LIBDIR
             "; set PLEBNET_PRELOAD to its path)");
    return -1;
}

/* LD_PRELOAD = shim, then what was there (ld.so(8): a space- or colon-separated list,
 * loaded in order, before the program's own libraries). An existing copy of the same shim is
 * not added twice (`plebnet run` inside `plebnet run`). */
static int set_preload(const char *shim, char *err, size_t errlen)
{
    const char *old = getenv("LD_PRELOAD");
    if (!old || !*old)
        return setenv("LD_PRELOAD", shim, 1) == 0 ? 0 : -1;
    size_t sl = strlen(shim);
    for (const char *p = old; *p;) {
        size_t len = strcspn(p, " :");
        if (len == sl && strncmp(p, shim, sl) == 0)
            return 0;
        p += len;
        p += strspn(p, " :");
    }
    size_t need = sl + 1 + strlen(old) + 1;
    char *v = malloc(need);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(v, need, "%s:%s", shim, old);
    int rc = setenv("LD_PRELOAD", v, 1);
    free(v);
    if (rc < 0)
        snprintf(err, errlen, "cannot set LD_PRELOAD: %s", strerror(errno));
    return rc;
}

/* The file execvp would run for cmd (PATH search as execvp(3) does it), or false. */
static bool resolve_cmd(const char *cmd, char *out, size_t outlen)
{
    if (strchr(cmd, '/'))
        return (size_t)snprintf(out, outlen, "%s", cmd) < outlen;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/bin:/usr/bin";
    for (const char *p = path;;) {
        size_t len = strcspn(p, ":");
        /* An empty PATH entry means the current directory. */
        int n = len ? snprintf(out, outlen, "%.*s/%s", (int)len, p, cmd)
                    : snprintf(out, outlen, "./%s", cmd);
        if (n > 0 && (size_t)n < outlen && access(out, X_OK) == 0)
            return true;
        if (!p[len])
            return false;
        p += len + 1;
    }
}

/* Warns (one line, CMD still runs) when the dynamic loader will not preload the shim into
 * cmd: a statically linked ELF has no PT_INTERP, so no ld.so reads LD_PRELOAD (ld.so(8));
 * a set-user-ID or set-group-ID program, or one with file capabilities, runs in
 * secure-execution mode (AT_SECURE), where ld.so ignores preload paths containing slashes. Either
 * way its sockets would silently stay with the kernel. Scripts and anything unreadable are left
 * alone. */
static void warn_unpreloadable(const char *cmd)
{
    char path[PATH_MAX];
    if (!resolve_cmd(cmd, path, sizeof(path)))
        return;
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return;
    /* File capabilities (capabilities(7), "security.capability") also make AT_SECURE,
     * unless they add nothing (root already holds every capability). */
    bool caps = geteuid() != 0 && getxattr(path, "security.capability", NULL, 0) > 0;
    if ((st.st_mode & S_ISUID && st.st_uid != geteuid()) ||
        (st.st_mode & S_ISGID && st.st_gid != getegid()) || caps) {
        fprintf(stderr,
                "plebnet: run: warning: %s is %s: the loader ignores LD_PRELOAD there "
                "(secure-execution mode), its sockets stay with the kernel\n",
                cmd, caps ? "privileged by file capabilities" : "set-user/group-ID");
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    Elf64_Ehdr eh; /* the 32-bit header is a prefix-compatible, smaller layout */
    ssize_t n = pread(fd, &eh, sizeof(eh), 0);
    bool is_elf = n >= (ssize_t)sizeof(Elf32_Ehdr) && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0;
    bool interp = false, known = false;
    if (is_elf && eh.e_ident[EI_CLASS] == ELFCLASS64 && n == (ssize_t)sizeof(eh) &&
        eh.e_phentsize == sizeof(Elf64_Phdr)) {
        known = true;
        for (unsigned i = 0; i < eh.e_phnum && !interp; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph)) {
                known = false;
                break;
            }
            interp = ph.p_type == PT_INTERP;
        }
    } else if (is_elf && eh.e_ident[EI_CLASS] == ELFCLASS32) {
        Elf32_Ehdr e32;
        if (pread(fd, &e32, sizeof(e32), 0) == sizeof(e32) &&
            e32.e_phentsize == sizeof(Elf32_Phdr)) {
            known = true;
            for (unsigned i = 0; i < e32.e_phnum && !interp; i++) {
                Elf32_Phdr ph;
                if (pread(fd, &ph, sizeof(ph), (off_t)e32.e_phoff + (off_t)(i * sizeof(ph))) !=
                    sizeof(ph)) {
                    known = false;
                    break;
                }
                interp = ph.p_type == PT_INTERP;
            }
        }
    }
    close(fd);
    if (known && !interp)
        fprintf(stderr,
                "plebnet: run: warning: %s is statically linked: LD_PRELOAD cannot "
                "reach it, its sockets stay with the kernel\n",
                cmd);
}

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"verbose", no_argument, 0, 'v'},
                                         {"help", no_argument, 0, 'h'},
                                         LINKSPEC_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    static const char *const env_names[] = {"PLEBNET_LINK", "PLEBNET_ADDR", "PLEBNET_GW",
                                            "PLEBNET_MAC", "PLEBNET_PCAP"};
    /* The command line's value of each option, exactly as given: the shim parses these
     * strings again, so they need no re-encoding. The last of a repeated option wins, as it
     * does in linkspec_option. */
    const char *given[5] = {NULL, NULL, NULL, NULL, NULL};
    struct linkspec ls;
    linkspec_init(&ls);
    bool verbose = false;
    char err[512];
    int o;
    opterr = 0;
    optind = 1;
    /* '+': stop at CMD, so that CMD's own options are left alone. */
    while ((o = getopt_long(argc, argv, "+:vh", opts, NULL)) != -1) {
        int r = linkspec_option(&ls, o, optarg, err, sizeof(err));
        if (r < 0)
            return cli_usage_error("run", "%s", err);
        if (r > 0) {
            given[o - LINKSPEC_OPT_LINK] = optarg;
            continue;
        }
        switch (o) {
        case 'v':
            verbose = true;
            break;
        case 'h':
            run_help();
            return 0;
        case ':':
            return cli_usage_error("run", "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("run", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("run", "no command given (want plebnet run [options] -- CMD ...)");
    if (!argv[optind][0])
        return cli_usage_error("run", "empty command name");
    if (linkspec_finish(&ls, err, sizeof(err)) < 0)
        return cli_usage_error("run", "%s", err);
    /* Links the shim could never open: fail here with the same words linkspec_open uses. */
    if (ls.kind == LINKSPEC_LOOP)
        return cli_usage_error(
            "run",
            "--link loop joins two stacks inside one process: only 'plebnet demo' can use it");
    if (ls.kind == LINKSPEC_TAP)
        return cli_usage_error(
            "run", "--link tap:%s: tap links are not supported yet (use vxlan:...)", ls.ifname);

    char shim[PATH_MAX];
    if (find_shim(shim, sizeof(shim), err, sizeof(err)) < 0)
        return cli_fail("run", "%s", err);
    for (int i = 0; i < 5; i++) {
        if (given[i] && setenv(env_names[i], given[i], 1) < 0)
            return cli_fail("run", "cannot set %s: %s", env_names[i], strerror(errno));
    }
    if (set_preload(shim, err, sizeof(err)) < 0)
        return cli_fail("run", "%s", err);
    if (verbose) {
        fprintf(stderr, "plebnet: run: LD_PRELOAD=%s", getenv("LD_PRELOAD"));
        for (int i = 0; i < 5; i++) {
            const char *v = getenv(env_names[i]);
            if (v && *v)
                fprintf(stderr, " %s=%s", env_names[i], v);
        }
        fprintf(stderr, " exec %s\n", argv[optind]);
    }
    warn_unpreloadable(argv[optind]);
    fflush(NULL);
    execvp(argv[optind], argv + optind);
    /* Only reached when the exec failed. Like a shell (POSIX XCU 2.8.2): 127 when the
     * command is not found, 126 when it was found but cannot be executed. */
    int e = errno;
    fprintf(stderr, "plebnet: run: %s: %s\n", argv[optind],
            e == ENOENT ? "command not found" : strerror(e));
    return e == ENOENT ? 127 : 126;
}
