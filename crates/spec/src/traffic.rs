//! The traffic part of a spec: who is on the road, how many, and how they drive.
//!
//! Behaviour parameters are [`Dist`]ributions; the simulator draws one value per actor from
//! the actor's own random stream, so adding an actor never changes anyone else's draw.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// A distribution of a real parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Dist {
    /// Always this value.
    Fixed(f64),
    /// Uniform over `[min, max]`.
    Uniform { min: f64, max: f64 },
    /// Normal, clamped to `[min, max]`.
    Normal {
        mean: f64,
        sd: f64,
        min: f64,
        max: f64,
    },
    /// One of a few values, each with a relative weight.
    Choice(Vec<Weighted<f64>>),
}

/// A value with a relative weight, for weighted choices.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weighted<T> {
    pub value: T,
    pub weight: f64,
}

/// Most options a weighted choice may have.
pub const MAX_CHOICES: usize = 64;

/// Picks one entry of a weighted list (the weights are checked to sum to > 0).
pub fn choose<'a, T, R: Rng + ?Sized>(options: &'a [Weighted<T>], rng: &mut R) -> &'a T {
    let total: f64 = options.iter().map(|o| o.weight).sum();
    let mut u = if total > 0.0 {
        rng.random_range(0.0..total)
    } else {
        0.0
    };
    for o in options {
        if u < o.weight {
            return &o.value;
        }
        u -= o.weight;
    }
    &options
        .iter()
        .rev()
        .find(|o| o.weight > 0.0)
        .or(options.last())
        .expect("a checked choice has options")
        .value
}

/// Checks the weights of a weighted list; the error is `(field path, message)`.
pub fn check_weights<T>(options: &[Weighted<T>], path: &str) -> Result<(), (String, String)> {
    if options.is_empty() || options.len() > MAX_CHOICES {
        return Err((
            path.to_string(),
            format!("needs 1 to {MAX_CHOICES} options, got {}", options.len()),
        ));
    }
    for (i, o) in options.iter().enumerate() {
        if !(o.weight.is_finite() && (0.0..=1e6).contains(&o.weight)) {
            return Err((
                format!("{path}[{i}].weight"),
                format!("must be in [0, 1000000], got {}", o.weight),
            ));
        }
    }
    if options.iter().map(|o| o.weight).sum::<f64>() <= 0.0 {
        return Err((path.to_string(), "at least one weight must be > 0".into()));
    }
    Ok(())
}

impl Dist {
    /// One draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            Dist::Choice(ref options) => *choose(options, rng),
            Dist::Fixed(v) => v,
            Dist::Uniform { min, max } => {
                if max > min {
                    rng.random_range(min..=max)
                } else {
                    min
                }
            }
            Dist::Normal { mean, sd, min, max } => {
                // Box-Muller: two uniforms, one normal.
                let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
                let u2: f64 = rng.random_range(0.0..1.0);
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                (mean + sd * z).clamp(min, max)
            }
        }
    }

    /// The smallest and largest value a draw can take.
    pub fn bounds(&self) -> (f64, f64) {
        match *self {
            Dist::Choice(ref options) => options
                .iter()
                .filter(|o| o.weight > 0.0)
                .fold((f64::MAX, f64::MIN), |(lo, hi), o| {
                    (lo.min(o.value), hi.max(o.value))
                }),
            Dist::Fixed(v) => (v, v),
            Dist::Uniform { min, max } | Dist::Normal { min, max, .. } => (min, max),
        }
    }

    /// The mean of a draw (for a clamped normal, the unclamped mean).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Choice(ref options) => {
                let w: f64 = options.iter().map(|o| o.weight).sum();
                options.iter().map(|o| o.value * o.weight).sum::<f64>() / w.max(f64::MIN_POSITIVE)
            }
            Dist::Fixed(v) => v,
            Dist::Uniform { min, max } => 0.5 * (min + max),
            Dist::Normal { mean, .. } => mean,
        }
    }

    /// Checks that every draw lies in `[lo, hi]`; the error is `(field path, message)`.
    pub fn check(&self, path: &str, lo: f64, hi: f64) -> Result<(), (String, String)> {
        let in_range = |name: &str, v: f64| {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err((
                    if name.is_empty() {
                        path.to_string()
                    } else {
                        format!("{path}.{name}")
                    },
                    format!("must be in [{lo}, {hi}], got {v}"),
                ))
            }
        };
        match *self {
            Dist::Choice(ref options) => {
                check_weights(options, path)?;
                for (i, o) in options.iter().enumerate() {
                    in_range(&format!("[{i}].value"), o.value)
                        .map_err(|(p, m)| (p.replacen(".[", "[", 1), m))?;
                }
                Ok(())
            }
            Dist::Fixed(v) => in_range("", v),
            Dist::Uniform { min, max } => {
                in_range("min", min)?;
                in_range("max", max)?;
                if min > max {
                    return Err((
                        format!("{path}.max"),
                        format!("must be >= min ({min}), got {max}"),
                    ));
                }
                Ok(())
            }
            Dist::Normal { mean, sd, min, max } => {
                in_range("min", min)?;
                in_range("max", max)?;
                if min > max {
                    return Err((
                        format!("{path}.max"),
                        format!("must be >= min ({min}), got {max}"),
                    ));
                }
                if !(mean.is_finite() && mean >= min && mean <= max) {
                    return Err((
                        format!("{path}.mean"),
                        format!("must be in [min, max] = [{min}, {max}], got {mean}"),
                    ));
                }
                if !(sd.is_finite() && sd >= 0.0) {
                    return Err((format!("{path}.sd"), format!("must be >= 0, got {sd}")));
                }
                Ok(())
            }
        }
    }
}

/// Kinds of road users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ActorKind {
    Car,
    Van,
    Truck,
    Bus,
    Motorcycle,
    Bicycle,
    Pedestrian,
    Animal,
    StaticObstacle,
}

impl ActorKind {
    /// Every kind, in order.
    pub const ALL: [ActorKind; 9] = [
        ActorKind::Car,
        ActorKind::Van,
        ActorKind::Truck,
        ActorKind::Bus,
        ActorKind::Motorcycle,
        ActorKind::Bicycle,
        ActorKind::Pedestrian,
        ActorKind::Animal,
        ActorKind::StaticObstacle,
    ];
    /// Lower-case name, for outputs.
    pub fn name(self) -> &'static str {
        match self {
            ActorKind::Car => "car",
            ActorKind::Van => "van",
            ActorKind::Truck => "truck",
            ActorKind::Bus => "bus",
            ActorKind::Motorcycle => "motorcycle",
            ActorKind::Bicycle => "bicycle",
            ActorKind::Pedestrian => "pedestrian",
            ActorKind::Animal => "animal",
            ActorKind::StaticObstacle => "static_obstacle",
        }
    }
    /// Motor vehicles that use driving lanes.
    pub fn is_motor_vehicle(self) -> bool {
        matches!(
            self,
            ActorKind::Car
                | ActorKind::Van
                | ActorKind::Truck
                | ActorKind::Bus
                | ActorKind::Motorcycle
        )
    }
}

/// A kind with a relative weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindWeight {
    pub kind: ActorKind,
    pub weight: f64,
}

/// One value per road class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerClass {
    pub motorway: f64,
    pub rural: f64,
    pub urban: f64,
}

/// How drivers drive: one draw per actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriverDist {
    /// Desired speed as a multiple of the speed limit.
    pub desired_speed_factor: Dist,
    /// Desired time gap to the leader.
    pub time_headway_s: Dist,
    /// Gap kept when standing.
    pub min_gap_m: Dist,
    /// Largest acceleration used (further capped by the vehicle kind).
    pub max_accel_mps2: Dist,
    /// Comfortable deceleration.
    pub comfortable_decel_mps2: Dist,
    /// MOBIL politeness: weight of the others' advantage in lane-change decisions.
    pub politeness: Dist,
    /// Delay before moving off when the way ahead clears.
    pub reaction_s: Dist,
}

impl Default for DriverDist {
    fn default() -> Self {
        Self {
            desired_speed_factor: Dist::Normal {
                mean: 1.0,
                sd: 0.08,
                min: 0.8,
                max: 1.2,
            },
            time_headway_s: Dist::Normal {
                mean: 1.4,
                sd: 0.25,
                min: 1.0,
                max: 2.2,
            },
            min_gap_m: Dist::Uniform { min: 2.0, max: 3.0 },
            max_accel_mps2: Dist::Normal {
                mean: 1.6,
                sd: 0.3,
                min: 1.0,
                max: 2.5,
            },
            comfortable_decel_mps2: Dist::Normal {
                mean: 2.0,
                sd: 0.3,
                min: 1.5,
                max: 3.0,
            },
            politeness: Dist::Uniform { min: 0.1, max: 0.5 },
            reaction_s: Dist::Uniform { min: 0.4, max: 1.0 },
        }
    }
}

impl DriverDist {
    /// Checks every range.
    pub fn validate(&self, path: &str) -> Result<(), (String, String)> {
        self.desired_speed_factor
            .check(&format!("{path}.desired_speed_factor"), 0.3, 1.6)?;
        self.time_headway_s
            .check(&format!("{path}.time_headway_s"), 0.5, 4.0)?;
        self.min_gap_m
            .check(&format!("{path}.min_gap_m"), 1.0, 10.0)?;
        self.max_accel_mps2
            .check(&format!("{path}.max_accel_mps2"), 0.3, 4.0)?;
        self.comfortable_decel_mps2
            .check(&format!("{path}.comfortable_decel_mps2"), 0.5, 4.0)?;
        self.politeness
            .check(&format!("{path}.politeness"), 0.0, 1.0)?;
        self.reaction_s
            .check(&format!("{path}.reaction_s"), 0.0, 2.5)
    }
}

/// Background traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrafficSpec {
    /// Target vehicles per km per driving lane, by road class; held over the whole run.
    pub density_per_km_lane: PerClass,
    /// Vehicle kinds and their shares.
    pub mix: Vec<KindWeight>,
    /// Drivers of background vehicles.
    pub driver: DriverDist,
    /// Pedestrians per km of sidewalk.
    pub pedestrians_per_km: f64,
    /// Cyclists per km of bike lane.
    pub cyclists_per_km: f64,
    /// Pedestrians and cyclists only within this distance of the ego (at least 350 m, out
    /// of its 300 m sight): new ones come out of its sight as it drives on, and those left
    /// behind leave. Unset: along every sidewalk and bike lane of the network. A town's
    /// sidewalks hold thousands, most of them never near the ego, and they cost most of a
    /// town scene's rollout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side_within_m: Option<f64>,
    /// Vehicles only within this distance of the ego (at least 500 m): new ones come in on
    /// the lanes at the area's edge, out of its 300 m sight, as it drives on; those left
    /// farther than 50 m beyond it leave; the density counts the lanes in the area. Unset:
    /// on every lane of the network, coming in at its edges. On a long network most vehicles
    /// never come near the ego, and they cost most of a scene's rollout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vehicles_within_m: Option<f64>,
}

impl Default for TrafficSpec {
    fn default() -> Self {
        Self {
            density_per_km_lane: PerClass {
                motorway: 10.0,
                rural: 5.0,
                urban: 8.0,
            },
            mix: vec![
                KindWeight {
                    kind: ActorKind::Car,
                    weight: 0.72,
                },
                KindWeight {
                    kind: ActorKind::Van,
                    weight: 0.12,
                },
                KindWeight {
                    kind: ActorKind::Truck,
                    weight: 0.08,
                },
                KindWeight {
                    kind: ActorKind::Bus,
                    weight: 0.03,
                },
                KindWeight {
                    kind: ActorKind::Motorcycle,
                    weight: 0.05,
                },
            ],
            driver: DriverDist::default(),
            pedestrians_per_km: 20.0,
            cyclists_per_km: 4.0,
            side_within_m: None,
            vehicles_within_m: None,
        }
    }
}

impl TrafficSpec {
    /// Checks every range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (name, v) in [
            ("motorway", self.density_per_km_lane.motorway),
            ("rural", self.density_per_km_lane.rural),
            ("urban", self.density_per_km_lane.urban),
        ] {
            if !(v.is_finite() && (0.0..=60.0).contains(&v)) {
                return Err((
                    format!("traffic.density_per_km_lane.{name}"),
                    format!("must be in [0, 60], got {v}"),
                ));
            }
        }
        if self.mix.is_empty() || self.mix.len() > 32 {
            return Err((
                "traffic.mix".into(),
                format!("needs 1 to 32 entries, got {}", self.mix.len()),
            ));
        }
        for (i, kw) in self.mix.iter().enumerate() {
            if !kw.kind.is_motor_vehicle() {
                return Err((
                    format!("traffic.mix[{i}].kind"),
                    format!(
                        "must be a motor vehicle (Car, Van, Truck, Bus, Motorcycle), got {:?}",
                        kw.kind
                    ),
                ));
            }
            if !(kw.weight.is_finite() && (0.0..=1000.0).contains(&kw.weight)) {
                return Err((
                    format!("traffic.mix[{i}].weight"),
                    format!("must be in [0, 1000], got {}", kw.weight),
                ));
            }
        }
        if self.mix.iter().map(|k| k.weight).sum::<f64>() <= 0.0 {
            return Err((
                "traffic.mix".into(),
                "at least one weight must be > 0".into(),
            ));
        }
        self.driver.validate("traffic.driver")?;
        for (name, v) in [
            ("pedestrians_per_km", self.pedestrians_per_km),
            ("cyclists_per_km", self.cyclists_per_km),
        ] {
            if !(v.is_finite() && (0.0..=200.0).contains(&v)) {
                return Err((
                    format!("traffic.{name}"),
                    format!("must be in [0, 200], got {v}"),
                ));
            }
        }
        if let Some(v) = self.side_within_m
            && !(v.is_finite() && (350.0..=100_000.0).contains(&v))
        {
            return Err((
                "traffic.side_within_m".into(),
                format!("must be in [350, 100000], got {v}"),
            ));
        }
        if let Some(v) = self.vehicles_within_m
            && !(v.is_finite() && (500.0..=100_000.0).contains(&v))
        {
            return Err((
                "traffic.vehicles_within_m".into(),
                format!("must be in [500, 100000], got {v}"),
            ));
        }
        Ok(())
    }
}

/// The subject vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EgoSpec {
    /// Motor-vehicle kind of the ego.
    pub kind: ActorKind,
    /// The default driver's parameters; those a spec leaves out keep the ego's defaults
    /// (fixed values), not the background drivers' distributions.
    #[serde(deserialize_with = "ego_driver")]
    pub driver: DriverDist,
}

impl Default for EgoSpec {
    fn default() -> Self {
        Self {
            kind: ActorKind::Car,
            driver: EgoDriver::default().into(),
        }
    }
}

/// [`DriverDist`] as read for the ego: the same fields, missing ones from the ego's own
/// defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct EgoDriver {
    desired_speed_factor: Dist,
    time_headway_s: Dist,
    min_gap_m: Dist,
    max_accel_mps2: Dist,
    comfortable_decel_mps2: Dist,
    politeness: Dist,
    reaction_s: Dist,
}

impl Default for EgoDriver {
    fn default() -> Self {
        Self {
            desired_speed_factor: Dist::Fixed(1.0),
            time_headway_s: Dist::Fixed(1.5),
            min_gap_m: Dist::Fixed(2.5),
            max_accel_mps2: Dist::Fixed(1.8),
            comfortable_decel_mps2: Dist::Fixed(2.0),
            politeness: Dist::Fixed(0.3),
            reaction_s: Dist::Fixed(0.5),
        }
    }
}

impl From<EgoDriver> for DriverDist {
    fn from(e: EgoDriver) -> Self {
        Self {
            desired_speed_factor: e.desired_speed_factor,
            time_headway_s: e.time_headway_s,
            min_gap_m: e.min_gap_m,
            max_accel_mps2: e.max_accel_mps2,
            comfortable_decel_mps2: e.comfortable_decel_mps2,
            politeness: e.politeness,
            reaction_s: e.reaction_s,
        }
    }
}

fn ego_driver<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DriverDist, D::Error> {
    EgoDriver::deserialize(d).map(Into::into)
}

impl EgoSpec {
    /// Checks every range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !self.kind.is_motor_vehicle() {
            return Err((
                "ego.kind".into(),
                format!("must be a motor vehicle, got {:?}", self.kind),
            ));
        }
        self.driver.validate("ego.driver")
    }
}

/// How the world is stepped.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimSpec {
    /// Length of a recorded step.
    pub step_s: f64,
    /// Integration sub-steps per recorded step.
    pub substeps: u32,
    /// Length of the rollout.
    pub duration_s: f64,
}

impl Default for SimSpec {
    fn default() -> Self {
        Self {
            step_s: 0.1,
            substeps: 1,
            duration_s: 150.0,
        }
    }
}

impl SimSpec {
    /// Checks every range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(self.step_s.is_finite() && (0.01..=0.5).contains(&self.step_s)) {
            return Err((
                "sim.step_s".into(),
                format!("must be in [0.01, 0.5], got {}", self.step_s),
            ));
        }
        if !(1..=20).contains(&self.substeps) {
            return Err((
                "sim.substeps".into(),
                format!("must be in [1, 20], got {}", self.substeps),
            ));
        }
        if !(self.duration_s.is_finite() && (0.0..=86_400.0).contains(&self.duration_s)) {
            return Err((
                "sim.duration_s".into(),
                format!("must be in [0, 86400], got {}", self.duration_s),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn clamped_normal_stays_in_bounds_and_centres_on_mean() {
        let d = Dist::Normal {
            mean: 1.0,
            sd: 0.5,
            min: 0.5,
            max: 1.3,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let xs: Vec<f64> = (0..20_000).map(|_| d.sample(&mut rng)).collect();
        assert!(xs.iter().all(|x| (0.5..=1.3).contains(x)));
        let below = xs.iter().filter(|&&x| x < 1.0).count() as f64 / xs.len() as f64;
        assert!((below - 0.5).abs() < 0.02, "{below}");
    }

    #[test]
    fn dist_ranges_are_checked() {
        let d = Dist::Uniform { min: 2.0, max: 1.0 };
        assert_eq!(d.check("x", 0.0, 5.0).unwrap_err().0, "x.max");
        let d = Dist::Normal {
            mean: 9.0,
            sd: 1.0,
            min: 0.0,
            max: 2.0,
        };
        assert_eq!(d.check("x", 0.0, 5.0).unwrap_err().0, "x.mean");
        assert_eq!(Dist::Fixed(7.0).check("x", 0.0, 5.0).unwrap_err().0, "x");
    }
}
