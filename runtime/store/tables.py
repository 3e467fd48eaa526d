"""The platform's own tables, as SQLAlchemy Core.

Core rather than the ORM: the record store is one generic table written and read in
bulk, and every query over it is built from expressions and report specs, so an object
layer would only add a cost per row (see bench/store_write.py). Alembic migrations in
`migrations/` create these tables; `metadata` here is what they are checked against.

Conventions shared by every table:
- instants are `DateTime(timezone=True)` in UTC;
- record ids are integers in the database and strings in JSON (DESIGN §10);
- `data` is JSON on SQLite and JSONB on PostgreSQL (`JSON_DOC`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql, sqlite

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

JSON_DOC = JSON().with_variant(postgresql.JSONB(), "postgresql")
# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (auto-increment);
# BIGINT there would leave ids NULL.
BIG_ID = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
UTC_TS = DateTime(timezone=True)

apps = Table(
    "apps",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("name", JSON_DOC, nullable=False),
    Column("current_version", Integer, nullable=True),  # published version number
    Column("installed_at", UTC_TS, nullable=False),
    Column("updated_at", UTC_TS, nullable=False),
)

# One row per published version: the whole bundle as it was, immutable.
app_versions = Table(
    "app_versions",
    metadata,
    Column("app", String(64), ForeignKey("apps.key"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("semver", String(32), nullable=False),
    Column("bundle", JSON_DOC, nullable=False),
    Column("published_at", UTC_TS, nullable=False),
    Column("published_by", String(64), nullable=False),
)

# Draft definitions: what the designer edits before publishing.
drafts = Table(
    "drafts",
    metadata,
    Column("app", String(64), ForeignKey("apps.key"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("definition", JSON_DOC, nullable=False),
    Column("updated_at", UTC_TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
)

records = Table(
    "records",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("form", String(64), nullable=False),
    Column("form_version", Integer, nullable=False),
    Column("data", JSON_DOC, nullable=False),
    # Optimistic lock, and the number of history entries the record must have: every
    # write (create, update, delete, restore) adds one entry and one version.
    Column("version", Integer, nullable=False),
    Column("owner", String(64), nullable=True),
    Column("department", String(64), nullable=True),
    Column("created_at", UTC_TS, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", UTC_TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("deleted_at", UTC_TS, nullable=True),
    # Tags and flags that rules put on a record, outside its form's fields:
    # {"tags": [...], "flags": {"high_risk": {"color": ..., "note": {...}}}}
    Column("marks", JSON_DOC, nullable=True),
)
Index("ix_records_app_form_id", records.c.app, records.c.form, records.c.id)

# Narrow copies of the records reports join to: for each form reports reach through a
# relation, the fields they read that way (engines.report.projection), kept in step by
# every write (runtime.store.projections). Filled on PostgreSQL only.
PROJECTED_COLUMNS = ("app", "form", "data", "version", "owner", "department", "created_at",
                     "created_by", "updated_at", "updated_by", "deleted_at")
"""The columns of `records` its copies keep, alike: reports read either table."""
record_projections = Table(
    "record_projections",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=False),  # the record's id
    # `data` holds only the projected fields
    *(Column(name, records.c[name].type, nullable=records.c[name].nullable)
      for name in PROJECTED_COLUMNS),
)
Index("ix_record_projections_app_form", record_projections.c.app, record_projections.c.form)

# The app version each app's copies were built for: reports join them only then.
projection_builds = Table(
    "projection_builds",
    metadata,
    Column("app", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("built_at", UTC_TS, nullable=False),
)

record_history = Table(
    "record_history",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("record_id", BigInteger, nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("action", String(16), nullable=False),  # create | update | delete | restore
    Column("actor", String(64), nullable=False),
    Column("at", UTC_TS, nullable=False),
    Column("diff", JSON_DOC, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("record_id", "seq", name="uq_record_history_record_seq"),
)

# A unique field's value, claimed by the record holding it. The primary key makes the
# database refuse a second claim, also between concurrent transactions.
unique_values = Table(
    "unique_values",
    metadata,
    Column("app", String(64), primary_key=True),
    Column("form", String(64), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("value", String(512), primary_key=True),
    Column("record_id", BigInteger, nullable=False, index=True),
)

# Auto-number counters, one row per (app, form, field, period).
sequences = Table(
    "sequences",
    metadata,
    Column("app", String(64), primary_key=True),
    Column("form", String(64), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("display_name", String(128), nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("roles", JSON_DOC, nullable=False),
    Column("department", String(64), nullable=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTC_TS, nullable=False),
    Column("email", String(254), nullable=True),  # for email notifications (0004)
)

departments = Table(
    "departments",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("name", JSON_DOC, nullable=False),
    Column("parent", String(64), nullable=True),
    Column("head", String(64), nullable=True),
)

# API tokens: only a SHA-256 of the token is kept, never the token itself.
tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), ForeignKey("users.username"), nullable=False),
    Column("created_at", UTC_TS, nullable=False),
    Column("expires_at", UTC_TS, nullable=True),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("payload", JSON_DOC, nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | done | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=5),
    Column("run_at", UTC_TS, nullable=False),
    Column("locked_by", String(64), nullable=True),
    Column("locked_until", UTC_TS, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTC_TS, nullable=False),
    Column("finished_at", UTC_TS, nullable=True),
    Column("dedupe_key", String(256), nullable=True, unique=True),
)
Index("ix_jobs_status_run_at", jobs.c.status, jobs.c.run_at)

files = Table(
    "files",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("app", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UTC_TS, nullable=False),
    Column("created_by", String(64), nullable=False),
)

# The task centre: to-dos from rules and approval/handle tasks from flows, one inbox.
tasks = Table(
    "tasks",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # todo | approval | handle | cc
    Column("title", JSON_DOC, nullable=False),  # {"zh", "en"}
    Column("assignee", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # open | done | cancelled
    Column("form", String(64), nullable=True),
    Column("record_id", BigInteger, nullable=True),
    Column("flow_instance_id", BigInteger, nullable=True, index=True),
    Column("node_id", String(64), nullable=True),
    Column("engine_task_id", String(128), nullable=True),  # the flow engine's own id
    Column("due_at", UTC_TS, nullable=True),
    Column("data", JSON_DOC, nullable=False),
    Column("created_at", UTC_TS, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("completed_at", UTC_TS, nullable=True),
    Column("completed_by", String(64), nullable=True),
    Column("outcome", String(32), nullable=True),  # approve | reject | done | …
    Column("read_at", UTC_TS, nullable=True),  # carbon copies: read status
    Column("version", Integer, nullable=False, default=1),
)
Index("ix_tasks_assignee_status", tasks.c.assignee, tasks.c.status)

# The in-app inbox channel: one row per message per user.
notifications = Table(
    "notifications",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("app", String(64), nullable=True),
    Column("subject", JSON_DOC, nullable=True),
    Column("message", JSON_DOC, nullable=False),
    Column("form", String(64), nullable=True),
    Column("record_id", BigInteger, nullable=True),
    Column("created_at", UTC_TS, nullable=False),
    Column("read_at", UTC_TS, nullable=True),
    Column("dedupe_key", String(256), nullable=True),
    UniqueConstraint("username", "dedupe_key", name="uq_notifications_user_key"),
)
Index("ix_notifications_user_read", notifications.c.username, notifications.c.read_at)

# A scheduled or date-relative rule fires once per (rule, subject, episode): the
# primary key is claimed atomically in the firing transaction, so a repeated tick, two
# schedulers at once or a restart mid-tick fire nothing twice.
rule_claims = Table(
    "rule_claims",
    metadata,
    Column("app", String(64), primary_key=True),
    Column("rule", String(64), primary_key=True),
    Column("subject", String(64), primary_key=True),  # record id or "*"
    Column("episode", String(128), primary_key=True),
    Column("claimed_at", UTC_TS, nullable=False),
)

# Where each schedule got to: the next tick looks at (since, now].
rule_schedules = Table(
    "rule_schedules",
    metadata,
    Column("app", String(64), primary_key=True),
    Column("rule", String(64), primary_key=True),
    Column("since", UTC_TS, nullable=False),
)

# Round-robin cursors of `assign` rule actions: one counter per (app, rule, pool),
# advanced with an atomic upsert (`INSERT … ON CONFLICT … RETURNING`), like sequences.
rule_cursors = Table(
    "rule_cursors",
    metadata,
    Column("app", String(64), primary_key=True),
    Column("rule", String(64), primary_key=True),
    Column("pool", String(128), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# The run log: every firing, with what it did and how it went.
rule_runs = Table(
    "rule_runs",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("form", String(64), nullable=True),
    Column("record_id", BigInteger, nullable=True),
    Column("trigger", String(32), nullable=False),
    Column("effects", JSON_DOC, nullable=False),
    Column("outcome", String(16), nullable=False),  # ok | error | skipped
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("at", UTC_TS, nullable=False),
)
Index("ix_rule_runs_app_rule_at", rule_runs.c.app, rule_runs.c.rule, rule_runs.c.at)
Index("ix_rule_runs_record", rule_runs.c.record_id)

# Flow instances: the engine's serialised state plus what lists and joins need.
flow_instances = Table(
    "flow_instances",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("flow", String(64), nullable=False),
    Column("app_version", Integer, nullable=False),  # the flow version stays bound
    Column("form", String(64), nullable=True),
    Column("record_id", BigInteger, nullable=True, index=True),
    Column("status", String(16), nullable=False),  # running | done | rejected | withdrawn
    Column("state", JSON_DOC, nullable=False),
    Column("version", Integer, nullable=False),  # optimistic lock on the state
    Column("started_by", String(64), nullable=False),
    Column("started_at", UTC_TS, nullable=False),
    Column("updated_at", UTC_TS, nullable=False),
    Column("finished_at", UTC_TS, nullable=True),
)
Index("ix_flow_instances_app_flow_status", flow_instances.c.app, flow_instances.c.flow,
      flow_instances.c.status)

__all__ = [
    "BIG_ID",
    "JSON_DOC",
    "app_versions",
    "apps",
    "departments",
    "drafts",
    "files",
    "flow_instances",
    "jobs",
    "metadata",
    "notifications",
    "record_history",
    "records",
    "rule_claims",
    "rule_runs",
    "rule_schedules",
    "sequences",
    "tasks",
    "tokens",
    "unique_values",
    "users",
]
