// SPDX-License-Identifier: MIT
/*
 * An io_uring application as any other: compiled against the system's
 * <liburing.h> (Debian's liburing-dev 2.3) and linked with -luring, so its
 * inline helpers and calls are liburing's.  tests/vm/test_uring_compat
 * runs it with LD_LIBRARY_PATH at the drop-in (build/lib/compat).
 *
 *   uring-app SCENARIO     nop | rw | fixed | buffers2 | probe | timeout |
 *                          ring-fd | sqpoll | refused | all (all but
 *                          buffers2)
 *
 * Each scenario first checks that the liburing.so.2 loaded is the one named
 * by $RING_TEST_DROPIN and that its rings are /dev/ring files.  Exit 0: it
 * passed; 1: it failed (the reason on stdout); 77: it cannot run here.
 */
#include <liburing.h>

#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failed;

#define CHECK(cond, fmt, ...) do {					\
	if (!(cond)) {							\
		printf("# %s:%d: %s: " fmt "\n", __func__, __LINE__,	\
		       #cond, ##__VA_ARGS__);				\
		failed = 1;						\
		return;							\
	}								\
} while (0)
#define CHECK_RET(expr, want) do {					\
	long __r = (long)(expr), __w = (long)(want);			\
	CHECK(__r == __w, "got %ld (%s), want %ld", __r,		\
	      __r < 0 ? strerror((int)-__r) : "-", __w);		\
} while (0)

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The drop-in, and no other liburing.so.2, is mapped into this process. */
static void check_dropin(void)
{
	const char *want = getenv("RING_TEST_DROPIN");
	char line[PATH_MAX + 128], real[PATH_MAX];
	int found = 0;
	FILE *f;

	CHECK(want && realpath(want, real), "RING_TEST_DROPIN '%s'",
	      want ? want : "(unset)");
	f = fopen("/proc/self/maps", "r");
	CHECK(f, "no /proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');

		if (!path || !strstr(path, "liburing.so"))
			continue;
		path[strcspn(path, "\n")] = 0;
		CHECK(!strcmp(path, real), "liburing mapped from %s, not %s",
		      path, real);
		found = 1;
	}
	fclose(f);
	CHECK(found, "no liburing.so mapped at all");
}

/* The ring's fd is a /dev/ring file, not an io_uring instance. */
static void check_is_ring(const struct io_uring *ring)
{
	char link[64], target[PATH_MAX];
	const char *dev = getenv("RING_DEV");
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", ring->ring_fd);
	n = readlink(link, target, sizeof(target) - 1);
	CHECK(n > 0, "readlink %s", link);
	target[n] = 0;
	CHECK(!strcmp(target, dev && *dev ? dev : "/dev/ring"),
	      "the ring fd is %s", target);
}

static int init(struct io_uring *ring, unsigned entries)
{
	int ret = io_uring_queue_init(entries, ring, 0);

	if (ret) {
		printf("# io_uring_queue_init: %s\n", strerror(-ret));
		failed = 1;
		return ret;
	}
	check_is_ring(ring);
	return failed ? -1 : 0;
}

/* An unlinked file in /tmp, or -1. */
static int temp_file(void)
{
	char path[] = "/tmp/uring-app-XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

/* Submits what is queued and reaps one CQE with this user_data. */
static void reap(struct io_uring *ring, __u64 user_data, int want_res)
{
	struct io_uring_cqe *cqe;

	CHECK_RET(io_uring_wait_cqe(ring, &cqe), 0);
	CHECK(cqe->user_data == user_data, "user_data %llu, want %llu",
	      (unsigned long long)cqe->user_data,
	      (unsigned long long)user_data);
	CHECK_RET(cqe->res, want_res);
	io_uring_cqe_seen(ring, cqe);
}

/*
 * Reaps two CQEs of independent requests, in whichever order they come
 * (io_uring orders only linked ones): each user_data once, with its res.
 */
static void reap_two(struct io_uring *ring, __u64 ud_a, int res_a, __u64 ud_b,
		     int res_b)
{
	struct io_uring_cqe *cqe;
	bool seen_a = false, seen_b = false;
	int i;

	for (i = 0; i < 2; i++) {
		CHECK_RET(io_uring_wait_cqe(ring, &cqe), 0);
		if (cqe->user_data == ud_a && !seen_a) {
			seen_a = true;
			CHECK_RET(cqe->res, res_a);
		} else if (cqe->user_data == ud_b && !seen_b) {
			seen_b = true;
			CHECK_RET(cqe->res, res_b);
		} else {
			CHECK(false, "user_data %llu, want %llu or %llu",
			      (unsigned long long)cqe->user_data,
			      (unsigned long long)ud_a,
			      (unsigned long long)ud_b);
		}
		io_uring_cqe_seen(ring, cqe);
	}
}

static void scenario_nop(void)
{
	struct io_uring_cqe *cqes[16], *cqe;
	struct io_uring ring;
	struct io_uring_sqe *s;
	unsigned i;

	if (init(&ring, 8))
		return;
	CHECK_RET(io_uring_peek_cqe(&ring, &cqe), -EAGAIN);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_nop(s);
	io_uring_sqe_set_data64(s, 42);
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 42, 0);

	/* A full SQ ring, in one submit_and_wait, reaped in a batch. */
	for (i = 0; i < 8; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		CHECK(sqe, "SQE %u of 8", i);
		io_uring_prep_nop(sqe);
		sqe->user_data = 100 + i;
	}
	CHECK(!io_uring_get_sqe(&ring), "a ninth SQE in an 8-entry ring");
	CHECK_RET(io_uring_submit_and_wait(&ring, 8), 8);
	CHECK_RET(io_uring_peek_batch_cqe(&ring, cqes, 16), 8);
	for (i = 0; i < 8; i++)
		CHECK(cqes[i]->user_data == 100 + i && cqes[i]->res == 0,
		      "CQE %u", i);
	io_uring_cq_advance(&ring, 8);
	CHECK_RET(io_uring_cq_ready(&ring), 0);
	io_uring_queue_exit(&ring);
}

static void scenario_rw(void)
{
	char out[8192], in[8192], in2[4096];
	struct iovec iov[2] = { { in, 4096 }, { in2, 4096 } };
	struct io_uring ring;
	struct io_uring_sqe *s;
	int fd;

	fd = temp_file();
	CHECK(fd >= 0, "no file in /tmp");
	if (init(&ring, 8))
		return;
	for (unsigned i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7 + 1);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_write(s, fd, out, sizeof(out), 0);
	s->user_data = 1;
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 1, sizeof(out));
	s = io_uring_get_sqe(&ring);
	io_uring_prep_fsync(s, fd, IORING_FSYNC_DATASYNC);
	s->user_data = 2;
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 2, 0);

	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, fd, in, 4096, 4096);
	s->user_data = 3;
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 3, 4096);
	CHECK(!memcmp(in, out + 4096, 4096), "read back the second page");

	s = io_uring_get_sqe(&ring);
	io_uring_prep_readv(s, fd, iov, 2, 0);
	s->user_data = 4;
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 4, 8192);
	CHECK(!memcmp(in, out, 4096) && !memcmp(in2, out + 4096, 4096),
	      "readv");
	io_uring_queue_exit(&ring);
	close(fd);
}

static void scenario_fixed(void)
{
	static char bufs[2][4096] __attribute__((aligned(4096)));
	struct iovec iov[2] = { { bufs[0], 4096 }, { bufs[1], 4096 } };
	struct io_uring ring;
	struct io_uring_sqe *s;
	int fd;

	fd = temp_file();
	CHECK(fd >= 0, "no file in /tmp");
	if (init(&ring, 4))
		return;
	CHECK_RET(io_uring_register_buffers(&ring, iov, 2), 0);
	memset(bufs[0], 0x5a, 4096);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_write_fixed(s, fd, bufs[0], 4096, 0, 0);
	s->user_data = 1;
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 1, 4096);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read_fixed(s, fd, bufs[1], 4096, 0, 1);
	s->user_data = 2;
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 2, 4096);
	CHECK(!memcmp(bufs[0], bufs[1], 4096), "READ_FIXED read it back");
	/* Outside the slot's buffer. */
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read_fixed(s, fd, bufs[0], 4096, 0, 1);
	s->user_data = 3;
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 3, -EFAULT);
	CHECK_RET(io_uring_unregister_buffers(&ring), 0);
	CHECK_RET(io_uring_unregister_buffers(&ring), -ENXIO);
	io_uring_queue_exit(&ring);
	close(fd);
}

/* REGISTER_BUFFERS2 / BUFFERS_UPDATE with tags (kernel side: BUFFERS2). */
static void scenario_buffers2(void)
{
	static char buf[4096] __attribute__((aligned(4096)));
	struct iovec iov = { buf, sizeof(buf) };
	__u64 tag = 0x7a6;
	struct io_uring ring;
	struct io_uring_sqe *s;
	int fd;

	fd = temp_file();
	CHECK(fd >= 0, "no file in /tmp");
	CHECK(pwrite(fd, "tagged", 6, 0) == 6, "pwrite");
	if (init(&ring, 4))
		return;
	CHECK_RET(io_uring_register_buffers_sparse(&ring, 4), 0);
	CHECK_RET(io_uring_register_buffers_update_tag(&ring, 2, &iov, &tag,
						       1), 1);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read_fixed(s, fd, buf, 6, 0, 2);
	s->user_data = 1;
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 1, 6);
	CHECK(!memcmp(buf, "tagged", 6), "READ_FIXED into a sparse slot");
	/* Unregistering posts the tag once nothing uses the buffer. */
	CHECK_RET(io_uring_unregister_buffers(&ring), 0);
	reap(&ring, tag, 0);
	io_uring_queue_exit(&ring);
	close(fd);
}

/*
 * Registered files (kernel side: FILES2, FILES_UPDATE2, UNREGISTER_FILES
 * 256) and IOSQE_FIXED_FILE, through each liburing call.
 */
static void scenario_files(void)
{
	struct io_uring ring;
	struct io_uring_sqe *s;
	__u64 tag = 0xf11e;
	char buf[8] = "";
	int p[2], fds[2];

	CHECK(!pipe(p), "pipe");
	if (init(&ring, 4))
		return;
	fds[0] = p[0];
	fds[1] = p[1];
	CHECK_RET(io_uring_register_files(&ring, fds, 2), 0);
	CHECK_RET(io_uring_register_files(&ring, fds, 2), -EBUSY);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_write(s, 1, "abc", 3, 0);
	s->flags |= IOSQE_FIXED_FILE;
	s->user_data = 1;
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, 0, buf, sizeof(buf), 0);
	s->flags |= IOSQE_FIXED_FILE;
	s->user_data = 2;
	CHECK_RET(io_uring_submit(&ring), 2);
	/* The read may end first: a worker's write wakes it before its CQE. */
	reap_two(&ring, 1, 3, 2, 3);
	CHECK(!memcmp(buf, "abc", 3), "READ through slot 0");
	fds[0] = -1;
	CHECK_RET(io_uring_register_files_update(&ring, 0, fds, 1), 1);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, 0, buf, sizeof(buf), 0);
	s->flags |= IOSQE_FIXED_FILE;
	s->user_data = 3;
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 3, -EBADF);
	CHECK_RET(io_uring_unregister_files(&ring), 0);
	CHECK_RET(io_uring_unregister_files(&ring), -ENXIO);
	/* Sparse, a tagged slot, its tag when it goes. */
	CHECK_RET(io_uring_register_files_sparse(&ring, 4), 0);
	CHECK_RET(io_uring_register_files_update_tag(&ring, 2, &p[1], &tag, 1),
		  1);
	CHECK_RET(io_uring_register_files_tags(&ring, fds, NULL, 1), -EBUSY);
	CHECK_RET(io_uring_unregister_files(&ring), 0);
	reap(&ring, tag, 0);
	io_uring_queue_exit(&ring);
	close(p[0]);
	close(p[1]);
}

static void scenario_probe(void)
{
	static const int have[] = {
		IORING_OP_NOP, IORING_OP_READV, IORING_OP_WRITEV,
		IORING_OP_FSYNC, IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED,
		IORING_OP_READ, IORING_OP_WRITE,
	};
	struct io_uring_probe *probe = io_uring_get_probe();
	unsigned i;

	CHECK(probe, "io_uring_get_probe() failed");
	for (i = 0; i < sizeof(have) / sizeof(have[0]); i++)
		CHECK(io_uring_opcode_supported(probe, have[i]),
		      "opcode %d not supported", have[i]);
	/* What ring does not have is not claimed. */
	CHECK(!io_uring_opcode_supported(probe, IORING_OP_TIMEOUT), "TIMEOUT");
	CHECK(!io_uring_opcode_supported(probe, IORING_OP_POLL_ADD), "POLL");
	io_uring_free_probe(probe);
}

static void scenario_timeout(void)
{
	struct __kernel_timespec ts = { .tv_nsec = 100 * 1000 * 1000 };
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct io_uring_sqe *s;
	sigset_t mask;
	long long t0;

	if (init(&ring, 4))
		return;
	CHECK(ring.features & IORING_FEAT_EXT_ARG, "no IORING_FEAT_EXT_ARG");
	/* Nothing to wait for: -ETIME after the timeout, not before. */
	t0 = now_ms();
	CHECK_RET(io_uring_wait_cqe_timeout(&ring, &cqe, &ts), -ETIME);
	CHECK(now_ms() - t0 >= 90, "returned after %lld ms",
	      now_ms() - t0);

	/* Something ready: no waiting. */
	s = io_uring_get_sqe(&ring);
	io_uring_prep_nop(s);
	s->user_data = 7;
	CHECK_RET(io_uring_submit(&ring), 1);
	CHECK_RET(io_uring_wait_cqe_timeout(&ring, &cqe, &ts), 0);
	CHECK(cqe->user_data == 7, "user_data");
	io_uring_cqe_seen(&ring, cqe);

	/* Submit and wait in one: the number submitted (2.3's man page). */
	sigemptyset(&mask);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_nop(s);
	s->user_data = 8;
	CHECK_RET(io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts,
						   &mask), 1);
	CHECK(cqe->user_data == 8, "user_data");
	io_uring_cqe_seen(&ring, cqe);
	CHECK_RET(io_uring_wait_cqes(&ring, &cqe, 1, &ts, &mask), -ETIME);
	io_uring_queue_exit(&ring);
}

static void scenario_ring_fd(void)
{
	struct io_uring ring;
	struct io_uring_sqe *s;

	if (init(&ring, 4))
		return;
	CHECK_RET(io_uring_register_ring_fd(&ring), 1);
	CHECK(ring.enter_ring_fd >= 0 && ring.enter_ring_fd < 16,
	      "enter_ring_fd %d", ring.enter_ring_fd);
	s = io_uring_get_sqe(&ring);
	io_uring_prep_nop(s);
	s->user_data = 5;
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 5, 0);
	CHECK_RET(io_uring_unregister_ring_fd(&ring), 1);
	CHECK(ring.enter_ring_fd == ring.ring_fd, "enter_ring_fd restored");
	/* Registered at exit: queue_exit frees the slot itself. */
	CHECK_RET(io_uring_register_ring_fd(&ring), 1);
	io_uring_queue_exit(&ring);
}

/* Waits up to 10 s for @cond (re-read each ms): false if it never held. */
#define SPIN_UNTIL(cond) ({						\
	long long __end = now_ms() + 10000;				\
	while (!(cond) && now_ms() < __end)				\
		usleep(1000);						\
	(bool)(cond);							\
})

/*
 * An SQPOLL ring through the drop-in, as liburing 2.3 drives one: the
 * thread consumes what io_uring_submit publishes with no further call;
 * once it sleeps (NEED_WAKEUP after sq_thread_idle), io_uring_submit wakes
 * it with IORING_ENTER_SQ_WAKEUP.  SQEs name the registered file; a plain
 * fd completes with -EBADF (no IORING_FEAT_SQPOLL_NONFIXED).
 */
static void scenario_sqpoll(void)
{
	struct io_uring_params p = {
		.flags		= IORING_SETUP_SQPOLL,
		.sq_thread_idle	= 50,
	};
	char out[4096], in[4096];
	struct io_uring ring;
	struct io_uring_sqe *s;
	unsigned i;
	int fd;

	fd = temp_file();
	CHECK(fd >= 0, "no file in /tmp");
	memset(out, 'q', sizeof(out));
	CHECK(pwrite(fd, out, sizeof(out), 0) == sizeof(out), "pwrite");
	CHECK_RET(io_uring_queue_init_params(8, &ring, &p), 0);
	check_is_ring(&ring);
	CHECK(!(p.features & IORING_FEAT_SQPOLL_NONFIXED),
	      "ring claims SQPOLL_NONFIXED");
	CHECK_RET(io_uring_register_files(&ring, &fd, 1), 0);

	/* Published, then taken by the thread with no call from us. */
	for (i = 0; i < 4; i++) {
		s = io_uring_get_sqe(&ring);
		io_uring_prep_nop(s);
		s->user_data = 10 + i;
	}
	CHECK(io_uring_submit(&ring) >= 0, "submit");
	CHECK(SPIN_UNTIL(io_uring_cq_ready(&ring) == 4),
	      "the thread completed %u of 4 NOPs", io_uring_cq_ready(&ring));
	CHECK_RET(io_uring_sq_ready(&ring), 0);
	for (i = 0; i < 4; i++)
		reap(&ring, 10 + i, 0);

	/* Idle: it sleeps and says so; the next submit must wake it. */
	CHECK(SPIN_UNTIL(IO_URING_READ_ONCE(*ring.sq.kflags) &
			 IORING_SQ_NEED_WAKEUP), "NEED_WAKEUP never set");
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, 0, in, sizeof(in), 0);
	io_uring_sqe_set_flags(s, IOSQE_FIXED_FILE);
	s->user_data = 20;
	CHECK(io_uring_submit(&ring) >= 0, "submit after NEED_WAKEUP");
	CHECK(SPIN_UNTIL(io_uring_cq_ready(&ring) == 1),
	      "the sleeping thread was not woken");
	reap(&ring, 20, sizeof(in));
	CHECK(!memcmp(in, out, sizeof(in)), "read through the SQ thread");

	/* A plain fd: what io_uring before 5.11 says. */
	s = io_uring_get_sqe(&ring);
	io_uring_prep_read(s, fd, in, sizeof(in), 0);
	s->user_data = 21;
	CHECK(io_uring_submit(&ring) >= 0, "submit");
	reap(&ring, 21, -EBADF);

	/* Room in the SQ: no wait. */
	CHECK_RET(io_uring_sqring_wait(&ring), 0);
	io_uring_queue_exit(&ring);
	close(fd);
}

/* What ring lacks fails as on a kernel without it, never pretends. */
static void scenario_refused(void)
{
	struct io_uring_buf_reg br = { .ring_entries = 1 };
	struct io_uring_sync_cancel_reg sc = { 0 };
	struct io_uring ring;
	struct io_uring_sqe *s;
	cpu_set_t cpus;
	int fds[1] = { 0 };

	if (init(&ring, 4))
		return;
	CPU_ZERO(&cpus);
	CHECK_RET(io_uring_register_eventfd(&ring, fds[0]), -EINVAL);
	CHECK_RET(io_uring_register_eventfd_async(&ring, 0), -EINVAL);
	CHECK_RET(io_uring_unregister_eventfd(&ring), -EINVAL);
	CHECK_RET(io_uring_register_personality(&ring), -EINVAL);
	CHECK_RET(io_uring_register_iowq_aff(&ring, sizeof(cpus), &cpus),
		  -EINVAL);
	CHECK_RET(io_uring_register_buf_ring(&ring, &br, 0), -EINVAL);
	CHECK_RET(io_uring_register_sync_cancel(&ring, &sc), -EINVAL);
	CHECK_RET(io_uring_register_file_alloc_range(&ring, 0, 1), -EINVAL);
	/* An opcode ring does not have: a CQE with -EINVAL. */
	s = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(s, 0, POLLIN);
	s->user_data = 9;
	CHECK_RET(io_uring_submit(&ring), 1);
	reap(&ring, 9, -EINVAL);
	/* No ring memory is charged to RLIMIT_MEMLOCK. */
	CHECK_RET(io_uring_mlock_size(64, 0), 0);
	/* No sharing of another ring's workers or SQ thread. */
	{
		struct io_uring_params p = {
			.flags	= IORING_SETUP_SQPOLL | IORING_SETUP_ATTACH_WQ,
			.wq_fd	= (__u32)ring.ring_fd,
		};
		struct io_uring other;

		CHECK_RET(io_uring_queue_init_params(4, &other, &p), -EINVAL);
	}
	io_uring_queue_exit(&ring);
}

static const struct {
	const char *name;
	void (*fn)(void);
	bool in_all;
} scenarios[] = {
	{ "nop", scenario_nop, true },
	{ "rw", scenario_rw, true },
	{ "fixed", scenario_fixed, true },
	{ "buffers2", scenario_buffers2, false },
	{ "files", scenario_files, true },
	{ "probe", scenario_probe, true },
	{ "timeout", scenario_timeout, true },
	{ "ring-fd", scenario_ring_fd, true },
	{ "sqpoll", scenario_sqpoll, true },
	{ "refused", scenario_refused, true },
};

int main(int argc, char **argv)
{
	bool all = argc == 2 && !strcmp(argv[1], "all");
	unsigned i, ran = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: uring-app SCENARIO|all\n");
		return 2;
	}
	check_dropin();
	if (failed)
		return 1;
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (all ? !scenarios[i].in_all : strcmp(argv[1],
							scenarios[i].name))
			continue;
		scenarios[i].fn();
		printf("# %s: %s\n", scenarios[i].name,
		       failed ? "FAILED" : "ok");
		if (failed)
			return 1;
		ran++;
	}
	if (!ran) {
		fprintf(stderr, "uring-app: no scenario '%s'\n", argv[1]);
		return 2;
	}
	return 0;
}
