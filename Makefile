# tunpipe: C and libc only.  Honours CC, CFLAGS, CPPFLAGS and LDFLAGS;
# make install takes PREFIX, BINDIR, MANDIR and DESTDIR.
CC ?= cc
CFLAGS ?= -O2
CFLAGS += -Wall -Wextra
BATS ?= bats
BATSFLAGS ?=
MUSL_GCC = musl-gcc

PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man

PROG = tunpipe
OBJS = tunpipe.o framing.o
SRCS = tunpipe.c framing.c
TEST_PROGS = test/framing-driver test/relay

all: $(PROG)

$(PROG): $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS)

tunpipe.o: tunpipe.c framing.h
framing.o: framing.c framing.h

# A statically linked tunpipe, with musl when musl-gcc is installed (Debian:
# musl-tools): static glibc needs its NSS libraries at run time to look up
# the users of -o and -U.  musl-gcc sees only musl's headers, so the
# kernel's are linked into static-include for the time of the build.
static: $(PROG)-static

$(PROG)-static: $(SRCS) framing.h
	rm -rf static-include
	if command -v $(MUSL_GCC) >/dev/null 2>&1; then \
		asm=/usr/include/$$($(MUSL_GCC) -print-multiarch)/asm; \
		[ -d "$$asm" ] || asm=/usr/include/asm; \
		mkdir static-include && \
		ln -s /usr/include/linux /usr/include/asm-generic "$$asm" \
		    static-include && \
		$(MUSL_GCC) $(CPPFLAGS) -isystem static-include $(CFLAGS) \
		    -static $(LDFLAGS) -o $@ $(SRCS); \
	else \
		echo "no $(MUSL_GCC) (Debian: musl-tools): linking" \
		    "glibc statically; -o and -U then need its NSS libraries" >&2; \
		$(CC) $(CPPFLAGS) $(CFLAGS) -static $(LDFLAGS) -o $@ $(SRCS); \
	fi; \
	status=$$?; rm -rf static-include; exit $$status

install: $(PROG)
	mkdir -p "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1"
	cp -f $(PROG) "$(DESTDIR)$(BINDIR)/$(PROG)"
	chmod 755 "$(DESTDIR)$(BINDIR)/$(PROG)"
	cp -f $(PROG).1 "$(DESTDIR)$(MANDIR)/man1/$(PROG).1"
	chmod 644 "$(DESTDIR)$(MANDIR)/man1/$(PROG).1"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/$(PROG)" "$(DESTDIR)$(MANDIR)/man1/$(PROG).1"

test/framing-driver: test/framing-driver.c framing.c framing.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -I. $(LDFLAGS) -o $@ test/framing-driver.c framing.c

test/relay: test/relay.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ test/relay.c

# Installs missing test tools (as root on Debian) first, the compilers
# among them, then builds and runs every test.
check:
	test/need-tools
	$(MAKE) $(PROG) $(TEST_PROGS)
	$(BATS) $(BATSFLAGS) test

demo:
	test/need-tools cc ip ping socat sha256sum timeout
	$(MAKE) $(PROG)
	examples/demo.sh

clean:
	rm -rf $(PROG) $(PROG)-static $(OBJS) $(TEST_PROGS) static-include

.PHONY: all static install uninstall check demo clean
