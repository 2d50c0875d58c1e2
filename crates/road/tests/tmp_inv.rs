use roadworld_road::*;
#[test]
fn inv() {
    let mut bad = 0;
    for seed in 0..40 {
        let net = generate(&RoadParams::default(), seed).unwrap();
        let v = invariants::check_invariants(&net);
        if !v.is_empty() { bad += 1; println!("seed {seed}: {} violations, e.g. {:?}", v.len(), &v[..v.len().min(3)]); }
    }
    println!("bad {bad}");
}
