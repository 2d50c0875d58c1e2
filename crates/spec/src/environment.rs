//! The environment part of a spec: time of day (and the sun with it), weather, road friction.
//!
//! A spec gives distributions; [`EnvironmentSpec::draw`] fixes one [`Environment`] per
//! scenario, and [`Environment::to_spec`] writes it back as a spec whose every value is fixed.

use crate::traffic::{Dist, Weighted, check_weights, choose};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Weather, as a spec gives it (intensities are distributions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum WeatherSpec {
    Clear,
    Overcast,
    /// Rain; intensity 0 (drizzle) to 1 (downpour).
    Rain {
        intensity: Dist,
    },
    /// Fog with this meteorological visibility.
    Fog {
        visibility_m: Dist,
    },
    /// Falling snow on a snowy road; intensity 0 to 1.
    Snow {
        intensity: Dist,
    },
}

/// Weather with its values fixed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Weather {
    Clear,
    Overcast,
    Rain { intensity: f64 },
    Fog { visibility_m: f64 },
    Snow { intensity: f64 },
}

impl Weather {
    /// Lower-case name, for outputs and indexes.
    pub fn name(&self) -> &'static str {
        match self {
            Weather::Clear => "clear",
            Weather::Overcast => "overcast",
            Weather::Rain { .. } => "rain",
            Weather::Fog { .. } => "fog",
            Weather::Snow { .. } => "snow",
        }
    }

    /// Typical tyre-road friction coefficient on asphalt in this weather.
    pub fn typical_friction(&self) -> f64 {
        match *self {
            Weather::Clear | Weather::Overcast => 0.9,
            Weather::Fog { .. } => 0.8,
            Weather::Rain { intensity } => 0.75 - 0.3 * intensity,
            Weather::Snow { intensity } => 0.35 - 0.15 * intensity,
        }
    }

    /// How far one can see, weather alone (daylight).
    pub fn visibility_m(&self) -> f64 {
        match *self {
            Weather::Fog { visibility_m } => visibility_m,
            Weather::Rain { intensity } => 10_000.0 - 9_000.0 * intensity,
            Weather::Snow { intensity } => 2_000.0 - 1_800.0 * intensity,
            Weather::Clear | Weather::Overcast => 10_000.0,
        }
    }
}

/// Time, place and weather, as distributions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvironmentSpec {
    /// Local solar time in hours, `[0, 24)`.
    pub time_of_day_h: Dist,
    /// Latitude of the scene (for the sun's path).
    pub latitude_deg: f64,
    /// Day of the year, 1 to 366 (for the sun's declination).
    pub day_of_year: u32,
    /// Weather, one option drawn per scenario.
    pub weather: Vec<Weighted<WeatherSpec>>,
    /// Tyre-road friction coefficient; left out, it follows the weather.
    pub friction: Option<Dist>,
}

impl Default for EnvironmentSpec {
    fn default() -> Self {
        Self {
            time_of_day_h: Dist::Fixed(12.0),
            latitude_deg: 48.0,
            day_of_year: 172,
            weather: vec![Weighted {
                value: WeatherSpec::Clear,
                weight: 1.0,
            }],
            friction: None,
        }
    }
}

/// The environment of one scenario, every value fixed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub time_of_day_h: f64,
    pub latitude_deg: f64,
    pub day_of_year: u32,
    pub weather: Weather,
    pub friction: f64,
}

impl Default for Environment {
    fn default() -> Self {
        Self {
            time_of_day_h: 12.0,
            latitude_deg: 48.0,
            day_of_year: 172,
            weather: Weather::Clear,
            friction: 0.9,
        }
    }
}

/// The sun seen from the scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sun {
    /// Above the horizon (negative: below).
    pub elevation_rad: f64,
    /// Clockwise from north (world +y), seen from above.
    pub azimuth_rad: f64,
}

impl Environment {
    /// The sun's position: solar declination from the day of the year (Cooper), the hour
    /// angle from local solar time.
    pub fn sun(&self) -> Sun {
        let decl = 23.44_f64.to_radians()
            * (std::f64::consts::TAU * (284.0 + self.day_of_year as f64) / 365.0).sin();
        let lat = self.latitude_deg.to_radians();
        let hour = (15.0 * (self.time_of_day_h - 12.0)).to_radians();
        let sin_el = lat.sin() * decl.sin() + lat.cos() * decl.cos() * hour.cos();
        let el = sin_el.clamp(-1.0, 1.0).asin();
        // Azimuth from north, clockwise; afternoon sun is west of the meridian.
        let az = (-hour.sin() * decl.cos())
            .atan2(decl.sin() * lat.cos() - decl.cos() * lat.sin() * hour.cos());
        Sun {
            elevation_rad: el,
            azimuth_rad: az.rem_euclid(std::f64::consts::TAU),
        }
    }

    /// Dark enough for headlights: the sun below 3 degrees, or fog under 150 m.
    pub fn headlights(&self) -> bool {
        self.sun().elevation_rad < 3f64.to_radians() || self.weather.visibility_m() < 150.0
    }

    /// Night: the sun below civil twilight (-6 degrees).
    pub fn is_night(&self) -> bool {
        self.sun().elevation_rad < (-6f64).to_radians()
    }

    /// Written back as a spec whose every value is fixed.
    pub fn to_spec(&self) -> EnvironmentSpec {
        let weather = match self.weather {
            Weather::Clear => WeatherSpec::Clear,
            Weather::Overcast => WeatherSpec::Overcast,
            Weather::Rain { intensity } => WeatherSpec::Rain {
                intensity: Dist::Fixed(intensity),
            },
            Weather::Fog { visibility_m } => WeatherSpec::Fog {
                visibility_m: Dist::Fixed(visibility_m),
            },
            Weather::Snow { intensity } => WeatherSpec::Snow {
                intensity: Dist::Fixed(intensity),
            },
        };
        EnvironmentSpec {
            time_of_day_h: Dist::Fixed(self.time_of_day_h),
            latitude_deg: self.latitude_deg,
            day_of_year: self.day_of_year,
            weather: vec![Weighted {
                value: weather,
                weight: 1.0,
            }],
            friction: Some(Dist::Fixed(self.friction)),
        }
    }
}

impl EnvironmentSpec {
    /// One environment.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Environment {
        let time_of_day_h = self.time_of_day_h.sample(rng);
        let weather = match choose(&self.weather, rng) {
            WeatherSpec::Clear => Weather::Clear,
            WeatherSpec::Overcast => Weather::Overcast,
            WeatherSpec::Rain { intensity } => Weather::Rain {
                intensity: intensity.sample(rng),
            },
            WeatherSpec::Fog { visibility_m } => Weather::Fog {
                visibility_m: visibility_m.sample(rng),
            },
            WeatherSpec::Snow { intensity } => Weather::Snow {
                intensity: intensity.sample(rng),
            },
        };
        let friction = match &self.friction {
            Some(d) => d.sample(rng),
            None => weather.typical_friction(),
        };
        Environment {
            time_of_day_h,
            latitude_deg: self.latitude_deg,
            day_of_year: self.day_of_year,
            weather,
            friction,
        }
    }

    /// Checks every range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.time_of_day_h
            .check("environment.time_of_day_h", 0.0, 24.0)?;
        if !(self.latitude_deg.is_finite() && (-90.0..=90.0).contains(&self.latitude_deg)) {
            return Err((
                "environment.latitude_deg".into(),
                format!("must be in [-90, 90], got {}", self.latitude_deg),
            ));
        }
        if !(1..=366).contains(&self.day_of_year) {
            return Err((
                "environment.day_of_year".into(),
                format!("must be in [1, 366], got {}", self.day_of_year),
            ));
        }
        check_weights(&self.weather, "environment.weather")?;
        for (i, w) in self.weather.iter().enumerate() {
            let path = format!("environment.weather[{i}].value");
            match &w.value {
                WeatherSpec::Clear | WeatherSpec::Overcast => {}
                WeatherSpec::Rain { intensity } | WeatherSpec::Snow { intensity } => {
                    intensity.check(&format!("{path}.intensity"), 0.0, 1.0)?
                }
                WeatherSpec::Fog { visibility_m } => {
                    visibility_m.check(&format!("{path}.visibility_m"), 5.0, 2000.0)?
                }
            }
        }
        if let Some(f) = &self.friction {
            f.check("environment.friction", 0.05, 1.2)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time_of_day_h: f64, latitude_deg: f64, day_of_year: u32) -> Sun {
        Environment {
            time_of_day_h,
            latitude_deg,
            day_of_year,
            ..Environment::default()
        }
        .sun()
    }

    #[test]
    fn sun_is_highest_at_noon_and_below_the_horizon_at_midnight() {
        // Equinox on the equator: overhead at noon, rising in the east at 6.
        let noon = at(12.0, 0.0, 81);
        assert!(
            (noon.elevation_rad.to_degrees() - 90.0).abs() < 1.0,
            "{noon:?}"
        );
        let six = at(6.0, 0.0, 81);
        assert!(six.elevation_rad.to_degrees().abs() < 1.0, "{six:?}");
        assert!((six.azimuth_rad.to_degrees() - 90.0).abs() < 2.0, "{six:?}");
        // Midsummer at 48 N: 90 - 48 + 23.44 at noon, due south; well below at midnight.
        let noon = at(12.0, 48.0, 172);
        assert!(
            (noon.elevation_rad.to_degrees() - 65.44).abs() < 0.1,
            "{noon:?}"
        );
        assert!(
            (noon.azimuth_rad.to_degrees() - 180.0).abs() < 0.1,
            "{noon:?}"
        );
        let afternoon = at(16.0, 48.0, 172);
        assert!(afternoon.azimuth_rad.to_degrees() > 180.0, "{afternoon:?}");
        assert!(at(0.0, 48.0, 172).elevation_rad.to_degrees() < -15.0);
    }

    #[test]
    fn night_and_fog_switch_headlights_on() {
        let mut e = Environment {
            time_of_day_h: 23.0,
            ..Environment::default()
        };
        assert!(e.is_night() && e.headlights());
        e.time_of_day_h = 13.0;
        assert!(!e.is_night() && !e.headlights());
        e.weather = Weather::Fog { visibility_m: 60.0 };
        assert!(e.headlights());
    }

    #[test]
    fn drawn_environment_written_back_draws_itself() {
        let spec = EnvironmentSpec {
            time_of_day_h: Dist::Uniform {
                min: 18.0,
                max: 23.0,
            },
            weather: vec![
                Weighted {
                    value: WeatherSpec::Rain {
                        intensity: Dist::Uniform { min: 0.2, max: 0.9 },
                    },
                    weight: 1.0,
                },
                Weighted {
                    value: WeatherSpec::Fog {
                        visibility_m: Dist::Fixed(70.0),
                    },
                    weight: 1.0,
                },
            ],
            ..EnvironmentSpec::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..20 {
            let e = spec.draw(&mut rng);
            assert!((18.0..=23.0).contains(&e.time_of_day_h));
            assert!(e.friction > 0.3 && e.friction < 0.9, "{e:?}");
            let fixed = e.to_spec();
            fixed.validate().unwrap();
            assert_eq!(fixed.draw(&mut rng), e);
        }
    }

    use rand::SeedableRng;
}
