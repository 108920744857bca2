// SPDX-License-Identifier: MIT
/* The "uring" backend: io_uring through liburing, for comparison. */
#include <liburing.h>

#include "ringbench.h"

#define Q(x)		io_uring_##x
#define QRING		struct io_uring
#define Q_NAME		"uring"
#define Q_HAVE_FIXED
#define Q_SETUP_SQPOLL	IORING_SETUP_SQPOLL
#define Q_SETUP_IOPOLL	IORING_SETUP_IOPOLL
#define Q_SQE_FIXED_FILE IOSQE_FIXED_FILE
#include "queue.h"

const struct backend uring_backend = {
	.name = "uring",
	.run = q_run,
	.queued = true,
	.has_nop = true,
	.has_fixed = true,
};
