# tunpipe: C and libc only.  Honours CC, CFLAGS, CPPFLAGS and LDFLAGS.
CC ?= cc
CFLAGS ?= -O2
CFLAGS += -Wall -Wextra
BATS ?= bats
BATSFLAGS ?=

PROG = tunpipe
OBJS = tunpipe.o framing.o
TEST_PROGS = test/framing-driver test/relay

all: $(PROG)

$(PROG): $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS)

tunpipe.o: tunpipe.c framing.h
framing.o: framing.c framing.h

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
	rm -f $(PROG) $(OBJS) $(TEST_PROGS)

.PHONY: all check demo clean
