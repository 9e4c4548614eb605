//! A request as the ingest function stores it: its body parsed, each event
//! validated and enriched by the event contract's own code (`parse_batch`,
//! `validate_event`, `enrich`) with the request's receive time, user agent,
//! viewer country and verified subject — what ingest would write, line for
//! line, had it received the request then.

use std::collections::HashMap;

use sbw_contract::enrich::{parse_user_agent, UserAgentFacts};
use sbw_contract::pii::WeakHashKey;
use sbw_contract::{
    enrich, parse_batch, validate_event, BatchError, BatchHasher, FieldError, IdentifierHasher,
    RequestMeta, StoredEvent,
};

use crate::sdk::Request;

/// What ingest keeps of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The accepted events, enriched (the lines of its `events-*` object).
    pub events: Vec<StoredEvent>,
    /// The others, by their index in the request, with why the contract
    /// refused them: none, unless the shoppers break the contract.
    pub refused: Vec<(usize, Vec<FieldError>)>,
}

/// The ingest side of stored history: the identifier hashing key and the
/// user agents parsed so far (the parser is slow; browsers are few).
pub struct Receiver {
    hasher: IdentifierHasher,
    user_agents: HashMap<&'static str, UserAgentFacts>,
}

impl Receiver {
    /// With the deployment's hashing key (the dev ingest server's
    /// `dev-hash-key` file, for history that joins its live traffic).
    pub fn new(hash_key: &[u8]) -> Result<Receiver, WeakHashKey> {
        Ok(Receiver {
            hasher: IdentifierHasher::new(hash_key)?,
            user_agents: HashMap::new(),
        })
    }

    /// What ingest stores of `request`, received at `request.received_at`
    /// (events already stored by the same container are not told apart: a
    /// retry reaching another Lambda container is stored again, and the ETL
    /// removes it).
    pub fn receive(&mut self, request: &Request) -> Result<Received, BatchError> {
        let body = request.body();
        let values = parse_batch(body.as_bytes())?;
        let user_agent = self
            .user_agents
            .entry(request.user_agent)
            .or_insert_with(|| parse_user_agent(request.user_agent))
            .clone();
        let meta = RequestMeta {
            request_id: request.request_id.clone(),
            received_at: request.received_at,
            user_agent,
            viewer_country: Some(request.country.to_owned()),
            verified_subject: request.customer.clone(),
        };
        let mut hasher = BatchHasher::new(&self.hasher);
        let mut received = Received {
            events: Vec::with_capacity(values.len()),
            refused: Vec::new(),
        };
        for (index, value) in values.iter().enumerate() {
            match validate_event(value, meta.received_at) {
                Ok(event) => received.events.push(enrich(event, &meta, &mut hasher).0),
                Err(errors) => received.refused.push((index, errors)),
            }
        }
        Ok(received)
    }
}
