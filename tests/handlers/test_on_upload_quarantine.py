"""`on_upload` when checking fails: the upload goes out of sight (quarantine) until a retry or a
redrive checks it, the fault switch works in local mode only, and each outcome is a metric."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.handlers.test_metrics import assert_valid_emf

KEY = "uploads/0123abcd.png"
HELD = "quarantine/0123abcd.png"
THUMBNAIL = "thumbnails/0123abcd.png"


class Fn:
    def __init__(self, module: Any, s3: Any, bucket: str, event: Any, context: Any) -> None:
        self.module, self.s3, self.bucket = module, s3, bucket
        self._event, self._context = event, context

    def run(self, key: str = KEY) -> dict[str, int]:
        return self.run_with(self._context, key)

    def run_with(self, context: Any, key: str = KEY) -> dict[str, int]:
        return self.module.handler(self._event(key), context)

    def keys(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return sorted(obj["Key"] for obj in listing)


@pytest.fixture
def fn(load_function, s3, build_s3_event, lambda_context, monkeypatch) -> Fn:
    monkeypatch.delenv("UPLOADS_LOCAL_FAULT_FILE", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    module = load_function("on_upload")
    return Fn(module, s3, module.BUCKET_NAME, build_s3_event, lambda_context)


@pytest.fixture
def broken(fn, monkeypatch) -> None:
    """Thumbnailing raises, as a bug or an exhausted dependency would."""

    def fail(*_args: object) -> bytes:
        raise RuntimeError("boom")

    monkeypatch.setattr(fn.module, "make_thumbnail", fail)


def metrics_lines(out: str) -> list[dict]:
    return [assert_valid_emf(line) for line in out.splitlines() if line.startswith('{"')]


@pytest.mark.usefixtures("broken")
def test_an_upload_that_cannot_be_checked_is_quarantined_and_the_event_retried(
    fn, make_image, capsys
):
    fn.s3.put_object(Bucket=fn.bucket, Key=KEY, Body=make_image("PNG"))
    fn.s3.put_object(Bucket=fn.bucket, Key=THUMBNAIL, Body=b"an older version's thumbnail")
    with pytest.raises(fn.module.RecordsFailedError):
        fn.run()
    assert fn.keys() == [HELD]
    quarantined = [m for m in metrics_lines(capsys.readouterr().out) if "UploadsQuarantined" in m]
    assert [m["UploadsQuarantined"] for m in quarantined] == [1]
    # Lambda's retry (or a redrive while still broken): it stays in quarantine.
    with pytest.raises(fn.module.RecordsFailedError):
        fn.run()
    assert fn.keys() == [HELD]


def test_a_quarantined_upload_that_passes_goes_back_and_gets_its_thumbnail(
    fn, make_image, monkeypatch
):
    image = make_image("PNG")
    fn.s3.put_object(Bucket=fn.bucket, Key=HELD, Body=image)
    assert fn.run() == {"processed": 1, "skipped": 0, "removed": 0}
    assert fn.keys() == [KEY]
    assert fn.s3.get_object(Bucket=fn.bucket, Key=KEY)["Body"].read() == image
    # The copy's own "object created" event:
    assert fn.run() == {"processed": 1, "skipped": 0, "removed": 0}
    assert fn.keys() == [THUMBNAIL, KEY]
    # Replayed once more (a redrive run twice): nothing changes.
    assert fn.run() == {"processed": 0, "skipped": 1, "removed": 0}
    assert fn.keys() == [THUMBNAIL, KEY]


def test_a_quarantined_upload_that_is_not_an_image_is_removed(fn):
    fn.s3.put_object(Bucket=fn.bucket, Key=HELD, Body=b"not an image at all")
    assert fn.run() == {"processed": 0, "skipped": 0, "removed": 1}
    assert fn.keys() == []


def test_an_upload_neither_in_place_nor_quarantined_is_gone(fn):
    assert fn.run() == {"processed": 0, "skipped": 1, "removed": 0}


def test_the_fault_switch_fails_every_record_in_local_mode(fn, make_image, tmp_path, monkeypatch):
    switch = tmp_path / "on_upload"
    monkeypatch.setenv("UPLOADS_LOCAL_FAULT_FILE", str(switch))
    fn.s3.put_object(Bucket=fn.bucket, Key=KEY, Body=make_image("PNG"))
    switch.write_text("demo failure")
    with pytest.raises(fn.module.RecordsFailedError):
        fn.run()
    assert fn.keys() == [HELD]
    switch.unlink()
    assert fn.run()["processed"] == 1
    assert fn.keys() == [KEY]


def test_the_fault_switch_is_ignored_on_aws(fn, make_image, tmp_path, monkeypatch):
    switch = tmp_path / "on_upload"
    switch.write_text("")
    monkeypatch.setenv("UPLOADS_LOCAL_FAULT_FILE", str(switch))
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")  # set by Lambda, always
    fn.s3.put_object(Bucket=fn.bucket, Key=KEY, Body=make_image("PNG"))
    assert fn.run()["processed"] == 1
    assert fn.keys() == [THUMBNAIL, KEY]


def test_thumbnails_written_and_refused_are_metrics(fn, make_image, capsys, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "uploads-on-upload-function-1234567")
    fn.s3.put_object(Bucket=fn.bucket, Key=KEY, Body=make_image("PNG"))
    fn.s3.put_object(Bucket=fn.bucket, Key="uploads/bad.png", Body=b"not an image")
    fn.run()
    fn.run("uploads/bad.png")
    lines = metrics_lines(capsys.readouterr().out)
    written = next(m for m in lines if "ThumbnailsWritten" in m)
    assert written["FunctionName"] == "uploads-on-upload-function-1234567"
    assert written["ThumbnailMs"] > 0
    refused = next(m for m in lines if "ThumbnailsRefused" in m)
    assert refused["Reason"] == "not_an_allowed_image"
    assert json.dumps(refused).count("UploadsQuarantined") == 0
