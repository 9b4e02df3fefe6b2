"""Scoring a segmenter on held-out phrases: exact match and boundary precision / recall / F1,
and the F1 of a chance splitter for comparison."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mner_lib.hashtags.examples import JoinedExample, boundary_offsets
from mner_lib.hashtags.frontend import Segmenter


def evaluate_segmenter(segmenter: Segmenter, examples: Sequence[JoinedExample]) -> dict[str, Any]:
    """Exact-match accuracy and boundary precision / recall / F1 (micro over all phrases).

    A boundary is a character offset between two words; a phrase counts as exact when the
    predicted words equal the gold words. Also broken down by the number of gold words.
    """
    if not examples:
        raise ValueError("evaluate_segmenter needs at least one example")
    texts = [ex.text for ex in examples]
    if hasattr(segmenter, "segment_many"):
        predicted = segmenter.segment_many(texts, case_prior=False)  # type: ignore[attr-defined]
    else:
        predicted = [segmenter.segment(t, case_prior=False) for t in texts]
    tp = fp = fn = exact = 0
    by_n: dict[int, list[int]] = {}
    for ex, words in zip(examples, predicted):
        gold, pred = boundary_offsets(ex.words), boundary_offsets(words)
        tp += len(gold & pred)
        fp += len(pred - gold)
        fn += len(gold - pred)
        hit = int(tuple(words) == ex.words)
        exact += hit
        by_n.setdefault(len(ex.words), []).append(hit)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": len(examples),
        "exact_match": exact / len(examples),
        "boundary_precision": precision,
        "boundary_recall": recall,
        "boundary_f1": f1,
        "exact_match_by_words": {str(n): sum(h) / len(h) for n, h in sorted(by_n.items())},
        "count_by_words": {str(n): len(h) for n, h in sorted(by_n.items())},
    }


def chance_boundary_f1(examples: Sequence[JoinedExample]) -> float:
    """Expected boundary F1 of a splitter that cuts each gap with the gold boundary rate."""
    gaps = sum(len(ex.text) - 1 for ex in examples)
    gold = sum(len(ex.words) - 1 for ex in examples)
    if gaps == 0 or gold == 0:
        return 0.0
    return gold / gaps  # expected precision = recall = the gold boundary rate
