// SPDX-License-Identifier: MIT
/*
 * The io_uring system calls that no symbol interposition can catch: those
 * made with an inline syscall instruction.  Debian's fio (its io_uring
 * engine) and fio's t/io_uring call io_uring_enter() that way on x86-64
 * (fio's FIO_ARCH_HAS_SYSCALL), while setup and register go through libc's
 * syscall().  libring-preload.so installs a seccomp filter that turns the
 * three io_uring system calls into SIGSYS, whose handler runs them on
 * /dev/ring and puts the result where the instruction leaves it (rax), so
 * the program goes on as if the kernel had answered.
 *
 * A filter with SECCOMP_RET_TRAP takes precedence over a container's
 * SECCOMP_RET_ERRNO for the same calls, and the trap fires before the
 * kernel's own io_uring_disabled check: both ways of switching io_uring
 * off are covered.  The price: the filter needs no_new_privs (set-uid
 * programs exec'd later do not gain privileges), it is inherited across
 * fork and exec (ring-run's LD_PRELOAD goes with the environment, so the
 * handler comes back after exec; a program exec'd without it that makes
 * io_uring calls is killed by SIGSYS), and every trapped call costs a
 * signal.  RING_RUN_NO_TRAP=1 leaves the filter out.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "translate.h"

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup	425
#define __NR_io_uring_enter	426
#define __NR_io_uring_register	427
#endif

#ifndef SYS_SECCOMP
#define SYS_SECCOMP		1
#endif

XL_HIDDEN long xl_syscall(long nr, const long a[6])
{
	switch (nr) {
	case __NR_io_uring_setup:
		return xl_setup((unsigned)a[0], (struct ring_params *)a[1]);
	case __NR_io_uring_enter:
		return xl_enter((unsigned)a[0], (unsigned)a[1], (unsigned)a[2],
				(unsigned)a[3], (const void *)a[4],
				(size_t)a[5]);
	case __NR_io_uring_register:
		return xl_register((unsigned)a[0], (unsigned)a[1],
				   (void *)a[2], (unsigned)a[3]);
	}
	return -ENOSYS;
}

#if defined(__x86_64__)
static void trap_handler(int sig, siginfo_t *si, void *ucontext)
{
	greg_t *r = ((ucontext_t *)ucontext)->uc_mcontext.gregs;
	int saved_errno = errno;
	long a[6];

	/* Only our filter's traps: anything else keeps SIGSYS's meaning. */
	if (si->si_code != SYS_SECCOMP || si->si_arch != AUDIT_ARCH_X86_64 ||
	    si->si_syscall < __NR_io_uring_setup ||
	    si->si_syscall > __NR_io_uring_register) {
		signal(SIGSYS, SIG_DFL);
		raise(SIGSYS);
		return;
	}
	/* The system call convention: rdi, rsi, rdx, r10, r8, r9 -> rax. */
	a[0] = r[REG_RDI];
	a[1] = r[REG_RSI];
	a[2] = r[REG_RDX];
	a[3] = r[REG_R10];
	a[4] = r[REG_R8];
	a[5] = r[REG_R9];
	r[REG_RAX] = xl_syscall(si->si_syscall, a);
	errno = saved_errno;
}

/* SIGSYS for io_uring_setup/enter/register of this ABI, nothing else. */
static int trap_install(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __NR_io_uring_setup, 0, 2),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, __NR_io_uring_register,
			 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(f) / sizeof(f[0]),
		.filter = f,
	};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = trap_handler;
	/*
	 * NODEFER: a trapped call from a handler that interrupted a trapped
	 * call (SIGSYS blocked then) would make the kernel reset SIGSYS to
	 * its default and kill the process.
	 */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL))
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	/* TSYNC: threads a constructor of another library may have started. */
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		       SECCOMP_FILTER_FLAG_TSYNC, &prog) ? -1 : 0;
}

static int trap_active;

__attribute__((constructor)) static void trap_init(void)
{
	const char *off = getenv("RING_RUN_NO_TRAP");

	if (off && *off && strcmp(off, "0"))
		return;
	/*
	 * Without the filter, inline calls reach the kernel and fail as they
	 * would without ring-run: nothing to report from a constructor.
	 */
	trap_active = !trap_install();
}

/*
 * A thread that blocks SIGSYS (all signals, say, for signalfd) and then
 * traps would be killed: the kernel forces a blocked trap signal to its
 * default action.  So while the filter is in, masks never block SIGSYS.
 */
typedef int (*sigmask_fn)(int how, const sigset_t *set, sigset_t *old);

static int mask_without_sigsys(const char *name, int how, const sigset_t *set,
			       sigset_t *old)
{
	sigmask_fn real = (sigmask_fn)dlsym(RTLD_NEXT, name);
	sigset_t copy;

	if (!real)
		return errno = ENOSYS, -1;
	if (trap_active && set && how != SIG_UNBLOCK &&
	    sigismember(set, SIGSYS)) {
		copy = *set;
		sigdelset(&copy, SIGSYS);
		set = &copy;
	}
	return real(how, set, old);
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	return mask_without_sigsys("sigprocmask", how, set, old);
}

int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return mask_without_sigsys("pthread_sigmask", how, set, old);
}
#endif /* __x86_64__ */
