-- Every refused mutation, per device and number, written in the transaction of the push that
-- refused it. A retried push (its first answer lost after the commit) is answered with these
-- rows again, so the device learns of the refusal however many answers it missed.
-- Kept until the tombstone horizon purge; `at_version` is the refusing push's version.
CREATE TABLE rejections (
    client_id    UUID NOT NULL REFERENCES clients (client_id),
    seq          BIGINT NOT NULL,
    record_id    UUID NOT NULL,
    reason_json  TEXT NOT NULL,
    at_version   BIGINT NOT NULL,
    PRIMARY KEY (client_id, seq)
);
CREATE INDEX rejections_version ON rejections (at_version);
