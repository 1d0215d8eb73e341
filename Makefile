# tunpipe: C and libc only.  Honours CC, CFLAGS, CPPFLAGS and LDFLAGS;
# make install takes PREFIX, BINDIR, MANDIR and DESTDIR.
CC ?= cc
CFLAGS ?= -O2
CFLAGS += -Wall -Wextra
# On 32-bit systems too: -w's capture past 2 GiB, and clocks past 2038.
CPPFLAGS += -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
BATS ?= bats
BATSFLAGS ?=
MUSL_GCC = musl-gcc

PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man

PROG = tunpipe
OBJS = tunpipe.o figures.o framing.o judge.o offload.o pcapng.o starter.o \
	confine.o capture.o device.o
SRCS = tunpipe.c figures.c framing.c judge.c offload.c pcapng.c starter.c \
	confine.c capture.c device.c
TEST_PROGS = test/figures-driver test/framing-driver test/offload-driver \
	test/pcapng-driver test/judge-driver test/relay test/lossy test/splitter \
	test/seccomp-shim.so

all: $(PROG)

$(PROG): $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS)

tunpipe.o: tunpipe.c figures.h framing.h judge.h offload.h pcapng.h \
    starter.h confine.h capture.h device.h
figures.o: figures.c figures.h
framing.o: framing.c framing.h
judge.o: judge.c judge.h framing.h offload.h
offload.o: offload.c offload.h
pcapng.o: pcapng.c pcapng.h
starter.o: starter.c starter.h
confine.o: confine.c confine.h
capture.o: capture.c capture.h pcapng.h
device.o: device.c device.h offload.h

# A statically linked tunpipe, with musl when musl-gcc is installed (Debian:
# musl-tools): static glibc needs its NSS libraries at run time to look up
# the users of -o and -U.  musl-gcc sees only musl's headers, so the
# kernel's are linked into static-include for the time of the build.
static: $(PROG)-static

$(PROG)-static: $(SRCS) figures.h framing.h judge.h offload.h pcapng.h \
    starter.h confine.h capture.h device.h
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

test/figures-driver: test/figures-driver.c test/driver.c test/driver.h figures.c \
    figures.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -I. $(LDFLAGS) -o $@ test/figures-driver.c \
	    test/driver.c figures.c

test/framing-driver: test/framing-driver.c test/driver.c test/driver.h framing.c \
    framing.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -I. $(LDFLAGS) -o $@ test/framing-driver.c \
	    test/driver.c framing.c

test/offload-driver: test/offload-driver.c test/packet-ref.c \
    test/packet-ref.h test/driver.c test/driver.h offload.c offload.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -I. $(LDFLAGS) -o $@ \
	    test/offload-driver.c test/packet-ref.c test/driver.c offload.c

test/pcapng-driver: test/pcapng-driver.c test/driver.c test/driver.h pcapng.c \
    pcapng.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -I. $(LDFLAGS) -o $@ test/pcapng-driver.c \
	    test/driver.c pcapng.c

test/judge-driver: test/judge-driver.c test/driver.c test/driver.h judge.c \
    judge.h framing.c framing.h offload.c offload.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -I. $(LDFLAGS) -o $@ test/judge-driver.c \
	    test/driver.c judge.c framing.c offload.c

test/relay: test/relay.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ test/relay.c

test/lossy: test/lossy.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ test/lossy.c

test/splitter: test/splitter.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ test/splitter.c

test/seccomp-shim.so: test/seccomp-shim.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -fPIC $(LDFLAGS) -o $@ \
	    test/seccomp-shim.c -ldl

# Installs missing test tools (as root on Debian) first, the compilers
# among them, then builds and runs every test.
check:
	test/need-tools
	$(MAKE) $(PROG) $(TEST_PROGS)
	$(BATS) $(BATSFLAGS) test

# make memcheck: the end-to-end tests that start tunpipe as TUNPIPE, run
# with tunpipe under valgrind's memcheck; any error or leak in any run
# fails.  (exec.bats and seccomp.bats find tunpipe by its command line or
# test the filter that valgrind cannot run under, so they stay out.)
MEMCHECK_TESTS = test/tunnel.bats test/tap.bats test/ending.bats \
	test/badinput.bats test/counters.bats test/offload.bats \
	test/offloads.bats test/mismatch.bats
memcheck:
	test/need-tools valgrind
	$(MAKE) $(PROG) $(TEST_PROGS)
	logs=$$(mktemp -d) && \
	MEMCHECK_LOGS=$$logs TUNPIPE=$(CURDIR)/test/valgrind-tunpipe \
	    $(BATS) $(BATSFLAGS) $(MEMCHECK_TESTS); status=$$?; \
	runs=$$(ls $$logs | wc -l); \
	if grep -l . $$logs/* >/dev/null 2>&1; then \
		cat $$logs/*; echo "memcheck: errors or leaks in" \
		    "$$(grep -l . $$logs/* | wc -l) of $$runs runs"; status=1; \
	else echo "memcheck: $$runs runs of tunpipe, no error, no leak"; fi; \
	rm -rf $$logs; exit $$status

# make bench (as root): tunpipe's throughput, packet rate, latency, CPU,
# memory and syscalls against a veth pair, socat's TUN, ssh -w and OpenVPN,
# between two network namespaces of its own; the median of BENCH_RUNS runs
# (about 20 minutes).  BENCH_SECONDS=2 BENCH_RUNS=1 make bench: a quick run.
bench:
	test/need-tools cc ip ss ping socat iperf3 strace timeout mount \
	    ssh sshd ssh-keygen openvpn
	$(MAKE) $(PROG)
	bench/bench.sh

# make bench-failover (as root): how long traffic between two sites of a
# bird-routed mesh of three stops when the tunpipe link between them dies,
# with bird watching the carrier and without (about 12 minutes).
# FAILOVER_TRIALS=1 make bench-failover: a quick run.
bench-failover:
	test/need-tools cc ip ping socat bird birdc timeout
	$(MAKE) $(PROG)
	bench/failover.sh

# bench/offload-speed: the offload module's split, merge and checksum
# in GB/s on one core, without a device.
bench/offload-speed: bench/offload-speed.c offload.c offload.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -I. $(LDFLAGS) -o $@ \
	    bench/offload-speed.c offload.c

demo:
	test/need-tools cc ip ping socat sha256sum timeout
	$(MAKE) $(PROG)
	examples/demo.sh

clean:
	rm -rf $(PROG) $(PROG)-static $(OBJS) $(TEST_PROGS) static-include \
	    bench/offload-speed

.PHONY: all static install uninstall check memcheck bench bench-failover \
	demo clean

# make check SANITIZE=1: tunpipe and the test programs built with ASan and
# UBSan, run so that any report fails the test.  .sanitize-flags holds the
# sanitizer flags of the last build, and all that they build depends on it:
# turning SANITIZE on or off rebuilds them, never mixing objects.
# tunpipe-static is never sanitized.
ifeq ($(SANITIZE),1)
SANITIZE_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -g
export ASAN_OPTIONS = halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS = halt_on_error=1:abort_on_error=1:print_stacktrace=1
endif
$(OBJS) $(PROG) $(TEST_PROGS): private override CFLAGS += $(SANITIZE_FLAGS)
$(OBJS) $(PROG) $(TEST_PROGS): .sanitize-flags
.sanitize-flags: FORCE
	@echo '$(SANITIZE_FLAGS)' | cmp -s - $@ || echo '$(SANITIZE_FLAGS)' >$@
FORCE:

# make fuzz: a libFuzzer harness per decoder (test/fuzz-framing.c), one
# for the offload module (test/fuzz-offload.c), one for the capture
# encoder (test/fuzz-pcapng.c), one for the frame judge (test/fuzz-judge.c)
# and one for the figures' text (test/fuzz-figures.c), each run for
# FUZZ_SECONDS from its seeds in
# test/fuzz-corpus/; the inputs it finds go to a temporary directory, kept
# with the input if one fails.  FUZZ_TARGETS names the harnesses to run
# (make fuzz FUZZ_TARGETS=pcapng: that one); FUZZ_FRAMINGS, its older
# name, still chooses them.  FUZZ_ARGS adds libFuzzer options.  Needs
# clang's libFuzzer (Debian: libclang-rt-dev).
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -Wall -Wextra -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
FUZZ_SECONDS = 60
FUZZ_ARGS =
FUZZ_ALL = len16 len32 slip offload pcapng judge figures
FUZZ_FRAMINGS =
FUZZ_TARGETS = $(or $(FUZZ_FRAMINGS),$(FUZZ_ALL))
FUZZERS = $(FUZZ_TARGETS:%=test/fuzz-%)
FRAMING_FUZZERS = test/fuzz-len16 test/fuzz-len32 test/fuzz-slip
NO_LIBFUZZER = { echo "$@: $(FUZZ_CC) needs libFuzzer" \
	"(Debian: libclang-rt-dev)" >&2; exit 1; }

$(FRAMING_FUZZERS): test/fuzz-%: test/fuzz-framing.c framing.c framing.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I. -DFUZZ_FRAMING=$* -o $@ \
	    test/fuzz-framing.c framing.c || $(NO_LIBFUZZER)

test/fuzz-offload: test/fuzz-offload.c test/packet-ref.c test/packet-ref.h \
    offload.c offload.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I. -o $@ test/fuzz-offload.c \
	    test/packet-ref.c offload.c || $(NO_LIBFUZZER)

test/fuzz-pcapng: test/fuzz-pcapng.c pcapng.c pcapng.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I. -o $@ test/fuzz-pcapng.c pcapng.c || \
	    $(NO_LIBFUZZER)

test/fuzz-judge: test/fuzz-judge.c judge.c judge.h framing.h offload.c \
    offload.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I. -o $@ test/fuzz-judge.c judge.c \
	    offload.c || $(NO_LIBFUZZER)

test/fuzz-figures: test/fuzz-figures.c figures.c figures.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I. -o $@ test/fuzz-figures.c figures.c || \
	    $(NO_LIBFUZZER)

fuzz:
	test/need-tools clang libfuzzer
	$(MAKE) $(FUZZERS)
	for f in $(FUZZ_TARGETS); do \
		dir=$$(mktemp -d) || exit 1; \
		test/fuzz-$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		    -print_final_stats=1 -artifact_prefix=$$dir/ $(FUZZ_ARGS) \
		    $$dir test/fuzz-corpus/$$f || { echo "fuzz-$$f failed;" \
		    "its input and corpus are in $$dir" >&2; exit 1; }; \
		rm -rf "$$dir"; \
	done

clean: clean-fuzz
clean-fuzz:
	rm -f $(FUZZ_ALL:%=test/fuzz-%) .sanitize-flags

.PHONY: fuzz clean-fuzz FORCE

# make check-kernels (as root): live tunnels on Debian 12's own kernels of
# other architectures, with the seccomp filter on in the guest:
# test/foreign/kernels.bats once for each of KERNEL_ARCHES, one QEMU guest
# (TCG) at a time, each running cross/ARCH/tunpipe-static.  Their kernels
# and busyboxes are fetched (not installed) by test/foreign/fetch-kernel
# into KERNEL_CACHE, kept between runs (remove it to fetch anew).  About
# 5 minutes from an empty cache, 3 once it is full (each guest boots in 3
# to 12 s, its tests take 25 s more).  A kernel that could not be
# fetched fails its architecture's tests, and the others still run.
KERNEL_ARCHES = arm64 armhf s390x ppc64el i386
KERNEL_CACHE = test/foreign/cache
kernel_qemu = $(if $(filter arm64,$(1)),qemu-system-aarch64,$(if $(filter \
	armhf,$(1)),qemu-system-arm,$(if $(filter ppc64el,$(1)),qemu-system-ppc64,qemu-system-$(1))))

check-kernels:
	test/need-tools socat busybox-static modprobe \
	    $(foreach a,$(KERNEL_ARCHES),$(call kernel_qemu,$(a)) $(KERNEL_CC_$(a)))
	$(MAKE) $(PROG) $(KERNEL_ARCHES:%=cross/%/tunpipe-static)
	status=0; \
	for a in $(KERNEL_ARCHES); do \
		test/foreign/fetch-kernel $$a $(KERNEL_CACHE) || status=1; \
		KERNEL_ARCH=$$a KERNEL_CACHE=$(CURDIR)/$(KERNEL_CACHE) \
		    $(BATS) $(BATSFLAGS) test/foreign/kernels.bats || status=1; \
	done; exit $$status

# ---- Until make cross lands, whose cross/%/tunpipe-static takes this
# block's place: the guests' tunpipe, static glibc, by Debian's cross gcc.
KERNEL_CC_arm64 = aarch64-linux-gnu-gcc
KERNEL_CC_armhf = arm-linux-gnueabihf-gcc
KERNEL_CC_s390x = s390x-linux-gnu-gcc
KERNEL_CC_ppc64el = powerpc64le-linux-gnu-gcc
KERNEL_CC_i386 = i686-linux-gnu-gcc
cross/%/tunpipe-static: $(SRCS) figures.h framing.h judge.h offload.h \
    pcapng.h starter.h confine.h capture.h device.h
	mkdir -p $(@D)
	$(KERNEL_CC_$*) $(CPPFLAGS) $(CFLAGS) -static $(LDFLAGS) -o $@ $(SRCS)
# ---- end of the block that make cross replaces ----

.PHONY: check-kernels
