// SPDX-License-Identifier: MIT
/*
 * ring_queue_init(_params) and ring_queue_exit against the fake kernel: what is opened
 * and mapped, the pointers computed from the offsets, and that every
 * failure returns the exact -errno and leaves nothing open or mapped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <libring.h>
#include "fake_kernel.h"

static void assert_nothing_left(void)
{
	assert_int_equal(fk_live_objects(), 0);
	assert_int_equal(fk_live_maps(), 0);
	assert_int_equal(fk_stats.opens, fk_stats.closes);
	assert_int_equal(fk_stats.bad_unmaps, 0);
}

static void test_init_exit(void **state)
{
	struct ring ring;
	char *base;

	assert_int_equal(ring_queue_init(8, &ring, 0), 0);
	assert_string_equal(fk_stats.last_open_path, "/dev/ring");
	assert_int_equal(fk_stats.last_open_flags, O_RDWR | O_CLOEXEC);
	assert_int_equal(fk_stats.setups, 1);
	/* SINGLE_MMAP: the SQ ring mapping serves the CQ ring too. */
	assert_int_equal(fk_stats.maps, 2);
	assert_int_equal(fk_stats.last_mmap_prot, PROT_READ | PROT_WRITE);
	assert_int_equal(fk_stats.last_mmap_flags, MAP_SHARED | MAP_POPULATE);
	assert_ptr_equal(ring.cq.ring_ptr, ring.sq.ring_ptr);
	assert_true(ring.features & RING_FEAT_SINGLE_MMAP);
	assert_int_equal(ring.flags, 0);

	assert_int_equal(ring.sq.ring_entries, 8);
	assert_int_equal(ring.sq.ring_mask, 7);
	assert_int_equal(ring.cq.ring_entries, 16);
	assert_int_equal(ring.cq.ring_mask, 15);

	const struct ring_params *p = fk_params(ring.ring_fd);

	assert_non_null(p);
	base = ring.sq.ring_ptr;
	assert_ptr_equal(ring.sq.khead, base + p->sq_off.head);
	assert_ptr_equal(ring.sq.ktail, base + p->sq_off.tail);
	assert_ptr_equal(ring.sq.kflags, base + p->sq_off.flags);
	assert_ptr_equal(ring.sq.kdropped, base + p->sq_off.dropped);
	assert_ptr_equal(ring.sq.array, base + p->sq_off.array);
	assert_ptr_equal(ring.cq.khead, base + p->cq_off.head);
	assert_ptr_equal(ring.cq.ktail, base + p->cq_off.tail);
	assert_ptr_equal(ring.cq.koverflow, base + p->cq_off.overflow);
	assert_ptr_equal(ring.cq.kflags, base + p->cq_off.flags);
	assert_ptr_equal(ring.cq.cqes, base + p->cq_off.cqes);
	/* Mapped length covers both rings, as liburing computes it. */
	assert_int_equal(ring.sq.ring_sz, p->sq_off.array + 8 * 4);
	assert_int_equal(ring.cq.ring_sz, ring.sq.ring_sz);

	ring_queue_exit(&ring);
	assert_int_equal(ring.ring_fd, -1);
	assert_nothing_left();
}

static void test_separate_cq_mapping(void **state)
{
	struct ring ring;
	const struct ring_params *p;

	fk_cfg.no_single_mmap = true;
	assert_int_equal(ring_queue_init(4, &ring, 0), 0);
	assert_int_equal(fk_stats.maps, 3);
	assert_ptr_not_equal(ring.cq.ring_ptr, ring.sq.ring_ptr);
	p = fk_params(ring.ring_fd);
	assert_int_equal(ring.sq.ring_sz, p->sq_off.array + 4 * 4);
	assert_int_equal(ring.cq.ring_sz, p->cq_off.cqes + 8 * 16);
	assert_ptr_equal(ring.cq.cqes,
			 (char *)ring.cq.ring_ptr + p->cq_off.cqes);
	assert_ptr_equal(ring.cq.ktail,
			 (char *)ring.cq.ring_ptr + p->cq_off.tail);
	assert_ptr_equal(ring.sq.ktail,
			 (char *)ring.sq.ring_ptr + p->sq_off.tail);

	/* The two mappings really are used for their own ring. */
	struct ring_sqe *sqe = ring_get_sqe(&ring);
	struct ring_cqe *cqe;

	ring_prep_nop(sqe);
	ring_sqe_set_data64(sqe, 77);
	assert_int_equal(ring_submit(&ring), 1);
	assert_int_equal(ring_peek_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->user_data, 77);
	ring_cqe_seen(&ring, cqe);

	ring_queue_exit(&ring);
	assert_int_equal(fk_stats.unmaps, 3);
	assert_nothing_left();
}

static void test_params_in_out(void **state)
{
	struct ring_params p;
	struct ring ring;

	memset(&p, 0, sizeof(p));
	p.flags = RING_SETUP_CQSIZE;
	p.cq_entries = 100;
	assert_int_equal(ring_queue_init_params(5, &ring, &p), 0);
	assert_int_equal(p.sq_entries, 8);
	assert_int_equal(p.cq_entries, 128);
	assert_int_equal(ring.cq.ring_entries, 128);
	assert_int_equal(ring.flags, RING_SETUP_CQSIZE);
	assert_int_equal(p.features, ring.features);
	assert_int_not_equal(p.sq_off.array, 0);
	ring_queue_exit(&ring);

	memset(&p, 0, sizeof(p));
	p.flags = RING_SETUP_CLAMP;
	assert_int_equal(ring_queue_init_params(RING_MAX_ENTRIES + 1, &ring,
						&p), 0);
	assert_int_equal(ring.sq.ring_entries, RING_MAX_ENTRIES);
	ring_queue_exit(&ring);
	assert_nothing_left();
}

static void test_ring_dev_env(void **state)
{
	struct ring ring;

	setenv("RING_DEV", "/tmp/other-ring", 1);
	assert_int_equal(ring_queue_init(1, &ring, 0), 0);
	assert_string_equal(fk_stats.last_open_path, "/tmp/other-ring");
	ring_queue_exit(&ring);

	/* An empty value is no override. */
	setenv("RING_DEV", "", 1);
	assert_int_equal(ring_queue_init(1, &ring, 0), 0);
	assert_string_equal(fk_stats.last_open_path, "/dev/ring");
	ring_queue_exit(&ring);
	unsetenv("RING_DEV");
	assert_nothing_left();
}

static void test_open_fails(void **state)
{
	struct ring ring;

	fk_cfg.open_errno = ENOENT;
	assert_int_equal(ring_queue_init(8, &ring, 0), -ENOENT);
	fk_cfg.open_errno = EACCES;
	assert_int_equal(ring_queue_init(8, &ring, 0), -EACCES);
	assert_int_equal(fk_stats.opens, 2);
	assert_int_equal(fk_stats.closes, 0);
	assert_int_equal(fk_stats.setups, 0);
	assert_int_equal(fk_stats.maps, 0);
	assert_int_equal(fk_live_objects(), 0);
}

static void expect_params_error(unsigned entries, struct ring_params *p,
				int err)
{
	unsigned maps = fk_stats.maps;
	struct ring ring;

	assert_int_equal(ring_queue_init_params(entries, &ring, p), err);
	assert_int_equal(fk_stats.maps, maps);
	assert_nothing_left();
}

static void expect_setup_error(unsigned entries, unsigned flags,
			       unsigned cq_entries, int err)
{
	struct ring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	p.cq_entries = cq_entries;
	expect_params_error(entries, &p, err);
}

static void test_setup_rejected(void **state)
{
	expect_setup_error(0, 0, 0, -EINVAL);
	expect_setup_error(RING_MAX_ENTRIES + 1, 0, 0, -EINVAL);
	expect_setup_error(8, RING_SETUP_SQ_AFF, 0, -EINVAL); /* no SQPOLL */
	expect_setup_error(8, RING_SETUP_CQSIZE, 0, -EINVAL);
	expect_setup_error(8, RING_SETUP_CQSIZE, 4, -EINVAL);
	expect_setup_error(8, RING_SETUP_CQSIZE, RING_MAX_CQ_ENTRIES + 1,
			   -EINVAL);
	fk_cfg.setup_errno = ENOMEM;
	expect_setup_error(8, 0, 0, -ENOMEM);
	assert_int_equal(fk_stats.opens, 7);
	assert_int_equal(fk_stats.setups, 0);
}

/*
 * SQPOLL's parameters reach the kernel as given and the ring remembers the
 * flag (submission depends on it); the kernel's refusals come back as they
 * are, with nothing left open.
 */
static void test_setup_sqpoll(void **state)
{
	struct ring_params p;
	struct ring ring;

	memset(&p, 0, sizeof(p));
	p.flags = RING_SETUP_SQPOLL | RING_SETUP_SQ_AFF;
	p.sq_thread_idle = 50;
	p.sq_thread_cpu = 1;
	assert_int_equal(ring_queue_init_params(8, &ring, &p), 0);
	assert_int_equal(ring.flags, RING_SETUP_SQPOLL | RING_SETUP_SQ_AFF);
	assert_int_equal(fk_params(ring.ring_fd)->sq_thread_idle, 50);
	assert_int_equal(fk_params(ring.ring_fd)->sq_thread_cpu, 1);
	ring_queue_exit(&ring);

	memset(&p, 0, sizeof(p));
	p.sq_thread_idle = 50;		/* without SQPOLL */
	expect_params_error(8, &p, -EINVAL);
	p.flags = RING_SETUP_SQPOLL;
	p.sq_thread_cpu = 1;		/* without SQ_AFF */
	expect_params_error(8, &p, -EINVAL);
	assert_int_equal(fk_stats.setups, 1);
}

static void expect_mmap_failure(bool single, int nth, int err)
{
	struct ring ring;

	fk_reset();
	fk_cfg.no_single_mmap = !single;
	fk_cfg.mmap_fail_nth = nth;
	fk_cfg.mmap_errno = err;
	assert_int_equal(ring_queue_init(16, &ring, 0), -err);
	assert_int_equal(fk_stats.maps, nth);
	assert_int_equal(fk_stats.unmaps, nth - 1);
	assert_int_equal(fk_stats.closes, 1);
	assert_nothing_left();
}

static void test_mmap_fails(void **state)
{
	expect_mmap_failure(true, 1, ENOMEM);
	expect_mmap_failure(true, 2, EAGAIN);
	expect_mmap_failure(false, 1, ENOMEM);
	expect_mmap_failure(false, 2, EPERM);
	expect_mmap_failure(false, 3, ENODEV);
}

static void test_two_rings(void **state)
{
	struct ring a, b;
	struct ring_cqe *cqe;

	assert_int_equal(ring_queue_init(2, &a, 0), 0);
	assert_int_equal(ring_queue_init(4, &b, 0), 0);
	assert_int_not_equal(a.ring_fd, b.ring_fd);
	ring_prep_nop(ring_get_sqe(&b));
	assert_int_equal(ring_submit(&b), 1);
	assert_int_equal(ring_peek_cqe(&a, &cqe), -EAGAIN);
	assert_int_equal(ring_peek_cqe(&b, &cqe), 0);
	ring_cqe_seen(&b, cqe);
	ring_queue_exit(&a);
	ring_queue_exit(&b);
	assert_nothing_left();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FK_TEST(test_init_exit),
		FK_TEST(test_separate_cq_mapping),
		FK_TEST(test_params_in_out),
		FK_TEST(test_ring_dev_env),
		FK_TEST(test_open_fails),
		FK_TEST(test_setup_rejected),
		FK_TEST(test_setup_sqpoll),
		FK_TEST(test_mmap_fails),
		FK_TEST(test_two_rings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
