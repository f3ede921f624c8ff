import json

from tndnas.cli import main


def test_info_prints_exact_counts(capsys):
    assert main(["info", "darts-v2"]) == 0
    out = capsys.readouterr().out
    assert "3,349,342" in out and "3,825,768" in out and "FLOPs" in out and "(1, 3, 32, 32)" in out


def test_info_json_and_widths(capsys):
    assert main(["info", "pdarts", "--widths", "16,24,36", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["params"] for r in rows] == [737_338, 1_579_282, 3_433_798]
    assert all(r["flops"] == 2 * r["macs"] for r in rows)


def test_info_reads_the_genotype_once_for_every_width(capsys, monkeypatch):
    import tndnas.commands.info as info

    calls = []
    load = info.load_genotype
    monkeypatch.setattr(info, "load_genotype", lambda spec: calls.append(spec) or load(spec))
    assert main(["info", "pdarts", "--widths", "16,24,36", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert calls == ["pdarts"]


def test_info_checks_widths_as_train_does(capsys):
    for widths, words in (("16,16", "names a width twice"), ("0,16", "from 1 to 4096")):
        assert main(["info", "pdarts", "--widths", widths]) == 2
        assert words in capsys.readouterr().err


def test_info_cifar100_and_digits(capsys):
    assert main(["info", "darts-v2", "--dataset", "cifar100", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 3_401_272
    assert (
        main(
            [
                "info",
                "darts-v2",
                "--dataset",
                "digits",
                "--channels",
                "8",
                "--layers",
                "5",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["input_shape"] == [1, 1, 8, 8]


def test_info_bad_genotype_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "g.json"
    bad.write_text(json.dumps({"normal": [["conv_9x9", 0, 2]], "reduce": [["skip_connect", 0, 2]]}))
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "conv_9x9" in err and "Known operations" in err


def test_info_bad_width_is_one_line_error(capsys):
    assert main(["info", "darts-v2", "--channels", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "channels must be a positive integer" in err
    assert main(["info", "darts-v2", "--layers", "2"]) == 2
    assert "at least 3" in capsys.readouterr().err


def test_info_imagefolder_reads_headers_only(tmp_path, capsys, monkeypatch):
    """The shape of an imagefolder dataset comes from the image headers: nothing is decoded."""
    from PIL import Image

    import tndnas.data.imagefolder as imagefolder

    for split in ("train", "test"):
        for cls in ("a", "b", "c"):
            (tmp_path / split / cls).mkdir(parents=True)
            Image.new("L", (12, 12), 9).save(tmp_path / split / cls / "x.png")

    def no_decoding(*args, **kwargs):
        raise AssertionError("tndnas info decoded images")

    monkeypatch.setattr(imagefolder, "_decode", no_decoding)
    argv = ["info", "darts-v2", "--dataset", "imagefolder", "--data-dir", str(tmp_path)]
    assert main([*argv, "--channels", "8", "--layers", "5", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["input_shape"] == [1, 1, 12, 12] and info["classes"] == 3


def test_output_into_a_closed_pipe_ends_quietly():
    """`tndnas ... | head -1`: the reader stops early; no traceback, the SIGPIPE status."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "tndnas.cli", "info", "pdarts", "--widths", "8,16,24,36,48,64"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    proc.stdout.close()  # the reader is gone before anything is printed
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and "Traceback" not in err and err == ""
