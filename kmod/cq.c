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

static void ring_cq_fill(struct ring_ctx *ctx, const struct ring_req *req)
{
	struct ring_cqe *cqe = &ctx->rings->cqes[ctx->cached_cq_tail & ctx->cq_mask];

	WRITE_ONCE(cqe->user_data, req->user_data);
	WRITE_ONCE(cqe->res, req->res);
	WRITE_ONCE(cqe->flags, req->cflags);
	/* Plain-read elsewhere without the lock: ring_cq_ready(). */
	WRITE_ONCE(ctx->cached_cq_tail, ctx->cached_cq_tail + 1);
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
}

static void ring_cq_wake(struct ring_ctx *ctx)
{
	/* wq_has_sleeper()'s barrier pairs with the one in prepare_to_wait(). */
	if (wq_has_sleeper(&ctx->cq_wait))
		wake_up(&ctx->cq_wait);
}

/* Under completion_lock: @req's CQE is in the ring, keep it for reuse. */
static void ring_req_recycle(struct ring_ctx *ctx, struct ring_req *req)
{
	req->next = ctx->req_cache_done;
	ctx->req_cache_done = req;
	WRITE_ONCE(ctx->req_cache_done_nr, ctx->req_cache_done_nr + 1);
	this_cpu_dec(ring_live_requests);
}

/*
 * @nr requests are completed.  This must be the caller's last touch of
 * @ctx: teardown frees it as soon as inflight reaches zero.
 */
void ring_inflight_sub(struct ring_ctx *ctx, int nr)
{
	/* wake_up_var() only hashes the address; it reads nothing of ctx. */
	if (atomic_sub_and_test(nr, &ctx->inflight))
		wake_up_var(&ctx->inflight);
}

/*
 * Post the CQEs of the completed requests on @done, in order.  Those the
 * ring has no room for join the backlog, behind any already there.
 */
void ring_cq_post_batch(struct ring_ctx *ctx, struct ring_batch *done)
{
	struct ring_req *req, *next;
	unsigned long flags;
	int nr = 0;
	u32 space;

	if (!done->first)
		return;

	/* Files and buffers are released before the application hears. */
	for (req = done->first; req; req = req->next) {
		if (req->file)
			ring_req_cleanup(req);
		nr++;
	}

	spin_lock_irqsave(&ctx->completion_lock, flags);
	space = ctx->backlog_nr ? 0 : ring_cq_space(ctx);
	for (req = done->first; req; req = next) {
		next = req->next;
		if (likely(space)) {
			ring_cq_fill(ctx, req);
			ring_req_recycle(ctx, req);
			space--;
			continue;
		}
		list_add_tail(&req->node, &ctx->backlog);
		WRITE_ONCE(ctx->backlog_nr, ctx->backlog_nr + 1);
		WRITE_ONCE(ctx->rings->cq_overflow, ++ctx->cq_overflow);
	}
	if (ctx->backlog_nr)
		ring_cq_set_overflow_flag(ctx, true);
	ring_cq_commit(ctx);
	spin_unlock_irqrestore(&ctx->completion_lock, flags);

	ring_cq_wake(ctx);
	ring_inflight_sub(ctx, nr);
}

/* Move what the CQ ring has room for from the backlog into it. */
void ring_cq_flush_backlog(struct ring_ctx *ctx)
{
	struct ring_req *req, *tmp;
	unsigned long flags;
	bool posted = false;
	u32 space;

	if (!READ_ONCE(ctx->backlog_nr))
		return;

	spin_lock_irqsave(&ctx->completion_lock, flags);
	space = ring_cq_space(ctx);
	list_for_each_entry_safe(req, tmp, &ctx->backlog, node) {
		if (!space)
			break;
		ring_cq_fill(ctx, req);
		list_del(&req->node);
		ring_req_recycle(ctx, req);
		WRITE_ONCE(ctx->backlog_nr, ctx->backlog_nr - 1);
		posted = true;
		space--;
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

	list_for_each_entry_safe(req, tmp, &ctx->backlog, node)
		ring_req_recycle(ctx, req);
	INIT_LIST_HEAD(&ctx->backlog);
	ctx->backlog_nr = 0;
}

/* CQEs in the ring that the application has not consumed yet. */
u32 ring_cq_ready(struct ring_ctx *ctx)
{
	u32 ready = READ_ONCE(ctx->cached_cq_tail) -
		    smp_load_acquire(&ctx->rings->cq.head);

	return min(ready, ctx->cq_entries);
}

bool ring_sq_has_space(struct ring_ctx *ctx)
{
	u32 queued = READ_ONCE(ctx->rings->sq.tail) -
		     READ_ONCE(ctx->cached_sq_head);

	return queued < ctx->sq_entries;
}
