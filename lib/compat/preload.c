// SPDX-License-Identifier: MIT
/*
 * libring-preload.so: LD_PRELOAD it and the io_uring system calls an
 * application makes through libc's syscall() (fio's io_uring engine,
 * t/io_uring, anything with its own raw wrappers) run on /dev/ring.
 * Every other system call goes to libc's syscall() unchanged.
 *
 * Calls made with an inline syscall instruction cannot be caught this
 * way: Debian's liburing.so.2 makes all of them so (the drop-in
 * liburing.so.2 replaces it), fio and t/io_uring their io_uring_enter()
 * (trap.c turns those into SIGSYS and runs them from the handler).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include "translate.h"

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup	425
#define __NR_io_uring_enter	426
#define __NR_io_uring_register	427
#endif

typedef long (*syscall_fn)(long nr, ...);

/* libc's syscall(); looked up once, racing lookups find the same one. */
static syscall_fn real_syscall(void)
{
	static syscall_fn real;
	syscall_fn fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);

	if (!fn) {
		fn = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
		__atomic_store_n(&real, fn, __ATOMIC_RELEASE);
	}
	return fn;
}

/* syscall()'s convention: the result, or -1 with errno set. */
static long result(long ret)
{
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

long syscall(long nr, ...)
{
	syscall_fn real;
	va_list ap;
	long a[6];
	int i;

	/* Six arguments, as many as any system call takes. */
	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);

	if (nr == __NR_io_uring_setup || nr == __NR_io_uring_enter ||
	    nr == __NR_io_uring_register)
		return result(xl_syscall(nr, a));
	real = real_syscall();
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
