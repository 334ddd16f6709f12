"""Admin pages that edit what the programme says: the FAQ, the home page's text, the
emails' wording (with a preview, a history and a revert), and the shared vocabularies.

Routes on the coordinator blueprint. Every change is a use case that writes its audit entry.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from matcher import content as content_domain
from matcher import email_templates
from matcher.domain import Coordinator
from matcher.errors import Conflict, Forbidden, Invalid, NotFound
from matcher.services import content, queries, vocabularies
from web.context import forget_taxonomy
from web.pages import faq as markdown
from web.pages import texts
from web.pages.common import coordinator_required, services
from web.pages.coordinator import bp

# The vocabularies the page edits, in the order it shows them, with their words.
VOCABULARIES = {
    "areas": "Areas",
    "roles": "Roles",
    "experience": "Lived experience",
    "topics": "Topics",
    "trainings": "Trainings",
    "languages": "Languages",
}


def _admin_only(coordinator: Coordinator) -> None:
    if not coordinator.admin:
        raise Forbidden("only an admin coordinator edits the programme's pages, emails and vocabularies")


@bp.get("/content")
@coordinator_required
def content_page(coordinator: Coordinator) -> ResponseReturnValue:
    _admin_only(coordinator)
    edited = queries.content_edited(services().uow())
    keys = [*content_domain.PAGES, *content_domain.email_keys()]
    rows = [(key, content_domain.describe(key), edited.get(key)) for key in keys]
    return render_template("coordinator/content.html", c=coordinator, rows=rows)


def _preview(key: str, body: str) -> tuple[str, str]:
    """("html", safe markup) for a page, ("text"/"html", rendered) for an email."""
    if key.startswith(content_domain.EMAIL_PREFIX):
        name = key.removeprefix(content_domain.EMAIL_PREFIX)
        rendered = email_templates.preview(name, body)
        if name.endswith(".html"):
            # The email's own HTML, shown sanitised: a preview is not a place to run anything.
            return "html", str(markdown.sanitise(rendered))
        return "text", rendered
    rendered_page, _ = markdown.render(body)
    return "html", str(rendered_page)


@bp.route("/content/<path:key>", methods=["GET", "POST"])
@coordinator_required
def content_edit(coordinator: Coordinator, key: str) -> ResponseReturnValue:
    _admin_only(coordinator)
    if not content_domain.is_known(key):
        raise NotFound(f"no text called {key}")
    s = services()
    errors: dict[str, list[str]] = {}
    preview: tuple[str, str] | None = None
    body = texts.source(key)
    status = 200
    if request.method == "POST":
        action = request.form.get("action")
        if action == "revert":
            try:
                version_id = int(request.form.get("version") or "")
            except ValueError:
                raise NotFound("no such version") from None
            content.revert(s.uow(), coordinator, key, version_id, s.clock)
            flash("The earlier version is back, and in use now. It is in the history and the audit log.")
            return redirect(url_for("coordinator.content_edit", key=key), 303)
        body = (request.form.get("body") or "").replace("\r\n", "\n")
        if action == "save":
            try:
                started_from = int(request.form.get("based_on") or 0)
            except ValueError:
                started_from = 0
            try:
                content.save(s.uow(), coordinator, key, body, s.clock, based_on=started_from)
            except Invalid as refused:
                errors = refused.errors
                status = 422
            except Conflict as lost:
                errors = {"body": [lost.message[:1].upper() + lost.message[1:] + "."]}
                status = 409
            else:
                flash("Saved, and in use now. It is in the history and the audit log.")
                return redirect(url_for("coordinator.content_edit", key=key), 303)
        else:
            found = content.problems(key, body)
            if found:
                errors, status = {"body": found}, 422
            else:
                preview = _preview(key, body)
    history = queries.content_history(s.uow(), key)
    # The version the editor started from, kept through previews and refusals: a save is refused
    # if another was saved since. After that refusal (409), the newest: they have seen it now.
    based_on = request.form.get("based_on") if request.method == "POST" and status != 409 else None
    if based_on is None:
        based_on = str(history.versions[0].id if history.versions else 0)
    page = render_template(
        "coordinator/content_edit.html",
        c=coordinator,
        key=key,
        title=content_domain.describe(key),
        body=body,
        errors=errors,
        preview=preview,
        history=history,
        is_email=key.startswith(content_domain.EMAIL_PREFIX),
        based_on=based_on,
    )
    return page, status


@bp.route("/vocabularies", methods=["GET", "POST"])
@coordinator_required
def vocabularies_page(coordinator: Coordinator) -> ResponseReturnValue:
    _admin_only(coordinator)
    s = services()
    errors: dict[str, list[str]] = {}
    form = request.form
    status = 200
    if request.method == "POST":
        vocabulary = form.get("vocabulary") or ""
        if vocabulary not in VOCABULARIES:
            raise NotFound(f"no vocabulary {vocabulary}")
        # The add form names its fields by vocabulary ("topics.code"), so each error sits by its own field.
        code = (form.get("code") or form.get(f"{vocabulary}.code") or "").strip()
        action = form.get("action")
        try:
            if action in ("up", "down"):
                vocabularies.move_term(s.uow(), coordinator, vocabulary, code, -1 if action == "up" else 1, s.clock)
                message = "Moved."
            else:
                label = " ".join((form.get("label") or form.get(f"{vocabulary}.label") or "").split())
                missing: dict[str, list[str]] = {}
                if action == "add" and not code:
                    missing["code"] = ["Give the new code."]
                if not label or len(label) > 200:
                    missing["label"] = ["Give the words people see, up to 200 characters."]
                if missing:
                    raise Invalid(missing)
                active = action != "retire" and (action != "set" or form.get("active") == "yes")
                vocabularies.set_term(s.uow(), coordinator, vocabulary, code, label, active, s.clock)
                message = "Saved: forms show it now." if active else "Retired: no longer offered on forms."
        except Invalid as refused:
            errors = {f"{vocabulary}.{k}": v for k, v in refused.errors.items()}
            status = 422
        else:
            forget_taxonomy()
            flash(message)
            return redirect(url_for("coordinator.vocabularies_page") + f"#v-{vocabulary}", 303)
    terms = queries.vocabulary_terms(s.uow())
    page = render_template(
        "coordinator/vocabularies.html",
        c=coordinator,
        vocabularies=VOCABULARIES,
        terms=terms,
        errors=errors,
        form=form if errors else {},
    )
    return page, status
