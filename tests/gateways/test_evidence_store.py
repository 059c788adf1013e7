"""The evidence store's promises, held by both places it keeps files: a local directory
and an S3-compatible object store (moto's server over HTTP: no MinIO is packaged for
this machine). A file is found by the hash of its bytes, kept once, never half-written,
and every file read back hashes to its name."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateways.evidence_store import (
    EvidenceStore,
    LocalEvidenceStore,
    StoredFile,
    Upload,
    open_store,
    sha256_of_chunks,
)


@pytest.fixture(scope="module")
def object_store() -> Iterator[str]:
    """An S3-compatible server on a loopback port; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


CREDENTIALS = ("liandong-test", "liandong-test-secret")


def s3_store(endpoint: str) -> Any:
    import boto3

    bucket = f"evidence-{uuid.uuid4().hex[:12]}"
    key, secret = CREDENTIALS
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    ).create_bucket(Bucket=bucket)
    return open_store(
        f"s3://{bucket}/jiangjin", endpoint=endpoint, region="us-east-1", credentials=CREDENTIALS
    )


@pytest.fixture(params=["directory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> EvidenceStore:
    if request.param == "directory":
        return LocalEvidenceStore(tmp_path / "evidence")
    return s3_store(request.getfixturevalue("object_store"))  # type: ignore[no-any-return]


def staged(tmp_path: Path, content: bytes) -> tuple[Path, StoredFile]:
    path = tmp_path / f"staged-{uuid.uuid4().hex}"
    path.write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()
    return path, StoredFile(sha256=digest, size=len(content), media_type="application/pdf")


def test_a_file_is_found_by_the_hash_of_its_bytes(store: EvidenceStore, tmp_path: Path) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)  # more than one read's chunk
    path, stored = staged(tmp_path, content)
    assert not store.has(stored.sha256)
    assert store.about(stored.sha256) is None
    store.put(path, stored)
    assert store.has(stored.sha256)
    assert store.about(stored.sha256) == stored
    assert b"".join(store.chunks(stored.sha256)) == content
    assert list(store.hashes()) == [stored.sha256]
    store.check()


def test_the_same_bytes_put_twice_are_kept_once(store: EvidenceStore, tmp_path: Path) -> None:
    path, stored = staged(tmp_path, b"%PDF-1.7 the same scan")
    store.put(path, stored)
    store.put(path, stored)
    assert list(store.hashes()) == [stored.sha256]


def test_each_units_upload_is_its_own_record(store: EvidenceStore, tmp_path: Path) -> None:
    path, stored = staged(tmp_path, b"%PDF-1.7 one notice")
    store.put(path, stored)
    for unit in ("town:degan", "ecology", "town:degan"):
        store.record_upload(stored.sha256, Upload(unit=unit, filename=f"{unit}.pdf", at="t"))
    assert [u.unit for u in store.uploads(stored.sha256)] == ["ecology", "town:degan"]
    assert store.uploads("0" * 64) == []


def test_a_thumbnail_is_kept_beside_its_file(store: EvidenceStore, tmp_path: Path) -> None:
    path, stored = staged(tmp_path, b"\xff\xd8 a photo")
    store.put(path, stored)
    assert store.thumbnail(stored.sha256) is None
    store.put_thumbnail(stored.sha256, b"\xff\xd8 small")
    assert store.thumbnail(stored.sha256) == b"\xff\xd8 small"


def test_a_file_swapped_on_disk_no_longer_hashes_to_its_name(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path / "evidence")
    path, stored = staged(tmp_path, b"%PDF-1.7 the original notice")
    store.put(path, stored)
    blob = next((tmp_path / "evidence" / "files").glob("*/*/*"))
    blob.write_bytes(b"%PDF-1.7 a forged notice")
    assert sha256_of_chunks(store.chunks(stored.sha256)) != stored.sha256


PUT_FOREVER = """
import hashlib, sys
from pathlib import Path
from gateways.evidence_store import LocalEvidenceStore, StoredFile
store, source = LocalEvidenceStore(Path(sys.argv[1])), Path(sys.argv[2])
digest = hashlib.sha256(source.read_bytes()).hexdigest()
print("ready", flush=True)
while True:
    store.put(source, StoredFile(sha256=digest, size=source.stat().st_size, media_type="x/y"))
    (Path(sys.argv[1]) / "files" / digest[:2] / digest[2:4] / digest).unlink()
"""


@pytest.mark.faults
def test_a_kill_while_a_file_is_written_never_leaves_part_of_it_under_its_name(
    tmp_path: Path,
) -> None:
    source = tmp_path / "scan.pdf"
    source.write_bytes(os.urandom(8 * 1024 * 1024))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    root = tmp_path / "evidence"
    for attempt in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", PUT_FOREVER, str(root), str(source)],
            stdout=subprocess.PIPE,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"ready\n"
        # Killed at a different instant each time: mid-copy, mid-rename, between files.
        # (Whenever it dies, the promise must hold; the delay only varies where.)
        time.sleep(0.007 * attempt)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        store = LocalEvidenceStore(root)
        if store.has(digest):
            assert sha256_of_chunks(store.chunks(digest)) == digest
        assert list(store.hashes()) in ([], [digest])
