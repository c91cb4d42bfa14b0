-- Provider webhooks (README, "Provider webhooks"). Every table and index here
-- starts with tenant_id, so a tenant's rows can be moved between databases
-- as a whole. Tables of this migration: provider_connections,
-- pending_provider_events (and three columns of communications).

-- The provider's own id of a communication (Twilio MessageSid/CallSid,
-- SendGrid X-Message-Id). `address` is the customer's end of the
-- conversation (recipient of an outbound, sender of an inbound; phone, else
-- lower-cased email), written by the service at create: inbound messages are
-- attributed to the customer of the tenant's latest communication with it.
ALTER TABLE communications ADD COLUMN provider TEXT;
ALTER TABLE communications ADD COLUMN provider_message_id TEXT;
ALTER TABLE communications ADD COLUMN address TEXT;

-- Partial indexes: rows without a provider id (or address) cost no index
-- write. One communication per (provider, provider_message_id) per tenant;
-- provider_message_id first so that a lookup by the id alone (the `standard`
-- route may omit the provider) is served too.
CREATE UNIQUE INDEX communications_provider_message
  ON communications (tenant_id, provider_message_id, provider) WHERE provider_message_id IS NOT NULL;
-- The list filter `provider=` alone, newest first.
CREATE INDEX communications_provider ON communications (tenant_id, provider) WHERE provider IS NOT NULL;
-- Inbound attribution: the tenant's newest communication with an address.
CREATE INDEX communications_address ON communications (tenant_id, address) WHERE address IS NOT NULL;
-- Inbound messages nobody could be attributed to (customer_id is the nil
-- UUID); a later communication with the same address adopts them. Nearly
-- empty, so that adoption check reads nothing on an ordinary create.
CREATE INDEX communications_unattributed ON communications (tenant_id, address)
  WHERE customer_id = '00000000-0000-0000-0000-000000000000';

-- Existing rows get their address once, here.
UPDATE communications SET address = CASE direction
  WHEN 'inbound' THEN coalesce(json_extract(communication_details, '$.sender.phone'), lower(json_extract(communication_details, '$.sender.email')))
  ELSE coalesce(json_extract(communication_details, '$.recipient.phone'), lower(json_extract(communication_details, '$.recipient.email')))
END;

-- A tenant's connection to a provider. `secret` is base64(iv || AES-GCM
-- ciphertext) of the auth token / public key / signing secret, under the
-- Worker secret PROVIDER_SECRETS_KEY, with "tenant_id:provider" as
-- additional data (a ciphertext copied to another row does not decrypt).
CREATE TABLE provider_connections (
  tenant_id TEXT NOT NULL,
  provider TEXT NOT NULL CHECK (provider IN ('twilio', 'sendgrid', 'standard')),
  secret TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, provider)
) WITHOUT ROWID;

-- Status events that named a communication not created yet (the provider was
-- faster than the sender's create). Applied when it is created; kept 7 days
-- (the hourly cron deletes older ones by scanning this small table).
CREATE TABLE pending_provider_events (
  tenant_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  provider_message_id TEXT NOT NULL,
  event_key TEXT NOT NULL,
  event TEXT NOT NULL CHECK (json_valid(event)),
  received_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, provider, provider_message_id, event_key)
) WITHOUT ROWID;
