-- Expand: release 2 reads and writes display_name while release 1 still reads and writes name.
-- A trigger keeps the two in step for as long as both releases serve.
ALTER TABLE users ADD COLUMN display_name text;
UPDATE users SET display_name = name;

CREATE FUNCTION users_sync_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.name IS DISTINCT FROM OLD.name AND NEW.display_name IS NOT DISTINCT FROM OLD.display_name THEN
      NEW.display_name := NEW.name;
    ELSIF NEW.display_name IS DISTINCT FROM OLD.display_name AND NEW.name IS NOT DISTINCT FROM OLD.name THEN
      NEW.name := NEW.display_name;
    END IF;
  END IF;
  NEW.display_name := coalesce(NEW.display_name, NEW.name);
  NEW.name := coalesce(NEW.name, NEW.display_name);
  RETURN NEW;
END $$;

CREATE TRIGGER users_sync_names BEFORE INSERT OR UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION users_sync_names();
