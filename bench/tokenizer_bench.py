"""Encode throughput: boson's tokenizer vs Hugging Face `tokenizers`, one thread each.

    .venv/bin/python bench/tokenizer_bench.py [--mb 10] [--tokenizer path/to/tokenizer.json]

Text: ~MB of mixed documents (Python stdlib source and docstrings, generated English words, CJK,
emoji with ZWJ sequences, combining marks, whitespace runs, digits, random code points, added-token
strings), the generator of tests/py/test_tokenizer_oracle.py. Both sides encode the same list of
documents one call per document (HF: Tokenizer.encode in a Python loop with RAYON_NUM_THREADS=1 and
TOKENIZERS_PARALLELISM=false; boson: bs_tokenizer_encode through ctypes with one reused
bs_tok_state). Ids are compared; the script prints MB/s for both and the ratio.
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "py"))

import test_tokenizer_oracle as T  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402


class _Factory:
    def mktemp(self, name):
        import tempfile
        return Path(tempfile.mkdtemp(prefix=name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=11.0)
    ap.add_argument("--tokenizer", default=str(T.QWEN3_JSON))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    lib = T.lib.__wrapped__(_Factory())
    half = int(a.mb * 1e6 / 2)
    docs = T.build_corpus(2024, mixed_bytes=half, prose_bytes=half)
    total = sum(len(d.encode()) for d in docs)
    bdocs = [d.encode() for d in docs]
    hf = Tokenizer.from_file(a.tokenizer)
    bos = T.Boson(lib, a.tokenizer)

    def run_hf():
        return [hf.encode(d, add_special_tokens=False).ids for d in docs]

    def run_bos():
        return [bos.encode(d) for d in bdocs]

    best = {}
    outs = {}
    for name, fn in (("hf", run_hf), ("boson", run_bos)):
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            outs[name] = fn()
            dt = time.perf_counter() - t0
            best[name] = min(best.get(name, 1e9), dt)
    same = outs["hf"] == outs["boson"]
    ntok = sum(map(len, outs["hf"]))
    print(f"text: {total / 1e6:.2f} MB in {len(docs)} documents, {ntok} tokens; ids identical: {same}")
    for name in ("hf", "boson"):
        print(f"{name:6s} {total / best[name] / 1e6:8.2f} MB/s  ({best[name]:.3f} s, best of {a.repeat})")
    print(f"boson / hf: {best['hf'] / best['boson']:.2f}x")
    bos.close()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
