// SPDX-License-Identifier: GPL-2.0
/*
 * The opcode table: adding an opcode is one entry here plus one file.
 */
#include <linux/kernel.h>
#include <linux/poll.h>

#include "opdef.h"

#define RING_POLL_READ	(EPOLLIN | EPOLLRDNORM)
#define RING_POLL_WRITE	(EPOLLOUT | EPOLLWRNORM)

const struct ring_opdef ring_opdefs[RING_OP_LAST] = {
	[RING_OP_NOP] = {
		.name		= "NOP",
		.iopoll		= true,
		.prep		= ring_nop_prep,
		.issue		= ring_nop_issue,
	},
	[RING_OP_READV] = {
		.name		= "READV",
		.iopoll		= true,
		.prep		= ring_rw_prep,
		.issue		= ring_rw_issue,
		.cleanup	= ring_rw_cleanup,
		.poll_events	= RING_POLL_READ,
	},
	[RING_OP_WRITEV] = {
		.name		= "WRITEV",
		.iopoll		= true,
		.prep		= ring_rw_prep,
		.issue		= ring_rw_issue,
		.cleanup	= ring_rw_cleanup,
		.poll_events	= RING_POLL_WRITE,
	},
	[RING_OP_FSYNC] = {
		.name		= "FSYNC",
		.prep		= ring_fsync_prep,
		.issue		= ring_fsync_issue,
	},
	[RING_OP_READ_FIXED] = {
		.name		= "READ_FIXED",
		.iopoll		= true,
		.prep		= ring_rw_prep,
		.issue		= ring_rw_issue,
		.cleanup	= ring_rw_cleanup,
		.poll_events	= RING_POLL_READ,
	},
	[RING_OP_WRITE_FIXED] = {
		.name		= "WRITE_FIXED",
		.iopoll		= true,
		.prep		= ring_rw_prep,
		.issue		= ring_rw_issue,
		.cleanup	= ring_rw_cleanup,
		.poll_events	= RING_POLL_WRITE,
	},
	[RING_OP_READ] = {
		.name		= "READ",
		.iopoll		= true,
		.prep		= ring_rw_prep,
		.issue		= ring_rw_issue,
		.cleanup	= ring_rw_cleanup,
		.poll_events	= RING_POLL_READ,
	},
	[RING_OP_WRITE] = {
		.name		= "WRITE",
		.iopoll		= true,
		.prep		= ring_rw_prep,
		.issue		= ring_rw_issue,
		.cleanup	= ring_rw_cleanup,
		.poll_events	= RING_POLL_WRITE,
	},
};
