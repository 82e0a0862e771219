//! A simulated Loop server that runs loop-out swaps against its own lnd node.
