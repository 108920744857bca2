// SPDX-License-Identifier: MIT
/*
 * The completion side: CQ wrap-around over many laps and across the 32-bit
 * counter wrap, the ways to read CQEs (wait, peek, batch, for_each), what
 * enters the kernel and what does not, and the overflow backlog flush that
 * only an ENTER performs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <libring.h>
#include "fake_kernel.h"

/* A ring with CQ entries == SQ entries == n, so the CQ fills fast. */
static void init_small(struct ring *ring, unsigned n)
{
	struct ring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = RING_SETUP_CQSIZE;
	p.cq_entries = n;
	assert_int_equal(ring_queue_init_params(n, ring, &p), 0);
	assert_int_equal(ring->cq.ring_entries, n);
	assert_int_equal(ring->cq.ring_mask, n - 1);
}

static void submit_nops(struct ring *ring, unsigned n, __u64 *next)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct ring_sqe *sqe = ring_get_sqe(ring);

		assert_non_null(sqe);
		ring_prep_nop(sqe);
		ring_sqe_set_data64(sqe, (*next)++);
	}
	assert_int_equal(ring_submit(ring), n);
}

static void run_cq_laps(unsigned initial)
{
	__u64 next = 0, expect = 0;
	struct ring ring;
	unsigned lap, seen = 0;

	fk_cfg.initial_index = initial;
	fk_stats.enters = 0;
	init_small(&ring, 4);
	for (lap = 0; lap < 300; lap++) {
		unsigned n = 1 + lap % 4, i, head;
		struct ring_cqe *cqes[4], *cqe;

		submit_nops(&ring, n, &next);
		assert_int_equal(ring_cq_ready(&ring), n);
		switch (lap % 3) {
		case 0:
			for (i = 0; i < n; i++) {
				assert_int_equal(ring_wait_cqe(&ring, &cqe), 0);
				assert_ptr_equal(cqe, &ring.cq.cqes[(initial + seen++) & 3]);
				assert_int_equal(cqe->user_data, expect++);
				ring_cqe_seen(&ring, cqe);
			}
			break;
		case 1:
			assert_int_equal(ring_peek_batch_cqe(&ring, cqes, 4), n);
			for (i = 0; i < n; i++) {
				assert_ptr_equal(cqes[i], &ring.cq.cqes[(initial + seen++) & 3]);
				assert_int_equal(cqes[i]->user_data, expect++);
			}
			ring_cq_advance(&ring, n);
			break;
		default:
			i = 0;
			ring_for_each_cqe(&ring, head, cqe) {
				assert_int_equal(head, initial + seen++);
				assert_int_equal(cqe->user_data, expect++);
				i++;
			}
			assert_int_equal(i, n);
			ring_cq_advance(&ring, i);
		}
		assert_int_equal(ring_cq_ready(&ring), 0);
		assert_int_equal(*ring.cq.khead, (unsigned)(initial + seen));
	}
	assert_int_equal(expect, next);
	assert_int_equal(*ring.cq.koverflow, 0);
	/* Reading CQEs that were there never entered the kernel. */
	assert_int_equal(fk_stats.enters, 300);
	ring_queue_exit(&ring);
}

static void test_cq_wrap(void **state)
{
	run_cq_laps(0);
	run_cq_laps(UINT_MAX - 2);
}

static void test_peek_empty(void **state)
{
	struct ring ring;
	struct ring_cqe *cqe = (struct ring_cqe *)&cqe;

	assert_int_equal(ring_queue_init(4, &ring, 0), 0);
	assert_int_equal(ring_peek_cqe(&ring, &cqe), -EAGAIN);
	assert_null(cqe);
	assert_int_equal(ring_wait_cqe_nr(&ring, &cqe, 0), -EAGAIN);
	assert_int_equal(ring_peek_batch_cqe(&ring, &cqe, 1), 0);
	assert_int_equal(fk_stats.enters, 0);
	ring_queue_exit(&ring);
}

/*
 * On an IOPOLL ring completions come only from a poll, so a peek that finds
 * nothing and a submit with nothing to submit enter once with GETEVENTS and
 * min_complete 0, as liburing's; a batch peek does not (nor liburing 2.3's).
 */
static void test_iopoll_enters(void **state)
{
	struct ring_cqe *cqe;
	struct ring ring;

	assert_int_equal(ring_queue_init(4, &ring, RING_SETUP_IOPOLL), 0);
	assert_int_equal(ring_peek_cqe(&ring, &cqe), -EAGAIN);
	assert_null(cqe);
	assert_int_equal(fk_stats.enters, 1);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);
	assert_int_equal(fk_stats.last_enter.min_complete, 0);
	assert_int_equal(fk_stats.last_enter.to_submit, 0);

	assert_int_equal(ring_submit(&ring), 0);
	assert_int_equal(fk_stats.enters, 2);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);

	ring_prep_nop(ring_get_sqe(&ring));
	assert_int_equal(ring_submit(&ring), 1);
	assert_int_equal(fk_stats.enters, 3);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);
	assert_int_equal(fk_stats.last_enter.to_submit, 1);
	assert_int_equal(ring_peek_cqe(&ring, &cqe), 0);
	ring_cqe_seen(&ring, cqe);
	assert_int_equal(fk_stats.enters, 3);

	assert_int_equal(ring_peek_batch_cqe(&ring, &cqe, 1), 0);
	assert_int_equal(fk_stats.enters, 3);
	ring_queue_exit(&ring);
}

static void test_wait_cqe_nr(void **state)
{
	struct ring ring;
	struct ring_cqe *cqe;
	__u64 next = 100;

	fk_cfg.defer = true;
	init_small(&ring, 8);
	submit_nops(&ring, 3, &next);
	assert_int_equal(ring_cq_ready(&ring), 0);
	assert_int_equal(fk_stats.enters, 1);

	assert_int_equal(ring_wait_cqe_nr(&ring, &cqe, 3), 0);
	assert_int_equal(fk_stats.enters, 2);
	assert_int_equal(fk_stats.last_enter.to_submit, 0);
	assert_int_equal(fk_stats.last_enter.min_complete, 3);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);
	assert_int_equal(cqe->user_data, 100);
	assert_int_equal(ring_cq_ready(&ring), 3);

	/* Enough are there: no ENTER. */
	assert_int_equal(ring_wait_cqe_nr(&ring, &cqe, 3), 0);
	assert_int_equal(ring_wait_cqe_nr(&ring, &cqe, 2), 0);
	assert_int_equal(ring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(ring_peek_cqe(&ring, &cqe), 0);
	assert_int_equal(fk_stats.enters, 2);
	assert_int_equal(cqe->user_data, 100);

	/* More than are there: one ENTER, the first CQE still first. */
	submit_nops(&ring, 2, &next);
	assert_int_equal(ring_wait_cqe_nr(&ring, &cqe, 5), 0);
	assert_int_equal(cqe->user_data, 100);
	assert_int_equal(ring_cq_ready(&ring), 5);

	/* More than the CQ ring holds: the kernel waits for a full ring. */
	ring_cq_advance(&ring, 5);
	submit_nops(&ring, 8, &next);
	assert_int_equal(ring_wait_cqe_nr(&ring, &cqe, 1000), 0);
	assert_int_equal(cqe->user_data, 105);
	assert_int_equal(ring_cq_ready(&ring), 8);
	ring_cq_advance(&ring, 8);

	/* Nothing can complete: the interrupted wait reports -EINTR. */
	assert_int_equal(ring_wait_cqe(&ring, &cqe), -EINTR);
	assert_int_equal(fk_stats.would_block, 1);
	fk_stats.would_block = 0;
	ring_queue_exit(&ring);
}

static void test_wait_errors(void **state)
{
	struct ring ring;
	struct ring_cqe *cqe;

	assert_int_equal(ring_queue_init(2, &ring, 0), 0);
	fk_cfg.enter_errno = EBADFD;
	assert_int_equal(ring_wait_cqe(&ring, &cqe), -EBADFD);
	assert_int_equal(ring_wait_cqe_nr(&ring, &cqe, 2), -EBADFD);
	/* Only the kernel's answer; never -1 or errno's stale value. */
	fk_cfg.enter_errno = EOWNERDEAD;
	assert_int_equal(ring_wait_cqe(&ring, &cqe), -EOWNERDEAD);
	ring_queue_exit(&ring);
}

static void test_peek_batch(void **state)
{
	struct ring ring;
	struct ring_cqe *cqes[16];
	unsigned i;

	assert_int_equal(ring_queue_init(4, &ring, 0), 0);
	for (i = 0; i < 5; i++)
		fk_complete(ring.ring_fd, 10 + i, -(int)i);
	assert_int_equal(ring_peek_batch_cqe(&ring, cqes, 3), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(cqes[i]->user_data, 10 + i);
		assert_int_equal(cqes[i]->res, -(int)i);
	}
	/* Peeking consumes nothing. */
	assert_int_equal(ring_cq_ready(&ring), 5);
	assert_int_equal(ring_peek_batch_cqe(&ring, cqes, 16), 5);
	assert_int_equal(cqes[4]->user_data, 14);
	assert_int_equal(ring_peek_batch_cqe(&ring, cqes, 0), 0);
	ring_cq_advance(&ring, 2);
	assert_int_equal(ring_peek_batch_cqe(&ring, cqes, 16), 3);
	assert_int_equal(cqes[0]->user_data, 12);
	ring_cq_advance(&ring, 0);
	assert_int_equal(ring_cq_ready(&ring), 3);
	ring_cq_advance(&ring, 3);
	assert_int_equal(ring_peek_batch_cqe(&ring, cqes, 16), 0);
	assert_int_equal(fk_stats.enters, 0);
	ring_queue_exit(&ring);
}

static void test_for_each_empty(void **state)
{
	struct ring ring;
	struct ring_cqe *cqe;
	unsigned head, n = 0;

	assert_int_equal(ring_queue_init(4, &ring, 0), 0);
	ring_for_each_cqe(&ring, head, cqe)
		n++;
	assert_int_equal(n, 0);
	fk_complete(ring.ring_fd, 1, 0);
	ring_for_each_cqe(&ring, head, cqe)
		n++;
	assert_int_equal(n, 1);
	ring_cq_advance(&ring, n);
	ring_queue_exit(&ring);
}

/* Fills a 4-entry CQ ring with 0..3 and the backlog with 4..n-1. */
static void overflow(struct ring *ring, unsigned n)
{
	unsigned i;

	init_small(ring, 4);
	for (i = 0; i < n; i++)
		fk_complete(ring->ring_fd, i, (int)i);
	assert_int_equal(ring_cq_ready(ring), 4);
	assert_int_equal(fk_backlog(ring->ring_fd), n - 4);
	assert_int_equal(*ring->cq.koverflow, n - 4);
	assert_true(ring_cq_has_overflow(ring));
}

static void drain_ring(struct ring *ring, __u64 *expect)
{
	struct ring_cqe *cqe;
	unsigned head, n = 0;

	ring_for_each_cqe(ring, head, cqe) {
		assert_int_equal(cqe->user_data, (*expect)++);
		n++;
	}
	ring_cq_advance(ring, n);
}

static void test_overflow_peek(void **state)
{
	struct ring ring;
	struct ring_cqe *cqe;
	__u64 expect = 0;

	overflow(&ring, 7);
	drain_ring(&ring, &expect);
	assert_int_equal(fk_stats.enters, 0);
	/* An empty ring with the flag set: one ENTER brings the backlog. */
	assert_int_equal(ring_peek_cqe(&ring, &cqe), 0);
	assert_int_equal(fk_stats.enters, 1);
	assert_int_equal(fk_stats.last_enter.to_submit, 0);
	assert_int_equal(fk_stats.last_enter.min_complete, 0);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);
	assert_int_equal(cqe->user_data, 4);
	assert_false(ring_cq_has_overflow(&ring));
	drain_ring(&ring, &expect);
	assert_int_equal(expect, 7);
	assert_int_equal(ring_peek_cqe(&ring, &cqe), -EAGAIN);
	assert_int_equal(fk_stats.enters, 1);
	ring_queue_exit(&ring);
}

static void test_overflow_peek_partial(void **state)
{
	struct ring ring;
	struct ring_cqe *cqe;
	__u64 expect = 0;

	/* 10 CQEs: the backlog needs two flushes into a 4-entry ring. */
	overflow(&ring, 10);
	drain_ring(&ring, &expect);
	assert_int_equal(ring_peek_cqe(&ring, &cqe), 0);
	assert_true(ring_cq_has_overflow(&ring));
	assert_int_equal(ring_cq_ready(&ring), 4);
	drain_ring(&ring, &expect);
	assert_int_equal(ring_wait_cqe(&ring, &cqe), 0);
	assert_false(ring_cq_has_overflow(&ring));
	drain_ring(&ring, &expect);
	assert_int_equal(expect, 10);
	assert_int_equal(*ring.cq.koverflow, 6);
	ring_queue_exit(&ring);
}

static void test_overflow_batch(void **state)
{
	struct ring ring;
	struct ring_cqe *cqes[8];
	__u64 expect = 0;
	unsigned i;

	overflow(&ring, 6);
	/* CQEs in the ring: no ENTER even though the flag is set. */
	assert_int_equal(ring_peek_batch_cqe(&ring, cqes, 8), 4);
	assert_int_equal(fk_stats.enters, 0);
	drain_ring(&ring, &expect);
	assert_int_equal(ring_peek_batch_cqe(&ring, cqes, 8), 2);
	assert_int_equal(fk_stats.enters, 1);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);
	for (i = 0; i < 2; i++)
		assert_int_equal(cqes[i]->user_data, expect++);
	ring_cq_advance(&ring, 2);
	assert_int_equal(ring_peek_batch_cqe(&ring, cqes, 8), 0);
	assert_int_equal(fk_stats.enters, 1);
	ring_queue_exit(&ring);
}

static void test_overflow_wait(void **state)
{
	struct ring ring;
	struct ring_cqe *cqe;
	__u64 expect = 0;

	overflow(&ring, 5);
	drain_ring(&ring, &expect);
	assert_int_equal(ring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->user_data, 4);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);
	assert_int_equal(fk_stats.would_block, 0);
	ring_cqe_seen(&ring, cqe);
	ring_queue_exit(&ring);
}

static void test_overflow_submit(void **state)
{
	struct ring ring;
	__u64 expect = 0;

	overflow(&ring, 5);
	drain_ring(&ring, &expect);
	/* Nothing to submit, but the backlog needs an ENTER to move. */
	assert_int_equal(ring_submit(&ring), 0);
	assert_int_equal(fk_stats.enters, 1);
	assert_int_equal(fk_stats.last_enter.flags, RING_ENTER_GETEVENTS);
	assert_int_equal(fk_stats.last_enter.min_complete, 0);
	assert_false(ring_cq_has_overflow(&ring));
	drain_ring(&ring, &expect);
	assert_int_equal(expect, 5);
	ring_queue_exit(&ring);
}

static void test_overflow_enter_fails(void **state)
{
	struct ring ring;
	struct ring_cqe *cqe, *cqes[4];
	__u64 expect = 0;

	overflow(&ring, 5);
	drain_ring(&ring, &expect);
	fk_cfg.enter_errno = EPERM;
	assert_int_equal(ring_peek_cqe(&ring, &cqe), -EPERM);
	assert_null(cqe);
	assert_int_equal(ring_peek_batch_cqe(&ring, cqes, 4), 0);
	fk_cfg.enter_errno = 0;
	assert_int_equal(ring_peek_batch_cqe(&ring, cqes, 4), 1);
	ring_cq_advance(&ring, 1);
	ring_queue_exit(&ring);
}

static void test_cqe_data(void **state)
{
	struct ring ring;
	struct ring_sqe *sqe;
	struct ring_cqe *cqe;
	int object;

	assert_int_equal(ring_queue_init(2, &ring, 0), 0);
	sqe = ring_get_sqe(&ring);
	ring_prep_nop(sqe);
	ring_sqe_set_data(sqe, &object);
	sqe = ring_get_sqe(&ring);
	ring_prep_nop(sqe);
	ring_sqe_set_data64(sqe, 0xfedcba9876543210ULL);
	assert_int_equal(ring_submit(&ring), 2);
	assert_int_equal(ring_wait_cqe(&ring, &cqe), 0);
	assert_ptr_equal(ring_cqe_get_data(cqe), &object);
	assert_int_equal(cqe->res, 0);
	ring_cqe_seen(&ring, cqe);
	ring_cqe_seen(&ring, NULL);	/* no-op, as in liburing */
	assert_int_equal(ring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(ring_cqe_get_data64(cqe), 0xfedcba9876543210ULL);
	ring_cqe_seen(&ring, cqe);
	assert_int_equal(ring_cq_ready(&ring), 0);
	ring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FK_TEST(test_cq_wrap),
		FK_TEST(test_peek_empty),
		FK_TEST(test_iopoll_enters),
		FK_TEST(test_wait_cqe_nr),
		FK_TEST(test_wait_errors),
		FK_TEST(test_peek_batch),
		FK_TEST(test_for_each_empty),
		FK_TEST(test_overflow_peek),
		FK_TEST(test_overflow_peek_partial),
		FK_TEST(test_overflow_batch),
		FK_TEST(test_overflow_wait),
		FK_TEST(test_overflow_submit),
		FK_TEST(test_overflow_enter_fails),
		FK_TEST(test_cqe_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
