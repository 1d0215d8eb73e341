/*
 * fuzz-replay: a main for a libFuzzer harness (test/fuzz-*.c) where there
 * is no libFuzzer: a cross compiler's build, run under qemu-user by make
 * check-cross.  Linked with one harness, it hands the harness each file
 * named on the command line once, as libFuzzer hands it a corpus file:
 *
 *	fuzz-replay FILE...
 *
 * A broken promise aborts inside the harness, as it does under libFuzzer,
 * and so kills this program by SIGABRT; a file that cannot be read exits
 * with status 1.  Before each file it prints "FILE: N bytes", so that a
 * failure comes after the name of its input.  Exit status 0: every file
 * went through.  Not installed.
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The whole of the file at path, in memory of *size bytes (at least 1). */
static uint8_t *
slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL, *more;
	size_t room = 0, n;

	if (f == NULL)
		err(1, "%s", path);
	*size = 0;
	do {
		if (*size == room) {
			room = room ? 2 * room : 4096;
			if ((more = realloc(data, room)) == NULL)
				err(1, "%s: %zu bytes", path, room);
			data = more;
		}
		n = fread(data + *size, 1, room - *size, f);
		*size += n;
	} while (n > 0);
	if (ferror(f))
		err(1, "%s", path);
	fclose(f);
	return data;
}

int
main(int argc, char *argv[])
{
	uint8_t *data;
	size_t size;
	int i;

	if (argc < 2)
		errx(2, "usage: %s FILE...", argv[0]);
	for (i = 1; i < argc; i++) {
		data = slurp(argv[i], &size);
		printf("%s: %zu bytes\n", argv[i], size);
		fflush(stdout);
		LLVMFuzzerTestOneInput(data, size);
		free(data);
	}
	return 0;
}
