"""factory_boy factories for the tracker's models; tests build only the rows they need."""

import datetime

import factory
from django.utils.text import slugify

from commitments.models import (
    Actor,
    Commitment,
    Document,
    EvidenceLink,
    Paragraph,
    StatusUpdate,
    Theme,
)
from commitments.statuses import Status
from core.roles import Role
from tracker.models import Event, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")
    role = Role.LIAISON


class SecretariatFactory(UserFactory):
    role = Role.SECRETARIAT


class ActorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Actor

    name = factory.Sequence(lambda n: f"State {n}")
    slug = factory.LazyAttribute(lambda a: slugify(a.name))
    kind = Actor.Kind.MEMBER_STATE


class LiaisonFactory(UserFactory):
    role = Role.LIAISON
    actor = factory.SubFactory(ActorFactory)


class ContributorFactory(UserFactory):
    """Someone of an organisation outside the secretariat who reports (core.roles)."""

    role = Role.CONTRIBUTOR
    actor = factory.SubFactory(ActorFactory, kind=Actor.Kind.ORGANISATION)


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    short_name = factory.Sequence(lambda n: f"document-{n}")
    title = factory.Sequence(lambda n: f"Final document {n}")
    place = "Ashgabat"
    adopted_on = datetime.date(2020, 12, 12)


class ParagraphFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Paragraph

    document = factory.SubFactory(DocumentFactory)
    number = factory.Sequence(lambda n: n + 1)
    operative_verb = "Encouraged"
    text = factory.LazyAttribute(lambda p: f"{p.operative_verb} the states to act ({p.number});")


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Theme

    name = factory.Sequence(lambda n: f"Theme {n}")
    slug = factory.LazyAttribute(lambda t: slugify(t.name))


class CommitmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Commitment
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Commitment {n}")
    slug = factory.LazyAttribute(lambda c: slugify(c.title))
    summary = "What the paragraph asks for."
    owner = factory.SubFactory(SecretariatFactory)

    @factory.post_generation
    def paragraphs(self, create, extracted, **kwargs):
        if not create:
            return
        self.paragraphs.set(extracted if extracted is not None else [ParagraphFactory()])

    @factory.post_generation
    def lead_actors(self, create, extracted, **kwargs):
        if create and extracted:
            self.lead_actors.set(extracted)


class StatusUpdateFactory(factory.django.DjangoModelFactory):
    """A raw history row; tests of behaviour post updates through commitments.services instead."""

    class Meta:
        model = StatusUpdate

    commitment = factory.SubFactory(CommitmentFactory)
    author = factory.SubFactory(SecretariatFactory)
    happened_on = datetime.date(2021, 4, 16)
    status = Status.IN_PROGRESS
    progress = 50
    narrative = "Progress reported."


class EvidenceLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvidenceLink

    update = factory.SubFactory(StatusUpdateFactory)
    title = "Source"
    url = "https://example.org/source"


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Event {n}")
    slug = factory.LazyAttribute(lambda e: slugify(e.title))
    kind = Event.Kind.INTERNATIONAL_DAY
    rule = Event.Rule.YEARLY
    start_date = datetime.date(2017, 12, 12)

    @factory.post_generation
    def commitments(self, create, extracted, **kwargs):
        if create and extracted:
            self.commitments.set(extracted)

    @factory.post_generation
    def paragraphs(self, create, extracted, **kwargs):
        if create and extracted:
            self.paragraphs.set(extracted)


def post_status_update(commitment, author, **fields):
    """A status update posted as the secretariat does (commitments.services), with defaults for
    whatever the test does not care about."""
    from commitments.services import status_update_create

    defaults = {
        "status": Status.IN_PROGRESS,
        "progress": 40,
        "narrative": "Draft resolution circulated.",
        "progress_reason": "The draft is out: 40 % of the way.",
        "happened_on": datetime.date(2021, 3, 1),
    }
    return status_update_create(commitment=commitment, author=author, **defaults | fields)


def two_factor_app(user, *, key: str = "3132333435363738393031323334353637383930"):
    """A confirmed authenticator app for `user` (the RFC 6238 test key by default)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, key=key, name="Authenticator app")
    user.two_factor_enabled = True
    return device


def two_factor_session_verified(client, user) -> None:
    """Mark the client's session as having entered its code, as the code step does; first give
    an app to a person whose role requires one and who has none."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tracker.two_factor import two_factor_required_for

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None and two_factor_required_for(user):
        device = two_factor_app(user)
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
