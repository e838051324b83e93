"""POST /ui/portal: the application's handler URL, where a portal opens b24rules in its frame.

The portal posts its page form (AUTH_ID, member_id, …; operations/portaladmins.py says what is checked
and why nothing in it is believed). An administrator gets a session pinned to their portal, in the
cookie a cross-site frame can carry (access.py), and lands on the Overview; anyone else gets a 403 page
saying why. The access token is never stored or logged: only the member id, the domain and the outcome
are.
"""

from __future__ import annotations

import logging

from flask import abort, g, redirect, url_for
from flask import request as flask_request
from werkzeug.wrappers import Response

from service.core.portaladmission import AdmissionRefused
from service.web.ui.access import new_identity, start_session
from service.web.ui.parts import ui_parts

log = logging.getLogger(__name__)


def sign_in() -> Response:
    parts = ui_parts()
    if parts.portal_admins is None:
        abort(404, "application mode is off (B24_APP_CLIENT_ID unset): sign in with the token instead")
    member_id = flask_request.form.get("member_id", "")  # the body, as the portal posts it
    try:
        admin = parts.portal_admins.admit(member_id, flask_request.form.get("AUTH_ID", ""))
    except AdmissionRefused as refused:
        log.warning("portal sign-in refused", extra={"member_id": member_id[:64], "reason": refused.reason})
        g.frame_domain = refused.domain  # the stored domain of a known portal may show the refusal
        abort(refused.status, refused.reason)
    identity = new_identity(
        admin.name, f"portal admin, {admin.domain}", portal=admin.member_id, pinned=True, domain=admin.domain
    )
    response = redirect(url_for("ui.overview"), code=303)
    start_session(response, parts, identity)
    g.frame_domain = admin.domain
    log.info("portal admin signed in", extra={"member_id": admin.member_id, "domain": admin.domain,
                                              "user_id": admin.user_id})  # fmt: skip
    return response
