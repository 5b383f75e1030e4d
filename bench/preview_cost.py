"""What the live preview costs a run (issue 17): the time of one redraw of ``watch.Preview`` (the
picture and the loss curves as a PNG), at several sizes, and what that is per second of run at
its interval (one redraw every 5 s). The notebook's front end receives the PNG; sending is not
timed here (it happens on the kernel's I/O thread).

    python bench/preview_cost.py
"""
import statistics
import time

import IPython.display
import numpy as np

from styletf import watch
from styletf.benchmark import machine


class _Handle:
    def update(self, obj):
        self.shown = obj


def main() -> None:
    IPython.display.display = lambda *a, **k: _Handle()  # no front end here: keep what would be sent
    history = {k: [np.array([1e6 / (i + 1)]) for i in range(300)] for k in ("total", "content", "style", "tv")}
    print(f"machine: {machine()}")
    print("| image | redraw (median of 10) | share of a run at one redraw per 5 s |\n|---|---|---|")
    for side in (128, 256, 512):
        image = np.random.default_rng(0).random((1, side * 3 // 4, side, 3)).astype(np.float32)
        preview = watch.Preview("bench", interval=0)
        times = []
        for _ in range(10):
            t = time.perf_counter()
            preview.update(image, history)
            times.append(time.perf_counter() - t)
        ms = 1000 * statistics.median(times)
        print(f"| {side * 3 // 4}x{side} | {ms:.0f} ms | {ms / 5000:.1%} |")


if __name__ == "__main__":
    main()
