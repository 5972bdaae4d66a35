"""Speed of our corpus-level span F1 against seqeval's strict IOB2 mode, side by side in one run.

    python benchmarks/bench_ner_f1.py [--sentences N] [--repeat R]

Input: the CoNLL-2003 test set's gold tags (IOB1 read into spans, written back as IOB2) when
the data bundle is here, else synthetic IOB2; predictions are the gold tags with about a third
of the entities dropped, retyped or stretched (fixed seed). Both scorers start from the same tag
sequences — ours includes turning tags into spans — and must return the same micro F1 (the
benchmark stops otherwise). Prints the best-of-R time of each and the ratio.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Callable

from tasks.ner.metrics import span_scores
from methods.ner.spans import bio_tags, spans_from_tags


def gold_tags(n: int) -> tuple[list[list[str]], str]:
    from harness.plan.data import is_available, resolve
    from tasks.ner import data as nd

    if is_available((nd.CONLL_TEST,)):
        corpus = nd.load_conll_file(str(resolve(nd.CONLL_TEST)), "iob1")
        tags = [bio_tags(len(s.tokens), s.spans)[0] for s in corpus.sentences]
        source = "CoNLL-2003 test (eng.testb)"
    else:
        rng = random.Random(0)
        tags = []
        for _ in range(3453):
            length = rng.randrange(2, 30)
            spans, i = [], 0
            while i < length:
                if rng.random() < 0.2:
                    end = min(length - 1, i + rng.randrange(3))
                    spans.append((i, end, rng.choice(("PER", "LOC", "ORG", "MISC"))))
                    i = end + 2
                else:
                    i += 1
            tags.append(bio_tags(length, spans)[0])
        source = "synthetic IOB2 (data bundle not found)"
    while len(tags) < n:
        tags = tags + tags
    return tags[:n], source


def perturbed(tags: list[list[str]], seed: int = 0) -> list[list[str]]:
    rng = random.Random(seed)
    out = []
    for seq in tags:
        spans = []
        for s, e, t in spans_from_tags(seq, "bio", "error").spans:
            r = rng.random()
            if r < 0.1:
                continue
            if r < 0.2:
                t = "MISC" if t != "MISC" else "PER"
            elif r < 0.3 and e + 1 < len(seq):
                e += 1
            spans.append((s, e, t))
        out.append(bio_tags(len(seq), spans)[0])
    return out


def ours(y_true: list[list[str]], y_pred: list[list[str]]) -> float:
    gold = [spans_from_tags(t, "bio").spans for t in y_true]
    pred = [spans_from_tags(t, "bio").spans for t in y_pred]
    return span_scores(gold, pred)["f1"]


def best_of(fn: Callable[[], float], repeat: int) -> tuple[float, float]:
    times, value = [], 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=3453, help="sentences scored per call (the CoNLL test set repeated if more)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls of each scorer; the best is reported")
    args = parser.parse_args(argv)
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    y_true, source = gold_tags(args.sentences)
    y_pred = perturbed(y_true)
    t_ours, f_ours = best_of(lambda: ours(y_true, y_pred), args.repeat)
    t_seq, f_seq = best_of(lambda: f1_score(y_true, y_pred, mode="strict", scheme=IOB2), args.repeat)
    if abs(f_ours - f_seq) > 1e-12:
        raise SystemExit(f"scores differ: ours {f_ours!r}, seqeval {f_seq!r}")
    tokens = sum(map(len, y_true))
    print(f"input: {source}, {len(y_true)} sentences, {tokens} tokens; F1 = {f_ours:.6f} from both")
    print(f"ours (tags → spans → micro F1): {t_ours * 1000:8.1f} ms  (best of {args.repeat})")
    print(f"seqeval f1_score strict IOB2:   {t_seq * 1000:8.1f} ms  (best of {args.repeat})")
    print(f"ratio seqeval / ours: {t_seq / t_ours:.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
