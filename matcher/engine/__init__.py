"""The matching engine: encode people into arrays, score all pairs, assign exactly.

Pure functions over numpy arrays; no framework imports. Start at
``propose_all`` (every open request at once) or ``matcher.proposals.propose_for_request``.
"""

from matcher.engine.pipeline import Outcome, encode, propose_all, run

__all__ = ["Outcome", "encode", "propose_all", "run"]
