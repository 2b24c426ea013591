"""Chat-template interpreter (src/text/jinja*.c, chat_template.c) against Python jinja2.

The C sources are compiled into a shared library in a temporary directory and called through
ctypes. The reference is jinja2 configured exactly as Hugging Face transformers configures it:
transformers' own `_compile_jinja_template` when importable (ImmutableSandboxedEnvironment with
trim_blocks, lstrip_blocks, loopcontrols, its tojson / raise_exception / strftime_now /
namespace / dict), else a replica of that setup. Outputs must be byte-identical; where jinja2
raises, the C renderer must fail too (and carry the raise_exception message).
"""

import ctypes
import datetime
import json
import os
import pathlib
import subprocess
import tempfile

import jinja2
import pytest
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("BOSON_SHARED", str(ROOT.parent / "shared"))) / "data"
QWEN35_TEMPLATE = SHARED / "chat-templates" / "qwen3.5.jinja"
QWEN35_EXAMPLES = SHARED / "chat-templates" / "qwen3.5-examples.txt"
QWEN3_CONFIG = SHARED / "qwen3-tokenizer" / "tokenizer_config.json"

FIXED_NOW = datetime.datetime(2026, 3, 7, 9, 5, 4)


# ---------------------------------------------------------------- the C side


class RenderOpts(ctypes.Structure):
    _fields_ = [
        ("messages_json", ctypes.c_char_p),
        ("tools_json", ctypes.c_char_p),
        ("extra_json", ctypes.c_char_p),
        ("messages", ctypes.c_void_p),
        ("tools", ctypes.c_void_p),
        ("extra", ctypes.c_void_p),
        ("add_generation_prompt", ctypes.c_int),
        ("hf_normalize", ctypes.c_int),
        ("now", ctypes.c_void_p),
        ("max_output", ctypes.c_size_t),
        ("max_memory", ctypes.c_size_t),
        ("max_steps", ctypes.c_uint64),
        ("max_depth", ctypes.c_int),
    ]


class StructTm(ctypes.Structure):
    _fields_ = [
        ("tm_sec", ctypes.c_int),
        ("tm_min", ctypes.c_int),
        ("tm_hour", ctypes.c_int),
        ("tm_mday", ctypes.c_int),
        ("tm_mon", ctypes.c_int),
        ("tm_year", ctypes.c_int),
        ("tm_wday", ctypes.c_int),
        ("tm_yday", ctypes.c_int),
        ("tm_isdst", ctypes.c_int),
        ("tm_gmtoff", ctypes.c_long),
        ("tm_zone", ctypes.c_char_p),
    ]


class BosonError(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 1024)]


class CRenderError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


@pytest.fixture(scope="session")
def lib():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="boson-jinja-"))
    so = tmp / "libchat_template.so"
    sources = sorted(str(p) for p in (ROOT / "src" / "text").glob("jinja*.c"))
    sources += [str(ROOT / "src/text/jvalue.c"), str(ROOT / "src/text/chat_template.c")]
    sources += sorted(str(p) for p in (ROOT / "src" / "base").glob("*.c"))
    cmd = ["gcc", "-std=c17", "-O1", "-g", "-shared", "-fPIC", "-D_GNU_SOURCE",
           f"-I{ROOT / 'include'}", f"-I{ROOT / 'src'}", "-o", str(so), *sources,
           "-ljansson", "-lutf8proc", "-lm", "-pthread"]
    subprocess.run(cmd, check=True, capture_output=True)
    L = ctypes.CDLL(str(so))
    L.bs_chat_template_render_text.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(RenderOpts),
        ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t),
        ctypes.POINTER(BosonError)]
    L.bs_chat_template_render_text.restype = ctypes.c_int
    L.free.argtypes = [ctypes.c_void_p]
    return L


def c_render(L, template, messages, tools=None, add_generation_prompt=False, hf_normalize=False,
             **extra):
    tb = template.encode("utf-8")
    opts = RenderOpts()
    keep = []

    def cstr(obj):
        b = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        keep.append(b)
        return b

    opts.messages_json = cstr(messages)
    opts.tools_json = cstr(tools) if tools is not None else None
    opts.extra_json = cstr(extra) if extra else None
    opts.add_generation_prompt = 1 if add_generation_prompt else 0
    opts.hf_normalize = 1 if hf_normalize else 0
    tm = StructTm(FIXED_NOW.second, FIXED_NOW.minute, FIXED_NOW.hour, FIXED_NOW.day,
                  FIXED_NOW.month - 1, FIXED_NOW.year - 1900, (FIXED_NOW.weekday() + 1) % 7,
                  FIXED_NOW.timetuple().tm_yday - 1, 0, 0, b"UTC")
    opts.now = ctypes.cast(ctypes.pointer(tm), ctypes.c_void_p)
    out = ctypes.c_void_p()
    n = ctypes.c_size_t()
    err = BosonError()
    st = L.bs_chat_template_render_text(tb, len(tb), ctypes.byref(opts), ctypes.byref(out),
                                        ctypes.byref(n), ctypes.byref(err))
    if st != 0:
        raise CRenderError(st, err.message.decode("utf-8", "replace"))
    text = ctypes.string_at(out, n.value).decode("utf-8")
    L.free(out)
    return text


# ---------------------------------------------------------------- the reference


def _replica_compile(template):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)
    return env.from_string(template)


def _hf_compile(template):
    try:
        from transformers.utils import chat_template_utils as ctu
    except Exception:  # transformers missing or broken: use the replica
        return _replica_compile(template)
    compiled = ctu._compile_jinja_template.__wrapped__(template) if hasattr(
        ctu._compile_jinja_template, "__wrapped__") else ctu._compile_jinja_template(template)
    # a fixed clock instead of datetime.now(), as the C side gets one
    compiled.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)
    return compiled


_compiled_cache = {}


def py_render(template, messages, tools=None, add_generation_prompt=False, **extra):
    if template not in _compiled_cache:
        _compiled_cache[template] = _hf_compile(template)
    t = _compiled_cache[template]
    return t.render(messages=messages, tools=tools, documents=None,
                    add_generation_prompt=add_generation_prompt, **extra)


def check_same(L, template, messages, tools=None, add_generation_prompt=False, **extra):
    """Both render identically, or both fail (raise_exception messages must agree)."""
    try:
        want = py_render(template, messages, tools, add_generation_prompt, **extra)
    except jinja2.exceptions.TemplateSyntaxError as e:
        with pytest.raises(CRenderError):
            c_render(L, template, messages, tools, add_generation_prompt, **extra)
        return ("syntax-error", str(e))
    except Exception as e:  # noqa: BLE001 - any jinja2 failure must be a C failure too
        with pytest.raises(CRenderError) as ce:
            c_render(L, template, messages, tools, add_generation_prompt, **extra)
        if type(e) is jinja2.exceptions.TemplateError:  # raise_exception
            assert ce.value.message.endswith(str(e)), (ce.value.message, str(e))
        return ("error", str(e))
    got = c_render(L, template, messages, tools, add_generation_prompt, **extra)
    assert got == want, f"\nC:      {got!r}\njinja2: {want!r}"
    return ("ok", got)


# ---------------------------------------------------------------- conversations

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web for «things» — quoted \"text\", back\\slash, tab\t.",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"},
                                                         "n": {"type": "number",
                                                               "default": 2.5}}},
    },
}

CONVERSATIONS = {
    "single_user": ([{"role": "user", "content": "Hi!"}], None),
    "system_user": ([{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "Hi!"}], None),
    "empty_system": ([{"role": "system", "content": ""},
                      {"role": "user", "content": "Hi!"}], None),
    "multi_turn": ([{"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "2+2?"},
                    {"role": "assistant", "content": "4"},
                    {"role": "user", "content": "times 3?"},
                    {"role": "assistant", "content": "12"},
                    {"role": "user", "content": "  and minus 1?  \n"}], None),
    "think_in_content": ([{"role": "user", "content": "2+2?"},
                          {"role": "assistant", "content": "<think>\nsimple\n</think>\n\n4"},
                          {"role": "user", "content": "times 3?"}], None),
    "think_last_turn": ([{"role": "user", "content": "2+2?"},
                         {"role": "assistant",
                          "content": "<think>\n\nadd them\n\n</think>\n\n\n4"}], None),
    "reasoning_content": ([{"role": "user", "content": "q1"},
                           {"role": "assistant", "content": "a1", "reasoning_content": "r1"},
                           {"role": "user", "content": "q2"},
                           {"role": "assistant", "content": "a2",
                            "reasoning_content": "  r2 \n"}], None),
    "reasoning_none": ([{"role": "user", "content": "q"},
                        {"role": "assistant", "content": "a", "reasoning_content": None}],
                       None),
    "tool_call_dict_args": (
        [{"role": "system", "content": "Be brief."},
         {"role": "user", "content": "Weather in Paris for 3 days?"},
         {"role": "assistant", "content": "", "reasoning_content": "Need the tool.",
          "tool_calls": [{"type": "function", "function": {
              "name": "get_weather", "arguments": {"city": "Paris", "days": 3}}}]},
         {"role": "tool", "content": "{\"temp\": 21}"}],
        [WEATHER_TOOL]),
    "tool_call_string_args": (
        [{"role": "user", "content": "Weather?"},
         {"role": "assistant", "content": "Checking.",
          "tool_calls": [{"id": "c1", "type": "function", "function": {
              "name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
         {"role": "tool", "tool_call_id": "c1", "content": "sunny"}],
        [WEATHER_TOOL]),
    "tool_calls_parallel_types": (
        [{"role": "user", "content": "x"},
         {"role": "assistant", "content": "ok", "tool_calls": [
             {"function": {"name": "f", "arguments": {
                 "flag": True, "off": False, "n": None, "obj": {"a": [1, 2]},
                 "lst": ["x", 1.5], "s": "str", "f": 0.1, "big": 1e16, "small": 1e-05,
                 "neg": -3, "uni": "héllo 🌍"}}},
             {"function": {"name": "g", "arguments": {}}},
             {"name": "h", "arguments": {"k": "v"}}]},
         {"role": "tool", "content": "r1"},
         {"role": "tool", "content": "r2"},
         {"role": "tool", "content": "r3"}],
        None),
    "multi_step_tools": (
        [{"role": "user", "content": "plan"},
         {"role": "assistant", "content": "", "reasoning_content": "step 1",
          "tool_calls": [{"function": {"name": "search", "arguments": {"q": "a"}}}]},
         {"role": "tool", "content": "res a"},
         {"role": "assistant", "content": "", "reasoning_content": "step 2",
          "tool_calls": [{"function": {"name": "search", "arguments": {"q": "b"}}}]},
         {"role": "tool", "content": "res b"},
         {"role": "assistant", "content": "done", "reasoning_content": "final"}],
        [WEATHER_TOOL, SEARCH_TOOL]),
    "tool_response_as_user": (
        [{"role": "user", "content": "real question"},
         {"role": "user", "content": "<tool_response>\nx\n</tool_response>"}], None),
    "tools_no_system": ([{"role": "user", "content": "hi"}], [SEARCH_TOOL]),
    "tools_with_system": ([{"role": "system", "content": "  sys  "},
                           {"role": "user", "content": "hi"}], [WEATHER_TOOL, SEARCH_TOOL]),
    "content_parts": ([{"role": "system", "content": [{"type": "text", "text": "S1 "},
                                                       {"type": "text", "text": "S2"}]},
                       {"role": "user", "content": [{"type": "text", "text": "look: "},
                                                    {"type": "image", "image": "x.png"},
                                                    {"type": "text", "text": " and "},
                                                    {"type": "video", "video": "v.mp4"}]},
                       {"role": "assistant", "content": [{"type": "text", "text": "A"}]},
                       {"role": "user", "content": [{"type": "image_url",
                                                     "image_url": {"url": "u"}}]}], None),
    "unicode": ([{"role": "system", "content": "Réponds en français 🇫🇷"},
                 {"role": "user", "content": "你好，世界！\u00a0\u2003 tab\there \u2028x"},
                 {"role": "assistant", "content": "สวัสดี\u3000"},
                 {"role": "user", "content": "«ok» 'quotes' \"double\" \\ back"}], None),
    "control_chars": ([{"role": "user", "content": "a\u0001b\u001fc\u007f\r\n"}],
                      [{"type": "function", "function": {"name": "t\u0001",
                                                         "description": "x\u0007\b\f"}}]),
    # error paths
    "no_messages": ([], None),
    "system_not_first": ([{"role": "user", "content": "hi"},
                          {"role": "system", "content": "late"}], None),
    "unknown_role": ([{"role": "user", "content": "hi"},
                      {"role": "robot", "content": "beep"}], None),
    "only_tool_responses": ([{"role": "tool", "content": "x"}], None),
    "bad_content_type": ([{"role": "user", "content": 42}], None),
    "system_with_image": ([{"role": "system", "content": [{"type": "image"}]},
                           {"role": "user", "content": "hi"}], None),
    "missing_content": ([{"role": "user"}], None),
    "unknown_item": ([{"role": "user", "content": [{"type": "audio", "audio": "a"}]}], None),
}

OPTION_SETS = [
    dict(add_generation_prompt=True),
    dict(add_generation_prompt=False),
    dict(add_generation_prompt=True, enable_thinking=False),
    dict(add_generation_prompt=True, enable_thinking=True),
    dict(add_generation_prompt=True, add_vision_id=True),
    dict(add_generation_prompt=True, preserve_thinking=True),
]


def qwen3_template():
    return json.loads(QWEN3_CONFIG.read_text())["chat_template"]


def qwen36_template():
    """The Qwen3.6 form, derived from the Qwen3.5 file by the two differences the reference
    (tokenizer-and-chat.md §9.8) names: a preserve_thinking switch for earlier reasoning, and
    JSON for every non-string tool-call argument."""
    t = QWEN35_TEMPLATE.read_text()
    old_cond = "{%- if loop.index0 > ns.last_query_index %}"
    new_cond = ("{%- if (preserve_thinking is defined and preserve_thinking is true) or "
                "(loop.index0 > ns.last_query_index) %}")
    old_arg = ("{%- set args_value = args_value | tojson | safe if args_value is mapping or "
               "(args_value is sequence and args_value is not string) else args_value | string %}")
    new_arg = ("{%- set args_value = args_value | string if args_value is string else "
               "args_value | tojson | safe %}")
    assert t.count(old_cond) == 1 and t.count(old_arg) == 1
    return t.replace(old_cond, new_cond).replace(old_arg, new_arg)


TEMPLATES = {
    "qwen3.5": lambda: QWEN35_TEMPLATE.read_text(),
    "qwen3.6": qwen36_template,
    "qwen3": qwen3_template,
}


@pytest.mark.parametrize("tname", sorted(TEMPLATES))
@pytest.mark.parametrize("conv", sorted(CONVERSATIONS))
@pytest.mark.parametrize("opt", range(len(OPTION_SETS)))
def test_real_templates(lib, tname, conv, opt):
    messages, tools = CONVERSATIONS[conv]
    options = dict(OPTION_SETS[opt])
    agp = options.pop("add_generation_prompt")
    check_same(lib, TEMPLATES[tname](), messages, tools, agp, **options)


def random_conversation(rng):
    """A random but well-formed-ish conversation: roles, contents with edge whitespace and
    think tags, reasoning_content, tool calls with every argument type, tool results."""
    texts = ["hi", "  padded  ", "\n\nnewlines\n", "", "ünïcødé 🌍", "<think>\nr\n</think>\n\nanswer",
             "<think>only open", "x</think>y</think>\nz", "<tool_response>\nt\n</tool_response>",
             "tab\tsep", "quote ' and \"", "a\u00a0b\u3000"]
    values = [1, -2, 0.5, 1e16, True, False, None, "s", "", [1, "a"], {"k": {"n": [None]}}, [],
              {}, "multi\nline"]
    msgs = []
    if rng.random() < 0.5:
        msgs.append({"role": "system", "content": rng.choice(texts)})
    for _ in range(rng.randint(1, 7)):
        r = rng.random()
        if r < 0.4:
            msgs.append({"role": "user", "content": rng.choice(texts)})
        elif r < 0.8:
            m = {"role": "assistant", "content": rng.choice(texts)}
            if rng.random() < 0.4:
                m["reasoning_content"] = rng.choice(texts)
            if rng.random() < 0.4:
                calls = []
                for _ in range(rng.randint(1, 3)):
                    args = {f"p{i}": rng.choice(values) for i in range(rng.randint(0, 3))}
                    if rng.random() < 0.3:
                        args = json.dumps(args)
                    fn = {"name": rng.choice(["f", "get_weather", "ß"]), "arguments": args}
                    calls.append({"type": "function", "function": fn} if rng.random() < 0.8
                                 else fn)
                m["tool_calls"] = calls
            msgs.append(m)
        else:
            for _ in range(rng.randint(1, 3)):
                msgs.append({"role": "tool", "content": rng.choice(texts)})
    if rng.random() < 0.8:
        msgs.append({"role": "user", "content": rng.choice(texts)})
    tools = rng.choice([None, [], [WEATHER_TOOL], [WEATHER_TOOL, SEARCH_TOOL]])
    return msgs, tools


@pytest.mark.parametrize("tname", sorted(TEMPLATES))
def test_random_conversations(lib, tname):
    import random
    rng = random.Random(20260307)
    tpl = TEMPLATES[tname]()
    outcomes = {"ok": 0, "error": 0, "syntax-error": 0}
    for _ in range(400):
        msgs, tools = random_conversation(rng)
        options = dict(rng.choice(OPTION_SETS))
        agp = options.pop("add_generation_prompt")
        outcomes[check_same(lib, tpl, msgs, tools, agp, **options)[0]] += 1
    # successful renderings and (for the Qwen3.5 family) raise_exception paths were exercised
    assert outcomes["ok"] > 100, outcomes
    if tname != "qwen3":
        assert outcomes["error"] > 10, outcomes


def hf_apply_chat_template(template, messages, tools, add_generation_prompt, **extra):
    """What tokenizer.apply_chat_template(tokenize=False) renders: transformers normalises the
    messages (drops None-valued keys) and aliases reasoning fields before the template runs."""
    from transformers.utils import chat_template_utils as ctu
    conv = ctu._normalize_chat_messages(messages)
    if not conv:
        raise ValueError("empty conversation")
    compiled = _hf_compile(template)
    chat = ctu._alias_reasoning_fields(ctu._plain_template_data(conv))
    return compiled.render(messages=chat, tools=tools, documents=None,
                           add_generation_prompt=add_generation_prompt, **extra)


HF_NORMALIZE_CASES = [
    [{"role": "user", "content": "q"},
     {"role": "assistant", "content": None, "tool_calls": [
         {"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]},
     {"role": "tool", "content": "r", "name": None}],
    [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "reasoning": "R"}],
    [{"role": "user", "content": "q"},
     {"role": "assistant", "content": "a", "thinking": "T", "reasoning_content": None}],
    [{"role": "user", "content": "q"},
     {"role": "assistant", "content": "a", "thinking": "T", "reasoning_content": "RC"}],
    [{"role": "user", "content": "q", "reasoning": None}],
    [],
]


@pytest.mark.parametrize("tname", sorted(TEMPLATES))
@pytest.mark.parametrize("idx", range(len(HF_NORMALIZE_CASES)))
def test_hf_message_normalisation(lib, tname, idx):
    import transformers  # noqa: F401  (the reference renderer)
    tpl = TEMPLATES[tname]()
    msgs = HF_NORMALIZE_CASES[idx]
    tpl_dump = tpl + "{{ messages|tojson }}"  # the normalised messages themselves, key order too
    for t in (tpl, tpl_dump):
        try:
            want = hf_apply_chat_template(t, msgs, None, True)
        except Exception:  # noqa: BLE001
            with pytest.raises(CRenderError):
                c_render(lib, t, msgs, None, True, hf_normalize=True)
            continue
        assert c_render(lib, t, msgs, None, True, hf_normalize=True) == want


def test_qwen35_rendered_examples(lib):
    """The golden renderings shipped with the template (examples A–E) reproduce."""
    text = QWEN35_EXAMPLES.read_text(encoding="utf-8")
    blocks = text.split("===== ")[1:]
    assert len(blocks) == 5
    expected = {}
    for b in blocks:
        header, rest = b.split("\n", 1)
        expected[header.split()[0]] = rest.split("\n-----\n", 1)[1].split("<<EOF>>\n")[0]
    tpl = QWEN35_TEMPLATE.read_text()
    sys_hi = [{"role": "system", "content": "You are a helpful assistant."},
              {"role": "user", "content": "Hi!"}]
    cases = {
        "A": (sys_hi, None, True, {}),
        "B": (sys_hi, None, True, {"enable_thinking": False}),
        "C": ([{"role": "user", "content": "2+2?"},
               {"role": "assistant", "content": "<think>\nsimple\n</think>\n\n4"},
               {"role": "user", "content": "times 3?"}], None, True, {}),
        "D": ([{"role": "system", "content": "Be brief."},
               {"role": "user", "content": "Weather in Paris for 3 days?"},
               {"role": "assistant", "content": "", "reasoning_content": "Need the tool.",
                "tool_calls": [{"type": "function", "function": {
                    "name": "get_weather", "arguments": {"city": "Paris", "days": 3}}}]},
               {"role": "tool", "content": "{\"temp\": 21}"}], [WEATHER_TOOL], True, {}),
        "E": ([{"role": "user", "content": "x"},
               {"role": "assistant", "content": "ok", "tool_calls": [
                   {"function": {"name": "f", "arguments": {
                       "flag": True, "n": None, "obj": {"a": [1, 2]}, "s": "str"}}},
                   {"function": {"name": "g", "arguments": {}}}]},
               {"role": "tool", "content": "r1"},
               {"role": "tool", "content": "r2"}], None, False, {}),
    }
    for key, (msgs, tools, agp, extra) in cases.items():
        got = c_render(lib, tpl, msgs, tools, agp, **extra)
        assert got == expected[key], f"example {key}:\n{got!r}\n{expected[key]!r}"


def test_raise_exception_message(lib):
    tpl = QWEN35_TEMPLATE.read_text()
    with pytest.raises(CRenderError) as e:
        c_render(lib, tpl, [], None, True)
    assert e.value.message.endswith("No messages provided.")
    assert e.value.status == 1  # BOSON_ERR_INVALID_ARG
    assert "line " in e.value.message and "column " in e.value.message


# ---------------------------------------------------------------- synthetic templates

DATA = {
    "d": {"a": 1, "b": [1, 2, {"c": "x"}], "items": 5, "s": "Hello World", "n": None,
          "t": True, "f": 1.5, "z": 0},
    "l": [3, 1, 2],
    "s": "  héllo, Wörld ",
    "users": [{"name": "bob", "age": 30, "admin": True}, {"name": "Al", "age": 25},
              {"name": "cy", "age": 35, "admin": False}],
    "e": [],
    "ed": {},
    "nums": [1, 2.5, -3, 0],
}

SYNTHETIC = [
    # output and literals
    "{{ 'a' }}{{ \"b\" }}{{ 1 }}{{ 1.0 }}{{ -2 }}{{ 1e3 }}{{ 1_000 }}{{ 0x1F }}{{ 0o17 }}{{ 0b101 }}",
    "{{ true }} {{ True }} {{ false }} {{ none }} {{ None }} {{ [1, 'a', none, true, 1.5] }}",
    "{{ {'a': 1, 'b': [2, 3]} }} {{ (1, 2) }} {{ (1,) }} {{ () }} {{ [] }} {{ {} }}",
    "{{ 'a\\nb\\tc\\\\d\\'e\\\"f\\x41\\u00e9\\U0001F600\\101\\q' }}",
    "{{ 'it''s' \"x\" }}",
    "{{ ['it\\'s', \"q\\\"\", 'nl\\n', 'é', '\\x00\\x1f\\x7f', '\\u2028', 'both\\'\"'] }}",
    "{{ [0.1, 1e16, 1e-5, 1e-4, 123456789012345.6, 2.5e-300, 1.7976931348623157e308, -0.0] }}",
    "{{ 1/3 }} {{ 2/3 }} {{ 10/4 }} {{ 4/2 }} {{ 0.1 + 0.2 }} {{ 1e22 }} {{ 1.5e15 }}",
    # arithmetic
    "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }}",
    "{{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 1 + 2.0 }} {{ true + 1 }} {{ 3 * 'ab' }} {{ [1] * 3 }}",
    "{{ 'a' + 'b' }} {{ [1] + [2] }} {{ 'a' ~ 1 ~ none ~ true ~ u }} {{ -(3) }} {{ +3 }}",
    "{{ 1 + 2 * 3 - 4 / 2 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 - 2 - 3 }}",
    "{{ 1 / 0 }}",
    "{{ 'a' + 1 }}",
    "{{ u + 1 }}",
    # comparisons and logic
    "{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 != 2 }} {{ 2 >= 2 }}",
    "{{ 'a' in 'abc' }} {{ 2 in l }} {{ 'a' in d }} {{ 'zz' not in d }} {{ 'x' in u }} {{ not 1 }}",
    "{{ 1 and 2 }} {{ 0 and 2 }} {{ 0 or 'x' }} {{ '' or [] }} {{ none or 0 }} {{ not (1 and 0) }}",
    "{{ 1 < 'a' }}",
    "{{ true == 1 }} {{ none == none }} {{ u == u }} {{ [1] == (1,) }} {{ {'a': 1} == {'a': 1} }}",
    # conditional expressions
    "{{ 'y' if 1 else 'n' }} {{ 'y' if 0 else 'n' }} [{{ 'y' if 0 }}] {{ 1 if 0 else 2 if 0 else 3 }}",
    # attributes / items / slicing
    "{{ d.a }} {{ d['a'] }} {{ d.b[2].c }} {{ d.b.0 }} {{ d.items is callable }} {{ d['items'] }} [{{ d.zz }}]",
    "{{ l[0] }} {{ l[-1] }} [{{ l[10] }}] {{ s[1] }} {{ s[-2] }} [{{ none.x }}] [{{ d.n.x }}]",
    "{{ l[::-1] }} {{ l[1:] }} {{ l[:-1] }} {{ l[::2] }} {{ s[::-1] }} {{ s[2:5] }} {{ l[5:1:-1] }}",
    "{{ l[1:2:0] }}",
    "{{ u.x }}",
    "{{ d.zz.yy }}",
    # truthiness
    "{% for v in [[], {}, '', 0, 0.0, none, [0], {'a': 0}, ' ', 1, u, d.zz] %}{{ 'T' if v else 'F' }}{% endfor %}",
    # str()
    "{{ d }} {{ users[0] }} {{ [d.s, d.t, d.n, d.f] }} {{ nums|string }} {{ d|string|length }}",
    # tests
    "{% for v in [1, 1.5, 'x', [1], {'a': 1}, none, true, u, (1, 2)] %}"
    "{{ v is number }}{{ v is integer }}{{ v is float }}{{ v is string }}{{ v is mapping }}"
    "{{ v is sequence }}{{ v is iterable }}{{ v is none }}{{ v is boolean }}{{ v is true }}"
    "{{ v is false }}{{ v is defined }}{{ v is undefined }}{{ v is callable }}|{% endfor %}",
    "{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} "
    "{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 2 is eq 2 }} {{ 2 is gt 1 }} {{ 1 is lt 2 }} "
    "{{ 2 is ne 2 }} {{ 'a' is in 'abc' }} {{ 3 is in l }} {{ none is sameas none }} "
    "{{ 'trim' is filter }} {{ 'odd' is test }} {{ d is not mapping }} {{ not d is mapping }}",
    # for loops
    "{% for x in l %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/"
    "{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.previtem }}/{{ loop.nextitem }}|"
    "{% endfor %}",
    "{% for x in e %}no{% else %}empty{% endfor %} {% for x in l if x > 1 %}{{ x }}{{ loop.length }}{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for k in d %}{{ k }},{% endfor %} {% for c in 'héj' %}[{{ c }}]{% endfor %}",
    "{% for a, b in [(1, 2), [3, 4]] %}{{ a + b }}{% endfor %} {% for x in u %}x{% else %}none{% endfor %}",
    "{% for x in l %}{% if x == 1 %}{% break %}{% endif %}{{ x }}{% endfor %}"
    "{% for x in l %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}",
    "{% for x in l %}{{ loop.cycle('a', 'b') }}{{ loop.changed(x > 1) }}{% endfor %}",
    "{% for i in range(3) %}{% for j in range(i) %}{{ i }}{{ j }}{{ loop.index }} {% endfor %}{% endfor %}",
    "{{ range(5) | list }} {{ range(1, 10, 3) | list }} {{ range(5, 0, -2) | list }}",
    "{% for x in none %}{% endfor %}",
    "{% for a, b in [1, 2] %}{% endfor %}",
    # scoping
    "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = i + 10 %}{{ x }}{% endfor %}{{ x }}",
    "{% for i in [1, 2] %}{% if i == 1 %}{% set y = 'a' %}{% endif %}[{{ y }}]{% endfor %}[{{ y }}]",
    "{% if true %}{% set z = 5 %}{% endif %}{{ z }}",
    "{% set ns = namespace(n=0, items=[]) %}{% for i in l %}{% set ns.n = ns.n + i %}{% endfor %}"
    "{{ ns.n }} {{ ns.items }} {{ ns.missing is defined }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = 1, 2 %}{{ t }}",
    "{% set x %}  block {{ 1 + 1 }}  {% endset %}[{{ x }}]{% set y | trim | upper %}  yy  {% endset %}[{{ y }}]",
    "{% set x = 1 %}{% set x.y = 2 %}",
    "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]",
    # macros
    "{% macro m(a, b='B', c=none) %}[{{ a }}|{{ b }}|{{ c }}]{% endmacro %}{{ m(1) }}{{ m(1, 2) }}{{ m(1, c=3) }}{{ m() }}",
    "{% macro outer(x) %}{{ inner(x) }}{% endmacro %}{% macro inner(y) %}<{{ y }}>{% endmacro %}{{ outer('q') }}",
    "{% set g = 'G' %}{% macro m() %}{{ g }}{{ l }}{% endmacro %}{% for i in [1] %}{{ m() }}{% endfor %}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}",
    "{% macro m(a) %}  x{{ a }}  {% endmacro %}[{{ m(1)|trim }}]",
    "{% filter upper %}abc {{ 'd' }}{% endfilter %}",
    # filters
    "{{ s|trim }}|{{ s|length }}|{{ s|upper }}|{{ s|lower }}|{{ s|title }}|{{ s|capitalize }}",
    "{{ l|length }} {{ d|length }} {{ u|length }} {{ l|count }} {{ l|first }} {{ l|last }} {{ 'abc'|first }} {{ 'abc'|last }}",
    "{{ l|join(', ') }} {{ l|join }} {{ users|join(', ', attribute='name') }} {{ [1, none, 'a']|join('-') }}",
    "{{ u|default('dflt') }} {{ ''|default('e') }} {{ ''|default('e', true) }} {{ none|d('n') }} {{ 0|d(5, boolean=true) }}",
    "{{ d|items|list }} {{ u|items|list }} {{ l|list }} {{ 'ab'|list }} {{ d|list }}",
    "{{ users|map(attribute='name')|list }} {{ users|map(attribute='admin', default='?')|join(',') }} {{ l|map('string')|join }}",
    "{{ users|selectattr('admin')|map(attribute='name')|list }} {{ users|rejectattr('admin')|map(attribute='name')|list }}",
    "{{ users|selectattr('age', 'gt', 26)|map(attribute='name')|join }} {{ users|selectattr('name', 'equalto', 'Al')|list|length }}",
    "{{ nums|select('number')|list }} {{ [1, 2, 3, 4]|select('odd')|list }} {{ [0, 1, '', 'a']|select|list }} {{ [1, 2, 3]|reject('even')|list }}",
    "{{ 'hello world'|replace('o', '0') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'abc'|replace('', '-') }}",
    "{{ '42'|int }} {{ ' -7 '|int }} {{ '3.9'|int }} {{ 'x'|int }} {{ 'x'|int(5) }} {{ 3.9|int }} {{ true|int }} {{ none|int }} {{ '1_000'|int }}",
    "{{ '1.5'|float }} {{ 'x'|float }} {{ 2|float }} {{ ' 1e3 '|float }} {{ 'inf'|float }}",
    "{{ 'a<b>&\"c\\''|e }} {{ 'x'|safe }} {{ 1|string ~ 2 }} {{ [1, 'a']|string }}",
    "{{ l|sort }} {{ l|sort(reverse=true) }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ users|sort(attribute='age')|map(attribute='name')|join }}",
    "{{ [1, 2, 1, 3]|unique|list }} {{ ['a', 'A', 'b']|unique|list }} {{ l|reverse|list }} {{ 'abc'|reverse }}",
    "{{ l|sum }} {{ users|sum(attribute='age') }} {{ l|min }} {{ l|max }} {{ ['b', 'A']|max }} {{ -3|abs }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ 3|round }} {{ 2.1|round(method='ceil') }}",
    "{{ {'b': 1, 'a': 2}|dictsort }} {{ {'b': 1, 'a': 2}|dictsort(by='value', reverse=true) }}",
    "{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(width='>', blank=true) }}",
    "{{ d|tojson }}",
    "{{ users|tojson(indent=2) }}",
    "{{ d|tojson(sort_keys=true) }} {{ l|tojson(separators=(',', ':')) }} {{ 'é\"\\n'|tojson }} {{ 'é'|tojson(ensure_ascii=true) }} {{ '🌍'|tojson(ensure_ascii=true) }}",
    "{{ {'k': [1.0, 0.1, 1e16, none, true, (1, 2)]}|tojson }} {{ {1: 'a', true: 'b', none: 'c', 2.5: 'd'}|tojson }} {{ [[], {}]|tojson(indent=1) }}",
    "{{ u|tojson }}",
    "{{ 'x'|attr('upper')() }} {{ users[0]|attr('name') }}",
    # string methods
    "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\n\\na\\n'.lstrip('\\n') }}",
    "{{ 'a,b,,c'.split(',') }} {{ '  a b  c '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '  a  b  '.rsplit(none, 1) }} {{ '  a  b  '.split(none, 1) }} {{ ' a b '.split(none, 0) }}",
    "{{ 'abc'.startswith('a') }} {{ 'abc'.endswith('bc') }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.upper() }} {{ 'ABC'.lower() }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }}",
    "{{ 'abcabc'.find('c') }} {{ 'abcabc'.rfind('c') }} {{ 'abc'.find('z') }} {{ 'aaa'.count('a') }} {{ 'héllo'.find('l') }} {{ '-'.join(['a', 'b']) }} {{ 'a b'.replace(' ', '_') }}",
    "{{ 'x\\ny\\r\\nz'.splitlines() }} {{ 'abc'.removeprefix('a') }} {{ 'abc'.removesuffix('c') }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }}",
    "{{ ''.split(',') }} {{ 'a'.split('') }}",
    "{{ 'x'.nosuchmethod() }}",
    # dict / list methods
    "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list|length }} {{ d.items()|list|first }}",
    "{{ l.count(1) }} {{ l.index(2) }} {{ l.copy() }}",
    "{{ l.append(4) }}",
    "{% set x = dict(a=1, b=2) %}{{ x }} {{ dict(x, c=3) }} {{ dict([('k', 'v')]) }}",
    # whitespace control and trimming
    "a\n  {% if 1 %}\n  x\n  {% endif %}\nb",
    "{% if 1 %}  {% endif %}|x  {#- c -#}  y\n|  {%- if 1 -%}  z  {%- endif -%}  |",
    "  {% raw %}\n{{x}}  {% endraw %}\nz",
    "{{ 1 }}\n{# c #}\n  {%+ if 1 %}a{% endif +%}\nb\n",
    "line1\r\nline2\r{% if 1 %}\r\nx{% endif %}\n\n",
    "{{- '  a  ' -}}\n\n{{ 'b' }}  \n  {{- 'c' }}",
    "  {# comment #}  \n  text  {# c2 #}\nend",
    "\t{% for x in l %}\n\t{{ x }}\n\t{% endfor %}\n",
    "{%- for x in l -%}\n  {{ x }}\n{%- endfor -%}",
    # globals
    "{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j') }}",
    "{{ raise_exception('boom: ' ~ 42) }}",
    "{{ namespace(_x=1) }}",
    "{{ undefined_function() }}",
    "{{ range(10000000) }}",
    # syntax errors
    "{{ 1 + }}",
    "{% if 1 %}unterminated",
    "{% for x in l %}{% endif %}",
    "{{ x is frobnicated }}",
    "{% include 'x' %}",
    "{% frob %}",
    "{{ 'unterminated }}",
    "{# no end",
    "{{ (1, 2 }}",
    "{% endfor %}",
    "{% else %}",
]


@pytest.mark.parametrize("idx", range(len(SYNTHETIC)))
def test_synthetic(lib, idx):
    check_same(lib, SYNTHETIC[idx], [], None, False, **DATA)


# Valid Jinja that this interpreter deliberately does not implement: a clear error, never a
# wrong rendering.
UNSUPPORTED = [
    ("{{ x|wordcount }}", "line 1, column 6: unknown filter 'wordcount'"),
    ("{{ 'x'|center }}", "unknown filter 'center'"),
    ("{{ 'x'.zfill(3) }}", "the str method 'zfill' is not supported"),
    ("{% include 'x' %}", "the 'include' tag is not supported"),
    ("{% for x in l recursive %}{% endfor %}", "recursive for loops are not supported"),
    ("{{ '%s' % 1 }}", "formatting ('%') is not supported"),
    ("{{ 2 ** 100 }}", "integer overflow"),
    ("{{ f(*l) }}", "*args and **kwargs in calls are not supported"),
]


@pytest.mark.parametrize("idx", range(len(UNSUPPORTED)))
def test_unsupported_is_a_clear_error(lib, idx):
    tpl, fragment = UNSUPPORTED[idx]
    with pytest.raises(CRenderError) as e:
        c_render(lib, tpl, [], None, False, **DATA)
    assert fragment in e.value.message, e.value.message
    assert e.value.message.startswith("chat template line ")


def test_error_names_line_and_column(lib):
    tpl = "line one\n{{ x }}\n  {{ y|wordcount }}"
    with pytest.raises(CRenderError) as e:
        c_render(lib, tpl, [])
    assert "chat template line 3, column 8: unknown filter 'wordcount'" in e.value.message
    with pytest.raises(CRenderError) as e:
        c_render(lib, "ab\n{{ u.x }}", [])
    assert "line 2" in e.value.message and "'u' is undefined" in e.value.message


def test_limits_do_not_crash(lib):
    # deep recursion through a self-calling macro, huge output, and long loops fail cleanly
    with pytest.raises(CRenderError) as e:
        c_render(lib, "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", [])
    assert "recursion" in e.value.message
    with pytest.raises(CRenderError) as e:
        c_render(lib, "{% set ns = namespace(s='x') %}{% for i in range(100) %}"
                      "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", [])
    with pytest.raises(CRenderError):
        c_render(lib, "{{ " + "(" * 500 + "1" + ")" * 500 + " }}", [])
