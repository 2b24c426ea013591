#!/usr/bin/env python3
"""Build the training corpus and tokenizer of the bundled model (models/boson-tiny-*).

Sources (all from Debian packages, fetched with `apt-get download`, never committed):
  * r-cran-janeaustenr  -- Jane Austen's six novels (public-domain texts; package MIT).
  * bible-kjv, bible-kjv-text -- the King James Version (public domain; package GPL-2+,
    its data file is read through the package's own `bible` program).
Plus a few thousand short question/answer conversations generated here and rendered
with the real Qwen3.5 chat template, so that `chat` answers in the right shape.

Outputs (in --out, default .train/, which git ignores):
  corpus_train.txt, corpus_valid.txt   the raw text (documents joined by <|endoftext|>)
  train.npy, valid.npy                 uint16 token ids
  tokenizer/tokenizer.json, tokenizer_config.json, generation_config.json
  heldout.txt                          a few KB of held-out prose for tests

Everything is deterministic: same packages + same --seed give byte-identical files.
"""
import argparse
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import unicodedata
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT.parent / "shared" / "data" / "chat-templates" / "qwen3.5.jinja"

QWEN35_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}"
    r"| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# (content, special) in id order after the BPE vocabulary, as Qwen lays them out.
ADDED_TOKENS = [
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<think>", False),
    ("</think>", False),
    ("<tool_call>", False),
    ("</tool_call>", False),
]
DEBS = ["r-cran-janeaustenr", "bible-kjv", "bible-kjv-text"]
EOT = "<|endoftext|>"


# ---------------------------------------------------------------- R serialization
class RReader:
    """Just enough of R's XDR serialization format to read character vectors and lists."""

    def __init__(self, data):
        self.d = data
        self.p = 0
        self.refs = []

    def i32(self):
        v = struct.unpack_from(">i", self.d, self.p)[0]
        self.p += 4
        return v

    def header(self):
        if self.d[:2] != b"X\n":
            raise ValueError("not an XDR R serialization")
        self.p = 2
        version = self.i32()
        self.i32()  # writer R version
        self.i32()  # minimal reader version
        if version == 3:
            n = self.i32()
            self.p += n  # native encoding name

    def item(self):
        flags = self.i32()
        t = flags & 0xFF
        has_attr = bool(flags & (1 << 9))
        has_tag = bool(flags & (1 << 10))
        if t == 254 or t in (242, 253, 251):  # NILVALUE, EMPTYENV, GLOBALENV, MISSINGARG
            return None
        if t == 255:  # REFSXP
            idx = flags >> 8
            if idx == 0:
                idx = self.i32()
            return self.refs[idx - 1]
        if t == 1:  # SYMSXP
            name = self.item()
            self.refs.append(name)
            return name
        if t in (2, 17):  # LISTSXP / pairlist-ish
            attr = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            del attr
            out = [(tag, car)]
            if isinstance(cdr, list):
                out.extend(cdr)
            return out
        if t == 9:  # CHARSXP
            n = self.i32()
            if n == -1:
                return None
            s = self.d[self.p : self.p + n]
            self.p += n
            return s.decode("utf-8", errors="replace")
        if t in (10, 13):  # LGLSXP, INTSXP
            n = self.i32()
            v = list(struct.unpack_from(">%di" % n, self.d, self.p))
            self.p += 4 * n
            val = v
        elif t == 14:  # REALSXP
            n = self.i32()
            v = list(struct.unpack_from(">%dd" % n, self.d, self.p))
            self.p += 8 * n
            val = v
        elif t == 16:  # STRSXP
            n = self.i32()
            val = [self.item() for _ in range(n)]
        elif t == 19:  # VECSXP
            n = self.i32()
            val = [self.item() for _ in range(n)]
        else:
            raise ValueError("unsupported R SEXP type %d at byte %d" % (t, self.p - 4))
        if has_attr:
            self.item()
        return val


def read_rdb(path):
    """Yields every object of an R lazy-load database (length-prefixed zlib blobs)."""
    data = Path(path).read_bytes()
    p = 0
    while p < len(data):
        (n,) = struct.unpack_from(">I", data, p)
        dec = zlib.decompressobj()
        raw = dec.decompress(data[p + 4 :])
        used = len(data) - (p + 4) - len(dec.unused_data)
        if len(raw) != n:
            raise ValueError("%s: blob at %d inflates to %d bytes, header says %d" % (path, p, len(raw), n))
        r = RReader(raw)
        r.header()
        yield r.item()
        p += 4 + used


# ---------------------------------------------------------------- sources
def fetch_debs(cache):
    cache.mkdir(parents=True, exist_ok=True)
    for name in DEBS:
        if not list(cache.glob(name + "_*.deb")):
            subprocess.run(["apt-get", "download", "-qq", name], cwd=cache, check=True)
    root = cache / "root"
    if not root.exists():
        for deb in sorted(cache.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def austen_books(root):
    rdb = root / "usr/lib/R/site-library/janeaustenr/data/Rdata.rdb"
    books = []
    for obj in read_rdb(rdb):
        if isinstance(obj, list) and obj and all(isinstance(s, (str, type(None))) for s in obj):
            lines = [s or "" for s in obj]
            if len(lines) > 1000:
                books.append(lines)
    if len(books) != 6:
        raise SystemExit("expected 6 Austen novels in %s, found %d" % (rdb, len(books)))
    docs = []
    for lines in books:
        paras, cur = [], []
        for ln in lines:
            ln = ln.strip()
            if not ln:
                if cur:
                    paras.append(" ".join(cur))
                    cur = []
            else:
                cur.append(ln)
        if cur:
            paras.append(" ".join(cur))
        docs.append(paras)
    return docs


def kjv_books(root):
    exe = root / "usr/bin/bible"
    out = subprocess.run(
        [str(exe), "-p", str(root / "usr/lib"), "-l10000", "gen1:1-rev22:21"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    chapters, cur, title = [], [], None
    for ln in out.splitlines():
        if not ln.strip():
            continue
        m = re.match(r"^\s+(\d+)\s+(.*)$", ln)  # verses are indented, headings are not
        if m:
            cur.append(m.group(2))
        else:  # a chapter heading such as "Genesis 1"
            if cur:
                chapters.append([title] + [" ".join(cur)])
            cur, title = [], ln.strip()
    if cur:
        chapters.append([title] + [" ".join(cur)])
    if len(chapters) != 1189:
        raise SystemExit("expected 1189 KJV chapters, found %d" % len(chapters))
    return chapters


# ---------------------------------------------------------------- chat data
def chat_examples(rng, prose_paras, n):
    novels = [
        "Sense and Sensibility",
        "Pride and Prejudice",
        "Mansfield Park",
        "Emma",
        "Northanger Abbey",
        "Persuasion",
    ]
    greet_q = ["Hello!", "Hi!", "Hello.", "Good morning!", "Hi there.", "Hey!"]
    greet_a = [
        "Hello! How can I help you today?",
        "Good day to you! What would you like to talk about?",
        "Hello! I am a small model trained on old books. Ask me something.",
    ]
    num_words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    systems = [None, None, "You are a helpful assistant.", "You are a small, polite assistant."]
    out = []
    for _ in range(n):
        kind = rng.randrange(6)
        if kind == 0:
            q, a = rng.choice(greet_q), rng.choice(greet_a)
        elif kind == 1:
            x, y = rng.randrange(0, 6), rng.randrange(0, 5)
            if rng.random() < 0.5:
                q = "What is %d plus %d?" % (x, y)
                a = "%d plus %d is %d." % (x, y, x + y)
            else:
                q = "What is %s and %s?" % (num_words[x], num_words[y])
                a = "%s and %s make %s." % (num_words[x].capitalize(), num_words[y], num_words[x + y])
        elif kind == 2:
            b = rng.choice(novels)
            q = rng.choice(["Who wrote %s?", "Who is the author of %s?"]) % b
            a = "%s was written by Jane Austen." % b
        elif kind == 3:
            q = rng.choice(["What is the first book of the Bible?", "How does the Bible begin?"])
            a = "The first book is Genesis, which begins: In the beginning God created the heaven and the earth."
        else:
            p = rng.choice(prose_paras)
            sents = re.split(r"(?<=[.!?])\s+", p)
            if len(sents) < 2:
                continue
            if kind == 4:
                q = "Continue the story: " + sents[0]
                a = " ".join(sents[1:])
            else:
                q = rng.choice(["Tell me a story.", "Write a few sentences in an old style.", "Say something."])
                a = p
        msgs = []
        s = rng.choice(systems)
        if s:
            msgs.append({"role": "system", "content": s})
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        out.append(msgs)
    return out


def render_chats(convs):
    import jinja2

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False)
    env.globals["raise_exception"] = raise_exception
    tpl = env.from_string(TEMPLATE.read_text())
    return [tpl.render(messages=m, add_generation_prompt=False) for m in convs]


# ---------------------------------------------------------------- tokenizer
def train_tokenizer(texts, vocab):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN35_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tok.train_from_iterator(texts, trainer=trainer)
    n_bpe = tok.get_vocab_size()
    for content, special in ADDED_TOKENS:
        t = AddedToken(content, single_word=False, lstrip=False, rstrip=False, normalized=False, special=special)
        if special:
            tok.add_special_tokens([t])
        else:
            tok.add_tokens([t])
    return tok, n_bpe


def write_tokenizer_files(tok, n_bpe, outdir):
    outdir.mkdir(parents=True, exist_ok=True)
    tok.save(str(outdir / "tokenizer.json"))
    # tokenizers writes the ByteLevel trainer's vocab in rank order with bytes first; check ids.
    vocab = tok.get_vocab()
    ids = {c: vocab[c] for c, _ in ADDED_TOKENS}
    for i, (c, _) in enumerate(ADDED_TOKENS):
        assert ids[c] == n_bpe + i, (c, ids[c], n_bpe + i)
    cfg = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(ids[c]): {
                "content": c,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": s,
            }
            for c, s in ADDED_TOKENS
        },
        "bos_token": None,
        "chat_template": TEMPLATE.read_text(),
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 262144,
        "pad_token": "<|endoftext|>",
        "pretokenize_regex": QWEN35_SPLIT,
        "split_special_tokens": False,
        "tokenizer_class": "TokenizersBackend",
        "unk_token": None,
    }
    (outdir / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")
    gen = {
        "bos_token_id": ids["<|endoftext|>"],
        "do_sample": True,
        "eos_token_id": [ids["<|im_end|>"], ids["<|endoftext|>"]],
        "pad_token_id": ids["<|endoftext|>"],
        "temperature": 0.7,
        "top_k": 20,
        "top_p": 0.8,
    }
    (outdir / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / ".train"))
    ap.add_argument("--vocab", type=int, default=6144, help="BPE vocabulary incl. the 256 bytes")
    ap.add_argument("--chat", type=int, default=3000, help="number of chat examples")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)

    root = fetch_debs(out / "debs")
    austen = austen_books(root)
    kjv = kjv_books(root)

    # Documents of ~2 KB: consecutive paragraphs of one book (Austen) or one chapter (KJV).
    docs = []
    for paras in austen:
        cur = []
        for p in paras:
            cur.append(p)
            if sum(len(x) for x in cur) > 2000:
                docs.append(("austen", "\n\n".join(cur)))
                cur = []
        if cur:
            docs.append(("austen", "\n\n".join(cur)))
    for ch in kjv:
        docs.append(("kjv", ch[0] + "\n\n" + ch[1]))
    docs = [(s, unicodedata.normalize("NFC", t)) for s, t in docs]

    # Held out: every 40th document of each source.
    train, valid = [], []
    count = {}
    for s, t in docs:
        count[s] = count.get(s, 0) + 1
        (valid if count[s] % 40 == 0 else train).append((s, t))
    train_paras = [p for s, t in train if s == "austen" for p in t.split("\n\n") if len(p) > 200]
    chats = render_chats(chat_examples(rng, train_paras, args.chat))

    train_texts = [t for _, t in train] + chats
    rng.shuffle(train_texts)
    valid_texts = [t for _, t in valid]

    # The tokenizer sees the control tokens removed from the chats (they are added after BPE).
    strip = re.compile("|".join(re.escape(c) for c, _ in ADDED_TOKENS))
    tok, n_bpe = train_tokenizer((strip.sub("\n", t) for t in train_texts), args.vocab)
    ids = write_tokenizer_files(tok, n_bpe, out / "tokenizer")

    def encode(texts):
        enc = tok.encode_batch(texts, add_special_tokens=False)
        arr = []
        for e in enc:
            arr.extend(e.ids)
            arr.append(ids[EOT])
        return np.asarray(arr, dtype=np.uint16)

    tr, va = encode(train_texts), encode(valid_texts)
    np.save(out / "train.npy", tr)
    np.save(out / "valid.npy", va)
    (out / "corpus_train.txt").write_text(EOT.join(train_texts))
    (out / "corpus_valid.txt").write_text(EOT.join(valid_texts))
    # A few KB of held-out prose for tests (Austen documents only).
    held = [t for s, t in valid if s == "austen"][:3]
    (out / "heldout.txt").write_text("\n\n".join(held) + "\n")

    info = {
        "bpe_vocab": n_bpe,
        "added_token_ids": ids,
        "train_tokens": int(tr.size),
        "valid_tokens": int(va.size),
        "train_bytes": sum(len(t.encode()) for t in train_texts),
        "valid_bytes": sum(len(t.encode()) for t in valid_texts),
        "documents": {"train": len(train), "valid": len(valid), "chat": len(chats)},
        "austen_chars": sum(len(p) for b in austen for p in b),
        "kjv_chars": sum(len(c[1]) for c in kjv),
    }
    (out / "corpus_info.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    sys.exit(main())
