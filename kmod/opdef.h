/* SPDX-License-Identifier: GPL-2.0 */
#ifndef RING_OPDEF_H
#define RING_OPDEF_H

#include "ring.h"

/*
 * Per-opcode handlers.  prep() checks and captures the copied SQE; issue()
 * runs the request and returns its result, or -EIOCBQUEUED when it will
 * complete later on its own.  An opcode without issue() is not supported.
 */
struct ring_opdef {
	const char *name;
	int (*prep)(struct ring_req *req, const struct ring_sqe *sqe);
	int (*issue)(struct ring_req *req);
};

/* One past the highest opcode the contract names. */
#define RING_OP_LAST	(RING_OP_WRITE + 1)

extern const struct ring_opdef ring_opdefs[RING_OP_LAST];

const struct ring_opdef *ring_opdef_get(u8 opcode);

/* nop.c */
int ring_nop_prep(struct ring_req *req, const struct ring_sqe *sqe);
int ring_nop_issue(struct ring_req *req);

#endif /* RING_OPDEF_H */
