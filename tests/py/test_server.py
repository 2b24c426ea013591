"""`boson serve` against the official OpenAI / Anthropic Python clients and raw HTTP.

A real server process per module on a free loopback port, serving a tiny random fixture
model (its text is gibberish, so these tests check structure and consistency, not meaning).
Prompt token counts are checked against transformers' apply_chat_template on the
fixture's own tokenizer files; everything else against the protocol and against the
server's own answers to equivalent requests (streamed vs not, sequential vs concurrent)."""

import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.py.boson_util import BOSON, FIXTURES

MODEL = FIXTURES / "qwen3_5-affine-q4-g64"
KEY = "sk-test-boson"

pytestmark = pytest.mark.skipif(not (MODEL / "tokenizer.json").is_file(),
                                reason="fixtures not generated (make fixtures)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `boson serve` process on a free loopback port, ready (/health 200) when constructed."""

    def __init__(self, *extra, model=None, threads=1):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would block it
        self.proc = subprocess.Popen([BOSON, "serve", str(model or MODEL), "--port",
                                      str(self.port), "-q", "--threads", str(threads), *extra],
                                     stdout=subprocess.DEVNULL, stderr=self.log,
                                     env={k: v for k, v in os.environ.items()
                                          if k != "BOSON_API_KEY"})
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, self.stderr()
            try:
                st, _, _ = self.request("GET", "/health")
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("server did not become ready")

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def post(self, path, obj, **kw):
        st, h, data = self.request("POST", path, obj, **kw)
        return st, h, json.loads(data) if data else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def srv():
    s = Server("--max-concurrent", "4")
    yield s
    s.stop()
    assert s.proc.returncode == 0, s.stderr()


@pytest.fixture(scope="module")
def client(srv):
    openai = pytest.importorskip("openai")
    return openai.OpenAI(base_url=srv.base + "/v1", api_key="unused", timeout=30, max_retries=0)


@pytest.fixture(scope="module")
def hf_tok():
    transformers = pytest.importorskip("transformers")
    return transformers.AutoTokenizer.from_pretrained(str(MODEL))


MSGS = [{"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Name three prime numbers."}]


def chat(client, **kw):
    args = dict(model="qwen3_5-affine-q4-g64", messages=MSGS, max_tokens=12, temperature=0)
    args.update(kw)
    return client.chat.completions.create(**args)


def stream_text(client, **kw):
    parts, reasoning, finish, usage, roles = [], [], None, None, []
    for ch in chat(client, stream=True, **kw):
        if ch.usage is not None:
            usage = ch.usage
        for c in ch.choices:
            if c.delta.role:
                roles.append(c.delta.role)
            if c.delta.content:
                parts.append(c.delta.content)
            rc = getattr(c.delta, "reasoning_content", None)
            if rc:
                reasoning.append(rc)
            if c.finish_reason:
                finish = c.finish_reason
    return "".join(parts), "".join(reasoning), finish, usage, roles


# ---- basic routes ----

def test_health_and_models(srv, client):
    st, _, body = srv.request("GET", "/health")
    assert st == 200 and json.loads(body)["status"] == "ok"
    models = client.models.list()
    assert [m.id for m in models.data] == ["qwen3_5-affine-q4-g64"]


def test_unknown_route_404(srv):
    st, _, body = srv.request("GET", "/v1/nothing")
    assert st == 404
    assert json.loads(body)["error"]["type"]


# ---- chat ----

def test_chat_non_streaming_shape_and_usage(client, hf_tok):
    r = chat(client)
    assert r.object == "chat.completion"
    assert r.id.startswith("chatcmpl-")
    assert len(r.choices) == 1 and r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason in ("stop", "length")
    ref = hf_tok.apply_chat_template(MSGS, tokenize=True, add_generation_prompt=True)
    ref = ref["input_ids"] if isinstance(ref, dict) or hasattr(ref, "keys") else ref
    assert r.usage.prompt_tokens == len(ref)
    assert 1 <= r.usage.completion_tokens <= 12
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_content_parts_equal_string_content(client):
    a = chat(client, messages=[{"role": "user", "content": "Hello there"}])
    b = chat(client, messages=[{"role": "user", "content": [{"type": "text", "text": "Hello there"}]}])
    assert a.usage.prompt_tokens == b.usage.prompt_tokens
    assert a.choices[0].message.content == b.choices[0].message.content


def test_stream_matches_non_stream(client):
    r = chat(client, max_tokens=16)
    text, reasoning, finish, usage, roles = stream_text(
        client, max_tokens=16, stream_options={"include_usage": True})
    m = r.choices[0].message
    assert roles == ["assistant"]
    assert text == (m.content or "")
    assert reasoning == (getattr(m, "reasoning_content", None) or "")
    assert finish == r.choices[0].finish_reason
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (r.usage.prompt_tokens,
                                                              r.usage.completion_tokens)


def test_greedy_equals_cli(client):
    p = subprocess.run([BOSON, "run", str(MODEL), "Hello", "--temp", "0", "--max-tokens", "12",
                        "-q", "--hide-think"], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    r = chat(client, messages=[{"role": "user", "content": "Hello"}], max_tokens=12)
    assert (r.choices[0].message.content or "").strip() == p.stdout.decode().strip()


def test_max_tokens_gives_length(client):
    for kw in ({"max_tokens": 3}, {"max_completion_tokens": 3, "max_tokens": None}):
        kw = {k: v for k, v in kw.items() if v is not None}
        args = dict(model="qwen3_5-affine-q4-g64", messages=MSGS, temperature=0,
                    logit_bias=None)
        args.pop("logit_bias")
        args.update(kw)
        r = client.chat.completions.create(**args)
        if r.choices[0].finish_reason == "length":
            assert r.usage.completion_tokens == 3
        else:  # the model ended on its own within 3 tokens
            assert r.usage.completion_tokens <= 3


def test_stop_string(client):
    full = chat(client, max_tokens=40).choices[0].message.content or ""
    # a stop string taken from the middle of the greedy answer, ASCII letters only
    cand = [i for i in range(2, len(full) - 3) if full[i:i + 2].isascii() and full[i:i + 2].isalpha()]
    if not cand:
        pytest.skip("greedy answer has no ASCII run to stop on")
    stop = full[cand[0]:cand[0] + 2]
    r = chat(client, max_tokens=40, stop=[stop, "zzzzzz"])
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.content == full[:full.index(stop)]
    text, _, finish, _, _ = stream_text(client, max_tokens=40, stop=stop)
    assert text == full[:full.index(stop)] and finish == "stop"


def test_seed_reproducible(client):
    a = chat(client, temperature=1.0, top_p=0.95, seed=1234, max_tokens=16)
    b = chat(client, temperature=1.0, top_p=0.95, seed=1234, max_tokens=16)
    assert a.choices[0].message.content == b.choices[0].message.content
    assert a.usage.completion_tokens == b.usage.completion_tokens


def test_logprobs_shape(client):
    r = chat(client, logprobs=True, top_logprobs=3, max_tokens=6)
    lp = r.choices[0].logprobs.content
    assert len(lp) == r.usage.completion_tokens
    for e in lp:
        assert e.logprob <= 0
        assert len(e.top_logprobs) == 3
        vals = [t.logprob for t in e.top_logprobs]
        assert vals == sorted(vals, reverse=True)
        # greedy: the sampled token is the most likely one
        assert abs(e.logprob - vals[0]) < 1e-5
        assert bytes(e.bytes).decode("utf-8", "replace") == e.token


def ref_len(hf_tok, msgs, **kw):
    ref = hf_tok.apply_chat_template(msgs, tokenize=True, add_generation_prompt=True, **kw)
    return len(ref["input_ids"] if hasattr(ref, "keys") else ref)


def test_json_mode_and_thinking_accepted(client, hf_tok):
    r = chat(client, response_format={"type": "json_object"}, max_tokens=4)
    plain = chat(client, max_tokens=4)
    assert r.usage.prompt_tokens > plain.usage.prompt_tokens  # instruction added to the prompt
    for flag in (True, False):
        got = chat(client, max_tokens=4,
                   extra_body={"chat_template_kwargs": {"enable_thinking": flag}})
        assert got.usage.prompt_tokens == ref_len(hf_tok, MSGS, enable_thinking=flag)


def test_tools_accepted_and_rendered(client, hf_tok):
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}]
    msgs = [{"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_0", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_0", "content": "sunny"}]
    r = chat(client, messages=msgs, tools=tools, max_tokens=8)
    ref_msgs = json.loads(json.dumps(msgs))
    ref_msgs[1]["tool_calls"][0]["function"]["arguments"] = {"city": "Paris"}
    ref = hf_tok.apply_chat_template(ref_msgs, tools=tools, tokenize=True,
                                     add_generation_prompt=True)
    ref = ref["input_ids"] if hasattr(ref, "keys") else ref
    assert r.usage.prompt_tokens == len(ref)
    assert r.choices[0].finish_reason in ("stop", "length", "tool_calls")


# ---- completions ----

def test_completions_text_and_ids(client, hf_tok):
    prompt = "The quick brown fox"
    ids = hf_tok.encode(prompt, add_special_tokens=False)
    a = client.completions.create(model="qwen3_5-affine-q4-g64", prompt=prompt, max_tokens=8,
                                  temperature=0)
    b = client.completions.create(model="qwen3_5-affine-q4-g64", prompt=ids, max_tokens=8,
                                  temperature=0)
    assert a.object == "text_completion"
    assert a.usage.prompt_tokens == len(ids) == b.usage.prompt_tokens
    assert a.choices[0].text == b.choices[0].text
    parts = []
    for ch in client.completions.create(model="qwen3_5-affine-q4-g64", prompt=ids, max_tokens=8,
                                        temperature=0, stream=True):
        parts.extend(c.text for c in ch.choices)
    assert "".join(parts) == a.choices[0].text
    lp = client.completions.create(model="qwen3_5-affine-q4-g64", prompt=ids, max_tokens=4,
                                   temperature=0, logprobs=2)
    assert len(lp.choices[0].logprobs.token_logprobs) == lp.usage.completion_tokens


def roundtrips(hf_tok, i):
    return hf_tok.encode(hf_tok.decode([i]), add_special_tokens=False) == [i]


def complete(client, ids, n, **kw):
    return client.completions.create(model="qwen3_5-affine-q4-g64", prompt=ids, max_tokens=n,
                                     temperature=0, **kw)


def test_logit_bias_forces_a_token(client, hf_tok):
    ids = hf_tok.encode("The quick brown fox", add_special_tokens=False)
    greedy = complete(client, ids, 1).choices[0].text
    # an ordinary token that is not the greedy choice; +100 makes it win every step
    target = next(i for i in range(500, 0, -1)
                  if roundtrips(hf_tok, i) and hf_tok.decode([i]) != greedy)
    r = complete(client, ids, 3, logit_bias={str(target): 100})
    assert r.choices[0].text == hf_tok.decode([target] * 3)
    c = chat(client, max_tokens=2, logit_bias={str(target): 100},
             extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert (c.choices[0].message.content or "") == hf_tok.decode([target] * 2)


def test_logit_bias_bans_the_greedy_token(client, hf_tok):
    """-100 on the greedy token: the answer becomes the runner-up, which the unbiased
    request's top_logprobs (computed before any bias) names."""
    words = ["The quick brown fox", "Hello there", "Once upon a time", "1 2 3 4", "cats and",
             "In the", "She said", "We will", "A B C", "dogs run"]
    for prompt in words:
        ids = hf_tok.encode(prompt, add_special_tokens=False)
        base = complete(client, ids, 1, logprobs=5)
        g = hf_tok.encode(base.choices[0].text, add_special_tokens=False)
        top = base.choices[0].logprobs.top_logprobs[0]
        # five distinct, whole-character alternatives (byte tokens all read as U+FFFD)
        if len(g) == 1 and roundtrips(hf_tok, g[0]) and len(top) == 5 and \
                not any("\ufffd" in k for k in top):
            break
    else:
        pytest.skip("no prompt whose top tokens are distinct whole characters")
    ranked = sorted(top.items(), key=lambda kv: -kv[1])
    assert ranked[0][0] == base.choices[0].text
    r = complete(client, ids, 1, logit_bias={str(g[0]): -100})
    assert r.choices[0].text != base.choices[0].text
    assert r.choices[0].text == ranked[1][0]


@pytest.mark.parametrize("bias,key", [({"x": 1}, "x"), ({"5": "a"}, "5"), ({"5": 101}, "5"),
                                      ({"5": -100.5}, "5"), ({"-3": 1}, "-3"),
                                      ({"99999": 1}, "99999"), ([5], None)])
def test_logit_bias_invalid_400(srv, bias, key):
    for path, body in (("/v1/chat/completions", {"messages": MSGS}),
                       ("/v1/completions", {"prompt": "hi"})):
        st, _, b = srv.post(path, dict(body, max_tokens=2, logit_bias=bias))
        e = err_of(st, b)
        assert st == 400 and e["param"] == "logit_bias", b
        if key is not None:
            assert f"{key}" in e["message"]


# ---- errors ----

def err_of(st, body):
    assert isinstance(body, dict) and "error" in body, body
    e = body["error"]
    assert set(e) >= {"message", "type", "param", "code"}
    return e


def test_bad_json_400(srv):
    st, _, body = srv.request("POST", "/v1/chat/completions", b'{"messages": [', )
    e = err_of(st, json.loads(body))
    assert st == 400 and "JSON" in e["message"]
    st, _, body = srv.request("POST", "/v1/chat/completions", b'{"messages":"\xff\xfe"}')
    assert st == 400


@pytest.mark.parametrize("field,value", [("max_tokens", "ten"), ("max_tokens", -5),
                                         ("temperature", "hot"), ("top_p", 3),
                                         ("stop", 5), ("seed", 1.5), ("stream", "yes"),
                                         ("messages", {})])
def test_wrong_types_400_name_the_field(srv, field, value):
    body = {"model": "qwen3_5-affine-q4-g64", "messages": MSGS, field: value}
    st, _, b = srv.post("/v1/chat/completions", body)
    e = err_of(st, b)
    assert st == 400 and e["param"] == field and field in e["message"]


@pytest.mark.parametrize("path,extra,param", [
    ("/v1/chat/completions", {"n": 2}, "n"),
    ("/v1/chat/completions", {"stream_options": {"include_usage": True}}, "stream_options"),
    ("/v1/chat/completions", {"top_logprobs": 3}, "top_logprobs"),
    ("/v1/completions", {"n": 3}, "n"),
    ("/v1/completions", {"echo": True}, "echo"),
    ("/v1/completions", {"suffix": "tail"}, "suffix")])
def test_unsupported_options_400(srv, path, extra, param):
    body = {"messages": MSGS} if "chat" in path else {"prompt": "hi"}
    st, _, b = srv.post(path, dict(body, max_tokens=2, **extra))
    e = err_of(st, b)
    assert st == 400 and e["param"] == param and param in e["message"]
    st, _, b = srv.post(path, dict(body, max_tokens=2, n=1))  # n = 1 stays fine
    assert st == 200


def test_bad_messages_400(srv):
    for msgs, param in (([], "messages"), ([{"role": "wizard", "content": "x"}], "messages[0].role"),
                        ([{"role": "user"}], "messages[0].content"),
                        ([{"role": "user", "content": [{"type": "image_url"}]}], "messages[0].content[0]")):
        st, _, b = srv.post("/v1/chat/completions", {"messages": msgs})
        assert st == 400 and err_of(st, b)["param"] == param


def test_unknown_model_400(client):
    import openai
    with pytest.raises(openai.BadRequestError) as ei:
        client.chat.completions.create(model="gpt-9", messages=MSGS, max_tokens=2)
    assert ei.value.body["param"] == "model"


def test_context_overflow_and_many_messages(srv):
    msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": "word " * 3}
            for i in range(10000)]
    st, _, b = srv.post("/v1/chat/completions", {"messages": msgs, "max_tokens": 2})
    assert st == 400 and err_of(st, b)["code"] == "context_length_exceeded"
    deep = {"messages": [{"role": "user", "content": [[[[[[[[[[[[[[]]]]]]]]]]]]]]}]}
    st, _, b = srv.post("/v1/chat/completions", deep)
    assert st == 400
    st, _, b = srv.request("POST", "/v1/chat/completions", b"[" * 5000 + b"]" * 5000)
    assert st == 400


# ---- concurrency, disconnects ----

def test_concurrent_streams_equal_sequential(client):
    prompts = [f"Count to {n}." for n in range(4)]
    seq = [stream_text(client, messages=[{"role": "user", "content": p}], max_tokens=24)[0]
           for p in prompts]
    out = [None] * 4

    def run(i):
        out[i] = stream_text(client, messages=[{"role": "user", "content": prompts[i]}],
                             max_tokens=24)[0]

    ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert out == seq


def metric(srv, name):
    _, _, body = srv.request("GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_disconnect_mid_stream_cancels(srv, client):
    before = metric(srv, "boson_generations_cancelled_total")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    body = json.dumps({"messages": MSGS, "stream": True, "max_tokens": 3000,
                       "temperature": 1.0, "seed": 1}).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    got = b""
    while b"data:" not in got:
        got += s.recv(4096)
    s.close()
    deadline = time.time() + 10
    while metric(srv, "boson_generations_cancelled_total") <= before and time.time() < deadline:
        time.sleep(0.05)
    assert metric(srv, "boson_generations_cancelled_total") == before + 1
    assert metric(srv, "boson_active_sessions") == 0
    r = chat(client, max_tokens=2)  # still serving
    assert r.choices[0].message is not None


def test_disconnect_non_streamed_cancels(srv, client):
    """A suspended, non-streamed request notices its client closing the socket."""
    eos = json.loads((MODEL / "generation_config.json").read_text())["eos_token_id"]
    eos = eos if isinstance(eos, list) else [eos]
    before = metric(srv, "boson_generations_cancelled_total")
    tokens0 = metric(srv, "boson_completion_tokens_total")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    body = json.dumps({"messages": MSGS, "max_tokens": 4000, "temperature": 1.0, "seed": 7,
                       "logit_bias": {str(i): -100 for i in eos}}).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    deadline = time.time() + 10
    while metric(srv, "boson_active_sessions") == 0 and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    s.close()
    deadline = time.time() + 5
    while time.time() < deadline and (metric(srv, "boson_generations_cancelled_total") <= before
                                      or metric(srv, "boson_active_sessions") > 0):
        time.sleep(0.05)
    assert metric(srv, "boson_generations_cancelled_total") == before + 1
    assert metric(srv, "boson_active_sessions") == 0
    assert metric(srv, "boson_completion_tokens_total") - tokens0 < 4000
    r = chat(client, max_tokens=2)  # still serving
    assert r.choices[0].message is not None


def sse_chat(srv, prompt, max_tokens, drop_after=None):
    """Streams a greedy chat over raw HTTP; returns (ids seen, text), or closes the socket
    after drop_after events."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    c.request("POST", "/v1/chat/completions",
              json.dumps({"messages": [{"role": "user", "content": prompt}], "stream": True,
                          "max_tokens": max_tokens, "temperature": 0}))
    r = c.getresponse()
    assert r.status == 200
    ids, text, events = set(), [], 0
    while True:
        line = r.readline()
        if not line:
            break
        if not line.startswith(b"data: "):
            continue
        if line.strip() == b"data: [DONE]":
            break
        ev = json.loads(line[6:])
        ids.add(ev["id"])
        for ch in ev["choices"]:
            text.append(ch["delta"].get("content") or "")
        events += 1
        if drop_after is not None and events >= drop_after:
            c.sock.shutdown(socket.SHUT_RDWR)
            c.close()
            return ids, None
    c.close()
    return ids, "".join(text)


def test_32_streams_half_disconnect(srv):
    prompts = [f"Tell me about {w}." for w in ("cats", "dogs", "owls", "bees")]
    ref = [sse_chat(srv, p, 32)[1] for p in prompts]
    before = metric(srv, "boson_generations_cancelled_total")
    out = [None] * 32

    def run(i):
        out[i] = sse_chat(srv, prompts[i % 4], 32 if i % 2 == 0 else 3000,
                          drop_after=None if i % 2 == 0 else 2)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(32)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(90)
    for i in range(0, 32, 2):
        ids, text = out[i]
        assert len(ids) == 1 and text == ref[i % 4], i
    all_ids = set().union(*(o[0] for o in out))
    assert len(all_ids) == 32
    deadline = time.time() + 30
    while time.time() < deadline and (metric(srv, "boson_active_sessions") > 0 or
                                      metric(srv, "boson_queue_depth") > 0):
        time.sleep(0.1)
    assert metric(srv, "boson_active_sessions") == 0 and metric(srv, "boson_queue_depth") == 0
    assert metric(srv, "boson_generations_cancelled_total") - before == 16


def test_metrics(srv, client):
    n0 = metric(srv, 'boson_requests_total{endpoint="chat_completions"}')
    c0 = metric(srv, "boson_completion_tokens_total")
    r = chat(client, max_tokens=5)
    assert metric(srv, 'boson_requests_total{endpoint="chat_completions"}') == n0 + 1
    assert metric(srv, "boson_completion_tokens_total") == c0 + r.usage.completion_tokens
    _, h, body = srv.request("GET", "/metrics")
    text = body.decode()
    assert "# TYPE boson_ttft_seconds histogram" in text
    assert 'boson_ttft_seconds_bucket{le="+Inf"}' in text
    assert metric(srv, "boson_queue_depth") == 0
    assert metric(srv, "boson_decode_tokens_per_second") > 0


# ---- Anthropic ----

def test_anthropic_messages(srv):
    anthropic = pytest.importorskip("anthropic")
    c = anthropic.Anthropic(base_url=srv.base, api_key="unused", max_retries=0, timeout=30)
    msgs = [{"role": "user", "content": "Say hi"}]
    r = c.messages.create(model="qwen3_5-affine-q4-g64", max_tokens=10, system="Be brief.",
                          messages=msgs, extra_body={"temperature": 0})
    assert r.type == "message" and r.role == "assistant"
    assert r.stop_reason in ("end_turn", "max_tokens")
    n = c.messages.count_tokens(model="qwen3_5-affine-q4-g64", system="Be brief.", messages=msgs)
    assert n.input_tokens == r.usage.input_tokens
    text = "".join(b.text for b in r.content if b.type == "text")
    streamed = []
    with c.messages.stream(model="qwen3_5-affine-q4-g64", max_tokens=10, system="Be brief.",
                           messages=msgs, extra_body={"temperature": 0}) as s:
        for t in s.text_stream:
            streamed.append(t)
        final = s.get_final_message()
    assert "".join(streamed) == text
    assert final.usage.output_tokens == r.usage.output_tokens


def test_anthropic_tool_conversation_renders_like_openai(srv, hf_tok):
    """tool_use / tool_result / thinking blocks become the OpenAI-style messages the chat
    template takes: count_tokens equals transformers' count for the equivalent chat."""
    tools = [{"name": "get_weather", "description": "Weather of a city",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    body = {"model": "qwen3_5-affine-q4-g64", "system": "Be brief.", "tools": tools,
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Need the tool.", "signature": ""},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                     "input": {"city": "Paris"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]}]}
    st, _, b = srv.post("/v1/messages/count_tokens", body)
    assert st == 200, b
    ref_msgs = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": "Checking.", "reasoning_content": "Need the tool.",
                 "tool_calls": [{"id": "toolu_1", "type": "function",
                                 "function": {"name": "get_weather",
                                              "arguments": {"city": "Paris"}}}]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"}]
    ref_tools = [{"type": "function", "function": {"name": t["name"],
                                                   "description": t["description"],
                                                   "parameters": t["input_schema"]}}
                 for t in tools]
    assert b["input_tokens"] == ref_len(hf_tok, ref_msgs, tools=ref_tools)


def test_anthropic_errors(srv):
    st, _, b = srv.post("/v1/messages", {"model": "qwen3_5-affine-q4-g64",
                                         "messages": [{"role": "user", "content": "x"}]})
    assert st == 400 and b["type"] == "error" and "max_tokens" in b["error"]["message"]


# ---- a second server: API key, body limit, queue limit, context, shutdown ----

@pytest.fixture(scope="module")
def small():
    s = Server("--api-key", KEY, "--max-body-mb", "1", "--max-concurrent", "1",
               "--max-queue", "1", "--ctx", "256")
    yield s
    s.stop()


AUTH = {"Authorization": f"Bearer {KEY}"}


def test_api_key(small):
    body = {"messages": MSGS, "max_tokens": 2}
    st, _, b = small.post("/v1/chat/completions", body)
    assert st == 401 and err_of(st, b)["code"] == "invalid_api_key"
    st, _, b = small.post("/v1/chat/completions", body, headers={"Authorization": "Bearer nope"})
    assert st == 401
    st, _, b = small.post("/v1/chat/completions", body, headers=AUTH)
    assert st == 200
    st, _, b = small.post("/v1/chat/completions", body, headers={"x-api-key": KEY})
    assert st == 200
    assert small.request("GET", "/health")[0] == 200  # health needs no key


def test_body_limit_413(small):
    big = json.dumps({"messages": [{"role": "user", "content": "a" * (2 << 20)}]}).encode()
    st, _, b = small.request("POST", "/v1/chat/completions", big, headers=AUTH)
    assert st == 413 and "error" in json.loads(b)
    st, _, b = small.post("/v1/chat/completions", {"messages": MSGS, "max_tokens": 1},
                          headers=AUTH)
    assert st == 200


def test_ctx_limit(small):
    st, _, b = small.post("/v1/chat/completions",
                          {"messages": [{"role": "user", "content": "word " * 400}]},
                          headers=AUTH)
    assert st == 400 and err_of(st, b)["code"] == "context_length_exceeded"
    st, _, b = small.post("/v1/chat/completions", {"messages": MSGS, "max_tokens": 100000,
                                                   "temperature": 0, "stop": None},
                          headers=AUTH)
    assert st == 200 and b["usage"]["prompt_tokens"] + b["usage"]["completion_tokens"] <= 256


def test_burst_gets_503_with_retry_after(small):
    results = []
    lock = threading.Lock()

    def run():
        st, h, _ = small.request("POST", "/v1/chat/completions",
                                 {"messages": MSGS, "max_tokens": 200, "temperature": 1.0,
                                  "seed": 3}, headers=AUTH)
        with lock:
            results.append((st, h))

    ts = [threading.Thread(target=run) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    codes = sorted(st for st, _ in results)
    assert len(codes) == 6 and set(codes) <= {200, 503}
    assert codes.count(200) >= 2 and codes.count(503) >= 1
    assert all(h.get("Retry-After") for st, h in results if st == 503)


def test_sigterm_graceful_during_stream(small):
    c = http.client.HTTPConnection("127.0.0.1", small.port, timeout=20)
    c.request("POST", "/v1/chat/completions",
              json.dumps({"messages": MSGS, "stream": True, "max_tokens": 200,
                          "temperature": 1.0, "seed": 5}), headers=AUTH)
    r = c.getresponse()
    assert r.status == 200
    r.readline()
    small.proc.send_signal(signal.SIGTERM)
    rest = r.read()  # the stream ends cleanly (no hang)
    assert rest.endswith(b"data: [DONE]\n\n")
    small.proc.wait(timeout=10)
    assert small.proc.returncode == 0, small.stderr()
