//! Assessing synthetic hospitals: 10^3 devices / 10^3 staff and 10^4 devices / 10^4 staff.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "an example and a benchmark report on the terminal")]
#![allow(clippy::cast_possible_truncation, reason = "small test graphs and synthetic sizes")]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("assess");
    g.sample_size(10);
    for (devices, staff) in [(1_000, 1_000), (10_000, 10_000)] {
        let inputs = panacea_risk::generate::hospital(7, devices, staff);
        g.bench_function(format!("{devices}_devices_{staff}_staff"), |b| {
            b.iter(|| panacea_risk::assess(black_box(&inputs)))
        });
    }
    let inputs = panacea_risk::generate::hospital(7, 1_000, 1_000);
    g.bench_function("what_if_ehr_1000", |b| {
        b.iter(|| panacea_risk::what_if(black_box(&inputs), "ehr", panacea_risk::AttackerKind::Professional, 5))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
