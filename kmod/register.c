// SPDX-License-Identifier: GPL-2.0
/*
 * RING_IOC_REGISTER: resources shared by many requests (fixed buffers, the
 * IOTLB region), the probe and ring enabling.  Each register opcode is one
 * case here plus its own file, or a few lines here when it is that small.
 */
#include <linux/kernel.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "opdef.h"

/*
 * RING_REGISTER_PROBE, as io_uring's: @nr entries of ops[] (at most one
 * per opcode this module knows) come back with RING_OP_SUPPORTED set for
 * the opcodes it runs.  The caller's array must arrive zeroed.
 */
int ring_register_probe(void __user *arg, unsigned int nr)
{
	struct ring_probe *p;
	size_t size;
	unsigned int i;
	int ret;

	nr = min_t(unsigned int, nr, RING_OP_LAST);
	size = struct_size(p, ops, nr);
	p = kzalloc(size, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	ret = -EFAULT;
	if (copy_from_user(p, arg, size))
		goto out_free;
	ret = -EINVAL;
	if (memchr_inv(p, 0, size))
		goto out_free;

	p->last_op = RING_OP_LAST - 1;
	for (i = 0; i < nr; i++) {
		p->ops[i].op = i;
		if (ring_opdef_get(i))
			p->ops[i].flags = RING_OP_SUPPORTED;
	}
	p->ops_len = i;
	ret = copy_to_user(arg, p, size) ? -EFAULT : 0;
out_free:
	kfree(p);
	return ret;
}

long ring_register(struct ring_ctx *ctx, struct ring_register __user *uarg)
{
	struct ring_register reg;
	long ret;

	if (copy_from_user(&reg, uarg, sizeof(reg)))
		return -EFAULT;
	if (reg.resv[0] || reg.resv[1])
		return -EINVAL;

	mutex_lock(&ctx->uring_lock);
	switch (reg.opcode) {
	case RING_REGISTER_BUFFERS:
		ret = ring_register_buffers(ctx, u64_to_user_ptr(reg.arg),
					    reg.nr_args);
		break;
	case RING_UNREGISTER_BUFFERS:
		ret = -EINVAL;
		if (!reg.arg && !reg.nr_args)
			ret = ring_unregister_buffers(ctx);
		break;
	case RING_REGISTER_BUFFERS_UPDATE:
		ret = ring_register_buffers_update(ctx, u64_to_user_ptr(reg.arg),
						   reg.nr_args);
		break;
	case RING_REGISTER_IOTLB:
		ret = ring_register_iotlb(ctx, u64_to_user_ptr(reg.arg));
		break;
	case RING_UNREGISTER_IOTLB:
		ret = -EINVAL;
		if (!reg.arg && !reg.nr_args)
			ret = ring_unregister_iotlb(ctx);
		break;
	case RING_IOTLB_MAP:
		ret = ring_iotlb_map(ctx, u64_to_user_ptr(reg.arg));
		break;
	case RING_IOTLB_UNMAP:
		ret = ring_iotlb_unmap(ctx, u64_to_user_ptr(reg.arg));
		break;
	case RING_REGISTER_PROBE:
		ret = ring_register_probe(u64_to_user_ptr(reg.arg), reg.nr_args);
		break;
	case RING_REGISTER_ENABLE_RINGS:
		ret = -EINVAL;
		if (!reg.arg && !reg.nr_args)
			ret = ring_enable_rings(ctx);
		break;
	case RING_REGISTER_BUFFERS2:
		ret = ring_register_buffers2(ctx, u64_to_user_ptr(reg.arg),
					     reg.nr_args);
		break;
	case RING_REGISTER_BUFFERS_UPDATE2:
		ret = ring_register_buffers_update2(ctx, u64_to_user_ptr(reg.arg),
						    reg.nr_args);
		break;
	case RING_REGISTER_FILES2:
		ret = ring_register_files2(ctx, u64_to_user_ptr(reg.arg),
					   reg.nr_args);
		break;
	case RING_REGISTER_FILES_UPDATE2:
		ret = ring_register_files_update2(ctx, u64_to_user_ptr(reg.arg),
						  reg.nr_args);
		break;
	case RING_UNREGISTER_FILES:
		ret = -EINVAL;
		if (!reg.arg && !reg.nr_args)
			ret = ring_unregister_files(ctx);
		break;
	case RING_REGISTER_IOWQ_MAX_WORKERS:
		ret = ring_register_iowq_max_workers(ctx, u64_to_user_ptr(reg.arg),
						     reg.nr_args);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	mutex_unlock(&ctx->uring_lock);
	return ret;
}
