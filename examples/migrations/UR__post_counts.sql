-- Undoes the repeatable view before the versioned rollbacks drop what it reads.
DROP VIEW IF EXISTS post_counts;
