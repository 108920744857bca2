// SPDX-License-Identifier: GPL-2.0
/*
 * Requests that could not finish without waiting at submission.
 *
 * Pollable files (pipes, sockets, ttys: -EAGAIN means "nothing there yet")
 * are armed on their wait queues and retried, still non-blocking, when they
 * wake us.  Everything else (regular files and block devices that would
 * wait, fsync, files that cannot be asked not to block) goes to the ring's
 * own workers: kernel threads that belong to this ring alone, bounded per
 * ring (RING_REGISTER_IOWQ_MAX_WORKERS) and per user (max_user_workers),
 * so that no user can take another's capacity.
 *
 * Who owns a request (may run, retry, complete or re-arm it):
 *
 *  - at submission, the submitting task;
 *  - while it is queued for a worker, the queue (async_lock), until a
 *    worker takes it or cancellation drains the queue;
 *  - while a worker runs it, that worker;
 *  - while it is armed on a file's wait queues, whoever takes poll.refs
 *    from 0: a wake-up or cancellation.  The arming task holds 1 while it
 *    arms, so nothing can complete the request, or read its half-built
 *    wait entries, before vfs_poll() has returned.  An owner that finds
 *    poll.refs raised by others when it lets go keeps the request.  The
 *    owner first takes the request off its wait queues and poll_list;
 *    after that nobody else can reach it.
 *
 * A worker touches user memory only with the ring's mm loaded, after
 * mmget_not_zero(); when that fails the mm is gone or going, and the
 * request completes with -ECANCELED without running.  Workers run with the
 * credentials of the task that submitted the request (req->creds).
 *
 * The ring is "dying" from when its owner process exits or execs
 * (ring_flush()), its mm goes (ring_mm_release()), or its last file
 * reference goes (teardown).  From then on nothing is armed and nothing
 * runs: armed requests, queued requests and, by SIGKILL, the waits of
 * running ones end with -ECANCELED, and teardown drains what arrives late.
 */
#include <linux/cgroup.h>
#include <linux/hashtable.h>
#include <linux/kcov.h>
#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "opdef.h"

static unsigned int max_workers = 16;
module_param(max_workers, uint, 0444);
MODULE_PARM_DESC(max_workers,
		 "Most workers of each class one ring may run (default 16)");

static unsigned int max_user_workers = 64;
module_param(max_user_workers, uint, 0444);
MODULE_PARM_DESC(max_user_workers,
		 "Most workers all rings of one user may run (default 64)");

/* An idle worker exits after this long; the next request starts another. */
#define RING_WORKER_IDLE	(5 * HZ)

/* Deferred frees and worker creation: flushed before the module goes. */
/* Worker creation and deferred frees; teardowns wait on ring_exit_wq. */
static struct workqueue_struct *ring_wq;
static struct workqueue_struct *ring_exit_wq;

/* ---- users' worker budgets --------------------------------------------- */

/* The worker budget of one user (real uid), shared by all its rings. */
struct ring_user {
	struct hlist_node node;		/* ring_users */
	kuid_t uid;
	unsigned int rings;
	unsigned int nr_workers;
	unsigned int nr_sq;		/* SQPOLL threads (sqpoll.c) */
	struct list_head starved;	/* rings waiting for budget */
};

static DEFINE_HASHTABLE(ring_users, 6);
/* ring_users, and every ring_user's counts and starved list. */
static DEFINE_SPINLOCK(ring_users_lock);

static struct ring_user *ring_user_get(kuid_t uid)
{
	struct ring_user *user, *fresh;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return NULL;
	spin_lock(&ring_users_lock);
	hash_for_each_possible(ring_users, user, node, __kuid_val(uid))
		if (uid_eq(user->uid, uid))
			goto found;
	user = fresh;
	fresh = NULL;
	user->uid = uid;
	INIT_LIST_HEAD(&user->starved);
	hash_add(ring_users, &user->node, __kuid_val(uid));
found:
	user->rings++;
	spin_unlock(&ring_users_lock);
	kfree(fresh);
	return user;
}

/* @ctx no longer waits for budget: no worker exit will kick it. */
static void ring_user_unstarve(struct ring_ctx *ctx)
{
	spin_lock(&ring_users_lock);
	list_del_init(&ctx->user_node);
	spin_unlock(&ring_users_lock);
}

static void ring_user_put(struct ring_user *user)
{
	bool last;

	spin_lock(&ring_users_lock);
	last = !--user->rings;
	if (last)
		hash_del(&user->node);
	spin_unlock(&ring_users_lock);
	if (last)
		kfree(user);
}

/* One more worker for @ctx's user, or join the queue of starved rings. */
static bool ring_user_charge_worker(struct ring_ctx *ctx)
{
	struct ring_user *user = ctx->user;
	bool ok;

	spin_lock(&ring_users_lock);
	ok = user->nr_workers < max_user_workers;
	if (ok)
		user->nr_workers++;
	else if (list_empty(&ctx->user_node))
		list_add_tail(&ctx->user_node, &user->starved);
	spin_unlock(&ring_users_lock);
	return ok;
}

/*
 * A worker is gone: the rings that waited for budget try again (one that
 * no longer needs a worker must not keep the slot from the others).
 */
static void ring_user_uncharge_worker(struct ring_user *user)
{
	struct ring_ctx *next, *tmp;

	spin_lock(&ring_users_lock);
	user->nr_workers--;
	list_for_each_entry_safe(next, tmp, &user->starved, user_node) {
		list_del_init(&next->user_node);
		/* Under the lock: teardown unlists the ring before it waits. */
		queue_work(ring_wq, &next->create_work);
	}
	spin_unlock(&ring_users_lock);
}

/* One more SQPOLL thread for @user, if it has fewer than @max. */
bool ring_user_charge_sq(struct ring_user *user, unsigned int max)
{
	bool ok;

	spin_lock(&ring_users_lock);
	ok = user->nr_sq < max;
	if (ok)
		user->nr_sq++;
	spin_unlock(&ring_users_lock);
	return ok;
}

void ring_user_uncharge_sq(struct ring_user *user)
{
	spin_lock(&ring_users_lock);
	user->nr_sq--;
	spin_unlock(&ring_users_lock);
}

/* ---- the mm: everything is cancelled when it goes ------------------------ */

/* One per mm that has rings: the rings to cancel when the mm goes. */
struct ring_mm {
	struct mmu_notifier mn;
	struct mutex lock;		/* rings */
	struct list_head rings;		/* ring_ctx.mm_node */
};

/*
 * The last user of the mm is gone (exit, exec, or a worker's mmput()):
 * nobody can submit again, and no request may run.
 */
static void ring_mm_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct ring_mm *rmm = container_of(mn, struct ring_mm, mn);
	struct ring_ctx *ctx;

	mutex_lock(&rmm->lock);
	list_for_each_entry(ctx, &rmm->rings, mm_node)
		ring_async_cancel_all(ctx);
	mutex_unlock(&rmm->lock);
}

static struct mmu_notifier *ring_mm_alloc(struct mm_struct *mm)
{
	struct ring_mm *rmm = kzalloc(sizeof(*rmm), GFP_KERNEL_ACCOUNT);

	if (!rmm)
		return ERR_PTR(-ENOMEM);
	mutex_init(&rmm->lock);
	INIT_LIST_HEAD(&rmm->rings);
	return &rmm->mn;
}

static void ring_mm_free(struct mmu_notifier *mn)
{
	kfree(container_of(mn, struct ring_mm, mn));
}

static const struct mmu_notifier_ops ring_mm_ops = {
	.release	= ring_mm_release,
	.alloc_notifier	= ring_mm_alloc,
	.free_notifier	= ring_mm_free,
};

/* ---- the owner process: everything is cancelled when it is gone ---------- */

static void ring_async_stop_workers(struct ring_ctx *ctx);

/* The owner is gone or going: nothing runs any more, a work cancels the rest. */
static void ring_owner_left(struct ring_ctx *ctx)
{
	ring_async_stop_workers(ctx);
	queue_work(system_unbound_wq, &ctx->owner_work);
}

/*
 * The owner's exit, seen through its pid's pidfd wait queue: fd tables
 * and mm references (a worker's) can outlive the process, this cannot.
 * In exit_notify(), under tasklist_lock, before the parent hears of it:
 * from here nothing runs and running waits are interrupted; a work
 * cancels the rest.
 */
static int ring_owner_wake(struct wait_queue_entry *wait, unsigned int mode,
			   int sync, void *key)
{
	struct ring_ctx *ctx = container_of(wait, struct ring_ctx, owner_wait);
	struct task_struct *leader;
	bool gone;

	/* Newer kernels also wake it for a leader whose threads live on. */
	rcu_read_lock();
	leader = pid_task(ctx->owner_pid, PIDTYPE_PID);
	gone = !leader || !atomic_read(&leader->signal->live);
	rcu_read_unlock();
	if (gone)
		ring_owner_left(ctx);
	return 0;
}

static void ring_owner_work(struct work_struct *work)
{
	ring_async_cancel_all(container_of(work, struct ring_ctx, owner_work));
}

/* ---- workers ------------------------------------------------------------ */

#define RING_POLL_CANCEL	BIT(31)
#define RING_POLL_REF_MASK	GENMASK(30, 0)
/* Re-armed by a worker after a wake-up that found nothing this often: block. */
#define RING_POLL_MAX_RETRY	128

static void ring_poll_detach(struct ring_req *req);

/* One of the ring's worker threads. */
struct ring_worker {
	struct list_head node;		/* ctx->workers */
	struct list_head idle_node;	/* acct->idle: idle, not yet woken */
	struct task_struct *task;	/* a reference, for kthread_stop() */
	struct ring_ctx *ctx;
	struct ring_req *cur;		/* what it runs, under async_lock */
	unsigned int class;		/* RING_IOWQ_BOUND or _UNBOUND */
	bool exited;			/* left on its own: only reap it */
};

/*
 * Can be asked not to wait (IOCB_NOWAIT).  Sockets always honour it, but
 * have said so (FMODE_NOWAIT) only since 6.4; io_uring trusts them too.
 */
bool ring_file_nowait(struct file *file)
{
	return (file->f_mode & FMODE_NOWAIT) ||
	       S_ISSOCK(file_inode(file)->i_mode);
}

/* -EAGAIN from such a file means "not ready", not "would block on I/O". */
bool ring_file_pollable(struct file *file)
{
	umode_t mode = file_inode(file)->i_mode;

	return ring_file_nowait(file) && file_can_poll(file) &&
	       !S_ISREG(mode) && !S_ISBLK(mode);
}

/* Waits on regular files and block devices end by themselves. */
static unsigned int ring_req_class(struct ring_req *req)
{
	umode_t mode;

	if (!req->file)
		return RING_IOWQ_BOUND;
	mode = file_inode(req->file)->i_mode;
	return S_ISREG(mode) || S_ISBLK(mode) ? RING_IOWQ_BOUND :
						RING_IOWQ_UNBOUND;
}

/*
 * A worker blocked in the owner's memory (a userfaultfd fault, say) while
 * holding a lock (the i_rwsem of the file it writes) can keep a thread of
 * the owner from ever exiting, and so the owner's exit from reaching the
 * triggers above (its files, its mm, its pidfd): an unkillable process.
 * io_uring's workers are threads of their process and die with it; ours
 * have to be told.  While a worker runs a request, this looks every
 * RING_EXIT_WATCH whether the owner's thread group is exiting (or execing)
 * and, if so, interrupts the workers as the pidfd wake-up does.  It and
 * owner_work run on system_unbound_wq, not the module's: deferred
 * teardowns (ring_exit_wq) may wait for I/O a user holds up, and must not
 * delay an exit; and a workqueue refuses timer-queued work while module
 * unload drains it.
 * Teardown cancels both synchronously before the ring is freed.
 */
#define RING_EXIT_WATCH		(HZ / 10)

/*
 * Under RCU: no thread of the group uses the ring's mm any more.  A
 * single-threaded exec leaves no other mark (group_exec_task is only set
 * for a group with threads to kill), and the worker's own reference keeps
 * the old mm, so its release notification, from happening.
 */
static bool ring_owner_left_mm(struct task_struct *leader, struct ring_ctx *ctx)
{
	struct task_struct *t;

	for_each_thread(leader, t)
		if (READ_ONCE(t->mm) == ctx->mm)
			return false;
	return true;
}

static bool ring_owner_exiting(struct ring_ctx *ctx)
{
	struct task_struct *leader;
	bool exiting;

	rcu_read_lock();
	leader = pid_task(ctx->owner_pid, PIDTYPE_PID);
	exiting = !leader || !atomic_read(&leader->signal->live) ||
		  (READ_ONCE(leader->signal->flags) & SIGNAL_GROUP_EXIT) ||
		  READ_ONCE(leader->signal->group_exec_task) ||
		  ring_owner_left_mm(leader, ctx);
	rcu_read_unlock();
	return exiting;
}

static void ring_exit_watch_fn(struct work_struct *work)
{
	struct ring_ctx *ctx = container_of(to_delayed_work(work),
					    struct ring_ctx, exit_watch);
	struct ring_worker *worker;
	bool busy = false;

	if (ring_owner_exiting(ctx)) {
		ring_owner_left(ctx);
		return;
	}
	spin_lock_irq(&ctx->async_lock);
	/* The SQPOLL thread too, while it holds the mm (sqpoll.c). */
	busy = ctx->sq_busy;
	list_for_each_entry(worker, &ctx->workers, node)
		busy |= worker->cur != NULL;
	if (busy)
		ring_exit_watch_arm(ctx);
	spin_unlock_irq(&ctx->async_lock);
}

/*
 * Under async_lock, by whoever starts to run in the owner's memory: the
 * watch runs until nobody does.  A no-op while it is pending, and once the
 * ring is dying: teardown sets ->dying under this lock before it cancels
 * the watch.
 */
void ring_exit_watch_arm(struct ring_ctx *ctx)
{
	if (!ctx->dying)
		queue_delayed_work(system_unbound_wq, &ctx->exit_watch,
				   RING_EXIT_WATCH);
}

/* Run @req (a worker owns it) in the owner's mm, with its submitter's creds. */
static void ring_worker_run(struct ring_req *req, bool dying)
{
	struct ring_ctx *ctx = req->ctx;
	struct mm_struct *mm = ctx->mm;
	/* Requests without a file (a NOP in a chain) took no credentials. */
	const struct cred *creds = req->creds, *old_creds = NULL;
	unsigned int issue_flags = 0;
	struct mem_cgroup *old_memcg;

	if (req->flags & RING_REQ_F_POLLED) {
		/* Its file woke it: off the wait queues, then retry, no wait. */
		req->flags &= ~RING_REQ_F_POLLED;
		ring_poll_detach(req);
		if (atomic_read(&req->poll.refs) & RING_POLL_CANCEL)
			dying = true;
		issue_flags = RING_ISSUE_NONBLOCK;
	} else if (unlikely(req->flags & RING_REQ_F_FAIL)) {
		/* Failed at submission, then waited for a drain: only its CQE. */
		ring_req_complete(req, dying ? -ECANCELED : req->res);
		return;
	} else if (req->flags & RING_REQ_F_TRY_NOWAIT) {
		/* Started from a completion: try first, wait for a pollable file. */
		req->flags &= ~RING_REQ_F_TRY_NOWAIT;
		issue_flags = RING_ISSUE_NONBLOCK;
	}
	/* Without the mm a user copy would go through someone else's. */
	if (dying || !mmget_not_zero(mm)) {
		ring_req_complete(req, -ECANCELED);
		return;
	}
	/* A fuzzer's coverage includes what workers run on its behalf. */
	if (ctx->kcov_handle)
		kcov_remote_start_common(ctx->kcov_handle);
	kthread_use_mm(mm);
	if (creds) {
		old_creds = override_creds(creds);
		/* Writes stop at the submitter's file size limit. */
		current->signal->rlim[RLIMIT_FSIZE].rlim_cur = req->fsize;
	}
	/* What the request allocates is charged to the owner's cgroup. */
	old_memcg = set_active_memcg(ctx->memcg);
	/* From here the request may be completed: only locals after it. */
	ring_req_issue(req, issue_flags, NULL);
	set_active_memcg(old_memcg);
	if (creds)
		revert_creds(old_creds);
	kthread_unuse_mm(mm);
	if (ctx->kcov_handle)
		kcov_remote_stop();
	mmput(mm);
}

static int ring_worker_fn(void *data)
{
	struct ring_worker *worker = data;
	struct ring_ctx *ctx = worker->ctx;
	struct ring_wq_acct *acct = &ctx->acct[worker->class];
	bool timed_out = false;

	/* Cancellation ends the waits of the request being run with it. */
	allow_signal(SIGKILL);
	for (;;) {
		struct ring_req *req;
		bool dying;

		/* A signal meant for the last request is not for the next. */
		flush_signals(current);
		spin_lock_irq(&ctx->async_lock);
		req = list_first_entry_or_null(&acct->work, struct ring_req,
					       node);
		if (req) {
			list_del_init(&req->node);
			acct->nr_queued--;
			/* Off the list already if a queuer woke us. */
			list_del_init(&worker->idle_node);
			acct->nr_idle--;
			worker->cur = req;
			dying = ctx->dying;
			ring_exit_watch_arm(ctx);
			spin_unlock_irq(&ctx->async_lock);

			ring_worker_run(req, dying);

			spin_lock_irq(&ctx->async_lock);
			worker->cur = NULL;
			list_add(&worker->idle_node, &acct->idle);
			acct->nr_idle++;
			spin_unlock_irq(&ctx->async_lock);
			timed_out = false;
			cond_resched();
			continue;
		}
		if (kthread_should_stop()) {
			spin_unlock_irq(&ctx->async_lock);
			break;
		}
		if (timed_out) {
			/* Idle for long: give the budget back. */
			list_del_init(&worker->idle_node);
			acct->nr_idle--;
			acct->nr_workers--;
			worker->exited = true;
			spin_unlock_irq(&ctx->async_lock);
			ring_user_uncharge_worker(ctx->user);
			/* Reaped (kthread_stop) by the next start or teardown. */
			return 0;
		}
		/* Woken for a request another worker took: wakeable again. */
		if (list_empty(&worker->idle_node))
			list_add(&worker->idle_node, &acct->idle);
		set_current_state(TASK_INTERRUPTIBLE);
		spin_unlock_irq(&ctx->async_lock);
		timed_out = !schedule_timeout(RING_WORKER_IDLE) &&
			    !signal_pending(current);
	}
	/* Teardown: no request is left; it unlinks and uncharges us. */
	return 0;
}

/* Forget workers that exited on their own; they are gone or going. */
static void ring_workers_reap(struct ring_ctx *ctx, bool all)
{
	struct ring_worker *worker, *tmp;
	LIST_HEAD(reap);

	spin_lock_irq(&ctx->async_lock);
	list_for_each_entry_safe(worker, tmp, &ctx->workers, node)
		if (all || worker->exited)
			list_move(&worker->node, &reap);
	spin_unlock_irq(&ctx->async_lock);

	list_for_each_entry_safe(worker, tmp, &reap, node) {
		/*
		 * Waits until the thread has left this module's code, or
		 * makes sure it never enters it (stopped before it ran).
		 */
		kthread_stop(worker->task);
		put_task_struct(worker->task);
		if (!worker->exited) {
			/* Still idle, maybe on the list others walk: unlink. */
			spin_lock_irq(&ctx->async_lock);
			list_del_init(&worker->idle_node);
			ctx->acct[worker->class].nr_idle--;
			ctx->acct[worker->class].nr_workers--;
			spin_unlock_irq(&ctx->async_lock);
			ring_user_uncharge_worker(ctx->user);
		}
		kfree(worker);
	}
}

/* Under async_lock: does class @c have more requests than idle workers? */
static bool ring_wq_needs_worker(struct ring_ctx *ctx, unsigned int c)
{
	struct ring_wq_acct *acct = &ctx->acct[c];

	return acct->nr_queued > acct->nr_idle &&
	       acct->nr_workers < acct->max_workers;
}

/*
 * A worker's I/O and CPU are the owner's cgroups' (io.max, io.weight,
 * cpu.max, cpuset), as the SQ thread's are: a user in a container must
 * not escape its limits by having a worker do the work.  The cgroups the
 * owner is in when the worker starts.
 */
static int ring_worker_attach_cgroups(struct ring_ctx *ctx,
				      struct task_struct *task)
{
	struct task_struct *owner = get_pid_task(ctx->owner_pid, PIDTYPE_PID);
	int ret;

	/* Gone: the ring is dying, and nothing will run. */
	if (!owner)
		return -ECANCELED;
	ret = cgroup_attach_task_all(owner, task);
	put_task_struct(owner);
	/* -EBUSY means "the user's budget" to our caller: not this. */
	return ret == -EBUSY ? -EAGAIN : ret;
}

static int ring_worker_start(struct ring_ctx *ctx, unsigned int class)
{
	struct ring_wq_acct *acct = &ctx->acct[class];
	struct ring_worker *worker;
	struct task_struct *task;
	int ret;

	worker = kzalloc(sizeof(*worker), GFP_KERNEL_ACCOUNT);
	if (!worker)
		return -ENOMEM;
	worker->ctx = ctx;
	worker->class = class;
	INIT_LIST_HEAD(&worker->idle_node);
	if (!ring_user_charge_worker(ctx)) {
		kfree(worker);
		return -EBUSY;
	}
	task = kthread_create(ring_worker_fn, worker, "ring-wq/%d",
			      ctx->owner_tgid);
	if (IS_ERR(task)) {
		ret = PTR_ERR(task);
		goto err_uncharge;
	}
	ret = ring_worker_attach_cgroups(ctx, task);
	if (ret)
		goto err_stop;
	worker->task = get_task_struct(task);

	spin_lock_irq(&ctx->async_lock);
	list_add_tail(&worker->node, &ctx->workers);
	list_add(&worker->idle_node, &acct->idle);
	acct->nr_idle++;
	acct->nr_workers++;
	spin_unlock_irq(&ctx->async_lock);
	wake_up_process(task);
	return 0;

err_stop:
	/* Never woken: it never runs ring_worker_fn(). */
	kthread_stop(task);
err_uncharge:
	ring_user_uncharge_worker(ctx->user);
	kfree(worker);
	return ret;
}

static void ring_req_fail_queued(struct ring_req *req, int err)
{
	/* A retry handed over by a wake-up is still on its queues. */
	if (req->flags & RING_REQ_F_POLLED)
		ring_poll_detach(req);
	ring_req_complete(req, err);
}

/* Under async_lock: every queued request, to @queued. */
static void ring_async_take_queued(struct ring_ctx *ctx,
				   struct list_head *queued)
{
	unsigned int c;

	for (c = 0; c < RING_IOWQ_NR; c++) {
		list_splice_tail_init(&ctx->acct[c].work, queued);
		ctx->acct[c].nr_queued = 0;
	}
}

static void ring_async_fail_queued(struct list_head *queued)
{
	struct ring_req *req, *tmp;

	list_for_each_entry_safe(req, tmp, queued, node) {
		list_del_init(&req->node);
		ring_req_fail_queued(req, -ECANCELED);
		cond_resched();
	}
}

/* The ring is dying: what reached its queues late is cancelled. */
static void ring_async_cancel_queued(struct ring_ctx *ctx)
{
	LIST_HEAD(queued);

	spin_lock_irq(&ctx->async_lock);
	ring_async_take_queued(ctx, &queued);
	spin_unlock_irq(&ctx->async_lock);
	ring_async_fail_queued(&queued);
}

/* No worker could start for class @c: without one, nobody runs its queue. */
static void ring_wq_fail_orphans(struct ring_ctx *ctx, unsigned int c, int err)
{
	struct ring_req *req, *tmp;
	LIST_HEAD(orphans);

	spin_lock_irq(&ctx->async_lock);
	if (!ctx->acct[c].nr_workers) {
		list_splice_init(&ctx->acct[c].work, &orphans);
		ctx->acct[c].nr_queued = 0;
	}
	spin_unlock_irq(&ctx->async_lock);
	list_for_each_entry_safe(req, tmp, &orphans, node) {
		list_del_init(&req->node);
		ring_req_fail_queued(req, err);
	}
}

/* Start as many workers as queued requests need, within the limits. */
static void ring_wq_create_work(struct work_struct *work)
{
	struct ring_ctx *ctx = container_of(work, struct ring_ctx,
					    create_work);
	unsigned int c;

	/* What reached the queues of a dying ring only ends (see above). */
	if (READ_ONCE(ctx->dying)) {
		ring_async_cancel_queued(ctx);
		return;
	}
	ring_workers_reap(ctx, false);
	for (c = 0; c < RING_IOWQ_NR; c++) {
		for (;;) {
			bool need;
			int ret;

			spin_lock_irq(&ctx->async_lock);
			/* Dying meanwhile: teardown takes what is queued. */
			need = !ctx->dying && ring_wq_needs_worker(ctx, c);
			spin_unlock_irq(&ctx->async_lock);
			if (!need)
				break;
			ret = ring_worker_start(ctx, c);
			/* -EBUSY: the user's budget; a freed worker kicks us. */
			if (ret == -EBUSY)
				return;
			if (ret) {
				ring_wq_fail_orphans(ctx, c, ret);
				break;
			}
		}
	}
}

/*
 * Run @req in one of the ring's workers; any context, the caller owns it.
 * @refuse_dying: not once the ring is dying (false: the caller keeps it).
 */
static bool ring_async_queue(struct ring_req *req, bool refuse_dying)
{
	struct ring_ctx *ctx = req->ctx;
	struct ring_wq_acct *acct = &ctx->acct[ring_req_class(req)];
	struct ring_worker *idle;
	unsigned long flags;

	spin_lock_irqsave(&ctx->async_lock, flags);
	if (refuse_dying && ctx->dying) {
		spin_unlock_irqrestore(&ctx->async_lock, flags);
		return false;
	}
	list_add_tail(&req->node, &acct->work);
	acct->nr_queued++;
	/*
	 * Off the idle list, so that the next request wakes another one; it
	 * still counts in nr_idle until it takes a request.
	 */
	idle = list_first_entry_or_null(&acct->idle, struct ring_worker,
					idle_node);
	if (idle) {
		list_del_init(&idle->idle_node);
		wake_up_process(idle->task);
	}
	/*
	 * Under the lock: once we let go, cancellation may complete the
	 * request and teardown free the ring.  On a dying ring create_work
	 * cancels the queues instead of starting workers: a ring whose
	 * owner is gone but whose file stays open has nobody else to.
	 */
	if (ctx->dying || ring_wq_needs_worker(ctx, ring_req_class(req)))
		queue_work(ring_wq, &ctx->create_work);
	if (ctx->dying) {
		/*
		 * Teardown may be waiting to drain what comes late: order
		 * nr_queued before wake_up_var()'s check for a waiter; pairs
		 * with the barrier in wait_var_event()'s prepare_to_wait.
		 */
		smp_mb();
		wake_up_var(&ctx->inflight);
	}
	spin_unlock_irqrestore(&ctx->async_lock, flags);
	return true;
}

/*
 * For what has been waiting (a retry, a wake-up): once the ring is dying,
 * it still reaches the queue, which create_work (queued for it),
 * cancellation and teardown drain.
 */
void ring_async_queue_work(struct ring_req *req)
{
	ring_async_queue(req, false);
}

/*
 * For what starts now (a chain's successor, a drained request, ASYNC):
 * false once the ring is dying, when cancellation may already have
 * drained the queues and nothing would; the caller cancels it.
 */
bool ring_async_queue_new(struct ring_req *req)
{
	return ring_async_queue(req, true);
}

/*
 * Deferred frees that must not run in IRQ context (rsrc.c): short, never
 * waiting for anything a user controls, and what a teardown may be waiting
 * for (a tagged buffer's CQE), so never queued behind teardowns.
 */
void ring_async_defer(struct work_struct *work)
{
	queue_work(ring_wq, work);
}

/*
 * The last put of a registered resource (buffer, file) whose free, @fn,
 * needs process context: run now, or, from IRQ context, with interrupts
 * off or when the caller says so (@defer: under a spinlock), from ring_wq.
 */
void ring_free_last(struct work_struct *work, work_func_t fn, bool defer)
{
	if (defer || in_interrupt() || irqs_disabled()) {
		INIT_WORK(work, fn);
		ring_async_defer(work);
	} else {
		fn(work);
	}
}

/*
 * Teardowns of rings whose last reference went away outside the owner
 * (main.c).  They wait for I/O already at a file, which a user may hold
 * up, so they get a workqueue of their own: however many of them wait,
 * worker creation and deferred frees (ring_wq) go on.
 */
void ring_async_defer_teardown(struct work_struct *work)
{
	queue_work(ring_exit_wq, work);
}

/* ---- waiting for pollable files ------------------------------------------ */

/*
 * True when the caller now owns the request (took refs from 0).  Once two
 * claims are in, the owner already knows something happened: no more are
 * counted, so that no number of wake-ups can wrap refs into a second owner.
 */
static bool ring_poll_get_ownership(struct ring_req *req)
{
	if ((atomic_read(&req->poll.refs) & RING_POLL_REF_MASK) >= 2)
		return false;
	return !(atomic_fetch_inc(&req->poll.refs) & RING_POLL_REF_MASK);
}

/*
 * The owner takes @req off its wait queues and poll_list: afterwards no
 * wake-up or cancellation can reach it, and poll.refs says whether a
 * cancellation came first.
 */
static void ring_poll_detach(struct ring_req *req)
{
	struct ring_ctx *ctx = req->ctx;
	unsigned int i;

	for (i = 0; i < req->poll.nr_entries; i++) {
		struct ring_poll_entry *entry = &req->poll.entries[i];
		struct wait_queue_head *head;

		/* POLLFREE frees the queue only after an RCU grace period. */
		rcu_read_lock();
		/* Pairs with the release in ring_poll_wake()'s POLLFREE case. */
		head = smp_load_acquire(&entry->head);
		if (head) {
			spin_lock_irq(&head->lock);
			list_del_init(&entry->wait.entry);
			WRITE_ONCE(entry->head, NULL);
			spin_unlock_irq(&head->lock);
		}
		rcu_read_unlock();
	}
	spin_lock_irq(&ctx->async_lock);
	list_del_init(&req->poll.node);
	spin_unlock_irq(&ctx->async_lock);
}


/*
 * Wake-up callback, under the wait queue's lock, any context.  Whoever
 * takes ownership hands the request to a worker, which detaches it
 * (taking each queue's lock in turn, never nested) and retries.
 */
static int ring_poll_wake(struct wait_queue_entry *wait, unsigned int mode,
			  int sync, void *key)
{
	struct ring_poll_entry *entry = container_of(wait,
						     struct ring_poll_entry,
						     wait);
	struct ring_req *req = wait->private;
	__poll_t mask = key_to_poll(key);

	if (unlikely(mask & POLLFREE)) {
		/* The queue is going away now: leave it, and end the request. */
		atomic_or(RING_POLL_CANCEL, &req->poll.refs);
		list_del_init(&wait->entry);
		/* Pairs with the acquire in ring_poll_detach(). */
		smp_store_release(&entry->head, NULL);
	} else if (mask && !(mask & (req->poll.events | EPOLLERR | EPOLLHUP))) {
		return 0;
	}
	if (ring_poll_get_ownership(req)) {
		/* Off this queue now: it wakes us no more (the owner detaches). */
		if (entry->head) {
			list_del_init(&wait->entry);
			smp_store_release(&entry->head, NULL);
		}
		req->flags |= RING_REQ_F_POLLED;
		ring_async_queue_work(req);
	}
	return 1;
}

struct ring_poll_table {
	poll_table pt;
	struct ring_req *req;
	bool too_many;
};

/* vfs_poll()'s callback: the arming task owns the request here. */
static void ring_poll_queue_proc(struct file *file,
				 struct wait_queue_head *head, poll_table *pt)
{
	struct ring_poll_table *ipt = container_of(pt, struct ring_poll_table,
						   pt);
	struct ring_poll *poll = &ipt->req->poll;
	struct ring_poll_entry *entry;

	if (poll->nr_entries == ARRAY_SIZE(poll->entries)) {
		ipt->too_many = true;
		return;
	}
	entry = &poll->entries[poll->nr_entries++];
	entry->head = head;
	init_waitqueue_func_entry(&entry->wait, ring_poll_wake);
	entry->wait.private = ipt->req;
	add_wait_queue(head, &entry->wait);
}

/*
 * Wait for @req's file to become ready; the caller owns @req and gives it
 * up here.  False when the ring is dying (the caller still owns it).
 */
static bool ring_poll_arm(struct ring_req *req, __poll_t events)
{
	struct ring_ctx *ctx = req->ctx;
	struct ring_poll_table ipt = { .req = req };
	__poll_t mask;

	req->poll.nr_entries = 0;
	req->poll.events = events;
	/* Ours while we arm: a wake-up or cancel meanwhile only counts. */
	atomic_set(&req->poll.refs, 1);

	/* Checked under async_lock so that cancellation cannot miss us. */
	spin_lock_irq(&ctx->async_lock);
	if (ctx->dying) {
		spin_unlock_irq(&ctx->async_lock);
		return false;
	}
	list_add_tail(&req->poll.node, &ctx->poll_list);
	spin_unlock_irq(&ctx->async_lock);

	init_poll_funcptr(&ipt.pt, ring_poll_queue_proc);
	ipt.pt._key = events | EPOLLERR | EPOLLHUP;
	mask = vfs_poll(req->file, &ipt.pt);

	if (!ipt.too_many && req->poll.nr_entries && !(mask & ipt.pt._key)) {
		/* Let go: from here a wake-up or cancellation owns it. */
		if (atomic_cmpxchg(&req->poll.refs, 1, 0) == 1)
			return true;
		/* One came while we armed and left the request to us. */
	}
	ring_poll_detach(req);
	if (atomic_read(&req->poll.refs) & RING_POLL_CANCEL) {
		ring_req_complete(req, -ECANCELED);
		return true;
	}
	/* Ready (retry without waiting), or not waitable: a worker may block. */
	if (!ipt.too_many && req->poll.nr_entries)
		req->flags |= RING_REQ_F_POLLED;
	ring_async_queue_work(req);
	return true;
}

/* @req's issue() returned -EAGAIN without blocking: finish it later. */
void ring_async_punt(struct ring_req *req)
{
	__poll_t events = ring_opdefs[req->opcode].poll_events;

	/*
	 * A file whose poll says ready but whose read says -EAGAIN would
	 * have a worker spin on it: after enough tries, a worker blocks.
	 */
	if (events && ring_file_pollable(req->file) &&
	    req->poll.retries++ < RING_POLL_MAX_RETRY) {
		if (!ring_poll_arm(req, events))
			ring_req_complete(req, -ECANCELED);
		return;
	}
	/* New work: a dying ring may have drained its queues already. */
	if (!ring_async_queue_new(req))
		ring_req_complete(req, -ECANCELED);
}

/*
 * Any context: the ring is dying, and every worker running one of its
 * requests is interrupted (it accepts SIGKILL only while it runs one).
 */
static void ring_async_stop_workers(struct ring_ctx *ctx)
{
	struct ring_worker *worker;
	unsigned long flags;

	spin_lock_irqsave(&ctx->async_lock, flags);
	WRITE_ONCE(ctx->dying, true);
	list_for_each_entry(worker, &ctx->workers, node)
		if (worker->cur)
			send_sig(SIGKILL, worker->task, 1);
	ring_sqpoll_interrupt(ctx);
	spin_unlock_irqrestore(&ctx->async_lock, flags);
}

/*
 * No request of the ring may run any more: every armed request and every
 * queued one completes with -ECANCELED, and running ones are interrupted.
 * Process context; may be called again (teardown drains late arrivals).
 */
void ring_async_cancel_all(struct ring_ctx *ctx)
{
	struct ring_worker *worker;
	struct ring_req *req, *tmp;
	LIST_HEAD(polled);
	LIST_HEAD(queued);

	spin_lock_irq(&ctx->async_lock);
	WRITE_ONCE(ctx->dying, true);
	list_for_each_entry_safe(req, tmp, &ctx->poll_list, poll.node) {
		atomic_or(RING_POLL_CANCEL, &req->poll.refs);
		/* Otherwise its owner sees the flag once it has detached it. */
		if (ring_poll_get_ownership(req))
			list_move_tail(&req->poll.node, &polled);
	}
	ring_async_take_queued(ctx, &queued);
	list_for_each_entry(worker, &ctx->workers, node)
		if (worker->cur)
			send_sig(SIGKILL, worker->task, 1);
	ring_sqpoll_interrupt(ctx);
	spin_unlock_irq(&ctx->async_lock);

	list_for_each_entry_safe(req, tmp, &polled, poll.node) {
		ring_poll_detach(req);
		ring_req_complete(req, -ECANCELED);
	}
	ring_async_fail_queued(&queued);
	ring_chain_cancel_deferred(ctx);
}

/* ---- a ring's asynchronous side: setup, limits, teardown ------------------ */

int ring_async_setup(struct ring_ctx *ctx)
{
	struct mmu_notifier *mn;
	unsigned int c;

	for (c = 0; c < RING_IOWQ_NR; c++) {
		INIT_LIST_HEAD(&ctx->acct[c].work);
		INIT_LIST_HEAD(&ctx->acct[c].idle);
		ctx->acct[c].max_workers = max_workers;
	}
	INIT_WORK(&ctx->create_work, ring_wq_create_work);
	INIT_LIST_HEAD(&ctx->user_node);
	/* A SETUP that failed after an earlier one got this far. */
	ctx->dying = false;

	ctx->user = ring_user_get(current_uid());
	if (!ctx->user)
		return -ENOMEM;
	/* One notifier per mm, shared by its rings. */
	mn = mmu_notifier_get(&ring_mm_ops, current->mm);
	if (IS_ERR(mn)) {
		ring_user_put(ctx->user);
		return PTR_ERR(mn);
	}
	ctx->rmm = container_of(mn, struct ring_mm, mn);
	mutex_lock(&ctx->rmm->lock);
	list_add(&ctx->mm_node, &ctx->rmm->rings);
	mutex_unlock(&ctx->rmm->lock);
	ctx->memcg = get_mem_cgroup_from_mm(current->mm);

	ctx->owner_pid = get_pid(task_tgid(current));
	INIT_WORK(&ctx->owner_work, ring_owner_work);
	INIT_DELAYED_WORK(&ctx->exit_watch, ring_exit_watch_fn);
	init_waitqueue_func_entry(&ctx->owner_wait, ring_owner_wake);
	add_wait_queue(&ctx->owner_pid->wait_pidfd, &ctx->owner_wait);
	return 0;
}

/* The last file reference is gone: end everything, then stop the workers. */
void ring_async_teardown(struct ring_ctx *ctx)
{
	remove_wait_queue(&ctx->owner_pid->wait_pidfd, &ctx->owner_wait);
	/* ->dying first (under async_lock): nothing arms the watch again. */
	ring_async_stop_workers(ctx);
	/* Before the drain below: it submits nothing more. */
	ring_sqpoll_stop(ctx);
	cancel_delayed_work_sync(&ctx->exit_watch);
	cancel_work_sync(&ctx->owner_work);

	mutex_lock(&ctx->rmm->lock);
	list_del(&ctx->mm_node);
	mutex_unlock(&ctx->rmm->lock);
	mmu_notifier_put(&ctx->rmm->mn);

	/*
	 * Requests may still arrive in the queues (a wake-up's retry, an
	 * O_DIRECT -EAGAIN); those are woken to here and drained.
	 */
	for (;;) {
		ring_async_cancel_all(ctx);
		/* Polled I/O cannot be cancelled, nor end unless polled. */
		ring_iopoll_reap_all(ctx);
		/* Cancel again now and then: a wait may have missed SIGKILL. */
		wait_var_event_timeout(&ctx->inflight,
				       !atomic_read(&ctx->inflight) ||
				       READ_ONCE(ctx->acct[0].nr_queued) ||
				       READ_ONCE(ctx->acct[1].nr_queued), HZ);
		if (!atomic_read(&ctx->inflight))
			break;
	}
	/*
	 * No request left: only a budget kick can queue create_work now, and
	 * only while the ring waits for budget, which create_work itself may
	 * start.
	 */
	cancel_work_sync(&ctx->create_work);
	ring_user_unstarve(ctx);
	cancel_work_sync(&ctx->create_work);
	/* Only now: create_work looks the owner up for a worker's cgroups. */
	put_pid(ctx->owner_pid);
	ring_workers_reap(ctx, true);
	ring_user_put(ctx->user);
	mem_cgroup_put(ctx->memcg);
}

/* Under uring_lock, which every change of the limits holds. */
int ring_register_iowq_max_workers(struct ring_ctx *ctx, void __user *arg,
				   unsigned int nr)
{
	u32 new[RING_IOWQ_NR], old[RING_IOWQ_NR];
	unsigned int c;

	if (nr != RING_IOWQ_NR)
		return -EINVAL;
	if (copy_from_user(new, arg, sizeof(new)))
		return -EFAULT;
	for (c = 0; c < RING_IOWQ_NR; c++)
		old[c] = READ_ONCE(ctx->acct[c].max_workers);
	/* Before anything changes: a bad pointer leaves the limits alone. */
	if (copy_to_user(arg, old, sizeof(old)))
		return -EFAULT;
	spin_lock_irq(&ctx->async_lock);
	for (c = 0; c < RING_IOWQ_NR; c++)
		if (new[c])
			ctx->acct[c].max_workers = min(new[c], max_workers);
	spin_unlock_irq(&ctx->async_lock);
	/* A raised limit may let queued requests start workers. */
	queue_work(ring_wq, &ctx->create_work);
	return 0;
}

/* The workers of each class: started (idle included) and the limit. */
void ring_async_show_fdinfo(struct ring_ctx *ctx, struct seq_file *m)
{
	unsigned int nr[RING_IOWQ_NR], max[RING_IOWQ_NR], c;

	spin_lock_irq(&ctx->async_lock);
	for (c = 0; c < RING_IOWQ_NR; c++) {
		nr[c] = ctx->acct[c].nr_workers;
		max[c] = ctx->acct[c].max_workers;
	}
	spin_unlock_irq(&ctx->async_lock);
	seq_printf(m, "WorkersBound:\t%u\n", nr[RING_IOWQ_BOUND]);
	seq_printf(m, "WorkersUnbound:\t%u\n", nr[RING_IOWQ_UNBOUND]);
	seq_printf(m, "WorkersMax:\t%u %u\n", max[RING_IOWQ_BOUND],
		   max[RING_IOWQ_UNBOUND]);
}

int ring_async_init(void)
{
	ring_wq = alloc_workqueue("ring", WQ_UNBOUND, 0);
	if (!ring_wq)
		return -ENOMEM;
	ring_exit_wq = alloc_workqueue("ring_exit", WQ_UNBOUND, 0);
	if (!ring_exit_wq) {
		destroy_workqueue(ring_wq);
		return -ENOMEM;
	}
	return 0;
}

void ring_async_exit(void)
{
	/* Teardowns first: they may still queue frees on ring_wq. */
	destroy_workqueue(ring_exit_wq);
	destroy_workqueue(ring_wq);
	/* ring_mm_free() runs after an SRCU grace period: wait for it. */
	mmu_notifier_synchronize();
}
