// SPDX-License-Identifier: MIT
/*
 * mmap of a ring: each region at its offset with liburing's sizes, lengths
 * beyond the region, unknown offsets and MAP_PRIVATE rejected, the SQ and
 * CQ ring mappings alias one another, and the mappings cannot grow.
 */
#include "vmtest.h"

#include <unistd.h>
#include <sys/mman.h>

static size_t pgsz(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static void *map(int fd, size_t len, off_t off, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);
}

/* Map must succeed; returns the mapping. */
static void *map_ok(int fd, size_t len, off_t off)
{
	void *m = map(fd, len, off, MAP_SHARED);

	if (m == MAP_FAILED)
		fail_msg("mmap(len %zu, off 0x%llx): %s", len,
			 (unsigned long long)off, strerror(errno));
	return m;
}

/* Map must fail with err. */
static void map_fails(int fd, size_t len, off_t off, int flags, int err)
{
	void *m = map(fd, len, off, flags);

	if (m != MAP_FAILED) {
		munmap(m, len);
		fail_msg("mmap(len %zu, off 0x%llx, flags 0x%x) succeeded, expected %s",
			 len, (unsigned long long)off, flags, strerror(err));
	}
	if (errno != err)
		fail_msg("mmap(len %zu, off 0x%llx, flags 0x%x): %s, expected %s",
			 len, (unsigned long long)off, flags, strerror(errno),
			 strerror(err));
}

static int setup_fd(unsigned sq, struct ring_params *p)
{
	int fd = dev_open();

	memset(p, 0, sizeof(*p));
	p->sq_entries = sq;
	expect_ret(raw_setup(fd, p), 0);
	return fd;
}

/*
 * Each region maps at its offset, with the exact size liburing computes
 * and with that size page-rounded; one page more is -EINVAL.
 */
static void check_region_sizes(unsigned sq)
{
	struct ring_params p;
	size_t rings, sqes;
	int fd = setup_fd(sq, &p);
	static const off_t ring_offs[] = { RING_OFF_SQ_RING, RING_OFF_CQ_RING };
	size_t i;
	void *m;

	rings = ring_sq_ring_size(&p);
	if (ring_cq_ring_size(&p) > rings)
		rings = ring_cq_ring_size(&p);
	sqes = p.sq_entries * sizeof(struct ring_sqe);

	for (i = 0; i < 2; i++) {
		/* Each ring on its own, at its own size. */
		m = map_ok(fd, i ? ring_cq_ring_size(&p) : ring_sq_ring_size(&p),
			   ring_offs[i]);
		munmap(m, i ? ring_cq_ring_size(&p) : ring_sq_ring_size(&p));
		/* SINGLE_MMAP: either offset covers both rings. */
		m = map_ok(fd, page_align(rings), ring_offs[i]);
		munmap(m, page_align(rings));
		map_fails(fd, page_align(rings) + pgsz(), ring_offs[i],
			  MAP_SHARED, EINVAL);
	}
	m = map_ok(fd, sqes, RING_OFF_SQES);
	munmap(m, sqes);
	m = map_ok(fd, page_align(sqes), RING_OFF_SQES);
	munmap(m, page_align(sqes));
	map_fails(fd, page_align(sqes) + pgsz(), RING_OFF_SQES, MAP_SHARED,
		  EINVAL);
	/* Far too large: no overflow in the length check. */
	map_fails(fd, (size_t)1 << 40, RING_OFF_SQ_RING, MAP_SHARED | MAP_NORESERVE,
		  EINVAL);
	map_fails(fd, (size_t)1 << 40, RING_OFF_SQES, MAP_SHARED | MAP_NORESERVE,
		  EINVAL);
	close(fd);
}

static void test_region_sizes_small(void **state)
{
	require_ring();
	check_region_sizes(1);
	check_region_sizes(8);
}

/* Multi-page regions: the limit is the region's page-rounded size. */
static void test_region_sizes_large(void **state)
{
	require_ring();
	check_region_sizes(100);
	check_region_sizes(4096);
	check_region_sizes(RING_MAX_ENTRIES);
}

static void test_unknown_offsets(void **state)
{
	static const off_t offs[] = {
		0x1000,			/* inside the rings region */
		0x4000000,
		RING_OFF_CQ_RING + 0x1000,
		RING_OFF_SQES + 0x1000,	/* inside the SQE region */
		0x18000000,
		0x7ffff000,
	};
	struct ring_params p;
	int fd = -1;
	size_t i;

	require_ring();
	fd = setup_fd(8, &p);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		map_fails(fd, pgsz(), offs[i], MAP_SHARED, EINVAL);
	close(fd);
}

static void test_map_private(void **state)
{
	static const off_t offs[] = {
		RING_OFF_SQ_RING, RING_OFF_CQ_RING, RING_OFF_SQES,
	};
	struct ring_params p;
	size_t i;
	int fd;

	require_ring();
	fd = setup_fd(8, &p);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		map_fails(fd, pgsz(), offs[i], MAP_PRIVATE, EINVAL);
	close(fd);
}

/*
 * SQ_RING and CQ_RING map the same memory: a store through one mapping is
 * seen through the other, and a NOP submitted through the SQ mapping
 * completes into the CQ mapping.
 */
static void test_rings_alias(void **state)
{
	struct ring_params p;
	struct raw_ring r;
	size_t len;
	char *sq, *cq;
	unsigned *cq_head_via_sq, *cq_tail;
	struct ring_cqe *cqes;
	int fd;

	require_ring();
	fd = setup_fd(8, &p);
	raw_ring_map(&r, fd, &p);
	len = page_align(ring_cq_ring_size(&p));
	sq = r.rings;
	cq = map_ok(fd, len, RING_OFF_CQ_RING);
	assert_ptr_not_equal(sq, cq);

	/* The kernel-written constants agree through both mappings. */
	assert_int_equal(*(unsigned *)(cq + p.sq_off.ring_entries), 8);
	assert_int_equal(*(unsigned *)(cq + p.cq_off.ring_entries), 16);

	/* A user store through the CQ mapping shows in the SQ mapping. */
	cq_head_via_sq = (unsigned *)(sq + p.cq_off.head);
	__atomic_store_n((unsigned *)(cq + p.cq_off.head), 0, __ATOMIC_RELEASE);
	sq[p.sq_off.array] = 5;
	assert_int_equal((unsigned char)cq[p.sq_off.array], 5);
	sq[p.sq_off.array] = 0;

	raw_submit_nops(&r, 3, 0x1000);
	cq_tail = (unsigned *)(cq + p.cq_off.tail);
	cqes = (struct ring_cqe *)(cq + p.cq_off.cqes);
	assert_int_equal(__atomic_load_n(cq_tail, __ATOMIC_ACQUIRE), 3);
	assert_int_equal(cqes[0].user_data, 0x1000);
	assert_int_equal(cqes[2].user_data, 0x1002);
	__atomic_store_n((unsigned *)(cq + p.cq_off.head), 3, __ATOMIC_RELEASE);
	assert_int_equal(*cq_head_via_sq, 3);
	assert_int_equal(raw_cq_ready(&r), 0);

	munmap(cq, len);
	raw_ring_exit(&r);
}

/* The SQE region is what the kernel reads: a second mapping aliases it. */
static void test_sqes_alias(void **state)
{
	struct ring_params p;
	struct raw_ring r;
	struct ring_sqe *alias;
	struct ring_cqe cqe;
	int fd;

	require_ring();
	fd = setup_fd(4, &p);
	raw_ring_map(&r, fd, &p);
	alias = map_ok(fd, r.sqes_len, RING_OFF_SQES);

	/* Write the SQE through the second mapping only. */
	r.sq_array[0] = 0;
	memset(&alias[0], 0, sizeof(alias[0]));
	alias[0].opcode = RING_OP_NOP;
	alias[0].fd = -1;
	alias[0].user_data = 0xabcdef;
	assert_int_equal(r.sqes[0].user_data, 0xabcdef);
	r.sqe_tail = 1;
	raw_flush_sq(&r);
	expect_ret(raw_enter(fd, 1, 1, RING_ENTER_GETEVENTS), 1);
	assert_true(raw_peek_cqe(&r, &cqe));
	assert_int_equal(cqe.user_data, 0xabcdef);
	assert_int_equal(cqe.res, 0);

	munmap(alias, r.sqes_len);
	raw_ring_exit(&r);
}

/* VM_DONTEXPAND: mremap cannot grow a ring mapping (-EFAULT). */
static void test_mremap_grow(void **state)
{
	struct ring_params p;
	struct raw_ring r;
	void *m;
	int fd;

	require_ring();
	fd = setup_fd(8, &p);
	raw_ring_map(&r, fd, &p);

	m = mremap(r.rings, r.rings_len, page_align(r.rings_len) + pgsz(),
		   MREMAP_MAYMOVE);
	if (m != MAP_FAILED)
		fail_msg("mremap grew the ring mapping");
	expect_ret(-errno, -EFAULT);
	m = mremap(r.sqes, r.sqes_len, page_align(r.sqes_len) + 4 * pgsz(),
		   MREMAP_MAYMOVE);
	if (m != MAP_FAILED)
		fail_msg("mremap grew the SQE mapping");
	expect_ret(-errno, -EFAULT);
	m = mremap(r.rings, r.rings_len, page_align(r.rings_len) + pgsz(), 0);
	if (m != MAP_FAILED)
		fail_msg("mremap grew the ring mapping in place");

	/* The original mappings are intact and the ring still works. */
	assert_int_equal(*r.sq_entries, 8);
	raw_submit_nops(&r, 1, 9);
	assert_int_equal(raw_cq_ready(&r), 1);
	raw_ring_exit(&r);
}

/* Mappings outlive the fd: the ring stays usable through them. */
static void test_mapping_outlives_fd(void **state)
{
	struct ring_params p;
	struct raw_ring r;
	int fd, fd2;

	require_ring();
	fd = setup_fd(8, &p);
	raw_ring_map(&r, fd, &p);
	raw_submit_nops(&r, 2, 40);
	fd2 = dup(fd);
	assert_true(fd2 >= 0);
	close(fd);
	r.fd = fd2;
	raw_submit_nops(&r, 2, 42);
	assert_int_equal(raw_cq_ready(&r), 4);
	close(fd2);
	r.fd = -1;
	/* The memory stays mapped and readable after the last close. */
	assert_int_equal(*r.sq_entries, 8);
	assert_int_equal(__atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE), 4);
	assert_int_equal(r.cqes[3].user_data, 43);
	raw_ring_unmap(&r);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_region_sizes_small),
	cmocka_unit_test(test_region_sizes_large),
	cmocka_unit_test(test_unknown_offsets),
	cmocka_unit_test(test_map_private),
	cmocka_unit_test(test_rings_alias),
	cmocka_unit_test(test_sqes_alias),
	cmocka_unit_test(test_mremap_grow),
	cmocka_unit_test(test_mapping_outlives_fd),
};

VMTEST_MAIN(tests)
