// SPDX-License-Identifier: GPL-2.0
/*
 * The IOTLB bounce region: kernel-owned pages that the application maps at
 * RING_OFF_IOTLB + IOVA and that READ_FIXED/WRITE_FIXED address by IOVA
 * (buf_index RING_BUF_IOTLB), in the manner of VDUSE's software IOTLB.  No
 * user memory is pinned and nothing is charged to RLIMIT_MEMLOCK; pages are
 * allocated zeroed on first use and charged to the memory cgroup.
 *
 * Locking:
 *  - ctx->iotlb_rwsem orders faults (read) against map, unmap and
 *    unregister (write): a fault inserts its PTE under it, so a PTE can
 *    never appear after the unmap that zapped its range, and the region
 *    cannot be freed under a fault.  Register ops also hold uring_lock.
 *  - lock (spinlock) guards the range list for the I/O path, which must not
 *    sleep on it; ranges change under both locks.
 *  - pages[] slots are filled with cmpxchg and emptied under iotlb_rwsem.
 *    Their index comes from a user's IOVA or mmap offset: every access
 *    goes through array_index_nospec() after the range check, so a
 *    mispredicted check cannot read or write past the table (Spectre v1).
 * Every user of a page holds a reference: the table, each PTE, and each
 * request for the duration of its I/O.  Unmap drops only the table's.
 */
#include <linux/err.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/rwsem.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "ring.h"

static unsigned long iotlb_max_bytes = 1UL << 30;
module_param(iotlb_max_bytes, ulong, 0644);
MODULE_PARM_DESC(iotlb_max_bytes, "Largest IOTLB region, bytes (default 1 GiB)");

struct ring_iotlb_range {
	struct list_head node;
	u64 iova;
	u64 size;
	u64 uaddr;			/* BOUNCE_OUT target, or 0 */
	u32 perm;
	u32 flags;
};

struct ring_iotlb {
	u64 size;
	unsigned long nr_pages;
	spinlock_t lock;
	struct list_head ranges;
	unsigned long mapped_pages;
	atomic_long_t resident;
	struct page **pages;
};

static struct ring_iotlb_range *ring_iotlb_find(struct ring_iotlb *tlb,
						u64 iova, u64 end)
{
	struct ring_iotlb_range *r;

	list_for_each_entry(r, &tlb->ranges, node)
		if (iova >= r->iova && end <= r->iova + r->size)
			return r;
	return NULL;
}

static bool ring_iotlb_overlaps(struct ring_iotlb *tlb, u64 iova, u64 end)
{
	struct ring_iotlb_range *r;

	list_for_each_entry(r, &tlb->ranges, node)
		if (iova < r->iova + r->size && r->iova < end)
			return true;
	return false;
}

/* Pages the table holds, per region and module-wide (leak checks). */
static void ring_iotlb_resident(struct ring_iotlb *tlb, long nr)
{
	atomic_long_add(nr, &tlb->resident);
	atomic_long_add(nr, &ring_stats.iotlb_pages);
}

/*
 * The page at @idx, allocated zeroed if need be, with a reference.  @idx
 * has been checked against a mapped range and clamped by the caller.
 */
static struct page *ring_iotlb_get_page(struct ring_iotlb *tlb,
					unsigned long idx)
{
	struct page *page = READ_ONCE(tlb->pages[idx]), *old;

	if (!page) {
		page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!page)
			return NULL;
		old = cmpxchg(&tlb->pages[idx], NULL, page);
		if (old) {
			__free_page(page);
			page = old;
		} else {
			ring_iotlb_resident(tlb, 1);
		}
	}
	get_page(page);
	return page;
}

/* Under iotlb_rwsem (write): the table lets go of [first, first + nr). */
static void ring_iotlb_drop_pages(struct ring_iotlb *tlb, unsigned long first,
				  unsigned long nr)
{
	unsigned long i;

	for (i = first; i < first + nr; i++) {
		/* @first comes from UNMAP's IOVA, checked by the caller. */
		unsigned long idx = array_index_nospec(i, tlb->nr_pages);
		struct page *page = xchg(&tlb->pages[idx], NULL);

		if (page) {
			ring_iotlb_resident(tlb, -1);
			put_page(page);
		}
	}
}

static void ring_iotlb_zap(struct ring_ctx *ctx, u64 iova, u64 size)
{
	/* Every open of the device shares the inode's mapping: offsets only. */
	unmap_mapping_range(ctx->mapping, RING_OFF_IOTLB + iova, size, 1);
}

int ring_register_iotlb(struct ring_ctx *ctx, void __user *arg)
{
	struct ring_iotlb_reg reg;
	struct ring_iotlb *tlb;

	if (copy_from_user(&reg, arg, sizeof(reg)))
		return -EFAULT;
	if (reg.flags || reg.resv)
		return -EINVAL;
	if (!reg.size || !PAGE_ALIGNED(reg.size) ||
	    reg.size > READ_ONCE(iotlb_max_bytes))
		return -EINVAL;
	if (ctx->iotlb)
		return -EBUSY;

	tlb = kzalloc(sizeof(*tlb), GFP_KERNEL_ACCOUNT);
	if (!tlb)
		return -ENOMEM;
	tlb->size = reg.size;
	tlb->nr_pages = reg.size >> PAGE_SHIFT;
	/* iotlb_max_bytes may be set beyond what a table can hold. */
	tlb->pages = kvcalloc(tlb->nr_pages, sizeof(*tlb->pages),
			      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!tlb->pages) {
		kfree(tlb);
		return -ENOMEM;
	}
	spin_lock_init(&tlb->lock);
	INIT_LIST_HEAD(&tlb->ranges);
	atomic_long_set(&tlb->resident, 0);
	down_write(&ctx->iotlb_rwsem);
	ctx->iotlb = tlb;
	up_write(&ctx->iotlb_rwsem);
	return 0;
}

int ring_unregister_iotlb(struct ring_ctx *ctx)
{
	struct ring_iotlb *tlb = ctx->iotlb;
	struct ring_iotlb_range *r, *tmp;

	if (!tlb)
		return -ENXIO;
	/* Faults see no region from now on (SIGBUS); none is inside. */
	down_write(&ctx->iotlb_rwsem);
	ctx->iotlb = NULL;
	ring_iotlb_zap(ctx, 0, tlb->size);
	up_write(&ctx->iotlb_rwsem);

	list_for_each_entry_safe(r, tmp, &tlb->ranges, node)
		kfree(r);
	/* Requests in flight hold their own page references. */
	ring_iotlb_drop_pages(tlb, 0, tlb->nr_pages);
	kvfree(tlb->pages);
	kfree(tlb);
	return 0;
}

/* The region, and the MAP/UNMAP argument checked for alignment. */
static struct ring_iotlb *ring_iotlb_map_args(struct ring_ctx *ctx,
					      void __user *arg,
					      struct ring_iotlb_map *m, u64 *end)
{
	if (!ctx->iotlb)
		return ERR_PTR(-ENXIO);
	if (copy_from_user(m, arg, sizeof(*m)))
		return ERR_PTR(-EFAULT);
	if (!m->size || !PAGE_ALIGNED(m->iova) || !PAGE_ALIGNED(m->size))
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(m->iova, m->size, end))
		return ERR_PTR(-EINVAL);
	return ctx->iotlb;
}

/*
 * BOUNCE_IN: fresh pages filled from @uaddr, before any lock is taken (the
 * source may itself fault into the region).
 */
static int ring_iotlb_bounce_in(const struct ring_iotlb_map *m,
				struct page **pages)
{
	const char __user *src = u64_to_user_ptr(m->uaddr);
	unsigned long i, nr = m->size >> PAGE_SHIFT;

	for (i = 0; i < nr; i++) {
		void *dst;
		int left;

		pages[i] = alloc_page(GFP_KERNEL_ACCOUNT);
		if (!pages[i])
			return -ENOMEM;
		dst = kmap_local_page(pages[i]);
		left = copy_from_user(dst, src + (i << PAGE_SHIFT), PAGE_SIZE);
		kunmap_local(dst);
		if (left)
			return -EFAULT;
	}
	return 0;
}

static void ring_iotlb_put_pages(struct page **pages, unsigned long nr)
{
	unsigned long i;

	for (i = 0; i < nr; i++)
		if (pages[i])
			put_page(pages[i]);
}

int ring_iotlb_map(struct ring_ctx *ctx, void __user *arg)
{
	struct page **in_pages = NULL;
	struct ring_iotlb_range *r;
	struct ring_iotlb_map m;
	unsigned long first, nr, i;
	struct ring_iotlb *tlb;
	u64 end;
	int ret;

	tlb = ring_iotlb_map_args(ctx, arg, &m, &end);
	if (IS_ERR(tlb))
		return PTR_ERR(tlb);
	if (end > tlb->size)
		return -EINVAL;
	if (!m.perm || (m.perm & ~(RING_IOTLB_PERM_READ | RING_IOTLB_PERM_WRITE)))
		return -EINVAL;
	if (m.flags & ~(RING_IOTLB_BOUNCE_IN | RING_IOTLB_BOUNCE_OUT))
		return -EINVAL;
	/* A stream mapping needs its user buffer; a plain one has none. */
	if (!m.flags != !m.uaddr)
		return -EINVAL;
	first = m.iova >> PAGE_SHIFT;
	nr = m.size >> PAGE_SHIFT;

	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	r->iova = m.iova;
	r->size = m.size;
	r->uaddr = m.uaddr;
	r->perm = m.perm;
	r->flags = m.flags;
	if (m.flags & RING_IOTLB_BOUNCE_IN) {
		in_pages = kvcalloc(nr, sizeof(*in_pages), GFP_KERNEL);
		ret = in_pages ? ring_iotlb_bounce_in(&m, in_pages) : -ENOMEM;
		if (ret)
			goto err_free;
	}

	down_write(&ctx->iotlb_rwsem);
	if (ring_iotlb_overlaps(tlb, m.iova, end)) {
		up_write(&ctx->iotlb_rwsem);
		ret = -EEXIST;
		goto err_free;
	}
	/* Unmapped slots are empty: the range starts zeroed, or filled. */
	for (i = 0; in_pages && i < nr; i++) {
		unsigned long idx = array_index_nospec(first + i,
						       tlb->nr_pages);

		tlb->pages[idx] = in_pages[i];
		ring_iotlb_resident(tlb, 1);
	}
	spin_lock(&tlb->lock);
	list_add_tail(&r->node, &tlb->ranges);
	tlb->mapped_pages += nr;
	spin_unlock(&tlb->lock);
	up_write(&ctx->iotlb_rwsem);
	kvfree(in_pages);
	return 0;

err_free:
	if (in_pages)
		ring_iotlb_put_pages(in_pages, nr);
	kvfree(in_pages);
	kfree(r);
	return ret;
}

/* BOUNCE_OUT: the range's data back to user memory, lock-free by now. */
static int ring_iotlb_bounce_out(struct page **pages, unsigned long nr,
				 u64 uaddr)
{
	char __user *dst = u64_to_user_ptr(uaddr);
	unsigned long i;
	int ret = 0;

	for (i = 0; i < nr; i++) {
		void *src;

		/* Never touched: it reads as zeros. */
		if (!pages[i]) {
			if (clear_user(dst + (i << PAGE_SHIFT), PAGE_SIZE))
				ret = -EFAULT;
			continue;
		}
		src = kmap_local_page(pages[i]);
		if (copy_to_user(dst + (i << PAGE_SHIFT), src, PAGE_SIZE))
			ret = -EFAULT;
		kunmap_local(src);
	}
	return ret;
}

int ring_iotlb_unmap(struct ring_ctx *ctx, void __user *arg)
{
	struct page **out_pages = NULL;
	struct ring_iotlb_range *r;
	struct ring_iotlb_map m;
	unsigned long first, nr, i;
	struct ring_iotlb *tlb;
	u64 end;
	int ret;

	tlb = ring_iotlb_map_args(ctx, arg, &m, &end);
	if (IS_ERR(tlb))
		return PTR_ERR(tlb);

	down_write(&ctx->iotlb_rwsem);
	r = ring_iotlb_find(tlb, m.iova, end);
	if (!r || r->iova != m.iova || r->size != m.size) {
		up_write(&ctx->iotlb_rwsem);
		return -ENOENT;
	}
	first = m.iova >> PAGE_SHIFT;
	nr = m.size >> PAGE_SHIFT;
	if (r->flags & RING_IOTLB_BOUNCE_OUT) {
		/* Copied after the locks: the target may fault into us. */
		out_pages = kvcalloc(nr, sizeof(*out_pages), GFP_KERNEL);
		if (!out_pages) {
			up_write(&ctx->iotlb_rwsem);
			return -ENOMEM;
		}
		for (i = 0; i < nr; i++) {
			unsigned long idx = array_index_nospec(first + i,
							       tlb->nr_pages);

			out_pages[i] = READ_ONCE(tlb->pages[idx]);
			if (out_pages[i])
				get_page(out_pages[i]);
		}
	}
	spin_lock(&tlb->lock);
	list_del(&r->node);
	tlb->mapped_pages -= nr;
	spin_unlock(&tlb->lock);
	ring_iotlb_zap(ctx, m.iova, m.size);
	ring_iotlb_drop_pages(tlb, first, nr);
	up_write(&ctx->iotlb_rwsem);

	ret = 0;
	if (out_pages) {
		ret = ring_iotlb_bounce_out(out_pages, nr, r->uaddr);
		ring_iotlb_put_pages(out_pages, nr);
		kvfree(out_pages);
	}
	kfree(r);
	return ret;
}

/*
 * READ_FIXED/WRITE_FIXED on IOVAs: [iova, iova + len) must lie in one
 * mapped range that allows the access.  The request takes a reference on
 * every page, kept in a bvec array, so unmap cannot free them under it.
 */
int ring_iotlb_import(struct ring_ctx *ctx, u64 iova, u32 len, int dir,
		      struct ring_rw *rw)
{
	struct ring_iotlb *tlb = ctx->iotlb;	/* uring_lock held */
	u32 need = dir == ITER_DEST ? RING_IOTLB_PERM_WRITE : RING_IOTLB_PERM_READ;
	struct ring_iotlb_range *r;
	unsigned long first, nr, i;
	struct bio_vec *bv;
	u64 end;

	if (!tlb || !len || check_add_overflow(iova, (u64)len, &end))
		return -EFAULT;
	spin_lock(&tlb->lock);
	r = ring_iotlb_find(tlb, iova, end);
	if (!r || !(r->perm & need)) {
		spin_unlock(&tlb->lock);
		return -EFAULT;
	}
	spin_unlock(&tlb->lock);

	first = iova >> PAGE_SHIFT;
	nr = ((end - 1) >> PAGE_SHIFT) - first + 1;
	bv = rw->fast_bvec;
	if (nr > ARRAY_SIZE(rw->fast_bvec)) {
		/* Up to MAX_RW_COUNT bytes: megabytes of bvecs; kvfree()
		 * at completion is fine in IRQ context. */
		bv = kvmalloc_array(nr, sizeof(*bv), GFP_KERNEL_ACCOUNT);
		if (!bv)
			return -ENOMEM;
		rw->iotlb_bvec = bv;
	}
	/*
	 * A page taken here may belong to a range unmapped meanwhile: the I/O
	 * then uses a page nobody else sees, and our reference frees it.
	 */
	for (i = 0; i < nr; i++) {
		unsigned long idx = array_index_nospec(first + i, tlb->nr_pages);
		struct page *page = ring_iotlb_get_page(tlb, idx);

		if (!page)
			goto err_release_pages;
		bv[i].bv_page = page;
		bv[i].bv_offset = 0;
		bv[i].bv_len = PAGE_SIZE;
	}
	rw->iotlb_nr = nr;
	bv[0].bv_offset = iova & ~PAGE_MASK;
	bv[0].bv_len = PAGE_SIZE - bv[0].bv_offset;
	iov_iter_bvec(&rw->iter, dir, bv, nr, len);
	return 0;

err_release_pages:
	/* The pages taken so far and the bvec array: nothing stays behind. */
	rw->iotlb_nr = i;
	ring_iotlb_release(rw);
	return -ENOMEM;
}

void ring_iotlb_release(struct ring_rw *rw)
{
	struct bio_vec *bv = rw->iotlb_bvec ? rw->iotlb_bvec : rw->fast_bvec;
	unsigned long i;

	for (i = 0; i < rw->iotlb_nr; i++)
		put_page(bv[i].bv_page);
	kvfree(rw->iotlb_bvec);
	rw->iotlb_bvec = NULL;
	rw->iotlb_nr = 0;
}

static vm_fault_t ring_iotlb_fault(struct vm_fault *vmf)
{
	struct ring_ctx *ctx = vmf->vma->vm_file->private_data;
	u64 iova = ((u64)vmf->pgoff << PAGE_SHIFT) - RING_OFF_IOTLB;
	struct ring_iotlb *tlb;
	struct page *page;
	unsigned long idx;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	/* Under iotlb_rwsem: unmap cannot zap before our PTE is in. */
	down_read(&ctx->iotlb_rwsem);
	tlb = ctx->iotlb;
	if (!tlb || !ring_iotlb_find(tlb, iova, iova + PAGE_SIZE))
		goto out_unlock;
	idx = array_index_nospec(iova >> PAGE_SHIFT, tlb->nr_pages);
	page = ring_iotlb_get_page(tlb, idx);
	if (!page) {
		ret = VM_FAULT_OOM;
		goto out_unlock;
	}
	/* The PTE takes its own reference. */
	ret = vmf_insert_page(vmf->vma, vmf->address, page);
	put_page(page);
out_unlock:
	up_read(&ctx->iotlb_rwsem);
	return ret;
}

static const struct vm_operations_struct ring_iotlb_vm_ops = {
	.fault = ring_iotlb_fault,
};

int ring_iotlb_mmap(struct ring_ctx *ctx, struct vm_area_struct *vma)
{
	u64 start = ((u64)vma->vm_pgoff << PAGE_SHIFT) - RING_OFF_IOTLB;
	u64 end;

	if (check_add_overflow(start, (u64)(vma->vm_end - vma->vm_start), &end) ||
	    end > READ_ONCE(iotlb_max_bytes))
		return -EINVAL;
	/*
	 * Fixed size, not in core dumps, not inherited by fork(): the child
	 * cannot use the ring.  (Whoever holds the fd may still map it, as
	 * for the rings; unmap zaps those mappings too.)
	 */
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP | VM_DONTCOPY |
		     VM_MIXEDMAP);
	vma->vm_ops = &ring_iotlb_vm_ops;
	return 0;
}

/* With uring_lock held: the region cannot go away meanwhile. */
void ring_iotlb_show_fdinfo(struct ring_ctx *ctx, struct seq_file *m)
{
	struct ring_iotlb *tlb = ctx->iotlb;

	seq_printf(m, "IotlbSize:\t%llu\n", tlb ? tlb->size : 0);
	seq_printf(m, "IotlbMapped:\t%lu\n", tlb ? READ_ONCE(tlb->mapped_pages) : 0);
	seq_printf(m, "IotlbResident:\t%ld\n",
		   tlb ? atomic_long_read(&tlb->resident) : 0);
}
