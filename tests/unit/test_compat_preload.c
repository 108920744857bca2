// SPDX-License-Identifier: MIT
/*
 * libring-preload.so's syscall() (lib/compat/preload.c), linked into this
 * program as LD_PRELOAD puts it in front of libc's: the three io_uring
 * numbers go to the translator with syscall()'s convention (-1 and errno),
 * every other number reaches libc's syscall() with all its arguments.
 * No module: RING_DEV names a missing device or /dev/null.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/ring.h>

static void test_other_calls_pass(void **state)
{
	char path[] = "/tmp/ring-preload-XXXXXX";
	char buf[8] = { 0 };
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(syscall(SYS_getpid), getpid());
	/* Four arguments, the last one a 64-bit offset. */
	assert_int_equal(syscall(SYS_pwrite64, fd, "abcdefgh", 8, 4096L), 8);
	assert_int_equal(syscall(SYS_pread64, fd, buf, 3, 4098L), 3);
	assert_memory_equal(buf, "cde", 3);
	/* Errors keep libc's convention. */
	errno = 0;
	assert_int_equal(syscall(SYS_close, 1000000), -1);
	assert_int_equal(errno, EBADF);
	close(fd);
}

static void test_io_uring_calls_translated(void **state)
{
	struct ring_params p;

	memset(&p, 0, sizeof(p));
	/* The device's open() error: the translator was reached. */
	setenv("RING_DEV", "/nonexistent/ring", 1);
	errno = 0;
	assert_int_equal(syscall(__NR_io_uring_setup, 8, &p), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(syscall(__NR_io_uring_setup, 8, NULL), -1);
	assert_int_equal(errno, EFAULT);
	/* /dev/null as the device: open works, SETUP is not its ioctl. */
	setenv("RING_DEV", "/dev/null", 1);
	assert_int_equal(syscall(__NR_io_uring_setup, 8, &p), -1);
	assert_int_equal(errno, ENOTTY);

	/* enter: unknown flags first, whatever the fd (as io_uring). */
	errno = 0;
	assert_int_equal(syscall(__NR_io_uring_enter, 1000, 0, 0, ~0U, NULL,
				 0), -1);
	assert_int_equal(errno, EINVAL);
	/* enter: a registered-ring index out of range (all six arguments). */
	errno = 0;
	assert_int_equal(syscall(__NR_io_uring_enter, 16, 0, 0, 1U << 4,
				 NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	/* register: io_uring's REGISTER_EVENTFD never reaches ring (4 = IOTLB). */
	errno = 0;
	assert_int_equal(syscall(__NR_io_uring_register, 0, 4, NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	/* A file that is not a ring: what io_uring says of it. */
	errno = 0;
	assert_int_equal(syscall(__NR_io_uring_register, 0, 8, NULL, 0), -1);
	assert_int_equal(errno, EOPNOTSUPP);
}

#if defined(__x86_64__)
/* trap.c's SIGSYS handler, saved before cmocka puts its own in place. */
static struct sigaction trap_action;

/* A system call made with the instruction itself, as fio's enter is. */
static long inline_syscall3(long nr, long a0, long a1, long a2)
{
	register long r10 asm("r10") = 0;
	register long r8 asm("r8") = 0;
	register long r9 asm("r9") = 0;
	long ret;

	/* The other three arguments are 0, not whatever the registers hold. */
	asm volatile("syscall"
		     : "=a"(ret)
		     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8),
		       "r"(r9)
		     : "rcx", "r11", "memory");
	return ret;
}

/*
 * trap.c's seccomp filter turns inline io_uring calls into SIGSYS and
 * answers them from the translator: the answers are the translator's
 * (the missing device's ENOENT, not the host's io_uring or its EPERM),
 * and other inline calls are untouched.
 */
static void test_inline_calls_trapped(void **state)
{
	struct ring_params p;

	assert_int_equal(sigaction(SIGSYS, &trap_action, NULL), 0);
	memset(&p, 0, sizeof(p));
	setenv("RING_DEV", "/nonexistent/ring", 1);
	errno = 1234;
	assert_int_equal(inline_syscall3(__NR_io_uring_setup, 8, (long)&p, 0),
			 -ENOENT);
	/* The handler leaves errno as it was: rax carries the result. */
	assert_int_equal(errno, 1234);
	assert_int_equal(inline_syscall3(__NR_io_uring_register, 0, 4, 0),
			 -EINVAL);
	/* fd 1000 is not open: EBADF, as io_uring_enter() says. */
	assert_int_equal(inline_syscall3(__NR_io_uring_enter, 1000, 0, 0),
			 -EBADF);
	assert_int_equal(inline_syscall3(SYS_getpid, 0, 0, 0), getpid());
}

/*
 * A thread that blocks every signal still gets its trapped calls answered
 * (a blocked trap signal would kill the process): SIGSYS stays unblocked.
 */
static void test_trap_with_signals_blocked(void **state)
{
	sigset_t all, old, now;

	assert_int_equal(sigaction(SIGSYS, &trap_action, NULL), 0);
	sigfillset(&all);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &all, &old), 0);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
	assert_false(sigismember(&now, SIGSYS));
	assert_true(sigismember(&now, SIGUSR1));
	setenv("RING_DEV", "/nonexistent/ring", 1);
	assert_int_equal(inline_syscall3(__NR_io_uring_register, 0, 9, 0),
			 -EINVAL);
	assert_int_equal(sigprocmask(SIG_SETMASK, &all, NULL), 0);
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &now), 0);
	assert_false(sigismember(&now, SIGSYS));
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_calls_pass),
		cmocka_unit_test(test_io_uring_calls_translated),
#if defined(__x86_64__)
		cmocka_unit_test(test_inline_calls_trapped),
		cmocka_unit_test(test_trap_with_signals_blocked),
#endif
	};

#if defined(__x86_64__)
	sigaction(SIGSYS, NULL, &trap_action);
#endif

	return cmocka_run_group_tests(tests, NULL, NULL);
}
