// SPDX-License-Identifier: MIT
/*
 * Submission and completion paths that may enter the kernel.
 */
#include <errno.h>

#include <libring.h>

/* Completions wait in the kernel backlog: only an ENTER moves them in. */
static bool cq_ring_needs_flush(const struct ring *ring)
{
	return ring_cq_has_overflow(ring);
}

/*
 * Or, on an IOPOLL ring, in the device until somebody polls: only an ENTER
 * with GETEVENTS does.  So submissions and peeks enter there, as liburing's.
 */
static bool cq_ring_needs_enter(const struct ring *ring)
{
	return (ring->flags & RING_SETUP_IOPOLL) || cq_ring_needs_flush(ring);
}

/*
 * Publishes the SQEs handed out since the last flush: their slots go into
 * the SQ array, then the tail is store-released so that the kernel, which
 * load-acquires it, sees complete entries. Returns how many it published.
 */
static unsigned flush_sq(struct ring *ring)
{
	struct ring_sq *sq = &ring->sq;
	unsigned tail = sq->sqe_tail;
	unsigned published = tail - sq->sqe_head;

	if (published) {
		unsigned ktail = __atomic_load_n(sq->ktail, __ATOMIC_RELAXED);

		for (; sq->sqe_head != tail; sq->sqe_head++, ktail++)
			sq->array[ktail & sq->ring_mask] =
				sq->sqe_head & sq->ring_mask;
		__atomic_store_n(sq->ktail, ktail, __ATOMIC_RELEASE);
	}
	return published;
}

/*
 * The SQ thread sets NEED_WAKEUP, then looks at the tail once more before
 * it sleeps. The full barrier orders our tail store before the flags load,
 * so that at least one side sees the other: without it the thread could
 * sleep on SQEs we think it will take.
 */
static bool sq_thread_asleep(const struct ring *ring)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(ring->sq.kflags, __ATOMIC_RELAXED) &
	       RING_SQ_NEED_WAKEUP;
}

/*
 * With an SQ thread, ENTER never consumes SQEs: it is needed only to wake
 * the thread (when SQEs wait for it) or to wait or flush the CQ backlog.
 * Returns the SQEs this call handed to the thread, as ENTER does.
 */
static int submit_sqpoll(struct ring *ring, unsigned wait_nr, bool getevents)
{
	unsigned published = flush_sq(ring);
	unsigned flags = getevents ? RING_ENTER_GETEVENTS : 0;

	/* Entries the thread has not taken: also an earlier failed wakeup's. */
	if (ring_sq_ready(ring) && sq_thread_asleep(ring))
		flags |= RING_ENTER_SQ_WAKEUP;
	if (!flags)
		return (int)published;
	return ring_enter(ring->enter_ring_fd, published, wait_nr, flags);
}

static int submit(struct ring *ring, unsigned wait_nr)
{
	bool getevents = wait_nr || cq_ring_needs_enter(ring);
	unsigned pending;

	if (ring->flags & RING_SETUP_SQPOLL)
		return submit_sqpoll(ring, wait_nr, getevents);
	flush_sq(ring);
	/* Including the entries an earlier short submit left in the ring. */
	pending = ring_sq_ready(ring);
	if (!pending && !getevents)
		return 0;
	return ring_enter(ring->enter_ring_fd, pending, wait_nr,
			  getevents ? RING_ENTER_GETEVENTS : 0);
}

int ring_submit(struct ring *ring)
{
	return submit(ring, 0);
}

int ring_submit_and_wait(struct ring *ring, unsigned wait_nr)
{
	return submit(ring, wait_nr);
}

/*
 * Only an SQ thread frees slots on its own: wait (interruptibly) for it to
 * take one when the SQ ring is full, as liburing's io_uring_sqring_wait.
 */
int ring_sqring_wait(struct ring *ring)
{
	if (!(ring->flags & RING_SETUP_SQPOLL) || ring_sq_space_left(ring))
		return 0;
	return ring_enter(ring->enter_ring_fd, 0, 0, RING_ENTER_SQ_WAIT);
}

/*
 * The first CQE once at least wait_nr are ready (wait_nr 0: peek, -EAGAIN
 * when none). An empty CQ ring with the overflow flag set, or of an IOPOLL
 * ring, is not empty for long: one ENTER moves the kernel's backlog in, or
 * polls the device.
 */
int ring_wait_cqe_nr(struct ring *ring, struct ring_cqe **cqe_ptr,
		     unsigned wait_nr)
{
	bool looped = false;
	int err = 0;

	struct ring_cqe *cqe;

	for (;;) {
		unsigned available;
		int ret;

		__ring_peek_cqe(ring, &cqe, &available);
		/*
		 * After one wait the kernel has made min(wait_nr, cq_entries)
		 * ready; wait_nr may exceed what the CQ ring can ever hold.
		 */
		if (cqe && (available >= wait_nr || looped))
			break;
		if (!cqe && !wait_nr &&
		    (looped || !cq_ring_needs_enter(ring))) {
			err = -EAGAIN;
			break;
		}
		ret = ring_enter(ring->enter_ring_fd, 0, wait_nr,
				 RING_ENTER_GETEVENTS);
		if (ret < 0) {
			err = ret;
			break;
		}
		looped = true;
	}
	*cqe_ptr = cqe;
	return err;
}

unsigned ring_peek_batch_cqe(struct ring *ring, struct ring_cqe **cqes,
			     unsigned count)
{
	bool overflow_checked = false;
	unsigned ready;

	for (;;) {
		ready = ring_cq_ready(ring);
		if (ready || overflow_checked || !cq_ring_needs_flush(ring))
			break;
		/* Errors only mean nothing more to report: as liburing. */
		ring_enter(ring->enter_ring_fd, 0, 0, RING_ENTER_GETEVENTS);
		overflow_checked = true;
	}

	if (count > ready)
		count = ready;
	if (count) {
		unsigned head = __atomic_load_n(ring->cq.khead,
						__ATOMIC_RELAXED);
		unsigned i;

		for (i = 0; i < count; i++)
			cqes[i] = &ring->cq.cqes[(head + i) &
						 ring->cq.ring_mask];
	}
	return count;
}
