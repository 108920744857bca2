// SPDX-License-Identifier: MIT
/*
 * ring-nop: the smallest complete libring program, installed as an example.
 * It sets up a ring on /dev/ring (or $RING_DEV), submits a batch of NOPs
 * tagged with their index, checks that every CQE comes back with res 0 and
 * a tag it sent, and prints what the kernel reported at setup.
 *
 *   cc -o ring-nop ring-nop.c $(pkg-config --cflags --libs libring)
 *   ./ring-nop [COUNT]        exit 0: all NOPs completed; 1: an error
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libring.h>

int main(int argc, char **argv)
{
	unsigned count = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 8;
	struct ring_params p;
	struct ring ring;
	unsigned long seen = 0;
	unsigned i;
	int ret;

	if (count == 0 || count > RING_MAX_ENTRIES) {
		fprintf(stderr, "ring-nop: COUNT must be 1..%u\n", RING_MAX_ENTRIES);
		return 1;
	}
	memset(&p, 0, sizeof(p));
	ret = ring_queue_init_params(count, &ring, &p);
	if (ret < 0) {
		fprintf(stderr, "ring-nop: ring_queue_init_params: %s\n",
			strerror(-ret));
		return 1;
	}
	printf("ring-nop: sq_entries %u cq_entries %u features 0x%x\n",
	       p.sq_entries, p.cq_entries, p.features);

	for (i = 0; i < count; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&ring);

		ring_prep_nop(sqe);
		ring_sqe_set_data64(sqe, i);
	}
	ret = ring_submit_and_wait(&ring, count);
	if (ret != (int)count) {
		fprintf(stderr, "ring-nop: submitted %d of %u: %s\n", ret, count,
			ret < 0 ? strerror(-ret) : "short");
		ring_queue_exit(&ring);
		return 1;
	}
	while (seen < count) {
		struct ring_cqe *cqe;
		__u64 tag;

		ret = ring_wait_cqe(&ring, &cqe);
		if (ret < 0) {
			fprintf(stderr, "ring-nop: ring_wait_cqe: %s\n",
				strerror(-ret));
			break;
		}
		tag = ring_cqe_get_data64(cqe);
		if (cqe->res != 0 || tag >= count) {
			fprintf(stderr, "ring-nop: bad CQE: res %d tag %llu\n",
				cqe->res, (unsigned long long)tag);
			ret = -1;
			break;
		}
		ring_cqe_seen(&ring, cqe);
		seen++;
	}
	ring_queue_exit(&ring);
	if (ret < 0)
		return 1;
	printf("ring-nop: %lu NOPs completed\n", seen);
	return 0;
}
