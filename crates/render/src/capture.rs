//! PNG encoding on worker threads, so the render loop never waits for zlib.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, RgbaImage};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Encodes the RGB channels of an image as PNG with fast compression.
pub fn encode_png(img: &RgbaImage) -> Result<Vec<u8>, image::ImageError> {
    let rgb: Vec<u8> = img.pixels().flat_map(|p| [p[0], p[1], p[2]]).collect();
    let mut out = Vec::with_capacity(rgb.len() / 3);
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub).write_image(
        &rgb,
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

type Job = (PathBuf, RgbaImage);

/// What the writers did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriterStats {
    pub images: u64,
    pub bytes: u64,
    /// Summed over workers: time spent encoding (not writing).
    pub encode: Duration,
}

/// A pool of threads writing PNGs (atomically: temporary name, then rename).
#[derive(Debug)]
pub struct PngWriter {
    tx: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    stats: Arc<Mutex<WriterStats>>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl PngWriter {
    /// `threads` workers, each holding at most two images in its queue.
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let (tx, rx) = sync_channel::<Job>(2 * threads);
        let rx = Arc::new(Mutex::new(rx));
        let stats = Arc::new(Mutex::new(WriterStats::default()));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let workers = (0..threads)
            .map(|_| {
                let (rx, stats, errors) = (rx.clone(), stats.clone(), errors.clone());
                std::thread::spawn(move || work(&rx, &stats, &errors))
            })
            .collect();
        Self {
            tx: Some(tx),
            workers,
            stats,
            errors,
        }
    }

    /// Queues an image; blocks while the workers are behind.
    pub fn write(&self, path: PathBuf, img: RgbaImage) -> Result<(), String> {
        self.first_error()?;
        match &self.tx {
            Some(tx) => tx
                .send((path, img))
                .map_err(|_| "the PNG writers stopped".to_string()),
            None => Err("the PNG writers stopped".to_string()),
        }
    }

    fn first_error(&self) -> Result<(), String> {
        match self.errors.lock() {
            Ok(e) if !e.is_empty() => Err(e[0].clone()),
            _ => Ok(()),
        }
    }

    /// Waits for every queued image; the first error, if any.
    pub fn finish(mut self) -> Result<WriterStats, String> {
        self.tx = None;
        for w in self.workers.drain(..) {
            if w.join().is_err() {
                return Err("a PNG writer panicked".to_string());
            }
        }
        self.first_error()?;
        Ok(self.stats.lock().map(|s| s.clone()).unwrap_or_default())
    }
}

fn work(rx: &Mutex<Receiver<Job>>, stats: &Mutex<WriterStats>, errors: &Mutex<Vec<String>>) {
    loop {
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        let Ok((path, img)) = job else { return };
        let t0 = Instant::now();
        let result = encode_png(&img)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|bytes| {
                let spent = t0.elapsed();
                roadworld_export::write_atomic(&path, &bytes)
                    .map_err(|e| e.to_string())
                    .map(|()| (bytes.len(), spent))
            });
        match result {
            Ok((n, spent)) => {
                if let Ok(mut s) = stats.lock() {
                    s.images += 1;
                    s.bytes += n as u64;
                    s.encode += spent;
                }
            }
            Err(e) => {
                if let Ok(mut v) = errors.lock() {
                    v.push(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_pngs_decode_to_the_same_pixels() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut img = RgbaImage::new(37, 21);
        for (x, y, p) in img.enumerate_pixels_mut() {
            *p = image::Rgba([(x * 7) as u8, (y * 11) as u8, (x ^ y) as u8, 255]);
        }
        let w = PngWriter::new(2);
        for k in 0..5 {
            w.write(dir.path().join(format!("{k}.png")), img.clone())
                .expect("queued");
        }
        let stats = w.finish().expect("written");
        assert_eq!(stats.images, 5);
        for k in 0..5 {
            let back = image::open(dir.path().join(format!("{k}.png")))
                .expect("png")
                .to_rgba8();
            assert_eq!(back, img);
        }
        // A folder that does not exist is an error, reported once the writers are done.
        let w = PngWriter::new(1);
        w.write(dir.path().join("missing/0.png"), img)
            .expect("queued");
        let err = w.finish().expect_err("no folder");
        assert!(err.contains("missing"), "{err}");
    }
}
