import pytest
from django.core.exceptions import ValidationError

from tests.factories import UserFactory


def test_a_time_zone_that_does_not_exist_is_refused_with_what_to_use(db):
    # Geneva keeps Zurich's clock; "Europe/Geneva" is not in the IANA database.
    user = UserFactory.build(time_zone="Europe/Geneva")

    with pytest.raises(ValidationError) as refused:
        user.full_clean()

    assert "use an IANA name" in str(refused.value.message_dict["time_zone"])


def test_an_iana_time_zone_is_accepted(db):
    UserFactory.build(time_zone="Europe/Zurich", password="long enough").full_clean()
