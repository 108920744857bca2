// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/PID/fdinfo/FD of a ring: its state at a glance, for people and for
 * tests that check nothing is left behind.
 */
#include <linux/fs.h>
#include <linux/seq_file.h>

#include "ring.h"

void ring_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct ring_ctx *ctx = file->private_data;
	struct ring_rings *rings;

	/* Pairs with the release in ring_setup(). */
	if (!smp_load_acquire(&ctx->ready))
		return;
	rings = ctx->rings;

	/* A snapshot: the application moves its indices as it likes. */
	seq_printf(m, "SqEntries:\t%u\n", ctx->sq_entries);
	seq_printf(m, "CqEntries:\t%u\n", ctx->cq_entries);
	seq_printf(m, "SqHead:\t%u\n", READ_ONCE(ctx->cached_sq_head));
	seq_printf(m, "SqTail:\t%u\n", READ_ONCE(rings->sq.tail));
	seq_printf(m, "CqHead:\t%u\n", READ_ONCE(rings->cq.head));
	seq_printf(m, "CqTail:\t%u\n", READ_ONCE(ctx->cached_cq_tail));
	seq_printf(m, "SqDropped:\t%u\n", READ_ONCE(ctx->sq_dropped));
	seq_printf(m, "CqOverflow:\t%u\n", READ_ONCE(ctx->cq_overflow));
	seq_printf(m, "CqBacklog:\t%u\n", READ_ONCE(ctx->backlog_nr));
	seq_printf(m, "Inflight:\t%d\n", atomic_read(&ctx->inflight));
	seq_printf(m, "CqSkipped:\t%u\n", READ_ONCE(ctx->cq_skipped));
	seq_printf(m, "Deferred:\t%u\n", READ_ONCE(ctx->defer_nr));
	seq_printf(m, "BufferSlots:\t%u\n", READ_ONCE(ctx->nr_bufs));
	seq_printf(m, "PinnedPages:\t%ld\n", READ_ONCE(ctx->buf_pinned_pages));
	seq_printf(m, "BufferBvecs:\t%ld\n", READ_ONCE(ctx->buf_bvecs));
	seq_printf(m, "CqTags:\t%u\n", READ_ONCE(ctx->tags_owed));
	seq_printf(m, "FileSlots:\t%u\n", READ_ONCE(ctx->nr_files));
	ring_async_show_fdinfo(ctx, m);
	ring_sqpoll_show_fdinfo(ctx, m);
	/*
	 * The region may be unregistered meanwhile: hold it still.  But only
	 * if uring_lock is free: its owner may sleep in a copy from user
	 * memory (REGISTER) that a userfaultfd or FUSE server can hold up
	 * for ever, and fdinfo readers must not hang with it.  Like io_uring,
	 * leave out what needs the lock instead.
	 */
	if (mutex_trylock(&ctx->uring_lock)) {
		ring_iotlb_show_fdinfo(ctx, m);
		mutex_unlock(&ctx->uring_lock);
	}
}
