// SPDX-License-Identifier: MIT
/*
 * Fixed buffers and RLIMIT_MEMLOCK: pinned pages are charged to the
 * registering user's locked memory unless the registering task had
 * CAP_IPC_LOCK; that choice is kept with the buffer, so un-charging always
 * mirrors it. A user's locked memory is not visible from /proc, so it is
 * measured by what still fits: a registration of exactly the rest of the
 * limit succeeds and one page more fails with -ENOMEM.
 *
 * The checks run in forked children (report through shared memory): one
 * that drops to nobody (the /dev/ring fds are opened as root first, the
 * rings are set up after the drop, so they belong to nobody's mm and
 * user), and one that stays root and drops CAP_IPC_LOCK half way.
 */
#include "fixedtest.h"

#define LIMIT		64UL		/* RLIMIT_MEMLOCK in pages */
#define NRINGS		4

/* ---- in the children (CHILD_CHECK, never cmocka) ----------------------- */

struct kid {
	int fd[NRINGS];
	char *mem;		/* 8 * LIMIT pages, touched, 4 KiB pages */
	long pin0;
};

static void kid_open(struct kid *k)
{
	unsigned i;

	for (i = 0; i < NRINGS; i++) {
		k->fd[i] = open(ring_dev(), O_RDWR | O_CLOEXEC);
		CHILD_CHECK(k->fd[i] >= 0, "open %s: %s", ring_dev(),
			    strerror(errno));
	}
}

static void kid_setup(struct kid *k)
{
	unsigned i;

	for (i = 0; i < NRINGS; i++) {
		struct ring_params p = { .sq_entries = 4 };

		CHILD_EXPECT(raw_setup(k->fd[i], &p), 0, "SETUP of ring %u", i);
	}
	k->mem = mmap(NULL, 8 * LIMIT * PG, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(k->mem != MAP_FAILED, "mmap: %s", strerror(errno));
	CHILD_CHECK(!madvise(k->mem, 8 * LIMIT * PG, MADV_NOHUGEPAGE),
		    "madvise: %s", strerror(errno));
	memset(k->mem, 0x5a, 8 * LIMIT * PG);
	k->pin0 = vmpin_pages_try();
	CHILD_CHECK(k->pin0 >= 0, "no VmPin in /proc/self/status");
}

/*
 * CAP_IPC_LOCK in or out of the effective set; with all, out of every set
 * and the bounding set too (for good).
 */
static void set_ipc_lock(bool on, bool all)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	__u32 bit = 1U << CAP_IPC_LOCK;

	if (all)
		CHILD_CHECK(!prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0),
			    "PR_CAPBSET_DROP: %s", strerror(errno));
	CHILD_CHECK(!syscall(SYS_capget, &h, d), "capget: %s", strerror(errno));
	if (on) {
		d[0].effective |= bit;
	} else {
		d[0].effective &= ~bit;
		if (all) {
			d[0].permitted &= ~bit;
			d[0].inheritable &= ~bit;
		}
	}
	CHILD_CHECK(!syscall(SYS_capset, &h, d), "capset: %s", strerror(errno));
	CHILD_CHECK(has_ipc_lock(false) == on, "CAP_IPC_LOCK still %s",
		    on ? "off" : "on");
}

/* Register one buffer of pages pages at page off of k->mem on ring r. */
static int kid_reg(struct kid *k, unsigned r, unsigned long off,
		   unsigned long pages)
{
	struct iovec iov = { k->mem + off * PG, pages * PG };

	return raw_register(k->fd[r], RING_REGISTER_BUFFERS, 1,
			    (uintptr_t)&iov);
}

static int kid_unreg(struct kid *k, unsigned r)
{
	return raw_register(k->fd[r], RING_UNREGISTER_BUFFERS, 0, 0);
}

/* Replace slot 0 of ring r (pages 0: empty it). */
static int kid_update(struct kid *k, unsigned r, unsigned long off,
		      unsigned long pages)
{
	struct iovec iov = { pages ? k->mem + off * PG : NULL, pages * PG };
	struct ring_buf_update up = { .offset = 0, .iovecs = (uintptr_t)&iov };

	return raw_register(k->fd[r], RING_REGISTER_BUFFERS_UPDATE, 1,
			    (uintptr_t)&up);
}

/* VmPin is pin0 + pages and ring r's fdinfo shows its own pages. */
static void kid_pinned(struct kid *k, long pages, int r, long ring_pages,
		       const char *what)
{
	long pin = vmpin_pages_try();

	CHILD_CHECK(pin == k->pin0 + pages, "%s: VmPin +%ld pages, expected "
		    "+%ld", what, pin - k->pin0, pages);
	if (r >= 0) {
		long long p = fdinfo_get(k->fd[r], "PinnedPages");

		CHILD_CHECK(p == ring_pages, "%s: fdinfo PinnedPages of ring "
			    "%d is %lld, expected %ld", what, r, p, ring_pages);
	}
}

static void kid_close(struct kid *k)
{
	unsigned i;

	for (i = 0; i < NRINGS; i++)
		close(k->fd[i]);
	CHILD_CHECK(vmpin_pages_try() == k->pin0, "VmPin +%ld pages after "
		    "closing the rings", vmpin_pages_try() - k->pin0);
	munmap(k->mem, 8 * LIMIT * PG);
}

/* Changing users and capabilities needs root in the test VM. */
static void require_root_vm(void)
{
	char why[256];

	require_ring();
	if (!env_vm(why, sizeof(why)))
		FIXED_SKIP("%s", why);
}

/* ---- nobody, limit LIMIT pages, four rings ------------------------------ */

static void nobody_limit(void *unused)
{
	struct kid k;
	struct iovec iov[2];

	kid_open(&k);
	set_memlock(LIMIT);
	drop_to_nobody();
	kid_setup(&k);

	/* Over the limit: refused, nothing pinned, nothing charged ... */
	CHILD_EXPECT(kid_reg(&k, 0, 0, LIMIT + 1), -ENOMEM,
		     "%lu pages with a limit of %lu", LIMIT + 1, LIMIT);
	kid_pinned(&k, 0, 0, 0, "after -ENOMEM");
	/* ... also when the first of two buffers still fitted. */
	iov[0] = (struct iovec){ k.mem, LIMIT / 2 * PG };
	iov[1] = (struct iovec){ k.mem + LIMIT * PG, (LIMIT / 2 + 1) * PG };
	CHILD_EXPECT(raw_register(k.fd[0], RING_REGISTER_BUFFERS, 2,
				  (uintptr_t)iov), -ENOMEM,
		     "buffers of %lu + %lu pages with a limit of %lu",
		     LIMIT / 2, LIMIT / 2 + 1, LIMIT);
	kid_pinned(&k, 0, 0, 0, "after a partial -ENOMEM");

	/* Exactly the limit fits, so the refusals charged nothing. */
	CHILD_EXPECT(kid_reg(&k, 0, 0, LIMIT), 0, "exactly %lu pages", LIMIT);
	kid_pinned(&k, LIMIT, 0, LIMIT, "at the limit");
	/* The user's other rings see the same limit. */
	CHILD_EXPECT(kid_reg(&k, 1, 2 * LIMIT, 1), -ENOMEM,
		     "1 page on a second ring, the first at the limit");
	kid_pinned(&k, LIMIT, 1, 0, "second ring refused");

	/* Emptying the slot un-charges; an update charges like a register. */
	CHILD_EXPECT(kid_update(&k, 0, 0, 0), 1, "UPDATE emptying the slot");
	kid_pinned(&k, 0, 0, 0, "slot emptied");
	CHILD_EXPECT(kid_reg(&k, 1, 2 * LIMIT, LIMIT), 0,
		     "%lu pages on ring 1 after ring 0's slot was emptied",
		     LIMIT);
	CHILD_EXPECT(kid_update(&k, 0, 0, 1), -ENOMEM,
		     "UPDATE to 1 page, ring 1 at the limit");
	kid_pinned(&k, LIMIT, 0, 0, "after the refused UPDATE");

	/* Split between two rings; a third gets nothing. */
	CHILD_EXPECT(kid_unreg(&k, 1), 0, "UNREGISTER ring 1");
	kid_pinned(&k, 0, 1, 0, "ring 1 unregistered");
	CHILD_EXPECT(kid_update(&k, 0, 0, LIMIT / 4), 1,
		     "UPDATE ring 0 to %lu pages", LIMIT / 4);
	CHILD_EXPECT(kid_reg(&k, 1, 2 * LIMIT, LIMIT - LIMIT / 4 + 1), -ENOMEM,
		     "ring 1: one page more than the rest");
	CHILD_EXPECT(kid_reg(&k, 1, 2 * LIMIT, LIMIT - LIMIT / 4), 0,
		     "ring 1: the rest of the limit");
	CHILD_EXPECT(kid_reg(&k, 2, 4 * LIMIT, 1), -ENOMEM,
		     "ring 2: 1 page, rings 0 and 1 hold the limit");
	kid_pinned(&k, LIMIT, 2, 0, "limit shared by rings 0 and 1");

	/* Closing a ring gives its pages back to the user. */
	close(k.fd[0]);
	k.fd[0] = -1;
	kid_pinned(&k, LIMIT - LIMIT / 4, -1, 0, "ring 0 closed");
	CHILD_EXPECT(kid_reg(&k, 2, 4 * LIMIT, LIMIT / 4 + 1), -ENOMEM,
		     "ring 2: one page more than ring 0 gave back");
	CHILD_EXPECT(kid_reg(&k, 2, 4 * LIMIT, LIMIT / 4), 0,
		     "ring 2: what ring 0 gave back");
	kid_pinned(&k, LIMIT, 2, LIMIT / 4, "rings 1 and 2 at the limit");
	kid_close(&k);
}

static void test_memlock_nobody(void **state)
{
	struct ring_stats base;
	long pin0;

	require_root_vm();
	stats_baseline(&base);
	pin0 = vmpin_pages();
	run_child(nobody_limit, NULL, "nobody with RLIMIT_MEMLOCK 64 pages");
	expect_ret_msg(vmpin_pages() - pin0, 0, "parent's VmPin");
	expect_stats(&base, "RLIMIT_MEMLOCK as nobody");
}

/* ---- two nobody processes share the limit ------------------------------ */

struct holder_arg {
	int ready[2];	/* holder -> parent: registered */
	int done[2];	/* parent -> holder: exit now */
};

/* Holds 3/4 of the limit until told to go. */
static void nobody_holder(void *arg)
{
	struct holder_arg *h = arg;
	struct kid k;
	char c = 0;

	close(h->ready[0]);
	close(h->done[1]);
	kid_open(&k);
	set_memlock(LIMIT);
	drop_to_nobody();
	kid_setup(&k);
	CHILD_EXPECT(kid_reg(&k, 0, 0, LIMIT * 3 / 4), 0,
		     "holder: %lu pages", LIMIT * 3 / 4);
	kid_pinned(&k, LIMIT * 3 / 4, 0, LIMIT * 3 / 4, "holder");
	CHILD_CHECK(write(h->ready[1], &c, 1) == 1, "write: %s",
		    strerror(errno));
	CHILD_CHECK(read(h->done[0], &c, 1) == 1, "read: %s", strerror(errno));
	kid_close(&k);
}

static void nobody_rest(void *arg)
{
	unsigned long rest = *(unsigned long *)arg;
	struct kid k;

	kid_open(&k);
	set_memlock(LIMIT);
	drop_to_nobody();
	kid_setup(&k);
	CHILD_EXPECT(kid_reg(&k, 0, 0, rest + 1), -ENOMEM,
		     "%lu pages, %lu left of the user's limit", rest + 1, rest);
	kid_pinned(&k, 0, 0, 0, "refused");
	CHILD_EXPECT(kid_reg(&k, 0, 0, rest), 0,
		     "%lu pages, the rest of the user's limit", rest);
	CHILD_EXPECT(kid_reg(&k, 1, LIMIT, 1), -ENOMEM,
		     "1 page more on another ring");
	kid_close(&k);
}

static void test_memlock_two_processes(void **state)
{
	struct child_report *rep = child_report_new();
	struct holder_arg h;
	struct ring_stats base;
	unsigned long rest;
	pid_t pid;
	char c;

	require_root_vm();
	stats_baseline(&base);
	assert_int_equal(pipe2(h.ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(h.done, O_CLOEXEC), 0);
	pid = spawn_child(nobody_holder, &h, rep);
	close(h.ready[1]);
	close(h.done[0]);
	if (read(h.ready[0], &c, 1) != 1) {
		wait_child(pid, rep, "holder of 3/4 of the limit");
		fail_msg("holder exited without registering");
	}
	rest = LIMIT - LIMIT * 3 / 4;
	run_child(nobody_rest, &rest, "second nobody process");
	assert_int_equal(write(h.done[1], &c, 1), 1);
	wait_child(pid, rep, "holder of 3/4 of the limit");
	/* The holder's exit gave its pages back. */
	rest = LIMIT;
	run_child(nobody_rest, &rest, "nobody after the holder exited");
	close(h.ready[0]);
	close(h.done[1]);
	munmap(rep, sizeof(*rep));
	expect_stats(&base, "two nobody processes");
}

/* ---- root, CAP_IPC_LOCK dropped half way -------------------------------- */

static void root_cap(void *unused)
{
	struct kid k;

	kid_open(&k);
	set_memlock(LIMIT);
	kid_setup(&k);
	CHILD_CHECK(getuid() == 0 && has_ipc_lock(false),
		    "root without CAP_IPC_LOCK to start with");

	/*
	 * Charged while CAP_IPC_LOCK is not effective, unregistered while it
	 * is: un-charged all the same (the decision is the buffer's).
	 */
	set_ipc_lock(false, false);
	CHILD_EXPECT(kid_reg(&k, 3, 0, LIMIT / 2), 0,
		     "%lu pages without CAP_IPC_LOCK", LIMIT / 2);
	CHILD_EXPECT(kid_reg(&k, 2, LIMIT, LIMIT / 2 + 1), -ENOMEM,
		     "%lu more pages: the first %lu were charged", LIMIT / 2 + 1,
		     LIMIT / 2);
	set_ipc_lock(true, false);
	CHILD_EXPECT(kid_unreg(&k, 3), 0, "UNREGISTER with CAP_IPC_LOCK back");
	set_ipc_lock(false, false);
	CHILD_EXPECT(kid_reg(&k, 2, LIMIT, LIMIT), 0,
		     "the whole limit after the charged buffer went (was it "
		     "un-charged? root's locked_vm not 0 to start with?)");
	CHILD_EXPECT(kid_unreg(&k, 2), 0, "UNREGISTER");
	kid_pinned(&k, 0, -1, 0, "nothing registered");

	/* With CAP_IPC_LOCK: far beyond the limit, and not charged. */
	set_ipc_lock(true, false);
	CHILD_EXPECT(kid_reg(&k, 0, 0, 4 * LIMIT), 0,
		     "%lu pages with CAP_IPC_LOCK, limit %lu", 4 * LIMIT, LIMIT);
	kid_pinned(&k, 4 * LIMIT, 0, 4 * LIMIT, "beyond the limit");

	/* CAP_IPC_LOCK gone for good. */
	set_ipc_lock(false, true);
	CHILD_CHECK(!has_ipc_lock(true), "CAP_IPC_LOCK still permitted");
	CHILD_EXPECT(kid_reg(&k, 1, 4 * LIMIT, LIMIT), 0,
		     "the whole limit next to %lu uncharged pages", 4 * LIMIT);
	CHILD_EXPECT(kid_reg(&k, 2, 6 * LIMIT, 1), -ENOMEM,
		     "1 page beyond the limit");
	/* Not un-charged either: the limit stays exactly full. */
	CHILD_EXPECT(kid_unreg(&k, 0), 0, "UNREGISTER of the uncharged buffer");
	kid_pinned(&k, LIMIT, 1, LIMIT, "uncharged buffer gone");
	CHILD_EXPECT(kid_reg(&k, 2, 6 * LIMIT, 1), -ENOMEM,
		     "1 page beyond the limit, after the uncharged buffer went");
	CHILD_EXPECT(kid_unreg(&k, 1), 0, "UNREGISTER of the charged buffer");
	/* Back at the baseline, not below it: exactly the limit again. */
	CHILD_EXPECT(kid_reg(&k, 2, 6 * LIMIT, LIMIT + 1), -ENOMEM,
		     "one page more than the limit (locked_vm below its "
		     "baseline?)");
	CHILD_EXPECT(kid_reg(&k, 2, 6 * LIMIT, LIMIT), 0,
		     "exactly the limit");
	kid_pinned(&k, LIMIT, 2, LIMIT, "at the limit");
	kid_close(&k);
}

static void test_cap_ipc_lock(void **state)
{
	struct ring_stats base;
	long pin0;

	require_root_vm();
	stats_baseline(&base);
	pin0 = vmpin_pages();
	run_child(root_cap, NULL, "root dropping CAP_IPC_LOCK");
	expect_ret_msg(vmpin_pages() - pin0, 0, "parent's VmPin");
	expect_stats(&base, "CAP_IPC_LOCK");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_memlock_nobody),
	cmocka_unit_test(test_memlock_two_processes),
	cmocka_unit_test(test_cap_ipc_lock),
};

VMTEST_MAIN(tests)
