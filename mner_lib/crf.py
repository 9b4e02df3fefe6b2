"""A linear-chain CRF: a thin wrapper over ``pytorch-crf`` (``torchcrf.CRF``).

What the wrapper adds (the allennlp CRF is the model for these two):

* boolean masks throughout (``pytorch-crf`` is given ``torch.bool``, never ``uint8``);
* optional BIO2 transition constraints: ``O -> I-X``, ``B-X -> I-Y`` and ``I-X -> I-Y`` (X != Y)
  and a start in ``I-X`` are forbidden by fixing those transition scores to a large negative
  number, so Viterbi never produces them and the partition function ignores them.

The first position of every sequence must be unmasked (``mask[:, 0]`` all True), as in
``pytorch-crf``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torchcrf import CRF as _TorchCRF

FORBIDDEN = -1e4


def bio_allowed(tags: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Allowed (start, transition) matrices for BIO2 tags: start (T,), transitions (T, T)."""
    n = len(tags)
    start = torch.ones(n, dtype=torch.bool)
    trans = torch.ones(n, n, dtype=torch.bool)
    for j, to_tag in enumerate(tags):
        if to_tag.startswith("I-"):
            start[j] = False
            for i, from_tag in enumerate(tags):
                if from_tag == "O" or from_tag[2:] != to_tag[2:] or from_tag[:1] not in "BI":
                    trans[i, j] = False
    return start, trans


@torch.no_grad()
def viterbi_decode(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> list[list[int]]:
    """Batched Viterbi, the same arithmetic as ``torchcrf.CRF._viterbi_decode`` (so the same
    paths) but with the back-tracking done on whole-batch tensors instead of a Python loop per
    sequence and per token (that loop made decoding several times slower).

    emissions (B, T, K), mask (B, T) bool with ``mask[:, 0]`` True; start/end (K,), transitions
    (K, K) with ``transitions[i, j]`` the score of i -> j. Returns one list of tag ids per sequence.

    delta_0 = start + e_0;  delta_t(j) = max_i delta_{t-1}(i) + A[i, j] + e_t(j)  (masked steps
    keep delta and point to themselves); best path ends in argmax_j delta_T(j) + end(j).
    """
    batch, length, num_tags = emissions.shape
    score = start + emissions[:, 0]  # (B, K)
    history = []
    identity = torch.arange(num_tags, device=emissions.device).expand(batch, num_tags)
    for t in range(1, length):
        next_score = score.unsqueeze(2) + transitions + emissions[:, t].unsqueeze(1)
        next_score, indices = next_score.max(dim=1)
        step = mask[:, t].unsqueeze(1)
        score = torch.where(step, next_score, score)
        history.append(torch.where(step, indices, identity))
    score = score + end
    best = score.max(dim=1).indices  # (B,)
    path = [best]
    for indices in reversed(history):
        best = indices.gather(1, best.unsqueeze(1)).squeeze(1)
        path.append(best)
    path.reverse()
    tags = torch.stack(path, dim=1).tolist()  # (B, T)
    lengths = mask.sum(dim=1).tolist()
    return [row[:n] for row, n in zip(tags, lengths)]


class CRF(nn.Module):
    """CRF over ``num_tags`` tags. ``tags`` (names) with ``constrain_bio=True`` forbids the
    impossible BIO2 transitions."""

    def __init__(
        self, num_tags: int, tags: Sequence[str] | None = None, constrain_bio: bool = False
    ):
        super().__init__()
        if constrain_bio and (tags is None or len(tags) != num_tags):
            raise ValueError("constrain_bio=True needs the list of tag names (one per tag)")
        self.num_tags = num_tags
        self.constrain_bio = constrain_bio
        self.crf = _TorchCRF(num_tags, batch_first=True)
        if constrain_bio:
            start, trans = bio_allowed(tags)
        else:
            start = torch.ones(num_tags, dtype=torch.bool)
            trans = torch.ones(num_tags, num_tags, dtype=torch.bool)
        self.register_buffer("allowed_start", start, persistent=False)
        self.register_buffer("allowed_transitions", trans, persistent=False)

    def _apply_constraints(self) -> None:
        if not self.constrain_bio:
            return
        with torch.no_grad():
            self.crf.start_transitions.masked_fill_(~self.allowed_start, FORBIDDEN)
            self.crf.transitions.masked_fill_(~self.allowed_transitions, FORBIDDEN)

    @staticmethod
    def _check(emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if emissions.dim() != 3:
            raise ValueError(f"emissions must be (batch, seq, tags), got {tuple(emissions.shape)}")
        mask = mask.to(torch.bool)
        if mask.shape != emissions.shape[:2]:
            raise ValueError(
                f"mask {tuple(mask.shape)} does not match emissions {tuple(emissions.shape[:2])}"
            )
        if not bool(mask[:, 0].all()):
            raise ValueError("the first position of every sequence must be unmasked")
        return mask

    def log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Log-likelihood of each sequence, shape (batch,)."""
        mask = self._check(emissions, mask)
        self._apply_constraints()
        return self.crf(emissions.float(), tags.long(), mask=mask, reduction="none")

    def neg_log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Mean negative log-likelihood over the batch (the training loss)."""
        return -self.log_likelihood(emissions, tags, mask).mean()

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Viterbi: the best tag path of each sequence (length = its unmasked length)."""
        mask = self._check(emissions, mask)
        self._apply_constraints()
        return viterbi_decode(
            emissions.float(),
            mask,
            self.crf.start_transitions,
            self.crf.transitions,
            self.crf.end_transitions,
        )

    def score(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Unnormalised score of a tag path (for tests and analysis), shape (batch,)."""
        mask = self._check(emissions, mask)
        self._apply_constraints()
        e, t, m = (
            emissions.float().transpose(0, 1),
            tags.long().transpose(0, 1),
            mask.transpose(0, 1),
        )
        return self.crf._compute_score(e, t, m)
