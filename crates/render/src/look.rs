//! How scenery is shaded: the fast look (a small WGSL shader: Lambert sun, ambient, distance
//! fog) for CPU rendering, or Bevy's physically based `StandardMaterial`.

use bevy::asset::uuid_handle;
use bevy::prelude::*;
use bevy::render::render_resource::AsBindGroup;
use bevy::shader::ShaderRef;
use roadworld_scene3d::Material as SceneryMaterial;

/// The fast look's fragment shader (embedded from `assets/shaders/scenery.wgsl`).
pub const SCENERY_SHADER: Handle<Shader> = uuid_handle!("5b0c6a3e-2f8e-4f57-9d0e-6c1d3a7b9e21");

/// Which shading path to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Look {
    /// Lambert sun, ambient and fog in a few shader instructions: fast on a CPU.
    #[default]
    Fast,
    /// Bevy's `StandardMaterial` (physically based; shadows possible).
    Pbr,
}

impl Look {
    /// Parses `fast` or `pbr`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fast" => Some(Self::Fast),
            "pbr" => Some(Self::Pbr),
            _ => None,
        }
    }
}

/// The fast look's material: one uniform block.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct FastMaterial {
    #[uniform(0)]
    pub look: FastLook,
}

/// The uniform block of [`FastMaterial`] (mirrors `SceneryLook` in the shader).
#[derive(Debug, Clone, Copy, bevy::render::render_resource::ShaderType)]
pub struct FastLook {
    pub color: Vec4,
    pub to_sun: Vec4,
    pub sky: Vec4,
    pub params: Vec4,
}

impl Material for FastMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(SCENERY_SHADER)
    }
}

/// Registers the fast look's shader and material.
pub fn add_fast_look(app: &mut App) {
    app.add_plugins(MaterialPlugin::<FastMaterial>::default());
    let shader = Shader::from_wgsl(
        include_str!("../../../assets/shaders/scenery.wgsl"),
        "roadworld/scenery.wgsl",
    );
    // Inserting under a UUID id cannot fail.
    let _ = app
        .world_mut()
        .resource_mut::<Assets<Shader>>()
        .insert(SCENERY_SHADER.id(), shader);
}

/// Linear RGB of sRGB bytes.
fn linear(rgb: [u8; 3]) -> Vec4 {
    let c = Color::srgb_u8(rgb[0], rgb[1], rgb[2]).to_linear();
    Vec4::new(c.red, c.green, c.blue, 1.0)
}

/// The fast material of a scenery material.
pub fn fast_material(
    m: SceneryMaterial,
    to_sun: Vec3,
    sky: [u8; 3],
    fog_m: (f32, f32),
) -> FastMaterial {
    let (rgb, _) = m.look();
    FastMaterial {
        look: FastLook {
            color: linear(rgb),
            to_sun: to_sun.normalize().extend(0.0),
            sky: linear(sky),
            params: Vec4::new(0.45, 0.6, fog_m.0, fog_m.1),
        },
    }
}

/// The physically based material of a scenery material.
pub fn standard_material(m: SceneryMaterial) -> StandardMaterial {
    let ([r, g, b], roughness) = m.look();
    StandardMaterial {
        base_color: Color::srgb_u8(r, g, b),
        perceptual_roughness: roughness,
        metallic: 0.0,
        reflectance: 0.3,
        ..default()
    }
}
