-- screening snapshots (filled in by the screening module)
CREATE TABLE IF NOT EXISTS schema_marker (id INTEGER PRIMARY KEY);
