/* SPDX-License-Identifier: MIT */
/* enter-steps-uring.c: one NOP per io_uring_enter through liburing. */
#ifndef ENTER_STEPS_H
#define ENTER_STEPS_H

/* A ring for uring_nop_step(), NULL where io_uring is off; @wait: each
 * enter also waits for the NOP's CQE (GETEVENTS, min_complete 1). */
void *uring_nop_init(int wait);
/* Submit one NOP, reap its CQE: 0, or -1 if anything went wrong. */
long uring_nop_step(void *arg);
void uring_nop_exit(void *arg);

#endif
