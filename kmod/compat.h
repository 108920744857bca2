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

#endif /* RING_COMPAT_H */
