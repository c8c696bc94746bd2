-- Who may reach whom, and who runs a group: friend policies and requests,
-- blocks, group roles, mutes, join policies and join requests, history
-- visibility, and the group's own events in its timeline. Every default
-- keeps the open behaviour of the original API.

-- open: addFriend makes a friendship at once (the original behaviour);
-- approval: addFriend makes a request the account answers; closed: no one
-- may ask.
ALTER TABLE users
    ADD COLUMN friend_policy text NOT NULL DEFAULT 'open'
        CHECK (friend_policy IN ('open', 'approval', 'closed'));

-- A request to become friends. At most one is pending per ordered pair; an
-- answered, cancelled or expired one stays as a record. A pending request
-- whose expires_at has passed counts as expired.
CREATE TABLE friend_requests (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_account text       NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    to_account  text        NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    message     text        NOT NULL DEFAULT '' CHECK (char_length(message) <= 200),
    status      text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'rejected', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    answered_at timestamptz,
    CHECK (from_account <> to_account)
);
CREATE UNIQUE INDEX friend_requests_pending ON friend_requests (from_account, to_account) WHERE status = 'pending';
CREATE INDEX friend_requests_to ON friend_requests (to_account, created_at DESC) WHERE status = 'pending';
CREATE INDEX friend_requests_from ON friend_requests (from_account, created_at DESC) WHERE status = 'pending';

-- blocker blocks blocked: no direct message, request, presence, typing or
-- receipt goes from blocked to blocker. Friendships and history stay.
CREATE TABLE blocks (
    blocker    text        NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    blocked    text        NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker, blocked),
    CHECK (blocker <> blocked)
);
CREATE INDEX blocks_blocked ON blocks (blocked);

-- join_policy: open (anyone joins), approval (a join makes a request that
-- owner and admins answer) or invite (owner and admins add members); NULL
-- follows the deployment's default (TIM_DEFAULT_JOIN_POLICY).
-- history_visibility: shared (members read the whole history) or joined
-- (a member reads from the seq at which they joined). muted: only owner
-- and admins may send. A dissolved group keeps its row, so that its id is
-- never used again, and loses its members.
ALTER TABLE groups
    ADD COLUMN join_policy text CHECK (join_policy IN ('open', 'approval', 'invite')),
    ADD COLUMN history_visibility text NOT NULL DEFAULT 'shared'
        CHECK (history_visibility IN ('shared', 'joined')),
    ADD COLUMN announcement text NOT NULL DEFAULT '' CHECK (char_length(announcement) <= 2000),
    ADD COLUMN muted boolean NOT NULL DEFAULT false,
    ADD COLUMN dissolved_at timestamptz;

-- role: exactly one owner per group (the groups row names it too), any
-- number of admins. muted_until: the member may not send before it.
-- joined_seq: the group's newest seq when the member joined; under
-- history_visibility joined, the member reads only above it.
ALTER TABLE group_members
    ADD COLUMN role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    ADD COLUMN muted_until timestamptz,
    ADD COLUMN joined_seq bigint NOT NULL DEFAULT 0 CHECK (joined_seq >= 0);
UPDATE group_members m SET role = 'owner' FROM groups g WHERE g.id = m.group_id AND g.owner = m.account;
CREATE UNIQUE INDEX group_members_one_owner ON group_members (group_id) WHERE role = 'owner';

-- A request to join a group whose policy is approval: at most one pending
-- per account and group.
CREATE TABLE join_requests (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id    bigint      NOT NULL REFERENCES groups (id),
    account     text        NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    message     text        NOT NULL DEFAULT '' CHECK (char_length(message) <= 200),
    status      text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'rejected', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    answered_by text        REFERENCES users (account) ON DELETE SET NULL,
    answered_at timestamptz
);
CREATE UNIQUE INDEX join_requests_pending ON join_requests (group_id, account) WHERE status = 'pending';
CREATE INDEX join_requests_group ON join_requests (group_id, created_at DESC) WHERE status = 'pending';

-- A group's events (join, leave, kick, role, mute, rename, announcement,
-- transfer, dissolve) are rows of its conversation with a seq of their
-- own, kind 'event', the actor as sender and a JSON body.
ALTER TABLE messages
    DROP CONSTRAINT messages_kind_check,
    ADD CONSTRAINT messages_kind_check CHECK (kind IN ('text', 'image', 'audio', 'video', 'recall', 'event'));

-- Refused joins count per account, as failed logins do.
ALTER TABLE login_failures
    DROP CONSTRAINT login_failures_scope_check,
    ADD CONSTRAINT login_failures_scope_check CHECK (scope IN ('account', 'address', 'join'));
