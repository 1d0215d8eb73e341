/*
 * offload-speed: how fast the offload module (offload.h) cuts and merges,
 * on the packets of a bulk TCP transfer: 64 KiB GSO packets over IPv4
 * with timestamps, cut into 45 segments of 1448 bytes and one of 323, and
 * those segments merged back.  No device, no privilege:
 *
 *	make bench/offload-speed && bench/offload-speed [SECONDS]
 *
 * prints, for each of split, merge and finishing a checksum, the bytes of
 * packets handled per second in GB/s, on one core, over SECONDS (default
 * 1) each.  The segments lie in one buffer as a stream read leaves them,
 * each after a 2-byte length, so the merge reads them where they are.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offload.h"

#define MSS		1448
#define PAYLOAD		(65535 - 52)	/* a full IPv4 packet */
#define SEGMENTS	(PAYLOAD / MSS + 1)
#define FRAMING		2

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A 64 KiB GSO packet of IPv4 TCP with timestamps, and its header. */
static size_t
make_gso(uint8_t *pkt, struct offload_vnet *v)
{
	static const uint8_t head[52] = {
		0x45, 0, 0xff, 0xff, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0,
		10, 77, 0, 1, 10, 77, 0, 2,
		0x9c, 0x40, 0x13, 0x89, 0, 0, 0x03, 0xe8, 1, 2, 3, 4,
		0x80, 0x10, 0x01, 0xf5, 0, 0, 0, 0,
		1, 1, 8, 10, 0, 0, 4, 210, 0, 0, 22, 46,
	};
	size_t i;

	memcpy(pkt, head, sizeof(head));
	for (i = 0; i < PAYLOAD; i++)
		pkt[sizeof(head) + i] = (uint8_t)(i * 7);
	memset(v, 0, sizeof(*v));
	v->flags = OFFLOAD_F_NEEDS_CSUM;
	v->gso_type = OFFLOAD_GSO_TCPV4;
	v->hdr_len = sizeof(head);
	v->gso_size = MSS;
	v->csum_start = 20;
	v->csum_offset = 16;
	return sizeof(head) + PAYLOAD;
}

/* Cuts pkt into out, each segment after FRAMING bytes; returns the end. */
static size_t
split_all(const struct offload_vnet *v, const uint8_t *pkt, size_t len,
    uint8_t *out, size_t *lens)
{
	struct offload_split s;
	size_t pos = 0, i = 0;

	if (offload_split_begin(&s, v, pkt, len, 0) == -1) {
		fprintf(stderr, "offload-speed: the split refused the packet\n");
		exit(1);
	}
	while (offload_split_next_len(&s) != 0) {
		pos += FRAMING;
		lens[i] = offload_split_next(&s, out + pos);
		pos += lens[i++];
	}
	return pos;
}

static void
report(const char *what, double bytes, double seconds)
{
	printf("%-8s %6.2f GB/s\n", what, bytes / seconds / 1e9);
}

int
main(int argc, char *argv[])
{
	static uint8_t gso[65536], stream[2 * 65536], copy[65536];
	static struct offload_write w;
	static struct offload_merge m;
	struct offload_vnet v, none = { .flags = OFFLOAD_F_NEEDS_CSUM,
	    .csum_start = 20, .csum_offset = 16 };
	size_t len, lens[SEGMENTS], i, pos, n, batches;
	double seconds = argc > 1 ? atof(argv[1]) : 1, start, bytes;

	len = make_gso(gso, &v);

	start = now();
	for (bytes = 0; now() - start < seconds; bytes += (double)len)
		split_all(&v, gso, len, stream, lens);
	report("split", bytes, now() - start);

	split_all(&v, gso, len, stream, lens);
	start = now();
	for (bytes = 0; now() - start < seconds;) {
		offload_merge_init(&m, 0, OFFLOAD_MERGE_TCP);
		for (i = 0, pos = FRAMING, batches = 0; i < SEGMENTS; i++) {
			if (offload_merge_add(&m, stream + pos, lens[i]) == 0) {
				while (offload_merge_take(&m, &w) > 0)
					batches++;
				offload_merge_add(&m, stream + pos, lens[i]);
			}
			pos += lens[i] + FRAMING;
			bytes += (double)lens[i];
		}
		offload_merge_flush(&m);
		n = offload_merge_take(&m, &w);
		if (batches != 0 || n != SEGMENTS + 1) {
			fprintf(stderr, "offload-speed: the segments did not "
			    "merge into one packet\n");
			return 1;
		}
	}
	report("merge", bytes, now() - start);

	memcpy(copy, gso, len);
	start = now();
	for (bytes = 0; now() - start < seconds; bytes += (double)len)
		offload_finish_csum(copy, len, &none);
	report("checksum", bytes, now() - start);
	return 0;
}
