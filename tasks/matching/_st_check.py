"""Cross-check of the pretrained protocol against sentence-transformers itself.

The pretrained protocol (``tasks.matching.base.PRETRAINED_BUDGETS``) is meant to be
sentence-transformers' own fine-tune. This module trains the same cell with
``SentenceTransformerTrainer`` — same MiniLM weights, same train subsample, the **same batches
in the same order** (the protocol's permutation for the seed, fed to the trainer sequentially),
the same loss (``CoSENTLoss`` λ = 20 or ``CosineSimilarityLoss``), AdamW 2e-5 with weight decay
0.01, 10 % linear warm-up, gradient norm 1, maxlen 64 — and scores the same test pairs by the
cosine of ``model.encode`` vectors. What may still differ: dropout masks (each draws its own)
and float summation order, so a fine-tuned cell agrees to within seed noise; with dropout off
both train to the same weights (``tests/test_matching_pretrained.py`` checks it after two steps)
and the frozen encoder agrees exactly.

Needs ``sentence-transformers`` and ``accelerate`` (not dependencies of the harness; imported
here only). Run: ``python -m tasks.matching._st_check --task stsb-en --method cosine_mse --seed 0
--store /tmp/pretrained-store`` (reads our cell from the store, runs it there if missing).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from typing import Any

import numpy as np
import torch

from tasks.matching.data import LabelRange, Pairs
from tasks.matching.metrics import spearman100

ST_LOSSES = ("cosent", "cosine_mse")  # the bi-encoder objectives sentence-transformers ships as is


def disable_dropout(module: torch.nn.Module) -> None:
    """Every dropout probability to 0 (for a deterministic comparison of two trainers)."""
    for m in module.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0


def protocol_order(n: int, seed: int, batch_size: int) -> list[int]:
    """The protocol's order of the training pairs for ``seed`` (``_protocol.train_and_score``:
    ``default_rng(seed).permutation``), without a last batch of fewer than 2 pairs (it skips one)."""
    order = np.random.default_rng(seed).permutation(n).tolist()
    tail = n % batch_size
    return order[: n - tail] if tail == 1 else order


def st_dataset(train: Pairs, labels: LabelRange, method: str, order: list[int]) -> Any:
    """A ``datasets.Dataset`` of the pairs in ``order``, labelled as ``method``'s loss expects."""
    from datasets import Dataset

    if method not in ST_LOSSES:
        raise ValueError(f"sentence-transformers cross-check covers {', '.join(ST_LOSSES)}, not {method!r}")
    y = train.label if method == "cosent" else labels.normalised(train.label)
    return Dataset.from_dict({
        "sentence1": [train.a[i] for i in order],
        "sentence2": [train.b[i] for i in order],
        "label": [float(y[i]) for i in order],
    })


def st_finetune(model_dir: str, train: Pairs, labels: LabelRange, method: str, seed: int, schedule: Any, maxlen: int,
                dropout: bool = True) -> Any:
    """A ``SentenceTransformer`` fine-tuned by sentence-transformers' trainer on the protocol's batches."""
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from torch.utils.data import BatchSampler, SequentialSampler

    class InOrder(SentenceTransformerTrainer):  # type: ignore[misc]
        def get_batch_sampler(self, dataset: Any, batch_size: int, drop_last: bool, *args: Any, **kwargs: Any) -> Any:
            return BatchSampler(SequentialSampler(range(len(dataset))), batch_size, drop_last)

    torch.manual_seed(seed)
    model = SentenceTransformer(model_dir, device="cpu")
    model.max_seq_length = maxlen
    if not dropout:
        disable_dropout(model)
    try:
        from sentence_transformers.sentence_transformer import losses
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import losses  # type: ignore[no-redef]
    loss = losses.CoSENTLoss(model, scale=20.0) if method == "cosent" else losses.CosineSimilarityLoss(model)
    data = st_dataset(train, labels, method, protocol_order(len(train), seed, schedule.batch_size))
    with tempfile.TemporaryDirectory() as out:
        args = SentenceTransformerTrainingArguments(
            output_dir=out, num_train_epochs=schedule.epochs, per_device_train_batch_size=schedule.batch_size,
            learning_rate=schedule.lr, warmup_steps=schedule.warmup, weight_decay=schedule.weight_decay,
            max_grad_norm=schedule.max_grad_norm, lr_scheduler_type="linear", optim="adamw_torch", seed=seed, data_seed=seed,
            use_cpu=True, report_to=[], save_strategy="no", logging_strategy="no", disable_tqdm=True,
        )
        InOrder(model=model, args=args, train_dataset=data, loss=loss).train()
    return model


def st_scores(model: Any, pairs: Pairs) -> np.ndarray:
    """Cosine of ``model.encode`` vectors of each pair (each distinct sentence encoded once)."""
    distinct = list(dict.fromkeys(pairs.a + pairs.b))
    vecs = torch.tensor(model.encode(distinct, batch_size=256, convert_to_numpy=True))
    unit = vecs / vecs.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    where = {t: i for i, t in enumerate(distinct)}
    ia = torch.tensor([where[t] for t in pairs.a])
    ib = torch.tensor([where[t] for t in pairs.b])
    return (unit[ia] * unit[ib]).sum(-1).double().numpy()


def frozen_agreement(model_dir: str, pairs: Pairs, maxlen: int) -> dict[str, float]:
    """Frozen MiniLM: our encoder (mean pooling) against sentence-transformers' ``encode``."""
    from sentence_transformers import SentenceTransformer

    from methods.matching.cosent import CoSENT
    from tasks.matching._encoders import HFEncoder
    from tasks.matching._protocol import Scorer

    ours, _, _ = Scorer(HFEncoder(model_dir, "mean", maxlen), None, CoSENT()).score(pairs)
    model = SentenceTransformer(model_dir, device="cpu")
    model.max_seq_length = maxlen
    theirs = st_scores(model, pairs)
    return {"frozen_spearman_ours": spearman100(ours, pairs.label), "frozen_spearman_st": spearman100(theirs, pairs.label),
            "frozen_max_abs_cosine_diff": float(np.abs(ours - theirs).max())}


def our_spearman(task: str, method: str, seed: int, scale: str, store_dir: str) -> float:
    """Our cell's stored test Spearman (the cell is run into ``store_dir`` first if missing)."""
    from harness.plan.cells import Cell
    from harness.run.cell import RunOptions, run_cell
    from harness.store.store import Store

    cell = Cell.build(task, method, seed, scale, {"encoder": "minilm"})
    store = Store(store_dir)
    records = store.load([task])
    hit = records[(records["cell_key"] == cell.key) & (records["metric"] == "spearman")] if len(records) else records
    if not len(hit):
        run_cell(cell, store, RunOptions(progress=False))
        records = store.load([task])
        hit = records[(records["cell_key"] == cell.key) & (records["metric"] == "spearman")]
    return float(hit["value"].iloc[-1])


def cross_check(task_name: str, method: str, seed: int, scale: str, store_dir: str) -> dict[str, Any]:
    from harness.plan import registry
    from tasks.matching._encoders import minilm_dir

    task = registry.get_task(task_name)(encoder="minilm")
    train, _, test = task.splits(scale)
    schedule, maxlen = task.schedule(scale), task.budget(scale).maxlen
    folder = minilm_dir()
    out: dict[str, Any] = {"task": task_name, "method": method, "seed": seed, "scale": scale, "train_pairs": len(train), "test_pairs": len(test)}
    out.update(frozen_agreement(folder, test, maxlen))
    out["spearman_ours"] = our_spearman(task_name, method, seed, scale, store_dir)
    t0 = time.monotonic()
    torch.set_num_threads(1)
    model = st_finetune(folder, train, task.labels, method, seed, schedule, maxlen)
    out["spearman_st"] = spearman100(st_scores(model, test), test.label)
    out["st_seconds"] = time.monotonic() - t0
    out["difference"] = out["spearman_ours"] - out["spearman_st"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="stsb-en")
    parser.add_argument("--method", default="cosine_mse", choices=ST_LOSSES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--store", required=True)
    args = parser.parse_args()
    print(json.dumps(cross_check(args.task, args.method, args.seed, args.scale, args.store)))


if __name__ == "__main__":
    main()
