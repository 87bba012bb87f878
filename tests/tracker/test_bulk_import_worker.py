"""A bulk import applied by a real Celery worker (bin/worker, another process), as beat's
apply_bulk_imports would have it: beside the reminder tests, whose worker fixtures it uses."""

import csv
import datetime
import io

from commitments import services
from commitments.models import BulkImport, Commitment
from commitments.tasks import apply_bulk_imports
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory, SecretariatFactory
from tests.reminder_helpers import wait_until

HEADER = ["ID", "Title", "Document", "Paragraphs", "Status", "Progress", "Update narrative"]


def test_a_worker_applies_a_queued_import(start_worker):
    officer = SecretariatFactory()
    document = DocumentFactory(short_name="ashgabat-2020")
    paragraph = ParagraphFactory(document=document, number=4)
    forum = CommitmentFactory(title="Forum", slug="forum", paragraphs=[paragraph])
    out = io.StringIO()
    csv.writer(out).writerows([
        HEADER,
        ["forum", "Forum", "ashgabat-2020", "4", "In progress", "20", "Venue chosen."],
        ["", "Research centre", "ashgabat-2020", "4", "Not started", "0", ""],
    ])  # fmt: skip
    bulk_import = services.bulk_import_create(
        author=officer, name="c.csv", content=out.getvalue().encode(), today=datetime.date.today()
    )
    services.bulk_import_queue(bulk_import=bulk_import, user=officer)
    worker = start_worker()

    apply_bulk_imports.delay()  # what beat sends every BULK_IMPORT_POLL_SECONDS

    done = BulkImport.objects.filter(pk=bulk_import.pk, state=BulkImport.State.DONE)
    wait_until(done.exists, what="the import applied", worker=worker)
    forum.refresh_from_db()
    assert (forum.status, forum.progress) == ("in_progress", 20)
    assert Commitment.objects.filter(title="Research centre").exists()
    assert done.get().rows_done == 2
