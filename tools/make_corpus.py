#!/usr/bin/env python3
"""Build the training corpus and tokenizer of the bundled model (models/boson-tiny-*).

Sources (all from Debian packages, fetched with `apt-get download`, never committed):
  * r-cran-janeaustenr  -- Jane Austen's six novels (public-domain texts; package MIT).
  * bible-kjv, bible-kjv-text -- the King James Version (public domain; package GPL-2+,
    its data file is read through the package's own `bible` program).
Plus a few thousand short question/answer conversations generated here and rendered
with the real Qwen3.5 chat template, so that `chat` answers in the right shape: half of the
assistant turns with a one-sentence reasoning (the thinking-on form), and tool-use chats
(OpenAI function schemas in `tools`, a Qwen3.5 XML tool call, the tool's JSON result, the
answer from it) so that the server's tools round trip has a model that calls tools.

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
NOVELS = [
    "Sense and Sensibility",
    "Pride and Prejudice",
    "Mansfield Park",
    "Emma",
    "Northanger Abbey",
    "Persuasion",
]
SYSTEMS = [None, None, "You are a helpful assistant.", "You are a small, polite assistant."]


def chat_examples(rng, prose_paras, n, think_share):
    """Plain question/answer chats. A think_share of the assistant turns carry a one-sentence
    reasoning_content, which the template renders inside <think>...</think> (the thinking-on
    form); the others render with an empty think block (the thinking-off form)."""
    greet_q = ["Hello!", "Hi!", "Hello.", "Good morning!", "Hi there.", "Hey!"]
    greet_a = [
        "Hello! How can I help you today?",
        "Good day to you! What would you like to talk about?",
        "Hello! I am a small model trained on old books. Ask me something.",
    ]
    num_words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    out = []
    for _ in range(n):
        kind = rng.randrange(6)
        if kind == 0:
            q, a = rng.choice(greet_q), rng.choice(greet_a)
            r = rng.choice(["The user greets me, so I greet them back.", "This is a greeting; I answer politely."])
        elif kind == 1:
            x, y = rng.randrange(0, 6), rng.randrange(0, 5)
            if rng.random() < 0.5:
                q = "What is %d plus %d?" % (x, y)
                a = "%d plus %d is %d." % (x, y, x + y)
            else:
                q = "What is %s and %s?" % (num_words[x], num_words[y])
                a = "%s and %s make %s." % (num_words[x].capitalize(), num_words[y], num_words[x + y])
            r = "I add %d and %d, which gives %d." % (x, y, x + y)
        elif kind == 2:
            b = rng.choice(NOVELS)
            q = rng.choice(["Who wrote %s?", "Who is the author of %s?"]) % b
            a = "%s was written by Jane Austen." % b
            r = "The user asks about %s, a novel by Jane Austen." % b
        elif kind == 3:
            q = rng.choice(["What is the first book of the Bible?", "How does the Bible begin?"])
            a = "The first book is Genesis, which begins: In the beginning God created the heaven and the earth."
            r = "The user asks about the beginning of the Bible."
        else:
            p = rng.choice(prose_paras)
            sents = re.split(r"(?<=[.!?])\s+", p)
            if len(sents) < 2:
                continue
            if kind == 4:
                q = "Continue the story: " + sents[0]
                a = " ".join(sents[1:])
                r = "The user wants the story continued in the same style."
            else:
                q = rng.choice(["Tell me a story.", "Write a few sentences in an old style.", "Say something."])
                a = p
                r = "The user wants a few sentences in an old style."
        msgs = []
        s = rng.choice(SYSTEMS)
        if s:
            msgs.append({"role": "system", "content": s})
        turn = {"role": "assistant", "content": a}
        if rng.random() < think_share:
            turn["reasoning_content"] = r
        msgs += [{"role": "user", "content": q}, turn]
        out.append(msgs)
    return out


# Tools offered in the tool-use chats, as OpenAI function schemas (the `tools` argument).
TOOL_SCHEMAS = {
    "get_weather": {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather of a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city name"}},
                "required": ["city"],
            },
        },
    },
    "add": {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two integers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
    },
    "lookup_author": {
        "type": "function",
        "function": {
            "name": "lookup_author",
            "description": "Find the author of a book by its title.",
            "parameters": {
                "type": "object",
                "properties": {"title": {"type": "string", "description": "The book title"}},
                "required": ["title"],
            },
        },
    },
}
CITIES = """Paris London Berlin Madrid Rome Vienna Prague Warsaw Lisbon Dublin Oslo Stockholm
Helsinki Copenhagen Amsterdam Brussels Zurich Geneva Athens Istanbul Cairo Nairobi Lagos Accra
Tokyo Osaka Kyoto Seoul Beijing Shanghai Delhi Mumbai Dhaka Bangkok Hanoi Manila Jakarta Sydney
Melbourne Auckland Toronto Montreal Vancouver Chicago Boston Denver Seattle Houston Miami Dallas
Lima Bogota Quito Santiago Caracas Havana Edinburgh Glasgow Cardiff Belfast Bath York Leeds
Bristol Oxford Cambridge Lyon Marseille Munich Hamburg Milan Naples Venice Seville Porto Riga
Tallinn Vilnius Krakow Budapest Bucharest Sofia Belgrade Zagreb Reykjavik Casablanca Tunis""".split()
CITIES += ["New York", "Los Angeles", "San Francisco", "Rio de Janeiro", "Buenos Aires", "Mexico City",
           "Cape Town", "Hong Kong", "Kuala Lumpur", "Tel Aviv"]
CONDITIONS = ["sunny", "cloudy", "rainy", "windy", "snowy", "foggy", "stormy", "clear", "overcast", "misty"]
AUTHORS = ["Jane Austen", "Charles Dickens", "Charlotte Bronte", "Emily Bronte", "George Eliot",
           "Thomas Hardy", "Mary Shelley", "Walter Scott", "Anthony Trollope", "Elizabeth Gaskell",
           "Henry James", "Mark Twain", "Herman Melville", "Leo Tolstoy", "Victor Hugo",
           "Alexandre Dumas", "Jules Verne", "Oscar Wilde", "Lewis Carroll", "Daniel Defoe",
           "Jonathan Swift", "Henry Fielding", "Samuel Richardson", "Fanny Burney", "Maria Edgeworth",
           "Ann Radcliffe", "Wilkie Collins", "Joseph Conrad", "Rudyard Kipling", "Robert Louis Stevenson",
           "Arthur Conan Doyle", "Bram Stoker", "Edith Wharton", "Louisa May Alcott", "Nathaniel Hawthorne"]
TITLE_ADJ = ["Silent", "Golden", "Hidden", "Lost", "Winter", "Summer", "Crimson", "Last", "Distant", "Quiet",
             "Broken", "Secret", "Northern", "Little", "Ancient", "Stormy", "Green", "Forgotten", "Wild", "Gentle"]
TITLE_NOUN = ["Garden", "River", "House", "Letter", "Voyage", "Island", "Abbey", "Castle", "Village", "Road",
              "Harbour", "Orchard", "Bridge", "Meadow", "Mirror", "Tower", "Forest", "Lantern", "Valley", "Cottage"]
TITLE_NAME = ["Emily", "Thomas", "Margaret", "Henry", "Anne", "William", "Clara", "Edmund", "Lucy", "Arthur"]


def book_title(rng):
    k = rng.randrange(5)
    if k == 0:
        return "The %s %s" % (rng.choice(TITLE_ADJ), rng.choice(TITLE_NOUN))
    if k == 1:
        return "%s and %s" % (rng.choice(TITLE_NOUN), rng.choice(TITLE_NOUN))
    if k == 2:
        return "The %s of %s" % (rng.choice(TITLE_NOUN), rng.choice(TITLE_NAME))
    if k == 3:
        return "%s %s" % (rng.choice(TITLE_ADJ), rng.choice(TITLE_NOUN))
    return rng.choice(NOVELS)


def tool_examples(rng, n, think_share):
    """Tool-use chats: the user asks, the assistant calls one of the offered tools with the
    arguments taken from the question, the tool answers (a JSON object with values the model
    cannot guess), and the assistant answers from the tool's result. Returns (messages, tools)
    pairs. A few chats offer tools the question does not need: the assistant answers directly."""
    out = []
    for i in range(n):
        kind = rng.randrange(20)
        names = list(TOOL_SCHEMAS)
        if kind < 7:
            fn = "get_weather"
            city = rng.choice(CITIES)
            q = rng.choice(["What is the weather in %s?", "How is the weather in %s today?",
                            "What's the weather like in %s?", "Tell me the weather in %s.",
                            "Is it warm in %s right now?", "Weather in %s?"]) % city
            cond, temp = rng.choice(CONDITIONS), rng.randrange(-15, 41)
            args = {"city": city}
            result = {"city": city, "condition": cond, "temperature": temp}
            a = rng.choice(["The weather in {c} is {w}, {t} degrees.", "It is {w} in {c}, {t} degrees.",
                            "In {c} it is {w} and {t} degrees."]).format(c=city, w=cond, t=temp)
            r1 = "The user asks for the weather in %s, so I call get_weather." % city
            r2 = "The tool says it is %s and %d degrees in %s." % (cond, temp, city)
        elif kind < 13:
            fn = "add"
            x, y = rng.randrange(0, 10 ** rng.randrange(1, 5)), rng.randrange(0, 10 ** rng.randrange(1, 5))
            q = rng.choice(["What is %d plus %d?", "Add %d and %d.", "Please compute %d + %d.",
                            "What do you get if you add %d and %d?", "Can you add %d to %d?"]) % (x, y)
            args = {"a": x, "b": y}
            result = {"result": x + y}
            a = rng.choice(["{x} plus {y} is {s}.", "The sum of {x} and {y} is {s}.", "{x} + {y} = {s}."]).format(
                x=x, y=y, s=x + y)
            r1 = "The user wants %d plus %d, so I call add." % (x, y)
            r2 = "The tool returned %d." % (x + y)
        elif kind < 19:
            fn = "lookup_author"
            title = book_title(rng)
            author = "Jane Austen" if title in NOVELS else rng.choice(AUTHORS)
            q = rng.choice(["Who wrote %s?", "Who is the author of %s?", "Who wrote the book %s?",
                            "Find the author of %s."]) % title
            args = {"title": title}
            result = {"title": title, "author": author}
            a = rng.choice(["{t} was written by {a}.", "The author of {t} is {a}."]).format(t=title, a=author)
            r1 = "The user asks who wrote %s, so I call lookup_author." % title
            r2 = "The tool says %s wrote it." % author
        else:
            fn = None
        # offered tools: the needed one plus 0-2 others, in random order
        offered = [fn] if fn else []
        others = [t for t in names if t != fn]
        rng.shuffle(others)
        offered += others[: rng.randrange(0 if fn else 1, len(others) + 1)]
        rng.shuffle(offered)
        tools = [TOOL_SCHEMAS[t] for t in offered]
        msgs = []
        s = rng.choice(SYSTEMS)
        if s:
            msgs.append({"role": "system", "content": s})
        if fn is None:
            q, a = rng.choice([("Hello!", "Hello! How can I help you today?"),
                               ("Hi there.", "Hello! What would you like to know?"),
                               ("Who wrote Emma?", "Emma was written by Jane Austen."),
                               ("Thank you.", "You are welcome.")])
            turn = {"role": "assistant", "content": a}
            if rng.random() < think_share:
                turn["reasoning_content"] = "No tool is needed for this."
            out.append((msgs + [{"role": "user", "content": q}, turn], tools))
            continue
        call = {"role": "assistant", "content": "",
                "tool_calls": [{"id": "call_%d" % i, "type": "function", "function": {"name": fn, "arguments": args}}]}
        if rng.random() < think_share:
            call["reasoning_content"] = r1
        final = {"role": "assistant", "content": a}
        if rng.random() < think_share:
            final["reasoning_content"] = r2
        msgs += [{"role": "user", "content": q}, call,
                 {"role": "tool", "tool_call_id": "call_%d" % i, "content": json.dumps(result)}, final]
        out.append((msgs, tools))
    return out


def render_chats(convs):
    """convs: message lists, or (messages, tools) pairs; rendered as transformers renders them."""
    import jinja2

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False)
    env.globals["raise_exception"] = raise_exception
    tpl = env.from_string(TEMPLATE.read_text())
    out = []
    for c in convs:
        msgs, tools = c if isinstance(c, tuple) else (c, None)
        out.append(tpl.render(messages=msgs, tools=tools, add_generation_prompt=False))
    return out


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
    ap.add_argument("--tool-chats", type=int, default=2400, help="number of tool-use chat examples")
    ap.add_argument("--think-share", type=float, default=0.5,
                    help="share of assistant turns rendered with a reasoning_content (thinking on)")
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
    chats = render_chats(chat_examples(rng, train_paras, args.chat, args.think_share))
    tool_chats = render_chats(tool_examples(rng, args.tool_chats, args.think_share))

    train_texts = [t for _, t in train] + chats + tool_chats
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
        "documents": {"train": len(train), "valid": len(valid), "chat": len(chats), "tool_chat": len(tool_chats)},
        "chars": {"story": sum(len(t) for _, t in train), "chat": sum(len(t) for t in chats),
                  "tool_chat": sum(len(t) for t in tool_chats)},
        "austen_chars": sum(len(p) for b in austen for p in b),
        "kjv_chars": sum(len(c[1]) for c in kjv),
    }
    (out / "corpus_info.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    sys.exit(main())
