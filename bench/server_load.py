#!/usr/bin/env python3
"""Bounded load test of `boson serve` on loopback: a fixed number of streaming chat requests from a
fixed number of client threads, with a time limit. Measures requests/s, time to first token (p50,
p99) and the server's resident memory before, after a warm-up, and after the run (it must stay
flat). Prints a markdown row for BENCHMARKS.md.

    .venv/bin/python bench/server_load.py [--model models/boson-tiny-4bit] [--requests 400]
                                          [--clients 16] [--max-tokens 32] [--time-limit 300]
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def one_request(port, body, deadline):
    """Streams one chat completion; returns (ttft_s, total_s, completion_chunks) or None."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=max(1.0, deadline - time.time()))
    try:
        conn.request("POST", "/v1/chat/completions", body=body,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            resp.read()
            return ("status", resp.status)
        ttft = None
        chunks = 0
        buf = b""
        while True:
            data = resp.read1(65536) if hasattr(resp, "read1") else resp.read(4096)
            if not data:
                break
            buf += data
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                if not event.startswith(b"data: "):
                    continue
                payload = event[6:]
                if payload == b"[DONE]":
                    continue
                d = json.loads(payload)
                ch = d.get("choices") or []
                if ch and (ch[0].get("delta") or {}).get("content"):
                    chunks += 1
                    if ttft is None:
                        ttft = time.perf_counter() - t0
        return (ttft if ttft is not None else time.perf_counter() - t0,
                time.perf_counter() - t0, chunks)
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "boson-tiny-4bit"))
    ap.add_argument("--boson", default=str(ROOT / "build" / "boson"))
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--max-concurrent", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=300.0)
    a = ap.parse_args()

    port = free_port()
    srv = subprocess.Popen([a.boson, "serve", a.model, "--port", str(port), "-q",
                            "--max-concurrent", str(a.max_concurrent), "--max-queue", "1024",
                            "--threads", str(a.threads)])
    try:
        for _ in range(300):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            sys.exit("server did not become healthy")
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/v1/models")
        model_id = json.loads(c.getresponse().read())["data"][0]["id"]
        rss_start = rss_kib(srv.pid)
        questions = ["Who wrote Emma?", "Tell me about Mr. Darcy.", "What did God say unto Moses?",
                     "Describe a fine morning.", "Who is Elizabeth Bennet?"]

        def body(i):
            return json.dumps({"model": model_id, "stream": True, "max_tokens": a.max_tokens,
                               "temperature": 0.7, "seed": i,
                               "messages": [{"role": "user", "content": questions[i % 5]}],
                               "chat_template_kwargs": {"enable_thinking": False}})

        deadline = time.time() + a.time_limit

        def run_round(n):
            results, errors = [], []
            lock = threading.Lock()
            next_i = [0]

            def worker():
                while time.time() < deadline:
                    with lock:
                        i = next_i[0]
                        if i >= n:
                            return
                        next_i[0] += 1
                    try:
                        r = one_request(port, body(i), deadline)
                    except Exception as e:  # noqa: BLE001 - recorded and reported
                        r = ("error", repr(e))
                    with lock:
                        (errors if isinstance(r[0], str) else results).append(r)

            t0 = time.perf_counter()
            ts = [threading.Thread(target=worker) for _ in range(a.clients)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            return results, errors, time.perf_counter() - t0

        # warm-up round at the same concurrency (sessions, caches and pools reach their size),
        # then the measured round; memory must not grow between the two
        _, warm_errors, _ = run_round(max(a.clients * 4, a.requests // 4))
        rss_warm = rss_kib(srv.pid)
        results, errors, wall = run_round(a.requests)
        errors += warm_errors
        rss_end = rss_kib(srv.pid)
        ttfts = sorted(r[0] for r in results)
        p50 = statistics.median(ttfts) if ttfts else float("nan")
        p99 = ttfts[min(len(ttfts) - 1, int(0.99 * len(ttfts)))] if ttfts else float("nan")
        tokens = sum(r[2] for r in results)
        print(f"requests {len(results)} ok, {len(errors)} failed, in {wall:.2f} s "
              f"({len(results) / wall:.1f} req/s, {tokens / wall:.0f} streamed tok/s); "
              f"TTFT p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms; "
              f"RSS start {rss_start / 1024:.1f} MiB, after warm-up {rss_warm / 1024:.1f} MiB, "
              f"end {rss_end / 1024:.1f} MiB")
        if errors:
            print("errors:", errors[:5])
        cmd = " ".join(["bench/server_load.py"] + sys.argv[1:])
        print(f"| {time.strftime('%Y-%m-%d')} | `{cmd}` | {a.requests} x {a.max_tokens} tok, "
              f"{a.clients} clients | {len(results) / wall:.1f} | {p50 * 1000:.1f} | "
              f"{p99 * 1000:.1f} | {rss_warm / 1024:.1f} -> {rss_end / 1024:.1f} |")
        growth = rss_end - rss_warm
        if errors or growth > 0.1 * rss_warm + 8 * 1024:
            sys.exit(f"FAILED: {len(errors)} errors, RSS growth {growth} KiB after warm-up")
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            srv.kill()


if __name__ == "__main__":
    main()
