// SPDX-License-Identifier: MIT
/*
 * READ_FIXED/WRITE_FIXED data integrity. Random verified I/O at queue
 * depths 1, 8 and 32 between eight registered buffers (none page aligned,
 * lengths not page multiples, I/O from anywhere inside them) and null_blk,
 * a tmpfs file and an ext4 file, buffered and O_DIRECT; the same with the
 * buffers in a memfd and in hugetlb pages (MAP_HUGETLB, MFD_HUGETLB), with
 * BufferBvecs checked: one bvec per 4 KiB page, or per 2 MiB huge page.
 *
 * CVE-2023-2598: one page mapped many times over a contiguous range (a
 * memfd page, a page of a shmem transparent huge page, a hugetlb page), and
 * the pages of a huge page mapped out of order, must never be coalesced
 * into one bvec: each fixed I/O touches exactly the pages its addresses
 * name, checked against a model of the mapping and the files' contents.
 * Where the pages really are consecutive (a whole THP, hugetlb pages) they
 * are coalesced, and offsets into the coalesced bvecs land right.
 *
 * PinnedPages and VmPin: small pages count per page and buffer, a huge
 * page whole and once per ring however much of it the buffers cover
 * (test_fixed_thp.c has the RLIMIT_MEMLOCK side of that).
 */
#include "fixedtest.h"

#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#define NBUF		8
#define AREA		(64U << 10)	/* one request's memory area */
#define AREAS		4		/* per buffer */
#define BUFSZ		(AREA * AREAS)
#define LANE		(128U << 10)	/* one request's file range */
#define LANES		32
#define REGION		(LANE * LANES)

enum mem_kind { MEM_ANON, MEM_MEMFD, MEM_HUGETLB, MEM_HUGETLB_MEMFD };

static const char *const mem_name[] = {
	"anonymous", "memfd", "MAP_HUGETLB", "hugetlb memfd",
};

/* bvecs of [addr, addr + len) cut at every seg boundary. */
static long segs(uintptr_t addr, size_t len, size_t seg)
{
	return (long)((addr + len - 1) / seg - addr / seg + 1);
}

/* Offset and memory alignment O_DIRECT needs on t (1 if buffered). */
static size_t dio_align(const struct target *t)
{
	struct statx stx;
	int ssz;

	if (!t->direct)
		return 1;
	if (t->blockdev) {
		if (ioctl(t->fd, BLKSSZGET, &ssz) || ssz <= 0)
			fail_msg("BLKSSZGET %s: %s", t->path, strerror(errno));
		return (size_t)ssz;
	}
	if (!statx(t->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align)
		return stx.stx_dio_offset_align > stx.stx_dio_mem_align ?
		       stx.stx_dio_offset_align : stx.stx_dio_mem_align;
	return 4096;
}

/* ---- the verified random engine over NBUF fixed buffers ----------------- */

struct fx {
	struct ring ring;
	struct target t;
	enum mem_kind mk;
	unsigned char *map;
	size_t map_len;
	int memfd;
	struct iovec iov[NBUF];
	unsigned char *mshadow[NBUF];	/* what each buffer must hold */
	unsigned char *shadow;		/* what the file region must hold */
	size_t align;
	uint64_t rng;
	unsigned long ops, bytes;
	long pin0;
};

struct fx_req {
	bool write;
	unsigned slot;
	size_t moff;			/* in the buffer */
	size_t foff;			/* in the region */
	size_t len;
};

static size_t rnd_aligned(uint64_t *rng, size_t max, size_t align)
{
	return rnd_below(rng, (unsigned)(max / align + 1)) * align;
}

static void fx_map(struct fx *f)
{
	char why[512];
	int flags;

	f->memfd = -1;
	f->map_len = NBUF * (BUFSZ + 2 * PG);
	switch (f->mk) {
	case MEM_ANON:
		f->map = map_anon(f->map_len);
		return;
	case MEM_MEMFD:
		f->memfd = memfd_sized("ring-fx", f->map_len, 0);
		break;
	case MEM_HUGETLB:
	case MEM_HUGETLB_MEMFD:
		f->map_len = (f->map_len + HPAGE - 1) & ~(HPAGE - 1);
		if (!hugetlb_reserve((long)(f->map_len / HPAGE), why,
				     sizeof(why)))
			FIXED_SKIP("%s", why);
		if (f->mk == MEM_HUGETLB_MEMFD)
			f->memfd = memfd_sized("ring-fx-huge", f->map_len,
					       MFD_HUGETLB);
		break;
	}
	flags = f->memfd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS;
	if (f->mk == MEM_HUGETLB)
		flags |= MAP_HUGETLB;
	f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE, flags,
		      f->memfd, 0);
	if (f->map == MAP_FAILED)
		fail_msg("mmap %zu bytes of %s memory: %s", f->map_len,
			 mem_name[f->mk], strerror(errno));
}

/* bvecs the registered buffers must have become. */
static long fx_bvecs(const struct fx *f)
{
	size_t seg = f->mk >= MEM_HUGETLB ? HPAGE : PG;
	long n = 0;
	unsigned k;

	for (k = 0; k < NBUF; k++)
		n += segs((uintptr_t)f->iov[k].iov_base, f->iov[k].iov_len, seg);
	return n;
}

static void fx_init(struct fx *f, enum tgt_kind kind, bool direct,
		    enum mem_kind mk)
{
	long pages = 0;
	char what[160];
	unsigned k;

	memset(f, 0, sizeof(*f));
	f->mk = mk;
	target_open(&f->t, kind, direct, 0, REGION);
	f->align = dio_align(&f->t);
	snprintf(what, sizeof(what), "%s, %s buffers", f->t.name, mem_name[mk]);
	f->rng = test_seed(what);
	f->pin0 = vmpin_pages();
	fx_map(f);
	f->shadow = xalloc(REGION);
	target_fill(&f->t, f->shadow, &f->rng);
	for (k = 0; k < NBUF; k++) {
		/* Off the page start (aligned as O_DIRECT needs), odd sizes. */
		size_t mis = (k * 1536 + 100 * (f->align == 1)) % PG;

		mis -= mis % f->align;
		f->iov[k].iov_base = f->map + k * (BUFSZ + 2 * PG) + mis;
		f->iov[k].iov_len = BUFSZ + (k % 3) * 1000;
		f->mshadow[k] = malloc(f->iov[k].iov_len);
		assert_non_null(f->mshadow[k]);
		rnd_fill(&f->rng, f->iov[k].iov_base, f->iov[k].iov_len);
		memcpy(f->mshadow[k], f->iov[k].iov_base, f->iov[k].iov_len);
		pages += span_pages(f->iov[k].iov_base, f->iov[k].iov_len);
	}
	if (mk >= MEM_HUGETLB)
		pages = huge_charge_pages(f->iov, NBUF);
	ring_init_or_fail(&f->ring, 32);
	expect_ret(ring_register_buffers(&f->ring, f->iov, NBUF), 0);
	if (mk == MEM_MEMFD && meminfo_kb("ShmemHugePages") > 0)
		/* memfds may be THP-backed here: fewer bvecs, whole THPs. */
		expect_bufs(f->ring.ring_fd, NBUF, -1, -1, f->pin0,
			    mem_name[mk]);
	else
		expect_bufs(f->ring.ring_fd, NBUF, pages, fx_bvecs(f), f->pin0,
			    mem_name[mk]);
}

/* One batch of qd requests: distinct file lanes, distinct memory areas. */
static void fx_batch(struct fx *f, unsigned qd)
{
	struct fx_req req[LANES];
	struct ring_cqe cqes[LANES];
	unsigned lanes[LANES], i, k;
	size_t a = f->align;

	assert_true(qd <= LANES && qd <= NBUF * AREAS);
	for (i = 0; i < LANES; i++)
		lanes[i] = i;
	for (i = LANES - 1; i > 0; i--) {
		unsigned j = rnd_below(&f->rng, i + 1), x = lanes[i];

		lanes[i] = lanes[j];
		lanes[j] = x;
	}
	for (i = 0; i < qd; i++) {
		struct fx_req *r = &req[i];
		struct ring_sqe *sqe = ring_get_sqe(&f->ring);
		size_t max = AREA - a, room;
		unsigned char *p;

		r->write = rnd_below(&f->rng, 2);
		r->slot = i % NBUF;
		r->len = a + rnd_aligned(&f->rng, max - a, a);
		room = AREA - r->len;
		r->moff = (i / NBUF) * AREA + rnd_aligned(&f->rng, room, a);
		r->foff = lanes[i] * (size_t)LANE +
			  rnd_aligned(&f->rng, LANE - r->len, a);
		p = (unsigned char *)f->iov[r->slot].iov_base + r->moff;
		if (r->write) {
			rnd_fill(&f->rng, p, r->len);
			memcpy(f->mshadow[r->slot] + r->moff, p, r->len);
			ring_prep_write_fixed(sqe, f->t.fd, p, r->len,
					      r->foff, r->slot);
		} else {
			ring_prep_read_fixed(sqe, f->t.fd, p, r->len, r->foff,
					     r->slot);
		}
		ring_sqe_set_data64(sqe, i);
	}
	submit_reap(&f->ring, cqes, qd);
	for (i = 0; i < qd; i++) {
		unsigned ud = (unsigned)cqes[i].user_data;
		struct fx_req *r = &req[ud];

		assert_true(ud < qd);
		expect_ret_msg(cqes[i].res, r->len, "%s: %s of %zu from slot %u "
			       "+%zu at %zu (QD %u)", f->t.name,
			       r->write ? "WRITE_FIXED" : "READ_FIXED", r->len,
			       r->slot, r->moff, r->foff, qd);
		if (r->write)
			memcpy(f->shadow + r->foff, f->mshadow[r->slot] + r->moff,
			       r->len);
		else
			memcpy(f->mshadow[r->slot] + r->moff, f->shadow + r->foff,
			       r->len);
		f->ops++;
		f->bytes += r->len;
	}
	/* Reads landed where they should and nowhere else. */
	for (k = 0; k < NBUF; k++)
		expect_same(f->iov[k].iov_base, f->mshadow[k], f->iov[k].iov_len,
			    "%s: buffer %u after a batch at QD %u", f->t.name, k,
			    qd);
}

/* The whole region read back through the fixed buffers, 64 KiB at a time. */
static void fx_read_all(struct fx *f)
{
	struct ring_cqe cqes[NBUF];
	size_t off;
	unsigned i;

	for (off = 0; off < REGION; off += NBUF * AREA) {
		for (i = 0; i < NBUF; i++) {
			struct ring_sqe *sqe = ring_get_sqe(&f->ring);
			unsigned char *p = f->iov[i].iov_base;

			memset(p, 0xa5, AREA);
			ring_prep_read_fixed(sqe, f->t.fd, p, AREA,
					     off + i * AREA, i);
			ring_sqe_set_data64(sqe, i);
		}
		submit_reap(&f->ring, cqes, NBUF);
		for (i = 0; i < NBUF; i++)
			expect_ret_msg(cqes[i].res, AREA, "read-back at %zu",
				       off + (size_t)cqes[i].user_data * AREA);
		for (i = 0; i < NBUF; i++)
			expect_same(f->iov[i].iov_base, f->shadow + off + i * AREA,
				    AREA, "%s: read-back of %zu", f->t.name,
				    off + i * AREA);
	}
}

static void fx_exit(struct fx *f)
{
	unsigned k;

	expect_inflight0(&f->ring, f->t.name);
	expect_ret(ring_unregister_buffers(&f->ring), 0);
	expect_no_bufs(f->ring.ring_fd, f->pin0, "unregistered");
	ring_queue_exit(&f->ring);
	munmap(f->map, f->map_len);
	if (f->memfd >= 0)
		close(f->memfd);
	for (k = 0; k < NBUF; k++)
		free(f->mshadow[k]);
	free(f->shadow);
	target_close(&f->t);
	hugetlb_restore();
}

static void integrity(enum tgt_kind kind, bool direct, enum mem_kind mk)
{
	static const unsigned qds[] = { 1, 8, 32 };
	static const unsigned batches[] = { 24, 12, 6 };
	struct ring_stats base;
	struct fx f;
	char msg[768];
	long long t0 = now_ns();
	unsigned i, j;

	require_ring();
	stats_baseline(&base);
	fx_init(&f, kind, direct, mk);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < scaled(batches[i], 2); j++)
			fx_batch(&f, qds[i]);
		if (target_verify(&f.t, f.shadow, msg, sizeof(msg)))
			fail_msg("after QD %u: %s", qds[i], msg);
	}
	fx_read_all(&f);
	print_message("# %s, %s buffers: %lu requests, %lu KiB in %lld ms\n",
		      f.t.name, mem_name[mk], f.ops, f.bytes >> 10,
		      (now_ns() - t0) / 1000000);
	fx_exit(&f);
	expect_stats(&base, "fixed integrity");
}

static void test_nullb_direct(void **state)
{
	integrity(TGT_NULLB, true, MEM_ANON);
}

static void test_nullb_buffered(void **state)
{
	integrity(TGT_NULLB, false, MEM_ANON);
}

static void test_tmpfs(void **state)
{
	integrity(TGT_TMPFS, false, MEM_ANON);
}

static void test_ext4(void **state)
{
	integrity(TGT_EXT4, false, MEM_ANON);
}

static void test_ext4_direct(void **state)
{
	integrity(TGT_EXT4, true, MEM_ANON);
}

static void test_memfd_nullb_direct(void **state)
{
	integrity(TGT_NULLB, true, MEM_MEMFD);
}

static void test_memfd_tmpfs(void **state)
{
	integrity(TGT_TMPFS, false, MEM_MEMFD);
}

static void test_hugetlb_nullb_direct(void **state)
{
	integrity(TGT_NULLB, true, MEM_HUGETLB);
}

static void test_hugetlb_memfd_ext4(void **state)
{
	integrity(TGT_EXT4, false, MEM_HUGETLB_MEMFD);
}

/* ---- a model of an aliased mapping --------------------------------------- */

/*
 * va[] is npages 4 KiB pages; VA page i shows page fpage[i] of the file
 * fd, whose expected content is fshadow. Fixed I/O is checked against the
 * model: a write sends exactly the bytes the addresses name, a read
 * stores into exactly those (in order: later aliases win).
 */
struct alias {
	unsigned char *va;
	unsigned npages;
	unsigned *fpage;
	int fd;
	size_t fsize;
	unsigned char *fshadow;
	const char *name;
};

static unsigned char *alias_at(struct alias *m, size_t off)
{
	return &m->fshadow[m->fpage[off / PG] * PG + off % PG];
}

/* The file and every VA page hold what the model says. */
static void alias_check(struct alias *m, const char *what)
{
	unsigned char *got = xalloc(m->fsize);
	unsigned i;

	xpread(m->fd, got, m->fsize, 0);
	expect_same(got, m->fshadow, m->fsize, "%s: %s: file content", m->name,
		    what);
	for (i = 0; i < m->npages; i++)
		expect_same(m->va + i * PG, m->fshadow + m->fpage[i] * PG, PG,
			    "%s: %s: VA page %u (file page %u)", m->name, what,
			    i, m->fpage[i]);
	free(got);
}

/* WRITE_FIXED [off, off + len) of the VA range (slot) to t at toff. */
static void alias_write(struct alias *m, struct ring *ring, unsigned slot,
			size_t off, size_t len, const struct target *t,
			off_t toff)
{
	unsigned char *want = xalloc(len), *got = xalloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		want[i] = *alias_at(m, off + i);
	expect_ret_msg(fixed_io(ring, RING_OP_WRITE_FIXED, t->fd, m->va + off,
				len, toff, slot), len, "%s: WRITE_FIXED of "
		       "+%zu..%zu to %s", m->name, off, off + len, t->name);
	xpread(t->fd, got, len, toff);
	expect_same(got, want, len, "%s: %s after WRITE_FIXED of +%zu..%zu "
		    "(pages not named by the addresses?)", m->name, t->name,
		    off, off + len);
	free(want);
	free(got);
}

/* READ_FIXED len random bytes from t at toff into [off, off + len). */
static void alias_read(struct alias *m, struct ring *ring, unsigned slot,
		       size_t off, size_t len, const struct target *t,
		       off_t toff, uint64_t *rng)
{
	unsigned char *data = xalloc(len);
	char what[96];
	size_t i;

	rnd_fill(rng, data, len);
	xpwrite(t->fd, data, len, toff);
	expect_ret_msg(fixed_io(ring, RING_OP_READ_FIXED, t->fd, m->va + off,
				len, toff, slot), len, "%s: READ_FIXED into "
		       "+%zu..%zu from %s", m->name, off, off + len, t->name);
	for (i = 0; i < len; i++)
		*alias_at(m, off + i) = data[i];
	snprintf(what, sizeof(what), "after READ_FIXED into +%zu..%zu", off,
		 off + len);
	alias_check(m, what);
	free(data);
}

/*
 * Map piece fpiece[i] (piece bytes: 4 KiB, or 2 MiB for hugetlb) of the
 * file at VA piece i, the VA range aligned to 2 MiB; random file content.
 */
static void alias_map(struct alias *m, int fd, size_t fsize, unsigned npieces,
		      size_t piece, const unsigned *fpiece, const char *name,
		      uint64_t *rng)
{
	unsigned per = (unsigned)(piece / PG), i;
	void *whole;

	memset(m, 0, sizeof(*m));
	m->npages = npieces * per;
	m->va = map_reserve(m->npages * PG, HPAGE);
	m->fpage = calloc(m->npages, sizeof(*m->fpage));
	assert_non_null(m->fpage);
	m->fd = fd;
	m->fsize = fsize;
	m->name = name;
	for (i = 0; i < npieces; i++)
		map_fixed_fd(m->va + i * piece, piece, fd, (off_t)fpiece[i] * piece,
			     PROT_READ | PROT_WRITE, MAP_SHARED);
	for (i = 0; i < m->npages; i++)
		m->fpage[i] = fpiece[i / per] * per + i % per;
	m->fshadow = xalloc(fsize);
	rnd_fill(rng, m->fshadow, fsize);
	/* Through a mapping of its own: hugetlbfs has no write(). */
	whole = mmap(NULL, fsize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (whole == MAP_FAILED)
		fail_msg("mmap %s: %s", name, strerror(errno));
	memcpy(whole, m->fshadow, fsize);
	munmap(whole, fsize);
	alias_check(m, "mapped");
}

static void alias_unmap(struct alias *m)
{
	munmap(m->va, m->npages * PG);
	free(m->fpage);
	free(m->fshadow);
}

struct alias_io {
	struct target nb, tf;
	bool have_nb;
	uint64_t rng;
};

/*
 * Register [va + off, va + off + len) as slot 0 (pages charged and bvecs
 * expected), then writes and reads through the range every step bytes,
 * each crossing page boundaries, against null_blk (O_DIRECT) where aligned
 * and a tmpfs file; then all of it at once.
 */
static void alias_exercise(struct alias *m, struct alias_io *io, size_t off,
			   size_t len, long pages, long bvecs, size_t step)
{
	struct target *nb = io->have_nb ? &io->nb : NULL, *tf = &io->tf;
	struct ring ring;
	struct iovec iov = { m->va + off, len };
	long pin0 = vmpin_pages();
	char what[128];
	size_t o;

	ring_init_or_fail(&ring, 4);
	expect_ret_msg(ring_register_buffers(&ring, &iov, 1), 0, "%s: register "
		       "+%zu..%zu", m->name, off, off + len);
	snprintf(what, sizeof(what), "%s: +%zu..%zu registered", m->name, off,
		 off + len);
	expect_bufs(ring.ring_fd, 1, pages, bvecs, pin0, what);

	/* From the second page on: the pages the CVE got wrong. */
	for (o = off + PG - off % PG; o + 3 * PG <= off + len; o += step) {
		if (nb)
			alias_write(m, &ring, 0, o + 512, 2 * PG, nb, 0);
		alias_write(m, &ring, 0, o + 100, 2 * PG + 1000, tf, 65536);
		alias_read(m, &ring, 0, o + 1024, 2 * PG, tf, 131072, &io->rng);
		if (nb)
			alias_read(m, &ring, 0, o, PG, nb, 16384, &io->rng);
	}
	alias_write(m, &ring, 0, off, len, tf, 0);
	alias_read(m, &ring, 0, off, len, tf, 0, &io->rng);
	ring_queue_exit(&ring);
	expect_ret_msg(vmpin_pages() - pin0, 0, "%s: VmPin after close", m->name);
}

static void alias_io_open(struct alias_io *io, const char *what)
{
	char why[512];

	io->rng = test_seed(what);
	io->have_nb = env_nullb(why, sizeof(why));
	if (io->have_nb)
		target_open(&io->nb, TGT_NULLB, true, 0, 1 << 20);
	else
		print_message("# no null_blk, tmpfs file only: %s\n", why);
	target_open(&io->tf, TGT_TMPFS, false, 0, 8 << 20);
}

static void alias_io_close(struct alias_io *io)
{
	if (io->have_nb)
		target_close(&io->nb);
	target_close(&io->tf);
}

/* CVE-2023-2598 as published: one memfd page mapped 32 times. */
static void test_cve_memfd_page(void **state)
{
	struct ring_stats base;
	struct alias_io io;
	struct alias m;
	unsigned fpiece[32] = { 0 };
	int fd;

	require_ring();
	stats_baseline(&base);
	alias_io_open(&io, "one memfd page mapped 32 times");
	fd = memfd_sized("ring-cve", PG, 0);
	alias_map(&m, fd, PG, 32, PG, fpiece, "memfd page x32", &io.rng);
	/* Small pages: charged per pinned page, aliases too. */
	alias_exercise(&m, &io, 0, 32 * PG, 32, 32, 5 * PG);
	alias_exercise(&m, &io, 3 * PG + 100, 20 * PG, 21, 21, 5 * PG);
	alias_unmap(&m);
	close(fd);
	alias_io_close(&io);
	expect_stats(&base, "one memfd page mapped 32 times");
}

/* ---- shmem transparent huge pages: tmpfs mounted huge=always ------------- */

static char thp_dir[64];

static void thp_umount(void)
{
	if (thp_dir[0]) {
		umount2(thp_dir, MNT_DETACH);
		rmdir(thp_dir);
		thp_dir[0] = 0;
	}
}

/*
 * A file of nr_thp 2 MiB pages on a huge=always tmpfs, each page a
 * transparent huge page (checked with ShmemHugePages); SKIPs if not.
 */
static int thp_file(unsigned nr_thp, uint64_t *rng)
{
	char why[256], path[96];
	size_t size = nr_thp * HPAGE;
	unsigned char *buf;
	long before, after;
	int fd;

	if (!env_vm(why, sizeof(why)))
		FIXED_SKIP("%s", why);
	if (!thp_dir[0]) {
		snprintf(thp_dir, sizeof(thp_dir), "/tmp/ring-thp-%d", getpid());
		if (mkdir(thp_dir, 0700))
			fail_msg("mkdir %s: %s", thp_dir, strerror(errno));
		if (mount("tmpfs", thp_dir, "tmpfs", 0, "huge=always,size=32m")) {
			int e = errno;

			rmdir(thp_dir);
			thp_dir[0] = 0;
			FIXED_SKIP("mount tmpfs -o huge=always: %s", strerror(e));
		}
		atexit(thp_umount);
	}
	snprintf(path, sizeof(path), "%s/f-XXXXXX", thp_dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		fail_msg("mkostemp %s: %s", path, strerror(errno));
	unlink(path);
	before = meminfo_kb("ShmemHugePages");
	buf = xalloc(size);
	rnd_fill(rng, buf, size);
	xpwrite(fd, buf, size, 0);
	free(buf);
	after = meminfo_kb("ShmemHugePages");
	if (before < 0 || after - before < (long)(size >> 10)) {
		close(fd);
		FIXED_SKIP("a %zu KiB file on tmpfs huge=always got %ld kB of "
			   "ShmemHugePages: no shmem THP here", size >> 10,
			   after - before);
	}
	return fd;
}

/*
 * Pages of one shmem THP: its first page mapped 32 times, 32 of its pages
 * mapped out of order, or in order but one twice, are one bvec per page;
 * its first 64 pages in order are one bvec (also from the second page on).
 * Each time the ring is charged the one THP, whole.
 */
static void test_cve_thp_shmem(void **state)
{
	struct ring_stats base;
	struct alias_io io;
	struct alias m;
	unsigned fpiece[64], i;
	int fd;

	require_ring();
	stats_baseline(&base);
	alias_io_open(&io, "shmem THP");
	fd = thp_file(1, &io.rng);

	for (i = 0; i < 32; i++)
		fpiece[i] = 0;
	alias_map(&m, fd, HPAGE, 32, PG, fpiece, "THP page 0 x32", &io.rng);
	alias_exercise(&m, &io, 0, 32 * PG, HPAGE / PG, 32, 5 * PG);
	alias_unmap(&m);

	/* 0, 5, 10, ... (mod 32): page 0 where the folio check wants it. */
	for (i = 0; i < 32; i++)
		fpiece[i] = i * 5 % 32;
	alias_map(&m, fd, HPAGE, 32, PG, fpiece, "THP pages permuted",
		  &io.rng);
	alias_exercise(&m, &io, 0, 32 * PG, HPAGE / PG, 32, 5 * PG);
	alias_unmap(&m);

	for (i = 0; i < 32; i++)
		fpiece[i] = i == 2 ? 1 : i;
	alias_map(&m, fd, HPAGE, 32, PG, fpiece, "THP pages 0 1 1 3 4 ...",
		  &io.rng);
	alias_exercise(&m, &io, 0, 32 * PG, HPAGE / PG, 32, 5 * PG);
	alias_unmap(&m);

	for (i = 0; i < 64; i++)
		fpiece[i] = i;
	alias_map(&m, fd, HPAGE, 64, PG, fpiece, "THP pages in order",
		  &io.rng);
	alias_exercise(&m, &io, 0, 64 * PG, HPAGE / PG, 1, 7 * PG);
	alias_exercise(&m, &io, PG + 300, 40 * PG, HPAGE / PG, 1, 7 * PG);
	alias_unmap(&m);

	close(fd);
	alias_io_close(&io);
	expect_stats(&base, "shmem THP");
}

/*
 * Whole shmem THPs: two mapped in swapped order are two 2 MiB bvecs, I/O
 * across their boundary lands in the right one; one mapped twice is two
 * bvecs of the same page, charged once.
 */
static void test_thp_shmem_swapped(void **state)
{
	struct ring_stats base;
	struct target tf;
	struct ring ring;
	struct iovec iov;
	unsigned char *va, *want, *got;
	size_t io = 3 * PG + 700, at = HPAGE - 2 * PG + 11;
	uint64_t rng;
	long pin0;
	unsigned round;
	int fd;

	require_ring();
	stats_baseline(&base);
	rng = test_seed("swapped shmem THPs");
	fd = thp_file(2, &rng);
	target_open(&tf, TGT_TMPFS, false, 0, 1 << 20);
	want = xalloc(2 * HPAGE);
	got = xalloc(io);
	xpread(fd, want, 2 * HPAGE, 0);

	for (round = 0; round < 2; round++) {
		/* Round 0: THP 1 then THP 0; round 1: THP 0 twice. */
		va = map_reserve(2 * HPAGE, HPAGE);
		map_fixed_fd(va, HPAGE, fd, round ? 0 : HPAGE,
			     PROT_READ | PROT_WRITE, MAP_SHARED);
		map_fixed_fd(va + HPAGE, HPAGE, fd, 0, PROT_READ | PROT_WRITE,
			     MAP_SHARED);
		pin0 = vmpin_pages();
		ring_init_or_fail(&ring, 4);
		iov = (struct iovec){ va, 2 * HPAGE };
		expect_ret(ring_register_buffers(&ring, &iov, 1), 0);
		expect_bufs(ring.ring_fd, 1, (round ? 1 : 2) * HPAGE / PG, 2,
			    pin0, round ? "one THP mapped twice" :
			    "two THPs swapped");
		expect_ret(fixed_io(&ring, RING_OP_WRITE_FIXED, tf.fd, va + at, io,
				    0, 0), io);
		xpread(tf.fd, got, io, 0);
		/* VA [at, HPAGE) is file THP (round ? 0 : 1), the rest THP 0. */
		expect_same(got, want + (round ? 0 : HPAGE) + at, HPAGE - at,
			    "round %u: first part", round);
		expect_same(got + HPAGE - at, want, io - (HPAGE - at),
			    "round %u: part after the 2 MiB boundary", round);
		ring_queue_exit(&ring);
		expect_ret(vmpin_pages() - pin0, 0);
		munmap(va, 2 * HPAGE);
	}
	free(want);
	free(got);
	close(fd);
	target_close(&tf);
	expect_stats(&base, "swapped shmem THPs");
}

/* ---- hugetlb ------------------------------------------------------------- */

static void need_hugepages(long n)
{
	char why[512];

	if (!hugetlb_reserve(n, why, sizeof(why)))
		FIXED_SKIP("%s", why);
}

/*
 * MAP_HUGETLB: a 2 MiB page is one bvec, 4 MiB two, a buffer from the
 * middle of one page into the next two; I/O across the boundary.
 */
static void test_hugetlb_bvecs(void **state)
{
	struct ring_stats base;
	struct target tf;
	struct ring ring;
	struct iovec iov[4];
	unsigned char *va, *got;
	uint64_t rng;
	long pin0;
	size_t io = 5 * PG + 99;

	require_ring();
	stats_baseline(&base);
	need_hugepages(2);
	rng = test_seed("hugetlb bvecs");
	target_open(&tf, TGT_TMPFS, false, 0, 1 << 20);
	va = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (va == MAP_FAILED)
		fail_msg("mmap MAP_HUGETLB 4 MiB: %s", strerror(errno));
	rnd_fill(&rng, va, 2 * HPAGE);
	got = xalloc(io);
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	iov[0] = (struct iovec){ va, HPAGE };
	iov[1] = (struct iovec){ va, 2 * HPAGE };
	iov[2] = (struct iovec){ va + PG + 100, HPAGE };
	iov[3] = (struct iovec){ va + HPAGE + 7 * PG, 3 * PG };
	expect_ret(ring_register_buffers(&ring, iov, 4), 0);
	/* The two huge pages, each charged once. */
	expect_bufs(ring.ring_fd, 4, 2 * HPAGE / PG, 1 + 2 + 2 + 1, pin0,
		    "2 MiB, 4 MiB, 2 MiB from +4196, 12 KiB inside");
	expect_ret(fixed_io(&ring, RING_OP_WRITE_FIXED, tf.fd,
			    va + HPAGE - 2 * PG - 1, io, 0, 1), io);
	xpread(tf.fd, got, io, 0);
	expect_same(got, va + HPAGE - 2 * PG - 1, io, "across the 2 MiB "
		    "boundary, slot 1");
	/* Slot 2 to its last byte, across into its short second bvec. */
	expect_ret(fixed_io(&ring, RING_OP_WRITE_FIXED, tf.fd,
			    va + HPAGE - PG + 100, 2 * PG, 8192, 2), 2 * PG);
	xpread(tf.fd, got, 2 * PG, 8192);
	expect_same(got, va + HPAGE - PG + 100, 2 * PG, "end of slot 2");
	rnd_fill(&rng, got, io);
	xpwrite(tf.fd, got, io, 65536);
	expect_ret(fixed_io(&ring, RING_OP_READ_FIXED, tf.fd,
			    va + HPAGE + 8 * PG - 1, 2 * PG, 65536, 3), 2 * PG);
	expect_same(va + HPAGE + 8 * PG - 1, got, 2 * PG, "READ_FIXED slot 3");
	expect_ret(ring_unregister_buffers(&ring), 0);
	expect_no_bufs(ring.ring_fd, pin0, "hugetlb unregistered");
	ring_queue_exit(&ring);
	munmap(va, 2 * HPAGE);
	free(got);
	target_close(&tf);
	hugetlb_restore();
	expect_stats(&base, "hugetlb bvecs");
}

/*
 * A hugetlb memfd's two pages mapped swapped, its first page mapped three
 * times, and a buffer across the boundary: one bvec per mapped huge page
 * touched, each the right page; each huge page charged once.
 */
static void test_hugetlb_memfd_aliases(void **state)
{
	static const unsigned swapped[] = { 1, 0 }, thrice[] = { 0, 0, 0 };
	struct ring_stats base;
	struct alias_io io;
	struct alias m;
	int fd;

	require_ring();
	stats_baseline(&base);
	need_hugepages(2);
	alias_io_open(&io, "hugetlb memfd aliases");
	fd = memfd_sized("ring-huge", 2 * HPAGE, MFD_HUGETLB);

	alias_map(&m, fd, 2 * HPAGE, 2, HPAGE, swapped, "hugetlb pages 1 0",
		  &io.rng);
	alias_exercise(&m, &io, 0, 2 * HPAGE, 2 * HPAGE / PG, 2,
		       HPAGE - 2 * PG);
	alias_exercise(&m, &io, HPAGE - 3 * PG + 5, HPAGE, 2 * HPAGE / PG, 2,
		       HPAGE / 2);
	alias_unmap(&m);

	alias_map(&m, fd, 2 * HPAGE, 3, HPAGE, thrice, "hugetlb page 0 x3",
		  &io.rng);
	alias_exercise(&m, &io, 0, 3 * HPAGE, HPAGE / PG, 3, HPAGE - 2 * PG);
	alias_unmap(&m);

	close(fd);
	alias_io_close(&io);
	hugetlb_restore();
	expect_stats(&base, "hugetlb memfd aliases");
}

/* ---- anonymous THP ------------------------------------------------------- */

static long rollup_kb(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':')
			v = strtol(line + klen + 1, NULL, 10);
	fclose(f);
	return v;
}

/*
 * Anonymous transparent huge pages coalesce like hugetlb ones: 4 MiB of
 * THP is two bvecs, a buffer from the fourth page into the second THP two,
 * a small one inside one; data across the boundary right. The two THPs are
 * charged once each.
 */
static void test_thp_anon(void **state)
{
	struct ring_stats base;
	struct target tf;
	struct ring ring;
	struct iovec iov[3];
	unsigned char *va, *got;
	size_t io = 4 * PG + 333;
	uint64_t rng;
	long before, after, pin0;

	require_ring();
	stats_baseline(&base);
	rng = test_seed("anonymous THP");
	va = map_reserve(2 * HPAGE, HPAGE);
	if (mmap(va, 2 * HPAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != va)
		fail_msg("mmap: %s", strerror(errno));
	madvise(va, 2 * HPAGE, MADV_HUGEPAGE);
	before = rollup_kb("AnonHugePages");
	rnd_fill(&rng, va, 2 * HPAGE);
	after = rollup_kb("AnonHugePages");
	if (before < 0 || after - before < (long)(2 * HPAGE >> 10)) {
		munmap(va, 2 * HPAGE);
		FIXED_SKIP("4 MiB with MADV_HUGEPAGE got %ld kB AnonHugePages: "
			   "no anonymous THP here", after - before);
	}
	target_open(&tf, TGT_TMPFS, false, 0, 1 << 20);
	got = xalloc(io);
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	iov[0] = (struct iovec){ va, 2 * HPAGE };
	iov[1] = (struct iovec){ va + 3 * PG + 5, HPAGE };
	iov[2] = (struct iovec){ va + 100, 1000 };
	expect_ret(ring_register_buffers(&ring, iov, 3), 0);
	expect_bufs(ring.ring_fd, 3, 2 * HPAGE / PG, 2 + 2 + 1, pin0,
		    "4 MiB THP, 2 MiB from +12293, 1000 bytes");
	expect_ret(fixed_io(&ring, RING_OP_WRITE_FIXED, tf.fd,
			    va + HPAGE - PG - 7, io, 0, 0), io);
	xpread(tf.fd, got, io, 0);
	expect_same(got, va + HPAGE - PG - 7, io, "slot 0 across 2 MiB");
	rnd_fill(&rng, got, io);
	xpwrite(tf.fd, got, io, 8192);
	/* Slot 1 to its last byte, across 2 MiB. */
	expect_ret(fixed_io(&ring, RING_OP_READ_FIXED, tf.fd,
			    va + HPAGE - PG, 4 * PG + 5, 8192, 1), 4 * PG + 5);
	expect_same(va + HPAGE - PG, got, 4 * PG + 5, "READ_FIXED to the end "
		    "of slot 1");
	ring_queue_exit(&ring);
	expect_ret_msg(vmpin_pages() - pin0, 0, "VmPin after close");
	munmap(va, 2 * HPAGE);
	free(got);
	target_close(&tf);
	expect_stats(&base, "anonymous THP");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_nullb_direct),
	cmocka_unit_test(test_nullb_buffered),
	cmocka_unit_test(test_tmpfs),
	cmocka_unit_test(test_ext4),
	cmocka_unit_test(test_ext4_direct),
	cmocka_unit_test(test_memfd_nullb_direct),
	cmocka_unit_test(test_memfd_tmpfs),
	cmocka_unit_test(test_hugetlb_nullb_direct),
	cmocka_unit_test(test_hugetlb_memfd_ext4),
	cmocka_unit_test(test_cve_memfd_page),
	cmocka_unit_test(test_cve_thp_shmem),
	cmocka_unit_test(test_thp_shmem_swapped),
	cmocka_unit_test(test_hugetlb_bvecs),
	cmocka_unit_test(test_hugetlb_memfd_aliases),
	cmocka_unit_test(test_thp_anon),
};

VMTEST_MAIN(tests)
