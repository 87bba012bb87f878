from django.urls import path

from . import milestone_views, report_views, views

app_name = "commitments"
urlpatterns = [
    path("commitments/", views.commitment_list, name="commitment_list"),
    path("commitments/<slug:slug>/", views.commitment_detail, name="commitment_detail"),
    path(
        "commitments/<slug:slug>/milestones/add/",
        milestone_views.milestone_add,
        name="milestone_add",
    ),
    path("milestones/<int:pk>/edit/", milestone_views.milestone_edit, name="milestone_edit"),
    path("milestones/<int:pk>/done/", milestone_views.milestone_done, name="milestone_done"),
    path("milestones/<int:pk>/move/", milestone_views.milestone_move, name="milestone_move"),
    path("milestones/<int:pk>/delete/", milestone_views.milestone_delete, name="milestone_delete"),
    path("documents/<slug:short_name>/", views.document_detail, name="document_detail"),
    path(
        "documents/<slug:short_name>/report/",
        report_views.document_report,
        name="document_report",
    ),
    path(
        "documents/<slug:short_name>/report.pdf",
        report_views.document_report_pdf,
        name="document_report_pdf",
    ),
    path("actors/", views.actor_list, name="actor_list"),
    path("actors/<slug:slug>/", views.actor_detail, name="actor_detail"),
    path("evidence/<int:pk>/", views.evidence_file_download, name="evidence_file"),
]
