// SPDX-License-Identifier: MIT
/*
 * The drop-in liburing: submission and completion.  The inline helpers of
 * liburing-dev, compiled into the application, hand out SQEs (sqe_tail)
 * and consume CQEs (the CQ head) on their own; these functions publish
 * SQEs, enter the kernel and wait.
 *
 * There is no timeout SQE to fall back on (ring has no IORING_OP_TIMEOUT):
 * waits with a timeout always use IORING_ENTER_EXT_ARG, and a kernel
 * without it says so (-EINVAL) rather than the wait silently not timing
 * out.  With IORING_SETUP_SQPOLL the kernel thread consumes the SQ, and a
 * submission enters only to wake it, as liburing 2.3's sq_ring_needs_enter.
 */
#include <errno.h>
#include <stdint.h>

#include "dropin.h"

/*
 * Publishes the SQEs handed out since the last call; the SQ array is the
 * identity (io_uring_queue_mmap), so that is a store-release of the tail,
 * which the kernel load-acquires.  Returns the SQEs the kernel has not
 * consumed yet, earlier short submissions included.
 */
static unsigned flush_sq(struct ring *ring)
{
	struct ring_sq *sq = &ring->sq;
	unsigned tail = sq->sqe_tail;

	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		__atomic_store_n(sq->ktail, tail, __ATOMIC_RELEASE);
	}
	return tail - __atomic_load_n(sq->khead, __ATOMIC_ACQUIRE);
}

/* Completions wait in the kernel (backlog, task work): an ENTER gets them. */
static bool cq_needs_flush(const struct ring *ring)
{
	return __atomic_load_n(ring->sq.kflags, __ATOMIC_RELAXED) &
	       (RING_SQ_CQ_OVERFLOW | LU_SQ_TASKRUN);
}

static bool cq_needs_enter(const struct ring *ring)
{
	return (ring->flags & LU_SETUP_IOPOLL) || cq_needs_flush(ring);
}

/*
 * Whether @submit SQEs need an ENTER: always without an SQ thread; with
 * one, only when it sleeps (adding SQ_WAKEUP to *flags).  The thread sets
 * NEED_WAKEUP, then looks at the tail once more: the full barrier orders
 * our tail store before the flags load, so one side sees the other.
 */
static bool sq_needs_enter(const struct ring *ring, unsigned submit,
			   unsigned *flags)
{
	if (!submit)
		return false;
	if (!(ring->flags & LU_SETUP_SQPOLL))
		return true;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(ring->sq.kflags, __ATOMIC_RELAXED) &
	    LU_SQ_NEED_WAKEUP) {
		*flags |= RING_ENTER_SQ_WAKEUP;
		return true;
	}
	return false;
}

static int enter(struct ring *ring, unsigned submit, unsigned wait_nr,
		 unsigned flags, const void *arg, size_t argsz)
{
	if (ring->int_flags & LU_INT_FLAG_REG_RING)
		flags |= LU_ENTER_REGISTERED_RING;
	return xl_enter(ring->enter_ring_fd, submit, wait_nr, flags, arg,
			argsz);
}

/* The CQE at the head (NULL if none) and how many are ready. */
static unsigned peek(const struct ring *ring, struct ring_cqe **cqe)
{
	const struct ring_cq *cq = &ring->cq;
	unsigned head = *cq->khead;
	unsigned ready = __atomic_load_n(cq->ktail, __ATOMIC_ACQUIRE) - head;

	*cqe = ready ? &cq->cqes[head & cq->ring_mask] : NULL;
	return ready;
}

/* One wait: what to submit and wait for, and how the kernel is to wait. */
struct wait {
	unsigned submit;	/* SQEs still to submit */
	unsigned wait_nr;	/* CQEs wanted */
	unsigned flags;		/* with GETEVENTS: IORING_ENTER_EXT_ARG or 0 */
	const void *arg;	/* with GETEVENTS: sigmask or getevents arg */
	size_t argsz;
	bool timeout;		/* arg has a timeout: the kernel waits once */
	unsigned submitted;	/* out: SQEs the kernel consumed */
};

/* The ENTER flags this round needs (0: none), given what is ready. */
static unsigned wait_flags(const struct ring *ring, const struct wait *w,
			   unsigned ready, bool entered)
{
	if (w->wait_nr > ready)
		return RING_ENTER_GETEVENTS | w->flags;
	/* A peek with nothing ready: one ENTER may bring in the backlog. */
	if (!ready && !w->wait_nr && !w->submit && !entered &&
	    cq_needs_enter(ring))
		return RING_ENTER_GETEVENTS | w->flags;
	return 0;
}

/*
 * Submits w->submit SQEs and waits until w->wait_nr CQEs are ready,
 * entering the kernel as often as needed (once with a timeout); *cqe_ptr
 * is the first CQE.  0 or -errno: -EAGAIN for a peek that found nothing,
 * -ETIME when the timeout passed with nothing ready.
 */
static int get_cqe(struct ring *ring, struct ring_cqe **cqe_ptr,
		   struct wait *w)
{
	bool entered = false;
	struct ring_cqe *cqe;
	int err = 0;

	for (;;) {
		unsigned ready = peek(ring, &cqe);
		unsigned flags = wait_flags(ring, w, ready, entered);
		bool wait = flags & RING_ENTER_GETEVENTS;
		bool sq = sq_needs_enter(ring, w->submit, &flags);
		int ret;

		if (!wait && !sq) {
			/* An awake SQ thread takes them without an ENTER. */
			w->submitted += w->submit;
			if (!cqe && !w->wait_nr && !w->submitted)
				err = -EAGAIN;
			w->submit = 0;
			break;
		}
		if (entered && w->timeout) {
			if (!cqe)
				err = -ETIME;
			break;
		}
		/* The argument means something only to a wait. */
		ret = enter(ring, w->submit, w->wait_nr, flags,
			    wait ? w->arg : NULL, wait ? w->argsz : 0);
		if (ret < 0) {
			err = ret;
			break;
		}
		w->submit -= ret;
		w->submitted += ret;
		entered = true;
		if (cqe)
			break;
	}
	*cqe_ptr = cqe;
	return err;
}

/* Called by the inline io_uring_wait_cqe_nr(), peek_cqe() and wait_cqe(). */
int __io_uring_get_cqe(struct ring *ring, struct ring_cqe **cqe_ptr,
		       unsigned submit, unsigned wait_nr, sigset_t *sigmask)
{
	struct wait w = {
		.submit		= submit,
		.wait_nr	= wait_nr,
		.arg		= sigmask,
		.argsz		= LU_SIGSET_SIZE,
	};
	int ret = get_cqe(ring, cqe_ptr, &w);

	return ret < 0 ? ret : (int)w.submitted;
}

/* Submits @submit SQEs, then waits with a timeout and/or a signal mask. */
static int wait_ext(struct ring *ring, struct ring_cqe **cqe_ptr,
		    unsigned submit, unsigned wait_nr,
		    struct __kernel_timespec *ts, sigset_t *sigmask,
		    unsigned *submitted)
{
	struct ring_getevents_arg arg = {
		.sigmask	= (uintptr_t)sigmask,
		.sigmask_sz	= LU_SIGSET_SIZE,
		.ts		= (uintptr_t)ts,
	};
	struct wait w = {
		.submit		= submit,
		.wait_nr	= wait_nr,
		.flags		= RING_ENTER_EXT_ARG,
		.arg		= &arg,
		.argsz		= sizeof(arg),
		.timeout	= true,
	};
	int ret;

	/* Without a timeout, a signal mask is enter's plain argument. */
	if (!ts) {
		w.flags = 0;
		w.arg = sigmask;
		w.argsz = LU_SIGSET_SIZE;
		w.timeout = false;
	}
	ret = get_cqe(ring, cqe_ptr, &w);
	*submitted = w.submitted;
	return ret;
}

int io_uring_wait_cqes(struct ring *ring, struct ring_cqe **cqe_ptr,
		       unsigned wait_nr, struct __kernel_timespec *ts,
		       sigset_t *sigmask)
{
	unsigned submitted;

	return wait_ext(ring, cqe_ptr, 0, wait_nr, ts, sigmask, &submitted);
}

int io_uring_wait_cqe_timeout(struct ring *ring,
			      struct ring_cqe **cqe_ptr,
			      struct __kernel_timespec *ts)
{
	return io_uring_wait_cqes(ring, cqe_ptr, 1, ts, NULL);
}

/* The number of SQEs submitted, as the 2.3 man page says (not 0). */
int io_uring_submit_and_wait_timeout(struct ring *ring,
				     struct ring_cqe **cqe_ptr,
				     unsigned wait_nr,
				     struct __kernel_timespec *ts,
				     sigset_t *sigmask)
{
	unsigned submitted;
	int ret;

	ret = wait_ext(ring, cqe_ptr, flush_sq(ring), wait_nr, ts, sigmask,
		       &submitted);
	return ret < 0 ? ret : (int)submitted;
}

/* liburing 2.3's __io_uring_submit: SQEs pending, or what ENTER says. */
static int submit(struct ring *ring, unsigned wait_nr, bool getevents)
{
	unsigned pending = flush_sq(ring);
	bool wait = getevents || wait_nr || cq_needs_enter(ring);
	unsigned flags = 0;

	if (!sq_needs_enter(ring, pending, &flags) && !wait)
		return (int)pending;
	if (wait)
		flags |= RING_ENTER_GETEVENTS;
	return enter(ring, pending, wait_nr, flags, NULL, 0);
}

int io_uring_submit(struct ring *ring)
{
	return submit(ring, 0, false);
}

int io_uring_submit_and_wait(struct ring *ring, unsigned wait_nr)
{
	return submit(ring, wait_nr, false);
}

int io_uring_submit_and_get_events(struct ring *ring)
{
	return submit(ring, 0, true);
}

int io_uring_get_events(struct ring *ring)
{
	return enter(ring, 0, 0, RING_ENTER_GETEVENTS, NULL, 0);
}

unsigned io_uring_peek_batch_cqe(struct ring *ring,
				 struct ring_cqe **cqes, unsigned count)
{
	struct ring_cqe *first;
	unsigned ready, head, i;

	ready = peek(ring, &first);
	/* Nothing ready but a backlog: bring it in once, errors or not. */
	if (!ready && cq_needs_flush(ring)) {
		io_uring_get_events(ring);
		ready = peek(ring, &first);
	}
	if (count > ready)
		count = ready;
	head = *ring->cq.khead;
	for (i = 0; i < count; i++)
		cqes[i] = &ring->cq.cqes[(head + i) & ring->cq.ring_mask];
	return count;
}

/* The library's copy of the inline helper, as liburing exports one. */
struct ring_sqe *io_uring_get_sqe(struct ring *ring)
{
	struct ring_sq *sq = &ring->sq;
	unsigned head = __atomic_load_n(sq->khead, __ATOMIC_ACQUIRE);

	if (sq->sqe_tail + 1 - head > sq->ring_entries)
		return NULL;
	return &sq->sqes[sq->sqe_tail++ & sq->ring_mask];
}

/*
 * Called by the inline io_uring_sqring_wait() on an SQPOLL ring with a
 * full SQ: the kernel waits until its thread has freed a slot.
 */
int __io_uring_sqring_wait(struct ring *ring)
{
	return enter(ring, 0, 0, RING_ENTER_SQ_WAIT, NULL, 0);
}
