-- One row that Ping rewrites to check that the database still commits
-- writes: a readiness probe must fail while writes do (a full disk, a
-- read-only file). beats counts the checks; at is the last one, in unix
-- milliseconds.
CREATE TABLE heartbeat (
	id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	beats INTEGER NOT NULL,
	at    INTEGER
) STRICT;

INSERT INTO heartbeat (id, beats, at) VALUES (1, 0, NULL);
