-- Every pull answers with a stamp at or after every stored one (the largest field stamp).
-- Stamps are fixed-width text that sorts like the stamps, so an index makes that a lookup.
CREATE INDEX fields_stamp ON fields (stamp);
