-- A client message id is an idempotency key within one conversation of its
-- sender: the same id in another conversation is another message.
DROP INDEX messages_client_msg_id;
CREATE UNIQUE INDEX messages_client_msg_id ON messages (sender, conv, client_msg_id) WHERE client_msg_id IS NOT NULL;
