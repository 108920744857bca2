// SPDX-License-Identifier: MIT
/*
 * Submission: a NOP round trip, every malformed SQE completing with
 * -EINVAL (never an ioctl error), dropped SQ indexes, and 100,000 NOPs in
 * batches of varied sizes with every user_data seen exactly once.
 */
#include "vmtest.h"

#include <stdlib.h>
#include <unistd.h>
#include <libring.h>

static void test_nop_round_trip(void **state)
{
	struct ring_cqe cqe;
	struct raw_ring r;
	struct ring_sqe *sqe;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	sqe = raw_get_sqe(&r);
	raw_prep_nop(sqe, 0xdeadbeefcafef00dULL);
	raw_flush_sq(&r);
	expect_ret(raw_enter(r.fd, 1, 1, RING_ENTER_GETEVENTS), 1);

	assert_int_equal(__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(raw_cq_ready(&r), 1);
	assert_true(raw_peek_cqe(&r, &cqe));
	assert_true(cqe.user_data == 0xdeadbeefcafef00dULL);
	expect_ret(cqe.res, 0);
	assert_int_equal(cqe.flags, 0);
	raw_cq_advance(&r, 1);
	assert_int_equal(raw_cq_ready(&r), 0);
	assert_int_equal(*r.sq_dropped, 0);
	assert_int_equal(*r.cq_overflow, 0);

	/* fd is ignored by NOP: 0 and a random value work too. */
	sqe = raw_get_sqe(&r);
	raw_prep_nop(sqe, 2);
	sqe->fd = 0;
	sqe = raw_get_sqe(&r);
	raw_prep_nop(sqe, 3);
	sqe->fd = 12345;
	raw_flush_sq(&r);
	expect_ret(raw_enter(r.fd, 2, 2, RING_ENTER_GETEVENTS), 2);
	assert_true(raw_peek_cqe(&r, &cqe));
	assert_int_equal(cqe.user_data, 2);
	expect_ret(cqe.res, 0);
	raw_cq_advance(&r, 1);
	assert_true(raw_peek_cqe(&r, &cqe));
	assert_int_equal(cqe.user_data, 3);
	expect_ret(cqe.res, 0);
	raw_cq_advance(&r, 1);

	/* ENTER with nothing queued consumes nothing. */
	expect_ret(raw_enter(r.fd, 4, 0, 0), 0);
	expect_ret(raw_enter(r.fd, 0, 0, 0), 0);
	raw_ring_exit(&r);
}

/* How a malformed SQE is built, for the messages. */
struct bad_sqe {
	const char *what;
	void (*mangle)(struct ring_sqe *sqe);
};

static void m_ioprio(struct ring_sqe *s) { s->ioprio = 1; }
static void m_off(struct ring_sqe *s) { s->off = 1; }
static void m_off_high(struct ring_sqe *s) { s->off = 1ULL << 63; }
static void m_addr(struct ring_sqe *s) { s->addr = 0x1000; }
static void m_len(struct ring_sqe *s) { s->len = 1; }
static void m_rw_flags(struct ring_sqe *s) { s->rw_flags = 1; }
static void m_buf_index(struct ring_sqe *s) { s->buf_index = 1; }
static void m_buf_iotlb(struct ring_sqe *s) { s->buf_index = RING_BUF_IOTLB; }
static void m_personality(struct ring_sqe *s) { s->personality = 1; }
static void m_splice(struct ring_sqe *s) { s->splice_fd_in = 1; }
static void m_splice_neg(struct ring_sqe *s) { s->splice_fd_in = -1; }
static void m_pad0(struct ring_sqe *s) { s->__pad2[0] = 1; }
static void m_pad1(struct ring_sqe *s) { s->__pad2[1] = 1ULL << 63; }

static const struct bad_sqe bad_fields[] = {
	{ "ioprio", m_ioprio },
	{ "off", m_off },
	{ "off bit 63", m_off_high },
	{ "addr", m_addr },
	{ "len", m_len },
	{ "rw_flags", m_rw_flags },
	{ "buf_index", m_buf_index },
	{ "buf_index IOTLB", m_buf_iotlb },
	{ "personality", m_personality },
	{ "splice_fd_in", m_splice },
	{ "splice_fd_in -1", m_splice_neg },
	{ "__pad2[0]", m_pad0 },
	{ "__pad2[1]", m_pad1 },
};

/* Submit one SQE as built; returns its CQE (the ioctl itself succeeds). */
static struct ring_cqe submit_one(struct raw_ring *r, const struct ring_sqe *in)
{
	struct ring_sqe *sqe = raw_get_sqe(r);
	struct ring_cqe cqe;
	int ret;

	assert_non_null(sqe);
	*sqe = *in;
	raw_flush_sq(r);
	ret = raw_enter(r->fd, 1, 1, RING_ENTER_GETEVENTS);
	if (ret != 1)
		fail_msg("opcode %u flags 0x%x: ENTER returned %d (%s), expected 1",
			 in->opcode, in->flags, ret, errstr(ret));
	if (!raw_peek_cqe(r, &cqe))
		fail_msg("opcode %u: no CQE", in->opcode);
	raw_cq_advance(r, 1);
	if (cqe.user_data != in->user_data)
		fail_msg("opcode %u: CQE user_data 0x%llx, expected 0x%llx",
			 in->opcode, (unsigned long long)cqe.user_data,
			 (unsigned long long)in->user_data);
	return cqe;
}

/* NOP with a must-be-zero field set: CQE -EINVAL. */
static void test_nop_bad_fields(void **state)
{
	struct raw_ring r;
	size_t i;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	for (i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++) {
		struct ring_sqe sqe;
		struct ring_cqe cqe;

		raw_prep_nop(&sqe, 100 + i);
		bad_fields[i].mangle(&sqe);
		cqe = submit_one(&r, &sqe);
		expect_ret_msg(cqe.res, -EINVAL, "NOP with %s set",
			       bad_fields[i].what);
	}
	raw_ring_exit(&r);
}

/*
 * sqe->flags on a lone NOP: the bits io_uring has and ring does not
 * (BUFFER_SELECT, 1 << 5) or nobody has (1 << 7) complete with -EINVAL;
 * the others complete it with 0 (FIXED_FILE: a NOP takes no file; LINK
 * and HARDLINK: a chain left open at the end of ENTER is submitted as it
 * is).  CQE_SKIP_SUCCESS posts nothing: test_links.
 */
static void test_sqe_flags(void **state)
{
	static const struct {
		unsigned flag;
		int res;
	} cases[] = {
		{ RING_SQE_FIXED_FILE, 0 },
		{ RING_SQE_IO_DRAIN, 0 },
		{ RING_SQE_IO_LINK, 0 },
		{ RING_SQE_IO_HARDLINK, 0 },
		{ RING_SQE_ASYNC, 0 },
		{ 1U << 5, -EINVAL },
		{ 1U << 7, -EINVAL },
		{ 1U << 7 | RING_SQE_ASYNC, -EINVAL },
	};
	struct raw_ring r;
	size_t i;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ring_sqe sqe;
		struct ring_cqe cqe;

		raw_prep_nop(&sqe, 200 + i);
		sqe.flags = cases[i].flag;
		cqe = submit_one(&r, &sqe);
		expect_ret_msg(cqe.res, cases[i].res,
			       "NOP with sqe->flags %#x", cases[i].flag);
		assert_int_equal(cqe.user_data, 200 + i);
	}
	raw_ring_exit(&r);
}

/* Unknown opcodes: CQE -EINVAL. */
static void test_unknown_opcodes(void **state)
{
	struct raw_ring r;
	unsigned op;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	for (op = 0; op < 256; op++) {
		struct ring_sqe sqe;
		struct ring_cqe cqe;

		switch (op) {
		case RING_OP_NOP: case RING_OP_READV: case RING_OP_WRITEV:
		case RING_OP_FSYNC: case RING_OP_READ_FIXED:
		case RING_OP_WRITE_FIXED: case RING_OP_READ:
		case RING_OP_WRITE:
			continue;
		}
		raw_prep_nop(&sqe, 0x10000 + op);
		sqe.opcode = op;
		cqe = submit_one(&r, &sqe);
		expect_ret_msg(cqe.res, -EINVAL, "opcode %u", op);
	}
	raw_ring_exit(&r);
}

/*
 * Every opcode of the contract is implemented (tests/vm/test_rw*.c,
 * test_fixed*.c); the FIXED ones on a ring without registered buffers
 * complete with -EFAULT, as the contract says for a bad buf_index.
 */
static void test_fixed_without_buffers(void **state)
{
	static const unsigned ops[] = {
		RING_OP_READ_FIXED, RING_OP_WRITE_FIXED,
	};
	char buf[64] = { 0 };
	char path[] = "/tmp/ring-nop-XXXXXX";
	struct raw_ring r;
	size_t i;
	int fd;

	require_ring();
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	raw_ring_init(&r, 4, NULL);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct ring_sqe sqe;
		struct ring_cqe cqe;

		memset(&sqe, 0, sizeof(sqe));
		sqe.opcode = ops[i];
		sqe.fd = fd;
		sqe.user_data = 300 + i;
		sqe.addr = (unsigned long)buf;
		sqe.len = sizeof(buf);
		cqe = submit_one(&r, &sqe);
		expect_ret_msg(cqe.res, -EFAULT, "opcode %u, no buffers",
			       ops[i]);
	}
	/* Nothing was written to the file by the rejected write. */
	assert_int_equal(lseek(fd, 0, SEEK_END), sizeof(buf));
	raw_ring_exit(&r);
	close(fd);
}

/*
 * Good and bad SQEs in one batch: all consumed, ENTER returns the count,
 * CQEs come in submission order with the right results.
 */
static void test_mixed_batch(void **state)
{
	struct raw_ring r;
	unsigned i, n = 16;

	require_ring();
	raw_ring_init(&r, 16, NULL);
	for (i = 0; i < n; i++) {
		struct ring_sqe *sqe = raw_get_sqe(&r);

		raw_prep_nop(sqe, 500 + i);
		if (i % 3 == 1)
			sqe->len = 1;
		else if (i % 3 == 2)
			sqe->opcode = 200;
	}
	raw_flush_sq(&r);
	expect_ret(raw_enter(r.fd, n, 0, 0), n);
	assert_int_equal(raw_cq_ready(&r), n);
	for (i = 0; i < n; i++) {
		struct ring_cqe cqe;

		assert_true(raw_peek_cqe(&r, &cqe));
		assert_int_equal(cqe.user_data, 500 + i);
		expect_ret_msg(cqe.res, i % 3 ? -EINVAL : 0, "batch entry %u", i);
		raw_cq_advance(&r, 1);
	}
	raw_ring_exit(&r);
}

/*
 * to_submit larger than what is queued consumes what is queued; smaller
 * consumes exactly to_submit and leaves the rest for the next call.
 */
static void test_partial_submit(void **state)
{
	struct raw_ring r;
	unsigned i;

	require_ring();
	raw_ring_init(&r, 8, NULL);
	for (i = 0; i < 5; i++)
		raw_prep_nop(raw_get_sqe(&r), i);
	raw_flush_sq(&r);
	expect_ret(raw_enter(r.fd, 2, 0, 0), 2);
	assert_int_equal(__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE), 2);
	assert_int_equal(raw_cq_ready(&r), 2);
	expect_ret(raw_enter(r.fd, 100, 0, 0), 3);
	assert_int_equal(__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE), 5);
	assert_int_equal(raw_cq_ready(&r), 5);
	for (i = 0; i < 5; i++) {
		struct ring_cqe cqe;

		assert_true(raw_peek_cqe(&r, &cqe));
		assert_int_equal(cqe.user_data, i);
		raw_cq_advance(&r, 1);
	}
	raw_ring_exit(&r);
}

/*
 * An SQ array index >= sq_entries is dropped: counted in sq dropped,
 * consumed (head moves past it), no CQE, not counted in ENTER's result;
 * the valid entries around it still complete.
 */
static void test_dropped_index(void **state)
{
	static const unsigned bad_idx[] = { 8, 0xffffffffU, 0x80000000U };
	struct raw_ring r;
	unsigned i, submitted = 0, calls = 0, dropped = 0;
	unsigned want_ud[8], nwant = 0;

	require_ring();
	raw_ring_init(&r, 8, NULL);
	/* good, bad, good, bad, bad, good, bad(-idx 8) ... */
	for (i = 0; i < 7; i++) {
		unsigned idx = r.sqe_tail & 7;

		raw_prep_nop(&r.sqes[idx], 700 + i);
		if (i == 1 || i == 3 || i == 4) {
			r.sq_array[idx] = bad_idx[dropped % 3];
			dropped++;
		} else {
			r.sq_array[idx] = idx;
			want_ud[nwant++] = 700 + i;
		}
		r.sqe_tail++;
	}
	raw_flush_sq(&r);
	/*
	 * io_uring stops a batch at a dropped entry, a skip-and-continue
	 * implementation does not: either way every entry must be consumed
	 * by ENTER calls that return only the valid ones.
	 */
	while (__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE) != r.sqe_tail) {
		unsigned left = r.sqe_tail -
				__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE);
		int ret = raw_enter(r.fd, left, 0, 0);

		if (ret < 0)
			fail_msg("ENTER(%u): %s", left, errstr(ret));
		submitted += ret;
		if (++calls > 7)
			fail_msg("SQ head stuck at %u (tail %u)", *r.sq_head,
				 r.sqe_tail);
	}
	assert_int_equal(submitted, nwant);
	assert_int_equal(*r.sq_dropped, dropped);
	assert_int_equal(raw_cq_ready(&r), nwant);
	for (i = 0; i < nwant; i++) {
		struct ring_cqe cqe;

		assert_true(raw_peek_cqe(&r, &cqe));
		assert_int_equal(cqe.user_data, want_ud[i]);
		expect_ret(cqe.res, 0);
		raw_cq_advance(&r, 1);
	}
	/* A dropped-only batch: ENTER returns 0, dropped counts it. */
	r.sq_array[r.sqe_tail & 7] = 1000;
	r.sqe_tail++;
	raw_flush_sq(&r);
	expect_ret(raw_enter(r.fd, 1, 0, 0), 0);
	assert_int_equal(*r.sq_dropped, dropped + 1);
	assert_int_equal(__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE),
			 r.sqe_tail);
	assert_int_equal(raw_cq_ready(&r), 0);
	assert_int_equal(fdinfo_get(r.fd, "SqDropped"), dropped + 1);
	raw_ring_exit(&r);
}

/* Mark user_data seen; fail on a duplicate or an unknown value. */
static void mark_seen(unsigned char *seen, unsigned total, __u64 ud, int res)
{
	if (ud >= total)
		fail_msg("CQE with unknown user_data %llu",
			 (unsigned long long)ud);
	if (seen[ud / 8] & (1U << (ud % 8)))
		fail_msg("user_data %llu completed twice",
			 (unsigned long long)ud);
	if (res != 0)
		fail_msg("NOP %llu: res %d", (unsigned long long)ud, res);
	seen[ud / 8] |= 1U << (ud % 8);
}

static void check_all_seen(const unsigned char *seen, unsigned total)
{
	unsigned i;

	for (i = 0; i < total; i++)
		if (!(seen[i / 8] & (1U << (i % 8))))
			fail_msg("user_data %u never completed", i);
}

static const unsigned batch_sizes[] = {
	1, 2, 3, 5, 7, 8, 16, 31, 32, 64, 100, 127, 128, 200, 255, 256,
};
#define NBATCH (sizeof(batch_sizes) / sizeof(batch_sizes[0]))

/* 100,000 NOPs through raw ioctls: every user_data exactly once. */
static void test_many_nops_raw(void **state)
{
	unsigned total = scaled(100000, 2000), next = 0, done = 0, b = 0;
	unsigned char *seen = calloc((total + 7) / 8, 1);
	struct raw_ring r;

	require_ring();
	assert_non_null(seen);
	raw_ring_init(&r, 256, NULL);
	while (done < total) {
		unsigned n = batch_sizes[b++ % NBATCH], i;
		int ret;

		if (n > total - next)
			n = total - next;
		for (i = 0; i < n; i++)
			raw_prep_nop(raw_get_sqe(&r), next + i);
		raw_flush_sq(&r);
		/* Alternate plain submits and submit-and-wait. */
		ret = raw_enter(r.fd, n, b % 2 ? n : 0,
				b % 2 ? RING_ENTER_GETEVENTS : 0);
		if (ret != (int)n)
			fail_msg("ENTER(%u) after %u NOPs: %d (%s)", n, next,
				 ret, errstr(ret));
		next += n;
		for (;;) {
			struct ring_cqe cqe;

			if (!raw_peek_cqe(&r, &cqe))
				break;
			mark_seen(seen, total, cqe.user_data, cqe.res);
			raw_cq_advance(&r, 1);
			done++;
		}
		if (done != next)
			fail_msg("%u submitted, %u completed", next, done);
	}
	check_all_seen(seen, total);
	assert_int_equal(*r.sq_dropped, 0);
	assert_int_equal(*r.cq_overflow, 0);
	assert_int_equal(__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE), total);
	assert_int_equal(__atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE), total);
	raw_ring_exit(&r);
	free(seen);
}

/*
 * 100,000 NOPs through libring, reaped with peek_batch and for_each while
 * batches stay in flight, so completions interleave with submissions.
 */
static void test_many_nops_libring(void **state)
{
	unsigned total = scaled(100000, 2000), next = 0, done = 0, b = 0;
	unsigned char *seen = calloc((total + 7) / 8, 1);
	struct ring_cqe *cqes[64];
	struct ring ring;
	int ret;

	require_ring();
	assert_non_null(seen);
	ret = ring_queue_init(128, &ring, 0);
	if (ret)
		fail_msg("ring_queue_init: %s", errstr(ret));
	while (done < total) {
		unsigned n = batch_sizes[b++ % NBATCH], i, got;

		if (n > ring_sq_space_left(&ring))
			n = ring_sq_space_left(&ring);
		if (n > total - next)
			n = total - next;
		for (i = 0; i < n; i++) {
			struct ring_sqe *sqe = ring_get_sqe(&ring);

			assert_non_null(sqe);
			ring_prep_nop(sqe);
			ring_sqe_set_data64(sqe, next + i);
		}
		next += n;
		if (b % 3 == 0) {
			ret = ring_submit_and_wait(&ring, 1);
		} else {
			ret = ring_submit(&ring);
		}
		if (ret != (int)n)
			fail_msg("submit of %u: %d (%s)", n, ret, errstr(ret));
		if (b % 2) {
			unsigned head, cnt = 0;
			struct ring_cqe *cqe;

			ring_for_each_cqe(&ring, head, cqe) {
				mark_seen(seen, total, cqe->user_data, cqe->res);
				cnt++;
			}
			ring_cq_advance(&ring, cnt);
			done += cnt;
		} else {
			got = ring_peek_batch_cqe(&ring, cqes, 64);
			for (i = 0; i < got; i++)
				mark_seen(seen, total, cqes[i]->user_data,
					  cqes[i]->res);
			ring_cq_advance(&ring, got);
			done += got;
		}
	}
	check_all_seen(seen, total);
	assert_false(ring_cq_has_overflow(&ring));
	ring_queue_exit(&ring);
	free(seen);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_nop_round_trip),
	cmocka_unit_test(test_nop_bad_fields),
	cmocka_unit_test(test_sqe_flags),
	cmocka_unit_test(test_unknown_opcodes),
	cmocka_unit_test(test_fixed_without_buffers),
	cmocka_unit_test(test_mixed_batch),
	cmocka_unit_test(test_partial_submit),
	cmocka_unit_test(test_dropped_index),
	cmocka_unit_test(test_many_nops_raw),
	cmocka_unit_test(test_many_nops_libring),
};

VMTEST_MAIN(tests)
