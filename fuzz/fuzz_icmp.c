/* fuzz/fuzz_icmp.c — libFuzzer target for pn_icmp_parse: a message that parses re-emits to
 * a message with a valid checksum that parses to the same repr and data. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/icmp.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pn_icmp_repr r, back;
    if (pn_icmp_parse(data, size, &r, false) != PN_WIRE_OK)
        return 0;
    CHECK(r.data == data + PN_ICMP_HDR_LEN && r.data_len == size - PN_ICMP_HDR_LEN);
    uint8_t *out = malloc(size);
    CHECK(out != NULL);
    CHECK(pn_icmp_emit(&r, out) == size); /* copies the data from the input */
    CHECK(pn_icmp_parse(out, size, &back, true) == PN_WIRE_OK);
    CHECK(back.type == r.type && back.code == r.code && back.rest == r.rest);
    CHECK(back.id == r.id && back.seq == r.seq && back.data_len == r.data_len);
    /* Everything but the checksum field is byte-identical. */
    CHECK(out[0] == data[0] && out[1] == data[1]);
    CHECK(memcmp(out + 4, data + 4, size - 4) == 0);
    free(out);
    return 0;
}
