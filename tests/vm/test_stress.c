// SPDX-License-Identifier: MIT
/*
 * Stress: four threads, each with its own ring and its own region (a tmpfs
 * file, null_blk with O_DIRECT and buffered, brd with O_DIRECT), do random
 * verified reads and writes at random queue depths for 30 s (times
 * RING_TEST_SCALE: 3 s on the debug kernel; RING_STRESS_SECONDS
 * overrides), with FSYNCs and rings closed while reads are in flight now
 * and then. Afterwards every region is checked with pread, the module's
 * live counters must be back at their baseline (the authority on leaks),
 * and slab and memory that no /proc/meminfo counter explains (pages a
 * request, bio or page reference could keep) must not have grown by more
 * than noise.
 */
#include "iotest.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define NTHREADS	4
#define REGION		(8U << 20)
#define MAX_IO		(64U << 10)
#define MAX_QD		32
/*
 * Memory held by no owner /proc/meminfo names grows by -100..+240 kB over
 * a 30 s run (kernel stacks of new kworkers, cached in vmalloc); a module
 * that leaks one page per ring closed busy adds 900-1000 kB.
 */
#define STRESS_HELD_KB	512

struct worker {
	const char *what;
	enum tgt_kind kind;
	bool direct;
	off_t base;

	struct target t;
	unsigned char *shadow;
	uint64_t seed;
	struct io_engine e;
	unsigned long abandons, fsyncs;
	bool failed;
	pthread_t th;
};

static volatile bool stop;
static long long deadline_ns;

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	unsigned long n = 0;

	if (eng_init(&w->e, &w->t, w->shadow, w->seed, MAX_QD, MAX_IO))
		goto fail;
	while (!stop && now_ns() < deadline_ns) {
		if (eng_batch(&w->e, 1 + rnd_below(&w->e.rng, MAX_QD)))
			goto fail;
		n++;
		/* Early first ones: a 3 s run on the debug kernel has few batches. */
		if (n % 16 == 1) {
			if (eng_fsync(&w->e))
				goto fail;
			w->fsyncs++;
		}
		if (n % 24 == 2) {
			if (eng_abandon(&w->e, 8))
				goto fail;
			w->abandons++;
		}
	}
	if (!stop && eng_read_all(&w->e, 16))
		goto fail;
	eng_close_ring(&w->e);
	return NULL;
fail:
	w->failed = true;
	stop = true;
	eng_close_ring(&w->e);
	return NULL;
}

static double stress_seconds(void)
{
	const char *env = getenv("RING_STRESS_SECONDS");

	if (env && *env)
		return strtod(env, NULL);
	return scaled(30000, 1000) / 1000.0;
}

static void test_stress(void **state)
{
	struct worker w[NTHREADS] = {
		{ .what = "tmpfs", .kind = TGT_TMPFS },
		{ .what = "null_blk O_DIRECT", .kind = TGT_NULLB, .direct = true },
		{ .what = "null_blk buffered", .kind = TGT_NULLB,
		  .base = 16 << 20 },
		{ .what = "brd O_DIRECT", .kind = TGT_BRD, .direct = true },
	};
	struct ring_stats base;
	long held0, held1, slab0, slab1;
	uint64_t rng;
	double secs = stress_seconds();
	char msg[768];
	int i;

	require_ring();
	stats_baseline(&base);
	rng = test_seed("stress");
	for (i = 0; i < NTHREADS; i++) {
		target_open(&w[i].t, w[i].kind, w[i].direct, w[i].base, REGION);
		w[i].shadow = xalloc(REGION);
		target_fill(&w[i].t, w[i].shadow, &rng);
		w[i].seed = rnd_next(&rng);
	}
	drop_caches();
	held0 = mem_unexplained_kb();
	slab0 = meminfo_kb("Slab");

	stop = false;
	deadline_ns = now_ns() + (long long)(secs * 1e9);
	print_message("# %d threads for %.1f s\n", NTHREADS, secs);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&w[i].th, NULL, worker_fn,
						&w[i]), 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(w[i].th, NULL);
	for (i = 0; i < NTHREADS; i++)
		if (w[i].failed)
			fail_msg("thread %d (%s): %s", i, w[i].what, w[i].e.err);

	for (i = 0; i < NTHREADS; i++) {
		print_message("# %-18s %6lu batches %7lu requests %6lu MiB, "
			      "%lu FSYNC rounds, %lu rings closed busy\n",
			      w[i].what, w[i].e.batches, w[i].e.ops,
			      w[i].e.bytes >> 20, w[i].fsyncs, w[i].abandons);
		if (!w[i].e.batches)
			fail_msg("thread %d (%s) completed no batch", i, w[i].what);
		if (target_verify(&w[i].t, w[i].shadow, msg, sizeof(msg)))
			fail_msg("after the stress: %s", msg);
	}
	/* All rings are closed: nothing may be left, abandoned reads included. */
	expect_stats(&base, "after the stress");
	/* Now the buffers can go (no read lands in them any more). */
	for (i = 0; i < NTHREADS; i++)
		eng_exit(&w[i].e);

	drop_caches();
	held1 = mem_unexplained_kb();
	slab1 = meminfo_kb("Slab");
	print_message("# memory no counter explains %ld -> %ld kB, Slab %ld -> "
		      "%ld kB\n", held0, held1, slab0, slab1);
	/* Noise only: KASAN's quarantine holds freed objects on debug. */
	if (slab1 - slab0 > (debug_kernel() ? 128 : 32) * 1024)
		fail_msg("slab grew by %ld kB during the stress", slab1 - slab0);
	/* Debug: KASAN and kmemleak keep more around; kmemleak hunts leaks. */
	if (held1 - held0 > STRESS_HELD_KB * (debug_kernel() ? 4 : 1))
		fail_msg("%ld kB more memory held by no known owner after the "
			 "stress (limit %d kB)", held1 - held0,
			 STRESS_HELD_KB * (debug_kernel() ? 4 : 1));

	for (i = 0; i < NTHREADS; i++) {
		target_close(&w[i].t);
		free(w[i].shadow);
	}
	expect_stats(&base, "stress cleanup");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_stress),
};

VMTEST_MAIN(tests)
