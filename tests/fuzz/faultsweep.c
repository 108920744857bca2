// SPDX-License-Identifier: MIT
/*
 * faultsweep: fail the 1st, 2nd, ... Nth allocation or user copy that
 * ring.ko makes in one step of a scenario, until the step runs with no
 * failure left to inject, and check every time that the step failed with a
 * precise errno (or coped), that the ring still works, and that nothing is
 * left behind.  Runs inside the test VM on the debug kernel (`make
 * faultsweep`; tools/vm/run --kernel debug -- build/tests/fuzz/faultsweep
 * [SCENARIO...]).
 *
 * How: the three fault types (failslab, fail_page_alloc, fail_usercopy)
 * get the stack-trace filter set to ring.ko's core (from /proc/modules),
 * probability 0 (so nothing fails by chance) and the knobs that would skip
 * sleeping or order-0 allocations off.  A fresh child process per (scenario,
 * n) prepares its state, writes n to /proc/thread-self/fail-nth right
 * before the system call(s) under test, and reads it back after: 0 means
 * the n-th fault point was reached and failed, anything else that the step
 * ran with fewer points, which ends the sweep of that scenario.
 *
 * Checked after each injection: the failing system call's errno, or the
 * CQE's result, is one the contract gives for that step (ENOMEM, EFAULT,
 * EAGAIN from ENTER; a short transfer with the right bytes); the ring and
 * the state the step would have changed work or are unchanged (retried
 * without injection); VmPin is 0 once the child closed its rings; the
 * module's counters (/sys/class/misc/ring/stats) return to their baseline;
 * RLIMIT_MEMLOCK is wholly available again to the user (locked_vm; buffer
 * scenarios); no kernel report in /dev/kmsg.  At the end, kmemleak.
 *
 * fail-nth counts only the faults of the task that wrote it: allocations
 * and copies made by the ring's workers (kernel threads), by its workqueue
 * (worker creation, deferred teardown) and by completions in IRQ context
 * are out of its reach.  Prints one line per scenario and a total; exits
 * 1 on any misbehaviour, 2 when it cannot run.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "../vm/vmtest.h"
#include "../vm/iotest.h"

#define MAX_N		5000	/* more points than this in one step: a loop */
#define NR_ERRNO	256
#define PG		4096UL

static const char *const fault_dirs[] = {
	"/sys/kernel/debug/failslab",
	"/sys/kernel/debug/fail_page_alloc",
	"/sys/kernel/debug/fail_usercopy",
};

/* What one child reports (shared memory). */
struct outcome {
	bool fired;		/* the n-th point was reached */
	int err;		/* errno of the step's failing call, or 0 */
	int cqe_err;		/* -res of a failed CQE, or 0 */
	bool handled;		/* fired, yet the step succeeded */
	char bad[512];		/* misbehaviours, "; "-separated */
};

static struct outcome *out;	/* MAP_SHARED */
static int nth_fd = -1;		/* /proc/thread-self/fail-nth */
static const char *ext4_dir;	/* mounted ext4, or NULL: /tmp */

static void bad(const char *fmt, ...)
{
	size_t len = strlen(out->bad);
	va_list ap;

	if (len + 4 >= sizeof(out->bad))
		return;
	if (len)
		len += snprintf(out->bad + len, sizeof(out->bad) - len, "; ");
	va_start(ap, fmt);
	vsnprintf(out->bad + len, sizeof(out->bad) - len, fmt, ap);
	va_end(ap);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -errno;
}

static int knob(const char *dir, const char *name, const char *val)
{
	char path[256];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = write_str(path, val);
	if (ret)
		fprintf(stderr, "faultsweep: %s = %s: %s\n", path, val,
			strerror(-ret));
	return ret;
}

/* ---- fail-nth ------------------------------------------------------------ */

static void arm(unsigned n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth_fd, buf, len, 0) != len) {
		bad("write fail-nth: %s", strerror(errno));
		_exit(3);
	}
}

/* Disarm; true when the armed point was reached (fail-nth counted down). */
static bool disarm(void)
{
	char buf[16] = "";
	unsigned left;

	if (pread(nth_fd, buf, sizeof(buf) - 1, 0) <= 0)
		left = 1;
	else
		left = strtoul(buf, NULL, 10);
	if (pwrite(nth_fd, "0", 1, 0) != 1)
		_exit(3);
	out->fired = !left;
	return !left;
}

/* The step's system call failed with @err: one of the allowed, 0-ended. */
static void step_err(const char *what, int err, ...)
{
	va_list ap;
	int ok;

	out->err = err;
	va_start(ap, err);
	while ((ok = va_arg(ap, int)))
		if (ok == err)
			break;
	va_end(ap);
	if (!ok)
		bad("%s: errno %s", what, strerror(err));
	if (!out->fired)
		bad("%s failed (%s) with no fault injected", what,
		    strerror(err));
}

static void cqe_err(const char *what, int res, ...)
{
	va_list ap;
	int ok;

	out->cqe_err = -res;
	va_start(ap, res);
	while ((ok = va_arg(ap, int)))
		if (ok == -res)
			break;
	va_end(ap);
	if (!ok)
		bad("%s: CQE res %d (%s)", what, res, strerror(-res));
	if (!out->fired)
		bad("%s: CQE res %d with no fault injected", what, res);
}

/* ---- rings --------------------------------------------------------------- */

static int ring_open_setup(struct raw_ring *r, unsigned sq, unsigned cq)
{
	struct ring_params p = { .sq_entries = sq };
	int fd = open("/dev/ring", O_RDWR | O_CLOEXEC), ret;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (fd < 0) {
		bad("open /dev/ring: %s", strerror(errno));
		return -1;
	}
	if (cq) {
		p.flags = RING_SETUP_CQSIZE;
		p.cq_entries = cq;
	}
	if (ioctl(fd, RING_IOC_SETUP, &p)) {
		bad("SETUP (no injection): %s", strerror(errno));
		close(fd);
		return -1;
	}
	ret = raw_ring_map_try(r, fd, &p);
	if (ret) {
		bad("mmap of the rings (no injection): %s", strerror(-ret));
		close(fd);
		r->fd = -1;
		return -1;
	}
	return 0;
}

static void ring_close(struct raw_ring *r)
{
	if (r->fd < 0)
		return;
	raw_ring_unmap(r);
	close(r->fd);
	r->fd = -1;
}

static int enter(struct raw_ring *r, unsigned sub, unsigned min, bool wait)
{
	struct ring_enter e = {
		.to_submit = sub, .min_complete = min,
		.flags = wait ? RING_ENTER_GETEVENTS : 0,
	};

	return ioctl(r->fd, RING_IOC_ENTER, &e);
}

static int reg(int fd, unsigned op, unsigned nr, const void *arg)
{
	struct ring_register rg = {
		.opcode = op, .nr_args = nr, .arg = (uintptr_t)arg,
	};

	return ioctl(fd, RING_IOC_REGISTER, &rg);
}

/* Wait for one CQE (bounded); false on timeout. */
static bool get_cqe(struct raw_ring *r, struct ring_cqe *cqe, int ms)
{
	long long end = now_ns() + ms * 1000000LL;

	for (;;) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

		if (raw_peek_cqe(r, cqe)) {
			raw_cq_advance(r, 1);
			return true;
		}
		if (now_ns() > end)
			return false;
		poll(&pfd, 1, 100);
	}
}

static int wait_ms(void)
{
	return settle_ms();
}

/* The ring still works: a NOP round trip. */
static void nop_ok(struct raw_ring *r, const char *after)
{
	struct ring_sqe *sqe = raw_get_sqe(r);
	struct ring_cqe cqe;
	int ret;

	if (!sqe) {
		bad("after %s: SQ full", after);
		return;
	}
	sqe->opcode = RING_OP_NOP;
	sqe->user_data = 0x5eed;
	raw_flush_sq(r);
	ret = enter(r, 1, 1, true);
	if (ret != 1 || !get_cqe(r, &cqe, wait_ms()) ||
	    cqe.user_data != 0x5eed || cqe.res)
		bad("after %s: NOP round trip failed (enter %d %s)", after,
		    ret, ret < 0 ? strerror(errno) : "");
}

static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

static void expect_vmpin(long kb, const char *when)
{
	long v = status_kb("VmPin:");

	if (v != kb)
		bad("%s: VmPin %ld kB, expected %ld kB", when, v, kb);
}

/* No CAP_IPC_LOCK: registrations charge the user's locked_vm. */
static void drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d)) {
		bad("capget: %s", strerror(errno));
		return;
	}
	d[CAP_IPC_LOCK / 32].effective &= ~(1U << (CAP_IPC_LOCK % 32));
	d[CAP_IPC_LOCK / 32].permitted &= ~(1U << (CAP_IPC_LOCK % 32));
	if (syscall(SYS_capset, &h, d))
		bad("capset: %s", strerror(errno));
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		bad("mmap %zu: %s", len, strerror(errno));
		_exit(3);
	}
	memset(p, 0x11, len);
	return p;
}

static void fill(unsigned char *p, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

static bool check_fill(const unsigned char *p, size_t len, size_t from,
		       unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)((i + from) * 7 + seed))
			return false;
	return true;
}

/*
 * A connected pair of AF_UNIX stream sockets: read and written inline and
 * armed on their wait queues (a pipe is not FMODE_NOWAIT on 6.1, so its
 * reads and writes go to the ring's workers, out of fail-nth's reach).
 */
static void xsockets(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		bad("socketpair: %s", strerror(errno));
		_exit(3);
	}
}

static void xpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC)) {
		bad("pipe: %s", strerror(errno));
		_exit(3);
	}
}

/* Read what is left in a pipe or socket without waiting. */
static ssize_t drain(int fd, void *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < len && poll(&pfd, 1, 0) == 1) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/* ---- scenarios: setup ---------------------------------------------------- */

static void sc_open(unsigned n)
{
	int fd;

	arm(n);
	fd = open("/dev/ring", O_RDWR | O_CLOEXEC);
	disarm();
	if (fd < 0) {
		step_err("open", errno, ENOMEM, 0);
		return;
	}
	out->handled = out->fired;
	close(fd);
}

/* Map the rings of @fd (SETUP done) and run a NOP; closes @fd. */
static void map_nop_close(int fd, const struct ring_params *p, const char *after)
{
	struct raw_ring r;
	int ret = raw_ring_map_try(&r, fd, p);

	if (ret) {
		bad("mmap after %s: %s", after, strerror(-ret));
		close(fd);
		return;
	}
	nop_ok(&r, after);
	ring_close(&r);
}

static void setup_step(unsigned n, unsigned sq, unsigned cq)
{
	struct ring_params p = { .sq_entries = sq }, p0;
	int fd = open("/dev/ring", O_RDWR | O_CLOEXEC), ret;

	if (fd < 0) {
		bad("open: %s", strerror(errno));
		return;
	}
	if (cq) {
		p.flags = RING_SETUP_CQSIZE;
		p.cq_entries = cq;
	}
	p0 = p;
	arm(n);
	ret = ioctl(fd, RING_IOC_SETUP, &p);
	disarm();
	if (ret) {
		step_err("SETUP", errno, ENOMEM, EFAULT, 0);
		/* A failed SETUP leaves the file as it was: again. */
		p = p0;
		if (ioctl(fd, RING_IOC_SETUP, &p)) {
			bad("SETUP again after the failure: %s",
			    strerror(errno));
			close(fd);
			return;
		}
	} else {
		out->handled = out->fired;
	}
	if (p.sq_entries != sq || p.cq_entries != (cq ? cq : 2 * sq))
		bad("SETUP: entries %u/%u", p.sq_entries, p.cq_entries);
	map_nop_close(fd, &p, "SETUP");
}

static void sc_setup_small(unsigned n) { setup_step(n, 8, 0); }
static void sc_setup_large(unsigned n) { setup_step(n, 4096, 0); }
static void sc_setup_cqsize(unsigned n) { setup_step(n, 4, 2048); }

static void sc_mmap(unsigned n)
{
	struct ring_params p = { .sq_entries = 256 };
	static const struct { off_t off; const char *name; } maps[] = {
		{ RING_OFF_SQ_RING, "SQ ring" },
		{ RING_OFF_CQ_RING, "CQ ring" },
		{ RING_OFF_SQES, "SQEs" },
	};
	size_t len[3];
	void *m[3] = { MAP_FAILED, MAP_FAILED, MAP_FAILED };
	int fd = open("/dev/ring", O_RDWR | O_CLOEXEC), i, err = 0;

	if (fd < 0 || ioctl(fd, RING_IOC_SETUP, &p)) {
		bad("open/SETUP: %s", strerror(errno));
		return;
	}
	len[0] = ring_sq_ring_size(&p);
	len[1] = ring_cq_ring_size(&p);
	len[2] = p.sq_entries * sizeof(struct ring_sqe);
	arm(n);
	for (i = 0; i < 3 && !err; i++) {
		/* Where no page table is yet: insert_pages() allocates. */
		m[i] = mmap((void *)(0x600000000000UL + ((unsigned long)i << 30)),
			    len[i], PROT_READ | PROT_WRITE, MAP_SHARED |
			    MAP_POPULATE | MAP_FIXED_NOREPLACE, fd, maps[i].off);
		if (m[i] == MAP_FAILED)
			err = errno;
	}
	disarm();
	if (err)
		step_err("mmap", err, ENOMEM, 0);
	else
		out->handled = out->fired;
	for (i = 0; i < 3; i++)
		if (m[i] != MAP_FAILED)
			munmap(m[i], len[i]);
	map_nop_close(fd, &p, "mmap");
}

/* ---- scenarios: fixed buffers -------------------------------------------- */

static void register_step(unsigned n, const struct iovec *iov, unsigned nr,
			  long pin_kb)
{
	struct raw_ring r;
	int ret;

	if (ring_open_setup(&r, 8, 0))
		return;
	drop_ipc_lock();
	arm(n);
	ret = reg(r.fd, RING_REGISTER_BUFFERS, nr, iov);
	disarm();
	if (ret) {
		step_err("REGISTER_BUFFERS", errno, ENOMEM, EFAULT, 0);
		expect_vmpin(0, "after a failed REGISTER_BUFFERS");
		if (reg(r.fd, RING_REGISTER_BUFFERS, nr, iov))
			bad("REGISTER_BUFFERS again: %s", strerror(errno));
	} else {
		out->handled = out->fired;
	}
	expect_vmpin(pin_kb, "registered");
	nop_ok(&r, "REGISTER_BUFFERS");
	ring_close(&r);
}

static void sc_reg_anon(unsigned n)
{
	struct iovec iov = { anon(64 << 10), 64 << 10 };

	register_step(n, &iov, 1, 64);
}

/* Two buffers in one transparent huge page, a third over another. */
static void sc_reg_thp(unsigned n)
{
	char *raw = mmap(NULL, 6 << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;
	struct iovec iov[3];

	if (raw == MAP_FAILED) {
		bad("mmap: %s", strerror(errno));
		return;
	}
	p = (char *)(((uintptr_t)raw + (2 << 20) - 1) & ~((2UL << 20) - 1));
	madvise(p, 4 << 20, MADV_HUGEPAGE);
	memset(p, 0x22, 4 << 20);
	iov[0] = (struct iovec){ p, 1 << 20 };
	iov[1] = (struct iovec){ p + (1 << 20), 1 << 20 };
	iov[2] = (struct iovec){ p + (2 << 20), 2 << 20 };
	register_step(n, iov, 3, 4096);
}

/* Anonymous, memfd (shmem), unaligned: four buffers. */
static void sc_reg_multi(unsigned n)
{
	int mfd = memfd_create("faultsweep", MFD_CLOEXEC);
	char *a = anon(8 << 10), *b, *c = anon(3 * PG), *d = anon(PG);
	struct iovec iov[4];

	if (mfd < 0 || ftruncate(mfd, 16 << 10)) {
		bad("memfd: %s", strerror(errno));
		return;
	}
	b = mmap(NULL, 16 << 10, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (b == MAP_FAILED) {
		bad("mmap memfd: %s", strerror(errno));
		return;
	}
	memset(b, 0x33, 16 << 10);
	iov[0] = (struct iovec){ a, 8 << 10 };
	iov[1] = (struct iovec){ b, 16 << 10 };
	iov[2] = (struct iovec){ c + 100, 5000 };	/* two pages */
	iov[3] = (struct iovec){ d, PG };
	register_step(n, iov, 4, 8 + 16 + 8 + 4);
	close(mfd);
}

/* A ring with @nr buffers registered, charged to locked_vm; -1 on failure. */
static int ring_with_bufs(struct raw_ring *r, const struct iovec *iov,
			  unsigned nr)
{
	if (ring_open_setup(r, 8, 0))
		return -1;
	drop_ipc_lock();
	if (reg(r->fd, RING_REGISTER_BUFFERS, nr, iov)) {
		bad("REGISTER_BUFFERS: %s", strerror(errno));
		ring_close(r);
		return -1;
	}
	return 0;
}

static void sc_unregister(unsigned n)
{
	struct iovec iov = { anon(16 << 10), 16 << 10 };
	struct raw_ring r;
	int ret;

	if (ring_with_bufs(&r, &iov, 1))
		return;
	arm(n);
	ret = reg(r.fd, RING_UNREGISTER_BUFFERS, 0, NULL);
	disarm();
	if (ret) {
		step_err("UNREGISTER_BUFFERS", errno, EFAULT, 0);
		expect_vmpin(16, "after a failed UNREGISTER_BUFFERS");
		if (reg(r.fd, RING_UNREGISTER_BUFFERS, 0, NULL))
			bad("UNREGISTER_BUFFERS again: %s", strerror(errno));
	}
	expect_vmpin(0, "unregistered");
	ring_close(&r);
}

static void sc_buf_update(unsigned n)
{
	struct iovec iov[2] = {
		{ anon(8 << 10), 8 << 10 }, { anon(8 << 10), 8 << 10 },
	};
	struct iovec upd[2] = { { anon(12 << 10), 12 << 10 }, { NULL, 0 } };
	struct ring_buf_update up = { .offset = 0, .iovecs = (uintptr_t)upd };
	struct raw_ring r;
	int ret;

	if (ring_with_bufs(&r, iov, 2))
		return;
	arm(n);
	ret = reg(r.fd, RING_REGISTER_BUFFERS_UPDATE, 2, &up);
	disarm();
	if (ret < 0) {
		step_err("BUFFERS_UPDATE", errno, ENOMEM, EFAULT, 0);
		/* All or nothing: the old table, charged as before. */
		expect_vmpin(16, "after a failed BUFFERS_UPDATE");
		ret = reg(r.fd, RING_REGISTER_BUFFERS_UPDATE, 2, &up);
	} else {
		out->handled = out->fired;
	}
	if (ret != 2)
		bad("BUFFERS_UPDATE returned %d (%s)", ret,
		    ret < 0 ? strerror(errno) : "");
	expect_vmpin(12, "updated");
	ring_close(&r);
}

/* READ_FIXED from a socket, WRITE_FIXED into another: in the submitter. */
static void sc_fixed_rw(unsigned n)
{
	unsigned char *buf = anon(8 << 10), src[PG], got[PG];
	struct iovec iov = { buf, 8 << 10 };
	int pin[2], pout[2], i, ret, nr_cqe = 0;
	struct ring_cqe cqe;
	struct ring_sqe *sqe;
	struct raw_ring r;

	xsockets(pin);
	xsockets(pout);
	fill(src, PG, 1);
	fill(buf + PG, PG, 2);
	if (write(pin[1], src, PG) != (ssize_t)PG ||
	    ring_with_bufs(&r, &iov, 1))
		return;
	sqe = raw_get_sqe(&r);
	sqe->opcode = RING_OP_READ_FIXED;
	sqe->fd = pin[0];
	sqe->addr = (uintptr_t)buf;
	sqe->len = PG;
	sqe->user_data = 1;
	sqe = raw_get_sqe(&r);
	sqe->opcode = RING_OP_WRITE_FIXED;
	sqe->fd = pout[1];
	sqe->addr = (uintptr_t)buf + PG;
	sqe->len = PG;
	sqe->user_data = 2;
	raw_flush_sq(&r);
	arm(n);
	ret = enter(&r, 2, 1, true);
	disarm();
	if (ret < 0)
		step_err("ENTER", errno, EAGAIN, EFAULT, 0);
	/* What stayed in the SQ goes now, without injection. */
	if (ret < 2 && enter(&r, ret < 0 ? 2 : 2 - ret, 0, false) < 0)
		bad("ENTER again: %s", strerror(errno));
	for (i = 0; i < 2; i++) {
		if (!get_cqe(&r, &cqe, wait_ms())) {
			bad("CQE %d missing", i);
			break;
		}
		nr_cqe++;
		if (cqe.res < 0) {
			/* A socket's allocation failure is ENOBUFS. */
			cqe_err(cqe.user_data == 1 ? "READ_FIXED" : "WRITE_FIXED",
				cqe.res, ENOMEM, EFAULT, ENOBUFS, 0);
			continue;
		}
		if (cqe.res != (int)PG)
			bad("%s: %d bytes", cqe.user_data == 1 ? "READ_FIXED" :
			    "WRITE_FIXED", cqe.res);
		if (cqe.user_data == 1 && !check_fill(buf, PG, 0, 1))
			bad("READ_FIXED: wrong data");
		if (cqe.user_data == 2 &&
		    (drain(pout[0], got, PG) != (ssize_t)PG ||
		     !check_fill(got, PG, 0, 2)))
			bad("WRITE_FIXED: wrong data in the socket");
	}
	if (nr_cqe == 2 && !out->err && !out->cqe_err)
		out->handled = out->fired;
	ring_close(&r);
	expect_vmpin(0, "closed");
}

/* ---- scenarios: the IOTLB region ----------------------------------------- */

static int iotlb_reg(int fd, uint64_t size)
{
	struct ring_iotlb_reg rg = { .size = size };

	return reg(fd, RING_REGISTER_IOTLB, 0, &rg);
}

static int iotlb_map(int fd, int op, uint64_t iova, uint64_t size,
		     void *uaddr, unsigned flags)
{
	struct ring_iotlb_map m = {
		.iova = iova, .size = size, .uaddr = (uintptr_t)uaddr,
		.perm = RING_IOTLB_PERM_READ | RING_IOTLB_PERM_WRITE,
		.flags = flags,
	};

	return reg(fd, op, 0, &m);
}

static unsigned char *iotlb_mmap(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       RING_OFF_IOTLB);

	if (p == MAP_FAILED) {
		bad("mmap of the IOTLB region: %s", strerror(errno));
		return NULL;
	}
	return p;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

static void sc_iotlb_register(unsigned n)
{
	struct raw_ring r;
	int ret;

	if (ring_open_setup(&r, 8, 0))
		return;
	arm(n);
	ret = iotlb_reg(r.fd, 1 << 20);
	disarm();
	if (ret) {
		step_err("REGISTER_IOTLB", errno, ENOMEM, EFAULT, 0);
		if (iotlb_reg(r.fd, 1 << 20))
			bad("REGISTER_IOTLB again: %s", strerror(errno));
	}
	if (iotlb_map(r.fd, RING_IOTLB_MAP, 0, PG, NULL, 0))
		bad("IOTLB_MAP after REGISTER_IOTLB: %s", strerror(errno));
	ring_close(&r);
}

/* A BOUNCE_IN stream mapping of 4 pages and a plain one of 2. */
static void sc_iotlb_map(unsigned n)
{
	unsigned char *src = anon(4 * PG), *m;
	struct raw_ring r;
	int ret, err = 0;

	fill(src, 4 * PG, 3);
	if (ring_open_setup(&r, 8, 0))
		return;
	if (iotlb_reg(r.fd, 64 << 10)) {
		bad("REGISTER_IOTLB: %s", strerror(errno));
		ring_close(&r);
		return;
	}
	arm(n);
	ret = iotlb_map(r.fd, RING_IOTLB_MAP, 0, 4 * PG, src,
			RING_IOTLB_BOUNCE_IN | RING_IOTLB_BOUNCE_OUT);
	if (ret)
		err = errno;
	else if (iotlb_map(r.fd, RING_IOTLB_MAP, 8 * PG, 2 * PG, NULL, 0))
		err = errno;
	disarm();
	if (err) {
		step_err("IOTLB_MAP", err, ENOMEM, EFAULT, 0);
		/* A failed map maps nothing: both again, no EEXIST. */
		if (ret && iotlb_map(r.fd, RING_IOTLB_MAP, 0, 4 * PG, src,
				     RING_IOTLB_BOUNCE_IN | RING_IOTLB_BOUNCE_OUT))
			bad("IOTLB_MAP again: %s", strerror(errno));
		if (iotlb_map(r.fd, RING_IOTLB_MAP, 8 * PG, 2 * PG, NULL, 0))
			bad("IOTLB_MAP (plain) again: %s", strerror(errno));
	}
	m = iotlb_mmap(r.fd, 16 * PG);
	if (m) {
		if (!check_fill(m, 4 * PG, 0, 3))
			bad("BOUNCE_IN range: wrong data");
		if (!all_zero(m + 8 * PG, 2 * PG))
			bad("plain range not zeroed");
		munmap(m, 16 * PG);
	}
	ring_close(&r);
}

/*
 * A ring with a 64 KiB region, @pages mapped at IOVA 0 (a stream mapping
 * from @src, or plain), and the region mmapped: NULL on failure.
 */
static unsigned char *iotlb_ring(struct raw_ring *r, unsigned pages,
				 void *src)
{
	unsigned char *m;

	if (ring_open_setup(r, 8, 0))
		return NULL;
	if (iotlb_reg(r->fd, 64 << 10) ||
	    iotlb_map(r->fd, RING_IOTLB_MAP, 0, pages * PG, src, src ?
		      RING_IOTLB_BOUNCE_IN | RING_IOTLB_BOUNCE_OUT : 0)) {
		bad("REGISTER_IOTLB/IOTLB_MAP: %s", strerror(errno));
		ring_close(r);
		return NULL;
	}
	m = iotlb_mmap(r->fd, 16 * PG);
	if (!m)
		ring_close(r);
	return m;
}

static void sc_iotlb_unmap(unsigned n)
{
	unsigned char *src = anon(4 * PG), *m;
	struct raw_ring r;
	int ret, again;

	fill(src, 4 * PG, 4);
	m = iotlb_ring(&r, 4, src);
	if (!m)
		return;
	/* The region changes under the mapping: BOUNCE_OUT copies this. */
	fill(m, 4 * PG, 5);
	munmap(m, 16 * PG);
	/* BOUNCE_OUT goes to the map's uaddr: src. */
	arm(n);
	ret = iotlb_map(r.fd, RING_IOTLB_UNMAP, 0, 4 * PG, NULL, 0);
	disarm();
	if (ret) {
		int err = errno;

		step_err("IOTLB_UNMAP", err, ENOMEM, EFAULT, 0);
		again = iotlb_map(r.fd, RING_IOTLB_UNMAP, 0, 4 * PG, NULL, 0);
		/* Only a failed copy-out may have unmapped the range. */
		if (again && !(errno == ENOENT && err == EFAULT))
			bad("IOTLB_UNMAP again: %s", strerror(errno));
		if (!again && !check_fill(src, 4 * PG, 0, 5))
			bad("BOUNCE_OUT (retried): wrong data");
	} else if (!check_fill(src, 4 * PG, 0, 5)) {
		bad("BOUNCE_OUT: wrong data");
	}
	/* Unmapped: a new mapping there starts zeroed. */
	if (iotlb_map(r.fd, RING_IOTLB_MAP, 0, 4 * PG, NULL, 0))
		bad("IOTLB_MAP after unmap: %s", strerror(errno));
	ring_close(&r);
}

/* Faults on the mapped region: by the user, and by the kernel (write()). */
static void sc_iotlb_fault(unsigned n)
{
	unsigned char *m, got[PG];
	int pfd[2], ret, err = 0;
	struct raw_ring r;
	volatile unsigned char x;

	xpipe(pfd);
	m = iotlb_ring(&r, 16, NULL);
	if (!m)
		return;
	arm(n);
	x = m[0];
	m[PG] = 0x7e;
	ret = write(pfd[1], m + 2 * PG, PG);
	if (ret < 0)
		err = errno;
	disarm();
	if (err) {
		step_err("write() from the IOTLB mapping", err, EFAULT, 0);
		ret = write(pfd[1], m + 2 * PG, PG);
	}
	if (ret != (int)PG || drain(pfd[0], got, PG) != (ssize_t)PG ||
	    !all_zero(got, PG))
		bad("write() from the IOTLB mapping: %d", ret);
	if (x || m[PG] != 0x7e || !all_zero(m + 3 * PG, PG))
		bad("IOTLB mapping: wrong contents");
	if (!err)
		out->handled = out->fired;
	munmap(m, 16 * PG);
	ring_close(&r);
}

/* READ_FIXED of 10 IOVA pages never touched (fresh pages, bvec array). */
static void sc_iotlb_rw(unsigned n)
{
	const size_t len = 10 * PG;
	unsigned char *src = malloc(len), *m;
	struct ring_cqe cqe;
	struct ring_sqe *sqe;
	struct raw_ring r;
	int pfd[2], ret;
	ssize_t left;

	xpipe(pfd);
	fcntl(pfd[1], F_SETPIPE_SZ, 16 * PG);
	fill(src, len, 6);
	if (write(pfd[1], src, len) != (ssize_t)len) {
		bad("pipe write: %s", strerror(errno));
		return;
	}
	/* Mapped, never touched: the read allocates the pages. */
	m = iotlb_ring(&r, 16, NULL);
	if (!m)
		return;
	sqe = raw_get_sqe(&r);
	sqe->opcode = RING_OP_READ_FIXED;
	sqe->fd = pfd[0];
	sqe->addr = 100;	/* 11 pages touched: more than the fast bvecs */
	sqe->len = len;
	sqe->buf_index = RING_BUF_IOTLB;
	sqe->user_data = 9;
	raw_flush_sq(&r);
	arm(n);
	ret = enter(&r, 1, 1, true);
	disarm();
	if (ret < 0) {
		step_err("ENTER", errno, EAGAIN, EFAULT, 0);
		ret = enter(&r, 1, 1, true);
	}
	if (ret != 1 || !get_cqe(&r, &cqe, wait_ms())) {
		bad("READ_FIXED (IOTLB): no CQE (%d)", ret);
		munmap(m, 16 * PG);
		ring_close(&r);
		return;
	}
	if (cqe.res < 0) {
		cqe_err("READ_FIXED (IOTLB)", cqe.res, ENOMEM, 0);
		cqe.res = 0;
	} else if (cqe.res != (int)len) {
		bad("READ_FIXED (IOTLB): %d bytes", cqe.res);
	} else {
		out->handled = out->fired;
	}
	if (!check_fill(m + 100, cqe.res, 0, 6))
		bad("READ_FIXED (IOTLB): wrong data");
	munmap(m, 16 * PG);
	/* What the request did not read is still in the pipe. */
	left = drain(pfd[0], src, len);
	if (left != (ssize_t)len - cqe.res)
		bad("pipe: %zd bytes left after a %d-byte read", left, cqe.res);
	ring_close(&r);
	free(src);
}

static void sc_iowq_max(unsigned n)
{
	__u32 arg[2] = { 4, 3 }, back[2] = { 0, 0 };
	struct raw_ring r;
	int ret;

	if (ring_open_setup(&r, 8, 0))
		return;
	arm(n);
	ret = reg(r.fd, RING_REGISTER_IOWQ_MAX_WORKERS, 2, arg);
	disarm();
	if (ret)
		step_err("REGISTER_IOWQ_MAX_WORKERS", errno, EFAULT, 0);
	if (reg(r.fd, RING_REGISTER_IOWQ_MAX_WORKERS, 2, back))
		bad("REGISTER_IOWQ_MAX_WORKERS (read back): %s",
		    strerror(errno));
	/* A failed call changes nothing. */
	else if (ret ? back[0] == 4 || back[1] == 3 :
		       back[0] != 4 || back[1] != 3)
		bad("limits %u/%u after a %s call", back[0], back[1],
		    ret ? "failed" : "successful");
	ring_close(&r);
}

/* ---- scenarios: submission ----------------------------------------------- */

static void sc_enter_nop(unsigned n)
{
	struct raw_ring r;
	struct ring_cqe cqe;
	unsigned seen = 0, i;
	int ret;

	if (ring_open_setup(&r, 8, 0))
		return;
	for (i = 1; i <= 4; i++) {
		struct ring_sqe *sqe = raw_get_sqe(&r);

		sqe->opcode = RING_OP_NOP;
		sqe->user_data = i;
	}
	raw_flush_sq(&r);
	arm(n);
	/* min 1: a partial submission must not wait for the rest. */
	ret = enter(&r, 4, 1, true);
	disarm();
	if (ret < 0) {
		step_err("ENTER", errno, EAGAIN, EFAULT, 0);
		ret = 0;
	}
	/* Consumed SQEs are counted; the rest stay for the next ENTER. */
	if (ret < 4 && enter(&r, 4 - ret, 0, false) != 4 - ret)
		bad("ENTER of the %d SQEs left: %s", 4 - ret, strerror(errno));
	for (i = 0; i < 4; i++) {
		if (!get_cqe(&r, &cqe, wait_ms())) {
			bad("%u CQEs of 4", i);
			break;
		}
		if (cqe.res || !cqe.user_data || cqe.user_data > 4 ||
		    (seen & (1U << cqe.user_data)))
			bad("CQE %llu res %d", (unsigned long long)cqe.user_data,
			    cqe.res);
		seen |= 1U << cqe.user_data;
	}
	if (ret == 4)
		out->handled = out->fired;
	ring_close(&r);
}

/* One read or write SQE in an ENTER with GETEVENTS; its CQE. */
static bool one_sqe(struct raw_ring *r, unsigned n, const struct ring_sqe *t,
		    struct ring_cqe *cqe, bool wait)
{
	struct ring_sqe *sqe = raw_get_sqe(r);
	int ret;

	*sqe = *t;
	raw_flush_sq(r);
	arm(n);
	ret = enter(r, 1, wait, wait);
	disarm();
	if (ret < 0) {
		step_err("ENTER", errno, EAGAIN, EFAULT, 0);
		ret = enter(r, 1, 0, false);
	}
	if (ret != 1) {
		bad("ENTER: %d (%s)", ret, strerror(errno));
		return false;
	}
	if (!wait)
		return true;
	if (!get_cqe(r, cqe, wait_ms())) {
		bad("no CQE");
		return false;
	}
	return true;
}

/*
 * A read or write of @full bytes completed with @cqe: an error the contract
 * allows for an injected fault, or a transfer, short only if one was.
 * Returns the bytes transferred.
 */
static int transfer_res(const char *what, const struct ring_cqe *cqe,
			int full, int alt)
{
	if (cqe->res < 0) {
		cqe_err(what, cqe->res, ENOMEM, EFAULT, alt, 0);
		return 0;
	}
	if (cqe->res == full)
		out->handled = out->fired;
	else if (!out->fired || cqe->res > full)
		bad("%s: %d bytes of %d with no fault injected", what,
		    cqe->res, full);
	return cqe->res;
}

/* READV of 10 iovecs (an allocated copy) from a socket with data: inline. */
static void sc_readv_socket(unsigned n)
{
	unsigned char src[100], dst[100], rest[100];
	struct iovec iov[10];
	struct ring_sqe t = { .opcode = RING_OP_READV, .len = 10,
			      .addr = (uintptr_t)iov, .user_data = 1 };
	struct ring_cqe cqe;
	struct raw_ring r;
	int pfd[2], i;
	ssize_t left;

	xsockets(pfd);
	fill(src, 100, 7);
	memset(dst, 0, sizeof(dst));
	for (i = 0; i < 10; i++)
		iov[i] = (struct iovec){ dst + 10 * i, 10 };
	if (write(pfd[1], src, 100) != 100 || ring_open_setup(&r, 8, 0))
		return;
	t.fd = pfd[0];
	if (!one_sqe(&r, n, &t, &cqe, true))
		goto out;
	cqe.res = transfer_res("READV", &cqe, 100, 0);
	/* A short read returns what was read; the rest stays in the socket. */
	if (!check_fill(dst, cqe.res, 0, 7))
		bad("READV: wrong data");
	left = drain(pfd[0], rest, 100);
	if (left != 100 - cqe.res || !check_fill(rest, left, cqe.res, 7))
		bad("READV: %zd bytes left in the socket after %d", left,
		    cqe.res);
out:
	ring_close(&r);
}

/* WRITE into a socket: inline, an skb, the copy in. */
static void sc_write_socket(unsigned n)
{
	unsigned char src[3000], got[3000];
	struct ring_sqe t = { .opcode = RING_OP_WRITE, .len = sizeof(src),
			      .addr = (uintptr_t)src, .user_data = 1 };
	struct ring_cqe cqe;
	struct raw_ring r;
	int pfd[2];
	ssize_t in;

	xsockets(pfd);
	fill(src, sizeof(src), 8);
	if (ring_open_setup(&r, 8, 0))
		return;
	t.fd = pfd[1];
	if (!one_sqe(&r, n, &t, &cqe, true))
		goto out;
	in = drain(pfd[0], got, sizeof(got));
	cqe.res = transfer_res("WRITE", &cqe, sizeof(src), ENOBUFS);
	if (in != cqe.res || !check_fill(got, in, 0, 8))
		bad("WRITE: %zd bytes in the socket after %d", in, cqe.res);
out:
	ring_close(&r);
}

/* READ from an empty socket: armed on its wait queue, then data comes. */
static void sc_read_socket_armed(unsigned n)
{
	unsigned char src[64], dst[64];
	struct ring_sqe t = { .opcode = RING_OP_READ, .len = 64,
			      .addr = (uintptr_t)dst, .user_data = 1 };
	struct ring_cqe cqe;
	struct raw_ring r;
	int pfd[2];

	xsockets(pfd);
	fill(src, 64, 9);
	if (ring_open_setup(&r, 8, 0))
		return;
	t.fd = pfd[0];
	if (!one_sqe(&r, n, &t, &cqe, false))
		goto out;
	if (write(pfd[1], src, 64) != 64)
		bad("socket write: %s", strerror(errno));
	if (!get_cqe(&r, &cqe, wait_ms())) {
		bad("READ (armed): no CQE");
		goto out;
	}
	if (cqe.res != 64 || !check_fill(dst, 64, 0, 9))
		bad("READ (armed): res %d", cqe.res);
	else
		out->handled = out->fired && !out->err;
out:
	ring_close(&r);
}

/* A file: ext4 (FMODE_NOWAIT: cached reads run inline) or tmpfs. */
static int file_with(const unsigned char *data, size_t len, char *path)
{
	int fd;

	snprintf(path, 256, "%s/faultsweep-%d", ext4_dir ? ext4_dir : "/tmp",
		 getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		bad("file %s: %s", path, strerror(errno));
		_exit(3);
	}
	return fd;
}

/* READ of 8 KiB of cached file data: inline on ext4, a copy out. */
static void sc_read_file(unsigned n)
{
	static unsigned char src[8192], dst[8192];
	struct ring_sqe t = { .opcode = RING_OP_READ, .len = sizeof(dst),
			      .addr = (uintptr_t)dst, .user_data = 1 };
	struct ring_cqe cqe;
	struct raw_ring r;
	char path[256];

	fill(src, sizeof(src), 10);
	memset(dst, 0, sizeof(dst));
	t.fd = file_with(src, sizeof(src), path);
	if (ring_open_setup(&r, 8, 0))
		goto out_unlink;
	if (!one_sqe(&r, n, &t, &cqe, true))
		goto out;
	cqe.res = transfer_res("READ (file)", &cqe, sizeof(src), 0);
	if (!check_fill(dst, cqe.res, 0, 10))
		bad("READ (file): wrong data");
out:
	ring_close(&r);
out_unlink:
	close(t.fd);
	unlink(path);
}

/* WRITEV of 10 iovecs into a file: the copy here, the write in a worker. */
static void sc_writev_file(unsigned n)
{
	static unsigned char src[10000], got[10000];
	struct iovec iov[10];
	struct ring_sqe t = { .opcode = RING_OP_WRITEV, .len = 10,
			      .addr = (uintptr_t)iov, .user_data = 1 };
	struct ring_cqe cqe;
	struct raw_ring r;
	char path[256];
	int i;

	fill(src, sizeof(src), 11);
	for (i = 0; i < 10; i++)
		iov[i] = (struct iovec){ src + 1000 * i, 1000 };
	t.fd = file_with(NULL, 0, path);
	if (ring_open_setup(&r, 8, 0))
		goto out_unlink;
	if (!one_sqe(&r, n, &t, &cqe, true))
		goto out;
	cqe.res = transfer_res("WRITEV (file)", &cqe, sizeof(src), 0);
	if (pread(t.fd, got, sizeof(got), 0) != cqe.res ||
	    !check_fill(got, cqe.res, 0, 11))
		bad("WRITEV (file): file does not hold the %d bytes", cqe.res);
out:
	ring_close(&r);
out_unlink:
	close(t.fd);
	unlink(path);
}

static void sc_fsync(unsigned n)
{
	static unsigned char src[4096];
	struct ring_sqe t = { .opcode = RING_OP_FSYNC, .user_data = 1 };
	struct ring_cqe cqe;
	struct raw_ring r;
	char path[256];

	t.fd = file_with(src, sizeof(src), path);
	if (ring_open_setup(&r, 8, 0))
		goto out_unlink;
	if (one_sqe(&r, n, &t, &cqe, true)) {
		if (cqe.res)
			cqe_err("FSYNC", cqe.res, ENOMEM, 0);
		else
			out->handled = out->fired;
	}
	ring_close(&r);
out_unlink:
	close(t.fd);
	unlink(path);
}

/* ---- scenarios: teardown ------------------------------------------------- */

/* A ring with reads armed on an empty socket and fixed buffers registered. */
static int busy_ring(struct raw_ring *r, int pfd[2], void *buf)
{
	struct iovec iov = { buf, 16 << 10 };
	int i;

	xsockets(pfd);
	if (ring_open_setup(r, 8, 0))
		return -1;
	if (reg(r->fd, RING_REGISTER_BUFFERS, 1, &iov) ||
	    iotlb_reg(r->fd, 64 << 10) ||
	    iotlb_map(r->fd, RING_IOTLB_MAP, 0, 4 * PG, NULL, 0)) {
		bad("REGISTER: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 2; i++) {
		struct ring_sqe *sqe = raw_get_sqe(r);

		sqe->opcode = i ? RING_OP_READ_FIXED : RING_OP_READ;
		sqe->fd = pfd[0];
		sqe->addr = (uintptr_t)buf;
		sqe->len = 64;
		sqe->user_data = i;
	}
	raw_flush_sq(r);
	if (enter(r, 2, 0, false) != 2) {
		bad("ENTER: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void sc_close_pending(unsigned n)
{
	void *buf = anon(16 << 10);
	struct raw_ring r;
	int pfd[2], fd, ret;

	if (busy_ring(&r, pfd, buf))
		return;
	fd = r.fd;
	raw_ring_unmap(&r);
	arm(n);
	ret = close(fd);
	disarm();
	if (ret)
		bad("close: %s", strerror(errno));
	out->handled = out->fired;
	expect_vmpin(0, "closed");
}

/* The owner exits with I/O armed: teardown in its exit, fail-nth there. */
static void sc_exit_pending(unsigned n)
{
	char path[64], buf[16] = "";
	siginfo_t si;
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0) {
		bad("fork: %s", strerror(errno));
		return;
	}
	if (!pid) {
		struct raw_ring r;
		int pfd[2];

		/* Its own fail-nth: /proc/thread-self was the parent's. */
		close(nth_fd);
		nth_fd = open("/proc/thread-self/fail-nth",
			      O_RDWR | O_CLOEXEC);
		if (nth_fd < 0 || busy_ring(&r, pfd, anon(16 << 10)))
			_exit(3);
		arm(n);
		_exit(0);
	}
	/* Still a zombie: its fail-nth is readable. */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT)) {
		bad("waitid: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/fail-nth", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		bad("%s: %s", path, strerror(errno));
	else
		out->fired = !strtoul(buf, NULL, 10);
	if (fd >= 0)
		close(fd);
	waitpid(pid, NULL, 0);
	if (si.si_code != CLD_EXITED || si.si_status)
		bad("owner exited with code %d status %d", si.si_code,
		    si.si_status);
	out->handled = out->fired;
}

/* ---- the sweep ----------------------------------------------------------- */

struct scenario {
	const char *name;
	void (*fn)(unsigned n);
	bool locked;		/* charges locked_vm: probe RLIMIT_MEMLOCK */
};

static const struct scenario scenarios[] = {
	{ "open", sc_open, false },
	{ "setup-small", sc_setup_small, false },
	{ "setup-large", sc_setup_large, false },
	{ "setup-cqsize", sc_setup_cqsize, false },
	{ "mmap-rings", sc_mmap, false },
	{ "register-buffers-anon", sc_reg_anon, true },
	{ "register-buffers-thp", sc_reg_thp, true },
	{ "register-buffers-multi", sc_reg_multi, true },
	{ "unregister-buffers", sc_unregister, true },
	{ "buffers-update", sc_buf_update, true },
	{ "register-iotlb", sc_iotlb_register, false },
	{ "iotlb-map", sc_iotlb_map, false },
	{ "iotlb-unmap", sc_iotlb_unmap, false },
	{ "iotlb-mmap-fault", sc_iotlb_fault, false },
	{ "iowq-max-workers", sc_iowq_max, false },
	{ "enter-nop", sc_enter_nop, false },
	{ "readv-socket", sc_readv_socket, false },
	{ "write-socket", sc_write_socket, false },
	{ "read-socket-armed", sc_read_socket_armed, false },
	{ "read-file", sc_read_file, false },
	{ "writev-file", sc_writev_file, false },
	{ "fsync", sc_fsync, false },
	{ "fixed-read-write", sc_fixed_rw, true },
	{ "iotlb-read-fixed", sc_iotlb_rw, false },
	{ "close-pending", sc_close_pending, true },
	{ "exit-pending", sc_exit_pending, true },
};

static int kmsg_fd = -1;

/* New kernel reports in /dev/kmsg since the last call; the first kept. */
static int kmsg_check(char *first, size_t len)
{
	static const char *const pat[] = {
		"BUG:", "WARNING:", "Oops", "KASAN", "UBSAN",
		"general protection fault", "Kernel panic", "kernel BUG at",
		"suspected memory leak", "possible circular locking",
		"INFO: possible", "inconsistent lock state",
		"possible recursive locking", "sleeping function called",
		"scheduling while atomic", "blocked for more than",
		"Bad page state", "list_add corruption", "list_del corruption",
		"refcount_t:", "usercopy: Kernel memory", "stack-protector",
	};
	char rec[2048];
	int found = 0;
	ssize_t n;
	size_t i;

	while ((n = read(kmsg_fd, rec, sizeof(rec) - 1)) > 0 ||
	       (n < 0 && errno == EPIPE)) {
		char *msg;

		if (n < 0)
			continue;
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		if (strstr(msg, "FAULT_INJECTION") ||
		    strstr(msg, "page allocation failure"))
			continue;
		for (i = 0; i < sizeof(pat) / sizeof(pat[0]); i++)
			if (strstr(msg, pat[i])) {
				if (!found++) {
					snprintf(first, len, "%.400s", msg);
					first[strcspn(first, "\n")] = 0;
				}
				break;
			}
	}
	return found;
}

/* RLIMIT_MEMLOCK of 64 pages is wholly available to uid 0 (no leak). */
static bool memlock_free(void)
{
	pid_t pid = fork();
	int st;

	if (!pid) {
		struct rlimit rl = { 64 * PG, 64 * PG };
		struct iovec iov = { anon(64 * PG), 64 * PG };
		int fd = open("/dev/ring", O_RDWR | O_CLOEXEC);
		struct ring_params p = { .sq_entries = 2 };

		if (fd < 0 || ioctl(fd, RING_IOC_SETUP, &p))
			_exit(2);
		drop_ipc_lock();
		if (setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(2);
		_exit(reg(fd, RING_REGISTER_BUFFERS, 1, &iov) ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return false;
	return WIFEXITED(st) && !WEXITSTATUS(st);
}

static bool stats_equal(const struct ring_stats *a, const struct ring_stats *b)
{
	return a->rings == b->rings && a->requests == b->requests &&
	       a->pages == b->pages && a->iotlb_pages == b->iotlb_pages;
}

struct tally {
	unsigned points;	/* largest n that fired */
	unsigned handled;	/* fired, and the step coped */
	unsigned errs[NR_ERRNO];
	unsigned bad;
};

static struct ring_stats baseline;
static unsigned total_bad;

static void report_bad(const struct scenario *sc, unsigned n, const char *fmt,
		       ...)
{
	va_list ap;

	printf("  MISBEHAVIOUR %s n=%u: ", sc->name, n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Run @sc with the n-th point failing; false when it no longer fired. */
static bool sweep_one(const struct scenario *sc, unsigned n, struct tally *t)
{
	int st, settle = settle_ms();
	struct ring_stats now;
	char kmsg[512];
	bool misb = false;
	long long end;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (!pid) {
		long pin;

		nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
		if (nth_fd < 0)
			_exit(3);
		alarm(settle / 1000 * 2);
		sc->fn(n);
		/* Every ring is closed by now: nothing may stay pinned. */
		end = now_ns() + settle * 1000000LL;
		while ((pin = status_kb("VmPin:")) > 0 && now_ns() < end)
			usleep(10000);
		if (pin)
			bad("VmPin %ld kB after every ring was closed", pin);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid) {
		perror("waitpid");
		exit(2);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		report_bad(sc, n, "child %s %d%s%s", WIFEXITED(st) ?
			   "exited with" : "killed by signal",
			   WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
			   out->bad[0] ? ": " : "", out->bad);
		misb = true;
	} else if (out->bad[0]) {
		report_bad(sc, n, "%s%s", out->fired ? "" : "(no fault) ",
			   out->bad);
		misb = true;
	}

	/* Teardown may finish in a workqueue: wait, bounded. */
	end = now_ns() + settle * 1000000LL;
	while (stats_get(&now) && !stats_equal(&now, &baseline) &&
	       now_ns() < end)
		usleep(10000);
	if (!stats_equal(&now, &baseline)) {
		report_bad(sc, n, "counters rings %ld requests %ld pages %ld "
			   "iotlb_pages %ld, baseline %ld %ld %ld %ld",
			   now.rings, now.requests, now.pages, now.iotlb_pages,
			   baseline.rings, baseline.requests, baseline.pages,
			   baseline.iotlb_pages);
		baseline = now;		/* one leak, reported once */
		misb = true;
	}
	if (sc->locked) {
		end = now_ns() + settle * 1000000LL;
		while (!memlock_free() && now_ns() < end)
			usleep(100000);
		if (now_ns() >= end) {
			report_bad(sc, n, "RLIMIT_MEMLOCK not wholly available "
				   "again (locked_vm leaked)");
			misb = true;
		}
	}
	if (kmsg_check(kmsg, sizeof(kmsg))) {
		report_bad(sc, n, "kernel: %s", kmsg);
		misb = true;
	}

	if (out->fired) {
		t->points = n;
		/* Fired, yet the step succeeded: the failure was absorbed. */
		if (!out->err && !out->cqe_err)
			t->handled++;
		if (out->err > 0 && out->err < NR_ERRNO)
			t->errs[out->err]++;
		if (out->cqe_err > 0 && out->cqe_err < NR_ERRNO)
			t->errs[out->cqe_err]++;
	}
	if (misb) {
		t->bad++;
		total_bad++;
	}
	/* The child died before its step: no verdict on "fired" either. */
	return out->fired;
}

static bool config_faults(void)
{
	char line[512], start[32], end[32];
	unsigned long base = 0, size = 0;
	FILE *f = fopen("/proc/modules", "re");
	size_t i;

	while (f && fgets(line, sizeof(line), f)) {
		char name[64], addr[32];

		if (sscanf(line, "%63s %lu %*s %*s %*s %31s", name, &size,
			   addr) == 3 && !strcmp(name, "ring")) {
			base = strtoul(addr, NULL, 16);
			break;
		}
	}
	if (f)
		fclose(f);
	if (!base) {
		fprintf(stderr, "faultsweep: ring.ko's address not in "
			"/proc/modules\n");
		return false;
	}
	snprintf(start, sizeof(start), "%lu", base);
	snprintf(end, sizeof(end), "%lu", base + size);
	printf("faultsweep: ring.ko core at %#lx, %lu bytes: faults only in "
	       "calls through it\n", base, size);
	for (i = 0; i < 3; i++) {
		const char *d = fault_dirs[i];

		/* fail-nth only: nothing fails by chance. */
		if (knob(d, "probability", "0") || knob(d, "interval", "1") ||
		    knob(d, "times", "-1") || knob(d, "space", "0") ||
		    knob(d, "verbose", getenv("FAULTSWEEP_VERBOSE") ?
			 getenv("FAULTSWEEP_VERBOSE") : "0") ||
		    knob(d, "task-filter", "N") ||
		    knob(d, "stacktrace-depth", "32") ||
		    knob(d, "require-start", start) ||
		    knob(d, "require-end", end) ||
		    knob(d, "reject-start", "0") || knob(d, "reject-end", "0"))
			return false;
	}
	if (knob(fault_dirs[0], "ignore-gfp-wait", "N") ||
	    knob(fault_dirs[0], "cache-filter", "N") ||
	    knob(fault_dirs[1], "ignore-gfp-wait", "N") ||
	    knob(fault_dirs[1], "ignore-gfp-highmem", "N") ||
	    knob(fault_dirs[1], "min-order", "0"))
		return false;
	return true;
}

static void kmemleak_report(void)
{
	const char *km = "/sys/kernel/debug/kmemleak";
	char line[512];
	unsigned leaks = 0, shown = 0;
	FILE *f;

	if (access(km, F_OK)) {
		printf("kmemleak: not available\n");
		return;
	}
	/* Objects younger than 5 s are never reported: scan, wait, scan. */
	write_str(km, "scan");
	sleep(6);
	write_str(km, "scan");
	f = fopen(km, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "unreferenced object"))
			leaks++;
		if (leaks && shown++ < 40)
			printf("  %s", line);
	}
	if (f)
		fclose(f);
	printf("kmemleak: %u unreferenced object%s\n", leaks,
	       leaks == 1 ? "" : "s");
	if (leaks)
		total_bad++;
}

static void errno_summary(const struct tally *t, char *buf, size_t len)
{
	size_t off = 0;
	int e;

	buf[0] = 0;
	for (e = 1; e < NR_ERRNO; e++)
		if (t->errs[e])
			off += snprintf(buf + off, len - off, "%s%s:%u",
					off ? " " : "", strerrorname_np(e) ?
					strerrorname_np(e) : "?", t->errs[e]);
	if (!off)
		snprintf(buf, len, "-");
}

int main(int argc, char **argv)
{
	unsigned total_points = 0, total_handled = 0, nsc = 0;
	long long t0 = now_ns();
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	char why[256];
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (access("/proc/thread-self/fail-nth", F_OK)) {
		printf("SKIP: no /proc/thread-self/fail-nth "
		       "(kernel without CONFIG_FAULT_INJECTION)\n");
		return 0;
	}
	for (i = 0; i < 3; i++)
		if (access(fault_dirs[i], F_OK)) {
			printf("SKIP: no %s (failslab, fail_page_alloc and "
			       "fail_usercopy with debugfs needed)\n",
			       fault_dirs[i]);
			return 0;
		}
	if (access("/dev/ring", F_OK)) {
		fprintf(stderr, "faultsweep: /dev/ring missing: ring.ko not "
			"loaded\n");
		return 2;
	}
	out = mmap(NULL, sizeof(*out), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (out == MAP_FAILED || !config_faults())
		return 2;
	/* Registrations of the sweep never hit the limit by themselves. */
	setrlimit(RLIMIT_MEMLOCK, &rl);
	if (env_ext4(&ext4_dir, why, sizeof(why)))
		printf("faultsweep: files on ext4 (%s)\n", ext4_dir);
	else {
		ext4_dir = NULL;
		printf("faultsweep: files on /tmp: %s\n", why);
	}
	if (!stats_get(&baseline)) {
		fprintf(stderr, "faultsweep: no /sys/class/misc/ring/stats\n");
		return 2;
	}
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd < 0 || lseek(kmsg_fd, 0, SEEK_END) < 0) {
		perror("faultsweep: /dev/kmsg");
		return 2;
	}
	if (!access("/sys/kernel/debug/kmemleak", F_OK))
		write_str("/sys/kernel/debug/kmemleak", "clear");
	if (!memlock_free()) {
		fprintf(stderr, "faultsweep: cannot register 64 pages under "
			"RLIMIT_MEMLOCK of 64 pages before the sweep\n");
		return 2;
	}

	printf("%-24s %6s %7s  %-28s %s\n", "scenario", "points", "handled",
	       "failures by errno", "misbehaviours");
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const struct scenario *sc = &scenarios[i];
		struct tally t;
		long long s0 = now_ns();
		char errs[256];
		unsigned n;
		int a;

		if (argc > 1) {
			for (a = 1; a < argc; a++)
				if (!strcmp(argv[a], sc->name))
					break;
			if (a == argc)
				continue;
		}
		memset(&t, 0, sizeof(t));
		for (n = 1; n <= MAX_N; n++)
			if (!sweep_one(sc, n, &t))
				break;
		if (n > MAX_N) {
			report_bad(sc, n, "still failing after %u points", MAX_N);
			t.bad++;
			total_bad++;
		}
		errno_summary(&t, errs, sizeof(errs));
		printf("%-24s %6u %7u  %-28s %u  (%.1fs)\n", sc->name, t.points,
		       t.handled, errs, t.bad, (now_ns() - s0) / 1e9);
		total_points += t.points;
		total_handled += t.handled;
		nsc++;
	}
	kmemleak_report();
	printf("faultsweep: %u scenarios, %u injection points reached, %u "
	       "handled internally, %u misbehaviour%s, %.0fs\n", nsc,
	       total_points, total_handled, total_bad,
	       total_bad == 1 ? "" : "s", (now_ns() - t0) / 1e9);
	return total_bad ? 1 : 0;
}
