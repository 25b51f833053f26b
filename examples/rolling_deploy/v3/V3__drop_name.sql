-- tidemark:contract
-- Release 1 reads and writes `name`: this runs once no release-1 instance is alive.
DROP TRIGGER users_sync_names ON users;
DROP FUNCTION users_sync_names();
ALTER TABLE users DROP COLUMN name;
ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;
