-- name: ledger epoch (fencing token)
-- The fencing token of the ledger's one writer. A process bumps `epoch` right after it takes
-- the ledger lock, before it reads the ledger to build its engine, and every batch it writes
-- ends with `UPDATE ledger_head ... WHERE epoch = <its epoch>`. Under READ COMMITTED that
-- WHERE is re-checked against the newest row version, so once a successor has bumped the
-- epoch, a batch of the old owner matches no row and `ledger_fenced` aborts it whole.

ALTER TABLE ledger_head ADD COLUMN epoch bigint NOT NULL DEFAULT 0;

CREATE FUNCTION ledger_fenced(stale_epoch bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger epoch % is no longer current: another process owns the ledger',
        stale_epoch USING ERRCODE = 'RF001';
END $$;
