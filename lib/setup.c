// SPDX-License-Identifier: MIT
/*
 * Ring setup and teardown: open the device, RING_IOC_SETUP, map the rings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libring.h>

static void unmap_rings(struct ring *ring)
{
	if (ring->cq.ring_ptr && ring->cq.ring_ptr != ring->sq.ring_ptr)
		munmap(ring->cq.ring_ptr, ring->cq.ring_sz);
	if (ring->sq.ring_ptr)
		munmap(ring->sq.ring_ptr, ring->sq.ring_sz);
	ring->sq.ring_ptr = NULL;
	ring->cq.ring_ptr = NULL;
}

static void *map_region(int fd, size_t size, __u64 offset)
{
	return mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fd, (off_t)offset);
}

/* Maps the SQ ring, the CQ ring (unless shared) and the SQE array. */
static int map_rings(int fd, const struct ring_params *p, struct ring *ring)
{
	struct ring_sq *sq = &ring->sq;
	struct ring_cq *cq = &ring->cq;
	size_t sqes_sz = p->sq_entries * sizeof(struct ring_sqe);
	void *sqes;

	sq->ring_sz = p->sq_off.array + p->sq_entries * sizeof(unsigned);
	cq->ring_sz = p->cq_off.cqes + p->cq_entries * sizeof(struct ring_cqe);
	if (p->features & RING_FEAT_SINGLE_MMAP) {
		if (cq->ring_sz > sq->ring_sz)
			sq->ring_sz = cq->ring_sz;
		cq->ring_sz = sq->ring_sz;
	}

	sq->ring_ptr = map_region(fd, sq->ring_sz, RING_OFF_SQ_RING);
	if (sq->ring_ptr == MAP_FAILED) {
		sq->ring_ptr = NULL;
		return -errno;
	}
	if (p->features & RING_FEAT_SINGLE_MMAP) {
		cq->ring_ptr = sq->ring_ptr;
	} else {
		cq->ring_ptr = map_region(fd, cq->ring_sz, RING_OFF_CQ_RING);
		if (cq->ring_ptr == MAP_FAILED) {
			int err = -errno;

			cq->ring_ptr = NULL;
			unmap_rings(ring);
			return err;
		}
	}

	sqes = map_region(fd, sqes_sz, RING_OFF_SQES);
	if (sqes == MAP_FAILED) {
		int err = -errno;

		unmap_rings(ring);
		return err;
	}

	sq->khead = (unsigned *)((char *)sq->ring_ptr + p->sq_off.head);
	sq->ktail = (unsigned *)((char *)sq->ring_ptr + p->sq_off.tail);
	sq->kring_mask = (unsigned *)((char *)sq->ring_ptr + p->sq_off.ring_mask);
	sq->kring_entries = (unsigned *)((char *)sq->ring_ptr +
					 p->sq_off.ring_entries);
	sq->kflags = (unsigned *)((char *)sq->ring_ptr + p->sq_off.flags);
	sq->kdropped = (unsigned *)((char *)sq->ring_ptr + p->sq_off.dropped);
	sq->array = (unsigned *)((char *)sq->ring_ptr + p->sq_off.array);
	sq->sqes = sqes;
	sq->ring_mask = *sq->kring_mask;
	sq->ring_entries = *sq->kring_entries;
	/* Start where the kernel is; nothing is pending yet. */
	sq->sqe_head = sq->sqe_tail = *sq->ktail;

	cq->khead = (unsigned *)((char *)cq->ring_ptr + p->cq_off.head);
	cq->ktail = (unsigned *)((char *)cq->ring_ptr + p->cq_off.tail);
	cq->kring_mask = (unsigned *)((char *)cq->ring_ptr + p->cq_off.ring_mask);
	cq->kring_entries = (unsigned *)((char *)cq->ring_ptr +
					 p->cq_off.ring_entries);
	cq->koverflow = (unsigned *)((char *)cq->ring_ptr + p->cq_off.overflow);
	cq->cqes = (struct ring_cqe *)((char *)cq->ring_ptr + p->cq_off.cqes);
	/* As in liburing: offset 0 means the kernel has no CQ flags word. */
	cq->kflags = p->cq_off.flags ?
		     (unsigned *)((char *)cq->ring_ptr + p->cq_off.flags) : NULL;
	cq->ring_mask = *cq->kring_mask;
	cq->ring_entries = *cq->kring_entries;
	return 0;
}

int ring_queue_init_params(unsigned entries, struct ring *ring,
			   struct ring_params *p)
{
	const char *dev = getenv("RING_DEV");
	int fd, err;

	memset(ring, 0, sizeof(*ring));
	ring->ring_fd = ring->enter_ring_fd = -1;

	fd = open(dev && *dev ? dev : RING_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	p->sq_entries = entries;
	if (ioctl(fd, RING_IOC_SETUP, p) < 0) {
		err = -errno;
		goto out_close;
	}

	err = map_rings(fd, p, ring);
	if (err)
		goto out_close;

	ring->flags = p->flags;
	ring->features = p->features;
	ring->ring_fd = ring->enter_ring_fd = fd;
	return 0;

out_close:
	close(fd);
	return err;
}

int ring_queue_init(unsigned entries, struct ring *ring, unsigned flags)
{
	struct ring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	return ring_queue_init_params(entries, ring, &p);
}

void ring_queue_exit(struct ring *ring)
{
	munmap(ring->sq.sqes, ring->sq.ring_entries * sizeof(struct ring_sqe));
	unmap_rings(ring);
	close(ring->ring_fd);
	ring->ring_fd = ring->enter_ring_fd = -1;
}
