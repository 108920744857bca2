// SPDX-License-Identifier: GPL-2.0-only
/*
 * ring-fio: a fio external ioengine for /dev/ring.
 *
 *   fio --ioengine=external:/abs/path/ring-fio.so [engine options] ...
 *
 * It follows fio's io_uring engine where the two mean the same: queue()
 * only fills an SQE, commit() submits everything queued with one ENTER
 * (with sqthread_poll: publishes it, entering only to wake the thread),
 * getevents() reaps CQEs and waits in ENTER(GETEVENTS) for the rest, trims
 * run synchronously. The ring lives in the job's process: fio forks jobs
 * after parsing, and a ring belongs to the mm that set it up, so it is
 * created in post_init(), which runs in the job.
 *
 * Built against the headers (and config-host.h) of exactly the installed
 * fio: ioengine_ops, thread_data and io_u are fio's internal structures,
 * checked only through FIO_IOOPS_VERSION at load time.
 *
 * GPL-2.0-only because it is compiled against fio's GPL-2.0 headers and
 * inline functions.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fio.h"
#include "optgroup.h"

#include <libring.h>

/* Engine options (td->eo); off1 of an option must not be 0, hence pad. */
struct ring_fio_options {
	void *pad;
	unsigned int hipri;
	unsigned int fixedbufs;
	unsigned int fixedbufs_single;
	unsigned int sqentries;
	int nonvectored;
	unsigned int nowait;
	unsigned int iotlb;
	unsigned int registerfiles;
	unsigned int sqthread_poll;
	unsigned int sqthread_poll_cpu;
	unsigned int sqthread_poll_cpu_set;
};

/* sqthread_poll_cpu=N: given at all means SQ_AFF, as fio's io_uring. */
static int ring_fio_sqpoll_cpu_cb(void *data, unsigned long long *val)
{
	struct ring_fio_options *o = data;

	o->sqthread_poll_cpu = *val;
	o->sqthread_poll_cpu_set = 1;
	return 0;
}

/* dlsym(handle, "ioengine"): the one symbol the .so exports. */
extern struct ioengine_ops ioengine __attribute__((visibility("default")));

struct ring_fio_data {
	struct ring ring;
	bool ring_ok;
	void *region;			/* iotlb: fio's IO buffers, IOVA 0 */
	size_t region_size;
	unsigned int depth;		/* fio's iodepth: io_us that exist */
	struct io_u **io_us;		/* by io_u->index, for fixed buffers */
	struct iovec *iovecs;		/* by io_u->index, READV/WRITEV */
	int *fds;			/* registerfiles: slot f->engine_pos */
	unsigned int nr_fds;
	struct io_u **events;		/* reaped by getevents(), for event() */
	/* io_us queued since the last commit, in SQE order. */
	struct io_u **pending;
	unsigned int pending_head;	/* first not yet submitted */
	unsigned int nr_pending;
};

static struct fio_option options[] = {
	{
		.name	= "hipri",
		.lname	= "High Priority",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct ring_fio_options, hipri),
		.help	= "Polled completions (RING_SETUP_IOPOLL: O_DIRECT on a device with poll queues)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fixedbufs",
		.lname	= "Fixed (pre-mapped) IO buffers",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct ring_fio_options, fixedbufs),
		.help	= "Register fio's IO buffers (one slot per io_u) and use READ_FIXED/WRITE_FIXED",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fixedbufs_single",
		.lname	= "One fixed buffer for all io_us",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct ring_fio_options, fixedbufs_single),
		.help	= "Like fixedbufs, but register fio's whole IO buffer area as one buffer (slot 0)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "sqentries",
		.lname	= "SQ ring entries",
		.type	= FIO_OPT_INT,
		.off1	= offsetof(struct ring_fio_options, sqentries),
		.minval	= 0,
		.maxval	= RING_MAX_ENTRIES,
		.def	= "0",
		.help	= "SQ ring size (0: iodepth); the CQ ring holds max(SQ, iodepth)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "nonvectored",
		.lname	= "Non-vectored",
		.type	= FIO_OPT_INT,
		.off1	= offsetof(struct ring_fio_options, nonvectored),
		.def	= "-1",
		.help	= "Use READ/WRITE (non-zero, default) or READV/WRITEV (0)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "nowait",
		.lname	= "RWF_NOWAIT",
		.type	= FIO_OPT_BOOL,
		.off1	= offsetof(struct ring_fio_options, nowait),
		.help	= "Use RWF_NOWAIT for reads/writes",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "iotlb",
		.lname	= "IOTLB bounce region",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct ring_fio_options, iotlb),
		.help	= "IO buffers in the ring's IOTLB region, READ_FIXED/WRITE_FIXED by IOVA",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "registerfiles",
		.lname	= "Register file set",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct ring_fio_options, registerfiles),
		.help	= "Pre-open and register the job's files; SQEs name their slots (FIXED_FILE)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "sqthread_poll",
		.lname	= "Kernel SQ thread polling",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct ring_fio_options, sqthread_poll),
		.help	= "A kernel thread consumes the SQ (RING_SETUP_SQPOLL); implies registerfiles",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "sqthread_poll_cpu",
		.lname	= "SQ Thread Poll CPU",
		.type	= FIO_OPT_INT,
		.cb	= ring_fio_sqpoll_cpu_cb,
		.help	= "The CPU of the sqthread_poll thread (RING_SETUP_SQ_AFF)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= NULL,
	},
};

/* Options that have no /dev/ring counterpart fail the job, never silently. */
static int ring_fio_check_options(struct thread_data *td,
				  const struct ring_fio_options *o)
{
	if (o->iotlb && (o->fixedbufs || o->fixedbufs_single)) {
		log_err("ring: iotlb and fixedbufs are two kinds of buffer: pick one\n");
		return 1;
	}
	if (o->sqthread_poll_cpu_set && !o->sqthread_poll) {
		log_err("ring: sqthread_poll_cpu needs sqthread_poll\n");
		return 1;
	}
	if (td->o.sync_file_range) {
		log_err("ring: sync_file_range: /dev/ring has no SYNC_FILE_RANGE\n");
		return 1;
	}
	if (o->fixedbufs && !o->fixedbufs_single &&
	    td->o.iodepth > RING_MAX_BUFFERS) {
		log_err("ring: fixedbufs: iodepth %u needs more than %u slots (try fixedbufs_single)\n",
			td->o.iodepth, RING_MAX_BUFFERS);
		return 1;
	}
	return 0;
}

static void ring_fio_free(struct ring_fio_data *rd)
{
	unsigned int i;

	for (i = 0; i < rd->nr_fds; i++)
		close(rd->fds[i]);
	free(rd->fds);
	free(rd->io_us);
	free(rd->iovecs);
	free(rd->events);
	free(rd->pending);
	free(rd);
}

static int ring_fio_init(struct thread_data *td)
{
	struct ring_fio_options *o = td->eo;
	struct ring_fio_data *rd;
	unsigned int depth = td->o.iodepth;

	/*
	 * A canary for headers other than this fio's: fio points io_ops at
	 * the struct below, read through our idea of thread_data's layout.
	 */
	if (td->io_ops != &ioengine) {
		log_err("ring: this engine was built against another fio's headers: rebuild it\n");
		return 1;
	}
	if (ring_fio_check_options(td, o))
		return 1;
	/* The SQ thread takes registered files only, as fio's io_uring. */
	if (o->sqthread_poll)
		o->registerfiles = 1;

	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return 1;
	rd->depth = depth;
	rd->io_us = calloc(depth, sizeof(*rd->io_us));
	rd->iovecs = calloc(depth, sizeof(*rd->iovecs));
	rd->events = calloc(depth, sizeof(*rd->events));
	rd->pending = calloc(depth, sizeof(*rd->pending));
	if (!rd->io_us || !rd->iovecs || !rd->events || !rd->pending) {
		ring_fio_free(rd);
		return 1;
	}
	td->io_ops_data = rd;
	return 0;
}

static int ring_fio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct ring_fio_data *rd = td->io_ops_data;

	rd->io_us[io_u->index] = io_u;
	return 0;
}

/*
 * Slots mode: slot i is io_u i's buffer (max_bs long), as fio's io_uring
 * engine registers them. Single mode: slot 0 is fio's whole buffer area,
 * which holds every io_u's buffer; fewer, bigger pins.
 */
static int ring_fio_register_buffers(struct thread_data *td,
				     struct ring_fio_data *rd,
				     const struct ring_fio_options *o)
{
	unsigned int i, nr;

	if (!td->orig_buffer) {
		log_err("ring: fixedbufs: this job has no IO buffers to register\n");
		return -EINVAL;
	}
	if (o->fixedbufs_single) {
		if (td->orig_buffer_size > RING_MAX_BUFFER_LEN) {
			log_err("ring: fixedbufs_single: %zu bytes of IO buffers, more than one fixed buffer holds (%llu)\n",
				td->orig_buffer_size, RING_MAX_BUFFER_LEN);
			return -EINVAL;
		}
		rd->iovecs[0].iov_base = td->orig_buffer;
		rd->iovecs[0].iov_len = td->orig_buffer_size;
		nr = 1;
	} else {
		for (i = 0; i < rd->depth; i++) {
			rd->iovecs[i].iov_base = rd->io_us[i]->buf;
			rd->iovecs[i].iov_len = td_max_bs(td);
		}
		nr = rd->depth;
	}
	return ring_register_buffers(&rd->ring, rd->iovecs, nr);
}

static int ring_fio_setup(struct thread_data *td)
{
	struct ring_fio_data *rd = td->io_ops_data;
	struct ring_fio_options *o = td->eo;
	struct ring_params p;
	unsigned int sq = o->sqentries ? o->sqentries : rd->depth;
	int ret;

	if (rd->ring_ok)
		return 0;

	/*
	 * Every io_u in flight fits in the CQ ring, so completions never go
	 * through the kernel's backlog in the steady state.
	 */
	memset(&p, 0, sizeof(p));
	p.flags = RING_SETUP_CQSIZE;
	/* As fio's io_uring engine: completions found by polling the device. */
	if (o->hipri)
		p.flags |= RING_SETUP_IOPOLL;
	if (o->sqthread_poll) {
		p.flags |= RING_SETUP_SQPOLL;
		if (o->sqthread_poll_cpu_set) {
			p.flags |= RING_SETUP_SQ_AFF;
			p.sq_thread_cpu = o->sqthread_poll_cpu;
		}
	}
	p.cq_entries = sq > rd->depth ? sq : rd->depth;
	ret = ring_queue_init_params(sq, &rd->ring, &p);
	if (ret < 0) {
		if (ret == -ENOENT)
			log_err("ring: no /dev/ring (is ring.ko loaded?)\n");
		if (ret == -EAGAIN && o->sqthread_poll)
			log_err("ring: sqthread_poll: this user has as many SQPOLL rings as ring.ko's max_user_sqthreads allows\n");
		td_verror(td, -ret, "ring_queue_init_params");
		return 1;
	}
	rd->ring_ok = true;
	return 0;
}

/*
 * fio's IO buffers: with iotlb they are the ring's IOTLB region, mapped
 * whole for the kernel to read and write, so the ring is set up now,
 * before post_init().  Otherwise plain page-aligned memory (fio's mem=
 * options do not combine with an engine that allocates its buffers).
 */
static int ring_fio_iomem_alloc(struct thread_data *td, size_t size)
{
	struct ring_fio_data *rd = td->io_ops_data;
	struct ring_fio_options *o = td->eo;
	size_t page = 4096;
	int ret;

	size = (size + page - 1) & ~(page - 1);
	if (!o->iotlb) {
		if (posix_memalign((void **)&td->orig_buffer, page, size))
			return 1;
		return 0;
	}
	if (ring_fio_setup(td))
		return 1;
	ret = ring_register_iotlb(&rd->ring, size, &rd->region);
	if (!ret)
		ret = ring_iotlb_map(&rd->ring, 0, size, NULL,
				     RING_IOTLB_PERM_READ | RING_IOTLB_PERM_WRITE,
				     0);
	if (ret < 0) {
		log_err("ring: iotlb: a region of %zu bytes: %s\n", size,
			strerror(-ret));
		return 1;
	}
	rd->region_size = size;
	td->orig_buffer = rd->region;
	return 0;
}

static void ring_fio_iomem_free(struct thread_data *td)
{
	struct ring_fio_data *rd = td->io_ops_data;

	if (rd && rd->region) {
		/* The mapping alone if the ring is closed already. */
		if (rd->ring_ok)
			ring_unregister_iotlb(&rd->ring, rd->region,
					      rd->region_size);
		else
			munmap(rd->region, rd->region_size);
		rd->region = NULL;
	} else {
		free(td->orig_buffer);
	}
	td->orig_buffer = NULL;
}

/*
 * registerfiles, as fio's io_uring engine: every file of the job opened
 * once, here, and registered in its slot (f->engine_pos); open_file and
 * close_file then only hand out and take back that slot.  The fds stay
 * open (and the ring's references) until cleanup.
 */
static int ring_fio_register_files(struct thread_data *td,
				   struct ring_fio_data *rd)
{
	struct fio_file *f;
	unsigned int i;
	int ret = 0;

	rd->fds = calloc(td->o.nr_files, sizeof(*rd->fds));
	if (!rd->fds)
		return -ENOMEM;
	for_each_file(td, f, i) {
		if (generic_open_file(td, f)) {
			ret = -(td->error ? td->error : EBADF);
			break;
		}
		rd->fds[i] = f->fd;
		rd->nr_fds = i + 1;
		f->engine_pos = i;
	}
	if (!ret)
		ret = ring_register_files(&rd->ring, rd->fds, rd->nr_fds);
	/* As if closed again: the open_file hook gives the slot back. */
	for_each_file(td, f, i)
		f->fd = -1;
	return ret;
}

static int ring_fio_open_file(struct thread_data *td, struct fio_file *f)
{
	struct ring_fio_data *rd = td->io_ops_data;
	struct ring_fio_options *o = td->eo;

	if (!rd || !o->registerfiles || !rd->fds)
		return generic_open_file(td, f);
	f->fd = rd->fds[f->engine_pos];
	return 0;
}

static int ring_fio_close_file(struct thread_data *td, struct fio_file *f)
{
	struct ring_fio_data *rd = td->io_ops_data;
	struct ring_fio_options *o = td->eo;

	if (!rd || !o->registerfiles || !rd->fds)
		return generic_close_file(td, f);
	f->fd = -1;
	return 0;
}

static int ring_fio_post_init(struct thread_data *td)
{
	struct ring_fio_data *rd = td->io_ops_data;
	struct ring_fio_options *o = td->eo;
	int ret;

	if (ring_fio_setup(td))
		return 1;
	if (o->fixedbufs || o->fixedbufs_single) {
		ret = ring_fio_register_buffers(td, rd, o);
		if (ret < 0) {
			if (ret == -ENOMEM)
				log_err("ring: fixedbufs: registering %s failed: check RLIMIT_MEMLOCK (ulimit -l)\n",
					o->fixedbufs_single ? "the IO buffer area" : "the IO buffers");
			td_verror(td, -ret, "ring_register_buffers");
			return 1;
		}
	}
	if (o->registerfiles) {
		ret = ring_fio_register_files(td, rd);
		if (ret < 0) {
			td_verror(td, -ret, "ring_register_files");
			return 1;
		}
	}
	return 0;
}

static void ring_fio_prep_rw(struct thread_data *td, struct ring_fio_data *rd,
			     const struct ring_fio_options *o,
			     struct ring_sqe *sqe, struct io_u *io_u)
{
	bool wr = io_u->ddir == DDIR_WRITE;
	int fd = o->registerfiles ? (int)io_u->file->engine_pos :
				    io_u->file->fd;

	if (rd->region) {
		__u64 iova = (char *)io_u->xfer_buf - (char *)rd->region;

		if (wr)
			ring_prep_write_iova(sqe, fd, iova, io_u->xfer_buflen,
					     io_u->offset);
		else
			ring_prep_read_iova(sqe, fd, iova, io_u->xfer_buflen,
					    io_u->offset);
	} else if (o->fixedbufs || o->fixedbufs_single) {
		int slot = o->fixedbufs_single ? 0 : io_u->index;

		if (wr)
			ring_prep_write_fixed(sqe, fd, io_u->xfer_buf,
					      io_u->xfer_buflen, io_u->offset,
					      slot);
		else
			ring_prep_read_fixed(sqe, fd, io_u->xfer_buf,
					     io_u->xfer_buflen, io_u->offset,
					     slot);
	} else if (o->nonvectored) {
		if (wr)
			ring_prep_write(sqe, fd, io_u->xfer_buf,
					io_u->xfer_buflen, io_u->offset);
		else
			ring_prep_read(sqe, fd, io_u->xfer_buf,
				       io_u->xfer_buflen, io_u->offset);
	} else {
		/* The kernel copies the iovec at submission, in commit(). */
		struct iovec *iov = &rd->iovecs[io_u->index];

		iov->iov_base = io_u->xfer_buf;
		iov->iov_len = io_u->xfer_buflen;
		if (wr)
			ring_prep_writev(sqe, fd, iov, 1, io_u->offset);
		else
			ring_prep_readv(sqe, fd, iov, 1, io_u->offset);
	}
	if (o->nowait)
		sqe->rw_flags |= RWF_NOWAIT;
	if (o->registerfiles)
		sqe->flags |= RING_SQE_FIXED_FILE;
}

static enum fio_q_status ring_fio_queue(struct thread_data *td,
					struct io_u *io_u)
{
	struct ring_fio_data *rd = td->io_ops_data;
	struct ring_fio_options *o = td->eo;
	struct ring_sqe *sqe;

	fio_ro_check(td, io_u);

	/* /dev/ring has no discard: done inline, in order, as io_uring's engine does. */
	if (io_u->ddir == DDIR_TRIM) {
		if (rd->nr_pending)
			return FIO_Q_BUSY;
		do_io_u_trim(td, io_u);
		io_u_mark_submit(td, 1);
		io_u_mark_complete(td, 1);
		return FIO_Q_COMPLETED;
	}
	if (io_u->ddir != DDIR_READ && io_u->ddir != DDIR_WRITE &&
	    io_u->ddir != DDIR_SYNC && io_u->ddir != DDIR_DATASYNC) {
		io_u->error = EINVAL;
		return FIO_Q_COMPLETED;
	}

	/* A short SQ ring (sqentries < iodepth): submit, then retry. */
	if (rd->nr_pending == rd->depth)
		return FIO_Q_BUSY;
	sqe = ring_get_sqe(&rd->ring);
	if (!sqe)
		return FIO_Q_BUSY;

	if (ddir_sync(io_u->ddir)) {
		ring_prep_fsync(sqe, o->registerfiles ?
				(int)io_u->file->engine_pos : io_u->file->fd,
				io_u->ddir == DDIR_DATASYNC ?
				RING_FSYNC_DATASYNC : 0);
		if (o->registerfiles)
			sqe->flags |= RING_SQE_FIXED_FILE;
	} else
		ring_fio_prep_rw(td, rd, o, sqe, io_u);
	ring_sqe_set_data(sqe, io_u);

	rd->pending[(rd->pending_head + rd->nr_pending) % rd->depth] = io_u;
	rd->nr_pending++;
	return FIO_Q_QUEUED;
}

/* Issue time (for slat and clat) of the nr oldest pending io_us. */
static void ring_fio_issued(struct thread_data *td, struct ring_fio_data *rd,
			    unsigned int nr)
{
	struct timespec now;
	bool stamp = fio_fill_issue_time(td);

	if (stamp)
		fio_gettime(&now, NULL);
	while (nr--) {
		struct io_u *io_u = rd->pending[rd->pending_head];

		rd->pending_head = (rd->pending_head + 1) % rd->depth;
		rd->nr_pending--;
		if (stamp) {
			io_u->issue_time = now;
			io_u_queued(td, io_u);
		}
	}
	if (stamp && td->o.read_iolog_file)
		td->last_issue = now;
}

/* ENTER consumes every SQE it is given unless interrupted or short of memory. */
static bool ring_fio_retry(int ret)
{
	return ret == -EINTR || ret == -EAGAIN || ret == -ENOMEM;
}

/*
 * With an SQ thread, publishing hands every queued SQE over at once;
 * ring_submit enters only to wake a sleeping thread, and a wakeup cut
 * short is made again by the next try (the SQEs stay in the ring).
 */
static int ring_fio_commit_sqpoll(struct thread_data *td,
				  struct ring_fio_data *rd)
{
	unsigned int nr = rd->nr_pending, tries = 0;
	int ret;

	do {
		ret = ring_submit(&rd->ring);
	} while (ret < 0 && ring_fio_retry(ret) && ++tries < 1000);
	if (ret < 0) {
		td_verror(td, -ret, "ring_submit");
		return ret;
	}
	ring_fio_issued(td, rd, nr);
	io_u_mark_submit(td, nr);
	return 0;
}

static int ring_fio_commit(struct thread_data *td)
{
	struct ring_fio_data *rd = td->io_ops_data;
	unsigned int idle = 0;
	int ret;

	if (rd->nr_pending && (rd->ring.flags & RING_SETUP_SQPOLL))
		return ring_fio_commit_sqpoll(td, rd);
	while (rd->nr_pending) {
		ret = ring_submit(&rd->ring);
		if (ret > 0) {
			if ((unsigned int)ret > rd->nr_pending)
				ret = rd->nr_pending;
			ring_fio_issued(td, rd, ret);
			io_u_mark_submit(td, ret);
			idle = 0;
			continue;
		}
		/* Retry those a while. */
		if (ret == 0 || ring_fio_retry(ret)) {
			if (++idle < 1000) {
				sched_yield();
				continue;
			}
			if (ret == 0)
				ret = -EIO;
		}
		td_verror(td, -ret, "ring_submit");
		return ret;
	}
	return 0;
}

/*
 * Take up to max - nr CQEs into rd->events[nr...], with their results
 * written into the io_us, and release them to the kernel.
 */
static unsigned int ring_fio_reap(struct ring_fio_data *rd, unsigned int nr,
				  unsigned int max)
{
	struct ring_cqe *cqe;
	unsigned int head, got = 0;

	ring_for_each_cqe(&rd->ring, head, cqe) {
		struct io_u *io_u;

		if (nr + got == max)
			break;
		io_u = ring_cqe_get_data(cqe);
		if (cqe->res < 0) {
			io_u->error = -cqe->res;
		} else if (ddir_sync(io_u->ddir)) {
			io_u->error = 0;
		} else if ((unsigned long long)cqe->res > io_u->xfer_buflen) {
			io_u->error = EIO;	/* more than asked: never */
		} else {
			io_u->error = 0;
			io_u->resid = io_u->xfer_buflen - cqe->res;
		}
		rd->events[nr + got++] = io_u;
	}
	ring_cq_advance(&rd->ring, got);
	return got;
}

static int ring_fio_getevents(struct thread_data *td, unsigned int min,
			      unsigned int max, const struct timespec *t)
{
	struct ring_fio_data *rd = td->io_ops_data;
	/* iodepth_batch_complete_min=0 means "poll", as with io_uring. */
	bool poll = td->o.iodepth_batch_complete_min == 0;
	unsigned int events = 0;
	int ret;

	if (max > rd->depth)
		max = rd->depth;
	for (;;) {
		unsigned int got = ring_fio_reap(rd, events, max);

		events += got;
		if (events >= min && (got || !ring_cq_has_overflow(&rd->ring)))
			break;
		if (events == max)
			break;
		/* Waits, and moves any backlog into the CQ ring. */
		ret = ring_enter(rd->ring.ring_fd, 0,
				 poll || events >= min ? 0 : min - events,
				 RING_ENTER_GETEVENTS);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN) {
			td_verror(td, -ret, "ring_enter getevents");
			return ret;
		}
	}
	return events;
}

static struct io_u *ring_fio_event(struct thread_data *td, int event)
{
	struct ring_fio_data *rd = td->io_ops_data;

	return rd->events[event];
}

static void ring_fio_cleanup(struct thread_data *td)
{
	struct ring_fio_data *rd = td->io_ops_data;

	if (!rd)
		return;
	/* Closing the ring also unregisters the buffers and files. */
	if (rd->ring_ok)
		ring_queue_exit(&rd->ring);
	ring_fio_free(rd);
	td->io_ops_data = NULL;
}

struct ioengine_ops ioengine = {
	.name			= "ring",
	.version		= FIO_IOOPS_VERSION,
	.flags			= FIO_ASYNCIO_SYNC_TRIM | FIO_NO_OFFLOAD |
				  FIO_ASYNCIO_SETS_ISSUE_TIME,
	.init			= ring_fio_init,
	.post_init		= ring_fio_post_init,
	.iomem_alloc		= ring_fio_iomem_alloc,
	.iomem_free		= ring_fio_iomem_free,
	.io_u_init		= ring_fio_io_u_init,
	.queue			= ring_fio_queue,
	.commit			= ring_fio_commit,
	.getevents		= ring_fio_getevents,
	.event			= ring_fio_event,
	.cleanup		= ring_fio_cleanup,
	.open_file		= ring_fio_open_file,
	.close_file		= ring_fio_close_file,
	.get_file_size		= generic_get_file_size,
	.options		= options,
	.option_struct_size	= sizeof(struct ring_fio_options),
};
