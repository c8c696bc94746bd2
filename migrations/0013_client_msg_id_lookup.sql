-- The batch commit looks up each send's client id by (sender, client id)
-- and then checks the conversation (queries/messages.sql, stored). Keyed
-- (sender, conv, client_msg_id), this index shared its leading columns with
-- messages_conv_sender, and the planner, with nothing to tell the two apart
-- on a table it had not analyzed yet, used that one and read every earlier
-- message of the sender in the conversation for each send. Leading with
-- (sender, client_msg_id), it is the only index that lookup can use. The
-- rows it keeps unique are the same.
DROP INDEX messages_client_msg_id;
CREATE UNIQUE INDEX messages_client_msg_id ON messages (sender, client_msg_id, conv) WHERE client_msg_id IS NOT NULL;
