-- Visits (sales that are not refunds) per customer are read on every search
-- result row and profile; with refund_of in the index those reads never
-- touch the sales table itself. Replaces 0001's sales_customer index.
DROP INDEX IF EXISTS sales_customer;
CREATE INDEX sales_customer_visits ON sales(customer_id, refund_of, completed_at)
    WHERE customer_id IS NOT NULL;
