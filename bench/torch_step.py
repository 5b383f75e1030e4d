"""The Figure 2 step of ``python -m styletf bench`` written in PyTorch: the peer that the
authors' own code, neural-style-pt and pystiche are written in (issue 15).

VGG19's convolutions up to conv5_1 with average pooling and random (He) weights, an image of
the same pixels as ``bench --size 256`` (192 x 256), content conv4_2, Gram matrices on conv1_1 ..
conv5_1 with the paper's normalisation (eq. 4-5), alpha/beta 1e-3, Adam, clipping to [0, 1]
after each step. The first step is not timed. The last line is ``ms_per_step=<float>``.

PyTorch is not a dependency of styletf: run this with a Python that has it, e.g.
``python -m venv /tmp/torch && /tmp/torch/bin/pip install torch numpy`` (CPU build), then
``/tmp/torch/bin/python bench/torch_step.py --height 192 --width 256 --steps 10``.
``bench/peers.py`` runs it beside ours and the tutorial's step, in turn.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

# (name, in channels, out channels); "pool" between blocks. VGG19 to conv5_1.
VGG19 = [("conv1_1", 3, 64), ("conv1_2", 64, 64), "pool",
         ("conv2_1", 64, 128), ("conv2_2", 128, 128), "pool",
         ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256), "pool",
         ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512), ("conv4_4", 512, 512), "pool",
         ("conv5_1", 512, 512)]
STYLE = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
CONTENT = ["conv4_2"]


def weights(seed: int = 0) -> dict:
    """He-initialised 3x3 kernels (out, in, 3, 3) and zero biases, frozen."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for layer in VGG19:
        if layer == "pool":
            continue
        name, cin, cout = layer
        w = torch.randn(cout, cin, 3, 3, generator=g) * (2.0 / (9 * cin)) ** 0.5
        out[name] = (w, torch.zeros(cout))
    return out


def features(x: torch.Tensor, w: dict) -> dict:
    """x (1, 3, H, W) in [0, 1] -> {layer: (1, C, h, w)} for the content and style layers."""
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    x = (x - mean) / std
    out = {}
    for layer in VGG19:
        if layer == "pool":
            x = F.avg_pool2d(x, 2)
            continue
        name = layer[0]
        x = F.relu(F.conv2d(x, *w[name], padding=1))
        if name in STYLE or name in CONTENT:
            out[name] = x
    return out


def gram(f: torch.Tensor) -> torch.Tensor:
    """(1, C, h, w) -> (C, C): G_ij = sum_k F_ik F_jk (eq. 3)."""
    c = f.shape[1]
    m = f.reshape(c, -1)
    return m @ m.t()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--height", type=int, default=192)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--steps", type=int, default=10)
    args = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    w = weights()
    for t in (t for pair in w.values() for t in pair):
        t.requires_grad_(False)
    h, wd = args.height, args.width
    photo, painting = torch.rand(1, 3, h, wd), torch.rand(1, 3, h, wd)
    with torch.no_grad():
        p_content = {k: v for k, v in features(photo, w).items() if k in CONTENT}
        a_gram = {k: gram(v) for k, v in features(painting, w).items() if k in STYLE}
    x = torch.rand(1, 3, h, wd, requires_grad=True)
    opt = torch.optim.Adam([x], lr=0.05)
    alpha, beta = 1e-3, 1.0

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        f = features(x, w)
        content = sum(0.5 * ((f[k] - p_content[k]) ** 2).sum() for k in CONTENT)  # eq. 1
        style = 0.0
        for k in STYLE:  # eq. 4-5, equal weights w_l = 1/5
            n, m = f[k].shape[1], f[k].shape[2] * f[k].shape[3]
            style = style + ((gram(f[k]) - a_gram[k]) ** 2).sum() / (4 * n * n * m * m) / len(STYLE)
        loss = alpha * content + beta * style  # eq. 7
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0.0, 1.0)
        return float(loss)

    step()  # not timed
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    ms = 1000 * statistics.median(times)
    print(f"PyTorch {torch.__version__} step (Figure 2 objective, avg pooling, to conv5_1), "
          f"{torch.get_num_threads()} threads, {h}x{wd} px, {len(times)} timed steps: median {ms:.1f} ms, "
          f"min {1000 * min(times):.1f} ms")
    print(f"ms_per_step={ms:.3f}")


if __name__ == "__main__":
    main()
