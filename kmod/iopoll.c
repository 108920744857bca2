// SPDX-License-Identifier: GPL-2.0
/*
 * RING_SETUP_IOPOLL: O_DIRECT reads and writes whose completion is found by
 * polling the device (null_blk and NVMe poll queues) instead of waiting for
 * an interrupt, as io_uring's IORING_SETUP_IOPOLL.
 *
 * A polled request is issued with IOCB_HIPRI; once the file has accepted it
 * (-EIOCBQUEUED) the issuer puts it on the iopoll list.  Its ki_complete
 * only records the result: the request stays on the list, owned by the
 * list, until a reaper takes it off and completes it.  The reaper is ENTER
 * with GETEVENTS or the SQ thread, under uring_lock, or teardown: one at a
 * time.  The list is theirs, under uring_lock, and the submission, which
 * holds it too, appends to it directly; a worker appends to a list of its
 * own under iopoll_lock, which the reaper takes over before each round.
 * A device without poll queues completes such I/O by interrupt:
 * ki_complete runs in IRQ context, and the reaper finds the request done
 * all the same.
 *
 * Nothing is cancelled here: a bio in flight cannot be, so teardown polls
 * the list empty before it waits for the rest.
 */
#include <linux/blkdev.h>
#include <linux/sched/signal.h>

#include "opdef.h"

/* The file took @req (-EIOCBQUEUED): it waits for a reaper. */
void ring_iopoll_add(struct ring_req *req, unsigned int issue_flags)
{
	struct ring_ctx *ctx = req->ctx;

	req->next = NULL;
	if (issue_flags & RING_ISSUE_LOCKED) {
		lockdep_assert_held(&ctx->uring_lock);
		/* WRITE_ONCE: the first link is read without the lock. */
		WRITE_ONCE(*ctx->iopoll_tail, req);
		ctx->iopoll_tail = &req->next;
		return;
	}
	spin_lock(&ctx->iopoll_lock);
	WRITE_ONCE(*ctx->iopoll_remote_tail, req);
	ctx->iopoll_remote_tail = &req->next;
	spin_unlock(&ctx->iopoll_lock);
}

/*
 * Polled requests on either list: a reaper has something to do.  Read
 * without the locks, as a hint; whoever acts on it takes uring_lock.
 */
bool ring_iopoll_pending(struct ring_ctx *ctx)
{
	return READ_ONCE(ctx->iopoll_first) ||
	       READ_ONCE(ctx->iopoll_remote_first);
}

/* Under uring_lock: the workers' requests join the reaper's list. */
static void ring_iopoll_take_remote(struct ring_ctx *ctx)
{
	if (!READ_ONCE(ctx->iopoll_remote_first))
		return;
	spin_lock(&ctx->iopoll_lock);
	WRITE_ONCE(*ctx->iopoll_tail, ctx->iopoll_remote_first);
	ctx->iopoll_tail = ctx->iopoll_remote_tail;
	WRITE_ONCE(ctx->iopoll_remote_first, NULL);
	ctx->iopoll_remote_tail = &ctx->iopoll_remote_first;
	spin_unlock(&ctx->iopoll_lock);
}

/*
 * Under uring_lock: poll each request on the list once, then move the
 * finished ones, in order, to @done.  @spin: wait in the driver for the
 * first completion.
 */
static void ring_iopoll_reap(struct ring_ctx *ctx, struct ring_batch *done,
			     bool spin)
{
	unsigned int poll_flags = spin ? 0 : BLK_POLL_ONESHOT;
	DEFINE_IO_COMP_BATCH(iob);
	struct ring_req *req, **prev;
	int ret;

	for (req = ctx->iopoll_first; req; req = req->next) {
		if (READ_ONCE(req->iopoll_done))
			break;
		ret = req->file->f_op->iopoll(&req->rw.kiocb, &iob, poll_flags);
		if (ret < 0)
			break;
		if (ret)
			poll_flags |= BLK_POLL_ONESHOT;
		/* Complete what the driver batched before polling further. */
		if (iob.complete || READ_ONCE(req->iopoll_done))
			break;
	}
	/* The driver set ->complete when it batched a request (both kernels). */
	if (iob.complete)
		iob.complete(&iob);

	prev = &ctx->iopoll_first;
	while ((req = *prev)) {
		if (!smp_load_acquire(&req->iopoll_done)) {
			prev = &req->next;
			continue;
		}
		/* Off the list before a retry may put it on a worker's. */
		WRITE_ONCE(*prev, req->next);
		ring_rw_iopoll_done(req, done);
	}
	ctx->iopoll_tail = prev;
}

/*
 * One round: poll and reap the list.  Returns the number of requests
 * reaped.  With uring_lock held.
 */
unsigned int ring_iopoll_round(struct ring_ctx *ctx, bool spin)
{
	struct ring_batch done;
	struct ring_req *req;
	unsigned int nr = 0;

	ring_iopoll_take_remote(ctx);
	if (!ctx->iopoll_first)
		return 0;

	ring_batch_init(&done);
	ring_iopoll_reap(ctx, &done, spin);
	for (req = done.first; req; req = req->next)
		nr++;
	/* Successors of finished chain members start here, as in ENTER. */
	ring_submit_flush(ctx, &done);
	return nr;
}

/*
 * ENTER with GETEVENTS on an IOPOLL ring: poll until @min_complete CQEs
 * are there, nothing is left to poll, or a signal.  Never sleeps, as
 * io_uring's: an application that asks for more than it submitted gets
 * what there is.
 */
int ring_iopoll_getevents(struct ring_ctx *ctx, u32 min_complete)
{
	bool polled = false;

	min_complete = min(min_complete, ctx->cq_entries);
	for (;;) {
		ring_cq_flush_backlog(ctx);
		if (ring_cq_ready(ctx) >= min_complete && (polled || min_complete))
			return 0;
		if (!ring_iopoll_pending(ctx))
			return 0;
		mutex_lock(&ctx->uring_lock);
		ring_iopoll_round(ctx, min_complete > 0);
		mutex_unlock(&ctx->uring_lock);
		polled = true;
		if (signal_pending(current))
			return ring_cq_ready(ctx) ? 0 : -EINTR;
		cond_resched();
	}
}

/* Teardown: the ring's last polled I/O has to be polled to its end. */
void ring_iopoll_reap_all(struct ring_ctx *ctx)
{
	while (ring_iopoll_pending(ctx)) {
		mutex_lock(&ctx->uring_lock);
		ring_iopoll_round(ctx, false);
		mutex_unlock(&ctx->uring_lock);
		cond_resched();
	}
}
