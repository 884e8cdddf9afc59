//! Runs every listing of the book. The examples are compiled as programs by cargo too; here
//! each one's `main` runs inside the test binary, so a listing that stops working fails the
//! test suite, not only the book's transcript check.

#[path = "../examples/coalescing.rs"]
mod coalescing;
#[path = "../examples/device_payloads.rs"]
mod device_payloads;
#[path = "../examples/publish_batch.rs"]
mod publish_batch;
#[path = "../examples/token_exchange.rs"]
mod token_exchange;
#[path = "../examples/tokens.rs"]
mod tokens;

type Main = fn() -> Result<(), Box<dyn std::error::Error>>;

/// Runs a listing's `main`, failing with its error.
fn run(main: Main) {
    if let Err(error) = main() {
        panic!("the listing failed: {error}");
    }
}

#[test]
fn tokens_listing_runs() {
    run(tokens::main);
}

#[test]
fn token_exchange_listing_runs() {
    run(token_exchange::main);
}

#[test]
fn publish_batch_listing_runs() {
    run(publish_batch::main);
}

#[test]
fn device_payloads_listing_runs() {
    run(device_payloads::main);
}

#[test]
fn coalescing_listing_runs() {
    run(coalescing::main);
}

/// Every example file is run above: a new listing must be added here too.
#[test]
fn every_example_is_run() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let runner = std::fs::read_to_string(here.join("tests/listings.rs")).unwrap_or_default();
    let examples = std::fs::read_dir(here.join("examples")).map(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    });
    let examples = examples.unwrap_or_default();
    assert!(!examples.is_empty());
    for name in examples {
        assert!(
            runner.contains(&format!("\"../examples/{name}\"")),
            "examples/{name} is not run by tests/listings.rs"
        );
    }
}
