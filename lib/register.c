// SPDX-License-Identifier: MIT
/*
 * Registered resources: fixed buffers, files and the IOTLB bounce region.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include <libring.h>

int ring_register_buffers(struct ring *ring, const struct iovec *iovecs,
			  unsigned nr_iovecs)
{
	return ring_register(ring->ring_fd, RING_REGISTER_BUFFERS, iovecs,
			     nr_iovecs);
}

int ring_unregister_buffers(struct ring *ring)
{
	return ring_register(ring->ring_fd, RING_UNREGISTER_BUFFERS, NULL, 0);
}

int ring_register_buffers_update(struct ring *ring, unsigned off,
				 const struct iovec *iovecs, unsigned nr)
{
	struct ring_buf_update up = {
		.offset	= off,
		.iovecs	= (uintptr_t)iovecs,
	};

	return ring_register(ring->ring_fd, RING_REGISTER_BUFFERS_UPDATE, &up,
			     nr);
}

int ring_register_files(struct ring *ring, const int *fds, unsigned nr_files)
{
	struct ring_rsrc_register rr = {
		.nr	= nr_files,
		.data	= (uintptr_t)fds,
	};

	return ring_register(ring->ring_fd, RING_REGISTER_FILES2, &rr,
			     sizeof(rr));
}

int ring_unregister_files(struct ring *ring)
{
	return ring_register(ring->ring_fd, RING_UNREGISTER_FILES, NULL, 0);
}

int ring_register_files_update(struct ring *ring, unsigned off,
			       const int *fds, unsigned nr_files)
{
	struct ring_rsrc_update2 up = {
		.offset	= off,
		.data	= (uintptr_t)fds,
		.nr	= nr_files,
	};

	return ring_register(ring->ring_fd, RING_REGISTER_FILES_UPDATE2, &up,
			     sizeof(up));
}

int ring_register_iowq_max_workers(struct ring *ring, unsigned int *values)
{
	return ring_register(ring->ring_fd, RING_REGISTER_IOWQ_MAX_WORKERS,
			     values, 2);
}

/*
 * The IOTLB bounce region: registered and mapped in one go; *region is the
 * mapping of IOVA 0 to @size.  Unregistering unmaps it too.
 */
int ring_register_iotlb(struct ring *ring, size_t size, void **region)
{
	struct ring_iotlb_reg reg = { .size = size };
	void *map;
	int ret;

	ret = ring_register(ring->ring_fd, RING_REGISTER_IOTLB, &reg, 0);
	if (ret < 0)
		return ret;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   ring->ring_fd, RING_OFF_IOTLB);
	if (map == MAP_FAILED) {
		ret = -errno;
		ring_register(ring->ring_fd, RING_UNREGISTER_IOTLB, NULL, 0);
		return ret;
	}
	*region = map;
	return 0;
}

int ring_unregister_iotlb(struct ring *ring, void *region, size_t size)
{
	if (region)
		munmap(region, size);
	return ring_register(ring->ring_fd, RING_UNREGISTER_IOTLB, NULL, 0);
}

int ring_iotlb_map(struct ring *ring, __u64 iova, __u64 size, void *uaddr,
		   unsigned perm, unsigned flags)
{
	struct ring_iotlb_map m = {
		.iova	= iova,
		.size	= size,
		.uaddr	= (uintptr_t)uaddr,
		.perm	= perm,
		.flags	= flags,
	};

	return ring_register(ring->ring_fd, RING_IOTLB_MAP, &m, 0);
}

int ring_iotlb_unmap(struct ring *ring, __u64 iova, __u64 size)
{
	struct ring_iotlb_map m = { .iova = iova, .size = size };

	return ring_register(ring->ring_fd, RING_IOTLB_UNMAP, &m, 0);
}
