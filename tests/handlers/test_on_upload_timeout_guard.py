"""`on_upload` near its timeout: a watchdog holds the upload in quarantine before Lambda would kill
the invocation, releases it if the record finishes after all, and stays out of the way of a fast
record. A kill is played by an exception that the handler cannot catch (no code of the handler
runs after it, as after a real kill)."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.handlers import test_on_upload_quarantine as quarantine_tests
from tests.handlers.test_metrics import assert_valid_emf
from tests.handlers.test_on_upload_quarantine import HELD, KEY, THUMBNAIL, Fn

fn = quarantine_tests.fn
"""The `on_upload` function on moto, as the quarantine tests load it."""

GUARD_THREAD = "on_upload-timeout-guard"
MARGIN_S = 2.0
"""The guard's least margin before the deadline (timeout_guard.MIN_MARGIN_S)."""


class Killed(BaseException):
    """Lambda stopping the invocation at its timeout."""


class ContextWithDeadline:
    """A Lambda context whose remaining time runs down, as Lambda's does."""

    aws_request_id = "0f0e0d0c-0b0a-0908-0706-050403020100"

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        time.sleep(0.02)


@pytest.fixture
def uploaded(fn: Fn, png: bytes) -> Fn:
    """`on_upload` with an upload waiting for its check."""
    fn.s3.put_object(Bucket=fn.bucket, Key=KEY, Body=png)
    return fn


def quarantined_metrics(out: str) -> list[int]:
    lines = [assert_valid_emf(line) for line in out.splitlines() if line.startswith('{"')]
    return [m["UploadsQuarantined"] for m in lines if "UploadsQuarantined" in m]


def slow_until_held(fn: Fn, seen: list[list[str]], then: Callable[..., bytes]) -> Callable:
    """A thumbnailer still busy when the guard fires: it notes the bucket then, and goes on."""

    def slow(*args: object) -> bytes:
        wait_for(lambda: fn.keys() == [HELD])  # moved: copied, then deleted
        seen.append(fn.keys())
        return then(*args)

    return slow


def watch_guards(fn: Fn, monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """The guard threads alive while the thumbnail is made (a fast, real thumbnailer)."""
    armed: list[threading.Thread] = []
    real = fn.module.make_thumbnail

    def watched(*args: object) -> bytes:
        armed.extend(t for t in threading.enumerate() if t.name == GUARD_THREAD)
        return real(*args)

    monkeypatch.setattr(fn.module, "make_thumbnail", watched)
    return armed


def killed(*_args: object) -> bytes:
    raise Killed


@pytest.mark.usefixtures("uploaded")
def test_an_upload_still_being_checked_near_the_deadline_is_held_before_the_kill(
    fn, lambda_context, monkeypatch, capsys
):
    seen: list[list[str]] = []
    real = fn.module.make_thumbnail
    monkeypatch.setattr(fn.module, "make_thumbnail", slow_until_held(fn, seen, killed))
    with pytest.raises(Killed):
        fn.run_with(ContextWithDeadline(MARGIN_S + 0.2))
    assert seen == [[HELD]]
    assert fn.keys() == [HELD]
    assert quarantined_metrics(capsys.readouterr().out) == [1]
    # Lambda's retry, in time now: checked in quarantine and moved back; its copy's event
    # makes the thumbnail.
    monkeypatch.setattr(fn.module, "make_thumbnail", real)
    fn.run_with(lambda_context)
    assert fn.keys() == [KEY]
    fn.run_with(lambda_context)
    assert fn.keys() == [THUMBNAIL, KEY]


@pytest.mark.usefixtures("uploaded")
def test_a_record_that_finishes_after_the_guard_releases_its_upload(
    fn, lambda_context, monkeypatch, caplog
):
    seen: list[list[str]] = []
    real = fn.module.make_thumbnail
    monkeypatch.setattr(fn.module, "make_thumbnail", slow_until_held(fn, seen, real))
    assert fn.run_with(ContextWithDeadline(MARGIN_S + 0.2)) == {
        "processed": 0,
        "skipped": 1,
        "removed": 0,
    }
    assert seen == [[HELD]]
    assert fn.keys() == [KEY]
    reasons = [getattr(r, "reason", None) for r in caplog.records if r.getMessage() == "record"]
    assert reasons == ["released_after_timeout_guard"]
    # The copy's own "object created" event makes the thumbnail; nothing is left in quarantine.
    monkeypatch.setattr(fn.module, "make_thumbnail", real)
    assert fn.run_with(lambda_context) == {"processed": 1, "skipped": 0, "removed": 0}
    assert fn.keys() == [THUMBNAIL, KEY]


@pytest.mark.usefixtures("uploaded")
def test_a_fast_record_cancels_its_guard_and_nothing_moves(fn, monkeypatch, capsys):
    armed = watch_guards(fn, monkeypatch)
    assert fn.run_with(ContextWithDeadline(MARGIN_S + 2.0)) == {
        "processed": 1,
        "skipped": 0,
        "removed": 0,
    }
    assert len(armed) == 1
    armed[0].join(timeout=0.5)  # well before it would fire: cancelled, not waiting
    assert not armed[0].is_alive()
    assert fn.keys() == [THUMBNAIL, KEY]
    assert quarantined_metrics(capsys.readouterr().out) == []


@pytest.mark.usefixtures("uploaded")
def test_without_a_deadline_there_is_no_guard(fn, monkeypatch):
    armed = watch_guards(fn, monkeypatch)
    assert fn.run_with(None)["processed"] == 1
    assert armed == []


@pytest.fixture
def guard_module(lambda_modules) -> Any:
    lambda_modules("on_upload")
    return importlib.import_module("timeout_guard")


@pytest.mark.parametrize(("timeout_s", "delay_s"), [(3.0, 1.0), (60.0, 54.0), (900.0, 810.0)])
def test_the_margin_is_2_s_or_a_tenth_of_the_timeout(guard_module, timeout_s, delay_s):
    delays = guard_module.guard_delays(ContextWithDeadline(timeout_s))
    assert delays() == pytest.approx(delay_s, abs=0.05)


def test_finishing_during_a_hold_waits_for_it_and_reports_it(guard_module):
    holding, release = threading.Event(), threading.Event()

    def hold() -> bool:
        holding.set()
        release.wait(2)
        return True

    guard = guard_module.TimeoutGuard(0, hold)
    guard.start()
    assert holding.wait(2)
    finished: list[bool] = []
    main = threading.Thread(target=lambda: finished.append(guard.finish()))
    main.start()
    main.join(0.1)
    assert finished == []  # the main path waits for the hold under way
    release.set()
    main.join(2)
    assert finished == [True]


@pytest.mark.parametrize("timer_already_fired", [False, True])
def test_a_guard_finished_first_never_holds(guard_module, timer_already_fired):
    calls: list[int] = []
    guard = guard_module.TimeoutGuard(0.05, lambda: calls.append(1) or True)
    if timer_already_fired:  # cancel() cannot stop a timer whose function has started
        guard._timer.cancel = lambda: None
    guard.start()
    assert guard.finish() is False
    time.sleep(0.1)
    assert calls == []


def test_a_guard_firing_during_a_step_waits_for_it_and_stops_the_next(guard_module):
    order: list[str] = []
    held = threading.Event()

    def hold() -> bool:
        order.append("hold")
        held.set()
        return True

    guard = guard_module.TimeoutGuard(0.05, hold)
    guard.start()
    with guard.step():
        order.append("step started")
        time.sleep(0.2)  # the guard's timer fires meanwhile and waits for the step
        order.append("step ended")
    assert held.wait(2)
    with pytest.raises(guard_module.GuardFiredError), guard.step():
        order.append("next step")
    assert guard.finish() is True
    assert guard.held is True
    assert order == ["step started", "step ended", "hold"]
