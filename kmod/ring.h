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
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
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

struct ring_ctx {
	/* Set (release) once SETUP has built everything below; never cleared. */
	bool ready;

	/* Serialises SETUP, submission and REGISTER. */
	struct mutex uring_lock;

	struct mm_struct *mm;		/* ENTER/REGISTER only from here */
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

	/* Completion side, under completion_lock (taken from IRQ context too). */
	spinlock_t completion_lock;
	u32 cached_cq_tail;
	u32 cq_overflow;
	u32 sq_flags;
	struct list_head backlog;	/* completed requests the CQ had no room for */
	u32 backlog_nr;

	/* GETEVENTS waiters and poll(). */
	wait_queue_head_t cq_wait;
};

/* One submitted SQE, from submission until its CQE is in the CQ ring. */
struct ring_req {
	struct ring_ctx *ctx;
	u64 user_data;
	s32 res;
	u32 cflags;
	struct list_head node;	/* completion batch or backlog */
};

/* Live objects, module-wide: /sys/class/misc/ring/stats/. */
struct ring_stats {
	atomic_long_t rings;
	atomic_long_t requests;
	atomic_long_t pages;
};
extern struct ring_stats ring_stats;

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
void ring_req_free(struct ring_req *req);
long ring_enter(struct ring_ctx *ctx, struct ring_enter __user *uarg);

/* cq.c */
void ring_cq_post_list(struct ring_ctx *ctx, struct list_head *done);
void ring_cq_flush_backlog(struct ring_ctx *ctx);
void ring_cq_free_backlog(struct ring_ctx *ctx);
u32 ring_cq_ready(struct ring_ctx *ctx);
bool ring_sq_has_space(struct ring_ctx *ctx);

/* register.c */
long ring_register(struct ring_ctx *ctx, struct ring_register __user *uarg);

/* fdinfo.c */
struct seq_file;
void ring_show_fdinfo(struct seq_file *m, struct file *file);

#endif /* RING_INTERNAL_H */
