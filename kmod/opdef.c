// SPDX-License-Identifier: GPL-2.0
/*
 * The opcode table: adding an opcode is one entry here plus one file.
 */
#include <linux/kernel.h>
#include <linux/nospec.h>

#include "opdef.h"

const struct ring_opdef ring_opdefs[RING_OP_LAST] = {
	[RING_OP_NOP] = {
		.name	= "NOP",
		.prep	= ring_nop_prep,
		.issue	= ring_nop_issue,
	},
	[RING_OP_READV]		= { .name = "READV" },
	[RING_OP_WRITEV]	= { .name = "WRITEV" },
	[RING_OP_FSYNC]		= { .name = "FSYNC" },
	[RING_OP_READ_FIXED]	= { .name = "READ_FIXED" },
	[RING_OP_WRITE_FIXED]	= { .name = "WRITE_FIXED" },
	[RING_OP_READ]		= { .name = "READ" },
	[RING_OP_WRITE]		= { .name = "WRITE" },
};

/* The handlers for @opcode, or NULL when this module does not run it. */
const struct ring_opdef *ring_opdef_get(u8 opcode)
{
	const struct ring_opdef *def;

	if (unlikely(opcode >= RING_OP_LAST))
		return NULL;
	def = &ring_opdefs[array_index_nospec(opcode, RING_OP_LAST)];
	return def->issue ? def : NULL;
}
