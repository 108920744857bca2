// SPDX-License-Identifier: MIT
/*
 * Fixed buffers over userfaultfd-managed memory. Registering pins the
 * pages, which faults them in; with a userfaultfd on the range those
 * faults go to the user's handler, so REGISTER_BUFFERS must wait for the
 * handler's answer (as any get_user_pages() caller that may drop
 * mmap_lock does) and pin the page the handler provided:
 *   - anonymous memory, UFFDIO_REGISTER_MODE_MISSING, answered with
 *     UFFDIO_COPY of a data pattern;
 *   - memfd (shmem), MODE_MISSING, UFFDIO_COPY;
 *   - memfd, MODE_MINOR (UFFD_FEATURE_MINOR_SHMEM): the page cache is
 *     filled, the handler rewrites each page through a second mapping and
 *     answers with UFFDIO_CONTINUE.
 * Then WRITE_FIXED of the buffer to null_blk (O_DIRECT) or a tmpfs file,
 * read back with pread, must give the handler's data, and every page
 * must have faulted exactly once.
 */
#include "fixedtest.h"

#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#define NPAGES		16

enum uffd_mode { UF_MISSING_ANON, UF_MISSING_SHMEM, UF_MINOR_SHMEM };

static const char *const uf_name[] = {
	"anonymous, MODE_MISSING", "memfd, MODE_MISSING", "memfd, MODE_MINOR",
};

struct handler {
	int uffd;
	enum uffd_mode mode;
	unsigned char *va;		/* the registered range */
	unsigned char *alias;		/* MINOR: the same memfd, no uffd */
	unsigned char *pattern;		/* what each page must become */
	int stop[2];			/* pipe: tell the handler to go */
	unsigned faults[NPAGES];
	unsigned unexpected;
	char err[256];
};

/* Answer page faults until told to stop; no cmocka calls here. */
static void *handler_main(void *arg)
{
	struct handler *h = arg;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = h->uffd, .events = POLLIN },
			{ .fd = h->stop[0], .events = POLLIN },
		};
		struct uffd_msg msg;
		uintptr_t addr;
		unsigned pg;
		ssize_t n;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(h->err, sizeof(h->err), "poll: %s",
				 strerror(errno));
			return NULL;
		}
		if (pfd[1].revents)
			return NULL;
		n = read(h->uffd, &msg, sizeof(msg));
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n != sizeof(msg)) {
			snprintf(h->err, sizeof(h->err), "read uffd: %zd (%s)",
				 n, n < 0 ? strerror(errno) : "short");
			return NULL;
		}
		if (msg.event != UFFD_EVENT_PAGEFAULT) {
			h->unexpected++;
			continue;
		}
		addr = (uintptr_t)msg.arg.pagefault.address & ~(PG - 1);
		pg = (unsigned)((addr - (uintptr_t)h->va) / PG);
		if (addr < (uintptr_t)h->va || pg >= NPAGES) {
			snprintf(h->err, sizeof(h->err), "fault at %#lx outside "
				 "the range", (unsigned long)addr);
			return NULL;
		}
		h->faults[pg]++;
		if (h->mode == UF_MINOR_SHMEM) {
			struct uffdio_continue c = {
				.range = { .start = addr, .len = PG },
			};

			memcpy(h->alias + pg * PG, h->pattern + pg * PG, PG);
			if (ioctl(h->uffd, UFFDIO_CONTINUE, &c) &&
			    errno != EEXIST) {
				snprintf(h->err, sizeof(h->err), "UFFDIO_CONTINUE "
					 "page %u: %s", pg, strerror(errno));
				return NULL;
			}
		} else {
			struct uffdio_copy c = {
				.dst = addr,
				.src = (uintptr_t)(h->pattern + pg * PG),
				.len = PG,
			};

			if (ioctl(h->uffd, UFFDIO_COPY, &c) && errno != EEXIST) {
				snprintf(h->err, sizeof(h->err), "UFFDIO_COPY "
					 "page %u: %s", pg, strerror(errno));
				return NULL;
			}
		}
	}
}

/* A userfaultfd with the features needed, or SKIP with the reason. */
static int uffd_open(enum uffd_mode mode)
{
	__u64 need = mode == UF_MINOR_SHMEM ? UFFD_FEATURE_MINOR_SHMEM :
		     mode == UF_MISSING_SHMEM ? UFFD_FEATURE_MISSING_SHMEM : 0;
	struct uffdio_api api = { .api = UFFD_API };
	int fd, e;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		FIXED_SKIP("userfaultfd(): %s (CONFIG_USERFAULTFD, or "
			   "vm.unprivileged_userfaultfd without root)",
			   strerror(e));
	}
	/* Probe what this kernel offers, then ask for what we need. */
	if (ioctl(fd, UFFDIO_API, &api))
		fail_msg("UFFDIO_API: %s", strerror(errno));
	close(fd);
	if ((api.features & need) != need)
		FIXED_SKIP("this kernel's userfaultfd lacks feature %#llx (%s)",
			   (unsigned long long)need, uf_name[mode]);
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		fail_msg("userfaultfd(): %s", strerror(errno));
	api = (struct uffdio_api){ .api = UFFD_API, .features = need };
	if (ioctl(fd, UFFDIO_API, &api))
		fail_msg("UFFDIO_API with features %#llx: %s",
			 (unsigned long long)need, strerror(errno));
	return fd;
}

static void uffd_buffer(enum uffd_mode mode)
{
	struct ring_stats base;
	struct target t;
	struct handler h;
	struct ring ring;
	struct iovec iov;
	struct uffdio_register reg;
	pthread_t thr;
	unsigned char *got;
	char why[512];
	size_t off, len;
	uint64_t rng;
	long pin0, long_ms;
	long long t0;
	int memfd = -1, ret;
	unsigned i;
	bool nullb;

	require_ring();
	stats_baseline(&base);
	memset(&h, 0, sizeof(h));
	h.mode = mode;
	h.uffd = uffd_open(mode);
	nullb = env_nullb(why, sizeof(why));
	if (nullb)
		target_open(&t, TGT_NULLB, true, 0, NPAGES * PG);
	else
		target_open(&t, TGT_TMPFS, false, 0, NPAGES * PG);
	rng = test_seed(uf_name[mode]);
	h.pattern = xalloc(NPAGES * PG);
	rnd_fill(&rng, h.pattern, NPAGES * PG);
	got = xalloc(NPAGES * PG);

	if (mode == UF_MISSING_ANON) {
		h.va = map_anon(NPAGES * PG);
	} else {
		memfd = memfd_sized("ring-uffd", NPAGES * PG, 0);
		h.va = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE,
			    MAP_SHARED, memfd, 0);
		assert_true(h.va != MAP_FAILED);
	}
	if (mode == UF_MINOR_SHMEM) {
		/* Page cache filled with other data through a second mapping. */
		h.alias = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE,
			       MAP_SHARED, memfd, 0);
		assert_true(h.alias != MAP_FAILED);
		memset(h.alias, 0xee, NPAGES * PG);
	}
	reg = (struct uffdio_register){
		.range = { .start = (uintptr_t)h.va, .len = NPAGES * PG },
		.mode = mode == UF_MINOR_SHMEM ? UFFDIO_REGISTER_MODE_MINOR :
						 UFFDIO_REGISTER_MODE_MISSING,
	};
	if (ioctl(h.uffd, UFFDIO_REGISTER, &reg))
		fail_msg("UFFDIO_REGISTER %s: %s", uf_name[mode], strerror(errno));
	assert_int_equal(pipe2(h.stop, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&thr, NULL, handler_main, &h), 0);

	/* Not page aligned at either end: all NPAGES pages are touched. */
	iov = (struct iovec){ h.va + 512, NPAGES * PG - 1024 };
	pin0 = vmpin_pages();
	ring_init_or_fail(&ring, 4);
	t0 = now_ns();
	ret = ring_register_buffers(&ring, &iov, 1);
	long_ms = (long)((now_ns() - t0) / 1000000);
	assert_int_equal(write(h.stop[1], "x", 1), 1);
	pthread_join(thr, NULL);
	if (h.err[0])
		fail_msg("%s: fault handler: %s", uf_name[mode], h.err);
	expect_ret_msg(ret, 0, "%s: REGISTER_BUFFERS over userfaultfd memory "
		       "(%u faults answered, %ld ms)", uf_name[mode],
		       h.faults[0], long_ms);
	for (i = 0; i < NPAGES; i++)
		if (h.faults[i] != 1)
			fail_msg("%s: page %u faulted %u times, expected once",
				 uf_name[mode], i, h.faults[i]);
	expect_bufs(ring.ring_fd, 1, NPAGES, NPAGES, pin0, uf_name[mode]);
	expect_same(h.va, h.pattern, NPAGES * PG, "%s: the memory as the "
		    "process sees it", uf_name[mode]);

	/* The pinned pages are the handler's. */
	off = 512;
	len = NPAGES * PG - 1024;
	expect_ret_msg(fixed_io(&ring, RING_OP_WRITE_FIXED, t.fd, h.va + off,
				len, 0, 0), len, "%s: WRITE_FIXED to %s",
		       uf_name[mode], t.name);
	xpread(t.fd, got, len, 0);
	expect_same(got, h.pattern + off, len, "%s: %s after WRITE_FIXED",
		    uf_name[mode], t.name);
	/* And the process's pages: a read lands where it looks. */
	rnd_fill(&rng, got, len);
	xpwrite(t.fd, got, len, 0);
	expect_ret_msg(fixed_io(&ring, RING_OP_READ_FIXED, t.fd, h.va + off, len,
				0, 0), len, "%s: READ_FIXED", uf_name[mode]);
	expect_same(h.va + off, got, len, "%s: memory after READ_FIXED",
		    uf_name[mode]);
	if (h.unexpected)
		fail_msg("%s: %u unexpected userfaultfd events", uf_name[mode],
			 h.unexpected);

	expect_ret(ring_unregister_buffers(&ring), 0);
	expect_no_bufs(ring.ring_fd, pin0, uf_name[mode]);
	ring_queue_exit(&ring);
	close(h.stop[0]);
	close(h.stop[1]);
	close(h.uffd);
	munmap(h.va, NPAGES * PG);
	if (h.alias)
		munmap(h.alias, NPAGES * PG);
	if (memfd >= 0)
		close(memfd);
	free(h.pattern);
	free(got);
	target_close(&t);
	expect_stats(&base, uf_name[mode]);
}

static void test_uffd_missing_anon(void **state)
{
	uffd_buffer(UF_MISSING_ANON);
}

static void test_uffd_missing_shmem(void **state)
{
	uffd_buffer(UF_MISSING_SHMEM);
}

static void test_uffd_minor_shmem(void **state)
{
	uffd_buffer(UF_MINOR_SHMEM);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_uffd_missing_anon),
	cmocka_unit_test(test_uffd_missing_shmem),
	cmocka_unit_test(test_uffd_minor_shmem),
};

VMTEST_MAIN(tests)
