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
 * Publishes the SQEs handed out since the last flush: their slots go into
 * the SQ array, then the tail is store-released so that the kernel, which
 * load-acquires it, sees complete entries. Returns how many entries the
 * kernel has not consumed yet (including ones from an earlier short submit).
 */
static unsigned flush_sq(struct ring *ring)
{
	struct ring_sq *sq = &ring->sq;
	unsigned tail = sq->sqe_tail;

	if (sq->sqe_head != tail) {
		unsigned ktail = __atomic_load_n(sq->ktail, __ATOMIC_RELAXED);

		for (; sq->sqe_head != tail; sq->sqe_head++, ktail++)
			sq->array[ktail & sq->ring_mask] =
				sq->sqe_head & sq->ring_mask;
		__atomic_store_n(sq->ktail, ktail, __ATOMIC_RELEASE);
	}
	return tail - __atomic_load_n(sq->khead, __ATOMIC_ACQUIRE);
}

static int submit(struct ring *ring, unsigned wait_nr)
{
	unsigned submitted = flush_sq(ring);
	bool getevents = wait_nr || cq_ring_needs_flush(ring);

	if (!submitted && !getevents)
		return 0;
	return ring_enter(ring->enter_ring_fd, submitted, wait_nr,
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
 * The first CQE once at least wait_nr are ready (wait_nr 0: peek, -EAGAIN
 * when none). An empty CQ ring with the overflow flag set is not empty for
 * long: one ENTER moves the kernel's backlog in.
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
		    (looped || !cq_ring_needs_flush(ring))) {
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
