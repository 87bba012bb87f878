"""Celery tasks of the record: thin wrappers over commitments.services that take ids."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(ignore_result=True)
def apply_bulk_imports() -> int:
    """Beat runs this every BULK_IMPORT_POLL_SECONDS: apply the imports the secretariat
    queued (and any whose run a lost worker left), row by row."""
    claimed = services.bulk_imports_claim(now=timezone.now())
    for pk in claimed:
        services.bulk_import_apply(bulk_import_id=pk)
    return len(claimed)
