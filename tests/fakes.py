"""Small fake inputs shared by test files: demo caption and knowledge files, caption batches,
image batches."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import torch

from mner_lib.images.api import ImageBatch
from mner_lib.images.captions import CaptionEncoder
from mner_lib.text.data import Tweet, load_dataset

#: efficientnet-lite0's four stages (the GMF pyramid)
CHANNELS = (24, 40, 112, 1280)
EMPTY_ID = "demo_0002"  # written with an empty caption


MISSING_ID = "demo_0003"  # left out of every file


def demo_tweets() -> list[Tweet]:
    data = load_dataset("demo")
    return data.train + data.dev + data.test


def demo_caption(tweet: Tweet) -> str:
    """A caption that names the tweet's first token (so captions differ between tweets)."""
    return f"a picture about {tweet.tokens[0].lower()} number {tweet.id[-4:]}"


def _pgim_block(tweet: Tweet) -> str:
    lines = [f"{tok}\t{tag}" for tok, tag in zip(tweet.tokens, tweet.tags)]
    lines += ["<EOS>\tX"] + [f"{w}\tX" for w in f"knowledge about {tweet.id}".split()]
    return "\r\n".join(lines) + "\r\n"


def write_pgim_zip(path: Path, skip_first_train: bool = False) -> None:
    data = load_dataset("demo")
    with zipfile.ZipFile(path, "w") as archive:
        for split, member in (("train", "train.txt"), ("dev", "valid.txt"), ("test", "test.txt")):
            tweets = data.split(split)[1 if skip_first_train and split == "train" else 0 :]
            archive.writestr(f"demo/{member}", "\r\n".join(_pgim_block(t) for t in tweets))


def write_demo_image_text(root: Path) -> Path:
    """``<root>/image_text`` with BLIP-2, CATR, Owl and PGIM files for the demo corpus (CRLF
    in BLIP-2 and PGIM); ``EMPTY_ID`` has an empty caption, ``MISSING_ID`` none."""
    tweets = [t for t in demo_tweets() if t.id != MISSING_ID]
    folder = root / "image_text"
    for sub in ("blip2", "catr", "mplug-owl", "pgim-knowledge"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    caption = {t.id: ("" if t.id == EMPTY_ID else demo_caption(t)) for t in tweets}
    lines = [f"{i}.jpg :{c}" for i, c in caption.items()]
    (folder / "blip2" / "BLIP2_demo.txt").write_bytes("\r\n".join(lines).encode())
    catr = {f"{i}.jpg": f"generic {c}" for i, c in caption.items()}
    (folder / "catr" / "demo_images.json").write_text(json.dumps(catr))
    owl = "".join(f"imgid:{i}###Line one of {i}.\n\nLine two.\n" for i in caption)
    (folder / "mplug-owl" / "owl_demo.txt").write_text(owl)
    write_pgim_zip(folder / "pgim-knowledge" / "demo.zip")
    return root


CAPTION_TINY = {
    "hsn": dict(hidden=16, heads=2, image_dim=8, use_pos=False, visual_input="caption"),
    "gmf": dict(
        pretrained=False,
        encoder_layers=1,
        hidden=32,
        heads=2,
        visual_dim=16,
        cm_dim=16,
        visual_input="caption",
    ),
    "trimod": dict(hidden=16, visual_dim=8, segmenter="wordsegment"),
    "cwi": dict(word_hidden=8, image_hidden=8, fusion_hidden=8),
    "bert-crf": dict(pretrained=False),
}


def caption_batch(captions: list[str], encoder: CaptionEncoder) -> ImageBatch:
    """Blank-like pixels (zeros) and the given captions, as a text condition gives them."""
    n = len(captions)
    pyramid = [torch.zeros(n, c, 7, 7) for c in CHANNELS]
    return ImageBatch(
        global_vec=torch.zeros(n, CHANNELS[-1]),
        regions=pyramid[-1].flatten(2).transpose(1, 2),
        pyramid=pyramid,
        labels=[[("dog", 0.9)] * 5] * n,
        flags=["blank"] * n,
        captions=captions,
        caption_flags=[""] * n,
        caption_kind="real-image caption",
        caption_encoder=encoder,
    )


def emissions(model, tweets, images: ImageBatch) -> torch.Tensor:
    images = dataclasses.replace(images, _encoded=None)
    with torch.no_grad():
        return model(model.collate(tweets, images)).emissions


def make_images(n: int, seed: int = 0, crops: int = 3) -> ImageBatch:
    g = torch.Generator().manual_seed(seed)
    pyramid = [torch.randn(n, c, 7, 7, generator=g) for c in CHANNELS]
    crop_mask = torch.ones(n, crops, dtype=torch.bool)
    if crops:
        crop_mask[0, -1] = False
    return ImageBatch(
        global_vec=torch.randn(n, CHANNELS[-1], generator=g),
        regions=pyramid[-1].flatten(2).transpose(1, 2),
        pyramid=pyramid,
        labels=[[("dog", 0.9)]] * n,
        flags=[""] * n,
        crops=torch.randn(n, crops, CHANNELS[-1], generator=g) if crops else None,
        crop_mask=crop_mask if crops else None,
    )
