// SPDX-License-Identifier: MIT
/*
 * Fixed buffers on huge pages and RLIMIT_MEMLOCK. Pinning one 4 KiB page of
 * a transparent huge page or a hugetlb page keeps its whole 2 MiB folio
 * pinned and unreclaimable, so the whole folio is what the ring is charged,
 * in locked memory (RLIMIT_MEMLOCK) and in pinned_vm (VmPin) alike: once
 * per ring however many of its buffers pin it, and until the last of them
 * is gone. Emptying or replacing one of two slots sharing a folio, in either
 * order, must not drop the charge while the other still pins it (the io_uring
 * huge page accounting bypass); neither does munmap of the memory.
 *
 * Root's charge is read from VmPin and fdinfo PinnedPages. Nobody's locked
 * memory is not visible from /proc, so it is measured as test_fixed_user.c
 * does, by what still fits: registering exactly the rest of the limit in
 * 4 KiB pages on a spare ring succeeds, one page more fails with -ENOMEM.
 *
 * I/O in flight keeps its huge page charged after its slot is emptied, and
 * its end un-charges it exactly, also when the last put of the buffer is
 * deferred from a completion in interrupt context (null_blk O_DIRECT).
 *
 * Everything runs in forked children (CHILD_CHECK; a child that cannot get
 * huge pages after all reports a SKIP) for anonymous THP (MADV_HUGEPAGE,
 * checked with AnonHugePages of /proc/self/smaps) and MAP_HUGETLB 2 MiB
 * pages; the tests SKIP with the reason where those cannot be had.
 */
#include "fixedtest.h"

#include <poll.h>

#define HP		(HPAGE / PG)	/* 4 KiB pages in a huge page: 512 */
#define HP_KB		(HPAGE >> 10)	/* 2048 */
#define LIMIT_SMALL	64UL		/* 256 KiB: less than a huge page */
#define LIMIT_TWO	(2 * HP + 1)	/* two huge pages and 4 KiB */
#define NRINGS		3		/* the last one probes the limit */
#define NMANY		16		/* huge pages, 4 KiB buffer on each */

enum huge_kind { HUGE_THP, HUGE_HUGETLB };

static const char *const huge_name[] = { "THP", "hugetlb" };

struct hk {
	enum huge_kind kind;
	int fd[NRINGS];
	char *small;		/* LIMIT_TWO + 1 pages, 4 KiB pages, touched */
	long pin0;		/* VmPin kB at the start */
};

/* ---- huge memory (no cmocka: parent and children) ----------------------- */

/* AnonHugePages of the VMAs inside [addr, addr + len), kB; -1 if unknown. */
static long anon_huge_kb(const void *addr, size_t len)
{
	unsigned long a = (uintptr_t)addr, start, end;
	char line[512];
	bool in = false;
	long kb = 0;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* A VMA's first line; "Anonymous:" and such scan one number. */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = start >= a && end <= a + len;
			continue;
		}
		if (in && !strncmp(line, "AnonHugePages:", 14))
			kb += strtol(line + 14, NULL, 10);
	}
	fclose(f);
	return kb;
}

static void thp_setting(char *buf, size_t len)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");

	snprintf(buf, len, "no /sys/kernel/mm/transparent_hugepage/enabled");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/*
 * n huge pages of the kind, 2 MiB aligned, touched (so present: every page
 * of them is a page of a 2 MiB folio); NULL and the reason if they cannot
 * be had. hugetlb pages must have been reserved (hugetlb_reserve).
 */
static char *huge_map(enum huge_kind kind, unsigned n, char *why, size_t wlen)
{
	size_t len = n * HPAGE, head;
	char *p, *a, setting[128];
	long kb;

	if (kind == HUGE_HUGETLB) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED) {
			snprintf(why, wlen, "mmap MAP_HUGETLB %u x 2 MiB: %s",
				 n, strerror(errno));
			return NULL;
		}
		memset(p, 0x5a, len);
		return p;
	}
	p = mmap(NULL, len + HPAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(why, wlen, "mmap %zu bytes: %s", len + HPAGE,
			 strerror(errno));
		return NULL;
	}
	a = (char *)(((uintptr_t)p + HPAGE - 1) & ~(uintptr_t)(HPAGE - 1));
	head = (size_t)(a - p);
	if (head)
		munmap(p, head);
	munmap(a + len, HPAGE - head);
	if (madvise(a, len, MADV_HUGEPAGE)) {
		snprintf(why, wlen, "madvise MADV_HUGEPAGE: %s",
			 strerror(errno));
		munmap(a, len);
		return NULL;
	}
	memset(a, 0x5a, len);
	kb = anon_huge_kb(a, len);
	if (kb < (long)(len >> 10)) {
		thp_setting(setting, sizeof(setting));
		snprintf(why, wlen, "%u x 2 MiB with MADV_HUGEPAGE got %ld kB "
			 "AnonHugePages (transparent_hugepage/enabled: %s)", n,
			 kb, setting);
		munmap(a, len);
		return NULL;
	}
	return a;
}

/* ---- in the children (CHILD_CHECK, never cmocka) ------------------------ */

/* Leave with a SKIP the parent reports (run_hk()). */
#define CHILD_SKIP(fmt, ...) do {					\
	snprintf(child_rep->note, sizeof(child_rep->note),		\
		 "SKIP: " fmt, ##__VA_ARGS__);				\
	_exit(0);							\
} while (0)

static char *hk_huge(struct hk *h, unsigned n)
{
	char why[512];
	char *m = huge_map(h->kind, n, why, sizeof(why));

	if (!m)
		CHILD_SKIP("%s", why);
	return m;
}

/* Open the rings (as root: /dev/ring is root's), limit the child. */
static void hk_open(struct hk *h, unsigned long limit, bool nobody)
{
	unsigned i;

	for (i = 0; i < NRINGS; i++) {
		h->fd[i] = open(ring_dev(), O_RDWR | O_CLOEXEC);
		CHILD_CHECK(h->fd[i] >= 0, "open %s: %s", ring_dev(),
			    strerror(errno));
	}
	if (nobody) {
		set_memlock(limit);
		drop_to_nobody();
	}
	for (i = 0; i < NRINGS; i++) {
		struct ring_params p = { .sq_entries = 4 };

		CHILD_EXPECT(raw_setup(h->fd[i], &p), 0, "SETUP of ring %u", i);
	}
	h->small = mmap(NULL, (LIMIT_TWO + 1) * PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(h->small != MAP_FAILED, "mmap: %s", strerror(errno));
	CHILD_CHECK(!madvise(h->small, (LIMIT_TWO + 1) * PG, MADV_NOHUGEPAGE),
		    "madvise NOHUGEPAGE: %s", strerror(errno));
	memset(h->small, 0x33, (LIMIT_TWO + 1) * PG);
	h->pin0 = self_status_kb("VmPin");
	CHILD_CHECK(h->pin0 >= 0, "no VmPin in /proc/self/status");
}

static void hk_close(struct hk *h)
{
	unsigned i;

	for (i = 0; i < NRINGS; i++)
		if (h->fd[i] >= 0)
			close(h->fd[i]);
	CHILD_CHECK(self_status_kb("VmPin") == h->pin0, "VmPin +%ld kB after "
		    "closing the rings", self_status_kb("VmPin") - h->pin0);
	munmap(h->small, (LIMIT_TWO + 1) * PG);
}

static int hk_reg(struct hk *h, unsigned r, const struct iovec *iov,
		  unsigned nr)
{
	return raw_register(h->fd[r], RING_REGISTER_BUFFERS, nr,
			    (uintptr_t)iov);
}

/* One buffer [p, p + len) on ring r. */
static int hk_reg1(struct hk *h, unsigned r, void *p, size_t len)
{
	struct iovec iov = { p, len };

	return hk_reg(h, r, &iov, 1);
}

static int hk_unreg(struct hk *h, unsigned r)
{
	return raw_register(h->fd[r], RING_UNREGISTER_BUFFERS, 0, 0);
}

/* Slot slot of ring r becomes [p, p + len); p NULL: empty it. */
static int hk_update(struct hk *h, unsigned r, unsigned slot, void *p,
		     size_t len)
{
	struct iovec iov = { p, p ? len : 0 };
	struct ring_buf_update up = { .offset = slot,
				      .iovecs = (uintptr_t)&iov };

	return raw_register(h->fd[r], RING_REGISTER_BUFFERS_UPDATE, 1,
			    (uintptr_t)&up);
}

/* VmPin is pin0 + kb and ring r's fdinfo PinnedPages is pages. */
static void hk_pinned(struct hk *h, long kb, int r, long pages,
		      const char *what)
{
	long pin = self_status_kb("VmPin");

	CHILD_CHECK(pin == h->pin0 + kb, "%s %s: VmPin +%ld kB, expected "
		    "+%ld kB", huge_name[h->kind], what, pin - h->pin0, kb);
	if (r >= 0) {
		long long p = fdinfo_get(h->fd[r], "PinnedPages");

		CHILD_CHECK(p == pages, "%s %s: fdinfo PinnedPages of ring %d "
			    "is %lld, expected %ld", huge_name[h->kind], what,
			    r, p, pages);
	}
}

/*
 * Nobody's locked memory is `charged` pages (of `limit`): the rest of the
 * limit in 4 KiB pages fits on the spare ring, one page more does not.
 */
static void hk_locked(struct hk *h, unsigned long limit, unsigned long charged,
		      const char *what)
{
	unsigned r = NRINGS - 1;
	unsigned long rest = limit - charged;

	CHILD_CHECK(charged <= limit, "%s: %lu charged over a limit of %lu",
		    what, charged, limit);
	CHILD_EXPECT(hk_reg1(h, r, h->small, (rest + 1) * PG), -ENOMEM,
		     "%s %s: %lu pages on the spare ring, expected %lu charged "
		     "of a limit of %lu (the huge pages under-charged?)",
		     huge_name[h->kind], what, rest + 1, charged, limit);
	if (!rest)
		return;
	CHILD_EXPECT(hk_reg1(h, r, h->small, rest * PG), 0,
		     "%s %s: %lu pages on the spare ring, expected %lu charged "
		     "of a limit of %lu (over-charged, or not un-charged?)",
		     huge_name[h->kind], what, rest, charged, limit);
	CHILD_EXPECT(hk_unreg(h, r), 0, "%s: UNREGISTER the spare ring", what);
}

/* ---- the scenarios (children) -------------------------------------------- */

/*
 * Root: a 4 KiB buffer (and a 100-byte one) inside a huge page pins the
 * whole 2 MiB; two rings pinning it are charged once each.
 */
static void one_page_root(void *arg)
{
	struct hk h = { .kind = *(enum huge_kind *)arg };
	char *m;

	hk_open(&h, 0, false);
	m = hk_huge(&h, 1);
	CHILD_EXPECT(hk_reg1(&h, 0, m + 5 * PG + 3, 100), 0, "100 bytes");
	hk_pinned(&h, HP_KB, 0, HP, "100 bytes in one huge page");
	CHILD_EXPECT(hk_unreg(&h, 0), 0, "UNREGISTER");
	hk_pinned(&h, 0, 0, 0, "unregistered");

	CHILD_EXPECT(hk_reg1(&h, 0, m + HPAGE - PG, PG), 0, "last 4 KiB");
	hk_pinned(&h, HP_KB, 0, HP, "4 KiB in one huge page");
	CHILD_EXPECT(hk_reg1(&h, 1, m, PG), 0, "first 4 KiB, second ring");
	hk_pinned(&h, 2 * HP_KB, 1, HP, "the same huge page on two rings");
	close(h.fd[1]);
	h.fd[1] = -1;
	hk_pinned(&h, HP_KB, 0, HP, "second ring closed");
	CHILD_EXPECT(hk_unreg(&h, 0), 0, "UNREGISTER");
	hk_pinned(&h, 0, 0, 0, "both gone");
	munmap(m, HPAGE);
	hk_close(&h);
}

/*
 * Nobody, RLIMIT_MEMLOCK 256 KiB: 4 KiB of a huge page is 2 MiB pinned,
 * refused with -ENOMEM whichever way it comes, leaving nothing pinned or
 * charged.
 */
static void one_page_nobody(void *arg)
{
	struct hk h = { .kind = *(enum huge_kind *)arg };
	struct iovec iov[2];
	char *m;

	hk_open(&h, LIMIT_SMALL, true);
	m = hk_huge(&h, 1);
	CHILD_EXPECT(hk_reg1(&h, 0, m, PG), -ENOMEM,
		     "%s: 4 KiB of a huge page, limit 256 KiB",
		     huge_name[h.kind]);
	hk_pinned(&h, 0, 0, 0, "after -ENOMEM");
	CHILD_EXPECT(fdinfo_get(h.fd[0], "BufferSlots"), 0, "BufferSlots");
	hk_locked(&h, LIMIT_SMALL, 0, "after -ENOMEM");

	/* Second of two buffers: the first is not left behind either. */
	iov[0] = (struct iovec){ h.small, PG };
	iov[1] = (struct iovec){ m + 7 * PG, 100 };
	CHILD_EXPECT(hk_reg(&h, 0, iov, 2), -ENOMEM,
		     "%s: 4 KiB, then 100 bytes of a huge page",
		     huge_name[h.kind]);
	hk_pinned(&h, 0, 0, 0, "after a partial -ENOMEM");
	hk_locked(&h, LIMIT_SMALL, 0, "after a partial -ENOMEM");

	/* Through UPDATE: refused, the slot keeps its 4 KiB page. */
	CHILD_EXPECT(hk_reg1(&h, 0, h.small, PG), 0, "one 4 KiB page");
	CHILD_EXPECT(hk_update(&h, 0, 0, m + HPAGE - PG, PG), -ENOMEM,
		     "%s: UPDATE to 4 KiB of a huge page", huge_name[h.kind]);
	hk_pinned(&h, 4, 0, 1, "after the refused UPDATE");
	hk_locked(&h, LIMIT_SMALL, 1, "after the refused UPDATE");
	CHILD_EXPECT(hk_unreg(&h, 0), 0, "UNREGISTER");
	munmap(m, HPAGE);
	hk_close(&h);
}

/*
 * Root: two buffers sharing one huge page are charged once; emptying
 * either slot first keeps the charge, emptying the other drops it; an
 * UPDATE replacing a buffer by another in the same huge page keeps it.
 */
static void shared_root(void *arg)
{
	struct hk h = { .kind = *(enum huge_kind *)arg };
	char *m, *a, *b;
	struct iovec iov[2];

	hk_open(&h, 0, false);
	m = hk_huge(&h, 1);
	a = m;
	b = m + HPAGE / 2 + 7;
	iov[0] = (struct iovec){ a, PG };
	iov[1] = (struct iovec){ b, 2 * PG };

	/* Slot 0 emptied first. */
	CHILD_EXPECT(hk_reg(&h, 0, iov, 2), 0, "two buffers in one huge page");
	hk_pinned(&h, HP_KB, 0, HP, "two buffers, one huge page");
	CHILD_EXPECT(hk_update(&h, 0, 0, NULL, 0), 1, "UPDATE: empty slot 0");
	hk_pinned(&h, HP_KB, 0, HP, "slot 0 emptied, slot 1 pins it");
	CHILD_EXPECT(hk_update(&h, 0, 1, NULL, 0), 1, "UPDATE: empty slot 1");
	hk_pinned(&h, 0, 0, 0, "both slots emptied");

	/* Filled again one by one, then slot 1 emptied first. */
	CHILD_EXPECT(hk_update(&h, 0, 1, b, 2 * PG), 1, "UPDATE: fill slot 1");
	hk_pinned(&h, HP_KB, 0, HP, "slot 1 filled");
	CHILD_EXPECT(hk_update(&h, 0, 0, a, PG), 1, "UPDATE: fill slot 0");
	hk_pinned(&h, HP_KB, 0, HP, "slot 0 filled too");
	CHILD_EXPECT(hk_update(&h, 0, 1, NULL, 0), 1, "UPDATE: empty slot 1");
	hk_pinned(&h, HP_KB, 0, HP, "slot 1 emptied, slot 0 pins it");
	CHILD_EXPECT(hk_update(&h, 0, 0, NULL, 0), 1, "UPDATE: empty slot 0");
	hk_pinned(&h, 0, 0, 0, "both slots emptied again");

	/* Replaced by a buffer in the same huge page: never un-charged. */
	CHILD_EXPECT(hk_update(&h, 0, 0, a, PG), 1, "UPDATE: fill slot 0");
	CHILD_EXPECT(hk_update(&h, 0, 0, b, 2 * PG), 1,
		     "UPDATE: replace slot 0");
	hk_pinned(&h, HP_KB, 0, HP, "slot 0 replaced in the same huge page");
	CHILD_EXPECT(hk_update(&h, 0, 1, a + PG, PG), 1, "UPDATE: fill slot 1");
	hk_pinned(&h, HP_KB, 0, HP, "slot 1 filled");
	CHILD_EXPECT(hk_unreg(&h, 0), 0, "UNREGISTER");
	hk_pinned(&h, 0, 0, 0, "unregistered");

	/* Both in one slot's buffer, twice: still one huge page. */
	CHILD_EXPECT(hk_reg1(&h, 0, a, HPAGE), 0, "the whole huge page");
	CHILD_EXPECT(hk_update(&h, 0, 0, b, PG), 1, "UPDATE: replace by 4 KiB");
	hk_pinned(&h, HP_KB, 0, HP, "whole huge page replaced by 4 KiB of it");
	CHILD_EXPECT(hk_unreg(&h, 0), 0, "UNREGISTER");
	hk_pinned(&h, 0, 0, 0, "unregistered");
	munmap(m, HPAGE);
	hk_close(&h);
}

/*
 * Nobody, RLIMIT_MEMLOCK two huge pages and 4 KiB: the locked memory itself
 * (not only VmPin) is charged once per shared huge page, stays charged
 * while any slot pins it, through UPDATE in both orders and munmap, and is
 * given back exactly when the last pin goes.
 */
static void shared_nobody(void *arg)
{
	struct hk h = { .kind = *(enum huge_kind *)arg };
	struct iovec iov[3];
	char *m, *a, *b;

	hk_open(&h, LIMIT_TWO, true);
	m = hk_huge(&h, 2);
	a = m;
	b = m + HPAGE;
	iov[0] = (struct iovec){ a, PG };
	iov[1] = (struct iovec){ a + HPAGE / 2, PG + 1 };
	iov[2] = (struct iovec){ h.small + 3 * PG, PG };

	CHILD_EXPECT(hk_reg(&h, 0, iov, 3), 0, "two buffers in huge page A "
		     "and 4 KiB, limit 4 MiB + 4 KiB");
	hk_pinned(&h, HP_KB + 4, 0, HP + 1, "A twice and 4 KiB");
	hk_locked(&h, LIMIT_TWO, HP + 1, "A twice and 4 KiB");

	/* Slot 0 emptied first: slot 1 still pins A. */
	CHILD_EXPECT(hk_update(&h, 0, 0, NULL, 0), 1, "UPDATE: empty slot 0");
	hk_locked(&h, LIMIT_TWO, HP + 1, "slot 0 of A emptied");
	/* Slot 0 to huge page B: exactly the limit now (A, B, 4 KiB). */
	CHILD_EXPECT(hk_update(&h, 0, 0, b + 9 * PG, PG), 1,
		     "UPDATE: slot 0 to 4 KiB of B");
	hk_pinned(&h, 2 * HP_KB + 4, 0, 2 * HP + 1, "A, B and 4 KiB");
	/* No room for any more. */
	CHILD_EXPECT(hk_update(&h, 0, 2, h.small + 5 * PG, 2 * PG), -ENOMEM,
		     "UPDATE: slot 2 from 1 to 2 pages, at the limit");
	CHILD_EXPECT(hk_update(&h, 0, 2, NULL, 0), 1, "UPDATE: empty slot 2");
	hk_locked(&h, LIMIT_TWO, 2 * HP, "exactly A and B");

	/* Slot 1 (the last pin of A) emptied: A's charge goes. */
	CHILD_EXPECT(hk_update(&h, 0, 1, NULL, 0), 1, "UPDATE: empty slot 1");
	hk_pinned(&h, HP_KB, 0, HP, "B only");
	hk_locked(&h, LIMIT_TWO, HP, "B only");

	/* The other order: B pinned by slot 0 and slot 1, slot 1 goes first. */
	CHILD_EXPECT(hk_update(&h, 0, 1, b + HPAGE - PG, PG), 1,
		     "UPDATE: slot 1 to B too");
	hk_locked(&h, LIMIT_TWO, HP, "B twice");
	CHILD_EXPECT(hk_update(&h, 0, 1, NULL, 0), 1, "UPDATE: empty slot 1");
	hk_locked(&h, LIMIT_TWO, HP, "slot 1 of B emptied");
	/* Replacing slot 0 by another 4 KiB of B keeps the charge. */
	CHILD_EXPECT(hk_update(&h, 0, 0, b + 4 * PG, PG), 1,
		     "UPDATE: slot 0 to another page of B");
	hk_locked(&h, LIMIT_TWO, HP, "slot 0 replaced within B");

	/* munmap: B stays pinned and charged until the ring lets go. */
	CHILD_EXPECT(hk_update(&h, 0, 1, a + 3 * PG, PG), 1,
		     "UPDATE: slot 1 to A");
	munmap(m, 2 * HPAGE);
	hk_pinned(&h, 2 * HP_KB, 0, 2 * HP, "A and B unmapped");
	hk_locked(&h, LIMIT_TWO, 2 * HP, "A and B unmapped");
	CHILD_EXPECT(hk_update(&h, 0, 1, NULL, 0), 1, "UPDATE: empty slot 1");
	hk_locked(&h, LIMIT_TWO, HP, "unmapped A let go");
	CHILD_EXPECT(hk_unreg(&h, 0), 0, "UNREGISTER");
	hk_pinned(&h, 0, 0, 0, "unregistered");
	hk_locked(&h, LIMIT_TWO, 0, "unregistered");
	hk_close(&h);
}

/* Root: munmap after registering; charged until unregister (or close). */
static void munmap_root(void *arg)
{
	struct hk h = { .kind = *(enum huge_kind *)arg };
	char *m;

	hk_open(&h, 0, false);
	m = hk_huge(&h, 2);
	CHILD_EXPECT(hk_reg1(&h, 0, m + HPAGE + PG, PG), 0, "4 KiB");
	CHILD_EXPECT(hk_reg1(&h, 1, m + 100, 100), 0, "100 bytes, ring 1");
	CHILD_CHECK(!munmap(m, 2 * HPAGE), "munmap: %s", strerror(errno));
	hk_pinned(&h, 2 * HP_KB, 0, HP, "unmapped");
	CHILD_EXPECT(hk_unreg(&h, 0), 0, "UNREGISTER");
	hk_pinned(&h, HP_KB, 0, 0, "ring 0 unregistered");
	close(h.fd[1]);
	h.fd[1] = -1;
	hk_pinned(&h, 0, -1, 0, "ring 1 closed");
	hk_close(&h);
}

/*
 * Nobody, RLIMIT_MEMLOCK 256 KiB: 4 KiB on each of NMANY huge pages is
 * NMANY x 2 MiB pinned, refused; nothing stays pinned or charged.
 */
static void many_nobody(void *arg)
{
	struct hk h = { .kind = *(enum huge_kind *)arg };
	struct iovec iov[NMANY];
	unsigned i;
	char *m;

	hk_open(&h, LIMIT_SMALL, true);
	m = hk_huge(&h, NMANY);
	for (i = 0; i < NMANY; i++)
		iov[i] = (struct iovec){ m + i * HPAGE + (i * 37 % HP) * PG,
					 PG };
	CHILD_EXPECT(hk_reg(&h, 0, iov, NMANY), -ENOMEM,
		     "%s: 4 KiB on each of %u huge pages, limit 256 KiB",
		     huge_name[h.kind], NMANY);
	hk_pinned(&h, 0, 0, 0, "after -ENOMEM");
	hk_locked(&h, LIMIT_SMALL, 0, "after -ENOMEM");

	/* One slot at a time: none fits. */
	for (i = 0; i < NMANY; i++)
		iov[i] = (struct iovec){ h.small + i * PG, 1 };
	CHILD_EXPECT(hk_reg(&h, 0, iov, NMANY), 0, "%u slots of 1 byte",
		     NMANY);
	for (i = 0; i < NMANY; i++)
		CHILD_EXPECT(hk_update(&h, 0, i, m + i * HPAGE, PG), -ENOMEM,
			     "%s: UPDATE slot %u to 4 KiB of huge page %u",
			     huge_name[h.kind], i, i);
	hk_pinned(&h, NMANY * 4, 0, NMANY, "after the refused UPDATEs");
	hk_locked(&h, LIMIT_SMALL, NMANY, "after the refused UPDATEs");
	CHILD_EXPECT(hk_unreg(&h, 0), 0, "UNREGISTER");
	munmap(m, NMANY * HPAGE);
	hk_pinned(&h, 0, 0, 0, "unregistered");
	hk_close(&h);
}

/*
 * Root: a READ_FIXED in flight keeps its huge page pinned and charged after
 * its slot is emptied; its completion lets go of the last pin.
 */
static void inflight_root(void *arg)
{
	struct hk h = { .kind = *(enum huge_kind *)arg };
	struct ring ring;
	struct ring_cqe cqe;
	struct ring_sqe *sqe;
	struct iovec iov;
	int pfd[2], ret, tries;
	char *m;

	hk_open(&h, 0, false);
	m = hk_huge(&h, 1);
	CHILD_EXPECT(ring_queue_init(4, &ring, 0), 0, "ring_queue_init");
	CHILD_CHECK(!pipe2(pfd, O_CLOEXEC), "pipe: %s", strerror(errno));
	iov = (struct iovec){ m + 11 * PG, PG };
	CHILD_EXPECT(ring_register_buffers(&ring, &iov, 1), 0, "4 KiB");
	sqe = ring_get_sqe(&ring);
	ring_prep_read_fixed(sqe, pfd[0], m + 11 * PG, 100, 0, 0);
	ring_sqe_set_data64(sqe, 42);
	CHILD_EXPECT(ring_submit(&ring), 1, "submit READ_FIXED from a pipe");
	CHILD_EXPECT(reap(&ring, &cqe, 1, 100), 0, "nothing yet from the pipe");

	iov = (struct iovec){ NULL, 0 };
	CHILD_EXPECT(ring_register_buffers_update(&ring, 0, &iov, 1), 1,
		     "UPDATE: empty the slot in use");
	CHILD_CHECK(self_status_kb("VmPin") == h.pin0 + (long)HP_KB,
		    "%s: VmPin +%ld kB with the READ_FIXED in flight, expected "
		    "+%lu", huge_name[h.kind], self_status_kb("VmPin") - h.pin0,
		    HP_KB);
	CHILD_CHECK(write(pfd[1], "abc", 3) == 3, "write: %s", strerror(errno));
	CHILD_EXPECT(reap(&ring, &cqe, 1, io_timeout_ms()), 1, "the CQE");
	CHILD_EXPECT(cqe.res, 3, "READ_FIXED from the pipe");
	CHILD_CHECK(!memcmp(m + 11 * PG, "abc", 3), "READ_FIXED: wrong data");
	/* The last put may be deferred to a workqueue: give it a moment. */
	for (tries = 0; tries < 500; tries++) {
		ret = self_status_kb("VmPin") == h.pin0;
		if (ret)
			break;
		sleep_ms(10);
	}
	CHILD_CHECK(ret, "%s: VmPin +%ld kB 5 s after the last I/O ended",
		    huge_name[h.kind], self_status_kb("VmPin") - h.pin0);
	CHILD_EXPECT(fdinfo_get(ring.ring_fd, "PinnedPages"), 0, "PinnedPages");
	ring_queue_exit(&ring);
	close(pfd[0]);
	close(pfd[1]);
	munmap(m, HPAGE);
	hk_close(&h);
}

/*
 * Root: O_DIRECT READ_FIXED on null_blk (completions in interrupt context,
 * so the last put of a buffer is deferred to the workqueue) into a whole
 * huge page whose slot is emptied while they are in flight: the huge page
 * stays charged until the last of them ends, then the deferred put un-charges
 * it exactly.
 */
#define NB_IO		(64U << 10)
#define NB_NR		(HPAGE / NB_IO)		/* 32: the whole huge page */
#define NB_ROUNDS	20

static void inflight_nullb_root(void *arg)
{
	struct hk h = { .kind = *(enum huge_kind *)arg };
	struct ring_cqe cqe[NB_NR];
	struct ring ring;
	struct iovec iov;
	unsigned round, i, caught = 0;
	int fd, tries, n;
	long pin;
	char *m;

	hk_open(&h, 0, false);
	m = hk_huge(&h, 1);
	fd = open("/dev/nullb0", O_RDWR | O_DIRECT | O_CLOEXEC);
	CHILD_CHECK(fd >= 0, "open /dev/nullb0: %s", strerror(errno));
	CHILD_EXPECT(ring_queue_init(NB_NR, &ring, 0), 0, "ring_queue_init");
	iov = (struct iovec){ m, PG };
	CHILD_EXPECT(ring_register_buffers(&ring, &iov, 1), 0, "4 KiB");
	for (round = 0; round < NB_ROUNDS; round++) {
		iov = (struct iovec){ m, HPAGE };
		CHILD_EXPECT(ring_register_buffers_update(&ring, 0, &iov, 1), 1,
			     "round %u: UPDATE to the whole huge page", round);
		for (i = 0; i < NB_NR; i++) {
			struct ring_sqe *sqe = ring_get_sqe(&ring);

			CHILD_CHECK(sqe, "round %u: SQ full", round);
			ring_prep_read_fixed(sqe, fd, m + i * NB_IO, NB_IO,
					     i * NB_IO, 0);
			ring_sqe_set_data64(sqe, i);
		}
		CHILD_EXPECT(ring_submit(&ring), NB_NR, "round %u: submit",
			     round);
		iov = (struct iovec){ NULL, 0 };
		CHILD_EXPECT(ring_register_buffers_update(&ring, 0, &iov, 1), 1,
			     "round %u: UPDATE: empty the slot in use", round);
		pin = self_status_kb("VmPin") - h.pin0;
		CHILD_CHECK(pin == 0 || pin == (long)HP_KB, "round %u: VmPin "
			    "+%ld kB after emptying the slot, expected 0 or "
			    "+%lu", round, pin, HP_KB);
		caught += pin != 0;
		n = reap(&ring, cqe, NB_NR, io_timeout_ms());
		CHILD_EXPECT(n, NB_NR, "round %u: CQEs", round);
		for (i = 0; i < NB_NR; i++)
			CHILD_EXPECT(cqe[i].res, NB_IO, "round %u: READ_FIXED "
				     "%llu", round,
				     (unsigned long long)cqe[i].user_data);
		for (tries = 0; tries < 500; tries++) {
			pin = self_status_kb("VmPin") - h.pin0;
			if (!pin)
				break;
			sleep_ms(10);
		}
		CHILD_CHECK(!pin, "%s round %u: VmPin +%ld kB 5 s after the "
			    "last I/O ended", huge_name[h.kind], round, pin);
		CHILD_EXPECT(fdinfo_get(ring.ring_fd, "PinnedPages"), 0,
			     "round %u: PinnedPages", round);
	}
	snprintf(child_rep->note, sizeof(child_rep->note), "slot emptied with "
		 "the huge page still pinned by I/O in %u of %u rounds", caught,
		 NB_ROUNDS);
	ring_queue_exit(&ring);
	close(fd);
	munmap(m, HPAGE);
	hk_close(&h);
}

/* ---- the tests (parent) -------------------------------------------------- */

/* Huge pages of the kind, n of them at once, or SKIP with the reason. */
static void need_huge(enum huge_kind kind, unsigned n)
{
	char why[512];
	char *m;

	require_ring();
	if (!env_vm(why, sizeof(why)))
		FIXED_SKIP("%s", why);
	if (kind == HUGE_HUGETLB && !hugetlb_reserve(n, why, sizeof(why)))
		FIXED_SKIP("%s", why);
	m = huge_map(kind, n, why, sizeof(why));
	if (!m) {
		hugetlb_restore();
		FIXED_SKIP("%s", why);
	}
	munmap(m, n * HPAGE);
}

static void run_hk(void (*fn)(void *), enum huge_kind kind, unsigned n,
		   const char *what)
{
	static struct child_report *rep;
	struct ring_stats base;
	long pin0;

	need_huge(kind, n);
	if (!rep)
		rep = child_report_new();
	stats_baseline(&base);
	pin0 = vmpin_pages();
	wait_child(spawn_child(fn, &kind, rep), rep, what);
	hugetlb_restore();
	expect_ret_msg(vmpin_pages() - pin0, 0, "parent's VmPin");
	expect_stats(&base, what);
	if (!strncmp(rep->note, "SKIP: ", 6))
		FIXED_SKIP("%s", rep->note + 6);
}

#define HK_TESTS(name, n)						\
static void test_thp_##name(void **state)				\
{									\
	run_hk(name, HUGE_THP, n, "THP: " #name);			\
}									\
static void test_hugetlb_##name(void **state)				\
{									\
	run_hk(name, HUGE_HUGETLB, n, "hugetlb: " #name);		\
}

HK_TESTS(one_page_root, 1)
HK_TESTS(one_page_nobody, 1)
HK_TESTS(shared_root, 1)
HK_TESTS(shared_nobody, 2)
HK_TESTS(munmap_root, 2)
HK_TESTS(many_nobody, NMANY)
HK_TESTS(inflight_root, 1)

static void nullb_hk(enum huge_kind kind, const char *what)
{
	char why[512];

	require_ring();
	if (!env_nullb(why, sizeof(why)))
		FIXED_SKIP("%s", why);
	run_hk(inflight_nullb_root, kind, 1, what);
}

static void test_thp_inflight_nullb(void **state)
{
	nullb_hk(HUGE_THP, "THP: inflight_nullb_root");
}

static void test_hugetlb_inflight_nullb(void **state)
{
	nullb_hk(HUGE_HUGETLB, "hugetlb: inflight_nullb_root");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_thp_one_page_root),
	cmocka_unit_test(test_thp_one_page_nobody),
	cmocka_unit_test(test_thp_shared_root),
	cmocka_unit_test(test_thp_shared_nobody),
	cmocka_unit_test(test_thp_munmap_root),
	cmocka_unit_test(test_thp_many_nobody),
	cmocka_unit_test(test_thp_inflight_root),
	cmocka_unit_test(test_thp_inflight_nullb),
	cmocka_unit_test(test_hugetlb_one_page_root),
	cmocka_unit_test(test_hugetlb_one_page_nobody),
	cmocka_unit_test(test_hugetlb_shared_root),
	cmocka_unit_test(test_hugetlb_shared_nobody),
	cmocka_unit_test(test_hugetlb_munmap_root),
	cmocka_unit_test(test_hugetlb_many_nobody),
	cmocka_unit_test(test_hugetlb_inflight_root),
	cmocka_unit_test(test_hugetlb_inflight_nullb),
};

VMTEST_MAIN(tests)
