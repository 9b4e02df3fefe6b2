"""The CRF against brute-force enumeration and pytorch-crf: Viterbi, log-likelihood, BIO
constraints (a mask on the scores, never written into the parameters), masks, gradients."""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
import torch
from torchcrf import CRF as TorchCRF

from mner_lib.models.crf import CRF, FORBIDDEN, bio_allowed, viterbi_decode
from mner_lib.text.data import TAGS

BIO5 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
OUT, B_PER, I_PER, B_LOC, I_LOC = range(5)


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


def bio_ok(tags: list[str]):
    """BIO2 validity of a path, written independently of :func:`bio_allowed`."""

    def allowed(path) -> bool:
        prev = "O"
        for k in path:
            tag = tags[k]
            if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
                return False
            prev = tag
        return True

    return allowed


def all_paths(num_tags: int, length: int, allowed=None):
    for path in itertools.product(range(num_tags), repeat=length):
        if allowed is None or allowed(path):
            yield list(path)


def brute_score(crf: CRF, emissions: torch.Tensor, path: list[int]) -> float:
    """s(path) for one sequence (emissions (T, K)) in float64 Python arithmetic, straight from
    the parameters; with constraints on, a forbidden start/transition scores ``FORBIDDEN``."""
    start = crf.crf.start_transitions.detach().double().tolist()
    end = crf.crf.end_transitions.detach().double().tolist()
    trans = crf.crf.transitions.detach().double().tolist()
    if crf.constrain_bio:
        ok_start, ok_trans = bio_allowed(crf.tag_names)
        start = [s if ok_start[j] else FORBIDDEN for j, s in enumerate(start)]
        trans = [
            [a if ok_trans[i, j] else FORBIDDEN for j, a in enumerate(row)]
            for i, row in enumerate(trans)
        ]
    e = emissions.double().tolist()
    total = start[path[0]] + e[0][path[0]] + end[path[-1]]
    for t in range(1, len(path)):
        total += trans[path[t - 1]][path[t]] + e[t][path[t]]
    return total


def brute_force(crf: CRF, emissions: torch.Tensor, length: int, allowed=None):
    """(best path, its score, log Z) over every path of ``length`` (every allowed one)."""
    paths = list(all_paths(crf.num_tags, length, allowed))
    scores = torch.tensor([brute_score(crf, emissions[:length], p) for p in paths])
    best = int(scores.argmax())
    return paths[best], float(scores[best]), float(torch.logsumexp(scores, 0)), paths, scores


def make_crf(num_tags: int, seed: int, constrain: bool) -> CRF:
    crf = random_crf(num_tags, seed, BIO5[:num_tags] if constrain else None, constrain)
    crf.tag_names = BIO5[:num_tags]  # for brute_score
    return crf


@pytest.fixture(autouse=True)
def no_warnings():
    """Every CRF call here must run without a warning (e.g. pytorch-crf's uint8 masks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("constrain", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_viterbi_and_likelihood_match_brute_force(constrain, seed):
    """Decode = brute-force argmax and log-likelihood = s(gold) - log Z over every path (every
    BIO2-valid path with constraints), with padded sequences of several lengths."""
    crf = make_crf(5, seed, constrain)
    emissions, mask, lengths = random_batch(5, seed, batch=5)
    emissions[:, :, [I_PER, I_LOC]] += 3.0  # make the I- tags tempting
    allowed = bio_ok(BIO5) if constrain else None
    gen = torch.Generator().manual_seed(seed)
    decoded = crf.decode(emissions, mask)
    assert [len(p) for p in decoded] == lengths
    gold = []  # per sequence: a random (allowed) path of its length, padded with junk
    for length in lengths:
        paths = list(all_paths(5, length, allowed))
        path = paths[int(torch.randint(len(paths), (1,), generator=gen))]
        gold.append(path + [4] * (emissions.shape[1] - length))
    gold = torch.tensor(gold)
    ll = crf.log_likelihood(emissions, gold, mask).detach()
    scores = crf.score(emissions, gold, mask).detach()
    for b, length in enumerate(lengths):
        best, best_score, log_z, _, _ = brute_force(crf, emissions[b], length, allowed)
        assert decoded[b] == best
        own = brute_score(crf, emissions[b], gold[b, :length].tolist())
        assert float(scores[b]) == pytest.approx(own, abs=1e-4)
        assert float(ll[b]) == pytest.approx(own - log_z, abs=1e-4)
    nll = crf.neg_log_likelihood(emissions, gold, mask).detach()
    assert float(nll) == pytest.approx(float(-ll.mean()))


@pytest.mark.parametrize("num_tags", [3, 4])
def test_unconstrained_brute_force_over_all_paths(num_tags):
    crf = make_crf(num_tags, 5, constrain=False)
    emissions, mask, lengths = random_batch(num_tags, 5, batch=6, max_len=4)
    decoded = crf.decode(emissions, mask)
    gold = torch.stack([torch.tensor((p + [0] * 4)[:4]) for p in decoded])
    ll = crf.log_likelihood(emissions, gold, mask).detach()
    for b, length in enumerate(lengths):
        best, best_score, log_z, _, _ = brute_force(crf, emissions[b], length)
        assert decoded[b] == best
        assert float(ll[b]) == pytest.approx(best_score - log_z, abs=1e-4)


def test_padding_is_ignored():
    crf = random_crf(4, 7)
    emissions, mask, _ = random_batch(4, 7, batch=6, max_len=4)
    tags = torch.randint(0, 4, mask.shape, generator=torch.Generator().manual_seed(3))
    ll = crf.log_likelihood(emissions, tags, mask).detach()
    noisy_e = emissions.masked_fill(~mask.unsqueeze(-1), 55.0)
    for junk in (3, -100):  # even an invalid tag id under the mask
        noisy_t = tags.masked_fill(~mask, junk)
        assert torch.allclose(crf.log_likelihood(noisy_e, noisy_t, mask).detach(), ll)
    assert crf.decode(noisy_e, mask) == crf.decode(emissions, mask)
    # trailing all-padding columns change nothing either
    wide_e = torch.cat([emissions, torch.full((6, 3, 4), 9.0)], dim=1)
    wide_m = torch.cat([mask, torch.zeros(6, 3, dtype=torch.bool)], dim=1)
    wide_t = torch.cat([tags, torch.zeros(6, 3, dtype=torch.long)], dim=1)
    assert torch.allclose(crf.log_likelihood(wide_e, wide_t, wide_m).detach(), ll)


@pytest.mark.parametrize("num_tags", [3, 9])
def test_unconstrained_loss_and_gradients_equal_pytorch_crf(num_tags):
    """Constraints off: the log-likelihood and its gradients are pytorch-crf's public forward's."""
    crf = random_crf(num_tags, 2)
    gen = torch.Generator().manual_seed(8)
    emissions = torch.randn(32, 12, num_tags, generator=gen, requires_grad=True)
    lengths = torch.randint(1, 13, (32,), generator=gen)
    mask = torch.arange(12)[None] < lengths[:, None]
    tags = torch.randint(0, num_tags, (32, 12), generator=gen)
    ours = crf.log_likelihood(emissions, tags, mask)
    ref = crf.crf(emissions, tags, mask=mask, reduction="none")
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    params = [emissions, crf.crf.start_transitions, crf.crf.transitions, crf.crf.end_transitions]
    ours_grad = torch.autograd.grad(ours.sum(), params)
    ref_grad = torch.autograd.grad(ref.sum(), params)
    for a, b in zip(ours_grad, ref_grad):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_constrained_loss_equals_pytorch_crf_on_masked_scores():
    """Constraints on: the loss is pytorch-crf's with every forbidden score set to FORBIDDEN
    (what the former in-place version computed), so old runs stay comparable."""
    crf = random_crf(len(TAGS), 4, list(TAGS), constrain=True)
    ref = TorchCRF(len(TAGS), batch_first=True)
    start, trans = bio_allowed(TAGS)
    with torch.no_grad():
        ref.start_transitions.copy_(crf.crf.start_transitions.masked_fill(~start, FORBIDDEN))
        ref.transitions.copy_(crf.crf.transitions.masked_fill(~trans, FORBIDDEN))
        ref.end_transitions.copy_(crf.crf.end_transitions)
    gen = torch.Generator().manual_seed(9)
    emissions = torch.randn(16, 10, len(TAGS), generator=gen)
    mask = torch.arange(10)[None] < torch.randint(1, 11, (16,), generator=gen)[:, None]
    tags = torch.tensor([[0, 1, 2, 2, 0, 3, 4, 0, 7, 8]] * 16)
    ours = crf.log_likelihood(emissions, tags, mask).detach()
    expected = ref(emissions, tags, mask=mask, reduction="none").detach()
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-4)
    assert crf.decode(emissions, mask) == ref.decode(emissions, mask=mask)


def test_parameters_are_never_written():
    """Forward, backward and decode with constrain_bio leave every parameter bit-identical."""
    crf = random_crf(len(TAGS), 1, list(TAGS), constrain=True)
    before = {k: v.clone() for k, v in crf.state_dict().items()}
    gen = torch.Generator().manual_seed(2)
    emissions = torch.randn(4, 6, len(TAGS), generator=gen, requires_grad=True)
    mask = torch.ones(4, 6, dtype=torch.bool)
    tags = torch.randint(0, len(TAGS), (4, 6), generator=gen)
    crf.neg_log_likelihood(emissions, tags, mask).backward()
    crf.decode(emissions.detach(), mask)
    crf.score(emissions.detach(), tags, mask)
    after = crf.state_dict()
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key
    start, trans = bio_allowed(TAGS)
    assert (crf.crf.transitions.detach()[~trans].abs() < 10).all()  # no -1e4 written in


def test_forbidden_transition_never_decoded_even_with_a_huge_learned_score():
    crf = CRF(5, BIO5, constrain_bio=True)
    with torch.no_grad():
        crf.crf.transitions[OUT, I_PER] = 1e6
        crf.crf.transitions[B_LOC, I_PER] = 1e6
        crf.crf.start_transitions[I_PER] = 1e6
    emissions = torch.zeros(3, 4, 5)
    emissions[:, :, I_PER] = 5.0
    emissions[1, 0, OUT] = 50.0  # O first: only O -> I-PER could follow with an I-PER
    emissions[2, 0, B_LOC] = 50.0
    mask = torch.ones(3, 4, dtype=torch.bool)
    decoded = crf.decode(emissions, mask)
    allowed = bio_ok(BIO5)
    assert all(allowed(p) for p in decoded), decoded
    assert decoded == [[B_PER, I_PER, I_PER, I_PER], [OUT, B_PER, I_PER, I_PER]] + [
        [B_LOC, B_PER, I_PER, I_PER]
    ]
    # the same learned scores without constraints do decode the forbidden transitions
    free = CRF(5, BIO5)
    free.load_state_dict(crf.state_dict())
    assert free.decode(emissions, mask)[0][0] == I_PER
    # in the likelihood, a forbidden path has probability ~0 and the loss stays finite
    bad = torch.tensor([[OUT, I_PER, I_PER, I_PER]] * 3)
    ll = crf.log_likelihood(emissions, bad, mask)
    assert torch.isfinite(ll).all() and (ll < -1e3).all()
    good = torch.tensor([decoded[0]] * 3)
    assert (crf.log_likelihood(emissions, good, mask) > -100).all()


def test_a_gold_path_breaking_bio_gives_a_finite_loss_and_gradient():
    """Twitter-2015 has training tweets such as O I-PER: the loss is large but not inf/NaN."""
    crf = random_crf(5, 3, BIO5, constrain=True)
    emissions = torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(0))
    emissions.requires_grad_(True)
    tags = torch.tensor([[OUT, I_PER, OUT], [I_LOC, OUT, OUT]])
    loss = crf.neg_log_likelihood(emissions, tags, torch.ones(2, 3, dtype=torch.bool))
    loss.backward()
    assert math.isfinite(loss.item()) and loss.item() > 1e3
    assert torch.isfinite(emissions.grad).all()
    assert torch.isfinite(crf.crf.transitions.grad).all()


def test_gradients_reach_the_allowed_scores_only_and_training_keeps_bio():
    crf = CRF(5, BIO5, constrain_bio=True)
    start, trans = bio_allowed(BIO5)
    gen = torch.Generator().manual_seed(0)
    emissions = torch.randn(2, 4, 5, generator=gen, requires_grad=True)
    tags = torch.tensor([[B_PER, I_PER, OUT, B_LOC], [B_LOC, I_LOC, I_LOC, OUT]])
    mask = torch.ones(2, 4, dtype=torch.bool)
    crf.neg_log_likelihood(emissions, tags, mask).backward()
    c = crf.crf
    for grad in (c.transitions.grad, c.start_transitions.grad, c.end_transitions.grad):
        assert grad is not None and torch.isfinite(grad).all()
    assert (c.transitions.grad[trans] != 0).all()  # every allowed transition learns
    assert (c.start_transitions.grad[start] != 0).all()
    assert (c.end_transitions.grad != 0).all()
    assert (c.transitions.grad[~trans] == 0).all()  # a forbidden one never matters
    assert (c.start_transitions.grad[~start] == 0).all()
    assert emissions.grad is not None and (emissions.grad != 0).any()
    frozen = c.transitions.detach()[~trans].clone()
    opt = torch.optim.SGD([*crf.parameters(), emissions], lr=0.5)
    for _ in range(20):
        opt.zero_grad()
        crf.neg_log_likelihood(emissions, tags, mask).backward()
        opt.step()
    assert torch.equal(c.transitions.detach()[~trans], frozen)
    assert crf.decode(emissions.detach(), mask) == tags.tolist()


def test_state_dict_keys_and_loading_a_model_saved_by_the_former_version():
    """Keys are pytorch-crf's (crf.start_transitions, ...); the constraint masks are not saved.
    A former checkpoint (forbidden scores stored as -1e4) loads and decodes the same."""
    crf = CRF(len(TAGS), list(TAGS), constrain_bio=True)
    assert sorted(crf.state_dict()) == [
        "crf.end_transitions",
        "crf.start_transitions",
        "crf.transitions",
    ]
    old = random_crf(len(TAGS), 6, list(TAGS), constrain=True).state_dict()
    start, trans = bio_allowed(TAGS)
    old["crf.transitions"] = old["crf.transitions"].masked_fill(~trans, FORBIDDEN)
    old["crf.start_transitions"] = old["crf.start_transitions"].masked_fill(~start, FORBIDDEN)
    crf.load_state_dict(old)
    fresh = random_crf(len(TAGS), 6, list(TAGS), constrain=True)
    emissions = torch.randn(8, 7, len(TAGS), generator=torch.Generator().manual_seed(1))
    mask = torch.ones(8, 7, dtype=torch.bool)
    tags = torch.zeros(8, 7, dtype=torch.long)
    assert crf.decode(emissions, mask) == fresh.decode(emissions, mask)
    torch.testing.assert_close(
        crf.log_likelihood(emissions, tags, mask), fresh.log_likelihood(emissions, tags, mask)
    )


def test_unconstrained_crf_does_produce_forbidden_paths():
    """The same tempting emissions without constraints give O -> I- (so the tests above bite)."""
    crf = CRF(5, BIO5)
    emissions = torch.zeros(1, 3, 5)
    emissions[0, :, I_PER] = 5.0  # I-PER everywhere
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
    with pytest.raises(ValueError, match="num_tags=3, tag names given: 2"):
        CRF(3, ["O", "B-PER"], constrain_bio=True)
