// SPDX-License-Identifier: GPL-2.0
/*
 * The executor: a process that runs programs one after another (so that a
 * fork, four threads and their KCOV setup are paid once, not per program).
 *
 * Calls go to FZ_LANES lanes in program order.  Lane 0 is the dispatcher
 * itself: its calls run inline, and a watchdog signals it when one blocks
 * longer than call_timeout_ms (a signal ends a blocking ENTER with EINTR;
 * one on guarded memory jumps out of the fault).  Lanes 1..3 are threads:
 * the dispatcher hands a call over and waits up to call_timeout_ms; a call
 * that blocks longer keeps its lane busy while later calls run elsewhere,
 * which is how a program races with itself.  After the last call the busy
 * lanes are signalled until they are idle, every ring's invariant is
 * checked, and whatever the program opened is closed.  A lane that will not
 * come back, or a private fd table (unshare), makes the executor exit after
 * reporting, and the loop starts a fresh one.
 *
 * KCOV: the main thread enables remote coverage with a common handle, then
 * starts the dispatcher, which inherits the handle (so rings it and its
 * lanes set up carry it, see ctx->kcov_handle) and traces lane 0; each lane
 * thread traces its own area.  The main thread stays behind as the watchdog.
 */
#include <errno.h>
#include <linux/kcov.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

struct lane {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const struct fz_call *call;	/* posted, not yet taken */
	bool busy;			/* running a call */
	bool alive;
	bool exit_now;
};

static struct lane lanes[FZ_LANES];
static const struct fz_exec_opts *opts;
static atomic_ullong ring_calls, sqes, cqes;
static atomic_bool dirty, stopping;

/* Loops (burst) end early once the program is over. */
bool fz_stopping(void)
{
	return atomic_load_explicit(&stopping, memory_order_relaxed);
}

/* The watchdog's view of lane 0. */
static pthread_t dispatcher;
static atomic_uint inline_seq;
static atomic_bool inline_busy;

static __thread sigjmp_buf *guard;

void fz_count_ring_call(void)
{
	atomic_fetch_add_explicit(&ring_calls, 1, memory_order_relaxed);
}

void fz_count(uint64_t s, uint64_t c)
{
	atomic_fetch_add_explicit(&sqes, s, memory_order_relaxed);
	atomic_fetch_add_explicit(&cqes, c, memory_order_relaxed);
}

void fz_mark_dirty(void)
{
	atomic_store(&dirty, true);
}

static void on_fault(int sig)
{
	if (guard)
		siglongjmp(*guard, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* SIGUSR1 interrupts a blocking call; on guarded memory it ends the access. */
static void on_signal(int sig)
{
	(void)sig;
	if (guard)
		siglongjmp(*guard, 1);
}

bool fz_guarded(void (*fn)(void *), void *arg)
{
	sigjmp_buf jb, *saved = guard;

	if (sigsetjmp(jb, 1)) {
		guard = saved;
		return false;
	}
	guard = &jb;
	fn(arg);
	guard = saved;
	return true;
}

static void *lane_main(void *arg)
{
	struct lane *l = arg;
	int idx = l - lanes;

	if (opts->kcov_fds[idx] >= 0)
		ioctl(opts->kcov_fds[idx], KCOV_ENABLE, KCOV_TRACE_PC);
	pthread_mutex_lock(&l->lock);
	for (;;) {
		const struct fz_call *c;

		while (!l->call)
			pthread_cond_wait(&l->cond, &l->lock);
		c = l->call;
		l->call = NULL;
		pthread_mutex_unlock(&l->lock);

		if (c->nr < FZ_NR_CALLS)
			fz_calls[c->nr].run(c->a);

		pthread_mutex_lock(&l->lock);
		l->busy = false;
		pthread_cond_broadcast(&l->cond);
		if (l->exit_now) {
			l->alive = false;
			pthread_mutex_unlock(&l->lock);
			/* Its KCOV goes back to init mode with the thread. */
			return NULL;
		}
	}
}

/* lane_exit runs on the lane it names: that thread ends after the call. */
void fz_kill_lane(unsigned int idx)
{
	struct lane *l = &lanes[idx];

	if (idx && pthread_equal(l->thread, pthread_self()))
		l->exit_now = true;	/* read by this same thread */
}

void fz_signal_lane(unsigned int idx)
{
	struct lane *l = &lanes[idx];

	if (!idx) {
		pthread_kill(dispatcher, SIGUSR1);
		return;
	}
	pthread_mutex_lock(&l->lock);
	if (l->alive)
		pthread_kill(l->thread, SIGUSR1);
	pthread_mutex_unlock(&l->lock);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait (bounded) for @l to be idle; lock held.  False: still busy. */
static bool lane_wait_idle(struct lane *l, int ms)
{
	struct timespec ts;

	deadline_in(&ts, ms);
	while (l->busy) {
		if (pthread_cond_timedwait(&l->cond, &l->lock, &ts) == ETIMEDOUT)
			return !l->busy;
	}
	return true;
}

static void dispatch(const struct fz_call *c)
{
	struct lane *l = &lanes[c->lane % FZ_LANES];

	if (c->nr >= FZ_NR_CALLS)
		return;
	if (l == &lanes[0]) {
		atomic_fetch_add(&inline_seq, 1);
		atomic_store(&inline_busy, true);
		fz_calls[c->nr].run(c->a);
		atomic_store(&inline_busy, false);
		return;
	}
	pthread_mutex_lock(&l->lock);
	if (!lane_wait_idle(l, opts->call_timeout_ms)) {
		/* Its last call still blocks: this one is skipped. */
		pthread_mutex_unlock(&l->lock);
		return;
	}
	if (!l->alive) {
		l->exit_now = false;
		l->alive = true;
		if (pthread_create(&l->thread, NULL, lane_main, l)) {
			l->alive = false;
			pthread_mutex_unlock(&l->lock);
			return;
		}
		pthread_detach(l->thread);
	}
	l->call = c;
	l->busy = true;
	pthread_cond_broadcast(&l->cond);
	lane_wait_idle(l, opts->call_timeout_ms);
	pthread_mutex_unlock(&l->lock);
}

/* After a program: signal busy lanes until they are idle.  False: stuck. */
static bool lanes_quiesce(void)
{
	int i, round;

	for (i = 1; i < FZ_LANES; i++) {
		struct lane *l = &lanes[i];

		pthread_mutex_lock(&l->lock);
		for (round = 0; l->busy && round < 20; round++) {
			if (lane_wait_idle(l, round ? 50 : opts->call_timeout_ms))
				break;
			pthread_kill(l->thread, SIGUSR1);
		}
		if (l->busy) {
			pthread_mutex_unlock(&l->lock);
			return false;
		}
		pthread_mutex_unlock(&l->lock);
	}
	return true;
}

/* Not in loops: they only wait, or cost a process each time. */
static bool repeatable(unsigned int nr)
{
	return nr != FZ_repeat && nr != FZ_sleep && nr != FZ_fork &&
	       nr != FZ_buf && nr != FZ_burst;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void account(struct fz_shm *shm, int what, uint64_t *t)
{
	uint64_t n = now_ns();

	shm->ns[what] += n - *t;
	shm->count[what]++;
	*t = n;
}

static void run_one(struct fz_shm *shm)
{
	const struct fz_prog *p = &shm->prog;
	struct fz_exec_report *rep = &shm->report;
	uint64_t t = now_ns();
	int i;

	atomic_store(&ring_calls, 0);
	atomic_store(&sqes, 0);
	atomic_store(&cqes, 0);
	memset(rep->invariant, 0, sizeof(rep->invariant));
	atomic_store(&stopping, false);
	for (i = 0; i < p->n; i++) {
		const struct fz_call *c = &p->c[i];

		if (c->nr == FZ_repeat) {
			/* Loops make the hot paths (SQE, ENTER, reap) cheap to
			 * hammer: the program's overhead is paid once. */
			unsigned int k = c->a[0] % 8, n = c->a[1] % 256, j;

			if (k > (unsigned int)i)
				k = i;
			while (n--)
				for (j = i - k; j < (unsigned int)i; j++)
					if (repeatable(p->c[j].nr))
						dispatch(&p->c[j]);
		} else {
			dispatch(c);
		}
		account(shm, c->nr % FZ_NR_CALLS, &t);
	}
	atomic_store(&stopping, true);
	account(shm, FZ_NR_CALLS, &t);
	/*
	 * A lane still inside ENTER (a fault on userfaultfd memory waits for
	 * a fatal signal) may hold consumed SQEs that SqHead does not show
	 * yet, as io_uring publishes its head at the end of a batch: judge
	 * the rings only when every lane came back.
	 */
	if (lanes_quiesce())
		fz_calls_check(rep->invariant, sizeof(rep->invariant));
	else
		fz_mark_dirty();
	fz_calls_reset();
	account(shm, FZ_NR_CALLS + 1, &t);
	rep->ring_calls = atomic_load(&ring_calls);
	rep->sqes = atomic_load(&sqes);
	rep->cqes = atomic_load(&cqes);
	rep->seal = fz_seal(rep);
}

struct dispatcher_arg {
	struct fz_shm *shm;
};

static void *dispatcher_main(void *arg)
{
	struct fz_shm *shm = ((struct dispatcher_arg *)arg)->shm;
	char b;

	if (opts->kcov_fds[0] >= 0)
		ioctl(opts->kcov_fds[0], KCOV_ENABLE, KCOV_TRACE_PC);
	while (read(opts->cmd_fd, &b, 1) == 1) {
		run_one(shm);
		b = atomic_load(&dirty) ? FZ_DONE_RESTART : FZ_DONE_OK;
		if (write(opts->done_fd, &b, 1) != 1 || b == FZ_DONE_RESTART)
			break;
	}
	_exit(0);
}

void fz_executor(struct fz_shm *shm, const struct fz_exec_opts *o)
{
	struct dispatcher_arg da = { shm };
	struct sigaction sa;
	unsigned int seen = 0, stuck = 0;
	int i;

	opts = o;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_NODEFER;	/* no SA_RESTART: a signal ends a blocking ENTER */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o->kcov_remote_fd >= 0) {
		struct kcov_remote_arg arg = {
			.trace_mode = KCOV_TRACE_PC,
			.area_size = o->kcov_words,
			.common_handle = o->kcov_handle,
		};

		ioctl(o->kcov_remote_fd, KCOV_REMOTE_ENABLE, &arg);
	}
	fz_calls_init();
	for (i = 0; i < FZ_LANES; i++) {
		pthread_mutex_init(&lanes[i].lock, NULL);
		pthread_cond_init(&lanes[i].cond, NULL);
	}
	if (pthread_create(&dispatcher, NULL, dispatcher_main, &da))
		_exit(72);
	/* The watchdog: a lane-0 call that outlives its time gets signals. */
	for (;;) {
		unsigned int seq;

		usleep(o->call_timeout_ms * 1000);
		seq = atomic_load(&inline_seq);
		if (atomic_load(&inline_busy) && seq == seen) {
			pthread_kill(dispatcher, SIGUSR1);
			if (++stuck > 200)
				fz_mark_dirty();
		} else {
			stuck = 0;
		}
		seen = seq;
	}
}
