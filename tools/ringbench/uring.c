// SPDX-License-Identifier: MIT
/* The "uring" backend: io_uring through liburing, for comparison. */
#include <liburing.h>

#include "ringbench.h"

#define Q(x)		io_uring_##x
#define QRING		struct io_uring
#define Q_NAME		"uring"
#define Q_HAVE_FIXED
#include "queue.h"

const struct backend uring_backend = {
	.name = "uring",
	.run = q_run,
	.queued = true,
	.has_nop = true,
	.has_fixed = true,
};
