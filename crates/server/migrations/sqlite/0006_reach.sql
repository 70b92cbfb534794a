-- Fieldbook server schema, version 6 (SQLite): records that reach more than their owner.
-- The PostgreSQL migration of the same number has the same logical shape.

-- Who sees a record beyond its owner and the managers of its team, as the record decides
-- (`domain::Record::reach`): 'owner' (leads, visits, deals, a person's training records),
-- 'team' (a published team item, a training session: every member of `team_id`) or
-- 'everyone' (an item published to every user). Written with every push that saves the
-- record, and only ever widened.
ALTER TABLE records ADD COLUMN reach TEXT NOT NULL DEFAULT 'owner'
    CHECK (reach IN ('owner', 'team', 'everyone'));
-- A pull's two new range scans: a team's shared records and everyone's. Partial, so the
-- leads, visits and deals that make up nearly every row cost nothing in them.
CREATE INDEX records_team_reach_feed ON records (team_id, version, kind, id)
    WHERE reach = 'team';
CREATE INDEX records_everyone_feed ON records (version, kind, id)
    WHERE reach = 'everyone';
