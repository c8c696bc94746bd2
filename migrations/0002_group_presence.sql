-- Members connected to a group socket, per instance, so that every instance
-- can list a group's online members (group.online) across instances.
CREATE TABLE group_presence (
    instance_id text    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    group_id    bigint  NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    account     text    NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    sockets     integer NOT NULL CHECK (sockets > 0),
    PRIMARY KEY (instance_id, group_id, account)
);
CREATE INDEX group_presence_group ON group_presence (group_id);

-- Messages are read by conversation and seq (the primary key); history of a
-- sender's idempotency keys uses messages_client_msg_id.
