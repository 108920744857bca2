// SPDX-License-Identifier: MIT
/*
 * CQ overflow: completions beyond the CQ ring wait in the kernel backlog,
 * counted in the CQ overflow counter and flagged by RING_SQ_CQ_OVERFLOW;
 * reaping brings them all back, in order, and clears the flag.
 */
#include "vmtest.h"

#include <libring.h>

/*
 * Submit total NOPs (user_data 0..total-1) in batches of the SQ size
 * without reaping anything.
 */
static void flood(struct raw_ring *r, unsigned total)
{
	unsigned next = 0;

	while (next < total) {
		unsigned n = r->p.sq_entries;

		if (n > total - next)
			n = total - next;
		raw_submit_nops(r, n, next);
		next += n;
	}
}

/*
 * Reap everything: CQEs from the ring, then ENTER (no flags) to move the
 * backlog in. Checks order and results; returns how many were reaped.
 */
static unsigned drain_in_order(struct raw_ring *r, unsigned first,
			       unsigned total, bool use_getevents)
{
	unsigned expect = first, rounds = 0;

	for (;;) {
		struct ring_cqe cqe;
		int ret;

		while (raw_peek_cqe(r, &cqe)) {
			if (cqe.user_data != expect)
				fail_msg("CQE %u: user_data %llu, expected %u (order lost)",
					 expect - first,
					 (unsigned long long)cqe.user_data,
					 expect);
			expect_ret_msg(cqe.res, 0, "CQE %u", expect);
			raw_cq_advance(r, 1);
			expect++;
		}
		if (!(raw_sq_flags(r) & RING_SQ_CQ_OVERFLOW))
			break;
		/* Backlog pending: ENTER flushes it into the ring. */
		if (use_getevents)
			ret = raw_enter(r->fd, 0, 1, RING_ENTER_GETEVENTS);
		else
			ret = raw_enter(r->fd, 0, 0, 0);
		expect_ret(ret, 0);
		if (!raw_cq_ready(r))
			fail_msg("overflow flag set but ENTER moved nothing in (%u of %u reaped)",
				 expect - first, total);
		if (++rounds > total)
			fail_msg("backlog never drains");
	}
	return expect - first;
}

static void check_overflow_then_drain(unsigned sq, unsigned cq, unsigned mult,
				      bool use_getevents)
{
	struct ring_params p = {
		.cq_entries = cq,
		.flags = RING_SETUP_CQSIZE,
	};
	unsigned total, backlog;
	struct raw_ring r;

	raw_ring_init(&r, sq, &p);
	total = mult * p.cq_entries;
	backlog = total - p.cq_entries;
	flood(&r, total);

	/* The ring is full, the rest waits in the backlog. */
	assert_int_equal(raw_cq_ready(&r), p.cq_entries);
	if (!(raw_sq_flags(&r) & RING_SQ_CQ_OVERFLOW))
		fail_msg("RING_SQ_CQ_OVERFLOW not set with %u CQEs backlogged",
			 backlog);
	/* One increment per CQE that went to the backlog. */
	expect_ret_msg(*r.cq_overflow, backlog, "CQ overflow counter");
	expect_ret_msg(fdinfo_get(r.fd, "CqBacklog"), backlog, "fdinfo CqBacklog");
	expect_ret_msg(fdinfo_get(r.fd, "CqOverflow"), backlog,
		       "fdinfo CqOverflow");
	/* ENTER without room moves nothing and loses nothing. */
	expect_ret(raw_enter(r.fd, 0, 0, 0), 0);
	assert_int_equal(raw_cq_ready(&r), p.cq_entries);
	expect_ret_msg(fdinfo_get(r.fd, "CqBacklog"), backlog,
		       "fdinfo CqBacklog after ENTER");

	expect_ret_msg(drain_in_order(&r, 0, total, use_getevents), total,
		       "CQEs reaped");
	assert_false(raw_sq_flags(&r) & RING_SQ_CQ_OVERFLOW);
	expect_ret_msg(fdinfo_get(r.fd, "CqBacklog"), 0, "fdinfo CqBacklog after drain");
	expect_ret_msg(fdinfo_get(r.fd, "Inflight"), 0, "fdinfo Inflight");
	/* The counter is a history: draining does not reset it. */
	expect_ret_msg(*r.cq_overflow, backlog, "CQ overflow counter after drain");
	raw_ring_exit(&r);
}

static void test_overflow_basic(void **state)
{
	require_ring();
	check_overflow_then_drain(4, 4, 8, false);
}

static void test_overflow_large(void **state)
{
	require_ring();
	check_overflow_then_drain(64, 128, scaled(40, 4), false);
}

/* The GETEVENTS wait flushes the backlog too. */
static void test_overflow_getevents_flush(void **state)
{
	require_ring();
	check_overflow_then_drain(8, 16, 10, true);
}

/*
 * FIFO across the backlog: with the backlog non-empty, freeing slots and
 * submitting more must not let the new completions overtake the old ones.
 */
static void test_overflow_fifo_with_new_submissions(void **state)
{
	struct ring_params p = { .cq_entries = 8, .flags = RING_SETUP_CQSIZE };
	unsigned next, expect = 0, round;
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 4, &p);
	flood(&r, 32);		/* 8 in the ring, 24 backlogged */
	next = 32;
	for (round = 0; round < 20; round++) {
		struct ring_cqe cqe;
		unsigned k;

		/* Reap 3, then submit 2 more while the backlog is non-empty. */
		for (k = 0; k < 3 && raw_peek_cqe(&r, &cqe); k++) {
			if (cqe.user_data != expect)
				fail_msg("round %u: got %llu, expected %u", round,
					 (unsigned long long)cqe.user_data,
					 expect);
			raw_cq_advance(&r, 1);
			expect++;
		}
		raw_submit_nops(&r, 2, next);
		next += 2;
		if (!(raw_sq_flags(&r) & RING_SQ_CQ_OVERFLOW) &&
		    raw_cq_ready(&r) < next - expect)
			fail_msg("round %u: %u outstanding but only %u in the ring and no overflow flag",
				 round, next - expect, raw_cq_ready(&r));
	}
	expect += drain_in_order(&r, expect, next - expect, false);
	assert_int_equal(expect, next);
	/*
	 * 24 initially, then every new CQE queued behind the backlog (which
	 * never emptied: it shrank by one per round, 24 -> 4).
	 */
	expect_ret_msg(*r.cq_overflow, 24 + 2 * 20, "CQ overflow counter");
	raw_ring_exit(&r);
}

/*
 * Reaping the whole ring and waiting with GETEVENTS for more than the ring
 * holds returns once the ring is full from the backlog (min is clamped to
 * cq_entries), never blocks while completions are backlogged.
 */
static void test_overflow_wait_clamped(void **state)
{
	struct ring_params p = { .cq_entries = 4, .flags = RING_SETUP_CQSIZE };
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 4, &p);
	flood(&r, 16);
	raw_cq_advance(&r, 4);
	expect_ret(raw_enter(r.fd, 0, 100, RING_ENTER_GETEVENTS), 0);
	assert_int_equal(raw_cq_ready(&r), 4);
	assert_int_equal(drain_in_order(&r, 4, 12, true), 12);
	raw_ring_exit(&r);
}

/* libring sees the overflow and its wait helpers drain the backlog. */
static void test_overflow_libring(void **state)
{
	struct ring ring;
	unsigned i, total = 64;
	int ret;

	require_ring();
	ret = ring_queue_init(4, &ring, 0);	/* cq = 8 */
	if (ret)
		fail_msg("ring_queue_init: %s", errstr(ret));
	for (i = 0; i < total; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&ring);

		if (!sqe) {
			expect_ret(ring_submit(&ring), 4);
			sqe = ring_get_sqe(&ring);
		}
		ring_prep_nop(sqe);
		ring_sqe_set_data64(sqe, i);
	}
	expect_ret(ring_submit(&ring), 4);
	assert_true(ring_cq_has_overflow(&ring));
	for (i = 0; i < total; i++) {
		struct ring_cqe *cqe;

		ret = ring_wait_cqe(&ring, &cqe);
		if (ret)
			fail_msg("ring_wait_cqe %u: %s", i, errstr(ret));
		assert_int_equal(cqe->user_data, i);
		expect_ret(cqe->res, 0);
		ring_cqe_seen(&ring, cqe);
	}
	assert_false(ring_cq_has_overflow(&ring));
	assert_int_equal(ring_cq_ready(&ring), 0);
	ring_queue_exit(&ring);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_overflow_basic),
	cmocka_unit_test(test_overflow_large),
	cmocka_unit_test(test_overflow_getevents_flush),
	cmocka_unit_test(test_overflow_fifo_with_new_submissions),
	cmocka_unit_test(test_overflow_wait_clamped),
	cmocka_unit_test(test_overflow_libring),
};

VMTEST_MAIN(tests)
