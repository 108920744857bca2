// SPDX-License-Identifier: MIT
/*
 * RING_SETUP_SQPOLL: a kernel thread consumes the SQ ring.  SQEs complete
 * without ENTER while it polls; asleep, it says so (RING_SQ_NEED_WAKEUP)
 * and RING_ENTER_SQ_WAKEUP wakes it; ENTER reports to_submit; files are
 * registered ones only; the thread is bounded per user, runs with its
 * creator's file size limit, and is gone with the ring, with its owner's
 * exit and exec, and even from a fault a userfaultfd never resolves.
 */
#include "vmtest.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG	4096UL

static void expect_no_rings_left(void)
{
	struct ring_stats want = { 0 }, last;

	if (!stats_wait_equal(&want, settle_ms(), &last))
		fail_msg("rings %ld requests %ld pages %ld left behind",
			 last.rings, last.requests, last.pages);
}

static void sqpoll_init(struct raw_ring *r, unsigned entries, unsigned idle_ms,
			unsigned extra_flags)
{
	struct ring_params p = {
		.flags = RING_SETUP_SQPOLL | extra_flags,
		.sq_thread_idle = idle_ms,
	};

	raw_ring_init(r, entries, &p);
}

/*
 * io_uring's protocol: publish the tail, then look whether to wake the
 * thread.  0, or ENTER's error (no cmocka: children use it too).
 */
static int kick(struct raw_ring *r)
{
	raw_flush_sq(r);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(raw_sq_flags(r) & RING_SQ_NEED_WAKEUP))
		return 0;
	return raw_enter(r->fd, 0, 0, RING_ENTER_SQ_WAKEUP);
}

static void flush_and_wake(struct raw_ring *r)
{
	expect_ret(kick(r), 0);
}

static void queue_nops(struct raw_ring *r, unsigned n, __u64 base)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct ring_sqe *sqe = raw_get_sqe(r);

		assert_non_null(sqe);
		raw_prep_nop(sqe, base + i);
	}
}

/* Spin (no ENTER) until n CQEs are there, up to settle_ms(). */
static bool cq_wait_spin(struct raw_ring *r, unsigned n)
{
	long long end = now_ns() + settle_ms() * 1000000LL;

	while (raw_cq_ready(r) < n) {
		if (now_ns() > end)
			return false;
		sched_yield();
	}
	return true;
}

static bool sq_flag_wait(struct raw_ring *r, unsigned flag, bool set)
{
	long long end = now_ns() + settle_ms() * 1000000LL;

	while (!!(raw_sq_flags(r) & flag) != set) {
		if (now_ns() > end)
			return false;
		sleep_ms(1);
	}
	return true;
}

static void reap_nops(struct raw_ring *r, unsigned n, __u64 base)
{
	struct ring_cqe cqe;
	unsigned i;

	for (i = 0; i < n; i++) {
		assert_true(raw_peek_cqe(r, &cqe));
		assert_int_equal(cqe.user_data, base + i);
		assert_int_equal(cqe.res, 0);
		raw_cq_advance(r, 1);
	}
}

/* An awake thread takes SQEs as they come: no ENTER at all. */
static void test_nops_without_enter(void **state)
{
	struct raw_ring r;
	unsigned round;

	require_ring();
	/* Long idle: it stays awake between the rounds, however busy we are. */
	sqpoll_init(&r, 16, 30000, 0);
	assert_true(fdinfo_get(r.fd, "SqThread") > 0);
	queue_nops(&r, 8, 0);
	flush_and_wake(&r);
	expect_ret(raw_enter(r.fd, 0, 8, RING_ENTER_GETEVENTS), 0);
	reap_nops(&r, 8, 0);
	for (round = 1; round <= 20; round++) {
		queue_nops(&r, 8, round * 100);
		raw_flush_sq(&r);
		if (!cq_wait_spin(&r, 8))
			fail_msg("round %u: no CQEs without ENTER (flags 0x%x)",
				 round, raw_sq_flags(&r));
		reap_nops(&r, 8, round * 100);
	}
	raw_ring_exit(&r);
	expect_no_rings_left();
}

/* Idle, it sleeps and says so; asleep it takes nothing until woken. */
static void test_need_wakeup(void **state)
{
	struct ring_cqe cqe;
	struct raw_ring r;

	require_ring();
	sqpoll_init(&r, 8, 1, 0);
	if (!sq_flag_wait(&r, RING_SQ_NEED_WAKEUP, true))
		fail_msg("NEED_WAKEUP never set by an idle thread");
	queue_nops(&r, 1, 7);
	raw_flush_sq(&r);
	sleep_ms(200);
	assert_int_equal(raw_cq_ready(&r), 0);
	assert_true(raw_sq_flags(&r) & RING_SQ_NEED_WAKEUP);
	expect_ret(raw_enter(r.fd, 0, 1,
			     RING_ENTER_SQ_WAKEUP | RING_ENTER_GETEVENTS), 0);
	assert_true(raw_peek_cqe(&r, &cqe));
	assert_int_equal(cqe.user_data, 7);
	raw_cq_advance(&r, 1);
	/* And it goes back to sleep. */
	if (!sq_flag_wait(&r, RING_SQ_NEED_WAKEUP, true))
		fail_msg("NEED_WAKEUP not set again");
	raw_ring_exit(&r);
}

/* ENTER submits nothing itself and reports to_submit, as io_uring. */
static void test_enter_reports_to_submit(void **state)
{
	struct raw_ring r;

	require_ring();
	sqpoll_init(&r, 8, 0, 0);
	expect_ret(raw_enter(r.fd, 5, 0, 0), 5);
	expect_ret(raw_enter(r.fd, 0, 0, RING_ENTER_SQ_WAKEUP), 0);
	expect_ret(raw_enter(r.fd, 3, 0, RING_ENTER_SQ_WAIT), 3);
	assert_int_equal(raw_cq_ready(&r), 0);
	raw_ring_exit(&r);
}

/* SQ_WAIT returns once the thread has made room in a full SQ. */
static void test_sq_wait(void **state)
{
	struct raw_ring r;

	require_ring();
	sqpoll_init(&r, 4, 0, 0);
	queue_nops(&r, 4, 0);
	assert_null(raw_get_sqe(&r));
	flush_and_wake(&r);
	expect_ret(raw_enter(r.fd, 0, 0, RING_ENTER_SQ_WAIT |
			     RING_ENTER_SQ_WAKEUP), 0);
	assert_true(__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE) != 0);
	expect_ret(raw_enter(r.fd, 0, 4, RING_ENTER_GETEVENTS), 0);
	reap_nops(&r, 4, 0);

	/* Entries it drops free their slots too (no CQE, but room). */
	queue_nops(&r, 4, 0);
	for (unsigned i = 0; i < 4; i++)
		r.sq_array[i] = 1000 + i;
	flush_and_wake(&r);
	expect_ret(raw_enter(r.fd, 0, 0, RING_ENTER_SQ_WAIT |
			     RING_ENTER_SQ_WAKEUP), 0);
	assert_true(__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE) != 4);
	if (!sq_flag_wait(&r, RING_SQ_NEED_WAKEUP, true))
		fail_msg("thread still awake");
	assert_int_equal(*r.sq_dropped, 4);
	assert_int_equal(raw_cq_ready(&r), 0);
	raw_ring_exit(&r);
}

/*
 * Nobody reaps: the thread stops taking SQEs once the CQ backlog holds a
 * ring's worth, and goes on when the application reaps and enters.
 */
static void test_backlog_bound(void **state)
{
	struct ring_params p = { .flags = RING_SETUP_SQPOLL | RING_SETUP_CQSIZE,
				 .cq_entries = 8 };
	unsigned queued = 0, reaped = 0, head, still = 0;
	long long end;
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 4, &p);
	/* Feed it until its head stands still for 200 ms. */
	for (head = 0; still < 10 && queued < 100000;) {
		struct ring_sqe *sqe;
		unsigned now;

		while ((sqe = raw_get_sqe(&r)))
			raw_prep_nop(sqe, queued++);
		flush_and_wake(&r);
		sleep_ms(20);
		now = __atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE);
		still = now == head ? still + 1 : 0;
		head = now;
	}
	if (still < 10)
		fail_msg("the thread took %u SQEs nobody reaped", queued);
	if (fdinfo_get(r.fd, "CqBacklog") > 8 + 4)
		fail_msg("CqBacklog %lld, more than cq_entries + sq_entries",
			 fdinfo_get(r.fd, "CqBacklog"));
	/* Reaping, with ENTERs to move the backlog in, gets every one. */
	end = now_ns() + settle_ms() * 1000000LL;
	while (reaped < queued && now_ns() < end) {
		struct ring_cqe cqe;

		expect_ret(raw_enter(r.fd, 0, 1, RING_ENTER_GETEVENTS), 0);
		while (raw_peek_cqe(&r, &cqe)) {
			if (cqe.user_data != reaped || cqe.res)
				fail_msg("CQE %u: user_data %llu res %d", reaped,
					 (unsigned long long)cqe.user_data,
					 cqe.res);
			raw_cq_advance(&r, 1);
			reaped++;
		}
	}
	assert_int_equal(reaped, queued);
	raw_ring_exit(&r);
	expect_no_rings_left();
}

/* Its mapping is its owner's: no other mm maps it, no fork inherits it. */
static void test_mapping_owner_only(void **state)
{
	struct raw_ring r, other;
	int st;
	pid_t pid;

	require_ring();
	sqpoll_init(&r, 4, 0, 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		if (msync(r.rings, r.rings_len, MS_ASYNC) != -1 ||
		    errno != ENOMEM)
			_exit(1);
		if (msync(r.sqes, r.sqes_len, MS_ASYNC) != -1 ||
		    errno != ENOMEM)
			_exit(2);
		_exit(raw_ring_map_try(&other, r.fd, &r.p) == -EPERM ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	expect_ret_msg(WEXITSTATUS(st), 0, "child (1, 2: inherited a mapping;"
		       " 3: mapped it)");
	/* The owner still maps it again. */
	assert_int_equal(raw_ring_map_try(&other, r.fd, &r.p), 0);
	raw_ring_unmap(&other);
	raw_ring_exit(&r);
}

/* A field of /proc/TID/stat (1-based), or -1. */
static long long stat_field(long tid, int n)
{
	char path[64], buf[1024], *p;
	long long v = -1;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
		p += 2;		/* field 3 on */
		for (i = 3; i < n && p; i++)
			p = strchr(p + 1, ' ');
		if (p)
			v = strtoll(p, NULL, 10);
	}
	fclose(f);
	return v;
}

/* The thread spins at its creator's priority: nice, and an idle policy. */
static void test_creator_priority(void **state)
{
	int st;
	pid_t pid;

	require_ring();
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct sched_param sp = { 0 };
		struct raw_ring r;
		struct ring_params p = { .flags = RING_SETUP_SQPOLL,
					 .sq_entries = 4 };
		long tid;

		if (setpriority(PRIO_PROCESS, 0, 7))
			_exit(2);
		r.fd = open(ring_dev(), O_RDWR);
		if (r.fd < 0 || raw_setup(r.fd, &p))
			_exit(2);
		tid = fdinfo_get(r.fd, "SqThread");
		if (stat_field(tid, 19) != 7 || stat_field(tid, 41) != 0)
			_exit(3);
		close(r.fd);
		if (sched_setscheduler(0, SCHED_IDLE, &sp))
			_exit(2);
		r.fd = open(ring_dev(), O_RDWR);
		if (r.fd < 0 || raw_setup(r.fd, &p))
			_exit(2);
		tid = fdinfo_get(r.fd, "SqThread");
		_exit(stat_field(tid, 41) == SCHED_IDLE ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	expect_ret_msg(WEXITSTATUS(st), 0, "child (3: nice not 7 or policy "
		       "not normal; 4: policy not SCHED_IDLE)");
	expect_no_rings_left();
}

static int register_file(int ringfd, int fd)
{
	struct ring_rsrc_register rr = { .nr = 1, .data = (uintptr_t)&fd };

	return raw_register(ringfd, RING_REGISTER_FILES2, sizeof(rr),
			    (uintptr_t)&rr);
}

static int tmp_file(void)
{
	char path[] = "/tmp/sqpoll-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		fail_msg("mkstemp: %s", strerror(errno));
	unlink(path);
	return fd;
}

static void prep_rw(struct ring_sqe *sqe, int op, int fd, bool fixed,
		    void *buf, unsigned len, __u64 off, __u64 ud)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->flags = fixed ? RING_SQE_FIXED_FILE : 0;
	sqe->addr = (uintptr_t)buf;
	sqe->len = len;
	sqe->off = off;
	sqe->user_data = ud;
}

static int submit_one_wait(struct raw_ring *r, struct ring_cqe *cqe)
{
	flush_and_wake(r);
	expect_ret(raw_enter(r->fd, 1, 1, RING_ENTER_GETEVENTS), 1);
	assert_true(raw_peek_cqe(r, cqe));
	raw_cq_advance(r, 1);
	return cqe->res;
}

/* The thread has no file table: a plain fd is EBADF, a slot works. */
static void test_registered_files_only(void **state)
{
	char out[PG], in[PG];
	struct ring_cqe cqe;
	struct raw_ring r;
	int fd;

	require_ring();
	fd = tmp_file();
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(pwrite(fd, out, sizeof(out), 0), sizeof(out));
	sqpoll_init(&r, 8, 0, 0);

	prep_rw(raw_get_sqe(&r), RING_OP_READ, fd, false, in, PG, 0, 1);
	expect_ret(submit_one_wait(&r, &cqe), -EBADF);

	expect_ret(register_file(r.fd, fd), 0);
	memset(in, 0, sizeof(in));
	prep_rw(raw_get_sqe(&r), RING_OP_READ, 0, true, in, PG, 0, 2);
	expect_ret(submit_one_wait(&r, &cqe), PG);
	assert_memory_equal(in, out, PG);

	/* Written from the thread, with the creator's mm. */
	memset(out, 0xa5, sizeof(out));
	prep_rw(raw_get_sqe(&r), RING_OP_WRITE, 0, true, out, PG, PG, 3);
	expect_ret(submit_one_wait(&r, &cqe), PG);
	assert_int_equal(pread(fd, in, PG, PG), PG);
	assert_memory_equal(in, out, PG);
	raw_ring_exit(&r);
	close(fd);
	expect_no_rings_left();
}

/* Writes stop at the creator's RLIMIT_FSIZE, as they would in its task. */
static void test_creator_fsize(void **state)
{
	struct rlimit old, lim = { .rlim_cur = PG };
	char buf[2 * PG];
	struct ring_cqe cqe;
	struct raw_ring r;
	void (*old_handler)(int);
	int fd;

	require_ring();
	fd = tmp_file();
	memset(buf, 1, sizeof(buf));
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim.rlim_max = old.rlim_max;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	sqpoll_init(&r, 8, 0, 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);

	expect_ret(register_file(r.fd, fd), 0);
	prep_rw(raw_get_sqe(&r), RING_OP_WRITE, 0, true, buf, PG, PG, 1);
	expect_ret(submit_one_wait(&r, &cqe), -EFBIG);
	prep_rw(raw_get_sqe(&r), RING_OP_WRITE, 0, true, buf, PG, 0, 2);
	expect_ret(submit_one_wait(&r, &cqe), PG);
	raw_ring_exit(&r);
	signal(SIGXFSZ, old_handler);
	close(fd);
}

/* IOPOLL with SQPOLL: the thread polls; ENTER waits. */
static void test_iopoll_nops(void **state)
{
	struct raw_ring r;

	require_ring();
	sqpoll_init(&r, 8, 0, RING_SETUP_IOPOLL);
	queue_nops(&r, 4, 10);
	flush_and_wake(&r);
	expect_ret(raw_enter(r.fd, 4, 4, RING_ENTER_GETEVENTS), 4);
	reap_nops(&r, 4, 10);
	raw_ring_exit(&r);
}

/* A disabled ring's thread takes nothing until the ring is enabled. */
static void test_r_disabled(void **state)
{
	struct raw_ring r;

	require_ring();
	sqpoll_init(&r, 8, 0, RING_SETUP_R_DISABLED);
	queue_nops(&r, 2, 0);
	raw_flush_sq(&r);
	sleep_ms(100);
	assert_int_equal(__atomic_load_n(r.sq_head, __ATOMIC_ACQUIRE), 0);
	expect_ret(raw_register(r.fd, RING_REGISTER_ENABLE_RINGS, 0, 0), 0);
	flush_and_wake(&r);
	expect_ret(raw_enter(r.fd, 0, 2, RING_ENTER_GETEVENTS), 0);
	reap_nops(&r, 2, 0);
	raw_ring_exit(&r);
}

static unsigned nr_cpus(void)
{
	return (unsigned)sysconf(_SC_NPROCESSORS_CONF);
}

/* Each refusal is EINVAL and leaves no ring and no thread behind. */
static void test_setup_refused(void **state)
{
	static const struct { unsigned flags, cpu, idle; } bad[] = {
		{ RING_SETUP_SQ_AFF, 0, 0 },
		{ 0, 0, 100 },
		{ 0, 1, 0 },
		{ RING_SETUP_SQPOLL, 1, 0 },
		{ RING_SETUP_SQPOLL | RING_SETUP_SQ_AFF, 4096, 0 },
		{ RING_SETUP_SQPOLL | RING_SETUP_SQ_AFF, ~0U, 0 },
		{ RING_SETUP_SQPOLL | RING_SETUP_COOP_TASKRUN, 0, 0 },
		{ RING_SETUP_SQPOLL | RING_SETUP_COOP_TASKRUN |
		  RING_SETUP_TASKRUN_FLAG, 0, 0 },
		{ RING_SETUP_SQPOLL | RING_SETUP_SINGLE_ISSUER |
		  RING_SETUP_DEFER_TASKRUN, 0, 0 },
		{ RING_SETUP_SQPOLL | (1U << 5), 0, 0 },	/* ATTACH_WQ */
	};
	unsigned i;

	require_ring();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ring_params p = { .sq_entries = 4,
					 .flags = bad[i].flags,
					 .sq_thread_cpu = bad[i].cpu,
					 .sq_thread_idle = bad[i].idle };
		int fd = dev_open();

		expect_ret_msg(raw_setup(fd, &p), -EINVAL, "case %u", i);
		close(fd);
	}
	/* A CPU this task may not run on is not one its thread may. */
	if (nr_cpus() > 1) {
		cpu_set_t one, old;
		struct ring_params p = { .sq_entries = 4,
					 .flags = RING_SETUP_SQPOLL |
						  RING_SETUP_SQ_AFF,
					 .sq_thread_cpu = 1 };
		int fd = dev_open();

		assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
		CPU_ZERO(&one);
		CPU_SET(0, &one);
		assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
		expect_ret(raw_setup(fd, &p), -EINVAL);
		assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
		close(fd);
	}
	expect_no_rings_left();
}

/* SQ_AFF: the thread runs on the CPU asked for, and submits there. */
static void test_sq_aff(void **state)
{
	unsigned cpu = nr_cpus() - 1;
	struct ring_params p = { .flags = RING_SETUP_SQPOLL |
					  RING_SETUP_SQ_AFF,
				 .sq_thread_cpu = cpu };
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 8, &p);
	queue_nops(&r, 4, 0);
	flush_and_wake(&r);
	expect_ret(raw_enter(r.fd, 0, 4, RING_ENTER_GETEVENTS), 0);
	reap_nops(&r, 4, 0);
	assert_int_equal(fdinfo_get(r.fd, "SqThreadCpu"), cpu);
	raw_ring_exit(&r);
}

static bool pid_gone(pid_t tid, int ms)
{
	char path[64];
	long long end = now_ns() + ms * 1000000LL;

	snprintf(path, sizeof(path), "/proc/%d", tid);
	while (!access(path, F_OK)) {
		if (now_ns() > end)
			return false;
		sleep_ms(5);
	}
	return true;
}

/* Wait for pid up to ms; -1 if it has not exited by then. */
static int wait_exit(pid_t pid, int ms)
{
	long long end = now_ns() + ms * 1000000LL;
	int st;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now_ns() > end) {
			/* Not waited for: an unkillable one would hang us. */
			kill(pid, SIGKILL);
			return -1;
		}
		sleep_ms(5);
	}
	return st;
}

/* ---- cgroups ------------------------------------------------------------ */

#define CG_ROOT		"/sys/fs/cgroup"

/* The cgroup v2 path in /proc/PID/cgroup ("0::/path"), or "". */
static void cgroup_of(pid_t pid, char *out, size_t len)
{
	char path[64], line[120];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	out[0] = 0;
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, "%s", line + 3);
		}
	fclose(f);
}

/*
 * The thread's CPU time is its creator's: it is in the creator's cgroup
 * (here a fresh one the test process moved into), not the root's, where
 * kernel threads start.
 */
static void test_thread_in_creator_cgroup(void **state)
{
	char dir[128], procs[160], want[128], got[128] = "";
	struct statfs sfs;
	bool mounted = false;
	struct raw_ring r;
	long tid;

	require_ring();
	if (statfs(CG_ROOT, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL)) {
			print_message("# SKIP: no cgroup v2 at %s: %s\n", CG_ROOT,
				      strerror(errno));
			skip();
		}
		mounted = true;
	}
	snprintf(dir, sizeof(dir), CG_ROOT "/ring-sqpoll-%d", getpid());
	snprintf(want, sizeof(want), "/ring-sqpoll-%d", getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	if (mkdir(dir, 0755) && errno != EEXIST)
		fail_msg("mkdir %s: %s", dir, strerror(errno));
	assert_true(file_write_str(procs, "0\n"));
	sqpoll_init(&r, 4, 0, 0);
	tid = fdinfo_get(r.fd, "SqThread");
	cgroup_of((pid_t)tid, got, sizeof(got));
	raw_ring_exit(&r);
	assert_true(file_write_str(CG_ROOT "/cgroup.procs", "0\n"));
	if (!pid_gone((pid_t)tid, settle_ms()))
		fail_msg("SQ thread %ld outlived its ring", tid);
	if (rmdir(dir))
		fail_msg("rmdir %s: %s", dir, strerror(errno));
	if (mounted)
		umount(CG_ROOT);
	if (strcmp(got, want))
		fail_msg("SQ thread %ld in cgroup \"%s\", not its creator's "
			 "\"%s\"", tid, got, want);
}

static long max_user_sqthreads(void)
{
	return read_long("/sys/module/ring/parameters/max_user_sqthreads");
}

/* A user's SQPOLL rings are bounded (EAGAIN); another user has its own. */
static void test_per_user_bound(void **state)
{
	long max = max_user_sqthreads();
	int fds[64], extra, st, i;
	struct ring_params p;
	pid_t pid;

	require_ring();
	if (max < 1 || max > 63)
		fail_msg("max_user_sqthreads %ld: not in 1..63", max);
	expect_no_rings_left();
	for (i = 0; i < max; i++) {
		p = (struct ring_params){ .sq_entries = 4,
					  .flags = RING_SETUP_SQPOLL };
		fds[i] = dev_open();
		expect_ret_msg(raw_setup(fds[i], &p), 0, "ring %d", i);
	}
	p = (struct ring_params){ .sq_entries = 4, .flags = RING_SETUP_SQPOLL };
	extra = dev_open();
	expect_ret(raw_setup(extra, &p), -EAGAIN);
	/* Nothing of the refused SETUP stays: the fd can still set up a ring. */
	p = (struct ring_params){ .sq_entries = 4 };
	expect_ret(raw_setup(extra, &p), 0);
	close(extra);

	/* Another user is not refused for this one's threads. */
	if (geteuid() == 0) {
		pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			int fd = open(ring_dev(), O_RDWR);

			p = (struct ring_params){ .sq_entries = 4,
						  .flags = RING_SETUP_SQPOLL };
			if (fd < 0 || setresgid(65534, 65534, 65534) ||
			    setresuid(65534, 65534, 65534))
				_exit(2);
			_exit(raw_setup(fd, &p) ? 1 : 0);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		expect_ret_msg(WEXITSTATUS(st), 0, "another user's SETUP");
	}

	/* The budget comes back with a closed ring. */
	close(fds[0]);
	p = (struct ring_params){ .sq_entries = 4, .flags = RING_SETUP_SQPOLL };
	fds[0] = dev_open();
	expect_ret(raw_setup(fds[0], &p), 0);
	for (i = 0; i < max; i++)
		close(fds[i]);
	expect_no_rings_left();
}

/*
 * A child that owns an SQPOLL ring (fd not close-on-exec, thread polling
 * for a minute after its last SQE): @body runs in it with the ring and
 * never returns; it writes the thread's pid (or -2: SKIP) to @wfd.
 */
typedef void owner_body(struct raw_ring *r, int wfd);

static pid_t spawn_owner(owner_body *body, long *tid)
{
	int pfd[2];
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct ring_params p = { .sq_entries = 8,
					 .flags = RING_SETUP_SQPOLL,
					 .sq_thread_idle = 60000 };
		struct raw_ring r;

		close(pfd[0]);
		r.fd = open(ring_dev(), O_RDWR);
		if (r.fd < 0 || raw_setup(r.fd, &p) ||
		    raw_ring_map_try(&r, r.fd, &p))
			_exit(2);
		r.sqe_tail = 0;
		body(&r, pfd[1]);
		_exit(2);
	}
	close(pfd[1]);
	*tid = -1;
	if (read(pfd[0], tid, sizeof(*tid)) != sizeof(*tid))
		*tid = -1;
	close(pfd[0]);
	return pid;
}

static void send_tid(struct raw_ring *r, int wfd)
{
	long t = fdinfo_get(r->fd, "SqThread");

	if (write(wfd, &t, sizeof(t)) != sizeof(t))
		_exit(2);
}

/* The owner ends within settle_ms(), and its thread and ring with it. */
static void expect_owner_gone(pid_t pid, long tid, bool killed)
{
	int st = wait_exit(pid, settle_ms());

	if (st == -1)
		fail_msg("the owner did not end within %d ms (killed: %d)",
			 settle_ms(), killed);
	if (killed)
		assert_true(WIFSIGNALED(st));
	else
		expect_ret(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	if (!pid_gone((pid_t)tid, settle_ms()))
		fail_msg("SQ thread %ld still there after its owner left", tid);
	expect_no_rings_left();
}

/* Four NOPs through the thread, which then polls with the child's mm. */
static void busy_nops(struct raw_ring *r, int wfd)
{
	unsigned i;

	for (i = 0; i < 4; i++) {
		raw_prep_nop(raw_get_sqe(r), i);
		if (kick(r) || raw_enter(r->fd, 0, 1, RING_ENTER_GETEVENTS))
			_exit(2);
		raw_cq_advance(r, 1);
	}
	send_tid(r, wfd);
}

static void busy_then_exit(struct raw_ring *r, int wfd)
{
	busy_nops(r, wfd);
	_exit(0);
}

static void busy_then_exec(struct raw_ring *r, int wfd)
{
	busy_nops(r, wfd);
	execl("/bin/sleep", "sleep", "0.2", (char *)NULL);
	_exit(2);
}

/*
 * The owner exits, or execs, with its thread busy polling with its mm and
 * without closing the ring: its exit is not held up, and the thread is
 * gone with the ring.
 */
static void owner_leaves(owner_body *body)
{
	long tid;
	pid_t pid;

	require_ring();
	pid = spawn_owner(body, &tid);
	assert_true(tid > 0);
	expect_owner_gone(pid, tid, false);
}

static void test_owner_exit(void **state)
{
	owner_leaves(busy_then_exit);
}

static void test_owner_exec(void **state)
{
	owner_leaves(busy_then_exec);
}

/* A forked child has another mm: ENTER refused; the parent's ring goes on. */
static void test_fork(void **state)
{
	struct raw_ring r;
	int st;
	pid_t pid;

	require_ring();
	sqpoll_init(&r, 8, 0, 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		_exit(raw_enter(r.fd, 0, 0, RING_ENTER_SQ_WAKEUP) == -EPERM ?
		      0 : 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	queue_nops(&r, 3, 40);
	flush_and_wake(&r);
	expect_ret(raw_enter(r.fd, 0, 3, RING_ENTER_GETEVENTS), 0);
	reap_nops(&r, 3, 40);
	raw_ring_exit(&r);
}

/*
 * The owner exits while a process sharing its mm and file table (clone
 * with CLONE_VM | CLONE_FILES, not a thread) keeps the ring: once the ring
 * is dying its ENTER says EOWNERDEAD, as io_uring's does once its SQ
 * thread is gone, and the thread takes no SQE any more.
 */
static struct raw_ring dead_ring;

static int ownerdead_feeder(void *arg)
{
	struct raw_ring *r = &dead_ring;
	long long end = now_ns() + settle_ms() * 1000000LL;
	unsigned head;
	int ret;

	(void)arg;
	while ((ret = raw_enter(r->fd, 1, 0, 0)) != -EOWNERDEAD) {
		if (ret != 1 || now_ns() > end)
			_exit(1);
		sleep_ms(5);
	}
	head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	raw_prep_nop(raw_get_sqe(r), 1);
	raw_flush_sq(r);
	if (raw_enter(r->fd, 0, 0, RING_ENTER_SQ_WAKEUP) != -EOWNERDEAD)
		_exit(2);
	sleep_ms(100);
	if (__atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) != head)
		_exit(3);
	_exit(0);
}

static void test_ownerdead(void **state)
{
	size_t stack_sz = 256 << 10;
	char *stack;
	pid_t owner, feeder = -1;
	int st, pfd[2];

	require_ring();
	stack = mmap(NULL, stack_sz, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	assert_true(stack != MAP_FAILED);
	assert_int_equal(pipe(pfd), 0);
	owner = fork();
	assert_true(owner >= 0);
	if (!owner) {
		struct ring_params p = { .sq_entries = 4,
					 .flags = RING_SETUP_SQPOLL };
		pid_t pid;

		dead_ring.fd = open(ring_dev(), O_RDWR);
		if (dead_ring.fd < 0 || raw_setup(dead_ring.fd, &p) ||
		    raw_ring_map_try(&dead_ring, dead_ring.fd, &p))
			_exit(2);
		/* CLONE_PARENT: the test reaps the feeder. */
		pid = clone(ownerdead_feeder, stack + stack_sz,
			    CLONE_VM | CLONE_FILES | CLONE_PARENT | SIGCHLD,
			    NULL);
		if (pid < 0 || write(pfd[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &feeder, sizeof(feeder)),
			 sizeof(feeder));
	close(pfd[0]);
	assert_int_equal(waitpid(owner, &st, 0), owner);
	assert_int_equal(WEXITSTATUS(st), 0);
	st = wait_exit(feeder, 2 * settle_ms());
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("feeder: status %d (1: no EOWNERDEAD, 2: SQ_WAKEUP "
			 "not EOWNERDEAD, 3: an SQE taken)", st == -1 ? -1 :
			 WEXITSTATUS(st));
	munmap(stack, stack_sz);
	expect_no_rings_left();
}

/* ---- a fault the thread can never finish -------------------------------- */

static void *register_blocked(void *arg)
{
	struct iovec iov = { NULL, 0 };

	/* Waits for uring_lock, which the stuck thread holds. */
	raw_register(*(int *)arg, RING_REGISTER_BUFFERS, 1, (uintptr_t)&iov);
	return NULL;
}

/* A page whose first touch waits for a userfaultfd nobody reads; or NULL. */
static void *uffd_trap_page(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register ureg;
	void *page;
	int uffd;

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		return NULL;
	page = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return NULL;
	ureg = (struct uffdio_register){
		.range = { (uintptr_t)page, PG },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	return ioctl(uffd, UFFDIO_REGISTER, &ureg) ? NULL : page;
}

/* READV's iovec array is on the trap page: the thread faults there. */
static void stuck_in_fault(struct raw_ring *r, int wfd)
{
	static int ringfd;
	void *page = uffd_trap_page();
	pthread_t thr;
	long t = -2;

	if (!page) {
		if (write(wfd, &t, sizeof(t)) != sizeof(t))
			_exit(2);
		_exit(0);
	}
	if (register_file(r->fd, open("/dev/null", O_RDONLY)))
		_exit(2);
	prep_rw(raw_get_sqe(r), RING_OP_READV, 0, true, page, 1, 0, 1);
	if (kick(r))
		_exit(2);
	ringfd = r->fd;
	if (pthread_create(&thr, NULL, register_blocked, &ringfd))
		_exit(2);
	send_tid(r, wfd);
	for (;;)
		pause();
}

/*
 * The owner's SQ thread faults on a userfaultfd page nobody will ever
 * resolve, holding uring_lock; another thread of the owner waits for that
 * lock in REGISTER (uninterruptibly: it alone keeps the owner's files, so
 * its close, and its pidfd from telling us).  SIGKILL to the owner must
 * still end it, and the thread and the ring go with it.
 */
static void test_uffd_stuck_owner_killable(void **state)
{
	long tid;
	pid_t pid;
	int st;

	require_ring();
	pid = spawn_owner(stuck_in_fault, &tid);
	if (tid == -2) {
		waitpid(pid, &st, 0);
		print_message("# SKIP: userfaultfd unavailable\n");
		skip();
	}
	assert_true(tid > 0);
	/* Let the thread reach the fault and the other thread the lock. */
	sleep_ms(300);
	assert_int_equal(kill(pid, SIGKILL), 0);
	expect_owner_gone(pid, tid, true);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_per_user_bound),
	cmocka_unit_test(test_nops_without_enter),
	cmocka_unit_test(test_need_wakeup),
	cmocka_unit_test(test_enter_reports_to_submit),
	cmocka_unit_test(test_sq_wait),
	cmocka_unit_test(test_backlog_bound),
	cmocka_unit_test(test_mapping_owner_only),
	cmocka_unit_test(test_creator_priority),
	cmocka_unit_test(test_registered_files_only),
	cmocka_unit_test(test_creator_fsize),
	cmocka_unit_test(test_iopoll_nops),
	cmocka_unit_test(test_r_disabled),
	cmocka_unit_test(test_setup_refused),
	cmocka_unit_test(test_sq_aff),
	cmocka_unit_test(test_thread_in_creator_cgroup),
	cmocka_unit_test(test_fork),
	cmocka_unit_test(test_ownerdead),
	cmocka_unit_test(test_owner_exit),
	cmocka_unit_test(test_owner_exec),
	cmocka_unit_test(test_uffd_stuck_owner_killable),
};

VMTEST_MAIN(tests)
