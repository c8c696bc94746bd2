-- Tim's schema. Accounts are immutable and unique, so other tables refer to
-- users by account.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account       text        NOT NULL UNIQUE CHECK (account ~ '^[A-Za-z0-9_.@-]{1,32}$'),
    username      text        NOT NULL CHECK (char_length(username) BETWEEN 1 AND 64),
    password_hash text        NOT NULL,
    sex           text        NOT NULL CHECK (sex IN ('male', 'female')),
    age           integer     NOT NULL CHECK (age BETWEEN 0 AND 150),
    -- Tokens carry the generation they were issued in; logout ?all=true
    -- bumps it, revoking every earlier token.
    token_generation integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Individually revoked tokens, kept until they would have expired anyway.
CREATE TABLE revoked_tokens (
    jti        text        PRIMARY KEY,
    account    text        NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- Failed logins, one row each, for rate limiting across instances.
CREATE TABLE login_failures (
    scope      text        NOT NULL CHECK (scope IN ('account', 'address')),
    key        text        NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key ON login_failures (scope, key, failed_at);

-- Friendship is mutual: every friendship is two rows, written in one transaction.
CREATE TABLE friendships (
    account    text        NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    friend     text        NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account, friend),
    CHECK (account <> friend)
);
CREATE INDEX friendships_friend ON friendships (friend);

-- Ids chosen by the server for createGroup; joins may create any id, so
-- allocation skips ids already taken.
CREATE SEQUENCE group_id_seq START WITH 100000;

CREATE TABLE groups (
    id           bigint      PRIMARY KEY CHECK (id > 0),
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    owner        text        NOT NULL REFERENCES users (account),
    member_count integer     NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE group_members (
    group_id  bigint      NOT NULL REFERENCES groups (id),
    account   text        NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, account)
);
CREATE INDEX group_members_account ON group_members (account);

-- Stored media. Blobs are content addressed (sha256), so identical content is
-- stored once; every upload gets its own unguessable name.
CREATE TABLE media (
    name         text        PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('avatar', 'chatpic', 'mp3', 'mp4')),
    owner        text        NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    size         bigint      NOT NULL CHECK (size > 0),
    content_type text        NOT NULL,
    sha256       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_sha256 ON media (sha256);

-- The current avatar of each account.
CREATE TABLE avatars (
    account    text        PRIMARY KEY REFERENCES users (account) ON DELETE CASCADE,
    media_name text        NOT NULL REFERENCES media (name),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A conversation is a pair of accounts ('d:<a>:<b>', a < b) or a group
-- ('g:<id>'). last_seq is the seq of its newest message: messages take seqs
-- under this row's lock, so seqs are gap-free and strictly increasing.
CREATE TABLE conversations (
    key      text   PRIMARY KEY,
    user_a   text   REFERENCES users (account),
    user_b   text   REFERENCES users (account),
    group_id bigint UNIQUE REFERENCES groups (id),
    last_seq bigint NOT NULL DEFAULT 0,
    CHECK ((group_id IS NULL) <> (user_a IS NULL AND user_b IS NULL))
);
CREATE INDEX conversations_user_a ON conversations (user_a);
CREATE INDEX conversations_user_b ON conversations (user_b);

CREATE TABLE messages (
    id            bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    conv          text        NOT NULL REFERENCES conversations (key),
    seq           bigint      NOT NULL CHECK (seq > 0),
    sender        text        NOT NULL REFERENCES users (account),
    recipient     text        REFERENCES users (account),
    group_id      bigint      REFERENCES groups (id),
    kind          text        NOT NULL CHECK (kind IN ('text', 'image', 'audio', 'video')),
    body          text        NOT NULL,
    client_msg_id text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conv, seq)
);
CREATE UNIQUE INDEX messages_client_msg_id ON messages (sender, client_msg_id) WHERE client_msg_id IS NOT NULL;

-- How far each account has been delivered in each conversation.
CREATE TABLE delivery_cursors (
    account       text   NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    conv          text   NOT NULL REFERENCES conversations (key),
    delivered_seq bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account, conv)
);

-- Server instances and the sockets they hold, for presence across instances.
-- An instance whose heartbeat is older than the presence timeout is dead.
CREATE TABLE instances (
    id        text        PRIMARY KEY,
    last_seen timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE presence (
    instance_id text    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    account     text    NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    sockets     integer NOT NULL CHECK (sockets > 0),
    PRIMARY KEY (instance_id, account)
);
CREATE INDEX presence_account ON presence (account);
