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
 *
 * Accounting (locked_vm against RLIMIT_MEMLOCK, and the mm's pinned_vm) is
 * of what is really pinned.  A pinned page of a large folio (THP, hugetlb,
 * a large shmem folio) keeps the whole folio pinned and unreclaimable, so
 * such a folio costs folio_nr_pages(), however little of it a buffer
 * covers.  It is charged once per registered table, however many of its
 * buffers (or pages of one buffer) pin it, and un-charged when the last of
 * them lets go: struct ring_buf_pins counts the pins per folio.  Small
 * pages are charged per pinned page and buffer, as pinned: a 4 KiB page in
 * two buffers twice.
 *
 * Tags (RING_REGISTER_BUFFERS2, RING_REGISTER_BUFFERS_UPDATE2): a buffer
 * registered with a non-zero tag gets its CQE, struct ring_cq_aux, at
 * registration, so that posting it later cannot fail.  When the buffer
 * leaves the table (update, unregister, teardown) the tag is owed: it
 * counts in ctx->inflight, which keeps the ring alive for it, and is posted
 * by whoever frees the buffer, after unpinning: a tag CQE means nothing of
 * the buffer is pinned or charged any more.  A buffer freed before it was
 * ever in the table (a refused registration) owes nothing.
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
#include <linux/xarray.h>

#include "ring.h"

/*
 * The large folios pinned by the buffers of one registered table, and what
 * the table is charged.  Referenced by the ring while the table is
 * registered and by each of its buffers, which may outlive it (I/O in
 * flight): a table registered after an UNREGISTER gets a new one, so a
 * folio still pinned by the old table's I/O is then charged to both for a
 * while; never less than pinned.
 *
 * Charges are taken only under uring_lock (registration); un-charges also
 * come from the last put of a buffer, in process context or the workqueue,
 * never in IRQ context (ring_buf_put()).  The xarray's lock, a plain
 * spinlock, serialises the pin counts, @charged and @ctx.
 */
struct ring_buf_pins {
	refcount_t refs;
	struct xarray folios;		/* head pfn -> struct ring_folio_pin */
	struct mm_struct *mm;		/* pinned_vm charged: the ring's mm */
	long charged;			/* pages, for fdinfo */
	struct ring_ctx *ctx;		/* registered: its buf_pinned_pages */
};

/*
 * One large folio in ring_buf_pins, charged as the buffer that pinned it
 * first was (its user, its CAP_IPC_LOCK decision) until the last pin goes:
 * un-charging mirrors that one charge, whichever buffer lets go last.
 */
struct ring_folio_pin {
	unsigned long pins;		/* buffer pages pinning it */
	unsigned long nr_pages;		/* charged, once */
	struct user_struct *user;	/* locked_vm charged, or NULL */
};

struct ring_buf {
	refcount_t refs;
	u64 ubase;			/* user address of the first byte */
	u64 len;
	struct page **pages;		/* pinned, for unpinning */
	unsigned long nr_pages;
	unsigned long nr_small;		/* pages not in large folios: charged */
	struct ring_buf_pins *pins;	/* the large folios, the mm */
	struct user_struct *user;	/* charged, if acct_locked */
	bool acct_locked;		/* no CAP_IPC_LOCK at registration */
	unsigned int seg_shift;		/* bvecs after the first are 1 << seg_shift */
	struct ring_tag tag;
	struct work_struct free_work;
	unsigned int nr_bvecs;
	struct bio_vec bvecs[];
};

static struct ring_buf_pins *ring_buf_pins_alloc(void)
{
	struct ring_buf_pins *pins = kzalloc(sizeof(*pins), GFP_KERNEL_ACCOUNT);

	if (!pins)
		return NULL;
	refcount_set(&pins->refs, 1);
	xa_init(&pins->folios);
	/* Registration is only from the ring's mm (ring_ioctl()). */
	mmgrab(current->mm);
	pins->mm = current->mm;
	return pins;
}

static void ring_buf_pins_put(struct ring_buf_pins *pins)
{
	if (!refcount_dec_and_test(&pins->refs))
		return;
	/* Every buffer un-charged what it charged before letting go. */
	WARN_ON_ONCE(!xa_empty(&pins->folios) || pins->charged);
	xa_destroy(&pins->folios);
	mmdrop(pins->mm);
	kfree(pins);
}

/* fdinfo's PinnedPages follows the charge while the table is registered. */
static void ring_buf_pins_attach(struct ring_buf_pins *pins,
				 struct ring_ctx *ctx)
{
	xa_lock(&pins->folios);
	pins->ctx = ctx;
	WRITE_ONCE(ctx->buf_pinned_pages, pins->charged);
	xa_unlock(&pins->folios);
}

/* The ring is going or unregistering: buffers in flight must not touch it. */
static void ring_buf_pins_detach(struct ring_buf_pins *pins)
{
	xa_lock(&pins->folios);
	pins->ctx = NULL;
	xa_unlock(&pins->folios);
}

/* Under the xarray's lock. */
static void ring_buf_pins_add(struct ring_buf_pins *pins, long nr)
{
	pins->charged += nr;
	if (pins->ctx)
		WRITE_ONCE(pins->ctx->buf_pinned_pages, pins->charged);
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
 * @nr more pages of locked memory for @buf: out of @credit (reserved
 * before pinning) first, the rest against RLIMIT_MEMLOCK.
 */
static int ring_buf_lock_pages(struct ring_buf *buf, unsigned long nr,
			       unsigned long *credit)
{
	unsigned long more;
	int ret;

	if (!buf->acct_locked)
		return 0;
	more = nr - min(nr, *credit);
	if (more) {
		ret = ring_account_locked(buf->user, more);
		if (ret)
			return ret;
	}
	*credit -= nr - more;
	return 0;
}

/* Pages [i, i + n) of @buf are all of one large folio, or n is 1. */
static unsigned long ring_buf_run(struct ring_buf *buf, unsigned long i)
{
	struct folio *folio = page_folio(buf->pages[i]);
	unsigned long j = i + 1;

	if (!folio_test_large(folio))
		return 1;
	while (j < buf->nr_pages && page_folio(buf->pages[j]) == folio)
		j++;
	return j - i;
}

/*
 * @n pages of @buf pin @folio: charged, in full, if no buffer of the table
 * pinned it yet.
 */
static int ring_buf_pin_folio(struct ring_buf *buf, struct folio *folio,
			      unsigned long n, unsigned long *credit)
{
	struct ring_buf_pins *pins = buf->pins;
	XA_STATE(xas, &pins->folios, folio_pfn(folio));
	struct ring_folio_pin *fp, *new;
	int ret;

	new = kmalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;
	new->pins = n;
	new->nr_pages = folio_nr_pages(folio);
	new->user = NULL;
	do {
		xas_lock(&xas);
		fp = xas_load(&xas);
		if (fp)
			fp->pins += n;
		else
			xas_store(&xas, new);
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL_ACCOUNT));
	ret = xas_error(&xas);
	if (fp || ret) {
		kfree(new);
		return ret;
	}

	/*
	 * Only this buffer pins the folio: no put can reach the entry until
	 * the buffer is published, so it is charged outside the lock.
	 */
	ret = ring_buf_lock_pages(buf, new->nr_pages, credit);
	if (ret) {
		xa_erase(&pins->folios, xas.xa_index);
		kfree(new);
		return ret;
	}
	if (buf->acct_locked)
		new->user = get_uid(buf->user);
	atomic64_add(new->nr_pages, &pins->mm->pinned_vm);
	xa_lock(&pins->folios);
	ring_buf_pins_add(pins, new->nr_pages);
	xa_unlock(&pins->folios);
	return 0;
}

/* The mirror of ring_buf_pin_folio(): un-charged with the last pin. */
static void ring_buf_unpin_folio(struct ring_buf *buf, struct folio *folio,
				 unsigned long n)
{
	struct ring_buf_pins *pins = buf->pins;
	unsigned long index = folio_pfn(folio);
	struct ring_folio_pin *fp;

	xa_lock(&pins->folios);
	fp = xa_load(&pins->folios, index);
	/* A pinned folio is never split, so it is found; never underflow. */
	if (WARN_ON_ONCE(!fp || fp->pins < n)) {
		xa_unlock(&pins->folios);
		return;
	}
	fp->pins -= n;
	if (fp->pins) {
		xa_unlock(&pins->folios);
		return;
	}
	__xa_erase(&pins->folios, index);
	ring_buf_pins_add(pins, -(long)fp->nr_pages);
	xa_unlock(&pins->folios);

	if (fp->user) {
		atomic_long_sub(fp->nr_pages, &fp->user->locked_vm);
		free_uid(fp->user);
	}
	atomic64_sub(fp->nr_pages, &pins->mm->pinned_vm);
	kfree(fp);
}

/*
 * Un-charge the small pages of @buf and its large folios pinned by pages
 * [0, end); the pages must still be pinned (their folios unsplit).
 */
static void ring_buf_uncharge(struct ring_buf *buf, unsigned long end)
{
	struct ring_buf_pins *pins = buf->pins;
	unsigned long i, n;

	for (i = 0; i < end; i += n) {
		struct folio *folio = page_folio(buf->pages[i]);

		n = ring_buf_run(buf, i);
		if (folio_test_large(folio))
			ring_buf_unpin_folio(buf, folio, n);
	}
	if (buf->acct_locked)
		atomic_long_sub(buf->nr_small, &buf->user->locked_vm);
	atomic64_sub(buf->nr_small, &pins->mm->pinned_vm);
	xa_lock(&pins->folios);
	ring_buf_pins_add(pins, -(long)buf->nr_small);
	xa_unlock(&pins->folios);
	buf->nr_small = 0;
}

/*
 * Charge what @buf pins, all or nothing: its small pages each, its large
 * folios whole and once per table.  Locked memory comes out of @credit
 * first.
 */
static int ring_buf_charge(struct ring_buf *buf, unsigned long *credit)
{
	struct ring_buf_pins *pins = buf->pins;
	unsigned long i, n, small = 0;
	int ret;

	for (i = 0; i < buf->nr_pages; i++)
		small += !folio_test_large(page_folio(buf->pages[i]));
	ret = ring_buf_lock_pages(buf, small, credit);
	if (ret)
		return ret;
	buf->nr_small = small;
	atomic64_add(small, &pins->mm->pinned_vm);
	xa_lock(&pins->folios);
	ring_buf_pins_add(pins, small);
	xa_unlock(&pins->folios);

	for (i = 0; i < buf->nr_pages; i += n) {
		struct folio *folio = page_folio(buf->pages[i]);

		n = ring_buf_run(buf, i);
		if (!folio_test_large(folio))
			continue;
		ret = ring_buf_pin_folio(buf, folio, n, credit);
		if (ret) {
			ring_buf_uncharge(buf, i);
			return ret;
		}
	}
	return 0;
}

/* The last put may come from a completion in IRQ context: deferred then. */
static void ring_buf_free(struct work_struct *work)
{
	struct ring_buf *buf = container_of(work, struct ring_buf, free_work);
	struct ring_tag tag = buf->tag;

	/* While still pinned: the folios are looked up by their pages. */
	ring_buf_uncharge(buf, buf->nr_pages);
	unpin_user_pages(buf->pages, buf->nr_pages);
	free_uid(buf->user);
	ring_buf_pins_put(buf->pins);
	kvfree(buf->pages);
	kvfree(buf);
	/* Last: the ring may be gone once an owed tag is posted. */
	ring_tag_release(&tag);
}

void ring_buf_put(struct ring_buf *buf)
{
	if (refcount_dec_and_test(&buf->refs))
		ring_free_last(&buf->free_work, ring_buf_free, false);
}

/* Under completion_lock (cq.c): a last put frees from the workqueue. */
void ring_buf_put_async(struct ring_buf *buf)
{
	if (refcount_dec_and_test(&buf->refs))
		ring_free_last(&buf->free_work, ring_buf_free, true);
}

/*
 * cq.c, before a completed request's cleanup: its reference on a tagged
 * buffer, taken out of the request (NULL if it holds none), to be put
 * once the request's CQE is out.
 */
struct ring_buf *ring_buf_take_tagged(struct ring_req *req)
{
	struct ring_buf *buf;

	if (req->opcode != RING_OP_READ_FIXED &&
	    req->opcode != RING_OP_WRITE_FIXED)
		return NULL;
	buf = req->rw.buf;
	if (!buf || !buf->tag.aux)
		return NULL;
	req->rw.buf = NULL;
	return buf;
}

/*
 * Under uring_lock: @buf is out of the table.  Its tag, if it has one, is
 * owed from now on, and counts as in flight until posted.
 */
static void ring_buf_retire(struct ring_ctx *ctx, struct ring_buf *buf)
{
	ring_tag_owe(ctx, &buf->tag);
	ring_buf_put(buf);
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

static int ring_buf_create(struct ring_buf_pins *pins, const struct iovec *iov,
			   struct ring_buf **out)
{
	u64 ubase = (u64)(uintptr_t)iov->iov_base, len = iov->iov_len, end;
	struct mm_struct *mm = current->mm;
	unsigned long nr_pages, credit = 0;
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
	/* Decided now and kept: un-accounting must mirror it exactly. */
	buf->acct_locked = !capable(CAP_IPC_LOCK);
	buf->user = get_uid(current_user());
	buf->pins = pins;
	/*
	 * Reserved before anything is faulted in or pinned, so that a small
	 * limit refuses at once: every page costs at least itself, unless its
	 * large folio is pinned already.  The charge proper, known once the
	 * folios are, is taken out of this credit first.
	 */
	if (buf->acct_locked) {
		ret = ring_account_locked(buf->user, nr_pages);
		if (ret)
			goto err_put_user;
		credit = nr_pages;
	}
	/*
	 * Fault in, writing nothing, through a path that may drop the mmap
	 * lock and retry: userfaultfd-armed memory gets its handler's pages,
	 * which a long-term pin under the lock cannot wait for.
	 */
	if (fault_in_safe_writeable(u64_to_user_ptr(ubase), len)) {
		ret = -EFAULT;
		goto err_unreserve;
	}
	mmap_read_lock(mm);
	ret = ring_buf_check_vmas(mm, ubase & PAGE_MASK, end);
	pinned = ret ? 0 : ring_pin_user_pages(ubase & PAGE_MASK, nr_pages,
					       FOLL_WRITE | FOLL_LONGTERM,
					       buf->pages);
	mmap_read_unlock(mm);
	if (ret)
		goto err_unreserve;
	if (pinned != nr_pages) {
		ret = pinned < 0 ? pinned : -EFAULT;
		if (pinned > 0)
			unpin_user_pages(buf->pages, pinned);
		goto err_unreserve;
	}
	if (!ring_buf_pages_pinnable(buf->pages, nr_pages)) {
		ret = -EOPNOTSUPP;
		goto err_unpin_pages;
	}

	buf->nr_pages = nr_pages;
	ret = ring_buf_charge(buf, &credit);
	if (ret)
		goto err_unpin_pages;
	/* What the reservation was not needed for (folios pinned already). */
	if (credit)
		atomic_long_sub(credit, &buf->user->locked_vm);
	refcount_inc(&pins->refs);

	refcount_set(&buf->refs, 1);
	buf->ubase = ubase;
	buf->len = len;
	buf->seg_shift = ring_buf_seg_shift(buf->pages, nr_pages, ubase);
	ring_buf_fill_bvecs(buf);
	*out = buf;
	return 0;

err_unpin_pages:
	unpin_user_pages(buf->pages, nr_pages);
err_unreserve:
	if (credit)
		atomic_long_sub(credit, &buf->user->locked_vm);
err_put_user:
	free_uid(buf->user);
err_free_pages:
	kvfree(buf->pages);
err_free_buf:
	kvfree(buf);
	return ret;
}

/* fdinfo: BufferBvecs of the table (PinnedPages is the charge's). */
static void ring_bufs_account(struct ring_ctx *ctx, struct ring_buf *buf, int sign)
{
	if (!buf)
		return;
	ctx->buf_bvecs += sign * (long)buf->nr_bvecs;
}

/* Where the buffers of a registration or an update come from. */
struct ring_bufs_src {
	const struct iovec __user *iovs;
	const u64 __user *tags;			/* or NULL: untagged */
	bool allow_empty;			/* {NULL, 0}: an empty slot */
	bool sparse;				/* no iovecs: all empty */
};

/* Buffer @i of @src into *@out: NULL for an empty slot. */
static int ring_buf_create_one(struct ring_buf_pins *pins,
			       const struct ring_bufs_src *src, unsigned int i,
			       struct ring_buf **out)
{
	struct ring_tag tag;
	struct iovec iov;
	u64 utag = 0;
	int ret;

	*out = NULL;
	if (src->sparse)
		return 0;
	if (copy_from_user(&iov, &src->iovs[i], sizeof(iov)))
		return -EFAULT;
	if (src->tags && copy_from_user(&utag, &src->tags[i], sizeof(utag)))
		return -EFAULT;
	if (src->allow_empty && !iov.iov_base && !iov.iov_len)
		return utag ? -EINVAL : 0;	/* nothing to tag */
	ret = ring_tag_init(&tag, utag);
	if (ret)
		return ret;
	ret = ring_buf_create(pins, &iov, out);
	if (ret) {
		ring_tag_release(&tag);
		return ret;
	}
	(*out)->tag = tag;
	return 0;
}

/*
 * Build the @nr buffers of @src into @bufs, in order, until one fails:
 * *@built are built (the rest NULL) and owned by the caller either way.
 */
static int ring_bufs_create(struct ring_buf_pins *pins,
			    const struct ring_bufs_src *src, unsigned int nr,
			    struct ring_buf **bufs, unsigned int *built)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < nr; i++) {
		ret = ring_buf_create_one(pins, src, i, &bufs[i]);
		if (ret)
			break;
		cond_resched();
	}
	*built = i;
	return ret;
}

/* Refused buffers, never in the table: they owe no tag. */
static void ring_bufs_put(struct ring_buf **bufs, unsigned int nr)
{
	while (nr--)
		if (bufs[nr])
			ring_buf_put(bufs[nr]);
}

/* RING_REGISTER_BUFFERS and RING_REGISTER_BUFFERS2: all or nothing. */
static int ring_bufs_register(struct ring_ctx *ctx,
			      const struct ring_bufs_src *src, unsigned int nr)
{
	struct ring_buf_pins *pins;
	struct ring_buf **bufs;
	unsigned int i, built;
	int ret;

	if (ctx->bufs)
		return -EBUSY;
	if (!nr || nr > RING_MAX_BUFFERS)
		return -EINVAL;
	bufs = kvcalloc(nr, sizeof(*bufs), GFP_KERNEL_ACCOUNT);
	if (!bufs)
		return -ENOMEM;
	pins = ring_buf_pins_alloc();
	if (!pins) {
		ret = -ENOMEM;
		goto err_free_bufs;
	}
	ret = ring_bufs_create(pins, src, nr, bufs, &built);
	if (ret)
		goto err_put_bufs;
	for (i = 0; i < nr; i++)
		ring_bufs_account(ctx, bufs[i], 1);
	ring_buf_pins_attach(pins, ctx);
	ctx->buf_pins = pins;
	ctx->bufs = bufs;
	WRITE_ONCE(ctx->nr_bufs, nr);
	return 0;

err_put_bufs:
	ring_bufs_put(bufs, built);
	ring_buf_pins_put(pins);
err_free_bufs:
	kvfree(bufs);
	return ret;
}

int ring_register_buffers(struct ring_ctx *ctx, void __user *arg,
			  unsigned int nr)
{
	struct ring_bufs_src src = { .iovs = arg };

	return ring_bufs_register(ctx, &src, nr);
}

int ring_register_buffers2(struct ring_ctx *ctx, void __user *arg,
			   unsigned int size)
{
	struct ring_rsrc_register rr;
	struct ring_bufs_src src = { .allow_empty = true };

	if (size != sizeof(rr))
		return -EINVAL;
	if (copy_from_user(&rr, arg, sizeof(rr)))
		return -EFAULT;
	if ((rr.flags & ~RING_RSRC_REGISTER_SPARSE) || rr.resv2)
		return -EINVAL;
	src.sparse = rr.flags & RING_RSRC_REGISTER_SPARSE;
	if (src.sparse && (rr.data || rr.tags))
		return -EINVAL;
	src.iovs = u64_to_user_ptr(rr.data);
	src.tags = u64_to_user_ptr(rr.tags);
	return ring_bufs_register(ctx, &src, rr.nr);
}

int ring_unregister_buffers(struct ring_ctx *ctx)
{
	unsigned int i;

	if (!ctx->bufs)
		return -ENXIO;
	/*
	 * At teardown too: the tags are posted into rings not yet freed
	 * (ring_ctx_teardown() frees the backlog and the rings after this).
	 */
	for (i = 0; i < ctx->nr_bufs; i++) {
		if (ctx->bufs[i])
			ring_buf_retire(ctx, ctx->bufs[i]);
	}
	kvfree(ctx->bufs);
	ctx->bufs = NULL;
	WRITE_ONCE(ctx->nr_bufs, 0);
	/* Buffers still in I/O un-charge themselves later, not into ctx. */
	ring_buf_pins_detach(ctx->buf_pins);
	ring_buf_pins_put(ctx->buf_pins);
	ctx->buf_pins = NULL;
	WRITE_ONCE(ctx->buf_pinned_pages, 0);
	ctx->buf_bvecs = 0;
	return 0;
}

/*
 * Replace @nr slots from @offset by the buffers of @src.  Every new buffer
 * is built before any slot changes.  If one fails: with @partial those
 * before it still go in and their count is returned, if any (io_uring's
 * UPDATE2); without, nothing changes.
 */
static int ring_bufs_update(struct ring_ctx *ctx, u32 offset,
			    const struct ring_bufs_src *src, unsigned int nr,
			    bool partial)
{
	struct ring_buf **fresh;
	unsigned int i, end, built;
	int ret;

	if (!ctx->bufs)
		return -ENXIO;
	if (!nr || check_add_overflow(offset, nr, &end) || end > ctx->nr_bufs)
		return -EINVAL;

	fresh = kvcalloc(nr, sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	ret = ring_bufs_create(ctx->buf_pins, src, nr, fresh, &built);
	if (ret && (!partial || !built)) {
		ring_bufs_put(fresh, built);
		goto out_free;
	}
	for (i = 0; i < built; i++) {
		unsigned int slot = array_index_nospec(offset + i,
						       ctx->nr_bufs);
		struct ring_buf *old = ctx->bufs[slot];

		ring_bufs_account(ctx, old, -1);
		ring_bufs_account(ctx, fresh[i], 1);
		ctx->bufs[slot] = fresh[i];
		/* Requests in flight hold their own reference. */
		if (old)
			ring_buf_retire(ctx, old);
	}
	ret = built;
out_free:
	kvfree(fresh);
	return ret;
}

int ring_register_buffers_update(struct ring_ctx *ctx, void __user *arg,
				 unsigned int nr)
{
	struct ring_bufs_src src = { .allow_empty = true };
	struct ring_buf_update up;

	if (copy_from_user(&up, arg, sizeof(up)))
		return -EFAULT;
	if (up.resv)
		return -EINVAL;
	src.iovs = u64_to_user_ptr(up.iovecs);
	return ring_bufs_update(ctx, up.offset, &src, nr, false);
}

int ring_register_buffers_update2(struct ring_ctx *ctx, void __user *arg,
				  unsigned int size)
{
	struct ring_bufs_src src = { .allow_empty = true };
	struct ring_rsrc_update2 up;

	if (size != sizeof(up))
		return -EINVAL;
	if (copy_from_user(&up, arg, sizeof(up)))
		return -EFAULT;
	if (up.resv || up.resv2)
		return -EINVAL;
	src.iovs = u64_to_user_ptr(up.data);
	src.tags = u64_to_user_ptr(up.tags);
	return ring_bufs_update(ctx, up.offset, &src, up.nr, true);
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
