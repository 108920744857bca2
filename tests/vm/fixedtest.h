/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the fixed-buffer VM tests (test_fixed*.c): pinned-page
 * accounting as /proc shows it (VmPin) next to the ring's fdinfo
 * (BufferSlots, PinnedPages, BufferBvecs), mappings laid out page by page,
 * one-shot READ_FIXED/WRITE_FIXED, huge page reservation, a forked child
 * whose checks report back through shared memory (a child must never call
 * cmocka's fail()), and in such a child: RLIMIT_MEMLOCK, CAP_IPC_LOCK and
 * the drop to nobody.
 *
 * Everything is static inline: each test program uses a different part.
 */
#ifndef FIXEDTEST_H
#define FIXEDTEST_H

#include "iotest.h"

#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/capability.h>

#define PG		4096UL
#define HPAGE		(2UL << 20)

/* Pages [addr, addr + len) touches: what one registered buffer pins. */
static inline unsigned long span_pages(const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;

	return (a + len + PG - 1) / PG - a / PG;
}

/* VmPin: of /proc/self/status in pages, or -1. */
static inline long vmpin_pages_try(void)
{
	long kb = self_status_kb("VmPin");

	return kb < 0 ? -1 : kb / (long)(PG / 1024);
}

static inline long vmpin_pages(void)
{
	long v = vmpin_pages_try();

	if (v < 0)
		fail_msg("no VmPin line in /proc/self/status");
	return v;
}

/*
 * fdinfo reports slots, pinned pages and bvecs (bvecs < 0: not checked)
 * and VmPin is pin_base + pages. pages < 0: not known in advance (memory
 * that may or may not be in huge pages), fdinfo and VmPin agree.
 */
static inline void expect_bufs(int ring_fd, long slots, long pages, long bvecs,
			       long pin_base, const char *what)
{
	long long s = fdinfo_get(ring_fd, "BufferSlots");
	long long p = fdinfo_get(ring_fd, "PinnedPages");
	long long b = fdinfo_get(ring_fd, "BufferBvecs");
	long pin = vmpin_pages();

	if (pages < 0)
		pages = (long)p;
	if (s != slots || p != pages || (bvecs >= 0 && b != bvecs) ||
	    pin != pin_base + pages)
		fail_msg("%s: fdinfo BufferSlots %lld PinnedPages %lld "
			 "BufferBvecs %lld, VmPin +%ld pages; expected %ld, %ld, "
			 "%ld, +%ld", what, s, p, b, pin - pin_base, slots, pages,
			 bvecs, pages);
}

/* Nothing registered and VmPin back at pin_base. */
static inline void expect_no_bufs(int ring_fd, long pin_base, const char *what)
{
	expect_bufs(ring_fd, 0, 0, 0, pin_base, what);
}

/*
 * What buffers entirely in 2 MiB huge pages (a 2 MiB aligned mapping of
 * them, in VA order as the memory is) are charged, in 4 KiB pages: every
 * huge page any of them touches, whole, once.
 */
static inline long huge_charge_pages(const struct iovec *iov, unsigned n)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0, h;
	unsigned char *seen;
	long huge = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		uintptr_t a = (uintptr_t)iov[i].iov_base;

		if (a / HPAGE < lo)
			lo = a / HPAGE;
		if ((a + iov[i].iov_len - 1) / HPAGE > hi)
			hi = (a + iov[i].iov_len - 1) / HPAGE;
	}
	if (!n)
		return 0;
	seen = calloc(hi - lo + 1, 1);
	if (!seen)
		fail_msg("calloc %zu", (size_t)(hi - lo + 1));
	for (i = 0; i < n; i++) {
		uintptr_t a = (uintptr_t)iov[i].iov_base;

		for (h = a / HPAGE; h <= (a + iov[i].iov_len - 1) / HPAGE; h++)
			if (!seen[h - lo]++)
				huge++;
	}
	free(seen);
	return huge * (long)(HPAGE / PG);
}

/* An anonymous private mapping, 4 KiB pages only (no THP: exact bvecs). */
static inline void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail_msg("mmap %zu anonymous: %s", len, strerror(errno));
	if (madvise(p, len, MADV_NOHUGEPAGE))
		fail_msg("madvise NOHUGEPAGE: %s", strerror(errno));
	return p;
}

/* PROT_NONE address space of len bytes aligned to align (a power of 2). */
static inline void *map_reserve(size_t len, size_t align)
{
	size_t total = len + align;
	char *p = mmap(NULL, total, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == (char *)MAP_FAILED)
		fail_msg("mmap reserve %zu: %s", total, strerror(errno));
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + total > a + len)
		munmap((void *)(a + len), (uintptr_t)p + total - (a + len));
	return (void *)a;
}

/* Map fd at off over exactly [addr, addr + len). */
static inline void map_fixed_fd(void *addr, size_t len, int fd, off_t off,
				int prot, int flags)
{
	void *p = mmap(addr, len, prot, flags | MAP_FIXED, fd, off);

	if (p != addr)
		fail_msg("mmap MAP_FIXED %p +%zu of fd %d at %lld: %s", addr,
			 len, fd, (long long)off, strerror(errno));
}

static inline int memfd_sized(const char *name, size_t size, unsigned flags)
{
	int fd = memfd_create(name, MFD_CLOEXEC | flags);

	if (fd < 0)
		fail_msg("memfd_create %s: %s", name, strerror(errno));
	if (ftruncate(fd, (off_t)size))
		fail_msg("ftruncate memfd %s to %zu: %s", name, size,
			 strerror(errno));
	return fd;
}

/* One READ_FIXED/WRITE_FIXED (op) through run_one: its CQE res. */
static inline int fixed_io(struct ring *ring, int op, int fd, const void *addr,
			   unsigned len, __u64 off, unsigned buf_index)
{
	struct ring_sqe s;

	ring_prep_rw(op, &s, fd, addr, len, off);
	s.buf_index = (__u16)buf_index;
	s.user_data = 0xf1ed000000ULL | op;
	return run_one(ring, &s);
}

static inline void xpwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t r = pwrite(fd, buf, len, off);

	if (r != (ssize_t)len)
		fail_msg("pwrite %zu at %lld: %zd (%s)", len, (long long)off, r,
			 r < 0 ? strerror(errno) : "short");
}

static inline void xpread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t r = pread(fd, buf, len, off);

	if (r != (ssize_t)len)
		fail_msg("pread %zu at %lld: %zd (%s)", len, (long long)off, r,
			 r < 0 ? strerror(errno) : "short");
}

/* First differing byte of a and b, or -1. */
static inline long first_diff(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	if (!memcmp(a, b, len))
		return -1;
	for (i = 0; i < len && x[i] == y[i]; i++)
		;
	return (long)i;
}

#define expect_same(got, want, len, fmt, ...) do {			\
	long __d = first_diff((got), (want), (len));			\
	if (__d >= 0)							\
		fail_msg(fmt ": byte %ld of %zu differs (0x%02x, expected "\
			 "0x%02x)", ##__VA_ARGS__, __d, (size_t)(len),	\
			 ((const unsigned char *)(got))[__d],		\
			 ((const unsigned char *)(want))[__d]);		\
} while (0)

#define FIXED_SKIP(...) do {						\
	print_message("# SKIP: " __VA_ARGS__);				\
	print_message("\n");						\
	skip();								\
} while (0)

/* ---- huge pages ------------------------------------------------------- */

static long hugetlb_saved = -1;

static inline bool write_sysctl_long(const char *path, long v)
{
	FILE *f = fopen(path, "we");
	bool ok;

	if (!f)
		return false;
	ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok;
}

#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

static inline void hugetlb_restore(void)
{
	if (hugetlb_saved >= 0)
		write_sysctl_long(NR_HUGEPAGES, hugetlb_saved);
	hugetlb_saved = -1;
}

/*
 * At least n free 2 MiB hugetlb pages, reserving more if needed (undone by
 * hugetlb_restore); false with the reason if the kernel cannot.
 */
static inline bool hugetlb_reserve(long n, char *why, size_t len)
{
	long total, free_now;

	if (!env_vm(why, len))
		return false;
	if (meminfo_kb("Hugepagesize") != 2048) {
		snprintf(why, len, "default huge page size is %ld kB, not 2048",
			 meminfo_kb("Hugepagesize"));
		return false;
	}
	total = read_long(NR_HUGEPAGES);
	free_now = meminfo_kb("HugePages_Free");
	if (total < 0 || free_now < 0) {
		snprintf(why, len, "no hugetlb support (%s, HugePages_Free)",
			 NR_HUGEPAGES);
		return false;
	}
	if (free_now >= n)
		return true;
	if (hugetlb_saved < 0) {
		static bool registered;

		/* Also when a failing test never gets to hugetlb_restore(). */
		if (!registered)
			atexit(hugetlb_restore);
		registered = true;
		hugetlb_saved = total;
	}
	if (!write_sysctl_long(NR_HUGEPAGES, total + n - free_now)) {
		snprintf(why, len, "writing %s: %s", NR_HUGEPAGES,
			 strerror(errno));
		hugetlb_restore();
		return false;
	}
	free_now = meminfo_kb("HugePages_Free");
	if (free_now < n) {
		snprintf(why, len, "only %ld of %ld free 2 MiB huge pages after "
			 "echo %ld > %s (memory too fragmented or too small)",
			 free_now, n, total + n - free_now, NR_HUGEPAGES);
		hugetlb_restore();
		return false;
	}
	return true;
}

/* ---- a checked child process ------------------------------------------ */

struct child_report {
	char msg[2048];
	char note[1024];	/* printed by the parent as a TAP comment */
};

static struct child_report *child_rep;

/* In a child: record the failure and exit 1 (never cmocka's fail()). */
#define CHILD_CHECK(cond, fmt, ...) do {				\
	if (!(cond)) {							\
		snprintf(child_rep->msg, sizeof(child_rep->msg),	\
			 "line %d: " fmt, __LINE__, ##__VA_ARGS__);	\
		_exit(1);						\
	}								\
} while (0)

#define CHILD_EXPECT(expr, want, fmt, ...) do {				\
	long __g = (long)(expr), __w = (long)(want);			\
	CHILD_CHECK(__g == __w, fmt ": got %ld (%s), expected %ld (%s)",\
		    ##__VA_ARGS__, __g, errstr(__g), __w, errstr(__w));	\
} while (0)

static inline struct child_report *child_report_new(void)
{
	struct child_report *rep = mmap(NULL, sizeof(*rep),
					PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (rep == MAP_FAILED)
		fail_msg("mmap shared: %s", strerror(errno));
	return rep;
}

/* Start fn(arg) in a child reporting into rep; its pid. */
static inline pid_t spawn_child(void (*fn)(void *), void *arg,
				struct child_report *rep)
{
	pid_t pid;

	memset(rep, 0, sizeof(*rep));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (!pid) {
		child_rep = rep;
		fn(arg);
		_exit(0);
	}
	return pid;
}

/* Wait for a spawned child; fail the test with its message. */
static inline void wait_child(pid_t pid, struct child_report *rep,
			      const char *what)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		fail_msg("waitpid: %s", strerror(errno));
	if (rep->note[0])
		print_message("# %s: %s\n", what, rep->note);
	if (WIFSIGNALED(st))
		fail_msg("%s: child killed by signal %d (%s)", what,
			 WTERMSIG(st), rep->msg);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("%s: %s", what, rep->msg[0] ? rep->msg :
			 "child failed without a message");
}

/* Run fn(arg) in a forked child and wait for it. */
static inline void run_child(void (*fn)(void *), void *arg, const char *what)
{
	static struct child_report *rep;

	if (!rep)
		rep = child_report_new();
	wait_child(spawn_child(fn, arg, rep), rep, what);
}

/* ---- users, limits, capabilities: in a child (CHILD_CHECK) ------------- */

#define NOBODY		65534

static inline void set_memlock(unsigned long pages)
{
	struct rlimit rl = { pages * PG, pages * PG };

	CHILD_CHECK(!setrlimit(RLIMIT_MEMLOCK, &rl), "setrlimit MEMLOCK: %s",
		    strerror(errno));
}

static inline bool has_ipc_lock(bool permitted)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	CHILD_CHECK(!syscall(SYS_capget, &h, d), "capget: %s", strerror(errno));
	return (permitted ? d[0].permitted : d[0].effective) &
	       (1U << CAP_IPC_LOCK);
}

/*
 * Become nobody, without CAP_IPC_LOCK: from here on every pinned page is
 * charged to nobody's locked memory against RLIMIT_MEMLOCK (set it first:
 * nobody cannot raise it). /dev/ring is root's: open it before.
 */
static inline void drop_to_nobody(void)
{
	CHILD_CHECK(!setgroups(0, NULL), "setgroups: %s", strerror(errno));
	CHILD_CHECK(!setresgid(NOBODY, NOBODY, NOBODY), "setresgid: %s",
		    strerror(errno));
	CHILD_CHECK(!setresuid(NOBODY, NOBODY, NOBODY), "setresuid: %s",
		    strerror(errno));
	/* Back to owning our /proc files (fdinfo is 0500). */
	CHILD_CHECK(!prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "PR_SET_DUMPABLE: %s",
		    strerror(errno));
	CHILD_CHECK(getuid() == NOBODY && geteuid() == NOBODY, "still uid %d",
		    (int)geteuid());
	CHILD_CHECK(!has_ipc_lock(false) && !has_ipc_lock(true),
		    "nobody has CAP_IPC_LOCK");
}

#endif /* FIXEDTEST_H */
