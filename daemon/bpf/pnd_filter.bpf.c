/* pnd_filter.bpf.c — tc (clsact, cls_bpf direct-action) filters on every lease's host-side
 * veth end: ingress = frames the holder sends, egress = frames delivered to the holder.
 * Loaded once by the parent (pnd_bpf_load); per lease an entry in pnd_leases keyed by ifindex. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Must match struct pnd_bpf_lease in daemon/bpf.h. */
struct lease {
    __u8 mac[6];
    __u8 pad[2];
    __u32 ip; /* network byte order */
    __u32 pad2;
    __u64 in_pass, in_drop, out_pass, out_drop;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __u32); /* host-side ifindex */
    __type(value, struct lease);
} pnd_leases SEC(".maps");

struct arp_eth_ipv4 {
    __be16 htype, ptype;
    __u8 hlen, plen;
    __be16 op;
    __u8 sha[6];
    __u8 spa[4];
    __u8 tha[6];
    __u8 tpa[4];
} __attribute__((packed));

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] &&
           a[5] == b[5];
}

static __always_inline int ip_eq(const __u8 *a, __u32 ip)
{
    __u32 v = (__u32)a[0] | (__u32)a[1] << 8 | (__u32)a[2] << 16 | (__u32)a[3] << 24;
    return v == ip;
}

/* Frames sent from a TX ring (or with vnet_hdr) carry only the Ethernet header in the
 * linear area: pull what the checks read into it first. */
static __always_inline void pull(struct __sk_buff *skb, __u32 want)
{
    __u32 len = skb->len;
    bpf_skb_pull_data(skb, len < want ? len : want);
}

/* Ingress: source MAC = lease; no VLAN tag; IPv4 with source = lease IP (and no DHCP server
 * replies), or ARP (Ethernet/IPv4) with sender MAC and IP = the lease's. Everything else
 * (IPv6, other EtherTypes, 802.1Q/802.1ad, runts) is dropped. */
static __always_inline int ingress_ok(struct __sk_buff *skb, const struct lease *l)
{
    /* The outer tag is stripped into skb metadata before tc runs. */
    if (skb->vlan_present)
        return 0;
    pull(skb, ETH_HLEN + 60 + 4);
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return 0;
    if (!mac_eq(eth->h_source, l->mac))
        return 0;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > end)
            return 0;
        if (ip->version != 4 || ip->ihl < 5 || ip->saddr != l->ip)
            return 0;
        /* A leased host is never a DHCP server: drop UDP from port 67 (first fragments;
         * later fragments carry no ports). */
        if (ip->protocol == IPPROTO_UDP && !(ip->frag_off & bpf_htons(0x1fff))) {
            __be16 sport;
            if (bpf_skb_load_bytes(skb, ETH_HLEN + ip->ihl * 4, &sport, 2) < 0)
                return 0;
            if (sport == bpf_htons(67))
                return 0;
        }
        return 1;
    }
    if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
        struct arp_eth_ipv4 *a = (void *)(eth + 1);
        if ((void *)(a + 1) > end)
            return 0;
        if (a->htype != bpf_htons(1) || a->ptype != bpf_htons(ETH_P_IP) || a->hlen != 6 ||
            a->plen != 4)
            return 0;
        if (a->op != bpf_htons(1) && a->op != bpf_htons(2))
            return 0;
        return mac_eq(a->sha, l->mac) && ip_eq(a->spa, l->ip);
    }
    return 0;
}

/* Egress: destination MAC = lease (IPv4 or ARP), or broadcast ARP asking for the lease IP. */
static __always_inline int egress_ok(struct __sk_buff *skb, const struct lease *l)
{
    if (skb->vlan_present)
        return 0;
    pull(skb, ETH_HLEN + sizeof(struct arp_eth_ipv4));
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return 0;
    if (eth->h_proto != bpf_htons(ETH_P_IP) && eth->h_proto != bpf_htons(ETH_P_ARP))
        return 0;
    if (mac_eq(eth->h_dest, l->mac))
        return 1;
    const __u8 *d = eth->h_dest;
    if ((d[0] & d[1] & d[2] & d[3] & d[4] & d[5]) != 0xff || eth->h_proto != bpf_htons(ETH_P_ARP))
        return 0;
    struct arp_eth_ipv4 *a = (void *)(eth + 1);
    if ((void *)(a + 1) > end)
        return 0;
    return a->htype == bpf_htons(1) && a->ptype == bpf_htons(ETH_P_IP) && a->hlen == 6 &&
           a->plen == 4 && a->op == bpf_htons(1) && ip_eq(a->tpa, l->ip);
}

SEC("tc")
int pnd_ingress(struct __sk_buff *skb)
{
    __u32 key = skb->ifindex;
    struct lease *l = bpf_map_lookup_elem(&pnd_leases, &key);
    if (!l)
        return TC_ACT_SHOT; /* no lease, no traffic */
    if (ingress_ok(skb, l)) {
        __sync_fetch_and_add(&l->in_pass, 1);
        return TC_ACT_OK;
    }
    __sync_fetch_and_add(&l->in_drop, 1);
    return TC_ACT_SHOT;
}

SEC("tc")
int pnd_egress(struct __sk_buff *skb)
{
    __u32 key = skb->ifindex;
    struct lease *l = bpf_map_lookup_elem(&pnd_leases, &key);
    if (!l)
        return TC_ACT_SHOT;
    if (egress_ok(skb, l)) {
        __sync_fetch_and_add(&l->out_pass, 1);
        return TC_ACT_OK;
    }
    __sync_fetch_and_add(&l->out_drop, 1);
    return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
