from django.urls import path

from . import (
    actor_views,
    amendment_views,
    bulk_import_views,
    commitment_edit_views,
    document_views,
    feeds,
    milestone_views,
    report_views,
    submission_views,
    views,
)

app_name = "commitments"
urlpatterns = [
    path("commitments/", views.commitment_list, name="commitment_list"),
    # Before the commitment's page: "new" is no commitment's slug (services.RESERVED_SLUGS).
    path("commitments/new/", commitment_edit_views.commitment_create, name="commitment_create"),
    # Bulk import, before the commitment's page too: "import" is no commitment's slug either.
    path("commitments/import/", bulk_import_views.bulk_import_upload, name="bulk_import"),
    path(
        "commitments/import/<int:pk>/",
        bulk_import_views.bulk_import_detail,
        name="bulk_import_detail",
    ),
    path(
        "commitments/import/<int:pk>/apply/",
        bulk_import_views.bulk_import_apply,
        name="bulk_import_apply",
    ),
    path(
        "commitments/import/<int:pk>/status/",
        bulk_import_views.bulk_import_status,
        name="bulk_import_status",
    ),
    path(
        "commitments/import/<int:pk>/report.csv",
        bulk_import_views.bulk_import_report,
        name="bulk_import_report",
    ),
    # What a type-ahead filter of the table suggests (views.filter_choices).
    path("commitments/filter-choices/<str:name>/", views.filter_choices, name="filter_choices"),
    path("commitments/<slug:slug>/", views.commitment_detail, name="commitment_detail"),
    # Atom feeds of the public record's changes (commitments.feeds, docs/feeds.md).
    path("feeds/changes.atom", feeds.changes_feed, name="changes_feed"),
    path(
        "commitments/<slug:slug>/changes.atom",
        feeds.commitment_changes_feed,
        name="commitment_changes_feed",
    ),
    path("actors/<slug:slug>/changes.atom", feeds.actor_changes_feed, name="actor_changes_feed"),
    path(
        "commitments/<slug:slug>/updates/<int:pk>/correct/",
        amendment_views.status_update_correct,
        name="status_update_correct",
    ),
    path(
        "commitments/<slug:slug>/updates/<int:pk>/withdraw/",
        amendment_views.status_update_withdraw,
        name="status_update_withdraw",
    ),
    path(
        "commitments/<slug:slug>/edit/",
        commitment_edit_views.commitment_edit,
        name="commitment_edit",
    ),
    path(
        "commitments/<slug:slug>/retire/",
        commitment_edit_views.commitment_retire,
        name="commitment_retire",
    ),
    path(
        "commitments/<slug:slug>/relations/",
        commitment_edit_views.commitment_relation_add,
        name="commitment_relation_add",
    ),
    path(
        "commitments/<slug:slug>/relations/<int:pk>/remove/",
        commitment_edit_views.commitment_relation_remove,
        name="commitment_relation_remove",
    ),
    path("documents/", document_views.document_list, name="document_list"),
    # Before documents/<short_name>/, which would read "import" as a document's short name.
    path("documents/import/", document_views.document_import, name="document_import"),
    path(
        "documents/import/apply/",
        document_views.document_import_apply_view,
        name="document_import_apply",
    ),
    path(
        "commitments/<slug:slug>/milestones/add/",
        milestone_views.milestone_add,
        name="milestone_add",
    ),
    path("milestones/<int:pk>/edit/", milestone_views.milestone_edit, name="milestone_edit"),
    path("milestones/<int:pk>/done/", milestone_views.milestone_done, name="milestone_done"),
    path(
        "milestones/<int:pk>/not-done/",
        milestone_views.milestone_not_done,
        name="milestone_not_done",
    ),
    path("milestones/<int:pk>/move/", milestone_views.milestone_move, name="milestone_move"),
    path("milestones/<int:pk>/delete/", milestone_views.milestone_delete, name="milestone_delete"),
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
    # Before the actor pages: "new" is never an actor's slug (services.RESERVED_SLUGS).
    path("actors/new/", actor_views.actor_new, name="actor_new"),
    path("actors/<slug:slug>/edit/", actor_views.actor_edit, name="actor_edit"),
    path("actors/<slug:slug>/merge/", actor_views.actor_merge, name="actor_merge"),
    path("themes/", actor_views.theme_list, name="theme_list"),
    path("themes/new/", actor_views.theme_new, name="theme_new"),
    path("themes/<slug:slug>/edit/", actor_views.theme_edit, name="theme_edit"),
    path("actors/<slug:slug>/", views.actor_detail, name="actor_detail"),
    path("evidence/<int:pk>/", views.evidence_file_download, name="evidence_file"),
    # Reports from states and contributors (commitments.submissions).
    path(
        "commitments/<slug:slug>/report-progress/",
        submission_views.report_create,
        name="report_create",
    ),
    path("reports/", submission_views.report_mine, name="report_mine"),
    path("reports/review/", submission_views.report_queue, name="report_queue"),
    path("reports/<int:pk>/", submission_views.report_detail, name="report_detail"),
    path("reports/<int:pk>/edit/", submission_views.report_edit, name="report_edit"),
    path("reports/<int:pk>/submit/", submission_views.report_submit, name="report_submit"),
    path("reports/<int:pk>/comment/", submission_views.report_comment, name="report_comment"),
    path("reports/<int:pk>/publish/", submission_views.report_publish, name="report_publish"),
    path("reports/<int:pk>/return/", submission_views.report_return, name="report_return"),
    path("reports/files/<int:pk>/", submission_views.report_file, name="report_file"),
]
