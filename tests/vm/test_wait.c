// SPDX-License-Identifier: MIT
/*
 * Waiting: ENTER with GETEVENTS sleeps until enough CQEs arrive (without
 * spinning) and is interruptible; poll()/epoll report CQ readability and
 * SQ space, and wake up when completions arrive.
 */
#include "vmtest.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/time.h>

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
	signals_seen++;
}

/* A handler without SA_RESTART, so an interrupted ioctl returns EINTR. */
static void install_handler(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(sig, &sa, NULL), 0);
}

static void restore_handler(int sig)
{
	signal(sig, SIG_DFL);
}

/* A thread blocked in ENTER(0, min, GETEVENTS) or in poll(). */
struct waiter {
	int fd;
	unsigned min;
	bool use_poll;
	bool use_epoll;
	int timeout_ms;		/* for poll/epoll_wait */
	int ret;
	short revents;
	long long cpu_ns;
	long nvcsw;		/* times it went to sleep in the call */
	long long start_ns, end_ns;
	int done;
	pthread_t tid;
};

static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;
	struct timespec c0, c1;
	struct rusage u0, u1;

	getrusage(RUSAGE_THREAD, &u0);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	w->start_ns = now_ns();
	if (w->use_poll) {
		struct pollfd pfd = { .fd = w->fd, .events = POLLIN };

		w->ret = poll(&pfd, 1, w->timeout_ms);
		w->revents = pfd.revents;
	} else if (w->use_epoll) {
		struct epoll_event ev;

		w->ret = epoll_wait(w->fd, &ev, 1, w->timeout_ms);
		w->revents = w->ret == 1 ? (short)ev.events : 0;
	} else {
		w->ret = raw_enter(w->fd, 0, w->min, RING_ENTER_GETEVENTS);
	}
	w->end_ns = now_ns();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	w->cpu_ns = (c1.tv_sec - c0.tv_sec) * 1000000000LL +
		    (c1.tv_nsec - c0.tv_nsec);
	getrusage(RUSAGE_THREAD, &u1);
	w->nvcsw = u1.ru_nvcsw - u0.ru_nvcsw;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void waiter_start(struct waiter *w)
{
	install_handler(SIGUSR1);
	assert_int_equal(pthread_create(&w->tid, NULL, waiter_fn, w), 0);
}

static bool waiter_done(struct waiter *w)
{
	return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

/*
 * Join within timeout_ms; if the waiter is still blocked, interrupt it
 * (SIGUSR1, no SA_RESTART) so the test fails instead of hanging.
 */
static void waiter_join(struct waiter *w, int timeout_ms, const char *what)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(w->tid, NULL, &ts)) {
		int i;

		for (i = 0; i < 100 && !waiter_done(w); i++) {
			pthread_kill(w->tid, SIGUSR1);
			sleep_ms(50);
		}
		if (!waiter_done(w))
			fail_msg("%s: waiter stuck even after a signal", what);
		pthread_join(w->tid, NULL);
		fail_msg("%s: waiter did not return within %d ms (then: %d %s)",
			 what, timeout_ms, w->ret, errstr(w->ret));
	}
	restore_handler(SIGUSR1);
}

/*
 * GETEVENTS sleeps until min_complete CQEs are there, then returns; the
 * CQEs before that do not wake it (each would cost a context switch).
 */
static void test_getevents_wakes(void **state)
{
	struct waiter w = { 0 };
	struct raw_ring r;
	long long submitted_ns;

	require_ring();
	raw_ring_init(&r, 8, NULL);
	w.fd = r.fd;
	w.min = 4;
	waiter_start(&w);

	sleep_ms(300);
	if (waiter_done(&w))
		fail_msg("GETEVENTS min 4 returned %d with an empty CQ", w.ret);
	raw_submit_nops(&r, 1, 1);
	sleep_ms(300);
	if (waiter_done(&w))
		fail_msg("GETEVENTS min 4 returned %d with 1 CQE", w.ret);
	raw_submit_nops(&r, 2, 2);
	sleep_ms(300);
	if (waiter_done(&w))
		fail_msg("GETEVENTS min 4 returned %d with 3 CQEs", w.ret);
	submitted_ns = now_ns();
	raw_submit_nops(&r, 1, 4);

	waiter_join(&w, settle_ms(), "GETEVENTS min 4");
	expect_ret(w.ret, 0);
	assert_true(raw_cq_ready(&r) >= 4);
	assert_true(w.end_ns >= submitted_ns);
	/* Blocked ~900 ms: a sleeping wait uses next to no CPU. */
	if (w.cpu_ns > (w.end_ns - w.start_ns) / 3)
		fail_msg("waiter used %lld ms CPU in %lld ms: busy-waiting?",
			 w.cpu_ns / 1000000, (w.end_ns - w.start_ns) / 1000000);
	/* Posted in three batches: woken for the last one only. */
	if (w.nvcsw > 2)
		fail_msg("waiter slept %ld times for 4 CQEs posted 1 + 2 + 1",
			 w.nvcsw);
	raw_ring_exit(&r);
}

/* min_complete beyond the CQ size waits for a full CQ ring only. */
static void test_getevents_min_clamped(void **state)
{
	struct ring_params p = { .cq_entries = 4, .flags = RING_SETUP_CQSIZE };
	struct waiter w = { 0 };
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 2, &p);
	w.fd = r.fd;
	w.min = 1000;
	waiter_start(&w);
	raw_submit_nops(&r, 2, 0);
	sleep_ms(200);
	if (waiter_done(&w))
		fail_msg("GETEVENTS min 1000 returned %d with 2 of 4 CQEs",
			 w.ret);
	raw_submit_nops(&r, 2, 2);
	waiter_join(&w, settle_ms(), "GETEVENTS min 1000 on a 4-entry CQ");
	expect_ret(w.ret, 0);
	assert_int_equal(raw_cq_ready(&r), 4);
	raw_ring_exit(&r);
}

/* Already satisfied, or min_complete 0: no sleep at all. */
static void test_getevents_no_wait(void **state)
{
	struct waiter w = { 0 };
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 8, NULL);
	w.fd = r.fd;
	w.min = 0;
	waiter_start(&w);
	waiter_join(&w, settle_ms(), "GETEVENTS min 0 on an empty CQ");
	expect_ret(w.ret, 0);

	raw_submit_nops(&r, 3, 0);
	memset(&w, 0, sizeof(w));
	w.fd = r.fd;
	w.min = 3;
	waiter_start(&w);
	waiter_join(&w, settle_ms(), "GETEVENTS min 3 with 3 CQEs");
	expect_ret(w.ret, 0);

	/* Submit and wait in one call. */
	raw_cq_advance(&r, 3);
	raw_prep_nop(raw_get_sqe(&r), 10);
	raw_prep_nop(raw_get_sqe(&r), 11);
	raw_flush_sq(&r);
	expect_ret(raw_enter(r.fd, 2, 2, RING_ENTER_GETEVENTS), 2);
	assert_int_equal(raw_cq_ready(&r), 2);
	raw_ring_exit(&r);
}

static void arm_timer(int ms)
{
	struct itimerval it = {
		.it_value = { ms / 1000, (ms % 1000) * 1000 },
	};

	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/* A signal interrupts a wait for completions that never come: -EINTR. */
static void test_getevents_eintr(void **state)
{
	struct raw_ring r;
	long long t0, dt;
	int ret;

	require_ring();
	raw_ring_init(&r, 8, NULL);
	install_handler(SIGALRM);
	signals_seen = 0;
	t0 = now_ns();
	arm_timer(200);
	ret = raw_enter(r.fd, 0, 1, RING_ENTER_GETEVENTS);
	dt = now_ns() - t0;
	restore_handler(SIGALRM);
	expect_ret(ret, -EINTR);
	assert_int_equal(signals_seen, 1);
	if (dt < 150000000LL)
		fail_msg("returned after %lld ms, before the signal", dt / 1000000);
	assert_int_equal(raw_cq_ready(&r), 0);
	/* The ring is fine afterwards. */
	raw_submit_nops(&r, 1, 1);
	expect_ret(raw_enter(r.fd, 0, 1, RING_ENTER_GETEVENTS), 0);
	raw_ring_exit(&r);
}

/* Interrupted after submitting: the submitted count, not -EINTR. */
static void test_getevents_eintr_after_submit(void **state)
{
	struct ring_cqe cqe;
	struct raw_ring r;
	int ret;

	require_ring();
	raw_ring_init(&r, 8, NULL);
	raw_prep_nop(raw_get_sqe(&r), 42);
	raw_flush_sq(&r);
	install_handler(SIGALRM);
	signals_seen = 0;
	arm_timer(200);
	ret = raw_enter(r.fd, 1, 2, RING_ENTER_GETEVENTS);
	restore_handler(SIGALRM);
	expect_ret(ret, 1);
	assert_int_equal(signals_seen, 1);
	assert_true(raw_peek_cqe(&r, &cqe));
	assert_int_equal(cqe.user_data, 42);
	raw_ring_exit(&r);
}

static short poll_now(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int ret = poll(&pfd, 1, 0);

	if (ret < 0)
		fail_msg("poll: %s", strerror(errno));
	return ret ? pfd.revents : 0;
}

/* POLLIN iff CQEs (ring or backlog) pending; POLLOUT iff the SQ has room. */
static void test_poll_states(void **state)
{
	struct ring_params p = { .cq_entries = 8, .flags = RING_SETUP_CQSIZE };
	struct raw_ring r;
	short ev;
	unsigned i;

	require_ring();
	raw_ring_init(&r, 8, &p);
	ev = poll_now(r.fd, POLLIN | POLLOUT);
	if ((ev & POLLIN) || !(ev & POLLOUT))
		fail_msg("empty ring: revents 0x%x, want POLLOUT only", ev);
	assert_false(ev & (POLLERR | POLLHUP | POLLNVAL));

	raw_submit_nops(&r, 1, 1);
	ev = poll_now(r.fd, POLLIN | POLLOUT);
	if (!(ev & POLLIN) || !(ev & POLLOUT))
		fail_msg("one CQE: revents 0x%x, want POLLIN|POLLOUT", ev);
	raw_cq_advance(&r, 1);
	ev = poll_now(r.fd, POLLIN);
	if (ev & POLLIN)
		fail_msg("CQE reaped: revents 0x%x, want no POLLIN", ev);

	/* A full SQ (tail published, not yet entered): no POLLOUT. */
	for (i = 0; i < 8; i++)
		raw_prep_nop(raw_get_sqe(&r), 10 + i);
	raw_flush_sq(&r);
	ev = poll_now(r.fd, POLLIN | POLLOUT);
	if (ev & POLLOUT)
		fail_msg("full SQ: revents 0x%x, want no POLLOUT", ev);
	if (ev & POLLIN)
		fail_msg("full SQ, empty CQ: revents 0x%x, want no POLLIN", ev);
	expect_ret(raw_enter(r.fd, 8, 0, 0), 8);
	ev = poll_now(r.fd, POLLIN | POLLOUT);
	if (!(ev & POLLIN) || !(ev & POLLOUT))
		fail_msg("8 CQEs, empty SQ: revents 0x%x, want POLLIN|POLLOUT",
			 ev);

	/* CQ ring full + backlog; empty the ring without ENTER. */
	raw_submit_nops(&r, 8, 20);
	assert_true(raw_sq_flags(&r) & RING_SQ_CQ_OVERFLOW);
	raw_cq_advance(&r, raw_cq_ready(&r));
	ev = poll_now(r.fd, POLLIN);
	if (!(ev & POLLIN))
		fail_msg("only backlog pending: revents 0x%x, want POLLIN", ev);
	/* Drain everything: not readable any more. */
	for (i = 0; i < 4 && (raw_sq_flags(&r) & RING_SQ_CQ_OVERFLOW); i++) {
		expect_ret(raw_enter(r.fd, 0, 0, 0), 0);
		raw_cq_advance(&r, raw_cq_ready(&r));
	}
	assert_false(raw_sq_flags(&r) & RING_SQ_CQ_OVERFLOW);
	ev = poll_now(r.fd, POLLIN);
	if (ev & POLLIN)
		fail_msg("all reaped: revents 0x%x, want no POLLIN", ev);
	raw_ring_exit(&r);
}

/* poll() on a file without a ring: no crash, nothing readable. */
static void test_poll_before_setup(void **state)
{
	struct pollfd pfd;
	int fd;

	require_ring();
	fd = dev_open();
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	assert_true(poll(&pfd, 1, 0) >= 0);
	assert_false(pfd.revents & POLLIN);
	close(fd);
}

/*
 * The waiter (poll or epoll_wait on an empty ring) must still be blocked
 * after a while, and one completion must wake it, well before its timeout.
 */
static void expect_woken_by_nop(struct waiter *w, struct raw_ring *r,
				const char *what)
{
	long long submitted_ns;

	/* A lost wake-up shows as the timeout; a slow machine is not one. */
	w->timeout_ms = 2 * settle_ms();
	waiter_start(w);
	sleep_ms(300);
	if (waiter_done(w))
		fail_msg("%s returned %d (revents 0x%x) on an empty ring", what,
			 w->ret, w->revents);
	submitted_ns = now_ns();
	raw_submit_nops(r, 1, 1);
	waiter_join(w, 2 * settle_ms() + 5000, what);
	expect_ret_msg(w->ret, 1, "%s", what);
	if (!(w->revents & POLLIN))
		fail_msg("%s: revents 0x%x without POLLIN", what, w->revents);
	if (w->end_ns < submitted_ns ||
	    w->end_ns - submitted_ns > settle_ms() * 1000000LL)
		fail_msg("%s woke %lld ms after the completion (timeout, not a wakeup)",
			 what, (w->end_ns - submitted_ns) / 1000000);
}

/* A thread blocked in poll() wakes when a completion arrives. */
static void test_poll_wakeup(void **state)
{
	struct waiter w = { 0 };
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 8, NULL);
	w.fd = r.fd;
	w.use_poll = true;
	expect_woken_by_nop(&w, &r, "poll");
	raw_ring_exit(&r);
}

/* epoll: level-triggered readiness follows the CQ; a waiter is woken. */
static void test_epoll(void **state)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct waiter w = { 0 };
	struct raw_ring r;
	int ep;

	require_ring();
	raw_ring_init(&r, 8, NULL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, r.fd, &ev), 0);
	expect_ret(epoll_wait(ep, &out, 1, 0), 0);

	raw_submit_nops(&r, 2, 1);
	expect_ret(epoll_wait(ep, &out, 1, 0), 1);
	assert_true(out.events & EPOLLIN);
	/* Level-triggered: still ready until reaped. */
	expect_ret(epoll_wait(ep, &out, 1, 0), 1);
	raw_cq_advance(&r, 2);
	expect_ret(epoll_wait(ep, &out, 1, 0), 0);

	w.fd = ep;
	w.use_epoll = true;
	expect_woken_by_nop(&w, &r, "epoll_wait");
	close(ep);
	raw_ring_exit(&r);
}

/* Every thread waiting on the ring is woken by a completion. */
static void test_two_waiters(void **state)
{
	struct waiter w1 = { 0 }, w2 = { 0 };
	struct raw_ring r;

	require_ring();
	raw_ring_init(&r, 8, NULL);
	w1.fd = w2.fd = r.fd;
	w1.min = w2.min = 1;
	waiter_start(&w1);
	waiter_start(&w2);
	sleep_ms(300);
	if (waiter_done(&w1) || waiter_done(&w2))
		fail_msg("a waiter returned on an empty ring");
	raw_submit_nops(&r, 1, 1);
	waiter_join(&w1, settle_ms(), "first waiter");
	waiter_join(&w2, settle_ms(), "second waiter");
	expect_ret(w1.ret, 0);
	expect_ret(w2.ret, 0);
	raw_ring_exit(&r);
}

/* The reaper of test_concurrent_submit_reap. */
struct reaper {
	struct raw_ring *r;
	unsigned total;
	unsigned done;		/* CQEs reaped, in order */
	int err;		/* ENTER's error, or 1 for a wrong CQE */
	__u64 bad_ud;
	int bad_res;
};

static void *reaper_fn(void *arg)
{
	struct reaper *rp = arg;

	while (rp->done < rp->total) {
		struct ring_cqe cqe;
		int ret = raw_enter(rp->r->fd, 0, 1, RING_ENTER_GETEVENTS);

		if (ret < 0) {
			rp->err = ret;
			return NULL;
		}
		while (raw_peek_cqe(rp->r, &cqe)) {
			/* NOPs complete at submission: CQ order is SQ order. */
			if (cqe.user_data != rp->done || cqe.res) {
				rp->err = 1;
				rp->bad_ud = cqe.user_data;
				rp->bad_res = cqe.res;
				return NULL;
			}
			raw_cq_advance(rp->r, 1);
			rp->done++;
		}
	}
	return NULL;
}

/*
 * One thread submits while another sleeps in GETEVENTS and reaps: every
 * completion arrives exactly once and in order, through the backlog
 * whenever the reaper falls behind (the reaper frees CQ slots while the
 * submitter posts: new CQEs must still queue behind the backlog), and
 * nobody is left sleeping.
 */
static void test_concurrent_submit_reap(void **state)
{
	struct ring_params p = { .cq_entries = 16, .flags = RING_SETUP_CQSIZE };
	struct reaper rp = { 0 };
	unsigned next = 0, b = 0;
	struct raw_ring r;
	pthread_t tid;
	struct timespec ts;

	require_ring();
	raw_ring_init(&r, 16, &p);
	rp.r = &r;
	rp.total = scaled(50000, 2000);
	install_handler(SIGUSR1);
	assert_int_equal(pthread_create(&tid, NULL, reaper_fn, &rp), 0);
	while (next < rp.total) {
		unsigned n = 1 + b++ % 16;

		if (n > rp.total - next)
			n = rp.total - next;
		raw_submit_nops(&r, n, next);
		next += n;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	if (pthread_timedjoin_np(tid, NULL, &ts)) {
		pthread_kill(tid, SIGUSR1);
		pthread_join(tid, NULL);
		fail_msg("reaper still waiting 30 s after the last submission (%u of %u reaped, backlog %lld)",
			 rp.done, rp.total, fdinfo_get(r.fd, "CqBacklog"));
	}
	restore_handler(SIGUSR1);
	if (rp.err < 0)
		fail_msg("reaper's ENTER: %s", errstr(rp.err));
	if (rp.err)
		fail_msg("reaper: CQE #%u has user_data %llu res %d, expected %u res 0",
			 rp.done, (unsigned long long)rp.bad_ud, rp.bad_res,
			 rp.done);
	assert_false(raw_sq_flags(&r) & RING_SQ_CQ_OVERFLOW);
	assert_int_equal(fdinfo_get(r.fd, "CqBacklog"), 0);
	raw_ring_exit(&r);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_getevents_wakes),
	cmocka_unit_test(test_getevents_min_clamped),
	cmocka_unit_test(test_getevents_no_wait),
	cmocka_unit_test(test_getevents_eintr),
	cmocka_unit_test(test_getevents_eintr_after_submit),
	cmocka_unit_test(test_poll_states),
	cmocka_unit_test(test_poll_before_setup),
	cmocka_unit_test(test_poll_wakeup),
	cmocka_unit_test(test_epoll),
	cmocka_unit_test(test_two_waiters),
	cmocka_unit_test(test_concurrent_submit_reap),
};

VMTEST_MAIN(tests)
