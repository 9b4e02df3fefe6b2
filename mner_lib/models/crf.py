"""A linear-chain CRF whose parameters live in ``pytorch-crf``'s ``torchcrf.CRF`` and whose
arithmetic (path score, partition function, Viterbi) lives here.

The score of a tag path y_1..y_n of a sequence with emissions e is

    s(y) = start[y_1] + sum_t e_t[y_t] + sum_{t>1} A[y_{t-1}, y_t] + end[y_n]

and its log-likelihood is s(gold) - log Z, with log Z the log-sum-exp of s over every path
(the forward algorithm). ``pytorch-crf`` holds the three learned score tables (``start``,
``end``, ``A``) as ``crf.start_transitions``, ``crf.end_transitions`` and ``crf.transitions``,
so the state_dict keys of models saved before this module computed the scores itself still load,
and its public ``forward``/``decode`` remain the reference the tests compare with.

What this module adds (the allennlp CRF is the model for these):

* boolean masks throughout, padding ignored (tags under the mask may hold any value);
* optional BIO2 constraints: a start in ``I-X`` and the transitions ``O -> I-X``,
  ``B-X -> I-Y`` and ``I-X -> I-Y`` (X != Y) are forbidden. The constraint is a mask applied to
  the score tables in every computation (numerator, partition function and Viterbi): each
  forbidden entry is read as ``FORBIDDEN`` (-1e4) whatever its learned value. The parameters
  themselves are never written (an earlier version overwrote them before every call), so the
  optimiser's state stays consistent and a forbidden entry gets no gradient.

Why a replaced score of -1e4 and not an added one: a finite amount added to a learned score can
be beaten by the score itself (a forbidden transition learned up to +2e4 would survive -1e4),
and an added -inf makes the loss infinite for a gold path that breaks BIO2; 166 of Twitter-2015's
4000 training tweets do (e.g. ``O`` followed by ``I-PER``). Replaced by -1e4, such a path stays
representable and its loss finite (large), as it was before.

The first position of every sequence must be unmasked (``mask[:, 0]`` all True), as in
``pytorch-crf``. Every loop below runs over time steps, each step on the whole batch. Speed on a
batch of 16 tweets x 30 tokens x 9 tags, one CPU thread, idle machine: loss forward+backward
2.9 ms (5.0 ms through ``pytorch-crf``'s forward, whose path score loops over time too),
Viterbi 0.93 ms (unchanged).
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


def path_score(
    emissions: torch.Tensor,
    tags: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """Unnormalised score s(y) of the tag path ``tags`` of each sequence, shape (B,).

    emissions (B, T, K); tags (B, T) long; mask (B, T) bool with ``mask[:, 0]`` True; start/end
    (K,); transitions (K, K) with ``transitions[i, j]`` the score of i -> j. Computed without a
    loop: gathered emission and transition scores, summed under the mask (as ``pytorch-crf``
    does, a masked step adds neither its emission nor its transition), and the end score of the
    last unmasked tag.
    """
    tags = tags.masked_fill(~mask, 0)  # padding may hold any value, even an invalid index
    weights = mask.to(emissions.dtype)
    emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # e_t[y_t], (B, T)
    moved = transitions[tags[:, :-1], tags[:, 1:]]  # A[y_{t-1}, y_t], (B, T-1)
    last = mask.sum(dim=1, keepdim=True) - 1
    last_tags = tags.gather(1, last).squeeze(1)
    return (
        start[tags[:, 0]]
        + (emitted * weights).sum(dim=1)
        + (moved * weights[:, 1:]).sum(dim=1)
        + end[last_tags]
    )


def log_partition(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """log Z of each sequence (the forward algorithm), shape (B,); arguments as in
    :func:`path_score`.

    alpha_1 = start + e_1;  alpha_t(j) = logsumexp_i(alpha_{t-1}(i) + A[i, j]) + e_t(j) where
    ``mask[:, t]`` (a masked step keeps alpha);  log Z = logsumexp_j(alpha_n(j) + end(j)).
    """
    steps = emissions.transpose(0, 1)  # (T, B, K): one contiguous slice per step
    keep = mask.transpose(0, 1).unsqueeze(2)  # (T, B, 1)
    alpha = start + steps[0]
    for t in range(1, int(mask.sum(dim=1).max())):
        nxt = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + steps[t]
        alpha = torch.where(keep[t], nxt, alpha)
    return torch.logsumexp(alpha + end, dim=1)


@torch.no_grad()
def viterbi_decode(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> list[list[int]]:
    """Batched Viterbi, the same arithmetic as ``pytorch-crf``'s ``decode`` (so the same paths)
    with the back-tracking done on whole-batch tensors instead of a Python loop per sequence and
    per token (that loop made decoding several times slower). Arguments as in
    :func:`path_score`; returns one list of tag ids per sequence (its unmasked length).

    delta_1 = start + e_1;  delta_t(j) = max_i delta_{t-1}(i) + A[i, j] + e_t(j)  (masked steps
    keep delta and point to themselves); the best path ends in argmax_j delta_n(j) + end(j).
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
    impossible BIO2 starts and transitions (see the module docstring).

    ``self.crf`` is a ``torchcrf.CRF`` used only as the holder of the three learned score tables
    (its initialisation, its state_dict keys); every score is computed here.
    """

    def __init__(
        self, num_tags: int, tags: Sequence[str] | None = None, constrain_bio: bool = False
    ):
        super().__init__()
        if constrain_bio and (tags is None or len(tags) != num_tags):
            got = "none" if tags is None else f"{len(tags)}"
            raise ValueError(
                f"CRF(constrain_bio=True) needs the list of tag names (one per tag): "
                f"num_tags={num_tags}, tag names given: {got}"
            )
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
        # BIO2 allows every tag to end a tweet; the mask is kept for symmetry and other schemes
        self.register_buffer(
            "allowed_end", torch.ones(num_tags, dtype=torch.bool), persistent=False
        )

    def constrained_scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The (start, transitions, end) score tables every computation uses: the learned ones,
        with each forbidden entry read as ``FORBIDDEN`` when ``constrain_bio`` is on. New tensors
        (the parameters are not written); gradients reach the allowed entries only."""
        c = self.crf
        if not self.constrain_bio:
            return c.start_transitions, c.transitions, c.end_transitions
        forbidden = torch.tensor(FORBIDDEN, dtype=c.transitions.dtype, device=c.transitions.device)
        return (
            torch.where(self.allowed_start, c.start_transitions, forbidden),
            torch.where(self.allowed_transitions, c.transitions, forbidden),
            torch.where(self.allowed_end, c.end_transitions, forbidden),
        )

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
        """Log-likelihood s(tags) - log Z of each sequence, shape (batch,)."""
        mask = self._check(emissions, mask)
        emissions = emissions.float()
        start, transitions, end = self.constrained_scores()
        gold = path_score(emissions, tags.long(), mask, start, transitions, end)
        return gold - log_partition(emissions, mask, start, transitions, end)

    def neg_log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Mean negative log-likelihood over the batch (the training loss)."""
        return -self.log_likelihood(emissions, tags, mask).mean()

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Viterbi: the best tag path of each sequence (length = its unmasked length)."""
        mask = self._check(emissions, mask)
        return viterbi_decode(emissions.float(), mask, *self.constrained_scores())

    def score(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Unnormalised score s(tags) of a tag path (for tests and analysis), shape (batch,)."""
        mask = self._check(emissions, mask)
        return path_score(emissions.float(), tags.long(), mask, *self.constrained_scores())
