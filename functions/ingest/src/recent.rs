//! The event ids one container stored lately, so that a retried request is
//! answered without storing its events a second time (the ETL dedupes for good).

use std::collections::HashSet;

use uuid::Uuid;

/// Remembers at least the last `generation` ids and at most twice as many,
/// in two sets: when the newer one is full, the older one is emptied and the
/// two swap places. Unlike an LRU list it keeps no node or order per id, so a
/// look-up touches a hash slot per set instead of chasing pointers through
/// megabytes of nodes, and an insert allocates nothing.
///
/// The sets hash with foldhash, seeded at random per set: a look-up is made
/// for every event, and std's SipHash cost more than the probe itself. The
/// random seed keeps client-chosen ids from being crafted to collide.
#[derive(Debug)]
pub struct RecentIds {
    newer: IdSet,
    older: IdSet,
    generation: usize,
}

type IdSet = HashSet<Uuid, foldhash::fast::RandomState>;

impl RecentIds {
    pub fn new(generation: usize) -> Self {
        let generation = generation.max(1);
        RecentIds {
            newer: IdSet::with_capacity_and_hasher(generation, Default::default()),
            older: IdSet::with_capacity_and_hasher(generation, Default::default()),
            generation,
        }
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.newer.contains(id) || self.older.contains(id)
    }

    pub fn insert(&mut self, id: Uuid) {
        if self.newer.len() == self.generation {
            std::mem::swap(&mut self.newer, &mut self.older);
            self.newer.clear();
        }
        self.newer.insert(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(count: usize) -> Vec<Uuid> {
        (0..count).map(|_| Uuid::new_v4()).collect()
    }

    #[test]
    fn remembers_at_least_one_generation_and_forgets_after_two() {
        let mut recent = RecentIds::new(3);
        let ids = ids(7);
        for id in &ids {
            assert!(!recent.contains(id));
            recent.insert(*id);
            assert!(recent.contains(id));
        }
        // After 7 inserts into generations of 3: the 7th alone in the newer
        // set, the 4th to 6th in the older one, the first three forgotten.
        for (index, id) in ids.iter().enumerate() {
            assert_eq!(recent.contains(id), index >= 3, "id {index}");
        }
    }

    #[test]
    fn an_id_inserted_again_stays_as_long_as_a_new_one() {
        let mut recent = RecentIds::new(2);
        let ids = ids(4);
        recent.insert(ids[0]);
        recent.insert(ids[1]);
        recent.insert(ids[0]); // rotates: ids[0] is now in the newer set
        recent.insert(ids[2]);
        recent.insert(ids[3]); // rotates again: ids[1] is forgotten
        assert!(recent.contains(&ids[0]));
        assert!(!recent.contains(&ids[1]));
        assert!(recent.contains(&ids[2]) && recent.contains(&ids[3]));
    }
}
