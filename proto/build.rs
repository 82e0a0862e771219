//! Generates the gRPC clients and servers from `proto/**.proto`, and their descriptor set.
//!
//! `protoc` comes from the `PROTOC` environment variable when it is set, and
//! otherwise from the `protoc-bin-vendored` crate, so a fresh machine needs no
//! system package to build the workspace.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PROTOC").is_none() {
        std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?);
    }
    let files = [
        "proto/lnrpc/lightning.proto",
        "proto/routerrpc/router.proto",
        "proto/invoicesrpc/invoices.proto",
        "proto/looprpc/server.proto",
        "proto/looprpc/client.proto",
        "proto/pricesrpc/prices.proto",
    ];
    // The descriptors let a program read and write these messages by name, e.g. as protobuf JSON.
    let descriptors = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("descriptors.bin");
    tonic_prost_build::configure()
        .file_descriptor_set_path(descriptors)
        .compile_protos(&files, &["proto"])?;
    println!("cargo:rerun-if-changed=build.rs");
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    Ok(())
}
