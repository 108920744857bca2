// SPDX-License-Identifier: GPL-2.0
/*
 * The calls of a ringfuzz program: for each, a generator of typed arguments
 * (valid, boundary and garbage values) and the code that runs it in the
 * child.  Arguments are slot numbers and selectors, never raw pointers, so
 * a saved program replays and any mutation is still meaningful:
 *
 *   ring slot   0..FZ_RINGS-1: an open /dev/ring fd and what we know of it
 *   fd slot     0..FZ_FDS-1: files of every kind (fdsel below)
 *   map slot    0..FZ_MAPS-1: ring regions, IOTLB windows, user buffers
 *   addrsel     bits 60-63 say what an address is (addr_resolve())
 *
 * Shared state is under st_lock only while a call reads or changes it; the
 * system call itself runs unlocked, so one lane can close or unmap what
 * another is using, which is the point.  Every touch of mapped memory goes
 * through fz_guarded(): a mapping another lane removed is a fault we expect.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/ring.h>
#include <linux/time_types.h>

#include "fuzz.h"

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#define SZ_2M (2UL << 20)

/* ---- state --------------------------------------------------------------- */

struct fz_ring {
	int fd;
	bool ready;			/* SETUP succeeded on it */
	struct ring_params p;
	int sq_map, cq_map, sqes_map;	/* map slots holding its regions */
	uint64_t user_data;
};

enum { MAP_NONE, MAP_SQ, MAP_CQ, MAP_SQES, MAP_IOTLB, MAP_BUF, MAP_HUGETLB_BUF };

struct fz_map {
	char *addr;
	size_t len;
	int kind;
};

static struct fz_ring rings[FZ_RINGS];
static int fds[FZ_FDS];
static struct fz_map maps[FZ_MAPS];
static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;

/* iovec arrays and register arguments: alive until the program ends. */
#define SCRATCH_SIZE (256 * 1024)
static char *scratch;
static size_t scratch_used;

static const char *fz_dir;	/* ext4 directory prepared by the runner */

/*
 * Every mapping a program makes lives in its slot's window of one reserved
 * arena, and what it unmaps goes back to a PROT_NONE guard: an I/O the
 * program sized past its buffer (up to 4 GiB: a read from null_blk, say)
 * lands in the arena, never in the executor's own memory, and nothing of
 * the executor is ever placed where a program will unmap.
 */
#define WIN	(4ULL << 30)
static char *arena;

static char *slot_base(int slot)
{
	return arena + (uint64_t)slot * WIN;
}

static void guard(void *addr, size_t len)
{
	if (addr && len)
		mmap(addr, len, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

static void *slot_mmap(int slot, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	void *p = mmap(slot_base(slot), len, prot, flags | MAP_FIXED, fd, off);

	/* A failed MAP_FIXED may have unmapped the range already. */
	if (p == MAP_FAILED)
		guard(slot_base(slot), len > WIN ? WIN : len);
	return p;
}

static void *uffd_server(void *arg);
static void uffd_forget_all(void);

static void state_clear(void)
{
	int i;

	for (i = 0; i < FZ_RINGS; i++) {
		memset(&rings[i], 0, sizeof(rings[i]));
		rings[i].fd = -1;
		rings[i].sq_map = rings[i].cq_map = rings[i].sqes_map = -1;
	}
	for (i = 0; i < FZ_FDS; i++)
		fds[i] = -1;
	memset(maps, 0, sizeof(maps));
	scratch_used = 0;
}

void fz_calls_init(void)
{
	state_clear();
	scratch = mmap(NULL, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch == MAP_FAILED)
		_exit(70);
	/* One window per slot and one more as the guard after the last. */
	arena = mmap(NULL, (FZ_MAPS + 1) * WIN + SZ_2M, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (arena == MAP_FAILED)
		_exit(70);
	arena = (char *)(((uintptr_t)arena + SZ_2M - 1) & ~(SZ_2M - 1));
	{
		pthread_t t;

		if (pthread_create(&t, NULL, uffd_server, NULL) == 0)
			pthread_detach(t);
	}
	fz_dir = getenv("FZ_DIR");
	if (!fz_dir)
		fz_dir = "/tmp";
}

/* Between programs (no lane busy): close and unmap what the last one left. */
bool fz_calls_reset(void)
{
	int i;

	uffd_forget_all();	/* before their numbers are reused */
	for (i = 0; i < FZ_RINGS; i++)
		if (rings[i].fd >= 0)
			close(rings[i].fd);
	for (i = 0; i < FZ_FDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (i = 0; i < FZ_MAPS; i++)
		guard(maps[i].addr, maps[i].len);
	state_clear();
	return true;
}

static void *scratch_alloc(size_t len)
{
	void *p;

	len = (len + 63) & ~63UL;
	if (len > SCRATCH_SIZE)
		return NULL;
	pthread_mutex_lock(&st_lock);
	if (scratch_used + len > SCRATCH_SIZE)
		scratch_used = 0;
	p = scratch + scratch_used;
	scratch_used += len;
	pthread_mutex_unlock(&st_lock);
	return p;
}

/* ---- value tables ---------------------------------------------------------- */

static uint64_t pick(struct fz_rand *r, const uint64_t *v, size_t n)
{
	return v[fz_below(r, n)];
}
#define PICK(r, v) pick(r, v, sizeof(v) / sizeof((v)[0]))

static const uint64_t entries_vals[] = {
	0, 1, 2, 3, 4, 8, 16, 32, 64, 128, 1000, 4096,
	RING_MAX_ENTRIES, RING_MAX_ENTRIES + 1, RING_MAX_CQ_ENTRIES,
	RING_MAX_CQ_ENTRIES + 1, 0x7fffffff, 0xffffffff,
};
static const uint64_t len_vals[] = {
	0, 1, 511, 512, 4095, 4096, 4097, 8192, 65536, 1 << 20, SZ_2M,
	0x7ffff000, 0x80000000, 0xffffffff,
};
static const uint64_t off_vals[] = {
	0, 0, 512, 4096, 65536, 1 << 20, RING_OFF_CURRENT, 1ULL << 40,
	-4096ULL, 0x7fffffffffffffffULL, 63 << 20,
};
static const uint64_t iova_vals[] = {
	0, 0, 4096, 8192, 65536, 1 << 20, SZ_2M, 0xfff000, 1ULL << 32,
	1ULL << 46, -4096ULL, 123,
};
static const uint64_t size_vals[] = {
	0, 4096, 4096, 8192, 65536, 1 << 20, SZ_2M, 64ULL << 20, 1ULL << 30,
	1ULL << 40, 4095, -4096ULL,
};
static const uint64_t garbage_addrs[] = {
	0, 1, 0x1000, 0xffff888000000000ULL, 0xffffffff81000000ULL, -1ULL,
	0x7ffffffff000ULL, 0x800000000000ULL, 0xdead000ULL, 0x7ffffffffff8ULL,
};
static const uint64_t rwf_vals[] = {
	0, 0, 0, 0x1 /* HIPRI */, 0x2 /* DSYNC */, 0x4 /* SYNC */,
	0x8 /* NOWAIT */, 0x10 /* APPEND */, 0x20, 0xffffffff,
};

/* Mostly the ring the prologue sets up, so that SQEs have somewhere to go. */
static uint64_t gen_ring(struct fz_rand *r)
{
	return fz_one_in(r, 4) ? fz_below(r, FZ_RINGS) : 0;
}

/* fdsel: 0..15 fd slot, 16..19 ring slot, then -1, unused, huge, own ring */
enum { FDSEL_RING = FZ_FDS, FDSEL_NEG = FZ_FDS + FZ_RINGS, FDSEL_UNUSED,
       FDSEL_HUGE, FDSEL_SELF, FDSEL_NR };

static uint64_t gen_fdsel(struct fz_rand *r)
{
	if (fz_one_in(r, 4))
		return FDSEL_RING + fz_below(r, FZ_RINGS);
	return fz_below(r, FDSEL_NR);
}

static int fd_resolve(uint64_t sel, int self)
{
	int fd = -1;

	sel %= FDSEL_NR;
	pthread_mutex_lock(&st_lock);
	if (sel < FZ_FDS) {
		/* An empty slot: the next open file (a bad fd has its own sel). */
		unsigned int i;

		for (i = 0; i < FZ_FDS && fd < 0; i++)
			fd = fds[(sel + i) % FZ_FDS];
	}
	else if (sel < FDSEL_NEG)
		fd = rings[sel - FDSEL_RING].fd;
	pthread_mutex_unlock(&st_lock);
	if (sel == FDSEL_UNUSED)
		fd = 1000;
	else if (sel == FDSEL_HUGE)
		fd = 0x7fffffff;
	else if (sel == FDSEL_SELF)
		fd = self;
	return fd;
}

/*
 * addrsel, by bits 60-63:
 *   0: map slot (bits 0-3) + offset (bits 8-31)
 *   1: an iovec array built now: first slot (0-3), count-1 (4-7), length
 *      selector (8-11), count override when nonzero (16-31)
 *   2: garbage address (bits 0-7 index garbage_addrs)
 *   3: the literal bits 0-55 (an IOVA)
 */
#define ADDR_KIND(k) ((uint64_t)(k) << 60)

static uint64_t gen_addrsel(struct fz_rand *r, bool iovec)
{
	switch (fz_below(r, 10)) {
	case 0:
		return ADDR_KIND(2) | fz_below(r, 10);
	case 1:
		return ADDR_KIND(3) | PICK(r, iova_vals);
	case 2: case 3: case 4:
		if (iovec)
			return ADDR_KIND(1) | fz_below(r, FZ_MAPS) |
			       fz_below(r, 16) << 4 | fz_below(r, 8) << 8 |
			       (fz_one_in(r, 8) ? (uint64_t)PICK(r, entries_vals) << 16 : 0);
		/* fall through */
	default:
		return fz_below(r, FZ_MAPS) |
		       (fz_one_in(r, 3) ? fz_below(r, 3) * 4096 + fz_below(r, 2) * 511 : 0) << 8;
	}
}

static const size_t iov_lens[] = { 0, 1, 512, 4096, 8192, 65536, 0, 0 };

/*
 * The buffer a slot names, or failing that the next user buffer after it:
 * most slots are empty in most programs, and an I/O on a NULL buffer only
 * ever reaches the first check.  st_lock held.
 */
static struct fz_map *buf_near(unsigned int slot)
{
	unsigned int i;

	for (i = 0; i < FZ_MAPS; i++) {
		struct fz_map *m = &maps[(slot + i) % FZ_MAPS];

		if (m->addr && (i == 0 || m->kind == MAP_BUF ||
				m->kind == MAP_HUGETLB_BUF || m->kind == MAP_IOTLB))
			return m;
	}
	return &maps[slot % FZ_MAPS];
}

static uint64_t addr_resolve(uint64_t sel)
{
	unsigned int kind = sel >> 60, slot = sel & 15, count, i;
	uint64_t off = (sel >> 8) & 0xffffff, a = 0;
	struct iovec *iov;

	switch (kind) {
	case 0:
		pthread_mutex_lock(&st_lock);
		a = (uint64_t)buf_near(slot)->addr + off;
		pthread_mutex_unlock(&st_lock);
		return a;
	case 1:
		count = ((sel >> 16) & 0xffff) ?: ((sel >> 4) & 15) + 1;
		if (count > 4096)
			count = 4096;
		iov = scratch_alloc(count * sizeof(*iov));
		if (!iov)
			return 0;
		pthread_mutex_lock(&st_lock);
		for (i = 0; i < count; i++) {
			struct fz_map *m = buf_near(slot + i);
			size_t len = iov_lens[(sel >> 8) & 7];

			if (!len || len > m->len)
				len = ((sel >> 8) & 7) == 0 ? 0 : m->len;
			iov[i].iov_base = m->addr;
			iov[i].iov_len = len;
		}
		pthread_mutex_unlock(&st_lock);
		return (uint64_t)iov;
	case 2:
		return garbage_addrs[(sel & 0xff) % 10];
	default:
		return sel & ((1ULL << 56) - 1);
	}
}

static void fill_random(void *buf, size_t len, uint64_t seed)
{
	struct fz_rand r = { seed | 1 };
	uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = fz_rnd(&r);
}

/* ---- guarded memory access ------------------------------------------------ */

struct sqe_job {
	struct ring_sqe sqe;
	uint32_t *tail, *array, mask, entries;
	struct ring_sqe *sqes;
	int64_t array_val;	/* < 0: the slot's own index */
};

static void write_sqe(void *arg)
{
	struct sqe_job *j = arg;
	uint32_t tail = __atomic_load_n(j->tail, __ATOMIC_RELAXED);
	uint32_t idx = tail & j->mask;

	j->sqes[idx] = j->sqe;
	j->array[idx] = j->array_val < 0 ? idx : (uint32_t)j->array_val;
	/* Pairs with the kernel's smp_load_acquire() of sq.tail. */
	__atomic_store_n(j->tail, tail + 1, __ATOMIC_RELEASE);
}

struct cq_job {
	uint32_t *head, *tail, mask, entries, max;
	struct ring_cqe *cqes;
	uint32_t reaped;
};

static void reap_cqes(void *arg)
{
	struct cq_job *j = arg;
	/* Pairs with the kernel's store-release of cq.tail. */
	uint32_t tail = __atomic_load_n(j->tail, __ATOMIC_ACQUIRE);
	uint32_t head = __atomic_load_n(j->head, __ATOMIC_RELAXED);
	volatile uint64_t sink = 0;

	/*
	 * No check of tail - head <= entries here: another lane may reap at
	 * the same time, and touch may have written the head; the kernel's
	 * own accounting is checked at the end (fz_calls_check).
	 */
	while (head != tail && j->reaped < j->max) {
		sink += j->cqes[head & j->mask].user_data;
		head++;
		j->reaped++;
	}
	(void)sink;
	__atomic_store_n(j->head, head, __ATOMIC_RELEASE);
}

struct touch_job {
	volatile char *p;
	bool write;
};

static void touch_mem(void *arg)
{
	struct touch_job *j = arg;

	if (j->write)
		*j->p = 1;
	else
		(void)*j->p;
}

/* ---- helpers --------------------------------------------------------------- */

static int ioctl_ring(int fd, unsigned long cmd, void *arg)
{
	fz_count_ring_call();
	return ioctl(fd, cmd, arg);
}

/* The ring regions in @slot are no longer what we think; st_lock held. */
static void map_unref_rings(int slot)
{
	int i;

	for (i = 0; i < FZ_RINGS; i++) {
		if (rings[i].sq_map == slot)
			rings[i].sq_map = -1;
		if (rings[i].cq_map == slot)
			rings[i].cq_map = -1;
		if (rings[i].sqes_map == slot)
			rings[i].sqes_map = -1;
	}
}

/* Forget @slot's mapping (and the ring regions in it); st_lock held. */
static void map_forget(int slot)
{
	maps[slot].addr = NULL;
	maps[slot].len = 0;
	maps[slot].kind = MAP_NONE;
	map_unref_rings(slot);
}

static void map_drop(int slot)
{
	struct fz_map old;

	pthread_mutex_lock(&st_lock);
	old = maps[slot];
	map_forget(slot);
	pthread_mutex_unlock(&st_lock);
	guard(old.addr, old.len);
}

static void fd_drop(int slot)
{
	int fd;

	pthread_mutex_lock(&st_lock);
	fd = fds[slot];
	fds[slot] = -1;
	pthread_mutex_unlock(&st_lock);
	if (fd >= 0)
		close(fd);
}

static void fd_set_slot(int slot, int fd)
{
	fd_drop(slot);
	pthread_mutex_lock(&st_lock);
	fds[slot] = fd;
	pthread_mutex_unlock(&st_lock);
}

/* ---- open_ring(slot, flags) --------------------------------------------- */

static void gen_open_ring(struct fz_rand *r, uint64_t *a)
{
	a[0] = gen_ring(r);
	a[1] = fz_one_in(r, 4) ? fz_below(r, 4) : 0;
}

static void run_open_ring(const uint64_t *a)
{
	static const int modes[] = { O_RDWR, O_RDWR | O_CLOEXEC, O_RDONLY, O_WRONLY };
	int slot = a[0] % FZ_RINGS, fd, old;

	fz_count_ring_call();
	fd = open("/dev/ring", modes[a[1] % 4]);
	if (fd < 0)
		return;
	pthread_mutex_lock(&st_lock);
	old = rings[slot].fd;
	memset(&rings[slot], 0, sizeof(rings[slot]));
	rings[slot].fd = fd;
	rings[slot].sq_map = rings[slot].cq_map = rings[slot].sqes_map = -1;
	pthread_mutex_unlock(&st_lock);
	if (old >= 0) {
		fz_count_ring_call();
		close(old);
	}
}

/* ---- setup(slot, sq_entries, cq_entries, flags, garbage) ----------------- */

static void gen_setup(struct fz_rand *r, uint64_t *a)
{
	a[0] = gen_ring(r);
	a[1] = fz_one_in(r, 3) ? PICK(r, entries_vals) : 1U << fz_below(r, 7);
	a[2] = PICK(r, entries_vals);
	a[3] = 0;
	if (fz_one_in(r, 2))
		a[3] = fz_nr_setup_flags ?
		       fz_setup_flags[fz_below(r, fz_nr_setup_flags)].val : 0;
	if (fz_one_in(r, 4))
		a[3] |= fz_setup_flags[fz_below(r, fz_nr_setup_flags)].val;
	if (fz_one_in(r, 12))
		a[3] |= 1ULL << fz_below(r, 32);
	a[4] = fz_one_in(r, 10) ? (1 + fz_below(r, 6)) | fz_rnd(r) << 8 : 0;
}

static void run_setup(const uint64_t *a)
{
	int slot = a[0] % FZ_RINGS, fd;
	struct ring_params p;
	uint32_t g = a[4] >> 8;

	memset(&p, 0, sizeof(p));
	p.sq_entries = a[1];
	p.cq_entries = a[2];
	p.flags = a[3];
	switch (a[4] & 0xff) {
	/* Mostly CPUs that exist and idle times short enough to expire. */
	case 1: p.sq_thread_cpu = g & 1 ? g : g % 4; break;
	case 2: p.sq_thread_idle = g & 1 ? g : g % 64; break;
	case 3: p.wq_fd = g; break;
	case 4: p.resv[g % 3] = g | 1; break;
	case 5: p.features = g; break;
	case 6: p.sq_off.head = g; break;
	}
	fd = fd_resolve(FDSEL_RING + slot, -1);
	if (ioctl_ring(fd, RING_IOC_SETUP, &p))
		return;
	pthread_mutex_lock(&st_lock);
	if (rings[slot].fd == fd) {
		rings[slot].p = p;
		rings[slot].ready = true;
	}
	pthread_mutex_unlock(&st_lock);
}

/* ---- mmap(ring, which, lensel, protsel, offset, slot) --------------------- */

static void gen_mmap(struct fz_rand *r, uint64_t *a)
{
	a[0] = gen_ring(r);
	a[1] = fz_one_in(r, 8) ? 4 : fz_below(r, 4);
	a[2] = fz_one_in(r, 4) ? fz_below(r, 4) : 0;
	a[3] = fz_one_in(r, 5) ? fz_below(r, 8) : 0;
	a[4] = a[1] == 4 ? fz_rnd(r) & ~0xfffULL : PICK(r, iova_vals);
	a[5] = fz_below(r, FZ_MAPS);
}

static void run_mmap(const uint64_t *a)
{
	static const int prots[] = {
		PROT_READ | PROT_WRITE, PROT_READ, PROT_WRITE, PROT_NONE,
		PROT_READ | PROT_WRITE | PROT_EXEC, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_WRITE, PROT_READ,
	};
	int slot = a[5] % FZ_MAPS, r = a[0] % FZ_RINGS, which = a[1] % 5;
	int prot = prots[a[3] % 8], flags = MAP_SHARED, kind, fd;
	size_t exact = 4096, len;
	uint64_t off;
	struct ring_params p;
	void *addr;

	if ((a[3] % 8) == 5)
		flags = MAP_PRIVATE;
	if ((a[3] % 8) == 6)
		flags |= MAP_POPULATE;
	pthread_mutex_lock(&st_lock);
	p = rings[r].p;
	fd = rings[r].fd;
	pthread_mutex_unlock(&st_lock);
	switch (which) {
	case 0:
		off = RING_OFF_SQ_RING;
		kind = MAP_SQ;
		exact = p.sq_off.array + p.sq_entries * 4;
		if (p.features & RING_FEAT_SINGLE_MMAP &&
		    p.cq_off.cqes + p.cq_entries * 16 > exact)
			exact = p.cq_off.cqes + p.cq_entries * 16;
		break;
	case 1:
		off = RING_OFF_CQ_RING;
		kind = MAP_CQ;
		exact = p.cq_off.cqes + p.cq_entries * 16;
		break;
	case 2:
		off = RING_OFF_SQES;
		kind = MAP_SQES;
		exact = p.sq_entries * 64;
		break;
	case 3:
		off = RING_OFF_IOTLB + (a[4] & ~0xfffULL);
		kind = MAP_IOTLB;
		exact = 8192;
		break;
	default:
		off = a[4] & ~0xfffULL;
		kind = MAP_BUF;
		break;
	}
	switch (a[2] % 4) {
	case 0: len = exact; break;
	case 1: len = 4096; break;
	case 2: len = exact + 4096; break;
	default: len = (a[4] & 0xff) * 4096; break;
	}
	map_drop(slot);
	fz_count_ring_call();
	addr = slot_mmap(slot, len, prot, flags, fd, off);
	if (addr == MAP_FAILED)
		return;
	pthread_mutex_lock(&st_lock);
	maps[slot] = (struct fz_map){ addr, len, kind };
	if (rings[r].fd == fd && len >= exact && prot & PROT_WRITE &&
	    flags & MAP_SHARED) {
		if (kind == MAP_SQ) {
			rings[r].sq_map = slot;
			if (p.features & RING_FEAT_SINGLE_MMAP)
				rings[r].cq_map = slot;
		} else if (kind == MAP_CQ) {
			rings[r].cq_map = slot;
		} else if (kind == MAP_SQES) {
			rings[r].sqes_map = slot;
		}
	}
	pthread_mutex_unlock(&st_lock);
}

/* ---- munmap / mremap / madvise / mprotect / touch on a map slot ---------- */

static void gen_slot_part(struct fz_rand *r, uint64_t *a)
{
	a[0] = fz_below(r, FZ_MAPS);
	a[1] = fz_below(r, 16);
	a[2] = fz_rnd(r) & 0xffffff;
}

static void slot_get(int slot, char **addr, size_t *len)
{
	pthread_mutex_lock(&st_lock);
	*addr = maps[slot].addr;
	*len = maps[slot].len;
	pthread_mutex_unlock(&st_lock);
}

static void run_munmap(const uint64_t *a)
{
	int slot = a[0] % FZ_MAPS;
	size_t len, off;
	char *addr;

	slot_get(slot, &addr, &len);
	if (!addr)
		return;
	switch (a[1] % 4) {
	case 0:
		fz_count_ring_call();
		munmap(addr, len);
		map_drop(slot);
		return;
	case 1: off = 0; break;
	case 2: off = (len - 1) & ~4095UL; break;
	default:
		if (len <= 8192)
			return;
		off = 4096;
	}
	/* What takes the hole (the guard) is not the ring any more. */
	pthread_mutex_lock(&st_lock);
	map_unref_rings(slot);
	pthread_mutex_unlock(&st_lock);
	fz_count_ring_call();
	munmap(addr + off, 4096);
	guard(addr + off, 4096);
}

static void run_mremap(const uint64_t *a)
{
	int slot = a[0] % FZ_MAPS, flags = MREMAP_MAYMOVE | MREMAP_FIXED;
	size_t len, nlen;
	char *addr, *n, *to;

	slot_get(slot, &addr, &len);
	/*
	 * Not hugetlb: splitting one by mremap trips a lockdep assertion in
	 * the debug kernel's own hugetlb_split() (6.1.192, not ring.ko).
	 */
	if (!addr || maps[slot].kind == MAP_HUGETLB_BUF)
		return;
	switch (a[1] % 4) {
	case 0: nlen = len * 2; break;
	case 1: nlen = len > 4096 ? len / 2 : len; break;
	case 2: nlen = len; flags |= MREMAP_DONTUNMAP; break;
	default: nlen = len + 4096; break;
	}
	/* Within the slot's window: the other half of it. */
	to = addr < slot_base(slot) + WIN / 2 ? slot_base(slot) + WIN / 2 :
						   slot_base(slot);
	fz_count_ring_call();
	n = mremap(addr, len, nlen, flags, to);
	if (n == MAP_FAILED) {
		guard(to, nlen);
		return;
	}
	pthread_mutex_lock(&st_lock);
	if (maps[slot].addr == addr) {
		int kind = maps[slot].kind;

		map_forget(slot);
		maps[slot] = (struct fz_map){ n, nlen, kind };
	}
	pthread_mutex_unlock(&st_lock);
	if (flags & MREMAP_DONTUNMAP)
		munmap(addr, len);
	guard(addr, len);
}

static void run_madvise(const uint64_t *a)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_REMOVE, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
		MADV_COLD, MADV_PAGEOUT, MADV_DONTFORK, MADV_WIPEONFORK,
		MADV_FREE, MADV_POPULATE_WRITE, MADV_DOFORK, MADV_WILLNEED,
	};
	size_t len;
	char *addr;

	slot_get(a[0] % FZ_MAPS, &addr, &len);
	if (!addr)
		return;
	fz_count_ring_call();
	madvise(addr, a[2] & 1 ? 4096 : len, advice[a[1] % 12]);
}

static void run_mprotect(const uint64_t *a)
{
	static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
				     PROT_WRITE };
	size_t len;
	char *addr;

	slot_get(a[0] % FZ_MAPS, &addr, &len);
	if (!addr)
		return;
	fz_count_ring_call();
	mprotect(addr, len, prots[a[1] % 4]);
}

static void run_touch(const uint64_t *a)
{
	struct touch_job j;
	size_t len;
	char *addr;

	slot_get(a[0] % FZ_MAPS, &addr, &len);
	if (!addr || !len)
		return;
	j.p = addr + (a[2] % len);
	j.write = a[1] & 1;
	fz_guarded(touch_mem, &j);
}

/* ---- userfaultfd: faults are served, late ------------------------------ */
/*
 * A thread answers userfaultfd faults with a zero page 20 ms after they
 * happen: long enough for a blocked ENTER to meet a signal, a close or the
 * program's end, and short enough that no lane waits for ever (a fault in
 * a user copy waits for a fatal signal only).
 */
static int uffds[8];
static pthread_mutex_t uffd_lock = PTHREAD_MUTEX_INITIALIZER;

static void uffd_watch(int fd)
{
	unsigned int i;

	pthread_mutex_lock(&uffd_lock);
	for (i = 0; i < 8; i++)
		if (uffds[i] <= 0) {
			uffds[i] = fd;
			break;
		}
	pthread_mutex_unlock(&uffd_lock);
}

static void *uffd_server(void *arg)
{
	(void)arg;
	for (;;) {
		struct uffd_msg msg;
		unsigned int i;

		usleep(20000);
		pthread_mutex_lock(&uffd_lock);
		for (i = 0; i < 8; i++) {
			int fd = uffds[i];

			if (fd <= 0)
				continue;
			/* Closed (or reused) fds just fail here. */
			while (read(fd, &msg, sizeof(msg)) == sizeof(msg)) {
				struct uffdio_zeropage z = {
					.range = { msg.arg.pagefault.address & ~4095ULL, 4096 },
				};

				if (msg.event == UFFD_EVENT_PAGEFAULT)
					ioctl(fd, UFFDIO_ZEROPAGE, &z);
			}
		}
		pthread_mutex_unlock(&uffd_lock);
	}
	return NULL;
}

static void uffd_forget_all(void)
{
	pthread_mutex_lock(&uffd_lock);
	memset(uffds, 0, sizeof(uffds));
	pthread_mutex_unlock(&uffd_lock);
}

/* ---- buf(slot, kind, size): user memory of every kind --------------------- */

static void gen_buf(struct fz_rand *r, uint64_t *a)
{
	static const uint64_t sizes[] = { 4096, 8192, 65536, SZ_2M, 2 * SZ_2M,
					  12288 };

	a[0] = fz_below(r, FZ_MAPS);
	a[1] = fz_below(r, 8);
	a[2] = PICK(r, sizes);
	a[3] = fz_below(r, FZ_FDS);
}

static void run_buf(const uint64_t *a)
{
	int slot = a[0] % FZ_MAPS, kind = a[1] % 8, fd = -1;
	size_t len = a[2] & ~4095UL;
	char *p = MAP_FAILED, path[256];

	if (!len || len > 4 * SZ_2M)
		len = 4096;
	map_drop(slot);
	switch (kind) {
	case 0:
	case 7:
		p = slot_mmap(slot, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED && kind == 7)
			madvise(p, len, MADV_DONTFORK);
		break;
	case 1:
		/* THP: the window is 2 MiB aligned. */
		p = slot_mmap(slot, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		madvise(p, len, MADV_HUGEPAGE);
		memset(p, 0x5a, len);
		break;
	case 2:
		len = (len + SZ_2M - 1) & ~(SZ_2M - 1);
		p = slot_mmap(slot, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		break;
	case 3:
		fd = memfd_create("fz", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, len))
			break;
		p = slot_mmap(slot, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		break;
	case 4: {
		/* Armed with userfaultfd and no handler: faults wait until
		 * the uffd (kept in an fd slot) is closed. */
		struct uffdio_api api = { .api = UFFD_API };
		struct uffdio_register reg;

		fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
			break;
		p = slot_mmap(slot, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		reg.range.start = (uintptr_t)p;
		reg.range.len = len;
		reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		ioctl(fd, UFFDIO_REGISTER, &reg);
		fd_set_slot(a[3] % FZ_FDS, fd);
		uffd_watch(fd);
		fd = -1;
		break;
	}
	case 5:
		snprintf(path, sizeof(path), "%s/f0", fz_dir);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			break;
		p = slot_mmap(slot, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		break;
	case 6:
		p = slot_mmap(slot, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	}
	if (fd >= 0)
		close(fd);
	if (p == MAP_FAILED)
		return;
	pthread_mutex_lock(&st_lock);
	maps[slot] = (struct fz_map){ p, len,
				      kind == 2 ? MAP_HUGETLB_BUF : MAP_BUF };
	pthread_mutex_unlock(&st_lock);
}

/* ---- open_fd(slot, kind, flags) ------------------------------------------- */

enum { FK_FILE, FK_FILE_DIRECT, FK_NULLB_DIRECT, FK_NULLB, FK_RAM_DIRECT,
       FK_PIPE, FK_SOCKET, FK_EVENTFD, FK_PTY_MASTER, FK_PTY_SLAVE,
       FK_DEVNULL, FK_ZERO, FK_TMPFS, FK_MEMFD, FK_DIR, FK_OPATH,
       FK_RDONLY, FK_RING, FK_RING_DUP, FK_UFFD, FK_APPEND, FK_NR };

static void gen_open_fd(struct fz_rand *r, uint64_t *a)
{
	a[0] = fz_below(r, FZ_FDS);
	a[1] = fz_below(r, FK_NR);
	a[2] = fz_one_in(r, 3) ? fz_below(r, 4) : 0;
	a[3] = gen_ring(r);
}

static int open_in(const char *name, int flags)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fz_dir, name);
	return open(path, flags | O_CREAT, 0600);
}

static void run_open_fd(const uint64_t *a)
{
	int slot = a[0] % FZ_FDS, flags = 0, fd = -1, two[2] = { -1, -1 };

	if (a[2] & 1)
		flags |= O_NONBLOCK;
	if (a[2] & 2)
		flags |= O_CLOEXEC;
	switch (a[1] % FK_NR) {
	case FK_FILE: fd = open_in("f0", O_RDWR | flags); break;
	case FK_FILE_DIRECT: fd = open_in("f1", O_RDWR | O_DIRECT | flags); break;
	case FK_NULLB_DIRECT: fd = open("/dev/nullb0", O_RDWR | O_DIRECT | flags); break;
	case FK_NULLB: fd = open("/dev/nullb0", O_RDWR | flags); break;
	case FK_RAM_DIRECT: fd = open("/dev/ram1", O_RDWR | O_DIRECT | flags); break;
	case FK_PIPE:
		if (pipe2(two, flags) == 0) {
			fd = two[0];
			fd_set_slot((slot + 1) % FZ_FDS, two[1]);
		}
		break;
	case FK_SOCKET:
		if (socketpair(AF_UNIX, SOCK_STREAM | (a[2] & 1 ? SOCK_NONBLOCK : 0),
			       0, two) == 0) {
			fd = two[0];
			fd_set_slot((slot + 1) % FZ_FDS, two[1]);
		}
		break;
	case FK_EVENTFD: fd = eventfd(0, a[2] & 1 ? EFD_NONBLOCK : 0); break;
	case FK_PTY_MASTER:
	case FK_PTY_SLAVE: {
		int m = posix_openpt(O_RDWR | O_NOCTTY | flags);

		if (m < 0 || grantpt(m) || unlockpt(m)) {
			if (m >= 0)
				close(m);
			break;
		}
		if (a[1] % FK_NR == FK_PTY_MASTER) {
			fd = m;
		} else {
			fd = open(ptsname(m), O_RDWR | O_NOCTTY | flags);
			fd_set_slot((slot + 1) % FZ_FDS, m);
		}
		break;
	}
	case FK_DEVNULL: fd = open("/dev/null", O_RDWR | flags); break;
	case FK_ZERO: fd = open("/dev/zero", O_RDWR | flags); break;
	case FK_TMPFS: fd = open("/tmp/fz-tmpfs", O_RDWR | O_CREAT | flags, 0600); break;
	case FK_MEMFD:
		fd = memfd_create("fzfd", 0);
		if (fd >= 0 && ftruncate(fd, 1 << 20)) {
			close(fd);
			fd = -1;
		}
		break;
	case FK_DIR: fd = open(fz_dir, O_RDONLY | O_DIRECTORY); break;
	case FK_OPATH: fd = open_in("f0", O_PATH); break;
	case FK_RDONLY: fd = open_in("f0", O_RDONLY | flags); break;
	case FK_RING:
		fz_count_ring_call();
		fd = open("/dev/ring", O_RDWR | flags);
		break;
	case FK_RING_DUP:
		fd = fd_resolve(FDSEL_RING + a[3] % FZ_RINGS, -1);
		fd = fd >= 0 ? dup(fd) : -1;
		break;
	case FK_UFFD: fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK); break;
	case FK_APPEND: fd = open_in("f2", O_RDWR | O_APPEND | flags); break;
	}
	if (fd >= 0)
		fd_set_slot(slot, fd);
}

/* ---- close(target): an fd slot, or a ring slot ---------------------------- */

static void gen_close(struct fz_rand *r, uint64_t *a)
{
	a[0] = fz_one_in(r, 2) ? FZ_FDS + gen_ring(r) : fz_below(r, FZ_FDS);
}

static void run_close(const uint64_t *a)
{
	unsigned int t = a[0] % (FZ_FDS + FZ_RINGS);
	int fd;

	if (t < FZ_FDS) {
		fd_drop(t);
		return;
	}
	pthread_mutex_lock(&st_lock);
	fd = rings[t - FZ_FDS].fd;
	rings[t - FZ_FDS].fd = -1;
	pthread_mutex_unlock(&st_lock);
	if (fd >= 0) {
		fz_count_ring_call();
		close(fd);
	}
}

/* ---- sqe: one SQE published to a ring's SQ --------------------------------- */
/*
 * a0: ring (0-1), opcode (8-15), flags (16-23), ioprio (32-47)
 * a1: fdsel, or with bit 63 a registered-file slot (bits 0-31: the
 *     RING_SQE_FIXED_FILE SQEs); a2: addrsel; a3: len (0-31), buf_index
 *     (32-47)
 * a4: off; a5: rw_flags (0-31), garbage field (32-35), its value (40-55)
 *
 * flags: 1 in 10 a random byte (unknown bits too); else 1 in 4 one or
 * more RING_SQE_* flags of the header (fz_sqe_flags: links, drain, async,
 * CQE skip, fixed file), so consecutive SQEs of a burst form chains; else
 * 0, or 1 in 5 RING_SQE_FIXED_FILE alone.
 */
static void gen_sqe(struct fz_rand *r, uint64_t *a)
{
	uint64_t op = fz_one_in(r, 16) ? fz_below(r, 256) :
		      fz_ops[fz_below(r, fz_nr_ops)].val;
	uint64_t flags = fz_one_in(r, 10) ? fz_below(r, 256) : 0;
	uint64_t ioprio = fz_one_in(r, 16) ? fz_below(r, 0x10000) : 0;
	uint64_t bi = fz_one_in(r, 3) ? RING_BUF_IOTLB : fz_below(r, 4);
	bool iov = op == RING_OP_READV || op == RING_OP_WRITEV;
	uint64_t len;

	if (fz_one_in(r, 10))
		bi = fz_rnd(r) & 0xffff;
	len = iov ? fz_below(r, 4) + 1 : PICK(r, len_vals);
	if (fz_one_in(r, 10))
		len = fz_rnd(r) & 0xffffffff;
	if (!flags && fz_nr_sqe_flags && fz_one_in(r, 4)) {
		do
			flags |= fz_sqe_flags[fz_below(r, fz_nr_sqe_flags)].val;
		while (fz_one_in(r, 2));
	}
	if (!flags && fz_one_in(r, 5))
		flags = RING_SQE_FIXED_FILE;
	a[0] = gen_ring(r) | op << 8 | flags << 16 | ioprio << 32;
	a[1] = fz_one_in(r, 8) ? gen_fdsel(r) : fz_below(r, FZ_FDS);
	if ((flags & RING_SQE_FIXED_FILE) && !fz_one_in(r, 8))
		a[1] = 1ULL << 63 | (fz_one_in(r, 10) ? fz_rnd(r) & 0xffffffff :
						      fz_below(r, 8));
	a[2] = bi == RING_BUF_IOTLB ? ADDR_KIND(3) | PICK(r, iova_vals) :
				      gen_addrsel(r, iov);
	a[3] = len | bi << 32;
	a[4] = PICK(r, off_vals);
	a[5] = PICK(r, rwf_vals);
	if (fz_one_in(r, 12))
		a[5] |= (1 + fz_below(r, 5)) << 32 | (fz_rnd(r) & 0xffff) << 40;
}

static void run_sqe(const uint64_t *a)
{
	int r = a[0] % FZ_RINGS, self;
	uint32_t g = (a[5] >> 40) & 0xffff;
	struct fz_ring ring;
	struct fz_map sq, sqes;
	struct sqe_job j;

	pthread_mutex_lock(&st_lock);
	ring = rings[r];
	if (!ring.ready || ring.sq_map < 0 || ring.sqes_map < 0) {
		pthread_mutex_unlock(&st_lock);
		return;
	}
	sq = maps[ring.sq_map];
	sqes = maps[ring.sqes_map];
	rings[r].user_data++;
	pthread_mutex_unlock(&st_lock);
	self = ring.fd;

	memset(&j, 0, sizeof(j));
	j.sqe.opcode = a[0] >> 8;
	j.sqe.flags = a[0] >> 16;
	j.sqe.ioprio = a[0] >> 32;
	j.sqe.fd = a[1] >> 63 ? (int)(uint32_t)a[1] : fd_resolve(a[1], self);
	j.sqe.addr = addr_resolve(a[2]);
	j.sqe.len = a[3];
	j.sqe.buf_index = a[3] >> 32;
	j.sqe.off = a[4];
	j.sqe.rw_flags = a[5];
	j.sqe.user_data = ring.user_data;
	j.array_val = -1;
	switch ((a[5] >> 32) & 0xf) {
	case 1: j.sqe.personality = g; break;
	case 2: j.sqe.splice_fd_in = g; break;
	case 3: j.sqe.__pad2[g & 1] = g | 1; break;
	case 4: j.array_val = g; break;
	case 5: j.sqe.user_data = -1ULL; break;
	}
	j.tail = (uint32_t *)(sq.addr + ring.p.sq_off.tail);
	j.array = (uint32_t *)(sq.addr + ring.p.sq_off.array);
	j.mask = ring.p.sq_entries - 1;
	j.entries = ring.p.sq_entries;
	j.sqes = (struct ring_sqe *)sqes.addr;
	if (fz_guarded(write_sqe, &j))
		fz_count(1, 0);
}

/* ---- enter(ringsel, to_submit, min_complete, flags, resv, arg) ---------- */

static void gen_enter(struct fz_rand *r, uint64_t *a)
{
	static const uint64_t counts[] = { 0, 1, 1, 2, 4, 8, 32, 1024,
					   0xffffffff };

	a[0] = fz_one_in(r, 12) ? 4 + fz_below(r, FZ_FDS) : gen_ring(r);
	a[1] = PICK(r, counts);
	a[2] = fz_one_in(r, 3) ? fz_below(r, 3) : 0;
	a[3] = 0;
	if (fz_one_in(r, 2))
		a[3] = fz_enter_flags[fz_below(r, fz_nr_enter_flags)].val;
	if (fz_one_in(r, 4))
		a[3] |= fz_enter_flags[fz_below(r, fz_nr_enter_flags)].val;
	if (fz_one_in(r, 10))
		a[3] = fz_rnd(r) & 0xffffffff;
	a[4] = fz_one_in(r, 20) ? fz_rnd(r) & 0xffffffff : 0;
	a[5] = 0;
	if (fz_one_in(r, 3)) {
		/* RING_IOC_ENTER_ARG: mode, timeout, mask, corruptions. */
		a[5] = 1 + fz_below(r, 2);
		if (a[5] == 2 && !fz_one_in(r, 8))
			a[3] |= RING_ENTER_EXT_ARG | RING_ENTER_GETEVENTS;
		a[5] |= fz_below(r, 6) << 8;
		a[5] |= fz_below(r, 4) << 16;
		if (fz_one_in(r, 10))
			a[5] |= (uint64_t)(1 + fz_below(r, 7)) << 24;
	}
}

/*
 * The argument of RING_IOC_ENTER_ARG from @sel: a signal mask (mode 1) or
 * a ring_getevents_arg (mode 2) with a short timeout or none.  Masks never
 * block SIGUSR1, which the executor uses to interrupt a blocked call.
 */
static bool enter_arg_build(uint64_t sel, struct ring_enter_arg *e)
{
	static const int64_t ts_ns[] = { -1, 0, 1000, 1000000, 10000000, 0 };
	static const uint64_t masks[] = {
		0, 1ULL << (SIGALRM - 1), 1ULL << (SIGCHLD - 1), ~0ULL,
	};
	unsigned mode = sel & 3, bad = (sel >> 24) & 7;
	unsigned tsi = ((sel >> 8) & 0xff) % 6;
	struct ring_getevents_arg *ga;
	struct __kernel_timespec *ts;
	uint64_t *mask = scratch_alloc(sizeof(*mask));

	if (!mask)
		return false;
	*mask = masks[((sel >> 16) & 0xff) % 4] & ~(1ULL << (SIGUSR1 - 1));
	if (mode == 1) {
		e->arg = (uint64_t)mask;
		e->argsz = bad & 1 ? 128 : sizeof(*mask);
		if (bad & 2)
			e->arg = 8;
		return true;
	}
	ga = scratch_alloc(sizeof(*ga));
	ts = scratch_alloc(sizeof(*ts));
	if (!ga || !ts)
		return false;
	memset(ga, 0, sizeof(*ga));
	ts->tv_sec = ts_ns[tsi] < 0 ? -1 : 0;
	ts->tv_nsec = ts_ns[tsi] < 0 ? 0 : ts_ns[tsi];
	/* Index 5: no timeout at all, a wait like plain GETEVENTS. */
	ga->ts = tsi == 5 ? 0 : (uint64_t)ts;
	if ((sel >> 16) & 1) {
		ga->sigmask = (uint64_t)mask;
		ga->sigmask_sz = bad & 1 ? 4 : sizeof(*mask);
	}
	ga->pad = bad & 4 ? 1 : 0;
	e->arg = bad & 2 ? 8 : (uint64_t)ga;
	e->argsz = bad == 7 ? 16 : sizeof(*ga);
	return true;
}

static void run_enter(const uint64_t *a)
{
	struct ring_enter_arg e = {
		.to_submit = a[1], .min_complete = a[2], .flags = a[3],
		.resv = a[4],
	};
	int fd = a[0] < 4 ? fd_resolve(FDSEL_RING + a[0], -1) :
			    fd_resolve((a[0] - 4) % FZ_FDS, -1);

	if (!(a[5] & 3)) {
		ioctl_ring(fd, RING_IOC_ENTER, &e);
		return;
	}
	if (enter_arg_build(a[5], &e))
		ioctl_ring(fd, RING_IOC_ENTER_ARG, &e);
}

/* ---- reap(ring, max) ---------------------------------------------------- */

static void gen_reap(struct fz_rand *r, uint64_t *a)
{
	a[0] = gen_ring(r);
	a[1] = fz_one_in(r, 4) ? fz_below(r, 4) : 1U << 30;
}

static bool cq_job_get(int r, struct cq_job *j)
{
	struct fz_ring ring;
	struct fz_map cq;

	pthread_mutex_lock(&st_lock);
	ring = rings[r];
	if (!ring.ready || ring.cq_map < 0) {
		pthread_mutex_unlock(&st_lock);
		return false;
	}
	cq = maps[ring.cq_map];
	pthread_mutex_unlock(&st_lock);
	memset(j, 0, sizeof(*j));
	j->head = (uint32_t *)(cq.addr + ring.p.cq_off.head);
	j->tail = (uint32_t *)(cq.addr + ring.p.cq_off.tail);
	j->mask = ring.p.cq_entries - 1;
	j->entries = ring.p.cq_entries;
	j->cqes = (struct ring_cqe *)(cq.addr + ring.p.cq_off.cqes);
	return true;
}

static void run_reap(const uint64_t *a)
{
	struct cq_job j;

	if (!cq_job_get(a[0] % FZ_RINGS, &j))
		return;
	j.max = a[1];
	if (fz_guarded(reap_cqes, &j))
		fz_count(0, j.reaped);
}

/*
 * The argument of BUFFERS2 / BUFFERS_UPDATE2.  a[3] and a[4] as for
 * BUFFERS / UPDATE (iovec array, offset); a[5]: bit 0 SPARSE (no data or
 * tags unless bit 3), 1 tags, 2 data 0, 3 reserved fields set, 4 an
 * unknown flag, 5 nr 0; bits 8-39 which tags are non-zero.
 */
static void gen_rsrc2(struct fz_rand *r, uint64_t *a)
{
	a[3] = fz_one_in(r, 10) ? gen_addrsel(r, false) :
	       ADDR_KIND(1) | fz_below(r, FZ_MAPS) | fz_below(r, 6) << 4 |
	       (uint64_t)(6 + fz_below(r, 2)) << 8;
	a[4] = fz_one_in(r, 3) ? fz_below(r, 8) : 0;
	a[5] = (fz_rnd(r) & ~0xffULL) | fz_one_in(r, 4) | fz_one_in(r, 2) << 1 |
	       fz_one_in(r, 16) << 2 | fz_one_in(r, 16) << 3 |
	       fz_one_in(r, 16) << 4 | fz_one_in(r, 20) << 5;
}

/*
 * ring_rsrc_register (@reg2) or ring_rsrc_update2 around @data, @nr
 * entries, as a[4] and a[5] say (gen_rsrc2()).
 */
static uint64_t rsrc2_build(const uint64_t *a, bool reg2, uint64_t iov,
			    uint32_t nr)
{
	uint64_t p = a[5], tags = 0;
	uint64_t *t = (p & 2) ? scratch_alloc(nr * sizeof(*t)) : NULL;
	uint32_t i;

	for (i = 0; t && i < nr; i++)
		t[i] = (p >> (8 + i % 32)) & 1 ? 0x7a6000000000ULL | i : 0;
	tags = (uint64_t)t;
	if (p & 4)
		iov = 0;
	if ((p & 1) && !(p & 8))
		iov = tags = 0;
	if (p & 32)
		nr = 0;
	if (reg2) {
		struct ring_rsrc_register *rr = scratch_alloc(sizeof(*rr));

		if (!rr)
			return 0;
		memset(rr, 0, sizeof(*rr));
		rr->nr = nr;
		rr->flags = (p & 1 ? RING_RSRC_REGISTER_SPARSE : 0) |
			    (p & 16 ? 2U << (p >> 40) % 31 : 0);
		rr->resv2 = (p >> 3) & 1;
		rr->data = iov;
		rr->tags = tags;
		return (uint64_t)rr;
	} else {
		struct ring_rsrc_update2 *u = scratch_alloc(sizeof(*u));

		if (!u)
			return 0;
		memset(u, 0, sizeof(*u));
		u->offset = a[4];
		u->resv = (p >> 3) & (p >> 41) & 1;
		u->resv2 = (p >> 3) & ~(p >> 41) & 1;
		u->data = iov;
		u->tags = tags;
		u->nr = nr;
		return (uint64_t)u;
	}
}

static uint64_t rsrc2_arg(const uint64_t *a)
{
	uint32_t nr = (a[3] >> 60) == 1 ?
		      (((a[3] >> 16) & 0xffff) ?: ((a[3] >> 4) & 15) + 1) : 1;

	return rsrc2_build(a, a[1] == RING_REGISTER_BUFFERS2,
			   addr_resolve(a[3]), nr);
}

/*
 * FILES2 / FILES_UPDATE2: a[3] bits 0-7 nr (bit 40: RING_MAX_FILES + 1,
 * bit 41: 65536), bits 8-39 eight 4-bit fd selectors, repeated over the
 * array: 0-8 the fd table, 9-10 a ring, 11 -1 (empty), 12 -2 (SKIP),
 * 13 a closed fd, 14 the ring registered on, 15 -3; a[4], a[5] as for
 * gen_rsrc2().
 */
static void gen_files(struct fz_rand *r, uint64_t *a)
{
	uint64_t nr = fz_one_in(r, 12) ? fz_below(r, 256) : 1 + fz_below(r, 8);
	unsigned int i;

	a[3] = nr;
	for (i = 0; i < 8; i++)
		a[3] |= (uint64_t)fz_below(r, 16) << (8 + 4 * i);
	if (fz_one_in(r, 40))
		a[3] |= 1ULL << (40 + fz_below(r, 2));
	a[4] = fz_one_in(r, 3) ? fz_below(r, 8) : 0;
	a[5] = (fz_rnd(r) & ~0xffULL) | fz_one_in(r, 8) | fz_one_in(r, 3) << 1 |
	       fz_one_in(r, 16) << 2 | fz_one_in(r, 16) << 3 |
	       fz_one_in(r, 16) << 4 | fz_one_in(r, 20) << 5;
}

static uint64_t files_arg(const uint64_t *a, int self)
{
	uint32_t nr = a[3] & 0xff, n, i;
	int *slots;

	if (a[3] & (1ULL << 40))
		nr = RING_MAX_FILES + 1;
	else if (a[3] & (1ULL << 41))
		nr = 1U << 16;
	n = nr < 256 ? nr : 256;
	slots = scratch_alloc((n ?: 1) * sizeof(*slots));
	if (!slots)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned int sel = (a[3] >> (8 + 4 * (i % 8))) & 15;

		if (sel <= 8)
			slots[i] = fd_resolve(sel + i / 8, self);
		else if (sel <= 10)
			slots[i] = fd_resolve(FDSEL_RING + (sel + i) % FZ_RINGS,
					    self);
		else if (sel == 11)
			slots[i] = -1;
		else if (sel == 12)
			slots[i] = RING_REGISTER_FILES_SKIP;
		else if (sel == 13)
			slots[i] = fd_resolve(FDSEL_UNUSED, self);
		else if (sel == 14)
			slots[i] = self;
		else
			slots[i] = -3;
	}
	return rsrc2_build(a, a[1] == RING_REGISTER_FILES2, (uint64_t)slots, nr);
}

/* ---- register(ringsel, opcode, nrsel, p0, p1, p2) ------------------------- */
/*
 * a2: nr_args selector (0-7), resv garbage (8), arg pointer garbage (16-19)
 * BUFFERS/UPDATE: p0 = addrsel of an iovec array, p1 = offset
 * IOTLB: p0 = size | iova, p1 = size, p2 = uaddr addrsel (0-59) perm (bits
 * 56-57 here shifted) -- see run_register
 */
static void gen_register(struct fz_rand *r, uint64_t *a)
{
	uint64_t op = fz_one_in(r, 16) ? fz_below(r, 64) :
		      fz_regops[fz_below(r, fz_nr_regops)].val;

	a[0] = fz_one_in(r, 12) ? 4 + fz_below(r, FZ_FDS) : gen_ring(r);
	a[1] = op;
	a[2] = fz_one_in(r, 4) ? fz_below(r, 8) : 0;
	if (fz_one_in(r, 20))
		a[2] |= 1 << 8;
	if (fz_one_in(r, 12))
		a[2] |= (1 + fz_below(r, 3)) << 16;
	switch (op) {
	case RING_REGISTER_BUFFERS:
	case RING_REGISTER_BUFFERS_UPDATE:
		a[3] = fz_one_in(r, 10) ? gen_addrsel(r, false) :
		       ADDR_KIND(1) | fz_below(r, FZ_MAPS) | fz_below(r, 6) << 4 |
		       (uint64_t)(6 + fz_below(r, 2)) << 8;
		a[4] = fz_one_in(r, 3) ? fz_below(r, 8) : 0;
		break;
	case RING_REGISTER_BUFFERS2:
	case RING_REGISTER_BUFFERS_UPDATE2:
		gen_rsrc2(r, a);
		break;
	case RING_REGISTER_FILES2:
	case RING_REGISTER_FILES_UPDATE2:
		gen_files(r, a);
		break;
	case RING_UNREGISTER_FILES:
		break;
	case RING_REGISTER_IOTLB:
		a[3] = PICK(r, size_vals);
		a[4] = fz_one_in(r, 10) ? fz_rnd(r) : 0;
		break;
	case RING_REGISTER_PROBE:
		a[3] = fz_one_in(r, 10) ? fz_rnd(r) & 0xffffffff :
					  fz_below(r, 300);
		a[4] = fz_rnd(r);
		break;
	case RING_REGISTER_ENABLE_RINGS:
		break;
	case RING_IOTLB_MAP:
	case RING_IOTLB_UNMAP:
		a[3] = PICK(r, iova_vals);
		a[4] = PICK(r, size_vals);
		a[5] = (fz_one_in(r, 2) ? 0 : gen_addrsel(r, false)) & ((1ULL << 56) - 1);
		a[5] |= (uint64_t)(fz_one_in(r, 8) ? fz_below(r, 16) : 1 + fz_below(r, 3)) << 56;
		a[5] |= (uint64_t)fz_below(r, 4) << 60;
		if (fz_one_in(r, 10))
			a[5] = gen_addrsel(r, false);
		break;
	default:
		a[3] = fz_below(r, 4096);
		a[4] = fz_rnd(r);
		break;
	}
}

static void run_register(const uint64_t *a)
{
	struct ring_register reg;
	int fd = a[0] < 4 ? fd_resolve(FDSEL_RING + a[0], -1) :
			    fd_resolve((a[0] - 4) % FZ_FDS, -1);
	uint64_t nr = 0, arg = 0, p2;
	uint32_t *w;

	memset(&reg, 0, sizeof(reg));
	reg.opcode = a[1];
	switch (a[1]) {
	case RING_REGISTER_BUFFERS:
	case RING_REGISTER_BUFFERS_UPDATE: {
		uint64_t iov = addr_resolve(a[3]);

		nr = (a[3] >> 60) == 1 ? (((a[3] >> 16) & 0xffff) ?: ((a[3] >> 4) & 15) + 1) : 1;
		if (a[1] == RING_REGISTER_BUFFERS) {
			arg = iov;
		} else {
			struct ring_buf_update *u = scratch_alloc(sizeof(*u));

			if (!u)
				return;
			u->offset = a[4];
			u->resv = a[2] & (1 << 8) ? 1 : 0;
			u->iovecs = iov;
			arg = (uint64_t)u;
		}
		break;
	}
	case RING_REGISTER_BUFFERS2:
	case RING_REGISTER_BUFFERS_UPDATE2:
		arg = rsrc2_arg(a);
		if (!arg)
			return;
		nr = sizeof(struct ring_rsrc_register);
		break;
	case RING_REGISTER_FILES2:
	case RING_REGISTER_FILES_UPDATE2:
		arg = files_arg(a, fd);
		if (!arg)
			return;
		nr = sizeof(struct ring_rsrc_register);
		break;
	case RING_UNREGISTER_FILES:
		nr = a[2] & (1 << 8) ? 1 : 0;
		break;
	case RING_REGISTER_IOTLB: {
		struct ring_iotlb_reg *t = scratch_alloc(sizeof(*t));

		if (!t)
			return;
		t->size = a[3];
		t->flags = a[4];
		t->resv = a[4] >> 32;
		arg = (uint64_t)t;
		break;
	}
	case RING_IOTLB_MAP:
	case RING_IOTLB_UNMAP: {
		struct ring_iotlb_map *m = scratch_alloc(sizeof(*m));

		if (!m)
			return;
		p2 = a[5];
		m->iova = a[3];
		m->size = a[4];
		m->uaddr = (p2 & ((1ULL << 56) - 1)) ? addr_resolve(p2 & ((1ULL << 56) - 1)) : 0;
		m->perm = (p2 >> 56) & 15;
		m->flags = (p2 >> 60) & 15;
		arg = (uint64_t)m;
		break;
	}
	case RING_REGISTER_PROBE: {
		/* Zeroed, as it must be, unless a[2] asks for a stray byte. */
		size_t n = a[3] % 300;
		char *probe = scratch_alloc(16 + 8 * n);

		if (!probe)
			return;
		memset(probe, 0, 16 + 8 * n);
		if (a[2] & (1 << 8))
			probe[a[4] % (16 + 8 * n)] = 1;
		arg = (uint64_t)probe;
		nr = a[3] & (1 << 12) ? a[3] : n;
		break;
	}
	case RING_REGISTER_ENABLE_RINGS:
		nr = a[2] & (1 << 8) ? 1 : 0;
		break;
	case RING_REGISTER_IOWQ_MAX_WORKERS:
		w = scratch_alloc(8);
		if (!w)
			return;
		w[0] = a[3];
		w[1] = a[4];
		arg = (uint64_t)w;
		nr = 2;
		break;
	default: {
		char *buf = scratch_alloc(256);

		if (!buf)
			return;
		fill_random(buf, 256, a[4]);
		arg = (uint64_t)buf;
		nr = a[3];
	}
	}
	switch (a[2] & 7) {
	case 1: nr = 0; break;
	case 2: nr = nr + 1; break;
	case 3: nr = RING_MAX_BUFFERS + 1; break;
	case 4: nr = 0xffffffff; break;
	case 5: nr = a[3] & 0xffff; break;
	}
	switch ((a[2] >> 16) & 3) {
	case 1: arg = 0; break;
	case 2: arg = 0xffff888000000000ULL; break;
	case 3: arg = 0x1000; break;
	}
	reg.nr_args = nr;
	reg.arg = arg;
	if (a[2] & (1 << 8))
		reg.resv[1] = 1;
	ioctl_ring(fd, RING_IOC_REGISTER, &reg);
}

/* ---- fork(action, ring, extra): lifetimes across processes ---------------- */

static void gen_fork(struct fz_rand *r, uint64_t *a)
{
	a[0] = fz_below(r, 6);
	a[1] = gen_ring(r);
	a[2] = fz_below(r, 20);
}

static void run_fork(const uint64_t *a)
{
	int fd = fd_resolve(FDSEL_RING + a[1] % FZ_RINGS, -1);
	struct ring_enter e = { .to_submit = 8, .flags = RING_ENTER_GETEVENTS };
	pid_t pid;

	pid = fork();
	if (pid)
		return;
	/* The child: fail-safe, short-lived, never back into the lanes. */
	alarm(5);
	switch (a[0] % 6) {
	case 0:
		break;
	case 1:
		ioctl(fd, RING_IOC_ENTER, &e);
		break;
	case 2: {
		char *argv[] = { "/bin/true", NULL };

		execv(argv[0], argv);
		break;
	}
	case 3:
		close(fd);
		break;
	case 4:
		usleep(a[2] * 500);
		break;
	case 5: {
		struct ring_params p = { .sq_entries = 4 };
		int nfd = open("/dev/ring", O_RDWR);

		ioctl(nfd, RING_IOC_SETUP, &p);
		ioctl(fd, RING_IOC_REGISTER,
		      &(struct ring_register){ .opcode = RING_UNREGISTER_BUFFERS });
		break;
	}
	}
	_exit(0);
}

/* ---- the rest ------------------------------------------------------------ */

static void gen_none(struct fz_rand *r, uint64_t *a)
{
	(void)r;
	(void)a;
}

static void run_unshare_files(const uint64_t *a)
{
	/* Its own fd table: the next program needs a fresh executor. */
	fz_mark_dirty();
	unshare(CLONE_FILES);
}

static void gen_lane(struct fz_rand *r, uint64_t *a)
{
	a[0] = fz_below(r, FZ_LANES);
}

static void run_lane_exit(const uint64_t *a)
{
	fz_kill_lane(a[0] % FZ_LANES);
}

static void run_signal(const uint64_t *a)
{
	fz_signal_lane(a[0] % FZ_LANES);
}

static void gen_ringsel(struct fz_rand *r, uint64_t *a)
{
	a[0] = gen_ring(r);
	a[1] = fz_below(r, 8);
}

static void run_fdinfo(const uint64_t *a)
{
	int fd = fd_resolve(FDSEL_RING + a[0] % FZ_RINGS, -1), f;
	char path[64], buf[2048];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	fz_count_ring_call();
	f = open(path, O_RDONLY);
	if (f < 0)
		return;
	if (read(f, buf, sizeof(buf)) < 0)
		buf[0] = 0;
	close(f);
}

static void run_poll(const uint64_t *a)
{
	static const short ev[] = { POLLIN, POLLOUT, POLLIN | POLLOUT, 0,
				    POLLPRI, POLLIN, POLLIN, -1 };
	struct pollfd p = { fd_resolve(FDSEL_RING + a[0] % FZ_RINGS, -1),
			    ev[a[1] % 8], 0 };

	fz_count_ring_call();
	poll(&p, 1, a[1] == 6 ? 5 : 0);
}

static void gen_feed(struct fz_rand *r, uint64_t *a)
{
	a[0] = fz_below(r, FZ_FDS);
	a[1] = PICK(r, len_vals) & 0x1ffff;
	a[2] = fz_below(r, 2);
}

static void run_feed(const uint64_t *a)
{
	static char buf[0x20000];
	int fd = fd_resolve(a[0] % FZ_FDS, -1);
	size_t len = a[1] % sizeof(buf);
	uint64_t one = 1;

	if (fd < 0)
		return;
	if (a[2] & 1) {
		if (read(fd, buf, len ?: 8) < 0)
			return;
	} else if (len == 8) {
		if (write(fd, &one, 8) < 0)
			return;
	} else if (write(fd, buf, len ?: 1) < 0) {
		return;
	}
}

static void gen_dup(struct fz_rand *r, uint64_t *a)
{
	a[0] = gen_ring(r);
	a[1] = fz_below(r, FZ_FDS);
	a[2] = fz_below(r, 3);
}

static void run_dup(const uint64_t *a)
{
	int rfd = fd_resolve(FDSEL_RING + a[0] % FZ_RINGS, -1);
	int ofd = fd_resolve(a[1] % FZ_FDS, -1), fd;

	if (a[2] % 3 == 2) {
		/* Replace the ring's fd number with another file. */
		if (rfd >= 0 && ofd >= 0) {
			fz_count_ring_call();
			dup2(ofd, rfd);
		}
		return;
	}
	fd = rfd >= 0 ? dup(rfd) : -1;
	if (fd >= 0)
		fd_set_slot(a[1] % FZ_FDS, fd);
}

static void gen_ioctl_raw(struct fz_rand *r, uint64_t *a)
{
	a[0] = gen_ring(r);
	a[1] = fz_rnd(r);
	a[2] = gen_addrsel(r, false);
}

static void run_ioctl_raw(const uint64_t *a)
{
	static const unsigned long cmds[] = {
		RING_IOC_SETUP, RING_IOC_ENTER, RING_IOC_REGISTER,
		RING_IOC_ENTER_ARG,
		_IOC(_IOC_WRITE, RING_IOC_MAGIC, 0x02, 8),
		_IOC(_IOC_READ | _IOC_WRITE, RING_IOC_MAGIC, 0x01, 64),
		_IOC(_IOC_WRITE, RING_IOC_MAGIC, 0x04, 16),
		_IOC(_IOC_WRITE, RING_IOC_MAGIC, 0x03, 40),
		_IOC(_IOC_NONE, 0x12, 0x01, 0), FIONREAD, FIONBIO,
	};
	int fd = fd_resolve(FDSEL_RING + a[0] % FZ_RINGS, -1);
	unsigned long cmd = a[1] & 0x100 ? (unsigned long)(a[1] >> 16) :
				      cmds[(a[1] & 0xff) % (sizeof(cmds) / sizeof(cmds[0]))];
	uint64_t arg = addr_resolve(a[2]);

	fz_count_ring_call();
	ioctl(fd, cmd, arg);
}

static void gen_sleep(struct fz_rand *r, uint64_t *a)
{
	a[0] = fz_below(r, 5);
}

static void run_sleep(const uint64_t *a)
{
	usleep((a[0] % 5) * 1000);
}

/* repeat(k, n): the k calls before this one, n times more (see exec.c). */
static void gen_repeat(struct fz_rand *r, uint64_t *a)
{
	a[0] = 1 + fz_below(r, 6);
	a[1] = 1 + fz_below(r, fz_one_in(r, 4) ? 64 : 8);
}

static void run_repeat(const uint64_t *a)
{
	(void)a;	/* the dispatcher does it */
}

/*
 * burst(ring, rounds, seed, batch): rounds of `batch` SQEs made from seed
 * (as sqe would make them), one non-blocking ENTER, a reap: the submission
 * and completion paths at volume, while other lanes change things under it.
 */
static void gen_burst(struct fz_rand *r, uint64_t *a)
{
	a[0] = gen_ring(r);
	a[1] = 1 + fz_below(r, fz_one_in(r, 2) ? 1000 : 50);
	a[2] = fz_rnd(r);
	a[3] = 1 + fz_below(r, fz_one_in(r, 3) ? 32 : 4);
}

static void run_burst(const uint64_t *a)
{
	struct fz_rand r = { a[2] | 1 };
	unsigned int rounds = a[1] % 1024, batch = a[3] % 33 ?: 1, i, j;
	int ring = a[0] % FZ_RINGS;
	uint64_t s[FZ_ARGS];
	struct ring_enter e = { 0 };
	struct cq_job cq;
	int fd;

	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < rounds && !fz_stopping(); i++) {
		/* At most half a second: a call, not the whole run. */
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > 500)
			break;
		for (j = 0; j < batch; j++) {
			gen_sqe(&r, s);
			s[0] = (s[0] & ~0xffULL) | ring;
			run_sqe(s);
		}
		fd = fd_resolve(FDSEL_RING + ring, -1);
		e.to_submit = batch;
		e.flags = fz_one_in(&r, 2) ? RING_ENTER_GETEVENTS : 0;
		if (ioctl_ring(fd, RING_IOC_ENTER, &e) < 0 && errno == EBADF)
			break;
		if (cq_job_get(ring, &cq)) {
			cq.max = ~0U;
			if (fz_guarded(reap_cqes, &cq))
				fz_count(0, cq.reaped);
		}
	}
}

#define gen_munmap gen_slot_part
#define gen_mremap gen_slot_part
#define gen_madvise gen_slot_part
#define gen_mprotect gen_slot_part
#define gen_touch gen_slot_part
#define gen_unshare_files gen_none
#define gen_lane_exit gen_lane
#define gen_signal gen_lane
#define gen_fdinfo gen_ringsel
#define gen_poll gen_ringsel

const struct fz_callspec fz_calls[FZ_NR_CALLS] = {
#define FZ_SPEC(name, w) [FZ_##name] = { #name, w, gen_##name, run_##name },
	FZ_CALL_LIST(FZ_SPEC)
#undef FZ_SPEC
};

int fz_call_by_name(const char *name)
{
	int i;

	for (i = 0; i < FZ_NR_CALLS; i++)
		if (!strcmp(fz_calls[i].name, name))
			return i;
	return -1;
}

/* ---- the end-of-program invariant ----------------------------------------- */

static long fdinfo_field(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	return p ? strtol(p + strlen(name) + 1, NULL, 10) : -1;
}

/*
 * Every SQE the kernel consumed (SqHead, less SqDropped: invalid indexes
 * get no CQE, as in io_uring) is a CQE posted (CqTail), waiting in the
 * backlog, or in flight; so is every buffer tag owed (CqTags: a tagged
 * buffer that left the table, in flight until its one CQE is posted).  A
 * lost tag keeps Inflight up (and the ring's close waiting), a duplicate
 * shows here.  Counts move while requests finish, so a mismatch has to
 * last through a few readings to count.  A completion whose CQE
 * RING_SQE_CQE_SKIP_SUCCESS suppressed (a success, or a chain member that
 * a failure of such a request cancelled) counts in CqSkipped instead (0
 * where fdinfo has no such line: a module without the flag).  An SQPOLL
 * ring's thread may be consuming SQEs as we read (it publishes SqHead
 * after the batch): it is checked only once it has caught up with SqTail.
 */
void fz_calls_check(char *why, size_t len)
{
	int i, try;

	for (i = 0; i < FZ_RINGS; i++) {
		int fd = rings[i].fd;
		long head = 0, dropped = 0, tail = 0, backlog = 0, inflight = 0;
		long tags = 0, skipped = 0, sq_tail = 0;
		char path[64], buf[2048];

		if (fd < 0 || !rings[i].ready)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		for (try = 0; try < 40; try++) {
			int f = open(path, O_RDONLY);
			ssize_t n;

			if (f < 0)
				break;
			n = read(f, buf, sizeof(buf) - 1);
			close(f);
			if (n <= 0)
				break;
			buf[n] = 0;
			if (!strstr(buf, "SqHead:"))
				break;	/* the fd is something else now */
			head = fdinfo_field(buf, "SqHead:");
			sq_tail = fdinfo_field(buf, "SqTail:");
			dropped = fdinfo_field(buf, "SqDropped:");
			tail = fdinfo_field(buf, "CqTail:");
			backlog = fdinfo_field(buf, "CqBacklog:");
			inflight = fdinfo_field(buf, "Inflight:");
			tags = fdinfo_field(buf, "CqTags:");
			if (tags < 0)
				tags = 0;
			skipped = fdinfo_field(buf, "CqSkipped:");
			if (skipped < 0)
				skipped = 0;
			if ((uint32_t)(head - dropped + tags) ==
			    (uint32_t)(tail + backlog + inflight + skipped) &&
			    inflight >= 0)
				break;
			usleep(25000);
		}
		if (try == 40 && (rings[i].p.flags & RING_SETUP_SQPOLL) &&
		    head != sq_tail)
			continue;
		if (try == 40) {
			snprintf(why, len,
				 "ring %d: SqHead %ld - SqDropped %ld + CqTags %ld != CqTail %ld + CqBacklog %ld + Inflight %ld + CqSkipped %ld",
				 i, head, dropped, tags, tail, backlog, inflight,
				 skipped);
			return;
		}
	}
}
