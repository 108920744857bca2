// SPDX-License-Identifier: MIT
/*
 * The drop-in's submission paths (lib/compat/queue.c) on an SQPOLL ring,
 * against liburing 2.3's rules: an ENTER only for a sleeping thread
 * (SQ_WAKEUP), a wait or a backlog; io_uring_submit returns the SQEs
 * pending; __io_uring_sqring_wait enters with SQ_WAIT.  The translator's
 * xl_enter is replaced by a recorder, and the ring is plain memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dropin.h"

static struct {
	unsigned calls, to_submit, min_complete, flags;
} ent;

/* The kernel's side of an SQPOLL ENTER: to_submit, consuming nothing. */
int xl_enter(unsigned fd, unsigned to_submit, unsigned min_complete,
	     unsigned flags, const void *arg, size_t argsz)
{
	ent.calls++;
	ent.to_submit = to_submit;
	ent.min_complete = min_complete;
	ent.flags = flags;
	return (int)to_submit;
}

#define ENTRIES	4

static struct {
	unsigned sq_head, sq_tail, sq_flags, cq_head, cq_tail;
	struct ring_sqe sqes[ENTRIES];
	struct ring_cqe cqes[2 * ENTRIES];
} mem;

static void ring_init(struct ring *ring, unsigned flags)
{
	memset(&mem, 0, sizeof(mem));
	memset(&ent, 0, sizeof(ent));
	memset(ring, 0, sizeof(*ring));
	ring->sq.khead = &mem.sq_head;
	ring->sq.ktail = &mem.sq_tail;
	ring->sq.kflags = &mem.sq_flags;
	ring->sq.sqes = mem.sqes;
	ring->sq.ring_mask = ENTRIES - 1;
	ring->sq.ring_entries = ENTRIES;
	ring->cq.khead = &mem.cq_head;
	ring->cq.ktail = &mem.cq_tail;
	ring->cq.cqes = mem.cqes;
	ring->cq.ring_mask = 2 * ENTRIES - 1;
	ring->cq.ring_entries = 2 * ENTRIES;
	ring->flags = flags;
	ring->ring_fd = ring->enter_ring_fd = 3;
}

static void get_sqes(struct ring *ring, unsigned n)
{
	while (n--)
		assert_non_null(io_uring_get_sqe(ring));
}

static void test_submit_awake_thread(void **state)
{
	struct ring ring;

	ring_init(&ring, LU_SETUP_SQPOLL);
	get_sqes(&ring, 3);
	assert_int_equal(io_uring_submit(&ring), 3);
	assert_int_equal(ent.calls, 0);
	assert_int_equal(mem.sq_tail, 3);

	/* The thread took one: 2.3 counts what is still pending. */
	mem.sq_head = 1;
	get_sqes(&ring, 1);
	assert_int_equal(io_uring_submit(&ring), 3);
	assert_int_equal(ent.calls, 0);
	mem.sq_head = 4;
	assert_int_equal(io_uring_submit(&ring), 0);
	assert_int_equal(ent.calls, 0);
}

static void test_submit_sleeping_thread(void **state)
{
	struct ring ring;

	ring_init(&ring, LU_SETUP_SQPOLL);
	mem.sq_flags = LU_SQ_NEED_WAKEUP;
	/* Nothing to submit: no wakeup (2.3's sq_ring_needs_enter). */
	assert_int_equal(io_uring_submit(&ring), 0);
	assert_int_equal(ent.calls, 0);

	get_sqes(&ring, 2);
	assert_int_equal(io_uring_submit(&ring), 2);
	assert_int_equal(ent.calls, 1);
	assert_int_equal(ent.flags, RING_ENTER_SQ_WAKEUP);
	assert_int_equal(ent.to_submit, 2);

	/* A wait adds GETEVENTS to the wakeup. */
	get_sqes(&ring, 1);
	assert_int_equal(io_uring_submit_and_wait(&ring, 1), 3);
	assert_int_equal(ent.flags,
			 RING_ENTER_SQ_WAKEUP | RING_ENTER_GETEVENTS);
	assert_int_equal(ent.min_complete, 1);
}

static void test_submit_flush_and_wait(void **state)
{
	struct ring ring;

	ring_init(&ring, LU_SETUP_SQPOLL);
	get_sqes(&ring, 1);
	assert_int_equal(io_uring_submit_and_wait(&ring, 1), 1);
	assert_int_equal(ent.flags, RING_ENTER_GETEVENTS);

	mem.sq_head = 1;
	mem.sq_flags = RING_SQ_CQ_OVERFLOW;
	assert_int_equal(io_uring_submit(&ring), 0);
	assert_int_equal(ent.calls, 2);
	assert_int_equal(ent.flags, RING_ENTER_GETEVENTS);

	/* SQPOLL|IOPOLL: 2.3 always enters to reap (the thread polls). */
	ring_init(&ring, LU_SETUP_SQPOLL | LU_SETUP_IOPOLL);
	assert_int_equal(io_uring_submit(&ring), 0);
	assert_int_equal(ent.flags, RING_ENTER_GETEVENTS);
}

/* Without an SQ thread every SQE is an ENTER, flags or not. */
static void test_submit_no_thread(void **state)
{
	struct ring ring;

	ring_init(&ring, 0);
	mem.sq_flags = LU_SQ_NEED_WAKEUP;	/* meaningless here */
	get_sqes(&ring, 2);
	assert_int_equal(io_uring_submit(&ring), 2);
	assert_int_equal(ent.calls, 1);
	assert_int_equal(ent.flags, 0);
	assert_int_equal(io_uring_submit(&ring), 2);	/* not consumed */
	assert_int_equal(ent.calls, 2);
}

static void test_get_cqe_submits(void **state)
{
	struct ring_cqe *cqe;
	struct ring ring;

	ring_init(&ring, LU_SETUP_SQPOLL);
	mem.cq_tail = 1;
	get_sqes(&ring, 2);
	/* A CQE is there and the thread is awake: no ENTER. */
	assert_int_equal(__io_uring_get_cqe(&ring, &cqe, 2, 1, NULL), 2);
	assert_ptr_equal(cqe, &mem.cqes[0]);
	assert_int_equal(ent.calls, 0);

	mem.sq_flags = LU_SQ_NEED_WAKEUP;
	assert_int_equal(__io_uring_get_cqe(&ring, &cqe, 2, 1, NULL), 2);
	assert_int_equal(ent.calls, 1);
	assert_int_equal(ent.flags, RING_ENTER_SQ_WAKEUP);
}

static void test_sqring_wait(void **state)
{
	struct ring ring;

	ring_init(&ring, LU_SETUP_SQPOLL);
	assert_int_equal(__io_uring_sqring_wait(&ring), 0);
	assert_int_equal(ent.calls, 1);
	assert_int_equal(ent.flags, RING_ENTER_SQ_WAIT);
	assert_int_equal(ent.to_submit, 0);
	assert_int_equal(ent.min_complete, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit_awake_thread),
		cmocka_unit_test(test_submit_sleeping_thread),
		cmocka_unit_test(test_submit_flush_and_wait),
		cmocka_unit_test(test_submit_no_thread),
		cmocka_unit_test(test_get_cqe_submits),
		cmocka_unit_test(test_sqring_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
