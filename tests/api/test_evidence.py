"""Evidence files: uploaded once, kept under the SHA-256 of their bytes, cited by hash,
read as the cases citing them are read. What a file is comes from its bytes; a file
that is not evidence, too large, or sent without a key leaves nothing behind."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from api.bootstrap import Services
from domain import commands as c
from domain.values import HELD_HERE, Actor, ProblemKind
from projections.audit import cases_citing
from tests.api import evidence_files as files
from tests.api.conftest import Api, fill, make_api, memory_settings
from tests.api.views import chain_audit

TOWN, OTHER_TOWN = "town:degan", "town:jijiang"
LIMIT = 300_000


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(memory_settings(tmp_path, evidence_max_bytes=LIMIT))


def upload(
    api: Api, unit: str | None, content: bytes, name: str = "IMG_0001.jpg", declared: str = ""
) -> Any:
    headers = api.headers(unit) if unit else {}
    return api.client.post(
        "/evidence",
        files={"file": (name, content, declared or "application/octet-stream")},
        headers=headers,
    )


def kept(services: Services) -> list[str]:
    return list(services.evidence.hashes())


def leftovers(services: Services) -> list[Path]:
    """Anything an upload left in the store's staging area."""
    staging = services.settings.data_dir / "evidence" / "incoming"
    return [p for p in staging.iterdir() if p.name != ".probe"] if staging.is_dir() else []


def a_case(api: Api, town: str = TOWN) -> str:
    listed = api.services.app.handle(
        Actor(unit=town), c.ListEnterprise(name="德感某砖厂", address="德感街道", town=town)
    )
    return str(listed.aggregate_id)


def cite(api: Api, unit: str, case_id: str, evidence: list[dict[str, Any]]) -> Any:
    return api.post(
        unit,
        f"/cases/{case_id}/record-problem",
        {"kind": ProblemKind.NO_EIA.value, "description": "无环评", "evidence": evidence},
    )


def test_a_photo_is_kept_under_the_hash_of_its_bytes_and_read_back_whole(api: Api) -> None:
    photo = files.photo()
    answer = upload(api, TOWN, photo, declared="image/jpeg")
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    digest = hashlib.sha256(photo).hexdigest()
    assert receipt["sha256"] == digest
    assert receipt["size"] == len(photo)
    assert receipt["media_type"] == "image/jpeg"
    assert receipt["evidence"] == {
        "sha256": digest,
        "locator": HELD_HERE,
        "media_type": "image/jpeg",
    }
    assert receipt["already_held"] is False
    read = api.client.get(f"/evidence/{digest}", headers=api.headers(TOWN))
    assert read.status_code == 200
    assert read.content == photo
    assert read.headers["content-type"] == "image/jpeg"
    assert "sandbox" in read.headers["content-security-policy"]
    assert read.headers["x-content-type-options"] == "nosniff"
    assert kept(api.services) == [digest]
    assert leftovers(api.services) == []


def test_the_same_bytes_uploaded_twice_are_kept_once_and_each_uploader_is_recorded(
    api: Api,
) -> None:
    photo = files.photo(seed=7)
    first = upload(api, TOWN, photo).json()
    second = upload(api, "ecology", photo, name="现场.jpg").json()
    assert (first["already_held"], second["already_held"]) == (False, True)
    assert kept(api.services) == [first["sha256"]]
    about = api.get("district-office", f"/evidence/{first['sha256']}/about").json()
    assert sorted(u["unit"] for u in about["uploaded_by"]) == ["ecology", TOWN]
    assert {u["filename"] for u in about["uploaded_by"]} == {"IMG_0001.jpg", "现场.jpg"}


@pytest.mark.parametrize(
    ("content", "name", "declared", "sniffed"),
    [
        (files.pdf(), "photo.jpg", "image/jpeg", "application/pdf"),
        (files.png(), "notice.pdf", "application/pdf", "image/png"),
        (
            files.docx(),
            "整改报告.txt",
            "text/plain",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ],
    ids=["pdf-named-jpg", "png-named-pdf", "docx-named-txt"],
)
def test_what_a_file_is_is_read_from_its_bytes_not_its_name_or_declared_type(
    api: Api, content: bytes, name: str, declared: str, sniffed: str
) -> None:
    answer = upload(api, TOWN, content, name=name, declared=declared)
    assert answer.status_code == 201, answer.text
    assert answer.json()["media_type"] == sniffed
    read = api.client.get(f"/evidence/{answer.json()['sha256']}", headers=api.headers(TOWN))
    assert read.headers["content-type"].split(";")[0] == sniffed


@pytest.mark.parametrize(
    ("content", "name", "says"),
    [
        (files.HTML_AS_JPEG, "photo.jpg", "accepted: images"),
        (files.plain_zip(), "photos.zip", "not an office document"),
        (b"", "empty.jpg", "empty"),
        (files.pixel_bomb(), "scan.png", "pixels"),
        (files.photo()[:200], "cut.jpg", "broken"),
    ],
    ids=["html-as-jpeg", "zip-of-scripts", "empty", "decompression-bomb", "truncated-jpeg"],
)
def test_a_file_that_is_not_evidence_is_refused_naming_the_field_and_nothing_is_kept(
    api: Api, content: bytes, name: str, says: str
) -> None:
    answer = upload(api, TOWN, content, name=name, declared="image/jpeg")
    assert answer.status_code == 415, answer.text
    problem = answer.json()
    assert problem["field"] == "file"
    assert says in problem["detail"]
    assert kept(api.services) == []
    assert leftovers(api.services) == []


def test_a_file_over_the_size_limit_is_refused_and_leaves_nothing_behind(api: Api) -> None:
    just_over = files.photo(width=2400, height=1800) + b"\0" * LIMIT
    answer = upload(api, TOWN, just_over[: LIMIT + 1])
    assert answer.status_code == 413
    assert answer.json()["field"] == "file"
    far_over = upload(api, TOWN, b"\xff\xd8" + b"\0" * (LIMIT + 200_000))
    assert far_over.status_code == 413  # refused on its Content-Length, before reading
    assert far_over.json()["field"] == "file"
    assert kept(api.services) == []
    assert leftovers(api.services) == []


def test_a_file_exactly_at_the_limit_is_kept(api: Api) -> None:
    photo = files.photo()
    padded = photo + b"\0" * (LIMIT - len(photo))  # JPEG readers stop at the end marker
    answer = upload(api, TOWN, padded)
    assert answer.status_code == 201, answer.text
    assert answer.json()["size"] == LIMIT


def test_without_a_key_nothing_is_kept_and_nothing_is_read(api: Api) -> None:
    photo = files.photo()
    assert upload(api, None, photo).status_code == 401
    assert kept(api.services) == []
    digest = upload(api, TOWN, photo).json()["sha256"]
    for path in (
        f"/evidence/{digest}",
        f"/evidence/{digest}/thumbnail",
        f"/evidence/{digest}/about",
    ):
        assert api.client.get(path).status_code == 401
        assert api.client.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_an_upload_that_is_not_a_form_with_a_file_is_refused(api: Api) -> None:
    as_json = api.post(TOWN, "/evidence", {"file": "aGVsbG8="})
    assert as_json.status_code in (400, 422)
    as_field = api.client.post("/evidence", data={"file": "text"}, headers=api.headers(TOWN))
    assert as_field.status_code == 422
    assert as_field.json()["field"] == "file"
    assert kept(api.services) == []


def test_an_image_gets_an_upright_jpeg_thumbnail_at_most_320_pixels(api: Api) -> None:
    digest = upload(api, TOWN, files.photo(width=1200, height=900)).json()["sha256"]
    answer = api.client.get(f"/evidence/{digest}/thumbnail", headers=api.headers(TOWN))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    small = Image.open(io.BytesIO(answer.content))
    # Taken 1200×900 with the phone on its side (EXIF orientation 6): shown 900×1200.
    assert small.size == (240, 320)
    document = upload(api, TOWN, files.pdf()).json()
    assert document["thumbnail"] is None
    no_picture = api.client.get(
        f"/evidence/{document['sha256']}/thumbnail", headers=api.headers(TOWN)
    )
    assert no_picture.status_code == 404


def test_a_command_citing_a_file_by_hash_alone_needs_it_uploaded_first(api: Api) -> None:
    case_id = a_case(api)
    photo = files.photo(seed=3)
    digest = hashlib.sha256(photo).hexdigest()
    before = api.events
    refused = cite(api, TOWN, case_id, [{"sha256": digest}])
    assert refused.status_code == 422
    assert refused.json()["field"] == "evidence.0.sha256"
    assert "uploaded" in refused.json()["detail"]
    assert api.events == before
    upload(api, TOWN, photo)
    accepted = cite(api, TOWN, case_id, [{"sha256": digest}])
    assert accepted.status_code == 200, accepted.text
    last = api.services.app.history(accepted.json()["aggregate_id"])[-1]
    assert [(e.sha256, e.locator) for e in last.evidence] == [(digest, HELD_HERE)]


def test_evidence_kept_elsewhere_is_still_cited_by_hash_and_locator(api: Api) -> None:
    case_id = a_case(api)
    elsewhere = {"sha256": "ab" * 32, "locator": "nas://degan/2026/11/现场.jpg"}
    answer = cite(api, TOWN, case_id, [elsewhere])
    assert answer.status_code == 200, answer.text
    assert api.get(TOWN, f"/evidence/{'ab' * 32}").status_code == 404  # not held here


def test_a_file_is_read_as_the_cases_citing_it_are_read(api: Api) -> None:
    case_id = a_case(api)
    by_ecology = upload(api, "ecology", files.photo(seed=11)).json()["sha256"]
    by_town = upload(api, TOWN, files.photo(seed=12)).json()["sha256"]
    missing = api.get(OTHER_TOWN, f"/evidence/{'cd' * 32}")
    assert missing.status_code == 404
    # Before any case cites it: the uploader and the departments read it; no other town.
    assert api.get(TOWN, f"/evidence/{by_town}").status_code == 200
    assert api.get("ecology", f"/evidence/{by_town}").status_code == 200
    assert api.get(TOWN, f"/evidence/{by_ecology}").status_code == 404
    assert cite(api, "ecology", case_id, [{"sha256": by_ecology}]).status_code == 200
    chain_audit(api)
    # Cited on a case of its territory: the town reads it now; another town never does.
    for path in ("", "/thumbnail", "/about"):
        assert api.get(TOWN, f"/evidence/{by_ecology}{path}").status_code == 200
        hidden = api.get(OTHER_TOWN, f"/evidence/{by_ecology}{path}")
        assert hidden.status_code == 404
        assert hidden.json()["code"] == missing.json()["code"]
        assert api.get("power", f"/evidence/{by_ecology}{path}").status_code == 404
    about = api.get(TOWN, f"/evidence/{by_ecology}/about").json()
    assert about["cited_by"] == [case_id]
    assert about["uploaded_by"] == []  # another unit's upload record is not the town's to see


@pytest.mark.parametrize(
    "key", ["AB" * 32, "ab" * 31, "ab" * 33, "..%2F..%2Fetc%2Fpasswd", "g" * 64, "%00" * 32]
)
def test_a_file_is_named_only_by_a_sha256(api: Api, key: str) -> None:
    answer = api.client.get(f"/evidence/{key}", headers=api.headers("district-office"))
    assert answer.status_code in (404, 422)


@pytest.mark.kafka
def test_over_the_real_broker_a_cited_file_reaches_the_towns_reach(system: Api) -> None:
    """The citing case comes from the audit view, fed over Kafka (SQLite and PostgreSQL)."""
    case_id = a_case(system)
    digest = upload(system, "ecology", files.photo(seed=5)).json()["sha256"]
    assert system.get(TOWN, f"/evidence/{digest}").status_code == 404
    assert cite(system, "ecology", case_id, [{"sha256": digest}]).status_code == 200
    deadline = time.monotonic() + 60
    while not cases_citing(system.services.db, digest):
        assert time.monotonic() < deadline, "the audit view never chained the citing event"
        time.sleep(0.05)
    assert system.get(TOWN, f"/evidence/{digest}").content == files.photo(seed=5)
    assert system.get(OTHER_TOWN, f"/evidence/{digest}").status_code == 404


@pytest.mark.faults
def test_a_full_evidence_disk_refuses_the_upload_plainly_and_keeps_nothing(
    small_disk: Path, tmp_path: Path
) -> None:
    settings = memory_settings(tmp_path, evidence_store=str(small_disk / "evidence"))
    for api in make_api(settings):
        fill(small_disk)
        answer = upload(api, TOWN, files.photo(width=1600, height=1200) + os.urandom(400_000))
        assert answer.status_code == 507
        assert answer.json()["field"] == "file"
        assert kept(api.services) == []
        health = api.client.get("/health").json()
        assert health["checks"]["evidence_store"]["status"] == "up"  # writable, just full


def test_files_kept_in_an_object_store_are_uploaded_cited_and_read_the_same_way(
    tmp_path: Path,
) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = "http://{}:{}".format(*server.get_host_and_port())
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="liandong-test",
            aws_secret_access_key="liandong-test-secret",
        ).create_bucket(Bucket="jiangjin-evidence")
        settings = memory_settings(
            tmp_path,
            evidence_store="s3://jiangjin-evidence/liandong",
            evidence_s3_endpoint=endpoint,
            evidence_s3_region="us-east-1",
            evidence_s3_access_key_id="liandong-test",
            evidence_s3_secret_access_key="liandong-test-secret",
        )
        for api in make_api(settings):
            photo = files.photo(seed=9)
            receipt = upload(api, TOWN, photo).json()
            assert api.get(TOWN, f"/evidence/{receipt['sha256']}").content == photo
            assert api.get(TOWN, f"/evidence/{receipt['sha256']}/thumbnail").status_code == 200
            case_id = a_case(api)
            assert cite(api, TOWN, case_id, [{"sha256": receipt["sha256"]}]).status_code == 200
            assert not (tmp_path / "evidence").exists()  # nothing went to the local default
            assert api.client.get("/health").json()["checks"]["evidence_store"]["status"] == "up"
    finally:
        server.stop()


def verify_files(api: Api, *args: str) -> subprocess.CompletedProcess[str]:
    """`liandong audit verify --files` as an auditor runs it, on the test's stores."""
    env = {
        **os.environ,
        "LIANDONG_DATA_DIR": str(api.services.settings.data_dir),
        "LIANDONG_EVENT_STORE": "memory://",
        "LIANDONG_VIEW_STORE": api.services.settings.view_store,
        "LIANDONG_EVIDENCE_STORE": api.services.settings.evidence_store,
        "LIANDONG_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    }
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "audit", "verify", *args, "--files"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_audit_verify_finds_a_swapped_file_and_a_missing_one(api: Api, tmp_path: Path) -> None:
    case_id = a_case(api)
    notice, photo = files.pdf(), files.photo(seed=21)
    first = upload(api, TOWN, notice).json()["sha256"]
    second = upload(api, TOWN, photo).json()["sha256"]
    elsewhere = {"sha256": "ef" * 32, "locator": "nas://degan/scan.pdf"}
    assert cite(api, TOWN, case_id, [{"sha256": first}, {"sha256": second}, elsewhere]).is_success
    chain_audit(api)
    export = tmp_path / "trail.jsonl"
    export.write_bytes(api.get("district-office", "/audit/export.jsonl").content)

    intact = verify_files(api)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "2 files checked, 2 citations of files kept here, 1 of files kept elsewhere" in (
        intact.stdout
    )
    assert verify_files(api, str(export)).returncode == 0

    root = Path(api.services.settings.evidence_store) / "files"
    (root / first[:2] / first[2:4] / first).write_bytes(b"%PDF-1.7 forged")
    (root / second[:2] / second[2:4] / second).unlink()
    broken = verify_files(api, str(export))
    assert broken.returncode == 1
    assert f"file {first} does not hash to its name" in broken.stdout
    assert f"cites file {second}, which the store does not hold" in broken.stdout
    assert f"{export}: intact" in broken.stdout  # the trail itself is whole


def test_a_chunked_upload_that_grows_past_the_limit_is_cut_off_and_keeps_nothing(
    api: Api,
) -> None:
    """No Content-Length to refuse it by: the stream is counted and cut at the limit."""
    import http.client
    from urllib.parse import urlsplit

    from tests.api.conftest import served_over_http

    boundary = "liandongboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    with served_over_http(api.services) as url:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=30
        )
        connection.putrequest("POST", "/evidence")
        connection.putheader("Authorization", f"Bearer {api.key(TOWN)}")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        sent = 0
        try:
            for chunk in [head, *[b"\xff" * 65_536] * 12]:  # 768 KiB, past the 300 KB limit
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            connection.send(f"\r\n--{boundary}--\r\n".encode() + b"0\r\n\r\n")
            status = connection.getresponse().status
        except (ConnectionError, http.client.HTTPException):
            status = None  # cut off mid-stream, as the guard does
        finally:
            connection.close()
    assert status in (None, 400, 413)
    assert kept(api.services) == []
    assert leftovers(api.services) == []


def test_two_units_uploading_the_same_file_at_once_both_succeed_and_it_is_kept_once(
    api: Api,
) -> None:
    import concurrent.futures

    photo = files.photo(seed=40)
    units = [TOWN, "ecology", "market", "housing"]
    with concurrent.futures.ThreadPoolExecutor(len(units)) as pool:
        answers = list(pool.map(lambda u: upload(api, u, photo), units))
    assert [a.status_code for a in answers] == [201] * len(units)
    assert kept(api.services) == [hashlib.sha256(photo).hexdigest()]
    digest = answers[0].json()["sha256"]
    uploaded = api.get("district-office", f"/evidence/{digest}/about").json()["uploaded_by"]
    assert sorted(u["unit"] for u in uploaded) == sorted(units)
    assert api.get(TOWN, f"/evidence/{digest}").content == photo


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "C:\\\\Windows\\\\evil.jpg", "a\x00b.jpg", "照片" * 300]
)
def test_a_hostile_file_name_is_only_ever_a_label(api: Api, name: str) -> None:
    answer = upload(api, TOWN, files.photo(seed=41), name=name)
    assert answer.status_code in (201, 400, 422), answer.text
    store = Path(api.services.settings.evidence_store)
    assert all(store in p.resolve().parents for p in store.rglob("*"))
    if answer.status_code == 201:
        about = api.get(TOWN, f"/evidence/{answer.json()['sha256']}/about").json()
        label = about["uploaded_by"][0]["filename"]
        assert "/" not in label
        assert "\\" not in label
        assert "\x00" not in label
        assert len(label) <= 200
