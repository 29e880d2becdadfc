/* tests/sim/sim_sweep.c — the simulation runner: runs a range of seeds (a sweep) or one
 * seed (replay, verbose), prints every failing seed with the command that replays it, and
 * exits non-zero if any failed. Call chain: main -> sweep|replay -> sim_scenario_gen ->
 * sim_run. Usage: sim_sweep [--proto udp|tcp|auto] [--seeds N] [--start S] [--jobs J]
 *                           [--seed S [--pcap PREFIX]] [--small B] [--medium-pct P]
 *                           [--large-pct P] [-v] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "sim.h"

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *proto_name(enum sim_proto p)
{
    return p == SIM_TCP ? "tcp" : "udp";
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--proto udp|tcp|auto] [--seeds N] [--start S] [--jobs J] [-v]\n"
            "       %s [--proto udp|tcp|auto] --seed S [--pcap PREFIX]   (replay one seed)\n"
            "  size profile: [--small BYTES] [--medium-pct P] [--large-pct P]\n",
            argv0, argv0);
}

static void print_counters(const char *name, const struct pn_fault_counters *c)
{
    fprintf(stderr,
            "  %s: in=%llu out=%llu lost=%llu dup=%llu corrupt=%llu reord=%llu "
            "rate_drop=%llu blackholed=%llu in_flight=%llu\n",
            name, (unsigned long long)c->frames_in, (unsigned long long)c->frames_out,
            (unsigned long long)c->lost, (unsigned long long)c->duplicated,
            (unsigned long long)c->corrupted, (unsigned long long)c->reordered,
            (unsigned long long)c->rate_dropped, (unsigned long long)c->blackholed,
            (unsigned long long)c->in_flight);
}

/* Runs seeds start + k*jobs + job; returns the number of failures. */
static int sweep(const char *argv0, enum sim_proto proto, const struct sim_profile *prof,
                 uint64_t start, uint64_t count, unsigned job, unsigned jobs, bool verbose)
{
    int failed = 0;
    double slowest = 0;
    uint64_t slowest_seed = start;
    for (uint64_t i = job; i < count; i += jobs) {
        uint64_t seed = start + i;
        struct sim_scenario sc;
        sim_scenario_gen(seed, proto, prof, &sc);
        struct sim_result res;
        double t0 = wall();
        sim_run(&sc, NULL, false, &res);
        double dt = wall() - t0;
        if (dt > slowest) {
            slowest = dt;
            slowest_seed = seed;
        }
        if (!res.ok) {
            failed++;
            printf("FAIL seed=%llu: %s\n", (unsigned long long)seed, res.why);
            sim_scenario_print(&sc, stdout);
            printf("  replay: %s --proto %s --seed %llu\n", argv0, proto_name(proto),
                   (unsigned long long)seed);
        } else if (verbose) {
            printf("ok   seed=%llu %s ab=%llu ba=%llu virtual=%.3fs wall=%.3fs\n",
                   (unsigned long long)seed, proto_name(proto), (unsigned long long)sc.bytes_ab,
                   (unsigned long long)sc.bytes_ba, res.virtual_ns / 1e9, dt);
        }
        fflush(stdout);
    }
    if (verbose)
        printf("job %u: slowest seed %llu took %.2fs\n", job, (unsigned long long)slowest_seed,
               slowest);
    return failed;
}

int main(int argc, char **argv)
{
    const char *proto_arg = "auto", *pcap = NULL;
    uint64_t start = 1, count = 200, one = 0;
    bool replay = false, verbose = false;
    unsigned jobs = 1;
    struct sim_profile prof;
    sim_profile_default(&prof);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-v")) {
            verbose = true;
            continue;
        }
        if (!v) {
            usage(argv[0]);
            return 2;
        }
        i++;
        if (!strcmp(a, "--proto"))
            proto_arg = v;
        else if (!strcmp(a, "--seeds"))
            count = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--start"))
            start = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--seed")) {
            one = strtoull(v, NULL, 0);
            replay = true;
        } else if (!strcmp(a, "--jobs"))
            jobs = (unsigned)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--pcap"))
            pcap = v;
        else if (!strcmp(a, "--small"))
            prof.small_max = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--medium-pct"))
            prof.medium_pct = (unsigned)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--large-pct"))
            prof.large_pct = (unsigned)strtoul(v, NULL, 0);
        else {
            usage(argv[0]);
            return 2;
        }
    }
    if (jobs < 1 || jobs > 64 || prof.small_max > prof.medium_max ||
        prof.medium_pct + prof.large_pct > 100) {
        usage(argv[0]);
        return 2;
    }
    enum sim_proto proto;
    if (!strcmp(proto_arg, "udp"))
        proto = SIM_UDP;
    else if (!strcmp(proto_arg, "tcp"))
        proto = SIM_TCP;
    else if (!strcmp(proto_arg, "auto"))
        proto = sim_tcp_available() ? SIM_TCP : SIM_UDP;
    else {
        usage(argv[0]);
        return 2;
    }
    if (proto == SIM_TCP && !sim_tcp_available()) {
        fprintf(stderr, "sim_sweep: this build has no TCP (PN_SOCK_STREAM not supported)\n");
        return 77;
    }

    if (replay) {
        struct sim_scenario sc;
        sim_scenario_gen(one, proto, &prof, &sc);
        sim_scenario_print(&sc, stderr);
        struct sim_result res;
        double t0 = wall();
        sim_run(&sc, pcap, true, &res);
        fprintf(stderr, "%s: delivered a->b %llu b->a %llu in %.3f s virtual, %llu polls, %.3f s\n",
                res.ok ? "ok" : "FAIL", (unsigned long long)res.delivered[0],
                (unsigned long long)res.delivered[1], res.virtual_ns / 1e9,
                (unsigned long long)res.steps, wall() - t0);
        print_counters("a->b", &res.ab);
        print_counters("b->a", &res.ba);
        if (!res.ok)
            fprintf(stderr, "FAIL seed=%llu: %s\n", (unsigned long long)one, res.why);
        return res.ok ? 0 : 1;
    }

    double t0 = wall();
    printf("sim_sweep: %s, seeds %llu..%llu, %u job(s)\n", proto_name(proto),
           (unsigned long long)start, (unsigned long long)(start + count - 1), jobs);
    fflush(stdout);
    int failed = 0;
    if (jobs == 1) {
        failed = sweep(argv[0], proto, &prof, start, count, 0, 1, verbose);
    } else {
        pid_t pids[64];
        for (unsigned j = 0; j < jobs; j++) {
            pids[j] = fork();
            if (pids[j] == 0)
                _exit(sweep(argv[0], proto, &prof, start, count, j, jobs, verbose) ? 1 : 0);
            if (pids[j] < 0) {
                perror("fork");
                return 2;
            }
        }
        for (unsigned j = 0; j < jobs; j++) {
            int st;
            if (waitpid(pids[j], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                failed++;
        }
    }
    printf("sim_sweep: %s: %s (%.1f s)\n", proto_name(proto),
           failed ? "FAILED (see the seeds above)" : "all seeds passed", wall() - t0);
    return failed ? 1 : 0;
}
