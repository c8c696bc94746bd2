-- When each conversation last took a message: instances look for
-- conversations that changed recently, to catch up messages the bus lost.
ALTER TABLE conversations ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX conversations_updated_at ON conversations (updated_at);
