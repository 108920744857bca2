/* SPDX-License-Identifier: MIT */
/*
 * The functions of liburing 2.3 the drop-in exports (liburing.map gives
 * their symbol versions), declared with this library's names for the
 * types: struct io_uring is libring's struct ring, io_uring_params is
 * ring_params, io_uring_probe ring_probe, io_uring_cqe ring_cqe (see
 * uring.h).
 */
#ifndef RING_COMPAT_DROPIN_H
#define RING_COMPAT_DROPIN_H

#include <sched.h>
#include <signal.h>
#include <sys/uio.h>

#include "translate.h"
#include "uring.h"

/* setup.c */
int io_uring_queue_init_params(unsigned entries, struct ring *ring,
			       struct ring_params *p);
int io_uring_queue_init(unsigned entries, struct ring *ring,
			unsigned flags);
int io_uring_queue_mmap(int fd, struct ring_params *p, struct ring *ring);
int io_uring_ring_dontfork(struct ring *ring);
void io_uring_queue_exit(struct ring *ring);
struct ring_probe *io_uring_get_probe_ring(struct ring *ring);
struct ring_probe *io_uring_get_probe(void);
void io_uring_free_probe(struct ring_probe *probe);
ssize_t io_uring_mlock_size(unsigned entries, unsigned flags);
ssize_t io_uring_mlock_size_params(unsigned entries, struct ring_params *p);

/* queue.c */
struct ring_sqe *io_uring_get_sqe(struct ring *ring);
int __io_uring_get_cqe(struct ring *ring, struct ring_cqe **cqe_ptr,
		       unsigned submit, unsigned wait_nr, sigset_t *sigmask);
unsigned io_uring_peek_batch_cqe(struct ring *ring,
				 struct ring_cqe **cqes, unsigned count);
int io_uring_wait_cqes(struct ring *ring, struct ring_cqe **cqe_ptr,
		       unsigned wait_nr, struct __kernel_timespec *ts,
		       sigset_t *sigmask);
int io_uring_wait_cqe_timeout(struct ring *ring,
			      struct ring_cqe **cqe_ptr,
			      struct __kernel_timespec *ts);
int io_uring_submit(struct ring *ring);
int io_uring_submit_and_wait(struct ring *ring, unsigned wait_nr);
int io_uring_submit_and_wait_timeout(struct ring *ring,
				     struct ring_cqe **cqe_ptr,
				     unsigned wait_nr,
				     struct __kernel_timespec *ts,
				     sigset_t *sigmask);
int io_uring_submit_and_get_events(struct ring *ring);
int io_uring_get_events(struct ring *ring);
int __io_uring_sqring_wait(struct ring *ring);

/* register.c */
int io_uring_register_buffers(struct ring *ring, const struct iovec *iovecs,
			      unsigned nr_iovecs);
int io_uring_register_buffers_tags(struct ring *ring,
				   const struct iovec *iovecs,
				   const __u64 *tags, unsigned nr);
int io_uring_register_buffers_sparse(struct ring *ring, unsigned nr);
int io_uring_register_buffers_update_tag(struct ring *ring, unsigned off,
					 const struct iovec *iovecs,
					 const __u64 *tags, unsigned nr);
int io_uring_unregister_buffers(struct ring *ring);
int io_uring_register_files(struct ring *ring, const int *files,
			    unsigned nr_files);
int io_uring_register_files_tags(struct ring *ring, const int *files,
				 const __u64 *tags, unsigned nr);
int io_uring_register_files_sparse(struct ring *ring, unsigned nr);
int io_uring_register_files_update_tag(struct ring *ring, unsigned off,
				       const int *files, const __u64 *tags,
				       unsigned nr_files);
int io_uring_unregister_files(struct ring *ring);
int io_uring_register_files_update(struct ring *ring, unsigned off,
				   const int *files, unsigned nr_files);
int io_uring_register_eventfd(struct ring *ring, int fd);
int io_uring_register_eventfd_async(struct ring *ring, int fd);
int io_uring_unregister_eventfd(struct ring *ring);
int io_uring_register_probe(struct ring *ring, struct ring_probe *p,
			    unsigned nr);
int io_uring_register_personality(struct ring *ring);
int io_uring_unregister_personality(struct ring *ring, int id);
int io_uring_register_iowq_aff(struct ring *ring, size_t cpusz,
			       const cpu_set_t *mask);
int io_uring_unregister_iowq_aff(struct ring *ring);
int io_uring_register_iowq_max_workers(struct ring *ring,
				       unsigned int *values);
int io_uring_register_ring_fd(struct ring *ring);
int io_uring_unregister_ring_fd(struct ring *ring);
int io_uring_register_buf_ring(struct ring *ring, struct lu_buf_reg *reg,
			       unsigned int flags);
int io_uring_unregister_buf_ring(struct ring *ring, int bgid);
int io_uring_register_sync_cancel(struct ring *ring, void *reg);
int io_uring_register_file_alloc_range(struct ring *ring, unsigned off,
				       unsigned len);

/* syscall.c: the system calls themselves, as liburing 2.3 exports them. */
int io_uring_enter(unsigned int fd, unsigned int to_submit,
		   unsigned int min_complete, unsigned int flags, sigset_t *sig);
int io_uring_enter2(unsigned int fd, unsigned int to_submit,
		    unsigned int min_complete, unsigned int flags,
		    sigset_t *sig, size_t sz);
int io_uring_setup(unsigned int entries, struct ring_params *p);
int io_uring_register(unsigned int fd, unsigned int opcode, const void *arg,
		      unsigned int nr_args);

#endif /* RING_COMPAT_DROPIN_H */
