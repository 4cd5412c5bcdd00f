"""``bulkmod from-export`` on the command line: a job out, or a clear refusal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bulkmod.cli import main

EXPORTS = Path(__file__).resolve().parent / "data" / "course-exports"


def test_writes_a_job_that_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The job written for two courses passes validate: 2 x (2 + 9 + 2) lines."""
    out = tmp_path / "job.jsonl"
    export = str(EXPORTS / "course-template-helium")
    assert main(["from-export", export, "--courses", "1-2", "-o", str(out)]) == 0
    assert len(out.read_bytes().splitlines()) == 26
    assert main(["validate", str(out)]) == 0


def test_export_without_modules_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An export with no modules: exit 2, a message naming it, no job written."""
    export = tmp_path / "empty"
    shutil.copytree(EXPORTS / "course-template-helium", export)
    (export / "course_settings" / "module_meta.xml").write_text(
        '<?xml version="1.0"?>\n'
        '<modules xmlns="http://canvas.instructure.com/xsd/cccv1p0"></modules>\n'
    )
    out = tmp_path / "job.jsonl"
    status = main(["from-export", str(export), "--courses", "1", "-o", str(out)])
    assert status == 2
    assert "has no modules" in capsys.readouterr().err
    assert not out.exists()
