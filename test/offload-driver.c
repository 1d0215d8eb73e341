/*
 * offload-driver: runs the offload module (offload.h) from the command
 * line, so that test/gso.bats can feed it packets built by hand and compare
 * what comes out with what it worked out.  Not installed.
 *
 *	offload-driver split [-T | -Z]
 *	offload-driver merge [-t | -u] [-T | -Z]
 *	offload-driver fix [-p] [-T]
 *	offload-driver check [-T]
 *	offload-driver vnet
 *	offload-driver isip
 *
 * Every command reads lines of hex on standard input, one packet or frame
 * a line; spaces in a line are skipped, so that a test can show where the
 * headers end.  -T: packets start with an Ethernet header (TAP mode).
 *
 * split reads frames as the device hands them over, a 10-byte virtio-net
 * header and a packet, and does what tunpipe does with them: a GSO packet
 * is cut into segments, each written into a buffer of exactly
 * offload_split_next_len() bytes so that a sanitizer sees an overrun, and
 * printed a line each; an ordinary packet gets its checksum finished if
 * the header says so, and is printed.  A frame the module refuses prints
 * "refused: " and what refused it.  -Z cuts each GSO packet with a split
 * left zeroed, never readied by offload_split_begin().
 *
 * merge reads packets as decoded from one read of the stream: they are
 * laid one after another, each after two bytes of framing, in one buffer
 * of their exact size, and offered in turn to the merge; when it refuses
 * one, the batches it has to be taken are, and the packet is offered
 * again; at the end, everything is taken.  Each batch is printed, in the
 * order taken, as the frame written to the device: the pieces of
 * offload_merge_take() one after another, a virtio-net header and a
 * packet, which split reads.  The driver checks that every piece but the
 * first lies in the buffer (payloads are not copied), and that a refused
 * packet is taken once what was due is.  The merge joins TCP and UDP, or
 * only TCP (-t) or only UDP (-u), as the device's offloads allow.  -Z
 * leaves the merge as a zeroed struct, never readied by
 * offload_merge_init(), in neither mode.
 *
 * fix writes the checksums into each packet with the simple reference of
 * packet-ref.c and prints it (-p: the TCP or UDP checksum field gets the
 * pseudo-header's sum, as in a GSO packet from the device).  check prints
 * "ok" for each packet that the reference finds whole and right, else
 * what is wrong.  vnet prints the fields of each 10-byte virtio-net header,
 * or "refused"; isip prints 1 or 0 for each packet, as offload_is_ip()
 * answers.
 *
 * Exit status: 0 when every line was read, 1 for bad input, 2 for a bad
 * command line, 3 when the module broke a promise offload.h makes.
 */
#define _POSIX_C_SOURCE 200809L	/* getline() */

#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "offload.h"
#include "driver.h"
#include "packet-ref.h"

#define EXIT_USAGE	2
#define EXIT_MODULE	3

#define FRAME_MAX	(OFFLOAD_VNET_LEN + 65535 + 18)
#define FRAMING_BYTES	2	/* before each packet in merge's buffer */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: offload-driver check [-T]\n"
	    "       offload-driver split [-T | -Z]\n"
	    "       offload-driver merge [-t | -u] [-T | -Z]\n"
	    "       offload-driver fix [-p] [-T]\n"
	    "       offload-driver vnet|isip\n");
	exit(EXIT_USAGE);
}

static void
print_hex(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
}

/* Reads the next line of hex into buf; returns 0 at the end. */
static int
next_line(char **line, size_t *cap, uint8_t *buf, size_t *len,
    size_t *lineno)
{
	if (getline(line, cap, stdin) == -1) {
		if (ferror(stdin))
			err(1, "stdin");
		return 0;
	}
	++*lineno;
	*len = driver_hex(*line, strcspn(*line, "\n"), buf, FRAME_MAX,
	    *lineno);
	return 1;
}

static void
finish_output(void)
{
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
}

/*
 * Cuts the GSO packet pkt[0..len) and prints its segments; with zeroed,
 * a split never readied has the job.
 */
static void
split_gso(const struct offload_vnet *v, const uint8_t *pkt, size_t len,
    int ether, int zeroed)
{
	struct offload_split s;
	size_t want, got, total = 0;
	uint8_t *seg;

	if (zeroed) {
		memset(&s, 0, sizeof(s));
	} else if (offload_split_begin(&s, v, pkt, len, ether) == -1) {
		if (offload_split_next_len(&s) != 0)
			errx(EXIT_MODULE, "module: a refused split has a "
			    "segment");
		printf("refused: GSO packet\n");
		return;
	}
	while ((want = offload_split_next_len(&s)) != 0) {
		if (want > len || total > len)
			errx(EXIT_MODULE, "module: segment %zu of %zu bytes "
			    "from a packet of %zu", total + 1, want, len);
		seg = driver_alloc(want);
		got = offload_split_next(&s, seg);
		if (got != want)
			errx(EXIT_MODULE, "module: a segment of %zu bytes, "
			    "%zu announced", got, want);
		print_hex(seg, got);
		printf("\n");
		free(seg);
		total++;
	}
	if (offload_split_next(&s, NULL) != 0)
		errx(EXIT_MODULE, "module: a segment after the last");
}

/* split: each frame as tunpipe sends it on from the device. */
static int
split(int ether, int zeroed)
{
	struct offload_vnet v;
	size_t cap = 0, lineno = 0, len;
	uint8_t *buf = driver_alloc(FRAME_MAX), *pkt;
	char *line = NULL;

	while (next_line(&line, &cap, buf, &len, &lineno)) {
		if (offload_vnet_parse(buf, len, &v) == -1) {
			printf("refused: virtio-net header\n");
			continue;
		}
		/* The packet alone, in a buffer of its size. */
		pkt = driver_alloc(len - OFFLOAD_VNET_LEN);
		memcpy(pkt, buf + OFFLOAD_VNET_LEN, len - OFFLOAD_VNET_LEN);
		if (v.gso_type != OFFLOAD_GSO_NONE) {
			split_gso(&v, pkt, len - OFFLOAD_VNET_LEN, ether,
			    zeroed);
		} else if (offload_finish_csum(pkt, len - OFFLOAD_VNET_LEN,
		    &v) == -1) {
			printf("refused: checksum offsets\n");
		} else {
			print_hex(pkt, len - OFFLOAD_VNET_LEN);
			printf("\n");
		}
		free(pkt);
	}
	free(line);
	free(buf);
	finish_output();
	return 0;
}

/*
 * Takes the batches to be taken and prints each as one frame, checking
 * where its pieces lie: the first in w, the others in [in, in + inlen).
 */
static void
take(struct offload_merge *m, const uint8_t *in, size_t inlen)
{
	struct offload_write w;
	size_t n, i;

	while ((n = offload_merge_take(m, &w)) > 0) {
		if (n > OFFLOAD_PIECES_MAX || n == 1 || n != w.npieces ||
		    w.npackets != n - 1)
			errx(EXIT_MODULE, "module: %zu pieces", n);
		for (i = 0; i < n; i++) {
			const uint8_t *p = w.pieces[i].data;
			int inside = p >= in && p + w.pieces[i].len <= in + inlen;

			if (i == 0 && (p != w.head ||
			    w.pieces[0].len < OFFLOAD_VNET_LEN ||
			    w.pieces[0].len > OFFLOAD_VNET_LEN +
			    OFFLOAD_HEAD_MAX))
				errx(EXIT_MODULE, "module: a first piece of "
				    "%zu bytes", w.pieces[0].len);
			if (i > 0 && !inside)
				errx(EXIT_MODULE, "module: piece %zu is not "
				    "in the input: a payload was copied", i);
			print_hex(p, w.pieces[i].len);
		}
		printf("\n");
	}
}

/*
 * merge: the packets of one read of the stream, on their way to the
 * device, merged by a merge of kinds (TCP and UDP unless -t or -u).
 */
static int
merge(int ether, int zeroed, int kinds)
{
	struct offload_merge m;
	size_t cap = 0, lineno = 0, len, total = 0, i, count = 0;
	size_t *lens = NULL;
	uint8_t *buf = driver_alloc(FRAME_MAX), *all = NULL, *in, *p;
	char *line = NULL;

	/* All packets first, then laid out in one buffer of their size. */
	while (next_line(&line, &cap, buf, &len, &lineno)) {
		if ((lens = realloc(lens, (count + 1) * sizeof(*lens))) == NULL ||
		    (all = realloc(all, total + FRAMING_BYTES + len)) == NULL)
			err(1, "realloc");
		lens[count++] = len;
		memset(all + total, 0xee, FRAMING_BYTES);
		memcpy(all + total + FRAMING_BYTES, buf, len);
		total += FRAMING_BYTES + len;
	}
	in = driver_alloc(total);
	if (total > 0)
		memcpy(in, all, total);
	free(all);

	if (zeroed)
		memset(&m, 0, sizeof(m));
	else
		offload_merge_init(&m, ether, kinds);
	for (p = in, i = 0; i < count; p += FRAMING_BYTES + lens[i], i++) {
		if (offload_merge_add(&m, p + FRAMING_BYTES, lens[i]) == 1)
			continue;
		if (offload_merge_empty(&m))
			errx(EXIT_MODULE, "module: an empty merge refused a "
			    "packet");
		take(&m, in, total);
		if (offload_merge_add(&m, p + FRAMING_BYTES, lens[i]) != 1)
			errx(EXIT_MODULE, "module: a packet refused again, "
			    "once what was due was taken");
	}
	offload_merge_flush(&m);
	take(&m, in, total);
	if (!offload_merge_empty(&m))
		errx(EXIT_MODULE, "module: a merge not empty once flushed");
	free(lens);
	free(in);
	free(line);
	free(buf);
	finish_output();
	return 0;
}

/* fix and check: the reference's view of each packet. */
static int
reference(int fix, int partial, int ether)
{
	size_t cap = 0, lineno = 0, len;
	uint8_t *buf = driver_alloc(FRAME_MAX);
	const char *wrong;
	char *line = NULL;

	while (next_line(&line, &cap, buf, &len, &lineno)) {
		if (fix) {
			if (ref_fix(buf, len, ether, partial) == -1)
				errx(1, "line %zu: no TCP or UDP header",
				    lineno);
			print_hex(buf, len);
			printf("\n");
		} else {
			wrong = ref_check(buf, len, ether);
			printf("%s\n", wrong != NULL ? wrong : "ok");
		}
	}
	free(line);
	free(buf);
	finish_output();
	return 0;
}

/* vnet and isip: one answer a line. */
static int
answer(int vnet)
{
	struct offload_vnet v;
	size_t cap = 0, lineno = 0, len;
	uint8_t *buf = driver_alloc(FRAME_MAX), *pkt, raw[OFFLOAD_VNET_LEN];
	char *line = NULL;

	while (next_line(&line, &cap, buf, &len, &lineno)) {
		pkt = driver_alloc(len);
		memcpy(pkt, buf, len);
		if (!vnet) {
			printf("%d\n", offload_is_ip(pkt, len));
		} else if (offload_vnet_parse(pkt, len, &v) == -1) {
			printf("refused\n");
		} else {
			printf("flags %u gso_type %u hdr_len %u gso_size %u "
			    "csum_start %u csum_offset %u\n", v.flags,
			    v.gso_type, v.hdr_len, v.gso_size, v.csum_start,
			    v.csum_offset);
			offload_vnet_encode(&v, raw);
			if (memcmp(raw, pkt, OFFLOAD_VNET_LEN) != 0)
				errx(EXIT_MODULE, "module: line %zu encodes "
				    "differently", lineno);
		}
		free(pkt);
	}
	free(line);
	free(buf);
	finish_output();
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *cmd;
	int ch, ether = 0, partial = 0, zeroed = 0;
	int kinds = OFFLOAD_MERGE_TCP | OFFLOAD_MERGE_UDP;

	if (argc < 2)
		usage();
	cmd = argv[1];
	argc--;
	argv++;
	while ((ch = getopt(argc, argv, "pTtuZ")) != -1) {
		switch (ch) {
		case 'p':
			partial = 1;
			break;
		case 'T':
			ether = 1;
			break;
		case 't':
			kinds = OFFLOAD_MERGE_TCP;
			break;
		case 'u':
			kinds = OFFLOAD_MERGE_UDP;
			break;
		case 'Z':
			zeroed = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (partial && strcmp(cmd, "fix") != 0) ||
	    (kinds != (OFFLOAD_MERGE_TCP | OFFLOAD_MERGE_UDP) &&
	    strcmp(cmd, "merge") != 0) ||
	    (zeroed && (ether || (strcmp(cmd, "merge") != 0 &&
	    strcmp(cmd, "split") != 0))))
		usage();
	if (strcmp(cmd, "split") == 0)
		return split(ether, zeroed);
	if (strcmp(cmd, "merge") == 0)
		return merge(ether, zeroed, kinds);
	if (strcmp(cmd, "fix") == 0 || strcmp(cmd, "check") == 0)
		return reference(strcmp(cmd, "fix") == 0, partial, ether);
	if (ether)
		usage();
	if (strcmp(cmd, "vnet") == 0)
		return answer(1);
	if (strcmp(cmd, "isip") == 0)
		return answer(0);
	usage();
}
