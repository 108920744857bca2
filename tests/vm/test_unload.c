// SPDX-License-Identifier: MIT
/*
 * Module unload: impossible while a ring file (or only a mapping of it)
 * exists, possible once everything is gone; the module is then loaded
 * again from $RING_KO and works. run-suite runs this binary last.
 *
 * Whatever happens, the group teardown loads the module back if it is
 * missing, so the VM is left as the runner set it up.
 */
#include "vmtest.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define MODNAME "ring"

static bool module_loaded(void)
{
	return !access("/sys/module/" MODNAME, F_OK);
}

static int unload(void)
{
	/* O_NONBLOCK as rmmod does: fail at once if the module is in use. */
	return syscall(SYS_delete_module, MODNAME, O_NONBLOCK) ? -errno : 0;
}

static int load(void)
{
	const char *ko = getenv("RING_KO");
	int fd, ret;

	if (!ko || !*ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* Wait (up to ~3 s) for the device node to appear or vanish. */
static bool wait_dev(bool present)
{
	int i;

	for (i = 0; i < 300; i++) {
		if (!access(ring_dev(), F_OK) == present)
			return true;
		sleep_ms(10);
	}
	return false;
}

static void expect_in_use(const char *what)
{
	int ret = unload();

	if (!ret) {
		/* Put it back for the other checks, then report. */
		load();
		fail_msg("%s: the module unloaded while in use", what);
	}
	/* The kernel says EWOULDBLOCK (EAGAIN) for a held module; EBUSY too. */
	if (ret != -EAGAIN && ret != -EBUSY)
		fail_msg("%s: delete_module: %s, expected EAGAIN or EBUSY", what,
			 errstr(ret));
	if (!module_loaded())
		fail_msg("%s: module gone after a failed unload", what);
}

/* Unload once nothing holds the module; deferred frees may lag a little. */
static int unload_when_free(void)
{
	int i, ret = -EAGAIN;

	for (i = 0; i < 30; i++) {
		ret = unload();
		if (ret != -EAGAIN && ret != -EBUSY)
			break;
		sleep_ms(100);
	}
	return ret;
}

static void test_unload_blocked_then_allowed(void **state)
{
	struct ring_stats s;
	struct raw_ring r;
	int fd, ret;

	require_ring();
	if (!getenv("RING_KO") || !*getenv("RING_KO")) {
		print_message("# SKIP: RING_KO unset, cannot reload the module\n");
		skip();
	}
	if (!module_loaded()) {
		print_message("# SKIP: /sys/module/" MODNAME " absent (built in?)\n");
		skip();
	}

	/* An open file without a ring holds the module. */
	fd = dev_open();
	expect_in_use("fd open, no ring");
	close(fd);

	/* A ring with completions and a backlog holds it. */
	{
		struct ring_params p = { .cq_entries = 2,
					 .flags = RING_SETUP_CQSIZE };

		raw_ring_init(&r, 2, &p);
		raw_submit_nops(&r, 2, 0);
		raw_submit_nops(&r, 2, 2);
	}
	expect_in_use("ring open");

	/* Only the mappings left: still held. */
	close(r.fd);
	r.fd = -1;
	expect_in_use("fd closed, mappings alive");
	raw_ring_unmap(&r);

	ret = unload_when_free();
	if (ret)
		fail_msg("unload with no ring left: %s", errstr(ret));
	if (!wait_dev(false))
		fail_msg("%s still present after unload", ring_dev());
	assert_false(module_loaded());

	ret = load();
	if (ret)
		fail_msg("insmod %s: %s", getenv("RING_KO"), errstr(ret));
	if (!wait_dev(true))
		fail_msg("%s did not come back after insmod", ring_dev());

	/* Fresh module: counters at zero, rings work. */
	assert_true(stats_get(&s));
	assert_int_equal(s.rings, 0);
	assert_int_equal(s.requests, 0);
	assert_int_equal(s.pages, 0);
	raw_ring_init(&r, 4, NULL);
	raw_submit_nops(&r, 4, 0);
	assert_int_equal(raw_cq_ready(&r), 4);
	raw_ring_exit(&r);
}

/* Leave the module loaded whatever the test did. */
static int restore_module(void **state)
{
	int ret;

	if (module_loaded() || !getenv("RING_KO"))
		return 0;
	ret = load();
	if (ret) {
		fprintf(stderr, "# could not reload %s: %s\n", getenv("RING_KO"),
			strerror(-ret));
		return -1;
	}
	wait_dev(true);
	return 0;
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_unload_blocked_then_allowed),
};

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, restore_module);
}
