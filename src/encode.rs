//! File encodings: gzip or plain bytes, chosen by `PLANTRAK_COMPRESSION`.
//!
//! gzip output carries no file name and a zero modification time, so the same input always
//! gives the same bytes, wherever it is written.

use std::io::Write;

use flate2::Compression as Level;
use flate2::write::GzEncoder;

use crate::config::Compression;

/// Accumulates one file's bytes in the chosen encoding.
pub enum Encoder {
    Gzip(GzEncoder<Vec<u8>>),
    Plain(Vec<u8>),
}

impl Encoder {
    pub fn new(compression: Compression) -> Self {
        match compression {
            Compression::Gzip => Encoder::Gzip(GzEncoder::new(Vec::new(), Level::default())),
            Compression::None => Encoder::Plain(Vec::new()),
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        match self {
            // Writing into a Vec cannot fail, compressed or not.
            Encoder::Gzip(encoder) => encoder.write_all(bytes).expect("in-memory gzip write"),
            Encoder::Plain(buffer) => buffer.extend_from_slice(bytes),
        }
    }

    /// The encoded file.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Encoder::Gzip(encoder) => encoder.finish().expect("in-memory gzip finish"),
            Encoder::Plain(buffer) => buffer,
        }
    }
}

/// `bytes` in the chosen encoding.
pub fn encode(compression: Compression, bytes: &[u8]) -> Vec<u8> {
    let mut encoder = Encoder::new(compression);
    encoder.write(bytes);
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_round_trips_and_is_deterministic() {
        let text = b"{\"event_id\":1}\n{\"event_id\":2}\n";
        let first = encode(Compression::Gzip, text);
        assert_eq!(first, encode(Compression::Gzip, text));
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&first[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, text);
        assert_eq!(encode(Compression::None, text), text);
    }
}
