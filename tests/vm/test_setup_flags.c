// SPDX-License-Identifier: MIT
/*
 * io_uring's setup flags that ring honours (R_DISABLED with ENABLE_RINGS,
 * SINGLE_ISSUER, DEFER_TASKRUN, COOP_TASKRUN, TASKRUN_FLAG, SUBMIT_ALL),
 * their dependencies, the features ring reports, and REGISTER_PROBE.
 */
#include "vmtest.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

static int setup_flags(unsigned flags, int *fdp)
{
	struct ring_params p = { .sq_entries = 4, .flags = flags };
	int fd = dev_open();
	int ret = raw_setup(fd, &p);

	if (ret || !fdp)
		close(fd);
	else
		*fdp = fd;
	return ret;
}

static void expect_no_rings_left(void)
{
	struct ring_stats want = { 0 }, last;

	if (!stats_wait_equal(&want, settle_ms(), &last))
		fail_msg("rings %ld requests %ld pages %ld left behind",
			 last.rings, last.requests, last.pages);
}

/* Each accepted combination gives a ring that runs NOPs. */
static void test_flags_accepted(void **state)
{
	static const unsigned ok[] = {
		RING_SETUP_SUBMIT_ALL,
		RING_SETUP_COOP_TASKRUN,
		RING_SETUP_COOP_TASKRUN | RING_SETUP_TASKRUN_FLAG,
		RING_SETUP_SINGLE_ISSUER,
		RING_SETUP_SINGLE_ISSUER | RING_SETUP_DEFER_TASKRUN,
		RING_SETUP_SINGLE_ISSUER | RING_SETUP_DEFER_TASKRUN |
			RING_SETUP_TASKRUN_FLAG,
		RING_SETUP_SUBMIT_ALL | RING_SETUP_COOP_TASKRUN |
			RING_SETUP_SINGLE_ISSUER | RING_SETUP_CLAMP,
		RING_SETUP_IOPOLL,
		RING_SETUP_IOPOLL | RING_SETUP_SINGLE_ISSUER |
			RING_SETUP_DEFER_TASKRUN,
	};
	unsigned i;

	require_ring();
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct ring_params p = { .flags = ok[i] };
		struct raw_ring r;

		raw_ring_init(&r, 8, &p);
		raw_submit_nops(&r, 4, 100);
		expect_ret(raw_enter(r.fd, 0, 4, RING_ENTER_GETEVENTS), 0);
		assert_int_equal(raw_cq_ready(&r), 4);
		/* No deferred completion work, so no TASKRUN flag, ever. */
		assert_int_equal(raw_sq_flags(&r), 0);
		raw_ring_exit(&r);
	}
	expect_no_rings_left();
}

/* io_uring's dependencies, and the flags ring does not implement. */
static void test_flags_refused(void **state)
{
	static const unsigned bad[] = {
		RING_SETUP_TASKRUN_FLAG,
		RING_SETUP_DEFER_TASKRUN,
		RING_SETUP_DEFER_TASKRUN | RING_SETUP_TASKRUN_FLAG,
		RING_SETUP_DEFER_TASKRUN | RING_SETUP_COOP_TASKRUN,
		RING_SETUP_SQ_AFF,	/* without SQPOLL */
		1U << 5,	/* ATTACH_WQ */
		1U << 10,	/* SQE128 */
		1U << 11,	/* CQE32 */
		1U << 14,	/* NO_MMAP */
		1U << 15,	/* REGISTERED_FD_ONLY */
		1U << 16,	/* NO_SQARRAY */
	};
	unsigned i;

	require_ring();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_ret_msg(setup_flags(bad[i], NULL), -EINVAL,
			       "flags 0x%x", bad[i]);
	expect_no_rings_left();
}

/* Exactly the features ring can stand behind. */
static void test_features(void **state)
{
	const unsigned need = RING_FEAT_SINGLE_MMAP | RING_FEAT_NODROP |
			      RING_FEAT_SUBMIT_STABLE | RING_FEAT_RW_CUR_POS |
			      RING_FEAT_CUR_PERSONALITY | RING_FEAT_EXT_ARG |
			      RING_FEAT_RSRC_TAGS | RING_FEAT_CQE_SKIP;
	struct ring_params p = { .sq_entries = 4 };
	int fd = dev_open();

	expect_ret(raw_setup(fd, &p), 0);
	if (p.features != need)
		fail_msg("features 0x%x, want 0x%x", p.features, need);
	close(fd);
}

/* A disabled ring takes REGISTER and mmap, but no ENTER until enabled. */
static void test_r_disabled(void **state)
{
	struct ring_params p = { .flags = RING_SETUP_R_DISABLED };
	struct ring_enter_arg ea = { .flags = RING_ENTER_GETEVENTS };
	struct raw_ring r;
	struct iovec iov;
	void *buf;

	require_ring();
	raw_ring_init(&r, 4, &p);
	expect_ret(raw_enter(r.fd, 0, 0, 0), -EBADFD);
	expect_ret(raw_enter(r.fd, 1, 1, RING_ENTER_GETEVENTS), -EBADFD);
	expect_ret(raw_ioctl(r.fd, RING_IOC_ENTER_ARG, &ea), -EBADFD);
	/* A queued SQE is not consumed by a refused ENTER. */
	raw_prep_nop(raw_get_sqe(&r), 7);
	raw_flush_sq(&r);
	expect_ret(raw_enter(r.fd, 1, 0, 0), -EBADFD);
	assert_int_equal(*r.sq_head, 0);

	buf = aligned_alloc(4096, 4096);
	assert_non_null(buf);
	iov.iov_base = buf;
	iov.iov_len = 4096;
	expect_ret(raw_register(r.fd, RING_REGISTER_BUFFERS, 1,
				(uintptr_t)&iov), 0);

	expect_ret(raw_register(r.fd, RING_REGISTER_ENABLE_RINGS, 1, 0),
		   -EINVAL);
	expect_ret(raw_register(r.fd, RING_REGISTER_ENABLE_RINGS, 0,
				(uintptr_t)&iov), -EINVAL);
	expect_ret(raw_register(r.fd, RING_REGISTER_ENABLE_RINGS, 0, 0), 0);
	expect_ret(raw_register(r.fd, RING_REGISTER_ENABLE_RINGS, 0, 0),
		   -EBADFD);
	expect_ret(raw_enter(r.fd, 1, 1, RING_ENTER_GETEVENTS), 1);
	assert_int_equal(raw_cq_ready(&r), 1);
	raw_ring_exit(&r);
	free(buf);

	/* A ring set up enabled cannot be enabled again. */
	raw_ring_init(&r, 4, NULL);
	expect_ret(raw_register(r.fd, RING_REGISTER_ENABLE_RINGS, 0, 0),
		   -EBADFD);
	raw_ring_exit(&r);
	expect_no_rings_left();
}

struct other_thread {
	int fd;
	unsigned to_submit, min_complete, flags;
	bool enable;		/* ENABLE_RINGS instead of ENTER */
	int ret;
};

static void *other_fn(void *arg)
{
	struct other_thread *o = arg;

	if (o->enable)
		o->ret = raw_register(o->fd, RING_REGISTER_ENABLE_RINGS, 0, 0);
	else
		o->ret = raw_enter(o->fd, o->to_submit, o->min_complete,
				   o->flags);
	return NULL;
}

static int in_other_thread(struct other_thread *o)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, other_fn, o), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	return o->ret;
}

/*
 * SINGLE_ISSUER: submissions only from the thread that set the ring up
 * (-EEXIST elsewhere); waiting is open to all unless DEFER_TASKRUN.
 */
static void test_single_issuer(void **state)
{
	static const unsigned flags[] = {
		RING_SETUP_SINGLE_ISSUER,
		RING_SETUP_SINGLE_ISSUER | RING_SETUP_DEFER_TASKRUN,
	};
	unsigned i;

	require_ring();
	for (i = 0; i < 2; i++) {
		struct ring_params p = { .flags = flags[i] };
		bool defer = flags[i] & RING_SETUP_DEFER_TASKRUN;
		struct other_thread o;
		struct raw_ring r;

		raw_ring_init(&r, 4, &p);
		raw_prep_nop(raw_get_sqe(&r), 1);
		raw_flush_sq(&r);
		o = (struct other_thread){ .fd = r.fd, .to_submit = 1 };
		expect_ret(in_other_thread(&o), -EEXIST);
		assert_int_equal(*r.sq_head, 0);
		/* Neither submitting nor waiting: allowed anywhere. */
		o = (struct other_thread){ .fd = r.fd };
		expect_ret(in_other_thread(&o), 0);
		expect_ret(raw_enter(r.fd, 1, 0, 0), 1);
		o = (struct other_thread){ .fd = r.fd, .min_complete = 1,
					   .flags = RING_ENTER_GETEVENTS };
		expect_ret_msg(in_other_thread(&o), defer ? -EEXIST : 0,
			       "GETEVENTS from another thread, flags 0x%x",
			       flags[i]);
		expect_ret(raw_enter(r.fd, 0, 1, RING_ENTER_GETEVENTS), 0);
		raw_ring_exit(&r);
	}

	/* Disabled at setup: whoever enables the ring is its issuer. */
	{
		struct ring_params p = { .flags = RING_SETUP_SINGLE_ISSUER |
						  RING_SETUP_R_DISABLED };
		struct other_thread o;
		struct raw_ring r;

		raw_ring_init(&r, 4, &p);
		o = (struct other_thread){ .fd = r.fd, .enable = true };
		expect_ret(in_other_thread(&o), 0);
		raw_prep_nop(raw_get_sqe(&r), 2);
		raw_flush_sq(&r);
		expect_ret(raw_enter(r.fd, 1, 0, 0), -EEXIST);
		raw_ring_exit(&r);
	}
	expect_no_rings_left();
}

static bool op_supported(unsigned op)
{
	static const unsigned ops[] = {
		RING_OP_NOP, RING_OP_READV, RING_OP_WRITEV, RING_OP_FSYNC,
		RING_OP_READ_FIXED, RING_OP_WRITE_FIXED, RING_OP_READ,
		RING_OP_WRITE,
	};
	unsigned i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i] == op)
			return true;
	return false;
}

/* REGISTER_PROBE: io_uring's structure, the opcodes this module runs. */
static void test_probe(void **state)
{
	const size_t n = 256;
	size_t size = sizeof(struct ring_probe) + n * sizeof(struct ring_probe_op);
	struct ring_probe *p = calloc(1, size);
	struct raw_ring r;
	unsigned i;

	require_ring();
	assert_non_null(p);
	raw_ring_init(&r, 4, NULL);

	/* More entries than opcodes: clamped to what the module knows. */
	expect_ret(raw_register(r.fd, RING_REGISTER_PROBE, n, (uintptr_t)p), 0);
	assert_true(p->last_op >= RING_OP_WRITE);
	assert_int_equal(p->ops_len, p->last_op + 1);
	for (i = 0; i < p->ops_len; i++) {
		assert_int_equal(p->ops[i].op, i);
		assert_int_equal(!!(p->ops[i].flags & RING_OP_SUPPORTED),
				 op_supported(i));
	}
	for (; i < n; i++)
		assert_int_equal(p->ops[i].flags, 0);

	/* Fewer: only those are written. */
	memset(p, 0, size);
	memset(&p->ops[3], 0xa5, sizeof(p->ops[3]));
	expect_ret(raw_register(r.fd, RING_REGISTER_PROBE, 3, (uintptr_t)p), 0);
	assert_int_equal(p->ops_len, 3);
	assert_int_equal(p->ops[2].flags, RING_OP_SUPPORTED);
	assert_int_equal(p->ops[3].op, 0xa5);

	/* Zero entries: the header only. */
	memset(p, 0, size);
	expect_ret(raw_register(r.fd, RING_REGISTER_PROBE, 0, (uintptr_t)p), 0);
	assert_int_equal(p->ops_len, 0);
	assert_true(p->last_op >= RING_OP_WRITE);

	/* The array must arrive zeroed, as io_uring demands. */
	memset(p, 0, size);
	p->resv2[1] = 1;
	expect_ret(raw_register(r.fd, RING_REGISTER_PROBE, 4, (uintptr_t)p),
		   -EINVAL);
	memset(p, 0, size);
	p->ops[1].resv2 = 1;
	expect_ret(raw_register(r.fd, RING_REGISTER_PROBE, 4, (uintptr_t)p),
		   -EINVAL);
	expect_ret(raw_register(r.fd, RING_REGISTER_PROBE, 4, 8), -EFAULT);

	/* A read-only array: the copy back fails, nothing else happens. */
	{
		void *ro = mmap(NULL, 4096, PROT_READ,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		assert_true(ro != MAP_FAILED);
		expect_ret(raw_register(r.fd, RING_REGISTER_PROBE, 4,
					(uintptr_t)ro), -EFAULT);
		munmap(ro, 4096);
	}
	raw_ring_exit(&r);
	free(p);
	expect_no_rings_left();
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_flags_accepted),
	cmocka_unit_test(test_flags_refused),
	cmocka_unit_test(test_features),
	cmocka_unit_test(test_r_disabled),
	cmocka_unit_test(test_single_issuer),
	cmocka_unit_test(test_probe),
};

VMTEST_MAIN(tests)
