-- The unpaid tokens (neither settled nor revoked), oldest first: the sweep deletes from the old end and the
-- cap on unpaid tokens counts them, both without reading the paid and revoked ones, however many there are.
CREATE INDEX IF NOT EXISTS auth_proxy_tokens_unpaid ON auth_proxy_tokens (created_at)
    WHERE settled_at IS NULL AND revoked_at IS NULL;
