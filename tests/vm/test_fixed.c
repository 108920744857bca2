// SPDX-License-Identifier: MIT
/*
 * Fixed buffers, registration side: REGISTER_BUFFERS, UNREGISTER_BUFFERS
 * and REGISTER_BUFFERS_UPDATE with the exact errno of every rejection,
 * READ_FIXED/WRITE_FIXED outside a registered buffer (CQE -EFAULT), and
 * the accounting: VmPin of /proc/self/status grows by exactly the pages
 * pinned and comes back to its baseline after unregister, update (replace
 * and empty), a failed registration and close; fdinfo BufferSlots,
 * PinnedPages and BufferBvecs agree. Scale: 16384 slots, a 1 GiB buffer,
 * close with fixed I/O in flight.
 */
#include "fixedtest.h"

#include <sys/stat.h>

#define GIB	(1UL << 30)

/* A tmpfs file to do fixed I/O against (buffered). */
static void tmpfs_target(struct target *t, size_t size)
{
	target_open(t, TGT_TMPFS, false, 0, size);
}

/*
 * Slot idx holds iov: WRITE_FIXED all of it to the file at off (file must
 * then hold it) and READ_FIXED it back into the zeroed buffer.
 */
static void roundtrip(struct ring *ring, int fd, const struct iovec *iov,
		      unsigned idx, off_t off, uint64_t *rng)
{
	size_t len = iov->iov_len;
	unsigned char *base = iov->iov_base;
	unsigned char *want = malloc(len), *got = malloc(len);

	assert_true(want && got);
	rnd_fill(rng, base, len);
	memcpy(want, base, len);
	expect_ret_msg(fixed_io(ring, RING_OP_WRITE_FIXED, fd, base, len, off,
				idx), len, "WRITE_FIXED of slot %u (%zu bytes)",
		       idx, len);
	xpread(fd, got, len, off);
	expect_same(got, want, len, "file after WRITE_FIXED of slot %u", idx);
	memset(base, 0, len);
	expect_ret_msg(fixed_io(ring, RING_OP_READ_FIXED, fd, base, len, off,
				idx), len, "READ_FIXED into slot %u", idx);
	expect_same(base, want, len, "slot %u after READ_FIXED", idx);
	free(want);
	free(got);
}

/*
 * VmPin and fdinfo follow every change exactly: register (buffers not
 * page aligned, sharing no page), replace a slot, empty a slot, replace
 * two at once, overlapping buffers, unregister, close.
 */
static void test_accounting(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec iov[4], up[2], empty = { NULL, 0 };
	uint64_t rng;
	long pin0;
	char *m;
	unsigned i;

	require_ring();
	stats_baseline(&base);
	tmpfs_target(&t, 1 << 20);
	rng = test_seed("accounting");
	pin0 = vmpin_pages();
	m = map_anon(64 * PG);
	ring_init_or_fail(&ring, 8);
	expect_no_bufs(ring.ring_fd, pin0, "fresh ring");

	iov[0] = (struct iovec){ m, PG };			/* 1 page */
	iov[1] = (struct iovec){ m + 2 * PG + 100, 3 * PG };	/* 4 pages */
	iov[2] = (struct iovec){ m + 10 * PG + 4095, 1 };	/* 1 page */
	iov[3] = (struct iovec){ m + 20 * PG - 10, 20 };	/* 2 pages */
	expect_ret(ring_register_buffers(&ring, iov, 4), 0);
	expect_bufs(ring.ring_fd, 4, 8, 8, pin0, "buffers of 1, 4, 1, 2 pages");
	for (i = 0; i < 4; i++)
		roundtrip(&ring, t.fd, &iov[i], i, i * 16384, &rng);

	/* Replace slot 1 (4 pages) by 2 pages: the old address is gone. */
	up[0] = (struct iovec){ m + 30 * PG, 2 * PG };
	expect_ret(ring_register_buffers_update(&ring, 1, up, 1), 1);
	expect_bufs(ring.ring_fd, 4, 6, 6, pin0, "slot 1 replaced by 2 pages");
	expect_ret_msg(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd, iov[1].iov_base,
				16, 0, 1), -EFAULT,
		       "WRITE_FIXED from the replaced buffer's address");
	roundtrip(&ring, t.fd, &up[0], 1, 65536, &rng);

	/* Empty slot 2: the slot stays, its pages go. */
	expect_ret(ring_register_buffers_update(&ring, 2, &empty, 1), 1);
	expect_bufs(ring.ring_fd, 4, 5, 5, pin0, "slot 2 emptied");
	expect_ret_msg(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, iov[2].iov_base,
				1, 0, 2), -EFAULT, "READ_FIXED into the empty slot");

	/* Two at once: slot 2 gets 9 pages, slot 3 is emptied. */
	up[0] = (struct iovec){ m + 40 * PG, 8 * PG + 1 };
	up[1] = empty;
	expect_ret(ring_register_buffers_update(&ring, 2, up, 2), 2);
	expect_bufs(ring.ring_fd, 4, 1 + 2 + 9, 1 + 2 + 9, pin0,
		    "slots 2 and 3 updated together");
	roundtrip(&ring, t.fd, &up[0], 2, 131072, &rng);

	/* Slot 3 overlapping slot 2: both pinned, both usable. */
	up[1] = (struct iovec){ m + 44 * PG, 2 * PG };
	expect_ret(ring_register_buffers_update(&ring, 3, &up[1], 1), 1);
	expect_bufs(ring.ring_fd, 4, 14, 14, pin0, "slot 3 overlapping slot 2");
	expect_ret(ring_register_buffers_update(&ring, 2, &empty, 1), 1);
	expect_bufs(ring.ring_fd, 4, 5, 5, pin0,
		    "slot 2 emptied, slot 3 keeps its part of the pages");
	roundtrip(&ring, t.fd, &up[1], 3, 262144, &rng);

	expect_ret(ring_unregister_buffers(&ring), 0);
	expect_no_bufs(ring.ring_fd, pin0, "after unregister");

	/* Registered again, then the ring is closed with them. */
	expect_ret(ring_register_buffers(&ring, iov, 4), 0);
	expect_bufs(ring.ring_fd, 4, 8, 8, pin0, "registered again");
	ring_queue_exit(&ring);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin after close");

	munmap(m, 64 * PG);
	target_close(&t);
	expect_stats(&base, "accounting");
}

static void expect_reg_fails(struct ring *ring, const struct iovec *iov,
			     unsigned nr, int err, long pin0, const char *what)
{
	expect_ret_msg(ring_register_buffers(ring, iov, nr), err, "%s", what);
	expect_no_bufs(ring->ring_fd, pin0, what);
}

/* Five good buffers with number 3 (index 2) replaced by bad. */
static void expect_partial_fails(struct ring *ring, char *good,
				 struct iovec bad, int err, long pin0,
				 const char *what)
{
	struct iovec iov[5];
	char msg[160];
	unsigned i;

	for (i = 0; i < 5; i++)
		iov[i] = (struct iovec){ good + i * 2 * PG + 7, PG + 100 };
	iov[2] = bad;
	snprintf(msg, sizeof(msg), "3rd of 5 iovecs %s", what);
	expect_reg_fails(ring, iov, 5, err, pin0, msg);
}

/*
 * Every REGISTER_BUFFERS rejection with its errno; after each, and after
 * a partial failure (the 3rd of 5 iovecs bad), nothing is registered or
 * pinned; a good registration then succeeds, a second one is -EBUSY.
 */
static void test_register_errors(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct iovec iov[2];
	char *good, *hole, *none, *ro, *part, *two;
	int mfd1, mfd2;
	long pin0;

	require_ring();
	stats_baseline(&base);
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	good = map_anon(16 * PG);
	memset(good, 1, 16 * PG);

	iov[0] = (struct iovec){ good, PG };
	expect_reg_fails(&ring, iov, 0, -EINVAL, pin0, "nr_args 0");
	expect_reg_fails(&ring, iov, 16385, -EINVAL, pin0, "nr_args 16385");
	expect_reg_fails(&ring, iov, 65536, -EINVAL, pin0, "nr_args 65536");

	iov[0] = (struct iovec){ NULL, PG };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "NULL base");
	iov[0] = (struct iovec){ NULL, 0 };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "{NULL, 0}");
	iov[0] = (struct iovec){ good, 0 };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "length 0");
	iov[0] = (struct iovec){ good, GIB + 1 };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "length 1 GiB + 1");
	iov[0] = (struct iovec){ good, ~(size_t)0 };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "length ~0");

	/* Not mapped: a hole in the middle, all of it, beyond user space. */
	hole = map_anon(3 * PG);
	memset(hole, 2, 3 * PG);
	assert_int_equal(munmap(hole + PG, PG), 0);
	iov[0] = (struct iovec){ hole, 3 * PG };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "buffer over a hole");
	iov[0] = (struct iovec){ hole + PG + 10, 100 };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "unmapped buffer");
	none = map_reserve(4 * PG, PG);
	iov[0] = (struct iovec){ none, 4 * PG };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "PROT_NONE buffer");
	iov[0] = (struct iovec){ (void *)0x7ffffffff000UL, PG };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "last page below "
			 "TASK_SIZE");
	iov[0] = (struct iovec){ (void *)0xffff888000000000UL, PG };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "kernel address");
	iov[0] = (struct iovec){ (void *)(~0UL - PG + 1), 2 * PG };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "address + length wraps");

	/* Read-only: all of it, or one page in the middle. */
	ro = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED);
	iov[0] = (struct iovec){ ro, 2 * PG };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "read-only buffer");
	part = map_anon(3 * PG);
	memset(part, 3, 3 * PG);
	assert_int_equal(mprotect(part + PG, PG, PROT_READ), 0);
	iov[0] = (struct iovec){ part, 3 * PG };
	expect_reg_fails(&ring, iov, 1, -EFAULT, pin0, "middle page read-only");

	/* Spanning two files, or anonymous memory and a file. */
	mfd1 = memfd_sized("ring-a", 2 * PG, 0);
	mfd2 = memfd_sized("ring-b", 2 * PG, 0);
	two = map_reserve(4 * PG, PG);
	map_fixed_fd(two, 2 * PG, mfd1, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	map_fixed_fd(two + 2 * PG, 2 * PG, mfd2, 0, PROT_READ | PROT_WRITE,
		     MAP_SHARED);
	memset(two, 4, 4 * PG);
	iov[0] = (struct iovec){ two + PG, 2 * PG };
	expect_reg_fails(&ring, iov, 1, -EINVAL, pin0, "buffer over two memfds");
	munmap(two + 2 * PG, 2 * PG);
	assert_true(mmap(two + 2 * PG, 2 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
		    two + 2 * PG);
	memset(two + 2 * PG, 5, 2 * PG);
	iov[0] = (struct iovec){ two + PG, 2 * PG };
	expect_reg_fails(&ring, iov, 1, -EINVAL, pin0, "buffer over memfd + "
			 "anonymous memory");
	munmap(two, 2 * PG);
	map_fixed_fd(two, 2 * PG, mfd1, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	/* The anonymous part first this time. */
	iov[0] = (struct iovec){ two + 2 * PG - 8, 2 * PG };
	munmap(two, 4 * PG);
	assert_true(mmap(two, 2 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == two);
	map_fixed_fd(two + 2 * PG, 2 * PG, mfd1, 0, PROT_READ | PROT_WRITE,
		     MAP_SHARED);
	memset(two, 6, 4 * PG);
	expect_reg_fails(&ring, iov, 1, -EINVAL, pin0, "buffer over anonymous "
			 "memory + memfd");

	/* A partial failure leaves nothing behind either. */
	expect_partial_fails(&ring, good, (struct iovec){ hole + PG, 8 }, -EFAULT,
			     pin0, "unmapped");
	expect_partial_fails(&ring, good, (struct iovec){ ro, 8 }, -EFAULT, pin0,
			     "read-only");
	expect_partial_fails(&ring, good, (struct iovec){ good, 0 }, -EFAULT,
			     pin0, "of length 0");
	expect_partial_fails(&ring, good, (struct iovec){ NULL, 8 }, -EFAULT,
			     pin0, "with a NULL base");
	expect_partial_fails(&ring, good, (struct iovec){ good, GIB + 1 },
			     -EFAULT, pin0, "longer than 1 GiB");
	expect_partial_fails(&ring, good, (struct iovec){ two + PG, 2 * PG },
			     -EINVAL, pin0, "over anonymous memory + memfd");

	/* Nothing was left registered: this works, a second one is busy. */
	iov[0] = (struct iovec){ good, 3 * PG };
	iov[1] = (struct iovec){ two + 2 * PG, 2 * PG };	/* memfd */
	expect_ret(ring_register_buffers(&ring, iov, 2), 0);
	expect_bufs(ring.ring_fd, 2, 5, 5, pin0, "good registration");
	iov[0] = (struct iovec){ good + 8 * PG, PG };
	expect_ret_msg(ring_register_buffers(&ring, iov, 1), -EBUSY,
		       "second REGISTER_BUFFERS");
	expect_bufs(ring.ring_fd, 2, 5, 5, pin0, "after -EBUSY");
	expect_ret(ring_unregister_buffers(&ring), 0);
	expect_no_bufs(ring.ring_fd, pin0, "unregistered");

	ring_queue_exit(&ring);
	close(mfd1);
	close(mfd2);
	munmap(two, 4 * PG);
	munmap(good, 16 * PG);
	munmap(hole, 3 * PG);
	munmap(none, 4 * PG);
	munmap(ro, 2 * PG);
	munmap(part, 3 * PG);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin at the end");
	expect_stats(&base, "register errors");
}

/*
 * Memory of a file that is not shmem/hugetlb (ext4 here), shared or
 * private, alone or as the 3rd of 5 buffers: -EOPNOTSUPP, nothing pinned.
 */
static void test_register_file_backed(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec iov;
	char *good, *shared, *priv;
	long pin0;

	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_EXT4, false, 0, 16 * PG);
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	good = map_anon(16 * PG);
	memset(good, 1, 16 * PG);
	shared = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, t.fd, 0);
	priv = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, t.fd, 0);
	assert_true(shared != MAP_FAILED && priv != MAP_FAILED);
	memset(shared, 7, 16 * PG);
	memset(priv, 8, 16 * PG);

	iov = (struct iovec){ shared, 4 * PG };
	expect_reg_fails(&ring, &iov, 1, -EOPNOTSUPP, pin0,
			 "MAP_SHARED ext4 file");
	iov = (struct iovec){ priv + 100, 100 };
	expect_reg_fails(&ring, &iov, 1, -EOPNOTSUPP, pin0,
			 "MAP_PRIVATE ext4 file");
	expect_partial_fails(&ring, good, (struct iovec){ shared + PG, PG },
			     -EOPNOTSUPP, pin0, "a MAP_SHARED ext4 file");
	iov = (struct iovec){ good, PG };
	expect_ret(ring_register_buffers(&ring, &iov, 1), 0);
	expect_bufs(ring.ring_fd, 1, 1, 1, pin0, "anonymous after ext4");
	ring_queue_exit(&ring);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin at the end");
	munmap(shared, 16 * PG);
	munmap(priv, 16 * PG);
	munmap(good, 16 * PG);
	target_close(&t);
	expect_stats(&base, "file-backed buffers");
}

/*
 * Device memory is file-backed memory too: the ring's own SQ/CQ ring and
 * SQE mappings (their /dev/ring inode even sits on devtmpfs, a tmpfs)
 * are refused with -EOPNOTSUPP. /dev/zero is shmem when shared and
 * anonymous when private: both are accepted and do I/O.
 */
static void test_register_device_mappings(void **state)
{
	struct ring_stats base;
	struct ring ring, other;
	struct target t;
	struct iovec iov[2];
	unsigned char *zs, *zp;
	uint64_t rng;
	long pin0;
	int zero;

	require_ring();
	stats_baseline(&base);
	tmpfs_target(&t, 65536);
	rng = test_seed("device mappings");
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	ring_init_or_fail(&other, 4);

	iov[0] = (struct iovec){ ring.sq.ring_ptr, 64 };
	expect_reg_fails(&ring, iov, 1, -EOPNOTSUPP, pin0,
			 "the ring's own SQ/CQ ring mapping");
	iov[0] = (struct iovec){ ring.sq.sqes, 64 };
	expect_reg_fails(&ring, iov, 1, -EOPNOTSUPP, pin0,
			 "the ring's own SQE mapping");
	iov[0] = (struct iovec){ other.sq.ring_ptr, 64 };
	expect_reg_fails(&ring, iov, 1, -EOPNOTSUPP, pin0,
			 "another ring's SQ/CQ ring mapping");

	zero = open("/dev/zero", O_RDWR | O_CLOEXEC);
	assert_true(zero >= 0);
	zs = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
	zp = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
	assert_true(zs != MAP_FAILED && zp != MAP_FAILED);
	rnd_fill(&rng, zs, 4 * PG);
	rnd_fill(&rng, zp, 4 * PG);
	iov[0] = (struct iovec){ zs, 4 * PG };
	iov[1] = (struct iovec){ zp, 4 * PG };
	expect_ret_msg(ring_register_buffers(&ring, iov, 2), 0,
		       "/dev/zero MAP_SHARED and MAP_PRIVATE");
	expect_bufs(ring.ring_fd, 2, 8, 8, pin0, "/dev/zero mappings");
	roundtrip(&ring, t.fd, &iov[0], 0, 0, &rng);
	roundtrip(&ring, t.fd, &iov[1], 1, 16384, &rng);
	ring_queue_exit(&ring);
	ring_queue_exit(&other);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin after close");
	munmap(zs, 4 * PG);
	munmap(zp, 4 * PG);
	close(zero);
	target_close(&t);
	expect_stats(&base, "device mappings");
}

static int raw_update(int fd, __u32 offset, __u32 resv, const struct iovec *iov,
		      unsigned nr)
{
	struct ring_buf_update up = {
		.offset = offset,
		.resv = resv,
		.iovecs = (uintptr_t)iov,
	};

	return raw_register(fd, RING_REGISTER_BUFFERS_UPDATE, nr,
			    (uintptr_t)&up);
}

/* The three slots still hold old[] (by address) and not new[]. */
static void expect_slots_unchanged(struct ring *ring, int fd,
				   const struct iovec *old,
				   const struct iovec *fresh, long pin0,
				   const char *what)
{
	unsigned i;

	expect_bufs(ring->ring_fd, 3, 3, 3, pin0, what);
	for (i = 0; i < 3; i++) {
		expect_ret_msg(fixed_io(ring, RING_OP_WRITE_FIXED, fd,
					old[i].iov_base, 64, 0, i), 64,
			       "%s: WRITE_FIXED from the old buffer of slot %u",
			       what, i);
		if (fresh)
			expect_ret_msg(fixed_io(ring, RING_OP_WRITE_FIXED, fd,
						fresh[i].iov_base, 64, 0, i),
				       -EFAULT, "%s: WRITE_FIXED from the "
				       "refused buffer of slot %u", what, i);
	}
}

/*
 * UNREGISTER_BUFFERS and REGISTER_BUFFERS_UPDATE errors: none registered
 * -ENXIO, arg or nr_args set -EINVAL, resv set -EINVAL, a range outside
 * the table -EINVAL (also when offset + nr wraps), and an update with one
 * bad iovec changes no slot at all; a good update returns nr.
 */
static void test_unregister_update_errors(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec old[3], fresh[3], bad[3], empty = { NULL, 0 };
	char *m, *hole;
	int mfd;
	long pin0;
	unsigned i;

	require_ring();
	stats_baseline(&base);
	tmpfs_target(&t, 65536);
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	m = map_anon(16 * PG);
	memset(m, 9, 16 * PG);
	hole = map_anon(PG);
	munmap(hole, PG);
	mfd = memfd_sized("ring-upd", PG, 0);

	expect_ret_msg(ring_unregister_buffers(&ring), -ENXIO,
		       "UNREGISTER with nothing registered");
	old[0] = (struct iovec){ m, PG };
	expect_ret_msg(ring_register_buffers_update(&ring, 0, old, 1), -ENXIO,
		       "UPDATE with nothing registered");
	expect_no_bufs(ring.ring_fd, pin0, "nothing registered");

	for (i = 0; i < 3; i++) {
		old[i] = (struct iovec){ m + i * PG, 100 };
		fresh[i] = (struct iovec){ m + (8 + i) * PG, 200 };
	}
	expect_ret(ring_register_buffers(&ring, old, 3), 0);
	expect_slots_unchanged(&ring, t.fd, old, NULL, pin0, "registered");

	expect_ret_msg(raw_register(ring.ring_fd, RING_UNREGISTER_BUFFERS, 1, 0),
		       -EINVAL, "UNREGISTER with nr_args 1");
	expect_ret_msg(raw_register(ring.ring_fd, RING_UNREGISTER_BUFFERS, 0,
				    (uintptr_t)old), -EINVAL,
		       "UNREGISTER with arg set");
	expect_slots_unchanged(&ring, t.fd, old, NULL, pin0,
			       "after refused UNREGISTERs");

	expect_ret_msg(raw_update(ring.ring_fd, 0, 1, fresh, 1), -EINVAL,
		       "UPDATE with resv 1");
	expect_ret_msg(raw_update(ring.ring_fd, 3, 0, fresh, 1), -EINVAL,
		       "UPDATE of slot 3 of 3");
	expect_ret_msg(raw_update(ring.ring_fd, 2, 0, fresh, 2), -EINVAL,
		       "UPDATE of slots 2-3 of 3");
	expect_ret_msg(raw_update(ring.ring_fd, 0, 0, fresh, 4), -EINVAL,
		       "UPDATE of 4 slots of 3");
	expect_ret_msg(raw_update(ring.ring_fd, 0xffffffffU, 0, fresh, 2),
		       -EINVAL, "UPDATE with offset 0xffffffff, 2 slots");
	expect_ret_msg(raw_update(ring.ring_fd, 0xfffffffeU, 0, fresh, 2),
		       -EINVAL, "UPDATE with offset + nr wrapping to 0");
	expect_slots_unchanged(&ring, t.fd, old, fresh, pin0,
			       "after refused UPDATE ranges");

	/* One bad iovec among three: no slot changes. */
	for (i = 0; i < 5; i++) {
		static const char *const what[] = {
			"unmapped", "NULL base, length 8", "length 0",
			"over 1 GiB", "over anonymous memory + memfd",
		};
		static const int err[] = { -EFAULT, -EFAULT, -EFAULT, -EFAULT,
					   -EINVAL };
		char msg[128];

		memcpy(bad, fresh, sizeof(bad));
		switch (i) {
		case 0: bad[1] = (struct iovec){ hole, 8 }; break;
		case 1: bad[1] = (struct iovec){ NULL, 8 }; break;
		case 2: bad[1] = (struct iovec){ m, 0 }; break;
		case 3: bad[1] = (struct iovec){ m, GIB + 1 }; break;
		case 4: {
			/* m's page 15, then the memfd right after it. */
			char *x = map_reserve(2 * PG, PG);

			munmap(x, 2 * PG);
			x = mmap(x, PG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			assert_true(x != MAP_FAILED);
			map_fixed_fd(x + PG, PG, mfd, 0, PROT_READ | PROT_WRITE,
				     MAP_SHARED);
			memset(x, 1, 2 * PG);
			bad[1] = (struct iovec){ x + PG - 10, 20 };
			break;
		}
		}
		snprintf(msg, sizeof(msg), "UPDATE of 3 slots, the 2nd %s",
			 what[i]);
		expect_ret_msg(raw_update(ring.ring_fd, 0, 0, bad, 3), err[i],
			       "%s", msg);
		expect_slots_unchanged(&ring, t.fd, old, fresh, pin0, msg);
		if (i == 4) {
			munmap((char *)bad[1].iov_base - PG + 10, 2 * PG);
		}
	}

	/* A good one returns nr; then emptying all three. */
	expect_ret(ring_register_buffers_update(&ring, 0, fresh, 3), 3);
	expect_bufs(ring.ring_fd, 3, 3, 3, pin0, "3 slots updated");
	for (i = 0; i < 3; i++)
		expect_ret_msg(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd,
					old[i].iov_base, 64, 0, i), -EFAULT,
			       "slot %u: the replaced buffer", i);
	bad[0] = bad[1] = bad[2] = empty;
	expect_ret(ring_register_buffers_update(&ring, 0, bad, 3), 3);
	expect_bufs(ring.ring_fd, 3, 0, 0, pin0, "3 slots emptied");
	expect_ret(ring_unregister_buffers(&ring), 0);
	expect_no_bufs(ring.ring_fd, pin0, "unregistered");
	expect_ret_msg(ring_unregister_buffers(&ring), -ENXIO,
		       "second UNREGISTER");
	expect_ret_msg(ring_register_buffers_update(&ring, 0, fresh, 1), -ENXIO,
		       "UPDATE after UNREGISTER");
	expect_no_bufs(ring.ring_fd, pin0, "at the end");

	ring_queue_exit(&ring);
	close(mfd);
	munmap(m, 16 * PG);
	target_close(&t);
	expect_stats(&base, "unregister/update errors");
}

/*
 * READ_FIXED/WRITE_FIXED that name no buffer or reach outside it: CQE
 * -EFAULT, nothing read or written. Exactly the whole buffer, or its last
 * byte, is fine.
 */
static void test_fixed_io_bounds(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec iov[3], empty = { NULL, 0 };
	unsigned char *m, *file0, *file1, *b;
	size_t len = 3 * PG + 500;
	uint64_t rng;
	long pin0;
	unsigned i, op;

	require_ring();
	stats_baseline(&base);
	tmpfs_target(&t, 65536);
	rng = test_seed("fixed I/O bounds");
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	m = map_anon(16 * PG);
	file0 = malloc(65536);
	file1 = malloc(65536);
	assert_true(file0 && file1);
	rnd_fill(&rng, file0, 65536);
	xpwrite(t.fd, file0, 65536, 0);
	b = m + PG + 300;
	rnd_fill(&rng, m, 16 * PG);

	expect_ret_msg(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, b, 16, 0, 0),
		       -EFAULT, "READ_FIXED with no buffers registered");
	iov[0] = (struct iovec){ b, len };
	iov[1] = (struct iovec){ m + 10 * PG, 100 };
	iov[2] = (struct iovec){ m + 12 * PG, 100 };
	expect_ret(ring_register_buffers(&ring, iov, 3), 0);
	expect_ret(ring_register_buffers_update(&ring, 2, &empty, 1), 1);

	for (op = 0; op < 2; op++) {
		int opc = op ? RING_OP_WRITE_FIXED : RING_OP_READ_FIXED;
		const char *name = op ? "WRITE_FIXED" : "READ_FIXED";
		struct {
			const char *what;
			__u64 addr;
			unsigned len;
			unsigned idx;
		} c[] = {
			{ "slot 3 of 3", (uintptr_t)b, 16, 3 },
			{ "slot 100", (uintptr_t)b, 16, 100 },
			{ "slot 0xfffe", (uintptr_t)b, 16, 0xfffe },
			{ "RING_BUF_IOTLB without an IOTLB", (uintptr_t)b, 16,
			  RING_BUF_IOTLB },
			{ "the empty slot 2", (uintptr_t)iov[2].iov_base, 16, 2 },
			{ "slot 1 with slot 0's address", (uintptr_t)b, 16, 1 },
			{ "1 byte before the buffer", (uintptr_t)b - 1, 16, 0 },
			{ "1 byte past the end", (uintptr_t)b + len - 15, 16, 0 },
			{ "the buffer + 1 byte", (uintptr_t)b, len + 1, 0 },
			{ "far past the end", (uintptr_t)b + (1UL << 40), 16, 0 },
			{ "address 0", 0, 16, 0 },
			{ "addr + len wrapping", ~0ULL - 7, 16, 0 },
			{ "addr + len wrapping (2)", ~0ULL - 4095, 8192, 0 },
			{ "1 byte past slot 1", (uintptr_t)iov[1].iov_base + 1,
			  100, 1 },
		};

		for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			struct ring_sqe s;

			ring_prep_rw(opc, &s, t.fd, NULL, c[i].len, 8192);
			s.addr = c[i].addr;
			s.buf_index = (__u16)c[i].idx;
			s.user_data = i;
			memcpy(file1, m, 16 * PG);
			expect_ret_msg(run_one(&ring, &s), -EFAULT, "%s of %s",
				       name, c[i].what);
			/* Nothing moved either way. */
			expect_same(m, file1, 16 * PG, "%s of %s: memory",
				    name, c[i].what);
			xpread(t.fd, file1, 65536, 0);
			expect_same(file1, file0, 65536, "%s of %s: file",
				    name, c[i].what);
		}
	}

	/* The exact extent and the last byte are inside. */
	expect_ret_msg(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, b, len, 1000, 0),
		       len, "READ_FIXED of the whole buffer");
	expect_same(b, file0 + 1000, len, "whole-buffer READ_FIXED");
	expect_ret_msg(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd, b + len - 1, 1,
				40000, 0), 1, "WRITE_FIXED of the last byte");
	xpread(t.fd, file1, 1, 40000);
	assert_int_equal(file1[0], b[len - 1]);
	expect_ret_msg(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd,
				iov[1].iov_base, 100, 50000, 1), 100,
		       "WRITE_FIXED of all of slot 1");

	ring_queue_exit(&ring);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin after close");
	free(file0);
	free(file1);
	munmap(m, 16 * PG);
	target_close(&t);
	expect_stats(&base, "fixed I/O bounds");
}

/*
 * The most slots there can be: 16384 buffers of 1 KiB (four to a page,
 * each charged its page) register, do I/O in the first, middle and last
 * slot, update the last, and go away again by unregister and by close.
 */
static void test_16384_slots(void **state)
{
	enum { N = 16384, SZ = 1024 };
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec *iov = calloc(N + 1, sizeof(*iov)), up;
	static const unsigned probe[] = { 0, 1, 8191, 16382, 16383 };
	unsigned char *m;
	uint64_t rng;
	long long t0;
	long pin0;
	unsigned i;

	require_ring();
	assert_non_null(iov);
	stats_baseline(&base);
	tmpfs_target(&t, 1 << 20);
	rng = test_seed("16384 slots");
	pin0 = vmpin_pages();
	m = map_anon((size_t)N * SZ + PG);
	for (i = 0; i <= N; i++)
		iov[i] = (struct iovec){ m + (size_t)i * SZ, SZ };
	ring_init_or_fail(&ring, 8);

	expect_reg_fails(&ring, iov, N + 1, -EINVAL, pin0, "16385 slots");
	t0 = now_ns();
	expect_ret(ring_register_buffers(&ring, iov, N), 0);
	print_message("# 16384 slots registered in %lld ms\n",
		      (now_ns() - t0) / 1000000);
	expect_bufs(ring.ring_fd, N, N, N, pin0, "16384 slots of 1 KiB");
	for (i = 0; i < sizeof(probe) / sizeof(probe[0]); i++)
		roundtrip(&ring, t.fd, &iov[probe[i]], probe[i], i * SZ, &rng);
	expect_ret_msg(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, iov[5].iov_base,
				SZ, 0, 4), -EFAULT,
		       "slot 4 with slot 5's (adjacent) address");

	up = (struct iovec){ m + (size_t)N * SZ, SZ };
	expect_ret(ring_register_buffers_update(&ring, N - 1, &up, 1), 1);
	expect_ret_msg(raw_update(ring.ring_fd, N - 1, 0, &up, 2), -EINVAL,
		       "UPDATE of slots 16383-16384");
	expect_bufs(ring.ring_fd, N, N, N, pin0, "last slot replaced");
	roundtrip(&ring, t.fd, &up, N - 1, 65536, &rng);

	t0 = now_ns();
	expect_ret(ring_unregister_buffers(&ring), 0);
	print_message("# 16384 slots unregistered in %lld ms\n",
		      (now_ns() - t0) / 1000000);
	expect_no_bufs(ring.ring_fd, pin0, "16384 slots unregistered");
	expect_ret(ring_register_buffers(&ring, iov, N), 0);
	expect_bufs(ring.ring_fd, N, N, N, pin0, "16384 slots again");
	ring_queue_exit(&ring);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin after close");
	munmap(m, (size_t)N * SZ + PG);
	free(iov);
	target_close(&t);
	expect_stats(&base, "16384 slots");
}

/*
 * The largest buffer: exactly 1 GiB of anonymous memory (transparent huge
 * pages allowed) pins 262144 pages, does I/O at its far end and in the
 * middle, and all of it is freed again once unregistered and unmapped.
 */
static void test_one_gib(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec iov;
	unsigned char *m, *want, *got;
	const size_t io = 65536;
	size_t offs[3] = { GIB - io, GIB / 2 + 100, 4096 * 3 + 7 };
	long avail0, held0, held, pin0, bvecs;
	uint64_t rng;
	long long t0;
	unsigned i;

	require_ring();
	avail0 = meminfo_kb("MemAvailable");
	if (avail0 < (long)((GIB + (256UL << 20)) >> 10))
		FIXED_SKIP("a 1 GiB buffer needs 1.25 GiB available, the guest "
			   "has %ld MiB (tools/vm/run --mem 3G)", avail0 >> 10);
	stats_baseline(&base);
	held0 = mem_unexplained_kb();
	tmpfs_target(&t, 1 << 20);
	rng = test_seed("1 GiB buffer");
	pin0 = vmpin_pages();
	m = mmap(NULL, GIB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(m != MAP_FAILED);
	want = malloc(io);
	got = malloc(io);
	assert_true(want && got);
	ring_init_or_fail(&ring, 4);

	iov = (struct iovec){ m, GIB + 1 };
	expect_reg_fails(&ring, &iov, 1, -EFAULT, pin0, "1 GiB + 1 byte");
	iov = (struct iovec){ m, GIB };
	t0 = now_ns();
	expect_ret(ring_register_buffers(&ring, &iov, 1), 0);
	print_message("# 1 GiB registered in %lld ms\n",
		      (now_ns() - t0) / 1000000);
	bvecs = fdinfo_get(ring.ring_fd, "BufferBvecs");
	expect_bufs(ring.ring_fd, 1, GIB / PG, -1, pin0, "1 GiB buffer");
	/* Coalesced at most to 2 MiB folios, at least one bvec per page. */
	if (bvecs < (long)(GIB / HPAGE) || bvecs > (long)(GIB / PG))
		fail_msg("BufferBvecs %ld for 1 GiB, expected 512..262144",
			 bvecs);
	print_message("# 1 GiB buffer: %ld bvecs\n", bvecs);

	for (i = 0; i < 3; i++) {
		rnd_fill(&rng, m + offs[i], io);
		memcpy(want, m + offs[i], io);
		expect_ret_msg(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd,
					m + offs[i], io, i * io, 0), io,
			       "WRITE_FIXED at %zu of 1 GiB", offs[i]);
		xpread(t.fd, got, io, i * io);
		expect_same(got, want, io, "file after WRITE_FIXED at %zu",
			    offs[i]);
		rnd_fill(&rng, want, io);
		xpwrite(t.fd, want, io, i * io);
		expect_ret_msg(fixed_io(&ring, RING_OP_READ_FIXED, t.fd,
					m + offs[i], io, i * io, 0), io,
			       "READ_FIXED at %zu of 1 GiB", offs[i]);
		expect_same(m + offs[i], want, io, "READ_FIXED at %zu",
			    offs[i]);
	}
	expect_ret_msg(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, m + GIB - 10,
				11, 0, 0), -EFAULT,
		       "READ_FIXED 1 byte past 1 GiB");

	t0 = now_ns();
	expect_ret(ring_unregister_buffers(&ring), 0);
	print_message("# 1 GiB unregistered in %lld ms\n",
		      (now_ns() - t0) / 1000000);
	expect_no_bufs(ring.ring_fd, pin0, "1 GiB unregistered");
	ring_queue_exit(&ring);
	munmap(m, GIB);
	/* Unpinned pages are freed by the munmap: the memory is back. */
	held = mem_unexplained_kb();
	if (held > held0 + (4L << 10))
		fail_msg("%ld MiB held by no known owner after unmapping, %ld "
			 "MiB before the 1 GiB buffer: pages still pinned?",
			 held >> 10, held0 >> 10);
	free(want);
	free(got);
	target_close(&t);
	expect_stats(&base, "1 GiB buffer");
}

/*
 * 1 GiB in 4 KiB bvecs without 1 GiB of memory: a 2 MiB memfd mapped 512
 * times. 262144 pages pinned and charged (each memfd page 512 times), no
 * coalescing; I/O at the far end and in the middle names the right page.
 */
static void test_one_gib_aliased(void **state)
{
	const size_t io = 3 * PG + 300, mf = HPAGE;
	size_t offs[3] = { GIB - io, 700UL * (1 << 20) + 100, PG - 1 };
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec iov;
	unsigned char *va, *shadow, *got, *now;
	uint64_t rng;
	long long t0;
	long pin0;
	unsigned i;
	int fd;

	require_ring();
	stats_baseline(&base);
	tmpfs_target(&t, 1 << 20);
	rng = test_seed("1 GiB of one 2 MiB memfd");
	fd = memfd_sized("ring-gib", mf, 0);
	shadow = xalloc(mf);
	now = xalloc(mf);
	got = xalloc(io);
	rnd_fill(&rng, shadow, mf);
	xpwrite(fd, shadow, mf, 0);
	va = map_reserve(GIB, HPAGE);
	for (i = 0; i < GIB / mf; i++)
		map_fixed_fd(va + i * mf, mf, fd, 0, PROT_READ | PROT_WRITE,
			     MAP_SHARED);
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	iov = (struct iovec){ va, GIB };
	t0 = now_ns();
	expect_ret(ring_register_buffers(&ring, &iov, 1), 0);
	print_message("# 1 GiB of 512 aliases registered in %lld ms\n",
		      (now_ns() - t0) / 1000000);
	expect_bufs(ring.ring_fd, 1, GIB / PG, GIB / PG, pin0,
		    "1 GiB of one memfd");
	for (i = 0; i < 3; i++) {
		size_t o = offs[i], k;

		expect_ret_msg(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd, va + o,
					io, 0, 0), io, "WRITE_FIXED at %zu", o);
		xpread(t.fd, got, io, 0);
		for (k = 0; k < io; k++)
			if (got[k] != shadow[(o + k) % mf])
				fail_msg("WRITE_FIXED at %zu: byte %zu is 0x%02x, "
					 "the memfd has 0x%02x", o, k, got[k],
					 shadow[(o + k) % mf]);
		rnd_fill(&rng, got, io);
		xpwrite(t.fd, got, io, 0);
		expect_ret_msg(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, va + o,
					io, 0, 0), io, "READ_FIXED at %zu", o);
		for (k = 0; k < io; k++)
			shadow[(o + k) % mf] = got[k];
		xpread(fd, now, mf, 0);
		expect_same(now, shadow, mf, "memfd after READ_FIXED at %zu", o);
	}
	t0 = now_ns();
	expect_ret(ring_unregister_buffers(&ring), 0);
	print_message("# unregistered in %lld ms\n", (now_ns() - t0) / 1000000);
	expect_no_bufs(ring.ring_fd, pin0, "1 GiB of one memfd unregistered");
	ring_queue_exit(&ring);
	munmap(va, GIB);
	close(fd);
	free(shadow);
	free(now);
	free(got);
	target_close(&t);
	expect_stats(&base, "1 GiB of one memfd");
}

/*
 * Close the ring while O_DIRECT READ_FIXED/WRITE_FIXED on null_blk are in
 * flight: file and device I/O ends on its own, the buffer stays pinned
 * until it has, then VmPin and the module counters come back. Every write
 * landed; every read got the block's old or new content.
 */
static void test_close_inflight(void **state)
{
	enum { N = 32, SZ = 65536 };
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec iov;
	unsigned char *m, *dev, *prev, *got;
	long long deadline;
	uint64_t rng;
	long pin0, pin;
	unsigned i, round, busy = 0;

	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_NULLB, true, 0, N * SZ);
	rng = test_seed("close with fixed I/O in flight");
	pin0 = vmpin_pages();
	m = map_anon(N * SZ);
	dev = xalloc(N * SZ);
	prev = xalloc(N * SZ);
	got = xalloc(N * SZ);
	rnd_fill(&rng, dev, N * SZ);
	xpwrite(t.fd, dev, N * SZ, 0);
	for (round = 0; round < scaled(8, 2); round++) {
		memcpy(prev, dev, N * SZ);
		ring_init_or_fail(&ring, N);
		rnd_fill(&rng, m, N * SZ);
		iov = (struct iovec){ m, N * SZ };
		expect_ret(ring_register_buffers(&ring, &iov, 1), 0);
		for (i = 0; i < N; i++) {
			struct ring_sqe *sqe = ring_get_sqe(&ring);

			/* Even: slice i to block i; odd: block i+1 into it. */
			if (i % 2)
				ring_prep_read_fixed(sqe, t.fd, m + i * SZ, SZ,
						     (i + 1) % N * (off_t)SZ, 0);
			else
				ring_prep_write_fixed(sqe, t.fd, m + i * SZ, SZ,
						      i * (off_t)SZ, 0);
		}
		expect_ret(ring_submit(&ring), N);
		ring_queue_exit(&ring);
		busy += vmpin_pages() != pin0;
		deadline = now_ns() + io_timeout_ms() * 1000000LL;
		while ((pin = vmpin_pages()) != pin0) {
			if (now_ns() > deadline)
				fail_msg("round %u: VmPin still +%ld pages after "
					 "close", round, pin - pin0);
			sleep_ms(5);
		}
		expect_stats(&base, "close with fixed I/O in flight");
		xpread(t.fd, got, N * SZ, 0);
		for (i = 0; i < N; i += 2) {
			unsigned r = (i + N - 1) % N;	/* read of block i */

			expect_same(got + i * SZ, m + i * SZ, SZ, "round %u: "
				    "block %u after close", round, i);
			if (memcmp(m + r * SZ, prev + i * SZ, SZ) &&
			    memcmp(m + r * SZ, m + i * SZ, SZ))
				fail_msg("round %u: READ_FIXED of block %u got "
					 "neither its old nor its new data",
					 round, i);
		}
		memcpy(dev, got, N * SZ);
	}
	print_message("# buffer still pinned right after close in %u of %u "
		      "rounds\n", busy, round);
	munmap(m, N * SZ);
	free(dev);
	free(prev);
	free(got);
	target_close(&t);
}

struct other_mm {
	int ring_fd;
	struct iovec iov;
};

/* In a forked child: the parent's ring refuses every REGISTER opcode. */
static void other_mm_child(void *arg)
{
	struct other_mm *o = arg;
	struct ring_buf_update up = { .iovecs = (uintptr_t)&o->iov };
	long pin0 = vmpin_pages_try();

	CHILD_EXPECT(raw_register(o->ring_fd, RING_REGISTER_BUFFERS, 1,
				  (uintptr_t)&o->iov), -EPERM,
		     "REGISTER_BUFFERS from another mm");
	CHILD_EXPECT(raw_register(o->ring_fd, RING_REGISTER_BUFFERS_UPDATE, 1,
				  (uintptr_t)&up), -EPERM,
		     "REGISTER_BUFFERS_UPDATE from another mm");
	CHILD_EXPECT(raw_register(o->ring_fd, RING_UNREGISTER_BUFFERS, 0, 0),
		     -EPERM, "UNREGISTER_BUFFERS from another mm");
	CHILD_CHECK(vmpin_pages_try() == pin0, "the child's VmPin changed");
}

/*
 * A forked child (another mm) cannot register its memory into the
 * parent's ring, nor change or drop the parent's buffers.
 */
static void test_other_mm(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct other_mm o;
	struct iovec iov;
	char *m;
	long pin0;

	require_ring();
	stats_baseline(&base);
	pin0 = vmpin_pages();
	m = map_anon(8 * PG);
	memset(m, 1, 8 * PG);
	ring_init_or_fail(&ring, 4);
	run_child(other_mm_child, &(struct other_mm){ ring.ring_fd,
			{ m, 2 * PG } }, "nothing registered, from a child");
	expect_no_bufs(ring.ring_fd, pin0, "child refused");
	iov = (struct iovec){ m + 4 * PG, 3 * PG };
	expect_ret(ring_register_buffers(&ring, &iov, 1), 0);
	o = (struct other_mm){ ring.ring_fd, { m, 2 * PG } };
	run_child(other_mm_child, &o, "registered, from a child");
	expect_bufs(ring.ring_fd, 1, 3, 3, pin0, "parent's buffer untouched");
	ring_queue_exit(&ring);
	munmap(m, 8 * PG);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin after close");
	expect_stats(&base, "another mm");
}

struct cow_child {
	unsigned char *buf;
	size_t len;
};

static void cow_child_main(void *arg)
{
	struct cow_child *c = arg;

	/* The child's copy only: must not reach the parent's pinned pages. */
	memset(c->buf, 0xcc, c->len);
}

/*
 * fork() with a registered anonymous buffer: the parent keeps the pinned
 * pages (what it writes afterwards is what WRITE_FIXED sends, READ_FIXED
 * lands where it looks), the child's writes stay in its own copy.
 */
static void test_fork_keeps_pinned_pages(void **state)
{
	const size_t len = 16 * PG;
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec iov;
	struct cow_child c;
	unsigned char *m, *want, *got;
	uint64_t rng;
	long pin0;
	unsigned round;

	require_ring();
	stats_baseline(&base);
	tmpfs_target(&t, len);
	rng = test_seed("fork with a registered buffer");
	pin0 = vmpin_pages();
	m = map_anon(len);
	want = xalloc(len);
	got = xalloc(len);
	rnd_fill(&rng, m, len);
	ring_init_or_fail(&ring, 4);
	iov = (struct iovec){ m, len };
	expect_ret(ring_register_buffers(&ring, &iov, 1), 0);

	for (round = 0; round < 3; round++) {
		c = (struct cow_child){ m, len };
		run_child(cow_child_main, &c, "child writing its copy");
		/* Written by the parent after the fork. */
		rnd_fill(&rng, m, len);
		memcpy(want, m, len);
		expect_ret_msg(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd, m, len,
					0, 0), len, "round %u: WRITE_FIXED", round);
		xpread(t.fd, got, len, 0);
		expect_same(got, want, len, "round %u: WRITE_FIXED after fork "
			    "sent other than what the parent wrote", round);
		rnd_fill(&rng, want, len);
		xpwrite(t.fd, want, len, 0);
		expect_ret_msg(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, m, len,
					0, 0), len, "round %u: READ_FIXED", round);
		expect_same(m, want, len, "round %u: READ_FIXED after fork did "
			    "not land in the parent's memory", round);
	}
	expect_bufs(ring.ring_fd, 1, 16, 16, pin0, "after the forks");
	ring_queue_exit(&ring);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin after close");
	munmap(m, len);
	free(want);
	free(got);
	target_close(&t);
	expect_stats(&base, "fork with a registered buffer");
}

/*
 * A buffer is the pages pinned at registration: unmapped and replaced by
 * new memory at the same address, WRITE_FIXED still sends the old pages'
 * data and READ_FIXED fills them, not the new mapping. A MAP_PRIVATE memfd
 * mapping is pinned as the private copy: the memfd never changes.
 */
static void test_buffer_is_pinned_pages(void **state)
{
	const size_t len = 8 * PG;
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec iov[2];
	unsigned char *m, *p, *old, *got, *mf;
	uint64_t rng;
	long pin0;
	int mfd;

	require_ring();
	stats_baseline(&base);
	tmpfs_target(&t, 1 << 20);
	rng = test_seed("buffer is its pinned pages");
	pin0 = vmpin_pages();
	m = map_anon(len);
	old = xalloc(len);
	got = xalloc(len);
	rnd_fill(&rng, m, len);
	memcpy(old, m, len);
	mfd = memfd_sized("ring-private", len, 0);
	mf = xalloc(len);
	rnd_fill(&rng, mf, len);
	xpwrite(mfd, mf, len, 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	assert_true(p != MAP_FAILED);
	ring_init_or_fail(&ring, 4);
	iov[0] = (struct iovec){ m, len };
	iov[1] = (struct iovec){ p, len };
	expect_ret(ring_register_buffers(&ring, iov, 2), 0);
	expect_bufs(ring.ring_fd, 2, 16, 16, pin0, "anonymous + private memfd");

	/* New memory where the buffer was. */
	assert_int_equal(munmap(m, len), 0);
	assert_true(mmap(m, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == m);
	memset(m, 0x11, len);
	expect_bufs(ring.ring_fd, 2, 16, 16, pin0, "buffer unmapped");
	expect_ret(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd, m, len, 0, 0), len);
	xpread(t.fd, got, len, 0);
	expect_same(got, old, len, "WRITE_FIXED after the buffer was replaced "
		    "by a new mapping");
	expect_ret(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, m + 100, len - 200,
			    65536, 0), len - 200);
	for (size_t i = 0; i < len; i++)
		if (m[i] != 0x11)
			fail_msg("READ_FIXED wrote into the new mapping (byte %zu)",
				 i);

	/* The private copy: data from the memfd, reads never reach it. */
	expect_ret(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd, p, len, 0, 1), len);
	xpread(t.fd, got, len, 0);
	expect_same(got, mf, len, "WRITE_FIXED from a private memfd mapping");
	rnd_fill(&rng, got, len);
	xpwrite(t.fd, got, len, 0);
	expect_ret(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, p, len, 0, 1), len);
	expect_same(p, got, len, "READ_FIXED into a private memfd mapping");
	xpread(mfd, got, len, 0);
	expect_same(got, mf, len, "the memfd behind a private mapping");

	expect_ret(ring_unregister_buffers(&ring), 0);
	expect_no_bufs(ring.ring_fd, pin0, "unregistered");
	ring_queue_exit(&ring);
	munmap(m, len);
	munmap(p, len);
	close(mfd);
	free(old);
	free(got);
	free(mf);
	target_close(&t);
	expect_stats(&base, "buffer is its pinned pages");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_accounting),
	cmocka_unit_test(test_register_errors),
	cmocka_unit_test(test_register_file_backed),
	cmocka_unit_test(test_register_device_mappings),
	cmocka_unit_test(test_unregister_update_errors),
	cmocka_unit_test(test_fixed_io_bounds),
	cmocka_unit_test(test_16384_slots),
	cmocka_unit_test(test_one_gib),
	cmocka_unit_test(test_one_gib_aliased),
	cmocka_unit_test(test_close_inflight),
	cmocka_unit_test(test_other_mm),
	cmocka_unit_test(test_fork_keeps_pinned_pages),
	cmocka_unit_test(test_buffer_is_pinned_pages),
};

VMTEST_MAIN(tests)
