// SPDX-License-Identifier: MIT
/*
 * Registered files (io_uring's IORING_REGISTER_FILES2, FILES_UPDATE2,
 * UNREGISTER_FILES and IOSQE_FIXED_FILE):
 *   - every rejection with its errno, leaving no file referenced: a
 *     pipe's end refused or dropped by the ring is really closed (the
 *     other end sees EOF or EPIPE) and the module's stats come back;
 *   - a ring file is never registered, in its own table or another's,
 *     nor A in B and B in A (a reference cycle), by either opcode; nor
 *     an io_uring or an AF_UNIX socket, which could hold a ring;
 *   - I/O through slots on a regular file (every opcode, with a fixed
 *     buffer too), null_blk O_DIRECT, a pipe (armed on its wait queue) and
 *     a pty (waits in a worker); the descriptor closed after registering;
 *     bad slots -EBADF, unknown SQE flags -EINVAL, NOP ignores the flag;
 *   - update and unregister while a request waits on the slot: the file
 *     stays open until it ends, the tag CQE comes after its CQE;
 *   - the owner exiting with files registered and requests in flight.
 */
#include "fixedtest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define TAG(n)	(0xf11e000000000ULL | (n))

static int files2_raw(int fd, __u32 nr, __u32 flags, __u64 resv2,
		      const int *fds, const __u64 *tags, unsigned nr_args)
{
	struct ring_rsrc_register rr = {
		.nr = nr, .flags = flags, .resv2 = resv2,
		.data = (uintptr_t)fds, .tags = (uintptr_t)tags,
	};

	return raw_register(fd, RING_REGISTER_FILES2, nr_args, (uintptr_t)&rr);
}

static int files2(int fd, const int *fds, const __u64 *tags, __u32 nr)
{
	return files2_raw(fd, nr, 0, 0, fds, tags,
			  sizeof(struct ring_rsrc_register));
}

static int fupd_raw(int fd, __u32 off, __u32 resv, __u32 resv2,
		    const int *fds, const __u64 *tags, __u32 nr,
		    unsigned nr_args)
{
	struct ring_rsrc_update2 up = {
		.offset = off, .resv = resv, .resv2 = resv2,
		.data = (uintptr_t)fds, .tags = (uintptr_t)tags, .nr = nr,
	};

	return raw_register(fd, RING_REGISTER_FILES_UPDATE2, nr_args,
			    (uintptr_t)&up);
}

static int fupd(int fd, __u32 off, const int *fds, const __u64 *tags,
		__u32 nr)
{
	return fupd_raw(fd, off, 0, 0, fds, tags, nr,
			sizeof(struct ring_rsrc_update2));
}

static int funreg(int fd)
{
	return raw_register(fd, RING_UNREGISTER_FILES, 0, 0);
}

static struct ring_cqe next_cqe(struct ring *ring, const char *what)
{
	struct ring_cqe cqe;
	int n = reap(ring, &cqe, 1, io_timeout_ms());

	if (n != 1)
		fail_msg("%s: no CQE within %d ms (%s)", what, io_timeout_ms(),
			 errstr(n));
	return cqe;
}

static void expect_cqe(struct ring *ring, __u64 ud, int res, const char *what)
{
	struct ring_cqe c = next_cqe(ring, what);

	if (c.user_data != ud || c.res != res)
		fail_msg("%s: CQE {0x%llx, %d (%s)}, expected {0x%llx, %d (%s)}",
			 what, (unsigned long long)c.user_data, c.res,
			 errstr(c.res), (unsigned long long)ud, res, errstr(res));
}

static void expect_no_cqe(struct ring *ring, int ms, const char *what)
{
	struct ring_cqe c;
	int n = reap(ring, &c, 1, ms);

	if (n)
		fail_msg("%s: unexpected CQE {0x%llx, %d} (%s)", what,
			 (unsigned long long)c.user_data, c.res, errstr(n));
}

/* Refusals leave the write end of @p[1] unreferenced: closed, EOF seen. */
static void expect_writer_released(int p[2], const char *what)
{
	close(p[1]);
	p[1] = -1;
	if (!pipe_writer_gone(p[0], settle_ms()))
		fail_msg("%s: the ring still holds the pipe's write end", what);
	close(p[0]);
	p[0] = -1;
}

static void xpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		fail_msg("pipe2: %s", strerror(errno));
}

/* ---- rejections ---------------------------------------------------------- */

static void test_errors(void **state)
{
	const unsigned nra = sizeof(struct ring_rsrc_register);
	struct ring_stats base;
	struct ring ring;
	struct rlimit rl, low;
	__u64 tags[3] = { TAG(1), TAG(2), TAG(3) };
	int p[2], fds[3], fd, bad, other;
	char *hole;

	(void)state;
	require_ring();
	stats_baseline(&base);
	ring_init_or_fail(&ring, 4);
	fd = ring.ring_fd;
	hole = map_anon(PG);
	munmap(hole, PG);
	xpipe(p);
	bad = dup(p[0]);
	close(bad);

	expect_ret_msg(funreg(fd), -ENXIO, "UNREGISTER with none");
	expect_ret_msg(raw_register(fd, RING_UNREGISTER_FILES, 1, 0), -EINVAL,
		       "UNREGISTER nr_args 1");
	expect_ret_msg(raw_register(fd, RING_UNREGISTER_FILES, 0, 8), -EINVAL,
		       "UNREGISTER arg");
	fds[0] = p[1];
	expect_ret_msg(fupd(fd, 0, fds, NULL, 1), -ENXIO, "UPDATE2 with none");

	fds[0] = p[1]; fds[1] = p[1]; fds[2] = -1;
	expect_ret_msg(files2_raw(fd, 3, 0, 0, fds, NULL, nra - 1), -EINVAL,
		       "nr_args 31");
	expect_ret_msg(files2_raw(fd, 3, 0, 0, fds, NULL, 0), -EINVAL,
		       "nr_args 0");
	expect_ret_msg(raw_register(fd, RING_REGISTER_FILES2, nra, 0), -EFAULT,
		       "arg NULL");
	expect_ret_msg(files2_raw(fd, 3, 2, 0, fds, NULL, nra), -EINVAL,
		       "flags bit 1");
	expect_ret_msg(files2_raw(fd, 3, 0, 1, fds, NULL, nra), -EINVAL,
		       "resv2 1");
	expect_ret_msg(files2_raw(fd, 3, RING_RSRC_REGISTER_SPARSE, 0, fds,
				  NULL, nra), -EINVAL, "SPARSE with data");
	expect_ret_msg(files2_raw(fd, 3, RING_RSRC_REGISTER_SPARSE, 0, NULL,
				  tags, nra), -EINVAL, "SPARSE with tags");
	expect_ret_msg(files2(fd, fds, NULL, 0), -EINVAL, "nr 0");
	expect_ret_msg(files2(fd, NULL, NULL, RING_MAX_FILES + 1), -EMFILE,
		       "nr over RING_MAX_FILES");
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	expect_ret_msg(files2(fd, NULL, NULL, 65), -EMFILE,
		       "nr over RLIMIT_NOFILE");
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	expect_ret_msg(files2(fd, (int *)hole, NULL, 3), -EFAULT,
		       "fds unmapped");
	expect_ret_msg(files2(fd, fds, (__u64 *)hole, 3), -EFAULT,
		       "tags unmapped");
	fds[1] = bad;
	expect_ret_msg(files2(fd, fds, NULL, 3), -EBADF, "a closed fd");
	fds[1] = -3;
	expect_ret_msg(files2(fd, fds, NULL, 3), -EBADF, "fd -3");
	fds[1] = RING_REGISTER_FILES_SKIP;
	expect_ret_msg(files2(fd, fds, NULL, 3), -EBADF, "SKIP in FILES2");
	fds[1] = p[1];
	expect_ret_msg(files2(fd, fds, tags, 3), -EINVAL, "a tag on -1");
	fds[1] = fd;
	expect_ret_msg(files2(fd, fds, NULL, 3), -EBADF, "its own ring");
	other = dev_open();
	fds[1] = other;
	expect_ret_msg(files2(fd, fds, NULL, 3), -EBADF,
		       "an unset-up /dev/ring");
	close(other);
	expect_ret_msg(fdinfo_get(fd, "FileSlots"), 0, "FileSlots after refusals");

	/* Sparse: all empty, then -EBUSY over it. */
	expect_ret(files2_raw(fd, 8, RING_RSRC_REGISTER_SPARSE, 0, NULL, NULL,
			      nra), 0);
	expect_ret_msg(fdinfo_get(fd, "FileSlots"), 8, "FileSlots sparse");
	expect_ret_msg(files2(fd, fds, NULL, 1), -EBUSY, "a second table");

	/* UPDATE2's argument. */
	fds[0] = p[1]; fds[1] = p[1]; fds[2] = p[1];
	expect_ret_msg(fupd_raw(fd, 0, 0, 0, fds, NULL, 1, 31), -EINVAL,
		       "UPDATE2 nr_args 31");
	expect_ret_msg(fupd_raw(fd, 0, 1, 0, fds, NULL, 1, 32), -EINVAL,
		       "UPDATE2 resv");
	expect_ret_msg(fupd_raw(fd, 0, 0, 1, fds, NULL, 1, 32), -EINVAL,
		       "UPDATE2 resv2");
	expect_ret_msg(fupd(fd, 0, fds, NULL, 0), -EINVAL, "UPDATE2 nr 0");
	expect_ret_msg(fupd(fd, 7, fds, NULL, 2), -EINVAL, "UPDATE2 past end");
	expect_ret_msg(fupd(fd, 0xffffffffU, fds, NULL, 2), -EINVAL,
		       "UPDATE2 offset overflow");
	expect_ret_msg(fupd(fd, 0, (int *)hole, NULL, 1), -EFAULT,
		       "UPDATE2 fds unmapped");
	/* Partial, io_uring's: the count before the first bad slot. */
	fds[1] = bad;
	expect_ret_msg(fupd(fd, 0, fds, NULL, 3), 1, "UPDATE2 stops at bad fd");
	fds[0] = fd;
	expect_ret_msg(fupd(fd, 1, fds, NULL, 3), -EBADF, "UPDATE2 own ring");
	fds[0] = RING_REGISTER_FILES_SKIP; fds[1] = -1; fds[2] = p[1];
	expect_ret_msg(fupd(fd, 1, fds, tags, 3), -EINVAL, "UPDATE2 SKIP tagged");
	expect_ret_msg(fupd(fd, 1, fds, NULL, 3), 3, "UPDATE2 SKIP, -1, fd");
	fds[0] = -1; fds[1] = -1;
	expect_ret_msg(fupd(fd, 2, fds, tags, 2), -EINVAL, "UPDATE2 -1 tagged");
	expect_ret(funreg(fd), 0);
	expect_ret_msg(funreg(fd), -ENXIO, "UNREGISTER twice");
	expect_ret_msg(fdinfo_get(fd, "FileSlots"), 0, "FileSlots unregistered");
	expect_no_cqe(&ring, 0, "untagged");
	expect_writer_released(p, "after the refusals and updates");
	ring_queue_exit(&ring);
	expect_stats(&base, "errors");
}

/* A ring in a ring: never, whichever way round, by either opcode. */
static void test_ring_refused(void **state)
{
	struct ring_stats base;
	struct ring a, b;
	int fds[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	ring_init_or_fail(&a, 4);
	ring_init_or_fail(&b, 4);
	fds[0] = a.ring_fd;
	expect_ret_msg(files2(a.ring_fd, fds, NULL, 1), -EBADF, "A in A");
	fds[0] = b.ring_fd;
	expect_ret_msg(files2(a.ring_fd, fds, NULL, 1), -EBADF, "B in A");
	fds[0] = a.ring_fd;
	expect_ret_msg(files2(b.ring_fd, fds, NULL, 1), -EBADF, "A in B");
	fds[0] = -1; fds[1] = -1;
	expect_ret(files2(a.ring_fd, fds, NULL, 2), 0);
	expect_ret(files2(b.ring_fd, fds, NULL, 2), 0);
	fds[0] = b.ring_fd;
	expect_ret_msg(fupd(a.ring_fd, 0, fds, NULL, 1), -EBADF,
		       "UPDATE2: B in A");
	fds[0] = a.ring_fd;
	expect_ret_msg(fupd(b.ring_fd, 1, fds, NULL, 1), -EBADF,
		       "UPDATE2: A in B");
	expect_ret_msg(fupd(a.ring_fd, 1, fds, NULL, 1), -EBADF,
		       "UPDATE2: A in A");
	ring_queue_exit(&a);
	ring_queue_exit(&b);
	/* Both rings really went: no cycle kept them. */
	expect_stats(&base, "rings refused");
}

/*
 * What could hold a ring and close a cycle through the table: an io_uring
 * (which takes ring files in its own table) and an AF_UNIX socket (whose
 * queue can carry a ring's descriptor); an AF_INET socket is fine.
 */
static void test_holders_refused(void **state)
{
	struct ring_params p;
	struct ring ring;
	int sv[2], fds[1], uring, inet;

	(void)state;
	require_ring();
	ring_init_or_fail(&ring, 4);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	fds[0] = sv[0];
	expect_ret_msg(files2(ring.ring_fd, fds, NULL, 1), -EBADF,
		       "an AF_UNIX socket");
	memset(&p, 0, sizeof(p));
	uring = (int)syscall(__NR_io_uring_setup, 2, &p);
	if (uring >= 0) {
		fds[0] = uring;
		expect_ret_msg(files2(ring.ring_fd, fds, NULL, 1), -EBADF,
			       "an io_uring");
		close(uring);
	} else {
		print_message("# no io_uring here (%s): not tried\n",
			      strerror(errno));
	}
	inet = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(inet >= 0);
	fds[0] = inet;
	expect_ret_msg(files2(ring.ring_fd, fds, NULL, 1), 0, "an AF_INET socket");
	close(inet);
	close(sv[0]);
	close(sv[1]);
	ring_queue_exit(&ring);
}

/* ---- I/O ----------------------------------------------------------------- */

static int fixed_run(struct ring *ring, int op, unsigned slot, void *buf,
		     unsigned len, __u64 off)
{
	struct ring_sqe s;

	ring_prep_rw(op, &s, (int)slot, buf, len, off);
	s.flags = RING_SQE_FIXED_FILE;
	s.user_data = 0xf11e0000 | op;
	return run_one(ring, &s);
}

/*
 * A regular file through slot 1, the descriptor closed after registering:
 * WRITE, READ, WRITEV, READV, FSYNC, READ_FIXED/WRITE_FIXED, and every way
 * of naming a bad slot.
 */
static void test_regular(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct ring_sqe s;
	char wbuf[256], rbuf[256], *fb;
	struct iovec iov[2], fbi;
	int fds[3], p[2], ro, fd;
	unsigned i;

	(void)state;
	require_ring();
	stats_baseline(&base);
	ring_init_or_fail(&ring, 8);
	fd = memfd_sized("files", 64 * 1024, 0);
	xpipe(p);
	ro = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	fds[0] = -1; fds[1] = fd; fds[2] = ro;
	expect_ret(ring_register_files(&ring, fds, 3), 0);
	close(fd);
	for (i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (char)(i * 7 + 1);

	expect_ret_msg(fixed_run(&ring, RING_OP_WRITE, 1, wbuf, 128, 0), 128,
		       "WRITE");
	expect_ret_msg(fixed_run(&ring, RING_OP_READ, 1, rbuf, 128, 0), 128,
		       "READ");
	assert_memory_equal(wbuf, rbuf, 128);
	iov[0] = (struct iovec){ wbuf + 128, 64 };
	iov[1] = (struct iovec){ wbuf + 192, 64 };
	expect_ret_msg(fixed_run(&ring, RING_OP_WRITEV, 1, iov, 2, 128), 128,
		       "WRITEV");
	memset(rbuf, 0, sizeof(rbuf));
	iov[0] = (struct iovec){ rbuf, 100 };
	iov[1] = (struct iovec){ rbuf + 100, 156 };
	expect_ret_msg(fixed_run(&ring, RING_OP_READV, 1, iov, 2, 0), 256,
		       "READV");
	assert_memory_equal(wbuf, rbuf, 256);
	ring_prep_fsync(&s, 1, 0);
	s.flags = RING_SQE_FIXED_FILE;
	expect_ret_msg(run_one(&ring, &s), 0, "FSYNC");

	/* A fixed buffer through a fixed file. */
	fb = map_anon(PG);
	fbi = (struct iovec){ fb, PG };
	expect_ret(ring_register_buffers(&ring, &fbi, 1), 0);
	memset(fb, 0x5a, PG);
	expect_ret_msg(fixed_run(&ring, RING_OP_WRITE_FIXED, 1, fb, PG, PG),
		       (long)PG, "WRITE_FIXED");
	memset(fb, 0, PG);
	expect_ret_msg(fixed_run(&ring, RING_OP_READ_FIXED, 1, fb, PG, PG),
		       (long)PG, "READ_FIXED");
	assert_int_equal(fb[PG - 1], 0x5a);
	expect_ret(ring_unregister_buffers(&ring), 0);

	/* Bad slots, the file's mode, flags. */
	expect_ret_msg(fixed_run(&ring, RING_OP_READ, 0, rbuf, 8, 0), -EBADF,
		       "an empty slot");
	expect_ret_msg(fixed_run(&ring, RING_OP_READ, 3, rbuf, 8, 0), -EBADF,
		       "slot 3 of 3");
	expect_ret_msg(fixed_run(&ring, RING_OP_READ, (unsigned)-1, rbuf, 8, 0),
		       -EBADF, "slot -1");
	expect_ret_msg(fixed_run(&ring, RING_OP_WRITE, 2, wbuf, 8, 0), -EBADF,
		       "a write to a read-only file");
	ring_prep_fsync(&s, 0, 0);
	s.flags = RING_SQE_FIXED_FILE;
	expect_ret_msg(run_one(&ring, &s), -EBADF, "FSYNC of an empty slot");
	ring_prep_rw(RING_OP_READ, &s, 1, rbuf, 8, 0);
	s.flags = RING_SQE_FIXED_FILE | (1U << 5);	/* BUFFER_SELECT */
	expect_ret_msg(run_one(&ring, &s), -EINVAL, "flag bit 5");
	s.flags = 1U << 7;
	expect_ret_msg(run_one(&ring, &s), -EINVAL, "flag bit 7");
	ring_prep_nop(&s);
	s.flags = RING_SQE_FIXED_FILE;
	s.fd = 1000;
	expect_ret_msg(run_one(&ring, &s), 0, "NOP with FIXED_FILE");

	/* A slot emptied: -EBADF; the descriptor number means nothing. */
	fds[0] = -1;
	expect_ret(ring_register_files_update(&ring, 1, fds, 1), 1);
	expect_ret_msg(fixed_run(&ring, RING_OP_READ, 1, rbuf, 8, 0), -EBADF,
		       "slot 1 emptied");
	/* The pipe's write end in, out at unregister: closed then. */
	fds[0] = p[1];
	expect_ret(ring_register_files_update(&ring, 0, fds, 1), 1);
	close(p[1]);
	p[1] = -1;
	expect_ret_msg(fixed_run(&ring, RING_OP_WRITE, 0, wbuf, 5, 0), 5,
		       "WRITE to the pipe after close()");
	assert_int_equal(read(p[0], rbuf, 16), 5);
	if (pipe_writer_gone(p[0], 50))
		fail_msg("the pipe's write end closed while registered");
	expect_ret(ring_unregister_files(&ring), 0);
	if (!pipe_writer_gone(p[0], settle_ms()))
		fail_msg("the pipe's write end still open after UNREGISTER");
	close(p[0]);
	close(ro);
	expect_inflight0(&ring, "regular");
	ring_queue_exit(&ring);
	expect_stats(&base, "regular");
}

/* null_blk O_DIRECT through a slot: completions in IRQ context. */
static void test_nullb_direct(void **state)
{
	struct ring_stats base;
	struct target t;
	struct ring ring;
	unsigned char *buf, *chk;
	unsigned i, n = scaled(64, 8);
	int fds[1];

	(void)state;
	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_NULLB, true, 0, 1 << 20);
	ring_init_or_fail(&ring, 16);
	fds[0] = t.fd;
	expect_ret(ring_register_files(&ring, fds, 1), 0);
	buf = xalloc(64 * 1024);
	chk = xalloc(64 * 1024);
	for (i = 0; i < n; i++) {
		unsigned len = 4096 * (1 + i % 16);
		__u64 off = (__u64)(i % 16) * 65536;

		memset(buf, (int)i, len);
		expect_ret_msg(fixed_run(&ring, RING_OP_WRITE, 0, buf, len, off),
			       len, "O_DIRECT WRITE %u", i);
		memset(chk, 0, len);
		expect_ret_msg(fixed_run(&ring, RING_OP_READ, 0, chk, len, off),
			       len, "O_DIRECT READ %u", i);
		assert_memory_equal(buf, chk, len);
	}
	/* Many in flight, then unregistered under them. */
	for (i = 0; i < 16; i++) {
		struct ring_sqe *s = ring_get_sqe(&ring);

		assert_non_null(s);
		ring_prep_read(s, 0, buf + (i % 16) * 4096, 4096, i * 4096);
		ring_sqe_set_fixed_file(s, 0);
		s->user_data = i;
	}
	expect_ret(ring_submit(&ring), 16);
	expect_ret(ring_unregister_files(&ring), 0);
	for (i = 0; i < 16; i++) {
		struct ring_cqe c = next_cqe(&ring, "O_DIRECT after unregister");

		if (c.res != 4096)
			fail_msg("read %llu: %d (%s)",
				 (unsigned long long)c.user_data, c.res,
				 errstr(c.res));
	}
	free(buf);
	free(chk);
	expect_inflight0(&ring, "null_blk");
	ring_queue_exit(&ring);
	target_close(&t);
	expect_stats(&base, "null_blk");
}

/* A pty pair: reading the master waits (in a worker) for the slave. */
static void pty_open(int *master, int *slave)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) || unlockpt(*master))
		fail_msg("posix_openpt: %s", strerror(errno));
	*slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		fail_msg("open %s: %s", ptsname(*master), strerror(errno));
}

static void submit_fixed_read(struct ring *ring, unsigned slot, void *buf,
			      unsigned len, __u64 ud)
{
	struct ring_sqe *s = ring_get_sqe(ring);

	assert_non_null(s);
	ring_prep_read(s, (int)slot, buf, len, -1);
	ring_sqe_set_fixed_file(s, slot);
	s->user_data = ud;
	expect_ret(ring_submit(ring), 1);
}

/*
 * A ring with the read end of pipe @p in slot 0 and a pty master in slot
 * 1 (tagged @tags), both descriptors closed, and a read waiting on each:
 * user_data 0x100 on the pipe (armed on its wait queue), 0x101 on the pty
 * (in a worker).  *@slave is the pty's other end.
 */
static void two_waiting_reads(struct ring *ring, const __u64 tags[2],
			      int p[2], int *slave, char *b1, char *b2)
{
	int master, fds[2];

	signal(SIGPIPE, SIG_IGN);
	ring_init_or_fail(ring, 8);
	xpipe(p);
	pty_open(&master, slave);
	fds[0] = p[0];
	fds[1] = master;
	expect_ret(files2(ring->ring_fd, fds, tags, 2), 0);
	close(p[0]);
	close(master);
	submit_fixed_read(ring, 0, b1, 64, 0x100);
	submit_fixed_read(ring, 1, b2, 64, 0x101);
	expect_no_cqe(ring, 100, "reads waiting");
}

/*
 * A read waits on the pipe's read end (slot 0, tagged) and one on a pty
 * master in a worker (slot 1, tagged): both slots replaced, then the
 * table unregistered, while they wait.  Each file stays open (the pipe's
 * writer sees a reader) until its read ends; each tag comes after its
 * read's CQE.
 */
static void test_inflight_update(void **state)
{
	struct ring_stats base;
	struct ring ring;
	__u64 tags[2] = { TAG(10), TAG(11) };
	int p[2], q[2], slave, fds[1];
	char b1[64], b2[64];

	(void)state;
	require_ring();
	stats_baseline(&base);
	xpipe(q);
	two_waiting_reads(&ring, tags, p, &slave, b1, b2);

	/* Slot 0 replaced by the other pipe's read end, untagged. */
	fds[0] = q[0];
	expect_ret(fupd(ring.ring_fd, 0, fds, NULL, 1), 1);
	close(q[0]);
	expect_no_cqe(&ring, 50, "slot 0 replaced, its read waits");
	if (pipe_reader_gone(p[1], 50))
		fail_msg("the pipe's read end went with I/O waiting on it");
	assert_int_equal(write(p[1], "hello", 5), 5);
	expect_cqe(&ring, 0x100, 5, "the pipe read");
	expect_cqe(&ring, TAG(10), 0, "slot 0's tag after its read");
	if (!pipe_reader_gone(p[1], settle_ms()))
		fail_msg("the old pipe's read end open after its tag");
	assert_memory_equal(b1, "hello", 5);

	/* The whole table goes while the pty read waits in a worker. */
	expect_ret(ring_unregister_files(&ring), 0);
	expect_no_cqe(&ring, 50, "unregistered, the pty read waits");
	if (!pipe_reader_gone(q[1], settle_ms()))
		fail_msg("the new pipe's read end open after UNREGISTER");
	assert_int_equal(write(slave, "pty", 3), 3);
	expect_cqe(&ring, 0x101, 3, "the pty read");
	expect_cqe(&ring, TAG(11), 0, "slot 1's tag after its read");
	expect_no_cqe(&ring, 0, "nothing more");
	close(slave);
	close(p[1]);
	close(q[1]);
	expect_inflight0(&ring, "inflight update");
	ring_queue_exit(&ring);
	expect_stats(&base, "inflight update");
}

/*
 * Close with files registered (tagged) and reads waiting on them: the
 * reads are cancelled, the files released, nothing left.
 */
static void test_close_inflight(void **state)
{
	struct ring_stats base;
	struct ring ring;
	__u64 tags[2] = { TAG(20), TAG(21) };
	int p[2], slave;
	char b1[64], b2[64];

	(void)state;
	require_ring();
	stats_baseline(&base);
	two_waiting_reads(&ring, tags, p, &slave, b1, b2);
	ring_queue_exit(&ring);
	if (!pipe_reader_gone(p[1], settle_ms()))
		fail_msg("the pipe's read end open after close");
	close(p[1]);
	close(slave);
	expect_stats(&base, "close in flight");
}

static void owner_child(void *arg)
{
	struct ring ring;
	int *pp = arg, fds[2], master, slave;
	struct ring_sqe *s;
	static char b1[64], b2[64];
	__u64 tags[2] = { TAG(30), TAG(31) };

	CHILD_EXPECT(ring_queue_init(8, &ring, 0), 0, "ring_queue_init");
	master = posix_openpt(O_RDWR | O_NOCTTY);
	CHILD_CHECK(master >= 0 && !grantpt(master) && !unlockpt(master),
		    "posix_openpt");
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	CHILD_CHECK(slave >= 0, "pty slave");
	fds[0] = pp[0];
	fds[1] = master;
	CHILD_EXPECT(files2(ring.ring_fd, fds, tags, 2), 0, "FILES2");
	close(pp[0]);
	close(master);
	s = ring_get_sqe(&ring);
	ring_prep_read(s, 0, b1, sizeof(b1), -1);
	ring_sqe_set_fixed_file(s, 0);
	s = ring_get_sqe(&ring);
	ring_prep_read(s, 1, b2, sizeof(b2), -1);
	ring_sqe_set_fixed_file(s, 1);
	CHILD_EXPECT(ring_submit(&ring), 2, "submit");
	usleep(100 * 1000);
	/* Exits with the ring, the table and both reads. */
	_exit(0);
}

static void test_owner_exit(void **state)
{
	struct ring_stats base;
	int p[2];

	(void)state;
	require_ring();
	stats_baseline(&base);
	signal(SIGPIPE, SIG_IGN);
	xpipe(p);
	run_child(owner_child, p, "owner exits with files in flight");
	close(p[0]);
	if (!pipe_reader_gone(p[1], settle_ms()))
		fail_msg("the pipe's read end open after the owner exited");
	close(p[1]);
	expect_stats(&base, "owner exit");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_ring_refused),
		cmocka_unit_test(test_holders_refused),
		cmocka_unit_test(test_regular),
		cmocka_unit_test(test_nullb_direct),
		cmocka_unit_test(test_inflight_update),
		cmocka_unit_test(test_close_inflight),
		cmocka_unit_test(test_owner_exit),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
