-- Old registration attempts are deleted by age every minute on every
-- instance (RegistrationAttemptDeleteBefore); registration_attempts_address
-- leads with the address, so it cannot serve that and the delete scanned
-- the whole table.
CREATE INDEX registration_attempts_attempted_at ON registration_attempts (attempted_at);
