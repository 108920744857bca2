// SPDX-License-Identifier: MIT
/*
 * Regressions found by the fuzzer (tests/fuzz/), one test each, with the
 * program that found it reduced to what matters.
 */
#include "vmtest.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libring.h>

/* ---- an owner that cannot be killed -------------------------------------- */
/*
 * A worker writes a tmpfs file from userfaultfd-registered memory that has
 * no handler: it waits in the fault holding the file's i_rwsem.  Another
 * thread of the owner then writes the same file and waits for that lock,
 * uninterruptibly.  SIGKILL to the owner: the thread in the lock can only
 * go once the worker lets go, and the worker, a kernel thread, is not
 * killed with the process; the process never finished exiting, so none
 * of the ring's exit triggers (its files, its mm, its pidfd) fired.  The
 * fuzzer found it as an executor that did not die.  Fixed by the exit
 * watch (async.c): while workers run, the owner's group exit interrupts
 * them.
 */
static int tmp_fd = -1;

static void *write_same_file(void *arg)
{
	char c = 'x';

	(void)arg;
	if (pwrite(tmp_fd, &c, 1, 0) < 0)
		c = 0;
	return NULL;
}

static void say(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(3);
}

/* The child: never returns; tells the test how far it got. */
static void owner_main(int sync)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct ring_sqe *sqe;
	struct pollfd pfd;
	struct ring ring;
	pthread_t t;
	char *buf;
	int uffd;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		say(sync, 'S');
		_exit(0);
	}
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range.start = (unsigned long)buf;
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (buf == MAP_FAILED || ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		say(sync, 'S');
		_exit(0);
	}
	tmp_fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (tmp_fd < 0 || ring_queue_init(4, &ring, 0))
		_exit(4);
	sqe = ring_get_sqe(&ring);
	ring_prep_write(sqe, tmp_fd, buf, 4096, 0);
	if (ring_submit(&ring) != 1)
		_exit(5);
	/* The worker's fault on buf: it holds the file's lock now. */
	pfd = (struct pollfd){ uffd, POLLIN, 0 };
	if (poll(&pfd, 1, settle_ms()) != 1) {
		say(sync, 'F');
		_exit(0);
	}
	if (pthread_create(&t, NULL, write_same_file, NULL))
		_exit(6);
	usleep(200000);		/* into the lock */
	say(sync, 'R');
	for (;;)
		pause();
}

static void test_kill_owner_while_worker_faults(void **state)
{
	int sync[2], pfd_fd, st;
	struct pollfd pfd;
	char c = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(sync), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sync[0]);
		owner_main(sync[1]);
	}
	close(sync[1]);
	assert_int_equal(read(sync[0], &c, 1), 1);
	close(sync[0]);
	if (c == 'S') {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		print_message("# SKIP: no userfaultfd here\n");
		skip();
	}
	if (c != 'R') {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail_msg("the worker never faulted on the userfaultfd buffer (%c)", c);
	}
	pfd_fd = syscall(SYS_pidfd_open, pid, 0);
	assert_true(pfd_fd >= 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	pfd = (struct pollfd){ pfd_fd, POLLIN, 0 };
	if (poll(&pfd, 1, settle_ms()) != 1)
		fail_msg("the owner did not die %d ms after SIGKILL", settle_ms());
	close(pfd_fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_kill_owner_while_worker_faults),
};

VMTEST_MAIN(tests)
