"""Where evidence files are kept: a content-addressed store keyed by SHA-256.

A file's key is the hash of its bytes, so the same photo uploaded twice is kept once,
a file can never be replaced by another under the same key, and anyone holding the
audit trail (which records each piece of evidence's hash) can tell a swapped file.

Two places, one interface: a local directory (the default, beside the embedded stores)
and any S3-compatible object store (`s3://bucket/prefix`, through boto3). Beside each
file: what it is (`meta`, derived from the bytes, so every writer writes the same), which
units uploaded it (`uploads`, one object per unit: two units uploading at once never
overwrite each other), and for images a thumbnail.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

CHUNK = 1 << 20


class StoredFile(BaseModel):
    sha256: str
    size: int = Field(ge=0)
    media_type: str


class Upload(BaseModel):
    """One unit's upload of a file: who, when, and the name it had on their machine."""

    unit: str
    person: str | None = None
    filename: str = ""
    at: str


class EvidenceStore(Protocol):
    @property
    def description(self) -> str: ...

    def staging(self) -> Path:
        """Where an upload is written while it is hashed."""

    def put(self, staged: Path, stored: StoredFile) -> None:
        """Keeps the staged file under its hash (already computed by the caller)."""

    def has(self, sha256: str) -> bool: ...

    def about(self, sha256: str) -> StoredFile | None: ...

    def chunks(self, sha256: str) -> Iterator[bytes]: ...

    def record_upload(self, sha256: str, upload: Upload) -> None: ...

    def uploads(self, sha256: str) -> list[Upload]: ...

    def put_thumbnail(self, sha256: str, jpeg: bytes) -> None: ...

    def thumbnail(self, sha256: str) -> bytes | None: ...

    def hashes(self) -> Iterator[str]:
        """Every file kept, by key."""
        ...

    def check(self) -> None:
        """Raises if the store cannot be written (for /health)."""


def sha256_of_chunks(chunks: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def _fanned(root: Path, kind: str, sha256: str, suffix: str = "") -> Path:
    # Two levels of fan-out keep directories small at a city's hundreds of thousands.
    return root / kind / sha256[:2] / sha256[2:4] / f"{sha256}{suffix}"


def _write_atomically(path: Path, data: bytes | Path) -> None:
    """Writes through a temporary file in the same directory, synced, then renamed: a
    crash leaves the old content or the new, never half a file under the real name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, Path):
                with data.open("rb") as source:
                    while chunk := source.read(CHUNK):
                        out.write(chunk)
            else:
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass
class LocalEvidenceStore:
    root: Path

    @property
    def description(self) -> str:
        return f"directory {self.root}"

    def staging(self) -> Path:
        """Where uploads are written while they are hashed (same file system: no copy)."""
        path = self.root / "incoming"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def put(self, staged: Path, stored: StoredFile) -> None:
        blob = _fanned(self.root, "files", stored.sha256)
        if not blob.exists():
            _write_atomically(blob, staged)
        _write_atomically(
            _fanned(self.root, "meta", stored.sha256, ".json"), stored.model_dump_json().encode()
        )

    def has(self, sha256: str) -> bool:
        return _fanned(self.root, "files", sha256).is_file()

    def about(self, sha256: str) -> StoredFile | None:
        meta = _fanned(self.root, "meta", sha256, ".json")
        if not self.has(sha256) or not meta.is_file():
            return None
        return StoredFile.model_validate_json(meta.read_bytes())

    def chunks(self, sha256: str) -> Iterator[bytes]:
        with _fanned(self.root, "files", sha256).open("rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk

    def record_upload(self, sha256: str, upload: Upload) -> None:
        path = self.root / "uploads" / sha256[:2] / sha256 / f"{upload.unit}.json"
        _write_atomically(path, upload.model_dump_json().encode())

    def uploads(self, sha256: str) -> list[Upload]:
        folder = self.root / "uploads" / sha256[:2] / sha256
        if not folder.is_dir():
            return []
        return [Upload.model_validate_json(p.read_bytes()) for p in sorted(folder.glob("*.json"))]

    def put_thumbnail(self, sha256: str, jpeg: bytes) -> None:
        _write_atomically(_fanned(self.root, "thumbnails", sha256, ".jpg"), jpeg)

    def thumbnail(self, sha256: str) -> bytes | None:
        path = _fanned(self.root, "thumbnails", sha256, ".jpg")
        return path.read_bytes() if path.is_file() else None

    def hashes(self) -> Iterator[str]:
        files = self.root / "files"
        if files.is_dir():
            for path in sorted(files.glob("*/*/*")):
                if not path.name.startswith("."):
                    yield path.name

    def check(self) -> None:
        # Without writing: the directory (or, before the first upload, the nearest one
        # above it that exists) must be writable by this process.
        place = self.root
        while not place.exists() and place.parent != place:
            place = place.parent
        if not os.access(place, os.W_OK | os.X_OK):
            raise PermissionError(f"evidence store {place} is not writable")


@dataclass
class S3EvidenceStore:
    """Any S3-compatible object store (AWS S3, MinIO, Ceph, a cloud's OSS). Credentials
    come from boto3's usual chain (environment, profile, instance role)."""

    bucket: str
    prefix: str
    client: Any

    @property
    def description(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, kind: str, sha256: str, suffix: str = "") -> str:
        return f"{self.prefix}{kind}/{sha256[:2]}/{sha256}{suffix}"

    def staging(self) -> Path:
        return Path(tempfile.gettempdir())

    def put(self, staged: Path, stored: StoredFile) -> None:
        # An object appears whole or not at all (S3 writes are atomic per object).
        if not self.has(stored.sha256):
            with staged.open("rb") as body:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self._key("files", stored.sha256),
                    Body=body,
                    ContentType=stored.media_type,
                    ChecksumSHA256=_base64_of_hex(stored.sha256),
                )
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key("meta", stored.sha256, ".json"),
            Body=stored.model_dump_json().encode(),
        )

    def _get(self, key: str) -> bytes | None:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return body

    def has(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key("files", sha256))
        except self.client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def about(self, sha256: str) -> StoredFile | None:
        meta = self._get(self._key("meta", sha256, ".json"))
        return None if meta is None else StoredFile.model_validate_json(meta)

    def chunks(self, sha256: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key("files", sha256))["Body"]
        yield from body.iter_chunks(CHUNK)

    def record_upload(self, sha256: str, upload: Upload) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=f"{self.prefix}uploads/{sha256}/{upload.unit}.json",
            Body=upload.model_dump_json().encode(),
        )

    def uploads(self, sha256: str) -> list[Upload]:
        listing = self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=f"{self.prefix}uploads/{sha256}/"
        )
        found = []
        for item in sorted(listing.get("Contents", []), key=lambda i: i["Key"]):
            body = self._get(item["Key"])
            if body is not None:
                found.append(Upload.model_validate_json(body))
        return found

    def put_thumbnail(self, sha256: str, jpeg: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key("thumbnails", sha256, ".jpg"),
            Body=jpeg,
            ContentType="image/jpeg",
        )

    def thumbnail(self, sha256: str) -> bytes | None:
        return self._get(self._key("thumbnails", sha256, ".jpg"))

    def hashes(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}files/"):
            for item in page.get("Contents", []):
                yield item["Key"].rsplit("/", 1)[-1]

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


def _base64_of_hex(digest: str) -> str:
    import base64

    return base64.b64encode(bytes.fromhex(digest)).decode()


def open_store(
    url: str,
    *,
    endpoint: str | None = None,
    region: str | None = None,
    credentials: tuple[str, str] | None = None,
) -> Any:
    """The store a URL names: a directory path (or file://PATH) or s3://bucket[/prefix].
    Without `credentials` (access key, secret), boto3's own chain finds them."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        import boto3  # only a deployment that keeps evidence in an object store needs it
        from botocore.config import Config

        key, secret = credentials or (None, None)
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(
                retries={"max_attempts": 5, "mode": "standard"},
                # Checksums only where the request asks (ours do): S3-compatible stores
                # other than AWS's do not all accept the newer default trailers.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        prefix = parts.path.strip("/")
        return S3EvidenceStore(parts.netloc, f"{prefix}/" if prefix else "", client)
    if parts.scheme in ("", "file"):
        return LocalEvidenceStore(Path(parts.path if parts.scheme else url))
    raise ValueError(f"unsupported evidence store {url!r}: use a directory or s3://bucket/prefix")


def write_stream(source: IO[bytes], staging: Path, limit: int) -> tuple[Path, str, int] | None:
    """Copies an upload into a staged file while hashing it; None (and nothing left
    behind) once it passes `limit` bytes."""
    fd, name = tempfile.mkstemp(dir=staging, prefix=".upload-")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    Path(name).unlink(missing_ok=True)
                    return None
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name), digest.hexdigest(), size
