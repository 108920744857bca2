// SPDX-License-Identifier: MIT
/*
 * libring as applications get it: linked against lib/libring.so (soname
 * libring.so.1), with the real syscalls. Without the module, devices that
 * are not a ring still exercise the error paths: they must come back as
 * the kernel's -errno and leave no descriptor behind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libring.h>

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_linked_from_so(void **state)
{
	Dl_info info;

	assert_true(dladdr((void *)ring_queue_init, &info));
	assert_non_null(strstr(info.dli_fname, "libring.so.1"));
	/* Internals are not exported, even by name. */
	assert_null(dlsym(RTLD_DEFAULT, "map_rings"));
	assert_null(dlsym(RTLD_DEFAULT, "flush_sq"));
	assert_non_null(dlvsym(RTLD_DEFAULT, "ring_submit", "LIBRING_1.0"));
}

static void test_no_device(void **state)
{
	struct ring ring;
	unsigned fds = open_fds();

	setenv("RING_DEV", "/nonexistent/ring", 1);
	errno = 0;
	assert_int_equal(ring_queue_init(8, &ring, 0), -ENOENT);
	assert_int_equal(open_fds(), fds);
	unsetenv("RING_DEV");
}

static void test_not_a_ring(void **state)
{
	struct ring ring;
	unsigned fds = open_fds();
	int fd;

	/* /dev/null takes the open and refuses the ioctl. */
	setenv("RING_DEV", "/dev/null", 1);
	assert_int_equal(ring_queue_init(8, &ring, 0), -ENOTTY);
	assert_int_equal(open_fds(), fds);
	unsetenv("RING_DEV");

	fd = open("/dev/null", O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ring_enter(fd, 1, 1, RING_ENTER_GETEVENTS), -ENOTTY);
	assert_int_equal(ring_register(fd, 0, NULL, 0), -ENOTTY);
	close(fd);
	assert_int_equal(ring_enter(-1, 0, 0, 0), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linked_from_so),
		cmocka_unit_test(test_no_device),
		cmocka_unit_test(test_not_a_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
