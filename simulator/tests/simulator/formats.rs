//! Checks that downloaded bytes really are the media they claim to be, by the
//! structure every reader of the format relies on.

/// Asserts a PNG (signature, then an IHDR chunk first) and returns its size.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 33, "too short for a PNG: {}", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[8..16], b"\0\0\0\x0dIHDR", "IHDR first");
    let be = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    assert_eq!(&bytes[bytes.len() - 8..bytes.len() - 4], b"IEND", "IEND last");
    (be(16), be(20))
}

/// Asserts MPEG audio: an ID3 tag or an MPEG-1 Layer III frame sync first.
pub fn assert_mp3(bytes: &[u8]) {
    assert!(bytes.len() > 4, "too short for an MP3");
    if bytes.starts_with(b"ID3") {
        return;
    }
    assert_eq!(bytes[0], 0xFF, "frame sync");
    assert_eq!(bytes[1] & 0xE0, 0xE0, "frame sync");
    assert_eq!(bytes[1] & 0x1E, 0x1A, "MPEG-1 Layer III");
}

/// Asserts an MP4: top-level boxes that tile the file, `ftyp` first, with
/// `moov` and `mdat` among them.
pub fn assert_mp4(bytes: &[u8]) {
    let mut boxes = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        assert!(
            size >= 8 && at + size <= bytes.len(),
            "box at {at} of size {size} overruns"
        );
        boxes.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
        at += size;
    }
    assert_eq!(at, bytes.len(), "boxes tile the file");
    assert_eq!(boxes.first().map(String::as_str), Some("ftyp"), "{boxes:?}");
    assert!(
        boxes.iter().any(|b| b == "moov") && boxes.iter().any(|b| b == "mdat"),
        "{boxes:?}"
    );
}

/// Asserts a JPEG: start-of-image first, end-of-image last.
pub fn assert_jpeg(bytes: &[u8]) {
    assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "SOI");
    assert!(bytes.ends_with(&[0xFF, 0xD9]), "EOI");
}
