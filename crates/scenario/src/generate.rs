//! One scenario from a spec and a seed: the resolved spec, the rollout, and what each event
//! did to the ego (criticality, solvability, whether it met its target).
//!
//! Per event, the criticality is the ego's against the event's own road users (the cutter,
//! the braking leader, the staged obstacle) from the moment the event acts to its end; an
//! event with no road users of its own (a fog bank) is measured against everyone who comes
//! within [`NEAR_M`] of the ego meanwhile. The scene's criticality is the ego's against
//! everyone who comes within [`NEAR_M`], over the whole rollout.

use crate::criticality::{Criticality, measure, tracks};
use crate::solvability::{Solvability, solve};
use roadworld_road::Network;
use roadworld_sim::world::Outcome;
use roadworld_sim::{Recording, World};
use roadworld_spec::{ScenarioSpec, Target};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// Road users within this distance of the ego count for criticality without an event actor.
pub const NEAR_M: f64 = 60.0;
/// Solvability looks this far past an event's end.
const SOLVE_TAIL_S: f64 = 2.0;
/// Longest solvability horizon.
const SOLVE_MAX_S: f64 = 20.0;

/// Why a scenario could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("road network: {0}")]
    Road(#[from] roadworld_road::GenError),
    #[error(transparent)]
    Sim(#[from] roadworld_sim::SimError),
}

/// A generated scenario.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Every drawn value fixed, with its seed: generating it again gives this scenario.
    pub spec: ScenarioSpec,
    pub network: Network,
    pub recording: Recording,
    pub summary: Summary,
}

/// What a scenario's summary says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub name: String,
    pub seed: u64,
    pub duration_s: f64,
    pub step_s: f64,
    /// Road users recorded.
    pub actors: usize,
    /// The ego (index into the recording's actors).
    pub ego: Option<u32>,
    /// The ego against everyone near it, over the whole scene.
    pub scene: Criticality,
    pub events: Vec<EventSummary>,
    /// Whether every event with a target met it (true without targets).
    pub on_target: bool,
}

/// One event of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    pub index: usize,
    /// Catalog name (`cut_in`, ...).
    pub kind: String,
    /// NHTSA pre-crash scenario type.
    pub nhtsa: String,
    /// The event's parameters, resolved.
    pub parameters: BTreeMap<String, f64>,
    pub start_s: Option<f64>,
    /// When it acted (the cutter left its lane, the leader began to brake, the obstacle
    /// was placed).
    pub action_s: Option<f64>,
    pub end_s: Option<f64>,
    /// `done`, `incomplete` (ran out of time, or the ego left), `running` (at the scene's
    /// end), `pending`, or `skipped: <why>`.
    pub outcome: String,
    /// Its road users (indices into the recording's actors).
    pub actors: Vec<u32>,
    pub criticality: Criticality,
    /// Searched when the ego touched someone during the event.
    pub solvability: Option<Solvability>,
    /// Where the event missed its target (empty: met, or no target).
    pub misses: Vec<String>,
}

impl EventSummary {
    /// Played out and met its target.
    pub fn on_target(&self) -> bool {
        self.outcome == "done" && self.misses.is_empty()
    }
}

/// The value a target range (by its name in [`Target::ranges`]) is checked against.
pub(crate) fn measured(c: &Criticality, name: &str) -> Option<f64> {
    let e = match name {
        "min_ttc_s" => c.min_ttc_s,
        "min_thw_s" => c.min_thw_s,
        "pet_s" => c.pet_s,
        "min_distance_m" => c.min_distance_m,
        "max_drac_mps2" => c.max_drac_mps2,
        _ => None,
    };
    e.map(|e| e.value)
}

/// Where `c` and `s` miss `target` (empty when they meet it).
pub fn misses(target: &Target, c: &Criticality, s: Option<&Solvability>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, range) in target.ranges() {
        match measured(c, name) {
            Some(v) if v >= range.min && v <= range.max => {}
            Some(v) => out.push(format!(
                "{name} {v:.3} outside [{}, {}]",
                range.min, range.max
            )),
            None => out.push(format!("{name} never measured")),
        }
    }
    if let Some(want) = target.avoidable {
        let got = s.is_none_or(|s| s.avoidable);
        if got != want {
            out.push(format!("avoidable {got}, asked {want}"));
        }
    }
    out
}

/// Road users other than `ego` that come within `radius_m` of it in `frames`.
fn near(rec: &Recording, ego: u32, frames: Range<usize>, radius_m: f32) -> Vec<u32> {
    let mut out = BTreeSet::new();
    for k in frames {
        let f = rec.frame(k);
        let Some(e) = f.iter().find(|s| s.actor == ego) else {
            continue;
        };
        for s in f {
            if s.actor != ego && (s.x_m - e.x_m).hypot(s.y_m - e.y_m) < radius_m {
                out.insert(s.actor);
            }
        }
    }
    out.into_iter().collect()
}

/// The ego's criticality against `others` over `frames`.
fn measure_ego(rec: &Recording, ego: u32, others: &[u32], frames: Range<usize>) -> Criticality {
    let mut ts = tracks(rec, &[&[ego], others].concat());
    let ego_track = ts.remove(0);
    measure(&ego_track, &ts, frames, rec.step_s)
}

fn frame_of(t_s: f64, step_s: f64) -> usize {
    (t_s / step_s).round().max(0.0) as usize
}

/// Generates the scenario of `spec` with `seed` (a resolved spec keeps its own seed), running
/// it for the spec's duration; `solve`: search evasive manoeuvres where the ego was hit.
pub fn generate(
    spec: &ScenarioSpec,
    seed: u64,
    solve_events: bool,
) -> Result<Generated, GenerateError> {
    generate_with(spec, seed, solve_events, false)
}

/// [`generate`], stopping early once every event is over (or was skipped) when `until_over`:
/// the events' summaries are the same as in the full run; the scene's criticality is not
/// measured then (it stays empty: a cut rollout would not give the whole scene's anyway, and
/// measuring the ego against everyone near it is most of a try's cost).
pub fn generate_with(
    spec: &ScenarioSpec,
    seed: u64,
    solve_events: bool,
    until_over: bool,
) -> Result<Generated, GenerateError> {
    let mut r = Rollout::start(spec, seed, solve_events)?;
    r.run(until_over);
    Ok(r.finish(until_over))
}

/// A scenario being rolled out: [`generate_with`] in steps, so that a rollout stopped once
/// its events are over can be looked at and then run on to the end (the same bytes as a
/// rollout run to the end at once: stopping only skips steps, it changes nothing).
pub(crate) struct Rollout {
    resolved: ScenarioSpec,
    seed: u64,
    net: Network,
    world: World,
    steps: u64,
    done: u64,
    solve_events: bool,
    /// The world as each event acts, for the solvability search.
    forks: Vec<Option<World>>,
}

impl Rollout {
    pub(crate) fn start(
        spec: &ScenarioSpec,
        seed: u64,
        solve_events: bool,
    ) -> Result<Self, GenerateError> {
        let seed = spec.seed.unwrap_or(seed);
        let resolved = if spec.seed.is_some() {
            spec.clone()
        } else {
            roadworld_spec::resolve(spec, seed)
        };
        let mut net = roadworld_road::generate(&resolved.road, seed)?;
        net.name = format!("{} seed {seed}", resolved.name);
        let mut world = World::new(net.clone(), &resolved, seed)?;
        let steps = (resolved.sim.duration_s / world.step_s).round() as u64;
        world.record_for(steps);
        let forks = vec![None; world.event_log.len()];
        Ok(Self {
            resolved,
            seed,
            net,
            world,
            steps,
            done: 0,
            solve_events,
            forks,
        })
    }

    /// Steps on to the spec's duration, or (`until_over`) until every event is over or was
    /// skipped.
    pub(crate) fn run(&mut self, until_over: bool) {
        let world = &mut self.world;
        while self.done < self.steps {
            if until_over
                && world
                    .event_log
                    .iter()
                    .all(|r| matches!(r.outcome, Outcome::Done { .. } | Outcome::Skipped(_)))
            {
                break;
            }
            world.step();
            self.done += 1;
            for (k, fork) in self.forks.iter_mut().enumerate() {
                if fork.is_none() && world.event_log[k].action_s.is_some() && self.solve_events {
                    *fork = Some(world.fork());
                }
            }
        }
    }

    /// Seconds rolled out so far.
    pub(crate) fn simulated_s(&self) -> f64 {
        self.done as f64 * self.world.step_s
    }

    /// The summary of the rollout so far; without the scene's criticality when `cut`.
    pub(crate) fn summary(&mut self, cut: bool) -> Summary {
        let rec = self
            .world
            .recording()
            .expect("recording started with the rollout");
        summarise(
            &self.resolved,
            self.seed,
            &self.world,
            rec,
            &mut self.forks,
            cut,
        )
    }

    /// The scenario as rolled out so far; without the scene's criticality when `cut`.
    pub(crate) fn finish(mut self, cut: bool) -> Generated {
        let summary = self.summary(cut);
        let recording = self
            .world
            .take_recording()
            .expect("recording started with the rollout");
        Generated {
            spec: self.resolved,
            network: self.net,
            recording,
            summary,
        }
    }
}

/// The summary of `world`'s rollout recorded in `rec` (see [`Rollout::summary`]).
fn summarise(
    resolved: &ScenarioSpec,
    seed: u64,
    world: &World,
    rec: &Recording,
    forks: &mut [Option<World>],
    cut: bool,
) -> Summary {
    let log = &world.event_log;
    let ids: Vec<_> = world.actors.iter().map(|a| a.id).collect();
    let step_s = rec.step_s;
    let by_id: BTreeMap<_, u32> = rec
        .actors
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id, i as u32))
        .collect();
    let ego = rec.actors.iter().position(|a| a.ego).map(|i| i as u32);
    let all_frames = 0..rec.frames();
    let scene = match ego {
        Some(_) if cut => Criticality::default(),
        Some(e) => {
            let others = near(rec, e, all_frames.clone(), NEAR_M as f32);
            measure_ego(rec, e, &others, all_frames.clone())
        }
        None => Criticality::default(),
    };
    let mut events = Vec::new();
    for (k, r) in log.iter().enumerate() {
        let actors: Vec<u32> = r
            .actors
            .iter()
            .filter_map(|&j| ids.get(j as usize).and_then(|id| by_id.get(id)).copied())
            .collect();
        let (outcome, end_s) = match &r.outcome {
            Outcome::Pending => ("pending".to_string(), None),
            Outcome::Running => ("running".to_string(), None),
            Outcome::Done {
                end_s,
                completed: true,
            } => ("done".to_string(), Some(*end_s)),
            Outcome::Done {
                end_s,
                completed: false,
            } => ("incomplete".to_string(), Some(*end_s)),
            Outcome::Skipped(why) => (format!("skipped: {why}"), None),
        };
        let from = r.action_s.or(r.start_s);
        let mut criticality = Criticality::default();
        let mut solvability = None;
        if let (Some(e), Some(from)) = (ego, from) {
            let frames = frame_of(from, step_s)..end_s.map_or(rec.frames(), |t| {
                (frame_of(t, step_s) + 1).min(rec.frames())
            });
            let others = if actors.is_empty() {
                near(rec, e, frames.clone(), NEAR_M as f32)
            } else {
                actors.clone()
            };
            criticality = measure_ego(rec, e, &others, frames);
            if let Some(at) = forks[k].as_mut() {
                let until = end_s.unwrap_or(resolved.sim.duration_s) + SOLVE_TAIL_S;
                let horizon = (until - at.time_s()).clamp(1.0, SOLVE_MAX_S);
                solvability = Some(solve(at, criticality.collision.is_some(), horizon));
            }
        }
        let misses = if r.spec.target.is_set() {
            misses(&r.spec.target, &criticality, solvability.as_ref())
        } else {
            Vec::new()
        };
        events.push(EventSummary {
            index: r.index,
            kind: r.spec.kind.name().to_string(),
            nhtsa: r.spec.kind.nhtsa_type().to_string(),
            parameters: r
                .spec
                .kind
                .params()
                .iter()
                .filter_map(|p| r.spec.kind.value(p.name).map(|v| (p.name.to_string(), v)))
                .collect(),
            start_s: r.start_s,
            action_s: r.action_s,
            end_s,
            outcome,
            actors,
            criticality,
            solvability,
            misses,
        });
    }
    let on_target = events
        .iter()
        .zip(log)
        .all(|(e, r)| !r.spec.target.is_set() || e.on_target());
    Summary {
        name: resolved.name.clone(),
        seed,
        duration_s: resolved.sim.duration_s,
        step_s,
        actors: rec.actors.len(),
        ego,
        scene,
        events,
        on_target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollout_stopped_when_its_events_are_over_runs_on_to_the_same_scenario() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        for (name, seed) in [("cut-in", 5), ("red-light-runner", 7), ("debris", 9)] {
            let spec = roadworld_spec::load_spec(&dir.join(format!("{name}.ron"))).unwrap();
            let resolved = roadworld_spec::resolve(&spec, seed);
            let whole = generate_with(&resolved, seed, true, false).unwrap();
            let mut r = Rollout::start(&resolved, seed, true).unwrap();
            r.run(true);
            assert!(
                r.done < r.steps,
                "{name}: ran {} of {} steps",
                r.done,
                r.steps
            );
            let cut = r.summary(true);
            assert_eq!(
                cut,
                generate_with(&resolved, seed, true, true).unwrap().summary
            );
            r.run(false);
            assert_eq!(r.done, r.steps);
            let on = r.finish(false);
            assert_eq!(on.summary, whole.summary, "{name}");
            assert!(on.recording == whole.recording, "{name}: recordings differ");
            assert_eq!(
                roadworld_spec::to_ron(&on.spec),
                roadworld_spec::to_ron(&whole.spec)
            );
        }
    }
}
