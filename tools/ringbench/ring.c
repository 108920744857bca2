// SPDX-License-Identifier: MIT
/* The "ring" backend: /dev/ring through libring. */
#include <libring.h>

#include "ringbench.h"

#define Q(x)		ring_##x
#define QRING		struct ring
#define Q_NAME		"ring"
#define Q_HAVE_FIXED
#define Q_HAVE_IOTLB
#define Q_SETUP_SQPOLL	RING_SETUP_SQPOLL
#define Q_SETUP_IOPOLL	RING_SETUP_IOPOLL
#define Q_SQE_FIXED_FILE RING_SQE_FIXED_FILE
#include "queue.h"

const struct backend ring_backend = {
	.name = "ring",
	.run = q_run,
	.queued = true,
	.has_nop = true,
	.has_fixed = true,
	.has_iotlb = true,
};
