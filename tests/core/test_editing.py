"""core.editing: the secretariat-only gate and the version every edit form carries."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from commitments.models import Commitment
from core.editing import StaleVersion, changed_fields, secretariat_only, version_claim
from tests.factories import CommitmentFactory, LiaisonFactory, SecretariatFactory

pytestmark = pytest.mark.django_db


@secretariat_only
def _page(request):
    return HttpResponse("curating")


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_liaison_is_refused_every_method(method):
    request = getattr(RequestFactory(), method)("/")
    request.user = LiaisonFactory()
    with pytest.raises(PermissionDenied):
        _page(request)


def test_the_secretariat_reaches_the_page():
    request = RequestFactory().get("/")
    request.user = SecretariatFactory()
    assert _page(request).content == b"curating"


def test_a_claim_at_the_current_version_raises_it_by_one():
    commitment = CommitmentFactory()
    version_claim(instance=commitment, expected_version=commitment.version)
    assert commitment.version == 2
    assert Commitment.objects.get(pk=commitment.pk).version == 2


def test_a_claim_at_an_older_version_is_refused_and_reloads_the_row():
    commitment = CommitmentFactory()
    Commitment.objects.filter(pk=commitment.pk).update(version=5, title="Changed meanwhile")
    with pytest.raises(StaleVersion) as refused:
        version_claim(instance=commitment, expected_version=1)
    assert refused.value.instance.title == "Changed meanwhile"
    assert Commitment.objects.get(pk=commitment.pk).version == 5


def test_changed_fields_lists_only_what_differs_from_the_input():
    from django import forms

    class TitleForm(forms.Form):
        title = forms.CharField(label="Title")
        summary = forms.CharField(label="Summary", required=False)
        version = forms.IntegerField()

    commitment = CommitmentFactory(title="Saved title", summary="Same")
    form = TitleForm({"title": "My title", "summary": "Same", "version": 1})
    assert form.is_valid()
    assert changed_fields(form=form, instance=commitment) == [("Title", "Saved title", "My title")]


@pytest.mark.parametrize("model_name", ["actor", "theme"])
def test_a_save_in_the_admin_raises_the_version(admin_client, model_name):
    """An app form opened before the superuser's repair is then refused, not overwritten."""
    from django.urls import reverse

    from tests.factories import ActorFactory, ThemeFactory

    row = {"actor": ActorFactory, "theme": ThemeFactory}[model_name](name="Renamed")
    data = {"name": "Renamed in the admin", "slug": row.slug}
    if model_name == "actor":
        data |= {"kind": row.kind, "iso_code": ""}
    url = reverse(f"admin:commitments_{model_name}_change", args=[row.pk])
    assert admin_client.post(url, data).status_code == 302
    row.refresh_from_db()
    assert (row.name, row.version) == ("Renamed in the admin", 2)


@pytest.mark.parametrize("model_name", ["document", "actor", "theme", "event"])
def test_every_versioned_model_admin_raises_the_version_on_a_change(rf, model_name):
    from django.contrib import admin

    from core.editing import VersionedModelAdmin
    from tests.factories import ActorFactory, DocumentFactory, EventFactory, ThemeFactory

    factories = {
        "document": DocumentFactory,
        "actor": ActorFactory,
        "theme": ThemeFactory,
        "event": EventFactory,
    }
    row = factories[model_name]()
    model_admin = admin.site._registry[type(row)]
    assert isinstance(model_admin, VersionedModelAdmin)
    model_admin.save_model(rf.post("/"), row, None, True)
    row.refresh_from_db()
    assert row.version == 2
    assert "version" in model_admin.get_readonly_fields(rf.get("/"), row)
