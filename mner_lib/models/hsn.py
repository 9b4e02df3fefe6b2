"""HSN: Hierarchical Self-adaptation Network (Tian et al., Neurocomputing 2021).

Paper -> code
-------------
* Text feature extractor (sec. 3.2.1): ``x_i = [x^w; x^c; x^p]``: word embedding (GloVe 6B 50-d
  here; the paper used Twitter or 300-d Crawl embeddings), character CNN (char embedding 50,
  :class:`~mner_lib.models.embeddings.CharCNN`), POS embedding (50) over the paper's ten classes
  (:mod:`mner_lib.text.pos`: spaCy's tagger replaces NLTK's, which cannot install offline). Words
  GloVe lacks get Gaussian rows (sec. 4.3; ``oov_init``, scale ours: GloVe's own std).
  ``h~_i = tanh(Highway(x_i))`` (eq. 5, :class:`Highway`), ``H = BiLSTM(h~)`` (eq. 6), d = 400
  (200 per direction).
* Image feature extractor (sec. 3.2.2): the backbone's 7x7 = 49 region grid (VGG16's last pooling
  layer in the paper; efficientnet-lite0's last stage offline, see ``image_feature_dim``),
  ``v_j = relu(W_v v~_j + b_v)`` (eq. 7), 400-d.
* Cross-modal interaction module (sec. 3.3): the text-to-image unit
  ``s_img = MHA(V guided by H)`` (eqs. 8-15, :class:`~mner_lib.models.attention.
  MultiHeadHierarchicalAttention`), ``G = s_img (.) V`` (eq. 16); the image-to-text unit
  ``s_sen = MHA(H guided by G)``, ``F = s_sen (.) H``.
* Self-adaptive multimodal integration (sec. 3.4): ``gamma = sigmoid(W H + U F + b)`` (eq. 17),
  ``O = gamma (.) H + (1 - gamma) (.) F`` (eq. 18); then a linear layer to tag scores and the CRF
  (eqs. 3-4). "The integration gamma consists n scalars in range of [0, 1]": one scalar per token
  (``gate="token"``, the default: W, U map d -> 1 and gamma is broadcast over the d dimensions).
  ``gate="dimension"`` is the other reading, one gate per token and dimension (W, U map d -> d);
  every HSN run recorded before the option existed used it, and the results tables name those runs
  ``gate=dimension`` (``HSN_SPEC.former_defaults``) so they never average with the paper's form.
* Training (sec. 4.3): Adam, lr 0.003, batch 16, dropout 0.5, early stopping patience 20
  (``HSN_SPEC.training``, below).

Ablations (Table 5) as config fields
-------------------------------------
=========  ==============================  ===================================================
paper      switch                          what changes
=========  ==============================  ===================================================
w/o MI     ``interaction="concat"``        ``O = [H; F]`` instead of the gate (eqs. 17-18)
w/o HA     ``attention="luong"``           Luong "general" attention in both units
w/o MP     ``heads=1``                     one head (still projected, eq. 15)
w/o VF     trainer ``condition="blank"``   not a model switch: every tweet gets the blank
                                           constant image (the image pipeline's condition)
=========  ==============================  ===================================================

Readings where the paper is loose
---------------------------------
* eq. 14 averages ``softmax(head_i)`` although each head is already a distribution; we apply it
  as written (``head_softmax=True``), which flattens each head (see :mod:`.attention`).
* Dropout 0.5 sits on the concatenated token embedding and on O before the tag layer.
* Padding is masked in every softmax and mean, so a token's scores do not depend on the batch.
* w/o MI "directly concatenates both heterogeneous features instead": the two features the
  integration merges are the textual features H and the fusion features F (sec. 3.4: "we merge
  textual features H and fusion features F with the integration"), so w/o MI is ``O = [H; F]``.
  Concatenating H with the raw region features V instead is not possible token by token (V has 49
  regions, not n tokens), and F is the only image-aware feature per token.

What the visual path can carry
------------------------------
Read literally, the image reaches the tags only through ``s_sen``: one scalar weight per token
(``F = s_sen (.) H`` holds no image vector), and since ``s_img`` sums to 1 over 49 regions,
``G = s_img (.) V`` is about ``V / 49``, so the image-to-text scores start near 0 and ``s_sen``
near uniform. On the synthetic type-blind probe (``tests/models/test_hsn.py``), where only the
image tells an entity's type, HSN with probe images scores the same as with blank images (also
with ``head_softmax=False`` and after 20 epochs), while CWI, whose image feature is a vector
given to every token, gains clearly. The image can re-weight words; it cannot say what they are.
Under both readings of the gate (``benchmarks/hsn_gate_probe.txt``, 3 seeds): per token,
synthetic minus blank is +0.00 in every seed; per dimension +0.15 ± 0.25 (1 of 3 seeds).

Real-image captions (not in the paper)
--------------------------------------
With ``visual_input="caption"`` (set by the trainer for a text condition such as
``caption:blip2``) V is the tweet's caption instead of the region grid: one vector per caption
word from the frozen MiniLM text encoder (``ImageBatch.encoded_captions``, ``caption_dim``
384), projected by eq. 7 as the regions are; padding words are masked in both attention units.
The paper attends over VGG regions; the rest of the model is unchanged. ``text_to_image`` then
weighs caption words, named in ``extras["caption_tokens"]`` for the plots.

Outputs for the notebooks (``forward(..., return_attention=True)``): ``attentions`` holds
``text_to_image`` (B, K) = s_img, ``text_to_image_heads`` (B, e, K) the heads' own s_i,
``image_to_text`` (B, T) = s_sen, ``image_to_text_heads`` (B, e, T), and with the gate
``gate`` (B, T) gamma per token (with ``gate="dimension"``: its mean over the d dimensions) and
``gate_full`` (B, T, d) gamma as it multiplies H.
gamma near 1 = the token relies on its text feature H, near 0 = on the fused feature F.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mner_lib.images.api import ImageBatch
from mner_lib.images.captions import caption_input
from mner_lib.models import register_model
from mner_lib.models.attention import ATTENTION_KINDS, MultiHeadHierarchicalAttention
from mner_lib.models.base import MAX_MODEL_WIDTH, Tagger, TaggerConfig, TaggerOutput
from mner_lib.models.baselines import collate_words_and_chars
from mner_lib.models.embeddings import CharCNN, WordEmbedding, bilstm_over_padding
from mner_lib.models.spec import (
    HSN_PAPER,
    Ablation,
    FormerDefault,
    PaperSpec,
    reported_rows,
)
from mner_lib.text.data import MAX_TOKEN_CHARS, Tweet
from mner_lib.text.encoders import OOV_INITS
from mner_lib.text.pos import NUM_POS_IDS, default_tagger
from mner_lib.text.vocab import Vocabularies, pad_sequences

INTERACTIONS = ("gate", "concat")
GATES = ("token", "dimension")
VISUAL_INPUTS = ("pixels", "caption")


@dataclass
class HSNConfig(TaggerConfig):
    """HSN's hyperparameters; defaults are the paper's (Table 2, sec. 4.3) where it gives them."""

    word_dim: int = 50  # GloVe 6B 50-d (paper: Twitter / 300-d Crawl embeddings)
    use_glove: bool = True
    oov_init: str = "gaussian"  # sec. 4.3: OOV words "initialized by Gaussian random sampling"
    char_dim: int = 50  # Table 2: char-level embedding size
    char_filters: int = 50  # char CNN output size (our choice: = char_dim)
    char_kernel: int = 3
    max_word_len: int = 30
    use_pos: bool = True
    pos_dim: int = 50  # Table 2: POS-level embedding size
    highway_layers: int = 1
    hidden: int = 400  # Table 2: BiLSTM hidden state size = d of H (200 per direction)
    image_feature_dim: int = (
        1280  # backbone region size: efficientnet-lite0 1280, vgg16 512, resnet 2048
    )
    image_dim: int = 400  # Table 2: image feature size (V after eq. 7)
    heads: int = 8  # Table 2: parallel attention heads (w/o MP: 1)
    head_dim: int = 0  # size each head projects to; 0 = hidden // heads
    attention: str = "hierarchical"  # "hierarchical" | "luong" (w/o HA)
    head_softmax: bool = True  # eq. 14 as written: softmax on each head before averaging
    interaction: str = "gate"  # "gate" | "concat" (w/o MI)
    gate: str = "token"  # eq. 17: "token" (n scalars, the paper) | "dimension" (n x d gates)
    dropout: float = 0.5
    visual_input: str = "pixels"  # "caption": V = the caption's word vectors (text conditions)
    caption_dim: int = 384  # size of the caption word vectors (MiniLM)
    BOUNDS = {
        "max_word_len": (1, MAX_TOKEN_CHARS),
        "char_kernel": (1, MAX_TOKEN_CHARS),
        "highway_layers": (0, 16),
        "heads": (1, 64),
        "head_dim": (0, MAX_MODEL_WIDTH),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.char_kernel > self.max_word_len:
            raise ValueError(
                f"HSNConfig.char_kernel {self.char_kernel} is wider than a word is cut "
                f"(max_word_len={self.max_word_len})"
            )
        if self.attention not in ATTENTION_KINDS:
            raise ValueError(
                f"HSNConfig.attention: unknown value {self.attention!r}; valid: {', '.join(ATTENTION_KINDS)}"
            )
        if self.interaction not in INTERACTIONS:
            raise ValueError(
                f"HSNConfig.interaction: unknown value {self.interaction!r}; valid: {', '.join(INTERACTIONS)}"
            )
        if self.oov_init not in OOV_INITS:
            raise ValueError(
                f"HSNConfig.oov_init: unknown value {self.oov_init!r}; valid: {', '.join(OOV_INITS)}"
            )
        if self.gate not in GATES:
            raise ValueError(
                f"HSNConfig.gate: unknown value {self.gate!r}; valid: {', '.join(GATES)}"
            )
        if self.hidden % 2:
            raise ValueError(
                f"HSNConfig.hidden is both LSTM directions together; must be even, got {self.hidden}"
            )
        if self.heads < 1:
            raise ValueError(f"HSNConfig.heads must be >= 1, got {self.heads}")
        if self.visual_input not in VISUAL_INPUTS:
            raise ValueError(
                f"HSNConfig.visual_input: unknown value {self.visual_input!r}; valid: "
                f"{', '.join(VISUAL_INPUTS)}"
            )
        if self.use_glove and self.word_dim != 50:
            raise ValueError(
                f"HSNConfig.word_dim must be 50 with use_glove=True (GloVe 6B 50-d), got {self.word_dim}"
            )

    @property
    def resolved_head_dim(self) -> int:
        return self.head_dim or max(1, self.hidden // self.heads)


class Highway(nn.Module):
    """Highway layers (Srivastava et al. 2015): ``y = t * relu(W_h x + b_h) + (1 - t) * x`` with
    the transform gate ``t = sigmoid(W_t x + b_t)`` (bias -1: start close to carry)."""

    def __init__(self, dim: int, layers: int = 1):
        super().__init__()
        self.transform = nn.ModuleList(nn.Linear(dim, dim) for _ in range(layers))
        self.gate = nn.ModuleList(nn.Linear(dim, dim) for _ in range(layers))
        for g in self.gate:
            nn.init.constant_(g.bias, -1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for transform, gate in zip(self.transform, self.gate):
            t = torch.sigmoid(gate(x))
            x = t * torch.relu(transform(x)) + (1.0 - t) * x
        return x


class SelfAdaptiveIntegration(nn.Module):
    """Eqs. 17-18: ``gamma = sigmoid(W H + U F + b)``; ``O = gamma H + (1 - gamma) F``.

    ``per_token=True`` (the paper: "gamma consists n scalars"): W, U map d -> 1, one gate per
    token, broadcast over the d dimensions; ``False``: d -> d, a gate per token and dimension."""

    def __init__(self, dim: int, per_token: bool = True):
        super().__init__()
        out = 1 if per_token else dim
        self.text_weight = nn.Linear(dim, out, bias=True)  # W_gamma, b_gamma
        self.fusion_weight = nn.Linear(dim, out, bias=False)  # U_gamma

    def forward(self, text: torch.Tensor, fused: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gamma = torch.sigmoid(self.text_weight(text) + self.fusion_weight(fused))
        return gamma * text + (1.0 - gamma) * fused, gamma.expand_as(text)


HSN_SPEC = PaperSpec(
    citation=HSN_PAPER,
    chapter="hsn",
    training={"optimizer": "adam", "lr": 0.003, "batch_size": 16, "patience": 20, "epochs": 30},
    former_defaults=(
        FormerDefault(
            "gate",
            "dimension",
            "one gate per token and dimension until the paper's per-token gate became the default",
            unless={"interaction": "concat"},
        ),
        FormerDefault("oov_init", "uniform", "uniform OOV rows until the paper's Gaussian ones"),
    ),
    ablations=(
        Ablation("w/o MI", {"interaction": "concat"}, table="Table 5"),
        Ablation("w/o HA", {"attention": "luong"}, table="Table 5"),
        Ablation("w/o MP", {"heads": 1}, table="Table 5"),
        Ablation("w/o VF", condition="blank", table="Table 5"),
    ),
    reported=reported_rows("hsn"),
)


@register_model
class HSN(Tagger):
    """HSN: text features H, region features V, multi-head hierarchical attention both ways,
    the self-adaptive gate, CRF. See the module docstring for the paper -> code map."""

    name = "hsn"
    spec = HSN_SPEC
    config_class = HSNConfig
    uses_images = True

    def __init__(self, config: HSNConfig, vocab: Vocabularies):
        super().__init__(config, vocab)
        c = config
        self.words = WordEmbedding(len(vocab.words), c.word_dim)
        self.chars = CharCNN(len(vocab.chars), c.char_dim, c.char_filters, c.char_kernel)
        in_dim = c.word_dim + self.chars.out_dim
        if c.use_pos:
            self.pos = nn.Embedding(NUM_POS_IDS, c.pos_dim, padding_idx=0)
            in_dim += c.pos_dim
        self.embed_dropout = nn.Dropout(c.dropout)
        self.highway = Highway(in_dim, c.highway_layers)
        self.lstm = nn.LSTM(in_dim, c.hidden // 2, batch_first=True, bidirectional=True)
        visual_in = c.caption_dim if c.visual_input == "caption" else c.image_feature_dim
        self.image_proj = nn.Linear(visual_in, c.image_dim)  # W_v, b_v   eq. 7
        mha = dict(
            heads=c.heads,
            head_dim=c.resolved_head_dim,
            kind=c.attention,
            head_softmax=c.head_softmax,
        )
        self.text_to_image = MultiHeadHierarchicalAttention(c.image_dim, c.hidden, **mha)
        self.image_to_text = MultiHeadHierarchicalAttention(c.hidden, c.image_dim, **mha)
        if c.interaction == "gate":
            self.integration = SelfAdaptiveIntegration(c.hidden, per_token=c.gate == "token")
            out_dim = c.hidden
        else:
            out_dim = 2 * c.hidden
        self.out_dropout = nn.Dropout(c.dropout)
        self.emit = nn.Linear(out_dim, len(vocab.tags))
        self.oov_rate: float | None = None

    # -- data ---------------------------------------------------------------------------------
    def collate(self, tweets: Sequence[Tweet], images: ImageBatch | None = None) -> dict[str, Any]:
        images = self.require_images(images, tweets)
        batch = collate_words_and_chars(
            self.vocab, tweets, self.config.lowercase, self.config.max_word_len
        )
        if self.config.use_pos:
            batch["pos"], _ = pad_sequences(default_tagger().class_ids([t.tokens for t in tweets]))
        if caption_input(self.name, self.config.visual_input, images):
            batch["regions"], batch["region_mask"] = images.encoded_captions()
            batch["caption_tokens"] = images.caption_tokens()
            return batch
        regions = images.regions.float()
        if regions.dim() != 3 or regions.shape[0] != len(tweets):
            raise ValueError(
                f"hsn: image regions must be ({len(tweets)}, K, D), got {tuple(regions.shape)}"
            )
        if regions.shape[-1] != self.config.image_feature_dim:
            raise ValueError(
                f"hsn was built for {self.config.image_feature_dim}-d image regions but got "
                f"{regions.shape[-1]}-d ones (another backbone?); set model option "
                f"image_feature_dim={regions.shape[-1]}"
            )
        # the same image (by its cache key: blank, a shared photo) is projected once per batch
        keys = images.meta.get("keys") if images.meta else None
        if keys is not None and len(keys) == len(tweets):
            first: dict[str, int] = {}
            index = [first.setdefault(k, len(first)) for k in keys]
            unique = [keys.index(k) for k in first]
            batch["regions"] = regions[unique]
            batch["region_index"] = torch.as_tensor(index, dtype=torch.long)
        else:
            batch["regions"] = regions
        return batch

    # -- model --------------------------------------------------------------------------------
    def text_features(self, batch: dict[str, Any]) -> torch.Tensor:
        """H (B, T, d): eqs. 5-6."""
        parts = [self.words(batch["words"]), self.chars(batch["chars"])]
        if self.config.use_pos:
            parts.append(self.pos(batch["pos"]))
        x = self.embed_dropout(torch.cat(parts, dim=-1))
        x = torch.tanh(self.highway(x))  # eq. 5
        return bilstm_over_padding(self.lstm, x, batch["mask"])  # eq. 6 (= packing, faster)

    def forward(
        self, batch: dict[str, Any], decode: bool = False, return_attention: bool = False
    ) -> TaggerOutput:
        mask = batch["mask"]
        text = self.text_features(batch)  # H
        # V (eq. 7) of each distinct image of the batch; the projections of V that both units
        # need are linear without bias, so they are computed per distinct image and then
        # indexed (and, for G = s_img (.) V, scaled row by row): the same numbers as projecting
        # every tweet's copy, at a fraction of the cost when tweets share an image (blank).
        regions = torch.relu(self.image_proj(batch["regions"]))  # V   eq. 7
        index = batch.get("region_index")
        region_mask = batch.get("region_mask")  # caption words: padding masked
        attended_v = self.text_to_image.attended_proj(regions)  # V W^v
        guide_v = self.image_to_text.guide_proj(regions)  # V W^y (G's projection before s_img)
        if index is not None:
            attended_v, guide_v = attended_v[index], guide_v[index]  # one row per tweet
        image_weights, image_heads = self.text_to_image.attend(
            attended_v, self.text_to_image.guide_proj(text), region_mask, mask
        )  # s_img  eqs. 8-15
        guided_image = image_weights.unsqueeze(-1) * guide_v  # G = s_img (.) V, projected  eq. 16
        word_weights, word_heads = self.image_to_text.attend(
            self.image_to_text.attended_proj(text), guided_image, mask, region_mask
        )  # s_sen
        fused = word_weights.unsqueeze(-1) * text  # F
        gamma = None
        if self.config.interaction == "gate":
            out, gamma = self.integration(text, fused)  # O   eqs. 17-18
        else:
            out = torch.cat([text, fused], dim=-1)  # w/o MI
        emissions = self.emit(self.out_dropout(out))
        attentions: dict[str, Any] = {}
        if return_attention:
            attentions = {
                "text_to_image": image_weights,
                "text_to_image_heads": image_heads,
                "image_to_text": word_weights,
                "image_to_text_heads": word_heads,
            }
            if gamma is not None:
                m = mask.unsqueeze(-1).to(gamma.dtype)
                attentions["gate"] = gamma.mean(dim=-1) * mask.to(gamma.dtype)
                attentions["gate_full"] = gamma * m
        extras = {"caption_tokens": batch.get("caption_tokens")}
        return self.crf_output(emissions, batch, decode, attentions, extras)
