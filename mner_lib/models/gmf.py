"""GMF: visual clue guidance and consistency matching (``papers/gmf.txt``).

The model, equation by equation (building blocks in :mod:`mner_lib.models.gmf_blocks`):

* sec. 3.3.1: the text goes through a BERT-family encoder (:attr:`GMF.encoder`, a transformers
  ``BertModel``; ``minilm-l6`` offline, ``bert-base-uncased`` by name); its [CLS] output goes
  through linear + tanh = C_g (BERT's own pooler, ``encoder.pooler``, which is exactly that).
* sec. 3.3.2: the image side comes from :class:`mner_lib.images.ImageBatch`: the pyramid of the
  four backbone stages (each pooled to 7x7), the global vector P_g and up to m crop vectors.
* eq. 1-4: cross-scale attention on every stage (:attr:`GMF.csa`).
* eq. 5-6: structured mapping of every stage to ``prefix_grid`` x ``prefix_grid`` tokens of
  ``visual_dim`` channels (:attr:`GMF.mapping`).
* eq. 7-9: dynamic gating per encoder layer over the 4 stages (:attr:`GMF.gate`).
* eq. 10: the gated image tokens and the crop tokens are concatenated into V~_gated(l).
* eq. 11-13: per layer, W_phi^l maps V~_gated(l) to prefix keys and values that are prepended in
  that layer's self-attention (:attr:`GMF.prefix`, :func:`gmf_blocks.encode_with_prefix`).
* eq. 14-16: two MLP heads map C_g and P_g into one space; symmetric InfoNCE with temperature
  ``temperature`` and weight ``cm_lambda`` (:attr:`GMF.heads`).
* eq. 17-21: linear emissions from the first sub-word of each word, CRF.
* eq. 22: loss = (1 - alpha) L_CM + alpha L_CRF.

Real-image captions (not in the paper): with ``visual_input="caption"`` (set by the trainer for
a text condition such as ``caption:blip2``) the visual prefix is made from the tweet's caption
instead of the image: one vector per caption word from the frozen MiniLM encoder
(``ImageBatch.encoded_captions``), mapped to ``visual_dim`` by a linear layer (``caption_map``,
in place of eq. 5-6), the same tokens for every layer, through the same W_phi (eq. 11-13) and
prefix attention; padding words are masked. A caption has one scale, so the cross-scale
attention (eq. 1-4) and the dynamic gate over CNN stages (eq. 7-9) have nothing to act on and
are bypassed (``attentions["gates"]`` is then (B, L, 0)); switching them off (``w/o VCG``,
``w/o CSA``, ``w/o all``) would change nothing but the random initialisation, so a caption
condition refuses those switches (:data:`CAPTION_BYPASSES`). For consistency matching P_g is the
mean of the caption's word vectors. Crops are not used.

Readings (the paper is silent or vague; each is a config field):

* Crops: the image provider gives each crop's global vector, not its own pyramid, so a crop is
  one prefix token (linear map of its vector to ``visual_dim``), the same for every layer; the
  paper gates a pyramid per object. Missing crops are masked out of the attention.
* ``prefix_grid``: the paper's hw (tokens per image) is not given; 7 keeps the backbone's region
  grid so the prefix attention can be drawn on the image.
* ``w/o VCG`` (``use_vcg=False``): the hierarchical guidance is removed, i.e. no pyramid and no
  dynamic gating: every layer's prefix comes from the last stage alone (the gate is fixed
  one-hot on stage 4). The image still enters as a prefix (the paper's ablation rows stay above
  BERT-CRF, so the image is not dropped). ``w/o CSA``: the stages go to the mapping as they are.
  ``w/o CM``: no heads, loss = L_CRF alone (alpha is then not applied).
* C_g comes from the [CLS] of the encoder pass that also carries the prefix (one pass, as one
  BERT is described). ``cm_text="text"`` takes it from a second, prefix-free pass instead, so
  that the text embedding cannot see the image it is matched against.
* lambda = 0.7 (the paper's "uniform hyperparameter"); alpha "needs to be fine-tuned": 0.3 had
  the best dev F1 of 0.3/0.5/0.7 (results/probe_gmf_alpha*; one seed, all within half a point);
  tau = 0.21 (Twitter-2015; use 0.174 for Twitter-2017).
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
from mner_lib.models.base import Tagger, TaggerConfig, TaggerOutput
from mner_lib.models.gmf_blocks import (
    STAGES,
    ConsistencyHeads,
    CrossScaleAttention,
    DynamicGate,
    PrefixProjection,
    StructuredMapping,
    build_encoder,
    cosine_similarity_matrix,
    encode_with_prefix,
    gated_sum,
    stage_channels,
    symmetric_info_nce,
)
from mner_lib.models.spec import (
    GMF_PAPER,
    Ablation,
    FormerDefault,
    PaperSpec,
    reported_rows,
)
from mner_lib.text.data import Tweet
from mner_lib.text.vocab import Vocabularies, pad_sequences

CM_TEXT_SOURCES = ("fused", "text")
VISUAL_INPUTS = ("pixels", "caption")
#: why w/o VCG, w/o CSA and w/o all are refused under a caption condition (module docstring)
CAPTION_BYPASSES = (
    "GMF: use_vcg=False and use_csa=False (w/o VCG, w/o CSA, w/o all) switch off parts that act on "
    "the image's CNN pyramid; under a caption condition (visual_input='caption') the prefix is the "
    "caption's words, one scale, and both parts are bypassed, so such a run would differ from the "
    "full model only in its random initialisation. Ablate them under an image condition (blank, "
    "synthetic, real), or ablate use_cm under captions"
)


@dataclass
class GMFConfig(TaggerConfig):
    """GMF's settings; defaults are the paper's (Twitter-2015) where it gives them."""

    encoder: str = "minilm-l6"  # "bert-base-uncased" in the paper
    pretrained: bool = True
    encoder_layers: int | None = None  # architecture overrides (random weights only; for tests)
    hidden: int | None = None
    heads: int | None = None
    max_length: int = 128
    dropout: float = 0.1
    backbone: str = "efficientnet-lite0"  # must match the image features' backbone
    visual_dim: int = 256  # channels after the 1x1 conv of eq. 5-6
    prefix_grid: int = 7  # hw = prefix_grid^2 tokens per image
    csa_reduction: int = 16  # r in eq. 3-4
    csa_dilation: int = 2
    cm_dim: int = 256  # d of the consistency heads
    temperature: float = 0.21  # tau: 0.21 Twitter-2015, 0.174 Twitter-2017
    cm_lambda: float = 0.7  # lambda of eq. 16
    alpha: float = 0.3  # eq. 22: (1 - alpha) L_CM + alpha L_CRF; tuned on dev (docstring)
    cm_text: str = "fused"  # where C_g comes from: "fused" (one pass) or "text" (plain pass)
    use_vcg: bool = True
    use_csa: bool = True
    use_cm: bool = True
    # not in the paper: a learned offset per layer on the prefix's attention logits, starting at
    # this value (e.g. -6: the prefix starts nearly closed); None = the paper's attention
    prefix_logit_bias: float | None = None
    visual_input: str = "pixels"  # "caption": the prefix comes from the caption's word vectors
    caption_dim: int = 384  # size of the caption word vectors (MiniLM)
    BOUNDS = {
        "encoder_layers": (1, 48),
        "heads": (1, 64),
        "max_length": (2, 512),  # the encoder's positions
        "prefix_grid": (1, 32),  # prefix_grid^2 tokens per image in every layer's attention
        "csa_dilation": (1, 16),  # the maps are 7x7: a wider dilation reads only padding
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hidden and self.heads and self.hidden % self.heads:
            raise ValueError(
                f"GMFConfig.hidden {self.hidden} is not a multiple of {self.heads} heads"
            )
        if self.csa_reduction > self.visual_dim:
            raise ValueError(f"GMFConfig.csa_reduction {self.csa_reduction} is over visual_dim")
        if self.cm_text not in CM_TEXT_SOURCES:
            raise ValueError(
                f"GMFConfig.cm_text: unknown value {self.cm_text!r}; valid: {', '.join(CM_TEXT_SOURCES)}"
            )
        if not 0.0 <= self.alpha <= 1.0 or not 0.0 <= self.cm_lambda <= 1.0:
            raise ValueError(
                f"GMFConfig: alpha and cm_lambda must lie in [0, 1], got {self.alpha}, {self.cm_lambda}"
            )
        if self.temperature <= 0:
            raise ValueError(f"GMFConfig.temperature must be positive, got {self.temperature}")
        if self.prefix_grid < 1:
            raise ValueError(f"GMFConfig.prefix_grid must be at least 1, got {self.prefix_grid}")
        if self.visual_input not in VISUAL_INPUTS:
            raise ValueError(
                f"GMFConfig.visual_input: unknown value {self.visual_input!r}; valid: "
                f"{', '.join(VISUAL_INPUTS)}"
            )
        if self.visual_input == "caption" and not (self.use_vcg and self.use_csa):
            raise ValueError(CAPTION_BYPASSES)


# Training: the paper's 5e-5 for the encoder and the new visual layers (at 1e-3 GMF stayed at F1 0:
# results/budget_gmf_default-prefix-init/). The paper is silent on the tagging head; ours
# (``head_lr``): emission layer and CRF at 5e-2, as HVPNeT and MKGformer train them; at 5e-5 they
# barely move in a few hundred updates (results/probe_gmf_head-lr*/: test F1 60.23 -> 75.30).
GMF_SPEC = PaperSpec(
    citation=GMF_PAPER,
    chapter="gmf",
    training={
        "optimizer": "adamw",
        "lr": 5e-5,
        "encoder_lr": 5e-5,
        "head_lr": 5e-2,  # ours: the paper is silent (see above)
        "schedule": "linear-warmup",
        "batch_size": 16,
        "epochs": 30,
    },
    per_dataset={
        "twitter2017": {"batch_size": 32, "epochs": 50, "model_options": {"temperature": 0.174}},
    },
    former_defaults=(
        FormerDefault(
            "alpha", 0.5, "untuned until the dev probe chose 0.3", unless={"use_cm": False}
        ),
    ),
    ablations=(
        Ablation("w/o VCG", {"use_vcg": False}, table="Table 4"),
        Ablation("w/o CSA", {"use_csa": False}, table="Table 4"),
        Ablation("w/o CM", {"use_cm": False}, table="Table 4"),
        Ablation("w/o all", {"use_vcg": False, "use_csa": False, "use_cm": False}, table="Table 4"),
    ),
    reported=reported_rows("gmf"),
)


@register_model
class GMF(Tagger):
    """BERT with a gated multi-scale visual prefix in every layer, consistency matching, CRF."""

    name = "gmf"
    spec = GMF_SPEC
    config_class = GMFConfig
    uses_images = True

    def __init__(self, config: GMFConfig, vocab: Vocabularies):
        super().__init__(config, vocab)
        text = build_encoder(config, pretrained=False)  # weights: init_pretrained or checkpoint
        self.encoder = text.model
        self.tokenizer = text.tokenizer
        self.encoder_name = config.encoder
        hidden, layers, heads = text.hidden_size, text.num_layers, text.num_heads
        self.num_layers = layers
        self.channels = stage_channels(config.backbone)
        self.image_dim = self.channels[-1]
        self.use_caption = config.visual_input == "caption"
        if self.use_caption:  # the caption's words replace the pyramid: no CSA, mapping, gate
            self.caption_map = nn.Linear(config.caption_dim, config.visual_dim)
        if config.use_csa and not self.use_caption:
            self.csa = nn.ModuleList(
                CrossScaleAttention(c, config.csa_reduction, config.csa_dilation)
                for c in (self.channels if config.use_vcg else self.channels[-1:])
            )
        mapped = self.channels if config.use_vcg else self.channels[-1:]  # w/o VCG: last stage
        if not self.use_caption:
            self.mapping = StructuredMapping(mapped, config.visual_dim, config.prefix_grid)
        if config.use_vcg and not self.use_caption:
            self.gate = DynamicGate(config.visual_dim, layers)
        self.crop_proj = nn.Linear(self.image_dim, config.visual_dim)
        self.prefix = PrefixProjection(config.visual_dim, hidden, layers, heads)
        self.prefix_bias = (
            nn.Parameter(torch.full((layers,), float(config.prefix_logit_bias)))
            if config.prefix_logit_bias is not None
            else None
        )
        if config.use_cm:
            global_dim = config.caption_dim if self.use_caption else self.image_dim
            self.heads = ConsistencyHeads(hidden, global_dim, config.cm_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.emit = nn.Linear(hidden, len(vocab.tags))

    def init_pretrained(self) -> None:
        if self.config.pretrained:
            weights = build_encoder(self.config, pretrained=True).model.state_dict()
            self.encoder.load_state_dict(weights)

    # -- data -----------------------------------------------------------------------------------
    def collate(self, tweets: Sequence[Tweet], images: ImageBatch | None = None) -> dict[str, Any]:
        from mner_lib.text.encoders import align_subwords

        ids, attention, first, word_mask = align_subwords(
            self.tokenizer, [tw.tokens for tw in tweets], self.config.max_length
        )
        tags, _ = pad_sequences([self.vocab.tags.encode(tw.tags) for tw in tweets])
        batch: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": attention,
            "first_subword": first,
            "mask": word_mask,
            "tags": tags,
        }
        images = self.require_images(images, tweets)
        if caption_input(self.name, self.config.visual_input, images):
            vectors, mask = images.encoded_captions()
            weights = mask.unsqueeze(-1).float()
            batch.update(caption_vectors=vectors, caption_mask=mask)
            batch["global_vec"] = (vectors * weights).sum(1) / weights.sum(1).clamp_min(1.0)
            batch["caption_tokens"] = images.caption_tokens()
            return batch
        self._check_images(images)
        batch["pyramid"] = [p.float() for p in images.pyramid]
        batch["global_vec"] = images.global_vec.float()
        if images.crops is not None and images.crops.shape[1] > 0:
            batch["crops"] = images.crops.float()
            batch["crop_mask"] = (
                images.crop_mask.bool()
                if images.crop_mask is not None
                else torch.ones(images.crops.shape[:2], dtype=torch.bool)
            )
        return batch

    def _check_images(self, images: ImageBatch) -> None:
        got = tuple(int(p.shape[1]) for p in images.pyramid)
        if len(images.pyramid) != STAGES or got != tuple(self.channels):
            raise ValueError(
                f"GMF (backbone {self.config.backbone!r}) expects pyramid channels "
                f"{tuple(self.channels)}, got {got}; set the model option backbone=<name> to the "
                "backbone that produced the image features"
            )

    # -- the visual prefix ----------------------------------------------------------------------
    def visual_tokens(
        self, batch: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """V~_gated(l) for every layer (B, L, P, d_v), its mask (B, P) and the gates (B, L, 4)."""
        if self.use_caption:  # caption words, the same for every layer; no gate (module doc)
            tokens = self.caption_map(batch["caption_vectors"])  # (B, P, d_v)
            b = tokens.shape[0]
            image = tokens[:, None].expand(b, self.num_layers, -1, -1)
            return (
                image,
                batch["caption_mask"].to(tokens.device),
                tokens.new_zeros(b, self.num_layers, 0),
            )
        stages = list(batch["pyramid"])
        cfg = self.config
        if cfg.use_csa:  # eq. 1-4
            if cfg.use_vcg:
                stages = [csa(s) for csa, s in zip(self.csa, stages)]
            else:
                stages[-1] = self.csa[0](stages[-1])
        b = stages[-1].shape[0]
        if cfg.use_vcg:
            tokens = self.mapping(stages)  # eq. 5-6: (B, 4, N, d_v)
            gates = self.gate(tokens)  # eq. 7-8: (B, L, 4)
            image = gated_sum(gates, tokens)  # eq. 9: (B, L, N, d_v)
        else:
            single = self.mapping(stages[-1:])[:, 0]  # (B, N, d_v), the last stage alone
            image = single[:, None].expand(b, self.num_layers, -1, -1)
            gates = single.new_zeros((b, self.num_layers, STAGES))
            gates[..., -1] = 1.0
        mask = torch.ones(image.shape[0], image.shape[2], dtype=torch.bool, device=image.device)
        if batch.get("crops") is not None:  # eq. 10: [V(l, I); V(l, o_1); ...]
            crops = self.crop_proj(batch["crops"])[:, None].expand(-1, self.num_layers, -1, -1)
            image = torch.cat([image, crops], dim=2)
            mask = torch.cat([mask, batch["crop_mask"].to(mask.device)], dim=1)
        return image, mask, gates

    def encode(
        self,
        batch: dict[str, Any],
        prefix_mask: torch.Tensor | None = None,
        need_maps: bool = True,
    ) -> dict[str, Any]:
        """The encoder pass with the visual prefix. ``prefix_mask`` (B, P) overrides which prefix
        positions may be attended to (all False = plain BERT); without ``need_maps`` the attention
        maps are not computed (the fused kernel: training)."""
        visual, mask, gates = self.visual_tokens(batch)
        keys, values = self.prefix(visual)  # eq. 12
        if prefix_mask is not None:
            mask = prefix_mask.to(mask.device)
        hidden, maps = encode_with_prefix(
            self.encoder,
            batch["input_ids"],
            batch["attention_mask"],
            keys,
            values,
            mask,
            self.prefix_bias,
            need_maps,
        )
        return {"hidden": hidden, "maps": maps, "gates": gates, "prefix_len": visual.shape[2]}

    # -- forward --------------------------------------------------------------------------------
    def forward(
        self, batch: dict[str, Any], decode: bool = False, return_attention: bool = False
    ) -> TaggerOutput:
        cfg = self.config
        enc = self.encode(batch, batch.get("prefix_mask"), need_maps=return_attention)
        hidden = enc["hidden"]
        index = batch["first_subword"].unsqueeze(-1).expand(-1, -1, hidden.shape[-1])
        words = torch.gather(hidden, 1, index)
        emissions = self.emit(self.dropout(words))

        extras: dict[str, Any] = {}
        cm_loss = None
        if cfg.use_cm:
            if cfg.cm_text == "fused":
                cls = hidden[:, 0]
            else:
                plain, _ = encode_with_prefix(
                    self.encoder, batch["input_ids"], batch["attention_mask"], need_maps=False
                )
                cls = plain[:, 0]
            text_emb, image_emb = self.heads(self.encoder.pooler(cls[:, None]), batch["global_vec"])
            cm_loss = symmetric_info_nce(text_emb, image_emb, cfg.temperature, cfg.cm_lambda)
            extras.update(text_embedding=text_emb, image_embedding=image_emb)
        attentions: dict[str, Any] = {}
        if return_attention:
            p = enc["prefix_len"]
            attentions["gates"] = enc["gates"]
            attentions["prefix"] = [m[..., :p] for m in enc["maps"]]
            attentions["text"] = [m[..., p:] for m in enc["maps"]]
        extras["caption_tokens"] = batch.get("caption_tokens")
        out = self.crf_output(emissions, dict(batch, tags=None), decode, attentions, extras)
        if batch.get("tags") is not None:
            crf_loss = self.crf.neg_log_likelihood(emissions, batch["tags"], batch["mask"])
            out.extras["crf_loss"] = crf_loss.detach()
            if cm_loss is None:  # w/o CM: the CRF loss alone
                out.loss = crf_loss
            else:  # eq. 22
                out.loss = (1.0 - cfg.alpha) * cm_loss + cfg.alpha * crf_loss
        if cm_loss is not None:
            out.extras["cm_loss"] = cm_loss.detach()
        return out

    @torch.no_grad()
    def similarity(self, batch: dict[str, Any]) -> torch.Tensor:
        """(B, B) cosine similarities of the consistency heads: rows texts, columns images."""
        if not self.config.use_cm:
            raise ValueError("similarity needs the consistency heads; this GMF has use_cm=False")
        was = self.training
        self.eval()
        out = self(dict(batch, tags=None))
        self.train(was)
        return cosine_similarity_matrix(out.extras["text_embedding"], out.extras["image_embedding"])
