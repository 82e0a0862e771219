//! An in-memory Lightning network whose nodes speak a wire-compatible subset of lnd's gRPC API.
