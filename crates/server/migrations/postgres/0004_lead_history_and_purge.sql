-- Fieldbook server schema, version 4 (PostgreSQL): a lead's history follows it, and the purge
-- after the horizon. The SQLite migration of the same number has the same logical shape.

-- A lead's visits and deals name it in their `lead_id` field; reassigning the lead finds
-- them here and moves them with it, in the same push transaction.
CREATE INDEX fields_lead_id ON fields (value_json) WHERE field = 'lead_id';

-- When each push committed, by the server's clock (device stamps cannot be trusted for
-- age: a phone's clock may be a year behind). The purge turns its horizon into a version
-- with this table: what changed at or below that version is older than the horizon.
-- Rows older than the horizon are purged too; versions before this migration are not
-- listed, so nothing written before it is purged until the horizon has passed after it.
CREATE TABLE version_log (
    version       BIGINT PRIMARY KEY NOT NULL,
    committed_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX version_log_committed ON version_log (committed_at);

-- The highest version of a tombstone or removal the purge deleted: a device whose cursor is
-- below it may have missed one, and must pull everything again.
ALTER TABLE server_version ADD COLUMN purged_through BIGINT NOT NULL DEFAULT 0;

-- The `purged_through` in force when this device last pulled from no cursor: the cursors of
-- that full pull and after it were handed out after the purge, so they need no resync.
ALTER TABLE clients ADD COLUMN resynced_through BIGINT NOT NULL DEFAULT 0;
