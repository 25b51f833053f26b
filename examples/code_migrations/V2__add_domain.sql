ALTER TABLE accounts ADD COLUMN domain text;
