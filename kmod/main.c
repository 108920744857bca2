// SPDX-License-Identifier: GPL-2.0
/*
 * ring.ko: io_uring-style asynchronous I/O through /dev/ring.
 *
 * This file is the character device: open/close, the ioctl entry points,
 * mmap and poll.  The contract is include/uapi/linux/ring.h.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "ring.h"

struct ring_stats ring_stats;

static int ring_open(struct inode *inode, struct file *file)
{
	struct ring_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);

	if (!ctx)
		return -ENOMEM;
	mutex_init(&ctx->uring_lock);
	spin_lock_init(&ctx->completion_lock);
	INIT_LIST_HEAD(&ctx->backlog);
	INIT_LIST_HEAD(&ctx->defer_list);
	ctx->iopoll_tail = &ctx->iopoll_first;
	spin_lock_init(&ctx->iopoll_lock);
	ctx->iopoll_remote_tail = &ctx->iopoll_remote_first;
	init_llist_head(&ctx->notify_list);
	INIT_WORK(&ctx->notify_work, ring_rw_notify_work);
	init_waitqueue_head(&ctx->cq_wait);
	init_rwsem(&ctx->iotlb_rwsem);
	ctx->mapping = file->f_mapping;
	spin_lock_init(&ctx->async_lock);
	INIT_LIST_HEAD(&ctx->poll_list);
	INIT_LIST_HEAD(&ctx->workers);
	file->private_data = ctx;
	return 0;
}

static void ring_ctx_free(struct ring_ctx *ctx)
{
	ring_ctx_teardown(ctx);
	mutex_destroy(&ctx->uring_lock);
	kfree(ctx);
}

static void ring_exit_work(struct work_struct *work)
{
	ring_ctx_free(container_of(work, struct ring_ctx, exit_work));
}

static int ring_release(struct inode *inode, struct file *file)
{
	struct ring_ctx *ctx = file->private_data;

	/*
	 * Teardown waits for I/O already at a file, which a user may hold up
	 * (a FUSE server).  The owner process may wait for its own ring; a
	 * last reference dropped anywhere else (the kernel's delayed fput,
	 * another user's mmput() of the owner's mm) must not, so teardown
	 * goes to the module's teardown workqueue, which unload drains.
	 */
	if (smp_load_acquire(&ctx->ready) && current->tgid != ctx->owner_tgid) {
		INIT_WORK(&ctx->exit_work, ring_exit_work);
		ring_async_defer_teardown(&ctx->exit_work);
		return 0;
	}
	ring_ctx_free(ctx);
	return 0;
}

/* The ring behind @file once SETUP has published it, else NULL. */
static struct ring_ctx *ring_ctx_get(struct file *file)
{
	struct ring_ctx *ctx = file->private_data;

	/* Pairs with the release in ring_setup(). */
	return smp_load_acquire(&ctx->ready) ? ctx : NULL;
}

static long ring_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct ring_ctx *ctx;

	if (cmd == RING_IOC_SETUP)
		return ring_setup(file->private_data, uarg);

	switch (cmd) {
	case RING_IOC_ENTER:
	case RING_IOC_ENTER_ARG:
	case RING_IOC_REGISTER:
		break;
	default:
		return -ENOTTY;
	}

	ctx = ring_ctx_get(file);
	if (!ctx)
		return -EBADFD;
	/* Addresses in SQEs and registrations mean something only in one mm. */
	if (current->mm != ctx->mm)
		return -EPERM;

	if (cmd == RING_IOC_ENTER)
		return ring_enter(ctx, uarg);
	if (cmd == RING_IOC_ENTER_ARG)
		return ring_enter_arg(ctx, uarg);
	return ring_register(ctx, uarg);
}

static int ring_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct ring_ctx *ctx = ring_ctx_get(file);

	return ctx ? ring_mmap(ctx, vma) : -EBADFD;
}

static __poll_t ring_poll(struct file *file, poll_table *wait)
{
	struct ring_ctx *ctx = ring_ctx_get(file);
	__poll_t mask = 0;

	if (!ctx)
		return EPOLLERR;
	poll_wait(file, &ctx->cq_wait, wait);
	/*
	 * Order the queueing above before the checks below; pairs with the
	 * barrier in ring_cq_wake() after a CQ post.
	 */
	smp_mb();
	if (ring_cq_ready(ctx) || READ_ONCE(ctx->backlog_nr))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (ring_sq_has_space(ctx))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

/*
 * The owner process is leaving its mm for good: its last thread exits, or
 * it execs.  One thread exiting with a file table of its own is not that.
 */
static bool ring_owner_leaving(struct ring_ctx *ctx)
{
	if (current->tgid != ctx->owner_tgid)
		return false;
	/* Exiting: its mm is already gone (exit_mm() comes before files). */
	if (current->flags & PF_EXITING)
		return !atomic_read(&current->signal->live);
	/* A close-on-exec descriptor closed in the new image. */
	return current->mm != ctx->mm;
}

/*
 * Every close of a descriptor.  When the owner process exits or execs,
 * nothing can submit to the ring again; a worker blocked on its behalf would
 * hold the owner's mm, hence its release notification (async.c), hence the
 * ring's mappings and this file, forever.  So cancel everything now.
 */
static int ring_flush(struct file *file, fl_owner_t id)
{
	struct ring_ctx *ctx = ring_ctx_get(file);

	if (ctx && ring_owner_leaving(ctx))
		ring_async_cancel_all(ctx);
	return 0;
}

static const struct file_operations ring_fops = {
	.owner		= THIS_MODULE,
	.open		= ring_open,
	.release	= ring_release,
	.flush		= ring_flush,
	.unlocked_ioctl	= ring_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= ring_file_mmap,
	.poll		= ring_poll,
	.show_fdinfo	= ring_show_fdinfo,
	.llseek		= noop_llseek,
};

/* A /dev/ring file: never in a ring's file table (filetable.c). */
bool ring_is_ring_file(struct file *file)
{
	return file->f_op == &ring_fops;
}

#define RING_STAT_ATTR(field)						\
static ssize_t field##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%ld\n",					\
			  atomic_long_read(&ring_stats.field));		\
}									\
static DEVICE_ATTR_RO(field)

RING_STAT_ATTR(rings);
RING_STAT_ATTR(pages);
RING_STAT_ATTR(iotlb_pages);

static ssize_t requests_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(ring_live_requests, cpu);
	return sysfs_emit(buf, "%ld\n", sum);
}
static DEVICE_ATTR_RO(requests);

static struct attribute *ring_stats_attrs[] = {
	&dev_attr_rings.attr,
	&dev_attr_requests.attr,
	&dev_attr_pages.attr,
	&dev_attr_iotlb_pages.attr,
	NULL,
};

static const struct attribute_group ring_stats_group = {
	.name	= "stats",
	.attrs	= ring_stats_attrs,
};

static const struct attribute_group *ring_attr_groups[] = {
	&ring_stats_group,
	NULL,
};

static struct miscdevice ring_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "ring",
	.fops	= &ring_fops,
	.groups	= ring_attr_groups,
};

static int __init ring_init(void)
{
	int ret;

	ret = ring_req_cache_init();
	if (ret)
		return ret;
	ret = ring_async_init();
	if (ret)
		goto err_destroy_req_cache;
	ret = misc_register(&ring_miscdev);
	if (ret)
		goto err_destroy_workers;
	return 0;

err_destroy_workers:
	ring_async_exit();
err_destroy_req_cache:
	ring_req_cache_exit();
	return ret;
}

static void __exit ring_exit(void)
{
	misc_deregister(&ring_miscdev);
	ring_async_exit();
	ring_req_cache_exit();
}

module_init(ring_init);
module_exit(ring_exit);

MODULE_DESCRIPTION("io_uring-style asynchronous I/O through /dev/ring");
MODULE_LICENSE("GPL");
/* libring's and dkms.conf's version (make install-dkms-src checks). */
MODULE_VERSION("1.1.0");
