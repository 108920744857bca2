// SPDX-License-Identifier: MIT
/*
 * The drop-in liburing: setting up, mapping and tearing down a ring, and
 * the probe.  Rings come from the translator (translate.c), so a ring here
 * is a /dev/ring file mapped at io_uring's offsets, which ring shares.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dropin.h"

/*
 * ring refuses IORING_SETUP_SQE128 and CQE32 at setup, so SQEs and CQEs
 * here are always the 64- and 16-byte ones.
 */
static size_t sqes_size(const struct ring *ring)
{
	return ring->sq.ring_entries * sizeof(struct ring_sqe);
}

static void unmap_rings(struct ring *ring)
{
	if (ring->cq.ring_ptr && ring->cq.ring_ptr != ring->sq.ring_ptr)
		munmap(ring->cq.ring_ptr, ring->cq.ring_sz);
	if (ring->sq.ring_ptr)
		munmap(ring->sq.ring_ptr, ring->sq.ring_sz);
	ring->sq.ring_ptr = ring->cq.ring_ptr = NULL;
}

static void *map(int fd, size_t len, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

#define AT(base, off)	((void *)((char *)(base) + (off)))

static void point_sq(struct ring_sq *sq, const struct ring_params *p)
{
	sq->khead = AT(sq->ring_ptr, p->sq_off.head);
	sq->ktail = AT(sq->ring_ptr, p->sq_off.tail);
	sq->kring_mask = AT(sq->ring_ptr, p->sq_off.ring_mask);
	sq->kring_entries = AT(sq->ring_ptr, p->sq_off.ring_entries);
	sq->kflags = AT(sq->ring_ptr, p->sq_off.flags);
	sq->kdropped = AT(sq->ring_ptr, p->sq_off.dropped);
	sq->array = AT(sq->ring_ptr, p->sq_off.array);
	sq->ring_mask = *sq->kring_mask;
	sq->ring_entries = *sq->kring_entries;
}

static void point_cq(struct ring_cq *cq, const struct ring_params *p)
{
	cq->khead = AT(cq->ring_ptr, p->cq_off.head);
	cq->ktail = AT(cq->ring_ptr, p->cq_off.tail);
	cq->kring_mask = AT(cq->ring_ptr, p->cq_off.ring_mask);
	cq->kring_entries = AT(cq->ring_ptr, p->cq_off.ring_entries);
	cq->koverflow = AT(cq->ring_ptr, p->cq_off.overflow);
	cq->cqes = AT(cq->ring_ptr, p->cq_off.cqes);
	/* Offset 0: a kernel without a CQ flags word, as liburing reads it. */
	cq->kflags = p->cq_off.flags ? AT(cq->ring_ptr, p->cq_off.flags) : NULL;
	cq->ring_mask = *cq->kring_mask;
	cq->ring_entries = *cq->kring_entries;
}

/* Maps the rings (one mapping with SINGLE_MMAP) and the SQEs: 0 or -errno. */
static int map_rings(int fd, const struct ring_params *p, struct ring *ring)
{
	struct ring_sq *sq = &ring->sq;
	struct ring_cq *cq = &ring->cq;

	sq->ring_sz = p->sq_off.array + p->sq_entries * sizeof(unsigned);
	cq->ring_sz = p->cq_off.cqes + p->cq_entries * sizeof(struct ring_cqe);
	if (p->features & RING_FEAT_SINGLE_MMAP) {
		if (cq->ring_sz > sq->ring_sz)
			sq->ring_sz = cq->ring_sz;
		cq->ring_sz = sq->ring_sz;
	}
	sq->ring_ptr = map(fd, sq->ring_sz, RING_OFF_SQ_RING);
	if (!sq->ring_ptr)
		return -errno;
	if (p->features & RING_FEAT_SINGLE_MMAP)
		cq->ring_ptr = sq->ring_ptr;
	else
		cq->ring_ptr = map(fd, cq->ring_sz, RING_OFF_CQ_RING);
	if (cq->ring_ptr)
		sq->sqes = map(fd, p->sq_entries * sizeof(struct ring_sqe),
			       RING_OFF_SQES);
	if (!cq->ring_ptr || !sq->sqes) {
		int err = -errno;

		unmap_rings(ring);
		return err;
	}
	point_sq(sq, p);
	point_cq(cq, p);
	return 0;
}

int io_uring_queue_mmap(int fd, struct ring_params *p, struct ring *ring)
{
	unsigned i;
	int ret;

	memset(ring, 0, sizeof(*ring));
	ret = map_rings(fd, p, ring);
	if (ret)
		return ret;
	/*
	 * Slot i of the SQ array names SQE i for good: publishing SQEs is
	 * then only a tail update (lu_flush_sq), as the inline helpers
	 * compiled into applications expect.
	 */
	for (i = 0; i < ring->sq.ring_entries; i++)
		ring->sq.array[i] = i;
	ring->flags = p->flags;
	ring->features = p->features;
	ring->ring_fd = ring->enter_ring_fd = fd;
	return 0;
}

int io_uring_queue_init_params(unsigned entries, struct ring *ring,
			       struct ring_params *p)
{
	int fd, ret;

	fd = xl_setup(entries, p);
	if (fd < 0)
		return fd;
	ret = io_uring_queue_mmap(fd, p, ring);
	if (ret)
		close(fd);
	return ret;
}

int io_uring_queue_init(unsigned entries, struct ring *ring,
			unsigned flags)
{
	struct ring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	return io_uring_queue_init_params(entries, ring, &p);
}

void io_uring_queue_exit(struct ring *ring)
{
	munmap(ring->sq.sqes, sqes_size(ring));
	unmap_rings(ring);
	/* Free the registered slot now rather than at thread exit. */
	if (ring->int_flags & LU_INT_FLAG_REG_RING)
		io_uring_unregister_ring_fd(ring);
	close(ring->ring_fd);
}

int io_uring_ring_dontfork(struct ring *ring)
{
	if (!ring->sq.ring_ptr || !ring->sq.sqes || !ring->cq.ring_ptr)
		return -EINVAL;
	if (madvise(ring->sq.sqes, sqes_size(ring), MADV_DONTFORK) ||
	    madvise(ring->sq.ring_ptr, ring->sq.ring_sz, MADV_DONTFORK))
		return -errno;
	if (ring->cq.ring_ptr != ring->sq.ring_ptr &&
	    madvise(ring->cq.ring_ptr, ring->cq.ring_sz, MADV_DONTFORK))
		return -errno;
	return 0;
}

/* Room for every opcode number an SQE can carry. */
#define PROBE_OPS	256

struct ring_probe *io_uring_get_probe_ring(struct ring *ring)
{
	struct ring_probe *probe;

	probe = calloc(1, sizeof(*probe) +
			  PROBE_OPS * sizeof(struct ring_probe_op));
	if (!probe)
		return NULL;
	if (io_uring_register_probe(ring, probe, PROBE_OPS) < 0) {
		free(probe);
		return NULL;
	}
	return probe;
}

struct ring_probe *io_uring_get_probe(void)
{
	struct ring_probe *probe;
	struct ring ring;

	if (io_uring_queue_init(2, &ring, 0) < 0)
		return NULL;
	probe = io_uring_get_probe_ring(&ring);
	io_uring_queue_exit(&ring);
	return probe;
}

void io_uring_free_probe(struct ring_probe *probe)
{
	free(probe);
}

/*
 * ring charges no ring memory to RLIMIT_MEMLOCK (as io_uring since 5.12,
 * for which liburing returns 0 too): none is needed, whatever the sizes.
 */
ssize_t io_uring_mlock_size_params(unsigned entries, struct ring_params *p)
{
	return 0;
}

ssize_t io_uring_mlock_size(unsigned entries, unsigned flags)
{
	return 0;
}
