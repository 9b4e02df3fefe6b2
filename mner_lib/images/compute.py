"""Computing image features: the backbone pass over batches of images, crops, and the cache.

:class:`FeatureComputer` is the part of :class:`mner_lib.images.features.ImageFeatures` that runs
the backbone: it turns plans (which picture, under which cache key) into cached arrays. It is a
mixin: it reads the feature object's settings (``image_size``, ``batch_size``, ``crops`` ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from mner_lib.images.crops import saliency_boxes

GRID = 7
BASE_NAMES = ("regions", "global", "pyr0", "pyr1", "pyr2", "logits")
CROP_NAMES = ("crops", "mask", "boxes")
#: How an image is resized to the backbone's input (part of the feature cache's identity).
RESAMPLING = "bicubic"


@dataclass
class _Plan:
    key: str
    flag: str
    source: tuple  # ("blank",) | ("file", path, tweet_id) | ("probe", tweet_id, types)


class FeatureComputer:
    """Backbone passes and caching for :class:`~mner_lib.images.features.ImageFeatures`."""

    def _tensor(self, images: Sequence[Image.Image]) -> torch.Tensor:
        size = (self.image_size, self.image_size)
        method = {"bicubic": Image.BICUBIC}[RESAMPLING]
        arrays = [np.asarray(im.resize(size, method), dtype=np.float32) for im in images]
        batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) / 255.0
        mean = torch.tensor(self.model.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.model.std).view(1, 3, 1, 1)
        return ((batch - mean) / std).contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def _forward(self, images: Sequence[Image.Image]) -> dict[str, np.ndarray]:
        out = self.model(self._tensor(images))
        pooled = [F.adaptive_avg_pool2d(s, GRID) for s in out.stages]
        last = pooled[-1]
        return {
            "regions": last.flatten(2).transpose(1, 2).numpy(),  # (B, 49, D)
            "global": out.stages[-1].mean(dim=(2, 3)).numpy(),  # (B, D)
            "pyr0": pooled[0].numpy(),
            "pyr1": pooled[1].numpy(),
            "pyr2": pooled[2].numpy(),
            "logits": out.logits.numpy(),
        }

    def _crop_key(self, plan: _Plan) -> str:
        """The crops' cache key: the image's, the crop mode and count, and for boxes read from
        an annotation file, that file's content hash (the boxes depend on the tweet's file, not
        only on the image's bytes)."""
        key = f"{plan.key}|{self.crops}{self.max_crops}"
        if self.crops == "boxes" and plan.source[0] == "file":
            key += "|xml-" + self._boxes_digest(plan.source[2])
        return key

    def _crop_arrays(
        self, image: Image.Image, regions: np.ndarray, boxes: list, none: bool = False
    ) -> dict:
        m = self.max_crops
        if none:
            boxes = []
        elif self.crops == "saliency":
            energy = np.linalg.norm(regions.reshape(GRID, GRID, -1).astype(np.float32), axis=-1)
            boxes = saliency_boxes(energy, image.width, image.height, m)
        boxes = list(boxes)[:m]
        vecs = np.zeros((m, self.global_dim), np.float32)
        mask = np.zeros(m, np.float32)
        norm_boxes = np.zeros((m, 4), np.float32)
        if boxes:
            crops = [image.crop(box) for box in boxes]
            vecs[: len(boxes)] = self._forward(crops)["global"]
            mask[: len(boxes)] = 1.0
            norm_boxes[: len(boxes)] = np.asarray(boxes, np.float32) / np.asarray(
                [image.width, image.height, image.width, image.height], np.float32
            )
        return {"crops": vecs, "mask": mask, "boxes": norm_boxes}

    def _ensure(self, plans: Sequence[_Plan], progress: bool = False) -> None:
        store = self.store
        missing_keys = set(store.missing([p.key for p in plans]))
        todo = {p.key: p for p in plans if p.key in missing_keys}
        crop_todo: dict[str, _Plan] = {}
        if self.crops != "none":
            crop_keys = {self._crop_key(p): p for p in plans}
            missing = set(self.crop_store.missing(list(crop_keys)))
            crop_todo = {k: p for k, p in crop_keys.items() if k in missing}
        work = list(todo.values()) + [p for p in crop_todo.values() if p.key not in todo]
        if not work:
            return
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(work), desc=f"features {self.backbone_name}", unit="img")
        for start in range(0, len(work), self.batch_size):
            chunk = work[start : start + self.batch_size]
            loaded = [self._image(p) for p in chunk]
            need = [i for i, p in enumerate(chunk) if p.key in todo]
            arrays = self._forward([loaded[i][0] for i in need]) if need else {}
            for row, i in enumerate(need):
                key = chunk[i].key
                store.put(key, {name: arrays[name][row] for name in BASE_NAMES})
                if loaded[i][1]:
                    self._record_failure(key, loaded[i][1])
            self.computed += len(need)
            for i, plan in enumerate(chunk):
                crop_key = self._crop_key(plan)
                if crop_key not in crop_todo:
                    continue
                if plan.key in todo:
                    regions = arrays["regions"][need.index(i)]
                else:
                    regions = store.get([plan.key], ["regions"])["regions"][0]
                image, failed, boxes = loaded[i]
                no_image = failed or plan.source[0] == "blank"  # the blank image has no objects
                arrays_c = self._crop_arrays(image, regions, boxes, none=bool(no_image))
                self.crop_store.put(crop_key, arrays_c)
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
        store.flush()
        if self.crops != "none":
            self.crop_store.flush()
