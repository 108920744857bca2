// SPDX-License-Identifier: MIT
/*
 * /proc/PID/fdinfo/FD of a ring must be readable whatever the ring's owner
 * is doing.  RING_IOC_REGISTER holds uring_lock while it copies from user
 * memory, and user memory can make that copy wait for as long as it likes
 * (userfaultfd, FUSE).  Here a thread's REGISTER copies from a missing page
 * of a userfaultfd range and so sleeps holding the lock; meanwhile another
 * thread reads the fdinfo and must get it.  Only then is the fault
 * answered, and the REGISTER must finish as if nothing had happened.
 *
 * The copies under uring_lock used here:
 *   - the struct ring_iotlb_map of IOTLB_MAP (kmod/iotlb.c);
 *   - the source of a BOUNCE_IN stream mapping (kmod/iotlb.c);
 *   - the iovec array of REGISTER_BUFFERS (kmod/rsrc.c).
 *
 * The verdict is whether the read returns at all, not how fast: it gets
 * READ_LIMIT_S seconds, after which the fault is answered anyway so that
 * a hanging read fails the test instead of hanging the suite.
 */
#include "iotest.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#define PG		4096UL
#define READ_LIMIT_S	20
#define REGION_PAGES	4

#define SKIP_MSG(...) do {						\
	print_message("# SKIP: " __VA_ARGS__);				\
	print_message("\n");						\
	skip();								\
} while (0)

enum blocker { B_MAP_ARG, B_BOUNCE_IN, B_BUFFERS_IOVEC };

static const char *const blocker_name[] = {
	"IOTLB_MAP, its argument on a missing page",
	"IOTLB_MAP BOUNCE_IN, its source on a missing page",
	"REGISTER_BUFFERS, its iovec array on a missing page",
};

/* The REGISTER that blocks, run by its own thread. */
struct reg_call {
	int ring_fd;
	unsigned opcode;
	unsigned nr_args;
	const void *arg;
	int ret;
};

static void *reg_main(void *arg)
{
	struct reg_call *c = arg;

	c->ret = ring_register(c->ring_fd, c->opcode, c->arg, c->nr_args);
	return NULL;
}

/* The fdinfo reader; no cmocka calls in the thread. */
struct reader {
	int ring_fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int err;		/* errno of a failed open or read */
	char text[8192];
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char path[64];
	size_t len = 0;
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", r->ring_fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
	} else {
		while ((n = read(fd, r->text + len,
				 sizeof(r->text) - 1 - len)) > 0)
			len += (size_t)n;
		if (n < 0)
			err = errno;
		close(fd);
	}
	r->text[len] = 0;
	pthread_mutex_lock(&r->lock);
	r->err = err;
	r->done = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Wait up to secs for the reader: true if it finished. */
static bool reader_wait(struct reader *r, int secs)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += secs;
	pthread_mutex_lock(&r->lock);
	while (!r->done)
		if (pthread_cond_timedwait(&r->cond, &r->lock, &until))
			break;
	done = r->done;
	pthread_mutex_unlock(&r->lock);
	return done;
}

/* Value of `key:` in an fdinfo text, or -1. */
static long long text_get(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *line;

	for (line = text; *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, klen) && line[klen] == ':')
			return strtoll(line + klen + 1, NULL, 0);
		if (!strchr(line, '\n'))
			break;
	}
	return -1;
}

/* A userfaultfd that handles kernel-mode faults too, or SKIP. */
static int uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		SKIP_MSG("userfaultfd(): %s (CONFIG_USERFAULTFD, or "
			 "vm.unprivileged_userfaultfd without root)",
			 strerror(errno));
	if (ioctl(fd, UFFDIO_API, &api))
		fail_msg("UFFDIO_API: %s", strerror(errno));
	return fd;
}

/* Wait up to secs for one page fault in [va, va + PG). */
static void uffd_wait_fault(int uffd, const void *va, int secs,
			    const char *what)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;
	ssize_t n;
	int ret;

	ret = poll(&pfd, 1, secs * 1000);
	if (ret <= 0)
		fail_msg("%s: the REGISTER never faulted on the userfaultfd "
			 "page (poll: %d, %s)", what, ret,
			 ret ? strerror(errno) : "timeout");
	n = read(uffd, &msg, sizeof(msg));
	if (n != sizeof(msg))
		fail_msg("%s: read uffd: %zd (%s)", what, n,
			 n < 0 ? strerror(errno) : "short");
	if (msg.event != UFFD_EVENT_PAGEFAULT ||
	    (msg.arg.pagefault.address & ~(PG - 1)) != (uintptr_t)va)
		fail_msg("%s: unexpected userfaultfd event %u at %#llx", what,
			 msg.event,
			 (unsigned long long)msg.arg.pagefault.address);
}

static void fdinfo_while_register_blocks(enum blocker b)
{
	const char *what = blocker_name[b];
	struct reader rd = { .lock = PTHREAD_MUTEX_INITIALIZER,
			     .cond = PTHREAD_COND_INITIALIZER };
	struct uffdio_register ureg;
	struct uffdio_copy copy;
	struct ring_stats base;
	struct reg_call call;
	struct ring ring;
	unsigned char *page, *src, *buf = NULL;
	pthread_t reg_thr, rd_thr;
	void *region = NULL;
	bool read_returned;
	int uffd;

	require_ring();
	stats_baseline(&base);
	uffd = uffd_open();
	ring_init_or_fail(&ring, 4);
	if (b != B_BUFFERS_IOVEC)
		expect_ret(ring_register_iotlb(&ring, REGION_PAGES * PG, &region),
			   0);

	/* page: the missing page; src: what UFFDIO_COPY puts there. */
	page = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	src = xalloc(PG);
	memset(src, 0, PG);
	ureg = (struct uffdio_register){
		.range = { .start = (uintptr_t)page, .len = PG },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	if (ioctl(uffd, UFFDIO_REGISTER, &ureg))
		fail_msg("UFFDIO_REGISTER: %s", strerror(errno));

	call = (struct reg_call){ .ring_fd = ring.ring_fd };
	switch (b) {
	case B_MAP_ARG: {
		struct ring_iotlb_map m = {
			.iova = PG, .size = PG,
			.perm = RING_IOTLB_PERM_READ | RING_IOTLB_PERM_WRITE,
		};

		memcpy(src, &m, sizeof(m));
		call.opcode = RING_IOTLB_MAP;
		call.arg = page;
		break;
	}
	case B_BOUNCE_IN: {
		static struct ring_iotlb_map m;

		m = (struct ring_iotlb_map){
			.iova = PG, .size = PG, .uaddr = (uintptr_t)page,
			.perm = RING_IOTLB_PERM_READ | RING_IOTLB_PERM_WRITE,
			.flags = RING_IOTLB_BOUNCE_IN,
		};
		memset(src, 0x5a, PG);
		call.opcode = RING_IOTLB_MAP;
		call.arg = &m;
		break;
	}
	case B_BUFFERS_IOVEC: {
		struct iovec iov;

		buf = xalloc(PG);
		iov = (struct iovec){ buf, PG };
		memcpy(src, &iov, sizeof(iov));
		call.opcode = RING_REGISTER_BUFFERS;
		call.nr_args = 1;
		call.arg = page;
		break;
	}
	}
	assert_int_equal(pthread_create(&reg_thr, NULL, reg_main, &call), 0);
	/* Once it faults, the REGISTER sleeps in the copy, holding the lock. */
	uffd_wait_fault(uffd, page, READ_LIMIT_S, what);

	rd.ring_fd = ring.ring_fd;
	assert_int_equal(pthread_create(&rd_thr, NULL, reader_main, &rd), 0);
	read_returned = reader_wait(&rd, READ_LIMIT_S);

	/* Answer the fault whatever happened: that unblocks everyone. */
	copy = (struct uffdio_copy){
		.dst = (uintptr_t)page, .src = (uintptr_t)src, .len = PG,
	};
	if (ioctl(uffd, UFFDIO_COPY, &copy))
		fail_msg("%s: UFFDIO_COPY: %s", what, strerror(errno));
	pthread_join(reg_thr, NULL);
	pthread_join(rd_thr, NULL);

	if (!read_returned)
		fail_msg("%s: reading /proc/self/fdinfo/%d did not return "
			 "within %d s while the REGISTER held the ring's lock",
			 what, ring.ring_fd, READ_LIMIT_S);
	if (rd.err)
		fail_msg("%s: reading fdinfo: %s", what, strerror(rd.err));
	/* What needs no lock is all there. */
	if (text_get(rd.text, "SqEntries") != 4 ||
	    text_get(rd.text, "CqEntries") != 8 ||
	    text_get(rd.text, "Inflight") != 0)
		fail_msg("%s: fdinfo read meanwhile lacks its lines:\n%s", what,
			 rd.text);

	/* The REGISTER went through with what the fault handler supplied. */
	expect_ret_msg(call.ret, 0, "%s: the REGISTER", what);
	if (b == B_BUFFERS_IOVEC) {
		expect_ret(fdinfo_get(ring.ring_fd, "BufferSlots"), 1);
		expect_ret(fdinfo_get(ring.ring_fd, "PinnedPages"), 1);
		expect_ret(ring_unregister_buffers(&ring), 0);
	} else {
		/* Uncontended, fdinfo shows the region again. */
		expect_ret(fdinfo_get(ring.ring_fd, "IotlbSize"),
			   REGION_PAGES * PG);
		expect_ret(fdinfo_get(ring.ring_fd, "IotlbMapped"), 1);
		if (b == B_BOUNCE_IN) {
			const unsigned char *p = (unsigned char *)region + PG;
			size_t i;

			for (i = 0; i < PG; i++)
				if (p[i] != 0x5a)
					fail_msg("%s: byte %zu of the mapped "
						 "range is %#x, BOUNCE_IN "
						 "copied %#x", what, i, p[i],
						 0x5a);
		}
		expect_ret(ring_iotlb_unmap(&ring, PG, PG), 0);
		expect_ret(ring_unregister_iotlb(&ring, region,
						 REGION_PAGES * PG), 0);
	}
	expect_inflight0(&ring, what);
	ring_queue_exit(&ring);
	munmap(page, PG);
	close(uffd);
	free(src);
	free(buf);
	expect_stats(&base, what);
}

static void test_map_arg(void **state)
{
	fdinfo_while_register_blocks(B_MAP_ARG);
}

static void test_bounce_in(void **state)
{
	fdinfo_while_register_blocks(B_BOUNCE_IN);
}

static void test_buffers_iovec(void **state)
{
	fdinfo_while_register_blocks(B_BUFFERS_IOVEC);
}

/* Nobody holds the lock: every line, the region's included. */
static void test_uncontended(void **state)
{
	struct ring_stats base;
	struct ring ring;
	void *region;

	require_ring();
	stats_baseline(&base);
	ring_init_or_fail(&ring, 4);
	expect_ret(fdinfo_get(ring.ring_fd, "IotlbSize"), 0);
	expect_ret(fdinfo_get(ring.ring_fd, "IotlbMapped"), 0);
	expect_ret(fdinfo_get(ring.ring_fd, "IotlbResident"), 0);
	expect_ret(ring_register_iotlb(&ring, REGION_PAGES * PG, &region), 0);
	expect_ret(ring_iotlb_map(&ring, 0, 2 * PG, NULL,
				  RING_IOTLB_PERM_READ | RING_IOTLB_PERM_WRITE,
				  0), 0);
	/* One page touched: resident. */
	((volatile unsigned char *)region)[0] = 1;
	expect_ret(fdinfo_get(ring.ring_fd, "IotlbSize"), REGION_PAGES * PG);
	expect_ret(fdinfo_get(ring.ring_fd, "IotlbMapped"), 2);
	expect_ret(fdinfo_get(ring.ring_fd, "IotlbResident"), 1);
	expect_ret(ring_unregister_iotlb(&ring, region, REGION_PAGES * PG), 0);
	expect_ret(fdinfo_get(ring.ring_fd, "IotlbSize"), 0);
	ring_queue_exit(&ring);
	expect_stats(&base, "uncontended fdinfo");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_uncontended),
	cmocka_unit_test(test_map_arg),
	cmocka_unit_test(test_bounce_in),
	cmocka_unit_test(test_buffers_iovec),
};

VMTEST_MAIN(tests)
