-- A user_id claimed on the anonymous route is not a signed-in user: it is kept
-- apart, hashed in its own namespace, and never counted as one. user_id_hash
-- holds only verified identities (the signed-in route's JWT subject) from now on.
ALTER TABLE fact_events ADD COLUMN claimed_user_id_hash text;
