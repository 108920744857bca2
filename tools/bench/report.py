#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Results of tools/bench/run: medians, ratios and targets into one JSON
document, and from it the terminal table, the CSV, the SVG chart and the
results section of Documentation/benchmarks.md.

  tools/bench/report.py RESULTS.json [--table] [--csv F] [--svg F] [--doc F]

re-renders a saved run (--doc rewrites the results section of F, e.g.
Documentation/benchmarks.md); with no option it prints the table.
"""
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import matrix  # noqa: E402

SCHEMA = 1
# The text between these lines of Documentation/benchmarks.md is ours.
DOC_BEGIN = "<!-- bench-results: begin (written by tools/bench/run from build/bench/latest.json; edits here are lost) -->"
DOC_END = "<!-- bench-results: end -->"


def cell_name(c):
    return f"{c['suite']} {c['workload']} {c['label']}"


def short_kernel(release):
    m = re.match(r"(\d+\.\d+)", release)
    return m.group(1) if m else release


def _git(repo, *args):
    try:
        return subprocess.run(["git", "-C", repo] + list(args), capture_output=True,
                              text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).splitlines()[0].strip()
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


def _aggregate(rounds):
    """One cell on one kernel: per-round (status, iops, reason) -> summary."""
    iops = [r[1] for r in rounds if r[0] == "ok"]
    bad = [r for r in rounds if r[0] != "ok"]
    s = {"iops": [round(r[1], 1) if r[0] == "ok" else None for r in rounds],
         "cost": [round(1e9 / r[1], 1) if r[0] == "ok" else None for r in rounds],
         "status": "ok", "reason": None}
    if bad:
        s["status"] = "partial" if iops else bad[0][0]
        s["reason"] = bad[0][2]
    if iops:
        costs = [1e9 / x for x in iops]
        med = statistics.median(costs)
        s["median_cost"] = round(med, 1)
        s["median_iops"] = round(statistics.median(iops), 1)
        s["spread"] = round((max(costs) - min(costs)) / med, 5)
    return s


def git_state(repo):
    """The commit a run measures and whether the sources it builds from
    differ from it: taken when the run starts (the binaries are copied
    then)."""
    watched = ["kmod", "lib", "include", "tools/ringbench", "tools/fio", "tools/bench",
               "tools/ring-run"]
    dirty = _git(repo, "status", "--porcelain", "--untracked-files=no", "--", *watched)
    return {"commit": _git(repo, "rev-parse", "--short", "HEAD") or "?",
            "commit_subject": _git(repo, "log", "-1", "--format=%s"),
            "dirty": bool(dirty)}


def build(mode, rounds, seconds, fio_seconds, cells, kernels, started, duration,
          git, partial, fio_engine):
    """The results document: every number the outputs show, computed once."""
    data = {
        "schema": SCHEMA,
        "mode": mode,
        "metric": "instructions/op" if mode == "icount" else "ns/op",
        "rounds": rounds,
        "seconds_per_cell": seconds,
        "seconds_per_fio_cell": fio_seconds,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "duration_s": round(duration, 1),
        "commit": git["commit"],
        "commit_subject": git["commit_subject"],
        "dirty": git["dirty"],
        "fio": _version(["fio", "--version"]),
        "qemu": _version(["qemu-system-x86_64", "--version"]),
        "fio_engine": fio_engine,
        "partial": partial,
        "null_blk": matrix.NULL_BLK,
        "cells": [{k: c[k] for k in ("id", "suite", "workload", "engine", "label", "ref")}
                  for c in cells],
        "kernels": [],
        "targets": [],
    }
    failures = 0
    for k in kernels:
        kc = {cid: _aggregate(r) for cid, r in k["rounds"].items()}
        for c in cells:
            s = kc[c["id"]]
            ref = kc.get(c["ref"]) if c["ref"] else None
            if "median_cost" in s and ref and "median_cost" in ref:
                s["ratio"] = round(s["median_cost"] / ref["median_cost"], 4)
            failures += s["status"] in ("failed", "partial")
        failures += k["status"] != "ok"
        data["kernels"].append({"release": k["release"], "status": k["status"],
                                "seconds": k["seconds"], "ring_ko": k.get("ring_ko", "?"),
                                "cells": kc})
    names = {c["id"]: c for c in cells}
    for t in matrix.targets():
        if t["cell"] not in names or t["ref"] not in names:
            continue
        res = {}
        for k in data["kernels"]:
            a, b = k["cells"][t["cell"]], k["cells"][t["ref"]]
            if "median_cost" in a and "median_cost" in b:
                r = a["median_cost"] / b["median_cost"]
                res[k["release"]] = {"ratio": round(r, 4),
                                     "result": "pass" if r <= t["limit"] else "miss"}
            else:
                gone = a if "median_cost" not in a else b
                who = names[t["cell"] if gone is a else t["ref"]]
                res[k["release"]] = {"ratio": None, "result": "n/a",
                                     "why": f"{who['label']}: {gone['status']}"}
        data["targets"].append(dict(t, results=res))
    data["failures"] = failures
    return data


# ---- text ----------------------------------------------------------------

def _num(v):
    return f"{v:,.0f}"


def _cell_text(s):
    if "median_cost" not in s:
        return {"not built": "not built", "unsupported": "unsupported"}.get(
            s["status"], "FAILED")
    return _num(s["median_cost"]) + ("*" if s["status"] == "partial" else "")


def _notes(data):
    """(cell, kernels, status, reason) for every cell that is not plain ok."""
    by = {}
    names = {c["id"]: c for c in data["cells"]}
    for k in data["kernels"]:
        for c in data["cells"]:
            s = k["cells"][c["id"]]
            if s["status"] != "ok":
                key = (c["id"], s["status"], s["reason"])
                by.setdefault(key, []).append(short_kernel(k["release"]))
    return [(cell_name(names[cid]), ks, st, why) for (cid, st, why), ks in by.items()]


def _times(data):
    v = "virtual " if data["mode"] == "icount" else ""
    return (f"{data['seconds_per_cell']:g} {v}s per ringbench cell, "
            f"{data.get('seconds_per_fio_cell', data['seconds_per_cell']):g} {v}s per fio"
            f"{' and t/io_uring' if any(c['suite'] == 't/io_uring' for c in data['cells']) else ''}"
            " cell")


def _target_result(x, em):
    if x["ratio"] is None:
        return f"n/a ({x['why']})"
    return f"{x['ratio']:.3f} {em}{x['result']}{em}"


def _header(data):
    unit = ("guest instructions per operation (-icount shift=0: 1e9 / IOPS)"
            if data["mode"] == "icount" else "wall-clock ns per operation (1e9 / IOPS)")
    return (f"{unit}; median of {data['rounds']} interleaved rounds, {_times(data)}; "
            f"lower is better.\n"
            f"ratio = median / median of the cell named under 'vs', same kernel and boot; "
            f"spread = (max - min) / median over the rounds.")


def table(data):
    ks = data["kernels"]
    names = {c["id"]: c for c in data["cells"]}
    head = ["suite", "workload", "engine"]
    for k in ks:
        sk = short_kernel(k["release"])
        head += [f"{sk} {'instr/op' if data['mode'] == 'icount' else 'ns/op'}", "ratio", "spread"]
    head.append("vs")
    rows = []
    for c in data["cells"]:
        r = [c["suite"], c["workload"], c["label"]]
        for k in ks:
            s = k["cells"][c["id"]]
            r.append(_cell_text(s))
            r.append(f"{s['ratio']:.3f}" if "ratio" in s else "")
            r.append(f"{100 * s['spread']:.1f}%" if "spread" in s else "")
        r.append(names[c["ref"]]["label"] if c["ref"] else "")
        rows.append(r)
    right = {i for i in range(3, len(head) - 1)}
    w = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]

    def fmt(r):
        return "  ".join(x.rjust(w[i]) if i in right else x.ljust(w[i])
                         for i, x in enumerate(r)).rstrip()
    out = [f"== bench ({data['mode']}): ring against io_uring, libaio, psync; commit "
           f"{data['commit']}{' + uncommitted changes' if data['dirty'] else ''}",
           _header(data), "", fmt(head), fmt(["-" * x for x in w])]
    prev = None
    for c, r in zip(data["cells"], rows):
        key = (c["suite"], c["workload"])
        if prev and key != prev:
            out.append("")
        prev = key
        out.append(fmt(r))
    notes = _notes(data)
    if notes:
        out.append("")
        for name, kk, st, why in notes:
            out.append(f"  {name} ({', '.join(kk)}): {st}"
                       f"{' (* median of the rounds that ran)' if st == 'partial' else ''}: {why}")
    for k in ks:
        if k["status"] != "ok":
            out.append(f"  {k['release']}: {k['status']}")
    out += ["", "== targets (issues 6 and 12; ratio of medians" +
            (", measured as wall-clock: indicative only" if data["mode"] != "icount" else "") + ")"]
    th = ["target"] + [short_kernel(k["release"]) for k in ks]
    trows = []
    for t in data["targets"]:
        r = [t["text"]]
        r += [_target_result(t["results"][k["release"]], "") for k in ks]
        trows.append(r)
    tw = [max(len(x[i]) for x in [th] + trows) for i in range(len(th))]
    out.append("  ".join(x.ljust(tw[i]) for i, x in enumerate(th)).rstrip())
    out.append("  ".join("-" * x for x in tw))
    for r in trows:
        out.append("  ".join(x.ljust(tw[i]) for i, x in enumerate(r)).rstrip())
    return "\n".join(out)


def write_csv(data, path):
    n = data["rounds"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kernel", "cell", "suite", "workload", "engine", "status",
                    "median_iops", "median_cost", "metric", "ratio", "vs", "spread"] +
                   [f"cost_round{i + 1}" for i in range(n)] + ["reason"])
        for k in data["kernels"]:
            for c in data["cells"]:
                s = k["cells"][c["id"]]
                w.writerow([k["release"], c["id"], c["suite"], c["workload"], c["engine"],
                            s["status"], s.get("median_iops", ""), s.get("median_cost", ""),
                            data["metric"], s.get("ratio", ""), c["ref"] or "",
                            s.get("spread", "")] +
                           [("" if x is None else x) for x in s["cost"]] +
                           [s["reason"] or ""])


# ---- the chart -------------------------------------------------------------

def _esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def svg(data):
    """Horizontal bars: one panel per kernel, one block per workload (its own
    scale, shared by the panels), one bar per engine; ring blue, io_uring
    orange, libaio and psync grey; the ratio to io_uring beside each ring bar."""
    ks = data["kernels"]
    groups = []
    for c in data["cells"]:
        key = f"{c['suite']}: {c['workload']}"
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(c)
    names = {c["id"]: c for c in data["cells"]}
    label_w, panel_w, gap, row_h, head_h, top = 110, 430, 24, 17, 30, 92
    width = max(label_w + len(ks) * (panel_w + gap) + 10, 760)
    height = top + sum(head_h + row_h * len(g[1]) + 8 for g in groups) + 40
    metric = "guest instructions per operation" if data["mode"] == "icount" else \
        "wall-clock ns per operation"
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif" '
         f'font-size="11">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="10" y="22" font-size="15" font-weight="bold">ring vs io_uring: '
         f'{_esc(metric)} (lower is better)</text>',
         f'<text x="10" y="40" fill="#444">median of {data["rounds"]} rounds '
         f'({_esc(_times(data))}), commit {_esc(data["commit"])}'
         f'{" + changes" if data["dirty"] else ""}, {_esc(data["started"][:10])}</text>',
         f'<text x="10" y="56" fill="#444">after each bar: the ratio to the cell named '
         f'(same kernel, same boot)</text>']
    for i, k in enumerate(ks):
        x0 = label_w + i * (panel_w + gap)
        o.append(f'<text x="{x0}" y="{top - 12}" font-size="13" font-weight="bold">'
                 f'{_esc(k["release"])}</text>')
    y = top
    for key, gcells in groups:
        vals = [k["cells"][c["id"]].get("median_cost", 0) for k in ks for c in gcells]
        vmax = max(vals) if vals and max(vals) > 0 else 1
        o.append(f'<text x="10" y="{y + 18}" font-size="12" font-weight="bold">'
                 f'{_esc(key)}</text>')
        y += head_h
        bar_w = panel_w - 180		# room for the value and ratio after the bar
        for c in gcells:
            o.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">'
                     f'{_esc(c["label"])}</text>')
            for i, k in enumerate(ks):
                x0 = label_w + i * (panel_w + gap)
                s = k["cells"][c["id"]]
                if "median_cost" not in s:
                    o.append(f'<text x="{x0 + 4}" y="{y + 12}" fill="#a00" font-style="italic">'
                             f'{_esc(_cell_text(s))}</text>')
                    continue
                w = max(1.0, bar_w * s["median_cost"] / vmax)
                o.append(f'<rect x="{x0}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" '
                         f'fill="{matrix.ENGINE_COLOUR[c["engine"]]}">'
                         f'<title>{_esc(cell_name(c))} on {_esc(k["release"])}: '
                         f'{s["median_cost"]:,.1f}</title></rect>')
                txt = _num(s["median_cost"])
                if "ratio" in s:
                    txt += f" ({s['ratio']:.2f}x {names[c['ref']]['label']})"
                o.append(f'<text x="{x0 + w + 4:.1f}" y="{y + 12}" fill="#222">'
                         f'{_esc(txt)}</text>')
            y += row_h
        for i in range(len(ks)):
            x0 = label_w + i * (panel_w + gap)
            o.append(f'<line x1="{x0}" y1="{y - row_h * len(gcells)}" x2="{x0}" '
                     f'y2="{y}" stroke="#888" stroke-width="1"/>')
        y += 8
    # The legend.
    x = 10
    y += 18
    shown = set()
    present = {c["engine"] for c in data["cells"]}
    for e, col in matrix.ENGINE_COLOUR.items():
        if e not in present or (matrix.ENGINE_LABEL[e], col) in shown:
            continue
        shown.add((matrix.ENGINE_LABEL[e], col))
        o.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{col}"/>')
        o.append(f'<text x="{x + 16}" y="{y}">{_esc(matrix.ENGINE_LABEL[e])}</text>')
        x += 30 + 7 * len(matrix.ENGINE_LABEL[e])
    o.append("</svg>")
    return "\n".join(o) + "\n"


# ---- the documentation -----------------------------------------------------

def markdown(data):
    ks = data["kernels"]
    names = {c["id"]: c for c in data["cells"]}
    unit = "instructions/op" if data["mode"] == "icount" else "ns/op"
    dirty = " plus uncommitted changes" if data["dirty"] else ""
    out = [f"Measured by `make bench` (`tools/bench/run --{data['mode']}`) on "
           f"{data['started'][:10]}, commit {data['commit']} "
           f"(\"{data['commit_subject']}\"){dirty}; {data['fio']}, "
           f"{data['qemu'].replace('QEMU emulator version', 'QEMU')}. "
           f"Median of {data['rounds']} interleaved rounds, {_times(data)}; the whole "
           f"run took {data['duration_s'] / 60:.1f} minutes. Ratio: to the cell named "
           "under \"vs\" on the same kernel, in the same boot; lower is better.", ""]
    head = ["benchmark", "engine"]
    for k in ks:
        sk = short_kernel(k["release"])
        head += [f"{sk} {unit}", f"{sk} ratio"]
    head.append("vs")
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join(["---", "---"] + ["---:"] * (2 * len(ks)) + ["---"]) + "|")
    for c in data["cells"]:
        r = [f"{c['suite']} {c['workload']}", c["label"]]
        for k in ks:
            s = k["cells"][c["id"]]
            r.append(_cell_text(s))
            r.append(f"{s['ratio']:.3f}" if "ratio" in s else "")
        r.append(names[c["ref"]]["label"] if c["ref"] else "")
        out.append("| " + " | ".join(r) + " |")
    notes = _notes(data)
    if notes:
        out.append("")
        for name, kk, st, why in notes:
            out.append(f"- {name} ({', '.join(kk)}): {st}: `{why}`")
    bad = [k for k in ks if k["status"] != "ok"]
    for k in bad:
        out.append(f"- {k['release']}: {k['status']}")
    out += ["", "Targets of issues 6 and 12 (ratio of medians):", ""]
    out.append("| target | " + " | ".join(short_kernel(k["release"]) for k in ks) + " |")
    out.append("|---|" + "|".join(["---"] * len(ks)) + "|")
    for t in data["targets"]:
        r = [t["text"]]
        r += [_target_result(t["results"][k["release"]], "**") for k in ks]
        out.append("| " + " | ".join(r) + " |")
    out += ["", "Kernels (ring.ko SHA-256 prefix): " +
            ", ".join(f"{k['release']} ({k.get('ring_ko', '?')})" for k in ks) +
            ". The chart of this run: `build/bench/latest.svg` after `make bench`."]
    return "\n".join(out) + "\n"


def update_doc(path, data):
    with open(path) as f:
        text = f.read()
    b, e = text.find(DOC_BEGIN), text.find(DOC_END)
    if b < 0 or e < b:
        raise SystemExit(f"bench: {path} has no '{DOC_BEGIN}' ... '{DOC_END}' section")
    new = text[:b + len(DOC_BEGIN)] + "\n" + markdown(data) + text[e:]
    if new != text:
        with open(path + ".tmp", "w") as f:
            f.write(new)
        os.replace(path + ".tmp", path)


def write_all(data, base):
    paths = {"json": base + ".json", "csv": base + ".csv", "svg": base + ".svg"}
    with open(paths["json"], "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    write_csv(data, paths["csv"])
    with open(paths["svg"], "w") as f:
        f.write(svg(data))
    return paths


def main(argv):
    import argparse
    p = argparse.ArgumentParser(description="re-render a tools/bench/run result")
    p.add_argument("json")
    p.add_argument("--table", action="store_true")
    p.add_argument("--csv")
    p.add_argument("--svg")
    p.add_argument("--doc")
    a = p.parse_args(argv)
    with open(a.json) as f:
        data = json.load(f)
    if data.get("schema") != SCHEMA:
        raise SystemExit(f"bench: {a.json}: schema {data.get('schema')}, not {SCHEMA}")
    if a.csv:
        write_csv(data, a.csv)
    if a.svg:
        with open(a.svg, "w") as f:
            f.write(svg(data))
    if a.doc:
        update_doc(a.doc, data)
    if a.table or not (a.csv or a.svg or a.doc):
        print(table(data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
