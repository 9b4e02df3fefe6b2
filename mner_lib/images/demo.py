"""Demonstration on the 6 real sample images: top-5 labels, region grid, saliency crops.

``python -m mner_lib.images.demo --data-dir ../shared/data --out results/images_demo`` writes,
per image, ``<id>.png`` (three panels: the image with the 7x7 region grid the models attend
over; the region energy, i.e. the L2 norm of each region's feature vector; the top-3 saliency
crops GMF would get) and ``summary.json`` / ``summary.txt`` with the top-5 ImageNet labels
(CWI's image words), the crop boxes and the feature shapes. Backbone: efficientnet-lite0
(offline pretrained weights).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mner_lib.images.features import ImageFeatures
from mner_lib.images.loading import open_tweet_image
from mner_lib.text.data import Tweet, resolve_data_dir

SAMPLE_IDS = ("111254", "153305", "1953977", "70560", "O_2371", "O_4154")
PANEL = 192
CROP_COLOURS = ((255, 60, 60), (60, 200, 60), (60, 120, 255))


def _grid(image: Image.Image) -> Image.Image:
    out = image.copy()
    draw = ImageDraw.Draw(out)
    for k in range(1, 7):
        at = k * PANEL / 7
        draw.line((at, 0, at, PANEL), fill=(255, 255, 0), width=1)
        draw.line((0, at, PANEL, at), fill=(255, 255, 0), width=1)
    return out


def _energy(image: Image.Image, regions: np.ndarray) -> Image.Image:
    energy = np.linalg.norm(regions.reshape(7, 7, -1), axis=-1)
    energy = (energy - energy.min()) / max(float(np.ptp(energy)), 1e-6)
    heat = np.zeros((7, 7, 3), np.uint8)
    heat[..., 0] = (255 * energy).astype(np.uint8)
    heat[..., 2] = (255 * (1 - energy)).astype(np.uint8)
    heat_image = Image.fromarray(heat, "RGB").resize((PANEL, PANEL), Image.NEAREST)
    return Image.blend(image, heat_image, 0.55)


def _crops(image: Image.Image, boxes: np.ndarray, mask: np.ndarray) -> Image.Image:
    out = image.copy()
    draw = ImageDraw.Draw(out)
    for k, (box, present) in enumerate(zip(boxes, mask)):
        if present:
            draw.rectangle(
                tuple(float(v) * PANEL for v in box), outline=CROP_COLOURS[k % 3], width=3
            )
    return out


def run_demo(data_dir: str | None, out_dir: Path, cache_dir: str | None = None) -> dict:
    root = resolve_data_dir(data_dir)
    if root is None:
        raise FileNotFoundError(
            "the demo needs the shared data: pass --data-dir or set MNER_DATA_DIR"
        )
    folder = root / "samples" / "images"
    feats = ImageFeatures(
        "twitter2015", data_dir, condition="real", image_dir=folder, crops="saliency",
        max_crops=3, cache_dir=cache_dir,
    )  # fmt: skip
    tweets = [Tweet(image_id, ["x"], ["O"]) for image_id in SAMPLE_IDS]
    batch = feats(tweets)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {"features": feats.describe(), "images": {}}
    summary["features"].pop("cache", None)
    summary["features"].pop("image_dir", None)
    summary["shapes"] = {
        "global_vec": list(batch.global_vec.shape),
        "regions": list(batch.regions.shape),
        "pyramid": [list(p.shape) for p in batch.pyramid],
        "crops": list(batch.crops.shape),
    }
    for i, tweet in enumerate(tweets):
        image = open_tweet_image(folder, tweet.id).image.resize((PANEL, PANEL), Image.BICUBIC)
        boxes = batch.meta["crop_boxes"][i].numpy()
        mask = batch.crop_mask[i].numpy()
        panels = [
            _grid(image),
            _energy(image, batch.regions[i].numpy()),
            _crops(image, boxes, mask),
        ]
        strip = Image.new("RGB", (PANEL * 3 + 8, PANEL), (255, 255, 255))
        for k, panel in enumerate(panels):
            strip.paste(panel, (k * (PANEL + 4), 0))
        strip.save(out_dir / f"{tweet.id}.png", optimize=True)
        summary["images"][tweet.id] = {
            "flag": batch.flags[i],
            "top5": [[name, round(p, 4)] for name, p in batch.labels[i]],
            "saliency_boxes_xyxy_fraction": [
                [round(float(v), 3) for v in box] for box, m in zip(boxes, mask) if m
            ],
        }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = [
        "6 real sample images, efficientnet-lite0 (pretrained, offline), 224 px "
        "(written by python -m mner_lib.images.demo)",
        "panels in <id>.png: 7x7 region grid | region energy (red = high) | top-3 saliency crops",
        "",
    ]
    for image_id, info in summary["images"].items():
        labels = ", ".join(f"{name} {p:.2f}" for name, p in info["top5"])
        lines.append(f"{image_id:<8} top-5: {labels}")
    lines += ["", f"shapes: {summary['shapes']}"]
    (out_dir / "summary.txt").write_text("\n".join(lines) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=Path("results/images_demo"))
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args(argv)
    run_demo(args.data_dir, args.out, args.cache_dir)
    print((args.out / "summary.txt").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
