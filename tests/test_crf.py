"""The CRF against brute-force enumeration: Viterbi, log-likelihood, BIO constraints, masks."""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch

from mner_lib.crf import CRF, bio_allowed, viterbi_decode
from mner_lib.data import TAGS

BIO5 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def random_crf(num_tags: int, seed: int, tags=None, constrain: bool = False) -> CRF:
    gen = torch.Generator().manual_seed(seed)
    crf = CRF(num_tags, tags, constrain_bio=constrain)
    with torch.no_grad():
        for p in (crf.crf.start_transitions, crf.crf.end_transitions, crf.crf.transitions):
            p.copy_(torch.randn(p.shape, generator=gen))
    return crf


def random_batch(num_tags: int, seed: int, batch: int = 4, max_len: int = 5):
    gen = torch.Generator().manual_seed(1000 + seed)
    lengths = torch.randint(1, max_len + 1, (batch,), generator=gen)
    lengths[0] = max_len  # one full-length sequence
    emissions = torch.randn(batch, max_len, num_tags, generator=gen) * 2
    mask = torch.arange(max_len)[None] < lengths[:, None]
    return emissions, mask, lengths.tolist()


def all_paths(num_tags: int, length: int, allowed=None):
    for path in itertools.product(range(num_tags), repeat=length):
        if allowed is None or allowed(path):
            yield list(path)


def path_scores(
    crf: CRF, emissions: torch.Tensor, length: int, paths: list[list[int]]
) -> torch.Tensor:
    """crf.score of every path for one sequence (emissions (T, K)), in one batch."""
    n = len(paths)
    e = emissions[:length].unsqueeze(0).expand(n, -1, -1)
    tags = torch.tensor(paths, dtype=torch.long)
    mask = torch.ones(n, length, dtype=torch.bool)
    return crf.score(e, tags, mask).detach()


def bio_ok(tags: list[str]):
    def allowed(path) -> bool:
        prev = "O"
        for k in path:
            tag = tags[k]
            if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
                return False
            prev = tag
        return True

    return allowed


@pytest.fixture(autouse=True)
def no_warnings():
    """Every CRF call here must run without a warning (e.g. pytorch-crf's uint8 masks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("num_tags", [3, 4, 5])
@pytest.mark.parametrize("seed", range(4))
def test_viterbi_and_likelihood_match_brute_force(num_tags, seed):
    crf = random_crf(num_tags, seed)
    emissions, mask, lengths = random_batch(num_tags, seed)
    decoded = crf.decode(emissions, mask)
    assert [len(p) for p in decoded] == lengths
    gold = torch.stack(
        [torch.tensor((p + [0] * emissions.shape[1])[: emissions.shape[1]]) for p in decoded]
    )
    ll = crf.log_likelihood(emissions, gold, mask).detach()
    for b, length in enumerate(lengths):
        paths = list(all_paths(num_tags, length))
        scores = path_scores(crf, emissions[b], length, paths)
        best = int(scores.argmax())
        assert decoded[b] == paths[best]
        # the decoded path's own score equals the brute-force maximum
        assert float(scores[best]) == pytest.approx(float(scores.max()), abs=1e-5)
        # log-likelihood = score(path) - logsumexp over all paths (the partition function)
        expected = scores[best] - torch.logsumexp(scores, dim=0)
        assert float(ll[b]) == pytest.approx(float(expected), abs=1e-4)


def test_likelihood_of_random_paths_and_padding_is_ignored():
    crf = random_crf(4, 7)
    emissions, mask, lengths = random_batch(4, 7, batch=6, max_len=4)
    gen = torch.Generator().manual_seed(3)
    tags = torch.randint(0, 4, mask.shape, generator=gen)
    ll = crf.log_likelihood(emissions, tags, mask).detach()
    for b, length in enumerate(lengths):
        paths = list(all_paths(4, length))
        scores = path_scores(crf, emissions[b], length, paths)
        own = path_scores(crf, emissions[b], length, [tags[b, :length].tolist()])[0]
        assert float(ll[b]) == pytest.approx(float(own - torch.logsumexp(scores, 0)), abs=1e-4)
    # what lies under the mask changes nothing
    noisy_e = emissions.masked_fill(~mask.unsqueeze(-1), 55.0)
    noisy_t = tags.masked_fill(~mask, 3)
    assert torch.allclose(crf.log_likelihood(noisy_e, noisy_t, mask).detach(), ll)
    assert crf.decode(noisy_e, mask) == crf.decode(emissions, mask)
    nll = crf.neg_log_likelihood(emissions, tags, mask).detach()
    assert float(nll) == pytest.approx(float(-ll.mean()))


@pytest.mark.parametrize("seed", range(4))
def test_bio_constraints_brute_force(seed):
    crf = random_crf(5, seed, BIO5, constrain=True)
    emissions, mask, lengths = random_batch(5, seed, batch=5, max_len=5)
    emissions[:, :, [2, 4]] += 3.0  # make the I- tags tempting
    decoded = crf.decode(emissions, mask)
    allowed = bio_ok(BIO5)
    gold = torch.stack([torch.tensor((p + [0] * 5)[:5]) for p in decoded])
    ll = crf.log_likelihood(emissions, gold, mask).detach()
    for b, length in enumerate(lengths):
        assert allowed(decoded[b]), [BIO5[k] for k in decoded[b]]
        paths = list(all_paths(5, length, allowed))
        scores = path_scores(crf, emissions[b], length, paths)
        assert decoded[b] == paths[int(scores.argmax())]
        expected = scores[int(scores.argmax())] - torch.logsumexp(scores, 0)
        assert float(ll[b]) == pytest.approx(float(expected), abs=1e-4)


def test_unconstrained_crf_does_produce_forbidden_paths():
    """The same tempting emissions without constraints give O -> I- (so the test above bites)."""
    crf = CRF(5, BIO5)
    emissions = torch.zeros(1, 3, 5)
    emissions[0, :, 2] = 5.0  # I-PER everywhere
    assert crf.decode(emissions, torch.ones(1, 3, dtype=torch.bool)) == [[2, 2, 2]]
    crf_bio = CRF(5, BIO5, constrain_bio=True)
    assert crf_bio.decode(emissions, torch.ones(1, 3, dtype=torch.bool)) == [[1, 2, 2]]


def test_bio_allowed_matrix_on_the_full_tag_set():
    start, trans = bio_allowed(TAGS)
    idx = {t: i for i, t in enumerate(TAGS)}
    for tag in TAGS:
        assert bool(start[idx[tag]]) == (not tag.startswith("I-"))
    assert not trans[idx["O"], idx["I-PER"]]
    assert not trans[idx["B-PER"], idx["I-LOC"]]
    assert not trans[idx["I-ORG"], idx["I-MISC"]]
    assert trans[idx["B-PER"], idx["I-PER"]] and trans[idx["I-PER"], idx["I-PER"]]
    assert trans[idx["I-PER"], idx["B-LOC"]] and trans[idx["O"], idx["B-MISC"]]
    assert trans[idx["B-LOC"], idx["O"]]
    assert int((~trans).sum()) == 4 * 7  # each I-X: from O and the 6 tags of other types


def test_decode_on_the_full_tag_set_never_breaks_bio():
    crf = random_crf(len(TAGS), 0, list(TAGS), constrain=True)
    gen = torch.Generator().manual_seed(0)
    emissions = torch.randn(64, 20, len(TAGS), generator=gen) * 3
    lengths = torch.randint(1, 21, (64,), generator=gen)
    mask = torch.arange(20)[None] < lengths[:, None]
    allowed = bio_ok(list(TAGS))
    for path in crf.decode(emissions, mask):
        assert allowed(path)


@pytest.mark.parametrize("num_tags", [3, 9])
def test_batched_viterbi_equals_pytorch_crf(num_tags):
    """Our batched back-tracking gives the paths of pytorch-crf's own decode."""
    crf = random_crf(num_tags, 11)
    gen = torch.Generator().manual_seed(5)
    emissions = torch.randn(200, 30, num_tags, generator=gen)
    lengths = torch.randint(1, 31, (200,), generator=gen)
    mask = torch.arange(30)[None] < lengths[:, None]
    assert crf.decode(emissions, mask) == crf.crf.decode(emissions, mask=mask)
    c = crf.crf
    assert viterbi_decode(
        emissions, mask, c.start_transitions, c.transitions, c.end_transitions
    ) == (c.decode(emissions, mask=mask))


def test_masks_of_other_dtypes_and_bad_inputs():
    crf = random_crf(3, 0)
    emissions, mask, _ = random_batch(3, 0)
    assert crf.decode(emissions, mask.to(torch.uint8)) == crf.decode(emissions, mask)
    assert crf.decode(emissions, mask.long()) == crf.decode(emissions, mask)
    bad = mask.clone()
    bad[1, 0] = False
    with pytest.raises(ValueError, match="first position"):
        crf.decode(emissions, bad)
    with pytest.raises(ValueError, match="first position"):
        crf.log_likelihood(emissions, torch.zeros_like(mask, dtype=torch.long), bad)
    with pytest.raises(ValueError, match=r"mask \(4, 4\) does not match"):
        crf.decode(emissions, mask[:, :4])
    with pytest.raises(ValueError, match="emissions must be"):
        crf.decode(emissions[0], mask[0])
    with pytest.raises(ValueError, match="tag names"):
        CRF(3, constrain_bio=True)


def test_gradients_flow_and_constraints_survive_training():
    crf = CRF(5, BIO5, constrain_bio=True)
    emissions = torch.randn(2, 4, 5, requires_grad=True)
    tags = torch.tensor([[1, 2, 0, 3], [3, 4, 4, 0]])
    mask = torch.ones(2, 4, dtype=torch.bool)
    opt = torch.optim.SGD(crf.parameters(), lr=1.0)
    for _ in range(3):
        opt.zero_grad()
        loss = crf.neg_log_likelihood(emissions, tags, mask)
        loss.backward()
        opt.step()
    assert emissions.grad is not None and torch.isfinite(emissions.grad).all()
    crf.decode(emissions.detach(), mask)  # re-applies the constraints after the updates
    start, trans = bio_allowed(BIO5)
    assert (crf.crf.transitions[~trans] <= -1e4 + 1e-3).all()
    assert (crf.crf.start_transitions[~start] <= -1e4 + 1e-3).all()
