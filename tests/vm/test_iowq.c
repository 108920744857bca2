// SPDX-License-Identifier: MIT
/*
 * The ring's own workers: RING_REGISTER_IOWQ_MAX_WORKERS (query, set, clamp
 * to the max_workers module parameter, every errno, limits untouched by a
 * failed call), the limits honoured (reads of ptys, which go to unbound
 * workers on every kernel, and FSYNCs, bound workers), the budget of one
 * user over many rings (max_user_workers): reached, never passed, and
 * handed on to a starved ring when workers exit, idle workers exiting, and
 * workers in their owner's cgroups.
 * fdinfo's WorkersBound, WorkersUnbound and WorkersMax show it all.
 */
#include "iotest.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

static unsigned module_uint(const char *name)
{
	char path[128];
	long v;

	snprintf(path, sizeof(path), "/sys/module/ring/parameters/%s", name);
	v = read_long(path);
	if (v <= 0)
		fail_msg("cannot read %s", path);
	return (unsigned)v;
}

static int iowq_set(struct ring *ring, unsigned bound, unsigned unbound,
		    unsigned old[2])
{
	unsigned v[2] = { bound, unbound };
	int ret = ring_register_iowq_max_workers(ring, v);

	if (!ret && old) {
		old[0] = v[0];
		old[1] = v[1];
	}
	return ret;
}

static void expect_max(struct ring *ring, unsigned bound, unsigned unbound,
		       const char *what)
{
	unsigned v[2] = { 0, 0 };

	expect_ret(iowq_set(ring, 0, 0, v), 0);
	if (v[0] != bound || v[1] != unbound)
		fail_msg("%s: limits %u %u, expected %u %u", what, v[0], v[1],
			 bound, unbound);
}

static void test_register(void **state)
{
	unsigned max = module_uint("max_workers"), old[2] = { 0, 0 };
	unsigned v[3] = { 5, 6, 7 };
	struct ring_stats base;
	struct ring ring;
	void *ro;

	require_ring();
	stats_baseline(&base);
	ring_init_or_fail(&ring, 4);
	expect_max(&ring, max, max, "defaults");
	if (fdinfo_get(ring.ring_fd, "WorkersBound") != 0 ||
	    fdinfo_get(ring.ring_fd, "WorkersUnbound") != 0)
		fail_msg("a new ring has workers:\n%s",
			 fdinfo_text(ring.ring_fd));

	expect_ret(iowq_set(&ring, 2, 3, old), 0);
	if (old[0] != max || old[1] != max)
		fail_msg("set 2 3 returned %u %u, expected the old %u %u",
			 old[0], old[1], max, max);
	expect_max(&ring, 2, 3, "after set 2 3");
	expect_ret(iowq_set(&ring, 0, 1, NULL), 0);
	expect_max(&ring, 2, 1, "0 keeps a limit");
	expect_ret(iowq_set(&ring, max + 100, ~0U, NULL), 0);
	expect_max(&ring, max, max, "over max_workers: clamped");

	/* Errors change nothing. */
	expect_ret(iowq_set(&ring, 1, 1, NULL), 0);
	expect_ret(raw_register(ring.ring_fd, RING_REGISTER_IOWQ_MAX_WORKERS,
				1, (uintptr_t)v), -EINVAL);
	expect_ret(raw_register(ring.ring_fd, RING_REGISTER_IOWQ_MAX_WORKERS,
				3, (uintptr_t)v), -EINVAL);
	expect_ret(raw_register(ring.ring_fd, RING_REGISTER_IOWQ_MAX_WORKERS,
				2, 0), -EFAULT);
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED);
	/* Readable zeros but not writable: the old values cannot go back. */
	expect_ret(raw_register(ring.ring_fd, RING_REGISTER_IOWQ_MAX_WORKERS,
				2, (uintptr_t)ro), -EFAULT);
	munmap(ro, 4096);
	expect_max(&ring, 1, 1, "after failed calls");
	if (fdinfo_get(ring.ring_fd, "WorkersMax") != 1)
		fail_msg("fdinfo WorkersMax does not say 1 1:\n%s",
			 fdinfo_text(ring.ring_fd));
	ring_queue_exit(&ring);
	expect_stats(&base, "register");
}

/* A pty pair: reading the master waits until the slave writes. */
struct pty {
	int master, slave;
};

static void pty_open(struct pty *p)
{
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->master < 0 || grantpt(p->master) || unlockpt(p->master))
		fail_msg("posix_openpt: %s", strerror(errno));
	p->slave = open(ptsname(p->master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->slave < 0)
		fail_msg("open %s: %s", ptsname(p->master), strerror(errno));
}

static void pty_close(struct pty *p)
{
	close(p->slave);
	close(p->master);
}

static void submit_read(struct ring *ring, int fd, void *buf, __u64 ud)
{
	struct ring_sqe *sqe = ring_get_sqe(ring);

	assert_non_null(sqe);
	ring_prep_read(sqe, fd, buf, 16, -1);
	sqe->user_data = ud;
	expect_ret(ring_submit(ring), 1);
}

static long long workers_of(struct ring *rings, unsigned n, const char *key)
{
	long long sum = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		sum += fdinfo_get(rings[i].ring_fd, key);
	return sum;
}

/*
 * Wait until the rings' @key workers add up to @want; fail after a while, or
 * at once if they pass it on the way up (a limit is a ceiling).
 */
static void wait_workers(struct ring *rings, unsigned n, const char *key,
			 long long want, const char *what)
{
	long long deadline = now_ns() + settle_ms() * 1000000LL, have;
	long long first = workers_of(rings, n, key);

	while ((have = workers_of(rings, n, key)) != want) {
		if ((first <= want && have > want) || now_ns() > deadline)
			fail_msg("%s: %lld %s, expected %lld", what, have, key,
				 want);
		sleep_ms(20);
	}
}

/* Reap @n CQEs, each a 1-byte read; fail after a while. */
static void reap_reads(struct ring *ring, unsigned n, const char *what)
{
	long long deadline = now_ns() + settle_ms() * 1000000LL;
	struct ring_cqe *cqe;

	while (n) {
		if (ring_peek_cqe(ring, &cqe)) {
			if (now_ns() > deadline)
				fail_msg("%s: %u reads still pending", what, n);
			sleep_ms(10);
			continue;
		}
		if (cqe->res != 1)
			fail_msg("%s: read %llu: res %d", what,
				 (unsigned long long)cqe->user_data, cqe->res);
		ring_cqe_seen(ring, cqe);
		n--;
	}
}

#define NPTY	4

static void test_unbound_limit(void **state)
{
	struct ring_stats base;
	struct pty p[NPTY];
	char buf[NPTY][16];
	struct ring ring;
	unsigned i;

	require_ring();
	stats_baseline(&base);
	ring_init_or_fail(&ring, 8);
	expect_ret(iowq_set(&ring, 0, 2, NULL), 0);
	for (i = 0; i < NPTY; i++) {
		pty_open(&p[i]);
		submit_read(&ring, p[i].master, buf[i], i);
	}
	wait_workers(&ring, 1, "WorkersUnbound", 2, "4 pty reads, limit 2");
	sleep_ms(300);
	wait_workers(&ring, 1, "WorkersUnbound", 2, "still, 300 ms later");
	if (fdinfo_get(ring.ring_fd, "Inflight") != NPTY || ring_cq_ready(&ring))
		fail_msg("pty reads completed with nothing written:\n%s",
			 fdinfo_text(ring.ring_fd));
	/* The two waiting for a worker run once the first two are done. */
	for (i = 0; i < NPTY; i++)
		if (write(p[i].slave, "x", 1) != 1)
			fail_msg("write to the pty: %s", strerror(errno));
	reap_reads(&ring, NPTY, "after writing to every pty");
	if (fdinfo_get(ring.ring_fd, "WorkersBound") != 0)
		fail_msg("pty reads started bound workers:\n%s",
			 fdinfo_text(ring.ring_fd));
	ring_queue_exit(&ring);
	for (i = 0; i < NPTY; i++)
		pty_close(&p[i]);
	expect_stats(&base, "unbound limit");
}

static void test_bound_limit(void **state)
{
	struct ring_stats base;
	struct target t;
	struct ring ring;
	struct ring_cqe *cqe;
	unsigned i;

	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_TMPFS, false, 0, 1 << 20);
	ring_init_or_fail(&ring, 8);
	expect_ret(iowq_set(&ring, 1, 0, NULL), 0);
	for (i = 0; i < 8; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&ring);

		ring_prep_fsync(sqe, t.fd, 0);
		sqe->user_data = i;
	}
	expect_ret(ring_submit_and_wait(&ring, 8), 8);
	for (i = 0; i < 8; i++) {
		expect_ret(ring_wait_cqe(&ring, &cqe), 0);
		expect_ret_msg(cqe->res, 0, "FSYNC %llu",
			       (unsigned long long)cqe->user_data);
		ring_cqe_seen(&ring, cqe);
	}
	/* Idle workers stay a while: exactly the one allowed ran them all. */
	if (fdinfo_get(ring.ring_fd, "WorkersBound") != 1 ||
	    fdinfo_get(ring.ring_fd, "WorkersUnbound") != 0)
		fail_msg("8 FSYNCs with 1 bound worker allowed:\n%s",
			 fdinfo_text(ring.ring_fd));
	ring_queue_exit(&ring);
	target_close(&t);
	expect_stats(&base, "bound limit");
}

/*
 * One user's rings together never run more than max_user_workers; a ring
 * left without budget gets it when other rings' workers exit (idle).
 */
static void test_user_budget(void **state)
{
	unsigned per_ring = module_uint("max_workers");
	unsigned budget = module_uint("max_user_workers");
	unsigned nrings = budget / per_ring + 2, n, i;
	struct ring_stats base;
	struct ring *rings;
	struct pty *p;
	char (*buf)[16];

	require_ring();
	stats_baseline(&base);
	n = nrings * per_ring;
	rings = calloc(nrings, sizeof(*rings));
	p = calloc(n, sizeof(*p));
	buf = calloc(n, sizeof(*buf));
	assert_true(rings && p && buf);
	for (i = 0; i < nrings; i++)
		ring_init_or_fail(&rings[i], per_ring);
	for (i = 0; i < n; i++) {
		pty_open(&p[i]);
		submit_read(&rings[i / per_ring], p[i].master, buf[i], i);
		/* Fill the budget ring by ring: the last rings get none. */
		if ((i + 1) % per_ring == 0 && i + 1 <= budget)
			wait_workers(rings, nrings, "WorkersUnbound", i + 1,
				     "rings filling the budget");
	}
	sleep_ms(300);
	wait_workers(rings, nrings, "WorkersUnbound", budget,
		     "every ring full of pty reads, 300 ms later");
	for (i = budget / per_ring; i < nrings; i++)
		if (fdinfo_get(rings[i].ring_fd, "WorkersUnbound"))
			fail_msg("ring %u has workers beyond the budget:\n%s",
				 i, fdinfo_text(rings[i].ring_fd));
	for (i = 0; i < n; i++)
		if (write(p[i].slave, "x", 1) != 1)
			fail_msg("write to the pty: %s", strerror(errno));
	/* The starved rings run once idle workers give their budget back. */
	for (i = 0; i < nrings; i++)
		reap_reads(&rings[i], per_ring, "after writing to every pty");
	for (i = 0; i < nrings; i++)
		ring_queue_exit(&rings[i]);
	for (i = 0; i < n; i++)
		pty_close(&p[i]);
	free(buf);
	free(p);
	free(rings);
	expect_stats(&base, "user budget");
}

static void test_idle_exit(void **state)
{
	struct ring_stats base;
	struct pty p;
	char buf[16];
	struct ring ring;

	require_ring();
	stats_baseline(&base);
	ring_init_or_fail(&ring, 4);
	pty_open(&p);
	submit_read(&ring, p.master, buf, 1);
	wait_workers(&ring, 1, "WorkersUnbound", 1, "a pty read");
	if (write(p.slave, "x", 1) != 1)
		fail_msg("write to the pty: %s", strerror(errno));
	reap_reads(&ring, 1, "the pty read");
	/* 5 s idle, then it exits. */
	wait_workers(&ring, 1, "WorkersUnbound", 0, "idle worker");
	/* And the next request starts a new one. */
	submit_read(&ring, p.master, buf, 2);
	wait_workers(&ring, 1, "WorkersUnbound", 1, "a second pty read");
	if (write(p.slave, "y", 1) != 1)
		fail_msg("write to the pty: %s", strerror(errno));
	reap_reads(&ring, 1, "the second pty read");
	ring_queue_exit(&ring);
	pty_close(&p);
	expect_stats(&base, "idle exit");
}

/*
 * The cgroup of this process's first ring worker (ring-wq/PID), from its
 * /proc/TID/cgroup line "0::PATH" (empty if it has none left), or false
 * if there is no such thread.
 */
static bool worker_cgroup(char *out, size_t len)
{
	char want[32], comm[32], path[300], line[256];
	struct dirent *de;
	DIR *proc;

	snprintf(want, sizeof(want), "ring-wq/%d", getpid());
	proc = opendir("/proc");
	if (!proc)
		fail_msg("opendir /proc: %s", strerror(errno));
	while ((de = readdir(proc))) {
		FILE *f;
		bool match;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		match = fgets(comm, sizeof(comm), f) &&
			!strncmp(comm, want, strlen(want)) &&
			(comm[strlen(want)] == '\n' || !comm[strlen(want)]);
		fclose(f);
		if (!match)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cgroup", de->d_name);
		f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "0::", 3)) {
				line[strcspn(line, "\n")] = 0;
				snprintf(out, len, "%s", line + 3);
				fclose(f);
				closedir(proc);
				return true;
			}
		if (f)
			fclose(f);
	}
	closedir(proc);
	return false;
}

/*
 * A worker runs in the cgroups of the ring's owner, so the owner's io,
 * cpu and cpuset limits bind what it does for the owner (a container's
 * io.max); before, workers ran in the root cgroup.
 */
static void test_worker_cgroup(void **state)
{
	char cg[128], why[256], got[260];
	struct ring_stats base;
	unsigned i;
	struct ring_cqe cqe;
	struct ring ring;
	struct target t;

	require_ring();
	if (!cg_create("iowq", cg, sizeof(cg), why, sizeof(why))) {
		print_message("# SKIP: %s\n", why);
		skip();
	}
	/* The workers of earlier tests' rings may still be on their way out. */
	for (i = 0; worker_cgroup(got, sizeof(got)); i++) {
		if (i == 400)
			fail_msg("a ring-wq/%d worker outlives its ring: 20 s",
				 getpid());
		sleep_ms(50);
	}
	stats_baseline(&base);
	if (!cg_enter(cg, 0))
		fail_msg("cannot enter %s: %s", cg, strerror(errno));
	target_open(&t, TGT_TMPFS, false, 0, 4096);
	ring_init_or_fail(&ring, 4);
	/* An FSYNC always runs in a worker, started now, in cg. */
	ring_prep_fsync(ring_get_sqe(&ring), t.fd, 0);
	submit_reap(&ring, &cqe, 1);
	expect_ret(cqe.res, 0);
	if (!worker_cgroup(got, sizeof(got)))
		fail_msg("no ring-wq/%d worker after an FSYNC", getpid());
	ring_queue_exit(&ring);
	target_close(&t);
	cg_enter(CG_ROOT, 0);
	if (strcmp(got, cg + strlen(CG_ROOT)))
		fail_msg("the worker is in cgroup \"%s\", its owner in \"%s\"",
			 got, cg + strlen(CG_ROOT));
	expect_stats(&base, "worker cgroup");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_register),
	cmocka_unit_test(test_unbound_limit),
	cmocka_unit_test(test_bound_limit),
	cmocka_unit_test(test_user_budget),
	cmocka_unit_test(test_idle_exit),
	cmocka_unit_test(test_worker_cgroup),
};

VMTEST_MAIN(tests)
