/* SPDX-License-Identifier: MIT */
/*
 * libring: a thin liburing-style library for /dev/ring.
 *
 * The API is liburing 2.3's with io_uring_ -> ring_, struct io_uring ->
 * struct ring, IORING_ / IOSQE_ -> RING_, and the same semantics: errors are
 * negative errno values, nothing is locked internally (one thread per ring,
 * or the caller serialises), SQEs are handed out by ring_get_sqe() and made
 * visible to the kernel by ring_submit*(), CQEs are read in place and
 * released with ring_cqe_seen() / ring_cq_advance().
 *
 * Memory ordering with the kernel (all four pairs are needed, none more):
 *  - SQ tail: the app fills SQEs and the SQ array, then store-releases the
 *    SQ tail; the kernel load-acquires it before reading those entries.
 *  - SQ head: the kernel copies SQEs out, then store-releases the SQ head;
 *    the app load-acquires it before reusing those slots (ring_get_sqe).
 *  - CQ tail: the kernel writes CQEs, then store-releases the CQ tail; the
 *    app load-acquires it before reading those CQEs.
 *  - CQ head: the app reads CQEs, then store-releases the CQ head; the
 *    kernel load-acquires it before overwriting those slots.
 * Values only the app writes (CQ head, its own SQ tail copy) and only the
 * kernel writes and nobody orders against (flags, overflow) use relaxed
 * loads.  One more with RING_SETUP_SQPOLL (a kernel thread consumes the SQ
 * and advances its head at any time): the thread sets RING_SQ_NEED_WAKEUP,
 * then looks at the SQ tail before it sleeps; the app stores the tail, then
 * a full barrier, then reads the flags, so that one of the two sees the
 * other and no SQE is left behind a sleeping thread (ring_submit wakes it).
 */
#ifndef LIBRING_H
#define LIBRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/ring.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ring_sq {
	unsigned *khead;
	unsigned *ktail;
	unsigned *kring_mask;		/* deprecated as in liburing: use ring_mask */
	unsigned *kring_entries;	/* deprecated as in liburing: use ring_entries */
	unsigned *kflags;
	unsigned *kdropped;
	unsigned *array;
	struct ring_sqe *sqes;

	unsigned sqe_head;		/* first SQE not yet flushed to the ring */
	unsigned sqe_tail;		/* next SQE ring_get_sqe() hands out */

	size_t ring_sz;
	void *ring_ptr;

	unsigned ring_mask;
	unsigned ring_entries;

	unsigned pad[2];
};

struct ring_cq {
	unsigned *khead;
	unsigned *ktail;
	unsigned *kring_mask;		/* deprecated as in liburing: use ring_mask */
	unsigned *kring_entries;	/* deprecated as in liburing: use ring_entries */
	unsigned *kflags;
	unsigned *koverflow;
	struct ring_cqe *cqes;

	size_t ring_sz;
	void *ring_ptr;

	unsigned ring_mask;
	unsigned ring_entries;

	unsigned pad[2];
};

struct ring {
	struct ring_sq sq;
	struct ring_cq cq;
	unsigned flags;			/* RING_SETUP_* given at setup */
	int ring_fd;

	unsigned features;		/* RING_FEAT_* reported by the kernel */
	int enter_ring_fd;
	__u8 int_flags;
	__u8 pad[3];
	unsigned pad2;
};

/* Default device; the environment variable RING_DEV overrides it. */
#define RING_DEV_PATH		"/dev/ring"

/*
 * Library interface.
 */
int ring_queue_init_params(unsigned entries, struct ring *ring,
			   struct ring_params *p);
int ring_queue_init(unsigned entries, struct ring *ring, unsigned flags);
void ring_queue_exit(struct ring *ring);

/*
 * Submission hands the SQEs to the kernel; on an SQPOLL ring the thread
 * takes them and ENTER is made only to wake it, to wait or to flush the CQ
 * backlog.  Both return the number of SQEs handed over.
 */
int ring_submit(struct ring *ring);
int ring_submit_and_wait(struct ring *ring, unsigned wait_nr);
/* SQPOLL: wait until the thread has freed an SQ slot (else: 0 at once). */
int ring_sqring_wait(struct ring *ring);
int ring_wait_cqe_nr(struct ring *ring, struct ring_cqe **cqe_ptr,
		     unsigned wait_nr);
unsigned ring_peek_batch_cqe(struct ring *ring, struct ring_cqe **cqes,
			     unsigned count);

/* Raw ioctls: count (or 0) on success, -errno on failure. */
int ring_enter(unsigned int fd, unsigned int to_submit,
	       unsigned int min_complete, unsigned int flags);
int ring_register(unsigned int fd, unsigned int opcode, const void *arg,
		  unsigned int nr_args);

/*
 * Fixed buffers: pinned once, used by ring_prep_read_fixed/write_fixed with
 * buf_index = the slot.  Update replaces nr slots from off ({NULL, 0}
 * empties one) and returns nr; I/O in flight keeps the old pages.
 */
int ring_register_buffers(struct ring *ring, const struct iovec *iovecs,
			  unsigned nr_iovecs);
int ring_unregister_buffers(struct ring *ring);
/*
 * The most workers the ring may run at once: values[0] for regular files
 * and block devices, values[1] for other files; 0 keeps a limit.  The
 * previous limits are stored back into values[].
 */
int ring_register_iowq_max_workers(struct ring *ring, unsigned int *values);
int ring_register_buffers_update(struct ring *ring, unsigned off,
				 const struct iovec *iovecs, unsigned nr);

/*
 * Registered files: slots that SQEs name with RING_SQE_FIXED_FILE
 * (ring_sqe_set_fixed_file()) instead of a descriptor.  -1 is an empty
 * slot; in an update, RING_REGISTER_FILES_SKIP leaves one as it is.
 * Update returns how many slots it went through, stopping at the first
 * failure (its errno if it was the first slot).
 */
int ring_register_files(struct ring *ring, const int *fds, unsigned nr_files);
int ring_unregister_files(struct ring *ring);
int ring_register_files_update(struct ring *ring, unsigned off,
			       const int *fds, unsigned nr_files);

/*
 * The IOTLB bounce region: kernel pages addressed by IOVA (0..size), mapped
 * at *region by ring_register_iotlb().  ring_iotlb_map() makes a range
 * valid for the kernel with RING_IOTLB_PERM_*; with uaddr and
 * RING_IOTLB_BOUNCE_IN/OUT it is a stream mapping copied in at map / out
 * at unmap.  Use ring_prep_read_iova/write_iova for I/O on IOVAs.
 */
int ring_register_iotlb(struct ring *ring, size_t size, void **region);
int ring_unregister_iotlb(struct ring *ring, void *region, size_t size);
int ring_iotlb_map(struct ring *ring, __u64 iova, __u64 size, void *uaddr,
		   unsigned perm, unsigned flags);
int ring_iotlb_unmap(struct ring *ring, __u64 iova, __u64 size);

/*
 * Iterate over the CQEs ready now, without consuming them; call
 * ring_cq_advance(ring, n) afterwards. The acquire load of the tail orders
 * it before the CQE reads.
 */
#define ring_for_each_cqe(ring, head, cqe)				\
	for (head = __atomic_load_n((ring)->cq.khead, __ATOMIC_RELAXED);	\
	     (cqe = (head != __atomic_load_n((ring)->cq.ktail,		\
					     __ATOMIC_ACQUIRE) ?	\
		     &(ring)->cq.cqes[head & (ring)->cq.ring_mask] : NULL));	\
	     head++)

/* Release nr CQEs to the kernel (after ring_for_each_cqe / peek_batch). */
static inline void ring_cq_advance(struct ring *ring, unsigned nr)
{
	if (nr) {
		struct ring_cq *cq = &ring->cq;

		/* The kernel must not reuse the slots before we read them. */
		__atomic_store_n(cq->khead,
				 __atomic_load_n(cq->khead, __ATOMIC_RELAXED) + nr,
				 __ATOMIC_RELEASE);
	}
}

/* Release one CQE obtained by ring_peek_cqe() / ring_wait_cqe*(). */
static inline void ring_cqe_seen(struct ring *ring, struct ring_cqe *cqe)
{
	if (cqe)
		ring_cq_advance(ring, 1);
}

/*
 * Command prep helpers.
 */
static inline void ring_sqe_set_data(struct ring_sqe *sqe, void *data)
{
	sqe->user_data = (unsigned long)data;
}

static inline void *ring_cqe_get_data(const struct ring_cqe *cqe)
{
	return (void *)(uintptr_t)cqe->user_data;
}

static inline void ring_sqe_set_data64(struct ring_sqe *sqe, __u64 data)
{
	sqe->user_data = data;
}

static inline __u64 ring_cqe_get_data64(const struct ring_cqe *cqe)
{
	return cqe->user_data;
}

#define LIBRING_HAVE_DATA64

static inline void ring_sqe_set_flags(struct ring_sqe *sqe, unsigned flags)
{
	sqe->flags = (__u8)flags;
}

/* After a prep helper: its fd is slot @index of the registered files. */
static inline void ring_sqe_set_fixed_file(struct ring_sqe *sqe,
					   unsigned index)
{
	sqe->fd = (__s32)index;
	sqe->flags |= RING_SQE_FIXED_FILE;
}

/*
 * Every field except user_data is written, so a recycled SQE never carries
 * stale state into the kernel's must-be-zero checks. user_data is left to
 * ring_sqe_set_data*(), which (as in liburing) may come before or after.
 */
static inline void ring_prep_rw(int op, struct ring_sqe *sqe, int fd,
				const void *addr, unsigned len, __u64 offset)
{
	sqe->opcode = (__u8)op;
	sqe->flags = 0;
	sqe->ioprio = 0;
	sqe->fd = fd;
	sqe->off = offset;
	sqe->addr = (unsigned long)addr;
	sqe->len = len;
	sqe->rw_flags = 0;
	sqe->buf_index = 0;
	sqe->personality = 0;
	sqe->splice_fd_in = 0;
	sqe->__pad2[0] = 0;
	sqe->__pad2[1] = 0;
}

static inline void ring_prep_nop(struct ring_sqe *sqe)
{
	ring_prep_rw(RING_OP_NOP, sqe, -1, NULL, 0, 0);
}

static inline void ring_prep_read(struct ring_sqe *sqe, int fd, void *buf,
				  unsigned nbytes, __u64 offset)
{
	ring_prep_rw(RING_OP_READ, sqe, fd, buf, nbytes, offset);
}

static inline void ring_prep_write(struct ring_sqe *sqe, int fd,
				   const void *buf, unsigned nbytes,
				   __u64 offset)
{
	ring_prep_rw(RING_OP_WRITE, sqe, fd, buf, nbytes, offset);
}

static inline void ring_prep_readv(struct ring_sqe *sqe, int fd,
				   const struct iovec *iovecs,
				   unsigned nr_vecs, __u64 offset)
{
	ring_prep_rw(RING_OP_READV, sqe, fd, iovecs, nr_vecs, offset);
}

static inline void ring_prep_readv2(struct ring_sqe *sqe, int fd,
				    const struct iovec *iovecs,
				    unsigned nr_vecs, __u64 offset, int flags)
{
	ring_prep_readv(sqe, fd, iovecs, nr_vecs, offset);
	sqe->rw_flags = flags;
}

static inline void ring_prep_writev(struct ring_sqe *sqe, int fd,
				    const struct iovec *iovecs,
				    unsigned nr_vecs, __u64 offset)
{
	ring_prep_rw(RING_OP_WRITEV, sqe, fd, iovecs, nr_vecs, offset);
}

static inline void ring_prep_writev2(struct ring_sqe *sqe, int fd,
				     const struct iovec *iovecs,
				     unsigned nr_vecs, __u64 offset, int flags)
{
	ring_prep_writev(sqe, fd, iovecs, nr_vecs, offset);
	sqe->rw_flags = flags;
}

/* fsync_flags: 0 or RING_FSYNC_DATASYNC. */
static inline void ring_prep_fsync(struct ring_sqe *sqe, int fd,
				   unsigned fsync_flags)
{
	ring_prep_rw(RING_OP_FSYNC, sqe, fd, NULL, 0, 0);
	sqe->rw_flags = fsync_flags;
}

static inline void ring_prep_read_fixed(struct ring_sqe *sqe, int fd,
					void *buf, unsigned nbytes,
					__u64 offset, int buf_index)
{
	ring_prep_rw(RING_OP_READ_FIXED, sqe, fd, buf, nbytes, offset);
	sqe->buf_index = (__u16)buf_index;
}

static inline void ring_prep_write_fixed(struct ring_sqe *sqe, int fd,
					 const void *buf, unsigned nbytes,
					 __u64 offset, int buf_index)
{
	ring_prep_rw(RING_OP_WRITE_FIXED, sqe, fd, buf, nbytes, offset);
	sqe->buf_index = (__u16)buf_index;
}

/* Fixed I/O addressed by IOVA in the ring's IOTLB bounce region. */
static inline void ring_prep_read_iova(struct ring_sqe *sqe, int fd,
				       __u64 iova, unsigned nbytes,
				       __u64 offset)
{
	ring_prep_rw(RING_OP_READ_FIXED, sqe, fd, NULL, nbytes, offset);
	sqe->addr = iova;
	sqe->buf_index = RING_BUF_IOTLB;
}

static inline void ring_prep_write_iova(struct ring_sqe *sqe, int fd,
					__u64 iova, unsigned nbytes,
					__u64 offset)
{
	ring_prep_rw(RING_OP_WRITE_FIXED, sqe, fd, NULL, nbytes, offset);
	sqe->addr = iova;
	sqe->buf_index = RING_BUF_IOTLB;
}

/*
 * Queue state.
 */

/* SQEs handed out by ring_get_sqe() and not yet consumed by the kernel. */
static inline unsigned ring_sq_ready(const struct ring *ring)
{
	/*
	 * The real head: a short submit leaves entries in the ring, and an
	 * SQ thread advances it on its own (acquire: its slots are free).
	 */
	return ring->sq.sqe_tail -
	       __atomic_load_n(ring->sq.khead, __ATOMIC_ACQUIRE);
}

static inline unsigned ring_sq_space_left(const struct ring *ring)
{
	return ring->sq.ring_entries - ring_sq_ready(ring);
}

/* CQEs posted by the kernel and not yet released by the app. */
static inline unsigned ring_cq_ready(const struct ring *ring)
{
	return __atomic_load_n(ring->cq.ktail, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(ring->cq.khead, __ATOMIC_RELAXED);
}

/* Completions wait in the kernel's backlog (the CQ ring was full). */
static inline bool ring_cq_has_overflow(const struct ring *ring)
{
	return __atomic_load_n(ring->sq.kflags, __ATOMIC_RELAXED) &
	       RING_SQ_CQ_OVERFLOW;
}

/* Internal: the first ready CQE (or NULL) and how many are ready. */
static inline void __ring_peek_cqe(struct ring *ring,
				   struct ring_cqe **cqe_ptr,
				   unsigned *nr_available)
{
	unsigned tail = __atomic_load_n(ring->cq.ktail, __ATOMIC_ACQUIRE);
	unsigned head = __atomic_load_n(ring->cq.khead, __ATOMIC_RELAXED);
	unsigned available = tail - head;

	*cqe_ptr = available ? &ring->cq.cqes[head & ring->cq.ring_mask] : NULL;
	if (nr_available)
		*nr_available = available;
}

/* A CQE if one is ready (after flushing a kernel backlog), else -EAGAIN. */
static inline int ring_peek_cqe(struct ring *ring, struct ring_cqe **cqe_ptr)
{
	__ring_peek_cqe(ring, cqe_ptr, NULL);
	if (*cqe_ptr)
		return 0;
	return ring_wait_cqe_nr(ring, cqe_ptr, 0);
}

/* Wait for one CQE; 0 with *cqe_ptr set, or -errno. */
static inline int ring_wait_cqe(struct ring *ring, struct ring_cqe **cqe_ptr)
{
	__ring_peek_cqe(ring, cqe_ptr, NULL);
	if (*cqe_ptr)
		return 0;
	return ring_wait_cqe_nr(ring, cqe_ptr, 1);
}

/*
 * A vacant SQE, or NULL when the SQ ring is full. The caller fills it with
 * a ring_prep_*() helper; ring_submit() hands it to the kernel.
 */
static inline struct ring_sqe *ring_get_sqe(struct ring *ring)
{
	struct ring_sq *sq = &ring->sq;
	unsigned head = __atomic_load_n(sq->khead, __ATOMIC_ACQUIRE);
	unsigned next = sq->sqe_tail + 1;
	struct ring_sqe *sqe;

	if (next - head > sq->ring_entries)
		return NULL;
	sqe = &sq->sqes[sq->sqe_tail & sq->ring_mask];
	sq->sqe_tail = next;
	return sqe;
}

#ifdef __cplusplus
}
#endif

#endif /* LIBRING_H */
