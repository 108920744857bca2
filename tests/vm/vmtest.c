// SPDX-License-Identifier: MIT
/* Helpers shared by the VM tests; see vmtest.h. */
#include "vmtest.h"

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#define STATS_DIR "/sys/class/misc/ring/stats/"

const char *ring_dev(void)
{
	const char *dev = getenv("RING_DEV");

	return dev && *dev ? dev : "/dev/ring";
}

void require_ring(void)
{
	if (access(ring_dev(), R_OK | W_OK)) {
		print_message("# SKIP: %s not accessible (run in the VM)\n",
			      ring_dev());
		skip();
	}
}

int dev_open(void)
{
	int fd = open(ring_dev(), O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail_msg("open %s: %s", ring_dev(), strerror(errno));
	return fd;
}

const char *errstr(long v)
{
	if (v >= 0)
		return "success";
	return strerror((int)-v);
}

int raw_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

int raw_setup(int fd, struct ring_params *p)
{
	return raw_ioctl(fd, RING_IOC_SETUP, p);
}

int raw_enter(int fd, unsigned to_submit, unsigned min_complete,
	      unsigned flags)
{
	struct ring_enter e = {
		.to_submit = to_submit,
		.min_complete = min_complete,
		.flags = flags,
	};

	return raw_ioctl(fd, RING_IOC_ENTER, &e);
}

int raw_register(int fd, unsigned opcode, unsigned nr_args, __u64 arg)
{
	struct ring_register reg = {
		.opcode = opcode,
		.nr_args = nr_args,
		.arg = arg,
	};

	return raw_ioctl(fd, RING_IOC_REGISTER, &reg);
}

size_t page_align(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) & ~(pg - 1);
}

size_t ring_sq_ring_size(const struct ring_params *p)
{
	return p->sq_off.array + p->sq_entries * sizeof(__u32);
}

size_t ring_cq_ring_size(const struct ring_params *p)
{
	return p->cq_off.cqes + p->cq_entries * sizeof(struct ring_cqe);
}

int raw_ring_map_try(struct raw_ring *r, int fd, const struct ring_params *p)
{
	size_t sq_sz = ring_sq_ring_size(p), cq_sz = ring_cq_ring_size(p);
	char *base;

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->p = *p;
	/* SINGLE_MMAP: one mapping covers both rings, as liburing maps it. */
	r->rings_len = sq_sz > cq_sz ? sq_sz : cq_sz;
	r->rings = mmap(NULL, r->rings_len, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_POPULATE, fd, RING_OFF_SQ_RING);
	if (r->rings == MAP_FAILED)
		return -errno;
	r->sqes_len = p->sq_entries * sizeof(struct ring_sqe);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, RING_OFF_SQES);
	if (r->sqes == MAP_FAILED) {
		int err = -errno;

		munmap(r->rings, r->rings_len);
		r->rings = NULL;
		return err;
	}

	base = r->rings;
	r->sq_head = (unsigned *)(base + p->sq_off.head);
	r->sq_tail = (unsigned *)(base + p->sq_off.tail);
	r->sq_mask = (unsigned *)(base + p->sq_off.ring_mask);
	r->sq_entries = (unsigned *)(base + p->sq_off.ring_entries);
	r->sq_flags = (unsigned *)(base + p->sq_off.flags);
	r->sq_dropped = (unsigned *)(base + p->sq_off.dropped);
	r->sq_array = (unsigned *)(base + p->sq_off.array);
	r->cq_head = (unsigned *)(base + p->cq_off.head);
	r->cq_tail = (unsigned *)(base + p->cq_off.tail);
	r->cq_mask = (unsigned *)(base + p->cq_off.ring_mask);
	r->cq_entries = (unsigned *)(base + p->cq_off.ring_entries);
	r->cq_overflow = (unsigned *)(base + p->cq_off.overflow);
	r->cqes = (struct ring_cqe *)(base + p->cq_off.cqes);
	r->sqe_tail = __atomic_load_n(r->sq_tail, __ATOMIC_RELAXED);
	return 0;
}

void raw_ring_map(struct raw_ring *r, int fd, const struct ring_params *p)
{
	int ret = raw_ring_map_try(r, fd, p);

	if (ret)
		fail_msg("mmap of the ring (sq %u cq %u): %s", p->sq_entries,
			 p->cq_entries, errstr(ret));
}

void raw_ring_init(struct raw_ring *r, unsigned entries, struct ring_params *p)
{
	struct ring_params def = { .sq_entries = entries };
	int fd, ret;

	if (!p)
		p = &def;
	else
		p->sq_entries = entries;
	fd = dev_open();
	ret = raw_setup(fd, p);
	if (ret)
		fail_msg("SETUP(%u entries): %s", entries, errstr(ret));
	raw_ring_map(r, fd, p);
}

void raw_ring_unmap(struct raw_ring *r)
{
	if (r->rings && r->rings != MAP_FAILED)
		munmap(r->rings, r->rings_len);
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_len);
	r->rings = NULL;
	r->sqes = NULL;
}

void raw_ring_exit(struct raw_ring *r)
{
	raw_ring_unmap(r);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

struct ring_sqe *raw_get_sqe(struct raw_ring *r)
{
	unsigned head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	unsigned mask = r->p.sq_entries - 1;
	unsigned idx;

	if (r->sqe_tail - head >= r->p.sq_entries)
		return NULL;
	idx = r->sqe_tail & mask;
	r->sq_array[idx] = idx;
	r->sqe_tail++;
	memset(&r->sqes[idx], 0, sizeof(r->sqes[idx]));
	return &r->sqes[idx];
}

void raw_prep_nop(struct ring_sqe *sqe, __u64 user_data)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = RING_OP_NOP;
	sqe->fd = -1;		/* as liburing's prep does; ignored by NOP */
	sqe->user_data = user_data;
}

void raw_flush_sq(struct raw_ring *r)
{
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
}

void raw_submit_nops(struct raw_ring *r, unsigned n, __u64 base)
{
	unsigned i;
	int ret;

	for (i = 0; i < n; i++) {
		struct ring_sqe *sqe = raw_get_sqe(r);

		if (!sqe)
			fail_msg("SQ full after %u of %u SQEs", i, n);
		raw_prep_nop(sqe, base + i);
	}
	raw_flush_sq(r);
	ret = raw_enter(r->fd, n, 0, 0);
	if (ret != (int)n)
		fail_msg("ENTER(to_submit=%u): got %d (%s)", n, ret,
			 errstr(ret));
}

unsigned raw_cq_ready(const struct raw_ring *r)
{
	return __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(r->cq_head, __ATOMIC_RELAXED);
}

bool raw_peek_cqe(const struct raw_ring *r, struct ring_cqe *out)
{
	unsigned head = __atomic_load_n(r->cq_head, __ATOMIC_RELAXED);

	if (__atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) == head)
		return false;
	*out = r->cqes[head & (r->p.cq_entries - 1)];
	return true;
}

void raw_cq_advance(struct raw_ring *r, unsigned n)
{
	__atomic_store_n(r->cq_head,
			 __atomic_load_n(r->cq_head, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELEASE);
}

unsigned raw_sq_flags(const struct raw_ring *r)
{
	return __atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE);
}

bool file_write_str(const char *path, const char *val)
{
	FILE *f = fopen(path, "we");
	bool ok;

	if (!f)
		return false;
	ok = fputs(val, f) >= 0;
	return fclose(f) == 0 && ok;
}

long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

bool stats_get(struct ring_stats *s)
{
	s->rings = read_long(STATS_DIR "rings");
	s->requests = read_long(STATS_DIR "requests");
	s->pages = read_long(STATS_DIR "pages");
	s->iotlb_pages = read_long(STATS_DIR "iotlb_pages");
	return s->rings >= 0 && s->requests >= 0 && s->pages >= 0 &&
	       s->iotlb_pages >= 0;
}

bool stats_wait_equal(const struct ring_stats *want, int timeout_ms,
		      struct ring_stats *last)
{
	long long deadline = now_ns() + timeout_ms * 1000000LL;
	struct ring_stats s;

	/* Freeing may be deferred (RCU, workqueues): give it a moment. */
	for (;;) {
		stats_get(&s);
		if (last)
			*last = s;
		if (s.rings == want->rings && s.requests == want->requests &&
		    s.pages == want->pages && s.iotlb_pages == want->iotlb_pages)
			return true;
		if (now_ns() > deadline)
			return false;
		sleep_ms(10);
	}
}

const char *fdinfo_text(int fd)
{
	static char buf[8192];
	char path[64];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

long long fdinfo_get(int fd, const char *key)
{
	const char *text = fdinfo_text(fd), *line;
	size_t klen = strlen(key);

	if (!text)
		return -1;
	for (line = text; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, klen) && line[klen] == ':')
			return strtoll(line + klen + 1, NULL, 0);
	}
	return -1;
}

bool debug_kernel(void)
{
	struct utsname u;

	return !uname(&u) && strstr(u.release, "ringdebug");
}

int settle_ms(void)
{
	return debug_kernel() ? 120000 : 30000;
}

unsigned scaled(unsigned n, unsigned min)
{
	const char *env = getenv("RING_TEST_SCALE");
	double scale = debug_kernel() ? 0.1 : 1.0;
	double v;

	if (env && *env)
		scale = strtod(env, NULL);
	v = n * scale;
	return v < min ? min : (unsigned)v;
}

long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}
