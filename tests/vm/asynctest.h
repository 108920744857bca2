/* SPDX-License-Identifier: MIT */
/*
 * Helpers for test_async_sec.c: processes that must never call cmocka
 * (owners that exit, holders of a ring fd, canaries), the messages they
 * exchange with the test process (with a file descriptor attached through
 * SCM_RIGHTS), byte patterns that say whose they are, and the canary.
 *
 * A canary is a separate process that maps a region at a fixed address,
 * fills it with its own pattern and spins reading it on every CPU (one
 * pinned thread per CPU), so that its mm is the one a kernel thread finds
 * loaded (lazy TLB) on any CPU.  At the end it says whether a single byte
 * of its region changed.  It can also run a test-supplied trigger (write
 * to an eventfd, a socket...) so that wake-ups come from its context, and
 * park blocking reads of its own on a FIFO.
 *
 * Everything is static inline: one test program uses it.
 */
#ifndef ASYNCTEST_H
#define ASYNCTEST_H

#include "iotest.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define ASEC_PG		4096UL

/* ---- patterns ----------------------------------------------------------- */

/* Byte i of the pattern of tag: different tags differ almost everywhere. */
static inline unsigned char pat_byte(unsigned tag, size_t i)
{
	uint32_t x = (uint32_t)i * 0x9e3779b1u ^ (tag + 1) * 0x85ebca6bu;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	x *= 0x297a2d39u;
	x ^= x >> 15;
	return (unsigned char)x;
}

static inline void pat_fill(void *p, size_t len, unsigned tag)
{
	unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = pat_byte(tag, i);
}

/* Number of bytes of p that are not the pattern; *first: the first one. */
static inline size_t pat_diff(const void *p, size_t len, unsigned tag,
			      long *first)
{
	const unsigned char *b = p;
	size_t i, n = 0;

	*first = -1;
	for (i = 0; i < len; i++)
		if (b[i] != pat_byte(tag, i)) {
			if (*first < 0)
				*first = (long)i;
			n++;
		}
	return n;
}

/* How many bytes of buf equal tag's pattern taken from offset off on. */
static inline size_t pat_matches(const void *buf, size_t len, unsigned tag,
				 size_t off)
{
	const unsigned char *b = buf;
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += b[i] == pat_byte(tag, off + i);
	return n;
}

/* ---- messages between processes ---------------------------------------- */

enum {
	MSG_NONE,
	MSG_READY,	/* a process is set up; v[] may say more */
	MSG_RING,	/* a ring fd (attached) and its params */
	MSG_PARAMS,	/* the params only */
	MSG_CHECK,	/* harness -> process: check your region */
	MSG_RESULT,	/* the answer to MSG_CHECK or a trigger */
	MSG_TRIGGER,	/* harness -> canary: run trigger step a */
	MSG_EXIT,	/* harness -> process: clean up and exit */
	MSG_ERROR,	/* text says what went wrong */
};

struct asec_msg {
	int type;
	int a;
	long long v[8];
	struct ring_params p;
	char text[512];
};

/* Send m, with fd attached unless fd < 0: 0 or -errno. */
static inline int msg_send(int sock, const struct asec_msg *m, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == sizeof(*m) ? 0 : -errno;
}

/*
 * Receive one message within timeout_ms (< 0: wait for ever); *fd gets
 * an attached descriptor or -1.  0, -ETIMEDOUT, -EPIPE (peer gone) or
 * -errno.
 */
static inline int msg_recv(int sock, struct asec_msg *m, int *fd,
			   int timeout_ms)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	ssize_t n;

	if (fd)
		*fd = -1;
	if (timeout_ms >= 0) {
		struct timeval tv = { timeout_ms / 1000,
				      (timeout_ms % 1000) * 1000 };

		setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	} else {
		struct timeval tv = { 0, 0 };

		setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT
							      : -errno;
	if (n == 0)
		return -EPIPE;
	if (n != sizeof(*m))
		return -EPROTO;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;

			memcpy(&got, CMSG_DATA(c), sizeof(int));
			if (fd)
				*fd = got;
			else
				close(got);
		}
	return 0;
}

/* A message of type with printf text, no fd. */
static inline int msg_sendf(int sock, int type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int msg_sendf(int sock, int type, const char *fmt, ...)
{
	struct asec_msg m;
	va_list ap;

	memset(&m, 0, sizeof(m));
	m.type = type;
	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	return msg_send(sock, &m, -1);
}

/* A SOCK_SEQPACKET pair, close-on-exec; fails the test on error. */
static inline void seqpair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		fail_msg("socketpair: %s", strerror(errno));
}

/*
 * In a child process (never cmocka): report text to the harness over sock
 * as MSG_ERROR and exit.
 */
#define KID_DIE(sock, ...) do {						\
	msg_sendf((sock), MSG_ERROR, __VA_ARGS__);			\
	_exit(1);							\
} while (0)

#define KID_CHECK(sock, cond, fmt, ...) do {				\
	if (!(cond))							\
		KID_DIE((sock), "%s:%d: " fmt, __func__, __LINE__,	\
			##__VA_ARGS__);					\
} while (0)

/* ---- the region at a fixed address -------------------------------------- */

/* Map len bytes exactly at addr (never over anything), touched: or NULL. */
static inline void *region_map(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
		       MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (p != addr) {
		munmap(p, len);
		errno = EEXIST;
		return NULL;
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 0, len);
	mlock(p, len);		/* best effort: present and writable */
	return p;
}

/* ---- CPUs --------------------------------------------------------------- */

/* The CPUs this process may run on, in cpus[]: how many (at most max). */
static inline int online_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int i, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (i = 0; i < CPU_SETSIZE && n < max; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	return n;
}

/* ---- the canary ----------------------------------------------------------- */

struct canary_cfg {
	void *addr;		/* the region, mapped at exactly this address */
	size_t len;
	unsigned tag;		/* its pattern */
	/* Run in the canary's main thread for MSG_TRIGGER(step): 0 or -errno
	 * (with text in *why). */
	int (*trigger)(void *arg, int step, char *why, size_t whylen);
	void *arg;
	unsigned npark;		/* park this many FIFO reads of its own */
};

struct canary {
	pid_t pid;
	int sock;		/* the harness's end */
	long long parked;	/* the park ring's Inflight once set up */
};

#define CANARY_MAX_CPUS	64

static volatile int canary_stop;
static struct canary_cfg canary_conf;

static inline void *canary_spin(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	const volatile unsigned char *p = canary_conf.addr;
	unsigned long sum = 0;
	cpu_set_t set;
	size_t i;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* this thread */
	while (!canary_stop)
		for (i = 0; i < canary_conf.len; i += 64)
			sum += p[i];
	return (void *)sum;
}

/* The park: a ring of the canary's own with npark reads on a FIFO. */
struct canary_park {
	struct ring ring;
	bool up;
	int fifo;
	char path[64];
	char *bufs;
};

static inline int canary_park_up(struct canary_park *pk, unsigned n,
				 char *why, size_t len)
{
	unsigned entries = 1, i;
	int ret;

	while (entries < n)
		entries <<= 1;
	snprintf(pk->path, sizeof(pk->path), "/tmp/asec-park-%d", getpid());
	unlink(pk->path);
	if (mkfifo(pk->path, 0600)) {
		snprintf(why, len, "mkfifo %s: %s", pk->path, strerror(errno));
		return -1;
	}
	/* O_RDWR: the FIFO polls two wait queues, so its reads block. */
	pk->fifo = open(pk->path, O_RDWR | O_CLOEXEC);
	if (pk->fifo < 0) {
		snprintf(why, len, "open %s: %s", pk->path, strerror(errno));
		return -1;
	}
	pk->bufs = calloc(n, 64);
	ret = ring_queue_init(entries, &pk->ring, 0);
	if (ret || !pk->bufs) {
		snprintf(why, len, "park ring_queue_init(%u): %s", entries,
			 errstr(ret));
		return -1;
	}
	pk->up = true;
	for (i = 0; i < n; i++) {
		struct ring_sqe *sqe = ring_get_sqe(&pk->ring);

		ring_prep_read(sqe, pk->fifo, pk->bufs + 64 * i, 16, 0);
		sqe->user_data = 0x9a9c000000ULL + i;
	}
	ret = ring_submit(&pk->ring);
	if (ret != (int)n) {
		snprintf(why, len, "park: ring_submit of %u reads: %d (%s)", n,
			 ret, errstr(ret));
		return -1;
	}
	return 0;
}

static inline void canary_park_down(struct canary_park *pk)
{
	if (pk->up)
		ring_queue_exit(&pk->ring);
	pk->up = false;
	if (pk->fifo >= 0)
		close(pk->fifo);
	pk->fifo = -1;
	if (pk->path[0])
		unlink(pk->path);
	pk->path[0] = 0;
	free(pk->bufs);
	pk->bufs = NULL;
}

static inline void canary_main(const struct canary_cfg *cfg, int sock)
{
	pthread_t th[CANARY_MAX_CPUS];
	int cpus[CANARY_MAX_CPUS], ncpu, i;
	struct canary_park pk = { .fifo = -1 };
	struct asec_msg m, r;
	unsigned char *p;

	canary_conf = *cfg;
	p = region_map(cfg->addr, cfg->len);
	if (!p)
		KID_DIE(sock, "canary: mmap at %p: %s", cfg->addr,
			strerror(errno));
	pat_fill(p, cfg->len, cfg->tag);
	memset(&r, 0, sizeof(r));
	r.type = MSG_READY;
	if (cfg->npark) {
		if (canary_park_up(&pk, cfg->npark, r.text, sizeof(r.text))) {
			canary_park_down(&pk);
			KID_DIE(sock, "canary: %s", r.text);
		}
		/* Give the workers a moment to take them (informational). */
		sleep_ms(100);
		r.v[0] = fdinfo_get(pk.ring.ring_fd, "Inflight");
	}
	ncpu = online_cpus(cpus, CANARY_MAX_CPUS);
	for (i = 0; i < ncpu; i++)
		if (pthread_create(&th[i], NULL, canary_spin,
				   (void *)(intptr_t)cpus[i]))
			KID_DIE(sock, "canary: pthread_create: %s",
				strerror(errno));
	r.v[1] = ncpu;
	msg_send(sock, &r, -1);

	for (;;) {
		int ret = msg_recv(sock, &m, NULL, -1);

		memset(&r, 0, sizeof(r));
		r.type = MSG_RESULT;
		if (ret || m.type == MSG_EXIT)
			break;
		if (m.type == MSG_TRIGGER) {
			if (m.a == -1) {
				/* Release one parked worker. */
				r.v[0] = pk.up && write(pk.fifo, "r", 1) == 1 ?
					 0 : -errno;
			} else {
				r.v[0] = cfg->trigger ?
					 cfg->trigger(cfg->arg, m.a, r.text,
						      sizeof(r.text)) :
					 -ENOSYS;
			}
		} else if (m.type == MSG_CHECK) {
			long first;

			r.v[0] = (long long)pat_diff(p, cfg->len, cfg->tag,
						     &first);
			r.v[1] = first;
			if (first >= 0) {
				size_t k, n = cfg->len - first < 16 ?
					      cfg->len - first : 16;

				for (k = 0; k < n; k++)
					snprintf(r.text + 3 * k,
						 sizeof(r.text) - 3 * k,
						 "%02x ", p[first + k]);
				memcpy(&r.v[2], p + (first & ~7L), 8);
			}
		}
		msg_send(sock, &r, -1);
	}
	canary_stop = 1;
	for (i = 0; i < ncpu; i++)
		pthread_join(th[i], NULL);
	canary_park_down(&pk);
	_exit(0);
}

/* Start a canary process; fails the test if it cannot set itself up. */
static inline void canary_start(struct canary *c, const struct canary_cfg *cfg)
{
	struct asec_msg m;
	int sv[2], ret;

	seqpair(sv);
	fflush(stdout);
	c->pid = fork();
	if (c->pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (!c->pid) {
		close(sv[0]);
		canary_main(cfg, sv[1]);
	}
	close(sv[1]);
	c->sock = sv[0];
	ret = msg_recv(c->sock, &m, NULL, 30000);
	if (ret || m.type != MSG_READY) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = -1;
		fail_msg("canary did not start: %s", ret ? errstr(ret) : m.text);
	}
	c->parked = m.v[0];
}

/* Run trigger step in the canary: its result (0 or -errno), text in why. */
static inline int canary_trigger(struct canary *c, int step, char *why,
				 size_t len)
{
	struct asec_msg m = { .type = MSG_TRIGGER, .a = step };
	int ret = msg_send(c->sock, &m, -1);

	if (!ret)
		ret = msg_recv(c->sock, &m, NULL, 30000);
	if (ret) {
		snprintf(why, len, "canary: %s", errstr(ret));
		return ret;
	}
	snprintf(why, len, "%s", m.text);
	return (int)m.v[0];
}

/*
 * How many bytes of the canary's region changed (-1: no answer); a
 * description of the first change in what.
 */
static inline long canary_check(struct canary *c, char *what, size_t len)
{
	struct asec_msg m = { .type = MSG_CHECK };
	int ret = msg_send(c->sock, &m, -1);

	if (!ret)
		ret = msg_recv(c->sock, &m, NULL, 30000);
	if (ret) {
		snprintf(what, len, "no answer from the canary: %s",
			 errstr(ret));
		return -1;
	}
	if (m.v[0])
		snprintf(what, len, "%lld bytes changed, the first at offset "
			 "%lld (page %lld): %s", m.v[0], m.v[1],
			 m.v[1] / (long long)ASEC_PG, m.text);
	else
		snprintf(what, len, "unchanged");
	return (long)m.v[0];
}

/* Tell the canary to stop (its park ring closes) and reap it. */
static inline void canary_stop_wait(struct canary *c)
{
	struct asec_msg m = { .type = MSG_EXIT };
	long long deadline = now_ns() + 30000 * 1000000LL;

	if (c->pid <= 0)
		return;
	msg_send(c->sock, &m, -1);
	while (waitpid(c->pid, NULL, WNOHANG) == 0) {
		if (now_ns() > deadline) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0);
			break;
		}
		sleep_ms(5);
	}
	close(c->sock);
	c->pid = -1;
	c->sock = -1;
}

#endif /* ASYNCTEST_H */
