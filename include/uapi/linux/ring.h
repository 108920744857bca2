/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * /dev/ring: io_uring-style asynchronous I/O through a character device.
 *
 * This header is the whole user-space contract (Documentation/uapi.md).
 * The shared-memory layout, opcode numbers and flag values equal io_uring's
 * so that the model, and most of the code written against it, carries over.
 * Names and numbers here never change; new ones may be added.
 */
#ifndef _UAPI_LINUX_RING_H
#define _UAPI_LINUX_RING_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Submission queue entry: field for field struct io_uring_sqe. */
struct ring_sqe {
	__u8	opcode;		/* RING_OP_* */
	__u8	flags;		/* RING_SQE_* */
	__u16	ioprio;
	__s32	fd;
	__u64	off;		/* file offset; RING_OFF_CURRENT = file position */
	__u64	addr;		/* buffer, iovec array or IOVA */
	__u32	len;		/* bytes, or number of iovecs */
	__u32	rw_flags;	/* RWF_* for reads and writes, RING_FSYNC_* */
	__u64	user_data;	/* echoed in the CQE */
	__u16	buf_index;	/* fixed buffer slot, or RING_BUF_IOTLB */
	__u16	personality;	/* must be 0 */
	__s32	splice_fd_in;	/* must be 0 */
	__u64	__pad2[2];	/* must be 0 */
};

/* Completion queue entry: struct io_uring_cqe. */
struct ring_cqe {
	__u64	user_data;
	__s32	res;		/* result, or negative errno */
	__u32	flags;
};

/* Byte offsets of the SQ ring fields inside the RING_OFF_SQ_RING mapping. */
struct ring_sqring_offsets {
	__u32	head;
	__u32	tail;
	__u32	ring_mask;
	__u32	ring_entries;
	__u32	flags;
	__u32	dropped;
	__u32	array;
	__u32	resv1;
	__u64	resv2;
};

/* Byte offsets of the CQ ring fields inside the RING_OFF_CQ_RING mapping. */
struct ring_cqring_offsets {
	__u32	head;
	__u32	tail;
	__u32	ring_mask;
	__u32	ring_entries;
	__u32	overflow;
	__u32	cqes;
	__u32	flags;
	__u32	resv1;
	__u64	resv2;
};

/* Argument of RING_IOC_SETUP, laid out like struct io_uring_params. */
struct ring_params {
	__u32	sq_entries;	/* in: 1..RING_MAX_ENTRIES; out: rounded */
	__u32	cq_entries;	/* in with RING_SETUP_CQSIZE; out: actual */
	__u32	flags;		/* in: RING_SETUP_* */
	__u32	sq_thread_cpu;	/* RING_SETUP_SQ_AFF: its CPU; else 0 */
	__u32	sq_thread_idle;	/* RING_SETUP_SQPOLL: ms idle before it sleeps */
	__u32	features;	/* out: RING_FEAT_* */
	__u32	wq_fd;		/* must be 0 */
	__u32	resv[3];	/* must be 0 */
	struct ring_sqring_offsets sq_off;	/* out */
	struct ring_cqring_offsets cq_off;	/* out */
};

/* ring_params.flags (io_uring's values). */
#define RING_SETUP_IOPOLL	(1U << 0)	/* O_DIRECT I/O completed by polling */
#define RING_SETUP_SQPOLL	(1U << 1)	/* a kernel thread consumes the SQ */
#define RING_SETUP_SQ_AFF	(1U << 2)	/* SQPOLL thread on sq_thread_cpu */
#define RING_SETUP_CQSIZE	(1U << 3)	/* cq_entries is given */
#define RING_SETUP_CLAMP	(1U << 4)	/* clamp entries to the maximum */
#define RING_SETUP_R_DISABLED	(1U << 6)	/* no ENTER until ENABLE_RINGS */
#define RING_SETUP_SUBMIT_ALL	(1U << 7)	/* ring always submits all */
#define RING_SETUP_COOP_TASKRUN	(1U << 8)	/* ring never interrupts tasks */
#define RING_SETUP_TASKRUN_FLAG	(1U << 9)	/* needs COOP or DEFER_TASKRUN */
#define RING_SETUP_SINGLE_ISSUER (1U << 12)	/* one task enters: else EEXIST */
#define RING_SETUP_DEFER_TASKRUN (1U << 13)	/* needs SINGLE_ISSUER */

#define RING_MAX_ENTRIES	32768U
#define RING_MAX_CQ_ENTRIES	65536U

/* ring_params.features (io_uring's values). */
#define RING_FEAT_SINGLE_MMAP	(1U << 0)	/* SQ and CQ ring share one mapping */
#define RING_FEAT_NODROP	(1U << 1)	/* completions are never dropped */
#define RING_FEAT_SUBMIT_STABLE	(1U << 2)	/* SQE data is copied at submit */
#define RING_FEAT_RW_CUR_POS	(1U << 3)	/* off = RING_OFF_CURRENT works */
#define RING_FEAT_CUR_PERSONALITY (1U << 4)	/* I/O runs as the submitter */
#define RING_FEAT_EXT_ARG	(1U << 8)	/* RING_ENTER_EXT_ARG */
#define RING_FEAT_RSRC_TAGS	(1U << 10)	/* BUFFERS2 / UPDATE2 with tags */
#define RING_FEAT_CQE_SKIP	(1U << 11)	/* RING_SQE_CQE_SKIP_SUCCESS */

/* SQ ring flags, written by the kernel (io_uring's values). */
#define RING_SQ_NEED_WAKEUP	(1U << 0)	/* SQPOLL thread asleep: SQ_WAKEUP */
#define RING_SQ_CQ_OVERFLOW	(1U << 1)	/* completions wait in the backlog */

/* mmap offsets. */
#define RING_OFF_SQ_RING	0x0ULL
#define RING_OFF_CQ_RING	0x8000000ULL
#define RING_OFF_SQES		0x10000000ULL
#define RING_OFF_IOTLB		0x20000000ULL	/* + IOVA, page aligned */

/* Opcodes (io_uring's numbers). */
enum {
	RING_OP_NOP		= 0,
	RING_OP_READV		= 1,
	RING_OP_WRITEV		= 2,
	RING_OP_FSYNC		= 3,
	RING_OP_READ_FIXED	= 4,
	RING_OP_WRITE_FIXED	= 5,
	RING_OP_READ		= 22,
	RING_OP_WRITE		= 23
};

/* sqe->flags (io_uring's values). */
#define RING_SQE_FIXED_FILE	(1U << 0)	/* fd: a registered file's slot */
#define RING_SQE_IO_DRAIN	(1U << 1)	/* after all earlier ones complete */
#define RING_SQE_IO_LINK	(1U << 2)	/* next SQE runs after this succeeds */
#define RING_SQE_IO_HARDLINK	(1U << 3)	/* next SQE runs after this, always */
#define RING_SQE_ASYNC		(1U << 4)	/* straight to a worker */
#define RING_SQE_CQE_SKIP_SUCCESS (1U << 6)	/* no CQE unless it fails */

/* sqe->off meaning "the file's current position" on reads and writes. */
#define RING_OFF_CURRENT	(~0ULL)

/* sqe->rw_flags for RING_OP_FSYNC. */
#define RING_FSYNC_DATASYNC	(1U << 0)

/* sqe->buf_index selecting the IOTLB bounce region instead of a slot. */
#define RING_BUF_IOTLB		0xffffU

/* Argument of RING_IOC_ENTER. */
struct ring_enter {
	__u32	to_submit;
	__u32	min_complete;
	__u32	flags;		/* RING_ENTER_* */
	__u32	resv;		/* must be 0 */
};

#define RING_ENTER_GETEVENTS	(1U << 0)
#define RING_ENTER_SQ_WAKEUP	(1U << 1)	/* wake the SQPOLL thread */
#define RING_ENTER_SQ_WAIT	(1U << 2)	/* SQPOLL: wait for an SQ slot */
#define RING_ENTER_EXT_ARG	(1U << 3)	/* arg is a ring_getevents_arg */

/*
 * Argument of RING_IOC_ENTER_ARG: io_uring_enter()'s last two arguments
 * after those of RING_IOC_ENTER.  Without RING_ENTER_EXT_ARG, arg is a
 * signal mask (sigset_t, argsz its size: 8) installed for the wait, or 0;
 * with it, arg points to a struct ring_getevents_arg and argsz is its size.
 */
struct ring_enter_arg {
	__u32	to_submit;
	__u32	min_complete;
	__u32	flags;		/* RING_ENTER_* */
	__u32	resv;		/* must be 0 */
	__u64	arg;
	__u64	argsz;
};

/* struct io_uring_getevents_arg. */
struct ring_getevents_arg {
	__u64	sigmask;	/* sigset_t *, or 0 */
	__u32	sigmask_sz;	/* 8 with a mask */
	__u32	pad;		/* must be 0 */
	__u64	ts;		/* struct __kernel_timespec *: relative, or 0 */
};

/* Argument of RING_IOC_REGISTER. */
struct ring_register {
	__u32	opcode;		/* RING_REGISTER_* ... RING_IOTLB_* */
	__u32	nr_args;
	__u64	arg;
	__u64	resv[2];	/* must be 0 */
};

/* ring_register.opcode */
enum {
	RING_REGISTER_BUFFERS		= 0,
	RING_UNREGISTER_BUFFERS		= 1,
	RING_REGISTER_BUFFERS_UPDATE	= 2,
	RING_REGISTER_IOTLB		= 3,
	RING_UNREGISTER_IOTLB		= 4,
	RING_IOTLB_MAP			= 5,
	RING_IOTLB_UNMAP		= 6,
	/* From here on, io_uring's numbers and argument structures. */
	RING_REGISTER_PROBE		= 8,	/* arg -> ring_probe */
	RING_REGISTER_ENABLE_RINGS	= 12,	/* after RING_SETUP_R_DISABLED */
	RING_REGISTER_FILES2		= 13,	/* arg -> ring_rsrc_register */
	/* io_uring's IORING_REGISTER_FILES_UPDATE2: arg -> ring_rsrc_update2 */
	RING_REGISTER_FILES_UPDATE2	= 14,
	RING_REGISTER_BUFFERS2		= 15,	/* arg -> ring_rsrc_register */
	/* io_uring's IORING_REGISTER_BUFFERS_UPDATE: arg -> ring_rsrc_update2 */
	RING_REGISTER_BUFFERS_UPDATE2	= 16,
	/* arg -> __u32[2], nr_args 2 (below) */
	RING_REGISTER_IOWQ_MAX_WORKERS	= 19,
	/*
	 * From 256 on, ring's own numbers for io_uring operations whose
	 * io_uring number ring uses for something else (2-6: above).
	 */
	/* io_uring's IORING_UNREGISTER_FILES (3): arg 0, nr_args 0 */
	RING_UNREGISTER_FILES		= 256
};

/* arg of RING_REGISTER_PROBE, nr_args the length of ops[]. */
struct ring_probe_op {
	__u8	op;
	__u8	resv;
	__u16	flags;		/* RING_OP_SUPPORTED */
	__u32	resv2;
};

struct ring_probe {
	__u8	last_op;	/* highest opcode this ring knows */
	__u8	ops_len;	/* entries of ops[] filled */
	__u16	resv;
	__u32	resv2[3];
	struct ring_probe_op ops[];
};

#define RING_OP_SUPPORTED	(1U << 0)

/*
 * arg of RING_REGISTER_BUFFERS2, nr_args its size (32): nr buffers from the
 * iovec array at data, each with the tag at the same index of tags (or 0).
 * A non-zero tag is posted as a CQE (user_data = tag, res = 0) once its
 * buffer has left the table and no I/O uses it any more.
 */
struct ring_rsrc_register {
	__u32	nr;
	__u32	flags;		/* RING_RSRC_REGISTER_SPARSE */
	__u64	resv2;		/* must be 0 */
	__u64	data;		/* struct iovec[nr]; 0 with SPARSE */
	__u64	tags;		/* __u64[nr], or 0 */
};

#define RING_RSRC_REGISTER_SPARSE (1U << 0)	/* nr empty slots */

/*
 * RING_REGISTER_FILES2 and RING_REGISTER_FILES_UPDATE2 take the same
 * structures with data -> __s32 fds[nr]: -1 is an empty slot, and in an
 * update RING_REGISTER_FILES_SKIP leaves the slot as it is.
 */
#define RING_REGISTER_FILES_SKIP	(-2)
#define RING_MAX_FILES		(1U << 20)

/* arg of RING_REGISTER_BUFFERS_UPDATE2 and FILES_UPDATE2, nr_args 32. */
struct ring_rsrc_update2 {
	__u32	offset;		/* first slot */
	__u32	resv;		/* must be 0 */
	__u64	data;		/* struct iovec[nr] */
	__u64	tags;		/* __u64[nr], or 0 */
	__u32	nr;
	__u32	resv2;		/* must be 0 */
};

/*
 * RING_REGISTER_IOWQ_MAX_WORKERS: arg[RING_IOWQ_BOUND] limits the ring's
 * workers for regular files and block devices (whose waits end by
 * themselves), arg[RING_IOWQ_UNBOUND] those for everything else.  A value
 * of 0 leaves that limit as it is; the previous limits are written back.
 */
#define RING_IOWQ_BOUND		0
#define RING_IOWQ_UNBOUND	1

#define RING_MAX_BUFFERS	16384U
#define RING_MAX_BUFFER_LEN	(1ULL << 30)

/* arg of RING_REGISTER_BUFFERS_UPDATE. */
struct ring_buf_update {
	__u32	offset;		/* first slot */
	__u32	resv;		/* must be 0 */
	__u64	iovecs;		/* struct iovec[nr_args]; {NULL, 0} empties */
};

/* arg of RING_REGISTER_IOTLB. */
struct ring_iotlb_reg {
	__u64	size;		/* bytes, page multiple, <= iotlb_max_bytes */
	__u32	flags;		/* must be 0 */
	__u32	resv;		/* must be 0 */
};

/* arg of RING_IOTLB_MAP and RING_IOTLB_UNMAP. */
struct ring_iotlb_map {
	__u64	iova;
	__u64	size;
	__u64	uaddr;		/* stream mapping source/target, or 0 */
	__u32	perm;		/* RING_IOTLB_PERM_* */
	__u32	flags;		/* RING_IOTLB_BOUNCE_* */
};

#define RING_IOTLB_PERM_READ	(1U << 0)	/* kernel may read: file writes */
#define RING_IOTLB_PERM_WRITE	(1U << 1)	/* kernel may write: file reads */
#define RING_IOTLB_BOUNCE_IN	(1U << 0)	/* copy uaddr -> region at map */
#define RING_IOTLB_BOUNCE_OUT	(1U << 1)	/* copy region -> uaddr at unmap */

#define RING_IOC_MAGIC		0xb7
#define RING_IOC_SETUP		_IOWR(RING_IOC_MAGIC, 0x01, struct ring_params)
#define RING_IOC_ENTER		_IOW(RING_IOC_MAGIC, 0x02, struct ring_enter)
#define RING_IOC_REGISTER	_IOW(RING_IOC_MAGIC, 0x03, struct ring_register)
#define RING_IOC_ENTER_ARG	_IOW(RING_IOC_MAGIC, 0x04, struct ring_enter_arg)

/* The layouts are io_uring's; these pin the sizes (offsets: tests/). */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define __RING_STATIC_ASSERT(e, m) static_assert(e, m)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define __RING_STATIC_ASSERT(e, m) _Static_assert(e, m)
#endif
#ifdef __RING_STATIC_ASSERT
__RING_STATIC_ASSERT(sizeof(struct ring_sqe) == 64, "ring_sqe is io_uring_sqe");
__RING_STATIC_ASSERT(sizeof(struct ring_cqe) == 16, "ring_cqe is io_uring_cqe");
__RING_STATIC_ASSERT(sizeof(struct ring_sqring_offsets) == 40, "sq offsets");
__RING_STATIC_ASSERT(sizeof(struct ring_cqring_offsets) == 40, "cq offsets");
__RING_STATIC_ASSERT(sizeof(struct ring_params) == 120, "ring_params");
__RING_STATIC_ASSERT(sizeof(struct ring_enter) == 16, "ring_enter");
__RING_STATIC_ASSERT(sizeof(struct ring_register) == 32, "ring_register");
__RING_STATIC_ASSERT(sizeof(struct ring_enter_arg) == 32, "ring_enter_arg");
__RING_STATIC_ASSERT(sizeof(struct ring_getevents_arg) == 24, "getevents_arg");
__RING_STATIC_ASSERT(sizeof(struct ring_probe) == 16, "io_uring_probe");
__RING_STATIC_ASSERT(sizeof(struct ring_probe_op) == 8, "io_uring_probe_op");
__RING_STATIC_ASSERT(sizeof(struct ring_rsrc_register) == 32, "rsrc_register");
__RING_STATIC_ASSERT(sizeof(struct ring_rsrc_update2) == 32, "rsrc_update2");
#undef __RING_STATIC_ASSERT
#endif

#endif /* _UAPI_LINUX_RING_H */
