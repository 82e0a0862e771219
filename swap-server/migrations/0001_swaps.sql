-- Loop-out swaps and their state history.
-- Portable between SQLite and PostgreSQL: TEXT (hex for bytes) and BIGINT only.
CREATE TABLE swaps (
    swap_hash TEXT PRIMARY KEY,
    amount_sat BIGINT NOT NULL,
    fee_sat BIGINT NOT NULL,
    prepay_amt_sat BIGINT NOT NULL,
    receiver_key TEXT NOT NULL,
    sender_key TEXT NOT NULL,
    sender_secret TEXT NOT NULL,
    swap_invoice TEXT NOT NULL,
    swap_payment_addr TEXT NOT NULL,
    prepay_invoice TEXT NOT NULL,
    prepay_hash TEXT NOT NULL,
    prepay_preimage TEXT NOT NULL,
    expiry_height BIGINT NOT NULL,
    payment_deadline_ns BIGINT NOT NULL,
    token_id TEXT,
    user_agent TEXT NOT NULL,
    protocol_version BIGINT NOT NULL,
    state BIGINT NOT NULL,
    state_seq BIGINT NOT NULL,
    state_ns BIGINT NOT NULL,
    htlc_txid TEXT,
    htlc_published_ns BIGINT,
    timeout_txid TEXT,
    preimage TEXT,
    created_ns BIGINT NOT NULL
);

CREATE INDEX swaps_state_idx ON swaps (state);
CREATE INDEX swaps_token_id_idx ON swaps (token_id);

CREATE TABLE swap_updates (
    swap_hash TEXT NOT NULL REFERENCES swaps (swap_hash),
    seq BIGINT NOT NULL,
    state BIGINT NOT NULL,
    timestamp_ns BIGINT NOT NULL,
    PRIMARY KEY (swap_hash, seq)
);
