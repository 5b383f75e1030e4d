"""styletf.images: loading every kind of file as documented, resizing, atomic saving,
and the Caffe input convention - against known pixel values and numpy formulas."""
import os
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import styletf
from styletf import images
from styletf.errors import InputError


def arr(x):
    return np.asarray(x)[0]


def test_rgba_is_composited_onto_white(tmp_path):
    a = np.zeros((2, 2, 4), np.uint8)
    a[0, 0] = (255, 0, 0, 0)  # fully transparent red -> white
    a[0, 1] = (0, 0, 255, 255)  # opaque blue
    a[1, 0] = (0, 0, 0, 102)  # 40 % black -> 0.6 grey
    a[1, 1] = (0, 255, 0, 255)
    Image.fromarray(a, "RGBA").save(tmp_path / "a.png")
    x = arr(styletf.load_image(tmp_path / "a.png"))
    np.testing.assert_allclose(x[0, 0], [1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(x[0, 1], [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(x[1, 0], [1 - 102 / 255] * 3, atol=1e-6)


def test_grayscale_and_palette_become_rgb(tmp_path):
    Image.fromarray(np.full((3, 4), 100, np.uint8), "L").save(tmp_path / "g.png")
    x = styletf.load_image(str(tmp_path / "g.png"))
    assert x.shape == (1, 3, 4, 3) and x.dtype.name == "float32"
    np.testing.assert_allclose(arr(x), 100 / 255, atol=1e-6)

    p = Image.new("P", (2, 1))
    p.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    p.putpixel((0, 0), 0)
    p.putpixel((1, 0), 1)
    p.info["transparency"] = 1  # green is transparent -> white
    p.save(tmp_path / "p.png", transparency=1)
    x = arr(styletf.load_image(tmp_path / "p.png"))
    np.testing.assert_allclose(x[0, 0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(x[0, 1], [1, 1, 1], atol=1e-6)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)
    x = arr(styletf.load_image(tmp_path / "c.jpg"))
    assert x.shape == (16, 16, 3)
    np.testing.assert_allclose(x.mean(axis=(0, 1)), [1, 0, 0], atol=0.03)  # pure red


def test_16_bit_png_keeps_its_precision(tmp_path):
    a = np.array([[1000, 65535], [0, 30000]], np.uint16)
    Image.fromarray(a).save(tmp_path / "d.png")  # mode I;16
    x = arr(styletf.load_image(tmp_path / "d.png"))
    np.testing.assert_allclose(x[..., 0], a / 65535.0, atol=1e-6)  # 8 bits would be off by ~4e-3
    np.testing.assert_allclose(x[..., 0], x[..., 2])


def test_16_bit_colour_png_is_read_at_8_bits_with_a_warning(tmp_path):
    """Pillow decodes 48-bit RGB PNGs to 8 bits per channel: documented, and said."""
    a = np.random.default_rng(0).integers(0, 65536, (3, 4, 3)).astype(">u2")  # big-endian, as PNG stores it
    (tmp_path / "rgb48.png").write_bytes(_png(4, 3, 16, [row.tobytes() for row in a]))  # 4 x 3 px
    with pytest.warns(UserWarning, match="16 bits per colour channel, read at 8"):
        x = arr(styletf.load_image(tmp_path / "rgb48.png"))
    np.testing.assert_allclose(x, (a >> 8) / 255.0, atol=1e-6)  # the high byte


@pytest.mark.parametrize("pixels, values", [
    (np.linspace(-1, 4, 64, dtype=np.float32), "-1 to 4"),  # a float TIFF
    (np.arange(64, dtype=np.int32) * 2000, "0 to 1.92"),  # 32-bit integers beyond 16 bits: / 65535
])
def test_grey_values_beyond_0_1_are_clipped_with_a_warning(tmp_path, pixels, values):
    Image.fromarray(pixels.reshape(8, 8)).save(tmp_path / "grey.tif")
    with pytest.warns(UserWarning, match=f"grey.tif: grey values from {values} .* clipped to"):
        x = arr(styletf.load_image(tmp_path / "grey.tif"))
    top = 1.0 if pixels.dtype == np.float32 else 65535.0
    np.testing.assert_allclose(x[..., 1], np.clip(pixels.reshape(8, 8) / top, 0, 1), atol=1e-6)


def test_exif_orientation_is_honoured(tmp_path):
    a = np.zeros((16, 32, 3), np.uint8)
    a[:, :16] = (255, 0, 0)  # left half red (as stored)
    a[:, 16:] = (0, 0, 255)
    img = Image.fromarray(a)
    exif = img.getexif()
    exif[0x0112] = 6  # Orientation: display rotated 90 degrees clockwise
    img.save(tmp_path / "r.jpg", exif=exif, quality=100)
    x = arr(styletf.load_image(tmp_path / "r.jpg"))
    assert x.shape == (32, 16, 3)  # upright: portrait
    np.testing.assert_allclose(x[:12].mean(axis=(0, 1)), [1, 0, 0], atol=0.05)  # red on top
    np.testing.assert_allclose(x[-12:].mean(axis=(0, 1)), [0, 0, 1], atol=0.05)


def test_arrays_and_pil_images(tmp_path):
    u8 = np.array([[[0, 128, 255]]], np.uint8)
    np.testing.assert_allclose(arr(styletf.load_image(u8))[0, 0], [0, 128 / 255, 1], atol=1e-6)
    u16 = np.array([[[0, 65535, 1]]], np.uint16)
    np.testing.assert_allclose(arr(styletf.load_image(u16))[0, 0], [0, 1, 1 / 65535], atol=1e-9)
    np.testing.assert_allclose(arr(styletf.load_image(Image.fromarray(u8 * 0 + 51)))[0, 0], 0.2,
                               atol=1e-6)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        styletf.load_image(np.full((4, 4, 3), 200.0))
    with pytest.raises(InputError, match="NaN"):
        styletf.load_image(np.full((4, 4, 3), np.nan))


def test_max_size_sets_the_long_side_with_antialiasing():
    checker = (np.indices((128, 96)).sum(axis=0) % 2).astype(np.float32)  # 1-px checkerboard
    x = styletf.load_image(np.repeat(checker[..., None], 3, axis=-1), max_size=32)
    assert x.shape == (1, 32, 24, 3)
    # Antialiased, the checkerboard averages to flat grey; point sampling would give 0s and 1s.
    assert abs(float(np.mean(x)) - 0.5) < 0.02 and float(np.std(x)) < 0.05
    assert styletf.load_image(np.zeros((10, 20, 3), np.uint8), max_size=40).shape == (1, 20, 40, 3)
    with pytest.raises(InputError, match="max_size"):
        styletf.load_image(np.zeros((10, 20, 3), np.uint8), max_size=0)


@pytest.mark.parametrize("make, match", [
    (lambda p: None, "not found"),
    (lambda p: p.mkdir(), "directory"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("hello, I am text"), "not an image"),
])
def test_bad_files_give_clear_errors(tmp_path, make, match):
    path = tmp_path / "photo.jpg"
    make(path)
    with pytest.raises(InputError, match=match) as e:
        styletf.load_image(path)
    assert "photo.jpg" in str(e.value)


def test_truncated_jpeg_is_a_clear_error(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated") as e:
        styletf.load_image(tmp_path / "cut.jpg")
    assert "cut.jpg" in str(e.value)


def _png(width, height, depth=8, rows=None) -> bytes:
    """An RGB PNG written by hand (Pillow writes neither a lying header nor 16-bit colour):
    ``rows`` the big-endian pixel rows, each after filter byte 0; None: the header only."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0)
    data = chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + r for r in rows))) if rows is not None else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + data + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png(200_000, 200_000))  # claims 4e10 pixels, 45 bytes on disk
    with pytest.raises(InputError, match="STYLETF_MAX_PIXELS") as e:
        styletf.load_image(path)
    assert str(images.MAX_PIXELS) in str(e.value)


def test_save_image_round_trips_exactly(tmp_path):
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    out = styletf.save_image(u8[None] / 255.0, tmp_path / "x.png")
    np.testing.assert_array_equal(np.asarray(Image.open(out)), u8)
    assert sorted(os.listdir(tmp_path)) == ["x.png"]  # no temporary left behind


def test_save_image_refuses_nan_and_missing_folders(tmp_path):
    bad = np.zeros((1, 4, 4, 3), np.float32)
    bad[0, 1, 1, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        styletf.save_image(bad, tmp_path / "nan.png")
    with pytest.raises(InputError, match="does not exist"):
        styletf.save_image(np.zeros((4, 4, 3)), tmp_path / "nope" / "x.png")
    assert os.listdir(tmp_path) == []


def test_save_image_takes_uint8_as_is_and_names_empty_images_and_unwritable_places(tmp_path):
    """uint8 pixels, as load_image takes them, are saved as they are (they were refused as "values
    beyond [0, 1]"); an image without pixels and a place this user cannot write to are InputErrors
    naming the argument (Pillow's ValueError and a raw FileNotFoundError before)."""
    u8 = np.random.default_rng(2).integers(0, 256, (1, 6, 4, 3), dtype=np.uint8)
    out = styletf.save_image(u8, tmp_path / "u8.png")
    np.testing.assert_array_equal(np.asarray(Image.open(out)), u8[0])
    np.testing.assert_array_equal(np.asarray(Image.open(styletf.save_image(tf.constant(u8[0]), tmp_path / "t.png"))), u8[0])
    with pytest.raises(InputError, match=r"^x: expected an RGB image of shape \(H, W, 3\) with pixels, got \(0, 0, 3\)"):
        styletf.save_image(np.zeros((0, 0, 3)), tmp_path / "empty.png")
    with pytest.raises(InputError, match=r"^path: cannot write /proc/styletf\.png .*choose a folder you can write to"):
        styletf.save_image(np.zeros((4, 4, 3)), "/proc/styletf.png")
    assert sorted(os.listdir(tmp_path)) == ["t.png", "u8.png"]


def test_save_image_refuses_pixels_outside_0_1_and_writes_nothing(tmp_path):
    """The notebook mistake save_image(img * 255) wrote an all-white PNG without a word; values a
    little outside [0, 1] (a bicubic resize's overshoot) were clipped silently. Within half a grey
    level of [0, 1] it is rounding: saved as np.round(np.clip(x, 0, 1) * 255)."""
    rng = np.random.default_rng(1)
    img = rng.random((6, 5, 3)).astype(np.float32)
    with pytest.raises(InputError, match=r"\[0, 1\].*divide by 255"):
        styletf.save_image(img * 255, tmp_path / "white.png")
    with pytest.raises(InputError, match=r"got \[-0\.1, .*np\.clip"):
        styletf.save_image(np.concatenate([img, np.full((1, 5, 3), -0.1, np.float32)]), tmp_path / "dark.png")
    assert os.listdir(tmp_path) == []
    near = img.copy()
    near[0, 0] = [1 + 0.4 / 255, -0.4 / 255, 0.5]
    out = styletf.save_image(near, tmp_path / "near.png")
    np.testing.assert_array_equal(np.asarray(Image.open(out)), np.round(np.clip(near, 0, 1) * 255).astype(np.uint8))


def test_a_file_named_like_a_catalog_key_is_not_shadowed_silently(tmp_path, monkeypatch):
    """./starry_night (a user's own picture) was replaced by the catalog's painting without a word."""
    monkeypatch.chdir(tmp_path)
    pixels = np.random.default_rng(2).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "starry_night", format="PNG")
    with pytest.raises(InputError, match=r"starry_night is both a catalog image and a file here; write ./starry_night"):
        styletf.load_image("starry_night")
    np.testing.assert_array_equal(np.round(styletf.load_image("./starry_night")[0].numpy() * 255), pixels)


def test_caffe_conversion_matches_the_formula_and_inverts():
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 4, 3)).astype(np.float32)
    expected = x[..., ::-1] * 255.0 - np.array([103.939, 116.779, 123.68], np.float32)
    y = np.asarray(images.to_backbone(x))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(np.asarray(images.from_backbone(y)), x, atol=1e-5)


def test_load_from_url(http_root):
    root, base = http_root
    Image.fromarray(np.full((6, 8, 3), (10, 20, 30), np.uint8)).save(root / "u.png")
    x = arr(styletf.load_image(f"{base}/u.png"))
    np.testing.assert_allclose(x[0, 0], np.array([10, 20, 30]) / 255, atol=1e-6)
    with pytest.raises(InputError, match="cannot download"):
        styletf.load_image(f"{base}/missing.png")


def test_file_urls_are_paths_and_other_schemes_are_refused(tmp_path):
    Image.fromarray(np.full((6, 8, 3), (40, 50, 60), np.uint8)).save(tmp_path / "a b.png")
    x = arr(styletf.load_image((tmp_path / "a b.png").as_uri()))  # file:///.../a%20b.png
    np.testing.assert_allclose(x[0, 0], np.array([40, 50, 60]) / 255, atol=1e-6)
    with pytest.raises(InputError, match="ftp:// is not"):
        styletf.load_image("ftp://example.org/a.png")


def test_animated_gif_uses_the_first_frame_and_says_so(tmp_path):
    frames = [Image.fromarray(np.full((4, 5, 3), v, np.uint8)) for v in (0, 255)]  # black, then white
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert Image.open(tmp_path / "anim.gif").n_frames == 2
    with pytest.warns(UserWarning, match="2 frames; using the first"):
        x = arr(styletf.load_image(tmp_path / "anim.gif"))
    assert x.max() == 0.0  # the black first frame


def test_save_image_reads_integer_pixels_as_load_image_does(tmp_path):
    """Integers 0..255 of any width are 8-bit pixels, 0..65535 of a wider type 16-bit ones (as
    load_image reads a 16-bit PNG: /65535); it refused int64 0..254 and told uint16 to divide by 255."""
    rng = np.random.default_rng(3)
    u8 = rng.integers(0, 255, (5, 6, 3))
    np.testing.assert_array_equal(np.asarray(Image.open(styletf.save_image(u8.astype(np.int64), tmp_path / "a.png"))), u8)
    u16 = rng.integers(0, 65536, (5, 6, 3)).astype(np.uint16)
    expected = np.round(u16 / 65535 * 255).astype(np.uint8)  # numpy: the same scaling to 8 bits
    np.testing.assert_array_equal(np.asarray(Image.open(styletf.save_image(u16, tmp_path / "b.png"))), expected)
    with pytest.raises(InputError, match=r"integer values must lie in 0\.\.255 \(or 0\.\.65535\), got -3\.\.4"):
        styletf.save_image(np.array([[[-3, 0, 4]]]), tmp_path / "c.png")
