/* SPDX-License-Identifier: MIT */
/*
 * A small in-process stand-in for ring.ko, reached through link-time
 * wrapping of open/close/ioctl/mmap/munmap (see tests/unit/build.mk), so
 * libring's unit tests need no kernel. It follows the contract where the
 * tests rely on it: SETUP validation and io_uring's ring layout, ENTER
 * consuming the SQ ring and posting CQEs (with RING_SETUP_SQPOLL a
 * "thread" the test runs with fk_sq_thread() consumes it instead), a FIFO backlog behind a full CQ
 * ring with the overflow counter and flag, and reference-counted memory so
 * that leaks and double unmaps show up in the counters.
 */
#ifndef FAKE_KERNEL_H
#define FAKE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/ring.h>

struct fk_config {
	bool no_single_mmap;	/* report no RING_FEAT_SINGLE_MMAP */
	int open_errno;		/* open() fails with this */
	int setup_errno;	/* SETUP fails with this (after validation) */
	int mmap_fail_nth;	/* the nth mmap() call (1-based) fails ... */
	int mmap_errno;		/* ... with this */
	int enter_errno;	/* every ENTER fails with this */
	bool defer;		/* ENTER completes requests only when waiting */
	unsigned max_consume;	/* consume at most this many per ENTER (0: all) */
	unsigned initial_index;	/* start value of all ring heads and tails */
	int op_res;		/* res of opcodes other than NOP */
	int register_ret;	/* REGISTER returns this (negative: -errno) */
};

struct fk_stats {
	unsigned opens, closes, setups, enters, registers;
	unsigned maps, unmaps, bad_unmaps;
	unsigned would_block;	/* GETEVENTS waits that could never end */
	unsigned wakeups;	/* SQPOLL: ENTERs with RING_ENTER_SQ_WAKEUP */
	unsigned sq_waits;	/* SQPOLL: ENTERs with RING_ENTER_SQ_WAIT */
	unsigned consumed;	/* SQEs read from the SQ ring */
	int last_open_flags;
	char last_open_path[256];
	int last_mmap_prot, last_mmap_flags;
	struct ring_enter last_enter;
	struct ring_register last_register;
	struct ring_sqe last_sqe;	/* copy of the last SQE consumed */
};

extern struct fk_config fk_cfg;
extern struct fk_stats fk_stats;

/* Reset configuration and statistics (call from each test's setup). */
void fk_reset(void);

/*
 * cmocka group/test fixtures: fk_setup resets the fake; fk_teardown fails
 * the test if a file, a block of ring memory or a mapping is left over, or
 * if munmap was called for something not mapped.
 */
int fk_setup(void **state);
int fk_teardown(void **state);
#define FK_TEST(f)	cmocka_unit_test_setup_teardown(f, fk_setup, fk_teardown)

/* Kernel objects (files, ring memory) still alive. */
unsigned fk_live_objects(void);

/* Mappings still in place. */
unsigned fk_live_maps(void);

/*
 * The SQPOLL ring of fd's thread runs: it consumes the SQ ring, then goes
 * to sleep (RING_SQ_NEED_WAKEUP set) if @sleep, else stays awake.  An
 * awake thread also consumes during every ENTER, as the real one keeps
 * polling; an asleep one only after ENTER with SQ_WAKEUP (or SQ_WAIT).
 */
void fk_sq_thread(int fd, bool sleep);

/* Completes a request on the ring of fd as if I/O had finished. */
void fk_complete(int fd, __u64 user_data, __s32 res);

/* CQEs waiting in the kernel backlog of the ring of fd. */
unsigned fk_backlog(int fd);

/* Deferred (defer mode) requests of fd not yet completed. */
unsigned fk_pending(int fd);

/* The params the last successful SETUP returned. */
const struct ring_params *fk_params(int fd);

#endif /* FAKE_KERNEL_H */
