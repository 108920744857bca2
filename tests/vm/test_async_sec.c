// SPDX-License-Identifier: MIT
/*
 * Regression tests for the security findings on the asynchronous side
 * (kmod/async.c, main.c, setup.c).  Each test states a behaviour the module
 * must have; the module as it was at 4455541 fails every one of them.
 *
 * 1. A request never runs without its ring's mm (test_nomm_*).  Once the
 *    process that set the ring up is gone - it handed the ring fd to
 *    another process (SCM_RIGHTS, or a forked child) and exited, or it
 *    exec'd a program that inherited the fd, or it exited with requests
 *    queued behind a full worker pool - a request that runs later fails:
 *    it must not copy to or from whatever address space the CPU happens to
 *    have loaded, nor into the owner's abandoned one.  Bystanders with a
 *    region at the very address of the owner's buffers (a canary process
 *    spinning on every CPU, the fd holder, the exec'd program, this
 *    process) must find their memory untouched, nothing of theirs may
 *    reach a socket or a file, and nothing is left once all is closed.
 * 2. Poll arming races neither cancellation nor wake-ups
 *    (test_poll_arm_race): threads that exit with a file table of their
 *    own (the ring's ->flush runs with PF_EXITING) while other threads arm
 *    and wake reads on pollable files: every request gets exactly one CQE,
 *    the kernel survives, nothing is left.  And such a thread exiting does
 *    not cancel the ring for the rest of the process
 *    (test_thread_exit_keeps_ring).
 * 4. One user cannot starve another (test_pool_two_users): reads parked
 *    by an unprivileged user on files that cannot be poll-armed (ptys,
 *    FIFOs opened O_RDWR) do not stall another user's FSYNC and buffered
 *    cache-miss read.
 * 6. Workers act with the submitter's credentials, not the ring creator's
 *    (test_worker_creds_suid): a WRITE submitted by a thread without
 *    CAP_FSETID clears S_ISUID, as its pwrite() does.
 *
 * Verdicts never depend on speed: times are only bounds that turn a hang
 * into a failure (20 s where a correct module answers at once, hang_ms()).
 * The race runs for 12000 x RING_TEST_SCALE thread exits (about 25-35 s
 * here; at least 5 s, at most 90 s); on 4455541 it oopses the guest within
 * seconds (the runner then exits 125), so it runs last.
 * RING_TEST_FILTER: comma-separated fnmatch(3) patterns of the tests to
 * run; RING_TEST_VERBOSE: the race prints its progress.
 */
#include "asynctest.h"

#include <fnmatch.h>
#include <grp.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* Where every owner's buffers, and every canary's region, lie. */
#define ASEC_ADDR	((void *)0x3a5e00000000UL)
#define ASEC_LEN	(4 * ASEC_PG)

enum {
	TAG_CANARY = 1,		/* the spinning canary process */
	TAG_HARNESS,		/* this process, during a scenario */
	TAG_HOLDER,		/* a forked holder of the ring fd */
	TAG_EXEC,		/* the program the owner exec'd */
	TAG_OWNER,		/* the owner's own buffers */
	TAG_WDATA,		/* what the owner's WRITE should write */
	TAG_SOCKDATA,		/* what the canary writes to the socket */
	TAG_FILE,		/* the contents of the file the owner reads */
};

#define EFD_VALUE	0x5249474e45564653ULL	/* what the eventfd read gets */
#define SOCK_LEN	1024U

#define EXEC_HOLDER_ARG	"--asec-exec-holder"

/* ---- clean-up of whatever a failed test left ----------------------------- */

static struct {
	pid_t pids[16];
	int npids;
	struct canary canary;
	bool region;			/* ASEC_ADDR mapped here */
	bool dev_mode_saved;
	mode_t dev_mode;
	struct raw_ring rr;		/* the ring handed to this process */
} H = { .canary = { .pid = -1, .sock = -1 }, .rr = { .fd = -1 } };

static void track(pid_t pid)
{
	if (pid > 0 && H.npids < (int)(sizeof(H.pids) / sizeof(H.pids[0])))
		H.pids[H.npids++] = pid;
}

static void untrack(pid_t pid)
{
	int i;

	for (i = 0; i < H.npids; i++)
		if (H.pids[i] == pid)
			H.pids[i] = H.pids[--H.npids];
}

/* Wait for pid within ms; its status, or -1 (then it is killed). */
static int reap_pid(pid_t pid, int ms)
{
	long long deadline = now_ns() + ms * 1000000LL;
	int st;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid) {
			untrack(pid);
			return st;
		}
		if (w < 0) {
			untrack(pid);
			return -1;
		}
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			untrack(pid);
			return -1;
		}
		sleep_ms(2);
	}
}

static void dev_mode_restore(void)
{
	if (H.dev_mode_saved)
		chmod(ring_dev(), H.dev_mode);
	H.dev_mode_saved = false;
}

static int teardown(void **state)
{
	while (H.npids) {
		pid_t pid = H.pids[0];

		kill(pid, SIGKILL);
		reap_pid(pid, 30000);
	}
	if (H.canary.pid > 0) {
		kill(H.canary.pid, SIGKILL);
		waitpid(H.canary.pid, NULL, 0);
		close(H.canary.sock);
		H.canary.pid = -1;
	}
	if (H.region)
		munmap(ASEC_ADDR, ASEC_LEN);
	H.region = false;
	if (H.rr.fd >= 0)
		raw_ring_exit(&H.rr);
	H.rr.fd = -1;
	dev_mode_restore();
	return 0;
}

/* ---- verdicts gathered before failing (children must be gone first) --- */

struct verdict {
	char text[6144];
	size_t len;
};

static void verdict_add(struct verdict *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void verdict_add(struct verdict *v, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (v->len + 8 >= sizeof(v->text))
		return;
	n = snprintf(v->text + v->len, sizeof(v->text) - v->len, "\n#   ");
	v->len += n;
	va_start(ap, fmt);
	n = vsnprintf(v->text + v->len, sizeof(v->text) - v->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		v->len += (size_t)n;
	if (v->len >= sizeof(v->text))
		v->len = sizeof(v->text) - 1;
}

static void verdict_stats(struct verdict *v, const struct ring_stats *base)
{
	struct ring_stats now;

	if (!stats_wait_equal(base, 5000, &now))
		verdict_add(v, "left behind after every close: stats rings %ld "
			    "requests %ld pages %ld iotlb_pages %ld, baseline "
			    "%ld %ld %ld %ld", now.rings, now.requests,
			    now.pages, now.iotlb_pages, base->rings,
			    base->requests, base->pages, base->iotlb_pages);
}

static void verdict_done(struct verdict *v, const char *what)
{
	if (v->len)
		fail_msg("%s:%s", what, v->text);
}

/* ---- small helpers ------------------------------------------------------ */

static void prep_rw(struct ring_sqe *sqe, int op, int fd, const void *addr,
		    unsigned len, __u64 off, __u64 user_data)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = (uintptr_t)addr;
	sqe->len = len;
	sqe->off = off;
	sqe->user_data = user_data;
}

/* Up to n CQEs of a raw ring within timeout_ms, in arrival order. */
static unsigned wait_cqes(struct raw_ring *r, struct ring_cqe *out, unsigned n,
			  int timeout_ms)
{
	long long deadline = now_ns() + timeout_ms * 1000000LL;
	unsigned got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		struct ring_cqe c;
		long long left;

		if (raw_peek_cqe(r, &c)) {
			out[got++] = c;
			raw_cq_advance(r, 1);
			continue;
		}
		left = (deadline - now_ns()) / 1000000;
		if (left <= 0)
			break;
		poll(&pfd, 1, left > 200 ? 200 : (int)left);
	}
	return got;
}

/* fdinfo Inflight of fd reaches 0 within 2 s (a worker posts, then ends). */
static long long wait_inflight0(int fd)
{
	long long deadline = now_ns() + 2000 * 1000000LL, v;

	while ((v = fdinfo_get(fd, "Inflight")) != 0 && now_ns() < deadline)
		sleep_ms(5);
	return v;
}

static int tmpfile_in(const char *dir, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/asec-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		fail_msg("mkstemp in %s: %s", dir, strerror(errno));
	return fd;
}

static const char *tag_name(unsigned tag)
{
	switch (tag) {
	case TAG_CANARY: return "the canary process's";
	case TAG_HARNESS: return "the test process's";
	case TAG_HOLDER: return "the forked fd holder's";
	case TAG_EXEC: return "the exec'd program's";
	}
	return "?";
}

/*
 * Whose memory data (len bytes written from offset off of an ASEC region)
 * came from: a tag of a bystander, or 0.
 */
static unsigned leaked_from(const void *data, size_t len, size_t off)
{
	static const unsigned tags[] = { TAG_CANARY, TAG_HARNESS, TAG_HOLDER,
					 TAG_EXEC };
	unsigned i;

	if (!len)
		return 0;
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (pat_matches(data, len, tags[i], off) > len / 2)
			return tags[i];
	return 0;
}

/* What was found in a bystander's region, decoded. */
static void describe_change(struct verdict *v, const char *whose,
			    const char *what, long changed, const char *legend)
{
	if (changed < 0)
		verdict_add(v, "%s region: %s", whose, what);
	else if (changed > 0)
		verdict_add(v, "%s memory at %p changed: a request whose owner "
			    "was gone wrote into another process's address "
			    "space (%s; %s)", whose, ASEC_ADDR, what, legend);
}

/* The harness's own region at ASEC_ADDR: one more bystander. */
static void harness_region_map(void)
{
	void *p = region_map(ASEC_ADDR, ASEC_LEN);

	if (!p)
		fail_msg("mmap at %p in the test process: %s", ASEC_ADDR,
			 strerror(errno));
	pat_fill(p, ASEC_LEN, TAG_HARNESS);
	H.region = true;
}

static long harness_region_check(char *what, size_t len)
{
	long first;
	size_t n = pat_diff(ASEC_ADDR, ASEC_LEN, TAG_HARNESS, &first);

	if (n)
		snprintf(what, len, "%zu bytes changed, the first at offset %ld "
			 "(page %ld)", n, first, first / (long)ASEC_PG);
	return (long)n;
}

static void harness_region_unmap(void)
{
	if (H.region)
		munmap(ASEC_ADDR, ASEC_LEN);
	H.region = false;
}

/*
 * How long a module may take over what a correct one does at once (end a
 * request, start one), before the test calls it a hang: 20 s (2 min on the
 * debug kernel).  Only a broken module waits it out.
 */
static int hang_ms(void)
{
	return debug_kernel() ? 120000 : 20000;
}

/* max_workers of the loaded module, or 32 (the default) if it has none. */
static unsigned module_max_workers(void)
{
	long v = read_long("/sys/module/ring/parameters/max_workers");

	return v > 0 && v <= 4096 ? (unsigned)v : 32;
}

/* ---- the holder: keeps a ring fd, and is a bystander itself ------------- */

/*
 * Runs in a forked child of the owner, or in the program the owner
 * exec'd: its own region at ASEC_ADDR, the ring fd sent to the harness
 * (a duplicate: this one stays open), then it answers MSG_CHECK until
 * MSG_EXIT.
 */
static void holder_main(int sock, int ringfd, const struct ring_params *p,
			unsigned tag)
{
	struct asec_msg m, r;
	unsigned char *reg = ASEC_ADDR;

	if (tag == TAG_EXEC) {
		reg = region_map(ASEC_ADDR, ASEC_LEN);
		KID_CHECK(sock, reg, "exec'd holder: mmap at %p: %s", ASEC_ADDR,
			  strerror(errno));
	}
	/* The forked holder's copy of the owner's region becomes its own. */
	pat_fill(reg, ASEC_LEN, tag);
	memset(&m, 0, sizeof(m));
	m.type = MSG_RING;
	if (p)
		m.p = *p;
	m.v[0] = getpid();
	KID_CHECK(sock, !msg_send(sock, &m, ringfd), "holder: sendmsg: %s",
		  strerror(errno));
	while (!msg_recv(sock, &m, NULL, -1) && m.type == MSG_CHECK) {
		long first;

		memset(&r, 0, sizeof(r));
		r.type = MSG_RESULT;
		r.v[0] = (long long)pat_diff(reg, ASEC_LEN, tag, &first);
		r.v[1] = first;
		msg_send(sock, &r, -1);
	}
	close(ringfd);
	_exit(0);
}

static int exec_holder_main(int argc, char **argv)
{
	int ringfd, sock;

	if (argc < 4)
		return 2;
	ringfd = atoi(argv[2]);
	sock = atoi(argv[3]);
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	holder_main(sock, ringfd, NULL, TAG_EXEC);
	return 0;
}

/* Ask a holder whether its region changed: bytes changed, -1: no answer. */
static long holder_check(int sock, char *what, size_t len)
{
	struct asec_msg m = { .type = MSG_CHECK };
	int ret = msg_send(sock, &m, -1);

	if (!ret)
		ret = msg_recv(sock, &m, NULL, 30000);
	if (ret) {
		snprintf(what, len, "no answer: %s", errstr(ret));
		return -1;
	}
	snprintf(what, len, "%lld bytes changed, the first at offset %lld "
		 "(page %lld)", m.v[0], m.v[1], m.v[1] / (long long)ASEC_PG);
	return (long)m.v[0];
}

/* ==== 1. no request runs without its ring's mm ============================ */

/*
 * The files the owner's requests wait on.  Armed scenarios: an eventfd to
 * read and, where this kernel's sockets take IOCB_NOWAIT (FMODE_NOWAIT;
 * 6.1's do not), a socket to read and one to write whose send buffer is
 * full: requests that wait on the file's wait queue, with no thread.  The
 * blocked scenario: a FIFO to read and a full FIFO to write, both opened
 * O_RDWR (they poll two wait queues): requests 4455541 leaves blocked in a
 * worker that took the owner's mm while the owner lived.  The canary's
 * trigger makes every one of them ready.
 */
struct nomm_req {
	int op;
	int fd;
	unsigned page;		/* its buffer: this page of the region */
	unsigned len;
	const char *name;
};

struct nomm_files {
	int efd;		/* every fd -1 when unused */
	int sr[2], sw[2];	/* the owner reads sr[0] and writes sw[0] */
	size_t sw_fill;
	int fr, fw;		/* FIFOs opened O_RDWR */
	size_t fw_fill;
	int fw_peek;		/* the full FIFO again, O_RDONLY|O_NONBLOCK */
	struct nomm_req req[4];
	unsigned nreq;
	int written_to;		/* where the WRITE's bytes end up, or -1 */
};

enum nomm_kind { NOMM_ARMED, NOMM_BLOCKED };

static size_t fill_socket(int fd)
{
	char buf[512];
	int sz = 4096;
	size_t total = 0;

	memset(buf, 0x11, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	for (;;) {
		ssize_t n = send(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			fail_msg("filling a socket: %s", strerror(errno));
		}
		total += (size_t)n;
	}
	return total;
}

/* Does a read of an idle socket with RWF_NOWAIT say -EAGAIN here? */
static bool sockets_nowait(void)
{
	char c;
	struct iovec iov = { &c, 1 };
	int sv[2];
	bool yes;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return false;
	yes = preadv2(sv[0], &iov, 1, -1, RWF_NOWAIT) < 0 && errno == EAGAIN;
	close(sv[0]);
	close(sv[1]);
	return yes;
}

static int fifo_rdwr(const char *tag)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/asec-%s-%d", tag, getpid());
	unlink(path);
	if (mkfifo(path, 0600))
		fail_msg("mkfifo %s: %s", path, strerror(errno));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	unlink(path);
	return fd;
}

static void nomm_add(struct nomm_files *f, int op, int fd, unsigned page,
		     unsigned len, const char *name)
{
	f->req[f->nreq++] = (struct nomm_req){ op, fd, page, len, name };
}

static void nomm_files_open(struct nomm_files *f, enum nomm_kind kind)
{
	memset(f, 0, sizeof(*f));
	f->efd = f->sr[0] = f->sr[1] = f->sw[0] = f->sw[1] = -1;
	f->fr = f->fw = f->fw_peek = f->written_to = -1;
	if (kind == NOMM_ARMED) {
		f->efd = eventfd(0, EFD_CLOEXEC);
		if (f->efd < 0)
			fail_msg("eventfd: %s", strerror(errno));
		nomm_add(f, RING_OP_READ, f->efd, 0, 8, "READ of the eventfd");
		if (!sockets_nowait()) {
			print_message("# this kernel's sockets refuse "
				      "RWF_NOWAIT: the eventfd alone is armed "
				      "here\n");
			return;
		}
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sr) ||
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sw))
			fail_msg("socketpair: %s", strerror(errno));
		f->sw_fill = fill_socket(f->sw[0]);
		f->written_to = f->sw[1];
		nomm_add(f, RING_OP_READ, f->sr[0], 1, SOCK_LEN,
			 "READ of the socket");
		nomm_add(f, RING_OP_WRITE, f->sw[0], 2, SOCK_LEN,
			 "WRITE to the socket");
	} else {
		char *fill;
		int sz;

		f->fr = fifo_rdwr("r");
		f->fw = fifo_rdwr("w");
		/* Full: exactly its size, written while it is empty. */
		sz = fcntl(f->fw, F_GETPIPE_SZ);
		fill = malloc(sz > 0 ? sz : 1);
		if (sz <= 0 || !fill)
			fail_msg("F_GETPIPE_SZ: %s", strerror(errno));
		memset(fill, 0x11, sz);
		if (write(f->fw, fill, sz) != sz)
			fail_msg("filling a FIFO: %s", strerror(errno));
		free(fill);
		f->fw_fill = (size_t)sz;
		{
			char path[64];

			snprintf(path, sizeof(path), "/proc/self/fd/%d", f->fw);
			f->fw_peek = open(path, O_RDONLY | O_NONBLOCK |
						O_CLOEXEC);
			if (f->fw_peek < 0)
				fail_msg("reopen the FIFO: %s", strerror(errno));
		}
		f->written_to = f->fw_peek;
		nomm_add(f, RING_OP_READ, f->fr, 1, SOCK_LEN,
			 "READ of the FIFO");
		nomm_add(f, RING_OP_WRITE, f->fw, 2, SOCK_LEN,
			 "WRITE to the full FIFO");
	}
}

static void nomm_files_close(struct nomm_files *f)
{
	int fds[] = { f->efd, f->sr[0], f->sr[1], f->sw[0], f->sw[1], f->fr,
		      f->fw, f->fw_peek };
	unsigned i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Read exactly n bytes that are there already (the fill, nothing after). */
static int drain_exactly(int fd, size_t n, bool sock, char *why, size_t len)
{
	unsigned char buf[4096];

	while (n) {
		ssize_t r = sock ? recv(fd, buf, n < sizeof(buf) ? n :
					sizeof(buf), MSG_DONTWAIT) :
				   read(fd, buf, n < sizeof(buf) ? n :
					sizeof(buf));

		if (r <= 0) {
			snprintf(why, len, "draining: %zd (%s), %zu bytes left",
				 r, strerror(errno), n);
			return -EIO;
		}
		n -= (size_t)r;
	}
	return 0;
}

/* In the canary: make every file ready. */
static int nomm_trigger(void *arg, int step, char *why, size_t len)
{
	struct nomm_files *f = arg;
	unsigned char data[SOCK_LEN];
	uint64_t v = EFD_VALUE;

	pat_fill(data, sizeof(data), TAG_SOCKDATA);
	if (f->efd >= 0 && write(f->efd, &v, 8) != 8) {
		snprintf(why, len, "eventfd write: %s", strerror(errno));
		return -EIO;
	}
	if (f->sr[1] >= 0 &&
	    write(f->sr[1], data, sizeof(data)) != (ssize_t)sizeof(data)) {
		snprintf(why, len, "socket write: %s", strerror(errno));
		return -EIO;
	}
	if (f->fr >= 0 &&
	    write(f->fr, data, sizeof(data)) != (ssize_t)sizeof(data)) {
		snprintf(why, len, "FIFO write: %s", strerror(errno));
		return -EIO;
	}
	/* Exactly the fill: what the ring's WRITE adds stays there. */
	if (f->sw[1] >= 0 && drain_exactly(f->sw[1], f->sw_fill, true, why, len))
		return -EIO;
	if (f->fw >= 0 && drain_exactly(f->fw, f->fw_fill, false, why, len))
		return -EIO;
	return 0;
}

enum handoff { VIA_SCM, VIA_FORK, VIA_EXEC };

static const char *handoff_name(enum handoff how)
{
	return how == VIA_SCM ? "fd passed with SCM_RIGHTS" :
	       how == VIA_FORK ? "fd kept by a forked child" :
				 "fd inherited across exec";
}

/*
 * The owner (a child): its buffers at ASEC_ADDR, a ring, requests that
 * wait; then it hands the ring on and goes away.
 */
static void nomm_owner(int sock, enum handoff how, const struct nomm_files *f,
		       bool settle)
{
	struct ring_params p = { .sq_entries = 8 };
	unsigned char *reg = region_map(ASEC_ADDR, ASEC_LEN);
	struct raw_ring rr;
	struct asec_msg m;
	unsigned i;
	int fd, ret;

	KID_CHECK(sock, reg, "owner: mmap at %p: %s", ASEC_ADDR,
		  strerror(errno));
	pat_fill(reg, ASEC_LEN, TAG_OWNER);
	pat_fill(reg + 2 * ASEC_PG, ASEC_PG, TAG_WDATA);
	/* Across exec the ring fd must stay open: no O_CLOEXEC then. */
	fd = open(ring_dev(), O_RDWR | (how == VIA_EXEC ? 0 : O_CLOEXEC));
	KID_CHECK(sock, fd >= 0, "owner: open %s: %s", ring_dev(),
		  strerror(errno));
	ret = raw_setup(fd, &p);
	KID_CHECK(sock, !ret, "owner: SETUP: %s", errstr(ret));
	ret = raw_ring_map_try(&rr, fd, &p);
	KID_CHECK(sock, !ret, "owner: mmap of the ring: %s", errstr(ret));

	for (i = 0; i < f->nreq; i++)
		prep_rw(raw_get_sqe(&rr), f->req[i].op, f->req[i].fd,
			reg + f->req[i].page * ASEC_PG, f->req[i].len, 0, i + 1);
	raw_flush_sq(&rr);
	ret = raw_enter(fd, f->nreq, 0, 0);
	KID_CHECK(sock, ret == (int)f->nreq, "owner: ENTER of %u: %d (%s)",
		  f->nreq, ret, errstr(ret));
	if (raw_cq_ready(&rr)) {
		struct ring_cqe c;

		raw_peek_cqe(&rr, &c);
		KID_DIE(sock, "owner: a request on a file that was not ready "
			"completed at submission (user_data %llu res %d)",
			(unsigned long long)c.user_data, c.res);
	}
	/*
	 * Blocked scenario: leave the workers time to take the requests, so
	 * that they do while the owner lives (a bug shows more often; a
	 * correct module passes either way).
	 */
	if (settle)
		sleep_ms(100);

	switch (how) {
	case VIA_SCM:
		memset(&m, 0, sizeof(m));
		m.type = MSG_RING;
		m.p = p;
		m.v[0] = getpid();
		KID_CHECK(sock, !msg_send(sock, &m, fd), "owner: sendmsg: %s",
			  strerror(errno));
		break;
	case VIA_FORK: {
		pid_t pid = fork();

		KID_CHECK(sock, pid >= 0, "owner: fork: %s", strerror(errno));
		if (!pid)
			holder_main(sock, fd, &p, TAG_HOLDER);
		break;
	}
	case VIA_EXEC: {
		char a1[16], a2[16];
		char *argv[] = { "test_async_sec", EXEC_HOLDER_ARG, a1, a2,
				 NULL };

		memset(&m, 0, sizeof(m));
		m.type = MSG_PARAMS;
		m.p = p;
		m.v[0] = getpid();
		KID_CHECK(sock, !msg_send(sock, &m, -1), "owner: sendmsg: %s",
			  strerror(errno));
		snprintf(a1, sizeof(a1), "%d", fd);
		snprintf(a2, sizeof(a2), "%d", sock);
		fcntl(sock, F_SETFD, 0);
		execv("/proc/self/exe", argv);
		KID_DIE(sock, "owner: exec /proc/self/exe: %s", strerror(errno));
	}
	}
	/*
	 * Its own descriptor closed first, by a live process: only the exit
	 * is left, and the ring lives on in the other process.
	 */
	close(fd);
	_exit(0);
}

/* One scenario of finding 1 with files that are not ready yet. */
static void nomm_run(enum handoff how, enum nomm_kind kind)
{
	static const char legend[] = "the owner's eventfd READ was for "
		"offset 0, its socket or FIFO READ for page 1";
	struct ring_stats base;
	struct nomm_files f;
	struct canary_cfg cc;
	struct verdict v = { .len = 0 };
	struct ring_cqe cqes[8];
	struct raw_ring *rr = &H.rr;
	struct ring_params p;
	struct asec_msg m;
	char what[640], title[192];
	unsigned char sent[8192];
	int ctl[2], ringfd = -1, hsock = -1, seen[8] = { 0 };
	bool got_ring = false, got_params = false;
	pid_t owner, holder = -1;
	long long pre_inflight;
	unsigned got, i, pre_ready;
	ssize_t nsent = 0;
	long changed;
	int ret, st;

	require_ring();
	snprintf(title, sizeof(title), "owner gone (%s), %s",
		 kind == NOMM_ARMED ? "requests armed on their files" :
				      "requests blocked in a worker",
		 handoff_name(how));
	stats_baseline(&base);
	nomm_files_open(&f, kind);
	cc = (struct canary_cfg){ .addr = ASEC_ADDR, .len = ASEC_LEN,
				  .tag = TAG_CANARY, .trigger = nomm_trigger,
				  .arg = &f };
	canary_start(&H.canary, &cc);

	seqpair(ctl);
	fflush(stdout);
	owner = fork();
	if (owner < 0)
		fail_msg("fork: %s", strerror(errno));
	if (!owner) {
		close(ctl[0]);
		nomm_owner(ctl[1], how, &f, kind == NOMM_BLOCKED);
	}
	track(owner);
	close(ctl[1]);
	hsock = ctl[0];

	while (!got_ring || !got_params) {
		int fdx;

		ret = msg_recv(hsock, &m, &fdx, 30000);
		if (ret)
			fail_msg("%s: no ring from the owner: %s", title,
				 errstr(ret));
		if (m.type == MSG_ERROR)
			fail_msg("%s: %s", title, m.text);
		if (m.type == MSG_PARAMS) {
			p = m.p;
			got_params = true;
		} else if (m.type == MSG_RING) {
			ringfd = H.rr.fd = fdx;
			got_ring = true;
			if (how != VIA_EXEC) {
				p = m.p;
				got_params = true;
			}
			if (how == VIA_FORK) {
				holder = (pid_t)m.v[0];
				track(holder);
			}
		}
	}
	if (ringfd < 0)
		fail_msg("%s: the ring fd did not arrive", title);
	if (how != VIA_EXEC) {
		/* Reaped: its mm is gone (unless a worker still holds it). */
		st = reap_pid(owner, 30000);
		if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			fail_msg("%s: the owner did not exit cleanly (status "
				 "0x%x)", title, st);
	}
	/* (After exec the owner's old mm was let go before main() ran.) */

	ret = raw_ring_map_try(rr, ringfd, &p);
	if (ret)
		fail_msg("%s: mmap of the ring from the holding process: %s",
			 title, errstr(ret));
	harness_region_map();
	got = 0;
	if (kind == NOMM_BLOCKED) {
		/*
		 * A request a worker runs for the owner must end when the
		 * owner goes, without its file becoming ready: once data is
		 * there, a wait interrupted a moment too late may take it
		 * (into the address space the owner left), so only then is
		 * the verdict independent of timing.
		 */
		got = wait_cqes(rr, cqes, f.nreq, hang_ms());
		if (got < f.nreq)
			verdict_add(&v, "%u of %u requests blocked in a worker "
				    "for the owner still pending %d ms after "
				    "the owner was gone (they must end when it "
				    "goes)", f.nreq - got, f.nreq, hang_ms());
	}
	pre_ready = raw_cq_ready(rr) + got;
	pre_inflight = fdinfo_get(ringfd, "Inflight");

	ret = canary_trigger(&H.canary, 1, what, sizeof(what));
	if (ret)
		fail_msg("%s: trigger: %s", title, what);
	got += wait_cqes(rr, cqes + got, f.nreq - got, io_timeout_ms());
	print_message("# %s: before the files became ready %u CQEs and "
		      "Inflight %lld; in all %u CQEs:", title, pre_ready,
		      pre_inflight, got);
	for (i = 0; i < got; i++)
		print_message(" [%llu] %d", (unsigned long long)cqes[i].user_data,
			      cqes[i].res);
	print_message("\n");

	/* The bystanders. */
	changed = canary_check(&H.canary, what, sizeof(what));
	describe_change(&v, tag_name(TAG_CANARY), what, changed, legend);
	changed = harness_region_check(what, sizeof(what));
	describe_change(&v, tag_name(TAG_HARNESS), what, changed, legend);
	if (how != VIA_SCM) {
		changed = holder_check(hsock, what, sizeof(what));
		describe_change(&v, tag_name(how == VIA_FORK ? TAG_HOLDER :
					     TAG_EXEC), what, changed, legend);
	}
	/* What reached the file the WRITE was for. */
	while (f.written_to >= 0) {
		/* (The socket blocks, the FIFO's second view does not.) */
		ssize_t n = f.written_to == f.sw[1] ?
			    recv(f.written_to, sent + nsent,
				 sizeof(sent) - nsent, MSG_DONTWAIT) :
			    read(f.written_to, sent + nsent,
				 sizeof(sent) - nsent);

		if (n <= 0)
			break;
		nsent += n;
	}

	/* The requests. */
	if (got < f.nreq)
		verdict_add(&v, "only %u of %u CQEs within %d ms of the files "
			    "becoming ready (fdinfo Inflight %lld)", got, f.nreq,
			    io_timeout_ms(), fdinfo_get(ringfd, "Inflight"));
	for (i = 0; i < got; i++) {
		unsigned ud = (unsigned)cqes[i].user_data;

		if (ud < 1 || ud > f.nreq || seen[ud]++) {
			verdict_add(&v, "unexpected or second CQE: user_data "
				    "%llu res %d",
				    (unsigned long long)cqes[i].user_data,
				    cqes[i].res);
			continue;
		}
		if (cqes[i].res >= 0)
			verdict_add(&v, "%s completed with %d after its owner "
				    "was gone (expected an error: the owner's "
				    "address space is gone or abandoned, so there "
				    "is nothing it may copy %s)",
				    f.req[ud - 1].name, cqes[i].res,
				    f.req[ud - 1].op == RING_OP_WRITE ? "from" :
				    "to");
	}
	if (nsent) {
		unsigned who = leaked_from(sent, (size_t)nsent, 2 * ASEC_PG);

		if (who)
			verdict_add(&v, "the WRITE sent %zd bytes of %s memory "
				    "(it read another process's address space)",
				    nsent, tag_name(who));
		else if (pat_matches(sent, nsent, TAG_WDATA, 0) >
			 (size_t)nsent / 2)
			verdict_add(&v, "the WRITE sent %zd bytes of the owner's "
				    "buffer after the owner was gone (it ran in "
				    "the abandoned address space, kept alive by "
				    "a worker)", nsent);
		else
			verdict_add(&v, "the WRITE sent %zd bytes of unknown "
				    "origin after its owner was gone", nsent);
	}
	if (got == f.nreq && wait_inflight0(ringfd))
		verdict_add(&v, "fdinfo Inflight %lld after every CQE",
			    fdinfo_get(ringfd, "Inflight"));
	if (raw_cq_ready(rr))
		verdict_add(&v, "%u more CQEs than requests", raw_cq_ready(rr));

	/* Everyone goes; nothing may be left. */
	if (how != VIA_SCM) {
		m = (struct asec_msg){ .type = MSG_EXIT };
		msg_send(hsock, &m, -1);
		reap_pid(how == VIA_FORK ? holder : owner, 30000);
	}
	canary_stop_wait(&H.canary);
	harness_region_unmap();
	raw_ring_exit(rr);
	close(hsock);
	nomm_files_close(&f);
	verdict_stats(&v, &base);
	verdict_done(&v, title);
}

/* Armed on an eventfd (and sockets): the owner passed the fd and exited. */
static void test_nomm_scm_rights(void **state)
{
	nomm_run(VIA_SCM, NOMM_ARMED);
}

/* The same, the fd kept by a child the owner forked. */
static void test_nomm_fork(void **state)
{
	nomm_run(VIA_FORK, NOMM_ARMED);
}

/* The same, the owner exec'd a program that inherited the fd. */
static void test_nomm_exec(void **state)
{
	nomm_run(VIA_EXEC, NOMM_ARMED);
}

/*
 * Blocked in a worker (FIFOs opened O_RDWR) when the owner passed the fd
 * and exited: they end with an error when the owner goes, before their
 * files are ready (then they cannot finish in the address space the owner
 * left), and making the files ready afterwards changes nothing.
 */
static void test_nomm_blocked(void **state)
{
	nomm_run(VIA_SCM, NOMM_BLOCKED);
}

/*
 * The owner exits with requests queued because every worker is taken: on
 * 4455541 the pool is global, and the canary parked max_workers reads of
 * its own on a FIFO.  The canary then lets one of them finish: the worker
 * that ran it (in the canary's mm) goes on to the owner's requests, a READ
 * of a tmpfs file into the owner's buffer and a WRITE of the owner's buffer
 * to a tmpfs file.  Neither may touch the canary's memory (nor this
 * process's), the file may only ever hold the owner's data, and each gets
 * one CQE: the full length (a module that ran it while the owner lived) or
 * an error.  (Whether it ran before the owner went cannot be told from
 * outside, so a success is not held against it; the bystanders are the
 * verdict.)
 */
static void test_nomm_queued(void **state)
{
	static const char legend[] = "the owner's READ of the file was for "
		"page 0";
	struct ring_stats base;
	struct canary_cfg cc;
	struct verdict v = { .len = 0 };
	struct ring_cqe cqes[3];
	struct raw_ring *rr = &H.rr;
	struct ring_params p;
	struct asec_msg m;
	char what[640], inpath[PATH_MAX], outpath[PATH_MAX];
	unsigned char *data;
	int ctl[2], ringfd = -1, in, out, ret, st, seen[3] = { 0 };
	unsigned npark = module_max_workers(), got, i;
	long long pre_inflight;
	ssize_t n;
	pid_t owner;
	long changed;

	require_ring();
	stats_baseline(&base);
	data = xalloc(ASEC_PG);
	in = tmpfile_in("/tmp", inpath, sizeof(inpath));
	out = tmpfile_in("/tmp", outpath, sizeof(outpath));
	unlink(inpath);
	unlink(outpath);
	pat_fill(data, ASEC_PG, TAG_FILE);
	if (pwrite(in, data, ASEC_PG, 0) != (ssize_t)ASEC_PG)
		fail_msg("pwrite: %s", strerror(errno));

	cc = (struct canary_cfg){ .addr = ASEC_ADDR, .len = ASEC_LEN,
				  .tag = TAG_CANARY, .npark = npark };
	canary_start(&H.canary, &cc);
	print_message("# the canary parked %u FIFO reads (max_workers %u): "
		      "Inflight %lld\n", npark, npark, H.canary.parked);

	seqpair(ctl);
	fflush(stdout);
	owner = fork();
	if (owner < 0)
		fail_msg("fork: %s", strerror(errno));
	if (!owner) {
		struct ring_params op = { .sq_entries = 4 };
		unsigned char *reg = region_map(ASEC_ADDR, ASEC_LEN);
		int sock = ctl[1], fd;

		close(ctl[0]);
		KID_CHECK(sock, reg, "owner: mmap at %p: %s", ASEC_ADDR,
			  strerror(errno));
		pat_fill(reg, ASEC_LEN, TAG_OWNER);
		pat_fill(reg + 2 * ASEC_PG, ASEC_PG, TAG_WDATA);
		fd = open(ring_dev(), O_RDWR | O_CLOEXEC);
		KID_CHECK(sock, fd >= 0, "open: %s", strerror(errno));
		ret = raw_setup(fd, &op);
		KID_CHECK(sock, !ret, "SETUP: %s", errstr(ret));
		ret = raw_ring_map_try(rr, fd, &op);
		KID_CHECK(sock, !ret, "mmap: %s", errstr(ret));
		prep_rw(raw_get_sqe(rr), RING_OP_READ, in, reg, ASEC_PG, 0, 1);
		prep_rw(raw_get_sqe(rr), RING_OP_WRITE, out,
			reg + 2 * ASEC_PG, ASEC_PG, 0, 2);
		raw_flush_sq(rr);
		ret = raw_enter(fd, 2, 0, 0);
		KID_CHECK(sock, ret == 2, "ENTER of 2: %d (%s)", ret,
			  errstr(ret));
		memset(&m, 0, sizeof(m));
		m.type = MSG_RING;
		m.p = op;
		m.v[0] = raw_cq_ready(rr);
		KID_CHECK(sock, !msg_send(sock, &m, fd), "sendmsg: %s",
			  strerror(errno));
		/* Exit with the ring open: the harness holds it too. */
		_exit(0);
	}
	track(owner);
	close(ctl[1]);
	ret = msg_recv(ctl[0], &m, &ringfd, 30000);
	H.rr.fd = ringfd;
	if (ret || m.type != MSG_RING)
		fail_msg("no ring from the owner: %s", ret ? errstr(ret) :
			 m.text);
	p = m.p;
	print_message("# the owner exits with %lld of its 2 requests "
		      "completed\n", m.v[0]);
	st = reap_pid(owner, 30000);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("the owner did not exit cleanly (status 0x%x)", st);

	ret = raw_ring_map_try(rr, ringfd, &p);
	if (ret)
		fail_msg("mmap of the ring from the holding process: %s",
			 errstr(ret));
	pre_inflight = fdinfo_get(ringfd, "Inflight");
	harness_region_map();
	/* One parked read ends: its worker is free for what waited. */
	ret = canary_trigger(&H.canary, -1, what, sizeof(what));
	if (ret)
		fail_msg("releasing a parked read: %s", errstr(ret));
	got = wait_cqes(rr, cqes, 2, io_timeout_ms());
	print_message("# owner gone with Inflight %lld; then %u CQEs:",
		      pre_inflight, got);
	for (i = 0; i < got; i++)
		print_message(" [%llu] %d", (unsigned long long)cqes[i].user_data,
			      cqes[i].res);
	print_message("\n");

	changed = canary_check(&H.canary, what, sizeof(what));
	describe_change(&v, tag_name(TAG_CANARY), what, changed, legend);
	changed = harness_region_check(what, sizeof(what));
	describe_change(&v, tag_name(TAG_HARNESS), what, changed, legend);

	if (got < 2)
		verdict_add(&v, "only %u of 2 CQEs within %d ms of a worker "
			    "becoming free (fdinfo Inflight %lld)", got,
			    io_timeout_ms(), fdinfo_get(ringfd, "Inflight"));
	memset(data, 0, ASEC_PG);
	n = pread(out, data, ASEC_PG, 0);
	for (i = 0; i < got; i++) {
		unsigned ud = (unsigned)cqes[i].user_data;
		int res = cqes[i].res;

		if (ud < 1 || ud > 2 || seen[ud]++) {
			verdict_add(&v, "unexpected or second CQE: user_data "
				    "%llu res %d",
				    (unsigned long long)cqes[i].user_data, res);
			continue;
		}
		if (res >= 0 && res != (int)ASEC_PG)
			verdict_add(&v, "%s: res %d, expected %lu or an error",
				    ud == 1 ? "READ" : "WRITE", res, ASEC_PG);
	}
	if (n > 0) {
		unsigned who = leaked_from(data, (size_t)n, 2 * ASEC_PG);

		if (who)
			verdict_add(&v, "the WRITE put %zd bytes of %s memory "
				    "into the file", n, tag_name(who));
		else if (pat_matches(data, (size_t)n, TAG_WDATA, 0) <
			 (size_t)n / 2)
			verdict_add(&v, "the WRITE put %zd bytes of unknown "
				    "origin into the file", n);
	}
	if (got == 2 && wait_inflight0(ringfd))
		verdict_add(&v, "fdinfo Inflight %lld after every CQE",
			    fdinfo_get(ringfd, "Inflight"));

	canary_stop_wait(&H.canary);
	harness_region_unmap();
	raw_ring_exit(rr);
	close(ctl[0]);
	close(in);
	close(out);
	free(data);
	verdict_stats(&v, &base);
	verdict_done(&v, "owner gone with requests queued behind a full pool");
}

/* ==== 2. poll arming vs cancellation and wake-ups ========================= */

static atomic_int unshare_err;

/* A thread with a file table of its own, then gone: ->flush at its exit. */
static void *unshare_exit(void *arg)
{
	if (unshare(CLONE_FILES))
		atomic_store(&unshare_err, errno);
	return NULL;
}

static int thread_exit_own_files(void)
{
	pthread_t t;
	int ret = pthread_create(&t, NULL, unshare_exit, NULL);

	if (ret)
		return -ret;
	pthread_join(t, NULL);
	return -atomic_exchange(&unshare_err, 0);
}

/*
 * A thread of the owner that unshared its file table exits (its ->flush
 * runs with PF_EXITING, from the owner's process): the ring goes on
 * working for the other threads.  Reads of a pipe and an eventfd
 * submitted afterwards wait and complete with the data.
 */
static void test_thread_exit_keeps_ring(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct ring_cqe cqes[2];
	struct ring_sqe *sqe;
	char buf[32] = { 0 }, msg[] = "after the thread";
	uint64_t val = 0, one = 7;
	int p[2], efd, ret, n, k;

	require_ring();
	stats_baseline(&base);
	if (pipe2(p, O_CLOEXEC))
		fail_msg("pipe: %s", strerror(errno));
	efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	ring_init_or_fail(&ring, 4);
	ret = thread_exit_own_files();
	if (ret)
		fail_msg("a thread with unshare(CLONE_FILES): %s", errstr(ret));

	sqe = ring_get_sqe(&ring);
	ring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	sqe->user_data = 1;
	sqe = ring_get_sqe(&ring);
	ring_prep_read(sqe, efd, &val, 8, 0);
	sqe->user_data = 2;
	expect_ret(ring_submit(&ring), 2);
	sleep_ms(50);
	if (ring_cq_ready(&ring)) {
		n = reap(&ring, cqes, 2, 0);
		for (k = 0; k < n; k++)
			print_message("# [%llu] res %d\n",
				      (unsigned long long)cqes[k].user_data,
				      cqes[k].res);
		ring_queue_exit(&ring);
		close(p[0]);
		close(p[1]);
		close(efd);
		fail_msg("after a thread with its own file table exited, reads "
			 "of an empty pipe and eventfd completed at once "
			 "(first res %d: the ring stays cancelled for ever?)",
			 cqes[0].res);
	}
	assert_int_equal(write(p[1], msg, sizeof(msg)), sizeof(msg));
	assert_int_equal(write(efd, &one, 8), 8);
	n = reap(&ring, cqes, 2, io_timeout_ms());
	if (n != 2)
		fail_msg("%d of 2 CQEs within %d ms", n, io_timeout_ms());
	for (k = 0; k < 2; k++) {
		if (cqes[k].user_data == 1) {
			expect_ret_msg(cqes[k].res, sizeof(msg), "pipe READ "
				       "after the thread exited");
			assert_memory_equal(buf, msg, sizeof(msg));
		} else {
			expect_ret_msg(cqes[k].res, 8, "eventfd READ after the "
				       "thread exited");
			assert_int_equal(val, one);
		}
	}
	expect_inflight0(&ring, "after a thread exit");
	ring_queue_exit(&ring);
	close(p[0]);
	close(p[1]);
	close(efd);
	expect_stats(&base, "thread exit with its own file table");
}

/*
 * The race.  In a child process: two submitter threads, each with rings
 * of their own that live a few ENTERs (new files each time), arm reads of
 * one "unit" each on pollable files that have no data: eventfds in
 * semaphore mode, datagram and stream sockets, and pipes where the kernel
 * polls them without waiting.  A writer thread adds units at random (wake
 * ups racing the arming); an exiter thread keeps creating threads that
 * unshare their file table and exit (->flush with PF_EXITING on every
 * ring); some read ends are closed right after their read is submitted,
 * so that the request holds the file's last reference.  A ring retires by
 * writing one unit per pending read, then every read must complete: with
 * the unit or with -ECANCELED, once.
 */
enum { RF_EVENTFD, RF_DGRAM, RF_STREAM, RF_PIPE, RF_KINDS };

#define RACE_FILES	6
#define RACE_RINGS	3		/* per submitter */
#define RACE_MAXSEQ	1024
#define RACE_BATCH	8
#define RACE_QD		48

struct race_file {
	int kind;
	int rfd, wfd;
	atomic_int pending;
	bool once;		/* read end closed after its first read */
	bool used;
};

struct race_ring {
	struct ring ring;
	bool up;
	pthread_mutex_t lock;	/* files vs the writer thread */
	struct race_file f[RACE_FILES];
	unsigned pending;
	unsigned seq;
	unsigned enters_left;
	bool cancelled;
	unsigned char state[RACE_MAXSEQ];	/* CQEs per request */
	unsigned char fileof[RACE_MAXSEQ];
	char (*bufs)[64];
};

struct race_report {
	atomic_llong rings, submitted, ok, cancelled, exits, wakes;
	atomic_int errors;
	char err[1024];
	atomic_int err_taken;
};

static struct race_report *race_rep;
static atomic_int race_stop;
static bool race_pipes;
static struct race_ring race_rings[2][RACE_RINGS];

static void race_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void race_error(const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&race_rep->errors, 1);
	if (atomic_exchange(&race_rep->err_taken, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(race_rep->err, sizeof(race_rep->err), fmt, ap);
	va_end(ap);
}

static const int unit_len[RF_KINDS] = { 8, 16, 1, 1 };

static int race_file_open(struct race_file *f, int kind)
{
	int sv[2];

	f->kind = kind;
	atomic_store(&f->pending, 0);
	f->used = false;
	switch (kind) {
	case RF_EVENTFD:
		f->rfd = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
		f->wfd = dup(f->rfd);
		return f->rfd < 0 || f->wfd < 0 ? -1 : 0;
	case RF_DGRAM:
	case RF_STREAM:
		if (socketpair(AF_UNIX, (kind == RF_DGRAM ? SOCK_DGRAM :
					 SOCK_STREAM) | SOCK_CLOEXEC, 0, sv))
			return -1;
		f->rfd = sv[0];
		f->wfd = sv[1];
		return 0;
	default:
		if (pipe2(sv, O_CLOEXEC))
			return -1;
		f->rfd = sv[0];
		f->wfd = sv[1];
		/* The write end only: a full pipe has units enough. */
		return fcntl(f->wfd, F_SETFL, O_NONBLOCK);
	}
}

/*
 * Add n units to f, without blocking: a full buffer has units enough.
 * Errors do not matter (a read end closed early and gone: no reader to
 * wake); a read that gets no unit shows at retirement.
 */
static void race_units(struct race_file *f, unsigned n)
{
	static const char zeros[64];
	uint64_t v = n;
	unsigned i;
	ssize_t r = 0;

	switch (f->kind) {
	case RF_EVENTFD:
		r = write(f->wfd, &v, 8);
		break;
	case RF_DGRAM:
		for (i = 0; i < n && r >= 0; i++)
			r = send(f->wfd, zeros, 16, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case RF_STREAM:
		r = send(f->wfd, zeros, n < 64 ? n : 64,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	default:
		r = write(f->wfd, zeros, n < 64 ? n : 64);
		break;
	}
	(void)r;
}

static int race_ring_up(struct race_ring *r, uint64_t *rng)
{
	int ret, i, kinds = race_pipes ? RF_KINDS : RF_PIPE;

	ret = ring_queue_init(64, &r->ring, 0);
	if (ret) {
		race_error("ring_queue_init: %s", errstr(ret));
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < RACE_FILES; i++) {
		if (race_file_open(&r->f[i], i % kinds)) {
			race_error("opening a file: %s", strerror(errno));
			pthread_mutex_unlock(&r->lock);
			return -1;
		}
		r->f[i].once = rnd_below(rng, 4) == 0;
	}
	r->up = true;
	pthread_mutex_unlock(&r->lock);
	r->pending = 0;
	r->seq = 0;
	r->cancelled = false;
	r->enters_left = 1 + rnd_below(rng, 12);
	memset(r->state, 0, sizeof(r->state));
	atomic_fetch_add(&race_rep->rings, 1);
	return 0;
}

static void race_reap(struct race_ring *r)
{
	struct ring_cqe *cqe;

	while (!ring_peek_cqe(&r->ring, &cqe)) {
		unsigned seq = (unsigned)cqe->user_data;
		int res = cqe->res;

		if (seq >= r->seq || r->state[seq]++) {
			race_error("CQE for request %u of %u (res %d): %s", seq,
				   r->seq, res, seq >= r->seq ? "never "
				   "submitted" : "a second completion");
		} else {
			struct race_file *f = &r->f[r->fileof[seq]];

			r->pending--;
			atomic_fetch_sub(&f->pending, 1);
			if (res == -ECANCELED || res == -EINTR) {
				r->cancelled = true;
				atomic_fetch_add(&race_rep->cancelled, 1);
			} else if (res == unit_len[f->kind]) {
				atomic_fetch_add(&race_rep->ok, 1);
			} else {
				race_error("read of a %s: res %d (%s), expected "
					   "%d or -ECANCELED",
					   f->kind == RF_EVENTFD ? "eventfd" :
					   f->kind == RF_DGRAM ? "datagram socket" :
					   f->kind == RF_STREAM ? "stream socket" :
					   "pipe", res, errstr(res),
					   unit_len[f->kind]);
			}
		}
		ring_cqe_seen(&r->ring, cqe);
	}
}

static void race_ring_retire(struct race_ring *r)
{
	long long deadline;
	unsigned i;

	if (!r->up)
		return;
	/* One unit for every read still pending: each can complete. */
	for (i = 0; i < RACE_FILES; i++) {
		int n = atomic_load(&r->f[i].pending);

		if (n > 0)
			race_units(&r->f[i], (unsigned)n);
	}
	deadline = now_ns() + io_timeout_ms() * 1000000LL;
	while (r->pending) {
		struct pollfd pfd = { .fd = r->ring.ring_fd, .events = POLLIN };

		race_reap(r);
		if (!r->pending)
			break;
		if (now_ns() > deadline) {
			race_error("%u reads never completed (Inflight %lld), "
				   "although their files had data", r->pending,
				   fdinfo_get(r->ring.ring_fd, "Inflight"));
			break;
		}
		poll(&pfd, 1, 100);
	}
	for (i = 0; i < r->seq; i++)
		if (r->state[i] != 1 && !r->pending) {
			race_error("request %u: %u CQEs", i, r->state[i]);
			break;
		}
	ring_queue_exit(&r->ring);
	pthread_mutex_lock(&r->lock);
	r->up = false;
	for (i = 0; i < RACE_FILES; i++) {
		if (r->f[i].rfd >= 0)
			close(r->f[i].rfd);
		close(r->f[i].wfd);
		r->f[i].rfd = r->f[i].wfd = -1;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Queue up to RACE_BATCH reads on r's files and submit them. */
static void race_submit(struct race_ring *r, uint64_t *rng)
{
	unsigned i, n = 0;
	int ret;

	for (i = 0; i < RACE_BATCH && r->pending + n < RACE_QD &&
		    r->seq < RACE_MAXSEQ; i++) {
		unsigned k = rnd_below(rng, RACE_FILES);
		struct race_file *f = &r->f[k];
		struct ring_sqe *sqe;

		if (f->rfd < 0 || (f->once && f->used))
			continue;
		sqe = ring_get_sqe(&r->ring);
		if (!sqe)
			break;
		ring_prep_read(sqe, f->rfd, r->bufs[r->seq],
			       f->kind == RF_DGRAM ? 64 : unit_len[f->kind], 0);
		sqe->user_data = r->seq;
		r->fileof[r->seq++] = (unsigned char)k;
		atomic_fetch_add(&f->pending, 1);
		f->used = true;
		n++;
	}
	if (!n)
		return;
	ret = ring_submit(&r->ring);
	if (ret != (int)n) {
		race_error("ring_submit of %u: %d (%s)", n, ret, errstr(ret));
		return;
	}
	r->pending += n;
	atomic_fetch_add(&race_rep->submitted, n);
	/* The request now holds the last reference of a "once" file. */
	for (i = 0; i < RACE_FILES; i++)
		if (r->f[i].once && r->f[i].used && r->f[i].rfd >= 0) {
			pthread_mutex_lock(&r->lock);
			close(r->f[i].rfd);
			r->f[i].rfd = -1;
			pthread_mutex_unlock(&r->lock);
		}
}

/* Rings of its own, in turn: a few ENTERs each, then retired. */
static void *race_submitter(void *arg)
{
	struct race_ring *rings = arg;
	uint64_t rng = (uint64_t)now_ns() ^ (uintptr_t)arg;
	unsigned k;

	while (!atomic_load(&race_stop) && !atomic_load(&race_rep->errors)) {
		for (k = 0; k < RACE_RINGS; k++) {
			struct race_ring *r = &rings[k];

			if (!r->up && race_ring_up(r, &rng))
				goto out;
			race_reap(r);
			if (r->cancelled || !r->enters_left ||
			    r->seq + RACE_BATCH > RACE_MAXSEQ) {
				race_ring_retire(r);
				continue;
			}
			race_submit(r, &rng);
			r->enters_left--;
		}
	}
out:
	for (k = 0; k < RACE_RINGS; k++)
		race_ring_retire(&rings[k]);
	return NULL;
}

static void *race_writer(void *arg)
{
	uint64_t rng = (uint64_t)now_ns() * 3 + 1;

	while (!atomic_load(&race_stop)) {
		struct race_ring *r = &race_rings[rnd_below(&rng, 2)]
						 [rnd_below(&rng, RACE_RINGS)];
		struct race_file *f = &r->f[rnd_below(&rng, RACE_FILES)];
		bool woke = false;

		if (pthread_mutex_trylock(&r->lock)) {
			sched_yield();
			continue;
		}
		if (r->up && atomic_load(&f->pending) > 0 && f->wfd >= 0) {
			race_units(f, 1);
			atomic_fetch_add(&race_rep->wakes, 1);
			woke = true;
		}
		pthread_mutex_unlock(&r->lock);
		/* Wake-ups now and then: the CPUs are for arming. */
		if (woke)
			usleep(200);
		else
			sched_yield();
	}
	return NULL;
}

/* Threads with a file table of their own, exiting one after the other. */
static void *race_exiter(void *arg)
{
	while (!atomic_load(&race_stop)) {
		int ret = thread_exit_own_files();

		if (ret) {
			race_error("thread with unshare(CLONE_FILES): %s",
				   errstr(ret));
			break;
		}
		atomic_fetch_add(&race_rep->exits, 1);
	}
	return NULL;
}

/*
 * Runs until the exiter has done `exits` thread exits (what gives the race
 * its chances) and at least min_ms have passed; cap_ms bounds a slow
 * machine.
 */
static void race_child(long long exits, unsigned min_ms, unsigned cap_ms)
{
	pthread_t sub[2], wr, ex;
	long long start = now_ns(), last = start, el;
	bool verbose = getenv("RING_TEST_VERBOSE") != NULL;
	int i;

	/* Read ends closed early: writes may find no reader left. */
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 2 * RACE_RINGS; i++) {
		struct race_ring *r = &race_rings[i / RACE_RINGS][i % RACE_RINGS];

		pthread_mutex_init(&r->lock, NULL);
		r->bufs = calloc(RACE_MAXSEQ, 64);
		if (!r->bufs)
			_exit(3);
	}
	for (i = 0; i < 2; i++)
		pthread_create(&sub[i], NULL, race_submitter, race_rings[i]);
	pthread_create(&wr, NULL, race_writer, NULL);
	pthread_create(&ex, NULL, race_exiter, NULL);
	for (;;) {
		sleep_ms(50);
		el = (now_ns() - start) / 1000000;
		if (atomic_load(&race_rep->errors) || el >= cap_ms ||
		    (el >= min_ms && race_rep->exits >= exits))
			break;
		/* RING_TEST_VERBOSE: progress, to time a crash. */
		if (verbose && now_ns() - last > 1000000000LL) {
			last = now_ns();
			fprintf(stderr, "race: %lld ms, %lld rings, %lld reads, "
				"%lld exits\n", el, (long long)race_rep->rings,
				(long long)race_rep->submitted,
				(long long)race_rep->exits);
		}
	}
	atomic_store(&race_stop, 1);
	pthread_join(ex, NULL);
	pthread_join(wr, NULL);
	for (i = 0; i < 2; i++)
		pthread_join(sub[i], NULL);
	_exit(atomic_load(&race_rep->errors) ? 1 : 0);
}

/* Does the kernel poll pipes without waiting (RWF_NOWAIT: -EAGAIN)? */
static bool pipes_nowait(void)
{
	char c;
	struct iovec iov = { &c, 1 };
	int p[2];
	bool yes;

	if (pipe2(p, O_CLOEXEC))
		return false;
	yes = preadv2(p[0], &iov, 1, -1, RWF_NOWAIT) < 0 && errno == EAGAIN;
	close(p[0]);
	close(p[1]);
	return yes;
}

static void test_poll_arm_race(void **state)
{
	struct ring_stats base;
	long long exits = scaled(12000, 600), t0;
	unsigned min_ms = scaled(5000, 1000), cap_ms = scaled(90000, 9000);
	pid_t pid;
	int st;

	require_ring();
	stats_baseline(&base);
	race_pipes = pipes_nowait();
	race_rep = mmap(NULL, sizeof(*race_rep), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(race_rep != MAP_FAILED);
	memset(race_rep, 0, sizeof(*race_rep));
	print_message("# arming, waking and %lld thread exits (at least %u "
		      "ms, at most %u; files: eventfd, datagram and stream "
		      "sockets%s)\n", exits, min_ms, cap_ms,
		      race_pipes ? ", pipes" : "");
	fflush(stdout);
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (!pid)
		race_child(exits, min_ms, cap_ms);
	track(pid);
	st = reap_pid(pid, (int)cap_ms + 2 * io_timeout_ms() + 30000);
	print_message("# %lld ms: %lld rings, %lld reads (%lld with data, "
		      "%lld cancelled), %lld wake-up writes, %lld thread exits "
		      "with their own file table\n",
		      (now_ns() - t0) / 1000000, (long long)race_rep->rings,
		      (long long)race_rep->submitted, (long long)race_rep->ok,
		      (long long)race_rep->cancelled, (long long)race_rep->wakes,
		      (long long)race_rep->exits);
	if (race_rep->errors)
		fail_msg("%d errors; the first: %s", race_rep->errors,
			 race_rep->err);
	if (st < 0)
		fail_msg("the racing process did not finish (killed)");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("the racing process ended with status 0x%x", st);
	if (race_rep->submitted != race_rep->ok + race_rep->cancelled)
		fail_msg("%lld reads submitted, %lld completed",
			 (long long)race_rep->submitted,
			 (long long)(race_rep->ok + race_rep->cancelled));
	munmap(race_rep, sizeof(*race_rep));
	expect_stats(&base, "arming race");
}

/* ==== 4. one user's parked reads do not stall another user's I/O ========= */

#define USER_A		65534
#define USER_B		65533
#define A_RINGS		4
#define A_PER_RING	64
#define A_FILES		16

static void become(int sock, uid_t uid)
{
	KID_CHECK(sock, !setgroups(0, NULL), "setgroups: %s", strerror(errno));
	KID_CHECK(sock, !setresgid(uid, uid, uid), "setresgid: %s",
		  strerror(errno));
	KID_CHECK(sock, !setresuid(uid, uid, uid), "setresuid: %s",
		  strerror(errno));
	/* Own our /proc files again (fdinfo). */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	KID_CHECK(sock, geteuid() == uid, "still uid %d", (int)geteuid());
}

/* User A: park as many blocking reads as it can, until told to go. */
static void user_a(int sock)
{
	struct ring rings[A_RINGS];
	int fds[A_FILES], slaves[A_FILES / 2], i, k, ret;
	char path[64], (*bufs)[64] = calloc(A_RINGS * A_PER_RING, 64);
	struct asec_msg m;
	long long inflight = 0;

	become(sock, USER_A);
	KID_CHECK(sock, bufs, "calloc");
	for (i = 0; i < A_FILES / 2; i++) {
		/* A pty: its poll waits on two queues. */
		fds[i] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		KID_CHECK(sock, fds[i] >= 0 && !grantpt(fds[i]) &&
			  !unlockpt(fds[i]), "pty: %s", strerror(errno));
		slaves[i] = open(ptsname(fds[i]), O_RDWR | O_NOCTTY | O_CLOEXEC);
		KID_CHECK(sock, slaves[i] >= 0, "open %s: %s", ptsname(fds[i]),
			  strerror(errno));
	}
	for (; i < A_FILES; i++) {
		/* A FIFO opened O_RDWR: the same. */
		snprintf(path, sizeof(path), "/tmp/asec-a-%d-%d", getpid(), i);
		KID_CHECK(sock, !mkfifo(path, 0600), "mkfifo: %s",
			  strerror(errno));
		fds[i] = open(path, O_RDWR | O_CLOEXEC);
		KID_CHECK(sock, fds[i] >= 0, "open fifo: %s", strerror(errno));
		unlink(path);
	}
	for (k = 0; k < A_RINGS; k++) {
		ret = ring_queue_init(A_PER_RING, &rings[k], 0);
		KID_CHECK(sock, !ret, "user A: ring_queue_init: %s (is %s "
			  "0666?)", errstr(ret), ring_dev());
		for (i = 0; i < A_PER_RING; i++) {
			struct ring_sqe *sqe = ring_get_sqe(&rings[k]);

			ring_prep_read(sqe, fds[(k * A_PER_RING + i) % A_FILES],
				       bufs[k * A_PER_RING + i], 64, 0);
		}
		ret = ring_submit(&rings[k]);
		KID_CHECK(sock, ret == A_PER_RING, "user A: submit: %d (%s)",
			  ret, errstr(ret));
	}
	sleep_ms(200);
	memset(&m, 0, sizeof(m));
	m.type = MSG_READY;
	for (k = 0; k < A_RINGS; k++) {
		inflight += fdinfo_get(rings[k].ring_fd, "Inflight");
		m.v[1] += ring_cq_ready(&rings[k]);
	}
	m.v[0] = inflight;
	msg_send(sock, &m, -1);
	msg_recv(sock, &m, NULL, -1);
	for (k = 0; k < A_RINGS; k++)
		ring_queue_exit(&rings[k]);
	_exit(0);
}

/*
 * User B: an FSYNC and a buffered read of a cold block device region, on
 * its own ring; reports res and time (ms) of each, then leaves.
 */
static void user_b(int sock, int bdev, size_t len)
{
	struct ring ring;
	struct ring_cqe cqes[2];
	struct ring_sqe *sqe;
	struct asec_msg m;
	unsigned char *buf = NULL;
	long long t0;
	int ret, n, i;

	KID_CHECK(sock, !posix_memalign((void **)&buf, 4096, len), "malloc");
	become(sock, USER_B);
	ret = ring_queue_init(4, &ring, 0);
	KID_CHECK(sock, !ret, "user B: ring_queue_init: %s", errstr(ret));
	memset(buf, 0, len);
	sqe = ring_get_sqe(&ring);
	ring_prep_read(sqe, bdev, buf, (unsigned)len, 0);
	sqe->user_data = 1;
	sqe = ring_get_sqe(&ring);
	ring_prep_fsync(sqe, bdev, 0);
	sqe->user_data = 2;
	t0 = now_ns();
	ret = ring_submit(&ring);
	KID_CHECK(sock, ret == 2, "user B: submit: %d (%s)", ret, errstr(ret));
	memset(&m, 0, sizeof(m));
	m.type = MSG_RESULT;
	m.v[0] = m.v[1] = 1;	/* no CQE */
	m.v[2] = m.v[3] = -1;
	n = reap(&ring, cqes, 2, hang_ms());
	for (i = 0; i < n; i++) {
		unsigned k = cqes[i].user_data == 1 ? 0 : 1;

		m.v[k] = cqes[i].res;
		m.v[2 + k] = (now_ns() - t0) / 1000000;
	}
	m.v[4] = n;
	m.v[5] = pat_matches(buf, len, TAG_FILE, 0) == len;
	msg_send(sock, &m, -1);
	/* Closing may wait for what is still queued: report first. */
	ring_queue_exit(&ring);
	_exit(0);
}

static void test_pool_two_users(void **state)
{
	struct ring_stats base;
	struct target t;
	struct verdict v = { .len = 0 };
	struct asec_msg m;
	struct stat sb;
	size_t len = 64 << 10;
	unsigned char *data;
	int a_sv[2], b_sv[2], ret;
	pid_t a, b;
	char why[256];

	require_ring();
	if (!env_vm(why, sizeof(why))) {
		print_message("# SKIP: %s\n", why);
		skip();
	}
	stats_baseline(&base);
	target_open(&t, TGT_NULLB, false, 0, len);
	data = xalloc(len);
	pat_fill(data, len, TAG_FILE);
	if (pwrite(t.fd, data, len, 0) != (ssize_t)len || fsync(t.fd))
		fail_msg("writing %s: %s", t.path, strerror(errno));
	/* Cold: the read must come from the device. */
	posix_fadvise(t.fd, 0, 0, POSIX_FADV_DONTNEED);
	drop_caches();

	if (stat(ring_dev(), &sb))
		fail_msg("stat %s: %s", ring_dev(), strerror(errno));
	H.dev_mode = sb.st_mode & 07777;
	H.dev_mode_saved = true;
	if (chmod(ring_dev(), 0666))
		fail_msg("chmod %s: %s", ring_dev(), strerror(errno));

	seqpair(a_sv);
	fflush(stdout);
	a = fork();
	if (a < 0)
		fail_msg("fork: %s", strerror(errno));
	if (!a) {
		close(a_sv[0]);
		user_a(a_sv[1]);
	}
	track(a);
	close(a_sv[1]);
	ret = msg_recv(a_sv[0], &m, NULL, 60000);
	if (ret || m.type != MSG_READY)
		fail_msg("user A: %s", ret ? errstr(ret) : m.text);
	print_message("# user %d parked %d reads on ptys and FIFOs opened "
		      "O_RDWR: Inflight %lld, %lld completed\n", USER_A,
		      A_RINGS * A_PER_RING, m.v[0], m.v[1]);

	seqpair(b_sv);
	fflush(stdout);
	b = fork();
	if (b < 0)
		fail_msg("fork: %s", strerror(errno));
	if (!b) {
		close(b_sv[0]);
		user_b(b_sv[1], t.fd, len);
	}
	track(b);
	close(b_sv[1]);
	ret = msg_recv(b_sv[0], &m, NULL, hang_ms() + 30000);
	if (ret || m.type != MSG_RESULT) {
		verdict_add(&v, "user B: %s", ret ? errstr(ret) : m.text);
	} else {
		char r1[64], r2[64];

		if (m.v[2] < 0)
			snprintf(r1, sizeof(r1), "no CQE");
		else
			snprintf(r1, sizeof(r1), "res %lld after %lld ms",
				 m.v[0], m.v[2]);
		if (m.v[3] < 0)
			snprintf(r2, sizeof(r2), "no CQE");
		else
			snprintf(r2, sizeof(r2), "res %lld after %lld ms",
				 m.v[1], m.v[3]);
		print_message("# user %d: READ %s, FSYNC %s\n", USER_B, r1, r2);
		if (m.v[4] < 2)
			verdict_add(&v, "user %d's I/O stalled behind user %d's "
				    "parked reads: %lld of 2 CQEs (READ of a cold "
				    "%s, FSYNC) within %d ms", USER_B, USER_A,
				    m.v[4], t.name, hang_ms());
		if (m.v[2] >= 0 && m.v[0] != (long long)len)
			verdict_add(&v, "user %d's READ: res %lld, expected %zu",
				    USER_B, m.v[0], len);
		else if (m.v[2] >= 0 && !m.v[5])
			verdict_add(&v, "user %d's READ returned other data",
				    USER_B);
		if (m.v[3] >= 0 && m.v[1])
			verdict_add(&v, "user %d's FSYNC: res %lld (%s)", USER_B,
				    m.v[1], errstr(m.v[1]));
	}
	/* A goes; then B's ring can close. */
	m = (struct asec_msg){ .type = MSG_EXIT };
	msg_send(a_sv[0], &m, -1);
	ret = reap_pid(a, 30000);
	if (ret < 0 || !WIFEXITED(ret) || WEXITSTATUS(ret))
		verdict_add(&v, "user A did not exit cleanly (0x%x)", ret);
	ret = reap_pid(b, 30000);
	if (ret < 0 || !WIFEXITED(ret) || WEXITSTATUS(ret))
		verdict_add(&v, "user B did not exit cleanly (0x%x)", ret);
	dev_mode_restore();
	close(a_sv[0]);
	close(b_sv[0]);
	target_close(&t);
	free(data);
	verdict_stats(&v, &base);
	verdict_done(&v, "two users, one worker pool");
}

/* ==== 6. workers act with the submitter's credentials ==================== */

struct fsuid_job {
	int fd;
	struct ring *ring;	/* NULL: pwrite() instead */
	bool vectored;
	int fsuid_after;
	int res;
};

/* In a thread: fsuid 1000 (which drops CAP_FSETID), then one write. */
static void *fsuid_writer(void *arg)
{
	struct fsuid_job *j = arg;
	static char data[16] = "not privileged";
	struct iovec iov = { data, sizeof(data) };

	setfsuid(1000);
	j->fsuid_after = setfsuid(-1);
	if (!j->ring) {
		j->res = pwrite(j->fd, data, sizeof(data), 0) < 0 ? -errno :
			 (int)sizeof(data);
	} else {
		struct ring_cqe cqe;
		int n;

		if (j->vectored)
			ring_prep_writev(ring_get_sqe(j->ring), j->fd, &iov, 1, 0);
		else
			ring_prep_write(ring_get_sqe(j->ring), j->fd, data,
					sizeof(data), 0);
		n = ring_submit(j->ring);
		if (n != 1) {
			j->res = n < 0 ? n : -EIO;
			return NULL;
		}
		n = reap(j->ring, &cqe, 1, io_timeout_ms());
		j->res = n == 1 ? cqe.res : -ETIMEDOUT;
	}
	return NULL;
}

static int fsuid_write(struct fsuid_job *j)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fsuid_writer, j))
		fail_msg("pthread_create: %s", strerror(errno));
	pthread_join(t, NULL);
	if (j->fsuid_after != 1000)
		fail_msg("setfsuid(1000) did not take (fsuid %d)",
			 j->fsuid_after);
	return j->res;
}

static mode_t mode_of(int fd)
{
	struct stat sb;

	if (fstat(fd, &sb))
		fail_msg("fstat: %s", strerror(errno));
	return sb.st_mode & 07777;
}

static void test_worker_creds_suid(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct fsuid_job j;
	char path[PATH_MAX];
	unsigned char zero[4096] = { 0 };
	int fd, v;

	require_ring();
	if (geteuid()) {
		print_message("# SKIP: needs root (the ring is root's, the "
			      "writer is not)\n");
		skip();
	}
	stats_baseline(&base);
	fd = tmpfile_in("/tmp", path, sizeof(path));
	if (pwrite(fd, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero))
		fail_msg("pwrite: %s", strerror(errno));

	/* The control: a plain write by such a thread clears S_ISUID. */
	if (fchmod(fd, 04755))
		fail_msg("fchmod: %s", strerror(errno));
	j = (struct fsuid_job){ .fd = fd };
	expect_ret_msg(fsuid_write(&j), 16, "pwrite() with fsuid 1000");
	if (mode_of(fd) & S_ISUID) {
		close(fd);
		unlink(path);
		print_message("# SKIP: a pwrite() without CAP_FSETID left "
			      "S_ISUID set on this kernel (mode %04o)\n",
			      mode_of(fd));
		skip();
	}

	/* The ring is root's; the thread submitting is not. */
	ring_init_or_fail(&ring, 4);
	for (v = 0; v < 2; v++) {
		mode_t after;

		if (fchmod(fd, 04755))
			fail_msg("fchmod: %s", strerror(errno));
		j = (struct fsuid_job){ .fd = fd, .ring = &ring, .vectored = v };
		expect_ret_msg(fsuid_write(&j), 16, "%s with fsuid 1000",
			       v ? "WRITEV" : "WRITE");
		after = mode_of(fd);
		if (after & S_ISUID) {
			ring_queue_exit(&ring);
			close(fd);
			unlink(path);
			fail_msg("a %s submitted by a thread without CAP_FSETID "
				 "left S_ISUID set (mode %04o; pwrite() from the "
				 "same thread clears it): it ran with the "
				 "credentials of the ring's creator, not the "
				 "submitter's", v ? "WRITEV" : "WRITE", after);
		}
	}
	expect_inflight0(&ring, "setuid writes");
	ring_queue_exit(&ring);
	close(fd);
	unlink(path);
	expect_stats(&base, "setuid writes");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_teardown(test_nomm_scm_rights, teardown),
	cmocka_unit_test_teardown(test_nomm_fork, teardown),
	cmocka_unit_test_teardown(test_nomm_exec, teardown),
	cmocka_unit_test_teardown(test_nomm_blocked, teardown),
	cmocka_unit_test_teardown(test_nomm_queued, teardown),
	cmocka_unit_test_teardown(test_thread_exit_keeps_ring, teardown),
	cmocka_unit_test_teardown(test_worker_creds_suid, teardown),
	cmocka_unit_test_teardown(test_pool_two_users, teardown),
	/* Last: on a module with the race, the machine does not survive it. */
	cmocka_unit_test_teardown(test_poll_arm_race, teardown),
};

/* RING_TEST_FILTER: comma-separated fnmatch() patterns of test names. */
static bool selected(const char *name, const char *filter)
{
	char pat[256];
	const char *p = filter;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n < sizeof(pat)) {
			memcpy(pat, p, n);
			pat[n] = 0;
			if (!fnmatch(pat, name, 0))
				return true;
		}
		p += n;
		if (*p)
			p++;
	}
	return false;
}

int main(int argc, char **argv)
{
	struct CMUnitTest run[sizeof(tests) / sizeof(tests[0])];
	const char *filter = getenv("RING_TEST_FILTER");
	size_t i, n = 0;

	if (argc >= 2 && !strcmp(argv[1], EXEC_HOLDER_ARG))
		return exec_holder_main(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Orphaned holders become ours: waited for and killed by teardown. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!filter || !*filter || selected(tests[i].name, filter))
			run[n++] = tests[i];
	return _cmocka_run_group_tests("tests", run, n, NULL, NULL);
}
