// SPDX-License-Identifier: GPL-2.0
/*
 * RING_OP_NOP: completes at once with 0.  Useful to applications for
 * wake-ups and to us for measuring the ring's own overhead.
 */
#include "opdef.h"

int ring_nop_prep(struct ring_req *req, const struct ring_sqe *sqe)
{
	/*
	 * fd is ignored: liburing-style prep helpers set it to -1.  So is
	 * RING_SQE_FIXED_FILE, as io_uring's NOP, which takes no file.
	 */
	if (sqe->ioprio || sqe->off || sqe->addr || sqe->len ||
	    sqe->rw_flags || sqe->buf_index)
		return -EINVAL;
	return 0;
}

int ring_nop_issue(struct ring_req *req, unsigned int issue_flags)
{
	return 0;
}
