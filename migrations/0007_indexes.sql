-- Indexes for two lookups that scanned a whole table.

-- Deleting a media row (MediaDelete) makes PostgreSQL check that no
-- avatar still refers to it through the foreign key avatars.media_name.
CREATE INDEX avatars_media_name ON avatars (media_name);

-- Old failed logins are deleted by age (LoginFailureDeleteBefore);
-- login_failures_key leads with scope and key, so it cannot serve that.
CREATE INDEX login_failures_failed_at ON login_failures (failed_at);
