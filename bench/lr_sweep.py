"""Choose Adam's default learning rate by measurement (images in [0, 1]).

For each learning rate, runs the three kinds of synthesis of the paper on the
offline stand-in at a small size and prints one line each:
- content reconstruction from conv1_1 and from conv4_1: PSNR to the photo (dB);
- style reconstruction on conv1_1..conv5_1: how many times the style loss fell;
- transfer (Fig. 2 objective, alpha/beta = 1e-3): the final total loss.

    python bench/lr_sweep.py --size 128 --steps 200 --lrs 0.005,0.01,0.02,0.05,0.1
"""
import argparse
import platform

import styletf  # first: it quiets TensorFlow's start-up lines (styletf.quiet)

import tensorflow as tf



def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lrs", default="0.005,0.01,0.02,0.05,0.1")
    p.add_argument("--backbone", default="vgg16-hed")
    a = p.parse_args()
    print(f"# {platform.processor() or platform.machine()}, TF {tf.__version__}, backbone {a.backbone}, "
          f"{a.size} px, {a.steps} steps")
    photo = styletf.load_image("neckarfront", a.size)
    painting = styletf.load_image("starry_night", a.size)
    common = dict(steps=a.steps, backbone=a.backbone, progress=False, seed=0)
    print("lr      psnr_conv1_1  psnr_conv4_1  style_drop_x  transfer_total")
    for lr in [float(v) for v in a.lrs.split(",")]:
        c1 = styletf.synthesize(content=photo, content_layers=["conv1_1"], learning_rate=lr, **common)
        c4 = styletf.synthesize(content=photo, content_layers=["conv4_1"], learning_rate=lr, **common)
        s = styletf.synthesize(style=painting, learning_rate=lr, **common)
        t = styletf.synthesize(content=photo, style=painting, learning_rate=lr, **common)
        drop = s.history["style"][0, 0] / s.final["style"][0]
        print(f"{lr:<7g} {styletf.psnr(c1.image, photo)[0]:12.2f}  {styletf.psnr(c4.image, photo)[0]:12.2f}"
              f"  {drop:12.0f}  {t.final['total'][0]:14.4g}", flush=True)


if __name__ == "__main__":
    main()
