//! Targeted generation: scenarios whose events land in the criticality their specs ask for.
//!
//! An event with a `target` (ranges of min TTC, min THW, PET, min distance, max DRAC, and
//! `avoidable`) has its parameters adapted by the cross-entropy method. Each try is a whole
//! scenario (its own seed: road, traffic, environment) whose targeted events take parameters
//! drawn from the current search distribution; the rollout stops once every event is over.
//! After each generation of [`TargetOptions::population`] tries, each targeted event's search
//! distribution (a clamped normal per parameter, within the spec's own range for it) is refit
//! to the best three eighths of the generation's tries, scored by how far they missed; each
//! try after the first generation takes, of 32 candidates drawn from the search, the one a
//! local linear model of the measures (fitted to every try that played out) predicts nearest
//! the middle of the target ranges. The first try that meets
//! every target is the scenario: its rollout runs on to the spec's duration (the same bytes
//! as any later run of its resolved spec). The first generation draws from the spec's own
//! distributions, so a target the spec's prior already meets costs nothing extra.
//!
//! Parameters the spec fixes, or gives as a weighted choice, are not adapted.

use crate::generate::{EventSummary, GenerateError, Generated, Rollout, generate_with, measured};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use roadworld_spec::traffic::Dist;
use roadworld_spec::{ScenarioSpec, Target, stream_seed};

/// How hard targeted generation tries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetOptions {
    /// Tries before giving up.
    pub max_tries: u32,
    /// Tries per generation of the cross-entropy method.
    pub population: u32,
}

impl Default for TargetOptions {
    fn default() -> Self {
        Self {
            max_tries: 96,
            population: 8,
        }
    }
}

/// A scenario that met its targets, and what it took.
#[derive(Debug, Clone)]
pub struct Targeted {
    pub generated: Generated,
    /// Scenarios rolled out to find it (1: the first met the targets).
    pub tries: u32,
    /// Each of those tries (empty where the spec asks for no target).
    pub log: Vec<Try>,
}

/// One try of a targeted generation: its seed, how long it was rolled out and its events
/// as measured then (drawn parameters, outcome, criticality, target misses).
#[derive(Debug, Clone, PartialEq)]
pub struct Try {
    pub seed: u64,
    /// Simulated seconds (a try stops once its events are over, unless on target).
    pub simulated_s: f64,
    /// Whether every targeted event played out and met its target.
    pub on_target: bool,
    pub events: Vec<EventSummary>,
}

/// Why targeted generation failed.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error(
        "no scenario met the target{which} in {tries} tries; the closest (seed {seed}) missed: {closest}"
    )]
    Missed {
        which: String,
        tries: u32,
        seed: u64,
        closest: String,
        /// Every try.
        log: Vec<Try>,
    },
    #[error("{0}")]
    Impossible(String),
}

/// Label of the per-try seed streams.
const TRY_STREAM: u64 = 0x7A26_0000_0000;
const PARAM_STREAM: u64 = 0x7A27_0000_0000;
/// Share of a generation refit to.
const ELITE: f64 = 0.375;
/// Smallest search spread, as a share of the parameter's range.
const MIN_SPREAD: f64 = 0.1;
/// Weight of the new fit against the old distribution.
const SMOOTHING: f64 = 0.7;

/// How far an event missed its target: 0 when met; each measure adds its distance outside
/// its range over the range's width (a measure never taken adds 10), a wrong `avoidable` 1,
/// an event that did not play out 100.
pub fn miss_score(e: &EventSummary, target: &Target) -> f64 {
    let mut score = if e.outcome == "done" { 0.0 } else { 100.0 };
    for (name, r) in target.ranges() {
        let width = (r.max - r.min).max(0.1);
        score += match measured(&e.criticality, name) {
            None => 10.0,
            Some(x) if x < r.min => (r.min - x) / width,
            Some(x) if x > r.max => (x - r.max) / width,
            Some(_) => 0.0,
        };
    }
    if let Some(want) = target.avoidable {
        let got = e.solvability.is_none_or(|s| s.avoidable);
        if got != want {
            score += 1.0;
        }
    }
    score
}

/// A try that played out: its parameters and each target measure (in `Target::ranges` order).
#[derive(Debug, Clone)]
struct Seen {
    params: Vec<f64>,
    measured: Vec<Option<f64>>,
}

/// The event's value of each measure its target ranges.
fn measures(e: &EventSummary, target: &Target) -> Vec<Option<f64>> {
    target
        .ranges()
        .iter()
        .map(|(name, _)| measured(&e.criticality, name))
        .collect()
}

/// Candidates drawn per proposal.
const CANDIDATES: usize = 32;

/// The next parameters to try for one event: [`CANDIDATES`] drawn from the search, and the
/// one a model of the tries so far predicts nearest the middle of the target ranges. The
/// model, per measure, is a ridge regression on the adapted parameters (scaled to their
/// ranges), each try weighted by its closeness to the search's centre (so the fit is local
/// where the measure curves). Too few tries for a model: the first candidate.
fn propose(
    search: &[Option<Search>],
    seen: &[Seen],
    target: &Target,
    rng: &mut ChaCha8Rng,
) -> Vec<Option<f64>> {
    let candidates: Vec<Vec<Option<f64>>> = (0..CANDIDATES)
        .map(|_| {
            search
                .iter()
                .map(|s| {
                    s.map(|s| {
                        Dist::Normal {
                            mean: s.mean,
                            sd: s.sd,
                            min: s.min,
                            max: s.max,
                        }
                        .sample(rng)
                    })
                })
                .collect()
        })
        .collect();
    let adapted: Vec<usize> = (0..search.len()).filter(|&p| search[p].is_some()).collect();
    let scaled = |p: usize, v: f64| {
        let s = search[p].expect("adapted");
        (v - s.min) / (s.max - s.min)
    };
    let ranges = target.ranges();
    let n_feat = adapted.len() + 1;
    let features = |params: &dyn Fn(usize) -> f64| {
        let mut f = vec![1.0];
        f.extend(adapted.iter().map(|&p| scaled(p, params(p))));
        f
    };
    // One model per measure, from the tries that measured it.
    let mut models = Vec::new();
    for (m, _) in ranges.iter().enumerate() {
        let rows: Vec<(Vec<f64>, f64, f64)> = seen
            .iter()
            .filter_map(|s| {
                let y = s.measured[m]?;
                let x = features(&|p| s.params[p]);
                let d2: f64 = adapted
                    .iter()
                    .map(|&p| {
                        let sr = search[p].expect("adapted");
                        let z = (s.params[p] - sr.mean) / (2.0 * sr.sd.max(1e-9));
                        z * z
                    })
                    .sum();
                Some((x, y, (-0.5 * d2).exp().max(1e-3)))
            })
            .collect();
        if rows.len() < n_feat + 2 {
            return candidates[0].clone();
        }
        let mut xtx = nalgebra::DMatrix::<f64>::zeros(n_feat, n_feat);
        let mut xty = nalgebra::DVector::<f64>::zeros(n_feat);
        for (x, y, w) in &rows {
            for a in 0..n_feat {
                xty[a] += w * x[a] * y;
                for b in 0..n_feat {
                    xtx[(a, b)] += w * x[a] * x[b];
                }
            }
        }
        for a in 1..n_feat {
            xtx[(a, a)] += 1e-3 * rows.len() as f64;
        }
        let Some(beta) = xtx.lu().solve(&xty) else {
            return candidates[0].clone();
        };
        models.push(beta);
    }
    let predicted_miss = |c: &Vec<Option<f64>>| -> f64 {
        let x = features(&|p| c[p].unwrap_or(0.0));
        ranges
            .iter()
            .zip(&models)
            .map(|((_, r), beta)| {
                let y: f64 = x.iter().zip(beta.iter()).map(|(a, b)| a * b).sum();
                let width = (r.max - r.min).max(0.1);
                ((y - 0.5 * (r.min + r.max)) / width).abs()
            })
            .sum()
    };
    candidates
        .iter()
        .min_by(|a, b| predicted_miss(a).total_cmp(&predicted_miss(b)))
        .cloned()
        .unwrap_or_default()
}

/// Search distribution of one adapted parameter.
#[derive(Debug, Clone, Copy)]
struct Search {
    min: f64,
    max: f64,
    mean: f64,
    sd: f64,
}

/// Targets the measures cannot reach, whatever the parameters.
fn check_reachable(spec: &ScenarioSpec) -> Result<(), TargetError> {
    for (i, e) in spec.events.iter().enumerate() {
        let t = &e.target;
        if let Some(r) = t.min_ttc_s
            && r.min > crate::criticality::HORIZON_S
        {
            return Err(TargetError::Impossible(format!(
                "events[{i}].target.min_ttc_s: TTC is measured up to {} s, asked at least {}",
                crate::criticality::HORIZON_S,
                r.min
            )));
        }
        if t.avoidable == Some(false) && t.min_distance_m.is_some_and(|r| r.min > 0.0) {
            return Err(TargetError::Impossible(format!(
                "events[{i}].target: an unavoidable event is a collision (distance 0), asked a min distance of at least {}",
                t.min_distance_m.map_or(0.0, |r| r.min)
            )));
        }
    }
    Ok(())
}

/// A scenario of `spec` whose targeted events all meet their targets (plain generation when
/// no event has a target).
pub fn generate_targeted(
    spec: &ScenarioSpec,
    seed: u64,
    opts: TargetOptions,
) -> Result<Targeted, TargetError> {
    let targeted: Vec<usize> = (0..spec.events.len())
        .filter(|&i| spec.events[i].target.is_set())
        .collect();
    if targeted.is_empty() || spec.seed.is_some() {
        return Ok(Targeted {
            generated: generate_with(spec, seed, true, false)?,
            tries: 1,
            log: Vec::new(),
        });
    }
    check_reachable(spec)?;
    // Which spec event each resolved event comes from.
    let origin: Vec<usize> = spec
        .events
        .iter()
        .enumerate()
        .flat_map(|(i, e)| std::iter::repeat_n(i, e.count as usize))
        .collect();
    // Per spec event and parameter: the search, where adapted.
    let mut searches: Vec<Vec<Option<Search>>> = spec
        .events
        .iter()
        .map(|e| {
            e.kind
                .dists()
                .iter()
                .map(|d| match **d {
                    Dist::Uniform { min, max } | Dist::Normal { min, max, .. } if max > min => {
                        Some(Search {
                            min,
                            max,
                            mean: 0.5 * (min + max),
                            sd: 0.5 * (max - min),
                        })
                    }
                    _ => None,
                })
                .collect()
        })
        .collect();
    let pop = opts.population.max(2);
    // Per spec event: the tries that played out, for the model.
    let mut seen: Vec<Vec<Seen>> = vec![Vec::new(); spec.events.len()];
    let mut best: Option<(f64, u64, String)> = None;
    // (spec event, parameter values, score) of this generation's tries.
    let mut history: Vec<(usize, Vec<f64>, f64)> = Vec::new();
    let mut log = Vec::new();
    for t in 0..opts.max_tries {
        let try_seed = if t == 0 {
            seed
        } else {
            stream_seed(seed, TRY_STREAM + t as u64)
        };
        let mut resolved = roadworld_spec::resolve(spec, try_seed);
        if t >= pop {
            let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(seed, PARAM_STREAM + t as u64));
            for (k, e) in resolved.events.iter_mut().enumerate() {
                let i = origin[k];
                if !spec.events[i].target.is_set() {
                    continue;
                }
                let pick = propose(&searches[i], &seen[i], &spec.events[i].target, &mut rng);
                for (d, v) in e.kind.dists_mut().into_iter().zip(pick) {
                    if let Some(v) = v {
                        *d = Dist::Fixed(v);
                    }
                }
            }
        }
        // Rolled out until its events are over; run on to the end only if it met the targets.
        let mut rollout = Rollout::start(&resolved, try_seed, true)?;
        rollout.run(true);
        let cut = rollout.summary(true);
        let mut total = 0.0;
        let mut misses = Vec::new();
        for (k, ev) in cut.events.iter().enumerate() {
            let i = origin[k];
            if !spec.events[i].target.is_set() {
                continue;
            }
            let score = miss_score(ev, &spec.events[i].target);
            if ev.outcome == "done" {
                let values: Vec<f64> = resolved.events[k]
                    .kind
                    .dists()
                    .iter()
                    .map(|d| d.bounds().0)
                    .collect();
                seen[i].push(Seen {
                    params: values,
                    measured: measures(ev, &spec.events[i].target),
                });
            }
            total += score;
            if score > 0.0 {
                misses.push(if ev.outcome == "done" {
                    format!("events[{i}] {}", ev.misses.join(", "))
                } else {
                    format!("events[{i}] {}", ev.outcome)
                });
            }
            let values = resolved.events[k]
                .kind
                .dists()
                .iter()
                .map(|d| d.bounds().0)
                .collect();
            history.push((i, values, score));
        }
        log.push(Try {
            seed: try_seed,
            simulated_s: rollout.simulated_s(),
            on_target: total == 0.0,
            events: cut.events,
        });
        if total == 0.0 {
            // On to the whole duration (the same scenario as one run to the end at once: the
            // events come out the same, which is checked rather than trusted).
            rollout.run(false);
            let generated = rollout.finish(false);
            if generated.summary.on_target {
                return Ok(Targeted {
                    generated,
                    tries: t + 1,
                    log,
                });
            }
        }
        if best.as_ref().is_none_or(|b| total < b.0) {
            best = Some((total, try_seed, misses.join("; ")));
        }
        if (t + 1) % pop == 0 {
            refit(&mut searches, &targeted, &history);
            history.clear();
        }
    }
    let (_, seed, closest) = best.unwrap_or_default();
    Err(TargetError::Missed {
        which: if targeted.len() == 1 {
            format!(" of events[{}]", targeted[0])
        } else {
            "s".to_string()
        },
        tries: opts.max_tries,
        seed,
        closest,
        log,
    })
}

/// Refits each targeted event's search to the best of this generation's tries (a
/// generation's own: carrying lucky draws over would pin the search where noise favoured it).
fn refit(
    searches: &mut [Vec<Option<Search>>],
    targeted: &[usize],
    history: &[(usize, Vec<f64>, f64)],
) {
    for &i in targeted {
        let mut tries: Vec<&(usize, Vec<f64>, f64)> = history.iter().filter(|g| g.0 == i).collect();
        if tries.len() < 2 {
            continue;
        }
        // Stable: equal scores keep the order they were tried in.
        tries.sort_by(|a, b| a.2.total_cmp(&b.2));
        let n = ((tries.len() as f64 * ELITE).ceil() as usize).clamp(2, tries.len());
        let elite = &tries[..n];
        for (p, slot) in searches[i].iter_mut().enumerate() {
            let Some(s) = slot else { continue };
            let mean = elite.iter().map(|g| g.1[p]).sum::<f64>() / n as f64;
            let var = elite.iter().map(|g| (g.1[p] - mean).powi(2)).sum::<f64>() / n as f64;
            let floor = MIN_SPREAD * (s.max - s.min);
            s.mean = SMOOTHING * mean + (1.0 - SMOOTHING) * s.mean;
            s.sd = (SMOOTHING * var.sqrt() + (1.0 - SMOOTHING) * s.sd).max(floor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criticality::{Criticality, Extreme};
    use roadworld_road::generate::params::RangeF;

    fn event(outcome: &str, ttc: Option<f64>) -> EventSummary {
        EventSummary {
            index: 0,
            kind: "cut_in".into(),
            nhtsa: String::new(),
            parameters: Default::default(),
            start_s: Some(1.0),
            action_s: Some(1.0),
            end_s: Some(2.0),
            outcome: outcome.into(),
            actors: vec![1],
            criticality: Criticality {
                min_ttc_s: ttc.map(|value| Extreme {
                    value,
                    at_s: 1.5,
                    actor: 1,
                }),
                ..Criticality::default()
            },
            solvability: None,
            misses: Vec::new(),
        }
    }

    #[test]
    fn the_miss_score_is_the_distance_outside_the_range_over_its_width() {
        let target = Target {
            min_ttc_s: Some(RangeF::new(1.0, 1.5)),
            ..Target::default()
        };
        assert_eq!(miss_score(&event("done", Some(1.2)), &target), 0.0);
        assert!((miss_score(&event("done", Some(2.0)), &target) - 1.0).abs() < 1e-12);
        assert!((miss_score(&event("done", Some(0.75)), &target) - 0.5).abs() < 1e-12);
        assert_eq!(miss_score(&event("done", None), &target), 10.0);
        assert_eq!(miss_score(&event("incomplete", Some(1.2)), &target), 100.0);
        let avoid = Target {
            avoidable: Some(false),
            ..Target::default()
        };
        // Nobody was hit: avoidable, and a target of unavoidable misses by 1.
        assert_eq!(miss_score(&event("done", None), &avoid), 1.0);
    }
}
