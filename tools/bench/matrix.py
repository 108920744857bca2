# SPDX-License-Identifier: MIT
"""The fixed matrix of `make bench`: its cells, what each is compared with,
and the targets of issue 6.  Documentation/benchmarks.md describes it; change
both together.

A cell is one measurement per kernel and round.  Its cost is 1e9 / IOPS:
guest instructions per operation under -icount shift=0, wall-clock ns per
operation otherwise.  `ref` names the io_uring cell a ring cell is compared
with (the ratio is cost / cost of ref); libaio and psync are compared with
plain io_uring for orientation.
"""

# null_blk as the io_uring reference numbers in the testing notes were
# measured: completions inline, no scheduler, no stats, no merging (the
# queue knobs are set and checked by tools/bench/guest).
# One poll queue for the polled cells (-p1); the others use the default one.
NULL_BLK = ("null_blk queue_mode=2 irqmode=0 completion_nsec=0 hw_queue_depth=64"
            " poll_queues=1")
DEVICE = "/dev/nullb0"

# fio options common to every fio cell.  gtod_reduce: no per-I/O clock reads
# for latency statistics, so fio's own cost per I/O is smaller and the
# engines' differences show more; disk_util: no periodic sysfs reads.
FIO_GLOBAL = [
    ("filename", DEVICE),
    ("direct", "1"),
    ("rw", "randread"),
    ("bs", "4k"),
    ("norandommap", None),
    ("randrepeat", "0"),
    ("time_based", None),
    ("gtod_reduce", "1"),
    ("disk_util", "0"),
    ("stonewall", None),
]

# Queue depth 32: submit up to 32 per enter, reap as soon as one completes
# (as tools/fio/ring.fio does, and t/io_uring's defaults).
FIO_QD = {
    1: [("iodepth", "1")],
    32: [("iodepth", "32"), ("iodepth_batch_submit", "32"),
         ("iodepth_batch_complete_min", "1")],
}

# fio engines: name -> (job options, needs the ring fio engine).  RING_FIO
# in an option value is replaced by the engine's absolute path.  Engines in
# VIA run in a fio process of their own, started through that launcher.
FIO_ENGINES = {
    "ring-fixed": ([("ioengine", "external:RING_FIO"), ("fixedbufs", None)], True),
    "ring-iotlb": ([("ioengine", "external:RING_FIO"), ("iotlb", None)], True),
    "ring": ([("ioengine", "external:RING_FIO")], True),
    "ringrun-uring-fixed": ([("ioengine", "io_uring"), ("fixedbufs", None)], False),
    "uring-fixed": ([("ioengine", "io_uring"), ("fixedbufs", None)], False),
    "uring": ([("ioengine", "io_uring")], False),
    "libaio": ([("ioengine", "libaio")], False),
    "psync": ([("ioengine", "psync")], False),
}

# The same unmodified program on /dev/ring: fio's io_uring engine and
# t/io_uring started through tools/ring-run (the drop-in liburing and the
# LD_PRELOAD shim).
VIA = {
    "ringrun-uring-fixed": "ring-run",
    "tiou-ring-run": "ring-run",
    "tiou-ring-libc": "ring-run",
}

# Which t/io_uring build a t/io_uring engine runs: fio's own (an inline
# syscall instruction for io_uring_enter, which ring-run can only trap), or
# the one making that call through libc's syscall(), which ring-run's shim
# catches with a function call (tools/fio/t-io_uring-libc.c).
TIOU_BINARY = {
    "tiou-uring": "t-io_uring",
    "tiou-ring-run": "t-io_uring",
    "tiou-ring-libc": "t-io_uring-libc",
}

# The syscall() build needs no trap, so ring-run leaves its seccomp filter
# out: with it, every system call of the process (the ENTER ioctl too) pays
# seccomp's entry work, about 190 instructions per call (NOP batch 1, 6.12).
TIOU_ENV = {
    "tiou-ring-libc": ["RING_RUN_NO_TRAP=1"],
}

# Which io_uring cell each engine is compared with.
REF = {
    "ring-fixed": "uring-fixed",
    "ring-iotlb": "uring-fixed",
    "ring": "uring",
    "ringrun-uring-fixed": "uring-fixed",
    "tiou-ring-run": "tiou-uring",
    "tiou-ring-libc": "tiou-uring",
    "libaio": "uring",
    "psync": "uring",
}

# fio's t/io_uring (build/tools/fio/t-io_uring, from fio 3.33's source), the
# io_uring developers' own benchmark: one thread, its raw io_uring loop,
# register-ring as it defaults (-X1), random 4 KiB O_DIRECT reads with fixed
# buffers; then with registered files (-F1), then polled (-p1, IOPOLL on
# null_blk's poll queue).  No SQPOLL cells: fio 3.33's t/io_uring has no
# option for it (-S is its preadv2 engine; sq_thread_poll is a constant),
# and a build with that constant set spins reaping in user space, which on
# the one CPU of -icount hands the SQ thread the CPU once a scheduler tick:
# about 8 million instructions per op at QD 1 on both sides.  The SQPOLL
# cells are ringbench's --sqpoll ones, whose program waits in ENTER.
# Depth, submit and complete batch are all the batch or QD, as ringbench's
# -b and -d.  It runs until the guest interrupts it (SIGINT) after sampling
# its ring's CQ head: -r is only a bound.  (workload, id, options)
TIOU_COMMON = ["-n1", "-X1", "-r60"]
TIOU_WORKLOADS = [
    ("NOP batch 1", "nop-b1", ["-N1", "-d1", "-s1", "-c1"]),
    ("NOP batch 32", "nop-b32", ["-N1", "-d32", "-s32", "-c32"]),
    ("randread QD1 fixed", "rr-qd1",
     ["-d1", "-s1", "-c1", "-B1", "-F0", "-p0", "-O1", "-R1"]),
    ("randread QD32 fixed", "rr-qd32",
     ["-d32", "-s32", "-c32", "-B1", "-F0", "-p0", "-O1", "-R1"]),
    ("randread QD1 fixed, files", "rr-qd1-files",
     ["-d1", "-s1", "-c1", "-B1", "-F1", "-p0", "-O1", "-R1"]),
    ("randread QD32 fixed, files", "rr-qd32-files",
     ["-d32", "-s32", "-c32", "-B1", "-F1", "-p0", "-O1", "-R1"]),
    ("randread QD32 polled", "rr-qd32-poll",
     ["-d32", "-s32", "-c32", "-B1", "-F1", "-p1", "-O1", "-R1"]),
]

# Display names and chart colours: ring blue, io_uring orange, others grey.
ENGINE_LABEL = {
    "ring-fixed": "ring fixed",
    "ring-iotlb": "ring IOTLB",
    "ring": "ring",
    "ringrun-uring-fixed": "ring-run fixed",
    "tiou-ring-run": "ring-run",
    "tiou-ring-libc": "ring-run, syscall()",
    "tiou-uring": "io_uring",
    "uring-fixed": "io_uring fixed",
    "uring": "io_uring",
    "libaio": "libaio",
    "psync": "psync",
}
ENGINE_COLOUR = {
    "ring-fixed": "#1f5fa8",
    "ring-iotlb": "#5b9bd5",
    "ring": "#9dc3e6",
    "ringrun-uring-fixed": "#2e75b6",
    "tiou-ring-run": "#2e75b6",
    "tiou-ring-libc": "#1f5fa8",
    "tiou-uring": "#c55a11",
    "uring-fixed": "#c55a11",
    "uring": "#f4b183",
    "libaio": "#7f7f7f",
    "psync": "#bfbfbf",
}


def _cell(suite, workload, engine, **kw):
    c = {"suite": suite, "workload": workload, "engine": engine,
         "label": ENGINE_LABEL[engine], "ref": None, "via": VIA.get(engine)}
    c.update(kw)
    return c


def cells():
    """Every cell, in run order within a round (ids are unique)."""
    out = []
    # ringbench: the pure cost of the submission/completion machinery, then
    # reads; -d 32 submits 32 per enter and waits for 32.
    for b in (1, 32):
        for e in ("ring", "uring"):
            out.append(_cell("ringbench", f"NOP batch {b}", e,
                             id=f"rb-nop-b{b}-{e}",
                             args=["-e", e, "-m", "nop", "-b", str(b)]))
    for qd in (1, 32):
        for e in ("ring-fixed", "ring-iotlb", "ring", "uring-fixed", "uring"):
            out.append(_cell("ringbench", f"randread QD{qd}", e,
                             id=f"rb-rr-qd{qd}-{e}",
                             args=["-e", e, "-m", "randread", "-d", str(qd),
                                   "-f", DEVICE]))
    # The same through libring with an SQ thread (--sqpoll: registered file).
    for qd in (1, 32):
        for e in ("ring-fixed", "uring-fixed"):
            out.append(_cell("ringbench", f"randread QD{qd} SQPOLL", e,
                             id=f"rb-rr-qd{qd}-sqpoll-{e}",
                             args=["-e", e, "-m", "randread", "-d", str(qd),
                                   "--sqpoll", "-f", DEVICE]))
    # Polled (--iopoll: IOPOLL on null_blk's poll queue, registered file).
    for e in ("ring-fixed", "uring-fixed"):
        out.append(_cell("ringbench", "randread QD32 polled", e,
                         id=f"rb-rr-qd32-poll-{e}",
                         args=["-e", e, "-m", "randread", "-d", "32",
                               "--iopoll", "--files", "-f", DEVICE]))
    # t/io_uring: fio's build on io_uring and through ring-run, and the
    # syscall() build through ring-run.
    for workload, wid, opts in TIOU_WORKLOADS:
        for e in ("tiou-uring", "tiou-ring-run", "tiou-ring-libc"):
            args = opts + TIOU_COMMON + ([DEVICE] if wid.startswith("rr") else [])
            out.append(_cell("t/io_uring", workload, e, binary=TIOU_BINARY[e],
                             env=TIOU_ENV.get(e, []),
                             id=f"tiou-{wid}-{e[5:]}", args=args))
    # fio: 4 KiB random reads; psync is synchronous, so only at QD 1.
    for qd in (1, 32):
        for e, (opts, ring) in FIO_ENGINES.items():
            if e == "psync" and qd != 1:
                continue
            out.append(_cell("fio", f"randread QD{qd}", e,
                             id=f"fio-rr-qd{qd}-{e}",
                             fio=opts + FIO_QD[qd], needs_ring_fio=ring))
    by_key = {(c["suite"], c["workload"], c["engine"]): c for c in out}
    for c in out:
        r = REF.get(c["engine"])
        if r and (c["suite"], c["workload"], r) in by_key:
            c["ref"] = by_key[(c["suite"], c["workload"], r)]["id"]
    return out


def targets():
    """Issue 6's and issue 12's targets: cell's cost <= limit x ref's cost,
    per kernel."""
    t = [("nop-b32", "issue 6: NOP batch 32: ring <= 0.9 x io_uring",
          "rb-nop-b32-ring", "rb-nop-b32-uring", 0.9)]
    # (what, ring engine, compared with, limit, text) for fio and ringbench.
    reads = [("fixed", "ring-fixed", "uring-fixed", 1.0, "fixed: ring <= 1.0 x io_uring"),
             ("iotlb", "ring-iotlb", "ring-fixed", 1.05, ": IOTLB <= 1.05 x ring fixed")]
    for what, eng, ref, limit, text in reads:
        for qd in (32, 1):
            for suite, pre in (("fio", "fio"), ("ringbench", "rb")):
                sep = " " if text[0] != ":" else ""
                t.append((f"{pre}-{what}-qd{qd}",
                          f"issue 6: {suite} randread QD{qd}{sep}{text}",
                          f"{pre}-rr-qd{qd}-{eng}", f"{pre}-rr-qd{qd}-{ref}", limit))
    # Issue 12: t/io_uring's loop on /dev/ring (the syscall() build through
    # ring-run) against t/io_uring on io_uring, with the same options; for
    # SQPOLL, which t/io_uring cannot measure here, ringbench's cells.
    for wid, what, limit in (("nop-b1", "NOP batch 1", 1.15),
                             ("nop-b32", "NOP batch 32", 1.0),
                             ("rr-qd1-files", "randread QD1 fixed, files", 1.0),
                             ("rr-qd32-files", "randread QD32 fixed, files", 1.0),
                             ("rr-qd32-poll", "randread QD32 polled", 1.0)):
        t.append((f"i12-{wid}", f"issue 12: t/io_uring {what}: ring <= {limit:g} x io_uring",
                  f"tiou-{wid}-ring-libc", f"tiou-{wid}-uring", limit))
    for qd in (1, 32):
        t.append((f"i12-sqpoll-qd{qd}",
                  f"issue 12: ringbench randread QD{qd} SQPOLL: ring <= 1 x io_uring",
                  f"rb-rr-qd{qd}-sqpoll-ring-fixed", f"rb-rr-qd{qd}-sqpoll-uring-fixed", 1.0))
    return [dict(zip(("id", "text", "cell", "ref", "limit"), x)) for x in t]


def fio_job(cell, engine_path, seconds):
    """The fio job section (a list of lines) for @cell."""
    lines = [f"[{cell['id']}]"]
    for k, v in cell["fio"]:
        if v is not None:
            v = v.replace("RING_FIO", engine_path)
        lines.append(k if v is None else f"{k}={v}")
    return lines


def fio_global(seconds):
    lines = ["[global]"]
    for k, v in FIO_GLOBAL:
        lines.append(k if v is None else f"{k}={v}")
    # fio takes a time in ms with a unit; it rounds its runtime up to 1 ms.
    lines.append(f"runtime={int(round(seconds * 1000))}ms")
    return lines
