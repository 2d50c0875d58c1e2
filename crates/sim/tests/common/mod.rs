//! Helpers shared by the integration tests of the areas round the ego.

use roadworld_sim::record::{ActorRecord, Recording};

/// Samples of the road users `counted` picks (the ego never counts), over a recording:
/// `(seen, moving)`, those within 300 m of the ego and all of them. With an area round the ego
/// (`area`: its radius and the margin allowed beyond it), checks that each is within the
/// radius plus the margin of the ego, and that none comes in within the ego's sight (300 m,
/// from 25 m behind it) after the start. Frames without the ego (it may leave the network)
/// are skipped. `what` names the run in failures.
pub fn area_counts(
    rec: &Recording,
    counted: impl Fn(&ActorRecord) -> bool,
    area: Option<(f64, f64)>,
    what: &str,
) -> (usize, usize) {
    let ego = rec.actors.iter().position(|a| a.ego).expect("ego") as u32;
    let (mut seen, mut moving) = (0, 0);
    for k in 0..rec.frames() {
        let frame = rec.frame(k);
        let Some(e) = frame.iter().find(|s| s.actor == ego) else {
            continue;
        };
        let (sin, cos) = (e.heading_rad as f64).sin_cos();
        for s in frame
            .iter()
            .filter(|s| s.actor != ego && counted(&rec.actors[s.actor as usize]))
        {
            let (dx, dy) = ((s.x_m - e.x_m) as f64, (s.y_m - e.y_m) as f64);
            let dist = dx.hypot(dy);
            moving += 1;
            if dist < 300.0 {
                seen += 1;
            }
            let Some((r, margin_m)) = area else { continue };
            assert!(dist < r + margin_m, "{what} frame {k}: {dist:.0} m");
            if rec.actors[s.actor as usize].first_frame as usize == k && k > 0 {
                let ahead = dx * cos + dy * sin;
                assert!(
                    ahead < -25.0 || dist > 295.0,
                    "{what} frame {k}: new at {ahead:.0} m ahead, {dist:.0} m off"
                );
            }
        }
    }
    (seen, moving)
}
