// SPDX-License-Identifier: MIT
/*
 * io_uring software, unchanged, on /dev/ring with io_uring switched off:
 * Debian's fio (its io_uring engine) and fio's t/io_uring, started through
 * tools/ring-run, with kernel.io_uring_disabled=2 (6.12; 6.1 has no such
 * sysctl) and under a seccomp filter that denies the three io_uring system
 * calls with EPERM, as Docker's default profile does.  That io_uring really
 * is off is checked first, and the same fio without ring-run must fail.
 */
#include "iotest.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP_BECAUSE(...) do {						\
	print_message("# SKIP: " __VA_ARGS__);				\
	print_message("\n");						\
	skip();								\
} while (0)

#define NR_IO_URING_SETUP	425
#define NR_IO_URING_REGISTER	427

#define FIO_IO_SIZE	"4m"
#define FIO_IO_BYTES	(4 << 20)

static const char disabled_sysctl[] = "/proc/sys/kernel/io_uring_disabled";
static char repo[PATH_MAX];
static char ring_run[PATH_MAX + 32];
static char t_io_uring[PATH_MAX + 32];

/* The source tree: three levels above this program (build/tests/vm/). */
static void find_repo(void)
{
	char *p;
	int i;

	if (repo[0])
		return;
	assert_true(realpath("/proc/self/exe", repo) != NULL);
	for (i = 0; i < 4; i++) {
		p = strrchr(repo, '/');
		assert_non_null(p);
		*p = '\0';
	}
	snprintf(ring_run, sizeof(ring_run), "%s/tools/ring-run", repo);
	snprintf(t_io_uring, sizeof(t_io_uring), "%s/build/tools/fio/t-io_uring",
		 repo);
}

/* Deny io_uring_setup/enter/register with EPERM, allow the rest. */
static int deny_io_uring(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, NR_IO_URING_SETUP, 0, 2),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, NR_IO_URING_REGISTER, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]),
				   .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* io_uring_setup(4, params): its -errno, closing a ring it made. */
static int try_io_uring_setup(void)
{
	unsigned char params[120] = { 0 };
	long fd = syscall(NR_IO_URING_SETUP, 4, params);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return -errno;
}

static char saved_disabled = '\0';

/* Put the sysctl back for the programs that run after this one. */
static void restore_io_uring(void)
{
	int fd = open(disabled_sysctl, O_WRONLY);

	if (fd >= 0 && saved_disabled && write(fd, &saved_disabled, 1) != 1)
		perror(disabled_sysctl);
	if (fd >= 0)
		close(fd);
}

/* kernel.io_uring_disabled=2 where the kernel has it (6.6 and later). */
static bool disable_io_uring(void)
{
	int fd = open(disabled_sysctl, O_RDWR);

	if (fd < 0)
		return false;
	if (!saved_disabled) {
		assert_int_equal(read(fd, &saved_disabled, 1), 1);
		atexit(restore_io_uring);
	}
	assert_int_equal(pwrite(fd, "2", 1, 0), 1);
	close(fd);
	return true;
}

/*
 * Run argv under the seccomp filter (and a 300 s alarm), its output in
 * out; returns the exit status, or 128 + signal.
 */
static int run_denied(char *const argv[], char *out, size_t outlen)
{
	int pfd[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		if (deny_io_uring())
			_exit(126);
		/* Survives exec: a hung program dies instead of the suite. */
		alarm(300);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got + 1 < outlen &&
	       (n = read(pfd[0], out + got, outlen - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	/* Drain whatever did not fit. */
	{
		char sink[4096];

		while (read(pfd[0], sink, sizeof(sink)) > 0)
			;
	}
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) :
				   128 + WTERMSIG(status);
}

static char out[1 << 16];

static void print_tail(const char *what)
{
	size_t len = strlen(out);
	const char *p = len > 1500 ? out + len - 1500 : out;
	char *line, *save = NULL, *copy = strdup(p);

	printf("# %s, last output:\n", what);
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("#   %s\n", line);
	free(copy);
}

/* Both ways of switching io_uring off really switch it off. */
static void test_io_uring_is_off(void **state)
{
	char *const argv[] = { "/proc/self/exe", "--probe", NULL };
	bool sysctl;

	require_ring();
	find_repo();
	sysctl = disable_io_uring();
	if (sysctl)
		expect_ret(try_io_uring_setup(), -EPERM);
	else
		printf("# no %s on this kernel: seccomp only\n",
		       disabled_sysctl);
	/* The filter, in a child that re-runs us to probe. */
	expect_ret(run_denied(argv, out, sizeof(out)), 0);
}

struct fio_case {
	const char *what;
	bool blockdev;		/* /dev/nullb0, else a file on ext4 */
	const char *opts[8];
};

static const struct fio_case fio_cases[] = {
	{ "randread QD 32", true,
	  { "--rw=randread", "--iodepth=32", "--direct=1" } },
	{ "randread QD 32 fixedbufs", true,
	  { "--rw=randread", "--iodepth=32", "--direct=1", "--fixedbufs=1" } },
	{ "randread QD 1 fixedbufs", true,
	  { "--rw=randread", "--iodepth=1", "--direct=1", "--fixedbufs=1" } },
	{ "randwrite verify=crc32c fixedbufs", true,
	  { "--rw=randwrite", "--iodepth=16", "--direct=1", "--fixedbufs=1",
	    "--verify=crc32c", "--do_verify=1" } },
	/* Registered files: IORING_REGISTER_FILES, IOSQE_FIXED_FILE. */
	{ "randwrite verify=crc32c registerfiles", true,
	  { "--rw=randwrite", "--iodepth=16", "--direct=1", "--registerfiles=1",
	    "--verify=crc32c", "--do_verify=1" } },
	{ "file randwrite verify=crc32c O_DIRECT fixedbufs registerfiles", false,
	  { "--rw=randwrite", "--iodepth=8", "--direct=1", "--fixedbufs=1",
	    "--registerfiles=1", "--verify=crc32c", "--do_verify=1" } },
	/* Polled (IORING_SETUP_IOPOLL) on null_blk's poll queue; reads only:
	 * null_blk's first write of a sector allocates in its poll handler. */
	{ "randread QD 32 hipri fixedbufs registerfiles", true,
	  { "--rw=randread", "--iodepth=32", "--direct=1", "--hipri=1",
	    "--fixedbufs=1", "--registerfiles=1" } },
	/*
	 * SQPOLL (ring's kernel thread; fio's engine turns registerfiles on
	 * with it and commits without io_uring_enter while the thread is
	 * awake): it must run and verify, on the device and on a file.
	 */
	{ "randwrite verify=crc32c sqthread_poll registerfiles", true,
	  { "--rw=randwrite", "--iodepth=16", "--direct=1",
	    "--sqthread_poll=1", "--registerfiles=1", "--verify=crc32c",
	    "--do_verify=1" } },
	{ "file randwrite buffered verify=crc32c sqthread_poll", false,
	  { "--rw=randwrite", "--iodepth=8", "--direct=0",
	    "--sqthread_poll=1", "--verify=crc32c", "--do_verify=1",
	    "--fsync=16" } },
	{ "file randrw buffered verify=crc32c", false,
	  { "--rw=randwrite", "--iodepth=8", "--direct=0",
	    "--verify=crc32c", "--do_verify=1", "--fsync=16" } },
};

/* argv for fio on @c, through ring-run or not; strings in @buf. */
static void fio_argv(const struct fio_case *c, const char *path,
		     bool via_ring, char *argv[24], char buf[][PATH_MAX + 16])
{
	int n = 0, i, b = 0;

	if (via_ring)
		argv[n++] = ring_run;
	argv[n++] = "/usr/bin/fio";
	argv[n++] = "--name=unchanged";
	argv[n++] = "--ioengine=io_uring";
	snprintf(buf[b], PATH_MAX + 16, "--filename=%s", path);
	argv[n++] = buf[b++];
	argv[n++] = "--bs=4k";
	argv[n++] = "--size=32m";
	/* Small: the whole program runs under run-suite's 120 s limit. */
	argv[n++] = "--io_size=" FIO_IO_SIZE;
	/*
	 * fio's random map (no --norandommap): each block is written once.
	 * Two writes to one block in flight together may land in either
	 * order, on io_uring too (a punted one is issued late), and verify
	 * then finds the older data.
	 */
	argv[n++] = "--randrepeat=0";
	for (i = 0; i < 8 && c->opts[i]; i++)
		argv[n++] = (char *)c->opts[i];
	argv[n] = NULL;
}

/*
 * fio finished without an error and did all its I/O: "err= 0" alone is
 * not enough (an engine whose io_uring_enter() fails with errno 0 gives
 * up quietly), so the I/O it issued must add up to --io_size.
 */
static bool fio_ok(void)
{
	const char *p = strstr(out, "issued rwts: total=");
	unsigned long r = 0, w = 0;

	if (!strstr(out, "err= 0") || strstr(out, "verify: bad") ||
	    strstr(out, "fio: io_u error") || !p)
		return false;
	if (sscanf(p, "issued rwts: total=%lu,%lu", &r, &w) != 2)
		return false;
	return r + w >= FIO_IO_BYTES / 4096;
}

static void run_fio_cases(bool blockdev)
{
	struct target t;
	unsigned i;

	require_ring();
	find_repo();
	if (access("/usr/bin/fio", X_OK))
		SKIP_BECAUSE("no /usr/bin/fio (Debian's fio package)");
	disable_io_uring();
	target_open(&t, blockdev ? TGT_NULLB : TGT_EXT4, true, 0, 32 << 20);
	for (i = 0; i < sizeof(fio_cases) / sizeof(fio_cases[0]); i++) {
		const struct fio_case *c = &fio_cases[i];
		char *argv[24], buf[1][PATH_MAX + 16];
		int ret;

		if (c->blockdev != blockdev)
			continue;
		fio_argv(c, t.path, true, argv, buf);
		ret = run_denied(argv, out, sizeof(out));
		if (ret || !fio_ok()) {
			print_tail(c->what);
			fail_msg("ring-run fio %s: exit %d", c->what, ret);
		}
		printf("# ok: ring-run fio --ioengine=io_uring %s\n", c->what);
	}
	/* Without ring-run the same fio cannot do I/O at all. */
	{
		char *argv[24], buf[1][PATH_MAX + 16];

		/* The first case is a block device's, the last a file's. */
		fio_argv(&fio_cases[blockdev ? 0 : sizeof(fio_cases) /
				    sizeof(fio_cases[0]) - 1],
			 t.path, false, argv, buf);
		if (!run_denied(argv, out, sizeof(out)) && fio_ok()) {
			print_tail("fio without ring-run");
			fail_msg("fio's io_uring engine ran with io_uring off");
		}
	}
	target_close(&t);
}

static void test_fio_null_blk(void **state)
{
	run_fio_cases(true);
}

static void test_fio_ext4_file(void **state)
{
	run_fio_cases(false);
}

/* t/io_uring's IOPS lines: "IOPS=123, ..." with a value above zero. */
static bool t_io_uring_ok(void)
{
	const char *p = out;

	while ((p = strstr(p, "IOPS="))) {
		p += 5;
		if (atol(p) > 0)
			return true;
	}
	return false;
}

static void test_t_io_uring(void **state)
{
	static const char *const cases[][12] = {
		/* Polling (its default): issue 12. */
		{ "-N1", "-s1", "-c1", "-d1", NULL },
		{ "-N1", "-s32", "-c32", "-d128", NULL },
		{ "-B1", "-F0", "-p0", "-O1", "-d32", "-s8", "-c8", NULL },
		{ "-B0", "-F0", "-p0", "-O1", "-d1", "-s1", "-c1", NULL },
		/* Registered files. */
		{ "-B1", "-F1", "-p0", "-O1", "-d32", "-s8", "-c8", NULL },
		/* Polled (IORING_SETUP_IOPOLL), its default. */
		{ "-B1", "-F1", "-p1", "-O1", "-d32", "-s8", "-c8", NULL },
	};
	struct target t;
	unsigned i;

	require_ring();
	find_repo();
	if (access(t_io_uring, X_OK))
		SKIP_BECAUSE("no %s (built from fio's source by make)", t_io_uring);
	disable_io_uring();
	target_open(&t, TGT_NULLB, true, 0, 32 << 20);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[20];
		int n = 0, j, ret;

		argv[n++] = ring_run;
		argv[n++] = t_io_uring;
		for (j = 0; cases[i][j]; j++)
			argv[n++] = (char *)cases[i][j];
		argv[n++] = "-r2";	/* IOPS lines come once a second */
		argv[n++] = "-n1";
		argv[n++] = t.path;
		argv[n] = NULL;
		ret = run_denied(argv, out, sizeof(out));
		if (ret || !t_io_uring_ok()) {
			print_tail("t/io_uring");
			fail_msg("ring-run t/io_uring %s %s: exit %d",
				 cases[i][0], cases[i][1], ret);
		}
		printf("# ok: ring-run t/io_uring %s %s %s\n", cases[i][0],
		       cases[i][1], cases[i][2]);
	}
	target_close(&t);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_io_uring_is_off),
	cmocka_unit_test(test_fio_null_blk),
	cmocka_unit_test(test_fio_ext4_file),
	cmocka_unit_test(test_t_io_uring),
};

int main(int argc, char **argv)
{
	/* Re-run under the filter: io_uring_setup must fail with EPERM. */
	if (argc == 2 && !strcmp(argv[1], "--probe"))
		return try_io_uring_setup() == -EPERM ? 0 : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
