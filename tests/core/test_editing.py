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
