from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tracker.language import language_switch
from tracker.views import TrackerLoginView

urlpatterns = [
    path("login/", TrackerLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The language switch in the header, on the login page too; kept on a logged-in account.
    path("i18n/setlang/", language_switch, name="set_language"),
    path("admin/", admin.site.urls),
    # The JSON API (the api app, docs/api.md).
    path("api/v1/", include("api.urls")),
    path("", include("commitments.urls")),
    path("", include("tracker.urls")),
]
