// SPDX-License-Identifier: GPL-2.0
/*
 * Programs: generation from the call table, mutation and splicing, and the
 * text form kept in the corpus (tests/fuzz/corpus/) and in crash reports:
 *
 *   # comment
 *   LANE NAME ARG0 ARG1 ...        arguments in hex, trailing zeros omitted
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ring.h>

#include "fuzz.h"

uint64_t fz_rnd(struct fz_rand *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void gen_call(struct fz_rand *r, struct fz_call *c)
{
	unsigned int total = 0, pick, i;

	for (i = 0; i < FZ_NR_CALLS; i++)
		total += fz_calls[i].weight;
	pick = fz_below(r, total);
	for (i = 0; i < FZ_NR_CALLS - 1; i++) {
		if (pick < fz_calls[i].weight)
			break;
		pick -= fz_calls[i].weight;
	}
	memset(c, 0, sizeof(*c));
	c->nr = i;
	/* Mostly one lane, so that most programs are ordered. */
	c->lane = fz_one_in(r, 4) ? fz_below(r, FZ_LANES) : 0;
	fz_calls[i].gen(r, c->a);
}

static void add(struct fz_prog *p, int *n, int nr, uint64_t a0, uint64_t a1,
		uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	p->c[*n] = (struct fz_call){ .nr = nr, .a = { a0, a1, a2, a3, a4, a5 } };
	(*n)++;
}

/*
 * A ring set up and mapped, so that SQEs have somewhere to go; often with
 * files, user buffers registered as fixed buffers, and an IOTLB region
 * mapped, so that I/O gets past the first checks.
 */
static int gen_prologue(struct fz_rand *r, struct fz_prog *p)
{
	static const uint64_t file_kinds[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	int n = 0, i;

	add(p, &n, FZ_open_ring, 0, 0, 0, 0, 0, 0);
	add(p, &n, FZ_setup, 0, 1U << fz_below(r, 6), 0, 0, 0, 0);
	for (i = 0; i < 3; i++)
		add(p, &n, FZ_mmap, 0, i, 0, 0, 0, i);
	if (fz_one_in(r, 3))
		return n;
	/* Two files of some kind in fd slots 0 and 2 (pipes use 0-1, 2-3). */
	add(p, &n, FZ_open_fd, 0, file_kinds[fz_below(r, 9)], 0, 0, 0, 0);
	add(p, &n, FZ_open_fd, 2, file_kinds[fz_below(r, 9)], 0, 0, 0, 0);
	/* Buffers in map slots 4 and 5, registered as fixed buffers 0 and 1. */
	add(p, &n, FZ_buf, 4, fz_below(r, 4), fz_one_in(r, 3) ? 2UL << 20 : 65536, 8, 0, 0);
	add(p, &n, FZ_buf, 5, 0, 8192, 9, 0, 0);
	add(p, &n, FZ_register, 0, RING_REGISTER_BUFFERS, 0,
	    (1ULL << 60) | 4 | 1 << 4 | 7 << 8, 0, 0);
	if (fz_one_in(r, 2)) {
		/* The IOTLB: 1 MiB, 64 KiB mapped read-write at IOVA 0,
		 * mmapped into map slot 6. */
		add(p, &n, FZ_register, 0, RING_REGISTER_IOTLB, 0, 1 << 20, 0, 0);
		add(p, &n, FZ_register, 0, RING_IOTLB_MAP, 0, 0, 65536,
		    3ULL << 56);
		add(p, &n, FZ_mmap, 0, 3, 0, 0, 0, 6);
	}
	return n;
}

void fz_generate(struct fz_rand *r, struct fz_prog *p, int ncalls)
{
	int n = 0;

	if (ncalls > FZ_MAX_CALLS)
		ncalls = FZ_MAX_CALLS;
	if (!fz_one_in(r, 8))
		n = gen_prologue(r, p);
	while (n < ncalls)
		gen_call(r, &p->c[n++]);
	p->n = n;
}

static void mutate_arg(struct fz_rand *r, struct fz_call *c)
{
	uint64_t fresh[FZ_ARGS] = { 0 };
	int i = fz_below(r, FZ_ARGS);

	switch (fz_below(r, 5)) {
	case 0:
	case 1:
		/* A value the generator would give: typed, often boundary. */
		fz_calls[c->nr].gen(r, fresh);
		c->a[i] = fresh[i];
		break;
	case 2:
		c->a[i] ^= 1ULL << fz_below(r, 64);
		break;
	case 3:
		c->a[i] += (int64_t)fz_below(r, 9) - 4;
		break;
	default:
		c->lane = fz_below(r, FZ_LANES);
		break;
	}
}

void fz_mutate(struct fz_rand *r, struct fz_prog *p, const struct fz_prog *other)
{
	int rounds = 1 + fz_below(r, 4), i, k;

	while (rounds--) {
		switch (fz_below(r, 8)) {
		case 0:
		case 1:
		case 2:
			if (p->n)
				mutate_arg(r, &p->c[fz_below(r, p->n)]);
			break;
		case 3:
		case 4:
			/* Insert a new call. */
			if (p->n >= FZ_MAX_CALLS)
				break;
			k = fz_below(r, p->n + 1);
			memmove(&p->c[k + 1], &p->c[k], (p->n - k) * sizeof(p->c[0]));
			gen_call(r, &p->c[k]);
			p->n++;
			break;
		case 5:
			/* Remove one. */
			if (p->n < 2)
				break;
			k = fz_below(r, p->n);
			memmove(&p->c[k], &p->c[k + 1], (p->n - k - 1) * sizeof(p->c[0]));
			p->n--;
			break;
		case 6:
			/* Splice: our head, the other's tail. */
			if (!other || !other->n)
				break;
			k = fz_below(r, p->n + 1);
			i = fz_below(r, other->n);
			while (k < FZ_MAX_CALLS && i < other->n)
				p->c[k++] = other->c[i++];
			p->n = k;
			break;
		default:
			/* Duplicate a call (the same thing twice, racing). */
			if (!p->n || p->n >= FZ_MAX_CALLS)
				break;
			k = fz_below(r, p->n);
			memmove(&p->c[k + 1], &p->c[k], (p->n - k) * sizeof(p->c[0]));
			p->c[k + 1].lane = fz_below(r, FZ_LANES);
			p->n++;
			break;
		}
	}
}

int fz_print(const struct fz_prog *p, char *buf, size_t len)
{
	size_t off = 0;
	int i, j, last;

	for (i = 0; i < p->n && off < len; i++) {
		const struct fz_call *c = &p->c[i];

		off += snprintf(buf + off, len - off, "%u %s", c->lane,
				c->nr < FZ_NR_CALLS ? fz_calls[c->nr].name : "?");
		for (last = FZ_ARGS - 1; last >= 0 && !c->a[last]; last--)
			;
		for (j = 0; j <= last && off < len; j++)
			off += snprintf(buf + off, len - off, " %llx",
					(unsigned long long)c->a[j]);
		if (off < len)
			off += snprintf(buf + off, len - off, "\n");
	}
	return off < len ? (int)off : -1;
}

int fz_parse(const char *text, struct fz_prog *p)
{
	const char *line = text;

	p->n = 0;
	while (*line) {
		const char *end = strchrnul(line, '\n');
		char name[64], *s;
		unsigned int lane;
		struct fz_call c;
		int nr, j, used;

		memset(&c, 0, sizeof(c));
		if (*line != '#' && end > line) {
			if (sscanf(line, "%u %63s%n", &lane, name, &used) != 2)
				return -EINVAL;
			nr = fz_call_by_name(name);
			if (nr < 0 || p->n >= FZ_MAX_CALLS)
				return -EINVAL;
			c.nr = nr;
			c.lane = lane % FZ_LANES;
			s = (char *)line + used;
			for (j = 0; j < FZ_ARGS && s < end; j++) {
				char *e;

				c.a[j] = strtoull(s, &e, 16);
				if (e == s)
					break;
				s = e;
			}
			p->c[p->n++] = c;
		}
		line = *end ? end + 1 : end;
	}
	return 0;
}

int fz_load(const char *path, struct fz_prog *p)
{
	static char buf[64 * 1024];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return fz_parse(buf, p);
}

int fz_save(const char *path, const struct fz_prog *p)
{
	static char buf[64 * 1024];
	FILE *f;
	int n = fz_print(p, buf, sizeof(buf));

	if (n < 0)
		return -E2BIG;
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fwrite(buf, 1, n, f);
	return fclose(f) ? -errno : 0;
}
