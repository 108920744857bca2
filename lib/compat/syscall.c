// SPDX-License-Identifier: MIT
/*
 * The drop-in liburing: the three system calls as liburing 2.3 exports
 * them (-errno, not -1 and errno), on the translator.
 */
#include "dropin.h"

int io_uring_enter(unsigned int fd, unsigned int to_submit,
		   unsigned int min_complete, unsigned int flags, sigset_t *sig)
{
	return xl_enter(fd, to_submit, min_complete, flags, sig,
			LU_SIGSET_SIZE);
}

int io_uring_enter2(unsigned int fd, unsigned int to_submit,
		    unsigned int min_complete, unsigned int flags,
		    sigset_t *sig, size_t sz)
{
	return xl_enter(fd, to_submit, min_complete, flags, sig, sz);
}

int io_uring_setup(unsigned int entries, struct ring_params *p)
{
	return xl_setup(entries, p);
}

int io_uring_register(unsigned int fd, unsigned int opcode, const void *arg,
		      unsigned int nr_args)
{
	return xl_register(fd, opcode, (void *)arg, nr_args);
}
