// SPDX-License-Identifier: GPL-2.0
/*
 * RING_IOC_ENTER and RING_IOC_ENTER_ARG: consume SQEs, issue them through the
 * opcode table, and wait for completions (with a signal mask and a timeout).
 */
#include <linux/blkdev.h>
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/indirect_call_wrapper.h>
#include <linux/nospec.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/time64.h>
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
 * With uring_lock held.  Requests are recycled through the ring's own two
 * free lists: req_cache, under uring_lock, which posts made under that
 * lock refill directly; req_cache_done, under completion_lock, where the
 * others (interrupts, workers, wake-ups) return them and whence
 * submission takes them back in bulk.  The slab is touched only when
 * both are empty.
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
		req->file_node = NULL;
		req->creds = NULL;
		req->link = NULL;
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
	if (req->file_node) {
		ring_file_node_put(req->file_node);
		req->file_node = NULL;
		req->file = NULL;
	} else if (req->file) {
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

#define RING_SQE_LINKS	(RING_SQE_IO_LINK | RING_SQE_IO_HARDLINK)
#define RING_SQE_FLAGS	(RING_SQE_FIXED_FILE | RING_SQE_IO_DRAIN | \
			 RING_SQE_LINKS | RING_SQE_ASYNC | \
			 RING_SQE_CQE_SKIP_SUCCESS)

/* Fields no opcode accepts yet: personality, splice fd, padding. */
static bool ring_sqe_common_valid(const struct ring_sqe *sqe)
{
	return !(sqe->flags & ~RING_SQE_FLAGS) && !sqe->personality &&
	       !sqe->splice_fd_in && !sqe->__pad2[0] && !sqe->__pad2[1];
}

/*
 * prep(), at submission under uring_lock: the request's file, sqe->fd a
 * descriptor, or with RING_SQE_FIXED_FILE a registered slot (a reference
 * on its node, none on the file).  No file: -EBADF.
 */
int ring_req_get_file(struct ring_req *req, const struct ring_sqe *sqe)
{
	if (sqe->flags & RING_SQE_FIXED_FILE)
		req->file = ring_file_get_fixed(req->ctx, (u32)sqe->fd,
						&req->file_node);
	/* The SQPOLL thread has no file table: registered files only. */
	else if (unlikely(req->ctx->setup_flags & RING_SETUP_SQPOLL))
		return -EBADF;
	else
		req->file = fget(sqe->fd);
	if (unlikely(!req->file))
		return -EBADF;
	/* A request holding a ring (its own, say) could keep it alive. */
	if (unlikely(ring_is_ring_file(req->file)))
		return -EBADF;
	return 0;
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

/*
 * ki_complete of I/O that finished inside the submitter's own issue (a
 * device that completes at once, a plug flushed on the way): the request
 * joins ring_submit_sqes()'s batch and is posted with the rest, under one
 * completion_lock, as one CQ commit and wake-up.  It is the completer's
 * to give: nothing else holds it.  That may be another thread's request
 * of this ring, dispatched by this task's issue: its CQE then waits for
 * this submission's end.  False elsewhere (IRQs, other tasks, workers):
 * the caller posts it itself.
 */
bool ring_req_done_inline(struct ring_req *req, int res)
{
	struct ring_ctx *ctx = req->ctx;

	/* Only this task ever sets it to itself: a racy read cannot match. */
	if (!in_task() || READ_ONCE(ctx->submit_task) != current)
		return false;
	req->res = res;
	ring_batch_add(ctx->submit_done, req);
	return true;
}

/* What one ENTER's submission carries from one SQE to the next. */
struct ring_submit_state {
	struct ring_batch done;		/* finished, CQEs not posted yet */
	struct ring_req *link_head;	/* the chain being built, if any */
	struct ring_req *link_last;
};

/*
 * Prepare the request for one private copy of an SQE.  The chain flags
 * are taken first: a member that fails here still belongs to its chain.
 */
static int ring_req_init(struct ring_req *req, const struct ring_sqe *sqe)
{
	const struct ring_opdef *def = ring_opdef_get(sqe->opcode);
	u8 sqe_flags = sqe->flags;
	int ret;

	req->user_data = sqe->user_data;
	if (unlikely(sqe_flags & ~RING_SQE_FIXED_FILE)) {
		/* io_uring: a hard link is a link that failure does not break. */
		if (sqe_flags & RING_SQE_LINKS)
			req->flags |= RING_REQ_F_LINK;
		if (sqe_flags & RING_SQE_IO_HARDLINK)
			req->flags |= RING_REQ_F_HARDLINK;
		if (sqe_flags & RING_SQE_CQE_SKIP_SUCCESS)
			req->flags |= RING_REQ_F_CQE_SKIP;
		if (sqe_flags & RING_SQE_ASYNC)
			req->flags |= RING_REQ_F_ASYNC;
	}
	if (unlikely(!def || !ring_sqe_common_valid(sqe)))
		return -EINVAL;
	/* io_uring's: only what can be polled (and NOP) on an IOPOLL ring. */
	if (unlikely((req->ctx->setup_flags & RING_SETUP_IOPOLL) && !def->iopoll))
		return -EINVAL;
	req->opcode = sqe->opcode;
	ret = INDIRECT_CALL_2(def->prep, ring_rw_prep, ring_nop_prep, req, sqe);
	if (unlikely(ret))
		return ret;
	/* A worker may finish it, even after an O_DIRECT -EAGAIN in an IRQ. */
	if (req->file) {
		req->creds = get_current_cred();
		req->fsize = rlimit(RLIMIT_FSIZE);
	}
	return 0;
}

/* To a worker, unless the ring is dying: then it is cancelled. */
static void ring_req_queue_new(struct ring_req *req, struct ring_batch *done)
{
	if (!ring_async_queue_new(req)) {
		req->res = -ECANCELED;
		ring_batch_add(done, req);
	}
}

/*
 * Start a prepared request (a chain's head, a successor, or one alone),
 * in ENTER.  One that failed at submission only completes.
 */
static void ring_req_start(struct ring_req *req, struct ring_batch *done)
{
	if (likely(!(req->flags & (RING_REQ_F_FAIL | RING_REQ_F_ASYNC)))) {
		ring_req_issue(req, RING_ISSUE_NONBLOCK | RING_ISSUE_LOCKED,
			       done);
		return;
	}
	if (req->flags & RING_REQ_F_FAIL) {
		ring_batch_add(done, req);
		return;
	}
	/* RING_SQE_ASYNC: pollable files still wait for readiness, not a worker. */
	if (req->file && ring_opdefs[req->opcode].poll_events &&
	    ring_file_pollable(req->file))
		req->flags |= RING_REQ_F_TRY_NOWAIT;
	ring_req_queue_new(req, done);
}

/*
 * A successor or drained request freed inside someone's ENTER runs there
 * only if that task submitted it, as far as credentials and the file size
 * limit go; another thread's goes to a worker, which takes on its own.
 */
static bool ring_req_runs_here(struct ring_req *req)
{
	return !req->creds || (req->creds == current_cred() &&
			       req->fsize == rlimit(RLIMIT_FSIZE));
}

/*
 * Post what has completed so far, and start what that frees (successors,
 * drained requests) here, until nothing more finishes at once.
 */
void ring_submit_flush(struct ring_ctx *ctx, struct ring_batch *done)
{
	struct ring_batch ready;
	struct ring_req *req, *next;

	while (done->first) {
		/*
		 * Taken off @done first: it may be ring_submit_sqes()'s batch,
		 * which inline completions join (ring_req_done_inline()).
		 */
		struct ring_batch posting = *done;

		ring_batch_init(done);
		ring_batch_init(&ready);
		ring_cq_post_submit(ctx, &posting, &ready);
		for (req = ready.first; req; req = next) {
			next = req->next;
			if (likely(ring_req_runs_here(req)) ||
			    (req->flags & RING_REQ_F_FAIL)) {
				ring_req_start(req, done);
			} else {
				req->flags |= RING_REQ_F_TRY_NOWAIT;
				ring_req_queue_new(req, done);
			}
		}
	}
}

/* A chain's head, or a request alone: start it unless it has to wait. */
static void ring_submit_queue(struct ring_ctx *ctx, struct ring_req *req,
			      struct ring_submit_state *s)
{
	if (unlikely((req->flags & RING_REQ_F_DRAIN) ||
		     READ_ONCE(ctx->defer_nr))) {
		/* What already completed counts for the drain: post it. */
		if (req->flags & RING_REQ_F_DRAIN)
			ring_submit_flush(ctx, &s->done);
		if (ring_req_defer(ctx, req))
			return;
	}
	ring_req_start(req, &s->done);
}

/*
 * The slow path: chains and drains.  A drain on any member drains the
 * whole chain, and the request after it waits for all of it (io_uring's
 * man page: "new SQEs will not be started before this one completes").
 */
static void ring_submit_link(struct ring_ctx *ctx, struct ring_req *req,
			     u8 sqe_flags, struct ring_submit_state *s)
{
	struct ring_req *head = s->link_head ? s->link_head : req;

	if (!s->link_head && ctx->drain_next) {
		req->flags |= RING_REQ_F_DRAIN;
		ctx->drain_next = false;
	}
	if (sqe_flags & RING_SQE_IO_DRAIN) {
		head->flags |= RING_REQ_F_DRAIN;
		ctx->drain_next = true;
	}
	if (s->link_head) {
		s->link_last->link = req;
		s->link_last = req;
	}
	if (sqe_flags & RING_SQE_LINKS) {
		if (!s->link_head)
			s->link_head = s->link_last = req;
		return;
	}
	s->link_head = NULL;
	ring_submit_queue(ctx, head, s);
}

/* Submit the request for one private copy of an SQE. */
static void ring_submit_sqe(struct ring_ctx *ctx, struct ring_req *req,
			    const struct ring_sqe *sqe,
			    struct ring_submit_state *s)
{
	int ret;

	req->seq = ctx->submit_seq++;
	ret = ring_req_init(req, sqe);
	/*
	 * The owner is gone (a task sharing its mm submits): every request
	 * fails as if cancelled in flight, and nothing of it runs.  Read for
	 * each SQE: once a drain found the ring dying, no later one starts.
	 */
	if (unlikely(READ_ONCE(ctx->dying)) && !ret)
		ret = -ECANCELED;
	if (unlikely(ret)) {
		/* Its chain fails as a whole, and runs no member (io_uring). */
		req->res = ret;
		req->flags |= RING_REQ_F_FAIL;
		if (s->link_head && !(s->link_head->flags & RING_REQ_F_FAIL)) {
			s->link_head->res = -ECANCELED;
			s->link_head->flags |= RING_REQ_F_FAIL;
		}
	}
	if (likely(!s->link_head && !ctx->drain_next &&
		   !(sqe->flags & (RING_SQE_LINKS | RING_SQE_IO_DRAIN)))) {
		ring_submit_queue(ctx, req, s);
		return;
	}
	ring_submit_link(ctx, req, sqe->flags, s);
}

/*
 * Consume up to @to_submit SQEs; called with uring_lock held.  *@full:
 * it stopped because requests waiting behind drains reached their bound.
 */
int ring_submit_sqes(struct ring_ctx *ctx, u32 to_submit, bool *full)
{
	struct ring_rings *rings = ctx->rings;
	u32 head = ctx->cached_sq_head;
	u32 nr, submitted = 0;
	struct ring_submit_state s = { .link_head = NULL };
	struct blk_plug plug;
	bool plug_started;
	struct ring_sqe sqe;
	int ret = 0;

	/*
	 * Checked once per ENTER, so that an ENTER takes all its SQEs or
	 * none because of it: fewer than 2 * sq_entries ever wait.
	 */
	if (unlikely(ring_defer_full(ctx))) {
		*full = true;
		return -EAGAIN;
	}
	ring_batch_init(&s.done);
	/* Pairs with the application's store-release of sq.tail. */
	nr = smp_load_acquire(&rings->sq.tail) - head;
	nr = min3(nr, to_submit, ctx->sq_entries);

	/* Several block requests reach the driver as one batch. */
	plug_started = nr > 1;
	if (plug_started)
		blk_start_plug(&plug);
	ctx->submit_done = &s.done;
	WRITE_ONCE(ctx->submit_task, current);
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
		ring_submit_sqe(ctx, req, &sqe, &s);
	}
	/* As io_uring: a chain still open at the end is submitted as it is. */
	if (s.link_head)
		ring_submit_queue(ctx, s.link_head, &s);

	if (plug_started)
		blk_finish_plug(&plug);
	WRITE_ONCE(ctx->cached_sq_head, head);
	/* Pairs with the application's load-acquire of sq.head. */
	smp_store_release(&rings->sq.head, head);

	/* Successors it starts may finish inline too: still into s.done. */
	ring_submit_flush(ctx, &s.done);
	WRITE_ONCE(ctx->submit_task, NULL);
	return submitted ? submitted : ret;
}

#define RING_ENTER_FLAGS	(RING_ENTER_GETEVENTS | RING_ENTER_SQ_WAKEUP | \
				 RING_ENTER_SQ_WAIT | RING_ENTER_EXT_ARG)

/* What a GETEVENTS wait may be given besides min_complete. */
struct ring_wait_arg {
	const sigset_t __user *sigmask;
	size_t sigmask_sz;
	const struct __kernel_timespec __user *ts;
};

/* io_uring_enter()'s arg: a signal mask, or with EXT_ARG a getevents_arg. */
static int ring_get_wait_arg(const struct ring_enter_arg *e,
			     struct ring_wait_arg *w)
{
	struct ring_getevents_arg ga;

	if (!(e->flags & RING_ENTER_EXT_ARG)) {
		w->sigmask = u64_to_user_ptr(e->arg);
		w->sigmask_sz = e->argsz;
		w->ts = NULL;
		return 0;
	}
	if (e->argsz != sizeof(ga))
		return -EINVAL;
	if (copy_from_user(&ga, u64_to_user_ptr(e->arg), sizeof(ga)))
		return -EFAULT;
	/* 6.12's io_uring reads a minimum wait here; ring has none. */
	if (ga.pad)
		return -EINVAL;
	w->sigmask = u64_to_user_ptr(ga.sigmask);
	w->sigmask_sz = ga.sigmask_sz;
	w->ts = u64_to_user_ptr(ga.ts);
	return 0;
}

/*
 * Install the wait's signal mask the way pselect() does: a signal that
 * ends the wait is delivered under this mask, and the old one comes back
 * after its handler (TIF_RESTORE_SIGMASK semantics).
 */
static int ring_set_sigmask(const sigset_t __user *umask, size_t size)
{
	sigset_t mask;

	if (size != sizeof(mask))
		return -EINVAL;
	if (copy_from_user(&mask, umask, sizeof(mask)))
		return -EFAULT;
	sigdelsetmask(&mask, sigmask(SIGKILL) | sigmask(SIGSTOP));
	current->saved_sigmask = current->blocked;
	set_restore_sigmask();
	sigprocmask(SIG_SETMASK, &mask, NULL);
	return 0;
}

static void ring_restore_sigmask(bool interrupted)
{
	/* Interrupted: signal delivery restores it once the handler ran. */
	if (interrupted)
		return;
	clear_restore_sigmask();
	sigprocmask(SIG_SETMASK, &current->saved_sigmask, NULL);
}

/* The absolute end of a wait for a relative timeout at @uts. */
static int ring_wait_deadline(const struct __kernel_timespec __user *uts,
			      ktime_t *deadline)
{
	struct timespec64 ts;
	ktime_t rel;

	if (get_timespec64(&ts, uts))
		return -EFAULT;
	rel = timespec64_to_ktime(ts);
	/* As io_uring: a timeout in the past ends the wait at once. */
	*deadline = rel > 0 ? ktime_add_safe(ktime_get(), rel) : ktime_get();
	return 0;
}

/* A task in ring_wait_cqes(), on ctx->cq_wait. */
struct ring_cq_waiter {
	struct wait_queue_entry entry;
	struct ring_ctx *ctx;
	u32 min_complete;
};

/*
 * Woken only once what it waits for may be there: completions posted from
 * elsewhere (the SQ thread, interrupts, workers) would otherwise cost a
 * context switch each.  A backlog only the waiter's flush may move also
 * wakes it.  This must hold whenever ring_wait_cqes()'s loop would end.
 */
static int ring_cq_waiter_wake(struct wait_queue_entry *entry,
			       unsigned int mode, int sync, void *key)
{
	struct ring_cq_waiter *w = container_of(entry, struct ring_cq_waiter,
						entry);

	if (ring_cq_ready(w->ctx) < w->min_complete &&
	    !READ_ONCE(w->ctx->backlog_nr))
		return 0;
	return autoremove_wake_function(entry, mode, sync, key);
}

/*
 * Sleep until @min_complete (at most cq_entries) CQEs are in the ring, a
 * signal, or the timeout, under the signal mask given, if any.  Out of
 * line: most waits are satisfied before they start (ring_wait_cqes()).
 */
static noinline int ring_wait_cqes_sleep(struct ring_ctx *ctx,
					 u32 min_complete,
					 const struct ring_wait_arg *w)
{
	bool has_deadline = false, mask_set = false;
	struct ring_cq_waiter wait = {
		.entry = {
			.private = current,
			.func = ring_cq_waiter_wake,
			.entry = LIST_HEAD_INIT(wait.entry.entry),
		},
		.ctx = ctx,
		.min_complete = min_complete,
	};
	ktime_t deadline = 0;
	int ret = 0;

	if (w->sigmask) {
		ret = ring_set_sigmask(w->sigmask, w->sigmask_sz);
		if (ret)
			return ret;
		mask_set = true;
	}
	if (w->ts) {
		ret = ring_wait_deadline(w->ts, &deadline);
		if (ret)
			goto out_restore;
		has_deadline = true;
	}
	for (;;) {
		ring_cq_flush_backlog(ctx);
		prepare_to_wait(&ctx->cq_wait, &wait.entry, TASK_INTERRUPTIBLE);
		if (ring_cq_ready(ctx) >= min_complete)
			break;
		/* Reaped since the flush above: flush again, do not sleep. */
		if (ring_cq_backlog_movable(ctx))
			continue;
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (!has_deadline) {
			schedule();
		} else if (!schedule_hrtimeout(&deadline, HRTIMER_MODE_ABS)) {
			ret = -ETIME;
			break;
		}
	}
	finish_wait(&ctx->cq_wait, &wait.entry);
out_restore:
	if (mask_set)
		ring_restore_sigmask(ret == -EINTR);
	/* As io_uring: a wait cut short with CQEs to reap is not an error. */
	if ((ret == -ETIME || ret == -EINTR) && ring_cq_ready(ctx))
		ret = 0;
	return ret;
}

static int ring_wait_cqes(struct ring_ctx *ctx, u32 min_complete,
			  const struct ring_wait_arg *w)
{
	/* More than the ring holds could never be seen at once. */
	min_complete = min(min_complete, ctx->cq_entries);
	ring_cq_flush_backlog(ctx);
	if (ring_cq_ready(ctx) >= min_complete)
		return 0;
	return ring_wait_cqes_sleep(ctx, min_complete, w);
}

/*
 * A ring set up disabled takes no ENTER until enabled; a single-issuer
 * ring takes submissions (and, with DEFER_TASKRUN, waits) from its issuer
 * thread only: io_uring's -EBADFD and -EEXIST.
 */
static int ring_enter_allowed(struct ring_ctx *ctx,
			      const struct ring_enter_arg *e)
{
	/* Pairs with the release in ring_enable_rings(): then ->issuer. */
	if (unlikely(smp_load_acquire(&ctx->r_disabled)))
		return -EBADFD;
	if (likely(!ctx->issuer) || task_pid(current) == ctx->issuer)
		return 0;
	if (e->to_submit)
		return -EEXIST;
	if ((e->flags & RING_ENTER_GETEVENTS) &&
	    (ctx->setup_flags & RING_SETUP_DEFER_TASKRUN))
		return -EEXIST;
	return 0;
}

static long ring_do_enter(struct ring_ctx *ctx, const struct ring_enter_arg *e)
{
	int submitted = 0;
	int ret;

	/* Without an SQ thread SQ_WAKEUP and SQ_WAIT do nothing, as io_uring. */
	if (e->flags & ~RING_ENTER_FLAGS || e->resv)
		return -EINVAL;
	ret = ring_enter_allowed(ctx, e);
	if (unlikely(ret))
		return ret;

	/* Any ENTER tells us the application may have freed CQ slots. */
	ring_cq_flush_backlog(ctx);

	if (unlikely(ctx->setup_flags & RING_SETUP_SQPOLL)) {
		submitted = ring_sqpoll_enter(ctx, e->to_submit, e->flags);
		if (submitted < 0)
			return submitted;
	} else if (e->to_submit) {
		bool full = false;

		mutex_lock(&ctx->uring_lock);
		submitted = ring_submit_sqes(ctx, e->to_submit, &full);
		mutex_unlock(&ctx->uring_lock);
		/*
		 * Stopped by the bound on drained requests: what frees them
		 * may be the very wait asked for (on an IOPOLL ring, the
		 * poll), so go on to it instead of failing.
		 */
		if (submitted < 0 && full && (e->flags & RING_ENTER_GETEVENTS))
			submitted = 0;
		if (submitted < 0)
			return submitted;
	}

	if (e->flags & RING_ENTER_GETEVENTS) {
		struct ring_wait_arg w;

		/* As io_uring, arg is read only by a call that waits. */
		ret = ring_get_wait_arg(e, &w);
		/*
		 * As io_uring's, a polled wait spins and takes no sigmask; on
		 * an SQPOLL ring the thread polls, and ENTER waits.
		 */
		if (!ret && (ctx->setup_flags &
			     (RING_SETUP_IOPOLL | RING_SETUP_SQPOLL)) ==
			    RING_SETUP_IOPOLL)
			ret = ring_iopoll_getevents(ctx, e->min_complete);
		else if (!ret)
			ret = ring_wait_cqes(ctx, e->min_complete, &w);
		if (ret && !submitted)
			return ret;
	}
	return submitted;
}

long ring_enter(struct ring_ctx *ctx, struct ring_enter __user *uarg)
{
	/* RING_IOC_ENTER's argument is the head of RING_IOC_ENTER_ARG's. */
	struct ring_enter_arg e = { .arg = 0, .argsz = 0 };

	BUILD_BUG_ON(offsetof(struct ring_enter_arg, arg) !=
		     sizeof(struct ring_enter));
	/*
	 * Four loads in one user access window: cheaper than
	 * copy_from_user()'s out-of-line call, and this is paid per ENTER.
	 */
	if (!user_access_begin(uarg, sizeof(*uarg)))
		return -EFAULT;
	unsafe_get_user(e.to_submit, &uarg->to_submit, efault);
	unsafe_get_user(e.min_complete, &uarg->min_complete, efault);
	unsafe_get_user(e.flags, &uarg->flags, efault);
	unsafe_get_user(e.resv, &uarg->resv, efault);
	user_access_end();
	return ring_do_enter(ctx, &e);
efault:
	user_access_end();
	return -EFAULT;
}

long ring_enter_arg(struct ring_ctx *ctx, struct ring_enter_arg __user *uarg)
{
	struct ring_enter_arg e;

	if (copy_from_user(&e, uarg, sizeof(e)))
		return -EFAULT;
	return ring_do_enter(ctx, &e);
}
