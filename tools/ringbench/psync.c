// SPDX-License-Identifier: MIT
/* The "psync" backend: one pread() at a time, the baseline of QD 1. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ringbench.h"

static int psync_run(struct bench *b, enum bench_op op)
{
	if (op != OP_READ) {
		bench_err("psync: only plain reads");
		return -EOPNOTSUPP;
	}
	bench_start(b);
	while (!bench_done(b)) {
		unsigned long long off = bench_rand_off(b);
		ssize_t res = pread(b->fd, b->bufs, b->bs, (off_t)off);

		if (res < 0 && errno == EINTR)
			continue;
		if (res != (ssize_t)b->bs)
			return bench_bad_res(b, off, res < 0 ? -errno : res);
		b->ops++;
	}
	bench_end(b);
	return 0;
}

const struct backend psync_backend = {
	.name = "psync",
	.run = psync_run,
};
