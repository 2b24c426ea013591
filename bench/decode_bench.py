#!/usr/bin/env python3
"""Decode throughput of boson on full-size synthetic checkpoints, against the memory
roofline and against mlx-lm (CPU) decoding the same files.

For every shape: write the synthetic MLX checkpoint once (tools/synth_checkpoint.py,
cached under build/bench/), read bytes per token from ``boson inspect --json``
(sizes.bytes_per_token: every weight byte one decode step reads, from the quant plan),
run ``boson generate --greedy --timing`` with 1 and 2 threads, and run mlx-lm's own
generation loop (mlx_lm.generate.generate_step, greedy, mlx on the CPU) in a separate
process on the same directory. The DRAM read bandwidth is measured in the same run by
bench/membw.c (built here with gcc -O2 -march=native -pthread).

    .venv/bin/python bench/decode_bench.py                 # 2B, 4B, 35B-A3B (4-bit g64)
    .venv/bin/python bench/decode_bench.py --quick         # one small shape, fast
    .venv/bin/python bench/decode_bench.py --shapes 2B --tokens 64 --repeats 3

Columns: tok/s = decode steps / decode wall time (boson's own --timing line; the first
generated token comes from the prefill and is not counted); GB/s = bytes_per_token ×
tok/s; % bound = GB/s ÷ the measured DRAM read bandwidth at the same thread count
(tok/s ÷ (bandwidth ÷ bytes_per_token)). "med-step" uses the median step time instead
of the mean, which is robust to other load on the machine. The peer's tok/s is its own
decode rate over the same number of steps.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "build" / "bench"
BOSON = ROOT / "build" / "boson"
PY = sys.executable

# name -> (synth --model, bits, group, extra synth args)
SHAPES = {
    "2B": ("2B", 4, 64, []),
    "4B": ("4B", 4, 64, []),
    "35B-A3B": ("35B-A3B", 4, 64, []),  # 18.2 GiB: fits the page cache of a 24 GiB machine
    "35B-A3B-3bit": ("35B-A3B", 3, 64, []),
    "quick": ("0.8B", 4, 64, ["--max-layers", "4"]),
}
DENSE = {"2B", "4B", "quick"}
PROMPT = [9707, 11, 1052, 374, 264, 1273, 315, 279]  # 8 arbitrary ids < vocab

PEER = r"""
import json, sys, time
import mlx.core as mx
mx.set_default_device(mx.cpu)
from pathlib import Path
from mlx_lm.utils import load_model
from mlx_lm.generate import generate_step
path, n, prompt = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
t0 = time.perf_counter()
model, _ = load_model(Path(path), lazy=False)
load_s = time.perf_counter() - t0
toks, stamps = [], []
t0 = time.perf_counter()
for tok, _ in generate_step(mx.array(prompt), model, max_tokens=n):
    toks.append(int(tok))
    stamps.append(time.perf_counter())
steps = [b - a for a, b in zip(stamps, stamps[1:])]
print(json.dumps({"load_s": load_s, "prefill_s": stamps[0] - t0, "decode_steps": len(steps),
                  "decode_s": sum(steps),
                  "decode_tok_s": len(steps) / sum(steps) if steps else 0.0,
                  "step_median_s": sorted(steps)[len(steps) // 2] if steps else 0.0,
                  "tokens": toks}))
"""


def sh(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // (1024 * 1024)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {mem} GiB RAM, no GPU ({platform.machine()})"


def mem_available_gib():
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable"):
            return int(line.split()[1]) / (1024 * 1024)
    return 0.0


def membw(threads, mib, runs):
    exe = BENCH_DIR / "membw"
    src = ROOT / "bench" / "membw.c"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        p = sh(["gcc", "-O2", "-march=native", "-pthread", src, "-o", exe])
        if p.returncode:
            sys.exit(f"membw build failed:\n{p.stderr}")
    p = sh([exe, "--mib", mib, "--runs", runs, "--threads", ",".join(map(str, threads)), "--json"])
    if p.returncode:
        sys.exit(f"membw failed:\n{p.stderr}")
    d = json.loads(p.stdout)
    return {int(t): v["best_gbs"] for t, v in d["threads"].items()}


def checkpoint(name):
    model, bits, group, extra = SHAPES[name]
    out = BENCH_DIR / f"{name}-affine{bits}-g{group}"
    if (out / ".complete").exists():
        return out
    cmd = [PY, ROOT / "tools" / "synth_checkpoint.py", "--model", model, "--layout", "affine",
           "--bits", bits, "--group-size", group, "--out", out, "--force", *extra]
    print(f"writing {out.name} ...", file=sys.stderr, flush=True)
    p = sh(cmd)
    if p.returncode:
        sys.exit(f"synth_checkpoint failed:\n{p.stderr}")
    (out / ".complete").write_text(" ".join(shlex.quote(str(c)) for c in cmd) + "\n")
    return out


def inspect(path):
    p = sh([BOSON, "inspect", path, "--json"])
    if p.returncode:
        sys.exit(f"boson inspect failed:\n{p.stderr}")
    return json.loads(p.stdout)


def boson_decode(path, threads, n):
    cmd = [BOSON, "generate", path, "--tokens", ",".join(map(str, PROMPT)), "-n", n, "--greedy",
           "--threads", threads, "--timing"]
    p = sh(cmd)
    if p.returncode:
        sys.exit(f"boson generate failed ({p.returncode}):\n{p.stderr}")
    timing = None
    for line in p.stderr.splitlines():
        if line.startswith('{"timing"'):
            timing = json.loads(line)["timing"]
    if timing is None:
        sys.exit(f"no timing line from boson generate:\n{p.stderr}")
    timing["tokens"] = [int(t) for t in p.stdout.strip().split(",")]
    return timing, " ".join(shlex.quote(str(c)) for c in cmd).replace(str(ROOT) + "/", "")


def peer_decode(path, n, need_gib):
    if mem_available_gib() < need_gib:
        return {"skipped": f"mlx-lm not run: it loads the whole checkpoint ({need_gib:.1f} GiB) "
                           f"and only {mem_available_gib():.1f} GiB is available"}
    p = sh([PY, "-c", PEER, path, n, json.dumps(PROMPT)])
    if p.returncode:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1]
        return {"skipped": f"mlx-lm failed: {tail}"}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="2B,4B,35B-A3B", help=f"comma list of {', '.join(SHAPES)}")
    ap.add_argument("--quick", action="store_true", help="one small shape (0.8B, 4 layers), short runs")
    ap.add_argument("--tokens", type=int, default=64, help="tokens generated per run (default 64)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=2, help="boson runs per config; the best is kept")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--peer-tokens", type=int, default=8,
                    help="tokens mlx-lm generates (its CPU decode is slow; default 8)")
    ap.add_argument("--mib", type=int, default=2048, help="membw buffer (MiB)")
    ap.add_argument("--json", type=Path, help="also write all results here")
    a = ap.parse_args()
    shapes = ["quick"] if a.quick else a.shapes.split(",")
    if a.quick:
        a.tokens, a.repeats = min(a.tokens, 16), 1
    threads = [int(t) for t in a.threads.split(",")]
    for s in shapes:
        if s not in SHAPES:
            sys.exit(f"unknown shape {s}; known: {', '.join(SHAPES)}")
    if not BOSON.exists():
        sys.exit("build/boson missing: run make")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)

    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    head = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
    bw = membw(threads, a.mib, 3 if a.quick else 5)
    load0 = os.getloadavg()
    rows = []
    for s in shapes:
        path = checkpoint(s)
        info = inspect(path)
        bpt = info["sizes"]["bytes_per_token"]
        for t in threads:
            runs = [boson_decode(path, t, a.tokens) for _ in range(a.repeats)]
            best, cmd = max(runs, key=lambda r: r[0]["decode_tok_s"])
            tps = best["decode_tok_s"]
            med = 1.0 / best["step_median_s"] if best["step_median_s"] else 0.0
            rows.append(dict(shape=s, engine="boson", threads=t, tok_s=tps, med_tok_s=med,
                             gbs=bpt * tps / 1e9, pct=100 * bpt * tps / 1e9 / bw[t],
                             bound_tok_s=bw[t] * 1e9 / bpt, bytes_per_token=bpt,
                             open_s=info.get("open_seconds"), cmd=cmd,
                             tokens=best["tokens"], all_tok_s=[r[0]["decode_tok_s"] for r in runs]))
            print(f"{s} boson t={t}: {tps:.2f} tok/s (runs {[round(r[0]['decode_tok_s'], 2) for r in runs]})",
                  file=sys.stderr, flush=True)
        if not a.no_peer:
            need = info["sizes"]["bytes_on_disk"] / 2**30 * 1.15 + 1.0
            pr = peer_decode(path, a.peer_tokens, need)
            row = dict(shape=s, engine="mlx-lm", threads=None, bytes_per_token=bpt,
                       cmd=f"{Path(PY).relative_to(ROOT) if str(PY).startswith(str(ROOT)) else PY} "
                           f"-c <PEER: mlx_lm.generate.generate_step, greedy, mlx cpu> {path.relative_to(ROOT)} {a.peer_tokens}")
            if "skipped" in pr:
                row["skipped"] = pr["skipped"]
            else:
                tps = pr["decode_tok_s"]
                row.update(tok_s=tps, med_tok_s=1.0 / pr["step_median_s"] if pr["step_median_s"] else 0,
                           gbs=bpt * tps / 1e9, pct=100 * bpt * tps / 1e9 / bw[max(bw)],
                           load_s=pr["load_s"], tokens=pr["tokens"])
                bt = next(r for r in rows if r["shape"] == s and r["engine"] == "boson")["tokens"]
                agree = 0
                while agree < min(len(bt), len(pr["tokens"])) and bt[agree] == pr["tokens"][agree]:
                    agree += 1
                row["agree"] = agree
            rows.append(row)
            print(f"{s} mlx-lm: {row.get('tok_s', row.get('skipped'))}", file=sys.stderr, flush=True)
    load1 = os.getloadavg()

    # ---- report ----
    mach = machine()
    bw_s = ", ".join(f"{t} thread{'s' if t > 1 else ''} {v:.1f} GB/s" for t, v in sorted(bw.items()))
    lines = [f"### Decode, synthetic checkpoints — {date}", "",
             f"- machine: {mach}",
             f"- boson {head}; DRAM read bandwidth (bench/membw, {a.mib} MiB, best of runs): {bw_s}",
             f"- load average before / after: {load0[0]:.1f} / {load1[0]:.1f} "
             f"(other processes share these cores)",
             f"- command: `{Path(PY).name} bench/decode_bench.py {' '.join(sys.argv[1:])}`".rstrip(),
             f"- prompt {len(PROMPT)} tokens, {a.tokens} generated (decode = the {a.tokens - 1} steps "
             f"after the prefill), greedy; boson: best of {a.repeats} runs", "",
             "| shape | engine | threads | bytes/token | tok/s | med-step tok/s | GB/s | % of bound | bound tok/s | notes |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['shape']} | {r['engine']} | – | {r['bytes_per_token'] / 1e9:.3f} GB | – | – | – | – | – | {r['skipped']} |")
            continue
        note = ""
        if r["engine"] == "mlx-lm":
            note = (f"mlx cpu, own threads, {a.peer_tokens} tokens; load {r['load_s']:.1f} s; "
                    f"first {r['agree']} greedy tokens equal boson's")
        elif len(r["all_tok_s"]) > 1:
            note = "runs " + ", ".join(f"{x:.2f}" for x in r["all_tok_s"])
        thr = r["threads"] if r["threads"] else "(mlx)"
        bound = f"{r['bound_tok_s']:.1f}" if "bound_tok_s" in r else "–"
        lines.append(f"| {r['shape']} | {r['engine']} | {thr} | {r['bytes_per_token'] / 1e9:.3f} GB | "
                     f"{r['tok_s']:.2f} | {r['med_tok_s']:.2f} | {r['gbs']:.2f} | {r['pct']:.0f} % | {bound} | {note} |")
    lines += ["", "boson commands (one per row, best run):", ""]
    lines += [f"    {r['cmd']}" for r in rows if r["engine"] == "boson"]
    block = "\n".join(lines)
    print(block)
    if a.json:
        a.json.write_text(json.dumps(dict(date=date, machine=mach, bandwidth=bw, rows=rows), indent=1))


if __name__ == "__main__":
    main()
