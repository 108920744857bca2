// SPDX-License-Identifier: MIT
/*
 * Registered resources: fixed buffers.
 */
#include <stdint.h>

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
