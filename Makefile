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
# systemd reads units in /usr/local/lib/systemd/system too.
UNITDIR = $(PREFIX)/lib/systemd/system
# mesh.sh, which the mesh's units run.
LIBEXECDIR = $(PREFIX)/lib/tunpipe
UNITS = tunpipe@.service tunpipe-mesh.service tunpipe-mesh-link@.service

PROG = tunpipe
OBJS = tunpipe.o figures.o framing.o judge.o offload.o pcapng.o starter.o \
	confine.o capture.o device.o notify.o
SRCS = tunpipe.c figures.c framing.c judge.c offload.c pcapng.c starter.c \
	confine.c capture.c device.c notify.c
TEST_PROGS = test/figures-driver test/framing-driver test/offload-driver \
	test/pcapng-driver test/judge-driver test/relay test/lossy test/splitter \
	test/dgram test/notify-listen test/seccomp-shim.so test/refuse-gso.so

all: $(PROG)

$(PROG): $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS)

tunpipe.o: tunpipe.c figures.h framing.h judge.h offload.h pcapng.h \
    starter.h confine.h capture.h device.h notify.h
figures.o: figures.c figures.h
framing.o: framing.c framing.h
judge.o: judge.c judge.h framing.h offload.h
offload.o: offload.c offload.h
pcapng.o: pcapng.c pcapng.h
starter.o: starter.c starter.h
confine.o: confine.c confine.h
capture.o: capture.c capture.h pcapng.h
device.o: device.c device.h offload.h
notify.o: notify.c notify.h

# A statically linked tunpipe, with musl when musl-gcc is installed (Debian:
# musl-tools): static glibc needs its NSS libraries at run time to look up
# the users of -o and -U.  musl-gcc sees only musl's headers, so the
# kernel's are linked into static-include for the time of the build.
static: $(PROG)-static

$(PROG)-static: $(SRCS) figures.h framing.h judge.h offload.h pcapng.h \
    starter.h confine.h capture.h device.h notify.h
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
	mkdir -p "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(LIBEXECDIR)"
	cp -f examples/mesh.sh "$(DESTDIR)$(LIBEXECDIR)/mesh.sh"
	chmod 755 "$(DESTDIR)$(LIBEXECDIR)/mesh.sh"
	for u in $(UNITS); do \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
		    "examples/systemd/$$u" >"$(DESTDIR)$(UNITDIR)/$$u" && \
		chmod 644 "$(DESTDIR)$(UNITDIR)/$$u" || exit 1; \
	done

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/$(PROG)" "$(DESTDIR)$(MANDIR)/man1/$(PROG).1" \
	    "$(DESTDIR)$(LIBEXECDIR)/mesh.sh"
	for u in $(UNITS); do rm -f "$(DESTDIR)$(UNITDIR)/$$u"; done
	rmdir "$(DESTDIR)$(LIBEXECDIR)" 2>/dev/null || true

# The test drivers' sources (make cross builds them for other
# architectures too).
figures-driver_SRCS = test/figures-driver.c test/driver.c figures.c
framing-driver_SRCS = test/framing-driver.c test/driver.c framing.c
offload-driver_SRCS = test/offload-driver.c test/packet-ref.c test/driver.c \
	offload.c
pcapng-driver_SRCS = test/pcapng-driver.c test/driver.c pcapng.c
judge-driver_SRCS = test/judge-driver.c test/driver.c judge.c framing.c \
	offload.c
DRIVERS = figures-driver framing-driver offload-driver pcapng-driver \
	judge-driver
HDRS = $(wildcard *.h test/*.h)

.SECONDEXPANSION:
$(DRIVERS:%=test/%): test/%: $$($$*_SRCS) $(HDRS)
	$(CC) $(CPPFLAGS) $(CFLAGS) -I. $(LDFLAGS) -o $@ $($*_SRCS)

test/relay: test/relay.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ test/relay.c

test/lossy: test/lossy.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ test/lossy.c

test/splitter: test/splitter.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ test/splitter.c

test/dgram: test/dgram.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ test/dgram.c

test/notify-listen: test/notify-listen.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ test/notify-listen.c

test/seccomp-shim.so: test/seccomp-shim.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -fPIC $(LDFLAGS) -o $@ \
	    test/seccomp-shim.c -ldl

test/refuse-gso.so: test/refuse-gso.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -fPIC $(LDFLAGS) -o $@ \
	    test/refuse-gso.c -ldl

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
# memory and syscalls against a veth pair, socat's TUN, ssh -w, sshuttle and
# OpenVPN, between two network namespaces of its own; the median of
# BENCH_RUNS runs (about 20 minutes).  BENCH_SECONDS=2 BENCH_RUNS=1 make
# bench: a quick run.
bench:
	test/need-tools cc ip ss ping socat iperf3 strace timeout mount \
	    ssh sshd ssh-keygen openvpn sshuttle nft passt
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
NO_LIBFUZZER = { echo "$@: $(FUZZ_CC) needs libFuzzer" \
	"(Debian: libclang-rt-dev)" >&2; exit 1; }

# Each harness's sources, and the -D that picks a framing's.
fuzz-len16_SRCS = test/fuzz-framing.c framing.c
fuzz-len32_SRCS = $(fuzz-len16_SRCS)
fuzz-slip_SRCS = $(fuzz-len16_SRCS)
fuzz-offload_SRCS = test/fuzz-offload.c test/packet-ref.c offload.c
fuzz-pcapng_SRCS = test/fuzz-pcapng.c pcapng.c
fuzz-judge_SRCS = test/fuzz-judge.c judge.c offload.c
fuzz-figures_SRCS = test/fuzz-figures.c figures.c
fuzz_defs = $(if $(filter fuzz-len16 fuzz-len32 fuzz-slip,$(1)),$(1:fuzz-%=-DFUZZ_FRAMING=%))

$(FUZZ_ALL:%=test/fuzz-%): test/%: $$($$*_SRCS) $(HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I. $(call fuzz_defs,$*) -o $@ $($*_SRCS) \
	    || $(NO_LIBFUZZER)

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

# make cross: tunpipe for other architectures, with Debian's cross
# compilers, for each Debian architecture of CROSS_ARCHS whose compiler
# (Debian: gcc-TRIPLET) is installed; it names those it lacks and builds
# the rest.  Into cross/ARCH/ go tunpipe (glibc, dynamic), tunpipe-static
# and the statically linked test programs that make check-cross runs under
# qemu-user without a sysroot: the drivers, and each fuzzer's harness with
# test/fuzz-replay.c's main in place of libFuzzer.  Each file is a target
# of its own (make cross/armhf/tunpipe-static), named by the Debian
# architecture.  -Werror: a warning on any architecture fails the build.
#
# tunpipe-static is linked with musl where Debian 12 has a musl for the
# architecture (musl-dev:ARCH, installed beside the cross gcc, whose
# ARCH-linux-musl-gcc goes through the cross gcc with musl's specs file),
# for the reason make static gives.  riscv64 is no release architecture of
# Debian 12 and ppc64 never was one, so neither has a musl-dev: they link
# static glibc, and the linker warns, rightly, that getpwnam, getpwuid
# and initgroups then need glibc's NSS libraries at run time (-o and -U).
# Those are the only warnings make cross prints; the compilers' fail it.
#
# Each architecture: Debian's name, the GNU triplet of its gcc, musl's
# triplet (- where Debian has no musl for it) and qemu-user's name.
CROSS_ARCHS = i386 armhf arm64 riscv64 s390x ppc64el ppc64
CROSS_TABLE = i386:i686-linux-gnu:i386-linux-musl:i386 \
	armhf:arm-linux-gnueabihf:arm-linux-musleabihf:arm \
	arm64:aarch64-linux-gnu:aarch64-linux-musl:aarch64 \
	riscv64:riscv64-linux-gnu:-:riscv64 \
	s390x:s390x-linux-gnu:s390x-linux-musl:s390x \
	ppc64el:powerpc64le-linux-gnu:powerpc64le-linux-musl:ppc64le \
	ppc64:powerpc64-linux-gnu:-:ppc64
cross_field = $(word $(2),$(subst :, ,$(filter $(1):%,$(CROSS_TABLE))))
cross_gcc = $(call cross_field,$(1),2)-gcc
cross_musl = $(call cross_field,$(1),3)
cross_have = $(shell command -v $(call cross_gcc,$(1)))
CROSS_FOUND = $(foreach a,$(CROSS_ARCHS),$(if $(call cross_have,$(a)),$(a)))
CROSS_MISSING = $(filter-out $(CROSS_FOUND),$(CROSS_ARCHS))
CROSS_CFLAGS = $(CFLAGS) -Werror
CROSS_TESTS = $(DRIVERS) $(FUZZ_ALL:%=fuzz-%)
CROSS_PROGS = tunpipe tunpipe-static $(CROSS_TESTS)

# The compiler of cross/ARCH's static programs: musl's where it is
# installed, which sees only musl's headers, and so the kernel's for ARCH
# through cross/ARCH/include; else the GNU one.
cross_has_musl = $(wildcard /usr/lib/$(call cross_musl,$(1))/musl-gcc.specs)
cross_static = $(if $(call cross_has_musl,$(1)),$(call cross_musl,$(1))-gcc \
	-isystem cross/$(1)/include,$(call cross_gcc,$(1)))
# The architectures that Debian has a musl for, but not installed here.
CROSS_NO_MUSL = $(foreach a,$(CROSS_FOUND),$(if $(filter-out \
	-,$(call cross_musl,$(a))),$(if $(call cross_has_musl,$(a)),,$(a))))

cross:
	@[ -n "$(CROSS_FOUND)" ] || { echo "make cross: no cross compiler" \
	    "for $(CROSS_ARCHS); install them (Debian:$(foreach \
	    a,$(CROSS_ARCHS), gcc-$(call cross_field,$(a),2)))" >&2; exit 1; }
	@$(foreach a,$(CROSS_MISSING),echo "make cross: skipping $(a):" \
	    "no $(call cross_gcc,$(a)) (Debian: gcc-$(call \
	    cross_field,$(a),2))" >&2;)
	@$(foreach a,$(CROSS_NO_MUSL),echo "make cross: $(a): no musl" \
	    "(Debian: musl-dev:$(a)); tunpipe-static links glibc" >&2;)
	$(MAKE) $(foreach a,$(CROSS_FOUND),$(CROSS_PROGS:%=cross/$(a)/%))

cross/%/include:
	mkdir -p $@
	ln -sfn $(foreach d,linux asm asm-generic,/usr/$(call \
	    cross_field,$*,2)/include/$(d)) $@

cross/%/tunpipe: $(SRCS) $(HDRS) | cross/%/include
	$(call cross_gcc,$*) $(CPPFLAGS) $(CROSS_CFLAGS) $(LDFLAGS) -o $@ \
	    $(SRCS)

cross/%/tunpipe-static: $(SRCS) $(HDRS) | cross/%/include
	$(call cross_static,$*) $(CPPFLAGS) $(CROSS_CFLAGS) -static \
	    $(LDFLAGS) -o $@ $(SRCS)

# The test programs: the drivers, and the harnesses with fuzz-replay's main.
$(foreach a,$(CROSS_ARCHS),$(CROSS_TESTS:%=cross/$(a)/%)): cross/%: \
    $$($$(notdir $$*)_SRCS) $$(if $$(filter $(FUZZ_ALL:%=fuzz-%),$$(notdir $$*)),test/fuzz-replay.c) \
    $(HDRS) | $$(@D)/include
	$(call cross_static,$(*D)) $(CPPFLAGS) -I. $(call fuzz_defs,$(*F)) \
	    $(CROSS_CFLAGS) -static $(LDFLAGS) -o $@ $(filter %.c,$^)

# make check-cross: for each architecture that make cross builds, the
# suites of one module each and test/cross/cross.bats (the fuzzers'
# corpora, and -N replays compared with this machine's) with that
# architecture's programs, under qemu-user (test/cross/check-arch), two
# architectures at a time, the slowest first.  qemu-user starts each
# program in some 15 ms, and codec.bats and gso.bats start theirs 2,000
# times: they run on CROSS_FULL_ARCHS only, 32-bit ARM, a big-endian one
# and i386 (which this machine's kernel runs without qemu).  offload.bats
# is no driver suite: it needs a device.
# Installs what it needs first: the cross compilers, musl for each
# architecture that Debian 12 has it for, and qemu-user.
CROSS_SUITES = test/pcapng.bats test/judge.bats test/figures.bats \
	test/cross/cross.bats
CROSS_FULL_SUITES = test/codec.bats test/gso.bats $(CROSS_SUITES)
CROSS_FULL_ARCHS = armhf s390x i386
# cross_tools ARCH: the compilers of an architecture's programs, and the
# GNU C library's headers for it (TRIPLET-libc; with the kernel's, which
# musl's builds take too).
cross_tools = $(call cross_gcc,$(1)) $(call cross_field,$(1),2)-libc \
	$(if $(filter-out \
	-,$(call cross_musl,$(1))),$(call cross_musl,$(1))-gcc)
CROSS_TOOLS = $(foreach a,$(CROSS_ARCHS),$(call cross_tools,$(a)) \
	qemu-$(call cross_field,$(a),4)-static)

check-cross:
	test/need-tools $(CROSS_TOOLS)
	$(MAKE) -j2 $(PROG) test/framing-driver test/pcapng-driver cross
	start=$$(date +%s); $(MAKE) -k -j2 -Otarget $(addprefix check-cross/, \
	    $(filter $(CROSS_FOUND),$(CROSS_FULL_ARCHS)) $(filter-out \
	    $(CROSS_FULL_ARCHS),$(CROSS_FOUND))); status=$$?; \
	echo "# check-cross: $$(($$(date +%s) - start)) s"; exit $$status

check-cross/%: FORCE
	BATS='$(BATS)' BATSFLAGS='$(BATSFLAGS)' \
	    test/cross/check-arch $* $(call cross_field,$*,4) \
	    $(call cross_field,$*,2) $(if $(filter $*,$(CROSS_FULL_ARCHS)),$(CROSS_FULL_SUITES),$(CROSS_SUITES))

clean: clean-cross
clean-cross:
	rm -rf cross

.PHONY: cross check-cross clean-cross

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
	    $(foreach a,$(KERNEL_ARCHES),$(call kernel_qemu,$(a)) $(call cross_tools,$(a)))
	$(MAKE) $(PROG) $(KERNEL_ARCHES:%=cross/%/tunpipe-static)
	status=0; \
	for a in $(KERNEL_ARCHES); do \
		test/foreign/fetch-kernel $$a $(KERNEL_CACHE) || status=1; \
		KERNEL_ARCH=$$a KERNEL_CACHE=$(CURDIR)/$(KERNEL_CACHE) \
		    $(BATS) $(BATSFLAGS) test/foreign/kernels.bats || status=1; \
	done; exit $$status

.PHONY: check-kernels
