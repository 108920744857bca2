// SPDX-License-Identifier: MIT
/*
 * Every prep helper writes exactly the SQE the contract expects: each field
 * checked, on an SQE full of garbage; user_data left alone (as liburing).
 * Then end to end: helpers on recycled slots pass the kernel's must-be-zero
 * checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include <libring.h>
#include "fake_kernel.h"

#define GARBAGE		0xa5
#define GARBAGE64	0xa5a5a5a5a5a5a5a5ULL

static struct ring_sqe dirty(void)
{
	struct ring_sqe sqe;

	memset(&sqe, GARBAGE, sizeof(sqe));
	return sqe;
}

/* The SQE every helper starts from; tests change what differs. */
static struct ring_sqe want_rw(__u8 op, int fd, __u64 addr, __u32 len,
			       __u64 off)
{
	struct ring_sqe w;

	memset(&w, 0, sizeof(w));
	w.opcode = op;
	w.fd = fd;
	w.addr = addr;
	w.len = len;
	w.off = off;
	w.user_data = GARBAGE64;
	return w;
}

static void check_sqe(const struct ring_sqe *got, const struct ring_sqe *w)
{
	assert_int_equal(got->opcode, w->opcode);
	assert_int_equal(got->flags, w->flags);
	assert_int_equal(got->ioprio, w->ioprio);
	assert_int_equal(got->fd, w->fd);
	assert_int_equal(got->off, w->off);
	assert_int_equal(got->addr, w->addr);
	assert_int_equal(got->len, w->len);
	assert_int_equal(got->rw_flags, w->rw_flags);
	assert_int_equal(got->user_data, w->user_data);
	assert_int_equal(got->buf_index, w->buf_index);
	assert_int_equal(got->personality, w->personality);
	assert_int_equal(got->splice_fd_in, w->splice_fd_in);
	assert_int_equal(got->__pad2[0], w->__pad2[0]);
	assert_int_equal(got->__pad2[1], w->__pad2[1]);
	/* Nothing hides between the fields. */
	assert_memory_equal(got, w, sizeof(*got));
}

static char buf[64];
static struct iovec iov[3];

static void test_prep_rw_nop(void **state)
{
	struct ring_sqe s = dirty(), w;

	ring_prep_rw(77, &s, 5, buf, 9, 0x123456789aULL);
	w = want_rw(77, 5, (uintptr_t)buf, 9, 0x123456789aULL);
	check_sqe(&s, &w);

	s = dirty();
	ring_prep_nop(&s);
	w = want_rw(RING_OP_NOP, -1, 0, 0, 0);
	check_sqe(&s, &w);
}

static void test_prep_read_write(void **state)
{
	struct ring_sqe s = dirty(), w;

	ring_prep_read(&s, 3, buf, sizeof(buf), RING_OFF_CURRENT);
	w = want_rw(RING_OP_READ, 3, (uintptr_t)buf, sizeof(buf),
		    RING_OFF_CURRENT);
	check_sqe(&s, &w);

	s = dirty();
	ring_prep_write(&s, 4, buf + 1, 7, 4096);
	w = want_rw(RING_OP_WRITE, 4, (uintptr_t)(buf + 1), 7, 4096);
	check_sqe(&s, &w);
}

static void test_prep_vectored(void **state)
{
	struct ring_sqe s = dirty(), w;

	ring_prep_readv(&s, 6, iov, 3, 512);
	w = want_rw(RING_OP_READV, 6, (uintptr_t)iov, 3, 512);
	check_sqe(&s, &w);

	s = dirty();
	ring_prep_readv2(&s, 6, iov, 2, 0, 0x10 /* RWF_NOWAIT */);
	w = want_rw(RING_OP_READV, 6, (uintptr_t)iov, 2, 0);
	w.rw_flags = 0x10;
	check_sqe(&s, &w);

	s = dirty();
	ring_prep_writev(&s, 7, iov + 1, 1, RING_OFF_CURRENT);
	w = want_rw(RING_OP_WRITEV, 7, (uintptr_t)(iov + 1), 1,
		    RING_OFF_CURRENT);
	check_sqe(&s, &w);

	s = dirty();
	ring_prep_writev2(&s, 7, iov, 3, 8192, 0x2 /* RWF_DSYNC */);
	w = want_rw(RING_OP_WRITEV, 7, (uintptr_t)iov, 3, 8192);
	w.rw_flags = 0x2;
	check_sqe(&s, &w);
}

static void test_prep_fsync(void **state)
{
	struct ring_sqe s = dirty(), w;

	ring_prep_fsync(&s, 8, 0);
	w = want_rw(RING_OP_FSYNC, 8, 0, 0, 0);
	check_sqe(&s, &w);

	s = dirty();
	ring_prep_fsync(&s, 8, RING_FSYNC_DATASYNC);
	w.rw_flags = RING_FSYNC_DATASYNC;
	check_sqe(&s, &w);
}

static void test_prep_fixed(void **state)
{
	struct ring_sqe s = dirty(), w;

	ring_prep_read_fixed(&s, 9, buf, 16, 64, 3);
	w = want_rw(RING_OP_READ_FIXED, 9, (uintptr_t)buf, 16, 64);
	w.buf_index = 3;
	check_sqe(&s, &w);

	s = dirty();
	ring_prep_write_fixed(&s, 9, buf + 8, 8, 0, 16383);
	w = want_rw(RING_OP_WRITE_FIXED, 9, (uintptr_t)(buf + 8), 8, 0);
	w.buf_index = 16383;
	check_sqe(&s, &w);
}

static void test_prep_iova(void **state)
{
	struct ring_sqe s = dirty(), w;
	__u64 iova = 0x7fff00001000ULL;

	ring_prep_read_iova(&s, 10, iova, 4096, 1ULL << 40);
	w = want_rw(RING_OP_READ_FIXED, 10, iova, 4096, 1ULL << 40);
	w.buf_index = RING_BUF_IOTLB;
	check_sqe(&s, &w);

	s = dirty();
	ring_prep_write_iova(&s, 11, ~0ULL << 12, 1, 0);
	w = want_rw(RING_OP_WRITE_FIXED, 11, ~0ULL << 12, 1, 0);
	w.buf_index = RING_BUF_IOTLB;
	check_sqe(&s, &w);
}

static void test_data_and_flags(void **state)
{
	struct ring_sqe s = dirty(), w = dirty();
	struct ring_cqe c = { .user_data = 42 };

	ring_sqe_set_data64(&s, 0x0123456789abcdefULL);
	w.user_data = 0x0123456789abcdefULL;
	check_sqe(&s, &w);
	ring_sqe_set_data(&s, buf);
	w.user_data = (uintptr_t)buf;
	check_sqe(&s, &w);
	ring_sqe_set_flags(&s, 0x101);	/* truncated to the u8 field */
	w.flags = 1;
	check_sqe(&s, &w);
	assert_int_equal(ring_cqe_get_data64(&c), 42);
	c.user_data = (uintptr_t)buf;
	assert_ptr_equal(ring_cqe_get_data(&c), buf);
}

/*
 * The fake kernel fills the SQE array with garbage and applies the module's
 * must-be-zero checks: helpers on never-cleaned slots must pass them.
 */
static void test_end_to_end(void **state)
{
	struct ring ring;
	struct ring_cqe *cqe;
	unsigned lap, i;

	fk_cfg.op_res = 4096;	/* what an implemented op would return */
	assert_int_equal(ring_queue_init(16, &ring, 0), 0);
	assert_int_equal(ring.sq.sqes[0].personality, 0xeeee);
	for (lap = 0; lap < 2; lap++) {	/* slots get reused */
		ring_prep_nop(ring_get_sqe(&ring));
		ring_prep_read(ring_get_sqe(&ring), 0, buf, 1, 0);
		ring_prep_write(ring_get_sqe(&ring), 0, buf, 1, 0);
		ring_prep_readv(ring_get_sqe(&ring), 0, iov, 1, 0);
		ring_prep_readv2(ring_get_sqe(&ring), 0, iov, 1, 0, 0);
		ring_prep_writev(ring_get_sqe(&ring), 0, iov, 1, 0);
		ring_prep_writev2(ring_get_sqe(&ring), 0, iov, 1, 0, 0);
		ring_prep_fsync(ring_get_sqe(&ring), 0, RING_FSYNC_DATASYNC);
		ring_prep_read_fixed(ring_get_sqe(&ring), 0, buf, 1, 0, 0);
		ring_prep_write_fixed(ring_get_sqe(&ring), 0, buf, 1, 0, 0);
		ring_prep_read_iova(ring_get_sqe(&ring), 0, 0, 1, 0);
		ring_prep_write_iova(ring_get_sqe(&ring), 0, 0, 1, 0);
		/* A NOP with a stale field is refused: the check is live. */
		ring_prep_nop(ring_get_sqe(&ring));
		ring.sq.sqes[(ring.sq.sqe_tail - 1) & 15].len = 1;
		assert_int_equal(ring_submit(&ring), 13);
		assert_int_equal(ring_cq_ready(&ring), 13);
		for (i = 0; i < 13; i++) {
			assert_int_equal(ring_peek_cqe(&ring, &cqe), 0);
			assert_int_equal(cqe->res, i == 0 ? 0 :
					 i == 12 ? -EINVAL : 4096);
			ring_cqe_seen(&ring, cqe);
		}
	}
	assert_int_equal(fk_stats.consumed, 26);
	ring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FK_TEST(test_prep_rw_nop),
		FK_TEST(test_prep_read_write),
		FK_TEST(test_prep_vectored),
		FK_TEST(test_prep_fsync),
		FK_TEST(test_prep_fixed),
		FK_TEST(test_prep_iova),
		FK_TEST(test_data_and_flags),
		FK_TEST(test_end_to_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
