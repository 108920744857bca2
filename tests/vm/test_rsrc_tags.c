// SPDX-License-Identifier: MIT
/*
 * RING_REGISTER_BUFFERS2 and RING_REGISTER_BUFFERS_UPDATE2 (io_uring's
 * IORING_REGISTER_BUFFERS2 / IORING_REGISTER_BUFFERS_UPDATE), sparse tables
 * and buffer tags:
 *   - every rejection with its errno, leaving nothing pinned, charged
 *     (locked_vm, as nobody under RLIMIT_MEMLOCK) or allocated;
 *   - UPDATE2 stops at the first bad slot and returns how many went in;
 *   - a sparse table, a buffer updated into it, READ_FIXED into that;
 *   - a tag CQE {tag, 0, 0} when a tagged buffer leaves the table (update,
 *     UNREGISTER), once, after the CQE of the last I/O using it (a read of
 *     a pipe holds it), through the backlog when the CQ ring is full and
 *     in order with the requests there;
 *   - updates racing O_DIRECT I/O on null_blk (completions in IRQ
 *     context): every tag exactly once;
 *   - close with tagged buffers, owed tags, backlogged tags and I/O in
 *     flight: nothing left behind.
 * fdinfo CqTags counts the tags owed since setup; an owed tag counts in
 * Inflight until it is posted.
 */
#include "fixedtest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <linux/time_types.h>
#include <pthread.h>
#include <stdatomic.h>

#define TAG(n)		(0x7a6000000000ULL | (n))
#define IS_TAG(u)	(((u) >> 36) == (0x7a6000000000ULL >> 36))

static int reg2(int fd, __u32 nr, __u32 flags, __u64 resv2,
		const struct iovec *iov, const __u64 *tags, unsigned nr_args)
{
	struct ring_rsrc_register rr = {
		.nr = nr, .flags = flags, .resv2 = resv2,
		.data = (uintptr_t)iov, .tags = (uintptr_t)tags,
	};

	return raw_register(fd, RING_REGISTER_BUFFERS2, nr_args,
			    (uintptr_t)&rr);
}

static int tags_register(int fd, const struct iovec *iov, const __u64 *tags,
			 unsigned nr)
{
	return reg2(fd, nr, 0, 0, iov, tags, sizeof(struct ring_rsrc_register));
}

static int sparse_register(int fd, unsigned nr)
{
	return reg2(fd, nr, RING_RSRC_REGISTER_SPARSE, 0, NULL, NULL,
		    sizeof(struct ring_rsrc_register));
}

static int upd2_raw(int fd, __u32 off, __u32 resv, __u32 resv2,
		    const struct iovec *iov, const __u64 *tags, __u32 nr,
		    unsigned nr_args)
{
	struct ring_rsrc_update2 up = {
		.offset = off, .resv = resv, .resv2 = resv2,
		.data = (uintptr_t)iov, .tags = (uintptr_t)tags, .nr = nr,
	};

	return raw_register(fd, RING_REGISTER_BUFFERS_UPDATE2, nr_args,
			    (uintptr_t)&up);
}

static int upd2(int fd, __u32 off, const struct iovec *iov, const __u64 *tags,
		__u32 nr)
{
	return upd2_raw(fd, off, 0, 0, iov, tags, nr,
			sizeof(struct ring_rsrc_update2));
}

/* One tag or request CQE within the I/O timeout; fails the test if none. */
static struct ring_cqe next_cqe(struct ring *ring, const char *what)
{
	struct ring_cqe cqe;
	int n = reap(ring, &cqe, 1, io_timeout_ms());

	if (n != 1)
		fail_msg("%s: no CQE within %d ms (%s, Inflight %lld, CqTags "
			 "%lld)", what, io_timeout_ms(), errstr(n),
			 fdinfo_get(ring->ring_fd, "Inflight"),
			 fdinfo_get(ring->ring_fd, "CqTags"));
	return cqe;
}

static void expect_tag(struct ring *ring, __u64 tag, const char *what)
{
	struct ring_cqe c = next_cqe(ring, what);

	if (c.user_data != tag || c.res || c.flags)
		fail_msg("%s: CQE {0x%llx, %d, 0x%x}, expected the tag {0x%llx, "
			 "0, 0}", what, (unsigned long long)c.user_data, c.res,
			 c.flags, (unsigned long long)tag);
}

/* No CQE shows up within ms (and none waits in the backlog). */
static void expect_no_cqe(struct ring *ring, int ms, const char *what)
{
	struct ring_cqe c;
	int n = reap(ring, &c, 1, ms);

	if (n)
		fail_msg("%s: unexpected CQE {0x%llx, %d} (%s)", what,
			 (unsigned long long)c.user_data, c.res, errstr(n));
}

static void expect_fdinfo(int fd, const char *key, long long want,
			  const char *what)
{
	long long deadline = now_ns() + settle_ms() * 1000000LL, v;

	while ((v = fdinfo_get(fd, key)) != want) {
		if (now_ns() > deadline)
			fail_msg("%s: fdinfo %s %lld, expected %lld", what, key,
				 v, want);
		sleep_ms(5);
	}
}

/* VmPin back to pin0 + pages within the I/O timeout. */
static void expect_vmpin(long pin0, long pages, const char *what)
{
	long long deadline = now_ns() + io_timeout_ms() * 1000000LL;
	long pin;

	while ((pin = vmpin_pages()) != pin0 + pages) {
		if (now_ns() > deadline)
			fail_msg("%s: VmPin +%ld pages, expected +%ld", what,
				 pin - pin0, pages);
		sleep_ms(5);
	}
}

/* ---- rejections ---------------------------------------------------------- */

/*
 * BUFFERS2: every refusal with its errno, nothing registered or pinned
 * after it, no CQE; then -EBUSY over a table, from either opcode.
 */
static void test_register2_errors(void **state)
{
	const unsigned nra = sizeof(struct ring_rsrc_register);
	struct ring_stats base;
	struct ring ring;
	struct iovec iov[4];
	__u64 tags[4] = { TAG(1), TAG(2), 0, TAG(4) };
	char *m, *hole;
	long pin0;
	int fd;

	require_ring();
	stats_baseline(&base);
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	fd = ring.ring_fd;
	m = map_anon(16 * PG);
	memset(m, 1, 16 * PG);
	hole = map_anon(PG);
	munmap(hole, PG);
	iov[0] = (struct iovec){ m, PG };
	iov[1] = (struct iovec){ m + 2 * PG, 2 * PG };
	iov[2] = (struct iovec){ m + 5 * PG, 100 };
	iov[3] = (struct iovec){ m + 8 * PG + 1, PG };

	expect_ret_msg(reg2(fd, 4, 0, 0, iov, tags, nra - 1), -EINVAL,
		       "nr_args 31");
	expect_ret_msg(reg2(fd, 4, 0, 0, iov, tags, nra + 1), -EINVAL,
		       "nr_args 33");
	expect_ret_msg(reg2(fd, 4, 0, 0, iov, tags, 0), -EINVAL, "nr_args 0");
	expect_ret_msg(raw_register(fd, RING_REGISTER_BUFFERS2, nra, 0), -EFAULT,
		       "arg NULL");
	expect_ret_msg(raw_register(fd, RING_REGISTER_BUFFERS2, nra,
				    (uintptr_t)hole), -EFAULT, "arg unmapped");
	expect_ret_msg(reg2(fd, 4, 2, 0, iov, tags, nra), -EINVAL,
		       "flags bit 1");
	expect_ret_msg(reg2(fd, 4, 1U << 31, 0, iov, tags, nra), -EINVAL,
		       "flags bit 31");
	expect_ret_msg(reg2(fd, 4, 0, 1, iov, tags, nra), -EINVAL, "resv2 1");
	expect_ret_msg(reg2(fd, 4, RING_RSRC_REGISTER_SPARSE, 0, iov, NULL, nra),
		       -EINVAL, "SPARSE with data");
	expect_ret_msg(reg2(fd, 4, RING_RSRC_REGISTER_SPARSE, 0, NULL, tags,
			    nra), -EINVAL, "SPARSE with tags");
	expect_ret_msg(reg2(fd, 0, RING_RSRC_REGISTER_SPARSE, 0, NULL, NULL,
			    nra), -EINVAL, "SPARSE, nr 0");
	expect_ret_msg(sparse_register(fd, RING_MAX_BUFFERS + 1), -EINVAL,
		       "SPARSE, nr 16385");
	expect_ret_msg(tags_register(fd, iov, tags, 0), -EINVAL, "nr 0");
	expect_ret_msg(tags_register(fd, iov, tags, RING_MAX_BUFFERS + 1),
		       -EINVAL, "nr 16385");
	expect_ret_msg(tags_register(fd, NULL, tags, 4), -EFAULT,
		       "no SPARSE, data 0");
	expect_ret_msg(tags_register(fd, (struct iovec *)hole, NULL, 4), -EFAULT,
		       "iovecs unmapped");
	expect_ret_msg(tags_register(fd, iov, (__u64 *)hole, 4), -EFAULT,
		       "tags unmapped");
	{
		/* Tags 3 and 4 unmapped: buffers 1 and 2 are built, undone. */
		char *tp = map_anon(2 * PG);
		__u64 *tt = (__u64 *)(tp + PG) - 2;

		munmap(tp + PG, PG);
		tt[0] = TAG(1);
		tt[1] = TAG(2);
		expect_ret_msg(tags_register(fd, iov, tt, 4), -EFAULT,
			       "tags 3 and 4 unmapped");
		munmap(tp, PG);
	}
	expect_no_bufs(fd, pin0, "after the argument checks");

	/* Per buffer, as REGISTER_BUFFERS; the earlier ones are undone. */
	{
		static const char *const what[] = {
			"unmapped", "NULL base, length 8", "length 0",
			"over 1 GiB", "tag on an empty iovec",
		};
		static const int err[] = { -EFAULT, -EFAULT, -EFAULT, -EFAULT,
					   -EINVAL };
		struct iovec bad[4];
		unsigned i;

		for (i = 0; i < 5; i++) {
			memcpy(bad, iov, sizeof(bad));
			switch (i) {
			case 0: bad[3] = (struct iovec){ hole, 8 }; break;
			case 1: bad[3] = (struct iovec){ NULL, 8 }; break;
			case 2: bad[3] = (struct iovec){ m, 0 }; break;
			case 3: bad[3] = (struct iovec){ m, (1UL << 30) + 1 };
				break;
			case 4: bad[3] = (struct iovec){ NULL, 0 }; break;
			}
			expect_ret_msg(tags_register(fd, bad, tags, 4), err[i],
				       "4th buffer %s", what[i]);
			expect_no_bufs(fd, pin0, what[i]);
		}
	}
	expect_no_cqe(&ring, 20, "after refused registrations");
	expect_ret_msg(fdinfo_get(fd, "CqTags"), 0, "CqTags");
	expect_no_requests(&base, "refused BUFFERS2");

	/* {NULL, 0} without a tag is an empty slot (as io_uring's). */
	iov[1] = (struct iovec){ NULL, 0 };
	tags[1] = 0;
	expect_ret(tags_register(fd, iov, tags, 4), 0);
	expect_bufs(fd, 4, 1 + 1 + 2, -1, pin0, "3 buffers, slot 1 empty");
	expect_ret_msg(tags_register(fd, iov, tags, 4), -EBUSY,
		       "BUFFERS2 over a table");
	expect_ret_msg(sparse_register(fd, 4), -EBUSY, "SPARSE over a table");
	expect_ret_msg(ring_register_buffers(&ring, iov, 1), -EBUSY,
		       "REGISTER_BUFFERS over a BUFFERS2 table");
	expect_ret(ring_unregister_buffers(&ring), 0);
	expect_tag(&ring, TAG(1), "unregister: slot 0");
	expect_tag(&ring, TAG(4), "unregister: slot 3");
	expect_no_cqe(&ring, 20, "untagged slot 2");
	expect_no_bufs(fd, pin0, "unregistered");
	expect_ret(ring_register_buffers(&ring, iov, 1), 0);
	expect_ret_msg(sparse_register(fd, 4), -EBUSY,
		       "SPARSE over a REGISTER_BUFFERS table");
	expect_ret(ring_unregister_buffers(&ring), 0);
	expect_ret_msg(fdinfo_get(fd, "CqTags"), 2, "CqTags");
	expect_inflight0(&ring, "at the end");

	ring_queue_exit(&ring);
	munmap(m, 16 * PG);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin at the end");
	expect_stats(&base, "BUFFERS2 errors");
}

/* The three slots hold the buffers at want[] (NULL base: empty). */
static void expect_slots(struct ring *ring, int tfd, const struct iovec *want,
			 unsigned n, const char *what)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		int res = fixed_io(ring, RING_OP_WRITE_FIXED, tfd,
				   want[i].iov_base ? want[i].iov_base : "",
				   want[i].iov_base ? 8 : 1, 0, i);

		expect_ret_msg(res, want[i].iov_base ? 8 : -EFAULT,
			       "%s: WRITE_FIXED from slot %u", what, i);
	}
}

/*
 * BUFFERS_UPDATE2: argument errors change nothing; a bad slot stops the
 * update there: the slots before it are updated and counted (their old
 * tags posted), an error only if it was the first.
 */
static void test_update2_errors(void **state)
{
	const unsigned nra = sizeof(struct ring_rsrc_update2);
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec old[3], fresh[3], bad[3];
	__u64 tags[3] = { TAG(1), TAG(2), TAG(3) }, nt[3];
	char *m, *hole;
	long pin0;
	int fd;

	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_TMPFS, false, 0, 65536);
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	fd = ring.ring_fd;
	m = map_anon(16 * PG);
	memset(m, 2, 16 * PG);
	hole = map_anon(PG);
	munmap(hole, PG);
	for (unsigned i = 0; i < 3; i++) {
		old[i] = (struct iovec){ m + i * PG, 100 };
		fresh[i] = (struct iovec){ m + (8 + i) * PG, 200 };
		nt[i] = TAG(10 + i);
	}

	expect_ret_msg(upd2(fd, 0, fresh, nt, 1), -ENXIO, "no table");
	expect_ret(tags_register(fd, old, tags, 3), 0);
	expect_ret_msg(upd2_raw(fd, 0, 0, 0, fresh, nt, 1, nra - 1), -EINVAL,
		       "nr_args 31");
	expect_ret_msg(upd2_raw(fd, 0, 0, 0, fresh, nt, 1, 0), -EINVAL,
		       "nr_args 0");
	expect_ret_msg(raw_register(fd, RING_REGISTER_BUFFERS_UPDATE2, nra,
				    (uintptr_t)hole), -EFAULT, "arg unmapped");
	expect_ret_msg(upd2_raw(fd, 0, 1, 0, fresh, nt, 1, nra), -EINVAL,
		       "resv 1");
	expect_ret_msg(upd2_raw(fd, 0, 0, 1, fresh, nt, 1, nra), -EINVAL,
		       "resv2 1");
	expect_ret_msg(upd2(fd, 0, fresh, nt, 0), -EINVAL, "nr 0");
	expect_ret_msg(upd2(fd, 3, fresh, nt, 1), -EINVAL, "slot 3 of 3");
	expect_ret_msg(upd2(fd, 2, fresh, nt, 2), -EINVAL, "slots 2-3 of 3");
	expect_ret_msg(upd2(fd, 0xffffffffU, fresh, nt, 2), -EINVAL,
		       "offset 0xffffffff, 2 slots");
	expect_ret_msg(upd2(fd, 0xfffffffeU, fresh, nt, 2), -EINVAL,
		       "offset + nr wrapping to 0");
	expect_ret_msg(upd2(fd, 0, NULL, nt, 1), -EFAULT, "data 0");
	expect_ret_msg(upd2(fd, 0, fresh, (__u64 *)hole, 1), -EFAULT,
		       "tags unmapped");
	memcpy(bad, fresh, sizeof(bad));
	bad[0] = (struct iovec){ NULL, 0 };
	expect_ret_msg(upd2(fd, 0, bad, nt, 1), -EINVAL, "tag on empty");
	bad[0] = (struct iovec){ hole, 8 };
	expect_ret_msg(upd2(fd, 0, bad, nt, 3), -EFAULT, "first of 3 unmapped");
	expect_slots(&ring, t.fd, old, 3, "after refused UPDATE2s");
	expect_bufs(fd, 3, 3, 3, pin0, "after refused UPDATE2s");
	expect_no_cqe(&ring, 20, "after refused UPDATE2s");

	/* Stops at slot 1: slot 0 updated, its old tag posted. */
	memcpy(bad, fresh, sizeof(bad));
	bad[1] = (struct iovec){ NULL, 8 };
	expect_ret_msg(upd2(fd, 0, bad, nt, 3), 1, "2nd of 3: NULL base");
	expect_tag(&ring, TAG(1), "slot 0's old tag");
	expect_slots(&ring, t.fd, (struct iovec[]){ fresh[0], old[1], old[2] },
		     3, "after a partial update");
	expect_bufs(fd, 3, 3, 3, pin0, "after a partial update");
	/* Stops at slot 2: its tag on an empty iovec. */
	nt[1] = 0;
	bad[0] = old[0];
	bad[1] = (struct iovec){ NULL, 0 };
	bad[2] = (struct iovec){ NULL, 0 };
	expect_ret_msg(upd2(fd, 0, bad, nt, 3), 2, "3rd of 3: tag on empty");
	expect_tag(&ring, TAG(10), "slot 0's tag from the partial update");
	expect_tag(&ring, TAG(2), "slot 1's old tag");
	expect_slots(&ring, t.fd, (struct iovec[]){ old[0], { NULL, 0 }, old[2] },
		     3, "after a second partial update");
	/* The tags array ends before slot 2: slots 0 and 1 go in. */
	{
		char *tp = map_anon(2 * PG);
		__u64 *tt = (__u64 *)(tp + PG) - 2;

		munmap(tp + PG, PG);
		tt[0] = TAG(20);
		tt[1] = 0;
		expect_ret_msg(upd2(fd, 0, fresh, tt, 3), 2,
			       "tags unmapped from slot 2");
		munmap(tp, PG);
	}
	expect_tag(&ring, TAG(10), "slot 0's tag, replaced");
	expect_no_cqe(&ring, 20, "slot 1 was empty");
	expect_slots(&ring, t.fd, (struct iovec[]){ fresh[0], fresh[1], old[2] },
		     3, "after a third partial update");
	/* UPDATE (2) is all or nothing, but posts the tags it replaces. */
	memcpy(bad, fresh, sizeof(bad));
	bad[2] = (struct iovec){ hole, 8 };
	expect_ret_msg(ring_register_buffers_update(&ring, 0, bad, 3), -EFAULT,
		       "UPDATE, 3rd unmapped");
	expect_no_cqe(&ring, 20, "refused UPDATE");
	expect_ret(ring_register_buffers_update(&ring, 0, old, 3), 3);
	expect_tag(&ring, TAG(20), "UPDATE: slot 0's tag");
	expect_tag(&ring, TAG(3), "UPDATE: slot 2's tag");
	expect_no_cqe(&ring, 20, "UPDATE: untagged now");
	expect_ret_msg(fdinfo_get(fd, "CqTags"), 6, "CqTags");
	expect_ret(ring_unregister_buffers(&ring), 0);
	expect_no_cqe(&ring, 20, "unregister of untagged buffers");
	expect_ret_msg(upd2(fd, 0, fresh, nt, 1), -ENXIO, "after UNREGISTER");
	expect_no_bufs(fd, pin0, "at the end");
	expect_inflight0(&ring, "at the end");

	ring_queue_exit(&ring);
	munmap(m, 16 * PG);
	target_close(&t);
	expect_stats(&base, "UPDATE2 errors");
}

/* ---- sparse tables and the tags' CQEs ------------------------------------- */

/*
 * A sparse table of 8: every slot empty (-EFAULT), a buffer updated into
 * slot 5 works for READ_FIXED and WRITE_FIXED, and its tag comes when it
 * is emptied again; the table's size never changes.
 */
static void test_sparse_update_read(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct target t;
	struct iovec iov, empty = { NULL, 0 };
	unsigned char *m, want[3 * 4096];
	__u64 tag = TAG(5);
	uint64_t rng;
	long pin0;
	unsigned i;

	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_TMPFS, false, 0, 65536);
	rng = test_seed("sparse");
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	m = map_anon(4 * PG);

	expect_ret(sparse_register(ring.ring_fd, 8), 0);
	expect_bufs(ring.ring_fd, 8, 0, 0, pin0, "sparse table of 8");
	for (i = 0; i < 8; i++)
		expect_ret_msg(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, m, 16, 0,
					i), -EFAULT, "READ_FIXED, empty slot %u",
			       i);
	iov = (struct iovec){ m + 100, sizeof(want) };
	expect_ret(upd2(ring.ring_fd, 5, &iov, &tag, 1), 1);
	expect_bufs(ring.ring_fd, 8, 4, 4, pin0, "slot 5 filled");
	rnd_fill(&rng, want, sizeof(want));
	xpwrite(t.fd, want, sizeof(want), 4096);
	expect_ret(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, m + 100,
			    sizeof(want), 4096, 5), sizeof(want));
	expect_same(m + 100, want, sizeof(want), "READ_FIXED into slot 5");
	expect_ret_msg(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, m + 100, 16, 0,
				4), -EFAULT, "slot 4 still empty");
	memset(m, 0x3c, 4 * PG);
	expect_ret(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd, m + 200, 1000, 0,
			    5), 1000);
	expect_no_cqe(&ring, 20, "slot 5 in use");
	expect_ret(upd2(ring.ring_fd, 5, &empty, NULL, 1), 1);
	expect_tag(&ring, TAG(5), "slot 5 emptied");
	expect_bufs(ring.ring_fd, 8, 0, 0, pin0, "slot 5 emptied");
	expect_ret(ring_unregister_buffers(&ring), 0);
	expect_no_cqe(&ring, 20, "sparse table unregistered");
	/* The biggest sparse table, unregistered at close. */
	expect_ret(sparse_register(ring.ring_fd, RING_MAX_BUFFERS), 0);
	expect_bufs(ring.ring_fd, RING_MAX_BUFFERS, 0, 0, pin0, "16384 slots");
	iov = (struct iovec){ m, PG };
	tag = TAG(16383);
	expect_ret(upd2(ring.ring_fd, RING_MAX_BUFFERS - 1, &iov, &tag, 1), 1);
	expect_ret(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd, m, PG, 0,
			    RING_MAX_BUFFERS - 1), PG);
	ring_queue_exit(&ring);
	munmap(m, 4 * PG);
	target_close(&t);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin at the end");
	expect_stats(&base, "sparse");
}

/*
 * io_uring's rsrc_tags: a tag is posted when its buffer is replaced, the
 * new tag when that one is, none for tag 0; UNREGISTER posts the rest.
 */
static void test_tag_update_unregister(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct iovec iov[5];
	__u64 tags[5] = { TAG(1), TAG(2), TAG(3), 0, TAG(5) }, t;
	bool seen[6] = { false };
	char *m;
	long pin0;
	unsigned i;

	require_ring();
	stats_baseline(&base);
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	m = map_anon(8 * PG);
	for (i = 0; i < 5; i++)
		iov[i] = (struct iovec){ m + i * PG, 1024 };

	expect_ret(tags_register(ring.ring_fd, iov, tags, 5), 0);
	expect_no_cqe(&ring, 20, "registered");
	t = TAG(666);
	expect_ret(upd2(ring.ring_fd, 0, iov, &t, 1), 1);
	expect_tag(&ring, TAG(1), "slot 0 replaced");
	t = 0;
	expect_ret(upd2(ring.ring_fd, 0, iov, &t, 1), 1);
	expect_tag(&ring, TAG(666), "slot 0 replaced again");
	t = TAG(1);
	expect_ret(upd2(ring.ring_fd, 0, iov, &t, 1), 1);
	expect_no_cqe(&ring, 20, "tag 0 replaced");
	/* No tags array: the new buffers are untagged. */
	expect_ret(upd2(ring.ring_fd, 3, &iov[3], NULL, 1), 1);
	expect_no_cqe(&ring, 20, "untagged slot 3 replaced");
	expect_ret_msg(fdinfo_get(ring.ring_fd, "CqTags"), 2, "CqTags");

	expect_ret(ring_unregister_buffers(&ring), 0);
	for (i = 0; i < 4; i++) {
		struct ring_cqe c = next_cqe(&ring, "UNREGISTER");
		unsigned n = c.user_data & 0xffff;

		if (!IS_TAG(c.user_data) || c.res || c.flags || n > 5 ||
		    n == 4 || seen[n])
			fail_msg("UNREGISTER: CQE {0x%llx, %d, 0x%x}",
				 (unsigned long long)c.user_data, c.res,
				 c.flags);
		seen[n] = true;
	}
	expect_no_cqe(&ring, 20, "after UNREGISTER's tags");
	expect_ret_msg(fdinfo_get(ring.ring_fd, "CqTags"), 6, "CqTags");
	expect_no_bufs(ring.ring_fd, pin0, "unregistered");
	expect_inflight0(&ring, "unregistered");
	ring_queue_exit(&ring);
	munmap(m, 8 * PG);
	expect_stats(&base, "tags");
}

/* READ_FIXED of len bytes into slot 0 from the pipe, user_data ud. */
static void submit_pipe_read(struct ring *ring, int rfd, void *addr,
			     unsigned len, __u64 ud)
{
	struct ring_sqe *sqe = ring_get_sqe(ring);

	ring_prep_read_fixed(sqe, rfd, addr, len, 0, 0);
	sqe->user_data = ud;
	expect_ret(ring_submit(ring), 1);
}

/*
 * A READ_FIXED waiting on an empty pipe holds its buffer: replaced (or
 * unregistered) meanwhile, the buffer stays pinned and its tag owed (in
 * Inflight) until the read ends; then the read's CQE, then the tag, and
 * nothing of the buffer pinned any more.
 */
static void test_tag_waits_for_io(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct iovec a, b;
	__u64 ta = TAG(0xa), tb = TAG(0xb);
	char *m, msg[64];
	long pin0;
	int p[2], round;

	require_ring();
	stats_baseline(&base);
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	m = map_anon(8 * PG);
	memset(m, 0, 8 * PG);
	a = (struct iovec){ m, 2 * PG };
	b = (struct iovec){ m + 4 * PG, PG };

	for (round = 0; round < 3; round++) {
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		expect_ret(tags_register(ring.ring_fd, &a, &ta, 1), 0);
		submit_pipe_read(&ring, p[0], m + 10, 64, 100 + round);
		expect_no_cqe(&ring, 30, "read waiting");
		if (round == 1) {
			expect_ret(ring_unregister_buffers(&ring), 0);
			expect_bufs(ring.ring_fd, 0, 0, 0, pin0 + 2,
				    "unregistered, read waiting");
		} else {
			expect_ret(upd2(ring.ring_fd, 0, &b, &tb, 1), 1);
			/* The table's charge: the read's pages too. */
			expect_bufs(ring.ring_fd, 1, 3, 1, pin0,
				    "replaced, read waiting");
		}
		expect_ret_msg(fdinfo_get(ring.ring_fd, "Inflight"), 2,
			       "round %d: the read and the owed tag", round);
		expect_no_cqe(&ring, 50, "buffer still in use");
		if (round == 2) {
			/* EOF: the read ends with 0. */
			close(p[1]);
			p[1] = -1;
		} else {
			assert_int_equal(write(p[1], "0123456789", 10), 10);
		}
		{
			struct ring_cqe c = next_cqe(&ring, "the read");

			snprintf(msg, sizeof(msg), "round %d: the read", round);
			expect_ret_msg(c.user_data, 100 + round, "%s", msg);
			expect_ret_msg(c.res, round == 2 ? 0 : 10, "%s", msg);
		}
		expect_tag(&ring, ta, "after the read");
		expect_no_cqe(&ring, 20, "after the tag");
		expect_inflight0(&ring, "after the tag");
		/* Its pages were unpinned before the tag was posted. */
		expect_ret_msg(vmpin_pages() - pin0, round == 1 ? 0 : 1,
			       "round %d: VmPin at the tag", round);
		if (round != 1) {
			expect_ret(ring_unregister_buffers(&ring), 0);
			expect_tag(&ring, tb, "b unregistered");
		}
		if (round != 2)
			expect_ret(memcmp(m + 10, "0123456789", 10), 0);
		close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		memset(m, 0, 8 * PG);
	}
	expect_ret_msg(fdinfo_get(ring.ring_fd, "CqTags"), 5, "CqTags");
	ring_queue_exit(&ring);
	munmap(m, 8 * PG);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin at the end");
	expect_stats(&base, "tag after I/O");
}

/* ring_queue_init with an SQ of sq and a CQ of cq entries. */
static void ring_init_cq(struct ring *ring, unsigned sq, unsigned cq)
{
	struct ring_params p = { .flags = RING_SETUP_CQSIZE, .cq_entries = cq };
	int ret = ring_queue_init_params(sq, ring, &p);

	if (ret)
		fail_msg("ring_queue_init_params(%u, cq %u): %s", sq, cq,
			 errstr(ret));
}

static void submit_nops(struct ring *ring, unsigned n, __u64 ud)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct ring_sqe *sqe = ring_get_sqe(ring);

		ring_prep_nop(sqe);
		sqe->user_data = ud + i;
	}
	expect_ret(ring_submit(ring), n);
}

/*
 * CQ ring full: a tag waits in the backlog (RING_SQ_CQ_OVERFLOW, CqBacklog,
 * the overflow counter) and comes in order with the requests around it:
 * NOPs before it, the tag, NOPs after it; and a read completing into the
 * backlog comes before the tag of the buffer it held.
 */
static void test_tag_cq_full(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct iovec a, b;
	__u64 ta = TAG(0xa), tb = TAG(0xb);
	__u64 want[9];
	char *m;
	long pin0;
	int p[2];
	unsigned i, ov;

	require_ring();
	stats_baseline(&base);
	pin0 = vmpin_pages();
	ring_init_cq(&ring, 4, 4);
	m = map_anon(4 * PG);
	a = (struct iovec){ m, PG };
	b = (struct iovec){ m + 2 * PG, PG };

	expect_ret(tags_register(ring.ring_fd, &a, &ta, 1), 0);
	submit_nops(&ring, 4, 1);		/* the CQ is full */
	submit_nops(&ring, 2, 5);		/* backlog: 5, 6 */
	ov = *ring.cq.koverflow;
	expect_ret(upd2(ring.ring_fd, 0, &b, &tb, 1), 1);	/* backlog: ta */
	submit_nops(&ring, 2, 7);		/* backlog: 7, 8 */
	expect_ret_msg(fdinfo_get(ring.ring_fd, "CqBacklog"), 5, "CqBacklog");
	expect_ret_msg(*ring.cq.koverflow - ov, 3, "overflow counter");
	assert_true(*ring.sq.kflags & RING_SQ_CQ_OVERFLOW);
	expect_inflight0(&ring, "tag in the backlog");
	for (i = 0; i < 9; i++)
		want[i] = i < 6 ? i + 1 : i == 6 ? ta : i + 0;
	for (i = 0; i < 9; i++) {
		struct ring_cqe c = next_cqe(&ring, "draining");

		expect_ret_msg(c.user_data, want[i], "CQE %u", i);
		expect_ret_msg(c.res, 0, "CQE %u", i);
	}
	expect_no_cqe(&ring, 20, "drained");
	assert_false(*ring.sq.kflags & RING_SQ_CQ_OVERFLOW);

	/* A read holding b completes into the backlog, then b's tag. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	submit_pipe_read(&ring, p[0], m + 2 * PG, 16, 0x77);
	expect_ret(upd2(ring.ring_fd, 0, &a, &ta, 1), 1);
	submit_nops(&ring, 3, 20);		/* 20, 21, 22 */
	submit_nops(&ring, 1, 23);		/* fills the CQ */
	assert_int_equal(write(p[1], "x", 1), 1);
	expect_fdinfo(ring.ring_fd, "CqBacklog", 2, "read and tag backlogged");
	expect_inflight0(&ring, "read and tag backlogged");
	for (i = 0; i < 4; i++)
		expect_ret_msg(next_cqe(&ring, "nops").user_data, 20 + i,
			       "NOP %u", i);
	expect_ret(next_cqe(&ring, "the read").user_data, 0x77);
	expect_tag(&ring, tb, "after the read");
	expect_no_cqe(&ring, 20, "drained again");

	/* Left in the backlog at close: freed with the ring (kmemleak). */
	submit_nops(&ring, 4, 30);
	expect_ret(ring_unregister_buffers(&ring), 0);
	expect_ret_msg(fdinfo_get(ring.ring_fd, "CqBacklog"), 1,
		       "tag backlogged at close");
	expect_ret_msg(fdinfo_get(ring.ring_fd, "CqTags"), 3, "CqTags");
	ring_queue_exit(&ring);
	close(p[0]);
	close(p[1]);
	munmap(m, 4 * PG);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin at the end");
	expect_stats(&base, "tags through the backlog");
}

/* ---- updates racing I/O ---------------------------------------------------- */

#define NSLOT		8
#define SLOTSZ		(64U << 10)
#define MAXTAG		(1U << 16)

struct race {
	struct ring ring;
	struct target t;
	unsigned char *a;		/* NSLOT regions: where I/O goes */
	unsigned char *b;		/* NSLOT others: updates to nowhere */
	atomic_uchar issued[MAXTAG];	/* tag n was put in the table */
	atomic_uint next;
	atomic_bool stop;
	unsigned long updates;
	int err;
	char msg[160];
};

static void *updater(void *arg)
{
	struct race *r = arg;
	uint64_t rng = test_seed("updater");

	while (!atomic_load(&r->stop)) {
		unsigned s = rnd_below(&rng, NSLOT - 1), k = rnd_below(&rng, 8);
		unsigned n = 1 + (k == 0);
		struct iovec iov[2];
		__u64 tags[2];
		unsigned j;
		int ret;

		for (j = 0; j < n; j++) {
			unsigned tag = atomic_fetch_add(&r->next, 1) + 1;

			if (tag >= MAXTAG)
				goto out;
			iov[j] = (struct iovec){
				(rnd_below(&rng, 2) ? r->a : r->b) +
					(s + j) * SLOTSZ, SLOTSZ };
			if (k == 1)
				iov[j] = (struct iovec){ NULL, 0 };
			/* UPDATE (k 3) has no tags: its buffers are untagged. */
			tags[j] = k >= 1 && k <= 3 ? 0 : TAG(tag);
			if (tags[j])
				atomic_store(&r->issued[tag], 1);
		}
		if (k == 3)
			ret = ring_register_buffers_update(&r->ring, s, iov, n);
		else
			ret = upd2(r->ring.ring_fd, s, iov, tags, n);
		if (ret != (int)n) {
			r->err = ret;
			snprintf(r->msg, sizeof(r->msg), "update of %u slots: %s",
				 n, errstr(ret));
			break;
		}
		r->updates++;
	}
out:
	atomic_store(&r->stop, true);
	return NULL;
}

/* One CQE of the race: a tag (counted once) or an I/O result. */
static void race_cqe(struct race *r, const struct ring_cqe *c,
		     unsigned char *seen, unsigned *tags, unsigned *ios)
{
	if (IS_TAG(c->user_data)) {
		unsigned n = c->user_data & 0xffffffff;

		if (n >= MAXTAG || !atomic_load(&r->issued[n]) || seen[n]++ ||
		    c->res || c->flags)
			fail_msg("tag CQE {0x%llx, %d, 0x%x}: %s",
				 (unsigned long long)c->user_data, c->res,
				 c->flags, n >= MAXTAG ? "out of range" :
				 !r->issued[n] ? "never issued" :
				 seen[n] > 1 ? "twice" : "res/flags");
		(*tags)++;
		return;
	}
	if (c->res != (int)(SLOTSZ / 2) && c->res != -EFAULT)
		fail_msg("I/O 0x%llx: res %d (%s)",
			 (unsigned long long)c->user_data, c->res,
			 errstr(c->res));
	(*ios)++;
}

/*
 * O_DIRECT READ_FIXED/WRITE_FIXED on null_blk (timer completions: the
 * last reference on a replaced buffer is often dropped in IRQ context)
 * while another thread keeps replacing the slots with tagged, untagged
 * and empty buffers, through UPDATE2 and UPDATE.  Every tag put in the
 * table comes back exactly once; CqTags counts them; nothing is left.
 */
static void test_tag_race(void **state)
{
	struct ring_stats base;
	struct race *r = calloc(1, sizeof(*r));
	unsigned char *seen = calloc(MAXTAG, 1);
	struct iovec iov[NSLOT];
	__u64 tags[NSLOT];
	pthread_t th;
	long long end;
	unsigned i, ntags = 0, ios = 0, issued = 0, submitted = 0;
	long pin0;
	uint64_t rng;

	assert_true(r && seen);
	require_ring();
	stats_baseline(&base);
	target_open(&r->t, TGT_NULLB, true, 0, NSLOT * SLOTSZ);
	rng = test_seed("tag race");
	pin0 = vmpin_pages();
	ring_init_or_fail(&r->ring, 32);
	r->a = map_anon(NSLOT * SLOTSZ);
	r->b = map_anon(NSLOT * SLOTSZ);
	memset(r->a, 1, NSLOT * SLOTSZ);
	memset(r->b, 2, NSLOT * SLOTSZ);
	for (i = 0; i < NSLOT; i++) {
		unsigned n = atomic_fetch_add(&r->next, 1) + 1;

		iov[i] = (struct iovec){ r->a + i * SLOTSZ, SLOTSZ };
		tags[i] = TAG(n);
		r->issued[n] = 1;
	}
	expect_ret(tags_register(r->ring.ring_fd, iov, tags, NSLOT), 0);
	assert_int_equal(pthread_create(&th, NULL, updater, r), 0);

	end = now_ns() + scaled(3000, 300) * 1000000LL;
	while (now_ns() < end && !atomic_load(&r->stop)) {
		struct ring_cqe c[64];
		unsigned q = 1 + rnd_below(&rng, 16);
		int n;

		for (i = 0; i < q; i++) {
			struct ring_sqe *sqe = ring_get_sqe(&r->ring);
			unsigned s = rnd_below(&rng, NSLOT);
			unsigned char *p = r->a + s * SLOTSZ +
					   rnd_below(&rng, 2) * (SLOTSZ / 2);

			if (!sqe)
				break;
			ring_prep_rw(rnd_below(&rng, 2) ? RING_OP_READ_FIXED :
				     RING_OP_WRITE_FIXED, sqe, r->t.fd, p,
				     SLOTSZ / 2, (off_t)s * SLOTSZ);
			sqe->buf_index = s;
			sqe->user_data = ++submitted;
		}
		expect_ret(ring_submit(&r->ring), i);
		n = reap(&r->ring, c, 64, 1);
		for (i = 0; n > 0 && i < (unsigned)n; i++)
			race_cqe(r, &c[i], seen, &ntags, &ios);
		while (ios + 32 <= submitted) {
			n = reap(&r->ring, c, 1, io_timeout_ms());
			if (n != 1)
				fail_msg("I/O lost: %u of %u", ios, submitted);
			race_cqe(r, &c[0], seen, &ntags, &ios);
		}
	}
	atomic_store(&r->stop, true);
	pthread_join(th, NULL);
	if (r->err)
		fail_msg("%s", r->msg);
	expect_ret(ring_unregister_buffers(&r->ring), 0);
	for (i = 1; i < MAXTAG; i++)
		issued += r->issued[i];
	end = now_ns() + io_timeout_ms() * 1000000LL;
	while (ios < submitted || ntags < issued) {
		struct ring_cqe c;

		if (reap(&r->ring, &c, 1, 100) == 1)
			race_cqe(r, &c, seen, &ntags, &ios);
		else if (now_ns() > end)
			fail_msg("%u of %u I/Os, %u of %u tags (Inflight %lld)",
				 ios, submitted, ntags, issued,
				 fdinfo_get(r->ring.ring_fd, "Inflight"));
	}
	expect_no_cqe(&r->ring, 50, "after every tag");
	expect_ret_msg(fdinfo_get(r->ring.ring_fd, "CqTags"), issued, "CqTags");
	expect_inflight0(&r->ring, "after the race");
	print_message("# %lu updates, %u I/Os, %u tags\n", r->updates, ios,
		      ntags);
	ring_queue_exit(&r->ring);
	munmap(r->a, NSLOT * SLOTSZ);
	munmap(r->b, NSLOT * SLOTSZ);
	target_close(&r->t);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin at the end");
	expect_stats(&base, "tag race");
	free(seen);
	free(r);
}

/* ---- close --------------------------------------------------------------- */

/*
 * Close with: tagged buffers registered; replaced ones still held by
 * reads waiting on pipes (tags owed) and by O_DIRECT I/O on null_blk;
 * tags in the backlog.  All pages come back, nothing is left (the suite
 * fails on any kernel report, kmemleak's included).
 */
static void test_close_with_tags(void **state)
{
	enum { N = 4 };
	struct ring_stats base;
	struct target t;
	long pin0;
	unsigned round;
	char why[256];
	bool nullb = env_nullb(why, sizeof(why));

	require_ring();
	stats_baseline(&base);
	if (nullb)
		target_open(&t, TGT_NULLB, true, 0, N * SLOTSZ);
	else
		print_message("# no null_blk (%s): pipes only\n", why);
	pin0 = vmpin_pages();
	for (round = 0; round < scaled(6, 3); round++) {
		struct ring ring;
		struct iovec iov[N], b;
		__u64 tags[N], tb = TAG(99);
		unsigned char *m = map_anon(2 * N * SLOTSZ);
		int p[N][2];
		unsigned i;

		ring_init_cq(&ring, 16, 16);
		for (i = 0; i < N; i++) {
			iov[i] = (struct iovec){ m + i * SLOTSZ, SLOTSZ };
			tags[i] = TAG(i + 1);
			assert_int_equal(pipe2(p[i], O_CLOEXEC), 0);
		}
		expect_ret(tags_register(ring.ring_fd, iov, tags, N), 0);
		for (i = 0; i < N; i++) {
			struct ring_sqe *sqe = ring_get_sqe(&ring);

			ring_prep_read_fixed(sqe, p[i][0], m + i * SLOTSZ, 64, 0,
					     i);
			if (nullb && i % 2) {
				sqe = ring_get_sqe(&ring);
				ring_prep_write_fixed(sqe, t.fd, m + i * SLOTSZ,
						      SLOTSZ, i * SLOTSZ, i);
			}
		}
		ring_submit(&ring);
		/* Slots 0 and 1 replaced: their tags owed to in-flight I/O. */
		b = (struct iovec){ m + N * SLOTSZ, PG };
		expect_ret(upd2(ring.ring_fd, 0, &b, &tb, 1), 1);
		expect_ret(upd2(ring.ring_fd, 1, &b, NULL, 1), 1);
		if (round % 2) {
			/* Fill the CQ, then one tag more into the backlog. */
			submit_nops(&ring, 16, 1000);
			expect_ret(upd2(ring.ring_fd, 0, &b, NULL, 1), 1);
		}
		ring_queue_exit(&ring);
		for (i = 0; i < N; i++) {
			close(p[i][0]);
			close(p[i][1]);
		}
		expect_vmpin(pin0, 0, "after close");
		expect_stats(&base, "close with tags");
		munmap(m, 2 * N * SLOTSZ);
	}
	if (nullb)
		target_close(&t);
	expect_stats(&base, "close with tags");
}

/* ---- locked memory, as nobody ------------------------------------------- */

#define LIMIT		16UL

static void nobody_tags(void *unused)
{
	struct ring_params p = { .sq_entries = 4 };
	int fd = open(ring_dev(), O_RDWR | O_CLOEXEC);
	char *m;
	struct iovec iov[3];
	__u64 tags[3] = { TAG(1), TAG(2), TAG(3) };

	CHILD_CHECK(fd >= 0, "open: %s", strerror(errno));
	set_memlock(LIMIT);
	CHILD_EXPECT(raw_setup(fd, &p), 0, "SETUP");
	m = mmap(NULL, 4 * LIMIT * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	CHILD_CHECK(!madvise(m, 4 * LIMIT * PG, MADV_NOHUGEPAGE), "madvise");
	memset(m, 7, 4 * LIMIT * PG);
	drop_to_nobody();

	/* Refused after charging the first buffers: all un-charged. */
	iov[0] = (struct iovec){ m, LIMIT / 2 * PG };
	iov[1] = (struct iovec){ m + LIMIT * PG, LIMIT / 2 * PG };
	iov[2] = (struct iovec){ NULL, 0 };
	CHILD_EXPECT(tags_register(fd, iov, tags, 3), -EINVAL,
		     "tag on the empty 3rd iovec");
	iov[2] = (struct iovec){ m + 2 * LIMIT * PG, PG };
	CHILD_EXPECT(tags_register(fd, iov, tags, 3), -ENOMEM,
		     "one page over the limit");
	iov[0].iov_len = LIMIT * PG;
	CHILD_EXPECT(tags_register(fd, iov, tags, 1), 0,
		     "exactly the limit (was anything left charged?)");
	/* UPDATE2 over the limit: the first slot refused, nothing changes. */
	CHILD_EXPECT(upd2(fd, 0, &iov[1], tags, 1), -ENOMEM, "UPDATE2 over");
	CHILD_EXPECT(raw_register(fd, RING_UNREGISTER_BUFFERS, 0, 0), 0,
		     "UNREGISTER");
	/* Sparse, then filled up to the limit slot by slot. */
	CHILD_EXPECT(sparse_register(fd, 4), 0, "SPARSE");
	iov[0].iov_len = LIMIT / 2 * PG;
	iov[1].iov_len = LIMIT / 2 * PG;
	iov[2].iov_len = PG;
	CHILD_EXPECT(upd2(fd, 0, iov, tags, 3), 2,
		     "UPDATE2 of 3, the 3rd over the limit");
	CHILD_EXPECT(upd2(fd, 2, &iov[2], tags, 1), -ENOMEM,
		     "the 3rd alone, still over");
	CHILD_EXPECT(upd2(fd, 0, (struct iovec[]){ { NULL, 0 } }, NULL, 1), 1,
		     "slot 0 emptied");
	CHILD_EXPECT(upd2(fd, 2, &iov[2], tags, 1), 1,
		     "the 3rd once slot 0's pages went");
	CHILD_EXPECT(raw_register(fd, RING_UNREGISTER_BUFFERS, 0, 0), 0,
		     "UNREGISTER");
	iov[0].iov_len = LIMIT * PG;
	CHILD_EXPECT(tags_register(fd, iov, tags, 1), 0,
		     "the whole limit again at the end");
	close(fd);
}

static void test_locked_vm(void **state)
{
	struct ring_stats base;
	char why[256];
	long pin0;

	require_ring();
	if (!env_vm(why, sizeof(why)))
		FIXED_SKIP("%s", why);
	stats_baseline(&base);
	pin0 = vmpin_pages();
	run_child(nobody_tags, NULL, "nobody, RLIMIT_MEMLOCK 16 pages");
	expect_ret_msg(vmpin_pages() - pin0, 0, "parent's VmPin");
	expect_stats(&base, "locked_vm");
}

/*
 * Many rings closed at once from outside their owner, each owing a tag
 * whose buffer a cancelled read still holds: their teardowns wait for the
 * tags, and the tags must not queue behind the teardowns.  With both on
 * one workqueue, more teardowns than its concurrency (256) froze it for
 * every user: no ring went away, no worker started.
 */
static void test_many_teardowns_owing_tags(void **state)
{
	enum { NR = 400 };
	struct raw_ring *rings = calloc(NR, sizeof(*rings));
	struct ring_stats zero = { 0 }, last;
	struct __kernel_timespec ts = { .tv_sec = 30 };
	struct ring_getevents_arg ga = { .ts = (uintptr_t)&ts };
	struct ring_enter_arg ea = {
		.to_submit = 1, .min_complete = 1,
		.flags = RING_ENTER_GETEVENTS | RING_ENTER_EXT_ARG,
		.arg = (uintptr_t)&ga, .argsz = sizeof(ga),
	};
	struct rlimit nofile = { 4096, 4096 };
	struct ring_cqe cqe;
	struct raw_ring x;
	int pfd[2], tf, status, i;
	char *buf = xalloc(4096);
	pid_t child;

	require_ring();
	assert_non_null(rings);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &nofile), 0);
	assert_int_equal(pipe(pfd), 0);
	for (i = 0; i < NR; i++) {
		struct iovec iov = { buf, 4096 }, empty = { NULL, 0 };
		__u64 tag = 0x1000 + i;
		struct ring_rsrc_register rr = {
			.nr = 1, .data = (uintptr_t)&iov, .tags = (uintptr_t)&tag,
		};
		struct ring_rsrc_update2 up = {
			.data = (uintptr_t)&empty, .nr = 1,
		};
		struct ring_sqe *sqe;

		raw_ring_init(&rings[i], 1, NULL);
		expect_ret(raw_register(rings[i].fd, RING_REGISTER_BUFFERS2,
					sizeof(rr), (uintptr_t)&rr), 0);
		/* A read of an empty pipe: it waits, holding the buffer. */
		sqe = raw_get_sqe(&rings[i]);
		sqe->opcode = RING_OP_READ_FIXED;
		sqe->fd = pfd[0];
		sqe->addr = (uintptr_t)buf;
		sqe->len = 16;
		raw_flush_sq(&rings[i]);
		expect_ret(raw_enter(rings[i].fd, 1, 0, 0), 1);
		expect_ret(raw_register(rings[i].fd,
					RING_REGISTER_BUFFERS_UPDATE2,
					sizeof(up), (uintptr_t)&up), 1);
	}

	/* The child holds the last references: every teardown is deferred. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		sleep_ms(500);
		_exit(0);
	}
	for (i = 0; i < NR; i++) {
		raw_ring_unmap(&rings[i]);
		close(rings[i].fd);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	if (!stats_wait_equal(&zero, 60000, &last))
		fail_msg("%ld rings still there 60 s after their last close",
			 last.rings);

	/* Workers still start for a new ring: an fsync needs one. */
	raw_ring_init(&x, 2, NULL);
	tf = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	assert_true(tf >= 0);
	{
		struct ring_sqe *sqe = raw_get_sqe(&x);

		sqe->opcode = RING_OP_FSYNC;
		sqe->fd = tf;
		sqe->user_data = 7;
	}
	raw_flush_sq(&x);
	expect_ret(raw_ioctl(x.fd, RING_IOC_ENTER_ARG, &ea), 1);
	assert_true(raw_peek_cqe(&x, &cqe));
	assert_int_equal(cqe.user_data, 7);
	assert_int_equal(cqe.res, 0);
	raw_ring_exit(&x);
	close(tf);
	close(pfd[0]);
	close(pfd[1]);
	free(rings);
	free(buf);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_register2_errors),
	cmocka_unit_test(test_update2_errors),
	cmocka_unit_test(test_sparse_update_read),
	cmocka_unit_test(test_tag_update_unregister),
	cmocka_unit_test(test_tag_waits_for_io),
	cmocka_unit_test(test_tag_cq_full),
	cmocka_unit_test(test_tag_race),
	cmocka_unit_test(test_close_with_tags),
	cmocka_unit_test(test_locked_vm),
	cmocka_unit_test(test_many_teardowns_owing_tags),
};

VMTEST_MAIN(tests)
