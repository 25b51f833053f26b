-- Release 1: users have a name.
CREATE TABLE users (
  id bigserial PRIMARY KEY,
  name text NOT NULL
);
