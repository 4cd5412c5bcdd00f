"""Results lines appended straight to the file: whole, in order, after a torn tail."""

from __future__ import annotations

from pathlib import Path

import orjson

from bulkmod.engine.journal import Journal, iter_records

SHA = "0" * 64
BASE = "http://127.0.0.1:1"


def _open(path: Path) -> tuple[Journal, bool]:
    return Journal.open(
        path, job="job.jsonl", job_sha256=SHA, base_url=BASE, user="u", fresh=False
    )


def test_a_resume_cuts_the_torn_line_and_appends_whole_ones(tmp_path: Path) -> None:
    """A resume drops a half-written last line; every line after it is whole."""
    path = tmp_path / "results.jsonl"
    journal, resuming = _open(path)
    assert not resuming
    journal.write({"id": "a", "status": "ok"})
    journal.close()
    with path.open("ab") as handle:
        handle.write(b'{"id": "b", "sta')

    journal, resuming = _open(path)
    assert resuming
    journal.write({"id": "c", "status": "ok"})
    journal.write({"id": "d", "status": "ok", "text": "x" * 70_000})
    journal.close()

    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.split(b"\n")[:-1]
    records = [orjson.loads(line) for line in lines]
    assert [r.get("id") for r in records] == [None, "a", None, "c", "d"]
    assert "bulkmod_resume" in records[2]
    assert [r.get("id") for r in iter_records(path)] == [None, "a", None, "c", "d"]


def test_a_torn_header_is_started_over(tmp_path: Path) -> None:
    """A file holding only the start of a header is a new file."""
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"bulkmod": {"version": "1", "jo')
    journal, resuming = _open(path)
    assert not resuming
    journal.write({"id": "a", "status": "ok"})
    journal.close()
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert "bulkmod" in records[0]
    assert records[1]["id"] == "a"
    assert len(records) == 2


def test_fresh_moves_the_old_file_aside_and_writes_to_the_new(tmp_path: Path) -> None:
    """--fresh keeps the old results beside the new file, untouched."""
    path = tmp_path / "results.jsonl"
    journal, _ = _open(path)
    journal.write({"id": "a", "status": "ok"})
    journal.close()
    journal, resuming = Journal.open(
        path, job="job.jsonl", job_sha256=SHA, base_url=BASE, user="u", fresh=True
    )
    assert not resuming
    journal.write({"id": "b", "status": "ok"})
    journal.close()
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [r.get("id") for r in records] == [None, "b"]
    aside = [p for p in tmp_path.iterdir() if p.name != "results.jsonl"]
    assert len(aside) == 1
    assert [orjson.loads(x).get("id") for x in aside[0].read_bytes().splitlines()] == [
        None,
        "a",
    ]
