/* tests/link/test_links.c — the loop link (hand-over, queue bound, MTU bound, peer gone)
 * and the pcap wrapper (every frame in both directions lands in the file, byte-exact, with
 * the stack's timestamps, readable by libpcap). */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static struct pn_pbuf *frame(struct pn_pbuf_pool *pool, uint32_t len, uint8_t fill)
{
    struct pn_pbuf *p = pn_pbuf_alloc(pool, 0, len);
    assert_non_null(p);
    memset(p->data, fill, len);
    return p;
}

static void test_loop_handover(void **state)
{
    struct pn_link *a, *b;
    assert_int_equal(pn_link_loop_pair(1500, 4, &a, &b), 0);
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_pbuf *f[6];
    for (int i = 0; i < 6; i++)
        f[i] = frame(pool, 60 + (uint32_t)i, (uint8_t)i);
    assert_int_equal(pn_link_next_deadline(b), PN_TIME_NEVER);
    /* Queue of 4: two of six are dropped and counted. */
    assert_int_equal(a->ops->tx_burst(a, f, 6, 0), 4);
    assert_int_equal(a->counters.tx_dropped, 2);
    assert_int_equal(pn_link_next_deadline(b), 0);
    struct pn_pbuf *in[8];
    assert_int_equal(b->ops->rx_burst(b, pool, in, 8, 0), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(in[i]->len, 60 + i); /* in order, unchanged */
        assert_int_equal(in[i]->data[0], i);
        pn_pbuf_free(in[i]);
    }
    /* Larger than MTU + 14 is dropped. */
    struct pn_pbuf *big = frame(pool, 1515, 0);
    assert_int_equal(a->ops->tx_burst(a, &big, 1, 0), 0);
    /* After the peer is gone, sends are dropped, not crashing. */
    pn_link_destroy(b);
    struct pn_pbuf *g = frame(pool, 60, 0);
    assert_int_equal(a->ops->tx_burst(a, &g, 1, 0), 0);
    pn_link_destroy(a);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    pn_pbuf_pool_free(pool);
    assert_int_equal(pn_link_loop_pair(PN_LOOP_MAX_MTU + 1, 0, &a, &b), PN_EINVAL);
}

static void test_loop_destroy_frees_queued(void **state)
{
    struct pn_link *a, *b;
    assert_int_equal(pn_link_loop_pair(0, 0, &a, &b), 0);
    assert_int_equal(a->caps.mtu, 1500);
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_pbuf *f = frame(pool, 100, 1);
    assert_int_equal(a->ops->tx_burst(a, &f, 1, 0), 1);
    pn_link_destroy(a);
    pn_link_destroy(b); /* frees the queued frame */
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    pn_pbuf_pool_free(pool);
}

static void test_pcap_wrapper(void **state)
{
    char path[] = "/tmp/pn_test_pcap_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct pn_link *a, *b, *w;
    assert_int_equal(pn_link_loop_pair(1500, 0, &a, &b), 0);
    char err[256];
    assert_int_equal(pn_link_pcap_wrap(a, path, PN_SEC(1000), &w, err, sizeof(err)), 0);
    struct pn_pbuf_pool *pool = pn_pbuf_pool_new(NULL);
    struct pn_pbuf *out = frame(pool, 64, 0xaa), *back = frame(pool, 70, 0xbb);
    assert_int_equal(w->ops->tx_burst(w, &out, 1, PN_MS(1500)), 1);
    assert_int_equal(b->ops->tx_burst(b, &back, 1, 0), 1);
    struct pn_pbuf *in[2];
    assert_int_equal(w->ops->rx_burst(w, pool, in, 2, PN_MS(2500)), 1);
    pn_pbuf_free(in[0]);
    assert_int_equal(b->ops->rx_burst(b, pool, in, 2, 0), 1);
    pn_pbuf_free(in[0]);
    pn_link_destroy(w); /* closes the file and the inner link */
    pn_link_destroy(b);

    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, ebuf);
    assert_non_null(pc);
    assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
    struct pcap_pkthdr *h;
    const u_char *data;
    assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
    assert_int_equal(h->caplen, 64);
    assert_int_equal(data[0], 0xaa);
    assert_int_equal(h->ts.tv_sec, 1001);
    assert_int_equal(h->ts.tv_usec, 500000);
    assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
    assert_int_equal(h->caplen, 70);
    assert_int_equal(data[69], 0xbb);
    assert_int_equal(h->ts.tv_sec, 1002);
    assert_int_equal(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK);
    pcap_close(pc);
    unlink(path);
    assert_int_equal(pn_pbuf_pool_in_use(pool), 0);
    pn_pbuf_pool_free(pool);

    /* An unwritable path gives PN_EIO and libpcap's reason; the inner link stays ours. */
    assert_int_equal(pn_link_loop_pair(1500, 0, &a, &b), 0);
    err[0] = 0;
    assert_int_equal(pn_link_pcap_wrap(a, "/nonexistent-dir/x.pcap", 0, &w, err, sizeof(err)),
                     PN_EIO);
    assert_true(strlen(err) > 0);
    pn_link_destroy(a);
    pn_link_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_handover),
        cmocka_unit_test(test_loop_destroy_frees_queued),
        cmocka_unit_test(test_pcap_wrapper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
