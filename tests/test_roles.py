"""Every URL, every role, GET and POST: the exact status code each gets, decided in one table.

The URL patterns are walked from the resolver, so a new page cannot slip in unnoticed: a pattern
without a row in EXPECTED fails `test_every_url_has_its_roles_decided`. Django's admin is walked
only at its index and one changelist (its own tests cover the rest).

POSTs carry a valid CSRF token (the client enforces CSRF checks), so what answers is the role
check, not the CSRF check; `test_a_post_without_csrf_token_is_refused` covers the token itself.
"""

import pytest
from django.conf import settings
from django.middleware.csrf import CSRF_SESSION_KEY
from django.test import Client
from django.urls import get_resolver, reverse

from commitments.models import StatusUpdate
from tests.site_urls import World, url_for, walk

ROLES = ("anonymous", "liaison", "secretariat", "admin")
METHODS = ("get", "post")
# The admin is Django's: walk its front page and one list, not every model's add/change/delete.
ADMIN_WALKED = {"admin:index", "admin:commitments_commitment_changelist"}
CSRF_TOKEN = "r0lEsWaLkCsRfTokenSecretOf32Chrs"  # 32 characters: an unmasked CSRF secret


def walked_names() -> list[str]:
    admin_prefix = reverse("admin:index").lstrip("/")
    return sorted(
        {
            name
            for name, route in walk(get_resolver().url_patterns)
            if not route.startswith(admin_prefix) or name in ADMIN_WALKED
        }
    )


# name -> role -> (status of GET, status of POST), roles in the order of ROLES.
# 302 for anonymous is always a redirect to a login page (checked below).
# fmt: off
EXPECTED = {
    #                                       anonymous    liaison      secretariat  admin
    "login":                              ((200, 200), (302, 302), (302, 302), (302, 302)),
    "logout":                             ((302, 302), (405, 302), (405, 302), (405, 302)),
    # The language switch stores a cookie, for visitors on the login page too.
    "set_language":                       ((302, 302), (302, 302), (302, 302), (302, 302)),
    # The factory's secretariat is not staff; the demo's is (tracker/demo.py).
    "admin:index":                        ((302, 302), (302, 302), (302, 302), (200, 200)),
    "admin:commitments_commitment_changelist":
                                          ((302, 302), (302, 302), (302, 302), (200, 200)),
    "dashboard":                          ((302, 302), (200, 403), (200, 405), (200, 405)),
    "commitments:commitment_list":        ((302, 302), (200, 403), (200, 405), (200, 405)),
    "commitments:filter_choices":         ((302, 302), (200, 403), (200, 405), (200, 405)),
    # An empty update form is refused with its errors (400), and nothing is written.
    "commitments:commitment_detail":      ((302, 302), (200, 403), (200, 400), (200, 400)),
    # Correcting and withdrawing an update: the secretariat's pages, refused to liaisons
    # even to read; an empty form is refused with its errors (400), nothing is written.
    "commitments:status_update_correct":  ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:status_update_withdraw": ((302, 302), (403, 403), (200, 400), (200, 400)),
    # Curating a commitment: the secretariat's alone; an empty form is refused (400).
    "commitments:commitment_create":      ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:commitment_edit":        ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:commitment_retire":      ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:commitment_relation_add":
                                          ((302, 302), (403, 403), (405, 400), (405, 400)),
    "commitments:commitment_relation_remove":
                                          ((302, 302), (403, 403), (405, 302), (405, 302)),
    # The milestone pages are curating pages: liaisons are refused even a read. An empty form
    # is refused with its errors (400); a move is a POST of its direction only.
    "commitments:milestone_add":          ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:milestone_edit":         ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:milestone_done":         ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:milestone_not_done":     ((302, 302), (403, 403), (405, 400), (405, 400)),
    "commitments:milestone_move":         ((302, 302), (403, 403), (405, 400), (405, 400)),
    "commitments:milestone_delete":       ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:document_detail":        ((302, 302), (200, 403), (200, 405), (200, 405)),
    "commitments:document_list":          ((302, 302), (200, 403), (200, 405), (200, 405)),
    # Curating documents is the secretariat's: a liaison is refused even a look (403). An empty
    # form is refused with its message (400); the link removal is a POST that redirects.
    "commitments:document_import":        ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:document_import_apply":  ((302, 302), (403, 403), (405, 400), (405, 400)),
    "commitments:document_edit":          ((302, 302), (403, 403), (200, 400), (200, 400)),
    # Bulk import is the secretariat's alone: a liaison is refused even a look (403). An upload
    # without a file is refused (400); applying is a POST that redirects to the import's page.
    "commitments:bulk_import":            ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:bulk_import_detail":     ((302, 302), (403, 403), (200, 405), (200, 405)),
    "commitments:bulk_import_apply":      ((302, 302), (403, 403), (405, 302), (405, 302)),
    "commitments:bulk_import_status":     ((302, 302), (403, 403), (200, 405), (200, 405)),
    "commitments:bulk_import_report":     ((302, 302), (403, 403), (200, 405), (200, 405)),
    "commitments:document_link_create":   ((302, 302), (403, 403), (405, 400), (405, 400)),
    "commitments:document_link_delete":   ((302, 302), (403, 403), (405, 302), (405, 302)),
    "commitments:document_report":        ((302, 302), (200, 403), (200, 405), (200, 405)),
    "commitments:document_report_pdf":    ((302, 302), (200, 403), (200, 405), (200, 405)),
    "commitments:actor_list":             ((302, 302), (200, 403), (200, 405), (200, 405)),
    "commitments:actor_detail":           ((302, 302), (200, 403), (200, 405), (200, 405)),
    # The Atom feeds of public changes (commitments.feeds): pages of the public record, read-only.
    "commitments:changes_feed":           ((302, 302), (200, 403), (200, 405), (200, 405)),
    "commitments:commitment_changes_feed":
                                          ((302, 302), (200, 403), (200, 405), (200, 405)),
    "commitments:actor_changes_feed":     ((302, 302), (200, 403), (200, 405), (200, 405)),
    # Curating actors and themes is the secretariat's: an empty form is refused (400).
    "commitments:actor_new":              ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:actor_edit":             ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:actor_merge":            ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:theme_list":             ((302, 302), (403, 403), (200, 405), (200, 405)),
    "commitments:theme_new":              ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:theme_edit":             ((302, 302), (403, 403), (200, 400), (200, 400)),
    "commitments:evidence_file":          ((302, 302), (200, 403), (200, 405), (200, 405)),
    "commitments:evidence_file#internal": ((302, 302), (404, 403), (200, 405), (200, 405)),
    "event_list":                         ((302, 302), (200, 405), (200, 405), (200, 405)),
    "event_month":                        ((302, 302), (200, 405), (200, 405), (200, 405)),
    "event_detail":                       ((302, 302), (200, 405), (200, 405), (200, 405)),
    "event_detail#private":               ((302, 302), (404, 405), (200, 405), (200, 405)),
    # Curating events is the secretariat's: an empty form is refused with its errors (400).
    "event_new":                          ((302, 302), (403, 403), (200, 400), (200, 400)),
    "event_edit":                         ((302, 302), (403, 403), (200, 400), (200, 400)),
    # POST gives the person a new secret feed address: their own, so liaisons may.
    "calendar_feeds":                     ((302, 302), (200, 302), (200, 302), (200, 302)),
    # Calendar apps cannot log in: the feeds are open, the personal one behind its token.
    # The API's schema and its browsable page describe the API, not the record (docs/api.md).
    # A logged-in POST meets the API's own CSRF check (403) before the method's.
    "api:schema":                         ((200, 405), (200, 403), (200, 403), (200, 403)),
    "api:docs":                           ((200, 405), (200, 403), (200, 403), (200, 403)),
    # The open-data page and its published zips are the public record (docs/open-data.md):
    # with the public site off (as here) a visitor logs in first; a name never published: 404.
    "open_data":                          ((302, 302), (200, 405), (200, 405), (200, 405)),
    "open_data_download":                 ((302, 302), (200, 405), (200, 405), (200, 405)),
    "open_data_download#unknown":         ((302, 302), (404, 405), (404, 405), (404, 405)),
    # The record through the API (api.views): read as the pages are, so anonymous readers are
    # refused while the public site is off (401 in JSON with the token's challenge, not a login
    # redirect); every write is refused, here by the session's CSRF check before the role's
    # (api.permissions; tests/api/test_permissions.py sends the token: 403 for a liaison, 405
    # for the secretariat).
    "api:document_list":                  ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:document_detail":                ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:paragraph_list":                 ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:actor_list":                     ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:actor_detail":                   ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:theme_list":                     ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:commitment_list":                ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:commitment_detail":              ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:commitment_updates":             ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:commitment_milestones":          ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:update_list":                    ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:event_list":                     ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:event_detail":                   ((401, 401), (200, 403), (200, 403), (200, 403)),
    "api:event_detail#private":           ((401, 401), (404, 403), (200, 403), (200, 403)),
    "calendar_public_feed":               ((200, 405), (200, 405), (200, 405), (200, 405)),
    # For crawlers, whatever the setting: with the public site off (as here) robots.txt keeps
    # them out and there is no sitemap; tests/test_public_site.py has them with it on.
    "robots_txt":                         ((200, 405), (200, 405), (200, 405), (200, 405)),
    "sitemap":                            ((404, 405), (404, 405), (404, 405), (404, 405)),
    # The site's icon, for every browser whatever the setting: sent to the static file.
    "favicon":                            ((302, 405), (302, 405), (302, 405), (302, 405)),
    "calendar_personal_feed":             ((200, 405), (200, 405), (200, 405), (200, 405)),
    "calendar_personal_feed#unknown":     ((404, 405), (404, 405), (404, 405), (404, 405)),
    # Each person's own news and follows, liaisons included; POST marks read, or follows or
    # stops following (an event they may not see is a 404, as its page is).
    "notification_list":                  ((302, 302), (200, 302), (200, 302), (200, 302)),
    "follow_toggle":                      ((302, 302), (405, 302), (405, 302), (405, 302)),
    "follow_toggle#private":              ((302, 302), (405, 404), (405, 302), (405, 302)),
    # Each person's own reminder choices, liaisons included.
    "reminder_settings":                  ((302, 302), (200, 302), (200, 302), (200, 302)),
    # POST to the log only shows it again (a read page that does not refuse POST).
    "reminder_log":                       ((302, 302), (403, 403), (200, 200), (200, 200)),
    "reminder_resend":                    ((302, 302), (405, 403), (405, 302), (405, 302)),
    # The signed link is the credential: GET asks to confirm, POST unsubscribes.
    "reminder_unsubscribe":               ((200, 200), (200, 200), (200, 200), (200, 200)),
    "reminder_unsubscribe#forged":        ((400, 400), (400, 400), (400, 400), (400, 400)),
    # Accounts: a secretariat manager's (the admin here; the factory's secretariat officer
    # lacks the permission, tests/tracker/test_accounts.py gives it). An empty form: 400.
    "account_list":                       ((302, 302), (403, 403), (403, 403), (200, 405)),
    "account_invite":                     ((302, 302), (403, 403), (403, 403), (200, 400)),
    "account_edit":                       ((302, 302), (403, 403), (403, 403), (200, 400)),
    # The invitation's link is the credential; a used one says so (410), nothing is written.
    "invitation_accept":                  ((200, 400), (200, 400), (200, 400), (200, 400)),
    "invitation_accept#used":             ((410, 410), (410, 410), (410, 410), (410, 410)),
    # Each person's own profile, liaisons included; an empty form is refused (400).
    "profile":                            ((302, 302), (200, 400), (200, 400), (200, 400)),
    "profile_email":                      ((302, 302), (405, 400), (405, 400), (405, 400)),
    # Their own API tokens: an empty name is refused (400); revoking another's token is 404.
    "api_token_create":                   ((302, 302), (302, 400), (302, 400), (302, 400)),
    "api_token_revoke":                   ((302, 302), (405, 302), (405, 404), (405, 404)),
    # The signed link to a new address: GET asks to confirm, POST changes it.
    "profile_email_confirm":              ((200, 200), (200, 200), (200, 200), (200, 200)),
    "profile_email_confirm#forged":       ((400, 400), (400, 400), (400, 400), (400, 400)),
    "password_change":                    ((302, 302), (200, 400), (200, 400), (200, 400)),
    # Django's reset by email, open to everyone; a valid link moves on to its form (302).
    "password_reset":                     ((200, 400), (200, 400), (200, 400), (200, 400)),
    "password_reset_done":                ((200, 405), (200, 405), (200, 405), (200, 405)),
    "password_reset_confirm":             ((302, 302), (302, 302), (302, 302), (302, 302)),
    "password_reset_confirm#forged":      ((400, 400), (400, 400), (400, 400), (400, 400)),
    "password_reset_complete":            ((200, 405), (200, 405), (200, 405), (200, 405)),
    # Each person's own two-factor set-up (an empty code is refused, 400); the admin has an app
    # (a superuser must). The code step sends a session with nothing to enter on to its page.
    # Resetting another person's is a manager's: the superuser here.
    "two_factor":                         ((302, 302), (200, 400), (200, 400), (200, 400)),
    "two_factor_verify":                  ((302, 302), (302, 302), (302, 302), (302, 302)),
    "two_factor_reset":                   ((302, 302), (403, 403), (403, 403), (200, 200)),
    # Reports (commitments.submissions): the liaison's state concerns the world's commitment.
    # Writing one is for liaisons and contributors (an empty form: 400); the secretariat posts
    # updates itself (403). Empty posts are refused (400); a submitted report is not edited
    # (409). A report of another state or organisation is not found (404), its file neither.
    "commitments:report_create":          ((302, 302), (200, 400), (403, 403), (403, 403)),
    "commitments:report_mine":            ((302, 302), (200, 403), (403, 403), (403, 403)),
    "commitments:report_queue":           ((302, 302), (403, 403), (200, 405), (200, 405)),
    "commitments:report_detail":          ((302, 302), (200, 403), (200, 405), (200, 405)),
    "commitments:report_detail#contributor":
                                          ((302, 302), (404, 403), (200, 405), (200, 405)),
    "commitments:report_edit":            ((302, 302), (409, 409), (403, 403), (403, 403)),
    "commitments:report_submit":          ((302, 302), (405, 400), (403, 403), (403, 403)),
    "commitments:report_comment":         ((302, 302), (405, 400), (405, 400), (405, 400)),
    "commitments:report_comment#contributor":
                                          ((302, 302), (405, 404), (405, 400), (405, 400)),
    "commitments:report_publish":         ((302, 302), (403, 403), (405, 400), (405, 400)),
    "commitments:report_return":          ((302, 302), (403, 403), (405, 400), (405, 400)),
    "commitments:report_file":            ((302, 302), (200, 403), (200, 405), (200, 405)),
    "commitments:report_file#contributor":
                                          ((302, 302), (404, 403), (200, 405), (200, 405)),
}
# fmt: on


# Refused-looking POSTs that are fine for a liaison, and why: none of them touches the record.
LIAISON_POSTS_ALLOWED = {
    "login": "sends the logged-in liaison to their page",
    "logout": "ends their own session",
    "set_language": "chooses their own interface language",
    "admin:index": "sends them to the admin's login",
    "admin:commitments_commitment_changelist": "sends them to the admin's login",
    "calendar_feeds": "replaces their own feed address",
    "api_token_revoke": "revokes their own API token",
    "reminder_settings": "saves their own reminder choices",
    "notification_list": "marks their own notifications read",
    "follow_toggle": "follows, or stops following, for themselves",
    "reminder_unsubscribe": "the signed link unsubscribes its owner",
    "profile_email_confirm": "the signed link changes its owner's address",
    "password_reset_confirm": "the reset link moves on to its own form",
    "two_factor_verify": "has no code to enter: sent on to their page",
}
# Open to visitors and redirecting elsewhere than to the login page: back to the page they were
# on (the language), on to the reset link's form.
OPEN_REDIRECTS = {"set_language", "password_reset_confirm", "favicon"}
# One-click unsubscribe (RFC 8058): mail clients post without a CSRF token.
# The API checks CSRF itself, for session-authenticated writes only (Django REST framework's
# SessionAuthentication); token and anonymous requests carry no cookie to forge.
CSRF_EXEMPT = {"reminder_unsubscribe", "reminder_unsubscribe#forged"} | {
    key for key in EXPECTED if key.startswith("api:")
}


def client_for(role: str, world: World) -> Client:
    client = Client(enforce_csrf_checks=True)
    if world.users[role] is not None:
        client.force_login(world.users[role])
    return client


def give_csrf_token(client: Client) -> dict:
    """Store a CSRF secret where the middleware looks for it; return the form field."""
    if settings.CSRF_USE_SESSIONS:
        session = client.session
        session[CSRF_SESSION_KEY] = CSRF_TOKEN
        session.save()
        client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    else:
        client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_TOKEN
    return {"csrfmiddlewaretoken": CSRF_TOKEN}


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the evidence files go away with the test
    return World()


def test_every_url_has_its_roles_decided():
    decided = {key.split("#")[0] for key in EXPECTED}
    missing = [name for name in walked_names() if name not in decided]
    assert not missing, f"Decide who may GET and POST these URLs, in EXPECTED: {missing}"


def test_the_table_lists_no_url_that_is_gone():
    walked = set(walked_names())
    assert not [key for key in EXPECTED if key.split("#")[0] not in walked]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_every_url_answers_every_role_as_decided(world, key, role, method):
    client = client_for(role, world)
    data = give_csrf_token(client) if method == "post" else {}

    response = getattr(client, method)(url_for(key, world), data)

    expected = EXPECTED[key][ROLES.index(role)][METHODS.index(method)]
    assert response.status_code == expected, f"{method.upper()} {key} as {role}"
    if role == "anonymous" and expected == 302 and key not in OPEN_REDIRECTS:
        assert response.url.startswith((reverse("login"), reverse("admin:login")))


def test_a_liaison_is_refused_every_write():
    """The table itself: a liaison's POST is refused everywhere but on their own things."""
    liaison_post = {key: row[ROLES.index("liaison")][1] for key, row in EXPECTED.items()}
    accepted = {key for key, status in liaison_post.items() if status < 400}
    assert accepted == set(LIAISON_POSTS_ALLOWED)
    assert liaison_post["commitments:commitment_detail"] == 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(set(EXPECTED) - CSRF_EXEMPT))
def test_a_post_without_csrf_token_is_refused(world, key, role):
    client = client_for(role, world)

    response = client.post(url_for(key, world), {})

    assert response.status_code == 403, f"POST {key} as {role} without a CSRF token"
    # Refused by the CSRF check (its page, settings.CSRF_FAILURE_VIEW), not by the role check.
    assert "403_csrf.html" in [template.name for template in response.templates]


def test_an_update_posted_without_csrf_token_writes_nothing(world):
    client = client_for("secretariat", world)
    url = url_for("commitments:commitment_detail", world)
    form = {
        "status": "achieved",
        "progress": 100,
        "narrative": "Done.",
        "happened_on": "2026-01-01",
    }

    assert client.post(url, form).status_code == 403
    assert world.commitment.updates.count() == 2


# The API answers in JSON, not with the 403 page: its refusals' words are tested in tests/api.
LIAISON_REFUSALS = sorted(
    (key, method)
    for key, row in EXPECTED.items()
    for method in METHODS
    if row[ROLES.index("liaison")][METHODS.index(method)] == 403 and not key.startswith("api:")
)


@pytest.mark.parametrize(("key", "method"), LIAISON_REFUSALS)
def test_every_refusal_of_a_liaison_says_why_and_what_to_do(world, key, method):
    client = client_for("liaison", world)
    data = give_csrf_token(client) if method == "post" else {}

    response = getattr(client, method)(url_for(key, world), data)

    assert response.status_code == 403
    if key.startswith("api:"):  # the API answers in JSON: its reason, and that nothing changed
        assert "Nothing was changed." in str(response.data["detail"])  # JSON, or the schema's YAML
        return
    page = response.content.decode()
    assert ">Not allowed</h1>" in page
    assert "the secretariat" in page or "My reminders page" in page, page


def test_a_liaisons_refused_update_says_nothing_was_saved_in_their_language(world):
    client = client_for("liaison", world)
    world.users["liaison"].language = "ru"
    world.users["liaison"].save()
    data = give_csrf_token(client) | {"narrative": "Accepted."}

    response = client.post(url_for("commitments:commitment_detail", world), data)

    assert response.status_code == 403
    assert "ничего не сохранено" in response.content.decode()
    assert not StatusUpdate.objects.filter(narrative="Accepted.").exists()
