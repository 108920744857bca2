// SPDX-License-Identifier: MIT
/*
 * The IOTLB region under churn, and what it costs the memory cgroup.
 *
 * test_unmap_inflight: for RING_STRESS_SECONDS (default 30 s x
 * RING_TEST_SCALE, 3 s on the debug kernel), batches of 12
 * READ_FIXED/WRITE_FIXED on IOVAs (O_DIRECT on null_blk with timer
 * completions; every 4th batch a buffered tmpfs file) plus a READ_FIXED
 * of an empty pipe and a WRITE_FIXED into a full one (certainly in flight
 * until the test serves them) are followed at once by an unmap of one or
 * two of their ranges (mapped again at once or at the next batch), an
 * unregister of the whole region (likewise), or nothing, while another
 * thread keeps reading and writing the mapping with a SIGBUS handler.
 *  - every request submitted before the unmap completes in full, and its
 *    data is right: a write sends what the range held at submission, a
 *    read lands where the mapping shows it unless the range went away;
 *  - a request submitted after the unmap/unregister is CQE -EFAULT;
 *  - a range mapped again is zeros, and once filled with a marker keeps
 *    it whatever late I/O does to the pages it had before (pages freed
 *    under that I/O and reused would show);
 *  - the other thread sees SIGBUS or, where it wrote, its own last value
 *    or zeros (after a remap), never anything else; never-mapped IOVAs
 *    always SIGBUS;
 *  - at the end IotlbMapped and IotlbResident drop to 0 with the ranges,
 *    the module stats return to their baseline, and the kernel memory
 *    charged to the cgroup the test ran in (where IOTLB pages are
 *    charged) is back where it started.
 * test_memcg_charge: a child moved into a fresh cgroup registers a
 * region: nothing is charged until pages are touched (by the user, by
 * READ_FIXED, by BOUNCE_IN), then memory.current grows by about the pages
 * touched, nothing is pinned (VmPin 0), and unmap/unregister give it all
 * back at once.
 *
 * cgroup v2 is mounted at /sys/fs/cgroup in the guest if it is not
 * already (and unmounted again); without it the tests SKIP with the reason.
 */
#include "fixedtest.h"
#include "probe.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#define NP(n)		((size_t)(n) * PG)
#define RW		(RING_IOTLB_PERM_READ | RING_IOTLB_PERM_WRITE)

/* ---- cgroup v2 ---------------------------------------------------------- */

/* A memory.stat value in bytes, 0 if absent. */
static long long cg_stat(const char *dir, const char *key)
{
	char path[256], k[64];
	long long v, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.stat", dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%63s %lld", k, &v) == 2)
		if (!strcmp(k, key))
			found = v;
	fclose(f);
	return found;
}

/*
 * Kernel memory charged to the cgroup that is no slab, stack, page table,
 * percpu or vmalloc memory: pages allocated with GFP_KERNEL_ACCOUNT, as
 * the IOTLB's are.
 */
/*
 * memory.stat is flushed lazily: a reading may miss up to 64 pages of
 * updates per CPU (MEMCG_CHARGE_BATCH times the online CPUs), so a
 * difference of two readings is off by up to twice that, either way.
 * memory.current is exact.
 */
static long long cg_stat_staleness(void)
{
	return 2LL * 64 * PG * sysconf(_SC_NPROCESSORS_ONLN);
}

static long long cg_kmem_other(const char *dir)
{
	static const char *const parts[] = {
		"slab", "kernel_stack", "pagetables", "sec_pagetables",
		"percpu", "vmalloc",
	};
	long long v = cg_stat(dir, "kernel");
	unsigned i;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		v -= cg_stat(dir, parts[i]);
	return v;
}

/* ---- the stress ----------------------------------------------------------- */

/*
 * IOVA pages: I/O ranges [16r, 16r + 16) for r < NRANGE, each with 3 slots
 * of 4 pages for the block target, a page for a pipe read, a page for a
 * pipe write (those wait for the main thread, so they certainly are in
 * flight at the unmap) and one spare; then the toucher's two ranges; the
 * rest is never mapped.
 */
#define REG_PAGES	128
#define NRANGE		4
#define RANGE_PAGES	16
#define SLOT		NP(4)		/* one block request */
#define SLOTS_PER	3
#define NSLOT		(NRANGE * SLOTS_PER)
#define SLOT_IOVA(i)	(NP((i) / SLOTS_PER * RANGE_PAGES) + (i) % SLOTS_PER * SLOT)
#define PR_IOVA(r)	NP((r) * RANGE_PAGES + 12)
#define PW_IOVA(r)	NP((r) * RANGE_PAGES + 13)
#define T_FIRST		64		/* the toucher's ranges: [64,72), [72,80) */
#define T_RANGES	2
#define T_PAGES		8
#define NEVER		80		/* [80, 128) is never mapped */
#define DEV_BASE	(8UL << 20)
#define W_OFF(s)	(DEV_BASE + (s) * SLOT)
#define R_OFF(s)	(DEV_BASE + (NSLOT + (s)) * SLOT)
#define DEV_SIZE	(2 * NSLOT * SLOT)
#define MARK		0xe7
#define UD_PROBE	0x1000
#define UD_PIPE_R	0x2000
#define UD_PIPE_W	0x2001

struct stress {
	struct ring ring;
	int fd;
	unsigned char *reg;		/* REG_PAGES, mapped for the whole test */
	struct target tg[2];		/* null_blk O_DIRECT; tmpfs */
	unsigned char *rdata;		/* the R zone's content */
	unsigned char *wpat;		/* what the writes of a batch send */
	unsigned char *buf;
	int prd[2], pwr[2];		/* pipes for the pending read, write */
	unsigned char *ppat;		/* what the pipe write sends */
	unsigned char *pin;		/* what the pipe read gets */
	bool registered;
	bool mapped[NRANGE];
	bool fresh[NRANGE];		/* mapped anew, untouched by us since */
	bool marked[NRANGE];		/* remapped in flight, filled with MARK */
	bool tmapped;
	uint64_t rng;
	unsigned long iters, unmaps, unregs, tremaps, probes;
	unsigned long busy;		/* I/O still in flight after the unmap */
	char err[512];

	pthread_t th;
	atomic_bool stop;
	atomic_ulong touches, sigbus, zeroed;
	atomic_bool tfail;
	char terr[256];
	uint64_t trng;
};

static int st_fail(struct stress *s, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(s->err, sizeof(s->err), "batch %lu: ", s->iters);

	va_start(ap, fmt);
	vsnprintf(s->err + n, sizeof(s->err) - n, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The other thread: random pages of the whole region. In its own ranges it
 * writes a new token and reads it back: the token, or zeros after a remap.
 * Elsewhere it only reads (the I/O ranges' data is the main thread's);
 * never-mapped IOVAs must fault.
 */
static void *toucher(void *p)
{
	struct stress *s = p;
	uint64_t token = 0;

	while (!atomic_load(&s->stop)) {
		unsigned pg = rnd_below(&s->trng, REG_PAGES);
		unsigned char *at = s->reg + NP(pg) +
				    8 * rnd_below(&s->trng, PG / 8);
		uint64_t v;
		int sig;

		atomic_fetch_add(&s->touches, 1);
		if (pg >= T_FIRST && pg < NEVER) {
			token++;
			sig = probe_copy_raw(at, &token, 8);
			if (!sig)
				sig = probe_copy_raw(&v, at, 8);
			if (!sig && v != token && v) {
				snprintf(s->terr, sizeof(s->terr),
					 "page %u: wrote token %llu, read %llu back",
					 pg, (unsigned long long)token,
					 (unsigned long long)v);
				atomic_store(&s->tfail, true);
				break;
			}
			if (!sig && !v)
				atomic_fetch_add(&s->zeroed, 1);
		} else {
			sig = probe_copy_raw(&v, at, 8);
			if (!sig && pg >= NEVER) {
				snprintf(s->terr, sizeof(s->terr),
					 "never-mapped page %u was readable", pg);
				atomic_store(&s->tfail, true);
				break;
			}
		}
		if (sig == SIGBUS)
			atomic_fetch_add(&s->sigbus, 1);
		else if (sig) {
			snprintf(s->terr, sizeof(s->terr), "page %u: %s", pg,
				 strsignal(sig));
			atomic_store(&s->tfail, true);
			break;
		}
	}
	return NULL;
}

static int st_map(struct stress *s, unsigned first, unsigned n)
{
	int ret = ring_iotlb_map(&s->ring, NP(first), NP(n), NULL, RW, 0);

	return ret ? st_fail(s, "IOTLB_MAP of [%u, %u): %s", first, first + n,
			     errstr(ret)) : 0;
}

static int st_unmap(struct stress *s, unsigned first, unsigned n)
{
	int ret = ring_iotlb_unmap(&s->ring, NP(first), NP(n));

	return ret ? st_fail(s, "IOTLB_UNMAP of [%u, %u): %s", first, first + n,
			     errstr(ret)) : 0;
}

/* Range r reads as zeros: late I/O on the pages it had must not show. */
static int st_check_zero(struct stress *s, unsigned r)
{
	long d;

	memset(s->buf, 0, NP(RANGE_PAGES));
	d = first_diff(s->reg + NP(r * RANGE_PAGES), s->buf, NP(RANGE_PAGES));
	return d < 0 ? 0 : st_fail(s, "range %u mapped again holds 0x%02x at "
				   "byte %ld, not zeros", r,
				   s->reg[NP(r * RANGE_PAGES) + d], d);
}

/*
 * Range r was just mapped again while I/O on its old pages may still be
 * in flight: zeros now; then its new pages are filled with MARK, so that
 * old pages freed too early and reused for them would show (a late read
 * lands in them, a late write sends MARK).
 */
static int st_remark(struct stress *s, unsigned r)
{
	if (st_check_zero(s, r))
		return -1;
	memset(s->reg + NP(r * RANGE_PAGES), MARK, NP(RANGE_PAGES));
	s->marked[r] = true;
	return 0;
}

/* Everything mapped that should be; fresh ranges checked for zeros. */
static int st_prepare(struct stress *s)
{
	struct ring_iotlb_reg reg = { .size = NP(REG_PAGES) };
	unsigned r, t;
	int ret;

	if (!s->registered) {
		ret = raw_register(s->fd, RING_REGISTER_IOTLB, 0,
				   (uintptr_t)&reg);
		if (ret)
			return st_fail(s, "REGISTER_IOTLB: %s", errstr(ret));
		s->registered = true;
	}
	for (r = 0; r < NRANGE; r++) {
		if (!s->mapped[r]) {
			if (st_map(s, r * RANGE_PAGES, RANGE_PAGES))
				return -1;
			s->mapped[r] = s->fresh[r] = true;
		}
		if (s->fresh[r] && st_check_zero(s, r))
			return -1;
		s->fresh[r] = false;
	}
	if (!s->tmapped) {
		for (t = 0; t < T_RANGES; t++)
			if (st_map(s, T_FIRST + t * T_PAGES, T_PAGES))
				return -1;
		s->tmapped = true;
	}
	return 0;
}

static int st_probe(struct stress *s, struct target *tg, unsigned r)
{
	struct ring_sqe *sqe = ring_get_sqe(&s->ring);
	int ret;

	ring_prep_read_iova(sqe, tg->fd, NP(r * RANGE_PAGES), SLOT, R_OFF(0));
	sqe->user_data = UD_PROBE | r;
	ret = ring_submit(&s->ring);
	s->probes++;
	return ret == 1 ? 0 : st_fail(s, "submit of a probe: %s", errstr(ret));
}

/* Read exactly len bytes from a pipe within the I/O timeout. */
static int st_pipe_read(struct stress *s, int fd, void *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (poll(&pfd, 1, io_timeout_ms()) != 1)
			return st_fail(s, "the pipe write never came (%zu of %zu "
				       "bytes)", got, len);
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return st_fail(s, "read of the pipe: %s",
				       n ? strerror(errno) : "EOF");
		got += n;
	}
	return 0;
}

/*
 * The pipe requests, submitted with the batch: a 1-page READ_FIXED of an
 * empty pipe into range pr and a 1-page WRITE_FIXED from range pw into a
 * full one. Both wait until st_pipes_finish().
 */
static void st_pipes_queue(struct stress *s, unsigned pr, unsigned pw)
{
	struct ring_sqe *sqe = ring_get_sqe(&s->ring);

	ring_prep_read_iova(sqe, s->prd[0], PR_IOVA(pr), PG, 0);
	sqe->user_data = UD_PIPE_R;
	sqe = ring_get_sqe(&s->ring);
	rnd_fill(&s->rng, s->ppat, PG);
	memcpy(s->reg + PW_IOVA(pw), s->ppat, PG);
	ring_prep_write_iova(sqe, s->pwr[1], PW_IOVA(pw), PG, 0);
	sqe->user_data = UD_PIPE_W;
}

/* Let them complete: drain the write's pipe, feed the read's. */
static int st_pipes_finish(struct stress *s)
{
	if (st_pipe_read(s, s->pwr[0], s->buf, PG))	/* the filler */
		return -1;
	if (st_pipe_read(s, s->pwr[0], s->buf, PG))
		return -1;
	if (first_diff(s->buf, s->ppat, PG) >= 0)
		return st_fail(s, "the pipe WRITE_FIXED sent other data than "
			       "its page held at submission (byte %ld)",
			       first_diff(s->buf, s->ppat, PG));
	rnd_fill(&s->rng, s->pin, PG);
	if (write(s->prd[1], s->pin, PG) != (ssize_t)PG)
		return st_fail(s, "write to the pipe: %s", strerror(errno));
	/* Full again for the next batch's write. */
	memset(s->buf, 0xf1, PG);
	if (write(s->pwr[1], s->buf, PG) != (ssize_t)PG)
		return st_fail(s, "refilling the pipe: %s", strerror(errno));
	return 0;
}

/* One batch: submit, pull the rug, reap, verify. */
static int st_batch(struct stress *s)
{
	struct target *tg = &s->tg[s->iters % 4 == 3 && s->tg[1].fd >= 0];
	struct ring_cqe cqe[NSLOT + NRANGE + 3];
	bool write[NSLOT], gone[NRANGE] = { false };
	unsigned i, r, n, action = rnd_below(&s->rng, 8), want = NSLOT + 2;
	unsigned pr = rnd_below(&s->rng, NRANGE), pw = rnd_below(&s->rng, NRANGE);
	long d;
	int ret;

	if (st_prepare(s))
		return -1;
	st_pipes_queue(s, pr, pw);
	for (i = 0; i < NSLOT; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&s->ring);
		__u64 iova = SLOT_IOVA(i);

		write[i] = rnd_below(&s->rng, 2);
		if (write[i]) {
			rnd_fill(&s->rng, s->wpat + i * SLOT, SLOT);
			memcpy(s->reg + iova, s->wpat + i * SLOT, SLOT);
			ring_prep_write_iova(sqe, tg->fd, iova, SLOT, W_OFF(i));
		} else {
			ring_prep_read_iova(sqe, tg->fd, iova, SLOT, R_OFF(i));
		}
		sqe->user_data = i;
	}
	ret = ring_submit(&s->ring);
	if (ret != NSLOT + 2)
		return st_fail(s, "submit of %u: %s", NSLOT + 2, errstr(ret));

	/* At once, with the batch in flight. */
	if (action < 4) {
		unsigned nv = 1 + (action & 1);

		for (i = 0; i < nv; i++) {
			r = rnd_below(&s->rng, NRANGE);
			if (gone[r])
				continue;
			if (st_unmap(s, r * RANGE_PAGES, RANGE_PAGES) ||
			    st_probe(s, tg, r))
				return -1;
			gone[r] = true;
			s->mapped[r] = false;
			s->unmaps++;
			want++;
			/* Mapped again at once, or at the next batch. */
			if (action < 2) {
				if (st_map(s, r * RANGE_PAGES, RANGE_PAGES) ||
				    st_remark(s, r))
					return -1;
				s->mapped[r] = true;
			}
		}
	} else if (action == 4) {
		ret = raw_register(s->fd, RING_UNREGISTER_IOTLB, 0, 0);
		if (ret)
			return st_fail(s, "UNREGISTER_IOTLB: %s", errstr(ret));
		s->registered = s->tmapped = false;
		for (r = 0; r < NRANGE; r++) {
			gone[r] = true;
			s->mapped[r] = false;
		}
		if (st_probe(s, tg, 0))
			return -1;
		want++;
		s->unregs++;
		/* Registered and mapped again at once, or at the next batch. */
		if (rnd_below(&s->rng, 2)) {
			if (st_prepare(s))
				return -1;
			for (r = 0; r < NRANGE; r++)
				if (st_remark(s, r))
					return -1;
		}
	} else if (action == 5) {
		for (i = 0; i < T_RANGES; i++)
			if (st_unmap(s, T_FIRST + i * T_PAGES, T_PAGES) ||
			    st_map(s, T_FIRST + i * T_PAGES, T_PAGES))
				return -1;
		s->tremaps++;
	}

	/* Inflight only falls: the pipe requests at least wait for us. */
	if (action <= 4 && fdinfo_get(s->fd, "Inflight") > 0)
		s->busy++;
	if (st_pipes_finish(s))
		return -1;

	n = reap(&s->ring, cqe, want, io_timeout_ms());
	if (n != want)
		return st_fail(s, "%d of %u CQEs within %d ms (Inflight %lld)",
			       (int)n, want, io_timeout_ms(),
			       fdinfo_get(s->fd, "Inflight"));
	for (i = 0; i < n; i++) {
		__u64 ud = cqe[i].user_data;

		if (ud & UD_PROBE) {
			if (cqe[i].res != -EFAULT)
				return st_fail(s, "READ_FIXED of range %llu "
					       "submitted after its %s: res %d "
					       "(%s), expected -EFAULT",
					       ud & 0xff, action == 4 ?
					       "unregister" : "unmap",
					       cqe[i].res, errstr(cqe[i].res));
			continue;
		}
		if (ud == UD_PIPE_R || ud == UD_PIPE_W) {
			unsigned pg = ud == UD_PIPE_R ? pr : pw;

			if (cqe[i].res != (int)PG)
				return st_fail(s, "pipe %s on range %u%s: res %d "
					       "(%s), expected %zu", ud == UD_PIPE_R ?
					       "READ_FIXED" : "WRITE_FIXED", pg,
					       gone[pg] ? ", unmapped in flight" :
					       "", cqe[i].res, errstr(cqe[i].res),
					       PG);
			continue;
		}
		if (ud >= NSLOT || cqe[i].res != (int)SLOT)
			return st_fail(s, "%s: %s of slot %llu (range %llu%s): "
				       "res %d (%s), expected %zu", tg->name,
				       ud < NSLOT && write[ud] ? "WRITE_FIXED" :
				       "READ_FIXED", ud, ud / SLOTS_PER,
				       ud < NSLOT && gone[ud / SLOTS_PER] ?
				       ", unmapped in flight" : "", cqe[i].res,
				       errstr(cqe[i].res), SLOT);
	}

	for (r = 0; r < NRANGE; r++) {
		if (!s->marked[r])
			continue;
		memset(s->buf, MARK, NP(RANGE_PAGES));
		d = first_diff(s->reg + NP(r * RANGE_PAGES), s->buf,
			       NP(RANGE_PAGES));
		if (d >= 0)
			return st_fail(s, "range %u, mapped again and filled "
				       "with 0x%02x while I/O on its old pages "
				       "was in flight, holds 0x%02x at byte %ld",
				       r, MARK, s->reg[NP(r * RANGE_PAGES) + d],
				       d);
		s->marked[r] = false;
	}
	d = gone[pr] ? -1 : first_diff(s->reg + PR_IOVA(pr), s->pin, PG);
	if (d >= 0)
		return st_fail(s, "pipe READ_FIXED into range %u: byte %ld is "
			       "0x%02x, expected 0x%02x", pr, d,
			       s->reg[PR_IOVA(pr) + d], s->pin[d]);
	for (i = 0; i < NSLOT; i++) {
		unsigned char *want_data = write[i] ? s->wpat + i * SLOT :
						      s->rdata + i * SLOT;
		const unsigned char *got = s->reg + SLOT_IOVA(i);

		if (write[i]) {
			if (pread(tg->fd, s->buf, SLOT, W_OFF(i)) != (ssize_t)SLOT)
				return st_fail(s, "pread: %s", strerror(errno));
			got = s->buf;
		} else if (gone[i / SLOTS_PER]) {
			continue;	/* landed in pages nobody sees */
		}
		d = first_diff(got, want_data, SLOT);
		if (d >= 0)
			return st_fail(s, "%s: %s of slot %u (range %u%s): byte "
				       "%ld is 0x%02x, expected 0x%02x",
				       tg->name, write[i] ? "WRITE_FIXED" :
				       "READ_FIXED", i, i / SLOTS_PER,
				       gone[i / SLOTS_PER] ?
				       ", unmapped in flight" : "", d, got[d],
				       want_data[d]);
	}
	s->iters++;
	return 0;
}

static unsigned stress_seconds(void)
{
	const char *env = getenv("RING_STRESS_SECONDS");

	if (env && *env)
		return (unsigned)strtoul(env, NULL, 0);
	return scaled(30, 1);
}

/*
 * All of the mapping's I/O ranges: unmapped, unregistered, or touched
 * while I/O is in flight on them. See the top of the file.
 */
static void test_unmap_inflight(void **state)
{
	struct ring_stats base;
	struct stress *s = calloc(1, sizeof(*s));
	char cg[128], why[512];
	long long cg0 = -1, cg1, k0 = 0, k1, deadline, t0;
	long held0 = mem_unexplained_kb(), held1;
	unsigned secs = stress_seconds(), t;
	int ret = 0;

	require_ring();
	assert_non_null(s);
	stats_baseline(&base);
	if (cg_create("stress", cg, sizeof(cg), why, sizeof(why))) {
		if (!cg_enter(cg, 0))
			fail_msg("moving into %s: %s", cg, strerror(errno));
		cg0 = cg_read(cg, "memory.current");
		k0 = cg_kmem_other(cg);
	} else {
		print_message("# no memory cgroup (%s): leak check by "
			      "unexplained memory only\n", why);
	}
	s->rng = test_seed("IOTLB unmap with I/O in flight");
	s->trng = s->rng ^ 0x9e3779b97f4a7c15ULL;
	target_open(&s->tg[0], TGT_NULLB, true, DEV_BASE, DEV_SIZE);
	target_open(&s->tg[1], TGT_TMPFS, false, DEV_BASE, DEV_SIZE);
	s->rdata = xalloc(DEV_SIZE);
	s->wpat = xalloc(NSLOT * SLOT);
	s->buf = xalloc(NP(RANGE_PAGES));
	s->ppat = xalloc(PG);
	s->pin = xalloc(PG);
	if (pipe2(s->prd, O_CLOEXEC) || pipe2(s->pwr, O_CLOEXEC))
		fail_msg("pipe2: %s", strerror(errno));
	/* One page of capacity, full: a 1-page write waits for us. */
	if (fcntl(s->pwr[1], F_SETPIPE_SZ, (int)PG) != (int)PG)
		fail_msg("F_SETPIPE_SZ 4096: %s", strerror(errno));
	memset(s->pin, 0xf1, PG);
	if (write(s->pwr[1], s->pin, PG) != (ssize_t)PG)
		fail_msg("filling the pipe: %s", strerror(errno));
	for (t = 0; t < 2; t++) {
		/* Both get the same content: R zone = rdata. */
		uint64_t r = s->rng;

		target_fill(&s->tg[t], s->rdata, &r);
	}
	memmove(s->rdata, s->rdata + NSLOT * SLOT, NSLOT * SLOT);

	ring_init_or_fail(&s->ring, 2 * NSLOT);
	s->fd = s->ring.ring_fd;
	s->reg = mmap(NULL, NP(REG_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED,
		      s->fd, RING_OFF_IOTLB);
	if (s->reg == MAP_FAILED)
		fail_msg("mmap of the IOTLB: %s", strerror(errno));
	probe_install();
	if (pthread_create(&s->th, NULL, toucher, s))
		fail_msg("pthread_create failed");

	t0 = now_ns();
	deadline = t0 + secs * 1000000000LL;
	/*
	 * The time asked for, then on until an unmap met I/O in flight and a
	 * touch got SIGBUS: a slow machine gets there late, not never.
	 */
	while (!atomic_load(&s->tfail) &&
	       (now_ns() < deadline ||
		((!s->busy || !atomic_load(&s->sigbus)) &&
		 now_ns() < deadline + settle_ms() * 1000000LL)))
		if ((ret = st_batch(s)))
			break;
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	print_message("# %.1f s: %lu batches, %lu ranges unmapped and %lu "
		      "regions unregistered (requests in flight in %lu of "
		      "those batches), %lu toucher remaps, %lu probes; %lu "
		      "touches, %lu "
		      "SIGBUS, %lu zeros after a remap\n",
		      (now_ns() - t0) / 1e9, s->iters, s->unmaps, s->unregs,
		      s->busy, s->tremaps, s->probes,
		      atomic_load(&s->touches), atomic_load(&s->sigbus),
		      atomic_load(&s->zeroed));
	if (ret)
		fail_msg("%s", s->err);
	if (atomic_load(&s->tfail))
		fail_msg("the touching thread: %s", s->terr);
	if (!s->iters || !atomic_load(&s->sigbus) || !s->busy)
		fail_msg("nothing happened: %lu batches, %lu SIGBUS, %lu unmaps "
			 "with I/O in flight", s->iters,
			 atomic_load(&s->sigbus), s->busy);

	/* Ranges gone: nothing mapped, nothing resident; then the region. */
	if (st_prepare(s))
		fail_msg("%s", s->err);
	for (t = 0; t < NRANGE; t++)
		if (st_unmap(s, t * RANGE_PAGES, RANGE_PAGES))
			fail_msg("%s", s->err);
	for (t = 0; t < T_RANGES; t++)
		if (st_unmap(s, T_FIRST + t * T_PAGES, T_PAGES))
			fail_msg("%s", s->err);
	if (fdinfo_get(s->fd, "IotlbMapped") != 0 ||
	    fdinfo_get(s->fd, "IotlbResident") != 0)
		fail_msg("all ranges unmapped: IotlbMapped %lld IotlbResident "
			 "%lld", fdinfo_get(s->fd, "IotlbMapped"),
			 fdinfo_get(s->fd, "IotlbResident"));
	expect_ret(raw_register(s->fd, RING_UNREGISTER_IOTLB, 0, 0), 0);
	if (fdinfo_get(s->fd, "IotlbSize") != 0 ||
	    fdinfo_get(s->fd, "IotlbResident") != 0)
		fail_msg("unregistered: IotlbSize %lld IotlbResident %lld",
			 fdinfo_get(s->fd, "IotlbSize"),
			 fdinfo_get(s->fd, "IotlbResident"));
	expect_no_requests(&base, "after the stress");
	munmap(s->reg, NP(REG_PAGES));
	ring_queue_exit(&s->ring);
	target_close(&s->tg[0]);
	target_close(&s->tg[1]);
	free(s->rdata);
	free(s->wpat);
	free(s->buf);
	free(s->ppat);
	free(s->pin);
	close(s->prd[0]);
	close(s->prd[1]);
	close(s->pwr[0]);
	close(s->pwr[1]);
	expect_stats(&base, "after the stress");

	if (cg0 >= 0) {
		cg1 = cg_read(cg, "memory.current");
		k1 = cg_kmem_other(cg);
		cg_enter(CG_ROOT, 0);
		print_message("# the test's cgroup: memory.current %lld kB at the "
			      "start, %lld kB at the end; kernel memory other "
			      "than slab, stacks, page tables, percpu and vmalloc "
			      "%lld kB, then %lld kB\n", cg0 >> 10, cg1 >> 10,
			      k0 >> 10, k1 >> 10);
		/*
		 * IOTLB pages are charged as such kernel memory; the rest of
		 * memory.current is the test's own (heap, THP, page cache).
		 */
		if (k1 > k0 + (512LL << 10) + cg_stat_staleness())
			fail_msg("the cgroup holds %lld kB more kernel memory "
				 "after the stress: IOTLB pages leaked?",
				 (k1 - k0) >> 10);
	}
	held1 = mem_unexplained_kb();
	print_message("# memory no counter explains: %ld kB before, %ld kB "
		      "after\n", held0, held1);
	/* KASAN and kmemleak keep about 1 MiB more around on debug. */
	if (held1 > held0 + ((debug_kernel() ? 8L : 2L) << 10))
		fail_msg("%ld kB held by no known owner after the stress, %ld "
			 "kB before: IOTLB pages leaked?", held1, held0);
	free(s);
}

/* ---- memcg charging ------------------------------------------------------ */

#define MC_PAGES	4096		/* 16 MiB region */
#define MC_IN		256		/* BOUNCE_IN pages */

struct mc_arg {
	int go;				/* read end: the parent moved us */
	int file;			/* MC_PAGES / 2 pages of data */
	const char *cg;
};

static long long mc_current(const char *cg)
{
	long long v = cg_read(cg, "memory.current");

	CHILD_CHECK(v >= 0, "reading %s/memory.current", cg);
	return v;
}

/* c - c0 is within [lo, hi] bytes. */
#define MC_EXPECT(c, c0, lo, hi, what) do {				\
	long long __d = (c) - (c0);					\
	CHILD_CHECK(__d >= (long long)(lo) && __d <= (long long)(hi),	\
		    "%s: memory.current grew by %lld kB, expected %lld to "\
		    "%lld kB", what, __d >> 10, (long long)(lo) >> 10,	\
		    (long long)(hi) >> 10);				\
} while (0)

static void child_memcg(void *p)
{
	const long long n = NP(MC_PAGES), half = NP(MC_PAGES / 2);
	const long long slack = 2LL << 20;	/* per-CPU caches, tables */
	struct mc_arg *a = p;
	struct ring ring;
	unsigned char *reg = NULL, *in;
	long long c0, c1, c2, c3, c4, k0, k2;
	unsigned i;
	char x;
	int ret;

	CHILD_CHECK(read(a->go, &x, 1) == 1, "waiting for the parent");
	in = mmap(NULL, NP(MC_IN), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	CHILD_CHECK(in != MAP_FAILED, "mmap");
	memset(in, 0x77, NP(MC_IN));
	ret = ring_queue_init(8, &ring, 0);
	CHILD_EXPECT(ret, 0, "ring_queue_init");
	c0 = mc_current(a->cg);
	k0 = cg_kmem_other(a->cg);

	CHILD_EXPECT(ring_register_iotlb(&ring, n, (void **)&reg), 0,
		     "REGISTER_IOTLB of %lld bytes", n);
	CHILD_EXPECT(ring_iotlb_map(&ring, 0, n, NULL, RW, 0), 0, "IOTLB_MAP");
	c1 = mc_current(a->cg);
	MC_EXPECT(c1, c0, -slack, slack, "registered and mapped, untouched");

	/* Half by the user, half by READ_FIXED (the file is the parent's). */
	for (i = 0; i < MC_PAGES / 2; i++)
		reg[NP(i) + i % PG] = 1;
	for (i = 0; i < MC_PAGES / 2; i += 64) {
		struct ring_sqe *sqe = ring_get_sqe(&ring);
		struct ring_cqe *cqe;

		ring_prep_read_iova(sqe, a->file, half + NP(i), NP(64), NP(i));
		CHILD_EXPECT(ring_submit_and_wait(&ring, 1), 1, "submit");
		CHILD_EXPECT(ring_wait_cqe(&ring, &cqe), 0, "wait");
		CHILD_EXPECT(cqe->res, NP(64), "READ_FIXED of 64 pages at %u",
			     i);
		ring_cqe_seen(&ring, cqe);
	}
	CHILD_EXPECT(fdinfo_get(ring.ring_fd, "IotlbResident"), MC_PAGES,
		     "IotlbResident with every page touched");
	CHILD_EXPECT(self_status_kb("VmPin"), 0, "VmPin (kB)");
	CHILD_EXPECT(fdinfo_get(ring.ring_fd, "PinnedPages"), 0, "PinnedPages");
	c2 = mc_current(a->cg);
	MC_EXPECT(c2, c0, n - (256 << 10), n + slack, "every page touched");
	/* As kernel memory of no other kind: what the stress test watches. */
	k2 = cg_kmem_other(a->cg);
	CHILD_CHECK(k2 - k0 >= n - cg_stat_staleness() &&
		    k2 - k0 <= n + (512 << 10) + cg_stat_staleness(),
		    "every page touched: memory.stat kernel memory other than "
		    "slab, stacks, page tables, percpu and vmalloc grew by "
		    "%lld kB, expected about %lld kB", (k2 - k0) >> 10, n >> 10);

	CHILD_EXPECT(ring_iotlb_unmap(&ring, 0, n), 0, "IOTLB_UNMAP");
	c3 = mc_current(a->cg);
	MC_EXPECT(c3, c0, -slack, slack, "all unmapped");

	CHILD_EXPECT(ring_iotlb_map(&ring, 0, NP(MC_IN), in,
				    RING_IOTLB_PERM_READ, RING_IOTLB_BOUNCE_IN),
		     0, "IOTLB_MAP BOUNCE_IN");
	c4 = mc_current(a->cg);
	MC_EXPECT(c4, c3, NP(MC_IN) - (256 << 10), NP(MC_IN) + slack,
		  "BOUNCE_IN");
	CHILD_EXPECT(ring_unregister_iotlb(&ring, reg, n), 0, "UNREGISTER");
	c4 = mc_current(a->cg);
	MC_EXPECT(c4, c0, -slack, slack, "unregistered");
	ring_queue_exit(&ring);
	snprintf(child_rep->note, sizeof(child_rep->note),
		 "memory.current (kB): ring %lld, registered %lld, %d pages "
		 "touched %lld, unmapped %lld, unregistered %lld", c0 >> 10,
		 c1 >> 10, MC_PAGES, c2 >> 10, c3 >> 10, c4 >> 10);
}

/*
 * Pages of the region are charged to the memory cgroup of the task that
 * brings them in, and uncharged as soon as they are freed.
 */
static void test_memcg_charge(void **state)
{
	struct child_report *rep = child_report_new();
	struct ring_stats base;
	struct target tg;
	struct mc_arg a;
	char cg[128], why[512];
	unsigned char *data;
	uint64_t rng;
	int go[2];
	pid_t pid;

	require_ring();
	stats_baseline(&base);
	if (!cg_create("memcg", cg, sizeof(cg), why, sizeof(why)))
		FIXED_SKIP("%s", why);
	rng = test_seed("memcg charging");
	/* Written here: its page cache is charged to us, not the child. */
	target_open(&tg, TGT_TMPFS, false, 0, NP(MC_PAGES / 2));
	data = xalloc(NP(MC_PAGES / 2));
	target_fill(&tg, data, &rng);
	free(data);

	assert_int_equal(pipe(go), 0);
	a.go = go[0];
	a.file = tg.fd;
	a.cg = cg;
	pid = spawn_child(child_memcg, &a, rep);
	if (!cg_enter(cg, pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("moving the child into %s: %s", cg, strerror(errno));
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	wait_child(pid, rep, "memcg");
	close(go[0]);
	close(go[1]);
	target_close(&tg);
	munmap(rep, sizeof(*rep));
	expect_stats(&base, "memcg");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_memcg_charge),
	cmocka_unit_test(test_unmap_inflight),
};

VMTEST_MAIN(tests)
