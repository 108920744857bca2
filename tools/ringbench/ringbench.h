/* SPDX-License-Identifier: MIT */
/*
 * ringbench: shared state of the benchmark and its engine layer.
 *
 * An engine is a backend (how operations are queued and completed: libring,
 * liburing, pread) plus a buffer mode (how a read names its buffer: plain
 * address, registered buffer index, IOTLB IOVA). Adding an engine for a new
 * buffer mode of an existing backend is one line in the engine table of
 * main.c, once the backend implements that mode.
 */
#ifndef RINGBENCH_H
#define RINGBENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

enum bench_mode {
	MODE_NOP,
	MODE_RANDREAD,
};

/* How a read addresses its buffer. */
enum buf_mode {
	BUF_PLAIN,		/* READ with a user address */
	BUF_FIXED,		/* READ_FIXED with a registered buffer index */
	BUF_IOTLB,		/* READ_FIXED on IOVAs of the IOTLB region */
};

/* What one queued operation is: the hot loops are specialised on it. */
enum bench_op {
	OP_NOP,
	OP_READ,
	OP_READ_FIXED,
	OP_READ_IOVA,		/* READ_FIXED on the IOTLB region */
};

struct bench;

struct backend {
	const char *name;
	/*
	 * Set up, run the timed loop between bench_start() and bench_end(),
	 * drain and tear down. 0 or -errno; the message is already printed.
	 */
	int (*run)(struct bench *b, enum bench_op op);
	bool queued;		/* has a queue: QD and batches mean something */
	bool has_nop;
	bool has_fixed;
	bool has_iotlb;
};

struct engine {
	const char *name;
	const struct backend *be;
	enum buf_mode buf;
};

struct bench {
	/* Options. */
	const struct engine *eng;
	enum bench_mode mode;
	unsigned qd;			/* operations in flight at most */
	unsigned sbatch;		/* operations prepared per submit */
	unsigned cbatch;		/* completions waited for per enter */
	unsigned bs;			/* bytes per read */
	double seconds;			/* run time, unless max_ops is set */
	unsigned long long max_ops;	/* 0: run for @seconds */
	const char *path;
	bool buffered;			/* no O_DIRECT */
	bool sqpoll;			/* a kernel thread submits */
	bool iopoll;			/* reads complete by polling */
	bool files;			/* reads name registered file 0 */

	/* The target of reads: fd, and its size in blocks of @bs. */
	int fd;
	unsigned long long nblocks;

	/* One buffer of @bs bytes per slot, slot i at bufs + i * bs. */
	char *bufs;
	/* Slots not in flight (a stack) and what each in-flight one does. */
	unsigned *free_slots;
	unsigned nfree;
	bool *busy;
	unsigned long long *slot_off;

	uint64_t rng;

	/* Results. */
	unsigned long long ops;
	double start, elapsed;
};

/* Set by the run-time timer: the loops stop at the next round. */
extern volatile sig_atomic_t bench_timeup;

void bench_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_start(struct bench *b);
void bench_end(struct bench *b);
/* An op at @off ended with @res, not what it must: says so, returns -EIO. */
int bench_bad_res(struct bench *b, unsigned long long off, long long res);

static inline bool bench_done(const struct bench *b)
{
	return bench_timeup || (b->max_ops && b->ops >= b->max_ops);
}

/* xorshift64*: a few instructions, and the same sequence on every run. */
static inline uint64_t bench_rand(struct bench *b)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 0x2545f4914f6cdd1dULL;
}

static inline unsigned long long bench_rand_off(struct bench *b)
{
	return (bench_rand(b) % b->nblocks) * b->bs;
}

/* Take a free slot; the caller never asks for more than qd at once. */
static inline unsigned slot_get(struct bench *b)
{
	unsigned slot = b->free_slots[--b->nfree];

	b->busy[slot] = true;
	return slot;
}

/* Return a completed slot: false if it was not in flight (bogus CQE). */
static inline bool slot_put(struct bench *b, unsigned long long slot)
{
	if (slot >= b->qd || !b->busy[slot])
		return false;
	b->busy[slot] = false;
	b->free_slots[b->nfree++] = (unsigned)slot;
	return true;
}

extern const struct backend ring_backend;
extern const struct backend uring_backend;
extern const struct backend psync_backend;

#endif /* RINGBENCH_H */
