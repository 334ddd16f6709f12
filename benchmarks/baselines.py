"""What the engine is compared with: a greedy matcher and the ``matching`` package's solver.

Both see exactly the engine's eligible pairs and scores, so the comparison is
about the assignment, not the scoring.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np

from matcher.engine.candidates import Edges
from matcher.engine.grid import Pairing, exact_scores


@dataclass
class Baseline:
    rows: np.ndarray
    cols: np.ndarray
    score: np.ndarray
    seconds: float
    note: str = ""


def greedy(pairing: Pairing) -> Baseline:
    """Requests in arrival (id) order; each role takes its best eligible volunteers still free.

    What a coordinator, or a simple tool, does by hand: first come, first served.
    """
    started = time.perf_counter()
    req, vol = pairing.requests, pairing.volunteers
    left = vol.capacity.copy()
    on_request: set[tuple[int, int]] = set()
    rows_out: list[int] = []
    cols_out: list[int] = []
    for rows, s in pairing.chunks():
        for i, row in enumerate(rows.tolist()):
            need = int(req.row_open[row])
            q = int(req.row_request[row])
            eligible = np.flatnonzero(np.isfinite(s[i]))
            for c in eligible[np.argsort(-s[i, eligible], kind="stable")].tolist():
                if need == 0:
                    break
                if left[c] > 0 and (q, c) not in on_request:
                    left[c] -= 1
                    need -= 1
                    on_request.add((q, c))
                    rows_out.append(row)
                    cols_out.append(c)
    rows_a, cols_a = np.array(rows_out, dtype=np.int64), np.array(cols_out, dtype=np.int64)
    score = exact_scores(pairing, rows_a, cols_a)
    return Baseline(rows_a, cols_a, score, time.perf_counter() - started)


def _hospital_resident(edges: Edges, capacity: np.ndarray, row_open: np.ndarray, out: mp.Queue) -> None:
    # The package deep-copies its linked players recursively: give it a deep stack in a thread.
    sys.setrecursionlimit(10_000_000)
    threading.stack_size(1 << 30)
    worker = threading.Thread(target=_hospital_resident_body, args=(edges, capacity, row_open, out))
    worker.start()
    worker.join()


def _hospital_resident_body(edges: Edges, capacity: np.ndarray, row_open: np.ndarray, out: mp.Queue) -> None:
    try:
        _solve_hr(edges, capacity, row_open, out)
    except BaseException as exc:  # report, do not print a child's traceback over the table
        out.put(("error", f"{type(exc).__name__}: {exc}"[:200]))


def _solve_hr(edges: Edges, capacity: np.ndarray, row_open: np.ndarray, out: mp.Queue) -> None:
    from matching.games import HospitalResident

    started = time.perf_counter()
    order = np.lexsort((edges.rows, -edges.score))  # best first
    resident_prefs: dict[str, list[str]] = {}
    hospital_prefs: dict[str, list[str]] = {}
    for e in order.tolist():
        r, c = int(edges.rows[e]), int(edges.cols[e])
        # A volunteer who can take k places is k residents with the same preferences.
        for k in range(int(capacity[c])):
            resident_prefs.setdefault(f"{c}:{k}", []).append(str(r))
    order = np.lexsort((edges.cols, -edges.score))
    for e in order.tolist():
        r, c = int(edges.rows[e]), int(edges.cols[e])
        hospital_prefs.setdefault(str(r), []).extend(f"{c}:{k}" for k in range(int(capacity[c])))
    capacities = {h: int(row_open[int(h)]) for h in hospital_prefs}
    game = HospitalResident.create_from_dictionaries(resident_prefs, hospital_prefs, capacities)
    solution = game.solve(optimal="hospital")
    pairs = [(int(str(h.name)), int(str(res.name).split(":")[0])) for h, rs in solution.items() for res in rs]
    out.put((pairs, time.perf_counter() - started))


def hospital_resident(pairing: Pairing, edges: Edges, timeout: float = 60.0) -> Baseline | None:
    """The ``matching`` package's Hospital-Resident solver, in a child process given ``timeout`` seconds.

    Its stable matching ignores that one volunteer may not take two roles on one
    request; such second roles are dropped afterwards (noted).
    """
    ctx = mp.get_context("fork")
    queue: mp.Queue = ctx.Queue()
    started = time.perf_counter()
    child = ctx.Process(target=_hospital_resident,
                        args=(edges, pairing.volunteers.capacity, pairing.requests.row_open, queue))
    child.start()
    try:
        pairs, _ = queue.get(timeout=timeout)
    except Exception:
        child.kill()
        child.join()
        return None
    child.join()
    if pairs == "error":
        return Baseline(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), 0.0, f"failed: {_}")
    seconds = time.perf_counter() - started
    seen: set[tuple[int, int]] = set()
    kept = []
    for r, c in sorted(pairs):
        key = (int(pairing.requests.row_request[r]), c)
        if key not in seen:
            seen.add(key)
            kept.append((r, c))
    rows = np.array([p[0] for p in kept], dtype=np.int64)
    cols = np.array([p[1] for p in kept], dtype=np.int64)
    note = f"{len(pairs) - len(kept)} second roles dropped" if len(pairs) > len(kept) else ""
    return Baseline(rows, cols, exact_scores(pairing, rows, cols), seconds, note)
