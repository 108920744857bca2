// SPDX-License-Identifier: GPL-2.0
/*
 * RING_OP_FSYNC: vfs_fsync_range() over [off, off + len), the whole file
 * when len is 0; RING_FSYNC_DATASYNC for fdatasync semantics.  It always
 * waits, so it always runs in a worker.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/overflow.h>

#include "opdef.h"

int ring_fsync_prep(struct ring_req *req, const struct ring_sqe *sqe)
{
	struct ring_fsync *fs = &req->fsync;

	if (sqe->ioprio || sqe->addr || sqe->buf_index ||
	    (sqe->rw_flags & ~RING_FSYNC_DATASYNC))
		return -EINVAL;
	if ((s64)sqe->off < 0)
		return -EINVAL;
	if (ring_req_get_file(req, sqe))
		return -EBADF;
	fs->off = sqe->off;
	fs->len = sqe->len;
	fs->datasync = sqe->rw_flags & RING_FSYNC_DATASYNC;
	return 0;
}

int ring_fsync_issue(struct ring_req *req, unsigned int issue_flags)
{
	struct ring_fsync *fs = &req->fsync;
	loff_t end;

	if (issue_flags & RING_ISSUE_NONBLOCK)
		return -EAGAIN;
	if (!fs->len || check_add_overflow(fs->off, fs->len - 1, &end))
		end = LLONG_MAX;
	return vfs_fsync_range(req->file, fs->off, end, fs->datasync);
}
