-- Fieldbook server schema, version 1 (PostgreSQL).
--
-- Accounts, sessions and login throttling are used from this version on. The sync tables
-- (server_version .. visibility_changes) are created now, empty, so that push/pull adds code
-- and no schema step. The PostgreSQL migration of the same number has the same logical shape.
--
-- Ids are UUIDs (record ids are the devices' UUIDv7), times are timestamptz, versions bigint.

CREATE TABLE teams (
    id          UUID PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id             UUID PRIMARY KEY NOT NULL,
    login          TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
    team_id        UUID NULL REFERENCES teams (id),
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_team ON users (team_id);

-- Only a SHA-256 of the cookie's token is stored: a copy of this table does not let anyone
-- sign in.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Failed logins live here, not in process memory, because several servers may share one
-- database.
CREATE TABLE login_throttle (
    user_id       UUID PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  TIMESTAMPTZ NULL
);

-- The server-wide version (Replicache's "global version"): every push transaction bumps this
-- one row, which serializes pushes and gives pulls a cursor that never skips a late commit.
CREATE TABLE server_version (
    id       INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version  BIGINT NOT NULL
);
INSERT INTO server_version (id, version) VALUES (1, 0);

-- The last mutation number applied per device, bumped in the same transaction as the effects.
CREATE TABLE clients (
    client_id     UUID PRIMARY KEY NOT NULL,
    user_id       UUID NOT NULL REFERENCES users (id),
    last_applied  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX clients_user ON clients (user_id);

-- One row per synced record: who owns it (visibility is computed from these columns, never
-- from what a client claims) and the server version of its last change.
CREATE TABLE records (
    kind      TEXT NOT NULL,
    id        UUID NOT NULL,
    owner_id  UUID NOT NULL REFERENCES users (id),
    team_id   UUID NULL REFERENCES teams (id),
    version   BIGINT NOT NULL,
    deleted   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (kind, id)
);
CREATE INDEX records_version ON records (version);
CREATE INDEX records_owner ON records (owner_id);
CREATE INDEX records_team ON records (team_id);

-- Per-field state: merge is per field, so each field keeps its value, the HLC stamp of the
-- edit that wrote it and the server version at which it changed.
CREATE TABLE fields (
    kind        TEXT NOT NULL,
    record_id   UUID NOT NULL,
    field       TEXT NOT NULL,
    value_json  TEXT NOT NULL,
    stamp       TEXT NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (kind, record_id, field),
    FOREIGN KEY (kind, record_id) REFERENCES records (kind, id) ON DELETE CASCADE
);
CREATE INDEX fields_version ON fields (version);

-- Values that lost a concurrent write, kept so both people see them and can restore them.
CREATE TABLE conflicts (
    id               UUID PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL,
    record_id        UUID NOT NULL,
    field            TEXT NOT NULL,
    lost_value_json  TEXT NOT NULL,
    lost_stamp       TEXT NOT NULL,
    lost_by          UUID NOT NULL REFERENCES users (id),
    kept_value_json  TEXT NOT NULL,
    kept_stamp       TEXT NOT NULL,
    at_version       BIGINT NOT NULL,
    resolved         BOOLEAN NOT NULL DEFAULT FALSE,
    FOREIGN KEY (kind, record_id) REFERENCES records (kind, id) ON DELETE CASCADE
);
CREATE INDEX conflicts_record ON conflicts (kind, record_id);
CREATE INDEX conflicts_version ON conflicts (at_version);

-- Who stopped seeing a record at which version (a lead reassigned to another rep), so the old
-- owner's devices receive a removal on their next pull.
CREATE TABLE visibility_changes (
    version    BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    record_id  UUID NOT NULL,
    user_id    UUID NOT NULL REFERENCES users (id),
    PRIMARY KEY (version, kind, record_id, user_id)
);
CREATE INDEX visibility_changes_user ON visibility_changes (user_id, version);
