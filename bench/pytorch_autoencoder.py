#!/usr/bin/env python3
"""PyTorch eager timing of the seisdec seed autoencoder (the reference design's stack).

Trains the same autoencoder as bench/peers/tfjs_autoencoder.ts and seisdec (LeakyReLU 0.02
after every layer, MSE, Adam lr 1e-3) at batch 64 and 256, and times encoder inference at
batch 256. One step = forward + backward + Adam. Warm-up steps run outside the timed region.
Two timings per batch: the median of >= 5 steps run one at a time (on CUDA each ends with
torch.cuda.synchronize(), so its GPU work is inside it), and the steady state of bursts of 50
steps queued back to back with one synchronize at the end (CUDA's asynchronous launches overlap
Python with the GPU, as a training loop does; seisdec likewise keeps steps in flight). The
reported figure is the faster of the two. On CUDA everything is timed twice: with PyTorch's
defaults (cuDNN may use TF32 for convolutions) and with TF32 off ("pytorch cuda fp32" rows,
strict f32 like seisdec).

    python3 bench/pytorch_autoencoder.py --out-dir bench/results   # pytorch-<gpu slug>-<hash>.json
    python3 bench/pytorch_autoencoder.py --device cpu --batches 64 --steps 5
    python3 bench/pytorch_autoencoder.py --device cpu --batches 64 --no-encode --burst 5 --min-s 2 --out f.json

The peers bench (bench/peers/pytorch.ts) runs it the last way for its "pytorch cpu" rows.

The JSON has the schema of bench/_results.ts (bench, adapter, deno, date, figures), so
`deno task bench:report` puts it beside the Deno benches; `adapter.description` is the
CUDA device name (or "cpu"), the column it lands in.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import statistics
import sys
import time

import torch
from torch import nn

SLOPE = 0.02
INPUT_HW = (87, 67)


class SeedAutoencoder(nn.Module):
    """Input [N, 1, 87, 67] -> latent [N, 9] -> [N, 1, 87, 67]; 218,250 parameters."""

    def __init__(self):
        super().__init__()
        chans = [1, 8, 16, 32, 64, 128]
        self.enc = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1) for i in range(5)
        )
        self.latent = nn.Linear(1152, 9)
        self.d0 = nn.Linear(9, 1152)
        dec = [(128, 64, (1, 1)), (64, 32, (0, 1)), (32, 16, (0, 1)), (16, 8, (1, 0)), (8, 1, (1, 1))]
        self.dec = nn.ModuleList(
            nn.ConvTranspose2d(i, o, 3, stride=2, padding=p) for i, o, p in dec
        )
        self.act = nn.LeakyReLU(SLOPE)

    def encode(self, x, shapes=None):
        h = x
        for i, conv in enumerate(self.enc):
            h = self.act(conv(h))
            if shapes is not None:
                shapes.append((f"e{i}", tuple(h.shape)))
        z = self.act(self.latent(h.flatten(1)))
        if shapes is not None:
            shapes.append(("e5", tuple(z.shape)))
        return z

    def forward(self, x, shapes=None):
        z = self.encode(x, shapes)
        h = self.act(self.d0(z)).view(-1, 128, 3, 3)
        if shapes is not None:
            shapes.append(("d0", tuple(h.shape)))
        for i, conv in enumerate(self.dec):
            h = self.act(conv(h))
            if shapes is not None:
                shapes.append((f"d{i + 1}", tuple(h.shape)))
        out = h[:, :, 1:-1, 1:-1]
        if shapes is not None:
            shapes.append(("crop", tuple(out.shape)))
        return out


EXPECTED_SHAPES = [
    ("e0", (2, 8, 44, 34)), ("e1", (2, 16, 22, 17)), ("e2", (2, 32, 11, 9)),
    ("e3", (2, 64, 6, 5)), ("e4", (2, 128, 3, 3)), ("e5", (2, 9)), ("d0", (2, 128, 3, 3)),
    ("d1", (2, 64, 5, 5)), ("d2", (2, 32, 11, 9)), ("d3", (2, 16, 23, 17)),
    ("d4", (2, 8, 45, 35)), ("d5", (2, 1, 89, 69)), ("crop", (2, 1, 87, 67)),
]


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def burst_size(burst, min_s, warm):
    """Steps per burst: at least `burst`, and enough to last `min_s` seconds at the pace of the
    last warm-up step (`warm` seconds), as the Deno benches' timedSteps does."""
    if min_s > 0 and warm > 0:
        return max(burst, math.ceil(min_s / warm))
    return burst


def time_train(model, device, batch, steps, warmup, burst=50, min_s=0.0):
    """Seconds of one forward + backward + Adam step: the median of steps run one at a time
    (synchronised after each), and the steady-state time per step of bursts."""
    gen = torch.Generator(device="cpu").manual_seed(7)
    x = torch.rand(batch, 1, *INPUT_HW, generator=gen).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), x)
        loss.backward()
        opt.step()
        return loss

    warm = 0.0
    for _ in range(warmup):
        t0 = time.perf_counter()
        loss = step()
        sync(device)
        warm = time.perf_counter() - t0
        if not torch.isfinite(loss).item():
            raise RuntimeError(f"loss is not finite: {loss.item()}")
    burst = burst_size(burst, min_s, warm)
    times = []
    for _ in range(steps):
        sync(device)
        t0 = time.perf_counter()
        step()
        sync(device)
        times.append(time.perf_counter() - t0)
    # Steady state, as a training loop runs: `burst` steps queued back to back (CUDA launches
    # are asynchronous, so the host's Python overhead overlaps the GPU's work), one sync at
    # the end. Repeated 3 times; the median time per step.
    bursts = []
    for _ in range(3):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(burst):
            step()
        sync(device)
        bursts.append((time.perf_counter() - t0) / burst)
    return statistics.median(times), statistics.median(bursts)


@torch.no_grad()
def time_infer(model, device, batch, steps, warmup, burst=50, min_s=0.0):
    """Seconds of one encoder call: the median of calls run one at a time (synchronised after
    each), and the steady-state time per call of bursts (as seisdec times its passes, several
    in flight)."""
    gen = torch.Generator(device="cpu").manual_seed(8)
    x = torch.rand(batch, 1, *INPUT_HW, generator=gen).to(device)
    warm = 0.0
    for _ in range(warmup):
        t0 = time.perf_counter()
        model.encode(x)
        sync(device)
        warm = time.perf_counter() - t0
    burst = burst_size(burst, min_s, warm)
    times = []
    for _ in range(steps):
        sync(device)
        t0 = time.perf_counter()
        model.encode(x)
        sync(device)
        times.append(time.perf_counter() - t0)
    bursts = []
    for _ in range(3):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(burst):
            model.encode(x)
        sync(device)
        bursts.append((time.perf_counter() - t0) / burst)
    return statistics.median(times), statistics.median(bursts)


def adapter_file_stem(name):
    """The adapter part of a result file's name, as lib/gpu/device.ts's adapterFileStem gives it:
    the slug (lower case, runs of other characters as one '-', cut at 60) and FNV-1a (32 bits)
    of the UTF-8 name, e.g. 'nvidia-h100-80gb-hbm3-4bc2c3d8'."""
    slug = re.sub(r"^-+|-+$", "", re.sub(r"[^a-z0-9]+", "-", name.lower()))
    slug = slug[:60].rstrip("-") or "unknown"
    h = 0x811C9DC5
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return f"{slug}-{h:08x}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the figures as JSON to this path")
    ap.add_argument("--out-dir", help="write them to DIR/pytorch-<device slug>-<hash>.json, "
                    "named as the Deno benches name theirs")
    ap.add_argument("--device", default=None, help="cuda, cuda:1 or cpu (default: cuda if available)")
    ap.add_argument("--batches", default="64,256", help="training batch sizes (default 64,256)")
    ap.add_argument("--infer-batch", type=int, default=256, help="encoder batch (default 256)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps, >= 5 (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed warm-up steps (default 3)")
    ap.add_argument("--burst", type=int, default=50,
                    help="steps per steady-state burst, >= 1 (default 50; three bursts are timed)")
    ap.add_argument("--min-s", type=float, default=0.0,
                    help="least seconds per burst, at the last warm-up step's pace (default 0)")
    ap.add_argument("--no-encode", action="store_true", help="do not time encoder inference")
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU threads of PyTorch's intra-op pool (default: PyTorch's own choice)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-fp32", action="store_true",
                    help="on CUDA, skip the second pass with TF32 off (strict f32 convolutions)")
    args = ap.parse_args(argv)
    if args.steps < 5:
        ap.error(f"--steps must be >= 5: current value is {args.steps}")
    if args.burst < 1:
        ap.error(f"--burst must be >= 1: current value is {args.burst}")
    if args.threads is not None:
        if args.threads < 1:
            ap.error(f"--threads must be >= 1: current value is {args.threads}")
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(args.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    model = SeedAutoencoder().to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params:,}")
    if n_params != 218250:
        raise SystemExit(f"Cannot time the autoencoder: expected 218,250 parameters: found {n_params:,}")
    shapes = []
    with torch.no_grad():
        model(torch.zeros(2, 1, *INPUT_HW, device=device), shapes)
    if shapes != EXPECTED_SHAPES:
        raise SystemExit(f"Cannot time the autoencoder: layer shapes differ: {shapes}")

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    label = f"pytorch {'cuda' if device.type == 'cuda' else 'cpu'}"
    extra_common = {"torch": torch.__version__, "device": str(device)}
    if device.type == "cpu":
        extra_common["threads"] = torch.get_num_threads()
        extra_common["mkldnn"] = torch.backends.mkldnn.is_available()
    print(f"device: {name}; torch {torch.__version__}; {args.warmup} warm-up + median of {args.steps}")

    figures = []
    h, w = INPUT_HW

    def time_all(label):
        extra = {**extra_common}
        if device.type == "cuda":
            extra["cudnnTf32"] = torch.backends.cudnn.allow_tf32
            extra["matmulTf32"] = torch.backends.cuda.matmul.allow_tf32
        for batch in [int(b) for b in args.batches.split(",")]:
            # A fresh model per batch so every row starts from the same weights.
            torch.manual_seed(args.seed)
            m = SeedAutoencoder().to(device)
            alone, steady = time_train(m, device, batch, args.steps, args.warmup, args.burst,
                                      args.min_s)
            # The figure is the faster of the two ways (steady state, normally): the peer at its best.
            sec = min(alone, steady)
            print(f"{label} train batch {batch}: {batch / sec:,.1f} samples/s ({sec * 1000:.2f} ms/step; "
                  f"one at a time {alone * 1000:.2f} ms, steady state {steady * 1000:.2f} ms)")
            figures.append({
                "name": f"{label} train", "shape": f"x [{batch}, 1, {h}, {w}]",
                "value": batch / sec, "unit": "samples/s",
                "extra": {**extra, "medianStepMs": alone * 1000, "steadyStepMs": steady * 1000},
            })
        if args.no_encode:
            return
        alone, steady = time_infer(model, device, args.infer_batch, args.steps, args.warmup,
                                   args.burst, args.min_s)
        sec = min(alone, steady)
        print(f"{label} encode batch {args.infer_batch}: {args.infer_batch / sec:,.1f} samples/s "
              f"({sec * 1000:.2f} ms; one at a time {alone * 1000:.2f} ms, steady state "
              f"{steady * 1000:.2f} ms)")
        figures.append({
            "name": f"{label} encode", "shape": f"x [{args.infer_batch}, 1, {h}, {w}]",
            "value": args.infer_batch / sec, "unit": "samples/s",
            "extra": {**extra, "medianInferMs": alone * 1000, "steadyInferMs": steady * 1000},
        })

    # PyTorch's defaults first: on Ampere and later cuDNN may run convolutions in TF32 on the
    # tensor cores (torch.backends.cudnn.allow_tf32 is True by default), 10 mantissa bits where
    # seisdec computes in full f32. Then, on CUDA, the like-for-like rows with TF32 off
    # ("pytorch cuda fp32 ..."); the closing comparison should name which one it uses.
    time_all(label)
    if device.type == "cuda" and not args.no_fp32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        time_all(f"{label} fp32")

    if args.out_dir and not args.out:
        args.out = os.path.join(args.out_dir, f"pytorch-{adapter_file_stem(name)}.json")
    if args.out:
        result = {
            "bench": "pytorch",
            "adapter": {"description": name, "backend": "cuda" if device.type == "cuda" else "cpu"},
            # Same keys as Deno.version so bench:report reads it; here: Python and torch.
            "deno": {"deno": f"python {platform.python_version()}", "v8": "", "typescript": "",
                     "torch": torch.__version__},
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "figures": figures,
        }
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        tmp = f"{args.out}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        os.replace(tmp, args.out)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
