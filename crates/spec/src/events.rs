//! The events part of a spec: the catalog of extreme cases, their parameter distributions,
//! when they may happen, and the criticality a user asks of them.
//!
//! Each catalog entry is a [`EventKind`] variant holding its parameters, every real one a
//! [`Dist`] with documented bounds (see [`ParamInfo`]), so that validation, resolution (fixing
//! every value) and targeted generation (adapting the distributions) treat all of them alike.
//! Each entry names the NHTSA pre-crash scenario type it belongs to (Najm et al., *Pre-Crash
//! Scenario Typology for Crash Avoidance Research*, DOT HS 810 767, 2007).
//!
//! | entry | NHTSA pre-crash scenario type |
//! | --- | --- |
//! | `CutIn` | Vehicle(s) changing lanes - same direction |
//! | `LeadHardBrake` | Lead vehicle decelerating |
//! | `StoppedVehicle` | Lead vehicle stopped |
//! | `Debris` | Object crash without prior vehicle maneuver |
//! | `OccludedPedestrian` | Pedestrian crash without prior vehicle maneuver |
//! | `NightPedestrian` | Pedestrian crash without prior vehicle maneuver |
//! | `CyclistSwerve` | Pedalcyclist crash without prior vehicle maneuver |
//! | `WrongWayDriver` | Vehicle(s) not making a maneuver - opposite direction |
//! | `RedLightRunner` | Running red light |
//! | `UnprotectedLeftTurn` | Left turn across path from opposite directions at signalized or non-signalized junctions |
//! | `PullOut` | Straight crossing paths at non-signalized junctions |
//! | `AggressiveMerge` | Vehicle(s) changing lanes - same direction |
//! | `EmergencyVehicle` | Following vehicle making a maneuver |
//! | `ConstructionZone` | Vehicle(s) changing lanes - same direction |
//! | `AnimalCrossing` | Animal crash without prior vehicle maneuver |
//! | `DoorOpening` | Object crash without prior vehicle maneuver |
//! | `LowFriction` | Control loss without prior vehicle action |
//! | `Tailgater` | Lead vehicle decelerating |
//! | `FogBank` | Lead vehicle moving at lower constant speed |
//!
//! (`UnprotectedLeftTurn` with `junction: Signalised` or `junction: Unsignalised` names the
//! signalized or the non-signalized type alone.)
//!
//! In RON an event reads
//! `(kind: CutIn(gap_m: Uniform(min: 6.0, max: 12.0)), window_s: (min: 20.0, max: 60.0),
//! count: 2, target: (min_ttc_s: (min: 1.0, max: 1.5), avoidable: true))`.

use crate::traffic::{ActorKind, Dist};
use rand::{Rng, RngExt};
use roadworld_road::generate::params::RangeF;
use serde::{Deserialize, Serialize};

/// Most events a spec may list.
pub const MAX_EVENTS: usize = 256;
/// Most instances of one event.
pub const MAX_COUNT: u32 = 100;

/// A real parameter of a catalog entry: its name and the bounds every draw must keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamInfo {
    pub name: &'static str,
    pub min: f64,
    pub max: f64,
}

/// Defines a catalog entry's parameter struct: real parameters as [`Dist`]s with bounds and
/// defaults, plus plain extra fields.
macro_rules! event_params {
    (
        $(#[$m:meta])*
        $name:ident {
            $( $(#[$fm:meta])* $field:ident : [$lo:expr, $hi:expr] = $default:expr, )*
        }
        $( extra { $( $(#[$em:meta])* $efield:ident : $ety:ty = $edefault:expr, )* } )?
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $( $(#[$fm])* pub $field: Dist, )*
            $($( $(#[$em])* pub $efield: $ety, )*)?
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $( $field: $default, )*
                    $($( $efield: $edefault, )*)?
                }
            }
        }

        impl $name {
            /// The real parameters with their bounds, in field order.
            pub const PARAMS: &'static [ParamInfo] = &[
                $( ParamInfo { name: stringify!($field), min: $lo, max: $hi }, )*
            ];

            /// The real parameters, in the order of [`Self::PARAMS`].
            pub fn dists(&self) -> Vec<&Dist> {
                vec![$( &self.$field, )*]
            }

            /// The real parameters, mutable, in the order of [`Self::PARAMS`].
            pub fn dists_mut(&mut self) -> Vec<&mut Dist> {
                vec![$( &mut self.$field, )*]
            }
        }
    };
}

const fn uniform(min: f64, max: f64) -> Dist {
    Dist::Uniform { min, max }
}

/// Which neighbouring lane something comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    Left,
    Right,
    /// Whichever side has a lane and someone to do it when the event starts (the left
    /// first): decided in the world, the same way every time for the same scenario.
    Either,
}

/// What hides a pedestrian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Occluder {
    ParkedCar,
    ParkedVan,
    /// A bus standing at the kerb.
    Bus,
}

/// Animals that cross roads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Animal {
    Deer,
    Boar,
    Moose,
    Dog,
}

impl Animal {
    /// Length, width, height of a typical adult.
    pub fn dimensions_m(self) -> [f64; 3] {
        match self {
            Animal::Deer => [1.5, 0.5, 1.2],
            Animal::Boar => [1.4, 0.6, 0.9],
            Animal::Moose => [2.8, 0.9, 2.0],
            Animal::Dog => [0.9, 0.3, 0.6],
        }
    }
}

/// Where a vehicle pulls out from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PullOutFrom {
    SideRoad,
    ParkingSpace,
    /// Either, drawn per instance (where the road offers it).
    Either,
}

/// At what kind of junction an oncoming left turn happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TurnJunction {
    /// Under traffic lights, the turner on the same green as the ego.
    Signalised,
    /// Without lights or signs on either approach, the turner bound to give way to the ego.
    Unsignalised,
    /// Whichever of the two the ego comes to first.
    Either,
}

/// Kinds of emergency vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Emergency {
    Ambulance,
    Police,
    FireEngine,
}

event_params! {
    /// A vehicle from a neighbouring lane changes into the ego's lane close ahead.
    CutIn {
        /// Gap from the cutter's rear to the ego's front when the cutter starts to leave its
        /// lane (what follows depends on the ego).
        gap_m: [1.0, 80.0] = uniform(6.0, 15.0),
        /// Cutter's speed minus the ego's (negative: slower) at that moment; the cutter holds
        /// its speed until it is in.
        rel_speed_mps: [-20.0, 10.0] = uniform(-4.0, 0.0),
        /// Time the cutter takes from leaving its lane centre to the ego lane's centre.
        lateral_s: [1.0, 8.0] = uniform(1.5, 3.0),
    }
    extra {
        /// The lane the cutter comes from.
        side: Side = Side::Either,
    }
}

event_params! {
    /// The ego's leader brakes hard.
    LeadHardBrake {
        /// Deceleration of the lead vehicle.
        decel_mps2: [1.0, 10.0] = uniform(5.0, 8.0),
        /// The braking starts once the ego's time headway to its leader is at or under this
        /// (as OpenSCENARIO's TimeHeadwayCondition); an ego that keeps more headway than
        /// this never triggers it, and the event is logged as skipped.
        headway_s: [0.3, 5.0] = uniform(1.5, 3.0),
    }
}

event_params! {
    /// A broken-down vehicle stands in the ego's lane, hazard lights on; a leader may hide it
    /// until it swerves round it at the last moment.
    StoppedVehicle {
        /// Distance from the stopped vehicle at which the ego's leader, hiding it until then,
        /// swerves round it (0, the default: no leader, visible from afar). The event waits
        /// for the ego to have a leader within 100 m in its lane to take over.
        reveal_m: [0.0, 200.0] = Dist::Fixed(0.0),
    }
    extra {
        /// What stands there.
        vehicle: ActorKind = ActorKind::Car,
    }
}

event_params! {
    /// Debris or lost cargo lying in the ego's lane.
    Debris {
        /// Length along the lane.
        length_m: [0.2, 4.0] = uniform(0.5, 1.5),
        /// Width across the lane.
        width_m: [0.2, 3.0] = uniform(0.4, 1.2),
        /// Height.
        height_m: [0.05, 1.5] = uniform(0.15, 0.5),
        /// Distance from the debris at which the ego's leader, hiding it until then, swerves
        /// round it (0, the default: no leader, visible from afar), as for
        /// [`StoppedVehicle`].
        reveal_m: [0.0, 200.0] = Dist::Fixed(0.0),
    }
}

event_params! {
    /// A pedestrian darts into the road from behind a vehicle standing at the kerb.
    OccludedPedestrian {
        /// Walking (running) speed.
        speed_mps: [0.5, 6.0] = uniform(2.0, 3.5),
        /// The ego's time to reach the pedestrian's crossing line when the pedestrian steps
        /// out from behind the occluder.
        ttc_s: [0.3, 8.0] = uniform(1.5, 3.0),
    }
    extra {
        /// What hides the pedestrian.
        occluder: Occluder = Occluder::ParkedCar,
    }
}

event_params! {
    /// A pedestrian crosses the ego's road at night away from a crossing. The scene's
    /// environment must be night (sun below civil twilight).
    NightPedestrian {
        speed_mps: [0.5, 3.0] = uniform(1.1, 1.6),
        /// The ego's time to reach the crossing line when the pedestrian steps off the kerb.
        ttc_s: [0.5, 10.0] = uniform(2.5, 5.0),
    }
}

event_params! {
    /// A cyclist at the road edge swerves into the ego's lane.
    CyclistSwerve {
        /// Lateral speed of the swerve.
        lateral_mps: [0.2, 3.0] = uniform(0.8, 1.5),
        /// The ego's time to reach the cyclist when the swerve starts.
        ttc_s: [0.5, 8.0] = uniform(1.5, 3.0),
    }
}

event_params! {
    /// A vehicle drives against the traffic in the ego's lane.
    WrongWayDriver {
        speed_mps: [3.0, 45.0] = uniform(15.0, 25.0),
        /// Time to collision (both at constant speed) when it comes round into view.
        ttc_s: [1.0, 20.0] = uniform(4.0, 8.0),
    }
}

event_params! {
    /// A vehicle on a crossing approach runs the red light at a signalised junction the ego
    /// drives through on green.
    RedLightRunner {
        /// Speed of the runner.
        speed_mps: [4.0, 30.0] = uniform(12.0, 16.0),
        /// Post-encroachment time aimed at: the ego reaches the conflict area this long after
        /// the runner has left it.
        pet_s: [0.0, 6.0] = uniform(0.5, 2.0),
    }
}

event_params! {
    /// An oncoming vehicle turns left across the ego's path at a junction.
    UnprotectedLeftTurn {
        /// Time between the turner clearing the ego's path and the ego reaching it.
        gap_s: [0.0, 8.0] = uniform(1.0, 2.5),
    }
    extra {
        junction: TurnJunction = TurnJunction::Either,
    }
}

event_params! {
    /// A vehicle pulls out of a side road or a parking space into the ego's path.
    PullOut {
        /// The ego's time to reach the pulling vehicle when it starts to move.
        ttc_s: [0.5, 8.0] = uniform(2.0, 3.5),
        /// Speed the pulling vehicle accelerates to.
        speed_mps: [2.0, 20.0] = uniform(6.0, 10.0),
    }
    extra {
        from: PullOutFrom = PullOutFrom::Either,
    }
}

event_params! {
    /// A vehicle on an on-ramp forces its way in close ahead of the ego.
    AggressiveMerge {
        /// Gap from the merger's rear to the ego's front when it starts to move over from the
        /// acceleration lane (without a signal; it holds its speed until it is in).
        gap_m: [1.0, 60.0] = uniform(4.0, 10.0),
        /// Merger's speed minus the ego's at that moment.
        rel_speed_mps: [-20.0, 10.0] = uniform(-3.0, 2.0),
    }
}

event_params! {
    /// An emergency vehicle with lights and siren comes up fast behind the ego.
    EmergencyVehicle {
        /// How much faster than the ego it approaches.
        closing_speed_mps: [2.0, 30.0] = uniform(8.0, 15.0),
        /// Gap behind the ego when it comes into the ego's mirrors.
        start_gap_m: [20.0, 300.0] = uniform(80.0, 150.0),
    }
    extra {
        vehicle: Emergency = Emergency::Ambulance,
    }
}

event_params! {
    /// A work zone closes a lane beside the ego's; a late merger rides up it and cuts in
    /// front of the ego at the taper.
    ConstructionZone {
        /// Length of the closure.
        length_m: [30.0, 2000.0] = uniform(100.0, 300.0),
        /// Length of the cone taper leading into it.
        taper_m: [10.0, 300.0] = uniform(40.0, 80.0),
        /// Gap the late merger leaves in front of the ego.
        late_merge_gap_m: [1.0, 40.0] = uniform(4.0, 10.0),
    }
}

event_params! {
    /// An animal crosses a rural road.
    AnimalCrossing {
        speed_mps: [0.3, 15.0] = uniform(3.0, 8.0),
        /// The ego's time to reach the animal's crossing line when it enters the road.
        ttc_s: [0.3, 8.0] = uniform(1.5, 3.0),
    }
    extra {
        animal: Animal = Animal::Deer,
    }
}

event_params! {
    /// A parked car's door opens into the ego's lane.
    DoorOpening {
        /// The ego's time to reach the door when it starts to open.
        ttc_s: [0.3, 6.0] = uniform(1.0, 2.5),
        /// Time the door takes to open fully.
        opening_s: [0.3, 3.0] = uniform(0.8, 1.5),
    }
}

event_params! {
    /// A patch of low friction (ice, oil, wet leaves) where the ego's leader brakes.
    LowFriction {
        /// Friction coefficient on the patch.
        friction: [0.05, 0.7] = uniform(0.15, 0.35),
        /// Length of the patch.
        length_m: [5.0, 1000.0] = uniform(40.0, 120.0),
        /// Deceleration the leader asks for on the patch (the patch may give less).
        lead_decel_mps2: [1.0, 10.0] = uniform(4.0, 7.0),
    }
}

event_params! {
    /// A vehicle follows the ego far too closely while the ego's leader brakes.
    Tailgater {
        /// Time headway of the tailgater behind the ego.
        headway_s: [0.1, 2.0] = uniform(0.4, 0.8),
        /// Deceleration of the ego's leader.
        lead_decel_mps2: [1.0, 10.0] = uniform(4.0, 7.0),
    }
}

event_params! {
    /// The ego drives into a bank of dense fog.
    FogBank {
        /// Visibility inside the bank.
        visibility_m: [5.0, 500.0] = uniform(30.0, 80.0),
        /// Length of the bank along the route.
        length_m: [20.0, 5000.0] = uniform(200.0, 600.0),
    }
}

/// The catalog of extreme cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventKind {
    CutIn(CutIn),
    LeadHardBrake(LeadHardBrake),
    StoppedVehicle(StoppedVehicle),
    Debris(Debris),
    OccludedPedestrian(OccludedPedestrian),
    NightPedestrian(NightPedestrian),
    CyclistSwerve(CyclistSwerve),
    WrongWayDriver(WrongWayDriver),
    RedLightRunner(RedLightRunner),
    UnprotectedLeftTurn(UnprotectedLeftTurn),
    PullOut(PullOut),
    AggressiveMerge(AggressiveMerge),
    EmergencyVehicle(EmergencyVehicle),
    ConstructionZone(ConstructionZone),
    AnimalCrossing(AnimalCrossing),
    DoorOpening(DoorOpening),
    LowFriction(LowFriction),
    Tailgater(Tailgater),
    FogBank(FogBank),
}

/// Calls `$body` with `$p` bound to the parameters of whichever variant `$e` is.
macro_rules! each_kind {
    ($e:expr, $p:ident => $body:expr) => {
        match $e {
            EventKind::CutIn($p) => $body,
            EventKind::LeadHardBrake($p) => $body,
            EventKind::StoppedVehicle($p) => $body,
            EventKind::Debris($p) => $body,
            EventKind::OccludedPedestrian($p) => $body,
            EventKind::NightPedestrian($p) => $body,
            EventKind::CyclistSwerve($p) => $body,
            EventKind::WrongWayDriver($p) => $body,
            EventKind::RedLightRunner($p) => $body,
            EventKind::UnprotectedLeftTurn($p) => $body,
            EventKind::PullOut($p) => $body,
            EventKind::AggressiveMerge($p) => $body,
            EventKind::EmergencyVehicle($p) => $body,
            EventKind::ConstructionZone($p) => $body,
            EventKind::AnimalCrossing($p) => $body,
            EventKind::DoorOpening($p) => $body,
            EventKind::LowFriction($p) => $body,
            EventKind::Tailgater($p) => $body,
            EventKind::FogBank($p) => $body,
        }
    };
}

/// Calls `$body` with `$t` bound to the parameter type of whichever variant `$e` is.
macro_rules! each_type {
    ($e:expr, $t:ident => $body:expr) => {
        match $e {
            EventKind::CutIn(_) => {
                type $t = CutIn;
                $body
            }
            EventKind::LeadHardBrake(_) => {
                type $t = LeadHardBrake;
                $body
            }
            EventKind::StoppedVehicle(_) => {
                type $t = StoppedVehicle;
                $body
            }
            EventKind::Debris(_) => {
                type $t = Debris;
                $body
            }
            EventKind::OccludedPedestrian(_) => {
                type $t = OccludedPedestrian;
                $body
            }
            EventKind::NightPedestrian(_) => {
                type $t = NightPedestrian;
                $body
            }
            EventKind::CyclistSwerve(_) => {
                type $t = CyclistSwerve;
                $body
            }
            EventKind::WrongWayDriver(_) => {
                type $t = WrongWayDriver;
                $body
            }
            EventKind::RedLightRunner(_) => {
                type $t = RedLightRunner;
                $body
            }
            EventKind::UnprotectedLeftTurn(_) => {
                type $t = UnprotectedLeftTurn;
                $body
            }
            EventKind::PullOut(_) => {
                type $t = PullOut;
                $body
            }
            EventKind::AggressiveMerge(_) => {
                type $t = AggressiveMerge;
                $body
            }
            EventKind::EmergencyVehicle(_) => {
                type $t = EmergencyVehicle;
                $body
            }
            EventKind::ConstructionZone(_) => {
                type $t = ConstructionZone;
                $body
            }
            EventKind::AnimalCrossing(_) => {
                type $t = AnimalCrossing;
                $body
            }
            EventKind::DoorOpening(_) => {
                type $t = DoorOpening;
                $body
            }
            EventKind::LowFriction(_) => {
                type $t = LowFriction;
                $body
            }
            EventKind::Tailgater(_) => {
                type $t = Tailgater;
                $body
            }
            EventKind::FogBank(_) => {
                type $t = FogBank;
                $body
            }
        }
    };
}

impl EventKind {
    /// Every catalog entry with default parameters, in catalog order.
    pub fn catalog() -> Vec<EventKind> {
        vec![
            EventKind::CutIn(CutIn::default()),
            EventKind::LeadHardBrake(LeadHardBrake::default()),
            EventKind::StoppedVehicle(StoppedVehicle::default()),
            EventKind::Debris(Debris::default()),
            EventKind::OccludedPedestrian(OccludedPedestrian::default()),
            EventKind::NightPedestrian(NightPedestrian::default()),
            EventKind::CyclistSwerve(CyclistSwerve::default()),
            EventKind::WrongWayDriver(WrongWayDriver::default()),
            EventKind::RedLightRunner(RedLightRunner::default()),
            EventKind::UnprotectedLeftTurn(UnprotectedLeftTurn::default()),
            EventKind::PullOut(PullOut::default()),
            EventKind::AggressiveMerge(AggressiveMerge::default()),
            EventKind::EmergencyVehicle(EmergencyVehicle::default()),
            EventKind::ConstructionZone(ConstructionZone::default()),
            EventKind::AnimalCrossing(AnimalCrossing::default()),
            EventKind::DoorOpening(DoorOpening::default()),
            EventKind::LowFriction(LowFriction::default()),
            EventKind::Tailgater(Tailgater::default()),
            EventKind::FogBank(FogBank::default()),
        ]
    }

    /// The variant's name as written in specs (`CutIn`), as error paths name it.
    pub fn variant(&self) -> String {
        let debug = format!("{self:?}");
        debug.split('(').next().unwrap_or_default().to_string()
    }

    /// Snake-case name, for outputs, indexes and queries.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::CutIn(_) => "cut_in",
            EventKind::LeadHardBrake(_) => "lead_hard_brake",
            EventKind::StoppedVehicle(_) => "stopped_vehicle",
            EventKind::Debris(_) => "debris",
            EventKind::OccludedPedestrian(_) => "occluded_pedestrian",
            EventKind::NightPedestrian(_) => "night_pedestrian",
            EventKind::CyclistSwerve(_) => "cyclist_swerve",
            EventKind::WrongWayDriver(_) => "wrong_way_driver",
            EventKind::RedLightRunner(_) => "red_light_runner",
            EventKind::UnprotectedLeftTurn(_) => "unprotected_left_turn",
            EventKind::PullOut(_) => "pull_out",
            EventKind::AggressiveMerge(_) => "aggressive_merge",
            EventKind::EmergencyVehicle(_) => "emergency_vehicle",
            EventKind::ConstructionZone(_) => "construction_zone",
            EventKind::AnimalCrossing(_) => "animal_crossing",
            EventKind::DoorOpening(_) => "door_opening",
            EventKind::LowFriction(_) => "low_friction",
            EventKind::Tailgater(_) => "tailgater",
            EventKind::FogBank(_) => "fog_bank",
        }
    }

    /// The NHTSA pre-crash scenario type (DOT HS 810 767) the entry belongs to.
    pub fn nhtsa_type(&self) -> &'static str {
        match self {
            EventKind::CutIn(_) => "Vehicle(s) changing lanes - same direction",
            EventKind::LeadHardBrake(_) => "Lead vehicle decelerating",
            EventKind::StoppedVehicle(_) => "Lead vehicle stopped",
            EventKind::Debris(_) => "Object crash without prior vehicle maneuver",
            EventKind::OccludedPedestrian(_) => "Pedestrian crash without prior vehicle maneuver",
            EventKind::NightPedestrian(_) => "Pedestrian crash without prior vehicle maneuver",
            EventKind::CyclistSwerve(_) => "Pedalcyclist crash without prior vehicle maneuver",
            EventKind::WrongWayDriver(_) => "Vehicle(s) not making a maneuver - opposite direction",
            EventKind::RedLightRunner(_) => "Running red light",
            EventKind::UnprotectedLeftTurn(p) => match p.junction {
                TurnJunction::Signalised => {
                    "Left turn across path from opposite directions at signalized junctions"
                }
                TurnJunction::Unsignalised => {
                    "Left turn across path from opposite directions at non-signalized junctions"
                }
                TurnJunction::Either => {
                    "Left turn across path from opposite directions at signalized or non-signalized junctions"
                }
            },
            EventKind::PullOut(_) => "Straight crossing paths at non-signalized junctions",
            EventKind::AggressiveMerge(_) => "Vehicle(s) changing lanes - same direction",
            EventKind::EmergencyVehicle(_) => "Following vehicle making a maneuver",
            EventKind::ConstructionZone(_) => "Vehicle(s) changing lanes - same direction",
            EventKind::AnimalCrossing(_) => "Animal crash without prior vehicle maneuver",
            EventKind::DoorOpening(_) => "Object crash without prior vehicle maneuver",
            EventKind::LowFriction(_) => "Control loss without prior vehicle action",
            EventKind::Tailgater(_) => "Lead vehicle decelerating",
            EventKind::FogBank(_) => "Lead vehicle moving at lower constant speed",
        }
    }

    /// The real parameters with their bounds.
    pub fn params(&self) -> &'static [ParamInfo] {
        each_type!(self, T => T::PARAMS)
    }

    /// The real parameters, in the order of [`Self::params`].
    pub fn dists(&self) -> Vec<&Dist> {
        each_kind!(self, p => p.dists())
    }

    /// The real parameters, mutable, in the order of [`Self::params`].
    pub fn dists_mut(&mut self) -> Vec<&mut Dist> {
        each_kind!(self, p => p.dists_mut())
    }

    /// The value of a parameter in a resolved event (`None`: unknown name or not fixed).
    pub fn value(&self, name: &str) -> Option<f64> {
        let k = self.params().iter().position(|p| p.name == name)?;
        match self.dists()[k] {
            Dist::Fixed(v) => Some(*v),
            _ => None,
        }
    }

    /// Every distribution drawn once and every "either" choice made.
    pub fn resolve<R: Rng + ?Sized>(&self, rng: &mut R) -> EventKind {
        let mut out = self.clone();
        for d in out.dists_mut() {
            *d = Dist::Fixed(d.sample(rng));
        }
        match &mut out {
            EventKind::PullOut(p) if p.from == PullOutFrom::Either => {
                p.from = if rng.random_bool(0.5) {
                    PullOutFrom::SideRoad
                } else {
                    PullOutFrom::ParkingSpace
                };
            }
            _ => {}
        }
        out
    }

    /// Checks every range; `path` is the field path of the kind (`events[3].kind`).
    pub fn validate(&self, path: &str) -> Result<(), (String, String)> {
        let path = &format!("{path}.{}", self.variant());
        for (info, d) in self.params().iter().zip(self.dists()) {
            d.check(&format!("{path}.{}", info.name), info.min, info.max)?;
        }
        if let EventKind::StoppedVehicle(p) = self
            && !p.vehicle.is_motor_vehicle()
        {
            return Err((
                format!("{path}.vehicle"),
                format!(
                    "must be a motor vehicle (Car, Van, Truck, Bus, Motorcycle), got {:?}",
                    p.vehicle
                ),
            ));
        }
        Ok(())
    }
}

/// Criticality a user asks of an event; each range is inclusive. Left out: anything goes.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Target {
    /// The ego's smallest time to collision during the event.
    pub min_ttc_s: Option<RangeF>,
    /// The ego's smallest time headway during the event.
    pub min_thw_s: Option<RangeF>,
    /// Post-encroachment time at the event's conflict area.
    pub pet_s: Option<RangeF>,
    /// Smallest distance between the ego's and the event actor's boxes.
    pub min_distance_m: Option<RangeF>,
    /// Largest deceleration rate to avoid a crash (DRAC) the ego faced.
    pub max_drac_mps2: Option<RangeF>,
    /// Whether an evasive manoeuvre within the ego's limits avoids the collision.
    pub avoidable: Option<bool>,
}

impl Target {
    /// The ranges set, with their names and the bounds they must keep.
    pub fn ranges(&self) -> Vec<(&'static str, RangeF)> {
        [
            ("min_ttc_s", self.min_ttc_s),
            ("min_thw_s", self.min_thw_s),
            ("pet_s", self.pet_s),
            ("min_distance_m", self.min_distance_m),
            ("max_drac_mps2", self.max_drac_mps2),
        ]
        .into_iter()
        .filter_map(|(n, r)| r.map(|r| (n, r)))
        .collect()
    }

    /// Whether anything is asked.
    pub fn is_set(&self) -> bool {
        !self.ranges().is_empty() || self.avoidable.is_some()
    }

    /// Checks every range; `path` is the target's field path.
    pub fn validate(&self, path: &str) -> Result<(), (String, String)> {
        let bounds = |name: &str| match name {
            "min_ttc_s" | "min_thw_s" => (0.0, 60.0),
            "pet_s" => (0.0, 60.0),
            "min_distance_m" => (0.0, 1000.0),
            _ => (0.0, 100.0),
        };
        for (name, r) in self.ranges() {
            let (lo, hi) = bounds(name);
            for (end, v) in [("min", r.min), ("max", r.max)] {
                if !(v.is_finite() && v >= lo && v <= hi) {
                    return Err((
                        format!("{path}.{name}.{end}"),
                        format!("must be in [{lo}, {hi}], got {v}"),
                    ));
                }
            }
            if r.min > r.max {
                return Err((
                    format!("{path}.{name}.max"),
                    format!("must be >= min ({}), got {}", r.min, r.max),
                ));
            }
        }
        Ok(())
    }
}

/// One event of a spec: what, when, how many, and how critical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// The catalog entry and its parameters.
    pub kind: EventKind,
    /// Seconds into the scene within which the event starts; several instances share the
    /// window in equal parts. Left out: from 10% to 80% of the duration.
    #[serde(default)]
    pub window_s: Option<RangeF>,
    /// How many instances.
    #[serde(default = "one")]
    pub count: u32,
    /// Criticality asked of each instance.
    #[serde(default)]
    pub target: Target,
}

fn one() -> u32 {
    1
}

impl EventSpec {
    /// The start window within a scene of `duration_s`.
    pub fn window_in(&self, duration_s: f64) -> RangeF {
        self.window_s
            .unwrap_or(RangeF::new(0.1 * duration_s, 0.8 * duration_s))
    }

    /// Checks every range; `path` is the event's field path (`events[3]`).
    pub fn validate(&self, path: &str, duration_s: f64) -> Result<(), (String, String)> {
        self.kind.validate(&format!("{path}.kind"))?;
        if !(1..=MAX_COUNT).contains(&self.count) {
            return Err((
                format!("{path}.count"),
                format!("must be in [1, {MAX_COUNT}], got {}", self.count),
            ));
        }
        if let Some(w) = self.window_s {
            for (end, v) in [("min", w.min), ("max", w.max)] {
                if !(v.is_finite() && v >= 0.0 && v <= duration_s) {
                    return Err((
                        format!("{path}.window_s.{end}"),
                        format!("must be in [0, sim.duration_s = {duration_s}], got {v}"),
                    ));
                }
            }
            if w.min > w.max {
                return Err((
                    format!("{path}.window_s.max"),
                    format!("must be >= min ({}), got {}", w.min, w.max),
                ));
            }
        }
        self.target.validate(&format!("{path}.target"))
    }

    /// The instances of this event, every value drawn: instance `k` starts in the `k`-th of
    /// `count` equal parts of the window.
    pub fn resolve<R: Rng + ?Sized>(
        &self,
        duration_s: f64,
        rng: &mut R,
        instance: u32,
    ) -> EventSpec {
        let w = self.window_in(duration_s);
        let part = (w.max - w.min) / self.count.max(1) as f64;
        let lo = w.min + part * instance as f64;
        let at = if part > 0.0 {
            rng.random_range(lo..=lo + part)
        } else {
            lo
        };
        EventSpec {
            kind: self.kind.resolve(rng),
            window_s: Some(RangeF::new(at, at)),
            count: 1,
            target: self.target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn catalog_has_nineteen_entries_with_sound_defaults() {
        let cat = EventKind::catalog();
        assert_eq!(cat.len(), 19);
        let mut names: Vec<&str> = cat.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 19, "names are unique");
        for k in &cat {
            k.validate("k")
                .unwrap_or_else(|e| panic!("{}: {e:?}", k.name()));
            assert_eq!(k.params().len(), k.dists().len());
            assert!(!k.nhtsa_type().is_empty());
        }
    }

    #[test]
    fn module_docs_table_matches_the_catalog() {
        let docs = include_str!("events.rs");
        for k in EventKind::catalog() {
            let row = format!("//! | `{}` | {} |", k.variant(), k.nhtsa_type());
            assert!(docs.contains(&row), "missing docs row: {row}");
        }
    }

    #[test]
    fn resolved_event_keeps_bounds_and_fixes_everything() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for k in EventKind::catalog() {
            let e = EventSpec {
                kind: k,
                window_s: Some(RangeF::new(20.0, 80.0)),
                count: 3,
                target: Target::default(),
            };
            for i in 0..3 {
                let r = e.resolve(150.0, &mut rng, i);
                let w = r.window_s.unwrap();
                assert_eq!(w.min, w.max);
                assert!(w.min >= 20.0 + 20.0 * i as f64 && w.min <= 40.0 + 20.0 * i as f64);
                r.validate("e", 150.0).unwrap();
                for (info, d) in r.kind.params().iter().zip(r.kind.dists()) {
                    let Dist::Fixed(v) = d else {
                        panic!("{} not fixed", info.name)
                    };
                    assert_eq!(r.kind.value(info.name), Some(*v));
                }
                // Resolving a resolved event changes nothing.
                assert_eq!(r.resolve(150.0, &mut rng, 0), r);
            }
        }
    }

    #[test]
    fn out_of_bounds_parameter_is_named() {
        let k = EventKind::CutIn(CutIn {
            gap_m: Dist::Fixed(-3.0),
            ..CutIn::default()
        });
        let e = k.validate("events[0].kind").unwrap_err();
        assert_eq!(e.0, "events[0].kind.CutIn.gap_m");
        assert!(e.1.contains("got -3"), "{e:?}");
        let t = Target {
            min_ttc_s: Some(RangeF::new(2.0, 1.0)),
            ..Target::default()
        };
        assert_eq!(t.validate("t").unwrap_err().0, "t.min_ttc_s.max");
    }
}
