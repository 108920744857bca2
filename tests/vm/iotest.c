// SPDX-License-Identifier: MIT
/* Helpers for the VM I/O tests; see iotest.h. */
#include "iotest.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mount.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

/* ---- randomness ------------------------------------------------------ */

uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

unsigned rnd_below(uint64_t *s, unsigned n)
{
	return (unsigned)((rnd_next(s) >> 32) % n);
}

void rnd_fill(uint64_t *s, void *buf, size_t len)
{
	unsigned char *p = buf;
	uint64_t v;

	while (len >= 8) {
		v = rnd_next(s);
		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len) {
		v = rnd_next(s);
		memcpy(p, &v, len);
	}
}

uint64_t test_seed(const char *what)
{
	const char *env = getenv("RING_TEST_SEED");
	uint64_t seed;

	if (env && *env)
		seed = strtoull(env, NULL, 0);
	else
		seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
	if (!seed)
		seed = 1;
	print_message("# %s: seed 0x%llx (RING_TEST_SEED to repeat)\n", what,
		      (unsigned long long)seed);
	return seed;
}

void *xalloc(size_t size)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, size ? size : 1))
		fail_msg("posix_memalign(%zu) failed", size);
	return p;
}

/* ---- environment ----------------------------------------------------- */

/*
 * Run a shell command, output (stdout+stderr) into out; the exit status.
 * The sbin directories are added because PATH comes from the host user.
 */
static int run_cmd(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[1024], full[1200];
	size_t n = 0;
	va_list ap;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full),
		 "PATH=/usr/sbin:/sbin:/usr/bin:/bin:$PATH; exec 2>&1; %s", cmd);
	out[0] = 0;
	f = popen(full, "r");
	if (!f) {
		snprintf(out, outlen, "popen: %s", strerror(errno));
		return -1;
	}
	while (n + 1 < outlen) {
		size_t got = fread(out + n, 1, outlen - 1 - n, f);

		if (!got)
			break;
		n += got;
	}
	out[n] = 0;
	/* Drain what did not fit so the command is not killed by SIGPIPE. */
	while (fgetc(f) != EOF)
		;
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = 0;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

bool env_vm(char *why, size_t len)
{
	const char *vm = getenv("RING_VM");

	if (!vm || strcmp(vm, "1")) {
		snprintf(why, len, "block devices and mounts are only set up "
			 "inside the test VM (RING_VM=1)");
		return false;
	}
	if (geteuid()) {
		snprintf(why, len, "needs root");
		return false;
	}
	return true;
}

static bool wait_path(const char *path, int ms)
{
	long long deadline = now_ns() + ms * 1000000LL;

	while (access(path, F_OK)) {
		if (now_ns() > deadline)
			return false;
		sleep_ms(20);
	}
	return true;
}

static char ext4_mnt[64], ext4_img[64], ext4_loop[64];
static bool ext4_done, ext4_ok, ext4_mounted;
static char ext4_why[512];

static void ext4_teardown(void)
{
	char out[256];

	if (ext4_mounted)
		run_cmd(out, sizeof(out), "umount %s", ext4_mnt);
	if (ext4_loop[0])
		run_cmd(out, sizeof(out), "losetup -d %s", ext4_loop);
	if (ext4_img[0])
		unlink(ext4_img);
	if (ext4_mnt[0])
		rmdir(ext4_mnt);
}

static bool ext4_setup(void)
{
	char out[256];
	int fd;

	if (!env_vm(ext4_why, sizeof(ext4_why)))
		return false;
	snprintf(ext4_img, sizeof(ext4_img), "/tmp/ring-ext4-%d.img", getpid());
	snprintf(ext4_mnt, sizeof(ext4_mnt), "/tmp/ring-ext4-%d", getpid());
	atexit(ext4_teardown);
	fd = open(ext4_img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 64 << 20)) {
		snprintf(ext4_why, sizeof(ext4_why), "cannot create %s: %s",
			 ext4_img, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	if (run_cmd(out, sizeof(out), "command -v mkfs.ext4 && command -v losetup")) {
		snprintf(ext4_why, sizeof(ext4_why),
			 "mkfs.ext4 or losetup missing (e2fsprogs, mount)");
		return false;
	}
	if (run_cmd(out, sizeof(out), "mkfs.ext4 -q -F -b 4096 %s", ext4_img)) {
		snprintf(ext4_why, sizeof(ext4_why), "mkfs.ext4 failed: %s", out);
		return false;
	}
	/* loop and ext4 are modules on Debian's kernels, built in on debug. */
	run_cmd(out, sizeof(out), "modprobe loop; modprobe ext4");
	if (!wait_path("/dev/loop-control", 2000)) {
		snprintf(ext4_why, sizeof(ext4_why),
			 "no loop device support (/dev/loop-control missing)");
		return false;
	}
	if (run_cmd(out, sizeof(out), "losetup -f --show %s", ext4_img) ||
	    strncmp(out, "/dev/", 5) || strlen(out) >= sizeof(ext4_loop)) {
		snprintf(ext4_why, sizeof(ext4_why), "losetup failed: %s", out);
		return false;
	}
	memcpy(ext4_loop, out, strlen(out) + 1);
	if (mkdir(ext4_mnt, 0700)) {
		snprintf(ext4_why, sizeof(ext4_why), "mkdir %s: %s", ext4_mnt,
			 strerror(errno));
		return false;
	}
	if (run_cmd(out, sizeof(out), "mount -t ext4 %s %s", ext4_loop,
		    ext4_mnt)) {
		snprintf(ext4_why, sizeof(ext4_why), "mount -t ext4 failed: %s",
			 out);
		return false;
	}
	ext4_mounted = true;
	return true;
}

bool env_ext4(const char **mnt, char *why, size_t len)
{
	if (!ext4_done) {
		ext4_done = true;
		ext4_ok = ext4_setup();
	}
	if (!ext4_ok)
		snprintf(why, len, "ext4 on loop: %s", ext4_why);
	*mnt = ext4_mnt;
	return ext4_ok;
}

/* A module parameter's first character ("Y"/"N" for bools), or 0. */
static char module_param(const char *mod, const char *param)
{
	char path[256];
	char c = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", mod, param);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fread(&c, 1, 1, f) != 1)
		c = 0;
	fclose(f);
	return c;
}

bool env_nullb(char *why, size_t len)
{
	char out[512];
	char mb;

	if (!env_vm(why, len))
		return false;
	if (access("/sys/module/null_blk", F_OK) &&
	    run_cmd(out, sizeof(out),
		    "modprobe null_blk nr_devices=1 gb=1 bs=512 queue_mode=2 "
		    "irqmode=2 completion_nsec=20000 memory_backed=1 "
		    "poll_queues=1")) {
		snprintf(why, len, "modprobe null_blk failed: %s", out);
		return false;
	}
	if (!wait_path("/dev/nullb0", 5000)) {
		snprintf(why, len, "null_blk loaded but /dev/nullb0 missing");
		return false;
	}
	mb = module_param("null_blk", "memory_backed");
	if (mb != 'Y' && mb != '1') {
		snprintf(why, len, "null_blk is loaded without memory_backed=1: "
			 "data would not be kept");
		return false;
	}
	return true;
}

bool env_brd(char *why, size_t len)
{
	char out[512];

	if (!env_vm(why, len))
		return false;
	if (access("/sys/module/brd", F_OK) &&
	    run_cmd(out, sizeof(out), "modprobe brd rd_nr=1 rd_size=65536")) {
		snprintf(why, len, "modprobe brd failed: %s", out);
		return false;
	}
	if (!wait_path("/dev/ram0", 5000)) {
		snprintf(why, len, "brd loaded but /dev/ram0 missing");
		return false;
	}
	return true;
}

/* ---- targets --------------------------------------------------------- */

#define SKIP_BECAUSE(...) do {						\
	print_message("# SKIP: " __VA_ARGS__);				\
	print_message("\n");						\
	skip();								\
} while (0)

static const char *kind_name(enum tgt_kind k)
{
	switch (k) {
	case TGT_TMPFS: return "tmpfs file";
	case TGT_EXT4: return "ext4 file on loop";
	case TGT_NULLB: return "null_blk";
	case TGT_BRD: return "brd";
	}
	return "?";
}

void target_open(struct target *t, enum tgt_kind kind, bool direct,
		 off_t base, size_t size)
{
	char why[600];
	const char *dir = "/tmp", *mnt;
	int flags = O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0);

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->kind = kind;
	t->direct = direct;
	t->align = direct ? IO_ALIGN_DIRECT : 1;
	t->base = base;
	t->size = size;
	snprintf(t->name, sizeof(t->name), "%s%s", kind_name(kind),
		 direct ? " (O_DIRECT)" : " (buffered)");

	switch (kind) {
	case TGT_EXT4:
		if (!env_ext4(&mnt, why, sizeof(why)))
			SKIP_BECAUSE("%s", why);
		dir = mnt;
		/* fall through */
	case TGT_TMPFS: {
		struct statfs sfs;
		int fd;

		if (kind == TGT_TMPFS &&
		    (statfs("/tmp", &sfs) || sfs.f_type != TMPFS_MAGIC))
			SKIP_BECAUSE("/tmp is not tmpfs (run in the test VM)");
		if (kind == TGT_TMPFS && direct)
			fail_msg("O_DIRECT on tmpfs is not a target here");
		snprintf(t->path, sizeof(t->path), "%s/ring-io-XXXXXX", dir);
		fd = mkostemp(t->path, O_CLOEXEC);
		if (fd < 0)
			fail_msg("mkstemp in %s: %s", dir, strerror(errno));
		t->created = true;
		if (ftruncate(fd, base + (off_t)size))
			fail_msg("ftruncate %s: %s", t->path, strerror(errno));
		close(fd);
		t->fd = open(t->path, flags);
		if (t->fd < 0)
			fail_msg("open %s%s: %s", t->path,
				 direct ? " O_DIRECT" : "", strerror(errno));
		break;
	}
	case TGT_NULLB:
	case TGT_BRD: {
		bool ok = kind == TGT_NULLB ? env_nullb(why, sizeof(why)) :
					      env_brd(why, sizeof(why));

		if (!ok)
			SKIP_BECAUSE("%s", why);
		snprintf(t->path, sizeof(t->path), "%s",
			 kind == TGT_NULLB ? "/dev/nullb0" : "/dev/ram0");
		t->blockdev = true;
		t->fd = open(t->path, flags);
		if (t->fd < 0)
			fail_msg("open %s: %s", t->path, strerror(errno));
		if (ioctl(t->fd, BLKGETSIZE64, &t->dev_size))
			fail_msg("BLKGETSIZE64 %s: %s", t->path, strerror(errno));
		if (t->dev_size < (unsigned long long)base + size) {
			close(t->fd);
			t->fd = -1;
			SKIP_BECAUSE("%s has %llu bytes, the test needs %llu",
				     t->path, t->dev_size,
				     (unsigned long long)base + size);
		}
		break;
	}
	}
}

int target_reopen(const struct target *t, int flags)
{
	int fd = open(t->path, flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

void target_fill(struct target *t, unsigned char *shadow, uint64_t *rng)
{
	size_t chunk = 1 << 20, done = 0;
	unsigned char *buf = xalloc(chunk);

	rnd_fill(rng, shadow, t->size);
	while (done < t->size) {
		size_t n = t->size - done < chunk ? t->size - done : chunk;
		ssize_t w;

		memcpy(buf, shadow + done, n);
		w = pwrite(t->fd, buf, n, t->base + done);
		if (w != (ssize_t)n)
			fail_msg("%s: pwrite %zu at %lld: %zd (%s)", t->name, n,
				 (long long)(t->base + done), w,
				 strerror(errno));
		done += n;
	}
	free(buf);
}

int target_verify(const struct target *t, const unsigned char *shadow,
		  char *msg, size_t msglen)
{
	size_t chunk = 1 << 20, done = 0;
	unsigned char *buf;
	int ret = 0;

	if (posix_memalign((void **)&buf, 4096, chunk)) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	while (done < t->size && !ret) {
		size_t n = t->size - done < chunk ? t->size - done : chunk, i;
		ssize_t r = pread(t->fd, buf, n, t->base + done);

		if (r != (ssize_t)n) {
			snprintf(msg, msglen, "%s: pread %zu at %lld: %zd (%s)",
				 t->name, n, (long long)(t->base + done), r,
				 r < 0 ? strerror(errno) : "short");
			ret = -1;
			break;
		}
		if (memcmp(buf, shadow + done, n)) {
			for (i = 0; buf[i] == shadow[done + i]; i++)
				;
			snprintf(msg, msglen,
				 "%s: pread cross-check: byte at %lld is 0x%02x, "
				 "expected 0x%02x", t->name,
				 (long long)(t->base + done + i), buf[i],
				 shadow[done + i]);
			ret = -1;
		}
		done += n;
	}
	free(buf);
	return ret;
}

void target_close(struct target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->created)
		unlink(t->path);
	t->created = false;
}

/* ---- completions ----------------------------------------------------- */

int io_timeout_ms(void)
{
	return settle_ms();
}

int reap(struct ring *ring, struct ring_cqe *out, unsigned n, int timeout_ms)
{
	long long deadline = now_ns() + timeout_ms * 1000000LL;
	unsigned got = 0;

	while (got < n) {
		struct ring_cqe *cqe;
		struct pollfd pfd = { .fd = ring->ring_fd, .events = POLLIN };
		long long left;
		int ret;

		ret = ring_peek_cqe(ring, &cqe);
		if (!ret) {
			out[got++] = *cqe;
			ring_cqe_seen(ring, cqe);
			continue;
		}
		if (ret != -EAGAIN)
			return ret;
		left = (deadline - now_ns()) / 1000000;
		if (left <= 0)
			break;
		ret = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
	return got;
}

void submit_reap(struct ring *ring, struct ring_cqe *out, unsigned n)
{
	unsigned queued = ring_sq_ready(ring);
	int ret = ring_submit(ring);

	if (ret != (int)queued)
		fail_msg("ring_submit of %u SQEs: %d (%s)", queued, ret,
			 errstr(ret));
	ret = reap(ring, out, n, io_timeout_ms());
	if (ret < 0)
		fail_msg("waiting for %u CQEs: %s", n, errstr(ret));
	if (ret != (int)n)
		fail_msg("only %d of %u CQEs within %d ms (Inflight %lld)", ret,
			 n, io_timeout_ms(), fdinfo_get(ring->ring_fd, "Inflight"));
}

int run_one(struct ring *ring, const struct ring_sqe *tmpl)
{
	struct ring_sqe *sqe = ring_get_sqe(ring);
	struct ring_cqe cqe;

	if (!sqe)
		fail_msg("SQ ring full");
	*sqe = *tmpl;
	submit_reap(ring, &cqe, 1);
	if (cqe.user_data != tmpl->user_data)
		fail_msg("opcode %u: CQE user_data 0x%llx (res %d), expected "
			 "0x%llx", tmpl->opcode, (unsigned long long)cqe.user_data,
			 cqe.res, (unsigned long long)tmpl->user_data);
	/* One request, one CQE: a second one would be a double completion. */
	if (ring_cq_ready(ring) || ring_cq_has_overflow(ring)) {
		struct ring_cqe *extra;

		ring_peek_cqe(ring, &extra);
		fail_msg("opcode %u user_data 0x%llx: res %d, then an extra CQE "
			 "(user_data 0x%llx res %d)", tmpl->opcode,
			 (unsigned long long)tmpl->user_data, cqe.res,
			 extra ? (unsigned long long)extra->user_data : 0ULL,
			 extra ? extra->res : 0);
	}
	return cqe.res;
}

void ring_init_or_fail(struct ring *ring, unsigned entries)
{
	int ret = ring_queue_init(entries, ring, 0);

	if (ret)
		fail_msg("ring_queue_init(%u): %s", entries, errstr(ret));
}

/* ---- leak checks ----------------------------------------------------- */

void stats_baseline(struct ring_stats *base)
{
	if (!stats_get(base))
		fail_msg("/sys/class/misc/ring/stats/{rings,requests,pages} missing");
}

void expect_stats(const struct ring_stats *base, const char *what)
{
	struct ring_stats now;

	if (!stats_wait_equal(base, settle_ms(), &now))
		fail_msg("%s: stats rings %ld requests %ld pages %ld iotlb_pages "
			 "%ld, baseline %ld %ld %ld %ld", what, now.rings,
			 now.requests, now.pages, now.iotlb_pages, base->rings,
			 base->requests, base->pages, base->iotlb_pages);
}

void expect_no_requests(const struct ring_stats *base, const char *what)
{
	long long deadline = now_ns() + settle_ms() * 1000000LL;
	struct ring_stats now;

	for (;;) {
		stats_get(&now);
		if (now.requests == base->requests)
			return;
		if (now_ns() > deadline)
			fail_msg("%s: %ld live requests, baseline %ld", what,
				 now.requests, base->requests);
		sleep_ms(10);
	}
}

void expect_inflight0(const struct ring *ring, const char *what)
{
	long long deadline = now_ns() + settle_ms() * 1000000LL;
	long long v;

	/*
	 * The count may drop just after the CQE is posted (a worker posts,
	 * then finishes): allow a moment, a leak stays.
	 */
	while ((v = fdinfo_get(ring->ring_fd, "Inflight")) != 0) {
		if (now_ns() > deadline)
			fail_msg("%s: fdinfo Inflight %lld after reaping "
				 "everything", what, v);
		sleep_ms(5);
	}
}

/* ---- the engine ------------------------------------------------------ */

#define POISON 0xa5

static int eng_fail(struct io_engine *e, const char *fmt, ...)
{
	int n = snprintf(e->err, sizeof(e->err), "%s: ", e->t->name);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->err + n, sizeof(e->err) - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int eng_ring_up(struct io_engine *e)
{
	int ret = ring_queue_init(e->max_qd, &e->ring, 0);

	if (ret)
		return eng_fail(e, "ring_queue_init(%u): %s", e->max_qd,
				errstr(ret));
	e->ring_up = true;
	return 0;
}

int eng_init(struct io_engine *e, struct target *t, unsigned char *shadow,
	     uint64_t seed, unsigned max_qd, size_t max_io)
{
	unsigned i, slots;

	memset(e, 0, sizeof(*e));
	e->t = t;
	e->shadow = shadow;
	e->rng = seed ? seed : 1;
	e->max_qd = max_qd;
	e->max_io = max_io;
	/* Room for the data, gaps between segments and a misaligned start. */
	e->bufsz = 2 * max_io + IO_MAX_SEGS * IO_ALIGN_DIRECT + 4096;
	e->vec_pct = 50;
	e->read_pct = 50;
	e->timeout_ms = io_timeout_ms();
	slots = t->size / max_io;
	if (t->size % max_io || max_io % t->align || slots < max_qd)
		return eng_fail(e, "bad geometry: size %zu, max_io %zu, qd %u",
				t->size, max_io, max_qd);
	e->reqs = calloc(max_qd, sizeof(*e->reqs));
	e->perm = calloc(slots, sizeof(*e->perm));
	if (!e->reqs || !e->perm ||
	    posix_memalign((void **)&e->scratch, 4096, max_qd * max_io))
		return eng_fail(e, "out of memory");
	for (i = 0; i < slots; i++)
		e->perm[i] = i;
	for (i = 0; i < max_qd; i++)
		if (posix_memalign((void **)&e->reqs[i].buf, 4096, e->bufsz))
			return eng_fail(e, "out of memory");
	return eng_ring_up(e);
}

void eng_close_ring(struct io_engine *e)
{
	if (e->ring_up)
		ring_queue_exit(&e->ring);
	e->ring_up = false;
}

void eng_exit(struct io_engine *e)
{
	unsigned i;

	eng_close_ring(e);
	if (e->reqs)
		for (i = 0; i < e->max_qd; i++)
			free(e->reqs[i].buf);
	free(e->reqs);
	free(e->perm);
	free(e->scratch);
	e->reqs = NULL;
	e->perm = NULL;
	e->scratch = NULL;
}

/* A random length in [align, max] that is a multiple of align. */
static size_t rnd_len(uint64_t *rng, size_t max, size_t align)
{
	return align * (1 + rnd_below(rng, (unsigned)(max / align)));
}

/* Lay out r->len bytes in r->buf as one run or several segments. */
static void layout(struct io_engine *e, struct io_req *r)
{
	size_t align = e->t->align, left = r->len;
	unsigned char *p = r->buf;
	unsigned max_seg, k;
	bool zero_added = false;

	r->nseg = 0;
	if (!r->vec) {
		/* Buffered I/O also gets a misaligned user buffer. */
		r->data = r->buf + (align == 1 ? rnd_below(&e->rng, 64) : 0);
		return;
	}
	max_seg = (unsigned)(r->len / align);
	if (max_seg > IO_MAX_SEGS - 2)
		max_seg = IO_MAX_SEGS - 2;
	max_seg = 1 + rnd_below(&e->rng, max_seg);
	for (k = 0; k < max_seg; k++) {
		size_t units = left / align, seg;

		if (k == max_seg - 1)
			seg = left;
		else
			seg = align * (1 + rnd_below(&e->rng,
					(unsigned)(units - (max_seg - 1 - k))));
		/* A gap before each segment: scatter really scatters. */
		p += align == 1 ? rnd_below(&e->rng, 8) :
				  align * rnd_below(&e->rng, 2);
		r->iov[r->nseg].iov_base = p;
		r->iov[r->nseg].iov_len = seg;
		r->nseg++;
		p += seg;
		left -= seg;
		/* Zero-length iovecs are legal: sometimes add one. */
		if (align == 1 && !zero_added && rnd_below(&e->rng, 8) == 0) {
			r->iov[r->nseg].iov_base = p;
			r->iov[r->nseg].iov_len = 0;
			r->nseg++;
			zero_added = true;
		}
	}
}

/* Run nreq prepared requests as one submission and verify them. */
static int eng_exec(struct io_engine *e, unsigned nreq)
{
	struct ring_cqe cqes[nreq];
	struct target *t = e->t;
	unsigned i, k;
	int ret;

	for (i = 0; i < nreq; i++) {
		struct io_req *r = &e->reqs[i];
		struct ring_sqe *sqe = ring_get_sqe(&e->ring);
		off_t off = t->base + (off_t)r->rel;

		if (!sqe)
			return eng_fail(e, "SQ full at %u of %u", i, nreq);
		r->done = false;
		if (r->write) {
			size_t pos = 0;

			if (r->vec) {
				for (k = 0; k < r->nseg; k++) {
					rnd_fill(&e->rng, r->iov[k].iov_base,
						 r->iov[k].iov_len);
					memcpy(e->shadow + r->rel + pos,
					       r->iov[k].iov_base,
					       r->iov[k].iov_len);
					pos += r->iov[k].iov_len;
				}
				ring_prep_writev(sqe, t->fd, r->iov, r->nseg, off);
			} else {
				rnd_fill(&e->rng, r->data, r->len);
				memcpy(e->shadow + r->rel, r->data, r->len);
				ring_prep_write(sqe, t->fd, r->data, r->len, off);
			}
		} else {
			memset(r->buf, POISON, e->bufsz);
			if (r->vec)
				ring_prep_readv(sqe, t->fd, r->iov, r->nseg, off);
			else
				ring_prep_read(sqe, t->fd, r->data, r->len, off);
		}
		ring_sqe_set_data64(sqe, i);
	}
	ret = ring_submit(&e->ring);
	if (ret != (int)nreq)
		return eng_fail(e, "ring_submit of %u: %d (%s)", nreq, ret,
				errstr(ret));
	ret = reap(&e->ring, cqes, nreq, e->timeout_ms);
	if (ret < 0)
		return eng_fail(e, "reaping: %s", errstr(ret));
	if (ret != (int)nreq)
		return eng_fail(e, "%d of %u completions within %d ms "
				"(fdinfo Inflight %lld)", ret, nreq,
				e->timeout_ms,
				fdinfo_get(e->ring.ring_fd, "Inflight"));

	for (i = 0; i < nreq; i++) {
		struct io_req *r;
		const char *op;

		if (cqes[i].user_data >= nreq)
			return eng_fail(e, "CQE with unknown user_data %llu",
					(unsigned long long)cqes[i].user_data);
		r = &e->reqs[cqes[i].user_data];
		op = r->write ? (r->vec ? "WRITEV" : "WRITE") :
				(r->vec ? "READV" : "READ");
		if (r->done)
			return eng_fail(e, "request %llu completed twice",
					(unsigned long long)cqes[i].user_data);
		r->done = true;
		if (cqes[i].res != (int)r->len)
			return eng_fail(e, "%s of %zu bytes at %lld (%u iovecs, "
					"batch of %u): res %d (%s)", op, r->len,
					(long long)(t->base + r->rel),
					r->vec ? r->nseg : 1, nreq, cqes[i].res,
					errstr(cqes[i].res));
		e->ops++;
		e->bytes += r->len;
		if (r->write)
			continue;
		/* Compare the data, then the gaps must still be poison. */
		if (r->vec) {
			size_t pos = 0;
			unsigned char *p = r->buf;

			for (k = 0; k < r->nseg; k++) {
				unsigned char *b = r->iov[k].iov_base;
				size_t l = r->iov[k].iov_len, j;

				for (; p < b; p++)
					if (*p != POISON)
						return eng_fail(e, "%s at %lld: byte "
							"%td of the buffer, outside "
							"every iovec, was written",
							op, (long long)(t->base + r->rel),
							p - r->buf);
				if (memcmp(b, e->shadow + r->rel + pos, l)) {
					for (j = 0; b[j] == e->shadow[r->rel + pos + j]; j++)
						;
					return eng_fail(e, "%s of %zu at %lld: "
						"iovec %u (len %zu) byte %zu is 0x%02x, "
						"expected 0x%02x", op, r->len,
						(long long)(t->base + r->rel), k, l,
						j, b[j], e->shadow[r->rel + pos + j]);
				}
				pos += l;
				p = b + l;
			}
			if (p < r->buf + e->bufsz && *p != POISON)
				return eng_fail(e, "%s at %lld: wrote past the "
						"last iovec", op,
						(long long)(t->base + r->rel));
		} else if (memcmp(r->data, e->shadow + r->rel, r->len)) {
			size_t j;

			for (j = 0; r->data[j] == e->shadow[r->rel + j]; j++)
				;
			return eng_fail(e, "%s of %zu at %lld (batch of %u): "
					"byte %zu is 0x%02x, expected 0x%02x", op,
					r->len, (long long)(t->base + r->rel),
					nreq, j, r->data[j], e->shadow[r->rel + j]);
		} else if (r->data + r->len < r->buf + e->bufsz &&
			   r->data[r->len] != POISON) {
			return eng_fail(e, "%s of %zu at %lld wrote past the "
					"buffer", op, r->len,
					(long long)(t->base + r->rel));
		}
	}
	e->batches++;
	return 0;
}

int eng_batch(struct io_engine *e, unsigned qd)
{
	unsigned slots = e->t->size / e->max_io, i;
	size_t align = e->t->align;

	if (qd > e->max_qd)
		qd = e->max_qd;
	/* qd distinct slots: the head of a partial Fisher-Yates shuffle. */
	for (i = 0; i < qd; i++) {
		unsigned j = i + rnd_below(&e->rng, slots - i), tmp;
		struct io_req *r = &e->reqs[i];
		size_t in_slot, len;

		tmp = e->perm[i];
		e->perm[i] = e->perm[j];
		e->perm[j] = tmp;

		in_slot = align * rnd_below(&e->rng, (unsigned)(e->max_io / align));
		len = rnd_len(&e->rng, e->max_io - in_slot, align);
		r->rel = (size_t)e->perm[i] * e->max_io + in_slot;
		r->len = len;
		r->write = rnd_below(&e->rng, 100) >= e->read_pct;
		r->vec = rnd_below(&e->rng, 100) < e->vec_pct;
		layout(e, r);
	}
	return eng_exec(e, qd);
}

int eng_read_all(struct io_engine *e, unsigned qd)
{
	size_t pos = 0;

	if (qd > e->max_qd)
		qd = e->max_qd;
	while (pos < e->t->size) {
		unsigned n;

		for (n = 0; n < qd && pos < e->t->size; n++) {
			struct io_req *r = &e->reqs[n];

			r->rel = pos;
			r->len = e->max_io;
			r->write = false;
			r->vec = n % 2;
			layout(e, r);
			pos += e->max_io;
		}
		if (eng_exec(e, n))
			return -1;
	}
	return 0;
}

int eng_fsync(struct io_engine *e)
{
	static const char *const what[] = {
		"FSYNC", "FSYNC|DATASYNC", "FSYNC of the region",
		"FSYNC|DATASYNC of the region",
	};
	struct ring_cqe cqes[4];
	unsigned i;
	int ret;

	for (i = 0; i < 4; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&e->ring);

		if (!sqe)
			return eng_fail(e, "SQ full");
		ring_prep_fsync(sqe, e->t->fd, i % 2 ? RING_FSYNC_DATASYNC : 0);
		if (i >= 2) {
			sqe->off = e->t->base;
			sqe->len = (unsigned)e->t->size;
		}
		ring_sqe_set_data64(sqe, i);
	}
	ret = ring_submit(&e->ring);
	if (ret != 4)
		return eng_fail(e, "submit of 4 FSYNCs: %d (%s)", ret,
				errstr(ret));
	ret = reap(&e->ring, cqes, 4, e->timeout_ms);
	if (ret != 4)
		return eng_fail(e, "%d of 4 FSYNC completions (%s)", ret,
				errstr(ret));
	for (i = 0; i < 4; i++) {
		if (cqes[i].user_data >= 4)
			return eng_fail(e, "FSYNC CQE with user_data %llu",
					(unsigned long long)cqes[i].user_data);
		if (cqes[i].res != 0)
			return eng_fail(e, "%s: res %d (%s), expected 0",
					what[cqes[i].user_data], cqes[i].res,
					errstr(cqes[i].res));
	}
	return 0;
}

int eng_abandon(struct io_engine *e, unsigned qd)
{
	unsigned slots = e->t->size / e->max_io, i;
	int ret;

	if (qd > e->max_qd)
		qd = e->max_qd;
	for (i = 0; i < qd; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&e->ring);
		size_t rel = (size_t)rnd_below(&e->rng, slots) * e->max_io;

		if (!sqe)
			return eng_fail(e, "SQ full");
		/* Reads only: a write still running after close would race. */
		ring_prep_read(sqe, e->t->fd, e->scratch + i * e->max_io,
			       (unsigned)e->max_io, e->t->base + rel);
		ring_sqe_set_data64(sqe, i);
	}
	ret = ring_submit(&e->ring);
	if (ret != (int)qd)
		return eng_fail(e, "submit of %u reads to abandon: %d (%s)", qd,
				ret, errstr(ret));
	ring_queue_exit(&e->ring);
	e->ring_up = false;
	return eng_ring_up(e);
}

/* `Key: N kB` from a /proc file, or -1. */
static long proc_kb(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

long meminfo_kb(const char *key)
{
	return proc_kb("/proc/meminfo", key);
}

long self_status_kb(const char *key)
{
	return proc_kb("/proc/self/status", key);
}

/* Free pages on the per-CPU lists: the "count:" lines of /proc/zoneinfo. */
static long pcp_free_kb(void)
{
	char line[256];
	long pages = 0;
	FILE *f = fopen("/proc/zoneinfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " \t");

		if (!strncmp(p, "count:", 6))
			pages += strtol(p + 6, NULL, 10);
	}
	fclose(f);
	return pages * (sysconf(_SC_PAGESIZE) >> 10);
}

long mem_unexplained_kb(void)
{
	static const char *const used[] = {
		"AnonPages", "Cached", "Buffers", "SwapCached", "Slab",
		"KernelStack", "PageTables", "SecPageTables", "Percpu",
		"Hugetlb",
	};
	long held = 0, pcp = -1;
	unsigned i, tries;

	/* Pages move between the lists and MemFree: read until still. */
	for (tries = 0; tries < 20; tries++) {
		long before = pcp_free_kb();

		held = meminfo_kb("MemTotal") - meminfo_kb("MemFree");
		for (i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
			long kb = meminfo_kb(used[i]);

			if (kb > 0)	/* -1: this kernel has no such line */
				held -= kb;
		}
		pcp = pcp_free_kb();
		if (pcp == before)
			break;
		usleep(10000);
	}
	return held - pcp;
}

void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	sync();
	if (fd >= 0) {
		if (write(fd, "3\n", 2) != 2)
			print_message("# drop_caches: %s\n", strerror(errno));
		close(fd);
	}
}

bool pipe_writer_gone(int rfd, int ms)
{
	struct pollfd p = { .fd = rfd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLHUP);
}

bool pipe_reader_gone(int wfd, int ms)
{
	long long deadline = now_ns() + ms * 1000000LL;

	do {
		struct pollfd p = { .fd = wfd, .events = POLLOUT };

		if (poll(&p, 1, 10) == 1 && (p.revents & POLLERR))
			return true;
	} while (now_ns() < deadline);
	return false;
}

int inotify_watch(const char *path)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		fail_msg("inotify_init1: %s", strerror(errno));
	if (inotify_add_watch(fd, path, IN_ACCESS | IN_MODIFY) < 0)
		fail_msg("inotify_add_watch %s: %s", path, strerror(errno));
	return fd;
}

unsigned inotify_take(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	unsigned mask = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		const struct inotify_event *ev;
		ssize_t at;

		for (at = 0; at < n; at += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + at);
			mask |= ev->mask;
		}
	}
	if (n < 0 && errno != EAGAIN)
		fail_msg("read inotify: %s", strerror(errno));
	return mask;
}

/* ---- cgroup v2 ---------------------------------------------------------- */

static bool cg_mounted;			/* by us: unmounted at exit */
static char cg_made[4][128];		/* removed at exit */

long long cg_read(const char *dir, const char *file)
{
	char path[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void cg_cleanup(void)
{
	unsigned i;

	/* A failed test may have left us inside one. */
	if (cg_made[0][0])
		cg_enter(CG_ROOT, 0);
	for (i = 0; i < 4; i++) {
		if (!cg_made[i][0])
			continue;
		if (rmdir(cg_made[i]))
			fprintf(stderr, "rmdir %s: %s\n", cg_made[i],
				strerror(errno));
		cg_made[i][0] = 0;
	}
	if (cg_mounted && umount(CG_ROOT))
		fprintf(stderr, "umount %s: %s\n", CG_ROOT, strerror(errno));
	cg_mounted = false;
}

bool cg_enter(const char *dir, pid_t pid)
{
	char path[160], val[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(val, sizeof(val), "%d\n", pid ? pid : getpid());
	return file_write_str(path, val);
}

bool cg_create(const char *name, char *dir, size_t dlen, char *why,
		      size_t wlen)
{
	static bool registered;
	struct statfs sfs;
	char ctl[512] = "";
	FILE *f;
	unsigned i;

	if (!env_vm(why, wlen))
		return false;
	if (!registered) {
		atexit(cg_cleanup);
		registered = true;
	}
	if (statfs(CG_ROOT, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL)) {
			snprintf(why, wlen, "mount -t cgroup2 %s: %s", CG_ROOT,
				 strerror(errno));
			return false;
		}
		cg_mounted = true;
	}
	f = fopen(CG_ROOT "/cgroup.controllers", "re");
	if (!f || !fgets(ctl, sizeof(ctl), f) || !strstr(ctl, "memory")) {
		snprintf(why, wlen, "no memory controller in %s/cgroup.controllers"
			 " (\"%s\")", CG_ROOT, ctl);
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	if (!file_write_str(CG_ROOT "/cgroup.subtree_control", "+memory")) {
		snprintf(why, wlen, "enabling +memory in %s/cgroup.subtree_control:"
			 " %s", CG_ROOT, strerror(errno));
		return false;
	}
	snprintf(dir, dlen, "%s/ring-%s-%d", CG_ROOT, name, getpid());
	if (mkdir(dir, 0755) && errno != EEXIST) {
		snprintf(why, wlen, "mkdir %s: %s", dir, strerror(errno));
		return false;
	}
	for (i = 0; i < 4; i++)
		if (!cg_made[i][0] || !strcmp(cg_made[i], dir)) {
			snprintf(cg_made[i], sizeof(cg_made[i]), "%s", dir);
			break;
		}
	if (cg_read(dir, "memory.current") < 0) {
		snprintf(why, wlen, "%s/memory.current unreadable", dir);
		return false;
	}
	return true;
}
