// SPDX-License-Identifier: MIT
/*
 * Submission on an SQPOLL ring: the kernel thread (fk_sq_thread in the
 * fake) consumes the SQ, so ring_submit enters the kernel only to wake a
 * sleeping thread, to wait or to flush the CQ backlog; it counts the SQEs
 * it handed over.  ring_sqring_wait waits for a slot only when the SQ is
 * full, and ring_sq_ready / ring_sq_space_left follow the head the thread
 * advances.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include <libring.h>
#include "fake_kernel.h"

static void init_sqpoll(struct ring *ring, unsigned entries)
{
	assert_int_equal(ring_queue_init(entries, ring, RING_SETUP_SQPOLL), 0);
}

static void queue_nops(struct ring *ring, unsigned n, __u64 first_data)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct ring_sqe *sqe = ring_get_sqe(ring);

		assert_non_null(sqe);
		ring_prep_nop(sqe);
		ring_sqe_set_data64(sqe, first_data + i);
	}
}

/* Releases @n CQEs, checking their user_data runs from @first_data. */
static void reap(struct ring *ring, unsigned n, __u64 first_data)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct ring_cqe *cqe;

		assert_int_equal(ring_peek_cqe(ring, &cqe), 0);
		assert_int_equal(cqe->user_data, first_data + i);
		assert_int_equal(cqe->res, 0);
		ring_cqe_seen(ring, cqe);
	}
	assert_int_equal(ring_cq_ready(ring), 0);
}

static void test_awake_thread_no_enter(void **state)
{
	struct ring ring;

	init_sqpoll(&ring, 8);
	queue_nops(&ring, 3, 0);
	assert_int_equal(ring_submit(&ring), 3);
	/* Published for the thread, and no ioctl at all. */
	assert_int_equal(fk_stats.enters, 0);
	assert_int_equal(*ring.sq.ktail, 3);
	assert_int_equal(fk_stats.consumed, 0);
	assert_int_equal(ring_sq_ready(&ring), 3);
	assert_int_equal(ring_sq_space_left(&ring), 5);

	/* The thread takes them: the library sees the head it moved. */
	fk_sq_thread(ring.ring_fd, false);
	assert_int_equal(fk_stats.consumed, 3);
	assert_int_equal(ring_sq_ready(&ring), 0);
	assert_int_equal(ring_sq_space_left(&ring), 8);
	reap(&ring, 3, 0);

	/* Nothing new: nothing to do, even with the thread asleep. */
	fk_sq_thread(ring.ring_fd, true);
	assert_int_equal(ring_submit(&ring), 0);
	assert_int_equal(fk_stats.enters, 0);
	ring_queue_exit(&ring);
}

static void test_sleeping_thread_woken(void **state)
{
	struct ring ring;

	init_sqpoll(&ring, 8);
	fk_sq_thread(ring.ring_fd, true);
	assert_true(*ring.sq.kflags & RING_SQ_NEED_WAKEUP);
	queue_nops(&ring, 2, 10);
	assert_int_equal(ring_submit(&ring), 2);
	assert_int_equal(fk_stats.enters, 1);
	assert_int_equal(fk_stats.wakeups, 1);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_SQ_WAKEUP);
	assert_int_equal(fk_stats.last_enter.to_submit, 2);
	assert_int_equal(fk_stats.last_enter.min_complete, 0);
	assert_int_equal(fk_stats.consumed, 2);
	reap(&ring, 2, 10);

	/* Awake again: the next submit stays in user space. */
	queue_nops(&ring, 1, 12);
	assert_int_equal(ring_submit(&ring), 1);
	assert_int_equal(fk_stats.enters, 1);
	fk_sq_thread(ring.ring_fd, false);
	reap(&ring, 1, 12);
	ring_queue_exit(&ring);
}

/* A failed wakeup leaves SQEs behind a sleeping thread: the next submit
 * wakes it although it publishes nothing new. */
static void test_failed_wakeup_retried(void **state)
{
	struct ring ring;

	init_sqpoll(&ring, 4);
	fk_sq_thread(ring.ring_fd, true);
	queue_nops(&ring, 2, 20);
	fk_cfg.enter_errno = EINTR;
	assert_int_equal(ring_submit(&ring), -EINTR);
	assert_int_equal(fk_stats.consumed, 0);
	fk_cfg.enter_errno = 0;
	assert_int_equal(ring_submit(&ring), 0);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_SQ_WAKEUP);
	assert_int_equal(fk_stats.last_enter.to_submit, 0);
	assert_int_equal(fk_stats.consumed, 2);
	reap(&ring, 2, 20);
	ring_queue_exit(&ring);
}

static void test_submit_and_wait(void **state)
{
	struct ring ring;

	fk_cfg.defer = true;
	init_sqpoll(&ring, 8);
	queue_nops(&ring, 2, 30);
	/* A wait always enters; the thread is awake, so no wakeup. */
	assert_int_equal(ring_submit_and_wait(&ring, 2), 2);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);
	assert_int_equal(fk_stats.last_enter.to_submit, 2);
	assert_int_equal(fk_stats.last_enter.min_complete, 2);
	assert_int_equal(fk_stats.wakeups, 0);
	assert_int_equal(ring_cq_ready(&ring), 2);
	reap(&ring, 2, 30);

	fk_sq_thread(ring.ring_fd, true);
	queue_nops(&ring, 1, 32);
	assert_int_equal(ring_submit_and_wait(&ring, 1), 1);
	assert_int_equal(fk_stats.last_enter.flags,
			 RING_ENTER_GETEVENTS | RING_ENTER_SQ_WAKEUP);
	assert_int_equal(fk_stats.would_block, 0);
	reap(&ring, 1, 32);
	ring_queue_exit(&ring);
}

/* Completions in the kernel's backlog need an ENTER, thread or not. */
static void test_backlog_flush(void **state)
{
	struct ring_params p = {
		.flags		= RING_SETUP_SQPOLL | RING_SETUP_CQSIZE,
		.cq_entries	= 2,
	};
	struct ring ring;

	assert_int_equal(ring_queue_init_params(2, &ring, &p), 0);
	queue_nops(&ring, 2, 40);
	assert_int_equal(ring_submit(&ring), 2);
	fk_sq_thread(ring.ring_fd, false);
	queue_nops(&ring, 1, 42);
	assert_int_equal(ring_submit(&ring), 1);
	fk_sq_thread(ring.ring_fd, false);
	assert_int_equal(fk_backlog(ring.ring_fd), 1);
	assert_int_equal(fk_stats.enters, 0);

	reap(&ring, 2, 40);
	assert_true(ring_cq_has_overflow(&ring));
	assert_int_equal(ring_submit(&ring), 0);
	assert_int_equal(fk_stats.enters, 1);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);
	assert_int_equal(fk_backlog(ring.ring_fd), 0);
	reap(&ring, 1, 42);
	ring_queue_exit(&ring);
}

static void test_sqring_wait(void **state)
{
	struct ring ring;

	/* Without a thread nobody frees slots: never a wait. */
	assert_int_equal(ring_queue_init(2, &ring, 0), 0);
	queue_nops(&ring, 2, 0);
	assert_int_equal(ring_sqring_wait(&ring), 0);
	assert_int_equal(fk_stats.enters, 0);
	ring_queue_exit(&ring);

	init_sqpoll(&ring, 2);
	queue_nops(&ring, 1, 50);
	assert_int_equal(ring_sqring_wait(&ring), 0);	/* room left */
	assert_int_equal(fk_stats.enters, 0);
	queue_nops(&ring, 1, 51);
	assert_null(ring_get_sqe(&ring));
	assert_int_equal(ring_submit(&ring), 2);
	assert_int_equal(ring_sq_space_left(&ring), 0);

	assert_int_equal(ring_sqring_wait(&ring), 0);
	assert_int_equal(fk_stats.enters, 1);
	assert_int_equal(fk_stats.sq_waits, 1);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_SQ_WAIT);
	assert_int_equal(fk_stats.last_enter.to_submit, 0);
	assert_int_equal(ring_sq_space_left(&ring), 2);
	reap(&ring, 2, 50);

	/* Its errors come back (a signal, the owner gone). */
	queue_nops(&ring, 2, 52);
	assert_int_equal(ring_submit(&ring), 2);
	fk_cfg.enter_errno = EOWNERDEAD;
	assert_int_equal(ring_sqring_wait(&ring), -EOWNERDEAD);
	fk_cfg.enter_errno = 0;
	fk_sq_thread(ring.ring_fd, false);
	ring_cq_advance(&ring, ring_cq_ready(&ring));
	ring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FK_TEST(test_awake_thread_no_enter),
		FK_TEST(test_sleeping_thread_woken),
		FK_TEST(test_failed_wakeup_retried),
		FK_TEST(test_submit_and_wait),
		FK_TEST(test_backlog_flush),
		FK_TEST(test_sqring_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
