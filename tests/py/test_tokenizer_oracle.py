"""boson's tokenizer against Hugging Face `tokenizers` (the reference nobody here wrote).

(a) llama.cpp's Qwen2 test vectors; (b) a few MB of generated mixed text through the real Qwen3
tokenizer.json, compared id for id with HF, plus decode and streaming decode; (c) the same on a
byte-level BPE tokenizer trained here with `tokenizers` (NFC, Qwen3.5 split regex with \\p{M},
added tokens with lstrip/rstrip/single_word/normalized options).

boson's C code is compiled into a small shared library (src/text + src/base/error.c + a shim)
and called through ctypes.
"""
import ctypes
import os
import random
import subprocess
import sys
import sysconfig
import unicodedata
from pathlib import Path

import pytest

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("BOSON_SHARED", str(ROOT.parent / "shared"))) / "data"
QWEN3_JSON = DATA / "qwen3-tokenizer" / "tokenizer.json"
QWEN3_CFG = DATA / "qwen3-tokenizer" / "tokenizer_config.json"
VECTORS = DATA / "tokenizer-vectors"

# From reference/tokenizer-and-chat.md §4.1 (Qwen3.5 / Qwen3.6).
QWEN35_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}|"
                r" ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

TEXT_SOURCES = ["utf8.c", "bytelevel.c", "normalize.c", "pretokenize.c", "bpe.c", "added.c",
                "tokenizer.c", "tokenizer_load.c", "detok_stream.c"]

SHIM = r"""
#include "text/tokenizer.h"
#include "text/detok_stream.h"
#include "text/utf8.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_err(char *eb, size_t en, const boson_error *e) { snprintf(eb, en, "%s", e->message); }

void *tk_load(const char *path, const char *cfg, char *eb, size_t en) {
    boson_error e = {0}; bs_tokenizer *t = NULL;
    if (bs_tokenizer_load(path, cfg, &t, &e) != BOSON_OK) { put_err(eb, en, &e); return NULL; }
    return t;
}
void tk_free_tok(void *t) { bs_tokenizer_free((bs_tokenizer *)t); }
void *tk_state(void *t) { boson_error e; bs_tok_state *s = NULL; bs_tok_state_new((bs_tokenizer *)t, &s, &e); return s; }
void tk_free_state(void *s) { bs_tok_state_free((bs_tok_state *)s); }
void tk_free(void *p) { free(p); }
long tk_n_ids(void *t) { return (long)bs_tokenizer_n_ids((bs_tokenizer *)t); }

int tk_encode(void *t, void *s, const char *txt, size_t n, unsigned flags, int32_t **ids, size_t *nids,
              char *eb, size_t en) {
    boson_error e = {0}; bs_ids v = {0};
    if (bs_tokenizer_encode((bs_tokenizer *)t, (bs_tok_state *)s, txt, n, flags, &v, &e) != BOSON_OK) {
        put_err(eb, en, &e); bs_ids_free(&v); return e.status;
    }
    *ids = v.ids; *nids = v.n; return 0;
}
int tk_decode(void *t, const int32_t *ids, size_t n, unsigned flags, uint8_t **out, size_t *on,
              char *eb, size_t en) {
    boson_error e = {0}; bs_bytes_buf b = {0};
    if (bs_tokenizer_decode((bs_tokenizer *)t, ids, n, flags, &b, &e) != BOSON_OK) {
        put_err(eb, en, &e); bs_bytes_free(&b); return e.status;
    }
    *out = b.p; *on = b.n; return 0;
}
/* Streams ids one by one; returns -2 if a delta is not valid UTF-8. */
int tk_stream(void *t, const int32_t *ids, size_t n, unsigned flags, uint8_t **out, size_t *on) {
    boson_error e = {0}; bs_detok d; bs_bytes_buf all = {0}, delta = {0};
    bs_detok_init(&d, (bs_tokenizer *)t, flags);
    for (size_t i = 0; i <= n; i++) {
        delta.n = 0;
        boson_status st = i < n ? bs_detok_feed(&d, ids[i], &delta, &e) : bs_detok_flush(&d, &delta, &e);
        if (st != BOSON_OK) { bs_bytes_free(&all); bs_bytes_free(&delta); return st; }
        if (delta.n && bs_utf8_valid_prefix(delta.p, delta.n) != delta.n) {
            bs_bytes_free(&all); bs_bytes_free(&delta); return -2;
        }
        bs_bytes_append(&all, delta.p, delta.n);
    }
    bs_bytes_free(&delta);
    *out = all.p; *on = all.n; return 0;
}
"""

LITERAL, SPLIT_SPECIAL = 1, 2
SKIP_SPECIAL = 1


@pytest.fixture(scope="session")
def lib(tmp_path_factory):
    d = tmp_path_factory.mktemp("boson_tok")
    shim = d / "shim.c"
    shim.write_text(SHIM)
    so = d / "libbosontok.so"
    srcs = [str(ROOT / "src" / "text" / f) for f in TEXT_SOURCES] + [
        str(ROOT / "src/base" / f) for f in ("error.c", "readfile.c")]
    pc = subprocess.run(["pkg-config", "--cflags", "--libs", "jansson", "libpcre2-8", "libutf8proc"],
                        capture_output=True, text=True, check=True).stdout.split()
    cmd = ["gcc", "-std=c17", "-O2", "-shared", "-fPIC", "-D_GNU_SOURCE", "-I" + str(ROOT / "include"),
           "-I" + str(ROOT / "src"), "-o", str(so), str(shim)] + srcs + pc
    subprocess.run(cmd, check=True)
    L = ctypes.CDLL(str(so))
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    L.tk_load.restype = vp
    L.tk_load.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, sz]
    L.tk_state.restype = vp
    L.tk_state.argtypes = [vp]
    L.tk_free_tok.argtypes = [vp]
    L.tk_free_state.argtypes = [vp]
    L.tk_free.argtypes = [vp]
    L.tk_n_ids.argtypes = [vp]
    L.tk_n_ids.restype = ctypes.c_long
    L.tk_encode.argtypes = [vp, vp, ctypes.c_char_p, sz, ctypes.c_uint,
                            ctypes.POINTER(ctypes.POINTER(ctypes.c_int32)), ctypes.POINTER(sz),
                            ctypes.c_char_p, sz]
    L.tk_decode.argtypes = [vp, ctypes.POINTER(ctypes.c_int32), sz, ctypes.c_uint,
                            ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8)), ctypes.POINTER(sz),
                            ctypes.c_char_p, sz]
    L.tk_stream.argtypes = [vp, ctypes.POINTER(ctypes.c_int32), sz, ctypes.c_uint,
                            ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8)), ctypes.POINTER(sz)]
    return L


class Boson:
    def __init__(self, lib, path, cfg=None):
        self.L = lib
        eb = ctypes.create_string_buffer(1024)
        self.t = lib.tk_load(str(path).encode(), str(cfg).encode() if cfg else None, eb, 1024)
        if not self.t:
            raise RuntimeError(eb.value.decode())
        self.s = lib.tk_state(self.t)

    def close(self):
        self.L.tk_free_state(self.s)
        self.L.tk_free_tok(self.t)

    def encode(self, data, flags=0):
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        ids = ctypes.POINTER(ctypes.c_int32)()
        n = ctypes.c_size_t()
        eb = ctypes.create_string_buffer(1024)
        rc = self.L.tk_encode(self.t, self.s, data, len(data), flags, ctypes.byref(ids), ctypes.byref(n), eb, 1024)
        if rc:
            raise RuntimeError(eb.value.decode())
        out = ids[: n.value]
        self.L.tk_free(ids)
        return out

    def _ids(self, ids):
        return (ctypes.c_int32 * len(ids))(*ids)

    def decode(self, ids, flags=0):
        out = ctypes.POINTER(ctypes.c_uint8)()
        n = ctypes.c_size_t()
        eb = ctypes.create_string_buffer(1024)
        rc = self.L.tk_decode(self.t, self._ids(ids), len(ids), flags, ctypes.byref(out), ctypes.byref(n), eb, 1024)
        if rc:
            raise RuntimeError(eb.value.decode())
        b = ctypes.string_at(out, n.value)
        self.L.tk_free(out)
        return b

    def stream(self, ids, flags=0):
        out = ctypes.POINTER(ctypes.c_uint8)()
        n = ctypes.c_size_t()
        rc = self.L.tk_stream(self.t, self._ids(ids), len(ids), flags, ctypes.byref(out), ctypes.byref(n))
        assert rc == 0, f"stream decode failed ({rc})"
        b = ctypes.string_at(out, n.value)
        self.L.tk_free(out)
        return b


@pytest.fixture(scope="session")
def qwen3(lib):
    b = Boson(lib, QWEN3_JSON, QWEN3_CFG)
    yield b
    b.close()


@pytest.fixture(scope="session")
def hf_qwen3():
    return Tokenizer.from_file(str(QWEN3_JSON))


# ---------------------------------------------------------------- (a) vectors

def read_vectors():
    inp = (VECTORS / "qwen2.inp").read_text(encoding="utf-8")
    sep = "\n__ggml_vocab_test__\n"
    cases = inp.split(sep)
    assert cases[-1] == ""
    cases = cases[:-1]
    outs = (VECTORS / "qwen2.out").read_text(encoding="utf-8").split("\n")
    outs = outs[: len(cases)]
    return [(c, [int(x) for x in o.split()]) for c, o in zip(cases, outs)]


def test_vectors(qwen3):
    cases = read_vectors()
    assert len(cases) == 43
    for text, want in cases:
        assert qwen3.encode(text) == want, repr(text)
        assert qwen3.decode(want).decode("utf-8") == text


def test_reference_examples(qwen3):
    # reference/tokenizer-and-chat.md §3.1, §3.7, §7.2
    assert qwen3.encode("Hello world") == [9707, 1879]
    assert qwen3.encode("hi<|im_end|>x") == [6023, 151645, 87]
    assert qwen3.encode("a<think>b") == [64, 151667, 65]
    assert qwen3.encode("café") == qwen3.encode("cafe\u0301") == [924, 58858]
    ids = [26525, 114, 378, 235, 149921, 30543, 220, 146568, 44258, 224]
    text = " \U0001f636\u200d\U0001f32b\ufe0f \u178f\u17c2"
    assert qwen3.encode(text) == ids
    assert qwen3.stream(ids).decode() == text


# ---------------------------------------------------------------- corpus generation

def english_and_code(rng, budget):
    """Docstrings (English) and source (code) of the Python standard library."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py"))
    rng.shuffle(files)
    out, total = [], 0
    for p in files:
        try:
            src = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for i in range(0, len(src), 6000):
            out.append(src[i:i + 6000])
            total += len(out[-1])
        if total >= budget:
            break
    return out


CJK = "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从"
KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコガギグゲゴ"
EMOJI = ["😀", "🎉", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "😶‍🌫️", "❤️", "🇯🇵", "🧑🏿‍💻", "✨", "🤖", "1️⃣"]
MARKS = ["\u0301", "\u0300", "\u0308", "\u0327", "\u0323", "\u093f", "\u094d", "\u0e38", "\u05b7", "\u20dd", "\ufe0f"]
WORDS = ("the of and to in is you that it he was for on are as with his they I at be this have from or "
         "one had by word but not what all were we when your can said there use an each which she do how "
         "don't I'm we'll they've she'd it's DON'T WE'LL").split()
ADDED = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>",
         "</tool_call>", "<|fim_prefix|>", "<|vision_pad|>", "<|im_start", "im_end|>", "<<|im_end|>>"]


def random_assigned_cp(rng):
    while True:
        cp = rng.randrange(0x20, 0x30000)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if unicodedata.category(c) in ("Cn", "Co", "Cs"):
            continue
        return c


def mixed_doc(rng, n):
    parts = []
    while sum(map(len, parts)) < n:
        k = rng.randrange(16)
        if k < 4:
            parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 30))))
        elif k == 4:
            parts.append("".join(rng.choice(CJK) for _ in range(rng.randrange(1, 40))))
        elif k == 5:
            parts.append("".join(rng.choice(KANA) for _ in range(rng.randrange(1, 20))))
        elif k == 6:
            parts.append("".join(rng.choice(EMOJI) for _ in range(rng.randrange(1, 6))))
        elif k == 7:
            parts.append("".join(rng.choice("aeiouxyzé") + rng.choice(MARKS) * rng.randrange(1, 3)
                                 for _ in range(rng.randrange(1, 6))))
        elif k == 8:
            parts.append(rng.choice([" ", "\t", "\n", "\r\n", "\r", "\u3000", "\xa0", "\x85", "\u2028",
                                    "\u180e", "\u200b", "\ufeff", "\x1c"])
                         * rng.randrange(1, 70))
        elif k == 9:
            parts.append(str(rng.randrange(10 ** rng.randrange(1, 25))))
        elif k == 10:
            parts.append("".join(random_assigned_cp(rng) for _ in range(rng.randrange(1, 8))))
        elif k == 11:
            parts.append(rng.choice(ADDED))
        elif k == 12:
            parts.append(rng.choice(["'s", "'T", "'re", "'VE", "'m", "'ll", "'d", "'ſ", "''", "'"]))
        elif k == 13:
            parts.append("".join(rng.choice("!@#$%^&*()[]{}<>|;:,./?-=+_~`\\\"") for _ in range(rng.randrange(1, 10))))
        elif k == 14:
            parts.append("नमस्ते दुनिया กรุงเทพมหานคร Привет мир مرحبا بالعالم 안녕하세요")
        else:
            parts.append(rng.choice(["\n", " ", "  ", "\n\n", "\t"]))
        if rng.random() < 0.5:
            parts.append(rng.choice([" ", "", "\n"]))
    return "".join(parts)


def build_corpus(seed, mixed_bytes, prose_bytes):
    rng = random.Random(seed)
    docs = english_and_code(rng, prose_bytes)
    total = 0
    while total < mixed_bytes:
        d = mixed_doc(rng, rng.randrange(200, 8000))
        docs.append(d)
        total += len(d.encode())
    # pathological pieces
    docs += ["a" * 5000, " " * 3000 + "x", "\n" * 1000, "ab" * 2000, "1" * 500,
             "\u0301" * 300, "e" + "\u0301" * 50, "\t \n" * 300, "", " ", "\r\n\r\n  "]
    return docs


def compare(bos, hf, docs, flags=0, check_decode=True):
    encs = hf.encode_batch(docs, add_special_tokens=False)
    bad = []
    for doc, enc in zip(docs, encs):
        got = bos.encode(doc, flags)
        if got != enc.ids:
            bad.append(doc)
            continue
        if check_decode:
            want = hf.decode(enc.ids, skip_special_tokens=False)
            assert bos.decode(got).decode("utf-8") == want
            assert bos.stream(got).decode("utf-8") == want
    if bad:
        d = min(bad, key=len)
        e = hf.encode(d, add_special_tokens=False).ids
        g = bos.encode(d, flags)
        i = next((k for k in range(min(len(e), len(g))) if e[k] != g[k]), min(len(e), len(g)))
        ctx = hf.decode(e[max(0, i - 3): i + 3])
        pytest.fail(f"{len(bad)}/{len(docs)} documents differ; first difference at id {i}: "
                    f"hf {e[max(0, i - 3):i + 3]} boson {g[max(0, i - 3):i + 3]} near {ctx!r}")


# ---------------------------------------------------------------- (b) Qwen3 corpus

def test_qwen3_corpus(qwen3, hf_qwen3):
    docs = build_corpus(1234, mixed_bytes=2_500_000, prose_bytes=2_500_000)
    assert sum(len(d.encode()) for d in docs) >= 5_000_000
    compare(qwen3, hf_qwen3, docs)


def test_qwen3_split_special(qwen3, hf_qwen3):
    docs = [mixed_doc(random.Random(s), 3000) for s in range(40)]
    hf = Tokenizer.from_str(hf_qwen3.to_str())
    hf.encode_special_tokens = True
    compare(qwen3, hf, docs, flags=SPLIT_SPECIAL)


def test_qwen3_literal_mode(qwen3, hf_qwen3):
    # literal: no added token is matched; every piece of text is ordinary BPE text
    text = "<|im_start|>user\n<think>hi</think><|im_end|>"
    got = qwen3.encode(text, LITERAL)
    assert all(i < 151643 for i in got)
    assert qwen3.decode(got).decode() == text
    # equal to HF's pipeline with the added-token step left out
    want = []
    for piece, _ in hf_qwen3.pre_tokenizer.pre_tokenize_str(hf_qwen3.normalizer.normalize_str(text)):
        want += [t.id for t in hf_qwen3.model.tokenize(piece)]
    assert got == want


def test_codepoint_sweep(qwen3, hf_qwen3):
    """Every code point below U+3400 and in a few symbol blocks, in contexts where the split
    regex classes (\\s, \\p{L}, \\p{N}, \\p{M}) decide the pieces. PCRE2's own \\s would match
    U+180E here, Oniguruma's does not.
    """
    cps = [c for c in list(range(1, 0x3400)) + list(range(0xFE00, 0x10000)) + list(range(0x1F300, 0x1FB00))
           if not 0xD800 <= c < 0xE000 and unicodedata.category(chr(c)) != "Cn"]
    # Unassigned in Unicode 14 (PCRE2 10.42's tables) are left out: HF's regex engine knows
    # later versions (e.g. U+1C89 is a letter there, U+1D2C0.. Kaktovik digits are \\p{N}).
    docs = []
    for cp in cps:
        c = chr(cp)
        docs += ["a" + c + c + " b", " " + c + "y", "x " + c, "1" + c + "\n" + c + "'s"]
    compare(qwen3, hf_qwen3, docs, check_decode=False)


def test_invalid_utf8_is_replaced(qwen3, hf_qwen3):
    rng = random.Random(7)
    blobs = [b"abc\xff def", b"\xed\xa0\x80x", b"\xf4\x90\x80\x80", b"\xe4\xbd", b"ok\xc3",
             b"\xc0\xaf<|im_end|>\x80", b"\xf0\x9f\x98"]
    for _ in range(300):
        blobs.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))))
    for b in blobs:
        want = hf_qwen3.encode(b.decode("utf-8", errors="replace"), add_special_tokens=False).ids
        assert qwen3.encode(b) == want, b


def test_decode_errors_and_skip_special(qwen3, hf_qwen3):
    ids = qwen3.encode("<|im_start|>user\nhi<think>x</think><|im_end|>")
    assert qwen3.decode(ids, SKIP_SPECIAL).decode() == hf_qwen3.decode(ids, skip_special_tokens=True)
    assert qwen3.stream(ids, SKIP_SPECIAL).decode() == hf_qwen3.decode(ids, skip_special_tokens=True)
    with pytest.raises(RuntimeError, match="position 1"):
        qwen3.decode([9707, 151669])
    with pytest.raises(RuntimeError):
        qwen3.decode([-1])


# ---------------------------------------------------------------- (c) trained tokenizer

@pytest.fixture(scope="session")
def trained(lib, tmp_path_factory):
    d = tmp_path_factory.mktemp("trained")
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN35_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    rng = random.Random(99)
    train = english_and_code(rng, 400_000) + [mixed_doc(rng, 2000) for _ in range(100)]
    tok.train_from_iterator(train, trainer)
    tok.add_tokens([AddedToken("<think>", normalized=False, special=False),
                    AddedToken("</think>", normalized=False, special=False),
                    AddedToken("éclair", normalized=True),
                    AddedToken("[LS]", lstrip=True, normalized=False),
                    AddedToken("[RS]", rstrip=True, normalized=False),
                    AddedToken("word", single_word=True, normalized=False),
                    AddedToken("hé llo", normalized=False),
                    AddedToken("<Ġx>", normalized=False)])
    tok.add_special_tokens([AddedToken("<|tool|>", special=True)])
    path = d / "tokenizer.json"
    tok.save(str(path))
    b = Boson(lib, path)
    yield b, Tokenizer.from_file(str(path))
    b.close()


TRAINED_EXTRA = ["a [LS] b  [LS]c [RS]  d[RS]\n e", "word words sword word_ wordé word.", "hé llo",
                 "<Ġx> <think>", "e\u0301clair eclair éclair", "x<|tool|>y", "\u0915\u093f\u0924\u093e\u092c"]


def test_trained_corpus(trained):
    bos, hf = trained
    docs = build_corpus(4321, mixed_bytes=600_000, prose_bytes=300_000) + TRAINED_EXTRA
    compare(bos, hf, docs)
    hf2 = Tokenizer.from_str(hf.to_str())
    hf2.encode_special_tokens = True
    compare(bos, hf2, docs[-40:], flags=SPLIT_SPECIAL)
