//! SHA-256 whose running state can be written down between requests and picked up by another
//! process: an upload's hash advances with every chunk on whichever replica receives it, and no
//! replica ever re-reads what was already received.
//!
//! The state is the eight 32-bit words of the compression function, the number of bytes hashed
//! and the (at most 63) bytes not yet forming a whole block. Hashing itself is `sha2`'s
//! (hardware accelerated where the CPU has SHA extensions); this module only keeps the state
//! that `sha2` keeps privately.

use sha2::digest::generic_array::GenericArray;

use crate::types::{Digest, DigestAlgorithm};

const BLOCK: usize = 64;
const INITIAL: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumableSha256 {
    state: [u32; 8],
    /// Bytes hashed so far, the pending ones included.
    len: u64,
    pending: Vec<u8>,
}

impl Default for ResumableSha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl ResumableSha256 {
    pub fn new() -> Self {
        Self {
            state: INITIAL,
            len: 0,
            pending: Vec::with_capacity(BLOCK),
        }
    }

    /// The number of bytes hashed.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.pending.is_empty() {
            let take = (BLOCK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() < BLOCK {
                return;
            }
            let block = GenericArray::clone_from_slice(&self.pending);
            sha2::compress256(&mut self.state, &[block]);
            self.pending.clear();
        }
        let whole = data.len() / BLOCK * BLOCK;
        if whole > 0 {
            let blocks: Vec<GenericArray<u8, _>> = data[..whole]
                .chunks_exact(BLOCK)
                .map(GenericArray::clone_from_slice)
                .collect();
            sha2::compress256(&mut self.state, &blocks);
        }
        self.pending.extend_from_slice(&data[whole..]);
    }

    pub fn finish(mut self) -> Digest {
        let bits = self.len.wrapping_mul(8);
        let mut tail = std::mem::take(&mut self.pending);
        tail.push(0x80);
        while tail.len() % BLOCK != BLOCK - 8 {
            tail.push(0);
        }
        tail.extend_from_slice(&bits.to_be_bytes());
        let blocks: Vec<GenericArray<u8, _>> = tail
            .chunks_exact(BLOCK)
            .map(GenericArray::clone_from_slice)
            .collect();
        sha2::compress256(&mut self.state, &blocks);
        let mut out = Vec::with_capacity(32);
        for word in self.state {
            out.extend_from_slice(&word.to_be_bytes());
        }
        Digest::from_parts(DigestAlgorithm::Sha256, hex::encode(out))
    }

    /// The state as text: `<8 words in hex>.<length>.<pending bytes in hex>`.
    pub fn to_text(&self) -> String {
        let words: String = self.state.iter().map(|w| format!("{w:08x}")).collect();
        format!("{words}.{}.{}", self.len, hex::encode(&self.pending))
    }

    /// The state [`ResumableSha256::to_text`] wrote; `None` for anything else.
    pub fn from_text(text: &str) -> Option<Self> {
        let mut fields = text.split('.');
        let (words, len, pending) = (fields.next()?, fields.next()?, fields.next()?);
        if fields.next().is_some() || words.len() != 64 {
            return None;
        }
        let mut state = [0u32; 8];
        for (i, word) in state.iter_mut().enumerate() {
            *word = u32::from_str_radix(words.get(i * 8..i * 8 + 8)?, 16).ok()?;
        }
        let len: u64 = len.parse().ok()?;
        let pending = hex::decode(pending).ok()?;
        if pending.len() >= BLOCK || len % BLOCK as u64 != pending.len() as u64 {
            return None;
        }
        Some(Self {
            state,
            len,
            pending,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ResumableSha256;
    use crate::storage::digest_of;
    use crate::types::DigestAlgorithm;

    #[test]
    fn matches_sha2_at_every_split_and_across_a_round_trip_through_text() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        for total in [0usize, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000] {
            let expected = digest_of(DigestAlgorithm::Sha256, &data[..total]);
            for split in [0, 1, 7, 63, 64, 65, total / 2, total] {
                let split = split.min(total);
                let mut first = ResumableSha256::new();
                first.update(&data[..split]);
                let text = first.to_text();
                let mut second = ResumableSha256::from_text(&text).expect("state parses");
                assert_eq!(second, first);
                for chunk in data[split..total].chunks(13) {
                    second.update(chunk);
                }
                assert_eq!(second.len(), total as u64);
                assert_eq!(second.finish(), expected, "total {total}, split {split}");
            }
        }
    }

    #[test]
    fn refuses_states_it_did_not_write() {
        assert!(ResumableSha256::from_text("").is_none());
        assert!(ResumableSha256::from_text("00.0.").is_none());
        let mut h = ResumableSha256::new();
        h.update(b"abc");
        let text = h.to_text();
        let (words, _) = text.split_once('.').unwrap();
        // A length that disagrees with the pending bytes.
        assert!(ResumableSha256::from_text(&format!("{words}.4.616263")).is_none());
        assert!(ResumableSha256::from_text(&format!("{text}.extra")).is_none());
    }
}
