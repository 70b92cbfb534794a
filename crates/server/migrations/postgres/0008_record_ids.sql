-- Fieldbook server schema, version 8 (PostgreSQL): an id names one record, whatever its kind.
-- The SQLite migration of the same number has the same logical shape.

-- A push that creates a record looks its id up under every kind (`SyncTx::kinds_of`) and
-- refuses the record when another kind already holds the id: devices key records by id,
-- and a second record under a lead's id hid the lead from a manager's list. Not UNIQUE, so
-- a database holding such a pair from before still upgrades; the push rule keeps new ones
-- out.
CREATE INDEX records_by_id ON records (id);
