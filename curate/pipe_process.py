"""A Python child process that talks to its parent over two pipes (pickled messages), for work kept out of the
parent: the extraction process (:mod:`curate.stages.extract`, time limits that can kill it) and the plotting
process (:mod:`curate.card.plots`, matplotlib's import beside the run's work).

Imports nothing of curate.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import weakref
from multiprocessing.connection import Connection
from typing import Any


class PipeProcess:
    """``argv`` started with two more arguments, the file descriptors the child reads from and writes to
    (``multiprocessing.connection.Connection`` ends on its side); ``proc``, ``inbox``, ``outbox`` here. Stopped
    (pipes closed, killed if alive, reaped) by :meth:`close`, when garbage-collected, or at exit."""

    def __init__(self, argv: list[str]) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self.proc = subprocess.Popen([*argv, str(to_child_r), str(from_child_w)],
                                         pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, close_fds=True)
        except BaseException:
            os.close(to_child_w)
            os.close(from_child_r)
            raise
        finally:  # the child's ends: it holds its own copies
            os.close(to_child_r)
            os.close(from_child_w)
        self.inbox = Connection(from_child_r, writable=False)
        self.outbox = Connection(to_child_w, readable=False)
        self.finalizer = weakref.finalize(self, _stop, self.proc, self.inbox, self.outbox)

    def send(self, message: Any) -> None:
        self.outbox.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def receive(self) -> Any:
        return pickle.loads(self.inbox.recv_bytes())

    def close(self) -> None:
        self.finalizer()


def _stop(proc: subprocess.Popen, *conns: Connection) -> None:
    for conn in conns:
        conn.close()
    if proc.poll() is None:
        proc.kill()
    proc.wait()
