"""The first cell of every model chapter's walk through the paper: a few training tweets, their
image features under the chapter's condition, and a fresh (untrained) model with their batch.

One call, :func:`walkthrough`, so the four model chapters share it instead of repeating it."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any


@dataclass
class Walkthrough:
    """What a chapter's component cells take apart."""

    data: Any  # the chapter's Dataset
    features: Any  # ImageFeatures under the chapter's condition
    few: list  # four training tweets with at least one entity
    images: Any  # their ImageBatch
    model: Any  # a fresh model of the chapter (eval mode)
    batch: dict[str, Any]  # model.collate(few, images)

    def describe(self) -> str:
        """The tweets and the feature shapes, in lines short enough for a book page."""
        f, i = self.features, self.images
        kind = "SYNTHETIC images" if f.synthetic else "not synthetic"
        lines = [f"{len(self.few)} tweets; image condition {f.condition!r} ({kind})"]
        lines.append(f"backbone {f.backbone_name}")
        for t in self.few:  # long tweets wrapped: an output box on a book page does not scroll
            lines += textwrap.wrap(
                " ".join(t.tokens), 86, initial_indent="   ", subsequent_indent="     "
            )
        lines.append(f"image features: global {tuple(i.global_vec.shape)}")
        lines.append(f"                regions {tuple(i.regions.shape)}")
        lines += [
            f"                pyramid stage {k + 1} {tuple(p.shape)}"
            for k, p in enumerate(i.pyramid)
        ]
        return "\n".join(lines)


def walkthrough(params: dict[str, Any], model: str, n: int = 4) -> Walkthrough:
    """The chapter's data (``params``), ``n`` training tweets with entities, their features and a
    fresh ``model`` (the chapter's options, the paper's per-dataset ones included), seeded."""
    import torch

    from mner_lib.book.chapters import chapter_model_options
    from mner_lib.images import ImageFeatures
    from mner_lib.models import build_model
    from mner_lib.text.data import load_dataset

    seed, data_dir = params["seeds"][0], params["data_dir"] or None
    torch.manual_seed(seed)
    data = load_dataset(params["dataset"], data_dir, max_train=params["max_train"], seed=seed)
    features = ImageFeatures(
        dataset=params["dataset"],
        data_dir=data_dir,
        backbone=params["backbone"],
        condition=params["condition"],
        seed=seed,
    )
    few = [t for t in data.train if any(tag != "O" for tag in t.tags)][:n]
    images = features(few)
    tagger = build_model(model, data.train, chapter_model_options(params, model)).eval()
    return Walkthrough(data, features, few, images, tagger, tagger.collate(few, images))
