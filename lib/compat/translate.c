// SPDX-License-Identifier: MIT
/*
 * io_uring_setup(2), io_uring_enter(2) and io_uring_register(2) on
 * /dev/ring.  The shared memory, opcode numbers and flags are io_uring's
 * already; what is left to translate is the calling convention (ioctls on
 * a device instead of system calls), register opcodes whose numbers ring
 * gave other meanings, and the registered-ring table, which io_uring keeps
 * per task in the kernel and ring keeps per thread here.
 *
 * No errno is invented: what the kernel says is returned.  The exceptions
 * are the ones io_uring itself would give where ring has no kernel call to
 * ask: an unmapped register opcode (-EINVAL, as a kernel without it), an
 * fd that is not a ring (-EOPNOTSUPP), the registered-ring table's own
 * checks, and -EFAULT for argument structures this file has to read.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "translate.h"
#include "uring.h"

static const char *dev_path(void)
{
	const char *dev = getenv("RING_DEV");

	return dev && *dev ? dev : "/dev/ring";
}

/*
 * Reads or writes @n bytes of the caller's memory at @user the way the
 * kernel would: -EFAULT instead of a crash where it is not accessible.
 * process_vm_readv/writev on ourselves do the copy in the kernel; where
 * they are refused (a seccomp profile, a kernel without cross-memory
 * attach), only NULL is caught and the copy is a plain one.
 */
static int user_copy(void *local, void *user, size_t n, bool to_user)
{
	struct iovec l = { .iov_base = local, .iov_len = n };
	struct iovec r = { .iov_base = user, .iov_len = n };
	ssize_t done;

	if (!user)
		return -EFAULT;
	if (to_user)
		done = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
	else
		done = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	if (done == (ssize_t)n)
		return 0;
	if (done >= 0 || errno == EFAULT)
		return -EFAULT;
	if (to_user)
		memcpy(user, local, n);
	else
		memcpy(local, user, n);
	return 0;
}

static int copy_in(void *dst, const void *user, size_t n)
{
	return user_copy(dst, (void *)user, n, false);
}

static int copy_out(void *user, const void *src, size_t n)
{
	return user_copy((void *)src, user, n, true);
}

/* ---- setup ---------------------------------------------------------- */

/*
 * Zero what io_uring ignores, so that ring's stricter checks do not see it:
 * sq_thread_idle without SQPOLL, sq_thread_cpu without SQPOLL and SQ_AFF
 * (SQ_AFF alone is refused by both, from the flag), wq_fd without
 * ATTACH_WQ (which ring refuses).
 */
static int params_to_ring(unsigned entries, const struct ring_params *in,
			  struct ring_params *out)
{
	unsigned i;

	for (i = 0; i < sizeof(in->resv) / sizeof(in->resv[0]); i++)
		if (in->resv[i])
			return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->sq_entries = entries;
	out->cq_entries = in->cq_entries;
	out->flags = in->flags;
	if (in->flags & LU_SETUP_SQPOLL) {
		out->sq_thread_idle = in->sq_thread_idle;
		if (in->flags & RING_SETUP_SQ_AFF)
			out->sq_thread_cpu = in->sq_thread_cpu;
	}
	if (in->flags & LU_SETUP_ATTACH_WQ)
		out->wq_fd = in->wq_fd;
	return 0;
}

int xl_setup(unsigned entries, struct ring_params *up)
{
	struct ring_params user, p;
	int fd, ret;

	ret = copy_in(&user, up, sizeof(user));
	if (ret)
		return ret;
	ret = params_to_ring(entries, &user, &p);
	if (ret)
		return ret;

	/* O_CLOEXEC: io_uring's fds are close-on-exec too. */
	fd = open(dev_path(), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, RING_IOC_SETUP, &p) < 0) {
		ret = -errno;
		goto err_close;
	}

	/* What io_uring writes back: the rest stays as the caller gave it. */
	user.sq_entries = p.sq_entries;
	user.cq_entries = p.cq_entries;
	user.features = p.features;
	user.sq_off = p.sq_off;
	user.cq_off = p.cq_off;
	ret = copy_out(up, &user, sizeof(user));
	if (ret)
		goto err_close;
	return fd;

err_close:
	close(fd);
	return ret;
}

/* ---- the registered-ring table --------------------------------------- */

/*
 * io_uring's table lives in the task and holds file references; here each
 * thread has its own, holding close-on-exec duplicates of the ring fds, so
 * that a registered ring stays alive when the application closes its fd.
 * Slots store fd + 1 so that the zeroed TLS is an empty table.
 */
struct ringfd_table {
	int fd1[LU_RINGFD_REG_MAX];
	bool keyed;		/* the destructor knows about this table */
};

static __thread struct ringfd_table ringfds;
static pthread_key_t ringfds_key;
static pthread_once_t ringfds_once = PTHREAD_ONCE_INIT;
static int ringfds_key_err;

static void ringfds_close(void *arg)
{
	struct ringfd_table *t = arg;
	unsigned i;

	for (i = 0; i < LU_RINGFD_REG_MAX; i++) {
		if (t->fd1[i])
			close(t->fd1[i] - 1);
		t->fd1[i] = 0;
	}
}

static void ringfds_key_init(void)
{
	ringfds_key_err = pthread_key_create(&ringfds_key, ringfds_close);
}

/* This thread's table, with its slots closed at thread exit. */
static struct ringfd_table *ringfds_get(void)
{
	struct ringfd_table *t = &ringfds;

	if (!t->keyed) {
		pthread_once(&ringfds_once, ringfds_key_init);
		if (ringfds_key_err ||
		    pthread_setspecific(ringfds_key, t))
			return NULL;
		t->keyed = true;
	}
	return t;
}

/* 0 if @fd is a /dev/ring file, -EOPNOTSUPP if not, -EBADF if no fd. */
static int ring_fd_check(int fd)
{
	struct stat fst, dst;

	if (fstat(fd, &fst) < 0)
		return -EBADF;
	if (!S_ISCHR(fst.st_mode) || stat(dev_path(), &dst) < 0 ||
	    !S_ISCHR(dst.st_mode) || fst.st_rdev != dst.st_rdev)
		return -EOPNOTSUPP;
	return 0;
}

/* Enter's fd: the ring registered at @idx, as io_uring looks it up. */
static int ringfd_lookup(unsigned idx)
{
	if (idx >= LU_RINGFD_REG_MAX)
		return -EINVAL;
	if (!ringfds.fd1[idx])
		return -EBADF;
	return ringfds.fd1[idx] - 1;
}

/* Registers ring fd @fd in the first free slot of [start, end). */
static int ringfd_add(struct ringfd_table *t, int fd, unsigned start,
		      unsigned end)
{
	int ret = ring_fd_check(fd);
	int dup;

	if (ret)
		return ret;
	for (; start < end; start++) {
		if (t->fd1[start])
			continue;
		dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (dup < 0)
			return -errno;
		t->fd1[start] = dup + 1;
		return (int)start;
	}
	return -EBUSY;
}

static void ringfd_del(struct ringfd_table *t, unsigned idx)
{
	if (t->fd1[idx])
		close(t->fd1[idx] - 1);
	t->fd1[idx] = 0;
}

/* One element of REGISTER_RING_FDS: its slot, or -errno. */
static int ringfd_register_one(struct ringfd_table *t,
			       struct lu_rsrc_update *uup)
{
	struct lu_rsrc_update up;
	unsigned start = 0, end = LU_RINGFD_REG_MAX;
	int ret;

	ret = copy_in(&up, uup, sizeof(up));
	if (ret)
		return ret;
	if (up.resv)
		return -EINVAL;
	if (up.offset != -1U) {
		if (up.offset >= LU_RINGFD_REG_MAX)
			return -EINVAL;
		start = up.offset;
		end = start + 1;
	}
	ret = ringfd_add(t, (int)up.data, start, end);
	if (ret < 0)
		return ret;
	up.offset = (unsigned)ret;
	if (copy_out(uup, &up, sizeof(up))) {
		ringfd_del(t, up.offset);
		return -EFAULT;
	}
	return 0;
}

/*
 * io_uring's array semantics: nr_args elements, each {offset, data = ring
 * fd}; offset -1U picks a free slot and is written back.  Returns how
 * many were done, or the error of the first if none was.
 */
static int ringfds_register(void *arg, unsigned nr)
{
	struct lu_rsrc_update *ups = arg;
	struct ringfd_table *t;
	unsigned i;
	int ret = 0;

	if (!nr || nr > LU_RINGFD_REG_MAX)
		return -EINVAL;
	t = ringfds_get();
	if (!t)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		ret = ringfd_register_one(t, &ups[i]);
		if (ret < 0)
			break;
	}
	return i ? (int)i : ret;
}

static int ringfds_unregister(void *arg, unsigned nr)
{
	struct lu_rsrc_update *ups = arg;
	struct lu_rsrc_update up;
	unsigned i;
	int ret = 0;

	if (!nr || nr > LU_RINGFD_REG_MAX)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		ret = copy_in(&up, &ups[i], sizeof(up));
		if (ret)
			break;
		if (up.resv || up.data || up.offset >= LU_RINGFD_REG_MAX) {
			ret = -EINVAL;
			break;
		}
		ringfd_del(&ringfds, up.offset);
	}
	return i ? (int)i : ret;
}

/* ---- enter and register ---------------------------------------------- */

/* ENOTTY: the fd is open but not /dev/ring, where io_uring says this. */
static int ioctl_errno(void)
{
	return errno == ENOTTY ? -EOPNOTSUPP : -errno;
}

int xl_enter(unsigned fd, unsigned to_submit, unsigned min_complete,
	     unsigned flags, const void *arg, size_t argsz)
{
	int rfd = (int)fd;
	int ret;

	/* io_uring checks the flags before it looks at the fd. */
	if (flags & ~(RING_ENTER_GETEVENTS | RING_ENTER_SQ_WAKEUP |
		      RING_ENTER_SQ_WAIT | RING_ENTER_EXT_ARG |
		      LU_ENTER_REGISTERED_RING))
		return -EINVAL;
	if (flags & LU_ENTER_REGISTERED_RING) {
		rfd = ringfd_lookup(fd);
		if (rfd < 0)
			return rfd;
		flags &= ~LU_ENTER_REGISTERED_RING;
	}
	if (!arg && !(flags & RING_ENTER_EXT_ARG)) {
		struct ring_enter e = {
			.to_submit	= to_submit,
			.min_complete	= min_complete,
			.flags		= flags,
		};

		ret = ioctl(rfd, RING_IOC_ENTER, &e);
	} else {
		struct ring_enter_arg e = {
			.to_submit	= to_submit,
			.min_complete	= min_complete,
			.flags		= flags,
			.arg		= (uintptr_t)arg,
			.argsz		= argsz,
		};

		ret = ioctl(rfd, RING_IOC_ENTER_ARG, &e);
	}
	return ret < 0 ? ioctl_errno() : ret;
}

/*
 * io_uring's register opcodes and what becomes of each.  Anything not
 * listed is refused with -EINVAL here and never reaches the kernel:
 * ring's own numbers 2..6 are the IOTLB operations, so io_uring's files
 * and eventfd opcodes must not be passed through as they are: the files
 * ones are rebuilt as ring's FILES2 / FILES_UPDATE2 (REG_FILES,
 * REG_FILES_UPDATE) or renumbered (UNREGISTER_FILES).  A feature that
 * lands in ring gets a line here (at whatever number ring.h gives it).
 */
enum reg_how {
	REG_REFUSE = 0, REG_KERNEL, REG_RING_FDS, REG_UNRING_FDS, REG_FILES,
	REG_FILES_UPDATE,
};

static const struct reg_op {
	unsigned char how;
	unsigned short kop;	/* REG_KERNEL: ring's opcode */
} reg_map[LU_REGISTER_LAST] = {
#define TO_RING(op)	{ REG_KERNEL, RING_##op }
	[LU_REGISTER_BUFFERS]		= TO_RING(REGISTER_BUFFERS),
	[LU_UNREGISTER_BUFFERS]		= TO_RING(UNREGISTER_BUFFERS),
	[LU_REGISTER_PROBE]		= TO_RING(REGISTER_PROBE),
	[LU_REGISTER_ENABLE_RINGS]	= TO_RING(REGISTER_ENABLE_RINGS),
	[LU_REGISTER_BUFFERS2]		= TO_RING(REGISTER_BUFFERS2),
	[LU_REGISTER_BUFFERS_UPDATE]	= TO_RING(REGISTER_BUFFERS_UPDATE2),
	[LU_REGISTER_IOWQ_MAX_WORKERS]	= TO_RING(REGISTER_IOWQ_MAX_WORKERS),
	[LU_UNREGISTER_FILES]		= TO_RING(UNREGISTER_FILES),
	[LU_REGISTER_FILES2]		= TO_RING(REGISTER_FILES2),
	[LU_REGISTER_FILES_UPDATE2]	= TO_RING(REGISTER_FILES_UPDATE2),
#undef TO_RING
	[LU_REGISTER_FILES]		= { REG_FILES, 0 },
	[LU_REGISTER_FILES_UPDATE]	= { REG_FILES_UPDATE, 0 },
	[LU_REGISTER_RING_FDS]		= { REG_RING_FDS, 0 },
	[LU_UNREGISTER_RING_FDS]	= { REG_UNRING_FDS, 0 },
};

static int register_kernel(int fd, unsigned kop, void *arg, unsigned nr_args)
{
	struct ring_register r = {
		.opcode		= kop,
		.nr_args	= nr_args,
		.arg		= (uintptr_t)arg,
	};
	int ret = ioctl(fd, RING_IOC_REGISTER, &r);

	return ret < 0 ? ioctl_errno() : ret;
}

/* IORING_REGISTER_FILES: arg -> int fds[nr_args], as FILES2 untagged. */
static int files_register(int fd, void *arg, unsigned nr_args)
{
	struct ring_rsrc_register rr = {
		.nr	= nr_args,
		.data	= (uintptr_t)arg,
	};

	return register_kernel(fd, RING_REGISTER_FILES2, &rr, sizeof(rr));
}

/*
 * IORING_REGISTER_FILES_UPDATE: arg -> struct io_uring_rsrc_update
 * {offset, resv, data = fds}, nr_args slots; as FILES_UPDATE2 untagged,
 * with io_uring's checks of what only this file reads.
 */
static int files_update(int fd, void *arg, unsigned nr_args)
{
	struct ring_rsrc_update2 up2 = { .nr = nr_args };
	struct lu_rsrc_update up;
	int ret;

	ret = ring_fd_check(fd);
	if (ret)
		return ret;
	if (!nr_args)
		return -EINVAL;
	ret = copy_in(&up, arg, sizeof(up));
	if (ret)
		return ret;
	if (up.resv)
		return -EINVAL;
	up2.offset = up.offset;
	up2.data = up.data;
	return register_kernel(fd, RING_REGISTER_FILES_UPDATE2, &up2,
			       sizeof(up2));
}

int xl_register(unsigned fd, unsigned opcode, void *arg, unsigned nr_args)
{
	const struct reg_op *op;
	int ret;

	/* USE_REGISTERED_RING (6.3+) included: a kernel without it. */
	if (opcode >= LU_REGISTER_LAST)
		return -EINVAL;
	op = &reg_map[opcode];
	switch (op->how) {
	case REG_KERNEL:
		return register_kernel((int)fd, op->kop, arg, nr_args);
	case REG_FILES:
		return files_register((int)fd, arg, nr_args);
	case REG_FILES_UPDATE:
		return files_update((int)fd, arg, nr_args);
	case REG_RING_FDS:
	case REG_UNRING_FDS:
		/* The kernel is not asked: check the fd as io_uring would. */
		ret = ring_fd_check((int)fd);
		if (ret)
			return ret;
		return op->how == REG_RING_FDS ?
		       ringfds_register(arg, nr_args) :
		       ringfds_unregister(arg, nr_args);
	default:
		return -EINVAL;
	}
}
