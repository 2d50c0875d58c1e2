// roadworld's fast scenery shading: Lambert sun plus ambient, and linear distance fog to the
// sky colour. Cheap enough for Mesa's CPU Vulkan driver; the PBR path is `--look pbr`.
#import bevy_pbr::forward_io::VertexOutput
#import bevy_pbr::mesh_view_bindings::view

struct SceneryLook {
    // Linear RGB base colour.
    color: vec4<f32>,
    // Unit vector towards the sun (render frame).
    to_sun: vec4<f32>,
    // Linear RGB fog colour.
    sky: vec4<f32>,
    // x: ambient, y: sun, z: fog start (m), w: fog end (m).
    params: vec4<f32>,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> look: SceneryLook;

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let n = normalize(in.world_normal);
    let lambert = max(dot(n, look.to_sun.xyz), 0.0);
    let lit = look.color.rgb * (look.params.x + look.params.y * lambert);
    let d = distance(in.world_position.xyz, view.world_position);
    let f = clamp((d - look.params.z) / max(look.params.w - look.params.z, 1.0), 0.0, 1.0);
    return vec4<f32>(mix(lit, look.sky.rgb, f), 1.0);
}
