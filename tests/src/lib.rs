//! End-to-end tests of the whole L402 loop-out sequence.
