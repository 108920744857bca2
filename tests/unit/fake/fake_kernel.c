// SPDX-License-Identifier: MIT
/*
 * The fake ring.ko behind tests/unit: see fake_kernel.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_kernel.h"

struct fk_config fk_cfg;
struct fk_stats fk_stats;

#define FK_FD_BASE	1000
#define FK_MAX_FILES	8
#define FK_MAX_MAPS	32
#define FK_PAGE		4096UL

/*
 * Ring memory laid out like io_uring's struct io_rings: heads and tails on
 * their own cache lines, then masks, entries, counters and flags, then the
 * CQEs, and the SQ array after them.
 */
enum {
	OFF_SQ_HEAD	= 0,
	OFF_SQ_TAIL	= 64,
	OFF_CQ_HEAD	= 128,
	OFF_CQ_TAIL	= 192,
	OFF_SQ_MASK	= 256,
	OFF_CQ_MASK	= 260,
	OFF_SQ_ENTRIES	= 264,
	OFF_CQ_ENTRIES	= 268,
	OFF_SQ_DROPPED	= 272,
	OFF_SQ_FLAGS	= 276,
	OFF_CQ_FLAGS	= 280,
	OFF_CQ_OVERFLOW	= 284,
	OFF_CQES	= 320,
};

/* A block of "kernel" memory, freed when neither a file nor a map holds it. */
struct block {
	void *mem;
	size_t size;		/* page-rounded */
	unsigned refs;
};

struct fifo {
	struct ring_cqe *cqes;
	size_t head, tail, cap;
};

struct ring_file {
	bool used, setup;
	struct ring_params p;
	struct block *sq_ring, *cq_ring, *sqes;	/* sq_ring == cq_ring: single */
	size_t sq_ring_len, cq_ring_len, sqes_len;	/* mmap-able bytes */
	unsigned sq_head;	/* kernel's private copy of the SQ head */
	bool sqpoll;		/* RING_SETUP_SQPOLL: a "thread" consumes */
	struct fifo backlog, pending;
};

static struct ring_file files[FK_MAX_FILES];
static unsigned live_blocks;

static struct {
	void *addr;
	size_t len;
	struct block *b;
} maps[FK_MAX_MAPS];

int __real_close(int fd);
int __wrap_close(int fd);

static void block_put(struct block *b);
static void fifo_free(struct fifo *f);

void fk_reset(void)
{
	unsigned i;

	/* Drop what a failed test left behind, so the next one starts clean. */
	for (i = 0; i < FK_MAX_MAPS; i++)
		if (maps[i].addr)
			block_put(maps[i].b);
	memset(maps, 0, sizeof(maps));
	for (i = 0; i < FK_MAX_FILES; i++)
		if (files[i].used)
			__wrap_close(FK_FD_BASE + i);
	memset(&fk_cfg, 0, sizeof(fk_cfg));
	memset(&fk_stats, 0, sizeof(fk_stats));
	fk_cfg.op_res = -EINVAL;	/* as the module until I/O lands */
	fk_cfg.register_ret = -EINVAL;
}

static unsigned live_files(void)
{
	unsigned i, n = 0;

	for (i = 0; i < FK_MAX_FILES; i++)
		n += files[i].used;
	return n;
}

unsigned fk_live_objects(void)
{
	return live_files() + live_blocks;
}

unsigned fk_live_maps(void)
{
	unsigned i, n = 0;

	for (i = 0; i < FK_MAX_MAPS; i++)
		n += maps[i].addr != NULL;
	return n;
}

static struct ring_file *file_of(int fd)
{
	if (fd < FK_FD_BASE || fd >= FK_FD_BASE + FK_MAX_FILES ||
	    !files[fd - FK_FD_BASE].used)
		return NULL;
	return &files[fd - FK_FD_BASE];
}

static struct block *block_new(size_t size)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	b->size = (size + FK_PAGE - 1) & ~(FK_PAGE - 1);
	b->mem = aligned_alloc(FK_PAGE, b->size);
	if (!b->mem)
		abort();
	memset(b->mem, 0, b->size);
	b->refs = 1;
	live_blocks++;
	return b;
}

static void block_put(struct block *b)
{
	if (b && !--b->refs) {
		free(b->mem);
		free(b);
		live_blocks--;
	}
}

static void fifo_push(struct fifo *f, struct ring_cqe cqe)
{
	if (f->tail == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 16;
		f->cqes = realloc(f->cqes, f->cap * sizeof(*f->cqes));
		if (!f->cqes)
			abort();
	}
	f->cqes[f->tail++] = cqe;
}

static size_t fifo_len(const struct fifo *f)
{
	return f->tail - f->head;
}

static struct ring_cqe fifo_pop(struct fifo *f)
{
	struct ring_cqe cqe = f->cqes[f->head++];

	if (f->head == f->tail)
		f->head = f->tail = 0;
	return cqe;
}

static void fifo_free(struct fifo *f)
{
	free(f->cqes);
	memset(f, 0, sizeof(*f));
}

static unsigned *sq_word(struct ring_file *rf, unsigned off)
{
	return (unsigned *)((char *)rf->sq_ring->mem + off);
}

static unsigned *cq_word(struct ring_file *rf, unsigned off)
{
	return (unsigned *)((char *)rf->cq_ring->mem + off);
}

static void set_sq_flag(struct ring_file *rf, unsigned flag, bool on)
{
	unsigned *flags = sq_word(rf, OFF_SQ_FLAGS);
	unsigned v = __atomic_load_n(flags, __ATOMIC_RELAXED);

	v = on ? v | flag : v & ~flag;
	__atomic_store_n(flags, v, __ATOMIC_RELAXED);
}

static void set_overflow_flag(struct ring_file *rf, bool on)
{
	set_sq_flag(rf, RING_SQ_CQ_OVERFLOW, on);
}

/* Puts cqe into the CQ ring if there is room; the caller keeps FIFO order. */
static bool cq_try_post(struct ring_file *rf, struct ring_cqe cqe)
{
	unsigned head = __atomic_load_n(cq_word(rf, OFF_CQ_HEAD),
					__ATOMIC_ACQUIRE);
	unsigned tail = *cq_word(rf, OFF_CQ_TAIL);
	struct ring_cqe *cqes = (struct ring_cqe *)((char *)rf->cq_ring->mem +
						    OFF_CQES);

	if (tail - head >= rf->p.cq_entries)
		return false;
	cqes[tail & (rf->p.cq_entries - 1)] = cqe;
	__atomic_store_n(cq_word(rf, OFF_CQ_TAIL), tail + 1, __ATOMIC_RELEASE);
	return true;
}

static void flush_backlog(struct ring_file *rf)
{
	while (fifo_len(&rf->backlog) &&
	       cq_try_post(rf, rf->backlog.cqes[rf->backlog.head]))
		fifo_pop(&rf->backlog);
	set_overflow_flag(rf, fifo_len(&rf->backlog) != 0);
}

static void post_cqe(struct ring_file *rf, __u64 user_data, __s32 res)
{
	struct ring_cqe cqe = { .user_data = user_data, .res = res };

	if (!fifo_len(&rf->backlog) && cq_try_post(rf, cqe))
		return;
	fifo_push(&rf->backlog, cqe);
	(*cq_word(rf, OFF_CQ_OVERFLOW))++;
	set_overflow_flag(rf, true);
}

void fk_complete(int fd, __u64 user_data, __s32 res)
{
	struct ring_file *rf = file_of(fd);

	if (!rf || !rf->setup)
		abort();
	post_cqe(rf, user_data, res);
}

unsigned fk_backlog(int fd)
{
	struct ring_file *rf = file_of(fd);

	return rf ? fifo_len(&rf->backlog) : 0;
}

unsigned fk_pending(int fd)
{
	struct ring_file *rf = file_of(fd);

	return rf ? fifo_len(&rf->pending) : 0;
}

const struct ring_params *fk_params(int fd)
{
	struct ring_file *rf = file_of(fd);

	return rf && rf->setup ? &rf->p : NULL;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

static unsigned roundup_pow2(unsigned v)
{
	unsigned r = 1;

	while (r < v)
		r <<= 1;
	return r;
}

static int do_setup(struct ring_file *rf, struct ring_params *up)
{
	struct ring_params p;
	unsigned i, sq, cq;
	size_t cq_end, array_off;

	if (!up)
		return fail(EFAULT);
	if (rf->setup)
		return fail(EBUSY);
	memcpy(&p, up, sizeof(p));
	if (p.flags & ~(RING_SETUP_CQSIZE | RING_SETUP_CLAMP | RING_SETUP_IOPOLL |
			RING_SETUP_SQPOLL | RING_SETUP_SQ_AFF))
		return fail(EINVAL);
	/* The SQPOLL contract's rules (which CPUs exist is not modelled). */
	if ((p.flags & RING_SETUP_SQ_AFF) && !(p.flags & RING_SETUP_SQPOLL))
		return fail(EINVAL);
	if ((p.sq_thread_idle && !(p.flags & RING_SETUP_SQPOLL)) ||
	    (p.sq_thread_cpu && !(p.flags & RING_SETUP_SQ_AFF)) || p.wq_fd)
		return fail(EINVAL);
	for (i = 0; i < 3; i++)
		if (p.resv[i])
			return fail(EINVAL);
	sq = p.sq_entries;
	if (!sq)
		return fail(EINVAL);
	if (sq > RING_MAX_ENTRIES) {
		if (!(p.flags & RING_SETUP_CLAMP))
			return fail(EINVAL);
		sq = RING_MAX_ENTRIES;
	}
	sq = roundup_pow2(sq);
	if (p.flags & RING_SETUP_CQSIZE) {
		cq = p.cq_entries;
		if (!cq)
			return fail(EINVAL);
		if (cq > RING_MAX_CQ_ENTRIES) {
			if (!(p.flags & RING_SETUP_CLAMP))
				return fail(EINVAL);
			cq = RING_MAX_CQ_ENTRIES;
		}
		cq = roundup_pow2(cq);
		if (cq < sq)
			return fail(EINVAL);
	} else {
		cq = 2 * sq;
	}
	if (fk_cfg.setup_errno)
		return fail(fk_cfg.setup_errno);

	p.sq_entries = sq;
	p.cq_entries = cq;
	p.features = RING_FEAT_NODROP | RING_FEAT_SUBMIT_STABLE;
	if (!fk_cfg.no_single_mmap)
		p.features |= RING_FEAT_SINGLE_MMAP;
	cq_end = OFF_CQES + (size_t)cq * sizeof(struct ring_cqe);
	array_off = (cq_end + 63) & ~63UL;
	p.sq_off = (struct ring_sqring_offsets) {
		.head = OFF_SQ_HEAD, .tail = OFF_SQ_TAIL,
		.ring_mask = OFF_SQ_MASK, .ring_entries = OFF_SQ_ENTRIES,
		.flags = OFF_SQ_FLAGS, .dropped = OFF_SQ_DROPPED,
		.array = array_off,
	};
	p.cq_off = (struct ring_cqring_offsets) {
		.head = OFF_CQ_HEAD, .tail = OFF_CQ_TAIL,
		.ring_mask = OFF_CQ_MASK, .ring_entries = OFF_CQ_ENTRIES,
		.overflow = OFF_CQ_OVERFLOW, .cqes = OFF_CQES,
		.flags = OFF_CQ_FLAGS,
	};

	/* io_uring's sizes: liburing maps exactly these. */
	rf->sq_ring_len = array_off + sq * sizeof(unsigned);
	rf->cq_ring_len = cq_end;
	rf->sqes_len = sq * sizeof(struct ring_sqe);
	if (p.features & RING_FEAT_SINGLE_MMAP) {
		rf->sq_ring = rf->cq_ring = block_new(rf->sq_ring_len);
		rf->cq_ring_len = rf->sq_ring_len;
	} else {
		/* Two blocks of the same layout: SQ fields in one, CQ in the other. */
		rf->sq_ring = block_new(rf->sq_ring_len);
		rf->cq_ring = block_new(rf->sq_ring_len);
	}
	rf->sqes = block_new(rf->sqes_len);
	memset(rf->sqes->mem, 0xee, rf->sqes->size);	/* stale garbage */

	*sq_word(rf, OFF_SQ_MASK) = sq - 1;
	*sq_word(rf, OFF_SQ_ENTRIES) = sq;
	*cq_word(rf, OFF_CQ_MASK) = cq - 1;
	*cq_word(rf, OFF_CQ_ENTRIES) = cq;
	*sq_word(rf, OFF_SQ_HEAD) = *sq_word(rf, OFF_SQ_TAIL) =
		fk_cfg.initial_index;
	*cq_word(rf, OFF_CQ_HEAD) = *cq_word(rf, OFF_CQ_TAIL) =
		fk_cfg.initial_index;
	rf->sq_head = fk_cfg.initial_index;
	rf->sqpoll = p.flags & RING_SETUP_SQPOLL;
	rf->p = p;
	rf->setup = true;
	memcpy(up, &p, sizeof(p));
	fk_stats.setups++;
	return 0;
}

/* What the module answers for one SQE (it copied the SQE first). */
static __s32 sqe_result(const struct ring_sqe *sqe)
{
	if (sqe->flags || sqe->personality || sqe->splice_fd_in ||
	    sqe->__pad2[0] || sqe->__pad2[1])
		return -EINVAL;
	if (sqe->opcode != RING_OP_NOP)
		return fk_cfg.op_res;
	if (sqe->ioprio || sqe->off || sqe->addr || sqe->len ||
	    sqe->rw_flags || sqe->buf_index)
		return -EINVAL;
	return 0;
}

/* Consumes up to @limit SQEs as ENTER (or the SQ thread) does. */
static unsigned consume_sq(struct ring_file *rf, unsigned limit)
{
	const struct ring_sqe *sqes = rf->sqes->mem;
	unsigned *array = sq_word(rf, rf->p.sq_off.array);
	unsigned tail, submitted = 0;

	if (fk_cfg.max_consume && limit > fk_cfg.max_consume)
		limit = fk_cfg.max_consume;
	tail = __atomic_load_n(sq_word(rf, OFF_SQ_TAIL), __ATOMIC_ACQUIRE);
	while (submitted < limit && rf->sq_head != tail) {
		unsigned idx = array[rf->sq_head & (rf->p.sq_entries - 1)];
		struct ring_sqe sqe;

		rf->sq_head++;
		if (idx >= rf->p.sq_entries) {
			(*sq_word(rf, OFF_SQ_DROPPED))++;
			continue;
		}
		memcpy(&sqe, &sqes[idx], sizeof(sqe));
		fk_stats.last_sqe = sqe;
		fk_stats.consumed++;
		submitted++;
		if (fk_cfg.defer) {
			struct ring_cqe c = { sqe.user_data, sqe_result(&sqe), 0 };

			fifo_push(&rf->pending, c);
		} else {
			post_cqe(rf, sqe.user_data, sqe_result(&sqe));
		}
	}
	__atomic_store_n(sq_word(rf, OFF_SQ_HEAD), rf->sq_head,
			 __ATOMIC_RELEASE);
	return submitted;
}

static bool sq_thread_asleep(struct ring_file *rf)
{
	return __atomic_load_n(sq_word(rf, OFF_SQ_FLAGS), __ATOMIC_RELAXED) &
	       RING_SQ_NEED_WAKEUP;
}

void fk_sq_thread(int fd, bool sleep)
{
	struct ring_file *rf = file_of(fd);

	if (!rf || !rf->sqpoll)
		abort();
	set_sq_flag(rf, RING_SQ_NEED_WAKEUP, false);
	consume_sq(rf, -1U);
	set_sq_flag(rf, RING_SQ_NEED_WAKEUP, sleep);
}

/*
 * ENTER on an SQPOLL ring: SQ_WAKEUP wakes the thread (here it runs at
 * once and stays awake), SQ_WAIT waits for the thread to free a slot (a
 * thread runs until the SQ is empty, so it has when it sleeps); ENTER
 * itself consumes nothing and says to_submit.
 */
static void enter_sqpoll(struct ring_file *rf, const struct ring_enter *e)
{
	if (e->flags & RING_ENTER_SQ_WAKEUP) {
		fk_stats.wakeups++;
		set_sq_flag(rf, RING_SQ_NEED_WAKEUP, false);
	}
	if (e->flags & RING_ENTER_SQ_WAIT)
		fk_stats.sq_waits++;
	if (!sq_thread_asleep(rf) || (e->flags & RING_ENTER_SQ_WAIT))
		consume_sq(rf, -1U);
}

static int do_enter(struct ring_file *rf, const struct ring_enter *e)
{
	int submitted;
	unsigned want;

	if (!rf->setup)
		return fail(EBADFD);
	if (!e)
		return fail(EFAULT);
	fk_stats.enters++;
	fk_stats.last_enter = *e;
	if (e->resv || (e->flags & ~(RING_ENTER_GETEVENTS |
				     RING_ENTER_SQ_WAKEUP |
				     RING_ENTER_SQ_WAIT)))
		return fail(EINVAL);
	if (fk_cfg.enter_errno)
		return fail(fk_cfg.enter_errno);

	flush_backlog(rf);
	if (rf->sqpoll) {
		enter_sqpoll(rf, e);
		submitted = (int)e->to_submit;
	} else {
		submitted = (int)consume_sq(rf, e->to_submit);
	}

	if (!(e->flags & RING_ENTER_GETEVENTS))
		return submitted;
	want = e->min_complete < rf->p.cq_entries ? e->min_complete :
						    rf->p.cq_entries;
	flush_backlog(rf);
	if (*cq_word(rf, OFF_CQ_TAIL) - *cq_word(rf, OFF_CQ_HEAD) >= want)
		return submitted;
	/* While "waiting", the deferred requests finish. */
	while (fifo_len(&rf->pending)) {
		struct ring_cqe c = fifo_pop(&rf->pending);

		post_cqe(rf, c.user_data, c.res);
	}
	flush_backlog(rf);
	if (*cq_word(rf, OFF_CQ_TAIL) - *cq_word(rf, OFF_CQ_HEAD) >= want)
		return submitted;
	/* Nothing can complete any more: the real module would sleep. */
	fk_stats.would_block++;
	return submitted ? submitted : fail(EINTR);
}

static int do_ioctl(struct ring_file *rf, unsigned long req, void *arg)
{
	switch (req) {
	case RING_IOC_SETUP:
		return do_setup(rf, arg);
	case RING_IOC_ENTER:
		return do_enter(rf, arg);
	case RING_IOC_REGISTER:
		if (!rf->setup)
			return fail(EBADFD);
		fk_stats.registers++;
		if (arg)
			memcpy(&fk_stats.last_register, arg,
			       sizeof(fk_stats.last_register));
		return fk_cfg.register_ret < 0 ? fail(-fk_cfg.register_ret) :
						 fk_cfg.register_ret;
	}
	return fail(ENOTTY);
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	struct ring_file *rf = file_of(fd);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!rf)
		return fail(EBADF);
	return do_ioctl(rf, req, arg);
}

static int fake_open(const char *path, int flags)
{
	unsigned i;

	fk_stats.opens++;
	fk_stats.last_open_flags = flags;
	strncpy(fk_stats.last_open_path, path,
		sizeof(fk_stats.last_open_path) - 1);
	if (fk_cfg.open_errno)
		return fail(fk_cfg.open_errno);
	for (i = 0; i < FK_MAX_FILES; i++) {
		if (!files[i].used) {
			memset(&files[i], 0, sizeof(files[i]));
			files[i].used = true;
			return FK_FD_BASE + i;
		}
	}
	return fail(EMFILE);
}

int __wrap_open(const char *path, int flags, ...)
{
	return fake_open(path, flags);
}

int __wrap_open64(const char *path, int flags, ...)
{
	return fake_open(path, flags);
}

int __wrap_close(int fd)
{
	struct ring_file *rf = file_of(fd);

	if (!rf)
		return __real_close(fd);
	fk_stats.closes++;
	/* The mappings keep the memory, as with the real module. */
	block_put(rf->sq_ring);
	if (rf->cq_ring != rf->sq_ring)
		block_put(rf->cq_ring);
	block_put(rf->sqes);
	fifo_free(&rf->backlog);
	fifo_free(&rf->pending);
	memset(rf, 0, sizeof(*rf));
	return 0;
}

static void *fake_mmap(size_t len, int prot, int flags, int fd, off_t off)
{
	struct ring_file *rf = file_of(fd);
	struct block *b;
	size_t limit;
	unsigned i;

	fk_stats.maps++;
	fk_stats.last_mmap_prot = prot;
	fk_stats.last_mmap_flags = flags;
	if (fk_cfg.mmap_fail_nth && fk_stats.maps == (unsigned)fk_cfg.mmap_fail_nth) {
		errno = fk_cfg.mmap_errno;
		return MAP_FAILED;
	}
	if (!rf) {
		errno = EBADF;
		return MAP_FAILED;
	}
	if (!rf->setup) {
		errno = EBADFD;
		return MAP_FAILED;
	}
	if ((flags & MAP_TYPE) != MAP_SHARED) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	switch ((unsigned long long)off) {
	case RING_OFF_SQ_RING:
		b = rf->sq_ring;
		limit = rf->sq_ring_len;
		break;
	case RING_OFF_CQ_RING:
		b = rf->cq_ring;
		limit = rf->cq_ring_len;
		break;
	case RING_OFF_SQES:
		b = rf->sqes;
		limit = rf->sqes_len;
		break;
	default:
		errno = EINVAL;
		return MAP_FAILED;
	}
	limit = (limit + FK_PAGE - 1) & ~(FK_PAGE - 1);
	if (!len || len > limit) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	for (i = 0; i < FK_MAX_MAPS; i++) {
		if (!maps[i].addr) {
			maps[i].addr = b->mem;
			maps[i].len = len;
			maps[i].b = b;
			b->refs++;
			return b->mem;
		}
	}
	errno = ENOMEM;
	return MAP_FAILED;
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	return fake_mmap(len, prot, flags, fd, off);
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off_t off)
{
	return fake_mmap(len, prot, flags, fd, off);
}

/*
 * Several maps may share one address here (a real kernel gives each its
 * own), so a munmap takes the first map with that address and length.
 */
int __wrap_munmap(void *addr, size_t len)
{
	unsigned i;

	fk_stats.unmaps++;
	for (i = 0; i < FK_MAX_MAPS; i++) {
		if (maps[i].addr && maps[i].addr == addr && maps[i].len == len) {
			block_put(maps[i].b);
			memset(&maps[i], 0, sizeof(maps[i]));
			return 0;
		}
	}
	fk_stats.bad_unmaps++;
	return fail(EINVAL);
}

int fk_setup(void **state)
{
	fk_reset();
	unsetenv("RING_DEV");
	return 0;
}

int fk_teardown(void **state)
{
	int ret = 0;

	if (fk_live_objects() || fk_live_maps() || fk_stats.bad_unmaps) {
		fprintf(stderr, "fake kernel: %u objects and %u maps left, "
			"%u bad unmaps\n", fk_live_objects(), fk_live_maps(),
			fk_stats.bad_unmaps);
		ret = -1;
	}
	fk_reset();
	return ret;
}
