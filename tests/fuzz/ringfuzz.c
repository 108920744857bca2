// SPDX-License-Identifier: GPL-2.0
/*
 * ringfuzz: the fuzzing loop, run as root inside the VM (tests/fuzz/run).
 *
 *   ringfuzz --corpus DIR --out DIR [--seconds N] [--seed S]
 *   ringfuzz --out DIR --replay FILE [--repeat N] [--minimize]
 *   ringfuzz --corpus DIR --out DIR --distill --seconds 0
 *           (removes corpus programs that add no coverage to those before)
 *
 * Each program runs in a fresh child (its own process group, without
 * CAP_IPC_LOCK so that RLIMIT_MEMLOCK applies).  After it ends the loop
 * reads the lanes' KCOV areas and keeps the program when it reached a ring.ko
 * PC or edge not seen before.  Crashes: a new kernel report in /dev/kmsg,
 * a child that does not die when killed (hang), a broken invariant (exec.c:
 * a CQE for every consumed SQE), and, checked every FZ_BASELINE_EVERY
 * seconds with no program running, module counters and the RLIMIT_MEMLOCK
 * charge back to where they started.  A crash is saved to OUT (program,
 * report, minimised program) and ends the run with status 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/capability.h>
#include <linux/kcov.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/ring.h>

#include "fuzz.h"

#define KCOV_WORDS	(64 * 1024)
#define COVER_BITS	(1U << 20)	/* ring.ko text offsets */
#define EDGE_BITS	(1U << 20)
#define MAX_CORPUS	4096
#define RECENT		64
#define FZ_BASELINE_EVERY 60

static const char *corpus_dir, *out_dir;
static int call_timeout_ms = 40, hang_s = 60;
static bool verbose, profile, distill;

/* ---- ring.ko's text and coverage ----------------------------------------- */

static struct fz_text ko_text;

static uint8_t cover[COVER_BITS / 8], edges[EDGE_BITS / 8];
static unsigned long nr_cover, nr_edges;

static bool bit_set(uint8_t *map, uint64_t bit)
{
	uint8_t m = 1 << (bit & 7);

	if (map[bit >> 3] & m)
		return false;
	map[bit >> 3] |= m;
	return true;
}

struct kcov {
	int fd;
	uint64_t *area;
};
static struct kcov kcovs[FZ_LANES + 1];	/* lanes, then remote */
static bool have_kcov;

static void kcov_open(void)
{
	int i;

	for (i = 0; i <= FZ_LANES; i++) {
		kcovs[i].fd = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
		if (kcovs[i].fd < 0)
			goto none;
		if (ioctl(kcovs[i].fd, KCOV_INIT_TRACE, KCOV_WORDS))
			goto none;
		kcovs[i].area = mmap(NULL, KCOV_WORDS * 8, PROT_READ | PROT_WRITE,
				     MAP_SHARED, kcovs[i].fd, 0);
		if (kcovs[i].area == MAP_FAILED)
			goto none;
	}
	have_kcov = true;
	return;
none:
	fprintf(stderr, "fuzz: no KCOV (%s): running without coverage feedback\n",
		strerror(errno));
	for (i = 0; i <= FZ_LANES; i++)
		kcovs[i].fd = -1;
}

/* New PCs and edges of ring.ko in the areas: how many. */
static unsigned long kcov_collect(void)
{
	unsigned long fresh = 0, i, n;
	int k;

	if (!have_kcov)
		return 0;
	for (k = 0; k <= FZ_LANES; k++) {
		uint64_t *area = kcovs[k].area, prev = 0;

		n = __atomic_load_n(&area[0], __ATOMIC_RELAXED);
		if (n > KCOV_WORDS - 1)
			n = KCOV_WORDS - 1;
		for (i = 0; i < n; i++) {
			uint64_t pc = area[i + 1], off = pc - ko_text.lo;

			if (pc < ko_text.lo || off >= COVER_BITS)
				continue;
			if (bit_set(cover, off)) {
				nr_cover++;
				fresh++;
			}
			if (bit_set(edges, ((prev * 0x9e3779b97f4a7c15ULL) ^ off) % EDGE_BITS)) {
				nr_edges++;
				fresh++;
			}
			prev = off;
		}
		area[0] = 0;
	}
	return fresh;
}

static void write_cover(void)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cover.txt", out_dir);
	f = fopen(path, "w");
	if (!f)
		return;
	fz_cover_write(&ko_text, cover, COVER_BITS, f);
	fclose(f);
}

/* ---- kernel reports ---------------------------------------------------- */

static int kmsg = -1;
static const char *const bad_lines[] = {
	"BUG:", "WARNING:", "Oops", "KASAN", "UBSAN", "general protection fault",
	"Kernel panic", "kernel BUG at", "suspected memory leak",
	"possible circular locking", "INFO: possible", "possible recursive locking",
	"inconsistent lock state", "sleeping function called from invalid context",
	"scheduling while atomic", "blocked for more than", "detected stall",
	"soft lockup", "hard LOCKUP", "Bad page state", "list_add corruption",
	"list_del corruption", "stack-protector", "refcount_t:",
	"usercopy: Kernel memory",
};

/* Read new kernel messages; append them to @rep (all of them with @all,
 * else from the first bad one on); true if one is bad. */
static bool kmsg_read(char *rep, size_t len, bool all)
{
	char rec[2048];
	bool found = all;
	size_t used = rep ? strlen(rep) : 0;
	ssize_t n;
	unsigned int i;

	for (;;) {
		n = read(kmsg, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EPIPE)
				continue;	/* overwritten: go on */
			break;
		}
		rec[n] = 0;
		/* A fault of ours (the executor's) is logged, and not the kernel's. */
		for (i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++)
			if (strstr(rec, bad_lines[i]) && !strstr(rec, "traps: ") &&
			    !strstr(rec, ": segfault at "))
				found = true;
		if (rep && (found || used) && used + n + 1 < len) {
			char *msg = strchr(rec, ';');

			msg = msg ? msg + 1 : rec;
			used += snprintf(rep + used, len - used, "%s", msg);
		}
	}
	return found && !all;
}

static bool kmsg_check(char *rep, size_t len)
{
	return kmsg_read(rep, len, false);
}

/* ---- running one program ---------------------------------------------- */

struct outcome {
	bool crashed;
	char kind[32];
	char report[16384];
	struct fz_exec_report counts;
};

static struct fz_shm *shm;
static uint64_t handle_seq;
static unsigned long stuck, unsealed;

static void drop_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return;
	d[CAP_IPC_LOCK / 32].effective &= ~(1U << (CAP_IPC_LOCK % 32));
	d[CAP_IPC_LOCK / 32].permitted &= ~(1U << (CAP_IPC_LOCK % 32));
	d[CAP_SYS_RESOURCE / 32].effective &= ~(1U << (CAP_SYS_RESOURCE % 32));
	d[CAP_SYS_RESOURCE / 32].permitted &= ~(1U << (CAP_SYS_RESOURCE % 32));
	syscall(SYS_capset, &h, d);
}

/* What a program's process may hold: RLIMIT_MEMLOCK applies to it. */
#define CHILD_MEMLOCK (64UL << 20)

static void child_limits(void)
{
	struct rlimit rl = { CHILD_MEMLOCK, CHILD_MEMLOCK };

	setrlimit(RLIMIT_MEMLOCK, &rl);
	rl = (struct rlimit){ 256, 256 };
	setrlimit(RLIMIT_NOFILE, &rl);
	drop_caps();
}

static bool wait_exit(pid_t pid, int ms)
{
	int pfd = syscall(SYS_pidfd_open, pid, 0), st;
	struct pollfd p = { pfd, POLLIN, 0 };
	bool done;

	if (pfd < 0)	/* already reaped (ESRCH), or no pidfd: wait */
		return errno == ESRCH || waitpid(pid, &st, 0) == pid;
	done = poll(&p, 1, ms) == 1;
	close(pfd);
	if (done)
		waitpid(pid, &st, 0);
	return done;
}

static void reap_orphans(void)
{
	int st;

	while (waitpid(-1, &st, WNOHANG) > 0)
		;
}

static void sysrq(char c)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, &c, 1) < 0)
			c = 0;
		close(fd);
	}
}

/* The executor process, and the pipes that drive it. */
static pid_t ex_pid;
static int ex_cmd = -1, ex_done = -1;
static int current_fd = -1;

static void executor_start(void)
{
	struct fz_exec_opts o = {
		.call_timeout_ms = call_timeout_ms,
		.kcov_remote_fd = have_kcov ? kcovs[FZ_LANES].fd : -1,
		.kcov_handle = (++handle_seq % 0xfffffff0) + 1,
		.kcov_words = KCOV_WORDS,
	};
	int cmd[2], done[2], i;

	if (pipe2(cmd, O_CLOEXEC) || pipe2(done, O_CLOEXEC)) {
		perror("fuzz: pipe");
		exit(2);
	}
	for (i = 0; i < FZ_LANES; i++)
		o.kcov_fds[i] = have_kcov ? kcovs[i].fd : -1;
	o.cmd_fd = cmd[0];
	o.done_fd = done[1];
	ex_pid = fork();
	if (ex_pid == 0) {
		setpgid(0, 0);
		close(cmd[1]);
		close(done[0]);
		child_limits();
		fz_executor(shm, &o);
	}
	if (ex_pid < 0) {
		perror("fuzz: fork");
		exit(2);
	}
	setpgid(ex_pid, ex_pid);
	close(cmd[0]);
	close(done[1]);
	ex_cmd = cmd[1];
	ex_done = done[0];
}

/* Stop the executor; false if it would not die (a hang in the kernel). */
/* Where the tasks of a stuck executor are, into @rep. */
static void stacks_of(pid_t pid, char *rep, size_t len)
{
	char path[512], buf[4096];
	size_t used = strlen(rep);
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid, e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0 && used + n + 64 < len) {
			buf[n] = 0;
			used += snprintf(rep + used, len - used, "task %s:\n%s", e->d_name, buf);
		}
	}
	if (d)
		closedir(d);
}

static char hang_report[8192];

static bool executor_stop(bool kill_it)
{
	bool ok = true;

	if (!ex_pid)
		return true;
	close(ex_cmd);
	close(ex_done);
	ex_cmd = ex_done = -1;
	if (kill_it || !wait_exit(ex_pid, 5000)) {
		kill(-ex_pid, SIGKILL);
		kill(ex_pid, SIGKILL);
		ok = wait_exit(ex_pid, hang_s * 1000);
		if (!ok) {
			hang_report[0] = 0;
			stacks_of(ex_pid, hang_report, sizeof(hang_report));
		}
	}
	kill(-ex_pid, SIGKILL);
	ex_pid = 0;
	reap_orphans();
	return ok;
}

static void save_current(const struct fz_prog *p)
{
	static char buf[64 * 1024];
	int n = fz_print(p, buf, sizeof(buf));

	/* Written before the program runs: a panic leaves it behind. */
	if (current_fd >= 0 && n > 0 && pwrite(current_fd, buf, n, 0) == n)
		n = ftruncate(current_fd, n);
}

static void run_prog(const struct fz_prog *p, struct outcome *out)
{
	struct pollfd pfd;
	int bound;
	char b = 'g';

	memset(out, 0, sizeof(*out));
	memset(&shm->report, 0, sizeof(shm->report));
	shm->prog = *p;
	save_current(p);
	if (!ex_pid)
		executor_start();
	if (write(ex_cmd, &b, 1) != 1)
		b = 0;
	pfd = (struct pollfd){ ex_done, POLLIN, 0 };
	bound = p->n * call_timeout_ms * 3 + 3000 + 60 * call_timeout_ms;
	if (b && poll(&pfd, 1, bound) == 1 && read(ex_done, &b, 1) == 1) {
		if (b == FZ_DONE_RESTART)
			executor_stop(false);
	} else {
		/* Stuck past its bound, or died: a hang if it won't die now. */
		stuck++;
		if (!executor_stop(true)) {
			/* The executor's stacks, then every blocked task's. */
			out->crashed = true;
			snprintf(out->kind, sizeof(out->kind), "hang");
			snprintf(out->report, sizeof(out->report),
				 "the executor did not die %d s after SIGKILL\n%s",
				 hang_s, hang_report);
			sysrq('w');
			sleep(1);
			kmsg_read(out->report, sizeof(out->report), true);
			return;
		}
	}
	reap_orphans();
	out->counts = shm->report;
	if (out->counts.seal != fz_seal(&out->counts)) {
		/* The program wrote over the executor (a read sized past its
		 * buffer into our memory): its report is noise; start afresh. */
		memset(&out->counts, 0, sizeof(out->counts));
		executor_stop(false);
		unsealed++;
	}
	if (kmsg_check(out->report, sizeof(out->report))) {
		out->crashed = true;
		snprintf(out->kind, sizeof(out->kind), "kernel report");
	} else if (out->counts.invariant[0]) {
		out->crashed = true;
		snprintf(out->kind, sizeof(out->kind), "invariant");
		snprintf(out->report, sizeof(out->report), "%s\n",
			 out->counts.invariant);
	}
}

/* ---- baseline: nothing left once no ring exists --------------------------- */

static long read_stat(const char *name)
{
	char path[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/misc/ring/stats/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static const char *const stat_names[] = { "rings", "requests", "pages",
					  "iotlb_pages" };

/* Registering exactly RLIMIT_MEMLOCK works only if nothing is still charged. */
static int memlock_probe(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct ring_params p = { .sq_entries = 4 };
		struct iovec iov;
		struct ring_register reg = { .opcode = RING_REGISTER_BUFFERS,
					     .nr_args = 1 };
		int fd;

		child_limits();
		fd = open("/dev/ring", O_RDWR);
		if (fd < 0 || ioctl(fd, RING_IOC_SETUP, &p))
			_exit(3);
		iov.iov_len = CHILD_MEMLOCK;
		iov.iov_base = mmap(NULL, iov.iov_len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (iov.iov_base == MAP_FAILED)
			_exit(3);
		reg.arg = (uint64_t)&iov;
		_exit(ioctl(fd, RING_IOC_REGISTER, &reg) ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static bool baseline_check(int settle_s, char *why, size_t len)
{
	long v[4];
	int t, i;

	for (t = 0; t <= settle_s * 10; t++) {
		bool zero = true;

		for (i = 0; i < 4; i++) {
			v[i] = read_stat(stat_names[i]);
			zero &= v[i] == 0;
		}
		if (zero)
			break;
		usleep(100000);
	}
	if (t > settle_s * 10) {
		snprintf(why, len, "module counters not back to 0 after %d s: rings %ld requests %ld pages %ld iotlb_pages %ld",
			 settle_s, v[0], v[1], v[2], v[3]);
		return false;
	}
	if (memlock_probe() == 1) {
		snprintf(why, len, "RLIMIT_MEMLOCK charge left behind: registering %lu MiB (= the limit) fails with no ring alive",
			 CHILD_MEMLOCK >> 20);
		return false;
	}
	return true;
}

/* ---- corpus --------------------------------------------------------------- */

static struct fz_prog *corpus;
static int nr_corpus;

static uint64_t prog_hash(const struct fz_prog *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const uint8_t *b = (const uint8_t *)p->c;
	size_t i;

	for (i = 0; i < p->n * sizeof(p->c[0]); i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static void corpus_add(const struct fz_prog *p, bool save)
{
	char path[512];

	if (nr_corpus >= MAX_CORPUS)
		return;
	corpus[nr_corpus++] = *p;
	if (save && corpus_dir) {
		snprintf(path, sizeof(path), "%s/%016llx.prog", corpus_dir,
			 (unsigned long long)prog_hash(p));
		fz_save(path, p);
	}
}

static void save_crash(const struct fz_prog *p, const struct outcome *out,
		       bool min);

static int corpus_load(void)
{
	DIR *d = corpus_dir ? opendir(corpus_dir) : NULL;
	struct dirent *e;
	struct fz_prog p;
	struct outcome out;
	int bad = 0, dropped = 0;
	unsigned long fresh;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[512];
		size_t l = strlen(e->d_name);

		if (l < 6 || strcmp(e->d_name + l - 5, ".prog"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", corpus_dir, e->d_name);
		if (fz_load(path, &p)) {
			bad++;
			continue;
		}
		/* Run it: the coverage it reaches is the starting point. */
		run_prog(&p, &out);
		fresh = kcov_collect();
		if (out.crashed) {
			fprintf(stderr, "fuzz: corpus program %s crashes (%s)\n",
				e->d_name, out.kind);
			save_crash(&p, &out, false);
			closedir(d);
			return -1;
		}
		if (!fresh && distill && have_kcov) {
			/* Nothing the programs before it did not reach. */
			unlink(path);
			dropped++;
			continue;
		}
		corpus_add(&p, false);
	}
	closedir(d);
	if (bad)
		fprintf(stderr, "fuzz: %d corpus files did not parse (skipped)\n", bad);
	if (dropped)
		printf("fuzz: distilled: %d corpus programs added no coverage and were removed\n",
		       dropped);
	return nr_corpus;
}

/* ---- crashes ---------------------------------------------------------------- */

static bool reproduces(const struct fz_prog *p, int tries)
{
	struct outcome out;

	while (tries--) {
		run_prog(p, &out);
		kcov_collect();
		if (out.crashed)
			return true;
	}
	return false;
}

/* Drop calls one at a time, keeping each drop that still crashes. */
static void minimize(struct fz_prog *p)
{
	int i;

	for (i = p->n - 1; i >= 0; i--) {
		struct fz_prog q = *p;

		memmove(&q.c[i], &q.c[i + 1], (q.n - i - 1) * sizeof(q.c[0]));
		q.n--;
		if (reproduces(&q, 2))
			*p = q;
	}
}

static void save_text(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void save_crash(const struct fz_prog *p, const struct outcome *out,
		       bool min)
{
	char path[512];
	struct fz_prog m = *p;

	snprintf(path, sizeof(path), "%s/crash.prog", out_dir);
	fz_save(path, p);
	save_text("crash.txt", out->report);
	printf("fuzz: CRASH (%s): program in %s/crash.prog, report in %s/crash.txt\n",
	       out->kind, out_dir, out_dir);
	printf("%.4000s\n", out->report);
	if (!min)
		return;
	if (out->kind[0] == 'h' || !reproduces(p, 3)) {
		printf("fuzz: the crash did not reproduce in 3 runs: not minimised\n");
		return;
	}
	minimize(&m);
	snprintf(path, sizeof(path), "%s/crash.min.prog", out_dir);
	fz_save(path, &m);
	printf("fuzz: minimised to %d calls: %s\n", m.n, path);
}

/* ---- main ------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void setup_env(void)
{
	char path[512];
	int fd;

	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg < 0) {
		perror("fuzz: /dev/kmsg");
		exit(2);
	}
	lseek(kmsg, 0, SEEK_END);
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		exit(2);
	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "%s/current.prog", out_dir);
	current_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	/* Orphaned grandchildren come back to us, to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	fd = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "8", 1) < 0)
			fd = fd + 0;
		close(fd);
	}
	corpus = calloc(MAX_CORPUS, sizeof(*corpus));
	if (!corpus)
		exit(2);
}

static void usage(void)
{
	fprintf(stderr, "usage: ringfuzz --out DIR [--corpus DIR] [--seconds N] [--seed S]\n"
			"       ringfuzz --out DIR --replay FILE [--repeat N] [--minimize]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "corpus", 1, 0, 'c' }, { "out", 1, 0, 'o' },
		{ "seconds", 1, 0, 's' }, { "seed", 1, 0, 'S' },
		{ "replay", 1, 0, 'r' }, { "repeat", 1, 0, 'n' },
		{ "minimize", 0, 0, 'm' }, { "call-timeout-ms", 1, 0, 't' },
		{ "hang-seconds", 1, 0, 'H' }, { "verbose", 0, 0, 'v' },
		{ "profile", 0, 0, 'P' }, { "distill", 0, 0, 'D' },
		{ 0 },
	};
	const char *replay = NULL;
	unsigned long seconds = 120, execs = 0, crashes = 0, repeat = 1;
	uint64_t seed = 0, calls = 0, sqes = 0, cqes = 0;
	bool min = false;
	double start, last_print, last_base;
	struct fz_rand rnd;
	struct outcome out;
	struct fz_prog p;
	char why[512], line[512];
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c': corpus_dir = optarg; break;
		case 'o': out_dir = optarg; break;
		case 's': seconds = strtoul(optarg, NULL, 0); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'r': replay = optarg; break;
		case 'n': repeat = strtoul(optarg, NULL, 0); break;
		case 'm': min = true; break;
		case 't': call_timeout_ms = atoi(optarg); break;
		case 'H': hang_s = atoi(optarg); break;
		case 'v': verbose = true; break;
		case 'P': profile = true; break;
		case 'D': distill = true; break;
		default: usage();
		}
	}
	if (!out_dir)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fz_text_load(&ko_text)) {
		fprintf(stderr, "fuzz: ring.ko is not loaded (/sys/module/ring/sections)\n");
		return 2;
	}
	setup_env();
	kcov_open();

	if (replay) {
		if (fz_load(replay, &p)) {
			fprintf(stderr, "fuzz: cannot parse %s\n", replay);
			return 2;
		}
		while (repeat--) {
			run_prog(&p, &out);
			executor_stop(false);	/* each run from a fresh process */
			if (out.crashed) {
				save_crash(&p, &out, min);
				return 1;
			}
		}
		if (!baseline_check(hang_s, why, sizeof(why))) {
			printf("fuzz: CRASH (baseline): %s\n", why);
			return 1;
		}
		printf("fuzz: replay of %s: no crash (%llu calls into ring.ko)\n",
		       replay, (unsigned long long)out.counts.ring_calls);
		return 0;
	}

	if (!seed)
		seed = time(NULL) ^ getpid();
	rnd.s = seed | 1;
	printf("fuzz: seed %llu, ring.ko text at %#lx (%d sections), KCOV %s\n",
	       (unsigned long long)seed, (unsigned long)ko_text.lo, ko_text.n,
	       have_kcov ? "on" : "off");
	if (!baseline_check(hang_s, why, sizeof(why))) {
		printf("fuzz: not starting: %s\n", why);
		return 2;
	}
	if (corpus_load() < 0)
		return 1;
	printf("fuzz: corpus %d programs, %lu PCs, %lu edges\n", nr_corpus,
	       nr_cover, nr_edges);

	start = last_print = last_base = now_s();
	while (now_s() - start < seconds) {
		if (nr_corpus < 16 || fz_one_in(&rnd, 10)) {
			fz_generate(&rnd, &p, 8 + fz_below(&rnd, 48));
		} else {
			p = corpus[fz_below(&rnd, nr_corpus)];
			fz_mutate(&rnd, &p, &corpus[fz_below(&rnd, nr_corpus)]);
		}
		run_prog(&p, &out);
		execs++;
		calls += out.counts.ring_calls;
		sqes += out.counts.sqes;
		cqes += out.counts.cqes;
		if (kcov_collect())
			corpus_add(&p, true);
		if (out.crashed) {
			crashes++;
			save_crash(&p, &out, true);
			break;
		}
		if (now_s() - last_base > FZ_BASELINE_EVERY) {
			executor_stop(false);
			if (!baseline_check(hang_s, why, sizeof(why))) {
				crashes++;
				printf("fuzz: CRASH (baseline): %s (last program in %s/crash.prog)\n",
				       why, out_dir);
				snprintf(line, sizeof(line), "%s/crash.prog", out_dir);
				fz_save(line, &p);
				break;
			}
			last_base = now_s();
		}
		if (now_s() - last_print >= 10) {
			last_print = now_s();
			printf("fuzz: %4.0f s: %lu execs (%.1f/s), %llu calls (%.0f/s), %lu PCs, %lu edges, corpus %d, executors stuck %lu, unsealed %lu\n",
			       last_print - start, execs, execs / (last_print - start),
			       (unsigned long long)calls, calls / (last_print - start),
			       nr_cover, nr_edges, nr_corpus, stuck, unsealed);
		}
	}
	executor_stop(false);
	if (!crashes && !baseline_check(hang_s, why, sizeof(why))) {
		crashes++;
		printf("fuzz: CRASH (baseline): %s\n", why);
	}
	write_cover();
	snprintf(line, sizeof(line),
		 "seconds %.0f\nexecs %lu\ncalls %llu\nsqes %llu\ncqes %llu\npcs %lu\nedges %lu\ncorpus %d\ncrashes %lu\nseed %llu\n",
		 now_s() - start, execs, (unsigned long long)calls,
		 (unsigned long long)sqes, (unsigned long long)cqes, nr_cover,
		 nr_edges, nr_corpus, crashes, (unsigned long long)seed);
	save_text("stats.txt", line);
	executor_stop(false);
	for (c = 0; profile && c < FZ_NR_CALLS + 2; c++)
		if (shm->count[c])
			printf("fuzz: profile: %-14s %8llu calls %9.3f s %8.3f ms each\n",
			       c < FZ_NR_CALLS ? fz_calls[c].name :
			       c == FZ_NR_CALLS ? "(quiesce)" : "(check+reset)",
			       (unsigned long long)shm->count[c], shm->ns[c] / 1e9,
			       shm->ns[c] / 1e6 / shm->count[c]);
	printf("fuzz: done: %.0f s, %lu execs (%.1f/s), %llu calls into ring.ko (%.0f/s), %llu SQEs, %lu PCs, %lu edges, corpus %d, crashes %lu\n",
	       now_s() - start, execs, execs / (now_s() - start),
	       (unsigned long long)calls, calls / (now_s() - start),
	       (unsigned long long)sqes, nr_cover, nr_edges, nr_corpus, crashes);
	return crashes ? 1 : 0;
}
