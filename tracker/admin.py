from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User


@admin.register(User)
class TrackerUserAdmin(UserAdmin):
    list_display = ["username", "email", "role", "actor", "is_active"]
    list_filter = ["role", "is_active", "is_superuser"]
    fieldsets = UserAdmin.fieldsets + (("Tracker", {"fields": ["role", "actor", "time_zone"]}),)
    add_fieldsets = UserAdmin.add_fieldsets + (
        ("Tracker", {"fields": ["role", "actor", "time_zone"]}),
    )
