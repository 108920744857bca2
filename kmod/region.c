// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-owned, zeroed pages that user space maps (the rings and the SQE
 * array).  Pages are allocated one by one, so no high-order allocation can
 * fail a large ring, charged to the caller's memory cgroup, and mapped into
 * the kernel with vmap() for linear access.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "ring.h"

static void ring_region_put_pages(struct ring_region *region, unsigned int nr)
{
	while (nr--)
		__free_page(region->pages[nr]);
	atomic_long_sub(region->nr_pages, &ring_stats.pages);
}

int ring_region_alloc(struct ring_region *region, size_t size)
{
	unsigned int nr = PAGE_ALIGN(size) >> PAGE_SHIFT;
	unsigned int i;

	region->pages = kvmalloc_array(nr, sizeof(*region->pages),
				       GFP_KERNEL_ACCOUNT);
	if (!region->pages)
		return -ENOMEM;
	region->nr_pages = nr;
	atomic_long_add(nr, &ring_stats.pages);

	for (i = 0; i < nr; i++) {
		region->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!region->pages[i])
			goto err_put_pages;
	}
	region->vaddr = vmap(region->pages, nr, VM_MAP, PAGE_KERNEL);
	if (!region->vaddr)
		goto err_put_pages;
	return 0;

err_put_pages:
	ring_region_put_pages(region, i);
	kvfree(region->pages);
	region->pages = NULL;
	return -ENOMEM;
}

void ring_region_free(struct ring_region *region)
{
	if (!region->pages)
		return;
	vunmap(region->vaddr);
	/* Pages still mapped somewhere keep their own reference. */
	ring_region_put_pages(region, region->nr_pages);
	kvfree(region->pages);
	region->pages = NULL;
}

int ring_region_mmap(struct ring_region *region, struct vm_area_struct *vma)
{
	unsigned long nr = vma_pages(vma);
	int ret;

	if (nr > region->nr_pages)
		return -EINVAL;
	/* The rings have a fixed size: mremap() must not grow the mapping. */
	vm_flags_set(vma, VM_DONTEXPAND);
	ret = vm_insert_pages(vma, vma->vm_start, region->pages, &nr);
	/*
	 * vm_insert_pages() says -EFAULT when it cannot allocate a page
	 * table above the PTEs (and -ENOMEM for a PTE table): both are out
	 * of memory to mmap()'s caller, not a bad address.
	 */
	return ret == -EFAULT ? -ENOMEM : ret;
}
