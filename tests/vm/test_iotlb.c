// SPDX-License-Identifier: MIT
/*
 * The IOTLB bounce region, one behaviour at a time:
 *  - fresh pages read as zeros, through the mapping and through
 *    WRITE_FIXED, also after unmap + remap of the same IOVA (never old
 *    data); what the mapping holds is what WRITE_FIXED puts on a file
 *    (tmpfs, and null_blk with O_DIRECT), what READ_FIXED brings is what
 *    the mapping shows, touched before or not;
 *  - SIGBUS outside any mapped range, beyond the region, after unmap and
 *    after unregister; a forked child has no mapping (SIGSEGV);
 *    MAP_PRIVATE, mappings beyond iotlb_max_bytes and mremap growth fail;
 *  - perm enforcement and ranges straddling two mapped ranges (CQE
 *    -EFAULT, nothing moved);
 *  - every rejection of REGISTER_IOTLB, UNREGISTER_IOTLB, IOTLB_MAP and
 *    IOTLB_UNMAP with its errno, fdinfo IotlbSize/IotlbMapped/
 *    IotlbResident and the module stats unchanged after each;
 *  - stream mappings: BOUNCE_IN data reaches the file, BOUNCE_OUT data
 *    the user buffer at unmap (untouched pages as zeros);
 *  - rings share the device inode: one ring's unmap leaves another's data
 *    alone; a mapping outlives close() of the ring fd;
 *  - the mapping is ordinary memory to syscalls (buffered and O_DIRECT)
 *    and plain READ/WRITE; MADV_DONTNEED keeps the data;
 *  - close and exit with IOTLB requests in flight free everything;
 *  - nobody with RLIMIT_MEMLOCK 0 (no fixed buffers for them) uses a
 *    region: nothing pinned or locked;
 *  - a 1 GiB region, a 1 GiB + 4 KiB request and a 4 TiB REGISTER (with
 *    iotlb_max_bytes raised) work or fail cleanly, without kernel WARNs.
 */
#include "fixedtest.h"
#include "probe.h"

#include <grp.h>
#include <signal.h>
#include <linux/fs.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>

#define NP(n)		((size_t)(n) * PG)
#define PARAM_MAX	"/sys/module/ring/parameters/iotlb_max_bytes"
#define RW		(RING_IOTLB_PERM_READ | RING_IOTLB_PERM_WRITE)

/* Touching the mapping: SIGBUS/SIGSEGV caught, never fatal (probe.h). */

static int probe_read(const void *p)
{
	unsigned char c;

	return probe_copy(&c, p, 1);
}

static int probe_write(void *p, unsigned char v)
{
	return probe_copy(p, &v, 1);
}

static const char *sig_name(int sig)
{
	return sig ? strsignal(sig) : "no signal";
}

#define expect_sig(expr, want, fmt, ...) do {				\
	int __s = (expr), __w = (want);					\
	if (__s != __w)							\
		fail_msg(fmt ": %s, expected %s", ##__VA_ARGS__,	\
			 sig_name(__s), sig_name(__w));			\
} while (0)

/* Every byte of [p, p + len) readable and zero. */
static void expect_zero(const unsigned char *p, size_t len, const char *what)
{
	unsigned char *buf = malloc(len), *zero = calloc(1, len);
	int sig;

	assert_true(buf && zero);
	sig = probe_copy(buf, p, len);
	if (sig)
		fail_msg("%s: reading %zu bytes: %s", what, len, strsignal(sig));
	expect_same(buf, zero, len, "%s: not zero", what);
	free(buf);
	free(zero);
}

/* ---- fdinfo and the region -------------------------------------------- */

struct tlbinfo {
	long long size, mapped, resident;
};

static struct tlbinfo tlb_info(int fd)
{
	struct tlbinfo i = {
		fdinfo_get(fd, "IotlbSize"),
		fdinfo_get(fd, "IotlbMapped"),
		fdinfo_get(fd, "IotlbResident"),
	};

	return i;
}

/* fdinfo shows size bytes, mapped pages, resident pages (< 0: any). */
static void expect_tlb(int fd, long long size, long long mapped,
		       long long resident, const char *what)
{
	struct tlbinfo i = tlb_info(fd);

	if (i.size != size || i.mapped != mapped ||
	    (resident >= 0 && i.resident != resident))
		fail_msg("%s: fdinfo IotlbSize %lld IotlbMapped %lld "
			 "IotlbResident %lld, expected %lld %lld %lld", what,
			 i.size, i.mapped, i.resident, size, mapped, resident);
}

/* Nothing changed: fdinfo as before, module stats as before. */
static void expect_unchanged(int fd, const struct tlbinfo *before,
			     const struct ring_stats *stats, const char *what)
{
	struct ring_stats now;

	expect_tlb(fd, before->size, before->mapped, before->resident, what);
	stats_get(&now);
	if (now.rings != stats->rings || now.requests != stats->requests ||
	    now.pages != stats->pages)
		fail_msg("%s: stats rings %ld requests %ld pages %ld, before "
			 "%ld %ld %ld", what, now.rings, now.requests, now.pages,
			 stats->rings, stats->requests, stats->pages);
}

static unsigned long long param_max(void)
{
	long v = read_long(PARAM_MAX);

	if (v <= 0)
		fail_msg("cannot read %s", PARAM_MAX);
	return (unsigned long long)v;
}

/* A ring with a registered region mapped at reg (IOVA 0). */
struct itlb {
	struct ring ring;
	unsigned char *reg;
	size_t size;
	int fd;
};

static void itlb_init(struct itlb *t, unsigned entries, size_t size)
{
	void *reg = NULL;

	ring_init_or_fail(&t->ring, entries);
	t->fd = t->ring.ring_fd;
	expect_ret_msg(ring_register_iotlb(&t->ring, size, &reg), 0,
		       "REGISTER_IOTLB of %zu bytes", size);
	t->reg = reg;
	t->size = size;
	expect_tlb(t->fd, size, 0, 0, "region registered");
}

static void itlb_exit(struct itlb *t)
{
	if (t->reg)
		expect_ret_msg(ring_unregister_iotlb(&t->ring, t->reg, t->size),
			       0, "UNREGISTER_IOTLB");
	t->reg = NULL;
	ring_queue_exit(&t->ring);
}

static int raw_map(int fd, __u64 iova, __u64 size, __u64 uaddr, __u32 perm,
		   __u32 flags)
{
	struct ring_iotlb_map m = { iova, size, uaddr, perm, flags };

	return raw_register(fd, RING_IOTLB_MAP, 0, (uintptr_t)&m);
}

static int raw_unmap(int fd, __u64 iova, __u64 size)
{
	struct ring_iotlb_map m = { .iova = iova, .size = size };

	return raw_register(fd, RING_IOTLB_UNMAP, 0, (uintptr_t)&m);
}

static int raw_reg(int fd, __u64 size, __u32 flags, __u32 resv)
{
	struct ring_iotlb_reg r = { size, flags, resv };

	return raw_register(fd, RING_REGISTER_IOTLB, 0, (uintptr_t)&r);
}

static void map_ok(struct itlb *t, unsigned first, unsigned n, unsigned perm)
{
	expect_ret_msg(ring_iotlb_map(&t->ring, NP(first), NP(n), NULL, perm,
				      0), 0, "IOTLB_MAP of pages [%u, %u)",
		       first, first + n);
}

static void unmap_ok(struct itlb *t, unsigned first, unsigned n)
{
	expect_ret_msg(ring_iotlb_unmap(&t->ring, NP(first), NP(n)), 0,
		       "IOTLB_UNMAP of pages [%u, %u)", first, first + n);
}

/* One READ_FIXED/WRITE_FIXED on an IOVA: its CQE res. */
static int iova_io(struct ring *ring, int op, int fd, __u64 iova,
		   unsigned len, __u64 off)
{
	struct ring_sqe s;

	if (op == RING_OP_READ_FIXED)
		ring_prep_read_iova(&s, fd, iova, len, off);
	else
		ring_prep_write_iova(&s, fd, iova, len, off);
	s.user_data = 0x10b1b000000ULL | op;
	return run_one(ring, &s);
}

static const char *op_name(int op)
{
	return op == RING_OP_READ_FIXED ? "READ_FIXED" : "WRITE_FIXED";
}

/* A file of size bytes whose content is in *shadow (malloc'ed). */
static void file_random(struct target *tg, enum tgt_kind kind, bool direct,
			size_t size, unsigned char **shadow, uint64_t *rng)
{
	target_open(tg, kind, direct, 0, size);
	*shadow = xalloc(size);
	target_fill(tg, *shadow, rng);
}

static void expect_file(const struct target *tg, const unsigned char *want,
			size_t len, off_t off, const char *what)
{
	unsigned char *got = xalloc(len);

	xpread(tg->fd, got, len, off);
	expect_same(got, want, len, "%s: file at %lld", what, (long long)off);
	free(got);
}

/* ---- tests ------------------------------------------------------------- */

/*
 * Fresh pages are zeros, whether the user or the kernel touches them
 * first, and an unmap + remap of the same IOVA gives fresh zeros again,
 * through the old mapping too; IotlbResident counts pages as they come.
 */
static void test_fresh_zeros(void **state)
{
	struct ring_stats base;
	struct target tg;
	struct itlb t;
	unsigned char *shadow, *ones = xalloc(NP(4));
	uint64_t rng;
	unsigned i;

	require_ring();
	stats_baseline(&base);
	rng = test_seed("fresh zeros");
	file_random(&tg, TGT_TMPFS, false, NP(16), &shadow, &rng);
	itlb_init(&t, 4, NP(32));

	map_ok(&t, 0, 8, RW);
	expect_tlb(t.fd, NP(32), 8, 0, "8 pages mapped, none touched");
	expect_zero(t.reg, NP(3), "pages 0-2, first read");
	expect_tlb(t.fd, NP(32), 8, 3, "3 pages read");
	/* A first write fault on a page not read yet. */
	expect_sig(probe_write(t.reg + NP(5) + 7, 0x5a), 0, "write to page 5");
	assert_int_equal(t.reg[NP(5) + 7], 0x5a);
	expect_zero(t.reg + NP(5), 7, "page 5 before the byte written");
	expect_tlb(t.fd, NP(32), 8, 4, "3 pages read, 1 written");
	rnd_fill(&rng, t.reg, NP(8));

	unmap_ok(&t, 0, 8);
	expect_tlb(t.fd, NP(32), 0, 0, "unmapped");
	map_ok(&t, 0, 8, RW);
	expect_zero(t.reg, NP(8), "pages 0-7 remapped");
	expect_tlb(t.fd, NP(32), 8, 8, "remapped and read");

	/* Again with another layout over the same IOVAs. */
	memset(t.reg, 0xee, NP(8));
	unmap_ok(&t, 0, 8);
	map_ok(&t, 0, 3, RW);
	map_ok(&t, 3, 5, RING_IOTLB_PERM_READ);
	expect_zero(t.reg, NP(8), "pages 0-7 remapped as 3 + 5");
	unmap_ok(&t, 0, 3);
	unmap_ok(&t, 3, 5);

	/* The kernel allocates too: WRITE_FIXED of untouched pages. */
	memset(ones, 0xff, NP(4));
	map_ok(&t, 8, 8, RW);
	for (i = 0; i < 2; i++) {
		xpwrite(tg.fd, ones, NP(4), 0);
		expect_ret_msg(iova_io(&t.ring, RING_OP_WRITE_FIXED, tg.fd,
				       NP(9) + 100, NP(4), 0), NP(4),
			       "WRITE_FIXED of untouched pages (round %u)", i);
		memset(ones, 0, NP(4));
		expect_file(&tg, ones, NP(4), 0, "WRITE_FIXED of fresh pages");
		memset(ones, 0xff, NP(4));
		expect_tlb(t.fd, NP(32), 8, 5, "WRITE_FIXED over 5 pages");
		/* Data the user puts there must not come back after remap. */
		memset(t.reg + NP(8), 0x77, NP(8));
		unmap_ok(&t, 8, 8);
		map_ok(&t, 8, 8, RW);
	}
	expect_zero(t.reg + NP(8), NP(8), "pages 8-15 after two remaps");
	unmap_ok(&t, 8, 8);
	expect_tlb(t.fd, NP(32), 0, 0, "all unmapped");

	itlb_exit(&t);
	free(ones);
	free(shadow);
	target_close(&tg);
	expect_stats(&base, "fresh zeros");
}

/*
 * Data written through the mapping is what WRITE_FIXED puts on the
 * target; what READ_FIXED brings is visible through the mapping, into
 * pages touched before or not. A 64-page range takes the I/O path for
 * more pages than fit the request's inline bvecs.
 */
static void data_paths(enum tgt_kind kind, bool direct)
{
	/* Ranges: A [0,16), B [16,80), C [80,81). */
	struct ring_stats base;
	struct target tg;
	struct itlb t;
	unsigned char *shadow, *buf = xalloc(NP(64));
	size_t al = 1, fsz = NP(256);
	__u64 a_off = direct ? 0 : 100;		/* in A */
	size_t a_len = direct ? NP(4) : NP(3) + 500;
	size_t tail;
	uint64_t rng;
	int lbs = 512;

	require_ring();
	stats_baseline(&base);
	rng = test_seed(direct ? "data paths, O_DIRECT" : "data paths");
	file_random(&tg, kind, direct, fsz, &shadow, &rng);
	/* O_DIRECT: offsets and lengths in logical blocks, not pages. */
	if (direct && (ioctl(tg.fd, BLKSSZGET, &lbs) || lbs <= 0 || lbs >= 4096))
		fail_msg("%s: logical block size %d (%s), want < 4096", tg.name,
			 lbs, strerror(errno));
	if (direct)
		al = lbs;
	itlb_init(&t, 8, NP(128));
	map_ok(&t, 0, 16, RW);
	map_ok(&t, 16, 64, RW);
	map_ok(&t, 80, 1, RW);

	/* mapping -> file, crossing pages (misaligned when buffered) */
	rnd_fill(&rng, t.reg + a_off, a_len);
	memcpy(shadow + NP(8) + al * 3, t.reg + a_off, a_len);
	expect_ret_msg(iova_io(&t.ring, RING_OP_WRITE_FIXED, tg.fd, a_off,
			       a_len, NP(8) + al * 3), a_len,
		       "WRITE_FIXED of %zu bytes at IOVA %llu", a_len,
		       (unsigned long long)a_off);
	expect_file(&tg, shadow, fsz, 0, "after WRITE_FIXED from range A");

	/* all 64 pages of B, touched by the user */
	rnd_fill(&rng, t.reg + NP(16), NP(64));
	memcpy(shadow + NP(100), t.reg + NP(16), NP(64));
	expect_ret_msg(iova_io(&t.ring, RING_OP_WRITE_FIXED, tg.fd, NP(16),
			       NP(64), NP(100)), NP(64),
		       "WRITE_FIXED of 64 pages");
	expect_file(&tg, shadow, fsz, 0, "after WRITE_FIXED of range B");

	/* file -> touched pages: the PTEs already there show the new data */
	expect_ret_msg(iova_io(&t.ring, RING_OP_READ_FIXED, tg.fd, NP(16),
			       NP(64), NP(0)), NP(64), "READ_FIXED of 64 pages");
	assert_int_equal(probe_copy(buf, t.reg + NP(16), NP(64)), 0);
	expect_same(buf, shadow, NP(64), "range B after READ_FIXED");

	/* file -> untouched pages of A: the kernel allocates them */
	expect_tlb(t.fd, NP(128), 81, -1, "before READ_FIXED into A's tail");
	{
		long long r0 = tlb_info(t.fd).resident;

		expect_ret_msg(iova_io(&t.ring, RING_OP_READ_FIXED, tg.fd,
				       NP(8) + al, NP(8) - al, NP(40) + al),
			       NP(8) - al, "READ_FIXED into untouched pages");
		expect_tlb(t.fd, NP(128), 81, r0 + 8,
			   "READ_FIXED allocated 8 pages");
	}
	assert_int_equal(probe_copy(buf, t.reg + NP(8), NP(8)), 0);
	expect_same(buf + al, shadow + NP(40) + al, NP(8) - al,
		    "range A's tail after READ_FIXED");
	expect_zero(buf, al, "byte(s) before the READ_FIXED");

	/* the last bytes of the 1-page range C, both ways */
	tail = al;
	rnd_fill(&rng, t.reg + NP(81) - tail, tail);
	memcpy(shadow + NP(200), t.reg + NP(81) - tail, tail);
	expect_ret_msg(iova_io(&t.ring, RING_OP_WRITE_FIXED, tg.fd,
			       NP(81) - tail, tail, NP(200)), tail,
		       "WRITE_FIXED of C's last %zu bytes", tail);
	expect_file(&tg, shadow + NP(200), tail, NP(200), "C's tail written");
	expect_ret_msg(iova_io(&t.ring, RING_OP_READ_FIXED, tg.fd,
			       NP(81) - tail, tail, NP(201)), tail,
		       "READ_FIXED into C's last %zu bytes", tail);
	expect_same(t.reg + NP(81) - tail, shadow + NP(201), tail,
		    "C's tail read");
	expect_zero(t.reg + NP(80), NP(1) - tail, "the rest of C");

	itlb_exit(&t);
	free(buf);
	free(shadow);
	target_close(&tg);
	expect_stats(&base, "data paths");
}

static void test_data_tmpfs(void **state)
{
	data_paths(TGT_TMPFS, false);
}

static void test_data_nullb_direct(void **state)
{
	data_paths(TGT_NULLB, true);
}

/*
 * SIGBUS outside every mapped range (also beyond the region, in a mapping
 * made before REGISTER), after unmap (both mappings of one IOVA) and
 * after unregister; a region registered again starts unmapped and zeroed.
 */
static void test_sigbus(void **state)
{
	struct ring_stats base;
	struct itlb t;
	unsigned char *alias, *beyond, *early;
	unsigned i;
	static const unsigned outside[] = { 0, 3, 8, 15 };

	require_ring();
	stats_baseline(&base);
	itlb_init(&t, 4, NP(16));
	map_ok(&t, 4, 4, RW);
	for (i = 0; i < 4; i++) {
		expect_sig(probe_read(t.reg + NP(outside[i]) + 5), SIGBUS,
			   "read of unmapped page %u", outside[i]);
		expect_sig(probe_write(t.reg + NP(outside[i]), 1), SIGBUS,
			   "write to unmapped page %u", outside[i]);
	}
	expect_zero(t.reg + NP(4), NP(4), "mapped pages 4-7");
	expect_tlb(t.fd, NP(16), 4, 4, "SIGBUS allocated nothing");

	beyond = mmap(NULL, NP(2), PROT_READ | PROT_WRITE, MAP_SHARED, t.fd,
		      RING_OFF_IOTLB + NP(16));
	if (beyond == MAP_FAILED)
		fail_msg("mmap of IOVA 16 pages beyond a 16-page region: %s",
			 strerror(errno));
	expect_sig(probe_read(beyond), SIGBUS, "read beyond the region");
	expect_sig(probe_write(beyond + NP(1), 3), SIGBUS,
		   "write beyond the region");
	munmap(beyond, NP(2));

	/* Two mappings of one IOVA see one page; unmap zaps both. */
	alias = mmap(NULL, NP(4), PROT_READ | PROT_WRITE, MAP_SHARED, t.fd,
		     RING_OFF_IOTLB + NP(4));
	assert_true(alias != MAP_FAILED);
	memset(t.reg + NP(4), 0x3c, NP(4));
	for (i = 0; i < 4; i++)
		assert_int_equal(alias[NP(i) + 99], 0x3c);
	alias[NP(3) + 1] = 0x11;
	assert_int_equal(t.reg[NP(7) + 1], 0x11);
	unmap_ok(&t, 4, 4);
	for (i = 4; i < 8; i++) {
		expect_sig(probe_read(t.reg + NP(i)), SIGBUS,
			   "read of page %u after unmap", i);
		expect_sig(probe_write(t.reg + NP(i) + 9, 1), SIGBUS,
			   "write to page %u after unmap", i);
		expect_sig(probe_read(alias + NP(i - 4)), SIGBUS,
			   "read of page %u through a 2nd mapping after unmap",
			   i);
	}
	map_ok(&t, 4, 4, RW);
	expect_zero(alias, NP(4), "2nd mapping after remap");
	memset(alias, 0x42, NP(4));

	/* Unregister with the mappings kept: SIGBUS everywhere. */
	expect_ret(raw_register(t.fd, RING_UNREGISTER_IOTLB, 0, 0), 0);
	expect_tlb(t.fd, 0, 0, 0, "unregistered");
	for (i = 0; i < 16; i += 3)
		expect_sig(probe_read(t.reg + NP(i)), SIGBUS,
			   "read of page %u after unregister", i);
	expect_sig(probe_read(alias + NP(1)), SIGBUS,
		   "read through the 2nd mapping after unregister");
	expect_sig(probe_write(alias, 1), SIGBUS,
		   "write through the 2nd mapping after unregister");

	/* Registered again: unmapped until mapped, then zeros. */
	expect_ret(raw_reg(t.fd, NP(16), 0, 0), 0);
	expect_sig(probe_read(alias), SIGBUS, "read after re-register");
	map_ok(&t, 4, 4, RW);
	expect_zero(alias, NP(4), "re-registered region, 2nd mapping");
	expect_zero(t.reg + NP(4), NP(4), "re-registered region");
	munmap(alias, NP(4));
	itlb_exit(&t);

	/* A mapping made before REGISTER works once a range is mapped. */
	ring_init_or_fail(&t.ring, 4);
	early = mmap(NULL, NP(4), PROT_READ | PROT_WRITE, MAP_SHARED,
		     t.ring.ring_fd, RING_OFF_IOTLB);
	if (early == MAP_FAILED)
		fail_msg("mmap of the IOTLB before REGISTER: %s",
			 strerror(errno));
	expect_sig(probe_read(early), SIGBUS, "read before REGISTER");
	expect_ret(raw_reg(t.ring.ring_fd, NP(4), 0, 0), 0);
	expect_sig(probe_read(early), SIGBUS, "read before MAP");
	expect_ret(ring_iotlb_map(&t.ring, 0, NP(4), NULL, RW, 0), 0);
	expect_zero(early, NP(4), "mapping made before REGISTER");
	munmap(early, NP(4));
	expect_ret(raw_register(t.ring.ring_fd, RING_UNREGISTER_IOTLB, 0, 0), 0);
	ring_queue_exit(&t.ring);
	expect_stats(&base, "SIGBUS");
}

/* In a child: the access got signal want (0: none). */
#define CHILD_SIG(expr, want, what) do {				\
	int __s = (expr);						\
	CHILD_CHECK(__s == (want), "%s: %s, expected %s", what,		\
		    sig_name(__s), sig_name(want));			\
} while (0)

struct fork_arg {
	unsigned char *reg;
	int go, done;		/* pipes: parent -> child, child -> parent */
};

/* The child of a plain fork(): the region is simply not mapped. */
static void child_no_mapping(void *p)
{
	struct fork_arg *a = p;

	CHILD_SIG(probe_read(a->reg), SIGSEGV, "child's read of the region");
	CHILD_SIG(probe_write(a->reg + NP(1), 1), SIGSEGV,
		  "child's write to the region");
}

static void child_dofork(void *p)
{
	struct fork_arg *a = p;
	unsigned char c = 0;
	char x;

	CHILD_SIG(probe_copy(&c, a->reg + 10, 1), 0,
		  "child's read after MADV_DOFORK");
	CHILD_CHECK(c == 0x6d, "child reads 0x%02x, parent wrote 0x6d", c);
	CHILD_CHECK(write(a->done, "r", 1) == 1, "pipe");
	CHILD_CHECK(read(a->go, &x, 1) == 1, "pipe");
	/* The parent unmapped the range: the child's PTEs went too. */
	CHILD_SIG(probe_read(a->reg + 10), SIGBUS,
		  "child's read after the parent's unmap");
	CHILD_SIG(probe_write(a->reg + NP(1), 1), SIGBUS,
		  "child's write after the parent's unmap");
	CHILD_CHECK(write(a->done, "u", 1) == 1, "pipe");
}

/*
 * VM_DONTCOPY: a forked child has no mapping (SIGSEGV) and the parent's
 * data is untouched. If MADV_DOFORK undoes that, the child shares the
 * pages and the parent's unmap still takes them from it.
 */
static void test_fork(void **state)
{
	static struct child_report *rep;
	struct ring_stats base;
	struct fork_arg a;
	struct itlb t;
	int go[2], done[2], i;
	pid_t pid;
	char x;

	require_ring();
	stats_baseline(&base);
	if (!rep)
		rep = child_report_new();
	itlb_init(&t, 4, NP(8));
	map_ok(&t, 0, 8, RW);
	memset(t.reg, 0x6d, NP(8));
	a.reg = t.reg;
	run_child(child_no_mapping, &a, "fork");
	for (i = 0; i < 8; i++)
		assert_int_equal(t.reg[NP(i) + 77], 0x6d);

	if (madvise(t.reg, NP(8), MADV_DOFORK)) {
		print_message("# MADV_DOFORK refused (%s): nothing to fork\n",
			      strerror(errno));
	} else {
		assert_int_equal(pipe(go), 0);
		assert_int_equal(pipe(done), 0);
		a.go = go[0];
		a.done = done[1];
		pid = spawn_child(child_dofork, &a, rep);
		if (read(done[0], &x, 1) != 1)
			print_message("# child ended before reading\n");
		unmap_ok(&t, 0, 8);
		assert_int_equal(write(go[1], "g", 1), 1);
		wait_child(pid, rep, "fork after MADV_DOFORK");
		close(go[0]);
		close(go[1]);
		close(done[0]);
		close(done[1]);
	}
	itlb_exit(&t);
	expect_stats(&base, "fork");
}

/*
 * mmap rules: MAP_SHARED only, nothing beyond iotlb_max_bytes, no mremap
 * growth, no mapping before SETUP.
 */
static void test_mmap_rules(void **state)
{
	unsigned long long max = param_max();
	struct ring_stats base;
	struct itlb t;
	void *m;
	int fd;

	require_ring();
	stats_baseline(&base);
	itlb_init(&t, 4, NP(16));
	map_ok(&t, 0, 16, RW);
	memset(t.reg, 0x21, NP(16));

	m = mmap(NULL, NP(4), PROT_READ | PROT_WRITE, MAP_PRIVATE, t.fd,
		 RING_OFF_IOTLB);
	expect_ret_msg(m == MAP_FAILED ? -errno : 0, -EINVAL,
		       "MAP_PRIVATE of the IOTLB");
	m = mmap(NULL, NP(1), PROT_READ, MAP_PRIVATE, t.fd, RING_OFF_IOTLB);
	expect_ret_msg(m == MAP_FAILED ? -errno : 0, -EINVAL,
		       "MAP_PRIVATE read-only of the IOTLB");
	m = mmap(NULL, NP(1), PROT_READ | PROT_WRITE, MAP_SHARED, t.fd,
		 RING_OFF_IOTLB + max);
	expect_ret_msg(m == MAP_FAILED ? -errno : 0, -EINVAL,
		       "mmap of IOVA iotlb_max_bytes (%llu)", max);
	m = mmap(NULL, NP(2), PROT_READ | PROT_WRITE, MAP_SHARED, t.fd,
		 RING_OFF_IOTLB + max - NP(1));
	expect_ret_msg(m == MAP_FAILED ? -errno : 0, -EINVAL,
		       "mmap of 2 pages ending 1 page past iotlb_max_bytes");
	m = mmap(NULL, NP(1), PROT_READ | PROT_WRITE, MAP_SHARED, t.fd,
		 RING_OFF_IOTLB + max - NP(1));
	if (m == MAP_FAILED)
		fail_msg("mmap of the last page below iotlb_max_bytes: %s",
			 strerror(errno));
	expect_sig(probe_read(m), SIGBUS, "read of the last page below max");
	munmap(m, NP(1));

	m = mremap(t.reg, NP(16), NP(17), MREMAP_MAYMOVE);
	if (m != MAP_FAILED)
		fail_msg("mremap grew the IOTLB mapping");
	m = mremap(t.reg, NP(16), NP(32), 0);
	if (m != MAP_FAILED)
		fail_msg("mremap grew the IOTLB mapping in place");
	assert_int_equal(t.reg[NP(15) + 4095], 0x21);
	expect_tlb(t.fd, NP(16), 16, 16, "after the refused mmaps");
	itlb_exit(&t);

	fd = dev_open();
	m = mmap(NULL, NP(1), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 RING_OFF_IOTLB);
	expect_ret_msg(m == MAP_FAILED ? -errno : 0, -EBADFD,
		       "mmap of the IOTLB before SETUP");
	close(fd);
	expect_stats(&base, "mmap rules");
}

static unsigned long long saved_max;

static int restore_max(void **state)
{
	if (saved_max && !write_sysctl_long(PARAM_MAX, (long)saved_max))
		print_message("# cannot restore %s to %llu\n", PARAM_MAX,
			      saved_max);
	saved_max = 0;
	return 0;
}

/*
 * REGISTER_IOTLB and UNREGISTER_IOTLB rejections, each leaving fdinfo and
 * the stats as they were; a second REGISTER is -EBUSY and keeps the first;
 * iotlb_max_bytes is the largest size and can be changed by root.
 */
static void test_register_errors(void **state)
{
	unsigned long long max = param_max();
	struct ring_stats base, st;
	struct tlbinfo ti;
	struct ring ring;
	struct itlb t;
	unsigned char *last;
	int fd, i;
	struct {
		const char *what;
		__u64 size;
		__u32 flags, resv;
	} bad[] = {
		{ "flags 1", NP(4), 1, 0 },
		{ "flags 0x80000000", NP(4), 0x80000000U, 0 },
		{ "resv 1", NP(4), 0, 1 },
		{ "size 0", 0, 0, 0 },
		{ "size 1", 1, 0, 0 },
		{ "size 4095", PG - 1, 0, 0 },
		{ "size 4097", PG + 1, 0, 0 },
		{ "size 3 pages + 512", NP(3) + 512, 0, 0 },
		{ "size iotlb_max_bytes + 1 page", max + PG, 0, 0 },
		{ "size 2 x iotlb_max_bytes", 2 * max, 0, 0 },
		{ "size 2^63", 1ULL << 63, 0, 0 },
		{ "size ~0 rounded down to a page", ~0ULL & ~(PG - 1), 0, 0 },
	};

	require_ring();
	stats_baseline(&base);
	fd = dev_open();
	expect_ret_msg(raw_reg(fd, NP(4), 0, 0), -EBADFD,
		       "REGISTER_IOTLB before SETUP");
	close(fd);

	ring_init_or_fail(&ring, 4);
	fd = ring.ring_fd;
	stats_get(&st);
	ti = tlb_info(fd);
	expect_tlb(fd, 0, 0, 0, "fresh ring");
	expect_ret_msg(raw_register(fd, RING_UNREGISTER_IOTLB, 0, 0), -ENXIO,
		       "UNREGISTER_IOTLB with no region");
	expect_unchanged(fd, &ti, &st, "UNREGISTER with no region");
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		expect_ret_msg(raw_reg(fd, bad[i].size, bad[i].flags,
				       bad[i].resv), -EINVAL, "REGISTER_IOTLB "
			       "with %s", bad[i].what);
		expect_unchanged(fd, &ti, &st, bad[i].what);
	}
	expect_ret_msg(raw_register(fd, RING_REGISTER_IOTLB, 0, 0), -EFAULT,
		       "REGISTER_IOTLB with arg NULL");
	expect_unchanged(fd, &ti, &st, "arg NULL");
	ring_queue_exit(&ring);

	/* A second REGISTER is busy, whatever its size; the first stays. */
	itlb_init(&t, 4, NP(16));
	map_ok(&t, 0, 2, RW);
	memset(t.reg, 0x19, NP(2));
	stats_get(&st);
	ti = tlb_info(t.fd);
	expect_tlb(t.fd, NP(16), 2, 2, "region with 2 pages touched");
	expect_ret_msg(raw_reg(t.fd, NP(16), 0, 0), -EBUSY, "second REGISTER");
	expect_ret_msg(raw_reg(t.fd, NP(4), 0, 0), -EBUSY,
		       "second REGISTER, other size");
	expect_unchanged(t.fd, &ti, &st, "-EBUSY");
	expect_ret_msg(raw_register(t.fd, RING_UNREGISTER_IOTLB, 1, 0), -EINVAL,
		       "UNREGISTER_IOTLB with nr_args 1");
	expect_ret_msg(raw_register(t.fd, RING_UNREGISTER_IOTLB, 0,
				    (uintptr_t)&ti), -EINVAL,
		       "UNREGISTER_IOTLB with arg set");
	expect_unchanged(t.fd, &ti, &st, "refused UNREGISTER");
	assert_int_equal(t.reg[NP(1) + 3], 0x19);
	itlb_exit(&t);
	fd = dev_open();
	expect_ret_msg(raw_register(fd, RING_UNREGISTER_IOTLB, 0, 0), -EBADFD,
		       "UNREGISTER_IOTLB before SETUP");
	close(fd);

	/* Exactly iotlb_max_bytes: allocated lazily, the last page works. */
	itlb_init(&t, 4, max);
	expect_ret(ring_iotlb_map(&t.ring, max - NP(1), NP(1), NULL, RW, 0), 0);
	last = t.reg + max - NP(1);
	last[PG - 1] = 0x99;
	expect_tlb(t.fd, max, 1, 1, "region of iotlb_max_bytes");
	expect_ret(raw_register(t.fd, RING_UNREGISTER_IOTLB, 0, 0), 0);
	expect_sig(probe_read(last), SIGBUS, "last page after unregister");
	munmap(t.reg, max);
	t.reg = NULL;
	ring_queue_exit(&t.ring);

	/* The parameter is root's to change, and applies at once. */
	saved_max = max;
	if (!write_sysctl_long(PARAM_MAX, 1L << 20))
		fail_msg("writing %s: %s", PARAM_MAX, strerror(errno));
	ring_init_or_fail(&ring, 4);
	expect_ret_msg(raw_reg(ring.ring_fd, (1 << 20) + PG, 0, 0), -EINVAL,
		       "REGISTER of 1 MiB + 4 KiB with iotlb_max_bytes 1 MiB");
	expect_ret_msg(raw_reg(ring.ring_fd, 1 << 20, 0, 0), 0,
		       "REGISTER of 1 MiB with iotlb_max_bytes 1 MiB");
	last = mmap(NULL, NP(1), PROT_READ | PROT_WRITE, MAP_SHARED,
		    ring.ring_fd, RING_OFF_IOTLB + (1 << 20));
	expect_ret_msg(last == MAP_FAILED ? -errno : 0, -EINVAL,
		       "mmap at 1 MiB with iotlb_max_bytes 1 MiB");
	ring_queue_exit(&ring);
	restore_max(NULL);
	assert_int_equal(param_max(), max);
	expect_stats(&base, "register errors");
}

/*
 * IOTLB_MAP and IOTLB_UNMAP rejections with their errnos; after each the
 * ranges, fdinfo and stats are as they were. A BOUNCE_IN that faults
 * half way leaves nothing behind: the range maps afresh, as zeros.
 */
static void test_map_errors(void **state)
{
	struct ring_stats base, st;
	struct tlbinfo ti;
	struct ring ring;
	struct itlb t;
	unsigned char *src = map_anon(NP(4)), *half, *none;
	/* Below mmap_min_addr: certainly not mapped. */
	const __u64 hole = 0x1000;
	unsigned i;
	int ret;
	struct {
		const char *what;
		__u64 iova, size, uaddr;
		__u32 perm, flags;
		int err;
	} bad[] = {
		{ "size 0", 0, 0, 0, RW, 0, -EINVAL },
		{ "iova 100", 100, NP(1), 0, RW, 0, -EINVAL },
		{ "iova 1 page + 512", NP(1) + 512, NP(1), 0, RW, 0, -EINVAL },
		{ "size 100", 0, 100, 0, RW, 0, -EINVAL },
		{ "size 1 page + 1", 0, NP(1) + 1, 0, RW, 0, -EINVAL },
		{ "iova + size wrapping", ~0ULL & ~(PG - 1), NP(2), 0, RW, 0,
		  -EINVAL },
		{ "iova + size wrapping to 0", ~0ULL & ~(PG - 1), NP(1), 0, RW,
		  0, -EINVAL },
		{ "size ~0 rounded down", 0, ~0ULL & ~(PG - 1), 0, RW, 0,
		  -EINVAL },
		{ "1 page past the region", NP(15), NP(2), 0, RW, 0, -EINVAL },
		{ "iova = region size", NP(16), NP(1), 0, RW, 0, -EINVAL },
		{ "far beyond the region", 1ULL << 40, NP(1), 0, RW, 0,
		  -EINVAL },
		{ "the region + 1 page", 0, NP(17), 0, RW, 0, -EINVAL },
		{ "perm 0", NP(8), NP(1), 0, 0, 0, -EINVAL },
		{ "perm 4", NP(8), NP(1), 0, 4, 0, -EINVAL },
		{ "perm READ | 4", NP(8), NP(1), 0, RING_IOTLB_PERM_READ | 4, 0,
		  -EINVAL },
		{ "perm 0x80000000", NP(8), NP(1), 0, 0x80000000U, 0, -EINVAL },
		{ "flags 4 (with uaddr)", NP(8), NP(1), (uintptr_t)src, RW, 4,
		  -EINVAL },
		{ "flags IN | 0x80000000", NP(8), NP(1), (uintptr_t)src, RW,
		  RING_IOTLB_BOUNCE_IN | 0x80000000U, -EINVAL },
		{ "flags 4 (no uaddr)", NP(8), NP(1), 0, RW, 4, -EINVAL },
		{ "uaddr without BOUNCE flags", NP(8), NP(1), (uintptr_t)src,
		  RW, 0, -EINVAL },
		{ "BOUNCE_IN without uaddr", NP(8), NP(1), 0, RW,
		  RING_IOTLB_BOUNCE_IN, -EINVAL },
		{ "BOUNCE_OUT without uaddr", NP(8), NP(1), 0, RW,
		  RING_IOTLB_BOUNCE_OUT, -EINVAL },
		{ "BOUNCE_IN | OUT without uaddr", NP(8), NP(1), 0, RW,
		  RING_IOTLB_BOUNCE_IN | RING_IOTLB_BOUNCE_OUT, -EINVAL },
		/* Mapped below: [4, 8). */
		{ "the same range again", NP(4), NP(4), 0, RW, 0, -EEXIST },
		{ "overlap at the start", NP(2), NP(3), 0, RW, 0, -EEXIST },
		{ "overlap at the end", NP(7), NP(2), 0, RW, 0, -EEXIST },
		{ "inside a mapped range", NP(5), NP(1), 0, RW, 0, -EEXIST },
		{ "around a mapped range", 0, NP(16), 0, RW, 0, -EEXIST },
		{ "overlap, BOUNCE_IN", NP(6), NP(4), (uintptr_t)src, RW,
		  RING_IOTLB_BOUNCE_IN, -EEXIST },
	};

	require_ring();
	stats_baseline(&base);
	memset(src, 0x5e, NP(4));
	half = map_anon(NP(2));
	memset(half, 0x4b, NP(2));
	assert_int_equal(mprotect(half + NP(1), NP(1), PROT_NONE), 0);
	none = map_reserve(NP(4), PG);

	ring_init_or_fail(&ring, 4);
	stats_get(&st);
	ti = tlb_info(ring.ring_fd);
	expect_ret_msg(ring_iotlb_map(&ring, 0, NP(1), NULL, RW, 0), -ENXIO,
		       "IOTLB_MAP with no region");
	expect_ret_msg(ring_iotlb_map(&ring, 0, NP(1), src, RW,
				      RING_IOTLB_BOUNCE_IN), -ENXIO,
		       "IOTLB_MAP BOUNCE_IN with no region");
	expect_ret_msg(ring_iotlb_unmap(&ring, 0, NP(1)), -ENXIO,
		       "IOTLB_UNMAP with no region");
	expect_unchanged(ring.ring_fd, &ti, &st, "MAP/UNMAP with no region");
	ring_queue_exit(&ring);

	itlb_init(&t, 4, NP(16));
	map_ok(&t, 4, 4, RW);
	memset(t.reg + NP(4), 0x61, NP(4));
	stats_get(&st);
	ti = tlb_info(t.fd);
	expect_tlb(t.fd, NP(16), 4, 4, "pages 4-7 mapped and touched");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[96];

		snprintf(what, sizeof(what), "IOTLB_MAP with %s", bad[i].what);
		expect_ret_msg(raw_map(t.fd, bad[i].iova, bad[i].size,
				       bad[i].uaddr, bad[i].perm, bad[i].flags),
			       bad[i].err, "%s", what);
		expect_unchanged(t.fd, &ti, &st, what);
	}
	expect_ret_msg(raw_register(t.fd, RING_IOTLB_MAP, 0, 0), -EFAULT,
		       "IOTLB_MAP with arg NULL");
	expect_unchanged(t.fd, &ti, &st, "IOTLB_MAP with arg NULL");

	/* BOUNCE_IN from memory that cannot be read. */
	{
		struct {
			const char *what;
			__u64 uaddr, size;
		} fault[] = {
			{ "PROT_NONE memory", (uintptr_t)none, NP(2) },
			{ "unmapped memory", hole, NP(2) },
			{ "a 2nd page PROT_NONE", (uintptr_t)half, NP(2) },
			{ "a kernel address", 0xffff888000000000ULL, NP(1) },
			{ "uaddr + size wrapping", ~0ULL & ~(PG - 1), NP(2) },
			{ "the range being mapped", (uintptr_t)t.reg + NP(8),
			  NP(2) },
			{ "an unmapped IOVA of the region",
			  (uintptr_t)t.reg + NP(12), NP(2) },
		};

		for (i = 0; i < sizeof(fault) / sizeof(fault[0]); i++) {
			char what[96];

			snprintf(what, sizeof(what), "BOUNCE_IN from %s",
				 fault[i].what);
			expect_ret_msg(raw_map(t.fd, NP(8), fault[i].size,
					       fault[i].uaddr,
					       RING_IOTLB_PERM_READ,
					       RING_IOTLB_BOUNCE_IN), -EFAULT,
				       "%s", what);
			expect_unchanged(t.fd, &ti, &st, what);
		}
	}
	/* Nothing of the half-done copy: the range maps as zeros. */
	map_ok(&t, 8, 2, RW);
	expect_zero(t.reg + NP(8), NP(2), "after a failed BOUNCE_IN");
	unmap_ok(&t, 8, 2);
	expect_unchanged(t.fd, &ti, &st, "mapped and unmapped again");

	/* Adjacent ranges are fine. */
	map_ok(&t, 0, 4, RING_IOTLB_PERM_READ);
	map_ok(&t, 8, 8, RING_IOTLB_PERM_WRITE);
	expect_tlb(t.fd, NP(16), 16, 4, "adjacent ranges");
	stats_get(&st);
	ti = tlb_info(t.fd);

	/* UNMAP must name exactly one whole range. */
	{
		struct {
			const char *what;
			__u64 iova, size;
		} nf[] = {
			{ "the first page of [4, 8)", NP(4), NP(1) },
			{ "the last page of [4, 8)", NP(7), NP(1) },
			{ "[4, 7)", NP(4), NP(3) },
			{ "[5, 8)", NP(5), NP(3) },
			{ "[4, 9)", NP(4), NP(5) },
			{ "[3, 8)", NP(3), NP(5) },
			{ "[0, 8): two whole ranges", 0, NP(8) },
			{ "[0, 16): all ranges", 0, NP(16) },
			{ "beyond the region", NP(16), NP(4) },
			{ "far beyond the region", 1ULL << 40, NP(4) },
		};

		for (i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
			char what[96];

			snprintf(what, sizeof(what), "IOTLB_UNMAP of %s",
				 nf[i].what);
			expect_ret_msg(raw_unmap(t.fd, nf[i].iova, nf[i].size),
				       -ENOENT, "%s", what);
			expect_unchanged(t.fd, &ti, &st, what);
		}
	}
	/* Malformed: refused (the errno is not pinned down), no change. */
	{
		struct {
			const char *what;
			__u64 iova, size;
		} mal[] = {
			{ "size 0", NP(4), 0 },
			{ "iova 4 pages + 1", NP(4) + 1, NP(4) },
			{ "size 4 pages - 1", NP(4), NP(4) - 1 },
			{ "iova + size wrapping", ~0ULL & ~(PG - 1), NP(2) },
		};

		for (i = 0; i < sizeof(mal) / sizeof(mal[0]); i++) {
			char what[96];

			snprintf(what, sizeof(what), "IOTLB_UNMAP with %s",
				 mal[i].what);
			ret = raw_unmap(t.fd, mal[i].iova, mal[i].size);
			if (ret != -EINVAL && ret != -ENOENT)
				fail_msg("%s: got %d (%s), expected -EINVAL or "
					 "-ENOENT", what, ret, errstr(ret));
			expect_unchanged(t.fd, &ti, &st, what);
		}
	}
	expect_ret_msg(raw_register(t.fd, RING_IOTLB_UNMAP, 0, 0), -EFAULT,
		       "IOTLB_UNMAP with arg NULL");
	expect_unchanged(t.fd, &ti, &st, "IOTLB_UNMAP with arg NULL");
	for (i = 4; i < 8; i++)
		assert_int_equal(t.reg[NP(i) + 1], 0x61);

	unmap_ok(&t, 4, 4);
	expect_ret_msg(raw_unmap(t.fd, NP(4), NP(4)), -ENOENT,
		       "second IOTLB_UNMAP of [4, 8)");
	unmap_ok(&t, 0, 4);
	unmap_ok(&t, 8, 8);
	expect_tlb(t.fd, NP(16), 0, 0, "all unmapped");
	itlb_exit(&t);
	munmap(src, NP(4));
	munmap(half, NP(2));
	munmap(none, NP(4));
	expect_stats(&base, "map errors");
}

/*
 * perm is enforced per request: READ_FIXED needs PERM_WRITE, WRITE_FIXED
 * PERM_READ; a request must lie in one mapped range (two adjacent ones do
 * not make one). A refused request is CQE -EFAULT and moves nothing.
 */
static void test_perm_and_bounds(void **state)
{
	struct ring_stats base;
	struct target tg;
	struct itlb t;
	unsigned char *shadow, *mem = xalloc(NP(32)), *file = xalloc(NP(16));
	uint64_t rng;
	unsigned i, op;
	/* R [0,4) PERM_READ, W [4,8) PERM_WRITE, X [8,12) + Y [12,16) RW */
	struct {
		const char *what;
		int op;
		__u64 iova;
		unsigned len;
	} bad[] = {
		{ "READ_FIXED into a PERM_READ range", RING_OP_READ_FIXED,
		  NP(1), 100 },
		{ "WRITE_FIXED from a PERM_WRITE range", RING_OP_WRITE_FIXED,
		  NP(5), 100 },
		{ "READ_FIXED straddling R and W", RING_OP_READ_FIXED,
		  NP(4) - 10, 20 },
		{ "WRITE_FIXED straddling R and W", RING_OP_WRITE_FIXED,
		  NP(4) - 10, 20 },
		{ "READ_FIXED straddling X and Y (both RW)", RING_OP_READ_FIXED,
		  NP(12) - 100, 200 },
		{ "WRITE_FIXED straddling X and Y (both RW)",
		  RING_OP_WRITE_FIXED, NP(12) - 1, 2 },
		{ "READ_FIXED of all of X and Y", RING_OP_READ_FIXED, NP(8),
		  NP(8) },
		{ "READ_FIXED 1 byte past Y (unmapped IOVA)",
		  RING_OP_READ_FIXED, NP(16) - 10, 11 },
		{ "WRITE_FIXED at unmapped IOVA 16 pages", RING_OP_WRITE_FIXED,
		  NP(16), 10 },
		{ "WRITE_FIXED at unmapped IOVA 20 pages", RING_OP_WRITE_FIXED,
		  NP(20), 10 },
		{ "READ_FIXED at IOVA 2^40", RING_OP_READ_FIXED, 1ULL << 40,
		  10 },
		{ "READ_FIXED with IOVA + len wrapping", RING_OP_READ_FIXED,
		  ~0ULL - 7, 16 },
		{ "WRITE_FIXED with IOVA + len wrapping", RING_OP_WRITE_FIXED,
		  ~0ULL & ~(PG - 1), NP(2) },
	};

	require_ring();
	stats_baseline(&base);
	rng = test_seed("perm and bounds");
	file_random(&tg, TGT_TMPFS, false, NP(16), &shadow, &rng);

	/* No region at all. */
	ring_init_or_fail(&t.ring, 4);
	for (op = RING_OP_READ_FIXED; op <= RING_OP_WRITE_FIXED; op++)
		expect_ret_msg(iova_io(&t.ring, op, tg.fd, 0, 16, 0), -EFAULT,
			       "%s with no region", op_name(op));
	ring_queue_exit(&t.ring);

	itlb_init(&t, 4, NP(32));
	map_ok(&t, 0, 4, RING_IOTLB_PERM_READ);
	map_ok(&t, 4, 4, RING_IOTLB_PERM_WRITE);
	map_ok(&t, 8, 4, RW);
	map_ok(&t, 12, 4, RW);
	rnd_fill(&rng, t.reg, NP(16));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long long res0 = tlb_info(t.fd).resident;

		memcpy(mem, t.reg, NP(16));
		expect_ret_msg(iova_io(&t.ring, bad[i].op, tg.fd, bad[i].iova,
				       bad[i].len, 0), -EFAULT, "%s",
			       bad[i].what);
		expect_same(t.reg, mem, NP(16), "%s: region", bad[i].what);
		expect_file(&tg, shadow, NP(16), 0, bad[i].what);
		expect_tlb(t.fd, NP(32), 16, res0, bad[i].what);
	}

	/* The allowed direction of each range, and whole ranges. */
	expect_ret_msg(iova_io(&t.ring, RING_OP_WRITE_FIXED, tg.fd, 0, NP(4),
			       0), NP(4), "WRITE_FIXED of all of R");
	memcpy(shadow, t.reg, NP(4));
	expect_file(&tg, shadow, NP(16), 0, "WRITE_FIXED from R");
	expect_ret_msg(iova_io(&t.ring, RING_OP_READ_FIXED, tg.fd, NP(4), NP(4),
			       NP(8)), NP(4), "READ_FIXED into all of W");
	expect_same(t.reg + NP(4), shadow + NP(8), NP(4), "W after READ_FIXED");
	for (op = RING_OP_READ_FIXED; op <= RING_OP_WRITE_FIXED; op++) {
		expect_ret_msg(iova_io(&t.ring, op, tg.fd, NP(12) - 50, 50,
				       NP(4)), 50, "%s of X's last 50 bytes",
			       op_name(op));
		expect_ret_msg(iova_io(&t.ring, op, tg.fd, NP(12), 50, NP(4)),
			       50, "%s of Y's first 50 bytes", op_name(op));
	}

	/* After unmap, and after unregister: -EFAULT. */
	unmap_ok(&t, 8, 4);
	xpread(tg.fd, file, NP(16), 0);
	for (op = RING_OP_READ_FIXED; op <= RING_OP_WRITE_FIXED; op++)
		expect_ret_msg(iova_io(&t.ring, op, tg.fd, NP(8), 100, 0),
			       -EFAULT, "%s of an unmapped range", op_name(op));
	expect_ret(raw_register(t.fd, RING_UNREGISTER_IOTLB, 0, 0), 0);
	for (op = RING_OP_READ_FIXED; op <= RING_OP_WRITE_FIXED; op++)
		expect_ret_msg(iova_io(&t.ring, op, tg.fd, NP(12), 100, 0),
			       -EFAULT, "%s after unregister", op_name(op));
	expect_file(&tg, file, NP(16), 0, "after the refused requests");
	munmap(t.reg, NP(32));
	ring_queue_exit(&t.ring);
	free(mem);
	free(file);
	free(shadow);
	target_close(&tg);
	expect_stats(&base, "perm and bounds");
}

/*
 * Stream mappings. BOUNCE_IN copies the user buffer at map time (later
 * changes to it do not count) and WRITE_FIXED takes it to the file.
 * BOUNCE_OUT leaves the user buffer alone until unmap, then copies the
 * range there: READ_FIXED data, data written through the mapping, zeros
 * for pages never touched. The user side may itself be in the region.
 */
static void test_stream(void **state)
{
	struct ring_stats base;
	struct target tg;
	struct itlb t;
	unsigned char *shadow, *in = xalloc(NP(8) + 64), *out = xalloc(NP(8));
	unsigned char *want = xalloc(NP(8)), *src;
	uint64_t rng;

	require_ring();
	stats_baseline(&base);
	rng = test_seed("stream mappings");
	file_random(&tg, TGT_TMPFS, false, NP(32), &shadow, &rng);
	itlb_init(&t, 4, NP(64));

	/* BOUNCE_IN from an unaligned buffer, to the file. */
	src = in + 3;
	rnd_fill(&rng, src, NP(8));
	memcpy(want, src, NP(8));
	expect_ret(ring_iotlb_map(&t.ring, NP(8), NP(8), src,
				  RING_IOTLB_PERM_READ, RING_IOTLB_BOUNCE_IN), 0);
	expect_tlb(t.fd, NP(64), 8, 8, "BOUNCE_IN of 8 pages");
	memset(src, 0, NP(8));
	expect_same(t.reg + NP(8), want, NP(8), "region after BOUNCE_IN");
	expect_ret_msg(iova_io(&t.ring, RING_OP_WRITE_FIXED, tg.fd, NP(8),
			       NP(8), NP(3)), NP(8),
		       "WRITE_FIXED of a BOUNCE_IN range");
	memcpy(shadow + NP(3), want, NP(8));
	expect_file(&tg, shadow, NP(32), 0, "BOUNCE_IN range written");
	expect_ret_msg(iova_io(&t.ring, RING_OP_READ_FIXED, tg.fd, NP(8), 10,
			       0), -EFAULT, "READ_FIXED into a PERM_READ stream");
	unmap_ok(&t, 8, 8);
	expect_tlb(t.fd, NP(64), 0, 0, "BOUNCE_IN range unmapped");
	for (size_t i = 0; i < NP(8); i++)
		if (src[i])
			fail_msg("unmap of a BOUNCE_IN range wrote to its "
				 "buffer at %zu", i);

	/* BOUNCE_OUT: page 0 read from the file, 1 written by the user,
	 * 2 never touched, 3 read by the user only. */
	memset(out, 0xaa, NP(4));
	expect_ret(ring_iotlb_map(&t.ring, NP(16), NP(4), out,
				  RING_IOTLB_PERM_WRITE, RING_IOTLB_BOUNCE_OUT),
		   0);
	expect_tlb(t.fd, NP(64), 4, 0, "BOUNCE_OUT range mapped");
	expect_ret_msg(iova_io(&t.ring, RING_OP_READ_FIXED, tg.fd, NP(16),
			       NP(1), NP(20)), NP(1),
		       "READ_FIXED into a BOUNCE_OUT range");
	rnd_fill(&rng, t.reg + NP(17), NP(1));
	expect_zero(t.reg + NP(19), NP(1), "BOUNCE_OUT page 3");
	memcpy(want, shadow + NP(20), NP(1));
	memcpy(want + NP(1), t.reg + NP(17), NP(1));
	memset(want + NP(2), 0, NP(2));
	for (size_t i = 0; i < NP(4); i++)
		if (out[i] != 0xaa)
			fail_msg("BOUNCE_OUT buffer changed at %zu before unmap",
				 i);
	expect_ret_msg(iova_io(&t.ring, RING_OP_WRITE_FIXED, tg.fd, NP(16), 10,
			       0), -EFAULT, "WRITE_FIXED from a PERM_WRITE stream");
	unmap_ok(&t, 16, 4);
	expect_same(out, want, NP(4), "BOUNCE_OUT buffer after unmap");
	expect_tlb(t.fd, NP(64), 0, 0, "BOUNCE_OUT range unmapped");

	/* Both ways: in at map, changed by a READ_FIXED, out at unmap. */
	rnd_fill(&rng, in, NP(2));
	memcpy(want, in, NP(2));
	expect_ret(ring_iotlb_map(&t.ring, 0, NP(2), in, RW,
				  RING_IOTLB_BOUNCE_IN | RING_IOTLB_BOUNCE_OUT),
		   0);
	expect_ret_msg(iova_io(&t.ring, RING_OP_READ_FIXED, tg.fd, NP(1) + 5,
			       100, NP(30)), 100, "READ_FIXED into an IN|OUT "
		       "stream");
	memcpy(want + NP(1) + 5, shadow + NP(30), 100);
	memset(in, 0x13, NP(2));
	unmap_ok(&t, 0, 2);
	expect_same(in, want, NP(2), "IN|OUT buffer after unmap");

	/* The user side in the region itself: [40, 44) RW holds data. */
	map_ok(&t, 40, 4, RW);
	rnd_fill(&rng, t.reg + NP(40), NP(4));
	memcpy(want, t.reg + NP(40), NP(4));
	expect_ret_msg(ring_iotlb_map(&t.ring, NP(24), NP(4), t.reg + NP(40),
				      RW, RING_IOTLB_BOUNCE_IN |
				      RING_IOTLB_BOUNCE_OUT), 0,
		       "BOUNCE_IN from another range of the region");
	expect_same(t.reg + NP(24), want, NP(4), "BOUNCE_IN from the region");
	rnd_fill(&rng, t.reg + NP(24), NP(4));
	memcpy(want, t.reg + NP(24), NP(4));
	unmap_ok(&t, 24, 4);
	expect_same(t.reg + NP(40), want, NP(4), "BOUNCE_OUT into the region");
	unmap_ok(&t, 40, 4);
	expect_tlb(t.fd, NP(64), 0, 0, "all unmapped");

	itlb_exit(&t);
	free(in);
	free(out);
	free(want);
	free(shadow);
	target_close(&tg);
	expect_stats(&base, "stream mappings");
}

/*
 * Every ring has its own region, though all share the device inode's
 * mapping: one ring's unmap, unregister and close leave another's pages,
 * mapping and I/O alone.
 */
static void test_two_rings(void **state)
{
	struct ring_stats base;
	struct target tg;
	struct itlb a, b;
	unsigned char *shadow, *wb = xalloc(NP(8));
	uint64_t rng;

	require_ring();
	stats_baseline(&base);
	rng = test_seed("two rings");
	file_random(&tg, TGT_TMPFS, false, NP(8), &shadow, &rng);
	itlb_init(&a, 4, NP(8));
	itlb_init(&b, 4, NP(8));
	map_ok(&a, 0, 8, RW);
	map_ok(&b, 0, 8, RW);
	memset(a.reg, 0xa1, NP(8));
	rnd_fill(&rng, b.reg, NP(8));
	memcpy(wb, b.reg, NP(8));

	unmap_ok(&a, 0, 8);
	expect_sig(probe_read(a.reg), SIGBUS, "ring A after its unmap");
	expect_same(b.reg, wb, NP(8), "ring B after ring A's unmap");
	expect_tlb(b.fd, NP(8), 8, 8, "ring B after ring A's unmap");
	map_ok(&a, 0, 8, RW);
	expect_zero(a.reg, NP(8), "ring A remapped");
	memset(a.reg, 0xa2, NP(8));
	expect_ret(raw_register(a.fd, RING_UNREGISTER_IOTLB, 0, 0), 0);
	expect_same(b.reg, wb, NP(8), "ring B after ring A's unregister");
	expect_ret_msg(iova_io(&b.ring, RING_OP_WRITE_FIXED, tg.fd, 0, NP(8),
			       0), NP(8), "ring B's WRITE_FIXED");
	expect_file(&tg, wb, NP(8), 0, "ring B's data written");
	munmap(a.reg, NP(8));
	ring_queue_exit(&a.ring);
	expect_same(b.reg, wb, NP(8), "ring B after ring A's close");
	expect_tlb(b.fd, NP(8), 8, 8, "ring B after ring A's close");
	itlb_exit(&b);
	free(wb);
	free(shadow);
	target_close(&tg);
	expect_stats(&base, "two rings");
}

/*
 * The mapping holds the ring: after close() of the fd the pages stay
 * usable through it, and the ring goes away with the last munmap.
 */
static void test_mapping_outlives_fd(void **state)
{
	struct ring_stats base, now;
	struct itlb t;
	unsigned char *m;

	require_ring();
	stats_baseline(&base);
	itlb_init(&t, 4, NP(8));
	map_ok(&t, 0, 4, RW);
	memset(t.reg, 0x5d, NP(4));
	m = t.reg;
	t.reg = NULL;
	ring_queue_exit(&t.ring);
	stats_get(&now);
	if (now.rings != base.rings + 1)
		fail_msg("rings %ld after close with the IOTLB mapped, "
			 "baseline %ld: expected the ring to stay", now.rings,
			 base.rings);
	assert_int_equal(m[NP(3) + 17], 0x5d);
	m[NP(2)] = 0x5f;
	assert_int_equal(m[NP(2)], 0x5f);
	expect_sig(probe_read(m + NP(4)), SIGBUS,
		   "unmapped IOVA after close");
	munmap(m, NP(8));
	expect_stats(&base, "munmap of the last mapping after close");
}

/*
 * The largest region of the default iotlb_max_bytes (1 GiB) costs nothing
 * until touched; its first, middle and last pages do I/O.
 */
static void test_one_gib(void **state)
{
	const size_t gib = 1UL << 30;
	static const size_t at[] = { 0, (1UL << 29) + PG, (1UL << 30) - PG };
	struct ring_stats base;
	struct target tg;
	struct itlb t;
	unsigned char *shadow, *page = xalloc(PG);
	uint64_t rng;
	unsigned i;

	require_ring();
	if (param_max() < gib) {
		print_message("# SKIP: iotlb_max_bytes is %llu, below 1 GiB\n",
			      param_max());
		skip();
	}
	stats_baseline(&base);
	rng = test_seed("1 GiB region");
	file_random(&tg, TGT_TMPFS, false, NP(8), &shadow, &rng);
	itlb_init(&t, 4, gib);
	map_ok(&t, 0, gib / PG, RW);
	expect_tlb(t.fd, gib, gib / PG, 0, "1 GiB mapped");
	for (i = 0; i < 3; i++) {
		rnd_fill(&rng, t.reg + at[i], PG);
		expect_ret_msg(iova_io(&t.ring, RING_OP_WRITE_FIXED, tg.fd,
				       at[i], PG, NP(i)), PG,
			       "WRITE_FIXED at %zu of 1 GiB", at[i]);
		memcpy(shadow + NP(i), t.reg + at[i], PG);
		memcpy(page, t.reg + at[i], PG);
		expect_ret_msg(iova_io(&t.ring, RING_OP_READ_FIXED, tg.fd,
				       at[i] + PG / 2, PG / 2, NP(7)), PG / 2,
			       "READ_FIXED at %zu of 1 GiB", at[i]);
		memcpy(page + PG / 2, shadow + NP(7), PG / 2);
		expect_same(t.reg + at[i], page, PG, "page at %zu of 1 GiB",
			    at[i]);
	}
	expect_file(&tg, shadow, NP(3), 0, "written from 1 GiB");
	expect_tlb(t.fd, gib, gib / PG, 3, "3 pages of 1 GiB touched");
	unmap_ok(&t, 0, gib / PG);
	expect_tlb(t.fd, gib, 0, 0, "1 GiB unmapped");
	itlb_exit(&t);
	free(page);
	free(shadow);
	target_close(&tg);
	expect_stats(&base, "1 GiB region");
}

/*
 * The mapping is ordinary memory to the rest of the kernel: syscalls copy
 * to and from it (buffered) and pin it (O_DIRECT), plain READ/WRITE
 * requests use it, MADV_DONTNEED only drops PTEs (the data stays with the
 * region); an unmapped IOVA is -EFAULT for a syscall, not a signal.
 */
static void test_syscalls_on_mapping(void **state)
{
	struct ring_stats base;
	struct target tf, tb;
	struct itlb t;
	struct ring_sqe sqe;
	unsigned char *fsh, *bsh, *buf = xalloc(NP(4));
	uint64_t rng;
	ssize_t r;

	require_ring();
	stats_baseline(&base);
	rng = test_seed("syscalls on the mapping");
	file_random(&tf, TGT_TMPFS, false, NP(16), &fsh, &rng);
	file_random(&tb, TGT_NULLB, true, NP(16), &bsh, &rng);
	itlb_init(&t, 4, NP(32));
	map_ok(&t, 0, 20, RW);

	rnd_fill(&rng, t.reg, NP(4));
	memcpy(fsh, t.reg, NP(4));
	expect_ret_msg(pwrite(tf.fd, t.reg, NP(4), 0), NP(4),
		       "pwrite from the mapping");
	expect_file(&tf, fsh, NP(16), 0, "pwrite from the mapping");
	expect_ret_msg(pread(tf.fd, t.reg + NP(4) + 1, NP(3), NP(8)), NP(3),
		       "pread into the mapping");
	expect_same(t.reg + NP(4) + 1, fsh + NP(8), NP(3), "pread");

	/* O_DIRECT: the block layer pins the pages (GUP). */
	rnd_fill(&rng, t.reg + NP(8), NP(4));
	memcpy(bsh + NP(4), t.reg + NP(8), NP(4));
	expect_ret_msg(pwrite(tb.fd, t.reg + NP(8), NP(4), NP(4)), NP(4),
		       "O_DIRECT pwrite from the mapping");
	expect_file(&tb, bsh, NP(16), 0, "O_DIRECT pwrite from the mapping");
	expect_ret_msg(pread(tb.fd, t.reg + NP(12), NP(4), NP(10)), NP(4),
		       "O_DIRECT pread into the mapping");
	expect_same(t.reg + NP(12), bsh + NP(10), NP(4), "O_DIRECT pread");

	/* Plain READ/WRITE requests with the mapping as user memory. */
	ring_prep_read(&sqe, tf.fd, t.reg + NP(16), NP(2), NP(1));
	expect_ret_msg(run_one(&t.ring, &sqe), NP(2), "READ into the mapping");
	expect_same(t.reg + NP(16), fsh + NP(1), NP(2), "READ");
	ring_prep_write(&sqe, tb.fd, t.reg + NP(16), NP(2), NP(14));
	expect_ret_msg(run_one(&t.ring, &sqe), NP(2), "WRITE from the mapping");
	memcpy(bsh + NP(14), fsh + NP(1), NP(2));
	expect_file(&tb, bsh, NP(16), 0, "WRITE from the mapping");

	/* MADV_DONTNEED: PTEs go, the region keeps the data. */
	memcpy(buf, t.reg + NP(8), NP(4));
	expect_tlb(t.fd, NP(32), 20, 18, "pages 0-17 touched");
	expect_ret(madvise(t.reg, NP(20), MADV_DONTNEED), 0);
	expect_tlb(t.fd, NP(32), 20, 18, "after MADV_DONTNEED");
	expect_same(t.reg + NP(8), buf, NP(4), "after MADV_DONTNEED");

	/* Unmapped IOVAs: the kernel's copy fails, no signal. */
	r = pread(tf.fd, t.reg + NP(24), 100, 0);
	expect_ret_msg(r < 0 ? -errno : r, -EFAULT,
		       "pread into an unmapped IOVA");
	r = pwrite(tf.fd, t.reg + NP(20), 100, 0);
	expect_ret_msg(r < 0 ? -errno : r, -EFAULT,
		       "pwrite from an unmapped IOVA");
	r = pread(tb.fd, t.reg + NP(24), NP(1), 0);
	expect_ret_msg(r < 0 ? -errno : r, -EFAULT,
		       "O_DIRECT pread into an unmapped IOVA");
	ring_prep_read(&sqe, tf.fd, t.reg + NP(28), 100, 0);
	expect_ret_msg(run_one(&t.ring, &sqe), -EFAULT,
		       "READ into an unmapped IOVA");
	expect_file(&tf, fsh, NP(16), 0, "after the refused copies");
	expect_tlb(t.fd, NP(32), 20, 18, "at the end");

	itlb_exit(&t);
	free(buf);
	free(fsh);
	free(bsh);
	target_close(&tf);
	target_close(&tb);
	expect_stats(&base, "syscalls on the mapping");
}

struct inflight {
	int prd[2], pwr[2];		/* empty pipe, full 1-page pipe */
	struct target *tb;
};

/*
 * A ring with pending IOTLB requests (a READ_FIXED of an empty pipe, a
 * WRITE_FIXED into a full one, O_DIRECT reads) and a populated region.
 * Returns the region's mapping.
 */
static unsigned char *queue_inflight(struct ring *ring, struct inflight *f)
{
	struct ring_sqe *sqe;
	void *reg;
	unsigned i;
	int ret;

	ret = ring_queue_init(16, ring, 0);
	if (!ret)
		ret = ring_register_iotlb(ring, NP(64), &reg);
	if (!ret)
		ret = ring_iotlb_map(ring, 0, NP(64), NULL, RW, 0);
	if (ret)
		return NULL;
	memset(reg, 0x3e, NP(64));
	sqe = ring_get_sqe(ring);
	ring_prep_read_iova(sqe, f->prd[0], 0, PG, 0);
	sqe = ring_get_sqe(ring);
	ring_prep_write_iova(sqe, f->pwr[1], NP(1), PG, 0);
	for (i = 0; i < 8; i++) {
		sqe = ring_get_sqe(ring);
		ring_prep_read_iova(sqe, f->tb->fd, NP(8 + 4 * i), NP(4),
				    NP(4 * i));
	}
	return ring_submit(ring) == 10 ? reg : NULL;
}

static void child_exit_inflight(void *p)
{
	struct ring ring;

	CHILD_CHECK(queue_inflight(&ring, p), "setting up pending requests");
	/* Exit with the ring, its region and its requests as they are. */
}

/*
 * Close with IOTLB requests in flight (after munmap of the region), and
 * exit with them (ring, mapping and all): everything is freed, the pipes
 * still work, and the pages the requests held go too (module stats,
 * kmemleak and KASAN on the debug kernel).
 */
static void test_close_inflight(void **state)
{
	struct ring_stats base;
	struct inflight f;
	struct target tb;
	struct ring ring;
	unsigned char *reg, *buf = xalloc(NP(2));
	unsigned round;

	require_ring();
	stats_baseline(&base);
	target_open(&tb, TGT_NULLB, true, 0, NP(64));
	f.tb = &tb;
	for (round = 0; round < 2; round++) {
		assert_int_equal(pipe2(f.prd, O_CLOEXEC), 0);
		assert_int_equal(pipe2(f.pwr, O_CLOEXEC), 0);
		assert_int_equal(fcntl(f.pwr[1], F_SETPIPE_SZ, (int)PG), (int)PG);
		memset(buf, 0xc3, PG);
		assert_int_equal(write(f.pwr[1], buf, PG), PG);
		if (round == 0) {
			reg = queue_inflight(&ring, &f);
			assert_non_null(reg);
			expect_tlb(ring.ring_fd, NP(64), 64, 64, "before close");
			munmap(reg, NP(64));
			ring_queue_exit(&ring);
		} else {
			run_child(child_exit_inflight, &f, "exit in flight");
		}
		expect_stats(&base, round ? "exit with IOTLB requests in flight" :
			     "close with IOTLB requests in flight");
		/* The pipes are intact and nobody reads or writes them. */
		assert_int_equal(write(f.prd[1], "x", 1), 1);
		assert_int_equal(read(f.prd[0], buf, 2), 1);
		assert_int_equal(read(f.pwr[0], buf, NP(2)), PG);
		assert_int_equal(buf[PG - 1], 0xc3);
		close(f.prd[0]);
		close(f.prd[1]);
		close(f.pwr[0]);
		close(f.pwr[1]);
	}
	free(buf);
	target_close(&tb);
}

struct nobody_arg {
	int ring, file;			/* opened by root */
};

/* One request on a raw ring, waited for: its res. */
static int raw_one(struct raw_ring *r, int op, int fd, __u64 iova,
		   unsigned len, __u64 off)
{
	struct ring_sqe *sqe = raw_get_sqe(r);
	struct ring_cqe cqe;
	int ret;

	CHILD_CHECK(sqe, "SQ full");
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = iova;
	sqe->len = len;
	sqe->off = off;
	sqe->buf_index = RING_BUF_IOTLB;
	raw_flush_sq(r);
	ret = raw_enter(r->fd, 1, 1, RING_ENTER_GETEVENTS);
	CHILD_EXPECT(ret, 1, "ENTER");
	CHILD_CHECK(raw_peek_cqe(r, &cqe), "no CQE after ENTER(GETEVENTS)");
	raw_cq_advance(r, 1);
	return cqe.res;
}

/*
 * nobody with RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK: fixed buffers are out
 * of reach, the IOTLB region is not (nothing is pinned or locked).
 */
static void child_nobody(void *p)
{
	struct nobody_arg *a = p;
	struct rlimit rl = { 0, 0 };
	struct ring_params prm = { .sq_entries = 4 };
	struct ring_iotlb_reg reg = { .size = NP(64) };
	struct raw_ring r;
	struct iovec iov;
	unsigned char *m, *anon, *got;
	int ret;

	anon = mmap(NULL, NP(64), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	got = malloc(NP(64));
	CHILD_CHECK(anon != MAP_FAILED && got, "out of memory");
	memset(anon, 0x4e, NP(64));
	CHILD_CHECK(!setrlimit(RLIMIT_MEMLOCK, &rl), "setrlimit: %s",
		    strerror(errno));
	CHILD_CHECK(!setgroups(0, NULL) && !setresgid(65534, 65534, 65534) &&
		    !setresuid(65534, 65534, 65534), "becoming nobody: %s",
		    strerror(errno));
	/* Back to owning our /proc files (fdinfo). */
	CHILD_CHECK(!prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "PR_SET_DUMPABLE");

	CHILD_EXPECT(raw_setup(a->ring, &prm), 0, "SETUP as nobody");
	CHILD_EXPECT(raw_ring_map_try(&r, a->ring, &prm), 0, "ring mmap");
	iov = (struct iovec){ anon, PG };
	CHILD_EXPECT(raw_register(a->ring, RING_REGISTER_BUFFERS, 1,
				  (uintptr_t)&iov), -ENOMEM,
		     "REGISTER_BUFFERS of 1 page with RLIMIT_MEMLOCK 0");
	CHILD_EXPECT(raw_register(a->ring, RING_REGISTER_IOTLB, 0,
				  (uintptr_t)&reg), 0, "REGISTER_IOTLB");
	m = mmap(NULL, NP(64), PROT_READ | PROT_WRITE, MAP_SHARED, a->ring,
		 RING_OFF_IOTLB);
	CHILD_CHECK(m != MAP_FAILED, "mmap of the IOTLB: %s", strerror(errno));
	CHILD_EXPECT(raw_map(a->ring, 0, NP(48), 0, RW, 0), 0, "IOTLB_MAP");
	CHILD_EXPECT(raw_map(a->ring, NP(48), NP(16), (uintptr_t)anon,
			     RING_IOTLB_PERM_READ, RING_IOTLB_BOUNCE_IN), 0,
		     "IOTLB_MAP BOUNCE_IN");
	memset(m, 0x6f, NP(48));
	ret = raw_one(&r, RING_OP_WRITE_FIXED, a->file, 0, NP(48), 0);
	CHILD_EXPECT(ret, NP(48), "WRITE_FIXED of 48 pages as nobody");
	ret = raw_one(&r, RING_OP_WRITE_FIXED, a->file, NP(48), NP(16), NP(48));
	CHILD_EXPECT(ret, NP(16), "WRITE_FIXED of the BOUNCE_IN range");
	CHILD_CHECK(pread(a->file, got, NP(64), 0) == (ssize_t)NP(64), "pread");
	CHILD_CHECK(!memcmp(got, m, NP(48)) &&
		    !memcmp(got + NP(48), anon, NP(16)),
		    "the file does not hold what WRITE_FIXED sent");
	CHILD_EXPECT(self_status_kb("VmPin"), 0, "VmPin (kB)");
	CHILD_EXPECT(self_status_kb("VmLck"), 0, "VmLck (kB)");
	CHILD_EXPECT(fdinfo_get(a->ring, "IotlbResident"), 64, "IotlbResident");
}

static void test_nobody_no_memlock(void **state)
{
	struct ring_stats base;
	struct nobody_arg a;
	struct target tg;

	require_ring();
	stats_baseline(&base);
	target_open(&tg, TGT_TMPFS, false, 0, NP(64));
	a.file = tg.fd;
	a.ring = dev_open();
	run_child(child_nobody, &a, "nobody, RLIMIT_MEMLOCK 0");
	close(a.ring);
	target_close(&tg);
	expect_stats(&base, "nobody");
}

#define TAINT_WARN	(1L << 9)

/* The kernel's taint has the WARN bit: some WARN_ON fired since boot. */
static bool kernel_warned(void)
{
	return read_long("/proc/sys/kernel/tainted") & TAINT_WARN;
}

static void set_max(unsigned long long v)
{
	saved_max = saved_max ? saved_max : param_max();
	if (!write_sysctl_long(PARAM_MAX, (long)v)) {
		print_message("# SKIP: writing %llu to %s: %s\n", v, PARAM_MAX,
			      strerror(errno));
		skip();
	}
}

/*
 * iotlb_max_bytes is root's to raise. Whatever it allows, a REGISTER
 * that is too big to back is refused (or lazily accepted), not a kernel
 * warning: a WARN_ON reachable by any user is a crash on panic_on_warn.
 */
static void test_huge_region(void **state)
{
	const unsigned long long size = 1ULL << 42;	/* 4 TiB */
	bool warned = kernel_warned();
	struct ring_stats base;
	struct ring ring;
	int ret;

	require_ring();
	stats_baseline(&base);
	set_max(size);
	ring_init_or_fail(&ring, 4);
	ret = raw_reg(ring.ring_fd, size, 0, 0);
	if (ret != 0 && ret != -ENOMEM)
		fail_msg("REGISTER_IOTLB of 4 TiB: got %d (%s), expected 0 or "
			 "-ENOMEM", ret, errstr(ret));
	expect_tlb(ring.ring_fd, ret ? 0 : size, 0, 0, "4 TiB region");
	if (!warned && kernel_warned())
		fail_msg("REGISTER_IOTLB of 4 TiB (%s) made the kernel WARN "
			 "(see dmesg)", errstr(ret));
	if (warned)
		print_message("# the kernel had warned before: not checked\n");
	ring_queue_exit(&ring);
	restore_max(NULL);
	expect_stats(&base, "4 TiB region");
}

/*
 * A request as long as a region larger than 1 GiB allows (1 GiB + 4 KiB
 * from a misaligned IOVA: 262146 pages) completes, and its pages go away
 * with the region. /dev/null takes the write without copying.
 */
static void test_largest_io(void **state)
{
	const size_t size = (1UL << 30) + (2UL << 20), len = (1UL << 30) + PG;
	bool warned = kernel_warned();
	struct ring_stats base;
	struct itlb t;
	long avail0 = meminfo_kb("MemAvailable"), held0, held;
	int null, res;

	require_ring();
	if (avail0 < (long)((size + (256UL << 20)) >> 10))
		FIXED_SKIP("a 1 GiB request allocates 1 GiB of IOTLB pages; the "
			   "guest has %ld MiB available", avail0 >> 10);
	stats_baseline(&base);
	held0 = mem_unexplained_kb();
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(null >= 0);
	set_max(size);
	itlb_init(&t, 4, size);
	map_ok(&t, 0, size / PG, RW);
	res = iova_io(&t.ring, RING_OP_WRITE_FIXED, null, 100, len, 0);
	if (!warned && kernel_warned())
		fail_msg("WRITE_FIXED of 1 GiB + 4 KiB (res %d) made the kernel "
			 "WARN (see dmesg)", res);
	expect_ret_msg(res, len, "WRITE_FIXED of 1 GiB + 4 KiB (262146 pages) "
		       "to /dev/null");
	expect_tlb(t.fd, size, size / PG, len / PG + 1, "after the request");
	itlb_exit(&t);
	restore_max(NULL);
	close(null);
	held = mem_unexplained_kb();
	if (held > held0 + (4L << 10))
		fail_msg("%ld MiB held by no known owner after unregister, %ld "
			 "MiB before", held >> 10, held0 >> 10);
	expect_stats(&base, "largest request");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_fresh_zeros),
	cmocka_unit_test(test_data_tmpfs),
	cmocka_unit_test(test_data_nullb_direct),
	cmocka_unit_test(test_sigbus),
	cmocka_unit_test(test_fork),
	cmocka_unit_test(test_mmap_rules),
	cmocka_unit_test_teardown(test_register_errors, restore_max),
	cmocka_unit_test(test_map_errors),
	cmocka_unit_test(test_perm_and_bounds),
	cmocka_unit_test(test_stream),
	cmocka_unit_test(test_two_rings),
	cmocka_unit_test(test_mapping_outlives_fd),
	cmocka_unit_test(test_one_gib),
	cmocka_unit_test(test_syscalls_on_mapping),
	cmocka_unit_test(test_close_inflight),
	cmocka_unit_test(test_nobody_no_memlock),
	cmocka_unit_test_teardown(test_huge_region, restore_max),
	cmocka_unit_test_teardown(test_largest_io, restore_max),
};

VMTEST_MAIN(tests)
