/* link/pcap.c — a link wrapper that writes every frame sent and received through the
 * inner link to a pcap file with libpcap (LINKTYPE_ETHERNET), readable by tshark.
 * Call chain: stack -> pcap tx -> dump -> inner tx; inner rx -> dump -> stack. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plebnet/errors.h"
#include "plebnet/link.h"

struct pcap_link {
    struct pn_link link; /* must be first */
    struct pn_link *inner;
    pcap_t *pcap;
    pcap_dumper_t *dumper;
    uint64_t epoch_offset_ns;
};

static void dump(struct pcap_link *w, const struct pn_pbuf *p, uint64_t now)
{
    uint64_t t = now + w->epoch_offset_ns;
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(t / 1000000000ull);
    h.ts.tv_usec = (suseconds_t)((t % 1000000000ull) / 1000);
    h.caplen = h.len = p->len;
    pcap_dump((u_char *)w->dumper, &h, p->data);
}

static int pcap_rx(struct pn_link *l, struct pn_pbuf_pool *pool, struct pn_pbuf **out, int max,
                   uint64_t now)
{
    struct pcap_link *w = (struct pcap_link *)l;
    int n = w->inner->ops->rx_burst(w->inner, pool, out, max, now);
    for (int i = 0; i < n; i++)
        dump(w, out[i], now);
    l->counters = w->inner->counters;
    return n;
}

static int pcap_tx(struct pn_link *l, struct pn_pbuf **frames, int n, uint64_t now)
{
    struct pcap_link *w = (struct pcap_link *)l;
    for (int i = 0; i < n; i++)
        dump(w, frames[i], now);
    int sent = w->inner->ops->tx_burst(w->inner, frames, n, now);
    l->counters = w->inner->counters;
    return sent;
}

static int pcap_fd(struct pn_link *l)
{
    return pn_link_fd(((struct pcap_link *)l)->inner);
}

static uint64_t pcap_next_deadline(struct pn_link *l)
{
    return pn_link_next_deadline(((struct pcap_link *)l)->inner);
}

static void pcap_destroy(struct pn_link *l)
{
    struct pcap_link *w = (struct pcap_link *)l;
    pcap_dump_close(w->dumper);
    pcap_close(w->pcap);
    pn_link_destroy(w->inner);
    free(w);
}

static const struct pn_link_ops pcap_ops = {
    .name = "pcap",
    .rx_burst = pcap_rx,
    .tx_burst = pcap_tx,
    .fd = pcap_fd,
    .next_deadline = pcap_next_deadline,
    .destroy = pcap_destroy,
};

int pn_link_pcap_wrap(struct pn_link *inner, const char *path, uint64_t epoch_offset_ns,
                      struct pn_link **out, char *errbuf, size_t errbuf_len)
{
    if (!inner || !path)
        return PN_EINVAL;
    struct pcap_link *w = calloc(1, sizeof(*w));
    if (!w)
        return PN_ENOMEM;
    /* Snap length: the largest frame the inner link carries, at least 65535. */
    int snap = inner->caps.max_frame > 65535 ? (int)inner->caps.max_frame : 65535;
    w->pcap = pcap_open_dead(DLT_EN10MB, snap);
    if (!w->pcap) {
        free(w);
        return PN_ENOMEM;
    }
    w->dumper = pcap_dump_open(w->pcap, path);
    if (!w->dumper) {
        if (errbuf && errbuf_len)
            snprintf(errbuf, errbuf_len, "%s", pcap_geterr(w->pcap));
        pcap_close(w->pcap);
        free(w);
        return PN_EIO;
    }
    w->inner = inner;
    w->epoch_offset_ns = epoch_offset_ns;
    w->link.ops = &pcap_ops;
    w->link.caps = inner->caps;
    *out = &w->link;
    return 0;
}
