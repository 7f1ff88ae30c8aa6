"""The server ends with its editor: no orphaned ``quill serve`` after a crash.

An editor that exits cleanly sends ``shutdown`` and ``exit``, and one that dies usually
closes our stdin. Not always: a crashed extension host can leave the pipe open in another
process, and over a socket nobody closes anything. So the server watches the process the
client names (``--clientProcessId``, ``initialize.processId``) and exits when it is gone.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import psutil

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0

_watched: set[int] = set()


def exit_when_gone(pid: int, poll_interval_s: float = POLL_INTERVAL_S) -> None:
    """Watch ``pid`` from a daemon thread and end this process when it exits.

    A thread rather than a task: it must fire even when the event loop is stuck. A pid
    that is not visible at the start (the editor in another container or PID namespace)
    is not watched: ending the server at once would be the wrong guess.
    """
    if pid in _watched or pid == os.getpid():
        return
    try:
        process = psutil.Process(pid)  # remembers its start time: a reused pid is not it
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        log.info("the client's process %d is not visible here: not watching it", pid)
        return
    _watched.add(pid)
    threading.Thread(
        target=_wait_then_exit,
        args=(process, poll_interval_s),
        name=f"watch-client-{pid}",
        daemon=True,
    ).start()


def _alive(process: psutil.Process) -> bool:
    """Running, and not a zombie: a dead process its parent has not reaped yet."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_then_exit(process: psutil.Process, poll_interval_s: float) -> None:
    while _alive(process):
        time.sleep(poll_interval_s)
    log.warning("the client's process %d has exited: the server exits too", process.pid)
    # Not sys.exit: the stdin reader blocks in a worker thread that would keep the
    # interpreter alive. Nothing is lost: the index store commits each write.
    logging.shutdown()
    os._exit(0)
