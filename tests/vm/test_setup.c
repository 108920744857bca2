// SPDX-License-Identifier: MIT
/*
 * RING_IOC_SETUP: layout equal to io_uring's, every invalid parameter gives
 * its errno, valid parameters give the documented entries, features and
 * offsets; ENTER/REGISTER/mmap before SETUP and bad ENTER/REGISTER
 * arguments are rejected.
 */
#include "vmtest.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/io_uring.h>

/* Sizes are pinned in ring.h; the offsets and values are pinned here. */
#define SAME_OFFSET(a, b, f)						\
	_Static_assert(offsetof(struct a, f) == offsetof(struct b, f),	\
		       #a "." #f " is at io_uring's offset")
SAME_OFFSET(ring_sqe, io_uring_sqe, opcode);
SAME_OFFSET(ring_sqe, io_uring_sqe, flags);
SAME_OFFSET(ring_sqe, io_uring_sqe, ioprio);
SAME_OFFSET(ring_sqe, io_uring_sqe, fd);
SAME_OFFSET(ring_sqe, io_uring_sqe, off);
SAME_OFFSET(ring_sqe, io_uring_sqe, addr);
SAME_OFFSET(ring_sqe, io_uring_sqe, len);
SAME_OFFSET(ring_sqe, io_uring_sqe, rw_flags);
SAME_OFFSET(ring_sqe, io_uring_sqe, user_data);
SAME_OFFSET(ring_sqe, io_uring_sqe, buf_index);
SAME_OFFSET(ring_sqe, io_uring_sqe, personality);
SAME_OFFSET(ring_sqe, io_uring_sqe, splice_fd_in);
_Static_assert(offsetof(struct ring_sqe, __pad2) ==
	       offsetof(struct io_uring_sqe, addr3), "ring_sqe.__pad2");
_Static_assert(sizeof(struct ring_sqe) == sizeof(struct io_uring_sqe),
	       "ring_sqe size");
SAME_OFFSET(ring_cqe, io_uring_cqe, user_data);
SAME_OFFSET(ring_cqe, io_uring_cqe, res);
SAME_OFFSET(ring_cqe, io_uring_cqe, flags);
_Static_assert(sizeof(struct ring_cqe) == sizeof(struct io_uring_cqe),
	       "ring_cqe size");
SAME_OFFSET(ring_sqring_offsets, io_sqring_offsets, head);
SAME_OFFSET(ring_sqring_offsets, io_sqring_offsets, tail);
SAME_OFFSET(ring_sqring_offsets, io_sqring_offsets, ring_mask);
SAME_OFFSET(ring_sqring_offsets, io_sqring_offsets, ring_entries);
SAME_OFFSET(ring_sqring_offsets, io_sqring_offsets, flags);
SAME_OFFSET(ring_sqring_offsets, io_sqring_offsets, dropped);
SAME_OFFSET(ring_sqring_offsets, io_sqring_offsets, array);
SAME_OFFSET(ring_sqring_offsets, io_sqring_offsets, resv1);
SAME_OFFSET(ring_sqring_offsets, io_sqring_offsets, resv2);
SAME_OFFSET(ring_cqring_offsets, io_cqring_offsets, head);
SAME_OFFSET(ring_cqring_offsets, io_cqring_offsets, tail);
SAME_OFFSET(ring_cqring_offsets, io_cqring_offsets, ring_mask);
SAME_OFFSET(ring_cqring_offsets, io_cqring_offsets, ring_entries);
SAME_OFFSET(ring_cqring_offsets, io_cqring_offsets, overflow);
SAME_OFFSET(ring_cqring_offsets, io_cqring_offsets, cqes);
SAME_OFFSET(ring_cqring_offsets, io_cqring_offsets, flags);
SAME_OFFSET(ring_cqring_offsets, io_cqring_offsets, resv1);
SAME_OFFSET(ring_cqring_offsets, io_cqring_offsets, resv2);
SAME_OFFSET(ring_params, io_uring_params, sq_entries);
SAME_OFFSET(ring_params, io_uring_params, cq_entries);
SAME_OFFSET(ring_params, io_uring_params, flags);
SAME_OFFSET(ring_params, io_uring_params, sq_thread_cpu);
SAME_OFFSET(ring_params, io_uring_params, sq_thread_idle);
SAME_OFFSET(ring_params, io_uring_params, features);
SAME_OFFSET(ring_params, io_uring_params, wq_fd);
SAME_OFFSET(ring_params, io_uring_params, resv);
SAME_OFFSET(ring_params, io_uring_params, sq_off);
SAME_OFFSET(ring_params, io_uring_params, cq_off);
_Static_assert(sizeof(struct ring_params) == sizeof(struct io_uring_params),
	       "ring_params size");

#define SAME_VALUE(r, i) \
	_Static_assert((long long)(r) == (long long)(i), #r " == " #i)
SAME_VALUE(RING_SETUP_CQSIZE, IORING_SETUP_CQSIZE);
SAME_VALUE(RING_SETUP_CLAMP, IORING_SETUP_CLAMP);
SAME_VALUE(RING_SETUP_R_DISABLED, IORING_SETUP_R_DISABLED);
SAME_VALUE(RING_SETUP_SUBMIT_ALL, IORING_SETUP_SUBMIT_ALL);
SAME_VALUE(RING_SETUP_COOP_TASKRUN, IORING_SETUP_COOP_TASKRUN);
SAME_VALUE(RING_SETUP_TASKRUN_FLAG, IORING_SETUP_TASKRUN_FLAG);
SAME_VALUE(RING_SETUP_SINGLE_ISSUER, IORING_SETUP_SINGLE_ISSUER);
SAME_VALUE(RING_SETUP_DEFER_TASKRUN, IORING_SETUP_DEFER_TASKRUN);
SAME_VALUE(RING_FEAT_RW_CUR_POS, IORING_FEAT_RW_CUR_POS);
SAME_VALUE(RING_FEAT_CUR_PERSONALITY, IORING_FEAT_CUR_PERSONALITY);
SAME_VALUE(RING_FEAT_EXT_ARG, IORING_FEAT_EXT_ARG);
SAME_VALUE(RING_FEAT_RSRC_TAGS, IORING_FEAT_RSRC_TAGS);
SAME_VALUE(RING_ENTER_SQ_WAKEUP, IORING_ENTER_SQ_WAKEUP);
SAME_VALUE(RING_ENTER_SQ_WAIT, IORING_ENTER_SQ_WAIT);
SAME_VALUE(RING_ENTER_EXT_ARG, IORING_ENTER_EXT_ARG);
SAME_VALUE(RING_REGISTER_PROBE, IORING_REGISTER_PROBE);
SAME_VALUE(RING_REGISTER_ENABLE_RINGS, IORING_REGISTER_ENABLE_RINGS);
SAME_VALUE(RING_REGISTER_BUFFERS2, IORING_REGISTER_BUFFERS2);
SAME_VALUE(RING_REGISTER_BUFFERS_UPDATE2, IORING_REGISTER_BUFFERS_UPDATE);
SAME_VALUE(RING_REGISTER_IOWQ_MAX_WORKERS, IORING_REGISTER_IOWQ_MAX_WORKERS);
SAME_VALUE(RING_RSRC_REGISTER_SPARSE, IORING_RSRC_REGISTER_SPARSE);
SAME_VALUE(RING_OP_SUPPORTED, IO_URING_OP_SUPPORTED);
SAME_VALUE(RING_FEAT_SINGLE_MMAP, IORING_FEAT_SINGLE_MMAP);
SAME_VALUE(RING_FEAT_NODROP, IORING_FEAT_NODROP);
SAME_VALUE(RING_FEAT_SUBMIT_STABLE, IORING_FEAT_SUBMIT_STABLE);
SAME_VALUE(RING_SQ_CQ_OVERFLOW, IORING_SQ_CQ_OVERFLOW);
SAME_VALUE(RING_OFF_SQ_RING, IORING_OFF_SQ_RING);
SAME_VALUE(RING_OFF_CQ_RING, IORING_OFF_CQ_RING);
SAME_VALUE(RING_OFF_SQES, IORING_OFF_SQES);
SAME_VALUE(RING_OP_NOP, IORING_OP_NOP);
SAME_VALUE(RING_OP_READV, IORING_OP_READV);
SAME_VALUE(RING_OP_WRITEV, IORING_OP_WRITEV);
SAME_VALUE(RING_OP_FSYNC, IORING_OP_FSYNC);
SAME_VALUE(RING_OP_READ_FIXED, IORING_OP_READ_FIXED);
SAME_VALUE(RING_OP_WRITE_FIXED, IORING_OP_WRITE_FIXED);
SAME_VALUE(RING_OP_READ, IORING_OP_READ);
SAME_VALUE(RING_OP_WRITE, IORING_OP_WRITE);
SAME_VALUE(RING_FSYNC_DATASYNC, IORING_FSYNC_DATASYNC);
SAME_VALUE(RING_ENTER_GETEVENTS, IORING_ENTER_GETEVENTS);
SAME_VALUE(RING_REGISTER_BUFFERS, IORING_REGISTER_BUFFERS);
SAME_VALUE(RING_UNREGISTER_BUFFERS, IORING_UNREGISTER_BUFFERS);

/* Flags accepted on their own (TASKRUN_FLAG and DEFER_TASKRUN need others). */
#define RING_SETUP_KNOWN (RING_SETUP_IOPOLL | RING_SETUP_SQPOLL | \
			  RING_SETUP_CQSIZE | \
			  RING_SETUP_CLAMP | RING_SETUP_R_DISABLED | \
			  RING_SETUP_SUBMIT_ALL | RING_SETUP_COOP_TASKRUN | \
			  RING_SETUP_SINGLE_ISSUER)
#define FEATURES (RING_FEAT_SINGLE_MMAP | RING_FEAT_NODROP | \
		  RING_FEAT_SUBMIT_STABLE)

static unsigned roundup_pow2(unsigned v)
{
	unsigned r = 1;

	while (r < v)
		r <<= 1;
	return r;
}

/* SETUP on a fresh fd; the result, and the (output) params in *p. */
static int setup_once(struct ring_params *p)
{
	int fd = dev_open(), ret;

	ret = raw_setup(fd, p);
	close(fd);
	return ret;
}

/*
 * The ioctl numbers encode the argument sizes (the kernel may rely on
 * _IOC_SIZE) and the ring fields the module reports must not overlap.
 */
static void test_ioctl_encoding(void **state)
{
	assert_int_equal(_IOC_SIZE(RING_IOC_SETUP), sizeof(struct ring_params));
	assert_int_equal(_IOC_SIZE(RING_IOC_ENTER), sizeof(struct ring_enter));
	assert_int_equal(_IOC_SIZE(RING_IOC_REGISTER),
			 sizeof(struct ring_register));
	assert_int_equal(_IOC_DIR(RING_IOC_SETUP), _IOC_READ | _IOC_WRITE);
	assert_int_equal(_IOC_TYPE(RING_IOC_ENTER), RING_IOC_MAGIC);
}

/* Check the output of a successful SETUP against the documented rules. */
static void check_params(const struct ring_params *p, unsigned want_sq,
			 unsigned want_cq)
{
	/* 4-byte fields of the shared SQ+CQ ring mapping: none may overlap. */
	const __u32 fields[] = {
		p->sq_off.head, p->sq_off.tail, p->sq_off.ring_mask,
		p->sq_off.ring_entries, p->sq_off.flags, p->sq_off.dropped,
		p->cq_off.head, p->cq_off.tail, p->cq_off.ring_mask,
		p->cq_off.ring_entries, p->cq_off.overflow,
	};
	size_t n = sizeof(fields) / sizeof(fields[0]), i, j;
	__u32 arr_end = p->sq_off.array + 4 * p->sq_entries;
	__u32 cqe_end = p->cq_off.cqes + 16 * p->cq_entries;

	if (p->sq_entries != want_sq || p->cq_entries != want_cq)
		fail_msg("entries: got sq %u cq %u, expected sq %u cq %u",
			 p->sq_entries, p->cq_entries, want_sq, want_cq);
	if ((p->features & FEATURES) != FEATURES)
		fail_msg("features 0x%x lack SINGLE_MMAP|NODROP|SUBMIT_STABLE",
			 p->features);
	for (i = 0; i < n; i++) {
		if (fields[i] % 4)
			fail_msg("ring field %zu at unaligned offset %u", i,
				 fields[i]);
		for (j = i + 1; j < n; j++)
			if (fields[i] == fields[j])
				fail_msg("ring fields %zu and %zu share offset %u",
					 i, j, fields[i]);
		if (fields[i] + 4 > p->sq_off.array && fields[i] < arr_end)
			fail_msg("ring field %zu (%u) inside the SQ array",
				 i, fields[i]);
		if (fields[i] + 4 > p->cq_off.cqes && fields[i] < cqe_end)
			fail_msg("ring field %zu (%u) inside the CQEs", i,
				 fields[i]);
	}
	if (p->sq_off.array % 4 || p->cq_off.cqes % 16)
		fail_msg("array at %u / cqes at %u misaligned",
			 p->sq_off.array, p->cq_off.cqes);
	if (p->sq_off.array < cqe_end && p->cq_off.cqes < arr_end)
		fail_msg("SQ array [%u,%u) overlaps CQEs [%u,%u)",
			 p->sq_off.array, arr_end, p->cq_off.cqes, cqe_end);
}

/* Valid sizes: rounded to powers of two, cq = 2 * sq, ring initialised. */
static void test_valid_sizes(void **state)
{
	static const unsigned sizes[] = {
		1, 2, 3, 4, 5, 7, 8, 100, 128, 1000, 4096, 32767, 32768,
	};
	size_t i;

	require_ring();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct ring_params p = { 0 };
		unsigned sq = roundup_pow2(sizes[i]);
		struct raw_ring r;

		raw_ring_init(&r, sizes[i], &p);
		check_params(&p, sq, 2 * sq);
		/* The ring as mapped agrees with the params. */
		if (*r.sq_entries != sq || *r.sq_mask != sq - 1 ||
		    *r.cq_entries != 2 * sq || *r.cq_mask != 2 * sq - 1)
			fail_msg("sq %u: ring says sq %u/%x cq %u/%x",
				 sizes[i], *r.sq_entries, *r.sq_mask,
				 *r.cq_entries, *r.cq_mask);
		if (*r.sq_head || *r.sq_tail || *r.cq_head || *r.cq_tail ||
		    *r.sq_dropped || *r.cq_overflow || *r.sq_flags)
			fail_msg("sq %u: fresh ring not zeroed", sizes[i]);
		raw_ring_exit(&r);
	}
}

/* Each flag bit not in RING_SETUP_KNOWN is rejected on its own. */
static void test_bad_flags(void **state)
{
	unsigned bit;

	require_ring();
	for (bit = 0; bit < 32; bit++) {
		struct ring_params p = { .sq_entries = 8, .cq_entries = 16 };

		if ((1U << bit) & RING_SETUP_KNOWN)
			continue;
		p.flags = 1U << bit;
		expect_ret_msg(setup_once(&p), -EINVAL, "flags 1<<%u", bit);
	}
	/* Known bits together with an unknown one: still rejected. */
	{
		struct ring_params p = {
			.sq_entries = 8, .cq_entries = 16,
			.flags = RING_SETUP_KNOWN | (1U << 31),
		};
		expect_ret(setup_once(&p), -EINVAL);
	}
}

/* Each reserved input field, non-zero on its own, is rejected. */
static void test_reserved_fields(void **state)
{
	struct ring_params p;
	int i;

	require_ring();
	for (i = 0; i < 3; i++) {
		memset(&p, 0, sizeof(p));
		p.sq_entries = 8;
		p.resv[i] = 1;
		expect_ret_msg(setup_once(&p), -EINVAL, "resv[%d] = 1", i);
		p.resv[i] = 0x80000000U;
		expect_ret_msg(setup_once(&p), -EINVAL, "resv[%d] = 1<<31", i);
	}
	memset(&p, 0, sizeof(p));
	p.sq_entries = 8;
	p.sq_thread_cpu = 1;
	expect_ret_msg(setup_once(&p), -EINVAL, "sq_thread_cpu = 1");
	memset(&p, 0, sizeof(p));
	p.sq_entries = 8;
	p.sq_thread_idle = 1;
	expect_ret_msg(setup_once(&p), -EINVAL, "sq_thread_idle = 1");
	memset(&p, 0, sizeof(p));
	p.sq_entries = 8;
	p.wq_fd = 1;
	expect_ret_msg(setup_once(&p), -EINVAL, "wq_fd = 1");
}

/* sq_entries: 0 and > 32768 rejected; CLAMP clamps the large ones only. */
static void test_sq_entries_limits(void **state)
{
	static const unsigned too_big[] = {
		RING_MAX_ENTRIES + 1, 65536, 0x80000000U, UINT_MAX,
	};
	struct ring_params p;
	size_t i;

	require_ring();
	memset(&p, 0, sizeof(p));
	expect_ret_msg(setup_once(&p), -EINVAL, "sq_entries 0");
	memset(&p, 0, sizeof(p));
	p.flags = RING_SETUP_CLAMP;
	expect_ret_msg(setup_once(&p), -EINVAL, "sq_entries 0 with CLAMP");

	for (i = 0; i < sizeof(too_big) / sizeof(too_big[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.sq_entries = too_big[i];
		expect_ret_msg(setup_once(&p), -EINVAL, "sq_entries %u",
			       too_big[i]);

		memset(&p, 0, sizeof(p));
		p.sq_entries = too_big[i];
		p.flags = RING_SETUP_CLAMP;
		expect_ret_msg(setup_once(&p), 0, "sq_entries %u with CLAMP",
			       too_big[i]);
		check_params(&p, RING_MAX_ENTRIES, 2 * RING_MAX_ENTRIES);
	}

	/* The maximum itself needs no CLAMP. */
	memset(&p, 0, sizeof(p));
	p.sq_entries = RING_MAX_ENTRIES;
	expect_ret(setup_once(&p), 0);
	check_params(&p, RING_MAX_ENTRIES, RING_MAX_CQ_ENTRIES);
}

/* Without CQSIZE the cq_entries input is ignored: cq = 2 * sq. */
static void test_cq_default(void **state)
{
	struct ring_params p = { .sq_entries = 4, .cq_entries = 3 };

	require_ring();
	expect_ret(setup_once(&p), 0);
	check_params(&p, 4, 8);
}

/* CQSIZE: 0, > 65536 (without CLAMP) and < sq rejected; pow2 rounding. */
static void test_cqsize(void **state)
{
	static const struct {
		unsigned sq, cq, flags;
		int ret;
		unsigned want_sq, want_cq;
	} cases[] = {
		{ 8, 0, 0, -EINVAL, 0, 0 },
		{ 8, 0, RING_SETUP_CLAMP, -EINVAL, 0, 0 },
		{ 8, RING_MAX_CQ_ENTRIES + 1, 0, -EINVAL, 0, 0 },
		{ 8, UINT_MAX, 0, -EINVAL, 0, 0 },
		{ 8, 4, 0, -EINVAL, 0, 0 },		/* cq < sq */
		{ 8, 7, 0, 0, 8, 8 },			/* 7 rounds up to 8 == sq */
		{ 128, 64, 0, -EINVAL, 0, 0 },
		{ 8, 8, 0, 0, 8, 8 },			/* cq == sq */
		{ 4, 5, 0, 0, 4, 8 },			/* rounded up */
		{ 4, 1000, 0, 0, 4, 1024 },
		{ 1, 1, 0, 0, 1, 1 },
		{ 5, 6, 0, 0, 8, 8 },			/* compared after rounding */
		{ 8, RING_MAX_CQ_ENTRIES, 0, 0, 8, RING_MAX_CQ_ENTRIES },
		{ 8, RING_MAX_CQ_ENTRIES + 1, RING_SETUP_CLAMP, 0, 8,
		  RING_MAX_CQ_ENTRIES },
		{ 8, UINT_MAX, RING_SETUP_CLAMP, 0, 8, RING_MAX_CQ_ENTRIES },
		{ RING_MAX_ENTRIES, RING_MAX_ENTRIES, 0, 0, RING_MAX_ENTRIES,
		  RING_MAX_ENTRIES },
		{ UINT_MAX, UINT_MAX, RING_SETUP_CLAMP, 0, RING_MAX_ENTRIES,
		  RING_MAX_CQ_ENTRIES },
	};
	size_t i;

	require_ring();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ring_params p = {
			.sq_entries = cases[i].sq,
			.cq_entries = cases[i].cq,
			.flags = RING_SETUP_CQSIZE | cases[i].flags,
		};
		int ret = setup_once(&p);

		expect_ret_msg(ret, cases[i].ret, "CQSIZE sq %u cq %u flags 0x%x",
			       cases[i].sq, cases[i].cq, cases[i].flags);
		if (!ret)
			check_params(&p, cases[i].want_sq, cases[i].want_cq);
	}
}

/* A second SETUP is -EBUSY and leaves the first ring intact. */
static void test_double_setup(void **state)
{
	struct ring_params p = { .sq_entries = 4 }, p2 = { .sq_entries = 16 };
	struct ring_cqe cqe;
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 4, &p);
	expect_ret(raw_setup(r.fd, &p2), -EBUSY);
	expect_ret(raw_setup(r.fd, &p2), -EBUSY);
	/* An invalid second SETUP must not replace the ring either. */
	memset(&p2, 0, sizeof(p2));
	expect_ret(raw_setup(r.fd, &p2), -EBUSY);

	assert_int_equal(*r.sq_entries, 4);
	raw_submit_nops(&r, 1, 77);
	assert_true(raw_peek_cqe(&r, &cqe));
	assert_int_equal(cqe.user_data, 77);
	assert_int_equal(cqe.res, 0);
	raw_ring_exit(&r);
}

/* A rejected SETUP creates nothing: the fd can still be set up. */
static void test_setup_after_failure(void **state)
{
	struct ring_params bad = { .sq_entries = 0 };
	struct ring_params p = { .sq_entries = 2 };
	struct raw_ring r;
	int fd;

	require_ring();
	fd = dev_open();
	expect_ret(raw_setup(fd, &bad), -EINVAL);
	expect_ret(raw_enter(fd, 0, 0, 0), -EBADFD);
	expect_ret(raw_setup(fd, &p), 0);
	raw_ring_map(&r, fd, &p);
	raw_submit_nops(&r, 2, 5);
	assert_int_equal(raw_cq_ready(&r), 2);
	raw_ring_exit(&r);
}

/* Unreadable or unwritable params: -EFAULT, and nothing leaks. */
static void test_setup_efault(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct ring_stats base, now;
	struct ring_params *ro;
	void *none;
	int fd;

	require_ring();
	assert_true(stats_get(&base));
	fd = dev_open();
	expect_ret(raw_setup(fd, NULL), -EFAULT);
	expect_ret(raw_setup(fd, (void *)1), -EFAULT);

	none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(none, MAP_FAILED);
	expect_ret(raw_setup(fd, none), -EFAULT);
	/* Params straddling into an inaccessible page. */
	ro = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(ro, MAP_FAILED);
	assert_int_equal(mprotect((char *)ro + pg, pg, PROT_NONE), 0);
	{
		struct ring_params *p = (void *)((char *)ro + pg - 8);

		p->sq_entries = 4;
		p->cq_entries = 0;
		expect_ret(raw_setup(fd, p), -EFAULT);
	}
	/* Valid input the kernel cannot write its output back to. */
	memset(ro, 0, pg);
	ro->sq_entries = 4;
	assert_int_equal(mprotect(ro, pg, PROT_READ), 0);
	expect_ret(raw_setup(fd, ro), -EFAULT);
	close(fd);
	munmap(ro, 2 * pg);
	munmap(none, pg);

	if (!stats_wait_equal(&base, settle_ms(), &now))
		fail_msg("stats after EFAULT setups: rings %ld requests %ld pages %ld, baseline %ld %ld %ld",
			 now.rings, now.requests, now.pages, base.rings,
			 base.requests, base.pages);
}

/* ENTER, REGISTER and mmap before SETUP: -EBADFD. */
static void test_before_setup(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	static const off_t offs[] = {
		RING_OFF_SQ_RING, RING_OFF_CQ_RING, RING_OFF_SQES,
	};
	size_t i;
	int fd;

	require_ring();
	fd = dev_open();
	expect_ret(raw_enter(fd, 0, 0, 0), -EBADFD);
	expect_ret(raw_enter(fd, 1, 1, RING_ENTER_GETEVENTS), -EBADFD);
	expect_ret(raw_register(fd, RING_UNREGISTER_BUFFERS, 0, 0), -EBADFD);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		void *m = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fd, offs[i]);

		if (m != MAP_FAILED)
			fail_msg("mmap at 0x%llx before SETUP succeeded",
				 (unsigned long long)offs[i]);
		expect_ret_msg(-errno, -EBADFD, "mmap at 0x%llx before SETUP",
			       (unsigned long long)offs[i]);
	}
	close(fd);
}

/* ENTER: each unknown flag bit and a non-zero resv are -EINVAL. */
static void test_enter_bad_args(void **state)
{
	struct ring_enter e;
	struct raw_ring r;
	unsigned bit;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	for (bit = 0; bit < 32; bit++) {
		/* EXT_ARG's argument is read only by a call that waits. */
		if ((1U << bit) & (RING_ENTER_GETEVENTS | RING_ENTER_SQ_WAKEUP |
				   RING_ENTER_SQ_WAIT | RING_ENTER_EXT_ARG))
			continue;
		expect_ret_msg(raw_enter(r.fd, 0, 0, 1U << bit), -EINVAL,
			       "ENTER flags 1<<%u", bit);
	}
	memset(&e, 0, sizeof(e));
	e.resv = 1;
	expect_ret(raw_ioctl(r.fd, RING_IOC_ENTER, &e), -EINVAL);
	e.resv = 0x80000000U;
	expect_ret(raw_ioctl(r.fd, RING_IOC_ENTER, &e), -EINVAL);
	/* A rejected ENTER consumes nothing. */
	{
		struct ring_sqe *sqe = raw_get_sqe(&r);

		raw_prep_nop(sqe, 1);
		raw_flush_sq(&r);
		e.to_submit = 1;
		expect_ret(raw_ioctl(r.fd, RING_IOC_ENTER, &e), -EINVAL);
		expect_ret(raw_enter(r.fd, 1, 0, 1U << 5), -EINVAL);
		assert_int_equal(__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE), 0);
		assert_int_equal(raw_cq_ready(&r), 0);
	}
	expect_ret(raw_ioctl(r.fd, RING_IOC_ENTER, NULL), -EFAULT);
	/* A kernel address, and an argument whose end is unmapped. */
	expect_ret(raw_ioctl(r.fd, RING_IOC_ENTER, (void *)-4096L), -EFAULT);
	{
		long pg = sysconf(_SC_PAGESIZE);
		char *two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		assert_ptr_not_equal(two, MAP_FAILED);
		assert_int_equal(munmap(two + pg, pg), 0);
		/* Submitting 1 if read: its last word is past the page. */
		memset(two + pg - 12, 0, 12);
		*(__u32 *)(two + pg - 12) = 1;
		expect_ret(raw_ioctl(r.fd, RING_IOC_ENTER, two + pg - 12),
			   -EFAULT);
		assert_int_equal(__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE), 0);
		munmap(two, pg);
	}
	/* The valid call still works afterwards. */
	expect_ret(raw_enter(r.fd, 1, 1, RING_ENTER_GETEVENTS), 1);
	assert_int_equal(raw_cq_ready(&r), 1);
	raw_ring_exit(&r);
}

/* REGISTER: non-zero resv and unknown opcodes are -EINVAL. */
static void test_register_bad_args(void **state)
{
	struct ring_register reg;
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	memset(&reg, 0, sizeof(reg));
	reg.opcode = RING_UNREGISTER_BUFFERS;
	reg.resv[0] = 1;
	expect_ret(raw_ioctl(r.fd, RING_IOC_REGISTER, &reg), -EINVAL);
	reg.resv[0] = 0;
	reg.resv[1] = 1;
	expect_ret(raw_ioctl(r.fd, RING_IOC_REGISTER, &reg), -EINVAL);
	expect_ret(raw_register(r.fd, 1000, 0, 0), -EINVAL);
	expect_ret(raw_register(r.fd, 0xffffffffU, 0, 0), -EINVAL);
	expect_ret(raw_ioctl(r.fd, RING_IOC_REGISTER, NULL), -EFAULT);
	raw_ring_exit(&r);
}

/* An ioctl number the device does not know: -ENOTTY, as for any driver. */
static void test_unknown_ioctl(void **state)
{
	struct ring_params p = { .sq_entries = 4 };
	int fd;

	require_ring();
	fd = dev_open();
	expect_ret(raw_ioctl(fd, _IOWR(RING_IOC_MAGIC, 0x7f, struct ring_params),
			     &p), -ENOTTY);
	expect_ret(raw_ioctl(fd, _IOW(RING_IOC_MAGIC, 0x01, __u32), &p),
		   -ENOTTY);
	close(fd);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_ioctl_encoding),
	cmocka_unit_test(test_valid_sizes),
	cmocka_unit_test(test_bad_flags),
	cmocka_unit_test(test_reserved_fields),
	cmocka_unit_test(test_sq_entries_limits),
	cmocka_unit_test(test_cq_default),
	cmocka_unit_test(test_cqsize),
	cmocka_unit_test(test_double_setup),
	cmocka_unit_test(test_setup_after_failure),
	cmocka_unit_test(test_setup_efault),
	cmocka_unit_test(test_before_setup),
	cmocka_unit_test(test_enter_bad_args),
	cmocka_unit_test(test_register_bad_args),
	cmocka_unit_test(test_unknown_ioctl),
};

VMTEST_MAIN(tests)
