//! Spool files: a temporary file that holds one object while a run prepares it, in the
//! object's final encoding, so that memory stays bounded whatever the size of a response.
//!
//! A run downloads each response into a spool, checks it from there, writes the snapshot into
//! another spool, and only once every pull has been checked hands the spools to the store to
//! become objects. A spool is deleted when dropped; its name starts with `.`, so a local
//! destination never lists one that a crash left behind.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use tempfile::NamedTempFile;

use crate::config::Compression;
use crate::encode::GZIP_LEVEL;

/// The start of every spool file's name.
pub const PREFIX: &str = ".spool-";

/// Buffer size for spool reads and writes.
const BUFFER: usize = 256 * 1024;

/// A finished spool: the encoded bytes of one object.
pub struct Spool {
    file: NamedTempFile,
    compression: Compression,
    len: u64,
}

impl Spool {
    /// Bytes in the file (encoded).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Reads the encoded bytes from the start.
    pub fn raw_reader(&self) -> io::Result<BufReader<File>> {
        let mut file = self.file.reopen()?;
        file.seek(SeekFrom::Start(0))?;
        Ok(BufReader::with_capacity(BUFFER, file))
    }

    /// Reads the plain bytes from the start, decoding gzip.
    pub fn reader(&self) -> io::Result<Box<dyn Read + Send>> {
        let raw = self.raw_reader()?;
        Ok(match self.compression {
            Compression::Gzip => {
                Box::new(BufReader::with_capacity(BUFFER, MultiGzDecoder::new(raw)))
            }
            Compression::None => Box::new(raw),
        })
    }

    /// The temporary file, to be moved into place.
    pub fn into_file(self) -> NamedTempFile {
        self.file
    }
}

/// Writes one spool in the chosen encoding.
pub struct SpoolWriter {
    sink: Sink,
    compression: Compression,
    file: NamedTempFile,
}

enum Sink {
    Gzip(Box<GzEncoder<BufWriter<File>>>),
    Plain(BufWriter<File>),
}

impl SpoolWriter {
    /// A new, empty spool in `dir`.
    pub fn new(dir: &Path, compression: Compression) -> io::Result<SpoolWriter> {
        std::fs::create_dir_all(dir)?;
        let file = tempfile::Builder::new()
            .prefix(".spool-")
            .tempfile_in(dir)?;
        let out = BufWriter::with_capacity(BUFFER, file.reopen()?);
        let sink = match compression {
            Compression::Gzip => Sink::Gzip(Box::new(GzEncoder::new(out, GZIP_LEVEL))),
            Compression::None => Sink::Plain(out),
        };
        Ok(SpoolWriter {
            sink,
            compression,
            file,
        })
    }

    /// Flushes, syncs and closes the spool.
    pub fn finish(self) -> io::Result<Spool> {
        let out = match self.sink {
            Sink::Gzip(encoder) => encoder.finish()?,
            Sink::Plain(out) => out,
        };
        let file = out.into_inner().map_err(|err| err.into_error())?;
        file.sync_all()?;
        let len = file.metadata()?.len();
        Ok(Spool {
            file: self.file,
            compression: self.compression,
            len,
        })
    }
}

impl Write for SpoolWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Gzip(encoder) => encoder.write(bytes),
            Sink::Plain(out) => out.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Gzip(encoder) => encoder.flush(),
            Sink::Plain(out) => out.flush(),
        }
    }
}

/// A spool holding `bytes` (for small objects built in memory).
pub fn spool_of(dir: &Path, compression: Compression, bytes: &[u8]) -> io::Result<Spool> {
    let mut writer = SpoolWriter::new(dir, compression)?;
    writer.write_all(bytes)?;
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_reads_back_what_was_written_in_either_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"{\"event_id\":1}\n".repeat(1000);
        for compression in [Compression::Gzip, Compression::None] {
            let spool = spool_of(dir.path(), compression, &text).unwrap();
            let mut plain = Vec::new();
            spool.reader().unwrap().read_to_end(&mut plain).unwrap();
            assert_eq!(plain, text);
            let mut encoded = Vec::new();
            spool
                .raw_reader()
                .unwrap()
                .read_to_end(&mut encoded)
                .unwrap();
            assert_eq!(encoded.len() as u64, spool.len());
            assert_eq!(encoded, crate::encode::encode(compression, &text));
        }
    }

    #[test]
    fn a_dropped_spool_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        drop(spool_of(dir.path(), Compression::Gzip, b"x").unwrap());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
