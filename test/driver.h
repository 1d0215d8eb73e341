/*
 * driver.h: what the test drivers (framing-driver, offload-driver,
 * pcapng-driver) share: memory they cannot do without, packets typed as
 * hex, numbers, and the limits of the architecture they were built for.
 * Any slip in what a test typed is fatal: a test that typed its packet
 * wrong must not pass by accident.
 */
#ifndef DRIVER_H
#define DRIVER_H

#include <stddef.h>
#include <stdint.h>

/* driver_alloc(n): n bytes of memory, or at least 1; exits when there are none. */
uint8_t	*driver_alloc(size_t n);

/*
 * driver_hex(text, len, out, max, lineno): turns the hex digits of
 * text[0..len), spaces between bytes skipped, into bytes at out, which has
 * room for max of them; returns how many, or exits with status 1.  lineno
 * names the line in messages.
 */
size_t	driver_hex(const char *text, size_t len, uint8_t *out, size_t max,
	    size_t lineno);

/*
 * driver_number(sp, max, what, status): reads the decimal number at *sp,
 * at most max, and leaves *sp just past it; exits with status, naming
 * what, for anything else.  Hand-made rather than strtoull() so that a
 * sign, a leading space or an empty number is an error instead of being
 * quietly accepted.
 */
uint64_t driver_number(const char **sp, uint64_t max, const char *what,
	    int status);

/*
 * driver_limits(): prints on standard output the limits of the types that
 * differ between this build's architectures, a line each, so that a test
 * can give the largest number the build can take:
 *
 *	size_max N	(SIZE_MAX: 2^32 - 1 on 32-bit architectures)
 *	long_min N	(LONG_MIN)
 *	long_max N	(LONG_MAX)
 *
 * and exits 0.
 */
void	driver_limits(void) __attribute__((noreturn));

#endif
