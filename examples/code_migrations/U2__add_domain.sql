ALTER TABLE accounts DROP COLUMN domain;
