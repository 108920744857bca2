/* SPDX-License-Identifier: MIT */
/*
 * The queued backend, written once against liburing's API and compiled for
 * each library that has it: ring.c (libring) and uring.c (liburing) define
 *
 *   Q(x)          the library's name for liburing's io_uring_x
 *   QRING         its struct io_uring
 *   Q_NAME        the backend's name in messages
 *   Q_HAVE_FIXED  (optional) it has register_buffers and prep_read_fixed
 *   Q_HAVE_IOTLB  (optional) it has the IOTLB region and prep_read_iova
 *   Q_SETUP_SQPOLL, Q_SETUP_IOPOLL, Q_SQE_FIXED_FILE  its names for the
 *                 SQPOLL and IOPOLL setup flags and the registered-file
 *                 SQE flag
 *
 * then include this file, which defines q_run() for their struct backend.
 * Both engines thus run the very same loop, instruction for instruction but
 * for the library calls, which is what a comparison of the two wants.
 *
 * The loop (as fio's t/io_uring): prepare up to the submit batch while
 * fewer than QD are in flight; submit in one enter, which also waits for
 * the completion batch once QD are in flight; reap whatever has completed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define __always_inline_q	inline __attribute__((always_inline))

/*
 * @ff: the file is registered slot 0 (--files; with SQPOLL always: ring's
 * thread takes registered files only, io_uring's gets the same for a fair
 * comparison).  A constant in each specialised loop, so plain runs pay
 * nothing for it.
 */
static __always_inline_q int q_prep(struct bench *b, QRING *ring,
				     const enum bench_op op, const bool ff)
{
	int fd = ff ? 0 : b->fd;
	struct Q(sqe) *sqe = Q(get_sqe)(ring);
	unsigned long long off = 0;
	unsigned slot;

	/* The SQ has QD entries and never holds more than a batch. */
	if (!sqe) {
		bench_err("%s: SQ ring full", Q_NAME);
		return -EBUSY;
	}
	slot = slot_get(b);
	if (op != OP_NOP) {
		off = bench_rand_off(b);
		b->slot_off[slot] = off;
	}
	switch (op) {
	case OP_NOP:
		Q(prep_nop)(sqe);
		break;
	case OP_READ:
		Q(prep_read)(sqe, fd, b->bufs + (size_t)slot * b->bs,
			     b->bs, off);
		break;
#ifdef Q_HAVE_FIXED
	case OP_READ_FIXED:
		/* One registered buffer per slot: buf_index == slot. */
		Q(prep_read_fixed)(sqe, fd,
				   b->bufs + (size_t)slot * b->bs, b->bs, off,
				   (int)slot);
		break;
#endif
#ifdef Q_HAVE_IOTLB
	case OP_READ_IOVA:
		/* The region holds one block per slot from IOVA 0. */
		Q(prep_read_iova)(sqe, fd, (unsigned long long)slot * b->bs,
				  b->bs, off);
		break;
#endif
	default:
		return -EOPNOTSUPP;
	}
	if (ff && op != OP_NOP)
		sqe->flags |= Q_SQE_FIXED_FILE;
	Q(sqe_set_data64)(sqe, slot);
	return 0;
}

/*
 * Reap every CQE ready now. Each must name a slot in flight and carry the
 * result the op must have (0 for a NOP, the whole block for a read).
 */
static __always_inline_q int q_reap(struct bench *b, QRING *ring,
				     const enum bench_op op,
				     unsigned *inflight, bool count)
{
	int want = op == OP_NOP ? 0 : (int)b->bs;
	struct Q(cqe) *cqe;
	unsigned head, n = 0;

	Q(for_each_cqe)(ring, head, cqe) {
		unsigned long long slot = cqe->user_data;

		if (!slot_put(b, slot)) {
			bench_err("%s: CQE for user_data %llu, which is not in flight (res %d)",
				  Q_NAME, slot, cqe->res);
			return -EIO;
		}
		if (cqe->res != want)
			return bench_bad_res(b, b->slot_off[slot], cqe->res);
		n++;
	}
	Q(cq_advance)(ring, n);
	*inflight -= n;
	if (count)
		b->ops += n;
	return 0;
}

/*
 * Submit what was prepared, waiting for @wait completions.  With SQPOLL
 * the count is not checked: liburing counts the SQEs its thread has not
 * taken yet (earlier ones included, some of these perhaps not), libring
 * those it published now.
 */
static inline int q_enter(struct bench *b, QRING *ring, unsigned n,
			  unsigned wait)
{
	int ret = Q(submit_and_wait)(ring, wait);

	/* The run-time timer cut a wait that had nothing to submit. */
	if (ret == -EINTR && !n)
		ret = 0;
	if (ret < 0) {
		bench_err("%s: submit: %s", Q_NAME, strerror(-ret));
		return ret;
	}
	if (!b->sqpoll && (unsigned)ret != n) {
		bench_err("%s: short submit: %d of %u", Q_NAME, ret, n);
		return -EIO;
	}
	return 0;
}

static __always_inline_q int q_loop(struct bench *b, QRING *ring,
				     const enum bench_op op, const bool ff)
{
	unsigned inflight = 0;
	int ret = 0;

	bench_start(b);
	while (!bench_done(b)) {
		unsigned n = b->qd - inflight, wait, i;

		if (n > b->sbatch)
			n = b->sbatch;
		for (i = 0; i < n; i++) {
			ret = q_prep(b, ring, op, ff);
			if (ret)
				return ret;
		}
		inflight += n;
		wait = 0;
		if (inflight >= b->qd)
			wait = b->cbatch < inflight ? b->cbatch : inflight;
		ret = q_enter(b, ring, n, wait);
		if (!ret)
			ret = q_reap(b, ring, op, &inflight, true);
		if (ret)
			return ret;
	}
	bench_end(b);

	/* Out of the timed window: everything in flight must still be right. */
	while (inflight && !ret) {
		ret = q_enter(b, ring, 0, inflight);
		if (!ret)
			ret = q_reap(b, ring, op, &inflight, false);
	}
	return ret;
}

#ifdef Q_HAVE_FIXED
static int q_register(struct bench *b, QRING *ring)
{
	struct iovec *iov = calloc(b->qd, sizeof(*iov));
	unsigned i;
	int ret;

	if (!iov)
		return -ENOMEM;
	for (i = 0; i < b->qd; i++) {
		iov[i].iov_base = b->bufs + (size_t)i * b->bs;
		iov[i].iov_len = b->bs;
	}
	ret = Q(register_buffers)(ring, iov, b->qd);
	free(iov);
	if (ret < 0)
		bench_err("%s: register_buffers(%u x %u bytes): %s", Q_NAME,
			  b->qd, b->bs, strerror(-ret));
	return ret;
}
#endif

#ifdef Q_HAVE_IOTLB
/* A region of one block per slot, all of it mapped for the kernel to fill. */
static __always_inline_q int q_run_iotlb(struct bench *b, QRING *ring,
					  const bool ff)
{
	size_t size = ((size_t)b->qd * b->bs + 4095) & ~(size_t)4095;
	void *region;
	int ret;

	ret = Q(register_iotlb)(ring, size, &region);
	if (ret < 0) {
		bench_err("%s: register_iotlb(%zu): %s", Q_NAME, size,
			  strerror(-ret));
		return ret;
	}
	ret = Q(iotlb_map)(ring, 0, size, NULL, RING_IOTLB_PERM_WRITE, 0);
	if (ret < 0)
		bench_err("%s: iotlb_map: %s", Q_NAME, strerror(-ret));
	else
		ret = q_loop(b, ring, OP_READ_IOVA, ff);
	Q(unregister_iotlb)(ring, region, size);
	return ret;
}
#endif

/* One specialised loop per op: no per-op dispatch in the hot path. */
static __always_inline_q int q_run_op(struct bench *b, QRING *ring,
				      enum bench_op op, const bool ff)
{
	int ret;

	switch (op) {
	case OP_NOP:
		return q_loop(b, ring, OP_NOP, ff);
	case OP_READ:
		return q_loop(b, ring, OP_READ, ff);
#ifdef Q_HAVE_FIXED
	case OP_READ_FIXED:
		ret = q_register(b, ring);
		return ret ? ret : q_loop(b, ring, OP_READ_FIXED, ff);
#endif
#ifdef Q_HAVE_IOTLB
	case OP_READ_IOVA:
		return q_run_iotlb(b, ring, ff);
#endif
	default:
		bench_err("%s: operation not supported", Q_NAME);
		return -EOPNOTSUPP;
	}
}

static int q_run(struct bench *b, enum bench_op op)
{
	unsigned flags = (b->sqpoll ? Q_SETUP_SQPOLL : 0) |
			 (b->iopoll ? Q_SETUP_IOPOLL : 0);
	QRING ring;
	int ret;

	ret = Q(queue_init)(b->qd, &ring, flags);
	if (ret < 0) {
		bench_err("%s: queue_init(%u%s%s): %s", Q_NAME, b->qd,
			  b->sqpoll ? ", SQPOLL" : "", b->iopoll ? ", IOPOLL" : "",
			  strerror(-ret));
		return ret;
	}
	if (!(b->sqpoll || b->files) || op == OP_NOP) {
		ret = q_run_op(b, &ring, op, false);
	} else {
		ret = Q(register_files)(&ring, &b->fd, 1);
		if (ret < 0)
			bench_err("%s: register_files: %s", Q_NAME,
				  strerror(-ret));
		else
			ret = q_run_op(b, &ring, op, true);
	}
	Q(queue_exit)(&ring);
	return ret;
}
