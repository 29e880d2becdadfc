/* tools/plebnet/cmd_stats.c — `plebnet stats`-style counter output that ping and nc print
 * at exit with -v: the stack's non-zero counters, the link's counters and, on a vxlan link,
 * its own counters and what the kernel offered (GSO/GRO).
 * Call chain: cmd_ping / cmd_nc -> cli_print_stats -> pn_stack_stats, pn_vxlan_get_*. */
#include <inttypes.h>
#include "cli.h"

static void row(FILE *f, const char *name, uint64_t v)
{
    if (v)
        fprintf(f, "  %-26s %12" PRIu64 "\n", name, v);
}

void cli_print_stats(FILE *f, const struct pn_stack *s, struct pn_link *inner)
{
    const struct pn_stats *st = pn_stack_stats(s);
    fprintf(f, "stack counters (non-zero):\n");
    for (unsigned i = 0; i < pn_stats_count; i++)
        row(f, pn_stats_names[i], pn_stats_get(st, i));
    struct pn_link *l = pn_stack_link(s);
    fprintf(f, "link %s:\n", l->ops->name);
    row(f, "rx_frames", l->counters.rx_frames);
    row(f, "rx_bytes", l->counters.rx_bytes);
    row(f, "rx_dropped", l->counters.rx_dropped);
    row(f, "tx_frames", l->counters.tx_frames);
    row(f, "tx_bytes", l->counters.tx_bytes);
    row(f, "tx_dropped", l->counters.tx_dropped);
    if (inner && pn_link_is_vxlan(inner)) {
        struct pn_vxlan_info info;
        struct pn_vxlan_counters c;
        char ip[PN_IP4_STRLEN];
        pn_vxlan_get_info(inner, &info);
        pn_vxlan_get_counters(inner, &c);
        fprintf(f, "vxlan: local %s:%u vni %u, %d remote(s), %u fdb entries, gso %s, gro %s\n",
                pn_ip4_format(info.local.addr, ip), info.local.port, info.vni, info.n_remotes,
                info.fdb_entries, info.gso ? "on" : "off", info.gro ? "on" : "off");
#define VX(name) row(f, #name, c.name)
        VX(rx_short);
        VX(rx_bad_flags);
        VX(rx_wrong_vni);
        VX(rx_oversize);
        VX(rx_no_buffer);
        VX(rx_gro_batches);
        VX(tx_flooded);
        VX(tx_no_remote);
        VX(tx_gso_batches);
        VX(tx_errors);
        VX(fdb_learned);
        VX(fdb_moved);
        VX(fdb_aged);
        VX(fdb_full);
#undef VX
    }
}
