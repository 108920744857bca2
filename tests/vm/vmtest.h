/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the VM tests (tests/vm/test_*.c): a raw ring driven by
 * ioctl + mmap only (the tests are about the kernel interface, so they do
 * not depend on libring for it), module statistics, fdinfo and scaling.
 */
#ifndef VMTEST_H
#define VMTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include <linux/ring.h>

/* A ring set up and mapped with raw ioctl/mmap. */
struct raw_ring {
	int fd;
	struct ring_params p;

	void *rings;		/* RING_OFF_SQ_RING: SQ and CQ ring (single mmap) */
	size_t rings_len;
	struct ring_sqe *sqes;	/* RING_OFF_SQES */
	size_t sqes_len;

	unsigned *sq_head, *sq_tail, *sq_mask, *sq_entries;
	unsigned *sq_flags, *sq_dropped, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask, *cq_entries, *cq_overflow;
	struct ring_cqe *cqes;

	unsigned sqe_tail;	/* next SQE to fill; flushed by raw_flush_sq */
};

/* Module-wide live counters from /sys/class/misc/ring/stats. */
struct ring_stats {
	long rings;
	long requests;
	long pages;
	long iotlb_pages;
};

const char *ring_dev(void);
/* open(ring_dev()), failing the test if it cannot. */
int dev_open(void);

/* ioctl wrappers: the ioctl's return value, or -errno. */
int raw_ioctl(int fd, unsigned long cmd, void *arg);
int raw_setup(int fd, struct ring_params *p);
int raw_enter(int fd, unsigned to_submit, unsigned min_complete,
	      unsigned flags);
int raw_register(int fd, unsigned opcode, unsigned nr_args, __u64 arg);

/* Map the regions of a set-up fd into r: 0 or -errno (no cmocka calls). */
int raw_ring_map_try(struct raw_ring *r, int fd, const struct ring_params *p);
/* The same, failing the test on error. */
void raw_ring_map(struct raw_ring *r, int fd, const struct ring_params *p);
/* open + SETUP (p may be NULL: defaults) + map; fails the test on error. */
void raw_ring_init(struct raw_ring *r, unsigned entries, struct ring_params *p);
void raw_ring_unmap(struct raw_ring *r);
void raw_ring_exit(struct raw_ring *r);

/* Sizes the mappings have, computed as liburing does. */
size_t ring_sq_ring_size(const struct ring_params *p);
size_t ring_cq_ring_size(const struct ring_params *p);
size_t page_align(size_t n);

/* Next free SQE (zeroed, SQ array slot set), or NULL if the SQ is full. */
struct ring_sqe *raw_get_sqe(struct raw_ring *r);
void raw_prep_nop(struct ring_sqe *sqe, __u64 user_data);
/* Publish the SQEs handed out so far (store-release of the SQ tail). */
void raw_flush_sq(struct raw_ring *r);
/* Queue n NOPs with user_data base.., ENTER them, assert all consumed. */
void raw_submit_nops(struct raw_ring *r, unsigned n, __u64 base);

unsigned raw_cq_ready(const struct raw_ring *r);
/* Copy out the CQE at the head; false if the CQ ring is empty. */
bool raw_peek_cqe(const struct raw_ring *r, struct ring_cqe *out);
void raw_cq_advance(struct raw_ring *r, unsigned n);
unsigned raw_sq_flags(const struct raw_ring *r);

/* Statistics; false (and -1 fields) if the sysfs files are missing. */
bool stats_get(struct ring_stats *s);

/* Write val to the file at path (sysfs, cgroupfs); false on any error. */
bool file_write_str(const char *path, const char *val);
/* The number at the start of a file (sysfs, /proc), or -1. */
long read_long(const char *path);
/* Wait up to timeout_ms for the stats to equal want; true if they do. */
bool stats_wait_equal(const struct ring_stats *want, int timeout_ms,
		      struct ring_stats *last);

/* Value of `Key:\tvalue` in /proc/self/fdinfo/FD, or -1 if absent. */
long long fdinfo_get(int fd, const char *key);
/* The whole fdinfo text (static buffer). */
const char *fdinfo_text(int fd);

/* Loop counts: n times RING_TEST_SCALE (0.1 on the debug kernel), >= min. */
unsigned scaled(unsigned n, unsigned min);
bool debug_kernel(void);
/*
 * How long a count may take to come back (a worker posts a CQE, then lets
 * go of the ring; a close finishes in another task): long enough for the
 * busiest machine, as a leak or a hang never comes back at all.
 */
int settle_ms(void);

long long now_ns(void);
void sleep_ms(int ms);

/* Text of a -errno / return value for messages. */
const char *errstr(long v);

/*
 * cmocka's fail_msg prints to stderr, which lands out of order with the
 * TAP lines on stdout: print a TAP comment on stdout instead.
 */
#undef fail_msg
#define fail_msg(fmt, ...) do {						\
	print_message("# " fmt "\n", ##__VA_ARGS__);			\
	fail();								\
} while (0)

/* Fail with a readable message unless expr == want (both as long). */
#define expect_ret(expr, want) do {					\
	long __got = (long)(expr), __want = (long)(want);		\
	if (__got != __want)						\
		fail_msg("%s: got %ld (%s), expected %ld (%s)", #expr,	\
			 __got, errstr(__got), __want, errstr(__want));	\
} while (0)

/* The same, with a printf-style description of the case. */
#define expect_ret_msg(expr, want, fmt, ...) do {			\
	long __got = (long)(expr), __want = (long)(want);		\
	if (__got != __want)						\
		fail_msg(fmt ": got %ld (%s), expected %ld (%s)",	\
			 ##__VA_ARGS__, __got, errstr(__got), __want,	\
			 errstr(__want));				\
} while (0)

/* Skip the test unless /dev/ring exists (outside the VM). */
void require_ring(void);

/* main(): line-buffered stdout so TAP lines never interleave with stderr. */
#define VMTEST_MAIN(tests)						\
int main(void)								\
{									\
	setvbuf(stdout, NULL, _IOLBF, 0);				\
	return cmocka_run_group_tests(tests, NULL, NULL);		\
}

#endif /* VMTEST_H */
