//! The knobs of the procedural generator: the `road: (...)` section of a scenario spec.
//!
//! Every field has a default; every range is checked by [`RoadParams::validate`], which names
//! the field path of the first bad value.

use crate::model::{MarkColor, RoadClass, TrafficSide};
use serde::{Deserialize, Serialize};

/// A closed range of reals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeF {
    pub min: f64,
    pub max: f64,
}

/// A closed range of counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeU {
    pub min: u32,
    pub max: u32,
}

impl RangeF {
    /// `[min, max]`.
    pub const fn new(min: f64, max: f64) -> Self {
        Self { min, max }
    }
}

impl RangeU {
    /// `[min, max]`.
    pub const fn new(min: u32, max: u32) -> Self {
        Self { min, max }
    }
}

/// A stretch of the main route with one road class; zones follow each other in order and
/// share the route length by `share`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    pub class: RoadClass,
    pub share: f64,
}

/// Relative weights of the blocks the route is grown from. A block is only drawn where it
/// fits the current road class (ramps on motorways, grids in towns...).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlockWeights {
    pub straight: f64,
    pub curve: f64,
    pub s_curve: f64,
    pub hills: f64,
    pub junction_4way: f64,
    pub junction_t: f64,
    pub roundabout: f64,
    pub on_ramp: f64,
    pub off_ramp: f64,
    pub merge: f64,
    pub fork: f64,
    pub lane_add: f64,
    pub lane_drop: f64,
    pub bridge: f64,
    pub urban_grid: f64,
}

impl Default for BlockWeights {
    fn default() -> Self {
        Self {
            straight: 1.0,
            curve: 1.5,
            s_curve: 0.7,
            hills: 0.8,
            junction_4way: 1.0,
            junction_t: 1.0,
            roundabout: 0.6,
            on_ramp: 1.0,
            off_ramp: 1.0,
            merge: 0.4,
            fork: 0.3,
            lane_add: 0.4,
            lane_drop: 0.4,
            bridge: 0.5,
            urban_grid: 1.0,
        }
    }
}

/// Per-class overrides; anything left out takes the class default ([`ClassParams::default_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ClassOverrides {
    pub lanes_per_direction: Option<RangeU>,
    pub lane_width_m: Option<RangeF>,
    pub speed_limit_kph: Option<RangeF>,
    pub curve_radius_m: Option<RangeF>,
    pub straight_length_m: Option<RangeF>,
    pub max_grade: Option<f64>,
    pub median_width_m: Option<RangeF>,
    pub shoulder_width_m: Option<RangeF>,
    pub bike_lane_width_m: Option<RangeF>,
    pub parking_lane_width_m: Option<RangeF>,
    pub sidewalk_width_m: Option<RangeF>,
    pub trees_per_km: Option<f64>,
    pub poles_per_km: Option<f64>,
    pub buildings_per_km: Option<f64>,
    pub parked_cars_per_km: Option<f64>,
}

/// Resolved parameters of one road class. A width range of `0..0` means "no such lane".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassParams {
    pub lanes_per_direction: RangeU,
    pub lane_width_m: RangeF,
    pub speed_limit_kph: RangeF,
    pub curve_radius_m: RangeF,
    pub straight_length_m: RangeF,
    pub max_grade: f64,
    pub median_width_m: RangeF,
    pub shoulder_width_m: RangeF,
    pub bike_lane_width_m: RangeF,
    pub parking_lane_width_m: RangeF,
    pub sidewalk_width_m: RangeF,
    pub trees_per_km: f64,
    pub poles_per_km: f64,
    pub buildings_per_km: f64,
    pub parked_cars_per_km: f64,
}

impl ClassParams {
    /// Typical European values for each class.
    pub fn default_for(class: RoadClass) -> Self {
        let z = RangeF::new(0.0, 0.0);
        match class {
            RoadClass::Motorway => Self {
                lanes_per_direction: RangeU::new(2, 4),
                lane_width_m: RangeF::new(3.5, 3.75),
                speed_limit_kph: RangeF::new(100.0, 130.0),
                curve_radius_m: RangeF::new(700.0, 2000.0),
                straight_length_m: RangeF::new(300.0, 900.0),
                max_grade: 0.04,
                median_width_m: RangeF::new(3.0, 4.0),
                shoulder_width_m: RangeF::new(2.5, 3.0),
                bike_lane_width_m: z,
                parking_lane_width_m: z,
                sidewalk_width_m: z,
                trees_per_km: 40.0,
                poles_per_km: 10.0,
                buildings_per_km: 1.0,
                parked_cars_per_km: 0.0,
            },
            RoadClass::Rural => Self {
                lanes_per_direction: RangeU::new(1, 1),
                lane_width_m: RangeF::new(3.0, 3.5),
                speed_limit_kph: RangeF::new(70.0, 100.0),
                curve_radius_m: RangeF::new(120.0, 500.0),
                straight_length_m: RangeF::new(100.0, 500.0),
                max_grade: 0.07,
                median_width_m: z,
                shoulder_width_m: RangeF::new(0.5, 1.5),
                bike_lane_width_m: z,
                parking_lane_width_m: z,
                sidewalk_width_m: z,
                trees_per_km: 80.0,
                poles_per_km: 20.0,
                buildings_per_km: 4.0,
                parked_cars_per_km: 0.0,
            },
            RoadClass::Urban => Self {
                lanes_per_direction: RangeU::new(1, 2),
                lane_width_m: RangeF::new(3.0, 3.5),
                speed_limit_kph: RangeF::new(30.0, 50.0),
                curve_radius_m: RangeF::new(60.0, 200.0),
                straight_length_m: RangeF::new(60.0, 200.0),
                max_grade: 0.06,
                median_width_m: z,
                shoulder_width_m: z,
                bike_lane_width_m: RangeF::new(1.5, 2.0),
                parking_lane_width_m: RangeF::new(2.0, 2.5),
                sidewalk_width_m: RangeF::new(2.0, 3.5),
                trees_per_km: 40.0,
                poles_per_km: 30.0,
                buildings_per_km: 50.0,
                parked_cars_per_km: 60.0,
            },
        }
    }

    fn apply(mut self, o: &ClassOverrides) -> Self {
        macro_rules! take {
            ($($f:ident),*) => { $( if let Some(v) = o.$f { self.$f = v; } )* };
        }
        take!(
            lanes_per_direction,
            lane_width_m,
            speed_limit_kph,
            curve_radius_m,
            straight_length_m,
            max_grade,
            median_width_m,
            shoulder_width_m,
            bike_lane_width_m,
            parking_lane_width_m,
            sidewalk_width_m,
            trees_per_km,
            poles_per_km,
            buildings_per_km,
            parked_cars_per_km
        );
        self
    }
}

/// The urban grid district.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GridParams {
    /// Junctions along the route.
    pub columns: RangeU,
    /// Junctions across the route.
    pub rows: RangeU,
    /// Distance between junction centres.
    pub block_size_m: RangeF,
    /// Signal cycle time.
    pub signal_cycle_s: RangeF,
}

impl Default for GridParams {
    fn default() -> Self {
        Self {
            columns: RangeU::new(3, 5),
            rows: RangeU::new(2, 4),
            block_size_m: RangeF::new(90.0, 140.0),
            signal_cycle_s: RangeF::new(60.0, 90.0),
        }
    }
}

/// Everything the road generator can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoadParams {
    /// Length of the main route to grow.
    pub length_m: f64,
    pub traffic_side: TrafficSide,
    /// Colour of the line between opposite directions: `White` (Europe) or `Yellow` (North America).
    pub centre_line_color: MarkColor,
    /// Road classes along the route, in order.
    pub zones: Vec<Zone>,
    pub blocks: BlockWeights,
    pub motorway: ClassOverrides,
    pub rural: ClassOverrides,
    pub urban: ClassOverrides,
    pub urban_grid: GridParams,
    /// How many times the generator may undo a block that left no room for the next one.
    pub max_backtracks: u32,
    /// Stop after this many blocks even if the route is shorter than `length_m`.
    pub max_blocks: Option<u32>,
}

impl Default for RoadParams {
    fn default() -> Self {
        Self {
            length_m: 6000.0,
            traffic_side: TrafficSide::Right,
            centre_line_color: MarkColor::White,
            zones: vec![
                Zone {
                    class: RoadClass::Motorway,
                    share: 0.4,
                },
                Zone {
                    class: RoadClass::Rural,
                    share: 0.3,
                },
                Zone {
                    class: RoadClass::Urban,
                    share: 0.3,
                },
            ],
            blocks: BlockWeights::default(),
            motorway: ClassOverrides::default(),
            rural: ClassOverrides::default(),
            urban: ClassOverrides::default(),
            urban_grid: GridParams::default(),
            max_backtracks: 400,
            max_blocks: None,
        }
    }
}

/// A parameter out of range: the field path and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ParamError {
    /// Dotted field path below `road`, e.g. `motorway.lane_width_m.min`.
    pub path: String,
    pub message: String,
}

fn err(path: impl Into<String>, message: String) -> ParamError {
    ParamError {
        path: path.into(),
        message,
    }
}

fn check_f(path: &str, v: f64, lo: f64, hi: f64) -> Result<(), ParamError> {
    if !v.is_finite() || v < lo || v > hi {
        return Err(err(path, format!("must be in [{lo}, {hi}], got {v}")));
    }
    Ok(())
}

fn check_rf(path: &str, r: RangeF, lo: f64, hi: f64) -> Result<(), ParamError> {
    check_f(&format!("{path}.min"), r.min, lo, hi)?;
    check_f(&format!("{path}.max"), r.max, lo, hi)?;
    if r.min > r.max {
        return Err(err(
            format!("{path}.max"),
            format!("must be >= min ({}), got {}", r.min, r.max),
        ));
    }
    Ok(())
}

fn check_ru(path: &str, r: RangeU, lo: u32, hi: u32) -> Result<(), ParamError> {
    for (name, v) in [("min", r.min), ("max", r.max)] {
        if v < lo || v > hi {
            return Err(err(
                format!("{path}.{name}"),
                format!("must be in [{lo}, {hi}], got {v}"),
            ));
        }
    }
    if r.min > r.max {
        return Err(err(
            format!("{path}.max"),
            format!("must be >= min ({}), got {}", r.min, r.max),
        ));
    }
    Ok(())
}

/// Zero or within `[lo, hi]`: optional lanes.
fn check_optional_width(path: &str, r: RangeF, lo: f64, hi: f64) -> Result<(), ParamError> {
    if r.min == 0.0 && r.max == 0.0 {
        return Ok(());
    }
    check_rf(path, r, lo, hi)
}

impl RoadParams {
    /// Resolved parameters of a class.
    pub fn class(&self, class: RoadClass) -> ClassParams {
        let o = match class {
            RoadClass::Motorway => &self.motorway,
            RoadClass::Rural => &self.rural,
            RoadClass::Urban => &self.urban,
        };
        ClassParams::default_for(class).apply(o)
    }

    /// Checks every range; the error names the first bad field.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_f("length_m", self.length_m, 200.0, 200_000.0)?;
        if self.zones.is_empty() {
            return Err(err("zones", "needs at least one zone".into()));
        }
        if self.zones.len() > 32 {
            return Err(err(
                "zones",
                format!("at most 32 zones, got {}", self.zones.len()),
            ));
        }
        for (i, z) in self.zones.iter().enumerate() {
            check_f(&format!("zones[{i}].share"), z.share, 1e-3, 1000.0)?;
        }
        let b = &self.blocks;
        let weights = [
            ("straight", b.straight),
            ("curve", b.curve),
            ("s_curve", b.s_curve),
            ("hills", b.hills),
            ("junction_4way", b.junction_4way),
            ("junction_t", b.junction_t),
            ("roundabout", b.roundabout),
            ("on_ramp", b.on_ramp),
            ("off_ramp", b.off_ramp),
            ("merge", b.merge),
            ("fork", b.fork),
            ("lane_add", b.lane_add),
            ("lane_drop", b.lane_drop),
            ("bridge", b.bridge),
            ("urban_grid", b.urban_grid),
        ];
        for (name, w) in weights {
            check_f(&format!("blocks.{name}"), w, 0.0, 1000.0)?;
        }
        if b.straight + b.curve + b.s_curve + b.hills <= 0.0 {
            return Err(err(
                "blocks",
                "at least one of straight, curve, s_curve, hills must have weight > 0".into(),
            ));
        }
        for (name, class) in [
            ("motorway", RoadClass::Motorway),
            ("rural", RoadClass::Rural),
            ("urban", RoadClass::Urban),
        ] {
            let c = self.class(class);
            check_ru(
                &format!("{name}.lanes_per_direction"),
                c.lanes_per_direction,
                1,
                6,
            )?;
            check_rf(&format!("{name}.lane_width_m"), c.lane_width_m, 2.5, 5.0)?;
            check_rf(
                &format!("{name}.speed_limit_kph"),
                c.speed_limit_kph,
                10.0,
                150.0,
            )?;
            check_rf(
                &format!("{name}.curve_radius_m"),
                c.curve_radius_m,
                30.0,
                10_000.0,
            )?;
            check_rf(
                &format!("{name}.straight_length_m"),
                c.straight_length_m,
                20.0,
                5000.0,
            )?;
            check_f(&format!("{name}.max_grade"), c.max_grade, 0.0, 0.12)?;
            check_optional_width(
                &format!("{name}.median_width_m"),
                c.median_width_m,
                0.5,
                20.0,
            )?;
            check_optional_width(
                &format!("{name}.shoulder_width_m"),
                c.shoulder_width_m,
                0.3,
                4.0,
            )?;
            check_optional_width(
                &format!("{name}.bike_lane_width_m"),
                c.bike_lane_width_m,
                1.0,
                3.0,
            )?;
            check_optional_width(
                &format!("{name}.parking_lane_width_m"),
                c.parking_lane_width_m,
                1.8,
                3.5,
            )?;
            check_optional_width(
                &format!("{name}.sidewalk_width_m"),
                c.sidewalk_width_m,
                1.0,
                6.0,
            )?;
            for (f, v) in [
                ("trees_per_km", c.trees_per_km),
                ("poles_per_km", c.poles_per_km),
                ("buildings_per_km", c.buildings_per_km),
                ("parked_cars_per_km", c.parked_cars_per_km),
            ] {
                check_f(&format!("{name}.{f}"), v, 0.0, 500.0)?;
            }
        }
        let g = &self.urban_grid;
        check_ru("urban_grid.columns", g.columns, 2, 12)?;
        check_ru("urban_grid.rows", g.rows, 1, 12)?;
        check_rf("urban_grid.block_size_m", g.block_size_m, 60.0, 500.0)?;
        check_rf("urban_grid.signal_cycle_s", g.signal_cycle_s, 20.0, 240.0)?;
        if self.max_blocks == Some(0) {
            return Err(err("max_blocks", "must be >= 1".into()));
        }
        if self.max_backtracks > 100_000 {
            return Err(err(
                "max_backtracks",
                format!("must be <= 100000, got {}", self.max_backtracks),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        RoadParams::default().validate().unwrap();
    }

    #[test]
    fn bad_values_name_their_field() {
        let mut p = RoadParams::default();
        p.rural.lane_width_m = Some(RangeF::new(3.0, 9.0));
        assert_eq!(p.validate().unwrap_err().path, "rural.lane_width_m.max");
        let p = RoadParams {
            length_m: f64::NAN,
            ..RoadParams::default()
        };
        assert_eq!(p.validate().unwrap_err().path, "length_m");
        let mut p = RoadParams::default();
        p.urban_grid.rows = RangeU::new(3, 2);
        assert_eq!(p.validate().unwrap_err().path, "urban_grid.rows.max");
    }
}
