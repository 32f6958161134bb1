//! `--shard K/N`: a CI matrix splits a catalog's sources into N disjoint shards. A source's
//! shard is a stable hash of its id alone (blake3 of the id's bytes, modulo N), so it never
//! depends on the order or number of the other sources. Nothing of the shard enters a step key.

use std::fmt;

/// The largest N accepted (a CI matrix is much smaller; this bounds the input).
pub const MAX_SHARDS: u32 = 1000;

/// Shard `k` of `n` (1-based, as a CI matrix counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    k: u32,
    n: u32,
}

impl Shard {
    /// Shard `k` of `n`; None unless 1 ≤ k ≤ n ≤ [`MAX_SHARDS`].
    pub fn new(k: u32, n: u32) -> Option<Shard> {
        (1 <= k && k <= n && n <= MAX_SHARDS).then_some(Shard { k, n })
    }

    /// Parses `K/N` (the clap value parser of `--shard`).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("expected K/N with 1 <= K <= N <= {MAX_SHARDS} (e.g. 2/8), not `{text}`");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        Shard::new(k, n).ok_or_else(bad)
    }

    /// The 1-based shard a source id belongs to among `n`.
    pub fn of(source_id: &str, n: u32) -> u32 {
        let h = blake3::hash(source_id.as_bytes());
        let first: [u8; 8] = h.as_bytes()[..8].try_into().expect("8 bytes");
        (u64::from_le_bytes(first) % u64::from(n.max(1))) as u32 + 1
    }

    /// Whether this shard builds the source `source_id`.
    pub fn contains(&self, source_id: &str) -> bool {
        Shard::of(source_id, self.n) == self.k
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_bounds() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { k: 2, n: 8 }));
        assert_eq!(Shard::parse("1/1"), Ok(Shard { k: 1, n: 1 }));
        assert_eq!(Shard::parse("1000/1000").map(|s| s.to_string()), Ok("1000/1000".to_string()));
        for bad in ["0/8", "9/8", "1/0", "1/1001", "2", "a/b", "-1/3", "1/2/3", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad} accepted");
        }
    }

    /// A source's shard is a function of its id and N only: the same in any catalog.
    #[test]
    fn shard_of_an_id_ignores_the_other_sources() {
        let ids: Vec<String> = (0..200).map(|i| format!("show-{i}")).collect();
        let alone: Vec<u32> = ids.iter().map(|id| Shard::of(id, 8)).collect();
        // The same ids in another order, among many more sources.
        let mut catalog: Vec<String> = (0..500).map(|i| format!("other/{i}")).chain(ids.iter().cloned()).collect();
        catalog.reverse();
        for (id, k) in ids.iter().zip(&alone) {
            let again = catalog.iter().find(|c| *c == id).map(|c| Shard::of(c, 8));
            assert_eq!(again, Some(*k), "{id}");
        }
        assert_ne!(alone.iter().min(), alone.iter().max(), "every id in one shard");
    }

    /// Every id lands in exactly one shard of N.
    #[test]
    fn shards_are_disjoint_and_complete() {
        for n in [1, 2, 3, 8] {
            for i in 0..100 {
                let id = format!("t{i}");
                let holders = (1..=n).filter(|k| Shard::new(*k, n).unwrap().contains(&id)).count();
                assert_eq!(holders, 1, "{id} in {holders} shards of {n}");
            }
        }
    }
}
