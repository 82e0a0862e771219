//! An L402 reverse proxy for HTTP and gRPC services, compatible with Aperture's configuration.
