"""``mner_lib.models.precision``: which precision a device gets, the autocast context, the CRF in fp32."""

from __future__ import annotations

import pytest
import torch

from mner_lib.models import precision
from mner_lib.models.crf import CRF


def test_resolve_precision_explicit_auto_and_errors(monkeypatch):
    monkeypatch.delenv("MNER_PRECISION", raising=False)
    assert precision.resolve_precision("fp32", "cuda") == "fp32"
    assert precision.resolve_precision("bf16", "cpu") == "bf16"
    assert precision.resolve_precision("auto", "cuda") == "bf16"
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512f", "amx_bf16"}))
    assert precision.resolve_precision("auto", "cpu") == "bf16"
    # AVX512-BF16 without AMX measured slower than fp32: fp32 unless asked for
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert precision.resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setenv("MNER_BF16_AVX512", "1")
    assert precision.resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setenv("MNER_PRECISION", "fp32")
    assert precision.resolve_precision("auto", "cuda") == "fp32"
    with pytest.raises(ValueError, match="valid: auto, fp32, bf16"):
        precision.resolve_precision("fp16", "cpu")
    monkeypatch.setenv("MNER_PRECISION", "half")
    with pytest.raises(ValueError, match=r"\$MNER_PRECISION"):
        precision.resolve_precision("auto", "cpu")


def test_autocast_switches_matmul_dtype():
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(2, 4)
    with precision.autocast("cpu", "bf16"):
        assert layer(x).dtype == torch.bfloat16
    with precision.autocast("cpu", "fp32"):
        assert layer(x).dtype == torch.float32


def test_crf_stays_fp32_under_bf16_autocast():
    torch.manual_seed(0)
    crf = CRF(5)
    emissions = torch.randn(3, 7, 5)
    tags = torch.randint(0, 5, (3, 7))
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[1, 4:] = False
    reference = crf.neg_log_likelihood(emissions, tags, mask)
    with precision.autocast("cpu", "bf16"):
        loss = crf.neg_log_likelihood(emissions.to(torch.bfloat16), tags, mask)
        paths = crf.decode(emissions, mask)
    assert loss.dtype == torch.float32
    # the only difference is the bf16 rounding of the emissions, not the CRF's arithmetic
    rounded = crf.neg_log_likelihood(emissions.to(torch.bfloat16).float(), tags, mask)
    assert loss.item() == pytest.approx(rounded.item(), abs=1e-5)
    assert loss.item() == pytest.approx(reference.item(), rel=2e-2)
    assert paths == crf.decode(emissions, mask)
