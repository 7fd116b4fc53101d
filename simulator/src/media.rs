//! The bytes the simulated providers hand out: small but genuinely valid media
//! files (see `assets/README.md` for how the fixtures were made), PNGs drawn at
//! the requested size, and any of them stretched or cut to an exact length for
//! `[[sim:file_bytes=N]]`. Which file an answer links to is `files.rs`'s business.

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{LazyLock, Mutex},
};

use axum::body::{Body, Bytes};

/// H.264 in MP4 (`ftyp`, `moov`, `mdat`), 160×90, 2 s, for every video output.
pub const MP4: &[u8] = include_bytes!("../assets/video.mp4");
/// MPEG-1 Layer III frames (no ID3 tag, no Xing frame, so copies concatenate
/// into a longer valid stream), 44.1 kHz mono 128 kbps, 1 s of a 440 Hz tone.
pub const MP3: &[u8] = include_bytes!("../assets/audio.mp3");
/// Baseline JPEG, 320×180, for stock photos and video thumbnails.
pub const JPEG: &[u8] = include_bytes!("../assets/photo.jpeg");

/// How long [`MP3`] plays.
pub const MP3_SECONDS: u64 = 1;

/// Largest side a generated PNG may have; the providers' sizes stay far below.
const MAX_SIDE: u32 = 4096;
/// Zero padding and silence are sent in slices of this.
const CHUNK: usize = 64 * 1024;
/// Silence as 16-bit PCM (and padding).
pub static ZEROS: [u8; CHUNK] = [0; CHUNK];
/// Silence in G.711 µ-law.
pub static ULAW_SILENCE: [u8; CHUNK] = [0xFF; CHUNK];
/// Silence in G.711 A-law.
pub static ALAW_SILENCE: [u8; CHUNK] = [0xD5; CHUNK];

/// A kind of output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Media {
    /// Drawn at this size on first use, then kept.
    Png {
        width: u32,
        height: u32,
    },
    Jpeg,
    Mp3,
    Mp4,
}

impl Media {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png { .. } => "png",
            Self::Jpeg => "jpeg",
            Self::Mp3 => "mp3",
            Self::Mp4 => "mp4",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png { .. } => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Mp3 => "audio/mpeg",
            Self::Mp4 => "video/mp4",
        }
    }

    /// The whole file.
    pub fn bytes(self) -> Bytes {
        match self {
            Self::Png { width, height } => png(width, height),
            Self::Jpeg => Bytes::from_static(JPEG),
            Self::Mp3 => Bytes::from_static(MP3),
            Self::Mp4 => Bytes::from_static(MP4),
        }
    }

    /// The file's length and a body for it: the file itself, or exactly `size`
    /// bytes of it — cut short, or followed by zeros streamed in slices of one
    /// static buffer, so even a multi-gigabyte file costs no memory.
    pub fn body(self, size: Option<u64>) -> (u64, Body) {
        let file = self.bytes();
        let Some(size) = size else {
            return (file.len() as u64, Body::from(file));
        };
        let head = file.slice(..usize::try_from(size).unwrap_or(usize::MAX).min(file.len()));
        let padding = repeated(&ZEROS, size - head.len() as u64);
        let chunks = std::iter::once(head).chain(padding).map(Ok::<_, Infallible>);
        (size, Body::from_stream(futures::stream::iter(chunks)))
    }
}

/// A body of exactly `length` bytes: `unit` over and over, the last copy cut
/// short; streamed from the static slice, so it costs no memory at any length.
pub fn repeated_body(unit: &'static [u8], length: u64) -> Body {
    let chunks = repeated(unit, length).map(Ok::<_, Infallible>);
    Body::from_stream(futures::stream::iter(chunks))
}

fn repeated(unit: &'static [u8], mut length: u64) -> impl Iterator<Item = Bytes> + Send {
    std::iter::from_fn(move || {
        let n = usize::try_from(length).unwrap_or(usize::MAX).min(unit.len());
        length -= n as u64;
        (n > 0).then(|| Bytes::from_static(&unit[..n]))
    })
}

/// An RGB PNG of `width`×`height` (clamped to 1..=4096) with a vertical
/// gradient; each size is encoded once, as the providers' sizes are few.
pub fn png(width: u32, height: u32) -> Bytes {
    static DRAWN: LazyLock<Mutex<HashMap<(u32, u32), Bytes>>> = LazyLock::new(Mutex::default);
    let (width, height) = (width.clamp(1, MAX_SIDE), height.clamp(1, MAX_SIDE));
    let drawn = |drawn: &HashMap<_, Bytes>| drawn.get(&(width, height)).cloned();
    if let Some(png) = drawn(&DRAWN.lock().unwrap_or_else(|p| p.into_inner())) {
        return png;
    }
    // Drawn outside the lock: two first requests for a size may both draw it.
    let png = draw(width, height);
    DRAWN
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert((width, height), png.clone());
    png
}

fn draw(width: u32, height: u32) -> Bytes {
    let row = width as usize * 3;
    let mut pixels = Vec::with_capacity(row * height as usize);
    for y in 0..height {
        // Dusk blue at the top to a warm orange at the bottom.
        let t = y as f32 / height.max(2).saturating_sub(1) as f32;
        let mix = |from: f32, to: f32| (from + (to - from) * t).round() as u8;
        let start = pixels.len();
        pixels.extend_from_slice(&[mix(40.0, 250.0), mix(60.0, 150.0), mix(140.0, 60.0)]);
        // The row is one pixel repeated: doubled in place, not written byte by byte.
        while pixels.len() - start < row {
            let have = pixels.len() - start;
            pixels.extend_from_within(start..start + have.min(row - have));
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing to memory with valid dimensions and a buffer of exactly the
    // right size cannot fail.
    let written = encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&pixels).and_then(|()| writer.finish()));
    if let Err(error) = written {
        unreachable!("encoding a PNG in memory failed: {error}");
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    async fn collect(body: Body) -> Vec<u8> {
        let mut stream = body.into_data_stream();
        let mut all = Vec::new();
        while let Some(chunk) = stream.next().await {
            all.extend_from_slice(&chunk.expect("chunk"));
        }
        all
    }

    #[test]
    fn a_png_has_the_asked_size() {
        let png = png(1792, 1024);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes([png[16], png[17], png[18], png[19]]), 1792);
        assert_eq!(u32::from_be_bytes([png[20], png[21], png[22], png[23]]), 1024);
        assert!(png.len() < 64 * 1024, "a gradient compresses well: {}", png.len());
        let decoded = png::Decoder::new(std::io::Cursor::new(png.to_vec()))
            .read_info()
            .expect("decodes");
        assert_eq!(decoded.info().width, 1792);
    }

    #[test]
    fn fixtures_start_as_their_formats_do() {
        assert_eq!(&MP4[4..8], b"ftyp");
        assert_eq!((MP3[0], MP3[1] & 0xE0), (0xFF, 0xE0), "frame sync");
        assert_eq!(
            (&JPEG[..2], &JPEG[JPEG.len() - 2..]),
            (&[0xFF, 0xD8][..], &[0xFF, 0xD9][..])
        );
    }

    #[tokio::test]
    async fn bodies_are_cut_or_padded_to_the_size() {
        let (len, body) = Media::Mp4.body(None);
        assert_eq!((len, collect(body).await.as_slice()), (MP4.len() as u64, MP4));

        let (len, body) = Media::Mp4.body(Some(10));
        assert_eq!((len, collect(body).await.as_slice()), (10, &MP4[..10]));

        let size = 3 * CHUNK as u64 + 7;
        let (len, body) = Media::Jpeg.body(Some(size));
        let bytes = collect(body).await;
        assert_eq!((len, bytes.len() as u64), (size, size));
        assert_eq!(&bytes[..JPEG.len()], JPEG);
        assert!(bytes[JPEG.len()..].iter().all(|&b| b == 0));
    }

    #[tokio::test]
    async fn repeated_bodies_cut_the_last_copy() {
        let bytes = collect(repeated_body(b"abc", 7)).await;
        assert_eq!(bytes, b"abcabca");
        assert!(collect(repeated_body(b"abc", 0)).await.is_empty());
    }
}
