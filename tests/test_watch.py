"""styletf.watch: movies, the live preview and the sliders, checked against the images given."""
import gc
import io

import numpy as np
import pytest
from PIL import Image, ImageSequence

from styletf import watch
from styletf.errors import InputError


def _frames(gif: bytes) -> list:
    return [np.asarray(f.convert("RGB"), np.float64) / 255 for f in ImageSequence.Iterator(Image.open(io.BytesIO(gif)))]


def _flat(value, h, w):
    return np.full((1, h, w, 3), value, np.float32)


def test_movie_keeps_every_nth_step_resizes_and_thins_itself():
    movie = watch.Movie(every=3, max_frames=11)
    for step in range(1, 31):  # a coarse stage (8 x 12) then a fine one (16 x 24)
        shape = (8, 12) if step <= 15 else (16, 24)
        movie(step, _flat(step / 40, *shape))
    kept = [round(float(f.mean()) / 255 * 40) for f in movie.frames]
    assert kept == [1, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30]  # the first call, then every third
    movie.add(_flat(1.0, 16, 24))  # frame 12 > max_frames: every other one dropped but the newest
    assert len(movie.frames) == 7 and movie.every == 6
    frames = _frames(movie.gif())
    assert len(frames) == 7 and all(f.shape == (16, 24, 3) for f in frames)  # coarse frames upsampled
    assert abs(frames[0].mean() - 1 / 40) < 0.01 and frames[-1].mean() > 0.99
    small = _frames(movie.gif(max_side=12))
    assert small[0].shape == (8, 12, 3)


def test_movie_errors_name_the_problem(tmp_path):
    with pytest.raises(InputError, match="every"):
        watch.Movie(every=0)
    with pytest.raises(InputError, match="no frames"):
        watch.Movie().gif()
    movie = watch.Movie()
    movie.add(_flat(0.5, 4, 4))
    with pytest.raises(InputError, match=".gif or .mp4"):
        movie.save(tmp_path / "x.png")
    assert movie.end(_flat(0.2, 4, 4), tmp_path / "x.gif").is_file()


def _mp4_frames(path) -> tuple:
    """Decode an MP4 with ffmpeg (imageio-ffmpeg): (fps, [(H, W, 3) in [0, 1]])."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    return meta["fps"], [np.frombuffer(f, np.uint8).reshape(h, w, 3) / 255 for f in reader]


def test_mp4_plays_the_frames_in_order_and_holds_the_last(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    movie = watch.Movie(every=1)
    for step in range(20):  # grey levels 0 .. 1, odd sides (H.264 needs even ones: padded by resizing)
        movie(step, _flat(step / 19, 15, 21))
    path = movie.save(tmp_path / "run.mp4", seconds=4.0, hold=1.0)
    fps, frames = _mp4_frames(path)
    assert fps == 5 and len(frames) == 20 + 5  # 20 frames in 4 s, then the last one for 1 s
    assert frames[0].shape == (16, 22, 3)
    levels = [f.mean() for f in frames[:20]]
    assert np.allclose(levels, np.arange(20) / 19, atol=0.03)  # in order, each grey as given
    assert all(abs(f.mean() - 1.0) < 0.03 for f in frames[20:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.mp4"]  # no temporary file left


def test_mp4_without_imageio_ffmpeg_says_how_to_get_it(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if not installed
    movie = watch.Movie()
    movie.add(_flat(0.5, 4, 4))
    with pytest.raises(InputError, match="pip install imageio-ffmpeg.*gif"):
        movie.save(tmp_path / "run.mp4")
    with pytest.raises(InputError, match=r"\.gif or \.mp4"):
        movie.save(tmp_path / "run.avi")
    assert not list(tmp_path.iterdir())


def test_explore_holds_every_image_where_its_sliders_point():
    pytest.importorskip("ipywidgets")
    rng = np.random.default_rng(0)
    rows, ratios = ("A", "B", "C"), (1e-3, 1e-2)
    grid = {(row, ratio): rng.random((1, 6, 8, 3)).astype(np.float32) for row in rows for ratio in ratios}
    box = watch.explore(grid, names=["layers", "alpha/beta"])
    layers, ratio, outer = box.children
    assert [v for _, v in layers.options] == list(rows) and [v for _, v in ratio.options] == list(ratios)
    for i, row in enumerate(rows):  # slider indices (i, j) select outer.children[i].children[j]
        for j, r in enumerate(ratios):
            shown = np.asarray(Image.open(io.BytesIO(outer.children[i].children[j].value)).convert("RGB")) / 255
            assert np.abs(shown - grid[(row, r)][0]).max() <= 1 / 255 + 1e-6, (row, r)
    from ipywidgets.widgets.widget_link import Link
    links = [w for w in gc.get_objects() if isinstance(w, Link)]
    pairs = {(link.source[0].model_id, link.source[1], link.target[0].model_id, link.target[1]) for link in links}
    assert (layers.model_id, "index", outer.model_id, "selected_index") in pairs  # moved in the browser
    for inner in outer.children:
        assert (ratio.model_id, "index", inner.model_id, "selected_index") in pairs


def test_preview_draws_the_image_and_the_losses(monkeypatch):
    pytest.importorskip("IPython")
    assert not watch.in_notebook()  # pytest is no notebook front end: no preview in tests

    class Handle:
        def update(self, obj):
            self.shown = obj

    import IPython.display
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: Handle())
    preview = watch.Preview("test", interval=60)
    history = {k: [np.array([100.0 / (i + 1)]) for i in range(5)] for k in ("total", "content", "style", "tv")}
    preview.update(_flat(0.5, 12, 16), history)
    drawn = Image.open(io.BytesIO(preview.handle.shown.data))
    assert drawn.size[0] > 300  # a figure: the picture and the loss curves
    first = preview.handle.shown
    preview.update(_flat(0.1, 12, 16), history)  # within the interval: not redrawn
    assert preview.handle.shown is first
    preview.update(_flat(0.1, 12, 16), history, force=True)
    assert preview.handle.shown is not first
