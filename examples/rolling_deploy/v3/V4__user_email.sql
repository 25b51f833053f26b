-- Release 3 (expand): users get an email. It may ship while release 2's contract still waits.
ALTER TABLE users ADD COLUMN email text;
