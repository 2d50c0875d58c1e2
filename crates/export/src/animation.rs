//! Animated top-down previews of rollouts: a GIF that follows the ego, with every actor drawn
//! to scale (brake lights, indicators, the ego outlined) and traffic lights in their state.

use crate::preview::{Canvas, Color, RoadBoxes, render_view, text};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame};
use roadworld_geom::{Point2, Vector2};
use roadworld_road::{LightState, Network};
use roadworld_sim::flags;
use roadworld_sim::record::{Recording, Sample};
use roadworld_spec::ActorKind;

/// What the animation shows and how fast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnimationOptions {
    /// Side of the square view, metres.
    pub view_m: f64,
    /// Side of the image, pixels.
    pub size_px: u32,
    /// Simulated time between frames.
    pub frame_every_s: f64,
    /// Playback speed relative to real time.
    pub speedup: f64,
}

impl Default for AnimationOptions {
    fn default() -> Self {
        Self {
            view_m: 140.0,
            size_px: 480,
            frame_every_s: 0.5,
            speedup: 5.0,
        }
    }
}

fn kind_color(k: ActorKind) -> Color {
    match k {
        ActorKind::Car => [60, 110, 200, 255],
        ActorKind::Van => [40, 160, 160, 255],
        ActorKind::Truck => [150, 100, 60, 255],
        ActorKind::Bus => [230, 190, 40, 255],
        ActorKind::Motorcycle => [150, 70, 180, 255],
        ActorKind::Bicycle => [40, 170, 60, 255],
        ActorKind::Pedestrian => [220, 60, 60, 255],
        ActorKind::Animal => [120, 80, 40, 255],
        ActorKind::StaticObstacle => [30, 30, 30, 255],
    }
}

fn body(s: &Sample, length: f64, width: f64, grow: f64) -> [Point2; 4] {
    let (sin, cos) = (s.heading_rad as f64).sin_cos();
    let (hl, hw) = (0.5 * length + grow, 0.5 * width + grow);
    let c = Point2::new(s.x_m as f64, s.y_m as f64);
    [(hl, hw), (-hl, hw), (-hl, -hw), (hl, -hw)]
        .map(|(u, v)| c + Vector2::new(u * cos - v * sin, u * sin + v * cos))
}

fn draw_actor(cv: &mut Canvas, s: &Sample, kind: ActorKind, length: f64, width: f64, blink: bool) {
    let ego = s.flags & flags::EGO != 0;
    if kind == ActorKind::Pedestrian {
        // Half a metre across is a speck at preview scales: at least 5 px, outlined.
        let c = Point2::new(s.x_m as f64, s.y_m as f64);
        let r = (0.5 * length).max(2.5 / cv.scale);
        cv.disc(c, r + 0.8 / cv.scale, [255, 255, 255, 255]);
        cv.disc(c, r, kind_color(kind));
        return;
    }
    if ego {
        cv.fill(&body(s, length, width, 0.6), [0, 0, 0, 255]);
        cv.fill(&body(s, length, width, 0.0), [255, 110, 20, 255]);
    } else {
        cv.fill(&body(s, length, width, 0.0), kind_color(kind));
    }
    let (sin, cos) = (s.heading_rad as f64).sin_cos();
    let c = Point2::new(s.x_m as f64, s.y_m as f64);
    let at = |u: f64, v: f64| c + Vector2::new(u * cos - v * sin, u * sin + v * cos);
    let (hl, hw) = (0.5 * length, 0.5 * width);
    if s.flags & flags::BRAKE != 0 && kind.is_motor_vehicle() {
        cv.line(
            at(-hl + 0.2, -hw + 0.2),
            at(-hl + 0.2, hw - 0.2),
            0.45,
            [255, 20, 20, 255],
        );
    }
    if blink {
        let amber = [255, 190, 0, 255];
        if s.flags & flags::INDICATOR_LEFT != 0 {
            cv.disc(at(hl - 0.3, hw - 0.2), 0.45, amber);
        }
        if s.flags & flags::INDICATOR_RIGHT != 0 {
            cv.disc(at(hl - 0.3, -hw + 0.2), 0.45, amber);
        }
    }
}

fn draw_lights(cv: &mut Canvas, net: &Network, t_s: f64) {
    for c in &net.controllers {
        let color = match c.timing.state_at(t_s) {
            LightState::Green => [40, 220, 60, 255],
            LightState::Amber => [255, 190, 0, 255],
            LightState::Red => [230, 30, 30, 255],
        };
        for (road, sid) in &c.signals {
            let r = net.road(*road);
            if let Some(sig) = r.signals.iter().find(|s| s.id == *sid) {
                let p = r.point_at(sig.s_m, sig.t_m);
                cv.disc(p, 1.3, [0, 0, 0, 255]);
                cv.disc(p, 0.95, color);
            }
        }
    }
}

/// Renders the rollout as an animated GIF following the ego (or the centre of the action
/// once the ego has left).
pub fn render_gif(
    net: &Network,
    rec: &Recording,
    opts: AnimationOptions,
) -> Result<Vec<u8>, image::ImageError> {
    render_gif_marked(net, rec, opts, &[])
}

/// An event to mark in an animation: while it runs, a ring in its colour round each of its
/// road users, with its number beside it, and its number in the top-right corner.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Shown as a number (1-based, as in the summary's event list).
    pub number: usize,
    /// Its road users (indices into the recording's actors).
    pub actors: Vec<u32>,
    pub from_s: f64,
    pub to_s: f64,
}

const MARKER_COLORS: [Color; 6] = [
    [255, 0, 200, 255],
    [255, 150, 0, 255],
    [0, 230, 255, 255],
    [190, 255, 0, 255],
    [255, 60, 60, 255],
    [170, 120, 255, 255],
];

fn draw_marker(cv: &mut Canvas, s: &Sample, length_m: f64, number: usize, c: Color) {
    let centre = Point2::new(s.x_m as f64, s.y_m as f64);
    let r = 0.5 * length_m + 2.5;
    let n = 28;
    let at = |i: usize| {
        let a = i as f64 / n as f64 * std::f64::consts::TAU;
        centre + Vector2::new(a.cos(), a.sin()) * r
    };
    for i in 0..n {
        cv.line(at(i), at(i + 1), 0.5, c);
    }
    let (x, y) = cv.px(centre + Vector2::new(r, r));
    if x >= 0.0 && y >= 0.0 {
        text(&mut cv.img, x as u32, y as u32, &number.to_string(), 2, c);
    }
}

/// [`render_gif`] with events marked.
pub fn render_gif_marked(
    net: &Network,
    rec: &Recording,
    opts: AnimationOptions,
    markers: &[Marker],
) -> Result<Vec<u8>, image::ImageError> {
    let boxes = RoadBoxes::new(net);
    let every = ((opts.frame_every_s / rec.step_s).round() as usize).max(1);
    let scale = opts.size_px as f64 / opts.view_m;
    let delay_ms = (opts.frame_every_s / opts.speedup * 1000.0)
        .round()
        .max(20.0) as u32;
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 10);
        enc.set_repeat(Repeat::Infinite)?;
        let mut centre = rec.frame(0).first().map_or(Point2::origin(), |s| {
            Point2::new(s.x_m as f64, s.y_m as f64)
        });
        for (n, k) in (0..rec.frames()).step_by(every).enumerate() {
            let f: Vec<&Sample> = rec.frame_all(k).collect();
            if let Some(e) = f.iter().find(|s| s.flags & flags::EGO != 0) {
                centre = Point2::new(e.x_m as f64, e.y_m as f64);
            }
            let half = Vector2::new(0.5 * opts.view_m, 0.5 * opts.view_m);
            let (min, max) = (centre - half, centre + half);
            let mut cv = render_view(net, &boxes, min, max, scale);
            let t_s = k as f64 * rec.step_s;
            draw_lights(&mut cv, net, t_s);
            for s in f {
                let (x, y) = (s.x_m as f64, s.y_m as f64);
                if x < min.x - 15.0 || x > max.x + 15.0 || y < min.y - 15.0 || y > max.y + 15.0 {
                    continue;
                }
                let a = &rec.actors[s.actor as usize];
                draw_actor(
                    &mut cv,
                    s,
                    a.kind,
                    a.length_m as f64,
                    a.width_m as f64,
                    n % 2 == 0,
                );
            }
            let active = markers
                .iter()
                .filter(|m| (m.from_s..=m.to_s).contains(&t_s));
            let mut corner = opts.size_px.saturating_sub(8);
            for m in active {
                let c = MARKER_COLORS[(m.number.max(1) - 1) % MARKER_COLORS.len()];
                for s in rec.frame(k).iter().filter(|s| m.actors.contains(&s.actor)) {
                    let length = rec.actors[s.actor as usize].length_m as f64;
                    draw_marker(&mut cv, s, length, m.number, c);
                }
                let label = m.number.to_string();
                corner = corner.saturating_sub(label.len() as u32 * 12 + 6);
                text(&mut cv.img, corner, 8, &label, 3, c);
            }
            let secs = format!("{}", t_s.round() as u64);
            text(&mut cv.img, 8, 8, &secs, 3, [255, 255, 255, 255]);
            let frame = Frame::from_parts(cv.img, 0, 0, Delay::from_numer_denom_ms(delay_ms, 1));
            enc.encode_frame(frame)?;
        }
    }
    Ok(out)
}
