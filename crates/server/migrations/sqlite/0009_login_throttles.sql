-- Fieldbook server schema, version 9 (SQLite): failed sign-ins counted per login name and
-- per source address, not per account.
-- The PostgreSQL migration of the same number has the same logical shape.

-- The per-account table let only existing logins be throttled (so a refusal told a guesser
-- the login exists) and locked an account for as long as a stranger kept guessing. Keys are
-- 'login:<name>' (whether or not an account has that name) and 'addr:<ip>'. Failures count
-- within a window that starts at the first one; the delay they set grows, capped (see
-- accounts.rs), so a slow guesser slows the owner by a minute at most.
DROP TABLE login_throttle;
CREATE TABLE login_throttles (
    key           TEXT PRIMARY KEY NOT NULL,
    failures      INTEGER NOT NULL,
    window_start  INTEGER NOT NULL,
    locked_until  INTEGER NULL
);
CREATE INDEX login_throttles_window ON login_throttles (window_start);
