from django.urls import path

from . import views

app_name = "commitments"
urlpatterns = [
    path("commitments/", views.commitment_list, name="commitment_list"),
    path("commitments/<slug:slug>/", views.commitment_detail, name="commitment_detail"),
    path("documents/<slug:short_name>/", views.document_detail, name="document_detail"),
    path("actors/<slug:slug>/", views.actor_detail, name="actor_detail"),
]
