"""Image features for tweets: which image a tweet gets (the condition) and what comes out.

Conditions
----------
``real``       the tweet's own image ``<image_dir>/<id>.jpg`` (opened by content; when the file is
               missing or unusable, the blank image and a flag saying why). When the dataset has
               no image folder at all, every tweet gets the blank image flagged ``missing``.
``blank``      the blank constant image for every tweet (the papers' "w/o VF"), flag ``blank``.
``synthetic``  the visual-clue probe drawn from the tweet's gold entity types
               (:mod:`mner_lib.images.probe`: types only, no words), flag ``synthetic``.
``shuffled``   each tweet gets *another* tweet's image (a seeded cycle over the dataset's tweets:
               never its own), flag ``shuffled``.
``missing:p``  a seeded fraction p of the tweets get the blank image (flag ``dropped``), the
               others their own.

Text conditions (:mod:`mner_lib.images.conditions`): ``caption:<blip2|catr|owl>``,
``caption-shuffled:<source>``, ``knowledge:pgim``, ``knowledge-shuffled:pgim``. The tweet gets
text written from its real image (:class:`mner_lib.images.captions.CaptionProvider`) in
``ImageBatch.captions``; its pixels are the blank image (flag ``blank``).

``shuffled`` and ``missing:p`` draw from the real images when the dataset's image folder exists
and from the synthetic probe otherwise; ``shuffled:real``, ``shuffled:synthetic``,
``missing:0.3:real`` and ``missing:0.3:synthetic`` choose explicitly. A result is labelled
synthetic (``describe()["synthetic"]``) whenever probe images are involved, and for the demo
corpus, whose shipped images are probe drawings.

Features
--------
For each image the backbone (:mod:`mner_lib.images.backbones`) gives four stage maps; each is
average-pooled to 7x7 (the pyramid, GMF's F_1..F_4); the last pooled map is the region grid
(49 x D, HSN's V), its mean over the backbone's native last map the global vector, and the
classifier's softmax the top-k ImageNet labels. Crops (GMF's objects) are the global vectors of
up to ``max_crops`` crops (:mod:`mner_lib.images.crops`).

Caching
-------
Features are stored by content key (:mod:`mner_lib.images.cache`): the SHA-1 of the image file's
bytes, the probe's drawing arguments (the drawing is a pure function of them), or ``blank``,
under a folder named by everything else that decides them (backbone, weights, image size,
preprocessing, code version: :func:`mner_lib.images.settings.feature_identity`). ``shuffled``
therefore reuses the features of the images it permutes, and a second run computes nothing.
The store verifies what it reads (shard checksums, index lines) and computes again what fails.

Sizes are capped before any work (:func:`mner_lib.images.settings.check_feature_settings`):
``image_size`` up to :data:`~mner_lib.images.settings.MAX_IMAGE_SIZE`, ``batch_size`` times the
image's pixels up to :data:`~mner_lib.images.settings.MAX_BATCH_PIXELS`, ``max_crops`` up to
:data:`~mner_lib.images.crops.MAX_CROPS`.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mner_lib.images.api import ImageBatch
from mner_lib.images.backbones import (
    BACKBONES,
    STAGE_CHANNELS,
    ImageBackbone,
    build_image_backbone,
    imagenet_class_names,
)
from mner_lib.images.cache import (
    FailureLog,
    FeatureStore,
    computing,
    default_cache_dir,
    store_name,
)
from mner_lib.images.captions import CaptionEncoder, CaptionProvider
from mner_lib.images.compute import BASE_NAMES, GRID, FeatureComputer, _Plan
from mner_lib.images.conditions import parse_condition, unit_hash
from mner_lib.images.crops import CROP_MODES, MAX_XML_BYTES, read_voc_boxes, scale_boxes
from mner_lib.images.loading import (
    DEFAULT_MAX_PIXELS,
    LOGGER,
    LoadReport,
    blank_image,
    open_rgb,
    read_tweet_image,
    tweet_image_path,
)
from mner_lib.images.probe import draw_probe, probe_key, probe_types
from mner_lib.images.settings import FEATURE_VERSION, check_feature_settings, feature_identity
from mner_lib.io.safe_read import RefusedFileError, read_regular_file
from mner_lib.text.data import Tweet, UnknownNameError, load_dataset
from mner_lib.text.data import image_dir as dataset_image_dir

BLANK_KEY = "blank"


class ImageFeatures(FeatureComputer):
    """Image features of tweets under a condition; the models' one entry point (see module doc).

    ``crops``: ``none | saliency | boxes`` with ``max_crops`` crops (GMF's m). ``boxes_dir``:
    Pascal-VOC xml folder for ``boxes`` (default ``<data>/twitter10000/xml``). ``batch_size``:
    images per backbone call. ``max_pixels``: refuse images with more pixels (bombs).
    """

    def __init__(
        self,
        dataset: str = "twitter2015",
        data_dir: str | os.PathLike | None = None,
        backbone: str = "efficientnet-lite0",
        condition: str = "blank",
        seed: int = 0,
        image_dir: str | os.PathLike | None = None,
        crops: str = "none",
        max_crops: int = 0,
        cache_dir: str | os.PathLike | None = None,
        image_size: int = 224,
        top_k: int = 5,
        pretrained: bool = True,
        boxes_dir: str | os.PathLike | None = None,
        batch_size: int = 16,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ):
        if backbone not in BACKBONES:
            raise UnknownNameError(
                f"unknown image backbone {backbone!r}; valid: {', '.join(sorted(BACKBONES))}"
            )
        if crops not in CROP_MODES:
            raise UnknownNameError(f"unknown crops {crops!r}; valid: {', '.join(CROP_MODES)}")
        check_feature_settings(image_size, batch_size, crops, max_crops, top_k, max_pixels)
        self.dataset = dataset
        self.data_dir = data_dir
        self.backbone_name = backbone
        self.cond = parse_condition(condition)
        self.condition = self.cond.text
        self.seed = seed
        self.crops = crops
        self.max_crops = max_crops if crops != "none" else 0
        self.image_size = image_size
        self.top_k = top_k
        self.pretrained = pretrained
        self.batch_size = batch_size
        self.max_pixels = max_pixels
        self.boxes_dir = Path(boxes_dir) if boxes_dir else None
        self.image_dir = self._resolve_image_dir(image_dir)
        self.has_images = self.image_dir is not None and self.image_dir.is_dir()
        self.base = self.cond.base
        if self.base == "auto":
            self.base = "real" if self.has_images else "synthetic"
        self.captions: CaptionProvider | None = None
        if self.cond.is_text:  # text from the real image; the pixels are the blank image
            self.base = "blank"
            self.captions = CaptionProvider(self.cond, dataset, data_dir, seed)
        self.caption_encoder: CaptionEncoder | None = None
        channels = STAGE_CHANNELS[backbone]
        self.pyramid_channels: list[int] = list(channels)
        self.global_dim: int = channels[-1]
        self.region_dim: int = channels[-1]
        self.cache_root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.identity = feature_identity(backbone, pretrained, seed, image_size, max_pixels)
        name = store_name(backbone, pretrained, image_size, FEATURE_VERSION, seed, self.identity)
        self.store_dir = self.cache_root / name
        self._store: FeatureStore | None = None
        self._crop_store: FeatureStore | None = None
        self._model: ImageBackbone | None = None
        self._file_keys: dict[str, str] = {}
        self._boxes: dict[str, tuple[str, bytes | None, Path | None]] = {}
        self._failures = FailureLog(self.store_dir / "failures.tsv")
        self._pool: dict[str, Tweet] | None = None
        self._partner: dict[str, str] = {}
        self.flag_counts: Counter = Counter()
        self.report = LoadReport()
        self.computed = 0  # images run through the backbone by this object

    # -- setup --------------------------------------------------------------------------------
    def _resolve_image_dir(self, image_dir: str | os.PathLike | None) -> Path | None:
        if image_dir is not None:
            return Path(image_dir)
        try:
            return dataset_image_dir(self.dataset, self.data_dir)
        except (FileNotFoundError, ValueError):
            return None

    @property
    def synthetic(self) -> bool:
        if self.cond.is_text:  # text written from the real images (the demo's is made up)
            return self.dataset == "demo"
        uses_probe = self.cond.kind == "synthetic" or (
            self.cond.kind in ("shuffled", "missing") and self.base == "synthetic"
        )
        return uses_probe or self.dataset == "demo"

    @property
    def store(self) -> FeatureStore:
        if self._store is None:
            c = self.pyramid_channels
            shapes = {
                "regions": (GRID * GRID, self.region_dim),
                "global": (self.global_dim,),
                **{f"pyr{i}": (c[i], GRID, GRID) for i in range(3)},
                "logits": (1000,),
            }
            self._store = FeatureStore(self.store_dir, shapes=shapes, identity=self.identity)
        return self._store

    @property
    def crop_store(self) -> FeatureStore:
        if self._crop_store is None:
            m = self.max_crops
            shapes = {"crops": (m, self.global_dim), "mask": (m,), "boxes": (m, 4)}
            self._crop_store = FeatureStore(self.store_dir / "crops", shard_rows=256, shapes=shapes)
        return self._crop_store

    @property
    def model(self) -> ImageBackbone:
        if self._model is None:
            self._model = build_image_backbone(self.backbone_name, self.pretrained, self.seed)
        return self._model

    @property
    def kind(self) -> str:
        """What the model is given: "real-image caption", "language-model knowledge",
        "synthetic", "blank" or "real image"."""
        if self.captions is not None:
            return self.captions.kind
        if self.synthetic:
            return "synthetic"
        return "blank" if self.cond.kind == "blank" else "real image"

    def describe(self) -> dict:
        """What a run records about its images (the trainer writes it into metrics.json).

        Text conditions add ``source``, ``coverage`` (per split: tweets, covered, empty,
        missing), ``flagged`` (ids per flag, up to 20) with ``flagged_counts``,
        ``caption_flags`` (what the batches got) and ``leak`` (the share of test entities whose
        string occurs in the caption: :func:`mner_lib.images.captions.leak_share`)."""
        info = {
            "backbone": self.backbone_name,
            "pretrained": self.pretrained,
            "condition": self.condition,
            "base": self.base if self.cond.kind in ("shuffled", "missing") else self.cond.kind,
            "synthetic": self.synthetic,
            "image_size": self.image_size,
            "flags": dict(self.flag_counts),
            "global_dim": self.global_dim,
            "region_dim": self.region_dim,
            "pyramid_channels": list(self.pyramid_channels),
            "crops": self.crops,
            "max_crops": self.max_crops,
            "image_dir": str(self.image_dir) if self.image_dir else None,
            "cache": str(self.store_dir),
            "kind": self.kind,
        }
        if self.captions is not None:
            info.update(self.captions.describe())
            info["base"] = "blank"
        return info

    # -- which image a tweet gets --------------------------------------------------------------
    def _record_failure(self, key: str, flag: str) -> None:
        self._failures.record(key, flag)

    def _file_plan(self, tweet_id: str) -> _Plan:
        if not self.has_images:
            return _Plan(BLANK_KEY, "missing", ("blank",))
        path = tweet_image_path(self.image_dir, tweet_id)
        key = self._file_keys.get(str(path)) if path is not None else None
        if key is None:
            found = read_tweet_image(self.image_dir, tweet_id)  # safe id, inside, regular file
            if found.data is None:
                return _Plan(BLANK_KEY, found.flag, ("blank",))
            key = "file-" + hashlib.sha1(found.data).hexdigest()
            self._file_keys[str(path)] = key
        return _Plan(key, self._failures.get(key, ""), ("file", str(path), tweet_id))

    def _probe_plan(self, tweet: Tweet, flag: str) -> _Plan:
        types = probe_types(tweet.tags)
        key = probe_key(tweet.id, types, self.seed, self.image_size)
        return _Plan(key, flag, ("probe", tweet.id, tuple(types)))

    def _base_plan(self, tweet: Tweet, flag: str) -> _Plan:
        if self.base == "synthetic":
            return self._probe_plan(tweet, flag)
        plan = self._file_plan(tweet.id)
        if not plan.flag:
            plan.flag = flag
        return plan

    def _ensure_pool(self, tweets: Sequence[Tweet]) -> None:
        if self._pool is None:
            pool: dict[str, Tweet] = {}
            try:
                data = load_dataset(self.dataset, self.data_dir)
                for split in ("train", "dev", "test"):
                    for tweet in data.split(split):
                        pool.setdefault(tweet.id, tweet)
            except (FileNotFoundError, ValueError):
                pass
            for tweet in tweets:
                pool.setdefault(tweet.id, tweet)
            ids = sorted(pool)
            order = np.random.default_rng(self.seed).permutation(len(ids))
            cycle = [ids[i] for i in order]
            self._partner = {a: cycle[(i + 1) % len(cycle)] for i, a in enumerate(cycle)}
            self._pool = pool
        for tweet in tweets:
            if tweet.id not in self._pool:  # a tweet outside the dataset: a hashed partner
                ids = sorted(self._pool)
                index = int(unit_hash("partner", tweet.id, self.seed) * len(ids))
                partner = ids[index]
                if partner == tweet.id:
                    partner = ids[(index + 1) % len(ids)]
                self._partner[tweet.id] = partner

    def plan(self, tweet: Tweet) -> _Plan:
        kind = self.cond.kind
        if kind == "blank" or self.cond.is_text:
            return _Plan(BLANK_KEY, "blank", ("blank",))
        if kind == "synthetic":
            return self._probe_plan(tweet, "synthetic")
        if kind == "real":
            return self._file_plan(tweet.id)
        if kind == "missing":
            if unit_hash("drop", tweet.id, self.seed) < self.cond.p:
                return _Plan(BLANK_KEY, "dropped", ("blank",))
            return self._base_plan(tweet, "synthetic" if self.base == "synthetic" else "")
        # shuffled
        self._ensure_pool([tweet])
        partner_id = self._partner.get(tweet.id, tweet.id)
        if partner_id == tweet.id:
            return _Plan(BLANK_KEY, "shuffled-alone", ("blank",))
        return self._base_plan(self._pool[partner_id], "shuffled")

    # -- computing ----------------------------------------------------------------------------
    def image(self, tweet: Tweet) -> Image.Image:
        """The picture (RGB) this condition gives ``tweet``: its own photo, the blank image, its
        probe drawing or another tweet's image; the blank image where a file is missing or
        cannot be decoded."""
        return self._image(self.plan(tweet))[0]

    def _image(self, plan: _Plan) -> tuple[Image.Image, str, list]:
        """(RGB image, failure flag or "", boxes for the 'boxes' crop mode)."""
        kind = plan.source[0]
        if kind == "blank":
            return blank_image(self.image_size), "", []
        if kind == "probe":
            drawing = draw_probe(plan.source[1], plan.source[2], self.seed, self.image_size)
            return drawing.image, "", [box for _, box in drawing.boxes]
        result = open_rgb(plan.source[1], self.max_pixels, root=self.image_dir)
        if result.image is None:
            return blank_image(self.image_size), result.flag, []
        boxes = []
        if self.crops == "boxes":
            boxes = self._file_boxes(plan.source[2], result.image.size)
        return result.image, "", boxes

    def _boxes_file(self, tweet_id: str) -> tuple[str, bytes | None, Path | None]:
        """(content hash or "none", bytes, path) of the tweet's annotation file, read once: a
        regular file of at most MAX_XML_BYTES, named by a safe IMGID, inside the boxes folder."""
        if tweet_id in self._boxes:
            return self._boxes[tweet_id]
        folder = self.boxes_dir
        if folder is None:
            try:
                from mner_lib.text.data import resolve_data_dir

                root = resolve_data_dir(self.data_dir)
            except FileNotFoundError:
                root = None
            folder = root / "twitter10000" / "xml" if root is not None else None
        path = tweet_image_path(folder, tweet_id, ".xml") if folder is not None else None
        found: tuple[str, bytes | None, Path | None] = ("none", None, None)
        if path is not None and (path.exists() or path.is_symlink()):
            inside = path.resolve().is_relative_to(Path(folder).resolve())
            try:
                data = read_regular_file(path, MAX_XML_BYTES, "annotation file") if inside else None
            except FileNotFoundError:  # a dangling link: no boxes, as for no file
                data = None
            except RefusedFileError as err:  # a FIFO, a device, over MAX_XML_BYTES
                raise ValueError(str(err)) from None
            if data is not None:
                found = (hashlib.sha1(data).hexdigest(), data, path)
        self._boxes[tweet_id] = found
        return found

    def _boxes_digest(self, tweet_id: str) -> str:
        return self._boxes_file(tweet_id)[0]

    def _file_boxes(self, tweet_id: str, size: tuple[int, int]) -> list:
        _, data, path = self._boxes_file(tweet_id)
        if data is None or path is None:
            return []
        xml_size, named = read_voc_boxes(path, data)
        return scale_boxes([box for _, box in named], xml_size, size)

    # -- public -----------------------------------------------------------------------------
    def prepare(self, tweets: Iterable[Tweet], progress: bool = False, chunk: int = 2048) -> dict:
        """Compute and cache the features of ``tweets`` (streamed; idempotent).

        Returns counts: ``tweets``, ``unique_images``, ``computed`` (backbone runs now) and
        ``flags``; logs one warning line when images had to be replaced by the blank one.
        """
        tweets = list(tweets)
        if self.cond.kind == "shuffled":
            self._ensure_pool(tweets)
        report = LoadReport()
        flags: Counter = Counter()
        keys: set[str] = set()
        before = self.computed
        drawn = f"-seed{self.seed}" if self.base == "synthetic" else ""  # the probe's drawings
        with computing(self.store_dir, f"{self.dataset}-{self.base}{drawn}-{self.crops}"):
            for start in range(0, len(tweets), chunk):
                part = tweets[start : start + chunk]
                plans = [self.plan(t) for t in part]
                self._ensure(plans, progress=progress)
                for tweet, p in zip(part, plans):
                    flag = p.flag or self._failures.get(p.key, "")
                    report.add(tweet.id, flag)
                    flags[flag] += 1
                    keys.add(p.key)
        report.warn()
        self.report = report
        return {
            "tweets": len(tweets),
            "unique_images": len(keys),
            "computed": self.computed - before,
            "flags": dict(flags),
        }

    def __call__(self, tweets: Sequence[Tweet]) -> ImageBatch:
        """Features of a batch (read from the cache; computed and cached on demand)."""
        plans = [self.plan(t) for t in tweets]
        self._ensure(plans)
        keys = [p.key for p in plans]
        arrays = self.store.get(keys, BASE_NAMES)
        flags = [p.flag or self._failures.get(p.key, "") for p in plans]
        fresh = LoadReport()
        for tweet, flag in zip(tweets, flags):
            self.flag_counts[flag] += 1
            self.report.add(tweet.id, flag)
            fresh.add(tweet.id, flag)
        if fresh.replaced:
            LOGGER.debug(fresh.summary())
        probs = torch.from_numpy(arrays["logits"]).softmax(dim=-1)
        top_p, top_i = probs.topk(self.top_k, dim=-1)
        names = imagenet_class_names()
        labels = [
            [(names[int(i)], float(p)) for p, i in zip(row_p, row_i)]
            for row_p, row_i in zip(top_p, top_i)
        ]
        crops = crop_mask = None
        meta = {
            "backbone": self.backbone_name,
            "condition": self.condition,
            "synthetic": self.synthetic,
            "image_size": self.image_size,
            "keys": keys,
        }
        if self.crops != "none":
            c = self.crop_store.get([self._crop_key(p) for p in plans], ["crops", "mask", "boxes"])
            crops = torch.from_numpy(c["crops"])
            crop_mask = torch.from_numpy(c["mask"]) > 0.5
            meta["crop_boxes"] = torch.from_numpy(c["boxes"])  # (B, M, 4) in [0, 1]
        captions = caption_flags = None
        if self.captions is not None:
            captions, caption_flags = self.captions(tweets)
            meta["caption_kind"] = self.captions.kind
            if self.caption_encoder is None:
                self.caption_encoder = CaptionEncoder()
        return ImageBatch(
            global_vec=torch.from_numpy(arrays["global"]),
            regions=torch.from_numpy(arrays["regions"]),
            pyramid=[torch.from_numpy(arrays[f"pyr{i}"]) for i in range(3)]
            + [torch.from_numpy(arrays["regions"]).transpose(1, 2).reshape(len(keys), -1, 7, 7)],
            labels=labels,
            flags=flags,
            crops=crops,
            crop_mask=crop_mask,
            meta=meta,
            captions=captions,
            caption_flags=caption_flags,
            caption_kind=self.captions.kind if self.captions is not None else "",
            caption_encoder=self.caption_encoder,
        )
