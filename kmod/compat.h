/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels ring.ko builds for (6.1 LTS and 6.12
 * LTS) lives here, one entry per change, each naming the version that made it.
 * Force-included into every object by kmod/Kbuild; nothing else tests
 * LINUX_VERSION_CODE.
 */
#ifndef RING_COMPAT_H
#define RING_COMPAT_H

#include <linux/version.h>

/* 6.3 made vma->vm_flags read-only; vm_flags_set() is the accessor since. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
#include <linux/mm.h>
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/* 6.2 added import_ubuf(); import_single_range() went away later (6.8). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define ring_import_ubuf(dir, buf, len, iov, iter)			\
	import_single_range(dir, buf, len, iov, iter)
#else
#define ring_import_ubuf(dir, buf, len, iov, iter)			\
	import_ubuf(dir, buf, len, iter)
#endif

/* 6.11 (RWF_ATOMIC) gave kiocb_set_rw_flags() the I/O direction. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)
#define ring_kiocb_set_rw_flags(kiocb, flags, dir)			\
	kiocb_set_rw_flags(kiocb, flags)
#else
#define ring_kiocb_set_rw_flags(kiocb, flags, dir)			\
	kiocb_set_rw_flags(kiocb, flags, dir)
#endif

/* 6.5 dropped the vmas argument of pin_user_pages(). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define ring_pin_user_pages(start, nr, flags, pages)			\
	pin_user_pages(start, nr, flags, pages, NULL)
#else
#define ring_pin_user_pages(start, nr, flags, pages)			\
	pin_user_pages(start, nr, flags, pages)
#endif

/*
 * 6.2 made the block layer's per-CPU bio cache safe to free into from any
 * context (bio_put()'s free_list_irq).  Before, only polled bios, put by
 * their poller, may come from it: io_uring of 6.1 asks for it on IOPOLL
 * rings only, and so does ring.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define RING_IOCB_ALLOC_CACHE_UNPOLLED	0
#else
#define RING_IOCB_ALLOC_CACHE_UNPOLLED	IOCB_ALLOC_CACHE
#endif

/*
 * 6.10 moved the sb's count of watched inodes, mounts and sbs
 * (s_fsnotify_connectors) into s_fsnotify_info, read by
 * fsnotify_sb_has_watchers().
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
#define ring_sb_has_watchers(sb)					\
	(atomic_long_read(&(sb)->s_fsnotify_connectors) != 0)
#else
#include <linux/fsnotify.h>
#define ring_sb_has_watchers(sb)	fsnotify_sb_has_watchers(sb)
#endif

#endif /* RING_COMPAT_H */
