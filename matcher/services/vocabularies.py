"""The programme's shared vocabularies, which an admin coordinator edits.

A code is added, relabelled or retired (never deleted: old records still carry it),
in one unit of work with its event, so the change is on record.
"""

from __future__ import annotations

import re

from matcher.domain import AuditAction, AuditSubject, Coordinator, Event, EventKind, Term
from matcher.errors import Forbidden, Invalid, NotFound
from matcher.ports import Clock, UnitOfWork
from matcher.services import audit
from matcher.taxonomy import CODE_RULES

CODE = re.compile(r"[a-z0-9_]{1,60}")
TERM_SET = EventKind.VOCABULARY_TERM_SET


def set_term(
    uow: UnitOfWork,
    coordinator: Coordinator,
    vocabulary: str,
    code: str,
    label: str,
    active: bool,
    clock: Clock,
) -> Term:
    """Add or relabel ``code`` in ``vocabulary``, or retire it (``active=False``)."""
    if not coordinator.admin:
        raise Forbidden("only an admin coordinator edits the shared vocabularies")
    if not CODE.fullmatch(code):
        raise Invalid({"code": ["Use 1-60 lower-case letters, digits and underscores."]})
    if vocabulary in CODE_RULES and not re.fullmatch(CODE_RULES[vocabulary][0], code):
        # Stricter for some vocabularies: languages are known by their ISO codes only.
        raise Invalid({"code": [CODE_RULES[vocabulary][1]]})
    now = clock.now()
    with uow:
        existing = uow.terms.where(vocabulary=vocabulary, order_by="position")
        if not existing:
            raise NotFound(f"no vocabulary {vocabulary}")
        term = next((t for t in existing if t.code == code), None)
        if term is None:
            # A new code goes at the end of its list.
            term = Term(vocabulary=vocabulary, code=code, label=label, position=existing[-1].position + 1)
            uow.terms.add(term)
        term.label, term.active = label, active
        # Codes only: the event carries no personal data.
        uow.events.add(Event(TERM_SET, now, data={"vocabulary": vocabulary, "code": code, "active": active}))
        audit.record(
            uow, coordinator, AuditAction.TERM_SET, AuditSubject.TERM, f"{vocabulary}:{code}", clock, active=active
        )
        uow.commit()
    return term


def move_term(
    uow: UnitOfWork, coordinator: Coordinator, vocabulary: str, code: str, step: int, clock: Clock
) -> list[Term]:
    """Move ``code`` one place up (``step`` -1) or down (+1) in its list: the order forms show.

    The whole list is renumbered under its rows' locks, so two admins reordering at once
    leave a list with every code once, in one of their orders."""
    if not coordinator.admin:
        raise Forbidden("only an admin coordinator edits the shared vocabularies")
    if step not in (-1, 1):
        raise Invalid({"step": ["Move a code one place up (-1) or down (1)."]})
    with uow:
        terms = uow.terms.where(vocabulary=vocabulary, order_by="position", for_update=True)
        if not terms:
            raise NotFound(f"no vocabulary {vocabulary}")
        index = next((i for i, t in enumerate(terms) if t.code == code), None)
        if index is None:
            raise NotFound(f"no code {code} in {vocabulary}")
        other = index + step
        if 0 <= other < len(terms):
            terms[index], terms[other] = terms[other], terms[index]
            for position, term in enumerate(terms):
                term.position = position
            uow.events.add(Event(TERM_SET, clock.now(), data={"vocabulary": vocabulary, "code": code, "moved": step}))
            audit.record(
                uow, coordinator, AuditAction.TERM_MOVED, AuditSubject.TERM, f"{vocabulary}:{code}", clock, step=step
            )
            uow.commit()
    return terms
