// SPDX-License-Identifier: MIT
/*
 * enter-steps' io_uring side of one NOP per enter, through liburing: in a
 * file of its own, since liburing.h and libring.h cannot share one.
 */
#include <errno.h>
#include <stdlib.h>

#include <liburing.h>

#include "enter-steps.h"

struct uring_nop {
	struct io_uring ring;
	int wait;
};

void *uring_nop_init(int wait)
{
	struct uring_nop *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	if (io_uring_queue_init(64, &u->ring, 0)) {
		free(u);
		return NULL;
	}
	u->wait = wait;
	return u;
}

long uring_nop_step(void *arg)
{
	struct uring_nop *u = arg;
	struct io_uring_cqe *cqe;
	int ret;

	io_uring_prep_nop(io_uring_get_sqe(&u->ring));
	ret = u->wait ? io_uring_submit_and_wait(&u->ring, 1) :
			io_uring_submit(&u->ring);
	if (ret != 1 || io_uring_peek_cqe(&u->ring, &cqe) || cqe->res)
		return -1;
	io_uring_cqe_seen(&u->ring, cqe);
	return 0;
}

void uring_nop_exit(void *arg)
{
	struct uring_nop *u = arg;

	io_uring_queue_exit(&u->ring);
	free(u);
}
