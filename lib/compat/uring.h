/* SPDX-License-Identifier: MIT */
/*
 * The drop-in liburing.so.2: liburing 2.3's application binary interface,
 * written down from its headers (not copied) under names of our own, so
 * that the library builds without liburing-dev and a test can put both
 * side by side (tests/unit/test_compat_layout.c pins every offset and
 * constant against /usr/include/liburing.h).
 *
 * Applications compile liburing-dev's static inline helpers into
 * themselves; those read and write struct io_uring (here libring's struct
 * ring) directly, so its layout is the ABI as much as the exported
 * functions are.
 *
 * The kernel structures (SQE, CQE, params, probe, getevents argument,
 * rsrc register/update2) are io_uring's by design: ring.h's ring_* types
 * are used for them as they are.
 */
#ifndef RING_COMPAT_URING_H
#define RING_COMPAT_URING_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <libring.h>
#include <linux/ring.h>
#include <linux/time_types.h>

/*
 * struct io_uring, io_uring_sq and io_uring_cq are libring's struct ring,
 * ring_sq and ring_cq (include/libring.h), laid out as liburing 2.3's for
 * this reason; the test pins them field by field.
 */

/* int_flags: enter_ring_fd is a registered-ring index (liburing 2.3's 1). */
#define LU_INT_FLAG_REG_RING	1

/* struct io_uring_rsrc_update: the element of REGISTER_RING_FDS' array. */
struct lu_rsrc_update {
	__u32	offset;
	__u32	resv;
	__u64	data;
};

/* io_uring's setup flags that ring.h has no name for. */
#define LU_SETUP_IOPOLL		(1U << 0)
#define LU_SETUP_SQPOLL		(1U << 1)
#define LU_SETUP_ATTACH_WQ	(1U << 5)

/* SQ ring flags (io_uring's). */
#define LU_SQ_NEED_WAKEUP	(1U << 0)
#define LU_SQ_TASKRUN		(1U << 2)

/* io_uring_enter() flags ring.h has no name for. */
#define LU_ENTER_REGISTERED_RING (1U << 4)

/* io_uring_register() opcodes (io_uring's numbers). */
enum {
	LU_REGISTER_BUFFERS		= 0,
	LU_UNREGISTER_BUFFERS		= 1,
	LU_REGISTER_FILES		= 2,
	LU_UNREGISTER_FILES		= 3,
	LU_REGISTER_EVENTFD		= 4,
	LU_UNREGISTER_EVENTFD		= 5,
	LU_REGISTER_FILES_UPDATE	= 6,
	LU_REGISTER_EVENTFD_ASYNC	= 7,
	LU_REGISTER_PROBE		= 8,
	LU_REGISTER_PERSONALITY		= 9,
	LU_UNREGISTER_PERSONALITY	= 10,
	LU_REGISTER_RESTRICTIONS	= 11,
	LU_REGISTER_ENABLE_RINGS	= 12,
	LU_REGISTER_FILES2		= 13,
	LU_REGISTER_FILES_UPDATE2	= 14,
	LU_REGISTER_BUFFERS2		= 15,
	LU_REGISTER_BUFFERS_UPDATE	= 16,
	LU_REGISTER_IOWQ_AFF		= 17,
	LU_UNREGISTER_IOWQ_AFF		= 18,
	LU_REGISTER_IOWQ_MAX_WORKERS	= 19,
	LU_REGISTER_RING_FDS		= 20,
	LU_UNREGISTER_RING_FDS		= 21,
	LU_REGISTER_PBUF_RING		= 22,
	LU_UNREGISTER_PBUF_RING		= 23,
	LU_REGISTER_SYNC_CANCEL		= 24,
	LU_REGISTER_FILE_ALLOC_RANGE	= 25,
	LU_REGISTER_LAST
};

/* Opcode bit 31 (6.3+): the fd is a registered-ring index. */
#define LU_REGISTER_USE_REGISTERED_RING	(1U << 31)

/* io_uring's IO_RINGFD_REG_MAX: registered-ring slots per thread. */
#define LU_RINGFD_REG_MAX	16

/* struct io_uring_buf_reg, struct io_uring_sync_cancel_reg: opaque here. */
struct lu_buf_reg {
	__u64	ring_addr;
	__u32	ring_entries;
	__u16	bgid;
	__u16	pad;
	__u64	resv[3];
};

/* struct io_uring_file_index_range */
struct lu_file_index_range {
	__u32	off;
	__u32	len;
	__u64	resv;
};

/* liburing computes sigmask sizes as _NSIG / 8: the kernel's sigset_t. */
#define LU_SIGSET_SIZE		8

/*
 * The sizes liburing 2.3 compiled into applications (x86-64); the test
 * pins every field's offset against the real header.
 */
_Static_assert(sizeof(struct ring_sq) == 104, "struct io_uring_sq");
_Static_assert(sizeof(struct ring_cq) == 88, "struct io_uring_cq");
_Static_assert(sizeof(struct ring) == 216, "struct io_uring");
_Static_assert(sizeof(struct lu_rsrc_update) == 16, "io_uring_rsrc_update");
_Static_assert(sizeof(struct ring_params) == 120, "io_uring_params");

#endif /* RING_COMPAT_URING_H */
