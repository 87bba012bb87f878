from django.urls import path

from . import document_views, report_views, views

app_name = "commitments"
urlpatterns = [
    path("commitments/", views.commitment_list, name="commitment_list"),
    path("commitments/<slug:slug>/", views.commitment_detail, name="commitment_detail"),
    path("documents/", document_views.document_list, name="document_list"),
    # Before documents/<short_name>/, which would read "import" as a document's short name.
    path("documents/import/", document_views.document_import, name="document_import"),
    path(
        "documents/import/apply/",
        document_views.document_import_apply_view,
        name="document_import_apply",
    ),
    path("documents/<slug:short_name>/", views.document_detail, name="document_detail"),
    path("documents/<slug:short_name>/edit/", document_views.document_edit, name="document_edit"),
    path(
        "documents/<slug:short_name>/links/",
        document_views.document_link_create,
        name="document_link_create",
    ),
    path(
        "documents/<slug:short_name>/links/<int:pk>/delete/",
        document_views.document_link_delete,
        name="document_link_delete",
    ),
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
