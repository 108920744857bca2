// SPDX-License-Identifier: GPL-2.0
/*
 * RING_SETUP_SQPOLL: a kernel thread of the ring's own consumes the SQ ring,
 * so that an application submits by writing SQEs and moving the tail, with
 * no ENTER while the thread is awake.
 *
 * The thread lives under the workers' rules (async.c):
 *
 *  - it touches user memory (iovec arrays, buffers) only with the ring's mm
 *    loaded, after mmget_not_zero(), and only while it polls: asleep, it
 *    holds no reference, so it never keeps the owner's mm alive.  While it
 *    holds it, the exit watch looks for the owner's exit, as for a busy
 *    worker; cancellation (->dying) interrupts it with SIGKILL;
 *  - it submits with the credentials and file size limit of the task that
 *    set the ring up (io_uring's rule for its SQ thread), charges what it
 *    allocates to that task's memory cgroup, and runs in its cgroups (CPU
 *    time it spins is the user's), at its nice level, on CPUs it may use;
 *  - it has no file table: SQEs name files by registered slot
 *    (RING_SQE_FIXED_FILE), as io_uring's did before FEAT_SQPOLL_NONFIXED;
 *  - each user may have max_user_sqthreads of them; it is stopped before
 *    the ring is torn down.
 */
#include <linux/cgroup.h>
#include <linux/cpumask.h>
#include <linux/kcov.h>
#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/freezer.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <uapi/linux/sched/types.h>

#include "ring.h"

static unsigned int max_user_sqthreads = 4;
module_param(max_user_sqthreads, uint, 0444);
MODULE_PARM_DESC(max_user_sqthreads,
		 "Most SQPOLL rings (threads) one user may have (default 4)");

static unsigned int max_sq_thread_idle = 10000;
module_param(max_sq_thread_idle, uint, 0444);
MODULE_PARM_DESC(max_sq_thread_idle,
		 "Longest sq_thread_idle in ms; longer ones are cut (default 10000)");

/* io_uring's default sq_thread_idle. */
#define RING_SQ_IDLE_DEFAULT	HZ
/* Asleep with SQEs it may not take yet (bounds): look again this often. */
#define RING_SQ_FULL_RECHECK	(HZ / 50)

/* SETUP's checks of the SQPOLL fields; @flags are checked otherwise. */
int ring_sqpoll_params_check(const struct ring_params *p)
{
	unsigned int cpu = p->sq_thread_cpu;

	if (!(p->flags & RING_SETUP_SQPOLL))
		return p->sq_thread_idle || p->sq_thread_cpu ||
		       (p->flags & RING_SETUP_SQ_AFF) ? -EINVAL : 0;
	/* Task-work flags mean nothing to a ring no task submits to (io_uring). */
	if (p->flags & (RING_SETUP_COOP_TASKRUN | RING_SETUP_TASKRUN_FLAG |
			RING_SETUP_DEFER_TASKRUN))
		return -EINVAL;
	if (!(p->flags & RING_SETUP_SQ_AFF))
		return cpu ? -EINVAL : 0;
	/* Only a CPU the caller may run on: a cpuset is not escaped this way. */
	if (cpu >= nr_cpu_ids || !cpu_online(cpu) ||
	    !cpumask_test_cpu(cpu, current->cpus_ptr))
		return -EINVAL;
	return 0;
}

static void ring_sq_set_need_wakeup(struct ring_ctx *ctx, bool on)
{
	/* ctx->sq_flags is shared with the overflow flag (cq.c). */
	spin_lock_irq(&ctx->completion_lock);
	if (on)
		ctx->sq_flags |= RING_SQ_NEED_WAKEUP;
	else
		ctx->sq_flags &= ~RING_SQ_NEED_WAKEUP;
	WRITE_ONCE(ctx->rings->sq_flags, ctx->sq_flags);
	spin_unlock_irq(&ctx->completion_lock);
}

static bool ring_sq_pending(struct ring_ctx *ctx)
{
	/* Pairs with the application's store-release of sq.tail. */
	return smp_load_acquire(&ctx->rings->sq.tail) !=
	       READ_ONCE(ctx->cached_sq_head);
}

/*
 * SQEs may not be taken now: too many wait behind drains, or the CQ
 * backlog holds a ring's worth, which only the application's reaping (and
 * an ENTER) moves on.  Without the second, a thread fed a far-away tail
 * would fill memory at CPU speed with nobody entering.
 */
static bool ring_sq_blocked(struct ring_ctx *ctx)
{
	return ring_defer_full(ctx) ||
	       READ_ONCE(ctx->backlog_nr) >= ctx->cq_entries;
}

/* Nothing the thread could do now; the enable pairs with ring_enable_rings. */
static bool ring_sq_idle(struct ring_ctx *ctx)
{
	if (READ_ONCE(ctx->dying) || smp_load_acquire(&ctx->r_disabled))
		return true;
	if (ring_iopoll_pending(ctx))
		return false;
	return !ring_sq_pending(ctx) || ring_sq_blocked(ctx);
}

/* Take the owner's mm, unless it or the ring is gone; see async.c. */
static bool ring_sq_get_mm(struct ring_ctx *ctx)
{
	if (!mmget_not_zero(ctx->mm))
		return false;
	spin_lock_irq(&ctx->async_lock);
	if (ctx->dying) {
		spin_unlock_irq(&ctx->async_lock);
		mmput(ctx->mm);
		return false;
	}
	ctx->sq_busy = true;
	ring_exit_watch_arm(ctx);
	spin_unlock_irq(&ctx->async_lock);
	if (ctx->kcov_handle)
		kcov_remote_start_common(ctx->kcov_handle);
	kthread_use_mm(ctx->mm);
	return true;
}

static void ring_sq_put_mm(struct ring_ctx *ctx)
{
	kthread_unuse_mm(ctx->mm);
	if (ctx->kcov_handle)
		kcov_remote_stop();
	spin_lock_irq(&ctx->async_lock);
	ctx->sq_busy = false;
	spin_unlock_irq(&ctx->async_lock);
	/* May be the last reference: the mm's release cancels the ring. */
	mmput(ctx->mm);
}

/* One pass: what the SQ holds, then a poll of IOPOLL I/O.  True: progress. */
static bool ring_sq_pass(struct ring_ctx *ctx)
{
	u32 head = READ_ONCE(ctx->cached_sq_head);
	unsigned int reaped = 0;
	bool full = false;
	int submitted = 0;

	/* Killable: cancellation's SIGKILL ends a wait behind a stuck REGISTER. */
	if (mutex_lock_killable(&ctx->uring_lock))
		return false;
	if (ring_sq_pending(ctx) && !ring_sq_blocked(ctx))
		submitted = ring_submit_sqes(ctx, ctx->sq_entries, &full);
	if (ring_iopoll_pending(ctx))
		reaped = ring_iopoll_round(ctx, false);
	mutex_unlock(&ctx->uring_lock);
	/*
	 * Slots freed, even by dropped entries: SQ_WAIT may go on.
	 * wq_has_sleeper()'s barrier pairs with prepare_to_wait()'s.
	 */
	if (READ_ONCE(ctx->cached_sq_head) != head &&
	    wq_has_sleeper(&ctx->sq_space_wait))
		wake_up(&ctx->sq_space_wait);
	return submitted > 0 || reaped;
}

/* Poll the SQ until it has been idle for sq_idle, with the mm loaded. */
static void ring_sq_poll(struct ring_ctx *ctx)
{
	unsigned long timeout = jiffies + ctx->sq_idle;

	while (!kthread_should_stop() && !READ_ONCE(ctx->dying)) {
		/* Suspend and hibernation stop it, as they stop its user. */
		if (try_to_freeze())
			timeout = jiffies + ctx->sq_idle;
		if (ring_sq_pass(ctx))
			timeout = jiffies + ctx->sq_idle;
		else if (time_after(jiffies, timeout))
			break;
		else
			cpu_relax();
		cond_resched();
	}
}

/*
 * Sleep until woken (RING_ENTER_SQ_WAKEUP, enabling, kthread_stop()), or
 * a while when SQEs wait that it may not take yet: the drain bound, or an
 * mm whose release (which makes the ring dying) is under way (@no_mm).
 */
static void ring_sq_sleep(struct ring_ctx *ctx, bool no_mm)
{
	long timeout = MAX_SCHEDULE_TIMEOUT;
	DEFINE_WAIT(wait);

	prepare_to_wait(&ctx->sq_wait, &wait, TASK_INTERRUPTIBLE);
	ring_sq_set_need_wakeup(ctx, true);
	/*
	 * Order the flag before the tail's load below; pairs with the
	 * application's full barrier between its store of sq.tail and its
	 * load of the flags: either we see its SQEs, or it sees the flag and
	 * wakes us (RING_ENTER_SQ_WAKEUP).
	 */
	smp_mb();
	if (no_mm || (ring_sq_pending(ctx) && ring_sq_blocked(ctx)))
		timeout = RING_SQ_FULL_RECHECK;
	if ((no_mm || ring_sq_idle(ctx)) && !kthread_should_stop())
		schedule_timeout(timeout);
	finish_wait(&ctx->sq_wait, &wait);
	ring_sq_set_need_wakeup(ctx, false);
}

static int ring_sq_thread(void *data)
{
	struct ring_ctx *ctx = data;
	struct mem_cgroup *old_memcg;
	const struct cred *old_creds;

	/* Cancellation ends a fault in the owner's memory with it. */
	allow_signal(SIGKILL);
	old_creds = override_creds(ctx->sq_creds);
	/* Writes stop at the creator's file size limit. */
	current->signal->rlim[RLIMIT_FSIZE].rlim_cur = ctx->sq_fsize;
	old_memcg = set_active_memcg(ctx->memcg);
	set_freezable();

	while (!kthread_should_stop()) {
		bool no_mm = false;

		try_to_freeze();
		/* A SIGKILL for what it did before is not for what it does next. */
		flush_signals(current);
		if (!ring_sq_idle(ctx)) {
			if (ring_sq_get_mm(ctx)) {
				ring_sq_poll(ctx);
				ring_sq_put_mm(ctx);
				continue;
			}
			no_mm = !READ_ONCE(ctx->dying);
		}
		ring_sq_sleep(ctx, no_mm);
	}

	set_active_memcg(old_memcg);
	revert_creds(old_creds);
	return 0;
}

/*
 * The caller's nice level, and its policy if it is a fair one (an idle or
 * batch caller must not get a normal spinner); never a real-time one.
 */
static int ring_sq_sched_like_current(struct task_struct *task)
{
	struct sched_attr attr = {
		.size = sizeof(attr),
		.sched_policy = SCHED_NORMAL,
		.sched_nice = task_nice(current),
	};

	if (current->policy == SCHED_BATCH || current->policy == SCHED_IDLE)
		attr.sched_policy = current->policy;
	return sched_setattr_nocheck(task, &attr);
}

/*
 * At SETUP, after ring_async_setup(): the thread, charged to the user and
 * placed like the caller, not yet running (ring_sqpoll_start()).
 */
int ring_sqpoll_create(struct ring_ctx *ctx, const struct ring_params *p)
{
	struct task_struct *task;
	int ret;

	init_waitqueue_head(&ctx->sq_wait);
	init_waitqueue_head(&ctx->sq_space_wait);
	if (!(p->flags & RING_SETUP_SQPOLL))
		return 0;
	/* Cut: a user's polling may not outlast its last SQE for weeks. */
	ctx->sq_idle = p->sq_thread_idle ?
		       msecs_to_jiffies(min(p->sq_thread_idle,
					    max_sq_thread_idle)) :
		       RING_SQ_IDLE_DEFAULT;
	if (!ring_user_charge_sq(ctx->user, max_user_sqthreads))
		return -EAGAIN;
	ctx->sq_creds = get_current_cred();
	ctx->sq_fsize = rlimit(RLIMIT_FSIZE);

	task = kthread_create(ring_sq_thread, ctx, "ring-sq/%d",
			      ctx->owner_tgid);
	if (IS_ERR(task)) {
		ret = PTR_ERR(task);
		goto err_uncharge;
	}
	/* The CPU it spins is the caller's cgroups' (cpu, cpuset, io). */
	ret = cgroup_attach_task_all(current, task);
	if (ret)
		goto err_stop;
	ret = set_cpus_allowed_ptr(task, (p->flags & RING_SETUP_SQ_AFF) ?
				   cpumask_of(array_index_nospec(p->sq_thread_cpu,
								 nr_cpu_ids)) :
				   current->cpus_ptr);
	if (ret)
		goto err_stop;
	ret = ring_sq_sched_like_current(task);
	if (ret)
		goto err_stop;
	ctx->sq_task = get_task_struct(task);
	return 0;

err_stop:
	/* Never woken: it never runs ring_sq_thread(). */
	kthread_stop(task);
err_uncharge:
	put_cred(ctx->sq_creds);
	ctx->sq_creds = NULL;
	ring_user_uncharge_sq(ctx->user);
	return ret;
}

/* The ring is published: from here the thread may look at it. */
void ring_sqpoll_start(struct ring_ctx *ctx)
{
	if (ctx->sq_task)
		wake_up_process(ctx->sq_task);
}

/* An event the sleeping thread waits for (the ring is enabled). */
void ring_sqpoll_wake(struct ring_ctx *ctx)
{
	if (ctx->sq_task)
		wake_up(&ctx->sq_wait);
}

/*
 * Under async_lock, once ->dying is set: a thread polling in the owner's
 * memory is interrupted; waiters for SQ space stop waiting.
 */
void ring_sqpoll_interrupt(struct ring_ctx *ctx)
{
	if (!ctx->sq_task)
		return;
	if (ctx->sq_busy)
		send_sig(SIGKILL, ctx->sq_task, 1);
	wake_up(&ctx->sq_space_wait);
}

/* Teardown (->dying set) or a failed SETUP: the thread is gone after this. */
void ring_sqpoll_stop(struct ring_ctx *ctx)
{
	if (!ctx->sq_task)
		return;
	kthread_stop(ctx->sq_task);
	put_task_struct(ctx->sq_task);
	ctx->sq_task = NULL;
	put_cred(ctx->sq_creds);
	ctx->sq_creds = NULL;
	ring_user_uncharge_sq(ctx->user);
}

/* RING_ENTER_SQ_WAIT: until the thread has made room in the SQ ring. */
static void ring_sq_wait_space(struct ring_ctx *ctx)
{
	DEFINE_WAIT(wait);

	while (!ring_sq_has_space(ctx)) {
		prepare_to_wait(&ctx->sq_space_wait, &wait, TASK_INTERRUPTIBLE);
		if (ring_sq_has_space(ctx) || signal_pending(current) ||
		    READ_ONCE(ctx->dying))
			break;
		schedule();
	}
	finish_wait(&ctx->sq_space_wait, &wait);
}

/*
 * ENTER's submission half on an SQPOLL ring: the thread submits; as
 * io_uring, the call reports to_submit, or EOWNERDEAD once the thread can
 * submit nothing more.
 */
int ring_sqpoll_enter(struct ring_ctx *ctx, u32 to_submit, u32 flags)
{
	if (READ_ONCE(ctx->dying))
		return -EOWNERDEAD;
	/*
	 * Also when the caller only waits (liburing's wait_cqe does not
	 * wake) and the thread sleeps on SQEs the backlog just let go of.
	 */
	if ((flags & RING_ENTER_SQ_WAKEUP) ||
	    ((READ_ONCE(ctx->sq_flags) & RING_SQ_NEED_WAKEUP) &&
	     ring_sq_pending(ctx)))
		wake_up(&ctx->sq_wait);
	if (flags & RING_ENTER_SQ_WAIT)
		ring_sq_wait_space(ctx);
	/* A count, as io_uring's; never mistaken for an error. */
	return min_t(u32, to_submit, INT_MAX);
}

void ring_sqpoll_show_fdinfo(struct ring_ctx *ctx, struct seq_file *m)
{
	if (!ctx->sq_task)
		return;
	seq_printf(m, "SqThread:\t%d\n", task_pid_nr(ctx->sq_task));
	seq_printf(m, "SqThreadCpu:\t%d\n", task_cpu(ctx->sq_task));
}
