"""Quarantine moves against everything that can happen beside them (issue 27 items 1, 3, 4, 5).

The real `on_upload` and `uploads` handlers run on a versioned moto bucket; S3 faults (503
SlowDown, slow calls, a kill before a request) are injected at the HTTP layer of `on_upload`'s
own boto3 client (`s3_faults`), and the owner's DELETE goes through the API. Each test states
what the user sees afterwards: the upload in place, in quarantine, or gone for good.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from tests.handlers import test_on_upload_quarantine as quarantine_tests
from tests.handlers.s3_faults import (
    Killed,
    conditional_copies,
    error,
    kill_at,
    on_request,
    once,
    slow,
    slow_down_once,
    wait_for,
)
from tests.handlers.test_on_upload_timeout_guard import GUARD_THREAD, MARGIN_S, ContextWithDeadline

fn = quarantine_tests.fn
"""The `on_upload` function on moto, as the quarantine tests load it."""

DENIED = error(403, "AccessDenied", "Access Denied")
"""Not retried by botocore: as after a KMS or bucket policy change."""


@dataclass
class Upload:
    id: str
    key: str
    held: str
    thumbnail: str


@dataclass
class World:
    """Both functions on one versioned bucket."""

    fn: Any
    api: Any
    s3: Any
    bucket: str
    context: Any

    @property
    def client(self) -> Any:
        """on_upload's own S3 client: where faults are injected."""
        return self.fn.module.s3

    def upload(self, image: bytes) -> Upload:
        body = {"image": base64.b64encode(image).decode()}
        created = self.api.call("POST", "/uploads", body=body)
        assert created.status == 201, created.body
        key = created.body["key"]
        rest = key.removeprefix("uploads/")
        return Upload(created.body["id"], key, f"quarantine/{rest}", f"thumbnails/{rest}")

    def current(self) -> dict[str, bytes]:
        """Every object a user or a replay could see: current versions only."""
        listing = self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return {
            o["Key"]: self.s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read()
            for o in listing
        }

    def delete(self, upload: Upload) -> int:
        return self.api.call("DELETE", "/uploads/{id}", path_params={"id": upload.id}).status

    def get(self, upload: Upload) -> int:
        return self.api.call("GET", "/uploads/{id}", path_params={"id": upload.id}).status

    def warm_up(self, image: bytes) -> None:
        """One upload checked first, so that the thumbnailer's imports are done before a test
        times the guard against the main path."""
        warm = self.upload(image)
        self.run(warm)
        self.s3.delete_object(Bucket=self.bucket, Key=warm.key)
        self.s3.delete_object(Bucket=self.bucket, Key=warm.thumbnail)

    def run(self, upload: Upload, context: Any = None) -> dict[str, int]:
        return self.fn.run_with(context or self.context, upload.key)

    def replay(self, upload: Upload) -> None:
        """Lambda's retry or a redrive, as many times as either may happen; failures allowed."""
        for _ in range(3):
            try:
                self.run(upload)
            except self.fn.module.RecordsFailedError:
                continue


@pytest.fixture
def world(fn, make_api, lambda_context, monkeypatch) -> World:
    fn.s3.put_bucket_versioning(Bucket=fn.bucket, VersioningConfiguration={"Status": "Enabled"})
    conditional_copies(monkeypatch)
    return World(fn, make_api(), fn.s3, fn.bucket, lambda_context)


def quarantined(world: World, upload: Upload) -> Upload:
    """An upload whose check failed (its thumbnail could not be written): held in quarantine."""
    image = world.current()[upload.key]
    denied = on_request(world.client, "PutObject", once(DENIED), key=upload.thumbnail)
    with pytest.raises(world.fn.module.RecordsFailedError):
        world.run(upload)
    denied.remove()
    assert world.current()[upload.held] == image
    assert upload.key not in world.current()
    return upload


def guard_hid_an_upload(world: World) -> threading.Event:
    """Set once the timeout guard's hold has hidden an original (its DeleteObject returned)."""
    hid = threading.Event()

    def after_delete(**_: Any) -> None:
        if threading.current_thread().name == GUARD_THREAD:
            hid.set()

    world.client.meta.events.register("after-call.s3.DeleteObject", after_delete)
    return hid


def test_a_release_retried_after_slow_down_while_the_guard_fires_loses_nothing(world, png):
    """Item 1: the release's DeleteObject gets 503 SlowDown; during botocore's retry the guard
    fires. Before the fix the guard moved the released copy back and the retried delete removed
    it: only noncurrent versions were left."""
    world.warm_up(png)
    upload = quarantined(world, world.upload(png))
    held = guard_hid_an_upload(world)
    action = slow_down_once(then=lambda: held.wait(2.0))
    on_request(world.client, "DeleteObject", action, key=upload.held)
    world.run(upload, ContextWithDeadline(MARGIN_S + 1.0))
    assert world.current() == {upload.key: png}
    # The copy's own event makes the thumbnail; nothing is left in quarantine.
    assert world.run(upload)["processed"] == 1
    assert set(world.current()) == {upload.key, upload.thumbnail}


def test_the_guard_never_holds_while_the_main_path_writes(world, png):
    """Item 1: the guard and the handler never act on one record at once. The thumbnail's
    PutObject is slow; the guard fires in the middle of it and must wait for it to end."""
    world.warm_up(png)
    upload = world.upload(png)
    order: list[str] = []

    def slow_put(_request: Any) -> None:
        order.append("put started")
        wait_for(lambda: "guard copies" in order, timeout=3.5)
        order.append("put ended")

    on_request(world.client, "PutObject", slow_put, key=upload.thumbnail)
    on_request(world.client, "CopyObject", lambda _r: order.append("guard copies"))
    # The guard fires 2.5 s in: well after the put started, while it still runs.
    world.run(upload, ContextWithDeadline(MARGIN_S + 2.5))
    # The guard then holds after the put, or (if the record reaches its end first) not at all;
    # on a slow machine it may fire before the put, and then there is no put.
    if "put started" in order:
        in_flight = order[order.index("put started") : order.index("put ended")]
        assert "guard copies" not in in_flight
    # Either way: in place, nothing lost, nothing left in quarantine.
    assert upload.key in world.current()
    assert upload.held not in world.current()


KILL_POINTS = [
    ("hold", "DeleteObject"),  # copied into quarantine, original not yet hidden
    ("release", "CopyObject"),  # rechecked, not yet copied back
    ("release", "HeadObject"),  # copied back, not yet confirmed
    ("release", "DeleteObject"),  # confirmed, the quarantined version not yet removed
]
"""Where a move is killed (before which of its requests), from the copy to the delete."""


@pytest.mark.parametrize(("move", "operation"), KILL_POINTS)
def test_a_move_killed_between_copy_and_delete(world, png, make_image, move, operation):
    """Item 3: a kill at each step of a hold (after a failure) and of a release (a retry's
    recheck). Of two uploads left so, the one its owner deletes stays deleted through every
    retry and redrive; the other is never lost."""
    deleted, kept = world.upload(png), world.upload(make_image("PNG", (30, 20)))
    for upload in (deleted, kept):
        if move == "release":
            quarantined(world, upload)
        else:
            on_request(world.client, "PutObject", once(DENIED), key=upload.thumbnail)
        kill = on_request(world.client, operation, kill_at(1))
        with pytest.raises(Killed):
            world.run(upload)
        kill.remove()
    images = world.current()
    assert world.delete(deleted) == 204
    for upload in (deleted, kept, kept):  # the retries, the released copy's event, a redrive
        world.replay(upload)
    assert world.get(deleted) == 404
    assert not set(world.current()) & {deleted.key, deleted.held, deleted.thumbnail}
    # In place and served; a copy a killed move left in quarantine is never served, and the
    # next move of this upload or the lifecycle rule removes it.
    assert world.get(kept) == 200
    assert world.current()[kept.key] == images.get(kept.key, images.get(kept.held))


def test_an_owner_delete_between_the_holds_copy_and_its_delete_is_final(world, png):
    """Item 3: the owner's DELETE lands after the hold copied the upload into quarantine and
    before it hid the original; it answers 204 and no retry brings the upload back."""
    upload = world.upload(png)
    on_request(world.client, "PutObject", once(DENIED), key=upload.thumbnail)
    answers: list[int] = []
    owner_deletes = once(lambda _request: answers.append(world.delete(upload)))
    on_request(world.client, "DeleteObject", owner_deletes, key=upload.key)
    with pytest.raises(world.fn.module.RecordsFailedError):
        world.run(upload)
    assert answers[:1] == [204]
    world.replay(upload)
    assert world.current() == {}
    assert world.get(upload) == 404


def test_the_owner_deletes_a_quarantined_upload_and_a_redrive_keeps_it_deleted(world, png):
    """Item 3: DELETE answered 404 while the upload was in quarantine, and a redrive restored
    it."""
    upload = quarantined(world, world.upload(png))
    assert world.get(upload) == 404  # never served while unchecked
    assert world.delete(upload) == 204
    assert world.current() == {}
    world.replay(upload)
    assert world.current() == {}
    assert world.delete(upload) == 404


def test_a_release_never_overwrites_a_newer_upload(world, png, make_image):
    """Item 4: v1 is held; the owner writes v2 under the same key (a presigned POST ticket used
    again) just before a retry's release copies v1 back."""
    v2 = make_image("PNG", (20, 20))
    upload = quarantined(world, world.upload(png))

    def owner_writes_v2(_request: Any) -> None:
        world.s3.put_object(Bucket=world.bucket, Key=upload.key, Body=v2, ContentType="image/png")

    on_request(world.client, "CopyObject", once(owner_writes_v2), key=upload.key)
    world.run(upload)
    assert world.current() == {upload.key: v2}


@pytest.mark.parametrize("owner_then_deletes_v2", [False, True], ids=["v2-kept", "v2-deleted"])
def test_a_release_after_the_guard_never_brings_back_an_older_upload(
    world, png, make_image, owner_then_deletes_v2
):
    """Item 4: the guard holds v1; meanwhile the owner writes v2 (and maybe deletes it); the
    record then finishes and releases. Before the fix v1 replaced v2, or came back after the
    owner's DELETE."""
    v2 = make_image("PNG", (20, 20))
    upload = world.upload(png)

    held = guard_hid_an_upload(world)
    answers: list[int] = []

    def meanwhile(_request: Any) -> None:
        held.wait(5)  # until the guard has held v1
        world.s3.put_object(Bucket=world.bucket, Key=upload.key, Body=v2, ContentType="image/png")
        if owner_then_deletes_v2:
            answers.append(world.delete(upload))

    on_request(world.client, "GetObject", once(meanwhile), key=upload.key)
    world.run(upload, ContextWithDeadline(MARGIN_S + 0.2))
    assert held.is_set()
    world.replay(upload)
    if owner_then_deletes_v2:
        assert answers == [204]
        assert world.current() == {}
    else:
        assert world.current()[upload.key] == v2
        assert upload.held not in world.current()


def test_a_record_always_slower_than_the_guard_reaches_the_dead_letter_queue(world, png):
    """Item 5: with a timeout of 1 s the guard fires at once. Before the fix every run held and
    released the upload, and the release's copy event started the next run: forever."""
    upload = world.upload(png)
    reads = on_request(world.client, "GetObject", slow(0.5))  # the guard fires meanwhile
    copies = on_request(world.client, "CopyObject", lambda _r: None).seen
    failures = runs = 0
    while failures < 3 and runs < 15:  # 3 failed attempts of one event: the dead-letter queue
        runs += 1
        try:
            world.run(upload, ContextWithDeadline(1.0))
            failures = 0  # released: its copy's event is a new one
        except world.fn.module.RecordsFailedError:
            failures += 1
    assert failures == 3, f"{runs} runs, {len(copies)} copies, still looping"
    assert len(copies) <= 6
    assert world.current() == {upload.held: png}  # out of sight, not lost
    # The operator raises the timeout and redrives: checked in time, back, thumbnail made.
    reads.remove()
    world.run(upload)
    assert world.run(upload)["processed"] == 1
    assert set(world.current()) == {upload.key, upload.thumbnail}
