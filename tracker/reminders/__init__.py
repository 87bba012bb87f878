"""Reminders: who follows what, planning rows, claiming the due ones, sending each exactly once.

A package of its stages, each module owning one (its opening comment says what), in the
order they may import each other (tests/test_layers.py checks it): following (who follows
what, what a reader may see now), planning (which rows, due when), marks (the row moves that
make each send happen once), claiming (the due rows, a batch at a time, and dispatch), chunk
(what one chunk's readers share), unsubscribe (signed links), messages (the email a reminder
becomes), sending (a chunk over one SMTP connection). A module imports only those before it.

The delivery policy (stated in full once, in docs/reminders.md, "Delivery"), in short:

The database decides what is due (healthchecks' `sendalerts` idea). Every minute the dispatcher
(tracker.tasks.dispatch_reminders) does three short steps, each safe to run twice at once:

1. requeue rows a dead worker left in `claimed`/`sending`: as soon as the worker process that
   held them stopped beating its heartbeat (tracker.workers), else after the claim timeout;
2. plan: insert the rows due up to REMINDER_HORIZON_DAYS ahead, from the event rather than from
   a window: every reminder of an occurrence still ahead, however long ago it fell due, and
   back to REMINDER_CATCHUP_DAYS those an outage made useless, to be skipped with a reason
   (`bulk_create(ignore_conflicts=True)`; the unique constraints on Reminder drop repeats);
3. claim the due `pending` rows a batch at a time, skipping with a reason those no longer
   useful, and hand the claimed ids to send tasks in chunks; it keeps claiming until nothing is
   due or REMINDER_DISPATCH_SECONDS have passed, and the next run goes on from there, or until
   a batch's worth of claimed rows wait for a worker: then a claim task queued behind them
   goes on once the workers get there (reminders_claim).

A send task sends its chunk over one SMTP connection. It moves each row `claimed` -> `sending`
with a conditional UPDATE (so two messages for one row send once), calls SMTP, then marks it
`sent`, one row after the other; a group still sending after half the claim timeout puts its
unsent rows back rather than race the requeue. The only message that can go out twice is one
whose SMTP call was in flight when its worker died: its row stays `sending`, is requeued once
the worker's heartbeat is stale and sent again; the rest of the chunk goes out once. A lost
database connection (a PostgreSQL restart or crash) is ridden through by the marks
(marks._on_lost_connection), which also make again those a crash may have lost, so a restart
resends nothing. Every reminder is checked against what its reader may see now, just before
its SMTP call (following.reminders_unseen).

An event's email is rendered once per chunk for all its readers in one language, with each
reader's own parts (name, time in their zone, signed links) filled in afterwards.
"""

from tracker.models import Reminder

from .claiming import (
    LATER_REASONS,
    SKIP_REASONS,
    SUPERSEDED_REASON,
    reminders_claim,
    reminders_claim_due,
    reminders_dispatch,
    reminders_requeue_stuck,
    skip_reason_text,
)
from .following import (
    UNSEEN_DIGEST,
    UNSEEN_EVENT,
    UNSEEN_INACTIVE,
    UNSEEN_NOT_OWNER,
    UNSEEN_NOT_SECRETARIAT,
    event_follow_set,
    event_followed_by,
    event_follower_ids,
    events_followed_by,
    follows_state,
    preferences_of,
    reminder_preference_update,
    reminder_settings_update,
    reminders_unseen,
    single_email_reader,
    state_follow_set,
)
from .messages import (
    PARTS,
    ReminderEmail,
    digest_contents,
    occurrence_dates_text,
    occurrence_reader_day,
    reminder_message,
)
from .planning import (
    DIGEST_DAYS_AHEAD,
    commitment_late_from,
    commitment_quiet_base,
    local_due_at,
    occurrence_passed_at,
    occurrence_starts_at,
    reminders_plan,
    stale_due_days,
)
from .sending import (
    RemindersNotSent,
    reminder_resend,
    reminders_mark_failed,
    reminders_send,
)
from .unsubscribe import (
    UNSUBSCRIBE_SALT,
    UNSUBSCRIBE_SCOPES,
    UnsubscribeRequest,
    reminders_unsubscribe,
    site_url,
    unsubscribe_request_from_token,
    unsubscribe_token,
    unsubscribe_url,
)

State = Reminder.State
Kind = Reminder.Kind

__all__ = [
    "DIGEST_DAYS_AHEAD",
    "Kind",
    "LATER_REASONS",
    "PARTS",
    "ReminderEmail",
    "RemindersNotSent",
    "SKIP_REASONS",
    "SUPERSEDED_REASON",
    "State",
    "UNSEEN_DIGEST",
    "UNSEEN_EVENT",
    "UNSEEN_INACTIVE",
    "UNSEEN_NOT_OWNER",
    "UNSEEN_NOT_SECRETARIAT",
    "UNSUBSCRIBE_SALT",
    "UNSUBSCRIBE_SCOPES",
    "UnsubscribeRequest",
    "commitment_quiet_base",
    "commitment_late_from",
    "digest_contents",
    "event_follow_set",
    "event_followed_by",
    "event_follower_ids",
    "events_followed_by",
    "follows_state",
    "local_due_at",
    "occurrence_dates_text",
    "occurrence_passed_at",
    "occurrence_reader_day",
    "occurrence_starts_at",
    "preferences_of",
    "reminder_message",
    "reminder_preference_update",
    "reminder_resend",
    "reminder_settings_update",
    "reminders_claim",
    "reminders_claim_due",
    "reminders_dispatch",
    "reminders_mark_failed",
    "reminders_plan",
    "reminders_requeue_stuck",
    "reminders_send",
    "reminders_unseen",
    "reminders_unsubscribe",
    "single_email_reader",
    "site_url",
    "skip_reason_text",
    "stale_due_days",
    "state_follow_set",
    "unsubscribe_request_from_token",
    "unsubscribe_token",
    "unsubscribe_url",
]
