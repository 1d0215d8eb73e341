/*
 * hex.h: what the test drivers (framing-driver, offload-driver,
 * pcapng-driver) share: memory they cannot do without, and packets typed
 * as hex.  Any slip in the hex is fatal, with status 1: a test that typed
 * its packet wrong must not pass by accident.
 */
#ifndef HEX_H
#define HEX_H

#include <stddef.h>
#include <stdint.h>

/* hex_alloc(n): n bytes of memory, or at least 1; exits when there are none. */
uint8_t	*hex_alloc(size_t n);

/*
 * hex_parse(text, len, out, max, lineno): turns the hex digits of
 * text[0..len), spaces between bytes skipped, into bytes at out, which has
 * room for max of them; returns how many.  lineno names the line in
 * messages.
 */
size_t	hex_parse(const char *text, size_t len, uint8_t *out, size_t max,
	    size_t lineno);

#endif
