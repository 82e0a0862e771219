-- Listing token records newest first, a page at a time (keyset on created_at, token_id).
CREATE INDEX IF NOT EXISTS auth_proxy_tokens_created ON auth_proxy_tokens (created_at, token_id);
