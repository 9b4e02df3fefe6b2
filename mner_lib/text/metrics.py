"""Entity-level precision, recall and F1 with conlleval semantics.

An entity is a maximal run of tags of one type that starts at ``B-X``, or at ``I-X`` when the
previous tag is ``O`` or of another type (an orphan ``I-`` starts an entity, as in conlleval);
``B-X`` always starts a new entity. A predicted entity is right only if its span and its type
both equal a gold entity's. Scores are micro averages over all entities, and per type.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from mner_lib.text.data import ENTITY_TYPES

Entity = tuple[int, int, str]  # (start, end exclusive, type)


def extract_entities(tags: Sequence[str]) -> list[Entity]:
    """Entities of one tag sequence, the conlleval way."""
    entities: list[Entity] = []
    start = None
    etype = None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, kind = tag.partition("-")
        begins = prefix == "B" or (prefix == "I" and kind != etype)
        if start is not None and (prefix == "O" or begins):
            entities.append((start, i, etype))
            start, etype = None, None
        if begins:
            start, etype = i, kind
    return entities


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": 100 * p, "recall": 100 * r, "f1": 100 * f}


def evaluate(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Micro P/R/F1 (in percent) over all entities, and per type, with counts."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sequences but {len(pred)} predicted")
    tp: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sequence {i}: {len(g)} gold tags but {len(p)} predicted")
        gold_entities = set(extract_entities(g))
        pred_entities = set(extract_entities(p))
        for _, _, t in gold_entities:
            n_gold[t] += 1
        for _, _, t in pred_entities:
            n_pred[t] += 1
        for _, _, t in gold_entities & pred_entities:
            tp[t] += 1
    types = list(ENTITY_TYPES) + sorted((set(n_gold) | set(n_pred)) - set(ENTITY_TYPES))
    result = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    result.update(
        {
            "true_positives": sum(tp.values()),
            "gold": sum(n_gold.values()),
            "predicted": sum(n_pred.values()),
        }
    )
    result["per_type"] = {
        t: {
            **_prf(tp[t], n_pred[t], n_gold[t]),
            "gold": n_gold[t],
            "predicted": n_pred[t],
            "true_positives": tp[t],
        }
        for t in types
    }
    return result


def format_scores(scores: dict) -> str:
    lines = [f"{'type':<6} {'P':>6} {'R':>6} {'F1':>6} {'gold':>6} {'pred':>6}"]
    for t, s in scores["per_type"].items():
        lines.append(
            f"{t:<6} {s['precision']:6.2f} {s['recall']:6.2f} {s['f1']:6.2f} {s['gold']:6d} {s['predicted']:6d}"
        )
    lines.append(
        f"{'all':<6} {scores['precision']:6.2f} {scores['recall']:6.2f} {scores['f1']:6.2f} "
        f"{scores['gold']:6d} {scores['predicted']:6d}"
    )
    return "\n".join(lines)
