from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import ngettext

from core.editing import VersionedModelAdmin
from core.roles import user_can_own_commitments

from .models import Event, User


@admin.register(User)
class TrackerUserAdmin(UserAdmin):
    list_display = ["username", "email", "role", "actor", "is_active"]
    list_filter = ["role", "is_active", "is_superuser"]
    fieldsets = UserAdmin.fieldsets + (
        ("Tracker", {"fields": ["role", "actor", "time_zone", "language"]}),
    )
    add_fieldsets = UserAdmin.add_fieldsets + (
        ("Tracker", {"fields": ["role", "actor", "time_zone", "language"]}),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The ownership stays (reassigning is a decision); what stops is the owner reminders.
        owned = obj.owned_commitments.count()
        if owned and not user_can_own_commitments(obj):
            messages.warning(request, owner_demoted_message(obj, owned))


def owner_demoted_message(user, owned: int) -> str:
    return ngettext(
        "%(name)s still owns %(count)d commitment but is no longer active secretariat staff: "
        "they get no owner reminders for it until it is given a secretariat owner.",
        "%(name)s still owns %(count)d commitments but is no longer active secretariat staff: "
        "they get no owner reminders for them until they are given a secretariat owner.",
        owned,
    ) % {"name": user.get_username(), "count": owned}


@admin.register(Event)
class EventAdmin(VersionedModelAdmin):
    list_display = ["title", "kind", "rule", "start_date", "interval_years", "is_public"]
    list_filter = ["kind", "rule", "is_public"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["commitments", "paragraphs"]
    # Deadline events follow their commitment's target date (tracker.events); edit that instead.
    readonly_fields = ["deadline_of"]
