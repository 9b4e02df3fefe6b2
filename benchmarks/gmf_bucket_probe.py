"""GMF with length-bucketed batches against plain shuffled batches, on real tweets, paired by
seed: the campaign's probe rows ``probe_gmf_alpha0.3`` (buckets off) and ``probe_gmf_buckets20``
(pools of 20 batches sorted by length), Twitter-2017, BLIP-2 captions, 1000 training tweets,
500 dev/test tweets, 3 epochs, seeds 0-2 (``mner_lib/experiments/campaign.py``).

Reads the runs' ``metrics.json`` and writes ``benchmarks/gmf_bucket_probe.txt``: test and dev F1
per seed, the paired differences, and training tweets/s (the two workers of the campaign ran
side by side, one thread each, so the speed ratio is good to about +-20 %). Run from the
repository root: ``python benchmarks/gmf_bucket_probe.py [results]``.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

OFF, ON = "probe_gmf_alpha0.3", "probe_gmf_buckets20"
RUN = "gmf/twitter2017/caption-blip2/seed{seed}/metrics.json"


def _runs(root: Path, experiment: str) -> dict[int, dict]:
    found = {}
    for seed in (0, 1, 2):
        path = root / experiment / RUN.format(seed=seed)
        if path.is_file():
            found[seed] = json.loads(path.read_text())
    return found


def _mean_std(values: list[float]) -> str:
    spread = f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):+.2f}{spread} (n={len(values)})"


def summary(root: Path) -> list[str]:
    off, on = _runs(root, OFF), _runs(root, ON)
    seeds = sorted(set(off) & set(on))
    lines = [
        f"GMF, length buckets 20 ({ON}) against none ({OFF}), paired by seed",
        "Twitter-2017, caption:blip2, 1000 train / 500 dev/test tweets, 3 epochs, alpha 0.3",
        "",
        "seed | test F1 off | test F1 on | dev F1 off | dev F1 on | train tweets/s off | on | commits",
    ]
    for seed in seeds:
        a, b = off[seed], on[seed]
        lines.append(
            f"{seed} | {a['test']['f1']:.2f} | {b['test']['f1']:.2f} | {a['dev']['f1']:.2f} | "
            f"{b['dev']['f1']:.2f} | {a['train_tweets_per_second']:.1f} | "
            f"{b['train_tweets_per_second']:.1f} | {a['commit'][:7]}, {b['commit'][:7]}"
        )
    if not seeds:
        return [*lines, "", "no seed has both runs yet"]
    test = [on[s]["test"]["f1"] - off[s]["test"]["f1"] for s in seeds]
    dev = [on[s]["dev"]["f1"] - off[s]["dev"]["f1"] for s in seeds]
    # speed only where both runs came from one campaign start (side by side, same load): a run
    # recorded earlier, on a differently loaded machine, says nothing about the ratio
    same = [s for s in seeds if on[s]["commit"] == off[s]["commit"]]
    speed = [on[s]["train_tweets_per_second"] / off[s]["train_tweets_per_second"] for s in same]
    better = sum(d > 0 for d in test)
    ratio = (
        f"{statistics.mean(speed):.2f}x (seeds {', '.join(map(str, same))}: the pairs run side by"
        " side from one commit)"
        if speed
        else "no pair ran side by side"
    )
    return [
        *lines,
        "",
        f"test F1, on - off: {_mean_std(test)}; better in {better} of {len(seeds)} seeds",
        f"dev F1, on - off: {_mean_std(dev)}",
        f"training speed, on / off: {ratio}",
    ]


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path("results")
    text = "\n".join(summary(root)) + "\n"
    out = Path(__file__).resolve().parent / "gmf_bucket_probe.txt"
    out.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
