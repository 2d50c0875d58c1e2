//! Generate + OpenDRIVE export, end to end, for a 7-block network, a 6 km mixed network and
//! a 50 km mixed network. Seeds cycle over 32 values so no single lucky seed is timed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use roadworld_export::xodr::to_xodr;
use roadworld_road::{RoadParams, generate};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let cases = [
        (
            "7_blocks",
            RoadParams {
                length_m: 100_000.0,
                max_blocks: Some(7),
                ..RoadParams::default()
            },
        ),
        ("6_km_mixed", RoadParams::default()),
        (
            "50_km_mixed",
            RoadParams {
                length_m: 50_000.0,
                ..RoadParams::default()
            },
        ),
    ];
    let mut group = c.benchmark_group("generate_and_export_xodr");
    for (name, params) in cases {
        if name == "50_km_mixed" {
            group.sample_size(20);
        }
        let mut seed = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(name), &params, |b, p| {
            b.iter(|| {
                seed = (seed + 1) % 32;
                let net = generate(black_box(p), seed).expect("generate");
                black_box(to_xodr(&net).len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
