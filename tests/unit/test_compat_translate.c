// SPDX-License-Identifier: MIT
/*
 * The io_uring translator (lib/compat/translate.c) without a module: what
 * it hands to the ioctls (caught by wrapping ioctl at link time), the
 * register-opcode map (io_uring's files opcodes rebuilt as ring's), the per-thread registered-ring table and bad
 * pointers.  RING_DEV points at /dev/null, so "rings" are /dev/null files:
 * real fds the table can duplicate and close, on which a real ioctl says
 * ENOTTY like any file that is not /dev/ring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "translate.h"
#include "uring.h"

/* ---- the wrapped ioctl ---------------------------------------------------- */

int __real_ioctl(int fd, unsigned long cmd, ...);

static struct {
	bool fake;		/* answer here instead of the real ioctl */
	int err;		/* fake: fail with this errno */
	int ret;		/* fake: else return this */
	unsigned calls;
	int fd;
	unsigned long cmd;
	union {
		struct ring_params p;
		struct ring_enter e;
		struct ring_enter_arg ea;
		struct ring_register r;
	} arg;
	/* FILES2 / FILES_UPDATE2 (faked): the structure arg points to. */
	union {
		struct ring_rsrc_register rr;
		struct ring_rsrc_update2 up;
	} inner;
} io;

/* What ring.ko writes back at SETUP, enough to tell it was copied. */
static void fake_setup(struct ring_params *p)
{
	p->sq_entries = 16;
	p->cq_entries = 32;
	p->features = RING_FEAT_SINGLE_MMAP | RING_FEAT_EXT_ARG;
	p->sq_off.head = 1;
	p->sq_off.array = 7;
	p->cq_off.cqes = 11;
}

int __wrap_ioctl(int fd, unsigned long cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	io.calls++;
	io.fd = fd;
	io.cmd = cmd;
	if (arg && _IOC_SIZE(cmd) <= sizeof(io.arg))
		memcpy(&io.arg, arg, _IOC_SIZE(cmd));
	if (!io.fake)
		return __real_ioctl(fd, cmd, arg);
	if (cmd == RING_IOC_REGISTER && io.arg.r.arg &&
	    (io.arg.r.opcode == RING_REGISTER_FILES2 ||
	     io.arg.r.opcode == RING_REGISTER_FILES_UPDATE2))
		memcpy(&io.inner, (void *)(uintptr_t)io.arg.r.arg,
		       sizeof(io.inner));
	if (io.err) {
		errno = io.err;
		return -1;
	}
	if (cmd == RING_IOC_SETUP)
		fake_setup(arg);
	return io.ret;
}

/* ---- helpers ---------------------------------------------------------------- */

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int null_fd(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino && sa.st_rdev == sb.st_rdev;
}

/* Whether the translator can tell bad pointers from good (see user_copy). */
static bool pointers_checked(void)
{
	char c = 0, d;
	struct iovec l = { &d, 1 }, r = { &c, 1 };

	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == 1;
}

static unsigned baseline;

static int setup(void **state)
{
	memset(&io, 0, sizeof(io));
	setenv("RING_DEV", "/dev/null", 1);
	baseline = open_fds();
	return 0;
}

/* Nothing the test did may be left open. */
static int teardown(void **state)
{
	unsigned i;

	/* Empty this thread's table so the count is comparable. */
	setenv("RING_DEV", "/dev/null", 1);
	io.fake = false;
	for (i = 0; i < LU_RINGFD_REG_MAX; i++) {
		struct lu_rsrc_update up = { .offset = i };
		int fd = null_fd();

		xl_register(fd, LU_UNREGISTER_RING_FDS, &up, 1);
		close(fd);
	}
	assert_int_equal(open_fds(), baseline);
	return 0;
}

#define TEST(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

/* ---- setup ---------------------------------------------------------------- */

static void test_setup_translates(void **state)
{
	struct ring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	p.flags = RING_SETUP_CQSIZE | RING_SETUP_CLAMP;
	p.cq_entries = 64;
	p.sq_entries = 999;	/* io_uring takes entries from the argument */
	p.sq_thread_cpu = 3;	/* ignored by io_uring without SQPOLL */
	p.sq_thread_idle = 100;
	p.wq_fd = 5;		/* ignored without ATTACH_WQ */
	p.features = 0xffff;	/* outputs: not passed in */
	p.sq_off.head = 77;
	p.cq_off.cqes = 77;
	io.fake = true;

	fd = xl_setup(8, &p);
	assert_true(fd >= 0);
	assert_int_equal(io.calls, 1);
	assert_int_equal(io.cmd, RING_IOC_SETUP);
	assert_int_equal(io.arg.p.sq_entries, 8);
	assert_int_equal(io.arg.p.cq_entries, 64);
	assert_int_equal(io.arg.p.flags, RING_SETUP_CQSIZE | RING_SETUP_CLAMP);
	assert_int_equal(io.arg.p.sq_thread_cpu, 0);
	assert_int_equal(io.arg.p.sq_thread_idle, 0);
	assert_int_equal(io.arg.p.wq_fd, 0);
	assert_int_equal(io.arg.p.features, 0);
	assert_int_equal(io.arg.p.sq_off.head, 0);
	assert_int_equal(io.arg.p.cq_off.cqes, 0);

	/* Copied back: the kernel's outputs; the rest as the caller gave. */
	assert_int_equal(p.sq_entries, 16);
	assert_int_equal(p.cq_entries, 32);
	assert_int_equal(p.features, RING_FEAT_SINGLE_MMAP | RING_FEAT_EXT_ARG);
	assert_int_equal(p.sq_off.head, 1);
	assert_int_equal(p.sq_off.array, 7);
	assert_int_equal(p.cq_off.cqes, 11);
	assert_int_equal(p.sq_thread_cpu, 3);
	assert_int_equal(p.wq_fd, 5);

	/* The device, read-write and close-on-exec as io_uring's fds. */
	assert_int_equal(io.fd, fd);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	close(fd);
}

/* One SETUP through the translator: what reached the ioctl. */
static void setup_thread_fields(unsigned flags, unsigned *cpu,
				unsigned *idle)
{
	struct ring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	p.sq_thread_cpu = 3;
	p.sq_thread_idle = 100;
	io.fake = true;
	fd = xl_setup(4, &p);
	assert_true(fd >= 0);
	assert_int_equal(io.arg.p.flags, flags);
	*cpu = io.arg.p.sq_thread_cpu;
	*idle = io.arg.p.sq_thread_idle;
	/* The caller's fields stay as given. */
	assert_int_equal(p.sq_thread_cpu, 3);
	assert_int_equal(p.sq_thread_idle, 100);
	close(fd);
}

/*
 * SQPOLL passes sq_thread_idle, SQ_AFF with it sq_thread_cpu; io_uring
 * ignores each without its flag, and ring would refuse it, so it is
 * zeroed.  SQ_AFF without SQPOLL is the kernel's to refuse.
 */
static void test_setup_sqpoll_fields(void **state)
{
	unsigned cpu, idle;

	setup_thread_fields(LU_SETUP_SQPOLL | RING_SETUP_SQ_AFF, &cpu, &idle);
	assert_int_equal(cpu, 3);
	assert_int_equal(idle, 100);
	setup_thread_fields(LU_SETUP_SQPOLL, &cpu, &idle);
	assert_int_equal(cpu, 0);
	assert_int_equal(idle, 100);
	setup_thread_fields(RING_SETUP_SQ_AFF, &cpu, &idle);
	assert_int_equal(cpu, 0);
	assert_int_equal(idle, 0);
	setup_thread_fields(LU_SETUP_SQPOLL | RING_SETUP_IOPOLL, &cpu, &idle);
	assert_int_equal(cpu, 0);
	assert_int_equal(idle, 100);
}

/* ATTACH_WQ's wq_fd goes to the module, whose EINVAL comes back. */
static void test_setup_attach_wq(void **state)
{
	struct ring_params p;
	unsigned fds;

	memset(&p, 0, sizeof(p));
	p.flags = LU_SETUP_SQPOLL | LU_SETUP_ATTACH_WQ;
	p.wq_fd = 5;
	io.fake = true;
	io.err = EINVAL;
	fds = open_fds();
	assert_int_equal(xl_setup(4, &p), -EINVAL);
	assert_int_equal(io.calls, 1);
	assert_int_equal(io.arg.p.wq_fd, 5);
	assert_int_equal(io.arg.p.flags, LU_SETUP_SQPOLL | LU_SETUP_ATTACH_WQ);
	assert_int_equal(open_fds(), fds);
}

static void test_setup_resv(void **state)
{
	struct ring_params p;
	unsigned i;

	for (i = 0; i < 3; i++) {
		memset(&p, 0, sizeof(p));
		p.resv[i] = 1;
		io.fake = true;
		assert_int_equal(xl_setup(8, &p), -EINVAL);
	}
	assert_int_equal(io.calls, 0);
}

static void test_setup_errors(void **state)
{
	struct ring_params p;

	/* The kernel's errno, and the fd closed again. */
	memset(&p, 0, sizeof(p));
	io.fake = true;
	io.err = ENOMEM;
	assert_int_equal(xl_setup(8, &p), -ENOMEM);
	io.err = EINVAL;
	assert_int_equal(xl_setup(0, &p), -EINVAL);
	/* open()'s errno. */
	setenv("RING_DEV", "/nonexistent/ring", 1);
	assert_int_equal(xl_setup(8, &p), -ENOENT);
	assert_int_equal(io.calls, 2);
	/* /dev/null for real: its own ENOTTY, as any kernel answer. */
	setenv("RING_DEV", "/dev/null", 1);
	io.fake = false;
	assert_int_equal(xl_setup(8, &p), -ENOTTY);
}

static void test_setup_bad_pointer(void **state)
{
	struct ring_params *ro;

	io.fake = true;
	assert_int_equal(xl_setup(8, NULL), -EFAULT);
	assert_int_equal(io.calls, 0);
	if (!pointers_checked()) {
		print_message("SKIP: process_vm_readv refused here: only NULL "
			      "pointers can be caught\n");
		skip();
	}
	assert_int_equal(xl_setup(8, (void *)16), -EFAULT);
	assert_int_equal(io.calls, 0);

	/* Readable but not writable: set up, then the ring is closed. */
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED);
	assert_int_equal(xl_setup(8, ro), -EFAULT);
	assert_int_equal(io.calls, 1);
	munmap(ro, 4096);
}

/* ---- enter ------------------------------------------------------------------ */

static void test_enter_plain(void **state)
{
	io.fake = true;
	io.ret = 3;
	assert_int_equal(xl_enter(9, 3, 2, RING_ENTER_GETEVENTS, NULL, 8), 3);
	assert_int_equal(io.fd, 9);
	assert_int_equal(io.cmd, RING_IOC_ENTER);
	assert_int_equal(io.arg.e.to_submit, 3);
	assert_int_equal(io.arg.e.min_complete, 2);
	assert_int_equal(io.arg.e.flags, RING_ENTER_GETEVENTS);
	assert_int_equal(io.arg.e.resv, 0);
	/* Unknown flags: -EINVAL before anything else, as io_uring. */
	io.fd = -1;
	assert_int_equal(xl_enter(9, 0, 0, 1U << 20, NULL, 0), -EINVAL);
	assert_int_equal(xl_enter(9, 0, 0, ~0U, NULL, 0), -EINVAL);
	assert_int_equal(io.fd, -1);
}

static void test_enter_arg(void **state)
{
	struct ring_getevents_arg ga = { 0 };
	sigset_t mask;

	sigemptyset(&mask);
	io.fake = true;
	/* A signal mask: ENTER_ARG with it. */
	assert_int_equal(xl_enter(9, 1, 1, RING_ENTER_GETEVENTS, &mask, 8), 0);
	assert_int_equal(io.cmd, RING_IOC_ENTER_ARG);
	assert_int_equal(io.arg.ea.to_submit, 1);
	assert_int_equal(io.arg.ea.min_complete, 1);
	assert_int_equal(io.arg.ea.flags, RING_ENTER_GETEVENTS);
	assert_int_equal(io.arg.ea.arg, (uintptr_t)&mask);
	assert_int_equal(io.arg.ea.argsz, 8);
	/* EXT_ARG: the argument and its size as given, checked by the kernel. */
	assert_int_equal(xl_enter(9, 0, 1, RING_ENTER_GETEVENTS |
				  RING_ENTER_EXT_ARG, &ga, 13), 0);
	assert_int_equal(io.cmd, RING_IOC_ENTER_ARG);
	assert_int_equal(io.arg.ea.flags,
			 RING_ENTER_GETEVENTS | RING_ENTER_EXT_ARG);
	assert_int_equal(io.arg.ea.arg, (uintptr_t)&ga);
	assert_int_equal(io.arg.ea.argsz, 13);
	/* EXT_ARG without an argument still goes to the kernel to judge. */
	assert_int_equal(xl_enter(9, 0, 0, RING_ENTER_EXT_ARG, NULL, 24), 0);
	assert_int_equal(io.cmd, RING_IOC_ENTER_ARG);
	assert_int_equal(io.arg.ea.arg, 0);
}

static void test_enter_errors(void **state)
{
	int fd = null_fd();
	int pfd[2];

	io.fake = true;
	io.err = EINTR;
	assert_int_equal(xl_enter(9, 0, 1, RING_ENTER_GETEVENTS, NULL, 0),
			 -EINTR);
	/* Not /dev/ring: io_uring_enter on a non-ring fd says EOPNOTSUPP. */
	io.fake = false;
	assert_int_equal(xl_enter(fd, 0, 0, 0, NULL, 0), -EOPNOTSUPP);
	assert_int_equal(xl_enter(fd, 0, 0, RING_ENTER_EXT_ARG, NULL, 24),
			 -EOPNOTSUPP);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(xl_enter(pfd[0], 0, 0, 0, NULL, 0), -EOPNOTSUPP);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
	/* No fd at all. */
	assert_int_equal(xl_enter(fd, 0, 0, 0, NULL, 0), -EBADF);
}

/* ---- the register-opcode map ------------------------------------------------ */

/* io_uring's opcode -> ring's, for those that reach the kernel. */
static int kernel_opcode(unsigned op)
{
	switch (op) {
	case LU_REGISTER_BUFFERS:		return RING_REGISTER_BUFFERS;
	case LU_UNREGISTER_BUFFERS:		return RING_UNREGISTER_BUFFERS;
	case LU_REGISTER_PROBE:			return RING_REGISTER_PROBE;
	case LU_REGISTER_ENABLE_RINGS:		return RING_REGISTER_ENABLE_RINGS;
	case LU_REGISTER_BUFFERS2:		return RING_REGISTER_BUFFERS2;
	case LU_REGISTER_BUFFERS_UPDATE:	return RING_REGISTER_BUFFERS_UPDATE2;
	case LU_REGISTER_IOWQ_MAX_WORKERS:	return RING_REGISTER_IOWQ_MAX_WORKERS;
	case LU_UNREGISTER_FILES:		return RING_UNREGISTER_FILES;
	case LU_REGISTER_FILES2:		return RING_REGISTER_FILES2;
	case LU_REGISTER_FILES_UPDATE2:		return RING_REGISTER_FILES_UPDATE2;
	}
	return -1;
}

static void test_register_map(void **state)
{
	static char arg[64];
	unsigned op;

	io.fake = true;
	io.ret = 5;
	for (op = 0; op < 300; op++) {
		int kop = kernel_opcode(op);
		unsigned before = io.calls;
		int ret;

		if (op == LU_REGISTER_RING_FDS || op == LU_UNREGISTER_RING_FDS ||
		    op == LU_REGISTER_FILES || op == LU_REGISTER_FILES_UPDATE)
			continue;
		ret = xl_register(9, op, arg, 7);
		if (kop < 0) {
			/* Never the kernel: ring's 2..6 are the IOTLB ops. */
			assert_int_equal(ret, -EINVAL);
			assert_int_equal(io.calls, before);
			continue;
		}
		assert_int_equal(ret, 5);
		assert_int_equal(io.calls, before + 1);
		assert_int_equal(io.fd, 9);
		assert_int_equal(io.cmd, RING_IOC_REGISTER);
		assert_int_equal(io.arg.r.opcode, kop);
		assert_int_equal(io.arg.r.nr_args, 7);
		assert_int_equal(io.arg.r.arg, (uintptr_t)arg);
		assert_int_equal(io.arg.r.resv[0] | io.arg.r.resv[1], 0);
	}
	/* USE_REGISTERED_RING (6.3+): as a kernel without it. */
	assert_int_equal(xl_register(9, LU_REGISTER_USE_REGISTERED_RING |
				     LU_REGISTER_BUFFERS, arg, 1), -EINVAL);
	assert_int_equal(xl_register(9, LU_REGISTER_USE_REGISTERED_RING |
				     LU_REGISTER_RING_FDS, arg, 1), -EINVAL);
	assert_int_equal(xl_register(9, ~0U, arg, 1), -EINVAL);
}

static void test_register_errors(void **state)
{
	int fd = null_fd();

	io.fake = true;
	io.err = EBUSY;
	assert_int_equal(xl_register(9, LU_REGISTER_BUFFERS, NULL, 1), -EBUSY);
	io.fake = false;
	assert_int_equal(xl_register(fd, LU_REGISTER_PROBE, NULL, 0),
			 -EOPNOTSUPP);
	close(fd);
	assert_int_equal(xl_register(fd, LU_REGISTER_PROBE, NULL, 0), -EBADF);
}

/*
 * IORING_REGISTER_FILES (2): int fds[nr_args] as FILES2 {nr, data};
 * IORING_REGISTER_FILES_UPDATE (6): io_uring_rsrc_update + nr_args as
 * FILES_UPDATE2 {offset, data, nr}; the kernel's answers unchanged.
 */
static void test_register_files(void **state)
{
	int fds[3] = { 0, 1, 2 }, fd = null_fd(), pfd[2];
	struct lu_rsrc_update up = { .offset = 5, .data = (uintptr_t)fds };
	unsigned before;

	io.fake = true;
	io.ret = 0;
	memset(&io.inner, 0xaa, sizeof(io.inner));
	assert_int_equal(xl_register(fd, LU_REGISTER_FILES, fds, 3), 0);
	assert_int_equal(io.cmd, RING_IOC_REGISTER);
	assert_int_equal(io.arg.r.opcode, RING_REGISTER_FILES2);
	assert_int_equal(io.arg.r.nr_args, sizeof(struct ring_rsrc_register));
	assert_int_equal(io.inner.rr.nr, 3);
	assert_int_equal(io.inner.rr.flags, 0);
	assert_int_equal(io.inner.rr.resv2, 0);
	assert_int_equal(io.inner.rr.data, (uintptr_t)fds);
	assert_int_equal(io.inner.rr.tags, 0);
	io.err = EMFILE;
	assert_int_equal(xl_register(fd, LU_REGISTER_FILES, fds, 3), -EMFILE);
	io.err = 0;

	io.ret = 3;
	memset(&io.inner, 0xaa, sizeof(io.inner));
	assert_int_equal(xl_register(fd, LU_REGISTER_FILES_UPDATE, &up, 3), 3);
	assert_int_equal(io.arg.r.opcode, RING_REGISTER_FILES_UPDATE2);
	assert_int_equal(io.arg.r.nr_args, sizeof(struct ring_rsrc_update2));
	assert_int_equal(io.inner.up.offset, 5);
	assert_int_equal(io.inner.up.resv, 0);
	assert_int_equal(io.inner.up.data, (uintptr_t)fds);
	assert_int_equal(io.inner.up.tags, 0);
	assert_int_equal(io.inner.up.nr, 3);
	assert_int_equal(io.inner.up.resv2, 0);
	io.err = EBADF;
	assert_int_equal(xl_register(fd, LU_REGISTER_FILES_UPDATE, &up, 3),
			 -EBADF);
	io.err = 0;

	/* What only the translator reads: refused before the kernel. */
	before = io.calls;
	assert_int_equal(xl_register(fd, LU_REGISTER_FILES_UPDATE, &up, 0),
			 -EINVAL);
	up.resv = 1;
	assert_int_equal(xl_register(fd, LU_REGISTER_FILES_UPDATE, &up, 1),
			 -EINVAL);
	assert_int_equal(xl_register(fd, LU_REGISTER_FILES_UPDATE, NULL, 1),
			 -EFAULT);
	assert_int_equal(xl_register(fd, LU_REGISTER_FILES_UPDATE,
				     (void *)16, 1), -EFAULT);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(xl_register(pfd[0], LU_REGISTER_FILES_UPDATE, &up, 1),
			 -EOPNOTSUPP);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
	assert_int_equal(xl_register(fd, LU_REGISTER_FILES_UPDATE, &up, 1),
			 -EBADF);
	assert_int_equal(io.calls, before);
}

/* ---- registered rings --------------------------------------------------------- */

static int reg_ring(int ringfd, unsigned offset, int data)
{
	struct lu_rsrc_update up = { .offset = offset, .data = (__u64)data };
	int ret = xl_register(ringfd, LU_REGISTER_RING_FDS, &up, 1);

	return ret == 1 ? (int)up.offset : ret < 0 ? ret : -1000 - ret;
}

static int unreg_ring(int ringfd, unsigned offset)
{
	struct lu_rsrc_update up = { .offset = offset };

	return xl_register(ringfd, LU_UNREGISTER_RING_FDS, &up, 1);
}

static void test_ring_fds_enter(void **state)
{
	int fd = null_fd();
	int idx;

	idx = reg_ring(fd, -1U, fd);
	assert_int_equal(idx, 0);
	assert_int_equal(open_fds(), baseline + 2);	/* fd and its copy */

	/* ENTER on the registered copy, without the flag. */
	io.fake = true;
	io.ret = 1;
	assert_int_equal(xl_enter(idx, 1, 0, LU_ENTER_REGISTERED_RING |
				  RING_ENTER_GETEVENTS, NULL, 0), 1);
	assert_int_not_equal(io.fd, fd);
	assert_true(same_file(io.fd, fd));
	assert_true(fcntl(io.fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(io.arg.e.flags, RING_ENTER_GETEVENTS);

	/* The copy keeps the ring when the application closes its fd. */
	close(fd);
	assert_int_equal(xl_enter(idx, 0, 0, LU_ENTER_REGISTERED_RING,
				  NULL, 0), 1);
	assert_true(fcntl(io.fd, F_GETFD) >= 0);

	/* Out of range: EINVAL; an empty slot: EBADF. */
	assert_int_equal(xl_enter(16, 0, 0, LU_ENTER_REGISTERED_RING, NULL, 0),
			 -EINVAL);
	assert_int_equal(xl_enter(1, 0, 0, LU_ENTER_REGISTERED_RING, NULL, 0),
			 -EBADF);
	io.fake = false;

	fd = null_fd();
	assert_int_equal(unreg_ring(fd, idx), 1);
	assert_int_equal(open_fds(), baseline + 1);
	assert_int_equal(xl_enter(idx, 0, 0, LU_ENTER_REGISTERED_RING,
				  NULL, 0), -EBADF);
	close(fd);
}

static void test_ring_fds_slots(void **state)
{
	int fd = null_fd();
	int pfd[2];
	unsigned i;

	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(reg_ring(fd, 3, fd), 3);
	assert_int_equal(reg_ring(fd, 3, fd), -EBUSY);
	assert_int_equal(reg_ring(fd, 16, fd), -EINVAL);
	/* -1U fills the lowest free slots: 0..2, then 4..15, then none. */
	for (i = 0; i < LU_RINGFD_REG_MAX - 1; i++)
		assert_int_equal(reg_ring(fd, -1U, fd), i < 3 ? i : i + 1);
	assert_int_equal(reg_ring(fd, -1U, fd), -EBUSY);
	assert_int_equal(open_fds(), baseline + 3 + LU_RINGFD_REG_MAX);
	assert_int_equal(unreg_ring(fd, 7), 1);
	assert_int_equal(reg_ring(fd, -1U, fd), 7);

	/* What is registered must be a ring, and open. */
	assert_int_equal(unreg_ring(fd, 7), 1);
	assert_int_equal(reg_ring(fd, -1U, pfd[0]), -EOPNOTSUPP);
	assert_int_equal(reg_ring(fd, -1U, 1000), -EBADF);
	/* And so must the fd register is called on. */
	assert_int_equal(reg_ring(pfd[0], -1U, fd), -EOPNOTSUPP);
	assert_int_equal(reg_ring(1000, -1U, fd), -EBADF);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

static void test_ring_fds_arrays(void **state)
{
	struct lu_rsrc_update ups[LU_RINGFD_REG_MAX + 1];
	int fd = null_fd();
	int pfd[2];

	assert_int_equal(pipe(pfd), 0);
	memset(ups, 0, sizeof(ups));
	assert_int_equal(xl_register(fd, LU_REGISTER_RING_FDS, ups, 0), -EINVAL);
	assert_int_equal(xl_register(fd, LU_REGISTER_RING_FDS, ups, 17),
			 -EINVAL);
	assert_int_equal(xl_register(fd, LU_UNREGISTER_RING_FDS, ups, 0),
			 -EINVAL);

	/* Done until the first failure, and the count of those returned. */
	ups[0] = (struct lu_rsrc_update){ .offset = -1U, .data = fd };
	ups[1] = (struct lu_rsrc_update){ .offset = 5, .data = fd };
	ups[2] = (struct lu_rsrc_update){ .offset = -1U, .data = pfd[0] };
	ups[3] = (struct lu_rsrc_update){ .offset = -1U, .data = fd };
	assert_int_equal(xl_register(fd, LU_REGISTER_RING_FDS, ups, 4), 2);
	assert_int_equal(ups[0].offset, 0);
	assert_int_equal(ups[1].offset, 5);
	assert_int_equal(ups[3].offset, -1U);
	/* resv must be 0; so must data at unregister. */
	ups[0] = (struct lu_rsrc_update){ .offset = -1U, .resv = 1, .data = fd };
	assert_int_equal(xl_register(fd, LU_REGISTER_RING_FDS, ups, 1), -EINVAL);
	ups[0] = (struct lu_rsrc_update){ .offset = 0, .data = fd };
	assert_int_equal(xl_register(fd, LU_UNREGISTER_RING_FDS, ups, 1),
			 -EINVAL);
	ups[0] = (struct lu_rsrc_update){ .offset = 16 };
	assert_int_equal(xl_register(fd, LU_UNREGISTER_RING_FDS, ups, 1),
			 -EINVAL);
	/* Unregistering an empty slot is no error, as in io_uring. */
	ups[0] = (struct lu_rsrc_update){ .offset = 0 };
	ups[1] = (struct lu_rsrc_update){ .offset = 5 };
	ups[2] = (struct lu_rsrc_update){ .offset = 9 };
	assert_int_equal(xl_register(fd, LU_UNREGISTER_RING_FDS, ups, 3), 3);
	assert_int_equal(open_fds(), baseline + 3);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

static void test_ring_fds_bad_pointer(void **state)
{
	struct lu_rsrc_update *ro;
	int fd = null_fd();

	assert_int_equal(xl_register(fd, LU_REGISTER_RING_FDS, NULL, 1),
			 -EFAULT);
	assert_int_equal(xl_register(fd, LU_UNREGISTER_RING_FDS, NULL, 1),
			 -EFAULT);
	if (!pointers_checked()) {
		close(fd);
		print_message("SKIP: process_vm_readv refused here: only NULL "
			      "pointers can be caught\n");
		skip();
	}
	assert_int_equal(xl_register(fd, LU_REGISTER_RING_FDS, (void *)16, 1),
			 -EFAULT);
	/* Read-only: registered, then undone when the slot cannot be told. */
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED);
	ro->offset = -1U;
	ro->data = (__u64)fd;
	assert_int_equal(mprotect(ro, 4096, PROT_READ), 0);
	assert_int_equal(xl_register(fd, LU_REGISTER_RING_FDS, ro, 1), -EFAULT);
	assert_int_equal(open_fds(), baseline + 1);
	assert_int_equal(xl_enter(0, 0, 0, LU_ENTER_REGISTERED_RING, NULL, 0),
			 -EBADF);
	munmap(ro, 4096);
	close(fd);
}

/* ---- per thread --------------------------------------------------------------- */

static void *register_and_exit(void *arg)
{
	int fd = *(int *)arg;
	long idx = reg_ring(fd, -1U, fd);

	return (void *)idx;
}

static void test_ring_fds_per_thread(void **state)
{
	int fd = null_fd();
	pthread_t t;
	void *ret;

	assert_int_equal(pthread_create(&t, NULL, register_and_exit, &fd), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((long)ret, 0);
	/* Closed by the thread's exit; never in this thread's table. */
	assert_int_equal(open_fds(), baseline + 1);
	assert_int_equal(xl_enter(0, 0, 0, LU_ENTER_REGISTERED_RING, NULL, 0),
			 -EBADF);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_setup_translates),
		TEST(test_setup_sqpoll_fields),
		TEST(test_setup_attach_wq),
		TEST(test_setup_resv),
		TEST(test_setup_errors),
		TEST(test_setup_bad_pointer),
		TEST(test_enter_plain),
		TEST(test_enter_arg),
		TEST(test_enter_errors),
		TEST(test_register_map),
		TEST(test_register_errors),
		TEST(test_register_files),
		TEST(test_ring_fds_enter),
		TEST(test_ring_fds_slots),
		TEST(test_ring_fds_arrays),
		TEST(test_ring_fds_bad_pointer),
		TEST(test_ring_fds_per_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
