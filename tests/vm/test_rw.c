// SPDX-License-Identifier: MIT
/*
 * READ/WRITE/READV/WRITEV/FSYNC on files and block devices: random
 * verified I/O at queue depths 1, 4, 16 and 64 on a tmpfs file, an ext4
 * file on loop (buffered and O_DIRECT), null_blk and brd (buffered and
 * O_DIRECT), read back through the ring and cross-checked with pread;
 * FSYNC variants; RING_OFF_CURRENT; the iovec array copied at submission;
 * short reads at EOF; zero-length and 1024-iovec requests; RWF_* flags.
 * Every test ends with the module's live counters back at their baseline.
 */
#include "iotest.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#define REGION		(4U << 20)
#define MAX_IO		(64U << 10)

/* Random verified I/O at each queue depth, then checks of the whole region. */
static void integrity(enum tgt_kind kind, bool direct)
{
	static const unsigned qds[] = { 1, 4, 16, 64 };
	static const unsigned batches[] = { 64, 32, 16, 8 };
	struct ring_stats base;
	struct io_engine e;
	struct target t;
	unsigned char *shadow;
	uint64_t rng;
	char msg[768];
	unsigned i, j;
	long long t0 = now_ns();

	require_ring();
	stats_baseline(&base);
	target_open(&t, kind, direct, 0, REGION);
	shadow = xalloc(REGION);
	rng = test_seed(t.name);
	target_fill(&t, shadow, &rng);
	if (eng_init(&e, &t, shadow, rnd_next(&rng), 64, MAX_IO))
		fail_msg("%s", e.err);

	for (i = 0; i < sizeof(qds) / sizeof(qds[0]); i++) {
		unsigned n = scaled(batches[i], 2);

		for (j = 0; j < n; j++)
			if (eng_batch(&e, qds[i]))
				fail_msg("QD %u batch %u: %s", qds[i], j, e.err);
		expect_inflight0(&e.ring, t.name);
		expect_no_requests(&base, t.name);
		if (eng_fsync(&e))
			fail_msg("after QD %u: %s", qds[i], e.err);
		if (target_verify(&t, shadow, msg, sizeof(msg)))
			fail_msg("after QD %u: %s", qds[i], msg);
	}
	if (eng_read_all(&e, 16))
		fail_msg("read-back of the region: %s", e.err);
	print_message("# %s: %lu requests, %lu KiB in %lld ms\n", t.name,
		      e.ops, e.bytes >> 10, (now_ns() - t0) / 1000000);
	eng_exit(&e);
	target_close(&t);
	free(shadow);
	expect_stats(&base, t.name);
}

static void test_integrity_tmpfs(void **state)
{
	integrity(TGT_TMPFS, false);
}

static void test_integrity_ext4(void **state)
{
	integrity(TGT_EXT4, false);
}

static void test_integrity_ext4_direct(void **state)
{
	integrity(TGT_EXT4, true);
}

static void test_integrity_nullb(void **state)
{
	integrity(TGT_NULLB, false);
}

static void test_integrity_nullb_direct(void **state)
{
	integrity(TGT_NULLB, true);
}

static void test_integrity_brd(void **state)
{
	integrity(TGT_BRD, false);
}

static void test_integrity_brd_direct(void **state)
{
	integrity(TGT_BRD, true);
}

/* Build an SQE template. */
static struct ring_sqe mk(int op, int fd, const void *addr, unsigned len,
			  __u64 off, __u64 ud)
{
	struct ring_sqe s;

	ring_prep_rw(op, &s, fd, addr, len, off);
	s.user_data = ud;
	return s;
}

static void pread_exact(int fd, void *buf, size_t len, off_t off)
{
	ssize_t r = pread(fd, buf, len, off);

	if (r != (ssize_t)len)
		fail_msg("pread %zu at %lld: %zd (%s)", len, (long long)off, r,
			 r < 0 ? strerror(errno) : "short");
}

static void pwrite_exact(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t r = pwrite(fd, buf, len, off);

	if (r != (ssize_t)len)
		fail_msg("pwrite %zu at %lld: %zd (%s)", len, (long long)off, r,
			 r < 0 ? strerror(errno) : "short");
}

static off_t cur_pos(int fd)
{
	return lseek(fd, 0, SEEK_CUR);
}

/*
 * off = RING_OFF_CURRENT uses and advances the file position: sequential
 * writes (READ/WRITE and READV/WRITEV) move it by what they transferred,
 * an explicit offset leaves it alone, reads continue where it stands.
 */
static void pos_current(enum tgt_kind kind, bool direct)
{
	size_t align = direct ? IO_ALIGN_DIRECT : 1, size = 256 << 10;
	struct ring_stats base;
	struct target t;
	struct ring ring;
	unsigned char *data, *back;
	uint64_t rng;
	off_t pos = 0;
	unsigned i;
	int res;

	require_ring();
	stats_baseline(&base);
	target_open(&t, kind, direct, 0, size);
	rng = test_seed(t.name);
	data = xalloc(size);
	back = xalloc(size);
	rnd_fill(&rng, data, size);
	ring_init_or_fail(&ring, 8);
	assert_int_equal(lseek(t.fd, 0, SEEK_SET), 0);

	for (i = 0; i < 12; i++) {
		size_t len = direct ? align * (1 + rnd_below(&rng, 4)) :
				      1 + rnd_below(&rng, 5000);
		struct ring_sqe s;

		if (i % 3 == 2) {
			/* Three odd-sized pieces (aligned with O_DIRECT). */
			struct iovec iov[3];
			size_t a = direct ? (len > align ? align : 0) : len / 3;
			size_t b = direct ? 0 : len / 4;

			iov[0] = (struct iovec){ data + pos, a };
			iov[1] = (struct iovec){ data + pos + a, b };
			iov[2] = (struct iovec){ data + pos + a + b, len - a - b };
			s = mk(RING_OP_WRITEV, t.fd, iov, 3, RING_OFF_CURRENT, i);
			res = run_one(&ring, &s);
		} else {
			s = mk(RING_OP_WRITE, t.fd, data + pos, len,
			       RING_OFF_CURRENT, i);
			res = run_one(&ring, &s);
		}
		expect_ret_msg(res, len, "%s: write %u of %zu at the position",
			       t.name, i, len);
		pos += len;
		expect_ret_msg(cur_pos(t.fd), pos,
			       "%s: position after write %u", t.name, i);
		if (i % 4 == 3) {
			/* Rewrite the start with an explicit offset: no move. */
			s = mk(RING_OP_WRITE, t.fd, data, align == 1 ? 7 : align,
			       0, 100 + i);
			expect_ret(run_one(&ring, &s), align == 1 ? 7 : align);
			expect_ret_msg(cur_pos(t.fd), pos, "%s: position after "
				       "a write at offset 0", t.name);
		}
	}
	pread_exact(t.fd, back, pos, 0);
	if (memcmp(back, data, pos))
		fail_msg("%s: file content after positional writes differs",
			 t.name);

	/* Reads continue from the position. */
	memset(back, 0, size);
	assert_int_equal(lseek(t.fd, 0, SEEK_SET), 0);
	{
		off_t rpos = 0;

		for (i = 0; rpos < pos; i++) {
			size_t len = direct ? align * (1 + rnd_below(&rng, 3)) :
					      1 + rnd_below(&rng, 7000);
			struct ring_sqe s;

			if ((off_t)len > pos - rpos)
				len = pos - rpos;
			if (i % 2) {
				struct iovec iov[2] = {
					{ back + rpos, direct ? len : len / 2 },
					{ back + rpos + (direct ? len : len / 2),
					  direct ? 0 : len - len / 2 },
				};

				s = mk(RING_OP_READV, t.fd, iov, 2,
				       RING_OFF_CURRENT, 200 + i);
				res = run_one(&ring, &s);
			} else {
				s = mk(RING_OP_READ, t.fd, back + rpos, len,
				       RING_OFF_CURRENT, 200 + i);
				res = run_one(&ring, &s);
			}
			expect_ret_msg(res, len, "%s: read %u at the position "
				       "%lld", t.name, i, (long long)rpos);
			rpos += len;
			expect_ret_msg(cur_pos(t.fd), rpos,
				       "%s: position after read %u", t.name, i);
		}
		if (memcmp(back, data, pos))
			fail_msg("%s: positional reads returned other data",
				 t.name);
	}

	/* From a position set by lseek. */
	{
		off_t at = direct ? align : 100;
		size_t len = direct ? align : 50;
		struct ring_sqe s = mk(RING_OP_READ, t.fd, back, len,
				       RING_OFF_CURRENT, 300);

		assert_int_equal(lseek(t.fd, at, SEEK_SET), at);
		expect_ret(run_one(&ring, &s), len);
		if (memcmp(back, data + at, len))
			fail_msg("%s: read after lseek(%lld) got other data",
				 t.name, (long long)at);
		expect_ret(cur_pos(t.fd), at + (off_t)len);
	}

	/* At EOF: 0 bytes, position unchanged. */
	{
		off_t end = lseek(t.fd, 0, SEEK_END);
		struct ring_sqe s = mk(RING_OP_READ, t.fd, back, direct ? align : 10,
				       RING_OFF_CURRENT, 301);

		assert_true(end > 0);
		expect_ret_msg(run_one(&ring, &s), 0, "%s: read at EOF", t.name);
		expect_ret(cur_pos(t.fd), end);
	}

	/*
	 * O_APPEND: a write at the position lands at the end of the file
	 * and leaves the position there, as write(2) does.
	 */
	{
		int afd = target_reopen(&t, O_WRONLY | O_APPEND |
					(direct ? O_DIRECT : 0));
		size_t len = direct ? align : 33;
		off_t end = lseek(t.fd, 0, SEEK_END);
		struct ring_sqe s;

		if (afd < 0)
			fail_msg("%s: reopen O_APPEND: %s", t.name,
				 strerror(-afd));
		s = mk(RING_OP_WRITE, afd, data, len, RING_OFF_CURRENT, 302);
		expect_ret(run_one(&ring, &s), len);
		expect_ret_msg(cur_pos(afd), end + (off_t)len,
			       "%s: position after an O_APPEND write", t.name);
		expect_ret(lseek(t.fd, 0, SEEK_END), end + (off_t)len);
		close(afd);
	}
	expect_inflight0(&ring, t.name);
	ring_queue_exit(&ring);
	target_close(&t);
	free(data);
	free(back);
	expect_stats(&base, t.name);
}

static void test_pos_current_tmpfs(void **state)
{
	pos_current(TGT_TMPFS, false);
}

static void test_pos_current_ext4(void **state)
{
	pos_current(TGT_EXT4, false);
}

static void test_pos_current_ext4_direct(void **state)
{
	pos_current(TGT_EXT4, true);
}

/*
 * The iovec array is copied at submission: once ring_submit() returned,
 * pointing the array at a decoy and freeing it changes nothing; the I/O
 * uses the original buffers. (The pipe variants in test_pipe.c are
 * guaranteed to be still in flight at that point; these are on files.)
 */
static void iovec_copied(enum tgt_kind kind, bool direct)
{
	size_t align = direct ? IO_ALIGN_DIRECT : 1;
	size_t lens[8], total = 0, done;
	unsigned char *bufs[8], *decoy, *back;
	struct ring_stats base;
	struct ring_cqe cqe;
	struct target t;
	struct ring ring;
	struct iovec *iov;
	uint64_t rng;
	unsigned i, round;

	require_ring();
	stats_baseline(&base);
	target_open(&t, kind, direct, 0, 1 << 20);
	rng = test_seed(t.name);
	ring_init_or_fail(&ring, 4);
	decoy = xalloc(64 << 10);
	back = xalloc(1 << 20);
	for (i = 0; i < 8; i++) {
		lens[i] = direct ? align * (1 + i % 3) : 1 + 977 * i + 13 * (i % 2);
		total += lens[i];
		bufs[i] = xalloc(lens[i]);
	}

	for (round = 0; round < 4; round++) {
		bool write = round % 2 == 0;
		off_t off = (off_t)round * 65536;

		if (write) {
			for (i = 0; i < 8; i++)
				rnd_fill(&rng, bufs[i], lens[i]);
		} else {
			rnd_fill(&rng, back, total);
			pwrite_exact(t.fd, back, total, off);
			for (i = 0; i < 8; i++)
				memset(bufs[i], 0xa5, lens[i]);
		}
		memset(decoy, 0x5a, 64 << 10);
		iov = malloc(8 * sizeof(*iov));
		assert_non_null(iov);
		for (i = 0; i < 8; i++)
			iov[i] = (struct iovec){ bufs[i], lens[i] };
		if (write)
			ring_prep_writev(ring_get_sqe(&ring), t.fd, iov, 8, off);
		else
			ring_prep_readv(ring_get_sqe(&ring), t.fd, iov, 8, off);
		expect_ret(ring_submit(&ring), 1);
		/* Point every iovec at the decoy, then free the array. */
		for (i = 0; i < 8; i++)
			iov[i] = (struct iovec){ decoy, lens[i] };
		free(iov);
		if (reap(&ring, &cqe, 1, io_timeout_ms()) != 1)
			fail_msg("%s: no completion", t.name);
		expect_ret_msg(cqe.res, total, "%s: %s of 8 iovecs", t.name,
			       write ? "WRITEV" : "READV");
		for (i = 0; i < 64 << 10; i++)
			if (decoy[i] != 0x5a)
				fail_msg("%s: %s used the overwritten iovec array "
					 "(decoy byte %u changed)", t.name,
					 write ? "WRITEV" : "READV", i);
		if (write) {
			pread_exact(t.fd, back, total, off);
			for (i = 0, done = 0; i < 8; done += lens[i], i++)
				if (memcmp(back + done, bufs[i], lens[i]))
					fail_msg("%s: WRITEV iovec %u not in the file "
						 "(decoy written instead?)", t.name, i);
		} else {
			for (i = 0, done = 0; i < 8; done += lens[i], i++)
				if (memcmp(back + done, bufs[i], lens[i]))
					fail_msg("%s: READV iovec %u did not get the "
						 "file data", t.name, i);
		}
	}
	expect_inflight0(&ring, t.name);
	ring_queue_exit(&ring);
	for (i = 0; i < 8; i++)
		free(bufs[i]);
	free(decoy);
	free(back);
	target_close(&t);
	expect_stats(&base, t.name);
}

static void test_iovec_copied_tmpfs(void **state)
{
	iovec_copied(TGT_TMPFS, false);
}

static void test_iovec_copied_ext4(void **state)
{
	iovec_copied(TGT_EXT4, false);
}

static void test_iovec_copied_nullb_direct(void **state)
{
	iovec_copied(TGT_NULLB, true);
}

/* Reads at and across EOF of a file of `fsize` bytes: short, then 0. */
static void eof_file(enum tgt_kind kind, bool direct)
{
	size_t align = direct ? IO_ALIGN_DIRECT : 1, fsize = 10000;
	unsigned char *data, *buf;
	struct ring_stats base;
	struct target t;
	struct ring ring;
	struct ring_sqe s;
	uint64_t rng;
	int wfd;

	require_ring();
	stats_baseline(&base);
	target_open(&t, kind, direct, 0, 0);
	rng = test_seed(t.name);
	data = xalloc(fsize);
	buf = xalloc(64 << 10);
	rnd_fill(&rng, data, fsize);
	/* Written through a buffered fd: 10000 is not O_DIRECT-aligned. */
	wfd = target_reopen(&t, O_WRONLY);
	if (wfd < 0)
		fail_msg("reopen %s: %s", t.path, errstr(wfd));
	pwrite_exact(wfd, data, fsize, 0);
	assert_int_equal(fsync(wfd), 0);
	close(wfd);
	ring_init_or_fail(&ring, 4);

	if (direct) {
		/* 8192 + 4096 crosses EOF at 10000: 1808 bytes. */
		s = mk(RING_OP_READ, t.fd, buf, 16384, 0, 1);
		expect_ret_msg(run_one(&ring, &s), fsize,
			       "%s: O_DIRECT read of 16384 from 0", t.name);
		s = mk(RING_OP_READ, t.fd, buf, 4096, 8192, 2);
		expect_ret_msg(run_one(&ring, &s), fsize - 8192,
			       "%s: O_DIRECT read across EOF", t.name);
		if (memcmp(buf, data + 8192, fsize - 8192))
			fail_msg("%s: short read returned other data", t.name);
	} else {
		s = mk(RING_OP_READ, t.fd, buf, 100, fsize - 10, 1);
		expect_ret_msg(run_one(&ring, &s), 10, "%s: read across EOF",
			       t.name);
		if (memcmp(buf, data + fsize - 10, 10))
			fail_msg("%s: short read returned other data", t.name);
		{
			struct iovec iov[2] = { { buf, 50 }, { buf + 1000, 50 } };

			s = mk(RING_OP_READV, t.fd, iov, 2, fsize - 60, 2);
			expect_ret_msg(run_one(&ring, &s), 60,
				       "%s: READV across EOF", t.name);
			if (memcmp(buf, data + fsize - 60, 50) ||
			    memcmp(buf + 1000, data + fsize - 10, 10))
				fail_msg("%s: READV short read data", t.name);
		}
	}
	/* At and beyond EOF: 0. */
	s = mk(RING_OP_READ, t.fd, buf, align == 1 ? 100 : align,
	       direct ? 12288 : fsize, 3);
	expect_ret_msg(run_one(&ring, &s), 0, "%s: read at/after EOF", t.name);
	s = mk(RING_OP_READ, t.fd, buf, align == 1 ? 100 : align, 1ULL << 40, 4);
	expect_ret_msg(run_one(&ring, &s), 0, "%s: read far after EOF", t.name);
	{
		struct iovec iov[2] = { { buf, align }, { buf + 8192, align } };

		s = mk(RING_OP_READV, t.fd, iov, 2, 1ULL << 40, 5);
		expect_ret_msg(run_one(&ring, &s), 0, "%s: READV after EOF",
			       t.name);
	}
	expect_inflight0(&ring, t.name);
	ring_queue_exit(&ring);
	free(data);
	free(buf);
	target_close(&t);
	expect_stats(&base, t.name);
}

static void test_eof_tmpfs(void **state)
{
	eof_file(TGT_TMPFS, false);
}

static void test_eof_ext4_direct(void **state)
{
	eof_file(TGT_EXT4, true);
}

/* The end of a block device: short read across it, 0 at and after it. */
static void eof_blockdev(bool direct)
{
	struct ring_stats base;
	struct target t;
	struct ring ring;
	struct ring_sqe s;
	unsigned char *buf, *want;
	unsigned long long end;

	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_BRD, direct, 0, 4096);
	end = t.dev_size;
	buf = xalloc(16384);
	want = xalloc(4096);
	memset(want, 0x3c, 4096);
	pwrite_exact(t.fd, want, 4096, end - 4096);
	ring_init_or_fail(&ring, 4);
	s = mk(RING_OP_READ, t.fd, buf, 16384, end - 4096, 1);
	expect_ret_msg(run_one(&ring, &s), 4096, "%s: read across the end",
		       t.name);
	if (memcmp(buf, want, 4096))
		fail_msg("%s: data of the last block differs", t.name);
	s = mk(RING_OP_READ, t.fd, buf, 4096, end, 2);
	expect_ret_msg(run_one(&ring, &s), 0, "%s: read at the end", t.name);
	s = mk(RING_OP_READ, t.fd, buf, 4096, end + (1 << 20), 3);
	expect_ret_msg(run_one(&ring, &s), 0, "%s: read after the end", t.name);
	expect_inflight0(&ring, t.name);
	ring_queue_exit(&ring);
	free(buf);
	free(want);
	target_close(&t);
	expect_stats(&base, t.name);
}

static void test_eof_brd(void **state)
{
	eof_blockdev(false);
}

static void test_eof_brd_direct(void **state)
{
	eof_blockdev(true);
}

/*
 * FSYNC (whole file and a range) and FSYNC|DATASYNC complete with 0, also
 * on a file opened O_RDONLY (as fsync(2)); data written through the ring
 * before them is in the file.
 */
static void fsync_file(enum tgt_kind kind)
{
	struct ring_stats base;
	struct ring_cqe cqes[6];
	struct target t;
	struct ring ring;
	unsigned char *data, *back;
	uint64_t rng;
	unsigned i;
	int rfd;

	require_ring();
	stats_baseline(&base);
	target_open(&t, kind, false, 0, 1 << 20);
	rng = test_seed(t.name);
	data = xalloc(1 << 20);
	back = xalloc(1 << 20);
	rnd_fill(&rng, data, 1 << 20);
	rfd = target_reopen(&t, O_RDONLY);
	if (rfd < 0)
		fail_msg("reopen %s O_RDONLY: %s", t.path, errstr(rfd));
	ring_init_or_fail(&ring, 8);
	ring_prep_write(ring_get_sqe(&ring), t.fd, data, 1 << 20, 0);
	submit_reap(&ring, cqes, 1);
	expect_ret_msg(cqes[0].res, 1 << 20, "%s: WRITE of 1 MiB", t.name);

	for (i = 0; i < 6; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&ring);

		ring_prep_fsync(sqe, i < 4 ? t.fd : rfd,
				i % 2 ? RING_FSYNC_DATASYNC : 0);
		if (i == 2 || i == 3) {
			sqe->off = 4096;
			sqe->len = 65536;
		}
		ring_sqe_set_data64(sqe, i);
	}
	submit_reap(&ring, cqes, 6);
	for (i = 0; i < 6; i++) {
		static const char *const what[] = {
			"FSYNC", "FSYNC|DATASYNC", "ranged FSYNC",
			"ranged FSYNC|DATASYNC", "FSYNC on O_RDONLY",
			"FSYNC|DATASYNC on O_RDONLY",
		};
		unsigned ud = (unsigned)cqes[i].user_data;

		assert_true(ud < 6);
		expect_ret_msg(cqes[i].res, 0, "%s: %s", t.name, what[ud]);
	}
	pread_exact(rfd, back, 1 << 20, 0);
	if (memcmp(back, data, 1 << 20))
		fail_msg("%s: file content after WRITE + FSYNC differs", t.name);
	expect_inflight0(&ring, t.name);
	ring_queue_exit(&ring);
	close(rfd);
	free(data);
	free(back);
	target_close(&t);
	expect_stats(&base, t.name);
}

static void test_fsync_tmpfs(void **state)
{
	fsync_file(TGT_TMPFS);
}

static void test_fsync_ext4(void **state)
{
	fsync_file(TGT_EXT4);
}

/*
 * Edge sizes: READ/WRITE of 0 bytes and READV/WRITEV of 0 iovecs or only
 * empty ones give 0 and change nothing; 1024 (UIO_MAXIOV) iovecs of odd
 * sizes work both ways, split differently for the read.
 */
static void test_vectored_edges(void **state)
{
	enum { N = 1024 };
	struct ring_stats base;
	struct target t;
	struct ring ring;
	struct ring_sqe s;
	struct iovec *iov = calloc(N, sizeof(*iov));
	unsigned char *data = xalloc(8 * N), *back = xalloc(16 * N);
	unsigned char byte = 0x77;
	uint64_t rng;
	size_t total = 0, pos;
	unsigned i;

	require_ring();
	assert_non_null(iov);
	stats_baseline(&base);
	target_open(&t, TGT_TMPFS, false, 0, 16 * N);
	rng = test_seed("vectored edges");
	ring_init_or_fail(&ring, 4);

	/* Nothing to transfer: 0, the file stays as it is. */
	s = mk(RING_OP_WRITE, t.fd, &byte, 0, 0, 1);
	expect_ret_msg(run_one(&ring, &s), 0, "WRITE of 0 bytes");
	s = mk(RING_OP_READ, t.fd, &byte, 0, 0, 2);
	expect_ret_msg(run_one(&ring, &s), 0, "READ of 0 bytes");
	iov[0] = (struct iovec){ &byte, 1 };
	s = mk(RING_OP_WRITEV, t.fd, iov, 0, 0, 3);
	expect_ret_msg(run_one(&ring, &s), 0, "WRITEV of 0 iovecs");
	s = mk(RING_OP_READV, t.fd, iov, 0, 0, 4);
	expect_ret_msg(run_one(&ring, &s), 0, "READV of 0 iovecs");
	for (i = 0; i < 4; i++)
		iov[i] = (struct iovec){ &byte, 0 };
	s = mk(RING_OP_WRITEV, t.fd, iov, 4, 0, 5);
	expect_ret_msg(run_one(&ring, &s), 0, "WRITEV of 4 empty iovecs");
	s = mk(RING_OP_READV, t.fd, iov, 4, 0, 6);
	expect_ret_msg(run_one(&ring, &s), 0, "READV of 4 empty iovecs");
	assert_int_equal(byte, 0x77);
	pread_exact(t.fd, back, 16, 0);
	for (i = 0; i < 16; i++)
		if (back[i])
			fail_msg("a zero-length write changed the file");

	/* 1024 iovecs of 1..7 bytes out, 1..15 bytes (other split) back. */
	for (i = 0; i < N; i++) {
		size_t l = 1 + rnd_below(&rng, 7);

		iov[i] = (struct iovec){ data + total, l };
		total += l;
	}
	rnd_fill(&rng, data, total);
	s = mk(RING_OP_WRITEV, t.fd, iov, N, 100, 7);
	expect_ret_msg(run_one(&ring, &s), total, "WRITEV of %d iovecs", N);
	pread_exact(t.fd, back, total, 100);
	if (memcmp(back, data, total))
		fail_msg("WRITEV of %d iovecs: file content differs", N);

	memset(back, 0xa5, 16 * N);
	for (i = 0, pos = 0; i < N; i++) {
		size_t l = 1 + rnd_below(&rng, 15);

		/* One byte gap between the pieces. */
		iov[i] = (struct iovec){ back + pos + i, l };
		pos += l;
	}
	/* The file is 16 KiB: all of it comes back, zeros after the data. */
	s = mk(RING_OP_READV, t.fd, iov, N, 100, 8);
	expect_ret_msg(run_one(&ring, &s), pos, "READV of %d iovecs", N);
	for (i = 0, pos = 0; i < N; i++) {
		const unsigned char *b = iov[i].iov_base;
		size_t l = iov[i].iov_len, j;

		for (j = 0; j < l; j++, pos++)
			if (b[j] != (pos < total ? data[pos] : 0))
				fail_msg("READV of %d iovecs: iovec %u byte %zu "
					 "is 0x%02x, expected 0x%02x", N, i, j,
					 b[j], pos < total ? data[pos] : 0);
		if (i && b[-1] != 0xa5)
			fail_msg("READV wrote into the gap before iovec %u", i);
	}
	expect_inflight0(&ring, "vectored edges");
	ring_queue_exit(&ring);
	free(iov);
	free(data);
	free(back);
	target_close(&t);
	expect_stats(&base, "vectored edges");
}

/*
 * rw_flags reach the file as preadv2/pwritev2 flags: RWF_DSYNC and
 * RWF_SYNC writes work, RWF_APPEND writes at the end whatever the offset.
 */
static void test_rw_flags(void **state)
{
	struct ring_stats base;
	struct target t;
	struct ring ring;
	struct ring_sqe s;
	unsigned char data[3000], back[3000];
	struct iovec iov[2] = { { data, 1000 }, { data + 1000, 2000 } };
	uint64_t rng;
	struct stat st;

	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_TMPFS, false, 0, 8192);
	rng = test_seed("rw_flags");
	rnd_fill(&rng, data, sizeof(data));
	ring_init_or_fail(&ring, 4);

	s = mk(RING_OP_WRITE, t.fd, data, 1000, 0, 1);
	s.rw_flags = RWF_DSYNC;
	expect_ret_msg(run_one(&ring, &s), 1000, "WRITE with RWF_DSYNC");
	s = mk(RING_OP_WRITEV, t.fd, iov, 2, 1000, 2);
	s.rw_flags = RWF_SYNC;
	expect_ret_msg(run_one(&ring, &s), 3000, "WRITEV with RWF_SYNC");
	pread_exact(t.fd, back, 1000, 0);
	assert_memory_equal(back, data, 1000);
	pread_exact(t.fd, back, 3000, 1000);
	assert_memory_equal(back, data, 3000);

	/* The file is 8192 bytes: RWF_APPEND puts this at 8192, not 0. */
	s = mk(RING_OP_WRITE, t.fd, data + 500, 700, 0, 3);
	s.rw_flags = RWF_APPEND;
	expect_ret_msg(run_one(&ring, &s), 700, "WRITE with RWF_APPEND");
	assert_int_equal(fstat(t.fd, &st), 0);
	expect_ret_msg(st.st_size, 8192 + 700, "file size after RWF_APPEND");
	pread_exact(t.fd, back, 700, 8192);
	assert_memory_equal(back, data + 500, 700);
	pread_exact(t.fd, back, 1000, 0);
	assert_memory_equal(back, data, 1000);
	s = mk(RING_OP_READ, t.fd, back, 700, 8192, 4);
	expect_ret(run_one(&ring, &s), 700);
	assert_memory_equal(back, data + 500, 700);

	expect_inflight0(&ring, "rw_flags");
	ring_queue_exit(&ring);
	target_close(&t);
	expect_stats(&base, "rw_flags");
}

/*
 * Completions that find the CQ ring full wait in the backlog (here they
 * come from null_blk's timer interrupt): 128 requests on a 32-entry CQ,
 * not reaped until all are done, give 96 overflows, then all 128 CQEs
 * exactly once with the right data.
 */
static void test_cq_overflow_io(void **state)
{
	enum { SQ = 32, N = 128, SZ = 32 << 10 };
	struct ring_params p = { .flags = RING_SETUP_CQSIZE, .cq_entries = SQ };
	struct ring_stats base;
	struct ring_cqe cqes[N];
	struct target t;
	struct ring ring;
	unsigned char *shadow, *bufs;
	bool seen[N] = { false };
	char msg[768];
	uint64_t rng;
	long long deadline;
	unsigned i;
	int ret;

	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_NULLB, true, 0, N * SZ);
	rng = test_seed("CQ overflow with I/O");
	shadow = xalloc(N * SZ);
	bufs = xalloc(N * SZ);
	target_fill(&t, shadow, &rng);
	ret = ring_queue_init_params(SQ, &ring, &p);
	if (ret)
		fail_msg("ring_queue_init_params(32, CQSIZE 32): %s", errstr(ret));
	assert_int_equal(p.cq_entries, SQ);

	for (i = 0; i < N; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&ring);

		assert_non_null(sqe);
		if (i % 2) {
			ring_prep_read(sqe, t.fd, bufs + i * SZ, SZ, i * SZ);
		} else {
			rnd_fill(&rng, bufs + i * SZ, SZ);
			memcpy(shadow + i * SZ, bufs + i * SZ, SZ);
			ring_prep_write(sqe, t.fd, bufs + i * SZ, SZ, i * SZ);
		}
		ring_sqe_set_data64(sqe, i);
		if (i % SQ == SQ - 1)
			expect_ret(ring_submit(&ring), SQ);
	}
	/* Let everything complete before reaping anything. */
	deadline = now_ns() + io_timeout_ms() * 1000000LL;
	while (fdinfo_get(ring.ring_fd, "Inflight") != 0) {
		if (now_ns() > deadline)
			fail_msg("Inflight still %lld", fdinfo_get(ring.ring_fd,
								   "Inflight"));
		sleep_ms(5);
	}
	assert_true(ring_cq_has_overflow(&ring));
	expect_ret_msg(*ring.cq.koverflow, N - SQ, "CQ overflow counter");
	expect_ret_msg(fdinfo_get(ring.ring_fd, "CqBacklog"), N - SQ,
		       "fdinfo CqBacklog");

	ret = reap(&ring, cqes, N, io_timeout_ms());
	expect_ret_msg(ret, N, "CQEs reaped after the overflow");
	for (i = 0; i < N; i++) {
		unsigned ud = (unsigned)cqes[i].user_data;

		if (ud >= N || seen[ud])
			fail_msg("CQE %u: user_data %u unknown or repeated", i, ud);
		seen[ud] = true;
		expect_ret_msg(cqes[i].res, SZ, "request %u", ud);
		if (ud % 2 && memcmp(bufs + ud * SZ, shadow + ud * SZ, SZ))
			fail_msg("read %u returned other data", ud);
	}
	assert_false(ring_cq_has_overflow(&ring));
	expect_ret(fdinfo_get(ring.ring_fd, "CqBacklog"), 0);
	if (target_verify(&t, shadow, msg, sizeof(msg)))
		fail_msg("%s", msg);
	expect_inflight0(&ring, "CQ overflow with I/O");
	ring_queue_exit(&ring);
	free(shadow);
	free(bufs);
	target_close(&t);
	expect_stats(&base, "CQ overflow with I/O");
}

/*
 * Requests much larger than one bio or page: an 8 MiB WRITE and READ, and
 * WRITEV/READV of 256 iovecs of 32 KiB in shuffled memory order.
 */
static void large_io(enum tgt_kind kind, bool direct)
{
	enum { SIZE = 8 << 20, SEG = 32 << 10, NSEG = SIZE / SEG };
	struct ring_stats base;
	struct target t;
	struct ring ring;
	struct ring_sqe s;
	struct iovec *iov = calloc(NSEG, sizeof(*iov));
	unsigned char *data, *back;
	unsigned perm[NSEG], i;
	uint64_t rng;

	require_ring();
	assert_non_null(iov);
	stats_baseline(&base);
	target_open(&t, kind, direct, 0, SIZE);
	rng = test_seed(t.name);
	data = xalloc(SIZE);
	back = xalloc(SIZE);
	rnd_fill(&rng, data, SIZE);
	ring_init_or_fail(&ring, 4);

	s = mk(RING_OP_WRITE, t.fd, data, SIZE, 0, 1);
	expect_ret_msg(run_one(&ring, &s), SIZE, "%s: 8 MiB WRITE", t.name);
	s = mk(RING_OP_READ, t.fd, back, SIZE, 0, 2);
	expect_ret_msg(run_one(&ring, &s), SIZE, "%s: 8 MiB READ", t.name);
	if (memcmp(back, data, SIZE))
		fail_msg("%s: 8 MiB READ returned other data", t.name);

	/* File segment i comes from / goes to memory segment perm[i]. */
	for (i = 0; i < NSEG; i++)
		perm[i] = i;
	for (i = NSEG - 1; i > 0; i--) {
		unsigned j = rnd_below(&rng, i + 1), x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	rnd_fill(&rng, data, SIZE);
	for (i = 0; i < NSEG; i++)
		iov[i] = (struct iovec){ data + perm[i] * SEG, SEG };
	s = mk(RING_OP_WRITEV, t.fd, iov, NSEG, 0, 3);
	expect_ret_msg(run_one(&ring, &s), SIZE, "%s: WRITEV of %d x 32 KiB",
		       t.name, NSEG);
	pread_exact(t.fd, back, SIZE, 0);
	for (i = 0; i < NSEG; i++)
		if (memcmp(back + i * SEG, data + perm[i] * SEG, SEG))
			fail_msg("%s: WRITEV segment %u landed wrong", t.name, i);
	memset(back, 0, SIZE);
	for (i = 0; i < NSEG; i++)
		iov[i] = (struct iovec){ back + perm[i] * SEG, SEG };
	s = mk(RING_OP_READV, t.fd, iov, NSEG, 0, 4);
	expect_ret_msg(run_one(&ring, &s), SIZE, "%s: READV of %d x 32 KiB",
		       t.name, NSEG);
	if (memcmp(back, data, SIZE))
		fail_msg("%s: READV scattered other data", t.name);

	expect_inflight0(&ring, t.name);
	ring_queue_exit(&ring);
	free(iov);
	free(data);
	free(back);
	target_close(&t);
	expect_stats(&base, t.name);
}

static void test_large_io_tmpfs(void **state)
{
	large_io(TGT_TMPFS, false);
}

static void test_large_io_nullb_direct(void **state)
{
	large_io(TGT_NULLB, true);
}

/*
 * Character devices: /dev/zero reads zeros, /dev/null swallows writes and
 * reads 0, through READ and READV alike.
 */
static void test_char_devices(void **state)
{
	struct ring_stats base;
	struct ring ring;
	struct ring_sqe s;
	unsigned char buf[3000];
	struct iovec iov[2] = { { buf, 1000 }, { buf + 1500, 1500 } };
	int zero, null;
	unsigned i;

	require_ring();
	stats_baseline(&base);
	zero = open("/dev/zero", O_RDWR | O_CLOEXEC);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(zero >= 0 && null >= 0);
	ring_init_or_fail(&ring, 4);
	memset(buf, 0xa5, sizeof(buf));
	s = mk(RING_OP_READ, zero, buf, 2000, 0, 1);
	expect_ret_msg(run_one(&ring, &s), 2000, "READ of /dev/zero");
	for (i = 0; i < sizeof(buf); i++)
		if (buf[i] != (i < 2000 ? 0 : 0xa5))
			fail_msg("READ of 2000 from /dev/zero: byte %u is 0x%02x",
				 i, buf[i]);
	memset(buf, 0xa5, sizeof(buf));
	s = mk(RING_OP_READV, zero, iov, 2, RING_OFF_CURRENT, 2);
	expect_ret_msg(run_one(&ring, &s), 2500, "READV of /dev/zero");
	for (i = 0; i < sizeof(buf); i++)
		if (buf[i] != (i < 1000 || i >= 1500 ? 0 : 0xa5))
			fail_msg("READV of /dev/zero: byte %u is 0x%02x", i,
				 buf[i]);
	s = mk(RING_OP_WRITE, null, buf, 3000, 0, 3);
	expect_ret_msg(run_one(&ring, &s), 3000, "WRITE to /dev/null");
	s = mk(RING_OP_WRITEV, null, iov, 2, 0, 4);
	expect_ret_msg(run_one(&ring, &s), 2500, "WRITEV to /dev/null");
	s = mk(RING_OP_READ, null, buf, 3000, 0, 5);
	expect_ret_msg(run_one(&ring, &s), 0, "READ of /dev/null");
	expect_inflight0(&ring, "character devices");
	ring_queue_exit(&ring);
	close(zero);
	close(null);
	expect_stats(&base, "character devices");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_integrity_tmpfs),
	cmocka_unit_test(test_integrity_ext4),
	cmocka_unit_test(test_integrity_ext4_direct),
	cmocka_unit_test(test_integrity_nullb),
	cmocka_unit_test(test_integrity_nullb_direct),
	cmocka_unit_test(test_integrity_brd),
	cmocka_unit_test(test_integrity_brd_direct),
	cmocka_unit_test(test_pos_current_tmpfs),
	cmocka_unit_test(test_pos_current_ext4),
	cmocka_unit_test(test_pos_current_ext4_direct),
	cmocka_unit_test(test_iovec_copied_tmpfs),
	cmocka_unit_test(test_iovec_copied_ext4),
	cmocka_unit_test(test_iovec_copied_nullb_direct),
	cmocka_unit_test(test_eof_tmpfs),
	cmocka_unit_test(test_eof_ext4_direct),
	cmocka_unit_test(test_eof_brd),
	cmocka_unit_test(test_eof_brd_direct),
	cmocka_unit_test(test_fsync_tmpfs),
	cmocka_unit_test(test_fsync_ext4),
	cmocka_unit_test(test_vectored_edges),
	cmocka_unit_test(test_rw_flags),
	cmocka_unit_test(test_cq_overflow_io),
	cmocka_unit_test(test_large_io_tmpfs),
	cmocka_unit_test(test_large_io_nullb_direct),
	cmocka_unit_test(test_char_devices),
};

VMTEST_MAIN(tests)
