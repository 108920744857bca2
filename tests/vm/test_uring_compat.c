// SPDX-License-Identifier: MIT
/*
 * Unmodified io_uring programs on /dev/ring (lib/compat, tools/ring-run):
 * - build/tests/vm/compat/uring-app, built against Debian's <liburing.h>
 *   and linked with -luring, run with LD_LIBRARY_PATH at the drop-in
 *   liburing.so.2: one test per scenario (it checks itself that the drop-in
 *   is what it loaded and that its rings are /dev/ring files);
 * - build/tests/vm/compat/raw-syscall, libc's syscall() only, through
 *   tools/ring-run, and as it is on io_uring for contrast;
 * - both again with io_uring switched off (kernel.io_uring_disabled=2,
 *   6.12; on 6.1, which has no such switch, SKIP).
 * The programs' own verdicts: exit 0 passed, 77 skip, else failed.
 */
#include "vmtest.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libring.h>

#define IOURING_DISABLED "/proc/sys/kernel/io_uring_disabled"

static char build[1024];	/* the build directory: .../build */
static char repo[1024];

/* This program is BUILD/tests/vm/test_uring_compat. */
static int find_paths(void **state)
{
	char exe[1024];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *p;
	int i;

	if (n <= 0)
		return -1;
	exe[n] = 0;
	for (i = 0; i < 3; i++) {
		p = strrchr(exe, '/');
		if (!p)
			return -1;
		*p = 0;
	}
	snprintf(build, sizeof(build), "%s", exe);
	p = strrchr(exe, '/');
	if (!p)
		return -1;
	*p = 0;
	snprintf(repo, sizeof(repo), "%s", exe);
	return 0;
}

static void path_of(char *out, const char *base, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", base, rel);
}

/*
 * Runs argv with the extra environment entries env (NULL-terminated),
 * output to our stdout as TAP comments; its exit status, or -1.
 */
static int run(char *const argv[], char *const env[])
{
	int pfd[2], status;
	char line[512];
	pid_t pid;
	FILE *f;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		for (; env && *env; env++)
			putenv(*env);
		execv(argv[0], argv);
		printf("exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (fgets(line, sizeof(line), f))
		print_message("# %s%s", line[0] == '#' ? line + 2 : line,
			      strchr(line, '\n') ? "" : "\n");
	fclose(f);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The program's verdict as this test's. */
static void verdict(const char *what, int status)
{
	if (status == 77) {
		print_message("# SKIP: %s cannot run here (see above)\n", what);
		skip();
	}
	if (status)
		fail_msg("%s: exit status %d", what, status);
}

static void require_built(const char *bin)
{
	if (access(bin, X_OK)) {
		print_message("# SKIP: %s not built (needs liburing-dev: "
			      "/usr/include/liburing.h)\n", bin);
		skip();
	}
}

/* uring-app SCENARIO with the drop-in on LD_LIBRARY_PATH. */
static void run_app(const char *scenario)
{
	char bin[PATH_MAX], libdir[PATH_MAX], ld[PATH_MAX + 32];
	char want[PATH_MAX + 32];
	char *argv[] = { bin, (char *)scenario, NULL };
	char *env[] = { ld, want, NULL };

	require_ring();
	path_of(bin, build, "tests/vm/compat/uring-app");
	require_built(bin);
	path_of(libdir, build, "lib/compat");
	snprintf(ld, sizeof(ld), "LD_LIBRARY_PATH=%s", libdir);
	snprintf(want, sizeof(want), "RING_TEST_DROPIN=%s/liburing.so.2",
		 libdir);
	verdict(scenario, run(argv, env));
}

static void test_app_nop(void **state) { run_app("nop"); }
static void test_app_rw(void **state) { run_app("rw"); }
static void test_app_fixed(void **state) { run_app("fixed"); }
static void test_app_buffers2(void **state) { run_app("buffers2"); }
static void test_app_files(void **state) { run_app("files"); }
static void test_app_probe(void **state) { run_app("probe"); }
static void test_app_timeout(void **state) { run_app("timeout"); }
static void test_app_ring_fd(void **state) { run_app("ring-fd"); }
static void test_app_sqpoll(void **state) { run_app("sqpoll"); }
static void test_app_refused(void **state) { run_app("refused"); }

/* raw-syscall KIND, through tools/ring-run or (io_uring) as it is. */
static void run_raw(const char *kind)
{
	char bin[PATH_MAX], ring_run[PATH_MAX];
	char *via[] = { ring_run, bin, (char *)kind, NULL };
	char *plain[] = { bin, (char *)kind, NULL };
	bool ring = !strcmp(kind, "ring");

	require_ring();
	path_of(bin, build, "tests/vm/compat/raw-syscall");
	path_of(ring_run, repo, "tools/ring-run");
	verdict(ring ? "ring-run raw-syscall" : "raw-syscall",
		run(ring ? via : plain, NULL));
}

static void test_ring_run_raw(void **state) { run_raw("ring"); }
static void test_raw_on_io_uring(void **state) { run_raw("io_uring"); }

/* ---- with io_uring switched off ------------------------------------------ */

static char saved_disabled[16];

static const char *kernel_name(void)
{
	const char *k = getenv("RING_KERNEL");

	return k ? k : "this kernel";
}

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

static int restore_io_uring(void **state)
{
	if (saved_disabled[0])
		write_file(IOURING_DISABLED, saved_disabled);
	saved_disabled[0] = 0;
	return 0;
}

static void test_io_uring_disabled(void **state)
{
	struct ring_params p = { 0 };
	int fd;

	require_ring();
	fd = open(IOURING_DISABLED, O_RDONLY);
	if (fd < 0) {
		print_message("# SKIP: no %s on %s (kernel.io_uring_disabled "
			      "is 6.6+)\n", IOURING_DISABLED, kernel_name());
		skip();
	}
	assert_true(read(fd, saved_disabled, sizeof(saved_disabled) - 1) > 0);
	close(fd);
	assert_true(write_file(IOURING_DISABLED, "2"));

	/* io_uring itself is off ... */
	errno = 0;
	assert_int_equal(syscall(__NR_io_uring_setup, 4, &p), -1);
	assert_int_equal(errno, EPERM);
	/* ... and the same programs run on /dev/ring. */
	run_raw("ring");
	run_app("all");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_nop),
		cmocka_unit_test(test_app_rw),
		cmocka_unit_test(test_app_fixed),
		cmocka_unit_test(test_app_buffers2),
		cmocka_unit_test(test_app_files),
		cmocka_unit_test(test_app_probe),
		cmocka_unit_test(test_app_timeout),
		cmocka_unit_test(test_app_ring_fd),
		cmocka_unit_test(test_app_sqpoll),
		cmocka_unit_test(test_app_refused),
		cmocka_unit_test(test_ring_run_raw),
		cmocka_unit_test(test_raw_on_io_uring),
		cmocka_unit_test_teardown(test_io_uring_disabled,
					  restore_io_uring),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, find_paths, NULL);
}
