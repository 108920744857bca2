// SPDX-License-Identifier: GPL-2.0
/*
 * RING_IOC_ENTER: consume SQEs, issue them through the opcode table, and
 * wait for completions.
 */
#include <linux/blkdev.h>
#include <linux/file.h>
#include <linux/indirect_call_wrapper.h>
#include <linux/nospec.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "opdef.h"

static struct kmem_cache *ring_req_cachep;

int ring_req_cache_init(void)
{
	/*
	 * SLAB_ACCOUNT: requests are charged to the submitter's memory cgroup.
	 * import_iovec() copies user iovecs into rw.fast_iov: the one field
	 * hardened usercopy must let user data into.
	 */
	ring_req_cachep = KMEM_CACHE_USERCOPY(ring_req, SLAB_ACCOUNT,
					      rw.fast_iov);
	return ring_req_cachep ? 0 : -ENOMEM;
}

void ring_req_cache_exit(void)
{
	kmem_cache_destroy(ring_req_cachep);
}

DEFINE_PER_CPU(long, ring_live_requests);

/*
 * With uring_lock held.  Requests are recycled through the ring's own
 * cache: completions return them under completion_lock, submission takes
 * them back in bulk, and the slab is touched only when both are empty.
 */
static struct ring_req *ring_req_alloc(struct ring_ctx *ctx)
{
	struct ring_req *req;

	if (unlikely(!ctx->req_cache) && READ_ONCE(ctx->req_cache_done_nr)) {
		spin_lock_irq(&ctx->completion_lock);
		ctx->req_cache = ctx->req_cache_done;
		ctx->req_cache_done = NULL;
		WRITE_ONCE(ctx->req_cache_done_nr, 0);
		spin_unlock_irq(&ctx->completion_lock);
	}
	req = ctx->req_cache;
	if (likely(req)) {
		ctx->req_cache = req->next;
	} else {
		req = kmem_cache_alloc(ring_req_cachep, GFP_KERNEL);
		if (unlikely(!req))
			return NULL;
		/* What every request leaves as it found: set once. */
		req->ctx = ctx;
		req->cflags = 0;
		req->opcode = RING_OP_NOP;	/* no cleanup() until prep() */
		req->flags = 0;
		req->file = NULL;
		req->creds = NULL;
		INIT_LIST_HEAD(&req->poll.node);
	}
	atomic_inc(&ctx->inflight);
	this_cpu_inc(ring_live_requests);
	return req;
}

/*
 * Any context, once the request is done: drop what it holds and leave it
 * as ring_req_alloc() expects to find it.  poll.node is unlisted by then
 * (async.c).  Only requests that got their file hold anything: prep()
 * takes the file before the rest, submission the credentials after it.
 */
void ring_req_cleanup(struct ring_req *req)
{
	const struct ring_opdef *def = &ring_opdefs[req->opcode];

	if (def->cleanup)
		def->cleanup(req);
	if (req->file) {
		fput(req->file);
		req->file = NULL;
	}
	if (req->creds) {
		put_cred(req->creds);
		req->creds = NULL;
	}
	req->opcode = RING_OP_NOP;
	req->flags = 0;
}

static void ring_req_stack_free(struct ring_req *req)
{
	while (req) {
		struct ring_req *next = req->next;

		kmem_cache_free(ring_req_cachep, req);
		req = next;
	}
}

/* Teardown: the caches hold every request not in flight or backlog. */
void ring_req_cache_free(struct ring_ctx *ctx)
{
	ring_req_stack_free(ctx->req_cache);
	ring_req_stack_free(ctx->req_cache_done);
	ctx->req_cache = ctx->req_cache_done = NULL;
}

/* Fields no opcode accepts yet: flags, personality, splice fd, padding. */
static bool ring_sqe_common_valid(const struct ring_sqe *sqe)
{
	return !sqe->flags && !sqe->personality && !sqe->splice_fd_in &&
	       !sqe->__pad2[0] && !sqe->__pad2[1];
}

/*
 * Run @req once.  Finished requests go on @done for one batched CQ post,
 * or, with no batch (workers, wake-ups), are posted at once.
 */
void ring_req_issue(struct ring_req *req, unsigned int issue_flags,
		    struct ring_batch *done)
{
	/* Direct calls for the hot handlers: no retpoline per request. */
	int ret = INDIRECT_CALL_2(ring_opdefs[req->opcode].issue, ring_rw_issue,
				  ring_nop_issue, req, issue_flags);

	/* The request may already be completed and freed by its owner. */
	if (ret == -EIOCBQUEUED)
		return;
	/* A cancelled worker's wait: never leak kernel-only errnos. */
	if (unlikely(ret == -ERESTARTSYS || ret == -ERESTARTNOINTR ||
		     ret == -ERESTARTNOHAND || ret == -ERESTART_RESTARTBLOCK))
		ret = READ_ONCE(req->ctx->dying) ? -ECANCELED : -EINTR;
	if (ret == -EAGAIN && (issue_flags & RING_ISSUE_NONBLOCK) &&
	    !(req->flags & RING_REQ_F_NOWAIT)) {
		ring_async_punt(req);
		return;
	}
	if (!done) {
		ring_req_complete(req, ret);
		return;
	}
	req->res = ret;
	ring_batch_add(done, req);
}

/* Post one finished request's CQE; any context. */
void ring_req_complete(struct ring_req *req, int res)
{
	struct ring_batch done;

	req->res = res;
	ring_batch_init(&done);
	ring_batch_add(&done, req);
	ring_cq_post_batch(req->ctx, &done);
}

/* Prepare and start the request for one private copy of an SQE. */
static void ring_issue_sqe(struct ring_req *req, const struct ring_sqe *sqe,
			   struct ring_batch *done)
{
	const struct ring_opdef *def = ring_opdef_get(sqe->opcode);
	int ret;

	req->user_data = sqe->user_data;
	if (unlikely(!def || !ring_sqe_common_valid(sqe))) {
		ret = -EINVAL;
		goto fail;
	}
	req->opcode = sqe->opcode;
	ret = INDIRECT_CALL_2(def->prep, ring_rw_prep, ring_nop_prep, req, sqe);
	if (unlikely(ret))
		goto fail;
	/* A worker may finish it, even after an O_DIRECT -EAGAIN in an IRQ. */
	if (req->file) {
		req->creds = get_current_cred();
		req->fsize = rlimit(RLIMIT_FSIZE);
	}
	ring_req_issue(req, RING_ISSUE_NONBLOCK, done);
	return;
fail:
	req->res = ret;
	ring_batch_add(done, req);
}

/* Consume up to @to_submit SQEs; called with uring_lock held. */
static int ring_submit_sqes(struct ring_ctx *ctx, u32 to_submit)
{
	struct ring_rings *rings = ctx->rings;
	u32 head = ctx->cached_sq_head;
	u32 nr, submitted = 0;
	struct ring_batch done;
	struct blk_plug plug;
	bool plug_started;
	struct ring_sqe sqe;
	int ret = 0;

	ring_batch_init(&done);
	/* Pairs with the application's store-release of sq.tail. */
	nr = smp_load_acquire(&rings->sq.tail) - head;
	nr = min3(nr, to_submit, ctx->sq_entries);

	/* Several block requests reach the driver as one batch. */
	plug_started = nr > 1;
	if (plug_started)
		blk_start_plug(&plug);
	while (nr--) {
		u32 idx = READ_ONCE(ctx->sq_array[head & ctx->sq_mask]);
		struct ring_req *req;

		if (unlikely(idx >= ctx->sq_entries)) {
			WRITE_ONCE(rings->sq_dropped, ++ctx->sq_dropped);
			head++;
			continue;
		}
		idx = array_index_nospec(idx, ctx->sq_entries);

		req = ring_req_alloc(ctx);
		if (unlikely(!req)) {
			/* Leave this SQE in the ring for the next ENTER. */
			ret = -EAGAIN;
			break;
		}
		/* One copy: nothing reads the shared SQE after this. */
		memcpy(&sqe, &ctx->sqes[idx], sizeof(sqe));
		head++;
		submitted++;
		ring_issue_sqe(req, &sqe, &done);
	}

	if (plug_started)
		blk_finish_plug(&plug);
	WRITE_ONCE(ctx->cached_sq_head, head);
	/* Pairs with the application's load-acquire of sq.head. */
	smp_store_release(&rings->sq.head, head);

	ring_cq_post_batch(ctx, &done);
	return submitted ? submitted : ret;
}

/* Sleep until @min_complete CQEs are in the ring, or a signal. */
static int ring_wait_cqes(struct ring_ctx *ctx, u32 min_complete)
{
	DEFINE_WAIT(wait);
	int ret = 0;

	/* More than the ring holds could never be seen at once. */
	min_complete = min(min_complete, ctx->cq_entries);
	for (;;) {
		ring_cq_flush_backlog(ctx);
		prepare_to_wait(&ctx->cq_wait, &wait, TASK_INTERRUPTIBLE);
		if (ring_cq_ready(ctx) >= min_complete)
			break;
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		schedule();
	}
	finish_wait(&ctx->cq_wait, &wait);
	return ret;
}

long ring_enter(struct ring_ctx *ctx, struct ring_enter __user *uarg)
{
	struct ring_enter e;
	int submitted = 0;
	int ret;

	if (copy_from_user(&e, uarg, sizeof(e)))
		return -EFAULT;
	if (e.flags & ~RING_ENTER_GETEVENTS || e.resv)
		return -EINVAL;

	/* Any ENTER tells us the application may have freed CQ slots. */
	ring_cq_flush_backlog(ctx);

	if (e.to_submit) {
		mutex_lock(&ctx->uring_lock);
		submitted = ring_submit_sqes(ctx, e.to_submit);
		mutex_unlock(&ctx->uring_lock);
		if (submitted < 0)
			return submitted;
	}

	if (e.flags & RING_ENTER_GETEVENTS) {
		ret = ring_wait_cqes(ctx, e.min_complete);
		if (ret && !submitted)
			return ret;
	}
	return submitted;
}
