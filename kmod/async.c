// SPDX-License-Identifier: GPL-2.0
/*
 * Requests that could not finish without waiting at submission.
 *
 * Pollable files (pipes, sockets, ttys: -EAGAIN means "nothing there yet")
 * are armed on their wait queue and retried, still non-blocking, when they
 * wake us; no thread waits for them, and closing the ring cancels them.
 * Everything else (regular files and block devices, fsync, and files that
 * cannot be asked not to block, such as pipes before 6.3) goes to a bounded
 * pool of workers that run with the ring's mm and the credentials of the
 * task that set it up.  A worker waiting on a file that is neither a regular
 * file nor a block device may wait forever, so teardown interrupts it with
 * SIGKILL, which such a worker accepts only while it runs the request.
 *
 * A poll-armed request has one owner at a time, decided by a cmpxchg on
 * poll.state: the wake-up (ARMED -> FIRED, which queues the retry), or
 * teardown (ARMED -> CANCELLED), or the arming code itself when the file
 * turns out to be ready or not waitable.
 */
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "opdef.h"

static unsigned int max_workers = 32;
module_param(max_workers, uint, 0444);
MODULE_PARM_DESC(max_workers,
		 "Workers running requests that must block (default 32)");

static struct workqueue_struct *ring_wq;

int ring_async_init(void)
{
	ring_wq = alloc_workqueue("ring_io", WQ_UNBOUND,
				  clamp(max_workers, 1U, (unsigned int)WQ_MAX_ACTIVE));
	return ring_wq ? 0 : -ENOMEM;
}

void ring_async_exit(void)
{
	destroy_workqueue(ring_wq);
}

/* -EAGAIN from such a file means "not ready", not "would block on I/O". */
bool ring_file_pollable(struct file *file)
{
	umode_t mode = file_inode(file)->i_mode;

	return (file->f_mode & FMODE_NOWAIT) && file_can_poll(file) &&
	       !S_ISREG(mode) && !S_ISBLK(mode);
}

static void ring_poll_unlist(struct ring_req *req)
{
	struct ring_ctx *ctx = req->ctx;

	spin_lock_irq(&ctx->async_lock);
	list_del_init(&req->poll.node);
	spin_unlock_irq(&ctx->async_lock);
}

/* A worker running one of the ring's requests, on the worker's stack. */
struct ring_worker {
	struct list_head node;		/* ctx->workers */
	struct task_struct *task;
	bool interruptible;		/* its wait may never end by itself */
};

static bool ring_req_may_wait_forever(struct ring_req *req)
{
	umode_t mode;

	if (!req->file)
		return false;
	mode = file_inode(req->file)->i_mode;
	return !S_ISREG(mode) && !S_ISBLK(mode);
}

static void ring_run_in_worker(struct ring_req *req, unsigned int issue_flags)
{
	struct ring_ctx *ctx = req->ctx;
	struct mm_struct *mm = ctx->mm;
	const struct cred *old_creds;
	bool use_mm;

	/* Without the mm (its owner exited) user copies fail with -EFAULT. */
	use_mm = mmget_not_zero(mm);
	if (use_mm)
		kthread_use_mm(mm);
	old_creds = override_creds(ctx->creds);

	ring_req_issue(req, issue_flags, NULL);

	revert_creds(old_creds);
	if (use_mm) {
		kthread_unuse_mm(mm);
		mmput(mm);
	}
}

static void ring_io_work(struct work_struct *work)
{
	struct ring_req *req = container_of(work, struct ring_req, work);
	struct ring_ctx *ctx = req->ctx;
	struct ring_worker worker = {
		.task = current,
		.interruptible = ring_req_may_wait_forever(req),
	};
	unsigned int issue_flags = 0;

	/* Keeps ctx alive until we are off ctx->workers, after the request. */
	atomic_inc(&ctx->worker_refs);
	/* Before teardown can see us: a signal sent earlier would be lost. */
	if (worker.interruptible)
		allow_signal(SIGKILL);

	spin_lock_irq(&ctx->async_lock);
	if (atomic_read(&req->poll.state) == RING_POLL_FIRED) {
		/* The file woke us: retry without blocking, as at submission. */
		list_del_init(&req->poll.node);
		atomic_set(&req->poll.state, RING_POLL_IDLE);
		issue_flags = RING_ISSUE_NONBLOCK;
	}
	if (ctx->dying && worker.interruptible) {
		spin_unlock_irq(&ctx->async_lock);
		ring_req_complete(req, -ECANCELED);
		goto out;
	}
	list_add(&worker.node, &ctx->workers);
	spin_unlock_irq(&ctx->async_lock);

	ring_run_in_worker(req, issue_flags);

	spin_lock_irq(&ctx->async_lock);
	list_del(&worker.node);
	spin_unlock_irq(&ctx->async_lock);
out:
	if (worker.interruptible) {
		/* Leave the shared kworker as we found it. */
		flush_signals(current);
		disallow_signal(SIGKILL);
	}
	/* Last touch of ctx, as in ring_inflight_sub(). */
	if (atomic_dec_and_test(&ctx->worker_refs))
		wake_up_var(&ctx->inflight);
}

/* Run @req in a worker that may block; safe from any context. */
void ring_async_queue_work(struct ring_req *req)
{
	INIT_WORK(&req->work, ring_io_work);
	queue_work(ring_wq, &req->work);
}

/* Deferred frees that must not run in IRQ context (rsrc.c). */
void ring_async_defer(struct work_struct *work)
{
	queue_work(ring_wq, work);
}

struct ring_poll_table {
	poll_table pt;
	struct ring_req *req;
	unsigned int nr_heads;
};

/* Wake-up callback, under the file's wait-queue lock, any context. */
static int ring_poll_wake(struct wait_queue_entry *wait, unsigned int mode,
			  int sync, void *key)
{
	struct ring_req *req = container_of(wait, struct ring_req, poll.wait);
	__poll_t mask = key_to_poll(key);

	if (mask && !(mask & (req->poll.events | EPOLLERR | EPOLLHUP | POLLFREE)))
		return 0;
	if (atomic_cmpxchg(&req->poll.state, RING_POLL_ARMED,
			   RING_POLL_FIRED) != RING_POLL_ARMED)
		return 0;
	list_del_init(&wait->entry);
	ring_async_queue_work(req);
	return 1;
}

static void ring_poll_queue_proc(struct file *file,
				 struct wait_queue_head *head, poll_table *pt)
{
	struct ring_poll_table *ipt = container_of(pt, struct ring_poll_table, pt);
	struct ring_req *req = ipt->req;

	/* One wait queue per request; a file with more is not waited on. */
	if (ipt->nr_heads++)
		return;
	req->poll.head = head;
	add_wait_queue(head, &req->poll.wait);
}

/* Take an armed request back off its wait queue, if it still is ours. */
static bool ring_poll_disarm(struct ring_req *req, int new_state)
{
	struct wait_queue_head *head = req->poll.head;

	if (atomic_cmpxchg(&req->poll.state, RING_POLL_ARMED,
			   new_state) != RING_POLL_ARMED)
		return false;
	if (head) {
		spin_lock_irq(&head->lock);
		list_del_init(&req->poll.wait.entry);
		spin_unlock_irq(&head->lock);
	}
	return true;
}

/*
 * Wait for @req's file to become ready.  Returns 0 when a wake-up (or an
 * immediate retry) now owns the request, -EOPNOTSUPP when the file cannot
 * be waited on, -ECANCELED when the ring is being torn down.
 */
static int ring_poll_arm(struct ring_req *req, __poll_t events)
{
	struct ring_ctx *ctx = req->ctx;
	struct ring_poll_table ipt = { .req = req };
	__poll_t mask;

	req->poll.head = NULL;
	req->poll.events = events;
	init_waitqueue_func_entry(&req->poll.wait, ring_poll_wake);
	atomic_set(&req->poll.state, RING_POLL_ARMED);

	/* Checked under async_lock so teardown's sweep cannot miss us. */
	spin_lock_irq(&ctx->async_lock);
	if (ctx->dying) {
		spin_unlock_irq(&ctx->async_lock);
		return -ECANCELED;
	}
	list_add_tail(&req->poll.node, &ctx->poll_list);
	spin_unlock_irq(&ctx->async_lock);

	init_poll_funcptr(&ipt.pt, ring_poll_queue_proc);
	ipt.pt._key = events | EPOLLERR | EPOLLHUP;
	mask = vfs_poll(req->file, &ipt.pt);

	if (ipt.nr_heads != 1) {
		if (!ring_poll_disarm(req, RING_POLL_IDLE))
			return 0;
		ring_poll_unlist(req);
		return -EOPNOTSUPP;
	}
	/* Ready already: retry now, unless a wake-up beat us to it. */
	if ((mask & ipt.pt._key) && ring_poll_disarm(req, RING_POLL_FIRED))
		ring_async_queue_work(req);
	return 0;
}

/* @req's issue() returned -EAGAIN without blocking: finish it later. */
void ring_async_punt(struct ring_req *req)
{
	__poll_t events = ring_opdefs[req->opcode].poll_events;
	int ret;

	if (events && ring_file_pollable(req->file)) {
		ret = ring_poll_arm(req, events);
		if (!ret)
			return;
		if (ret == -ECANCELED) {
			ring_req_complete(req, ret);
			return;
		}
	}
	ring_async_queue_work(req);
}

/*
 * Teardown: no new arming from now on; every request still waiting for its
 * file completes with -ECANCELED, and workers stuck in a wait that may never
 * end are interrupted.  Retries already queued see ->dying.
 */
void ring_async_cancel_all(struct ring_ctx *ctx)
{
	struct ring_worker *worker;
	struct ring_req *req, *tmp;
	LIST_HEAD(cancelled);

	spin_lock_irq(&ctx->async_lock);
	WRITE_ONCE(ctx->dying, true);
	list_for_each_entry_safe(req, tmp, &ctx->poll_list, poll.node) {
		if (atomic_cmpxchg(&req->poll.state, RING_POLL_ARMED,
				   RING_POLL_CANCELLED) != RING_POLL_ARMED)
			continue;
		/* Our file reference keeps the wait queue alive. */
		spin_lock(&req->poll.head->lock);
		list_del_init(&req->poll.wait.entry);
		spin_unlock(&req->poll.head->lock);
		list_move_tail(&req->poll.node, &cancelled);
	}
	list_for_each_entry(worker, &ctx->workers, node)
		if (worker->interruptible)
			send_sig(SIGKILL, worker->task, 1);
	spin_unlock_irq(&ctx->async_lock);

	list_for_each_entry_safe(req, tmp, &cancelled, poll.node) {
		list_del_init(&req->poll.node);
		ring_req_complete(req, -ECANCELED);
	}
}
