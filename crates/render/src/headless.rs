//! A Bevy app without a window that renders a [`Scenery`] through a [`Rig`] and reads every
//! frame back.
//!
//! The app's update loop is driven from here (no runner, no pipelined rendering): each
//! [`Renderer::render`] call places the cameras for one instant, runs one update (extract,
//! render, copy the targets into mapped buffers) and waits for the device. Bevy hands a
//! frame's pixels to the main world during the *next* update, so frames come out one call
//! late; the renderer keeps the instants in a queue and checks that exactly one image per
//! camera arrives per update, so a frame can never be labelled with the wrong instant.

use crate::convert;
use crate::look::{self, Look};
use bevy::app::SubApps;
use bevy::asset::RenderAssetUsages;
use bevy::camera::{
    OrthographicProjection, PerspectiveProjection, Projection, RenderTarget, ScalingMode,
};
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::pbr::{DistanceFog, FogFalloff};
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::render_resource::{
    Extent3d, PollType, TextureDimension, TextureFormat, TextureUsages,
};
use bevy::render::renderer::RenderDevice;
use bevy::window::ExitCondition;
use image::RgbaImage;
use nalgebra::Isometry3;
use roadworld_scene3d::{Lens, Rig, Scenery};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No GPU adapter (not even a software one) was found.
    #[error(
        "no graphics adapter: install a Vulkan driver (on Debian: apt-get install -y mesa-vulkan-drivers libvulkan1)"
    )]
    NoAdapter,
    /// The GPU did not finish a frame.
    #[error("waiting for the graphics device failed: {0}")]
    Device(String),
    /// Readbacks came out of step with the frames asked for (a bug).
    #[error("frame readback out of step: camera {camera} got {got} images in one update")]
    OutOfStep { camera: usize, got: usize },
    /// A readback had an unexpected size (a bug).
    #[error("camera {camera}: read back {got} bytes, expected {expected}")]
    BadReadback {
        camera: usize,
        got: usize,
        expected: usize,
    },
}

/// How the scene is lit and sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    /// Multisample anti-aliasing: 1 (off) or 4.
    pub msaa_samples: u32,
    /// Whether the sun casts shadows (slow on a CPU).
    pub shadows: bool,
    /// Sun elevation and azimuth (from north, clockwise), degrees.
    pub sun_elevation_deg: f32,
    pub sun_azimuth_deg: f32,
    /// Distance at which fog hides everything, metres.
    pub visibility_m: f32,
    /// Shading path.
    pub look: Look,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            msaa_samples: 4,
            shadows: false,
            sun_elevation_deg: 50.0,
            sun_azimuth_deg: 150.0,
            visibility_m: 400.0,
            look: Look::Fast,
        }
    }
}

/// Sky colour at the horizon (sRGB).
pub const SKY: [u8; 3] = [168, 200, 232];

/// One rendered instant: an image per camera, in the rig's order.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Index of the instant, counting from 0 in the order they were given.
    pub index: u64,
    pub images: Vec<RgbaImage>,
}

struct Slot {
    entity: Entity,
    lens: Lens,
    vehicle_from_camera: Isometry3<f64>,
}

type Inbox = Arc<Mutex<Vec<(usize, Vec<u8>)>>>;

/// A headless renderer of one scene through one rig.
pub struct Renderer {
    apps: SubApps,
    slots: Vec<Slot>,
    scenery_frame: roadworld_scene3d::RenderFromWorld,
    chunks: Vec<convert::Spawned>,
    visibility_m: f32,
    inbox: Inbox,
    /// Instants rendered whose pixels have not arrived yet.
    in_flight: VecDeque<u64>,
    next_index: u64,
    reading: bool,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("cameras", &self.slots.len())
            .field("in_flight", &self.in_flight)
            .finish()
    }
}

impl Renderer {
    /// Builds the app, uploads the scene and creates a render target per camera.
    pub fn new(scenery: &Scenery, rig: &Rig, opts: &RenderOptions) -> Result<Self, RenderError> {
        // Bevy panics when it finds no adapter; that is a set-up problem, reported as an error.
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(build_app));
        std::panic::set_hook(quiet);
        let mut app = built.map_err(|_| RenderError::NoAdapter)??;
        let inbox: Inbox = Arc::default();
        let world = app.world_mut();
        let sky = Color::srgb_u8(SKY[0], SKY[1], SKY[2]);
        world.insert_resource(ClearColor(sky));
        world.insert_resource(GlobalAmbientLight {
            color: Color::srgb(0.85, 0.9, 1.0),
            brightness: 1500.0,
            ..default()
        });
        let (el, az) = (
            opts.sun_elevation_deg.to_radians(),
            opts.sun_azimuth_deg.to_radians(),
        );
        // Direction towards the sun in the world frame, then in render axes (y up, z south).
        let to_sun = Vec3::new(el.cos() * az.sin(), el.sin(), -el.cos() * az.cos());
        let fog_m = (0.3 * opts.visibility_m, opts.visibility_m);
        let chunks = match opts.look {
            Look::Fast => convert::spawn_scenery(world, scenery, |m| {
                look::fast_material(m, to_sun, SKY, fog_m)
            }),
            Look::Pbr => convert::spawn_scenery(world, scenery, look::standard_material),
        };
        world.spawn((
            DirectionalLight {
                illuminance: 9000.0,
                shadow_maps_enabled: opts.shadows,
                ..default()
            },
            Transform::from_translation(to_sun).looking_at(Vec3::ZERO, Vec3::Y),
        ));
        let mut slots = Vec::new();
        for cam in &rig.cameras {
            let (w, h) = cam.lens.size_px();
            let mut target = Image::new_uninit(
                Extent3d {
                    width: w,
                    height: h,
                    depth_or_array_layers: 1,
                },
                TextureDimension::D2,
                TextureFormat::Rgba8UnormSrgb,
                RenderAssetUsages::RENDER_WORLD,
            );
            target.texture_descriptor.usage |= TextureUsages::RENDER_ATTACHMENT
                | TextureUsages::COPY_SRC
                | TextureUsages::TEXTURE_BINDING;
            let handle = world.resource_mut::<Assets<Image>>().add(target);
            let projection = match cam.lens {
                Lens::Pinhole {
                    width_px,
                    height_px,
                    ..
                } => Projection::Perspective(PerspectiveProjection {
                    fov: cam.lens.vfov_rad().unwrap_or(1.0) as f32,
                    aspect_ratio: width_px as f32 / height_px as f32,
                    near: 0.1,
                    far: opts.visibility_m.max(100.0),
                    ..default()
                }),
                Lens::Orthographic {
                    width_px,
                    height_px,
                    px_per_m,
                    ..
                } => Projection::Orthographic(OrthographicProjection {
                    near: 0.0,
                    far: 1000.0,
                    scaling_mode: ScalingMode::Fixed {
                        width: (width_px as f64 / px_per_m) as f32,
                        height: (height_px as f64 / px_per_m) as f32,
                    },
                    ..OrthographicProjection::default_3d()
                }),
            };
            let msaa = if opts.msaa_samples >= 4 {
                Msaa::Sample4
            } else {
                Msaa::Off
            };
            let entity = world
                .spawn((
                    Camera3d::default(),
                    RenderTarget::Image(handle.clone().into()),
                    projection,
                    msaa,
                    Tonemapping::None,
                    DistanceFog {
                        color: sky,
                        falloff: FogFalloff::Linear {
                            start: 0.3 * opts.visibility_m,
                            end: opts.visibility_m,
                        },
                        ..default()
                    },
                    Transform::IDENTITY,
                ))
                .id();
            let index = slots.len();
            let sink = inbox.clone();
            world
                .spawn(ReadbackTarget(handle))
                .observe(move |ev: On<ReadbackComplete>| {
                    if let Ok(mut v) = sink.lock() {
                        v.push((index, ev.data.clone()));
                    }
                });
            slots.push(Slot {
                entity,
                lens: cam.lens,
                vehicle_from_camera: cam.vehicle_from_camera,
            });
        }
        let mut r = Self {
            apps: std::mem::take(app.sub_apps_mut()),
            slots,
            scenery_frame: scenery.render_from_world,
            chunks,
            visibility_m: opts.visibility_m,
            inbox,
            in_flight: VecDeque::new(),
            next_index: 0,
            reading: false,
        };
        // Two updates upload the meshes and compile the pipelines before frames count.
        r.update()?;
        r.update()?;
        Ok(r)
    }

    fn update(&mut self) -> Result<(), RenderError> {
        self.apps.update();
        self.apps
            .main
            .world()
            .resource::<RenderDevice>()
            .wgpu_device()
            .poll(PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(|e| RenderError::Device(e.to_string()))?;
        Ok(())
    }

    /// Places every camera for a vehicle at `world_from_vehicle`, and hides the chunks
    /// farther than the visibility from it (they would be fogged out anyway).
    fn place(&mut self, world_from_vehicle: &Isometry3<f64>) {
        let world = self.apps.main.world_mut();
        let at = Vec3::from_array(
            self.scenery_frame
                .point(world_from_vehicle.translation.vector.into()),
        );
        let reach = self.visibility_m + 50.0;
        for c in &self.chunks {
            // Horizontal distance from the vehicle to the chunk's box.
            let dx = (c.min.x - at.x).max(at.x - c.max.x).max(0.0);
            let dz = (c.min.z - at.z).max(at.z - c.max.z).max(0.0);
            let shown = dx * dx + dz * dz <= reach * reach;
            if let Some(mut v) = world.get_mut::<Visibility>(c.entity) {
                let want = if shown {
                    Visibility::Inherited
                } else {
                    Visibility::Hidden
                };
                if *v != want {
                    *v = want;
                }
            }
        }
        for s in &self.slots {
            let t = convert::camera_transform(
                &self.scenery_frame,
                &(world_from_vehicle * s.vehicle_from_camera),
            );
            if let Some(mut tr) = world.get_mut::<Transform>(s.entity) {
                *tr = t;
            }
        }
    }

    /// Renders the scene seen from a vehicle at `world_from_vehicle`; returns the frame of
    /// the previous call, whose pixels arrive now (`None` on the first call).
    pub fn render(
        &mut self,
        world_from_vehicle: &Isometry3<f64>,
    ) -> Result<Option<Frame>, RenderError> {
        if !self.reading {
            self.start_readback();
        }
        self.place(world_from_vehicle);
        self.in_flight.push_back(self.next_index);
        self.next_index += 1;
        self.update()?;
        self.collect()
    }

    /// Delivers the last frame asked for (one more update; its own image is dropped).
    pub fn finish(&mut self) -> Result<Option<Frame>, RenderError> {
        if self.in_flight.is_empty() {
            return Ok(None);
        }
        self.update()?;
        let frame = self.collect()?;
        // The extra update rendered a frame nobody asked for; its pixels arrive on the next
        // update, so stop reading back and drop them.
        self.stop_readback();
        self.update()?;
        if let Ok(mut v) = self.inbox.lock() {
            v.clear();
        }
        Ok(frame)
    }

    fn start_readback(&mut self) {
        let world = self.apps.main.world_mut();
        let mut q = world.query::<(Entity, &ReadbackTarget)>();
        let targets: Vec<(Entity, Handle<Image>)> =
            q.iter(world).map(|(e, t)| (e, t.0.clone())).collect();
        for (e, h) in targets {
            world.entity_mut(e).insert(Readback::texture(h));
        }
        self.reading = true;
    }

    fn stop_readback(&mut self) {
        let world = self.apps.main.world_mut();
        let mut q = world.query_filtered::<Entity, With<Readback>>();
        let es: Vec<Entity> = q.iter(world).collect();
        for e in es {
            world.entity_mut(e).remove::<Readback>();
        }
        self.reading = false;
    }

    /// Takes what arrived in the last update: nothing, or exactly one image per camera for
    /// the oldest instant in flight.
    fn collect(&mut self) -> Result<Option<Frame>, RenderError> {
        let arrived = match self.inbox.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => Vec::new(),
        };
        if arrived.is_empty() {
            return Ok(None);
        }
        let mut images: Vec<Option<RgbaImage>> = vec![None; self.slots.len()];
        for (cam, data) in arrived {
            if images[cam].is_some() {
                return Err(RenderError::OutOfStep {
                    camera: cam,
                    got: 2,
                });
            }
            let (w, h) = self.slots[cam].lens.size_px();
            images[cam] = Some(unpad(cam, w, h, &data)?);
        }
        let mut out = Vec::with_capacity(images.len());
        for (cam, im) in images.into_iter().enumerate() {
            out.push(im.ok_or(RenderError::OutOfStep {
                camera: cam,
                got: 0,
            })?);
        }
        let index = self
            .in_flight
            .pop_front()
            .ok_or(RenderError::OutOfStep { camera: 0, got: 1 })?;
        Ok(Some(Frame { index, images: out }))
    }
}

/// The image a camera renders into, read back once readback starts.
#[derive(Component, Debug, Clone)]
struct ReadbackTarget(Handle<Image>);

/// Rows of a read-back texture are padded to 256 bytes.
fn unpad(camera: usize, w: u32, h: u32, data: &[u8]) -> Result<RgbaImage, RenderError> {
    let row = w as usize * 4;
    let padded = row.div_ceil(256) * 256;
    let expected = padded * h as usize;
    if data.len() < expected {
        return Err(RenderError::BadReadback {
            camera,
            got: data.len(),
            expected,
        });
    }
    let mut out = Vec::with_capacity(row * h as usize);
    for y in 0..h as usize {
        out.extend_from_slice(&data[y * padded..y * padded + row]);
    }
    RgbaImage::from_raw(w, h, out).ok_or(RenderError::BadReadback {
        camera,
        got: data.len(),
        expected,
    })
}

/// The app: Bevy's default plugins without windows, logging or pipelined rendering, and the
/// fast look.
fn build_app() -> Result<App, RenderError> {
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: None,
                exit_condition: ExitCondition::DontExit,
                ..default()
            })
            .set(RenderPlugin {
                synchronous_pipeline_compilation: true,
                ..default()
            })
            .disable::<bevy::render::pipelined_rendering::PipelinedRenderingPlugin>()
            .disable::<bevy::log::LogPlugin>(),
    );
    look::add_fast_look(&mut app);
    app.finish();
    app.cleanup();
    if app.world().get_resource::<RenderDevice>().is_none() {
        return Err(RenderError::NoAdapter);
    }
    Ok(app)
}
