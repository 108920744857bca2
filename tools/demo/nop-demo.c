// SPDX-License-Identifier: MIT
/*
 * nop-demo: a NOP round trip through /dev/ring, then NOPs in batches for a
 * few seconds, printing operations per second.  The README's demo; the
 * benchmark proper is separate.
 *
 *   nop-demo [-b BATCH] [-t SECONDS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libring.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Submit one NOP and check its CQE comes back with our user_data. */
static int round_trip(struct ring *ring)
{
	struct ring_sqe *sqe = ring_get_sqe(ring);
	struct ring_cqe *cqe;
	int ret;

	ring_prep_nop(sqe);
	ring_sqe_set_data64(sqe, 0x5eed);
	ret = ring_submit_and_wait(ring, 1);
	if (ret < 0)
		return ret;
	ret = ring_peek_cqe(ring, &cqe);
	if (ret < 0)
		return ret;
	if (cqe->user_data != 0x5eed || cqe->res != 0) {
		fprintf(stderr, "nop-demo: bad CQE: user_data %#llx res %d\n",
			(unsigned long long)cqe->user_data, cqe->res);
		return -EIO;
	}
	ring_cqe_seen(ring, cqe);
	return 0;
}

/* NOPs in batches of @batch for @seconds; returns ops/s or -errno. */
static double nop_rate(struct ring *ring, unsigned batch, double seconds)
{
	unsigned long long ops = 0;
	double start = now(), elapsed;

	do {
		struct ring_cqe *cqe;
		unsigned i, head, seen = 0;
		int ret;

		for (i = 0; i < batch; i++)
			ring_prep_nop(ring_get_sqe(ring));
		ret = ring_submit_and_wait(ring, batch);
		if (ret < 0)
			return ret;
		ring_for_each_cqe(ring, head, cqe) {
			if (cqe->res)
				return cqe->res;
			seen++;
		}
		ring_cq_advance(ring, seen);
		ops += seen;
		elapsed = now() - start;
	} while (elapsed < seconds);
	return ops / elapsed;
}

int main(int argc, char **argv)
{
	unsigned batch = 32;
	double seconds = 3, rate;
	struct ring ring;
	int opt, ret;

	while ((opt = getopt(argc, argv, "b:t:")) != -1) {
		switch (opt) {
		case 'b':
			batch = strtoul(optarg, NULL, 0);
			break;
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "usage: %s [-b BATCH] [-t SECONDS]\n",
				argv[0]);
			return 2;
		}
	}
	if (!batch || batch > 4096) {
		fprintf(stderr, "nop-demo: batch must be 1..4096\n");
		return 2;
	}

	ret = ring_queue_init(batch, &ring, 0);
	if (ret < 0) {
		fprintf(stderr, "nop-demo: ring_queue_init: %s\n", strerror(-ret));
		return 1;
	}
	ret = round_trip(&ring);
	if (ret < 0) {
		fprintf(stderr, "nop-demo: round trip: %s\n", strerror(-ret));
		return 1;
	}
	printf("NOP round trip: ok\n");

	rate = nop_rate(&ring, batch, seconds);
	if (rate < 0) {
		fprintf(stderr, "nop-demo: %s\n", strerror((int)-rate));
		return 1;
	}
	printf("NOP, batch %u: %.0f ops/s over %.1f s\n", batch, rate, seconds);
	ring_queue_exit(&ring);
	return 0;
}
