//! loopd and loop: the Loop client daemon and CLI, with a reusable L402 client.
