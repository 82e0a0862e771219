//! The committed files the kit generates are what it generates now: `vectors.json` (deterministic
//! inputs, so regenerating gives the same bytes) and the case tables in the README.

#[test]
fn regenerating_the_vectors_gives_the_committed_file() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/vectors.json"))
        .expect("vectors.json is committed");
    assert_eq!(
        l402_conformance::vectors::document_text(),
        committed,
        "run `cargo run -p l402-conformance -- vectors --out l402-conformance/vectors.json`"
    );
}

#[test]
fn the_readme_holds_the_case_tables() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README is committed");
    for (mode, cases) in [
        ("server", l402_conformance::server::cases::all()),
        ("client", l402_conformance::client::cases::all()),
    ] {
        let table = l402_conformance::cases_markdown(&cases);
        assert!(
            readme.contains(&table),
            "paste the output of `l402-conformance cases {mode}` into the README"
        );
    }
}
