// SPDX-License-Identifier: GPL-2.0
/*
 * Fixed buffers: user memory registered once, pinned for the ring's life
 * with pin_user_pages(FOLL_LONGTERM), charged to RLIMIT_MEMLOCK, and turned
 * into a bio_vec table so READ_FIXED/WRITE_FIXED import it with no page
 * pinning per I/O.
 *
 * A buffer is reference counted: the table holds one reference and every
 * request using it another, so replacing or unregistering a slot never
 * takes pages away from I/O in flight.  All table changes and lookups run
 * under uring_lock.
 */
#include <linux/capability.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "ring.h"

struct ring_buf {
	refcount_t refs;
	u64 ubase;			/* user address of the first byte */
	u64 len;
	struct page **pages;		/* pinned, for unpinning */
	unsigned long nr_pages;
	struct user_struct *user;	/* charged, if acct_locked */
	struct mm_struct *mm;		/* charged in pinned_vm */
	bool acct_locked;		/* no CAP_IPC_LOCK at registration */
	unsigned int seg_shift;		/* bvecs after the first are 1 << seg_shift */
	struct work_struct free_work;
	unsigned int nr_bvecs;
	struct bio_vec bvecs[];
};

/* The last put may come from a completion in IRQ context: defer then. */
static void ring_buf_free(struct ring_buf *buf)
{
	unpin_user_pages(buf->pages, buf->nr_pages);
	if (buf->acct_locked)
		atomic_long_sub(buf->nr_pages, &buf->user->locked_vm);
	atomic64_sub(buf->nr_pages, &buf->mm->pinned_vm);
	free_uid(buf->user);
	mmdrop(buf->mm);
	kvfree(buf->pages);
	kvfree(buf);
}

static void ring_buf_free_work(struct work_struct *work)
{
	ring_buf_free(container_of(work, struct ring_buf, free_work));
}

void ring_buf_put(struct ring_buf *buf)
{
	if (!refcount_dec_and_test(&buf->refs))
		return;
	if (in_interrupt() || irqs_disabled()) {
		INIT_WORK(&buf->free_work, ring_buf_free_work);
		ring_async_defer(&buf->free_work);
		return;
	}
	ring_buf_free(buf);
}

/*
 * Anonymous, shmem (tmpfs, memfd, SysV shm) and hugetlb memory only: pages
 * of other files can be written back or truncated under a long-term pin.
 * Identified by superblock, as shmem_mapping() is not exported on 6.1.
 */
static int ring_buf_check_vmas(struct mm_struct *mm, u64 start, u64 end)
{
	struct inode *first = NULL;
	bool first_seen = false;
	u64 addr = start;

	while (addr < end) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		struct inode *inode = NULL;

		if (!vma || vma->vm_start > addr || !(vma->vm_flags & VM_WRITE))
			return -EFAULT;
		/* Private /dev/zero keeps its file but is anonymous memory. */
		if (vma->vm_file && !vma_is_anonymous(vma)) {
			unsigned long magic;

			inode = file_inode(vma->vm_file);
			magic = inode->i_sb->s_magic;
			/* devtmpfs shares tmpfs's magic: regular files only. */
			if (!is_vm_hugetlb_page(vma) &&
			    (!S_ISREG(inode->i_mode) ||
			     (magic != TMPFS_MAGIC && magic != HUGETLBFS_MAGIC)))
				return -EOPNOTSUPP;
		}
		/* One buffer, one backing object: all anonymous or one file. */
		if (first_seen && inode != first)
			return -EINVAL;
		first = inode;
		first_seen = true;
		addr = vma->vm_end;
	}
	return 0;
}

/*
 * The same rule for what was actually pinned, page by page: whatever the
 * VMAs said, no page of another file stays pinned.
 */
static bool ring_buf_pages_pinnable(struct page **pages, unsigned long nr)
{
	unsigned long i;

	for (i = 0; i < nr; i++) {
		struct folio *folio = page_folio(pages[i]);
		struct address_space *mapping;

		if (folio_test_anon(folio) || folio_test_hugetlb(folio))
			continue;
		mapping = folio_mapping(folio);
		if (!mapping || !mapping->host ||
		    mapping->host->i_sb->s_magic != TMPFS_MAGIC)
			return false;
	}
	return true;
}

static int ring_account_locked(struct user_struct *user, unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long cur = atomic_long_read(&user->locked_vm), new;

	do {
		if (check_add_overflow(cur, nr, &new) || new > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, new));
	return 0;
}

/*
 * Coalesce only what really is one physically contiguous run: consecutive
 * pages of one folio (the check CVE-2023-2598 lacked), every folio the same
 * size and starting on a boundary of that size in the buffer, so that an
 * offset finds its bvec by arithmetic.  Anything else: one bvec per page.
 */
static unsigned int ring_buf_seg_shift(struct page **pages, unsigned long nr,
				       u64 ubase)
{
	struct folio *folio = page_folio(pages[0]);
	unsigned int shift = folio_shift(folio);
	unsigned long per_folio = 1UL << (shift - PAGE_SHIFT);
	unsigned long i, first_idx;

	if (shift == PAGE_SHIFT)
		return PAGE_SHIFT;
	/* The first page's index in its folio must match its address. */
	first_idx = folio_page_idx(folio, pages[0]);
	if (first_idx != ((ubase >> PAGE_SHIFT) & (per_folio - 1)))
		return PAGE_SHIFT;
	for (i = 1; i < nr; i++) {
		struct folio *f = page_folio(pages[i]);

		if ((first_idx + i) % per_folio) {
			if (f != page_folio(pages[i - 1]) ||
			    pages[i] != pages[i - 1] + 1)
				return PAGE_SHIFT;
		} else if (folio_shift(f) != shift ||
			   folio_page_idx(f, pages[i])) {
			return PAGE_SHIFT;
		}
	}
	return shift;
}

static void ring_buf_fill_bvecs(struct ring_buf *buf)
{
	u64 seg = 1ULL << buf->seg_shift;
	u64 addr = buf->ubase, end = buf->ubase + buf->len;
	unsigned long page = 0;
	unsigned int n = 0;

	while (addr < end) {
		u64 seg_end = min((addr | (seg - 1)) + 1, end);
		struct bio_vec *bv = &buf->bvecs[n++];

		bv->bv_page = buf->pages[page];
		bv->bv_offset = addr & ~PAGE_MASK;
		bv->bv_len = seg_end - addr;
		page += ((seg_end - 1) >> PAGE_SHIFT) - (addr >> PAGE_SHIFT) + 1;
		addr = seg_end;
	}
	buf->nr_bvecs = n;
}

static int ring_buf_create(const struct iovec *iov, struct ring_buf **out)
{
	u64 ubase = (u64)(uintptr_t)iov->iov_base, len = iov->iov_len, end;
	struct mm_struct *mm = current->mm;
	unsigned long nr_pages;
	struct ring_buf *buf;
	long pinned;
	int ret;

	if (!ubase || !len || len > RING_MAX_BUFFER_LEN)
		return -EFAULT;
	if (check_add_overflow(ubase, len, &end) || end > TASK_SIZE_MAX)
		return -EFAULT;
	nr_pages = (PAGE_ALIGN(end) >> PAGE_SHIFT) - (ubase >> PAGE_SHIFT);

	buf = kvzalloc(struct_size(buf, bvecs, nr_pages), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	buf->pages = kvmalloc_array(nr_pages, sizeof(*buf->pages),
				    GFP_KERNEL_ACCOUNT);
	if (!buf->pages) {
		ret = -ENOMEM;
		goto err_free_buf;
	}

	/* Checked first, so that a rejected file is not even touched. */
	mmap_read_lock(mm);
	ret = ring_buf_check_vmas(mm, ubase & PAGE_MASK, end);
	mmap_read_unlock(mm);
	if (ret)
		goto err_free_pages;
	/*
	 * Charged before anything is faulted in or pinned, so that a small
	 * limit refuses at once.  Decided now and kept: un-accounting must
	 * mirror it exactly.
	 */
	buf->acct_locked = !capable(CAP_IPC_LOCK);
	buf->user = get_uid(current_user());
	if (buf->acct_locked) {
		ret = ring_account_locked(buf->user, nr_pages);
		if (ret)
			goto err_put_user;
	}
	/*
	 * Fault in, writing nothing, through a path that may drop the mmap
	 * lock and retry: userfaultfd-armed memory gets its handler's pages,
	 * which a long-term pin under the lock cannot wait for.
	 */
	if (fault_in_safe_writeable(u64_to_user_ptr(ubase), len)) {
		ret = -EFAULT;
		goto err_unaccount;
	}
	mmap_read_lock(mm);
	ret = ring_buf_check_vmas(mm, ubase & PAGE_MASK, end);
	pinned = ret ? 0 : ring_pin_user_pages(ubase & PAGE_MASK, nr_pages,
					       FOLL_WRITE | FOLL_LONGTERM,
					       buf->pages);
	mmap_read_unlock(mm);
	if (ret)
		goto err_unaccount;
	if (pinned != nr_pages) {
		ret = pinned < 0 ? pinned : -EFAULT;
		if (pinned > 0)
			unpin_user_pages(buf->pages, pinned);
		goto err_unaccount;
	}
	if (!ring_buf_pages_pinnable(buf->pages, nr_pages)) {
		ret = -EOPNOTSUPP;
		goto err_unpin_pages;
	}

	atomic64_add(nr_pages, &mm->pinned_vm);
	mmgrab(mm);
	buf->mm = mm;

	refcount_set(&buf->refs, 1);
	buf->ubase = ubase;
	buf->len = len;
	buf->nr_pages = nr_pages;
	buf->seg_shift = ring_buf_seg_shift(buf->pages, nr_pages, ubase);
	ring_buf_fill_bvecs(buf);
	*out = buf;
	return 0;

err_unpin_pages:
	unpin_user_pages(buf->pages, nr_pages);
err_unaccount:
	if (buf->acct_locked)
		atomic_long_sub(nr_pages, &buf->user->locked_vm);
err_put_user:
	free_uid(buf->user);
err_free_pages:
	kvfree(buf->pages);
err_free_buf:
	kvfree(buf);
	return ret;
}

static void ring_bufs_account(struct ring_ctx *ctx, struct ring_buf *buf, int sign)
{
	if (!buf)
		return;
	ctx->buf_pinned_pages += sign * (long)buf->nr_pages;
	ctx->buf_bvecs += sign * (long)buf->nr_bvecs;
}

/* Read @nr iovecs from @uiov and build a buffer for each non-empty one. */
static int ring_bufs_create(const struct iovec __user *uiov, unsigned int nr,
			    bool allow_empty, struct ring_buf **bufs)
{
	unsigned int i;
	int ret;

	for (i = 0; i < nr; i++) {
		struct iovec iov;

		ret = -EFAULT;
		if (copy_from_user(&iov, &uiov[i], sizeof(iov)))
			goto err_put;
		bufs[i] = NULL;
		if (allow_empty && !iov.iov_base && !iov.iov_len)
			continue;
		ret = ring_buf_create(&iov, &bufs[i]);
		if (ret)
			goto err_put;
		cond_resched();
	}
	return 0;

err_put:
	while (i--)
		if (bufs[i])
			ring_buf_put(bufs[i]);
	return ret;
}

int ring_register_buffers(struct ring_ctx *ctx, void __user *arg,
			  unsigned int nr)
{
	struct ring_buf **bufs;
	unsigned int i;
	int ret;

	if (ctx->bufs)
		return -EBUSY;
	if (!nr || nr > RING_MAX_BUFFERS)
		return -EINVAL;
	bufs = kvcalloc(nr, sizeof(*bufs), GFP_KERNEL_ACCOUNT);
	if (!bufs)
		return -ENOMEM;
	ret = ring_bufs_create(arg, nr, false, bufs);
	if (ret) {
		kvfree(bufs);
		return ret;
	}
	for (i = 0; i < nr; i++)
		ring_bufs_account(ctx, bufs[i], 1);
	ctx->bufs = bufs;
	WRITE_ONCE(ctx->nr_bufs, nr);
	return 0;
}

int ring_unregister_buffers(struct ring_ctx *ctx)
{
	unsigned int i;

	if (!ctx->bufs)
		return -ENXIO;
	for (i = 0; i < ctx->nr_bufs; i++) {
		if (ctx->bufs[i])
			ring_buf_put(ctx->bufs[i]);
	}
	kvfree(ctx->bufs);
	ctx->bufs = NULL;
	WRITE_ONCE(ctx->nr_bufs, 0);
	ctx->buf_pinned_pages = 0;
	ctx->buf_bvecs = 0;
	return 0;
}

/* All or nothing: every new buffer is built before any slot changes. */
int ring_register_buffers_update(struct ring_ctx *ctx, void __user *arg,
				 unsigned int nr)
{
	struct ring_buf_update up;
	struct ring_buf **fresh;
	unsigned int i, end;
	int ret;

	if (copy_from_user(&up, arg, sizeof(up)))
		return -EFAULT;
	if (up.resv)
		return -EINVAL;
	if (!ctx->bufs)
		return -ENXIO;
	if (!nr || check_add_overflow(up.offset, nr, &end) || end > ctx->nr_bufs)
		return -EINVAL;

	fresh = kvcalloc(nr, sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	ret = ring_bufs_create(u64_to_user_ptr(up.iovecs), nr, true, fresh);
	if (ret)
		goto out_free;
	for (i = 0; i < nr; i++) {
		unsigned int slot = array_index_nospec(up.offset + i,
						       ctx->nr_bufs);
		struct ring_buf *old = ctx->bufs[slot];

		ring_bufs_account(ctx, old, -1);
		ring_bufs_account(ctx, fresh[i], 1);
		ctx->bufs[slot] = fresh[i];
		/* Requests in flight hold their own reference. */
		if (old)
			ring_buf_put(old);
	}
	ret = nr;
out_free:
	kvfree(fresh);
	return ret;
}

/*
 * READ_FIXED/WRITE_FIXED: an iterator over [addr, addr + len) of slot
 * @index, and a reference on the buffer for the request's life.
 */
int ring_buf_import(struct ring_ctx *ctx, unsigned int index, u64 addr,
		    u32 len, int dir, struct iov_iter *iter,
		    struct ring_buf **bufp)
{
	struct ring_buf *buf;
	const struct bio_vec *bv;
	u64 end, off;

	if (index >= ctx->nr_bufs)
		return -EFAULT;
	buf = ctx->bufs[array_index_nospec(index, ctx->nr_bufs)];
	if (!buf)
		return -EFAULT;
	if (check_add_overflow(addr, (u64)len, &end) || addr < buf->ubase ||
	    end > buf->ubase + buf->len)
		return -EFAULT;

	iov_iter_bvec(iter, dir, buf->bvecs, buf->nr_bvecs, buf->len);
	off = addr - buf->ubase;
	bv = buf->bvecs;
	/* Straight to the bvec: all after the first have the same size. */
	if (off >= bv->bv_len) {
		u64 rest = off - bv->bv_len;
		unsigned long skip = 1 + (rest >> buf->seg_shift);

		iter->bvec = bv + skip;
		iter->nr_segs -= skip;
		iter->iov_offset = rest & ((1ULL << buf->seg_shift) - 1);
	} else {
		iter->iov_offset = off;
	}
	iter->count = len;

	refcount_inc(&buf->refs);
	*bufp = buf;
	return 0;
}
