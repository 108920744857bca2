// SPDX-License-Identifier: MIT
/*
 * The drop-in liburing: io_uring_register(2) wrappers.  Every one passes
 * io_uring's opcode and argument to the translator, which knows what ring
 * implements; the rest (eventfd, personality, io-wq affinity,
 * provided-buffer rings, sync cancel, file allocation ranges) fail there
 * as on a kernel without the feature, so nothing here pretends.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>

#include "dropin.h"

static int reg(struct ring *ring, unsigned opcode, const void *arg,
	       unsigned nr_args)
{
	return xl_register(ring->ring_fd, opcode, (void *)arg, nr_args);
}

/* For the calls whose man page says 0 on success, not the kernel's count. */
static int reg0(struct ring *ring, unsigned opcode, const void *arg,
		unsigned nr_args)
{
	int ret = reg(ring, opcode, arg, nr_args);

	return ret < 0 ? ret : 0;
}

int io_uring_register_buffers(struct ring *ring, const struct iovec *iovecs,
			      unsigned nr_iovecs)
{
	return reg0(ring, LU_REGISTER_BUFFERS, iovecs, nr_iovecs);
}

int io_uring_unregister_buffers(struct ring *ring)
{
	return reg0(ring, LU_UNREGISTER_BUFFERS, NULL, 0);
}

static int buffers2(struct ring *ring, unsigned nr, unsigned flags,
		    const struct iovec *iovecs, const __u64 *tags)
{
	struct ring_rsrc_register rr = {
		.nr	= nr,
		.flags	= flags,
		.data	= (uintptr_t)iovecs,
		.tags	= (uintptr_t)tags,
	};

	return reg(ring, LU_REGISTER_BUFFERS2, &rr, sizeof(rr));
}

int io_uring_register_buffers_tags(struct ring *ring,
				   const struct iovec *iovecs,
				   const __u64 *tags, unsigned nr)
{
	return buffers2(ring, nr, 0, iovecs, tags);
}

int io_uring_register_buffers_sparse(struct ring *ring, unsigned nr)
{
	return buffers2(ring, nr, RING_RSRC_REGISTER_SPARSE, NULL, NULL);
}

int io_uring_register_buffers_update_tag(struct ring *ring, unsigned off,
					 const struct iovec *iovecs,
					 const __u64 *tags, unsigned nr)
{
	struct ring_rsrc_update2 up = {
		.offset	= off,
		.data	= (uintptr_t)iovecs,
		.tags	= (uintptr_t)tags,
		.nr	= nr,
	};

	return reg(ring, LU_REGISTER_BUFFERS_UPDATE, &up, sizeof(up));
}

/*
 * As liburing 2.3: a table larger than RLIMIT_NOFILE (-EMFILE) is tried
 * once more with the soft limit raised by that many, within the hard one.
 */
static void increase_rlimit_nofile(unsigned nr)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < nr) {
		rl.rlim_cur += nr;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* io_uring_rsrc_register and _update2 have the same layout for files. */
int io_uring_register_files(struct ring *ring, const int *files,
			    unsigned nr_files)
{
	int ret = reg(ring, LU_REGISTER_FILES, files, nr_files);

	if (ret == -EMFILE) {
		increase_rlimit_nofile(nr_files);
		ret = reg(ring, LU_REGISTER_FILES, files, nr_files);
	}
	return ret;
}

int io_uring_register_files_tags(struct ring *ring, const int *files,
				 const __u64 *tags, unsigned nr)
{
	struct ring_rsrc_register rr = {
		.nr	= nr,
		.data	= (uintptr_t)files,
		.tags	= (uintptr_t)tags,
	};
	int ret = reg(ring, LU_REGISTER_FILES2, &rr, sizeof(rr));

	if (ret == -EMFILE) {
		increase_rlimit_nofile(nr);
		ret = reg(ring, LU_REGISTER_FILES2, &rr, sizeof(rr));
	}
	return ret;
}

int io_uring_register_files_sparse(struct ring *ring, unsigned nr)
{
	struct ring_rsrc_register rr = {
		.nr	= nr,
		.flags	= RING_RSRC_REGISTER_SPARSE,
	};

	return reg(ring, LU_REGISTER_FILES2, &rr, sizeof(rr));
}

int io_uring_register_files_update_tag(struct ring *ring, unsigned off,
				       const int *files, const __u64 *tags,
				       unsigned nr_files)
{
	struct ring_rsrc_update2 up = {
		.offset	= off,
		.data	= (uintptr_t)files,
		.tags	= (uintptr_t)tags,
		.nr	= nr_files,
	};

	return reg(ring, LU_REGISTER_FILES_UPDATE2, &up, sizeof(up));
}

int io_uring_unregister_files(struct ring *ring)
{
	return reg0(ring, LU_UNREGISTER_FILES, NULL, 0);
}

int io_uring_register_files_update(struct ring *ring, unsigned off,
				   const int *files, unsigned nr_files)
{
	/* struct io_uring_files_update: offset, resv, fds. */
	struct lu_rsrc_update up = {
		.offset	= off,
		.data	= (uintptr_t)files,
	};

	return reg(ring, LU_REGISTER_FILES_UPDATE, &up, nr_files);
}

/* ---- what ring does not have: refused by the translator -------------- */

int io_uring_register_eventfd(struct ring *ring, int fd)
{
	return reg0(ring, LU_REGISTER_EVENTFD, &fd, 1);
}

int io_uring_register_eventfd_async(struct ring *ring, int fd)
{
	return reg0(ring, LU_REGISTER_EVENTFD_ASYNC, &fd, 1);
}

int io_uring_unregister_eventfd(struct ring *ring)
{
	return reg0(ring, LU_UNREGISTER_EVENTFD, NULL, 0);
}

int io_uring_register_personality(struct ring *ring)
{
	return reg(ring, LU_REGISTER_PERSONALITY, NULL, 0);
}

int io_uring_unregister_personality(struct ring *ring, int id)
{
	return reg(ring, LU_UNREGISTER_PERSONALITY, NULL, (unsigned)id);
}

int io_uring_register_iowq_aff(struct ring *ring, size_t cpusz,
			       const cpu_set_t *mask)
{
	/* nr_args is an int in the kernel. */
	if (cpusz >= (1U << 31))
		return -EINVAL;
	return reg(ring, LU_REGISTER_IOWQ_AFF, mask, (unsigned)cpusz);
}

int io_uring_unregister_iowq_aff(struct ring *ring)
{
	return reg(ring, LU_UNREGISTER_IOWQ_AFF, NULL, 0);
}

int io_uring_register_buf_ring(struct ring *ring, struct lu_buf_reg *br,
			       unsigned int flags)
{
	return reg(ring, LU_REGISTER_PBUF_RING, br, 1);
}

int io_uring_unregister_buf_ring(struct ring *ring, int bgid)
{
	struct lu_buf_reg br = { .bgid = (__u16)bgid };

	return reg(ring, LU_UNREGISTER_PBUF_RING, &br, 1);
}

int io_uring_register_sync_cancel(struct ring *ring, void *sc)
{
	return reg(ring, LU_REGISTER_SYNC_CANCEL, sc, 1);
}

int io_uring_register_file_alloc_range(struct ring *ring, unsigned off,
				       unsigned len)
{
	struct lu_file_index_range range = { .off = off, .len = len };

	return reg(ring, LU_REGISTER_FILE_ALLOC_RANGE, &range, 0);
}

/* ---- what ring has ------------------------------------------------------ */

int io_uring_register_probe(struct ring *ring, struct ring_probe *p,
			    unsigned nr)
{
	return reg0(ring, LU_REGISTER_PROBE, p, nr);
}

int io_uring_register_iowq_max_workers(struct ring *ring,
				       unsigned int *values)
{
	return reg(ring, LU_REGISTER_IOWQ_MAX_WORKERS, values, 2);
}

/*
 * The ring fd in this thread's registered-ring table (the translator's):
 * enter_ring_fd becomes its index.  1 on success, as io_uring counts.
 */
int io_uring_register_ring_fd(struct ring *ring)
{
	struct lu_rsrc_update up = {
		.offset	= -1U,
		.data	= (__u64)ring->ring_fd,
	};
	int ret = reg(ring, LU_REGISTER_RING_FDS, &up, 1);

	if (ret == 1) {
		ring->enter_ring_fd = (int)up.offset;
		ring->int_flags |= LU_INT_FLAG_REG_RING;
	}
	return ret;
}

int io_uring_unregister_ring_fd(struct ring *ring)
{
	struct lu_rsrc_update up = { .offset = (__u32)ring->enter_ring_fd };
	int ret;

	if (!(ring->int_flags & LU_INT_FLAG_REG_RING))
		return -EINVAL;
	ret = reg(ring, LU_UNREGISTER_RING_FDS, &up, 1);
	if (ret == 1) {
		ring->enter_ring_fd = ring->ring_fd;
		ring->int_flags &= ~LU_INT_FLAG_REG_RING;
	}
	return ret;
}
