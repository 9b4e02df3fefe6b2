"""Image backbones with their batch norms (and EfficientNet-Lite's symmetric same-padding)
folded into the convolutions (:mod:`mner_lib.images.folding`, what
``build_image_backbone`` does by default) against the unfolded network, on CPU, both in
channels-last format: writes ``benchmarks/backbone_folding.md`` (and ``.json``), with the
measurement of benchmarks/bench_channels_last.py.

    python benchmarks/bench_backbone_folding.py [--batch 16] [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_channels_last import backbone, run  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(
        run(
            "backbone_folding",
            "Image backbones with batch norms folded into their convolutions",
            "Both channels-last; VGG16 has no batch norm (its arms are the same network).",
            {
                "unfolded": backbone(torch.channels_last),
                "folded": backbone(torch.channels_last, fold=True),
            },
        )
    )
