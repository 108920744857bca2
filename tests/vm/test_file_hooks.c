// SPDX-License-Identifier: MIT
/*
 * A read or write through the ring passes the hooks read(2) and write(2)
 * pass, whichever context issues or ends it: the submitter, a worker
 * (IOSQE_ASYNC), the SQPOLL thread, the device's completion (O_DIRECT),
 * with a registered buffer or a registered file.
 *
 * 1. Permission (test_fanotify_denies*): rw_verify_area() before each
 *    attempt, which calls the LSM's file_permission hook and raises
 *    fanotify's FAN_ACCESS_PERM.  An administrator's listener (an
 *    on-access scanner, a storage manager) must see each read and be
 *    obeyed.  The listener is a thread of this process holding a
 *    FAN_CLASS_CONTENT group (CAP_SYS_ADMIN: the VM runs tests as root;
 *    elsewhere, or on a kernel without fanotify, the test says SKIP).  A
 *    denied read ends with -EPERM, its buffer untouched, after exactly one
 *    event; an allowed one returns the file's bytes.
 * 2. Notification (test_inotify_*): once bytes moved, fsnotify's access
 *    or modify event (inotify IN_ACCESS/IN_MODIFY), before the CQE; none
 *    for a read at end of file or a failed request, as read(2).
 * 3. Freeze protection (test_frozen_fs_write): a write attempt that must
 *    not wait does not wait for a frozen filesystem either.
 *
 * The module before rw_verify_area() and fsnotify were called fails each.
 */
#include "iotest.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#define FILE_SIZE	8192
#define LEN		100
#define OFF		1000

struct listener {
	int fan;
	int stop[2];
	pthread_t thread;
	atomic_int verdict;	/* FAN_ALLOW or FAN_DENY */
	atomic_int events;	/* FAN_ACCESS_PERM events answered */
};

static void *listen_fn(void *arg)
{
	struct listener *l = arg;
	char buf[4096] __attribute__((aligned(8)));

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = l->fan, .events = POLLIN },
			{ .fd = l->stop[0], .events = POLLIN },
		};
		struct fanotify_event_metadata *md;
		ssize_t n;

		if (poll(pfd, 2, -1) < 0 || pfd[1].revents)
			return NULL;
		n = read(l->fan, buf, sizeof(buf));
		if (n <= 0)
			continue;
		md = (struct fanotify_event_metadata *)buf;
		for (; FAN_EVENT_OK(md, n); md = FAN_EVENT_NEXT(md, n)) {
			struct fanotify_response r = {
				.fd = md->fd,
				.response = atomic_load(&l->verdict),
			};

			if (md->mask & FAN_ACCESS_PERM) {
				/* Counted first: the reader wakes once answered. */
				atomic_fetch_add(&l->events, 1);
				if (write(l->fan, &r, sizeof(r)) != sizeof(r))
					return NULL;
			}
			if (md->fd >= 0)
				close(md->fd);
		}
	}
}

struct fixture {
	struct ring_stats base;
	struct target t;
	struct listener l;
	int fd;			/* opened after the mark */
	unsigned char content[FILE_SIZE];
	unsigned char *buf;
};

static void fx_init(struct fixture *f, const char *what)
{
	uint64_t rng;

	require_ring();
	memset(f, 0, sizeof(*f));
	stats_baseline(&f->base);
	target_open(&f->t, TGT_TMPFS, false, 0, FILE_SIZE);
	rng = test_seed(what);
	target_fill(&f->t, f->content, &rng);
	f->buf = xalloc(4096);

	f->l.fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC,
				 O_RDONLY | O_LARGEFILE);
	if (f->l.fan < 0) {
		int err = errno;

		target_close(&f->t);
		free(f->buf);
		print_message("# SKIP: fanotify_init(FAN_CLASS_CONTENT): %s\n",
			      strerror(err));
		skip();
	}
	if (fanotify_mark(f->l.fan, FAN_MARK_ADD, FAN_ACCESS_PERM, AT_FDCWD,
			  f->t.path))
		fail_msg("fanotify_mark(FAN_ACCESS_PERM, %s): %s", f->t.path,
			 strerror(errno));
	/*
	 * Opened now: Debian's 6.12 raises no permission event on a file
	 * opened while its sb had no permission watch (FMODE_NONOTIFY_PERM).
	 */
	f->fd = target_reopen(&f->t, O_RDONLY);
	if (f->fd < 0)
		fail_msg("reopen %s: %s", f->t.path, strerror(-f->fd));
	if (pipe(f->l.stop))
		fail_msg("pipe: %s", strerror(errno));
	atomic_store(&f->l.verdict, FAN_DENY);
	if (pthread_create(&f->l.thread, NULL, listen_fn, &f->l))
		fail_msg("pthread_create failed");
}

static void fx_exit(struct fixture *f, const char *what)
{
	if (write(f->l.stop[1], "x", 1) != 1)
		fail_msg("stop the listener: %s", strerror(errno));
	pthread_join(f->l.thread, NULL);
	close(f->l.stop[0]);
	close(f->l.stop[1]);
	close(f->l.fan);
	close(f->fd);
	target_close(&f->t);
	free(f->buf);
	expect_stats(&f->base, what);
}

/*
 * One read of LEN bytes at OFF as @tmpl describes, under @verdict: a
 * denied one fails with -EPERM after one event and leaves the buffer as
 * it was; an allowed one returns the bytes.
 */
static void check_read(struct fixture *f, struct ring *ring,
		       const struct ring_sqe *tmpl, int verdict,
		       const char *what)
{
	int before = atomic_load(&f->l.events);
	int res, seen;

	memset(f->buf, 0x5a, 4096);
	atomic_store(&f->l.verdict, verdict);
	res = run_one(ring, tmpl);
	seen = atomic_load(&f->l.events) - before;
	if (verdict == FAN_DENY) {
		unsigned i;

		if (res != -EPERM)
			fail_msg("%s, denied: res %d (%s), expected -EPERM "
				 "(%d listener events)", what, res, errstr(res),
				 seen);
		if (seen != 1)
			fail_msg("%s, denied: %d listener events, expected 1",
				 what, seen);
		for (i = 0; i < 4096; i++)
			if (f->buf[i] != 0x5a)
				fail_msg("%s, denied: buffer byte %u changed",
					 what, i);
	} else {
		if (res != LEN)
			fail_msg("%s, allowed: res %d (%s), expected %d", what,
				 res, errstr(res), LEN);
		if (seen < 1)
			fail_msg("%s, allowed: the listener saw no event", what);
		if (memcmp(f->buf, f->content + OFF, LEN))
			fail_msg("%s, allowed: wrong bytes", what);
	}
	expect_inflight0(ring, what);
}

/* @buf as registered buffer 0, @fd as registered file 0. */
static void register_both(struct ring *ring, int fd, void *buf, size_t len)
{
	struct iovec reg = { buf, len };

	if (ring_register_buffers(ring, &reg, 1))
		fail_msg("register buffer failed");
	if (ring_register_files(ring, &fd, 1))
		fail_msg("register file failed");
}

/* An SQPOLL ring that goes idle soon (a test waits on it often). */
static void sqpoll_ring(struct ring *ring)
{
	struct ring_params p = { .flags = RING_SETUP_SQPOLL,
				 .sq_thread_idle = 50 };
	int ret = ring_queue_init_params(8, ring, &p);

	if (ret)
		fail_msg("SQPOLL ring: %s", errstr(ret));
}

/*
 * Each way of issuing a read, denied then allowed: READ, READ in a worker,
 * READV, READ_FIXED, by fd (not on SQPOLL rings: their thread has no file
 * table) and by registered file.
 */
static void check_all_ways(struct fixture *f, struct ring *ring,
			   const char *mode, bool by_fd)
{
	static const int verdicts[] = { FAN_DENY, FAN_ALLOW };
	struct iovec iov = { f->buf, LEN };
	char what[160];
	unsigned v, reg_file;

	register_both(ring, f->fd, f->buf, 4096);
	for (reg_file = !by_fd; reg_file < 2; reg_file++) {
		const char *how = reg_file ? ", registered file" : "";
		int fd = reg_file ? 0 : f->fd;

		for (v = 0; v < 2; v++) {
			struct ring_sqe s[4];
			const char *name[4] = {
				"READ", "READ in a worker", "READV", "READ_FIXED",
			};
			unsigned k;

			ring_prep_read(&s[0], fd, f->buf, LEN, OFF);
			ring_prep_read(&s[1], fd, f->buf, LEN, OFF);
			s[1].flags = RING_SQE_ASYNC;
			ring_prep_readv(&s[2], fd, &iov, 1, OFF);
			ring_prep_read_fixed(&s[3], fd, f->buf, LEN, OFF, 0);
			for (k = 0; k < 4; k++) {
				if (reg_file)
					s[k].flags |= RING_SQE_FIXED_FILE;
				snprintf(what, sizeof(what), "%s %s%s", mode,
					 name[k], how);
				check_read(f, ring, &s[k], verdicts[v], what);
			}
		}
	}
}

static void test_fanotify_denies(void **state)
{
	struct fixture f;
	struct ring ring;

	fx_init(&f, "fanotify denies");
	ring_init_or_fail(&ring, 8);
	check_all_ways(&f, &ring, "ENTER", true);
	ring_queue_exit(&ring);
	fx_exit(&f, "fanotify denies");
}

static void test_fanotify_denies_sqpoll(void **state)
{
	struct fixture f;
	struct ring ring;

	fx_init(&f, "fanotify denies sqpoll");
	sqpoll_ring(&ring);
	check_all_ways(&f, &ring, "SQPOLL", false);
	ring_queue_exit(&ring);
	fx_exit(&f, "fanotify denies sqpoll");
}

/* ---- fsnotify events ------------------------------------------------ */

struct watch {
	int fd;
	const char *path;
};

/* Run @tmpl: its result must be @res and its events exactly @events. */
static void check_event(struct watch *w, struct ring *ring,
			const struct ring_sqe *tmpl, int res, unsigned events,
			const char *what)
{
	unsigned got;
	int ret;

	inotify_take(w->fd);
	ret = run_one(ring, tmpl);
	if (ret != res)
		fail_msg("%s: res %d (%s), expected %d", what, ret, errstr(ret),
			 res);
	/* Raised before the CQE: it is queued by now. */
	got = inotify_take(w->fd) & (IN_ACCESS | IN_MODIFY);
	if (got != events)
		fail_msg("%s on %s: inotify events 0x%x, expected 0x%x", what,
			 w->path, got, events);
	expect_inflight0(ring, what);
}

/*
 * READ, WRITE, READV, WRITEV, READ_FIXED, WRITE_FIXED of @len at @off on
 * @fd (a registered slot with @reg_file), each directly and in a worker.
 */
static void check_events_all_ops(struct watch *w, struct ring *ring, int fd,
				 bool reg_file, void *buf, unsigned len,
				 off_t off, const char *mode)
{
	struct iovec iov = { buf, len };
	char what[160];
	unsigned k, async;

	for (async = 0; async < 2; async++)
		for (k = 0; k < 6; k++) {
			static const char *const name[6] = {
				"READ", "WRITE", "READV", "WRITEV",
				"READ_FIXED", "WRITE_FIXED",
			};
			struct ring_sqe s;

			switch (k) {
			case 0: ring_prep_read(&s, fd, buf, len, off); break;
			case 1: ring_prep_write(&s, fd, buf, len, off); break;
			case 2: ring_prep_readv(&s, fd, &iov, 1, off); break;
			case 3: ring_prep_writev(&s, fd, &iov, 1, off); break;
			case 4: ring_prep_read_fixed(&s, fd, buf, len, off, 0);
				break;
			default: ring_prep_write_fixed(&s, fd, buf, len, off, 0);
			}
			if (reg_file)
				s.flags |= RING_SQE_FIXED_FILE;
			if (async)
				s.flags |= RING_SQE_ASYNC;
			snprintf(what, sizeof(what), "%s %s%s", mode, name[k],
				 async ? " in a worker" : "");
			check_event(w, ring, &s, len, k % 2 ? IN_MODIFY : IN_ACCESS,
				    what);
		}
}

/* A target watched by inotify, a buffer, a ring with both registered. */
struct notify_fx {
	struct ring_stats base;
	struct target t;
	struct watch w;
	struct ring ring;
	unsigned char *buf;
};

static void nfx_init(struct notify_fx *f, enum tgt_kind kind, bool direct,
		     size_t size)
{
	require_ring();
	stats_baseline(&f->base);
	target_open(&f->t, kind, direct, 0, size);
	f->w.path = f->t.path;
	f->w.fd = inotify_watch(f->t.path);
	f->buf = xalloc(4096);
	memset(f->buf, 0x3c, 4096);
	ring_init_or_fail(&f->ring, 8);
	register_both(&f->ring, f->t.fd, f->buf, 4096);
}

static void nfx_exit(struct notify_fx *f, const char *what)
{
	ring_queue_exit(&f->ring);
	close(f->w.fd);
	free(f->buf);
	target_close(&f->t);
	expect_stats(&f->base, what);
}

/* A tmpfs file: the I/O ends inside its issue. */
static void test_inotify_tmpfs(void **state)
{
	struct notify_fx f;
	struct ring_sqe s;

	nfx_init(&f, TGT_TMPFS, false, FILE_SIZE);
	check_events_all_ops(&f.w, &f.ring, f.t.fd, false, f.buf, LEN, OFF,
			     "tmpfs");
	check_events_all_ops(&f.w, &f.ring, 0, true, f.buf, LEN, OFF,
			     "tmpfs registered file");

	/* Nothing moved, nothing raised: end of file, a bad buffer. */
	ring_prep_read(&s, f.t.fd, f.buf, LEN, FILE_SIZE);
	check_event(&f.w, &f.ring, &s, 0, 0, "READ at end of file");
	ring_prep_read(&s, f.t.fd, (void *)16, LEN, 0);
	check_event(&f.w, &f.ring, &s, -EFAULT, 0, "READ into a bad buffer");
	ring_queue_exit(&f.ring);

	/* The SQ thread's reads and writes. */
	sqpoll_ring(&f.ring);
	register_both(&f.ring, f.t.fd, f.buf, 4096);
	check_events_all_ops(&f.w, &f.ring, 0, true, f.buf, LEN, OFF, "SQPOLL");
	nfx_exit(&f, "inotify tmpfs");
}

/*
 * O_DIRECT on null_blk: the device ends the I/O in its completion
 * (interrupt or softirq context), where no event may be raised; it is
 * raised from process context before the CQE.
 */
static void test_inotify_blockdev_direct(void **state)
{
	struct ring_cqe cqes[8];
	struct notify_fx f;
	unsigned i;

	nfx_init(&f, TGT_NULLB, true, 1 << 20);
	check_events_all_ops(&f.w, &f.ring, f.t.fd, false, f.buf, 4096, 8192,
			     "null_blk O_DIRECT");
	/* Many at once: every CQE arrives, with its event before it. */
	for (i = 0; i < 8; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&f.ring);

		ring_prep_read(sqe, f.t.fd, f.buf, 4096, i * 4096);
		sqe->user_data = i + 1;
	}
	inotify_take(f.w.fd);
	submit_reap(&f.ring, cqes, 8);
	for (i = 0; i < 8; i++)
		if (cqes[i].res != 4096)
			fail_msg("batch read %llu: res %d",
				 (unsigned long long)cqes[i].user_data,
				 cqes[i].res);
	if (!(inotify_take(f.w.fd) & IN_ACCESS))
		fail_msg("8 O_DIRECT reads raised no IN_ACCESS");
	nfx_exit(&f, "inotify blockdev");
}

/* ---- freeze protection ----------------------------------------------- */

struct submitter {
	struct ring *ring;
	atomic_int returned;
	int ret;
};

static void *submit_fn(void *arg)
{
	struct submitter *sub = arg;

	sub->ret = ring_submit(sub->ring);
	atomic_store(&sub->returned, 1);
	return NULL;
}

/*
 * A write to a frozen filesystem: ENTER returns at once (a worker waits
 * for the thaw), RWF_NOWAIT gets -EAGAIN, and after the thaw the write
 * lands.  The module before waited in ENTER, uninterruptibly and holding
 * the ring's submission lock, until the thaw.  The filesystem is thawed
 * before any verdict, so a failure leaves nothing frozen.
 */
static void test_frozen_fs_write(void **state)
{
	struct submitter sub = { 0 };
	char why[256], failed[256] = "";
	struct ring_stats base;
	struct ring_cqe cqe;
	struct ring_sqe *sqe;
	struct target t;
	struct ring ring;
	const char *mnt;
	unsigned char *buf;
	pthread_t th;
	int mfd, i;

	require_ring();
	stats_baseline(&base);
	target_open(&t, TGT_EXT4, false, 0, FILE_SIZE);
	if (!env_ext4(&mnt, why, sizeof(why)))
		fail_msg("ext4 went away: %s", why);
	mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		fail_msg("open %s: %s", mnt, strerror(errno));
	buf = xalloc(4096);
	memset(buf, 0x7a, 4096);
	ring_init_or_fail(&ring, 8);
	sub.ring = &ring;

	if (ioctl(mfd, FIFREEZE, 0))
		fail_msg("FIFREEZE %s: %s", mnt, strerror(errno));
	sqe = ring_get_sqe(&ring);
	ring_prep_write(sqe, t.fd, buf, LEN, 0);
	sqe->user_data = 1;
	if (pthread_create(&th, NULL, submit_fn, &sub)) {
		ioctl(mfd, FITHAW, 0);
		fail_msg("pthread_create failed");
	}
	for (i = 0; i < 200 && !atomic_load(&sub.returned); i++)
		sleep_ms(50);
	if (!atomic_load(&sub.returned)) {
		snprintf(failed, sizeof(failed), "ENTER of a WRITE to a frozen "
			 "filesystem still sleeps after 10 s");
	} else if (sub.ret != 1) {
		snprintf(failed, sizeof(failed), "ENTER: %d", sub.ret);
	} else {
		sqe = ring_get_sqe(&ring);
		ring_prep_write(sqe, t.fd, buf, LEN, 0);
		sqe->rw_flags = RWF_NOWAIT;
		sqe->user_data = 2;
		if (ring_submit(&ring) != 1 ||
		    reap(&ring, &cqe, 1, io_timeout_ms()) != 1)
			snprintf(failed, sizeof(failed), "no CQE for the "
				 "RWF_NOWAIT WRITE to a frozen filesystem");
		else if (cqe.user_data != 2 || cqe.res != -EAGAIN)
			snprintf(failed, sizeof(failed), "frozen: CQE %llu res "
				 "%d, expected 2 (RWF_NOWAIT) res -EAGAIN",
				 (unsigned long long)cqe.user_data, cqe.res);
	}
	if (ioctl(mfd, FITHAW, 0))
		fail_msg("FITHAW %s: %s", mnt, strerror(errno));
	pthread_join(th, NULL);
	if (failed[0])
		fail_msg("%s", failed);
	if (reap(&ring, &cqe, 1, io_timeout_ms()) != 1)
		fail_msg("no CQE for the WRITE after the thaw");
	if (cqe.user_data != 1 || cqe.res != LEN)
		fail_msg("after the thaw: CQE %llu res %d, expected 1 res %d",
			 (unsigned long long)cqe.user_data, cqe.res, LEN);
	ring_queue_exit(&ring);
	close(mfd);
	free(buf);
	target_close(&t);
	expect_stats(&base, "frozen filesystem");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_fanotify_denies),
	cmocka_unit_test(test_fanotify_denies_sqpoll),
	cmocka_unit_test(test_inotify_tmpfs),
	cmocka_unit_test(test_inotify_blockdev_direct),
	cmocka_unit_test(test_frozen_fs_write),
};

VMTEST_MAIN(tests)
