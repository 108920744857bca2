// SPDX-License-Identifier: MIT
/*
 * The drop-in liburing.so.2 (lib/compat) shares memory with applications
 * compiled against liburing-dev: struct io_uring, which their inline
 * helpers read and write, and every structure and number they hand to the
 * library.  Pin each field offset, size and constant of the drop-in's
 * definitions against the installed <liburing.h> (Debian's liburing 2.3);
 * SKIP, saying so, where liburing-dev is not installed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "uring.h"

#if __has_include(<liburing.h>)
#include <liburing.h>
#define HAVE_LIBURING 1
#endif

#ifdef HAVE_LIBURING

/* Field f of our struct o at the offset and size of field g of theirs. */
#define PIN(o, t, f, g) do {						\
	assert_int_equal(offsetof(struct o, f), offsetof(struct t, g));	\
	assert_int_equal(sizeof(((struct o *)0)->f),			\
			 sizeof(((struct t *)0)->g));			\
} while (0)
#define PIN_SIZE(o, t)	assert_int_equal(sizeof(struct o), sizeof(struct t))

static void test_io_uring(void **state)
{
	PIN_SIZE(ring, io_uring);
	PIN(ring, io_uring, sq, sq);
	PIN(ring, io_uring, cq, cq);
	PIN(ring, io_uring, flags, flags);
	PIN(ring, io_uring, ring_fd, ring_fd);
	PIN(ring, io_uring, features, features);
	PIN(ring, io_uring, enter_ring_fd, enter_ring_fd);
	PIN(ring, io_uring, int_flags, int_flags);
	PIN(ring, io_uring, pad, pad);
	PIN(ring, io_uring, pad2, pad2);
}

static void test_io_uring_sq(void **state)
{
	PIN_SIZE(ring_sq, io_uring_sq);
	PIN(ring_sq, io_uring_sq, khead, khead);
	PIN(ring_sq, io_uring_sq, ktail, ktail);
	PIN(ring_sq, io_uring_sq, kring_mask, kring_mask);
	PIN(ring_sq, io_uring_sq, kring_entries, kring_entries);
	PIN(ring_sq, io_uring_sq, kflags, kflags);
	PIN(ring_sq, io_uring_sq, kdropped, kdropped);
	PIN(ring_sq, io_uring_sq, array, array);
	PIN(ring_sq, io_uring_sq, sqes, sqes);
	PIN(ring_sq, io_uring_sq, sqe_head, sqe_head);
	PIN(ring_sq, io_uring_sq, sqe_tail, sqe_tail);
	PIN(ring_sq, io_uring_sq, ring_sz, ring_sz);
	PIN(ring_sq, io_uring_sq, ring_ptr, ring_ptr);
	PIN(ring_sq, io_uring_sq, ring_mask, ring_mask);
	PIN(ring_sq, io_uring_sq, ring_entries, ring_entries);
	PIN(ring_sq, io_uring_sq, pad, pad);
}

static void test_io_uring_cq(void **state)
{
	PIN_SIZE(ring_cq, io_uring_cq);
	PIN(ring_cq, io_uring_cq, khead, khead);
	PIN(ring_cq, io_uring_cq, ktail, ktail);
	PIN(ring_cq, io_uring_cq, kring_mask, kring_mask);
	PIN(ring_cq, io_uring_cq, kring_entries, kring_entries);
	PIN(ring_cq, io_uring_cq, kflags, kflags);
	PIN(ring_cq, io_uring_cq, koverflow, koverflow);
	PIN(ring_cq, io_uring_cq, cqes, cqes);
	PIN(ring_cq, io_uring_cq, ring_sz, ring_sz);
	PIN(ring_cq, io_uring_cq, ring_ptr, ring_ptr);
	PIN(ring_cq, io_uring_cq, ring_mask, ring_mask);
	PIN(ring_cq, io_uring_cq, ring_entries, ring_entries);
	PIN(ring_cq, io_uring_cq, pad, pad);
}

/* The structures the library's functions take or fill. */
static void test_arguments(void **state)
{
	PIN_SIZE(ring_params, io_uring_params);
	PIN(ring_params, io_uring_params, sq_entries, sq_entries);
	PIN(ring_params, io_uring_params, cq_entries, cq_entries);
	PIN(ring_params, io_uring_params, flags, flags);
	PIN(ring_params, io_uring_params, sq_thread_cpu, sq_thread_cpu);
	PIN(ring_params, io_uring_params, sq_thread_idle, sq_thread_idle);
	PIN(ring_params, io_uring_params, features, features);
	PIN(ring_params, io_uring_params, wq_fd, wq_fd);
	PIN(ring_params, io_uring_params, resv, resv);
	PIN(ring_params, io_uring_params, sq_off, sq_off);
	PIN(ring_params, io_uring_params, cq_off, cq_off);

	PIN_SIZE(ring_probe, io_uring_probe);
	PIN(ring_probe, io_uring_probe, last_op, last_op);
	PIN(ring_probe, io_uring_probe, ops_len, ops_len);
	PIN(ring_probe, io_uring_probe, resv, resv);
	PIN(ring_probe, io_uring_probe, resv2, resv2);
	/* A flexible array: its offset only. */
	assert_int_equal(offsetof(struct ring_probe, ops),
			 offsetof(struct io_uring_probe, ops));
	PIN_SIZE(ring_probe_op, io_uring_probe_op);
	PIN(ring_probe_op, io_uring_probe_op, op, op);
	PIN(ring_probe_op, io_uring_probe_op, flags, flags);
	assert_int_equal(RING_OP_SUPPORTED, IO_URING_OP_SUPPORTED);

	PIN_SIZE(lu_rsrc_update, io_uring_rsrc_update);
	PIN(lu_rsrc_update, io_uring_rsrc_update, offset, offset);
	PIN(lu_rsrc_update, io_uring_rsrc_update, resv, resv);
	PIN(lu_rsrc_update, io_uring_rsrc_update, data, data);

	PIN_SIZE(ring_rsrc_register, io_uring_rsrc_register);
	PIN(ring_rsrc_register, io_uring_rsrc_register, nr, nr);
	PIN(ring_rsrc_register, io_uring_rsrc_register, flags, flags);
	PIN(ring_rsrc_register, io_uring_rsrc_register, data, data);
	PIN(ring_rsrc_register, io_uring_rsrc_register, tags, tags);
	assert_int_equal(RING_RSRC_REGISTER_SPARSE,
			 IORING_RSRC_REGISTER_SPARSE);

	PIN_SIZE(ring_rsrc_update2, io_uring_rsrc_update2);
	PIN(ring_rsrc_update2, io_uring_rsrc_update2, offset, offset);
	PIN(ring_rsrc_update2, io_uring_rsrc_update2, data, data);
	PIN(ring_rsrc_update2, io_uring_rsrc_update2, tags, tags);
	PIN(ring_rsrc_update2, io_uring_rsrc_update2, nr, nr);

	PIN_SIZE(ring_getevents_arg, io_uring_getevents_arg);
	PIN(ring_getevents_arg, io_uring_getevents_arg, sigmask, sigmask);
	PIN(ring_getevents_arg, io_uring_getevents_arg, sigmask_sz, sigmask_sz);
	PIN(ring_getevents_arg, io_uring_getevents_arg, ts, ts);

	PIN_SIZE(lu_buf_reg, io_uring_buf_reg);
	PIN(lu_buf_reg, io_uring_buf_reg, bgid, bgid);
	PIN_SIZE(lu_file_index_range, io_uring_file_index_range);
	PIN(lu_file_index_range, io_uring_file_index_range, off, off);
	PIN(lu_file_index_range, io_uring_file_index_range, len, len);

	/* liburing sizes the signal mask as _NSIG / 8. */
	assert_int_equal(LU_SIGSET_SIZE, _NSIG / 8);
}

static void test_constants(void **state)
{
	assert_int_equal(LU_SETUP_IOPOLL, IORING_SETUP_IOPOLL);
	assert_int_equal(LU_SETUP_SQPOLL, IORING_SETUP_SQPOLL);
	assert_int_equal(RING_SETUP_SQPOLL, IORING_SETUP_SQPOLL);
	assert_int_equal(RING_SETUP_SQ_AFF, IORING_SETUP_SQ_AFF);
	assert_int_equal(LU_SETUP_ATTACH_WQ, IORING_SETUP_ATTACH_WQ);
	assert_int_equal(LU_SQ_NEED_WAKEUP, IORING_SQ_NEED_WAKEUP);
	assert_int_equal(RING_SQ_NEED_WAKEUP, IORING_SQ_NEED_WAKEUP);
	assert_int_equal(LU_SQ_TASKRUN, IORING_SQ_TASKRUN);
	assert_int_equal(RING_SQ_CQ_OVERFLOW, IORING_SQ_CQ_OVERFLOW);
	assert_int_equal(RING_ENTER_GETEVENTS, IORING_ENTER_GETEVENTS);
	assert_int_equal(RING_ENTER_SQ_WAIT, IORING_ENTER_SQ_WAIT);
	assert_int_equal(RING_ENTER_SQ_WAKEUP, IORING_ENTER_SQ_WAKEUP);
	assert_int_equal(RING_ENTER_EXT_ARG, IORING_ENTER_EXT_ARG);
	assert_int_equal(LU_ENTER_REGISTERED_RING,
			 IORING_ENTER_REGISTERED_RING);
	assert_int_equal(RING_FEAT_SINGLE_MMAP, IORING_FEAT_SINGLE_MMAP);
	assert_int_equal(RING_FEAT_EXT_ARG, IORING_FEAT_EXT_ARG);
	assert_int_equal(RING_OFF_SQ_RING, IORING_OFF_SQ_RING);
	assert_int_equal(RING_OFF_CQ_RING, IORING_OFF_CQ_RING);
	assert_int_equal(RING_OFF_SQES, IORING_OFF_SQES);

	assert_int_equal(LU_REGISTER_BUFFERS, IORING_REGISTER_BUFFERS);
	assert_int_equal(LU_UNREGISTER_BUFFERS, IORING_UNREGISTER_BUFFERS);
	assert_int_equal(LU_REGISTER_FILES, IORING_REGISTER_FILES);
	assert_int_equal(LU_UNREGISTER_FILES, IORING_UNREGISTER_FILES);
	assert_int_equal(LU_REGISTER_EVENTFD, IORING_REGISTER_EVENTFD);
	assert_int_equal(LU_UNREGISTER_EVENTFD, IORING_UNREGISTER_EVENTFD);
	assert_int_equal(LU_REGISTER_FILES_UPDATE,
			 IORING_REGISTER_FILES_UPDATE);
	assert_int_equal(LU_REGISTER_EVENTFD_ASYNC,
			 IORING_REGISTER_EVENTFD_ASYNC);
	assert_int_equal(LU_REGISTER_PROBE, IORING_REGISTER_PROBE);
	assert_int_equal(LU_REGISTER_PERSONALITY, IORING_REGISTER_PERSONALITY);
	assert_int_equal(LU_UNREGISTER_PERSONALITY,
			 IORING_UNREGISTER_PERSONALITY);
	assert_int_equal(LU_REGISTER_RESTRICTIONS,
			 IORING_REGISTER_RESTRICTIONS);
	assert_int_equal(LU_REGISTER_ENABLE_RINGS,
			 IORING_REGISTER_ENABLE_RINGS);
	assert_int_equal(LU_REGISTER_FILES2, IORING_REGISTER_FILES2);
	assert_int_equal(LU_REGISTER_FILES_UPDATE2,
			 IORING_REGISTER_FILES_UPDATE2);
	assert_int_equal(LU_REGISTER_BUFFERS2, IORING_REGISTER_BUFFERS2);
	assert_int_equal(LU_REGISTER_BUFFERS_UPDATE,
			 IORING_REGISTER_BUFFERS_UPDATE);
	assert_int_equal(LU_REGISTER_IOWQ_AFF, IORING_REGISTER_IOWQ_AFF);
	assert_int_equal(LU_UNREGISTER_IOWQ_AFF, IORING_UNREGISTER_IOWQ_AFF);
	assert_int_equal(LU_REGISTER_IOWQ_MAX_WORKERS,
			 IORING_REGISTER_IOWQ_MAX_WORKERS);
	assert_int_equal(LU_REGISTER_RING_FDS, IORING_REGISTER_RING_FDS);
	assert_int_equal(LU_UNREGISTER_RING_FDS, IORING_UNREGISTER_RING_FDS);
	assert_int_equal(LU_REGISTER_PBUF_RING, IORING_REGISTER_PBUF_RING);
	assert_int_equal(LU_UNREGISTER_PBUF_RING,
			 IORING_UNREGISTER_PBUF_RING);
	assert_int_equal(LU_REGISTER_SYNC_CANCEL, IORING_REGISTER_SYNC_CANCEL);
	assert_int_equal(LU_REGISTER_FILE_ALLOC_RANGE,
			 IORING_REGISTER_FILE_ALLOC_RANGE);
	assert_int_equal(LU_REGISTER_LAST, IORING_REGISTER_LAST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_uring),
		cmocka_unit_test(test_io_uring_sq),
		cmocka_unit_test(test_io_uring_cq),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_constants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* !HAVE_LIBURING */

static void test_layout(void **state)
{
	print_message("SKIP: <liburing.h> not installed (liburing-dev): "
		      "nothing to pin the drop-in's layout against\n");
	skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
