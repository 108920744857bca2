// SPDX-License-Identifier: MIT
/*
 * Pipes and sockets: a read of an empty pipe waits (ENTER does not block)
 * and completes when a thread or another process writes; a write to a full
 * pipe completes when it is drained; closing the write end gives 0;
 * closing the ring (or the process exiting or being killed) with such
 * requests pending returns promptly, frees everything and leaves the pipe
 * usable; O_NONBLOCK and RWF_NOWAIT give -EAGAIN (RWF_NOWAIT as preadv2
 * does on the kernel); offsets other than 0 and
 * -1 give -ESPIPE; the iovec array is copied at submission.
 */
#include "iotest.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

/*
 * How long "still pending" is watched, and the bound on prompt things: a
 * close or an exit that waits for the pipe never ends, so the bound only
 * has to be longer than the busiest machine needs.
 */
#define PENDING_MS	200
static int prompt_ms(void)
{
	return settle_ms();
}

/* Nothing completed: no CQE, no backlog; Inflight and requests say n. */
static void expect_pending(struct ring *ring, const struct ring_stats *base,
			   unsigned n, const char *what)
{
	struct ring_stats now;
	struct pollfd pfd = { .fd = ring->ring_fd, .events = POLLIN };

	sleep_ms(PENDING_MS);
	if (ring_cq_ready(ring) || ring_cq_has_overflow(ring))
		fail_msg("%s: completed although nothing was ready (res %d)",
			 what, ring->cq.cqes[*ring->cq.khead &
					     ring->cq.ring_mask].res);
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

/* Write buf to fd after delay_ms, from a thread. */
struct delayed {
	int fd;
	const void *buf;
	size_t len;
	int delay_ms;
	ssize_t ret;
	pthread_t th;
};

static void *delayed_fn(void *arg)
{
	struct delayed *d = arg;

	sleep_ms(d->delay_ms);
	d->ret = write(d->fd, d->buf, d->len);
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
			 strerror(errno));
}

static struct ring_cqe reap_one(struct ring *ring, const char *what)
{
	struct ring_cqe cqe;

	if (reap(ring, &cqe, 1, io_timeout_ms()) != 1)
		fail_msg("%s: no completion within %d ms (Inflight %lld)", what,
			 io_timeout_ms(), fdinfo_get(ring->ring_fd, "Inflight"));
	return cqe;
}

static void mkpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		fail_msg("pipe2: %s", strerror(errno));
}

/*
 * READ (and READV) of an empty pipe: ENTER returns at once, the request
 * waits, the ring fd is not readable; a thread writes 300 ms later and the
 * read completes with what was written (less than asked).
 */
static void test_pipe_read_waits_thread(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct delayed d;
	struct ring_cqe cqe;
	char buf[128], msg[] = "written later by another thread";
	int p[2];
	unsigned v;
	long long t0, t1;

	require_ring();
	stats_baseline(&base);
	mkpipe(p);
	ring_init_or_fail(&ring, 4);
	for (v = 0; v < 2; v++) {
		struct iovec iov[2] = { { buf, 10 }, { buf + 64, 64 } };
		struct pollfd pfd = { .fd = ring.ring_fd, .events = POLLIN };

		memset(buf, 0, sizeof(buf));
		if (v)
			ring_prep_readv(ring_get_sqe(&ring), p[0], iov, 2, 0);
		else
			ring_prep_read(ring_get_sqe(&ring), p[0], buf, 64, 0);
		t0 = now_ns();
		expect_ret(ring_submit(&ring), 1);
		t1 = now_ns();
		if (t1 - t0 > settle_ms() * 1000000LL)
			fail_msg("ENTER blocked %lld ms on an empty pipe",
				 (t1 - t0) / 1000000);
		expect_pending(&ring, &base, 1, v ? "READV of an empty pipe" :
					     "READ of an empty pipe");
		delayed_write(&d, p[1], msg, sizeof(msg), 300);
		if (poll(&pfd, 1, io_timeout_ms()) != 1 || !(pfd.revents & POLLIN))
			fail_msg("ring fd not readable after the pipe write");
		cqe = reap_one(&ring, "pipe read");
		delayed_join(&d);
		expect_ret_msg(cqe.res, sizeof(msg), "%s after a %zu-byte write",
			       v ? "READV" : "READ", sizeof(msg));
		if (v ? memcmp(buf, msg, 10) || memcmp(buf + 64, msg + 10,
						       sizeof(msg) - 10) :
			memcmp(buf, msg, sizeof(msg)))
			fail_msg("pipe read returned other data");
		if ((now_ns() - t1) / 1000000 < 250)
			fail_msg("pipe read completed before the write");
		expect_inflight0(&ring, "pipe read");
		expect_no_requests(&base, "pipe read");
	}
	ring_queue_exit(&ring);
	close(p[0]);
	close(p[1]);
	expect_stats(&base, "pipe read");
}

/* The same with the writer in another process. */
static void test_pipe_read_waits_process(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct ring_cqe cqe;
	char buf[64] = { 0 }, go;
	int p[2], gate[2], st;
	pid_t pid;

	require_ring();
	stats_baseline(&base);
	mkpipe(p);
	mkpipe(gate);
	ring_init_or_fail(&ring, 4);
	ring_prep_read(ring_get_sqe(&ring), p[0], buf, sizeof(buf), 0);
	expect_ret(ring_submit(&ring), 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Write only once the parent has seen the read still pending. */
		if (read(gate[0], &go, 1) != 1)
			_exit(2);
		_exit(write(p[1], "from a child", 12) == 12 ? 0 : 1);
	}
	expect_pending(&ring, &base, 1, "READ of an empty pipe");
	assert_int_equal(write(gate[1], "g", 1), 1);
	cqe = reap_one(&ring, "pipe read, child writer");
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect_ret(cqe.res, 12);
	assert_memory_equal(buf, "from a child", 12);
	expect_inflight0(&ring, "pipe read, child writer");
	ring_queue_exit(&ring);
	close(p[0]);
	close(p[1]);
	close(gate[0]);
	close(gate[1]);
	expect_stats(&base, "pipe read, child writer");
}

/* Fill a pipe exactly (blocking fd); returns its size. */
static int fill_pipe(int wfd, unsigned char fill)
{
	int sz = fcntl(wfd, F_GETPIPE_SZ);
	unsigned char *b;

	assert_true(sz > 0);
	b = malloc(sz);
	assert_non_null(b);
	memset(b, fill, sz);
	assert_int_equal(write(wfd, b, sz), sz);
	free(b);
	return sz;
}

/* Read exactly len bytes (blocking). */
static void read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);

		if (r <= 0)
			fail_msg("read: %zd (%s) after %zu of %zu", r,
				 strerror(errno), got, len);
		got += r;
	}
}

/* A WRITE to a full pipe waits until a reader makes room. */
static void test_pipe_write_waits_for_reader(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct ring_cqe cqe;
	unsigned char data[4096], *back;
	int p[2], sz, i;
	uint64_t rng = test_seed("full pipe");

	require_ring();
	stats_baseline(&base);
	mkpipe(p);
	sz = fill_pipe(p[1], 0xee);
	rnd_fill(&rng, data, sizeof(data));
	ring_init_or_fail(&ring, 4);
	ring_prep_write(ring_get_sqe(&ring), p[1], data, sizeof(data), 0);
	expect_ret(ring_submit(&ring), 1);
	expect_pending(&ring, &base, 1, "WRITE to a full pipe");
	back = malloc(sz);
	assert_non_null(back);
	read_all(p[0], back, sz);
	for (i = 0; i < sz; i++)
		if (back[i] != 0xee)
			fail_msg("pipe byte %d changed while full", i);
	cqe = reap_one(&ring, "WRITE to a drained pipe");
	expect_ret(cqe.res, sizeof(data));
	read_all(p[0], back, sizeof(data));
	assert_memory_equal(back, data, sizeof(data));
	expect_inflight0(&ring, "full pipe");
	ring_queue_exit(&ring);
	free(back);
	close(p[0]);
	close(p[1]);
	expect_stats(&base, "full pipe");
}

/* Closing the only write end completes a pending read with 0 (EOF). */
static void test_pipe_eof_on_writer_close(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct ring_cqe cqe;
	char buf[32];
	int p[2];

	require_ring();
	stats_baseline(&base);
	mkpipe(p);
	ring_init_or_fail(&ring, 4);
	ring_prep_read(ring_get_sqe(&ring), p[0], buf, sizeof(buf), 0);
	expect_ret(ring_submit(&ring), 1);
	expect_pending(&ring, &base, 1, "READ of an empty pipe");
	close(p[1]);
	cqe = reap_one(&ring, "READ after the writer closed");
	expect_ret_msg(cqe.res, 0, "READ of a pipe whose writer closed");
	expect_inflight0(&ring, "pipe EOF");
	ring_queue_exit(&ring);
	close(p[0]);
	expect_stats(&base, "pipe EOF");
}

/* The pipe works normally: what is written is read back, all of it. */
static void expect_pipe_usable(int p[2], const char *what)
{
	char out[100], in[200];
	ssize_t n;
	int i;

	for (i = 0; i < 100; i++)
		out[i] = (char)(i * 7 + 1);
	if (write(p[1], out, sizeof(out)) != sizeof(out))
		fail_msg("%s: pipe write: %s", what, strerror(errno));
	/* A cancelled read that still consumed would leave less here. */
	n = read(p[0], in, sizeof(in));
	if (n != sizeof(out) || memcmp(in, out, sizeof(out)))
		fail_msg("%s: the pipe gave back %zd of 100 bytes", what, n);
}

/*
 * Closing the ring with reads pending on pipes (and a write pending on a
 * full one): close returns promptly, the counters return to baseline, no
 * byte went anywhere, the pipes still work, a new ring can read them.
 */
static void test_pipe_cancel_on_close(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct ring_cqe cqe;
	static char bufs[5][64];
	static unsigned char wdata[4096];
	int p[2], q[2], f[2], sz, i;
	unsigned char *back;
	long long t0, ms;

	require_ring();
	stats_baseline(&base);
	mkpipe(p);
	mkpipe(q);
	mkpipe(f);
	sz = fill_pipe(f[1], 0x77);
	ring_init_or_fail(&ring, 8);
	for (i = 0; i < 4; i++)
		ring_prep_read(ring_get_sqe(&ring), p[0], bufs[i], 64, 0);
	ring_prep_read(ring_get_sqe(&ring), q[0], bufs[4], 64, 0);
	memset(wdata, 0x11, sizeof(wdata));
	ring_prep_write(ring_get_sqe(&ring), f[1], wdata, sizeof(wdata), 0);
	expect_ret(ring_submit(&ring), 6);
	expect_pending(&ring, &base, 6, "6 requests on not-ready pipes");

	t0 = now_ns();
	ring_queue_exit(&ring);
	ms = (now_ns() - t0) / 1000000;
	print_message("# close with 6 pending pipe requests took %lld ms\n", ms);
	if (ms > prompt_ms())
		fail_msg("close took %lld ms with pipe requests pending", ms);
	expect_stats(&base, "close with pending pipe requests");

	expect_pipe_usable(p, "pipe after close");
	expect_pipe_usable(q, "second pipe after close");
	/* The full pipe holds its fill and nothing of the cancelled write. */
	back = malloc(sz + 1);
	assert_non_null(back);
	read_all(f[0], back, sz);
	for (i = 0; i < sz; i++)
		if (back[i] != 0x77)
			fail_msg("full pipe byte %d is 0x%02x after close", i,
				 back[i]);
	assert_int_equal(fcntl(f[0], F_SETFL, O_NONBLOCK), 0);
	if (read(f[0], back, sz + 1) != -1 || errno != EAGAIN)
		fail_msg("the cancelled pipe WRITE wrote data after close");
	free(back);
	expect_pipe_usable(f, "drained pipe after close");

	/* A new ring reads the same pipe. */
	ring_init_or_fail(&ring, 4);
	ring_prep_read(ring_get_sqe(&ring), p[0], bufs[0], 64, 0);
	expect_ret(ring_submit(&ring), 1);
	assert_int_equal(write(p[1], "again", 5), 5);
	cqe = reap_one(&ring, "read by a new ring");
	expect_ret(cqe.res, 5);
	assert_memory_equal(bufs[0], "again", 5);
	ring_queue_exit(&ring);
	for (i = 0; i < 2; i++) {
		close(p[i]);
		close(q[i]);
		close(f[i]);
	}
	expect_stats(&base, "pipe cancel");
}

/*
 * A process that set up a ring with a pipe read pending ends (exit, or
 * SIGKILL): it is reaped promptly, the counters return to baseline and
 * the pipe works.
 */
static void cancel_on_exit(bool kill_it)
{
	struct ring_stats base;
	int p[2], sync[2], st;
	long long t0, ms;
	char c = 0;
	pid_t pid;

	require_ring();
	stats_baseline(&base);
	mkpipe(p);
	mkpipe(sync);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static char buf[64];
		struct ring ring;
		char code = 'k';

		if (ring_queue_init(4, &ring, 0))
			code = 'i';
		else {
			ring_prep_read(ring_get_sqe(&ring), p[0], buf, 64, 0);
			if (ring_submit(&ring) != 1)
				code = 's';
			else {
				sleep_ms(50);
				if (fdinfo_get(ring.ring_fd, "Inflight") != 1)
					code = 'f';
			}
		}
		if (write(sync[1], &code, 1) != 1)
			_exit(3);
		if (kill_it)
			pause();
		_exit(code == 'k' ? 0 : 2);	/* ring left open */
	}
	assert_int_equal(read(sync[0], &c, 1), 1);
	if (c != 'k')
		fail_msg("child: ring setup/submit failed (code %c)", c);
	if (kill_it)
		kill(pid, SIGKILL);
	t0 = now_ns();
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		assert_int_equal(w, 0);
		if ((now_ns() - t0) / 1000000 > prompt_ms()) {
			kill(pid, SIGKILL);
			fail_msg("a process with a pending pipe read did not end "
				 "within %d ms of %s", prompt_ms(),
				 kill_it ? "SIGKILL" : "exit");
		}
		sleep_ms(5);
	}
	ms = (now_ns() - t0) / 1000000;
	print_message("# process %s with a pending pipe read: gone in %lld ms\n",
		      kill_it ? "killed" : "exited", ms);
	if (kill_it)
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	else
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect_stats(&base, kill_it ? "after SIGKILL" : "after exit");
	expect_pipe_usable(p, "pipe after the process ended");
	close(p[0]);
	close(p[1]);
	close(sync[0]);
	close(sync[1]);
}

static void test_pipe_cancel_on_exit(void **state)
{
	cancel_on_exit(false);
}

static void test_pipe_cancel_on_kill(void **state)
{
	cancel_on_exit(true);
}

/*
 * O_NONBLOCK pipes and RWF_NOWAIT: -EAGAIN at once instead of waiting;
 * with data there they read it. RWF_NOWAIT gets what preadv2() gets on
 * this kernel: before Linux 6.5 or so pipes lack FMODE_NOWAIT and refuse
 * it with -EOPNOTSUPP (io_uring too), later ones say -EAGAIN.
 */
static void test_pipe_nonblock(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct ring_sqe s;
	char buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	int nb[2], bl[2], sz, nowait_empty, nowait_data;
	unsigned char *big;

	require_ring();
	stats_baseline(&base);
	assert_int_equal(pipe2(nb, O_CLOEXEC | O_NONBLOCK), 0);
	mkpipe(bl);
	ring_init_or_fail(&ring, 4);
	nowait_empty = preadv2(bl[0], &iov, 1, -1, RWF_NOWAIT) < 0 ? -errno : 0;
	if (nowait_empty != -EAGAIN && nowait_empty != -EOPNOTSUPP)
		fail_msg("preadv2(RWF_NOWAIT) of an empty pipe: %s",
			 errstr(nowait_empty));
	nowait_data = nowait_empty == -EAGAIN ? 4 : -EOPNOTSUPP;
	print_message("# this kernel's preadv2(RWF_NOWAIT) on a pipe: %s\n",
		      errstr(nowait_empty));

	ring_prep_read(&s, nb[0], buf, sizeof(buf), 0);
	s.user_data = 1;
	expect_ret_msg(run_one(&ring, &s), -EAGAIN, "READ of an empty O_NONBLOCK pipe");
	ring_prep_readv(&s, nb[0], &iov, 1, 0);
	s.user_data = 2;
	expect_ret_msg(run_one(&ring, &s), -EAGAIN, "READV of an empty O_NONBLOCK pipe");
	ring_prep_read(&s, bl[0], buf, sizeof(buf), 0);
	s.rw_flags = RWF_NOWAIT;
	s.user_data = 3;
	expect_ret_msg(run_one(&ring, &s), nowait_empty,
		       "READ with RWF_NOWAIT of an empty pipe");

	/* A full O_NONBLOCK pipe refuses a write the same way. */
	sz = fcntl(nb[1], F_GETPIPE_SZ);
	big = calloc(1, sz);
	assert_non_null(big);
	assert_int_equal(write(nb[1], big, sz), sz);
	ring_prep_write(&s, nb[1], "x", 1, 0);
	s.user_data = 4;
	expect_ret_msg(run_one(&ring, &s), -EAGAIN, "WRITE to a full O_NONBLOCK pipe");
	read_all(nb[0], big, sz);
	free(big);
	expect_inflight0(&ring, "nonblocking pipe");
	expect_no_requests(&base, "nonblocking pipe");

	/* With data there, both read at once. */
	assert_int_equal(write(nb[1], "abc", 3), 3);
	assert_int_equal(write(bl[1], "defg", 4), 4);
	ring_prep_read(&s, nb[0], buf, sizeof(buf), 0);
	s.user_data = 5;
	expect_ret(run_one(&ring, &s), 3);
	assert_memory_equal(buf, "abc", 3);
	ring_prep_read(&s, bl[0], buf, sizeof(buf), 0);
	s.rw_flags = RWF_NOWAIT;
	s.user_data = 6;
	expect_ret_msg(run_one(&ring, &s), nowait_data,
		       "READ with RWF_NOWAIT of a pipe with data");
	if (nowait_data == 4)
		assert_memory_equal(buf, "defg", 4);
	ring_queue_exit(&ring);
	close(nb[0]);
	close(nb[1]);
	close(bl[0]);
	close(bl[1]);
	expect_stats(&base, "nonblocking pipe");
}

/* Offsets on a pipe: 0 and -1 are ignored, anything else is -ESPIPE. */
static void test_pipe_offsets(void **state)
{
	static const __u64 bad[] = { 1, 5, 4096, 1ULL << 40 };
	struct ring_stats base;
	struct ring ring;
	struct ring_sqe s;
	char buf[16];
	struct iovec riov = { buf, 3 }, wiov = { "xyz", 3 };
	int p[2];
	unsigned k;

	require_ring();
	stats_baseline(&base);
	mkpipe(p);
	ring_init_or_fail(&ring, 4);
	for (k = 0; k < 2; k++) {
		__u64 off = k ? RING_OFF_CURRENT : 0;

		ring_prep_write(&s, p[1], "abc", 3, off);
		s.user_data = 10 + k;
		expect_ret_msg(run_one(&ring, &s), 3, "pipe WRITE at offset %s",
			       k ? "-1" : "0");
		ring_prep_writev(&s, p[1], &wiov, 1, off);
		s.user_data = 20 + k;
		expect_ret_msg(run_one(&ring, &s), 3, "pipe WRITEV at offset %s",
			       k ? "-1" : "0");
		ring_prep_read(&s, p[0], buf, 3, off);
		s.user_data = 30 + k;
		expect_ret_msg(run_one(&ring, &s), 3, "pipe READ at offset %s",
			       k ? "-1" : "0");
		assert_memory_equal(buf, "abc", 3);
		ring_prep_readv(&s, p[0], &riov, 1, off);
		s.user_data = 40 + k;
		expect_ret_msg(run_one(&ring, &s), 3, "pipe READV at offset %s",
			       k ? "-1" : "0");
		assert_memory_equal(buf, "xyz", 3);
	}
	assert_int_equal(write(p[1], "keep", 4), 4);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		ring_prep_read(&s, p[0], buf, 4, bad[k]);
		s.user_data = 50 + k;
		expect_ret_msg(run_one(&ring, &s), -ESPIPE,
			       "pipe READ at offset %llu", (unsigned long long)bad[k]);
		ring_prep_readv(&s, p[0], &riov, 1, bad[k]);
		s.user_data = 60 + k;
		expect_ret_msg(run_one(&ring, &s), -ESPIPE,
			       "pipe READV at offset %llu", (unsigned long long)bad[k]);
		ring_prep_write(&s, p[1], "no", 2, bad[k]);
		s.user_data = 70 + k;
		expect_ret_msg(run_one(&ring, &s), -ESPIPE,
			       "pipe WRITE at offset %llu", (unsigned long long)bad[k]);
		ring_prep_writev(&s, p[1], &wiov, 1, bad[k]);
		s.user_data = 80 + k;
		expect_ret_msg(run_one(&ring, &s), -ESPIPE,
			       "pipe WRITEV at offset %llu", (unsigned long long)bad[k]);
	}
	/* The refused requests neither took nor added anything. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "keep", 4);
	expect_inflight0(&ring, "pipe offsets");
	ring_queue_exit(&ring);
	close(p[0]);
	close(p[1]);
	expect_stats(&base, "pipe offsets");
}

/*
 * Reads pending on 16 pipes: writing to one pipe at a time, in random
 * order, completes exactly that pipe's read, with that pipe's data.
 */
static void test_pipe_many_pending(void **state)
{
	enum { N = 16 };
	struct ring_stats base;
	struct ring ring;
	int p[N][2];
	static char bufs[N][32];
	unsigned order[N], i;
	uint64_t rng = test_seed("16 pipes");

	require_ring();
	stats_baseline(&base);
	ring_init_or_fail(&ring, N);
	for (i = 0; i < N; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&ring);

		mkpipe(p[i]);
		ring_prep_read(sqe, p[i][0], bufs[i], sizeof(bufs[i]), 0);
		ring_sqe_set_data64(sqe, i);
		order[i] = i;
	}
	expect_ret(ring_submit(&ring), N);
	expect_pending(&ring, &base, N, "16 reads of empty pipes");
	for (i = N - 1; i > 0; i--) {
		unsigned j = rnd_below(&rng, i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < N; i++) {
		unsigned k = order[i];
		char msg[32];
		struct ring_cqe cqe;
		int len = snprintf(msg, sizeof(msg), "pipe %u of %d", k, N);

		assert_int_equal(write(p[k][1], msg, len), len);
		cqe = reap_one(&ring, "one of 16 pipe reads");
		if (cqe.user_data != k)
			fail_msg("wrote to pipe %u, the read of pipe %llu "
				 "completed (res %d)", k,
				 (unsigned long long)cqe.user_data, cqe.res);
		expect_ret(cqe.res, len);
		assert_memory_equal(bufs[k], msg, len);
		if (ring_cq_ready(&ring))
			fail_msg("more than one read completed for one write");
	}
	expect_inflight0(&ring, "16 pipes");
	ring_queue_exit(&ring);
	for (i = 0; i < N; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	expect_stats(&base, "16 pipes");
}

/*
 * The iovec array is copied at submission: a READV waiting on an empty
 * pipe, whose array was pointed at a decoy and freed (or unmapped) right
 * after submit, fills the original buffers; likewise a WRITEV waiting on
 * a full pipe writes the original data.
 */
static void test_pipe_iovec_copied(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct ring_cqe cqe;
	static char a[7], b[19], c[33], decoy[64];
	static char msg[59];	/* 7 + 19 + 33 */
	int p[2], sz;
	unsigned v;

	require_ring();
	for (sz = 0; sz < (int)sizeof(msg); sz++)
		msg[sz] = (char)('!' + sz);
	stats_baseline(&base);
	mkpipe(p);
	ring_init_or_fail(&ring, 4);
	for (v = 0; v < 2; v++) {
		struct iovec *iov;

		memset(decoy, '#', sizeof(decoy));
		if (v) {
			iov = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			assert_true(iov != MAP_FAILED);
		} else {
			iov = malloc(3 * sizeof(*iov));
			assert_non_null(iov);
		}
		iov[0] = (struct iovec){ a, sizeof(a) };
		iov[1] = (struct iovec){ b, sizeof(b) };
		iov[2] = (struct iovec){ c, sizeof(c) };
		ring_prep_readv(ring_get_sqe(&ring), p[0], iov, 3, 0);
		expect_ret(ring_submit(&ring), 1);
		if (v) {
			munmap(iov, 4096);
		} else {
			iov[0] = iov[1] = iov[2] = (struct iovec){ decoy, 20 };
			free(iov);
		}
		expect_pending(&ring, &base, 1, "READV of an empty pipe");
		assert_int_equal(write(p[1], msg, 59), 59);
		cqe = reap_one(&ring, "READV after the array was reused");
		expect_ret_msg(cqe.res, 59, "READV with its iovec array %s",
			       v ? "unmapped" : "overwritten and freed");
		assert_memory_equal(a, msg, 7);
		assert_memory_equal(b, msg + 7, 19);
		assert_memory_equal(c, msg + 26, 33);
		for (sz = 0; sz < (int)sizeof(decoy); sz++)
			if (decoy[sz] != '#')
				fail_msg("READV wrote into the decoy the array "
					 "was pointed at after submit");
	}

	/* WRITEV waiting for room. */
	{
		struct iovec *iov = malloc(3 * sizeof(*iov));
		unsigned char *back;

		assert_non_null(iov);
		sz = fill_pipe(p[1], 0);
		memcpy(a, msg, 7);
		memcpy(b, msg + 7, 19);
		memcpy(c, msg + 26, 33);
		iov[0] = (struct iovec){ a, sizeof(a) };
		iov[1] = (struct iovec){ b, sizeof(b) };
		iov[2] = (struct iovec){ c, sizeof(c) };
		ring_prep_writev(ring_get_sqe(&ring), p[1], iov, 3, 0);
		expect_ret(ring_submit(&ring), 1);
		iov[0] = iov[1] = iov[2] = (struct iovec){ decoy, 20 };
		free(iov);
		expect_pending(&ring, &base, 1, "WRITEV to a full pipe");
		back = malloc(sz);
		assert_non_null(back);
		read_all(p[0], back, sz);
		cqe = reap_one(&ring, "WRITEV after draining");
		expect_ret(cqe.res, 59);
		read_all(p[0], back, 59);
		if (memcmp(back, msg, 59))
			fail_msg("WRITEV wrote other data than its original "
				 "iovecs (decoy: %d)", back[0] == '#');
		free(back);
	}
	expect_inflight0(&ring, "pipe iovec copy");
	ring_queue_exit(&ring);
	close(p[0]);
	close(p[1]);
	expect_stats(&base, "pipe iovec copy");
}

/*
 * A stream socket behaves like a pipe: a read waits for data, a write
 * goes through, and close cancels a pending read.
 */
static void test_socket_read_waits(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct ring_cqe cqe;
	struct delayed d;
	char buf[64] = { 0 };
	int sv[2];
	long long t0, ms;

	require_ring();
	stats_baseline(&base);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ring_init_or_fail(&ring, 4);
	ring_prep_read(ring_get_sqe(&ring), sv[0], buf, sizeof(buf), 0);
	expect_ret(ring_submit(&ring), 1);
	expect_pending(&ring, &base, 1, "READ of an idle socket");
	delayed_write(&d, sv[1], "over the socket", 15, 100);
	cqe = reap_one(&ring, "socket read");
	delayed_join(&d);
	expect_ret(cqe.res, 15);
	assert_memory_equal(buf, "over the socket", 15);

	ring_prep_write(ring_get_sqe(&ring), sv[0], "reply", 5, 0);
	submit_reap(&ring, &cqe, 1);
	expect_ret(cqe.res, 5);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "reply", 5);

	ring_prep_read(ring_get_sqe(&ring), sv[0], buf, sizeof(buf), 0);
	expect_ret(ring_submit(&ring), 1);
	expect_pending(&ring, &base, 1, "READ of an idle socket");
	t0 = now_ns();
	ring_queue_exit(&ring);
	ms = (now_ns() - t0) / 1000000;
	if (ms > prompt_ms())
		fail_msg("close took %lld ms with a socket read pending", ms);
	expect_stats(&base, "socket");
	assert_int_equal(write(sv[1], "still", 5), 5);
	assert_int_equal(read(sv[0], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "still", 5);
	close(sv[0]);
	close(sv[1]);
}

/*
 * The buffer of a waiting pipe read is unmapped before data comes: the
 * read completes with -EFAULT and takes nothing from the pipe.
 */
static void test_pipe_buffer_unmapped(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct ring_cqe cqe;
	char back[16];
	void *buf;
	int p[2];

	require_ring();
	stats_baseline(&base);
	mkpipe(p);
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(buf != MAP_FAILED);
	ring_init_or_fail(&ring, 4);
	ring_prep_read(ring_get_sqe(&ring), p[0], buf, 64, 0);
	expect_ret(ring_submit(&ring), 1);
	expect_pending(&ring, &base, 1, "READ of an empty pipe");
	munmap(buf, 4096);
	assert_int_equal(write(p[1], "0123456789", 10), 10);
	cqe = reap_one(&ring, "READ into an unmapped buffer");
	expect_ret_msg(cqe.res, -EFAULT, "pipe READ whose buffer was unmapped "
		       "while it waited");
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(read(p[0], back, sizeof(back)), 10);
	assert_memory_equal(back, "0123456789", 10);
	expect_inflight0(&ring, "unmapped buffer");
	ring_queue_exit(&ring);
	close(p[0]);
	close(p[1]);
	expect_stats(&base, "unmapped buffer");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_pipe_read_waits_thread),
	cmocka_unit_test(test_pipe_read_waits_process),
	cmocka_unit_test(test_pipe_write_waits_for_reader),
	cmocka_unit_test(test_pipe_eof_on_writer_close),
	cmocka_unit_test(test_pipe_cancel_on_close),
	cmocka_unit_test(test_pipe_cancel_on_exit),
	cmocka_unit_test(test_pipe_cancel_on_kill),
	cmocka_unit_test(test_pipe_nonblock),
	cmocka_unit_test(test_pipe_offsets),
	cmocka_unit_test(test_pipe_many_pending),
	cmocka_unit_test(test_pipe_iovec_copied),
	cmocka_unit_test(test_pipe_buffer_unmapped),
	cmocka_unit_test(test_socket_read_waits),
};

VMTEST_MAIN(tests)
