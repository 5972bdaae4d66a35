"""Token-tagging heads over an encoder: ``softmax`` (per-token IOB2) and ``crf`` (imports torch).

Both tag with IOB2 over ``O, B-t₁, I-t₁, …`` (2·T + 1 tags). Gold spans are placed into tags by
:func:`methods.ner.spans.bio_tags`, which drops (and counts) spans a flat tagger cannot hold:
nested/overlapping ones, and ones cut off by maxlen truncation. Decoding never yields an invalid
sequence: the CRF decodes with Viterbi over its learned transitions, the softmax head with
Viterbi over its log-probabilities and a fixed 0/−∞ matrix that forbids ``O → I-t``,
``B-s → I-t`` (s ≠ t) and starting with ``I-t`` — so both return spans read from valid IOB2.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from methods.ner import _crf_layer as crf_layer
from methods.ner.spans import Span, bio_tags, spans_from_tags

NEG = -1e4


class TagHead(nn.Module):
    """Linear emissions over IOB2 tags; subclasses define the loss and the decoder."""

    def __init__(self, hidden: int, types: Sequence[str]) -> None:
        super().__init__()
        self.types = tuple(types)
        self.tags = ["O"] + [f"{p}-{t}" for t in self.types for p in "BI"]
        self.index = {tag: i for i, tag in enumerate(self.tags)}
        self.emit = nn.Linear(hidden, len(self.tags))
        self.dropped = 0  # gold spans a flat tagger could not hold, summed over training batches

    def params_per_type(self) -> float:
        """The B-/I- rows of the emission layer that belong to one type: 2·(D + 1)."""
        return 2.0 * (self.emit.in_features + 1)

    def targets(self, spans: Sequence[Sequence[Span]], lengths: Sequence[int], width: int) -> torch.Tensor:
        out = torch.zeros(len(spans), width, dtype=torch.long)
        for b, (s, n) in enumerate(zip(spans, lengths)):
            tags, dropped = bio_tags(n, s)
            self.dropped += dropped
            out[b, :n] = torch.tensor([self.index[t] for t in tags])
        return out

    def to_spans(self, paths: list[list[int]]) -> list[set[Span]]:
        """Spans of each path; an ``I-t`` that continues no ``t`` entity is read as ``O``."""
        out = []
        for path in paths:
            tags = [self.tags[i] for i in path]
            for k, tag in enumerate(tags):
                if tag.startswith("I-") and (k == 0 or tags[k - 1][2:] != tag[2:] or tags[k - 1] == "O"):
                    tags[k] = "O"
            out.append(set(spans_from_tags(tags, "bio", "error").spans))
        return out

    def allowed(self) -> tuple[torch.Tensor, torch.Tensor]:
        """0/−∞ transition and start scores of valid IOB2."""
        k = len(self.tags)
        trans = torch.zeros(k, k)
        start = torch.zeros(k)
        for j, tag in enumerate(self.tags):
            if tag.startswith("I-"):
                start[j] = NEG
                for i, prev in enumerate(self.tags):
                    if prev[2:] != tag[2:] or prev == "O":
                        trans[i, j] = NEG
        return trans, start


class SoftmaxHead(TagHead):
    """Per-token cross-entropy; constrained Viterbi over log-probabilities at prediction."""

    def loss(self, h: torch.Tensor, mask: torch.Tensor, spans: Sequence[Sequence[Span]]) -> torch.Tensor:
        y = self.targets(spans, mask.sum(1).tolist(), mask.shape[1])
        logp = self.emit(h).log_softmax(-1)
        nll = -logp.gather(2, y[:, :, None]).squeeze(2)
        return (nll * mask).sum() / mask.sum()

    @torch.no_grad()
    def decode(self, h: torch.Tensor, mask: torch.Tensor) -> list[set[Span]]:
        trans, start = self.allowed()
        logp = self.emit(h).log_softmax(-1)
        return self.to_spans(crf_layer.viterbi(logp, mask, trans, start, torch.zeros(len(self.tags))))


class CRFHead(TagHead):
    """Linear-chain CRF: NLL = log Z − score(gold path), Viterbi decoding.

    Transitions start at zero; invalid IOB2 transitions are learned away (their training
    targets never contain them), as in bert4keras' ConditionalRandomField. Should Viterbi still
    return an ``I-t`` that continues nothing, it is read as ``O`` (as the reference NER example
    does), so only valid spans come out.
    """

    def __init__(self, hidden: int, types: Sequence[str]) -> None:
        super().__init__(hidden, types)
        k = len(self.tags)
        self.trans = nn.Parameter(torch.zeros(k, k))
        self.start = nn.Parameter(torch.zeros(k))
        self.end = nn.Parameter(torch.zeros(k))

    def crf_parameters(self) -> list[nn.Parameter]:
        """What the reference code trains at a multiplied learning rate."""
        return [self.trans, self.start, self.end]

    def loss(self, h: torch.Tensor, mask: torch.Tensor, spans: Sequence[Sequence[Span]]) -> torch.Tensor:
        y = self.targets(spans, mask.sum(1).tolist(), mask.shape[1])
        e = self.emit(h)
        z = crf_layer.log_partition(e, mask, self.trans, self.start, self.end)
        gold = crf_layer.path_score(e, y, mask, self.trans, self.start, self.end)
        return (z - gold).sum() / mask.sum()

    @torch.no_grad()
    def decode(self, h: torch.Tensor, mask: torch.Tensor) -> list[set[Span]]:
        return self.to_spans(crf_layer.viterbi(self.emit(h), mask, self.trans, self.start, self.end))
