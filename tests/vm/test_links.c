// SPDX-License-Identifier: MIT
/*
 * SQE flags IO_LINK, IO_HARDLINK, IO_DRAIN, ASYNC and CQE_SKIP_SUCCESS
 * (io_uring's IOSQE_*), as /work/notes/links-spec.md has them:
 *   - chains: CQEs in chain order, a chain ends at the first SQE without a
 *     link flag or at the end of the ENTER's to_submit (the SQEs after it
 *     in the SQ ring are not part of it), several chains in one ENTER are
 *     independent; write -> fsync -> read on ext4 (buffered and O_DIRECT)
 *     sees its own data;
 *   - failure (res < 0, or a short READ/WRITE) of an IO_LINK member cancels
 *     the rest (-ECANCELED, nothing of it runs), of an IO_HARDLINK member
 *     does not; once cancelling, HARDLINK members are cancelled too;
 *   - a member failing at submission (bad opcode, fd, flags, buffer):
 *     its own errno, every other member -ECANCELED, nothing runs, ENTER
 *     counts them all; unknown flag bits (1<<5, 1<<7) are -EINVAL;
 *   - CQE_SKIP_SUCCESS: no CQE on success, one on failure; a failed skip
 *     member's cancelled followers post nothing, a failed plain member's
 *     followers post -ECANCELED even with skip; RING_FEAT_CQE_SKIP;
 *   - DRAIN: waits for everything before it, and what comes after waits
 *     for it; on a chain member it drains the whole chain; with SKIP too;
 *   - ASYNC: a NOP, a file read, a pipe read that waits for data;
 *   - a member's file is taken at submission (fd closed, slot updated
 *     after ENTER); off = -1 in a chain follows the previous member;
 *   - random chains of every kind against a model (CQEs, results, order,
 *     drains), through a CQ small enough to need the backlog;
 *   - close, the owner's exit or exec (alone, and with another process
 *     holding the ring, which then sees every CQE as -ECANCELED) with a
 *     chain and drained requests pending: nothing leaks (module stats,
 *     the pipes' other ends see the files released, VmPin of a registered
 *     buffer);
 *   - a process sharing the owner's mm and files (clone, not a thread)
 *     that goes on submitting after the owner's exit: every SQE of every
 *     kind -ECANCELED at once, nothing runs, nothing hangs or leaks;
 *   - a chain across a full CQ: through the backlog, in order;
 *   - registered files and buffers (FIXED_FILE, READ_FIXED/WRITE_FIXED)
 *     in chains.
 * Every wait is bounded (poll with a timeout); "still pending" is
 * watched for PENDING_MS.  RING_LINKS_FILTER=PATTERN (cmocka's test
 * filter, e.g. 'test_drain*') runs only the tests it matches.
 */
#include "fixedtest.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define F_LINK	RING_SQE_IO_LINK
#define F_HARD	RING_SQE_IO_HARDLINK
#define F_DRAIN	RING_SQE_IO_DRAIN
#define F_ASYNC	RING_SQE_ASYNC
#define F_SKIP	RING_SQE_CQE_SKIP_SUCCESS
#define F_FIXED	RING_SQE_FIXED_FILE

#define ECANC	(-ECANCELED)

/* How long "nothing completed yet" is watched. */
#define PENDING_MS	200

/* The short-read source: a memfd of SRC_SIZE bytes. */
#define SRC_SIZE	100

struct want {
	__u64 ud;
	int res;
};

/* ---- queueing -------------------------------------------------------------- */

static struct ring_sqe *sqe_get(struct ring *ring)
{
	struct ring_sqe *s = ring_get_sqe(ring);

	if (!s)
		fail_msg("SQ ring full");
	return s;
}

static struct ring_sqe *q_nop(struct ring *ring, __u64 ud, unsigned flags)
{
	struct ring_sqe *s = sqe_get(ring);

	ring_prep_nop(s);
	s->flags = (__u8)flags;
	s->user_data = ud;
	return s;
}

static struct ring_sqe *q_rw(struct ring *ring, int op, int fd,
			     const void *buf, unsigned len, __u64 off, __u64 ud,
			     unsigned flags)
{
	struct ring_sqe *s = sqe_get(ring);

	ring_prep_rw(op, s, fd, buf, len, off);
	s->flags = (__u8)flags;
	s->user_data = ud;
	return s;
}

static struct ring_sqe *q_read(struct ring *ring, int fd, void *buf,
			       unsigned len, __u64 off, __u64 ud, unsigned flags)
{
	return q_rw(ring, RING_OP_READ, fd, buf, len, off, ud, flags);
}

static struct ring_sqe *q_write(struct ring *ring, int fd, const void *buf,
				unsigned len, __u64 off, __u64 ud,
				unsigned flags)
{
	return q_rw(ring, RING_OP_WRITE, fd, buf, len, off, ud, flags);
}

static struct ring_sqe *q_fsync(struct ring *ring, int fd, __u64 ud,
				unsigned flags)
{
	struct ring_sqe *s = sqe_get(ring);

	ring_prep_fsync(s, fd, 0);
	s->flags = (__u8)flags;
	s->user_data = ud;
	return s;
}

/* An opcode no kernel has (0xff): -EINVAL at submission. */
static struct ring_sqe *q_badop(struct ring *ring, __u64 ud, unsigned flags)
{
	struct ring_sqe *s = q_nop(ring, ud, flags);

	s->opcode = 0xff;
	return s;
}

/* Submit everything queued: ENTER must count all n as submitted. */
static void submit_n(struct ring *ring, int n, const char *what)
{
	expect_ret_msg(ring_submit(ring), n, "%s: ENTER", what);
}

/* ---- completions ----------------------------------------------------------- */

static void fmt_cqes(char *buf, size_t len, const struct ring_cqe *c,
		     unsigned n)
{
	size_t o = 0;
	unsigned i;

	buf[0] = 0;
	for (i = 0; i < n && o + 1 < len; i++)
		o += snprintf(buf + o, len - o, "%s{0x%llx %d}", i ? " " : "",
			      (unsigned long long)c[i].user_data, c[i].res);
	if (!n)
		snprintf(buf, len, "none");
}

static void fmt_want(char *buf, size_t len, const struct want *w, unsigned n)
{
	size_t o = 0;
	unsigned i;

	buf[0] = 0;
	for (i = 0; i < n && o + 1 < len; i++)
		o += snprintf(buf + o, len - o, "%s{0x%llx %d}", i ? " " : "",
			      (unsigned long long)w[i].ud, w[i].res);
}

/*
 * Reap exactly the CQEs of w, in that order, with those results.  Each
 * mismatch prints what came and what was expected.
 */
static void expect_seq(struct ring *ring, const struct want *w, unsigned n,
		       const char *what)
{
	struct ring_cqe got[64];
	char gs[2048], ws[2048];
	int r;
	unsigned i;

	assert_true(n <= 64);
	r = reap(ring, got, n, io_timeout_ms());
	if (r < 0)
		fail_msg("%s: reap: %s", what, errstr(r));
	for (i = 0; i < (unsigned)r; i++)
		if (got[i].user_data != w[i].ud || got[i].res != w[i].res)
			break;
	if (i == n)
		return;
	fmt_cqes(gs, sizeof(gs), got, (unsigned)r);
	fmt_want(ws, sizeof(ws), w, n);
	if ((unsigned)r < n && i == (unsigned)r)
		fail_msg("%s: only %d of %u CQEs within %d ms (Inflight %lld): "
			 "got %s; expected %s", what, r, n, io_timeout_ms(),
			 fdinfo_get(ring->ring_fd, "Inflight"), gs, ws);
	fail_msg("%s: CQE %u differs: got %s; expected %s (as {user_data "
		 "res})", what, i, gs, ws);
}

/*
 * Reap the CQEs of several chains: chain[i] says which chain w[i] belongs
 * to; within a chain the order of w is required, between chains any.
 */
static void expect_chains(struct ring *ring, const struct want *w,
			  const int *chain, unsigned n, const char *what)
{
	struct ring_cqe got[64];
	char gs[2048], ws[2048];
	int last[64], r;
	bool seen[64] = { false };
	unsigned i, j;

	assert_true(n <= 64);
	for (i = 0; i < 64; i++)
		last[i] = -1;
	r = reap(ring, got, n, io_timeout_ms());
	if (r < 0)
		fail_msg("%s: reap: %s", what, errstr(r));
	fmt_cqes(gs, sizeof(gs), got, (unsigned)r);
	fmt_want(ws, sizeof(ws), w, n);
	if ((unsigned)r < n)
		fail_msg("%s: only %d of %u CQEs within %d ms (Inflight %lld): "
			 "got %s; expected (per chain in order) %s", what, r, n,
			 io_timeout_ms(), fdinfo_get(ring->ring_fd, "Inflight"),
			 gs, ws);
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++)
			if (!seen[j] && w[j].ud == got[i].user_data)
				break;
		if (j == n)
			fail_msg("%s: unexpected CQE {0x%llx %d}: got %s; "
				 "expected %s", what,
				 (unsigned long long)got[i].user_data,
				 got[i].res, gs, ws);
		seen[j] = true;
		if (got[i].res != w[j].res)
			fail_msg("%s: CQE 0x%llx res %d (%s), expected %d (%s): "
				 "got %s; expected %s", what,
				 (unsigned long long)w[j].ud, got[i].res,
				 errstr(got[i].res), w[j].res, errstr(w[j].res),
				 gs, ws);
		if ((int)j < last[chain[j]])
			fail_msg("%s: CQE 0x%llx came out of its chain's order: "
				 "got %s; expected (per chain in order) %s",
				 what, (unsigned long long)w[j].ud, gs, ws);
		last[chain[j]] = (int)j;
	}
}

/* No CQE (ring or backlog) within ms. */
static void expect_no_cqe(struct ring *ring, int ms, const char *what)
{
	struct ring_cqe c;
	int n = reap(ring, &c, 1, ms);

	if (n)
		fail_msg("%s: unexpected CQE {0x%llx %d (%s)} (reap %d)", what,
			 (unsigned long long)c.user_data, c.res, errstr(c.res),
			 n);
}

/*
 * Nothing completed for PENDING_MS: no CQE, no backlog, the ring fd not
 * readable; n requests in flight (fdinfo Inflight, module requests).
 */
static void expect_pending(struct ring *ring, const struct ring_stats *base,
			   unsigned n, const char *what)
{
	struct ring_stats now;
	struct pollfd pfd = { .fd = ring->ring_fd, .events = POLLIN };

	sleep_ms(PENDING_MS);
	if (ring_cq_ready(ring) || ring_cq_has_overflow(ring)) {
		struct ring_cqe *c = &ring->cq.cqes[*ring->cq.khead &
						    ring->cq.ring_mask];

		fail_msg("%s: a CQE {0x%llx %d (%s)} came while it should wait",
			 what, (unsigned long long)c->user_data, c->res,
			 errstr(c->res));
	}
	if (poll(&pfd, 1, 0) != 0)
		fail_msg("%s: ring fd polls readable with no CQE (revents 0x%x)",
			 what, pfd.revents);
	if (fdinfo_get(ring->ring_fd, "Inflight") != n)
		fail_msg("%s: fdinfo Inflight %lld, expected %u", what,
			 fdinfo_get(ring->ring_fd, "Inflight"), n);
	stats_get(&now);
	if (now.requests != base->requests + n)
		fail_msg("%s: %ld live requests, expected %ld", what,
			 now.requests, base->requests + n);
}

/* Nothing more: no CQE, nothing in flight. */
static void expect_idle(struct ring *ring, const char *what)
{
	expect_inflight0(ring, what);
	expect_no_cqe(ring, 0, what);
}

/* The end of a test: idle, closed, the module back to base. */
static void finish(struct ring *ring, const struct ring_stats *base,
		   const char *what)
{
	expect_idle(ring, what);
	ring_queue_exit(ring);
	expect_stats(base, what);
}

static unsigned cq_tail(const struct ring *ring)
{
	return __atomic_load_n(ring->cq.ktail, __ATOMIC_ACQUIRE);
}

/* ---- files ----------------------------------------------------------------- */

static void xpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		fail_msg("pipe2: %s", strerror(errno));
}

static void xclose(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A memfd of SRC_SIZE bytes 'a', 'b', ...: a READ of more is short. */
static int short_src(void)
{
	char b[SRC_SIZE];
	int fd = memfd_sized("links-src", 0, 0), i;

	for (i = 0; i < SRC_SIZE; i++)
		b[i] = (char)('a' + i % 26);
	xpwrite(fd, b, SRC_SIZE, 0);
	return fd;
}

/* Nothing can be read from the pipe's read end now. */
static void expect_pipe_empty(int rfd, const char *what)
{
	struct pollfd p = { .fd = rfd, .events = POLLIN };

	/* POLLHUP alone (no writer left) is fine: no data. */
	if (poll(&p, 1, 0) != 0 && (p.revents & POLLIN)) {
		char b[16] = { 0 };
		ssize_t n = read(rfd, b, sizeof(b) - 1);

		fail_msg("%s: the pipe has data (revents 0x%x, \"%s\", %zd "
			 "bytes): a cancelled WRITE ran", what, p.revents, b, n);
	}
}

/*
 * An address range that faults (PROT_NONE, kept mapped so that no later
 * mapping lands there): a READ into it is -EFAULT when it runs.
 */
static void *fault_range(void)
{
	void *p = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail_msg("mmap PROT_NONE: %s", strerror(errno));
	return p;
}

/* Read exactly len bytes that must be in the pipe already. */
static void expect_pipe_data(int rfd, const void *want, size_t len,
			     const char *what)
{
	char b[256];
	struct pollfd p = { .fd = rfd, .events = POLLIN };
	ssize_t n;

	assert_true(len < sizeof(b));
	if (poll(&p, 1, 0) != 1)
		fail_msg("%s: the pipe is empty (the WRITE did not run)", what);
	n = read(rfd, b, sizeof(b));
	if (n != (ssize_t)len || memcmp(b, want, len))
		fail_msg("%s: the pipe gave %zd bytes, expected %zu", what, n,
			 len);
}

/* Write buf to fd after delay_ms, from another thread. */
struct delayed {
	int fd;
	const void *buf;
	size_t len;
	int delay_ms;
	ssize_t ret;
	int err;
	pthread_t th;
};

static void *delayed_fn(void *arg)
{
	struct delayed *d = arg;

	sleep_ms(d->delay_ms);
	d->ret = write(d->fd, d->buf, d->len);
	d->err = errno;
	return NULL;
}

static void delayed_write(struct delayed *d, int fd, const void *buf,
			  size_t len, int delay_ms)
{
	*d = (struct delayed){ .fd = fd, .buf = buf, .len = len,
			       .delay_ms = delay_ms };
	assert_int_equal(pthread_create(&d->th, NULL, delayed_fn, d), 0);
}

static void delayed_join(struct delayed *d)
{
	pthread_join(d->th, NULL);
	if (d->ret != (ssize_t)d->len)
		fail_msg("writer thread: write %zu: %zd (%s)", d->len, d->ret,
			 strerror(d->err));
}

static void pattern(unsigned char *b, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

/* ---- tests: basics ----------------------------------------------------------- */

static void test_feature(void **state)
{
	struct ring ring;

	(void)state;
	require_ring();
	ring_init_or_fail(&ring, 4);
	if (!(ring.features & RING_FEAT_CQE_SKIP))
		fail_msg("ring_params.features 0x%x lacks RING_FEAT_CQE_SKIP "
			 "(0x%x)", ring.features, RING_FEAT_CQE_SKIP);
	ring_queue_exit(&ring);
}

/* Chains of NOPs: every CQE, in chain order, with LINK, HARDLINK, mixed. */
static void test_nop_chains(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct want w[64];
	unsigned i, n;

	(void)state;
	require_ring();
	stats_baseline(&base);
	ring_init_or_fail(&ring, 64);

	/* A chain of 8 with IO_LINK, the last without. */
	for (i = 0; i < 8; i++) {
		q_nop(&ring, 0x100 + i, i < 7 ? F_LINK : 0);
		w[i] = (struct want){ 0x100 + i, 0 };
	}
	submit_n(&ring, 8, "LINK chain of 8");
	expect_seq(&ring, w, 8, "LINK chain of 8");

	/* The same with IO_HARDLINK. */
	for (i = 0; i < 8; i++) {
		q_nop(&ring, 0x200 + i, i < 7 ? F_HARD : 0);
		w[i] = (struct want){ 0x200 + i, 0 };
	}
	submit_n(&ring, 8, "HARDLINK chain of 8");
	expect_seq(&ring, w, 8, "HARDLINK chain of 8");

	/* Mixed, and both flags on one SQE. */
	for (i = 0; i < 6; i++) {
		static const unsigned fl[6] = { F_LINK, F_HARD, F_LINK | F_HARD,
						F_HARD, F_LINK, 0 };

		q_nop(&ring, 0x300 + i, fl[i]);
		w[i] = (struct want){ 0x300 + i, 0 };
	}
	submit_n(&ring, 6, "mixed chain of 6");
	expect_seq(&ring, w, 6, "mixed chain of 6");

	/* A chain as long as the SQ ring. */
	n = ring.sq.ring_entries;
	assert_true(n <= 64);
	for (i = 0; i < n; i++) {
		q_nop(&ring, 0x1000 + i, i < n - 1 ? F_LINK : 0);
		w[i] = (struct want){ 0x1000 + i, 0 };
	}
	submit_n(&ring, (int)n, "chain filling the SQ ring");
	expect_seq(&ring, w, n, "chain filling the SQ ring");
	finish(&ring, &base, "NOP chains");
}

/* A raw ring's CQEs within the usual bound, in order. */
static void raw_expect_seq(struct raw_ring *r, const struct want *w,
			   unsigned n, const char *what)
{
	long long deadline = now_ns() + io_timeout_ms() * 1000000LL;
	struct ring_cqe got[16];
	char gs[1024], ws[1024];
	unsigned k = 0, i;

	assert_true(n <= 16);
	while (k < n) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

		if (raw_peek_cqe(r, &got[k])) {
			raw_cq_advance(r, 1);
			k++;
			continue;
		}
		if (now_ns() > deadline)
			break;
		poll(&pfd, 1, 100);
	}
	for (i = 0; i < k; i++)
		if (got[i].user_data != w[i].ud || got[i].res != w[i].res)
			break;
	if (i == n)
		return;
	fmt_cqes(gs, sizeof(gs), got, k);
	fmt_want(ws, sizeof(ws), w, n);
	fail_msg("%s: got %s; expected %s", what, gs, ws);
}

static void raw_q(struct raw_ring *r, int op, int fd, const void *buf,
		  unsigned len, __u64 ud, unsigned flags)
{
	struct ring_sqe *s = raw_get_sqe(r);

	if (!s)
		fail_msg("raw SQ full");
	s->opcode = (__u8)op;
	s->fd = fd;
	s->addr = (uintptr_t)buf;
	s->len = len;
	s->off = 0;
	s->flags = (__u8)flags;
	s->user_data = ud;
}

/*
 * A chain still open at the end of to_submit is submitted as it is; the
 * SQEs already in the SQ ring after it are not part of it (its failing
 * last member cancels nothing).  Then with libring: an unterminated chain
 * of NOPs, and the next ENTER's SQE is not linked to it.
 */
static void test_unterminated(void **state)
{
	struct ring_stats base;
	struct raw_ring r;
	struct ring ring;
	char buf[4096];
	int src;

	(void)state;
	require_ring();
	stats_baseline(&base);
	src = short_src();
	raw_ring_init(&r, 8, NULL);
	raw_q(&r, RING_OP_NOP, -1, NULL, 0, 1, F_LINK);
	raw_q(&r, RING_OP_READ, src, buf, sizeof(buf), 2, F_LINK);
	raw_q(&r, RING_OP_NOP, -1, NULL, 0, 3, 0);
	raw_q(&r, RING_OP_NOP, -1, NULL, 0, 4, 0);
	raw_flush_sq(&r);		/* all 4 visible to the kernel */
	expect_ret_msg(raw_enter(r.fd, 2, 0, 0), 2, "ENTER to_submit 2");
	raw_expect_seq(&r, (struct want[]){ { 1, 0 }, { 2, SRC_SIZE } }, 2,
		       "unterminated chain of 2 (its short READ last)");
	sleep_ms(50);
	if (raw_cq_ready(&r) || *r.sq_head != 2)
		fail_msg("more than the 2 submitted SQEs went in (CQ ready %u, "
			 "SQ head %u)", raw_cq_ready(&r), *r.sq_head);
	expect_ret_msg(raw_enter(r.fd, 2, 0, 0), 2, "the second ENTER");
	raw_expect_seq(&r, (struct want[]){ { 3, 0 }, { 4, 0 } }, 2,
		       "the SQEs after the unterminated chain");
	raw_ring_exit(&r);

	ring_init_or_fail(&ring, 8);
	q_nop(&ring, 0x11, F_LINK);
	q_nop(&ring, 0x12, F_HARD);
	q_nop(&ring, 0x13, F_LINK);
	submit_n(&ring, 3, "unterminated NOP chain");
	expect_seq(&ring, (struct want[]){ { 0x11, 0 }, { 0x12, 0 },
					   { 0x13, 0 } }, 3,
		   "unterminated NOP chain");
	q_read(&ring, src, buf, sizeof(buf), 0, 0x21, F_LINK);
	submit_n(&ring, 1, "a failing unterminated chain of one");
	expect_seq(&ring, (struct want[]){ { 0x21, SRC_SIZE } }, 1,
		   "a failing unterminated chain of one");
	q_nop(&ring, 0x22, 0);
	submit_n(&ring, 1, "the next ENTER");
	expect_seq(&ring, (struct want[]){ { 0x22, 0 } }, 1,
		   "the NOP of the next ENTER (not linked to the last)");
	close(src);
	finish(&ring, &base, "unterminated");
}

/* Two (three) chains in one ENTER are independent of each other. */
static void test_two_chains(void **state)
{
	struct ring_stats base;
	struct ring ring;
	char buf[4096], pb[64];
	int src, p[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	src = short_src();
	xpipe(p);
	ring_init_or_fail(&ring, 16);

	/* [short READ -> NOP] [NOP -> NOP -> NOP] [NOP] */
	q_read(&ring, src, buf, sizeof(buf), 0, 1, F_LINK);
	q_nop(&ring, 2, 0);
	q_nop(&ring, 3, F_LINK);
	q_nop(&ring, 4, F_HARD);
	q_nop(&ring, 5, 0);
	q_nop(&ring, 6, 0);
	submit_n(&ring, 6, "three chains");
	expect_chains(&ring,
		      (struct want[]){ { 1, SRC_SIZE }, { 2, ECANC }, { 3, 0 },
				       { 4, 0 }, { 5, 0 }, { 6, 0 } },
		      (int[]){ 0, 0, 1, 1, 1, 2 }, 6,
		      "a failing chain, a good one and a NOP in one ENTER");

	/*
	 * The first chain's head waits on a pipe: the second one runs.  The
	 * READ asks for exactly what will be written (a pipe READ that gets
	 * less is short: a failure that would cancel the NOP).
	 */
	q_read(&ring, p[0], pb, 5, 0, 11, F_LINK);
	q_nop(&ring, 12, 0);
	q_nop(&ring, 13, F_LINK);
	q_nop(&ring, 14, 0);
	submit_n(&ring, 4, "a waiting chain and a running one");
	expect_seq(&ring, (struct want[]){ { 13, 0 }, { 14, 0 } }, 2,
		   "the second chain while the first waits");
	expect_pending(&ring, &base, 2, "the chain behind the pipe read");
	assert_int_equal(write(p[1], "chain", 5), 5);
	expect_seq(&ring, (struct want[]){ { 11, 5 }, { 12, 0 } }, 2,
		   "the first chain once the pipe has data");
	assert_memory_equal(pb, "chain", 5);

	/* The same, but the pipe READ gets less than it asked: short. */
	q_read(&ring, p[0], pb, sizeof(pb), 0, 21, F_LINK);
	q_nop(&ring, 22, 0);
	submit_n(&ring, 2, "a pipe READ that will be short");
	expect_pending(&ring, &base, 2, "the chain behind the pipe read");
	assert_int_equal(write(p[1], "short", 5), 5);
	expect_seq(&ring, (struct want[]){ { 21, 5 }, { 22, ECANC } }, 2,
		   "a short pipe READ (5 of 64) cancels the rest");
	close(src);
	close(p[0]);
	close(p[1]);
	finish(&ring, &base, "two chains");
}

/* ---- tests: data through a chain -------------------------------------------- */

/*
 * WRITE -> FSYNC -> READ of the same range, linked: the READ sees the
 * WRITE's data (it can only if it ran after it); then WRITEV -> FSYNC
 * (DATASYNC) -> READV.  Rounds at several offsets; the file checked with
 * pread too.
 */
static void write_fsync_read(enum tgt_kind kind, bool direct)
{
	const size_t len = 16384, size = 256 * 1024;
	struct ring_stats base;
	struct target t;
	struct ring ring;
	unsigned char *wb, *rb, *chk;
	unsigned i, rounds = scaled(8, 2);
	uint64_t seed = test_seed("write-fsync-read");

	require_ring();
	stats_baseline(&base);
	target_open(&t, kind, direct, 0, size);
	ring_init_or_fail(&ring, 8);
	wb = xalloc(len);
	rb = xalloc(len);
	chk = xalloc(len);
	for (i = 0; i < rounds; i++) {
		__u64 off = (__u64)((seed + i * 5) % (size / len)) * len;
		struct ring_sqe *s;

		pattern(wb, len, (unsigned)seed + i);
		memset(rb, 0, len);
		if (i % 2 == 0) {
			q_write(&ring, t.fd, wb, len, off, 0x10 + i, F_LINK);
			q_fsync(&ring, t.fd, 0x20 + i, F_LINK);
			q_read(&ring, t.fd, rb, len, off, 0x30 + i, 0);
		} else {
			static struct iovec wv[2], rv[3];

			wv[0] = (struct iovec){ wb, 4096 };
			wv[1] = (struct iovec){ wb + 4096, len - 4096 };
			rv[0] = (struct iovec){ rb, 8192 };
			rv[1] = (struct iovec){ rb + 8192, 4096 };
			rv[2] = (struct iovec){ rb + 12288, len - 12288 };
			q_rw(&ring, RING_OP_WRITEV, t.fd, wv, 2, off, 0x10 + i,
			     F_LINK);
			s = q_fsync(&ring, t.fd, 0x20 + i, F_HARD);
			s->rw_flags = RING_FSYNC_DATASYNC;
			q_rw(&ring, RING_OP_READV, t.fd, rv, 3, off, 0x30 + i, 0);
		}
		submit_n(&ring, 3, "write-fsync-read");
		expect_seq(&ring, (struct want[]){ { 0x10 + i, (int)len },
						   { 0x20 + i, 0 },
						   { 0x30 + i, (int)len } },
			   3, t.name);
		expect_same(rb, wb, len, "%s round %u: the chained READ", t.name,
			    i);
		xpread(t.fd, chk, len, (off_t)off);
		expect_same(chk, wb, len, "%s round %u: pread", t.name, i);
	}
	free(wb);
	free(rb);
	free(chk);
	expect_idle(&ring, t.name);
	ring_queue_exit(&ring);
	target_close(&t);
	expect_stats(&base, "write-fsync-read");
}

static void test_write_fsync_read_ext4(void **state)
{
	(void)state;
	write_fsync_read(TGT_EXT4, false);
}

/* O_DIRECT: the WRITE and READ complete from the block layer (IRQ). */
static void test_write_fsync_read_ext4_direct(void **state)
{
	(void)state;
	write_fsync_read(TGT_EXT4, true);
}

/* ---- tests: failures ---------------------------------------------------------- */

/*
 * A failing IO_LINK member (short READ at EOF, a READ of 0 bytes past
 * EOF, -EFAULT at run time, a short pipe READ) cancels the rest: each
 * later member -ECANCELED without running (a WRITE to a pipe writes
 * nothing), HARDLINK members included.
 */
static void test_link_failure(void **state)
{
	struct ring_stats base;
	struct ring ring;
	char buf[4096];
	void *hole;
	int src, q[2], wo;

	(void)state;
	require_ring();
	stats_baseline(&base);
	src = short_src();
	xpipe(q);
	hole = fault_range();
	ring_init_or_fail(&ring, 16);

	q_nop(&ring, 1, F_LINK);
	q_read(&ring, src, buf, sizeof(buf), 0, 2, F_LINK);
	q_write(&ring, q[1], "x", 1, 0, 3, F_LINK);
	q_nop(&ring, 4, 0);
	submit_n(&ring, 4, "short READ in a chain");
	expect_seq(&ring, (struct want[]){ { 1, 0 }, { 2, SRC_SIZE },
					   { 3, ECANC }, { 4, ECANC } }, 4,
		   "a short READ (100 of 4096) with IO_LINK");
	expect_pipe_empty(q[0], "after a short READ with IO_LINK");

	/* 0 bytes of 16 (past EOF) is a failure too. */
	q_read(&ring, src, buf, 16, 4096, 11, F_LINK);
	q_write(&ring, q[1], "x", 1, 0, 12, 0);
	submit_n(&ring, 2, "READ past EOF");
	expect_seq(&ring, (struct want[]){ { 11, 0 }, { 12, ECANC } }, 2,
		   "a READ past EOF (0 of 16) with IO_LINK");
	expect_pipe_empty(q[0], "after a READ past EOF");

	/* -EFAULT when it runs (the buffer is unmapped). */
	q_read(&ring, src, hole, 16, 0, 21, F_LINK);
	q_write(&ring, q[1], "x", 1, 0, 22, 0);
	submit_n(&ring, 2, "READ into a hole");
	expect_seq(&ring, (struct want[]){ { 21, -EFAULT }, { 22, ECANC } }, 2,
		   "a READ into unmapped memory with IO_LINK");
	expect_pipe_empty(q[0], "after -EFAULT");

	/* Cancelling goes through HARDLINK members: nothing restarts. */
	q_read(&ring, src, buf, sizeof(buf), 0, 31, F_LINK);
	q_nop(&ring, 32, F_HARD);
	q_write(&ring, q[1], "x", 1, 0, 33, F_HARD);
	q_nop(&ring, 34, 0);
	submit_n(&ring, 4, "LINK failure then HARDLINK members");
	expect_seq(&ring, (struct want[]){ { 31, SRC_SIZE }, { 32, ECANC },
					   { 33, ECANC }, { 34, ECANC } }, 4,
		   "a failed IO_LINK member before HARDLINK members");
	expect_pipe_empty(q[0], "after LINK failure before HARDLINKs");

	/* A successful member, then the failing one, then the rest. */
	q_write(&ring, q[1], "ok", 2, 0, 41, F_LINK);
	q_read(&ring, src, buf, SRC_SIZE + 1, 0, 42, F_LINK);
	q_nop(&ring, 43, 0);
	submit_n(&ring, 3, "WRITE, short READ, NOP");
	expect_seq(&ring, (struct want[]){ { 41, 2 }, { 42, SRC_SIZE },
					   { 43, ECANC } }, 3,
		   "WRITE, then READ 100 of 101 with IO_LINK");
	expect_pipe_data(q[0], "ok", 2, "the WRITE before the failure");

	/*
	 * READ on a write-only fd at the head: -EBADF (at submission or when
	 * it runs; the head's result is the same), the rest -ECANCELED.
	 */
	wo = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(wo >= 0);
	q_read(&ring, wo, buf, 16, 0, 51, F_LINK);
	q_write(&ring, q[1], "x", 1, 0, 52, F_LINK);
	q_nop(&ring, 53, 0);
	submit_n(&ring, 3, "READ on a write-only fd");
	expect_seq(&ring, (struct want[]){ { 51, -EBADF }, { 52, ECANC },
					   { 53, ECANC } }, 3,
		   "READ on a write-only fd heading a chain");
	expect_pipe_empty(q[0], "after -EBADF");
	close(wo);
	close(src);
	close(q[0]);
	close(q[1]);
	munmap(hole, PG);
	finish(&ring, &base, "link failure");
}

/* A failing IO_HARDLINK member does not end the chain. */
static void test_hardlink_failure(void **state)
{
	struct ring_stats base;
	struct ring ring;
	char buf[4096];
	void *hole;
	int src, q[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	src = short_src();
	xpipe(q);
	hole = fault_range();
	ring_init_or_fail(&ring, 16);

	q_nop(&ring, 1, F_HARD);
	q_read(&ring, src, buf, sizeof(buf), 0, 2, F_HARD);
	q_write(&ring, q[1], "x", 1, 0, 3, F_LINK);
	q_nop(&ring, 4, 0);
	submit_n(&ring, 4, "short READ with HARDLINK");
	expect_seq(&ring, (struct want[]){ { 1, 0 }, { 2, SRC_SIZE },
					   { 3, 1 }, { 4, 0 } }, 4,
		   "a short READ with IO_HARDLINK");
	expect_pipe_data(q[0], "x", 1, "the WRITE after a HARDLINK failure");

	/* Several failures in a row, all HARDLINK; -EFAULT too. */
	q_read(&ring, src, buf, sizeof(buf), 0, 11, F_HARD);
	q_read(&ring, src, hole, 16, 0, 12, F_HARD);
	q_read(&ring, src, buf, 16, 4096, 13, F_HARD);
	q_write(&ring, q[1], "y", 1, 0, 14, 0);
	submit_n(&ring, 4, "failures with HARDLINK");
	expect_seq(&ring, (struct want[]){ { 11, SRC_SIZE }, { 12, -EFAULT },
					   { 13, 0 }, { 14, 1 } }, 4,
		   "three failing HARDLINK members, then a WRITE");
	expect_pipe_data(q[0], "y", 1, "the WRITE after three failures");

	/* HARDLINK failure, then a failing LINK member ends it. */
	q_read(&ring, src, buf, sizeof(buf), 0, 21, F_HARD);
	q_read(&ring, src, buf, sizeof(buf), 0, 22, F_LINK);
	q_write(&ring, q[1], "z", 1, 0, 23, 0);
	submit_n(&ring, 3, "HARDLINK failure then LINK failure");
	expect_seq(&ring, (struct want[]){ { 21, SRC_SIZE }, { 22, SRC_SIZE },
					   { 23, ECANC } }, 3,
		   "a HARDLINK failure, then a LINK failure");
	expect_pipe_empty(q[0], "after the LINK failure");
	close(src);
	close(q[0]);
	close(q[1]);
	munmap(hole, PG);
	finish(&ring, &base, "hardlink failure");
}

/*
 * A member that fails at submission: its own errno, every other member
 * (the head included) -ECANCELED, nothing of the chain runs (its WRITEs
 * to a pipe write nothing), HARDLINK or not; ENTER counts them all; an
 * SQE after the chain is not affected.
 */
static void test_submit_failure(void **state)
{
	struct ring_stats base;
	struct ring ring;
	char buf[64];
	int q[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	xpipe(q);
	ring_init_or_fail(&ring, 16);

	/* An unknown opcode in the middle. */
	q_write(&ring, q[1], "a", 1, 0, 1, F_LINK);
	q_badop(&ring, 2, F_LINK);
	q_write(&ring, q[1], "b", 1, 0, 3, F_LINK);
	q_nop(&ring, 4, 0);
	q_nop(&ring, 5, 0);
	submit_n(&ring, 5, "opcode 0xff in a chain");
	expect_chains(&ring, (struct want[]){ { 1, ECANC }, { 2, -EINVAL },
					      { 3, ECANC }, { 4, ECANC },
					      { 5, 0 } },
		      (int[]){ 0, 0, 0, 0, 1 }, 5,
		      "opcode 0xff as the 2nd of 4 (IO_LINK), then a NOP");
	expect_pipe_empty(q[0], "chain with opcode 0xff");

	/* The same with HARDLINK: nothing runs either. */
	q_write(&ring, q[1], "a", 1, 0, 11, F_HARD);
	q_badop(&ring, 12, F_HARD);
	q_write(&ring, q[1], "b", 1, 0, 13, F_HARD);
	q_nop(&ring, 14, 0);
	submit_n(&ring, 4, "opcode 0xff in a HARDLINK chain");
	expect_seq(&ring, (struct want[]){ { 11, ECANC }, { 12, -EINVAL },
					   { 13, ECANC }, { 14, ECANC } }, 4,
		   "opcode 0xff as the 2nd of 4 (IO_HARDLINK)");
	expect_pipe_empty(q[0], "HARDLINK chain with opcode 0xff");

	/* fd -1 as the last member. */
	q_write(&ring, q[1], "a", 1, 0, 21, F_LINK);
	q_nop(&ring, 22, F_LINK);
	q_read(&ring, -1, buf, sizeof(buf), 0, 23, 0);
	q_write(&ring, q[1], "c", 1, 0, 24, 0);
	submit_n(&ring, 4, "fd -1 last in a chain");
	expect_chains(&ring, (struct want[]){ { 21, ECANC }, { 22, ECANC },
					      { 23, -EBADF }, { 24, 1 } },
		      (int[]){ 0, 0, 0, 1 }, 4,
		      "READ of fd -1 as the last of 3, then a WRITE");
	expect_pipe_data(q[0], "c", 1, "the WRITE after the failed chain");

	/* At the head. */
	q_badop(&ring, 31, F_LINK);
	q_write(&ring, q[1], "a", 1, 0, 32, 0);
	submit_n(&ring, 2, "opcode 0xff heading a chain");
	expect_seq(&ring, (struct want[]){ { 31, -EINVAL }, { 32, ECANC } }, 2,
		   "opcode 0xff heading a chain");
	expect_pipe_empty(q[0], "chain headed by opcode 0xff");

	/* A bad buffer: READ_FIXED with no buffer registered, -EFAULT. */
	q_write(&ring, q[1], "a", 1, 0, 41, F_LINK);
	q_rw(&ring, RING_OP_READ_FIXED, q[0], buf, 8, 0, 42, F_LINK);
	q_nop(&ring, 43, 0);
	submit_n(&ring, 3, "READ_FIXED without buffers in a chain");
	expect_seq(&ring, (struct want[]){ { 41, ECANC }, { 42, -EFAULT },
					   { 43, ECANC } }, 3,
		   "READ_FIXED without buffers as the 2nd of 3");
	expect_pipe_empty(q[0], "chain with a bad buffer");
	close(q[0]);
	close(q[1]);
	finish(&ring, &base, "submit failure");
}

/* Flag bits 5 (BUFFER_SELECT) and 7 stay unknown: -EINVAL. */
static void test_unknown_flags(void **state)
{
	struct ring_stats base;
	struct ring ring;
	int q[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	xpipe(q);
	ring_init_or_fail(&ring, 16);

	q_nop(&ring, 1, 1U << 5);
	q_nop(&ring, 2, 1U << 7);
	q_write(&ring, q[1], "x", 1, 0, 3, 1U << 5);
	q_write(&ring, q[1], "x", 1, 0, 4, (1U << 7) | F_ASYNC);
	q_nop(&ring, 5, (1U << 5) | F_SKIP);
	q_nop(&ring, 6, 0);
	submit_n(&ring, 6, "unknown flag bits");
	expect_chains(&ring, (struct want[]){ { 1, -EINVAL }, { 2, -EINVAL },
					      { 3, -EINVAL }, { 4, -EINVAL },
					      { 5, -EINVAL }, { 6, 0 } },
		      (int[]){ 0, 1, 2, 3, 4, 5 }, 6,
		      "NOP and WRITE with flag bit 5 or 7");
	expect_pipe_empty(q[0], "WRITEs with unknown flags");

	/* In a chain: a submission failure like any other. */
	q_write(&ring, q[1], "a", 1, 0, 11, F_LINK);
	q_nop(&ring, 12, F_LINK | (1U << 7));
	q_write(&ring, q[1], "b", 1, 0, 13, 0);
	submit_n(&ring, 3, "flag bit 7 in a chain");
	expect_seq(&ring, (struct want[]){ { 11, ECANC }, { 12, -EINVAL },
					   { 13, ECANC } }, 3,
		   "flag bit 7 on the 2nd of 3");
	q_nop(&ring, 21, F_LINK);
	q_nop(&ring, 22, 1U << 5);
	q_nop(&ring, 23, 0);
	submit_n(&ring, 3, "flag bit 5 ending a chain");
	expect_chains(&ring, (struct want[]){ { 21, ECANC }, { 22, -EINVAL },
					      { 23, 0 } },
		      (int[]){ 0, 0, 1 }, 3,
		      "flag bit 5 on the last member, then a NOP");
	expect_pipe_empty(q[0], "chains with unknown flags");
	close(q[0]);
	close(q[1]);
	finish(&ring, &base, "unknown flags");
}

/* ---- tests: CQE_SKIP_SUCCESS --------------------------------------------------- */

/*
 * The CQ tail moved by exactly n since before, once a marker NOP (user
 * data mark, after everything else) has come and nothing is in flight:
 * the CQEs seen are exactly those expected and no more.
 */
static void expect_marker(struct ring *ring, __u64 mark, const char *what)
{
	q_nop(ring, mark, 0);
	submit_n(ring, 1, what);
	expect_seq(ring, (struct want[]){ { mark, 0 } }, 1, what);
	expect_idle(ring, what);
}

static void test_skip_success(void **state)
{
	struct ring_stats base;
	struct ring ring;
	char buf[4096];
	unsigned t0, i;
	int src;

	(void)state;
	require_ring();
	stats_baseline(&base);
	src = short_src();
	ring_init_or_fail(&ring, 16);
	if (!(ring.features & RING_FEAT_CQE_SKIP))
		print_message("# RING_FEAT_CQE_SKIP not reported (0x%x)\n",
			      ring.features);

	/* A NOP with SKIP: nothing; the marker NOP only. */
	expect_ret_msg(fdinfo_get(ring.ring_fd, "CqSkipped"), 0,
		       "fdinfo CqSkipped of a new ring");
	t0 = cq_tail(&ring);
	q_nop(&ring, 1, F_SKIP);
	submit_n(&ring, 1, "NOP with SKIP");
	expect_marker(&ring, 0x99, "marker after a skipped NOP");
	expect_ret_msg(cq_tail(&ring) - t0, 1, "CQEs posted for a skipped "
		       "NOP and the marker");
	expect_ret_msg(ring_cq_ready(&ring), 0, "CQ ready");

	/* Eight, with ASYNC on some: still only the marker. */
	t0 = cq_tail(&ring);
	for (i = 0; i < 8; i++)
		q_nop(&ring, 10 + i, F_SKIP | (i % 2 ? F_ASYNC : 0));
	submit_n(&ring, 8, "8 NOPs with SKIP");
	expect_marker(&ring, 0x98, "marker after 8 skipped NOPs");
	expect_ret_msg(cq_tail(&ring) - t0, 1, "CQEs for 8 skipped NOPs and "
		       "the marker");

	/* A full READ with SKIP: no CQE, the data is there. */
	t0 = cq_tail(&ring);
	memset(buf, 0, sizeof(buf));
	q_read(&ring, src, buf, SRC_SIZE, 0, 20, F_SKIP);
	submit_n(&ring, 1, "full READ with SKIP");
	expect_marker(&ring, 0x97, "marker after a skipped READ");
	expect_ret_msg(cq_tail(&ring) - t0, 1, "CQEs for a skipped READ and "
		       "the marker");
	if (buf[0] != 'a' || buf[SRC_SIZE - 1] != 'a' + (SRC_SIZE - 1) % 26)
		fail_msg("the skipped READ did not read");

	/* Failures post: short, -EFAULT... */
	q_read(&ring, src, buf, sizeof(buf), 0, 21, F_SKIP);
	q_read(&ring, src, buf, 16, 4096, 22, F_SKIP | F_ASYNC);
	q_nop(&ring, 23, F_SKIP | (1U << 7));
	submit_n(&ring, 3, "failing SKIP requests");
	expect_chains(&ring, (struct want[]){ { 21, SRC_SIZE }, { 22, 0 },
					      { 23, -EINVAL } },
		      (int[]){ 0, 1, 2 }, 3,
		      "short READ, READ past EOF, bad flag, all with SKIP");

	/* A chain of SKIP members and a plain last one: only the last. */
	t0 = cq_tail(&ring);
	q_nop(&ring, 31, F_SKIP | F_LINK);
	q_read(&ring, src, buf, SRC_SIZE, 0, 32, F_SKIP | F_LINK);
	q_nop(&ring, 33, F_SKIP | F_HARD);
	q_nop(&ring, 34, 0);
	submit_n(&ring, 4, "chain of SKIP members");
	expect_seq(&ring, (struct want[]){ { 34, 0 } }, 1,
		   "a chain whose members skip but the last");
	expect_marker(&ring, 0x96, "marker after a skipping chain");
	expect_ret_msg(cq_tail(&ring) - t0, 2, "CQEs for the chain and "
		       "the marker");
	/* 1 + 8 + 1 + 3 not posted. */
	expect_ret_msg(fdinfo_get(ring.ring_fd, "CqSkipped"), 13,
		       "fdinfo CqSkipped");
	close(src);
	finish(&ring, &base, "skip success");
}

/*
 * A failed SKIP member posts its CQE and the members it cancels post
 * none; a failed plain member's cancelled followers post -ECANCELED even
 * with SKIP; a failed SKIP member with HARDLINK cancels nothing.
 */
static void test_skip_link_rules(void **state)
{
	struct ring_stats base;
	struct ring ring;
	char buf[4096];
	unsigned t0;
	int src, q[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	src = short_src();
	xpipe(q);
	ring_init_or_fail(&ring, 16);

	t0 = cq_tail(&ring);
	q_read(&ring, src, buf, sizeof(buf), 0, 1, F_SKIP | F_LINK);
	q_nop(&ring, 2, F_LINK);
	q_write(&ring, q[1], "x", 1, 0, 3, F_LINK);
	q_nop(&ring, 4, 0);
	submit_n(&ring, 4, "failing SKIP head");
	expect_seq(&ring, (struct want[]){ { 1, SRC_SIZE } }, 1,
		   "a failing SKIP head: its CQE");
	expect_marker(&ring, 0x99, "marker after a failing SKIP head");
	expect_ret_msg(cq_tail(&ring) - t0, 2, "CQEs for a chain of 4 whose "
		       "SKIP head failed (its own), and the marker");
	expect_pipe_empty(q[0], "chain cancelled by a SKIP member");

	/* A SKIP member that succeeds, then one that fails. */
	t0 = cq_tail(&ring);
	q_nop(&ring, 11, F_SKIP | F_LINK);
	q_read(&ring, src, buf, sizeof(buf), 0, 12, F_SKIP | F_LINK);
	q_nop(&ring, 13, F_HARD);
	q_write(&ring, q[1], "x", 1, 0, 14, 0);
	submit_n(&ring, 4, "failing SKIP member in the middle");
	expect_seq(&ring, (struct want[]){ { 12, SRC_SIZE } }, 1,
		   "a failing SKIP member as the 2nd of 4");
	expect_marker(&ring, 0x98, "marker after a failing SKIP member");
	expect_ret_msg(cq_tail(&ring) - t0, 2, "CQEs for a chain of 4 whose "
		       "2nd (SKIP) failed, and the marker");
	expect_pipe_empty(q[0], "chain cancelled by a SKIP member");

	/* A plain member fails: everything cancelled posts, SKIP or not. */
	q_read(&ring, src, buf, sizeof(buf), 0, 21, F_LINK);
	q_nop(&ring, 22, F_SKIP | F_LINK);
	q_write(&ring, q[1], "x", 1, 0, 23, F_SKIP | F_HARD);
	q_nop(&ring, 24, F_SKIP);
	submit_n(&ring, 4, "failing plain member before SKIP members");
	expect_seq(&ring, (struct want[]){ { 21, SRC_SIZE }, { 22, ECANC },
					   { 23, ECANC }, { 24, ECANC } }, 4,
		   "a failing plain head, SKIP members after it");
	expect_pipe_empty(q[0], "SKIP members cancelled");

	/* The same after a successful SKIP member. */
	q_nop(&ring, 31, F_SKIP | F_LINK);
	q_read(&ring, src, buf, sizeof(buf), 0, 32, F_LINK);
	q_nop(&ring, 33, F_SKIP);
	submit_n(&ring, 3, "SKIP ok, plain fails, SKIP");
	expect_seq(&ring, (struct want[]){ { 32, SRC_SIZE }, { 33, ECANC } },
		   2, "SKIP ok, a failing plain member, a SKIP member");

	/* HARDLINK: a failing SKIP member cancels nothing. */
	q_read(&ring, src, buf, sizeof(buf), 0, 41, F_SKIP | F_HARD);
	q_write(&ring, q[1], "h", 1, 0, 42, F_SKIP | F_LINK);
	q_nop(&ring, 43, 0);
	submit_n(&ring, 3, "failing SKIP member with HARDLINK");
	expect_seq(&ring, (struct want[]){ { 41, SRC_SIZE }, { 43, 0 } }, 2,
		   "a failing SKIP|HARDLINK head, a SKIP WRITE, a NOP");
	expect_pipe_data(q[0], "h", 1, "the WRITE after a HARDLINK failure");

	/*
	 * A chain that fails at submission, its head with SKIP: the head
	 * fails (-ECANCELED, posted), the member that failed at submission
	 * posts its own error, the others post nothing (Documentation/uapi.md:
	 * unlike io_uring, the one that failed at submission still says why).
	 */
	t0 = cq_tail(&ring);
	q_nop(&ring, 51, F_SKIP | F_LINK);
	q_badop(&ring, 52, F_LINK);
	q_write(&ring, q[1], "x", 1, 0, 53, F_LINK);
	q_nop(&ring, 54, 0);
	submit_n(&ring, 4, "SKIP head, opcode 0xff member");
	expect_seq(&ring, (struct want[]){ { 51, ECANC }, { 52, -EINVAL } }, 2,
		   "a chain with a SKIP head failing at submission");
	expect_marker(&ring, 0x96, "marker after a SKIP chain failed at "
		      "submission");
	expect_ret_msg(cq_tail(&ring) - t0, 3, "CQEs for a SKIP chain failed "
		       "at submission (head, the bad SQE), and the marker");
	expect_pipe_empty(q[0], "a SKIP chain failed at submission");

	/* The bad SQE with SKIP, the head without: everyone posts. */
	q_nop(&ring, 61, F_LINK);
	q_badop(&ring, 62, F_SKIP | F_LINK);
	q_nop(&ring, 63, F_SKIP);
	submit_n(&ring, 3, "opcode 0xff with SKIP");
	expect_seq(&ring, (struct want[]){ { 61, ECANC }, { 62, -EINVAL },
					   { 63, ECANC } }, 3,
		   "a chain whose SKIP member fails at submission");
	expect_marker(&ring, 0x97, "marker at the end");
	close(src);
	close(q[0]);
	close(q[1]);
	finish(&ring, &base, "skip link rules");
}

/* ---- tests: DRAIN -------------------------------------------------------------- */

/*
 * A DRAIN NOP behind a pipe READ waits for it, and a NOP behind the
 * DRAIN waits for the DRAIN: in one ENTER, and in three.  A DRAIN on the
 * slow request itself holds back what follows.  A DRAIN with nothing
 * before it runs at once.
 */
static void test_drain(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct delayed d;
	char pb[64];
	int p[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	xpipe(p);
	ring_init_or_fail(&ring, 16);

	q_nop(&ring, 1, F_DRAIN);
	submit_n(&ring, 1, "DRAIN alone");
	expect_seq(&ring, (struct want[]){ { 1, 0 } }, 1, "a DRAIN NOP alone");

	/* One ENTER: READ(pipe), DRAIN NOP, NOP. */
	q_read(&ring, p[0], pb, sizeof(pb), 0, 11, 0);
	q_nop(&ring, 12, F_DRAIN);
	q_nop(&ring, 13, 0);
	submit_n(&ring, 3, "READ, DRAIN, NOP");
	expect_pending(&ring, &base, 3, "DRAIN and NOP behind a pipe READ");
	expect_ret_msg(fdinfo_get(ring.ring_fd, "Deferred"), 2,
		       "fdinfo Deferred with a DRAIN and a NOP waiting");
	delayed_write(&d, p[1], "drain", 5, 50);
	expect_seq(&ring, (struct want[]){ { 11, 5 }, { 12, 0 }, { 13, 0 } },
		   3, "READ, DRAIN, NOP once the pipe has data");
	delayed_join(&d);
	expect_ret_msg(fdinfo_get(ring.ring_fd, "Deferred"), 0,
		       "fdinfo Deferred after the drain");
	assert_memory_equal(pb, "drain", 5);

	/* Three ENTERs. */
	q_read(&ring, p[0], pb, sizeof(pb), 0, 21, 0);
	submit_n(&ring, 1, "READ");
	q_nop(&ring, 22, F_DRAIN);
	submit_n(&ring, 1, "DRAIN");
	q_nop(&ring, 23, 0);
	submit_n(&ring, 1, "NOP");
	expect_pending(&ring, &base, 3, "DRAIN, NOP behind a READ (3 ENTERs)");
	delayed_write(&d, p[1], "three", 5, 50);
	expect_seq(&ring, (struct want[]){ { 21, 5 }, { 22, 0 }, { 23, 0 } },
		   3, "READ, DRAIN, NOP in 3 ENTERs");
	delayed_join(&d);

	/* The slow request is the DRAIN: what follows waits for it. */
	q_nop(&ring, 31, 0);
	q_read(&ring, p[0], pb, sizeof(pb), 0, 32, F_DRAIN);
	q_nop(&ring, 33, 0);
	q_nop(&ring, 34, 0);
	submit_n(&ring, 4, "NOP, DRAIN READ, NOP, NOP");
	expect_seq(&ring, (struct want[]){ { 31, 0 } }, 1,
		   "the NOP before a DRAIN READ");
	expect_pending(&ring, &base, 3, "NOPs behind a DRAIN READ");
	delayed_write(&d, p[1], "slow!", 5, 50);
	expect_seq(&ring, (struct want[]){ { 32, 5 } }, 1, "the DRAIN READ");
	/* Released together and independent: in either order (workers). */
	expect_chains(&ring, (struct want[]){ { 33, 0 }, { 34, 0 } },
		      (const int[]){ 0, 1 }, 2, "the NOPs behind the DRAIN READ");
	delayed_join(&d);

	/* Two DRAINs in a row behind a READ. */
	q_read(&ring, p[0], pb, sizeof(pb), 0, 41, 0);
	q_nop(&ring, 42, F_DRAIN);
	q_nop(&ring, 43, F_DRAIN);
	q_nop(&ring, 44, 0);
	submit_n(&ring, 4, "READ, DRAIN, DRAIN, NOP");
	expect_pending(&ring, &base, 4, "two DRAINs behind a READ");
	assert_int_equal(write(p[1], "twice", 5), 5);
	expect_seq(&ring, (struct want[]){ { 41, 5 }, { 42, 0 }, { 43, 0 },
					   { 44, 0 } },
		   4, "READ, DRAIN, DRAIN, NOP");
	close(p[0]);
	close(p[1]);
	finish(&ring, &base, "drain");
}

/*
 * Requests waiting behind a drain are bounded: an ENTER that finds
 * sq_entries of them takes no SQE (-EAGAIN, the SQE stays in the SQ
 * ring; with GETEVENTS it waits instead) until the drain frees them; then
 * all complete in order and the SQE left behind is submitted by the next
 * ENTER.
 */
static void test_drain_bound(void **state)
{
	struct ring_stats base;
	struct want w[9];
	struct ring ring;
	struct delayed d;
	char pb[16];
	int p[2], i;

	(void)state;
	require_ring();
	stats_baseline(&base);
	xpipe(p);
	ring_init_or_fail(&ring, 8);

	q_read(&ring, p[0], pb, sizeof(pb), 0, 1, 0);
	q_nop(&ring, 2, F_DRAIN);
	submit_n(&ring, 2, "READ, DRAIN");
	for (i = 3; i <= 9; i++)
		q_nop(&ring, (__u64)i, 0);
	submit_n(&ring, 7, "7 NOPs behind the DRAIN");
	expect_ret_msg(fdinfo_get(ring.ring_fd, "Deferred"), 8,
		       "fdinfo Deferred: the DRAIN and 7 NOPs");
	q_nop(&ring, 10, 0);
	expect_ret_msg(ring_submit(&ring), -EAGAIN,
		       "ENTER with sq_entries requests waiting behind a drain");
	expect_ret_msg(ring_sq_ready(&ring), 1, "the SQE left in the SQ ring");
	expect_pending(&ring, &base, 9, "the READ and what waits behind it");

	/* Asked to wait too, it waits (the READ completes meanwhile): 0. */
	delayed_write(&d, p[1], "go", 2, 50);
	expect_ret_msg(ring_submit_and_wait(&ring, 1), 0,
		       "ENTER(1, 1, GETEVENTS) at the bound");
	delayed_join(&d);
	w[0] = (struct want){ 1, 2 };
	for (i = 1; i < 9; i++)
		w[i] = (struct want){ (__u64)i + 1, 0 };
	expect_seq(&ring, w, 9, "the READ, the DRAIN, the NOPs");
	submit_n(&ring, 1, "the SQE left behind");
	expect_seq(&ring, (struct want[]){ { 10, 0 } }, 1,
		   "the NOP left behind");
	close(p[0]);
	close(p[1]);
	finish(&ring, &base, "the bound on drained requests");
}

/* The owner exits with a full SQ ring's worth waiting behind a drain. */
static void drain_full_child(void *arg)
{
	int *p = arg;
	struct ring ring;
	static char pb[16];
	unsigned n = 0;
	int ret;

	CHILD_EXPECT(ring_queue_init(4096, &ring, 0), 0, "ring_queue_init");
	q_read(&ring, p[0], pb, sizeof(pb), 0, 1, 0);
	q_nop(&ring, 2, F_DRAIN);
	CHILD_EXPECT(ring_submit(&ring), 2, "READ, DRAIN");
	for (;;) {
		struct ring_sqe *sqe;

		/* What a short count left in the SQ ring goes again. */
		while ((sqe = ring_get_sqe(&ring))) {
			ring_prep_nop(sqe);
			sqe->user_data = 3;
		}
		ret = ring_submit(&ring);
		if (ret == -EAGAIN)
			break;
		CHILD_CHECK(ret > 0 && n < 4 * 4096, "ENTER of NOPs behind a "
			    "drain: %d (%s) after %u", ret, errstr(ret), n);
		n += (unsigned)ret;
	}
	CHILD_CHECK(n >= 4095 && n < 2 * 4096, "%u NOPs taken behind a drain "
		    "of a 4096-entry ring", n);
	snprintf(child_rep->note, sizeof(child_rep->note),
		 "%u NOPs waiting behind the drain at exit", n);
	_exit(0);
}

static void test_drain_bound_exit(void **state)
{
	struct ring_stats base;
	int p[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	xpipe(p);
	run_child(drain_full_child, p, "the owner exits with a full drain");
	expect_stats(&base, "the owner's exit with a full drain");
	close(p[0]);
	close(p[1]);
}

/*
 * DRAIN and chains: a chain ending in a pipe READ holds back a DRAIN;
 * DRAIN on a member drains the whole chain (its head waits for an earlier
 * READ too, and what follows waits for the whole chain).
 */
static void test_drain_chain(void **state)
{
	struct ring_stats base;
	struct ring ring;
	char pb[64];
	int p[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	xpipe(p);
	ring_init_or_fail(&ring, 16);

	q_nop(&ring, 1, F_LINK);
	q_read(&ring, p[0], pb, sizeof(pb), 0, 2, 0);
	q_nop(&ring, 3, F_DRAIN);
	q_nop(&ring, 4, 0);
	submit_n(&ring, 4, "chain ending in a READ, DRAIN, NOP");
	expect_seq(&ring, (struct want[]){ { 1, 0 } }, 1,
		   "the chain's head NOP");
	expect_pending(&ring, &base, 3, "DRAIN behind a chain's READ");
	assert_int_equal(write(p[1], "chain", 5), 5);
	expect_seq(&ring, (struct want[]){ { 2, 5 }, { 3, 0 }, { 4, 0 } }, 3,
		   "the chain's READ, DRAIN, NOP");

	/* DRAIN on the 2nd member: the head waits for the earlier READ. */
	q_read(&ring, p[0], pb, sizeof(pb), 0, 11, 0);
	q_nop(&ring, 12, F_LINK);
	q_nop(&ring, 13, F_DRAIN);
	q_nop(&ring, 14, 0);
	submit_n(&ring, 4, "READ, chain with DRAIN on its 2nd, NOP");
	expect_pending(&ring, &base, 4, "a chain with a DRAIN member behind "
		       "a READ");
	expect_ret_msg(fdinfo_get(ring.ring_fd, "Deferred"), 2,
		       "fdinfo Deferred: a drained chain (once) and a NOP");
	assert_int_equal(write(p[1], "later", 5), 5);
	expect_seq(&ring, (struct want[]){ { 11, 5 }, { 12, 0 }, { 13, 0 },
					   { 14, 0 } },
		   4, "READ, then the drained chain, then the NOP");

	/* A drained chain whose 2nd member waits: the NOP after waits. */
	q_nop(&ring, 21, F_DRAIN | F_LINK);
	q_read(&ring, p[0], pb, 5, 0, 22, F_LINK);
	q_nop(&ring, 23, 0);
	q_nop(&ring, 24, 0);
	submit_n(&ring, 4, "drained chain NOP -> READ -> NOP, NOP");
	expect_seq(&ring, (struct want[]){ { 21, 0 } }, 1,
		   "the drained chain's head");
	expect_pending(&ring, &base, 3, "a NOP behind a drained chain");
	assert_int_equal(write(p[1], "whole", 5), 5);
	expect_seq(&ring, (struct want[]){ { 22, 5 }, { 23, 0 }, { 24, 0 } },
		   3, "the rest of the drained chain, then the NOP");
	close(p[0]);
	close(p[1]);
	finish(&ring, &base, "drain chain");
}

/* DRAIN and CQE_SKIP together (io_uring refuses that; ring does not). */
static void test_drain_skip(void **state)
{
	struct ring_stats base;
	struct ring ring;
	char pb[64];
	unsigned t0;
	int p[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	xpipe(p);
	ring_init_or_fail(&ring, 16);

	t0 = cq_tail(&ring);
	q_nop(&ring, 1, F_SKIP);
	q_nop(&ring, 2, F_SKIP);
	q_read(&ring, p[0], pb, sizeof(pb), 0, 3, 0);
	q_nop(&ring, 4, F_DRAIN | F_SKIP);
	q_nop(&ring, 5, 0);
	submit_n(&ring, 5, "SKIP NOPs, READ, DRAIN|SKIP, NOP");
	expect_pending(&ring, &base, 3, "DRAIN|SKIP and NOP behind a READ");
	assert_int_equal(write(p[1], "skip!", 5), 5);
	expect_seq(&ring, (struct want[]){ { 3, 5 }, { 5, 0 } }, 2,
		   "the READ, then (DRAIN skipped) the NOP");
	expect_marker(&ring, 0x99, "marker after DRAIN|SKIP");
	expect_ret_msg(cq_tail(&ring) - t0, 3, "CQEs for READ, NOP, marker");

	/* A DRAIN after SKIP requests only: it runs. */
	q_nop(&ring, 11, F_SKIP);
	q_nop(&ring, 12, F_DRAIN);
	submit_n(&ring, 2, "SKIP NOP, DRAIN NOP");
	expect_seq(&ring, (struct want[]){ { 12, 0 } }, 1,
		   "a DRAIN after a skipped NOP");
	close(p[0]);
	close(p[1]);
	finish(&ring, &base, "drain skip");
}

/* ---- tests: ASYNC --------------------------------------------------------------- */

static void test_async(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct delayed d;
	char buf[4096], pb[64];
	int src, p[2], q[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	src = short_src();
	xpipe(p);
	xpipe(q);
	ring_init_or_fail(&ring, 16);

	q_nop(&ring, 1, F_ASYNC);
	submit_n(&ring, 1, "ASYNC NOP");
	expect_seq(&ring, (struct want[]){ { 1, 0 } }, 1, "an ASYNC NOP");

	memset(buf, 0, sizeof(buf));
	q_read(&ring, src, buf, SRC_SIZE, 0, 2, F_ASYNC);
	submit_n(&ring, 1, "ASYNC READ of a file");
	expect_seq(&ring, (struct want[]){ { 2, SRC_SIZE } }, 1,
		   "an ASYNC READ of a memfd");
	if (buf[0] != 'a' || buf[27] != 'b')
		fail_msg("the ASYNC READ read the wrong data");

	/* A pipe READ: waits for data, completes when it comes. */
	q_read(&ring, p[0], pb, sizeof(pb), 0, 3, F_ASYNC);
	submit_n(&ring, 1, "ASYNC READ of an empty pipe");
	expect_pending(&ring, &base, 1, "an ASYNC READ of an empty pipe");
	delayed_write(&d, p[1], "async", 5, 50);
	expect_seq(&ring, (struct want[]){ { 3, 5 } }, 1,
		   "the ASYNC pipe READ once data came");
	delayed_join(&d);
	assert_memory_equal(pb, "async", 5);

	/* Data there already. */
	assert_int_equal(write(p[1], "ready", 5), 5);
	q_read(&ring, p[0], pb, sizeof(pb), 0, 4, F_ASYNC);
	submit_n(&ring, 1, "ASYNC READ of a ready pipe");
	expect_seq(&ring, (struct want[]){ { 4, 5 } }, 1,
		   "an ASYNC READ of a pipe with data");

	/* ASYNC members of a chain: NOP -> READ(pipe) -> WRITE(pipe). */
	q_nop(&ring, 11, F_ASYNC | F_LINK);
	q_read(&ring, p[0], pb, 5, 0, 12, F_ASYNC | F_LINK);
	q_write(&ring, q[1], "chain", 5, 0, 13, F_ASYNC);
	submit_n(&ring, 3, "ASYNC chain");
	expect_seq(&ring, (struct want[]){ { 11, 0 } }, 1,
		   "the ASYNC chain's NOP");
	expect_pending(&ring, &base, 2, "an ASYNC chain behind a pipe READ");
	expect_pipe_empty(q[0], "the chain's WRITE before its READ");
	assert_int_equal(write(p[1], "12345", 5), 5);
	expect_seq(&ring, (struct want[]){ { 12, 5 }, { 13, 5 } }, 2,
		   "the ASYNC chain's READ and WRITE");
	expect_pipe_data(q[0], "chain", 5, "the ASYNC chain's WRITE");

	/* ASYNC and a failure in a chain. */
	q_read(&ring, src, buf, sizeof(buf), 0, 21, F_ASYNC | F_LINK);
	q_write(&ring, q[1], "x", 1, 0, 22, F_ASYNC);
	submit_n(&ring, 2, "ASYNC failing chain");
	expect_seq(&ring, (struct want[]){ { 21, SRC_SIZE }, { 22, ECANC } },
		   2, "a short ASYNC READ with IO_LINK");
	expect_pipe_empty(q[0], "after a short ASYNC READ");
	close(src);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	finish(&ring, &base, "async");
}

/* ---- tests: files and positions ---------------------------------------------------- */

/*
 * A member's file is taken at submission (Documentation/uapi.md): a WRITE
 * waiting in a chain writes to the pipe whose descriptor was closed after
 * ENTER, and to the file its slot held at submission after an update.
 */
static void test_member_file_at_submission(void **state)
{
	struct ring_stats base;
	struct ring ring;
	char pb[8];
	int p[2], q[2], r[2], fds[1];

	(void)state;
	require_ring();
	stats_baseline(&base);
	xpipe(p);
	xpipe(q);
	xpipe(r);
	ring_init_or_fail(&ring, 8);

	q_read(&ring, p[0], pb, 4, 0, 1, F_LINK);
	q_write(&ring, q[1], "fd", 2, 0, 2, 0);
	submit_n(&ring, 2, "READ -> WRITE to a pipe");
	xclose(&q[1]);
	expect_pending(&ring, &base, 2, "a WRITE waiting behind a READ");
	if (pipe_writer_gone(q[0], 0))
		fail_msg("the waiting WRITE does not hold its pipe");
	assert_int_equal(write(p[1], "go!!", 4), 4);
	expect_seq(&ring, (struct want[]){ { 1, 4 }, { 2, 2 } }, 2,
		   "the WRITE of a descriptor closed after ENTER");
	expect_pipe_data(q[0], "fd", 2, "the WRITE after close()");
	if (!pipe_writer_gone(q[0], settle_ms()))
		fail_msg("the pipe's write end still held after the WRITE");
	close(q[0]);

	/* Slot 0 is r[1] at submission, then updated to -1. */
	fds[0] = r[1];
	expect_ret(ring_register_files(&ring, fds, 1), 0);
	xclose(&r[1]);
	q_read(&ring, p[0], pb, 4, 0, 11, F_LINK);
	q_write(&ring, 0, "slot", 4, 0, 12, F_FIXED);
	submit_n(&ring, 2, "READ -> WRITE to slot 0");
	fds[0] = -1;
	expect_ret(ring_register_files_update(&ring, 0, fds, 1), 1);
	expect_pending(&ring, &base, 2, "a WRITE to a slot updated since");
	assert_int_equal(write(p[1], "go!!", 4), 4);
	expect_seq(&ring, (struct want[]){ { 11, 4 }, { 12, 4 } }, 2,
		   "the WRITE to the slot's file at submission");
	expect_pipe_data(r[0], "slot", 4, "the WRITE through the old slot");
	if (!pipe_writer_gone(r[0], settle_ms()))
		fail_msg("the old slot's pipe still held after the WRITE");
	expect_ret(ring_unregister_files(&ring), 0);
	close(r[0]);
	close(p[0]);
	close(p[1]);
	finish(&ring, &base, "file at submission");
}

/*
 * off = -1 (the file position) in a chain: each member starts where the
 * previous one left it, for WRITEs and READs; a cancelled member does
 * not move it.
 */
static void test_chain_file_position(void **state)
{
	struct ring_stats base;
	struct ring ring;
	char rb[3][8];
	char all[16];
	int fd;

	(void)state;
	require_ring();
	stats_baseline(&base);
	fd = memfd_sized("links-pos", 0, 0);
	ring_init_or_fail(&ring, 8);

	q_write(&ring, fd, "abc", 3, RING_OFF_CURRENT, 1, F_LINK);
	q_write(&ring, fd, "defg", 4, RING_OFF_CURRENT, 2, F_ASYNC | F_LINK);
	q_write(&ring, fd, "hi", 2, RING_OFF_CURRENT, 3, 0);
	submit_n(&ring, 3, "3 WRITEs at the file position");
	expect_seq(&ring, (struct want[]){ { 1, 3 }, { 2, 4 }, { 3, 2 } }, 3,
		   "3 WRITEs at the file position");
	expect_ret_msg(lseek(fd, 0, SEEK_CUR), 9, "file position after them");
	xpread(fd, all, 9, 0);
	if (memcmp(all, "abcdefghi", 9))
		fail_msg("file holds \"%.9s\", expected \"abcdefghi\"", all);

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	memset(rb, 0, sizeof(rb));
	q_read(&ring, fd, rb[0], 4, RING_OFF_CURRENT, 11, F_LINK);
	q_read(&ring, fd, rb[1], 4, RING_OFF_CURRENT, 12, F_ASYNC | F_HARD);
	q_read(&ring, fd, rb[2], 1, RING_OFF_CURRENT, 13, 0);
	submit_n(&ring, 3, "3 READs at the file position");
	expect_seq(&ring, (struct want[]){ { 11, 4 }, { 12, 4 }, { 13, 1 } }, 3,
		   "3 READs at the file position");
	if (memcmp(rb[0], "abcd", 4) || memcmp(rb[1], "efgh", 4) ||
	    rb[2][0] != 'i')
		fail_msg("chained READs got \"%.4s\" \"%.4s\" \"%.1s\"", rb[0],
			 rb[1], rb[2]);

	/* A short READ at the position cancels the next; it stays at EOF. */
	assert_int_equal(lseek(fd, 7, SEEK_SET), 7);
	q_read(&ring, fd, rb[0], 4, RING_OFF_CURRENT, 21, F_LINK);
	q_write(&ring, fd, "X", 1, RING_OFF_CURRENT, 22, 0);
	submit_n(&ring, 2, "short READ at the position, WRITE");
	expect_seq(&ring, (struct want[]){ { 21, 2 }, { 22, ECANC } }, 2,
		   "a short READ at the file position with IO_LINK");
	expect_ret_msg(lseek(fd, 0, SEEK_CUR), 9, "file position");
	expect_ret_msg(lseek(fd, 0, SEEK_END), 9, "file size (the cancelled "
		       "WRITE did not write)");
	close(fd);
	finish(&ring, &base, "file position");
}

/* ---- tests: random chains against a model ----------------------------------------- */

enum { M_NOP, M_READ, M_SHORT, M_EOF, M_BADOP, M_BADFLAG, M_NR };

struct mreq {
	int kind;
	unsigned flags;
	int chain;		/* index of its chain in the round */
	bool post;		/* expected to post a CQE */
	int res;		/* expected res */
	int pos;		/* where its CQE came, -1: none yet */
};

/*
 * What each member of chain [b, e) posts, as links-spec.md and
 * Documentation/uapi.md have it.
 */
static void model_chain(struct mreq *m, unsigned b, unsigned e)
{
	bool subfail = false, cancelling = false, skipc = false;
	unsigned i;

	for (i = b; i < e; i++)
		if (m[i].kind == M_BADOP || m[i].kind == M_BADFLAG)
			subfail = true;
	if (subfail) {
		for (i = b; i < e; i++) {
			bool bad = m[i].kind == M_BADOP ||
				   m[i].kind == M_BADFLAG;

			m[i].res = bad ? -EINVAL : ECANC;
			m[i].post = i == b || bad || !(m[b].flags & F_SKIP);
		}
		return;
	}
	for (i = b; i < e; i++) {
		bool failed;

		if (cancelling) {
			m[i].res = ECANC;
			m[i].post = !skipc;
			continue;
		}
		switch (m[i].kind) {
		case M_NOP: m[i].res = 0; failed = false; break;
		case M_READ: m[i].res = SRC_SIZE; failed = false; break;
		case M_SHORT: m[i].res = SRC_SIZE; failed = true; break;
		default: m[i].res = 0; failed = true; break;	/* M_EOF */
		}
		m[i].post = failed || !(m[i].flags & F_SKIP);
		if (failed && !(m[i].flags & F_HARD)) {
			cancelling = true;
			skipc = m[i].flags & F_SKIP;
		}
	}
}

/*
 * Rounds of random chains (NOP, full and short READs of a memfd, a READ
 * past EOF, an unknown opcode, an unknown flag; LINK, HARDLINK, SKIP,
 * ASYNC, DRAIN at random), one or two ENTERs per round into a CQ of 32
 * (so that some go through the backlog), checked against the model: the
 * CQEs expected and no more (a marker NOP after each round), each chain
 * in order, a drained chain's CQEs after every earlier one and before
 * every later one.
 */
static void test_random_chains(void **state)
{
	struct ring_params rp = { .flags = RING_SETUP_CQSIZE, .cq_entries = 32 };
	struct ring_stats base;
	struct ring ring;
	struct mreq m[64];
	struct ring_cqe got[64];
	char *bufs;
	unsigned rounds = scaled(1000, 50), rd;
	uint64_t rng = test_seed("random chains");
	int src, ret;

	(void)state;
	require_ring();
	stats_baseline(&base);
	src = short_src();
	bufs = xalloc(64 * 256);
	ret = ring_queue_init_params(32, &ring, &rp);
	if (ret)
		fail_msg("ring_queue_init_params(32, cq 32): %s", errstr(ret));

	for (rd = 0; rd < rounds; rd++) {
		unsigned n = 0, nexp = 0, nchains = 0, enters, en, i, j;
		bool drained[64] = { false }, subfail[64] = { false };
		int first_pos[64], last_pos[64];
		char what[96];

		enters = 1 + rnd_below(&rng, 2);
		for (en = 0; en < enters; en++) {
			unsigned cnt = 1 + rnd_below(&rng, 32), b = n;

			while (n < b + cnt) {
				unsigned len = 1 + rnd_below(&rng, 6), cb = n;

				if (len > b + cnt - n)
					len = b + cnt - n;
				for (i = 0; i < len; i++, n++) {
					unsigned r = rnd_below(&rng, 100);
					struct mreq *q = &m[n];

					q->kind = r < 40 ? M_NOP : r < 70 ? M_READ :
						  r < 85 ? M_SHORT : r < 95 ? M_EOF :
						  r < 98 ? M_BADOP : M_BADFLAG;
					q->flags = 0;
					q->chain = (int)nchains;
					q->pos = -1;
					if (i < len - 1 ||
					    (n == b + cnt - 1 &&
					     !rnd_below(&rng, 4))) {
						r = rnd_below(&rng, 10);
						q->flags |= r < 6 ? F_LINK :
							    r < 9 ? F_HARD :
							    F_LINK | F_HARD;
					}
					if (rnd_below(&rng, 10) < 3)
						q->flags |= F_SKIP;
					if (rnd_below(&rng, 10) < 3)
						q->flags |= F_ASYNC;
					if (!rnd_below(&rng, 12)) {
						q->flags |= F_DRAIN;
						drained[nchains] = true;
					}
				}
				model_chain(m, cb, n);
				/*
				 * When a chain that failed at submission
				 * completes is not what a drain is about:
				 * no ordering is checked for it.
				 */
				for (i = cb; i < n; i++)
					if (m[i].kind == M_BADOP ||
					    m[i].kind == M_BADFLAG)
						subfail[nchains] = true;
				nchains++;
			}
			/* Queue and submit this ENTER's SQEs. */
			for (i = b; i < n; i++) {
				__u64 ud = ((__u64)rd << 16) | i;
				struct ring_sqe *s;

				switch (m[i].kind) {
				case M_NOP:
					s = q_nop(&ring, ud, m[i].flags);
					break;
				case M_READ:
					s = q_read(&ring, src, bufs + i * 256,
						   SRC_SIZE, 0, ud, m[i].flags);
					break;
				case M_SHORT:
					s = q_read(&ring, src, bufs + i * 256,
						   SRC_SIZE + 1 +
						   rnd_below(&rng, 100), 0, ud,
						   m[i].flags);
					break;
				case M_EOF:
					s = q_read(&ring, src, bufs + i * 256,
						   16, 4096, ud, m[i].flags);
					break;
				case M_BADOP:
					s = q_badop(&ring, ud, m[i].flags);
					break;
				default:
					s = q_nop(&ring, ud, m[i].flags |
						  (1U << 7));
					break;
				}
				(void)s;
			}
			snprintf(what, sizeof(what), "round %u ENTER %u", rd, en);
			submit_n(&ring, (int)(n - b), what);
		}
		for (i = 0; i < n; i++)
			nexp += m[i].post;

		snprintf(what, sizeof(what), "round %u", rd);
		ret = reap(&ring, got, nexp, io_timeout_ms());
		if (ret != (int)nexp)
			fail_msg("%s: %d of %u CQEs (Inflight %lld)", what, ret,
				 nexp, fdinfo_get(ring.ring_fd, "Inflight"));
		for (j = 0; j < nexp; j++) {
			__u64 ud = got[j].user_data;

			i = (unsigned)(ud & 0xffff);
			if ((ud >> 16) != rd || i >= n || !m[i].post ||
			    m[i].pos >= 0)
				fail_msg("%s: unexpected CQE {0x%llx %d}", what,
					 (unsigned long long)ud, got[j].res);
			m[i].pos = (int)j;
			if (got[j].res != m[i].res)
				fail_msg("%s: SQE %u (kind %d flags 0x%x, chain "
					 "%d): res %d (%s), expected %d (%s)",
					 what, i, m[i].kind, m[i].flags,
					 m[i].chain, got[j].res,
					 errstr(got[j].res), m[i].res,
					 errstr(m[i].res));
		}
		/* Chain order, drains. */
		for (i = 0; i < nchains; i++) {
			first_pos[i] = INT_MAX;
			last_pos[i] = -1;
		}
		for (i = 0; i < n; i++) {
			int c = m[i].chain;

			if (m[i].pos < 0)
				continue;
			if (m[i].pos < last_pos[c])
				fail_msg("%s: SQE %u's CQE (at %d) came before an "
					 "earlier member's of its chain (at %d)",
					 what, i, m[i].pos, last_pos[c]);
			if (first_pos[c] == INT_MAX)
				first_pos[c] = m[i].pos;
			last_pos[c] = m[i].pos;
		}
		for (i = 0; i < nchains; i++) {
			if (!drained[i] || subfail[i] || last_pos[i] < 0)
				continue;
			for (j = 0; j < nchains; j++) {
				if (last_pos[j] < 0 || j == i || subfail[j])
					continue;
				if (j < i && last_pos[j] > first_pos[i])
					fail_msg("%s: drained chain %u's CQE at %d "
						 "before chain %u's at %d", what,
						 i, first_pos[i], j, last_pos[j]);
				if (j > i && first_pos[j] < last_pos[i])
					fail_msg("%s: chain %u's CQE at %d before "
						 "drained chain %u's at %d", what,
						 j, first_pos[j], i, last_pos[i]);
			}
		}
		expect_marker(&ring, 0xffffffffULL, what);
	}
	print_message("# %u rounds\n", rounds);
	free(bufs);
	close(src);
	finish(&ring, &base, "random chains");
}

/* ---- tests: close and exit with chains pending ---------------------------------- */

/*
 * What is pending in a ring (helpers for the parent and the children):
 *   chain: READ p[0] (waits) -> WRITE q[1] "x" -> READ_FIXED src into the
 *          registered buffer -> NOP     (user data 1..4)
 *   DRAIN NOP (5), NOP (6), and another chain of two behind them:
 *   NOP (7) -> WRITE q[1] (8)
 * 8 requests, none of which can complete until p has data.
 */
#define PENDING_NR	8

static int queue_pending(struct ring *ring, int pr, int qw, int src,
			 void *fbuf)
{
	static char pb[64];

	q_read(ring, pr, pb, sizeof(pb), 0, 1, F_LINK);
	q_write(ring, qw, "x", 1, 0, 2, F_LINK);
	q_rw(ring, RING_OP_READ_FIXED, src, fbuf, 64, 0, 3, F_LINK);
	q_nop(ring, 4, 0);
	q_nop(ring, 5, F_DRAIN);
	q_nop(ring, 6, 0);
	q_nop(ring, 7, F_LINK);
	q_write(ring, qw, "y", 1, 0, 8, 0);
	return ring_submit(ring);
}

/* VmPin back to pin_base within settle_ms (buffers may go in a work). */
static void expect_vmpin(long pin_base, const char *what)
{
	long long deadline = now_ns() + settle_ms() * 1000000LL;
	long v;

	while ((v = vmpin_pages()) != pin_base) {
		if (now_ns() > deadline)
			fail_msg("%s: VmPin %ld pages, %ld before (the "
				 "registered buffer is still pinned)", what, v,
				 pin_base);
		sleep_ms(10);
	}
}

/*
 * After the ring went: the pipes' ends the ring had are released (the
 * other ends see no reader / no writer), nothing was written, VmPin and
 * the module's stats back to where they were.
 */
static void expect_released(int p1, int q0, long pin_base,
			    const struct ring_stats *base, const char *what)
{
	if (!pipe_reader_gone(p1, settle_ms()))
		fail_msg("%s: the pipe's read end is still held", what);
	if (!pipe_writer_gone(q0, settle_ms()))
		fail_msg("%s: the other pipe's write end is still held (or "
			 "a cancelled WRITE wrote)", what);
	expect_pipe_empty(q0, what);
	expect_vmpin(pin_base, what);
	expect_stats(base, what);
}

static void test_close_pending(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct iovec iov;
	long pin_base;
	long long t0, ms;
	char *fbuf;
	int p[2], q[2], src;

	(void)state;
	require_ring();
	signal(SIGPIPE, SIG_IGN);
	stats_baseline(&base);
	pin_base = vmpin_pages();
	xpipe(p);
	xpipe(q);
	src = short_src();
	fbuf = map_anon(PG);
	ring_init_or_fail(&ring, 16);
	iov = (struct iovec){ fbuf, PG };
	expect_ret(ring_register_buffers(&ring, &iov, 1), 0);
	expect_ret_msg(queue_pending(&ring, p[0], q[1], src, fbuf), PENDING_NR,
		       "ENTER of the pending chains");
	expect_pending(&ring, &base, PENDING_NR, "chains and a DRAIN pending");
	xclose(&p[0]);
	xclose(&q[1]);
	close(src);
	t0 = now_ns();
	ring_queue_exit(&ring);
	ms = (now_ns() - t0) / 1000000;
	if (ms > settle_ms())
		fail_msg("close took %lld ms with chains pending", ms);
	munmap(fbuf, PG);
	expect_released(p[1], q[0], pin_base, &base, "close with chains pending");
	close(p[1]);
	close(q[0]);
}

/* In a child (CHILD_CHECK only): set the pending chains up and exit. */
struct exit_args {
	int p0, q1;
	int sock;		/* -1, or where to send the ring fd */
	bool exec;		/* then exec sleep instead of exiting */
};

static int send_ring(int sock, int fd, const struct ring_params *p)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)p, sizeof(*p) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == (ssize_t)sizeof(*p) ? 0 : -errno;
}

/* The ring fd and its params from the child, within ms: fd or -errno. */
static int recv_ring(int sock, struct ring_params *p, int ms)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { p, sizeof(*p) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct cmsghdr *c;
	int fd = -1;

	if (poll(&pfd, 1, ms) != 1)
		return -ETIMEDOUT;
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(*p))
		return -EPROTO;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd >= 0 ? fd : -EBADF;
}

static void exit_child(void *arg)
{
	struct exit_args *a = arg;
	struct ring_params rp;
	struct ring ring;
	struct iovec iov;
	char *fbuf;
	int src, ret;

	memset(&rp, 0, sizeof(rp));
	CHILD_EXPECT(ring_queue_init_params(16, &ring, &rp), 0,
		     "ring_queue_init");
	src = memfd_create("links-child", MFD_CLOEXEC);
	CHILD_CHECK(src >= 0 && !ftruncate(src, 4096), "memfd");
	fbuf = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(fbuf != MAP_FAILED, "mmap");
	iov = (struct iovec){ fbuf, PG };
	CHILD_EXPECT(ring_register_buffers(&ring, &iov, 1), 0, "buffers");
	ret = queue_pending(&ring, a->p0, a->q1, src, fbuf);
	CHILD_EXPECT(ret, PENDING_NR, "ENTER of the pending chains");
	close(a->p0);
	close(a->q1);
	close(src);
	usleep(PENDING_MS * 1000);
	CHILD_EXPECT(ring_cq_ready(&ring), 0, "CQEs while pending");
	CHILD_EXPECT(fdinfo_get(ring.ring_fd, "Inflight"), PENDING_NR,
		     "fdinfo Inflight while pending");
	if (a->sock >= 0)
		CHILD_EXPECT(send_ring(a->sock, ring.ring_fd, &rp), 0,
			     "sending the ring fd");
	if (a->exec) {
		/* The ring fd is O_CLOEXEC; the requests go with the exec. */
		execl("/bin/sleep", "sleep", "600", (char *)NULL);
		CHILD_CHECK(0, "exec /bin/sleep: %s", strerror(errno));
	}
	/* Exits with the ring, the buffer and every request. */
	_exit(0);
}

/* The owner exits with the chains pending; nobody else has the ring. */
static void test_exit_pending(void **state)
{
	static struct child_report *rep;
	struct ring_stats base;
	struct exit_args a;
	long pin_base;
	int p[2], q[2];
	pid_t pid;

	(void)state;
	require_ring();
	signal(SIGPIPE, SIG_IGN);
	stats_baseline(&base);
	pin_base = vmpin_pages();
	xpipe(p);
	xpipe(q);
	if (!rep)
		rep = child_report_new();
	a = (struct exit_args){ .p0 = p[0], .q1 = q[1], .sock = -1 };
	pid = spawn_child(exit_child, &a, rep);
	xclose(&p[0]);
	xclose(&q[1]);
	wait_child(pid, rep, "owner exits with chains pending");
	expect_released(p[1], q[0], pin_base, &base,
			"the owner's exit with chains pending");
	close(p[1]);
	close(q[0]);
}

/* Wait for n CQEs of a raw ring within ms: how many came. */
static unsigned raw_reap(struct raw_ring *r, struct ring_cqe *out, unsigned n,
			 int ms)
{
	long long deadline = now_ns() + ms * 1000000LL;
	unsigned k = 0;

	while (k < n) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

		if (raw_peek_cqe(r, &out[k])) {
			raw_cq_advance(r, 1);
			k++;
			continue;
		}
		if (raw_sq_flags(r) & RING_SQ_CQ_OVERFLOW) {
			raw_enter(r->fd, 0, 0, RING_ENTER_GETEVENTS);
			continue;
		}
		if (now_ns() > deadline)
			break;
		poll(&pfd, 1, 100);
	}
	return k;
}

/*
 * The owner exits (or execs) with the chains pending, having passed the
 * ring to this process: every request ends with -ECANCELED (the waiting
 * READ with an error) and its CQE is posted, chains in order; the files
 * are released while the ring is still open; nothing ran.
 */
/* The peer of a socket sees its other end closed within ms. */
static bool sock_peer_gone(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, ms) == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

/*
 * sock: the waiting READ heads its chain on an AF_UNIX stream socket
 * instead of a pipe: always armed on its wait queue, never in a worker
 * (6.1's pipes wait in a worker, which holds the owner's mm).
 */
static void owner_gone_holder(bool exec, bool sock)
{
	static struct child_report *rep;
	const char *what = exec ? sock ? "owner execs (socket READ)" :
				  "owner execs" : "owner exits";
	struct ring_stats base;
	struct ring_params rp;
	struct exit_args a;
	struct raw_ring r;
	struct ring_cqe got[PENDING_NR + 1];
	char gs[1024], line[2048] = "";
	int p[2], q[2], sv[2], fd, st, last[3] = { 0, 0, 0 };
	unsigned n, i;
	pid_t pid;

	require_ring();
	signal(SIGPIPE, SIG_IGN);
	stats_baseline(&base);
	if (sock)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
					    0, p), 0);
	else
		xpipe(p);
	xpipe(q);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				    sv), 0);
	if (!rep)
		rep = child_report_new();
	a = (struct exit_args){ .p0 = p[0], .q1 = q[1], .sock = sv[1],
				.exec = exec };
	pid = spawn_child(exit_child, &a, rep);
	xclose(&p[0]);
	xclose(&q[1]);
	close(sv[1]);
	fd = recv_ring(sv[0], &rp, settle_ms());
	close(sv[0]);
	if (!exec) {
		wait_child(pid, rep, what);
	} else if (fd < 0) {
		kill(pid, SIGKILL);
		wait_child(pid, rep, what);
	}
	if (fd < 0)
		fail_msg("%s: no ring fd from the child: %s", what, errstr(fd));
	raw_ring_map(&r, fd, &rp);
	n = raw_reap(&r, got, PENDING_NR, settle_ms());
	fmt_cqes(gs, sizeof(gs), got, n);
	if (n != PENDING_NR) {
		const char *fi = fdinfo_text(fd);
		size_t o = 0;

		/* fdinfo on one line, for the report. */
		for (; fi && *fi && o + 2 < sizeof(line); fi++)
			line[o++] = *fi == '\n' || *fi == '\t' ? ' ' : *fi;
		line[o] = 0;
	}
	if (exec) {
		/* sleep 600 is running: the exec happened. */
		kill(pid, SIGKILL);
		if (waitpid(pid, &st, 0) != pid || !WIFSIGNALED(st))
			fail_msg("%s: the child did not exec (%s)", what,
				 rep->msg);
	}
	if (n != PENDING_NR) {
		unsigned late = raw_reap(&r, got + n, PENDING_NR - n,
					 exec ? settle_ms() : 0);
		char ls[256];

		fmt_cqes(ls, sizeof(ls), got + n, late);
		fail_msg("%s: %u of %u CQEs after %d ms: %s; fdinfo then: %s;%s "
			 "%s", what, n, PENDING_NR, settle_ms(), gs, line,
			 exec ? " once the exec'd owner was killed:" :
			 " then:", ls);
	}
	for (i = 0; i < n; i++) {
		unsigned ud = (unsigned)got[i].user_data;
		/* Chains: 1-4, 7-8; 5 and 6 on their own. */
		int ch = ud <= 4 ? 0 : ud >= 7 ? 1 : 2;

		if (ud < 1 || ud > PENDING_NR)
			fail_msg("%s: unexpected CQE user_data %u: %s", what, ud,
				 gs);
		if (ud == 1 ? got[i].res >= 0 : got[i].res != ECANC)
			fail_msg("%s: CQE %u res %d (%s), expected %s: %s", what,
				 ud, got[i].res, errstr(got[i].res),
				 ud == 1 ? "an error" : "-ECANCELED", gs);
		if (ch < 2 && (int)ud < last[ch])
			fail_msg("%s: CQE %u out of its chain's order: %s", what,
				 ud, gs);
		last[ch] = (int)ud;
	}
	print_message("# %s: %s\n", what, gs);
	if (raw_reap(&r, got, 1, 50))
		fail_msg("%s: a CQE more: {0x%llx %d}", what,
			 (unsigned long long)got[0].user_data, got[0].res);
	/* The files go with the requests, the ring still open. */
	if (sock ? !sock_peer_gone(p[1], settle_ms()) :
		   !pipe_reader_gone(p[1], settle_ms()))
		fail_msg("%s: the %s's read end still held after its CQE",
			 what, sock ? "socket" : "pipe");
	if (!pipe_writer_gone(q[0], settle_ms()))
		fail_msg("%s: the other pipe's write end still held after the "
			 "CQEs", what);
	expect_pipe_empty(q[0], what);
	expect_ret_msg(fdinfo_get(fd, "Inflight"), 0, "%s: Inflight after the "
		       "CQEs", what);
	raw_ring_exit(&r);
	expect_stats(&base, what);
	close(p[1]);
	close(q[0]);
}

static void test_exit_pending_holder(void **state)
{
	(void)state;
	owner_gone_holder(false, false);
}

static void test_exec_pending_holder(void **state)
{
	(void)state;
	owner_gone_holder(true, false);
}

static void test_exec_pending_holder_sock(void **state)
{
	(void)state;
	owner_gone_holder(true, true);
}

/*
 * The owner exits while a process sharing its mm and file table (clone
 * with CLONE_VM | CLONE_FILES, not a thread) keeps the ring and goes on
 * submitting: once the ring is dying, every SQE of every kind (drained,
 * linked, ASYNC, a READ that would wait, a WRITE) completes at once with
 * -ECANCELED and nothing of it runs (the WRITEs' pipe stays empty), round
 * after round, without a hang; the ring and its requests are freed when
 * that process exits.
 */
#define FEED_ROUNDS	300
#define FEED_SQES	7

struct feed_args {
	struct ring ring;
	int p0, q1;
	pid_t feeder;		/* reported to the test through the shared page */
	unsigned rounds;	/* rounds done, for the report */
};

static int feeder_fn(void *arg)
{
	struct feed_args *a = arg;
	struct ring *ring = &a->ring;
	struct ring_cqe got[FEED_SQES];
	long long deadline = now_ns() + settle_ms() * 1000000LL;
	static char rbuf[16];
	unsigned r, i;

	/* Until the owner's exit has made the ring dying, a NOP succeeds. */
	for (;;) {
		q_nop(ring, 1, 0);
		CHILD_EXPECT(ring_submit(ring), 1, "ENTER of a NOP");
		CHILD_EXPECT(reap(ring, got, 1, settle_ms()), 1,
			     "the NOP's CQE");
		if (got[0].res == ECANC)
			break;
		CHILD_EXPECT(got[0].res, 0, "a NOP before the ring is dying");
		CHILD_CHECK(now_ns() < deadline, "the ring is not dying %d ms "
			    "after its owner exited", settle_ms());
		usleep(10000);
	}
	for (r = 0; r < FEED_ROUNDS; r++) {
		q_nop(ring, 10, F_DRAIN);
		q_nop(ring, 11, F_LINK);
		q_write(ring, a->q1, "x", 1, 0, 12, F_LINK);
		q_nop(ring, 13, 0);
		q_nop(ring, 14, F_ASYNC);
		q_read(ring, a->p0, rbuf, sizeof(rbuf), 0, 15, 0);
		q_write(ring, a->q1, "y", 1, 0, 16, r & 1 ? F_ASYNC : 0);
		CHILD_EXPECT(ring_submit(ring), FEED_SQES, "round %u: ENTER", r);
		CHILD_EXPECT(reap(ring, got, FEED_SQES, settle_ms()),
			     FEED_SQES, "round %u: CQEs within %d ms", r,
			     settle_ms());
		for (i = 0; i < FEED_SQES; i++)
			CHILD_CHECK(got[i].res == ECANC, "round %u: CQE %llu "
				    "res %d (%s), expected -ECANCELED", r,
				    (unsigned long long)got[i].user_data,
				    got[i].res, errstr(got[i].res));
		a->rounds = r + 1;
	}
	CHILD_CHECK(!reap(ring, got, 1, 50), "a CQE more: 0x%llx %d",
		    (unsigned long long)got[0].user_data, got[0].res);
	ring_queue_exit(ring);
	_exit(0);
}

static void dying_owner_child(void *arg)
{
	struct feed_args *a = arg;
	size_t stack_sz = 256 << 10;
	char *stack;
	pid_t pid;

	CHILD_EXPECT(ring_queue_init(16, &a->ring, 0), 0, "ring_queue_init");
	stack = mmap(NULL, stack_sz, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	CHILD_CHECK(stack != MAP_FAILED, "mmap of a stack");
	/* CLONE_PARENT: the test reaps the feeder. */
	pid = clone(feeder_fn, stack + stack_sz,
		    CLONE_VM | CLONE_FILES | CLONE_PARENT | SIGCHLD, a);
	CHILD_CHECK(pid > 0, "clone: %s", strerror(errno));
	a->feeder = pid;
	/* The owner process goes; its mm and files stay with the feeder. */
	_exit(0);
}

static void test_dying_feed(void **state)
{
	static struct child_report *rep;
	struct feed_args *a;
	struct ring_stats base;
	int p[2], q[2], st;
	pid_t pid;

	(void)state;
	require_ring();
	signal(SIGPIPE, SIG_IGN);
	stats_baseline(&base);
	xpipe(p);
	xpipe(q);
	if (!rep)
		rep = child_report_new();
	a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		fail_msg("mmap shared: %s", strerror(errno));
	memset(a, 0, sizeof(*a));
	a->p0 = p[0];
	a->q1 = q[1];
	a->feeder = -1;
	pid = spawn_child(dying_owner_child, a, rep);
	wait_child(pid, rep, "the owner of a ring fed after its exit");
	if (a->feeder <= 0)
		fail_msg("no feeder pid from the owner");
	if (waitpid(a->feeder, &st, 0) != a->feeder)
		fail_msg("waitpid of the feeder: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("the feeder after %u of %d rounds (status 0x%x): %s",
			 a->rounds, FEED_ROUNDS, st,
			 rep->msg[0] ? rep->msg : "no message");
	print_message("# %u rounds of %d SQEs, all -ECANCELED\n", a->rounds,
		      FEED_SQES);
	/* Nothing ran: no WRITE reached the pipe. */
	expect_pipe_empty(q[0], "SQEs submitted to a dying ring");
	expect_stats(&base, "a dying ring fed by a process sharing its mm");
	munmap(a, sizeof(*a));
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* ---- tests: full CQ -------------------------------------------------------------- */

/*
 * cq_entries 8: 6 NOPs unreaped, then a chain of 8 NOPs: 2 fit, 6 go to
 * the backlog, all in order.  Then the CQ full before a chain whose head
 * waits on a pipe: it runs on regardless, its CQEs all in the backlog.
 */
static void test_cq_full_chain(void **state)
{
	struct ring_params rp = { .flags = RING_SETUP_CQSIZE, .cq_entries = 8 };
	struct ring_stats base;
	struct ring ring;
	struct want w[24];
	char pb[8];
	unsigned i, k;
	int p[2], ret;

	(void)state;
	require_ring();
	stats_baseline(&base);
	xpipe(p);
	ret = ring_queue_init_params(8, &ring, &rp);
	if (ret)
		fail_msg("ring_queue_init_params(8, cq 8): %s", errstr(ret));
	assert_int_equal(ring.cq.ring_entries, 8);

	k = 0;
	for (i = 0; i < 6; i++) {
		q_nop(&ring, i, 0);
		w[k++] = (struct want){ i, 0 };
	}
	submit_n(&ring, 6, "6 NOPs");
	for (i = 0; i < 8; i++) {
		q_nop(&ring, 0x100 + i, i < 7 ? F_LINK : 0);
		w[k++] = (struct want){ 0x100 + i, 0 };
	}
	submit_n(&ring, 8, "chain of 8 into a CQ with room for 2");
	if (ring_cq_ready(&ring) != 8 || !ring_cq_has_overflow(&ring))
		fail_msg("CQ ready %u, overflow flag %d: expected 8 and set",
			 ring_cq_ready(&ring), ring_cq_has_overflow(&ring));
	expect_ret_msg(fdinfo_get(ring.ring_fd, "CqBacklog"), 6,
		       "fdinfo CqBacklog");
	expect_seq(&ring, w, k, "6 NOPs and a chain of 8 through the backlog");

	/* The CQ full, then a chain that waits; then it runs. */
	k = 0;
	for (i = 0; i < 8; i++) {
		q_nop(&ring, 0x200 + i, 0);
		w[k++] = (struct want){ 0x200 + i, 0 };
	}
	submit_n(&ring, 8, "8 NOPs filling the CQ");
	q_read(&ring, p[0], pb, 4, 0, 0x300, F_LINK);
	w[k++] = (struct want){ 0x300, 4 };
	for (i = 1; i < 8; i++) {
		q_nop(&ring, 0x300 + i, i < 7 ? F_HARD : 0);
		w[k++] = (struct want){ 0x300 + i, 0 };
	}
	submit_n(&ring, 8, "a waiting chain of 8 with the CQ full");
	assert_int_equal(write(p[1], "full", 4), 4);
	{
		long long deadline = now_ns() + settle_ms() * 1000000LL;

		while (fdinfo_get(ring.ring_fd, "CqBacklog") < 8 &&
		       now_ns() < deadline)
			sleep_ms(5);
	}
	expect_ret_msg(fdinfo_get(ring.ring_fd, "CqBacklog"), 8,
		       "the whole chain in the backlog (the CQ full)");
	expect_seq(&ring, w, k, "8 NOPs, then the chain through the backlog");
	assert_false(ring_cq_has_overflow(&ring));
	close(p[0]);
	close(p[1]);
	finish(&ring, &base, "cq full chain");
}

/* ---- tests: registered files and buffers ------------------------------------------ */

/*
 * Chains through slot 0 (an ext4 file) with a registered buffer:
 * WRITE_FIXED -> FSYNC -> READ_FIXED verifies; a short READ_FIXED cancels
 * a WRITE_FIXED after it (the file unchanged); a bad slot at submission
 * cancels the chain; a close with such a chain pending (waiting behind a
 * pipe READ) leaves no pinned page and no file.
 */
static void test_fixed_chain(void **state)
{
	const size_t size = 16384;
	struct ring_stats base;
	struct target t;
	struct ring ring;
	struct iovec iov;
	unsigned char *fb, *chk;
	long pin_base;
	int fds[2], p[2];
	char pb[8];

	(void)state;
	require_ring();
	signal(SIGPIPE, SIG_IGN);
	stats_baseline(&base);
	pin_base = vmpin_pages();
	target_open(&t, TGT_EXT4, false, 0, size);
	xpipe(p);
	ring_init_or_fail(&ring, 16);
	fb = map_anon(2 * PG);
	chk = xalloc(PG);
	iov = (struct iovec){ fb, 2 * PG };
	expect_ret(ring_register_buffers(&ring, &iov, 1), 0);
	fds[0] = t.fd;
	fds[1] = p[0];
	expect_ret(ring_register_files(&ring, fds, 2), 0);

	pattern(fb, PG, 7);
	memset(fb + PG, 0, PG);
	q_rw(&ring, RING_OP_WRITE_FIXED, 0, fb, PG, PG, 1, F_FIXED | F_LINK);
	q_fsync(&ring, 0, 2, F_FIXED | F_LINK);
	q_rw(&ring, RING_OP_READ_FIXED, 0, fb + PG, PG, PG, 3, F_FIXED);
	submit_n(&ring, 3, "fixed WRITE -> FSYNC -> READ");
	expect_seq(&ring, (struct want[]){ { 1, (int)PG }, { 2, 0 },
					   { 3, (int)PG } }, 3,
		   "WRITE_FIXED -> FSYNC -> READ_FIXED through slot 0");
	expect_same(fb + PG, fb, PG, "the chained READ_FIXED");
	xpread(t.fd, chk, PG, PG);
	expect_same(chk, fb, PG, "pread after the fixed chain");

	/* A short READ_FIXED (1000 bytes before EOF) cancels a WRITE_FIXED. */
	memset(fb + PG, 0xee, PG);
	q_rw(&ring, RING_OP_READ_FIXED, 0, fb, PG, size - 1000, 11,
	     F_FIXED | F_LINK);
	q_rw(&ring, RING_OP_WRITE_FIXED, 0, fb + PG, PG, PG, 12, F_FIXED);
	submit_n(&ring, 2, "short READ_FIXED -> WRITE_FIXED");
	expect_seq(&ring, (struct want[]){ { 11, 1000 }, { 12, ECANC } }, 2,
		   "a short READ_FIXED with IO_LINK");

	/* A bad slot at submission: the WRITE_FIXED before it never runs. */
	q_rw(&ring, RING_OP_WRITE_FIXED, 0, fb + PG, PG, PG, 21,
	     F_FIXED | F_LINK);
	q_rw(&ring, RING_OP_READ_FIXED, 7, fb, PG, 0, 22, F_FIXED);
	submit_n(&ring, 2, "WRITE_FIXED -> READ_FIXED of slot 7");
	expect_seq(&ring, (struct want[]){ { 21, ECANC }, { 22, -EBADF } }, 2,
		   "a chain with slot 7 of 2");
	pattern(chk, PG, 7);
	xpread(t.fd, fb + PG, PG, PG);
	expect_same(fb + PG, chk, PG, "the file after two cancelled "
		    "WRITE_FIXEDs");

	/* Pending behind a pipe READ through slot 1, then the ring closes. */
	q_read(&ring, 1, pb, 4, 0, 31, F_FIXED | F_LINK);
	q_rw(&ring, RING_OP_WRITE_FIXED, 0, fb, PG, 0, 32, F_FIXED | F_LINK);
	q_rw(&ring, RING_OP_READ_FIXED, 0, fb + PG, PG, 0, 33, F_FIXED);
	submit_n(&ring, 3, "fixed chain behind a pipe READ");
	expect_pending(&ring, &base, 3, "a fixed chain behind a pipe READ");
	xclose(&p[0]);
	ring_queue_exit(&ring);
	munmap(fb, 2 * PG);
	if (!pipe_reader_gone(p[1], settle_ms()))
		fail_msg("the pipe's read end (slot 1) still held after close");
	expect_vmpin(pin_base, "fixed chain closed");
	xpread(t.fd, chk, PG, 0);
	{
		static unsigned char zero[4096];

		expect_same(chk, zero, PG, "page 0 of the file after the close "
			    "(the cancelled WRITE_FIXED wrote)");
	}
	free(chk);
	close(p[1]);
	target_close(&t);
	expect_stats(&base, "fixed chain");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feature),
		cmocka_unit_test(test_nop_chains),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_two_chains),
		cmocka_unit_test(test_write_fsync_read_ext4),
		cmocka_unit_test(test_write_fsync_read_ext4_direct),
		cmocka_unit_test(test_link_failure),
		cmocka_unit_test(test_hardlink_failure),
		cmocka_unit_test(test_submit_failure),
		cmocka_unit_test(test_unknown_flags),
		cmocka_unit_test(test_skip_success),
		cmocka_unit_test(test_skip_link_rules),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_drain_bound),
		cmocka_unit_test(test_drain_bound_exit),
		cmocka_unit_test(test_drain_chain),
		cmocka_unit_test(test_drain_skip),
		cmocka_unit_test(test_async),
		cmocka_unit_test(test_member_file_at_submission),
		cmocka_unit_test(test_chain_file_position),
		cmocka_unit_test(test_random_chains),
		cmocka_unit_test(test_close_pending),
		cmocka_unit_test(test_exit_pending),
		cmocka_unit_test(test_exit_pending_holder),
		cmocka_unit_test(test_exec_pending_holder),
		cmocka_unit_test(test_exec_pending_holder_sock),
		cmocka_unit_test(test_dying_feed),
		cmocka_unit_test(test_cq_full_chain),
		cmocka_unit_test(test_fixed_chain),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* RING_LINKS_FILTER=test_drain* runs only those (cmocka's pattern). */
	if (getenv("RING_LINKS_FILTER"))
		cmocka_set_test_filter(getenv("RING_LINKS_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
