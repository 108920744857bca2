/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ringfuzz: a coverage-guided fuzzer of /dev/ring that generates programs,
 * not bytes.  A program is a list of calls (SETUP, ENTER, REGISTER, mmap of
 * a ring region, an SQE of some opcode, a fork, a signal, ...) each with up
 * to FZ_ARGS typed arguments; arguments that name resources (a ring, a file,
 * a mapping) are slot numbers, resolved when the call runs, so that any
 * mutation of a program is still a program.
 *
 *   prog.c    the calls, their argument generators, text form, mutation
 *   exec.c    runs one program in a child process, one thread per lane
 *   ringfuzz.c  the loop: corpus, KCOV coverage, crash detection, replay,
 *             minimisation
 */
#ifndef RINGFUZZ_H
#define RINGFUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FZ_ARGS		6
#define FZ_MAX_CALLS	96
#define FZ_LANES	4	/* threads a program's calls run on */

struct fz_call {
	uint8_t nr;		/* index in fz_calls[] */
	uint8_t lane;		/* thread that runs it */
	uint64_t a[FZ_ARGS];
};

struct fz_prog {
	int n;
	struct fz_call c[FZ_MAX_CALLS];
};

/* A name and a value from include/uapi/linux/ring.h (generated tables). */
struct fz_const {
	const char *name;
	uint64_t val;
};
extern const struct fz_const fz_ops[], fz_regops[], fz_setup_flags[],
	fz_enter_flags[], fz_sqe_flags[];
extern const size_t fz_nr_ops, fz_nr_regops, fz_nr_setup_flags,
	fz_nr_enter_flags, fz_nr_sqe_flags;

/* The calls a program is made of: X(name, weight in generated programs). */
#define FZ_CALL_LIST(X)						\
	X(open_ring, 4) X(setup, 6) X(mmap, 8) X(munmap, 2)		\
	X(mremap, 1) X(madvise, 2) X(mprotect, 1) X(touch, 2)		\
	X(buf, 5) X(open_fd, 5) X(close, 2) X(sqe, 24) X(enter, 14)	\
	X(reap, 5) X(register, 10) X(fork, 1) X(unshare_files, 1)	\
	X(lane_exit, 1) X(signal, 1) X(fdinfo, 1) X(poll, 1)		\
	X(feed, 3) X(dup, 1) X(ioctl_raw, 2) X(sleep, 1)		\
	X(repeat, 3) X(burst, 4)

enum {
#define FZ_ENUM(name, w) FZ_##name,
	FZ_CALL_LIST(FZ_ENUM)
#undef FZ_ENUM
	FZ_NR_CALLS
};

/* Per-call table (calls.c): how to make its arguments, how to run it. */
struct fz_rand;
struct fz_callspec {
	const char *name;
	unsigned int weight;
	void (*gen)(struct fz_rand *r, uint64_t *a);
	void (*run)(const uint64_t *a);
};
extern const struct fz_callspec fz_calls[FZ_NR_CALLS];
int fz_call_by_name(const char *name);

/* Slots that arguments name; a call on an empty slot still runs. */
#define FZ_RINGS	4
#define FZ_FDS		16
#define FZ_MAPS		16

/* Deterministic random numbers (xorshift64*), so a seed replays a run. */
struct fz_rand {
	uint64_t s;
};
uint64_t fz_rnd(struct fz_rand *r);
static inline uint64_t fz_below(struct fz_rand *r, uint64_t n)
{
	return n ? fz_rnd(r) % n : 0;
}
static inline bool fz_one_in(struct fz_rand *r, unsigned int n)
{
	return fz_below(r, n) == 0;
}

void fz_generate(struct fz_rand *r, struct fz_prog *p, int ncalls);
void fz_mutate(struct fz_rand *r, struct fz_prog *p, const struct fz_prog *other);
int fz_print(const struct fz_prog *p, char *buf, size_t len);
int fz_parse(const char *text, struct fz_prog *p);
int fz_load(const char *path, struct fz_prog *p);
int fz_save(const char *path, const struct fz_prog *p);

/* exec.c, for calls.c */
void fz_count_ring_call(void);
void fz_count(uint64_t sqes, uint64_t cqes);
/* Run @fn(@arg) with SIGSEGV/SIGBUS turned into a false return. */
bool fz_guarded(void (*fn)(void *), void *arg);
void fz_kill_lane(unsigned int lane);
void fz_signal_lane(unsigned int lane);
void fz_calls_init(void);
void fz_calls_check(char *why, size_t len);

/*
 * exec.c: an executor process runs programs until told to stop, or until a
 * program leaves it unfit for another (a lane stuck, a private fd table):
 * it reads a byte from cmd_fd, runs shm->prog, writes shm->report and a
 * byte to done_fd: FZ_DONE_OK or FZ_DONE_RESTART.
 */
struct fz_exec_opts {
	int call_timeout_ms;	/* how long a call may block its lane */
	int kcov_fds[FZ_LANES];	/* per-lane KCOV fds (-1: none) */
	int kcov_remote_fd;	/* for the workers' coverage (-1: none) */
	uint64_t kcov_handle;
	unsigned long kcov_words;
	int cmd_fd, done_fd;
};
struct fz_exec_report {
	uint64_t ring_calls;	/* system calls that reached ring.ko */
	uint64_t sqes;		/* SQEs published to rings */
	uint64_t cqes;		/* CQEs reaped */
	char invariant[256];	/* non-empty: what broke */
	uint64_t seal;		/* fz_seal() of the above, written last */
};

/* A report a stray write of the program's reached does not carry a seal. */
static inline uint64_t fz_seal(const struct fz_exec_report *r)
{
	const uint8_t *b = (const uint8_t *)r;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < offsetof(struct fz_exec_report, seal); i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h | 1;
}

struct fz_shm {
	struct fz_prog prog;
	struct fz_exec_report report;
	/* Where the time goes (--profile): per call, and after the calls. */
	uint64_t ns[FZ_NR_CALLS + 2], count[FZ_NR_CALLS + 2];
};
enum { FZ_DONE_OK = 'k', FZ_DONE_RESTART = 'r' };
void fz_executor(struct fz_shm *shm, const struct fz_exec_opts *o)
	__attribute__((noreturn));
/* calls.c: close and unmap everything a program left; false if it can't. */
bool fz_calls_reset(void);
void fz_mark_dirty(void);
bool fz_stopping(void);

/* modtext.c: ring.ko's text sections (sorted by address), cover files. */
#define FZ_MAX_SECTIONS 64
struct fz_section {
	char name[256];
	uint64_t addr;
};
struct fz_text {
	int n;
	uint64_t lo;		/* the lowest section: bit 0 of a cover map */
	struct fz_section sec[FZ_MAX_SECTIONS];
};
int fz_text_load(struct fz_text *t);
void fz_cover_write(const struct fz_text *t, const uint8_t *bits,
		    size_t nbits, FILE *f);

#endif
