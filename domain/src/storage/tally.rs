//! Counting and hashing a body as it streams, and stopping it at the size cap.

use sha2::{Digest, Sha256};

use super::StorageError;

pub struct Tally {
    hasher: Sha256,
    bytes: u64,
    limit: u64,
}

impl Tally {
    pub fn new(limit: u64) -> Self {
        Self {
            hasher: Sha256::new(),
            bytes: 0,
            limit,
        }
    }

    /// Adds a chunk; fails once the body passes the limit.
    pub fn add(&mut self, chunk: &[u8]) -> Result<(), StorageError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > self.limit {
            return Err(StorageError::TooLarge { limit: self.limit });
        }
        self.hasher.update(chunk);
        Ok(())
    }

    /// The byte count and hex SHA-256.
    pub fn finish(self) -> (u64, String) {
        (self.bytes, hex::encode(self.hasher.finalize()))
    }
}
