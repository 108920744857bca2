/* SPDX-License-Identifier: MIT */
/*
 * Touching memory that may raise SIGBUS or SIGSEGV (the IOTLB mapping
 * after an unmap, say) without dying: the signal is caught and reported.
 * For test programs; one probe at a time per thread.
 */
#ifndef RING_TEST_PROBE_H
#define RING_TEST_PROBE_H

#include <setjmp.h>
#include <signal.h>
#include <string.h>

static __thread sigjmp_buf *probe_jb;
static __thread volatile int probe_sig;

static void probe_handler(int sig)
{
	probe_sig = sig;
	if (probe_jb)
		siglongjmp(*probe_jb, 1);
	/* Not probing: the default action when the access is retried. */
	signal(sig, SIG_DFL);
}

static inline void probe_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/* memcpy that may fault on either side: 0, or the signal it got.  The
 * handlers must be installed (probe_install()). */
static inline int probe_copy_raw(void *dst, const void *src, size_t len)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		probe_jb = NULL;
		return probe_sig;
	}
	probe_jb = &jb;
	memcpy(dst, src, len);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	probe_jb = NULL;
	return 0;
}

/* The same, installing the handlers first (an earlier fault outside a
 * probe put back the default action). */
static inline int probe_copy(void *dst, const void *src, size_t len)
{
	probe_install();
	return probe_copy_raw(dst, src, len);
}

#endif /* RING_TEST_PROBE_H */
