/* SPDX-License-Identifier: GPL-2.0 */
#ifndef RING_OPDEF_H
#define RING_OPDEF_H

#include <linux/nospec.h>

#include "ring.h"

/*
 * Per-opcode handlers.  prep() checks and captures the private copy of the
 * SQE, in the submitter's context.  issue() runs the request and returns
 * its result, -EIOCBQUEUED when it will complete on its own later, or, with
 * RING_ISSUE_NONBLOCK, -EAGAIN when it would have to wait: the request is
 * then retried when its file is ready (pollin/pollout, pollable files) or
 * by a worker that may block.  An opcode without issue() is not supported.
 */
struct ring_opdef {
	const char *name;
	int (*prep)(struct ring_req *req, const struct ring_sqe *sqe);
	int (*issue)(struct ring_req *req, unsigned int issue_flags);
	/* Frees what prep() allocated, even if prep() failed half-way. */
	void (*cleanup)(struct ring_req *req);
	__poll_t poll_events;	/* what a not-ready file is waited for */
	bool iopoll;		/* allowed on a RING_SETUP_IOPOLL ring */
};

/* One past the highest opcode the contract names. */
#define RING_OP_LAST	(RING_OP_WRITE + 1)

extern const struct ring_opdef ring_opdefs[RING_OP_LAST];

/* The handlers for @opcode, or NULL when this module does not run it. */
static inline const struct ring_opdef *ring_opdef_get(u8 opcode)
{
	const struct ring_opdef *def;

	if (unlikely(opcode >= RING_OP_LAST))
		return NULL;
	def = &ring_opdefs[array_index_nospec(opcode, RING_OP_LAST)];
	return def->issue ? def : NULL;
}

/* nop.c */
int ring_nop_prep(struct ring_req *req, const struct ring_sqe *sqe);
int ring_nop_issue(struct ring_req *req, unsigned int issue_flags);

/* rw.c */
int ring_rw_prep(struct ring_req *req, const struct ring_sqe *sqe);
int ring_rw_issue(struct ring_req *req, unsigned int issue_flags);
void ring_rw_cleanup(struct ring_req *req);
void ring_rw_iopoll_done(struct ring_req *req, struct ring_batch *done);

/* fsync.c */
int ring_fsync_prep(struct ring_req *req, const struct ring_sqe *sqe);
int ring_fsync_issue(struct ring_req *req, unsigned int issue_flags);

#endif /* RING_OPDEF_H */
