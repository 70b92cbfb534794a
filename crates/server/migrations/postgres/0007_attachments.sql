-- Fieldbook server schema, version 7 (PostgreSQL): attachments.
-- The SQLite migration of the same number has the same logical shape.

-- An attachment whose bytes are stored (`attachments/<first 2 hex>/<sha256>` in the data
-- directory), verified against its digest. A row is written only after the file is in
-- place, so a row always has its file. `mime` is the first uploader's, from the allow-list.
CREATE TABLE attachments (
    sha256      TEXT PRIMARY KEY NOT NULL,
    size        BIGINT NOT NULL CHECK (size > 0),
    mime        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

-- Who has uploaded an attachment's full, verified bytes. Having sent the bytes, not knowing
-- the digest, is what lets a user (and the readers of their records) fetch them.
CREATE TABLE attachment_owners (
    sha256   TEXT NOT NULL REFERENCES attachments (sha256) ON DELETE CASCADE,
    user_id  UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (sha256, user_id)
);

-- Which records name which attachments (`domain::attachments_of`), kept by every push that
-- changes the set. A record may name bytes not uploaded yet (devices push records and
-- upload bytes in the same run, and a failed upload must not block the record), so there is
-- no foreign key to `attachments`. A purged tombstone takes its rows with it.
CREATE TABLE attachment_refs (
    kind       TEXT NOT NULL,
    record_id  UUID NOT NULL,
    sha256     TEXT NOT NULL,
    PRIMARY KEY (kind, record_id, sha256),
    FOREIGN KEY (kind, record_id) REFERENCES records (kind, id) ON DELETE CASCADE
);
-- The read's question is "which records name this digest".
CREATE INDEX attachment_refs_sha256 ON attachment_refs (sha256);

-- Training items stored before this version name their attachments in their
-- `attachments` field (an array of `{sha256, name, mime, size}`).
INSERT INTO attachment_refs (kind, record_id, sha256)
SELECT DISTINCT f.kind, f.record_id, a.value ->> 'sha256'
FROM fields f
    CROSS JOIN LATERAL json_array_elements(
        CASE WHEN json_typeof(f.value_json::json) = 'array' THEN f.value_json::json
             ELSE '[]'::json END) AS a (value)
WHERE f.kind = 'training_item' AND f.field = 'attachments'
    AND a.value ->> 'sha256' IS NOT NULL;
