"""Output parser (src/text/output_parser.c, tool_calls.c, json_scan.c) against the models' own
chat templates.

The reference is the template itself, rendered by Python jinja2 the way Hugging Face transformers
renders it (transformers' `_compile_jinja_template` when importable, else a replica: sandboxed
Environment with trim_blocks, lstrip_blocks, loopcontrols and transformers' tojson). For random
assistant messages (reasoning_content, content, tool_calls whose arguments hold strings, ints,
floats, bools, None, nested objects / arrays, unicode, multi-line text) we render the Qwen3.5
template (XML tool calls) and the Qwen3 template (JSON tool calls), cut out the assistant turn as
the model generates it (after "<|im_start|>assistant\\n", up to "<|im_end|>"), feed it to boson's
parser in random chunkings and check that reasoning, content and tool calls come back: names,
arguments as parsed JSON with exact types (values typed by the tools' schemas for the XML form),
key order, ids, and argument deltas adding up to the final arguments.

Whitespace rule checked here (documented in output_parser.h): whitespace next to the tags is
layout, so reasoning comes back stripped of ASCII whitespace at both ends, and content stripped
at the start (and at the end when tool calls follow it). Qwen3.5 trims both anyway.
"""

import ctypes
import json
import os
import pathlib
import random
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("BOSON_SHARED", str(ROOT.parent / "shared"))) / "data"
if not SHARED.exists():
    SHARED = ROOT.parent / "shared" / "data"
QWEN35_TEMPLATE = SHARED / "chat-templates" / "qwen3.5.jinja"
QWEN3_CONFIG = SHARED / "qwen3-tokenizer" / "tokenizer_config.json"

WS = " \t\n\r"

# ------------------------------------------------------------------ reference: the templates


def _compile(template):
    try:
        from transformers.utils.chat_template_utils import _compile_jinja_template
        return _compile_jinja_template(template)
    except ImportError:
        import jinja2
        from jinja2.ext import loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
            return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                              separators=separators, sort_keys=sort_keys)

        def raise_exception(message):
            raise jinja2.exceptions.TemplateError(message)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                            extensions=[loopcontrols])
        env.filters["tojson"] = tojson
        env.globals["raise_exception"] = raise_exception
        return env.from_string(template)


@pytest.fixture(scope="module")
def templates():
    q35 = _compile(QWEN35_TEMPLATE.read_text(encoding="utf-8"))
    q3 = _compile(json.loads(QWEN3_CONFIG.read_text(encoding="utf-8"))["chat_template"])
    return {"qwen35": q35, "qwen3": q3}


TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string"}, "days": {"type": "integer"},
            "detailed": {"type": "boolean"},
            "units": {"type": "string", "enum": ["metric", "imperial"]}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "compute", "description": "Numbers and structures",
        "parameters": {"type": "object", "properties": {
            "x": {"type": "number"}, "y": {"type": "number"}, "op": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "opts": {"type": "object"}, "limit": {"type": ["integer", "null"]},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}}},
    {"type": "function", "function": {
        "name": "write_file", "description": "Write text",
        "parameters": {"type": "object", "properties": {
            "path": {"type": "string"}, "content": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "ping", "description": "No arguments",
                                      "parameters": {"type": "object", "properties": {}}}},
]

# ------------------------------------------------------------------ random messages

FRAGMENTS = [
    "hello", "world", "The", "answer", " ", "  ", "\n", "\n\n", "\t", "a < b", "x>y", "<", ">",
    "<b>bold</b>", "<tool", "<tool_call", "</tool", "</think", "<think", "<param", "</function>",
    "<parameter=k>", "{", "}", "[1, 2]", "\"quoted\"", "back\\slash", "é", "日本語", "🙂",
    "Ünïcödé", "null", "True", "None", "42", "3.5", "&amp;", "—", "line1\nline2", "if a<b:",
]
FORBIDDEN = {
    "text": ["<tool_call>", "</think>", "<|im_end|>", "<|im_start|>"],
    "reasoning": ["</think>", "<|im_end|>", "<|im_start|>"],
    "value": ["</parameter>", "</tool_call>", "<|im_end|>", "<|im_start|>"],
}


def rand_text(rng, kind, max_parts=8, allow_empty=True):
    while True:
        n = rng.randint(0 if allow_empty else 1, max_parts)
        s = "".join(rng.choice(FRAGMENTS) for _ in range(n))
        if rng.random() < 0.1:
            s = "<think>" + s  # a tag the parser must treat as text where it appears
        if not any(f in s for f in FORBIDDEN[kind]) and (allow_empty or s.strip(WS)):
            return s


def rand_json(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.5:
        return rng.choice([0, -17, 10**20, 2.5, -0.001, 1e-05, 1e20, True, False, None,
                           rand_text(rng, "value", 3)])
    if r < 0.75:
        return [rand_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rand_text(rng, "value", 2): rand_json(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


def rand_args(rng, name):
    if name == "get_weather":
        a = {"city": rand_text(rng, "value")}
        if rng.random() < 0.7:
            a["days"] = rng.choice([0, 3, -2, 365, 10**18])
        if rng.random() < 0.5:
            a["detailed"] = rng.random() < 0.5
        if rng.random() < 0.5:
            a["units"] = rng.choice(["metric", "imperial"])
    elif name == "compute":
        a = {}
        if rng.random() < 0.8:
            a["x"] = rng.choice([1.5, -0.25, 3, 1e-05, 6.02e23, 0.1 + 0.2])
        if rng.random() < 0.5:
            a["y"] = rng.choice([2, -7.75, 1e100])
        if rng.random() < 0.6:
            a["op"] = rand_text(rng, "value", 3)
        if rng.random() < 0.6:
            a["tags"] = [rand_text(rng, "value", 2) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.6:
            a["opts"] = {rand_text(rng, "value", 2): rand_json(rng) for _ in range(3)}
        if rng.random() < 0.5:
            a["limit"] = rng.choice([None, 5, -1])
        if rng.random() < 0.4:
            a["note"] = rng.choice([None, "a note", "line\nbreak"])
        keys = list(a)
        rng.shuffle(keys)
        a = {k: a[k] for k in keys}
    elif name == "write_file":
        a = {"path": "/tmp/" + rng.choice(["a.py", "b c.txt", "ü.md"]),
             "content": rand_text(rng, "value", 12)}
        if rng.random() < 0.3:
            a["content"] = "\n" + a["content"] + "\n"  # leading / trailing newline kept
    else:
        a = {}
    return a


def rand_message(rng):
    n_calls = rng.choice([0, 0, 1, 1, 2, 3])
    calls = []
    for _ in range(n_calls):
        name = rng.choice(["get_weather", "compute", "write_file", "ping"])
        calls.append({"type": "function",
                      "function": {"name": name, "arguments": rand_args(rng, name)}})
    msg = {"role": "assistant",
           "content": rand_text(rng, "text", allow_empty=bool(calls)),
           "reasoning_content": rand_text(rng, "reasoning")}
    if calls:
        msg["tool_calls"] = calls
    return msg


def assistant_turn(template, msg):
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Question?"}, msg]
    text = template.render(messages=messages, tools=TOOLS, add_generation_prompt=False)
    head = "<|im_start|>assistant\n"
    start = text.rindex(head) + len(head)
    end = text.index("<|im_end|>", start)
    return text[start:end]


# ------------------------------------------------------------------ the C side


class Options(ctypes.Structure):
    _fields_ = [("starts_in_think", ctypes.c_int), ("no_think", ctypes.c_int),
                ("tool_format", ctypes.c_int), ("tools", ctypes.c_void_p),
                ("tools_json", ctypes.c_char_p), ("tools_json_len", ctypes.c_size_t),
                ("id_prefix", ctypes.c_char_p), ("max_tool_call_bytes", ctypes.c_size_t)]


TEXT_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_char),
                           ctypes.c_size_t)
BEGIN_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                            ctypes.c_char_p)
ARGS_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
                           ctypes.POINTER(ctypes.c_char), ctypes.c_size_t)
END_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p)


class Sink(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("on_content", TEXT_CB), ("on_reasoning", TEXT_CB),
                ("on_tool_call_begin", BEGIN_CB), ("on_tool_call_args", ARGS_CB),
                ("on_tool_call_end", END_CB)]


class BosonError(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 1024)]


FORMATS = {"auto": 0, "qwen35_xml": 1, "qwen3_json": 2, "none": 3}


@pytest.fixture(scope="module")
def lib():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="boson-outparse-"))
    so = tmp / "liboutparse.so"
    sources = [ROOT / "src/text" / f for f in ("output_parser.c", "tool_calls.c", "json_scan.c")]
    sources += sorted((ROOT / "src" / "base").glob("*.c"))
    cmd = ["gcc", "-std=c17", "-O1", "-g", "-shared", "-fPIC", "-D_GNU_SOURCE",
           f"-I{ROOT / 'include'}", f"-I{ROOT / 'src'}", "-o", str(so), *map(str, sources),
           "-ljansson", "-lm", "-pthread"]
    subprocess.run(cmd, check=True, capture_output=True)
    L = ctypes.CDLL(str(so))
    L.bs_outparse_new.restype = ctypes.c_void_p
    L.bs_outparse_new.argtypes = [ctypes.POINTER(Options), ctypes.POINTER(BosonError)]
    L.bs_outparse_feed.restype = ctypes.c_int
    L.bs_outparse_feed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                   ctypes.POINTER(Sink), ctypes.POINTER(BosonError)]
    L.bs_outparse_finish.restype = ctypes.c_int
    L.bs_outparse_finish.argtypes = [ctypes.c_void_p, ctypes.POINTER(Sink),
                                     ctypes.POINTER(BosonError)]
    L.bs_outparse_free.argtypes = [ctypes.c_void_p]
    return L


TOOLS_JSON = json.dumps(TOOLS).encode()


def c_parse(L, data, chunks, starts_in_think=False, fmt="auto"):
    """Feeds data (bytes) cut at the offsets in chunks; returns what the sink saw."""
    got = {"content": bytearray(), "reasoning": bytearray(), "calls": [], "errors": []}

    def on_content(_ctx, p, n):
        got["content"] += ctypes.string_at(p, n)
        return 0

    def on_reasoning(_ctx, p, n):
        got["reasoning"] += ctypes.string_at(p, n)
        return 0

    def on_begin(_ctx, idx, cid, name):
        if idx != len(got["calls"]):
            got["errors"].append(f"begin index {idx}")
        got["calls"].append({"id": cid.decode(), "name": name.decode(), "deltas": b"",
                             "args": None})
        return 0

    def on_args(_ctx, idx, p, n):
        got["calls"][idx]["deltas"] += ctypes.string_at(p, n)
        return 0

    def on_end(_ctx, idx, args):
        got["calls"][idx]["args"] = args
        return 0

    cbs = (TEXT_CB(on_content), TEXT_CB(on_reasoning), BEGIN_CB(on_begin), ARGS_CB(on_args),
           END_CB(on_end))
    sink = Sink(None, *cbs)
    opts = Options(1 if starts_in_think else 0, 0, FORMATS[fmt], None, TOOLS_JSON,
                   len(TOOLS_JSON), None, 0)
    err = BosonError()
    p = L.bs_outparse_new(ctypes.byref(opts), ctypes.byref(err))
    assert p, err.message
    try:
        prev = 0
        for cut in list(chunks) + [len(data)]:
            assert L.bs_outparse_feed(p, data[prev:cut], cut - prev, ctypes.byref(sink),
                                      ctypes.byref(err)) == 0, err.message
            prev = cut
        assert L.bs_outparse_finish(p, ctypes.byref(sink), ctypes.byref(err)) == 0, err.message
    finally:
        L.bs_outparse_free(p)
    assert not got["errors"], got["errors"]
    return got


def random_cuts(rng, n):
    mode = rng.random()
    if mode < 0.2:
        return list(range(1, n))  # byte by byte (splits UTF-8 characters too)
    if mode < 0.3:
        return []  # one shot
    step = rng.choice([2, 3, 5, 8, 16])
    cuts, pos = [], 0
    while True:
        pos += rng.randint(1, step)
        if pos >= n:
            return cuts
        cuts.append(pos)


# ------------------------------------------------------------------ comparison


def same(a, b):
    """Equality that also requires the same JSON types (True is not 1, 3 is not 3.0) and the
    same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def expected(msg, tmpl):
    calls = msg.get("tool_calls", [])
    content = msg["content"].lstrip(WS)
    if calls or tmpl == "qwen35":  # Qwen3.5 trims content
        content = content.rstrip(WS)
    return {"reasoning": msg["reasoning_content"].strip(WS), "content": content,
            "calls": [(c["function"]["name"], c["function"]["arguments"]) for c in calls]}


def check(got, want, turn):
    ctx = f"turn {turn!r}"
    assert got["reasoning"].decode("utf-8") == want["reasoning"], ctx
    assert got["content"].decode("utf-8") == want["content"], ctx
    assert len(got["calls"]) == len(want["calls"]), ctx
    for i, (c, (name, args)) in enumerate(zip(got["calls"], want["calls"])):
        assert c["id"] == f"call_{i}", ctx
        assert c["name"] == name, ctx
        assert c["args"] is not None and c["deltas"] == c["args"], ctx
        parsed = json.loads(c["args"].decode("utf-8"))
        assert same(parsed, args), f"{ctx}: {parsed!r} != {args!r}"
        # compact: exactly Python's compact form of the same value (numbers kept as written
        # are also how Python writes them here)
        assert c["args"].decode("utf-8") == json.dumps(parsed, ensure_ascii=False,
                                                        separators=(",", ":")), ctx


@pytest.mark.parametrize("tmpl,fmt", [("qwen35", "auto"), ("qwen35", "qwen35_xml"),
                                      ("qwen3", "auto"), ("qwen3", "qwen3_json")])
def test_rendered_turns_round_trip(lib, templates, tmpl, fmt):
    rng = random.Random(f"outparse-{tmpl}-{fmt}")
    for _ in range(250):
        msg = rand_message(rng)
        turn = assistant_turn(templates[tmpl], msg)
        assert turn.startswith("<think>\n")
        want = expected(msg, tmpl)
        data = turn.encode("utf-8")
        got = c_parse(lib, data, random_cuts(rng, len(data)), fmt=fmt)
        check(got, want, turn)
        # the prompt opened <think> (Qwen3.5 thinking prompts end in "<think>\n")
        rest = data[len(b"<think>\n"):]
        got = c_parse(lib, rest, random_cuts(rng, len(rest)), starts_in_think=True, fmt=fmt)
        check(got, want, turn)


def test_xml_values_are_typed_by_schema(lib, templates):
    """Qwen3.5 renders scalars with Python str(): True, None, 1e-05 -- the schema types them."""
    msg = {"role": "assistant", "content": "", "reasoning_content": "",
           "tool_calls": [{"function": {"name": "compute", "arguments": {
               "x": 1e-05, "y": 3, "op": "None", "tags": [], "opts": {"k": [True, None]},
               "limit": None, "note": None}}},
                          {"function": {"name": "get_weather", "arguments": {
                              "city": "42", "days": 7, "detailed": False}}}]}
    turn = assistant_turn(templates["qwen35"], msg)
    assert "<parameter=limit>\nNone\n</parameter>" in turn
    assert "<parameter=detailed>\nFalse\n</parameter>" in turn
    got = c_parse(lib, turn.encode(), [])
    check(got, expected(msg, "qwen35"), turn)


def test_wrong_format_hint_keeps_text(lib, templates):
    """A body of the other format is not a call for a restricted parser: it stays text."""
    msg = {"role": "assistant", "content": "Calling.", "reasoning_content": "r",
           "tool_calls": [{"function": {"name": "ping", "arguments": {}}}]}
    for tmpl, fmt in (("qwen35", "qwen3_json"), ("qwen3", "qwen35_xml")):
        turn = assistant_turn(templates[tmpl], msg)
        got = c_parse(lib, turn.encode(), [])
        assert len(got["calls"]) == 1
        got = c_parse(lib, turn.encode(), [], fmt=fmt)
        assert got["calls"] == []
        body = turn[turn.index("</think>") + len("</think>"):].lstrip(WS)
        assert got["content"].decode() == body


def test_truncated_turns_lose_nothing(lib, templates):
    """Generation cut anywhere (max_tokens): every byte after the reasoning comes back, as
    content or inside complete tool calls; an unfinished call is text."""
    rng = random.Random("outparse-truncated")
    for _ in range(60):
        msg = rand_message(rng)
        if "tool_calls" not in msg:
            continue
        turn = assistant_turn(templates["qwen35"], msg).encode()
        cut = rng.randint(turn.index(b"</think>") + len(b"</think>"), len(turn))
        got = c_parse(lib, turn[:cut], random_cuts(rng, cut))
        head = turn[:cut]
        assert len(got["calls"]) == head.count(b"</tool_call>")
        lt = head.rfind(b"<")
        opened = head.rfind(b"<tool_call>")
        if lt >= 0 and b"<tool_call>".startswith(head[lt:]) and head[lt:] != b"<tool_call>":
            assert got["content"].endswith(head[lt:])  # a cut inside the opening tag
        elif opened > head.rfind(b"</tool_call>"):
            assert got["content"].endswith(head[opened:])  # an unfinished call is text
