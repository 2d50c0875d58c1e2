#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Rollout benchmarks: (1) the SUMO-comparable workload (3-lane motorway, 150 vehicles,
//! 1500 steps of 0.1 s, recording on), (2) a 150 s scene on the 6 km mixed network end to
//! end (generation, world, rollout, recording), (3) scaling from 10 to 10 000 actors.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use roadworld_sim::{World, workloads};
use std::hint::black_box;
use std::time::Duration;

fn world(spec: &roadworld_spec::ScenarioSpec, seed: u64) -> World {
    let net = roadworld_road::generate(&spec.road, seed).unwrap();
    World::new(net, spec, seed).unwrap()
}

fn sumo_comparable(c: &mut Criterion) {
    let spec = workloads::sumo_comparable();
    let mut g = c.benchmark_group("sumo_comparable");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    // Vehicle-updates per run, for the throughput line (the vehicle count holds at 150).
    let probe = {
        let mut w = world(&spec, 1);
        w.record_for(1500);
        for _ in 0..1500 {
            w.step();
        }
        w.take_recording().unwrap().samples.len() as u64
    };
    g.throughput(Throughput::Elements(probe));
    g.bench_function("1500_steps_recorded", |b| {
        b.iter_batched(
            || {
                let mut w = world(&spec, 1);
                w.record_for(1500);
                w
            },
            |mut w| {
                for _ in 0..1500 {
                    w.step();
                }
                black_box(w.take_recording())
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn mixed_end_to_end(c: &mut Criterion) {
    let spec = workloads::mixed_6km();
    let mut g = c.benchmark_group("mixed_6km");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    let mut seed = 0;
    g.bench_function("150s_end_to_end", |b| {
        b.iter(|| {
            seed = (seed + 1) % 8;
            let mut w = world(&spec, seed);
            w.record_for(1500);
            for _ in 0..1500 {
                w.step();
            }
            black_box(w.take_recording())
        })
    });
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling_300_steps");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for n in [10u32, 100, 1000, 10_000] {
        let spec = workloads::scaling(n);
        let base = world(&spec, 1);
        g.throughput(Throughput::Elements(n as u64 * 300));
        g.bench_function(format!("{n}_actors"), |b| {
            b.iter_batched(
                || World::new(base.net.clone(), &spec, 1).unwrap(),
                |mut w| {
                    for _ in 0..300 {
                        w.step();
                    }
                    black_box(w.actors.len())
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, sumo_comparable, mixed_end_to_end, scaling);
criterion_main!(benches);
