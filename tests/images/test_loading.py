"""Robust image opening: by content, every mode to RGB, and a flag instead of a crash."""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image

from mner_lib.images.loading import LoadReport, blank_image, open_rgb

SAMPLE_IDS = ("111254", "153305", "1953977", "70560", "O_2371", "O_4154")


def _save(path, image, fmt, **kwargs):
    image.save(path, fmt, **kwargs)
    return path


def test_the_six_sample_images_open_as_rgb(need_data):
    folder = need_data / "samples" / "images"
    formats = {}
    for image_id in SAMPLE_IDS:
        result = open_rgb(folder / f"{image_id}.jpg")
        assert result.flag == ""
        assert result.image.mode == "RGB" and min(result.image.size) > 50
        with Image.open(folder / f"{image_id}.jpg") as raw:
            formats[image_id] = (raw.format, raw.mode)
    # two of the six .jpg files are PNG with alpha: opened by content, not by extension
    assert sum(1 for fmt, mode in formats.values() if fmt == "PNG") == 2


def test_missing_zero_byte_truncated_and_garbage(tmp_path):
    assert open_rgb(tmp_path / "nope.jpg").flag == "missing"
    (tmp_path / "zero.jpg").write_bytes(b"")
    assert open_rgb(tmp_path / "zero.jpg").flag == "zero-byte"
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        buffer, "JPEG"
    )
    data = buffer.getvalue()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    cut = open_rgb(tmp_path / "cut.jpg")
    assert cut.image is None and cut.flag == "truncated"
    (tmp_path / "text.jpg").write_bytes(b"this is not an image at all" * 10)
    assert open_rgb(tmp_path / "text.jpg").flag == "undecodable"


def test_png_with_alpha_named_jpg_is_composited_on_white(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:5] = (255, 0, 0, 255)  # opaque red top half, transparent bottom half
    path = _save(tmp_path / "alpha.jpg", Image.fromarray(rgba, "RGBA"), "PNG")
    result = open_rgb(path)
    pixels = np.asarray(result.image)
    assert result.image.mode == "RGB"
    assert tuple(pixels[0, 0]) == (255, 0, 0) and tuple(pixels[9, 9]) == (255, 255, 255)


def test_palette_cmyk_and_16_bit(tmp_path):
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    assert tuple(np.asarray(open_rgb(_save(tmp_path / "p.png", palette, "PNG")).image)[0, 0]) == (
        10,
        200,
        30,
    )
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red in CMYK
    red = np.asarray(open_rgb(_save(tmp_path / "c.jpg", cmyk, "JPEG", quality=95)).image)
    assert red[..., 0].mean() > 200 and red[..., 1].mean() < 60
    deep = Image.fromarray(np.full((8, 8), 65535 // 2, np.uint16))
    grey = np.asarray(open_rgb(_save(tmp_path / "d.png", deep, "PNG")).image)
    assert grey.shape == (8, 8, 3) and 120 <= grey.mean() <= 135


def test_exif_rotation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = _save(tmp_path / "rot.jpg", image, "JPEG", exif=exif.tobytes())
    assert open_rgb(path).image.size == (20, 40)


def test_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ((250, 0, 0), (0, 0, 250))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    pixel = np.asarray(open_rgb(path).image)[4, 4]
    assert pixel[0] > 200 and pixel[2] < 50


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    path = _save(tmp_path / "big.png", Image.new("L", (300, 300)), "PNG")
    result = open_rgb(path, max_pixels=250 * 250)
    assert result.image is None and result.flag == "too-large" and "300x300" in result.detail
    assert open_rgb(path, max_pixels=300 * 300).flag == ""


def test_report_summarises_in_one_line(caplog):
    report = LoadReport()
    for tweet_id, flag in [("a", ""), ("b", "missing"), ("c", "missing"), ("d", "truncated")]:
        report.add(tweet_id, flag)
    with caplog.at_level(logging.WARNING, logger="mner_lib.images"):
        report.warn()
    assert len(caplog.records) == 1
    line = caplog.records[0].getMessage()
    assert "3 of 4" in line and "missing 2" in line and "truncated 1" in line and "\n" not in line
    assert blank_image(16).getpixel((3, 3)) == (128, 128, 128)
