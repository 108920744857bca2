// SPDX-License-Identifier: MIT
/*
 * Errors of READ/WRITE/READV/WRITEV/FSYNC (and, for RWF_HIPRI, of
 * READ_FIXED/WRITE_FIXED), each an exact errno in the CQE (never an ioctl
 * error), with nothing changed in the file and nothing leaked: after every
 * case fdinfo Inflight is 0 and the module's live request count is back at
 * its baseline; after each test all its counters are.
 */
#include "iotest.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#define FILE_SIZE	8192
#define MAX_RW_COUNT	0x7ffff000U

static const int rw_ops[] = {
	RING_OP_READ, RING_OP_WRITE, RING_OP_READV, RING_OP_WRITEV,
};

static const char *op_name(int op)
{
	switch (op) {
	case RING_OP_READ: return "READ";
	case RING_OP_WRITE: return "WRITE";
	case RING_OP_READV: return "READV";
	case RING_OP_WRITEV: return "WRITEV";
	case RING_OP_FSYNC: return "FSYNC";
	}
	return "?";
}

static bool is_read(int op)
{
	return op == RING_OP_READ || op == RING_OP_READV;
}

/* A tmpfs file with known content, a ring and the baseline counters. */
struct fixture {
	struct ring_stats base;
	struct target t;
	struct ring ring;
	unsigned char content[FILE_SIZE];
	unsigned char buf[FILE_SIZE];	/* the good buffer of good requests */
	struct iovec iov[2];		/* good iovecs into buf */
	uint64_t ud;
};

static void fx_init(struct fixture *f, const char *what)
{
	uint64_t rng;

	require_ring();
	memset(f, 0, sizeof(*f));
	stats_baseline(&f->base);
	target_open(&f->t, TGT_TMPFS, false, 0, FILE_SIZE);
	rng = test_seed(what);
	rnd_fill(&rng, f->content, FILE_SIZE);
	if (pwrite(f->t.fd, f->content, FILE_SIZE, 0) != FILE_SIZE)
		fail_msg("pwrite: %s", strerror(errno));
	f->iov[0] = (struct iovec){ f->buf, 100 };
	f->iov[1] = (struct iovec){ f->buf + 200, 300 };
	ring_init_or_fail(&f->ring, 16);
}

/* The file still holds what fx_init wrote (failed writes changed nothing). */
static void fx_check_file(struct fixture *f, const char *what)
{
	unsigned char back[FILE_SIZE + 1];
	ssize_t n = pread(f->t.fd, back, sizeof(back), 0);

	if (n != FILE_SIZE)
		fail_msg("%s: the file is now %zd bytes, was %d", what, n,
			 FILE_SIZE);
	if (memcmp(back, f->content, FILE_SIZE))
		fail_msg("%s: the file content changed", what);
}

static void fx_exit(struct fixture *f, const char *what)
{
	fx_check_file(f, what);
	expect_inflight0(&f->ring, what);
	ring_queue_exit(&f->ring);
	target_close(&f->t);
	expect_stats(&f->base, what);
}

/* A well-formed SQE of op on fd (1 or 2 iovecs / 100 bytes at offset 0). */
static struct ring_sqe good(struct fixture *f, int op, int fd)
{
	struct ring_sqe s;

	switch (op) {
	case RING_OP_READV:
	case RING_OP_WRITEV:
		ring_prep_rw(op, &s, fd, f->iov, 2, 0);
		break;
	case RING_OP_FSYNC:
		ring_prep_fsync(&s, fd, 0);
		break;
	default:
		ring_prep_rw(op, &s, fd, f->buf, 100, 0);
	}
	s.user_data = ++f->ud;
	return s;
}

/*
 * Run one SQE and check its result; then nothing may be in flight or
 * allocated for requests. what is printf-style.
 */
static void check(struct fixture *f, const struct ring_sqe *s, int want,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void check(struct fixture *f, const struct ring_sqe *s, int want,
		  const char *fmt, ...)
{
	char what[256];
	va_list ap;
	int res;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	res = run_one(&f->ring, s);
	if (res != want)
		fail_msg("%s: res %d (%s), expected %d (%s)", what, res,
			 errstr(res), want, errstr(want));
	expect_inflight0(&f->ring, what);
	expect_no_requests(&f->base, what);
}

/* fd -1, an fd beyond the table, a closed fd, an O_PATH fd: -EBADF. */
static void test_bad_fd(void **state)
{
	static const int ops[] = {
		RING_OP_READ, RING_OP_WRITE, RING_OP_READV, RING_OP_WRITEV,
		RING_OP_FSYNC,
	};
	struct fixture f;
	int closed, opath;
	unsigned i;

	fx_init(&f, "bad fd");
	closed = target_reopen(&f.t, O_RDWR);
	assert_true(closed >= 0);
	close(closed);
	opath = target_reopen(&f.t, O_PATH);
	assert_true(opath >= 0);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		int fds[] = { -1, 1 << 20, closed, opath };
		const char *names[] = { "-1", "1<<20", "closed", "O_PATH" };
		unsigned k;

		for (k = 0; k < 4; k++) {
			struct ring_sqe s = good(&f, ops[i], fds[k]);

			check(&f, &s, -EBADF, "%s on fd %s", op_name(ops[i]),
			      names[k]);
		}
	}
	close(opath);
	fx_exit(&f, "bad fd");
}

/* Reading what was opened write-only and the reverse: -EBADF. */
static void test_wrong_mode(void **state)
{
	struct fixture f;
	int ro, wo, p[2];
	unsigned i;

	fx_init(&f, "wrong mode");
	ro = target_reopen(&f.t, O_RDONLY);
	wo = target_reopen(&f.t, O_WRONLY);
	assert_true(ro >= 0 && wo >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	memset(f.buf, 0x11, sizeof(f.buf));
	for (i = 0; i < 4; i++) {
		int op = rw_ops[i];
		struct ring_sqe s = good(&f, op, is_read(op) ? wo : ro);

		check(&f, &s, -EBADF, "%s on a file opened %s", op_name(op),
		      is_read(op) ? "O_WRONLY" : "O_RDONLY");
		s = good(&f, op, is_read(op) ? p[1] : p[0]);
		check(&f, &s, -EBADF, "%s on the %s end of a pipe", op_name(op),
		      is_read(op) ? "write" : "read");
		/* And the right way round works (writing what is there). */
		s = good(&f, op, is_read(op) ? ro : wo);
		if (!is_read(op)) {
			memcpy(f.buf, f.content, 100);
			memcpy(f.buf + 200, f.content + 100, 300);
		}
		check(&f, &s, is_read(op) ? (op == RING_OP_READ ? 100 : 400) :
			      (op == RING_OP_WRITE ? 100 : 400),
		      "%s on a file opened %s", op_name(op),
		      is_read(op) ? "O_RDONLY" : "O_WRONLY");
	}
	/* The pipe's byte is still there: the failed reads took nothing. */
	{
		char c = 0;

		assert_int_equal(read(p[0], &c, 1), 1);
		assert_int_equal(c, 'x');
	}
	close(p[0]);
	close(p[1]);
	close(ro);
	close(wo);
	fx_exit(&f, "wrong mode");
}

/* Offsets below 0 other than -1 (RING_OFF_CURRENT): -EINVAL. */
/* Each rw op at each of @offs: -EINVAL. */
static void check_bad_offsets(const __u64 *offs, unsigned nr, const char *what)
{
	struct fixture f;
	unsigned i, k;

	fx_init(&f, what);
	memset(f.buf, 0x22, sizeof(f.buf));
	for (i = 0; i < 4; i++)
		for (k = 0; k < nr; k++) {
			struct ring_sqe s = good(&f, rw_ops[i], f.t.fd);

			s.off = offs[k];
			check(&f, &s, -EINVAL, "%s at offset 0x%llx",
			      op_name(rw_ops[i]), (unsigned long long)offs[k]);
		}
	fx_exit(&f, what);
}

static void test_negative_offset(void **state)
{
	static const __u64 offs[] = {
		(__u64)-2, (__u64)-4096, 1ULL << 63, (1ULL << 63) + 1,
	};

	check_bad_offsets(offs, sizeof(offs) / sizeof(offs[0]),
			  "negative offset");
}

/*
 * An offset whose end passes the largest loff_t: -EINVAL before the file
 * sees it, as from pread(2)/pwrite(2) (rw_verify_area).  READ used to
 * return 0 (end of file).
 */
static void test_offset_overflow(void **state)
{
	static const __u64 offs[] = {
		0x7fffffffffffffffULL - 50, 0x7fffffffffffffffULL,
	};

	check_bad_offsets(offs, sizeof(offs) / sizeof(offs[0]),
			  "offset overflow");
}

/* READ/WRITE len over MAX_RW_COUNT: -EINVAL; exactly it: not an error. */
static void test_len_too_big(void **state)
{
	static const unsigned lens[] = {
		MAX_RW_COUNT + 1, 0x80000000U, 0xffffffffU,
	};
	struct fixture f;
	struct ring_sqe s;
	unsigned k;

	fx_init(&f, "len too big");
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		s = good(&f, RING_OP_READ, f.t.fd);
		s.len = lens[k];
		check(&f, &s, -EINVAL, "READ of 0x%x bytes", lens[k]);
		s = good(&f, RING_OP_WRITE, f.t.fd);
		s.len = lens[k];
		check(&f, &s, -EINVAL, "WRITE of 0x%x bytes", lens[k]);
	}
	/*
	 * The limit itself is fine: the 8 KiB file gives what it has. The
	 * buffer must lie low enough that buf + MAX_RW_COUNT is still user
	 * space (a stack buffer near the top would fault by ASLR's whim).
	 */
	{
		void *low = mmap((void *)0x100000000000UL, FILE_SIZE,
				 PROT_READ | PROT_WRITE, MAP_PRIVATE |
				 MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		assert_true(low != MAP_FAILED);
		s = good(&f, RING_OP_READ, f.t.fd);
		s.addr = (unsigned long)low;
		s.len = MAX_RW_COUNT;
		s.off = 0;
		check(&f, &s, FILE_SIZE,
		      "READ of MAX_RW_COUNT bytes from an 8 KiB file");
		assert_memory_equal(low, f.content, FILE_SIZE);
		munmap(low, FILE_SIZE);
	}
	fx_exit(&f, "len too big");
}

/* Addresses no request may use as a buffer. */
struct bad_addr {
	const char *what;
	unsigned long addr;
};

static void bad_addrs(struct bad_addr *out, void *unmapped)
{
	out[0] = (struct bad_addr){ "NULL", 0 };
	out[1] = (struct bad_addr){ "an unmapped page", (unsigned long)unmapped };
	out[2] = (struct bad_addr){ "a kernel address", 0xffffffff81000000UL };
	out[3] = (struct bad_addr){ "a non-canonical address",
				    0x0000800000000000UL };
}

/*
 * A page with no mapping. Not one just unmapped: the next mmap (or a large
 * malloc) would reuse it. mincore() says ENOMEM for unmapped addresses.
 */
static void *unmapped_page(void)
{
	unsigned long a;
	unsigned char v;

	for (a = 0x200000000000UL; a < 0x700000000000UL; a += 0x10000000000UL)
		if (mincore((void *)a, 4096, &v) && errno == ENOMEM)
			return (void *)a;
	fail_msg("no unmapped page found");
	return NULL;
}

/* Bad buffers for READ/WRITE on a file and a pipe: -EFAULT. */
static void test_bad_buffer(void **state)
{
	struct bad_addr bad[5];
	struct fixture f;
	unsigned char *ro, *none;
	int p[2];
	unsigned k;

	fx_init(&f, "bad buffer");
	bad_addrs(bad, unmapped_page());
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED && none != MAP_FAILED);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(write(p[1], "pipe data", 9), 9);

	for (k = 0; k < 4; k++) {
		struct ring_sqe s = good(&f, RING_OP_READ, f.t.fd);

		s.addr = bad[k].addr;
		check(&f, &s, -EFAULT, "READ from a file into %s", bad[k].what);
		s = good(&f, RING_OP_WRITE, f.t.fd);
		s.addr = bad[k].addr;
		check(&f, &s, -EFAULT, "WRITE to a file from %s", bad[k].what);
		s = good(&f, RING_OP_READ, p[0]);
		s.addr = bad[k].addr;
		check(&f, &s, -EFAULT, "READ from a pipe into %s", bad[k].what);
		s = good(&f, RING_OP_WRITE, p[1]);
		s.addr = bad[k].addr;
		check(&f, &s, -EFAULT, "WRITE to a pipe from %s", bad[k].what);
	}
	{
		struct ring_sqe s = good(&f, RING_OP_READ, f.t.fd);

		s.addr = (unsigned long)ro;
		check(&f, &s, -EFAULT, "READ into read-only memory");
		s = good(&f, RING_OP_WRITE, f.t.fd);
		s.addr = (unsigned long)none;
		check(&f, &s, -EFAULT, "WRITE from PROT_NONE memory");
		s = good(&f, RING_OP_READ, p[0]);
		s.addr = (unsigned long)ro;
		check(&f, &s, -EFAULT, "READ from a pipe into read-only memory");
	}
	/* The faulting pipe reads consumed nothing. */
	{
		char back[16] = { 0 };

		assert_int_equal(read(p[0], back, sizeof(back)), 9);
		assert_memory_equal(back, "pipe data", 9);
	}
	close(p[0]);
	close(p[1]);
	munmap(ro, 4096);
	munmap(none, 4096);
	fx_exit(&f, "bad buffer");
}

/* Bad iovec arrays and bad iovecs: -EFAULT; a negative iov_len: -EINVAL. */
static void test_bad_iovec(void **state)
{
	struct bad_addr bad[5];
	struct fixture f;
	struct iovec *edge;
	unsigned char *pages;
	unsigned i, k;

	fx_init(&f, "bad iovec");
	bad_addrs(bad, unmapped_page());
	/* Two iovecs whose array runs off the end of a mapped page. */
	pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(pages != MAP_FAILED);
	munmap(pages + 4096, 4096);
	edge = (struct iovec *)(pages + 4096 - sizeof(struct iovec));
	edge[0] = (struct iovec){ f.buf, 10 };

	for (i = 0; i < 2; i++) {
		int ops[] = { RING_OP_READV, RING_OP_WRITEV };
		int op = ops[i];
		struct ring_sqe s;

		for (k = 0; k < 4; k++) {
			s = good(&f, op, f.t.fd);
			s.addr = bad[k].addr;
			check(&f, &s, -EFAULT, "%s with the iovec array at %s",
			      op_name(op), bad[k].what);
			/* The first iovec: a bad later one is a short count. */
			f.iov[0].iov_base = (void *)bad[k].addr;
			s = good(&f, op, f.t.fd);
			check(&f, &s, -EFAULT, "%s with iov_base of iovec 0 at %s",
			      op_name(op), bad[k].what);
			f.iov[0].iov_base = f.buf;
		}
		s = good(&f, op, f.t.fd);
		s.addr = (unsigned long)edge;
		check(&f, &s, -EFAULT, "%s with the iovec array crossing into "
		      "an unmapped page", op_name(op));
		f.iov[1].iov_len = (size_t)-1;
		s = good(&f, op, f.t.fd);
		check(&f, &s, -EINVAL, "%s with iov_len (size_t)-1", op_name(op));
		f.iov[1].iov_len = 300;
	}
	munmap(pages, 4096);
	fx_exit(&f, "bad iovec");
}

/* More than UIO_MAXIOV (1024) iovecs: -EINVAL. */
static void test_too_many_iovecs(void **state)
{
	static const unsigned counts[] = { 1025, 2048, 0xffffffffU };
	struct fixture f;
	struct iovec *iov = calloc(2048, sizeof(*iov));
	unsigned i, k;

	assert_non_null(iov);
	fx_init(&f, "too many iovecs");
	for (i = 0; i < 2048; i++)
		iov[i] = (struct iovec){ f.buf + i % 64, 1 };
	for (i = 0; i < 2; i++) {
		int op = i ? RING_OP_WRITEV : RING_OP_READV;

		for (k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
			struct ring_sqe s = good(&f, op, f.t.fd);

			s.addr = (unsigned long)iov;
			s.len = counts[k];
			check(&f, &s, -EINVAL, "%s with %u iovecs", op_name(op),
			      counts[k]);
		}
	}
	free(iov);
	fx_exit(&f, "too many iovecs");
}

/* rw_flags bits no kernel knows: -EOPNOTSUPP. */
static void test_bad_rw_flags(void **state)
{
	static const unsigned flags[] = { 1U << 8, 1U << 16, 1U << 31 };
	struct fixture f;
	unsigned i, k;

	fx_init(&f, "bad rw_flags");
	memset(f.buf, 0x33, sizeof(f.buf));
	for (i = 0; i < 4; i++)
		for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
			struct ring_sqe s = good(&f, rw_ops[i], f.t.fd);

			s.rw_flags = flags[k];
			check(&f, &s, -EOPNOTSUPP, "%s with rw_flags 0x%x",
			      op_name(rw_ops[i]), flags[k]);
		}
	fx_exit(&f, "bad rw_flags");
}

/*
 * RWF_HIPRI asks for a polled bio, and a ring has no IOPOLL mode to poll
 * it: such a read would complete only when the block layer timed it out,
 * with close() waiting for it.  io_uring without IORING_SETUP_IOPOLL says
 * -EINVAL; so must every read and write opcode here, alone or with other
 * valid flags, and the failed request must leave nothing behind.  (As in
 * io_uring, flags the file cannot honour at all are reported first: with
 * an unknown bit, or RWF_NOWAIT on a file without FMODE_NOWAIT, the
 * answer is -EOPNOTSUPP.)
 */
static const unsigned hipri_flags[] = {
	RWF_HIPRI, RWF_HIPRI | RWF_DSYNC, RWF_HIPRI | RWF_SYNC,
};

static void test_hipri(void **state)
{
	static const int ops[] = {
		RING_OP_READ, RING_OP_WRITE, RING_OP_READV, RING_OP_WRITEV,
		RING_OP_READ_FIXED, RING_OP_WRITE_FIXED,
	};
	struct fixture f;
	struct iovec reg;
	unsigned char *fbuf;
	void *region;
	unsigned i, k;

	fx_init(&f, "RWF_HIPRI");
	fbuf = xalloc(FILE_SIZE);
	memset(fbuf, 0x66, FILE_SIZE);
	memset(f.buf, 0x66, sizeof(f.buf));
	reg = (struct iovec){ fbuf, FILE_SIZE };
	expect_ret(ring_register_buffers(&f.ring, &reg, 1), 0);
	expect_ret(ring_register_iotlb(&f.ring, FILE_SIZE, &region), 0);
	expect_ret(ring_iotlb_map(&f.ring, 0, FILE_SIZE, NULL,
				  RING_IOTLB_PERM_READ | RING_IOTLB_PERM_WRITE,
				  0), 0);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		for (k = 0; k < sizeof(hipri_flags) / sizeof(hipri_flags[0]);
		     k++) {
			struct ring_sqe s;

			if (ops[i] == RING_OP_READ_FIXED ||
			    ops[i] == RING_OP_WRITE_FIXED) {
				ring_prep_rw(ops[i], &s, f.t.fd, fbuf, 100, 0);
				s.user_data = ++f.ud;
				s.rw_flags = hipri_flags[k];
				check(&f, &s, -EINVAL,
				      "%s (buffer 0) with rw_flags 0x%x",
				      ops[i] == RING_OP_READ_FIXED ?
				      "READ_FIXED" : "WRITE_FIXED",
				      hipri_flags[k]);
				if (ops[i] == RING_OP_READ_FIXED)
					ring_prep_read_iova(&s, f.t.fd, 0, 100, 0);
				else
					ring_prep_write_iova(&s, f.t.fd, 0, 100, 0);
				s.user_data = ++f.ud;
				s.rw_flags = hipri_flags[k];
				check(&f, &s, -EINVAL,
				      "%s (IOTLB) with rw_flags 0x%x",
				      ops[i] == RING_OP_READ_FIXED ?
				      "READ_FIXED" : "WRITE_FIXED",
				      hipri_flags[k]);
				continue;
			}
			s = good(&f, ops[i], f.t.fd);
			s.rw_flags = hipri_flags[k];
			check(&f, &s, -EINVAL, "%s with rw_flags 0x%x",
			      op_name(ops[i]), hipri_flags[k]);
			/* At the file position too. */
			s = good(&f, ops[i], f.t.fd);
			s.off = (__u64)-1;
			s.rw_flags = hipri_flags[k];
			check(&f, &s, -EINVAL,
			      "%s at the file position with rw_flags 0x%x",
			      op_name(ops[i]), hipri_flags[k]);
		}
	/* Nothing read moved the file position. */
	assert_int_equal(lseek(f.t.fd, 0, SEEK_CUR), 0);
	for (i = 0; i < 4; i++) {
		struct ring_sqe s = good(&f, rw_ops[i], f.t.fd);

		s.rw_flags = RWF_HIPRI | (1U << 31);
		check(&f, &s, -EOPNOTSUPP, "%s with rw_flags 0x%x",
		      op_name(rw_ops[i]), s.rw_flags);
	}
	/* The same requests without RWF_HIPRI still work. */
	{
		struct ring_sqe s = good(&f, RING_OP_READ, f.t.fd);

		check(&f, &s, 100, "READ without RWF_HIPRI");
		ring_prep_read_fixed(&s, f.t.fd, fbuf, 100, 0, 0);
		s.user_data = ++f.ud;
		check(&f, &s, 100, "READ_FIXED without RWF_HIPRI");
		ring_prep_read_iova(&s, f.t.fd, 0, 100, 0);
		s.user_data = ++f.ud;
		check(&f, &s, 100, "READ_FIXED (IOTLB) without RWF_HIPRI");
	}
	expect_ret(ring_unregister_iotlb(&f.ring, region, FILE_SIZE), 0);
	expect_ret(ring_unregister_buffers(&f.ring), 0);
	fx_exit(&f, "RWF_HIPRI");
	free(fbuf);
}

/*
 * The case that hurt: O_DIRECT on a block device, where RWF_HIPRI makes a
 * polled bio.  -EINVAL before anything reaches the device.
 */
static void test_hipri_direct(void **state)
{
	static const unsigned flags[] = {
		RWF_HIPRI, RWF_HIPRI | RWF_NOWAIT, RWF_HIPRI | RWF_DSYNC,
	};
	struct ring_stats base;
	struct target t;
	struct ring ring;
	unsigned char *buf, *before, *after;
	unsigned k;

	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_NULLB, true, 0, 1 << 20);
	buf = xalloc(4096);
	before = xalloc(4096);
	after = xalloc(4096);
	assert_int_equal(pread(t.fd, before, 4096, 0), 4096);
	memset(buf, (before[0] ^ 0xff) & 0xff, 4096);
	ring_init_or_fail(&ring, 4);
	for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		struct ring_sqe s;

		ring_prep_read(&s, t.fd, buf, 4096, 0);
		s.rw_flags = flags[k];
		s.user_data = 2 * k;
		expect_ret_msg(run_one(&ring, &s), -EINVAL,
			       "O_DIRECT READ with rw_flags 0x%x",
			       flags[k]);
		ring_prep_write(&s, t.fd, buf, 4096, 0);
		s.rw_flags = flags[k];
		s.user_data = 2 * k + 1;
		expect_ret_msg(run_one(&ring, &s), -EINVAL,
			       "O_DIRECT WRITE with rw_flags 0x%x",
			       flags[k]);
		expect_inflight0(&ring, "O_DIRECT RWF_HIPRI");
		expect_no_requests(&base, "O_DIRECT RWF_HIPRI");
	}
	/* The refused writes wrote nothing. */
	assert_int_equal(pread(t.fd, after, 4096, 0), 4096);
	assert_memory_equal(after, before, 4096);
	ring_queue_exit(&ring);
	free(buf);
	free(before);
	free(after);
	target_close(&t);
	expect_stats(&base, "O_DIRECT RWF_HIPRI");
}

/* FSYNC on a pipe, FSYNC flags other than DATASYNC: -EINVAL. */
static void test_fsync_errors(void **state)
{
	static const unsigned flags[] = { 2, 3, 1U << 31 };
	struct fixture f;
	struct ring_sqe s;
	int p[2];
	unsigned k;

	fx_init(&f, "fsync errors");
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	for (k = 0; k < 2; k++) {
		s = good(&f, RING_OP_FSYNC, p[k]);
		check(&f, &s, -EINVAL, "FSYNC on the %s end of a pipe",
		      k ? "write" : "read");
		s = good(&f, RING_OP_FSYNC, p[k]);
		s.rw_flags = RING_FSYNC_DATASYNC;
		check(&f, &s, -EINVAL, "FSYNC|DATASYNC on a pipe");
	}
	for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		s = good(&f, RING_OP_FSYNC, f.t.fd);
		s.rw_flags = flags[k];
		check(&f, &s, -EINVAL, "FSYNC with rw_flags 0x%x", flags[k]);
	}
	close(p[0]);
	close(p[1]);
	fx_exit(&f, "fsync errors");
}

/* Non-zero ioprio or buf_index on these opcodes: -EINVAL. */
static void test_ioprio_buf_index(void **state)
{
	static const int ops[] = {
		RING_OP_READ, RING_OP_WRITE, RING_OP_READV, RING_OP_WRITEV,
		RING_OP_FSYNC,
	};
	static const unsigned short vals[] = { 1, 0x4004, 0xffff };
	struct fixture f;
	unsigned i, k;

	fx_init(&f, "ioprio/buf_index");
	memset(f.buf, 0x44, sizeof(f.buf));
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		for (k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
			struct ring_sqe s = good(&f, ops[i], f.t.fd);

			s.ioprio = vals[k];
			check(&f, &s, -EINVAL, "%s with ioprio 0x%x",
			      op_name(ops[i]), vals[k]);
			s = good(&f, ops[i], f.t.fd);
			s.buf_index = vals[k];
			check(&f, &s, -EINVAL, "%s with buf_index 0x%x",
			      op_name(ops[i]), vals[k]);
		}
	fx_exit(&f, "ioprio/buf_index");
}

/*
 * One submission mixing failing and good requests: every bad one gets its
 * errno, every good one its full count and the right data, in any order.
 */
static void test_errors_in_batch(void **state)
{
	enum { N = 16 };
	struct fixture f;
	struct ring_cqe cqes[N];
	int want[N];
	unsigned char rbuf[N][256];
	bool seen[N] = { false };
	unsigned i;
	int wo;

	fx_init(&f, "errors in a batch");
	wo = target_reopen(&f.t, O_WRONLY);
	assert_true(wo >= 0);
	for (i = 0; i < N; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&f.ring);

		assert_non_null(sqe);
		switch (i % 8) {
		case 0:	/* good reads of distinct ranges */
		case 3:
		case 6:
			ring_prep_read(sqe, f.t.fd, rbuf[i], 256, i * 256);
			want[i] = 256;
			break;
		case 1:
			ring_prep_read(sqe, -1, rbuf[i], 256, 0);
			want[i] = -EBADF;
			break;
		case 2:
			ring_prep_read(sqe, f.t.fd, NULL, 256, 0);
			want[i] = -EFAULT;
			break;
		case 4:
			ring_prep_read(sqe, wo, rbuf[i], 256, 0);
			want[i] = -EBADF;
			break;
		case 5:
			ring_prep_write(sqe, f.t.fd, rbuf[i], 256, (__u64)-7);
			want[i] = -EINVAL;
			break;
		case 7:
			ring_prep_readv(sqe, f.t.fd, f.iov, 2, 0);
			sqe->rw_flags = 1U << 31;
			want[i] = -EOPNOTSUPP;
			break;
		}
		ring_sqe_set_data64(sqe, i);
	}
	submit_reap(&f.ring, cqes, N);
	for (i = 0; i < N; i++) {
		unsigned ud = (unsigned)cqes[i].user_data;

		if (ud >= N || seen[ud])
			fail_msg("CQE %u: user_data %u unknown or repeated", i, ud);
		seen[ud] = true;
		if (cqes[i].res != want[ud])
			fail_msg("batch entry %u: res %d (%s), expected %d (%s)",
				 ud, cqes[i].res, errstr(cqes[i].res), want[ud],
				 errstr(want[ud]));
		if (want[ud] == 256 &&
		    memcmp(rbuf[ud], f.content + ud * 256, 256))
			fail_msg("batch entry %u: read other data", ud);
	}
	expect_no_requests(&f.base, "errors in a batch");
	close(wo);
	fx_exit(&f, "errors in a batch");
}

/*
 * O_DIRECT on a block device: bad buffers -EFAULT (pinning fails), and a
 * misaligned buffer, offset or length -EINVAL (the block layer's answer).
 */
static void test_direct_errors(void **state)
{
	struct ring_stats base;
	struct bad_addr bad[5];
	struct target t;
	struct ring ring;
	unsigned char *buf;
	unsigned k;

	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_NULLB, true, 0, 1 << 20);
	buf = xalloc(16384);
	memset(buf, 0x55, 16384);
	bad_addrs(bad, unmapped_page());
	ring_init_or_fail(&ring, 4);
	for (k = 0; k < 4; k++) {
		struct ring_sqe s;
		int res;

		ring_prep_read(&s, t.fd, (void *)bad[k].addr, 4096, 0);
		s.user_data = 2 * k;
		res = run_one(&ring, &s);
		expect_ret_msg(res, -EFAULT, "O_DIRECT READ into %s", bad[k].what);
		ring_prep_write(&s, t.fd, (void *)bad[k].addr, 4096, 0);
		s.user_data = 2 * k + 1;
		res = run_one(&ring, &s);
		expect_ret_msg(res, -EFAULT, "O_DIRECT WRITE from %s",
			       bad[k].what);
		expect_inflight0(&ring, "O_DIRECT bad buffer");
		expect_no_requests(&base, "O_DIRECT bad buffer");
	}
	{
		struct { const char *what; size_t boff; unsigned len; __u64 off; }
		mis[] = {
			{ "buffer", 1, 4096, 0 },
			{ "offset", 0, 4096, 1 },
			{ "length", 0, 4095, 0 },
		};

		for (k = 0; k < 3; k++) {
			struct ring_sqe s;

			ring_prep_read(&s, t.fd, buf + mis[k].boff, mis[k].len,
				       mis[k].off);
			s.user_data = 10 + k;
			expect_ret_msg(run_one(&ring, &s), -EINVAL,
				       "O_DIRECT READ with a misaligned %s",
				       mis[k].what);
			ring_prep_write(&s, t.fd, buf + mis[k].boff, mis[k].len,
					mis[k].off);
			s.user_data = 20 + k;
			expect_ret_msg(run_one(&ring, &s), -EINVAL,
				       "O_DIRECT WRITE with a misaligned %s",
				       mis[k].what);
		}
	}
	expect_inflight0(&ring, "O_DIRECT errors");
	ring_queue_exit(&ring);
	free(buf);
	target_close(&t);
	expect_stats(&base, "O_DIRECT errors");
}

/*
 * A ring fd, its own or another's: no request may hold a ring (it could
 * keep itself alive), every opcode -EBADF, and the rings are unharmed.
 */
static void test_ring_fd_as_target(void **state)
{
	static const int ops[] = {
		RING_OP_READ, RING_OP_WRITE, RING_OP_READV, RING_OP_WRITEV,
		RING_OP_FSYNC,
	};
	struct fixture f;
	struct ring other;
	unsigned i;

	fx_init(&f, "ring fd as target");
	ring_init_or_fail(&other, 2);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct ring_sqe s = good(&f, ops[i], f.ring.ring_fd);

		check(&f, &s, -EBADF, "%s on the ring's own fd", op_name(ops[i]));
		s = good(&f, ops[i], other.ring_fd);
		check(&f, &s, -EBADF, "%s on another ring's fd", op_name(ops[i]));
	}
	/* Both rings still work. */
	{
		struct ring_sqe s = good(&f, RING_OP_READ, f.t.fd);
		struct ring_cqe cqe;

		check(&f, &s, 100, "READ after the ring-fd requests");
		ring_prep_nop(ring_get_sqe(&other));
		submit_reap(&other, &cqe, 1);
		expect_ret(cqe.res, 0);
	}
	ring_queue_exit(&other);
	fx_exit(&f, "ring fd as target");
}

/*
 * Files of the kernel's pseudo filesystems (proc, sysfs, cgroup, debugfs,
 * ...) act on the calling task's namespaces, root and cgroups, a signalfd
 * on its signals; a worker or the SQ thread would act in the host's (a
 * container reading or setting the host's hostname through
 * /proc/sys/kernel/hostname): -EOPNOTSUPP at submission, wherever the
 * request would run, and nothing written.  An eventfd is no such file.
 */
static void test_task_bound_files(void **state)
{
	static const char *const paths[] = {
		"/proc/sys/kernel/hostname", "/proc/self/status",
		"/sys/module/ring/parameters/max_workers",
	};
	char before[128], after[128];
	struct fixture f;
	unsigned i, k;

	fx_init(&f, "task-bound files");
	if (gethostname(before, sizeof(before)))
		fail_msg("gethostname: %s", strerror(errno));
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int fd = open(paths[i], O_RDWR | O_CLOEXEC);

		if (fd < 0)
			fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail_msg("open %s: %s", paths[i], strerror(errno));
		for (k = 0; k < 4; k++) {
			int op = k % 2 ? RING_OP_WRITE : RING_OP_READ;
			struct ring_sqe s = good(&f, op, fd);

			memcpy(f.buf, "ring-was-here", 14);
			s.len = 13;
			if (k >= 2)
				s.flags |= RING_SQE_ASYNC;
			check(&f, &s, -EOPNOTSUPP, "%s%s of %s", op_name(op),
			      k >= 2 ? " in a worker" : "", paths[i]);
		}
		close(fd);
	}
	if (gethostname(after, sizeof(after)) || strcmp(before, after))
		fail_msg("the hostname changed from %s to %s", before, after);

	/* signalfd reads the reader's signals: refused; eventfd is fine. */
	{
		uint64_t one = 1;
		sigset_t mask;
		int sfd, efd;
		struct ring_sqe s;

		sigemptyset(&mask);
		sigaddset(&mask, SIGUSR2);
		sfd = signalfd(-1, &mask, SFD_CLOEXEC);
		efd = eventfd(0, EFD_CLOEXEC);
		if (sfd < 0 || efd < 0)
			fail_msg("signalfd/eventfd: %s", strerror(errno));
		s = good(&f, RING_OP_READ, sfd);
		s.len = 128;
		check(&f, &s, -EOPNOTSUPP, "READ of a signalfd");
		if (write(efd, &one, sizeof(one)) != sizeof(one))
			fail_msg("eventfd write: %s", strerror(errno));
		s = good(&f, RING_OP_READ, efd);
		s.len = 8;
		check(&f, &s, 8, "READ of an eventfd");
		close(sfd);
		close(efd);
	}
	fx_exit(&f, "task-bound files");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_bad_fd),
	cmocka_unit_test(test_wrong_mode),
	cmocka_unit_test(test_negative_offset),
	cmocka_unit_test(test_offset_overflow),
	cmocka_unit_test(test_len_too_big),
	cmocka_unit_test(test_bad_buffer),
	cmocka_unit_test(test_bad_iovec),
	cmocka_unit_test(test_too_many_iovecs),
	cmocka_unit_test(test_bad_rw_flags),
	cmocka_unit_test(test_hipri),
	cmocka_unit_test(test_hipri_direct),
	cmocka_unit_test(test_fsync_errors),
	cmocka_unit_test(test_ioprio_buf_index),
	cmocka_unit_test(test_errors_in_batch),
	cmocka_unit_test(test_direct_errors),
	cmocka_unit_test(test_ring_fd_as_target),
	cmocka_unit_test(test_task_bound_files),
};

VMTEST_MAIN(tests)
