// SPDX-License-Identifier: MIT
/*
 * ringbench: NOP and 4 KiB random-read micro-benchmark of /dev/ring against
 * io_uring and pread(), in the spirit of fio's t/io_uring.
 *
 * Every completion is checked (right slot, res == block size, 0 for NOPs);
 * any error ends the run with a message and exit status 1 (2: bad usage).
 * See --help and Documentation/benchmarks.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "ringbench.h"

/* Engine = backend + buffer mode; a new one is a line here. */
static const struct engine engines[] = {
	{ "ring",	 &ring_backend,	 BUF_PLAIN },
	{ "ring-fixed",	 &ring_backend,	 BUF_FIXED },
	{ "ring-iotlb",	 &ring_backend,	 BUF_IOTLB },
	{ "uring",	 &uring_backend, BUF_PLAIN },
	{ "uring-fixed", &uring_backend, BUF_FIXED },
	{ "psync",	 &psync_backend, BUF_PLAIN },
};

#define MAX_QD		4096
#define MAX_BS		(1U << 20)

volatile sig_atomic_t bench_timeup;

void bench_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("ringbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_alarm(int sig)
{
	bench_timeup = 1;
}

/* Arm (seconds > 0) or disarm (0) the one-shot run-time timer. */
static void set_timer(double seconds)
{
	struct itimerval it = { 0 };

	it.it_value.tv_sec = (time_t)seconds;
	it.it_value.tv_usec = (suseconds_t)((seconds - (time_t)seconds) * 1e6);
	if (seconds > 0 && !it.it_value.tv_sec && !it.it_value.tv_usec)
		it.it_value.tv_usec = 1;
	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * A timer signal, not a clock read per round, ends the run: the hot loop
 * pays one load for it, which keeps instruction counts clean.
 */
void bench_start(struct bench *b)
{
	bench_timeup = 0;
	b->ops = 0;
	b->start = now();
	if (b->seconds > 0)
		set_timer(b->seconds);
}

void bench_end(struct bench *b)
{
	b->elapsed = now() - b->start;
	set_timer(0);
}

int bench_bad_res(struct bench *b, unsigned long long off, long long res)
{
	if (b->mode == MODE_NOP)
		bench_err("%s: NOP completed with res %lld%s%s", b->eng->name,
			  res, res < 0 ? ": " : "",
			  res < 0 ? strerror((int)-res) : "");
	else
		bench_err("%s: read of %u bytes at offset %llu of %s: res %lld%s%s",
			  b->eng->name, b->bs, off, b->path, res,
			  res < 0 ? ": " : " (short read)",
			  res < 0 ? strerror((int)-res) : "");
	return -EIO;
}

static void usage(FILE *f)
{
	unsigned i;

	fprintf(f,
"usage: ringbench [-e ENGINE] [-m nop|randread] [-d QD] [-b BATCH] [-c BATCH]\n"
"                 [-s BYTES] [-t SECONDS | -n OPS] [-f DEVICE|FILE]\n"
"                 [--json] [--buffered] [--sqpoll] [--iopoll] [--files]\n"
"  -e  engine (default ring):");
	for (i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		fprintf(f, " %s", engines[i].name);
	fprintf(f, "\n"
"  -m  nop: NOPs; randread: random reads of -s bytes (default randread)\n"
"  -d  queue depth, operations in flight (default: the -b batch, else 1)\n"
"  -b  operations submitted per enter (default: QD)\n"
"  -c  completions waited for per enter once QD are in flight (default: -b)\n"
"  -s  read size, a multiple of 512 (default 4096)\n"
"  -t  run time in seconds (default 5); -n: stop after OPS operations\n"
"  -f  what randread reads, O_DIRECT (default /dev/nullb0)\n"
"  --buffered  open without O_DIRECT (e.g. for files on tmpfs)\n"
"  --json      the result line as JSON instead of key=value\n"
"  --sqpoll    ring and uring: a kernel thread submits (SETUP_SQPOLL);\n"
"              reads name the file as registered slot 0\n"
"  --iopoll    ring and uring: O_DIRECT reads complete by polling\n"
"              (SETUP_IOPOLL; the device needs poll queues)\n"
"  --files     reads name the file as registered slot 0\n"
"Prints IOPS and ns/op = 1e9/IOPS; under QEMU -icount shift=0 that is\n"
"guest instructions per op (say RING_ICOUNT=1 to have it said).\n");
}

/* A positive number no larger than @max, or -1. */
static long long parse_num(const char *opt, const char *s, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || end == s || *end || v < 1 || v > max) {
		bench_err("-%s wants a number from 1 to %lld, got '%s'", opt,
			  max, s);
		return -1;
	}
	return v;
}

static const struct engine *find_engine(const char *name)
{
	unsigned i;

	for (i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (!strcmp(engines[i].name, name))
			return &engines[i];
	bench_err("unknown engine '%s' (see --help)", name);
	return NULL;
}

/* Options into @b; 0, or 2 for a usage error (message printed). */
static int parse_args(struct bench *b, int argc, char **argv, bool *json)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "buffered", no_argument, NULL, 'U' },
		{ "sqpoll", no_argument, NULL, 'P' },
		{ "iopoll", no_argument, NULL, 'I' },
		{ "files", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long long qd = 0, sbatch = 0, cbatch = 0, v;
	bool timed = false;
	char *end;
	int opt;

	b->eng = &engines[0];
	b->mode = MODE_RANDREAD;
	b->bs = 4096;
	b->seconds = 5;
	b->path = "/dev/nullb0";
	while ((opt = getopt_long(argc, argv, "e:m:d:b:c:s:t:n:f:h", lopts,
				  NULL)) != -1) {
		v = 0;
		switch (opt) {
		case 'e':
			b->eng = find_engine(optarg);
			if (!b->eng)
				return 2;
			break;
		case 'm':
			if (!strcmp(optarg, "nop")) {
				b->mode = MODE_NOP;
			} else if (!strcmp(optarg, "randread")) {
				b->mode = MODE_RANDREAD;
			} else {
				bench_err("-m wants nop or randread, got '%s'",
					  optarg);
				return 2;
			}
			break;
		case 'd':
			v = qd = parse_num("d", optarg, MAX_QD);
			break;
		case 'b':
			v = sbatch = parse_num("b", optarg, MAX_QD);
			break;
		case 'c':
			v = cbatch = parse_num("c", optarg, MAX_QD);
			break;
		case 's':
			v = parse_num("s", optarg, MAX_BS);
			if (v > 0 && v % 512) {
				bench_err("-s wants a multiple of 512, got %lld", v);
				v = -1;
			}
			b->bs = (unsigned)v;
			break;
		case 't':
			errno = 0;
			b->seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(b->seconds > 0) ||
			    b->seconds > 1e6) {
				bench_err("-t wants seconds > 0, got '%s'", optarg);
				return 2;
			}
			timed = true;
			break;
		case 'n':
			v = parse_num("n", optarg, LLONG_MAX);
			b->max_ops = (unsigned long long)v;
			break;
		case 'f':
			b->path = optarg;
			break;
		case 'J':
			*json = true;
			break;
		case 'U':
			b->buffered = true;
			break;
		case 'P':
			b->sqpoll = true;
			break;
		case 'I':
			b->iopoll = true;
			break;
		case 'F':
			b->files = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
		if (v < 0)
			return 2;
	}
	if (optind < argc) {
		bench_err("unexpected argument '%s' (see --help)", argv[optind]);
		return 2;
	}
	/* -n alone runs to the count; with -t, whichever comes first. */
	if (b->max_ops && !timed)
		b->seconds = 0;

	if (!qd)
		qd = sbatch ? sbatch : 1;
	if (!sbatch)
		sbatch = qd;
	if (!cbatch)
		cbatch = sbatch;
	if (sbatch > qd || cbatch > qd) {
		bench_err("batches (-b %lld, -c %lld) must not exceed QD (-d %lld)",
			  sbatch, cbatch, qd);
		return 2;
	}
	b->qd = (unsigned)qd;
	b->sbatch = (unsigned)sbatch;
	b->cbatch = (unsigned)cbatch;

	if (!b->eng->be->queued && qd > 1) {
		bench_err("%s: one operation at a time: QD and batches are 1",
			  b->eng->name);
		return 2;
	}
	if ((b->sqpoll || b->iopoll || b->files) && !b->eng->be->queued) {
		bench_err("%s: no queue, so no --sqpoll, --iopoll or --files",
			  b->eng->name);
		return 2;
	}
	if (b->iopoll && b->buffered) {
		bench_err("--iopoll polls O_DIRECT reads only: not with --buffered");
		return 2;
	}
	if (b->mode == MODE_NOP && !b->eng->be->has_nop) {
		bench_err("%s: no NOP mode", b->eng->name);
		return 2;
	}
	if (b->mode == MODE_RANDREAD && b->eng->buf == BUF_FIXED &&
	    !b->eng->be->has_fixed) {
		bench_err("%s: no fixed buffers in this backend", b->eng->name);
		return 2;
	}
	if (b->mode == MODE_RANDREAD && b->eng->buf == BUF_IOTLB &&
	    !b->eng->be->has_iotlb) {
		bench_err("%s: no IOTLB region in this backend", b->eng->name);
		return 2;
	}
	return 0;
}

/* Open the read target and size it in blocks. */
static int open_target(struct bench *b)
{
	unsigned long long size;
	struct stat st;

	b->fd = open(b->path, O_RDONLY | O_CLOEXEC |
		     (b->buffered ? 0 : O_DIRECT));
	if (b->fd < 0) {
		bench_err("open %s%s: %s", b->path,
			  b->buffered ? "" : " with O_DIRECT", strerror(errno));
		return -errno;
	}
	if (fstat(b->fd, &st) < 0) {
		bench_err("stat %s: %s", b->path, strerror(errno));
		return -errno;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &size) < 0) {
			bench_err("BLKGETSIZE64 %s: %s", b->path,
				  strerror(errno));
			return -errno;
		}
	} else if (S_ISREG(st.st_mode)) {
		size = (unsigned long long)st.st_size;
	} else {
		bench_err("%s is neither a block device nor a regular file",
			  b->path);
		return -EINVAL;
	}
	b->nblocks = size / b->bs;
	if (!b->nblocks) {
		bench_err("%s: %llu bytes, less than one %u-byte block",
			  b->path, size, b->bs);
		return -EINVAL;
	}
	return 0;
}

/* Buffers and slots, touched now so no page fault lands in the run. */
static int alloc_slots(struct bench *b)
{
	unsigned i;

	if (posix_memalign((void **)&b->bufs, 4096, (size_t)b->qd * b->bs))
		return -ENOMEM;
	memset(b->bufs, 0, (size_t)b->qd * b->bs);
	b->free_slots = calloc(b->qd, sizeof(*b->free_slots));
	b->busy = calloc(b->qd, sizeof(*b->busy));
	b->slot_off = calloc(b->qd, sizeof(*b->slot_off));
	if (!b->free_slots || !b->busy || !b->slot_off)
		return -ENOMEM;
	for (i = 0; i < b->qd; i++)
		b->free_slots[i] = b->qd - 1 - i;
	b->nfree = b->qd;
	return 0;
}

static void report(const struct bench *b, bool json)
{
	const char *mode = b->mode == MODE_NOP ? "nop" : "randread";
	double iops = b->elapsed > 0 ? b->ops / b->elapsed : 0;
	double nsop = iops > 0 ? 1e9 / iops : 0;
	const char *icount = getenv("RING_ICOUNT");
	struct utsname u;

	if (uname(&u) < 0)
		strcpy(u.release, "unknown");
	printf("%s %s: qd %u, batch %u/%u", b->eng->name, mode, b->qd,
	       b->sbatch, b->cbatch);
	if (b->mode == MODE_RANDREAD)
		printf(", %u bytes", b->bs);
	printf(": %.0f IOPS, %.1f ns/op (%llu ops in %.3f s)\n", iops, nsop,
	       b->ops, b->elapsed);
	if (icount && !strcmp(icount, "1"))
		printf("  under QEMU -icount shift=0 1 ns = 1 guest instruction: %.1f instructions/op\n",
		       nsop);
	if (json)
		printf("{\"engine\":\"%s\",\"mode\":\"%s\",\"qd\":%u,\"batch\":%u,"
		       "\"cbatch\":%u,\"bs\":%u,\"ops\":%llu,\"seconds\":%.6f,"
		       "\"iops\":%.0f,\"ns_per_op\":%.1f,\"kernel\":\"%s\"}\n",
		       b->eng->name, mode, b->qd, b->sbatch, b->cbatch, b->bs,
		       b->ops, b->elapsed, iops, nsop, u.release);
	else
		printf("engine=%s mode=%s qd=%u batch=%u cbatch=%u bs=%u ops=%llu seconds=%.6f iops=%.0f ns_per_op=%.1f kernel=%s\n",
		       b->eng->name, mode, b->qd, b->sbatch, b->cbatch, b->bs,
		       b->ops, b->elapsed, iops, nsop, u.release);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct bench b = { .fd = -1, .rng = 0x9e3779b97f4a7c15ULL };
	enum bench_op op = OP_NOP;
	bool json = false;
	int ret;

	ret = parse_args(&b, argc, argv, &json);
	if (ret)
		return ret;
	if (b.mode == MODE_RANDREAD) {
		op = b.eng->buf == BUF_FIXED ? OP_READ_FIXED :
		     b.eng->buf == BUF_IOTLB ? OP_READ_IOVA : OP_READ;
		if (open_target(&b) < 0)
			return 1;
	}
	if (alloc_slots(&b) < 0) {
		bench_err("out of memory for %u buffers of %u bytes", b.qd, b.bs);
		return 1;
	}
	/* No SA_RESTART: the signal must cut a wait short. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0) {
		bench_err("sigaction: %s", strerror(errno));
		return 1;
	}

	ret = b.eng->be->run(&b, op);
	if (ret)
		return 1;
	if (!b.ops) {
		bench_err("%s: no operation completed", b.eng->name);
		return 1;
	}
	report(&b, json);
	return 0;
}
