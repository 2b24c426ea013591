#!/usr/bin/env python3
"""Train the small Qwen3.5 (dense) model bundled with boson, with transformers' own Qwen3.5 code.

Input: the token ids written by tools/make_corpus.py (train.npy, valid.npy, tokenizer/).
Output: a Hugging Face checkpoint (config.json, bf16 model*.safetensors, train_log.json;
the tokenizer files stay in --data/tokenizer) that tools/convert_small_model.py turns into MLX checkpoints.

Reproducible: the model init, the batch order and the schedule depend only on --seed and
--steps. With --minutes the script times a few warm-up steps, picks --steps to fill the
budget and prints the value, so that the run can be repeated exactly with --steps.
Runs on CUDA (bf16 autocast) or, slowly, on the CPU (for checking the script with few steps).

  python3 tools/train_small_model.py --data .train --out .train/hf --steps 20        # CPU check
  python3 tools/train_small_model.py --data .train --out $OUT/hf --steps 800         # H100, ~2 min
"""
import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def model_config(vocab_rows, ids):
    from transformers import Qwen3_5TextConfig

    return Qwen3_5TextConfig(
        vocab_size=vocab_rows,
        hidden_size=256,
        intermediate_size=640,
        num_hidden_layers=8,
        full_attention_interval=4,  # layers 3 and 7 are full attention: 3 GDN : 1 attention
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=64,
        linear_num_key_heads=2,
        linear_num_value_heads=4,  # Hv = 2 * Hk
        linear_key_head_dim=64,
        linear_value_head_dim=64,
        linear_conv_kernel_dim=4,
        hidden_act="silu",
        max_position_embeddings=4096,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 10000000.0,
            "partial_rotary_factor": 0.25,
            "mrope_interleaved": True,
            "mrope_section": [3, 3, 2],
        },
        attention_bias=False,
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )


def lr_at(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t))))


def batch(data, gen, bsz, seq, device):
    starts = torch.randint(0, data.numel() - seq - 1, (bsz,), generator=gen)
    idx = starts[:, None] + torch.arange(seq + 1)[None, :]
    chunk = data[idx].to(device, non_blocking=True)
    return chunk[:, :-1], chunk[:, 1:]


def loss_of(model, x, y, amp):
    with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=amp):
        logits = model(input_ids=x).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))


@torch.no_grad()
def heldout_loss(model, valid, seq, bsz, device, amp, max_windows):
    model.eval()
    n = min(max_windows, (valid.numel() - 1) // seq)
    tot, cnt = 0.0, 0
    for i in range(0, n, bsz):
        rows = [valid[j * seq : j * seq + seq + 1] for j in range(i, min(n, i + bsz))]
        chunk = torch.stack(rows).to(device)
        loss = loss_of(model, chunk[:, :-1], chunk[:, 1:], amp)
        tot += loss.item() * chunk.shape[0]
        cnt += chunk.shape[0]
    model.train()
    return tot / max(1, cnt)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=".train")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=0, help="total optimizer steps (0: derive from --minutes)")
    ap.add_argument("--minutes", type=float, default=0.0, help="training time budget when --steps is 0")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--eval-windows", type=int, default=45, help="dev windows of --seq tokens per evaluation")
    ap.add_argument("--log-every", type=int, default=150)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    if args.steps <= 0 and args.minutes <= 0:
        ap.error("give --steps or --minutes")

    data = Path(args.data)
    info = json.loads((data / "corpus_info.json").read_text())
    ids = info["added_token_ids"]
    n_tokens = max(ids.values()) + 1
    vocab_rows = (n_tokens + 63) // 64 * 64  # embedding rows padded to a multiple of 64, as Qwen pads
    train = torch.from_numpy(np.load(data / "train.npy").astype(np.int64))
    valid = torch.from_numpy(np.load(data / "valid.npy").astype(np.int64))
    # The held-out documents are cut in two: the first half ("dev") picks the checkpoint kept,
    # the second half ("test") is only measured at the end and is the loss reported.
    half = valid.numel() // 2
    dev, test = valid[:half], valid[half:]

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device = torch.device(args.device)
    amp = device.type == "cuda"
    if amp:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    from transformers import Qwen3_5ForCausalLM

    cfg = model_config(vocab_rows, ids)
    model = Qwen3_5ForCausalLM(cfg).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print("params: %d (%.2fM), vocab rows %d, device %s" % (n_params, n_params / 1e6, vocab_rows, device), flush=True)

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.95),
        eps=1e-8,
        fused=amp,
    )
    gen = torch.Generator().manual_seed(args.seed)

    steps = args.steps
    t0 = time.time()
    step = 0
    log = []
    best = (float("inf"), 0, None)  # (held-out loss, step, state on the CPU)
    probe = 20  # steps timed to size the run when --minutes is given
    while True:
        if steps and step >= steps:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps or 10**9, args.lr, args.warmup)
        x, y = batch(train, gen, args.batch, args.seq, device)
        loss = loss_of(model, x, y, amp)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if not steps and step == probe:
            if amp:
                torch.cuda.synchronize()
            per = (time.time() - t0) / probe
            steps = max(probe + 1, int(args.minutes * 60 / per * 0.97))
            print("%.3f s/step over %d probe steps -> --steps %d" % (per, probe, steps), flush=True)
            if step >= args.warmup:
                ap.error("warm-up must be longer than the probe")
        if step % args.log_every == 0 or step == 1:
            print("step %d/%s loss %.4f lr %.2e %.0fs" % (step, steps or "?", loss.item(), opt.param_groups[0]["lr"], time.time() - t0), flush=True)
        if step % args.eval_every == 0 or (steps and step == steps):
            hl = heldout_loss(model, dev, args.seq, args.batch, device, amp, args.eval_windows)
            log.append({"step": step, "train_loss": loss.item(), "heldout_loss": hl, "seconds": time.time() - t0})
            if hl < best[0]:  # small corpus, many epochs: keep the checkpoint before over-fitting
                best = (hl, step, {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
            print("step %d dev loss %.4f (ppl %.2f)" % (step, hl, math.exp(hl)), flush=True)
    train_s = time.time() - t0
    if best[2] is not None:
        model.load_state_dict(best[2])
        print("keeping the weights of step %d (dev loss %.4f)" % (best[1], best[0]), flush=True)
    final = heldout_loss(model, test, args.seq, args.batch, device, amp, 10**9)
    print("final held-out (test) loss %.4f (ppl %.2f) over %d tokens; %d steps in %.0f s" % (final, math.exp(final), test.numel(), steps, train_s), flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = model.to(torch.bfloat16)
    model.config.dtype = "bfloat16"
    model.save_pretrained(out, max_shard_size=16_000_000)
    meta = {
        "seed": args.seed,
        "steps": steps,
        "kept_step": best[1],
        "batch": args.batch,
        "seq": args.seq,
        "lr": args.lr,
        "warmup": args.warmup,
        "params": n_params,
        "train_seconds": round(train_s, 1),
        "tokens_seen": steps * args.batch * args.seq,
        "kept_dev_loss": best[0],
        "final_heldout_loss": final,
        "heldout_tokens": int(test.numel()),
        "device": torch.cuda.get_device_name(0) if amp else "cpu",
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "log": log,
    }
    (out / "train_log.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
