-- Fieldbook server schema, version 5 (SQLite): the pull's feed as an indexed range scan.
-- The PostgreSQL migration of the same number has the same logical shape.

-- A pull reads the records a user may see in (version, kind, id) order from its cursor on,
-- a page at a time: their own (owner_id) and, for a manager, their team's (team_id). Each
-- of these is a range scan of one index that stops at the page's limit, instead of reading
-- and sorting all of the user's records for every page.
CREATE INDEX records_owner_feed ON records (owner_id, version, kind, id);
CREATE INDEX records_team_feed ON records (team_id, version, kind, id);
-- Their prefixes did the same work less well.
DROP INDEX records_owner;
DROP INDEX records_team;
-- No query reads fields by version (a record's fields are read by their primary key), and
-- every field written paid for this index.
DROP INDEX fields_version;
