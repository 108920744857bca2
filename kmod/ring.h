/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ring.ko internals: the per-file context, requests, and what each file of
 * the module offers the others.
 *
 * Memory ordering with user space (the one place it is spelled out):
 *
 *   SQ: the application writes SQEs and array entries, then store-releases
 *       sq.tail; ring_submit() load-acquires sq.tail before reading them.
 *       ring_submit() copies each SQE, then store-releases sq.head; the
 *       application load-acquires sq.head before reusing those slots.
 *   CQ: ring_cq_*() write CQEs, then store-release cq.tail; the application
 *       load-acquires cq.tail before reading them.  The application reads
 *       CQEs, then store-releases cq.head; the kernel load-acquires cq.head
 *       before overwriting the slots it frees.
 *
 * Fields the kernel writes (sq.head, cq.tail, sq_flags, sq_dropped,
 * cq_overflow) are mirrored in struct ring_ctx and only ever written from
 * there: user space can scribble on the shared page, never on our state.
 */
#ifndef RING_INTERNAL_H
#define RING_INTERNAL_H

#include <linux/atomic.h>
#include <linux/bvec.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/ring.h>

/* Kernel-owned pages mapped into user space and into the kernel (vmap). */
struct ring_region {
	struct page **pages;
	unsigned int nr_pages;
	void *vaddr;
};

struct ring_head_tail {
	u32 head;
	u32 tail;
};

/*
 * The shared ring header: SQ and CQ indices on their own cache lines, then
 * the CQE array; the SQ index array follows the CQEs (sq_array_off).
 */
struct ring_rings {
	struct ring_head_tail sq ____cacheline_aligned_in_smp;
	struct ring_head_tail cq ____cacheline_aligned_in_smp;
	u32 sq_ring_mask;
	u32 cq_ring_mask;
	u32 sq_ring_entries;
	u32 cq_ring_entries;
	u32 sq_dropped;
	u32 sq_flags;
	u32 cq_flags;
	u32 cq_overflow;
	struct ring_cqe cqes[] ____cacheline_aligned_in_smp;
};

/* Requests waiting for one class of the ring's workers (async.c). */
enum { RING_IOWQ_NR = 2 };	/* RING_IOWQ_BOUND, RING_IOWQ_UNBOUND */
struct ring_wq_acct {
	struct list_head work;		/* queued requests (ring_req.node) */
	struct list_head idle;		/* idle workers not yet woken */
	unsigned int nr_queued;
	unsigned int nr_idle;		/* workers not running a request */
	unsigned int nr_workers;	/* started and not exited */
	unsigned int max_workers;
};

struct ring_user;
struct ring_mm;
struct mem_cgroup;

struct ring_ctx {
	/* Set (release) once SETUP has built everything below; never cleared. */
	bool ready;

	/* Serialises SETUP, submission and REGISTER. */
	struct mutex uring_lock;
	/*
	 * While ring_submit_sqes() runs: its task, and the batch that I/O
	 * finishing inside that task's own issue joins (ring_req_done_inline()).
	 */
	struct task_struct *submit_task;
	struct ring_batch *submit_done;

	struct mm_struct *mm;		/* ENTER/REGISTER only from here */
	pid_t owner_tgid;		/* the process that set it up */
	u32 setup_flags;		/* RING_SETUP_* */
	bool r_disabled;		/* no ENTER until ENABLE_RINGS */
	struct pid *issuer;		/* RING_SETUP_SINGLE_ISSUER: its thread */
	u64 kcov_handle;		/* its KCOV remote handle, for workers */
	struct ring_rings *rings;	/* rings_region.vaddr */
	u32 *sq_array;
	struct ring_sqe *sqes;		/* sqes_region.vaddr */
	struct ring_region rings_region;
	struct ring_region sqes_region;
	u32 sq_entries, sq_mask;
	u32 cq_entries, cq_mask;

	/* Submission side, under uring_lock. */
	u32 cached_sq_head;
	u32 sq_dropped;
	struct ring_req *req_cache;	/* free requests (stack), before slab */
	u32 submit_seq;			/* requests submitted: ring_req.seq */
	bool drain_next;		/* the next request waits for the last */

	/* Completion side, under completion_lock (taken from IRQ context too). */
	spinlock_t completion_lock;
	u32 cached_cq_tail;
	u32 committed_cq_tail;		/* what cq.tail was last set to */
	u32 cq_overflow;
	u32 sq_flags;
	struct list_head backlog;	/* completed requests the CQ had no room for */
	u32 backlog_nr;
	/* Requests whose CQE is out (stack); moved to req_cache in bulk. */
	struct ring_req *req_cache_done;
	u32 req_cache_done_nr;
	/* Tag CQEs in the backlog (queue), in order with the requests. */
	struct ring_cq_aux *aux_first, **aux_tail;
	u32 backlog_reqs_in, backlog_reqs_out;	/* requests through it */
	u32 done_seq;			/* requests completed, CQE or not */
	u32 cq_skipped;			/* CQE_SKIP_SUCCESS: CQEs not posted */
	/*
	 * RING_SETUP_IOPOLL: requests whose completion is polled (iopoll.c),
	 * in issue order, linked by ->next.  Those issued under uring_lock
	 * (submission, the SQ thread) go straight on the reaper's list;
	 * workers' wait on a list of their own until a reaper takes them.
	 */
	struct ring_req *iopoll_first, **iopoll_tail;	/* uring_lock */
	spinlock_t iopoll_lock;
	struct ring_req *iopoll_remote_first, **iopoll_remote_tail;
	/*
	 * Reads and writes finished in IRQ context whose file someone
	 * watches: their fsnotify event, then their CQE, from ring_wq (rw.c).
	 */
	struct llist_head notify_list;
	struct work_struct notify_work;
	/* RING_SQE_IO_DRAIN: requests waiting for earlier ones, in order. */
	struct list_head defer_list;
	u32 defer_nr;			/* chains (or lone requests) on it */
	u32 defer_reqs;			/* requests in them: at most ~sq_entries */

	/* Fixed buffers, under uring_lock (rsrc.c). */
	struct ring_buf **bufs;
	unsigned int nr_bufs;
	struct ring_buf_pins *buf_pins;	/* large folios pinned: charged once */
	long buf_pinned_pages;		/* for fdinfo */
	long buf_bvecs;
	u32 tags_owed;			/* tag CQEs owed since setup: fdinfo */

	/* Registered files, under uring_lock (filetable.c). */
	struct ring_file_node **files;
	unsigned int nr_files;

	/* The IOTLB bounce region (iotlb.c); changes under both locks. */
	struct ring_iotlb *iotlb;
	struct rw_semaphore iotlb_rwsem;	/* faults vs map/unmap */
	struct address_space *mapping;		/* of the device file */

	/* GETEVENTS waiters and poll(). */
	wait_queue_head_t cq_wait;

	/*
	 * Requests issued and not yet completed (not in the CQ ring or the
	 * backlog).  Teardown waits for zero; see ring_inflight_sub().
	 */
	atomic_t inflight;

	/*
	 * The asynchronous side (async.c), under async_lock: requests armed
	 * on a file's wait queue (poll_list), the ring's own workers, and
	 * ->dying.  See the top of async.c for who owns a request when.
	 */
	spinlock_t async_lock;
	struct list_head poll_list;
	struct ring_wq_acct acct[RING_IOWQ_NR];
	struct list_head workers;	/* struct ring_worker, live or exited */
	struct work_struct create_work;	/* starts workers (process context) */
	struct ring_user *user;		/* whose worker budget this ring uses */
	struct list_head user_node;	/* user->starved: waits for budget */
	struct ring_mm *rmm;		/* cancels everything when the mm goes */
	struct mem_cgroup *memcg;	/* the owner's: workers charge to it */
	struct pid *owner_pid;		/* its exit cancels everything */
	struct wait_queue_entry owner_wait;	/* on owner_pid->wait_pidfd */
	struct work_struct owner_work;
	struct delayed_work exit_watch;	/* while workers run: owner exiting? */
	struct work_struct exit_work;	/* teardown away from the closer */
	struct list_head mm_node;	/* rmm->rings */
	bool dying;			/* owner or ring gone: cancel, never run */

	/* RING_SETUP_SQPOLL (sqpoll.c); sq_busy under async_lock. */
	struct task_struct *sq_task;	/* a reference, for kthread_stop() */
	wait_queue_head_t sq_wait;	/* it sleeps here: SQ_WAKEUP */
	wait_queue_head_t sq_space_wait;	/* ENTER's SQ_WAIT */
	unsigned long sq_idle;		/* jiffies it polls before sleeping */
	const struct cred *sq_creds;	/* the creator's: it submits as them */
	unsigned long sq_fsize;		/* and with their RLIMIT_FSIZE */
	bool sq_busy;			/* holds the mm: the exit watch runs */
};

/* Bytes already moved and where the next attempt starts, for retries. */
struct ring_buf;
struct seq_file;

struct ring_rw {
	struct kiocb kiocb;
	struct ring_buf *buf;		/* READ_FIXED/WRITE_FIXED: a reference */
	struct iov_iter iter;		/* as imported, before any attempt */
	union {
		struct iovec fast_iov[UIO_FASTIOV];
		struct bio_vec fast_bvec[UIO_FASTIOV];	/* IOTLB pages */
	};
	struct iovec *iov;		/* import_iovec()'s allocation, or NULL */
	struct bio_vec *iotlb_bvec;	/* more IOTLB pages than fast_bvec */
	unsigned long iotlb_nr;		/* IOTLB page references held */
	loff_t pos;
	size_t done;
	int kiocb_flags;		/* ki_flags every attempt starts from */
	/*
	 * An attempt handed to the file ends twice: its issuer returns from
	 * ->read_iter/->write_iter, and ki_complete runs, in either order.
	 * The request ends with the second (rw.c).
	 */
	atomic_t ends;
	bool use_fpos;			/* off = -1: advance file->f_pos */
	bool fpos_read;			/* use_fpos: pos read at the first try */
};

struct ring_fsync {
	loff_t off;
	loff_t len;
	bool datasync;
};

/* One wait queue a request waits on; head is NULL once it is off it. */
struct ring_poll_entry {
	struct wait_queue_head *head;
	struct wait_queue_entry wait;	/* .private: the request */
};

/*
 * A request waiting for its file to become ready (async.c).  refs decides
 * who owns it: whoever takes it from 0 (wake-up, cancellation), or the
 * arming task, which holds 1 while it arms.
 */
struct ring_poll {
	struct ring_poll_entry entries[2];	/* pty, FIFO O_RDWR: two */
	unsigned int nr_entries;
	__poll_t events;
	struct list_head node;		/* ctx->poll_list */
	atomic_t refs;
	unsigned int retries;		/* re-arms after a wake-up */
};

/* ring_req.flags */
#define RING_REQ_F_NOWAIT	(1U << 0)	/* -EAGAIN goes to the CQE */
#define RING_REQ_F_POLLED	(1U << 1)	/* file woke it: detach, retry */
#define RING_REQ_F_TAGGED_BUF	(1U << 2)	/* cq.c: rw.buf put after the CQE */
#define RING_REQ_F_TAGGED_FILE	(1U << 3)	/* cq.c: the same, file_node */
#define RING_REQ_F_LINK		(1U << 4)	/* ->link runs if this succeeds */
#define RING_REQ_F_HARDLINK	(1U << 5)	/* ->link runs in any case */
#define RING_REQ_F_FAIL		(1U << 6)	/* failed at submission: ->res */
#define RING_REQ_F_CQE_SKIP	(1U << 7)	/* no CQE if it succeeds */
#define RING_REQ_F_NO_CQE	(1U << 8)	/* cq.c: decided, no CQE */
#define RING_REQ_F_DRAIN	(1U << 9)	/* waits for all requests before */
#define RING_REQ_F_ASYNC	(1U << 10)	/* a worker runs it */
#define RING_REQ_F_TRY_NOWAIT	(1U << 11)	/* a worker tries, not blocking */
#define RING_REQ_F_FULL_LEN	(1U << 12)	/* less than ->len fails a link */
/* What makes the completion side look at a request more closely. */
#define RING_REQ_F_CHAIN	(RING_REQ_F_LINK | RING_REQ_F_HARDLINK | \
				 RING_REQ_F_FAIL | RING_REQ_F_CQE_SKIP)

/* issue() flags */
#define RING_ISSUE_NONBLOCK	(1U << 0)	/* must not sleep on I/O */
#define RING_ISSUE_LOCKED	(1U << 1)	/* under uring_lock: submission */

/* One submitted SQE, from submission until its CQE is in the CQ ring. */
struct ring_req {
	struct ring_ctx *ctx;
	u64 user_data;
	s32 res;
	u32 cflags;
	struct ring_req *next;	/* completion batch, iopoll list, req cache */
	struct list_head node;	/* a worker queue, the defer list, backlog */
	struct llist_node notify_node;	/* ctx->notify_list */
	/*
	 * The next request of its chain: not issued yet, owned by this one
	 * until it completes; whoever completes this one takes it.
	 */
	struct ring_req *link;
	u32 seq;		/* ctx->submit_seq when submitted: DRAIN */
	u32 len;		/* RING_REQ_F_FULL_LEN: the bytes asked for */
	u8 opcode;
	bool iopoll_done;	/* RING_SETUP_IOPOLL: ->res is final */
	u16 flags;		/* RING_REQ_F_* */
	struct file *file;	/* the request's reference, or NULL */
	/* RING_SQE_FIXED_FILE: the reference is on this, not on file. */
	struct ring_file_node *file_node;
	const struct cred *creds;	/* the submitter's, with the file */
	unsigned long fsize;		/* the submitter's RLIMIT_FSIZE */
	struct ring_poll poll;
	union {
		struct ring_rw rw;
		struct ring_fsync fsync;
	};
};

/*
 * Finished requests on their way to the CQ ring, in order: a singly linked
 * queue, cheap to build one request at a time in the submission loop.
 */
struct ring_batch {
	struct ring_req *first;
	struct ring_req **tail;
};

static inline void ring_batch_init(struct ring_batch *batch)
{
	batch->first = NULL;
	batch->tail = &batch->first;
}

static inline void ring_batch_add(struct ring_batch *batch,
				  struct ring_req *req)
{
	req->next = NULL;
	*batch->tail = req;
	batch->tail = &req->next;
}

/* Live objects, module-wide: /sys/class/misc/ring/stats/. */
struct ring_stats {
	atomic_long_t rings;
	atomic_long_t pages;		/* ring memory: rings and SQEs */
	atomic_long_t iotlb_pages;	/* IOTLB region pages */
};
extern struct ring_stats ring_stats;
/* Requests in flight or in a backlog; per CPU, as it moves per request. */
DECLARE_PER_CPU(long, ring_live_requests);

/* setup.c */
int ring_setup(struct ring_ctx *ctx, struct ring_params __user *uparams);
void ring_ctx_teardown(struct ring_ctx *ctx);
int ring_enable_rings(struct ring_ctx *ctx);
int ring_mmap(struct ring_ctx *ctx, struct vm_area_struct *vma);

/* region.c */
int ring_region_alloc(struct ring_region *region, size_t size);
void ring_region_free(struct ring_region *region);
int ring_region_mmap(struct ring_region *region, struct vm_area_struct *vma);

/* submit.c */
int ring_req_cache_init(void);
void ring_req_cache_exit(void);
void ring_req_cleanup(struct ring_req *req);
void ring_req_cache_free(struct ring_ctx *ctx);
long ring_enter(struct ring_ctx *ctx, struct ring_enter __user *uarg);
long ring_enter_arg(struct ring_ctx *ctx, struct ring_enter_arg __user *uarg);
void ring_req_issue(struct ring_req *req, unsigned int issue_flags,
		    struct ring_batch *done);
void ring_req_complete(struct ring_req *req, int res);
bool ring_req_done_inline(struct ring_req *req, int res);
void ring_submit_flush(struct ring_ctx *ctx, struct ring_batch *done);
int ring_submit_sqes(struct ring_ctx *ctx, u32 to_submit, bool *full);
int ring_req_get_file(struct ring_req *req, const struct ring_sqe *sqe);

/* async.c */
int ring_async_init(void);
void ring_async_exit(void);
int ring_async_setup(struct ring_ctx *ctx);
void ring_async_teardown(struct ring_ctx *ctx);
void ring_async_punt(struct ring_req *req);
void ring_async_queue_work(struct ring_req *req);
bool ring_async_queue_new(struct ring_req *req);
void ring_async_defer(struct work_struct *work);
void ring_free_last(struct work_struct *work, work_func_t fn, bool defer);
void ring_async_defer_teardown(struct work_struct *work);
bool ring_file_nowait(struct file *file);
bool ring_file_pollable(struct file *file);
void ring_async_cancel_all(struct ring_ctx *ctx);
int ring_register_iowq_max_workers(struct ring_ctx *ctx, void __user *arg,
				   unsigned int nr);
void ring_async_show_fdinfo(struct ring_ctx *ctx, struct seq_file *m);
void ring_exit_watch_arm(struct ring_ctx *ctx);
bool ring_user_charge_sq(struct ring_user *user, unsigned int max);
void ring_user_uncharge_sq(struct ring_user *user);

/* sqpoll.c */
int ring_sqpoll_params_check(const struct ring_params *p);
int ring_sqpoll_create(struct ring_ctx *ctx, const struct ring_params *p);
void ring_sqpoll_start(struct ring_ctx *ctx);
void ring_sqpoll_wake(struct ring_ctx *ctx);
void ring_sqpoll_interrupt(struct ring_ctx *ctx);
void ring_sqpoll_stop(struct ring_ctx *ctx);
int ring_sqpoll_enter(struct ring_ctx *ctx, u32 to_submit, u32 flags);
void ring_sqpoll_show_fdinfo(struct ring_ctx *ctx, struct seq_file *m);

/* cq.c */
/* A CQE that is no request's (a buffer's or file's tag), allocated early. */
struct ring_cq_aux {
	struct ring_cq_aux *next;	/* ctx->aux_first queue */
	u64 user_data;			/* res and flags are 0 */
	u32 reqs_before;		/* ctx->backlog_reqs_in when queued */
};
void ring_cq_post_aux(struct ring_ctx *ctx, struct ring_cq_aux *aux);
/* A registered buffer's or file's tag: its CQE, and whom it is owed. */
struct ring_tag {
	struct ring_cq_aux *aux;	/* NULL: untagged */
	struct ring_ctx *ctx;		/* out of the table: owed to it */
};
int ring_tag_init(struct ring_tag *tag, u64 user_data);
void ring_tag_owe(struct ring_ctx *ctx, struct ring_tag *tag);
void ring_tag_release(struct ring_tag *tag);
void ring_cq_post_batch(struct ring_ctx *ctx, struct ring_batch *done);
void ring_cq_post_submit(struct ring_ctx *ctx, struct ring_batch *done,
			 struct ring_batch *ready);
void ring_inflight_sub(struct ring_ctx *ctx, int nr);
void __ring_cq_flush_backlog(struct ring_ctx *ctx);
void ring_cq_free_backlog(struct ring_ctx *ctx);
bool ring_cq_backlog_movable(struct ring_ctx *ctx);
bool ring_sq_has_space(struct ring_ctx *ctx);

/* Every ENTER asks both: inline, so that the usual answer costs no call. */

/* Move what the CQ ring has room for from the backlog into it. */
static inline void ring_cq_flush_backlog(struct ring_ctx *ctx)
{
	if (unlikely(READ_ONCE(ctx->backlog_nr)))
		__ring_cq_flush_backlog(ctx);
}

/* CQEs in the ring that the application has not consumed yet. */
static inline u32 ring_cq_ready(struct ring_ctx *ctx)
{
	/*
	 * Committed ones only: a poster may be filling more under the lock.
	 * The first acquire pairs with ring_cq_commit()'s release.
	 */
	u32 ready = smp_load_acquire(&ctx->committed_cq_tail) -
		    smp_load_acquire(&ctx->rings->cq.head);

	return min(ready, ctx->cq_entries);
}

/* rw.c */
void ring_rw_notify_work(struct work_struct *work);

/* iopoll.c */
void ring_iopoll_add(struct ring_req *req, unsigned int issue_flags);
bool ring_iopoll_pending(struct ring_ctx *ctx);
int ring_iopoll_getevents(struct ring_ctx *ctx, u32 min_complete);
unsigned int ring_iopoll_round(struct ring_ctx *ctx, bool spin);
void ring_iopoll_reap_all(struct ring_ctx *ctx);

/* chain.c */
void ring_chain_done(struct ring_ctx *ctx, struct ring_req *req,
		     struct ring_batch *done, struct ring_batch *next);
bool ring_req_defer(struct ring_ctx *ctx, struct ring_req *req);

/*
 * Submission, under uring_lock, once per ENTER: may it take SQEs while
 * requests wait behind a drain?  Every one it takes would wait too; a
 * completion that frees them handles each (maybe in an interrupt), so
 * their number is bounded: none once sq_entries wait, so fewer than
 * 2 * sq_entries ever do.
 */
static inline bool ring_defer_full(struct ring_ctx *ctx)
{
	return READ_ONCE(ctx->defer_nr) &&
	       READ_ONCE(ctx->defer_reqs) >= ctx->sq_entries;
}

void ring_defer_release(struct ring_ctx *ctx, struct ring_batch *out);
void ring_chain_cancel(struct ring_batch *reqs);
void ring_chain_queue(struct ring_batch *start);
void ring_chain_cancel_deferred(struct ring_ctx *ctx);

/* rsrc.c */
int ring_register_buffers(struct ring_ctx *ctx, void __user *arg,
			  unsigned int nr);
int ring_unregister_buffers(struct ring_ctx *ctx);
int ring_register_buffers_update(struct ring_ctx *ctx, void __user *arg,
				 unsigned int nr);
int ring_register_buffers2(struct ring_ctx *ctx, void __user *arg,
			   unsigned int size);
int ring_register_buffers_update2(struct ring_ctx *ctx, void __user *arg,
				  unsigned int size);
struct ring_buf *ring_buf_take_tagged(struct ring_req *req);
void ring_buf_put_async(struct ring_buf *buf);
int ring_buf_import(struct ring_ctx *ctx, unsigned int index, u64 addr,
		    u32 len, int dir, struct iov_iter *iter,
		    struct ring_buf **bufp);
void ring_buf_put(struct ring_buf *buf);

/* filetable.c */
struct ring_file_node;
int ring_register_files2(struct ring_ctx *ctx, void __user *arg,
			 unsigned int size);
int ring_register_files_update2(struct ring_ctx *ctx, void __user *arg,
				unsigned int size);
int ring_unregister_files(struct ring_ctx *ctx);
struct file *ring_file_get_fixed(struct ring_ctx *ctx, unsigned int index,
				 struct ring_file_node **nodep);
void ring_file_node_put(struct ring_file_node *node);
void ring_file_node_put_async(struct ring_file_node *node);
bool ring_file_node_tagged(const struct ring_file_node *node);

/* iotlb.c */
int ring_register_iotlb(struct ring_ctx *ctx, void __user *arg);
int ring_unregister_iotlb(struct ring_ctx *ctx);
int ring_iotlb_map(struct ring_ctx *ctx, void __user *arg);
int ring_iotlb_unmap(struct ring_ctx *ctx, void __user *arg);
int ring_iotlb_import(struct ring_ctx *ctx, u64 iova, u32 len, int dir,
		      struct ring_rw *rw);
void ring_iotlb_release(struct ring_rw *rw);
int ring_iotlb_mmap(struct ring_ctx *ctx, struct vm_area_struct *vma);
void ring_iotlb_show_fdinfo(struct ring_ctx *ctx, struct seq_file *m);

/* register.c */
long ring_register(struct ring_ctx *ctx, struct ring_register __user *uarg);
int ring_register_probe(void __user *arg, unsigned int nr);

/* main.c */
bool ring_is_ring_file(struct file *file);

/* fdinfo.c */
void ring_show_fdinfo(struct seq_file *m, struct file *file);

#endif /* RING_INTERNAL_H */
