//! Plain scenery and camera poses into Bevy meshes, materials and transforms.

use bevy::asset::RenderAssetUsages;
use bevy::camera::primitives::Aabb;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use nalgebra::{Isometry3, Matrix3, Rotation3, UnitQuaternion};
use roadworld_scene3d::{Material, RenderFromWorld, Scenery};
use std::collections::BTreeMap;

/// A spawned chunk and its bounds in the render frame.
#[derive(Debug, Clone, Copy)]
pub struct Spawned {
    pub entity: Entity,
    pub min: Vec3,
    pub max: Vec3,
}

/// Spawns a mesh entity per scenery chunk (materials shared), in the render frame, with
/// materials of type `M` made by `material`.
pub fn spawn_scenery<M: bevy::pbr::Material>(
    world: &mut World,
    scenery: &Scenery,
    material: impl Fn(Material) -> M,
) -> Vec<Spawned> {
    let mut spawned = Vec::with_capacity(scenery.chunks.len());
    let mut materials: BTreeMap<Material, Handle<M>> = BTreeMap::new();
    for m in Material::ALL {
        let h = world.resource_mut::<Assets<M>>().add(material(m));
        materials.insert(m, h);
    }
    for chunk in &scenery.chunks {
        let mesh = Mesh::new(
            PrimitiveTopology::TriangleList,
            RenderAssetUsages::RENDER_WORLD,
        )
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, chunk.mesh.positions.clone())
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, chunk.mesh.normals.clone())
        .with_inserted_indices(Indices::U32(chunk.mesh.indices.clone()));
        let handle = world.resource_mut::<Assets<Mesh>>().add(mesh);
        let material = materials[&chunk.material].clone();
        // The mesh data lives in the render world only, so the bounds used for frustum culling
        // are computed here rather than by Bevy.
        let (mut lo, mut hi) = (Vec3::splat(f32::MAX), Vec3::splat(f32::MIN));
        for p in &chunk.mesh.positions {
            lo = lo.min(Vec3::from_array(*p));
            hi = hi.max(Vec3::from_array(*p));
        }
        let entity = world
            .spawn((
                Mesh3d(handle),
                MeshMaterial3d(material),
                Transform::IDENTITY,
                Aabb::from_min_max(lo, hi),
            ))
            .id();
        spawned.push(Spawned {
            entity,
            min: lo,
            max: hi,
        });
    }
    spawned
}

/// The rotation from a Bevy camera's axes (x right, y up, looking along -z) to the OpenCV
/// camera frame (x right, y down, looking along +z).
fn cv_from_bevy() -> Rotation3<f64> {
    Rotation3::from_matrix_unchecked(Matrix3::new(
        1.0, 0.0, 0.0, //
        0.0, -1.0, 0.0, //
        0.0, 0.0, -1.0,
    ))
}

/// The Bevy transform of a camera whose OpenCV frame sits at `world_from_camera`.
pub fn camera_transform(frame: &RenderFromWorld, world_from_camera: &Isometry3<f64>) -> Transform {
    let rotation = RenderFromWorld::rotation()
        * world_from_camera.rotation.to_rotation_matrix()
        * cv_from_bevy();
    let q = UnitQuaternion::from_rotation_matrix(&rotation);
    let t = frame.point(world_from_camera.translation.vector.into());
    Transform {
        translation: Vec3::from_array(t),
        rotation: Quat::from_xyzw(q.i as f32, q.j as f32, q.k as f32, q.w as f32).normalize(),
        scale: Vec3::ONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Point3;
    use roadworld_scene3d::camera::{Camera, Lens, world_from_vehicle};

    #[test]
    fn a_bevy_camera_looks_where_the_opencv_camera_looks() {
        let frame = RenderFromWorld::new(Point3::new(1000.0, 2000.0, 0.0));
        let cam = Camera::mounted(
            "front",
            Lens::pinhole(640, 360, 1.5),
            [0.6, 0.0, 1.5],
            0.0,
            0.0,
        );
        // A north-bound vehicle: the camera looks north = render -z.
        let ego = world_from_vehicle(1010.0, 2020.0, 3.0, std::f64::consts::FRAC_PI_2);
        let t = camera_transform(&frame, &(ego * cam.vehicle_from_camera));
        let forward = t.rotation * Vec3::NEG_Z;
        let up = t.rotation * Vec3::Y;
        let right = t.rotation * Vec3::X;
        assert!(forward.abs_diff_eq(Vec3::NEG_Z, 1e-6), "{forward}");
        assert!(up.abs_diff_eq(Vec3::Y, 1e-6), "{up}");
        // North-bound, right is east = render +x.
        assert!(right.abs_diff_eq(Vec3::X, 1e-6), "{right}");
        // Position: 0.6 m north of the vehicle, 1.5 m up.
        assert!(
            t.translation.abs_diff_eq(Vec3::new(10.0, 4.5, -20.6), 1e-4),
            "{}",
            t.translation
        );
    }
}
