// SPDX-License-Identifier: GPL-2.0
/*
 * RING_IOC_REGISTER: resources shared by many requests (fixed buffers, the
 * IOTLB region).  Each register opcode is one case here plus its own file.
 */
#include <linux/kernel.h>
#include <linux/uaccess.h>

#include "ring.h"

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
