//! Which copy of an event the warehouse keeps, decided without the database:
//! the first received (then the smaller request id), whatever order the
//! copies arrive in, within a batch and against what an earlier run loaded.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sbw_contract::StoredEvent;
use uuid::Uuid;

use super::LoadedObject;

/// Where an event is in a batch: its object's and its line's index.
type At = (usize, usize);

/// One copy per event id of a batch, and how many copies each object lost.
pub(super) struct Copies<'a> {
    objects: &'a [LoadedObject],
    winners: HashMap<Uuid, At>,
    duplicates_per_object: Vec<i32>,
}

impl<'a> Copies<'a> {
    /// The copy of each event id the batch keeps.
    pub(super) fn within(objects: &'a [LoadedObject]) -> Copies<'a> {
        let mut copies = Copies {
            objects,
            winners: HashMap::new(),
            duplicates_per_object: vec![0; objects.len()],
        };
        for (o, loaded) in objects.iter().enumerate() {
            for (e, event) in loaded.decoded.events.iter().enumerate() {
                let Some(current) = copies.winners.get(&event.event_id).copied() else {
                    copies.winners.insert(event.event_id, (o, e));
                    continue;
                };
                let held = copies.event(current);
                if keeps_first(event, held.received_at, &held.request_id) {
                    copies.duplicates_per_object[current.0] += 1;
                    copies.winners.insert(event.event_id, (o, e));
                } else {
                    copies.duplicates_per_object[o] += 1;
                }
            }
        }
        copies
    }

    fn event(&self, (o, e): At) -> &'a StoredEvent {
        &self.objects[o].decoded.events[e]
    }

    pub(super) fn event_ids(&self) -> Vec<Uuid> {
        self.winners.keys().copied().collect()
    }

    pub(super) fn events(&self) -> impl Iterator<Item = &'a StoredEvent> + '_ {
        self.winners.values().map(|&at| self.event(at))
    }

    /// Weighs the batch's copy of `id` against the one the warehouse holds
    /// (received at `held_received`, by request `held_request`): `true` when
    /// the batch's replaces it, `false` when the held one stays and the
    /// batch's is dropped. Either way one copy is a duplicate.
    pub(super) fn replaces_held(
        &mut self,
        id: Uuid,
        held_received: DateTime<Utc>,
        held_request: &str,
    ) -> bool {
        let Some(&at) = self.winners.get(&id) else {
            return false;
        };
        self.duplicates_per_object[at.0] += 1;
        let replaces = keeps_first(self.event(at), held_received, held_request);
        if !replaces {
            self.winners.remove(&id);
        }
        replaces
    }

    /// The events to load, in a stable order: objects as listed, lines as written.
    pub(super) fn to_load(&self) -> Vec<&'a StoredEvent> {
        let mut rows: Vec<At> = self.winners.values().copied().collect();
        rows.sort_unstable();
        rows.into_iter().map(|at| self.event(at)).collect()
    }

    pub(super) fn loaded_per_object(&self) -> Vec<i32> {
        let mut loaded = vec![0; self.objects.len()];
        for &(o, _) in self.winners.values() {
            loaded[o] += 1;
        }
        loaded
    }

    pub(super) fn duplicates_per_object(&self) -> &[i32] {
        &self.duplicates_per_object
    }
}

fn keeps_first(a: &StoredEvent, b_received: DateTime<Utc>, b_request: &str) -> bool {
    (a.received_at, a.request_id.as_str()) < (b_received, b_request)
}

#[cfg(test)]
mod tests {
    use sbw_rawstore::decode::DecodedObject;
    use sbw_rawstore::RawObject;

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        format!("2026-11-20T08:{minute:02}:00Z").parse().unwrap()
    }

    fn event(id: u128, received_minute: u32, request: &str) -> StoredEvent {
        static TEMPLATE: std::sync::OnceLock<StoredEvent> = std::sync::OnceLock::new();
        let template = TEMPLATE.get_or_init(|| {
            let mut shoppers = sbw_testkit::shoppers::Shoppers::new(7);
            shoppers.session(at(0)).remove(0)
        });
        let mut event = template.clone();
        event.event_id = Uuid::from_u128(id);
        event.received_at = at(received_minute);
        event.request_id = request.to_owned();
        event
    }

    fn object(key: &str, events: Vec<StoredEvent>) -> LoadedObject {
        LoadedObject {
            object: RawObject {
                key: key.to_owned(),
                etag: key.to_owned(),
                size: 1,
                last_modified: at(0),
            },
            decoded: DecodedObject {
                events,
                ..DecodedObject::default()
            },
        }
    }

    #[test]
    fn the_first_received_copy_wins_in_either_order() {
        let objects = [
            object("a", vec![event(1, 5, "req-late"), event(2, 1, "req-a")]),
            object("b", vec![event(1, 3, "req-early"), event(3, 1, "req-b")]),
        ];
        let copies = Copies::within(&objects);
        let kept: Vec<(u128, &str)> = copies
            .to_load()
            .iter()
            .map(|e| (e.event_id.as_u128(), e.request_id.as_str()))
            .collect();
        assert_eq!(kept, [(2, "req-a"), (1, "req-early"), (3, "req-b")]);
        assert_eq!(copies.duplicates_per_object(), [1, 0]);
        assert_eq!(copies.loaded_per_object(), [1, 2]);

        let reversed = [
            object("b", vec![event(1, 3, "req-early")]),
            object("a", vec![event(1, 5, "req-late")]),
        ];
        let copies = Copies::within(&reversed);
        assert_eq!(copies.to_load()[0].request_id, "req-early");
        assert_eq!(copies.duplicates_per_object(), [0, 1]);
    }

    #[test]
    fn at_the_same_time_the_smaller_request_id_wins() {
        let objects = [object(
            "a",
            vec![event(1, 3, "req-b"), event(1, 3, "req-a")],
        )];
        let copies = Copies::within(&objects);
        assert_eq!(copies.to_load()[0].request_id, "req-a");
        assert_eq!(copies.duplicates_per_object(), [1]);
    }

    #[test]
    fn a_held_copy_is_replaced_only_by_an_earlier_one() {
        let objects = [object(
            "a",
            vec![event(1, 3, "req-x"), event(2, 3, "req-x")],
        )];
        let mut copies = Copies::within(&objects);
        assert!(copies.replaces_held(Uuid::from_u128(1), at(4), "req-held"));
        assert!(!copies.replaces_held(Uuid::from_u128(2), at(2), "req-held"));
        assert!(!copies.replaces_held(Uuid::from_u128(9), at(1), "req-held"));
        let kept: Vec<u128> = copies
            .to_load()
            .iter()
            .map(|e| e.event_id.as_u128())
            .collect();
        assert_eq!(kept, [1]);
        assert_eq!(copies.duplicates_per_object(), [2]);
        assert_eq!(copies.loaded_per_object(), [1]);
    }

    proptest::proptest! {
        /// However the copies of a batch are spread over objects and
        /// ordered, the warehouse keeps the same copy of each event, the
        /// earliest received (then the smallest request id), and every other
        /// copy counts once as a duplicate.
        #[test]
        fn the_kept_copy_does_not_depend_on_the_order(
            copies in proptest::collection::vec((0u128..6, 0u32..4, 0u8..3), 1..40),
            objects_count in 1usize..5,
            rotation in 0usize..40,
        ) {
            let events: Vec<StoredEvent> = copies
                .iter()
                .map(|&(id, minute, request)| event(id, minute, &format!("req-{request}")))
                .collect();
            let batch = |events: &[StoredEvent]| -> Vec<LoadedObject> {
                (0..objects_count)
                    .map(|o| {
                        let part = events.iter().skip(o).step_by(objects_count).cloned().collect();
                        object(&format!("o{o}"), part)
                    })
                    .collect()
            };
            let kept = |objects: &[LoadedObject]| {
                let copies = Copies::within(objects);
                let mut kept: Vec<(u128, DateTime<Utc>, String)> = copies
                    .to_load()
                    .iter()
                    .map(|e| (e.event_id.as_u128(), e.received_at, e.request_id.clone()))
                    .collect();
                kept.sort();
                let duplicates: i32 = copies.duplicates_per_object().iter().sum();
                let loaded: i32 = copies.loaded_per_object().iter().sum();
                (kept, duplicates, loaded)
            };

            let mut rotated = events.clone();
            rotated.rotate_left(rotation % events.len());
            rotated.reverse();
            let (first, duplicates, loaded) = kept(&batch(&events));
            proptest::prop_assert_eq!(&first, &kept(&batch(&rotated)).0);

            let mut expected: Vec<(u128, DateTime<Utc>, String)> = Vec::new();
            for e in &events {
                let copy = (e.event_id.as_u128(), e.received_at, e.request_id.clone());
                match expected.iter_mut().find(|k| k.0 == copy.0) {
                    Some(k) if (copy.1, &copy.2) < (k.1, &k.2) => *k = copy,
                    Some(_) => {}
                    None => expected.push(copy),
                }
            }
            expected.sort();
            proptest::prop_assert_eq!(&first, &expected);
            proptest::prop_assert_eq!(loaded as usize, expected.len());
            proptest::prop_assert_eq!((loaded + duplicates) as usize, events.len());
        }
    }
}
