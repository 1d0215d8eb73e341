/*
 * driver.c: the test drivers' shared helpers, described in driver.h.
 */
#include <err.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "driver.h"

uint8_t *
driver_alloc(size_t n)
{
	uint8_t *p;

	/* malloc(0) may return NULL. */
	if ((p = malloc(n > 0 ? n : 1)) == NULL)
		err(1, "malloc");
	return p;
}

/* The value of one hex digit, or -1. */
static int
digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
driver_hex(const char *text, size_t len, uint8_t *out, size_t max,
    size_t lineno)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i += 2) {
		if (text[i] == ' ') {
			i--;
			continue;
		}
		if (i + 1 == len)
			errx(1, "line %zu: odd number of hex digits", lineno);
		hi = digit(text[i]);
		lo = digit(text[i + 1]);
		if (hi < 0 || lo < 0)
			errx(1, "line %zu: not hex: %.2s", lineno, text + i);
		if (n == max)
			errx(1, "line %zu: a packet over %zu bytes", lineno,
			    max);
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return n;
}

uint64_t
driver_number(const char **sp, uint64_t max, const char *what, int status)
{
	const char *s = *sp;
	uint64_t n = 0, digit;

	if (*s < '0' || *s > '9')
		errx(status, "%s: not a number: %s", what, *sp);
	for (; *s >= '0' && *s <= '9'; s++) {
		digit = (uint64_t)(*s - '0');
		if (digit > max || n > (max - digit) / 10)
			errx(status, "%s: more than %" PRIu64 ": %s", what, max,
			    *sp);
		n = n * 10 + digit;
	}
	*sp = s;
	return n;
}

void
driver_limits(void)
{
	printf("size_max %zu\nlong_min %ld\nlong_max %ld\n", (size_t)SIZE_MAX,
	    LONG_MIN, LONG_MAX);
	if (fflush(stdout) == EOF)
		err(1, "stdout");
	exit(0);
}
