"""The secretariat's bulk import in a real browser (issue 15's "Done means"): export the table
as CSV, change three rows and add one in the file, import it, read the dry run, apply it, see
the progress bar finish and the changes on the pages. Its pages pass axe and fit a phone."""

import csv
import io

import pytest

from commitments.models import BulkImport, Commitment, Theme
from commitments.tasks import apply_bulk_imports
from tests.browser.conftest import axe_violations, log_in, screenshot
from tests.browser.test_curating import PHONE, fits_a_phone

pytestmark = pytest.mark.browser

NEW_TITLE = "Central Asian network of neutrality research institutes"
RENAMED = "Annual forum on neutrality, renamed by a bulk import"


def edited_export(text: str) -> tuple[bytes, dict]:
    """The export with three rows changed (a title, a status with its update, a theme) and one
    row added; and what was changed, by ID."""
    rows = list(csv.DictReader(io.StringIO(text)))
    # The demo's commitments all have milestones: the status changes, the progress they
    # compute stays as exported.
    free = [row for row in rows if row["Status"] != "Stalled"]
    renamed, stalled, themed = free[:3]
    renamed["Title"] = RENAMED
    stalled.update({"Status": "Stalled", "Update narrative": "Talks paused by a bulk import."})
    theme = Theme.objects.exclude(name__in=themed["Themes"].split("; ")).first().name
    themed["Themes"] = "; ".join(filter(None, [themed["Themes"], theme]))
    new = dict.fromkeys(rows[0], "") | {
        "Title": NEW_TITLE,
        "Document": renamed["Document"],
        "Paragraphs": renamed["Paragraphs"].split(",")[0],
        "Status": "Not started",
        "Progress": "0",
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows([*rows, new])
    changed = {"renamed": renamed["ID"], "stalled": stalled["ID"], "themed": (themed["ID"], theme)}
    return out.getvalue().encode(), changed


def test_an_officer_exports_edits_imports_and_applies(page, tmp_path):
    log_in(page, "secretariat")
    page.goto("/commitments/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download these as CSV").click()
    exported = tmp_path / "commitments.csv"
    download_info.value.save_as(exported)
    content, changed = edited_export(exported.read_text(encoding="utf-8"))
    edited = tmp_path / "edited.csv"
    edited.write_bytes(content)

    page.get_by_role("link", name="Bulk import from a spreadsheet").click()
    page.get_by_label("File").set_input_files(str(edited))
    page.get_by_role("button", name="Dry run").click()

    counts = page.locator("ul.bulk-import-counts").inner_text()
    assert "Created: 1" in counts and "Changed: 3" in counts and "Refused: 0" in counts
    assert page.locator("ins", has_text=RENAMED).is_visible()
    assert page.get_by_text("Adds a status update (Visible to liaisons):").count() == 1
    assert axe_violations(page) == []
    assert fits_a_phone(page)
    screenshot(page, "bulk-import-dry-run")
    assert not Commitment.objects.filter(title=RENAMED).exists()  # nothing written yet

    page.get_by_role("button", name="Apply this import").click()
    # Queued: one state, the wait; the bar shows once a worker applies it.
    assert page.get_by_text("Waiting for a worker…").is_visible()
    assert not page.locator("progress#import-progress").is_visible()
    # A worker takes it: the script swaps the wait for the bar (then the run is left queued
    # again for the task below to claim).
    BulkImport.objects.update(state=BulkImport.State.APPLYING)
    page.locator("progress#import-progress").wait_for(state="visible")
    assert not page.get_by_text("Waiting for a worker…").is_visible()
    BulkImport.objects.update(state=BulkImport.State.QUEUED)
    apply_bulk_imports()  # what beat's next run does in the worker
    page.get_by_role("heading", name="Result").wait_for()  # the script saw it finish

    assert "Created: 1" in page.locator("ul.bulk-import-counts").inner_text()
    assert page.locator("progress#import-progress").count() == 0
    screenshot(page, "bulk-import-result")
    page.goto(f"/commitments/{changed['renamed']}/")
    assert page.locator("h1").inner_text().startswith(RENAMED)
    page.goto(f"/commitments/{changed['stalled']}/")
    assert page.get_by_text("Talks paused by a bulk import.").first.is_visible()
    slug, theme = changed["themed"]
    assert Commitment.objects.get(slug=slug).themes.filter(name=theme).exists()
    page.goto("/commitments/?q=network")
    assert page.locator("table.commitments tbody tr", has_text=NEW_TITLE).count() == 1


def test_on_a_phone_each_row_is_a_card_with_its_reason_in_view(page, tmp_path):
    """At 390 px the dry run's rows are cards: the refusal reason (the table's last column)
    is on screen without scrolling sideways."""
    first, second = Commitment.objects.select_related().prefetch_related("paragraphs__document")[:2]
    header = ["ID", "Title", "Document", "Paragraphs", "Status", "Progress"]
    rows = [header]
    for commitment, status in ((first, "Finished"), (second, "Not started")):
        paragraphs = list(commitment.paragraphs.all())
        rows.append([commitment.slug, f"{commitment.title}, renamed",
                     paragraphs[0].document.short_name,
                     ", ".join(str(p.number) for p in paragraphs), status,
                     str(commitment.progress)])  # fmt: skip
    edited = tmp_path / "edited.csv"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    edited.write_text(out.getvalue(), encoding="utf-8")
    log_in(page, "secretariat")
    page.set_viewport_size(PHONE)
    page.goto("/commitments/import/")
    page.get_by_label("File").set_input_files(str(edited))
    page.get_by_role("button", name="Dry run").click()

    reason = page.locator(".bulk-import-rows .errorlist", has_text="“Finished” is not a status")
    box = reason.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    table = page.locator(".table-scroll:has(.bulk-import-rows)")
    assert table.evaluate("box => box.scrollWidth <= box.clientWidth")
    assert axe_violations(page) == []
    screenshot(page, "bulk-import-dry-run-phone")
