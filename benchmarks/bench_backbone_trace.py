"""Image backbones as the feature cache runs them (folded, channels-last) against a frozen
TorchScript trace of the same network, on CPU: writes ``benchmarks/backbone_trace.md`` (and
``.json``), with the measurement of benchmarks/bench_channels_last.py. Asked while looking for
waste in the tests' image features (benchmarks/test_timing.md): would a trace run faster?

    python benchmarks/bench_backbone_trace.py --only efficientnet-lite0 [--rounds 5]
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_channels_last import Arm, backbone, run  # noqa: E402

from mner_lib.images.backbones import BackboneOutput  # noqa: E402

AS_RUN = backbone(torch.channels_last, fold=True)


class Outputs(torch.nn.Module):
    """A backbone's stages and logits as a tuple of tensors (what the tracer records)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        out = self.model(x)
        return (*out.stages, out.logits)


class Traced(torch.nn.Module):
    """A frozen trace that answers like the backbone it was traced from."""

    def __init__(self, frozen: torch.jit.ScriptModule, default_size: int):
        super().__init__()
        self.frozen, self.default_size = frozen, default_size

    def forward(self, x) -> BackboneOutput:
        out = self.frozen(x)
        return BackboneOutput(list(out[:-1]), out[-1])


def frozen_trace(name: str):
    model, memory = AS_RUN(name)
    size = model.default_size
    example = torch.randn(1, 3, size, size).contiguous(memory_format=memory)
    with torch.no_grad():
        frozen = torch.jit.freeze(torch.jit.trace(Outputs(model).eval(), example))
    return Traced(frozen, size), memory


ARMS: dict[str, Arm] = {"as_run": AS_RUN, "frozen_trace": frozen_trace}

if __name__ == "__main__":
    raise SystemExit(
        run(
            "backbone_trace",
            "Image backbones as run against a frozen TorchScript trace",
            "Both folded and channels-last; the trace is torch.jit.freeze(torch.jit.trace(...)).",
            ARMS,
        )
    )
