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

	struct mm_struct *mm;		/* ENTER/REGISTER only from here */
	pid_t owner_tgid;		/* the process that set it up */
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

	/* Completion side, under completion_lock (taken from IRQ context too). */
	spinlock_t completion_lock;
	u32 cached_cq_tail;
	u32 cq_overflow;
	u32 sq_flags;
	struct list_head backlog;	/* completed requests the CQ had no room for */
	u32 backlog_nr;
	/* Requests whose CQE is out (stack); moved to req_cache in bulk. */
	struct ring_req *req_cache_done;
	u32 req_cache_done_nr;

	/* Fixed buffers, under uring_lock (rsrc.c). */
	struct ring_buf **bufs;
	unsigned int nr_bufs;
	struct ring_buf_pins *buf_pins;	/* large folios pinned: charged once */
	long buf_pinned_pages;		/* for fdinfo */
	long buf_bvecs;

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
	bool use_fpos;			/* off = -1: advance file->f_pos */
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

/* issue() flags */
#define RING_ISSUE_NONBLOCK	(1U << 0)	/* must not sleep on I/O */

/* One submitted SQE, from submission until its CQE is in the CQ ring. */
struct ring_req {
	struct ring_ctx *ctx;
	u64 user_data;
	s32 res;
	u32 cflags;
	struct ring_req *next;	/* completion batch, or a request cache */
	struct list_head node;	/* a worker queue, then the backlog */
	u8 opcode;
	u8 flags;		/* RING_REQ_F_* */
	struct file *file;	/* the request's reference, or NULL */
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
void ring_req_issue(struct ring_req *req, unsigned int issue_flags,
		    struct ring_batch *done);
void ring_req_complete(struct ring_req *req, int res);

/* async.c */
int ring_async_init(void);
void ring_async_exit(void);
int ring_async_setup(struct ring_ctx *ctx);
void ring_async_teardown(struct ring_ctx *ctx);
void ring_async_punt(struct ring_req *req);
void ring_async_queue_work(struct ring_req *req);
void ring_async_defer(struct work_struct *work);
bool ring_file_nowait(struct file *file);
bool ring_file_pollable(struct file *file);
void ring_async_cancel_all(struct ring_ctx *ctx);
int ring_register_iowq_max_workers(struct ring_ctx *ctx, void __user *arg,
				   unsigned int nr);
void ring_async_show_fdinfo(struct ring_ctx *ctx, struct seq_file *m);

/* cq.c */
void ring_cq_post_batch(struct ring_ctx *ctx, struct ring_batch *done);
void ring_inflight_sub(struct ring_ctx *ctx, int nr);
void ring_cq_flush_backlog(struct ring_ctx *ctx);
void ring_cq_free_backlog(struct ring_ctx *ctx);
u32 ring_cq_ready(struct ring_ctx *ctx);
bool ring_sq_has_space(struct ring_ctx *ctx);

/* rsrc.c */
int ring_register_buffers(struct ring_ctx *ctx, void __user *arg,
			  unsigned int nr);
int ring_unregister_buffers(struct ring_ctx *ctx);
int ring_register_buffers_update(struct ring_ctx *ctx, void __user *arg,
				 unsigned int nr);
int ring_buf_import(struct ring_ctx *ctx, unsigned int index, u64 addr,
		    u32 len, int dir, struct iov_iter *iter,
		    struct ring_buf **bufp);
void ring_buf_put(struct ring_buf *buf);

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

/* fdinfo.c */
void ring_show_fdinfo(struct seq_file *m, struct file *file);

#endif /* RING_INTERNAL_H */
