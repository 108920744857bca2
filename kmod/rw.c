// SPDX-License-Identifier: GPL-2.0
/*
 * RING_OP_READ, WRITE, READV, WRITEV, READ_FIXED, WRITE_FIXED: reads and
 * writes through the file's read_iter/write_iter.  The fixed variants take
 * a bvec iterator over a registered buffer (rsrc.c) instead of user memory.
 *
 * prep() takes the file, checks it is open for the direction, imports the
 * buffer or the iovec array (copied into the request, so the application
 * may reuse it as soon as ENTER returns) and fixes the file position.
 * issue() may run several times for one request: a non-blocking attempt at
 * submission, then a blocking one in a worker, or a non-blocking one when a
 * pollable file becomes ready.  Each attempt continues where the last one
 * stopped (rw->done), from a copy of the imported iterator.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fsnotify.h>
#include <linux/magic.h>
#include <linux/uio.h>

#include "opdef.h"

static bool ring_rw_is_write(const struct ring_req *req)
{
	return req->opcode == RING_OP_WRITE || req->opcode == RING_OP_WRITEV ||
	       req->opcode == RING_OP_WRITE_FIXED;
}

static bool ring_rw_is_fixed(const struct ring_req *req)
{
	return req->opcode == RING_OP_READ_FIXED ||
	       req->opcode == RING_OP_WRITE_FIXED;
}

static bool ring_rw_is_vectored(const struct ring_req *req)
{
	return req->opcode == RING_OP_READV || req->opcode == RING_OP_WRITEV;
}

/* Regular-file writes hold freeze protection for the attempt's duration. */
static bool ring_rw_needs_freeze_protection(const struct ring_req *req)
{
	return ring_rw_is_write(req) && S_ISREG(file_inode(req->file)->i_mode);
}

static int ring_rw_import(struct ring_req *req, const struct ring_sqe *sqe)
{
	struct ring_rw *rw = &req->rw;
	int dir = ring_rw_is_write(req) ? ITER_SOURCE : ITER_DEST;
	void __user *buf = u64_to_user_ptr(sqe->addr);
	ssize_t ret;

	if (ring_rw_is_vectored(req)) {
		struct iovec *iov = rw->fast_iov;

		/* Copies the array; more than UIO_MAXIOV entries is -EINVAL. */
		ret = import_iovec(dir, buf, sqe->len, UIO_FASTIOV, &iov,
				   &rw->iter);
		if (ret < 0)
			return ret;
		rw->iov = iov;
		return 0;
	}
	/* A CQE can only report up to MAX_RW_COUNT bytes. */
	if (sqe->len > MAX_RW_COUNT)
		return -EINVAL;
	if (ring_rw_is_fixed(req) && sqe->buf_index == RING_BUF_IOTLB)
		return ring_iotlb_import(req->ctx, sqe->addr, sqe->len, dir, rw);
	if (ring_rw_is_fixed(req))
		return ring_buf_import(req->ctx, sqe->buf_index, sqe->addr,
				       sqe->len, dir, &rw->iter, &rw->buf);
	return ring_import_ubuf(dir, buf, sqe->len, rw->fast_iov, &rw->iter);
}

/*
 * Files whose read and write handlers act on the calling task: the kernel's
 * own pseudo filesystems, on its namespaces (/proc/sys/kernel/hostname
 * writes the caller's UTS name, cgroup.procs and resctrl's tasks resolve
 * pids in its pid namespace), root (paths in /proc/PID/maps) or cgroups;
 * signalfd, on its signals; userfaultfd and fanotify, which install fds
 * in its table.  A worker or the SQ thread is a kernel thread in the
 * host's: a container would read and write the host's.  Refused, whatever
 * would run them, also through an overlay that stacks such a file.
 */
static bool ring_rw_task_bound_inode(const struct inode *inode,
				     const struct dentry *dentry)
{
	switch (inode->i_sb->s_magic) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case SECURITYFS_MAGIC:
	case BPF_FS_MAGIC:
	case RDTGROUP_SUPER_MAGIC:
		return true;
	case ANON_INODE_FS_MAGIC:
		/* Their names are what /proc/PID/fd shows: "anon_inode:[...]". */
		return !strcmp(dentry->d_name.name, "[signalfd]") ||
		       !strcmp(dentry->d_name.name, "[userfaultfd]") ||
		       !strcmp(dentry->d_name.name, "[fanotify]");
	}
	return false;
}

static bool ring_rw_task_bound_file(struct file *file)
{
	struct dentry *dentry = file->f_path.dentry;
	struct inode *inode = file_inode(file), *real;

	/* A block device's I/O is the block layer's, wherever its node is. */
	if (likely(S_ISBLK(inode->i_mode)))
		return false;
	if (ring_rw_task_bound_inode(inode, dentry))
		return true;
	real = d_real_inode(dentry);
	return real != inode && ring_rw_task_bound_inode(real, dentry);
}

int ring_rw_prep(struct ring_req *req, const struct ring_sqe *sqe)
{
	struct ring_rw *rw = &req->rw;
	bool write = ring_rw_is_write(req);
	/* The ABI's __u32 carries the kernel's RWF_* bits unchanged. */
	rwf_t rw_flags = (__force rwf_t)sqe->rw_flags;
	struct file *file;
	s64 off = sqe->off;
	int ret;

	rw->iov = NULL;
	rw->buf = NULL;
	rw->iotlb_bvec = NULL;
	rw->iotlb_nr = 0;
	rw->done = 0;
	req->poll.retries = 0;
	if (sqe->ioprio || (sqe->buf_index && !ring_rw_is_fixed(req)))
		return -EINVAL;

	ret = ring_req_get_file(req, sqe);
	if (ret)
		return ret;
	file = req->file;
	if (unlikely(ring_rw_task_bound_file(file)))
		return -EOPNOTSUPP;
	if (!(file->f_mode & (write ? FMODE_WRITE : FMODE_READ)))
		return -EBADF;
	if (!(write ? file->f_op->write_iter : file->f_op->read_iter))
		return -EINVAL;

	if (off < 0 && off != -1)
		return -EINVAL;
	rw->use_fpos = false;
	if (file->f_mode & FMODE_STREAM) {
		if (off > 0)
			return -ESPIPE;
		rw->pos = 0;
	} else if (off == -1) {
		/*
		 * Read at the first attempt (a chain's member starts after its
		 * predecessor moved the position); updated when the I/O ends.
		 */
		rw->use_fpos = true;
		rw->fpos_read = false;
	} else {
		rw->pos = off;
	}

	/* Validate RWF_* once; every attempt starts from these flags. */
	rw->kiocb.ki_filp = file;
	rw->kiocb.ki_flags = iocb_flags(file);
	ret = ring_kiocb_set_rw_flags(&rw->kiocb, rw_flags,
				      write ? WRITE : READ);
	if (ret)
		return ret;
	if (req->ctx->setup_flags & RING_SETUP_IOPOLL) {
		/* Only O_DIRECT on a file that can poll: io_uring's errno. */
		if (!(rw->kiocb.ki_flags & IOCB_DIRECT) || !file->f_op->iopoll)
			return -EOPNOTSUPP;
		/* Bios from the per-CPU cache, not the slab: io_uring's too. */
		rw->kiocb.ki_flags |= IOCB_HIPRI | IOCB_ALLOC_CACHE;
	} else if (rw->kiocb.ki_flags & IOCB_HIPRI) {
		/*
		 * RWF_HIPRI makes O_DIRECT bios polled, and only an IOPOLL
		 * ring polls them: elsewhere they would end only when the
		 * block layer times them out.  io_uring refuses it too.
		 */
		return -EINVAL;
	} else {
		rw->kiocb.ki_flags |= RING_IOCB_ALLOC_CACHE_UNPOLLED;
	}
	if (write)
		rw->kiocb.ki_flags |= IOCB_WRITE;
	rw->kiocb_flags = rw->kiocb.ki_flags;
	rw->kiocb.ki_ioprio = get_current_ioprio();
	/* Those who asked not to wait get -EAGAIN, as from preadv2(). */
	if ((rw_flags & RWF_NOWAIT) ||
	    ((file->f_flags & O_NONBLOCK) && ring_file_nowait(file)))
		req->flags |= RING_REQ_F_NOWAIT;

	ret = ring_rw_import(req, sqe);
	if (ret)
		return ret;
	/* Less than this fails a link (chain.c), as a short read does in io_uring. */
	req->len = iov_iter_count(&rw->iter);
	req->flags |= RING_REQ_F_FULL_LEN;
	return 0;
}

void ring_rw_cleanup(struct ring_req *req)
{
	if (unlikely(req->rw.iov))
		kfree(req->rw.iov);
	if (req->rw.buf)
		ring_buf_put(req->rw.buf);
	if (req->rw.iotlb_nr)
		ring_iotlb_release(&req->rw);
}

/*
 * fsnotify's access or modify event once bytes moved, as read(2), write(2)
 * and io_uring raise it (inotify IN_ACCESS/IN_MODIFY, fanotify FAN_ACCESS/
 * FAN_MODIFY: file watchers, integrity monitors).  Its handlers allocate
 * and may sleep: process context with nothing held.  Nobody watching
 * anything on the file's sb (the common case) costs one load.
 */
static bool ring_rw_watched(const struct ring_req *req)
{
	return ring_sb_has_watchers(req->file->f_path.dentry->d_sb);
}

static void ring_rw_notify(struct ring_req *req)
{
	if (ring_rw_is_write(req))
		fsnotify_modify(req->file);
	else
		fsnotify_access(req->file);
}

/* In process context, nothing held: the event of a result @res, if any. */
static void ring_rw_notify_result(struct ring_req *req, long res)
{
	if (unlikely(res > 0 && ring_rw_watched(req)))
		ring_rw_notify(req);
}

/*
 * ring_wq: the events of reads and writes that ended in a ki_complete
 * (IRQ context, or inside the block layer's locks), then their CQEs, in
 * the order they ended.  Each holds an inflight count until its CQE, so
 * the ring outlives this; after the last CQE nothing here touches it.
 */
void ring_rw_notify_work(struct work_struct *work)
{
	struct ring_ctx *ctx = container_of(work, struct ring_ctx, notify_work);
	struct llist_node *list = llist_del_all(&ctx->notify_list);
	struct ring_req *req, *next;

	list = llist_reverse_order(list);
	llist_for_each_entry_safe(req, next, list, notify_node) {
		ring_rw_notify(req);
		ring_req_complete(req, req->res);
	}
}

/* From a ki_complete: @req's event and CQE wait for ring_wq. */
static void ring_rw_notify_defer(struct ring_req *req, long res)
{
	struct ring_ctx *ctx = req->ctx;

	req->res = res;
	/* The first on an empty list queues the work; it takes them all. */
	if (llist_add(&req->notify_node, &ctx->notify_list))
		ring_async_defer(&ctx->notify_work);
}

/*
 * Freeze protection for a write attempt.  One that must not wait does not
 * wait for a frozen filesystem either (io_uring's trylock): otherwise
 * ENTER or the SQ thread would sleep uninterruptibly in it, holding
 * uring_lock, until the thaw.
 */
static bool ring_rw_start_write(struct kiocb *kiocb)
{
	struct super_block *sb = file_inode(kiocb->ki_filp)->i_sb;

	if (!(kiocb->ki_flags & IOCB_NOWAIT)) {
		kiocb_start_write(kiocb);
		return true;
	}
	if (!sb_start_write_trylock(sb))
		return false;
	/* As kiocb_start_write(): the lock passes to whoever ends the I/O. */
	__sb_writers_release(sb, SB_FREEZE_WRITE);
	return true;
}

/* The CQE result once the last attempt returned @res. */
static int ring_rw_result(struct ring_req *req, ssize_t res)
{
	struct ring_rw *rw = &req->rw;

	if (res > 0)
		rw->done += res;
	/* Bytes moved before an error are what read(2) would report. */
	if (rw->done)
		res = rw->done;
	/* Where the file left it: O_APPEND moved it to the end first. */
	if (rw->use_fpos && res > 0)
		req->file->f_pos = rw->kiocb.ki_pos;
	return res;
}

/*
 * A block device may refuse REQ_NOWAIT after queueing (no tag free): a
 * worker, which may wait, retries.  True if @req went to one.
 */
static bool ring_rw_retry_refused(struct ring_req *req, long res)
{
	if (res != -EAGAIN || !(req->rw.kiocb.ki_flags & IOCB_NOWAIT) ||
	    (req->flags & RING_REQ_F_NOWAIT))
		return false;
	ring_async_queue_work(req);
	return true;
}

/*
 * Both ends of an attempt the file took are there, its result in ->res:
 * retry, or complete the request.  @issuer: in the issuer, process
 * context; else wherever ki_complete ran.
 */
static noinline void ring_rw_end_attempt(struct ring_req *req, bool issuer)
{
	long res = req->res;

	if (ring_rw_retry_refused(req, res))
		return;
	res = ring_rw_result(req, res);
	if (issuer) {
		ring_rw_notify_result(req, res);
	} else if (unlikely(res > 0 && ring_rw_watched(req))) {
		ring_rw_notify_defer(req, res);
		return;
	}
	if (!ring_req_done_inline(req, res))
		ring_req_complete(req, res);
}

/*
 * One end of an attempt that the file took: the second one ends it.
 * Until then the issuer may still be inside ->read_iter/->write_iter,
 * whose iterator points into the request's iovec or bvec array and its
 * registered buffer (NFS reverts it after queueing the I/O), so nothing
 * is freed, reused or retried before.  The full barrier of atomic_dec
 * _and_test orders ki_complete's ->res before the issuer reads it.
 */
static __always_inline void ring_rw_put_end(struct ring_req *req,
					    bool issuer)
{
	if (atomic_dec_and_test(&req->rw.ends))
		ring_rw_end_attempt(req, issuer);
}

/* ki_complete: the device's end of an attempt that returned -EIOCBQUEUED. */
static void ring_rw_complete_iocb(struct kiocb *kiocb, long res)
{
	struct ring_req *req = container_of(kiocb, struct ring_req, rw.kiocb);

	if (ring_rw_needs_freeze_protection(req))
		kiocb_end_write(kiocb);
	req->res = res;
	ring_rw_put_end(req, false);
}

/*
 * ki_complete of a polled request (RING_SETUP_IOPOLL): any context, maybe
 * inside our own poll.  It only records the result; the request stays on
 * the iopoll list until a reaper completes it (iopoll.c).
 */
static void ring_rw_complete_iopoll(struct kiocb *kiocb, long res)
{
	struct ring_req *req = container_of(kiocb, struct ring_req, rw.kiocb);

	if (ring_rw_needs_freeze_protection(req))
		kiocb_end_write(kiocb);
	req->res = res;
	/* Pairs with the reaper's load-acquire: ->res before the flag. */
	smp_store_release(&req->iopoll_done, true);
}

/* A reaper took polled @req off its list, done: complete or retry it. */
void ring_rw_iopoll_done(struct ring_req *req, struct ring_batch *done)
{
	if (ring_rw_retry_refused(req, req->res))
		return;
	req->res = ring_rw_result(req, req->res);
	/* The reaper is ENTER or the SQ thread: process context. */
	ring_rw_notify_result(req, req->res);
	ring_batch_add(done, req);
}

int ring_rw_issue(struct ring_req *req, unsigned int issue_flags)
{
	bool iopoll = req->ctx->setup_flags & RING_SETUP_IOPOLL;
	struct ring_rw *rw = &req->rw;
	struct kiocb *kiocb = &rw->kiocb;
	struct file *file = req->file;
	bool nonblock = issue_flags & RING_ISSUE_NONBLOCK;
	struct iov_iter iter;
	ssize_t ret;

	if (nonblock && !ring_file_nowait(file))
		return -EAGAIN;

	if (rw->use_fpos && !rw->fpos_read) {
		rw->pos = file->f_pos;
		rw->fpos_read = true;
	}
	iter = rw->iter;
	/* Only a retry continues past bytes already moved. */
	if (unlikely(rw->done))
		iov_iter_advance(&iter, rw->done);
	kiocb->ki_flags = rw->kiocb_flags;
	if (nonblock)
		kiocb->ki_flags |= IOCB_NOWAIT;
	kiocb->ki_pos = rw->pos + rw->done;
	/*
	 * What read(2) and io_uring check before each attempt: pos + count
	 * within loff_t, then the LSM's file_permission and fanotify's
	 * permission events (which may deny, or wait for a listener).
	 */
	ret = rw_verify_area(ring_rw_is_write(req) ? WRITE : READ, file,
			     (file->f_mode & FMODE_STREAM) ? NULL : &kiocb->ki_pos,
			     iov_iter_count(&iter));
	if (unlikely(ret))
		goto done;
	if (iopoll) {
		kiocb->ki_complete = ring_rw_complete_iopoll;
		/* Where the file leaves what its ->iopoll() looks for (a bio). */
		kiocb->private = NULL;
		req->iopoll_done = false;
	} else {
		kiocb->ki_complete = ring_rw_complete_iocb;
		atomic_set(&rw->ends, 2);
	}

	if (ring_rw_needs_freeze_protection(req) &&
	    unlikely(!ring_rw_start_write(kiocb))) {
		ret = -EAGAIN;
		goto ended;
	}
	if (ring_rw_is_write(req))
		ret = file->f_op->write_iter(kiocb, &iter);
	else
		ret = file->f_op->read_iter(kiocb, &iter);
	/*
	 * Queued: a polled request waits on the iopoll list for a reaper;
	 * any other is ended by whichever of us and ki_complete comes second.
	 * Either way the request may be gone once this returns.
	 */
	if (ret == -EIOCBQUEUED) {
		if (iopoll)
			ring_iopoll_add(req, issue_flags);
		else
			ring_rw_put_end(req, true);
		return ret;
	}
	if (ring_rw_needs_freeze_protection(req))
		kiocb_end_write(kiocb);
ended:
	/* Buffered block-device writes refuse IOCB_NOWAIT outright. */
	if (nonblock && ret == -EOPNOTSUPP)
		ret = -EAGAIN;
	if (nonblock && !(req->flags & RING_REQ_F_NOWAIT)) {
		if (ret == -EAGAIN)
			return ret;
		/*
		 * A file or block device that could do only part without
		 * waiting (page cache partly there): a worker does the rest.
		 */
		if (ret > 0 && iov_iter_count(&iter) && !ring_file_pollable(file)) {
			rw->done += ret;
			return -EAGAIN;
		}
	}
done:
	ret = ring_rw_result(req, ret);
	/* The submitter, a worker or the SQ thread: process context. */
	ring_rw_notify_result(req, ret);
	return ret;
}
