/* SPDX-License-Identifier: MIT */
/*
 * The io_uring system calls implemented on /dev/ring's ioctls, shared by
 * the drop-in liburing.so.2 and the LD_PRELOAD shim (each links its own
 * copy; hidden, so neither exports them).  Arguments as the system calls
 * take them; results as the kernel gives them: the fd or count, or -errno.
 */
#ifndef RING_COMPAT_TRANSLATE_H
#define RING_COMPAT_TRANSLATE_H

#include <stddef.h>

#define XL_HIDDEN __attribute__((visibility("hidden")))

struct ring_params;

XL_HIDDEN int xl_setup(unsigned entries, struct ring_params *p);
XL_HIDDEN int xl_enter(unsigned fd, unsigned to_submit, unsigned min_complete,
		       unsigned flags, const void *arg, size_t argsz);
XL_HIDDEN int xl_register(unsigned fd, unsigned opcode, void *arg,
			  unsigned nr_args);

/* System call @nr (io_uring_setup/enter/register) with its six arguments. */
XL_HIDDEN long xl_syscall(long nr, const long a[6]);

#endif /* RING_COMPAT_TRANSLATE_H */
