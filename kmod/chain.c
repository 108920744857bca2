// SPDX-License-Identifier: GPL-2.0
/*
 * Request chains (RING_SQE_IO_LINK, RING_SQE_IO_HARDLINK), CQE_SKIP_SUCCESS
 * and RING_SQE_IO_DRAIN: what happens when a request completes, beyond its
 * CQE, and what waits for what.
 *
 * A chain is built at submission: every member is prepared (file, buffer,
 * credentials) and linked through ->link before the head is started.  A
 * member that has not started is reachable only through its predecessor,
 * which owns it: whoever completes the predecessor (submitter, IRQ,
 * worker, cancellation) takes the next member, and either starts it or
 * completes it, with the rest of the chain, as cancelled.  So a member has
 * one owner at every moment, as any request does.
 *
 * A member is started by the submitting task if the predecessor completed
 * there, inside ENTER; otherwise by one of the ring's workers, which run it
 * in the owner's mm with the submitter's credentials (async.c).
 *
 * Drain: every request takes a sequence number at submission
 * (ctx->submit_seq); ctx->done_seq counts completions, CQE or not.  A
 * drained request starts when every request before it has completed, and
 * while one waits, everything submitted after it waits behind it, in order,
 * on ctx->defer_list.  Both counters and the list are under completion_lock,
 * so a completion and a submission cannot both miss the other.
 */
#include "opdef.h"

/* Failed, as far as a chain or CQE_SKIP_SUCCESS is concerned. */
static bool ring_req_failed(const struct ring_req *req)
{
	if (req->res < 0 || (req->flags & RING_REQ_F_FAIL))
		return true;
	/* A short read or write fails a link, as in io_uring. */
	return (req->flags & RING_REQ_F_FULL_LEN) && req->res != req->len;
}

/*
 * @req, with RING_REQ_F_CHAIN flags, has its result: decide whether it
 * gets a CQE, and hand its successor to @next (to be started) or, cancelled
 * with everything after it, to @done (to be completed in the same batch).
 * Any context, before completion_lock.
 */
void ring_chain_done(struct ring_ctx *ctx, struct ring_req *req,
		     struct ring_batch *done, struct ring_batch *next)
{
	struct ring_req *nxt = req->link, *after;
	bool failed = ring_req_failed(req);
	bool skip_cancelled = false;

	if (req->flags & RING_REQ_F_CQE_SKIP) {
		if (!failed)
			req->flags |= RING_REQ_F_NO_CQE;
		else	/* Its own CQE says why; the cancelled ones say nothing. */
			skip_cancelled = true;
	}
	if (!nxt)
		return;
	req->link = NULL;

	/*
	 * A hard link goes on after a failure, unless the chain failed at
	 * submission (RING_REQ_F_FAIL on its head): then nothing of it runs.
	 */
	if (!READ_ONCE(ctx->dying) &&
	    (!failed || (req->flags & (RING_REQ_F_HARDLINK | RING_REQ_F_FAIL)) ==
			RING_REQ_F_HARDLINK)) {
		ring_batch_add(next, nxt);
		return;
	}
	for (; nxt; nxt = after) {
		after = nxt->link;
		nxt->link = NULL;
		/* One that failed at submission keeps its own errno. */
		if (!(nxt->flags & RING_REQ_F_FAIL))
			nxt->res = -ECANCELED;
		/*
		 * Unlike io_uring, which skips it too, one that failed at
		 * submission still says why.
		 */
		if (skip_cancelled && !(nxt->flags & RING_REQ_F_FAIL))
			nxt->flags |= RING_REQ_F_NO_CQE;
		/* Decided: the completion loop must not look at it again. */
		nxt->flags &= ~RING_REQ_F_CHAIN;
		ring_batch_add(done, nxt);
	}
}

/* Under completion_lock: may @req start, as far as draining goes? */
static bool ring_req_drained(struct ring_ctx *ctx, struct ring_req *req)
{
	return !(req->flags & RING_REQ_F_DRAIN) ||
	       (s32)(ctx->done_seq - req->seq) >= 0;
}

/* The requests of the chain @req heads (1 for a request alone). */
static u32 ring_chain_len(const struct ring_req *req)
{
	u32 n = 0;

	for (; req; req = req->link)
		n++;
	return n;
}

/*
 * Submission, under uring_lock: @req (a chain's head, or alone) must wait
 * for earlier requests, or behind others that do.  True: it is on the
 * defer list and a completion starts it; false: start it now.
 */
bool ring_req_defer(struct ring_ctx *ctx, struct ring_req *req)
{
	bool defer;

	spin_lock_irq(&ctx->completion_lock);
	/*
	 * Nothing joins the list of a dying ring: it was emptied once, and
	 * a task sharing the mm must not keep it growing.  The request fails
	 * instead (ring_req_start() only completes it).  ->dying is set
	 * before cancellation takes this lock to empty the list.
	 */
	if (unlikely(READ_ONCE(ctx->dying))) {
		if (!(req->flags & RING_REQ_F_FAIL))
			req->res = -ECANCELED;
		req->flags |= RING_REQ_F_FAIL;
		spin_unlock_irq(&ctx->completion_lock);
		return false;
	}
	defer = ctx->defer_nr || !ring_req_drained(ctx, req);
	if (defer) {
		list_add_tail(&req->node, &ctx->defer_list);
		WRITE_ONCE(ctx->defer_nr, ctx->defer_nr + 1);
		WRITE_ONCE(ctx->defer_reqs,
			   ctx->defer_reqs + ring_chain_len(req));
	}
	spin_unlock_irq(&ctx->completion_lock);
	return defer;
}

/*
 * Under completion_lock, after done_seq moved: what may start now, in
 * order.  On a dying ring, nothing: cancellation, which follows every
 * setting of ->dying, takes the whole list off and completes it in
 * process context, not here, maybe in an interrupt.
 */
void ring_defer_release(struct ring_ctx *ctx, struct ring_batch *out)
{
	struct ring_req *req, *tmp;

	if (READ_ONCE(ctx->dying))
		return;
	list_for_each_entry_safe(req, tmp, &ctx->defer_list, node) {
		if (!ring_req_drained(ctx, req))
			break;
		list_del_init(&req->node);
		WRITE_ONCE(ctx->defer_nr, ctx->defer_nr - 1);
		WRITE_ONCE(ctx->defer_reqs,
			   ctx->defer_reqs - ring_chain_len(req));
		ring_batch_add(out, req);
	}
}

/*
 * Requests free to start that must not (the ring is dying): each will
 * complete with -ECANCELED, its chain with it, in the caller's next batch.
 */
void ring_chain_cancel(struct ring_batch *reqs)
{
	struct ring_req *req;

	for (req = reqs->first; req; req = req->next)
		if (!(req->flags & RING_REQ_F_FAIL))
			req->res = -ECANCELED;
}

/*
 * Requests free to start (successors, drained requests) outside ENTER: the
 * ring's workers run them, trying first without blocking.  Those a dying
 * ring refuses are left on @start, for the caller to cancel.
 */
void ring_chain_queue(struct ring_batch *start)
{
	struct ring_req *req, *next;
	struct ring_batch refused;

	ring_batch_init(&refused);
	for (req = start->first; req; req = next) {
		next = req->next;
		req->flags |= RING_REQ_F_TRY_NOWAIT;
		if (!ring_async_queue_new(req))
			ring_batch_add(&refused, req);
	}
	*start = refused;
	if (!start->first)
		start->tail = &start->first;
}

/* Cancellation: the drained requests that wait end, and their chains. */
void ring_chain_cancel_deferred(struct ring_ctx *ctx)
{
	struct ring_req *req, *tmp;
	LIST_HEAD(deferred);

	spin_lock_irq(&ctx->completion_lock);
	list_splice_init(&ctx->defer_list, &deferred);
	WRITE_ONCE(ctx->defer_nr, 0);
	WRITE_ONCE(ctx->defer_reqs, 0);
	spin_unlock_irq(&ctx->completion_lock);

	list_for_each_entry_safe(req, tmp, &deferred, node) {
		list_del_init(&req->node);
		ring_req_complete(req, req->flags & RING_REQ_F_FAIL ? req->res :
								   -ECANCELED);
		cond_resched();
	}
}
