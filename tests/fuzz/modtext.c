// SPDX-License-Identifier: GPL-2.0
/*
 * ring.ko's text sections in the running kernel, and cover files: what
 * ringfuzz and kcovrun both need to turn KCOV PCs into "SECTION OFFSET"
 * lines that tests/fuzz/coverage maps to source lines.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int cmp_addr(const void *a, const void *b)
{
	const struct fz_section *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int fz_text_load(struct fz_text *t)
{
	DIR *d = opendir("/sys/module/ring/sections");
	struct dirent *e;

	memset(t, 0, sizeof(*t));
	if (!d)
		return -errno;
	while ((e = readdir(d)) && t->n < FZ_MAX_SECTIONS) {
		struct fz_section *s = &t->sec[t->n];
		char path[512];
		FILE *f;

		if (strncmp(e->d_name, ".text", 5) &&
		    strncmp(e->d_name, ".init.text", 10) &&
		    strncmp(e->d_name, ".exit.text", 10))
			continue;
		snprintf(path, sizeof(path), "/sys/module/ring/sections/%s",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%lx", &s->addr) == 1 && s->addr) {
			memcpy(s->name, e->d_name, sizeof(e->d_name));
			t->n++;
		}
		fclose(f);
	}
	closedir(d);
	if (!t->n)
		return -ENOENT;
	qsort(t->sec, t->n, sizeof(t->sec[0]), cmp_addr);
	t->lo = t->sec[0].addr;
	return 0;
}

void fz_cover_write(const struct fz_text *t, const uint8_t *bits,
		    size_t nbits, FILE *f)
{
	size_t off;
	int s;

	/* Return addresses, as KCOV records them, per section. */
	for (off = 0; off < nbits; off++) {
		uint64_t pc = t->lo + off;

		if (!(bits[off >> 3] & (1 << (off & 7))))
			continue;
		for (s = t->n - 1; s > 0 && t->sec[s].addr > pc; s--)
			;
		fprintf(f, "%s %lx\n", t->sec[s].name,
			(unsigned long)(pc - t->sec[s].addr));
	}
}
