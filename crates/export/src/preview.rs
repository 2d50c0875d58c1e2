//! Top-down previews of networks for people: asphalt, lane markings, junctions, crosswalks,
//! roadside objects, signals, the main route highlighted and a scale bar.

use image::{Rgba, RgbaImage};
use roadworld_geom::Point2;
use roadworld_road::model::*;

/// Preview options.
#[derive(Debug, Clone, Copy)]
pub struct PreviewOptions {
    /// Longest image side in pixels.
    pub max_side_px: u32,
    /// Upper bound on the scale, pixels per metre.
    pub max_px_per_m: f64,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        Self {
            max_side_px: 3000,
            max_px_per_m: 4.0,
        }
    }
}

pub(crate) type Color = [u8; 4];
const GRASS: Color = [118, 150, 92, 255];
const ASPHALT: Color = [72, 72, 76, 255];
const JUNCTION: Color = [80, 80, 84, 255];
const SHOULDER: Color = [112, 112, 114, 255];
const SIDEWALK: Color = [196, 188, 172, 255];
const BIKE: Color = [170, 90, 80, 255];
const PARKING: Color = [92, 96, 110, 255];
const MEDIAN: Color = [96, 128, 84, 255];
const WHITE: Color = [240, 240, 240, 255];
const YELLOW: Color = [240, 200, 40, 255];
const ROUTE: Color = [255, 120, 0, 150];

pub(crate) struct Canvas {
    pub(crate) img: RgbaImage,
    pub(crate) min: Point2,
    pub(crate) scale: f64,
}

impl Canvas {
    pub(crate) fn px(&self, p: Point2) -> (f64, f64) {
        (
            (p.x - self.min.x) * self.scale,
            self.img.height() as f64 - (p.y - self.min.y) * self.scale,
        )
    }

    fn blend(&mut self, x: i64, y: i64, c: Color) {
        if x < 0 || y < 0 || x >= self.img.width() as i64 || y >= self.img.height() as i64 {
            return;
        }
        let p = self.img.get_pixel_mut(x as u32, y as u32);
        let a = c[3] as u32;
        for (dst, src) in p.0.iter_mut().zip(c).take(3) {
            *dst = ((src as u32 * a + *dst as u32 * (255 - a)) / 255) as u8;
        }
    }

    /// Fills a polygon given in world coordinates (even-odd rule, pixel centres).
    pub(crate) fn fill(&mut self, poly: &[Point2], c: Color) {
        if poly.len() < 3 {
            return;
        }
        let pts: Vec<(f64, f64)> = poly.iter().map(|p| self.px(*p)).collect();
        let (mut y0, mut y1) = (f64::MAX, f64::MIN);
        for p in &pts {
            y0 = y0.min(p.1);
            y1 = y1.max(p.1);
        }
        let h = self.img.height() as f64;
        let (ys, ye) = (y0.max(0.0).floor() as i64, y1.min(h - 1.0).ceil() as i64);
        let mut xs = Vec::with_capacity(8);
        for y in ys..=ye {
            let yc = y as f64 + 0.5;
            xs.clear();
            for i in 0..pts.len() {
                let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
                if (a.1 <= yc) != (b.1 <= yc) {
                    xs.push(a.0 + (yc - a.1) / (b.1 - a.1) * (b.0 - a.0));
                }
            }
            xs.sort_by(f64::total_cmp);
            for pair in xs.chunks(2) {
                if let [xa, xb] = pair {
                    let (sx, ex) = ((xa - 0.5).ceil() as i64, (xb - 0.5).floor() as i64);
                    for x in sx.max(0)..=ex.min(self.img.width() as i64 - 1) {
                        self.blend(x, y, c);
                    }
                }
            }
        }
    }

    /// A thick segment of `width_m`, at least one pixel wide.
    pub(crate) fn line(&mut self, a: Point2, b: Point2, width_m: f64, c: Color) {
        let d = b - a;
        let len = d.norm();
        if len < 1e-9 {
            return;
        }
        let w = (0.5 * width_m).max(0.55 / self.scale);
        let n = roadworld_geom::Vector2::new(-d.y, d.x) / len * w;
        self.fill(&[a + n, b + n, b - n, a - n], c);
    }

    pub(crate) fn disc(&mut self, p: Point2, r_m: f64, c: Color) {
        let r = r_m.max(0.8 / self.scale);
        let poly: Vec<Point2> = (0..12)
            .map(|i| {
                let a = std::f64::consts::TAU * i as f64 / 12.0;
                p + roadworld_geom::Vector2::new(a.cos(), a.sin()) * r
            })
            .collect();
        self.fill(&poly, c);
    }
}

fn lane_color(kind: LaneType, junction: bool) -> Option<Color> {
    Some(match kind {
        LaneType::Driving | LaneType::Restricted => {
            if junction {
                JUNCTION
            } else {
                ASPHALT
            }
        }
        LaneType::Shoulder | LaneType::Border => SHOULDER,
        LaneType::Sidewalk => SIDEWALK,
        LaneType::Biking => BIKE,
        LaneType::Parking => PARKING,
        LaneType::Median => MEDIAN,
        LaneType::None => return None,
    })
}

/// Samples of `s` over a range, at most `step` apart.
fn s_samples(s0: f64, s1: f64, step: f64) -> Vec<f64> {
    let n = (((s1 - s0) / step).ceil() as usize).max(1);
    (0..=n)
        .map(|k| s0 + (s1 - s0) * k as f64 / n as f64)
        .collect()
}

fn draw_road_surface(cv: &mut Canvas, road: &Road, step: f64) {
    for (i, sec) in road.sections.iter().enumerate() {
        let ss = s_samples(sec.s_m, road.section_end_m(i), step);
        for lane in sec.side_lanes() {
            let Some(c) = lane_color(lane.kind, road.junction.is_some()) else {
                continue;
            };
            for w in ss.windows(2) {
                let (a0, b0) = road.lane_borders_t(i, lane.id, w[0]);
                let (a1, b1) = road.lane_borders_t(i, lane.id, w[1]);
                if (a0 - b0).abs() < 1e-3 && (a1 - b1).abs() < 1e-3 {
                    continue;
                }
                cv.fill(
                    &[
                        road.point_at(w[0], a0),
                        road.point_at(w[1], a1),
                        road.point_at(w[1], b1),
                        road.point_at(w[0], b0),
                    ],
                    c,
                );
            }
        }
    }
}

fn draw_marks(cv: &mut Canvas, road: &Road, step: f64) {
    for (i, sec) in road.sections.iter().enumerate() {
        let (s0, s1) = (sec.s_m, road.section_end_m(i));
        let ss = s_samples(s0, s1, step.min(1.0));
        for lane in std::iter::once(&sec.center).chain(sec.side_lanes()) {
            let Some(m) = lane.marks.first() else {
                continue;
            };
            if m.kind == MarkKind::None {
                continue;
            }
            let color = if m.color == MarkColor::Yellow {
                YELLOW
            } else {
                WHITE
            };
            let (dash, gap) = road.class.dash_pattern_m();
            for (off, broken) in m.kind.lines() {
                for w in ss.windows(2) {
                    let mid = 0.5 * (w[0] + w[1]) - s0;
                    if *broken && mid.rem_euclid(dash + gap) > dash {
                        continue;
                    }
                    let t0 = road.lane_borders_t(i, lane.id, w[0]).1 + off;
                    let t1 = road.lane_borders_t(i, lane.id, w[1]).1 + off;
                    cv.line(
                        road.point_at(w[0], t0),
                        road.point_at(w[1], t1),
                        m.width_m,
                        color,
                    );
                }
            }
        }
    }
}

/// Dark parapet lines along both edges of every bridge span.
fn draw_parapets(cv: &mut Canvas, road: &Road) {
    for b in &road.bridges {
        let ss = s_samples(b.s_m, (b.s_m + b.length_m).min(road.length_m()), 1.0);
        for w in ss.windows(2) {
            let (r0, l0) = road.edges_t(w[0]);
            let (r1, l1) = road.edges_t(w[1]);
            for (a, c) in [(r0, r1), (l0, l1)] {
                cv.line(
                    road.point_at(w[0], a),
                    road.point_at(w[1], c),
                    0.6,
                    [40, 40, 44, 255],
                );
            }
        }
    }
}

fn draw_objects(cv: &mut Canvas, road: &Road) {
    for o in &road.objects {
        let pose = road.reference_line.pose(o.s_m);
        let heading = pose.heading_rad + o.heading_rad;
        let at = pose.offset(o.t_m);
        let frame = roadworld_geom::Pose2::new(at.x_m, at.y_m, heading);
        let rect = |l: f64, w: f64| -> Vec<Point2> {
            [
                (-0.5 * l, -0.5 * w),
                (0.5 * l, -0.5 * w),
                (0.5 * l, 0.5 * w),
                (-0.5 * l, 0.5 * w),
            ]
            .iter()
            .map(|(u, v)| frame.parent_from_local(Point2::new(*u, *v)))
            .collect()
        };
        match o.kind {
            ObjectKind::Crosswalk => {
                // Zebra stripes across the carriageway, along the crossing's length.
                let n = (o.length_m / 1.0).floor() as i32;
                for k in 0..n {
                    if k % 2 == 1 {
                        continue;
                    }
                    let u0 = -0.5 * o.length_m + k as f64;
                    let pts: Vec<Point2> = [
                        (u0, -0.5 * o.width_m),
                        (u0 + 0.5, -0.5 * o.width_m),
                        (u0 + 0.5, 0.5 * o.width_m),
                        (u0, 0.5 * o.width_m),
                    ]
                    .iter()
                    .map(|(u, v)| frame.parent_from_local(Point2::new(*u, *v)))
                    .collect();
                    cv.fill(&pts, WHITE);
                }
            }
            ObjectKind::TrafficIsland => {
                let pts: Vec<Point2> = o
                    .outline
                    .iter()
                    .map(|(u, v)| frame.parent_from_local(Point2::new(*u, *v)))
                    .collect();
                cv.fill(&pts, [210, 200, 180, 255]);
                let inner: Vec<Point2> = o
                    .outline
                    .iter()
                    .map(|(u, v)| frame.parent_from_local(Point2::new(0.8 * u, 0.8 * v)))
                    .collect();
                cv.fill(&inner, [90, 140, 70, 255]);
            }
            ObjectKind::Tree => {
                cv.disc(at.point(), 0.5 * o.width_m, [40, 92, 40, 255]);
                cv.disc(at.point(), 0.25 * o.width_m, [56, 110, 52, 255]);
            }
            ObjectKind::Pole => cv.disc(at.point(), 0.3, [30, 30, 30, 255]),
            ObjectKind::Building => {
                cv.fill(&rect(o.length_m, o.width_m), [150, 110, 96, 255]);
                cv.fill(
                    &rect(o.length_m - 2.0, o.width_m - 2.0),
                    [176, 134, 116, 255],
                );
            }
            ObjectKind::ParkedVehicle => {
                let shade = (o.id.0 * 37 % 120) as u8;
                cv.fill(
                    &rect(o.length_m, o.width_m),
                    [60 + shade, 70, 140 - shade / 2, 255],
                );
            }
            ObjectKind::GuardRail => {
                let n = ((o.length_m / 5.0).ceil() as usize).max(1);
                for k in 0..n {
                    let (sa, sb) = (
                        o.s_m + o.length_m * k as f64 / n as f64,
                        o.s_m + o.length_m * (k + 1) as f64 / n as f64,
                    );
                    let frac =
                        |s: f64| o.t_m + (o.t_end_m - o.t_m) * (s - o.s_m) / o.length_m.max(1e-9);
                    cv.line(
                        road.point_at(sa, frac(sa)),
                        road.point_at(sb, frac(sb)),
                        0.3,
                        [190, 190, 196, 255],
                    );
                }
            }
        }
    }
    for s in &road.signals {
        let p = road.point_at(s.s_m, s.t_m);
        let c = match s.kind {
            SignalKind::TrafficLight | SignalKind::PedestrianLight => [20, 200, 60, 255],
            SignalKind::Stop => [220, 20, 20, 255],
            SignalKind::Yield => [250, 250, 250, 255],
            SignalKind::SpeedLimit { .. } => [250, 250, 250, 255],
        };
        cv.disc(p, 0.9, [0, 0, 0, 255]);
        cv.disc(p, 0.6, c);
    }
}

fn draw_route(cv: &mut Canvas, net: &Network) {
    let right = net.traffic_side == TrafficSide::Right;
    for st in &net.main_route {
        let road = net.road(st.road);
        let along = st.forward == right;
        for (i, sec) in road.sections.iter().enumerate() {
            let lanes = if along { &sec.right } else { &sec.left };
            let Some(lane) = lanes.iter().find(|l| l.kind == LaneType::Driving) else {
                continue;
            };
            let ss = s_samples(sec.s_m, road.section_end_m(i), 2.0);
            for w in ss.windows(2) {
                let a = road.point_at(w[0], road.lane_center_t(i, lane.id, w[0]));
                let b = road.point_at(w[1], road.lane_center_t(i, lane.id, w[1]));
                cv.line(a, b, 1.2, ROUTE);
            }
        }
    }
}

/// 3x5 pixel digits and the letters `k` and `m`, for the scale bar.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        'k' => [4, 5, 6, 5, 5],
        'm' => [0, 0, 7, 7, 5],
        _ => [0; 5],
    }
}

pub(crate) fn text(img: &mut RgbaImage, x0: u32, y0: u32, s: &str, px: u32, c: Color) {
    for (i, ch) in s.chars().enumerate() {
        let g = glyph(ch);
        for (row, bits) in g.iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) != 0 {
                    for dy in 0..px {
                        for dx in 0..px {
                            let (x, y) = (
                                x0 + (i as u32 * 4 + col) * px + dx,
                                y0 + row as u32 * px + dy,
                            );
                            if x < img.width() && y < img.height() {
                                img.put_pixel(x, y, Rgba(c));
                            }
                        }
                    }
                }
            }
        }
    }
}

fn scale_bar(img: &mut RgbaImage, scale: f64) {
    let target_px = img.width() as f64 / 5.0;
    let nice = [
        10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
    ];
    let len_m = nice
        .iter()
        .copied()
        .rfind(|m| m * scale <= target_px)
        .unwrap_or(10.0);
    let len_px = (len_m * scale).round().max(1.0) as u32;
    let px = (img.width() / 600).max(2);
    let (x0, y0) = (20u32, img.height().saturating_sub(20 + 8 * px));
    for x in x0.saturating_sub(6)..(x0 + len_px + 40 * px).min(img.width()) {
        for y in y0.saturating_sub(6 * px + 6)..(y0 + 3 * px + 6).min(img.height()) {
            img.put_pixel(x, y, Rgba([255, 255, 255, 255]));
        }
    }
    for x in x0..(x0 + len_px).min(img.width()) {
        for y in y0..(y0 + px).min(img.height()) {
            img.put_pixel(x, y, Rgba([0, 0, 0, 255]));
        }
    }
    for tick in [x0, x0 + len_px / 2, x0 + len_px - 1] {
        for y in y0.saturating_sub(2 * px)..y0 + px {
            for dx in 0..px.min(2) {
                if tick + dx < img.width() {
                    img.put_pixel(tick + dx, y, Rgba([0, 0, 0, 255]));
                }
            }
        }
    }
    let label = if len_m >= 1000.0 {
        format!("{}km", len_m / 1000.0)
    } else {
        format!("{len_m}m")
    };
    text(
        img,
        x0 + len_px + 3 * px,
        y0.saturating_sub(4 * px),
        &label,
        px,
        [0, 0, 0, 255],
    );
}

/// Renders a top-down preview.
pub fn render(net: &Network, opts: PreviewOptions) -> RgbaImage {
    let (mut min, mut max) = (
        Point2::new(f64::MAX, f64::MAX),
        Point2::new(f64::MIN, f64::MIN),
    );
    for r in &net.roads {
        for s in r.reference_line.sample_s(20.0) {
            let (tr, tl) = r.edges_t(s);
            for t in [tr, tl] {
                let p = r.point_at(s, t);
                min = Point2::new(min.x.min(p.x), min.y.min(p.y));
                max = Point2::new(max.x.max(p.x), max.y.max(p.y));
            }
        }
    }
    if net.roads.is_empty() {
        (min, max) = (Point2::new(0.0, 0.0), Point2::new(100.0, 100.0));
    }
    let margin = 40.0;
    min -= roadworld_geom::Vector2::new(margin, margin);
    max += roadworld_geom::Vector2::new(margin, margin);
    let (w_m, h_m) = (max.x - min.x, max.y - min.y);
    let scale = (opts.max_side_px as f64 / w_m.max(h_m)).min(opts.max_px_per_m);
    let (w, h) = ((w_m * scale).ceil() as u32, (h_m * scale).ceil() as u32);
    let mut cv = Canvas {
        img: RgbaImage::from_pixel(w.max(1), h.max(1), Rgba(GRASS)),
        min,
        scale,
    };
    let step = (3.0 / scale).clamp(0.5, 10.0);
    // Low roads first so bridges cover what passes under them; junctions under their legs.
    let mut order: Vec<&Road> = net.roads.iter().collect();
    let key = |r: &Road| {
        let z = r.elevation.value(0.5 * r.length_m());
        (r.junction.is_none(), (z * 100.0).round() as i64)
    };
    order.sort_by_key(|r| {
        let (plain, z) = key(r);
        (z, plain)
    });
    // Road by road from low to high, so a bridge and its markings cover what runs below.
    for r in &order {
        draw_road_surface(&mut cv, r, step);
        if r.junction.is_none() {
            draw_marks(&mut cv, r, step);
        }
        draw_parapets(&mut cv, r);
    }
    draw_route(&mut cv, net);
    for r in &order {
        draw_objects(&mut cv, r);
    }
    scale_bar(&mut cv.img, scale);
    cv.img
}

/// Bounding boxes of every road, for drawing views of part of a network.
#[derive(Debug, Clone)]
pub struct RoadBoxes {
    boxes: Vec<(Point2, Point2)>,
}

impl RoadBoxes {
    /// The boxes of a network's roads (surface edges, sampled every 10 m, padded 5 m).
    pub fn new(net: &Network) -> Self {
        let boxes = net
            .roads
            .iter()
            .map(|r| {
                let (mut lo, mut hi) = (
                    Point2::new(f64::MAX, f64::MAX),
                    Point2::new(f64::MIN, f64::MIN),
                );
                for s in r.reference_line.sample_s(10.0) {
                    let (tr, tl) = r.edges_t(s);
                    for t in [tr, tl] {
                        let p = r.point_at(s, t);
                        lo = Point2::new(lo.x.min(p.x), lo.y.min(p.y));
                        hi = Point2::new(hi.x.max(p.x), hi.y.max(p.y));
                    }
                }
                (
                    lo - roadworld_geom::Vector2::new(5.0, 5.0),
                    hi + roadworld_geom::Vector2::new(5.0, 5.0),
                )
            })
            .collect();
        Self { boxes }
    }
}

/// Renders the part of a network between `min` and `max` (world metres) at `scale` pixels
/// per metre: road surfaces low to high, markings, objects and signals.
pub(crate) fn render_view(
    net: &Network,
    boxes: &RoadBoxes,
    min: Point2,
    max: Point2,
    scale: f64,
) -> Canvas {
    let (w, h) = (
        ((max.x - min.x) * scale).ceil() as u32,
        ((max.y - min.y) * scale).ceil() as u32,
    );
    let mut cv = Canvas {
        img: RgbaImage::from_pixel(w.max(1), h.max(1), Rgba(GRASS)),
        min,
        scale,
    };
    let step = (3.0 / scale).clamp(0.5, 10.0);
    let mut order: Vec<&Road> = net
        .roads
        .iter()
        .zip(&boxes.boxes)
        .filter(|(_, (lo, hi))| lo.x <= max.x && hi.x >= min.x && lo.y <= max.y && hi.y >= min.y)
        .map(|(r, _)| r)
        .collect();
    order.sort_by_key(|r| {
        let z = r.elevation.value(0.5 * r.length_m());
        ((z * 100.0).round() as i64, r.junction.is_none())
    });
    for r in &order {
        draw_road_surface(&mut cv, r, step);
        if r.junction.is_none() {
            draw_marks(&mut cv, r, step);
        }
        draw_parapets(&mut cv, r);
    }
    for r in &order {
        draw_objects(&mut cv, r);
    }
    cv
}

/// Renders a preview to PNG bytes.
pub fn render_png(net: &Network, opts: PreviewOptions) -> Result<Vec<u8>, image::ImageError> {
    let img = render(net, opts);
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}
