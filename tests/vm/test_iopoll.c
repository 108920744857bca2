// SPDX-License-Identifier: MIT
/*
 * RING_SETUP_IOPOLL: O_DIRECT I/O on null_blk's poll queue completes when
 * ENTER with GETEVENTS polls for it (no interrupt ever comes for it), data
 * intact; what cannot be polled is refused with io_uring's errnos; a ring
 * closed with polled I/O in flight reaps it and leaks nothing; chains work
 * on a polled ring; libring's submit and peek poll, as liburing's.
 *
 * Waits poll with min_complete 0 in a loop with a deadline, so that a lost
 * completion fails the test instead of spinning for ever.
 */
#include "iotest.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#define BS	4096U
#define QD	16U

/* null_blk with a poll queue (env_nullb loads it with poll_queues=1). */
static bool nullb_polls(char *why, size_t len)
{
	long pq;

	if (!env_nullb(why, len))
		return false;
	pq = read_long("/sys/module/null_blk/parameters/poll_queues");
	if (pq < 1) {
		snprintf(why, len, "null_blk was loaded without poll_queues "
			 "(poll_queues=%ld)", pq);
		return false;
	}
	return true;
}

static void iopoll_ring(struct ring *ring, unsigned entries)
{
	int ret = ring_queue_init(entries, ring, RING_SETUP_IOPOLL);

	if (ret)
		fail_msg("ring_queue_init(IOPOLL): %s", errstr(ret));
}

/* Take the CQE at the head into *out, if there is one. */
typedef bool (*take_cqe_fn)(void *ring, struct ring_cqe *out);

static bool take_cqe(void *arg, struct ring_cqe *out)
{
	struct ring *ring = arg;
	struct ring_cqe *cqe;

	/* No ENTER from here: nothing with nothing ready may poll. */
	if (!ring_cq_ready(ring) || ring_peek_cqe(ring, &cqe))
		return false;
	*out = *cqe;
	ring_cqe_seen(ring, cqe);
	return true;
}

static bool take_raw_cqe(void *arg, struct ring_cqe *out)
{
	struct raw_ring *r = arg;

	if (!raw_peek_cqe(r, out))
		return false;
	raw_cq_advance(r, 1);
	return true;
}

/*
 * Poll (ENTER GETEVENTS, min_complete 0) until @n CQEs are reaped into
 * @out or the deadline: the number reaped.
 */
static unsigned poll_reap_with(int fd, take_cqe_fn take, void *ring,
			       struct ring_cqe *out, unsigned n)
{
	long long deadline = now_ns() + (long long)io_timeout_ms() * 1000000;
	unsigned got = 0;

	while (got < n && now_ns() < deadline) {
		int ret = raw_enter(fd, 0, 0, RING_ENTER_GETEVENTS);

		if (ret < 0 && ret != -EINTR)
			fail_msg("ENTER GETEVENTS on an IOPOLL ring: %s",
				 errstr(ret));
		while (got < n && take(ring, &out[got]))
			got++;
	}
	return got;
}

static unsigned poll_reap(struct ring *ring, struct ring_cqe *out, unsigned n)
{
	return poll_reap_with(ring->ring_fd, take_cqe, ring, out, n);
}

#define PREFILL	(2U << 20)

/*
 * null_blk allocates a page for a sector written the first time, and from
 * its poll handler it does so under rcu_read_lock (a "sleeping function
 * called from invalid context" on debug kernels, 6.1.192's null_blk bug,
 * not ours): the sectors the polled writes use are written once here, not
 * polled, so that no polled write is the first.
 */
static void prefill(int fd)
{
	void *zero = xalloc(PREFILL);

	memset(zero, 0, PREFILL);
	if (pwrite(fd, zero, PREFILL, 0) != (ssize_t)PREFILL)
		fail_msg("prefill /dev/nullb0: %s", strerror(errno));
	free(zero);
}

static int open_nullb_direct(void)
{
	char why[256];
	int fd;

	if (!nullb_polls(why, sizeof(why))) {
		print_message("# SKIP: %s\n", why);
		skip();
	}
	fd = open("/dev/nullb0", O_RDWR | O_DIRECT);
	if (fd < 0)
		fail_msg("open /dev/nullb0 O_DIRECT: %s", strerror(errno));
	prefill(fd);
	return fd;
}

/* Writes then reads back QD blocks at a time, polled; data intact. */
static void test_polled_rw(void **state)
{
	struct ring_stats base;
	struct ring_cqe cqes[QD];
	unsigned char *wbuf, *rbuf;
	struct ring ring;
	uint64_t rng = test_seed("iopoll rw");
	unsigned i, round;
	int fd;

	require_ring();
	fd = open_nullb_direct();
	stats_baseline(&base);
	wbuf = xalloc(QD * BS);
	rbuf = xalloc(QD * BS);
	iopoll_ring(&ring, QD);
	for (round = 0; round < 8; round++) {
		rnd_fill(&rng, wbuf, QD * BS);
		memset(rbuf, 0, QD * BS);
		for (i = 0; i < QD; i++) {
			struct ring_sqe *sqe = ring_get_sqe(&ring);

			ring_prep_write(sqe, fd, wbuf + i * BS, BS,
					(round * QD + i) * (off_t)BS);
			ring_sqe_set_data64(sqe, i);
		}
		assert_int_equal(ring_submit(&ring), QD);
		assert_int_equal(poll_reap(&ring, cqes, QD), QD);
		for (i = 0; i < QD; i++)
			expect_ret_msg(cqes[i].res, BS, "polled WRITE %llu",
				       (unsigned long long)cqes[i].user_data);
		for (i = 0; i < QD; i++) {
			struct ring_sqe *sqe = ring_get_sqe(&ring);

			ring_prep_read(sqe, fd, rbuf + i * BS, BS,
				       (round * QD + i) * (off_t)BS);
			ring_sqe_set_data64(sqe, 100 + i);
		}
		assert_int_equal(ring_submit(&ring), QD);
		assert_int_equal(poll_reap(&ring, cqes, QD), QD);
		for (i = 0; i < QD; i++)
			expect_ret_msg(cqes[i].res, BS, "polled READ %llu",
				       (unsigned long long)cqes[i].user_data);
		assert_memory_equal(rbuf, wbuf, QD * BS);
	}
	expect_inflight0(&ring, "after polled reads and writes");
	ring_queue_exit(&ring);
	close(fd);
	expect_stats(&base, "polled reads and writes");
	free(wbuf);
	free(rbuf);
}

/*
 * A polled write and read raise inotify's IN_MODIFY and IN_ACCESS on the
 * device, as write(2) and read(2) do: the reaper raises them before the
 * CQE (io_uring raises none for polled I/O).
 */
static void test_polled_inotify(void **state)
{
	unsigned char *buf = xalloc(BS);
	struct ring_stats base;
	struct ring_cqe cqe;
	struct ring ring;
	unsigned k;
	int fd, in;

	require_ring();
	fd = open_nullb_direct();
	stats_baseline(&base);
	in = inotify_watch("/dev/nullb0");
	memset(buf, 0x6e, BS);
	iopoll_ring(&ring, 4);
	for (k = 0; k < 2; k++) {
		unsigned want = k ? IN_ACCESS : IN_MODIFY, got;
		struct ring_sqe *sqe = ring_get_sqe(&ring);

		inotify_take(in);
		if (k)
			ring_prep_read(sqe, fd, buf, BS, 0);
		else
			ring_prep_write(sqe, fd, buf, BS, 0);
		assert_int_equal(ring_submit(&ring), 1);
		assert_int_equal(poll_reap(&ring, &cqe, 1), 1);
		expect_ret_msg(cqe.res, BS, "polled %s", k ? "READ" : "WRITE");
		got = inotify_take(in);
		if ((got & (IN_ACCESS | IN_MODIFY)) != want)
			fail_msg("polled %s: inotify events 0x%x, expected 0x%x",
				 k ? "READ" : "WRITE", got, want);
	}
	ring_queue_exit(&ring);
	close(in);
	close(fd);
	expect_stats(&base, "polled inotify");
	free(buf);
}

/*
 * Polled reads issued by workers (RING_SQE_ASYNC) and by the submitter,
 * mixed, while ENTER reaps: the workers' list joins the reaper's, every
 * read completes once with its data, and the count of what is left to
 * poll stays exact (a drifting count stops ENTER polling too early, or
 * keeps teardown polling an empty list for ever).
 */
static void test_polled_from_workers(void **state)
{
	unsigned rounds = scaled(60, 10), round, i;
	unsigned char *buf = xalloc(QD * BS);
	struct ring_cqe cqes[QD];
	struct ring_stats base;
	struct ring ring;
	int fd;

	require_ring();
	fd = open_nullb_direct();
	stats_baseline(&base);
	iopoll_ring(&ring, QD);
	for (round = 0; round < rounds; round++) {
		for (i = 0; i < QD; i++) {
			struct ring_sqe *sqe = ring_get_sqe(&ring);

			ring_prep_read(sqe, fd, buf + i * BS, BS, i * (off_t)BS);
			ring_sqe_set_data64(sqe, i);
			if ((i + round) % 3)
				ring_sqe_set_flags(sqe, RING_SQE_ASYNC);
		}
		assert_int_equal(ring_submit(&ring), QD);
		assert_int_equal(poll_reap(&ring, cqes, QD), QD);
		for (i = 0; i < QD; i++)
			expect_ret_msg(cqes[i].res, BS, "round %u read %llu",
				       round, (unsigned long long)cqes[i].user_data);
		expect_inflight0(&ring, "a round of worker-issued polled reads");
	}
	/* Some still in flight at close: teardown polls them to the end. */
	for (i = 0; i < QD; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&ring);

		ring_prep_read(sqe, fd, buf + i * BS, BS, i * (off_t)BS);
		if (i % 2)
			ring_sqe_set_flags(sqe, RING_SQE_ASYNC);
	}
	assert_int_equal(ring_submit(&ring), QD);
	ring_queue_exit(&ring);
	close(fd);
	expect_stats(&base, "worker-issued polled reads");
	free(buf);
}

/*
 * The bound on requests waiting behind a drain, on an IOPOLL ring: a
 * polled READ, a DRAIN behind it and NOPs up to sq_entries.  Another
 * ENTER that also asks to wait must poll (which completes the READ and
 * frees the rest), not fail with -EAGAIN before polling, which would
 * leave a submit-and-wait loop spinning forever.
 */
static void test_drain_bound_polls(void **state)
{
	struct ring_params p = { .flags = RING_SETUP_IOPOLL };
	unsigned char *buf = xalloc(BS);
	struct ring_cqe cqes[9];
	struct ring_stats base;
	struct ring_sqe *sqe;
	struct raw_ring r;
	unsigned i;
	int fd;

	require_ring();
	fd = open_nullb_direct();
	stats_baseline(&base);
	/* Raw ENTERs: libring's submit polls once, completing the READ. */
	raw_ring_init(&r, 8, &p);
	ring_prep_read(raw_get_sqe(&r), fd, buf, BS, 0);
	sqe = raw_get_sqe(&r);
	ring_prep_nop(sqe);
	sqe->flags |= RING_SQE_IO_DRAIN;
	raw_flush_sq(&r);
	assert_int_equal(raw_enter(r.fd, 2, 0, 0), 2);
	for (i = 0; i < 7; i++)
		ring_prep_nop(raw_get_sqe(&r));
	raw_flush_sq(&r);
	assert_int_equal(raw_enter(r.fd, 7, 0, 0), 7);
	ring_prep_nop(raw_get_sqe(&r));
	raw_flush_sq(&r);
	/* Nothing taken (the bound), but the wait polls: 0, not -EAGAIN. */
	expect_ret_msg(raw_enter(r.fd, 1, 1, RING_ENTER_GETEVENTS), 0,
		       "ENTER(1, 1, GETEVENTS) at the bound on an IOPOLL ring");
	assert_int_equal(poll_reap_with(r.fd, take_raw_cqe, &r, cqes, 9), 9);
	expect_ret_msg(cqes[0].res, BS, "the polled READ");
	for (i = 1; i < 9; i++)
		expect_ret_msg(cqes[i].res, 0, "NOP %u behind the drain", i);
	assert_int_equal(raw_enter(r.fd, 1, 0, 0), 1);
	assert_int_equal(poll_reap_with(r.fd, take_raw_cqe, &r, cqes, 1), 1);
	assert_int_equal(fdinfo_get(r.fd, "Inflight"), 0);
	raw_ring_exit(&r);
	close(fd);
	expect_stats(&base, "the drain's bound on an IOPOLL ring");
	free(buf);
}

/*
 * What cannot be polled: a buffered file or block device (-EOPNOTSUPP, as
 * io_uring), FSYNC (-EINVAL: not an IOPOLL opcode); a NOP is fine.
 */
static void test_refusals(void **state)
{
	unsigned char *buf = xalloc(BS);
	struct ring_stats base;
	struct ring_cqe cqes[4];
	struct target t;
	struct ring ring;
	int nb;

	require_ring();
	nb = open_nullb_direct();
	close(nb);
	stats_baseline(&base);
	target_open(&t, TGT_TMPFS, false, 0, BS);
	nb = open("/dev/nullb0", O_RDWR);	/* buffered */
	assert_true(nb >= 0);
	iopoll_ring(&ring, 8);
	ring_prep_read(ring_get_sqe(&ring), t.fd, buf, BS, 0);
	ring_prep_read(ring_get_sqe(&ring), nb, buf, BS, 0);
	ring_prep_fsync(ring_get_sqe(&ring), t.fd, 0);
	ring_prep_nop(ring_get_sqe(&ring));
	for (unsigned i = 0; i < 4; i++)
		ring.sq.sqes[i].user_data = i;
	assert_int_equal(ring_submit(&ring), 4);
	assert_int_equal(poll_reap(&ring, cqes, 4), 4);
	expect_ret_msg(cqes[0].res, -EOPNOTSUPP, "buffered tmpfs READ");
	expect_ret_msg(cqes[1].res, -EOPNOTSUPP, "buffered block device READ");
	expect_ret_msg(cqes[2].res, -EINVAL, "FSYNC on an IOPOLL ring");
	expect_ret_msg(cqes[3].res, 0, "NOP on an IOPOLL ring");
	expect_inflight0(&ring, "refusals");
	ring_queue_exit(&ring);
	close(nb);
	target_close(&t);
	expect_stats(&base, "IOPOLL refusals");
	free(buf);
}

/* A write linked to a read of the same block, polled: in order, intact. */
static void test_polled_chain(void **state)
{
	unsigned char *wbuf = xalloc(BS), *rbuf = xalloc(BS);
	uint64_t rng = test_seed("iopoll chain");
	struct ring_cqe cqes[2];
	struct ring_sqe *sqe;
	struct ring ring;
	int fd;

	require_ring();
	fd = open_nullb_direct();
	rnd_fill(&rng, wbuf, BS);
	memset(rbuf, 0, BS);
	iopoll_ring(&ring, 4);
	sqe = ring_get_sqe(&ring);
	ring_prep_write(sqe, fd, wbuf, BS, 1 << 20);
	ring_sqe_set_flags(sqe, RING_SQE_IO_LINK);
	ring_sqe_set_data64(sqe, 1);
	sqe = ring_get_sqe(&ring);
	ring_prep_read(sqe, fd, rbuf, BS, 1 << 20);
	ring_sqe_set_data64(sqe, 2);
	assert_int_equal(ring_submit(&ring), 2);
	assert_int_equal(poll_reap(&ring, cqes, 2), 2);
	assert_int_equal(cqes[0].user_data, 1);
	assert_int_equal(cqes[1].user_data, 2);
	assert_int_equal(cqes[0].res, BS);
	assert_int_equal(cqes[1].res, BS);
	assert_memory_equal(rbuf, wbuf, BS);
	ring_queue_exit(&ring);
	close(fd);
	free(wbuf);
	free(rbuf);
}

/*
 * Close (and, in a child, exit) with polled reads in flight that nobody
 * polls: teardown polls them to their end; nothing stays behind.
 */
/*
 * QD reads into @buf, submitted without polling for them: libring's submit
 * polls once on an IOPOLL ring (as liburing's does), which could complete
 * them all before the close these tests are about.
 */
static int submit_unpolled(struct raw_ring *r, int fd, unsigned char *buf)
{
	unsigned i;

	for (i = 0; i < QD; i++)
		ring_prep_read(raw_get_sqe(r), fd, buf + i * BS, BS,
			       i * (off_t)BS);
	raw_flush_sq(r);
	return raw_enter(r->fd, QD, 0, 0);
}

static void test_close_in_flight(void **state)
{
	struct ring_params p = { .flags = RING_SETUP_IOPOLL };
	struct ring_stats base;
	unsigned char *buf;
	struct raw_ring r;
	pid_t pid;
	int fd, status;

	require_ring();
	fd = open_nullb_direct();
	stats_baseline(&base);
	buf = xalloc(QD * BS);
	raw_ring_init(&r, QD, &p);
	assert_int_equal(submit_unpolled(&r, fd, buf), QD);
	raw_ring_exit(&r);
	expect_stats(&base, "closed with polled reads in flight");

	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		raw_ring_init(&r, QD, &p);
		_exit(submit_unpolled(&r, fd, buf) == (int)QD ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	expect_stats(&base, "owner exited with polled reads in flight");
	close(fd);
	free(buf);
}

/* The CQE of a polled read of one block, which must be there. */
static void expect_read_cqe(struct ring *ring)
{
	struct ring_cqe *cqe;

	assert_int_equal(ring_peek_cqe(ring, &cqe), 0);
	assert_int_equal(cqe->res, BS);
	ring_cqe_seen(ring, cqe);
}

/*
 * A blocking wait (min_complete 1) polls until the read is there.  And
 * libring enters to poll where liburing does: a peek that finds nothing
 * and a submit with nothing to submit each poll once on an IOPOLL ring, so
 * a loop of either alone sees a polled read complete.
 */
static void test_wait_polls(void **state)
{
	unsigned char *buf = xalloc(BS);
	long long deadline;
	struct ring_cqe *cqe;
	struct ring ring;
	int fd, ret;

	require_ring();
	fd = open_nullb_direct();
	iopoll_ring(&ring, 4);

	ring_prep_read(ring_get_sqe(&ring), fd, buf, BS, 0);
	assert_int_equal(ring_submit_and_wait(&ring, 1), 1);
	expect_read_cqe(&ring);

	ring_prep_read(ring_get_sqe(&ring), fd, buf, BS, BS);
	assert_int_equal(ring_submit(&ring), 1);
	deadline = now_ns() + (long long)io_timeout_ms() * 1000000;
	do
		ret = ring_peek_cqe(&ring, &cqe);
	while (ret == -EAGAIN && now_ns() < deadline);
	assert_int_equal(ret, 0);
	expect_read_cqe(&ring);

	ring_prep_read(ring_get_sqe(&ring), fd, buf, BS, 2 * BS);
	assert_int_equal(ring_submit(&ring), 1);
	deadline = now_ns() + (long long)io_timeout_ms() * 1000000;
	while (!ring_cq_ready(&ring) && now_ns() < deadline)
		assert_int_equal(ring_submit(&ring), 0);
	expect_read_cqe(&ring);

	ring_queue_exit(&ring);
	close(fd);
	free(buf);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_polled_rw),
	cmocka_unit_test(test_wait_polls),
	cmocka_unit_test(test_drain_bound_polls),
	cmocka_unit_test(test_polled_inotify),
	cmocka_unit_test(test_polled_from_workers),
	cmocka_unit_test(test_refusals),
	cmocka_unit_test(test_polled_chain),
	cmocka_unit_test(test_close_in_flight),
};

VMTEST_MAIN(tests)
