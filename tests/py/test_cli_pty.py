"""boson chat in a pseudo-terminal, driven like a person would: two turns, Ctrl-C in the middle
of an answer (the session must stay usable), /reset, Ctrl-D. And text generation through the
chat template compared with mlx-lm's own generate on the bundled (trained) model."""

import os
import pty
import select
import signal
import time
from pathlib import Path

import pytest

from boson_util import BOSON, ROOT, run_boson

MODEL = ROOT / "models" / "boson-tiny-4bit"


class Pty:
    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child
            os.execv(argv[0], argv)
        self.buf = b""

    def read_until(self, pred, timeout=60.0):
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    return pred(self.buf)
                if not data:
                    break
                self.buf += data
            if pred(self.buf):
                return True
        return pred(self.buf)

    def send(self, data):
        os.write(self.fd, data)

    def wait(self, timeout=30.0):
        end = time.time() + timeout
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:
                select.select([self.fd], [], [], 0.2)
                os.read(self.fd, 65536)
            except OSError:
                time.sleep(0.1)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        return None


@pytest.fixture
def chat():
    # a long, sampled answer so Ctrl-C lands mid-generation
    p = Pty([BOSON, "chat", str(MODEL), "--no-think", "--temp", "1.0", "--seed", "5",
             "--ignore-eos", "--max-tokens", "100000",
             "--threads", "1"])
    yield p
    try:
        os.kill(p.pid, signal.SIGKILL)
        os.waitpid(p.pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _prompt_count(buf):
    return buf.count(b"> ")


def _interrupted_turn(chat, text):
    """Sends a message, lets the (endless: --ignore-eos) answer stream, then Ctrl-C."""
    n = _prompt_count(chat.buf)
    mark = len(chat.buf)
    chat.send(text + b"\r")
    assert chat.read_until(lambda b: len(b) > mark + 300), chat.buf[-800:]
    chat.send(b"\x03")
    assert chat.read_until(lambda b: b"[stopped]" in b[mark:] and _prompt_count(b) > n), \
        chat.buf[-800:]
    return chat.buf[mark:]


def test_chat_turns_ctrl_c_reset_ctrl_d(chat):
    assert chat.read_until(lambda b: b"> " in b), chat.buf[-500:]
    first = _interrupted_turn(chat, b"Tell me a long story about Elizabeth and Mr. Darcy.")
    assert b"prefix reused" not in first
    # the session is still usable after the cancellation; the second turn extends the first
    _interrupted_turn(chat, b"Go on, tell me more.")
    # /reset forgets the conversation: the next answer starts from an empty session
    n = _prompt_count(chat.buf)
    chat.send(b"/reset\r")
    assert chat.read_until(lambda b: _prompt_count(b) > n), chat.buf[-800:]
    after = _interrupted_turn(chat, b"Who wrote Emma?")
    assert b"prefix reused" not in after
    chat.send(b"\x04")  # Ctrl-D exits
    assert chat.wait() == 0


@pytest.mark.parametrize("variant", ["boson-tiny-4bit", "boson-tiny-bf16"])
@pytest.mark.parametrize("question", ["Who wrote Emma?", "Tell me about Mr. Darcy.",
                                      "What did God say unto Moses?"])
def test_chat_text_equals_mlx_lm_generate(variant, question):
    """The whole text path (chat template, tokenizer, forward, greedy decode, detokenizer,
    reasoning split) against mlx-lm's generate with the model cast to float32."""
    import mlx.core as mx
    from mlx.utils import tree_map
    from mlx_lm import load
    from mlx_lm.generate import generate
    from mlx_lm.sample_utils import make_sampler

    model_dir = ROOT / "models" / variant
    model, tok = load(str(model_dir))
    model.update(tree_map(lambda a: a.astype(mx.float32)
                          if mx.issubdtype(a.dtype, mx.floating) else a, model.parameters()))
    msgs = [{"role": "user", "content": question}]
    prompt = tok.apply_chat_template(msgs, add_generation_prompt=True, enable_thinking=False)
    n = 40
    ref = generate(model, tok, prompt, max_tokens=n, sampler=make_sampler(temp=0.0))
    p = run_boson("run", model_dir, question, "--temp", "0", "--no-think", "--max-tokens", n,
                  "--quiet", check=True)
    # mlx-lm stops at the eos ids too; its text excludes the stop token
    assert p.stdout.strip() == ref.strip()
