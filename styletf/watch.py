"""Watch it paint: the image emerging from white noise, live in a notebook and as a movie.

Not in the paper, which shows only end points; the synthesis it describes (docs/method.md,
"Synthesis") is an optimisation whose path is worth seeing. ``Preview`` redraws the current
image and the loss curves in place while a run goes on; ``optimize`` starts one by itself
whenever a progress bar is shown in a notebook front end (Jupyter, Colab). ``Movie`` keeps a frame
every few steps and writes an animated GIF (notebooks 01-03; ``stylize --movie``).
"""
from __future__ import annotations

import io
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import InputError, check_mapping, check_number, check_path, check_sequence, check_setting
from .images import to_uint8
from .places import atomic_write, writable

__all__ = ["Movie", "Preview", "in_notebook", "explore"]


def mp4_writer():
    """``imageio_ffmpeg.write_frames``, or an InputError saying how to get it (checked before a run
    by ``stylize --movie x.mp4``). Not in the paper, nor in a notebook (they write GIFs)."""
    try:
        from imageio_ffmpeg import write_frames
    except ImportError:
        raise InputError("an MP4 movie needs imageio-ffmpeg (it brings ffmpeg): pip install imageio-ffmpeg; "
                         "or write the movie as .gif") from None
    return write_frames


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, Colab), where a front end can show
    images; False on the command line, in scripts and in plain IPython. Not in the paper:
    notebook 01 shows the first live preview."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _frame(image, index: int = 0, name: str = "image") -> np.ndarray:
    """(B, H, W, 3) or (H, W, 3) in [0, 1] -> (H, W, 3) uint8."""
    a = np.asarray(image)
    if a.ndim == 4 and not index < len(a):
        raise InputError(f"index {index} is beyond the batch of {len(a)} image(s); use 0 to {len(a) - 1}")
    return to_uint8(a[index] if a.ndim == 4 else a, name=name)


class Movie:
    """A movie of a synthesis, from white noise to the result: a callback keeping image ``index``
    every ``every`` steps (``synthesize(callback=movie)``, ``coarse_to_fine(callback=movie)``, or
    ``stylize(snapshot=movie, snapshot_every=...)``), at most ``max_frames`` (then every other
    one is dropped and ``every`` doubles). Not in the paper: notebooks 01-03; ``stylize --movie``.
    """

    def __init__(self, every: int = 5, index: int = 0, max_frames: int = 120):
        self.every = check_setting("snapshot_every", every, "every")
        self.index = check_number("index", index, integer=True, maximum=4095)  # image index in a batch
        self.max_frames = check_number("max_frames", max_frames, integer=True, minimum=2, maximum=10**4)
        self.frames: list[np.ndarray] = []  # (H, W, 3) uint8 each; sizes grow coarse to fine
        self._calls = 0

    def __call__(self, step, image, losses=None) -> bool:
        """A step's callback (``step``, image (B, H, W, 3), losses); never stops the run. Not in
        the paper; notebook 01."""
        self._calls += 1
        if self._calls == 1 or self._calls % self.every == 0:
            self.add(image)
        return False

    def add(self, image) -> None:
        """Keep ``image`` ((B, H, W, 3) or (H, W, 3) in [0, 1]) as the next frame. Not in the
        paper; notebook 01."""
        self.frames.append(_frame(image, self.index))
        if len(self.frames) > self.max_frames:  # every other one goes; the first and the newest stay
            self.frames = self.frames[::2] + ([self.frames[-1]] if len(self.frames) % 2 == 0 else [])
            self.every *= 2

    def _pictures(self, max_side, even: bool = False) -> list:
        """The frames as PIL images of the last frame's size (or ``max_side`` px on the long side;
        ``even``: both sides even, as H.264 needs)."""
        if not self.frames:
            raise InputError("the movie has no frames: pass it as the callback of a synthesis first")
        h, w = self.frames[-1].shape[:2]
        if max_side:
            max_side = check_setting("size", max_side, "max_side")
            if max(h, w) > max_side:
                h, w = max(1, round(h * max_side / max(h, w))), max(1, round(w * max_side / max(h, w)))
        if even:
            h, w = h + h % 2, w + w % 2
        return [Image.fromarray(f).resize((w, h), Image.BILINEAR) if f.shape[:2] != (h, w)
                else Image.fromarray(f) for f in self.frames]

    def gif(self, seconds: float = 4.0, hold: float = 1.5, max_side: int | None = None) -> bytes:
        """The frames as an animated GIF (looping), each resized to the last one's size (or to
        ``max_side`` px on the long side), in about ``seconds``, the last frame held ``hold``
        seconds longer. Not in the paper; notebook 01."""
        images = self._pictures(max_side)
        seconds, hold = check_number("seconds", seconds, positive=True, maximum=3600), check_number("hold", hold, maximum=3600)
        step_ms = max(20, int(1000 * seconds / len(images)))
        durations = [step_ms] * (len(images) - 1) + [step_ms + int(1000 * hold)]
        buffer = io.BytesIO()
        images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations,
                       loop=0, optimize=False)
        return buffer.getvalue()

    def mp4(self, path: str | os.PathLike, seconds: float = 4.0, hold: float = 1.5, max_side: int | None = None) -> Path:
        """Write the frames as an H.264 MP4 (``imageio-ffmpeg``, which brings ffmpeg: ``pip install
        imageio-ffmpeg``), timed as ``gif``, atomically. Not in the paper, nor in a notebook (they
        show GIFs): ``stylize --movie x.mp4``."""
        writer = mp4_writer()
        path = writable(path)
        images = self._pictures(max_side, even=True)
        seconds, hold = check_number("seconds", seconds, positive=True, maximum=3600), check_number("hold", hold, maximum=3600)
        fps = min(50.0, max(1.0, len(images) / seconds))
        images += [images[-1]] * round(hold * fps)  # the result, held
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.mp4")
        try:
            gen = writer(str(tmp), images[0].size, fps=fps, quality=8, macro_block_size=2, ffmpeg_log_level="error")
            gen.send(None)
            for image in images:
                gen.send(np.ascontiguousarray(np.asarray(image)))
            gen.close()
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    def save(self, path: str | os.PathLike, **kwargs) -> Path:
        """Write the movie to ``path`` atomically: an animated GIF (``.gif``) or an MP4 (``.mp4``,
        needs ``imageio-ffmpeg``); returns the path. Not in the paper; notebook 01, ``stylize --movie``."""
        path = check_path("path", path)
        if path.suffix.lower() == ".mp4":
            return self.mp4(path, **kwargs)
        if path.suffix.lower() != ".gif":
            raise InputError(f"a movie is written as an animated GIF or an MP4: {path} must end in .gif or .mp4")
        return atomic_write(path, self.gif(**kwargs))

    def end(self, image, path: str | os.PathLike) -> Path:
        """Add the final ``image`` and write the movie (GIF or MP4) to ``path``. Not in the paper; notebook 01,
        ``stylize --movie``."""
        self.add(image)
        return self.save(path)

    def show(self, **kwargs):
        """The GIF for a notebook cell (``IPython.display.Image``). Not in the paper; notebook 01."""
        from IPython.display import Image as ShownImage
        return ShownImage(data=self.gif(**kwargs), format="gif")


class Preview:
    """The current image and the loss curves, redrawn in place in a notebook at most every
    ``interval`` seconds (a redraw takes about 0.1 s: about 2% of a run, bench/RESULTS.md).
    Not in the paper: started by ``optimize`` in notebooks, first seen in notebook 01."""

    def __init__(self, title: str, interval: float = 5.0):
        from IPython.display import display
        self.title, self.interval, self.last = title, interval, 0.0
        self.handle = display(Image.new("RGB", (1, 1), "white"), display_id=True)

    def update(self, x, history: dict, force: bool = False) -> None:
        """Redraw from the image ``x`` (B, H, W, 3) and the losses so far ({term: [(B,), ...]}).
        Not in the paper; notebook 01."""
        now = time.perf_counter()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        from matplotlib.figure import Figure  # no pyplot: nothing left for the cell to show
        fig = Figure(figsize=(8, 3))
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
        left.imshow(_frame(x.numpy() if hasattr(x, "numpy") else x), interpolation="bilinear")
        left.set_axis_off()
        left.set_title(f"{self.title}, step {len(history['total'])}", fontsize=9)
        for term in ("total", "content", "style"):
            values = [float(np.sum(v)) for v in history[term]]
            if values and max(values) > 0:
                right.semilogy(values, label=term)
        right.set_xlabel("step")
        right.legend(fontsize=8)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        from IPython.display import Image as ShownImage
        self.handle.update(ShownImage(data=buffer.getvalue()))

    def close(self) -> None:
        """Take the preview away when the run ends (the notebook then shows its figure). Not in
        the paper; notebook 01."""
        from IPython.display import HTML
        self.handle.update(HTML(""))


def _shown(choice, name: str = "choice") -> tuple[bytes, str]:
    """(bytes, format) of a choice: a Movie as a GIF (256 px), an image as a PNG."""
    if isinstance(choice, Movie):
        return choice.gif(max_side=256), "gif"
    buffer = io.BytesIO()
    Image.fromarray(_frame(choice, name=name)).save(buffer, format="PNG")
    return buffer.getvalue(), "png"


def explore(choices: dict, names=("choice",)):
    """Sliders over already computed results: ``choices`` maps a key - one value, or a tuple with
    one value per name in ``names`` - to an image ((1, H, W, 3) or (H, W, 3)) or a ``Movie``; one
    slider per name picks the key, and the matching image shows (nothing is recomputed). Every
    image is in the widget and the sliders are linked in the browser (``jslink`` to nested
    ``Stack``s), so it works without a kernel too, e.g. in an exported page. Without ipywidgets,
    or before ipywidgets 8, returns None: the notebook's static figure stands. Not in the paper: the layers of Figure 1
    (notebooks 01, 02), the grid of Figure 3 (notebook 04)."""
    try:
        import ipywidgets as widgets
    except ImportError:
        return None
    if not hasattr(widgets, "Stack"):  # ipywidgets 7
        return None
    check_mapping("choices", choices, example="{('conv1_1', 1e-3): image}")
    names = check_sequence("names", names, what="of slider names, e.g. ('layers', 'alpha/beta')")
    keys = [k if isinstance(k, tuple) else (k,) for k in choices]
    if not names or any(len(k) != len(names) for k in keys):
        raise InputError(f"every key of choices must hold one value per name in names {tuple(names)}, "
                         f"e.g. {tuple(names)!r} -> image; got key {keys[0]!r:.60}")
    table = dict(zip(keys, choices.values()))
    options = [list(dict.fromkeys(k[i] for k in keys)) for i in range(len(names))]
    sliders = [widgets.SelectionSlider(options=[(str(v), v) for v in values], description=str(name),
                                       style={"description_width": "initial"}, layout={"width": "420px"})
               for name, values in zip(names, options)]

    def picture(key):
        if key not in table:
            return widgets.HTML("(not computed)")
        value, fmt = _shown(table[key], f"choices[{key[0] if len(key) == 1 else key!r}]")
        return widgets.Image(value=value, format=fmt, layout={"width": "400px"})  # small ones enlarged

    def stack(prefix):  # the pictures whose key starts with prefix, chosen by slider len(prefix)
        depth = len(prefix)
        if depth == len(names):
            return picture(prefix)
        box = widgets.Stack([stack(prefix + (v,)) for v in options[depth]], selected_index=0)
        widgets.jslink((sliders[depth], "index"), (box, "selected_index"))
        return box

    return widgets.VBox([*sliders, stack(())])
