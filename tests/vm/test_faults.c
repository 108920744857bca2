// SPDX-License-Identifier: MIT
/*
 * Regression tests for what `make faultsweep` (tests/fuzz/faultsweep.c)
 * found, reproduced with fail-nth: the n-th allocation or user copy made
 * through ring.ko fails (the stack-trace filter confines faults to calls
 * through the module).  They SKIP, with the reason, on kernels without
 * fault injection (/proc/thread-self/fail-nth, the debugfs knobs, the
 * stack-trace filter): the debug kernel has them.
 *
 * - READ_FIXED on the IOTLB region over more pages than the request's
 *   inline bvecs: when a region page could not be allocated before any was
 *   taken, the bvec array leaked (kmemleak).
 * - mmap() of the rings where the process had no page tables yet: when one
 *   above the PTEs could not be allocated, vm_insert_pages()'s -EFAULT
 *   reached mmap() as EFAULT instead of ENOMEM.
 * - BUFFERS2 and UPDATE2 with tags (each tag's CQE is allocated at
 *   registration): every failure point leaves nothing pinned, registered
 *   or allocated, and exactly the tags of the buffers that left the table
 *   come back.
 * - FILES2 and FILES_UPDATE2 with tags (a node and a tag CQE per file):
 *   the same, and no file stays referenced (the pipes' write ends the
 *   slots held are all closed once the ring lets go).
 */
#include "iotest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG		4096UL
#define KMEMLEAK	"/sys/kernel/debug/kmemleak"

/* Skip with the reason on stdout (a TAP comment), as the suite reports. */
#define SKIP_WHY(...) do {						\
	print_message("# SKIP: " __VA_ARGS__);				\
	print_message("\n");						\
	skip();								\
} while (0)

static int put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = write(fd, val, strlen(val));
		close(fd);
	}
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/*
 * fail-nth only (probability 0), on every allocation and copy whose stack
 * passes through ring.ko's core; NULL, or why it cannot be set up.
 */
static const char *faults_on_ring(void)
{
	static const char *const types[] = { "failslab", "fail_page_alloc",
					     "fail_usercopy" };
	static const char *const extra[][2] = {
		{ "failslab/ignore-gfp-wait", "N" },
		{ "fail_page_alloc/ignore-gfp-wait", "N" },
		{ "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "fail_page_alloc/min-order", "0" },
	};
	unsigned long base = 0, size = 0;
	char line[512], range[2][32], path[256];
	FILE *f;
	size_t t, k;

	if (access("/proc/thread-self/fail-nth", F_OK))
		return "no /proc/thread-self/fail-nth (no CONFIG_FAULT_INJECTION)";
	if (access("/sys/kernel/debug/fail_usercopy/require-start", F_OK))
		return "no fail_usercopy or no stack-trace filter in debugfs";
	f = fopen("/proc/modules", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "ring ", 5)) {
			char *addr = strstr(line, "0x");

			size = strtoul(line + 5, NULL, 10);
			base = addr ? strtoul(addr, NULL, 16) : 0;
		}
	if (f)
		fclose(f);
	if (!base || !size)
		return "ring.ko's address not in /proc/modules";
	snprintf(range[0], sizeof(range[0]), "%lu", base);
	snprintf(range[1], sizeof(range[1]), "%lu", base + size);
	for (t = 0; t < 3; t++) {
		const char *kv[][2] = {
			{ "probability", "0" }, { "times", "-1" },
			{ "task-filter", "N" }, { "stacktrace-depth", "32" },
			{ "require-start", range[0] }, { "require-end", range[1] },
		};

		for (k = 0; k < sizeof(kv) / sizeof(kv[0]); k++) {
			snprintf(path, sizeof(path), "/sys/kernel/debug/%s/%s",
				 types[t], kv[k][0]);
			if (put(path, kv[k][1]))
				return "cannot set the fault-injection knobs";
		}
	}
	for (k = 0; k < sizeof(extra) / sizeof(extra[0]); k++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s", extra[k][0]);
		if (put(path, extra[k][1]))
			return "cannot set the fault-injection knobs";
	}
	return NULL;
}

/* Write @n to fail-nth (0 disarms); returns what was left before. */
static unsigned fail_nth(int fd, unsigned n)
{
	char buf[16] = "";
	int len;

	assert_true(pread(fd, buf, sizeof(buf) - 1, 0) > 0);
	len = snprintf(buf + 8, 8, "%u", n);
	assert_int_equal(pwrite(fd, buf + 8, len, 0), len);
	return strtoul(buf, NULL, 10);
}

/* Objects kmemleak reports with a ring.ko frame, after two scans. */
static unsigned ring_leaks(void)
{
	char line[512];
	unsigned n = 0;
	bool counted = true;
	FILE *f;

	put(KMEMLEAK, "scan");
	sleep(6);	/* younger objects are never reported */
	put(KMEMLEAK, "scan");
	f = fopen(KMEMLEAK, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "unreferenced object"))
			counted = false;
		if (!strstr(line, "[ring]"))
			continue;
		print_message("# kmemleak: %s", line);
		if (!counted)
			n++;
		counted = true;
	}
	fclose(f);
	return n;
}

static void test_iotlb_read_fixed_alloc_failure(void **state)
{
	const size_t len = 10 * PG;	/* from IOVA 100: 11 pages */
	unsigned char *src = malloc(len);
	struct ring_stats base;
	const char *why;
	bool leakcheck = !access(KMEMLEAK, F_OK);
	unsigned n, enomem = 0;
	int nth;

	require_ring();
	why = faults_on_ring();
	if (why)
		SKIP_WHY("%s", why);
	assert_true(stats_get(&base));
	nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	assert_true(nth >= 0);
	memset(src, 0x5a, len);

	for (n = 1; n < 1000; n++) {
		struct ring_iotlb_reg rg = { .size = 64 << 10 };
		struct ring_iotlb_map m = {
			.size = 16 * PG,
			.perm = RING_IOTLB_PERM_READ | RING_IOTLB_PERM_WRITE,
		};
		struct ring_cqe cqe;
		struct ring_sqe *sqe;
		struct raw_ring r;
		int pfd[2], ret;
		bool fired;

		assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
		fcntl(pfd[1], F_SETPIPE_SZ, 16 * PG);
		assert_int_equal(write(pfd[1], src, len), (ssize_t)len);
		raw_ring_init(&r, 4, NULL);
		expect_ret(raw_register(r.fd, RING_REGISTER_IOTLB, 0,
					(uintptr_t)&rg), 0);
		expect_ret(raw_register(r.fd, RING_IOTLB_MAP, 0,
					(uintptr_t)&m), 0);
		sqe = raw_get_sqe(&r);
		sqe->opcode = RING_OP_READ_FIXED;
		sqe->fd = pfd[0];
		sqe->addr = 100;
		sqe->len = len;
		sqe->buf_index = RING_BUF_IOTLB;
		raw_flush_sq(&r);

		fail_nth(nth, n);
		ret = raw_enter(r.fd, 1, 1, RING_ENTER_GETEVENTS);
		fired = !fail_nth(nth, 0);

		if (ret < 0) {
			/* The ENTER argument's copy, or the request's slab. */
			assert_true(fired);
			assert_true(ret == -EFAULT || ret == -EAGAIN);
			ret = raw_enter(r.fd, 1, 1, RING_ENTER_GETEVENTS);
		}
		expect_ret(ret, 1);
		assert_true(raw_peek_cqe(&r, &cqe));
		if (cqe.res != (int)len) {
			expect_ret_msg(cqe.res, -ENOMEM, "n=%u", n);
			assert_true(fired);
			enomem++;
		}
		raw_ring_exit(&r);
		close(pfd[0]);
		close(pfd[1]);
		if (!fired)
			break;
	}
	close(nth);
	print_message("# %u points, %u ENOMEM CQEs\n", n - 1, enomem);
	if (!stats_wait_equal(&base, settle_ms(), NULL))
		fail_msg("module counters did not return to their baseline");
	if (leakcheck)
		assert_int_equal(ring_leaks(), 0);
	else
		print_message("# no kmemleak: leaks not checked\n");
	/* The bvec array's allocation and the pages' were reached. */
	assert_true(enomem >= 2);
	free(src);
}

static void test_mmap_page_table_failure(void **state)
{
	struct ring_params p = { .sq_entries = 256 };
	unsigned n, failed = 0;
	const char *why;
	int fd, nth;

	require_ring();
	why = faults_on_ring();
	if (why)
		SKIP_WHY("%s", why);
	fd = dev_open();
	expect_ret(raw_setup(fd, &p), 0);
	nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	assert_true(nth >= 0);
	for (n = 1; n < 100; n++) {
		/* A fresh GiB each time: a new page middle directory too. */
		void *want = (void *)(0x600000000000UL + ((unsigned long)n << 30));
		void *m;
		int err;
		bool fired;

		fail_nth(nth, n);
		m = mmap(want, p.sq_entries * sizeof(struct ring_sqe),
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE |
			 MAP_FIXED_NOREPLACE, fd, RING_OFF_SQES);
		err = errno;
		fired = !fail_nth(nth, 0);
		if (m == MAP_FAILED) {
			assert_true(fired);
			expect_ret_msg(-err, -ENOMEM, "mmap with fault %u", n);
			failed++;
			continue;
		}
		assert_int_equal(munmap(m, p.sq_entries *
				 sizeof(struct ring_sqe)), 0);
		if (!fired)
			break;
	}
	close(nth);
	close(fd);
	print_message("# %u points, %u mmap failures\n", n - 1, failed);
	assert_true(failed >= 2);
}

/* VmPin of /proc/self/status in kB. */
static long vmpin_kb(void)
{
	return self_status_kb("VmPin");
}

/* Consume the CQEs there: how many, each a tag (user_data tag_base + i). */
static unsigned reap_tags(struct raw_ring *r, __u64 tag_base, unsigned max)
{
	struct ring_cqe cqe;
	unsigned n = 0;

	raw_enter(r->fd, 0, 0, RING_ENTER_GETEVENTS);	/* the backlog in */
	while (raw_peek_cqe(r, &cqe)) {
		assert_true(cqe.user_data - tag_base < max);
		assert_int_equal(cqe.res, 0);
		raw_cq_advance(r, 1);
		n++;
	}
	return n;
}

static void test_tags_alloc_failure(void **state)
{
	enum { NB = 4 };
	const __u64 tag0 = 0x7a6000000000ULL;
	char *m = mmap(NULL, 2 * NB * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool leakcheck = !access(KMEMLEAK, F_OK);
	struct ring_stats base;
	const char *why;
	unsigned n, refused = 0, partial = 0;
	long pin0;
	int nth;

	require_ring();
	why = faults_on_ring();
	if (why)
		SKIP_WHY("%s", why);
	assert_true(m != MAP_FAILED);
	memset(m, 1, 2 * NB * PG);
	assert_true(stats_get(&base));
	pin0 = vmpin_kb();
	nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	assert_true(nth >= 0);

	for (n = 1; n < 2000; n++) {
		struct iovec iov[NB], up[NB];
		__u64 tags[NB], ntags[NB];
		struct ring_rsrc_register rr = {
			.nr = NB, .data = (uintptr_t)iov,
			.tags = (uintptr_t)tags,
		};
		struct ring_rsrc_update2 u = {
			.nr = NB, .data = (uintptr_t)up,
			.tags = (uintptr_t)ntags,
		};
		struct raw_ring r;
		bool fired, fired_reg;
		int ret, i;

		for (i = 0; i < NB; i++) {
			iov[i] = (struct iovec){ m + i * PG, PG };
			up[i] = (struct iovec){ m + (NB + i) * PG, PG };
			tags[i] = tag0 + i;
			ntags[i] = tag0 + NB + i;
		}
		raw_ring_init(&r, 4, NULL);
		fail_nth(nth, n);
		ret = raw_register(r.fd, RING_REGISTER_BUFFERS2, sizeof(rr),
				   (uintptr_t)&rr);
		fired_reg = !fail_nth(nth, 0);
		if (ret) {
			assert_true(fired_reg);
			assert_true(ret == -ENOMEM || ret == -EFAULT);
			expect_ret_msg(vmpin_kb() - pin0, 0, "n=%u: VmPin", n);
			assert_int_equal(reap_tags(&r, tag0, 2 * NB), 0);
			refused++;
			/* Registered whole, for the update's sweep. */
			expect_ret(raw_register(r.fd, RING_REGISTER_BUFFERS2,
						sizeof(rr), (uintptr_t)&rr), 0);
		}
		/*
		 * The same point in an UPDATE2 of every slot: every point
		 * of it, not only those past the registration's (how many
		 * those are varies: KASAN's own allocations count).
		 */
		fail_nth(nth, n);
		ret = raw_register(r.fd, RING_REGISTER_BUFFERS_UPDATE2,
				   sizeof(u), (uintptr_t)&u);
		fired = !fail_nth(nth, 0);
		if (ret != NB) {
			assert_true(fired);
			assert_true(ret == -ENOMEM || ret == -EFAULT ||
				    (ret > 0 && ret < NB));
			partial++;
		}
		/* The slots replaced gave their tags, the others none yet. */
		expect_ret_msg(reap_tags(&r, tag0, 2 * NB), ret > 0 ? ret : 0,
			       "n=%u: tags after UPDATE2 (%d)", n, ret);
		expect_ret(raw_register(r.fd, RING_UNREGISTER_BUFFERS, 0, 0), 0);
		expect_ret_msg(reap_tags(&r, tag0, 2 * NB), NB,
			       "n=%u: tags after UNREGISTER", n);
		expect_ret_msg(vmpin_kb() - pin0, 0, "n=%u: VmPin", n);
		raw_ring_exit(&r);
		if (!fired && !fired_reg)
			break;
	}
	close(nth);
	print_message("# %u points: %u registrations refused, %u updates "
		      "short\n", n - 1, refused, partial);
	if (!stats_wait_equal(&base, settle_ms(), NULL))
		fail_msg("module counters did not return to their baseline");
	if (leakcheck)
		assert_int_equal(ring_leaks(), 0);
	else
		print_message("# no kmemleak: leaks not checked\n");
	assert_true(refused >= NB && partial >= NB);
	munmap(m, 2 * NB * PG);
}

/* Every write end of the pipe closed: the read end sees POLLHUP. */
static bool writers_gone(int rfd)
{
	struct pollfd p = { .fd = rfd, .events = POLLIN };

	return poll(&p, 1, settle_ms()) == 1 && (p.revents & POLLHUP);
}

static void test_files_alloc_failure(void **state)
{
	enum { NB = 4 };
	const __u64 tag0 = 0xf11e00000000ULL;
	bool leakcheck = !access(KMEMLEAK, F_OK);
	struct ring_stats base;
	const char *why;
	unsigned n, refused = 0, partial = 0;
	int nth;

	require_ring();
	why = faults_on_ring();
	if (why)
		SKIP_WHY("%s", why);
	assert_true(stats_get(&base));
	nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	assert_true(nth >= 0);

	for (n = 1; n < 2000; n++) {
		int p[2], q[2], fds[NB], nfds[NB];
		__u64 tags[NB], ntags[NB];
		struct ring_rsrc_register rr = {
			.nr = NB, .data = (uintptr_t)fds,
			.tags = (uintptr_t)tags,
		};
		struct ring_rsrc_update2 u = {
			.nr = NB, .data = (uintptr_t)nfds,
			.tags = (uintptr_t)ntags,
		};
		struct raw_ring r;
		bool fired, fired_reg;
		int ret, i;

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		assert_int_equal(pipe2(q, O_CLOEXEC), 0);
		for (i = 0; i < NB; i++) {
			fds[i] = p[1];
			nfds[i] = q[1];
			tags[i] = tag0 + i;
			ntags[i] = tag0 + NB + i;
		}
		raw_ring_init(&r, 4, NULL);
		fail_nth(nth, n);
		ret = raw_register(r.fd, RING_REGISTER_FILES2, sizeof(rr),
				   (uintptr_t)&rr);
		fired_reg = !fail_nth(nth, 0);
		if (ret) {
			assert_true(fired_reg);
			assert_true(ret == -ENOMEM || ret == -EFAULT);
			assert_int_equal(reap_tags(&r, tag0, 2 * NB), 0);
			refused++;
			expect_ret(raw_register(r.fd, RING_REGISTER_FILES2,
						sizeof(rr), (uintptr_t)&rr), 0);
		}
		/* Every point of an UPDATE2 of every slot. */
		fail_nth(nth, n);
		ret = raw_register(r.fd, RING_REGISTER_FILES_UPDATE2,
				   sizeof(u), (uintptr_t)&u);
		fired = !fail_nth(nth, 0);
		if (ret != NB) {
			assert_true(fired);
			assert_true(ret == -ENOMEM || ret == -EFAULT ||
				    (ret > 0 && ret < NB));
			partial++;
		}
		expect_ret_msg(reap_tags(&r, tag0, 2 * NB), ret > 0 ? ret : 0,
			       "n=%u: tags after FILES_UPDATE2 (%d)", n, ret);
		expect_ret(raw_register(r.fd, RING_UNREGISTER_FILES, 0, 0), 0);
		expect_ret_msg(reap_tags(&r, tag0, 2 * NB), NB,
			       "n=%u: tags after UNREGISTER_FILES", n);
		raw_ring_exit(&r);
		close(p[1]);
		close(q[1]);
		if (!writers_gone(p[0]) || !writers_gone(q[0]))
			fail_msg("n=%u: a pipe's write end still referenced", n);
		close(p[0]);
		close(q[0]);
		if (!fired && !fired_reg)
			break;
	}
	close(nth);
	print_message("# %u points: %u registrations refused, %u updates "
		      "short\n", n - 1, refused, partial);
	if (!stats_wait_equal(&base, settle_ms(), NULL))
		fail_msg("module counters did not return to their baseline");
	if (leakcheck)
		assert_int_equal(ring_leaks(), 0);
	else
		print_message("# no kmemleak: leaks not checked\n");
	assert_true(refused >= NB && partial >= NB);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_iotlb_read_fixed_alloc_failure),
	cmocka_unit_test(test_mmap_page_table_failure),
	cmocka_unit_test(test_tags_alloc_failure),
	cmocka_unit_test(test_files_alloc_failure),
};

VMTEST_MAIN(tests)
