// SPDX-License-Identifier: GPL-2.0
/*
 * kcovrun: run a program with KCOV on, and add the ring.ko PCs it reached
 * to a cover file ("SECTION OFFSET" lines, as ringfuzz writes them), so
 * that tests/fuzz/coverage can tell what the test suite reaches.
 *
 *   kcovrun COVERFILE PROGRAM [ARGS...]
 *
 * The program's main thread is traced (KCOV_ENABLE survives exec), and so
 * is what ring.ko's workers run for rings it sets up (remote KCOV with a
 * common handle, which its threads and children inherit).  Other threads
 * and child processes of the program are not traced.  A thread here empties
 * the areas as they fill, so long tests lose little.  Exit status: the
 * program's.
 */
#include <fcntl.h>
#include <linux/kcov.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#define WORDS		(1UL << 20)
#define COVER_BITS	(1U << 20)

static uint64_t *areas[2];
static uint8_t seen[COVER_BITS / 8];
static struct fz_text ko_text;
static atomic_bool done;

static void drain(uint64_t *area)
{
	uint64_t n = __atomic_load_n(&area[0], __ATOMIC_ACQUIRE), i;

	if (n > WORDS - 1)
		n = WORDS - 1;
	for (i = 0; i < n; i++) {
		uint64_t off = area[i + 1] - ko_text.lo;

		if (area[i + 1] >= ko_text.lo && off < COVER_BITS)
			seen[off >> 3] |= 1 << (off & 7);
	}
	/* Entries written meanwhile are lost: a few, of PCs seen again. */
	__atomic_store_n(&area[0], 0, __ATOMIC_RELEASE);
}

static void *drainer(void *arg)
{
	(void)arg;
	while (!atomic_load(&done)) {
		drain(areas[0]);
		drain(areas[1]);
		usleep(20000);
	}
	return NULL;
}

static void write_cover(const char *path)
{
	FILE *f = fopen(path, "a");

	if (!f) {
		perror(path);
		return;
	}
	fz_cover_write(&ko_text, seen, COVER_BITS, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	int fds[2], i, st = 0;
	pthread_t t;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: kcovrun COVERFILE PROGRAM [ARGS...]\n");
		return 2;
	}
	if (fz_text_load(&ko_text))
		goto plain;
	for (i = 0; i < 2; i++) {
		fds[i] = open("/sys/kernel/debug/kcov", O_RDWR);
		if (fds[i] < 0 || ioctl(fds[i], KCOV_INIT_TRACE, WORDS))
			goto plain;
		areas[i] = mmap(NULL, WORDS * 8, PROT_READ | PROT_WRITE,
				MAP_SHARED, fds[i], 0);
		if (areas[i] == MAP_FAILED)
			goto plain;
	}
	pid = fork();
	if (pid == 0) {
		/* The remote side first: it claims this task's kcov slot,
		 * so the traced one is a child that inherits the handle. */
		struct kcov_remote_arg arg = {
			.trace_mode = KCOV_TRACE_PC, .area_size = WORDS,
			.common_handle = (getpid() & 0xffffff) + 1,
		};
		pid_t g;

		ioctl(fds[0], KCOV_REMOTE_ENABLE, &arg);
		g = fork();
		if (g == 0) {
			close(fds[0]);
			if (ioctl(fds[1], KCOV_ENABLE, KCOV_TRACE_PC))
				perror("kcovrun: KCOV_ENABLE");
			execvp(argv[2], argv + 2);
			perror(argv[2]);
			_exit(127);
		}
		if (g < 0 || waitpid(g, &st, 0) != g)
			_exit(127);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	if (pid < 0)
		goto plain;
	pthread_create(&t, NULL, drainer, NULL);
	waitpid(pid, &st, 0);
	atomic_store(&done, true);
	pthread_join(t, NULL);
	drain(areas[0]);
	drain(areas[1]);
	write_cover(argv[1]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
plain:
	/* No KCOV or no ring.ko: run it untraced rather than not at all. */
	fprintf(stderr, "kcovrun: no KCOV or no ring.ko: running %s untraced\n",
		argv[2]);
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
