//! Writes the sample hospital `testnet/sample-hospital/hospital-a/` (seed 1, 300 devices, 250 staff) and its assessment.
//!
//! `cargo run --example write_sample` from the crate directory.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "an example and a benchmark report on the terminal")]
#![allow(clippy::cast_possible_truncation, reason = "small test graphs and synthetic sizes")]

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testnet/sample-hospital/hospital-a");
    std::fs::create_dir_all(&dir)?;
    let inputs = panacea_risk::generate::hospital(1, 300, 250);
    for (name, bytes) in inputs.to_documents()? {
        std::fs::write(dir.join(&name), &bytes)?;
        println!("{name}: {} bytes, sha256 {}", bytes.len(), panacea_risk::input_hash(&bytes));
    }
    let a = panacea_risk::assess(&inputs)?;
    let mut pretty = serde_json::to_vec_pretty(&a)?;
    pretty.push(b'\n');
    std::fs::write(dir.join("assessment.json"), pretty)?;
    println!("assessment hash {}", a.hash());
    Ok(())
}
