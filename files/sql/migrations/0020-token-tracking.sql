-- 0020-token-tracking.sql: storage for the n8n token tracking (files/n8n/, role kpi_n8n).
--
-- Migration, applied ONCE (ledger key = this file name), inside the kpi_schema transaction; never edited once
-- released. Keeps every row: only ADD COLUMN with constant defaults (no table rewrite on PostgreSQL >= 11)
-- and new tables.
--
-- 1. Token classes on the per-request log. Providers count cached input differently (Anthropic reports cache
--    writes and cache reads apart from `input_tokens`; OpenAI's prompt tokens include the cached part), so
--    token_usage keeps them apart: input_tokens = uncached input, cache_write_tokens, cache_read_tokens,
--    output_tokens. Existing rows get 0 for both cache classes, which is what they recorded.
-- 2. Cache prices on api_pricing (NULL = the model's input price, the conservative upper bound), and the row
--    pricing of kpi_token_usage_fill() extended to the four classes.
-- 3. provider_usage / provider_cost: what the providers' organisation usage and cost APIs report per bucket,
--    keyed so that a re-poll of the same bucket updates the row instead of adding one.
-- 4. token_budget_alerts: which budget alerts were sent (once per budget, period and threshold).
-- Formulas and reasons: docs/data-model.md ("Token tracking").

-- 1. -------------------------------------------------------------------------------------------------------
ALTER TABLE token_usage
    ADD COLUMN IF NOT EXISTS cache_write_tokens bigint NOT NULL DEFAULT 0
        CONSTRAINT token_usage_cache_write_tokens_check CHECK (cache_write_tokens >= 0),
    ADD COLUMN IF NOT EXISTS cache_read_tokens  bigint NOT NULL DEFAULT 0
        CONSTRAINT token_usage_cache_read_tokens_check CHECK (cache_read_tokens >= 0);
COMMENT ON COLUMN token_usage.input_tokens IS
    'Uncached input tokens (Anthropic usage.input_tokens; OpenAI prompt_tokens minus cached_tokens).';
COMMENT ON COLUMN token_usage.cache_write_tokens IS 'Input tokens written to the prompt cache (Anthropic cache_creation_input_tokens).';
COMMENT ON COLUMN token_usage.cache_read_tokens IS 'Input tokens read from the prompt cache (Anthropic cache_read_input_tokens, OpenAI cached_tokens).';

-- 2. -------------------------------------------------------------------------------------------------------
ALTER TABLE api_pricing
    ADD COLUMN IF NOT EXISTS cache_write_price_per_million numeric(12,6)
        CONSTRAINT api_pricing_cache_write_price_check CHECK (cache_write_price_per_million >= 0),
    ADD COLUMN IF NOT EXISTS cache_read_price_per_million  numeric(12,6)
        CONSTRAINT api_pricing_cache_read_price_check CHECK (cache_read_price_per_million >= 0);
COMMENT ON COLUMN api_pricing.cache_write_price_per_million IS 'USD per million cache-write tokens; NULL = input price.';
COMMENT ON COLUMN api_pricing.cache_read_price_per_million IS 'USD per million cache-read tokens; NULL = input price.';

-- Same contract as before (fill total_tokens, price the row when the caller gave no cost, re-price on an
-- UPDATE that changes what the price depends on), over the four token classes.
CREATE OR REPLACE FUNCTION kpi_token_usage_fill() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.total_tokens IS NOT DISTINCT FROM OLD.total_tokens
           AND (NEW.input_tokens, NEW.cache_write_tokens, NEW.cache_read_tokens, NEW.output_tokens)
               IS DISTINCT FROM (OLD.input_tokens, OLD.cache_write_tokens, OLD.cache_read_tokens, OLD.output_tokens) THEN
            NEW.total_tokens := NULL;
        END IF;
        IF NEW.cost_usd IS NOT DISTINCT FROM OLD.cost_usd
           AND (NEW.input_tokens, NEW.cache_write_tokens, NEW.cache_read_tokens, NEW.output_tokens,
                NEW.provider, NEW.model, NEW.recorded_at)
               IS DISTINCT FROM (OLD.input_tokens, OLD.cache_write_tokens, OLD.cache_read_tokens, OLD.output_tokens,
                                 OLD.provider, OLD.model, OLD.recorded_at) THEN
            NEW.cost_usd := NULL;
        END IF;
    END IF;
    IF NEW.total_tokens IS NULL THEN
        NEW.total_tokens := NEW.input_tokens + NEW.cache_write_tokens + NEW.cache_read_tokens + NEW.output_tokens;
    END IF;
    IF NEW.cost_usd IS NULL THEN
        SELECT round((NEW.input_tokens * p.input_price_per_million
                      + NEW.cache_write_tokens * coalesce(p.cache_write_price_per_million, p.input_price_per_million)
                      + NEW.cache_read_tokens * coalesce(p.cache_read_price_per_million, p.input_price_per_million)
                      + NEW.output_tokens * p.output_price_per_million) / 1000000, 6)
          INTO NEW.cost_usd
          FROM api_pricing p
         WHERE p.provider = NEW.provider
           AND p.model = NEW.model
           AND p.effective_from <= NEW.recorded_at
         ORDER BY p.effective_from DESC
         LIMIT 1;
    END IF;
    RETURN NEW;
END
$$;

-- 3. -------------------------------------------------------------------------------------------------------
-- Key columns use '' for "not reported" (a NULL would make every re-poll a new row under a UNIQUE key).
CREATE TABLE IF NOT EXISTS provider_usage (
    provider              text        NOT NULL CONSTRAINT provider_usage_provider_check CHECK (provider IN ('anthropic', 'openai')),
    bucket_width          text        NOT NULL CONSTRAINT provider_usage_bucket_width_check CHECK (bucket_width IN ('1m', '1h', '1d')),
    bucket_start          timestamptz NOT NULL,
    bucket_end            timestamptz NOT NULL,
    model                 text        NOT NULL DEFAULT '',
    workspace_id          text        NOT NULL DEFAULT '',  -- Anthropic workspace_id, OpenAI project_id
    service_tier          text        NOT NULL DEFAULT '',
    uncached_input_tokens bigint      NOT NULL DEFAULT 0 CONSTRAINT provider_usage_uncached_check CHECK (uncached_input_tokens >= 0),
    cache_write_5m_tokens bigint      NOT NULL DEFAULT 0 CONSTRAINT provider_usage_cache_write_5m_check CHECK (cache_write_5m_tokens >= 0),
    cache_write_1h_tokens bigint      NOT NULL DEFAULT 0 CONSTRAINT provider_usage_cache_write_1h_check CHECK (cache_write_1h_tokens >= 0),
    cache_read_tokens     bigint      NOT NULL DEFAULT 0 CONSTRAINT provider_usage_cache_read_check CHECK (cache_read_tokens >= 0),
    output_tokens         bigint      NOT NULL DEFAULT 0 CONSTRAINT provider_usage_output_check CHECK (output_tokens >= 0),
    requests              bigint      CONSTRAINT provider_usage_requests_check CHECK (requests >= 0),  -- NULL: not reported
    first_seen_at         timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT provider_usage_pkey PRIMARY KEY (provider, bucket_width, bucket_start, model, workspace_id, service_tier),
    CONSTRAINT provider_usage_bucket_check CHECK (bucket_end > bucket_start)
);
COMMENT ON TABLE provider_usage IS
    'Token usage as reported by the providers'' organisation usage APIs, one row per bucket and dimension. '
    'Written by the n8n token tracker with kpi_upsert_provider_usage() (re-polled buckets are updated in place).';
CREATE INDEX IF NOT EXISTS provider_usage_bucket_start_idx ON provider_usage (bucket_start);

CREATE TABLE IF NOT EXISTS provider_cost (
    provider     text          NOT NULL CONSTRAINT provider_cost_provider_check CHECK (provider IN ('anthropic', 'openai')),
    bucket_start timestamptz   NOT NULL,
    bucket_end   timestamptz   NOT NULL,
    workspace_id text          NOT NULL DEFAULT '',
    line_item    text          NOT NULL DEFAULT '',  -- Anthropic description, OpenAI line_item
    model        text          NOT NULL DEFAULT '',
    cost_type    text          NOT NULL DEFAULT '',
    token_type   text          NOT NULL DEFAULT '',
    service_tier text          NOT NULL DEFAULT '',
    amount_usd   numeric(18,6) NOT NULL,
    first_seen_at timestamptz  NOT NULL DEFAULT now(),
    updated_at   timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT provider_cost_pkey PRIMARY KEY (provider, bucket_start, workspace_id, line_item, model, cost_type,
                                               token_type, service_tier),
    CONSTRAINT provider_cost_bucket_check CHECK (bucket_end > bucket_start)
);
COMMENT ON TABLE provider_cost IS
    'Daily cost as reported by the providers'' cost APIs, in USD (Anthropic reports cents, converted on write).';

-- 4. -------------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS token_budget_alerts (
    budget_name     text         NOT NULL
        CONSTRAINT token_budget_alerts_budget_fkey REFERENCES token_budgets (budget_name) ON UPDATE CASCADE ON DELETE CASCADE,
    period_start    date         NOT NULL,
    threshold_pct   numeric(5,2) NOT NULL CONSTRAINT token_budget_alerts_threshold_check CHECK (threshold_pct > 0 AND threshold_pct <= 100),
    utilization_pct numeric      NOT NULL,
    claimed_at      timestamptz,               -- set while a tracker run is posting it; NULL after a failed post
    sent_at         timestamptz,               -- set once the post succeeded: never sent again
    CONSTRAINT token_budget_alerts_pkey PRIMARY KEY (budget_name, period_start, threshold_pct)
);
COMMENT ON TABLE token_budget_alerts IS
    'Budget alerts of the n8n token tracker: one row per budget, period and threshold (the alert threshold and '
    '100 %), claimed by kpi_claim_budget_alerts() before the Slack post and marked sent after it.';
