-- A pending friend request whose expires_at passed is marked expired when
-- the pair's next request is made, so that it leaves the one-pending-per-
-- pair index and stays as a record.
ALTER TABLE friend_requests
    DROP CONSTRAINT friend_requests_status_check,
    ADD CONSTRAINT friend_requests_status_check
        CHECK (status IN ('pending', 'accepted', 'rejected', 'cancelled', 'expired'));

-- The send statement looks a pair's blocks up either way in one probe.
CREATE INDEX blocks_pair ON blocks (least(blocker, blocked), greatest(blocker, blocked));
