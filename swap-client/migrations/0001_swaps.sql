-- loopd's swaps: one row per loop out, plus every state it went through.
CREATE TABLE swaps (
    swap_hash              TEXT PRIMARY KEY NOT NULL,   -- hex, the swap id
    preimage               BLOB NOT NULL,               -- secret until the HTLC is published
    amount_sat             INTEGER NOT NULL,
    dest                   TEXT NOT NULL,
    label                  TEXT NOT NULL,
    swap_invoice           TEXT NOT NULL,
    prepay_invoice         TEXT NOT NULL,
    swap_invoice_amt_sat   INTEGER NOT NULL,
    prepay_invoice_amt_sat INTEGER NOT NULL,
    receiver_key           BLOB NOT NULL,
    sender_key             BLOB NOT NULL,
    expiry_height          INTEGER NOT NULL,
    max_swap_fee           INTEGER NOT NULL,
    max_prepay_amt         INTEGER NOT NULL,
    max_swap_routing_fee   INTEGER NOT NULL,
    max_prepay_routing_fee INTEGER NOT NULL,
    max_miner_fee          INTEGER NOT NULL,
    server_message         TEXT NOT NULL,
    initiation_time_ns     INTEGER NOT NULL,
    state                  INTEGER NOT NULL,            -- looprpc.SwapState
    failure_reason         INTEGER NOT NULL,            -- looprpc.FailureReason
    last_update_time_ns    INTEGER NOT NULL,
    cost_server_sat        INTEGER NOT NULL DEFAULT 0,
    cost_onchain_sat       INTEGER NOT NULL DEFAULT 0,
    cost_offchain_sat      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE swap_updates (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    swap_hash      TEXT NOT NULL REFERENCES swaps (swap_hash),
    state          INTEGER NOT NULL,
    update_time_ns INTEGER NOT NULL
);

CREATE INDEX swap_updates_by_swap ON swap_updates (swap_hash);
