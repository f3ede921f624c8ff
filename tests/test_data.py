"""Tests of tndnas.data: readers, download handling, search split, augmentation, batching.

All data is written by the tests into tmp_path; nothing touches the network.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tndnas.data import (
    AugmentConfig,
    BatchIterator,
    DatasetError,
    ImageDataset,
    augment,
    dataset_names,
    load_dataset,
    normalize,
    prepare_batch,
    register_dataset,
    search_split,
)
from tndnas.data import download as downloader
from tndnas.data.augment import cutout, random_crop, random_flip

# --------------------------------------------------------------------------- helpers


def _images(n: int, seed: int) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, size=(n, 3072), dtype=np.uint8)


def _dump(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def _write_cifar10(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Five batches of 4 training images, a test batch of 3, and the meta file."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    xs, ys = [], []
    for i in range(1, 6):
        x, y = _images(4, i), [(i + k) % 10 for k in range(4)]
        _dump(folder / f"data_batch_{i}", {b"data": x, b"labels": y, b"batch_label": b"b"})
        xs.append(x)
        ys += y
    test_x, test_y = _images(3, 99), [9, 0, 5]
    _dump(folder / "test_batch", {b"data": test_x, b"labels": test_y})
    names = [f"class{i}".encode() for i in range(10)]
    _dump(folder / "batches.meta", {b"label_names": names, b"num_vis": 3072})
    return np.concatenate(xs), np.array(ys), test_x, np.array(test_y)


def _write_cifar100(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    train_x, train_y = _images(6, 1), [0, 99, 42, 7, 7, 1]
    test_x, test_y = _images(2, 2), [98, 3]
    _dump(folder / "train", {b"data": train_x, b"fine_labels": train_y, b"coarse_labels": [0] * 6})
    _dump(folder / "test", {b"data": test_x, b"fine_labels": test_y, b"coarse_labels": [0] * 2})
    _dump(folder / "meta", {b"fine_label_names": [f"f{i}".encode() for i in range(100)]})
    return train_x, np.array(train_y), test_x, np.array(test_y)


def _tar(folder: Path, archive: Path) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)


def _check(ds: ImageDataset, expected: tuple[np.ndarray, ...]) -> None:
    train_x, train_y, test_x, test_y = expected
    assert ds.train_x.dtype == torch.uint8 and ds.train_y.dtype == torch.int64
    assert ds.train_x.shape == (len(train_x), 3, 32, 32)
    assert torch.equal(ds.train_x.reshape(len(train_x), -1), torch.from_numpy(train_x))
    assert torch.equal(ds.test_x.reshape(len(test_x), -1), torch.from_numpy(test_x))
    assert ds.train_y.tolist() == train_y.tolist()
    assert ds.test_y.tolist() == test_y.tolist()
    assert (ds.in_channels, ds.image_size) == (3, 32)
    pixels = torch.from_numpy(train_x).reshape(-1, 3, 1024).double() / 255
    assert np.allclose(ds.mean, pixels.mean(dim=(0, 2)).numpy())
    assert np.allclose(ds.std, pixels.permute(1, 0, 2).reshape(3, -1).std(1, unbiased=False))


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- digits and registry


def test_digits_shapes_and_determinism() -> None:
    ds = load_dataset("digits")
    assert ds.train_x.shape == (1437, 1, 8, 8) and ds.test_x.shape == (360, 1, 8, 8)
    assert ds.train_x.dtype == torch.uint8 and ds.train_y.dtype == torch.int64
    assert ds.classes == [str(i) for i in range(10)]
    assert (ds.in_channels, ds.image_size, ds.num_classes) == (1, 8, 10)
    assert int(ds.train_x.max()) == 255 and int(ds.train_x.min()) == 0
    assert set(ds.train_y.tolist()) == set(range(10))
    assert len(ds.mean) == len(ds.std) == 1 and 0 < ds.mean[0] < 1
    again = load_dataset("DIGITS", data_dir="/nonexistent")  # case-insensitive, dir ignored
    assert torch.equal(ds.train_x, again.train_x) and torch.equal(ds.test_y, again.test_y)
    assert "digits" in repr(ds) and ds.to("cpu").train_x.device.type == "cpu"


def test_digits_read_without_scikit_learn_are_scikit_learns_digits() -> None:
    """The data file is read directly (importing scikit-learn costs seconds per process)."""
    from sklearn.datasets import load_digits

    from tndnas.data.datasets import _digits_arrays

    images, labels = _digits_arrays()
    bunch = load_digits()
    assert np.array_equal(images, bunch.images) and np.array_equal(labels, bunch.target)


def test_unknown_dataset_lists_known_names() -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'cifar11'.*cifar10.*digits"):
        load_dataset("cifar11")
    assert {"digits", "cifar10", "cifar100", "imagefolder"} <= set(dataset_names())


def test_register_dataset() -> None:
    def reader(data_dir: Path | None, download: bool) -> ImageDataset:
        x = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
        y = torch.tensor([0, 1])
        return ImageDataset.from_tensors("tiny-test", x, y, x, y, ["a", "b"])

    register_dataset("tiny-test", reader, overwrite=True)
    assert "tiny-test" in dataset_names()
    assert load_dataset("tiny-test").num_classes == 2
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("tiny-test", reader)


def test_invalid_dataset_is_rejected() -> None:
    x = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    with pytest.raises(DatasetError, match="labels must lie in"):
        ImageDataset.from_tensors("bad", x, torch.tensor([0, 2]), x, torch.tensor([0, 1]), "ab")


# --------------------------------------------------------------------------- CIFAR


def test_cifar10_folder_layout(tmp_path: Path) -> None:
    expected = _write_cifar10(tmp_path)
    ds = load_dataset("cifar10", tmp_path)
    _check(ds, expected)
    assert ds.classes == [f"class{i}" for i in range(10)] and ds.name == "cifar10"
    # data_dir may also point straight at the batches folder
    _check(load_dataset("cifar10", tmp_path / "cifar-10-batches-py"), expected)


def test_cifar10_tar_gz(tmp_path: Path) -> None:
    src = tmp_path / "src"
    expected = _write_cifar10(src)
    data = tmp_path / "data"
    data.mkdir()
    _tar(src / "cifar-10-batches-py", data / "cifar-10-python.tar.gz")
    _check(load_dataset("cifar10", str(data)), expected)


def test_cifar100_folder_and_tar(tmp_path: Path) -> None:
    expected = _write_cifar100(tmp_path / "a")
    ds = load_dataset("cifar100", tmp_path / "a")
    _check(ds, expected)
    assert ds.num_classes == 100 and ds.classes[42] == "f42"
    (tmp_path / "b").mkdir()
    _tar(tmp_path / "a" / "cifar-100-python", tmp_path / "b" / "cifar-100-python.tar.gz")
    _check(load_dataset("cifar100", tmp_path / "b"), expected)


def test_cifar_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"CIFAR-10 not found under .*cifar-10-python\.tar\.gz"):
        load_dataset("cifar10", tmp_path)
    with pytest.raises(
        DatasetError, match=r"cifar-100-python\.tar\.gz.*--set dataset\.download=true"
    ):
        load_dataset("cifar100", tmp_path)
    with pytest.raises(DatasetError, match="--data-dir"):
        load_dataset("cifar10")
    _write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match="data_batch_3"):
        load_dataset("cifar10", tmp_path)


def test_cifar_corrupt_files(tmp_path: Path) -> None:
    _write_cifar10(tmp_path)
    bad = tmp_path / "cifar-10-batches-py" / "test_batch"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="test_batch"):
        load_dataset("cifar10", tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DatasetError, match="cifar-10-python.tar.gz"):
        load_dataset("cifar10", other)


# --------------------------------------------------------------------------- download


def test_download_failure_says_where_to_put_the_file(tmp_path, monkeypatch) -> None:
    def offline(url: str, dest: Path, timeout: float = 60.0) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(downloader, "fetch", offline)
    with pytest.raises(DatasetError, match=r"network is unreachable.*cifar-10-python\.tar\.gz"):
        load_dataset("cifar10", tmp_path / "new", download=True)
    assert not list((tmp_path / "new").iterdir())  # no partial file left behind


def test_download_checks_md5(tmp_path, monkeypatch) -> None:
    _write_cifar10(tmp_path / "src")
    local = tmp_path / "local.tar.gz"
    _tar(tmp_path / "src" / "cifar-10-batches-py", local)
    calls: list[str] = []

    def fake_fetch(url: str, dest: Path, timeout: float = 60.0) -> None:
        calls.append(url)
        shutil.copyfile(local, dest)

    monkeypatch.setattr(downloader, "fetch", fake_fetch)
    data = tmp_path / "data"
    # The tiny archive does not match the official checksum: rejected and removed.
    with pytest.raises(DatasetError, match="md5"):
        load_dataset("cifar10", data, download=True)
    assert calls == ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    assert not list(data.iterdir())
    # With the archive's own checksum the download is accepted and read.
    md5 = hashlib.md5(local.read_bytes()).hexdigest()
    archive = downloader.ARCHIVES["cifar10"]
    monkeypatch.setitem(
        downloader.ARCHIVES, "cifar10", downloader.Archive(archive.filename, archive.url, md5)
    )
    ds = load_dataset("cifar10", data, download=True)
    assert len(ds.train_x) == 20 and (data / "cifar-10-python.tar.gz").is_file()
    load_dataset("cifar10", data, download=True)  # present now: no second fetch
    assert len(calls) == 2


# --------------------------------------------------------------------------- imagefolder


def _png(path: Path, color, mode: str = "RGB", size: int = 6) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (size, size), color).save(path)


def test_imagefolder_rgb(tmp_path: Path) -> None:
    _png(tmp_path / "train" / "cat" / "a.png", (255, 0, 0))
    _png(tmp_path / "train" / "cat" / "b.png", (0, 255, 0))
    _png(tmp_path / "train" / "ant" / "c.png", 7, mode="L")  # mixed modes -> RGB
    _png(tmp_path / "test" / "ant" / "d.png", (1, 2, 3))
    _png(tmp_path / "test" / "cat" / "e.png", (4, 5, 6))
    (tmp_path / "train" / "cat" / "notes.txt").write_text("ignored")
    ds = load_dataset("imagefolder", tmp_path)
    assert ds.classes == ["ant", "cat"]
    assert ds.train_x.shape == (3, 3, 6, 6) and ds.test_x.shape == (2, 3, 6, 6)
    assert ds.train_y.tolist() == [0, 1, 1] and ds.test_y.tolist() == [0, 1]
    assert ds.train_x[0, :, 0, 0].tolist() == [7, 7, 7]
    assert ds.train_x[1, :, 3, 3].tolist() == [255, 0, 0]
    assert ds.test_x[0, :, 5, 5].tolist() == [1, 2, 3]


def test_imagefolder_grayscale_and_errors(tmp_path: Path) -> None:
    _png(tmp_path / "train" / "x" / "a.png", 10, mode="L")
    _png(tmp_path / "train" / "y" / "b.png", 200, mode="L")
    _png(tmp_path / "test" / "x" / "c.png", 30, mode="L")
    _png(tmp_path / "test" / "y" / "d.png", 40, mode="L")
    ds = load_dataset("imagefolder", tmp_path)
    assert ds.train_x.shape == (2, 1, 6, 6) and ds.train_x[1].unique().tolist() == [200]

    _png(tmp_path / "test" / "y" / "e.png", 40, mode="L", size=5)
    with pytest.raises(DatasetError, match="same size"):
        load_dataset("imagefolder", tmp_path)
    (tmp_path / "test" / "y" / "e.png").unlink()
    _png(tmp_path / "test" / "z" / "f.png", 40, mode="L")
    with pytest.raises(DatasetError, match="classes"):
        load_dataset("imagefolder", tmp_path)
    with pytest.raises(DatasetError, match="train"):
        load_dataset("imagefolder", tmp_path / "missing")


# --------------------------------------------------------------------------- split


def test_search_split() -> None:
    w, a = search_split(101, seed=3)
    assert w.dtype == a.dtype == torch.int64 and (len(w), len(a)) == (50, 51)
    assert sorted(torch.cat([w, a]).tolist()) == list(range(101))
    w2, a2 = search_split(101, seed=3)
    assert torch.equal(w, w2) and torch.equal(a, a2)
    w3, _ = search_split(101, seed=4)
    assert not torch.equal(w, w3)
    w4, a4 = search_split(10, seed=0, fraction=0.8)
    assert (len(w4), len(a4)) == (8, 2)
    with pytest.raises(ValueError):
        search_split(1, seed=0)


# --------------------------------------------------------------------------- augmentation


def _batch(n: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 8, 8), generator=_gen(seed), dtype=torch.uint8)


def test_normalize() -> None:
    x = torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(1, 2, 1, 2)
    out = normalize(x, (0.5, 0.0), (0.5, 2.0))
    assert out.dtype == torch.float32
    assert torch.allclose(out, torch.tensor([[[[-1.0, 1.0]], [[0.0, 0.5]]]]))
    assert normalize(x, (0.5, 0.0), (0.5, 2.0), dtype=torch.float64).dtype == torch.float64
    with pytest.raises(TypeError):
        normalize(out, (0.5,), (0.5,))


def test_augment_keeps_shape_and_is_seeded() -> None:
    cfg = AugmentConfig(crop_padding=2, flip=True, cutout=3)
    x = normalize(_batch(), (0.5,) * 3, (0.25,) * 3)
    a = augment(x, cfg, _gen(1))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, augment(x, cfg, _gen(1)))
    assert not torch.equal(a, augment(x, cfg, _gen(2)))
    p = prepare_batch(_batch(), (0.5,) * 3, (0.25,) * 3, cfg, _gen(1))
    assert torch.equal(p, prepare_batch(_batch(), (0.5,) * 3, (0.25,) * 3, cfg, _gen(1)))
    assert torch.equal(prepare_batch(_batch(), (0.5,) * 3, (0.25,) * 3, None, None), x)


def test_crop_pads_with_black() -> None:
    x = torch.full((64, 1, 8, 8), 200, dtype=torch.uint8)
    mean, std = (0.5,), (0.25,)
    out = prepare_batch(x, mean, std, AugmentConfig(crop_padding=4, flip=False), _gen(0))
    black = (0.0 - 0.5) / 0.25
    inside = (200 / 255 - 0.5) / 0.25
    padded = (out - black).abs() < 1e-5
    assert torch.all(padded | ((out - inside).abs() < 1e-5))
    assert padded.any() and not padded.all(dim=(1, 2, 3)).any()
    shifted = padded.flatten(1).any(1)
    assert 0 < int(shifted.sum()) < 64  # offsets vary per sample; offset 0 leaves no border
    # kept pixels are a contiguous shifted copy of the original row
    ramp = torch.arange(8, dtype=torch.float32).view(1, 1, 1, 8).expand(32, 1, 8, 8)
    c = random_crop(ramp, 2, _gen(5), fill=-1.0)
    for row in c[:, 0, 4]:  # a middle row is never all padding
        kept = row[row >= 0]
        assert len(kept) >= 6
        assert torch.equal(kept, torch.arange(kept[0].item(), kept[0].item() + len(kept)))


def test_flip() -> None:
    x = torch.arange(8, dtype=torch.float32).view(1, 1, 1, 8).expand(64, 2, 3, 8).contiguous()
    out = random_flip(x, _gen(0))
    flipped = (out == x.flip(3)).flatten(1).all(1)
    same = (out == x).flatten(1).all(1)
    assert torch.all(flipped ^ same) and 0 < int(flipped.sum()) < 64


def test_cutout_square() -> None:
    x = torch.ones(256, 2, 16, 16)
    for length in (4, 5):
        out = cutout(x, length, _gen(length))
        zeros = (out == 0).all(1)  # same square in every channel
        assert torch.equal(out == 0, zeros[:, None].expand_as(out))
        counts = zeros.flatten(1).sum(1)
        assert int(counts.max()) == length * length and int(counts.min()) > 0
        full = counts == length * length
        assert full.any()
        for mask in zeros[full][:8]:
            rows, cols = mask.nonzero(as_tuple=True)
            assert int(rows.max() - rows.min()) == length - 1
            assert int(cols.max() - cols.min()) == length - 1


# --------------------------------------------------------------------------- loader


def _loader(n: int, batch_size: int, **kw) -> BatchIterator:
    x = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 4, 4).contiguous()
    y = torch.arange(n, dtype=torch.int64)
    kw.setdefault("augment", None)
    return BatchIterator(x, y, batch_size, mean=(0.0,), std=(1 / 255,), generator=_gen(0), **kw)


def test_batch_iterator_covers_subset_once() -> None:
    it = _loader(50, 8, indices=search_split(50, seed=1)[1])
    assert len(it) == 25 // 8 == 3
    seen = []
    for xb, yb in it:
        assert xb.shape == (8, 1, 4, 4) and xb.dtype == torch.float32 and yb.dtype == torch.int64
        assert torch.allclose(xb[:, 0, 0, 0], yb.float())  # images travel with their labels
        seen += yb.tolist()
    assert len(seen) == len(set(seen)) == 24
    assert set(seen) <= set(search_split(50, seed=1)[1].tolist())
    assert seen != [yb for _, ybs in it for yb in ybs.tolist()]  # reshuffled each epoch

    it = _loader(10, 4, drop_last=False, shuffle=False)
    assert len(it) == 3 and [len(yb) for _, yb in it] == [4, 4, 2]
    assert [v for _, yb in it for v in yb.tolist()] == list(range(10))


def test_batch_iterator_small_subset_yields_one_batch() -> None:
    it = _loader(30, 64, indices=torch.tensor([3, 5, 7]), augment=AugmentConfig(cutout=2))
    batches = list(it)
    assert len(it) == len(batches) == 1
    assert sorted(batches[0][1].tolist()) == [3, 5, 7] and batches[0][0].shape == (3, 1, 4, 4)


def test_dataset_flag_sets_the_data_sets_own_augmentation(capsys):
    """`--preset quick --dataset cifar10` takes CIFAR's crop and flip, not the digits' of the
    preset; a --set of those keys wins; a data set that declares none leaves them and says so."""
    import argparse

    from tndnas.commands.options import option_overrides
    from tndnas.config import load_search_config, load_train_config
    from tndnas.data import dataset_augmentation, register_dataset

    options = (("dataset", "dataset.name"),)

    def args(*sets):
        return argparse.Namespace(overrides=list(sets), dataset="synthetic-cifar10")

    cfg = load_search_config(
        preset="quick", overrides=option_overrides(args(), options, "weights.")
    )
    assert (cfg.weights.crop_padding, cfg.weights.flip) == (4, True)
    assert "its augmentation weights.crop_padding=4, weights.flip=true" in capsys.readouterr().out
    over = option_overrides(args("weights.flip=false"), options, "weights.")
    cfg = load_search_config(preset="quick", overrides=over)
    assert (cfg.weights.crop_padding, cfg.weights.flip) == (4, False)
    train = load_train_config(preset="quick", overrides=option_overrides(args(), options, ""))
    assert (train.crop_padding, train.flip) == (4, True)
    assert dataset_augmentation("digits") == {"crop_padding": 1, "flip": False}
    register_dataset("plain-test-set", lambda data_dir, download: None, overwrite=True)
    capsys.readouterr()
    none = argparse.Namespace(overrides=[], dataset="plain-test-set")
    assert option_overrides(none, options, "weights.") == ['dataset.name="plain-test-set"']
    assert "declares no augmentation" in capsys.readouterr().out


def test_the_datasets_doc_plugin_runs(tmp_path, monkeypatch, capsys):
    """docs/datasets.md's reader plug-in and its two commands, as printed, at a tiny size."""
    import re
    import shlex
    from pathlib import Path

    from tndnas.cli import main

    from .tiny import TINY

    page = (Path(__file__).parents[1] / "docs" / "datasets.md").read_text()
    code = re.search(r"```python\n(# my_data\.py\n.*?)```", page, re.S).group(1)
    commands = re.search(r"```bash\n(tndnas --plugin ./my_data.py.*?)```", page, re.S).group(1)
    (tmp_path / "my_data.py").write_text(code)
    monkeypatch.chdir(tmp_path)
    search_line, train_line = [shlex.split(c)[1:] for c in commands.strip().splitlines()]
    tiny_sets = [a for s in TINY for a in ("--set", s)]
    assert main([*search_line, "--no-progress", "--no-plots", *tiny_sets]) == 0
    assert "its augmentation weights.crop_padding=2, weights.flip=true" in capsys.readouterr().out
    summary = json.loads((tmp_path / "runs" / "blobs" / "summary.json").read_text())
    assert summary["dataset"] == "blobs" and summary["target_network"]["input_shape"] == [
        1,
        3,
        16,
        16,
    ]
    train_sets = ["--epochs", "1", "--set", "max_steps_per_epoch=2"]
    assert main([*train_line, "--no-progress", *train_sets]) == 0
    trained = json.loads((tmp_path / "runs" / "blobs-train" / "summary.json").read_text())
    assert trained["dataset"] == "blobs" and trained["test_error"] is not None


def test_resized_dataset_averages_pixel_blocks_and_refuses_to_grow():
    """``ImageDataset.resized``: each new pixel the mean of its block (rounded to uint8), labels
    and classes kept, mean and std computed again; a larger size is one sentence."""
    from tndnas.data import ImageDataset
    from tndnas.data.datasets import DatasetError

    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (6, 3, 8, 8), generator=gen, dtype=torch.uint8)
    y = torch.arange(6) % 2
    ds = ImageDataset.from_tensors("t", x, y, x[:2], y[:2], ["a", "b"])
    small = ds.resized(4)
    assert small.image_size == 4 and small.train_x.dtype == torch.uint8
    blocks = x.float().reshape(6, 3, 4, 2, 4, 2).mean((3, 5)).round()
    assert torch.equal(small.train_x, blocks.to(torch.uint8))
    assert torch.equal(small.test_x, blocks[:2].to(torch.uint8))
    assert torch.equal(small.train_y, y) and small.classes == ds.classes
    assert all(a < b for a, b in zip(small.std, ds.std))  # averaging smooths: computed anew
    assert ds.resized(8) is ds
    with pytest.raises(DatasetError, match="choose a size from 1 to 8"):
        ds.resized(9)
