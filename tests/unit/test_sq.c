// SPDX-License-Identifier: MIT
/*
 * The submission side: SQE hand-out and capacity, the SQ array and tail the
 * kernel sees, submit counts (also after a short submit), index wrap-around
 * of the 32-bit counters, and errors from ENTER.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>

#include <libring.h>
#include "fake_kernel.h"

static void test_get_sqe_until_full(void **state)
{
	struct ring ring;
	struct ring_sqe *sqe;
	unsigned i;

	assert_int_equal(ring_queue_init(8, &ring, 0), 0);
	assert_int_equal(ring_sq_space_left(&ring), 8);
	assert_int_equal(ring_sq_ready(&ring), 0);
	for (i = 0; i < 8; i++) {
		sqe = ring_get_sqe(&ring);
		assert_ptr_equal(sqe, &ring.sq.sqes[i]);
		ring_prep_nop(sqe);
		assert_int_equal(ring_sq_ready(&ring), i + 1);
		assert_int_equal(ring_sq_space_left(&ring), 7 - i);
	}
	assert_null(ring_get_sqe(&ring));
	assert_null(ring_get_sqe(&ring));
	assert_int_equal(ring_sq_ready(&ring), 8);

	/* Nothing reached the kernel before submit. */
	assert_int_equal(*ring.sq.ktail, 0);
	assert_int_equal(fk_stats.enters, 0);

	assert_int_equal(ring_submit(&ring), 8);
	assert_int_equal(fk_stats.consumed, 8);
	assert_int_equal(ring_sq_space_left(&ring), 8);
	assert_non_null(ring_get_sqe(&ring));
	assert_int_equal(ring_sq_space_left(&ring), 7);
	ring_prep_nop(&ring.sq.sqes[0]);
	assert_int_equal(ring_submit(&ring), 1);
	ring_cq_advance(&ring, ring_cq_ready(&ring));
	ring_queue_exit(&ring);
}

static void test_flush_fills_array_and_tail(void **state)
{
	struct ring ring;
	unsigned i;

	assert_int_equal(ring_queue_init(4, &ring, 0), 0);
	for (i = 0; i < 3; i++)
		ring_prep_nop(ring_get_sqe(&ring));
	ring.sq.array[3] = 0xdead;	/* a slot submit must not touch */
	/* ENTER fails, so the kernel reads nothing: see what submit wrote. */
	fk_cfg.enter_errno = EAGAIN;
	assert_int_equal(ring_submit(&ring), -EAGAIN);
	assert_int_equal(fk_stats.last_enter.to_submit, 3);
	assert_int_equal(fk_stats.last_enter.min_complete, 0);
	assert_int_equal(fk_stats.last_enter.flags, 0);
	assert_int_equal(fk_stats.last_enter.resv, 0);
	assert_int_equal(*ring.sq.ktail, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(ring.sq.array[i], i);
	assert_int_equal(ring.sq.array[3], 0xdead);

	/* Retried: the same three, flushed once. */
	fk_cfg.enter_errno = 0;
	assert_int_equal(ring_submit(&ring), 3);
	assert_int_equal(*ring.sq.ktail, 3);
	assert_int_equal(*ring.sq.khead, 3);
	assert_int_equal(ring_cq_ready(&ring), 3);
	ring_cq_advance(&ring, 3);
	ring_queue_exit(&ring);
}

static void test_submit_nothing(void **state)
{
	struct ring ring;

	assert_int_equal(ring_queue_init(4, &ring, 0), 0);
	assert_int_equal(ring_submit(&ring), 0);
	assert_int_equal(fk_stats.enters, 0);
	ring_queue_exit(&ring);
}

static void test_short_submit(void **state)
{
	struct ring ring;
	unsigned i;

	fk_cfg.max_consume = 2;
	assert_int_equal(ring_queue_init(8, &ring, 0), 0);
	for (i = 0; i < 5; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&ring);

		ring_prep_nop(sqe);
		ring_sqe_set_data64(sqe, i);
	}
	assert_int_equal(ring_submit(&ring), 2);
	/* The three left count as ready and take up space. */
	assert_int_equal(ring_sq_ready(&ring), 3);
	assert_int_equal(ring_sq_space_left(&ring), 5);
	/* Resubmitting offers the kernel the three still in the ring. */
	assert_int_equal(ring_submit(&ring), 2);
	assert_int_equal(fk_stats.last_enter.to_submit, 3);
	assert_int_equal(ring_submit(&ring), 1);
	assert_int_equal(fk_stats.last_enter.to_submit, 1);
	assert_int_equal(fk_stats.last_sqe.user_data, 4);
	assert_int_equal(ring_sq_ready(&ring), 0);
	assert_int_equal(ring_submit(&ring), 0);
	assert_int_equal(fk_stats.enters, 3);
	ring_cq_advance(&ring, ring_cq_ready(&ring));
	ring_queue_exit(&ring);
}

/* Many laps with all counters starting just below UINT_MAX. */
static void run_laps(unsigned initial)
{
	struct ring ring;
	__u64 next_data = 0, expect = 0;
	unsigned lap, i;

	fk_cfg.initial_index = initial;
	assert_int_equal(ring_queue_init(4, &ring, 0), 0);
	for (lap = 0; lap < 100; lap++) {
		unsigned n = 1 + lap % 4;

		for (i = 0; i < n; i++) {
			struct ring_sqe *sqe = ring_get_sqe(&ring);

			/* The slot is the counter's low bits, whatever the lap. */
			assert_ptr_equal(sqe, &ring.sq.sqes[(initial +
							     next_data) & 3]);
			ring_prep_nop(sqe);
			ring_sqe_set_data64(sqe, next_data++);
		}
		if (n == 4)
			assert_null(ring_get_sqe(&ring));
		assert_int_equal(ring_submit(&ring), n);
		for (i = 0; i < n; i++) {
			struct ring_cqe *cqe;

			assert_int_equal(ring_peek_cqe(&ring, &cqe), 0);
			assert_int_equal(cqe->user_data, expect++);
			assert_int_equal(cqe->res, 0);
			ring_cqe_seen(&ring, cqe);
		}
	}
	assert_int_equal(*ring.sq.ktail, (unsigned)(initial + next_data));
	assert_int_equal(*ring.sq.kdropped, 0);
	ring_queue_exit(&ring);
}

static void test_index_wrap(void **state)
{
	run_laps(0);
	run_laps(UINT_MAX - 5);
}

static void test_submit_errors(void **state)
{
	struct ring ring;

	assert_int_equal(ring_queue_init(4, &ring, 0), 0);
	ring_prep_nop(ring_get_sqe(&ring));
	fk_cfg.enter_errno = EPERM;	/* e.g. a forked child */
	assert_int_equal(ring_submit(&ring), -EPERM);
	assert_int_equal(ring_submit_and_wait(&ring, 1), -EPERM);
	fk_cfg.enter_errno = 0;
	assert_int_equal(ring_submit_and_wait(&ring, 1), 1);
	ring_cq_advance(&ring, 1);
	ring_queue_exit(&ring);
}

static void test_submit_and_wait(void **state)
{
	struct ring ring;
	unsigned i;

	fk_cfg.defer = true;
	assert_int_equal(ring_queue_init(8, &ring, 0), 0);
	for (i = 0; i < 3; i++)
		ring_prep_nop(ring_get_sqe(&ring));
	assert_int_equal(ring_submit(&ring), 3);
	assert_int_equal(fk_pending(ring.ring_fd), 3);
	assert_int_equal(ring_cq_ready(&ring), 0);

	ring_prep_nop(ring_get_sqe(&ring));
	assert_int_equal(ring_submit_and_wait(&ring, 4), 1);
	assert_int_equal(fk_stats.last_enter.to_submit, 1);
	assert_int_equal(fk_stats.last_enter.min_complete, 4);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);
	assert_int_equal(ring_cq_ready(&ring), 4);
	assert_int_equal(fk_stats.would_block, 0);

	/* Waiting with nothing to submit still enters. */
	assert_int_equal(ring_submit_and_wait(&ring, 1), 0);
	assert_int_equal(fk_stats.last_enter.to_submit, 0);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);
	ring_cq_advance(&ring, 4);
	ring_queue_exit(&ring);
}

static void test_raw_enter_register(void **state)
{
	struct ring ring;
	int arg;

	assert_int_equal(ring_queue_init(4, &ring, 0), 0);
	assert_int_equal(ring_enter(ring.ring_fd, 0, 0, 0), 0);
	assert_int_equal(ring_enter(ring.ring_fd, 0, 0, 1U << 5), -EINVAL);
	assert_int_equal(ring_enter(12345, 0, 0, 0), -EBADF);

	assert_int_equal(ring_register(ring.ring_fd, 3, &arg, 9), -EINVAL);
	assert_int_equal(fk_stats.last_register.opcode, 3);
	assert_int_equal(fk_stats.last_register.nr_args, 9);
	assert_int_equal(fk_stats.last_register.arg, (uintptr_t)&arg);
	assert_int_equal(fk_stats.last_register.resv[0], 0);
	assert_int_equal(fk_stats.last_register.resv[1], 0);
	fk_cfg.register_ret = 0;
	assert_int_equal(ring_register(ring.ring_fd, 0, &arg, 1), 0);
	fk_cfg.register_ret = -ENOMEM;
	assert_int_equal(ring_register(ring.ring_fd, 0, &arg, 1), -ENOMEM);
	ring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FK_TEST(test_get_sqe_until_full),
		FK_TEST(test_flush_fills_array_and_tail),
		FK_TEST(test_submit_nothing),
		FK_TEST(test_short_submit),
		FK_TEST(test_index_wrap),
		FK_TEST(test_submit_errors),
		FK_TEST(test_submit_and_wait),
		FK_TEST(test_raw_enter_register),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
