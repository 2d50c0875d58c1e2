//! The library's index: an SQLite file (`index.sqlite`) with a row per scenario, a row per
//! event and a row per scenario that could not be made.
//!
//! Tables (every measure in SI units, named with them; a measure that never occurred is
//! NULL):
//!
//! - `scenarios`: `idx` (the scenario's index in the library), `id` (content hash of the
//!   recipe), `seed` (the scenario seed, decimal text: seeds are 64-bit unsigned), `entry`
//!   (the spec file it was drawn from), `spec_hash`, `engine`, `name`, `road_classes`
//!   (comma-separated), `route_length_m`, `duration_s`, `weather`, `time_of_day_h`,
//!   `friction`, `event_types` (comma-separated, sorted), `events`, `actors`, the ego's
//!   scene-wide `min_ttc_s`, `min_ttc_path_s`, `min_thw_s`, `pet_s`, `min_distance_m`,
//!   `max_drac_mps2`, `max_required_decel_mps2`, `collision` (0/1), `avoidable` (1: every
//!   event was avoided as driven or has an evasive manoeuvre that avoids it; 0: some event's
//!   collision is unavoidable), `on_target`, `tries`, `recipe` (path in the library).
//! - `events`: `idx`, `event` (its number in the scenario), `kind` (`cut_in`...), `nhtsa`,
//!   `outcome`, `start_s`, `action_s`, the same measures for the event's own road users,
//!   `collision`, `avoidable`, `on_target`.
//! - `failures`: `idx`, `seed`, `entry`, `kind` (`missed_target`: targeted generation gave
//!   up; `error`; `panic`), `message`.
//! - view `scenario_events`: every column of `scenarios` with the event's as `event`
//!   (kind), `event_index`, `nhtsa`, `outcome`, `event_min_ttc_s`, `event_pet_s`,
//!   `event_min_thw_s`, `event_min_distance_m`, `event_collision`, `event_avoidable` (a
//!   scenario without events has one row with these NULL).
//!
//! During a batch rows are committed one by one, each after its files are in place. At the
//! end the index is written again, rows in index order, into a fresh file that replaces
//! the working one: the same library gives the same bytes whatever the number of jobs and
//! however often it was interrupted and resumed.

use crate::LibraryError;
use crate::recipe::Recipe;
use roadworld_scenario::criticality::Criticality;
use rusqlite::{Connection, params};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE scenarios (
    idx INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    seed TEXT NOT NULL,
    entry TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    engine TEXT NOT NULL,
    name TEXT NOT NULL,
    road_classes TEXT NOT NULL,
    route_length_m REAL NOT NULL,
    duration_s REAL NOT NULL,
    weather TEXT NOT NULL,
    time_of_day_h REAL NOT NULL,
    friction REAL NOT NULL,
    event_types TEXT NOT NULL,
    events INTEGER NOT NULL,
    actors INTEGER NOT NULL,
    min_ttc_s REAL,
    min_ttc_path_s REAL,
    min_thw_s REAL,
    pet_s REAL,
    min_distance_m REAL,
    max_drac_mps2 REAL,
    max_required_decel_mps2 REAL,
    collision INTEGER NOT NULL,
    avoidable INTEGER,
    on_target INTEGER NOT NULL,
    tries INTEGER NOT NULL,
    recipe TEXT NOT NULL
);
CREATE TABLE events (
    idx INTEGER NOT NULL,
    event INTEGER NOT NULL,
    kind TEXT NOT NULL,
    nhtsa TEXT NOT NULL,
    outcome TEXT NOT NULL,
    start_s REAL,
    action_s REAL,
    min_ttc_s REAL,
    min_ttc_path_s REAL,
    min_thw_s REAL,
    pet_s REAL,
    min_distance_m REAL,
    max_drac_mps2 REAL,
    collision INTEGER NOT NULL,
    avoidable INTEGER,
    on_target INTEGER NOT NULL,
    PRIMARY KEY (idx, event)
) WITHOUT ROWID;
CREATE TABLE failures (
    idx INTEGER PRIMARY KEY,
    seed TEXT NOT NULL,
    entry TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX events_kind ON events (kind);
CREATE VIEW scenario_events AS
    SELECT s.*, e.event AS event_index, e.kind AS event, e.nhtsa AS nhtsa,
           e.outcome AS outcome, e.min_ttc_s AS event_min_ttc_s, e.pet_s AS event_pet_s,
           e.min_thw_s AS event_min_thw_s, e.min_distance_m AS event_min_distance_m,
           e.collision AS event_collision, e.avoidable AS event_avoidable
    FROM scenarios s LEFT JOIN events e ON e.idx = s.idx;
";

/// What the index knows of a scenario besides its recipe.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFacts {
    pub seed: u64,
    pub spec_hash: String,
    pub road_classes: String,
    pub route_length_m: f64,
    pub weather: String,
    pub time_of_day_h: f64,
    pub friction: f64,
    pub recipe_path: String,
}

/// The working index of a library being made.
#[derive(Debug)]
pub struct Index {
    conn: Connection,
    path: PathBuf,
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> LibraryError + '_ {
    move |source| LibraryError::Index {
        path: path.display().to_string(),
        source,
    }
}

fn open_rw(path: &Path) -> Result<Connection, LibraryError> {
    let conn = Connection::open(path).map_err(sql(path))?;
    let fresh: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'scenarios'",
            [],
            |r| r.get(0),
        )
        .map_err(sql(path))?;
    if fresh == 0 {
        conn.execute_batch(SCHEMA).map_err(sql(path))?;
    }
    Ok(conn)
}

fn extreme(c: &Option<roadworld_scenario::criticality::Extreme>) -> Option<f64> {
    c.map(|e| e.value)
}

/// Avoidable: 1 where no collision happened as driven or a manoeuvre avoids it; 0 where the
/// search found none; NULL where a collision was not searched.
fn event_avoidable(e: &roadworld_scenario::EventSummary) -> Option<bool> {
    match (&e.criticality.collision, &e.solvability) {
        (None, _) => Some(true),
        (Some(_), Some(s)) => Some(s.avoidable),
        (Some(_), None) => None,
    }
}

impl Index {
    /// Opens (or creates) the working index at `path`.
    pub fn open(path: &Path) -> Result<Self, LibraryError> {
        let conn = open_rw(path)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql(path))?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Indices already finished: made or failed.
    pub fn finished(&self) -> Result<BTreeSet<u64>, LibraryError> {
        let mut out = BTreeSet::new();
        for table in ["scenarios", "failures"] {
            let mut st = self
                .conn
                .prepare(&format!("SELECT idx FROM {table}"))
                .map_err(sql(&self.path))?;
            let rows = st
                .query_map([], |r| r.get::<_, i64>(0))
                .map_err(sql(&self.path))?;
            for r in rows {
                out.insert(r.map_err(sql(&self.path))? as u64);
            }
        }
        Ok(out)
    }

    /// Adds a scenario (and its events) in one transaction.
    pub fn add(&mut self, recipe: &Recipe, facts: &RowFacts) -> Result<(), LibraryError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(sql(&path))?;
        let s = &recipe.summary;
        let mut kinds: Vec<&str> = s.events.iter().map(|e| e.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let avoid: Vec<Option<bool>> = s.events.iter().map(event_avoidable).collect();
        let avoidable = if avoid.contains(&Some(false)) {
            Some(false)
        } else if avoid.contains(&None) || (s.events.is_empty() && s.scene.collision.is_some()) {
            None
        } else {
            Some(true)
        };
        let c: &Criticality = &s.scene;
        tx.execute(
            "INSERT INTO scenarios VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
             ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)",
            params![
                recipe.index as i64,
                recipe.id(),
                facts.seed.to_string(),
                recipe.entry,
                facts.spec_hash,
                recipe.engine,
                s.name,
                facts.road_classes,
                facts.route_length_m,
                s.duration_s,
                facts.weather,
                facts.time_of_day_h,
                facts.friction,
                kinds.join(","),
                s.events.len() as i64,
                s.actors as i64,
                extreme(&c.min_ttc_s),
                extreme(&c.min_ttc_path_s),
                extreme(&c.min_thw_s),
                extreme(&c.pet_s),
                extreme(&c.min_distance_m),
                extreme(&c.max_drac_mps2),
                extreme(&c.max_required_decel_mps2),
                c.collision.is_some(),
                avoidable,
                s.on_target,
                recipe.tries,
                facts.recipe_path,
            ],
        )
        .map_err(sql(&path))?;
        for (e, avoidable) in s.events.iter().zip(&avoid) {
            let c = &e.criticality;
            tx.execute(
                "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                 ?13, ?14, ?15, ?16)",
                params![
                    recipe.index as i64,
                    e.index as i64,
                    e.kind,
                    e.nhtsa,
                    e.outcome,
                    e.start_s,
                    e.action_s,
                    extreme(&c.min_ttc_s),
                    extreme(&c.min_ttc_path_s),
                    extreme(&c.min_thw_s),
                    extreme(&c.pet_s),
                    extreme(&c.min_distance_m),
                    extreme(&c.max_drac_mps2),
                    c.collision.is_some(),
                    avoidable,
                    e.on_target(),
                ],
            )
            .map_err(sql(&path))?;
        }
        tx.commit().map_err(sql(&path))
    }

    /// Records a scenario that could not be made.
    pub fn fail(
        &mut self,
        index: u64,
        seed: u64,
        entry: &str,
        kind: crate::FailureKind,
        message: &str,
    ) -> Result<(), LibraryError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO failures VALUES (?1, ?2, ?3, ?4, ?5)",
                params![index as i64, seed.to_string(), entry, kind.name(), message],
            )
            .map_err(sql(&self.path))?;
        Ok(())
    }

    /// Takes in every row of another library's index that this one does not have (the
    /// other library's files must be in place first).
    pub fn absorb(&mut self, other: &Path) -> Result<(), LibraryError> {
        let path = self.path.clone();
        self.conn
            .execute(
                "ATTACH DATABASE ?1 AS src",
                params![other.display().to_string()],
            )
            .map_err(sql(&path))?;
        let r = self
            .conn
            .execute_batch(
                "BEGIN;
                 INSERT OR IGNORE INTO main.scenarios SELECT * FROM src.scenarios;
                 INSERT OR IGNORE INTO main.events SELECT * FROM src.events;
                 INSERT OR IGNORE INTO main.failures SELECT * FROM src.failures;
                 COMMIT;",
            )
            .map_err(sql(other));
        self.conn
            .execute_batch("DETACH DATABASE src;")
            .map_err(sql(&path))?;
        r
    }

    /// Writes the index again into a fresh file, rows in index order, and puts it in place
    /// of the working one (the library's final `index.sqlite`).
    pub fn finish(self) -> Result<(), LibraryError> {
        let Self { conn, path } = self;
        let tmp = path.with_extension("sqlite.tmp");
        let io = |source| LibraryError::Io {
            path: tmp.display().to_string(),
            source,
        };
        if tmp.exists() {
            std::fs::remove_file(&tmp).map_err(io)?;
        }
        {
            let fresh = open_rw(&tmp)?;
            drop(fresh);
        }
        conn.execute(
            "ATTACH DATABASE ?1 AS fresh",
            params![tmp.display().to_string()],
        )
        .map_err(sql(&path))?;
        conn.execute_batch(
            "BEGIN;
             INSERT INTO fresh.scenarios SELECT * FROM main.scenarios ORDER BY idx;
             INSERT INTO fresh.events SELECT * FROM main.events ORDER BY idx, event;
             INSERT INTO fresh.failures SELECT * FROM main.failures ORDER BY idx;
             COMMIT;
             DETACH DATABASE fresh;",
        )
        .map_err(sql(&path))?;
        conn.close().map_err(|(_, e)| sql(&path)(e))?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(())
    }
}

/// A read-only view of a finished library's index, for queries.
#[derive(Debug)]
pub struct Reader {
    conn: Connection,
    path: PathBuf,
}

/// One scenario a query found: its `scenarios` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub idx: u64,
    pub recipe: String,
    /// Every column of the row, by name (non-finite reals as the strings `inf`, `-inf`).
    pub row: serde_json::Map<String, serde_json::Value>,
}

/// One event of a library's index (the columns `roadworld stats` uses).
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub idx: u64,
    pub kind: String,
    pub min_ttc_s: Option<f64>,
    pub pet_s: Option<f64>,
    pub collision: bool,
    pub on_target: bool,
}

impl Reader {
    /// Opens a library's index read-only.
    pub fn open(path: &Path) -> Result<Self, LibraryError> {
        if !path.is_file() {
            return Err(LibraryError::Invalid {
                path: path.display().to_string(),
                message: "no index here: not a library (run `roadworld batch` first)".into(),
            });
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(sql(path))?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Scenarios (in index order) with at least one row of `scenario_events` for which the
    /// SQL expression `filter` holds (`"1"` for all).
    pub fn query(&self, filter: &str) -> Result<Vec<Found>, LibraryError> {
        let q = format!(
            "SELECT * FROM scenarios WHERE idx IN \
             (SELECT idx FROM scenario_events WHERE {filter}) ORDER BY idx"
        );
        let mut st = self.conn.prepare(&q).map_err(sql(&self.path))?;
        let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
        let rows = st
            .query_map([], |r| {
                let mut row = serde_json::Map::new();
                for (i, n) in names.iter().enumerate() {
                    use rusqlite::types::ValueRef;
                    let v = match r.get_ref(i)? {
                        ValueRef::Null => serde_json::Value::Null,
                        ValueRef::Integer(x) => x.into(),
                        ValueRef::Real(x) => serde_json::Number::from_f64(x)
                            .map_or_else(|| x.to_string().into(), serde_json::Value::Number),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            String::from_utf8_lossy(t).into_owned().into()
                        }
                    };
                    row.insert(n.clone(), v);
                }
                Ok(row)
            })
            .map_err(sql(&self.path))?;
        let mut out = Vec::new();
        for r in rows {
            let row = r.map_err(sql(&self.path))?;
            let idx = row.get("idx").and_then(|v| v.as_u64()).unwrap_or_default();
            let recipe = row
                .get("recipe")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            out.push(Found { idx, recipe, row });
        }
        Ok(out)
    }

    /// Every event of the library, in index order.
    pub fn events(&self) -> Result<Vec<EventRow>, LibraryError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT idx, kind, min_ttc_s, pet_s, collision, on_target FROM events \
                 ORDER BY idx, event",
            )
            .map_err(sql(&self.path))?;
        let rows = st
            .query_map([], |r| {
                Ok(EventRow {
                    idx: r.get::<_, i64>(0)? as u64,
                    kind: r.get(1)?,
                    min_ttc_s: r.get(2)?,
                    pet_s: r.get(3)?,
                    collision: r.get::<_, i64>(4)? != 0,
                    on_target: r.get::<_, i64>(5)? != 0,
                })
            })
            .map_err(sql(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql(&self.path))
    }

    /// Scenarios that could not be made: (index, seed, entry, kind, message).
    #[allow(clippy::type_complexity)]
    pub fn failures(&self) -> Result<Vec<(u64, String, String, String, String)>, LibraryError> {
        let mut st = self
            .conn
            .prepare("SELECT idx, seed, entry, kind, message FROM failures ORDER BY idx")
            .map_err(sql(&self.path))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            })
            .map_err(sql(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql(&self.path))
    }
}
