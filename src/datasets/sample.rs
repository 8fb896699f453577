//! A reproducible sample spread over countries: rows shuffled within each country by a seeded
//! generator, countries visited in a seeded order, one row each in turn, until enough.

/// xorshift64*: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Indices of up to `count` rows, spread over their `groups` (a country per row) as evenly as
/// the rows allow, the same for the same seed.
pub fn spread_sample(groups: &[String], count: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut by_group: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, g) in groups.iter().enumerate() {
        by_group.entry(g.as_str()).or_default().push(i);
    }
    let mut queues: Vec<Vec<usize>> = by_group.into_values().collect();
    for q in &mut queues {
        rng.shuffle(q);
    }
    rng.shuffle(&mut queues);
    let mut out = Vec::with_capacity(count.min(groups.len()));
    let mut round = 0;
    while out.len() < count && queues.iter().any(|q| q.len() > round) {
        for q in &queues {
            if out.len() == count {
                break;
            }
            if let Some(&i) = q.get(round) {
                out.push(i);
            }
        }
        round += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_reproducible_and_spread_over_countries() {
        let groups: Vec<String> = (0..300)
            .map(|i| ["FR", "JP", "BR", "US", "US", "US", "US"][i % 7].to_string())
            .collect();
        let a = spread_sample(&groups, 40, 7);
        assert_eq!(a, spread_sample(&groups, 40, 7), "same seed, same sample");
        assert_ne!(a, spread_sample(&groups, 40, 8));
        let count = |c: &str| a.iter().filter(|&&i| groups[i] == c).count();
        // 40 over 4 countries: 10 each, although the US has 4 times the rows.
        for c in ["FR", "JP", "BR", "US"] {
            assert_eq!(count(c), 10, "{c}");
        }
        let unique: std::collections::BTreeSet<_> = a.iter().collect();
        assert_eq!(unique.len(), 40);
        // Asking for more than there is gives all of it.
        assert_eq!(spread_sample(&groups[..5], 50, 1).len(), 5);
    }
}
