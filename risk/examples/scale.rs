//! Assesses a synthetic hospital: `cargo run --release --example scale -- DEVICES STAFF` (for timing and
//! peak memory under `/usr/bin/time -v`).

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "an example and a benchmark report on the terminal")]
#![allow(clippy::cast_possible_truncation, reason = "small test graphs and synthetic sizes")]

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let devices: usize = args.next().map_or(Ok(10_000), |s| s.parse())?;
    let staff: usize = args.next().map_or(Ok(10_000), |s| s.parse())?;
    let t = Instant::now();
    let inputs = panacea_risk::generate::hospital(7, devices, staff);
    println!("generated {devices} devices, {staff} staff in {:?}", t.elapsed());
    let t = Instant::now();
    let a = panacea_risk::assess(&inputs)?;
    println!(
        "assessed in {:?}: {} risk rows, {} high-risk devices, hash {}",
        t.elapsed(),
        a.risk.len(),
        a.high_risk_devices.len(),
        a.hash()
    );
    for row in a.risk.iter().filter(|r| r.attacker == panacea_risk::AttackerKind::Professional) {
        println!(
            "  {:<14} L={:>6} impact={:>3} risk={:?}",
            row.service_level, row.likelihood_milli, row.impact, row.risk_level
        );
    }
    Ok(())
}
