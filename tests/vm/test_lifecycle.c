// SPDX-License-Identifier: MIT
/*
 * Lifecycle: the ring is bound to the setup process's mm (a forked child
 * gets -EPERM), close frees everything whatever state the ring is in (the
 * module's live counters return to their baseline), and fdinfo reports
 * the ring's state.
 */
#include "vmtest.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <libring.h>

static void baseline(struct ring_stats *base)
{
	if (!stats_get(base))
		fail_msg("/sys/class/misc/ring/stats/{rings,requests,pages} missing");
}

static void expect_baseline(const struct ring_stats *base, const char *what)
{
	struct ring_stats now;

	if (!stats_wait_equal(base, settle_ms(), &now))
		fail_msg("%s: stats rings %ld requests %ld pages %ld, baseline %ld %ld %ld",
			 what, now.rings, now.requests, now.pages, base->rings,
			 base->requests, base->pages);
}

/*
 * Child exit codes: 0 = as expected; otherwise a small code saying which
 * check failed, reported by the parent.
 */
static int child_checks(struct raw_ring *r)
{
	struct ring_register reg = { .opcode = RING_UNREGISTER_BUFFERS };
	int ret;

	ret = raw_enter(r->fd, 1, 0, 0);
	if (ret != -EPERM)
		return 10;
	ret = raw_enter(r->fd, 0, 1, RING_ENTER_GETEVENTS);
	if (ret != -EPERM)
		return 11;
	ret = raw_enter(r->fd, 0, 0, 0);
	if (ret != -EPERM)
		return 12;
	ret = raw_ioctl(r->fd, RING_IOC_REGISTER, &reg);
	if (ret != -EPERM)
		return 13;
	/* A ring of its own works in the child. */
	{
		struct ring_params p = { .sq_entries = 2 };
		int fd = open(ring_dev(), O_RDWR | O_CLOEXEC);

		if (fd < 0 || raw_setup(fd, &p))
			return 14;
		if (raw_enter(fd, 0, 0, 0) != 0)
			return 15;
		close(fd);
	}
	return 0;
}

static const char *child_failure(int code)
{
	switch (code) {
	case 10: return "ENTER(to_submit=1) in the child was not -EPERM";
	case 11: return "ENTER(GETEVENTS) in the child was not -EPERM";
	case 12: return "ENTER(0) in the child was not -EPERM";
	case 13: return "REGISTER in the child was not -EPERM";
	case 14: return "the child could not set up its own ring";
	case 15: return "ENTER on the child's own ring failed";
	}
	return "unknown";
}

/* ENTER/REGISTER from a forked child: -EPERM; the parent is unaffected. */
static void test_fork_eperm(void **state)
{
	struct ring_cqe cqe;
	struct raw_ring r;
	int status;
	pid_t pid;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	raw_submit_nops(&r, 1, 1);
	/* Queued, not submitted: the child must not be able to consume it. */
	raw_prep_nop(raw_get_sqe(&r), 2);
	raw_flush_sq(&r);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_checks(&r));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		fail_msg("child died with status 0x%x", status);
	if (WEXITSTATUS(status))
		fail_msg("child: %s", child_failure(WEXITSTATUS(status)));

	/* The child's exit closed its copy; the parent's ring still works. */
	assert_int_equal(__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(raw_cq_ready(&r), 1);
	expect_ret(raw_enter(r.fd, 1, 2, RING_ENTER_GETEVENTS), 1);
	assert_int_equal(raw_cq_ready(&r), 2);
	assert_true(raw_peek_cqe(&r, &cqe));
	assert_int_equal(cqe.user_data, 1);
	raw_cq_advance(&r, 1);
	assert_true(raw_peek_cqe(&r, &cqe));
	assert_int_equal(cqe.user_data, 2);
	raw_ring_exit(&r);
}

/* A child that closes its copy of the fd before exiting changes nothing. */
static void test_fork_child_closes(void **state)
{
	struct raw_ring r;
	int status;
	pid_t pid;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(r.fd);
		raw_ring_unmap(&r);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	raw_submit_nops(&r, 3, 0);
	assert_int_equal(raw_cq_ready(&r), 3);
	raw_ring_exit(&r);
}

/* Close with CQEs unreaped: everything freed. */
static void test_close_with_completions(void **state)
{
	struct ring_stats base, during;
	struct raw_ring r;

	require_ring();
	baseline(&base);
	raw_ring_init(&r, 32, NULL);
	raw_submit_nops(&r, 20, 0);
	assert_true(stats_get(&during));
	if (during.rings != base.rings + 1)
		fail_msg("rings counter %ld with one ring open, baseline %ld",
			 during.rings, base.rings);
	if (during.pages <= base.pages)
		fail_msg("pages counter %ld with a ring open, baseline %ld",
			 during.pages, base.pages);
	raw_ring_exit(&r);
	expect_baseline(&base, "after close with 20 CQEs pending");
}

/* Close with a backlog (and queued, unsubmitted SQEs): everything freed. */
static void test_close_with_backlog(void **state)
{
	struct ring_params p = { .cq_entries = 4, .flags = RING_SETUP_CQSIZE };
	struct ring_stats base;
	struct raw_ring r;
	unsigned i;

	require_ring();
	baseline(&base);
	raw_ring_init(&r, 4, &p);
	for (i = 0; i < 50; i++)
		raw_submit_nops(&r, 4, i * 4);
	assert_int_equal(fdinfo_get(r.fd, "CqBacklog"), 196);
	raw_prep_nop(raw_get_sqe(&r), 1000);
	raw_flush_sq(&r);
	raw_ring_exit(&r);
	expect_baseline(&base, "after close with 196 CQEs backlogged");
}

/* The mapping keeps the ring's memory; munmap then frees it. */
static void test_close_then_munmap(void **state)
{
	struct ring_stats base, now;
	struct raw_ring r;

	require_ring();
	baseline(&base);
	raw_ring_init(&r, 16, NULL);
	raw_submit_nops(&r, 5, 0);
	close(r.fd);
	r.fd = -1;
	assert_true(stats_get(&now));
	if (now.pages <= base.pages)
		fail_msg("pages %ld after close with mappings alive, baseline %ld",
			 now.pages, base.pages);
	/* Still the ring's memory, with the completions in it. */
	assert_int_equal(*r.sq_entries, 16);
	assert_int_equal(__atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE), 5);
	assert_int_equal(r.cqes[4].user_data, 4);
	r.cqes[0].user_data = 99;	/* still writable, no fault */
	raw_ring_unmap(&r);
	expect_baseline(&base, "after close and munmap");
}

/* Files never set up, or whose setup failed, leave nothing behind. */
static void test_close_without_ring(void **state)
{
	struct ring_params bad = { .sq_entries = 0 };
	struct ring_stats base;
	int fd;

	require_ring();
	baseline(&base);
	fd = dev_open();
	close(fd);
	fd = dev_open();
	expect_ret(raw_setup(fd, &bad), -EINVAL);
	close(fd);
	expect_baseline(&base, "after open/close without a ring");
}

/* dup'd fds share the ring; it lives until the last one is closed. */
static void test_dup_shares_ring(void **state)
{
	struct ring_stats base;
	struct raw_ring r;
	int fd2;

	require_ring();
	baseline(&base);
	raw_ring_init(&r, 4, NULL);
	fd2 = dup(r.fd);
	assert_true(fd2 >= 0);
	expect_ret(raw_setup(fd2, &r.p), -EBUSY);
	close(r.fd);
	r.fd = fd2;
	raw_submit_nops(&r, 4, 0);
	assert_int_equal(raw_cq_ready(&r), 4);
	raw_ring_exit(&r);
	expect_baseline(&base, "after closing both dup'd fds");
}

/* Many open/setup/map/submit/close cycles: no growth. */
static void test_many_cycles(void **state)
{
	unsigned n = scaled(500, 30), i;
	struct ring_stats base;

	require_ring();
	baseline(&base);
	for (i = 0; i < n; i++) {
		struct ring_params p = { 0 };
		struct raw_ring r;
		unsigned entries = 1U << (i % 9);

		if (i % 4 == 3) {
			p.flags = RING_SETUP_CQSIZE;
			p.cq_entries = entries;
		}
		raw_ring_init(&r, entries, &p);
		/* Vary the state left at close: empty, CQEs, backlog. */
		if (i % 3 >= 1)
			raw_submit_nops(&r, entries, 0);
		if (i % 3 == 2)
			raw_submit_nops(&r, entries, entries);
		/* Half the time unmap after close instead of before. */
		if (i % 2) {
			raw_ring_exit(&r);
		} else {
			close(r.fd);
			raw_ring_unmap(&r);
		}
	}
	expect_baseline(&base, "after the cycles");

	/* libring's init/exit pairs are leak-free too. */
	for (i = 0; i < n / 4; i++) {
		struct ring ring;
		int ret = ring_queue_init(8, &ring, 0);

		if (ret)
			fail_msg("ring_queue_init #%u: %s", i, errstr(ret));
		ring_prep_nop(ring_get_sqe(&ring));
		expect_ret(ring_submit(&ring), 1);
		ring_queue_exit(&ring);
	}
	expect_baseline(&base, "after the libring cycles");
}

/* A process exiting with its rings open (no close) frees them too. */
static void test_exit_without_close(void **state)
{
	struct ring_stats base;
	int status;
	pid_t pid;

	require_ring();
	baseline(&base);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ring_params p = { .cq_entries = 2,
					 .flags = RING_SETUP_CQSIZE };
		struct raw_ring r;
		int i;

		/* No cmocka in the child: raw calls, exit codes. */
		for (i = 0; i < 4; i++) {
			int fd = open(ring_dev(), O_RDWR | O_CLOEXEC);

			p.sq_entries = 2;
			if (fd < 0 || raw_setup(fd, &p))
				_exit(1);
			if (raw_ring_map_try(&r, fd, &p))
				_exit(4);
			raw_prep_nop(raw_get_sqe(&r), 1);
			raw_prep_nop(raw_get_sqe(&r), 2);
			raw_flush_sq(&r);
			if (raw_enter(fd, 2, 0, 0) != 2)
				_exit(2);
			raw_prep_nop(raw_get_sqe(&r), 3);
			raw_prep_nop(raw_get_sqe(&r), 4);
			raw_flush_sq(&r);
			if (raw_enter(fd, 2, 0, 0) != 2)
				_exit(3);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("child failed: status 0x%x", status);
	expect_baseline(&base, "after a process exited with 4 rings open");
}

static const char *const fdinfo_keys[] = {
	"SqEntries", "CqEntries", "SqHead", "SqTail", "CqHead", "CqTail",
	"SqDropped", "CqOverflow", "CqBacklog", "Inflight", "BufferSlots",
	"PinnedPages", "IotlbSize", "IotlbMapped", "IotlbResident",
};

static void expect_fdinfo(int fd, const char *key, long long want)
{
	long long got = fdinfo_get(fd, key);

	if (got != want)
		fail_msg("fdinfo %s: got %lld, expected %lld\n%s", key, got, want,
			 fdinfo_text(fd));
}

/* fdinfo: every field present, values follow the ring's state. */
static void test_fdinfo(void **state)
{
	struct ring_params p = { .cq_entries = 16, .flags = RING_SETUP_CQSIZE };
	struct raw_ring r;
	size_t i;

	require_ring();
	raw_ring_init(&r, 8, &p);
	for (i = 0; i < sizeof(fdinfo_keys) / sizeof(fdinfo_keys[0]); i++)
		if (fdinfo_get(r.fd, fdinfo_keys[i]) < 0)
			fail_msg("fdinfo lacks `%s:`\n%s", fdinfo_keys[i],
				 fdinfo_text(r.fd));
	expect_fdinfo(r.fd, "SqEntries", 8);
	expect_fdinfo(r.fd, "CqEntries", 16);
	for (i = 2; i < sizeof(fdinfo_keys) / sizeof(fdinfo_keys[0]); i++)
		expect_fdinfo(r.fd, fdinfo_keys[i], 0);

	/* 13 submitted, 5 reaped, 2 queued but not submitted. */
	raw_submit_nops(&r, 8, 0);
	raw_submit_nops(&r, 5, 8);
	raw_cq_advance(&r, 5);
	raw_prep_nop(raw_get_sqe(&r), 100);
	raw_prep_nop(raw_get_sqe(&r), 101);
	raw_flush_sq(&r);
	expect_fdinfo(r.fd, "SqHead", 13);
	expect_fdinfo(r.fd, "SqTail", 15);
	expect_fdinfo(r.fd, "CqHead", 5);
	expect_fdinfo(r.fd, "CqTail", 13);
	expect_fdinfo(r.fd, "Inflight", 0);
	expect_fdinfo(r.fd, "CqBacklog", 0);

	/* Submit the 2, then 8 + 5 more: CQ 16 holds 16 of the 23 unreaped. */
	expect_ret(raw_enter(r.fd, 2, 0, 0), 2);
	raw_submit_nops(&r, 8, 200);
	raw_submit_nops(&r, 5, 300);
	expect_fdinfo(r.fd, "SqHead", 28);
	expect_fdinfo(r.fd, "SqTail", 28);
	expect_fdinfo(r.fd, "CqHead", 5);
	expect_fdinfo(r.fd, "CqTail", 21);
	expect_fdinfo(r.fd, "CqBacklog", 7);
	expect_fdinfo(r.fd, "CqOverflow", 7);
	expect_fdinfo(r.fd, "Inflight", 0);
	expect_fdinfo(r.fd, "SqDropped", 0);

	/* Reap all, flush: backlog gone, overflow history stays. */
	raw_cq_advance(&r, raw_cq_ready(&r));
	expect_ret(raw_enter(r.fd, 0, 0, 0), 0);
	raw_cq_advance(&r, raw_cq_ready(&r));
	expect_fdinfo(r.fd, "CqBacklog", 0);
	expect_fdinfo(r.fd, "CqOverflow", 7);
	expect_fdinfo(r.fd, "CqTail", 28);
	expect_fdinfo(r.fd, "CqHead", 28);

	/* A dropped index shows up in SqDropped. */
	r.sq_array[r.sqe_tail & 7] = 8;
	r.sqe_tail++;
	raw_flush_sq(&r);
	expect_ret(raw_enter(r.fd, 1, 0, 0), 0);
	expect_fdinfo(r.fd, "SqDropped", 1);
	expect_fdinfo(r.fd, "SqHead", 29);
	raw_ring_exit(&r);
}

/* fdinfo of a file without a ring reads fine (no crash). */
static void test_fdinfo_before_setup(void **state)
{
	const char *text;
	int fd;

	require_ring();
	fd = dev_open();
	text = fdinfo_text(fd);
	assert_non_null(text);
	assert_non_null(strstr(text, "flags:"));
	close(fd);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_fork_eperm),
	cmocka_unit_test(test_fork_child_closes),
	cmocka_unit_test(test_close_with_completions),
	cmocka_unit_test(test_close_with_backlog),
	cmocka_unit_test(test_close_then_munmap),
	cmocka_unit_test(test_close_without_ring),
	cmocka_unit_test(test_dup_shares_ring),
	cmocka_unit_test(test_many_cycles),
	cmocka_unit_test(test_exit_without_close),
	cmocka_unit_test(test_fdinfo),
	cmocka_unit_test(test_fdinfo_before_setup),
};

VMTEST_MAIN(tests)
