"""``$HARNESS_CACHE`` moves every machine-local cache, the sha256 memo included."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from harness.plan import data


@pytest.fixture
def fresh_memo() -> None:
    data._sha256_memo.cache_clear()  # the in-process memo would answer before the disk one
    yield
    data._sha256_memo.cache_clear()


def test_sha256_memo_goes_under_harness_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_memo: None) -> None:
    cache, xdg = tmp_path / "harness-cache", tmp_path / "xdg"
    monkeypatch.setenv("HARNESS_CACHE", str(cache))
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    file = tmp_path / "train.csv"
    file.write_bytes(b"text,label\nhello,a\n")

    digest = data.sha256_of(file)

    assert digest == hashlib.sha256(file.read_bytes()).hexdigest()
    memo = json.loads((cache / "sha256-v2.json").read_text())
    assert list(memo.values()) == [digest]
    assert not xdg.exists()  # nothing written beside it


def test_cache_dir_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HARNESS_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "")  # empty counts as unset
    assert data.cache_dir() == tmp_path / "home" / ".cache" / "harness"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_dir() == tmp_path / "xdg" / "harness"
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "mine"))
    assert data.cache_dir() == tmp_path / "mine"
    assert data.data_roots()[-1] == tmp_path / "mine" / "data"  # the user data root follows it


def test_task_caches_follow_harness_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.longtail import _cifar_data as cifar_data, text_data

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    assert cifar_data.cache_dir() == tmp_path
    assert text_data.cache_root() == tmp_path
