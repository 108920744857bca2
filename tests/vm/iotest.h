/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the VM I/O tests (test_rw*.c, test_pipe.c, test_stress.c):
 * I/O targets (a tmpfs file, a file on ext4 on a loop device, null_blk and
 * brd block devices), a random verified-I/O engine that keeps a shadow copy
 * of the region it works on, bounded completion waits and leak checks.
 *
 * Block devices and the ext4 mount are set up on first use and only inside
 * the test VM (RING_VM=1, root):
 *   null_blk: modprobe null_blk nr_devices=1 gb=1 queue_mode=2 irqmode=2
 *             completion_nsec=20000 memory_backed=1 (timer completions, so
 *             O_DIRECT requests really are in flight and complete in IRQ
 *             context). If null_blk is already loaded (tools/vm/run
 *             --modprobe) it is used as is, but only with memory_backed=1.
 *   brd:      modprobe brd rd_nr=1 rd_size=65536 (64 MiB, completes inline).
 *   ext4:     mkfs.ext4 on a 64 MiB image in /tmp, losetup, mount; undone
 *             at exit.
 * A test whose target cannot be set up SKIPs with the reason.
 *
 * Engine functions (eng_*) never call cmocka: they are used from threads.
 * They return 0, or -1 with a message in e->err.
 */
#ifndef IOTEST_H
#define IOTEST_H

#include "vmtest.h"

#include <limits.h>
#include <sys/types.h>
#include <sys/inotify.h>
#include <sys/uio.h>
#include <libring.h>

#define IO_ALIGN_DIRECT	4096U
#define IO_MAX_SEGS	10	/* 8 data segments + a zero-length one */

/* ---- randomness: xorshift64*, seeded from RING_TEST_SEED or the clock */
uint64_t rnd_next(uint64_t *s);
/* Uniform in [0, n); n > 0. */
unsigned rnd_below(uint64_t *s, unsigned n);
void rnd_fill(uint64_t *s, void *buf, size_t len);
/* The seed for a test, printed as a TAP comment so a failure can be rerun. */
uint64_t test_seed(const char *what);

/* 4096-aligned allocation; fails the test on error. */
void *xalloc(size_t size);

/* ---- targets ------------------------------------------------------- */
enum tgt_kind { TGT_TMPFS, TGT_EXT4, TGT_NULLB, TGT_BRD };

struct target {
	enum tgt_kind kind;
	bool direct;		/* opened O_DIRECT */
	bool blockdev;
	int fd;
	char name[96];
	char path[PATH_MAX];
	bool created;		/* a file we made: unlinked by target_close */
	size_t align;		/* 1, or IO_ALIGN_DIRECT with O_DIRECT */
	off_t base;		/* the test region */
	size_t size;
	unsigned long long dev_size;	/* block device size in bytes */
};

/*
 * Open a target with a region [base, base+size) (files are created with
 * that size); SKIPs the test with the reason if it is unavailable.
 */
void target_open(struct target *t, enum tgt_kind kind, bool direct,
		 off_t base, size_t size);
/* Fill the region with random bytes (pwrite), the same into shadow. */
void target_fill(struct target *t, unsigned char *shadow, uint64_t *rng);
/* pread the region and compare with shadow: 0, or -1 with msg. */
int target_verify(const struct target *t, const unsigned char *shadow,
		  char *msg, size_t msglen);
void target_close(struct target *t);
/* The same file again with other open flags (O_RDONLY, ...): fd or -errno. */
int target_reopen(const struct target *t, int flags);

/* Environment probes: true if usable, else false with the reason. */
bool env_vm(char *why, size_t len);
bool env_ext4(const char **mnt, char *why, size_t len);
bool env_nullb(char *why, size_t len);
bool env_brd(char *why, size_t len);

/* ---- completions ---------------------------------------------------- */
/* How long a completion may take before the test calls it lost (ms). */
int io_timeout_ms(void);

/* The read end of a pipe sees EOF (no write end left) within @ms. */
bool pipe_writer_gone(int rfd, int ms);
/* The write end of a pipe sees POLLERR (no read end left) within @ms. */
bool pipe_reader_gone(int wfd, int ms);
/*
 * Wait up to timeout_ms for n CQEs, copy them to out (arrival order) and
 * release them: the number copied (< n on timeout), or -errno. Waits with
 * poll() on the ring fd, so a lost completion fails instead of hanging.
 */
int reap(struct ring *ring, struct ring_cqe *out, unsigned n, int timeout_ms);
/* Submit everything queued, assert it was all consumed, reap n CQEs. */
void submit_reap(struct ring *ring, struct ring_cqe *out, unsigned n);
/* Queue one prepared SQE copy, submit, return its CQE's res. */
int run_one(struct ring *ring, const struct ring_sqe *tmpl);
/* ring_queue_init, failing the test on error. */
void ring_init_or_fail(struct ring *ring, unsigned entries);

/* ---- fsnotify ------------------------------------------------------ */
/* A nonblocking inotify fd watching @path for IN_ACCESS | IN_MODIFY. */
int inotify_watch(const char *path);
/* The masks of the events queued on @fd since the last call, or-ed. */
unsigned inotify_take(int fd);

/* ---- cgroup v2 (the guest's; mounted at CG_ROOT if it was not) ------ */
#define CG_ROOT		"/sys/fs/cgroup"
/* A cgroup's single-number file, -1 if unreadable. */
long long cg_read(const char *dir, const char *file);
/* Move pid (0: this process) into cgroup dir. */
bool cg_enter(const char *dir, pid_t pid);
/*
 * A new cgroup with the memory controller, CG_ROOT/ring-NAME-PID, into
 * dir; false with the reason if cgroup v2 or its memory controller is
 * not to be had.  At exit the process is moved back to the root and the
 * cgroups made are removed.
 */
bool cg_create(const char *name, char *dir, size_t dlen, char *why,
	       size_t wlen);

/* ---- leak checks ----------------------------------------------------- */
/* Module stats now; fails the test if they are missing. */
void stats_baseline(struct ring_stats *base);
/* Fail unless the stats return to base within 5 s (what: the context). */
void expect_stats(const struct ring_stats *base, const char *what);
/* Fail unless `requests` returns to base->requests (ring still open). */
void expect_no_requests(const struct ring_stats *base, const char *what);
/* Fail unless fdinfo Inflight of the ring fd is 0. */
void expect_inflight0(const struct ring *ring, const char *what);

/* ---- the verified-I/O engine ---------------------------------------- */
struct io_req {
	bool write;
	bool vec;
	size_t rel;		/* offset in the region */
	size_t len;
	unsigned char *buf;	/* this slot's buffer, bufsz bytes */
	unsigned char *data;	/* non-vectored: data start inside buf */
	struct iovec iov[IO_MAX_SEGS];
	unsigned nseg;
	bool done;
};

struct io_engine {
	struct ring ring;
	bool ring_up;
	struct target *t;
	unsigned char *shadow;	/* what the region must contain */
	uint64_t rng;
	unsigned max_qd;	/* ring size; requests per batch at most */
	size_t max_io;		/* bytes per request at most; divides t->size */
	size_t bufsz;
	unsigned vec_pct;	/* percent of requests READV/WRITEV */
	unsigned read_pct;	/* percent of requests reads */
	int timeout_ms;
	struct io_req *reqs;
	unsigned *perm;		/* slot numbers, shuffled per batch */
	unsigned char *scratch;	/* reads abandoned by eng_abandon land here */
	unsigned long ops, batches, bytes;
	char err[768];
};

/* Allocates with malloc (no cmocka); 0 or -1 with e->err. */
int eng_init(struct io_engine *e, struct target *t, unsigned char *shadow,
	     uint64_t seed, unsigned max_qd, size_t max_io);
/* Close the ring (buffers stay: abandoned reads may still land). */
void eng_close_ring(struct io_engine *e);
/* Close the ring and free everything; after eng_abandon, only once the
 * module's request count shows nothing is in flight any more. */
void eng_exit(struct io_engine *e);
/* One batch of qd random reads/writes on distinct slots, all verified. */
int eng_batch(struct io_engine *e, unsigned qd);
/* Read the whole region through the ring, qd at a time; compare. */
int eng_read_all(struct io_engine *e, unsigned qd);
/* FSYNC, FSYNC|DATASYNC and a ranged FSYNC in one batch: each res 0. */
int eng_fsync(struct io_engine *e);
/*
 * Submit qd reads into the scratch area and close the ring without
 * reaping them, then set up a new ring: close with I/O in flight.
 */
int eng_abandon(struct io_engine *e, unsigned qd);

/* /proc/meminfo, /proc/self/status values in kB, or -1. */
long meminfo_kb(const char *key);
long self_status_kb(const char *key);
/* echo 3 > /proc/sys/vm/drop_caches (best effort). */
void drop_caches(void);
/*
 * Memory in use that no counter of /proc/meminfo explains, in kB: MemTotal
 * minus free pages (the buddy lists and the per-CPU lists, which MemFree
 * leaves out and which hold tens of MiB after a busy run), anon, page
 * cache, buffers, slab, kernel stacks, page tables, per-CPU areas and huge
 * pages.  Pages a module allocates and keeps, or keeps by a leaked
 * reference after their owner freed them, show up here and nowhere else.
 * Call after drop_caches(), with the system quiet.
 */
long mem_unexplained_kb(void);

#endif /* IOTEST_H */
