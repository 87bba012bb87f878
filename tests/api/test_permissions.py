"""Who may use the API (api.permissions): the pages' rules, answered in JSON."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import ContributorFactory
from tests.test_roles import CSRF_TOKEN, give_csrf_token

LIST = "/api/v1/commitments/"


def session(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    give_csrf_token(client)
    return client


def post(client: Client, url: str = LIST):
    return client.post(url, {}, content_type="application/json", HTTP_X_CSRFTOKEN=CSRF_TOKEN)


def test_anonymous_readers_are_refused_in_json_while_the_site_is_private(db, client):
    response = client.get(LIST)
    # 401 with the token scheme's challenge (api.authentication): log in, or send a token.
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "log in" in response.json()["detail"]


def test_anonymous_readers_read_while_the_site_is_public(db, client, settings):
    settings.TRACKER_PUBLIC_SITE = True
    assert client.get(LIST).status_code == 200


def test_a_contributor_reads(db):
    assert session(ContributorFactory()).get(LIST).status_code == 200


@pytest.mark.parametrize("public_site", [True, False])
def test_an_anonymous_write_is_refused(db, settings, public_site):
    settings.TRACKER_PUBLIC_SITE = public_site
    response = post(session())
    assert response.status_code == 401
    assert "Nothing was" in response.json()["detail"]


def test_a_liaisons_write_is_refused_before_anything_else(liaison):
    response = post(session(liaison))
    assert response.status_code == 403
    assert "Only the secretariat changes the record" in response.json()["detail"]


def test_the_secretariat_is_told_the_reads_take_no_writes(secretariat):
    for url in (LIST, reverse("api:update_list"), reverse("api:theme_list")):
        assert post(session(secretariat), url).status_code == 405


def test_a_session_write_without_its_csrf_token_says_what_to_send(secretariat):
    client = session(secretariat)
    response = client.post(LIST, {}, content_type="application/json")
    assert response.status_code == 403
    assert "X-CSRFToken" in response.json()["detail"]


def test_the_schema_and_its_page_are_open_while_the_site_is_private(db, client):
    assert client.get(reverse("api:schema")).status_code == 200
    assert client.get(reverse("api:docs")).status_code == 200


def test_the_docs_page_runs_only_the_sites_own_scripts(db, client):
    response = client.get(reverse("api:docs"))
    page = response.content.decode()
    assert policy(response)["script-src"] == "'self'"
    assert "<script>" not in page and "<style>" not in page  # inline code the CSP refuses
    assert "//cdn" not in page and "https://" not in page
    script = client.get(reverse("api:docs") + "?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def policy(response) -> dict[str, str]:
    """The Content-Security-Policy as {directive: sources}: django-csp writes its directives in
    no fixed order once a view updates one, so the header is compared directive by directive."""
    return dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )


def img_src(response) -> str:
    return policy(response)["img-src"]


def test_only_the_docs_page_may_draw_data_images(db, client):
    """Swagger UI's icons are data: SVG images: allowed on its page, nowhere else."""
    docs = client.get(reverse("api:docs"))
    assert img_src(docs) == "'self' data:"
    site = policy(client.get(reverse("login")))
    widened = {name for name, sources in policy(docs).items() if site.get(name) != sources}
    assert widened == {"img-src"}  # nothing else widened
    for other in (reverse("api:schema"), reverse("login"), reverse("api:document_list")):
        assert img_src(client.get(other)) == "'self'", other


def test_the_docs_page_is_never_answered_304_with_the_strict_policy(db, client):
    """ConditionalGetMiddleware's 304 would carry the site's policy, not the page's: the page
    is not cached, so there is nothing to revalidate."""
    docs = client.get(reverse("api:docs"))
    assert "no-store" in docs["Cache-Control"] and not docs.has_header("ETag")
    again = client.get(reverse("api:docs"), headers={"if-none-match": "*"})
    assert again.status_code == 200 and img_src(again) == "'self' data:"
