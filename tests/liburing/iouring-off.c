// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring switched off, and proof that it is: for running liburing's tests
 * through /dev/ring where a pass cannot have come from io_uring.
 *
 *   iouring-off --check          exit 0 when io_uring_setup(2) fails with
 *                                EPERM here (kernel.io_uring_disabled=2, or
 *                                the seccomp filter below), else 1
 *   iouring-off --seccomp CMD... run CMD with a seccomp filter that fails
 *                                io_uring_setup, io_uring_enter and
 *                                io_uring_register with EPERM, as Docker's
 *                                default profile does (kernels without
 *                                kernel.io_uring_disabled: 6.1)
 *
 * The filter is inherited by CMD's children and kept across exec.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

static int check(void)
{
	unsigned char params[120] = { 0 };	/* struct io_uring_params */
	long fd = syscall(__NR_io_uring_setup, 1, params);

	if (fd >= 0) {
		printf("iouring-off: io_uring_setup succeeded: io_uring is on\n");
		close((int)fd);
		return 1;
	}
	if (errno != EPERM) {
		printf("iouring-off: io_uring_setup failed with %s, not EPERM\n",
		       strerror(errno));
		return 1;
	}
	printf("iouring-off: io_uring_setup fails with EPERM\n");
	return 0;
}

static int deny(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(unsigned int)__X32_SYSCALL_BIT),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("iouring-off: seccomp");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--check"))
		return check();
	if (argc >= 3 && !strcmp(argv[1], "--seccomp")) {
		if (deny())
			return 126;
		execvp(argv[2], argv + 2);
		fprintf(stderr, "iouring-off: exec %s: %s\n", argv[2], strerror(errno));
		return 127;
	}
	fprintf(stderr, "usage: iouring-off --check | --seccomp CMD [ARGS...]\n");
	return 2;
}
