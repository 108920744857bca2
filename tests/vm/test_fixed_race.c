// SPDX-License-Identifier: MIT
/*
 * REGISTER_BUFFERS_UPDATE racing with fixed I/O on the slot it replaces.
 *
 * One thread keeps O_DIRECT READ_FIXED/WRITE_FIXED going (on null_blk, and
 * on ext4 over loop, whose worker moves the data after submission), 8 at
 * a time, all naming slot 0, each addressing one of three anonymous
 * regions. Another keeps putting a different region into slot 0, or
 * emptying it; each region it takes out it discards (MADV_DONTNEED, so its
 * old pages live on only through pins) and refills with a pattern of a new
 * generation. So:
 *   - every request ends with its full length or -EFAULT (its region was
 *     not in the slot when it was submitted); when no update ran during
 *     the submission, exactly the one expected;
 *   - a write sends one generation of its region's pattern, the one the
 *     region had when the write was submitted: pages freed under it would
 *     show up as zeros, another generation or a mix;
 *   - a read lands in its region, visibly when the region was not
 *     discarded since;
 *   - at the end nothing is pinned, in flight or allocated.
 */
#include "fixedtest.h"

#include <pthread.h>
#include <stdatomic.h>

#define NREG		3
#define RSZ		(256U << 10)	/* a region: write half, read half */
#define HALF		(RSZ / 2)
#define CHUNK		(16U << 10)
#define QD		8		/* chunks per half */
#define WZONE		0		/* null_blk: written by request k at k */
#define RZONE		(QD * CHUNK)	/* read by request k at RZONE + k */

struct race {
	struct ring ring;
	struct target t;
	unsigned char *reg[NREG];
	unsigned char *q;		/* RZONE's content */
	uint64_t salt;

	pthread_mutex_t lock;		/* gen, cur, rgen, region contents */
	unsigned gen;			/* +2 per update */
	int cur;			/* region in slot 0, or -1 */
	unsigned rgen[NREG];		/* pattern generation per region */

	atomic_bool stop;
	atomic_bool kick;		/* a batch was just submitted */
	atomic_bool want;		/* the updater waits for the lock */
	unsigned long updates, empties;
	uint64_t rng;			/* the updater's */
	char err[256];
};

static uint64_t pat_word(const struct race *r, unsigned reg, unsigned gen,
			 unsigned w)
{
	return (((uint64_t)gen << 32) | ((uint64_t)reg << 24) | w) ^ r->salt;
}

/* Region reg's write half becomes generation rgen[reg]. */
static void pat_fill(struct race *r, unsigned reg)
{
	uint64_t *p = (uint64_t *)r->reg[reg];
	unsigned w;

	for (w = 0; w < HALF / 8; w++)
		p[w] = pat_word(r, reg, r->rgen[reg], w);
}

/*
 * Data written from chunk k of region reg: one generation in [lo, hi]
 * throughout. 0, or -1 with a message.
 */
static int pat_check(const struct race *r, const unsigned char *data,
		     unsigned reg, unsigned k, unsigned lo, unsigned hi,
		     char *msg, size_t len)
{
	const uint64_t *p = (const uint64_t *)data;
	unsigned w0 = k * CHUNK / 8, w, gen = (unsigned)((p[0] ^ r->salt) >> 32);

	if (gen < lo || gen > hi) {
		snprintf(msg, len, "first word %#llx: generation %u, expected "
			 "%u..%u of region %u (freed or foreign pages?)",
			 (unsigned long long)p[0], gen, lo, hi, reg);
		return -1;
	}
	for (w = 0; w < CHUNK / 8; w++)
		if (p[w] != pat_word(r, reg, gen, w0 + w)) {
			snprintf(msg, len, "word %u is %#llx, expected %#llx "
				 "(region %u generation %u): a mix of pages",
				 w, (unsigned long long)p[w],
				 (unsigned long long)pat_word(r, reg, gen, w0 + w),
				 reg, gen);
			return -1;
		}
	return 0;
}

static void *updater(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		struct iovec iov = { NULL, 0 };
		int next, old, ret;

		/* The I/O thread would win the lock every time otherwise. */
		atomic_store(&r->want, true);
		pthread_mutex_lock(&r->lock);
		atomic_store(&r->want, false);
		if (r->cur >= 0 && !rnd_below(&r->rng, 4))
			next = -1;
		else
			next = (r->cur + 1 + (int)rnd_below(&r->rng, NREG - 1) +
				(r->cur < 0)) % NREG;
		r->gen++;
		if (next >= 0)
			iov = (struct iovec){ r->reg[next], RSZ };
		ret = ring_register_buffers_update(&r->ring, 0, &iov, 1);
		if (ret != 1) {
			snprintf(r->err, sizeof(r->err), "UPDATE of slot 0 to "
				 "region %d: %d (%s)", next, ret, errstr(ret));
			r->gen++;
			pthread_mutex_unlock(&r->lock);
			atomic_store(&r->stop, true);
			break;
		}
		old = r->cur;
		r->cur = next;
		if (old >= 0) {
			/* Only pins keep the old pages now. */
			madvise(r->reg[old], RSZ, MADV_DONTNEED);
			r->rgen[old]++;
			pat_fill(r, (unsigned)old);
		}
		r->gen++;
		r->updates++;
		r->empties += next < 0;
		pthread_mutex_unlock(&r->lock);
		/* Soon after a submission, while its I/O is in flight. */
		for (ret = rnd_below(&r->rng, 20); ret > 0; ret--) {
			if (atomic_exchange(&r->kick, false) ||
			    atomic_load(&r->stop))
				break;
			usleep(20);
		}
	}
	return NULL;
}

struct race_counts {
	unsigned long batches, stable, writes_ok, reads_ok, efault;
	unsigned long reads_seen, inflight;	/* batches updated under I/O */
};

/* Enough of every case to call it a race. */
static bool race_enough(const struct race *r, const struct race_counts *c)
{
	return r->updates >= 20 && c->writes_ok >= 20 && c->reads_ok >= 20 &&
	       c->efault >= 10 && c->batches - c->stable >= 5 &&
	       c->inflight >= 5;
}

static void race_batch(struct race *r, unsigned char *got, uint64_t *rng,
		       struct race_counts *c)
{
	struct ring_cqe cqes[QD];
	unsigned reg[QD], rg1[NREG], rg2[NREG], g1, g2, k, i;
	bool write[QD];
	int cur1;
	char msg[256];

	for (k = 0; k < 1000 && atomic_load(&r->want); k++)
		usleep(10);
	pthread_mutex_lock(&r->lock);
	g1 = r->gen;
	cur1 = r->cur;
	memcpy(rg1, r->rgen, sizeof(rg1));
	for (k = 0; k < QD; k++) {
		reg[k] = rnd_below(rng, NREG);
		write[k] = rnd_below(rng, 2);
		if (!write[k])
			memset(r->reg[reg[k]] + HALF + k * CHUNK, 0, CHUNK);
	}
	pthread_mutex_unlock(&r->lock);

	for (k = 0; k < QD; k++) {
		struct ring_sqe *sqe = ring_get_sqe(&r->ring);
		unsigned char *p = r->reg[reg[k]];

		if (write[k])
			ring_prep_write_fixed(sqe, r->t.fd, p + k * CHUNK, CHUNK,
					      WZONE + k * CHUNK, 0);
		else
			ring_prep_read_fixed(sqe, r->t.fd, p + HALF + k * CHUNK,
					     CHUNK, RZONE + k * CHUNK, 0);
		ring_sqe_set_data64(sqe, k);
	}
	expect_ret(ring_submit(&r->ring), QD);
	pthread_mutex_lock(&r->lock);
	g2 = r->gen;
	memcpy(rg2, r->rgen, sizeof(rg2));
	pthread_mutex_unlock(&r->lock);
	atomic_store(&r->kick, true);

	/* In flight now, while the updater goes on. */
	if (reap(&r->ring, cqes, QD, io_timeout_ms()) != QD)
		fail_msg("batch %lu: not all %u completions within %d ms",
			 c->batches, QD, io_timeout_ms());

	pthread_mutex_lock(&r->lock);
	c->inflight += r->gen != g2;
	for (i = 0; i < QD; i++) {
		unsigned ud = (unsigned)cqes[i].user_data, g = reg[ud];
		int res = cqes[i].res;
		const char *op = write[ud] ? "WRITE_FIXED" : "READ_FIXED";
		unsigned char *dst = r->reg[g] + HALF + ud * CHUNK;

		assert_true(ud < QD);
		if (res != (int)CHUNK && res != -EFAULT)
			fail_msg("batch %lu: %s %u on region %u: res %d (%s), "
				 "expected %u or -EFAULT", c->batches, op, ud, g,
				 res, errstr(res), CHUNK);
		if (g1 == g2 && res != (cur1 == (int)g ? (int)CHUNK : -EFAULT))
			fail_msg("batch %lu: %s %u on region %u with region %d "
				 "in slot 0 throughout: res %d (%s)", c->batches,
				 op, ud, g, cur1, res, errstr(res));
		if (res < 0) {
			c->efault++;
			/* A refused read wrote nothing. */
			if (!write[ud] && r->rgen[g] == rg1[g]) {
				for (k = 0; k < CHUNK && !dst[k]; k++)
					;
				if (k < CHUNK)
					fail_msg("batch %lu: refused READ_FIXED "
						 "%u wrote into region %u",
						 c->batches, ud, g);
			}
			continue;
		}
		if (write[ud]) {
			xpread(r->t.fd, got, CHUNK, WZONE + ud * CHUNK);
			if (pat_check(r, got, g, ud, rg1[g], rg2[g], msg,
				      sizeof(msg)))
				fail_msg("batch %lu: WRITE_FIXED %u from region "
					 "%u: %s", c->batches, ud, g, msg);
			c->writes_ok++;
		} else {
			c->reads_ok++;
			/* Its pages are still the region's: the data shows. */
			if (r->rgen[g] == rg1[g]) {
				expect_same(dst, r->q + ud * CHUNK, CHUNK,
					    "batch %lu: READ_FIXED %u into region "
					    "%u", c->batches, ud, g);
				c->reads_seen++;
			}
		}
	}
	pthread_mutex_unlock(&r->lock);
	c->batches++;
	c->stable += g1 == g2;
}

static void update_during_io(enum tgt_kind kind)
{
	struct ring_stats base;
	struct race_counts c = { 0 };
	struct race *r = calloc(1, sizeof(*r));
	struct iovec iov;
	pthread_t thr;
	unsigned char *got;
	long long t0, min_ms = scaled(1500, 500);
	long long max_ms = debug_kernel() ? 300000 : 30000;
	uint64_t rng;
	long pin0;
	unsigned i;

	require_ring();
	assert_non_null(r);
	stats_baseline(&base);
	target_open(&r->t, kind, true, 0, 2 * QD * CHUNK);
	rng = test_seed(r->t.name);
	r->rng = rnd_next(&rng);
	r->salt = rnd_next(&rng);
	pin0 = vmpin_pages();
	for (i = 0; i < NREG; i++) {
		r->reg[i] = map_anon(RSZ);
		pat_fill(r, i);
	}
	r->q = xalloc(QD * CHUNK);
	rnd_fill(&rng, r->q, QD * CHUNK);
	xpwrite(r->t.fd, r->q, QD * CHUNK, RZONE);
	got = xalloc(CHUNK);
	pthread_mutex_init(&r->lock, NULL);
	ring_init_or_fail(&r->ring, 2 * QD);
	iov = (struct iovec){ r->reg[0], RSZ };
	expect_ret(ring_register_buffers(&r->ring, &iov, 1), 0);
	r->cur = 0;

	assert_int_equal(pthread_create(&thr, NULL, updater, r), 0);
	/* At least min_ms, longer (up to the limit) until all cases ran. */
	t0 = now_ns();
	while (!atomic_load(&r->stop)) {
		long long ms = (now_ns() - t0) / 1000000;

		if ((ms >= min_ms && race_enough(r, &c)) || ms >= max_ms)
			break;
		race_batch(r, got, &rng, &c);
	}
	atomic_store(&r->stop, true);
	pthread_join(thr, NULL);
	if (r->err[0])
		fail_msg("updater: %s", r->err);
	print_message("# %s: %lu batches (%lu without an update during "
		      "submission, %lu with one while in flight), %lu updates "
		      "(%lu emptying), %lu writes and %lu reads done (%lu reads "
		      "checked in memory), %lu -EFAULT\n", r->t.name, c.batches,
		      c.stable, c.inflight, r->updates, r->empties, c.writes_ok,
		      c.reads_ok, c.reads_seen, c.efault);
	/* The race really ran, every way. */
	if (!race_enough(r, &c))
		fail_msg("too little happened in %lld ms to call this a race: "
			 "see the counts above", (now_ns() - t0) / 1000000);

	expect_inflight0(&r->ring, "UPDATE during fixed I/O");
	expect_ret(fdinfo_get(r->ring.ring_fd, "BufferSlots"), 1);
	expect_ret(ring_unregister_buffers(&r->ring), 0);
	expect_no_bufs(r->ring.ring_fd, pin0, "after the race");
	ring_queue_exit(&r->ring);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin after close");
	for (i = 0; i < NREG; i++)
		munmap(r->reg[i], RSZ);
	pthread_mutex_destroy(&r->lock);
	free(r->q);
	free(got);
	target_close(&r->t);
	free(r);
	expect_stats(&base, "UPDATE during fixed I/O");
}

/* null_blk copies the data at submission and completes from a timer. */
static void test_update_during_io_nullb(void **state)
{
	update_during_io(TGT_NULLB);
}

/* ext4 on loop: loop's worker copies the data after submission. */
static void test_update_during_io_ext4(void **state)
{
	update_during_io(TGT_EXT4);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_update_during_io_nullb),
	cmocka_unit_test(test_update_during_io_ext4),
};

VMTEST_MAIN(tests)
