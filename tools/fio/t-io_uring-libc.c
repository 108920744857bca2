// SPDX-License-Identifier: MIT
/*
 * fio's t/io_uring, unchanged but for one thing: io_uring_enter() goes
 * through libc's syscall(), as fio builds it on architectures without
 * FIO_ARCH_HAS_SYSCALL, instead of an inline syscall instruction.
 *
 * Why: tools/ring-run catches syscall() with an LD_PRELOAD shim (a
 * function call), but an inline syscall instruction only with a seccomp
 * trap and a signal, about 4,200 instructions per call. make bench runs
 * this build through ring-run so that its ring cells measure t/io_uring's
 * own loop on /dev/ring; the io_uring cells keep the inline build, io_uring
 * at its best.
 */
#include "arch/arch.h"		/* the same guarded header t/io_uring.c includes */
#undef FIO_ARCH_HAS_SYSCALL
#include "t/io_uring.c"
