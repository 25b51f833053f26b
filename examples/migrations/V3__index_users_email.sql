-- tidemark:no-transaction
-- Built without blocking writes, so it must run outside a transaction.
CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);
