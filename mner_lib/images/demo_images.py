"""Draw the demo corpus's images: one synthetic visual-clue probe per demo tweet.

``python -m mner_lib.images.demo_images`` (re)writes ``mner_lib/demo_data/images/<id>.jpg`` for every
tweet of ``mner_lib/demo_data/{train,dev,test}.txt``: the probe of :mod:`mner_lib.images.probe`
(one icon per entity, shape and colour by type; distractors; noise), drawn at
:data:`SIZE` pixels from (tweet id, seed :data:`SEED`) and saved as a small JPEG, so the whole
folder stays under 2 MB. These images are synthetic: every result on the demo corpus with
images is labelled so (``ImageFeatures.describe()["synthetic"]``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mner_lib.images.probe import draw_probe, probe_types
from mner_lib.text.data import DEMO_DIR, SPLITS, read_tweets

SEED = 0
SIZE = 96
QUALITY = 65


def draw_demo_images(out_dir: Path = DEMO_DIR / "images", size: int = SIZE) -> dict:
    """Write one JPEG per demo tweet; returns ``{"images": n, "bytes": total}``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    count = total = 0
    for split in SPLITS:
        for tweet in read_tweets(DEMO_DIR / f"{split}.txt"):
            drawing = draw_probe(tweet.id, probe_types(tweet.tags), SEED, size)
            path = out_dir / f"{tweet.id}.jpg"
            drawing.image.save(path, "JPEG", quality=QUALITY, optimize=True)
            count += 1
            total += path.stat().st_size
    return {"images": count, "bytes": total}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEMO_DIR / "images")
    parser.add_argument("--size", type=int, default=SIZE)
    args = parser.parse_args(argv)
    info = draw_demo_images(args.out, args.size)
    print(f"wrote {info['images']} images to {args.out} ({info['bytes'] / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
