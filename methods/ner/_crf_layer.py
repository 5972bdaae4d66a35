"""Linear-chain CRF in vectorised torch: log-partition, gold-path score, Viterbi (imports torch).

Shapes: emissions ``(B, L, K)``, ``mask`` ``(B, L)`` bool with every row a prefix of ``True``
(at least one token), ``trans[i, j]`` the score of tag ``i`` followed by tag ``j``, ``start`` /
``end`` the scores of the first / last tag. The loop runs over positions only; batch and tags
are vectorised. ``tests/test_ner_crf.py`` checks all three against enumerating every tag path.
``pytorch-crf`` computes the same quantities; ours is kept so the family needs no extra package
and can reuse Viterbi with a fixed 0/−∞ transition matrix for the softmax head's valid-span
decoding.
"""

from __future__ import annotations

import torch


def log_partition(emissions: torch.Tensor, mask: torch.Tensor, trans: torch.Tensor, start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """log Σ over all tag paths of exp(path score), per sentence: ``(B,)``."""
    alpha = start[None, :] + emissions[:, 0]
    for t in range(1, emissions.shape[1]):
        step = torch.logsumexp(alpha[:, :, None] + trans[None] + emissions[:, t, None, :], dim=1)
        alpha = torch.where(mask[:, t, None], step, alpha)
    return torch.logsumexp(alpha + end[None, :], dim=1)


def path_score(emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, trans: torch.Tensor, start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """Score of the given tag path ``(B, L)`` (positions past the mask ignored): ``(B,)``."""
    m = mask.to(emissions.dtype)
    emit = emissions.gather(2, tags[:, :, None]).squeeze(2)
    score = start[tags[:, 0]] + (emit * m).sum(1)
    score = score + (trans[tags[:, :-1], tags[:, 1:]] * m[:, 1:]).sum(1)
    last = tags.gather(1, (mask.sum(1) - 1)[:, None]).squeeze(1)
    return score + end[last]


def viterbi(emissions: torch.Tensor, mask: torch.Tensor, trans: torch.Tensor, start: torch.Tensor, end: torch.Tensor) -> list[list[int]]:
    """The best tag path of each sentence, as lists of its true length."""
    score = start[None, :] + emissions[:, 0]
    back = []
    for t in range(1, emissions.shape[1]):
        cand = score[:, :, None] + trans[None]
        best, arg = cand.max(dim=1)
        step = best + emissions[:, t]
        keep = mask[:, t, None]
        score = torch.where(keep, step, score)
        # past the end, point each tag to itself so that backtracking passes through unchanged
        back.append(torch.where(keep, arg, torch.arange(emissions.shape[2])[None, :].expand_as(arg)))
    score = score + end[None, :]
    lengths = mask.sum(1).tolist()
    last = score.argmax(1)
    paths = [[int(x)] for x in last.tolist()]
    cur = last
    for arg in reversed(back):
        cur = arg.gather(1, cur[:, None]).squeeze(1)
        for b, v in enumerate(cur.tolist()):
            paths[b].append(v)
    return [list(reversed(p))[:n] for p, n in zip(paths, lengths)]
