-- Registrations, one row each, for rate limiting them per client address
-- across instances. Every attempt that passes the limit counts, whatever its
-- outcome, because each one costs a password hash.
CREATE TABLE registration_attempts (
    address      text        NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registration_attempts_address ON registration_attempts (address, attempted_at);

-- A login attempt is recorded as a failure before its password is checked,
-- and that row is deleted again when the password is right, so a row needs
-- a name.
ALTER TABLE login_failures ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
