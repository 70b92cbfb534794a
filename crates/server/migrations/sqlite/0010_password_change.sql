-- Fieldbook server schema, version 10 (SQLite): one-time passwords must be changed.
-- The PostgreSQL migration of the same number has the same logical shape.

-- Set while the account's password is one the server made (a new account, a reset): such a
-- session may only read /api/me, sign out and set a new password. Every password stored
-- before this version was made by the server (there was no way to choose one), so every
-- existing account starts with it set.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 1
    CHECK (must_change_password IN (0, 1));
