/*
 * pcapng.c: the capture encoder described in pcapng.h.
 */
#include <string.h>

#include "pcapng.h"

/* Block types. */
#define SHB_TYPE	0x0a0d0d0aU
#define IDB_TYPE	1U
#define EPB_TYPE	6U

#define BYTE_ORDER_MAGIC 0x1a2b3c4dU

/* Option codes, by block; opt_endofopt is 0 in every block. */
#define OPT_ENDOFOPT	0
#define SHB_USERAPPL	4
#define IF_NAME		2
#define IF_TSRESOL	9
#define EPB_FLAGS	2
#define EPB_DROPCOUNT	4

#define TSRESOL_NANO	9	/* 10^-9 s */

/* A block's type and length before its body, and its length again after. */
#define BLOCK_OVERHEAD	12
#define SHB_FIXED	16	/* magic, version, section length */
#define IDB_FIXED	8	/* link type, reserved, snaplen */
#define OPTION_HEADER	4	/* code and length */

static size_t
pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)v);
	return put16(p, (uint16_t)(v >> 16));
}

static uint8_t *
put64(uint8_t *p, uint64_t v)
{
	p = put32(p, (uint32_t)v);
	return put32(p, (uint32_t)(v >> 32));
}

/*
 * An option's code, length and value, and the zero bytes that pad the
 * value to a multiple of 4.
 */
static uint8_t *
put_option(uint8_t *p, uint16_t code, const void *value, size_t len)
{
	p = put16(p, code);
	p = put16(p, (uint16_t)len);
	if (len > 0)
		memcpy(p, value, len);
	memset(p + len, 0, pad4(len) - len);
	return p + pad4(len);
}

/* The bytes of a string option, or 0 when it is left out. */
static size_t
string_option_len(const char *s)
{
	return s != NULL && *s != '\0' ? OPTION_HEADER + pad4(strlen(s)) : 0;
}

static int
string_too_long(const char *s)
{
	return s != NULL && strlen(s) > PCAPNG_STRING_MAX;
}

/* The SHB's length: with its option list only when it has an option. */
static size_t
shb_len(const char *application)
{
	size_t opts = string_option_len(application);

	return BLOCK_OVERHEAD + SHB_FIXED + (opts > 0 ? opts + OPTION_HEADER :
	    0);
}

/* The IDB's length: if_tsresol is always there, if_name maybe. */
static size_t
idb_len(const char *ifname)
{
	return BLOCK_OVERHEAD + IDB_FIXED + string_option_len(ifname) +
	    OPTION_HEADER + 4 + OPTION_HEADER;
}

size_t
pcapng_header_len(const char *ifname, const char *application)
{
	if (string_too_long(ifname) || string_too_long(application))
		return 0;
	return shb_len(application) + idb_len(ifname);
}

static uint8_t *
put_shb(uint8_t *p, const char *application)
{
	uint32_t len = (uint32_t)shb_len(application);

	p = put32(p, SHB_TYPE);
	p = put32(p, len);
	p = put32(p, BYTE_ORDER_MAGIC);
	p = put16(p, 1);		/* major version */
	p = put16(p, 0);		/* minor version */
	p = put64(p, UINT64_MAX);	/* section length: -1, not given */
	if (string_option_len(application) > 0) {
		p = put_option(p, SHB_USERAPPL, application,
		    strlen(application));
		p = put_option(p, OPT_ENDOFOPT, NULL, 0);
	}
	return put32(p, len);
}

static uint8_t *
put_idb(uint8_t *p, uint16_t linktype, uint32_t snaplen, const char *ifname)
{
	uint32_t len = (uint32_t)idb_len(ifname);
	uint8_t tsresol = TSRESOL_NANO;

	p = put32(p, IDB_TYPE);
	p = put32(p, len);
	p = put16(p, linktype);
	p = put16(p, 0);		/* reserved */
	p = put32(p, snaplen);
	if (string_option_len(ifname) > 0)
		p = put_option(p, IF_NAME, ifname, strlen(ifname));
	p = put_option(p, IF_TSRESOL, &tsresol, 1);
	p = put_option(p, OPT_ENDOFOPT, NULL, 0);
	return put32(p, len);
}

size_t
pcapng_header(uint8_t *buf, size_t room, uint16_t linktype,
    uint32_t snaplen, const char *ifname, const char *application)
{
	size_t len = pcapng_header_len(ifname, application);

	if (len == 0 || len > room)
		return 0;
	put_idb(put_shb(buf, application), linktype, snaplen, ifname);
	return len;
}

size_t
pcapng_epb_len(size_t caplen, uint64_t dropped)
{
	if (caplen > PCAPNG_CAPLEN_MAX)
		return 0;
	/* header, packet, epb_flags, [epb_dropcount,] opt_endofopt, length */
	return PCAPNG_EPB_DATA + pad4(caplen) + OPTION_HEADER + 4 +
	    (dropped > 0 ? OPTION_HEADER + 8 : 0) + OPTION_HEADER + 4;
}

size_t
pcapng_epb(uint8_t *buf, size_t room, const struct pcapng_packet *pkt)
{
	size_t len = pcapng_epb_len(pkt->caplen, pkt->dropped);
	uint8_t flags[4], count[8], *p;

	if (len == 0 || len > room || pkt->caplen > pkt->len ||
	    pkt->len > UINT32_MAX || (pkt->direction != PCAPNG_INBOUND &&
	    pkt->direction != PCAPNG_OUTBOUND))
		return 0;
	/* First, while the packet's bytes may still lie where the rest goes. */
	if (pkt->caplen > 0 && pkt->data != buf + PCAPNG_EPB_DATA)
		memmove(buf + PCAPNG_EPB_DATA, pkt->data, pkt->caplen);

	p = put32(buf, EPB_TYPE);
	p = put32(p, (uint32_t)len);
	p = put32(p, 0);			/* interface ID */
	p = put32(p, (uint32_t)(pkt->time >> 32));
	p = put32(p, (uint32_t)pkt->time);
	p = put32(p, (uint32_t)pkt->caplen);
	p = put32(p, (uint32_t)pkt->len);
	p += pkt->caplen;
	memset(p, 0, pad4(pkt->caplen) - pkt->caplen);
	p += pad4(pkt->caplen) - pkt->caplen;

	put32(flags, (uint32_t)pkt->direction);	/* bits 0-1 */
	p = put_option(p, EPB_FLAGS, flags, sizeof(flags));
	if (pkt->dropped > 0) {
		put64(count, pkt->dropped);
		p = put_option(p, EPB_DROPCOUNT, count, sizeof(count));
	}
	p = put_option(p, OPT_ENDOFOPT, NULL, 0);
	put32(p, (uint32_t)len);
	return len;
}

size_t
pcapng_block_len(const uint8_t *block)
{
	return (size_t)block[4] | (size_t)block[5] << 8 |
	    (size_t)block[6] << 16 | (size_t)block[7] << 24;
}
