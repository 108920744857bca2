// SPDX-License-Identifier: GPL-2.0
/*
 * Registered files (RING_REGISTER_FILES2, RING_REGISTER_FILES_UPDATE2,
 * RING_UNREGISTER_FILES) and their use by RING_SQE_FIXED_FILE: sqe->fd is
 * a slot of the table, and the request takes no reference on the file.
 *
 * Each slot holds a node, reference counted like a fixed buffer (rsrc.c):
 * the table holds one reference and every request using the slot another,
 * taken at submission under uring_lock, so replacing or unregistering a
 * slot never takes a file away from I/O in flight.  The node's reference
 * on the file goes when the last of them does, and the node's tag, if it
 * has one (struct ring_cq_aux, allocated at registration), is posted then,
 * after the CQE of the request that let go last.
 *
 * A ring never holds a ring: a ring file in another ring's table (or its
 * own) makes a reference cycle that no close breaks.  For the same reason
 * neither io_uring files nor AF_UNIX sockets (whose queues may carry a
 * ring's descriptor, which the unix garbage collector does not see here)
 * are taken: -EBADF, as io_uring refuses io_uring files.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/net.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/uaccess.h>
#include <net/sock.h>

#include "ring.h"

struct ring_file_node {
	refcount_t refs;
	struct file *file;
	struct ring_tag tag;
	struct work_struct free_work;
};

/* Files that could hold a ring, and so close a cycle through the table. */
static bool ring_file_refused(struct file *file)
{
	struct socket *sock;

	if (ring_is_ring_file(file))
		return true;
	/* io_uring's files are anonymous inodes named so. */
	if (file_inode(file)->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	    !strcmp(file->f_path.dentry->d_name.name, "[io_uring]"))
		return true;
	sock = sock_from_file(file);
	return sock && sock->sk && sock->sk->sk_family == AF_UNIX;
}

static void ring_file_node_free(struct work_struct *work)
{
	struct ring_file_node *node = container_of(work, struct ring_file_node,
						   free_work);
	struct ring_tag tag = node->tag;

	fput(node->file);
	kfree(node);
	/* Last: the ring may be gone once an owed tag is posted. */
	ring_tag_release(&tag);
}

/* Any context; a last put in IRQ context frees from the workqueue. */
void ring_file_node_put(struct ring_file_node *node)
{
	if (refcount_dec_and_test(&node->refs))
		ring_free_last(&node->free_work, ring_file_node_free, false);
}

/* Under completion_lock (cq.c): a last put frees from the workqueue. */
void ring_file_node_put_async(struct ring_file_node *node)
{
	if (refcount_dec_and_test(&node->refs))
		ring_free_last(&node->free_work, ring_file_node_free, true);
}

bool ring_file_node_tagged(const struct ring_file_node *node)
{
	return node->tag.aux;
}

/* Under uring_lock: @node left the table; its tag is owed from now on. */
static void ring_file_node_retire(struct ring_ctx *ctx,
				  struct ring_file_node *node)
{
	ring_tag_owe(ctx, &node->tag);
	ring_file_node_put(node);
}

/*
 * A node for @fd tagged @utag into *@out: NULL for -1, an empty slot.
 * Never in the table yet, so a failure owes nothing.
 */
static int ring_file_node_create(int fd, u64 utag, struct ring_file_node **out)
{
	struct ring_file_node *node;
	struct file *file;
	int ret;

	*out = NULL;
	if (fd == -1)
		return utag ? -EINVAL : 0;	/* nothing to tag */
	file = fget(fd);
	if (!file)
		return -EBADF;
	ret = -EBADF;
	if (ring_file_refused(file))
		goto err_put_file;
	ret = -ENOMEM;
	node = kmalloc(sizeof(*node), GFP_KERNEL_ACCOUNT);
	if (!node)
		goto err_put_file;
	ret = ring_tag_init(&node->tag, utag);
	if (ret)
		goto err_free_node;
	refcount_set(&node->refs, 1);
	node->file = file;
	*out = node;
	return 0;

err_free_node:
	kfree(node);
err_put_file:
	fput(file);
	return ret;
}

/* Refused nodes, never in the table: they owe no tag. */
static void ring_file_nodes_put(struct ring_file_node **nodes, unsigned int nr)
{
	while (nr--)
		if (nodes[nr])
			ring_file_node_put(nodes[nr]);
}

/* What a registration may hold: io_uring's limits, -EMFILE. */
static int ring_files_check_nr(unsigned int nr)
{
	if (!nr)
		return -EINVAL;
	if (nr > RING_MAX_FILES || nr > rlimit(RLIMIT_NOFILE))
		return -EMFILE;
	return 0;
}

/* RING_REGISTER_FILES2: all or nothing. */
int ring_register_files2(struct ring_ctx *ctx, void __user *arg,
			 unsigned int size)
{
	struct ring_rsrc_register rr;
	struct ring_file_node **nodes;
	const s32 __user *fds;
	const u64 __user *tags;
	unsigned int i;
	int ret;

	if (size != sizeof(rr))
		return -EINVAL;
	if (copy_from_user(&rr, arg, sizeof(rr)))
		return -EFAULT;
	if ((rr.flags & ~RING_RSRC_REGISTER_SPARSE) || rr.resv2)
		return -EINVAL;
	if ((rr.flags & RING_RSRC_REGISTER_SPARSE) && (rr.data || rr.tags))
		return -EINVAL;
	if (ctx->files)
		return -EBUSY;
	ret = ring_files_check_nr(rr.nr);
	if (ret)
		return ret;
	/* As io_uring: no fds at all is a sparse table too. */
	fds = u64_to_user_ptr(rr.data);
	tags = u64_to_user_ptr(rr.tags);

	nodes = kvcalloc(rr.nr, sizeof(*nodes), GFP_KERNEL_ACCOUNT);
	if (!nodes)
		return -ENOMEM;
	for (i = 0; i < rr.nr; i++) {
		s32 fd = -1;
		u64 utag = 0;

		ret = -EFAULT;
		if (tags && copy_from_user(&utag, &tags[i], sizeof(utag)))
			goto err_put_nodes;
		if (fds && copy_from_user(&fd, &fds[i], sizeof(fd)))
			goto err_put_nodes;
		ret = ring_file_node_create(fd, utag, &nodes[i]);
		if (ret)
			goto err_put_nodes;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			i++;
			goto err_put_nodes;
		}
		cond_resched();
	}
	ctx->files = nodes;
	WRITE_ONCE(ctx->nr_files, rr.nr);
	return 0;

err_put_nodes:
	ring_file_nodes_put(nodes, i);
	kvfree(nodes);
	return ret;
}

/* RING_UNREGISTER_FILES, and teardown (tags into rings not yet freed). */
int ring_unregister_files(struct ring_ctx *ctx)
{
	unsigned int i;

	if (!ctx->files)
		return -ENXIO;
	for (i = 0; i < ctx->nr_files; i++) {
		if (ctx->files[i])
			ring_file_node_retire(ctx, ctx->files[i]);
	}
	kvfree(ctx->files);
	ctx->files = NULL;
	WRITE_ONCE(ctx->nr_files, 0);
	return 0;
}

/*
 * RING_REGISTER_FILES_UPDATE2, io_uring's: slot by slot, stopping at the
 * first failure; the count done, or the error if none was.  A failing
 * slot is left as it was (io_uring empties it first).
 */
int ring_register_files_update2(struct ring_ctx *ctx, void __user *arg,
				unsigned int size)
{
	struct ring_rsrc_update2 up;
	const s32 __user *fds;
	const u64 __user *tags;
	unsigned int done, end;
	int ret = 0;

	if (size != sizeof(up))
		return -EINVAL;
	if (copy_from_user(&up, arg, sizeof(up)))
		return -EFAULT;
	if (!up.nr || up.resv || up.resv2)
		return -EINVAL;
	if (!ctx->files)
		return -ENXIO;
	if (check_add_overflow(up.offset, up.nr, &end) || end > ctx->nr_files)
		return -EINVAL;
	fds = u64_to_user_ptr(up.data);
	tags = u64_to_user_ptr(up.tags);

	for (done = 0; done < up.nr; done++) {
		struct ring_file_node *node, *old;
		unsigned int slot;
		u64 utag = 0;
		s32 fd;

		if ((tags && copy_from_user(&utag, &tags[done], sizeof(u64))) ||
		    copy_from_user(&fd, &fds[done], sizeof(fd))) {
			ret = -EFAULT;
			break;
		}
		if (fd == RING_REGISTER_FILES_SKIP) {
			if (utag) {
				ret = -EINVAL;
				break;
			}
			continue;
		}
		ret = ring_file_node_create(fd, utag, &node);
		if (ret)
			break;
		slot = array_index_nospec(up.offset + done, ctx->nr_files);
		old = ctx->files[slot];
		ctx->files[slot] = node;
		/* Requests in flight hold their own reference. */
		if (old)
			ring_file_node_retire(ctx, old);
		cond_resched();
	}
	return done ? done : ret;
}

/*
 * Submission, under uring_lock: the file of slot @index and a reference
 * on its node for the request's life.  Out of range or empty: -EBADF.
 */
struct file *ring_file_get_fixed(struct ring_ctx *ctx, unsigned int index,
				 struct ring_file_node **nodep)
{
	struct ring_file_node *node;

	lockdep_assert_held(&ctx->uring_lock);
	if (index >= ctx->nr_files)
		return NULL;
	node = ctx->files[array_index_nospec(index, ctx->nr_files)];
	if (!node)
		return NULL;
	refcount_inc(&node->refs);
	*nodep = node;
	return node->file;
}
