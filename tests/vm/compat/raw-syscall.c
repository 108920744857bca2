// SPDX-License-Identifier: MIT
/*
 * An io_uring program without liburing, as fio's engine and t/io_uring
 * are: the kernel's <linux/io_uring.h> and libc's syscall().
 *
 *   raw-syscall ring       its ring must be /dev/ring (run by ring-run)
 *   raw-syscall io_uring   its ring must be io_uring (run as it is)
 *
 * Sets up a ring, maps it at io_uring's offsets, runs NOPs through it,
 * probes it, registers the ring fd and enters through the index, and sees
 * io_uring's REGISTER_FILES, FILES_UPDATE and UNREGISTER_FILES (2, 6, 3:
 * ring's 2-6 are its IOTLB operations) answered as that kernel does.
 * Exit 0: passed; 1: failed (the reason on stdout); 77: cannot run here.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/io_uring.h>

#define FAIL(fmt, ...) do {						\
	printf("# raw-syscall:%d: " fmt "\n", __LINE__, ##__VA_ARGS__);	\
	exit(1);							\
} while (0)

struct raw {
	int fd;
	struct io_uring_params p;
	char *rings;
	size_t rings_len;
	struct io_uring_sqe *sqes;
};

static long setup(unsigned entries, struct io_uring_params *p)
{
	return syscall(__NR_io_uring_setup, entries, p);
}

static long enter(int fd, unsigned n, unsigned wait, unsigned flags)
{
	return syscall(__NR_io_uring_enter, fd, n, wait, flags, NULL, 0);
}

static long reg(int fd, unsigned op, void *arg, unsigned nr)
{
	return syscall(__NR_io_uring_register, fd, op, arg, nr);
}

static unsigned *word(struct raw *r, unsigned off)
{
	return (unsigned *)(r->rings + off);
}

static void map(struct raw *r)
{
	size_t sq = r->p.sq_off.array + r->p.sq_entries * sizeof(unsigned);
	size_t cq = r->p.cq_off.cqes +
		    r->p.cq_entries * sizeof(struct io_uring_cqe);

	if (!(r->p.features & IORING_FEAT_SINGLE_MMAP))
		FAIL("no IORING_FEAT_SINGLE_MMAP");
	r->rings_len = sq > cq ? sq : cq;
	r->rings = mmap(NULL, r->rings_len, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	r->sqes = mmap(NULL, r->p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       r->fd, IORING_OFF_SQES);
	if (r->rings == MAP_FAILED || r->sqes == MAP_FAILED)
		FAIL("mmap: %s", strerror(errno));
}

/* Queues a NOP, enters (through @fd and @flags), reaps its CQE. */
static void nop(struct raw *r, int fd, unsigned flags, __u64 user_data)
{
	unsigned tail = *word(r, r->p.sq_off.tail);
	unsigned head = *word(r, r->p.cq_off.head);
	unsigned idx = tail & *word(r, r->p.sq_off.ring_mask);
	struct io_uring_cqe *cqe;
	long ret;

	memset(&r->sqes[idx], 0, sizeof(r->sqes[idx]));
	r->sqes[idx].opcode = IORING_OP_NOP;
	r->sqes[idx].user_data = user_data;
	word(r, r->p.sq_off.array)[idx] = idx;
	__atomic_store_n(word(r, r->p.sq_off.tail), tail + 1,
			 __ATOMIC_RELEASE);
	ret = enter(fd, 1, 1, IORING_ENTER_GETEVENTS | flags);
	if (ret != 1)
		FAIL("enter: %ld (%s)", ret, strerror(errno));
	if (__atomic_load_n(word(r, r->p.cq_off.tail), __ATOMIC_ACQUIRE) ==
	    head)
		FAIL("no CQE after the wait");
	cqe = (struct io_uring_cqe *)(r->rings + r->p.cq_off.cqes) +
	      (head & *word(r, r->p.cq_off.ring_mask));
	if (cqe->user_data != user_data || cqe->res)
		FAIL("CQE %llu res %d", (unsigned long long)cqe->user_data,
		     cqe->res);
	__atomic_store_n(word(r, r->p.cq_off.head), head + 1,
			 __ATOMIC_RELEASE);
}

static void check_kind(int fd, const char *want)
{
	char link[64], target[PATH_MAX] = "";
	const char *dev = getenv("RING_DEV");
	bool is_ring;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (readlink(link, target, sizeof(target) - 1) < 0)
		FAIL("readlink %s", link);
	is_ring = !strcmp(target, dev && *dev ? dev : "/dev/ring");
	if (is_ring != !strcmp(want, "ring"))
		FAIL("the ring fd is %s, want %s", target, want);
}

static void probe(struct raw *r)
{
	struct io_uring_probe *pr;
	size_t len = sizeof(*pr) + 256 * sizeof(struct io_uring_probe_op);

	pr = calloc(1, len);
	if (!pr || reg(r->fd, IORING_REGISTER_PROBE, pr, 256) < 0)
		FAIL("REGISTER_PROBE: %s", strerror(errno));
	if (pr->last_op < IORING_OP_WRITE ||
	    !(pr->ops[IORING_OP_READ].flags & IO_URING_OP_SUPPORTED) ||
	    !(pr->ops[IORING_OP_NOP].flags & IO_URING_OP_SUPPORTED))
		FAIL("probe: last_op %u, READ/NOP not supported", pr->last_op);
	free(pr);
}

static void registered_ring(struct raw *r)
{
	struct io_uring_rsrc_update up = { .offset = -1U, .data = r->fd };
	long ret;

	ret = reg(r->fd, IORING_REGISTER_RING_FDS, &up, 1);
	if (ret != 1)
		FAIL("REGISTER_RING_FDS: %ld (%s)", ret, strerror(errno));
	if (up.offset >= 16)
		FAIL("registered at %u", up.offset);
	nop(r, up.offset, IORING_ENTER_REGISTERED_RING, 2);
	up.data = 0;
	ret = reg(r->fd, IORING_UNREGISTER_RING_FDS, &up, 1);
	if (ret != 1)
		FAIL("UNREGISTER_RING_FDS: %ld (%s)", ret, strerror(errno));
	if (enter(up.offset, 0, 0, IORING_ENTER_REGISTERED_RING) != -1 ||
	    errno != EBADF)
		FAIL("enter through an unregistered index: %s",
		     strerror(errno));
}

/* io_uring's own files opcodes, whatever numbers ring gives them. */
static void files(struct raw *r)
{
	int p[2], fds[2];
	struct io_uring_files_update up = { .offset = 1,
					    .fds = (uintptr_t)fds };
	long ret;

	if (pipe(p))
		FAIL("pipe: %s", strerror(errno));
	fds[0] = p[0];
	fds[1] = -1;
	ret = reg(r->fd, IORING_REGISTER_FILES, fds, 2);
	if (ret)
		FAIL("REGISTER_FILES: %ld (%s)", ret, strerror(errno));
	fds[0] = p[1];
	ret = reg(r->fd, IORING_REGISTER_FILES_UPDATE, &up, 1);
	if (ret != 1)
		FAIL("REGISTER_FILES_UPDATE: %ld (%s)", ret, strerror(errno));
	ret = reg(r->fd, IORING_UNREGISTER_FILES, NULL, 0);
	if (ret)
		FAIL("UNREGISTER_FILES: %ld (%s)", ret, strerror(errno));
	if (reg(r->fd, IORING_UNREGISTER_FILES, NULL, 0) != -1 ||
	    errno != ENXIO)
		FAIL("UNREGISTER_FILES again: %s, want ENXIO", strerror(errno));
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	struct raw r = { 0 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2 || (strcmp(argv[1], "ring") && strcmp(argv[1], "io_uring"))) {
		fprintf(stderr, "usage: raw-syscall ring|io_uring\n");
		return 2;
	}
	r.fd = (int)setup(8, &r.p);
	if (r.fd < 0) {
		if (!strcmp(argv[1], "io_uring") &&
		    (errno == EPERM || errno == ENOSYS)) {
			printf("# SKIP: io_uring_setup: %s\n", strerror(errno));
			return 77;
		}
		FAIL("io_uring_setup: %s", strerror(errno));
	}
	check_kind(r.fd, argv[1]);
	map(&r);
	nop(&r, r.fd, 0, 1);
	probe(&r);
	registered_ring(&r);
	files(&r);
	close(r.fd);
	printf("# raw-syscall %s: ok\n", argv[1]);
	return 0;
}
