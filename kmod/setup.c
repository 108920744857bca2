// SPDX-License-Identifier: GPL-2.0
/*
 * RING_IOC_SETUP: validate the parameters, build the rings, bind the ring to
 * the caller's mm; teardown on the last close; mmap of the rings.
 */
#include <linux/cred.h>
#include <linux/kcov.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include <linux/wait_bit.h>

#include "ring.h"

/*
 * io_uring's flags that cost nothing to honour: ring always submits every
 * SQE of a batch (SUBMIT_ALL), never interrupts a task to run completion
 * work (COOP_TASKRUN, so TASKRUN_FLAG never shows), and posts completions
 * without the waiter's help, which DEFER_TASKRUN allows but does not need.
 */
#define RING_SETUP_FLAGS	(RING_SETUP_IOPOLL | RING_SETUP_SQPOLL | \
				 RING_SETUP_SQ_AFF | RING_SETUP_CQSIZE | \
				 RING_SETUP_CLAMP | \
				 RING_SETUP_R_DISABLED | RING_SETUP_SUBMIT_ALL | \
				 RING_SETUP_COOP_TASKRUN | \
				 RING_SETUP_TASKRUN_FLAG | \
				 RING_SETUP_SINGLE_ISSUER | \
				 RING_SETUP_DEFER_TASKRUN)

/*
 * RW_CUR_POS: off = -1 is the file position.  CUR_PERSONALITY: requests
 * run with the submitter's credentials, not the creator's.  RSRC_TAGS:
 * BUFFERS2 and BUFFERS_UPDATE2 take tags.
 */
#define RING_FEATURES		(RING_FEAT_SINGLE_MMAP | RING_FEAT_NODROP | \
				 RING_FEAT_SUBMIT_STABLE | \
				 RING_FEAT_RW_CUR_POS | \
				 RING_FEAT_CUR_PERSONALITY | RING_FEAT_EXT_ARG | \
				 RING_FEAT_RSRC_TAGS | RING_FEAT_CQE_SKIP)

/*
 * SINGLE_ISSUER's one submitting thread: on an SQPOLL ring that is the SQ
 * thread, and any thread may enter (io_uring).
 */
static bool ring_single_issuer(const struct ring_ctx *ctx)
{
	return (ctx->setup_flags & RING_SETUP_SINGLE_ISSUER) &&
	       !(ctx->setup_flags & RING_SETUP_SQPOLL);
}

/* @n entries, at most @max (clamped with RING_SETUP_CLAMP), power of 2. */
static int ring_entries(u32 n, u32 max, u32 flags, u32 *out)
{
	if (!n)
		return -EINVAL;
	if (n > max) {
		if (!(flags & RING_SETUP_CLAMP))
			return -EINVAL;
		n = max;
	}
	*out = roundup_pow_of_two(n);
	return 0;
}

/* Checks @p and fills in the entry counts the ring will have. */
static int ring_params_check(struct ring_params *p)
{
	u32 sq, cq;
	int i, ret;

	if (p->flags & ~RING_SETUP_FLAGS)
		return -EINVAL;
	/* io_uring's dependencies between flags. */
	if ((p->flags & RING_SETUP_TASKRUN_FLAG) &&
	    !(p->flags & (RING_SETUP_COOP_TASKRUN | RING_SETUP_DEFER_TASKRUN)))
		return -EINVAL;
	if ((p->flags & RING_SETUP_DEFER_TASKRUN) &&
	    !(p->flags & RING_SETUP_SINGLE_ISSUER))
		return -EINVAL;
	ret = ring_sqpoll_params_check(p);
	if (ret)
		return ret;
	/* No shared workqueue (ATTACH_WQ): its field must stay zero. */
	if (p->wq_fd)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(p->resv); i++)
		if (p->resv[i])
			return -EINVAL;

	ret = ring_entries(p->sq_entries, RING_MAX_ENTRIES, p->flags, &sq);
	if (ret)
		return ret;
	if (p->flags & RING_SETUP_CQSIZE) {
		ret = ring_entries(p->cq_entries, RING_MAX_CQ_ENTRIES, p->flags,
				   &cq);
		if (ret)
			return ret;
		if (cq < sq)
			return -EINVAL;
	} else {
		cq = 2 * sq;
	}

	p->sq_entries = sq;
	p->cq_entries = cq;
	return 0;
}

/* Byte offset of the SQ index array inside the rings region. */
static size_t ring_sq_array_off(u32 cq_entries)
{
	/* Entry counts are bounded by ring_params_check(): no overflow. */
	return ALIGN(sizeof(struct ring_rings) +
		     cq_entries * sizeof(struct ring_cqe), SMP_CACHE_BYTES);
}

static int ring_alloc_rings(struct ring_ctx *ctx, const struct ring_params *p)
{
	size_t array_off = ring_sq_array_off(p->cq_entries);
	int ret;

	ret = ring_region_alloc(&ctx->rings_region,
				array_off + p->sq_entries * sizeof(u32));
	if (ret)
		return ret;
	ret = ring_region_alloc(&ctx->sqes_region,
				p->sq_entries * sizeof(struct ring_sqe));
	if (ret)
		goto err_free_rings;

	ctx->rings = ctx->rings_region.vaddr;
	ctx->sq_array = ctx->rings_region.vaddr + array_off;
	ctx->sqes = ctx->sqes_region.vaddr;
	ctx->sq_entries = p->sq_entries;
	ctx->sq_mask = p->sq_entries - 1;
	ctx->cq_entries = p->cq_entries;
	ctx->cq_mask = p->cq_entries - 1;

	ctx->rings->sq_ring_mask = ctx->sq_mask;
	ctx->rings->cq_ring_mask = ctx->cq_mask;
	ctx->rings->sq_ring_entries = ctx->sq_entries;
	ctx->rings->cq_ring_entries = ctx->cq_entries;
	return 0;

err_free_rings:
	ring_region_free(&ctx->rings_region);
	return ret;
}

static void ring_fill_offsets(struct ring_params *p)
{
	p->features = RING_FEATURES;

	memset(&p->sq_off, 0, sizeof(p->sq_off));
	p->sq_off.head = offsetof(struct ring_rings, sq.head);
	p->sq_off.tail = offsetof(struct ring_rings, sq.tail);
	p->sq_off.ring_mask = offsetof(struct ring_rings, sq_ring_mask);
	p->sq_off.ring_entries = offsetof(struct ring_rings, sq_ring_entries);
	p->sq_off.flags = offsetof(struct ring_rings, sq_flags);
	p->sq_off.dropped = offsetof(struct ring_rings, sq_dropped);
	p->sq_off.array = ring_sq_array_off(p->cq_entries);

	memset(&p->cq_off, 0, sizeof(p->cq_off));
	p->cq_off.head = offsetof(struct ring_rings, cq.head);
	p->cq_off.tail = offsetof(struct ring_rings, cq.tail);
	p->cq_off.ring_mask = offsetof(struct ring_rings, cq_ring_mask);
	p->cq_off.ring_entries = offsetof(struct ring_rings, cq_ring_entries);
	p->cq_off.overflow = offsetof(struct ring_rings, cq_overflow);
	p->cq_off.cqes = offsetof(struct ring_rings, cqes);
	p->cq_off.flags = offsetof(struct ring_rings, cq_flags);
}

static void ring_free_rings(struct ring_ctx *ctx)
{
	ring_region_free(&ctx->sqes_region);
	ring_region_free(&ctx->rings_region);
}

int ring_setup(struct ring_ctx *ctx, struct ring_params __user *uparams)
{
	struct ring_params p;
	int ret;

	mutex_lock(&ctx->uring_lock);
	ret = -EBUSY;
	if (ctx->ready)
		goto out_unlock;
	ret = -EFAULT;
	if (copy_from_user(&p, uparams, sizeof(p)))
		goto out_unlock;
	ret = ring_params_check(&p);
	if (ret)
		goto out_unlock;
	ret = ring_alloc_rings(ctx, &p);
	if (ret)
		goto out_unlock;

	ctx->mm = current->mm;
	ctx->owner_tgid = current->tgid;
	ctx->setup_flags = p.flags;
	ctx->r_disabled = p.flags & RING_SETUP_R_DISABLED;
	/* A disabled ring gets its issuer when it is enabled. */
	if (ring_single_issuer(ctx) && !ctx->r_disabled)
		ctx->issuer = get_pid(task_pid(current));
	/* Nonzero only under a fuzzer that asked for workers' coverage. */
	ctx->kcov_handle = kcov_common_handle();
	ret = ring_async_setup(ctx);
	if (ret)
		goto err_free_rings;
	ret = ring_sqpoll_create(ctx, &p);
	if (ret)
		goto err_async_teardown;

	ring_fill_offsets(&p);
	ret = -EFAULT;
	if (copy_to_user(uparams, &p, sizeof(p)))
		goto err_async_teardown;

	mmgrab(current->mm);
	atomic_long_inc(&ring_stats.rings);
	/* Pairs with the acquire in ring_ctx_get(): all of the above first. */
	smp_store_release(&ctx->ready, true);
	ring_sqpoll_start(ctx);
	mutex_unlock(&ctx->uring_lock);
	return 0;

err_async_teardown:
	ring_async_teardown(ctx);
err_free_rings:
	put_pid(ctx->issuer);
	ctx->issuer = NULL;
	ring_free_rings(ctx);
out_unlock:
	mutex_unlock(&ctx->uring_lock);
	return ret;
}

/*
 * The last reference is gone: nothing can submit, wait or map any more, but
 * requests may still be in flight.  Everything that waits is cancelled and
 * the workers stopped; file and device I/O in flight ends on its own.
 */
void ring_ctx_teardown(struct ring_ctx *ctx)
{
	if (!ctx->ready)
		return;
	ring_async_teardown(ctx);
	if (ctx->bufs)
		ring_unregister_buffers(ctx);
	if (ctx->files)
		ring_unregister_files(ctx);
	if (ctx->iotlb)
		ring_unregister_iotlb(ctx);
	ring_cq_free_backlog(ctx);
	ring_req_cache_free(ctx);
	ring_free_rings(ctx);
	put_pid(ctx->issuer);
	mmdrop(ctx->mm);
	atomic_long_dec(&ring_stats.rings);
}

int ring_mmap(struct ring_ctx *ctx, struct vm_area_struct *vma)
{
	/* A private copy of a ring would silently stop being the ring. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	switch (vma->vm_pgoff) {
	case RING_OFF_SQ_RING >> PAGE_SHIFT:
	case RING_OFF_CQ_RING >> PAGE_SHIFT:
	case RING_OFF_SQES >> PAGE_SHIFT:
		/*
		 * An SQPOLL ring's SQ is its owner's ENTER: the thread runs
		 * what appears there in the owner's mm, with its creds.  Only
		 * that mm may map it, and a fork does not take it along, as
		 * ENTER is refused to other mms.
		 */
		if (ctx->setup_flags & RING_SETUP_SQPOLL) {
			if (current->mm != ctx->mm)
				return -EPERM;
			vm_flags_set(vma, VM_DONTCOPY);
		}
		return ring_region_mmap(vma->vm_pgoff ==
					RING_OFF_SQES >> PAGE_SHIFT ?
					&ctx->sqes_region : &ctx->rings_region,
					vma);
	}
	if (vma->vm_pgoff >= RING_OFF_IOTLB >> PAGE_SHIFT)
		return ring_iotlb_mmap(ctx, vma);
	return -EINVAL;
}

/*
 * RING_REGISTER_ENABLE_RINGS: a ring set up with RING_SETUP_R_DISABLED
 * starts taking ENTER; with RING_SETUP_SINGLE_ISSUER the caller becomes
 * its issuer.  Called with uring_lock held.
 */
int ring_enable_rings(struct ring_ctx *ctx)
{
	if (!ctx->r_disabled)
		return -EBADFD;
	if (ring_single_issuer(ctx))
		ctx->issuer = get_pid(task_pid(current));
	/* Pairs with the acquire in ring_enter_allowed(): issuer first. */
	smp_store_release(&ctx->r_disabled, false);
	ring_sqpoll_wake(ctx);
	return 0;
}
