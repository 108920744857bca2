// SPDX-License-Identifier: MIT
/*
 * The contract says ring.h's shared-memory layout, opcodes and flag values
 * are io_uring's: pin every field offset and number against the system's
 * <linux/io_uring.h>, and the library's structures against liburing-style
 * use of them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/io_uring.h>
#include <libring.h>

#define SAME_FIELD(r, u, rf, uf) do {					\
	assert_int_equal(offsetof(struct r, rf), offsetof(struct u, uf)); \
	assert_int_equal(sizeof(((struct r *)0)->rf),			\
			 sizeof(((struct u *)0)->uf));			\
} while (0)

static void test_sqe_cqe(void **state)
{
	assert_int_equal(sizeof(struct ring_sqe), sizeof(struct io_uring_sqe));
	SAME_FIELD(ring_sqe, io_uring_sqe, opcode, opcode);
	SAME_FIELD(ring_sqe, io_uring_sqe, flags, flags);
	SAME_FIELD(ring_sqe, io_uring_sqe, ioprio, ioprio);
	SAME_FIELD(ring_sqe, io_uring_sqe, fd, fd);
	SAME_FIELD(ring_sqe, io_uring_sqe, off, off);
	SAME_FIELD(ring_sqe, io_uring_sqe, addr, addr);
	SAME_FIELD(ring_sqe, io_uring_sqe, len, len);
	SAME_FIELD(ring_sqe, io_uring_sqe, rw_flags, rw_flags);
	SAME_FIELD(ring_sqe, io_uring_sqe, rw_flags, fsync_flags);
	SAME_FIELD(ring_sqe, io_uring_sqe, user_data, user_data);
	SAME_FIELD(ring_sqe, io_uring_sqe, buf_index, buf_index);
	SAME_FIELD(ring_sqe, io_uring_sqe, personality, personality);
	SAME_FIELD(ring_sqe, io_uring_sqe, splice_fd_in, splice_fd_in);
	SAME_FIELD(ring_sqe, io_uring_sqe, __pad2[0], addr3);
	SAME_FIELD(ring_sqe, io_uring_sqe, __pad2[1], __pad2[0]);

	assert_int_equal(sizeof(struct ring_cqe), sizeof(struct io_uring_cqe));
	SAME_FIELD(ring_cqe, io_uring_cqe, user_data, user_data);
	SAME_FIELD(ring_cqe, io_uring_cqe, res, res);
	SAME_FIELD(ring_cqe, io_uring_cqe, flags, flags);
}

static void test_params(void **state)
{
	assert_int_equal(sizeof(struct ring_params),
			 sizeof(struct io_uring_params));
	SAME_FIELD(ring_params, io_uring_params, sq_entries, sq_entries);
	SAME_FIELD(ring_params, io_uring_params, cq_entries, cq_entries);
	SAME_FIELD(ring_params, io_uring_params, flags, flags);
	SAME_FIELD(ring_params, io_uring_params, sq_thread_cpu, sq_thread_cpu);
	SAME_FIELD(ring_params, io_uring_params, sq_thread_idle, sq_thread_idle);
	SAME_FIELD(ring_params, io_uring_params, features, features);
	SAME_FIELD(ring_params, io_uring_params, wq_fd, wq_fd);
	SAME_FIELD(ring_params, io_uring_params, resv, resv);
	SAME_FIELD(ring_params, io_uring_params, sq_off, sq_off);
	SAME_FIELD(ring_params, io_uring_params, cq_off, cq_off);

	SAME_FIELD(ring_sqring_offsets, io_sqring_offsets, head, head);
	SAME_FIELD(ring_sqring_offsets, io_sqring_offsets, tail, tail);
	SAME_FIELD(ring_sqring_offsets, io_sqring_offsets, ring_mask, ring_mask);
	SAME_FIELD(ring_sqring_offsets, io_sqring_offsets, ring_entries, ring_entries);
	SAME_FIELD(ring_sqring_offsets, io_sqring_offsets, flags, flags);
	SAME_FIELD(ring_sqring_offsets, io_sqring_offsets, dropped, dropped);
	SAME_FIELD(ring_sqring_offsets, io_sqring_offsets, array, array);
	SAME_FIELD(ring_sqring_offsets, io_sqring_offsets, resv1, resv1);
	SAME_FIELD(ring_sqring_offsets, io_sqring_offsets, resv2, resv2);

	SAME_FIELD(ring_cqring_offsets, io_cqring_offsets, head, head);
	SAME_FIELD(ring_cqring_offsets, io_cqring_offsets, tail, tail);
	SAME_FIELD(ring_cqring_offsets, io_cqring_offsets, ring_mask, ring_mask);
	SAME_FIELD(ring_cqring_offsets, io_cqring_offsets, ring_entries, ring_entries);
	SAME_FIELD(ring_cqring_offsets, io_cqring_offsets, overflow, overflow);
	SAME_FIELD(ring_cqring_offsets, io_cqring_offsets, cqes, cqes);
	SAME_FIELD(ring_cqring_offsets, io_cqring_offsets, flags, flags);
	SAME_FIELD(ring_cqring_offsets, io_cqring_offsets, resv1, resv1);
	SAME_FIELD(ring_cqring_offsets, io_cqring_offsets, resv2, resv2);
}

static void test_numbers(void **state)
{
	assert_int_equal(RING_OP_NOP, IORING_OP_NOP);
	assert_int_equal(RING_OP_READV, IORING_OP_READV);
	assert_int_equal(RING_OP_WRITEV, IORING_OP_WRITEV);
	assert_int_equal(RING_OP_FSYNC, IORING_OP_FSYNC);
	assert_int_equal(RING_OP_READ_FIXED, IORING_OP_READ_FIXED);
	assert_int_equal(RING_OP_WRITE_FIXED, IORING_OP_WRITE_FIXED);
	assert_int_equal(RING_OP_READ, IORING_OP_READ);
	assert_int_equal(RING_OP_WRITE, IORING_OP_WRITE);

	assert_int_equal(RING_SETUP_CQSIZE, IORING_SETUP_CQSIZE);
	assert_int_equal(RING_SETUP_CLAMP, IORING_SETUP_CLAMP);
	assert_int_equal(RING_FEAT_SINGLE_MMAP, IORING_FEAT_SINGLE_MMAP);
	assert_int_equal(RING_FEAT_NODROP, IORING_FEAT_NODROP);
	assert_int_equal(RING_FEAT_SUBMIT_STABLE, IORING_FEAT_SUBMIT_STABLE);
	assert_int_equal(RING_SQ_CQ_OVERFLOW, IORING_SQ_CQ_OVERFLOW);
	assert_int_equal(RING_ENTER_GETEVENTS, IORING_ENTER_GETEVENTS);
	assert_int_equal(RING_FSYNC_DATASYNC, IORING_FSYNC_DATASYNC);
	assert_int_equal(RING_OFF_SQ_RING, IORING_OFF_SQ_RING);
	assert_int_equal(RING_OFF_CQ_RING, IORING_OFF_CQ_RING);
	assert_int_equal(RING_OFF_SQES, IORING_OFF_SQES);
	assert_int_equal(RING_REGISTER_BUFFERS, IORING_REGISTER_BUFFERS);
	assert_int_equal(RING_UNREGISTER_BUFFERS, IORING_UNREGISTER_BUFFERS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqe_cqe),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
