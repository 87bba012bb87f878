"""The broker `make run` uses without Redis (config.celery_app: kombu's filesystem transport with
its race closed, kombu issue #1551): a worker that meets a message still being written, or one
it cannot read, leaves it and goes on, rather than die of a JSONDecodeError."""

import fcntl
import json
import logging
import os
import time
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from config.celery_app import UNREADABLE_GRACE_SECONDS, FilesystemChannel

QUEUE = "celery"


@pytest.fixture
def channel(tmp_path):
    queue = tmp_path / "queue"
    queue.mkdir()
    options = {"data_folder_in": str(queue), "data_folder_out": str(queue)}
    with Connection("filesystem://", transport_options=options) as connection:
        channel = connection.default_channel
        channel.folder = queue
        yield channel


def message_files(folder):
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))


def test_a_filesystem_broker_url_means_the_fixed_transport(tmp_path):
    """Whatever broker this run uses (Redis in CI), a `filesystem://` one is the tracker's."""
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    with Connection("filesystem://", transport_options=options) as connection:
        assert isinstance(connection.default_channel, FilesystemChannel)


def test_a_half_written_message_is_left_until_it_is_whole(channel):
    # As kombu's own writer leaves it mid-write: under its final name, only part of it there.
    whole = json.dumps({"body": "a reminder"})
    path = channel.folder / f"1_half.{QUEUE}.msg"
    path.write_text(whole[:7])

    with pytest.raises(Empty):
        channel._get(QUEUE)
    assert path.exists()  # left for the next poll, not lost

    path.write_text(whole)
    assert channel._get(QUEUE) == {"body": "a reminder"}
    assert not path.exists()


def test_a_message_locked_by_its_writer_is_left_for_the_next_poll(channel):
    path = channel.folder / f"1_locked.{QUEUE}.msg"
    path.write_text(json.dumps({"body": "complete"}))
    channel._put(QUEUE, {"body": "second"})
    with path.open("rb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)
        assert channel._get(QUEUE) == {"body": "second"}  # the next message, not a crash
    assert channel._get(QUEUE) == {"body": "complete"}


def test_messages_are_taken_oldest_first_by_their_number_not_as_text(channel):
    # As text "1000_..." sorts before "999_...": the older message would wait behind the newer.
    for stamp, body in ((1000, "newer"), (999, "older"), (10, "oldest")):
        (channel.folder / f"{stamp}_{body}.{QUEUE}.msg").write_text(json.dumps({"body": body}))
    taken = [channel._get(QUEUE)["body"] for _ in range(3)]
    assert taken == ["oldest", "older", "newer"]


def test_a_message_unreadable_past_the_grace_is_set_aside_with_an_error(channel, caplog):
    # Older than any message _put writes now, so the reader meets it first, whatever the clock.
    broken = channel.folder / f"0_broken.{QUEUE}.msg"
    broken.write_text("")
    stale = time.time() - UNREADABLE_GRACE_SECONDS - 1
    os.utime(broken, (stale, stale))
    channel._put(QUEUE, {"body": "next"})

    with caplog.at_level(logging.ERROR):
        assert channel._get(QUEUE) == {"body": "next"}
    assert not broken.exists()
    assert (channel.folder / f"{broken.name}.unreadable").exists()
    assert "stayed unreadable" in caplog.text
    assert channel._size(QUEUE) == 0


def test_a_message_appears_under_its_name_only_once_whole(channel, monkeypatch):
    seen_while_writing = []
    replace = os.replace

    def look_then_replace(source, target):
        seen_while_writing.append((message_files(channel.folder), Path(source).read_text()))
        replace(source, target)

    monkeypatch.setattr(os, "replace", look_then_replace)
    channel._put(QUEUE, {"body": "whole"})

    [(visible, written)] = seen_while_writing
    assert visible == []  # nothing a reader takes until the rename
    assert json.loads(written) == {"body": "whole"}
    [name] = message_files(channel.folder)
    assert name.endswith(f".{QUEUE}.msg")
    assert channel._get(QUEUE) == {"body": "whole"}
