// SPDX-License-Identifier: MIT
/*
 * The raw ioctls, returning -errno rather than -1 with errno set.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include <libring.h>

int ring_enter(unsigned int fd, unsigned int to_submit,
	       unsigned int min_complete, unsigned int flags)
{
	struct ring_enter e = {
		.to_submit	= to_submit,
		.min_complete	= min_complete,
		.flags		= flags,
	};
	int ret = ioctl((int)fd, RING_IOC_ENTER, &e);

	return ret < 0 ? -errno : ret;
}

int ring_register(unsigned int fd, unsigned int opcode, const void *arg,
		  unsigned int nr_args)
{
	struct ring_register r = {
		.opcode		= opcode,
		.nr_args	= nr_args,
		.arg		= (uintptr_t)arg,
	};
	int ret = ioctl((int)fd, RING_IOC_REGISTER, &r);

	return ret < 0 ? -errno : ret;
}
