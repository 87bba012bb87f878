from django.urls import path

from . import reminder_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("events/<slug:slug>/", views.event_detail, name="event_detail"),
    path("reminders/", reminder_views.reminder_settings, name="reminder_settings"),
    path("reminders/log/", reminder_views.reminder_log, name="reminder_log"),
    path("reminders/<int:pk>/resend/", reminder_views.reminder_resend, name="reminder_resend"),
    path(
        "reminders/unsubscribe/<str:token>/",
        reminder_views.reminder_unsubscribe,
        name="reminder_unsubscribe",
    ),
]
