from django.contrib.auth import views as auth_views
from django.urls import path

from . import (
    account_views,
    event_edit_views,
    event_views,
    notification_views,
    open_data_views,
    profile_views,
    public_views,
    reminder_views,
    two_factor_views,
    views,
)

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("events/", event_views.event_list, name="event_list"),
    path("events/<int:year>/<int:month>/", event_views.event_month, name="event_month"),
    # Before the event pages: "new" is never an event's slug (tracker.events.RESERVED_SLUGS).
    path("events/new/", event_edit_views.event_new, name="event_new"),
    path("events/<slug:slug>/edit/", event_edit_views.event_edit, name="event_edit"),
    path("events/<slug:slug>/", event_views.event_detail, name="event_detail"),
    path("calendar/", event_views.calendar_feeds, name="calendar_feeds"),
    # The open-data bundle: its page, and the published zips by their dated names only.
    path("open-data/", open_data_views.open_data, name="open_data"),
    path("open-data/<str:name>", open_data_views.open_data_download, name="open_data_download"),
    path("calendar.ics", event_views.calendar_public_feed, name="calendar_public_feed"),
    # The public site's robots.txt and sitemap (tracker.public_views): open to crawlers.
    path("robots.txt", public_views.robots_txt, name="robots_txt"),
    path("sitemap.xml", public_views.public_sitemap, name="sitemap"),
    path("favicon.ico", public_views.favicon, name="favicon"),
    # Tokens are token_urlsafe, i.e. slugs: anything else, such as a NUL byte that PostgreSQL
    # would refuse with an error, is a 404 before it reaches the database.
    path(
        "calendar/<slug:token>.ics",
        event_views.calendar_personal_feed,
        name="calendar_personal_feed",
    ),
    # Two-factor authentication (tracker.two_factor): one's own set-up, the code step after the
    # password, a manager's reset of another person's.
    path("profile/two-factor/", two_factor_views.two_factor, name="two_factor"),
    path("login/code/", two_factor_views.two_factor_verify, name="two_factor_verify"),
    path(
        "accounts/<int:pk>/two-factor/reset/",
        two_factor_views.two_factor_reset,
        name="two_factor_reset",
    ),
    path("notifications/", notification_views.notification_list, name="notification_list"),
    path("follow/<str:kind>/<str:key>/", notification_views.follow_toggle, name="follow_toggle"),
    path("reminders/", reminder_views.reminder_settings, name="reminder_settings"),
    path("reminders/log/", reminder_views.reminder_log, name="reminder_log"),
    path("reminders/<int:pk>/resend/", reminder_views.reminder_resend, name="reminder_resend"),
    path(
        "reminders/unsubscribe/<str:token>/",
        reminder_views.reminder_unsubscribe,
        name="reminder_unsubscribe",
    ),
    # Accounts: the managers' pages, and the invited person's link (no login: the link is it).
    path("accounts/", account_views.account_list, name="account_list"),
    path("accounts/invite/", account_views.account_invite, name="account_invite"),
    path("accounts/<int:pk>/", account_views.account_edit, name="account_edit"),
    path("invitation/<str:token>/", account_views.invitation_accept, name="invitation_accept"),
    # Each person's own account.
    path("profile/", profile_views.profile, name="profile"),
    path("profile/email/", profile_views.profile_email, name="profile_email"),
    path("profile/api-tokens/", profile_views.api_token_create, name="api_token_create"),
    path(
        "profile/api-tokens/<int:pk>/revoke/",
        profile_views.api_token_revoke,
        name="api_token_revoke",
    ),
    path(
        "profile/email/<str:token>/",
        profile_views.profile_email_confirm,
        name="profile_email_confirm",
    ),
    path(
        "profile/password/",
        profile_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    # Django's password reset, by email; its pages need no login.
    path("password-reset/", profile_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        profile_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
