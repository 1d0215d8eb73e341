/*
 * figures.c: tunpipe's figures as text (see figures.h).
 *
 * Pure code: no system calls, no printing, no state but the caller's
 * buffer; tunpipe.c reads the clocks and prints the text.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "figures.h"

/*
 * A text being written into buf[0..size): len is the length of all that
 * was added, even past what fits, so that the caller learns how long the
 * whole text is.
 */
struct text {
	char *buf;
	size_t size;
	size_t len;
};

/* Adds to t what fmt says, as much of it as fits. */
static void __attribute__((format(printf, 2, 3)))
add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (t->len < t->size)
		n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	else	/* full: only measured */
		n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n;
}

/* Adds ", N what" when show says that count applies. */
static void
add_count(struct text *t, int show, uint64_t n, const char *what)
{
	if (show)
		add(t, ", %" PRIu64 " %s", n, what);
}

/*
 * The drops of each kind that can happen in this run: nothing goes to the
 * device with no device, only SLIP frames are damaged, only -r breaks a
 * stream.
 */
static void
add_drops(struct text *t, const struct figures_run *run,
    const struct figures_counters *c)
{
	add(t, "tunpipe: %s: dropped: %" PRIu64 " not %s", run->name,
	    c->drop_invalid, run->tap ? "Ethernet" : "IP");
	add_count(t, run->device, c->drop_device, "device write failed");
	add_count(t, run->device, c->drop_oversize, "too large to frame");
	add_count(t, run->slip, c->drop_damaged, "damaged");
	add_count(t, run->respawn, c->drop_cut, "cut by a stream break");
	add(t, "\n");
}

/* The first line: the device's mode, MTU, carrier and uptime. */
static void
add_device(struct text *t, const struct figures_run *run,
    const struct figures_moment *m)
{
	add(t, "tunpipe: %s (%s, ", run->name, run->tap ? "tap" : "tun");
	if (run->device)
		add(t, "mtu %d%s", m->mtu, !run->command ? "" :
		    m->carrier == 0 ? ", carrier off" : ", carrier on");
	else
		add(t, "no device");
	add(t, ", up %" PRId64 "s)\n", m->up_ms / 1000);
}

size_t
figures_counters_text(char *text, size_t size,
    const struct figures_run *run, const struct figures_counters *c,
    const struct figures_moment *m)
{
	struct text t = { text, size, 0 };

	if (size > 0)
		text[0] = '\0';
	add_device(&t, run, m);
	add(&t, "tunpipe: %s: ", run->name);
	if (run->device)
		add(&t, "to stream: %" PRIu64 " packets, %" PRIu64
		    " bytes; ", c->out_packets, c->out_bytes);
	add(&t, "from stream: %" PRIu64 " packets, %" PRIu64 " bytes\n",
	    c->in_packets, c->in_bytes);
	add(&t, "tunpipe: %s: empty frames: %" PRIu64 " in", run->name,
	    m->keepalives_in);
	if (run->keepalive)
		add(&t, ", %" PRIu64 " out", c->keepalives);
	add(&t, "\n");
	add_drops(&t, run, c);
	if (run->command)
		add(&t, "tunpipe: %s: restarts of -e: %" PRIu64 "\n",
		    run->name, c->restarts);
	if (run->capture)
		add(&t, "tunpipe: %s: capture: %" PRIu64 " lost\n",
		    run->name, m->capture_lost);
	return t.len;
}

/* Adds " key=value" when show says it applies. */
static void
add_figure(struct text *t, int show, const char *key, uint64_t value)
{
	if (show)
		add(t, " %s=%" PRIu64, key, value);
}

/*
 * -s: the rates each way since the last line, but only over
 * FIGURES_RATE_NS or more: over less they mean nothing.
 */
static void
add_rates(struct text *t, const struct figures_counters *c,
    const struct figures_moment *m)
{
	const struct figures_counters *was = &m->then;
	double secs = m->span_ns / 1e9;

	if (m->span_ns < FIGURES_RATE_NS)
		return;
	add(t, " out_pps=%.0f out_bps=%.0f in_pps=%.0f in_bps=%.0f",
	    (double)(c->out_packets - was->out_packets) / secs,
	    (double)(c->out_bytes - was->out_bytes) * 8 / secs,
	    (double)(c->in_packets - was->in_packets) / secs,
	    (double)(c->in_bytes - was->in_bytes) * 8 / secs);
}

/* -s: each kind of drop that happened, under its own key. */
static void
add_drop_figures(struct text *t, const struct figures_run *run,
    const struct figures_counters *c)
{
	add_figure(t, c->drop_invalid != 0, run->tap ? "drop_not_ethernet" :
	    "drop_not_ip", c->drop_invalid);
	add_figure(t, c->drop_device != 0, "drop_refused", c->drop_device);
	add_figure(t, c->drop_oversize != 0, "drop_too_large",
	    c->drop_oversize);
	add_figure(t, c->drop_damaged != 0, "drop_damaged", c->drop_damaged);
	add_figure(t, c->drop_cut != 0, "drop_cut", c->drop_cut);
}

size_t
figures_stats_text(char *text, size_t size, const struct figures_run *run,
    const struct figures_counters *c, const struct figures_moment *m)
{
	struct text t = { text, size, 0 };

	if (size > 0)
		text[0] = '\0';
	add(&t, "tunpipe: %s: t=%.1f", run->name, m->up_ms / 1000.0);
	add_rates(&t, c, m);
	add(&t, " out_packets=%" PRIu64 " out_bytes=%" PRIu64
	    " in_packets=%" PRIu64 " in_bytes=%" PRIu64 " drops=%" PRIu64
	    " backlog=%zu peer_idle=%ld", c->out_packets, c->out_bytes,
	    c->in_packets, c->in_bytes, c->drop_invalid + c->drop_device +
	    c->drop_oversize + c->drop_damaged + c->drop_cut, m->backlog,
	    m->peer_idle);
	add_drop_figures(&t, run, c);
	add_figure(&t, run->keepalive, "keepalives_in", m->keepalives_in);
	add_figure(&t, run->keepalive, "keepalives_out", c->keepalives);
	add_figure(&t, run->command, "restarts", c->restarts);
	add_figure(&t, run->command, "carrier", m->carrier == 0 ? 0 : 1);
	add_figure(&t, run->capture, "capture_lost", m->capture_lost);
	add(&t, "\n");
	return t.len;
}

size_t
figures_status_text(char *text, size_t size, const struct figures_run *run,
    const struct figures_counters *c, const struct figures_moment *m)
{
	struct text t = { text, size, 0 };

	if (size > 0)
		text[0] = '\0';
	add(&t, "%s: up %" PRId64 "s", run->name, m->up_ms / 1000);
	if (run->command && m->carrier == 0)
		add(&t, ", no carrier");
	if (run->device)
		add(&t, "; to stream %" PRIu64 " packets", c->out_packets);
	add(&t, "; from stream %" PRIu64 " packets; %" PRIu64 " dropped",
	    c->in_packets, c->drop_invalid + c->drop_device +
	    c->drop_oversize + c->drop_damaged + c->drop_cut);
	if (run->command)
		add(&t, "; %" PRIu64 " restarts", c->restarts);
	add(&t, "; peer last heard %lds ago", m->peer_idle);
	return t.len;
}
