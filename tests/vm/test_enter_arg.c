// SPDX-License-Identifier: MIT
/*
 * RING_IOC_ENTER_ARG: io_uring_enter()'s signal mask and, with
 * RING_ENTER_EXT_ARG, struct ring_getevents_arg (mask and timeout): the
 * timeout ends a wait with -ETIME, the mask is installed for the wait
 * only and a signal it lets through is delivered under it; bad arguments
 * get io_uring's errnos.
 */
#include "vmtest.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/time_types.h>

/* The kernel's sigset_t: 64 bits on x86-64 (glibc's is 1024). */
typedef __u64 ksigset_t;

static ksigset_t ksig(int sig)
{
	return 1ULL << (sig - 1);
}

static int enter_arg(int fd, unsigned to_submit, unsigned min_complete,
		     unsigned flags, const void *arg, __u64 argsz)
{
	struct ring_enter_arg e = {
		.to_submit = to_submit,
		.min_complete = min_complete,
		.flags = flags,
		.arg = (uintptr_t)arg,
		.argsz = argsz,
	};

	return raw_ioctl(fd, RING_IOC_ENTER_ARG, &e);
}

/* GETEVENTS with EXT_ARG: an optional mask and a relative timeout. */
static int wait_ext(int fd, unsigned min_complete, const ksigset_t *mask,
		    const struct __kernel_timespec *ts)
{
	struct ring_getevents_arg ga = {
		.sigmask = (uintptr_t)mask,
		.sigmask_sz = mask ? sizeof(*mask) : 0,
		.ts = (uintptr_t)ts,
	};

	return enter_arg(fd, 0, min_complete,
			 RING_ENTER_GETEVENTS | RING_ENTER_EXT_ARG, &ga,
			 sizeof(ga));
}

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
	signals_seen++;
}

/* SIGUSR1 with a handler and without SA_RESTART. */
static void install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	signals_seen = 0;
}

static bool usr1_blocked(void)
{
	sigset_t cur;

	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	return sigismember(&cur, SIGUSR1);
}

static void set_usr1_blocked(bool on)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	assert_int_equal(pthread_sigmask(on ? SIG_BLOCK : SIG_UNBLOCK, &s,
					 NULL), 0);
}

/* The timeout ends a wait for CQEs that never come; ring stays usable. */
static void test_timeout(void **state)
{
	struct __kernel_timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
	struct raw_ring r;
	long long t0, dt;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	t0 = now_ns();
	expect_ret(wait_ext(r.fd, 1, NULL, &ts), -ETIME);
	dt = now_ns() - t0;
	if (dt < 45 * 1000 * 1000)
		fail_msg("timed out after %lld us, before 50 ms", dt / 1000);

	/* Zero and negative timeouts end the wait at once. */
	ts.tv_nsec = 0;
	expect_ret(wait_ext(r.fd, 1, NULL, &ts), -ETIME);
	ts.tv_sec = -5;
	expect_ret(wait_ext(r.fd, 1, NULL, &ts), -ETIME);
	raw_ring_exit(&r);
}

static void *submit_later_fn(void *arg)
{
	sleep_ms(50);
	raw_submit_nops(arg, 1, 5);
	return NULL;
}

/*
 * A huge timeout does not overflow into the past, and no timeout pointer
 * waits like a plain GETEVENTS: both end with the CQE.
 */
static void test_timeout_huge_or_none(void **state)
{
	struct __kernel_timespec ts = { .tv_sec = 0x7fffffffffffffffLL };
	struct raw_ring r;
	long long t0;
	pthread_t t;
	int i;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	for (i = 0; i < 2; i++) {
		t0 = now_ns();
		assert_int_equal(pthread_create(&t, NULL, submit_later_fn, &r),
				 0);
		expect_ret(wait_ext(r.fd, 1, NULL, i ? NULL : &ts), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		if (now_ns() - t0 < 45 * 1000 * 1000)
			fail_msg("returned before the CQE was posted");
		assert_int_equal(raw_cq_ready(&r), 1);
		raw_cq_advance(&r, 1);
	}
	raw_ring_exit(&r);
}

/* As io_uring: a timeout with CQEs to reap, though fewer than asked, is 0. */
static void test_timeout_partial(void **state)
{
	struct __kernel_timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	raw_submit_nops(&r, 1, 1);
	expect_ret(wait_ext(r.fd, 2, NULL, &ts), 0);
	assert_int_equal(raw_cq_ready(&r), 1);
	raw_ring_exit(&r);
}

/* Submit and wait with a timeout in one call: the submitted count. */
static void test_submit_and_timeout(void **state)
{
	struct __kernel_timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	struct ring_getevents_arg ga = { .ts = (uintptr_t)&ts };
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 4, NULL);
	raw_prep_nop(raw_get_sqe(&r), 1);
	raw_flush_sq(&r);
	expect_ret(enter_arg(r.fd, 1, 3,
			     RING_ENTER_GETEVENTS | RING_ENTER_EXT_ARG, &ga,
			     sizeof(ga)), 1);
	assert_int_equal(raw_cq_ready(&r), 1);
	raw_ring_exit(&r);
}

/* io_uring's errnos for bad arguments; nothing is consumed by them. */
static void test_bad_args(void **state)
{
	struct __kernel_timespec ts = { 0 };
	ksigset_t mask = 0;
	struct ring_getevents_arg ga = { .ts = (uintptr_t)&ts };
	struct ring_enter_arg e = { .flags = RING_ENTER_GETEVENTS };
	const unsigned ext = RING_ENTER_GETEVENTS | RING_ENTER_EXT_ARG;
	struct raw_ring r;
	unsigned bit;

	require_ring();
	raw_ring_init(&r, 4, NULL);

	expect_ret(enter_arg(r.fd, 0, 1, ext, &ga, sizeof(ga) - 1), -EINVAL);
	expect_ret(enter_arg(r.fd, 0, 1, ext, &ga, sizeof(ga) + 8), -EINVAL);
	expect_ret(enter_arg(r.fd, 0, 1, ext, NULL, 0), -EINVAL);
	expect_ret(enter_arg(r.fd, 0, 1, ext, (void *)8, sizeof(ga)), -EFAULT);
	/* EXT_ARG through plain ENTER: no argument, so argsz 0 is wrong. */
	expect_ret(raw_enter(r.fd, 0, 1, ext), -EINVAL);
	ga.pad = 1;
	expect_ret(enter_arg(r.fd, 0, 1, ext, &ga, sizeof(ga)), -EINVAL);
	ga.pad = 0;
	ga.ts = 8;
	expect_ret(enter_arg(r.fd, 0, 1, ext, &ga, sizeof(ga)), -EFAULT);
	ga.ts = 0;
	ga.sigmask = (uintptr_t)&mask;
	ga.sigmask_sz = 4;
	expect_ret(enter_arg(r.fd, 0, 1, ext, &ga, sizeof(ga)), -EINVAL);
	ga.sigmask_sz = sizeof(mask);
	ga.sigmask = 8;
	expect_ret(enter_arg(r.fd, 0, 1, ext, &ga, sizeof(ga)), -EFAULT);

	/* Without EXT_ARG, arg is a signal mask of exactly 8 bytes. */
	expect_ret(enter_arg(r.fd, 0, 1, RING_ENTER_GETEVENTS, &mask, 128),
		   -EINVAL);
	expect_ret(enter_arg(r.fd, 0, 1, RING_ENTER_GETEVENTS, (void *)8, 8),
		   -EFAULT);
	e.resv = 1;
	expect_ret(raw_ioctl(r.fd, RING_IOC_ENTER_ARG, &e), -EINVAL);
	expect_ret(raw_ioctl(r.fd, RING_IOC_ENTER_ARG, (void *)8), -EFAULT);
	for (bit = 4; bit < 32; bit++)
		expect_ret_msg(enter_arg(r.fd, 0, 0, 1U << bit, NULL, 0),
			       -EINVAL, "flags 1<<%u", bit);
	/* SQ_WAKEUP and SQ_WAIT mean nothing without an SQ thread. */
	expect_ret(enter_arg(r.fd, 0, 0, RING_ENTER_SQ_WAKEUP |
			     RING_ENTER_SQ_WAIT, NULL, 0), 0);

	/* The argument is read only by a call that waits, as in io_uring. */
	raw_prep_nop(raw_get_sqe(&r), 1);
	raw_flush_sq(&r);
	expect_ret(enter_arg(r.fd, 1, 0, RING_ENTER_EXT_ARG, (void *)8, 3), 1);
	/* A bad argument after a submission: the count, not the error. */
	raw_prep_nop(raw_get_sqe(&r), 2);
	raw_flush_sq(&r);
	expect_ret(enter_arg(r.fd, 1, 1, ext, (void *)8, sizeof(ga)), 1);
	assert_int_equal(raw_cq_ready(&r), 2);
	raw_ring_exit(&r);
}

struct kicker {
	pid_t tid;		/* the waiter */
	int fd;			/* submit a NOP here after the signal, or -1 */
	struct raw_ring *r;
	int delay_ms;
};

static void *kicker_fn(void *arg)
{
	struct kicker *k = arg;

	sleep_ms(k->delay_ms);
	syscall(SYS_tgkill, getpid(), k->tid, SIGUSR1);
	if (k->r) {
		sleep_ms(k->delay_ms);
		raw_submit_nops(k->r, 1, 99);
	}
	return NULL;
}

/*
 * The wait's mask blocks SIGUSR1: the signal does not end the wait, the
 * CQE does; afterwards the old mask is back and the signal is delivered.
 */
static void test_mask_blocks(void **state)
{
	ksigset_t mask = ksig(SIGUSR1);
	struct kicker k;
	struct raw_ring r;
	pthread_t t;
	int i;

	require_ring();
	install_handler();
	for (i = 0; i < 2; i++) {
		raw_ring_init(&r, 4, NULL);
		k = (struct kicker){ .tid = gettid(), .r = &r, .delay_ms = 50 };
		assert_false(usr1_blocked());
		assert_int_equal(pthread_create(&t, NULL, kicker_fn, &k), 0);
		if (i == 0)
			expect_ret(enter_arg(r.fd, 0, 1, RING_ENTER_GETEVENTS,
					     &mask, sizeof(mask)), 0);
		else
			expect_ret(wait_ext(r.fd, 1, &mask, NULL), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(raw_cq_ready(&r), 1);
		/* Delivered on the way out of the ioctl, under the old mask. */
		assert_int_equal(signals_seen, i + 1);
		assert_false(usr1_blocked());
		raw_ring_exit(&r);
	}
	signal(SIGUSR1, SIG_DFL);
}

/*
 * The thread blocks SIGUSR1; the wait's mask lets it through: -EINTR,
 * the handler runs, and the thread's own mask is back afterwards.
 */
static void test_mask_unblocks(void **state)
{
	ksigset_t empty = 0;
	struct kicker k;
	struct raw_ring r;
	pthread_t t;
	int i;

	require_ring();
	install_handler();
	set_usr1_blocked(true);
	for (i = 0; i < 2; i++) {
		raw_ring_init(&r, 4, NULL);
		k = (struct kicker){ .tid = gettid(), .delay_ms = 50 };
		assert_int_equal(pthread_create(&t, NULL, kicker_fn, &k), 0);
		if (i == 0)
			expect_ret(enter_arg(r.fd, 0, 1, RING_ENTER_GETEVENTS,
					     &empty, sizeof(empty)), -EINTR);
		else
			expect_ret(wait_ext(r.fd, 1, &empty, NULL), -EINTR);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(signals_seen, i + 1);
		assert_true(usr1_blocked());
		raw_ring_exit(&r);
	}

	/* A timeout under a mask: -ETIME, and the mask is restored. */
	raw_ring_init(&r, 4, NULL);
	{
		struct __kernel_timespec ts = { .tv_nsec = 10 * 1000 * 1000 };

		expect_ret(wait_ext(r.fd, 1, &empty, &ts), -ETIME);
	}
	assert_true(usr1_blocked());
	/* CQEs already there: no wait, no mask change, 0. */
	raw_submit_nops(&r, 1, 1);
	expect_ret(enter_arg(r.fd, 0, 1, RING_ENTER_GETEVENTS, &empty,
			     sizeof(empty)), 0);
	assert_true(usr1_blocked());
	raw_ring_exit(&r);
	set_usr1_blocked(false);
	signal(SIGUSR1, SIG_DFL);
}

/* SIGKILL and SIGSTOP cannot be masked by a wait's mask. */
static void test_mask_cannot_block_kill(void **state)
{
	int status;
	pid_t pid;

	require_ring();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ksigset_t all = ~0ULL;
		int fd, ret;
		struct ring_params p = { .sq_entries = 4 };

		fd = open(ring_dev(), O_RDWR);
		if (fd < 0 || ioctl(fd, RING_IOC_SETUP, &p))
			_exit(2);
		ret = enter_arg(fd, 0, 1, RING_ENTER_GETEVENTS, &all,
				sizeof(all));
		_exit(ret == 0 ? 3 : 4);
	}
	sleep_ms(100);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_timeout),
	cmocka_unit_test(test_timeout_huge_or_none),
	cmocka_unit_test(test_timeout_partial),
	cmocka_unit_test(test_submit_and_timeout),
	cmocka_unit_test(test_bad_args),
	cmocka_unit_test(test_mask_blocks),
	cmocka_unit_test(test_mask_unblocks),
	cmocka_unit_test(test_mask_cannot_block_kill),
};

VMTEST_MAIN(tests)
