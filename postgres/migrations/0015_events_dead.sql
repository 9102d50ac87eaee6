-- Dead events (webhooks given up after their retries) are counted at every metrics
-- scrape (f2fpay_outbox_dead); they are few, so a partial index keeps the count from
-- reading the whole outbox history. The same in both dialects.
CREATE INDEX events_dead ON events (dead_at) WHERE dead_at IS NOT NULL;
