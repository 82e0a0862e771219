-- Root keys of minted tokens, keyed by sha256(identifier). Deleting a row revokes the token.
CREATE TABLE IF NOT EXISTS auth_proxy_root_keys (
    identifier_hash BYTEA PRIMARY KEY NOT NULL,
    root_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- One record per minted token: what it was for, what it cost, whether it was paid and revoked.
CREATE TABLE IF NOT EXISTS auth_proxy_tokens (
    token_id TEXT PRIMARY KEY NOT NULL,
    identifier_hash BYTEA NOT NULL UNIQUE,
    payment_hash TEXT NOT NULL,
    service TEXT NOT NULL,
    price_sat BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    settled_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX IF NOT EXISTS auth_proxy_tokens_payment_hash ON auth_proxy_tokens (payment_hash);

-- How far the invoice subscription has read lnd's settle index (resumed after a restart).
CREATE TABLE IF NOT EXISTS auth_proxy_invoice_cursor (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    settle_index BIGINT NOT NULL
);
