-- Fieldbook server schema, version 5 (PostgreSQL): the pull's feed as an indexed range scan.
-- The SQLite migration of the same number has the same logical shape.

-- A pull reads the records a user may see in (version, kind, id) order from its cursor on,
-- a page at a time: their own (owner_id) and, for a manager, their team's (team_id). Each
-- of these is a range scan of one index that stops at the page's limit, instead of reading
-- and sorting all of the user's records for every page.
CREATE INDEX records_owner_feed ON records (owner_id, version, kind COLLATE "C", id);
CREATE INDEX records_team_feed ON records (team_id, version, kind COLLATE "C", id);
-- Their prefixes did the same work less well. `kind` in byte order, as the feed sorts it.
DROP INDEX records_owner;
DROP INDEX records_team;
-- No query reads fields by version (a record's fields are read by their primary key), and
-- every field written paid for this index.
DROP INDEX fields_version;
