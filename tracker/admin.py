from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

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


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "rule", "start_date", "interval_years", "is_public"]
    list_filter = ["kind", "rule", "is_public"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["commitments", "paragraphs"]
    # Deadline events follow their commitment's target date (tracker.events); edit that instead.
    readonly_fields = ["deadline_of"]
