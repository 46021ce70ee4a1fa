"""Tests of the ``iotlab`` dispatcher and the output-folder checks it shares."""

from __future__ import annotations

import errno
import os
import re

import pytest

from iotlab import __main__ as cli
from iotlab import _cli
from iotlab._cli import OutputDirError, prepare_output_dir, remove_created_dirs


def test_help_lists_commands_aligned(capsys):
    assert cli.main(["--help"]) == 0
    output = capsys.readouterr().out
    help_columns = set()
    for name, (_, help_text) in cli.COMMANDS.items():
        row = next(line for line in output.splitlines() if help_text in line)
        assert row.split()[0] == name
        help_columns.add(row.index(help_text))
    assert len(help_columns) == 1


def test_version_option(capsys):
    assert cli.main(["--version"]) == 0
    output = capsys.readouterr().out.strip()
    assert output.startswith("iotlab ")
    assert output != "iotlab "


def test_fetch_usage_names_iotlab_fetch(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["fetch", "--help"])
    assert caught.value.code == 0
    output = capsys.readouterr().out
    assert output.startswith("usage: iotlab fetch ")
    assert "data_fetch.py [" not in output


def test_fetch_errors_name_iotlab_fetch(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["fetch", "--source", "twin", "--rows", "10"])
    assert caught.value.code == 2
    assert "iotlab fetch: error: --rows=10 is too small" in capsys.readouterr().err


def test_unknown_command_exits_2(capsys):
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


# --------------------------------------------------------------------------
# prepare_output_dir


def test_output_dir_created_with_parents(tmp_path):
    target = tmp_path / "a" / "b"
    created = prepare_output_dir(target, "choose another --out")
    assert target.is_dir()
    assert created == [tmp_path / "a", target]
    assert list(target.iterdir()) == []


def test_output_dir_existing_is_kept(tmp_path):
    assert prepare_output_dir(tmp_path, "choose another --out") == []
    assert tmp_path.is_dir()


def test_output_dir_is_a_file(tmp_path):
    target = tmp_path / "results.csv"
    target.write_text("x\n")
    with pytest.raises(OutputDirError) as caught:
        prepare_output_dir(target, "choose another --out")
    message = str(caught.value)
    assert message == (
        f"cannot write to {target}: it is a file, not a folder; choose another --out"
    )
    assert target.read_text() == "x\n"


def test_output_dir_under_a_file(tmp_path):
    blocker = tmp_path / "results.csv"
    blocker.write_text("x\n")
    with pytest.raises(OutputDirError, match=re.escape(f"{blocker} is a file")):
        prepare_output_dir(blocker / "run", "choose another --out")


def test_output_dir_not_writable_removes_new_folders(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(_cli.tempfile, "mkstemp", refuse)
    target = tmp_path / "new" / "run"
    with pytest.raises(OutputDirError) as caught:
        prepare_output_dir(target, "choose another --out")
    assert str(caught.value) == (
        f"cannot write to {target}: Permission denied; choose another --out"
    )
    assert not (tmp_path / "new").exists()


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root can write to read-only folders",
)
def test_output_dir_read_only_folder(tmp_path):
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        with pytest.raises(OutputDirError, match="Permission denied"):
            prepare_output_dir(read_only, "choose another --out")
    finally:
        read_only.chmod(0o755)


def test_remove_created_dirs_keeps_content(tmp_path):
    created = prepare_output_dir(tmp_path / "a" / "b", "choose another --out")
    (tmp_path / "a" / "b" / "kept.txt").write_text("x")
    remove_created_dirs(created)
    assert (tmp_path / "a" / "b" / "kept.txt").is_file()


def test_remove_created_dirs_removes_empty(tmp_path):
    created = prepare_output_dir(tmp_path / "a" / "b", "choose another --out")
    remove_created_dirs(created)
    assert sorted(tmp_path.iterdir()) == []
