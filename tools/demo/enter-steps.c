// SPDX-License-Identifier: MIT
/*
 * enter-steps: what one ENTER costs, step by step, beside a bare system
 * call and io_uring_enter().  Each step runs N times (default 200,000);
 * printed is the time per call, which under QEMU -icount shift=0 is guest
 * instructions per call (Documentation/benchmarks.md, "One enter, step by
 * step"):
 *
 *   tools/vm/run --kernel 6.12 --icount -- build/tools/enter-steps [N]
 *
 * The steps: getppid() (a system call that does nothing); ioctl() of an
 * unknown command on an io_uring descriptor (the generic ioctl path, no
 * driver: -ENOTTY) and on /dev/ring (the same, into ring's handler);
 * ENTER with nothing to do, without and with GETEVENTS; io_uring_enter()
 * the same; then one NOP per enter, submitted and reaped, through libring
 * on /dev/ring and through liburing on io_uring (ringbench's NOP batch 1
 * loop, stripped), without and with waiting for it in the enter.  Steps
 * that need io_uring say SKIP where it is off.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <libring.h>

#include "enter-steps.h"

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup	425
#define __NR_io_uring_enter	426
#endif
#define IOURING_ENTER_GETEVENTS	1U
/* No driver knows it: ioctl() fails with ENOTTY after the generic path. */
#define UNKNOWN_IOCTL		0x7fe1

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long n_calls = 200000;

/* One step: n_calls calls of fn(arg), which must return want each time. */
static void step(const char *name, long (*fn)(void *), void *arg, long want)
{
	double t0 = now_ns();
	long i, ret;

	for (i = 0; i < n_calls; i++) {
		ret = fn(arg);
		if (ret != want) {
			printf("%-44s FAILED: returned %ld (errno %d), expected %ld\n",
			       name, ret, errno, want);
			exit(1);
		}
	}
	printf("%-44s %8.1f\n", name, (now_ns() - t0) / (double)n_calls);
}

struct enter_args {
	int fd;
	struct ring_enter e;
	unsigned int flags;
};

static long do_getppid(void *arg)
{
	(void)arg;
	return syscall(SYS_getppid) > 0 ? 0 : -1;
}

static long do_unknown_ioctl(void *arg)
{
	return ioctl(*(int *)arg, UNKNOWN_IOCTL, 0) < 0 && errno == ENOTTY ?
		0 : -1;
}

static long do_ring_enter(void *arg)
{
	struct enter_args *a = arg;

	return ioctl(a->fd, RING_IOC_ENTER, &a->e);
}

struct nop_args {
	struct ring ring;
	int wait;
};

static long do_ring_nop(void *arg)
{
	struct nop_args *a = arg;
	struct ring_cqe *cqe;
	int ret;

	ring_prep_nop(ring_get_sqe(&a->ring));
	ret = a->wait ? ring_submit_and_wait(&a->ring, 1) :
			ring_submit(&a->ring);
	if (ret != 1 || ring_peek_cqe(&a->ring, &cqe) || cqe->res)
		return -1;
	ring_cqe_seen(&a->ring, cqe);
	return 0;
}

static long do_uring_enter(void *arg)
{
	struct enter_args *a = arg;

	return syscall(__NR_io_uring_enter, a->fd, 0, 0, a->flags, NULL, 0);
}

int main(int argc, char **argv)
{
	struct enter_args r = { .e = { 0 } }, u = { 0 };
	struct nop_args nop = { .wait = 0 };
	void *unop;
	unsigned char params[120] = { 0 };	/* struct io_uring_params */
	struct ring ring;
	int ret;

	if (argc > 1)
		n_calls = atol(argv[1]);
	if (n_calls <= 0) {
		fprintf(stderr, "usage: enter-steps [N]\n");
		return 2;
	}
	ret = ring_queue_init(64, &ring, 0);
	if (ret) {
		fprintf(stderr, "enter-steps: ring_queue_init: %s\n",
			strerror(-ret));
		return 1;
	}
	r.fd = ring.ring_fd;
	u.fd = (int)syscall(__NR_io_uring_setup, 64, params);

	printf("%-44s %8s\n", "step", "ns/call");
	step("getppid()", do_getppid, NULL, 0);
	if (u.fd >= 0)
		step("ioctl(io_uring fd, unknown) = -ENOTTY", do_unknown_ioctl,
		     &u.fd, 0);
	else
		printf("%-44s SKIP: io_uring_setup: %s\n",
		       "ioctl(io_uring fd, unknown) = -ENOTTY", strerror(errno));
	step("ioctl(/dev/ring, unknown) = -ENOTTY", do_unknown_ioctl, &r.fd, 0);
	step("RING_IOC_ENTER(0, 0, 0)", do_ring_enter, &r, 0);
	r.e.flags = RING_ENTER_GETEVENTS;
	step("RING_IOC_ENTER(0, 0, GETEVENTS)", do_ring_enter, &r, 0);
	if (u.fd >= 0) {
		step("io_uring_enter(0, 0, 0)", do_uring_enter, &u, 0);
		u.flags = IOURING_ENTER_GETEVENTS;
		step("io_uring_enter(0, 0, GETEVENTS)", do_uring_enter, &u, 0);
		close(u.fd);
	} else {
		printf("%-44s SKIP: io_uring_setup failed\n",
		       "io_uring_enter(...)");
	}
	ring_queue_exit(&ring);

	for (nop.wait = 0; nop.wait < 2; nop.wait++) {
		const char *rname = nop.wait ? "ring: 1 NOP, submit_and_wait(1)" :
					       "ring: 1 NOP, submit";
		const char *uname = nop.wait ? "io_uring: 1 NOP, submit_and_wait(1)" :
					       "io_uring: 1 NOP, submit";

		ret = ring_queue_init(64, &nop.ring, 0);
		if (ret) {
			fprintf(stderr, "enter-steps: ring_queue_init: %s\n",
				strerror(-ret));
			return 1;
		}
		step(rname, do_ring_nop, &nop, 0);
		ring_queue_exit(&nop.ring);
		unop = uring_nop_init(nop.wait);
		if (unop) {
			step(uname, uring_nop_step, unop, 0);
			uring_nop_exit(unop);
		} else {
			printf("%-44s SKIP: io_uring_queue_init failed\n", uname);
		}
	}
	return 0;
}
