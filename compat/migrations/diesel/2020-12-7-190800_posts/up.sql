CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint REFERENCES users (id));
