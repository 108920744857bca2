// SPDX-License-Identifier: GPL-2.0
/*
 * The completion side: CQEs into the CQ ring, and the backlog that holds
 * them when the ring is full, so that no completion is ever lost.
 *
 * A completed request stays allocated until its CQE is in the ring; while
 * the ring is full it waits on ctx->backlog, in order, and the backlog is
 * flushed as the application frees slots.  Everything here runs under
 * completion_lock, which is IRQ-safe so that I/O completion callbacks in
 * interrupt context can post too.
 *
 * Tag CQEs (a registered buffer's or file's tag, once it is gone: rsrc.c,
 * filetable.c) are no request's: each comes with a struct ring_cq_aux,
 * allocated at registration (struct ring_tag), that waits in a queue of
 * its own while the backlog is non-empty.  Counting the requests that
 * went through the backlog keeps the two queues in one order.  An owed
 * tag counts in ctx->inflight until it is posted, so teardown waits for
 * it as for a request, and a tag freed by a request's completion is
 * posted after that request's CQE.
 */
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include "ring.h"

/* Free CQ slots.  A head that user space has corrupted reads as "full". */
static u32 ring_cq_space(struct ring_ctx *ctx)
{
	/* Pairs with the application's store-release of cq.head. */
	u32 used = ctx->cached_cq_tail - smp_load_acquire(&ctx->rings->cq.head);

	return used < ctx->cq_entries ? ctx->cq_entries - used : 0;
}

static void ring_cq_fill_cqe(struct ring_ctx *ctx, u64 user_data, s32 res,
			     u32 cflags)
{
	struct ring_cqe *cqe = &ctx->rings->cqes[ctx->cached_cq_tail & ctx->cq_mask];

	WRITE_ONCE(cqe->user_data, user_data);
	WRITE_ONCE(cqe->res, res);
	WRITE_ONCE(cqe->flags, cflags);
	/* Read without the lock only by fdinfo. */
	WRITE_ONCE(ctx->cached_cq_tail, ctx->cached_cq_tail + 1);
}

static void ring_cq_fill(struct ring_ctx *ctx, const struct ring_req *req)
{
	ring_cq_fill_cqe(ctx, req->user_data, req->res, req->cflags);
}

static void ring_cq_set_overflow_flag(struct ring_ctx *ctx, bool on)
{
	if (on)
		ctx->sq_flags |= RING_SQ_CQ_OVERFLOW;
	else
		ctx->sq_flags &= ~RING_SQ_CQ_OVERFLOW;
	WRITE_ONCE(ctx->rings->sq_flags, ctx->sq_flags);
}

/* Publish the CQEs filled so far and wake whoever waits for them. */
static void ring_cq_commit(struct ring_ctx *ctx)
{
	/* Pairs with the application's load-acquire of cq.tail. */
	smp_store_release(&ctx->rings->cq.tail, ctx->cached_cq_tail);
	/*
	 * The kernel's own copy, after it: whoever counts from it (waits,
	 * poll) finds those CQEs visible.  Pairs with ring_cq_ready().
	 */
	smp_store_release(&ctx->committed_cq_tail, ctx->cached_cq_tail);
}

static void ring_cq_wake(struct ring_ctx *ctx)
{
	/* wq_has_sleeper()'s barrier pairs with the one in prepare_to_wait(). */
	if (wq_has_sleeper(&ctx->cq_wait))
		wake_up(&ctx->cq_wait);
}

/*
 * Under completion_lock: @req's CQE is in the ring, keep it for reuse.
 * @cache: ring_req_alloc()'s own, when the caller holds uring_lock (a post
 * from ENTER or the SQ thread), so that the next allocation takes no lock.
 */
static void ring_req_recycle(struct ring_ctx *ctx, struct ring_req *req,
			     struct ring_req **cache)
{
	/* Chain flags of requests without a file: cleanup() never saw them. */
	req->flags = 0;
	if (cache) {
		req->next = *cache;
		*cache = req;
	} else {
		req->next = ctx->req_cache_done;
		ctx->req_cache_done = req;
		WRITE_ONCE(ctx->req_cache_done_nr, ctx->req_cache_done_nr + 1);
	}
	this_cpu_dec(ring_live_requests);
}

/*
 * @nr requests are completed.  Outside uring_lock this must be the
 * caller's last touch of @ctx: teardown frees it as soon as inflight
 * reaches zero.  (Under it the ring outlives the call: see ring_cq_post().)
 */
void ring_inflight_sub(struct ring_ctx *ctx, int nr)
{
	/* wake_up_var() only hashes the address; it reads nothing of ctx. */
	if (atomic_sub_and_test(nr, &ctx->inflight))
		wake_up_var(&ctx->inflight);
}

/* Under completion_lock: one CQE into the backlog. */
static void ring_cq_backlog_one(struct ring_ctx *ctx)
{
	WRITE_ONCE(ctx->backlog_nr, ctx->backlog_nr + 1);
	WRITE_ONCE(ctx->rings->cq_overflow, ++ctx->cq_overflow);
}

/*
 * Post @aux, owed since its buffer left the table (rsrc.c): into the CQ
 * ring, or behind everything in the backlog.  Any context.  This drops
 * the owed tag's count in ctx->inflight: the caller's last touch of @ctx.
 */
void ring_cq_post_aux(struct ring_ctx *ctx, struct ring_cq_aux *aux)
{
	unsigned long flags;

	spin_lock_irqsave(&ctx->completion_lock, flags);
	if (!ctx->backlog_nr && ring_cq_space(ctx)) {
		ring_cq_fill_cqe(ctx, aux->user_data, 0, 0);
		ring_cq_commit(ctx);
	} else {
		aux->next = NULL;
		aux->reqs_before = ctx->backlog_reqs_in;
		if (!ctx->aux_first)
			ctx->aux_tail = &ctx->aux_first;
		*ctx->aux_tail = aux;
		ctx->aux_tail = &aux->next;
		ring_cq_backlog_one(ctx);
		ring_cq_set_overflow_flag(ctx, true);
		aux = NULL;
	}
	spin_unlock_irqrestore(&ctx->completion_lock, flags);

	kfree(aux);
	ring_cq_wake(ctx);
	ring_inflight_sub(ctx, 1);
}

/* A tag CQE for @user_data (none for 0), allocated now: posting cannot fail. */
int ring_tag_init(struct ring_tag *tag, u64 user_data)
{
	tag->ctx = NULL;
	tag->aux = NULL;
	if (!user_data)
		return 0;
	tag->aux = kmalloc(sizeof(*tag->aux), GFP_KERNEL_ACCOUNT);
	if (!tag->aux)
		return -ENOMEM;
	tag->aux->user_data = user_data;
	return 0;
}

/*
 * Under uring_lock: the tagged resource left @ctx's table.  Its tag is
 * owed from now on and counts as in flight until posted.  The last put
 * of the resource sees tag->ctx: refcount_dec_and_test() orders it.
 */
void ring_tag_owe(struct ring_ctx *ctx, struct ring_tag *tag)
{
	if (!tag->aux)
		return;
	tag->ctx = ctx;
	WRITE_ONCE(ctx->tags_owed, ctx->tags_owed + 1);
	atomic_inc(&ctx->inflight);
}

/*
 * The resource is freed: its tag, if owed, is posted (the caller's last
 * touch of the ring, which may go once it is), else just freed.
 */
void ring_tag_release(struct ring_tag *tag)
{
	if (tag->ctx)
		ring_cq_post_aux(tag->ctx, tag->aux);
	else
		kfree(tag->aux);
}

/*
 * Before @req's CQE: its file and buffers go, except a reference on a
 * tagged buffer or registered file, kept in rw.buf or file_node until the
 * CQE is out: the tag, if this is the last user, must come after it (as
 * io_uring's).
 */
static void ring_req_release(struct ring_req *req)
{
	struct ring_buf *tagged = ring_buf_take_tagged(req);
	struct ring_file_node *node = req->file_node;
	u16 no_cqe = req->flags & RING_REQ_F_NO_CQE;

	if (unlikely(node && ring_file_node_tagged(node))) {
		req->file_node = NULL;
		req->file = NULL;
	} else {
		node = NULL;
	}
	ring_req_cleanup(req);
	req->flags |= no_cqe;
	if (unlikely(tagged)) {
		req->rw.buf = tagged;
		req->flags |= RING_REQ_F_TAGGED_BUF;
	}
	if (unlikely(node)) {
		req->file_node = node;
		req->flags |= RING_REQ_F_TAGGED_FILE;
	}
}

/*
 * Under completion_lock, @req's CQE in the ring or the backlog: the rest
 * of ring_req_release().  A last put leaves the free, then the tag CQE,
 * to the workqueue: both need what this lock excludes.
 */
static void ring_req_release_tagged(struct ring_req *req)
{
	if (unlikely(req->flags & RING_REQ_F_TAGGED_FILE)) {
		req->flags &= ~RING_REQ_F_TAGGED_FILE;
		ring_file_node_put_async(req->file_node);
		req->file_node = NULL;
	}
	if (likely(!(req->flags & RING_REQ_F_TAGGED_BUF)))
		return;
	req->flags &= ~RING_REQ_F_TAGGED_BUF;
	ring_buf_put_async(req->rw.buf);
	req->rw.buf = NULL;
}

/*
 * Post the CQEs of the completed requests on @done, in order.  Those the
 * ring has no room for join the backlog, behind any already there.  What
 * their completion frees to start (chain successors, drained requests)
 * goes to @ready, inside ENTER, or else to the ring's workers.
 */
static void ring_cq_post(struct ring_ctx *ctx, struct ring_batch *done,
			 struct ring_batch *ready)
{
	struct ring_batch start, cancelled;
	struct ring_req *req, *next, **cache = NULL;
	unsigned long flags;
	int nr;
	u32 space;

	if (!done->first)
		return;
	if (ready) {
		lockdep_assert_held(&ctx->uring_lock);
		cache = &ctx->req_cache;
	}
again:
	/*
	 * Files and buffers are released before the application hears.  A
	 * cancelled chain joins @done here, and this loop reaches it too.
	 */
	ring_batch_init(&start);
	nr = 0;
	for (req = done->first; req; req = req->next) {
		if (unlikely(req->flags & RING_REQ_F_CHAIN))
			ring_chain_done(ctx, req, done, &start);
		if (req->file)
			ring_req_release(req);
		nr++;
	}

	spin_lock_irqsave(&ctx->completion_lock, flags);
	space = ctx->backlog_nr ? 0 : ring_cq_space(ctx);
	for (req = done->first; req; req = next) {
		next = req->next;
		if (unlikely(req->flags & RING_REQ_F_NO_CQE)) {
			WRITE_ONCE(ctx->cq_skipped, ctx->cq_skipped + 1);
			ring_req_release_tagged(req);
			ring_req_recycle(ctx, req, cache);
			continue;
		}
		if (likely(space)) {
			ring_cq_fill(ctx, req);
			ring_req_release_tagged(req);
			ring_req_recycle(ctx, req, cache);
			space--;
			continue;
		}
		ring_req_release_tagged(req);
		list_add_tail(&req->node, &ctx->backlog);
		ctx->backlog_reqs_in++;
		ring_cq_backlog_one(ctx);
	}
	ctx->done_seq += nr;
	if (unlikely(ctx->defer_nr))
		ring_defer_release(ctx, &start);
	if (ctx->backlog_nr)
		ring_cq_set_overflow_flag(ctx, true);
	ring_cq_commit(ctx);
	spin_unlock_irqrestore(&ctx->completion_lock, flags);

	ring_cq_wake(ctx);
	/* They hold their own inflight counts: the ring stays. */
	if (unlikely(start.first)) {
		if (ready && !READ_ONCE(ctx->dying)) {
			*ready->tail = start.first;
			ready->tail = start.tail;
			ring_batch_init(&start);
		} else {
			/* What a dying ring refuses stays on @start. */
			ring_chain_queue(&start);
		}
	}
	/*
	 * Under uring_lock nobody waits for the count, and the ring outlives
	 * this: ENTER's caller holds the file, so teardown has not begun;
	 * teardown stops the SQ thread before it waits, and its own polling
	 * checks the count after this.  So no wake-up (a hash and a
	 * wait-queue look per ENTER that empties the ring), unless the ring
	 * is dying: should that ever change, teardown is not kept waiting.
	 */
	if (cache) {
		if (!atomic_sub_return(nr, &ctx->inflight) &&
		    unlikely(READ_ONCE(ctx->dying)))
			wake_up_var(&ctx->inflight);
	} else {
		ring_inflight_sub(ctx, nr);
	}
	/*
	 * A dying ring cancels what would have started: it is posted by this
	 * loop, never by a nested call, so that however many requests a task
	 * sharing the mm keeps feeding in, the stack (maybe an IRQ's) stays
	 * one frame deep.
	 */
	if (unlikely(start.first)) {
		ring_chain_cancel(&start);
		cancelled = start;
		done = &cancelled;
		goto again;
	}
}

void ring_cq_post_batch(struct ring_ctx *ctx, struct ring_batch *done)
{
	ring_cq_post(ctx, done, NULL);
}

/* From ENTER, under uring_lock: the submitter starts @ready itself. */
void ring_cq_post_submit(struct ring_ctx *ctx, struct ring_batch *done,
			 struct ring_batch *ready)
{
	ring_cq_post(ctx, done, ready);
}

/*
 * Under completion_lock: the backlog's oldest tag CQE if nothing older is
 * in the backlog, then the oldest request; NULL for a request.
 */
static struct ring_cq_aux *ring_cq_backlog_aux(struct ring_ctx *ctx)
{
	struct ring_cq_aux *aux = ctx->aux_first;

	if (!aux)
		return NULL;
	/* Every request queued before it is out, or none is left at all. */
	if ((s32)(ctx->backlog_reqs_out - aux->reqs_before) >= 0 ||
	    list_empty(&ctx->backlog))
		return aux;
	return NULL;
}

/* ring_cq_flush_backlog() with a backlog: move what the CQ ring has room for. */
void __ring_cq_flush_backlog(struct ring_ctx *ctx)
{
	struct ring_cq_aux *aux;
	struct ring_req *req;
	unsigned long flags;
	bool posted = false;
	u32 space;

	spin_lock_irqsave(&ctx->completion_lock, flags);
	space = ring_cq_space(ctx);
	for (; space && ctx->backlog_nr; space--) {
		aux = ring_cq_backlog_aux(ctx);
		if (aux) {
			ring_cq_fill_cqe(ctx, aux->user_data, 0, 0);
			ctx->aux_first = aux->next;
			kfree(aux);
		} else {
			req = list_first_entry(&ctx->backlog, struct ring_req,
					       node);
			ring_cq_fill(ctx, req);
			list_del(&req->node);
			ring_req_recycle(ctx, req, NULL);
			ctx->backlog_reqs_out++;
		}
		WRITE_ONCE(ctx->backlog_nr, ctx->backlog_nr - 1);
		posted = true;
	}
	if (!ctx->backlog_nr)
		ring_cq_set_overflow_flag(ctx, false);
	ring_cq_commit(ctx);
	spin_unlock_irqrestore(&ctx->completion_lock, flags);

	if (posted)
		ring_cq_wake(ctx);
}

/* Teardown: nobody can post or wait any more; the cache frees them. */
void ring_cq_free_backlog(struct ring_ctx *ctx)
{
	struct ring_req *req, *tmp;
	struct ring_cq_aux *aux;

	list_for_each_entry_safe(req, tmp, &ctx->backlog, node)
		ring_req_recycle(ctx, req, NULL);
	INIT_LIST_HEAD(&ctx->backlog);
	while ((aux = ctx->aux_first)) {
		ctx->aux_first = aux->next;
		kfree(aux);
	}
	ctx->backlog_nr = 0;
}

/*
 * Backlogged CQEs the CQ ring now has room for: the application reaped by
 * moving cq.head alone, which wakes nobody, so a waiter must flush them.
 */
bool ring_cq_backlog_movable(struct ring_ctx *ctx)
{
	return READ_ONCE(ctx->backlog_nr) && ring_cq_space(ctx);
}

bool ring_sq_has_space(struct ring_ctx *ctx)
{
	u32 queued = READ_ONCE(ctx->rings->sq.tail) -
		     READ_ONCE(ctx->cached_sq_head);

	return queued < ctx->sq_entries;
}
