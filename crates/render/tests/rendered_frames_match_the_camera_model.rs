//! Renders a known motorway through the front rig on whatever Vulkan device there is (Mesa's
//! CPU driver in CI) and checks the pictures against the road geometry, using the camera
//! metadata written next to the frames: lane markings projected with the written intrinsics
//! and extrinsics land on bright marking pixels, lane centres on asphalt grey, sky above the
//! horizon line and none below it. The same checks with the extrinsics perturbed must fail,
//! which shows they can.

use image::RgbaImage;
use nalgebra::{Matrix3, Matrix4, Point3, Rotation3, Translation3, Vector3};
use roadworld_render::job::{Job, run};
use roadworld_render::{Look, RenderOptions};
use roadworld_road::{LaneType, Network};
use roadworld_scene3d::scenery::{MARKING_LIFT_M, painted_spans};
use roadworld_scene3d::{Rig, RigKind};
use std::path::Path;

const W: u32 = 480;
const H: u32 = 270;

fn spec() -> roadworld_spec::ScenarioSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/motorway.ron");
    roadworld_spec::load_spec(&path).expect("motorway spec")
}

/// Renders 0.5 s of the motorway example (seed 1) into `out`.
fn render(out: &Path, look: Look) {
    let job = Job {
        spec: spec(),
        seed: 1,
        rig: Rig::new(RigKind::Front, W, H, 90f64.to_radians(), 80.0),
        fps: 10.0,
        seconds: 0.5,
        out: out.to_path_buf(),
        options: RenderOptions {
            look,
            ..RenderOptions::default()
        },
        writer_threads: 1,
    };
    let report = run(&job, |_, _| {}).expect("rendered");
    assert_eq!(report.frames, 5);
    assert_eq!(report.writers.images, 5);
}

/// `K` and `camera_from_world` of a frame, read back from its JSON.
fn camera_of(out: &Path, frame: u32) -> (Matrix3<f64>, Matrix4<f64>) {
    let text =
        std::fs::read_to_string(out.join(format!("front/{frame:06}.json"))).expect("frame json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let m = |key: &str, n: usize| -> Vec<f64> {
        let rows = v[key].as_array().expect("rows");
        assert_eq!(rows.len(), n);
        rows.iter()
            .flat_map(|r| {
                r.as_array()
                    .expect("row")
                    .iter()
                    .map(|x| x.as_f64().expect("number"))
            })
            .collect()
    };
    (
        Matrix3::from_row_slice(&m("k", 3)),
        Matrix4::from_row_slice(&m("camera_from_world", 4)),
    )
}

fn project(
    k: &Matrix3<f64>,
    camera_from_world: &Matrix4<f64>,
    p: Point3<f64>,
) -> Option<(f64, f64, f64)> {
    let c = camera_from_world.transform_point(&p);
    if c.z <= 0.1 {
        return None;
    }
    let q = k * Vector3::new(c.x / c.z, c.y / c.z, 1.0);
    Some((q.x, q.y, c.z))
}

fn luminance(img: &RgbaImage, x: i64, y: i64) -> f64 {
    let p = img.get_pixel(x as u32, y as u32);
    0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64
}

/// Points on the centre lines of painted markings (dash ends trimmed), world frame.
fn marking_points(net: &Network) -> Vec<Point3<f64>> {
    let mut pts = Vec::new();
    for road in net.roads.iter().filter(|r| r.junction.is_none()) {
        for (i, sec) in road.sections.iter().enumerate() {
            let (s0, s1) = (sec.s_m, road.section_end_m(i));
            for lane in std::iter::once(&sec.center).chain(sec.side_lanes()) {
                let Some(m) = lane.marks.first() else {
                    continue;
                };
                let sign = if lane.id >= 0 { 1.0 } else { -1.0 };
                for &(off, broken) in m.kind.lines() {
                    for (a, z) in painted_spans(s0, s1, broken, road.class) {
                        let mut s = a + 0.4;
                        while s < z - 0.4 {
                            let t = road.lane_borders_t(i, lane.id, s).1 + sign * off;
                            let p = road.point_at(s, t);
                            pts.push(Point3::new(p.x, p.y, road.z_at(s, t) + MARKING_LIFT_M));
                            s += 0.25;
                        }
                    }
                }
            }
        }
    }
    pts
}

/// Centres of driving lanes, world frame.
fn lane_centres(net: &Network) -> Vec<Point3<f64>> {
    let mut pts = Vec::new();
    for road in net.roads.iter().filter(|r| r.junction.is_none()) {
        for (i, sec) in road.sections.iter().enumerate() {
            for lane in sec.side_lanes().filter(|l| l.kind == LaneType::Driving) {
                let mut s = sec.s_m;
                while s < road.section_end_m(i) {
                    let (a, o) = road.lane_borders_t(i, lane.id, s);
                    if (a - o).abs() > 3.0 {
                        let t = 0.5 * (a + o);
                        let p = road.point_at(s, t);
                        pts.push(Point3::new(p.x, p.y, road.z_at(s, t)));
                    }
                    s += 1.0;
                }
            }
        }
    }
    pts
}

/// Pixel positions of the points `near_m..=far_m` in front of the camera that project at
/// least `margin_px` inside the image.
fn in_view(
    k: &Matrix3<f64>,
    cfw: &Matrix4<f64>,
    pts: &[Point3<f64>],
    (near_m, far_m): (f64, f64),
    margin_px: f64,
) -> Vec<(f64, f64)> {
    pts.iter()
        .filter_map(|p| project(k, cfw, *p))
        .filter(|&(u, v, depth)| {
            (near_m..=far_m).contains(&depth)
                && (margin_px..W as f64 - margin_px).contains(&u)
                && (margin_px..H as f64 - margin_px).contains(&v)
        })
        .map(|(u, v, _)| (u, v))
        .collect()
}

/// Share of the marking points 5-15 m ahead that land within a pixel of a bright pixel (a
/// marking there is 2-4 pixels wide), and how many were in view.
fn marking_hits(
    img: &RgbaImage,
    k: &Matrix3<f64>,
    cfw: &Matrix4<f64>,
    pts: &[Point3<f64>],
) -> (usize, f64) {
    let seen = in_view(k, cfw, pts, (5.0, 15.0), 3.0);
    let hit = seen
        .iter()
        .filter(|&&(u, v)| {
            let (x, y) = (u.floor() as i64, v.floor() as i64);
            (-1..=1).any(|dy| (-1..=1).any(|dx| luminance(img, x + dx, y + dy) >= 150.0))
        })
        .count();
    (seen.len(), hit as f64 / seen.len().max(1) as f64)
}

/// Share of lane-centre points 5-30 m ahead whose pixel is asphalt grey, and how many were
/// in view.
fn asphalt_hits(
    img: &RgbaImage,
    k: &Matrix3<f64>,
    cfw: &Matrix4<f64>,
    pts: &[Point3<f64>],
) -> (usize, f64) {
    let seen = in_view(k, cfw, pts, (5.0, 30.0), 0.0);
    let hit = seen
        .iter()
        .filter(|&&(u, v)| {
            let px = img.get_pixel(u as u32, v as u32);
            let (lo, hi) = (px[0].min(px[1]).min(px[2]), px[0].max(px[1]).max(px[2]));
            hi - lo < 16 && (35.0..=150.0).contains(&luminance(img, u as i64, v as i64))
        })
        .count();
    (seen.len(), hit as f64 / seen.len().max(1) as f64)
}

fn is_sky(img: &RgbaImage, x: u32, y: u32) -> bool {
    let p = img.get_pixel(x, y);
    p[2] as i32 > p[0] as i32 + 25 && p[2] > 150
}

/// Row of the horizon: where horizontal directions at infinity project (the rig has no roll).
fn horizon_row(k: &Matrix3<f64>, cfw: &Matrix4<f64>) -> f64 {
    let r = cfw.fixed_view::<3, 3>(0, 0).into_owned();
    // The camera's optical axis in the world, flattened.
    let axis = r.transpose() * Vector3::z();
    let d = Vector3::new(axis.x, axis.y, 0.0).normalize();
    let c = r * d;
    k[(1, 1)] * c.y / c.z + k[(1, 2)]
}

/// Shares of sky pixels above (8 rows clear of) and below the horizon line.
fn sky_split(img: &RgbaImage, row: f64) -> (f64, f64) {
    let (mut above, mut na, mut below, mut nb) = (0, 0, 0, 0);
    for y in 0..H {
        for x in (0..W).step_by(3) {
            if (y as f64) < row - 8.0 {
                na += 1;
                above += is_sky(img, x, y) as usize;
            } else if (y as f64) > row + 8.0 {
                nb += 1;
                below += is_sky(img, x, y) as usize;
            }
        }
    }
    (
        above as f64 / na.max(1) as f64,
        below as f64 / nb.max(1) as f64,
    )
}

fn perturbed(cfw: &Matrix4<f64>, yaw_deg: f64, shift_m: f64) -> Matrix4<f64> {
    // In the camera frame: a turn about the image's vertical axis, then a sideways shift.
    let turn =
        Rotation3::from_axis_angle(&Vector3::y_axis(), yaw_deg.to_radians()).to_homogeneous();
    let shift = Translation3::new(shift_m, 0.0, 0.0).to_homogeneous();
    shift * turn * cfw
}

#[test]
fn lane_markings_asphalt_and_sky_land_where_the_written_camera_model_puts_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    render(dir.path(), Look::Fast);
    let spec = spec();
    let net = roadworld_road::generate(&spec.road, 1).expect("network");
    let (marks, centres) = (marking_points(&net), lane_centres(&net));
    for frame in [0u32, 4] {
        let img = image::open(dir.path().join(format!("front/{frame:06}.png")))
            .expect("png")
            .to_rgba8();
        assert_eq!(img.dimensions(), (W, H));
        let (k, cfw) = camera_of(dir.path(), frame);

        let (n, rate) = marking_hits(&img, &k, &cfw, &marks);
        assert!(n >= 30, "frame {frame}: only {n} marking points in view");
        assert!(
            rate >= 0.95,
            "frame {frame}: {:.0}% of {n} marking points on bright pixels",
            100.0 * rate
        );

        let (n, rate) = asphalt_hits(&img, &k, &cfw, &centres);
        assert!(n >= 10, "frame {frame}: only {n} lane centres in view");
        assert!(
            rate >= 0.95,
            "frame {frame}: {:.0}% of {n} lane centres asphalt grey",
            100.0 * rate
        );

        let row = horizon_row(&k, &cfw);
        assert!(row > 20.0 && row < H as f64 - 20.0, "horizon at row {row}");
        let (above, below) = sky_split(&img, row);
        assert!(
            above >= 0.85,
            "frame {frame}: {:.0}% sky above the horizon",
            100.0 * above
        );
        assert!(
            below <= 0.02,
            "frame {frame}: {:.1}% sky below the horizon",
            100.0 * below
        );

        // The checks can fail: a camera turned by 1.5 degrees or moved 0.4 m sideways misses
        // the markings, and one pitched by 4 degrees puts the horizon elsewhere.
        for (yaw, shift) in [(1.5, 0.0), (-1.5, 0.0), (0.0, 0.4), (0.0, -0.4)] {
            let (_, rate) = marking_hits(&img, &k, &perturbed(&cfw, yaw, shift), &marks);
            assert!(
                rate < 0.5,
                "frame {frame}: perturbed by {yaw} deg, {shift} m still hits {:.0}%",
                100.0 * rate
            );
        }
        let pitched = Rotation3::from_axis_angle(&Vector3::x_axis(), 4f64.to_radians())
            .to_homogeneous()
            * cfw;
        let (above, below) = sky_split(&img, horizon_row(&k, &pitched));
        assert!(
            above < 0.85 || below > 0.02,
            "a pitched camera model still splits the sky: {above} {below}"
        );
    }
}

#[test]
fn the_pbr_look_renders_the_same_road_in_the_same_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    render(dir.path(), Look::Pbr);
    let net = roadworld_road::generate(&spec().road, 1).expect("network");
    let img = image::open(dir.path().join("front/000003.png"))
        .expect("png")
        .to_rgba8();
    let (k, cfw) = camera_of(dir.path(), 3);
    let (n, rate) = marking_hits(&img, &k, &cfw, &marking_points(&net));
    assert!(
        n >= 30 && rate >= 0.95,
        "{:.0}% of {n} marking points on bright pixels",
        100.0 * rate
    );
    let (above, below) = sky_split(&img, horizon_row(&k, &cfw));
    assert!(
        above >= 0.85 && below <= 0.02,
        "sky {above} above, {below} below"
    );
}

#[test]
fn every_frame_comes_back_in_order_showing_its_own_pose() {
    use nalgebra::{Isometry3, UnitQuaternion};
    use roadworld_render::Renderer;
    use roadworld_scene3d::{Scenery, SceneryOptions};
    let net = roadworld_road::generate(&spec().road, 1).expect("network");
    let scenery = Scenery::build(&net, &SceneryOptions::default());
    let rig = Rig::new(RigKind::Front, 96, 54, 60f64.to_radians(), 80.0);
    let mut r = Renderer::new(&scenery, &rig, &RenderOptions::default()).expect("renderer");
    let road = &net.roads[0];
    let p = road.point_at(20.0, 0.0);
    let heading = road.reference_line.pose(20.0).heading_rad;
    // Nose up 70 degrees: all sky; nose down 40 degrees: all ground.
    let pattern = [
        true, false, false, true, true, false, true, false, false, false, true,
    ];
    let pose = |up: bool| {
        let pitch = if up { -70f64 } else { 40f64 }.to_radians();
        Isometry3::from_parts(
            Translation3::new(p.x, p.y, road.z_at(20.0, 0.0)),
            UnitQuaternion::from_axis_angle(&Vector3::z_axis(), heading)
                * UnitQuaternion::from_axis_angle(&Vector3::y_axis(), pitch),
        )
    };
    let mut got = Vec::new();
    for &up in &pattern {
        got.extend(r.render(&pose(up)).expect("rendered"));
    }
    got.extend(r.finish().expect("finished"));
    assert_eq!(got.len(), pattern.len());
    for (k, (frame, &up)) in got.iter().zip(&pattern).enumerate() {
        assert_eq!(frame.index, k as u64);
        let img = &frame.images[0];
        let sky = img
            .enumerate_pixels()
            .filter(|(x, y, _)| is_sky(img, *x, *y))
            .count() as f64
            / (img.width() * img.height()) as f64;
        if up {
            assert!(
                sky > 0.9,
                "frame {k} looks up but shows {:.0}% sky",
                100.0 * sky
            );
        } else {
            assert!(
                sky < 0.1,
                "frame {k} looks down but shows {:.0}% sky",
                100.0 * sky
            );
        }
    }
    // A renderer can go on after finishing.
    assert!(r.render(&pose(true)).expect("rendered").is_none());
    let last = r.finish().expect("finished").expect("the frame");
    assert_eq!(last.index, pattern.len() as u64);
}
