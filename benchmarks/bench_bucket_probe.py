"""Length-bucketed batches against plain shuffled batches on the CWI synthetic-probe test
(tests/models/test_cwi.py: the type-blind demo, 300 training tweets, 8 epochs, batch 8, lr 0.01,
seed 0): test F1 with synthetic and with blank images, ``length_buckets`` 0 (off) and 20.

Writes ``benchmarks/bucket_probe.txt``. Run from the repository root:
``python benchmarks/bench_bucket_probe.py``."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mner_lib.training as train  # noqa: E402
from mner_lib.training.runtime import git_commit  # noqa: E402
from tests.probes import CWI_PROBE, train_probe  # noqa: E402


def main() -> None:
    resolve = train.resolve_config
    lines = [f"commit {git_commit()}; cwi on the synthetic probe, seed 0, one process"]
    for buckets in (0, 20):
        train.resolve_config = lambda model, b=buckets, **kw: resolve(
            model, **{"length_buckets": b, **kw}
        )
        scores = train_probe(
            "cwi", CWI_PROBE, Path(tempfile.mkdtemp()), epochs=8, lr=0.01, n_train=300
        )
        lines.append(f"length_buckets={buckets}: " + json.dumps(scores))
    train.resolve_config = resolve
    (ROOT / "benchmarks" / "bucket_probe.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
