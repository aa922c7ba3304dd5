"""HiGHS's MIP solver in a child process, stopped if it overruns its time limit.

HiGHS 1.16 does not always keep to its ``time_limit``: on the 100 km region with backhaul a
kernel-search MIP given 157 s was still running 195 s past it, and another stayed over 14
minutes in presolve of a nested sub-MIP. A thread inside HiGHS cannot be stopped, and one
left running makes the interpreter abort when it exits. A child process can be stopped: it
sends every plan HiGHS finds as HiGHS finds it (HiGHS's improving-solution callback) and
HiGHS's bound as it moves (at most every ``BOUND_EVERY_S``), and the parent takes HiGHS's
result or, ``grace_s`` past the time limit, kills the child and keeps the last plan it
sent, reported as not proven (``time_limit``) with the last bound.

The child is a fresh interpreter running :func:`main` with this copy of ``siting`` first on
its path: it reads (model, settings) pickled on its stdin and sends messages on a pipe.
(multiprocessing's ``spawn`` would re-run the caller's main script in the child, which fails
for a script without a ``__main__`` guard.) Starting it costs about half a second, so only
long solves of models that are not small take this way (:func:`applies`).
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import pickle
import signal
import subprocess
import sys
import time
from multiprocessing.connection import Connection

import numpy as np

import siting
from siting.errors import SolverError
from siting.optimize import highs_backend
from siting.optimize.model import MipModel, MipResult

log = logging.getLogger(__name__)

#: The child: :func:`main` with the folder holding this ``siting`` first on its path.
_CHILD_CODE = "import sys; sys.path.insert(0, {root!r}); " \
              "from siting.optimize.highs_process import main; main(sys.argv[1:])"
#: Linux's ``prctl`` option: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1
#: The child sends HiGHS's bound at most this often [s].
BOUND_EVERY_S = 1.0
#: A MIP is solved in a child process when given at least this long [s] ...
MIN_TIME_LIMIT_S = 30.0
#: ... and it has at least this many nonzeros [-].
MIN_NNZ = 20_000


def applies(model: MipModel, time_limit_s: float | None) -> bool:
    """Whether :func:`solve_mip` is the way to solve ``model`` in ``time_limit_s``."""
    return (time_limit_s is not None and time_limit_s >= MIN_TIME_LIMIT_S
            and model.A.nnz >= MIN_NNZ)


def grace_s(time_limit_s: float) -> float:
    """How long past its time limit HiGHS may run before its process is killed [s]: HiGHS
    checks its clock between steps, and presolve or a node's LP may take seconds."""
    return 5.0 + 0.01 * time_limit_s


def solve_mip(model: MipModel, *, time_limit_s: float, mip_gap: float = 0.0, seed: int = 0,
              start: np.ndarray | None = None, heuristic_effort: float | None = None,
              node_limit: int | None = None, hard_limit_s: float | None = None) -> MipResult:
    """:func:`siting.optimize.highs_backend.solve_mip` in a child process, killed
    ``hard_limit_s`` after the start (default: ``time_limit_s`` + :func:`grace_s`), its last
    plan then the result (its node count not known: 0); in this process, without that stop,
    if no process can be started. Raises :class:`SolverError` if HiGHS fails or the child
    dies."""
    end = time.perf_counter() + (time_limit_s + grace_s(time_limit_s) if hard_limit_s is None
                                 else hard_limit_s)
    # HiGHS's limit is kept from now, not from when the child has started
    settings = {"deadline_unix_s": time.time() + time_limit_s, "mip_gap": mip_gap,
                "seed": seed, "start": start, "heuristic_effort": heuristic_effort,
                "node_limit": node_limit}
    read_fd, write_fd = os.pipe()
    try:
        root = os.path.dirname(os.path.dirname(os.path.abspath(siting.__file__)))
        child = subprocess.Popen([sys.executable, "-c", _CHILD_CODE.format(root=root),
                                  str(write_fd)], stdin=subprocess.PIPE, pass_fds=(write_fd,))
    except OSError as exc:
        os.close(read_fd)
        log.warning("HiGHS runs in this process, without a stop past its time limit: no "
                    "process could be started for it (%s)", exc)
        return highs_backend.solve_mip(model, time_limit_s=time_limit_s, mip_gap=mip_gap,
                                       seed=seed, start=start,
                                       heuristic_effort=heuristic_effort, node_limit=node_limit)
    finally:
        os.close(write_fd)
    channel = Connection(read_fd, writable=False)
    try:
        try:
            pickle.dump((model, settings), child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            child.stdin.close()
        except BrokenPipeError as exc:
            raise SolverError(f"HiGHS's process ended before it read the model "
                              f"(exit code {child.wait()})") from exc
        return _result(channel, child, model, end, time_limit_s)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        channel.close()


def _result(channel: Connection, child: subprocess.Popen, model: MipModel, end: float,
            time_limit_s: float) -> MipResult:
    """HiGHS's result from ``channel``, or at ``end`` (a ``perf_counter`` time) the last
    plan and bound it sent."""
    plan, bound = None, math.nan
    while True:
        left = end - time.perf_counter()
        if left <= 0 or not channel.poll(left):
            log.warning("HiGHS ran past its time limit (%.0f s) and was stopped; its best "
                        "plan so far is the result", time_limit_s)
            return highs_backend.stopped_result(model, plan, bound)
        try:
            kind, *payload = channel.recv()
        except EOFError:
            raise SolverError(f"HiGHS's process ended without a result "
                              f"(exit code {child.wait()})") from None
        if kind == "done":
            return payload[0]
        if kind == "error":
            raise SolverError(payload[0])
        if kind == "plan":
            plan = payload[0]
        elif kind == "bound":
            bound = payload[0]
        else:  # a log record of the child's: (logger name, level, message)
            logging.getLogger(payload[0]).log(payload[1], "%s", payload[2])


def _die_with_parent() -> None:
    """Have Linux kill this process when its parent dies (``prctl(PR_SET_PDEATHSIG)``), so
    that a killed run leaves no solver behind; elsewhere, nothing."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return


class _ToParent(logging.Handler):
    """Sends each log record to the parent, which logs it (and filters it by level)."""

    def __init__(self, channel: Connection):
        super().__init__()
        self.channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        self.channel.send(("log", record.name, record.levelno, record.getMessage()))


def _log_to(channel: Connection) -> None:
    """Route the child's ``siting`` log records, every level, to the parent."""
    logger = logging.getLogger("siting")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(_ToParent(channel))


def main(argv: list[str]) -> None:
    """The child: solve the pickled (model, settings) of stdin, sending ``("plan", x)`` for
    each plan HiGHS finds, ``("bound", bound)`` when HiGHS's bound moved (at most every
    ``BOUND_EVERY_S``) and ``("log", logger, level, message)`` for siting's log records,
    then ``("done", MipResult)`` or ``("error", message)``, on the pipe ``argv[0]``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it kills us
    _die_with_parent()
    channel = Connection(int(argv[0]), readable=False)
    _log_to(channel)
    model, settings = pickle.load(sys.stdin.buffer)
    time_limit_s = max(settings.pop("deadline_unix_s") - time.time(), 0.01)
    sent = {"bound": math.nan, "at": -math.inf}

    def on_plan(x: np.ndarray) -> None:
        channel.send(("plan", x))

    def on_bound(bound: float) -> None:
        now = time.perf_counter()
        if bound != sent["bound"] and now - sent["at"] >= BOUND_EVERY_S:
            channel.send(("bound", bound))
            sent.update(bound=bound, at=now)

    try:
        result = highs_backend.solve_mip_here(model, time_limit_s=time_limit_s, on_plan=on_plan,
                                              on_bound=on_bound, **settings)
    except SolverError as exc:
        channel.send(("error", str(exc)))
    else:
        channel.send(("done", result))
    channel.close()
