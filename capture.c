/*
 * capture.c: -w's capture file and the records waiting for it, described
 * in capture.h.  It makes the system calls of the file (open, write,
 * ftruncate) and reads the clocks, and never prints; pcapng.c encodes
 * the records.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"

#define CAPTURE_RETRY	1	/* seconds after a failed write */

/*
 * Creates the file at path, given to uid and gid; or, when there is one
 * (O_EXCL tells), opens it, and its owner stays.
 */
static int
create_file(const char *path, int flags, uid_t uid, gid_t gid,
    enum capture_step *step)
{
	int fd, e;

	*step = CAPTURE_OPEN;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | flags, 0644)) == -1)
		return errno == EEXIST ? open(path, O_WRONLY | O_TRUNC | flags) :
		    -1;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) == -1) {
		e = errno;
		close(fd);
		errno = e;
		*step = CAPTURE_FCHOWN;
		return -1;
	}
	return fd;
}

int
capture_open(const char *path, uid_t uid, gid_t gid, enum capture_step *step)
{
	const int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	struct stat sb;
	int found;

	found = lstat(path, &sb) == 0;
	if (found && S_ISLNK(sb.st_mode)) {
		*step = CAPTURE_SYMLINK;
		errno = ELOOP;
		return -1;
	}
	if (!found || !S_ISFIFO(sb.st_mode))
		return create_file(path, flags, uid, gid, step);
	*step = CAPTURE_OPEN;
	return open(path, O_RDWR | flags);
}

void
capture_start(struct capture_file *cap, int tap, size_t snaplen,
    const char *ifname, const char *application)
{
	cap->tail = pcapng_header(cap->buf, sizeof(cap->buf), tap ?
	    PCAPNG_LINKTYPE_ETHERNET : PCAPNG_LINKTYPE_RAW, (uint32_t)snaplen,
	    ifname, application);
	cap->whole = cap->tail;
}

/*
 * Moves cap->whole past the records that the file has taken whole, so
 * that buf[head..whole) is the rest of the one it took in part, if any.
 */
static void
pass_whole_records(struct capture_file *cap)
{
	while (cap->whole < cap->head) {
		cap->begun = cap->written - (cap->head - cap->whole);
		cap->whole += pcapng_block_len(cap->buf + cap->whole);
	}
}

/*
 * Drops the records that wait behind what must go out (the rest of the
 * one the file took in part, or of the header), counting each lost.
 */
static void
drop_waiting_records(struct capture_file *cap)
{
	size_t at;

	for (at = cap->whole; at < cap->tail; at += pcapng_block_len(cap->buf +
	    at)) {
		cap->dropped++;
		cap->lost++;
	}
	cap->tail = cap->whole;
}

/*
 * After a write failed with e, keeps only what must go out; the next try
 * waits CAPTURE_RETRY seconds.
 */
static void
write_failed(struct capture_file *cap, int e)
{
	drop_waiting_records(cap);
	cap->error = e;
	cap->failing = cap->unsaid = 1;
	clock_gettime(CLOCK_MONOTONIC, &cap->retry);
	cap->retry.tv_sec += CAPTURE_RETRY;
}

int
capture_write(struct capture_file *cap)
{
	ssize_t n;
	int e = 0;

	if (capture_due(cap) > 0)	/* a failed write put it off */
		return 0;
	while (cap->head < cap->tail) {
		n = write(cap->fd, cap->buf + cap->head, cap->tail - cap->head);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN)
			e = errno;
		cap->stuck = n == -1 && errno == EAGAIN;
		if (n <= 0)
			break;
		cap->head += (size_t)n;
		cap->written += (uint64_t)n;
		cap->unsaid |= cap->failing;
		cap->failing = 0;
	}
	pass_whole_records(cap);
	if (e != 0)
		write_failed(cap, e);
	if (cap->head == cap->tail)
		cap->head = cap->whole = cap->tail = 0;
	return capture_waiting(cap);
}

void
capture_packet(struct capture_file *cap, enum pcapng_direction dir,
    const uint8_t *p, size_t len)
{
	struct pcapng_packet pkt = { .direction = dir, .data = p,
	    .caplen = len, .len = len, .dropped = cap->dropped };
	struct timespec now;
	size_t n;

	if (cap->fd == -1)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	pkt.time = (uint64_t)now.tv_sec * 1000000000 + (uint64_t)now.tv_nsec;
	if (sizeof(cap->buf) - cap->tail < pcapng_epb_len(len, 1) &&
	    !cap->stuck)
		capture_write(cap);
	if (sizeof(cap->buf) - cap->tail < pcapng_epb_len(len, 1) &&
	    cap->head > 0) {
		memmove(cap->buf, cap->buf + cap->head, cap->tail - cap->head);
		cap->tail -= cap->head;
		cap->whole -= cap->head;
		cap->head = 0;
	}
	if ((n = pcapng_epb(cap->buf + cap->tail, sizeof(cap->buf) -
	    cap->tail, &pkt)) == 0) {
		cap->dropped++;
		cap->lost++;
		return;
	}
	cap->tail += n;
	cap->dropped = 0;
}

int
capture_waiting(const struct capture_file *cap)
{
	return cap->head < cap->tail && !cap->failing;
}

enum capture_news
capture_news(struct capture_file *cap)
{
	if (!cap->unsaid)
		return CAPTURE_QUIET;
	cap->unsaid = 0;
	return cap->failing ? CAPTURE_FAILING : CAPTURE_WORKING;
}

long
capture_due(const struct capture_file *cap)
{
	struct timespec now;
	long ms;

	if (!cap->failing || cap->head == cap->tail)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (cap->retry.tv_sec - now.tv_sec) * 1000 +
	    (cap->retry.tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

int
capture_write_now(struct capture_file *cap)
{
	cap->retry.tv_sec = cap->retry.tv_nsec = 0;	/* due long ago */
	return capture_write(cap);
}

int
capture_end(struct capture_file *cap)
{
	drop_waiting_records(cap);
	if (cap->head == cap->tail)
		return 0;
	cap->lost += cap->begun > 0;	/* a record, not the header */
	return ftruncate(cap->fd, (off_t)cap->begun) == -1;
}
